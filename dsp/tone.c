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
    t->phase[0] = t->phase[1] = 0.0;
    t->step[0] = two_pi * f1_hz / rate_hz;
    t->step[1] = two_pi * f2_hz / rate_hz;
    t->amp[0] = amp1;
    t->amp[1] = amp2;
    t->length = length;
    t->ramp = ramp * 2 > length ? length / 2 : ramp;
    t->pos = 0;
}

size_t cr_tone_fill(cr_tone *t, int16_t *out, size_t n)
{
    const double pi = 3.141592653589793;
    size_t done = 0;
    while (done < n && t->pos < t->length) {
        double gain = 1.0;
        size_t from_end = t->length - 1 - t->pos;
        size_t edge = t->pos < from_end ? t->pos : from_end;
        if (edge < t->ramp)
            gain = 0.5 - 0.5 * cos(pi * (double)(edge + 1) / (double)(t->ramp + 1));
        double v = gain * (t->amp[0] * sin(t->phase[0]) + t->amp[1] * sin(t->phase[1]));
        t->phase[0] += t->step[0];
        t->phase[1] += t->step[1];
        v = v > 32767.0 ? 32767.0 : (v < -32768.0 ? -32768.0 : v);
        out[done++] = (int16_t)lrint(v);
        t->pos++;
    }
    return done;
}
