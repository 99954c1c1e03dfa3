#include "prompt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "callrec.h"
#include "source.h"

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

/* Decodes an opened source at 16 kHz into one buffer; closes the source. */
static int decode(callrec_source *src, const char *name, int max_seconds, int16_t **samples,
                  size_t *count, char *err, size_t err_len)
{
    callrec_source_info info;
    callrec_source_get_info(src, &info);
    int16_t *out = NULL;
    int rc = -1;
    if (info.input_frames / info.input_rate_hz >= max_seconds) {
        snprintf(err, err_len, "prompt %s: %.1f s long; at most %d s accepted", name,
                 (double)info.input_frames / info.input_rate_hz, max_seconds);
        goto done;
    }
    /* The 16 kHz length, with room for a compressed format's length estimate falling short. */
    size_t cap = (size_t)((info.input_frames * CALLREC_INTERNAL_RATE_HZ + info.input_rate_hz / 2) /
                          info.input_rate_hz) + 4096;
    out = malloc(sizeof *out * cap);
    if (!out) {
        snprintf(err, err_len, "prompt %s: out of memory", name);
        goto done;
    }
    size_t used = 0, got = 0;
    do {
        if (callrec_source_read(src, out + used, cap - used, &got) != CALLREC_OK) {
            snprintf(err, err_len, "prompt %s: decoding failed", name);
            goto done;
        }
        used += got;
    } while (got > 0 && used < cap);
    if (used == 0) {
        snprintf(err, err_len, "prompt %s: contains no audio", name);
        goto done;
    }
    *samples = out;
    *count = used;
    out = NULL;
    rc = 0;
done:
    free(out);
    callrec_source_close(src);
    return rc;
}

static int open_and_decode(callrec_status opened, callrec_source *src, const char *name,
                           const char *open_err, int max_seconds, int16_t **samples,
                           size_t *count, char *err, size_t err_len)
{
    if (opened != CALLREC_OK) {
        if (open_err[0]) /* the source's message starts with the name */
            snprintf(err, err_len, "prompt %s", open_err);
        else
            snprintf(err, err_len, "prompt %s: %s", name,
                     opened == CALLREC_ENOMEM ? "out of memory" : "cannot be opened");
        return -1;
    }
    return decode(src, name, max_seconds, samples, count, err, err_len);
}

int cr_prompt_load(const char *path, int max_seconds, int16_t **samples, size_t *count,
                   char *err, size_t err_len)
{
    callrec_source *src = NULL;
    char serr[1024] = "";
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
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        snprintf(err, err_len, "prompt %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    callrec_status opened = cr_source_open_fd(fd, path, CALLREC_INTERNAL_RATE_HZ, &src, serr,
                                              sizeof serr);
    return open_and_decode(opened, src, path, serr, max_seconds, samples, count, err, err_len);
}

int cr_prompt_load_memory(const void *data, size_t size, const char *name, int max_seconds,
                          int16_t **samples, size_t *count, char *err, size_t err_len)
{
    callrec_source *src = NULL;
    char serr[1024] = "";
    *samples = NULL;
    *count = 0;
    callrec_status st = callrec_source_open_memory(data, size, name, CALLREC_INTERNAL_RATE_HZ,
                                                   &src, serr, sizeof serr);
    return open_and_decode(st, src, name, serr, max_seconds, samples, count, err, err_len);
}
