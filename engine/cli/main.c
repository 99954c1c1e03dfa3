/* callrec: the command-line program. A file driver (and later device drivers) wired to the
   public session API. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <sndfile.h>
#include <speex/speex_resampler.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "callrec.h"

#define EXIT_COMPLETED 0
#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define MAX_REQUEST_BYTES (1 << 20)
#define CHUNK_MS 20

static const char usage_text[] =
    "usage: callrec record --request REQ.json|- (--input FILE | --device NAME|INDEX)\n"
    "                      [--output FILE.wav] [--events FILE|-] [--realtime]\n"
    "                      [--recording-dir DIR]\n"
    "       callrec devices\n"
    "       callrec --help | --version\n";

static const char help_text[] =
    "\n"
    "Performs one record-response operation: plays the request's prompt and a beep, then\n"
    "records the caller until a stop tone, a silence timeout or the duration limit, and\n"
    "prints the completion notification (a commsNotifications JSON document) on stdout.\n"
    "\n"
    "  --request FILE|-      the request body (JSON), from a file or stdin; relative prompt\n"
    "                        paths are resolved against the request file's folder\n"
    "  --input FILE          caller audio: any file libsndfile reads, any rate and channel\n"
    "                        count (channels are mixed down); its end is a hang-up\n"
    "  --device NAME|INDEX   caller audio from a sound card (see `callrec devices`)\n"
    "  --output FILE.wav     where to write the recording (must not exist); default\n"
    "                        <recording dir>/<operation id>.wav\n"
    "  --recording-dir DIR   folder for recordings (default: the working directory)\n"
    "  --events FILE|-       write events as JSON Lines: {\"t\": seconds, \"event\": ...};\n"
    "                        with -, events go to stdout before the notification line\n"
    "  --realtime            pace a file at real time through the live path\n"
    "\n"
    "Exit status: 0 the operation completed, 1 it failed (status \"failed\"), 2 bad request,\n"
    "bad input or usage (message on stderr, nothing recorded). Ctrl-C cancels the operation:\n"
    "the notification says operationCanceled and the audio so far is kept.\n";

typedef struct options {
    const char *request, *input, *device, *output, *events, *recording_dir;
    int realtime;
} options;

typedef struct run {
    FILE *events;
    int completed, failed;
    char *notification;
} run;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "callrec: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage_text);
    return EXIT_USAGE;
}

static const char *event_name(callrec_event_type t)
{
    switch (t) {
    case CALLREC_EVENT_PROMPT_STARTED: return "promptStarted";
    case CALLREC_EVENT_PROMPT_ENDED: return "promptEnded";
    case CALLREC_EVENT_BEEP_STARTED: return "beepStarted";
    case CALLREC_EVENT_BEEP_ENDED: return "beepEnded";
    case CALLREC_EVENT_RECORDING_STARTED: return "recordingStarted";
    case CALLREC_EVENT_SPEECH_STARTED: return "speechStarted";
    case CALLREC_EVENT_SPEECH_STOPPED: return "speechStopped";
    case CALLREC_EVENT_TONE_DETECTED: return "toneDetected";
    case CALLREC_EVENT_COMPLETED: return "completed";
    }
    return "unknown";
}

static double seconds(int64_t samples) { return (double)samples / CALLREC_INTERNAL_RATE_HZ; }

static void on_event(void *user, const callrec_event *e)
{
    run *r = user;
    if (e->type == CALLREC_EVENT_COMPLETED) {
        r->completed = 1;
        r->failed = strcmp(e->status, "failed") == 0;
        free(r->notification);
        r->notification = e->notification_json ? strdup(e->notification_json) : NULL;
    }
    if (!r->events)
        return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "t", seconds(e->t_samples));
    cJSON_AddStringToObject(o, "event", event_name(e->type));
    cJSON_AddStringToObject(o, "operationId", e->operation_id);
    switch (e->type) {
    case CALLREC_EVENT_TONE_DETECTED: {
        char tone[2] = {e->tone, '\0'};
        cJSON_AddStringToObject(o, "tone", tone);
        cJSON_AddBoolToObject(o, "stopTone", e->is_stop_tone);
        cJSON_AddNumberToObject(o, "detectedAt", seconds(e->detected_samples));
        break;
    }
    case CALLREC_EVENT_SPEECH_STARTED:
    case CALLREC_EVENT_SPEECH_STOPPED:
        cJSON_AddNumberToObject(o, "detectedAt", seconds(e->detected_samples));
        break;
    case CALLREC_EVENT_COMPLETED:
        cJSON_AddStringToObject(o, "completionReason", e->completion_reason);
        cJSON_AddStringToObject(o, "status", e->status);
        if (e->recording_path)
            cJSON_AddStringToObject(o, "recording", e->recording_path);
        break;
    default:
        break;
    }
    char *line = cJSON_PrintUnformatted(o);
    if (line) {
        fprintf(r->events, "%s\n", line);
        fflush(r->events);
    }
    free(line);
    cJSON_Delete(o);
}

static char *read_request(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "callrec: request %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(MAX_REQUEST_BYTES + 1);
    size_t n = buf ? fread(buf, 1, MAX_REQUEST_BYTES + 1, f) : 0;
    int bad = !buf || ferror(f);
    if (f != stdin)
        fclose(f);
    if (bad) {
        fprintf(stderr, "callrec: request %s: could not be read\n", path);
        free(buf);
        return NULL;
    }
    if (n > MAX_REQUEST_BYTES) {
        fprintf(stderr, "callrec: request %s: larger than %d bytes\n", path, MAX_REQUEST_BYTES);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (strcmp(a, "--request") == 0)
            slot = &o->request;
        else if (strcmp(a, "--input") == 0)
            slot = &o->input;
        else if (strcmp(a, "--device") == 0)
            slot = &o->device;
        else if (strcmp(a, "--output") == 0)
            slot = &o->output;
        else if (strcmp(a, "--events") == 0)
            slot = &o->events;
        else if (strcmp(a, "--recording-dir") == 0)
            slot = &o->recording_dir;
        else if (strcmp(a, "--realtime") == 0) {
            o->realtime = 1;
            continue;
        } else
            return usage_error("unknown option %s", a);
        if (i + 1 >= argc || argv[i + 1][0] == '\0')
            return usage_error("%s needs a value", a);
        if (*slot)
            return usage_error("%s given twice", a);
        *slot = argv[++i];
    }
    if (!o->request)
        return usage_error("%s", "record needs --request");
    if (!o->input == !o->device)
        return usage_error("%s", "record needs exactly one of --input and --device");
    if (o->device)
        return usage_error("%s", "--device: live capture is not available in this build yet");
    if (o->realtime)
        return usage_error("%s", "--realtime: real-time pacing is not available in this build yet");
    return 0;
}

/* Reads an input file and feeds the session until the operation completes or the file ends
   (a hang-up). Returns 0, or EXIT_USAGE for an unreadable input. */
static int drive_file(callrec_session *s, SNDFILE *sf, const SF_INFO *info,
                      SpeexResamplerState *rs, run *r)
{
    size_t chunk = (size_t)info->samplerate * CHUNK_MS / 1000;
    size_t conv_cap = CALLREC_INTERNAL_RATE_HZ * CHUNK_MS / 1000 * 2 + 64;
    short *in = malloc(sizeof *in * chunk * (size_t)info->channels);
    int16_t *mono = malloc(sizeof *mono * chunk);
    int16_t *conv = malloc(sizeof *conv * conv_cap);
    int rc = 0;
    if (!in || !mono || !conv) {
        fprintf(stderr, "callrec: out of memory\n");
        rc = EXIT_USAGE;
        goto done;
    }
    while (!r->completed && !interrupted) {
        sf_count_t got = sf_readf_short(sf, in, (sf_count_t)chunk);
        if (got <= 0)
            break;
        for (sf_count_t i = 0; i < got; i++) {
            int sum = 0;
            for (int c = 0; c < info->channels; c++)
                sum += in[i * info->channels + c];
            mono[i] = (int16_t)(sum / info->channels);
        }
        if (rs) {
            spx_uint32_t in_len = (spx_uint32_t)got, out_len = (spx_uint32_t)conv_cap;
            speex_resampler_process_int(rs, 0, mono, &in_len, conv, &out_len);
            callrec_session_process(s, conv, NULL, out_len);
        } else {
            callrec_session_process(s, mono, NULL, (size_t)got);
        }
    }
    if (interrupted)
        callrec_session_cancel(s);
    else if (!r->completed)
        callrec_session_hangup(s);
done:
    free(in);
    free(mono);
    free(conv);
    return rc;
}

static char *request_dir(const char *request)
{
    if (strcmp(request, "-") == 0)
        return NULL;
    char *copy = strdup(request);
    if (!copy)
        return NULL;
    char *slash = strrchr(copy, '/');
    if (!slash) {
        free(copy);
        return NULL;
    }
    if (slash == copy)
        slash[1] = '\0';
    else
        *slash = '\0';
    return copy;
}

static int cmd_record(int argc, char **argv)
{
    options opt;
    int rc = parse_args(argc, argv, &opt);
    if (rc)
        return rc;

    size_t req_len = 0;
    char *req = read_request(opt.request, &req_len);
    if (!req)
        return EXIT_USAGE;

    SF_INFO info = {0};
    SNDFILE *sf = strcmp(opt.input, "-") == 0 ? sf_open_fd(STDIN_FILENO, SFM_READ, &info, 0)
                                              : sf_open(opt.input, SFM_READ, &info);
    callrec_session *s = NULL;
    SpeexResamplerState *rs = NULL;
    char *base = request_dir(opt.request);
    run r = {0};
    rc = EXIT_USAGE;
    if (!sf) {
        fprintf(stderr, "callrec: input %s: %s\n", opt.input, sf_strerror(NULL));
        goto done;
    }
    if (info.channels < 1 || info.channels > 64 || info.samplerate < 1000 ||
        info.samplerate > 384000) {
        fprintf(stderr, "callrec: input %s: unsupported audio: %d Hz, %d channels\n", opt.input,
                info.samplerate, info.channels);
        goto done;
    }
    struct stat st;
    if (opt.recording_dir && (stat(opt.recording_dir, &st) || !S_ISDIR(st.st_mode))) {
        fprintf(stderr, "callrec: recording dir %s: not a folder\n", opt.recording_dir);
        goto done;
    }

    callrec_session_config cfg;
    callrec_session_config_default(&cfg);
    int direct = info.samplerate >= 8000 && info.samplerate <= 48000;
    cfg.sample_rate_hz = direct ? info.samplerate : CALLREC_INTERNAL_RATE_HZ;
    if (opt.recording_dir)
        cfg.recording_dir = opt.recording_dir;
    cfg.prompt_base_dir = base;
    cfg.on_event = on_event;
    cfg.event_user = &r;
    if (!direct) {
        int err = 0;
        rs = speex_resampler_init(1, (spx_uint32_t)info.samplerate, CALLREC_INTERNAL_RATE_HZ, 5,
                                  &err);
        if (!rs) {
            fprintf(stderr, "callrec: input %s: cannot convert from %d Hz\n", opt.input,
                    info.samplerate);
            goto done;
        }
    }
    callrec_status cs = callrec_session_create(&cfg, &s);
    if (cs) {
        fprintf(stderr, "callrec: %s\n", callrec_strerror(cs));
        goto done;
    }

    if (opt.events) {
        r.events = strcmp(opt.events, "-") == 0 ? stdout : fopen(opt.events, "w");
        if (!r.events) {
            fprintf(stderr, "callrec: events %s: %s\n", opt.events, strerror(errno));
            goto done;
        }
    }

    char err[1024] = "";
    cs = callrec_session_record(s, req, req_len, opt.output, NULL, err, sizeof err);
    if (cs) {
        fprintf(stderr, "callrec: %s\n", err[0] ? err : callrec_strerror(cs));
        goto done;
    }

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    rc = drive_file(s, sf, &info, rs, &r);
    if (rc)
        goto done;
    if (!r.completed || !r.notification) {
        fprintf(stderr, "callrec: the operation ended without a notification\n");
        rc = EXIT_FAILED;
        goto done;
    }
    printf("%s\n", r.notification);
    fflush(stdout);
    rc = r.failed ? EXIT_FAILED : EXIT_COMPLETED;
done:
    callrec_session_destroy(s);
    if (r.events && r.events != stdout)
        fclose(r.events);
    if (rs)
        speex_resampler_destroy(rs);
    if (sf)
        sf_close(sf);
    free(r.notification);
    free(base);
    free(req);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("%s", "no command given");
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        printf("%s%s", usage_text, help_text);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("callrec %s\n", callrec_version());
        return 0;
    }
    if (strcmp(cmd, "record") == 0) {
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--help") == 0) {
                printf("%s%s", usage_text, help_text);
                return 0;
            }
        }
        return cmd_record(argc, argv);
    }
    if (strcmp(cmd, "devices") == 0) {
        fprintf(stderr, "callrec: devices: live capture is not available in this build yet\n");
        return EXIT_USAGE;
    }
    return usage_error("unknown command %s", cmd);
}
