#include "notify.h"

#include <stdio.h>
#include <string.h>

#include "request.h"

/* The calling platform's own results where it publishes them: 400/8508 for a canceled
   operation and 200/8515 for the duration limit (its record and cancelMediaProcessing pages),
   200/0 for a prompt played (its playPrompt page), and 8509-8514 from the subcode table of its
   sibling call-automation service, which shares 8508 and 8515. callrec's own subcodes, where
   the platform publishes none, are 9901-9902: outside every range the platform uses. */
static const cr_reason_info reasons[CR_REASON_COUNT] = {
    [CR_REASON_OPERATION_CANCELED] = {"operationCanceled", 1, 400, 8508,
                                      "Action failed, the operation was cancelled."},
    [CR_REASON_STOP_TONE] = {"stopToneDetected", 0, 200, 8514,
                             "Action completed, stop tone detected."},
    [CR_REASON_MAX_DURATION] = {"maxRecordDurationReached", 0, 200, 8515,
                                "Action completed, max record duration reached."},
    [CR_REASON_INITIAL_SILENCE] = {"initialSilenceTimeout", 1, 400, 8510,
                                   "Action failed, initial silence timeout reached."},
    [CR_REASON_MAX_SILENCE] = {"maxSilenceTimeout", 0, 200, 8509,
                               "Action completed, max silence timeout reached."},
    [CR_REASON_PLAY_PROMPT_FAILED] = {"playPromptFailed", 1, 400, 8511,
                                      "Action failed, the prompt could not be played."},
    [CR_REASON_PLAY_BEEP_FAILED] = {"playBeepFailed", 1, 500, 8512,
                                    "Action failed, the beep could not be played."},
    [CR_REASON_MEDIA_RECEIVE_TIMEOUT] = {"mediaReceiveTimeout", 1, 408, 8513,
                                         "Action failed, no media received."},
    [CR_REASON_UNSPECIFIED_ERROR] = {"unspecifiedError", 1, 500, 9901,
                                     "Action failed, internal error."},
    [CR_REASON_CALL_ENDED] = {"none", 0, 200, 9902,
                              "Action completed, the call ended; the audio received is kept."},
    [CR_REASON_PLAYED] = {"completedSuccessfully", 0, 200, 0, "Action completed successfully."},
    [CR_REASON_PLAY_CANCELED] = {"mediaOperationCanceled", 1, 400, 8508,
                                 "Action failed, the operation was cancelled."},
    [CR_REASON_PLAY_FAILED] = {"unknown", 1, 400, 8511,
                               "Action failed, a prompt could not be played."},
};

/* A call that ended before the recording window opened: the operation failed. */
static const cr_reason_info ended_early = {"none", 1, 400, 9902,
                                           "Action failed, the call ended before the recording "
                                           "started."};

const cr_reason_info *cr_reason_get(cr_reason r) { return &reasons[r]; }

/* The notification is written into a buffer sized when the operation was queued, so
   completing an operation never allocates. Output matches cJSON's unformatted printing. */
typedef struct writer {
    char *buf;
    size_t cap, len;
    int overflow;
} writer;

static void put_n(writer *w, const char *s, size_t n)
{
    if (w->overflow || n >= w->cap - w->len) {
        w->overflow = 1;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void put(writer *w, const char *s) { put_n(w, s, strlen(s)); }

/* "file://..." for an absolute path, percent-encoding every byte RFC 3986 does not allow
   plainly in a path (the result needs no JSON escaping). Written in place: a path of any
   length the system accepts fits the buffer, which was sized for it. */
static void put_file_uri(writer *w, const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    put(w, "\"file://");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || strchr("/-._~", *p);
        char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
        put_n(w, plain ? (const char *)p : esc, plain ? 1 : 3);
    }
    put_n(w, "\"", 1);
}

static void put_int(writer *w, long long v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%lld", v);
    put_n(w, num, (size_t)n);
}

/* A JSON string: quotes, backslashes and control characters escaped, as cJSON does. */
static void put_string(writer *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    put_n(w, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        switch (*p) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            if (*p >= 0x20) {
                put_n(w, (const char *)p, 1);
                continue;
            }
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[*p >> 4];
            esc[5] = hex[*p & 15];
        }
        put(w, esc);
    }
    put_n(w, "\"", 1);
}

/* ,"name":"value" (or the first member, without the comma) */
static void member_string(writer *w, const char *name, const char *value, int first)
{
    if (!first)
        put_n(w, ",", 1);
    put_string(w, name);
    put_n(w, ":", 1);
    if (value)
        put_string(w, value);
    else
        put(w, "null");
}

static void member_int(writer *w, const char *name, long long value)
{
    put_n(w, ",", 1);
    put_string(w, name);
    put_n(w, ":", 1);
    put_int(w, value);
}

/* Fixed text, ids, numbers: well under this; the message is at most 511 bytes. */
#define NOTIFICATION_FIXED 2048

size_t cr_notification_capacity(size_t context_len, size_t path_len)
{
    /* Every byte of text may become a six-byte escape; a path byte a three-byte %XX. */
    return NOTIFICATION_FIXED + 6 * 512 + 6 * context_len + 3 * path_len;
}

int cr_notification_write(const cr_outcome *o, char *out, size_t cap)
{
    const cr_reason_info *info = cr_reason_get(o->reason);
    if (o->reason == CR_REASON_CALL_ENDED && o->failed && !o->play_prompt)
        info = &ended_early;
    /* The platform names the operation under /communications in resourceUrl and @odata.id and
       keeps the deprecated /app form only in the legacy `resource` member. */
    char resource[160], url[176], etag[32], message[512];
    snprintf(resource, sizeof resource, "/app/calls/%s/operations/%s", o->call_id,
             o->operation_id);
    snprintf(url, sizeof url, "/communications/calls/%s/operations/%s", o->call_id,
             o->operation_id);
    snprintf(etag, sizeof etag, "W/\"%u\"", o->etag);
    if (o->detail && o->detail[0])
        snprintf(message, sizeof message, "%s %s", info->message, o->detail);
    else
        snprintf(message, sizeof message, "%s", info->message);

    cr_utf8_trim(message); /* a long detail is cut on a character boundary */
    writer w = {out, cap, 0, cap == 0};
    if (cap)
        out[0] = '\0';
    put(&w, "{\"@odata.type\":\"#microsoft.graph.commsNotifications\",\"value\":[{");
    member_string(&w, "@odata.type", "#microsoft.graph.commsNotification", 1);
    member_string(&w, "changeType", "deleted", 0);
    member_string(&w, "resource", resource, 0);
    member_string(&w, "resourceUrl", url, 0);
    put(&w, ",\"resourceData\":{");
    member_string(&w, "@odata.type", o->play_prompt ? "#microsoft.graph.playPromptOperation"
                                                    : "#microsoft.graph.recordOperation", 1);
    member_string(&w, "@odata.id", url, 0);
    member_string(&w, "@odata.etag", etag, 0);
    member_string(&w, "id", o->operation_id, 0);
    member_string(&w, "status", o->failed ? "failed" : "completed", 0);
    member_string(&w, "completionReason", info->name, 0);
    put(&w, ",\"resultInfo\":{");
    member_string(&w, "@odata.type", "#microsoft.graph.resultInfo", 1);
    member_int(&w, "code", info->code);
    member_int(&w, "subcode", info->subcode);
    member_string(&w, "message", message, 0);
    put(&w, "}");
    if (!o->play_prompt) {
        /* a playPromptOperation has no recording */
        put(&w, ",\"recordingLocation\":");
        if (o->recording_path)
            put_file_uri(&w, o->recording_path);
        else
            put(&w, "null");
        member_string(&w, "recordingAccessToken", o->recording_path ? o->access_token : NULL, 0);
    }
    if (o->client_context)
        member_string(&w, "clientContext", o->client_context, 0);
    if (o->stop_tone) {
        char tone[2] = {o->stop_tone, '\0'};
        member_string(&w, "@callrec.stopTone", tone, 0);
    }
    if (o->recording_path) {
        member_int(&w, "@callrec.recordingDurationMs", o->recording_frames / 16);
        member_int(&w, "@callrec.trimmedMs", o->trimmed_frames / 16);
    }
    if (o->has_xruns) {
        member_int(&w, "@callrec.overruns", (long long)o->overruns);
        member_int(&w, "@callrec.underruns", (long long)o->underruns);
    }
    if (o->call_ended)
        put(&w, ",\"@callrec.callEnded\":true");
    put(&w, "}}]}");
    return w.overflow ? -1 : (int)w.len;
}
