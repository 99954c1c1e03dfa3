/* Scale benchmark: N concurrent calls on one core, each a session fed 20 ms frames of real
   speech at 16 kHz through the full pipeline (detectors, state machine, WAV files in a scratch
   folder), operations queued back to back. Reports x-real-time, sessions per core and memory
   per session; beside it, on the same audio and taking turns with it slice by slice, callrec's
   detectors alone and the reference pipeline of WebRTC VAD + spandsp DTMF, detecting only and
   with the same WAV writing. --json FILE writes JSON. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../dsp/dtmf.h"
#include "../dsp/vad.h"
#include "../engine/recorder.h"
#include "callrec.h"
#include "signals.h"
#include "support.h"

#ifdef HAVE_SPANDSP
#include <spandsp.h>
#endif
#ifdef HAVE_WEBRTC_VAD
#include "webrtc_vad.h"
#endif

#define FRAME 320 /* 20 ms at 16 kHz, as bots receive media */
#define SLICES 5

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* User and system CPU time of the process so far, seconds. */
static void cpu_split(double *user, double *sys)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6;
    *sys = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

#define MAX_ENDS 256

typedef struct call {
    callrec_session *s;
    size_t pos;
    long operations;
    size_t frames;           /* 20 ms frames processed */
    size_t ends[MAX_ENDS];   /* the frame in which each operation completed */
    int n_ends;
} call;

static const char request[] = "{\"stopTones\": [\"#\"], \"maxRecordDurationInSeconds\": 30, "
                              "\"maxSilenceTimeoutInSeconds\": 5, \"playBeep\": true}";

static void on_event(void *user, const callrec_event *e)
{
    call *c = user;
    if (e->type == CALLREC_EVENT_COMPLETED) { /* the bot asks again */
        c->operations++;
        if (c->n_ends < MAX_ENDS)
            c->ends[c->n_ends++] = c->frames;
        callrec_session_record(c->s, request, sizeof request - 1, NULL, NULL, NULL, 0);
    }
}

static size_t start_pos(sig_rng *r, const sig_buf *audio)
{
    return (size_t)(sig_uniform(r) * (double)(audio->n - FRAME)) / FRAME * FRAME;
}

static size_t next_pos(size_t pos, const sig_buf *audio)
{
    return (pos + FRAME) % (audio->n - FRAME) / FRAME * FRAME;
}

/* A pipeline runs `frames` 20 ms frames of every call per slice. */
typedef struct pipeline {
    const char *name;
    void (*slice)(void *ctx, size_t frames);
    void *ctx;
    double xrt[SLICES];
    double user, sys; /* CPU seconds over all slices */
} pipeline;

typedef struct callrec_run {
    const sig_buf *audio;
    int n;
    call *calls;
} callrec_run;

static void callrec_slice(void *ctx, size_t frames)
{
    callrec_run *r = ctx;
    int16_t out[FRAME];
    for (size_t f = 0; f < frames; f++)
        for (int i = 0; i < r->n; i++) {
            call *c = &r->calls[i];
            callrec_session_process(c->s, r->audio->x + c->pos, out, FRAME);
            c->frames++;
            c->pos = next_pos(c->pos, r->audio);
        }
}

/* callrec's own detectors alone on the same frames, as the reference detects: no state
   machine, nothing written. */
typedef struct detectors_run {
    const sig_buf *audio;
    int n;
    size_t stride;
    char *dtmf; /* n detectors, stride bytes apart (64-byte aligned) */
    cr_vad *vad;
    size_t *pos;
} detectors_run;

static void detectors_slice(void *ctx, size_t frames)
{
    detectors_run *r = ctx;
    for (size_t f = 0; f < frames; f++)
        for (int i = 0; i < r->n; i++) {
            const int16_t *x = r->audio->x + r->pos[i];
            cr_dtmf *d = (cr_dtmf *)(r->dtmf + r->stride * (size_t)i);
            for (int h = 0; h < 2; h++) {
                cr_dtmf_process(d, x + h * FRAME / 2, FRAME / 2);
                cr_vad_frame(&r->vad[i], x + h * FRAME / 2, cr_dtmf_tone_present(d));
            }
            r->pos[i] = next_pos(r->pos[i], r->audio);
        }
}

#if defined(HAVE_SPANDSP) && defined(HAVE_WEBRTC_VAD)
/* Reference: WebRTC VAD (mode 2) + spandsp DTMF at 8 kHz after a 2:1 decimation, per call,
   detecting only, or also writing each call's audio to WAV files with the same writer
   callrec uses (100 ms batches, header kept valid), a new file wherever callrec's call
   began a new operation: the same work as callrec's pipeline but for the state machine,
   with the reference detectors in place of callrec's. */
typedef struct reference_run {
    const sig_buf *audio;
    int n, writing;
    VadInst **vads;
    dtmf_rx_state_t **dtmf;
    size_t *pos;
    cr_recorder *recs;
    const call *calls; /* callrec's, whose operation ends the files follow */
    size_t *frames;
    int *files;     /* per call: files begun */
    int *next_end;  /* per call: callrec's next operation end (they come in order) */
    const char *folder;
} reference_run;

static int reference_new_file(reference_run *r, int i)
{
    char path[4200], msg[256];
    snprintf(path, sizeof path, "%s/ref-%d-%d.wav", r->folder, i, r->files[i]++);
    if (cr_recorder_create(&r->recs[i], path, msg, sizeof msg)) {
        fprintf(stderr, "bench_scale: %s\n", msg);
        return -1;
    }
    return 0;
}

static int reference_open(reference_run *r, const sig_buf *audio, int n, int writing,
                          const char *folder, sig_rng *rng, const call *calls)
{
    *r = (reference_run){.audio = audio, .n = n, .writing = writing, .calls = calls,
                         .folder = folder};
    r->vads = calloc((size_t)n, sizeof *r->vads);
    r->dtmf = calloc((size_t)n, sizeof *r->dtmf);
    r->pos = calloc((size_t)n, sizeof *r->pos);
    r->recs = calloc((size_t)n, sizeof *r->recs);
    r->frames = calloc((size_t)n, sizeof *r->frames);
    r->files = calloc((size_t)n, sizeof *r->files);
    r->next_end = calloc((size_t)n, sizeof *r->next_end);
    for (int i = 0; i < n; i++) {
        r->vads[i] = WebRtcVad_Create();
        WebRtcVad_Init(r->vads[i]);
        WebRtcVad_set_mode(r->vads[i], 2);
        r->dtmf[i] = dtmf_rx_init(NULL, NULL, NULL);
        r->pos[i] = start_pos(rng, audio);
        r->frames[i] = calls[i].frames; /* callrec's warm-up second counts on both clocks */
        while (r->next_end[i] < calls[i].n_ends && calls[i].ends[r->next_end[i]] < r->frames[i])
            r->next_end[i]++;
        if (writing && reference_new_file(r, i))
            return -1;
    }
    return 0;
}

static void reference_slice(void *ctx, size_t frames)
{
    reference_run *r = ctx;
    int16_t half[FRAME / 2];
    char msg[256];
    for (size_t f = 0; f < frames; f++)
        for (int i = 0; i < r->n; i++) {
            const int16_t *x = r->audio->x + r->pos[i];
            WebRtcVad_Process(r->vads[i], 16000, x, FRAME / 2);
            WebRtcVad_Process(r->vads[i], 16000, x + FRAME / 2, FRAME / 2);
            for (int k = 0; k < FRAME / 2; k++)
                half[k] = (int16_t)((x[2 * k] + x[2 * k + 1]) / 2);
            dtmf_rx(r->dtmf[i], half, FRAME / 2);
            if (r->writing) {
                cr_recorder_write(&r->recs[i], x, FRAME, msg, sizeof msg);
                /* callrec's call i ended an operation in this frame: so does this one */
                const call *c = &r->calls[i];
                if (r->next_end[i] < c->n_ends && c->ends[r->next_end[i]] == r->frames[i]) {
                    r->next_end[i]++;
                    cr_recorder_close(&r->recs[i], msg, sizeof msg);
                    reference_new_file(r, i);
                }
            }
            r->frames[i]++;
            r->pos[i] = next_pos(r->pos[i], r->audio);
        }
}

static void reference_close(reference_run *r)
{
    char msg[256];
    for (int i = 0; i < r->n; i++) {
        WebRtcVad_Free(r->vads[i]);
        dtmf_rx_free(r->dtmf[i]);
        if (r->writing)
            cr_recorder_close(&r->recs[i], msg, sizeof msg);
    }
    free(r->vads);
    free(r->dtmf);
    free(r->pos);
    free(r->recs);
    free(r->frames);
    free(r->files);
    free(r->next_end);
}
#endif

/* What a call costs at each input rate: `n` sessions fed the same speech converted to the
   rate, 20 ms buffers, the rates taking turns slice by slice. Returns 0. */
static const int cost_rates[] = {8000, 11025, 16000, 22050, 32000, 44100, 48000};
#define N_COST_RATES (int)(sizeof cost_rates / sizeof cost_rates[0])

static void rate_costs(const sig_buf *audio16, int n, double seconds, const char *parent,
                       double *us_per_10ms)
{
    callrec_session **s = calloc((size_t)(n * N_COST_RATES), sizeof *s);
    sig_buf audio[N_COST_RATES];
    size_t pos[N_COST_RATES];
    char folder[4096];
    snprintf(folder, sizeof folder, "%s/callrec-rates-XXXXXX", parent);
    if (!mkdtemp(folder)) {
        perror("bench_scale: scratch folder");
        exit(1);
    }
    for (int r = 0; r < N_COST_RATES; r++) {
        audio[r] = *audio16;
        audio[r].x = malloc(audio16->n * sizeof *audio16->x);
        memcpy(audio[r].x, audio16->x, audio16->n * sizeof *audio16->x);
        audio[r].cap = audio16->n;
        if (cost_rates[r] != 16000)
            sig_resample(&audio[r], cost_rates[r]);
        pos[r] = 0;
        for (int i = 0; i < n; i++) {
            callrec_session_config cfg;
            callrec_session_config_default(&cfg);
            cfg.sample_rate_hz = cost_rates[r];
            cfg.recording_dir = folder;
            callrec_session **me = &s[r * n + i];
            if (callrec_session_create(&cfg, me)) {
                fprintf(stderr, "bench_scale: session at %d Hz\n", cost_rates[r]);
                exit(1);
            }
            callrec_session_record(*me, request, sizeof request - 1, NULL, NULL, NULL, 0);
        }
    }
    double spent[N_COST_RATES] = {0};
    size_t frames = (size_t)(seconds * 50.0), per_slice = frames / SLICES ? frames / SLICES : 1;
    int16_t out[960];
    for (int sl = 0; sl < SLICES; sl++) {
        for (int r = 0; r < N_COST_RATES; r++) {
            size_t chunk = (size_t)cost_rates[r] / 50;
            double c0 = cpu_s();
            for (size_t f = 0; f < per_slice; f++) {
                if (pos[r] + chunk > audio[r].n)
                    pos[r] = 0;
                for (int i = 0; i < n; i++)
                    callrec_session_process(s[r * n + i], audio[r].x + pos[r], out, chunk);
                pos[r] += chunk;
            }
            spent[r] += cpu_s() - c0;
        }
    }
    for (int r = 0; r < N_COST_RATES; r++) {
        us_per_10ms[r] = spent[r] * 1e6 / ((double)per_slice * SLICES * 2.0 * n);
        for (int i = 0; i < n; i++) {
            callrec_session_hangup(s[r * n + i]);
            callrec_session_destroy(s[r * n + i]);
        }
        sig_free(&audio[r]);
    }
    free(s);
    support_empty_folder(folder);
    rmdir(folder);
}

static const char usage[] =
    "usage: bench_scale [--sessions N] [--seconds S] [--dir DIR] [--json FILE]\n"
    "  --sessions N   concurrent calls on one core, 1 to 100000 (default 500)\n"
    "  --seconds S    audio per call, 1 to 3600 (default 20)\n"
    "  --dir DIR      where the scratch folder for the WAV files goes (default /tmp)\n"
    "  --rates        instead, the cost of a call at each input rate, 8 to 48 kHz\n"
    "  --json FILE    also write the results as JSON\n";

int main(int argc, char **argv)
{
    double sessions = 500, seconds = 20.0;
    const char *json_path = NULL, *parent = "/tmp";
    int rates = 0;
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--sessions") == 0 && value) {
            if (support_number_arg("bench_scale", argv[i++], value, 1, 100000, 1, &sessions))
                return 2;
        } else if (strcmp(argv[i], "--seconds") == 0 && value) {
            if (support_number_arg("bench_scale", argv[i++], value, 1, 3600, 0, &seconds))
                return 2;
        } else if (strcmp(argv[i], "--json") == 0 && value) {
            json_path = argv[++i];
        } else if (strcmp(argv[i], "--dir") == 0 && value) {
            parent = argv[++i];
        } else if (strcmp(argv[i], "--rates") == 0) {
            rates = 1;
        } else {
            fprintf(stderr, "bench_scale: unknown option or missing value: %s\n%s", argv[i], usage);
            return 2;
        }
    }
    support_check_output("bench_scale", json_path);
    int n = (int)sessions;
    /* A caller: speech, pauses, a '#' now and then; each call starts at its own offset. */
    sig_rng rng;
    sig_seed(&rng, 5);
    sig_buf audio;
    sig_init(&audio, 16000);
    const char *words[] = {"vm-intro", "auth-thankyou", "hello", "vm-goodbye", "one-moment-please"};
    while ((double)audio.n / 16000.0 < 60.0) {
        sig_append_speech(&audio, words[(int)(sig_uniform(&rng) * 5)], -8.0);
        sig_silence(&audio, 0.3 + sig_uniform(&rng));
        if (sig_uniform(&rng) < 0.3) {
            sig_dtmf(&audio, &rng, '#', -12, 0.08);
            sig_silence(&audio, 0.5);
        }
    }
    if (rates) {
        double us[N_COST_RATES];
        int per_rate = n < 200 ? n : 200;
        rate_costs(&audio, per_rate, seconds, parent, us);
        printf("cost of a call by input rate: %d sessions per rate, %.0f s of speech each, 20 ms "
               "buffers, the rates taking turns in %d slices\n", per_rate, seconds, SLICES);
        printf("%8s %14s %10s\n", "rate", "us per 10 ms", "x 16 kHz");
        double ref = us[2];
        for (int r = 0; r < N_COST_RATES; r++)
            printf("%8d %14.2f %10.2f\n", cost_rates[r], us[r], us[r] / ref);
        if (json_path) {
            FILE *js = fopen(json_path, "w");
            if (js) {
                fprintf(js, "{\"sessions_per_rate\":%d,\"seconds\":%.0f,\"rates\":[", per_rate,
                        seconds);
                for (int r = 0; r < N_COST_RATES; r++)
                    fprintf(js, "%s{\"rate\":%d,\"us_per_10ms\":%.3f,\"vs_16k\":%.3f}",
                            r ? "," : "", cost_rates[r], us[r], us[r] / ref);
                fprintf(js, "]}\n");
                fclose(js);
            }
        }
        sig_free(&audio);
        return 0;
    }
    char folder[4096];
    snprintf(folder, sizeof folder, "%s/callrec-scale-XXXXXX", parent);
    if (!mkdtemp(folder)) {
        perror("bench_scale: scratch folder");
        return 1;
    }

    long rss0 = support_rss_kib();
    callrec_run cr = {.audio = &audio, .n = n, .calls = calloc((size_t)n, sizeof(call))};
    for (int i = 0; i < n; i++) {
        callrec_session_config cfg;
        callrec_session_config_default(&cfg);
        cfg.recording_dir = folder;
        cfg.on_event = on_event;
        cfg.event_user = &cr.calls[i];
        if (callrec_session_create(&cfg, &cr.calls[i].s)) {
            fprintf(stderr, "bench_scale: session %d\n", i);
            return 1;
        }
        cr.calls[i].pos = start_pos(&rng, &audio);
        callrec_session_record(cr.calls[i].s, request, sizeof request - 1, NULL, NULL, NULL, 0);
    }
    /* One second first: every session has its WAV open and its buffers touched. */
    callrec_slice(&cr, 50);
    long rss1 = support_rss_kib();

    detectors_run det = {.audio = &audio, .n = n};
    det.stride = (sizeof(cr_dtmf) + 63) & ~(size_t)63;
    det.dtmf = aligned_alloc(64, det.stride * (size_t)n);
    det.vad = calloc((size_t)n, sizeof *det.vad);
    det.pos = calloc((size_t)n, sizeof *det.pos);
    for (int i = 0; i < n; i++) {
        cr_dtmf_init((cr_dtmf *)(det.dtmf + det.stride * (size_t)i), 16000);
        cr_vad_init(&det.vad[i], 16000);
        det.pos[i] = start_pos(&rng, &audio);
    }

    pipeline pipes[4] = {
        {.name = "callrec full pipeline", .slice = callrec_slice, .ctx = &cr},
        {.name = "callrec detectors alone", .slice = detectors_slice, .ctx = &det},
    };
    int n_pipes = 2;
#if defined(HAVE_SPANDSP) && defined(HAVE_WEBRTC_VAD)
    char ref_folder[4096];
    snprintf(ref_folder, sizeof ref_folder, "%s/callrec-scale-ref-XXXXXX", parent);
    if (!mkdtemp(ref_folder)) {
        perror("bench_scale: scratch folder");
        return 1;
    }
    reference_run ref[2];
    for (int writing = 0; writing < 2; writing++)
        if (reference_open(&ref[writing], &audio, n, writing, ref_folder, &rng, cr.calls))
            return 1;
    pipes[n_pipes++] = (pipeline){.name = "reference + same WAV writing",
                                   .slice = reference_slice, .ctx = &ref[1]};
    pipes[n_pipes++] = (pipeline){.name = "reference detectors alone",
                                   .slice = reference_slice, .ctx = &ref[0]};
#endif

    /* Timed in slices, the pipelines taking turns within each round so that every comparison
       is made under the same machine conditions: this shared machine's speed moves by 10-30 %
       within minutes. The median slice is each pipeline's figure; the spread is shown. */
    size_t frames = (size_t)(seconds * 16000.0) / FRAME;
    size_t per_slice = (frames > 50 ? frames - 50 : 1) / SLICES;
    if (per_slice == 0)
        per_slice = 1;
    double slice_audio = (double)per_slice * FRAME / 16000.0 * n;
    for (int sl = 0; sl < SLICES; sl++) {
        for (int p = 0; p < n_pipes; p++) {
            double u0, k0, u1, k1;
            cpu_split(&u0, &k0);
            double c0 = cpu_s();
            pipes[p].slice(pipes[p].ctx, per_slice);
            pipes[p].xrt[sl] = slice_audio / (cpu_s() - c0);
            cpu_split(&u1, &k1);
            pipes[p].user += u1 - u0;
            pipes[p].sys += k1 - k0;
        }
    }
    double audio_s = (double)(per_slice * SLICES) * FRAME / 16000.0;
    long operations = 0;
    for (int i = 0; i < n; i++) {
        operations += cr.calls[i].operations;
        callrec_session_hangup(cr.calls[i].s);
        callrec_session_destroy(cr.calls[i].s);
    }
    support_empty_folder(folder);
    rmdir(folder);
#if defined(HAVE_SPANDSP) && defined(HAVE_WEBRTC_VAD)
    for (int writing = 0; writing < 2; writing++)
        reference_close(&ref[writing]);
    support_empty_folder(ref_folder);
    rmdir(ref_folder);
#endif

    printf("scale benchmark: %d sessions, %.0f s of 16 kHz speech each, 20 ms frames, one thread, "
           "recordings in %s; %d rounds of slices, the pipelines taking turns\n", n, audio_s,
           parent, SLICES);
    double xrt[4];
    for (int p = 0; p < n_pipes; p++) {
        double sorted[SLICES];
        memcpy(sorted, pipes[p].xrt, sizeof sorted);
        qsort(sorted, SLICES, sizeof sorted[0], cmp_double);
        xrt[p] = sorted[SLICES / 2];
        double per = 1e6 / (audio_s * 100.0 * n);
        printf("%-30s %6.0f x real time = sessions per core (slices %.0f..%.0f); user %.2f / "
               "kernel %.2f us per session and 10 ms\n", pipes[p].name, xrt[p], sorted[0],
               sorted[SLICES - 1], pipes[p].user * per, pipes[p].sys * per);
    }
    printf("callrec operations completed: %ld (a WAV file created for each)\n", operations);
    printf("memory: %.1f KiB per callrec session (resident, after the first second)\n",
           (double)(rss1 - rss0) / n);
    if (n_pipes == 4) {
        printf("callrec / reference, slice by slice: full pipeline");
        for (int sl = 0; sl < SLICES; sl++)
            printf(" %.2f", pipes[0].xrt[sl] / pipes[2].xrt[sl]);
        printf("; detectors alone");
        for (int sl = 0; sl < SLICES; sl++)
            printf(" %.2f", pipes[1].xrt[sl] / pipes[3].xrt[sl]);
        printf("\n");
    }
    free(det.dtmf);
    free(det.vad);
    free(det.pos);

    if (json_path) {
        FILE *js = fopen(json_path, "w");
        if (!js)
            fprintf(stderr, "bench_scale: cannot write %s\n", json_path);
        if (js) {
            fprintf(js, "{\"sessions\":%d,\"dir\":\"%s\",\"seconds\":%.1f,\"x_realtime\":%.1f,"
                        "\"kib_per_session\":%.1f,\"reference_detection_x_realtime\":%.1f,"
                        "\"reference_with_writing_x_realtime\":%.1f,"
                        "\"detectors_x_realtime\":%.1f,\"operations\":%ld}\n",
                    n, parent, audio_s, xrt[0], (double)(rss1 - rss0) / n,
                    n_pipes == 4 ? xrt[3] : 0.0, n_pipes == 4 ? xrt[2] : 0.0, xrt[1], operations);
            /* each slice of each pipeline, in the order they ran, and its CPU split */
            fseek(js, -2, SEEK_CUR); /* reopen the object: drop "}\n" */
            fprintf(js, ",\"pipelines\":[");
            double per = 1e6 / (audio_s * 100.0 * n);
            for (int p = 0; p < n_pipes; p++) {
                fprintf(js, "%s{\"name\":\"%s\",\"user_us_per_10ms\":%.3f,"
                            "\"kernel_us_per_10ms\":%.3f,\"slices_x_realtime\":[",
                        p ? "," : "", pipes[p].name, pipes[p].user * per, pipes[p].sys * per);
                for (int sl = 0; sl < SLICES; sl++)
                    fprintf(js, "%s%.1f", sl ? "," : "", pipes[p].xrt[sl]);
                fprintf(js, "]}");
            }
            fprintf(js, "]}\n");
            fclose(js);
        }
    }
    free(cr.calls);
    sig_free(&audio);
    return 0;
}
