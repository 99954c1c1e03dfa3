/* What the VAD's files share: the constants more than one of them reads, the vector helpers,
   and the functions each room offers the others. Not part of the engine's interface.
   The figures that placed each constant are in bench/results/vad-history.md. */
#ifndef CR_VAD_INTERNAL_H
#define CR_VAD_INTERNAL_H

#include <math.h>
#include <string.h>

#include "vad.h"

/* Nothing quieter is speech, whatever the floor: -55 dBFS is about -52 dBm0, far below a soft
   talker on a phone line (about -30 dBm0). */
#define ABSOLUTE_MIN_DB (-55.0)
/* Below this a frame holds no signal at all (digital silence between the bursts of a
   discontinuous stream, a gap in the media): nothing learns from it, so a noise floor is not
   dragged down by it and whatever comes next is not taken for speech (bench_vad's music, which
   has silent gaps, showed it). */
#define SILENT_DB (-80.0)

/* Endpointer timing, 10 ms frames. A short "yes" carries about 250 ms of voiced speech; a cough
   or a click rarely 150 ms. */
#define START_FRAMES 18    /* clear speech that declares "speech started" */
#define HANGOVER_FRAMES 30 /* silence that ends speech (reported at the true end) */

/* The end model's span around the endpointer's end (CR_VAD_END_SPAN frames): 300 ms back, where
   a causal decision may have held on too long, and 200 ms on, where it may have let go early;
   the newest END_REF_FRAMES, heard as silence, are its reference for the noise. bench_vad
   placed the span: 20 frames back did worse at 15 dB SNR, 40 no better. */
#define END_BACK_FRAMES 30
#define END_AHEAD_FRAMES 20
#define END_REF_FRAMES 10
#define END_WORD_FRAMES 10 /* the word's levels: the frames just before the endpointer's end */
#define END_PAST_FRAMES 4  /* frames before a frame that its inputs read */
_Static_assert(END_BACK_FRAMES + END_AHEAD_FRAMES == CR_VAD_END_SPAN, "the end model's span");
_Static_assert(END_BACK_FRAMES + HANGOVER_FRAMES + END_PAST_FRAMES < CR_VAD_HISTORY,
               "the history holds the span and the hangover after it");

/* Four lanes at once (GCC and clang vector extensions). */
typedef float v4f __attribute__((vector_size(16)));
typedef int v4i __attribute__((vector_size(16)));

static inline v4f load4(const float *p)
{
    v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void store4(float *p, v4f v) { memcpy(p, &v, sizeof v); }

/* Eight lanes: one AVX register where the function is built for it, two SSE ones elsewhere.
   Loads and stores go through an unaligned alias type rather than helper functions, whose
   eight-lane return value would depend on the target's ABI. */
typedef float v8f __attribute__((vector_size(32)));
typedef int v8si __attribute__((vector_size(32)));
typedef float v8f_at __attribute__((vector_size(32), aligned(4), may_alias));
#define LOAD8(p) (*(const v8f_at *)(p))
#define STORE8(p, v) (*(v8f_at *)(p) = (v))

static inline float clampf(double x, double lo, double hi)
{
    return (float)(x < lo ? lo : x > hi ? hi : x);
}

/* 10 log10(x) through the single-precision log2, several times cheaper than log10() and
   within 1e-5 dB. */
static inline double db10(double x) { return 3.0102999566398120 * (double)log2f((float)x); }

/* vad_fft.c: the window of a rate's frames, and a frame's power spectrum, bins
   0..CR_VAD_FFT / 2. */
void cr_vad_window(int rate_hz, const float **even, const float **odd);
void cr_vad_power_spectrum(const cr_vad *v, const int16_t *frame, float *power);

/* vad_features.c: what the rules and the models read. */
float cr_vad_band_sum(const float *power, int lo, int hi);
void cr_vad_track_held_peaks(cr_vad *v, const float *power, double db);
void cr_vad_start_features(const cr_vad *v, double snr_max, double fluct, int music,
                           double margin, float x[CR_VAD_START_FEATURES]);
void cr_vad_continuation_features(cr_vad *v, cr_vad_class c, float x[CR_VAD_FEATURES]);
void cr_vad_remember(cr_vad *v, cr_vad_class c);

/* vad_models.c: the start and word-continuation models' probabilities for their inputs (the
   end model is cr_vad_end()). */
float cr_vad_start_model(const float x[CR_VAD_START_FEATURES]);
void cr_vad_tanh8(float *u); /* tanh of u[0..7], in place */
float cr_vad_continuation_model(const float x[CR_VAD_FEATURES]);

#endif
