/* The VAD's three small networks (one hidden layer of tanh units, a logistic output), their
   weights written by tools/train_vad (scripts/train-vad.sh): the start model (vad_start_model.h)
   for frames the margins for music and fluctuating noise hold back, the word-continuation model
   (vad_model.h) for the frames after clear speech, the end model (vad_end_model.h) that places
   the end of speech once the hangover has run out. */
#include "vad_internal.h"
#include "vad_end_model.h"
#include "vad_model.h"
#include "vad_start_model.h"
#include "vad_tables.h"

_Static_assert(VAD_END_HIDDEN % 4 == 0, "the end model's hidden units go four at a time");

_Static_assert(VAD_MODEL_HIDDEN % 8 == 0 && VAD_START_HIDDEN % 8 == 0,
               "the hidden units go eight at a time");
#define MAX_HIDDEN (VAD_MODEL_HIDDEN > VAD_START_HIDDEN ? VAD_MODEL_HIDDEN : VAD_START_HIDDEN)

/* A float vector's bits, and a float vector from bits. */
#define BITS(v) ((union { v8f f; v8si i; }){.f = (v)}.i)
#define FLOATS(b) ((union { v8f f; v8si i; }){.i = (b)}.f)

/* tanh of eight values at once, within 2e-7 of tanhf (test_vad compares them): through
   e = exp(-2|u|), tanh|u| = (1 - e) / (1 + e). The exponential is Cody and Waite's: 2^n by the
   exponent bits, e^r for |r| <= ln 2 / 2 by its Taylor series to r^7. The library's tanhf,
   one unit at a time, was a twentieth of the program's time on a long file (perf). */
void cr_vad_tanh8(float *u)
{
    const v8si sign = (v8si){0} + (int)0x80000000u;
    const v8f nine = (v8f){0} + 9.0f; /* tanh 9 is 1 in single precision */
    v8f a = LOAD8(u), m = FLOATS(BITS(a) & ~sign);
    v8si small = m < nine;
    m = FLOATS((BITS(m) & small) | (BITS(nine) & ~small));
    v8f y = -2.0f * m;
    v8f n = __builtin_convertvector(__builtin_convertvector(y * 1.44269504f - 0.5f, v8si), v8f);
    v8f r = y - n * 0.693145752f - n * 1.42860677e-6f; /* ln 2 in two parts */
    v8f p = r * (1.0f / 5040) + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    v8f e = p * FLOATS((__builtin_convertvector(n, v8si) + 127) << 23);
    v8f t = (1.0f - e) / (1.0f + e);
    STORE8(u, FLOATS(BITS(t) | (BITS(a) & sign))); /* tanh is odd: the input's sign */
}

/* A network's output, the probability of its one unit, for inputs x[n_in] and hidden tanh
   units (a multiple of 8) of weights w1 (row-major, n_in per unit), b1, w2 and b2. */
static float network(const float *x, int n_in, int hidden, const float *w1, const float *b1,
                     const float *w2, float b2)
{
    float u[MAX_HIDDEN];
    for (int h = 0; h < hidden; h++) {
        u[h] = b1[h];
        for (int i = 0; i < n_in; i++)
            u[h] += w1[h * n_in + i] * x[i];
    }
    for (int h = 0; h < hidden; h += 8)
        cr_vad_tanh8(u + h);
    float z = b2;
    for (int h = 0; h < hidden; h++)
        z += w2[h] * u[h];
    return 1.0f / (1.0f + expf(-z));
}

float cr_vad_start_model(const float x[CR_VAD_START_FEATURES])
{
    return network(x, CR_VAD_START_FEATURES, VAD_START_HIDDEN, &vad_start_w1[0][0], vad_start_b1,
                   vad_start_w2, vad_start_b2);
}

/* The model on a frame's inputs: the probability that the frame still carries the word. */
float cr_vad_continuation_model(const float x[CR_VAD_FEATURES])
{
    return network(x, CR_VAD_FEATURES, VAD_MODEL_HIDDEN, &vad_model_w1[0][0], vad_model_b1,
                   vad_model_w2, vad_model_b2);
}

int cr_vad_end(const cr_vad *v, int end_ago)
{
    float x[CR_VAD_END_SPAN][CR_VAD_END_FEATURES];
    int64_t first;
    int n = cr_vad_end_features(v, end_ago, x, &first);
    if (n == 0)
        return end_ago;
    /* Each frame's probability that speech goes on at or after it; their sum is how many
       frames of the span speech lasts. */
    double frames = 0.0;
    for (int i = 0; i < n; i++) {
        v4f u[VAD_END_HIDDEN / 4];
        for (int q = 0; q < VAD_END_HIDDEN / 4; q++)
            u[q] = load4(vad_end_b1 + 4 * q);
        for (int k = 0; k < CR_VAD_END_FEATURES; k++) {
            const v4f xk = (v4f){1.0f, 1.0f, 1.0f, 1.0f} * x[i][k];
            for (int q = 0; q < VAD_END_HIDDEN / 4; q++)
                u[q] += load4(vad_end_w1_by_input[k] + 4 * q) * xk;
        }
        float z = vad_end_b2;
        for (int h = 0; h < VAD_END_HIDDEN; h++)
            z += vad_end_w2[h] * tanhf(u[h / 4][h % 4]);
        frames += 1.0 / (1.0 + exp(-z));
    }
    return (int)(v->frames_in - (first + (int64_t)floor(frames + 0.5)));
}
