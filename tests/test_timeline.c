/* callrec record --timeline and callrec timeline: a known call (1 s of silence, a spoken
   message, a pause, '#') drawn as PNG, read back with cairo and looked at where each part must
   be: the recording window's colour, the waveform tall inside speech and flat in the silence,
   the speech bar, the stop key's red mark at its onset, the cut; the same picture after the
   fact from the events file; SVG and PDF written; bad names refused. */
#include <cairo.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "signals.h"
#include "support.h"
#include "timeline.h"

static char dir[512];

static char *path_in(const char *name)
{
    static char paths[16][700];
    static int next;
    char *p = paths[next++ % 16];
    snprintf(p, 700, "%s/%s", dir, name);
    return p;
}

static int run(const char *const *args)
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDOUT_FILENO);
        execv(CALLREC_BIN, (char *const *)args);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The events of the file as tl_events (enough of them to place things). */
static int read_events(const char *path, tl_event *ev, int cap, double *speech_from,
                       double *speech_to, double *key_onset, double *end)
{
    char text[65536];
    support_slurp(path, text, sizeof text);
    int n = 0;
    static const char *const names[] = {"promptStarted", "promptEnded",   "beepStarted",
                                        "beepEnded",     "recordingStarted", "speechStarted",
                                        "speechStopped", "toneDetected",  "completed"};
    for (char *line = strtok(text, "\n"); line && n < cap; line = strtok(NULL, "\n")) {
        cJSON *o = cJSON_Parse(line);
        const cJSON *name = cJSON_GetObjectItem(o, "event"), *t = cJSON_GetObjectItem(o, "t");
        const cJSON *at = cJSON_GetObjectItem(o, "detectedAt");
        for (int k = 0; k < 9 && cJSON_IsString(name); k++)
            if (strcmp(name->valuestring, names[k]) == 0) {
                ev[n] = (tl_event){(tl_kind)k, t->valuedouble,
                                   cJSON_IsNumber(at) ? at->valuedouble : t->valuedouble, 0, 0};
                if (k == TL_SPEECH_STARTED && isnan(*speech_from))
                    *speech_from = t->valuedouble;
                if (k == TL_SPEECH_STOPPED)
                    *speech_to = t->valuedouble;
                if (k == TL_TONE)
                    *key_onset = t->valuedouble;
                if (k == TL_COMPLETED)
                    *end = t->valuedouble;
                n++;
            }
        cJSON_Delete(o);
    }
    return n;
}

typedef struct picture {
    cairo_surface_t *s;
    unsigned char *px;
    int stride, w, h;
} picture;

static int load(picture *p, const char *path)
{
    p->s = cairo_image_surface_create_from_png(path);
    if (cairo_surface_status(p->s) != CAIRO_STATUS_SUCCESS)
        return -1;
    cairo_surface_flush(p->s);
    p->px = cairo_image_surface_get_data(p->s);
    p->stride = cairo_image_surface_get_stride(p->s);
    p->w = cairo_image_surface_get_width(p->s);
    p->h = cairo_image_surface_get_height(p->s);
    return 0;
}

static void pixel(const picture *p, int x, int y, int *r, int *g, int *b)
{
    uint32_t v;
    memcpy(&v, p->px + (size_t)y * (size_t)p->stride + (size_t)x * 4, 4);
    *r = (int)(v >> 16 & 255), *g = (int)(v >> 8 & 255), *b = (int)(v & 255);
}

/* How many pixels of column x between y0 and y1 are dark (the waveform's ink). */
static int dark_in_column(const picture *p, int x, int y0, int y1)
{
    int n = 0, r, g, b;
    for (int y = y0; y < y1; y++) {
        pixel(p, x, y, &r, &g, &b);
        n += r + g + b < 300;
    }
    return n;
}

static int near_colour(const picture *p, int x, int y, int r0, int g0, int b0)
{
    int r, g, b;
    pixel(p, x, y, &r, &g, &b);
    return abs(r - r0) < 40 && abs(g - g0) < 40 && abs(b - b0) < 40;
}

static void check_picture(const char *png, const char *events)
{
    tl_event ev[256];
    double speech_from = NAN, speech_to = NAN, key = NAN, end = NAN;
    int n = read_events(events, ev, 256, &speech_from, &speech_to, &key, &end);
    CHECK_MSG(n >= 5 && !isnan(speech_from) && !isnan(key) && !isnan(end),
              "%d events, speech %.2f, key %.2f, end %.2f", n, speech_from, key, end);
    tl_input in = {ev, n, NULL, NULL, 0, 0.0, NULL, 0, 0, 0};
    double t0, spp;
    tl_scale(&in, &t0, &spp);
    picture p = {0};
    int loaded = load(&p, png) == 0;
    CHECK_MSG(loaded, "%s is not a PNG cairo reads", png);
    if (!loaded) {
        cairo_surface_destroy(p.s);
        return;
    }
    CHECK(p.w == TL_WIDTH && p.h == TL_HEIGHT);
    int x_silence = (int)(TL_LEFT + (0.5 - t0) / spp);
    int x_speech = (int)(TL_LEFT + ((speech_from + speech_to) / 2 - t0) / spp);
    int x_key = (int)lround(TL_LEFT + (key - t0) / spp);
    int x_end = (int)lround(TL_LEFT + (end - t0) / spp);
    /* the recording window (green) over the speech; nothing drawn beyond the cut */
    CHECK(near_colour(&p, x_speech, TL_PHASES_Y + 4, 61, 158, 79));
    CHECK(near_colour(&p, x_end + 20 < TL_WIDTH - TL_RIGHT ? x_end + 20 : x_end + 5,
                      TL_PHASES_Y + 4, 255, 255, 255));
    /* the waveform: tall in the speech, a flat line in the silence */
    int tall = 0;
    for (int dx = -20; dx <= 20; dx++)
        tall = dark_in_column(&p, x_speech + dx, TL_WAVE_Y, TL_WAVE_Y + TL_WAVE_H) > tall
                   ? dark_in_column(&p, x_speech + dx, TL_WAVE_Y, TL_WAVE_Y + TL_WAVE_H)
                   : tall;
    int flat = dark_in_column(&p, x_silence, TL_WAVE_Y, TL_WAVE_Y + TL_WAVE_H);
    CHECK_MSG(tall > 20 && flat <= 3, "waveform: %d px tall in speech, %d in silence", tall, flat);
    /* the spectrogram has ink in the speech and little in the silence */
    int spec_speech = 0, spec_silence = 0;
    for (int dx = -10; dx <= 10; dx++) {
        spec_speech += dark_in_column(&p, x_speech + dx, TL_SPEC_Y, TL_SPEC_Y + TL_SPEC_H);
        spec_silence += dark_in_column(&p, x_silence + dx, TL_SPEC_Y, TL_SPEC_Y + TL_SPEC_H);
    }
    CHECK_MSG(spec_speech > 10 * (spec_silence + 1), "spectrogram ink %d vs %d", spec_speech,
              spec_silence);
    /* speech as heard */
    CHECK(near_colour(&p, x_speech, TL_SPEECH_Y + TL_SPEECH_H / 2, 41, 158, 143));
    CHECK(near_colour(&p, x_silence, TL_SPEECH_Y + TL_SPEECH_H / 2, 255, 255, 255));
    /* the stop key's red line at its onset */
    int red = 0;
    for (int dx = -1; dx <= 1; dx++)
        red |= near_colour(&p, x_key + dx, TL_KEYS_Y + 2, 214, 38, 41);
    CHECK_MSG(red, "no red key mark at x %d", x_key);
    /* the duration timer ran through the speech */
    CHECK(near_colour(&p, x_speech, TL_TIMERS_Y + 7, 148, 102, 189));
    cairo_surface_destroy(p.s);
}

int main(void)
{
    if (support_scratch_dir(dir, sizeof dir, "timeline"))
        return 1;
    sig_rng rng;
    sig_seed(&rng, 31);
    sig_buf b;
    sig_init(&b, 16000);
    sig_silence(&b, 1.0);
    CHECK(sig_append_speech(&b, "vm-intro", -6.0) == 0);
    sig_silence(&b, 0.8);
    sig_dtmf(&b, &rng, '#', -12.0, 0.12);
    sig_silence(&b, 1.0);
    sig_add_noise(&b, &rng, 0, b.n, -70.0);
    char *caller = path_in("caller.wav");
    CHECK(sig_write_wav(&b, caller) == 0);
    sig_free(&b);

    char *png = path_in("call.png"), *events = path_in("events.jsonl");
    const char *record[] = {CALLREC_BIN, "record", "--input", caller, "--stop-tones", "#",
                            "--no-beep", "--max-duration", "60", "--recording-dir", dir,
                            "--events", events, "--timeline", png, "-q", NULL};
    CHECK(run(record) == 0);
    check_picture(png, events);

    /* after the fact, from the events and the recording the completed event names */
    char *again = path_in("again.png");
    const char *after[] = {CALLREC_BIN, "timeline", events, "-o", again, NULL};
    CHECK(run(after) == 0);
    check_picture(again, events);

    /* SVG and PDF */
    char *svg = path_in("call.svg"), *pdf = path_in("call.pdf"), head[16] = "";
    const char *to_svg[] = {CALLREC_BIN, "timeline", events, "-o", svg, NULL};
    const char *to_pdf[] = {CALLREC_BIN, "timeline", events, "-o", pdf, NULL};
    CHECK(run(to_svg) == 0 && run(to_pdf) == 0);
    support_slurp(svg, head, sizeof head);
    CHECK(strncmp(head, "<?xml", 5) == 0);
    support_slurp(pdf, head, sizeof head);
    CHECK(strncmp(head, "%PDF", 4) == 0);

    /* A caller who talks while the prompt plays: not in the recording, but in the picture's
       input level (grey, no waveform ink) where the prompt was playing. */
    sig_init(&b, 16000);
    sig_tones(&b, &rng, 440.0, -20.0, 0.0, -99.0, 1.5);
    char *prompt = path_in("prompt.wav");
    CHECK(sig_write_wav(&b, prompt) == 0);
    sig_free(&b);
    sig_init(&b, 16000);
    sig_silence(&b, 0.1);
    CHECK(sig_append_speech(&b, "hello", -6.0) == 0);
    double hello_end = (double)b.n / 16000.0;
    sig_silence(&b, 2.0);
    CHECK(sig_append_speech(&b, "vm-intro", -6.0) == 0);
    sig_silence(&b, 0.8);
    sig_dtmf(&b, &rng, '#', -12.0, 0.12);
    sig_silence(&b, 1.0);
    sig_add_noise(&b, &rng, 0, b.n, -70.0);
    char *talker = path_in("talker.wav");
    CHECK(sig_write_wav(&b, talker) == 0);
    sig_free(&b);
    char *png2 = path_in("talker.png"), *events2 = path_in("talker.jsonl");
    const char *talk[] = {CALLREC_BIN, "record", "--input", talker, "--prompt", prompt,
                          "--no-beep", "--stop-tones", "#", "--max-duration", "60",
                          "--recording-dir", dir, "--events", events2, "--timeline", png2,
                          "-q", NULL};
    CHECK(run(talk) == 0);
    tl_event ev2[256];
    double sf2 = NAN, st2 = NAN, key2 = NAN, end2 = NAN;
    int n2 = read_events(events2, ev2, 256, &sf2, &st2, &key2, &end2);
    tl_input in2 = {ev2, n2, NULL, NULL, 0, 0.0, NULL, 0, 0, 0};
    double t0, spp;
    tl_scale(&in2, &t0, &spp);
    picture p = {0};
    if (load(&p, png2) == 0) {
        int grey = 0, ink = 0;
        for (double t = 0.2; t < hello_end - 0.1; t += 0.02) {
            int x = (int)(TL_LEFT + (t - t0) / spp);
            for (int y = TL_WAVE_Y; y < TL_WAVE_Y + TL_WAVE_H; y++) {
                int r, g, bl;
                pixel(&p, x, y, &r, &g, &bl);
                grey += r > 190 && r < 208 && abs(r - g) < 4 && abs(g - bl) < 4; /* 0.78: the level */
            }
            ink += dark_in_column(&p, x, TL_WAVE_Y, TL_WAVE_Y + TL_WAVE_H);
        }
        CHECK_MSG(grey > 100 && ink == 0, "speech during the prompt: %d grey pixels, %d inked",
                  grey, ink);
    } else {
        CHECK_MSG(0, "%s is not a PNG cairo reads", png2);
    }
    cairo_surface_destroy(p.s);

    /* refused: a picture format cairo is not asked to write, a missing events file */
    const char *bad_ext[] = {CALLREC_BIN, "record", "--input", caller, "--timeline",
                             path_in("call.jpg"), NULL};
    CHECK(run(bad_ext) == 2);
    const char *missing[] = {CALLREC_BIN, "timeline", path_in("none.jsonl"), "-o", again, NULL};
    CHECK(run(missing) == 2);
    support_remove_dir(dir);
    return harness_finish("test_timeline");
}
