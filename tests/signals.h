/* Test and benchmark signals: seeded noise, DTMF digits, real speech from Debian packages,
   G.711 mu-law, WAV files. */
#ifndef CR_SIGNALS_H
#define CR_SIGNALS_H

#include <stddef.h>
#include <stdint.h>

#define SPEECH_DIR "/usr/share/asterisk/sounds/en_US_f_Allison"

typedef struct sig_rng { uint64_t s; } sig_rng;
void sig_seed(sig_rng *r, uint64_t seed);
double sig_uniform(sig_rng *r);   /* [0, 1) */
double sig_gauss(sig_rng *r);     /* N(0, 1) */

/* A growable 16-bit mono buffer. */
typedef struct sig_buf {
    int16_t *x;
    size_t n, cap;
    int rate;
} sig_buf;

void sig_init(sig_buf *b, int rate);
void sig_free(sig_buf *b);
void sig_silence(sig_buf *b, double seconds);
/* DTMF key: each tone at dbm0, random phase; length in seconds. */
void sig_dtmf(sig_buf *b, sig_rng *r, char key, double dbm0, double seconds);
/* Two arbitrary tones (amp in dBm0; f2 = 0 for one). */
void sig_tones(sig_buf *b, sig_rng *r, double f1, double dbm1, double f2, double dbm2,
               double seconds);
/* Adds Gaussian white noise at `dbfs` (RMS re full scale) to b[from, from + n). */
void sig_add_noise(sig_buf *b, sig_rng *r, size_t from, size_t n, double dbfs);
/* Coloured noise, one sample at a time from a white Gaussian sample w at time t (seconds):
   white, pink (Kellet's economy filter), brown (leaky integration), or 50 Hz mains hum with
   odd harmonics and a little hiss. */
typedef enum sig_colour_kind { SIG_WHITE, SIG_PINK, SIG_BROWN, SIG_HUM } sig_colour_kind;
typedef struct sig_colour { double p0, p1, p2, brown; } sig_colour;
double sig_colour_next(sig_colour *c, sig_colour_kind kind, double w, double t);
/* Six-talker babble, n samples at `rate` into x (unscaled): six prompts from SPEECH_DIR, each
   looped from a random offset, summed. No test and no benchmark uses them as an answer; the VAD
   trainer's corpus has one of them (conf-adminmenu) among its answers. */
void sig_babble(double *x, size_t n, int rate, sig_rng *r);
/* Appends a sound file, converted to b's rate and mono, scaled by gain_db. 0 or -1. */
int sig_append_file(sig_buf *b, const char *path, double gain_db);
/* Appends a file from SPEECH_DIR by name ("vm-intro"). */
int sig_append_speech(sig_buf *b, const char *name, double gain_db);
/* Appends a seeded random piece of music: a type-0 MIDI file of chords and a melody over GM
   programs (piano, organ, strings, flute, brass, ...), about 22 s per section, rendered at
   16 kHz by fluidsynth with the FluidR3 GM soundfont through files in `tmp` (removed after),
   converted to b's rate. 0, or -1 if fluidsynth or the soundfont is missing. */
int sig_append_music(sig_buf *b, const char *tmp, uint64_t seed, int sections);
/* Music beds like hold music: `sections` of about 15 s, each with its own tempo (60-160 BPM),
   two melodic GM programs drawn from all of them, a bass line and, in most, drums. 0 or -1. */
int sig_append_music_bed(sig_buf *b, const char *tmp, uint64_t seed, int sections);
/* Writes a 16-bit WAV. 0 or -1. */
int sig_write_wav(const sig_buf *b, const char *path);
/* Reads a mono 16-bit file into b (any rate, converted to `rate`). 0 or -1. */
int sig_read_wav(sig_buf *b, const char *path, int rate);
/* G.711 mu-law encode and decode in place. */
void sig_mulaw_roundtrip(sig_buf *b);
/* Peak-normalised correlation of a with b at lag 0 over min length. */
double sig_correlation(const int16_t *a, const int16_t *b, size_t n);
/* A sample value rounded to 16-bit PCM, saturating at full scale. */
int16_t sig_pcm(double v);
/* RMS level in dBFS of x[0..n). */
double sig_rms_dbfs(const int16_t *x, size_t n);



/* Converts b to another rate in place (SpeexDSP, quality 8). */
void sig_resample(sig_buf *b, int rate);
#endif
