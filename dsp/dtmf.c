#include "dtmf.h"

#include <math.h>
#include <string.h>

#define ANALYSIS_RATE 8000
#define WINDOW (CR_DTMF_HOP * CR_DTMF_BLOCKS) /* 112 samples: 14 ms, bins 71.4 Hz apart, so
                                                  the closest rows (73 Hz) sit near a null */

/* Decision table. Levels are per tone; energies are window powers |X|^2. */

/* Weakest tone accepted. Q.24 (AT&T) must accept 0..-25 dBm0 with up to 8 dB twist, so the
   weaker tone can be at -33 dBm0; 3 dB margin below that. Must reject <= -55 dBm0. */
#define MIN_TONE_DBM0 (-36.0)
/* Twist, Q.24 AT&T: accept the column tone up to 8 dB weaker (normal) and 4 dB stronger
   (reverse) than the row tone; 1 dB margin for estimation error at low levels. */
#define TWIST_NORMAL_DB 9.0
#define TWIST_REVERSE_DB 5.0
/* Every other row (column) must be this far below the best one (Underwood's relative-peak
   test, as in spandsp and Asterisk: 8 dB). */
#define RELATIVE_PEAK_DB 8.0
/* The two tones must carry this share of the window's energy once dial tone (350 + 440 Hz)
   is set aside. A window 3 ms short of full coverage keeps 0.79 of it, a +1.5 % offset
   0.90, and 12 dB S/N 0.97: 0.69 in the worst accepted case. Speech spreads its energy over
   many harmonics and rarely reaches it. */
#define TONE_ENERGY_SHARE 0.60f
/* Both halves of the window (3 of 7 blocks each) must hold energy within 3 dB of each other:
   a two-tone pair beats at >= 268 Hz, which moves 6 ms energies by < 1.8 dB, while a window
   that overlaps the tone's start or end by less than about 3 ms fails. This makes the
   measured duration independent of the level. */
#define COVERAGE_RATIO 0.5f
/* Frequency test: the phase advance between windows CR_DTMF_PHASE_LAG hops apart gives the
   tone's offset from nominal. Q.24 AT&T / MT8870: accept +-(1.5 % + 2 Hz), reject +-3.5 %;
   the limit sits halfway. */
#define FREQ_ACCEPT_REL 0.015
#define FREQ_ACCEPT_ABS_HZ 2.0
#define FREQ_REJECT_REL 0.035
/* Duration: Q.24 must reject <= 23 ms and accept >= 40 ms. The measured duration runs about
   3 ms long (coverage test), and windows are 2 ms apart. */
#define CONFIRM_MS 30
/* Where the tone began relative to the first accepted window's start (measured). */
#define ONSET_BACKOFF_SAMPLES 0
/* Misses that end a digit. A 10 ms break spoils at most (14 + 10) / 2 = 12 windows and must
   be bridged; a 40 ms pause spoils at least 19 and must separate two digits. */
#define MISSES_TO_END 16

static const double freqs[CR_DTMF_FILTERS] = {697.0,  770.0,  852.0,  941.0, 1209.0,
                                               1336.0, 1477.0, 1633.0, 350.0, 440.0};
static const char keymap[4][4] = {
    {'1', '2', '3', 'A'}, {'4', '5', '6', 'B'}, {'7', '8', '9', 'C'}, {'*', '0', '#', 'D'}};

int cr_dtmf_init(cr_dtmf *d, int rate_hz)
{
    const double two_pi = 6.283185307179586;
    if (rate_hz != 8000 && rate_hz != 16000)
        return -1;
    memset(d, 0, sizeof *d);
    d->in_rate = rate_hz;

    /* Half-band low-pass at a quarter of 16 kHz, Blackman-windowed sinc: > 70 dB down from
       6.2 kHz, which is what would fold onto the DTMF band (below 1.8 kHz). */
    const int mid = (CR_DTMF_HB_TAPS - 1) / 2;
    double sum = 0.0;
    for (int i = 0; i < CR_DTMF_HB_TAPS; i++) {
        int k = i - mid;
        double sinc = k == 0 ? 0.5 : sin(0.5 * 3.141592653589793 * k) / (3.141592653589793 * k);
        double w = 0.42 - 0.5 * cos(two_pi * i / (CR_DTMF_HB_TAPS - 1)) +
                   0.08 * cos(2.0 * two_pi * i / (CR_DTMF_HB_TAPS - 1));
        d->hb[i] = (float)(sinc * w);
        sum += sinc * w;
    }
    for (int i = 0; i < CR_DTMF_HB_TAPS; i++)
        d->hb[i] = (float)(d->hb[i] / sum);

    for (int f = 0; f < CR_DTMF_FILTERS; f++) {
        double w = two_pi * freqs[f] / ANALYSIS_RATE;
        for (int m = 0; m < CR_DTMF_HOP; m++) {
            d->cos_tab[f][m] = (float)cos(w * m);
            d->sin_tab[f][m] = (float)sin(w * m);
        }
        d->rot_re[f] = 1.0;
        d->rot_im[f] = 0.0;
        d->step_re[f] = cos(w * CR_DTMF_HOP);
        d->step_im[f] = -sin(w * CR_DTMF_HOP);
    }
    return 0;
}

int cr_dtmf_input_delay(const cr_dtmf *d)
{
    return d->in_rate == 16000 ? (CR_DTMF_HB_TAPS - 1) / 2 : 0;
}

int cr_dtmf_tone_present(const cr_dtmf *d) { return d->present || (d->cand && d->confirmed); }

static void emit(cr_dtmf *d, cr_dtmf_event_kind kind, char key, int64_t onset8, int64_t at8)
{
    if (d->n_events >= CR_DTMF_MAX_EVENTS)
        return;
    int scale = d->in_rate / ANALYSIS_RATE;
    int delay = cr_dtmf_input_delay(d);
    int64_t onset = onset8 * scale - delay;
    int64_t at = at8 * scale - delay;
    cr_dtmf_event *e = &d->events[d->n_events++];
    e->kind = kind;
    e->key = key;
    e->onset = onset < 0 ? 0 : onset;
    e->at = at < 0 ? 0 : at;
}

static double freq_limit_hz(int f)
{
    double accept = FREQ_ACCEPT_REL * freqs[f] + FREQ_ACCEPT_ABS_HZ;
    double reject = FREQ_REJECT_REL * freqs[f];
    return 0.5 * (accept + reject);
}

/* Offset of the tone in filter f from its nominal frequency, from the phase advance between
   the current window and the one CR_DTMF_PHASE_LAG hops before. */
static double freq_offset_hz(const cr_dtmf *d, int f)
{
    int now = d->win_pos;
    int then = (d->win_pos + 1) % (CR_DTMF_PHASE_LAG + 1);
    double re = (double)d->win_re[now][f] * d->win_re[then][f] +
                (double)d->win_im[now][f] * d->win_im[then][f];
    double im = (double)d->win_im[now][f] * d->win_re[then][f] -
                (double)d->win_re[now][f] * d->win_im[then][f];
    double dphi = atan2(im, re);
    return dphi * ANALYSIS_RATE / (6.283185307179586 * CR_DTMF_PHASE_LAG * CR_DTMF_HOP);
}

static char judge_window(cr_dtmf *d)
{
    float re[CR_DTMF_FILTERS] = {0}, im[CR_DTMF_FILTERS] = {0};
    float power[CR_DTMF_FILTERS];
    float total = 0.0f, first = 0.0f, last = 0.0f;

    for (int b = 0; b < CR_DTMF_BLOCKS; b++) {
        int idx = (d->blk_pos + b) % CR_DTMF_BLOCKS; /* blk_pos is the oldest block */
        for (int f = 0; f < CR_DTMF_FILTERS; f++) {
            re[f] += d->blk_re[idx][f];
            im[f] += d->blk_im[idx][f];
        }
        total += d->blk_energy[idx];
        if (b < 3)
            first += d->blk_energy[idx];
        else if (b >= CR_DTMF_BLOCKS - 3)
            last += d->blk_energy[idx];
    }
    for (int f = 0; f < CR_DTMF_FILTERS; f++)
        power[f] = re[f] * re[f] + im[f] * im[f];

    d->win_pos = (d->win_pos + 1) % (CR_DTMF_PHASE_LAG + 1);
    memcpy(d->win_re[d->win_pos], re, sizeof d->win_re[0]);
    memcpy(d->win_im[d->win_pos], im, sizeof d->win_im[0]);

    int r = 0, c = 4;
    for (int f = 1; f < 4; f++)
        if (power[f] > power[r])
            r = f;
    for (int f = 5; f < 8; f++)
        if (power[f] > power[c])
            c = f;

    /* |X| = A * N / 2 for a sine of peak amplitude A on the bin. */
    const double amp_min = 22702.0 * pow(10.0, MIN_TONE_DBM0 / 20.0);
    const float power_min = (float)(amp_min * WINDOW / 2.0 * amp_min * WINDOW / 2.0);
    if (power[r] < power_min || power[c] < power_min)
        return 0;
    if (power[r] > power[c] * powf(10.0f, (float)TWIST_NORMAL_DB / 10.0f) ||
        power[c] > power[r] * powf(10.0f, (float)TWIST_REVERSE_DB / 10.0f))
        return 0;
    const float rel = powf(10.0f, (float)RELATIVE_PEAK_DB / 10.0f);
    for (int f = 0; f < 8; f++)
        if (f != r && f != c && power[f] * rel > (f < 4 ? power[r] : power[c]))
            return 0;
    /* Energy of a sine in the window is 2 |X|^2 / N. */
    float tone_energy = 2.0f * (power[r] + power[c]) / WINDOW;
    float dial_energy = 2.0f * (power[8] + power[9]) / WINDOW;
    float rest = total - dial_energy;
    if (tone_energy < TONE_ENERGY_SHARE * rest)
        return 0;
    float lo = first < last ? first : last, hi = first < last ? last : first;
    if (lo < COVERAGE_RATIO * hi)
        return 0;

    d->present = 1;
    if (d->blk_count < CR_DTMF_BLOCKS + CR_DTMF_PHASE_LAG)
        return 0;
    if (fabs(freq_offset_hz(d, r)) > freq_limit_hz(r) ||
        fabs(freq_offset_hz(d, c)) > freq_limit_hz(c))
        return 0;
    return keymap[r][c - 4];
}

static void decide(cr_dtmf *d, char hit)
{
    const int64_t confirm = (int64_t)CONFIRM_MS * ANALYSIS_RATE / 1000;
    if (hit) {
        if (hit != d->cand) {
            if (d->cand && d->confirmed)
                emit(d, CR_DTMF_END, d->cand, 0, d->last_hit_end);
            d->cand = hit;
            d->confirmed = 0;
            d->first_hit = d->n8 - WINDOW - ONSET_BACKOFF_SAMPLES;
        }
        d->last_hit_end = d->n8;
        d->misses = 0;
        if (!d->confirmed && d->last_hit_end - d->first_hit >= confirm) {
            d->confirmed = 1;
            emit(d, CR_DTMF_BEGIN, d->cand, d->first_hit, d->n8);
        }
    } else if (d->cand && ++d->misses >= MISSES_TO_END) {
        if (d->confirmed)
            emit(d, CR_DTMF_END, d->cand, d->first_hit, d->last_hit_end);
        d->cand = 0;
        d->confirmed = 0;
    }
}

static void analyse_hop(cr_dtmf *d)
{
    float *bre = d->blk_re[d->blk_pos], *bim = d->blk_im[d->blk_pos];
    float energy = 0.0f;
    for (int m = 0; m < CR_DTMF_HOP; m++)
        energy += d->hop[m] * d->hop[m];
    for (int f = 0; f < CR_DTMF_FILTERS; f++) {
        float sc = 0.0f, ss = 0.0f;
        for (int m = 0; m < CR_DTMF_HOP; m++) {
            sc += d->hop[m] * d->cos_tab[f][m];
            ss += d->hop[m] * d->sin_tab[f][m];
        }
        /* Block DFT is sc - j ss; refer its phase to absolute time with e^{-j w b}, so a
           steady tone keeps its phase from window to window except for its offset. */
        double rr = d->rot_re[f], ri = d->rot_im[f];
        bre[f] = (float)(sc * rr + ss * ri);
        bim[f] = (float)(sc * ri - ss * rr);
        double nr = rr * d->step_re[f] - ri * d->step_im[f];
        double ni = rr * d->step_im[f] + ri * d->step_re[f];
        double mag = sqrt(nr * nr + ni * ni);
        d->rot_re[f] = nr / mag;
        d->rot_im[f] = ni / mag;
    }
    d->blk_energy[d->blk_pos] = energy;
    d->blk_pos = (d->blk_pos + 1) % CR_DTMF_BLOCKS;
    d->blk_count++;
    d->n8 += CR_DTMF_HOP;
    d->present = 0;
    if (d->blk_count >= CR_DTMF_BLOCKS)
        decide(d, judge_window(d));
}

static void feed8(cr_dtmf *d, float v)
{
    d->hop[d->hop_fill++] = v;
    if (d->hop_fill == CR_DTMF_HOP) {
        d->hop_fill = 0;
        analyse_hop(d);
    }
}

int cr_dtmf_process(cr_dtmf *d, const int16_t *x, size_t n)
{
    d->n_events = 0;
    for (size_t i = 0; i < n; i++) {
        if (d->in_rate == ANALYSIS_RATE) {
            feed8(d, (float)x[i]);
            continue;
        }
        /* History is stored twice so the taps read one contiguous run. */
        d->hb_hist[d->hb_pos] = d->hb_hist[d->hb_pos + CR_DTMF_HB_TAPS] = (float)x[i];
        d->hb_pos = (d->hb_pos + 1) % CR_DTMF_HB_TAPS;
        d->hb_odd ^= 1;
        if (d->hb_odd)
            continue;
        const float *h = &d->hb_hist[d->hb_pos];
        float acc = 0.0f;
        for (int k = 0; k < CR_DTMF_HB_TAPS; k++)
            acc += d->hb[k] * h[k];
        feed8(d, acc);
    }
    d->n_in += (int64_t)n;
    return d->n_events;
}
