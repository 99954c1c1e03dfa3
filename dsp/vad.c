#include "vad.h"

#include <math.h>
#include <string.h>

/* Decision on the mean over six bands of each band's SNR above its own noise floor (each band
   clamped to 0..30 dB). Speech concentrates its energy in a few bands at a time, where its
   local SNR is far above the broadband figure, while steady noise sits at 0 dB in every band.
   Start and continue thresholds give hysteresis. bench_vad placed them: 6 / 3.5 dB is the
   lowest pair with no false start in an hour of white, pink or brown noise or hum (the clamp at
   0 dB lifts pure noise's mean band SNR by about a decibel); higher pairs lose F1 at every SNR
   without shortening the end-of-speech error. */
#define START_SNR_DB 6.0
#define CONTINUE_SNR_DB 3.5
/* Nothing quieter than this is speech, whatever the floor: -55 dBFS is ~ -52 dBm0, far
   below a soft talker on a phone line (about -30 dBm0). */
#define ABSOLUTE_MIN_DB (-55.0)
/* Minimum statistics (after Martin): each band's floor is the smallest smoothed level over the
   last 3 s, raised by the bias of a minimum over a fluctuating level. */
#define BLOCK_FRAMES 50
#define SMOOTH 0.6
#define MIN_BIAS_DB 1.5
#define BAND_SNR_CAP_DB 30.0

/* Band edges, Hz: telephone speech's energy from 200 Hz to the top of a wideband call. */
static const double band_edges_hz[CR_VAD_BANDS + 1] = {200, 500, 1000, 1800, 3000, 4500, 8000};

/* Endpointer timing, in 10 ms frames. A short "yes" carries ~250 ms of voiced speech; a
   cough or click rarely 150 ms. */
#define START_FRAMES 18      /* speech needed to declare "speech started" */
#define MAYBE_GAP_FRAMES 12  /* silence that abandons a possible start */
#define HANGOVER_FRAMES 30   /* silence that ends speech (reported at the true end) */

int cr_vad_init(cr_vad *v, int rate_hz)
{
    if (rate_hz < 8000 || rate_hz > 48000 || rate_hz % 100 || rate_hz / 100 > CR_VAD_FFT)
        return -1;
    memset(v, 0, sizeof *v);
    v->rate = rate_hz;
    v->frame = rate_hz / 100;
    const double pi = 3.141592653589793;

    for (int i = 0; i < CR_VAD_FFT / 2; i++) {
        v->tw_re[i] = (float)cos(2.0 * pi * i / CR_VAD_FFT);
        v->tw_im[i] = (float)-sin(2.0 * pi * i / CR_VAD_FFT);
    }
    int bits = 0;
    while ((1 << bits) < CR_VAD_FFT / 2)
        bits++;
    for (int i = 0; i < CR_VAD_FFT / 2; i++) {
        int r = 0;
        for (int b = 0; b < bits; b++)
            r |= ((i >> b) & 1) << (bits - 1 - b);
        v->bitrev[i] = (unsigned short)r;
    }
    /* Hann window over the frame's own length. */
    for (int i = 0; i < v->frame; i++)
        v->window[i] = (float)(0.5 - 0.5 * cos(2.0 * pi * (i + 0.5) / v->frame));
    double bin_hz = (double)rate_hz / CR_VAD_FFT;
    for (int b = 0; b < CR_VAD_BANDS; b++) {
        double lo = band_edges_hz[b], hi = band_edges_hz[b + 1];
        if (hi > rate_hz / 2.0)
            hi = rate_hz / 2.0;
        v->band_lo[b] = (int)ceil(lo / bin_hz);
        v->band_hi[b] = (int)floor(hi / bin_hz);
        if (v->band_hi[b] < v->band_lo[b])
            v->band_hi[b] = v->band_lo[b] - 1; /* empty: above the Nyquist frequency */
        v->block_min_db[b] = 1e9;
        v->floor_db[b] = -200.0;
    }
    return 0;
}

/* In-place radix-2 FFT of CR_VAD_FFT / 2 complex points; twiddles at twice the stride of the
   full-size table. */
static void fft_half(const cr_vad *v, float *re, float *im)
{
    const int n = CR_VAD_FFT / 2;
    for (int i = 0; i < n; i++) {
        int j = v->bitrev[i];
        if (j > i) {
            float t = re[i];
            re[i] = re[j];
            re[j] = t;
            t = im[i];
            im[i] = im[j];
            im[j] = t;
        }
    }
    for (int len = 2; len <= n; len <<= 1) {
        int half = len / 2, step = CR_VAD_FFT / len;
        for (int i = 0; i < n; i += len) {
            for (int k = 0; k < half; k++) {
                float wr = v->tw_re[k * step], wi = v->tw_im[k * step];
                float xr = re[i + k + half] * wr - im[i + k + half] * wi;
                float xi = re[i + k + half] * wi + im[i + k + half] * wr;
                re[i + k + half] = re[i + k] - xr;
                im[i + k + half] = im[i + k] - xi;
                re[i + k] += xr;
                im[i + k] += xi;
            }
        }
    }
}

/* Power spectrum, bins 0..CR_VAD_FFT/2, of CR_VAD_FFT real samples x: the even and odd samples
   go in as one complex signal of half the length, and the two half-spectra are separated
   afterwards (the usual real-FFT packing), at half the cost of a full complex FFT. */
static void power_spectrum(const cr_vad *v, const float *x, float *power)
{
    const int n = CR_VAD_FFT / 2;
    float re[CR_VAD_FFT / 2], im[CR_VAD_FFT / 2];
    for (int i = 0; i < n; i++) {
        re[i] = x[2 * i];
        im[i] = x[2 * i + 1];
    }
    fft_half(v, re, im);
    for (int k = 0; k <= n; k++) {
        int a = k % n, b = (n - k) % n;
        /* E = (Z[k] + conj Z[n-k]) / 2, O = (Z[k] - conj Z[n-k]) / 2j, X = E + W^k O */
        float er = 0.5f * (re[a] + re[b]), ei = 0.5f * (im[a] - im[b]);
        float or_ = 0.5f * (im[a] + im[b]), oi = -0.5f * (re[a] - re[b]);
        float wr = k < n ? v->tw_re[k] : -1.0f, wi = k < n ? v->tw_im[k] : 0.0f;
        float xr = er + wr * or_ - wi * oi, xi = ei + wr * oi + wi * or_;
        power[k] = xr * xr + xi * xi;
    }
}

cr_vad_class cr_vad_frame(cr_vad *v, const int16_t *frame, int tone)
{
    float windowed[CR_VAD_FFT], power[CR_VAD_FFT / 2 + 1];
    for (int i = 0; i < v->frame; i++)
        windowed[i] = (float)frame[i] * v->window[i];
    for (int i = v->frame; i < CR_VAD_FFT; i++)
        windowed[i] = 0.0f;
    power_spectrum(v, windowed, power);
    /* The level above 200 Hz (the bands' span; DC, rumble and the mains fundamental do not
       count), in dBFS: Parseval over the windowed frame, the Hann window's mean square 3/8. */
    double above = 0.0;
    for (int k = v->band_lo[0]; k <= CR_VAD_FFT / 2; k++)
        above += power[k];
    double db = 10.0 * log10(2.0 * above / CR_VAD_FFT / (0.375 * v->frame) /
                                 (32768.0 * 32768.0) + 1e-12);
    v->level_db = db;

    int first = v->frames_seen == 0, block_done = ++v->block_frames == BLOCK_FRAMES;
    double snr_sum = 0.0;
    int bands = 0;
    for (int b = 0; b < CR_VAD_BANDS; b++) {
        if (v->band_hi[b] < v->band_lo[b])
            continue;
        double e = 1e-3;
        for (int k = v->band_lo[b]; k <= v->band_hi[b]; k++)
            e += power[k];
        double bdb = 10.0 * log10(e / (v->band_hi[b] - v->band_lo[b] + 1));
        v->smooth_db[b] = first ? bdb : SMOOTH * v->smooth_db[b] + (1.0 - SMOOTH) * bdb;
        if (v->smooth_db[b] < v->block_min_db[b])
            v->block_min_db[b] = v->smooth_db[b];
        double m = v->block_min_db[b];
        for (int i = 0; i < v->n_mins; i++)
            if (v->mins_db[i][b] < m)
                m = v->mins_db[i][b];
        v->floor_db[b] = m + MIN_BIAS_DB;
        if (block_done) {
            v->mins_db[v->mins_pos][b] = v->block_min_db[b];
            v->block_min_db[b] = 1e9;
        }
        double snr = bdb - v->floor_db[b];
        snr_sum += snr < 0.0 ? 0.0 : (snr > BAND_SNR_CAP_DB ? BAND_SNR_CAP_DB : snr);
        bands++;
    }
    if (block_done) {
        v->mins_pos = (v->mins_pos + 1) % CR_VAD_MIN_BLOCKS;
        if (v->n_mins < CR_VAD_MIN_BLOCKS)
            v->n_mins++;
        v->block_frames = 0;
    }
    v->frames_seen++;
    v->snr_db = bands ? snr_sum / bands : 0.0;

    if (tone || db < ABSOLUTE_MIN_DB)
        return CR_VAD_SILENCE;
    if (v->snr_db > START_SNR_DB)
        return CR_VAD_SPEECH;
    if (v->snr_db > CONTINUE_SNR_DB)
        return CR_VAD_WEAK;
    return CR_VAD_SILENCE;
}

void cr_endpoint_init(cr_endpoint *e, int frame_samples)
{
    memset(e, 0, sizeof *e);
    e->frame = frame_samples;
}

cr_endpoint_event cr_endpoint_frame(cr_endpoint *e, cr_vad_class c, int64_t *t)
{
    int64_t start = e->pos;
    e->pos += e->frame;
    switch (e->state) {
    case 0:
        if (c == CR_VAD_SPEECH) {
            e->state = 1;
            e->acc = 1;
            e->gap = 0;
            e->onset = start;
            e->last_speech_end = e->last_active_end = e->pos;
        }
        return CR_EP_NONE;
    case 1:
        if (c != CR_VAD_SILENCE) {
            e->acc++;
            e->gap = 0;
            e->last_active_end = e->pos;
            if (c == CR_VAD_SPEECH)
                e->last_speech_end = e->pos;
            if (e->acc >= START_FRAMES) {
                e->state = 2;
                *t = e->onset;
                return CR_EP_STARTED;
            }
        } else if (++e->gap >= MAYBE_GAP_FRAMES) {
            e->state = 0;
        }
        return CR_EP_NONE;
    default:
        /* Weak frames keep speech going; the end reported is the last clear speech. */
        if (c == CR_VAD_SPEECH)
            e->last_speech_end = e->pos;
        if (c != CR_VAD_SILENCE) {
            e->last_active_end = e->pos;
        } else if (e->pos - e->last_active_end >= (int64_t)HANGOVER_FRAMES * e->frame) {
            e->state = 0;
            *t = e->last_speech_end;
            return CR_EP_STOPPED;
        }
        return CR_EP_NONE;
    }
}
