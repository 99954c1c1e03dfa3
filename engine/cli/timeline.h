/* A picture of one operation (callrec record --timeline, callrec timeline): the recording's
   waveform and spectrogram, the phases, speech as heard, every key, the timers and the cut,
   drawn with cairo as PNG, SVG or PDF. */
#ifndef CR_TIMELINE_H
#define CR_TIMELINE_H

#include <stddef.h>
#include <string.h>
#include <strings.h>

/* The picture's geometry, in pixels (PNG) or points (SVG, PDF); the tests find rows by it. */
#define TL_WIDTH 1600
#define TL_HEIGHT 640
#define TL_LEFT 110  /* time axis from here ... */
#define TL_RIGHT 30  /* ... to TL_WIDTH - TL_RIGHT */
#define TL_PHASES_Y 60
#define TL_PHASES_H 28
#define TL_WAVE_Y 100
#define TL_WAVE_H 120
#define TL_SPEC_Y 230
#define TL_SPEC_H 120
#define TL_SPEECH_Y 362
#define TL_SPEECH_H 26
#define TL_KEYS_Y 400
#define TL_KEYS_H 40
#define TL_TIMERS_Y 452
#define TL_TIMERS_H 110
#define TL_AXIS_Y 580

typedef enum tl_kind {
    TL_PROMPT_STARTED,
    TL_PROMPT_ENDED,
    TL_BEEP_STARTED,
    TL_BEEP_ENDED,
    TL_RECORDING_STARTED,
    TL_SPEECH_STARTED,
    TL_SPEECH_STOPPED,
    TL_TONE,
    TL_COMPLETED
} tl_kind;

typedef struct tl_event {
    tl_kind kind;
    double t, detected; /* seconds since the operation started */
    char tone;
    int stop_tone;
} tl_event;

typedef struct tl_input {
    const tl_event *events;
    int n_events;
    const char *recording; /* the WAV, or NULL */
    /* the caller's input level through the whole operation (the prompt included), dBFS per
       frame of level_frame_s seconds from time 0; NULL when not known */
    const float *level_db;
    size_t n_levels;
    double level_frame_s;
    const char *reason;    /* the completionReason, or NULL */
    /* the request's timers, seconds; 0 when not known */
    double initial_silence, max_silence, max_duration;
} tl_input;

/* The request's three timers (JSON text, len bytes) into in: initial silence, max silence and
   duration, the API's 5 s where a field is absent. Returns 0, or -1 if it is not JSON. */
int tl_request_timers(const char *json, size_t len, tl_input *in);

/* Draws the picture into path (.png, .svg or .pdf). Returns 0, or -1 with a message. */
int tl_render(const tl_input *in, const char *path, char *err, size_t err_len);

/* The time at the picture's left edge and its seconds per pixel, for in (the tests use it). */
void tl_scale(const tl_input *in, double *t0, double *seconds_per_px);

/* 1 if path ends in an extension tl_render() writes (inline: the program checks it before it
   opens the module that draws). */
static inline int tl_supported(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".svg") == 0 ||
                   strcasecmp(dot, ".pdf") == 0);
}

/* callrec timeline EVENTS.jsonl [REC.wav] -o FILE [--request REQ.json]; argv[0] "timeline".
   Returns the exit status. */
int tl_main(int argc, char **argv);

#endif
