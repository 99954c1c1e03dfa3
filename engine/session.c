/* The session: one call's operation queue and the record state machine, driven frame by
   frame on the sample clock. */
#include "callrec.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../dsp/dtmf.h"
#include "../dsp/resample.h"
#include "../dsp/tone.h"
#include "../dsp/endpoint.h"
#include "../dsp/vad.h"
#include "cache.h"
#include "filters.h"
#include "notify.h"
#include "prompt.h"
#include "random.h"
#include "recorder.h"
#include "request.h"
#include "session_internal.h"

#define RATE CALLREC_INTERNAL_RATE_HZ
#define FRAME (RATE / 100) /* 10 ms: the step of every timer and detector */
#define MAX_OPS 8
/* The beep: 1 kHz (clear of every DTMF frequency by > 5 %), -10 dBm0, 250 ms, 5 ms ramps. */
#define BEEP_HZ 1000.0
#define BEEP_DBM0 (-10.0)
#define BEEP_SAMPLES (RATE / 4)
#define BEEP_RAMP (RATE / 200)
/* Input arrives at the configured rate; it is converted in chunks of this many samples. */
#define CONVERT_CHUNK 480
#define MSG_LEN 512
/* The stop tone is cut this far ahead of its estimated onset. The dtmf test holds the estimate
   within 4.5 ms of the true onset, its mean between 3 ms early and 1 ms late: cut 3 ms ahead,
   a late estimate can leave at most 1.5 ms of the tone's rise in the file. */
#define TRIM_MARGIN (RATE * 3 / 1000)
/* After this many silent frames the playout converter's history holds only zeros, and silence
   goes out without it: its rows span at most CR_RS_MAX_TAPS 16 kHz samples. */
#define OUT_QUIET_FRAMES 2
_Static_assert(CR_RS_MAX_TAPS <= OUT_QUIET_FRAMES * FRAME, "the playout converter's history");

typedef enum op_phase { PHASE_QUEUED, PHASE_PROMPT, PHASE_BEEP, PHASE_RECORDING } op_phase;

enum { DEFER_CANCEL = 1, DEFER_HANGUP = 2, DEFER_BARGE = 4, DEFER_MEDIA_TIMEOUT = 8 };

typedef struct op {
    /* what every frame reads first */
    op_phase phase;
    int speech_heard;
    int barge_pending;         /* queued with bargeInAllowed from a callback: pre-empts later */
    int64_t start;             /* call time the operation started */
    int64_t rec_start;         /* call time the recording window opened */
    int n_clips, clip;         /* clips loaded; the one playing */
    size_t play_pos;           /* position in clips[clip] */
    cr_tone beep;
    cr_recorder rec;
    /* the rest */
    char id[CALLREC_ID_LEN];
    cr_request req;            /* req.kind: a record or a playPrompt operation */
    cr_clip clips[CR_MAX_PROMPTS]; /* the prompts, played one after another */
    int64_t prompt_total;      /* samples of all prompts */
    char *prompt_error;        /* set: a prompt could not be loaded */
    char *rec_path;            /* record: absolute path of the recording */
    char *note;                /* its notification is written here (sized at queue time) */
    size_t note_cap;
    char token[CR_TOKEN_LEN];
} op;

struct callrec_session {
    callrec_session_config cfg;
    char *recording_dir, *prompt_base_dir;
    char call_id[CALLREC_ID_LEN];
    int hung_up;
    unsigned etag;

    op *ops[MAX_OPS];          /* ops[0] runs; the others wait */
    int n_ops;

    const cr_rs_filter *in_filter, *out_filter; /* NULL at 16 kHz: nothing to convert */
    cr_rs in_rs, out_rs;       /* the converters, when there are filters */
    int64_t in_frames;         /* input received at the configured rate (with in_rs) */
    int64_t converted;         /* 16 kHz samples in_rs has produced from it */
    int16_t convert[2 * CONVERT_CHUNK];
    int16_t frame[FRAME];      /* caller audio being gathered, 16 kHz */
    int frame_fill;
    int16_t play[FRAME];       /* playout of the current frame, 16 kHz */
    int16_t *out_fifo;         /* playout at the configured rate, waiting to go out */
    size_t fifo_len, fifo_cap, fifo_head;
    size_t fifo_silent;        /* the last fifo_silent samples are silence, not yet written */
    int16_t *out_conv;
    size_t out_conv_cap;
    int out_quiet;             /* frames of silence out_rs has been fed in a row */
    int64_t out_frac;          /* skipped silence, in 16 kHz samples times the rate, not yet out */

    cr_dtmf dtmf;
    cr_vad vad;
    cr_endpoint ep;
    int speaking;              /* the endpointer is in speech */
    int64_t speech_end;        /* call time the last speech ended, -1 if never */

    /* Event callbacks may call back into the session. Whatever would end operations while the
       engine is still using them (cancel, hang-up, a barge-in) waits until the callback
       returns to the engine and is applied at the next safe point. */
    int in_callback;
    unsigned deferred;         /* DEFER_* */
    int deferred_silent_ms;    /* for DEFER_MEDIA_TIMEOUT */

    int64_t now;               /* call time at the start of the current frame */
    int64_t guard_until;       /* echo guard: detectors ignore audio before this call time */
    int has_xruns;
    uint64_t overruns, underruns;
    char msg[MSG_LEN];
};

const char *callrec_version(void) { return CALLREC_VERSION_STRING; }

/* The internal reasons are the public ones, in the same order. */
_Static_assert((int)CR_REASON_OPERATION_CANCELED == (int)CALLREC_REASON_OPERATION_CANCELED &&
                   (int)CR_REASON_CALL_ENDED == (int)CALLREC_REASON_NONE &&
                   (int)CR_REASON_PLAY_FAILED == (int)CALLREC_REASON_UNKNOWN &&
                   (int)CR_REASON_COUNT == (int)CALLREC_REASON_UNKNOWN + 1,
               "cr_reason and callrec_completion_reason must match");

const char *callrec_completion_reason_name(callrec_completion_reason reason)
{
    if ((int)reason < 0 || (int)reason >= (int)CR_REASON_COUNT)
        return "unknown";
    return cr_reason_get((cr_reason)reason)->name;
}

const char *callrec_operation_status_name(callrec_operation_status status)
{
    return status == CALLREC_OPERATION_FAILED ? "failed" : "completed";
}

const char *callrec_strerror(callrec_status status)
{
    switch (status) {
    case CALLREC_OK: return "success";
    case CALLREC_EINVAL: return "invalid argument or request";
    case CALLREC_ENOMEM: return "out of memory";
    case CALLREC_EIO: return "file could not be created, read or written";
    case CALLREC_EEXIST: return "recording file already exists";
    case CALLREC_EFULL: return "operation queue is full";
    case CALLREC_ESTATE: return "the call has ended";
    case CALLREC_EFORMAT: return "unsupported audio format";
    case CALLREC_EDEVICE: return "audio device error";
    }
    return "unknown status";
}

void callrec_session_config_default(callrec_session_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->sample_rate_hz = RATE;
    cfg->recording_dir = ".";
    cfg->max_prompt_seconds = 300;
    cfg->playout_guard_ms = 0;
}

static char *dup_or_null(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

callrec_status callrec_session_create(const callrec_session_config *cfg, callrec_session **out)
{
    if (!out)
        return CALLREC_EINVAL;
    *out = NULL;
    if (!cfg || cfg->sample_rate_hz < 8000 || cfg->sample_rate_hz > 48000 ||
        cfg->max_prompt_seconds < 1 || cfg->max_prompt_seconds > 3600 ||
        cfg->playout_guard_ms < 0 || cfg->playout_guard_ms > 2000 ||
        (cfg->dtmf_profile != CALLREC_DTMF_ATT && cfg->dtmf_profile != CALLREC_DTMF_NTT))
        return CALLREC_EINVAL;
    if (cfg->call_id && (strlen(cfg->call_id) == 0 || strlen(cfg->call_id) >= CALLREC_ID_LEN))
        return CALLREC_EINVAL;

    /* The DTMF detector's vectors need 32-byte alignment, more than malloc promises. */
    size_t size = (sizeof(callrec_session) + 63) & ~(size_t)63;
    callrec_session *s = aligned_alloc(64, size);
    if (!s)
        return CALLREC_ENOMEM;
    memset(s, 0, size);
    s->cfg = *cfg;
    s->recording_dir = dup_or_null(cfg->recording_dir ? cfg->recording_dir : ".");
    s->prompt_base_dir = dup_or_null(cfg->prompt_base_dir);
    if (!s->recording_dir || (cfg->prompt_base_dir && !s->prompt_base_dir))
        goto fail;
    s->cfg.recording_dir = s->recording_dir;
    s->cfg.prompt_base_dir = s->prompt_base_dir;
    s->cfg.call_id = NULL;
    if (cfg->call_id)
        snprintf(s->call_id, sizeof s->call_id, "%s", cfg->call_id);
    else if (cr_random_uuid(s->call_id))
        goto fail;

    /* Rates were validated above, so from here on only allocation can fail. */
    int rate = cfg->sample_rate_hz;
    if (rate != RATE) {
        /* The converters are aligned with their input, so the call clock matches the
           caller's audio sample for sample: event times and tone onsets are exact. */
        s->in_filter = cr_filter_acquire(rate, RATE);
        s->out_filter = cr_filter_acquire(RATE, rate);
        if (!s->in_filter || !s->out_filter)
            goto fail;
        cr_rs_init(&s->in_rs, s->in_filter);
        cr_rs_init(&s->out_rs, s->out_filter);
    }
    /* One frame of playout at the device rate, plus slack for the resampler's varying
       output count. The FIFO starts with one frame of silence so output is never short. */
    size_t frame_out = (size_t)FRAME * (size_t)rate / RATE + 8;
    s->out_conv_cap = frame_out;
    s->fifo_cap = 3 * frame_out;
    s->out_conv = malloc(sizeof *s->out_conv * s->out_conv_cap);
    s->out_fifo = calloc(s->fifo_cap, sizeof *s->out_fifo);
    if (!s->out_conv || !s->out_fifo)
        goto fail;
    s->fifo_len = rate == RATE ? FRAME : frame_out;

    cr_dtmf_init_profile(&s->dtmf, RATE,
                         cfg->dtmf_profile == CALLREC_DTMF_NTT ? CR_DTMF_NTT : CR_DTMF_ATT);
    cr_vad_init(&s->vad, RATE);
    cr_endpoint_init(&s->ep, FRAME, &s->vad);
    s->speech_end = -1;
    *out = s;
    return CALLREC_OK;
fail:
    callrec_session_destroy(s);
    return CALLREC_ENOMEM;
}

static void op_free(callrec_session *s, op *o)
{
    if (!o)
        return;
    char ignored[8];
    cr_recorder_close(&o->rec, ignored, sizeof ignored);
    cr_request_free(&o->req);
    for (int i = 0; i < o->n_clips; i++)
        cr_clip_release(s->cfg.prompt_cache, &o->clips[i]);
    free(o->prompt_error);
    free(o->note);
    free(o->rec_path);
    free(o);
}

void callrec_session_destroy(callrec_session *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n_ops; i++)
        op_free(s, s->ops[i]);
    cr_filter_release(s->in_filter);
    cr_filter_release(s->out_filter);
    free(s->out_conv);
    free(s->out_fifo);
    free(s->recording_dir);
    free(s->prompt_base_dir);
    free(s);
}

static void apply_deferred(callrec_session *s);

/* Every event reaches the embedder through here. */
static void deliver(callrec_session *s, const callrec_event *e)
{
    s->in_callback++;
    s->cfg.on_event(s->cfg.event_user, e);
    s->in_callback--;
}

static void emit(callrec_session *s, const op *o, callrec_event_type type, int64_t t,
                 int64_t detected)
{
    if (!s->cfg.on_event)
        return;
    callrec_event e = {0};
    e.type = type;
    e.operation_id = o->id;
    e.t_samples = t - o->start;
    e.detected_samples = detected - o->start;
    deliver(s, &e);
}

/* A playPrompt operation ends with the calling API's playPromptCompletionReason. */
static cr_reason play_reason(cr_reason r)
{
    switch (r) {
    case CR_REASON_PLAYED: return CR_REASON_PLAYED;
    case CR_REASON_OPERATION_CANCELED:
    case CR_REASON_CALL_ENDED: return CR_REASON_PLAY_CANCELED;
    default: return CR_REASON_PLAY_FAILED;
    }
}

/* Ends operation ops[index] with `reason`, delivers its notification and removes it. */
static void complete(callrec_session *s, int index, int64_t end, cr_reason reason,
                     const char *detail, char stop_tone, int64_t trimmed)
{
    op *o = s->ops[index];
    if (o->phase == PHASE_QUEUED)
        o->start = end;
    int play = o->req.kind == CR_REQUEST_PLAY_PROMPT, call_ended = reason == CR_REASON_CALL_ENDED;
    if (play)
        reason = play_reason(reason);
    int recorded = o->phase == PHASE_RECORDING, created = o->rec.fd >= 0;
    char close_err[MSG_LEN] = "";
    int64_t frames = recorded ? cr_recorder_frames(&o->rec) : 0;
    if (cr_recorder_close(&o->rec, close_err, sizeof close_err) && recorded &&
        reason != CR_REASON_UNSPECIFIED_ERROR) {
        reason = CR_REASON_UNSPECIFIED_ERROR;
        detail = close_err;
    }
    if (recorded)
        frames = o->rec.written; /* what the file holds, should the last write have failed */
    if (!recorded && created)
        unlink(o->rec_path); /* created empty at queue time; nothing was kept */

    const cr_reason_info *info = cr_reason_get(reason);
    cr_outcome out = {
        .play_prompt = play,
        .call_ended = call_ended,
        .call_id = s->call_id,
        .operation_id = o->id,
        .reason = reason,
        .failed = info->failed || (call_ended && !recorded),
        /* A prompt's error names a local file: that is for the embedder's log (the event's
           detail), not for the notification, which leaves the machine. */
        .detail = reason == CR_REASON_PLAY_PROMPT_FAILED || reason == CR_REASON_PLAY_FAILED
                      ? NULL
                      : detail,
        .recording_path = recorded ? o->rec_path : NULL,
        .access_token = o->token,
        .client_context = o->req.client_context,
        .stop_tone = stop_tone,
        .recording_frames = frames,
        .trimmed_frames = trimmed,
        .etag = ++s->etag,
        .has_xruns = s->has_xruns,
        .overruns = s->overruns,
        .underruns = s->underruns,
    };
    /* The buffer was sized for this operation's longest notification; should it still
       not fit, the event carries the reason without the document rather than nothing. */
    const char *json = cr_notification_write(&out, o->note, o->note_cap) >= 0 ? o->note : NULL;
    if (s->cfg.on_event) {
        callrec_event e = {0};
        e.type = CALLREC_EVENT_COMPLETED;
        e.operation_id = o->id;
        e.t_samples = e.detected_samples = end - o->start;
        e.status = out.failed ? CALLREC_OPERATION_FAILED : CALLREC_OPERATION_COMPLETED;
        e.completion_reason = (callrec_completion_reason)reason;
        e.notification_json = json;
        e.recording_path = out.recording_path;
        e.detail = detail;
        e.tone = stop_tone;
        e.recording_samples = recorded ? frames : 0;
        e.overruns = s->overruns;
        e.underruns = s->underruns;
        deliver(s, &e);
    }
    op_free(s, o);
    memmove(&s->ops[index], &s->ops[index + 1], sizeof s->ops[0] * (size_t)(s->n_ops - index - 1));
    s->n_ops--;
}

/* Ends every operation there is now, the running one first. `end` is the call time of the
   ending. Callbacks may queue new operations meanwhile; those are not ended here. */
static void complete_all(callrec_session *s, int64_t end, cr_reason reason)
{
    for (int n = s->n_ops; n > 0 && s->n_ops > 0; n--)
        complete(s, 0, end, reason, NULL, 0, 0);
}

/* Call time of everything received so far, including a partly gathered frame. */
static int64_t received(const callrec_session *s) { return s->now + s->frame_fill; }

static void open_recording_window(callrec_session *s, op *o)
{
    o->phase = PHASE_RECORDING;
    o->rec_start = s->now;
    /* Speech already under way when the window opens counts as speech. */
    o->speech_heard = s->speaking;
    if (s->cfg.on_event) {
        callrec_event e = {0};
        e.type = CALLREC_EVENT_RECORDING_STARTED;
        e.operation_id = o->id;
        e.t_samples = e.detected_samples = s->now - o->start;
        e.recording_samples = (int64_t)o->req.max_duration_s * RATE;
        deliver(s, &e);
    }
}

static void start_beep_or_recording(callrec_session *s, op *o)
{
    if (o->req.play_beep) {
        o->phase = PHASE_BEEP;
        cr_tone_init(&o->beep, RATE, BEEP_HZ, cr_dbm0_to_amplitude(BEEP_DBM0), 0.0, 0.0,
                     BEEP_SAMPLES, BEEP_RAMP);
        emit(s, o, CALLREC_EVENT_BEEP_STARTED, s->now, s->now);
    } else {
        open_recording_window(s, o);
    }
}

/* At a frame boundary: start the head operation or move it to its next phase. */
static void advance_phases(callrec_session *s)
{
    while (s->n_ops > 0) {
        op *o = s->ops[0];
        if (o->phase == PHASE_QUEUED) {
            o->start = s->now;
            if (o->prompt_error) {
                complete(s, 0, s->now, CR_REASON_PLAY_PROMPT_FAILED, o->prompt_error, 0, 0);
                continue;
            }
            if (o->n_clips > 0) {
                o->phase = PHASE_PROMPT;
                o->clip = 0;
                o->play_pos = 0;
                emit(s, o, CALLREC_EVENT_PROMPT_STARTED, s->now, s->now);
            } else {
                start_beep_or_recording(s, o);
            }
        }
        if (o->phase == PHASE_PROMPT && o->clip >= o->n_clips) {
            int64_t end = o->start + o->prompt_total;
            emit(s, o, CALLREC_EVENT_PROMPT_ENDED, end, end);
            if (o->req.kind == CR_REQUEST_PLAY_PROMPT) {
                complete(s, 0, s->now, CR_REASON_PLAYED, NULL, 0, 0);
                continue; /* the next operation starts in this frame */
            }
            start_beep_or_recording(s, o);
        }
        if (o->phase == PHASE_BEEP && o->beep.pos >= o->beep.length) {
            emit(s, o, CALLREC_EVENT_BEEP_ENDED, s->now, s->now);
            open_recording_window(s, o);
        }
        return;
    }
}

/* Fills s->play with the frame's playout. Returns 0 if the frame is silence (s->play is then
   left as it was), 1 if it carries sound. */
static int fill_playout(callrec_session *s)
{
    if (s->n_ops == 0)
        return 0;
    op *o = s->ops[0];
    if (s->cfg.playout_guard_ms > 0 && (o->phase == PHASE_PROMPT || o->phase == PHASE_BEEP))
        s->guard_until = s->now + FRAME + (int64_t)s->cfg.playout_guard_ms * RATE / 1000;
    if (o->phase == PHASE_PROMPT) {
        /* Prompts follow each other without a gap; the last one's tail is padded. */
        size_t filled = 0;
        while (filled < FRAME && o->clip < o->n_clips) {
            const cr_clip *c = &o->clips[o->clip];
            size_t n = c->count - o->play_pos;
            if (n > FRAME - filled)
                n = FRAME - filled;
            memcpy(s->play + filled, c->samples + o->play_pos, n * sizeof *s->play);
            filled += n;
            o->play_pos += n;
            if (o->play_pos == c->count) {
                o->clip++;
                o->play_pos = 0;
            }
        }
        memset(s->play + filled, 0, (FRAME - filled) * sizeof *s->play);
        return 1;
    }
    if (o->phase == PHASE_BEEP) {
        cr_tone_fill(&o->beep, s->play, FRAME);
        return 1;
    }
    return 0;
}

/* When a key confirmed at `at` (the detector's clock, the session's) is known: not before the
   frame it was found in, nor after it. */
static int64_t decided_at(const callrec_session *s, int64_t at)
{
    return at < s->now ? s->now : at > s->now + FRAME ? s->now + FRAME : at;
}

/* Runs the detectors on the current frame and reports what they found. Returns the stop tone
   that ends the running operation, or 0; *onset receives the stop tone's onset and *confirmed
   where the detector confirmed it. */
static char run_detectors(callrec_session *s, const int16_t *x, int64_t *onset, int64_t *confirmed)
{
    op *o = s->n_ops ? s->ops[0] : NULL;
    int active = o && o->phase != PHASE_QUEUED;
    char stop = 0;

    /* Within the echo guard the caller's audio is recorded but not listened to. */
    int guarded = s->now < s->guard_until;
    int n = cr_dtmf_process(&s->dtmf, x, FRAME);
    for (int i = 0; i < n; i++) {
        const cr_dtmf_event *e = &s->dtmf.events[i];
        if (e->kind != CR_DTMF_BEGIN || !active || e->onset < s->guard_until)
            continue;
        int is_stop = o->phase == PHASE_RECORDING && strchr(o->req.stop_tones, e->key) != NULL;
        if (s->cfg.on_event) {
            callrec_event ev = {0};
            ev.type = CALLREC_EVENT_TONE_DETECTED;
            ev.operation_id = o->id;
            ev.t_samples = e->onset - o->start;
            ev.detected_samples = decided_at(s, e->at) - o->start;
            ev.tone = e->key;
            ev.is_stop_tone = is_stop;
            deliver(s, &ev);
        }
        if (is_stop && !stop) {
            stop = e->key;
            *onset = e->onset;
            *confirmed = decided_at(s, e->at);
        }
    }

    cr_vad_class c = cr_vad_frame(&s->vad, x, guarded || cr_dtmf_tone_present(&s->dtmf));
    int64_t t = 0;
    switch (cr_endpoint_frame(&s->ep, c, &t)) {
    case CR_EP_STARTED:
        s->speaking = 1;
        if (active) {
            if (o->phase == PHASE_RECORDING)
                o->speech_heard = 1;
            emit(s, o, CALLREC_EVENT_SPEECH_STARTED, t, s->now + FRAME);
        }
        break;
    case CR_EP_STOPPED:
        s->speaking = 0;
        s->speech_end = t;
        if (active)
            emit(s, o, CALLREC_EVENT_SPEECH_STOPPED, t, s->now + FRAME);
        break;
    case CR_EP_NONE:
        break;
    }
    return stop;
}

/* Records the frame and applies the operation's rules at the frame's end; a stop tone ends the
   operation where it was confirmed (tone_confirmed, within the frame). */
static void run_recording(callrec_session *s, const int16_t *x, char stop, int64_t tone_onset,
                          int64_t tone_confirmed)
{
    op *o = s->ops[0];
    int64_t end = s->now + FRAME;
    if (cr_recorder_write(&o->rec, x, FRAME, s->msg, sizeof s->msg)) {
        complete(s, 0, end, CR_REASON_UNSPECIFIED_ERROR, s->msg, 0, 0);
        return;
    }
    int64_t elapsed = end - o->rec_start;
    if (stop) {
        /* Cut the tone from the file at its detected onset. */
        int64_t keep = tone_onset - TRIM_MARGIN - o->rec_start;
        if (keep < 0)
            keep = 0;
        int64_t trimmed = cr_recorder_frames(&o->rec) - keep;
        cr_recorder_truncate(&o->rec, keep);
        complete(s, 0, tone_confirmed, CR_REASON_STOP_TONE, NULL, stop, trimmed);
    } else if (!o->speech_heard && elapsed >= (int64_t)o->req.initial_silence_s * RATE) {
        /* Ahead of the duration limit when both fall due: "the caller said nothing" is the
           more useful answer. */
        complete(s, 0, end, CR_REASON_INITIAL_SILENCE, NULL, 0, 0);
    } else if (elapsed >= (int64_t)o->req.max_duration_s * RATE) {
        complete(s, 0, end, CR_REASON_MAX_DURATION, NULL, 0, 0);
    } else if (o->speech_heard && !s->speaking) {
        int64_t from = s->speech_end > o->rec_start ? s->speech_end : o->rec_start;
        if (end - from >= (int64_t)o->req.max_silence_s * RATE)
            complete(s, 0, end, CR_REASON_MAX_SILENCE, NULL, 0, 0);
    }
}

/* The playout FIFO is a ring; copies go in at most two pieces. Silence, which is most of a
   call's playout, goes in as a count (fifo_silent) and comes out as zeros: nothing is written
   to the ring for it unless sound follows it in. */
static void fifo_write(callrec_session *s, size_t at, const int16_t *x, size_t n)
{
    size_t first = s->fifo_cap - at < n ? s->fifo_cap - at : n;
    if (x) {
        memcpy(s->out_fifo + at, x, first * sizeof *x);
        memcpy(s->out_fifo, x + first, (n - first) * sizeof *x);
    } else {
        memset(s->out_fifo + at, 0, first * sizeof *s->out_fifo);
        memset(s->out_fifo, 0, (n - first) * sizeof *s->out_fifo);
    }
}

/* Appends n samples of x, or of silence if x is NULL. */
static void fifo_push(callrec_session *s, const int16_t *x, size_t n)
{
    if (n > s->fifo_cap - s->fifo_len)
        n = s->fifo_cap - s->fifo_len;
    if (!x) {
        s->fifo_silent += n;
        s->fifo_len += n;
        return;
    }
    if (s->fifo_silent) { /* the silence before this sound goes into the ring first */
        size_t at = (s->fifo_head + s->fifo_len - s->fifo_silent) % s->fifo_cap;
        fifo_write(s, at, NULL, s->fifo_silent);
        s->fifo_silent = 0;
    }
    fifo_write(s, (s->fifo_head + s->fifo_len) % s->fifo_cap, x, n);
    s->fifo_len += n;
}

static size_t fifo_pop(callrec_session *s, int16_t *out, size_t n)
{
    size_t k = n < s->fifo_len ? n : s->fifo_len;
    size_t written = s->fifo_len - s->fifo_silent, from_ring = k < written ? k : written;
    if (out) {
        size_t first = s->fifo_cap - s->fifo_head < from_ring ? s->fifo_cap - s->fifo_head
                                                              : from_ring;
        memcpy(out, s->out_fifo + s->fifo_head, first * sizeof *out);
        memcpy(out + first, s->out_fifo, (from_ring - first) * sizeof *out);
        memset(out + from_ring, 0, (k - from_ring) * sizeof *out);
    }
    s->fifo_silent -= k - from_ring;
    s->fifo_head = (s->fifo_head + k) % s->fifo_cap;
    s->fifo_len -= k;
    return k;
}

/* One 10 ms step of the call on the frame x (FRAME samples at 16 kHz). */
static void step(callrec_session *s, const int16_t *x)
{
    advance_phases(s);
    int sound = fill_playout(s);
    int64_t onset = 0, confirmed = 0;
    char stop = run_detectors(s, x, &onset, &confirmed);
    if (s->n_ops && s->ops[0]->phase == PHASE_RECORDING)
        run_recording(s, x, stop, onset, confirmed);

    if (s->out_filter && !sound && s->out_quiet >= OUT_QUIET_FRAMES) {
        /* The converter's filter holds nothing but silence, so its output would be zeros:
           push that many zeros (the rate's share of the frame, fractions carried) without it. */
        s->out_frac += (int64_t)FRAME * s->cfg.sample_rate_hz;
        fifo_push(s, NULL, (size_t)(s->out_frac / RATE));
        s->out_frac %= RATE;
    } else if (s->out_filter) {
        if (!sound)
            memset(s->play, 0, sizeof s->play);
        s->out_quiet = sound ? 0 : s->out_quiet + 1;
        size_t in_len = FRAME, out_len = s->out_conv_cap;
        cr_rs_process(&s->out_rs, s->play, &in_len, s->out_conv, &out_len);
        fifo_push(s, s->out_conv, out_len);
    } else {
        fifo_push(s, sound ? s->play : NULL, FRAME);
    }
    s->now += FRAME;
    s->frame_fill = 0;
}

/* Appends 16 kHz caller audio, stepping the call at every full frame. Output is drained as
   frames complete so the FIFO stays small whatever the buffer size. Returns how many of the n
   samples the call took: all, unless a callback ended it. */
static size_t feed(callrec_session *s, const int16_t *x, size_t n, int16_t *out, size_t *out_done,
                   size_t out_total)
{
    size_t given = n;
    while (n > 0) {
        const int16_t *frame = x;
        if (s->frame_fill == 0 && n >= FRAME) {
            /* A whole frame in the caller's buffer: used where it is. */
            x += FRAME;
            n -= FRAME;
        } else {
            size_t take = (size_t)(FRAME - s->frame_fill);
            if (take > n)
                take = n;
            memcpy(s->frame + s->frame_fill, x, take * sizeof *x);
            s->frame_fill += (int)take;
            x += take;
            n -= take;
            if (s->frame_fill < FRAME)
                continue;
            frame = s->frame;
        }
        step(s, frame);
        *out_done += fifo_pop(s, out ? out + *out_done : NULL, out_total - *out_done);
        apply_deferred(s);
        if (s->hung_up)
            break; /* a callback ended the call: the rest of the buffer came after it */
    }
    return given - n;
}

callrec_status callrec_session_process_frames(callrec_session *s, const int16_t *in,
                                              int16_t *out, size_t frames, size_t *frames_used)
{
    if (frames_used)
        *frames_used = 0;
    if (!s || (!in && frames > 0))
        return CALLREC_EINVAL;
    if (s->hung_up)
        return CALLREC_ESTATE;
    size_t out_done = 0, used = frames;
    int64_t before = s->in_frames; /* input taken by earlier calls */
    if (!s->in_filter) {
        used = feed(s, in, frames, out, &out_done, frames);
    } else {
        size_t pos = 0;
        while (pos < frames && !s->hung_up) {
            size_t in_len = frames - pos > CONVERT_CHUNK ? CONVERT_CHUNK : frames - pos;
            size_t out_len = sizeof s->convert / sizeof s->convert[0];
            cr_rs_process(&s->in_rs, in + pos, &in_len, s->convert, &out_len);
            s->in_frames += in_len;
            s->converted += out_len;
            feed(s, s->convert, out_len, out, &out_done, frames);
            pos += in_len;
        }
        if (s->hung_up) {
            /* The converter is aligned with the input (its delay skipped), so the call's end
               on its clock is an input position: what came before it was taken. */
            int rate = s->cfg.sample_rate_hz;
            int64_t end = (received(s) * rate + RATE / 2) / RATE - before;
            used = end < 0 ? 0 : end > (int64_t)frames ? frames : (size_t)end;
        }
    }
    if (frames_used)
        *frames_used = used;
    out_done += fifo_pop(s, out ? out + out_done : NULL, frames - out_done);
    if (out && out_done < frames)
        memset(out + out_done, 0, (frames - out_done) * sizeof *out);
    return CALLREC_OK;
}

callrec_status callrec_session_process(callrec_session *s, const int16_t *in, int16_t *out,
                                       size_t frames)
{
    return callrec_session_process_frames(s, in, out, frames, NULL);
}

static int absolute_path(const char *path, char **out)
{
    char cwd[PATH_MAX];
    size_t n;
    if (path[0] == '/') {
        n = strlen(path) + 1;
        *out = malloc(n);
        if (*out)
            memcpy(*out, path, n);
    } else {
        if (!getcwd(cwd, sizeof cwd))
            return -1;
        n = strlen(cwd) + strlen(path) + 2;
        *out = malloc(n);
        if (*out)
            snprintf(*out, n, "%s/%s", cwd, path);
    }
    return *out ? 0 : -1;
}

/* Loads every prompt of the operation; the first that fails is the operation's error. */
static void load_prompts(callrec_session *s, op *o)
{
    char path[PATH_MAX], err[MSG_LEN];
    for (int i = 0; i < o->req.n_prompts && !o->prompt_error; i++) {
        const char *uri = o->req.prompts[i].uri;
        int rc = cr_prompt_local_path(uri, s->prompt_base_dir, path, sizeof path, err, sizeof err);
        if (rc && s->cfg.resolve_prompt) {
            path[0] = '\0';
            rc = s->cfg.resolve_prompt(s->cfg.resolver_user, uri, o->req.prompts[i].resource_id,
                                       path, sizeof path);
            if (rc || !path[0] || !memchr(path, '\0', sizeof path)) {
                snprintf(err, sizeof err,
                         "prompt %.200s: the prompt resolver could not provide it", uri);
                rc = -1;
            }
        }
        if (rc == 0)
            rc = cr_clip_acquire(s->cfg.prompt_cache, path, s->cfg.max_prompt_seconds,
                                 &o->clips[o->n_clips], err, sizeof err);
        if (rc) {
            o->prompt_error = dup_or_null(err);
        } else {
            o->prompt_total += (int64_t)o->clips[o->n_clips].count;
            o->n_clips++;
        }
    }
}

/* A message for the caller, cut on a character boundary if it does not fit. */
static void set_err(char *err, size_t err_len, const char *msg)
{
    if (err && err_len) {
        snprintf(err, err_len, "%s", msg);
        cr_utf8_trim(err);
    }
}

/* Checks the state and parses a request body into a new operation (*out). */
static callrec_status new_op(callrec_session *s, const char *json, size_t len, int play, op **out,
                             char *err, size_t err_len)
{
    char msg[MSG_LEN];
    *out = NULL;
    if (!s || !json) {
        set_err(err, err_len, "no session or request given");
        return CALLREC_EINVAL;
    }
    if (s->hung_up) {
        set_err(err, err_len, "the call has ended");
        return CALLREC_ESTATE;
    }
    op *o = calloc(1, sizeof *o);
    if (!o) {
        set_err(err, err_len, "out of memory");
        return CALLREC_ENOMEM;
    }
    o->rec.fd = -1; /* no recording until one is created */
    if ((play ? cr_play_request_parse : cr_request_parse)(json, len, &o->req, msg, sizeof msg)) {
        set_err(err, err_len, msg);
        op_free(s, o);
        return CALLREC_EINVAL;
    }
    if (!o->req.barge_in && s->n_ops >= MAX_OPS) {
        set_err(err, err_len, "operation queue full: 8 operations are already queued");
        op_free(s, o);
        return CALLREC_EFULL;
    }
    if (cr_random_uuid(o->id) || cr_random_token(o->token)) {
        set_err(err, err_len, "the kernel's random source failed");
        op_free(s, o);
        return CALLREC_EIO;
    }
    *out = o;
    return CALLREC_OK;
}

/* Loads the prompts and queues the operation (after pre-empting the others on barge-in).
   Everything its completion will need is allocated here. */
static callrec_status enqueue(callrec_session *s, op *o, char id_out[CALLREC_ID_LEN], char *err,
                              size_t err_len)
{
    o->note_cap = cr_notification_capacity(o->req.client_context ? strlen(o->req.client_context) : 0,
                                           o->rec_path ? strlen(o->rec_path) : 0);
    o->note = malloc(o->note_cap);
    if (!o->note) {
        set_err(err, err_len, "out of memory");
        return CALLREC_ENOMEM;
    }
    if (o->req.barge_in && s->in_callback) {
        o->barge_pending = 1; /* the operations ahead of it end when the callback returns */
        s->deferred |= DEFER_BARGE;
    } else if (o->req.barge_in) {
        complete_all(s, received(s), CR_REASON_OPERATION_CANCELED);
        apply_deferred(s); /* a pre-empted operation's callback may have ended the call */
        if (s->hung_up) {
            set_err(err, err_len, "the call has ended");
            return CALLREC_ESTATE;
        }
    }
    /* Full even so: a barge-in from a callback pre-empts only once the callback returns, and
       operations queued by the pre-empted ones' callbacks take places too. */
    if (s->n_ops >= MAX_OPS) {
        set_err(err, err_len, "operation queue full: 8 operations are already queued");
        return CALLREC_EFULL;
    }
    s->ops[s->n_ops++] = o;
    if (id_out)
        memcpy(id_out, o->id, CALLREC_ID_LEN);
    return CALLREC_OK;
}

callrec_status callrec_request_check(const char *request_json, size_t len, char *err,
                                     size_t err_len)
{
    if (!request_json)
        return CALLREC_EINVAL;
    cr_request req;
    char msg[MSG_LEN];
    if (cr_request_parse(request_json, len, &req, msg, sizeof msg)) {
        if (err && err_len)
            snprintf(err, err_len, "%s", msg);
        return CALLREC_EINVAL;
    }
    cr_request_free(&req);
    return CALLREC_OK;
}

callrec_status callrec_session_record(callrec_session *s, const char *request_json, size_t len,
                                      const char *recording_path, char id_out[CALLREC_ID_LEN],
                                      char *err, size_t err_len)
{
    op *o;
    callrec_status st = new_op(s, request_json, len, 0, &o, err, err_len);
    if (st)
        return st;
    char path[PATH_MAX], msg[MSG_LEN];
    int n = recording_path ? snprintf(path, sizeof path, "%s", recording_path)
                           : snprintf(path, sizeof path, "%s/%s.wav", s->recording_dir, o->id);
    if (n < 0 || (size_t)n >= sizeof path) {
        set_err(err, err_len, "recording path: longer than the system's limit (PATH_MAX)");
        op_free(s, o);
        return CALLREC_EINVAL;
    }
    if (absolute_path(path, &o->rec_path)) {
        set_err(err, err_len, "out of memory, or the working directory is unavailable");
        op_free(s, o);
        return CALLREC_ENOMEM;
    }
    /* The prompts first: the recording is created only for an operation that can play them
       (one that cannot fails at once with playPromptFailed and records nothing). */
    load_prompts(s, o);
    struct stat st_path;
    int rc = 0;
    if (!o->prompt_error) {
        rc = cr_recorder_create(&o->rec, o->rec_path, msg, sizeof msg);
    } else if (lstat(o->rec_path, &st_path) == 0) {
        snprintf(msg, sizeof msg, "recording %s: already exists; callrec never overwrites a file",
                 o->rec_path);
        rc = -1;
    }
    if (rc) {
        set_err(err, err_len, msg);
        op_free(s, o);
        return rc == -1 ? CALLREC_EEXIST : CALLREC_EIO;
    }
    st = enqueue(s, o, id_out, err, err_len);
    if (st) {
        if (o->rec.fd >= 0)
            unlink(o->rec_path);
        op_free(s, o);
    }
    apply_deferred(s);
    return st;
}

callrec_status callrec_session_play_prompt(callrec_session *s, const char *request_json,
                                           size_t len, char id_out[CALLREC_ID_LEN], char *err,
                                           size_t err_len)
{
    op *o;
    callrec_status st = new_op(s, request_json, len, 1, &o, err, err_len);
    if (st)
        return st;
    load_prompts(s, o);
    st = enqueue(s, o, id_out, err, err_len);
    if (st)
        op_free(s, o);
    apply_deferred(s);
    return st;
}

static void hangup_now(callrec_session *s);
static void media_timeout_now(callrec_session *s, int silent_ms);

static void cancel_now(callrec_session *s)
{
    complete_all(s, received(s), CR_REASON_OPERATION_CANCELED);
}

/* Applies what callbacks asked for while the engine was busy: a hang-up, a cancel, or a
   barge-in (every operation ahead of the last one queued with it ends). Their own callbacks
   may ask again; a few rounds settle any sane bot, the rest waits for the next call. */
static void apply_deferred(callrec_session *s)
{
    for (int round = 0; round < 4 && s->deferred && !s->in_callback; round++) {
        unsigned d = s->deferred;
        s->deferred = 0;
        if (d & DEFER_HANGUP) {
            hangup_now(s);
            continue;
        }
        if (d & DEFER_MEDIA_TIMEOUT)
            media_timeout_now(s, s->deferred_silent_ms);
        if (d & DEFER_CANCEL)
            cancel_now(s);
        if (d & DEFER_BARGE) {
            int last = -1;
            for (int i = 0; i < s->n_ops; i++)
                if (s->ops[i]->barge_pending)
                    last = i;
            if (last >= 0) {
                op *barger = s->ops[last];
                barger->barge_pending = 0;
                while (s->n_ops > 0 && s->ops[0] != barger)
                    complete(s, 0, received(s), CR_REASON_OPERATION_CANCELED, NULL, 0, 0);
            }
        }
    }
}

callrec_status callrec_session_cancel(callrec_session *s)
{
    if (!s)
        return CALLREC_EINVAL;
    if (s->in_callback) {
        s->deferred |= DEFER_CANCEL;
        return CALLREC_OK;
    }
    cancel_now(s);
    apply_deferred(s);
    return CALLREC_OK;
}

/* The input converter holds the last few milliseconds of what it was given (its filter's
   delay). At a hang-up from outside they are pushed out with silence, up to exactly the
   16 kHz length of the input received: every sample received is in the recording. */
static void flush_input(callrec_session *s)
{
    int rate = s->cfg.sample_rate_hz;
    int64_t due = (s->in_frames * RATE + rate / 2) / rate - s->converted;
    static const int16_t zeros[CONVERT_CHUNK];
    size_t dummy = 0;
    for (int rounds = 0; due > 0 && !s->hung_up && rounds < 64; rounds++) {
        size_t in_len = CONVERT_CHUNK / 4;
        size_t out_len = sizeof s->convert / sizeof s->convert[0];
        cr_rs_process(&s->in_rs, zeros, &in_len, s->convert, &out_len);
        size_t take = (int64_t)out_len < due ? out_len : (size_t)due;
        s->converted += (int64_t)take;
        due -= (int64_t)take;
        feed(s, s->convert, take, NULL, &dummy, 0);
    }
}

callrec_status callrec_session_hangup(callrec_session *s)
{
    if (!s)
        return CALLREC_EINVAL;
    if (s->hung_up)
        return CALLREC_OK;
    if (s->in_callback) {
        s->deferred |= DEFER_HANGUP;
        return CALLREC_OK;
    }
    if (s->in_filter)
        flush_input(s);
    if (!s->hung_up) /* a callback during the flush may have ended the call */
        hangup_now(s);
    return CALLREC_OK;
}

static void hangup_now(callrec_session *s)
{
    /* Keep the partial frame: every sample received is part of the recording. */
    if (s->n_ops && s->ops[0]->phase == PHASE_RECORDING && s->frame_fill > 0 &&
        cr_recorder_write(&s->ops[0]->rec, s->frame, (size_t)s->frame_fill, s->msg,
                          sizeof s->msg))
        complete(s, 0, received(s), CR_REASON_UNSPECIFIED_ERROR, s->msg, 0, 0);
    s->hung_up = 1; /* first: a callback cannot queue more operations on an ended call */
    s->deferred = 0;
    complete_all(s, received(s), CR_REASON_CALL_ENDED);
}

static void media_timeout_now(callrec_session *s, int silent_ms)
{
    if (s->n_ops && s->ops[0]->phase != PHASE_QUEUED) {
        char detail[64];
        snprintf(detail, sizeof detail, "Nothing arrived for %d ms.", silent_ms);
        complete(s, 0, received(s), CR_REASON_MEDIA_RECEIVE_TIMEOUT, detail, 0, 0);
    }
}

callrec_status callrec_session_media_timeout(callrec_session *s, int silent_ms)
{
    if (!s)
        return CALLREC_EINVAL;
    if (s->in_callback) {
        s->deferred |= DEFER_MEDIA_TIMEOUT;
        s->deferred_silent_ms = silent_ms;
        return CALLREC_OK;
    }
    media_timeout_now(s, silent_ms);
    apply_deferred(s);
    return CALLREC_OK;
}

int callrec_session_pending(const callrec_session *s) { return s ? s->n_ops : 0; }

void cr_session_set_xruns(callrec_session *s, uint64_t overruns, uint64_t underruns)
{
    int changed = overruns != s->overruns || underruns != s->underruns;
    s->has_xruns = 1;
    s->overruns = overruns;
    s->underruns = underruns;
    if (!changed || !s->cfg.on_event || s->in_callback)
        return;
    /* Reported like every other event: at the running operation's time, and through deliver()
       so that a callback ending the call is applied at a safe point. */
    callrec_event e = {0};
    e.type = CALLREC_EVENT_XRUN;
    e.operation_id = s->n_ops ? s->ops[0]->id : "";
    e.t_samples = e.detected_samples = received(s) - (s->n_ops ? s->ops[0]->start : 0);
    e.overruns = overruns;
    e.underruns = underruns;
    deliver(s, &e);
    apply_deferred(s);
}
