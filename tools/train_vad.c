/* Trains the VAD's three models and writes each one's weights header:
     train_vad --train       dsp/vad_model.h        the word-continuation model
     train_vad --train-start dsp/vad_start_model.h  the start model
     train_vad --train-end   dsp/vad_end_model.h    the end model (needs the other two built in)
   scripts/train-vad.sh runs the three in order, rebuilding between them, and regenerates
   dsp/vad_tables.h; ctest vad_model checks that the committed weights are what this writes.
   Every header records this tool's version and the Debian packages of its data. */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "callrec.h"
#include "endpoint.h"
#include "signals.h"
#include "support.h"
#include "vad.h"
#include "vad_corpus.h"

/* The data's packages and versions, one per line of the header's comment. */
static char data_versions[512] = "   (package versions unknown)";

static void read_data_versions(void)
{
    FILE *p = popen("dpkg-query -W -f '   ${Package} ${Version}\\n' asterisk-core-sounds-en-wav "
                    "espeak-ng-data fluidsynth fluid-soundfont-gm libsndfile1 2>/dev/null", "r");
    if (!p)
        return;
    size_t n = fread(data_versions, 1, sizeof data_versions - 1, p);
    pclose(p);
    while (n > 0 && data_versions[n - 1] == '\n')
        n--;
    data_versions[n] = '\0';
    if (n == 0)
        snprintf(data_versions, sizeof data_versions, "   (package versions unknown)");
}

/* Trains the VAD's three models (dsp/vad_models.c) on TRAIN_DRAWS draws of the training corpus mixed
   with every noise at 30 to 5 dB (other noise seeds and other music than the benchmark's):
   - the word-continuation model, on the frames where the detector consults it (not clear
     speech, within its span after clear speech, once speech has started), each with its truth;
   - the start model, on the frames the margins for fluctuating noise and music hold back from
     clear speech, each with its truth;
   - the end model, on the frames it weighs at each end the endpointer finds, each labelled
     with whether speech goes on at or after it within those frames.
   Each a network of tanh units fitted by Adam on the cross-entropy, every random choice
   seeded. The first two learn from the detector with the rules alone deciding clear speech, so
   neither depends on the start model's weights; the end model learns from the detector as
   built, both models included: after retraining either, rebuild before training the end model. */
#define TRAIN_CORPUS_SEED 5001
#define TRAIN_DRAWS 3
#define EPOCHS 40
#define BATCH 256
#define CONTINUATION_HIDDEN 24
#define START_HIDDEN 16
#define END_HIDDEN 32
#define MAX_IN CR_VAD_END_FEATURES
#define MAX_HIDDEN END_HIDDEN
_Static_assert(CR_VAD_FEATURES <= MAX_IN && CONTINUATION_HIDDEN <= MAX_HIDDEN, "net sizes");
_Static_assert(CR_VAD_START_FEATURES <= MAX_IN && START_HIDDEN <= MAX_HIDDEN, "net sizes");

typedef enum model_kind { CONTINUATION, START, END } model_kind;

/* What tells the three apart: the option that trains one, its inputs and hidden units, the
   prefix and input count of its header's arrays, what its examples are and what their label
   says. */
static const struct model_info {
    const char *option, *name, *prefix, *inputs_name, *examples, *label;
    int inputs, hidden;
} models[] = {
    [CONTINUATION] = {"--train", "word-continuation", "vad_model", "CR_VAD_FEATURES",
                      "frames the model decides", "still speech", CR_VAD_FEATURES,
                      CONTINUATION_HIDDEN},
    [START] = {"--train-start", "start", "vad_start", "CR_VAD_START_FEATURES",
               "frames the margins hold back", "speech", CR_VAD_START_FEATURES, START_HIDDEN},
    [END] = {"--train-end", "end", "vad_end", "CR_VAD_END_FEATURES",
             "frames around the ends the endpointer found", "with speech at or after them",
             CR_VAD_END_FEATURES, END_HIDDEN},
};
#define N_MODELS (int)(sizeof models / sizeof models[0])

typedef struct example {
    float x[MAX_IN];
    float y;
} example;

typedef struct net {
    int in, hidden;
    double w1[MAX_HIDDEN][MAX_IN], b1[MAX_HIDDEN], w2[MAX_HIDDEN], b2;
} net;

typedef struct examples {
    example *ex;
    size_t n, cap;
} examples;

static example *next_example(examples *s)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1 << 16;
        s->ex = realloc(s->ex, s->cap * sizeof *s->ex);
        if (!s->ex) {
            fprintf(stderr, "train_vad: out of memory for %zu training examples\n", s->cap);
            exit(1);
        }
    }
    memset(&s->ex[s->n], 0, sizeof s->ex[s->n]);
    return &s->ex[s->n++];
}

/* Appends the examples of one draw of the training corpus for the model of that kind. */
static void collect(const corpus *c, int draw, model_kind kind, examples *s)
{
    static float x[CR_VAD_END_SPAN][CR_VAD_END_FEATURES];
    for (int k = 0; k < N_NOISES; k++) {
        for (int snr = 0; snr < N_SNRS - 1; snr++) {
            sig_rng nr;
            sig_seed(&nr, 50100 + 1000 * (uint64_t)draw + (uint64_t)k * 10 + (uint64_t)snr);
            sig_buf b;
            mix(c, (noise_kind)k, snrs[snr], &nr, &b, 0);
            cr_vad v;
            cr_vad_probe probe = {.start_model_off = kind != END};
            cr_vad_init(&v, RATE);
            v.probe = &probe;
            cr_endpoint ep;
            cr_endpoint_init(&ep, FRAME, NULL);
            for (size_t f = 0; f < b.n / FRAME && f < c->frames; f++) {
                cr_vad_class cls = cr_vad_frame(&v, b.x + f * FRAME, 0);
                int64_t t;
                if (kind == CONTINUATION && probe.consulted) {
                    example *e = next_example(s);
                    memcpy(e->x, probe.features, sizeof probe.features);
                    e->y = c->truth[f];
                } else if (kind == START && probe.start_consulted) {
                    example *e = next_example(s);
                    memcpy(e->x, probe.start_features, sizeof probe.start_features);
                    e->y = c->truth[f];
                } else if (kind == END && cr_endpoint_frame(&ep, cls, &t) == CR_EP_STOPPED) {
                    int64_t first;
                    int n = cr_vad_end_features(&v, (int)((ep.pos - t) / FRAME), x, &first);
                    int later = 0; /* speech at or after frame first + i, within the span */
                    for (int i = n - 1; i >= 0; i--) {
                        later |= c->truth[first + i];
                        example *e = next_example(s);
                        memcpy(e->x, x[i], sizeof x[i]);
                        e->y = (float)later;
                    }
                }
            }
            sig_free(&b);
        }
    }
}

static double forward(const net *m, const float *x, double *a)
{
    double z = m->b2;
    for (int h = 0; h < m->hidden; h++) {
        double u = m->b1[h];
        for (int i = 0; i < m->in; i++)
            u += m->w1[h][i] * x[i];
        a[h] = tanh(u);
        z += m->w2[h] * a[h];
    }
    return 1.0 / (1.0 + exp(-z));
}

/* One Adam step on parameter p with gradient g (moments m, v; step t). */
static void adam(double *p, double g, double *m, double *v, int t)
{
    const double rate = 3e-3, b1 = 0.9, b2 = 0.999;
    *m = b1 * *m + (1 - b1) * g;
    *v = b2 * *v + (1 - b2) * g * g;
    *p -= rate * (*m / (1 - pow(b1, t))) / (sqrt(*v / (1 - pow(b2, t))) + 1e-8);
}

static void fit(net *m, example *ex, size_t n)
{
    sig_rng r;
    sig_seed(&r, 7);
    for (int h = 0; h < m->hidden; h++) {
        m->b1[h] = 0;
        m->w2[h] = sig_uniform(&r) * 0.5 - 0.25;
        for (int i = 0; i < m->in; i++)
            m->w1[h][i] = sig_uniform(&r) * 0.5 - 0.25;
    }
    m->b2 = 0;
    static net mom, var, grad;
    memset(&mom, 0, sizeof mom);
    memset(&var, 0, sizeof var);
    int t = 0;
    for (int epoch = 0; epoch < EPOCHS; epoch++) {
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)(sig_uniform(&r) * (double)(i + 1));
            example e = ex[i];
            ex[i] = ex[j];
            ex[j] = e;
        }
        double loss = 0;
        for (size_t start = 0; start < n; start += BATCH) {
            size_t end = start + BATCH < n ? start + BATCH : n;
            memset(&grad, 0, sizeof grad);
            for (size_t q = start; q < end; q++) {
                double a[MAX_HIDDEN], p = forward(m, ex[q].x, a), g = p - ex[q].y;
                loss -= ex[q].y > 0.5f ? log(p + 1e-12) : log(1 - p + 1e-12);
                grad.b2 += g;
                for (int h = 0; h < m->hidden; h++) {
                    double gh = g * m->w2[h] * (1 - a[h] * a[h]);
                    grad.w2[h] += g * a[h];
                    grad.b1[h] += gh;
                    for (int i = 0; i < m->in; i++)
                        grad.w1[h][i] += gh * ex[q].x[i];
                }
            }
            double scale = 1.0 / (double)(end - start);
            t++;
            for (int h = 0; h < m->hidden; h++) {
                adam(&m->w2[h], grad.w2[h] * scale, &mom.w2[h], &var.w2[h], t);
                adam(&m->b1[h], grad.b1[h] * scale, &mom.b1[h], &var.b1[h], t);
                for (int i = 0; i < m->in; i++)
                    adam(&m->w1[h][i], grad.w1[h][i] * scale, &mom.w1[h][i], &var.w1[h][i], t);
            }
            adam(&m->b2, grad.b2 * scale, &mom.b2, &var.b2, t);
        }
        if (epoch == 0 || epoch == EPOCHS - 1)
            printf("epoch %2d: cross-entropy %.4f\n", epoch + 1, loss / (double)n);
    }
}

/* Writes m as the C header path (beside it first, then renamed into place). prefix: the
   arrays' prefix; what: the comment's description of the model and its examples. */
static int write_model(const char *path, const net *m, const char *prefix, const char *inputs,
                       const char *what)
{
    char part[4096], guard[64], upper[32];
    size_t len = strlen(prefix);
    for (size_t i = 0; i <= len && i < sizeof upper; i++)
        upper[i] = (char)toupper((unsigned char)prefix[i]);
    snprintf(guard, sizeof guard, "CR_%s_H", upper);
    snprintf(part, sizeof part, "%s.part", path);
    FILE *f = fopen(part, "w");
    if (!f) {
        fprintf(stderr, "train_vad: cannot write %s\n", part);
        return 1;
    }
    fprintf(f, "/* %s.\n   Do not edit: retrain (scripts/train-vad.sh). */\n#ifndef %s\n#define %s\n\n#define %s_HIDDEN %d\n\n"
               "static const float %s_w1[%s_HIDDEN][%s] = {\n",
            what, guard, guard, upper, m->hidden, prefix, upper, inputs);
    for (int h = 0; h < m->hidden; h++) {
        fprintf(f, "    {");
        for (int i = 0; i < m->in; i++)
            fprintf(f, "%.8ef%s", m->w1[h][i], i + 1 < m->in ? ", " : "},\n");
    }
    fprintf(f, "};\nstatic const float %s_b1[%s_HIDDEN] = {\n", prefix, upper);
    for (int h = 0; h < m->hidden; h++)
        fprintf(f, "    %.8ef,\n", m->b1[h]);
    fprintf(f, "};\nstatic const float %s_w2[%s_HIDDEN] = {\n", prefix, upper);
    for (int h = 0; h < m->hidden; h++)
        fprintf(f, "    %.8ef,\n", m->w2[h]);
    fprintf(f, "};\nstatic const float %s_b2 = %.8ef;\n\n#endif\n", prefix, m->b2);
    if (ferror(f) | fclose(f) || rename(part, path) != 0) {
        fprintf(stderr, "train_vad: cannot write %s\n", path);
        remove(part);
        return 1;
    }
    printf("weights written to %s\n", path);
    return 0;
}

/* Trains one of the three models (kind: word continuation, start or end) and writes its weights
   header to path. */
static int train(const char *path, model_kind kind, const char *tmp)
{
    const struct model_info *info = &models[kind];
    examples s = {0};
    for (int draw = 0; draw < TRAIN_DRAWS; draw++) {
        sig_rng rng;
        sig_seed(&rng, TRAIN_CORPUS_SEED + (uint64_t)draw);
        corpus c;
        build_corpus(&c, &train_set, &rng, tmp);
        int made = c.n_utt;
        if (made == (int)(train_set.n_prompts + train_set.n_voices))
            collect(&c, draw, kind, &s);
        sig_free(&c.clean);
        free(c.truth);
        if (made < (int)(train_set.n_prompts + train_set.n_voices)) {
            fprintf(stderr, "train_vad: %d utterances made; asterisk-core-sounds-en-wav and "
                            "espeak-ng are needed (scripts/setup.sh installs them)\n", made);
            free(s.ex);
            return 1;
        }
    }
    size_t carried = 0;
    for (size_t i = 0; i < s.n; i++)
        carried += s.ex[i].y > 0.5f;
    static net m;
    m.in = info->inputs;
    m.hidden = info->hidden;
    printf("training: %zu %s, %zu of them %s\n", s.n, info->examples, carried, info->label);
    fit(&m, s.ex, s.n);
    size_t right = 0, rules = 0;
    for (size_t i = 0; i < s.n; i++) {
        double a[MAX_HIDDEN];
        int y = s.ex[i].y > 0.5f;
        right += (forward(&m, s.ex[i].x, a) > 0.5) == y;
        /* without the model: WEAK is the rules' "still speech"; the margins', that none of
           their frames is; the endpointer's end, that speech goes on at the frames before it
           (their offset from it is negative) */
        rules += kind == CONTINUATION ? (s.ex[i].x[19] * 3 > 1.5f) == y
                 : kind == START      ? !y
                                      : (s.ex[i].x[21] < 0) == y;
    }
    printf("right on the training frames: model %.1f %%, %s %.1f %%\n",
           100.0 * (double)right / (double)s.n,
           kind == END ? "the endpointer's end" : "the threshold rules",
           100.0 * (double)rules / (double)s.n);
    free(s.ex);
    char what[1024];
    snprintf(what, sizeof what, "The %s model of dsp/vad_models.c, written by `tools/train_vad %s`\n"
                                "   (callrec %s) from %zu frames of its training corpus, made with\n%s",
             info->name, info->option, CALLREC_VERSION_STRING, s.n, data_versions);
    return write_model(path, &m, info->prefix, info->inputs_name, what);
}

/* The model the option opt names, or N_MODELS for none. */
static int model_named(const char *opt)
{
    int k = 0;
    while (k < N_MODELS && strcmp(opt, models[k].option) != 0)
        k++;
    return k;
}

static const char usage[] =
    "usage: train_vad --train FILE.h | --train-start FILE.h | --train-end FILE.h\n"
    "  --train FILE.h        train the VAD's word-continuation model (dsp/vad_model.h)\n"
    "  --train-start FILE.h  train its start model for fluctuating noise and music\n"
    "                        (dsp/vad_start_model.h)\n"
    "  --train-end FILE.h    train its end model (dsp/vad_end_model.h) with the detector as\n"
    "                        built\n";

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    int kind = argc == 3 ? model_named(argv[1]) : N_MODELS;
    if (kind == N_MODELS) {
        fprintf(stderr, "train_vad: name one model and its output file\n%s", usage);
        return 2;
    }
    support_check_output("train_vad", argv[2]);
    read_data_versions();
    char tmp[] = "/tmp/callrec-train-vad-XXXXXX";
    sig_init(&music, RATE);
    if (!mkdtemp(tmp) || sig_append_music(&music, tmp, 78, 8) != 0 || music.n == 0) {
        fprintf(stderr, "train_vad: could not render the music noise (fluidsynth and "
                        "fluid-soundfont-gm are needed; scripts/setup.sh installs them)\n");
        return 1;
    }
    int status = train(argv[2], (model_kind)kind, tmp);
    rmdir(tmp);
    sig_free(&music);
    return status;
}
