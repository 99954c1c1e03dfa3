/* Live-path benchmark on a JACK server with the dummy driver: ring throughput, audio callback
   cost, latency from a tone's capture to the toneDetected event (the detector's own part and
   the processing part), and overruns over a long run with 5 ms buffers. Speech with '#' keys
   is played into callrec's input by a JACK client; every key completes a record operation and
   the next one is queued from the event callback (the worker thread). Prints a table; --json
   FILE writes JSON.

   Also the soak test: the process's resident memory and open file descriptors are sampled
   every minute and printed, so a long run (--minutes 60) shows whether they stay flat.
   --realtime feeds the same caller from a file paced at real time instead of JACK. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "callrec.h"
#include "jack_feeder.h"
#include "ring.h"
#include "signals.h"
#include "support.h"

#define MAX_EVENTS 100000

typedef struct bench {
    callrec_live *live;
    const char *request;
    int completed, stop_tones;
    double *algorithmic_ms, *processing_ms;
    int n_lat;
} bench;

/* Runs on the live worker thread. */
static void on_event(void *user, const callrec_event *e)
{
    bench *b = user;
    if (e->type == CALLREC_EVENT_TONE_DETECTED && e->is_stop_tone && b->n_lat < MAX_EVENTS) {
        b->algorithmic_ms[b->n_lat] = (double)(e->detected_samples - e->t_samples) / 16.0;
        b->processing_ms[b->n_lat] = e->processing_latency_ms;
        b->n_lat++;
    }
    if (e->type == CALLREC_EVENT_COMPLETED) {
        b->completed++;
        if (e->completion_reason == CALLREC_REASON_STOP_TONE_DETECTED)
            b->stop_tones++;
        /* Queue the next operation: the worker is the session's only user, so this is safe. */
        char err[256];
        callrec_session_record(callrec_live_session(b->live), b->request, strlen(b->request),
                               NULL, NULL, err, sizeof err);
    }
}

static double ring_throughput(void)
{
    cr_ring r;
    cr_ring_init(&r, 4096);
    int16_t buf[160] = {0};
    const long rounds = 2000000;
    double t0 = support_now_s();
    for (long i = 0; i < rounds; i++) {
        cr_ring_write(&r, buf, 160);
        cr_ring_read(&r, buf, 160);
    }
    double dt = support_now_s() - t0;
    cr_ring_free(&r);
    return (double)rounds * 160 / dt;
}

static const char usage[] =
    "usage: bench_live [--quick] [--minutes M] [--period FRAMES] [--realtime] [--json FILE]\n"
    "  --minutes M       audio to push through the live path (default 10; --quick: 0.5)\n"
    "  --period FRAMES   the JACK server's period, 16 to 4096 frames at 16 kHz (default 64)\n"
    "  --realtime        pace a file at real time instead of the JACK server\n"
    "  --json FILE       also write the results as JSON\n";

int main(int argc, char **argv)
{
    const char *json_path = NULL;
    double minutes = 10.0, frames = 64; /* 4 ms at 16 kHz: JACK periods are powers of two */
    int realtime = 0;
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0 && value) {
            json_path = argv[++i];
        } else if (strcmp(argv[i], "--minutes") == 0 && value) {
            if (support_number_arg("bench_live", argv[i++], value, 0.01, 1440, 0, &minutes))
                return 2;
        } else if (strcmp(argv[i], "--quick") == 0) {
            minutes = 0.5;
        } else if (strcmp(argv[i], "--period") == 0 && value) {
            if (support_number_arg("bench_live", argv[i++], value, 16, 4096, 1, &frames))
                return 2;
        } else if (strcmp(argv[i], "--realtime") == 0) {
            realtime = 1;
        } else {
            fprintf(stderr, "bench_live: unknown option or missing value: %s\n%s", argv[i], usage);
            return 2;
        }
    }
    support_check_output("bench_live", json_path);
    int period = (int)frames;
    time_t t = time(NULL);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%d", gmtime(&t));
    struct utsname u;
    uname(&u);
    if (realtime)
        printf("live benchmark, %s, %s %s, a file paced at real time (16 kHz), %.1f min\n", date,
               u.sysname, u.release, minutes);
    else
        printf("live benchmark, %s, %s %s, JACK dummy driver at 16 kHz, %d-frame (%.1f ms) "
               "periods, %.1f min\n", date, u.sysname, u.release, period, period / 16.0, minutes);

    double ring_rate = ring_throughput();
    printf("\nring: %.0f M samples/s through write+read of 160-sample blocks (one thread)\n",
           ring_rate / 1e6);

    char server[64];
    pid_t jackd = -1;
    if (!realtime) {
        snprintf(server, sizeof server, "callrec-bench-%d", (int)getpid());
        jackd = jf_start_server(server, 16000, period);
        if (jackd < 0) {
            fprintf(stderr, "bench_live: jackd (dummy driver) did not start\n");
            return 1;
        }
        setenv("JACK_DEFAULT_SERVER", server, 1);
    }

    /* The caller: speech from the corpus with a '#' every few seconds at a random place. */
    sig_rng rng;
    sig_seed(&rng, 99);
    sig_buf sig;
    sig_init(&sig, 16000);
    const char *words[] = {"vm-intro", "auth-thankyou", "hello", "vm-goodbye", "one-moment-please"};
    for (int k = 0; k < 40; k++) {
        sig_append_speech(&sig, words[k % 5], -8.0);
        sig_silence(&sig, 0.3 + 0.7 * sig_uniform(&rng));
        sig_dtmf(&sig, &rng, '#', -10 - 10 * sig_uniform(&rng), 0.06 + 0.04 * sig_uniform(&rng));
        sig_silence(&sig, 0.4);
    }

    char tmp[] = "/tmp/callrec-bench-live-XXXXXX";
    if (!mkdtemp(tmp))
        return 1;
    bench b = {0};
    b.request = "{\"stopTones\": [\"#\"], \"playBeep\": false, \"maxRecordDurationInSeconds\": 300,"
                " \"initialSilenceTimeoutInSeconds\": 300, \"maxSilenceTimeoutInSeconds\": 300}";
    b.algorithmic_ms = calloc(MAX_EVENTS, sizeof(double));
    b.processing_ms = calloc(MAX_EVENTS, sizeof(double));
    callrec_session_config scfg;
    callrec_session_config_default(&scfg);
    scfg.recording_dir = tmp;
    scfg.on_event = on_event;
    scfg.event_user = &b;
    callrec_live_config lcfg;
    callrec_live_config_default(&lcfg);
    lcfg.device = "system";
    lcfg.buffer_frames = period;
    char source[300];
    if (realtime) {
        /* The caller repeated for the whole run, as a file the pacer reads at real time. */
        snprintf(source, sizeof source, "%s/source.wav", tmp);
        sig_buf whole;
        sig_init(&whole, 16000);
        double need = minutes * 60.0 + 5.0;
        while ((double)whole.n / 16000.0 < need) {
            size_t at = whole.n;
            sig_silence(&whole, (double)sig.n / 16000.0);
            memcpy(whole.x + at, sig.x, sig.n * sizeof *sig.x);
        }
        sig_write_wav(&whole, source);
        sig_free(&whole);
        lcfg.device = NULL;
        lcfg.input_file = source;
    }
    char err[512] = "";
    if (callrec_live_create(&lcfg, &scfg, &b.live, err, sizeof err)) {
        fprintf(stderr, "bench_live: %s\n", err);
        return 1;
    }
    callrec_session_record(callrec_live_session(b.live), b.request, strlen(b.request), NULL, NULL,
                           err, sizeof err);
    callrec_live_start(b.live);
    jf_feeder f = {0};
    if (!realtime) {
        if (jf_connect(&f, server, &sig)) {
            fprintf(stderr, "bench_live: could not connect the feeder\n");
            return 1;
        }
        atomic_store(&f.loop, 1);
        atomic_store(&f.playing, 1);
    }
    double t0 = support_now_s(), next_sample = 0;
    printf("\n%8s %10s %8s %12s\n", "minute", "RSS KiB", "fds", "operations");
    while (support_now_s() - t0 < minutes * 60.0) {
        if (support_now_s() - t0 >= next_sample) {
            printf("%8.0f %10ld %8d %12d\n", next_sample / 60.0, support_rss_kib(), support_open_fds(), b.completed);
            fflush(stdout);
            next_sample += 60.0;
        }
        struct timespec ts = {0, 200000000};
        nanosleep(&ts, NULL);
    }
    printf("%8.1f %10ld %8d %12d\n", (support_now_s() - t0) / 60.0, support_rss_kib(), support_open_fds(), b.completed);
    callrec_live_stats st;
    callrec_live_get_stats(b.live, &st);
    if (!realtime)
        jf_close(&f);
    callrec_live_hangup(b.live);
    callrec_live_wait(b.live, 2000);
    callrec_live_destroy(b.live);
    if (jackd > 0) {
        kill(jackd, SIGTERM);
        waitpid(jackd, NULL, 0);
    }

    printf("\ncallback cost over %llu callbacks: p50 %.2f us, p99 %.2f us, max %.2f us\n",
           (unsigned long long)st.callbacks, st.callback_p50_us, st.callback_p99_us,
           st.callback_max_us);
    printf("captured %.1f s: overruns %llu (samples dropped by callrec), underruns %llu, "
           "audio-server input overflows %llu\n", (double)st.frames_in / 16000.0,
           (unsigned long long)st.overruns, (unsigned long long)st.underruns,
           (unsigned long long)st.host_overflows);
    int n = b.n_lat;
    printf("\n'#' stop tones detected: %d of %d operations completed by a stop tone\n", n,
           b.stop_tones);
    printf("%-44s %8s %8s %8s %8s\n", "latency (ms)", "min", "p50", "p99", "max");
    printf("%-44s %8.2f %8.2f %8.2f %8.2f\n", "onset -> decision, on the sample clock",
           support_percentile(b.algorithmic_ms, n, 0), support_percentile(b.algorithmic_ms, n, 50), support_percentile(b.algorithmic_ms, n, 99),
           support_percentile(b.algorithmic_ms, n, 100));
    printf("%-44s %8.2f %8.2f %8.2f %8.2f\n", "capture (ADC) of the deciding sample -> event",
           support_percentile(b.processing_ms, n, 0), support_percentile(b.processing_ms, n, 50), support_percentile(b.processing_ms, n, 99),
           support_percentile(b.processing_ms, n, 100));
    if (json_path) {
        FILE *js = fopen(json_path, "w");
        if (!js)
            fprintf(stderr, "bench_live: cannot write %s\n", json_path);
        if (js) {
            fprintf(js,
                    "{\"date\":\"%s\",\"minutes\":%.2f,\"period_frames\":%d,\"ring_samples_per_s\":%.0f,"
                    "\"callbacks\":%llu,\"callback_us\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f},"
                    "\"overruns\":%llu,\"underruns\":%llu,\"host_overflows\":%llu,\"tones\":%d,"
                    "\"algorithmic_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f},"
                    "\"processing_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f}}\n",
                    date, minutes, period, ring_rate, (unsigned long long)st.callbacks,
                    st.callback_p50_us, st.callback_p99_us, st.callback_max_us,
                    (unsigned long long)st.overruns, (unsigned long long)st.underruns,
                    (unsigned long long)st.host_overflows, n,
                    support_percentile(b.algorithmic_ms, n, 50), support_percentile(b.algorithmic_ms, n, 99),
                    support_percentile(b.algorithmic_ms, n, 100), support_percentile(b.processing_ms, n, 50),
                    support_percentile(b.processing_ms, n, 99), support_percentile(b.processing_ms, n, 100));
            fclose(js);
        }
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    free(b.algorithmic_ms);
    free(b.processing_ms);
    sig_free(&sig);
    return st.overruns == 0 ? 0 : 1;
}
