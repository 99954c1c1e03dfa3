/* The VAD benchmark's and trainer's corpus: answers a caller gives (asterisk-core-sounds-en-wav
   recordings and espeak-ng voices) placed with pauses of known length, truth labels from the
   clean speech, and the noises they are mixed with. bench_vad measures on bench_set;
   tools/train_vad trains on train_set, which shares no recording, text or voice with it. */
#ifndef CR_VAD_CORPUS_H
#define CR_VAD_CORPUS_H

#include <stddef.h>

#include "signals.h"

#define RATE 16000
#define FRAME 160

typedef enum noise_kind {
    WHITE, PINK, BROWN, HUM, BABBLE, CLICKS, CHORDS, MUSIC, N_NOISES
} noise_kind;
static const char *const noise_names[N_NOISES] = {"white", "pink",   "brown",  "hum",
                                                  "babble", "clicks", "chords", "music"};
/* Noise that has no structure of its own and noise that sounds like voices or music: the end
   errors are also pooled over each family. */
static inline int fluctuating(noise_kind k) { return k == BABBLE || k == CHORDS || k == MUSIC; }
static const char *const family_names[2] = {"steady noise and clicks", "babble, chords, music"};

/* Three minutes of fluidsynth music, rendered once and looped from a random offset. */
extern sig_buf music;
static const int snrs[] = {30, 20, 15, 10, 5, 0};
#define N_SNRS 6

typedef struct utterance {
    size_t start, end; /* samples, from the clean speech's frame energies */
    size_t from, to;   /* the span it was placed in */
    double level_db;   /* its speech frames' mean power against the corpus's (speech_power) */
} utterance;

typedef struct corpus {
    sig_buf clean;
    unsigned char *truth; /* per frame */
    size_t frames;
    utterance utt[256];
    int n_utt;
    double speech_power; /* mean power of speech frames */
} corpus;

/* The utterances: real recordings (asterisk-core-sounds-en-wav) and synthetic voices
   (espeak-ng, wideband), answers a caller gives, short and long. */
typedef struct voice {
    const char *voice;
    int pitch;
    const char *text;
} voice;

typedef struct speech_set {
    const char *const *prompts;
    size_t n_prompts;
    const voice *voices;
    size_t n_voices;
} speech_set;

extern const speech_set bench_set, train_set;

/* Builds the corpus of `set` with the draw r (levels, pauses, order); tmp: a scratch folder. */
void build_corpus(corpus *c, const speech_set *set, sig_rng *r, const char *tmp);
/* The truth per frame (c->truth) and each utterance's span and level, from the clean speech. */
void label_truth(corpus *c);
/* n samples of a noise into x (music: from the rendered `music`, which must be loaded). */
void make_noise(noise_kind kind, size_t n, sig_rng *r, double *x);
/* Adds noise to a copy of the corpus's speech at `snr` dB below the speech power (noise_only:
   the noise alone at that level). */
void mix(const corpus *c, noise_kind kind, double snr, sig_rng *r, sig_buf *out, int noise_only);

#endif
