/* libFuzzer target: the request parser must refuse or accept any bytes, never crash, leak
   or read out of bounds, and always say why it refused. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cr_request r;
    char err[512];
    err[0] = '\0';
    if (cr_request_parse((const char *)data, size, &r, err, sizeof err) == 0) {
        /* Accepted requests obey every rule. */
        if (r.initial_silence_s < 1 || r.initial_silence_s > 300 || r.max_silence_s < 1 ||
            r.max_silence_s > 300 || r.max_duration_s < 1 || r.max_duration_s > 300)
            abort();
        if (strlen(r.stop_tones) > CR_MAX_STOP_TONES)
            abort();
        cr_request_free(&r);
    } else if (err[0] == '\0') {
        abort();
    }
    /* The same bytes as a playPrompt body. */
    err[0] = '\0';
    if (cr_play_request_parse((const char *)data, size, &r, err, sizeof err) == 0) {
        if (r.n_prompts < 1 || r.n_prompts > CR_MAX_PROMPTS)
            abort();
        for (int i = 0; i < r.n_prompts; i++)
            if (!r.prompts[i].uri || !r.prompts[i].uri[0])
                abort();
        cr_request_free(&r);
    } else if (err[0] == '\0') {
        abort();
    }
    return 0;
}
