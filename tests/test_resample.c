/* The session's rate converters (dsp/resample.c), measured at every rate a device commonly
   runs at, both ways: exact length, alignment, gain at 0 Hz, passband ripple, what is left of
   the band the lower rate cannot carry (aliases going down, images going up), and the same
   output from every instruction set. Prints the table docs/benchmarks.md quotes. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters.h"
#include "harness.h"
#include "resample.h"

/* Converts all n samples of x plus the filter's lookahead (zeros): exactly
   round(n * out / in) samples, written to a new buffer. */
static int16_t *convert(const cr_rs_filter *f, const int16_t *x, size_t n, size_t *out_n)
{
    size_t want = cr_rs_length(f, n), taken = 0;
    int16_t *y = malloc(sizeof *y * (want + 1024));
    static cr_rs r;
    size_t got = cr_rs_convert_all(&r, f, x, n, y, &taken);
    CHECK(taken == n);
    *out_n = got;
    CHECK_MSG(got == want, "%d -> %d: %zu samples, want %zu", f->in_rate, f->out_rate, got, want);
    return y;
}

/* The sine at hz in y (rate), fitted by least squares over the middle of the signal: its
   amplitude, and the level of everything else (rest). */
static double amplitude_rest(const int16_t *y, size_t n, int rate, double hz, double *rest)
{
    double cc = 0, ss = 0, cs = 0, yc = 0, ys = 0;
    size_t from = n / 4, to = n - n / 4;
    /* cos and sin by rotation (cheap under the sanitizers), from an exact start */
    double w = 2 * M_PI * hz / rate, cw = cos(w), sw = sin(w);
    double c0 = cos(w * (double)from), s0 = sin(w * (double)from), c = c0, s = s0;
    for (size_t i = from; i < to; i++) {
        cc += c * c;
        ss += s * s;
        cs += c * s;
        yc += y[i] * c;
        ys += y[i] * s;
        double t = c * cw - s * sw;
        s = s * cw + c * sw;
        c = t;
    }
    double det = cc * ss - cs * cs, a = (yc * ss - ys * cs) / det, b = (ys * cc - yc * cs) / det;
    double e = 0;
    c = c0, s = s0;
    for (size_t i = from; i < to; i++) {
        double d = y[i] - a * c - b * s;
        e += d * d;
        double t = c * cw - s * sw;
        s = s * cw + c * sw;
        c = t;
    }
    if (rest)
        *rest = sqrt(e / (double)(to - from));
    return sqrt(a * a + b * b);
}

static double amplitude(const int16_t *y, size_t n, int rate, double hz)
{
    return amplitude_rest(y, n, rate, hz, NULL);
}

static double rms(const int16_t *y, size_t n)
{
    double e = 0;
    size_t from = n / 4, to = n - n / 4;
    for (size_t i = from; i < to; i++)
        e += (double)y[i] * y[i];
    return sqrt(e / (double)(to - from));
}

static int16_t *sine(int rate, double hz, double amp, size_t n)
{
    int16_t *x = malloc(sizeof *x * n);
    for (size_t i = 0; i < n; i++)
        x[i] = (int16_t)lrint(amp * sin(2 * M_PI * hz * (double)i / rate));
    return x;
}

typedef struct {
    double ripple_voice, ripple_band, rejection;
} quality;

/* One conversion, checked and measured. */
static quality check_pair(int in_rate, int out_rate)
{
    quality q = {0, 0, 0};
    const cr_rs_filter *f = cr_filter_acquire(in_rate, out_rate);
    CHECK(f != NULL);
    if (!f)
        return q;
    size_t n = (size_t)in_rate / 4, m = 0; /* 0.25 s */

    /* A constant in, the same constant out (each row sums to exactly 1.0). */
    int16_t *x = malloc(sizeof *x * n);
    for (size_t i = 0; i < n; i++)
        x[i] = 12345;
    int16_t *y = convert(f, x, n, &m);
    int flat = 1;
    for (size_t i = m / 4; i < m - m / 4; i++)
        flat &= y[i] == 12345;
    CHECK_MSG(flat, "%d -> %d: a constant changed", in_rate, out_rate);
    free(y);

    /* A click lands where its time falls at the new rate, within one sample. */
    memset(x, 0, sizeof *x * n);
    size_t at = n / 3;
    x[at] = 20000;
    y = convert(f, x, n, &m);
    size_t peak = 0;
    for (size_t i = 0; i < m; i++)
        if (abs(y[i]) > abs(y[peak]))
            peak = i;
    double want = (double)at * out_rate / in_rate;
    CHECK_MSG(fabs((double)peak - want) <= 1.0, "%d -> %d: click at %zu, want %.1f", in_rate,
              out_rate, peak, want);
    free(y);
    free(x);

    /* Passband: tones from 100 Hz to 3.4 kHz (the voice band) and on to 80 % of the lower
       rate's Nyquist frequency. */
    int lower = in_rate < out_rate ? in_rate : out_rate;
    double lo = 1e9, hi = -1e9, lo_v = 1e9, hi_v = -1e9;
    for (double hz = 100; hz <= 0.4 * lower; hz += 100) {
        x = sine(in_rate, hz, 16000, n);
        y = convert(f, x, n, &m);
        double db = 20 * log10(amplitude(y, m, out_rate, hz) / 16000);
        lo = fmin(lo, db);
        hi = fmax(hi, db);
        if (hz <= 3400) {
            lo_v = fmin(lo_v, db);
            hi_v = fmax(hi_v, db);
        }
        free(x);
        free(y);
    }
    q.ripple_voice = hi_v - lo_v;
    q.ripple_band = hi - lo;

    /* Rejection: going down, tones the lower rate cannot hold (from 0.56 of it up to the
       input's Nyquist frequency) must all but vanish; going up, a tone's images (everything
       but the tone itself) must. Reported as the worst level left, dB below the input. */
    double worst = -200;
    if (in_rate > out_rate) {
        for (double hz = 0.56 * out_rate; hz < 0.5 * in_rate; hz += 197) {
            x = sine(in_rate, hz, 16000, n);
            y = convert(f, x, n, &m);
            worst = fmax(worst, 20 * log10((rms(y, m) + 1e-9) / (16000 / sqrt(2))));
            free(x);
            free(y);
        }
    } else {
        for (double hz = 100; hz <= 0.4 * in_rate; hz += 197) {
            x = sine(in_rate, hz, 16000, n);
            y = convert(f, x, n, &m);
            double rest = 0;
            amplitude_rest(y, m, out_rate, hz, &rest);
            worst = fmax(worst, 20 * log10((rest + 1e-9) / (16000 / sqrt(2))));
            free(x);
            free(y);
        }
    }
    q.rejection = worst;
    cr_filter_release(f);
    return q;
}

/* The instruction sets give the same samples: integer products, summed exactly. */
static void check_same_everywhere(void)
{
    const cr_rs_filter *f = cr_filter_acquire(44100, 16000);
    if (!f->wide) {
        printf("resample: this machine has no AVX2; one instruction set checked\n");
        cr_filter_release(f);
        return;
    }
    size_t n = 44100, m1 = 0, m2 = 0;
    int16_t *x = malloc(sizeof *x * n);
    uint32_t seed = 2026;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (int16_t)(seed >> 16);
    }
    int16_t *a = convert(f, x, n, &m1);
    ((cr_rs_filter *)f)->wide = 0;
    int16_t *b = convert(f, x, n, &m2);
    ((cr_rs_filter *)f)->wide = 1;
    CHECK(m1 == m2 && memcmp(a, b, sizeof *a * m1) == 0);
    free(a);
    free(b);
    free(x);
    cr_filter_release(f);
}

int main(void)
{
    static const int rates[] = {8000, 11025, 22050, 32000, 44100, 48000};
    printf("%-16s %10s %10s %12s %6s\n", "conversion", "ripple 3k4", "ripple 80%", "rejection",
           "taps");
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        for (int dir = 0; dir < 2; dir++) {
            int in = dir ? 16000 : rates[i], out = dir ? rates[i] : 16000;
            quality q = check_pair(in, out);
            const cr_rs_filter *f = cr_filter_acquire(in, out);
            printf("%5d -> %5d   %8.3f dB %8.3f dB %9.1f dB %6d\n", in, out, q.ripple_voice,
                   q.ripple_band, q.rejection, f->taps);
            cr_filter_release(f);
            CHECK_MSG(q.ripple_voice <= 0.1, "%d -> %d: voice-band ripple %.3f dB", in, out,
                      q.ripple_voice);
            CHECK_MSG(q.ripple_band <= 0.1, "%d -> %d: ripple %.3f dB", in, out, q.ripple_band);
            CHECK_MSG(q.rejection <= -60, "%d -> %d: %.1f dB left outside the band", in, out,
                      q.rejection);
        }
    }
    /* An uncommon rate (more output phases than the table keeps): still exact in length,
       alignment and level. */
    quality q = check_pair(44101, 16000);
    printf("44101 ->  16000   %8.3f dB %8.3f dB %9.1f dB\n", q.ripple_voice, q.ripple_band,
           q.rejection);
    CHECK(q.ripple_band <= 0.1 && q.rejection <= -60);
    check_same_everywhere();
    return harness_finish("resample");
}
