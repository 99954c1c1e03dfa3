/* The session through the public API: every completion reason, its timing on the sample
   clock, the recording's length and content, prompts, queueing, barge-in, cancel, hang-up,
   rate conversion and file faults. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "callrec.h"
#include "harness.h"
#include "session_internal.h"
#include "signals.h"
#include "support.h"

#define MAX_EVENTS 64
#define SEC 16000 /* samples per second on the call clock */

typedef struct rec_event {
    callrec_event_type type;
    int64_t t, detected;
    char tone, op[CALLREC_ID_LEN];
    int stop;
} rec_event;

typedef struct evlog {
    rec_event ev[MAX_EVENTS];
    int n, completed;
    char reason[40], status[16], recording[512], notification[8192], detail[1024];
} evlog;

static char tmpdir[256];

static void on_event(void *user, const callrec_event *e)
{
    evlog *l = user;
    if (l->n < MAX_EVENTS) {
        rec_event *r = &l->ev[l->n++];
        r->type = e->type;
        r->t = e->t_samples;
        r->detected = e->detected_samples;
        r->tone = e->tone;
        r->stop = e->is_stop_tone;
        snprintf(r->op, sizeof r->op, "%s", e->operation_id);
    }
    if (e->type == CALLREC_EVENT_COMPLETED) {
        l->completed++;
        snprintf(l->reason, sizeof l->reason, "%s",
                 callrec_completion_reason_name(e->completion_reason));
        snprintf(l->status, sizeof l->status, "%s", callrec_operation_status_name(e->status));
        snprintf(l->detail, sizeof l->detail, "%s", e->detail ? e->detail : "");
        snprintf(l->recording, sizeof l->recording, "%s",
                 e->recording_path ? e->recording_path : "");
        snprintf(l->notification, sizeof l->notification, "%s", e->notification_json);
    }
}

static const rec_event *find(const evlog *l, callrec_event_type t)
{
    for (int i = 0; i < l->n; i++)
        if (l->ev[i].type == t)
            return &l->ev[i];
    return NULL;
}

static int64_t time_of(const evlog *l, callrec_event_type t)
{
    const rec_event *e = find(l, t);
    return e ? e->t : -1;
}

static callrec_session *make(evlog *l, int rate)
{
    callrec_session_config cfg;
    callrec_session_config_default(&cfg);
    cfg.sample_rate_hz = rate;
    cfg.recording_dir = tmpdir;
    cfg.prompt_base_dir = SPEECH_DIR;
    cfg.on_event = on_event;
    cfg.event_user = l;
    memset(l, 0, sizeof *l);
    callrec_session *s = NULL;
    CHECK(callrec_session_create(&cfg, &s) == CALLREC_OK);
    return s;
}

/* Feeds audio in seeded random chunk sizes (1..2000 samples) until the operation
   completes; returns the samples fed. */
static size_t drive(callrec_session *s, evlog *l, const sig_buf *b, int16_t *out)
{
    sig_rng r;
    sig_seed(&r, 77);
    size_t pos = 0;
    while (pos < b->n && !l->completed) {
        size_t n = 1 + (size_t)(sig_uniform(&r) * 2000);
        if (n > b->n - pos)
            n = b->n - pos;
        CHECK(callrec_session_process(s, b->x + pos, out ? out + pos : NULL, n) == CALLREC_OK);
        pos += n;
    }
    return pos;
}

static int record(callrec_session *s, const char *json, char *err)
{
    char e[512] = "";
    int rc = callrec_session_record(s, json, strlen(json), NULL, NULL, err ? err : e, 512);
    if (rc && !err)
        fprintf(stderr, "record refused: %s\n", e);
    return rc;
}

static int64_t wav_frames(const char *path, sig_buf *content)
{
    /* Every recording a test reads is first read by readers that do not forgive. */
    char why[512];
    CHECK_MSG(support_wav_strict(path, NULL, why, sizeof why) == 0, "%s", why);
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf)
        return -1;
    CHECK(info.samplerate == 16000 && info.channels == 1);
    CHECK((info.format & SF_FORMAT_SUBMASK) == SF_FORMAT_PCM_16);
    if (content) {
        sig_init(content, 16000);
        sig_silence(content, (double)info.frames / 16000.0);
        sf_read_short(sf, content->x, info.frames);
    }
    sf_close(sf);
    return info.frames;
}

/* Energy share of a DTMF pair's frequencies in x (Goertzel), 0..1. */
static double tone_share(const int16_t *x, size_t n, double f1, double f2)
{
    double total = 0, tone = 0;
    for (size_t i = 0; i < n; i++)
        total += (double)x[i] * x[i];
    for (int k = 0; k < 2; k++) {
        double w = 6.283185307179586 * (k ? f2 : f1) / 16000.0, c = 2 * cos(w), s1 = 0, s2 = 0;
        for (size_t i = 0; i < n; i++) {
            double s0 = x[i] + c * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        tone += 2.0 * (s1 * s1 + s2 * s2 - c * s1 * s2) / (double)n;
    }
    return total > 0 ? tone / total : 0;
}

/* First and last 10 ms frame of b[from, to) louder than -45 dBFS: where speech really is. */
static void speech_bounds(const sig_buf *b, size_t from, size_t to, size_t *start, size_t *end)
{
    *start = *end = 0;
    for (size_t i = from; i + 160 <= to; i += 160) {
        if (sig_rms_dbfs(b->x + i, 160) > -45.0) {
            if (!*start)
                *start = i;
            *end = i + 160;
        }
    }
}

/* A caller: lead-in silence, some real speech, trailing silence (with faint noise, as on a
   phone line). */
static void caller(sig_buf *b, double lead, const char *speech, double tail)
{
    sig_rng r;
    sig_seed(&r, 11);
    sig_init(b, 16000);
    sig_silence(b, lead);
    sig_append_speech(b, speech, -3.0);
    sig_silence(b, tail);
    sig_add_noise(b, &r, 0, b->n, -70.0);
}

static void test_api_errors(void)
{
    callrec_session *s = (callrec_session *)1;
    callrec_session_config cfg;
    callrec_session_config_default(&cfg);
    CHECK(callrec_session_create(NULL, &s) == CALLREC_EINVAL && s == NULL);
    CHECK(callrec_session_create(&cfg, NULL) == CALLREC_EINVAL);
    cfg.sample_rate_hz = 7999;
    CHECK(callrec_session_create(&cfg, &s) == CALLREC_EINVAL && s == NULL);
    cfg.sample_rate_hz = 48001;
    CHECK(callrec_session_create(&cfg, &s) == CALLREC_EINVAL);
    cfg.sample_rate_hz = 16000;
    cfg.max_prompt_seconds = 0;
    CHECK(callrec_session_create(&cfg, &s) == CALLREC_EINVAL);
    cfg.max_prompt_seconds = 300;
    cfg.dtmf_profile = (callrec_dtmf_profile)2;
    CHECK(callrec_session_create(&cfg, &s) == CALLREC_EINVAL);
    callrec_session_config_default(&cfg);
    CHECK(cfg.dtmf_profile == CALLREC_DTMF_ATT);
    callrec_session_destroy(NULL);
    CHECK(callrec_session_play_prompt(NULL, "{}", 2, NULL, NULL, 0) == CALLREC_EINVAL);
    CHECK(callrec_session_process(NULL, NULL, NULL, 0) == CALLREC_EINVAL);
    CHECK(callrec_session_cancel(NULL) == CALLREC_EINVAL);
    CHECK(callrec_session_hangup(NULL) == CALLREC_EINVAL);
    CHECK(callrec_session_record(NULL, "{}", 2, NULL, NULL, NULL, 0) == CALLREC_EINVAL);
    /* Every status has its own text, distinct from the fallback's. */
    const char *fallback = callrec_strerror((callrec_status)-99);
    for (int st = CALLREC_OK; st >= CALLREC_EDEVICE; st--) {
        CHECK_MSG(strcmp(callrec_strerror((callrec_status)st), fallback) != 0, "status %d", st);
        for (int other = st - 1; other >= CALLREC_EDEVICE; other--)
            CHECK(strcmp(callrec_strerror((callrec_status)st),
                         callrec_strerror((callrec_status)other)) != 0);
    }
    CHECK_STR(callrec_version(), CALLREC_VERSION_STRING);
    /* Reasons and statuses are enums; their names are the calling API's. */
    static const char *const names[] = {
        "operationCanceled", "stopToneDetected", "maxRecordDurationReached",
        "initialSilenceTimeout", "maxSilenceTimeout", "playPromptFailed", "playBeepFailed",
        "mediaReceiveTimeout", "unspecifiedError", "none", "completedSuccessfully",
        "mediaOperationCanceled", "unknown"};
    for (int r = CALLREC_REASON_OPERATION_CANCELED; r <= CALLREC_REASON_UNKNOWN; r++)
        CHECK_STR(callrec_completion_reason_name((callrec_completion_reason)r), names[r]);
    CHECK_STR(callrec_completion_reason_name((callrec_completion_reason)99), "unknown");
    CHECK_STR(callrec_operation_status_name(CALLREC_OPERATION_COMPLETED), "completed");
    CHECK_STR(callrec_operation_status_name(CALLREC_OPERATION_FAILED), "failed");
    int count = -1;
    CHECK(callrec_live_devices(NULL, 0, NULL) == CALLREC_EINVAL);
    CHECK(callrec_live_devices(NULL, -1, &count) == CALLREC_EINVAL);
    CHECK(callrec_live_devices(NULL, 4, &count) == CALLREC_EINVAL);

    evlog l;
    s = make(&l, 16000);
    char err[512];
    CHECK(callrec_session_process(s, NULL, NULL, 10) == CALLREC_EINVAL);
    CHECK(record(s, "{\"maxRecordDurationInSeconds\": 0}", err) == CALLREC_EINVAL);
    CHECK_STR(err, "maxRecordDurationInSeconds: must be an integer from 1 to 300, got 0");
    CHECK(callrec_session_pending(s) == 0);
    callrec_session_destroy(s);
}

static void test_initial_silence(void)
{
    evlog l;
    callrec_session *s = make(&l, 16000);
    CHECK(record(s, "{\"initialSilenceTimeoutInSeconds\": 2, \"playBeep\": false}", NULL) == 0);
    sig_buf b;
    sig_rng r;
    sig_seed(&r, 3);
    sig_init(&b, 16000);
    sig_silence(&b, 10.0);
    sig_add_noise(&b, &r, 0, b.n, -50.0); /* steady line noise is not speech */
    drive(s, &l, &b, NULL);
    CHECK_STR(l.reason, "initialSilenceTimeout");
    CHECK_STR(l.status, "failed");
    CHECK(time_of(&l, CALLREC_EVENT_RECORDING_STARTED) == 0);
    CHECK(time_of(&l, CALLREC_EVENT_COMPLETED) == 2 * SEC);
    CHECK(find(&l, CALLREC_EVENT_SPEECH_STARTED) == NULL);
    CHECK(wav_frames(l.recording, NULL) == 2 * SEC);
    CHECK(strstr(l.notification, "\"code\":400,\"subcode\":8510,\"message\":\"Action failed, "
                                 "initial silence timeout reached.\"") != NULL);
    /* The platform's envelope: its type first, the operation under /communications in
       resourceUrl and @odata.id, the deprecated /app form only in `resource`. */
    CHECK(strncmp(l.notification, "{\"@odata.type\":\"#microsoft.graph.commsNotifications\","
                                  "\"value\":[{", 63) == 0);
    CHECK(strstr(l.notification, "\"resource\":\"/app/calls/") != NULL);
    CHECK(strstr(l.notification, "\"resourceUrl\":\"/communications/calls/") != NULL);
    CHECK(strstr(l.notification, "\"@odata.id\":\"/communications/calls/") != NULL);
    sig_free(&b);
    callrec_session_destroy(s);
}

static void test_max_duration(void)
{
    evlog l;
    callrec_session *s = make(&l, 16000);
    CHECK(record(s, "{\"maxRecordDurationInSeconds\": 3, \"clientContext\": \"ctx \\\"q\\\"\"}",
                 NULL) == 0);
    sig_buf b;
    caller(&b, 0.5, "vm-intro", 3.0);
    drive(s, &l, &b, NULL);
    int64_t rec = time_of(&l, CALLREC_EVENT_RECORDING_STARTED);
    CHECK(rec == SEC / 4); /* after the 250 ms beep */
    CHECK_STR(l.reason, "maxRecordDurationReached");
    CHECK_STR(l.status, "completed");
    CHECK(time_of(&l, CALLREC_EVENT_COMPLETED) == rec + 3 * SEC);
    sig_buf w;
    CHECK(wav_frames(l.recording, &w) == 3 * SEC);
    /* Bit-exact: the file is the caller's audio from the window's opening. */
    CHECK(w.n == 3 * SEC && memcmp(w.x, b.x + rec, 3 * SEC * sizeof(int16_t)) == 0);
    CHECK(strstr(l.notification, "\"code\":200,\"subcode\":8515,\"message\":\"Action completed, "
                                 "max record duration reached.\"") != NULL);
    CHECK(strstr(l.notification, "\"clientContext\":\"ctx \\\"q\\\"\"") != NULL);
    struct stat st;
    CHECK(stat(l.recording, &st) == 0 && (st.st_mode & 0777) == 0600);
    sig_free(&w);
    sig_free(&b);
    callrec_session_destroy(s);
}

static void test_max_silence(int rate)
{
    evlog l;
    callrec_session *s = make(&l, rate);
    CHECK(record(s, "{\"maxSilenceTimeoutInSeconds\": 2, \"maxRecordDurationInSeconds\": 30}",
                 NULL) == 0);
    sig_buf b;
    caller(&b, 1.0, "vm-intro", 6.0);
    size_t speech_start, speech_end;
    speech_bounds(&b, 0, b.n, &speech_start, &speech_end);
    if (rate != 16000)
        sig_resample(&b, rate);
    drive(s, &l, &b, NULL);
    CHECK_MSG(strcmp(l.reason, "maxSilenceTimeout") == 0, "rate %d: %s", rate, l.reason);
    int64_t stopped = -1;
    for (int i = 0; i < l.n; i++)
        if (l.ev[i].type == CALLREC_EVENT_SPEECH_STOPPED)
            stopped = l.ev[i].t; /* the last one */
    int64_t done = time_of(&l, CALLREC_EVENT_COMPLETED);
    CHECK_MSG(done - stopped == 2 * SEC, "rate %d: completed %lld, speech stopped %lld", rate,
              (long long)done, (long long)stopped);
    /* The speech end is found where the speech really ended, not where the hangover ran out. */
    double end_err = ((double)stopped - (double)speech_end) / SEC * 1000.0;
    CHECK_MSG(fabs(end_err) < 200.0, "rate %d: speech end error %.0f ms", rate, end_err);
    int64_t started = time_of(&l, CALLREC_EVENT_SPEECH_STARTED);
    CHECK_MSG(llabs(started - (int64_t)speech_start) < SEC / 20, "rate %d: speech onset %lld, "
              "true %zu", rate, (long long)started, speech_start);
    sig_free(&b);
    callrec_session_destroy(s);
}

static void test_stop_tone(int rate)
{
    evlog l;
    callrec_session *s = make(&l, rate);
    CHECK(record(s, "{\"stopTones\": [\"#\", \"*\"], \"maxRecordDurationInSeconds\": 30, "
                    "\"playBeep\": false}",
                 NULL) == 0);
    sig_buf b;
    sig_rng r;
    sig_seed(&r, 5);
    caller(&b, 0.5, "vm-intro", 0.3);
    /* A key that is not a stop tone is part of the message. */
    sig_dtmf(&b, &r, '5', -10, 0.1);
    sig_silence(&b, 0.5);
    size_t onset = b.n;
    sig_dtmf(&b, &r, '#', -10, 0.1);
    sig_silence(&b, 2.0);
    sig_buf in = b;
    sig_buf conv;
    if (rate != 16000) {
        sig_init(&conv, 16000);
        sig_silence(&conv, (double)b.n / 16000.0);
        memcpy(conv.x, b.x, b.n * sizeof *b.x);
        sig_resample(&conv, rate);
        in = conv;
    }
    drive(s, &l, &in, NULL);
    CHECK_MSG(strcmp(l.reason, "stopToneDetected") == 0, "rate %d: %s", rate, l.reason);
    int tones = 0, stops = 0;
    for (int i = 0; i < l.n; i++) {
        if (l.ev[i].type == CALLREC_EVENT_TONE_DETECTED) {
            tones++;
            stops += l.ev[i].stop;
            if (l.ev[i].stop) {
                CHECK(l.ev[i].tone == '#');
                double late = ((double)l.ev[i].detected - (double)onset) / SEC * 1000.0;
                CHECK_MSG(late > 0 && late < 50, "rate %d: detected %.1f ms after onset", rate,
                          late);
            }
        }
    }
    CHECK(tones == 2 && stops == 1);
    /* The operation ends where the stop tone was confirmed, not at the end of its frame. */
    const rec_event *done = find(&l, CALLREC_EVENT_COMPLETED);
    int64_t confirmed = -1;
    for (int i = 0; i < l.n; i++)
        if (l.ev[i].type == CALLREC_EVENT_TONE_DETECTED && l.ev[i].stop)
            confirmed = l.ev[i].detected;
    CHECK_MSG(done && done->t == confirmed, "rate %d: completed at %lld, the tone confirmed at %lld",
              rate, done ? (long long)done->t : -1LL, (long long)confirmed);
    sig_buf w;
    int64_t frames = wav_frames(l.recording, &w);
    double cut_err = ((double)frames - (double)onset) / SEC * 1000.0;
    CHECK_MSG(fabs(cut_err) <= 5.0, "rate %d: cut at %.1f ms from the onset", rate, cut_err);
    /* No trace of '#' (941 + 1477 Hz) in the last 50 ms; '5' is still in the file. */
    if (frames > 800) {
        CHECK_MSG(tone_share(w.x + frames - 800, 800, 941, 1477) < 0.05, "rate %d", rate);
        size_t five = onset - (size_t)(0.6 * SEC);
        CHECK(tone_share(w.x + five + 200, 1200, 770, 1336) > 0.8);
    }
    CHECK(strstr(l.notification, "\"@callrec.stopTone\":\"#\"") != NULL);
    sig_free(&w);
    if (rate != 16000)
        sig_free(&conv);
    sig_free(&b);
    callrec_session_destroy(s);
}

static void test_speech_under_way(void)
{
    /* The caller talks through the beep: that is speech, not initial silence. */
    evlog l;
    callrec_session *s = make(&l, 16000);
    CHECK(record(s, "{\"initialSilenceTimeoutInSeconds\": 1, \"maxSilenceTimeoutInSeconds\": 1,"
                    " \"maxRecordDurationInSeconds\": 20}",
                 NULL) == 0);
    sig_buf b;
    caller(&b, 0.0, "vm-intro", 3.0);
    drive(s, &l, &b, NULL);
    CHECK_STR(l.reason, "maxSilenceTimeout");
    CHECK(time_of(&l, CALLREC_EVENT_SPEECH_STARTED) < time_of(&l, CALLREC_EVENT_RECORDING_STARTED));
    sig_free(&b);
    callrec_session_destroy(s);
}

static int resolver_calls;
static int resolver(void *user, const char *uri, const char *resource_id, char *path, size_t len)
{
    (void)user;
    resolver_calls++;
    if (strcmp(uri, "https://cdn.contoso.com/beep.wav") != 0 || !resource_id ||
        strcmp(resource_id, "R1") != 0)
        return -1;
    snprintf(path, len, "%s/auth-thankyou.wav", SPEECH_DIR);
    return 0;
}

/* An operation whose prompt cannot be played: it fails with playPromptFailed, the event's
   detail saying `says` and the notification only the fixed phrase (it leaves the machine; local
   paths stay in the embedder's log). What the session reported stays in *l. */
static void prompt_fails(evlog *l, const char *request, const char *says)
{
    callrec_session *s = make(l, 16000);
    CHECK(record(s, request, NULL) == 0);
    sig_buf b;
    sig_init(&b, 16000);
    sig_silence(&b, 1.0);
    drive(s, l, &b, NULL);
    CHECK_STR(l->reason, "playPromptFailed");
    CHECK_MSG(strstr(l->detail, says) != NULL, "the detail does not say \"%s\": %s", says,
              l->detail);
    CHECK_MSG(strstr(l->notification, "\"message\":\"Action failed, the prompt could not be "
                                      "played.\"") != NULL,
              "the notification's message is not the fixed phrase: %s", l->notification);
    CHECK(strstr(l->notification, ".wav") == NULL);
    sig_free(&b);
    callrec_session_destroy(s);
}

static void test_prompt(void)
{
    evlog l;
    callrec_session *s = make(&l, 16000);
    CHECK(record(s, "{\"prompts\": [{\"mediaInfo\": {\"uri\": \"vm-intro.wav\"}}], "
                    "\"initialSilenceTimeoutInSeconds\": 1}",
                 NULL) == 0);
    sig_buf b, prompt, out;
    sig_init(&b, 16000);
    sig_silence(&b, 10.0);
    sig_init(&out, 16000);
    sig_silence(&out, 10.0);
    sig_init(&prompt, 16000);
    sig_append_speech(&prompt, "vm-intro", 0.0);
    drive(s, &l, &b, out.x);
    CHECK(time_of(&l, CALLREC_EVENT_PROMPT_STARTED) == 0);
    int64_t pend = time_of(&l, CALLREC_EVENT_PROMPT_ENDED);
    CHECK_MSG(llabs(pend - (int64_t)prompt.n) < 200, "prompt ended at %lld, length %zu",
              (long long)pend, prompt.n);
    int64_t beep = time_of(&l, CALLREC_EVENT_BEEP_STARTED);
    CHECK(beep >= pend && beep < pend + 160);
    CHECK(time_of(&l, CALLREC_EVENT_BEEP_ENDED) == beep + SEC / 4);
    int64_t rec = time_of(&l, CALLREC_EVENT_RECORDING_STARTED);
    CHECK(rec == beep + SEC / 4);
    CHECK_STR(l.reason, "initialSilenceTimeout");
    CHECK(time_of(&l, CALLREC_EVENT_COMPLETED) == rec + SEC);
    /* The playout carries the prompt (one frame of output latency) and then the beep. */
    int64_t lag = 160;
    double c = sig_correlation(out.x + lag, prompt.x, prompt.n - 200);
    CHECK_MSG(c > 0.99, "prompt correlation %.3f", c);
    CHECK(tone_share(out.x + beep + lag + 400, 3200, 1000, 1000) > 0.9);
    CHECK(sig_rms_dbfs(out.x + rec + lag + 160, 1600) < -90.0);
    sig_free(&b);
    sig_free(&out);
    sig_free(&prompt);
    callrec_session_destroy(s);

    /* A prompt that cannot be loaded: failed, with the file named; no recording left. */
    prompt_fails(&l, "{\"prompts\": [{\"mediaInfo\": {\"uri\": \"no-such-prompt.wav\"}}]}",
                 "no-such-prompt.wav");
    CHECK_STR(l.status, "failed");
    CHECK(strstr(l.notification, "\"recordingLocation\":null") != NULL);
    CHECK(time_of(&l, CALLREC_EVENT_COMPLETED) == 0);

    /* An empty prompt file is named as such. */
    char empty[300], req[400];
    snprintf(empty, sizeof empty, "%s/empty-prompt.wav", tmpdir);
    support_write_file(empty, "");
    snprintf(req, sizeof req, "{\"prompts\": [{\"mediaInfo\": {\"uri\": \"%s\"}}]}", empty);
    prompt_fails(&l, req, "empty-prompt.wav: is empty");

    /* https:// without a resolver fails clearly; with one it plays. */
    const char *https = "{\"prompts\": [{\"mediaInfo\": {\"uri\": "
                        "\"https://cdn.contoso.com/beep.wav\", \"resourceId\": \"R1\"}}]}";
    prompt_fails(&l, https, "cannot fetch this URI itself");
    sig_init(&b, 16000);

    callrec_session_config cfg;
    callrec_session_config_default(&cfg);
    cfg.recording_dir = tmpdir;
    cfg.on_event = on_event;
    cfg.event_user = &l;
    cfg.resolve_prompt = resolver;
    memset(&l, 0, sizeof l);
    CHECK(callrec_session_create(&cfg, &s) == 0);
    CHECK(record(s, https, NULL) == 0);
    CHECK(resolver_calls == 1);
    sig_silence(&b, 8.0);
    drive(s, &l, &b, NULL);
    CHECK(find(&l, CALLREC_EVENT_PROMPT_ENDED) != NULL);
    CHECK_STR(l.reason, "initialSilenceTimeout");
    sig_free(&b);
    callrec_session_destroy(s);
}

static void test_hangup_cancel_queue(void)
{
    evlog l;
    sig_buf b;
    caller(&b, 0.5, "vm-intro", 0.0);

    /* Hang-up mid-recording: every sample received is kept, including a partial frame. */
    callrec_session *s = make(&l, 16000);
    CHECK(record(s, "{\"maxRecordDurationInSeconds\": 60, \"playBeep\": false}", NULL) == 0);
    size_t fed = 3 * SEC + 77;
    CHECK(callrec_session_process(s, b.x, NULL, fed) == 0);
    CHECK(l.completed == 0);
    CHECK(callrec_session_hangup(s) == 0);
    CHECK_STR(l.reason, "none");
    CHECK_STR(l.status, "completed");
    CHECK(strstr(l.notification, "\"@callrec.callEnded\":true") != NULL);
    sig_buf w;
    CHECK(wav_frames(l.recording, &w) == (int64_t)fed);
    CHECK(memcmp(w.x, b.x, fed * sizeof(int16_t)) == 0);
    sig_free(&w);
    CHECK(callrec_session_process(s, b.x, NULL, 10) == CALLREC_ESTATE);
    char ended[512];
    CHECK(record(s, "{}", ended) == CALLREC_ESTATE);
    callrec_session_destroy(s);

    /* Hang-up during the prompt: nothing was recorded; the operation failed. */
    s = make(&l, 16000);
    CHECK(record(s, "{\"prompts\": [{\"mediaInfo\": {\"uri\": \"vm-intro.wav\"}}]}", NULL) == 0);
    CHECK(callrec_session_process(s, b.x, NULL, SEC) == 0);
    CHECK(callrec_session_hangup(s) == 0);
    CHECK_STR(l.reason, "none");
    CHECK_STR(l.status, "failed");
    CHECK(strstr(l.notification, "\"code\":400,\"subcode\":9902,\"message\":\"Action failed, "
                                 "the call ended before the recording started.\"") != NULL);
    CHECK(l.recording[0] == '\0');
    callrec_session_destroy(s);

    /* Queue: the second operation waits for the first; barge-in pre-empts both. */
    s = make(&l, 16000);
    CHECK(record(s, "{\"maxRecordDurationInSeconds\": 1, \"playBeep\": false}", NULL) == 0);
    CHECK(record(s, "{\"maxRecordDurationInSeconds\": 2, \"playBeep\": false}", NULL) == 0);
    CHECK(callrec_session_pending(s) == 2);
    CHECK(callrec_session_process(s, b.x, NULL, (size_t)(1.5 * SEC)) == 0);
    CHECK(l.completed == 1);
    CHECK_STR(l.reason, "maxRecordDurationReached");
    CHECK(callrec_session_pending(s) == 1);
    CHECK(record(s, "{\"bargeInAllowed\": true, \"maxRecordDurationInSeconds\": 1}", NULL) == 0);
    CHECK(l.completed == 2);
    CHECK_STR(l.reason, "operationCanceled");
    CHECK(l.recording[0] != '\0'); /* the pre-empted recording keeps its audio */
    CHECK(callrec_session_pending(s) == 1);
    CHECK(callrec_session_cancel(s) == 0);
    CHECK(l.completed == 3);
    CHECK_STR(l.reason, "operationCanceled");
    CHECK(l.recording[0] == '\0'); /* canceled before its window opened */
    for (int i = 0; i < 8; i++)
        CHECK(record(s, "{}", NULL) == 0);
    char err[512];
    CHECK(record(s, "{}", err) == CALLREC_EFULL);
    CHECK(callrec_session_cancel(s) == 0);
    CHECK(callrec_session_pending(s) == 0);
    callrec_session_destroy(s);

    /* Media timeout from a driver's watchdog: failed, audio kept. */
    s = make(&l, 16000);
    CHECK(record(s, "{\"maxRecordDurationInSeconds\": 60, \"playBeep\": false}", NULL) == 0);
    CHECK(callrec_session_process(s, b.x, NULL, SEC) == 0);
    CHECK(callrec_session_media_timeout(s, 3000) == 0);
    CHECK_STR(l.reason, "mediaReceiveTimeout");
    CHECK_STR(l.status, "failed");
    CHECK(wav_frames(l.recording, NULL) == SEC);
    callrec_session_destroy(s);
    sig_free(&b);
}

/* Callbacks that queue the next operation (as a bot does on completion) must not keep
   cancel or hang-up from returning. */
static callrec_session *requeue_session;
static int requeued, hang_up_on_completion;
static void requeue(void *user, const callrec_event *e)
{
    on_event(user, e);
    if (e->type == CALLREC_EVENT_COMPLETED && hang_up_on_completion) {
        callrec_session_hangup(requeue_session);
    } else if (e->type == CALLREC_EVENT_COMPLETED) {
        char err[128];
        if (callrec_session_record(requeue_session, "{}", 2, NULL, NULL, err, sizeof err) == 0)
            requeued++;
    }
}

static void test_requeue_from_callback(void)
{
    evlog l;
    memset(&l, 0, sizeof l);
    callrec_session_config cfg;
    callrec_session_config_default(&cfg);
    cfg.recording_dir = tmpdir;
    cfg.on_event = requeue;
    cfg.event_user = &l;
    CHECK(callrec_session_create(&cfg, &requeue_session) == 0);
    CHECK(record(requeue_session, "{}", NULL) == 0);
    CHECK(record(requeue_session, "{}", NULL) == 0);
    CHECK(callrec_session_cancel(requeue_session) == 0);
    CHECK(l.completed == 2 && requeued == 2); /* both canceled, two new ones queued */
    CHECK(callrec_session_pending(requeue_session) == 2);
    CHECK(callrec_session_hangup(requeue_session) == 0);
    CHECK(l.completed == 4 && requeued == 2); /* the ended call takes no more */
    CHECK(callrec_session_pending(requeue_session) == 0);
    callrec_session_destroy(requeue_session);

    /* A barge-in during which a pre-empted operation's callback ends the call: refused with
       CALLREC_ESTATE (the new operation would never run), its file removed, nothing leaked. */
    memset(&l, 0, sizeof l);
    CHECK(callrec_session_create(&cfg, &requeue_session) == 0);
    hang_up_on_completion = 1;
    CHECK(record(requeue_session, "{}", NULL) == 0);
    char err[512] = "", id[CALLREC_ID_LEN] = "";
    const char *barge = "{\"bargeInAllowed\": true}";
    CHECK(callrec_session_record(requeue_session, barge, strlen(barge), NULL, id, err,
                                 sizeof err) == CALLREC_ESTATE);
    CHECK_STR(err, "the call has ended");
    CHECK(l.completed == 1 && callrec_session_pending(requeue_session) == 0);
    hang_up_on_completion = 0;
    callrec_session_destroy(requeue_session);
}

/* Callbacks that end operations while the engine is using them: a hang-up, a cancel or a
   barge-in from inside an event take effect when the callback returns, never under the
   engine's feet (ASan watches for the use after free this once was). */
typedef struct reentry {
    evlog log;
    callrec_session *s;
    callrec_event_type on;   /* the event that triggers the action */
    int action;              /* 0 hang up, 1 cancel, 2 barge-in record */
    int fired;
} reentry;

static void reenter(void *user, const callrec_event *e)
{
    reentry *r = user;
    on_event(&r->log, e);
    if (e->type != r->on || r->fired)
        return;
    r->fired = 1;
    if (r->action == 0) {
        CHECK(callrec_session_hangup(r->s) == CALLREC_OK);
    } else if (r->action == 1) {
        CHECK(callrec_session_cancel(r->s) == CALLREC_OK);
    } else {
        const char *b = "{\"bargeInAllowed\": true, \"maxRecordDurationInSeconds\": 1, "
                        "\"playBeep\": false}";
        CHECK(callrec_session_record(r->s, b, strlen(b), NULL, NULL, NULL, 0) == CALLREC_OK);
    }
}

static void test_reentry(void)
{
    const callrec_event_type triggers[] = {CALLREC_EVENT_RECORDING_STARTED,
                                           CALLREC_EVENT_TONE_DETECTED,
                                           CALLREC_EVENT_SPEECH_STARTED,
                                           CALLREC_EVENT_COMPLETED};
    sig_buf b;
    sig_rng rng;
    sig_seed(&rng, 8);
    sig_init(&b, 16000);
    sig_silence(&b, 0.3);
    sig_append_speech(&b, "auth-thankyou", -6.0);
    sig_silence(&b, 0.2);
    sig_dtmf(&b, &rng, '5', -10, 0.1); /* not a stop tone */
    sig_silence(&b, 3.0);
    for (int action = 0; action < 3; action++) {
        for (int t = 0; t < 4; t++) {
            reentry r;
            memset(&r, 0, sizeof r);
            callrec_session_config cfg;
            callrec_session_config_default(&cfg);
            cfg.recording_dir = tmpdir;
            cfg.on_event = reenter;
            cfg.event_user = &r;
            r.on = triggers[t];
            r.action = action;
            CHECK(callrec_session_create(&cfg, &r.s) == CALLREC_OK);
            const char *req = "{\"playBeep\": false, \"maxRecordDurationInSeconds\": 2}";
            CHECK(record(r.s, req, NULL) == 0);
            CHECK(record(r.s, req, NULL) == 0);
            for (size_t pos = 0; pos + 320 <= b.n; pos += 320)
                if (callrec_session_process(r.s, b.x + pos, NULL, 320) != CALLREC_OK)
                    break;
            CHECK_MSG(r.fired, "action %d on event %d never fired", action, (int)triggers[t]);
            if (action == 0) {
                CHECK(callrec_session_pending(r.s) == 0);
                CHECK_STR(r.log.reason, "none");
                CHECK(callrec_session_process(r.s, b.x, NULL, 160) == CALLREC_ESTATE);
            } else if (action == 1 && triggers[t] != CALLREC_EVENT_COMPLETED) {
                CHECK(r.log.completed == 2 && callrec_session_pending(r.s) == 0);
            }
            callrec_session_hangup(r.s);
            /* Every operation queued got exactly one notification. */
            int queued = 2 + (action == 2);
            CHECK_MSG(r.log.completed == queued, "action %d on event %d: %d notifications for %d",
                      action, (int)triggers[t], r.log.completed, queued);
            callrec_session_destroy(r.s);
        }
    }
    sig_free(&b);
}

/* A hostile clientContext comes back exactly, as valid JSON, and never names a file. */
static void test_hostile_context(void)
{
    evlog l;
    callrec_session *s = make(&l, 16000);
    const char *req = "{\"clientContext\": \"../../etc/passwd\\\"}\\n\\u0001\\t<script>\", "
                      "\"maxRecordDurationInSeconds\": 1, \"playBeep\": false}";
    CHECK(callrec_session_record(s, req, strlen(req), NULL, NULL, NULL, 0) == 0);
    sig_buf b;
    sig_init(&b, 16000);
    sig_silence(&b, 1.5);
    drive(s, &l, &b, NULL);
    cJSON *doc = cJSON_Parse(l.notification);
    CHECK(doc != NULL);
    const cJSON *ctx = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "value"), 0),
                            "resourceData"),
        "clientContext");
    CHECK(cJSON_IsString(ctx) && strcmp(ctx->valuestring, "../../etc/passwd\"}\n\001\t<script>") == 0);
    /* The recording is named by the operation id, inside the recording folder. */
    CHECK(strncmp(l.recording, tmpdir, strlen(tmpdir)) == 0 && !strstr(l.recording, "passwd"));
    cJSON_Delete(doc);
    sig_free(&b);
    callrec_session_destroy(s);
}

static void test_files(void)
{
    evlog l;
    callrec_session *s = make(&l, 16000);
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/exists.wav", tmpdir);
    FILE *f = fopen(path, "w");
    fputs("keep me", f);
    fclose(f);
    CHECK(callrec_session_record(s, "{}", 2, path, NULL, err, sizeof err) == CALLREC_EEXIST);
    CHECK(strstr(err, "exists.wav: already exists") != NULL);
    f = fopen(path, "r");
    char buf[16] = "";
    CHECK(fgets(buf, sizeof buf, f) && strcmp(buf, "keep me") == 0);
    fclose(f);

    snprintf(path, sizeof path, "%s/missing-dir/x.wav", tmpdir);
    CHECK(callrec_session_record(s, "{}", 2, path, NULL, err, sizeof err) == CALLREC_EIO);
    CHECK(strstr(err, "missing-dir/x.wav: No such file or directory") != NULL);

    /* A bad request creates no file. */
    snprintf(path, sizeof path, "%s/bad-request.wav", tmpdir);
    CHECK(callrec_session_record(s, "{\"playBeep\": 2}", 15, path, NULL, err, sizeof err) ==
          CALLREC_EINVAL);
    CHECK(access(path, F_OK) != 0);
    callrec_session_destroy(s);

    /* A write failure (file size limit) ends the operation with unspecifiedError; what was
       written is still a valid WAV. */
    s = make(&l, 16000);
    snprintf(path, sizeof path, "%s/limited.wav", tmpdir);
    const char *req = "{\"maxRecordDurationInSeconds\": 10, \"playBeep\": false}";
    CHECK(callrec_session_record(s, req, strlen(req), path, NULL, err, sizeof err) == 0);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 64 * 1024;
    signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    sig_buf b;
    caller(&b, 0.2, "vm-intro", 5.0);
    drive(s, &l, &b, NULL);
    setrlimit(RLIMIT_FSIZE, &old);
    CHECK_STR(l.reason, "unspecifiedError");
    CHECK_STR(l.status, "failed");
    CHECK(strstr(l.notification, "recording write failed") != NULL);
    int64_t frames = wav_frames(path, NULL);
    CHECK_MSG(frames > 30000 && frames <= 32768, "kept %lld frames", (long long)frames);
    sig_free(&b);
    callrec_session_destroy(s);
}

static int play(callrec_session *s, const char *json, char *id)
{
    char e[512] = "";
    int rc = callrec_session_play_prompt(s, json, strlen(json), id, e, sizeof e);
    if (rc)
        fprintf(stderr, "playPrompt refused: %s\n", e);
    return rc;
}

static size_t speech_samples(const char *name)
{
    sig_buf p;
    sig_init(&p, 16000);
    sig_append_speech(&p, name, 0.0);
    size_t n = p.n;
    sig_free(&p);
    return n;
}

/* playPrompt: prompts back to back, its own notification, queueing with record operations,
   pre-emption by a record's barge-in, cancel, hang-up and a missing prompt. */
static void test_play_prompt(void)
{
    evlog l;
    sig_buf b;
    sig_init(&b, 16000);
    sig_silence(&b, 20.0);
    size_t intro = speech_samples("vm-intro"), bye = speech_samples("vm-goodbye");
    const char *two = "{\"prompts\": [{\"@odata.type\": \"#microsoft.graph.mediaPrompt\", "
                      "\"mediaInfo\": {\"uri\": \"vm-intro.wav\"}}, {\"mediaInfo\": "
                      "{\"uri\": \"vm-goodbye.wav\"}}], \"clientContext\": \"ctx-play\"}";

    /* Two prompts, then a record queued behind them: it starts when the prompts end. */
    callrec_session *s = make(&l, 16000);
    char play_id[CALLREC_ID_LEN] = "";
    CHECK(play(s, two, play_id) == 0);
    CHECK(record(s, "{\"maxRecordDurationInSeconds\": 1, \"playBeep\": false}", NULL) == 0);
    CHECK(callrec_session_pending(s) == 2);
    size_t total = intro + bye;
    CHECK(callrec_session_process(s, b.x, NULL, total + 2 * 160) == 0);
    CHECK(l.completed == 1);
    CHECK_STR(l.reason, "completedSuccessfully");
    CHECK_STR(l.status, "completed");
    CHECK(l.recording[0] == '\0');
    CHECK(strstr(l.notification, "\"#microsoft.graph.playPromptOperation\"") != NULL);
    CHECK(strstr(l.notification, "recordingLocation") == NULL);
    CHECK(strstr(l.notification, "\"clientContext\":\"ctx-play\"") != NULL);
    CHECK(strstr(l.notification, play_id) != NULL);
    int64_t pend = time_of(&l, CALLREC_EVENT_PROMPT_ENDED);
    CHECK_MSG(pend == (int64_t)total, "prompts ended at %lld, expected %zu", (long long)pend, total);
    /* The record operation started at the frame boundary where the prompts ended. */
    const rec_event *rs = find(&l, CALLREC_EVENT_RECORDING_STARTED);
    CHECK(rs != NULL && strcmp(rs->op, play_id) != 0);
    CHECK(callrec_session_process(s, b.x, NULL, 2 * SEC) == 0);
    CHECK(l.completed == 2);
    CHECK_STR(l.reason, "maxRecordDurationReached");
    callrec_session_destroy(s);

    /* The playout carries both prompts without a gap. */
    s = make(&l, 16000);
    sig_buf out, want;
    sig_init(&out, 16000);
    sig_silence(&out, 20.0);
    sig_init(&want, 16000);
    sig_append_speech(&want, "vm-intro", 0.0);
    sig_append_speech(&want, "vm-goodbye", 0.0);
    CHECK(play(s, two, NULL) == 0);
    CHECK(callrec_session_process(s, b.x, out.x, total + 4 * 160) == 0);
    double c = sig_correlation(out.x + 160, want.x, want.n);
    CHECK_MSG(c > 0.999, "two-prompt playout correlation %.4f", c);
    sig_free(&out);
    sig_free(&want);
    callrec_session_destroy(s);

    /* A record with bargeInAllowed pre-empts the playing prompt. */
    s = make(&l, 16000);
    CHECK(play(s, two, NULL) == 0);
    CHECK(callrec_session_process(s, b.x, NULL, SEC) == 0);
    CHECK(record(s, "{\"bargeInAllowed\": true, \"maxRecordDurationInSeconds\": 1}", NULL) == 0);
    CHECK(l.completed == 1);
    CHECK_STR(l.reason, "mediaOperationCanceled");
    CHECK_STR(l.status, "failed");
    CHECK(strstr(l.notification, "\"code\":400,\"subcode\":8508,\"message\":\"Action failed, "
                                 "the operation was cancelled.\"") != NULL);
    /* ... and a playPrompt queued behind a record waits for it. */
    CHECK(play(s, two, NULL) == 0);
    CHECK(callrec_session_process(s, b.x, NULL, SEC / 2) == 0);
    CHECK(find(&l, CALLREC_EVENT_BEEP_STARTED) != NULL);
    CHECK(callrec_session_cancel(s) == 0);
    CHECK(l.completed == 3);
    CHECK_STR(l.reason, "mediaOperationCanceled");
    callrec_session_destroy(s);

    /* Hang-up during the prompts: canceled, with the call's end noted. */
    s = make(&l, 16000);
    CHECK(play(s, two, NULL) == 0);
    CHECK(callrec_session_process(s, b.x, NULL, SEC) == 0);
    CHECK(callrec_session_hangup(s) == 0);
    CHECK_STR(l.reason, "mediaOperationCanceled");
    CHECK(strstr(l.notification, "\"@callrec.callEnded\":true") != NULL);
    callrec_session_destroy(s);

    /* A prompt that cannot be loaded: failed at once, the file named. */
    s = make(&l, 16000);
    CHECK(play(s, "{\"prompts\": [{\"mediaInfo\": {\"uri\": \"vm-intro.wav\"}}, "
                  "{\"mediaInfo\": {\"uri\": \"no-such-prompt.wav\"}}]}", NULL) == 0);
    CHECK(callrec_session_process(s, b.x, NULL, 160) == 0);
    CHECK(l.completed == 1);
    CHECK_STR(l.reason, "unknown");
    CHECK_STR(l.status, "failed");
    CHECK(strstr(l.detail, "no-such-prompt.wav") != NULL);
    CHECK(strstr(l.notification, "no-such-prompt.wav") == NULL);
    CHECK(find(&l, CALLREC_EVENT_PROMPT_STARTED) == NULL);

    /* Refused bodies name the field. */
    char err[512] = "";
    const char *bad = "{\"prompts\": []}";
    CHECK(callrec_session_play_prompt(s, bad, strlen(bad), NULL, err, sizeof err) == CALLREC_EINVAL);
    CHECK_STR(err, "prompts: must hold at least 1 mediaPrompt, got none");
    bad = "{\"prompts\": [{\"mediaInfo\": {\"uri\": \"a.wav\"}}], \"playBeep\": true}";
    CHECK(callrec_session_play_prompt(s, bad, strlen(bad), NULL, err, sizeof err) == CALLREC_EINVAL);
    CHECK_STR(err, "playBeep: not a field of the playPrompt request; accepted: prompts, "
                   "clientContext");
    CHECK(callrec_session_pending(s) == 0);
    callrec_session_destroy(s);
    sig_free(&b);
}

/* The prompt cache: one decode for many sessions, the bound, files changed on disk. */
static void test_prompt_cache(void)
{
    size_t intro = speech_samples("vm-intro");
    callrec_prompt_cache *cache = NULL;
    /* Room for one copy of vm-intro and a little more. */
    CHECK(callrec_prompt_cache_create(intro * 2 + 1000, &cache) == CALLREC_OK);
    evlog l[3];
    callrec_session *s[3];
    sig_buf b;
    sig_init(&b, 16000);
    sig_silence(&b, 1.0);
    const char *intro_req = "{\"prompts\": [{\"mediaInfo\": {\"uri\": \"vm-intro.wav\"}}]}";
    for (int i = 0; i < 3; i++) {
        callrec_session_config cfg;
        callrec_session_config_default(&cfg);
        cfg.recording_dir = tmpdir;
        cfg.prompt_base_dir = SPEECH_DIR;
        cfg.on_event = on_event;
        cfg.event_user = &l[i];
        cfg.prompt_cache = cache;
        memset(&l[i], 0, sizeof l[i]);
        CHECK(callrec_session_create(&cfg, &s[i]) == CALLREC_OK);
        CHECK(play(s[i], intro_req, NULL) == 0);
    }
    callrec_prompt_cache_stats st;
    callrec_prompt_cache_get_stats(cache, &st);
    CHECK_MSG(st.misses == 1 && st.hits == 2 && st.entries == 1, "misses %llu hits %llu",
              (unsigned long long)st.misses, (unsigned long long)st.hits);
    CHECK(st.bytes == intro * 2);

    /* A second prompt does not fit beside the first while the first plays: both stay (in use);
       once nothing plays, the least recently used goes. */
    CHECK(play(s[0], "{\"prompts\": [{\"mediaInfo\": {\"uri\": \"vm-goodbye.wav\"}}]}",
               NULL) == 0);
    callrec_prompt_cache_get_stats(cache, &st);
    CHECK(st.entries == 2 && st.evictions == 0);
    for (int i = 0; i < 3; i++)
        callrec_session_destroy(s[i]);
    callrec_prompt_cache_get_stats(cache, &st);
    CHECK_MSG(st.entries == 1 && st.evictions == 1 && st.bytes <= intro * 2 + 1000,
              "entries %zu evictions %llu bytes %zu", st.entries,
              (unsigned long long)st.evictions, st.bytes);

    /* A file replaced on disk is decoded again; the playout is the new audio. */
    char path[600];
    snprintf(path, sizeof path, "%s/changing.wav", tmpdir);
    sig_buf tone;
    sig_init(&tone, 16000);
    sig_rng tr;
    sig_seed(&tr, 3);
    sig_tones(&tone, &tr, 440.0, -10.0, 0.0, -99.0, 0.5);
    CHECK(sig_write_wav(&tone, path) == 0);
    char req[800];
    snprintf(req, sizeof req, "{\"prompts\": [{\"mediaInfo\": {\"uri\": \"%s\"}}]}", path);
    callrec_session_config cfg;
    callrec_session_config_default(&cfg);
    cfg.recording_dir = tmpdir;
    cfg.on_event = on_event;
    cfg.event_user = &l[0];
    cfg.prompt_cache = cache;
    memset(&l[0], 0, sizeof l[0]);
    CHECK(callrec_session_create(&cfg, &s[0]) == CALLREC_OK);
    CHECK(play(s[0], req, NULL) == 0);
    CHECK(callrec_session_process(s[0], b.x, NULL, b.n) == 0);
    CHECK_STR(l[0].reason, "completedSuccessfully");
    CHECK(time_of(&l[0], CALLREC_EVENT_PROMPT_ENDED) == (int64_t)tone.n);
    sig_free(&tone);
    sig_init(&tone, 16000);
    sig_tones(&tone, &tr, 440.0, -10.0, 0.0, -99.0, 0.25);
    unlink(path);
    CHECK(sig_write_wav(&tone, path) == 0);
    memset(&l[0], 0, sizeof l[0]);
    CHECK(play(s[0], req, NULL) == 0);
    CHECK(callrec_session_process(s[0], b.x, NULL, b.n) == 0);
    CHECK_MSG(time_of(&l[0], CALLREC_EVENT_PROMPT_ENDED) == (int64_t)tone.n,
              "replaced prompt ended at %lld, expected %zu",
              (long long)time_of(&l[0], CALLREC_EVENT_PROMPT_ENDED), tone.n);
    callrec_prompt_cache_get_stats(cache, &st);
    CHECK(st.misses == 4);
    callrec_session_destroy(s[0]);
    sig_free(&tone);
    sig_free(&b);
    callrec_prompt_cache_destroy(cache);
}

/* Samples lost by a live driver reach the callback as an XRUN event at the running operation's
   time (not 0), and through the same protection as every event: a hang-up from inside it takes
   effect when it returns. */
typedef struct xrun_log {
    callrec_session *s;
    int64_t t;
    int xruns, completed;
    char reason[40];
} xrun_log;

static void on_xrun(void *user, const callrec_event *e)
{
    xrun_log *x = user;
    if (e->type == CALLREC_EVENT_XRUN) {
        x->xruns++;
        x->t = e->t_samples;
        CHECK(e->overruns == 7 && strlen(e->operation_id) == 36);
        CHECK(callrec_session_hangup(x->s) == CALLREC_OK); /* deferred until we return */
        CHECK(callrec_session_pending(x->s) == 1);
    } else if (e->type == CALLREC_EVENT_COMPLETED) {
        x->completed++;
        snprintf(x->reason, sizeof x->reason, "%s",
                 callrec_completion_reason_name(e->completion_reason));
    }
}

static void test_xrun_event(void)
{
    xrun_log x = {0};
    callrec_session_config cfg;
    callrec_session_config_default(&cfg);
    cfg.recording_dir = tmpdir;
    cfg.on_event = on_xrun;
    cfg.event_user = &x;
    CHECK(callrec_session_create(&cfg, &x.s) == CALLREC_OK);
    CHECK(record(x.s, "{\"playBeep\": false}", NULL) == 0);
    int16_t quiet[8005] = {0};
    CHECK(callrec_session_process(x.s, quiet, NULL, 8005) == CALLREC_OK);
    cr_session_set_xruns(x.s, 0, 0); /* nothing lost: nothing said */
    CHECK(x.xruns == 0);
    cr_session_set_xruns(x.s, 7, 0);
    CHECK(x.xruns == 1 && x.t == 8005);
    CHECK(x.completed == 1);
    CHECK_STR(x.reason, "none");
    cr_session_set_xruns(x.s, 7, 0); /* unchanged: not said again */
    CHECK(x.xruns == 1);
    callrec_session_destroy(x.s);
}

/* A callback that hangs up as the window opens: process_frames() says the call took the first
   10 ms frame of the buffer and not the rest. */
static callrec_session *used_session;

static void hang_up_at_start(void *user, const callrec_event *e)
{
    (void)user;
    if (e->type == CALLREC_EVENT_RECORDING_STARTED)
        callrec_session_hangup(used_session);
}

static void test_frames_used(int rate)
{
    callrec_session_config cfg;
    callrec_session_config_default(&cfg);
    cfg.recording_dir = tmpdir;
    cfg.sample_rate_hz = rate;
    cfg.on_event = hang_up_at_start;
    CHECK(callrec_session_create(&cfg, &used_session) == CALLREC_OK);
    CHECK(record(used_session, "{\"playBeep\": false}", NULL) == 0);
    static int16_t quiet[1000];
    size_t used = 12345;
    CHECK(callrec_session_process_frames(used_session, quiet, NULL, 1000, &used) == CALLREC_OK);
    CHECK_MSG(used == (size_t)(rate / 100), "%d Hz: %zu of 1000 frames used, want %d", rate, used,
              rate / 100);
    CHECK(callrec_session_process_frames(used_session, quiet, NULL, 1000, &used) ==
          CALLREC_ESTATE && used == 0);
    callrec_session_destroy(used_session);
    /* Without a hang-up every frame is taken. */
    cfg.on_event = NULL;
    CHECK(callrec_session_create(&cfg, &used_session) == CALLREC_OK);
    CHECK(callrec_session_process_frames(used_session, quiet, NULL, 1000, &used) == CALLREC_OK &&
          used == 1000);
    callrec_session_destroy(used_session);
}

int main(void)
{
    if (support_scratch_dir(tmpdir, sizeof tmpdir, "session") != 0)
        return 1;
    test_api_errors();
    test_initial_silence();
    test_max_duration();
    test_max_silence(16000);
    test_max_silence(8000);
    test_max_silence(44100);
    test_stop_tone(16000);
    test_stop_tone(8000);
    test_stop_tone(48000);
    test_speech_under_way();
    test_prompt();
    test_play_prompt();
    test_prompt_cache();
    test_hangup_cancel_queue();
    test_requeue_from_callback();
    test_reentry();
    test_hostile_context();
    test_files();
    test_xrun_event();
    test_frames_used(16000);
    test_frames_used(8000);
    support_remove_dir(tmpdir);
    return harness_finish("test_session");
}
