/* Sessions are independent: 64 sessions driven from 8 threads at once (8 each), every one
   recording real speech and ending on its stop tone, after 128 short-lived 44.1 and 48 kHz
   sessions (the shared converter filters). Run under ThreadSanitizer by the test script, this
   finds any state shared between sessions without a lock. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "callrec.h"
#include "harness.h"
#include "signals.h"
#include "support.h"

#define THREADS 8
#define PER_THREAD 8

static sig_buf caller;
static char dir[64];

typedef struct worker {
    int index, completed, stop_tones, churned;
} worker;

static void on_event(void *user, const callrec_event *e)
{
    worker *w = user;
    if (e->type == CALLREC_EVENT_COMPLETED) {
        w->completed++;
        w->stop_tones += e->completion_reason == CALLREC_REASON_STOP_TONE_DETECTED &&
                         e->notification_json && strstr(e->notification_json, "commsNotification");
    }
}

/* Sessions at 44.1 and 48 kHz made and ended in quick turns on every thread: their converters'
   filters are shared, designed by the first session at a rate and freed with the last. */
static void churn_rates(worker *w)
{
    static const int16_t quiet[960];
    for (int j = 0; j < 16; j++) {
        callrec_session_config cfg;
        callrec_session_config_default(&cfg);
        cfg.recording_dir = dir;
        cfg.sample_rate_hz = (w->index + j) % 2 ? 44100 : 48000;
        callrec_session *s = NULL;
        if (callrec_session_create(&cfg, &s) == CALLREC_OK) {
            callrec_session_process(s, quiet, NULL, (size_t)cfg.sample_rate_hz / 50);
            callrec_session_destroy(s);
            w->churned++;
        }
    }
}

static void *run(void *arg)
{
    worker *w = arg;
    churn_rates(w);
    callrec_session *s[PER_THREAD];
    for (int i = 0; i < PER_THREAD; i++) {
        callrec_session_config cfg;
        callrec_session_config_default(&cfg);
        cfg.recording_dir = dir;
        cfg.sample_rate_hz = (w->index + i) % 2 ? 16000 : 8000;
        cfg.on_event = on_event;
        cfg.event_user = w;
        if (callrec_session_create(&cfg, &s[i]))
            return NULL;
        const char *req = "{\"stopTones\": [\"#\"], \"playBeep\": false, "
                          "\"maxRecordDurationInSeconds\": 60}";
        callrec_session_record(s[i], req, strlen(req), NULL, NULL, NULL, 0);
    }
    /* Round-robin 20 ms frames; 8 kHz sessions take every second sample's worth. */
    for (size_t pos = 0; pos + 320 <= caller.n; pos += 320) {
        for (int i = 0; i < PER_THREAD; i++) {
            static _Thread_local int16_t half[160];
            if ((w->index + i) % 2) {
                callrec_session_process(s[i], caller.x + pos, NULL, 320);
            } else {
                for (int k = 0; k < 160; k++)
                    half[k] = caller.x[pos + 2 * k];
                callrec_session_process(s[i], half, NULL, 160);
            }
        }
    }
    for (int i = 0; i < PER_THREAD; i++)
        callrec_session_destroy(s[i]);
    return NULL;
}

/* The live driver's counters are read from another thread while its pacer and worker write
   them (the meter does this): under ThreadSanitizer, a plain shared value would be reported. */
static void live_stats_while_running(void)
{
    char in[128];
    snprintf(in, sizeof in, "%s/live-in.wav", dir);
    CHECK(sig_write_wav(&caller, in) == 0);
    callrec_live_config lcfg;
    callrec_live_config_default(&lcfg);
    lcfg.input_file = in;
    callrec_session_config scfg;
    callrec_session_config_default(&scfg);
    scfg.recording_dir = dir;
    callrec_live *l = NULL;
    char err[256] = "";
    CHECK_MSG(callrec_live_create(&lcfg, &scfg, &l, err, sizeof err) == CALLREC_OK, "%s", err);
    if (!l)
        return;
    const char *req = "{\"playBeep\": false, \"stopTones\": [\"#\"]}";
    CHECK(callrec_session_record(callrec_live_session(l), req, strlen(req), NULL, NULL, err,
                                 sizeof err) == CALLREC_OK);
    CHECK(callrec_live_start(l) == CALLREC_OK);
    int reads = 0;
    callrec_live_stats st;
    while (!callrec_live_wait(l, 5)) {
        callrec_live_get_stats(l, &st);
        reads++;
    }
    callrec_live_get_stats(l, &st);
    CHECK(reads > 10 && st.callbacks > 10 && st.callback_max_us >= st.callback_p50_us);
    callrec_live_destroy(l);
}

int main(void)
{
    if (support_scratch_dir(dir, sizeof dir, "threads") != 0)
        return 1;
    sig_rng r;
    sig_seed(&r, 12);
    sig_init(&caller, 16000);
    sig_silence(&caller, 0.3);
    sig_append_speech(&caller, "auth-thankyou", -6.0);
    sig_silence(&caller, 0.5);
    sig_dtmf(&caller, &r, '#', -10, 0.1);
    sig_silence(&caller, 0.5);
    pthread_t t[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){i, 0, 0, 0};
        pthread_create(&t[i], NULL, run, &w[i]);
    }
    int completed = 0, stops = 0, churned = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        completed += w[i].completed;
        stops += w[i].stop_tones;
        churned += w[i].churned;
    }
    CHECK_MSG(churned == THREADS * 16, "%d of %d sessions at 44.1 and 48 kHz made", churned,
              THREADS * 16);
    CHECK_MSG(completed == THREADS * PER_THREAD, "%d of %d operations completed", completed,
              THREADS * PER_THREAD);
    CHECK_MSG(stops == THREADS * PER_THREAD, "%d ended on their stop tone", stops);
    printf("%d sessions on %d threads: %d completed on their stop tone\n", THREADS * PER_THREAD,
           THREADS, stops);
    live_stats_while_running();
    if (support_remove_dir(dir) != 0)
        return 1;
    sig_free(&caller);
    return harness_finish("test_threads");
}
