/* Rational-ratio sample-rate conversion of 16-bit mono audio: a polyphase FIR, one row of
   Q14 coefficients per output phase, every output an integer dot product (AVX2 or SSE2
   pmaddwd where the machine has them). The output is aligned with the input: output sample k is the
   input signal at time k * in_rate / out_rate, so n input samples give exactly
   round(n * out_rate / in_rate) outputs once the filter's lookahead is flushed with zeros.

   The filter is a Kaiser-windowed sinc designed per ratio from what the conversion must keep
   and what it must remove, both as fractions of the lower rate's Nyquist frequency: flat to
   CR_RS_PASS of it; going down, nothing from CR_RS_STOP_DOWN of it on (those tones would fold
   back below 2 - CR_RS_STOP_DOWN of it); going up, no image of a passband tone (images fall
   at CR_RS_STOP_UP of it and above). The length is Kaiser's for that transition at ~70 dB.
   Its measured passband ripple and aliasing are in docs/benchmarks.md (test_resample). */
#ifndef CR_RESAMPLE_H
#define CR_RESAMPLE_H

#include <stddef.h>
#include <stdint.h>

#define CR_RS_PASS 0.8
#define CR_RS_STOP_DOWN 1.12
#define CR_RS_STOP_UP (2.0 - CR_RS_PASS)
/* Ratios needing more output phases than this (uncommon rates such as 44,101 Hz) use the
   nearest of this many rows: a timing error under 1/2048 of an input sample. */
#define CR_RS_MAX_PHASES 1024

/* The coefficients of one conversion; read-only once designed, so any number of converters
   (on any threads) may share one. */
typedef struct cr_rs_filter {
    int in_rate, out_rate;
    int up, down;     /* the reduced ratio: `up` outputs for every `down` inputs */
    int phases, taps; /* rows, and coefficients per row (a multiple of 8) */
    int wide;         /* the machine has AVX2: sixteen products per instruction, not eight */
    int16_t *coef;    /* phases * taps, Q14; each row sums to exactly 1.0 */
} cr_rs_filter;

/* Bytes of coefficient storage the conversion in_rate -> out_rate needs. */
size_t cr_rs_filter_bytes(int in_rate, int out_rate);

/* Designs the filter into `storage` (cr_rs_filter_bytes of it, 16-byte aligned). */
void cr_rs_filter_design(cr_rs_filter *f, int in_rate, int out_rate, int16_t *storage);

/* One stream's converter: the input history and where the next output falls in it. */
#define CR_RS_MAX_TAPS 128
#define CR_RS_BLOCK 512 /* input taken per pass; larger inputs are taken in passes */
typedef struct cr_rs {
    const cr_rs_filter *f;
    int16_t hist[CR_RS_MAX_TAPS + CR_RS_BLOCK];
    int fill;  /* samples in hist */
    int pos;   /* hist index of the next output's first tap */
    int phase; /* the next output's position between input samples, in 1/up steps */
} cr_rs;

/* Starts a converter on `f` (which must outlive it), aligned with the first input sample. */
void cr_rs_init(cr_rs *r, const cr_rs_filter *f);

/* Converts up to *in_len samples of `in` into at most *out_len samples of `out`; on return
   they hold how many were taken and written. Input stops being taken when `out` is full. */
void cr_rs_process(cr_rs *r, const int16_t *in, size_t *in_len, int16_t *out, size_t *out_len);

/* The length n input samples convert to: round(n * out_rate / in_rate). */
size_t cr_rs_length(const cr_rs_filter *f, size_t n);

/* A whole signal: starts r on f, converts all n samples of x and pushes the filter's
   lookahead out with zeros, into y (room for cr_rs_length(f, n) samples). Returns how many
   were written, which is that length unless the converter is wrong; *taken, the input it took
   (all n unless it is wrong). For files and tests; a stream uses cr_rs_process. */
size_t cr_rs_convert_all(cr_rs *r, const cr_rs_filter *f, const int16_t *x, size_t n,
                         int16_t *y, size_t *taken);

#endif
