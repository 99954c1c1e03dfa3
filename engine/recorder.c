#include "recorder.h"

#include <errno.h>
#include <fcntl.h>
#include <sndfile.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* libsndfile writes through these. The file position and length live here, so the header
   rewrite after every batch (seek to 0, write, seek back) costs one pwrite(), and a batch
   two system calls in all instead of six. */
static sf_count_t vio_length(void *user) { return ((cr_recorder *)user)->len; }

static sf_count_t vio_seek(sf_count_t offset, int whence, void *user)
{
    cr_recorder *r = user;
    sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? r->pos : r->len;
    if (base + offset < 0)
        return -1;
    r->pos = base + offset;
    return r->pos;
}

static sf_count_t vio_read(void *ptr, sf_count_t count, void *user)
{
    cr_recorder *r = user;
    ssize_t n = pread(r->fd, ptr, (size_t)count, (off_t)r->pos);
    if (n < 0)
        return 0;
    r->pos += n;
    return n;
}

static sf_count_t vio_write(const void *ptr, sf_count_t count, void *user)
{
    cr_recorder *r = user;
    sf_count_t done = 0;
    while (done < count) {
        ssize_t n = pwrite(r->fd, (const char *)ptr + done, (size_t)(count - done),
                           (off_t)(r->pos + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r->io_errno = n < 0 ? errno : EIO;
            break;
        }
        done += n;
    }
    r->pos += done;
    if (r->pos > r->len)
        r->len = r->pos;
    return done;
}

static sf_count_t vio_tell(void *user) { return ((cr_recorder *)user)->pos; }

static SF_VIRTUAL_IO vio = {vio_length, vio_seek, vio_read, vio_write, vio_tell};

int cr_recorder_create(cr_recorder *r, const char *path, char *err, size_t err_len)
{
    memset(r, 0, sizeof *r);
    r->fd = -1;
    r->keep = -1;
    /* O_EXCL: never overwrite a file, never follow a planted link. */
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int e = errno;
        snprintf(err, err_len, "recording %s: %s", path,
                 e == EEXIST ? "already exists; callrec never overwrites a file" : strerror(e));
        return e == EEXIST ? -1 : -2;
    }
    r->fd = fd;
    SF_INFO info = {.samplerate = 16000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *sf = sf_open_virtual(&vio, SFM_WRITE, &info, r);
    if (!sf) {
        snprintf(err, err_len, "recording %s: %s", path,
                 r->io_errno ? strerror(r->io_errno) : sf_strerror(NULL));
        close(fd);
        unlink(path);
        r->fd = -1;
        return -2;
    }
    /* Rewrite the header after every write, so the file is valid at any moment. */
    sf_command(sf, SFC_SET_UPDATE_HEADER_AUTO, NULL, SF_TRUE);
    r->sf = sf;
    return 0;
}

static int flush(cr_recorder *r, char *err, size_t err_len)
{
    if (!r->batched)
        return 0;
    sf_count_t n = sf_write_short(r->sf, r->batch, (sf_count_t)r->batched);
    if (n > 0)
        r->written += n;
    if (n != (sf_count_t)r->batched || r->io_errno) {
        snprintf(err, err_len, "recording write failed after %.2f s of audio: %s",
                 (double)r->written / 16000.0,
                 r->io_errno ? strerror(r->io_errno) : sf_strerror(r->sf));
        r->batched = 0;
        return -1;
    }
    r->batched = 0;
    return 0;
}

int cr_recorder_write(cr_recorder *r, const int16_t *x, size_t n, char *err, size_t err_len)
{
    if (r->keep >= 0)
        return 0; /* truncated: the recording has ended */
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

/* Cuts the file to r->keep frames before libsndfile closes it. The data chunk is the file's
   last, so its start is the length less the frames written; libsndfile sizes the header it
   writes at close from the length vio_length() reports. No allocation, no reopening. */
static int cut(cr_recorder *r, char *err, size_t err_len)
{
    int64_t data_start = r->len - r->written * (int64_t)sizeof(int16_t);
    int64_t len = data_start + r->keep * (int64_t)sizeof(int16_t);
    if (data_start < 0 || ftruncate(r->fd, (off_t)len) != 0) {
        snprintf(err, err_len, "recording truncate failed: %s",
                 data_start < 0 ? "unexpected file layout" : strerror(errno));
        return -1;
    }
    r->len = r->pos = len;
    r->written = r->keep;
    return 0;
}

int cr_recorder_close(cr_recorder *r, char *err, size_t err_len)
{
    if (!r->sf)
        return 0;
    int rc = flush(r, err, err_len);
    if (rc == 0 && r->keep >= 0 && r->keep < r->written)
        rc = cut(r, err, err_len);
    if (sf_close(r->sf) && rc == 0) {
        snprintf(err, err_len, "recording close failed");
        rc = -1;
    }
    r->sf = NULL;
    if (close(r->fd) && rc == 0) {
        snprintf(err, err_len, "recording close failed: %s", strerror(errno));
        rc = -1;
    }
    r->fd = -1;
    return rc;
}
