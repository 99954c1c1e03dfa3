#include "signals.h"

#include <math.h>
#include <sndfile.h>
#include <speex/speex_resampler.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


void sig_seed(sig_rng *r, uint64_t seed) { r->s = seed ? seed : 0x9E3779B97F4A7C15ull; }

double sig_uniform(sig_rng *r)
{
    /* xorshift64* */
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return (double)((r->s * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

double sig_gauss(sig_rng *r)
{
    double u = sig_uniform(r), v = sig_uniform(r);
    if (u < 1e-300)
        u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

void sig_init(sig_buf *b, int rate)
{
    memset(b, 0, sizeof *b);
    b->rate = rate;
}

void sig_free(sig_buf *b)
{
    free(b->x);
    memset(b, 0, sizeof *b);
}

static int16_t *grow(sig_buf *b, size_t extra)
{
    if (b->n + extra > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + extra)
            cap *= 2;
        int16_t *x = realloc(b->x, cap * sizeof *x);
        if (!x) {
            fprintf(stderr, "signals: out of memory\n");
            exit(2);
        }
        b->x = x;
        b->cap = cap;
    }
    int16_t *at = b->x + b->n;
    b->n += extra;
    return at;
}

void sig_silence(sig_buf *b, double seconds)
{
    size_t n = (size_t)lround(seconds * b->rate);
    if (n)
        memset(grow(b, n), 0, n * sizeof(int16_t));
}

/* Peak amplitude of a sine at `dbm0` in 16-bit PCM: G.711 puts 0 dBm0 3.14 dB below full
   scale (ITU-T G.711, Table 1/G.711 and its note on the digital milliwatt). Kept apart from
   dsp/tone.c so the tests' signals do not share the library's constants. */
static double dbm0_to_amplitude(double dbm0) { return 22702.0 * pow(10.0, dbm0 / 20.0); }

/* ITU-T Q.23: the row (low group) and column (high group) frequencies of each key. */
static int dtmf_freqs(char key, double *lo, double *hi)
{
    static const char keys[] = "123A456B789C*0#D";
    static const double rows[4] = {697, 770, 852, 941}, cols[4] = {1209, 1336, 1477, 1633};
    const char *at = key ? strchr(keys, key) : NULL;
    if (!at)
        return -1;
    *lo = rows[(at - keys) / 4];
    *hi = cols[(at - keys) % 4];
    return 0;
}

void sig_tones(sig_buf *b, sig_rng *r, double f1, double dbm1, double f2, double dbm2,
               double seconds)
{
    size_t n = (size_t)lround(seconds * b->rate);
    int16_t *at = grow(b, n);
    double p1 = 6.283185307179586 * sig_uniform(r), p2 = 6.283185307179586 * sig_uniform(r);
    double a1 = dbm0_to_amplitude(dbm1), a2 = f2 > 0 ? dbm0_to_amplitude(dbm2) : 0.0;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / b->rate;
        double v = a1 * sin(6.283185307179586 * f1 * t + p1) +
                   a2 * sin(6.283185307179586 * f2 * t + p2);
        at[i] = sig_pcm(v);
    }
}

void sig_dtmf(sig_buf *b, sig_rng *r, char key, double dbm0, double seconds)
{
    double lo, hi;
    if (dtmf_freqs(key, &lo, &hi)) {
        fprintf(stderr, "signals: bad key %c\n", key);
        exit(2);
    }
    sig_tones(b, r, lo, dbm0, hi, dbm0, seconds);
}

void sig_add_noise(sig_buf *b, sig_rng *r, size_t from, size_t n, double dbfs)
{
    double sigma = 32768.0 * pow(10.0, dbfs / 20.0);
    for (size_t i = from; i < from + n && i < b->n; i++) {
        double v = b->x[i] + sigma * sig_gauss(r);
        b->x[i] = sig_pcm(v);
    }
}

double sig_colour_next(sig_colour *c, sig_colour_kind kind, double w, double t)
{
    switch (kind) {
    case SIG_PINK:
        c->p0 = 0.99765 * c->p0 + w * 0.0990460;
        c->p1 = 0.96300 * c->p1 + w * 0.2965164;
        c->p2 = 0.57000 * c->p2 + w * 1.0526913;
        return c->p0 + c->p1 + c->p2 + w * 0.1848;
    case SIG_BROWN:
        c->brown = 0.998 * c->brown + w;
        return c->brown;
    case SIG_HUM:
        return sin(6.2832 * 50 * t) + 0.5 * sin(6.2832 * 150 * t) + 0.3 * sin(6.2832 * 250 * t) +
               0.2 * sin(6.2832 * 350 * t) + 0.01 * w;
    case SIG_WHITE:
        break;
    }
    return w;
}

static int read_any(sig_buf *b, const char *path, double gain_db)
{
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf) {
        fprintf(stderr, "signals: %s: %s\n", path, sf_strerror(NULL));
        return -1;
    }
    size_t frames = (size_t)info.frames;
    float *in = malloc(sizeof *in * frames * (size_t)info.channels);
    float *mono = malloc(sizeof *mono * (frames + 1));
    size_t cap = (size_t)((double)frames * b->rate / info.samplerate) + 1024;
    float *out = malloc(sizeof *out * cap);
    if (!in || !mono || !out) {
        fprintf(stderr, "signals: out of memory\n");
        exit(2);
    }
    sf_count_t got = sf_readf_float(sf, in, (sf_count_t)frames);
    sf_close(sf);
    for (sf_count_t i = 0; i < got; i++) {
        float s = 0;
        for (int c = 0; c < info.channels; c++)
            s += in[i * info.channels + c];
        mono[i] = s / (float)info.channels;
    }
    size_t used = (size_t)got;
    if (info.samplerate != b->rate) {
        int err;
        SpeexResamplerState *rs = speex_resampler_init(1, (spx_uint32_t)info.samplerate,
                                                       (spx_uint32_t)b->rate, 8, &err);
        speex_resampler_skip_zeros(rs);
        spx_uint32_t il = (spx_uint32_t)got, ol = (spx_uint32_t)cap;
        speex_resampler_process_float(rs, 0, mono, &il, out, &ol);
        used = ol;
        float zeros[256] = {0};
        spx_uint32_t zl = (spx_uint32_t)speex_resampler_get_input_latency(rs);
        ol = (spx_uint32_t)(cap - used);
        speex_resampler_process_float(rs, 0, zeros, &zl, out + used, &ol);
        used += ol;
        speex_resampler_destroy(rs);
    } else {
        memcpy(out, mono, used * sizeof *out);
    }
    double g = pow(10.0, gain_db / 20.0) * 32767.0;
    int16_t *at = grow(b, used);
    for (size_t i = 0; i < used; i++) {
        double v = out[i] * g;
        at[i] = sig_pcm(v);
    }
    free(in);
    free(mono);
    free(out);
    return 0;
}

int sig_append_file(sig_buf *b, const char *path, double gain_db)
{
    return read_any(b, path, gain_db);
}

void sig_babble(double *x, size_t n, int rate, sig_rng *r)
{
    const char *talkers[] = {"vm-Cust1", "conf-adminmenu", "vm-instructions", "dir-intro",
                             "vm-msginstruct", "queue-periodic-announce"};
    memset(x, 0, n * sizeof *x);
    for (int t = 0; t < 6; t++) {
        sig_buf talker;
        sig_init(&talker, rate);
        while (talker.n < n && sig_append_speech(&talker, talkers[t], 0.0) == 0) {
        }
        size_t off = (size_t)(sig_uniform(r) * rate * 3);
        for (size_t i = 0; i < n && talker.n > 0; i++)
            x[i] += talker.x[(i + off) % talker.n];
        sig_free(&talker);
    }
}

int sig_append_speech(sig_buf *b, const char *name, double gain_db)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.wav", SPEECH_DIR, name);
    return read_any(b, path, gain_db);
}

int sig_write_wav(const sig_buf *b, const char *path)
{
    SF_INFO info = {.samplerate = b->rate, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf)
        return -1;
    sf_count_t w = sf_write_short(sf, b->x, (sf_count_t)b->n);
    sf_close(sf);
    return w == (sf_count_t)b->n ? 0 : -1;
}

int sig_read_wav(sig_buf *b, const char *path, int rate)
{
    sig_init(b, rate);
    return read_any(b, path, 0.0);
}

static uint8_t mulaw_encode(int16_t pcm)
{
    const int bias = 0x84, clip = 32635;
    int sign = (pcm >> 8) & 0x80, v = pcm;
    if (sign)
        v = -v;
    if (v > clip)
        v = clip;
    v += bias;
    int exponent = 7;
    for (int mask = 0x4000; (v & mask) == 0 && exponent > 0; mask >>= 1)
        exponent--;
    int mantissa = (v >> (exponent + 3)) & 0x0F;
    return (uint8_t)~(sign | (exponent << 4) | mantissa);
}

static int16_t mulaw_decode(uint8_t u)
{
    u = (uint8_t)~u;
    int sign = u & 0x80, exponent = (u >> 4) & 7, mantissa = u & 0x0F;
    int v = ((mantissa << 3) + 0x84) << exponent;
    v -= 0x84;
    return (int16_t)(sign ? -v : v);
}

void sig_mulaw_roundtrip(sig_buf *b)
{
    for (size_t i = 0; i < b->n; i++)
        b->x[i] = mulaw_decode(mulaw_encode(b->x[i]));
}

double sig_correlation(const int16_t *a, const int16_t *b, size_t n)
{
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0.0;
}

int16_t sig_pcm(double v)
{
    return (int16_t)lrint(v > 32767 ? 32767 : (v < -32768 ? -32768 : v));
}

double sig_rms_dbfs(const int16_t *x, size_t n)
{
    double e = 0;
    for (size_t i = 0; i < n; i++)
        e += (double)x[i] * x[i];
    return 10.0 * log10(e / (double)(n ? n : 1) / (32768.0 * 32768.0) + 1e-20);
}

void sig_resample(sig_buf *b, int rate)
{
    int err;
    size_t cap = (size_t)((double)b->n * rate / b->rate) + 1024;
    int16_t *out = malloc(cap * sizeof *out);
    SpeexResamplerState *rs =
        speex_resampler_init(1, (spx_uint32_t)b->rate, (spx_uint32_t)rate, 8, &err);
    if (!out || !rs) {
        fprintf(stderr, "signals: resampler failed\n");
        exit(2);
    }
    speex_resampler_skip_zeros(rs);
    spx_uint32_t il = (spx_uint32_t)b->n, ol = (spx_uint32_t)cap;
    speex_resampler_process_int(rs, 0, b->x, &il, out, &ol);
    size_t used = ol;
    int16_t zeros[512] = {0};
    spx_uint32_t zl = (spx_uint32_t)speex_resampler_get_input_latency(rs);
    ol = (spx_uint32_t)(cap - used);
    speex_resampler_process_int(rs, 0, zeros, &zl, out + used, &ol);
    used += ol;
    speex_resampler_destroy(rs);
    free(b->x);
    b->x = out;
    b->n = used;
    b->cap = cap;
    b->rate = rate;
}

#define SOUNDFONT "/usr/share/sounds/sf2/FluidR3_GM.sf2"

/* Writes the MIDI track ev[0..n) (480 ticks a beat; freed here) as a file in tmp, renders it at
   16 kHz with fluidsynth and appends it to b. 0, or -1. */
static int render_track(sig_buf *b, const char *tmp, unsigned char *ev, size_t n)
{
    char mid[512], wav[600], cmd[2048];
    snprintf(mid, sizeof mid, "%s/music.mid", tmp);
    snprintf(wav, sizeof wav, "%s/music.wav", tmp);
    FILE *f = fopen(mid, "wb");
    if (!f) {
        free(ev);
        return -1;
    }
    const unsigned char header[] = {'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 0, 0, 1, 480 >> 8, 480 & 255,
                                    'M', 'T', 'r', 'k'};
    fwrite(header, 1, sizeof header, f);
    unsigned char len[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                            (unsigned char)(n >> 8), (unsigned char)n};
    fwrite(len, 1, 4, f);
    fwrite(ev, 1, n, f);
    fclose(f);
    free(ev);
    snprintf(cmd, sizeof cmd, "fluidsynth -ni -g 0.8 -r 16000 -F '%s' '%s' '%s' >/dev/null 2>&1",
             wav, SOUNDFONT, mid);
    int rc = system(cmd) == 0 ? sig_append_file(b, wav, 0.0) : -1;
    unlink(mid);
    unlink(wav);
    return rc;
}

int sig_append_music(sig_buf *b, const char *tmp, uint64_t seed, int sections)
{
    if (access(SOUNDFONT, R_OK) != 0)
        return -1;
    unsigned char *ev = malloc(1 << 20);
    size_t n = 0;
    sig_rng r;
    sig_seed(&r, seed);
    const int programs[] = {0, 19, 48, 73, 61, 24, 40, 56};
#define VARLEN(v)                                                                              \
    do {                                                                                       \
        unsigned x_ = (unsigned)(v);                                                           \
        if (x_ >= 0x4000)                                                                      \
            ev[n++] = (unsigned char)(0x80 | (x_ >> 14));                                      \
        if (x_ >= 0x80)                                                                        \
            ev[n++] = (unsigned char)(0x80 | ((x_ >> 7) & 0x7F));                              \
        ev[n++] = (unsigned char)(x_ & 0x7F);                                                  \
    } while (0)
    for (int section = 0; section < sections; section++) {
        VARLEN(0);
        ev[n++] = 0xC0;
        ev[n++] = (unsigned char)programs[section % 8];
        VARLEN(0);
        ev[n++] = 0xC1;
        ev[n++] = (unsigned char)programs[(section + 3) % 8];
        for (int beat = 0; beat < 60; beat++) {
            int root = 48 + (int)(sig_uniform(&r) * 12);
            int chord[3] = {root, root + 4, root + 7};
            int melody = 60 + (int)(sig_uniform(&r) * 24);
            for (int k = 0; k < 3; k++) {
                VARLEN(0);
                ev[n++] = 0x91;
                ev[n++] = (unsigned char)chord[k];
                ev[n++] = 80;
            }
            VARLEN(0);
            ev[n++] = 0x90;
            ev[n++] = (unsigned char)melody;
            ev[n++] = 100;
            VARLEN(240 + (int)(sig_uniform(&r) * 240)); /* ticks at 480 per beat */
            ev[n++] = 0x80;
            ev[n++] = (unsigned char)melody;
            ev[n++] = 0;
            for (int k = 0; k < 3; k++) {
                VARLEN(0);
                ev[n++] = 0x81;
                ev[n++] = (unsigned char)chord[k];
                ev[n++] = 0;
            }
        }
    }
    VARLEN(0);
    ev[n++] = 0xFF;
    ev[n++] = 0x2F;
    ev[n++] = 0x00;
#undef VARLEN
    return render_track(b, tmp, ev, n);
}

/* A MIDI file of `sections` sections, each with its own tempo, two melodic GM programs, a bass
   and (in most) drums, rendered by fluidsynth like sig_append_music(). */
int sig_append_music_bed(sig_buf *b, const char *tmp, uint64_t seed, int sections)
{
    if (access(SOUNDFONT, R_OK) != 0)
        return -1;
    unsigned char *ev = malloc(1 << 21);
    size_t n = 0;
    sig_rng r;
    sig_seed(&r, seed);
#define VARLEN(v)                                                                              \
    do {                                                                                       \
        unsigned x_ = (unsigned)(v);                                                           \
        if (x_ >= 0x4000)                                                                      \
            ev[n++] = (unsigned char)(0x80 | (x_ >> 14));                                      \
        if (x_ >= 0x80)                                                                        \
            ev[n++] = (unsigned char)(0x80 | ((x_ >> 7) & 0x7F));                              \
        ev[n++] = (unsigned char)(x_ & 0x7F);                                                  \
    } while (0)
#define EVENT3(a, b_, c)                                                                       \
    do {                                                                                       \
        ev[n++] = (unsigned char)(a);                                                          \
        ev[n++] = (unsigned char)(b_);                                                         \
        ev[n++] = (unsigned char)(c);                                                          \
    } while (0)
    for (int section = 0; section < sections; section++) {
        int bpm = 60 + (int)(sig_uniform(&r) * 100);
        unsigned us = 60000000u / (unsigned)bpm;
        VARLEN(0);
        ev[n++] = 0xFF, ev[n++] = 0x51, ev[n++] = 3;
        ev[n++] = (unsigned char)(us >> 16), ev[n++] = (unsigned char)(us >> 8),
        ev[n++] = (unsigned char)us;
        int lead = (int)(sig_uniform(&r) * 112), pad = (int)(sig_uniform(&r) * 112);
        int bass = 32 + (int)(sig_uniform(&r) * 8), drums = sig_uniform(&r) < 0.7;
        VARLEN(0);
        ev[n++] = 0xC0, ev[n++] = (unsigned char)lead;
        VARLEN(0);
        ev[n++] = 0xC1, ev[n++] = (unsigned char)pad;
        VARLEN(0);
        ev[n++] = 0xC2, ev[n++] = (unsigned char)bass;
        int beats = bpm / 4; /* about 15 s */
        int key = 48 + (int)(sig_uniform(&r) * 12), note = key + 12;
        for (int beat = 0; beat < beats; beat++) {
            int root = key + (int)(sig_uniform(&r) * 8) * 2 % 12;
            int minor = sig_uniform(&r) < 0.4;
            int chord[3] = {root, root + 3 + !minor, root + 7};
            for (int k = 0; k < 3; k++) {
                VARLEN(0);
                EVENT3(0x91, chord[k], 60 + (int)(sig_uniform(&r) * 30));
            }
            VARLEN(0);
            EVENT3(0x92, root - 12, 90);
            /* two melody notes a beat, stepping through the scale */
            for (int half = 0; half < 2; half++) {
                note += (int)(sig_uniform(&r) * 7) - 3;
                note = note < key + 5 ? key + 5 : note > key + 28 ? key + 28 : note;
                VARLEN(0);
                EVENT3(0x90, note, 70 + (int)(sig_uniform(&r) * 50));
                if (drums) {
                    VARLEN(0);
                    EVENT3(0x99, half ? 42 : (beat % 2 ? 38 : 36), 90);
                }
                VARLEN(240);
                EVENT3(0x80, note, 0);
                if (drums) {
                    VARLEN(0);
                    EVENT3(0x89, half ? 42 : (beat % 2 ? 38 : 36), 0);
                }
            }
            for (int k = 0; k < 3; k++) {
                VARLEN(0);
                EVENT3(0x81, chord[k], 0);
            }
            VARLEN(0);
            EVENT3(0x82, root - 12, 0);
        }
    }
    VARLEN(0);
    ev[n++] = 0xFF, ev[n++] = 0x2F, ev[n++] = 0x00;
#undef VARLEN
#undef EVENT3
    return render_track(b, tmp, ev, n);
}

