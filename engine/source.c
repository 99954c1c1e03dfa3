#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prompt.h"

#define SNIFF_BYTES 4
#define RELAY_CHUNK 65536

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
static int start_relay(int from, const char *name, char *err, size_t err_len)
{
    relay *r = calloc(1, sizeof *r);
    int p[2] = {-1, -1};
    /* The relay reads its own descriptor: the caller may close the source's at any time. */
    if (!r || (r->from = fcntl(from, F_DUPFD_CLOEXEC, 0)) < 0 || pipe(p)) {
        snprintf(err, err_len, "input %s: out of memory or descriptors", name);
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
        snprintf(err, err_len, "input %s: %s", name, why);
        close(p[0]);
        close(p[1]);
        close(r->from);
        free(r);
        return -1;
    }
    return p[0];
}

int cr_source_open(cr_source *src, const char *path, SF_INFO *info, char *err, size_t err_len)
{
    int from_stdin = strcmp(path, "-") == 0;
    memset(info, 0, sizeof *info);
    src->sf = NULL;
    src->relay_fd = -1;
    src->fd = from_stdin ? -1 : open(path, O_RDONLY | O_CLOEXEC);
    if (!from_stdin && src->fd < 0) {
        snprintf(err, err_len, "input %s: %s", path, strerror(errno));
        return -1;
    }
    int fd = from_stdin ? STDIN_FILENO : src->fd;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, err_len, "input %s: is a folder, not an audio file", path);
        cr_source_close(src);
        return -1;
    }
    if (lseek(fd, 0, SEEK_CUR) < 0 && errno == ESPIPE) {
        src->relay_fd = start_relay(fd, path, err, err_len);
        if (src->relay_fd < 0) {
            cr_source_close(src);
            return -1;
        }
        fd = src->relay_fd;
    }
    src->sf = sf_open_fd(fd, SFM_READ, info, SF_FALSE);
    if (!src->sf) {
        snprintf(err, err_len, "input %s: %s", path,
                 from_stdin || src->relay_fd >= 0 ? sf_strerror(NULL) : cr_audio_open_error(path));
        cr_source_close(src);
        return -1;
    }
    return 0;
}

void cr_source_close(cr_source *src)
{
    if (src->sf)
        sf_close(src->sf);
    if (src->relay_fd >= 0)
        close(src->relay_fd);
    if (src->fd >= 0)
        close(src->fd);
    src->sf = NULL;
    src->fd = src->relay_fd = -1;
}
