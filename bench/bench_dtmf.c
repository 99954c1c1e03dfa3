/* DTMF receiver benchmark: callrec's detector beside spandsp's dtmf_rx, in one process, on
   the same signals: the receiver test plan (detection rates), talk-off on speech and music,
   onset-to-report latency over random onsets, and CPU per sample. Prints a table; writes
   JSON with --json FILE. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "callrec.h"
#include "dtmf.h"
#include "signals.h"
#include "session_convert.h"
#include "support.h"
#include "tone.h"

#ifdef HAVE_SPANDSP
#include <spandsp.h>
#endif

/* ---- detectors behind one interface ---------------------------------------------------- */

typedef struct found {
    char keys[64];
    int64_t at[64]; /* input position after the chunk in which the digit was reported */
    int n;
} found;

typedef enum impl { CALLREC, SPANDSP, CALLREC_NTT } impl;

#ifdef HAVE_SPANDSP
typedef struct spandsp_ctx {
    found *f;
    int64_t pos;
} spandsp_ctx;

static void spandsp_report(void *user, int code, int level, int delay)
{
    (void)level;
    (void)delay;
    spandsp_ctx *c = user;
    if (code && c->f->n < 63) {
        c->f->keys[c->f->n] = (char)code;
        c->f->at[c->f->n++] = c->pos;
    }
}
#endif

/* Runs a detector over b in chunks of `chunk` samples. */
static void detect(impl which, const sig_buf *b, size_t chunk, found *f)
{
    memset(f, 0, sizeof *f);
    if (which == CALLREC || which == CALLREC_NTT) {
        static cr_dtmf d;
        cr_dtmf_init_profile(&d, b->rate, which == CALLREC_NTT ? CR_DTMF_NTT : CR_DTMF_ATT);
        for (size_t i = 0; i < b->n; i += chunk) {
            size_t n = b->n - i < chunk ? b->n - i : chunk;
            cr_dtmf_process(&d, b->x + i, n);
            for (int k = 0; k < d.n_events; k++) {
                if (d.events[k].kind == CR_DTMF_BEGIN && f->n < 63) {
                    f->keys[f->n] = d.events[k].key;
                    f->at[f->n++] = (int64_t)(i + n);
                }
            }
        }
    }
#ifdef HAVE_SPANDSP
    else {
        spandsp_ctx c = {f, 0};
        dtmf_rx_state_t *s = dtmf_rx_init(NULL, NULL, NULL);
        dtmf_rx_set_realtime_callback(s, spandsp_report, &c);
        for (size_t i = 0; i < b->n; i += chunk) {
            size_t n = b->n - i < chunk ? b->n - i : chunk;
            c.pos = (int64_t)(i + n);
            dtmf_rx(s, b->x + i, (int)n);
        }
        dtmf_rx_free(s);
    }
#endif
    f->keys[f->n] = '\0';
}

/* ---- signal paths ------------------------------------------------------------------------ */

/* P44K, P48K: a 16 kHz signal played at 44.1 or 48 kHz (the test signals' own converter) and
   brought back to 16 kHz by a session's converter, as a sound card at that rate delivers it. */
typedef enum sigpath { P8K, P8K16K, P16K, PMULAW, P44K, P48K } sigpath;

typedef struct column {
    const char *name;
    impl which;
    sigpath p;
} column;

static const column columns[] = {
    {"callrec 8k", CALLREC, P8K},      {"callrec 8k->16k", CALLREC, P8K16K},
    {"callrec 16k", CALLREC, P16K},    {"callrec ulaw", CALLREC, PMULAW},
    {"callrec 44.1k", CALLREC, P44K},  {"callrec 48k", CALLREC, P48K},
#ifdef HAVE_SPANDSP
    {"spandsp 8k", SPANDSP, P8K},      {"spandsp 16k->8k", SPANDSP, P16K},
    {"spandsp ulaw", SPANDSP, PMULAW},
#endif
};
#define NCOLS ((int)(sizeof columns / sizeof columns[0]))

/* A trial writes its signal at `rate` and says what a correct receiver reports. */
typedef void (*trial_fn)(sig_buf *b, sig_rng *r, int variant, char *expect);

/* Builds the signal of one trial for one column: generated at 16 kHz for the native path,
   at 8 kHz otherwise; spandsp gets 8 kHz (decimated from the native 16 kHz signal). */
static void build(const column *c, trial_fn fn, int variant, uint64_t seed, sig_buf *b,
                  char *expect)
{
    sig_rng r;
    sig_seed(&r, seed);
    sig_init(b, c->p == P8K || c->p == P8K16K || c->p == PMULAW ? 8000 : 16000);
    fn(b, &r, variant, expect);
    if (c->p == P44K || c->p == P48K) {
        sig_resample(b, c->p == P44K ? 44100 : 48000);
        if (bench_session_convert(b, 16000))
            abort();
    } else if (c->p == P8K16K)
        sig_resample(b, 16000);
    else if (c->p == PMULAW)
        sig_mulaw_roundtrip(b);
    else if (c->p == P16K && c->which == SPANDSP)
        sig_resample(b, 8000);
}

/* ---- the plan ------------------------------------------------------------------------ */

static const char keys16[] = "123A456B789C*0#D";

static void lead(sig_buf *b, sig_rng *r) { sig_silence(b, 0.06 + 0.02 * sig_uniform(r)); }

/* The key of a row and a column frequency. */
static char keymap_of(double row_hz, double col_hz)
{
    for (int k = 0; k < 16; k++) {
        double lo, hi;
        cr_dtmf_key_freqs(keys16[k], &lo, &hi);
        if (lo == row_hz && hi == col_hz)
            return keys16[k];
    }
    return 0;
}

static void t1_sequence(sig_buf *b, sig_rng *r, int v, char *expect)
{
    (void)v;
    lead(b, r);
    for (int k = 0; k < 16; k++) {
        sig_dtmf(b, r, keys16[k], -10, 0.050);
        sig_silence(b, 0.050);
    }
    strcpy(expect, keys16);
}

/* Frequency accept: variant v: key = v % 16, case = v / 16 (one tone or both, the same way or
   opposite ways), each moved by rel * f + abs_hz. */
static void freq_accept(sig_buf *b, sig_rng *r, int v, char *expect, double rel, double abs_hz)
{
    char key = keys16[v % 16];
    int c = (v / 16) % 8, sign = c & 1 ? -1 : 1;
    double lo, hi;
    cr_dtmf_key_freqs(key, &lo, &hi);
    double dlo = sign * (rel * lo + abs_hz), dhi = sign * (rel * hi + abs_hz);
    if (c / 2 == 0)
        lo += dlo;
    else if (c / 2 == 1)
        hi += dhi;
    else if (c / 2 == 2)
        lo += dlo, hi += dhi;
    else
        lo += dlo, hi -= dhi;
    lead(b, r);
    sig_tones(b, r, lo, -10, hi, -10, 0.050);
    sig_silence(b, 0.06);
    expect[0] = key;
    expect[1] = '\0';
}

/* Frequency reject: either tone moved by +-rel. */
static void freq_reject(sig_buf *b, sig_rng *r, int v, char *expect, double rel)
{
    double lo, hi;
    cr_dtmf_key_freqs(keys16[v % 16], &lo, &hi);
    int c = (v / 16) % 4;
    double s = c & 1 ? -rel : rel;
    if (c / 2)
        hi *= 1 + s;
    else
        lo *= 1 + s;
    lead(b, r);
    sig_tones(b, r, lo, -10, hi, -10, 0.050);
    sig_silence(b, 0.06);
    expect[0] = '\0';
}

static void t2_freq_accept(sig_buf *b, sig_rng *r, int v, char *e) { freq_accept(b, r, v, e, 0.015, 2.0); }
static void t3_freq_reject(sig_buf *b, sig_rng *r, int v, char *e) { freq_reject(b, r, v, e, 0.035); }

/* Both tones at one level: top_dbm0, then 1 dB lower for each of `steps` variant groups. */
static void level_trial(sig_buf *b, sig_rng *r, int v, char *expect, double top_dbm0, int steps,
                        int accept)
{
    char key = keys16[v % 16];
    lead(b, r);
    sig_dtmf(b, r, key, top_dbm0 - (double)((v / 16) % steps), 0.050);
    sig_silence(b, 0.06);
    expect[0] = accept ? key : '\0';
    expect[1] = '\0';
}

static void t4_level_accept(sig_buf *b, sig_rng *r, int v, char *e) { level_trial(b, r, v, e, 0, 26, 1); }
static void t4_level_reject(sig_buf *b, sig_rng *r, int v, char *e) { level_trial(b, r, v, e, -55, 6, 0); }

static void t5_twist(sig_buf *b, sig_rng *r, int v, char *expect)
{
    char key = keys16[v % 16];
    double lo, hi;
    cr_dtmf_key_freqs(key, &lo, &hi);
    int c = (v / 16) % 4;
    /* normal twist 8 dB (column weaker), reverse 4 dB, at the top and bottom of the range */
    double l1 = c & 2 ? -17 : -3, l2 = c & 1 ? l1 + 4 : l1 - 8;
    if (c & 1)
        l1 -= 4, l2 -= 4;
    if (l2 < -25 - 8)
        l2 = -33;
    lead(b, r);
    sig_tones(b, r, lo, l1, hi, l2, 0.050);
    sig_silence(b, 0.06);
    expect[0] = key;
    expect[1] = '\0';
}

static void t6_accept_40(sig_buf *b, sig_rng *r, int v, char *expect)
{
    lead(b, r);
    sig_dtmf(b, r, keys16[v % 16], -10, 0.040);
    sig_silence(b, 0.06);
    expect[0] = keys16[v % 16];
    expect[1] = '\0';
}

/* Tones of 20 ms up to longest_ms, which must all be rejected. */
static void short_tone(sig_buf *b, sig_rng *r, int v, char *expect, int longest_ms)
{
    lead(b, r);
    sig_dtmf(b, r, keys16[v % 16], -10, 0.001 * (20 + (v / 16) % (longest_ms - 19)));
    sig_silence(b, 0.06);
    expect[0] = '\0';
}

/* Two 40 ms digits, the same key or different ones, `pause_s` apart: both reported. */
static void pause_between(sig_buf *b, sig_rng *r, int v, char *expect, double pause_s)
{
    char a = keys16[v % 16], c = (v / 16) % 2 ? a : keys16[(v + 5) % 16];
    lead(b, r);
    sig_dtmf(b, r, a, -10, 0.040);
    sig_silence(b, pause_s);
    sig_dtmf(b, r, c, -10, 0.040);
    sig_silence(b, 0.06);
    expect[0] = a;
    expect[1] = c;
    expect[2] = '\0';
}

static void t6_reject_23(sig_buf *b, sig_rng *r, int v, char *e) { short_tone(b, r, v, e, 23); }
static void t7_pause(sig_buf *b, sig_rng *r, int v, char *e) { pause_between(b, r, v, e, 0.040); }

static void t8_break(sig_buf *b, sig_rng *r, int v, char *expect)
{
    char key = keys16[v % 16];
    double gap = 0.001 * (1 + (v / 16) % 10); /* 1..10 ms */
    double lo, hi;
    cr_dtmf_key_freqs(key, &lo, &hi);
    /* One tone, interrupted: the phase runs on through the break. */
    sig_buf t;
    sig_init(&t, b->rate);
    sig_tones(&t, r, lo, -10, hi, -10, 0.080 + gap);
    size_t g0 = (size_t)(0.040 * b->rate), g1 = g0 + (size_t)lround(gap * b->rate);
    for (size_t i = g0; i < g1 && i < t.n; i++)
        t.x[i] = 0;
    lead(b, r);
    size_t at = b->n;
    sig_silence(b, (double)t.n / b->rate);
    memcpy(b->x + at, t.x, t.n * sizeof *t.x);
    sig_silence(b, 0.06);
    sig_free(&t);
    expect[0] = key;
    expect[1] = '\0';
}

static void noise_trial(sig_buf *b, sig_rng *r, int v, char *expect, double snr)
{
    char key = keys16[v % 16];
    lead(b, r);
    sig_dtmf(b, r, key, -20, 0.050);
    sig_silence(b, 0.06);
    /* RMS of one -20 dBm0 tone is -20 - 3.14 - 3.01 dBFS; white noise over the band. */
    sig_add_noise(b, r, 0, b->n, -26.15 - snr);
    expect[0] = key;
    expect[1] = '\0';
}
static void t9_noise_15(sig_buf *b, sig_rng *r, int v, char *e) { noise_trial(b, r, v, e, 15); }
static void t9_noise_12(sig_buf *b, sig_rng *r, int v, char *e) { noise_trial(b, r, v, e, 12); }

static void t10_dial_tone(sig_buf *b, sig_rng *r, int v, char *expect)
{
    char key = keys16[v % 16];
    double lo, hi;
    cr_dtmf_key_freqs(key, &lo, &hi);
    /* Dial tone runs from 300 ms before the digit to 100 ms after it. */
    sig_buf dial;
    double len = 0.45;
    lead(b, r);
    size_t at = b->n;
    sig_silence(b, 0.30);
    sig_dtmf(b, r, key, -25, 0.050);
    sig_silence(b, 0.10);
    sig_init(&dial, b->rate);
    /* Dial tone 22 dB above the -25 dBm0 digit (MT8870's tolerance): -3 dBm0 in all, as
       350 + 440 Hz or 425 Hz. */
    if ((v / 16) % 2)
        sig_tones(&dial, r, 425, -3, 0, 0, len);
    else
        sig_tones(&dial, r, 350, -6, 440, -6, len);
    for (size_t i = 0; i < dial.n && at + i < b->n; i++) {
        int s = b->x[at + i] + dial.x[i];
        b->x[at + i] = (int16_t)(s > 32767 ? 32767 : (s < -32768 ? -32768 : s));
    }
    sig_free(&dial);
    expect[0] = key;
    expect[1] = '\0';
}

static void t10_third_tone(sig_buf *b, sig_rng *r, int v, char *expect)
{
    char key = keys16[v % 16];
    double lo, hi, third = 500 + 2500 * sig_uniform(r);
    cr_dtmf_key_freqs(key, &lo, &hi);
    /* Keep the third tone off the DTMF frequencies (it would be a different key). */
    static const double dtmf_f[] = {697, 770, 852, 941, 1209, 1336, 1477, 1633};
    for (int i = 0; i < 8; i++)
        if (fabs(third - dtmf_f[i]) < 60)
            third += 120;
    lead(b, r);
    size_t at = b->n;
    sig_dtmf(b, r, key, -10, 0.050);
    sig_buf t;
    sig_init(&t, b->rate);
    sig_tones(&t, r, third, -26, 0, 0, 0.050);
    for (size_t i = 0; i < t.n; i++)
        b->x[at + i] = (int16_t)(b->x[at + i] + t.x[i]);
    sig_free(&t);
    sig_silence(b, 0.06);
    expect[0] = key;
    expect[1] = '\0';
}

static void t11_echo(sig_buf *b, sig_rng *r, int v, char *expect)
{
    char key = keys16[v % 16];
    double delay = 0.005 * ((v / 16) % 9); /* 0..40 ms */
    double gain = (v / 16 / 9) % 2 ? 0.1 : 0.316;  /* -20 / -10 dB */
    lead(b, r);
    size_t at = b->n;
    sig_dtmf(b, r, key, -10, 0.060);
    sig_silence(b, 0.12);
    size_t d = (size_t)lround(delay * b->rate);
    for (size_t i = b->n; i-- > at + d;) {
        double s = b->x[i] + gain * b->x[i - d];
        b->x[i] = (int16_t)lrint(s > 32767 ? 32767 : (s < -32768 ? -32768 : s));
    }
    expect[0] = key;
    expect[1] = '\0';
}

typedef struct test {
    const char *id, *what, *criterion;
    trial_fn fn;
    int variants;
} test;

static const test plan[] = {
    {"T1", "16 digits 50/50 ms, -10 dBm0", "100 %", t1_sequence, 1},
    {"T2", "frequency +-(1.5 % + 2 Hz), one or both tones", "100 %", t2_freq_accept, 128},
    {"T3", "frequency +-3.5 %, either tone (reject)", "100 %", t3_freq_reject, 64},
    {"T4a", "level 0 .. -25 dBm0", "100 %", t4_level_accept, 16 * 26},
    {"T4b", "level -55 .. -60 dBm0 (reject)", "100 %", t4_level_reject, 16 * 6},
    {"T5", "twist 8 dB normal / 4 dB reverse", "100 %", t5_twist, 64},
    {"T6a", "40 ms tone", "100 %", t6_accept_40, 16},
    {"T6b", "20 .. 23 ms tone (reject)", "100 %", t6_reject_23, 64},
    {"T7", "40 ms on / 40 ms off, same and different", "100 %", t7_pause, 32},
    {"T8", "1 .. 10 ms break inside a digit (bridge)", "100 %", t8_break, 160},
    {"T9a", "white noise, 15 dB S/N", ">= 99.99 %", t9_noise_15, 16},
    {"T9b", "white noise, 12 dB S/N", ">= 99.99 %", t9_noise_12, 16},
    {"T10a", "dial tone +22 dB over a -25 dBm0 digit", ">= 99.99 %", t10_dial_tone, 32},
    {"T10b", "third tone at -16 dB", ">= 99.99 %", t10_third_tone, 16},
    {"T11", "echo 0 .. 40 ms at -10 / -20 dB", "100 %", t11_echo, 16 * 18},
};
#define NTESTS ((int)(sizeof plan / sizeof plan[0]))

/* ---- the NTT column of Q.24 ------------------------------------------------------------ */

static void n2_freq_accept(sig_buf *b, sig_rng *r, int v, char *e) { freq_accept(b, r, v, e, 0.018, 0.0); }
static void n3_freq_reject(sig_buf *b, sig_rng *r, int v, char *e) { freq_reject(b, r, v, e, 0.030); }

static void n4_level_accept(sig_buf *b, sig_rng *r, int v, char *e) { level_trial(b, r, v, e, -3, 22, 1); }
static void n4_level_reject(sig_buf *b, sig_rng *r, int v, char *e) { level_trial(b, r, v, e, -29, 6, 0); }

static void n5_twist(sig_buf *b, sig_rng *r, int v, char *expect)
{
    char key = keys16[v % 16];
    double lo, hi;
    cr_dtmf_key_freqs(key, &lo, &hi);
    int c = (v / 16) % 4;
    /* 5 dB either way, the stronger tone at -3 dBm0 or the weaker at -24 */
    double strong = c & 2 ? -19.0 : -3.0, weak = strong - 5.0;
    lead(b, r);
    if (c & 1)
        sig_tones(b, r, lo, weak, hi, strong, 0.050);
    else
        sig_tones(b, r, lo, strong, hi, weak, 0.050);
    sig_silence(b, 0.06);
    expect[0] = key;
    expect[1] = '\0';
}

static void n6_reject_24(sig_buf *b, sig_rng *r, int v, char *e) { short_tone(b, r, v, e, 24); }
static void n7_pause(sig_buf *b, sig_rng *r, int v, char *e) { pause_between(b, r, v, e, 0.030); }

static const test ntt_plan[] = {
    {"N2", "frequency +-1.8 %, one or both tones", "100 %", n2_freq_accept, 128},
    {"N3", "frequency +-3.0 %, either tone (reject)", "100 %", n3_freq_reject, 64},
    {"N4a", "level -3 .. -24 dBm0", "100 %", n4_level_accept, 16 * 22},
    {"N4b", "level -29 .. -34 dBm0 (reject)", "100 %", n4_level_reject, 16 * 6},
    {"N5", "twist 5 dB either way, -3 .. -24 dBm0", "100 %", n5_twist, 64},
    {"N6a", "40 ms tone", "100 %", t6_accept_40, 16},
    {"N6b", "20 .. 24 ms tone (reject)", "100 %", n6_reject_24, 80},
    {"N7", "40 ms on / 30 ms off, same and different", "100 %", n7_pause, 32},
    {"N8", "1 .. 10 ms break inside a digit (bridge)", "100 %", t8_break, 160},
};
#define NNTT ((int)(sizeof ntt_plan / sizeof ntt_plan[0]))

static const column ntt_columns[] = {
    {"callrec NTT 8k", CALLREC_NTT, P8K}, {"callrec NTT 16k", CALLREC_NTT, P16K},
    {"callrec NTT ulaw", CALLREC_NTT, PMULAW},
#ifdef HAVE_SPANDSP
    {"spandsp 8k", SPANDSP, P8K},
#endif
};
#define NNTTCOLS ((int)(sizeof ntt_columns / sizeof ntt_columns[0]))

/* ---- talk-off corpora --------------------------------------------------------------- */

/* Every prompt of a folder of sound files; with `speech_only`, conference sound effects
   (confbridge-*: tones and sweeps) are left out. */
static int append_dir(sig_buf *b, const char *dir, int speech_only)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    int files = 0;
    char names[1024][128];
    int n = 0;
    while ((e = readdir(d)) && n < 1024) {
        size_t len = strlen(e->d_name);
        if (len > 4 && len < 128 && strcmp(e->d_name + len - 4, ".wav") == 0 &&
            !strstr(e->d_name, "beep") && !strstr(e->d_name, "tone") && !strstr(e->d_name, "dtmf") &&
            !(speech_only && strncmp(e->d_name, "confbridge", 10) == 0))
            strcpy(names[n++], e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    for (int i = 0; i < n; i++) {
        char file[1400];
        snprintf(file, sizeof file, "%s/%.127s", dir, names[i]);
        files += sig_append_file(b, file, 0.0) == 0;
    }
    return files;
}

/* Two texts, each read by its own set of voices at five pitches (100 recordings). The second
   set was added after the detector was tuned on the first, as a check on that tuning. */
static const struct {
    const char *text;
    const char *voices[12];
    int pitches[5];
} espeak_sets[] = {
    {"Hello, thank you for calling. I am returning your message about the delivery on Tuesday. "
     "Please call me back at your convenience; my number is five five five, one two three "
     "four. The quick brown fox jumps over the lazy dog. She sells sea shells by the sea "
     "shore. Seven, eight, nine, zero. Star, pound, hash. Yes, no, maybe, of course, "
     "absolutely not.",
     {"en", "en-us", "en+f3", "en+f4", "en+m3", "en+f2", "en-us+f5", "en+m7"},
     {30, 50, 70, 90, 99}},
    {"Good morning. Your appointment is confirmed for Thursday at half past nine. If you need "
     "to reschedule, press one, or stay on the line. We value your feedback, so after the tone "
     "please tell us how we did today. Thanks again, and have a wonderful evening. Eleven, "
     "twelve, thirteen, forty, fifty, sixty six, hundred.",
     {"en+f1", "en+f5", "en+m1", "en+m2", "en-us+f1", "en-us+f2", "en-us+f3", "en-us+f4",
      "en-gb-x-rp+f3", "en+klatt", "en+m4", "en-us+m5"},
     {20, 40, 60, 80, 95}},
};

static int espeak_corpus(sig_buf *b, const char *tmp)
{
    int made = 0;
    for (size_t k = 0; k < sizeof espeak_sets / sizeof espeak_sets[0]; k++) {
        for (size_t v = 0; v < 12 && espeak_sets[k].voices[v]; v++) {
            for (size_t p = 0; p < 5; p++) {
                char file[512], cmd[2048];
                snprintf(file, sizeof file, "%s/espeak.wav", tmp);
                snprintf(cmd, sizeof cmd, "espeak-ng -v %s -p %d -s 160 -w '%s' \"%s\" 2>/dev/null",
                         espeak_sets[k].voices[v], espeak_sets[k].pitches[p], file,
                         espeak_sets[k].text);
                if (system(cmd) == 0 && sig_append_file(b, file, 0.0) == 0)
                    made++;
            }
        }
    }
    return made;
}

/* ---- helpers --------------------------------------------------------------------------- */

/* Runs every test of `tests` on every column: prints a row per test (detection rate per
   column) and writes the rows as JSON objects. Returns 1 if every callrec column got every
   trial right. Seeds: salt * repetition + variant + 17 * test. */
static int run_plan(const test *tests, int n_tests, const column *cols, int n_cols, uint64_t salt,
                    int reps, int verbose, FILE *js)
{
    printf("%-5s %-44s", "test", "signal");
    for (int c = 0; c < n_cols; c++)
        printf(" %16s", cols[c].name);
    printf("\n");
    int all_pass = 1;
    for (int ti = 0; ti < n_tests; ti++) {
        const test *tst = &tests[ti];
        printf("%-5s %-44s", tst->id, tst->what);
        if (js)
            fprintf(js, "%s{\"id\":\"%s\",\"what\":\"%s\"", ti ? "," : "", tst->id, tst->what);
        for (int c = 0; c < n_cols; c++) {
            int ours = cols[c].which != SPANDSP, ok = 0, n = 0;
            for (int rep = 0; rep < reps; rep++) {
                for (int v = 0; v < tst->variants; v++) {
                    sig_buf b;
                    char expect[64];
                    found f;
                    build(&cols[c], tst->fn, v, salt * (uint64_t)rep + (uint64_t)v + 17u * (uint64_t)ti,
                          &b, expect);
                    detect(cols[c].which, &b, 80, &f);
                    int good = strcmp(f.keys, expect) == 0;
                    ok += good;
                    if (!good && verbose && ours)
                        fprintf(stderr, "%s %s variant %d rep %d: want \"%s\" got \"%s\"\n",
                                tst->id, cols[c].name, v, rep, expect, f.keys);
                    n++;
                    sig_free(&b);
                }
            }
            double rate = 100.0 * ok / n;
            if (ours && ok != n)
                all_pass = 0;
            printf(" %15.2f%%", rate);
            if (js)
                fprintf(js, ",\"%s\":%.4f", cols[c].name, rate);
        }
        printf("\n");
        if (js)
            fprintf(js, "}");
    }
    return all_pass;
}

/* ---- main ------------------------------------------------------------------------------ */

static const char usage[] =
    "usage: bench_dtmf [--quick] [--verbose] [--json FILE]\n"
    "  --quick       3 repetitions of each variant instead of 20, 1000 latency trials not 10000\n"
    "  --verbose     also print each of callrec's misses: what was sent, what was heard\n"
    "  --json FILE   also write the results as JSON\n";

/* Through a session, as a bot runs one: a record operation whose stop tones are every key,
   fed in 20 ms buffers; the latency is from the tone's onset to the `completed` event's time. */
typedef struct session_outcome {
    int completed;
    char tone;
    int64_t t; /* 16 kHz samples since the operation started */
} session_outcome;

static void on_session_event(void *user, const callrec_event *e)
{
    session_outcome *o = user;
    if (e->type == CALLREC_EVENT_COMPLETED) {
        o->completed = 1;
        o->tone = e->tone;
        o->t = e->t_samples;
    }
}

/* Latency in ms of one trial b (tone onset at `onset` input samples), or NAN if the session did
   not end on `key`. dir: where the recording goes (deleted). */
static double session_latency(const sig_buf *b, size_t onset, char key, const char *dir)
{
    callrec_session_config cfg;
    callrec_session_config_default(&cfg);
    cfg.sample_rate_hz = b->rate;
    cfg.recording_dir = dir;
    session_outcome o = {0, 0, 0};
    cfg.on_event = on_session_event;
    cfg.event_user = &o;
    callrec_session *s = NULL;
    static const char req[] = "{\"playBeep\": false, \"stopTones\": [\"0\", \"1\", \"2\", \"3\", "
                              "\"4\", \"5\", \"6\", \"7\", \"8\", \"9\", \"*\", \"#\", "
                              "\"A\", \"B\", \"C\", \"D\"]}";
    char path[600];
    snprintf(path, sizeof path, "%s/latency.wav", dir);
    if (callrec_session_create(&cfg, &s) != CALLREC_OK ||
        callrec_session_record(s, req, sizeof req - 1, path, NULL, NULL, 0) != CALLREC_OK) {
        callrec_session_destroy(s);
        return NAN;
    }
    size_t chunk = (size_t)b->rate / 50;
    for (size_t i = 0; i < b->n && !o.completed; i += chunk)
        callrec_session_process(s, b->x + i, NULL, b->n - i < chunk ? b->n - i : chunk);
    callrec_session_destroy(s);
    unlink(path);
    if (!o.completed || o.tone != key)
        return NAN;
    return ((double)o.t / CALLREC_INTERNAL_RATE_HZ - (double)onset / b->rate) * 1000.0;
}

int main(int argc, char **argv)
{
    const char *json_path = NULL;
    int reps = 20, latency_trials = 10000, quick = 0, verbose = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
            json_path = argv[++i];
        } else if (strcmp(argv[i], "--quick") == 0) {
            quick = 1, reps = 3, latency_trials = 1000;
        } else if (strcmp(argv[i], "--verbose") == 0) {
            verbose = 1;
        } else {
            fprintf(stderr, "bench_dtmf: unknown option or missing value: %s\n%s", argv[i], usage);
            return 2;
        }
    }
    support_check_output("bench_dtmf", json_path);
    struct utsname u;
    uname(&u);
    char cpu[256] = "unknown";
    FILE *ci = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (ci && fgets(line, sizeof line, ci)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *c = strchr(line, ':');
            snprintf(cpu, sizeof cpu, "%.200s", c ? c + 2 : line);
            cpu[strcspn(cpu, "\n")] = '\0';
            break;
        }
    }
    if (ci)
        fclose(ci);
    time_t t = time(NULL);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%d", gmtime(&t));
    printf("DTMF benchmark, %s, %s, %s %s%s\n", date, cpu, u.sysname, u.release,
           quick ? " (quick)" : "");
#ifndef HAVE_SPANDSP
    printf("spandsp not found at build time: reference columns omitted\n");
#endif

    FILE *js = json_path ? fopen(json_path, "w") : NULL;
    if (js)
        fprintf(js, "{\"date\":\"%s\",\"cpu\":\"%s\",\"plan\":[", date, cpu);

    /* 1. The plan. */
    printf("\n");
    int all_pass = run_plan(plan, NTESTS, columns, NCOLS, 1000003u, reps, verbose, js);
    if (js)
        fprintf(js, "],");

    /* 2. Talk-off. */
    char tmp[] = "/tmp/callrec-bench-XXXXXX";
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    sig_buf corpus[3];
    const char *corpus_names[3] = {"asterisk speech", "espeak-ng voices", "fluidsynth music"};
    int corpus_files[3];
    for (int k = 0; k < 3; k++)
        sig_init(&corpus[k], 8000);
    corpus_files[0] = append_dir(&corpus[0], SPEECH_DIR, 0);
    corpus_files[1] = quick ? 0 : espeak_corpus(&corpus[1], tmp);
    corpus_files[2] = sig_append_music(&corpus[2], tmp, 1234, 8) == 0;
    printf("\ntalk-off (false digits; every level 0, -10, -20 dB)\n%-20s %8s", "corpus", "minutes");
    for (int c = 0; c < NCOLS; c++)
        if (columns[c].p == P8K || columns[c].p == P16K)
            printf(" %15s", columns[c].name);
    printf("\n");
    if (js)
        fprintf(js, "\"talkoff\":[");
    for (int k = 0; k < 3; k++) {
        double minutes = 3.0 * corpus[k].n / 8000.0 / 60.0;
        printf("%-20s %8.1f", corpus_names[k], minutes);
        if (js)
            fprintf(js, "%s{\"corpus\":\"%s\",\"files\":%d,\"minutes\":%.2f", k ? "," : "",
                    corpus_names[k], corpus_files[k], minutes);
        for (int c = 0; c < NCOLS; c++) {
            if (columns[c].p != P8K && columns[c].p != P16K)
                continue;
            int falses = 0;
            for (int g = 0; g < 3; g++) {
                sig_buf b;
                sig_init(&b, 8000);
                sig_silence(&b, (double)corpus[k].n / 8000.0);
                double gain = pow(10.0, -10.0 * g / 20.0);
                for (size_t i = 0; i < b.n; i++)
                    b.x[i] = (int16_t)lrint(corpus[k].x[i] * gain);
                if (columns[c].which == CALLREC && columns[c].p == P16K)
                    sig_resample(&b, 16000);
                found f;
                detect(columns[c].which, &b, 160, &f);
                falses += f.n;
                sig_free(&b);
            }
            printf(" %15d", falses);
            if (js)
                fprintf(js, ",\"%s\":%d", columns[c].name, falses);
        }
        printf("\n");
        if (js)
            fprintf(js, "}");
    }
    if (js)
        fprintf(js, "],");

    /* 2b. The accept band (Mitel test 3): each frequency moved from -5 % to +5 % in 0.1 %
       steps with its partner at nominal, -10 dBm0, 50 ms, 10 random phases a step. Reported:
       how far each side stays fully accepted, and from where it is fully rejected. */
    printf("\naccept band: offset fully accepted / first fully rejected, each side (%%; AT&T "
           "must accept 1.5 %% + 2 Hz, reject 3.5 %%)\n%-6s", "Hz");
    const impl band_impls[] = {CALLREC,
#ifdef HAVE_SPANDSP
                               SPANDSP
#endif
    };
    const int n_band = (int)(sizeof band_impls / sizeof band_impls[0]);
    for (int k = 0; k < n_band; k++)
        printf(" %34s", band_impls[k] == CALLREC ? "callrec 8k" : "spandsp 8k");
    printf("\n");
    if (js)
        fprintf(js, "\"accept_band\":[");
    static const double band_f[8] = {697, 770, 852, 941, 1209, 1336, 1477, 1633};
    for (int fi = 0; fi < 8; fi++) {
        printf("%-6.0f", band_f[fi]);
        if (js)
            fprintf(js, "%s{\"hz\":%.0f", fi ? "," : "", band_f[fi]);
        for (int k = 0; k < n_band; k++) {
            double accept[2] = {0, 0}, reject[2] = {99, 99};
            for (int side = 0; side < 2; side++) {
                int accepting = 1;
                for (int step = 0; step <= 50; step++) {
                    double rel = (side ? 1 : -1) * 0.001 * step;
                    int hits = 0;
                    for (int ph = 0; ph < 10; ph++) {
                        sig_rng r;
                        sig_seed(&r, 900000u + 1000u * (unsigned)fi + 10u * (unsigned)step + (unsigned)ph);
                        double lo = fi < 4 ? band_f[fi] * (1 + rel) : 852.0;
                        double hi = fi < 4 ? 1336.0 : band_f[fi] * (1 + rel);
                        char key = keymap_of(fi < 4 ? band_f[fi] : 852.0, fi < 4 ? 1336.0 : band_f[fi]);
                        sig_buf b;
                        sig_init(&b, 8000);
                        lead(&b, &r);
                        sig_tones(&b, &r, lo, -10, hi, -10, 0.050);
                        sig_silence(&b, 0.06);
                        found f;
                        detect(band_impls[k], &b, 80, &f);
                        hits += f.n == 1 && f.keys[0] == key;
                        sig_free(&b);
                    }
                    if (accepting && hits == 10)
                        accept[side] = 0.1 * step;
                    else
                        accepting = 0;
                    if (hits == 0 && reject[side] > 50) {
                        reject[side] = 0.1 * step;
                        break;
                    }
                }
            }
            char cell[64];
            snprintf(cell, sizeof cell, "-%.1f/+%.1f, -%.1f/+%.1f", accept[0], accept[1],
                     reject[0], reject[1]);
            printf(" %34s", cell);
            if (js)
                fprintf(js, ",\"%s\":{\"accept\":[%.1f,%.1f],\"reject\":[%.1f,%.1f]}",
                        band_impls[k] == CALLREC ? "callrec" : "spandsp", -accept[0], accept[1],
                        -reject[0], reject[1]);
        }
        printf("\n");
        if (js)
            fprintf(js, "}");
    }
    if (js)
        fprintf(js, "],");

    /* 2c. The NTT profile against Q.24's NTT column. */
    printf("\nNTT profile (cr_dtmf_init_profile(..., CR_DTMF_NTT)) against Q.24's NTT column\n");
    if (js)
        fprintf(js, "\"ntt\":[");
    int ntt_pass = run_plan(ntt_plan, NNTT, ntt_columns, NNTTCOLS, 7000003u, reps, verbose, js);
    printf("callrec's NTT profile passes every NTT test: %s\n", ntt_pass ? "yes" : "NO");
    if (js)
        fprintf(js, "],");

    /* 3. Latency: onset to report, 8-sample chunks, random key, phase and onset. */
    printf("\nlatency from tone onset to report, %d random onsets, 8-sample chunks; through a "
           "session, to the completed event, 20 ms buffers (ms)\n",
           latency_trials);
    printf("%-18s %8s %8s %8s %8s %8s %8s\n", "receiver", "min", "p50", "mean", "p99", "max",
           "missed");
    if (js)
        fprintf(js, "\"latency\":[");
    /* session: through callrec_session_process(), onset to the `completed` event */
    const struct { const char *name; impl which; int rate, session; } lat_cols[] = {
        {"callrec 8k", CALLREC, 8000, 0}, {"callrec 16k", CALLREC, 16000, 0},
        {"session 8k", CALLREC, 8000, 1}, {"session 16k", CALLREC, 16000, 1},
        {"session 44.1k", CALLREC, 44100, 1}, {"session 48k", CALLREC, 48000, 1},
#ifdef HAVE_SPANDSP
        {"spandsp 8k", SPANDSP, 8000, 0},
#endif
    };
    char lat_dir[] = "/tmp/callrec-bench-dtmf-XXXXXX";
    if (!mkdtemp(lat_dir)) {
        fprintf(stderr, "bench_dtmf: no scratch folder\n");
        return 1;
    }
    int nlat = (int)(sizeof lat_cols / sizeof lat_cols[0]);
    double *lat = malloc(sizeof *lat * (size_t)latency_trials);
    for (int c = 0; c < nlat; c++) {
        sig_rng r;
        sig_seed(&r, 4242);
        int got = 0, missed = 0;
        double sum = 0;
        for (int i = 0; i < latency_trials; i++) {
            sig_buf b;
            sig_init(&b, lat_cols[c].rate);
            sig_silence(&b, 0.03 + 0.05 * sig_uniform(&r));
            size_t onset = b.n;
            char key = keys16[(int)(sig_uniform(&r) * 16)];
            sig_dtmf(&b, &r, key, -10 - 10 * sig_uniform(&r), 0.080);
            sig_silence(&b, 0.05);
            double ms = NAN;
            if (lat_cols[c].session) {
                ms = session_latency(&b, onset, key, lat_dir);
            } else {
                found f;
                detect(lat_cols[c].which, &b, 8, &f);
                if (f.n == 1 && f.keys[0] == key)
                    ms = (double)(f.at[0] - (int64_t)onset) * 1000.0 / lat_cols[c].rate;
            }
            if (!isnan(ms)) {
                lat[got++] = ms;
                sum += ms;
            } else {
                missed++;
            }
            sig_free(&b);
        }
        double p50 = support_percentile(lat, got, 50), p99 = support_percentile(lat, got, 99);
        double lo = got ? lat[0] : NAN, hi = got ? lat[got - 1] : NAN; /* sorted now */
        printf("%-18s %8.2f %8.2f %8.2f %8.2f %8.2f %8d\n", lat_cols[c].name, lo, p50, sum / got,
               p99, hi, missed);
        if (js) {
            fprintf(js, "%s{\"receiver\":\"%s\",\"min\":%.3f,\"p50\":%.3f,\"mean\":%.3f,"
                        "\"p99\":%.3f,\"max\":%.3f,\"missed\":%d,\"ms\":[",
                    c ? "," : "", lat_cols[c].name, lo, p50, sum / got, p99, hi, missed);
            for (int i = 0; i < got; i++) /* every onset's latency, sorted, for plots */
                fprintf(js, "%s%.3f", i ? "," : "", lat[i]);
            fprintf(js, "]}");
        }
    }
    free(lat);
    rmdir(lat_dir);
    if (js)
        fprintf(js, "],");

    /* 4. CPU: speech only (the conference tones would engage the dial-tone notch, which is
       not the usual case), 160-sample chunks, best of 7 after a warm-up. */
    sig_buf s8, s16;
    sig_init(&s8, 8000);
    append_dir(&s8, SPEECH_DIR, 1);
    sig_init(&s16, 8000);
    append_dir(&s16, SPEECH_DIR, 1);
    sig_resample(&s16, 16000);
    printf("\nCPU on %.1f min of speech (best of 7 runs)\n%-18s %12s %16s\n",
           s8.n / 8000.0 / 60.0, "receiver", "ns/sample", "ns per second of audio");
    if (js)
        fprintf(js, "\"cpu\":[");
    for (int c = 0, first = 1; c < nlat; c++) {
        if (lat_cols[c].rate != 8000 && lat_cols[c].rate != 16000)
            continue; /* the receiver's cost; the rate converters' is bench_scale --rates */
        const sig_buf *b = lat_cols[c].rate == 16000 ? &s16 : &s8;
        found f;
        detect(lat_cols[c].which, b, 160, &f); /* warm-up */
        double best = 1e30;
        for (int rep = 0; rep < 7; rep++) {
            double t0 = support_now_s();
            detect(lat_cols[c].which, b, 160, &f);
            double dt = support_now_s() - t0;
            if (dt < best)
                best = dt;
        }
        double ns = best * 1e9 / (double)b->n;
        printf("%-18s %12.2f %16.0f\n", lat_cols[c].name, ns, ns * lat_cols[c].rate);
        if (js)
            fprintf(js, "%s{\"receiver\":\"%s\",\"ns_per_sample\":%.3f,\"ns_per_audio_second\":%.0f}",
                    first ? "" : ",", lat_cols[c].name, ns, ns * lat_cols[c].rate);
        first = 0;
    }
    if (js) {
        fprintf(js, "]}\n");
        fclose(js);
    }
    for (int k = 0; k < 3; k++)
        sig_free(&corpus[k]);
    sig_free(&s8);
    sig_free(&s16);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    printf("\ncallrec passes every plan test: %s\n", all_pass ? "yes" : "NO");
    return all_pass && ntt_pass ? 0 : 1;
}
