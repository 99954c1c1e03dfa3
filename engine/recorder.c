/* The recording writer. The WAV is the canonical 44-byte PCM header followed by the samples,
   written here rather than through libsndfile: the header must state the bytes present after
   every batch, after a cut at a stop tone and after a failed write, and libsndfile rewrites
   its own idea of the length when it closes a file. libsndfile stays the reader of every
   input and prompt. */
#include "recorder.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "callrec.h"

#define HEADER_BYTES 44
#define RATE CALLREC_INTERNAL_RATE_HZ
#define BYTES_PER_FRAME 2
/* The RIFF and data sizes are 32-bit: 4 GiB less the header. 300 s at 16 kHz is 9.6 MB. */
#define MAX_FRAMES ((int64_t)(UINT32_MAX - HEADER_BYTES) / BYTES_PER_FRAME)

static void put_u16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)(v >> 8 & 0xff);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    put_u16(p, v & 0xffff);
    put_u16(p + 2, v >> 16);
}

/* RIFF/WAVE, fmt (PCM, 1 channel, 16 kHz, 16 bits), data of `frames` frames. */
static void make_header(unsigned char h[HEADER_BYTES], int64_t frames)
{
    uint32_t data = (uint32_t)(frames * BYTES_PER_FRAME);
    memcpy(h, "RIFF", 4);
    put_u32(h + 4, HEADER_BYTES - 8 + data);
    memcpy(h + 8, "WAVEfmt ", 8);
    put_u32(h + 16, 16);
    put_u16(h + 20, 1);
    put_u16(h + 22, 1);
    put_u32(h + 24, RATE);
    put_u32(h + 28, RATE * BYTES_PER_FRAME);
    put_u16(h + 32, BYTES_PER_FRAME);
    put_u16(h + 34, 16);
    memcpy(h + 36, "data", 4);
    put_u32(h + 40, data);
}

/* Writes all n bytes at offset, or fails. Returns the bytes written; *e the error, if any. */
static size_t write_at(int fd, const void *p, size_t n, off_t offset, int *e)
{
    size_t done = 0;
    *e = 0;
    while (done < n) {
        ssize_t k = pwrite(fd, (const char *)p + done, n - done, offset + (off_t)done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            *e = k < 0 ? errno : EIO;
            break;
        }
        done += (size_t)k;
    }
    return done;
}

static int write_header(cr_recorder *r, int64_t frames, int *e)
{
    unsigned char h[HEADER_BYTES];
    make_header(h, frames);
    return write_at(r->fd, h, sizeof h, 0, e) == sizeof h ? 0 : -1;
}

int cr_recorder_create(cr_recorder *r, const char *path, char *err, size_t err_len)
{
    memset(r, 0, sizeof *r);
    r->fd = -1;
    r->keep = -1;
    /* O_EXCL: never overwrite a file; O_NOFOLLOW: never follow a planted link. */
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int e = errno;
        snprintf(err, err_len, "recording %s: %s", path,
                 e == EEXIST ? "already exists; callrec never overwrites a file" : strerror(e));
        return e == EEXIST ? -1 : -2;
    }
    r->fd = fd;
    int e;
    if (write_header(r, 0, &e)) {
        snprintf(err, err_len, "recording %s: %s", path, strerror(e));
        close(fd);
        unlink(path); /* a file shorter than its header is not a WAV: leave nothing */
        r->fd = -1;
        return -2;
    }
    return 0;
}

static int write_failed(cr_recorder *r, int e, char *err, size_t err_len)
{
    r->failed = 1;
    snprintf(err, err_len, "recording write failed after %.2f s of audio: %s",
             (double)r->written / RATE, strerror(e ? e : EIO));
    return -1;
}

/* Appends the batch, then states the new length in the header. Two writes: no system call
   writes both places at once (an io_uring submission linking them was tried: on ext4 its
   buffered writes run in a kernel worker, cost three times as much, and a SIGKILL during the
   data write still cancels the header's). So a kill that lands while the data is being written
   can leave the header stating the length before the batch: the file then holds up to one batch
   more than its header says, and every reader plays the audio the header states. A short write
   keeps the whole frames that landed, with a header that says so. */
static int flush(cr_recorder *r, char *err, size_t err_len)
{
    size_t n = r->batched;
    r->batched = 0;
    if (n == 0 || r->failed)
        return r->failed ? -1 : 0;
    if (r->written + (int64_t)n > MAX_FRAMES)
        return write_failed(r, EFBIG, err, err_len);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    for (size_t i = 0; i < n; i++)
        r->batch[i] = (int16_t)__builtin_bswap16((uint16_t)r->batch[i]);
#endif
    off_t at = HEADER_BYTES + (off_t)r->written * BYTES_PER_FRAME;
    int e = 0, e2 = 0;
    size_t bytes = write_at(r->fd, r->batch, n * BYTES_PER_FRAME, at, &e);
    int64_t frames = (int64_t)(bytes / BYTES_PER_FRAME);
    if (bytes % BYTES_PER_FRAME && ftruncate(r->fd, at + (off_t)frames * BYTES_PER_FRAME))
        frames = 0, e2 = errno; /* half a frame stays: fall back to the length before */
    if (frames && write_header(r, r->written + frames, &e2) == 0)
        r->written += frames;
    else if (frames && ftruncate(r->fd, at) == 0)
        frames = 0; /* the header could not be updated: the frames go, the file stays exact */
    if (e || e2)
        return write_failed(r, e ? e : e2, err, err_len);
    return 0;
}

int cr_recorder_write(cr_recorder *r, const int16_t *x, size_t n, char *err, size_t err_len)
{
    if (r->keep >= 0 || r->failed || r->fd < 0)
        return 0; /* truncated, failed or closed: the recording has ended */
    while (n > 0) {
        size_t take = CR_RECORDER_BATCH - r->batched;
        if (take > n)
            take = n;
        memcpy(r->batch + r->batched, x, take * sizeof *x);
        r->batched += take;
        x += take;
        n -= take;
        if (r->batched == CR_RECORDER_BATCH && flush(r, err, err_len))
            return -1;
    }
    return 0;
}

int64_t cr_recorder_frames(const cr_recorder *r)
{
    int64_t all = r->written + (int64_t)r->batched;
    return r->keep >= 0 && r->keep < all ? r->keep : all;
}

void cr_recorder_truncate(cr_recorder *r, int64_t frames)
{
    if (frames < 0)
        frames = 0;
    if (frames - r->written < (int64_t)r->batched)
        r->batched = frames > r->written ? (size_t)(frames - r->written) : 0;
    r->keep = frames < r->written ? frames : r->written + (int64_t)r->batched;
}

/* Cuts the file to r->keep frames. The header shrinks first: should the cut itself fail, the
   file holds more than its header states (every reader stops at the stated end), never less. */
static int cut(cr_recorder *r, char *err, size_t err_len)
{
    int e = 0;
    if (write_header(r, r->keep, &e) ||
        ftruncate(r->fd, HEADER_BYTES + (off_t)r->keep * BYTES_PER_FRAME)) {
        snprintf(err, err_len, "recording cut at the stop tone failed: %s",
                 strerror(e ? e : errno));
        return -1;
    }
    r->written = r->keep;
    return 0;
}

int cr_recorder_close(cr_recorder *r, char *err, size_t err_len)
{
    if (r->fd < 0)
        return 0;
    int rc = flush(r, err, err_len);
    if (rc == 0 && r->keep >= 0 && r->keep < r->written)
        rc = cut(r, err, err_len);
    if (close(r->fd) && rc == 0) {
        snprintf(err, err_len, "recording close failed: %s", strerror(errno));
        rc = -1;
    }
    r->fd = -1;
    return rc;
}
