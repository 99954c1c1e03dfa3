/* process() does not allocate in steady state: once an operation is recording, feeding it
   audio (with speech, silence, DTMF keys that are not stop tones, at 16 and 44.1 kHz) calls
   no allocator function. malloc and friends are interposed to count the calls. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "callrec.h"
#include "harness.h"
#include "signals.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static long allocations;
static int counting;

void *malloc(size_t n)
{
    if (counting)
        allocations++;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
    if (counting)
        allocations++;
    return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
    if (counting)
        allocations++;
    return __libc_realloc(p, n);
}

void free(void *p)
{
    if (counting && p)
        allocations++;
    __libc_free(p);
}

int main(void)
{
    char dir[] = "/tmp/callrec-alloc-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    const int rates[] = {16000, 44100};
    for (int k = 0; k < 2; k++) {
        sig_buf b;
        sig_rng r;
        sig_seed(&r, 3);
        sig_init(&b, 16000);
        sig_append_speech(&b, "vm-intro", -6.0);
        sig_dtmf(&b, &r, '5', -10, 0.1); /* not a stop tone */
        sig_silence(&b, 1.0);
        sig_append_speech(&b, "vm-intro", -6.0);
        if (rates[k] != 16000)
            sig_resample(&b, rates[k]);
        callrec_session_config cfg;
        callrec_session_config_default(&cfg);
        cfg.sample_rate_hz = rates[k];
        cfg.recording_dir = dir;
        callrec_session *s = NULL;
        CHECK(callrec_session_create(&cfg, &s) == CALLREC_OK);
        const char *req = "{\"stopTones\": [\"#\"], \"maxRecordDurationInSeconds\": 60, "
                          "\"maxSilenceTimeoutInSeconds\": 30, \"playBeep\": true}";
        CHECK(callrec_session_record(s, req, strlen(req), NULL, NULL, NULL, 0) == CALLREC_OK);
        int16_t out[960];
        size_t frame = (size_t)rates[k] / 50, pos = 0;
        /* The first second: the beep plays and the recording window opens. */
        for (; pos + frame <= b.n && pos < (size_t)rates[k]; pos += frame)
            callrec_session_process(s, b.x + pos, out, frame);
        counting = 1;
        for (; pos + frame <= b.n; pos += frame)
            callrec_session_process(s, b.x + pos, out, frame);
        counting = 0;
        CHECK_MSG(allocations == 0, "%d Hz: %ld allocator calls while recording", rates[k],
                  allocations);
        CHECK(callrec_session_pending(s) == 1); /* still recording: nothing completed */
        callrec_session_hangup(s);
        callrec_session_destroy(s);
        sig_free(&b);
        allocations = 0;
    }
    char cmd[100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return 1;
    return harness_finish("test_alloc");
}
