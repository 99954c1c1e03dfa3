#include "support.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double support_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

long support_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

int support_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    while (d && readdir(d))
        n++;
    if (d)
        closedir(d);
    return n - 3; /* ".", ".." and the directory itself */
}

void support_empty_folder(const char *folder)
{
    DIR *d = opendir(folder);
    struct dirent *e;
    char path[1024];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", folder, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
}

int support_scratch_dir(char *dir, size_t cap, const char *name)
{
    snprintf(dir, cap, "/tmp/callrec-%s-XXXXXX", name);
    if (mkdtemp(dir))
        return 0;
    fprintf(stderr, "cannot make a scratch folder %s: %s\n", dir, strerror(errno));
    return -1;
}

int support_remove_dir(const char *dir)
{
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) == 0)
        return 0;
    fprintf(stderr, "could not remove %s\n", dir);
    return -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double support_percentile(double *v, int n, double p)
{
    if (n <= 0)
        return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    int i = (int)ceil(p / 100.0 * n) - 1;
    return v[i < 0 ? 0 : (i >= n ? n - 1 : i)];
}

void support_slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
}

void support_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

int support_number_arg(const char *prog, const char *flag, const char *text, double lo, double hi,
                       int whole, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(text, &end);
    if (end == text || *end != '\0' || errno != 0 || !(x >= lo && x <= hi) ||
        (whole && x != floor(x))) {
        fprintf(stderr, "%s: %s takes a %snumber from %.10g to %.10g, not '%s'\n", prog, flag,
                whole ? "whole " : "", lo, hi, text);
        return -1;
    }
    *out = x;
    return 0;
}

void support_check_output(const char *prog, const char *path)
{
    if (!path)
        return;
    int existed = access(path, F_OK) == 0;
    FILE *f = fopen(path, "a");
    if (!f) {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, path, strerror(errno));
        exit(1);
    }
    fclose(f);
    if (!existed)
        remove(path);
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The RIFF walk: frame count from the data chunk, or -1 with why. */
static int64_t riff_walk(const char *path, char *why, size_t why_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, why_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = size > 0 ? malloc((size_t)size) : NULL;
    size_t got = b ? fread(b, 1, (size_t)size, f) : 0;
    fclose(f);
    int64_t frames = -1;
    unsigned channels = 0, bits = 0, format = 0;
    int have_fmt = 0;
    if (!b || got != (size_t)size || size < 12) {
        snprintf(why, why_len, "%s: %ld bytes, too short for RIFF", path, size);
    } else if (memcmp(b, "RIFF", 4) || memcmp(b + 8, "WAVE", 4)) {
        snprintf(why, why_len, "%s: not RIFF/WAVE", path);
    } else if (le32(b + 4) != (uint32_t)(size - 8)) {
        snprintf(why, why_len, "%s: RIFF size %u, file size - 8 is %ld", path, le32(b + 4),
                 size - 8);
    } else {
        long at = 12;
        why[0] = '\0';
        while (at < size && !why[0]) {
            if (size - at < 8) {
                snprintf(why, why_len, "%s: %ld stray bytes at %ld", path, size - at, at);
                break;
            }
            uint32_t n = le32(b + at + 4);
            long end = at + 8 + (long)n + (long)(n & 1);
            if ((long)n > size - at - 8) {
                snprintf(why, why_len, "%s: chunk %.4s at %ld claims %u bytes, %ld present", path,
                         (const char *)(b + at), at, n, size - at - 8);
            } else if (!memcmp(b + at, "fmt ", 4) && n >= 16) {
                format = b[at + 8] | b[at + 9] << 8;
                channels = b[at + 10] | b[at + 11] << 8;
                bits = b[at + 22] | b[at + 23] << 8;
                have_fmt = 1;
            } else if (!memcmp(b + at, "data", 4)) {
                if (!have_fmt || format != 1 || channels == 0 || bits != 16)
                    snprintf(why, why_len, "%s: data before a 16-bit PCM fmt chunk", path);
                else if (frames >= 0)
                    snprintf(why, why_len, "%s: two data chunks", path);
                else
                    frames = n / (2 * channels);
            }
            at = end;
        }
        if (!why[0] && at != size)
            snprintf(why, why_len, "%s: last chunk's padding runs past the end", path);
        if (!why[0] && frames < 0)
            snprintf(why, why_len, "%s: no data chunk", path);
        if (why[0])
            frames = -1;
    }
    free(b);
    return frames;
}

int support_wav_walk(const char *path, int64_t *frames, char *why, size_t why_len)
{
    int64_t walked = riff_walk(path, why, why_len);
    if (walked < 0)
        return -1;
    /* Through a descriptor: sf_open() refuses paths over 1024 bytes. */
    SF_INFO info = {0};
    int fd = open(path, O_RDONLY);
    SNDFILE *sf = fd >= 0 ? sf_open_fd(fd, SFM_READ, &info, 0) : NULL;
    if (sf)
        sf_close(sf);
    if (fd >= 0)
        close(fd);
    if (!sf || info.frames != walked) {
        snprintf(why, why_len, "%s: RIFF walk found %lld frames, libsndfile %lld", path,
                 (long long)walked, sf ? (long long)info.frames : -1LL);
        return -1;
    }
    if (frames)
        *frames = walked;
    return 0;
}

/* Python's wave over `what` (a file, or every *.wav of a folder); the frames it read in all. */
static int python_wave(const char *what, int64_t *total, char *why, size_t why_len)
{
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "\"$(command -v /usr/bin/python3 || echo python3)\" '%s/tests/wavcheck.py' '%s' 2>&1", CALLREC_SOURCE_DIR, what);
    FILE *p = popen(cmd, "r");
    char out[1024] = "";
    *total = 0;
    for (char line[512]; p && fgets(line, sizeof line, p);) {
        *total += atoll(line);
        if (strlen(out) + strlen(line) < sizeof out)
            strcat(out, line);
    }
    int status = p ? pclose(p) : -1;
    if (status != 0) {
        snprintf(why, why_len, "Python's wave refused %s: %s", what, out);
        return -1;
    }
    return 0;
}

int support_wav_strict(const char *path, int64_t *frames, char *why, size_t why_len)
{
    int64_t walked, read;
    if (support_wav_walk(path, &walked, why, why_len) ||
        python_wave(path, &read, why, why_len))
        return -1;
    if (read != walked) {
        snprintf(why, why_len, "%s: RIFF walk found %lld frames, Python's wave %lld", path,
                 (long long)walked, (long long)read);
        return -1;
    }
    if (frames)
        *frames = walked;
    return 0;
}

int support_wav_strict_folder(const char *folder, int *files, char *why, size_t why_len)
{
    DIR *d = opendir(folder);
    struct dirent *e;
    char path[1024];
    int64_t walked = 0, one, read;
    *files = 0;
    while (d && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 4, ".wav"))
            continue;
        snprintf(path, sizeof path, "%s/%s", folder, e->d_name);
        if (support_wav_walk(path, &one, why, why_len)) {
            closedir(d);
            return -1;
        }
        walked += one;
        (*files)++;
    }
    if (d)
        closedir(d);
    if (python_wave(folder, &read, why, why_len))
        return -1;
    if (read != walked) {
        snprintf(why, why_len, "%s: RIFF walks found %lld frames, Python's wave %lld", folder,
                 (long long)walked, (long long)read);
        return -1;
    }
    return 0;
}

int support_wav_after_kill(const char *path, size_t batch_bytes, int64_t *frames,
                           int64_t *beyond, char *why, size_t why_len)
{
    unsigned char h[44] = {0};
    FILE *f = fopen(path, "rb");
    long size = -1;
    if (f && fread(h, 1, sizeof h, f) == sizeof h && fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (f)
        fclose(f);
    if (size < 44) {
        snprintf(why, why_len, "%s: no WAV header", path);
        return -1;
    }
    int64_t riff = h[4] | h[5] << 8 | h[6] << 16 | (int64_t)h[7] << 24;
    int64_t data = h[40] | h[41] << 8 | h[42] << 16 | (int64_t)h[43] << 24;
    int64_t present = size - 44;
    *frames = data / 2;
    *beyond = present - data;
    if (memcmp(h, "RIFF", 4) != 0 || riff != 36 + data || present % 2 || *beyond < 0 ||
        *beyond > (int64_t)batch_bytes) {
        snprintf(why, why_len, "%s: header states %lld bytes, %lld present", path,
                 (long long)data, (long long)present);
        return -1;
    }
    if (*beyond == 0) {
        int64_t strict = -1;
        if (support_wav_strict(path, &strict, why, why_len) != 0)
            return -1;
        return strict == *frames ? 0 : -1;
    }
    char cmd[1400];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import sys, wave; w = wave.open(sys.argv[1]); n = "
             "w.getnframes(); sys.exit(0 if n == %lld and len(w.readframes(n)) == 2 * n else 1)\" "
             "'%s'",
             (long long)*frames, path);
    if (system(cmd) != 0) {
        snprintf(why, why_len, "%s: Python's wave does not read the %lld frames the header states",
                 path, (long long)*frames);
        return -1;
    }
    return 0;
}

