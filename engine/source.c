#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sndfile.h>
#include <speex/speex_resampler.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#define SNIFF_BYTES 4
#define RELAY_CHUNK 65536
/* Frames decoded per libsndfile call: big enough that a 300 s file is a few thousand reads. */
#define BLOCK_FRAMES 4096
/* SpeexDSP's quality 5, its VoIP default: transparent for speech at a fraction of the cost
   of 10 (docs/benchmarks.md has the rates' costs). */
#define RESAMPLER_QUALITY 5
#define MAX_CHANNELS 64

/* What the relay thread owns: it frees this and closes `to` when the source ends. */
typedef struct relay {
    int from, to;
    unsigned char head[SNIFF_BYTES];
    size_t head_len;
} relay;

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1; /* the reader has gone (EPIPE: SIGPIPE is blocked on this thread) */
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static void *relay_main(void *arg)
{
    relay *r = arg;
    unsigned char *buf = malloc(RELAY_CHUNK);
    if (buf && write_all(r->to, r->head, r->head_len) == 0) {
        for (;;) {
            ssize_t n = read(r->from, buf, RELAY_CHUNK);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0 || write_all(r->to, buf, (size_t)n))
                break;
        }
    }
    free(buf);
    close(r->to);
    close(r->from);
    free(r);
    return NULL;
}

/* ID3v2 tag, or an MPEG audio frame's 11-bit sync. */
static int looks_mpeg(const unsigned char *h, size_t n)
{
    return (n >= 3 && memcmp(h, "ID3", 3) == 0) || (n >= 2 && h[0] == 0xFF && (h[1] & 0xE0) == 0xE0);
}

/* Reads the head of a source that cannot seek and starts the relay that hands it, and the
   rest, to libsndfile. Returns the relay's read end, or -1 with a message. */
static int start_relay(int from, const char *name, callrec_status *why_status, char *err,
                       size_t err_len)
{
    relay *r = calloc(1, sizeof *r);
    int p[2] = {-1, -1};
    /* The relay reads its own descriptor: the caller may close the source's at any time. */
    if (!r || (r->from = fcntl(from, F_DUPFD_CLOEXEC, 0)) < 0 || pipe(p)) {
        *why_status = CALLREC_ENOMEM;
        snprintf(err, err_len, "%s: out of memory or descriptors", name);
        if (r && r->from >= 0)
            close(r->from);
        free(r);
        return -1;
    }
    r->to = p[1];
    while (r->head_len < SNIFF_BYTES) {
        ssize_t n = read(r->from, r->head + r->head_len, SNIFF_BYTES - r->head_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        r->head_len += (size_t)n;
    }
    const char *why = looks_mpeg(r->head, r->head_len)
                          ? "MPEG audio is read from a file only, not from a pipe (libsndfile's "
                            "MPEG decoder needs to seek)"
                          : NULL;
    /* The relay takes no signal: they are for the threads that act on them, and a reader that
       goes away must end it with EPIPE, not end the process with SIGPIPE. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_t thread;
    int started = 0;
    if (!why) {
        pthread_sigmask(SIG_BLOCK, &all, &old);
        started = pthread_create(&thread, NULL, relay_main, r) == 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (started)
            pthread_detach(thread);
        else
            why = "no thread to read it";
    }
    if (why) {
        *why_status = started ? CALLREC_ENOMEM : CALLREC_EFORMAT;
        snprintf(err, err_len, "%s: %s", name, why);
        close(p[0]);
        close(p[1]);
        close(r->from);
        free(r);
        return -1;
    }
    return p[0];
}

typedef struct memfile {
    const unsigned char *data;
    sf_count_t size, pos;
} memfile;

struct callrec_source {
    SNDFILE *sf;
    int fd;       /* the opened file, or -1 (stdin is not ours to close) */
    int relay_fd; /* read end of the relay pipe, or -1 */
    memfile mem;
    callrec_source_info info;
    int read_float; /* float and lossy encodings: read as float, clipped and NaN-checked here */
    SpeexResamplerState *rs;
    int64_t in_total, out_total; /* input frames decoded, output frames delivered (converting) */
    int input_ended;
    int16_t *mono; /* converting: decoded mono input not yet taken by the converter */
    size_t mono_len, mono_pos;
    void *block; /* BLOCK_FRAMES interleaved frames, short or float */
};

static void set_err(char *err, size_t err_len, const char *fmt, const char *name, const char *why)
{
    if (err && err_len)
        snprintf(err, err_len, fmt, name, why);
}

/* Why libsndfile could not open the file `path`, just after it failed: a folder or an empty
   file is named as such; otherwise libsndfile's own reason. */
static const char *open_error(const char *path)
{
    const char *why = sf_strerror(NULL); /* before anything else can change it */
    struct stat st;
    if (!path || stat(path, &st) != 0)
        return why;
    if (S_ISDIR(st.st_mode))
        return "is a folder, not an audio file";
    return S_ISREG(st.st_mode) && st.st_size == 0 ? "is empty" : why;
}

static sf_count_t mem_length(void *user) { return ((memfile *)user)->size; }

static sf_count_t mem_seek(sf_count_t offset, int whence, void *user)
{
    memfile *m = user;
    sf_count_t to = whence == SEEK_SET ? offset : whence == SEEK_CUR ? m->pos + offset : m->size + offset;
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

static int uses_float(int format)
{
    switch (format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_FLOAT:
    case SF_FORMAT_DOUBLE:
    case SF_FORMAT_VORBIS:
    case SF_FORMAT_OPUS:
    case SF_FORMAT_MPEG_LAYER_I:
    case SF_FORMAT_MPEG_LAYER_II:
    case SF_FORMAT_MPEG_LAYER_III:
        return 1;
    default:
        return 0;
    }
}

/* Everything after libsndfile has opened the input: checks, buffers, the converter. Frees the
   source on failure. */
static callrec_status finish_open(callrec_source *src, const SF_INFO *sfi, const char *name,
                                  int rate_hz, int length_known, callrec_source **out, char *err,
                                  size_t err_len)
{
    char why[96];
    callrec_status st = CALLREC_EFORMAT;
    if (sfi->samplerate < 1000 || sfi->samplerate > 384000 || sfi->channels < 1 ||
        sfi->channels > MAX_CHANNELS) {
        snprintf(why, sizeof why, "unsupported audio: %d Hz, %d channels", sfi->samplerate,
                 sfi->channels);
        set_err(err, err_len, "%s: %s", name, why);
        goto fail;
    }
    if (sfi->frames == 0) {
        set_err(err, err_len, "%s: %s", name, "contains no audio");
        goto fail;
    }
    src->info.input_rate_hz = sfi->samplerate;
    src->info.channels = sfi->channels;
    src->info.input_frames = length_known ? (int64_t)sfi->frames : -1;
    if (rate_hz == CALLREC_SOURCE_SESSION_RATE)
        rate_hz = sfi->samplerate >= 8000 && sfi->samplerate <= 48000 ? sfi->samplerate
                                                                       : CALLREC_INTERNAL_RATE_HZ;
    src->info.rate_hz = rate_hz;
    src->read_float = uses_float(sfi->format);
    size_t sample = src->read_float ? sizeof(float) : sizeof(short);
    st = CALLREC_ENOMEM;
    src->block = malloc(sample * BLOCK_FRAMES * (size_t)sfi->channels);
    if (!src->block)
        goto fail;
    if (rate_hz != sfi->samplerate) {
        int e = 0;
        src->mono = malloc(sizeof *src->mono * BLOCK_FRAMES);
        src->rs = speex_resampler_init(1, (spx_uint32_t)sfi->samplerate, (spx_uint32_t)rate_hz,
                                       RESAMPLER_QUALITY, &e);
        if (!src->mono || !src->rs)
            goto fail;
        speex_resampler_skip_zeros(src->rs); /* aligned with the input from its first sample */
    }
    *out = src;
    return CALLREC_OK;
fail:
    if (st == CALLREC_ENOMEM)
        set_err(err, err_len, "%s: %s", name, "out of memory");
    callrec_source_close(src);
    return st;
}

static callrec_source *new_source(void)
{
    callrec_source *src = calloc(1, sizeof *src);
    if (src)
        src->fd = src->relay_fd = -1;
    return src;
}

static int rate_ok(int rate_hz)
{
    return rate_hz == CALLREC_SOURCE_SESSION_RATE || (rate_hz >= 8000 && rate_hz <= 48000);
}

/* fd is the source's (or stdin, not owned: src->fd stays -1). */
/* raw: NULL, or the format of headerless audio (then nothing is sniffed or relayed: libsndfile
   reads raw audio from a pipe as it comes). */
static callrec_status open_descriptor(callrec_source *src, int fd, const char *name,
                                      const char *path, int rate_hz, const SF_INFO *raw,
                                      callrec_source **out, char *err, size_t err_len)
{
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        set_err(err, err_len, "%s: %s", name, "is a folder, not an audio file");
        callrec_source_close(src);
        return CALLREC_EIO;
    }
    int seekable = !(lseek(fd, 0, SEEK_CUR) < 0 && errno == ESPIPE);
    if (!seekable && !raw) {
        callrec_status why = CALLREC_EFORMAT;
        src->relay_fd = start_relay(fd, name, &why, err, err_len);
        if (src->relay_fd < 0) {
            callrec_source_close(src);
            return why;
        }
        fd = src->relay_fd;
    }
    SF_INFO sfi = {0};
    if (raw)
        sfi = *raw;
    src->sf = sf_open_fd(fd, SFM_READ, &sfi, SF_FALSE);
    if (!src->sf) {
        set_err(err, err_len, "%s: %s", name,
                seekable && !raw ? open_error(path) : sf_strerror(NULL));
        callrec_source_close(src);
        return CALLREC_EFORMAT;
    }
    return finish_open(src, &sfi, name, rate_hz, seekable, out, err, err_len);
}

/* Opens path ("-": stdin) for callrec_source_open() and _open_raw() (raw: NULL, or the
   headerless format); the arguments are checked. */
static callrec_status open_path(const char *path, int rate_hz, const SF_INFO *raw,
                                callrec_source **out, char *err, size_t err_len)
{
    callrec_source *src = new_source();
    if (!src)
        return CALLREC_ENOMEM;
    int from_stdin = strcmp(path, "-") == 0;
    if (!from_stdin && (src->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        set_err(err, err_len, "%s: %s", path, strerror(errno));
        callrec_source_close(src);
        return CALLREC_EIO;
    }
    return open_descriptor(src, from_stdin ? STDIN_FILENO : src->fd, path,
                           from_stdin ? NULL : path, rate_hz, raw, out, err, err_len);
}

callrec_status callrec_source_open(const char *path, int rate_hz, callrec_source **out, char *err,
                                   size_t err_len)
{
    if (out)
        *out = NULL;
    if (!path || !out || !rate_ok(rate_hz))
        return CALLREC_EINVAL;
    return open_path(path, rate_hz, NULL, out, err, err_len);
}

callrec_status callrec_source_open_raw(const char *path, callrec_raw_format format,
                                       int input_rate_hz, int channels, int rate_hz,
                                       callrec_source **out, char *err, size_t err_len)
{
    static const int subformat[] = {[CALLREC_RAW_S16LE] = SF_FORMAT_PCM_16 | SF_ENDIAN_LITTLE,
                                     [CALLREC_RAW_ULAW] = SF_FORMAT_ULAW,
                                     [CALLREC_RAW_ALAW] = SF_FORMAT_ALAW};
    if (out)
        *out = NULL;
    if (!path || !out || !rate_ok(rate_hz) || (unsigned)format > CALLREC_RAW_ALAW ||
        input_rate_hz < 1000 || input_rate_hz > 384000 || channels < 1 ||
        channels > MAX_CHANNELS)
        return CALLREC_EINVAL;
    SF_INFO raw = {.samplerate = input_rate_hz, .channels = channels,
                   .format = SF_FORMAT_RAW | subformat[format]};
    return open_path(path, rate_hz, &raw, out, err, err_len);
}

callrec_status cr_source_open_fd(int fd, const char *name, int rate_hz, callrec_source **out,
                                 char *err, size_t err_len)
{
    *out = NULL;
    callrec_source *src = new_source();
    if (!src) {
        close(fd);
        return CALLREC_ENOMEM;
    }
    src->fd = fd;
    return open_descriptor(src, fd, name, name, rate_hz, NULL, out, err, err_len);
}

callrec_status callrec_source_open_memory(const void *data, size_t size, const char *name,
                                          int rate_hz, callrec_source **out, char *err,
                                          size_t err_len)
{
    static SF_VIRTUAL_IO io = {mem_length, mem_seek, mem_read, mem_write, mem_tell};
    if (out)
        *out = NULL;
    if ((!data && size) || !name || !out || !rate_ok(rate_hz) || size > INT64_MAX)
        return CALLREC_EINVAL;
    callrec_source *src = new_source();
    if (!src)
        return CALLREC_ENOMEM;
    src->mem = (memfile){data, (sf_count_t)size, 0};
    SF_INFO sfi = {0};
    src->sf = sf_open_virtual(&io, SFM_READ, &sfi, &src->mem);
    if (!src->sf) {
        set_err(err, err_len, "%s: %s", name, size ? sf_strerror(NULL) : "is empty");
        callrec_source_close(src);
        return CALLREC_EFORMAT;
    }
    return finish_open(src, &sfi, name, rate_hz, 1, out, err, err_len);
}

void callrec_source_get_info(const callrec_source *src, callrec_source_info *info)
{
    if (src && info)
        *info = src->info;
}

/* Mono audio that libsndfile hands over as 16-bit integers (PCM, A-law, u-law) is read
   straight into the caller's buffer; the rest goes through the block, BLOCK_FRAMES at a time,
   to be mixed down or clipped. */
static int reads_in_place(const callrec_source *src)
{
    return !src->read_float && src->info.channels == 1;
}

/* Decodes up to `frames` frames into mono (at most BLOCK_FRAMES unless reads_in_place());
   returns how many, 0 at the end, -1 if decoding failed. */
static sf_count_t decode_mono(callrec_source *src, int16_t *mono, size_t frames)
{
    int ch = src->info.channels;
    sf_count_t got;
    if (src->read_float) {
        float *in = src->block;
        got = sf_readf_float(src->sf, in, (sf_count_t)frames);
        for (sf_count_t i = 0; i < got; i++) {
            float sum = 0.0f;
            for (int c = 0; c < ch; c++)
                sum += in[i * ch + c];
            float v = sum / (float)ch * 32767.0f;
            /* NaN is silence and the rest is clipped: converting either to an integer
               unchecked is undefined. */
            mono[i] = (int16_t)(v != v ? 0 : v > 32767.0f ? 32767 : v < -32768.0f ? -32768 : v);
        }
    } else if (reads_in_place(src)) {
        got = sf_readf_short(src->sf, mono, (sf_count_t)frames);
    } else {
        short *in = src->block;
        got = sf_readf_short(src->sf, in, (sf_count_t)frames);
        if (ch == 2) { /* the common case, without a division by a variable per sample */
            for (sf_count_t i = 0; i < got; i++)
                mono[i] = (int16_t)((in[2 * i] + in[2 * i + 1]) / 2);
        } else {
            for (sf_count_t i = 0; i < got; i++) {
                int sum = 0;
                for (int c = 0; c < ch; c++)
                    sum += in[i * ch + c];
                mono[i] = (int16_t)(sum / ch);
            }
        }
    }
    if (got <= 0 && sf_error(src->sf))
        return -1;
    return got < 0 ? 0 : got;
}

/* Converting: fills out with converted audio; at the input's end, the converter's delay is
   pushed out with silence up to exactly the input's length at the new rate. */
static callrec_status read_converted(callrec_source *src, int16_t *out, size_t frames,
                                     size_t *frames_read)
{
    size_t done = 0;
    int flush_rounds = 0;
    while (done < frames) {
        if (src->mono_pos == src->mono_len && !src->input_ended) {
            sf_count_t got = decode_mono(src, src->mono, BLOCK_FRAMES);
            if (got < 0) {
                *frames_read = done;
                return done ? CALLREC_OK : CALLREC_EIO;
            }
            src->mono_pos = 0;
            src->mono_len = (size_t)got;
            src->in_total += got;
            src->input_ended = got == 0;
        }
        size_t room = frames - done;
        if (room > UINT32_MAX)
            room = UINT32_MAX;
        spx_uint32_t out_len = (spx_uint32_t)room;
        if (src->mono_pos < src->mono_len) {
            spx_uint32_t in_len = (spx_uint32_t)(src->mono_len - src->mono_pos);
            speex_resampler_process_int(src->rs, 0, src->mono + src->mono_pos, &in_len,
                                        out + done, &out_len);
            src->mono_pos += in_len;
        } else {
            int64_t due = (src->in_total * src->info.rate_hz + src->info.input_rate_hz / 2) /
                              src->info.input_rate_hz -
                          src->out_total;
            if (due <= 0 || flush_rounds++ > 256)
                break;
            if ((int64_t)out_len > due)
                out_len = (spx_uint32_t)due;
            static const int16_t zeros[256];
            spx_uint32_t in_len = 256;
            speex_resampler_process_int(src->rs, 0, zeros, &in_len, out + done, &out_len);
        }
        done += out_len;
        src->out_total += out_len;
    }
    *frames_read = done;
    return CALLREC_OK;
}

callrec_status callrec_source_read(callrec_source *src, int16_t *out, size_t frames,
                                   size_t *frames_read)
{
    if (frames_read)
        *frames_read = 0;
    if (!src || !frames_read || (!out && frames))
        return CALLREC_EINVAL;
    if (src->rs)
        return read_converted(src, out, frames, frames_read);
    size_t done = 0;
    while (done < frames && !src->input_ended) {
        size_t want = frames - done;
        if (want > BLOCK_FRAMES && !reads_in_place(src))
            want = BLOCK_FRAMES;
        sf_count_t got = decode_mono(src, out + done, want);
        if (got < 0) {
            *frames_read = done;
            return done ? CALLREC_OK : CALLREC_EIO;
        }
        src->input_ended = got == 0;
        done += (size_t)got;
    }
    *frames_read = done;
    return CALLREC_OK;
}

void callrec_source_close(callrec_source *src)
{
    if (!src)
        return;
    if (src->sf)
        sf_close(src->sf);
    /* A relay blocked on a stalled source is left to end with it (or with the process); it
       owns nothing freed here. */
    if (src->relay_fd >= 0)
        close(src->relay_fd);
    if (src->fd >= 0)
        close(src->fd);
    if (src->rs)
        speex_resampler_destroy(src->rs);
    free(src->mono);
    free(src->block);
    free(src);
}
