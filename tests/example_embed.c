/* The README's embedding example, built against the installed-style public API only. */
#include <callrec.h>
#include <stdio.h>
#include <string.h>

static void on_event(void *user, const callrec_event *e)
{
    if (e->type == CALLREC_EVENT_COMPLETED) {
        printf("%s\n", e->notification_json); /* post it to the bot's callback URL */
        *(int *)user = 1;
    }
}

int main(void)
{
    int done = 0;
    callrec_session_config cfg;
    callrec_session_config_default(&cfg);
    cfg.sample_rate_hz = 16000;          /* the rate of the bot's media frames */
    cfg.recording_dir = ".";
    cfg.on_event = on_event;
    cfg.event_user = &done;

    callrec_session *call;
    if (callrec_session_create(&cfg, &call) != CALLREC_OK)
        return 1;

    const char *body = "{\"stopTones\": [\"#\"], \"initialSilenceTimeoutInSeconds\": 2}";
    char id[CALLREC_ID_LEN], err[256];
    if (callrec_session_record(call, body, strlen(body), NULL, id, err, sizeof err) != CALLREC_OK) {
        fprintf(stderr, "refused: %s\n", err);
        return 2;
    }

    int16_t in[320] = {0}, out[320];     /* 20 ms frames in and out */
    for (int frame = 0; frame < 500 && !done; frame++) {
        /* in: the caller's audio from the media stack; out: what to play to the caller */
        callrec_session_process(call, in, out, 320);
    }
    callrec_session_destroy(call);
    return done ? 0 : 3;
}
