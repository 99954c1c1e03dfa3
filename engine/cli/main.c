/* callrec: the command-line program. `record` drives one operation from a file (as fast as it
   decodes), a file paced at real time or a sound card; `devices` lists sound cards; `serve` is
   engine/serve. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "callrec.h"
#include "modules.h"
#include "serve.h" /* the program's server, engine/serve: a module, opened when used */
#ifdef CALLREC_HAVE_CAIRO
#include "timeline.h"
#endif

/* What the modules provide (modules.h), found when a command first needs them. */
typedef int (*main_fn)(int argc, char **argv);
typedef char *(*notification_fn)(const char *json, const char *recording_dir,
                                  const char *base_url, const char *op_id, cJSON **resource_out);
static notification_fn serve_notification;
#ifdef CALLREC_HAVE_CAIRO
typedef int (*render_fn)(const tl_input *in, const char *path, char *err, size_t err_len);
typedef int (*timers_fn)(const char *json, size_t len, tl_input *in);
static render_fn timeline_render;
static timers_fn timeline_timers;
#endif

/* A module's function, or NULL with a message on stderr. */
static void *module_symbol(const char *name, const char *symbol, const char *what)
{
    char err[PATH_MAX + 512];
    void *fn = cr_module_symbol(name, symbol, err, sizeof err);
    if (!fn)
        fprintf(stderr, "callrec: %s needs the module %s\n", what, err);
    return fn;
}

#define EXIT_COMPLETED 0
#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_OUTPUT 3 /* the operation ran, but its notification could not be written */
#define MAX_REQUEST_BYTES (1 << 20)
#define CHUNK_MS 20
#define FILE_BLOCK_FRAMES 65536 /* about 4 s at 16 kHz: 128 KiB a read */
#define SINK_MAX_LINES 4096   /* events waiting for a slow reader; more are dropped, counted */
#define GIVE_UP_MS 1000       /* after Ctrl-C, how long stdout may stay unread */

static const char usage_text[] =
    "usage: callrec record [--request REQ.json|-] (--input FILE | --device NAME|INDEX)\n"
    "                      [--prompt FILE] [--no-beep] [--stop-tones KEYS] [--barge-in]\n"
    "                      [--initial-silence S] [--max-silence S] [--max-duration S]\n"
    "                      [--client-context TEXT] [--output FILE.wav] [--events FILE|-]\n"
    "                      [--realtime] [--recording-dir DIR] [--recording-url URL] [-q]\n"
    "                      [--timeline FILE.png|.svg|.pdf]\n"
    "       callrec timeline EVENTS.jsonl [REC.wav] -o FILE [--request REQ.json]\n"
    "       callrec devices\n"
    "       callrec serve --api-token-file FILE --recording-dir DIR --media-dir DIR ...\n"
    "                     (callrec serve --help)\n"
    "       callrec --help | --version\n";

static const char help_text[] =
    "\n"
    "Performs one record-response operation: plays the request's prompt and a beep, then\n"
    "records the caller until a stop tone, a silence timeout or the duration limit, and\n"
    "prints the completion notification (a commsNotifications JSON document) on stdout.\n"
    "\n"
    "  --request FILE|-      the request body (JSON), from a file or stdin; relative prompt\n"
    "                        paths are resolved against the request file's folder. Without\n"
    "                        it the request is {} (the API's defaults) and the options below\n"
    "  --prompt FILE         the prompt to play (mediaInfo.uri), relative to the working folder\n"
    "  --no-beep             no beep after the prompt (playBeep: false)\n"
    "  --stop-tones KEYS     keys that end the recording, e.g. '#*' (stopTones)\n"
    "  --barge-in            end whatever else runs first (bargeInAllowed: true)\n"
    "  --initial-silence S   seconds of silence before speech that end it (1-300, default 5)\n"
    "  --max-silence S       seconds of silence after speech that end it (1-300, default 5)\n"
    "  --max-duration S      the longest recording, seconds (1-300, default 5)\n"
    "  --client-context TEXT echoed in the notification (clientContext)\n"
    "  --timeline FILE       draw the operation (.png, .svg or .pdf): waveform, spectrum,\n"
    "                        phases, speech, keys, timers, the cut; after the fact:\n"
    "                        callrec timeline EVENTS.jsonl [REC.wav] -o FILE\n"
    "                        Each of these overrides the same field of --request; the result\n"
    "                        is checked by the request's rules.\n"
    "  --input FILE          caller audio: any file libsndfile reads, any rate and channel\n"
    "                        count (channels are mixed down); its end is a hang-up\n"
    "  --input-format s16le|ulaw|alaw  --input is headerless audio in that encoding (such as\n"
    "                        a telephony stream on stdin), with --input-rate N (Hz) and\n"
    "                        --input-channels N (default 1)\n"
    "  --device NAME|INDEX   caller audio from a sound card (see `callrec devices`)\n"
    "  --output FILE.wav     where to write the recording (must not exist); default\n"
    "                        <recording dir>/<operation id>.wav\n"
    "  --recording-dir DIR   folder for recordings (default: the working directory)\n"
    "  --recording-url URL   hand out recordingLocation as URL/recordings/<operation id>, the\n"
    "                        way `callrec serve --recording-dir DIR --public-url URL` serves it\n"
    "                        (the token's SHA-256 is kept beside the WAV)\n"
    "  --events FILE|-       write events as JSON Lines: {\"t\": seconds, \"event\": ...}, to\n"
    "                        a new file (never an existing one); with -, to stdout before\n"
    "                        the notification line. A reader that falls behind loses events\n"
    "                        (counted on stderr), never the recording\n"
    "  --realtime            pace a file at real time through the live path (the same rings\n"
    "                        and worker thread as a sound card)\n"
    "  --media-timeout-ms N  live: fail with mediaReceiveTimeout after N ms without audio\n"
    "                        (default 3000)\n"
    "  --buffer-frames N     live: frames per audio callback (default: the host's choice)\n"
    "  --playout-guard-ms N  live: after the prompt and beep, ignore the input for N ms as\n"
    "                        their echo (default 300 on a device; 0 with a headset)\n"
    "  --dtmf-profile att|ntt  stop-tone acceptance: ITU-T Q.24's AT&T (default) or NTT\n"
    "                        criteria\n"
    "\n"
    "Exit status: 0 the operation completed, 1 it failed (status \"failed\"), 2 bad request,\n"
    "bad input or usage (message on stderr, nothing recorded), 3 the notification could not\n"
    "be written to stdout. Ctrl-C or SIGTERM cancels the operation: the notification says\n"
    "operationCanceled and the audio so far is kept.\n"
    "On a terminal, live runs show a one-line meter on stderr, and every run ends with a\n"
    "one-line summary there (reason, length, file); -q silences both.\n"
    "\n"
    "`callrec devices` lists sound devices: index, name, host API, channels, default rate.\n";

typedef struct options {
    const char *request, *input, *device, *output, *events, *recording_dir, *recording_url;
    const char *media_timeout_ms, *buffer_frames, *playout_guard_ms, *dtmf_profile;
    /* request fields from the command line */
    const char *prompt, *stop_tones, *initial_silence, *max_silence, *max_duration,
        *client_context;
    const char *input_format, *input_rate, *input_channels; /* headerless input */
    const char *timeline; /* a picture of the operation */
    int no_beep, barge_in, realtime, quiet;
} options;

/* ---- output that never holds up the recording -------------------------------------------

   Events and the notification are written by a thread of their own per destination, from a
   bounded queue: a reader that stops reading (a full pipe, a stopped terminal) stalls only
   that thread. Events beyond the bound are dropped and counted; the notification never is. */

typedef struct line {
    struct line *next;
    size_t len;
    char text[];
} line;

typedef struct sink {
    int fd;
    pthread_t thread;
    int started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    line *head, *tail;
    int queued, closing, finished;
    unsigned long dropped, lost; /* dropped: queue full; lost: unwritten after an error */
    int error;                   /* errno of the first failed write */
} sink;

static void *sink_main(void *arg)
{
    sink *k = arg;
    pthread_mutex_lock(&k->lock);
    for (;;) {
        while (!k->head && !k->closing)
            pthread_cond_wait(&k->cond, &k->lock);
        line *l = k->head;
        if (!l)
            break;
        k->head = l->next;
        if (!k->head)
            k->tail = NULL;
        k->queued--;
        int failed = k->error != 0;
        pthread_mutex_unlock(&k->lock);
        int e = 0;
        for (size_t done = 0; !failed && done < l->len;) {
            ssize_t n = write(k->fd, l->text + done, l->len - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                e = n < 0 ? errno : EIO;
                break;
            }
            done += (size_t)n;
        }
        free(l);
        pthread_mutex_lock(&k->lock);
        if (failed || e)
            k->lost++;
        if (e && !k->error)
            k->error = e;
    }
    k->finished = 1;
    pthread_cond_broadcast(&k->cond);
    pthread_mutex_unlock(&k->lock);
    return NULL;
}

static int sink_start(sink *k, int fd)
{
    memset(k, 0, sizeof *k);
    k->fd = fd;
    pthread_mutex_init(&k->lock, NULL);
    pthread_cond_init(&k->cond, NULL);
    if (pthread_create(&k->thread, NULL, sink_main, k))
        return -1;
    k->started = 1;
    return 0;
}

/* Queues text and a newline. A droppable line is dropped (and counted) when the queue is
   full. */
static void sink_put(sink *k, const char *text, int droppable)
{
    size_t n = text ? strlen(text) : 0;
    line *l = text ? malloc(sizeof *l + n + 1) : NULL; /* no text: out of memory upstream */
    pthread_mutex_lock(&k->lock);
    if (!l || (droppable && k->queued >= SINK_MAX_LINES)) {
        k->dropped++;
        pthread_mutex_unlock(&k->lock);
        free(l);
        return;
    }
    memcpy(l->text, text, n);
    l->text[n] = '\n';
    l->len = n + 1;
    l->next = NULL;
    if (k->tail)
        k->tail->next = l;
    else
        k->head = l;
    k->tail = l;
    k->queued++;
    pthread_cond_signal(&k->cond);
    pthread_mutex_unlock(&k->lock);
}

static volatile sig_atomic_t interrupted;

/* Waits until everything queued is written: for as long as it takes, or, once the run has
   been interrupted, GIVE_UP_MS more. Returns 0 when all was written, -1 if it was not (the
   thread is then left blocked in its write; the process is about to exit). */
static int sink_finish(sink *k)
{
    if (!k->started)
        return 0;
    pthread_mutex_lock(&k->lock);
    k->closing = 1;
    pthread_cond_signal(&k->cond);
    int waited_ms = 0;
    while (!k->finished && waited_ms < GIVE_UP_MS) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 50 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_nsec -= 1000000000L;
            until.tv_sec++;
        }
        pthread_cond_timedwait(&k->cond, &k->lock, &until);
        if (interrupted)
            waited_ms += 50;
    }
    int finished = k->finished;
    line *abandoned = finished ? NULL : k->head;
    if (!finished)
        k->head = k->tail = NULL; /* the writer is stuck: what it has not taken is dropped */
    pthread_mutex_unlock(&k->lock);
    while (abandoned) {
        line *next = abandoned->next;
        free(abandoned);
        abandoned = next;
    }
    if (!finished)
        return -1;
    pthread_join(k->thread, NULL);
    k->started = 0;
    return k->error ? -1 : 0;
}

/* Written by the event callback (on the live worker thread for live runs), read by the main
   thread's meter: atomics. The notification is read only after the run has finished. */
typedef struct run {
    sink *events;               /* NULL: no --events */
    int completed, failed;
    char *notification;
    char *detail;               /* what went wrong, for stderr */
    char operation_id[CALLREC_ID_LEN];
    _Atomic unsigned long long overruns; /* live: input samples lost so far */
    _Atomic int phase;          /* last phase event */
    _Atomic int speaking;
    _Atomic int tone;           /* last key heard */
    _Atomic long long rec_start; /* samples since the operation started, -1 before */
    _Atomic long long rec_limit; /* the recording's longest length, in samples */
    /* for the summary */
    char reason[40];
    char *recording;            /* the WAV kept, or NULL */
    int64_t recorded;           /* its length, 16 kHz samples */
    int spoke_in_prompt;        /* the caller spoke while the prompt played */
#ifdef CALLREC_HAVE_CAIRO
    tl_event *timeline;         /* every event, for --timeline (the worker adds, main reads
                                   after the driver has stopped) */
    int n_timeline, cap_timeline;
    float *level_db;            /* --timeline: the input's level per 10 ms, from a file */
    size_t n_levels, cap_levels;
    double level_frame_s;
    double level_sum;           /* the frame being summed ... */
    size_t level_fill;          /* ... and its samples so far */
#endif
} run;


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
    case CALLREC_EVENT_XRUN: return "xrun";
    }
    return "unknown";
}

static double seconds(int64_t samples) { return (double)samples / CALLREC_INTERNAL_RATE_HZ; }

static void on_event(void *user, const callrec_event *e)
{
    run *r = user;
    if (e->type != CALLREC_EVENT_XRUN) {
        if (e->type == CALLREC_EVENT_SPEECH_STARTED || e->type == CALLREC_EVENT_SPEECH_STOPPED)
            atomic_store(&r->speaking, e->type == CALLREC_EVENT_SPEECH_STARTED);
        else if (e->type == CALLREC_EVENT_TONE_DETECTED)
            atomic_store(&r->tone, e->tone);
        else
            atomic_store(&r->phase, (int)e->type);
        if (e->type == CALLREC_EVENT_RECORDING_STARTED) {
            atomic_store(&r->rec_limit, (long long)e->recording_samples);
            atomic_store(&r->rec_start, (long long)e->t_samples);
        }
    }
    if (e->type == CALLREC_EVENT_XRUN)
        atomic_store(&r->overruns, (unsigned long long)e->overruns);
    if (e->type == CALLREC_EVENT_COMPLETED) {
        r->completed = 1;
        r->failed = e->status == CALLREC_OPERATION_FAILED;
        free(r->notification);
        r->notification = e->notification_json ? strdup(e->notification_json) : NULL;
        free(r->detail);
        r->detail = e->detail ? strdup(e->detail) : NULL;
        snprintf(r->operation_id, sizeof r->operation_id, "%s", e->operation_id);
        snprintf(r->reason, sizeof r->reason, "%s",
                 callrec_completion_reason_name(e->completion_reason));
        free(r->recording);
        r->recording = e->recording_path ? strdup(e->recording_path) : NULL;
        r->recorded = e->recording_samples;
    }
#ifdef CALLREC_HAVE_CAIRO
    if (e->type != CALLREC_EVENT_XRUN && r->cap_timeline >= 0) {
        if (r->n_timeline == r->cap_timeline) {
            int cap = r->cap_timeline ? 2 * r->cap_timeline : 64;
            tl_event *more = realloc(r->timeline, (size_t)cap * sizeof *more);
            if (more) {
                r->timeline = more;
                r->cap_timeline = cap;
            }
        }
        if (r->n_timeline < r->cap_timeline)
            r->timeline[r->n_timeline++] = (tl_event){(tl_kind)e->type, seconds(e->t_samples),
                                                       seconds(e->detected_samples), e->tone,
                                                       e->is_stop_tone};
    }
#endif
    if (e->type == CALLREC_EVENT_SPEECH_STARTED &&
        (atomic_load(&r->phase) == CALLREC_EVENT_PROMPT_STARTED ||
         atomic_load(&r->phase) == CALLREC_EVENT_BEEP_STARTED))
        r->spoke_in_prompt = 1;
    if (!r->events)
        return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "t", seconds(e->t_samples));
    cJSON_AddStringToObject(o, "event", event_name(e->type));
    if (e->operation_id && e->operation_id[0])
        cJSON_AddStringToObject(o, "operationId", e->operation_id);
    if (e->processing_latency_ms > 0)
        cJSON_AddNumberToObject(o, "processingLatencyMs", e->processing_latency_ms);
    switch (e->type) {
    case CALLREC_EVENT_RECORDING_STARTED:
        cJSON_AddNumberToObject(o, "maxDuration", seconds(e->recording_samples));
        break;
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
        cJSON_AddStringToObject(o, "completionReason",
                                callrec_completion_reason_name(e->completion_reason));
        cJSON_AddStringToObject(o, "status", callrec_operation_status_name(e->status));
        if (e->recording_path)
            cJSON_AddStringToObject(o, "recording", e->recording_path);
        pthread_mutex_lock(&r->events->lock);
        unsigned long dropped = r->events->dropped;
        pthread_mutex_unlock(&r->events->lock);
        if (dropped)
            cJSON_AddNumberToObject(o, "droppedEvents", (double)dropped);
        break;
    case CALLREC_EVENT_XRUN:
        cJSON_AddNumberToObject(o, "overruns", (double)e->overruns);
        cJSON_AddNumberToObject(o, "underruns", (double)e->underruns);
        break;
    default:
        break;
    }
    char *text = cJSON_PrintUnformatted(o);
    sink_put(r->events, text, e->type != CALLREC_EVENT_COMPLETED);
    free(text);
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

/* An output name whose extension says another audio format than the WAV callrec writes. */
static int wrong_extension(const char *path)
{
    static const char *const other[] = {".mp3", ".flac", ".ogg", ".oga", ".opus", ".aif", ".aiff",
                                        ".au", ".m4a", ".aac", ".caf", ".w64", ".raw", ".wma"};
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && slash > dot))
        return 0;
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        if (strcasecmp(dot, other[i]) == 0)
            return 1;
    return 0;
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
        else if (strcmp(a, "--recording-url") == 0)
            slot = &o->recording_url;
        else if (strcmp(a, "--media-timeout-ms") == 0)
            slot = &o->media_timeout_ms;
        else if (strcmp(a, "--buffer-frames") == 0)
            slot = &o->buffer_frames;
        else if (strcmp(a, "--playout-guard-ms") == 0)
            slot = &o->playout_guard_ms;
        else if (strcmp(a, "--dtmf-profile") == 0)
            slot = &o->dtmf_profile;
        else if (strcmp(a, "--prompt") == 0)
            slot = &o->prompt;
        else if (strcmp(a, "--timeline") == 0)
            slot = &o->timeline;
        else if (strcmp(a, "--input-format") == 0)
            slot = &o->input_format;
        else if (strcmp(a, "--input-rate") == 0)
            slot = &o->input_rate;
        else if (strcmp(a, "--input-channels") == 0)
            slot = &o->input_channels;
        else if (strcmp(a, "--stop-tones") == 0)
            slot = &o->stop_tones;
        else if (strcmp(a, "--initial-silence") == 0)
            slot = &o->initial_silence;
        else if (strcmp(a, "--max-silence") == 0)
            slot = &o->max_silence;
        else if (strcmp(a, "--max-duration") == 0)
            slot = &o->max_duration;
        else if (strcmp(a, "--client-context") == 0)
            slot = &o->client_context;
        else if (strcmp(a, "--realtime") == 0 || strcmp(a, "--no-beep") == 0 ||
                 strcmp(a, "--barge-in") == 0 || strcmp(a, "-q") == 0 ||
                 strcmp(a, "--quiet") == 0) {
            int *flag = a[2] == 'r' ? &o->realtime : a[2] == 'n' ? &o->no_beep
                        : a[2] == 'b'                ? &o->barge_in
                                                     : &o->quiet;
            if (*flag)
                return usage_error("%s given twice", a);
            *flag = 1;
            continue;
        } else
            return usage_error("unknown option %s", a);
        if (i + 1 >= argc || argv[i + 1][0] == '\0')
            return usage_error("%s needs a value", a);
        if (*slot)
            return usage_error("%s given twice", a);
        *slot = argv[++i];
    }
#ifdef CALLREC_HAVE_CAIRO
    if (o->timeline && !tl_supported(o->timeline))
        return usage_error("--timeline %s: must end in .png, .svg or .pdf", o->timeline);
    if (o->timeline && (!(timeline_render = (render_fn)module_symbol(
                            "callrec-timeline", "tl_render", "--timeline")) ||
                        !(timeline_timers = (timers_fn)module_symbol(
                            "callrec-timeline", "tl_request_timers", "--timeline"))))
        return EXIT_FAILED;
#else
    if (o->timeline)
        return usage_error("--timeline %s: this callrec was built without cairo", o->timeline);
#endif
    if (o->output && wrong_extension(o->output))
        return usage_error("--output %s: callrec writes 16 kHz WAV files; name it .wav (and "
                           "convert it afterwards, e.g. with sox)", o->output);
    if (!o->input == !o->device)
        return usage_error("%s", "record needs exactly one of --input and --device");
    if (o->recording_url && o->output)
        return usage_error("%s", "--recording-url hands out <recording dir>/<operation id>.wav: "
                                 "it cannot go with --output");
    if (o->recording_url && strncmp(o->recording_url, "http://", 7) != 0 &&
        strncmp(o->recording_url, "https://", 8) != 0)
        return usage_error("--recording-url: must be an http or https URL, got %s",
                           o->recording_url);
    if (o->recording_url &&
        !(serve_notification = (notification_fn)module_symbol(
              "callrec-serve", "callrec_serve_notification", "--recording-url")))
        return EXIT_FAILED;
    if (o->realtime && !o->input)
        return usage_error("%s", "--realtime paces an --input file");
    if ((o->input_rate || o->input_channels) && !o->input_format)
        return usage_error("%s", "--input-rate and --input-channels describe headerless input: "
                                 "give --input-format too");
    if (o->input_format && (!o->input || o->realtime))
        return usage_error("%s", "--input-format applies to an --input read as it comes (not "
                                 "with --device or --realtime)");
    if (o->input_format && !o->input_rate)
        return usage_error("%s", "--input-format needs --input-rate");
    if (o->input_format && strcmp(o->input_format, "s16le") && strcmp(o->input_format, "ulaw") &&
        strcmp(o->input_format, "alaw"))
        return usage_error("--input-format: must be s16le, ulaw or alaw, got %s", o->input_format);
    if (o->input && strcmp(o->input, "-") == 0 && o->realtime)
        return usage_error("%s", "--realtime needs a file, not stdin");
    if (o->input && strcmp(o->input, "-") == 0 && o->request && strcmp(o->request, "-") == 0)
        return usage_error("%s", "--request and --input cannot both read stdin");
    if (!o->device && !o->realtime) {
        /* a file read as fast as it decodes has no audio callbacks, media timeout or echo */
        const char *live_only = o->media_timeout_ms   ? "--media-timeout-ms"
                                : o->buffer_frames    ? "--buffer-frames"
                                : o->playout_guard_ms ? "--playout-guard-ms"
                                                      : NULL;
        if (live_only)
            return usage_error("%s applies to a live run: --device, or --input with --realtime",
                               live_only);
    }
    return 0;
}

/* Feeds the session from the input until the operation completes or the input ends (a
   hang-up). */
#ifdef CALLREC_HAVE_CAIRO
/* The input's level, dBFS per 10 ms, for the timeline (whole frames; the rest waits). */
static void keep_levels(run *r, const int16_t *x, size_t n, int rate)
{
    size_t frame = (size_t)rate / 100;
    r->level_frame_s = (double)frame / rate;
    for (size_t i = 0; i < n; i++) {
        r->level_sum += (double)x[i] * x[i];
        if (++r->level_fill < frame)
            continue;
        if (r->n_levels == r->cap_levels) {
            float *more = realloc(r->level_db, 2 * r->cap_levels * sizeof *more);
            if (!more)
                return;
            r->level_db = more;
            r->cap_levels *= 2;
        }
        r->level_db[r->n_levels++] =
            (float)(10.0 * log10(r->level_sum / (double)frame / (32768.0 * 32768.0) + 1e-12));
        r->level_sum = 0;
        r->level_fill = 0;
    }
}
#endif

static void drive_file(callrec_session *s, callrec_source *src, const char *name, run *r)
{
    /* A file is read in large blocks (few system calls, the session takes any length); a
       stream in 20 ms chunks, so that what arrives is heard at once. */
    static int16_t buf[FILE_BLOCK_FRAMES];
    callrec_source_info info;
    callrec_source_get_info(src, &info);
    size_t chunk = info.input_frames >= 0 ? FILE_BLOCK_FRAMES
                                          : (size_t)info.rate_hz * CHUNK_MS / 1000;
    while (!r->completed && !interrupted) {
        size_t got = 0;
        if (callrec_source_read(src, buf, chunk, &got) != CALLREC_OK)
            fprintf(stderr, "callrec: input %s: decoding failed; the call ends there\n", name);
        if (got == 0)
            break;
        size_t used = got;
        callrec_session_process_frames(s, buf, NULL, got, &used);
#ifdef CALLREC_HAVE_CAIRO
        if (r->cap_levels)
            keep_levels(r, buf, used, info.rate_hz);
#endif
    }
    if (interrupted)
        callrec_session_cancel(s);
    else if (!r->completed)
        callrec_session_hangup(s);
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

/* A number option within [lo, hi], or -1 with a message. */
static long int_option(const char *name, const char *value, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = value ? strtol(value, &end, 10) : 0;
    if (!value)
        return 0;
    if (errno || *end || v < lo || v > hi) {
        fprintf(stderr, "callrec: %s: must be an integer from %ld to %ld, got \"%s\"\n", name, lo,
                hi, value);
        return -1;
    }
    return v;
}

/* The request fields given as options, written over the request's own (which is checked first
   by the request's rules, so nothing in it escapes them). Returns 0, or -1 with a message. */
static int apply_request_options(const options *o, char **req, size_t *len)
{
    if (!o->prompt && !o->stop_tones && !o->initial_silence && !o->max_silence &&
        !o->max_duration && !o->client_context && !o->no_beep && !o->barge_in)
        return 0;
    char err[1024] = "";
    if (callrec_request_check(*req, *len, err, sizeof err) != CALLREC_OK) {
        fprintf(stderr, "callrec: request %s: %s\n", o->request ? o->request : "{}", err);
        return -1;
    }
    const struct {
        const char *flag, *value, *field;
    } numbers[] = {{"--initial-silence", o->initial_silence, "initialSilenceTimeoutInSeconds"},
                   {"--max-silence", o->max_silence, "maxSilenceTimeoutInSeconds"},
                   {"--max-duration", o->max_duration, "maxRecordDurationInSeconds"}};
    long seconds[3];
    for (int i = 0; i < 3; i++)
        if ((seconds[i] = int_option(numbers[i].flag, numbers[i].value, 1, 300)) < 0)
            return -1;
    cJSON *body = cJSON_ParseWithLength(*req, *len);
    if (!body)
        return -1;
    for (int i = 0; i < 3; i++)
        if (numbers[i].value) {
            cJSON_DeleteItemFromObjectCaseSensitive(body, numbers[i].field);
            cJSON_AddNumberToObject(body, numbers[i].field, (double)seconds[i]);
        }
    if (o->no_beep || o->barge_in) {
        const char *field = o->no_beep ? "playBeep" : NULL;
        if (field) {
            cJSON_DeleteItemFromObjectCaseSensitive(body, field);
            cJSON_AddFalseToObject(body, field);
        }
        if (o->barge_in) {
            cJSON_DeleteItemFromObjectCaseSensitive(body, "bargeInAllowed");
            cJSON_AddTrueToObject(body, "bargeInAllowed");
        }
    }
    if (o->stop_tones) {
        cJSON *keys = cJSON_CreateArray();
        for (const char *k = o->stop_tones; *k; k++) {
            char one[2] = {*k, '\0'};
            cJSON_AddItemToArray(keys, cJSON_CreateString(one));
        }
        cJSON_DeleteItemFromObjectCaseSensitive(body, "stopTones");
        cJSON_AddItemToObject(body, "stopTones", keys);
    }
    if (o->client_context) {
        cJSON_DeleteItemFromObjectCaseSensitive(body, "clientContext");
        cJSON_AddStringToObject(body, "clientContext", o->client_context);
    }
    if (o->prompt) {
        /* Relative to the working folder, where the user typed it (a request's own prompts are
           relative to the request's folder). */
        char cwd[PATH_MAX], *path = NULL;
        const char *colon = strchr(o->prompt, ':'), *slash = strchr(o->prompt, '/');
        int uri = colon && colon - o->prompt > 1 && (!slash || colon < slash);
        if (o->prompt[0] == '/' || uri || !getcwd(cwd, sizeof cwd))
            path = strdup(o->prompt);
        else if ((path = malloc(strlen(cwd) + strlen(o->prompt) + 2)))
            sprintf(path, "%s/%s", cwd, o->prompt);
        cJSON *prompts = cJSON_CreateArray(), *prompt = cJSON_CreateObject(),
              *media = cJSON_CreateObject();
        cJSON_AddStringToObject(media, "uri", path ? path : o->prompt);
        cJSON_AddItemToObject(prompt, "mediaInfo", media);
        cJSON_AddItemToArray(prompts, prompt);
        cJSON_DeleteItemFromObjectCaseSensitive(body, "prompts");
        cJSON_AddItemToObject(body, "prompts", prompts);
        free(path);
    }
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (!text)
        return -1;
    free(*req);
    *req = text;
    *len = strlen(text);
    return 0;
}

/* PortAudio's host APIs print start-up chatter on stderr (JACK without a server, ALSA
   without a card); it is not the program's error, so it is hidden while devices open. */
static int quiet_stderr(void)
{
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
        dup2(null, STDERR_FILENO);
        close(null);
    }
    return saved;
}

static void restore_stderr(int saved)
{
    if (saved >= 0) {
        dup2(saved, STDERR_FILENO);
        close(saved);
    }
}

static const char *phase_name(int phase)
{
    switch (phase) {
    case CALLREC_EVENT_PROMPT_STARTED: return "prompt";
    case CALLREC_EVENT_PROMPT_ENDED:
    case CALLREC_EVENT_BEEP_STARTED: return "beep";
    case CALLREC_EVENT_BEEP_ENDED:
    case CALLREC_EVENT_RECORDING_STARTED: return "recording";
    case CALLREC_EVENT_COMPLETED: return "done";
    default: return "waiting";
    }
}

/* One line, rewritten in place: level, speech, last key, phase, elapsed and remaining. */
static void meter(callrec_live *l, run *r)
{
    callrec_live_stats st;
    callrec_live_get_stats(l, &st);
    double elapsed = st.sample_rate_hz ? (double)st.frames_in / st.sample_rate_hz : 0.0;
    long long rec = atomic_load(&r->rec_start);
    int bars = (int)((st.input_peak_dbfs + 60.0) / 3.0);
    bars = bars < 0 ? 0 : (bars > 20 ? 20 : bars);
    char bar[21];
    memset(bar, '#', (size_t)bars);
    memset(bar + bars, '.', (size_t)(20 - bars));
    bar[20] = '\0';
    int tone = atomic_load(&r->tone);
    char remaining[32] = "";
    if (rec >= 0) {
        double left = (double)(atomic_load(&r->rec_limit) - rec) / CALLREC_INTERNAL_RATE_HZ -
                      elapsed;
        snprintf(remaining, sizeof remaining, ", %.1f s left", left < 0 ? 0.0 : left);
    }
    fprintf(stderr, "\r[%s] %5.1f dBFS  %-7s  key %c  %-9s  %6.1f s%s   ", bar,
            st.input_peak_dbfs, atomic_load(&r->speaking) ? "speech" : "silence",
            tone ? tone : '-', phase_name(atomic_load(&r->phase)), elapsed, remaining);
    fflush(stderr);
}

/* Opens the events file once the request and the input have been accepted: created, never
   replaced, no link followed (the recording's rules). "-" shares stdout's writer. */
static int open_events(const options *opt, sink *out, sink *ev, run *r)
{
    if (!opt->events)
        return 0;
    if (strcmp(opt->events, "-") == 0) {
        r->events = out;
        return 0;
    }
    int fd = open(opt->events, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "callrec: events %s: %s\n", opt->events,
                errno == EEXIST ? "already exists; callrec never overwrites a file"
                                : strerror(errno));
        return -1;
    }
    if (sink_start(ev, fd)) {
        fprintf(stderr, "callrec: events %s: no thread to write them\n", opt->events);
        close(fd);
        unlink(opt->events);
        return -1;
    }
    r->events = ev;
    return 0;
}

/* Audio lost on the way in is said on stderr as it happens (at most once a second): a live
   tester must know the recording has gaps. */
static void warn_overruns(run *r, unsigned long long *warned, double *last_s, int meter_shown)
{
    unsigned long long over = atomic_load(&r->overruns);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double now = (double)ts.tv_sec + ts.tv_nsec * 1e-9;
    if (over == *warned || now - *last_s < 1.0)
        return;
    fprintf(stderr, "%scallrec: warning: %llu input samples lost so far (the worker fell "
            "behind the audio)\n", meter_shown ? "\n" : "", over);
    *warned = over;
    *last_s = now;
}

/* Runs the operation through the live driver (a device, or a file at real time). */
static int drive_live(const options *opt, const callrec_session_config *scfg, const char *req,
                      size_t req_len, run *r, sink *out, sink *ev)
{
    callrec_live_config lcfg;
    callrec_live_config_default(&lcfg);
    long timeout = int_option("--media-timeout-ms", opt->media_timeout_ms, 100, 60000);
    long frames = int_option("--buffer-frames", opt->buffer_frames, 16, 8192);
    long guard = opt->playout_guard_ms
                     ? int_option("--playout-guard-ms", opt->playout_guard_ms, 0, 2000)
                     : -1;
    if (timeout < 0 || frames < 0 || (opt->playout_guard_ms && guard < 0))
        return EXIT_USAGE;
    lcfg.playout_guard_ms = (int)guard;
    if (timeout)
        lcfg.media_timeout_ms = (int)timeout;
    lcfg.buffer_frames = (int)frames;
    lcfg.device = opt->device;
    lcfg.input_file = opt->realtime ? opt->input : NULL;

    char err[1024] = "";
    callrec_live *l = NULL;
    /* Only a device's host APIs chatter; a file's errors are the user's to read. */
    int saved = opt->device ? quiet_stderr() : -1;
    callrec_status st = callrec_live_create(&lcfg, scfg, &l, err, sizeof err);
    restore_stderr(saved);
    if (st) {
        fprintf(stderr, "callrec: %s\n", err[0] ? err : callrec_strerror(st));
        return EXIT_USAGE;
    }
    st = callrec_session_record(callrec_live_session(l), req, req_len, opt->output, NULL, err,
                                sizeof err);
    if (st) {
        fprintf(stderr, "callrec: %s\n", err[0] ? err : callrec_strerror(st));
        callrec_live_destroy(l);
        return EXIT_USAGE;
    }
    if (open_events(opt, out, ev, r)) {
        callrec_session_cancel(callrec_live_session(l)); /* removes the unused recording */
        callrec_live_destroy(l);
        return EXIT_USAGE;
    }
    int show = isatty(STDERR_FILENO);
    if (callrec_live_start(l)) {
        fprintf(stderr, "callrec: the audio stream would not start\n");
        callrec_session_cancel(callrec_live_session(l));
        callrec_live_destroy(l);
        return EXIT_USAGE;
    }
    int canceled = 0;
    unsigned long long warned = 0;
    double last_warning = 0;
    while (!callrec_live_wait(l, 100)) {
        if (interrupted && !canceled) {
            callrec_live_cancel(l);
            canceled = 1;
        }
        warn_overruns(r, &warned, &last_warning, show);
        if (show)
            meter(l, r);
    }
    if (show) {
        meter(l, r);
        fputc('\n', stderr);
    }
    callrec_live_destroy(l);
    unsigned long long lost = atomic_load(&r->overruns);
    if (lost)
        fprintf(stderr, "callrec: warning: %llu input samples (%.2f s) were lost in all; the "
                "recording has gaps there\n", lost, (double)lost / CALLREC_INTERNAL_RATE_HZ);
    return 0;
}

/* Events that could not be written or were dropped are said on stderr. */
static void report_sink(sink *k, const char *name)
{
    pthread_mutex_lock(&k->lock);
    unsigned long dropped = k->dropped;
    int error = k->error;
    pthread_mutex_unlock(&k->lock);
    if (dropped)
        fprintf(stderr, "callrec: %s: %lu events were dropped: their reader fell behind\n",
                name, dropped);
    if (error)
        fprintf(stderr, "callrec: %s: writing failed: %s\n", name, strerror(error));
}

#ifdef CALLREC_HAVE_CAIRO
/* --timeline: the operation's picture, from its events, its recording and the request's
   timers. Returns 0, or -1 with a message. */
static int draw_timeline(const run *r, const options *o, const char *req, size_t req_len)
{
    tl_input in = {r->timeline, r->n_timeline, r->recording, r->level_db, r->n_levels,
                   r->level_frame_s, r->reason[0] ? r->reason : NULL, 0, 0, 0};
    timeline_timers(req, req_len, &in); /* the library accepted it: it is JSON */
    char err[1024];
    if (timeline_render(&in, o->timeline, err, sizeof err)) {
        fprintf(stderr, "callrec: %s\n", err);
        return -1;
    }
    return 0;
}
#endif

/* One line for the person at the terminal: how it ended, how long, where the file is. */
static void summarise(const run *r, const options *o)
{
    if (r->spoke_in_prompt)
        fprintf(stderr, "callrec: the caller spoke while the prompt played; by the operation's "
                        "rules that is not recorded (--barge-in does not change it)\n");
    char where[PATH_MAX];
    const char *path = r->recording && realpath(r->recording, where) ? where : r->recording;
    if (path)
        fprintf(stderr, "callrec: %s after %.1f s of recording: %s\n", r->reason,
                (double)r->recorded / CALLREC_INTERNAL_RATE_HZ, path);
    else
        fprintf(stderr, "callrec: %s; nothing recorded\n", r->reason);
    if (strcmp(r->reason, "maxRecordDurationReached") == 0 && !o->max_duration &&
        atomic_load(&((run *)r)->rec_limit) == 5LL * CALLREC_INTERNAL_RATE_HZ)
        fprintf(stderr, "callrec: that is the default limit of 5 s; --max-duration S (up to "
                        "300) records longer\n");
}

/* --output with its folder resolved (no "/./" or "../" in the notification), or as given when
   the folder cannot be resolved (the library then says why it cannot create the file). */
static const char *clean_output(const char *path, char buf[PATH_MAX])
{
    if (!path)
        return NULL;
    const char *slash = strrchr(path, '/');
    char folder[PATH_MAX], resolved[PATH_MAX];
    if (!slash)
        snprintf(folder, sizeof folder, ".");
    else if (slash == path)
        snprintf(folder, sizeof folder, "/");
    else if ((size_t)(slash - path) < sizeof folder)
        snprintf(folder, sizeof folder, "%.*s", (int)(slash - path), path);
    else
        return path;
    const char *name = slash ? slash + 1 : path;
    if (!*name || !realpath(folder, resolved))
        return path;
    int n = snprintf(buf, PATH_MAX, "%s/%s", strcmp(resolved, "/") ? resolved : "", name);
    return n > 0 && n < PATH_MAX ? buf : path;
}

/* Opens the --input file for reading as fast as it decodes, at a rate the session takes. */
static callrec_source *open_input(const options *o)
{
    char err[1024] = "";
    callrec_source *src = NULL;
    callrec_status st;
    if (o->input_format) {
        long rate = int_option("--input-rate", o->input_rate, 1000, 384000);
        long channels = o->input_channels ? int_option("--input-channels", o->input_channels, 1, 64)
                                          : 1;
        if (rate < 0 || channels < 0)
            return NULL;
        callrec_raw_format f = strcmp(o->input_format, "ulaw") == 0   ? CALLREC_RAW_ULAW
                               : strcmp(o->input_format, "alaw") == 0 ? CALLREC_RAW_ALAW
                                                                      : CALLREC_RAW_S16LE;
        st = callrec_source_open_raw(o->input, f, (int)rate, (int)channels,
                                     CALLREC_SOURCE_SESSION_RATE, &src, err, sizeof err);
    } else {
        st = callrec_source_open(o->input, CALLREC_SOURCE_SESSION_RATE, &src, err, sizeof err);
    }
    if (st != CALLREC_OK)
        fprintf(stderr, "callrec: input %s\n", err[0] ? err : callrec_strerror(st));
    return src;
}

static int cmd_record(int argc, char **argv)
{
    options opt;
    int rc = parse_args(argc, argv, &opt);
    if (rc)
        return rc;

    size_t req_len = 0;
    char *req = opt.request ? read_request(opt.request, &req_len) : strdup("{}");
    if (req && !opt.request)
        req_len = 2;
    if (req && apply_request_options(&opt, &req, &req_len)) {
        free(req);
        return EXIT_USAGE;
    }
    if (!req)
        return EXIT_USAGE;

    callrec_source *source = NULL;
    callrec_session *s = NULL;
    char *base = opt.request ? request_dir(opt.request) : NULL;
    run r = {0};
    sink out, ev = {0};
    atomic_init(&r.rec_start, -1LL);
    atomic_init(&r.rec_limit, 0LL);
#ifdef CALLREC_HAVE_CAIRO
    if (opt.timeline && opt.input && !opt.realtime) { /* a file's level is known sample by sample */
        r.level_db = malloc(1024 * sizeof *r.level_db);
        r.cap_levels = r.level_db ? 1024 : 0;
    }
#endif
    atomic_init(&r.overruns, 0ULL);
    rc = EXIT_USAGE;
    if (sink_start(&out, STDOUT_FILENO)) {
        fprintf(stderr, "callrec: no thread to write stdout\n");
        goto done;
    }
    if (opt.input && !opt.realtime && !(source = open_input(&opt)))
        goto done;
    struct stat st;
    if (opt.recording_dir && (stat(opt.recording_dir, &st) || !S_ISDIR(st.st_mode))) {
        fprintf(stderr, "callrec: recording dir %s: not a folder\n", opt.recording_dir);
        goto done;
    }

    callrec_session_config cfg;
    callrec_session_config_default(&cfg);
    char recording_dir[PATH_MAX], output[PATH_MAX];
    if (opt.recording_dir) /* a clean path in the notification: no "/./" or "../" */
        cfg.recording_dir = realpath(opt.recording_dir, recording_dir) ? recording_dir
                                                                       : opt.recording_dir;
    cfg.prompt_base_dir = base;
    if (opt.dtmf_profile && strcmp(opt.dtmf_profile, "ntt") == 0) {
        cfg.dtmf_profile = CALLREC_DTMF_NTT;
    } else if (opt.dtmf_profile && strcmp(opt.dtmf_profile, "att") != 0) {
        fprintf(stderr, "callrec: --dtmf-profile: must be att or ntt, got %s\n", opt.dtmf_profile);
        goto done;
    }
    cfg.on_event = on_event;
    cfg.event_user = &r;

    /* No SA_RESTART: a read blocked on stdin returns, and the run cancels. */
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if (opt.device || opt.realtime) {
        rc = drive_live(&opt, &cfg, req, req_len, &r, &out, &ev);
        if (rc)
            goto done;
    } else {
        callrec_source_info info;
        callrec_source_get_info(source, &info);
        cfg.sample_rate_hz = info.rate_hz;
        callrec_status cs = callrec_session_create(&cfg, &s);
        if (cs) {
            fprintf(stderr, "callrec: %s\n", callrec_strerror(cs));
            goto done;
        }
        char err[1024] = "";
        cs = callrec_session_record(s, req, req_len, clean_output(opt.output, output), NULL, err,
                                    sizeof err);
        if (cs) {
            fprintf(stderr, "callrec: %s\n", err[0] ? err : callrec_strerror(cs));
            goto done;
        }
        if (open_events(&opt, &out, &ev, &r)) {
            callrec_session_cancel(s); /* removes the unused recording */
            goto done;
        }
        drive_file(s, source, opt.input, &r);
    }
    if (r.detail)
        fprintf(stderr, "callrec: %s\n", r.detail);
    if (r.completed && strcmp(r.reason, "mediaReceiveTimeout") == 0)
        fprintf(stderr, "callrec: no audio arrived for %s ms: the %s stopped delivering; the "
                        "recording keeps what came before\n",
                opt.media_timeout_ms ? opt.media_timeout_ms : "3000",
                opt.device ? "sound device" : "input");
    if (!r.completed || !r.notification) {
        fprintf(stderr, "callrec: the operation ended without a notification\n");
        rc = EXIT_FAILED;
        goto done;
    }
    if (opt.recording_url) {
        /* The same URL and token a `callrec serve` on this recording folder answers. */
        char *served = serve_notification(r.notification,
                                          opt.recording_dir ? opt.recording_dir : ".",
                                          opt.recording_url, r.operation_id, NULL);
        if (!served) {
            fprintf(stderr, "callrec: --recording-url: the notification could not be rewritten\n");
            rc = EXIT_FAILED;
            goto done;
        }
        free(r.notification);
        r.notification = served;
    }
    sink_put(&out, r.notification, 0);
    rc = r.failed ? EXIT_FAILED : EXIT_COMPLETED;
done:
    callrec_session_destroy(s);
    if (ev.started && sink_finish(&ev) && !ev.error)
        fprintf(stderr, "callrec: events %s: its writes would not finish\n", opt.events);
    if (r.events == &ev)
        report_sink(&ev, opt.events);
    int unwritten = sink_finish(&out);
    if (r.events == &out)
        report_sink(&out, "events on stdout");
#ifdef CALLREC_HAVE_CAIRO
    if ((rc == EXIT_COMPLETED || rc == EXIT_FAILED) && opt.timeline &&
        draw_timeline(&r, &opt, req, req_len))
        rc = EXIT_OUTPUT;
    free(r.timeline);
    free(r.level_db);
#endif
    if ((rc == EXIT_COMPLETED || rc == EXIT_FAILED) && !unwritten && !opt.quiet &&
        isatty(STDERR_FILENO))
        summarise(&r, &opt); /* after the notification, where a reader looks last */
    if (unwritten && (rc == EXIT_COMPLETED || rc == EXIT_FAILED)) {
        fprintf(stderr, "callrec: stdout: the notification could not be written: %s\n",
                out.error ? strerror(out.error) : "nobody is reading it");
        rc = EXIT_OUTPUT;
    }
    callrec_source_close(source);
    free(r.notification);
    free(r.detail);
    free(r.recording);
    free(base);
    free(req);
    return rc;
}

static int cmd_devices(void)
{
    callrec_device_info devs[64];
    int saved = quiet_stderr();
    int n = 0;
    callrec_status st = callrec_live_devices(devs, 64, &n);
    restore_stderr(saved);
    if (st != CALLREC_OK) {
        fprintf(stderr, "callrec: devices: PortAudio could not be loaded (libportaudio2) or "
                        "could not start\n");
        return EXIT_USAGE;
    }
    printf("%-5s  %-40s  %-28s  %3s  %3s  %8s\n", "index", "name", "host API", "in", "out", "rate");
    for (int i = 0; i < n && i < 64; i++)
        printf("%-5d  %-40s  %-28s  %3d  %3d  %8.0f\n", devs[i].index, devs[i].name,
               devs[i].host_api, devs[i].max_input_channels, devs[i].max_output_channels,
               devs[i].default_rate_hz);
    if (n == 0)
        fprintf(stderr, "callrec: no sound devices found\n");
    return 0;
}

int main(int argc, char **argv)
{
    /* Descriptors 0-2 closed by whoever started us would be taken by the first files opened
       (the recording as "stdout"): hold them with /dev/null. */
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
            int null = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
            if (null >= 0 && null != fd) {
                dup2(null, fd);
                close(null);
            }
        }
    }
    /* Write errors are reported, not fatal: a reader that goes away (EPIPE) or a file-size
       limit (EFBIG) ends in a message and an exit status, with the recording kept valid. */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
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
            if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                printf("%s%s", usage_text, help_text);
                return 0;
            }
        }
        return cmd_record(argc, argv);
    }
    if (strcmp(cmd, "devices") == 0)
        return cmd_devices();
    if (strcmp(cmd, "serve") == 0) {
        main_fn serve = (main_fn)module_symbol("callrec-serve", "callrec_serve_main", "serve");
        return serve ? serve(argc - 1, argv + 1) : EXIT_FAILED;
    }
#ifdef CALLREC_HAVE_CAIRO
    if (strcmp(cmd, "timeline") == 0) {
        main_fn timeline = (main_fn)module_symbol("callrec-timeline", "tl_main", "timeline");
        return timeline ? timeline(argc - 1, argv + 1) : EXIT_FAILED;
    }
#endif
    return usage_error("unknown command %s", cmd);
}
