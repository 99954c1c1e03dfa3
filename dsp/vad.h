/* Voice activity detection on 10 ms frames: a class per frame and, once speech has stopped,
   where it ended. No allocation, no I/O, no shared mutable state. The rooms: vad.c the frame
   rules, vad_fft.c the spectrum, vad_features.c what the rules and models read, vad_models.c
   the three networks; endpoint.h turns the classes into "speech started" / "stopped". */
#ifndef CR_VAD_H
#define CR_VAD_H

#include <stddef.h>
#include <stdint.h>

#define CR_VAD_MIN_BLOCKS 6 /* noise-floor memory: 6 blocks of 0.5 s */
#define CR_VAD_FFT 256      /* a 10 ms frame (up to 240 samples), zero-padded */
#define CR_VAD_BANDS 6
#define CR_VAD_PEAK_LAG 5   /* frames between the spectra whose peaks are compared */
#define CR_VAD_FEATURES 20  /* inputs of the word-continuation model */
#define CR_VAD_HISTORY 128  /* frames remembered for deciding where speech ended */
#define CR_VAD_END_FEATURES 36 /* inputs of the end model, per frame it weighs */
#define CR_VAD_START_FEATURES 15 /* inputs of the start model */
#define CR_VAD_END_SPAN 50  /* frames it weighs: 300 ms before the endpointer's end to 200 ms
                               after it (END_BACK_FRAMES + END_AHEAD_FRAMES in vad.c) */

/* What the end model remembers of a frame. */
typedef struct cr_vad_past {
    float band_db[CR_VAD_BANDS];  /* level per band, dB (0 for a band above the Nyquist frequency) */
    float band_snr_db[CR_VAD_BANDS]; /* against the band's reference, as the frame was judged */
    float level_db;               /* dBFS above 200 Hz */
    int cls;                      /* the frame's class */
} cr_vad_past;

/* Training's window on the detector (tools/train_vad): set cr_vad.probe after cr_vad_init() and
   each frame leaves its models' inputs here. Never set in the engine. */
typedef struct cr_vad_probe {
    int start_model_off; /* in: the rules alone decide clear speech (to train the models) */
    float features[CR_VAD_FEATURES]; /* out: the continuation model's inputs (all 0: silent) */
    int consulted;                   /* out: the frame's class was that model's decision */
    float start_features[CR_VAD_START_FEATURES]; /* out: the start model's inputs */
    int start_consulted;                         /* out: the frame was put to the start model */
} cr_vad_probe;

typedef struct cr_vad {
    int rate;
    int frame;               /* samples per 10 ms */
    const float *win_even, *win_odd; /* the window, as the FFT takes it (shared, in vad.c) */
    int band_lo[CR_VAD_BANDS], band_hi[CR_VAD_BANDS]; /* FFT bins */
    /* per band: smoothed level and minimum statistics, dB */
    double smooth_db[CR_VAD_BANDS];
    double block_min_db[CR_VAD_BANDS];
    double mins_db[CR_VAD_MIN_BLOCKS][CR_VAD_BANDS];
    double floor_db[CR_VAD_BANDS];
    /* per band: the noise's typical level, dB, followed where the frame looks like noise */
    double noise_db[CR_VAD_BANDS];
    double steady_gap_db[CR_VAD_BANDS]; /* the most that gap reaches in steady noise, per band */
    int n_mins, mins_pos, block_frames;
    int burst, hang;         /* frames of the current burst; trailing frames still speech */
    int64_t frames_seen;
    uint64_t peaks[CR_VAD_PEAK_LAG]; /* the last frames' spectral peaks, a bit per FFT bin */
    double held_peaks;       /* smoothed share of a frame's peaks that held for 50 ms (music) */
    int music_left;          /* frames the music state holds on after that share fell */
    double level_db;         /* last frame's level, dBFS */
    double snr_db;           /* last frame's mean band SNR */
    /* what the continuation model reads (see vad.c) */
    double band_snr_db[CR_VAD_BANDS]; /* last frame's SNR per band, against its reference */
    double snr_max_db, prev_max_db; /* the largest of them, and the frame before's */
    double recent_snr_db[5];  /* the mean band SNR of the last five frames, newest first */
    double fluct_db;          /* how far the noise fluctuates beyond steady noise */
    double talker_db;         /* the loudest recent clear speech, dBFS, falling 2 dB a second */
    int since_speech;         /* frames since the last clear speech frame */
    int talk_frames;          /* clear speech frames since the last 300 ms without any */
    struct cr_vad_probe *probe; /* NULL, or where training reads the models' inputs */
    double band_level_db[CR_VAD_BANDS]; /* last frame's level per band, dB per bin */
    cr_vad_past past[CR_VAD_HISTORY]; /* the last frames, frame n at n % CR_VAD_HISTORY */
    int64_t frames_in;        /* frames given to cr_vad_frame */
} cr_vad;

/* A frame's class. TRAIL: below both thresholds, but within the hangover after a burst of
   speech (the quiet ends of words); it counts as speech without being evidence of it. */
typedef enum cr_vad_class {
    CR_VAD_SILENCE = 0,
    CR_VAD_TRAIL = 1,
    CR_VAD_WEAK = 2,
    CR_VAD_SPEECH = 3
} cr_vad_class;

/* rate_hz: 8000 or 16000, frames of rate_hz / 100 samples. Returns 0, or -1 for another
   rate. (Its three models were trained on 16 kHz frames, the rate a session runs at; at 8 kHz
   the top band is empty and they see inputs they were not trained on.) */
int cr_vad_init(cr_vad *v, int rate_hz);

/* Classifies one frame: SPEECH clears the start threshold, WEAK only the continue threshold.
   `tone` suppresses the frame (a DTMF pair, a beep). */
cr_vad_class cr_vad_frame(cr_vad *v, const int16_t *frame, int tone);

/* Where speech ended, decided again once the endpointer has stopped: end_ago frames before the
   next frame is the end it found (the frames from there on were not speech to it). The end
   model weighs each frame from 300 ms before it to 200 ms after it, against the noise of the
   newest frames, and returns its own end the same way, frames before the next. With no room to
   decide (too few frames since, or too long ago) it returns end_ago. */
int cr_vad_end(const cr_vad *v, int end_ago);

/* The end model's inputs for the frames it weighs (see vad_features.c), for training it: fills
   x[0..n) and returns n; the first is frame *first (counting from 0 at cr_vad_init). */
int cr_vad_end_features(const cr_vad *v, int end_ago, float (*x)[CR_VAD_END_FEATURES],
                        int64_t *first);

#endif
