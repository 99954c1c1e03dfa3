/* What the VAD's rules and models read of each frame: band sums, the music detector's held
   spectral peaks, the inputs of the start, word-continuation and end models, and the history
   the end model looks back on. */
#include "vad_internal.h"

/* Music against speech: a held note keeps its spectral peaks in the same FFT bins for hundreds
   of milliseconds, while speech's harmonics glide with its pitch. Each frame's peaks (local
   maxima within 30 dB of the highest, from bin PEAK_LO_BIN over 64 bins: 312 Hz to 4.3 kHz at
   16 kHz) are compared with those CR_VAD_PEAK_LAG frames before, and the share that held is
   smoothed over about ten frames (HELD_SMOOTH). On bench_vad's audio the share stays below 0.4
   in 98 % of clean speech frames and exceeds it in half of the music frames. */
#define PEAK_LO_BIN 5
#define PEAK_REL 1e-3f
#define HELD_SMOOTH 0.1
/* The talker's level falls 2 dB a second after their last clear speech. */
#define TALKER_FALL_DB 0.02
/* What a band of a frame without signal reads in the history: below any noise. */
#define EMPTY_BAND_DB (-30.0)

/* Sum of power[lo..hi], four partial sums so the additions overlap. */
float cr_vad_band_sum(const float *power, int lo, int hi)
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

/* Updates v->held_peaks from this frame's power spectrum (db: the frame's level). Four bins at
   a time and without branches: whether a bin is a peak is a coin toss for the predictor. */
void cr_vad_track_held_peaks(cr_vad *v, const float *power, double db)
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

/* The start model's inputs for a frame the margins hold back (snr_max: its largest band SNR,
   fluct: the noise's fluctuation, music: the music hold, margin: the two margins together),
   each scaled to about -1..4, in the order the model was trained on: the mean and largest band
   SNR, each band's, the held-peak share, the fluctuation, the hold, the margin, the mean band
   SNR of the four frames before, the largest band SNR of the frame before, the burst so far.
   Not the level: given it, the model took loud babble alone for speech. */
void cr_vad_start_features(const cr_vad *v, double snr_max, double fluct, int music,
                           double margin, float x[CR_VAD_START_FEATURES])
{
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

/* The continuation model's inputs for this frame (class c), each scaled to about -1..4, in the
   order the model was trained on. */
void cr_vad_continuation_features(cr_vad *v, cr_vad_class c, float x[CR_VAD_FEATURES])
{
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

/* Keeps what the end model needs of the frame just classified (c). A frame without signal
   reads as the floor classify() gives an empty band. */
void cr_vad_remember(cr_vad *v, cr_vad_class c)
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
