/* libFuzzer target: the prompt loader on arbitrary bytes (through libsndfile's virtual I/O):
   it loads or refuses with a message; never crashes, leaks or runs away with memory. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "prompt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int16_t *samples = NULL;
    size_t count = 0;
    char err[512];
    err[0] = '\0';
    /* A 20 s limit keeps memory bounded whatever a header claims. */
    if (cr_prompt_load_memory(data, size, "fuzz", 20, &samples, &count, err, sizeof err) == 0) {
        if (count == 0 || count > 21 * 16000 + 4096)
            abort();
        free(samples);
    } else if (err[0] == '\0' || samples) {
        abort();
    }
    return 0;
}
