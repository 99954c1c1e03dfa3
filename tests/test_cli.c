/* The real `callrec` program end to end: every row of the semantics table, the exit status,
   stdout holding only the notification, the events stream, the WAV on disk, and bad input. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "signals.h"
#include "support.h"

#ifndef CALLREC_BIN
#error "CALLREC_BIN must name the callrec program"
#endif
#ifndef DEMO_DIR
#error "DEMO_DIR must name the demo folder"
#endif

static char dir[256];

typedef struct result {
    int status;           /* exit status, or 128 + signal */
    char out[65536], err[8192];
    cJSON *notification;  /* parsed stdout (NULL unless it was exactly one JSON document) */
    cJSON *data;          /* value[0].resourceData */
} result;

/* Runs callrec with argv (NULL-terminated). fsize_limit > 0 caps the files it may write;
   sigint_after_ms > 0 interrupts it. */
static void run_full(result *r, const char *const *args, const char *stdin_path, long fsize_limit,
                     int sigint_after_ms)
{
    char out_path[300], err_path[300];
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    memset(r, 0, sizeof *r);
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(o, 1);
        dup2(e, 2);
        if (stdin_path) {
            int i = open(stdin_path, O_RDONLY);
            dup2(i, 0);
        }
        if (fsize_limit > 0) {
            struct rlimit lim = {(rlim_t)fsize_limit, (rlim_t)fsize_limit};
            setrlimit(RLIMIT_FSIZE, &lim);
        }
        const char *argv[32] = {CALLREC_BIN};
        for (int k = 0; args[k] && k < 30; k++)
            argv[k + 1] = args[k];
        execv(CALLREC_BIN, (char *const *)argv);
        _exit(127);
    }
    if (sigint_after_ms > 0) {
        struct timespec ts = {sigint_after_ms / 1000, (sigint_after_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGINT);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    support_slurp(out_path, r->out, sizeof r->out);
    support_slurp(err_path, r->err, sizeof r->err);
    const char *end = NULL;
    r->notification = cJSON_ParseWithOpts(r->out, &end, 0);
    if (r->notification) {
        while (*end == '\n')
            end++;
        if (*end) { /* more than one document on stdout */
            cJSON_Delete(r->notification);
            r->notification = NULL;
        }
    }
    cJSON *v = cJSON_GetObjectItem(r->notification, "value");
    r->data = cJSON_GetObjectItem(cJSON_GetArrayItem(v, 0), "resourceData");
}

static void run(result *r, const char *const *args) { run_full(r, args, NULL, 0, 0); }

static void done(result *r) { cJSON_Delete(r->notification); }

static const char *field(const result *r, const char *name)
{
    const cJSON *f = cJSON_GetObjectItem(r->data, name);
    return cJSON_IsString(f) ? f->valuestring : NULL;
}

static double number(const cJSON *o, const char *name)
{
    const cJSON *f = cJSON_GetObjectItem(o, name);
    return cJSON_IsNumber(f) ? f->valuedouble : NAN;
}

static char *path_in(const char *name)
{
    static char buf[64][400]; /* every path a test names stays valid */
    static int k;
    if (k == 64) {
        fprintf(stderr, "path_in: too many paths\n");
        exit(2);
    }
    k++;
    snprintf(buf[k - 1], sizeof buf[k - 1], "%s/%s", dir, name);
    return buf[k - 1];
}

/* Number of *.wav files in the folder (nothing is recorded on a refused request). */
static int wav_count(const char *folder)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c '\\.wav$' > '%s/count.txt'", folder, dir);
    if (system(cmd) < 0)
        return -1;
    char buf[32];
    support_slurp(path_in("count.txt"), buf, sizeof buf);
    return atoi(buf);
}

static int64_t wav_read(const char *path, sig_buf *b)
{
    /* Every recording a test reads is first read by readers that do not forgive. */
    char why[512];
    CHECK_MSG(support_wav_strict(path, NULL, why, sizeof why) == 0, "%s", why);
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf)
        return -1;
    if (b) {
        sig_init(b, info.samplerate);
        sig_silence(b, (double)info.frames / info.samplerate);
        sf_read_short(sf, b->x, info.frames);
    }
    sf_close(sf);
    return info.frames;
}

/* Last event line of an events file, parsed, and the line count. */
static cJSON *last_event(const char *path, int *lines, cJSON **first_rec)
{
    static char buf[65536];
    support_slurp(path, buf, sizeof buf);
    cJSON *last = NULL;
    *lines = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *e = cJSON_Parse(line);
        CHECK_MSG(e && cJSON_IsNumber(cJSON_GetObjectItem(e, "t")) &&
                      cJSON_IsString(cJSON_GetObjectItem(e, "event")),
                  "bad event line: %s", line);
        (*lines)++;
        const cJSON *name = cJSON_GetObjectItem(e, "event");
        if (first_rec && !*first_rec && cJSON_IsString(name) &&
            strcmp(name->valuestring, "recordingStarted") == 0) {
            *first_rec = e;
            continue;
        }
        cJSON_Delete(last);
        last = e;
    }
    return last;
}

static const char *recording_path(const result *r)
{
    const char *uri = field(r, "recordingLocation");
    return uri && strncmp(uri, "file://", 7) == 0 ? uri + 7 : NULL;
}

static void test_usage(void)
{
    result r;
    run(&r, (const char *[]){"--help", NULL});
    CHECK(r.status == 0 && strstr(r.out, "usage: callrec record") && strstr(r.out, "Exit status"));
    done(&r);
    run(&r, (const char *[]){"--version", NULL});
    CHECK(r.status == 0 && strncmp(r.out, "callrec 0.", 10) == 0);
    done(&r);
    run(&r, (const char *[]){NULL});
    CHECK(r.status == 2 && strstr(r.err, "no command given") && strstr(r.err, "usage:"));
    done(&r);
    run(&r, (const char *[]){"record", "--max-duration", "20", NULL});
    CHECK(r.status == 2 && strstr(r.err, "record needs exactly one of --input and --device"));
    done(&r);
    run(&r, (const char *[]){"record", "--request", "r.json", "--bogus", NULL});
    CHECK(r.status == 2 && strstr(r.err, "callrec: unknown option --bogus"));
    done(&r);
    run(&r, (const char *[]){"record", "--request", "r.json", "--input", "a", "--device", "0", NULL});
    CHECK(r.status == 2 && strstr(r.err, "exactly one of --input and --device"));
    done(&r);
    run(&r, (const char *[]){"record", "--request", NULL});
    CHECK(r.status == 2 && strstr(r.err, "--request needs a value"));
    done(&r);
    run(&r, (const char *[]){"record", "--request", "r.json", "--input", "a.wav",
                             "--buffer-frames", "-5", NULL});
    CHECK(r.status == 2 && strstr(r.err, "callrec: --buffer-frames applies to a live run"));
    done(&r);
    run(&r, (const char *[]){"record", "--request", "r.json", "--input", "a.wav",
                             "--playout-guard-ms", "100", NULL});
    CHECK(r.status == 2 && strstr(r.err, "callrec: --playout-guard-ms applies to a live run"));
    done(&r);
    run(&r, (const char *[]){"record", "--request", "-", "--input", "-", NULL});
    CHECK(r.status == 2 && strstr(r.err, "callrec: --request and --input cannot both read stdin"));
    done(&r);
    run(&r, (const char *[]){"frobnicate", NULL});
    CHECK(r.status == 2 && strstr(r.err, "unknown command frobnicate"));
    done(&r);
    char *none = path_in("never-written.wav");
    run(&r, (const char *[]){"record", "--request", DEMO_DIR "/request.json", "--input",
                             DEMO_DIR "/caller.wav", "--output", none, "--dtmf-profile", "itu",
                             NULL});
    CHECK(r.status == 2 && strstr(r.err, "--dtmf-profile: must be att or ntt, got itu"));
    CHECK(access(none, F_OK) != 0);
    done(&r);
}

/* The NTT profile hears the demo caller's '#' as the default profile does. */
static void test_ntt_profile(void)
{
    result r;
    char *wav = path_in("demo-ntt.wav");
    run(&r, (const char *[]){"record", "--request", DEMO_DIR "/request.json", "--input",
                             DEMO_DIR "/caller.wav", "--output", wav, "--dtmf-profile", "ntt",
                             NULL});
    CHECK_MSG(r.status == 0, "exit %d: %s", r.status, r.err);
    CHECK_STR(field(&r, "completionReason"), "stopToneDetected");
    CHECK_STR(field(&r, "@callrec.stopTone"), "#");
    done(&r);
}

static void test_bad_input(void)
{
    char *req = path_in("ok.json");
    support_write_file(req, "{}");
    char *recs = path_in("recs");
    mkdir(recs, 0700);
    result r;

    /* A refused request: exit 2, the message names the field, nothing recorded. */
    char *bad = path_in("bad.json");
    support_write_file(bad, "{\"maxSilenceTimeoutInSeconds\": 0}");
    run(&r, (const char *[]){"record", "--request", bad, "--input", DEMO_DIR "/caller.wav",
                             "--recording-dir", recs, NULL});
    CHECK(r.status == 2);
    CHECK_STR(r.err, "callrec: maxSilenceTimeoutInSeconds: must be an integer from 1 to 300, "
                     "got 0\n");
    CHECK(r.out[0] == '\0');
    CHECK(wav_count(recs) == 0);
    done(&r);

    support_write_file(bad, "{\"stopTones\": [\"#\",");
    run(&r, (const char *[]){"record", "--request", bad, "--input", DEMO_DIR "/caller.wav",
                             "--recording-dir", recs, NULL});
    CHECK(r.status == 2 && strstr(r.err, "request: invalid JSON"));
    CHECK(wav_count(recs) == 0);
    done(&r);

    run(&r, (const char *[]){"record", "--request", path_in("missing.json"), "--input",
                             DEMO_DIR "/caller.wav", NULL});
    CHECK(r.status == 2 && strstr(r.err, "missing.json: No such file or directory"));
    done(&r);

    /* Inputs: missing, not audio, empty, a folder. */
    run(&r, (const char *[]){"record", "--request", req, "--input", path_in("none.wav"),
                             "--recording-dir", recs, NULL});
    CHECK(r.status == 2 && strstr(r.err, "callrec: input ") &&
          strstr(r.err, "none.wav") && strstr(r.err, "No such file or directory"));
    done(&r);
    char *junk = path_in("junk.wav");
    support_write_file(junk, "this is not audio at all, just text pretending to be a WAV file\n");
    run(&r, (const char *[]){"record", "--request", req, "--input", junk, "--recording-dir",
                             recs, NULL});
    CHECK(r.status == 2 && strstr(r.err, "junk.wav"));
    done(&r);
    char *empty = path_in("empty.wav");
    support_write_file(empty, "");
    run(&r, (const char *[]){"record", "--request", req, "--input", empty, "--recording-dir",
                             recs, NULL});
    CHECK(r.status == 2 && strstr(r.err, "empty.wav: is empty"));
    CHECK(wav_count(recs) == 0);
    done(&r);
    run(&r, (const char *[]){"record", "--request", req, "--input", recs, "--recording-dir",
                             recs, NULL});
    CHECK(r.status == 2 && strstr(r.err, "recs: is a folder, not an audio file"));
    CHECK(wav_count(recs) == 0);
    done(&r);

    /* An existing output is never overwritten. */
    char *exists = path_in("exists.wav");
    support_write_file(exists, "precious");
    run(&r, (const char *[]){"record", "--request", req, "--input", DEMO_DIR "/caller.wav",
                             "--output", exists, NULL});
    CHECK(r.status == 2 && strstr(r.err, "exists.wav: already exists"));
    char buf[32];
    support_slurp(exists, buf, sizeof buf);
    CHECK_STR(buf, "precious");
    done(&r);

    run(&r, (const char *[]){"record", "--request", req, "--input", DEMO_DIR "/caller.wav",
                             "--recording-dir", path_in("no-such-dir"), NULL});
    CHECK(r.status == 2 && strstr(r.err, "no-such-dir: not a folder"));
    done(&r);

    /* A recording folder that cannot be written to (procfs refuses new files even to root). */
    run(&r, (const char *[]){"record", "--request", req, "--input", DEMO_DIR "/caller.wav",
                             "--recording-dir", "/proc", NULL});
    CHECK_MSG(r.status == 2 && strstr(r.err, "callrec: recording /proc/"), "exit %d: %s", r.status,
              r.err);
    done(&r);

    /* A WAV header that claims 0 Hz. */
    char *zero = path_in("zero-hz.wav");
    unsigned char hdr[44] = {'R', 'I', 'F', 'F', 36, 0, 0, 0, 'W', 'A', 'V', 'E', 'f', 'm', 't', ' ',
                             16, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 16, 0,
                             'd', 'a', 't', 'a', 0, 0, 0, 0};
    FILE *f = fopen(zero, "wb");
    fwrite(hdr, 1, sizeof hdr, f);
    fclose(f);
    run(&r, (const char *[]){"record", "--request", req, "--input", zero, "--recording-dir", recs,
                             NULL});
    CHECK_MSG(r.status == 2 && strstr(r.err, "zero-hz.wav"), "exit %d: %s", r.status, r.err);
    CHECK(wav_count(recs) == 0);
    done(&r);

    /* ... and one that claims 1 MHz. */
    hdr[24] = 0x40, hdr[25] = 0x42, hdr[26] = 0x0f, hdr[27] = 0x00; /* 1,000,000 */
    char *absurd = path_in("absurd-rate.wav");
    f = fopen(absurd, "wb");
    fwrite(hdr, 1, sizeof hdr, f);
    fclose(f);
    run(&r, (const char *[]){"record", "--request", req, "--input", absurd, "--recording-dir", recs,
                             NULL});
    CHECK_MSG(r.status == 2 && strstr(r.err, "absurd-rate.wav"), "exit %d: %s", r.status, r.err);
    CHECK(wav_count(recs) == 0);
    done(&r);

    /* 32 channels are mixed down; a WAV cut off mid-data is read as far as it goes. */
    char *many = path_in("32ch.wav");
    SF_INFO info = {.samplerate = 8000, .channels = 32, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *sf = sf_open(many, SFM_WRITE, &info);
    static short frames32[8000 * 32];
    for (int i = 0; i < 8000 * 32; i++)
        frames32[i] = (short)((i % 32 == 0) ? 3000 * ((i / 32 / 40) % 2 ? 1 : -1) : 0); /* 100 Hz */
    sf_writef_short(sf, frames32, 8000);
    sf_close(sf);
    char *out32 = path_in("32ch-out.wav");
    run(&r, (const char *[]){"record", "--request", req, "--input", many, "--output", out32, NULL});
    /* The window opens after the 250 ms beep; the input's end is a hang-up: exit 0, none,
       the other 0.75 s recorded, the square wave of channel 0 mixed down to 1/32 of it. */
    CHECK_MSG(r.status == 0, "32 channels: exit %d: %s", r.status, r.err);
    CHECK_STR(field(&r, "completionReason"), "none");
    sig_buf mixed;
    CHECK(wav_read(out32, &mixed) == 12000);
    double level = sig_rms_dbfs(mixed.x + 400, mixed.n - 800);
    double want = 20 * log10(3000.0 / 32 / 32768.0);
    CHECK_MSG(fabs(level - want) < 1.0, "32 channels: mixed down to %.1f dBFS, want %.1f", level,
              want);
    sig_free(&mixed);
    done(&r);

    char *cut = path_in("truncated.wav");
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "head -c 30000 '%s' > '%s'", DEMO_DIR "/caller.wav", cut);
    CHECK(system(cmd) == 0);
    char *cut_out = path_in("truncated-out.wav");
    run(&r, (const char *[]){"record", "--request", req, "--input", cut, "--output", cut_out, NULL});
    /* 29,956 bytes of 8 kHz samples: 14,978 samples, 29,956 at 16 kHz, less the beep's 4,000. */
    CHECK_MSG(r.status == 0, "truncated: exit %d: %s", r.status, r.err);
    CHECK_STR(field(&r, "completionReason"), "none");
    CHECK(wav_read(cut_out, NULL) == 29956 - 4000);
    done(&r);

    /* A prompt over the 300 s limit fails the operation, naming the limit. */
    char *long_prompt = path_in("long-prompt.wav");
    SF_INFO pinfo = {.samplerate = 8000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    sf = sf_open(long_prompt, SFM_WRITE, &pinfo);
    static short quiet[8000];
    for (int sec = 0; sec < 301; sec++)
        sf_write_short(sf, quiet, 8000);
    sf_close(sf);
    char *preq = path_in("long-prompt.json");
    char body[1024];
    snprintf(body, sizeof body, "{\"prompts\": [{\"mediaInfo\": {\"uri\": \"%s\"}}]}", long_prompt);
    support_write_file(preq, body);
    run(&r, (const char *[]){"record", "--request", preq, "--input", DEMO_DIR "/caller.wav",
                             "--recording-dir", recs, NULL});
    CHECK(r.status == 1);
    CHECK_STR(field(&r, "completionReason"), "playPromptFailed");
    const cJSON *msg = cJSON_GetObjectItem(cJSON_GetObjectItem(r.data, "resultInfo"), "message");
    /* The reason names a local file: stderr says it, the notification keeps the fixed phrase. */
    CHECK(strstr(r.err, "301.0 s long; at most 300 s accepted") != NULL);
    CHECK_STR(cJSON_GetStringValue(msg), "Action failed, the prompt could not be played.");
    CHECK(wav_count(recs) == 0);
    done(&r);
}

static void test_demo(void)
{
    result r;
    char *wav = path_in("demo.wav"), *events = path_in("demo.jsonl");
    run(&r, (const char *[]){"record", "--request", DEMO_DIR "/request.json", "--input",
                             DEMO_DIR "/caller.wav", "--output", wav, "--events", events, NULL});
    CHECK_MSG(r.status == 0, "exit %d: %s", r.status, r.err);
    CHECK_MSG(r.notification != NULL, "stdout is not one JSON document: %s", r.out);
    CHECK_STR(field(&r, "completionReason"), "stopToneDetected");
    CHECK_STR(field(&r, "status"), "completed");
    CHECK_STR(field(&r, "clientContext"), "demo-call-1");
    CHECK_STR(field(&r, "@callrec.stopTone"), "#");
    CHECK_STR(cJSON_GetObjectItem(r.notification, "@odata.type")->valuestring,
              "#microsoft.graph.commsNotifications");
    const char *token = field(&r, "recordingAccessToken");
    CHECK(token && strlen(token) == 43 && !strpbrk(token, "+/="));
    CHECK(recording_path(&r) && strcmp(recording_path(&r), wav) == 0);
    int lines = 0;
    cJSON *rec = NULL, *last = last_event(events, &lines, &rec);
    CHECK(lines >= 8 && rec != NULL);
    CHECK_STR(cJSON_GetObjectItem(last, "event")->valuestring, "completed");
    CHECK_STR(cJSON_GetObjectItem(last, "completionReason")->valuestring, "stopToneDetected");
    /* The demo caller presses # at 13.55 s of its audio: prompt 5.654 s + beep 0.25 s; the
       tone starts 6.4 + speech + pauses later. */
    double t_done = number(last, "t"), t_rec = number(rec, "t");
    CHECK_MSG(fabs(t_rec - 5.91) < 0.011, "recording started at %.3f", t_rec);
    int64_t frames = wav_read(wav, NULL);
    CHECK_MSG(fabs((double)frames / 16000.0 - (t_done - t_rec)) < 0.06,
              "wav %.3f s, window %.3f s", (double)frames / 16000.0, t_done - t_rec);
    cJSON_Delete(rec);
    cJSON_Delete(last);
    done(&r);
}

/* A caller made of lead-in silence, real speech, an optional DTMF key and trailing silence,
   written at `rate` with `channels`. Returns the file path. */
static char *make_caller(const char *name, double lead, const char *speech, char key,
                         double tail, int rate, int channels, double *key_at)
{
    sig_rng rng;
    sig_seed(&rng, 21);
    sig_buf b;
    sig_init(&b, 16000);
    sig_silence(&b, lead);
    if (speech)
        sig_append_speech(&b, speech, -6.0);
    if (key) {
        sig_silence(&b, 0.8);
        if (key_at)
            *key_at = (double)b.n / 16000.0;
        sig_dtmf(&b, &rng, key, -12.0, 0.1);
    }
    sig_silence(&b, tail);
    sig_add_noise(&b, &rng, 0, b.n, -65.0);
    if (rate != 16000)
        sig_resample(&b, rate);
    char *path = path_in(name);
    SF_INFO info = {.samplerate = rate, .channels = channels,
                    .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    int16_t *inter = malloc(b.n * (size_t)channels * sizeof *inter);
    for (size_t i = 0; i < b.n; i++)
        for (int c = 0; c < channels; c++)
            inter[i * (size_t)channels + (size_t)c] = b.x[i];
    sf_writef_short(sf, inter, (sf_count_t)b.n);
    sf_close(sf);
    free(inter);
    sig_free(&b);
    return path;
}

typedef struct row {
    const char *name, *request, *reason, *status;
    int exit_code, has_recording;
} row;

static void test_semantics(void)
{
    double key_at = 0;
    char *speech_key = make_caller("speech-key.wav", 0.5, "vm-intro", '#', 3.0, 8000, 1, &key_at);
    char *speech_44k = make_caller("speech-44k.wav", 0.5, "vm-intro", 0, 8.0, 44100, 2, NULL);
    char *silence = make_caller("silence.wav", 12.0, NULL, 0, 0.0, 16000, 1, NULL);
    char *short_speech = make_caller("short.wav", 0.5, "vm-intro", 0, 0.5, 96000, 1, NULL);
    char *req = path_in("req.json");
    result r;

    /* stopToneDetected: the key ends the recording, and is cut from it. */
    support_write_file(req, "{\"stopTones\": [\"#\"], \"playBeep\": false, \"maxRecordDurationInSeconds\": 60}");
    char *wav = path_in("row-stop.wav");
    run(&r, (const char *[]){"record", "--request", req, "--input", speech_key, "--output", wav, NULL});
    CHECK(r.status == 0);
    CHECK_STR(field(&r, "completionReason"), "stopToneDetected");
    sig_buf w;
    int64_t frames = wav_read(wav, &w);
    CHECK_MSG(fabs((double)frames / 16000.0 - key_at) < 0.005, "cut at %.4f s, key at %.4f s",
              (double)frames / 16000.0, key_at);
    CHECK(frames > 1600 && sig_rms_dbfs(w.x + frames - 1600, 1600) < -55.0);
    sig_free(&w);
    done(&r);

    /* maxRecordDurationReached: exactly N seconds of audio (44.1 kHz stereo input). */
    support_write_file(req, "{\"maxRecordDurationInSeconds\": 4, \"maxSilenceTimeoutInSeconds\": 10}");
    wav = path_in("row-max.wav");
    char *events = path_in("row-max.jsonl");
    run(&r, (const char *[]){"record", "--request", req, "--input", speech_44k, "--output", wav,
                             "--events", events, NULL});
    CHECK(r.status == 0);
    CHECK_STR(field(&r, "completionReason"), "maxRecordDurationReached");
    CHECK(number(cJSON_GetObjectItem(r.data, "resultInfo"), "subcode") == 8515);
    CHECK(wav_read(wav, NULL) == 4 * 16000);
    int lines;
    cJSON *rec = NULL, *last = last_event(events, &lines, &rec);
    CHECK(fabs(number(last, "t") - number(rec, "t") - 4.0) < 1e-9);
    cJSON_Delete(rec);
    cJSON_Delete(last);
    done(&r);

    /* initialSilenceTimeout: failed, exit 1, at exactly recording start + N. */
    support_write_file(req, "{\"initialSilenceTimeoutInSeconds\": 3}");
    wav = path_in("row-initial.wav");
    events = path_in("row-initial.jsonl");
    run(&r, (const char *[]){"record", "--request", req, "--input", silence, "--output", wav,
                             "--events", events, NULL});
    CHECK(r.status == 1);
    CHECK_STR(field(&r, "completionReason"), "initialSilenceTimeout");
    CHECK_STR(field(&r, "status"), "failed");
    rec = NULL;
    last = last_event(events, &lines, &rec);
    CHECK(fabs(number(last, "t") - number(rec, "t") - 3.0) < 1e-9);
    CHECK(wav_read(wav, NULL) == 3 * 16000);
    cJSON_Delete(rec);
    cJSON_Delete(last);
    done(&r);

    /* maxSilenceTimeout: N seconds after the last speech ended. */
    support_write_file(req, "{\"maxSilenceTimeoutInSeconds\": 2, \"maxRecordDurationInSeconds\": 60}");
    wav = path_in("row-silence.wav");
    events = path_in("row-silence.jsonl");
    run(&r, (const char *[]){"record", "--request", req, "--input", speech_44k, "--output", wav,
                             "--events", events, NULL});
    CHECK(r.status == 0);
    CHECK_STR(field(&r, "completionReason"), "maxSilenceTimeout");
    {
        static char buf[65536];
        support_slurp(events, buf, sizeof buf);
        double stopped = -1, completed = -1;
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
            cJSON *e = cJSON_Parse(line);
            const char *name = cJSON_GetObjectItem(e, "event")->valuestring;
            if (strcmp(name, "speechStopped") == 0)
                stopped = number(e, "t");
            if (strcmp(name, "completed") == 0)
                completed = number(e, "t");
            cJSON_Delete(e);
        }
        CHECK_MSG(fabs(completed - stopped - 2.0) < 0.0101, "stopped %.3f, completed %.3f",
                  stopped, completed);
    }
    done(&r);

    /* End of input is a hang-up: completionReason none, every sample kept (96 kHz input). */
    support_write_file(req, "{\"maxSilenceTimeoutInSeconds\": 10, \"maxRecordDurationInSeconds\": 60, "
                    "\"playBeep\": false}");
    wav = path_in("row-hangup.wav");
    run(&r, (const char *[]){"record", "--request", req, "--input", short_speech, "--output", wav, NULL});
    CHECK(r.status == 0);
    CHECK_STR(field(&r, "completionReason"), "none");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(r.data, "@callrec.callEnded")));
    int64_t in_frames = wav_read(short_speech, NULL);
    CHECK_MSG(llabs(wav_read(wav, NULL) - in_frames / 6) <= 2, "kept %lld of %lld",
              (long long)wav_read(wav, NULL), (long long)(in_frames / 6));
    done(&r);

    /* playPromptFailed: the calling API's own example body (an https prompt). */
    support_write_file(req, "{\"bargeInAllowed\": true, \"clientContext\": "
                    "\"d45324c1-fcb5-430a-902c-f20af696537c\", \"prompts\": [{\"@odata.type\": "
                    "\"#microsoft.graph.mediaPrompt\", \"mediaInfo\": {\"uri\": "
                    "\"https://cdn.contoso.com/beep.wav\", \"resourceId\": "
                    "\"1D6DE2D4-CD51-4309-8DAA-70768651088E\"}}], \"maxRecordDurationInSeconds\": "
                    "10, \"initialSilenceTimeoutInSeconds\": 5, \"maxSilenceTimeoutInSeconds\": 2, "
                    "\"playBeep\": true, \"stopTones\": [\"#\", \"1\", \"*\"]}");
    char *recs = path_in("recs-prompt");
    mkdir(recs, 0700);
    run(&r, (const char *[]){"record", "--request", req, "--input", speech_key,
                             "--recording-dir", recs, NULL});
    CHECK(r.status == 1);
    CHECK_STR(field(&r, "completionReason"), "playPromptFailed");
    CHECK_STR(field(&r, "clientContext"), "d45324c1-fcb5-430a-902c-f20af696537c");
    const cJSON *msg = cJSON_GetObjectItem(cJSON_GetObjectItem(r.data, "resultInfo"), "message");
    CHECK(strstr(r.err, "cannot fetch this URI itself") != NULL);
    CHECK_STR(cJSON_GetStringValue(msg), "Action failed, the prompt could not be played.");
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(r.data, "recordingLocation")));
    CHECK(wav_count(recs) == 0);
    done(&r);

    /* unspecifiedError: the disk refuses writes part-way; what was written stays valid. */
    support_write_file(req, "{\"maxRecordDurationInSeconds\": 8, \"maxSilenceTimeoutInSeconds\": 10}");
    wav = path_in("row-error.wav");
    run_full(&r, (const char *[]){"record", "--request", req, "--input", speech_44k, "--output",
                                  wav, NULL},
             NULL, 48 * 1024, 0);
    CHECK(r.status == 1);
    CHECK_STR(field(&r, "completionReason"), "unspecifiedError");
    frames = wav_read(wav, NULL);
    CHECK_MSG(frames > 16000 && frames < 24576, "kept %lld frames", (long long)frames);
    done(&r);

    /* operationCanceled: Ctrl-C while audio is still arriving on stdin (a pipe). */
    support_write_file(req, "{\"maxRecordDurationInSeconds\": 60, \"playBeep\": false}");
    char *fifo = path_in("audio.fifo");
    mkfifo(fifo, 0600);
    pid_t feeder = fork();
    if (feeder == 0) {
        /* Header and 1 s of audio, then hold the pipe open. */
        int fd = open(fifo, O_WRONLY);
        SF_INFO info = {.samplerate = 16000, .channels = 1,
                        .format = SF_FORMAT_AU | SF_FORMAT_PCM_16};
        SNDFILE *sf = sf_open_fd(fd, SFM_WRITE, &info, 0);
        short buf[16000] = {0};
        sf_write_short(sf, buf, 16000);
        sf_write_sync(sf);
        sleep(5);
        _exit(0);
    }
    wav = path_in("row-cancel.wav");
    run_full(&r, (const char *[]){"record", "--request", req, "--input", "-", "--output", wav, NULL},
             fifo, 0, 1500);
    kill(feeder, SIGKILL);
    waitpid(feeder, NULL, 0);
    CHECK_MSG(r.status == 1, "exit %d: %s", r.status, r.err);
    CHECK_STR(field(&r, "completionReason"), "operationCanceled");
    CHECK(wav_read(wav, NULL) == 16000);
    done(&r);

    /* kill -9 while the input is still streaming: the WAV is valid and holds what arrived, but
       for at most the last 100 ms batch. */
    feeder = fork();
    if (feeder == 0) {
        int fd = open(fifo, O_WRONLY);
        SF_INFO info = {.samplerate = 16000, .channels = 1,
                        .format = SF_FORMAT_AU | SF_FORMAT_PCM_16};
        SNDFILE *sf = sf_open_fd(fd, SFM_WRITE, &info, 0);
        short buf[16000];
        for (int i = 0; i < 16000; i++)
            buf[i] = (short)(1000 * ((i / 20) % 2 ? 1 : -1));
        sf_write_short(sf, buf, 16000);
        sf_write_sync(sf);
        sleep(5);
        _exit(0);
    }
    wav = path_in("row-kill9.wav");
    pid_t victim = fork();
    if (victim == 0) {
        int i = open(fifo, O_RDONLY);
        dup2(i, 0);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl(CALLREC_BIN, CALLREC_BIN, "record", "--request", req, "--input", "-", "--output",
              wav, (char *)NULL);
        _exit(127);
    }
    struct timespec wait = {1, 500000000};
    nanosleep(&wait, NULL);
    kill(victim, SIGKILL);
    waitpid(victim, NULL, 0);
    kill(feeder, SIGKILL);
    waitpid(feeder, NULL, 0);
    int64_t kept = wav_read(wav, NULL);
    CHECK_MSG(kept >= 16000 - 1600 && kept <= 16000, "kill -9: the WAV holds %lld of 16000 samples",
              (long long)kept);
}

/* The request's fields as options, without a request file or over one. */
static void test_request_options(void)
{
    double key_at = 0;
    char *speech_key = make_caller("opt-key.wav", 0.5, "vm-intro", '#', 3.0, 16000, 1, &key_at);
    char *wav = path_in("opt-stop.wav"), *events = path_in("opt-stop.jsonl");
    result r;
    /* No --request: the options make the whole request. */
    run(&r, (const char *[]){"record", "--input", speech_key, "--stop-tones", "*#", "--no-beep",
                             "--max-duration", "60", "--client-context", "opt \"ctx\"",
                             "--output", wav, "--events", events, NULL});
    CHECK_MSG(r.status == 0, "exit %d: %s", r.status, r.err);
    CHECK_STR(field(&r, "completionReason"), "stopToneDetected");
    CHECK_STR(field(&r, "clientContext"), "opt \"ctx\"");
    char text[65536];
    support_slurp(events, text, sizeof text);
    CHECK_MSG(strstr(text, "beepStarted") == NULL && strstr(text, "\"recordingStarted\"") &&
                  strstr(text, "\"recording\":"),
              "%s", text);
    char why[256] = "";
    CHECK_MSG(support_wav_strict(wav, NULL, why, sizeof why) == 0, "%s", why);
    done(&r);

    /* Over a request file: the options win; the file alone would stop at 2 s. */
    char *req = path_in("opt-req.json"), *prompt = path_in("opt-prompt.wav");
    support_write_file(req, "{\"maxRecordDurationInSeconds\": 2, \"stopTones\": [\"1\"]}");
    char *beep = make_caller("opt-prompt.wav", 0.0, "hello", 0, 0.0, 16000, 1, NULL);
    (void)beep;
    wav = path_in("opt-over.wav");
    events = path_in("opt-over.jsonl");
    /* --prompt is relative to the working folder: give it as the scratch folder's file name
       from there. */
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(dir) == 0);
    run(&r, (const char *[]){"record", "--request", req, "--input", speech_key, "--prompt",
                             "opt-prompt.wav", "--stop-tones", "#", "--max-duration", "30",
                             "--output", wav, "--events", events, NULL});
    CHECK(chdir(cwd) == 0);
    CHECK_MSG(r.status == 0, "exit %d: %s", r.status, r.err);
    CHECK_STR(field(&r, "completionReason"), "stopToneDetected");
    support_slurp(events, text, sizeof text);
    CHECK_MSG(strstr(text, "promptStarted") && strstr(text, "beepStarted"), "%s", text);
    done(&r);
    (void)prompt;

    /* The same rules as a request: each refusal names what was wrong, nothing is recorded. */
    const char *bad[][3] = {
        {"--initial-silence", "0", "--initial-silence: must be an integer from 1 to 300"},
        {"--max-silence", "2.5", "--max-silence: must be an integer from 1 to 300"},
        {"--stop-tones", "#x", "stopTones[1]: must be one DTMF key"},
        {"--output", "answer.mp3", "callrec writes 16 kHz WAV files; name it .wav"},
        {"--prompt", "https://example.com/p.wav", "callrec cannot fetch this URI itself"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *out = path_in("opt-bad.wav");
        run(&r, (const char *[]){"record", "--input", speech_key, bad[i][0], bad[i][1],
                                 "--recording-dir", dir, NULL});
        int refused = r.status == 2 || (r.status == 1 && strstr(bad[i][2], "fetch"));
        CHECK_MSG(refused && strstr(r.err, bad[i][2]), "%s %s: exit %d: %s", bad[i][0],
                  bad[i][1], r.status, r.err);
        CHECK(access(out, F_OK) != 0);
        done(&r);
    }
    /* Headerless input: the same samples as 16-bit little-endian PCM give the same operation
       and the same recording as the WAV. */
    sig_buf pcm;
    sig_init(&pcm, 16000);
    CHECK(sig_append_file(&pcm, speech_key, 0.0) == 0);
    char *raw = path_in("opt-key.s16");
    FILE *f = fopen(raw, "wb");
    CHECK(f && fwrite(pcm.x, 2, pcm.n, f) == pcm.n); /* this machine is little-endian */
    if (f)
        fclose(f);
    sig_free(&pcm);
    char *wav_a = path_in("opt-wav.wav"), *wav_b = path_in("opt-raw.wav");
    run(&r, (const char *[]){"record", "--input", speech_key, "--stop-tones", "#",
                             "--max-duration", "60", "--output", wav_a, NULL});
    CHECK_STR(field(&r, "completionReason"), "stopToneDetected");
    done(&r);
    run(&r, (const char *[]){"record", "--input", raw, "--input-format", "s16le",
                             "--input-rate", "16000", "--stop-tones", "#", "--max-duration", "60",
                             "--output", wav_b, NULL});
    CHECK_MSG(r.status == 0, "exit %d: %s", r.status, r.err);
    CHECK_STR(field(&r, "completionReason"), "stopToneDetected");
    done(&r);
    sig_buf a, b;
    int64_t na = wav_read(wav_a, &a), nb = wav_read(wav_b, &b);
    CHECK(na > 16000 && na == nb && memcmp(a.x, b.x, (size_t)na * 2) == 0);
    sig_free(&a);
    sig_free(&b);
    run(&r, (const char *[]){"record", "--input", raw, "--input-format", "mp3", "--input-rate",
                             "8000", NULL});
    CHECK(r.status == 2 && strstr(r.err, "--input-format: must be s16le, ulaw or alaw"));
    done(&r);
    run(&r, (const char *[]){"record", "--input", raw, "--input-format", "ulaw", NULL});
    CHECK(r.status == 2 && strstr(r.err, "--input-format needs --input-rate"));
    done(&r);

    /* A request that breaks a rule is refused before the options are applied. */
    support_write_file(req, "{\"stopTones\": [\"#\"], \"stopTones\": [\"*\"]}");
    run(&r, (const char *[]){"record", "--request", req, "--input", speech_key, "--stop-tones",
                             "#", NULL});
    CHECK_MSG(r.status == 2 && strstr(r.err, "\"stopTones\" appears more than once"),
              "exit %d: %s", r.status, r.err);
    done(&r);
}

int main(void)
{
    if (support_scratch_dir(dir, sizeof dir, "cli") != 0)
        return 1;
    test_usage();
    test_ntt_profile();
    test_bad_input();
    test_demo();
    test_semantics();
    test_request_options();
    support_remove_dir(dir);
    return harness_finish("test_cli");
}
