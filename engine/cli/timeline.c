#include "timeline.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "callrec.h"

#define RATE CALLREC_INTERNAL_RATE_HZ
#define SPEC_FFT 256
#define SPEC_BINS (SPEC_FFT / 2)
#define SPEC_FLOOR_DB (-90.0) /* dBFS drawn white ... */
#define SPEC_TOP_DB (-20.0)   /* ... and black */

typedef struct rgb {
    double r, g, b;
} rgb;

static const rgb ink = {0.15, 0.15, 0.15}, faint = {0.55, 0.55, 0.55}, grid = {0.88, 0.88, 0.88};
static const rgb prompt_c = {0.29, 0.47, 0.76}, beep_c = {0.91, 0.57, 0.18};
static const rgb window_c = {0.24, 0.62, 0.31}, speech_c = {0.16, 0.62, 0.56};
static const rgb stop_c = {0.84, 0.15, 0.16}, key_c = {0.45, 0.45, 0.45};
static const rgb wave_c = {0.13, 0.23, 0.45}, timer_c = {0.58, 0.40, 0.74};

static void set(cairo_t *cr, rgb c) { cairo_set_source_rgb(cr, c.r, c.g, c.b); }

static double event_time(const tl_input *in, tl_kind kind, int last)
{
    double t = NAN;
    for (int i = 0; i < in->n_events; i++)
        if (in->events[i].kind == kind && (isnan(t) || last))
            t = in->events[i].t;
    return t;
}

/* The recording's samples (16 kHz), or NULL. */
static int16_t *read_recording(const char *path, size_t *n)
{
    *n = 0;
    callrec_source *src = NULL;
    if (!path || callrec_source_open(path, RATE, &src, NULL, 0) != CALLREC_OK)
        return NULL;
    size_t cap = RATE, got = 0;
    int16_t *x = malloc(cap * sizeof *x);
    while (x) {
        if (*n + 4096 > cap) {
            int16_t *bigger = realloc(x, (cap *= 2) * sizeof *x);
            if (!bigger) {
                free(x);
                x = NULL;
                break;
            }
            x = bigger;
        }
        if (callrec_source_read(src, x + *n, 4096, &got) != CALLREC_OK || got == 0)
            break;
        *n += got;
    }
    callrec_source_close(src);
    return x;
}

void tl_scale(const tl_input *in, double *t0, double *seconds_per_px)
{
    double lo = 0.0, hi = 1.0;
    for (int i = 0; i < in->n_events; i++) {
        lo = in->events[i].t < lo ? in->events[i].t : lo;
        hi = in->events[i].t > hi ? in->events[i].t : hi;
        hi = in->events[i].detected > hi ? in->events[i].detected : hi;
    }
    double start = event_time(in, TL_RECORDING_STARTED, 0);
    if (!isnan(start) && in->max_duration > 0 && isnan(event_time(in, TL_COMPLETED, 0)))
        hi = start + in->max_duration > hi ? start + in->max_duration : hi;
    hi += 0.05 * (hi - lo) + 0.2;
    *t0 = lo;
    *seconds_per_px = (hi - lo) / (TL_WIDTH - TL_LEFT - TL_RIGHT);
}

typedef struct frame {
    double t0, spp;
} frame;

static double xt(const frame *f, double t) { return TL_LEFT + (t - f->t0) / f->spp; }

/* In-place radix-2 FFT of SPEC_FFT complex points. */
static void fft(double *re, double *im)
{
    const int n = SPEC_FFT;
    for (int i = 1, j = 0; i < n; i++) {
        int bit = n >> 1;
        for (; j & bit; bit >>= 1)
            j ^= bit;
        j ^= bit;
        if (i < j) {
            double t = re[i];
            re[i] = re[j], re[j] = t;
            t = im[i];
            im[i] = im[j], im[j] = t;
        }
    }
    for (int len = 2; len <= n; len <<= 1) {
        double a = -2.0 * M_PI / len;
        for (int i = 0; i < n; i += len)
            for (int k = 0; k < len / 2; k++) {
                double wr = cos(a * k), wi = sin(a * k);
                double xr = re[i + k + len / 2] * wr - im[i + k + len / 2] * wi;
                double xi = re[i + k + len / 2] * wi + im[i + k + len / 2] * wr;
                re[i + k + len / 2] = re[i + k] - xr;
                im[i + k + len / 2] = im[i + k] - xi;
                re[i + k] += xr;
                im[i + k] += xi;
            }
    }
}

static void label(cairo_t *cr, double x, double y, double size, const char *text)
{
    cairo_set_font_size(cr, size);
    cairo_move_to(cr, x, y);
    cairo_show_text(cr, text);
}

static void box(cairo_t *cr, rgb c, double x0, double x1, double y, double h)
{
    set(cr, c);
    cairo_rectangle(cr, x0, y, x1 - x0 < 1 ? 1 : x1 - x0, h);
    cairo_fill(cr);
}

static void draw_phases(cairo_t *cr, const frame *f, const tl_input *in, double end)
{
    static const struct {
        tl_kind from, to;
        const char *name;
    } spans[] = {{TL_PROMPT_STARTED, TL_PROMPT_ENDED, "prompt"},
                 {TL_BEEP_STARTED, TL_BEEP_ENDED, "beep"},
                 {TL_RECORDING_STARTED, TL_COMPLETED, "recording window"}};
    const rgb colours[] = {prompt_c, beep_c, window_c};
    for (int s = 0; s < 3; s++) {
        double a = event_time(in, spans[s].from, 0), b = event_time(in, spans[s].to, 0);
        if (isnan(a))
            continue;
        if (isnan(b))
            b = end;
        box(cr, colours[s], xt(f, a), xt(f, b), TL_PHASES_Y, TL_PHASES_H);
        cairo_set_source_rgb(cr, 1, 1, 1);
        if (xt(f, b) - xt(f, a) > 60)
            label(cr, xt(f, a) + 5, TL_PHASES_Y + 19, 13, spans[s].name);
    }
}

/* The input's level through the whole operation, as a grey envelope behind the recording's
   waveform: what the caller sent while the prompt played shows here and nowhere else. */
static void draw_level(cairo_t *cr, const frame *f, const tl_input *in)
{
    double mid = TL_WAVE_Y + TL_WAVE_H / 2.0;
    cairo_set_source_rgb(cr, 0.78, 0.78, 0.78);
    for (size_t i = 0; i < in->n_levels; i++) {
        double a = pow(10.0, in->level_db[i] / 20.0) * 1.41421356; /* RMS to a sine's peak */
        a = a > 1.0 ? 1.0 : a;
        double x0 = xt(f, (double)i * in->level_frame_s), x1 = xt(f, (double)(i + 1) * in->level_frame_s);
        double h = a * TL_WAVE_H / 2.0;
        if (h >= 0.5)
            cairo_rectangle(cr, x0, mid - h, x1 - x0 + 0.3, 2 * h);
    }
    cairo_fill(cr);
}

static void draw_audio(cairo_t *cr, const frame *f, const int16_t *x, size_t n, double start)
{
    if (!x || n == 0)
        return;
    /* waveform: the smallest and largest sample of each column */
    double mid = TL_WAVE_Y + TL_WAVE_H / 2.0, scale = TL_WAVE_H / 2.0 / 32768.0;
    set(cr, wave_c);
    cairo_set_line_width(cr, 1.0);
    int c0 = (int)floor(xt(f, start)), c1 = (int)ceil(xt(f, start + (double)n / RATE));
    for (int c = c0; c < c1; c++) {
        double ta = (c - TL_LEFT) * f->spp + f->t0 - start, tb = ta + f->spp;
        size_t a = ta < 0 ? 0 : (size_t)(ta * RATE), b = tb < 0 ? 0 : (size_t)(tb * RATE);
        if (b > n)
            b = n;
        if (a >= b)
            continue;
        int lo = x[a], hi = x[a];
        for (size_t i = a; i < b; i++) {
            lo = x[i] < lo ? x[i] : lo;
            hi = x[i] > hi ? x[i] : hi;
        }
        cairo_move_to(cr, c + 0.5, mid - hi * scale - 0.5);
        cairo_line_to(cr, c + 0.5, mid - lo * scale + 0.5);
    }
    cairo_stroke(cr);

    /* spectrogram: a 256-point Hann-windowed FFT per column, 0 to 8 kHz upwards */
    int cols = c1 - c0;
    if (cols <= 0)
        return;
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, cols, SPEC_BINS);
    unsigned char *px = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    double re[SPEC_FFT], im[SPEC_FFT];
    for (int c = 0; c < cols; c++) {
        double centre = ((c0 + c + 0.5) - TL_LEFT) * f->spp + f->t0 - start;
        long at = (long)(centre * RATE) - SPEC_FFT / 2;
        for (int i = 0; i < SPEC_FFT; i++) {
            long k = at + i;
            double w = 0.5 - 0.5 * cos(2.0 * M_PI * i / SPEC_FFT);
            re[i] = k >= 0 && (size_t)k < n ? x[k] / 32768.0 * w : 0.0;
            im[i] = 0.0;
        }
        fft(re, im);
        for (int b = 0; b < SPEC_BINS; b++) {
            double p = (re[b] * re[b] + im[b] * im[b]) / (SPEC_FFT * 0.375 / 4.0 * SPEC_FFT);
            double db = 10.0 * log10(p + 1e-12);
            double v = (db - SPEC_FLOOR_DB) / (SPEC_TOP_DB - SPEC_FLOOR_DB);
            v = v < 0 ? 0 : v > 1 ? 1 : v;
            unsigned char g = (unsigned char)(255 * (1.0 - v));
            uint32_t rgb24 = (uint32_t)g << 16 | (uint32_t)g << 8 | g;
            memcpy(px + (size_t)(SPEC_BINS - 1 - b) * (size_t)stride + (size_t)c * 4, &rgb24, 4);
        }
    }
    cairo_surface_mark_dirty(img);
    cairo_save(cr);
    cairo_translate(cr, c0, TL_SPEC_Y);
    cairo_scale(cr, 1.0, (double)TL_SPEC_H / SPEC_BINS);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_paint(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);
}

static void draw_speech(cairo_t *cr, const frame *f, const tl_input *in, double end)
{
    double from = NAN;
    for (int i = 0; i < in->n_events; i++) {
        const tl_event *e = &in->events[i];
        if (e->kind == TL_SPEECH_STARTED)
            from = e->t;
        if (e->kind == TL_SPEECH_STOPPED && !isnan(from)) {
            box(cr, speech_c, xt(f, from), xt(f, e->t), TL_SPEECH_Y, TL_SPEECH_H);
            from = NAN;
        }
    }
    if (!isnan(from))
        box(cr, speech_c, xt(f, from), xt(f, end), TL_SPEECH_Y, TL_SPEECH_H);
    /* where each was decided: a small mark under the bar */
    set(cr, ink);
    for (int i = 0; i < in->n_events; i++) {
        const tl_event *e = &in->events[i];
        if (e->kind != TL_SPEECH_STARTED && e->kind != TL_SPEECH_STOPPED)
            continue;
        double x = xt(f, e->detected), y = TL_SPEECH_Y + TL_SPEECH_H + 1;
        cairo_move_to(cr, x, y);
        cairo_line_to(cr, x - 4, y + 7);
        cairo_line_to(cr, x + 4, y + 7);
        cairo_close_path(cr);
        cairo_fill(cr);
    }
}

static void draw_keys(cairo_t *cr, const frame *f, const tl_input *in)
{
    for (int i = 0; i < in->n_events; i++) {
        const tl_event *e = &in->events[i];
        if (e->kind != TL_TONE)
            continue;
        rgb c = e->stop_tone ? stop_c : key_c;
        box(cr, c, xt(f, e->t), xt(f, e->detected), TL_KEYS_Y + 8, TL_KEYS_H - 16);
        set(cr, c);
        cairo_set_line_width(cr, 2.0);
        cairo_move_to(cr, xt(f, e->t), TL_KEYS_Y);
        cairo_line_to(cr, xt(f, e->t), TL_KEYS_Y + TL_KEYS_H);
        cairo_stroke(cr);
        cairo_arc(cr, xt(f, e->detected), TL_KEYS_Y + TL_KEYS_H / 2.0, 4.5, 0, 2 * M_PI);
        cairo_fill(cr);
        char key[40];
        snprintf(key, sizeof key, "%c%s", e->tone, e->stop_tone ? " (stop)" : "");
        set(cr, ink);
        label(cr, xt(f, e->detected) + 7, TL_KEYS_Y + 14, 13, key);
    }
}

/* A timer: its whole span outlined, what ran of it filled. */
static void timer(cairo_t *cr, const frame *f, double y, double from, double length, double ran_to)
{
    double x0 = xt(f, from), x1 = xt(f, from + length), xr = xt(f, ran_to < from + length ? ran_to : from + length);
    set(cr, timer_c);
    cairo_set_line_width(cr, 1.0);
    cairo_rectangle(cr, x0 + 0.5, y + 0.5, x1 - x0, 14);
    cairo_stroke(cr);
    box(cr, timer_c, x0, xr, y, 15);
}

static void draw_timers(cairo_t *cr, const frame *f, const tl_input *in, double end)
{
    double start = event_time(in, TL_RECORDING_STARTED, 0);
    if (isnan(start))
        return;
    if (in->max_duration > 0)
        timer(cr, f, TL_TIMERS_Y, start, in->max_duration, end);
    double first_speech = NAN;
    for (int i = 0; i < in->n_events && isnan(first_speech); i++)
        if (in->events[i].kind == TL_SPEECH_STARTED && in->events[i].detected >= start)
            first_speech = in->events[i].detected;
    if (in->initial_silence > 0)
        timer(cr, f, TL_TIMERS_Y + 36, start, in->initial_silence,
              isnan(first_speech) ? end : first_speech);
    if (in->max_silence > 0) {
        for (int i = 0; i < in->n_events; i++) {
            const tl_event *e = &in->events[i];
            if (e->kind != TL_SPEECH_STOPPED || e->detected < start)
                continue;
            double resumed = end; /* the timer runs from the end of speech to new speech */
            for (int k = i + 1; k < in->n_events; k++)
                if (in->events[k].kind == TL_SPEECH_STARTED) {
                    resumed = in->events[k].detected < end ? in->events[k].detected : end;
                    break;
                }
            timer(cr, f, TL_TIMERS_Y + 72, e->t > start ? e->t : start, in->max_silence, resumed);
        }
    }
}

static void draw_axis(cairo_t *cr, const frame *f)
{
    double span = f->spp * (TL_WIDTH - TL_LEFT - TL_RIGHT), step = 0.1;
    static const double steps[] = {0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60, 120};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0] && span / steps[i] > 16; i++)
        step = i + 1 < sizeof steps / sizeof steps[0] ? steps[i + 1] : steps[i];
    cairo_set_line_width(cr, 1.0);
    for (double t = ceil(f->t0 / step) * step; xt(f, t) <= TL_WIDTH - TL_RIGHT; t += step) {
        double x = floor(xt(f, t)) + 0.5;
        set(cr, grid);
        cairo_move_to(cr, x, TL_PHASES_Y);
        cairo_line_to(cr, x, TL_AXIS_Y);
        cairo_stroke(cr);
        char text[32];
        snprintf(text, sizeof text, step < 1 ? "%.1f s" : "%.0f s", fabs(t) < 1e-9 ? 0.0 : t);
        set(cr, ink);
        label(cr, x - 12, TL_AXIS_Y + 18, 12, text);
    }
}

int tl_render(const tl_input *in, const char *path, char *err, size_t err_len)
{
    if (!tl_supported(path)) {
        snprintf(err, err_len, "timeline %s: must end in .png, .svg or .pdf", path);
        return -1;
    }
    frame f;
    tl_scale(in, &f.t0, &f.spp);
    double end = event_time(in, TL_COMPLETED, 0);
    if (isnan(end))
        end = f.t0 + f.spp * (TL_WIDTH - TL_LEFT - TL_RIGHT);
    const char *ext = strrchr(path, '.');
    cairo_surface_t *surface =
        strcasecmp(ext, ".svg") == 0   ? cairo_svg_surface_create(path, TL_WIDTH, TL_HEIGHT)
        : strcasecmp(ext, ".pdf") == 0 ? cairo_pdf_surface_create(path, TL_WIDTH, TL_HEIGHT)
                                       : cairo_image_surface_create(CAIRO_FORMAT_RGB24, TL_WIDTH,
                                                                    TL_HEIGHT);
    if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
        snprintf(err, err_len, "timeline %s: %s", path,
                 cairo_status_to_string(cairo_surface_status(surface)));
        cairo_surface_destroy(surface);
        return -1;
    }
    cairo_t *cr = cairo_create(surface);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);

    draw_axis(cr, &f);
    cairo_save(cr); /* what is drawn against time stays inside the time axis */
    cairo_rectangle(cr, TL_LEFT - 6, 0, TL_WIDTH - TL_LEFT - TL_RIGHT + 12, TL_HEIGHT);
    cairo_clip(cr);
    size_t n = 0;
    int16_t *x = read_recording(in->recording, &n);
    double start = event_time(in, TL_RECORDING_STARTED, 0);
    draw_phases(cr, &f, in, end);
    draw_level(cr, &f, in);
    draw_audio(cr, &f, x, n, isnan(start) ? 0.0 : start);
    free(x);
    draw_speech(cr, &f, in, end);
    draw_keys(cr, &f, in);
    draw_timers(cr, &f, in, end);
    cairo_restore(cr);

    static const struct {
        int y;
        const char *name;
    } rows[] = {{TL_PHASES_Y + 18, "phases"},        {TL_WAVE_Y + 64, "waveform"},
                {TL_SPEC_Y + 64, "0-8 kHz"},          {TL_SPEECH_Y + 18, "speech"},
                {TL_KEYS_Y + 24, "keys"},             {TL_TIMERS_Y + 12, "duration"},
                {TL_TIMERS_Y + 48, "initial silence"}, {TL_TIMERS_Y + 84, "max silence"}};
    set(cr, faint);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        label(cr, 8, rows[i].y, 12, rows[i].name);

    /* the cut: where the operation ended, and why */
    if (!isnan(event_time(in, TL_COMPLETED, 0))) {
        double xc = xt(&f, end);
        set(cr, stop_c);
        double dash[] = {6, 4};
        cairo_set_dash(cr, dash, 2, 0);
        cairo_set_line_width(cr, 2.0);
        cairo_move_to(cr, xc, TL_PHASES_Y - 8);
        cairo_line_to(cr, xc, TL_AXIS_Y);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
    }
    char title[600];
    snprintf(title, sizeof title, "%s%s%.1f s recorded%s%s", in->reason ? in->reason : "running",
             in->reason ? ": " : ", ", isnan(start) ? 0.0 : (double)n / RATE,
             in->recording ? " - " : "", in->recording ? in->recording : "");
    set(cr, ink);
    label(cr, TL_LEFT, 36, 18, title);

    cairo_destroy(cr);
    int rc = 0;
    if (strcasecmp(ext, ".png") == 0 &&
        cairo_surface_write_to_png(surface, path) != CAIRO_STATUS_SUCCESS) {
        snprintf(err, err_len, "timeline %s: could not be written", path);
        rc = -1;
    }
    cairo_surface_finish(surface);
    if (!rc && cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
        snprintf(err, err_len, "timeline %s: %s", path,
                 cairo_status_to_string(cairo_surface_status(surface)));
        rc = -1;
    }
    cairo_surface_destroy(surface);
    return rc;
}

/* ---- callrec timeline EVENTS.jsonl [REC.wav] -o FILE [--request REQ.json] ---------------- */

static const char *const kind_names[] = {"promptStarted", "promptEnded",      "beepStarted",
                                         "beepEnded",     "recordingStarted", "speechStarted",
                                         "speechStopped", "toneDetected",     "completed"};

static double request_seconds(const cJSON *body, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, field);
    return cJSON_IsNumber(v) ? v->valuedouble : 5.0; /* the API's default */
}

int tl_request_timers(const char *json, size_t len, tl_input *in)
{
    cJSON *body = cJSON_ParseWithLength(json, len);
    if (!body)
        return -1;
    in->initial_silence = request_seconds(body, "initialSilenceTimeoutInSeconds");
    in->max_silence = request_seconds(body, "maxSilenceTimeoutInSeconds");
    in->max_duration = request_seconds(body, "maxRecordDurationInSeconds");
    cJSON_Delete(body);
    return 0;
}

int tl_main(int argc, char **argv)
{
    const char *events = NULL, *wav = NULL, *out = NULL, *request = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--request") == 0 && i + 1 < argc)
            request = argv[++i];
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: callrec timeline EVENTS.jsonl [REC.wav] -o FILE.png|.svg|.pdf "
                   "[--request REQ.json]\n  draws an operation from the events `callrec record "
                   "--events` wrote; the recording\n  defaults to the one the completed event "
                   "names; --request adds the silence timers\n");
            return 0;
        } else if (!events)
            events = argv[i];
        else if (!wav)
            wav = argv[i];
        else {
            fprintf(stderr, "callrec timeline: unexpected argument %s\n", argv[i]);
            return 2;
        }
    }
    if (!events || !out) {
        fprintf(stderr, "callrec timeline: usage: callrec timeline EVENTS.jsonl [REC.wav] -o "
                        "FILE.png|.svg|.pdf [--request REQ.json]\n");
        return 2;
    }
    if (!tl_supported(out)) {
        fprintf(stderr, "callrec timeline: -o %s: must end in .png, .svg or .pdf\n", out);
        return 2;
    }
    FILE *f = fopen(events, "r");
    if (!f) {
        fprintf(stderr, "callrec timeline: %s: cannot be read\n", events);
        return 2;
    }
    tl_event ev[4096];
    int n = 0;
    char line[65536], reason[64] = "", recording[4096] = "";
    double max_duration = 0;
    while (fgets(line, sizeof line, f) && n < 4096) {
        cJSON *o = cJSON_Parse(line);
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "event");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "t");
        const cJSON *at = cJSON_GetObjectItemCaseSensitive(o, "detectedAt");
        for (int k = 0; cJSON_IsString(name) && cJSON_IsNumber(t) && k < 9; k++) {
            if (strcmp(name->valuestring, kind_names[k]) != 0)
                continue;
            tl_event *e = &ev[n++];
            memset(e, 0, sizeof *e);
            e->kind = (tl_kind)k;
            e->t = t->valuedouble;
            e->detected = cJSON_IsNumber(at) ? at->valuedouble : e->t;
            const cJSON *tone = cJSON_GetObjectItemCaseSensitive(o, "tone");
            if (cJSON_IsString(tone) && tone->valuestring[0])
                e->tone = tone->valuestring[0];
            e->stop_tone = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "stopTone"));
            const cJSON *max = cJSON_GetObjectItemCaseSensitive(o, "maxDuration");
            if (k == TL_RECORDING_STARTED && cJSON_IsNumber(max))
                max_duration = max->valuedouble;
            const cJSON *why = cJSON_GetObjectItemCaseSensitive(o, "completionReason");
            const cJSON *rec = cJSON_GetObjectItemCaseSensitive(o, "recording");
            if (k == TL_COMPLETED && cJSON_IsString(why))
                snprintf(reason, sizeof reason, "%s", why->valuestring);
            if (k == TL_COMPLETED && cJSON_IsString(rec))
                snprintf(recording, sizeof recording, "%s", rec->valuestring);
        }
        cJSON_Delete(o);
    }
    fclose(f);
    if (n == 0) {
        fprintf(stderr, "callrec timeline: %s: no events of an operation in it\n", events);
        return 2;
    }
    tl_input in = {ev, n, wav ? wav : recording[0] ? recording : NULL, NULL, 0, 0.0,
                   reason[0] ? reason : NULL, 0, 0, max_duration};
    if (request) {
        FILE *rf = fopen(request, "r");
        size_t len = rf ? fread(line, 1, sizeof line - 1, rf) : 0;
        if (rf)
            fclose(rf);
        if (tl_request_timers(line, len, &in)) {
            fprintf(stderr, "callrec timeline: --request %s: not JSON\n", request);
            return 2;
        }
    }
    char err[1024];
    if (tl_render(&in, out, err, sizeof err)) {
        fprintf(stderr, "callrec: %s\n", err);
        return 2;
    }
    return 0;
}
