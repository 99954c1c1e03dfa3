#include "resample.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2_DISPATCH 1 /* chosen when the filter is designed, by the CPU it runs on */
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

#define KAISER_BETA 7.0 /* about 70 dB of stopband (Kaiser's formula), near Q14's own floor */
#define Q 14

static int gcd(int a, int b)
{
    while (b) {
        int t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* The transition band, as fractions of the lower rate's Nyquist frequency. */
static double stop_edge(int in_rate, int out_rate)
{
    return in_rate > out_rate ? CR_RS_STOP_DOWN : CR_RS_STOP_UP;
}

/* Half the taps: Kaiser's length for the transition at the stopband his beta gives,
   (A - 7.95) / (2.285 * 2 pi * width) with A ~ 70 dB, counted in input samples and rounded up
   so a row is a whole number of 8-sample vectors. */
static int half_taps(int in_rate, int out_rate)
{
    double lower = in_rate < out_rate ? in_rate : out_rate;
    double width = (stop_edge(in_rate, out_rate) - CR_RS_PASS) * 0.5 * lower / in_rate;
    double attenuation = KAISER_BETA / 0.1102 + 8.7; /* Kaiser's beta, inverted */
    int h = (int)ceil((attenuation - 7.95) / (2.285 * 2.0 * M_PI * width) / 2.0);
    h = (h + 3) / 4 * 4;
    return h > CR_RS_MAX_TAPS / 2 ? CR_RS_MAX_TAPS / 2 : h;
}

static int phase_rows(int in_rate, int out_rate)
{
    int up = out_rate / gcd(in_rate, out_rate);
    return up > CR_RS_MAX_PHASES ? CR_RS_MAX_PHASES : up;
}

size_t cr_rs_filter_bytes(int in_rate, int out_rate)
{
    return (size_t)phase_rows(in_rate, out_rate) * (size_t)(2 * half_taps(in_rate, out_rate)) *
           sizeof(int16_t);
}

/* The zeroth-order modified Bessel function, by its series (converges fast for x <= 20). */
static double bessel_i0(double x)
{
    double sum = 1.0, term = 1.0;
    for (int k = 1; k < 64 && term > 1e-12 * sum; k++) {
        term *= (x / (2.0 * k)) * (x / (2.0 * k));
        sum += term;
    }
    return sum;
}

void cr_rs_filter_design(cr_rs_filter *f, int in_rate, int out_rate, int16_t *storage)
{
    int g = gcd(in_rate, out_rate), h = half_taps(in_rate, out_rate);
    f->in_rate = in_rate;
    f->out_rate = out_rate;
    f->up = out_rate / g;
    f->down = in_rate / g;
    f->phases = phase_rows(in_rate, out_rate);
    f->taps = 2 * h;
    f->coef = storage;
#if defined(HAVE_AVX2_DISPATCH)
    f->wide = __builtin_cpu_supports("avx2");
#else
    f->wide = 0;
#endif
    double lower = in_rate < out_rate ? in_rate : out_rate;
    /* twice the cutoff (the middle of the transition), in cycles per input sample */
    double band = 0.5 * (CR_RS_PASS + stop_edge(in_rate, out_rate)) * lower / in_rate;
    double norm = 1.0 / bessel_i0(KAISER_BETA);
    for (int p = 0; p < f->phases; p++) {
        /* Row p serves outputs falling p/phases of a sample after the input at tap h-1. */
        double frac = (double)p / f->phases, row[CR_RS_MAX_TAPS], sum = 0.0;
        for (int i = 0; i < f->taps; i++) {
            double t = i - (h - 1) - frac, u = t / h;
            double x = M_PI * band * t;
            double sinc = fabs(x) < 1e-12 ? 1.0 : sin(x) / x;
            double w = fabs(u) >= 1.0 ? 0.0 : bessel_i0(KAISER_BETA * sqrt(1.0 - u * u)) * norm;
            row[i] = band * sinc * w;
            sum += row[i];
        }
        /* Quantise with the row's gain at 0 Hz made exactly 1: the rounding error goes to
           the largest tap, so a constant comes out unchanged at every phase. */
        int16_t *c = storage + (size_t)p * (size_t)f->taps;
        int32_t total = 0;
        int peak = 0;
        for (int i = 0; i < f->taps; i++) {
            c[i] = (int16_t)lrint(row[i] / sum * (1 << Q));
            total += c[i];
            if (c[i] > c[peak])
                peak = i;
        }
        c[peak] = (int16_t)(c[peak] + ((1 << Q) - total));
    }
}

void cr_rs_init(cr_rs *r, const cr_rs_filter *f)
{
    memset(r, 0, sizeof *r);
    r->f = f;
    /* Zeros stand for the input before the first sample, so output 0 is centred on input 0. */
    r->fill = f->taps / 2 - 1;
}

/* Output k+1 is `step` input samples and `carry`/up of a sample after output k. */
#define ADVANCE()                                                                              \
    do {                                                                                       \
        pos += step;                                                                           \
        phase += carry;                                                                        \
        if (phase >= up) {                                                                     \
            phase -= up;                                                                       \
            pos++;                                                                             \
        }                                                                                      \
    } while (0)
#define ROW(ph) (f->coef + (size_t)(f->phases == up ? (ph) : (int)((int64_t)(ph)*f->phases / up)) * (size_t)taps)

#if defined(__SSE2__)
/* The products of n taps (a multiple of 8) summed in 32 bits into four lanes, eight (SSE2)
   or sixteen (AVX2) per instruction; sum4 then finishes four outputs at once. */
static inline __m128i acc_sse2(const int16_t *c, const int16_t *x, int n)
{
    __m128i acc = _mm_setzero_si128();
    for (int i = 0; i < n; i += 8)
        acc = _mm_add_epi32(acc, _mm_madd_epi16(_mm_loadu_si128((const __m128i *)(c + i)),
                                                _mm_loadu_si128((const __m128i *)(x + i))));
    return acc;
}


#if defined(HAVE_AVX2_DISPATCH)
__attribute__((target("avx2"), always_inline)) static inline __m128i
acc_avx2(const int16_t *c, const int16_t *x, int n)
{
    __m256i acc = _mm256_setzero_si256();
    int i = 0;
    for (; i + 16 <= n; i += 16)
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(c + i)),
                                                      _mm256_loadu_si256((const __m256i *)(x + i))));
    __m128i a = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    if (i < n) /* rows are a multiple of 8 taps: at most one half vector left */
        a = _mm_add_epi32(a, _mm_madd_epi16(_mm_loadu_si128((const __m128i *)(c + i)),
                                            _mm_loadu_si128((const __m128i *)(x + i))));
    return a;
}
#endif

/* [sum of a, sum of b, sum of c, sum of d], rounded from Q14 and saturated to 16 bits. */
static inline __m128i finish4(__m128i a, __m128i b, __m128i c, __m128i d)
{
    __m128i ab = _mm_add_epi32(_mm_unpacklo_epi32(a, b), _mm_unpackhi_epi32(a, b));
    __m128i cd = _mm_add_epi32(_mm_unpacklo_epi32(c, d), _mm_unpackhi_epi32(c, d));
    __m128i v = _mm_add_epi32(_mm_unpacklo_epi64(ab, cd), _mm_unpackhi_epi64(ab, cd));
    v = _mm_srai_epi32(_mm_add_epi32(v, _mm_set1_epi32(1 << (Q - 1))), Q);
    return _mm_packs_epi32(v, v);
}

/* Writes outputs while the history holds their taps and `out` has room, four at a time while
   it can; returns how many. One body, compiled once per instruction set. */
#define PRODUCE_BODY(ACC, TAPS)                                                                \
    const cr_rs_filter *f = r->f;                                                              \
    const int taps = (TAPS), up = f->up, step = f->down / f->up, carry = f->down % f->up;     \
    const int16_t *h = r->hist;                                                                \
    int pos = r->pos, phase = r->phase;                                                        \
    size_t made = 0;                                                                           \
    while (made + 4 <= room) {                                                                 \
        int p0 = pos, q0 = phase;                                                              \
        ADVANCE();                                                                             \
        int p1 = pos, q1 = phase;                                                              \
        ADVANCE();                                                                             \
        int p2 = pos, q2 = phase;                                                              \
        ADVANCE();                                                                             \
        int p3 = pos, q3 = phase;                                                              \
        ADVANCE();                                                                             \
        if (p3 + taps > r->fill) {                                                             \
            pos = p0;                                                                          \
            phase = q0;                                                                        \
            break;                                                                             \
        }                                                                                      \
        __m128i v = finish4(ACC(ROW(q0), h + p0, taps), ACC(ROW(q1), h + p1, taps),            \
                            ACC(ROW(q2), h + p2, taps), ACC(ROW(q3), h + p3, taps));           \
        _mm_storel_epi64((__m128i *)(out + made), v);                                          \
        made += 4;                                                                             \
    }                                                                                          \
    while (pos + taps <= r->fill && made < room) {                                             \
        __m128i z = _mm_setzero_si128();                                                       \
        out[made++] = (int16_t)_mm_extract_epi16(finish4(ACC(ROW(phase), h + pos, taps), z, z, z), 0); \
        ADVANCE();                                                                             \
    }                                                                                          \
    r->pos = pos;                                                                              \
    r->phase = phase;                                                                          \
    return made;

/* The row lengths the session's rates use get their own copy, the dot product unrolled: its
   loop counter would cost as much as its arithmetic. */
#define PRODUCE_BY_TAPS(ACC)                                                                   \
    switch (r->f->taps) {                                                                      \
    case 24: { PRODUCE_BODY(ACC, 24) }                                                         \
    case 40: { PRODUCE_BODY(ACC, 40) }                                                         \
    case 48: { PRODUCE_BODY(ACC, 48) }                                                         \
    case 56: { PRODUCE_BODY(ACC, 56) }                                                         \
    case 80: { PRODUCE_BODY(ACC, 80) }                                                         \
    case 88: { PRODUCE_BODY(ACC, 88) }                                                         \
    default: { PRODUCE_BODY(ACC, r->f->taps) }                                                 \
    }

static size_t produce(cr_rs *r, int16_t *out, size_t room) { PRODUCE_BY_TAPS(acc_sse2) }

#if defined(HAVE_AVX2_DISPATCH)
__attribute__((target("avx2"))) static size_t produce_avx2(cr_rs *r, int16_t *out, size_t room)
{
    PRODUCE_BY_TAPS(acc_avx2)
}
#endif

#else /* no SSE2: one product at a time */
static size_t produce(cr_rs *r, int16_t *out, size_t room)
{
    const cr_rs_filter *f = r->f;
    const int taps = f->taps, up = f->up, step = f->down / f->up, carry = f->down % f->up;
    int pos = r->pos, phase = r->phase;
    size_t made = 0;
    while (pos + taps <= r->fill && made < room) {
        const int16_t *c = ROW(phase), *x = r->hist + pos;
        int32_t acc = 0;
        for (int i = 0; i < taps; i++)
            acc += (int32_t)c[i] * x[i];
        acc = (acc + (1 << (Q - 1))) >> Q;
        out[made++] = (int16_t)(acc > INT16_MAX ? INT16_MAX : acc < INT16_MIN ? INT16_MIN : acc);
        ADVANCE();
    }
    r->pos = pos;
    r->phase = phase;
    return made;
}
#endif

void cr_rs_process(cr_rs *r, const int16_t *in, size_t *in_len, int16_t *out, size_t *out_len)
{
    const int capacity = (int)(sizeof r->hist / sizeof r->hist[0]);
    size_t taken = 0, made = 0;
    for (;;) {
        size_t room = (size_t)(capacity - r->fill), want = *in_len - taken;
        size_t n = want < room ? want : room;
        memcpy(r->hist + r->fill, in + taken, n * sizeof *in);
        r->fill += (int)n;
        taken += n;
#if defined(HAVE_AVX2_DISPATCH)
        if (r->f->wide)
            made += produce_avx2(r, out + made, *out_len - made);
        else
#endif
            made += produce(r, out + made, *out_len - made);
        /* Keep only the history the next output still reads. */
        int keep = r->fill - r->pos;
        if (keep > 0)
            memmove(r->hist, r->hist + r->pos, (size_t)keep * sizeof *r->hist);
        r->fill = keep > 0 ? keep : 0;
        r->pos = keep > 0 ? 0 : -keep; /* after a large step the next output starts further on */
        if (taken == *in_len || made == *out_len)
            break;
    }
    *in_len = taken;
    *out_len = made;
}

size_t cr_rs_length(const cr_rs_filter *f, size_t n)
{
    return (size_t)(((int64_t)n * f->out_rate + f->in_rate / 2) / f->in_rate);
}

size_t cr_rs_convert_all(cr_rs *r, const cr_rs_filter *f, const int16_t *x, size_t n,
                         int16_t *y, size_t *taken)
{
    static const int16_t zeros[256];
    size_t want = cr_rs_length(f, n), got = want;
    cr_rs_init(r, f);
    *taken = n;
    cr_rs_process(r, x, taken, y, &got);
    /* The lookahead is at most CR_RS_MAX_TAPS / 2 input samples: one pass of zeros, or two. */
    for (int rounds = 0; got < want && rounds < 4; rounds++) {
        size_t zl = sizeof zeros / sizeof zeros[0], ol = want - got;
        cr_rs_process(r, zeros, &zl, y + got, &ol);
        got += ol;
    }
    return got;
}
