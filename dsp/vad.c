#include "vad.h"

#include <math.h>
#include <string.h>

/* Start threshold above the noise floor: 9 dB keeps steady noise (whose 10 ms levels
   fluctuate by a few dB) from starting speech; continue threshold lower, so weak word
   endings hold speech (hysteresis). */
#define START_DB 9.0
#define CONTINUE_DB 5.0
/* Nothing quieter than this is speech, whatever the floor: -55 dBFS is ~ -52 dBm0, far
   below a soft talker on a phone line (about -30 dBm0). */
#define ABSOLUTE_MIN_DB (-55.0)
/* Minimum statistics (after Martin): the floor is the smallest smoothed level over the last
   3 s, raised by the bias of a minimum over a fluctuating level. */
#define BLOCK_FRAMES 50
#define SMOOTH 0.6
#define MIN_BIAS_DB 1.5

/* Endpointer timing, in 10 ms frames. A short "yes" carries ~250 ms of voiced speech; a
   cough or click rarely 150 ms. */
#define START_FRAMES 18      /* speech needed to declare "speech started" */
#define MAYBE_GAP_FRAMES 12  /* silence that abandons a possible start */
#define HANGOVER_FRAMES 30   /* silence that ends speech (reported at the true end) */

int cr_vad_init(cr_vad *v, int rate_hz)
{
    if (rate_hz < 8000 || rate_hz > 48000 || rate_hz % 100)
        return -1;
    memset(v, 0, sizeof *v);
    v->rate = rate_hz;
    v->frame = rate_hz / 100;
    /* Butterworth high-pass at 200 Hz (telephone speech starts at 300 Hz). */
    const double pi = 3.141592653589793;
    double k = tan(pi * 200.0 / rate_hz), q = 0.7071067811865476;
    double norm = 1.0 / (1.0 + k / q + k * k);
    v->b0 = norm;
    v->b1 = -2.0 * norm;
    v->b2 = norm;
    v->a1 = 2.0 * (k * k - 1.0) * norm;
    v->a2 = (1.0 - k / q + k * k) * norm;
    v->block_min_db = 1e9;
    v->floor_db = ABSOLUTE_MIN_DB;
    return 0;
}

static double noise_floor(const cr_vad *v)
{
    double m = v->block_min_db;
    for (int i = 0; i < v->n_mins; i++)
        if (v->mins_db[i] < m)
            m = v->mins_db[i];
    return m + MIN_BIAS_DB;
}

cr_vad_class cr_vad_frame(cr_vad *v, const int16_t *frame, int tone)
{
    double energy = 0.0;
    for (int i = 0; i < v->frame; i++) {
        double x = frame[i];
        double y = v->b0 * x + v->z1;
        v->z1 = v->b1 * x - v->a1 * y + v->z2;
        v->z2 = v->b2 * x - v->a2 * y;
        energy += y * y;
    }
    double db = 10.0 * log10(energy / v->frame / (32768.0 * 32768.0) + 1e-12);
    v->level_db = db;
    v->smooth_db = v->frames_seen ? SMOOTH * v->smooth_db + (1.0 - SMOOTH) * db : db;
    v->frames_seen++;

    if (v->smooth_db < v->block_min_db)
        v->block_min_db = v->smooth_db;
    if (++v->block_frames == BLOCK_FRAMES) {
        v->mins_db[v->mins_pos] = v->block_min_db;
        v->mins_pos = (v->mins_pos + 1) % CR_VAD_MIN_BLOCKS;
        if (v->n_mins < CR_VAD_MIN_BLOCKS)
            v->n_mins++;
        v->block_min_db = 1e9;
        v->block_frames = 0;
    }
    v->floor_db = noise_floor(v);

    if (tone || db < ABSOLUTE_MIN_DB)
        return CR_VAD_SILENCE;
    if (db > v->floor_db + START_DB)
        return CR_VAD_SPEECH;
    if (db > v->floor_db + CONTINUE_DB)
        return CR_VAD_WEAK;
    return CR_VAD_SILENCE;
}

void cr_endpoint_init(cr_endpoint *e, int frame_samples)
{
    memset(e, 0, sizeof *e);
    e->frame = frame_samples;
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
            e->last_speech_end = e->pos;
        }
        return CR_EP_NONE;
    case 1:
        if (c != CR_VAD_SILENCE) {
            e->acc++;
            e->gap = 0;
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
        if (c != CR_VAD_SILENCE) {
            e->last_speech_end = e->pos;
        } else if (e->pos - e->last_speech_end >= (int64_t)HANGOVER_FRAMES * e->frame) {
            e->state = 0;
            *t = e->last_speech_end;
            return CR_EP_STOPPED;
        }
        return CR_EP_NONE;
    }
}
