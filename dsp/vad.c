/* The VAD's frame rules: each band's level against its noise reference, the thresholds,
   margins and hangover that make a frame SPEECH, WEAK, TRAIL or SILENCE, and where the start
   and word-continuation models take over from them. The figures that placed each constant are
   in bench/results/vad-history.md; bench_vad measures them (docs/vad.md). */
#include "vad_internal.h"

/* The decision is on the mean over the bands of each band's SNR above its own noise reference
   (each clamped to 0..BAND_SNR_CAP_DB): speech concentrates its energy in a few bands at a
   time, where its local SNR is far above the broadband figure, while steady noise sits at 0 dB
   in every band. Start and continue thresholds give hysteresis; bench_vad placed them, the
   lowest pair with no false start in an hour of white, pink or brown noise or hum. */
#define START_SNR_DB 6.0
#define CONTINUE_SNR_DB 3.5
#define BAND_SNR_CAP_DB 30.0
/* Minimum statistics (R. Martin, "Noise power spectral density estimation based on optimal
   smoothing and minimum statistics", IEEE Trans. Speech Audio Process. 9(5), 2001): each
   band's floor is the smallest smoothed level over the last CR_VAD_MIN_BLOCKS blocks of
   BLOCK_FRAMES (3 s), raised by the bias of a minimum over a fluctuating level. */
#define BLOCK_FRAMES 50
#define SMOOTH 0.6
#define MIN_BIAS_DB 1.5
/* Babble and music sit 5-20 dB above their own minima most of the time, so each band also
   follows the noise's typical level: a tracker stepping NOISE_STEP_DB a frame towards the
   band's level (upwards only NOISE_SLOW_STEP_DB while the frame looks like speech) settles
   near the median of the noise between words. In steady noise it sits above the minimum by a
   gap set by the bins the band averages, STEADY_GAP_K / sqrt(bins) + STEADY_GAP_C dB (fitted
   on white noise in bench_vad). Beyond that gap by more than FLUCT_MARGIN_DB the noise
   fluctuates, its typical level becomes the reference, and a start needs FLUCT_START_GAIN dB
   more SNR per decibel of excess, up to FLUCT_CAP_DB of it (after music stops the floor falls
   to the silence and the excess could reach 70 dB). */
#define NOISE_STEP_DB 0.1
#define NOISE_SLOW_STEP_DB 0.01
#define STEADY_GAP_K 11.7
#define STEADY_GAP_C (-1.43)
#define FLUCT_MARGIN_DB 1.75
#define FLUCT_START_GAIN 0.5
#define FLUCT_CAP_DB 10.0
/* Hangover: after BURST_FRAMES frames that began with clear speech, TRAIL_FRAMES more are
   TRAIL (speech, but no evidence of it) for the ends of words sinking into the noise; a
   one-frame click makes no trail. Within the trail a frame with any band TAIL_BAND_SNR_DB above
   its reference still carries the word (a vowel's low harmonics, a fricative's top). The three
   were placed together in bench_vad on the end-of-speech p95 with no false start. */
#define BURST_FRAMES 2
#define TRAIL_FRAMES 13
#define TAIL_BAND_SNR_DB 4.0
/* Music (see the held peaks in vad_features.c): where the share of held peaks is above
   HELD_MUSIC, the noise's typical level follows even frames that look like speech, so louder
   music becomes the reference within a second or two, and both thresholds sit HELD_MARGIN_DB
   higher. The start's margin holds MUSIC_HOLD_FRAMES after the share falls: a new chord's peaks
   are new for a few frames and look like an onset. (A caller who sings a held note is music.) */
#define HELD_MUSIC 0.4
#define HELD_MARGIN_DB 4.0
#define MUSIC_HOLD_FRAMES 50
/* A frame the margins alone hold back (its mean band SNR above the start threshold without
   them) goes to the start model, and is clear speech where the model is at least START_MODEL_P
   sure: without it, most answers over music and babble at 10 dB SNR never started in bench_vad;
   at 0.9 it let false starts into the mixes. */
#define START_MODEL_P 0.95
#define START_MODEL_MIN_MARGIN_DB 0.5 /* less is steady noise's own wobble of the reference */
/* After speech has started, within MODEL_SPAN_FRAMES of the last clear frame, the
   word-continuation model decides whether a frame that is not clear speech still carries the
   word (WEAK: the end moves with it) or not (TRAIL at most). */
#define MODEL_SPAN_FRAMES 40

/* Band edges, Hz: telephone speech's energy from 200 Hz to the top of a wideband call. */
static const double band_edges_hz[CR_VAD_BANDS + 1] = {200, 500, 1000, 1800, 3000, 4500, 8000};

int cr_vad_init(cr_vad *v, int rate_hz)
{
    if (rate_hz != 8000 && rate_hz != 16000)
        return -1;
    memset(v, 0, sizeof *v);
    v->rate = rate_hz;
    v->frame = rate_hz / 100;
    cr_vad_window(rate_hz, &v->win_even, &v->win_odd);
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

/* A frame the trail counts as the word going on (WEAK, so the end moves with it), paid for
   from the trail's budget. */
static cr_vad_class weak_in_trail(cr_vad *v)
{
    v->hang--;
    v->burst++;
    return CR_VAD_WEAK;
}

/* The frame's class from the band SNRs and the rules above. */
static cr_vad_class classify(cr_vad *v, const int16_t *frame, int tone)
{
    if (v->probe)
        v->probe->start_consulted = 0;
    float power[CR_VAD_FFT / 2 + 1];
    cr_vad_power_spectrum(v, frame, power);
    /* The level above 200 Hz (the bands' span; DC, rumble and the mains fundamental do not
       count), in dBFS: Parseval over the windowed frame, the Hann window's mean square 3/8. */
    double above = cr_vad_band_sum(power, v->band_lo[0], CR_VAD_FFT / 2);
    double db = db10(2.0 * above / CR_VAD_FFT / (0.375 * v->frame) /
                                 (32768.0 * 32768.0) + 1e-12);
    v->level_db = db;
    if (db < SILENT_DB && v->frames_seen > 0) {
        /* No signal (a gap in the stream, discontinuous transmission): it says nothing about
           the noise, so nothing learns from it and what was learnt before stays. */
        v->burst = v->hang = 0;
        return CR_VAD_SILENCE;
    }
    cr_vad_track_held_peaks(v, power, db);

    int first = v->frames_seen == 0, block_done = ++v->block_frames == BLOCK_FRAMES;
    double snr_sum = 0.0, snr_max = 0.0, fluct = 0.0;
    int bands = 0;
    for (int b = 0; b < CR_VAD_BANDS; b++) {
        if (v->band_hi[b] < v->band_lo[b])
            continue;
        double e = 1e-3 + cr_vad_band_sum(power, v->band_lo[b], v->band_hi[b]);
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
           below the absolute floor for as long as the trail would last. It keeps a quiet
           talker's word ends (bench_vad's end-of-speech p95 at 30 dB SNR measures it). */
        return weak_in_trail(v);
    }
    if (tone || db < ABSOLUTE_MIN_DB) {
        v->burst = v->hang = 0;
        return CR_VAD_SILENCE;
    }
    double margin = FLUCT_START_GAIN * (fluct < FLUCT_CAP_DB ? fluct : FLUCT_CAP_DB) +
                    (music ? HELD_MARGIN_DB : 0.0);
    int speech = v->snr_db > START_SNR_DB + margin;
    int consult = !speech && margin > START_MODEL_MIN_MARGIN_DB && v->snr_db > START_SNR_DB;
    if (v->probe)
        v->probe->start_consulted = consult;
    if (consult) {
        float x[CR_VAD_START_FEATURES];
        cr_vad_start_features(v, snr_max, fluct, music, margin, x);
        if (v->probe)
            memcpy(v->probe->start_features, x, sizeof x);
        speech = !(v->probe && v->probe->start_model_off) && cr_vad_start_model(x) >= START_MODEL_P;
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

cr_vad_class cr_vad_frame(cr_vad *v, const int16_t *frame, int tone)
{
    cr_vad_class c = classify(v, frame, tone);
    float x[CR_VAD_FEATURES] = {0};
    int consulted = 0;
    if (v->level_db >= SILENT_DB) {
        cr_vad_continuation_features(v, c, x);
        if (c != CR_VAD_SPEECH && !tone && v->level_db >= ABSOLUTE_MIN_DB &&
            v->since_speech < MODEL_SPAN_FRAMES && v->talk_frames >= START_FRAMES) {
            consulted = 1;
            if (cr_vad_continuation_model(x) > 0.5f)
                c = CR_VAD_WEAK;
            else if (c == CR_VAD_WEAK)
                c = CR_VAD_TRAIL;
        }
    }
    if (v->probe) {
        memcpy(v->probe->features, x, sizeof x);
        v->probe->consulted = consulted;
    }
    cr_vad_remember(v, c);
    return c;
}
