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

/* A network's output, the probability of its one unit, for inputs x[n_in] and hidden tanh
   units of weights w1 (row-major, n_in per unit), b1, w2 and b2. */
static float network(const float *x, int n_in, int hidden, const float *w1, const float *b1,
                     const float *w2, float b2)
{
    float z = b2;
    for (int h = 0; h < hidden; h++) {
        float u = b1[h];
        for (int i = 0; i < n_in; i++)
            u += w1[h * n_in + i] * x[i];
        z += w2[h] * tanhf(u);
    }
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
