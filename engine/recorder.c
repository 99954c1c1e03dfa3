#include "recorder.h"

#include <errno.h>
#include <fcntl.h>
#include <sndfile.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cr_recorder_create(cr_recorder *r, const char *path, char *err, size_t err_len)
{
    memset(r, 0, sizeof *r);
    /* O_EXCL: never overwrite a file, never follow a planted link. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int e = errno;
        snprintf(err, err_len, "recording %s: %s", path,
                 e == EEXIST ? "already exists; callrec never overwrites a file" : strerror(e));
        return e == EEXIST ? -1 : -2;
    }
    SF_INFO info = {.samplerate = 16000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *sf = sf_open_fd(fd, SFM_WRITE, &info, 1);
    if (!sf) {
        snprintf(err, err_len, "recording %s: %s", path, sf_strerror(NULL));
        close(fd);
        unlink(path);
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
    if (n != (sf_count_t)r->batched) {
        snprintf(err, err_len, "recording write failed after %.2f s of audio: %s",
                 (double)r->written / 16000.0, sf_strerror(r->sf));
        r->batched = 0;
        return -1;
    }
    r->batched = 0;
    return 0;
}

int cr_recorder_write(cr_recorder *r, const int16_t *x, size_t n, char *err, size_t err_len)
{
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

int64_t cr_recorder_frames(const cr_recorder *r) { return r->written + (int64_t)r->batched; }

int cr_recorder_truncate(cr_recorder *r, int64_t frames, char *err, size_t err_len)
{
    if (frames < 0)
        frames = 0;
    if (frames >= r->written) {
        if (frames - r->written < (int64_t)r->batched)
            r->batched = (size_t)(frames - r->written);
        return 0;
    }
    r->batched = 0;
    sf_count_t pos = frames;
    if (sf_command(r->sf, SFC_FILE_TRUNCATE, &pos, sizeof pos)) {
        snprintf(err, err_len, "recording truncate failed: %s", sf_strerror(r->sf));
        return -1;
    }
    r->written = frames;
    return 0;
}

int cr_recorder_close(cr_recorder *r, char *err, size_t err_len)
{
    if (!r->sf)
        return 0;
    int rc = flush(r, err, err_len);
    if (sf_close(r->sf) && rc == 0) {
        snprintf(err, err_len, "recording close failed");
        rc = -1;
    }
    r->sf = NULL;
    return rc;
}
