/* The public audio source: exact statuses, mono mixing, one conversion of exact length and
   alignment, float clipping, memory and pipe inputs equal to the file. */
#include <math.h>
#include <pthread.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "callrec.h"
#include "harness.h"
#include "signals.h"
#include "support.h"

static char dir[512];

/* Writes frames*channels samples (interleaved, in [-1, 1]) as `format` at `rate`. */
static void write_file(const char *path, int format, int rate, int channels, const float *x,
                       size_t frames)
{
    SF_INFO info = {.samplerate = rate, .channels = channels, .format = format};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    CHECK_MSG(sf != NULL, "%s: %s", path, sf_strerror(NULL));
    if (!sf)
        return;
    sf_command(sf, SFC_SET_NORM_FLOAT, NULL, SF_TRUE);
    CHECK(sf_writef_float(sf, x, (sf_count_t)frames) == (sf_count_t)frames);
    sf_close(sf);
}

/* Reads the whole source `step` frames at a time; returns the samples (malloc'd). */
static int16_t *read_all(callrec_source *src, size_t step, size_t *n)
{
    size_t cap = 1 << 16, used = 0, got = 0;
    int16_t *x = malloc(sizeof *x * cap);
    callrec_status st = CALLREC_OK;
    do {
        if (used + step > cap)
            x = realloc(x, sizeof *x * (cap *= 2));
        st = callrec_source_read(src, x + used, step, &got);
        used += got;
    } while (got > 0 && st == CALLREC_OK);
    CHECK(st == CALLREC_OK);
    *n = used;
    return x;
}

static void test_arguments(void)
{
    callrec_source *src = (callrec_source *)&src;
    char err[256] = "";
    CHECK(callrec_source_open(NULL, 0, &src, err, sizeof err) == CALLREC_EINVAL && !src);
    CHECK(callrec_source_open("x.wav", 0, NULL, err, sizeof err) == CALLREC_EINVAL);
    CHECK(callrec_source_open("x.wav", 7999, &src, err, sizeof err) == CALLREC_EINVAL);
    CHECK(callrec_source_open("x.wav", 48001, &src, err, sizeof err) == CALLREC_EINVAL);
    CHECK(callrec_source_open_memory(NULL, 10, "m", 0, &src, err, sizeof err) == CALLREC_EINVAL);
    CHECK(callrec_source_open_memory("RIFF", 4, NULL, 0, &src, err, sizeof err) == CALLREC_EINVAL);
    size_t got = 1;
    int16_t x[4];
    CHECK(callrec_source_read(NULL, x, 4, &got) == CALLREC_EINVAL && got == 0);
    callrec_source_close(NULL);

    char path[600];
    snprintf(path, sizeof path, "%s/missing.wav", dir);
    CHECK(callrec_source_open(path, 0, &src, err, sizeof err) == CALLREC_EIO && !src);
    CHECK_MSG(strncmp(err, path, strlen(path)) == 0 && strstr(err, "No such file"), "%s", err);
    CHECK(callrec_source_open(dir, 0, &src, err, sizeof err) == CALLREC_EIO);
    CHECK_MSG(strstr(err, "is a folder, not an audio file") != NULL, "%s", err);
    snprintf(path, sizeof path, "%s/text.wav", dir);
    support_write_file(path, "not audio at all, just words\n");
    CHECK(callrec_source_open(path, 0, &src, err, sizeof err) == CALLREC_EFORMAT);
    snprintf(path, sizeof path, "%s/empty.wav", dir);
    support_write_file(path, "");
    CHECK(callrec_source_open(path, 0, &src, err, sizeof err) == CALLREC_EFORMAT);
    CHECK_MSG(strstr(err, "is empty") != NULL, "%s", err);
    snprintf(path, sizeof path, "%s/nosamples.wav", dir);
    write_file(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, NULL, 0);
    CHECK(callrec_source_open(path, 0, &src, err, sizeof err) == CALLREC_EFORMAT);
    CHECK_MSG(strstr(err, "contains no audio") != NULL, "%s", err);
}

/* Channels are averaged, and a 16-bit file at a session rate is delivered bit-exact. */
static void test_mix(void)
{
    enum { N = 4000 };
    short *x = malloc(sizeof *x * N * 2);
    for (int i = 0; i < N; i++) {
        x[2 * i] = (short)((i % 100) * 300);
        x[2 * i + 1] = (short)-((i % 7) * 1000);
    }
    char path[600];
    snprintf(path, sizeof path, "%s/stereo.wav", dir);
    SF_INFO si = {.samplerate = 11025, .channels = 2, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &si);
    CHECK(sf && sf_writef_short(sf, x, N) == N);
    sf_close(sf);
    callrec_source *src = NULL;
    char err[256] = "";
    CHECK(callrec_source_open(path, CALLREC_SOURCE_SESSION_RATE, &src, err, sizeof err) == 0);
    callrec_source_info info = {0};
    callrec_source_get_info(src, &info);
    CHECK(info.input_rate_hz == 11025 && info.rate_hz == 11025 && info.channels == 2 &&
          info.input_frames == N);
    size_t n = 0;
    int16_t *y = read_all(src, 333, &n);
    CHECK_MSG(n == N, "%zu frames", n);
    int exact = 1;
    for (int i = 0; i < N && n == N; i++)
        exact &= y[i] == ((i % 100) * 300 - (i % 7) * 1000) / 2;
    CHECK(exact);
    size_t got = 9;
    CHECK(callrec_source_read(src, y, 10, &got) == CALLREC_OK && got == 0);
    free(y);
    callrec_source_close(src);
    free(x);
}

/* One second at `rate` holding a click at 0.5 s and a 1 kHz tone: converted, exactly 16,000
   samples, the click within a sample of 8,000 and the tone's level kept. */
static void check_conversion(int rate, int ask, int want_rate)
{
    size_t n_in = (size_t)rate;
    float *x = calloc(n_in, sizeof *x);
    for (size_t i = 0; i < n_in; i++)
        x[i] = i < n_in / 4 ? 0.25f * (float)sin(2 * M_PI * 1000.0 * (double)i / rate) : 0.0f;
    x[n_in / 2] = 0.9f;
    char path[600];
    snprintf(path, sizeof path, "%s/rate%d.wav", dir, rate);
    write_file(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, rate, 1, x, n_in);
    callrec_source *src = NULL;
    CHECK(callrec_source_open(path, ask, &src, NULL, 0) == CALLREC_OK);
    callrec_source_info info = {0};
    callrec_source_get_info(src, &info);
    CHECK_MSG(info.rate_hz == want_rate, "%d Hz asked %d: delivers %d", rate, ask, info.rate_hz);
    size_t n = 0;
    int16_t *y = read_all(src, 160, &n);
    CHECK_MSG(n == (size_t)want_rate, "%d Hz to %d: %zu samples", rate, want_rate, n);
    size_t peak = 0;
    for (size_t i = (size_t)want_rate / 3; i < n; i++)
        if (abs(y[i]) > abs(y[peak]))
            peak = i;
    CHECK_MSG(labs((long)peak - want_rate / 2) <= 1, "%d Hz: click at %zu", rate, peak);
    double db = sig_rms_dbfs(y + want_rate / 40, (size_t)want_rate / 5);
    CHECK_MSG(fabs(db - (20 * log10(0.25) - 3.01)) < 0.2, "%d Hz: tone at %.2f dBFS", rate, db);
    free(y);
    callrec_source_close(src);

    /* Read one frame at a time, the same samples. */
    CHECK(callrec_source_open(path, ask, &src, NULL, 0) == CALLREC_OK);
    size_t n1 = 0;
    int16_t *y1 = read_all(src, 1, &n1);
    callrec_source_close(src);
    CHECK(callrec_source_open(path, ask, &src, NULL, 0) == CALLREC_OK);
    y = read_all(src, 4096, &n);
    callrec_source_close(src);
    CHECK(n1 == n && memcmp(y1, y, n * sizeof *y) == 0);
    free(y);
    free(y1);
    free(x);
}

static void test_float(void)
{
    float x[6] = {NAN, 2.0f, -3.0f, INFINITY, 0.5f, -0.5f};
    char path[600];
    snprintf(path, sizeof path, "%s/float.wav", dir);
    write_file(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, x, 6);
    callrec_source *src = NULL;
    CHECK(callrec_source_open(path, 16000, &src, NULL, 0) == CALLREC_OK);
    int16_t y[8] = {0};
    size_t got = 0;
    CHECK(callrec_source_read(src, y, 8, &got) == CALLREC_OK && got == 6);
    CHECK_MSG(y[0] == 0 && y[1] == 32767 && y[2] == -32768 && y[3] == 32767 &&
                  abs(y[4] - 16384) <= 1 && abs(y[5] + 16384) <= 1,
              "%d %d %d %d %d %d", y[0], y[1], y[2], y[3], y[4], y[5]);
    callrec_source_close(src);
}

typedef struct feed {
    int fd;
    const unsigned char *data;
    size_t size;
} feed;

static void *feeder(void *arg)
{
    feed *f = arg;
    for (size_t o = 0; o < f->size;) {
        ssize_t k = write(f->fd, f->data + o, f->size - o > 1000 ? 1000 : f->size - o);
        if (k <= 0)
            break;
        o += (size_t)k;
    }
    close(f->fd);
    return NULL;
}

/* The same file from a path, from memory and from a pipe (WAV: FLAC and MPEG need to seek):
   the same samples; only the pipe's length is unknown. Then FLAC from a path and memory. */
static void test_memory_and_pipe(void)
{
    enum { N = 24000 };
    float *x = malloc(sizeof *x * N);
    for (int i = 0; i < N; i++)
        x[i] = 0.3f * (float)sin(i * 0.05) * (float)(i % 1000) / 1000.0f;
    char path[600];
    snprintf(path, sizeof path, "%s/speech.wav", dir);
    write_file(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 24000, 1, x, N);
    char flac[600];
    snprintf(flac, sizeof flac, "%s/speech.flac", dir);
    write_file(flac, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 24000, 1, x, N);
    free(x);
    FILE *f = fopen(path, "rb");
    unsigned char *data = malloc(1 << 20);
    size_t size = f ? fread(data, 1, 1 << 20, f) : 0;
    if (f)
        fclose(f);
    CHECK(size > 0);

    callrec_source *a = NULL, *b = NULL, *c = NULL;
    CHECK(callrec_source_open(path, 16000, &a, NULL, 0) == CALLREC_OK);
    CHECK(callrec_source_open_memory(data, size, "memory", 16000, &b, NULL, 0) == CALLREC_OK);
    int p[2];
    CHECK(pipe(p) == 0);
    int saved = dup(STDIN_FILENO);
    dup2(p[0], STDIN_FILENO);
    close(p[0]);
    feed fd = {p[1], data, size};
    pthread_t t;
    pthread_create(&t, NULL, feeder, &fd);
    CHECK(callrec_source_open("-", 16000, &c, NULL, 0) == CALLREC_OK);
    callrec_source_info ia = {0}, ic = {0};
    callrec_source_get_info(a, &ia);
    callrec_source_get_info(c, &ic);
    CHECK(ia.input_frames == N && ic.input_frames == -1 && ic.input_rate_hz == 24000);
    size_t na = 0, nb = 0, nc = 0;
    int16_t *ya = read_all(a, 500, &na), *yb = read_all(b, 777, &nb), *yc = read_all(c, 320, &nc);
    pthread_join(t, NULL);
    dup2(saved, STDIN_FILENO);
    close(saved);
    CHECK_MSG(na == 16000 && nb == na && nc == na, "%zu %zu %zu", na, nb, nc);
    CHECK(nb == na && memcmp(ya, yb, na * sizeof *ya) == 0);
    CHECK(nc == na && memcmp(ya, yc, na * sizeof *ya) == 0);
    free(ya);
    free(yb);
    free(yc);
    callrec_source_close(a);
    callrec_source_close(b);
    callrec_source_close(c);
    f = fopen(flac, "rb");
    size = f ? fread(data, 1, 1 << 20, f) : 0;
    if (f)
        fclose(f);
    CHECK(callrec_source_open(flac, 16000, &a, NULL, 0) == CALLREC_OK);
    CHECK(callrec_source_open_memory(data, size, "flac", 16000, &b, NULL, 0) == CALLREC_OK);
    ya = read_all(a, 500, &na);
    yb = read_all(b, 999, &nb);
    CHECK(na == 16000 && nb == na && memcmp(ya, yb, na * sizeof *ya) == 0);
    free(ya);
    free(yb);
    callrec_source_close(a);
    callrec_source_close(b);
    char err[256] = "";
    CHECK(callrec_source_open_memory(data, 0, "nothing", 0, &b, err, sizeof err) ==
              CALLREC_EFORMAT && !b);
    CHECK_MSG(strstr(err, "nothing: is empty") != NULL, "%s", err);
    free(data);
}

/* Headerless input: 16-bit little-endian samples come back exactly; G.711 bytes decode to the
   standard's values; a bad format, rate or channel count is refused. */
static void test_raw(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/raw.s16", dir);
    unsigned char bytes[8] = {0x34, 0x12, 0xCC, 0xED, 0xFF, 0x7F, 0x00, 0x80};
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(bytes, 1, sizeof bytes, f) == sizeof bytes);
    if (f)
        fclose(f);
    callrec_source *src = NULL;
    CHECK(callrec_source_open_raw(path, CALLREC_RAW_S16LE, 16000, 1, 16000, &src, NULL, 0) ==
          CALLREC_OK);
    int16_t y[8] = {0};
    size_t got = 0;
    CHECK(callrec_source_read(src, y, 8, &got) == CALLREC_OK && got == 4);
    CHECK_MSG(y[0] == 0x1234 && y[1] == -0x1234 && y[2] == 32767 && y[3] == -32768,
              "%d %d %d %d", y[0], y[1], y[2], y[3]);
    callrec_source_info info;
    callrec_source_get_info(src, &info);
    CHECK(info.input_frames == 4 && info.channels == 1 && info.input_rate_hz == 16000);
    callrec_source_close(src);
    /* u-law: 0xFF and 0x7F are zero, 0x80 the largest positive (32124), 0x00 the largest
       negative; A-law 0xD5 is the smallest positive step (8) (ITU-T G.711 tables). */
    snprintf(path, sizeof path, "%s/raw.g711", dir);
    unsigned char g711[4] = {0xFF, 0x80, 0x00, 0xD5};
    f = fopen(path, "wb");
    CHECK(f && fwrite(g711, 1, sizeof g711, f) == sizeof g711);
    if (f)
        fclose(f);
    CHECK(callrec_source_open_raw(path, CALLREC_RAW_ULAW, 8000, 1, 8000, &src, NULL, 0) == 0);
    CHECK(callrec_source_read(src, y, 8, &got) == CALLREC_OK && got == 4);
    CHECK_MSG(y[0] == 0 && y[1] == 32124 && y[2] == -32124, "%d %d %d", y[0], y[1], y[2]);
    callrec_source_close(src);
    CHECK(callrec_source_open_raw(path, CALLREC_RAW_ALAW, 8000, 1, 8000, &src, NULL, 0) == 0);
    CHECK(callrec_source_read(src, y, 8, &got) == CALLREC_OK && got == 4);
    CHECK_MSG(y[3] == 8, "A-law 0xD5: %d", y[3]);
    callrec_source_close(src);
    CHECK(callrec_source_open_raw(path, (callrec_raw_format)7, 8000, 1, 8000, &src, NULL, 0) ==
          CALLREC_EINVAL && !src);
    CHECK(callrec_source_open_raw(path, CALLREC_RAW_ULAW, 999, 1, 8000, &src, NULL, 0) ==
          CALLREC_EINVAL);
    CHECK(callrec_source_open_raw(path, CALLREC_RAW_ULAW, 8000, 65, 8000, &src, NULL, 0) ==
          CALLREC_EINVAL);
}

int main(void)
{
    if (support_scratch_dir(dir, sizeof dir, "source")) {
        fprintf(stderr, "no scratch folder\n");
        return 1;
    }
    test_arguments();
    test_mix();
    int rates[] = {8000, 11025, 22050, 32000, 44100, 48000};
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++)
        check_conversion(rates[i], 16000, 16000);
    check_conversion(96000, CALLREC_SOURCE_SESSION_RATE, 16000);
    check_conversion(6000, CALLREC_SOURCE_SESSION_RATE, 16000);
    check_conversion(44100, 8000, 8000);
    test_float();
    test_memory_and_pipe();
    test_raw();
    support_remove_dir(dir);
    return harness_finish("test_source");
}
