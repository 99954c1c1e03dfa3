/* Live capture: a PortAudio duplex stream (or a file paced at real time) feeding a session
   through lock-free rings, with a worker thread that runs the session.

   Real-time rule: the audio callback only copies samples into and out of the rings and
   updates atomics. No locks, no allocation, no I/O, no logging. */
#define _GNU_SOURCE /* strcasestr */
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <portaudio.h>
#include <pthread.h>
#include <stdarg.h>
#include <sndfile.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "callrec.h"
#include "prompt.h"
#include "source.h"
#include "ring.h"
#include "session_internal.h"

#define RING_SECONDS 2          /* each ring holds 2 s: the worker may stall that long */
#define WORKER_CHUNK 480        /* samples the worker takes at a time (10 ms at 48 kHz) */
#define WORKER_IDLE_NS 1000000  /* 1 ms between polls of an empty ring */
#define PLAYOUT_PRIME_MS 20     /* silence queued ahead of the first playout */
#define COST_LOG 65536          /* callback costs kept for the percentiles (power of two) */
#define DEFAULT_GUARD_MS 300    /* echo guard after playout on a device */
#define PACER_GRACE_MS 250      /* how long a stopping pacer may take to finish its read */

struct callrec_live {
    callrec_live_config cfg;
    callrec_session *session;
    callrec_session_config session_cfg;
    int rate;

    /* device */
    int pa_initialised;
    PaStream *stream;
    int has_output;
    /* file source */
    callrec_source *source;
    pthread_t pacer;
    int pacer_started;
    _Atomic int pacer_done;         /* the pacer has returned: it may be joined */
    int pacer_abandoned;            /* stuck in a read of a stalled source: never joined */

    cr_ring in_ring, out_ring;
    pthread_t worker;
    int worker_started;

    /* Counters written by the callback (or pacer) and read by others. Relaxed order: they
       are statistics; no other data is published through them. */
    _Atomic uint64_t frames_in, overruns, underruns, callbacks, host_overflows;
    _Atomic int peak;               /* |sample| peak since the meter last read it */
    _Atomic uint32_t cost_pos;
    _Atomic uint32_t *cost_ns;      /* callback costs, a ring written by the callback */
    /* Capture clock for latency: frames captured before the latest callback's buffer, and
       that buffer's ADC time. Release/acquire on the seq counter publishes the pair. */
    _Atomic uint64_t clock_seq;
    _Atomic uint64_t clock_frames;
    _Atomic int64_t clock_adc_ns;

    /* requests to the worker */
    _Atomic int stop, cancel_req, hangup_req, source_ended;
    /* The device stopped delivering (media timeout on a stream): its host API may never answer
       again (a killed JACK server leaves Pa_CloseStream waiting forever), so it is abandoned. */
    _Atomic int device_lost;
    /* worker state */
    uint64_t frames_processed;
    int64_t last_input_ns;
    int waiting_for_media;
    pthread_mutex_t lock;           /* guards `done` for callrec_live_wait (never the callback) */
    /* Held by the worker while it runs the session, and by callrec_live_with_session(): the
       session is never used by two threads at once. Never taken by the audio callback. */
    pthread_mutex_t session_lock;
    pthread_cond_t cond;
    int done;

    callrec_event_fn user_event;
    void *user_event_arg;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void set_err(char *err, size_t len, const char *fmt, ...)
{
    if (err && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, len, fmt, ap);
        va_end(ap);
    }
}

/* ---- PortAudio, loaded when a device is first used ------------------------------------ */

/* PortAudio is opened at the first use of a device, not with the library: a program that
   reads files, or a bot that pushes its own audio, does not load the audio stack (PortAudio,
   ALSA, JACK and their C++ runtime: about 3 ms of CPU at every start, measured with
   `perf stat callrec --version`). Its header still gives the types. */
#ifndef CALLREC_PORTAUDIO_LIBRARY
#define CALLREC_PORTAUDIO_LIBRARY "libportaudio.so.2"
#endif

static struct {
    PaError (*Initialize)(void);
    PaError (*Terminate)(void);
    PaDeviceIndex (*GetDeviceCount)(void);
    PaDeviceIndex (*GetDefaultInputDevice)(void);
    const PaDeviceInfo *(*GetDeviceInfo)(PaDeviceIndex);
    const PaHostApiInfo *(*GetHostApiInfo)(PaHostApiIndex);
    const char *(*GetErrorText)(PaError);
    PaError (*OpenStream)(PaStream **, const PaStreamParameters *, const PaStreamParameters *,
                          double, unsigned long, PaStreamFlags, PaStreamCallback *, void *);
    PaError (*StartStream)(PaStream *);
    PaError (*StopStream)(PaStream *);
    PaError (*CloseStream)(PaStream *);
    PaError (*IsStreamActive)(PaStream *);
    PaTime (*GetStreamTime)(PaStream *);
} pa;
static pthread_once_t pa_once = PTHREAD_ONCE_INIT;
static char pa_missing[320]; /* why PortAudio could not be loaded; empty once it is */

static void pa_load(void)
{
    /* Never closed: PortAudio's host APIs may leave threads behind. */
    void *lib = dlopen(CALLREC_PORTAUDIO_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(pa_missing, sizeof pa_missing, "%s", dlerror());
        return;
    }
    /* Each entry point's slot and name. dlsym returns an object pointer, stored through a
       void ** as POSIX's own example of dlsym does. */
#define PA_SYM(f) {(void **)&pa.f, "Pa_" #f}
    static const struct {
        void **slot;
        const char *name;
    } syms[] = {
        PA_SYM(Initialize),   PA_SYM(Terminate),      PA_SYM(GetDeviceCount),
        PA_SYM(GetDefaultInputDevice), PA_SYM(GetDeviceInfo), PA_SYM(GetHostApiInfo),
        PA_SYM(GetErrorText), PA_SYM(OpenStream),     PA_SYM(StartStream),
        PA_SYM(StopStream),   PA_SYM(CloseStream),    PA_SYM(IsStreamActive),
        PA_SYM(GetStreamTime),
    };
#undef PA_SYM
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
        if (!(*syms[i].slot = dlsym(lib, syms[i].name))) {
            snprintf(pa_missing, sizeof pa_missing, "%s: no %s", CALLREC_PORTAUDIO_LIBRARY,
                     syms[i].name);
            return;
        }
    }
}

/* Loads PortAudio if need be and initialises it. Returns 0, or -1 with a message. */
static int pa_start(char *err, size_t err_len)
{
    pthread_once(&pa_once, pa_load);
    if (pa_missing[0]) {
        set_err(err, err_len, "live audio needs PortAudio, which could not be loaded: %s",
                pa_missing);
        return -1;
    }
    if (pa.Initialize() != paNoError) {
        set_err(err, err_len, "PortAudio could not start");
        return -1;
    }
    return 0;
}

void callrec_live_config_default(callrec_live_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->media_timeout_ms = 3000;
    cfg->playout_guard_ms = -1;
}

callrec_status callrec_live_devices(callrec_device_info *out, int max, int *count)
{
    if (!count || max < 0 || (max > 0 && !out))
        return CALLREC_EINVAL;
    *count = 0;
    if (pa_start(NULL, 0))
        return CALLREC_EDEVICE;
    int n = pa.GetDeviceCount();
    for (int i = 0; i < n && i < max; i++) {
        const PaDeviceInfo *d = pa.GetDeviceInfo(i);
        const PaHostApiInfo *h = d ? pa.GetHostApiInfo(d->hostApi) : NULL;
        out[i].index = i;
        snprintf(out[i].name, sizeof out[i].name, "%s", d ? d->name : "?");
        snprintf(out[i].host_api, sizeof out[i].host_api, "%s", h ? h->name : "?");
        out[i].max_input_channels = d ? d->maxInputChannels : 0;
        out[i].max_output_channels = d ? d->maxOutputChannels : 0;
        out[i].default_rate_hz = d ? d->defaultSampleRate : 0;
    }
    pa.Terminate();
    if (n < 0)
        return CALLREC_EDEVICE;
    *count = n;
    return CALLREC_OK;
}

/* ---- the audio callback ------------------------------------------------------------------ */

static int audio_callback(const void *input, void *output, unsigned long frames,
                          const PaStreamCallbackTimeInfo *time_info,
                          PaStreamCallbackFlags flags, void *user)
{
    callrec_live *l = user;
    int64_t t0 = now_ns();
    uint64_t before = atomic_load_explicit(&l->frames_in, memory_order_relaxed);

    /* Publish the capture clock: odd seq while writing (a seqlock with one writer). The data
       are stored with release, so a reader that sees them sees the odd seq before them; no
       fences (which ThreadSanitizer cannot follow), and on x86 these are plain stores. */
    uint64_t seq = atomic_load_explicit(&l->clock_seq, memory_order_relaxed);
    atomic_store_explicit(&l->clock_seq, seq + 1, memory_order_relaxed);
    atomic_store_explicit(&l->clock_frames, before, memory_order_release);
    atomic_store_explicit(&l->clock_adc_ns,
                          (int64_t)(time_info->inputBufferAdcTime * 1e9), memory_order_release);
    atomic_store_explicit(&l->clock_seq, seq + 2, memory_order_release);

    if (input) {
        const int16_t *in = input;
        size_t put = cr_ring_write(&l->in_ring, in, frames);
        if (put < frames)
            atomic_fetch_add_explicit(&l->overruns, frames - put, memory_order_relaxed);
        int peak = atomic_load_explicit(&l->peak, memory_order_relaxed);
        for (unsigned long i = 0; i < frames; i++) {
            int a = in[i] < 0 ? -in[i] : in[i];
            if (a > peak)
                peak = a;
        }
        atomic_store_explicit(&l->peak, peak, memory_order_relaxed);
        atomic_fetch_add_explicit(&l->frames_in, frames, memory_order_relaxed);
    }
    if (flags & paInputOverflow)
        atomic_fetch_add_explicit(&l->host_overflows, 1, memory_order_relaxed);
    if (output) {
        int16_t *out = output;
        size_t got = cr_ring_read(&l->out_ring, out, frames);
        if (got < frames) {
            memset(out + got, 0, (frames - got) * sizeof *out);
            atomic_fetch_add_explicit(&l->underruns, frames - got, memory_order_relaxed);
        }
    }
    atomic_fetch_add_explicit(&l->callbacks, 1, memory_order_relaxed);
    uint32_t slot = atomic_fetch_add_explicit(&l->cost_pos, 1, memory_order_relaxed);
    atomic_store_explicit(&l->cost_ns[slot & (COST_LOG - 1)], (uint32_t)(now_ns() - t0),
                          memory_order_relaxed);
    return paContinue;
}

/* ---- the file pacer: a stand-in for the callback, at real time ---------------------------- */

static void *pacer_main(void *arg)
{
    callrec_live *l = arg;
    size_t chunk = (size_t)l->rate / 100; /* 10 ms, like a sound card's period */
    int16_t *mono = malloc(sizeof *mono * chunk);
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (mono && !atomic_load_explicit(&l->stop, memory_order_acquire)) {
        size_t got = 0;
        if (callrec_source_read(l->source, mono, chunk, &got) != CALLREC_OK || got == 0)
            break;
        /* Deliver when a sound card would: at the end of the chunk's real time. */
        next.tv_nsec += (long)((int64_t)got * 1000000000 / l->rate);
        while (next.tv_nsec >= 1000000000) {
            next.tv_nsec -= 1000000000;
            next.tv_sec++;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
        PaStreamCallbackTimeInfo ti = {0};
        ti.inputBufferAdcTime = (double)now_ns() / 1e9 - (double)got / l->rate;
        audio_callback(mono, NULL, (unsigned long)got, &ti, 0, l);
    }
    free(mono);
    atomic_store_explicit(&l->source_ended, 1, memory_order_release);
    atomic_store_explicit(&l->pacer_done, 1, memory_order_release);
    return NULL;
}

/* ---- the worker ----------------------------------------------------------------------- */

/* ADC time of captured sample `frame`, from the callback's published clock; 0 if unknown. */
static int64_t capture_time_ns(callrec_live *l, uint64_t frame)
{
    for (int tries = 0; tries < 4; tries++) {
        /* Acquire loads of the data keep the second seq load after them. */
        uint64_t s1 = atomic_load_explicit(&l->clock_seq, memory_order_acquire);
        uint64_t f = atomic_load_explicit(&l->clock_frames, memory_order_acquire);
        int64_t adc = atomic_load_explicit(&l->clock_adc_ns, memory_order_acquire);
        if (!(s1 & 1) && s1 == atomic_load_explicit(&l->clock_seq, memory_order_relaxed))
            return adc + (int64_t)(((double)frame - (double)f) * 1e9 / l->rate);
    }
    return 0;
}

static int64_t stream_time_ns(callrec_live *l)
{
    if (l->stream)
        return (int64_t)(pa.GetStreamTime(l->stream) * 1e9);
    return now_ns();
}

/* Events pass through here on the worker thread: add the processing latency, then hand them
   to the user's callback. */
static void live_on_event(void *arg, const callrec_event *e)
{
    callrec_live *l = arg;
    callrec_event copy = *e;
    if (e->type == CALLREC_EVENT_TONE_DETECTED || e->type == CALLREC_EVENT_SPEECH_STARTED ||
        e->type == CALLREC_EVENT_COMPLETED) {
        /* The event was decided when the session had processed frames_processed samples at
           the device rate; the last of them was captured at capture_time. */
        int64_t cap = capture_time_ns(l, l->frames_processed ? l->frames_processed - 1 : 0);
        if (cap)
            copy.processing_latency_ms = (double)(stream_time_ns(l) - cap) / 1e6;
    }
    if (l->user_event)
        l->user_event(l->user_event_arg, &copy);
}

static void mark_done(callrec_live *l)
{
    pthread_mutex_lock(&l->lock);
    l->done = 1;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
}

static void *worker_main(void *arg)
{
    callrec_live *l = arg;
    int16_t in[WORKER_CHUNK], out[WORKER_CHUNK];
    l->last_input_ns = now_ns();
    struct timespec idle = {0, WORKER_IDLE_NS};
    int ended = 0;
    for (;;) {
        size_t n = cr_ring_read(&l->in_ring, in, WORKER_CHUNK);
        pthread_mutex_lock(&l->session_lock);
        if (n) {
            l->last_input_ns = now_ns();
            l->frames_processed += n;
            callrec_session_process(l->session, in, l->has_output ? out : NULL, n);
            if (l->has_output)
                cr_ring_write(&l->out_ring, out, n);
        }
        cr_session_set_xruns(l->session,
                             atomic_load_explicit(&l->overruns, memory_order_relaxed),
                             atomic_load_explicit(&l->underruns, memory_order_relaxed));
        /* Requests are looked at on every pass: a source without a clock (an ALSA file
           device) never lets the ring run dry. */
        if (atomic_exchange_explicit(&l->cancel_req, 0, memory_order_acq_rel))
            callrec_session_cancel(l->session);
        int source_done = atomic_load_explicit(&l->source_ended, memory_order_acquire);
        if (!ended && (atomic_exchange_explicit(&l->hangup_req, 0, memory_order_acq_rel) ||
                       (source_done && cr_ring_available(&l->in_ring) == 0))) {
            callrec_session_hangup(l->session);
            ended = 1;
        }
        if (!n && !ended && callrec_session_pending(l->session) > 0 &&
            now_ns() - l->last_input_ns > (int64_t)l->cfg.media_timeout_ms * 1000000) {
            if (l->stream)
                atomic_store_explicit(&l->device_lost, 1, memory_order_release);
            callrec_session_media_timeout(l->session,
                                          (int)((now_ns() - l->last_input_ns) / 1000000));
        }
        int idle_now = callrec_session_pending(l->session) == 0 || ended;
        pthread_mutex_unlock(&l->session_lock);
        if (idle_now)
            mark_done(l);
        if (atomic_load_explicit(&l->stop, memory_order_acquire))
            break;
        if (n)
            continue;
        nanosleep(&idle, NULL);
    }
    return NULL;
}

/* ---- opening ------------------------------------------------------------------------- */

static int find_device(const char *spec, char *err, size_t err_len)
{
    int n = pa.GetDeviceCount();
    if (!spec)
        return pa.GetDefaultInputDevice();
    char *end;
    long idx = strtol(spec, &end, 10);
    if (*spec && !*end) {
        if (idx < 0 || idx >= n) {
            set_err(err, err_len, "device %s: no such device index (there are %d)", spec, n);
            return -1;
        }
        return (int)idx;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < n; i++) {
            const PaDeviceInfo *d = pa.GetDeviceInfo(i);
            if (!d || d->maxInputChannels < 1)
                continue;
            if (pass == 0 ? strcmp(d->name, spec) == 0 : strcasestr(d->name, spec) != NULL)
                return i;
        }
    }
    set_err(err, err_len, "device %s: no input device has that name (see `callrec devices`)",
            spec);
    return -1;
}

static callrec_status open_device(callrec_live *l, char *err, size_t err_len)
{
    if (pa_start(err, err_len))
        return CALLREC_EDEVICE;
    l->pa_initialised = 1;
    int dev = find_device(l->cfg.device, err, err_len);
    if (dev < 0) {
        if (!l->cfg.device)
            set_err(err, err_len, "no default input device");
        return CALLREC_EDEVICE;
    }
    const PaDeviceInfo *info = pa.GetDeviceInfo(dev);
    PaStreamParameters in = {0}, out = {0};
    in.device = dev;
    in.channelCount = 1;
    in.sampleFormat = paInt16;
    in.suggestedLatency = info->defaultLowInputLatency;
    /* Playout on the same device if it has outputs, else the host API's default output. */
    int out_dev = info->maxOutputChannels > 0 ? dev
                                              : pa.GetHostApiInfo(info->hostApi)->defaultOutputDevice;
    l->has_output = out_dev >= 0 && out_dev != paNoDevice;
    if (l->has_output) {
        out.device = out_dev;
        out.channelCount = 1;
        out.sampleFormat = paInt16;
        out.suggestedLatency = pa.GetDeviceInfo(out_dev)->defaultLowOutputLatency;
    }
    l->rate = (int)info->defaultSampleRate;
    if (l->rate < 8000 || l->rate > 48000)
        l->rate = CALLREC_INTERNAL_RATE_HZ;
    unsigned long fpb = l->cfg.buffer_frames > 0 ? (unsigned long)l->cfg.buffer_frames
                                                 : paFramesPerBufferUnspecified;
    PaError e = pa.OpenStream(&l->stream, &in, l->has_output ? &out : NULL, l->rate, fpb,
                              paNoFlag, audio_callback, l);
    if (e != paNoError && l->has_output) { /* try capture only */
        l->has_output = 0;
        e = pa.OpenStream(&l->stream, &in, NULL, l->rate, fpb, paNoFlag, audio_callback, l);
    }
    if (e != paNoError) {
        l->stream = NULL;
        set_err(err, err_len, "device %s: %s", info->name, pa.GetErrorText(e));
        return CALLREC_EDEVICE;
    }
    return CALLREC_OK;
}

static callrec_status open_file(callrec_live *l, char *err, size_t err_len)
{
    char serr[1024] = "";
    callrec_status st = callrec_source_open(l->cfg.input_file, CALLREC_SOURCE_SESSION_RATE,
                                            &l->source, serr, sizeof serr);
    if (st != CALLREC_OK) {
        set_err(err, err_len, "input %s", serr[0] ? serr : callrec_strerror(st));
        return st;
    }
    callrec_source_info info;
    callrec_source_get_info(l->source, &info);
    l->rate = info.rate_hz;
    return CALLREC_OK;
}

callrec_status callrec_live_create(const callrec_live_config *cfg,
                                   const callrec_session_config *session_cfg, callrec_live **out,
                                   char *err, size_t err_len)
{
    if (!out)
        return CALLREC_EINVAL;
    *out = NULL;
    if (!cfg || !session_cfg || cfg->media_timeout_ms < 100 || cfg->media_timeout_ms > 60000 ||
        cfg->buffer_frames < 0 || cfg->buffer_frames > 8192 || cfg->playout_guard_ms < -1 ||
        cfg->playout_guard_ms > 2000)
        return CALLREC_EINVAL;
    callrec_live *l = calloc(1, sizeof *l);
    if (!l)
        return CALLREC_ENOMEM;
    l->cfg = *cfg;
    pthread_mutex_init(&l->lock, NULL);
    pthread_mutex_init(&l->session_lock, NULL);
    pthread_cond_init(&l->cond, NULL);
    l->cost_ns = calloc(COST_LOG, sizeof *l->cost_ns);
    callrec_status st = CALLREC_ENOMEM;
    if (!l->cost_ns)
        goto fail;
    st = cfg->input_file ? open_file(l, err, err_len) : open_device(l, err, err_len);
    if (st)
        goto fail;
    st = CALLREC_ENOMEM;
    size_t cap = 1;
    while (cap < (size_t)l->rate * RING_SECONDS)
        cap <<= 1;
    if (cr_ring_init(&l->in_ring, cap) || cr_ring_init(&l->out_ring, cap))
        goto fail;

    l->session_cfg = *session_cfg;
    l->session_cfg.sample_rate_hz = l->rate;
    if (cfg->playout_guard_ms >= 0)
        l->session_cfg.playout_guard_ms = cfg->playout_guard_ms;
    else if (!cfg->input_file && l->session_cfg.playout_guard_ms == 0)
        l->session_cfg.playout_guard_ms = DEFAULT_GUARD_MS;
    l->user_event = session_cfg->on_event;
    l->user_event_arg = session_cfg->event_user;
    l->session_cfg.on_event = live_on_event;
    l->session_cfg.event_user = l;
    st = callrec_session_create(&l->session_cfg, &l->session);
    if (st)
        goto fail;
    *out = l;
    return CALLREC_OK;
fail:
    callrec_live_destroy(l);
    return st;
}

callrec_session *callrec_live_session(callrec_live *l) { return l ? l->session : NULL; }

callrec_status callrec_live_start(callrec_live *l)
{
    if (!l || l->worker_started)
        return CALLREC_EINVAL;
    /* Queue a little silence so the first playout callbacks find something. */
    int16_t zeros[256] = {0};
    size_t prime = (size_t)l->rate * PLAYOUT_PRIME_MS / 1000;
    while (l->has_output && prime > 0) {
        size_t k = prime > 256 ? 256 : prime;
        cr_ring_write(&l->out_ring, zeros, k);
        prime -= k;
    }
    if (pthread_create(&l->worker, NULL, worker_main, l))
        return CALLREC_ENOMEM;
    l->worker_started = 1;
    if (l->stream) {
        PaError e = pa.StartStream(l->stream);
        if (e != paNoError) {
            callrec_live_stop(l);
            return CALLREC_EDEVICE;
        }
    } else if (l->source) {
        if (pthread_create(&l->pacer, NULL, pacer_main, l)) {
            callrec_live_stop(l);
            return CALLREC_ENOMEM;
        }
        l->pacer_started = 1;
    }
    return CALLREC_OK;
}

int callrec_live_wait(callrec_live *l, int timeout_ms)
{
    if (!l)
        return 1;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    if (timeout_ms >= 0) {
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_nsec -= 1000000000;
            until.tv_sec++;
        }
    }
    pthread_mutex_lock(&l->lock);
    int rc = 0;
    while (!l->done && rc == 0)
        rc = timeout_ms < 0 ? pthread_cond_wait(&l->cond, &l->lock)
                            : pthread_cond_timedwait(&l->cond, &l->lock, &until);
    int done = l->done;
    pthread_mutex_unlock(&l->lock);
    return done;
}

void callrec_live_with_session(callrec_live *l, void (*fn)(void *user, callrec_session *s),
                               void *user)
{
    if (!l || !fn)
        return;
    pthread_mutex_lock(&l->session_lock);
    fn(user, l->session);
    pthread_mutex_unlock(&l->session_lock);
}

void callrec_live_cancel(callrec_live *l)
{
    if (l)
        atomic_store_explicit(&l->cancel_req, 1, memory_order_release);
}

void callrec_live_hangup(callrec_live *l)
{
    if (l)
        atomic_store_explicit(&l->hangup_req, 1, memory_order_release);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

void callrec_live_get_stats(callrec_live *l, callrec_live_stats *st)
{
    if (!l || !st)
        return;
    memset(st, 0, sizeof *st);
    st->sample_rate_hz = l->rate;
    st->frames_in = atomic_load_explicit(&l->frames_in, memory_order_relaxed);
    st->overruns = atomic_load_explicit(&l->overruns, memory_order_relaxed);
    st->underruns = atomic_load_explicit(&l->underruns, memory_order_relaxed);
    st->callbacks = atomic_load_explicit(&l->callbacks, memory_order_relaxed);
    st->host_overflows = atomic_load_explicit(&l->host_overflows, memory_order_relaxed);
    int peak = atomic_exchange_explicit(&l->peak, 0, memory_order_relaxed);
    st->input_peak_dbfs = peak > 0 ? 20.0 * log10(peak / 32768.0) : -120.0;
    st->running = l->worker_started;
    /* Percentiles of the logged callback costs: a snapshot taken while the callback may be
       writing (each entry is atomic; the set is as fresh as the moment each was read). */
    uint32_t n = atomic_load_explicit(&l->cost_pos, memory_order_relaxed);
    if (n > COST_LOG)
        n = COST_LOG;
    if (n > 0) {
        uint32_t *copy = malloc(n * sizeof *copy);
        if (copy) {
            for (uint32_t i = 0; i < n; i++)
                copy[i] = atomic_load_explicit(&l->cost_ns[i], memory_order_relaxed);
            qsort(copy, n, sizeof *copy, cmp_u32);
            st->callback_p50_us = copy[n / 2] / 1000.0;
            st->callback_p99_us = copy[(uint32_t)(n * 0.99)] / 1000.0;
            st->callback_max_us = copy[n - 1] / 1000.0;
            free(copy);
        }
    }
}

void callrec_live_stop(callrec_live *l)
{
    if (!l)
        return;
    int lost = atomic_load_explicit(&l->device_lost, memory_order_acquire);
    if (l->stream && !lost && pa.IsStreamActive(l->stream) == 1)
        pa.StopStream(l->stream);
    atomic_store_explicit(&l->stop, 1, memory_order_release);
    if (l->pacer_started) {
        /* A source that stalled (a pipe whose writer stopped writing) leaves the pacer blocked
           in a read that may never return; after a grace period it is left behind, like a
           lost device, so that the operation's end is never held up by it. */
        for (int i = 0; i < PACER_GRACE_MS && !atomic_load_explicit(&l->pacer_done,
                                                                  memory_order_acquire); i++)
            nanosleep(&(struct timespec){0, 1000000}, NULL);
        if (atomic_load_explicit(&l->pacer_done, memory_order_acquire)) {
            pthread_join(l->pacer, NULL);
        } else {
            pthread_detach(l->pacer);
            l->pacer_abandoned = 1;
        }
        l->pacer_started = 0;
    }
    if (l->worker_started) {
        pthread_join(l->worker, NULL);
        l->worker_started = 0;
    }
    /* Whatever is still in the ring is part of the call. */
    int16_t in[WORKER_CHUNK];
    size_t n;
    while (l->in_ring.data && (n = cr_ring_read(&l->in_ring, in, WORKER_CHUNK)) > 0) {
        l->frames_processed += n;
        callrec_session_process(l->session, in, NULL, n);
    }
}

void callrec_live_destroy(callrec_live *l)
{
    if (!l)
        return;
    callrec_live_stop(l);
    callrec_session_destroy(l->session);
    l->session = NULL;
    if (l->pacer_abandoned || atomic_load_explicit(&l->device_lost, memory_order_acquire)) {
        /* The stream or the pacer was abandoned, not stopped: its thread was never joined, so
           the memory it touches (this struct, its rings, cost log and file) must outlive it. */
        return;
    }
    callrec_source_close(l->source);
    if (l->stream)
        pa.CloseStream(l->stream);
    if (l->pa_initialised)
        pa.Terminate();
    cr_ring_free(&l->in_ring);
    cr_ring_free(&l->out_ring);
    free(l->cost_ns);
    pthread_mutex_destroy(&l->lock);
    pthread_mutex_destroy(&l->session_lock);
    pthread_cond_destroy(&l->cond);
    free(l);
}
