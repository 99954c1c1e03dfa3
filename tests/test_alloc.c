/* process() does not allocate: once an operation is recording, feeding it audio (with speech,
   silence, DTMF keys that are not stop tones, at 16 and 44.1 kHz) calls no allocator function
   at all; and from the moment an operation is queued to its completion inside process() (stop
   tone with the tone cut from the file, silence timeouts, the duration limit, a playPrompt from
   the shared cache), nothing is allocated: only the operation's own memory is freed when it
   completes. malloc and friends are interposed to count the calls (under the sanitizers,
   their allocator hooks count them). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "callrec.h"
#include "harness.h"
#include "signals.h"
#include "support.h"

/* volatile: the compiler takes malloc for a builtin that reads no user data, and would drop a
   store to `counting` that only malloc's hooks read. */
static volatile long allocations, frees;
static volatile int counting;

#ifdef CALLREC_TEST_SANITIZED
/* The sanitizers own malloc; they report every allocation and free to these hooks (declared
   in compiler-rt's sanitizer/allocator_interface.h, which GCC does not ship). */
int __sanitizer_install_malloc_and_free_hooks(void (*on_malloc)(const volatile void *, size_t),
                                              void (*on_free)(const volatile void *));

static void on_malloc(const volatile void *p, size_t n)
{
    (void)p;
    (void)n;
    if (counting)
        allocations++;
}

static void on_free(const volatile void *p)
{
    if (counting && p)
        frees++;
}

static void count_allocations(void) { __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free); }
#else
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

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
        frees++;
    __libc_free(p);
}

static void count_allocations(void) {}
#endif

typedef struct outcome {
    int completed;
    char reason[40];
} outcome;

static void on_event(void *user, const callrec_event *e)
{
    outcome *o = user;
    if (e->type == CALLREC_EVENT_COMPLETED) {
        o->completed++;
        snprintf(o->reason, sizeof o->reason, "%s",
                 callrec_completion_reason_name(e->completion_reason));
    }
}

/* Queues `req` (a playPrompt if play), then feeds `b` in 20 ms frames until it completes,
   counting allocator calls from the first frame on. */
static void run_operation(callrec_session *s, outcome *o, const char *req, int play,
                          const sig_buf *b, int rate, const char *want)
{
    memset(o, 0, sizeof *o);
    if (play)
        CHECK(callrec_session_play_prompt(s, req, strlen(req), NULL, NULL, 0) == CALLREC_OK);
    else
        CHECK(callrec_session_record(s, req, strlen(req), NULL, NULL, NULL, 0) == CALLREC_OK);
    int16_t out[960];
    size_t frame = (size_t)rate / 50;
    allocations = frees = 0;
    counting = 1;
    for (size_t pos = 0; pos + frame <= b->n && !o->completed; pos += frame)
        callrec_session_process(s, b->x + pos, out, frame);
    counting = 0;
    CHECK_MSG(o->completed == 1 && strcmp(o->reason, want) == 0, "%d Hz: %s, expected %s", rate,
              o->reason, want);
    CHECK_MSG(allocations == 0, "%d Hz, %s: %ld allocations from queueing to completion", rate,
              want, allocations);
}

static void whole_operations(const char *dir)
{
    const int rates[] = {16000, 44100};
    callrec_prompt_cache *cache = NULL;
    CHECK(callrec_prompt_cache_create(1 << 20, &cache) == CALLREC_OK);
    for (int k = 0; k < 2; k++) {
        int rate = rates[k];
        callrec_session_config cfg;
        callrec_session_config_default(&cfg);
        cfg.sample_rate_hz = rate;
        cfg.recording_dir = dir;
        cfg.prompt_base_dir = SPEECH_DIR;
        cfg.prompt_cache = cache;
        outcome o;
        cfg.on_event = on_event;
        cfg.event_user = &o;
        callrec_session *s = NULL;
        CHECK(callrec_session_create(&cfg, &s) == CALLREC_OK);

        /* Stop tones at onsets 2.5 ms apart: some fall before the last write to the file,
           some after, so both ways of cutting the tone are taken. */
        for (int i = 0; i < 20; i++) {
            sig_buf b;
            sig_rng r;
            sig_seed(&r, 40 + (uint64_t)i);
            sig_init(&b, 16000);
            sig_append_speech(&b, "auth-thankyou", -6.0);
            sig_silence(&b, 0.3 + 0.0025 * i);
            sig_dtmf(&b, &r, '#', -10, 0.1);
            sig_silence(&b, 1.0);
            if (rate != 16000)
                sig_resample(&b, rate);
            run_operation(s, &o, "{\"stopTones\": [\"#\"], \"playBeep\": false, "
                          "\"clientContext\": \"alloc\"}", 0, &b, rate, "stopToneDetected");
            sig_free(&b);
        }
        sig_buf quiet;
        sig_init(&quiet, 16000);
        sig_silence(&quiet, 4.0);
        if (rate != 16000)
            sig_resample(&quiet, rate);
        run_operation(s, &o, "{\"initialSilenceTimeoutInSeconds\": 1}", 0, &quiet, rate,
                      "initialSilenceTimeout");
        run_operation(s, &o, "{\"maxRecordDurationInSeconds\": 1, \"initialSilenceTimeoutInSeconds\": 2}",
                      0, &quiet, rate, "maxRecordDurationReached");
        sig_buf answer;
        sig_init(&answer, 16000);
        sig_append_speech(&answer, "hello", -6.0);
        sig_silence(&answer, 2.0);
        if (rate != 16000)
            sig_resample(&answer, rate);
        run_operation(s, &o, "{\"maxSilenceTimeoutInSeconds\": 1, \"playBeep\": false}", 0,
                      &answer, rate, "maxSilenceTimeout");
        const char *play = "{\"prompts\": [{\"mediaInfo\": {\"uri\": \"hello.wav\"}}, "
                           "{\"mediaInfo\": {\"uri\": \"hello.wav\"}}]}";
        run_operation(s, &o, play, 1, &quiet, rate, "completedSuccessfully");
        sig_free(&answer);
        sig_free(&quiet);
        callrec_session_destroy(s);
    }
    callrec_prompt_cache_destroy(cache);
}

int main(void)
{
    count_allocations();
    /* The counter itself works: one allocation and one free are seen. */
    counting = 1;
    void *volatile probe = malloc(64);
    free(probe);
    counting = 0;
    CHECK_MSG(allocations == 1 && frees == 1, "the allocator is not being counted: %ld, %ld",
              allocations, frees);
    allocations = frees = 0;
    char dir[64];
    if (support_scratch_dir(dir, sizeof dir, "alloc") != 0)
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
        CHECK_MSG(allocations == 0 && frees == 0, "%d Hz: %ld allocations, %ld frees while "
                  "recording", rates[k], allocations, frees);
        CHECK(callrec_session_pending(s) == 1); /* still recording: nothing completed */
        callrec_session_hangup(s);
        callrec_session_destroy(s);
        sig_free(&b);
        allocations = frees = 0;
    }
    whole_operations(dir);
    if (support_remove_dir(dir) != 0)
        return 1;
    return harness_finish("test_alloc");
}
