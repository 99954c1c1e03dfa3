/* DTMF receiver: Goertzel analysis on sliding windows, with a frequency test by phase
   progression and a coverage test that makes durations level-independent. Runs at 8 kHz;
   16 kHz input is decimated internally. No allocation, no I/O. */
#ifndef CR_DTMF_H
#define CR_DTMF_H

#include <stddef.h>
#include <stdint.h>

#define CR_DTMF_HOP 16                          /* samples at 8 kHz: 2 ms between windows */
#define CR_DTMF_BLOCKS 7                        /* window = 7 hops = 112 samples = 14 ms */
#define CR_DTMF_FILTERS 10                      /* 8 DTMF frequencies + 2 dial-tone ones */
#define CR_DTMF_PHASE_LAG 3                     /* windows compared for the frequency test */
#define CR_DTMF_HB_TAPS 31                      /* 16 -> 8 kHz half-band decimator */
#define CR_DTMF_MAX_EVENTS 8

typedef enum cr_dtmf_event_kind { CR_DTMF_BEGIN, CR_DTMF_END } cr_dtmf_event_kind;

typedef struct cr_dtmf_event {
    cr_dtmf_event_kind kind;
    char key;
    int64_t onset;     /* BEGIN: estimated tone onset, input samples since init */
    int64_t at;        /* when decided (BEGIN: confirmation; END: the tone's last sample) */
} cr_dtmf_event;

typedef struct cr_dtmf {
    int in_rate;
    /* decimator (16 kHz only) */
    float hb[CR_DTMF_HB_TAPS];
    float hb_hist[2 * CR_DTMF_HB_TAPS];
    int hb_pos, hb_odd;
    /* analysis tables */
    float cos_tab[CR_DTMF_FILTERS][CR_DTMF_HOP];
    float sin_tab[CR_DTMF_FILTERS][CR_DTMF_HOP];
    double rot_re[CR_DTMF_FILTERS], rot_im[CR_DTMF_FILTERS]; /* e^{-j w b} at block start b */
    double step_re[CR_DTMF_FILTERS], step_im[CR_DTMF_FILTERS];
    /* current hop being filled */
    float hop[CR_DTMF_HOP];
    int hop_fill;
    /* per-hop results of the last CR_DTMF_BLOCKS hops */
    float blk_re[CR_DTMF_BLOCKS][CR_DTMF_FILTERS], blk_im[CR_DTMF_BLOCKS][CR_DTMF_FILTERS];
    float blk_energy[CR_DTMF_BLOCKS];
    int blk_pos, blk_count;
    /* window sums of the last CR_DTMF_PHASE_LAG + 1 windows (DTMF filters only) */
    float win_re[CR_DTMF_PHASE_LAG + 1][8], win_im[CR_DTMF_PHASE_LAG + 1][8];
    int win_pos;
    int64_t n8;        /* 8 kHz samples analysed */
    int64_t n_in;      /* input samples consumed */
    /* decision state, in 8 kHz samples */
    char cand;         /* key whose hits are being accumulated, 0 if none */
    int confirmed;     /* the candidate was reported */
    int64_t first_hit, last_hit_end;
    int misses;
    int present;       /* last window looked like a DTMF pair (no duration test) */
    cr_dtmf_event events[CR_DTMF_MAX_EVENTS];
    int n_events;
} cr_dtmf;

/* rate_hz: 8000 or 16000. Returns 0, or -1 for another rate. */
int cr_dtmf_init(cr_dtmf *d, int rate_hz);

/* Analyses n samples. Events decided during the call are in d->events[0..d->n_events); the
   list is cleared at the start of each call. Returns d->n_events. */
int cr_dtmf_process(cr_dtmf *d, const int16_t *x, size_t n);

/* 1 while a DTMF-like pair is present or a digit is in progress (for the speech detector). */
int cr_dtmf_tone_present(const cr_dtmf *d);

/* Algorithmic delay of the decimator, in input samples (already removed from onsets). */
int cr_dtmf_input_delay(const cr_dtmf *d);

#endif
