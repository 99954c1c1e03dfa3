#include "tone.h"

#include <math.h>

double cr_dbm0_to_amplitude(double dbm0) { return CR_DBM0_REF_AMPLITUDE * pow(10.0, dbm0 / 20.0); }

int cr_dtmf_key_freqs(char key, double *low_hz, double *high_hz)
{
    static const char keys[4][4] = {
        {'1', '2', '3', 'A'}, {'4', '5', '6', 'B'}, {'7', '8', '9', 'C'}, {'*', '0', '#', 'D'}};
    static const double rows[4] = {697.0, 770.0, 852.0, 941.0};
    static const double cols[4] = {1209.0, 1336.0, 1477.0, 1633.0};
    for (int r = 0; r < 4; r++) {
        for (int c = 0; c < 4; c++) {
            if (keys[r][c] == key) {
                *low_hz = rows[r];
                *high_hz = cols[c];
                return 0;
            }
        }
    }
    return -1;
}

void cr_tone_init(cr_tone *t, int rate_hz, double f1_hz, double amp1, double f2_hz, double amp2,
                  size_t length, size_t ramp)
{
    const double two_pi = 6.283185307179586;
    const double f[2] = {f1_hz, f2_hz}, amp[2] = {amp1, amp2};
    for (int i = 0; i < 2; i++) {
        double w = two_pi * f[i] / rate_hz;
        t->coef[i] = 2.0 * cos(w);
        t->y1[i] = amp[i] * sin(-w); /* so that y[0] = amp sin(0) */
        t->y2[i] = amp[i] * sin(-2.0 * w);
    }
    t->length = length;
    t->ramp = ramp * 2 > length ? length / 2 : ramp;
    t->ramp_step = 3.141592653589793 / (double)(t->ramp + 1);
    t->pos = 0;
}

size_t cr_tone_fill(cr_tone *t, int16_t *out, size_t n)
{
    size_t done = 0;
    while (done < n && t->pos < t->length) {
        double v = 0.0;
        for (int i = 0; i < 2; i++) {
            double y = t->coef[i] * t->y1[i] - t->y2[i];
            t->y2[i] = t->y1[i];
            t->y1[i] = y;
            v += y;
        }
        size_t from_end = t->length - 1 - t->pos;
        size_t edge = t->pos < from_end ? t->pos : from_end;
        if (edge < t->ramp)
            v *= 0.5 - 0.5 * cos(t->ramp_step * (double)(edge + 1));
        v = v > 32767.0 ? 32767.0 : (v < -32768.0 ? -32768.0 : v);
        out[done++] = (int16_t)lrint(v);
        t->pos++;
    }
    return done;
}
