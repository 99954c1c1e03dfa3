/* Completion reasons and the commsNotifications document, written without allocating. */
#ifndef CR_NOTIFY_H
#define CR_NOTIFY_H

#include <stddef.h>

typedef enum cr_reason {
    CR_REASON_OPERATION_CANCELED,
    CR_REASON_STOP_TONE,
    CR_REASON_MAX_DURATION,
    CR_REASON_INITIAL_SILENCE,
    CR_REASON_MAX_SILENCE,
    CR_REASON_PLAY_PROMPT_FAILED,
    CR_REASON_PLAY_BEEP_FAILED,
    CR_REASON_MEDIA_RECEIVE_TIMEOUT,
    CR_REASON_UNSPECIFIED_ERROR,
    CR_REASON_CALL_ENDED,        /* completionReason "none": the caller hung up */
    /* playPrompt operations (the calling API's playPromptCompletionReason) */
    CR_REASON_PLAYED,            /* completedSuccessfully */
    CR_REASON_PLAY_CANCELED,     /* mediaOperationCanceled: canceled, pre-empted, hung up */
    CR_REASON_PLAY_FAILED,       /* unknown: a prompt could not be played */
    CR_REASON_COUNT
} cr_reason;

typedef struct cr_reason_info {
    const char *name;    /* completionReason */
    int failed;          /* status "failed" rather than "completed" */
    int code, subcode;
    const char *message;
} cr_reason_info;

const cr_reason_info *cr_reason_get(cr_reason r);

typedef struct cr_outcome {
    int play_prompt;            /* a playPromptOperation (else a recordOperation) */
    int call_ended;             /* the caller hung up */
    const char *call_id, *operation_id;
    cr_reason reason;
    int failed;                 /* overrides the table (a hang-up before recording fails) */
    const char *detail;         /* appended to the message, may be NULL */
    const char *recording_path; /* absolute, NULL if no recording */
    const char *access_token;
    const char *client_context; /* NULL if the request had none */
    char stop_tone;             /* 0 if none */
    long long recording_frames; /* at 16 kHz */
    long long trimmed_frames;
    unsigned etag;
    int has_xruns;              /* a live driver reported sample losses (maybe zero) */
    unsigned long long overruns, underruns;
} cr_outcome;

/* Buffer size that holds the notification of an operation whose clientContext and recording
   path have these lengths (bytes), whatever its outcome. */
size_t cr_notification_capacity(size_t context_len, size_t path_len);

/* Writes the notification (a commsNotifications document, NUL-terminated) into out. Returns
   its length, or -1 if cap is too small. Never allocates. */
int cr_notification_write(const cr_outcome *o, char *out, size_t cap);

#endif
