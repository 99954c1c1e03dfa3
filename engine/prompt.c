#include "prompt.h"

#include <errno.h>
#include <fcntl.h>
#include <sndfile.h>
#include <speex/speex_resampler.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "callrec.h"

/* Quality 5 is SpeexDSP's VoIP default: transparent for speech at a fraction of the cost
   of 10. */
#define RESAMPLER_QUALITY 5
#define READ_FRAMES 1024

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int cr_prompt_local_path(const char *uri, const char *base_dir, char *path, size_t path_len,
                         char *err, size_t err_len)
{
    if (strncmp(uri, "file://", 7) == 0) {
        const char *p = uri + 7;
        if (strncmp(p, "localhost/", 10) == 0)
            p += 9;
        if (*p != '/') {
            snprintf(err, err_len, "prompt %s: a file URI must name an absolute path", uri);
            return -1;
        }
        size_t o = 0;
        for (; *p; p++) {
            char c = *p;
            if (c == '%') {
                int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
                if (lo < 0 || (hi == 0 && lo == 0)) {
                    snprintf(err, err_len, "prompt %s: bad percent-escape in the file URI", uri);
                    return -1;
                }
                c = (char)(hi * 16 + lo);
                p += 2;
            }
            if (o + 1 >= path_len) {
                snprintf(err, err_len, "prompt %s: path too long", uri);
                return -1;
            }
            path[o++] = c;
        }
        path[o] = '\0';
        return 0;
    }
    /* Anything else with a scheme ("https:", "s3:") is not a local file. */
    const char *colon = strchr(uri, ':');
    const char *slash = strchr(uri, '/');
    if (colon && (!slash || colon < slash) && colon - uri > 1) {
        snprintf(err, err_len,
                 "prompt %.200s: callrec cannot fetch this URI itself (only files); an embedding "
                 "application can serve it with a prompt resolver",
                 uri);
        return -1;
    }
    int n;
    if (uri[0] == '/' || !base_dir || !base_dir[0])
        n = snprintf(path, path_len, "%s", uri);
    else
        n = snprintf(path, path_len, "%s/%s", base_dir, uri);
    if (n < 0 || (size_t)n >= path_len) {
        snprintf(err, err_len, "prompt %.200s: path too long", uri);
        return -1;
    }
    return 0;
}

/* Decodes an opened file; takes ownership of sf. */
static int decode(SNDFILE *sf, SF_INFO info, const char *path, int max_seconds,
                  int16_t **samples, size_t *count, char *err, size_t err_len)
{
    SpeexResamplerState *rs = NULL;
    float *in = NULL;
    int16_t *mono = NULL, *out = NULL;
    int rc = -1;

    if (info.samplerate < 1000 || info.samplerate > 384000 || info.channels < 1 ||
        info.channels > 64) {
        snprintf(err, err_len, "prompt %s: unsupported audio (%d Hz, %d channels)", path,
                 info.samplerate, info.channels);
        goto done;
    }
    if (info.frames <= 0) {
        snprintf(err, err_len, "prompt %s: contains no audio", path);
        goto done;
    }
    if (info.frames / info.samplerate >= max_seconds) {
        snprintf(err, err_len, "prompt %s: %.1f s long; at most %d s accepted", path,
                 (double)info.frames / info.samplerate, max_seconds);
        goto done;
    }
    size_t frames = (size_t)info.frames;
    size_t cap = (size_t)((double)frames * CALLREC_INTERNAL_RATE_HZ / info.samplerate) +
                 2 * READ_FRAMES;
    in = malloc(sizeof *in * READ_FRAMES * (size_t)info.channels);
    mono = malloc(sizeof *mono * READ_FRAMES);
    out = malloc(sizeof *out * cap);
    int e = 0;
    rs = speex_resampler_init(1, (spx_uint32_t)info.samplerate, CALLREC_INTERNAL_RATE_HZ,
                              RESAMPLER_QUALITY, &e);
    if (!in || !mono || !out || !rs) {
        snprintf(err, err_len, "prompt %s: out of memory", path);
        goto done;
    }
    speex_resampler_skip_zeros(rs);
    size_t used = 0;
    for (;;) {
        sf_count_t got = sf_readf_float(sf, in, READ_FRAMES);
        if (got <= 0)
            break;
        for (sf_count_t i = 0; i < got; i++) {
            float sum = 0.0f;
            for (int c = 0; c < info.channels; c++)
                sum += in[i * info.channels + c];
            float v = sum / (float)info.channels * 32767.0f;
            /* A float file may hold NaN or infinities: NaN is silence, the rest is clipped
               (converting either to an integer unchecked is undefined). */
            mono[i] = (int16_t)(v != v ? 0 : v > 32767.0f ? 32767 : (v < -32768.0f ? -32768 : v));
        }
        spx_uint32_t in_len = (spx_uint32_t)got, out_len = (spx_uint32_t)(cap - used);
        speex_resampler_process_int(rs, 0, mono, &in_len, out + used, &out_len);
        used += out_len;
    }
    if (sf_error(sf)) {
        snprintf(err, err_len, "prompt %s: decoding failed: %s", path, sf_strerror(sf));
        goto done;
    }
    /* Drain the resampler's delay line with silence so the prompt's tail is not lost. */
    int16_t zeros[64] = {0};
    int latency = speex_resampler_get_input_latency(rs);
    while (latency > 0 && used < cap) {
        spx_uint32_t in_len = latency > 64 ? 64 : (spx_uint32_t)latency;
        spx_uint32_t out_len = (spx_uint32_t)(cap - used);
        speex_resampler_process_int(rs, 0, zeros, &in_len, out + used, &out_len);
        used += out_len;
        latency -= (int)in_len;
    }
    if (used == 0) {
        snprintf(err, err_len, "prompt %s: contains no audio", path);
        goto done;
    }
    *samples = out;
    *count = used;
    out = NULL;
    rc = 0;
done:
    if (rs)
        speex_resampler_destroy(rs);
    free(in);
    free(mono);
    free(out);
    sf_close(sf);
    return rc;
}

const char *cr_audio_open_error(const char *path)
{
    const char *why = sf_strerror(NULL); /* before anything else can change it */
    struct stat st;
    if (stat(path, &st) != 0)
        return why;
    if (S_ISDIR(st.st_mode))
        return "is a folder, not an audio file";
    return S_ISREG(st.st_mode) && st.st_size == 0 ? "is empty" : why;
}

int cr_prompt_load(const char *path, int max_seconds, int16_t **samples, size_t *count,
                   char *err, size_t err_len)
{
    SF_INFO info = {0};
    *samples = NULL;
    *count = 0;
    /* Only a regular file can be a prompt: opening a FIFO would wait for a writer, and reading
       a device would never end. O_NONBLOCK makes the open itself return at once. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, err_len, "prompt %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, err_len, "prompt %s: %s", path,
                 S_ISDIR(st.st_mode) ? "is a folder, not an audio file"
                                     : "is not a regular file (a pipe or a device cannot be a "
                                       "prompt)");
        close(fd);
        return -1;
    }
    int flags = fcntl(fd, F_GETFL);
    SNDFILE *sf = flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0
                      ? NULL
                      : sf_open_fd(fd, SFM_READ, &info, SF_FALSE);
    if (!sf) {
        snprintf(err, err_len, "prompt %s: %s", path, cr_audio_open_error(path));
        close(fd);
        return -1;
    }
    int rc = decode(sf, info, path, max_seconds, samples, count, err, err_len);
    close(fd);
    return rc;
}

typedef struct memfile {
    const unsigned char *data;
    sf_count_t size, pos;
} memfile;

static sf_count_t mem_length(void *user) { return ((memfile *)user)->size; }

static sf_count_t mem_seek(sf_count_t offset, int whence, void *user)
{
    memfile *m = user;
    sf_count_t to = whence == SEEK_SET ? offset : (whence == SEEK_CUR ? m->pos + offset : m->size + offset);
    if (to < 0 || to > m->size)
        return -1;
    return m->pos = to;
}

static sf_count_t mem_read(void *ptr, sf_count_t n, void *user)
{
    memfile *m = user;
    if (n > m->size - m->pos)
        n = m->size - m->pos;
    memcpy(ptr, m->data + m->pos, (size_t)n);
    m->pos += n;
    return n;
}

static sf_count_t mem_write(const void *ptr, sf_count_t n, void *user)
{
    (void)ptr;
    (void)n;
    (void)user;
    return 0;
}

static sf_count_t mem_tell(void *user) { return ((memfile *)user)->pos; }

int cr_prompt_load_memory(const void *data, size_t size, const char *name, int max_seconds,
                          int16_t **samples, size_t *count, char *err, size_t err_len)
{
    SF_VIRTUAL_IO io = {mem_length, mem_seek, mem_read, mem_write, mem_tell};
    memfile m = {data, (sf_count_t)size, 0};
    SF_INFO info = {0};
    *samples = NULL;
    *count = 0;
    SNDFILE *sf = sf_open_virtual(&io, SFM_READ, &info, &m);
    if (!sf) {
        snprintf(err, err_len, "prompt %s: %s", name, sf_strerror(NULL));
        return -1;
    }
    return decode(sf, info, name, max_seconds, samples, count, err, err_len);
}
