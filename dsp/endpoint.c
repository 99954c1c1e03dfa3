/* The endpointer: frame classes in, "speech started" and "speech stopped" out, each at the
   time it happened. */
#include "endpoint.h"

#include <string.h>

#include "vad_internal.h"

/* A possible start is abandoned after this much silence. */
#define MAYBE_GAP_FRAMES 12
/* After a longer gap, speech moves the end only from its RESUME_FRAMES-th clear frame on: a
   click in the hangover makes one. */
#define RESUME_FRAMES 2
/* A dropout this short inside a word's decaying end does not end the word: the weak frames
   after it still move the end. A stop's closure, or a tail flickering at the threshold, lasts
   10-30 ms; a pause between words is longer. */
#define DROPOUT_FRAMES 3

void cr_endpoint_init(cr_endpoint *e, int frame_samples, const cr_vad *vad)
{
    memset(e, 0, sizeof *e);
    e->frame = frame_samples;
    e->vad = vad;
}

cr_endpoint_event cr_endpoint_frame(cr_endpoint *e, cr_vad_class c, int64_t *t)
{
    int64_t start = e->pos;
    e->pos += e->frame;
    switch (e->state) {
    case CR_EP_SILENCE:
        if (c == CR_VAD_SPEECH) {
            e->state = CR_EP_MAYBE;
            e->acc = 1;
            e->gap = 0;
            e->onset = start;
            e->last_speech_end = e->last_active_end = e->pos;
        }
        return CR_EP_NONE;
    case CR_EP_MAYBE:
        if (c != CR_VAD_SILENCE) {
            e->acc += c == CR_VAD_SPEECH;
            e->gap = 0;
            e->last_active_end = e->pos;
            if (c == CR_VAD_SPEECH)
                e->last_speech_end = e->pos;
            if (e->acc >= START_FRAMES) {
                e->state = CR_EP_SPEECH;
                *t = e->onset;
                return CR_EP_STARTED;
            }
        } else if (++e->gap >= MAYBE_GAP_FRAMES) {
            e->state = CR_EP_SILENCE;
        }
        return CR_EP_NONE;
    case CR_EP_SPEECH:
        /* Weak and trail frames keep speech going; the end reported is the last clear speech
           and the weak frames after it, across dropouts of up to DROPOUT_FRAMES. After a
           longer gap, speech moves the end only from its RESUME_FRAMES-th clear frame on: a
           click in the hangover is not more speech. */
        e->run = c == CR_VAD_SILENCE ? 0 : e->run + (c == CR_VAD_SPEECH);
        if ((c == CR_VAD_SPEECH || c == CR_VAD_WEAK) &&
            (start - e->last_speech_end <= (int64_t)DROPOUT_FRAMES * e->frame ||
             e->run >= RESUME_FRAMES))
            e->last_speech_end = e->pos;
        if (c != CR_VAD_SILENCE) {
            e->last_active_end = e->pos;
        } else if (e->pos - e->last_active_end >= (int64_t)HANGOVER_FRAMES * e->frame) {
            e->state = CR_EP_SILENCE;
            *t = e->last_speech_end;
            if (e->vad)
                *t = e->pos - (int64_t)cr_vad_end(e->vad, (int)((e->pos - *t) / e->frame)) * e->frame;
            return CR_EP_STOPPED;
        }
        return CR_EP_NONE;
    }
    return CR_EP_NONE;
}
