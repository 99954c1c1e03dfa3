/* An example bot: N simulated calls on T threads, each driven with 20 ms frames in and out as a
   media stack would, through the public API only. Every call runs a random script of
   operations: playPrompt with one or two prompts, record with a prompt and the caller pressing
   '#', saying nothing, answering and falling quiet, or talking past the limit; barge-ins that
   pre-empt what is queued or playing; cancels; and hang-ups in the middle of an answer. The
   prompts come from one shared prompt cache.

   Every operation queued must get exactly one notification, with the completionReason its
   script implies, its own id and clientContext, the right operation type, and for a recording
   a WAV file whose length is the one the notification states.

   usage: example_bot [--calls N] [--threads T] [--ops K] [--seed S] */
#include <pthread.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "callrec.h"
#include "harness.h"
#include "signals.h"
#include "support.h"

#define RATE 16000
#define FRAME 320 /* 20 ms */
#define MAX_OPS_PER_CALL 64

/* What the caller does once a recording window opens, and what the operation must end with. */
typedef enum caller_plan {
    PLAN_STOP_TONE,    /* answers, then presses '#': stopToneDetected */
    PLAN_SILENT,       /* says nothing: initialSilenceTimeout */
    PLAN_QUIET_AFTER,  /* answers, then falls quiet: maxSilenceTimeout */
    PLAN_TOO_LONG,     /* talks past the limit: maxRecordDurationReached */
    PLAN_HANG_UP,      /* hangs up one second into the answer: none (call ended) */
    PLAN_COUNT
} caller_plan;

static const char *const plan_reason[PLAN_COUNT] = {
    "stopToneDetected", "initialSilenceTimeout", "maxSilenceTimeout", "maxRecordDurationReached",
    "none"};

/* The caller's audio for each plan, from the moment the window opens (shared, read-only). */
static sig_buf tracks[PLAN_COUNT];

static const char *const prompt_files[] = {"vm-intro.wav", "hello.wav", "auth-thankyou.wav",
                                           "vm-goodbye.wav"};

typedef struct op_record {
    char id[CALLREC_ID_LEN];
    int play;               /* a playPrompt operation */
    char expect[40];        /* completionReason the script implies */
    char context[48];
    char *notification;     /* as delivered */
    char *recording;        /* the file, if one was kept */
    int completions;
} op_record;

typedef struct call {
    int index;
    callrec_session *s;
    sig_rng rng;
    op_record ops[MAX_OPS_PER_CALL];
    int n_ops, ops_wanted;
    const sig_buf *track;   /* the caller's audio while a window is open */
    size_t track_pos;
    caller_plan plan;       /* of the record operation in its window */
    int64_t barge_at;       /* frames: queue a barge-in at this frame, -1: none */
    int64_t frame;
    int64_t hangup_at;      /* frame at which the caller hangs up, -1: none */
    int ended;
    int unexpected;         /* events for operations this call never queued */
} call;

static op_record *find_op(call *c, const char *id)
{
    for (int i = 0; i < c->n_ops; i++)
        if (strcmp(c->ops[i].id, id) == 0)
            return &c->ops[i];
    return NULL;
}

static void on_event(void *user, const callrec_event *e)
{
    call *c = user;
    op_record *o = find_op(c, e->operation_id);
    if (!o) {
        c->unexpected++;
        return;
    }
    if (e->type == CALLREC_EVENT_RECORDING_STARTED) {
        c->track = &tracks[c->plan];
        c->track_pos = 0;
        if (c->plan == PLAN_HANG_UP)
            c->hangup_at = c->frame + 50; /* one second into the answer */
    } else if (e->type == CALLREC_EVENT_COMPLETED) {
        o->completions++;
        free(o->notification);
        free(o->recording);
        o->notification = e->notification_json ? strdup(e->notification_json) : NULL;
        o->recording = e->recording_path ? strdup(e->recording_path) : NULL;
        c->track = NULL;
    }
}

static const char *random_prompt(call *c)
{
    return prompt_files[(int)(sig_uniform(&c->rng) * 4)];
}

static op_record *new_op(call *c, int play, const char *expect)
{
    op_record *o = &c->ops[c->n_ops++];
    memset(o, 0, sizeof *o);
    o->play = play;
    snprintf(o->expect, sizeof o->expect, "%s", expect);
    snprintf(o->context, sizeof o->context, "call-%d-op-%d", c->index, c->n_ops - 1);
    return o;
}

/* Queues a record operation for `plan` (bargeInAllowed if barge). */
static int queue_record(call *c, caller_plan plan, int barge)
{
    op_record *o = new_op(c, 0, plan_reason[plan]);
    char body[512];
    snprintf(body, sizeof body,
             "{\"prompts\": [{\"mediaInfo\": {\"uri\": \"%s\"}}], \"bargeInAllowed\": %s, "
             "\"playBeep\": %s, \"stopTones\": [\"#\"], \"initialSilenceTimeoutInSeconds\": 1, "
             "\"maxSilenceTimeoutInSeconds\": 1, \"maxRecordDurationInSeconds\": 3, "
             "\"clientContext\": \"%s\"}",
             random_prompt(c), barge ? "true" : "false", sig_uniform(&c->rng) < 0.5 ? "true" : "false",
             o->context);
    /* On barge-in everything pending is pre-empted first. */
    if (barge)
        for (int i = 0; i < c->n_ops - 1; i++)
            if (c->ops[i].completions == 0)
                snprintf(c->ops[i].expect, sizeof c->ops[i].expect, "%s",
                         c->ops[i].play ? "mediaOperationCanceled" : "operationCanceled");
    char err[256];
    if (callrec_session_record(c->s, body, strlen(body), NULL, o->id, err, sizeof err)) {
        fprintf(stderr, "call %d: record refused: %s\n", c->index, err);
        return -1;
    }
    c->plan = plan;
    return 0;
}

static int queue_play(call *c)
{
    op_record *o = new_op(c, 1, "completedSuccessfully");
    char body[512];
    int two = sig_uniform(&c->rng) < 0.5;
    snprintf(body, sizeof body, "{\"prompts\": [{\"mediaInfo\": {\"uri\": \"%s\"}}%s%s%s], "
             "\"clientContext\": \"%s\"}", random_prompt(c),
             two ? ", {\"mediaInfo\": {\"uri\": \"" : "", two ? random_prompt(c) : "",
             two ? "\"}}" : "", o->context);
    char err[256];
    if (callrec_session_play_prompt(c->s, body, strlen(body), o->id, err, sizeof err)) {
        fprintf(stderr, "call %d: playPrompt refused: %s\n", c->index, err);
        return -1;
    }
    return 0;
}

/* The bot's turn: when nothing is pending, the next step of the script. */
static void bot_turn(call *c)
{
    if (c->ended)
        return;
    if (c->hangup_at >= 0 && c->frame >= c->hangup_at) {
        /* Every pending operation completes; the recording keeps its audio. */
        for (int i = 0; i < c->n_ops; i++)
            if (c->ops[i].completions == 0 && c->ops[i].play)
                snprintf(c->ops[i].expect, sizeof c->ops[i].expect, "mediaOperationCanceled");
        callrec_session_hangup(c->s);
        c->ended = 1;
        return;
    }
    if (c->barge_at >= 0 && c->frame >= c->barge_at) {
        c->barge_at = -1;
        queue_record(c, (caller_plan)(sig_uniform(&c->rng) * PLAN_HANG_UP), 1);
        return;
    }
    if (callrec_session_pending(c->s) > 0)
        return;
    if (c->n_ops + 3 > c->ops_wanted || c->n_ops + 3 > MAX_OPS_PER_CALL) {
        callrec_session_hangup(c->s); /* the bot is done: it hangs up */
        c->ended = 1;
        return;
    }
    double u = sig_uniform(&c->rng);
    if (u < 0.3) {
        /* A prompt, with the question queued behind it. */
        queue_play(c);
        queue_record(c, (caller_plan)(sig_uniform(&c->rng) * PLAN_COUNT), 0);
    } else if (u < 0.45) {
        /* A prompt the bot interrupts with a new question half a second in. */
        queue_play(c);
        c->barge_at = c->frame + 25;
    } else if (u < 0.55) {
        /* A question the bot withdraws: cancel after 0.4 s. */
        queue_record(c, PLAN_SILENT, 0);
        snprintf(c->ops[c->n_ops - 1].expect, sizeof c->ops[0].expect, "operationCanceled");
        c->barge_at = -1;
        c->hangup_at = -1;
        c->track = NULL;
        for (int f = 0; f < 20; f++) {
            static const int16_t quiet[FRAME];
            int16_t out[FRAME];
            callrec_session_process(c->s, quiet, out, FRAME);
            c->frame++;
        }
        callrec_session_cancel(c->s);
    } else {
        queue_record(c, (caller_plan)(sig_uniform(&c->rng) * PLAN_COUNT), 0);
    }
}

/* The caller's next 20 ms. */
static void caller_audio(call *c, int16_t *in)
{
    memset(in, 0, FRAME * sizeof *in);
    if (c->track && c->track_pos < c->track->n) {
        size_t n = c->track->n - c->track_pos < FRAME ? c->track->n - c->track_pos : FRAME;
        memcpy(in, c->track->x + c->track_pos, n * sizeof *in);
        c->track_pos += n;
    }
}

typedef struct worker {
    call *calls;
    int first, step, n_calls;
    uint64_t frames_out_nonzero;
} worker;

static void *run_worker(void *arg)
{
    worker *w = arg;
    int16_t in[FRAME], out[FRAME];
    for (int live = 1; live;) {
        live = 0;
        for (int i = w->first; i < w->n_calls; i += w->step) {
            call *c = &w->calls[i];
            bot_turn(c);
            if (c->ended)
                continue;
            live = 1;
            caller_audio(c, in);
            callrec_session_process(c->s, in, out, FRAME);
            c->frame++;
            for (int k = 0; k < FRAME; k++)
                if (out[k]) {
                    w->frames_out_nonzero++;
                    break;
                }
        }
    }
    return NULL;
}

static int64_t wav_ms(const char *path)
{
    /* A strict walk here; Python's wave reads them all once the calls are done. */
    char why[512];
    CHECK_MSG(support_wav_walk(path, NULL, why, sizeof why) == 0, "%s", why);
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf)
        return -1;
    sf_close(sf);
    return info.samplerate == RATE && info.channels == 1 ? info.frames / 16 : -2;
}

/* Checks one operation's notification against its script. */
static void check_op(const call *c, const op_record *o)
{
    CHECK_MSG(o->completions == 1, "call %d %s: %d notifications", c->index, o->context,
              o->completions);
    if (!o->notification)
        return;
    cJSON *doc = cJSON_Parse(o->notification);
    CHECK_MSG(doc != NULL, "call %d %s: notification is not JSON", c->index, o->context);
    if (!doc)
        return;
    const cJSON *n = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "value"), 0);
    const cJSON *d = cJSON_GetObjectItem(n, "resourceData");
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(d, "@odata.type"));
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(d, "id"));
    const char *reason = cJSON_GetStringValue(cJSON_GetObjectItem(d, "completionReason"));
    const char *ctx = cJSON_GetStringValue(cJSON_GetObjectItem(d, "clientContext"));
    const char *location = cJSON_GetStringValue(cJSON_GetObjectItem(d, "recordingLocation"));
    CHECK_STR(type, o->play ? "#microsoft.graph.playPromptOperation"
                            : "#microsoft.graph.recordOperation");
    CHECK_STR(id, o->id);
    CHECK_STR(ctx, o->context);
    CHECK_MSG(reason && strcmp(reason, o->expect) == 0, "call %d %s: %s, expected %s", c->index,
              o->context, reason ? reason : "(none)", o->expect);
    if (o->play) {
        CHECK(location == NULL && o->recording == NULL);
    } else if (o->recording) {
        /* The file is the one the notification names, as long as it says. */
        CHECK(location && strstr(location, strrchr(o->recording, '/')) != NULL);
        double ms = cJSON_GetNumberValue(cJSON_GetObjectItem(d, "@callrec.recordingDurationMs"));
        int64_t got = wav_ms(o->recording);
        CHECK_MSG(got >= 0 && (double)got == ms, "call %d %s: WAV %lld ms, notification %.0f ms",
                  c->index, o->context, (long long)got, ms);
        if (strcmp(o->expect, "initialSilenceTimeout") == 0)
            CHECK_MSG(got == 1000, "call %d %s: initial silence kept %lld ms", c->index,
                      o->context, (long long)got);
        if (strcmp(o->expect, "maxRecordDurationReached") == 0)
            CHECK_MSG(got == 3000, "call %d %s: duration limit kept %lld ms", c->index,
                      o->context, (long long)got);
    } else {
        /* No file: canceled before the window opened, or failed. */
        CHECK(location == NULL);
        CHECK_MSG(strcmp(o->expect, "operationCanceled") == 0 || strcmp(o->expect, "none") == 0,
                  "call %d %s: %s without a recording", c->index, o->context, o->expect);
    }
    cJSON_Delete(doc);
}

static void build_tracks(void)
{
    sig_rng r;
    sig_seed(&r, 11);
    for (int p = 0; p < PLAN_COUNT; p++)
        sig_init(&tracks[p], RATE);
    /* '#' after the answer */
    sig_silence(&tracks[PLAN_STOP_TONE], 0.3);
    sig_append_speech(&tracks[PLAN_STOP_TONE], "auth-thankyou", -6.0);
    sig_silence(&tracks[PLAN_STOP_TONE], 0.2);
    sig_dtmf(&tracks[PLAN_STOP_TONE], &r, '#', -10.0, 0.1);
    sig_silence(&tracks[PLAN_STOP_TONE], 3.0);
    /* nothing at all */
    sig_silence(&tracks[PLAN_SILENT], 3.0);
    /* a short answer, then quiet */
    sig_silence(&tracks[PLAN_QUIET_AFTER], 0.2);
    sig_append_speech(&tracks[PLAN_QUIET_AFTER], "hello", -6.0);
    sig_silence(&tracks[PLAN_QUIET_AFTER], 3.0);
    /* talking on and on */
    sig_silence(&tracks[PLAN_TOO_LONG], 0.1);
    while (tracks[PLAN_TOO_LONG].n < 5 * RATE)
        sig_append_speech(&tracks[PLAN_TOO_LONG], "vm-intro", -6.0);
    /* an answer cut short by the hang-up */
    sig_silence(&tracks[PLAN_HANG_UP], 0.2);
    sig_append_speech(&tracks[PLAN_HANG_UP], "vm-intro", -6.0);
}

int main(int argc, char **argv)
{
    int n_calls = 64, n_threads = 4, ops_wanted = 12;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--calls") == 0 && i + 1 < argc)
            n_calls = atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            n_threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc)
            ops_wanted = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: example_bot [--calls N] [--threads T] [--ops K] [--seed S]\n");
            return 2;
        }
    }
    if (n_calls < 1 || n_threads < 1 || n_threads > 64 || ops_wanted < 4)
        return 2;
    char dir[] = "/tmp/callrec-bot-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    build_tracks();

    callrec_prompt_cache *cache = NULL;
    CHECK(callrec_prompt_cache_create(4u << 20, &cache) == CALLREC_OK);
    call *calls = calloc((size_t)n_calls, sizeof *calls);
    for (int i = 0; i < n_calls; i++) {
        call *c = &calls[i];
        c->index = i;
        c->ops_wanted = ops_wanted;
        c->barge_at = c->hangup_at = -1;
        sig_seed(&c->rng, seed * 1000003u + (uint64_t)i);
        callrec_session_config cfg;
        callrec_session_config_default(&cfg);
        cfg.recording_dir = dir;
        cfg.prompt_base_dir = SPEECH_DIR;
        cfg.prompt_cache = cache;
        cfg.on_event = on_event;
        cfg.event_user = c;
        CHECK(callrec_session_create(&cfg, &c->s) == CALLREC_OK);
    }

    pthread_t threads[64];
    worker workers[64];
    double t0 = support_now_s();
    for (int t = 0; t < n_threads; t++) {
        workers[t] = (worker){.calls = calls, .first = t, .step = n_threads, .n_calls = n_calls};
        CHECK(pthread_create(&threads[t], NULL, run_worker, &workers[t]) == 0);
    }
    uint64_t nonzero = 0;
    for (int t = 0; t < n_threads; t++) {
        pthread_join(threads[t], NULL);
        nonzero += workers[t].frames_out_nonzero;
    }
    double wall = support_now_s() - t0;

    int ops = 0, by_reason[PLAN_COUNT + 4] = {0};
    int64_t frames = 0;
    for (int i = 0; i < n_calls; i++) {
        call *c = &calls[i];
        CHECK_MSG(c->unexpected == 0, "call %d: %d events of unknown operations", i, c->unexpected);
        for (int k = 0; k < c->n_ops; k++) {
            check_op(c, &c->ops[k]);
            for (int p = 0; p < PLAN_COUNT; p++)
                by_reason[p] += strcmp(c->ops[k].expect, plan_reason[p]) == 0;
            by_reason[PLAN_COUNT] += strcmp(c->ops[k].expect, "completedSuccessfully") == 0;
            by_reason[PLAN_COUNT + 1] += strstr(c->ops[k].expect, "anceled") != NULL;
            free(c->ops[k].notification);
            free(c->ops[k].recording);
        }
        ops += c->n_ops;
        frames += c->frame;
        callrec_session_destroy(c->s);
    }
    /* The script must have exercised every kind of ending. */
    for (int p = 0; p < PLAN_COUNT + 2; p++)
        CHECK_MSG(by_reason[p] > 0 || n_calls < 8, "no operation ended as kind %d", p);
    CHECK(nonzero > 0); /* prompts and beeps reached the media stack */

    callrec_prompt_cache_stats st;
    callrec_prompt_cache_get_stats(cache, &st);
    CHECK_MSG(st.entries <= 4 && st.hits > st.misses, "cache: %zu entries, %llu hits, %llu misses",
              st.entries, (unsigned long long)st.hits, (unsigned long long)st.misses);
    callrec_prompt_cache_destroy(cache);
    printf("example_bot: %d calls on %d threads, %d operations (%d stop tone, %d initial silence, "
           "%d max silence, %d duration limit, %d hang-up, %d prompts played, %d canceled), "
           "%.0f s of call audio in %.2f s; prompt cache %llu hits, %llu decodes\n",
           n_calls, n_threads, ops, by_reason[0], by_reason[1], by_reason[2], by_reason[3],
           by_reason[4], by_reason[5], by_reason[6], (double)frames * FRAME / RATE, wall,
           (unsigned long long)st.hits, (unsigned long long)st.misses);
    int files = 0;
    char why[512];
    CHECK_MSG(support_wav_strict_folder(dir, &files, why, sizeof why) == 0, "%s", why);
    CHECK(files > 0);
    free(calls);
    for (int p = 0; p < PLAN_COUNT; p++)
        sig_free(&tracks[p]);
    support_empty_folder(dir);
    rmdir(dir);
    return harness_finish("example_bot");
}
