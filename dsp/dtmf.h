/* DTMF receiver. Sliding 14 ms windows every 2 ms, built from 2 ms block DFTs evaluated for
   all frequencies at once; a frequency test by phase progression; a coverage test that makes
   measured durations independent of level; a dial-tone notch that engages when dial tone is
   heard. Runs at 8 kHz (16 kHz input is decimated internally). No allocation, no I/O. */
#ifndef CR_DTMF_H
#define CR_DTMF_H

#include <stddef.h>
#include <stdint.h>

#define CR_DTMF_HOP 16         /* samples at 8 kHz: 2 ms between windows */
#define CR_DTMF_BLOCKS 7       /* window = 7 blocks = 112 samples = 14 ms */
#define CR_DTMF_LANES 16       /* 8 DTMF + 3 dial-tone frequencies, padded for SIMD */
#define CR_DTMF_PHASE_LAG 3    /* windows apart for the frequency test (6 ms) */
#define CR_DTMF_MAX_EVENTS 8

typedef enum cr_dtmf_event_kind { CR_DTMF_BEGIN, CR_DTMF_END } cr_dtmf_event_kind;

typedef struct cr_dtmf_event {
    cr_dtmf_event_kind kind;
    char key;
    int64_t onset; /* estimated tone onset, input samples since init */
    int64_t at;    /* BEGIN: when confirmed; END: the tone's last sample */
} cr_dtmf_event;

/* Holds SIMD tables: 32-byte aligned (heap allocations of anything containing it must use
   aligned_alloc). */
typedef struct cr_dtmf {
    int in_rate;
    int confirm;             /* duration that confirms a digit, 8 kHz samples */
    float confirm_share;     /* talk-off limit (see dtmf.c) */
    /* 16 -> 8 kHz half-band decimator */
    float hb_hist[8];        /* [0..3] the filter's state between calls, [4] an input that
                                waits for its pair */
    unsigned hb_idx;
    /* dial-tone notches (350, 425, 440 Hz), latched on once dial tone is heard */
    int notch_on, dial_windows;
    float dial_last;         /* dial-tone power of the previous window */
    float nb[3][2], na[3][2], nz[3][2];
    float gain_comp[8];      /* 1 / |H_notch|^2 at each DTMF frequency */
    /* block DFT phase references (the tables are static const data, dtmf_tables.h) */
    _Alignas(32) float rot_re[CR_DTMF_LANES], rot_im[CR_DTMF_LANES]; /* e^{-j w b} */
    _Alignas(32) float step_re[CR_DTMF_LANES], step_im[CR_DTMF_LANES];
    int hops_since_norm;
    float hop[CR_DTMF_HOP];
    int hop_fill, hop_notched;   /* samples in the block; how many are already notched */
    /* the last CR_DTMF_BLOCKS block results */
    _Alignas(32) float blk_re[CR_DTMF_BLOCKS][CR_DTMF_LANES];
    _Alignas(32) float blk_im[CR_DTMF_BLOCKS][CR_DTMF_LANES];
    float blk_energy[CR_DTMF_BLOCKS];
    int blk_pos, blk_count;
    /* window DFTs of the last CR_DTMF_PHASE_LAG + 1 windows */
    float win_re[CR_DTMF_PHASE_LAG + 1][CR_DTMF_LANES], win_im[CR_DTMF_PHASE_LAG + 1][CR_DTMF_LANES];
    int win_pos;
    int64_t n8;
    /* decision state, 8 kHz samples */
    char cand;
    int confirmed, misses, present;
    int64_t onset, tone_end;      /* estimated from the window edges, 8 kHz samples */
    float share_sum;              /* the candidate's windows: summed share two tones explain */
    double off_sum[2];            /* the candidate's summed frequency offsets (row, column) */
    int hits;                     /* windows judged the candidate's key */
    /* the window just judged a key: its tones' powers, its energy, their offsets (Hz) */
    float hit_power[2], hit_total, hit_off[2];
    float head_gap, tail_gap;     /* uncovered samples at the current window's edges */
    /* precomputed thresholds */
    float power_min, dial_power_min, twist_normal, twist_reverse, rel_peak, neighbour_max;
    float freq_limit[8];     /* largest offset accepted at each DTMF frequency, Hz */
    float recent[CR_DTMF_BLOCKS * CR_DTMF_HOP]; /* the last window's samples, block by block */
    cr_dtmf_event events[CR_DTMF_MAX_EVENTS];
    int n_events;
} cr_dtmf;

/* Acceptance criteria: ITU-T Q.24's AT&T column (the default) or its NTT column. */
typedef enum cr_dtmf_profile { CR_DTMF_ATT = 0, CR_DTMF_NTT = 1 } cr_dtmf_profile;

/* rate_hz: 8000 or 16000. Returns 0, or -1 for another rate or profile. */
int cr_dtmf_init(cr_dtmf *d, int rate_hz);
int cr_dtmf_init_profile(cr_dtmf *d, int rate_hz, cr_dtmf_profile profile);

/* Analyses n samples. Events decided during the call are in d->events[0..d->n_events); the
   list is cleared at the start of each call. Returns d->n_events. */
int cr_dtmf_process(cr_dtmf *d, const int16_t *x, size_t n);

/* 1 while a DTMF-like pair is present or a digit is in progress (for the speech detector). */
int cr_dtmf_tone_present(const cr_dtmf *d);

#endif
