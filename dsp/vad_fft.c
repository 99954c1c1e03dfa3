/* The VAD's spectrum: a windowed 10 ms frame, zero-padded to CR_VAD_FFT points, through a
   real FFT computed as a complex one of half the length. Tables: vad_tables.h. */
#include "clones.h"
#include "vad_internal.h"
#include "vad_end_model.h"
#include "vad_tables.h"

void cr_vad_window(int rate_hz, const float **even, const float **odd)
{
    *even = rate_hz == 8000 ? vad_win8_even : vad_win16_even;
    *odd = rate_hz == 8000 ? vad_win8_odd : vad_win16_odd;
}

/* One stage's butterflies, `half` apart (twiddles vad_stage_*[half + k]), on the re and im in
   scope: lanes k.. of the group at i, as many as vector type V holds. */
#define BUTTERFLIES(V, LOAD, STORE, half, i, k)                                                 \
    do {                                                                                       \
        float *r0 = re + (i) + (k), *i0 = im + (i) + (k);                                      \
        float *r1 = r0 + (half), *i1 = i0 + (half);                                            \
        V w_r = LOAD(vad_stage_re + (half) + (k)), w_i = LOAD(vad_stage_im + (half) + (k));    \
        V ur = LOAD(r0), ui = LOAD(i0), yr = LOAD(r1), yi = LOAD(i1);                          \
        V xr = yr * w_r - yi * w_i, xi = yr * w_i + yi * w_r;                                  \
        STORE(r0, ur + xr);                                                                    \
        STORE(i0, ui + xi);                                                                    \
        STORE(r1, ur - xr);                                                                    \
        STORE(i1, ui - xi);                                                                    \
    } while (0)

/* Radix-2 FFT of CR_VAD_FFT / 2 complex points z (zr + j zi, natural order) into re, im.
   The first two stages (twiddles 1 and -j) run as one radix-4 pass that reads z in natural
   order: output group q (re[4q..4q+3]) combines z[m], z[m + n/2], z[m + n/4] and
   z[m + 3n/4] for m the bit reversal of 4q, so four consecutive m go through at once and each
   lane stores its group. The third stage goes four butterflies at a time and the rest eight,
   with each stage's twiddles contiguous. Every lane does the same arithmetic whatever the
   width, so the AVX build gives the same bits as the SSE one. */
static inline void fft_half(const float *zr, const float *zi, float *re, float *im)
{
    const int n = CR_VAD_FFT / 2, h = n / 2, q = n / 4;
    for (int m = 0; m < q; m += 4) {
        v4f ar = load4(zr + m) + load4(zr + m + h), ai = load4(zi + m) + load4(zi + m + h);
        v4f br = load4(zr + m) - load4(zr + m + h), bi = load4(zi + m) - load4(zi + m + h);
        v4f cr = load4(zr + m + q) + load4(zr + m + 3 * q);
        v4f ci = load4(zi + m + q) + load4(zi + m + 3 * q);
        v4f dr = load4(zr + m + q) - load4(zr + m + 3 * q);
        v4f di = load4(zi + m + q) - load4(zi + m + 3 * q);
        v4f o0r = ar + cr, o0i = ai + ci, o2r = ar - cr, o2i = ai - ci;
        v4f o1r = br + di, o1i = bi - dr, o3r = br - di, o3i = bi + dr; /* b -/+ j d */
        for (int l = 0; l < 4; l++) {
            float *r = re + vad_bitrev[m + l], *i = im + vad_bitrev[m + l];
            r[0] = o0r[l], r[1] = o1r[l], r[2] = o2r[l], r[3] = o3r[l];
            i[0] = o0i[l], i[1] = o1i[l], i[2] = o2i[l], i[3] = o3i[l];
        }
    }
    for (int i = 0; i < n; i += 8)
        BUTTERFLIES(v4f, load4, store4, 4, i, 0);
    for (int half = 8; half < n; half <<= 1)
        for (int i = 0; i < n; i += 2 * half)
            for (int k = 0; k < half; k += 8)
                BUTTERFLIES(v8f, LOAD8, STORE8, half, i, k);
}

/* Power spectrum, bins 0..CR_VAD_FFT/2, of a frame (v->frame samples, windowed and
   zero-padded to CR_VAD_FFT): the even and odd samples go in as one complex signal of half
   the length, and the two half-spectra are separated afterwards (the usual real-FFT
   packing), at half the cost of a full complex FFT. */
/* Built for AVX2 too (clones.h): the same bits. */
CR_CLONES("avx2") void cr_vad_power_spectrum(const cr_vad *v, const int16_t *frame, float *power)
{
    const int n = CR_VAD_FFT / 2;
    float in_re[CR_VAD_FFT / 2], in_im[CR_VAD_FFT / 2], re[CR_VAD_FFT / 2], im[CR_VAD_FFT / 2];
    int m = 0;
    for (; m < v->frame / 2; m++) {
        in_re[m] = (float)frame[2 * m] * v->win_even[m];
        in_im[m] = (float)frame[2 * m + 1] * v->win_odd[m];
    }
    for (; m < n; m++)
        in_re[m] = in_im[m] = 0.0f;
    fft_half(in_re, in_im, re, im);
    /* Bin k needs Z[k] and Z[n-k]: a reversed copy lets four bins go at once. */
    float rre[CR_VAD_FFT / 2], rim[CR_VAD_FFT / 2];
    rre[0] = re[0];
    rim[0] = im[0];
    for (int k = 1; k < n; k++) {
        rre[k] = re[n - k];
        rim[k] = im[n - k];
    }
    for (int k = 0; k < n; k += 8) {
        v8f zr = LOAD8(re + k), zi = LOAD8(im + k), cr = LOAD8(rre + k), ci = LOAD8(rim + k);
        /* E = (Z[k] + conj Z[n-k]) / 2, O = (Z[k] - conj Z[n-k]) / 2j, X = E + W^k O */
        v8f er = 0.5f * (zr + cr), ei = 0.5f * (zi - ci);
        v8f or_ = 0.5f * (zi + ci), oi = 0.5f * (cr - zr);
        v8f wr = LOAD8(vad_tw_re + k), wi = LOAD8(vad_tw_im + k);
        v8f xr = er + wr * or_ - wi * oi, xi = ei + wr * oi + wi * or_;
        STORE8(power + k, xr * xr + xi * xi);
    }
    power[n] = (re[0] - im[0]) * (re[0] - im[0]); /* Nyquist */
}
