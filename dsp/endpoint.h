/* The endpointer: a VAD's frame classes in, "speech started" and "speech stopped" out, at the
   sample times they happened. */
#ifndef CR_ENDPOINT_H
#define CR_ENDPOINT_H

#include <stdint.h>

#include "vad.h"

typedef enum cr_endpoint_event { CR_EP_NONE = 0, CR_EP_STARTED, CR_EP_STOPPED } cr_endpoint_event;

/* SILENCE: waiting for clear speech; MAYBE: a start under way, not yet START_FRAMES of clear
   speech; SPEECH: started, waiting for the hangover's silence. */
typedef enum cr_endpoint_state { CR_EP_SILENCE = 0, CR_EP_MAYBE, CR_EP_SPEECH } cr_endpoint_state;

typedef struct cr_endpoint {
    int frame;               /* samples per frame */
    cr_endpoint_state state;
    int acc, gap;            /* accumulated speech frames and current gap (maybe state) */
    int run;                 /* speech frames since the last silent one (speech state) */
    int64_t pos;             /* samples seen */
    int64_t onset;           /* first speech frame of the current run */
    int64_t last_speech_end; /* end of the last speech frame and the weak ones just after it */
    int64_t last_active_end; /* end of the last frame above the continue threshold */
    const cr_vad *vad;       /* the detector whose classes these are, or NULL */
} cr_endpoint;

/* vad: the detector whose frames' classes will be fed, every frame from its cr_vad_init on,
   whose end model then places the end of speech (cr_vad_end); NULL for classes from elsewhere. */
void cr_endpoint_init(cr_endpoint *e, int frame_samples, const cr_vad *vad);

/* Feeds one frame's class. Returns STARTED (time in *t: the onset) or STOPPED (time in *t:
   where speech ended), or NONE. A start needs START_FRAMES speech frames (vad_internal.h); weak and
   trail frames keep a possible start alive without adding to it, and keep speech going. Speech
   ends at the last speech frame or the weak frames that follow it with no break longer than
   30 ms (a word decaying through the continue threshold); with a detector attached, its end
   model then moves that end by up to 300 ms back or 200 ms on. */
cr_endpoint_event cr_endpoint_frame(cr_endpoint *e, cr_vad_class c, int64_t *t);

#endif
