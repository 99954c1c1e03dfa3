#include "notify.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

/* 200/8515 is the calling API's own result for maxRecordDurationReached. The other subcodes
   are callrec's, one per reason, 8600-8611; codes follow HTTP meaning. */
static const cr_reason_info reasons[CR_REASON_COUNT] = {
    [CR_REASON_OPERATION_CANCELED] = {"operationCanceled", 1, 499, 8600,
                                      "Action canceled, the operation was canceled or pre-empted."},
    [CR_REASON_STOP_TONE] = {"stopToneDetected", 0, 200, 8601,
                             "Action completed, stop tone detected."},
    [CR_REASON_MAX_DURATION] = {"maxRecordDurationReached", 0, 200, 8515,
                                "Action completed, max record duration reached."},
    [CR_REASON_INITIAL_SILENCE] = {"initialSilenceTimeout", 1, 408, 8602,
                                   "Action failed, no speech before the initial silence timeout."},
    [CR_REASON_MAX_SILENCE] = {"maxSilenceTimeout", 0, 200, 8603,
                               "Action completed, max silence timeout reached."},
    [CR_REASON_PLAY_PROMPT_FAILED] = {"playPromptFailed", 1, 400, 8604,
                                      "Action failed, the prompt could not be played."},
    [CR_REASON_PLAY_BEEP_FAILED] = {"playBeepFailed", 1, 500, 8605,
                                    "Action failed, the beep could not be played."},
    [CR_REASON_MEDIA_RECEIVE_TIMEOUT] = {"mediaReceiveTimeout", 1, 408, 8606,
                                         "Action failed, no media received."},
    [CR_REASON_UNSPECIFIED_ERROR] = {"unspecifiedError", 1, 500, 8607,
                                     "Action failed, internal error."},
    [CR_REASON_CALL_ENDED] = {"none", 0, 200, 8608,
                              "Action completed, the call ended; the audio received is kept."},
    [CR_REASON_PLAYED] = {"completedSuccessfully", 0, 200, 8609,
                          "Action completed, the prompts were played."},
    [CR_REASON_PLAY_CANCELED] = {"mediaOperationCanceled", 1, 499, 8610,
                                 "Action canceled, the operation was canceled, pre-empted or "
                                 "ended with the call."},
    [CR_REASON_PLAY_FAILED] = {"unknown", 1, 400, 8611,
                               "Action failed, a prompt could not be played."},
};

const cr_reason_info *cr_reason_get(cr_reason r) { return &reasons[r]; }

int cr_file_uri(const char *path, char *out, unsigned long out_len)
{
    static const char hex[] = "0123456789ABCDEF";
    unsigned long o = 0;
    int n = snprintf(out, out_len, "file://");
    if (n < 0 || (unsigned long)n >= out_len)
        return -1;
    o = (unsigned long)n;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || strchr("/-._~", *p);
        if (o + (plain ? 1 : 3) >= out_len)
            return -1;
        if (plain) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
    return (int)o;
}

char *cr_notification_json(const cr_outcome *o)
{
    const cr_reason_info *info = cr_reason_get(o->reason);
    char resource[160], etag[32], message[512], uri[4200];
    snprintf(resource, sizeof resource, "/app/calls/%s/operations/%s", o->call_id,
             o->operation_id);
    snprintf(etag, sizeof etag, "W/\"%u\"", o->etag);
    if (o->detail && o->detail[0])
        snprintf(message, sizeof message, "%s %s", info->message, o->detail);
    else
        snprintf(message, sizeof message, "%s", info->message);

    cJSON *doc = cJSON_CreateObject();
    cJSON *value = cJSON_AddArrayToObject(doc, "value");
    cJSON *n = cJSON_CreateObject();
    cJSON_AddItemToArray(value, n);
    cJSON_AddStringToObject(doc, "@odata.type", "#microsoft.graph.commsNotifications");
    cJSON_AddStringToObject(n, "@odata.type", "#microsoft.graph.commsNotification");
    cJSON_AddStringToObject(n, "changeType", "deleted");
    cJSON_AddStringToObject(n, "resource", resource);
    cJSON_AddStringToObject(n, "resourceUrl", resource);
    cJSON *d = cJSON_AddObjectToObject(n, "resourceData");
    cJSON_AddStringToObject(d, "@odata.type", o->play_prompt ? "#microsoft.graph.playPromptOperation"
                                                             : "#microsoft.graph.recordOperation");
    cJSON_AddStringToObject(d, "@odata.id", resource);
    cJSON_AddStringToObject(d, "@odata.etag", etag);
    cJSON_AddStringToObject(d, "id", o->operation_id);
    cJSON_AddStringToObject(d, "status", o->failed ? "failed" : "completed");
    cJSON_AddStringToObject(d, "completionReason", info->name);
    cJSON *ri = cJSON_AddObjectToObject(d, "resultInfo");
    cJSON_AddStringToObject(ri, "@odata.type", "#microsoft.graph.resultInfo");
    cJSON_AddNumberToObject(ri, "code", info->code);
    cJSON_AddNumberToObject(ri, "subcode", info->subcode);
    cJSON_AddStringToObject(ri, "message", message);
    if (o->play_prompt) {
        /* a playPromptOperation has no recording */
    } else if (o->recording_path && cr_file_uri(o->recording_path, uri, sizeof uri) > 0) {
        cJSON_AddStringToObject(d, "recordingLocation", uri);
        cJSON_AddStringToObject(d, "recordingAccessToken", o->access_token);
    } else {
        cJSON_AddNullToObject(d, "recordingLocation");
        cJSON_AddNullToObject(d, "recordingAccessToken");
    }
    if (o->client_context)
        cJSON_AddStringToObject(d, "clientContext", o->client_context);
    if (o->stop_tone) {
        char tone[2] = {o->stop_tone, '\0'};
        cJSON_AddStringToObject(d, "@callrec.stopTone", tone);
    }
    if (o->recording_path) {
        cJSON_AddNumberToObject(d, "@callrec.recordingDurationMs",
                                (double)(o->recording_frames / 16));
        cJSON_AddNumberToObject(d, "@callrec.trimmedMs", (double)(o->trimmed_frames / 16));
    }
    if (o->has_xruns) {
        cJSON_AddNumberToObject(d, "@callrec.overruns", (double)o->overruns);
        cJSON_AddNumberToObject(d, "@callrec.underruns", (double)o->underruns);
    }
    if (o->call_ended)
        cJSON_AddBoolToObject(d, "@callrec.callEnded", 1);

    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    return text;
}
