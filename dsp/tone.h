/* Tone generation: the beep, and DTMF keys for tests and benchmarks. */
#ifndef CR_TONE_H
#define CR_TONE_H

#include <stddef.h>
#include <stdint.h>

/* Peak amplitude of a 0 dBm0 sine in 16-bit linear PCM (G.711: +3.14 dBm0 is full scale). */
#define CR_DBM0_REF_AMPLITUDE 22702.0

/* Peak amplitude of a sine at `dbm0`. */
double cr_dbm0_to_amplitude(double dbm0);

/* The row (low) and column (high) frequencies of a DTMF key. Returns 0, or -1 if `key` is
   not one of 0-9 * # A-D (case-sensitive). */
int cr_dtmf_key_freqs(char key, double *low_hz, double *high_hz);

/* Two summed sines with raised-cosine ramps at both ends. Each sine is a two-term recurrence
   (y[n] = 2 cos(w) y[n-1] - y[n-2]): no trigonometry per sample. */
typedef struct cr_tone {
    double y1[2], y2[2], coef[2]; /* y[n-1], y[n-2] and 2 cos(w), amplitude included */
    double ramp_step;
    size_t length, ramp, pos;
} cr_tone;

/* Prepares `length` samples of f1 at amp1 plus f2 at amp2 (amp 0 for a single tone), with
   `ramp` samples of fade-in and fade-out. */
void cr_tone_init(cr_tone *t, int rate_hz, double f1_hz, double amp1, double f2_hz, double amp2,
                  size_t length, size_t ramp);

/* Writes up to n samples; returns how many were written (0 when the tone is done). */
size_t cr_tone_fill(cr_tone *t, int16_t *out, size_t n);

#endif
