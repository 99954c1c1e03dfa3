#include "dtmf.h"
#include "clones.h"
#include "dtmf_freqs.h"
#include "dtmf_tables.h"

#include <math.h>
#include <string.h>

#define ANALYSIS_RATE CR_DTMF_ANALYSIS_RATE
#define WINDOW (CR_DTMF_HOP * CR_DTMF_BLOCKS) /* 112 samples: 14 ms, bins 71.4 Hz apart, so
                                                  the closest rows (73 Hz) sit near a null */
#define LANE_350 8
#define LANE_425 9
#define LANE_440 10

/* ---- Decision table (levels are per tone; powers are window |X|^2) ---------------------- */

/* Weakest tone accepted. Q.24 (AT&T) must accept 0..-25 dBm0 with up to 8 dB twist, so the
   weaker tone can be at -33 dBm0; 3 dB margin below that. Must reject <= -55 dBm0. */
#define MIN_TONE_DBM0 (-36.0)
/* Twist. Q.24 AT&T must accept the column tone 8 dB weaker (normal) and 4 dB stronger
   (reverse) than the row tone and sets no rejection limit. An echo 10 dB down scales each tone
   by 0.68..1.32 with its phase, moving twist by up to 5.7 dB, so the limits are the MT8870's
   8 dB both ways plus 2 dB of margin normal (where telephone lines put their loss). */
#define TWIST_NORMAL_DB 10.0
#define TWIST_REVERSE_DB 8.0
/* Every other row (column) must be this far below the best one (Underwood's relative-peak
   test, as in spandsp and Asterisk). */
#define RELATIVE_PEAK_DB 8.0
/* The two tones must carry this share of the window's energy. The edge test below keeps
   accepted windows at least 90 % covered (0.9), a +1.5 % + 2 Hz offset costs 0.45 dB (0.90),
   12 dB S/N 0.97: 0.79 in the worst accepted case. Speech spreads its energy over many
   harmonics and rarely gets there. */
#define TONE_ENERGY_SHARE 0.70f
#define TONE_ENERGY_PRESHARE 0.55f
/* Talk-off. Voiced speech can put two harmonics on a row and a column for 25 ms, but its other
   harmonics remain. Each window's two tones are corrected for the window's response at the
   candidate's mean frequency offsets (a digit's frequencies are fixed; a gliding voice is then
   corrected at the wrong frequency) and averaged over the candidate's fully referenced windows.
   Clean digits average >= 95 % and are confirmed at the usual duration. Marginal candidates,
   90..95 %, must also last 38 ms (real digits last >= 40 ms): the hardest real cases measured
   (3000 digits each: both tones at the frequency-accept edge, 12 dB S/N, -25/-33 dBm0 twisted
   in noise) average 92 %; the voiced candidates of the espeak-ng corpus average 72..91 % and
   last about 30 ms. Below 90 %, nothing is confirmed. */
#define CLEAR_SHARE 0.95f
/* Harmonic neighbours. Two adjacent harmonics k and k + 1 of a voice that land on a row and a
   column come with harmonics k - 1 and k + 2, one spacing below the row and above the column;
   a digit leaves those frequencies empty (its own leakage there is below -24 dB, noise at
   12 dB S/N about -28 dB). They must be this far below the weaker tone: a third tone at
   -16 dB (the MT8870's tolerance) anywhere still passes. espeak-ng's en+f1 at pitch 80 held a
   238 Hz voice whose harmonics 4 and 5 sat on 941 and 1209 Hz (key '*') with 96 % of the
   energy, and harmonics 3 and 6 about 11 dB below them. */
#ifndef NEIGHBOUR_DB
#define NEIGHBOUR_DB 14.0
#endif
#define CONFIRM_SHARE 0.90f
#define MARGINAL_CONFIRM_SAMPLES 304 /* 38 ms */
/* Coverage. Both halves of the window (3 of 7 blocks each) hold energy within 3 dB of each
   other, and the first and last 2 ms blocks each hold at least a quarter of the mean block
   energy. A two-tone pair beats at >= 268 Hz, which moves 6 ms energies by < 1.8 dB and 2 ms
   energies down to 0.41 of the mean, so steady tones pass; a window that reaches more than
   about 1.5 ms past either end of a tone fails. Measured durations are then within a few
   ms of the truth at any level. */
#define COVERAGE_HALVES 0.5f
#define COVERAGE_EDGE 0.25f
/* Frequency test: the phase advance between windows CR_DTMF_PHASE_LAG hops apart gives the
   tone's offset from nominal. Q.24 AT&T / MT8870: accept +-(1.5 % + 2 Hz), reject +-3.5 %;
   the limit sits halfway. */
#define FREQ_ACCEPT_REL 0.015
#define FREQ_ACCEPT_ABS_HZ 2.0
#define FREQ_REJECT_REL 0.035
/* Duration that confirms a digit, from its estimated onset to the estimated end of its latest
   accepted window. Q.24 (AT&T) must reject <= 23 ms and accept >= 40 ms; NTT rejects <= 24.
   The estimates are good to about half a millisecond (the duration sweep of bench_dtmf), so
   the boundary sits just above 24 ms and a digit is reported about 25 ms after it began. */
#define CONFIRM_SAMPLES 197 /* 24.6 ms */
/* Edge estimates look at the first and last 4 ms of a window against the energy of the 10 ms
   beside them: over 4 ms and 10 ms the >= 268 Hz beat of two tones moves energies by less
   than 7 % and 10 %. */
#define EDGE_BLOCKS 2
/* Misses that end a digit. A 10 ms break spoils at most (14 + 10) / 2 = 12 windows and must
   be bridged; a 40 ms pause spoils at least 20 and must separate two digits. */
#define MISSES_TO_END 16
/* Dial tone (350 + 440 Hz, or 425 Hz) 22 dB above the weakest accepted DTMF tone leaks into
   the 697 Hz bin at about the DTMF level. Dial tone is steady for seconds: when it holds 80 %
   (a 350 + 440 Hz pair) or 95 % (one tone) of the energy of 50 windows in a row (100 ms) at
   -40 dBm0 or more, notches at 350, 425 and 440 Hz engage for the rest of the call. (At 80 %
   for one tone, high-pitched synthetic voices whose fundamental sits on 350 or 440 Hz engaged
   it, and a notched voice is easier to mistake for a digit: espeak-ng's en+f2 and en+f3 at
   pitch 90-99 did both. A generated single dial tone is pure: 22 dB above a digit or 15 dB
   above line noise it still holds 97 %; a pair's two bins leak into each other, which moves
   their sum by up to about 15 %.) The 425 and 440 Hz bins overlap, so only the larger
   counts. The dial-tone power must hold within 2 dB from one window to the next (the 350 +
   440 Hz pair moves it by about 1.4 dB), and either both 350 and 440 Hz are present within
   6 dB of each other, or a single tone sits within 5 Hz of 350, 425 or 440 Hz (dial tones are
   generated exactly; a voiced harmonic wanders). A window that fails costs two of the count. None of the speech prompts of
   asterisk-core-sounds-en-wav engages it (bench_dtmf and the dtmf test check). */
#define DIAL_PAIR_SHARE 0.8f
#define DIAL_SINGLE_SHARE 0.95f
#define DIAL_STEADY 1.585f /* 2 dB */
#define DIAL_FREQ_HZ 5.0
#define DIAL_MIN_DBM0 (-40.0)
#define DIAL_WINDOWS 50
#define NOTCH_RADIUS 0.97

static const char keymap[4][4] = {
    {'1', '2', '3', 'A'}, {'4', '5', '6', 'B'}, {'7', '8', '9', 'C'}, {'*', '0', '#', 'D'}};

/* Power of a sine of peak amplitude a on its bin: |X| = a N / 2. */
static float bin_power(double dbm0)
{
    double a = 22702.0 * pow(10.0, dbm0 / 20.0) * WINDOW / 2.0;
    return (float)(a * a);
}

/* What each profile must accept and reject; the detector's limits sit between. */
static const struct profile {
    double accept_rel, accept_abs_hz, reject_rel; /* frequency offsets */
    double min_tone_dbm0;                         /* weakest tone accepted */
    double twist_normal_db, twist_reverse_db;
    int confirm_samples;
} profiles[2] = {
    [CR_DTMF_ATT] = {FREQ_ACCEPT_REL, FREQ_ACCEPT_ABS_HZ, FREQ_REJECT_REL, MIN_TONE_DBM0,
                     TWIST_NORMAL_DB, TWIST_REVERSE_DB, CONFIRM_SAMPLES},
    /* NTT: accept +-1.8 %, reject +-3.0 %; levels -3..-24 dBm accepted, <= -29 rejected (the
       limit halfway, -26.5); twist +-5 dB accepted (8 dB both ways, as the MT8870); <= 24 ms
       rejected (26.5 ms confirms: the estimates are within half a millisecond, but one 24 ms
       tone in 1,600 measured 25.5). */
    [CR_DTMF_NTT] = {0.018, 0.0, 0.030, -26.5, 8.0, 8.0, 212},
};

int cr_dtmf_init(cr_dtmf *d, int rate_hz) { return cr_dtmf_init_profile(d, rate_hz, CR_DTMF_ATT); }

int cr_dtmf_init_profile(cr_dtmf *d, int rate_hz, cr_dtmf_profile profile)
{
    const double two_pi = 6.283185307179586;
    if ((rate_hz != 8000 && rate_hz != 16000) || (profile != CR_DTMF_ATT && profile != CR_DTMF_NTT))
        return -1;
    const struct profile *pr = &profiles[profile];
    memset(d, 0, sizeof *d);
    d->in_rate = rate_hz;
    d->confirm = pr->confirm_samples;
    for (int f = 0; f < 8; f++)
        d->freq_limit[f] = (float)(0.5 * (pr->accept_rel * cr_dtmf_freqs[f] + pr->accept_abs_hz +
                                          pr->reject_rel * cr_dtmf_freqs[f]));
    d->confirm_share = CONFIRM_SHARE;

    for (int f = 0; f < 11; f++) {
        double w = two_pi * cr_dtmf_freqs[f] / ANALYSIS_RATE;
        d->rot_re[f] = 1.0f;
        d->step_re[f] = (float)cos(w * CR_DTMF_HOP);
        d->step_im[f] = (float)-sin(w * CR_DTMF_HOP);
    }

    for (int k = 0; k < 3; k++) {
        double w = two_pi * cr_dtmf_freqs[LANE_350 + k] / ANALYSIS_RATE, r = NOTCH_RADIUS;
        d->nb[k][0] = (float)(-2.0 * cos(w));
        d->nb[k][1] = 1.0f;
        d->na[k][0] = (float)(-2.0 * r * cos(w));
        d->na[k][1] = (float)(r * r);
    }
    for (int f = 0; f < 8; f++) {
        double w = two_pi * cr_dtmf_freqs[f] / ANALYSIS_RATE, g2 = 1.0;
        for (int k = 0; k < 3; k++) {
            /* |H(e^jw)|^2 of z^-2 + b1 z^-1 + 1 over a2 z^-2 + a1 z^-1 + 1 */
            double nr = 1.0 + d->nb[k][0] * cos(w) + cos(2 * w);
            double ni = -d->nb[k][0] * sin(w) - sin(2 * w);
            double dr = 1.0 + d->na[k][0] * cos(w) + d->na[k][1] * cos(2 * w);
            double di = -d->na[k][0] * sin(w) - d->na[k][1] * sin(2 * w);
            g2 *= (nr * nr + ni * ni) / (dr * dr + di * di);
        }
        d->gain_comp[f] = (float)(1.0 / g2);
    }

    d->power_min = bin_power(pr->min_tone_dbm0);
    d->dial_power_min = bin_power(DIAL_MIN_DBM0);
    d->twist_normal = powf(10.0f, (float)pr->twist_normal_db / 10.0f);
    d->twist_reverse = powf(10.0f, (float)pr->twist_reverse_db / 10.0f);
    d->rel_peak = powf(10.0f, (float)RELATIVE_PEAK_DB / 10.0f);
    d->neighbour_max = powf(10.0f, -(float)NEIGHBOUR_DB / 10.0f);
    return 0;
}

int cr_dtmf_tone_present(const cr_dtmf *d) { return d->present || (d->cand && d->confirmed); }

static void emit(cr_dtmf *d, cr_dtmf_event_kind kind, int64_t onset8, int64_t at8)
{
    if (d->n_events >= CR_DTMF_MAX_EVENTS)
        return;
    /* 8 kHz sample p stands for input sample 2p + 1 - 3 at 16 kHz (decimator delay). */
    int scale = d->in_rate / ANALYSIS_RATE, delay = d->in_rate == 16000 ? 2 : 0;
    int64_t onset = onset8 * scale - delay, at = at8 * scale - delay;
    cr_dtmf_event *e = &d->events[d->n_events++];
    e->kind = kind;
    e->key = d->cand;
    e->onset = onset < 0 ? 0 : onset;
    e->at = at < 0 ? 0 : at;
}

/* Power response of the rectangular window to a tone `hz` off the bin centre. */
static double kernel_gain(double hz)
{
    double x = 3.141592653589793 * hz / ANALYSIS_RATE;
    if (fabs(x) < 1e-9)
        return 1.0;
    double g = sin(WINDOW * x) / (WINDOW * sin(x));
    return g * g;
}


/* Offset of the tone in lane f from nominal, from the phase advance between the current
   window and the one CR_DTMF_PHASE_LAG hops before. */
static double freq_offset_hz(const cr_dtmf *d, int f)
{
    int now = d->win_pos, then = (d->win_pos + 1) % (CR_DTMF_PHASE_LAG + 1);
    double re = (double)d->win_re[now][f] * d->win_re[then][f] +
                (double)d->win_im[now][f] * d->win_im[then][f];
    double im = (double)d->win_im[now][f] * d->win_re[then][f] -
                (double)d->win_re[now][f] * d->win_im[then][f];
    return atan2(im, re) * ANALYSIS_RATE / (6.283185307179586 * CR_DTMF_PHASE_LAG * CR_DTMF_HOP);
}

/* |X|^2 of the window ending now (its 7 blocks, oldest first) at hz: a Goertzel filter. */
static float window_power(const cr_dtmf *d, double hz)
{
    double coeff = 2.0 * cos(6.283185307179586 * hz / ANALYSIS_RATE), s1 = 0.0, s2 = 0.0;
    for (int b = 0; b < CR_DTMF_BLOCKS; b++) {
        const float *x = d->recent + ((d->blk_pos + b) % CR_DTMF_BLOCKS) * CR_DTMF_HOP;
        for (int m = 0; m < CR_DTMF_HOP; m++) {
            double s0 = x[m] + coeff * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
    }
    return (float)(s1 * s1 + s2 * s2 - coeff * s1 * s2);
}

/* 1 if the harmonics a voice would have beside the pair (row_hz, col_hz) are there. */
static int harmonic_neighbours(const cr_dtmf *d, double row_hz, double col_hz, float weaker)
{
    double spacing = col_hz - row_hz;
    float limit = weaker * d->neighbour_max;
    if (row_hz - spacing > 100.0 && window_power(d, row_hz - spacing) > limit)
        return 1;
    return col_hz + spacing < 3800.0 && window_power(d, col_hz + spacing) > limit;
}

/* Judges the window ending now; returns its key or 0. */
static char judge_window(cr_dtmf *d)
{
    float total = 0.0f;
    for (int b = 0; b < CR_DTMF_BLOCKS; b++)
        total += d->blk_energy[b];
    /* Quiet windows cannot hold two tones at the minimum level: skip the rest. */
    if (total < 4.0f * d->power_min / WINDOW) {
        d->win_pos = (d->win_pos + 1) % (CR_DTMF_PHASE_LAG + 1);
        memset(d->win_re[d->win_pos], 0, sizeof d->win_re[0]);
        memset(d->win_im[d->win_pos], 0, sizeof d->win_im[0]);
        d->dial_windows = d->dial_windows > 2 ? d->dial_windows - 2 : 0;
        return 0;
    }

    float re[CR_DTMF_LANES] = {0}, im[CR_DTMF_LANES] = {0}, power[CR_DTMF_LANES];
    for (int b = 0; b < CR_DTMF_BLOCKS; b++) {
        for (int f = 0; f < CR_DTMF_LANES; f++) {
            re[f] += d->blk_re[b][f];
            im[f] += d->blk_im[b][f];
        }
    }
    for (int f = 0; f < CR_DTMF_LANES; f++)
        power[f] = re[f] * re[f] + im[f] * im[f];
    d->win_pos = (d->win_pos + 1) % (CR_DTMF_PHASE_LAG + 1);
    memcpy(d->win_re[d->win_pos], re, sizeof d->win_re[0]);
    memcpy(d->win_im[d->win_pos], im, sizeof d->win_im[0]);

    /* Energy of a sine in the window is 2 |X|^2 / N. */
    if (!d->notch_on) {
        float p = power[LANE_350] + (power[LANE_425] > power[LANE_440] ? power[LANE_425]
                                                                        : power[LANE_440]);
        float p44 = power[LANE_425] > power[LANE_440] ? power[LANE_425] : power[LANE_440];
        int pair = power[LANE_350] >= 0.25f * p44 && p44 >= 0.25f * power[LANE_350];
        int single = power[LANE_350] > p44 ? LANE_350
                                            : (power[LANE_425] > power[LANE_440] ? LANE_425 : LANE_440);
        float share = pair ? DIAL_PAIR_SHARE : DIAL_SINGLE_SHARE;
        int heard = 2.0f * p / WINDOW >= share * total && p >= d->dial_power_min &&
                    p <= DIAL_STEADY * d->dial_last && d->dial_last <= DIAL_STEADY * p &&
                    d->blk_count >= CR_DTMF_BLOCKS + CR_DTMF_PHASE_LAG &&
                    (pair || fabs(freq_offset_hz(d, single)) <= DIAL_FREQ_HZ);
        d->dial_last = p;
        /* Two tones 90 Hz apart wobble each other's phase now and then: a miss costs two
           windows rather than all of them. */
        d->dial_windows = heard ? d->dial_windows + 1 : (d->dial_windows > 2 ? d->dial_windows - 2 : 0);
        if (d->dial_windows >= DIAL_WINDOWS)
            d->notch_on = 1;
    }
    /* Levels and twist are judged on the caller's signal, so undo the notches' gain at each
       DTMF frequency; energy shares compare like with like, both after the notches. */
    float raw[8];
    memcpy(raw, power, sizeof raw);
    if (d->notch_on)
        for (int f = 0; f < 8; f++)
            power[f] *= d->gain_comp[f];

    int r = 0, c = 4;
    for (int f = 1; f < 4; f++)
        if (power[f] > power[r])
            r = f;
    for (int f = 5; f < 8; f++)
        if (power[f] > power[c])
            c = f;
    if (power[r] < d->power_min || power[c] < d->power_min)
        return 0;
    if (power[r] > power[c] * d->twist_normal || power[c] > power[r] * d->twist_reverse)
        return 0;
    for (int f = 0; f < 8; f++)
        if (f != r && f != c && power[f] * d->rel_peak > (f < 4 ? power[r] : power[c]))
            return 0;
    if (2.0f * (raw[r] + raw[c]) / WINDOW < TONE_ENERGY_PRESHARE * total)
        return 0;

    const float *e = d->blk_energy;
    int oldest = d->blk_pos, newest = (d->blk_pos + CR_DTMF_BLOCKS - 1) % CR_DTMF_BLOCKS;
    float first = 0.0f, last = 0.0f, mean = total / CR_DTMF_BLOCKS;
    for (int b = 0; b < 3; b++) {
        first += e[(oldest + b) % CR_DTMF_BLOCKS];
        last += e[(newest + CR_DTMF_BLOCKS - b) % CR_DTMF_BLOCKS];
    }
    if (first < COVERAGE_HALVES * last || last < COVERAGE_HALVES * first ||
        e[oldest] < COVERAGE_EDGE * mean || e[newest] < COVERAGE_EDGE * mean)
        return 0;

    /* How much of the window's first and last 4 ms the tone leaves empty. */
    float head = 0.0f, tail = 0.0f, head_ref = 0.0f, tail_ref = 0.0f;
    for (int b = 0; b < CR_DTMF_BLOCKS; b++) {
        float eb = e[(oldest + b) % CR_DTMF_BLOCKS];
        if (b < EDGE_BLOCKS)
            head += eb;
        else
            head_ref += eb;
        if (b >= CR_DTMF_BLOCKS - EDGE_BLOCKS)
            tail += eb;
        else
            tail_ref += eb;
    }
    const float span = EDGE_BLOCKS * CR_DTMF_HOP, others = CR_DTMF_BLOCKS - EDGE_BLOCKS;
    float hf = 1.0f - head / (head_ref * EDGE_BLOCKS / others);
    float tf = 1.0f - tail / (tail_ref * EDGE_BLOCKS / others);
    d->head_gap = span * (hf < 0.0f ? 0.0f : (hf > 1.0f ? 1.0f : hf));
    d->tail_gap = span * (tf < 0.0f ? 0.0f : (tf > 1.0f ? 1.0f : tf));

    d->present = 1;
    if (d->blk_count < CR_DTMF_BLOCKS + CR_DTMF_PHASE_LAG)
        return 0;
    double off_r = freq_offset_hz(d, r), off_c = freq_offset_hz(d, c);
    if (fabs(off_r) > d->freq_limit[r] || fabs(off_c) > d->freq_limit[c])
        return 0;
    /* Energy of the two tones, each corrected for the window's response at its measured
       offset: what share of the window two pure tones explain. */
    float share = 2.0f * (float)(raw[r] / kernel_gain(off_r) + raw[c] / kernel_gain(off_c)) /
                  WINDOW / total;
    if (share < TONE_ENERGY_SHARE)
        return 0;
    if (harmonic_neighbours(d, cr_dtmf_freqs[r] + off_r, cr_dtmf_freqs[c] + off_c, raw[r] < raw[c] ? raw[r] : raw[c]))
        return 0;
    d->hit_power[0] = raw[r];
    d->hit_power[1] = raw[c];
    d->hit_total = total;
    d->hit_off[0] = (float)off_r;
    d->hit_off[1] = (float)off_c;
    return keymap[r][c - 4];
}

static void decide(cr_dtmf *d, char hit)
{
    if (hit) {
        if (hit != d->cand) {
            if (d->cand && d->confirmed)
                emit(d, CR_DTMF_END, d->onset, d->tone_end);
            d->cand = hit;
            d->confirmed = 0;
            d->onset = d->n8 - WINDOW + (int64_t)lrintf(d->head_gap);
            d->share_sum = 0.0f;
            d->off_sum[0] = d->off_sum[1] = 0.0;
            d->hits = 0;
        }
        d->tone_end = d->n8 - (int64_t)lrintf(d->tail_gap);
        d->misses = 0;
        /* Windows count once the reference window 6 ms back was a hit too (edge windows
           carry partial coverage and biased frequency estimates). */
        if (++d->hits > CR_DTMF_PHASE_LAG) {
            /* A digit's frequencies are fixed: compensate each window with the candidate's
               mean offsets, steadier than one window's estimate. A gliding voice is then
               compensated at the wrong frequency and explains less. */
            int n = d->hits - CR_DTMF_PHASE_LAG;
            d->off_sum[0] += d->hit_off[0];
            d->off_sum[1] += d->hit_off[1];
            double share = 2.0 * (d->hit_power[0] / kernel_gain(d->off_sum[0] / n) +
                                  d->hit_power[1] / kernel_gain(d->off_sum[1] / n)) /
                           WINDOW / d->hit_total;
            d->share_sum += (float)share;
        }
        int64_t duration = d->tone_end - d->onset;
        float mean = d->hits > CR_DTMF_PHASE_LAG + 1
                         ? d->share_sum / (float)(d->hits - CR_DTMF_PHASE_LAG)
                         : 0.0f;
        if (!d->confirmed && ((duration >= d->confirm && mean >= CLEAR_SHARE) ||
                              (duration >= MARGINAL_CONFIRM_SAMPLES && mean >= d->confirm_share))) {
            d->confirmed = 1;
            emit(d, CR_DTMF_BEGIN, d->onset, d->n8);
        }
    } else if (d->cand && ++d->misses >= MISSES_TO_END) {
        if (d->confirmed)
            emit(d, CR_DTMF_END, d->onset, d->tone_end);
        d->cand = 0;
        d->confirmed = 0;
    }
}

/* 8 lanes at once: GCC/Clang vector extensions compile to one AVX register, or two SSE. */
typedef float v8 __attribute__((vector_size(32)));
#define NV (CR_DTMF_LANES / 8)

/* One 2 ms block: its DFT at every lane, and its energy. Laid out sample-major so each input
   sample updates all 16 lanes with four vector multiply-adds; an AVX2 build is chosen at run
   time where the CPU has it. */
CR_CLONES("avx2,fma")
static float block_dft(const float *x, const v8 *ct, const v8 *st, const v8 *rot_re,
                       const v8 *rot_im, v8 *out_re, v8 *out_im)
{
    v8 c[NV] = {{0}}, s[NV] = {{0}};
    float energy = 0.0f;
    for (int m = 0; m < CR_DTMF_HOP; m++) {
        float v = x[m];
        energy += v * v;
        for (int k = 0; k < NV; k++) {
            c[k] += v * ct[m * NV + k];
            s[k] += v * st[m * NV + k];
        }
    }
    /* The block DFT is c - j s; refer its phase to absolute time with e^{-j w b}, so a steady
       tone keeps its phase from window to window except for its offset from nominal. */
    for (int k = 0; k < NV; k++) {
        out_re[k] = c[k] * rot_re[k] + s[k] * rot_im[k];
        out_im[k] = c[k] * rot_im[k] - s[k] * rot_re[k];
    }
    return energy;
}

static void analyse_block(cr_dtmf *d)
{
    memcpy(d->recent + d->blk_pos * CR_DTMF_HOP, d->hop, sizeof d->hop);
    v8 *rr = (v8 *)d->rot_re, *ri = (v8 *)d->rot_im;
    const v8 *sr = (const v8 *)d->step_re, *si = (const v8 *)d->step_im;
    d->blk_energy[d->blk_pos] =
        block_dft(d->hop, (const v8 *)dtmf_cos_tab, (const v8 *)dtmf_sin_tab, rr, ri,
                  (v8 *)d->blk_re[d->blk_pos], (v8 *)d->blk_im[d->blk_pos]);
    for (int k = 0; k < NV; k++) {
        v8 r = rr[k] * sr[k] - ri[k] * si[k];
        ri[k] = rr[k] * si[k] + ri[k] * sr[k];
        rr[k] = r;
    }
    /* Float rotators drift in magnitude by ~1e-7 a step; renormalise now and then. */
    if (++d->hops_since_norm == 256) {
        d->hops_since_norm = 0;
        for (int f = 0; f < 11; f++) {
            float m = sqrtf(d->rot_re[f] * d->rot_re[f] + d->rot_im[f] * d->rot_im[f]);
            d->rot_re[f] /= m;
            d->rot_im[f] /= m;
        }
    }
    d->blk_pos = (d->blk_pos + 1) % CR_DTMF_BLOCKS;
    d->blk_count++;
    d->n8 += CR_DTMF_HOP;
    d->present = 0;
    if (d->blk_count >= CR_DTMF_BLOCKS)
        decide(d, judge_window(d));
}

/* Dial-tone notches, once engaged: transposed direct form II, b0 = b2 = 1. */
static void notch(cr_dtmf *d, float *x, int n)
{
    for (int k = 0; k < 3; k++) {
        float z0 = d->nz[k][0], z1 = d->nz[k][1];
        const float b1 = d->nb[k][0], a1 = d->na[k][0], a2 = d->na[k][1];
        for (int i = 0; i < n; i++) {
            float v = x[i], y = v + z0;
            z0 = b1 * v - a1 * y + z1;
            z1 = v - a2 * y;
            x[i] = y;
        }
        d->nz[k][0] = z0;
        d->nz[k][1] = z1;
    }
}

/* New 8 kHz samples are in the block buffer: notch them if needed, and analyse the block
   when it is full. */
static void hop_filled(cr_dtmf *d)
{
    if (d->notch_on && d->hop_fill > d->hop_notched)
        notch(d, d->hop + d->hop_notched, d->hop_fill - d->hop_notched);
    d->hop_notched = d->hop_fill;
    if (d->hop_fill == CR_DTMF_HOP) {
        d->hop_fill = d->hop_notched = 0;
        analyse_block(d);
    }
}

/* 7-tap half-band (-1 0 9 16 9 0 -1) / 32 with an output every second input: flat to 0.25 dB
   below 1.7 kHz and -30 dB from 6.3 kHz, which is all that folds onto the DTMF band; delay 3
   inputs. With even inputs E[j] = x[2j] and odd ones O[j] = x[2j+1], output j is
   (16 E[j-1] + 9 (O[j-1] + O[j-2]) - (O[j] + O[j-3])) / 32: split into the two phases, the
   filter is a straight loop the compiler vectorises. History: E[-1] and O[-3..-1]. */
#define DEC_CHUNK 64
CR_CLONES("avx2")
static void push8(cr_dtmf *d, const int16_t *x, size_t pairs)
{
    float e[1 + DEC_CHUNK], o[3 + DEC_CHUNK], y[DEC_CHUNK];
    e[0] = d->hb_hist[0];
    o[0] = d->hb_hist[1], o[1] = d->hb_hist[2], o[2] = d->hb_hist[3];
    for (size_t j = 0; j < pairs; j++) {
        e[1 + j] = (float)x[2 * j];
        o[3 + j] = (float)x[2 * j + 1];
    }
    for (size_t j = 0; j < pairs; j++)
        y[j] = 0.5f * e[j] + 0.28125f * (o[j + 2] + o[j + 1]) - 0.03125f * (o[j + 3] + o[j]);
    d->hb_hist[0] = e[pairs];
    d->hb_hist[1] = o[pairs], d->hb_hist[2] = o[pairs + 1], d->hb_hist[3] = o[pairs + 2];
    for (size_t j = 0; j < pairs;) {
        size_t take = (size_t)(CR_DTMF_HOP - d->hop_fill);
        if (take > pairs - j)
            take = pairs - j;
        memcpy(d->hop + d->hop_fill, y + j, take * sizeof *y);
        d->hop_fill += (int)take;
        j += take;
        hop_filled(d);
    }
}

int cr_dtmf_process(cr_dtmf *d, const int16_t *x, size_t n)
{
    d->n_events = 0;
    if (d->in_rate == ANALYSIS_RATE) {
        while (n > 0) {
            int from = d->hop_fill, take = CR_DTMF_HOP - from;
            if ((size_t)take > n)
                take = (int)n;
            for (int i = 0; i < take; i++)
                d->hop[from + i] = (float)x[i];
            d->hop_fill += take;
            x += take;
            n -= (size_t)take;
            hop_filled(d);
        }
        return d->n_events;
    }
    const int16_t *end = x + n;
    if (d->hb_idx && x < end) { /* an even input waits from the last call */
        int16_t pair[2] = {(int16_t)d->hb_hist[4], *x++};
        d->hb_idx = 0;
        push8(d, pair, 1);
    }
    while (end - x >= 2) {
        size_t pairs = (size_t)(end - x) / 2;
        if (pairs > DEC_CHUNK)
            pairs = DEC_CHUNK;
        push8(d, x, pairs);
        x += 2 * pairs;
    }
    if (x < end) {
        d->hb_hist[4] = (float)*x;
        d->hb_idx = 1;
    }
    return d->n_events;
}
