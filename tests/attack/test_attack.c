/* Attacks on the callrec program, as an operator or a hostile client would make them: one case
   per way it could be made to lie about a recording, hang, or destroy a file. Every recording
   is read by strict readers (a RIFF walk, Python's wave, libsndfile). Runs under the
   sanitizers too, where undefined behaviour aborts the program.

   CALLREC_ATTACK_BIN in the environment runs the cases against another build of the program. */
#define _GNU_SOURCE /* F_SETPIPE_SZ */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "request.h"
#include "signals.h"
#include "support.h"

#ifndef CALLREC_BIN
#error "CALLREC_BIN must name the callrec program"
#endif
#ifndef DEMO_DIR
#error "DEMO_DIR must name the demo folder"
#endif

static char dir[256];
static const char *bin = CALLREC_BIN;

/* How a run is set up. Zeroed: stdout and stderr captured to files, nothing else. */
typedef struct how {
    const char *stdin_path;
    int stdout_fd;       /* > 0: this descriptor becomes stdout (the parent closes its copy) */
    int close_stdin_stdout;
    int fsize_set;       /* RLIMIT_FSIZE = fsize bytes, SIGXFSZ left at its default */
    long fsize;
    int signal_after_ms, signal;
    int watchdog_ms;     /* SIGKILL after this long (default 20 s): the run hung */
} how;

typedef struct result {
    int status;          /* exit status, or 128 + signal */
    int hung;            /* the watchdog had to kill it */
    double seconds;
    char out[65536], err[16384];
    cJSON *doc, *data;   /* stdout parsed as one notification, and its resourceData */
} result;

static char *path_in(const char *name)
{
    static char buf[256][512];
    static int k;
    if (k == 256) {
        fprintf(stderr, "path_in: too many paths\n");
        exit(2);
    }
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k++];
}

static void run(result *r, const char *const *args, const how *h)
{
    static const how none;
    if (!h)
        h = &none;
    char *out_path = path_in("stdout.txt"), *err_path = path_in("stderr.txt");
    memset(r, 0, sizeof *r);
    double t0 = support_now_s();
    pid_t pid = fork();
    if (pid == 0) {
        /* Under a file-size limit stderr goes to /dev/null: a file would be limited too, and a
           sanitizer runtime that writes to it before main() (TSan announcing a re-exec) would
           die of SIGXFSZ before callrec could ignore it. */
        int e = h->fsize_set ? open("/dev/null", O_WRONLY)
                             : open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(e, 2);
        if (h->stdout_fd > 0) {
            dup2(h->stdout_fd, 1);
        } else {
            int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            dup2(o, 1);
        }
        if (h->stdin_path) {
            int i = open(h->stdin_path, O_RDONLY);
            dup2(i, 0);
        }
        if (h->close_stdin_stdout) {
            close(0);
            close(1);
        }
        if (h->fsize_set) {
            struct rlimit lim = {(rlim_t)h->fsize, (rlim_t)h->fsize};
            setrlimit(RLIMIT_FSIZE, &lim);
        }
        for (int fd = 3; fd < 64; fd++)
            close(fd);
        const char *argv[40] = {bin};
        for (int k = 0; args[k] && k < 38; k++)
            argv[k + 1] = args[k];
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    if (h->stdout_fd > 0)
        close(h->stdout_fd);
    int watchdog = h->watchdog_ms ? h->watchdog_ms : 20000, st = 0, signalled = 0;
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        double ms = (support_now_s() - t0) * 1e3;
        if (h->signal_after_ms && !signalled && ms >= h->signal_after_ms) {
            kill(pid, h->signal ? h->signal : SIGINT);
            signalled = 1;
        }
        if (ms >= watchdog && !r->hung) {
            kill(pid, SIGKILL);
            r->hung = 1;
        }
        nanosleep(&(struct timespec){0, 2000000}, NULL);
    }
    r->seconds = support_now_s() - t0;
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (h->stdout_fd <= 0)
        support_slurp(out_path, r->out, sizeof r->out);
    support_slurp(err_path, r->err, sizeof r->err);
    const char *end = NULL;
    r->doc = cJSON_ParseWithOpts(r->out, &end, 0);
    if (r->doc && strspn(end, "\n") != strlen(end)) {
        cJSON_Delete(r->doc);
        r->doc = NULL;
    }
    r->data = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r->doc, "value"), 0),
                                  "resourceData");
}

static void done(result *r) { cJSON_Delete(r->doc); }

static const char *field(const result *r, const char *name)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(r->data, name));
}

static double number(const result *r, const char *name)
{
    const cJSON *f = cJSON_GetObjectItem(r->data, name);
    return cJSON_IsNumber(f) ? f->valuedouble : -1;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* A strict-valid recording: its frames, or -1 (the check has failed). */
static int64_t strict(const char *path)
{
    char why[16384];
    int64_t frames = -1;
    int ok = support_wav_strict(path, &frames, why, sizeof why) == 0;
    CHECK_MSG(ok, "%s", why);
    return ok ? frames : -1;
}

/* The notification's length is the file's, to the millisecond. */
static void same_length(const result *r, int64_t frames)
{
    double ms = number(r, "@callrec.recordingDurationMs");
    CHECK_MSG(llabs(frames / 16 - (long long)ms) <= 1, "file %lld ms, notification %.0f ms",
              (long long)frames / 16, ms);
}

/* Nothing was recorded in the folder (and nothing half-written lies there). */
static void no_recordings(const char *folder)
{
    int files = -1;
    char why[512];
    CHECK_MSG(support_wav_strict_folder(folder, &files, why, sizeof why) == 0 && files == 0,
              "%s: %d recordings %s", folder, files, why);
}

/* The recording a notification names, percent-decoded ("" if none). */
static const char *location(const result *r)
{
    static char path[16384];
    const char *uri = field(r, "recordingLocation");
    path[0] = '\0';
    if (!uri || strncmp(uri, "file://", 7) != 0)
        return path;
    size_t o = 0;
    for (const char *p = uri + 7; *p && o + 1 < sizeof path; p++) {
        unsigned v;
        if (*p == '%' && sscanf(p + 1, "%2x", &v) == 1) {
            path[o++] = (char)v;
            p += 2;
        } else {
            path[o++] = *p;
        }
    }
    path[o] = '\0';
    return path;
}

/* Seeded noise at -30 dBFS, `seconds` long at `rate`, written as a 16-bit WAV. */
static char *noise_wav(const char *name, int rate, double seconds, sig_buf *keep)
{
    sig_buf b;
    sig_rng rng;
    sig_seed(&rng, 2026);
    sig_init(&b, rate);
    sig_silence(&b, seconds);
    sig_add_noise(&b, &rng, 0, b.n, -30.0);
    char *path = path_in(name);
    CHECK(sig_write_wav(&b, path) == 0);
    if (keep)
        *keep = b;
    else
        sig_free(&b);
    return path;
}

static char *write_request(const char *name, const char *body)
{
    char *path = path_in(name);
    support_write_file(path, body);
    return path;
}

static const char *hangup_request = "{\"playBeep\": false, \"maxRecordDurationInSeconds\": 300, "
                                    "\"initialSilenceTimeoutInSeconds\": 300}";

/* 1. A recording cut at a stop tone has a header that states the bytes present. */
static void attack_stop_tone_cut(void)
{
    result r;
    char *recs = path_in("recs-demo");
    mkdir(recs, 0700);
    run(&r, (const char *[]){"record", "--request", DEMO_DIR "/request.json", "--input",
                             DEMO_DIR "/caller.wav", "--recording-dir", recs, NULL}, NULL);
    CHECK(r.status == 0);
    CHECK_STR(field(&r, "completionReason"), "stopToneDetected");
    int64_t frames = strict(location(&r));
    same_length(&r, frames);
    done(&r);
}

/* 2. The events file follows the recording's rules and is opened after everything else. */
static void attack_events_file(void)
{
    result r;
    char *in = noise_wav("events-in.wav", 16000, 1.0, NULL);
    char *req = write_request("events-req.json", hangup_request);
    char *same = path_in("same.wav");
    run(&r, (const char *[]){"record", "--request", req, "--input", in, "--output", same,
                             "--events", same, NULL}, NULL);
    CHECK(r.status == 2 && strstr(r.err, "already exists"));
    CHECK_MSG(!exists(same), "--output and --events the same file left it behind");
    done(&r);

    long before = file_size(in);
    run(&r, (const char *[]){"record", "--request", req, "--input", in, "--output",
                             path_in("e2.wav"), "--events", in, NULL}, NULL);
    CHECK(r.status == 2);
    CHECK_MSG(file_size(in) == before && before > 44, "--events named the input: %ld bytes left",
              file_size(in));
    CHECK(!exists(path_in("e2.wav")));
    done(&r);

    char *bad = write_request("events-bad.json", "{\"maxRecordDurationInSeconds\": 0}");
    char *ev = path_in("refused.jsonl");
    run(&r, (const char *[]){"record", "--request", bad, "--input", in, "--events", ev, NULL},
        NULL);
    CHECK(r.status == 2 && !exists(ev));
    done(&r);

    char *old = path_in("old.jsonl");
    support_write_file(old, "keep me\n");
    run(&r, (const char *[]){"record", "--request", req, "--input", in, "--output",
                             path_in("e3.wav"), "--events", old, NULL}, NULL);
    char text[64];
    support_slurp(old, text, sizeof text);
    CHECK(r.status == 2);
    CHECK_STR(text, "keep me\n");
    done(&r);

    char *fifo = path_in("events.fifo");
    CHECK(mkfifo(fifo, 0600) == 0);
    how h = {.watchdog_ms = 10000};
    run(&r, (const char *[]){"record", "--request", req, "--input", in, "--output",
                             path_in("e4.wav"), "--events", fifo, NULL}, &h);
    CHECK_MSG(!r.hung && r.status == 2, "a FIFO as events file: status %d, hung %d", r.status,
              r.hung);
    done(&r);
}

/* A pipe whose reader never reads, already full: any write to it blocks. */
static int full_pipe(int *read_end)
{
    int p[2];
    if (pipe(p))
        return -1;
    fcntl(p[1], F_SETPIPE_SZ, 4096);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    char junk[512];
    memset(junk, 'x', sizeof junk);
    while (write(p[1], junk, sizeof junk) > 0)
        ;
    fcntl(p[1], F_SETFL, 0);
    *read_end = p[0];
    return p[1];
}

/* 3. A reader that stops reading stalls neither the recording nor Ctrl-C; one that goes away
   does not kill the program. */
static void attack_blocking_sink(void)
{
    result r;
    sig_buf b;
    char *in = noise_wav("sink-in.wav", 16000, 4.0, &b);
    char *req = write_request("sink-req.json", hangup_request);
    int reader = -1;
    char *out = path_in("stuck.wav");
    how h = {.signal_after_ms = 1500, .signal = SIGINT, .watchdog_ms = 6000};
    h.stdout_fd = full_pipe(&reader);
    run(&r, (const char *[]){"record", "--request", req, "--input", in, "--realtime", "--output",
                             out, "--events", "-", NULL}, &h);
    CHECK_MSG(!r.hung, "stdout nobody reads: Ctrl-C was not honoured");
    CHECK_MSG(r.status == 3, "status %d: %s", r.status, r.err);
    CHECK(strstr(r.err, "notification could not be written") != NULL);
    int64_t frames = strict(out);
    CHECK_MSG(frames >= 16000, "the recording stalled with its events: %lld frames",
              (long long)frames);
    close(reader);
    done(&r);

    int p[2];
    CHECK(pipe(p) == 0);
    close(p[0]); /* the reader is gone before the first write */
    char *gone = path_in("gone.wav");
    how g = {.stdout_fd = p[1]};
    run(&r, (const char *[]){"record", "--request", req, "--input", in, "--output", gone,
                             "--events", "-", NULL}, &g);
    CHECK_MSG(r.status == 3, "status %d (141 is death by SIGPIPE)", r.status);
    CHECK(strstr(r.err, "Broken pipe") != NULL);
    CHECK_MSG(strict(gone) == (int64_t)b.n, "the recording ended early");
    done(&r);
    sig_free(&b);
}

/* 4. A --realtime input that stops arriving ends in mediaReceiveTimeout, and the program
   exits. */
static void attack_stalled_input(void)
{
    char *fifo = path_in("stall.fifo");
    CHECK(mkfifo(fifo, 0600) == 0);
    pid_t writer = fork();
    if (writer == 0) {
        int fd = open(fifo, O_WRONLY);
        unsigned char h[44] = "RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x80\x3e\0\0\0\x7d\0\0"
                              "\x02\0\x10\0data";
        uint32_t data = 10 * 32000; /* claims 10 s; 0.5 s comes, then nothing */
        memcpy(h + 40, &data, 4);
        uint32_t riff = data + 36;
        memcpy(h + 4, &riff, 4);
        int16_t audio[8000] = {0};
        if (write(fd, h, 44) != 44 || write(fd, audio, sizeof audio) != (ssize_t)sizeof audio)
            _exit(1);
        sleep(30);
        _exit(0);
    }
    result r;
    char *req = write_request("stall-req.json", hangup_request);
    char *out = path_in("stall.wav");
    how h = {.watchdog_ms = 10000};
    run(&r, (const char *[]){"record", "--request", req, "--input", fifo, "--realtime",
                             "--media-timeout-ms", "300", "--output", out, NULL}, &h);
    kill(writer, SIGKILL);
    waitpid(writer, NULL, 0);
    CHECK_MSG(!r.hung, "a stalled --realtime input hung the program");
    CHECK(r.status == 1);
    CHECK_STR(field(&r, "completionReason"), "mediaReceiveTimeout");
    CHECK(strict(out) >= 0);
    done(&r);
}

/* 5, 6. A file-size limit and a full disk: unspecifiedError, and a valid WAV or none. */
static void attack_file_limits(void)
{
    result r;
    char *in = noise_wav("limit-in.wav", 16000, 3.0, NULL);
    char *req = write_request("limit-req.json", hangup_request);
    char *out = path_in("limited.wav");
    how h = {.fsize_set = 1, .fsize = 44 + 16000};
    run(&r, (const char *[]){"record", "--request", req, "--input", in, "--output", out, NULL}, &h);
    CHECK_MSG(r.status == 1, "status %d (153 is death by SIGXFSZ)", r.status);
    CHECK_STR(field(&r, "completionReason"), "unspecifiedError");
    CHECK_STR(location(&r), out);
    int64_t frames = strict(out);
    CHECK(frames > 0 && frames <= 8000);
    same_length(&r, frames);
    done(&r);

    char *recs = path_in("recs-zero");
    mkdir(recs, 0700);
    /* Room for less than the header (20 bytes: the header lands in part, and must not stay).
       Not 0: ThreadSanitizer's runtime writes a file of its own before main(). */
    how zero = {.fsize_set = 1, .fsize = 20};
    run(&r, (const char *[]){"record", "--request", req, "--input", in, "--recording-dir", recs,
                             NULL}, &zero);
    CHECK_MSG(r.status == 2, "status %d", r.status); /* stderr is a file: the limit mutes it */
    no_recordings(recs);
    done(&r);

    /* A real full disk, where a small tmpfs can be mounted (root). */
    char *disk = path_in("disk");
    mkdir(disk, 0700);
    if (mount("tmpfs", disk, "tmpfs", 0, "size=256k") != 0) {
        printf("full disk: skipped (tmpfs cannot be mounted here: %s)\n", strerror(errno));
        return;
    }
    char filler[600];
    snprintf(filler, sizeof filler, "%s/filler", disk);
    FILE *f = fopen(filler, "w");
    char block[4096] = {0};
    while (f && fwrite(block, 1, sizeof block, f) == sizeof block && fflush(f) == 0)
        ;
    if (f)
        fclose(f);
    truncate(filler, file_size(filler) - 8192); /* room for a header and a little audio */
    run(&r, (const char *[]){"record", "--request", req, "--input", in, "--recording-dir", disk,
                             NULL}, NULL);
    CHECK_MSG(r.status == 1 || r.status == 2, "full disk: status %d", r.status);
    if (r.status == 1) {
        CHECK_STR(field(&r, "completionReason"), "unspecifiedError");
        CHECK(strict(location(&r)) >= 0);
    }
    printf("full disk: status %d, %s\n", r.status, r.status == 1 ? location(&r) : r.err);
    done(&r);
    truncate(filler, 0);
    run(&r, (const char *[]){"record", "--request", req, "--input", in, "--recording-dir", disk,
                             NULL}, NULL);
    CHECK_MSG(r.status == 0 && strict(location(&r)) == 48000, "with room: status %d: %s",
              r.status, r.err); /* and the same run with room */
    done(&r);
    umount(disk);
}

/* 7. Every sample received is in the recording, aligned with the input, at every rate. */
static void attack_rates(void)
{
    static const int rates[] = {8000, 11025, 16000, 22050, 32000, 44100, 48000, 6000, 96000};
    char *req = write_request("rates-req.json", hangup_request);
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        int rate = rates[i];
        sig_buf b;
        sig_init(&b, rate);
        sig_silence(&b, 1.0);
        for (int k = -2; k <= 2; k++) /* a short pulse at 0.5 s, narrow enough to locate */
            b.x[rate / 2 + k] = (int16_t)(20000 * exp(-k * k / 2.0));
        char name[64];
        snprintf(name, sizeof name, "rate-%d.wav", rate);
        char *in = path_in(name);
        CHECK(sig_write_wav(&b, in) == 0);
        sig_free(&b);
        snprintf(name, sizeof name, "rate-%d-rec.wav", rate);
        char *out = path_in(name);
        result r;
        run(&r, (const char *[]){"record", "--request", req, "--input", in, "--output", out,
                                 NULL}, NULL);
        CHECK(r.status == 0);
        int64_t frames = strict(out);
        sig_buf rec;
        sig_init(&rec, 16000);
        CHECK(sig_read_wav(&rec, out, 16000) == 0);
        size_t peak = 0;
        for (size_t k = 1; k < rec.n; k++)
            if (abs(rec.x[k]) > abs(rec.x[peak]))
                peak = k;
        CHECK_MSG(frames == 16000, "%d Hz: 1 s gave %lld samples", rate, (long long)frames);
        CHECK_MSG(labs((long)peak - 8000) <= 1, "%d Hz: the pulse at 0.5 s is at sample %zu",
                  rate, peak);
        sig_free(&rec);
        done(&r);
    }
}

/* 8. stdout that cannot be written is an error, and a closed one never ends a recording. */
static void attack_stdout_errors(void)
{
    result r;
    char *in = noise_wav("full-in.wav", 16000, 1.0, NULL);
    char *req = write_request("full-req.json", hangup_request);
    how h = {.stdout_fd = open("/dev/full", O_WRONLY)};
    run(&r, (const char *[]){"record", "--request", req, "--input", in, "--output",
                             path_in("full.wav"), NULL}, &h);
    CHECK_MSG(r.status == 3, "> /dev/full: status %d", r.status);
    CHECK(strstr(r.err, "No space left on device") != NULL);
    done(&r);
}

/* 9. With descriptors 0 and 1 closed, nothing but audio lands in the recording. */
static void attack_closed_fds(void)
{
    result r;
    sig_buf b; /* speech, so that events are written while the recording is */
    sig_rng rng;
    sig_seed(&rng, 9);
    sig_init(&b, 16000);
    sig_silence(&b, 0.5);
    CHECK(sig_append_speech(&b, "vm-intro", 0.0) == 0);
    sig_silence(&b, 1.0);
    sig_add_noise(&b, &rng, 0, b.n, -50.0);
    char *in = path_in("fds-in.wav");
    CHECK(sig_write_wav(&b, in) == 0);
    char *req = write_request("fds-req.json", hangup_request);
    char *out = path_in("fds.wav");
    how h = {.close_stdin_stdout = 1};
    run(&r, (const char *[]){"record", "--request", req, "--input", in, "--output", out,
                             "--events", "-", NULL}, &h);
    CHECK(r.status == 0 || r.status == 3);
    CHECK(strict(out) == (int64_t)b.n);
    sig_buf rec, sent;
    sig_init(&rec, 16000);
    sig_init(&sent, 16000);
    CHECK(sig_read_wav(&rec, out, 16000) == 0 && sig_read_wav(&sent, in, 16000) == 0);
    CHECK_MSG(rec.n == sent.n && memcmp(rec.x, sent.x, sent.n * sizeof *sent.x) == 0,
              "the recording is not the input bit for bit");
    sig_free(&rec);
    sig_free(&sent);
    sig_free(&b);
    done(&r);
}

/* 10. A notification is valid UTF-8 and names no local path, however long the path. */
static void attack_utf8(void)
{
    char body[8192], uri[4096] = "/no/such/folder/";
    for (int i = 0; i < 600; i++)
        strcat(uri, "\xc3\xa9"); /* é */
    strcat(uri, ".wav");
    snprintf(body, sizeof body, "{\"prompts\": [{\"mediaInfo\": {\"uri\": \"%s\"}}]}", uri);
    char *req = write_request("utf8-req.json", body);
    char *in = noise_wav("utf8-in.wav", 16000, 0.5, NULL);
    result r;
    run(&r, (const char *[]){"record", "--request", req, "--input", in, "--recording-dir", dir,
                             NULL}, NULL);
    CHECK(r.status == 1);
    CHECK_STR(field(&r, "completionReason"), "playPromptFailed");
    CHECK_MSG(cr_utf8_valid(r.out, strlen(r.out), NULL), "the notification is not UTF-8");
    CHECK(strstr(r.out, "\xc3\xa9") == NULL);
    CHECK(strstr(r.err, "/no/such/folder/") != NULL);
    done(&r);
}

static void expect_refused(const char *body, size_t len, const char *says)
{
    char *req = path_in("refused.json");
    FILE *f = fopen(req, "wb");
    fwrite(body, 1, len, f);
    fclose(f);
    char *recs = path_in("recs-refused");
    mkdir(recs, 0700);
    result r;
    run(&r, (const char *[]){"record", "--request", req, "--input", DEMO_DIR "/caller.wav",
                             "--recording-dir", recs, NULL}, NULL);
    CHECK_MSG(r.status == 2 && strstr(r.err, says), "body %.60s: status %d, stderr %s", body,
              r.status, r.err);
    no_recordings(recs);
    done(&r);
}

/* 11-13. Raw NULs, what RFC 8259 does not allow, unknown nested fields, a huge body. */
static void attack_requests(void)
{
    static const char nul_value[] = "{\"clientContext\":\"a\0b\"}";
    static const char nul_name[] = "{\"maxRecordDurationInSeconds\0junk\": 7}";
    expect_refused(nul_value, sizeof nul_value - 1, "NUL byte");
    expect_refused(nul_name, sizeof nul_name - 1, "NUL byte");
    const char *invalid[] = {"{\"maxRecordDurationInSeconds\": 05}",
                             "{\"maxRecordDurationInSeconds\": 5.}",
                             "{\"clientContext\": \"a\nb\"}", "{\"clientContext\": \"a\x01\"}"};
    for (int i = 0; i < 4; i++)
        expect_refused(invalid[i], strlen(invalid[i]), "invalid JSON");
    const char *nested = "{\"prompts\": [{\"mediaInfo\": {\"uri\": \"prompt.wav\", \"x\": 1}}]}";
    expect_refused(nested, strlen(nested), "not a field of a mediaInfo");
    const char *typed = "{\"prompts\": [{\"@odata.type\": \"#microsoft.graph.call\", "
                        "\"mediaInfo\": {\"uri\": \"prompt.wav\"}}]}";
    expect_refused(typed, strlen(typed), "@odata.type: must be");

    size_t cap = 1000000, n = 0;
    char *big = malloc(cap + 64);
    n += (size_t)sprintf(big, "{");
    int k;
    for (k = 0; n < cap - 32; k++)
        n += (size_t)sprintf(big + n, "\"a@%d\":0,", k);
    n += (size_t)sprintf(big + n, "\"a@%d\":1}", k - 1);
    double t0 = support_now_s();
    expect_refused(big, n, "appears more than once");
    printf("a %zu-byte body of %d annotations: refused in %.0f ms (the whole program)\n", n, k,
           (support_now_s() - t0) * 1e3);
    free(big);
}

/* 14. A float prompt holding NaN and infinities plays (NaN as silence); under UBSan the
   conversion would abort the program if it were undefined. */
static void attack_nan_prompt(void)
{
    char *prompt = path_in("nan.wav");
    SF_INFO info = {.samplerate = 16000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
    SNDFILE *sf = sf_open(prompt, SFM_WRITE, &info);
    float x[1600];
    for (int i = 0; i < 1600; i++)
        x[i] = i % 4 == 0 ? NAN : i % 4 == 1 ? INFINITY : i % 4 == 2 ? -INFINITY : 1e30f;
    sf_write_float(sf, x, 1600);
    sf_close(sf);
    char body[1024];
    snprintf(body, sizeof body,
             "{\"prompts\": [{\"mediaInfo\": {\"uri\": \"%s\"}}], \"playBeep\": false, "
             "\"initialSilenceTimeoutInSeconds\": 1}", prompt);
    char *req = write_request("nan-req.json", body);
    char *in = noise_wav("nan-in.wav", 16000, 2.0, NULL);
    result r;
    run(&r, (const char *[]){"record", "--request", req, "--input", in, "--output",
                             path_in("nan-rec.wav"), NULL}, NULL);
    CHECK_MSG(r.status == 1, "status %d: %s", r.status, r.err);
    CHECK_STR(field(&r, "completionReason"), "initialSilenceTimeout");
    done(&r);
}

/* 15. A --realtime input that cannot be opened is named on stderr. */
static void attack_realtime_open(void)
{
    result r;
    char *req = write_request("rt-req.json", hangup_request);
    run(&r, (const char *[]){"record", "--request", req, "--input", path_in("missing.wav"),
                             "--realtime", NULL}, NULL);
    CHECK_MSG(r.status == 2 && strstr(r.err, "missing.wav"), "status %d, stderr: %s", r.status,
              r.err);
    done(&r);
}

/* 16. A FIFO as prompt fails the operation at once and records nothing. */
static void attack_fifo_prompt(void)
{
    char *fifo = path_in("prompt.fifo");
    CHECK(mkfifo(fifo, 0600) == 0);
    char body[1024];
    snprintf(body, sizeof body, "{\"prompts\": [{\"mediaInfo\": {\"uri\": \"%s\"}}]}", fifo);
    char *req = write_request("fifo-req.json", body);
    char *recs = path_in("recs-fifo");
    mkdir(recs, 0700);
    result r;
    how h = {.watchdog_ms = 10000};
    run(&r, (const char *[]){"record", "--request", req, "--input", DEMO_DIR "/caller.wav",
                             "--recording-dir", recs, NULL}, &h);
    CHECK_MSG(!r.hung, "a FIFO prompt blocked the program");
    CHECK(r.status == 1);
    CHECK_STR(field(&r, "completionReason"), "playPromptFailed");
    CHECK(strstr(r.err, "not a regular file") != NULL);
    no_recordings(recs);
    done(&r);
}

/* Makes nested folders under `base`, each level named by `part`, while the path stays within
   `length` bytes. Returns the path (static), or NULL. */
static const char *deep_folder(const char *base, const char *part, size_t length)
{
    static char path[8192];
    snprintf(path, sizeof path, "%s", base);
    while (strlen(path) + strlen(part) + 1 <= length) {
        strcat(path, "/");
        strcat(path, part);
        if (mkdir(path, 0700) && errno != EEXIST)
            return NULL;
    }
    return path;
}

/* 17, 18. Paths beyond PATH_MAX are refused; long ones that fit are named in full. */
static void attack_long_paths(void)
{
    char part[201];
    memset(part, 'p', 200);
    part[200] = '\0';
    char tail[256];
    const char *deep = deep_folder(dir, part, 3880);
    char last[256];
    memset(last, 'q', 255);
    last[255] = '\0';
    snprintf(tail, sizeof tail, "/%.*s", (int)(4085 - strlen(deep) - 1), last);
    char deeper[8192];
    snprintf(deeper, sizeof deeper, "%s%s", deep, tail);
    CHECK(mkdir(deeper, 0700) == 0); /* 4085 bytes: + "/<36-character id>.wav" > PATH_MAX */
    deep = deeper;
    char *req = write_request("long-req.json", hangup_request);
    char *in = noise_wav("long-in.wav", 16000, 0.5, NULL);
    result r;
    run(&r, (const char *[]){"record", "--request", req, "--input", in, "--recording-dir", deep,
                             NULL}, NULL);
    CHECK_MSG(r.status == 2 && strstr(r.err, "PATH_MAX"), "a %zu-byte folder: status %d: %s",
              strlen(deep), r.status, r.err);
    done(&r);

    char wide[201] = "";
    for (int i = 0; i < 100; i++)
        strcat(wide, "\xc3\xa9"); /* 200 bytes, 600 once percent-encoded */
    char *base = path_in("wide");
    mkdir(base, 0700);
    const char *far = deep_folder(base, wide, 1800);
    CHECK(far != NULL);
    run(&r, (const char *[]){"record", "--request", req, "--input", in, "--recording-dir", far,
                             NULL}, NULL);
    CHECK(r.status == 0);
    const char *uri = field(&r, "recordingLocation");
    CHECK_MSG(uri && strlen(uri) > 4200, "recordingLocation %s", uri ? "too short" : "null");
    CHECK(strncmp(location(&r), far, strlen(far)) == 0);
    CHECK(strict(location(&r)) == 8000);
    done(&r);
}

/* 19. A valid WAV of no samples is bad input (exit 2), like any other empty input. */
static void attack_empty_input(void)
{
    sig_buf b;
    sig_init(&b, 16000);
    char *in = path_in("empty-in.wav");
    CHECK(sig_write_wav(&b, in) == 0);
    sig_free(&b);
    char *req = write_request("empty-req.json", hangup_request);
    char *recs = path_in("recs-empty");
    mkdir(recs, 0700);
    result r;
    run(&r, (const char *[]){"record", "--request", req, "--input", in, "--recording-dir", recs,
                             NULL}, NULL);
    CHECK_MSG(r.status == 2 && strstr(r.err, "contains no audio"), "status %d: %s", r.status,
              r.err);
    no_recordings(recs);
    done(&r);
}

/* libsndfile's MPEG decoder reads past a heap buffer when its input is a pipe (ASan shows it
   in sf_open, under mpg123_getformat2): MPEG is refused on a pipe before libsndfile sees it,
   and still read from a file. */
static void attack_mpeg_pipe(void)
{
    char *mp3 = path_in("tone.mp3");
    SF_INFO info = {.samplerate = 16000, .channels = 1,
                    .format = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III};
    SNDFILE *sf = sf_open(mp3, SFM_WRITE, &info);
    if (!sf) {
        printf("MPEG on a pipe: skipped (this libsndfile cannot write MPEG: %s)\n",
               sf_strerror(NULL));
        return;
    }
    sig_buf b;
    sig_rng rng;
    sig_seed(&rng, 3);
    sig_init(&b, 16000);
    sig_tones(&b, &rng, 440, -10, 0, 0, 1.0);
    sf_write_short(sf, b.x, (sf_count_t)b.n);
    sf_close(sf);
    sig_free(&b);
    char *req = write_request("mpeg-req.json", hangup_request);
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t feeder = fork();
    if (feeder == 0) {
        close(p[0]);
        int fd = open(mp3, O_RDONLY);
        char buf[4096];
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0 && write(p[1], buf, (size_t)n) == n)
            ;
        _exit(0);
    }
    close(p[1]);
    char *recs = path_in("recs-mpeg");
    mkdir(recs, 0700);
    result r;
    how h = {0};
    /* stdin is the pipe: dup it where run() will find it */
    char fdpath[64];
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", p[0]);
    h.stdin_path = fdpath;
    run(&r, (const char *[]){"record", "--request", req, "--input", "-", "--recording-dir", recs,
                             NULL}, &h);
    close(p[0]);
    waitpid(feeder, NULL, 0);
    CHECK_MSG(r.status == 2 && strstr(r.err, "MPEG audio is read from a file only"),
              "MPEG on a pipe: status %d: %s", r.status, r.err);
    no_recordings(recs);
    done(&r);
    run(&r, (const char *[]){"record", "--request", req, "--input", mp3, "--recording-dir", recs,
                             NULL}, NULL);
    CHECK_MSG(r.status == 0, "MPEG from a file: status %d: %s", r.status, r.err);
    CHECK(strict(location(&r)) > 15000);
    done(&r);
}

/* A truncated Ogg Vorbis file is refused as input and fails as a prompt. (libvorbis leaks
   on it: the sanitizer stages suppress that one leak, tests/lsan.supp.) */
static void attack_truncated_ogg(void)
{
    char *ogg = path_in("cut.ogg");
    SF_INFO info = {.samplerate = 16000, .channels = 1, .format = SF_FORMAT_OGG | SF_FORMAT_VORBIS};
    SNDFILE *sf = sf_open(ogg, SFM_WRITE, &info);
    CHECK(sf != NULL);
    sig_buf b;
    sig_rng rng;
    sig_seed(&rng, 4);
    sig_init(&b, 16000);
    sig_tones(&b, &rng, 440, -10, 0, 0, 2.0);
    sf_write_short(sf, b.x, (sf_count_t)b.n);
    sf_close(sf);
    sig_free(&b);
    CHECK(truncate(ogg, file_size(ogg) / 2) == 0);
    char *req = write_request("ogg-req.json", hangup_request);
    char *recs = path_in("recs-ogg");
    mkdir(recs, 0700);
    result r;
    run(&r, (const char *[]){"record", "--request", req, "--input", ogg, "--recording-dir", recs,
                             NULL}, NULL);
    CHECK_MSG(r.status == 2 && strstr(r.err, "cut.ogg"), "status %d: %s", r.status, r.err);
    done(&r);
    char body[1024];
    snprintf(body, sizeof body, "{\"prompts\": [{\"mediaInfo\": {\"uri\": \"%s\"}}]}", ogg);
    char *preq = write_request("ogg-prompt.json", body);
    run(&r, (const char *[]){"record", "--request", preq, "--input", DEMO_DIR "/caller.wav",
                             "--recording-dir", recs, NULL}, NULL);
    CHECK(r.status == 1);
    CHECK_STR(field(&r, "completionReason"), "playPromptFailed");
    no_recordings(recs);
    done(&r);
}

/* 20. A kill during the prompt leaves a valid (empty) WAV. */
static void attack_early_kill(void)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"prompts\": [{\"mediaInfo\": {\"uri\": \"%s/vm-intro.wav\"}}]}", SPEECH_DIR);
    char *req = write_request("kill-req.json", body);
    char *in = noise_wav("kill-in.wav", 16000, 8.0, NULL);
    char *out = path_in("killed.wav");
    result r;
    how h = {.signal_after_ms = 1000, .signal = SIGKILL};
    run(&r, (const char *[]){"record", "--request", req, "--input", in, "--realtime", "--output",
                             out, NULL}, &h);
    CHECK(r.status == 128 + SIGKILL);
    CHECK(strict(out) == 0);
    done(&r);
}

int main(void)
{
    const char *other = getenv("CALLREC_ATTACK_BIN");
    if (other && *other)
        bin = other;
    if (support_scratch_dir(dir, sizeof dir, "attack"))
        return 1;
    attack_stop_tone_cut();
    attack_events_file();
    attack_blocking_sink();
    attack_stalled_input();
    attack_file_limits();
    attack_rates();
    attack_stdout_errors();
    attack_closed_fds();
    attack_utf8();
    attack_requests();
    attack_nan_prompt();
    attack_realtime_open();
    attack_fifo_prompt();
    attack_long_paths();
    attack_empty_input();
    attack_early_kill();
    attack_mpeg_pipe();
    attack_truncated_ogg();
    int rc = harness_finish("test_attack");
    if (getenv("CALLREC_ATTACK_KEEP") == NULL)
        support_remove_dir(dir);
    return rc;
}
