#include "vad.h"
#include "vad_model.h"
#include "vad_end_model.h"
#include "vad_start_model.h"

#include <math.h>
#include <string.h>
#include <pthread.h>

/* Decision on the mean over six bands of each band's SNR above its own noise reference (each
   band clamped to 0..30 dB). Speech concentrates its energy in a few bands at a time, where its
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
/* Below this a frame holds no signal at all: digital silence between the bursts of a
   discontinuous stream or in a gap of the media. Learning a noise floor from it made whatever
   came next speech until the floor had climbed back, for seconds: in bench_vad, where the music
   has silent gaps, freezing the estimates over such frames removed the last false starts in the
   mixes (20 and 10 dB: one each), took those in an hour of the music alone from 29 to 9 and the
   end p95 at 10 dB from 400 to 370 ms. */
#define SILENT_DB (-80.0)
/* Minimum statistics (after Martin): each band's floor is the smallest smoothed level over the
   last 3 s, raised by the bias of a minimum over a fluctuating level. */
#define BLOCK_FRAMES 50
#define SMOOTH 0.6
#define MIN_BIAS_DB 1.5
#define BAND_SNR_CAP_DB 30.0
/* The minimum is the right reference for steady noise, but babble and music sit 5-20 dB above
   their own minima most of the time, and against the minimum they are speech. So each band
   also follows the noise's typical level: a tracker that steps towards the band's level by
   NOISE_STEP_DB a frame, upwards only slowly (NOISE_SLOW_STEP_DB) while the frame looks like
   speech, settles near the median of the noise between the words. In steady noise that level
   sits above the minimum by a gap that depends only on how many FFT bins the band averages:
   about STEADY_GAP_K / sqrt(bins) + STEADY_GAP_C dB (fitted on white noise in bench_vad: 3.8 dB
   for 5 bins, 0.1 dB for 57). Where it sits more than FLUCT_MARGIN_DB beyond that gap, the
   noise fluctuates and its typical level is the band's reference; a start then needs
   FLUCT_START_GAIN dB more SNR for each decibel of the widest such excess, up to
   FLUCT_CAP_DB of it (after music falls silent the floor drops to the silence and the excess
   can reach 70 dB for a while). The margin was placed with bench_vad (1.5 dB lost F1 at 5 dB
   SNR, 2.5 dB at 20 dB). */
#define NOISE_STEP_DB 0.1
#define NOISE_SLOW_STEP_DB 0.01
#define STEADY_GAP_K 11.7
#define STEADY_GAP_C (-1.43)
#define FLUCT_MARGIN_DB 1.75
#define FLUCT_START_GAIN 0.5
#define FLUCT_CAP_DB 10.0
/* Hangover: after a burst of BURST_FRAMES frames that began with clear speech, TRAIL_FRAMES
   more frames are TRAIL (speech, but no evidence of it), for the ends of words that sink into
   the noise. A click, a frame long, makes no trail. In bench_vad a 100 ms trail lifted F1 at
   10 dB SNR from 0.841 to 0.916 in white noise and from 0.816 to 0.906 in pink. */
#define BURST_FRAMES 2
#define TRAIL_FRAMES 13
/* Within the trail, a frame with any band this far above its reference still carries the word
   (see cr_vad_frame). In bench_vad it moved the median end in white noise at 10 dB SNR from
   130 to 70 ms early (at 6 dB, with a 100 ms trail after 30 ms bursts). The three were then
   placed together: a 130 ms trail after 20 ms of clear speech, and 4 dB here, took the
   end-of-speech p95 at 20 / 15 / 10 dB SNR from 180 / 230 / 370 to 160 / 230 / 310 ms (corpus
   seed 2027: 170 / 220 / 380 to 150 / 210 / 310 ms) with no false start in any mix on either
   seed, at a cost of 10 ms at 30 dB (140 to 150), F1 at most 0.002 lower and false starts in an
   hour of music 9 to 13. */
#define TAIL_BAND_SNR_DB 4.0
/* Music against speech: a held note keeps its spectral peaks in the same FFT bins for hundreds
   of milliseconds, while speech's harmonics glide with its pitch and its formants move. So each
   frame's peaks (local maxima within 30 dB of the highest, from bin PEAK_LO_BIN over 64 bins:
   312 Hz to 4.3 kHz at 16 kHz) are compared with those of CR_VAD_PEAK_LAG frames before, and the
   share that held is smoothed over about ten frames. On bench_vad's audio that share stays
   below 0.4 in 98 % of the clean speech frames and exceeds it in half of the music frames and
   70 % of the chords. Where it is above HELD_MUSIC the noise's typical level follows the frame
   at the full step even when the frame looks like speech, so a louder passage of music becomes
   the reference within a second or two instead of keeping speech going, and both thresholds
   sit HELD_MARGIN_DB higher. The start's margin (and the music exception of the trail) holds
   for MUSIC_HOLD_FRAMES after the share falls: when the next chord comes its peaks are new, the
   share dips for a few frames, and the change itself looks like an onset. The continue
   threshold follows the share itself, so speech over music, which lowers it, keeps going. In
   bench_vad, step by step: the utterance ends missed over music at 20 dB went from 18 to 9 of
   36, the false starts an hour in synthetic chords from 455 to 133 (the reference), 41 (the
   start margin) and 9 (the hold), in fluidsynth music from 76 to 29; the end-of-speech p95 at
   15 and 10 dB from 340 / 500 ms to 220 / 400 ms with the continue margin; mean F1 up at 20 to
   10 dB, but over loud music (5 dB SNR) down from 0.746 to 0.611, and onsets clipped by more
   than 50 ms at 20 dB up from 21 to 26 of 288. (A caller who sings a held note is music too.) */
#define PEAK_LO_BIN 5
#define PEAK_REL 1e-3f
#define HELD_SMOOTH 0.1
#define HELD_MUSIC 0.4
#define HELD_MARGIN_DB 4.0
#define MUSIC_HOLD_FRAMES 50

/* The margins above keep music and babble from starting speech, and with it they keep many a
   caller who answers over them from starting it: in bench_vad at 10 dB SNR only 14 of 36 answers
   over music and 16 of 36 over babble started. So a frame the margins alone hold back (its mean
   band SNR above the start threshold without them) is put to a small model (start_features
   lists its CR_VAD_START_FEATURES inputs; VAD_START_HIDDEN tanh units, its weights in
   vad_start_model.h, trained by `bench_vad --train-start dsp/vad_start_model.h` on the
   continuation model's corpus, on exactly those frames with the rules alone deciding), and is
   clear speech where the model is at least START_MODEL_P sure. In bench_vad (corpus seed 2026)
   it took the answers started over music at 20 / 15 / 10 / 5 dB from 27 / 19 / 14 / 9 to 31 /
   24 / 23 / 14 of 36, over babble at 10 / 5 dB from 16 / 10 to 24 / 21, F1 over music at 15 /
   10 dB from 0.829 / 0.770 to 0.854 / 0.814 (WebRTC's best 0.843 / 0.799), with still no false
   start in any mix and as many in an hour of music (13) and of chords (9) alone. At 0.9 four
   more answers over music started (at 10 and 5 dB), and three false starts in the mixes with
   them. */
#define START_MODEL_P 0.95
#define START_MODEL_MIN_MARGIN_DB 0.5 /* less is steady noise's own wobble of the reference */

/* Band edges, Hz: telephone speech's energy from 200 Hz to the top of a wideband call. */
static const double band_edges_hz[CR_VAD_BANDS + 1] = {200, 500, 1000, 1800, 3000, 4500, 8000};

/* Endpointer timing, in 10 ms frames. A short "yes" carries ~250 ms of voiced speech; a
   cough or click rarely 150 ms. */
#define START_FRAMES 18      /* speech needed to declare "speech started" */
#define MAYBE_GAP_FRAMES 12  /* silence that abandons a possible start */
#define HANGOVER_FRAMES 30   /* silence that ends speech (reported at the true end) */
#define RESUME_FRAMES 2      /* speech after a gap that moves the end (a click makes one) */
/* A dropout this short inside a word's decaying end does not end the word: the weak frames
   after it still move the end. A stop's closure, or a tail flickering at the threshold, is
   10-30 ms; a pause between words is longer. In bench_vad the end-of-speech p95 at 30 / 10 dB
   went from 150 / 310 to 130 / 320 ms, over the phone line at 10 / 5 dB from 310 / 720 to
   270 / 650 ms (corpus seed 2027: 140 / 310 to 130 / 260 ms wideband, 400 to 320 ms at 10 dB
   over the phone line; seeds 2028 and 2029, at 20 / 10 dB: 170 / 400 to 180 / 390 and 200 / 350
   to 200 / 320 ms, over the phone line at 10 dB 390 to 340 and 400 to 340 ms), with frame
   decisions, starts and false starts unchanged. A click this close after the end moves it by
   at most 40 ms. */
#define DROPOUT_FRAMES 3

/* How a word ends, once speech has started: within MODEL_SPAN_FRAMES of the last clear speech
   frame, whether a frame that is not clear speech still carries the word (WEAK, so the end
   moves with it) or not (TRAIL at most) is decided by a small model instead of the thresholds
   above. It reads twenty things the detector already knows (see continuation_features): the
   band SNRs now and a frame before, the held-peak share, the noise's fluctuation, the level
   against the talker's and absolute, the trail and the frames since clear speech. A network
   of VAD_MODEL_HIDDEN tanh units, its weights in vad_model.h, trained by
   `bench_vad --train dsp/vad_model.h` on a corpus that shares nothing with the benchmark's but
   the kinds of noise: 24 other recordings, 12 other espeak-ng answers and voices, three draws
   of their levels and pauses, other noise seeds and other music. Starts are untouched: it acts
   only after START_FRAMES clear frames, as the endpointer's start needs. */
#define MODEL_SPAN_FRAMES 40
#define TALKER_FALL_DB 0.02

/* Where speech ended, decided again when the hangover expires, with the frames since in hand
   (cr_vad_end). The endpointer's end is the last frame a causal decision could hold on to; by
   the time the hangover has run out, the 300 ms after it show what the noise alone sounds
   like there, which a frame-by-frame decision never had. So another model weighs each frame
   from END_BACK_FRAMES before that end to END_AHEAD_FRAMES after it (but not into the newest
   END_REF_FRAMES, the reference) band by band against that reference, against the frames either
   side of it and against the word's own levels just before the end (cr_vad_end_features lists
   its 36 inputs). Its output is the probability that speech goes on at or after the frame, and
   their sum, how many frames of the span speech lasts, places the end. A network of
   VAD_END_HIDDEN tanh units, its weights in vad_end_model.h, trained by
   `bench_vad --train-end dsp/vad_end_model.h` on the continuation model's corpus. In bench_vad
   (corpus seed 2026) it took the end-of-speech p95 at 30 / 20 / 15 / 10 dB SNR from 110 / 160 /
   210 / 300 to 70 / 120 / 150 / 190 ms, the ends within 150 ms of the truth at 15 dB from 231 to
   247 of 259 found; 20 frames back instead of 30 gave 170 ms at 15 dB, 40 no better; a 400 ms
   hangover, to see further ahead, lost a sixth of the utterance ends at 20 dB (pauses that short
   no longer end anything). Starts, frame classes and false starts are untouched. */
#define END_BACK_FRAMES 30
#define END_AHEAD_FRAMES 20
#define END_REF_FRAMES 10
#define END_WORD_FRAMES 10 /* the word's levels: the frames just before the endpointer's end */
#define END_PAST_FRAMES 4  /* frames before a frame that its inputs read */
#define EMPTY_BAND_DB (-30.0) /* what a band of a frame without signal reads: below any noise */
_Static_assert(END_BACK_FRAMES + END_AHEAD_FRAMES == CR_VAD_END_SPAN, "the end model's span");
_Static_assert(END_BACK_FRAMES + HANGOVER_FRAMES + END_PAST_FRAMES < CR_VAD_HISTORY,
               "the history holds the span and the hangover after it");

/* The FFT's twiddles and bit-reversal order and the two windows: the same for every detector,
   built once, read-only afterwards, shared. */
static struct {
    float tw_re[CR_VAD_FFT / 2], tw_im[CR_VAD_FFT / 2];       /* e^{-2 pi j k / CR_VAD_FFT} */
    float stage_re[CR_VAD_FFT / 2], stage_im[CR_VAD_FFT / 2]; /* stage of half h: [h, 2h) */
    unsigned short bitrev[CR_VAD_FFT / 2];
    /* Hann windows for 8 and 16 kHz frames, split into the even and odd samples (the real and
       imaginary parts of the half-length signal the FFT takes) */
    float win_even[2][CR_VAD_FFT / 2], win_odd[2][CR_VAD_FFT / 2];
} fft;
/* The end model's first layer input by input (vad_end_w1 transposed), so that its hidden
   units add up four at a time; built with the FFT's tables. */
static float end_w1_by_input[CR_VAD_END_FEATURES][VAD_END_HIDDEN];
_Static_assert(VAD_END_HIDDEN % 4 == 0, "the end model's hidden units go four at a time");
/* pthread_once rather than C11 call_once: ThreadSanitizer sees through it. */
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void hann_split(float *even, float *odd, int n)
{
    for (int m = 0; m < n / 2; m++) {
        even[m] = (float)(0.5 - 0.5 * cos(6.283185307179586 * (2 * m + 0.5) / n));
        odd[m] = (float)(0.5 - 0.5 * cos(6.283185307179586 * (2 * m + 1.5) / n));
    }
}

static void build_tables(void)
{
    const double pi = 3.141592653589793;
    for (int i = 0; i < CR_VAD_FFT / 2; i++) {
        fft.tw_re[i] = (float)cos(2.0 * pi * i / CR_VAD_FFT);
        fft.tw_im[i] = (float)-sin(2.0 * pi * i / CR_VAD_FFT);
    }
    for (int half = 1; half < CR_VAD_FFT / 2; half <<= 1) {
        for (int k = 0; k < half; k++) {
            fft.stage_re[half + k] = (float)cos(pi * k / half);
            fft.stage_im[half + k] = (float)-sin(pi * k / half);
        }
    }
    int bits = 0;
    while ((1 << bits) < CR_VAD_FFT / 2)
        bits++;
    for (int i = 0; i < CR_VAD_FFT / 2; i++) {
        int r = 0;
        for (int b = 0; b < bits; b++)
            r |= ((i >> b) & 1) << (bits - 1 - b);
        fft.bitrev[i] = (unsigned short)r;
    }
    hann_split(fft.win_even[0], fft.win_odd[0], 80);
    hann_split(fft.win_even[1], fft.win_odd[1], 160);
    for (int k = 0; k < CR_VAD_END_FEATURES; k++)
        for (int h = 0; h < VAD_END_HIDDEN; h++)
            end_w1_by_input[k][h] = vad_end_w1[h][k];
}

int cr_vad_init(cr_vad *v, int rate_hz)
{
    if (rate_hz != 8000 && rate_hz != 16000)
        return -1;
    pthread_once(&tables_once, build_tables);
    memset(v, 0, sizeof *v);
    v->rate = rate_hz;
    v->frame = rate_hz / 100;
    v->win_even = fft.win_even[rate_hz == 8000 ? 0 : 1];
    v->win_odd = fft.win_odd[rate_hz == 8000 ? 0 : 1];
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
        v->noise_db[b] = -200.0;
        int bins = v->band_hi[b] >= v->band_lo[b] ? v->band_hi[b] - v->band_lo[b] + 1 : 1;
        v->steady_gap_db[b] = STEADY_GAP_K / sqrt(bins) + STEADY_GAP_C + FLUCT_MARGIN_DB;
    }
    v->talker_db = -200.0;
    return 0;
}

/* Four lanes of the FFT at once (GCC and clang vector extensions). */
typedef float v4f __attribute__((vector_size(16)));
typedef int v4i __attribute__((vector_size(16)));

static v4f load4(const float *p)
{
    v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void store4(float *p, v4f v) { memcpy(p, &v, sizeof v); }

/* Radix-2 FFT of CR_VAD_FFT / 2 complex points z (zr + j zi, natural order) into re, im.
   The first two stages (twiddles 1 and -j) run as one radix-4 pass that reads z in natural
   order: output group q (re[4q..4q+3]) combines z[m], z[m + n/2], z[m + n/4] and
   z[m + 3n/4] for m the bit reversal of 4q, so four consecutive m go through at once and each
   lane stores its group. The other stages go four butterflies at a time, with each stage's
   twiddles contiguous. */
static void fft_half(const float *zr, const float *zi, float *re, float *im)
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
            float *r = re + fft.bitrev[m + l], *i = im + fft.bitrev[m + l];
            r[0] = o0r[l], r[1] = o1r[l], r[2] = o2r[l], r[3] = o3r[l];
            i[0] = o0i[l], i[1] = o1i[l], i[2] = o2i[l], i[3] = o3i[l];
        }
    }
    for (int half = 4; half < n; half <<= 1) {
        const float *wr = fft.stage_re + half, *wi = fft.stage_im + half;
        for (int i = 0; i < n; i += 2 * half) {
            for (int k = 0; k < half; k += 4) {
                float *r0 = re + i + k, *i0 = im + i + k, *r1 = r0 + half, *i1 = i0 + half;
                v4f w_r = load4(wr + k), w_i = load4(wi + k);
                v4f ur = load4(r0), ui = load4(i0), yr = load4(r1), yi = load4(i1);
                v4f xr = yr * w_r - yi * w_i, xi = yr * w_i + yi * w_r;
                store4(r0, ur + xr);
                store4(i0, ui + xi);
                store4(r1, ur - xr);
                store4(i1, ui - xi);
            }
        }
    }
}

/* Power spectrum, bins 0..CR_VAD_FFT/2, of a frame (v->frame samples, windowed and
   zero-padded to CR_VAD_FFT): the even and odd samples go in as one complex signal of half
   the length, and the two half-spectra are separated afterwards (the usual real-FFT
   packing), at half the cost of a full complex FFT. */
static void power_spectrum(const cr_vad *v, const int16_t *frame, float *power)
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
    const v4f half = {0.5f, 0.5f, 0.5f, 0.5f};
    for (int k = 0; k < n; k += 4) {
        v4f zr = load4(re + k), zi = load4(im + k), cr = load4(rre + k), ci = load4(rim + k);
        /* E = (Z[k] + conj Z[n-k]) / 2, O = (Z[k] - conj Z[n-k]) / 2j, X = E + W^k O */
        v4f er = half * (zr + cr), ei = half * (zi - ci);
        v4f or_ = half * (zi + ci), oi = half * (cr - zr);
        v4f wr = load4(fft.tw_re + k), wi = load4(fft.tw_im + k);
        v4f xr = er + wr * or_ - wi * oi, xi = ei + wr * oi + wi * or_;
        store4(power + k, xr * xr + xi * xi);
    }
    power[n] = (re[0] - im[0]) * (re[0] - im[0]); /* Nyquist */
}

/* Updates v->held_peaks from this frame's power spectrum (db: the frame's level). Four bins at
   a time and without branches: whether a bin is a peak is a coin toss for the predictor. */
static void track_held_peaks(cr_vad *v, const float *power, double db)
{
    const float *p = power + PEAK_LO_BIN;
    v4f top = load4(p);
    for (int k = 4; k < 64; k += 4) {
        v4f x = load4(p + k);
        v4i more = x > top;
        top = (v4f)(((v4i)x & more) | ((v4i)top & ~more));
    }
    float most = top[0] > top[1] ? top[0] : top[1];
    most = top[2] > most ? top[2] : most;
    most = top[3] > most ? top[3] : most;
    const v4f least = (v4f){1.0f, 1.0f, 1.0f, 1.0f} * (most * PEAK_REL);
    const v4i bit = {1, 2, 4, 8};
    uint64_t peaks = 0;
    for (int k = 0; k < 64; k += 4) {
        v4f x = load4(p + k);
        v4i is = (x > load4(p + k - 1)) & (x >= load4(p + k + 1)) & (x > least) & bit;
        peaks |= (uint64_t)(is[0] | is[1] | is[2] | is[3]) << k;
    }
    uint64_t *slot = &v->peaks[v->frames_seen % CR_VAD_PEAK_LAG];
    uint64_t then = *slot;
    *slot = peaks;
    int n = __builtin_popcountll(peaks);
    if (n > 0 && db > ABSOLUTE_MIN_DB)
        v->held_peaks += HELD_SMOOTH * ((double)__builtin_popcountll(peaks & then) / n -
                                        v->held_peaks);
}

/* 10 log10(x) through the single-precision log2, several times cheaper than log10() and
   within 1e-5 dB. */
static double db10(double x) { return 3.0102999566398120 * (double)log2f((float)x); }

/* Sum of power[lo..hi], four partial sums so the additions overlap. */
static float band_sum(const float *power, int lo, int hi)
{
    float a[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    int k = lo;
    for (; k + 3 <= hi; k += 4) {
        a[0] += power[k];
        a[1] += power[k + 1];
        a[2] += power[k + 2];
        a[3] += power[k + 3];
    }
    for (; k <= hi; k++)
        a[0] += power[k];
    return (a[0] + a[1]) + (a[2] + a[3]);
}

/* A frame the trail counts as the word going on (WEAK, so the end moves with it), paid for
   from the trail's budget. */
static cr_vad_class weak_in_trail(cr_vad *v)
{
    v->hang--;
    v->burst++;
    return CR_VAD_WEAK;
}

static float clampf(double x, double lo, double hi)
{
    return (float)(x < lo ? lo : x > hi ? hi : x);
}

/* A network's output, the probability of its one unit, for inputs x[n_in] and hidden tanh
   units of weights w1 (row-major, n_in per unit), b1, w2 and b2. */
static float network(const float *x, int n_in, int hidden, const float *w1, const float *b1,
                     const float *w2, float b2)
{
    float z = b2;
    for (int h = 0; h < hidden; h++) {
        float u = b1[h];
        for (int i = 0; i < n_in; i++)
            u += w1[h * n_in + i] * x[i];
        z += w2[h] * tanhf(u);
    }
    return 1.0f / (1.0f + expf(-z));
}

/* The start model's inputs for a frame the margins hold back (snr_max: its largest band SNR,
   fluct: the noise's fluctuation, music: the music hold, margin: the two margins together),
   each scaled to about -1..4, in the order the model was trained on: the mean and largest band
   SNR, each band's, the held-peak share, the fluctuation, the hold, the margin, the mean band
   SNR of the four frames before, the largest band SNR of the frame before, the burst so far.
   Not the level: given it, the model took loud babble alone for speech. */
static void start_features(cr_vad *v, double snr_max, double fluct, int music, double margin)
{
    float *x = v->start_features;
    x[0] = clampf(v->snr_db, 0, 30) / 10;
    x[1] = clampf(snr_max, -10, 40) / 10;
    for (int b = 0; b < CR_VAD_BANDS; b++)
        x[2 + b] = v->band_hi[b] >= v->band_lo[b] ? clampf(v->band_snr_db[b], -10, 40) / 10 : 0.0f;
    x[8] = (float)v->held_peaks;
    x[9] = clampf(fluct, 0, 20) / 10;
    x[10] = (float)music;
    x[11] = clampf(margin, 0, 20) / 10;
    double recent = 0.0;
    for (int i = 0; i < 4; i++)
        recent += v->recent_snr_db[i];
    x[12] = clampf(recent / 4, 0, 30) / 10;
    x[13] = clampf(v->prev_max_db, -10, 40) / 10;
    x[14] = clampf(v->burst, 0, 30) / 30;
}

/* The frame's class from the band SNRs and the rules above. */
static cr_vad_class classify(cr_vad *v, const int16_t *frame, int tone)
{
    v->start_consulted = 0;
    float power[CR_VAD_FFT / 2 + 1];
    power_spectrum(v, frame, power);
    /* The level above 200 Hz (the bands' span; DC, rumble and the mains fundamental do not
       count), in dBFS: Parseval over the windowed frame, the Hann window's mean square 3/8. */
    double above = band_sum(power, v->band_lo[0], CR_VAD_FFT / 2);
    double db = db10(2.0 * above / CR_VAD_FFT / (0.375 * v->frame) /
                                 (32768.0 * 32768.0) + 1e-12);
    v->level_db = db;
    if (db < SILENT_DB && v->frames_seen > 0) {
        /* No signal (a gap in the stream, discontinuous transmission): it says nothing about
           the noise, so nothing learns from it and what was learnt before stays. */
        v->burst = v->hang = 0;
        return CR_VAD_SILENCE;
    }
    track_held_peaks(v, power, db);

    int first = v->frames_seen == 0, block_done = ++v->block_frames == BLOCK_FRAMES;
    double snr_sum = 0.0, snr_max = 0.0, fluct = 0.0;
    int bands = 0;
    for (int b = 0; b < CR_VAD_BANDS; b++) {
        if (v->band_hi[b] < v->band_lo[b])
            continue;
        double e = 1e-3 + band_sum(power, v->band_lo[b], v->band_hi[b]);
        double bdb = db10(e / (v->band_hi[b] - v->band_lo[b] + 1));
        v->band_level_db[b] = bdb;
        if (first)
            v->noise_db[b] = bdb;
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
        /* the reference: the floor, or the typical level of fluctuating noise (never below
           the floor: noise that rose after a quiet spell is followed at once) */
        if (v->noise_db[b] < v->floor_db[b])
            v->noise_db[b] = v->floor_db[b];
        double excess = v->noise_db[b] - v->floor_db[b] - v->steady_gap_db[b];
        double ref = excess > 0.0 ? v->noise_db[b] : v->floor_db[b];
        fluct = excess > fluct ? excess : fluct;
        double snr = bdb - ref;
        v->band_snr_db[b] = snr;
        snr_sum += snr < 0.0 ? 0.0 : (snr > BAND_SNR_CAP_DB ? BAND_SNR_CAP_DB : snr);
        snr_max = snr > snr_max ? snr : snr_max;
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
    v->fluct_db = fluct;
    v->prev_max_db = v->snr_max_db;
    v->snr_max_db = snr_max;
    int held = v->held_peaks > HELD_MUSIC;
    v->music_left = held ? MUSIC_HOLD_FRAMES : (v->music_left > 0 ? v->music_left - 1 : 0);
    int music = v->music_left > 0;
    double step_up = v->snr_db < CONTINUE_SNR_DB || held
                         ? NOISE_STEP_DB
                         : NOISE_SLOW_STEP_DB;
    for (int b = 0; b < CR_VAD_BANDS; b++)
        if (v->band_hi[b] >= v->band_lo[b])
            v->noise_db[b] += v->band_level_db[b] < v->noise_db[b] ? -NOISE_STEP_DB : step_up;

    if (!tone && db < ABSOLUTE_MIN_DB && v->burst && v->hang > 0 && v->snr_db > CONTINUE_SNR_DB) {
        /* Too quiet to be speech on its own, but the end of a word under way: it may decay
           below the absolute floor for as long as the trail would last. In bench_vad this
           took the end-of-speech p95 at 30 dB SNR from 170 to 140 ms (quiet talkers). */
        return weak_in_trail(v);
    }
    if (tone || db < ABSOLUTE_MIN_DB) {
        v->burst = v->hang = 0;
        return CR_VAD_SILENCE;
    }
    double margin = FLUCT_START_GAIN * (fluct < FLUCT_CAP_DB ? fluct : FLUCT_CAP_DB) +
                    (music ? HELD_MARGIN_DB : 0.0);
    int speech = v->snr_db > START_SNR_DB + margin;
    v->start_consulted = !speech && margin > START_MODEL_MIN_MARGIN_DB && v->snr_db > START_SNR_DB;
    if (v->start_consulted) {
        start_features(v, snr_max, fluct, music, margin);
        speech = !v->start_model_off &&
                 network(v->start_features, CR_VAD_START_FEATURES, VAD_START_HIDDEN,
                         &vad_start_w1[0][0], vad_start_b1, vad_start_w2, vad_start_b2) >=
                     START_MODEL_P;
    }
    if (speech) {
        if (++v->burst >= BURST_FRAMES)
            v->hang = TRAIL_FRAMES;
        return CR_VAD_SPEECH;
    }
    if (v->snr_db > CONTINUE_SNR_DB + (held ? HELD_MARGIN_DB : 0.0)) {
        if (v->burst)
            v->burst++;
        return CR_VAD_WEAK;
    }
    if (v->hang > 0 && snr_max > TAIL_BAND_SNR_DB && !music) {
        /* In the trail, one band still well above its reference: a word decaying in a band or
           two (a vowel's low harmonics, a fricative's top), too narrow to lift the mean. It is
           still the word, so the end moves with it. Not in music, whose notes ring on. */
        return weak_in_trail(v);
    }
    v->burst = 0;
    if (v->hang > 0) {
        v->hang--;
        return CR_VAD_TRAIL;
    }
    return CR_VAD_SILENCE;
}

/* The continuation model's inputs for this frame (class c), each scaled to about -1..4, in the
   order the model was trained on. */
static void continuation_features(cr_vad *v, cr_vad_class c)
{
    float *x = v->features;
    if (c == CR_VAD_SPEECH && v->level_db > v->talker_db)
        v->talker_db = v->level_db;
    else
        v->talker_db -= TALKER_FALL_DB;
    double recent = v->snr_db;
    for (int i = 4; i > 0; i--) {
        v->recent_snr_db[i] = v->recent_snr_db[i - 1];
        recent += v->recent_snr_db[i];
    }
    v->recent_snr_db[0] = v->snr_db;
    v->since_speech = c == CR_VAD_SPEECH ? 0 : v->since_speech + 1;
    if (c == CR_VAD_SPEECH)
        v->talk_frames++;
    else if (v->since_speech > HANGOVER_FRAMES)
        v->talk_frames = 0;

    x[0] = clampf(v->snr_db, 0, 30) / 10;
    x[1] = clampf(v->snr_max_db, -10, 40) / 10;
    for (int b = 0; b < CR_VAD_BANDS; b++)
        x[2 + b] = v->band_hi[b] >= v->band_lo[b] ? clampf(v->band_snr_db[b], -10, 40) / 10 : 0.0f;
    x[8] = (float)v->held_peaks;
    x[9] = clampf(v->fluct_db, 0, 20) / 10;
    x[10] = v->music_left > 0;
    x[11] = clampf(v->level_db - v->talker_db, -60, 10) / 10;
    x[12] = clampf(v->level_db + 60, 0, 60) / 10;
    x[13] = v->hang > 0;
    x[14] = clampf(v->burst, 0, 30) / 30;
    x[15] = clampf(v->recent_snr_db[1], 0, 30) / 10;
    x[16] = clampf(v->prev_max_db, -10, 40) / 10;
    x[17] = clampf(recent / 5, 0, 30) / 10;
    x[18] = clampf(v->since_speech, 0, 50) / 50;
    x[19] = (float)c / 3;
}

/* The model on a frame's inputs: the probability that the frame still carries the word. */
static float continuation(const float *x)
{
    return network(x, CR_VAD_FEATURES, VAD_MODEL_HIDDEN, &vad_model_w1[0][0], vad_model_b1,
                   vad_model_w2, vad_model_b2);
}

/* Keeps what the end model needs of the frame just classified (c). A frame without signal
   reads as the floor classify() gives an empty band. */
static void remember(cr_vad *v, cr_vad_class c)
{
    cr_vad_past *p = &v->past[v->frames_in++ % CR_VAD_HISTORY];
    int silent = v->level_db < SILENT_DB;
    for (int b = 0; b < CR_VAD_BANDS; b++) {
        int empty = v->band_hi[b] < v->band_lo[b];
        p->band_db[b] = empty ? 0.0f : silent ? (float)EMPTY_BAND_DB : (float)v->band_level_db[b];
        p->band_snr_db[b] = empty || silent ? 0.0f : (float)v->band_snr_db[b];
    }
    p->level_db = (float)v->level_db;
    p->cls = c;
}

cr_vad_class cr_vad_frame(cr_vad *v, const int16_t *frame, int tone)
{
    cr_vad_class c = classify(v, frame, tone);
    v->consulted = 0;
    if (v->level_db < SILENT_DB) {
        memset(v->features, 0, sizeof v->features);
    } else {
        continuation_features(v, c);
        if (c != CR_VAD_SPEECH && !tone && v->level_db >= ABSOLUTE_MIN_DB &&
            v->since_speech < MODEL_SPAN_FRAMES && v->talk_frames >= START_FRAMES) {
            v->consulted = 1;
            if (continuation(v->features) > 0.5f)
                c = CR_VAD_WEAK;
            else if (c == CR_VAD_WEAK)
                c = CR_VAD_TRAIL;
        }
    }
    remember(v, c);
    return c;
}

/* The mean of frames [from, to] of band b's level, dB, over those still remembered. */
static double mean_band_db(const cr_vad *v, int64_t from, int64_t to, int b)
{
    int64_t oldest = v->frames_in - CR_VAD_HISTORY;
    if (from < oldest)
        from = oldest;
    if (from < 0)
        from = 0;
    double sum = 0.0;
    for (int64_t f = from; f <= to; f++)
        sum += v->past[f % CR_VAD_HISTORY].band_db[b];
    return to >= from ? sum / (double)(to - from + 1) : 0.0;
}

/* The end model's inputs for frame j, in order: 0-5 each band's level against the reference
   (the newest END_REF_FRAMES), 6-11 the same over frames j-1..j+1, 12-17 each band's SNR as the
   frame was judged, 18 the level against the talker's, 19 the level, 20 the frame's class, 21
   where it lies from the endpointer's end, 22 how long ago it was, 23 how long ago that end
   was, 24 how much the reference frames fluctuate, 25 the largest of 0-5, 26 and 27 the largest
   band's level against the reference over the next five and the last five frames, 28-33 each
   band's level against the word's, 34 and 35 the largest rise and fall of a band since the
   frame before. */
int cr_vad_end_features(const cr_vad *v, int end_ago, float (*x)[CR_VAD_END_FEATURES],
                        int64_t *first)
{
    const int64_t next = v->frames_in, end = next - end_ago;
    int64_t lo = end - END_BACK_FRAMES, hi = end + END_AHEAD_FRAMES;
    if (lo < next - CR_VAD_HISTORY + END_PAST_FRAMES)
        lo = next - CR_VAD_HISTORY + END_PAST_FRAMES;
    if (lo < 0)
        lo = 0;
    if (hi > next - END_REF_FRAMES)
        hi = next - END_REF_FRAMES;
    *first = lo;
    if (hi <= lo)
        return 0;
    /* the reference: the newest frames, which the endpointer heard as silence */
    double ref[CR_VAD_BANDS], spread = 0.0;
    int bands = 0;
    for (int b = 0; b < CR_VAD_BANDS; b++) {
        ref[b] = mean_band_db(v, next - END_REF_FRAMES, next - 1, b);
        if (v->band_hi[b] < v->band_lo[b])
            continue;
        double sq = 0.0;
        for (int64_t f = next - END_REF_FRAMES; f < next; f++) {
            double d = v->past[f % CR_VAD_HISTORY].band_db[b] - ref[b];
            sq += d * d;
        }
        spread += sqrt(sq / END_REF_FRAMES);
        bands++;
    }
    spread /= bands;
    double word[CR_VAD_BANDS];
    for (int b = 0; b < CR_VAD_BANDS; b++)
        word[b] = mean_band_db(v, end - END_WORD_FRAMES, end - 1, b);
    for (int64_t j = lo; j < hi; j++) {
        const cr_vad_past *p = &v->past[j % CR_VAD_HISTORY];
        const cr_vad_past *before = j > 0 ? &v->past[(j - 1) % CR_VAD_HISTORY] : p;
        float *f = x[j - lo];
        float most = 0.0f, ahead = 0.0f, behind = 0.0f, rise = 0.0f, fall = 0.0f;
        for (int b = 0; b < CR_VAD_BANDS; b++) {
            int empty = v->band_hi[b] < v->band_lo[b];
            float now = empty ? 0.0f : clampf(p->band_db[b] - ref[b], -10, 30) / 10;
            float around = empty ? 0.0f : clampf(mean_band_db(v, j - 1, j + 1, b) - ref[b], -10, 30) / 10;
            float next5 = empty ? 0.0f : clampf(mean_band_db(v, j, j + 4, b) - ref[b], -10, 30) / 10;
            float last5 = empty ? 0.0f : clampf(mean_band_db(v, j - 4, j, b) - ref[b], -10, 30) / 10;
            f[b] = now;
            f[CR_VAD_BANDS + b] = around;
            f[2 * CR_VAD_BANDS + b] = clampf(p->band_snr_db[b], -10, 40) / 10;
            f[28 + b] = empty ? 0.0f : clampf(p->band_db[b] - word[b], -40, 10) / 10;
            float d = empty ? 0.0f : clampf(p->band_db[b] - before->band_db[b], -20, 20) / 10;
            rise = d > rise ? d : rise;
            fall = d < fall ? d : fall;
            most = b == 0 || now > most ? now : most;
            ahead = b == 0 || next5 > ahead ? next5 : ahead;
            behind = b == 0 || last5 > behind ? last5 : behind;
        }
        f[18] = clampf(p->level_db - v->talker_db, -60, 10) / 10;
        f[19] = clampf(p->level_db + 60, 0, 60) / 10;
        f[20] = (float)p->cls / 3;
        f[21] = (float)(j - end) / END_BACK_FRAMES;
        f[22] = (float)(next - 1 - j) / 50;
        f[23] = (float)end_ago / 50;
        f[24] = clampf(spread, 0, 10) / 3;
        f[25] = most;
        f[26] = ahead;
        f[27] = behind;
        f[34] = rise;
        f[35] = fall;
    }
    return (int)(hi - lo);
}

int cr_vad_end(const cr_vad *v, int end_ago)
{
    float x[CR_VAD_END_SPAN][CR_VAD_END_FEATURES];
    int64_t first;
    int n = cr_vad_end_features(v, end_ago, x, &first);
    if (n == 0)
        return end_ago;
    /* Each frame's probability that speech goes on at or after it; their sum is how many
       frames of the span speech lasts. */
    double frames = 0.0;
    for (int i = 0; i < n; i++) {
        v4f u[VAD_END_HIDDEN / 4];
        for (int q = 0; q < VAD_END_HIDDEN / 4; q++)
            u[q] = load4(vad_end_b1 + 4 * q);
        for (int k = 0; k < CR_VAD_END_FEATURES; k++) {
            const v4f xk = (v4f){1.0f, 1.0f, 1.0f, 1.0f} * x[i][k];
            for (int q = 0; q < VAD_END_HIDDEN / 4; q++)
                u[q] += load4(end_w1_by_input[k] + 4 * q) * xk;
        }
        float z = vad_end_b2;
        for (int h = 0; h < VAD_END_HIDDEN; h++)
            z += vad_end_w2[h] * tanhf(u[h / 4][h % 4]);
        frames += 1.0 / (1.0 + exp(-z));
    }
    return (int)(v->frames_in - (first + (int64_t)floor(frames + 0.5)));
}

void cr_endpoint_init(cr_endpoint *e, int frame_samples, const cr_vad *vad)
{
    memset(e, 0, sizeof *e);
    e->frame = frame_samples;
    e->vad = vad;
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
            e->acc += c == CR_VAD_SPEECH;
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
        /* Weak and trail frames keep speech going; the end reported is the last clear speech
           and the weak frames after it, across dropouts of up to DROPOUT_FRAMES. After a
           longer gap, speech moves the end only from its RESUME_FRAMES-th clear frame on: a
           click in the hangover is not more speech. */
        e->run = c == CR_VAD_SILENCE ? 0 : e->run + (c == CR_VAD_SPEECH);
        if ((c == CR_VAD_SPEECH || c == CR_VAD_WEAK) &&
            (start - e->last_speech_end <= (int64_t)DROPOUT_FRAMES * e->frame ||
             e->run >= RESUME_FRAMES))
            e->last_speech_end = e->pos;
        if (c != CR_VAD_SILENCE) {
            e->last_active_end = e->pos;
        } else if (e->pos - e->last_active_end >= (int64_t)HANGOVER_FRAMES * e->frame) {
            e->state = 0;
            *t = e->last_speech_end;
            if (e->vad)
                *t = e->pos - (int64_t)cr_vad_end(e->vad, (int)((e->pos - *t) / e->frame)) * e->frame;
            return CR_EP_STOPPED;
        }
        return CR_EP_NONE;
    }
}
