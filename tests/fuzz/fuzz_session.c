/* libFuzzer target: a session driven by arbitrary bytes. The input is read as a script:
   a request body (one of a few, or raw bytes), then commands that feed audio of random length
   and content, queue more operations (record and playPrompt), cancel or hang up; its second
   byte also makes the event callback call back into the session (queue, cancel, hang up,
   barge in). The session must never crash or leak, emit only well-formed completions, and
   complete every operation it accepted exactly once; recordings go to a scratch folder that
   is emptied after every input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "callrec.h"
#include "support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char folder[64];
static int completions, accepted, reentries;
static callrec_session *session;
static uint8_t reentry; /* what the callback does, by event */

static void on_event(void *user, const callrec_event *e)
{
    (void)user;
    if (e->type == CALLREC_EVENT_COMPLETED) {
        /* a reason in range: only CALLREC_REASON_UNKNOWN itself is named "unknown" */
        int named = e->completion_reason == CALLREC_REASON_UNKNOWN ||
                    strcmp(callrec_completion_reason_name(e->completion_reason), "unknown") != 0;
        if (!e->notification_json || !named)
            abort();
        completions++;
    }
    if (reentries >= 64)
        return;
    reentries++;
    switch ((reentry + (unsigned)e->type * 3u) % 10u) {
    case 4:
        accepted += callrec_session_record(session, "{}", 2, NULL, NULL, NULL, 0) == CALLREC_OK;
        break;
    case 5:
        callrec_session_cancel(session);
        break;
    case 6:
        if (reentry > 128)
            callrec_session_hangup(session);
        break;
    case 7: {
        static const char b[] = "{\"bargeInAllowed\": true, \"maxRecordDurationInSeconds\": 1}";
        accepted += callrec_session_record(session, b, sizeof b - 1, NULL, NULL, NULL, 0) == CALLREC_OK;
        break;
    }
    case 8: {
        static const char p[] = "{\"prompts\": [{\"mediaInfo\": {\"uri\": \"/nonexistent/p.wav\"}}]}";
        accepted += callrec_session_play_prompt(session, p, sizeof p - 1, NULL, NULL, 0) == CALLREC_OK;
        break;
    }
    case 9:
        callrec_session_media_timeout(session, 3000);
        break;
    default:
        break;
    }
}

static const char *const requests[] = {
    "{}",
    "{\"stopTones\": [\"#\", \"1\"], \"maxRecordDurationInSeconds\": 1, \"playBeep\": false}",
    "{\"initialSilenceTimeoutInSeconds\": 1, \"maxSilenceTimeoutInSeconds\": 1}",
    "{\"bargeInAllowed\": true, \"playBeep\": true, \"clientContext\": \"x\\\"y\"}",
    "{\"prompts\": [{\"mediaInfo\": {\"uri\": \"/nonexistent/p.wav\"}}]}",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!folder[0]) {
        snprintf(folder, sizeof folder, "/tmp/callrec-fuzz-%d", (int)getpid());
        if (mkdir(folder, 0700) && access(folder, W_OK))
            abort();
    }
    if (size < 3)
        return 0;
    completions = accepted = reentries = 0;
    reentry = data[1];
    static const int rates[] = {8000, 16000, 22050, 44100, 48000};
    callrec_session_config cfg;
    callrec_session_config_default(&cfg);
    cfg.sample_rate_hz = rates[data[0] % 5];
    cfg.recording_dir = folder;
    cfg.on_event = on_event;
    callrec_session *s = NULL;
    if (callrec_session_create(&cfg, &s) != CALLREC_OK)
        abort();
    session = s;
    size_t pos = 2;
    int16_t audio[4096], out[4096];
    while (pos < size) {
        uint8_t op = data[pos++];
        switch (op % 8) {
        case 0: { /* queue a known request */
            const char *r = requests[(op / 8) % 5];
            if (op & 128)
                accepted += callrec_session_play_prompt(s, r, strlen(r), NULL, NULL, 0) == CALLREC_OK;
            else
                accepted += callrec_session_record(s, r, strlen(r), NULL, NULL, NULL, 0) == CALLREC_OK;
            break;
        }
        case 1: { /* queue raw bytes as a request */
            size_t n = size - pos < 64 ? size - pos : 64;
            char err[256];
            accepted += callrec_session_record(s, (const char *)data + pos, n, NULL, NULL, err,
                                               sizeof err) == CALLREC_OK;
            pos += n;
            break;
        }
        case 2:
            callrec_session_cancel(s);
            break;
        case 3:
            if (op > 200)
                callrec_session_hangup(s);
            break;
        case 4:
            callrec_session_media_timeout(s, op);
            break;
        default: { /* feed audio: length from the next byte, samples from what follows */
            size_t n = pos < size ? (size_t)data[pos++] * 16 : 0;
            for (size_t i = 0; i < n; i++)
                audio[i] = (int16_t)((pos + 2 * i + 1 < size)
                                         ? (data[pos + 2 * i] | data[pos + 2 * i + 1] << 8)
                                         : (int)(i * 2654435761u >> 16));
            callrec_session_process(s, audio, (op & 16) ? out : NULL, n);
            break;
        }
        }
    }
    callrec_session_hangup(s);
    /* Every operation accepted was completed exactly once. */
    if (completions != accepted || callrec_session_pending(s) != 0)
        abort();
    callrec_session_destroy(s);
    support_empty_folder(folder);
    return 0;
}
