/*
 * callrec — the record-response operation of a cloud calling API, as a C library.
 *
 * A session is one call. Queue record operations on it with a request body (the JSON a
 * bot sends), then drive it with callrec_session_process(): caller audio in, prompt and
 * beep audio out, for the same stretch of time. Events, including the final completion
 * notification, reach the configured callback.
 *
 * Threading: a session is not internally synchronised. Every call on one session must come
 * from one thread at a time (any thread); different sessions are fully independent and may
 * be used concurrently from different threads. Callbacks run on the thread that called the
 * function that triggered them.
 *
 * From inside an event callback a bot may queue operations (record, play_prompt), cancel and
 * hang up. Anything that ends operations (cancel, hang-up, media timeout, a record with
 * bargeInAllowed) takes effect as soon as the callback returns to the engine: before the next
 * frame, and before the function that delivered the event returns. A hang-up during process()
 * ends the call there; the rest of that buffer is not processed.
 */
#ifndef CALLREC_H
#define CALLREC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CALLREC_VERSION_MAJOR 0
#define CALLREC_VERSION_MINOR 1
#define CALLREC_VERSION_PATCH 0
#define CALLREC_VERSION_STRING "0.1.0"

#if defined(CALLREC_STATIC)
#define CALLREC_API
#elif defined(CALLREC_BUILDING)
#define CALLREC_API __attribute__((visibility("default")))
#else
#define CALLREC_API
#endif

/** The rate every detector, timer and recording runs at. */
#define CALLREC_INTERNAL_RATE_HZ 16000
/** Buffer size for an operation id: a UUID (36 characters) and its terminator. */
#define CALLREC_ID_LEN 37

typedef enum callrec_status {
    CALLREC_OK = 0,
    CALLREC_EINVAL = -1,  /**< bad argument or refused request body */
    CALLREC_ENOMEM = -2,  /**< allocation failed */
    CALLREC_EIO = -3,     /**< a file could not be created, read or written */
    CALLREC_EEXIST = -4,  /**< the recording file already exists */
    CALLREC_EFULL = -5,   /**< the operation queue of the session is full */
    CALLREC_ESTATE = -6,  /**< the call has ended (hang-up); nothing more can be queued */
    CALLREC_EFORMAT = -7, /**< audio in a format callrec cannot use */
    CALLREC_EDEVICE = -8  /**< audio device error */
} callrec_status;

/** A static, human-readable explanation of a status code. Never NULL. */
CALLREC_API const char *callrec_strerror(callrec_status status);

/** The library version, "MAJOR.MINOR.PATCH". */
CALLREC_API const char *callrec_version(void);

typedef enum callrec_event_type {
    CALLREC_EVENT_PROMPT_STARTED,
    CALLREC_EVENT_PROMPT_ENDED,
    CALLREC_EVENT_BEEP_STARTED,
    CALLREC_EVENT_BEEP_ENDED,
    CALLREC_EVENT_RECORDING_STARTED,
    CALLREC_EVENT_SPEECH_STARTED, /**< t: where speech began (it is confirmed later) */
    CALLREC_EVENT_SPEECH_STOPPED, /**< t: where speech ended (the hangover expires later) */
    CALLREC_EVENT_TONE_DETECTED,  /**< t: tone onset; detected_samples: confirmation */
    CALLREC_EVENT_COMPLETED,      /**< the operation ended; notification_json is set */
    CALLREC_EVENT_XRUN            /**< live drivers: samples were lost (overruns, underruns) */
} callrec_event_type;

/** How an operation ended: the calling API's completionReason for a record operation, its
    playPromptCompletionReason for a playPrompt. The JSON names are callrec_completion_reason_name(). */
typedef enum callrec_completion_reason {
    CALLREC_REASON_OPERATION_CANCELED,          /**< "operationCanceled" */
    CALLREC_REASON_STOP_TONE_DETECTED,          /**< "stopToneDetected" */
    CALLREC_REASON_MAX_RECORD_DURATION_REACHED, /**< "maxRecordDurationReached" */
    CALLREC_REASON_INITIAL_SILENCE_TIMEOUT,     /**< "initialSilenceTimeout" */
    CALLREC_REASON_MAX_SILENCE_TIMEOUT,         /**< "maxSilenceTimeout" */
    CALLREC_REASON_PLAY_PROMPT_FAILED,          /**< "playPromptFailed" */
    CALLREC_REASON_PLAY_BEEP_FAILED,            /**< "playBeepFailed" */
    CALLREC_REASON_MEDIA_RECEIVE_TIMEOUT,       /**< "mediaReceiveTimeout" */
    CALLREC_REASON_UNSPECIFIED_ERROR,           /**< "unspecifiedError" */
    CALLREC_REASON_NONE,                        /**< "none": the call ended */
    CALLREC_REASON_COMPLETED_SUCCESSFULLY,      /**< playPrompt: "completedSuccessfully" */
    CALLREC_REASON_MEDIA_OPERATION_CANCELED,    /**< playPrompt: "mediaOperationCanceled" */
    CALLREC_REASON_UNKNOWN                      /**< playPrompt: "unknown" (a prompt failed) */
} callrec_completion_reason;

/** The operation's status when it ended. */
typedef enum callrec_operation_status {
    CALLREC_OPERATION_COMPLETED, /**< "completed" */
    CALLREC_OPERATION_FAILED     /**< "failed" */
} callrec_operation_status;

/** The calling API's name of a reason ("stopToneDetected"), or "unknown" out of range. */
CALLREC_API const char *callrec_completion_reason_name(callrec_completion_reason reason);
/** "completed" or "failed". */
CALLREC_API const char *callrec_operation_status_name(callrec_operation_status status);

/** Everything an event carries. Pointers are valid only during the callback. */
typedef struct callrec_event {
    callrec_event_type type;
    const char *operation_id;
    /** Time the event refers to, in samples at CALLREC_INTERNAL_RATE_HZ since the
        operation started (negative for speech that began before it). */
    int64_t t_samples;
    /** Time the event was decided, same clock (>= t_samples for detector events). */
    int64_t detected_samples;
    char tone;                     /**< TONE_DETECTED: the DTMF key, '0'..'9', '*', '#', 'A'..'D' */
    int is_stop_tone;              /**< TONE_DETECTED: 1 if the key is in the operation's stopTones */
    callrec_operation_status status;              /**< COMPLETED */
    callrec_completion_reason completion_reason;  /**< COMPLETED */
    const char *notification_json; /**< COMPLETED: the commsNotifications document */
    const char *recording_path;    /**< COMPLETED: the WAV file, or NULL if none was kept */
    /** COMPLETED: what went wrong, for a log (it may name local files, so the notification
        does not carry it); NULL when nothing did. */
    const char *detail;
    /** RECORDING_STARTED: the longest the recording may run (maxRecordDurationInSeconds), in
        samples at CALLREC_INTERNAL_RATE_HZ. COMPLETED: the recording's length as kept in the
        file, same unit (0 when none was kept). */
    int64_t recording_samples;
    uint64_t overruns, underruns;  /**< XRUN (and COMPLETED from live drivers): totals so far */
    /** Live drivers: wall-clock time from the capture (ADC) of the sample that decided the event
        to the event's delivery, in ms; 0 when not measured. */
    double processing_latency_ms;
} callrec_event;

typedef void (*callrec_event_fn)(void *user, const callrec_event *event);

/**
 * Maps a prompt URI the library cannot open itself (for example https://...) to a local
 * file. Write a NUL-terminated path into path_out and return 0, or return non-zero if the
 * prompt is unavailable (the operation then fails with playPromptFailed). resource_id may
 * be NULL. Called from callrec_session_record(), on its thread.
 */
typedef int (*callrec_prompt_resolver_fn)(void *user, const char *uri, const char *resource_id,
                                          char *path_out, size_t path_len);

/* ---- Prompt cache ---------------------------------------------------------------------- */
/*
 * Decoded prompts shared by every session that plays them: a bot with hundreds of calls
 * decodes each prompt file once. Thread-safe; give it to sessions through
 * callrec_session_config.prompt_cache. Entries are keyed by path and file identity (a file
 * replaced or edited on disk is decoded again) and evicted least recently used first when the
 * decoded audio exceeds max_bytes; prompts playing are never evicted, so the bound can be
 * exceeded while more distinct prompts play at once than it holds.
 */
typedef struct callrec_prompt_cache callrec_prompt_cache;

typedef struct callrec_prompt_cache_stats {
    uint64_t hits, misses, evictions;
    size_t entries, bytes; /**< decoded prompts held, and their size (16 kHz 16-bit) */
} callrec_prompt_cache_stats;

/**
 * Creates a cache holding up to max_bytes of decoded audio (1 MiB = 32.8 s at 16 kHz). On
 * success *out owns it; destroy it with callrec_prompt_cache_destroy(). Any thread.
 * @return CALLREC_OK; CALLREC_EINVAL for a NULL out; CALLREC_ENOMEM (*out is NULL).
 */
CALLREC_API callrec_status callrec_prompt_cache_create(size_t max_bytes,
                                                       callrec_prompt_cache **out);
/** Destroys the cache. Every session using it must be destroyed first. NULL is fine. */
CALLREC_API void callrec_prompt_cache_destroy(callrec_prompt_cache *cache);
/** Current counters. Any thread. */
CALLREC_API void callrec_prompt_cache_get_stats(callrec_prompt_cache *cache,
                                                callrec_prompt_cache_stats *stats);

/** DTMF acceptance criteria: ITU-T Q.24's AT&T column (the default) or its NTT column. */
typedef enum callrec_dtmf_profile { CALLREC_DTMF_ATT = 0, CALLREC_DTMF_NTT = 1 } callrec_dtmf_profile;

typedef struct callrec_session_config {
    /** Rate of the buffers given to callrec_session_process(): 8000..48000. Default 16000. */
    int sample_rate_hz;
    /** Where recordings are written as <operation id>.wav. Default ".". Copied. */
    const char *recording_dir;
    /** Relative prompt paths are resolved against this folder. Default: the working
        directory. Copied. */
    const char *prompt_base_dir;
    /** Call id used in notification resource paths. NULL: a random UUID. Copied. */
    const char *call_id;
    /** Longest prompt accepted, in seconds (1..3600). Default 300. */
    int max_prompt_seconds;
    /** Speaker-to-microphone guard: while a prompt or beep plays and for this long after, the
        caller's audio is recorded but neither counts as speech nor as a key press (the echo
        of the playout is not the caller). 0..2000 ms; default 0 (files and bot media carry no
        echo); the live device driver sets 300. */
    int playout_guard_ms;
    callrec_event_fn on_event;
    void *event_user;
    callrec_prompt_resolver_fn resolve_prompt;
    void *resolver_user;
    /** Shared decoded prompts (not owned; must outlive the session). NULL: each operation
        decodes its own prompts. */
    callrec_prompt_cache *prompt_cache;
    /** Which Q.24 column the stop-tone detector meets. Default CALLREC_DTMF_ATT. */
    callrec_dtmf_profile dtmf_profile;
} callrec_session_config;

typedef struct callrec_session callrec_session;

/** Fills cfg with the defaults listed above. Any thread. */
CALLREC_API void callrec_session_config_default(callrec_session_config *cfg);

/**
 * Creates a session. On success *out owns it; destroy it with callrec_session_destroy().
 * @return CALLREC_OK; CALLREC_EINVAL for a NULL argument or a rate or limit out of range
 *         (*out is NULL); CALLREC_ENOMEM.
 */
CALLREC_API callrec_status callrec_session_create(const callrec_session_config *cfg,
                                                  callrec_session **out);

/**
 * Destroys a session. A running operation is not completed (call hangup() first to keep its
 * audio and get its notification); its recording, as written so far, is closed and kept.
 * NULL does nothing.
 */
CALLREC_API void callrec_session_destroy(callrec_session *s);

/**
 * Queues a record operation from a request body (JSON). The prompt, if any, is loaded here;
 * a prompt that cannot be loaded is not an error of this call: the operation fails with
 * playPromptFailed when it starts. With bargeInAllowed every queued or running operation is
 * canceled first (each gets its operationCanceled notification).
 * @param recording_path  the WAV to create, or NULL for <recording_dir>/<id>.wav. It must
 *                        not exist yet; it is created here (mode 0600, no link followed) as
 *                        a valid empty WAV, unless the prompt cannot be loaded (then no file
 *                        is made and the operation fails with playPromptFailed).
 * @param id_out  receives the operation id (may be NULL).
 * @param err     receives a message naming what was wrong (may be NULL).
 * @return CALLREC_OK; CALLREC_EINVAL for a refused request (err names the field, what was
 *         given and what is accepted), a recording path longer than PATH_MAX or a NULL
 *         argument; CALLREC_EEXIST if the recording file exists; CALLREC_EIO if it cannot be
 *         created or its header written (nothing is left behind); CALLREC_EFULL if 8
 *         operations are already queued; CALLREC_ESTATE after hang-up; CALLREC_ENOMEM.
 */
CALLREC_API callrec_status callrec_session_record(callrec_session *s, const char *request_json,
                                                  size_t len, const char *recording_path,
                                                  char id_out[CALLREC_ID_LEN], char *err,
                                                  size_t err_len);

/**
 * Checks a record request body by the rules callrec_session_record() applies, without a
 * session: a front end can refuse a bad request before it opens any audio. Any thread.
 * @return CALLREC_OK; CALLREC_EINVAL for a refused body (err names the field, what was given
 *         and what is accepted) or a NULL request_json; CALLREC_ENOMEM.
 */
CALLREC_API callrec_status callrec_request_check(const char *request_json, size_t len, char *err,
                                                 size_t err_len);

/**
 * Queues a playPrompt operation from a request body: {"prompts": [mediaPrompt, ...] (1 to
 * 16, played one after another), "clientContext": "..."}. Prompts are loaded here (through
 * the prompt cache, if any). It completes with completionReason "completedSuccessfully" when
 * the last prompt has played, "mediaOperationCanceled" (failed) when canceled, pre-empted by a
 * record with bargeInAllowed or ended by a hang-up, or "unknown" (failed) when a prompt could
 * not be loaded; its notification is a playPromptOperation.
 * @return as callrec_session_record(), without the file errors.
 */
CALLREC_API callrec_status callrec_session_play_prompt(callrec_session *s, const char *request_json,
                                                       size_t len, char id_out[CALLREC_ID_LEN],
                                                       char *err, size_t err_len);

/**
 * Advances the call by `frames` samples: caller audio in, prompt and beep audio out
 * (silence when nothing plays). Both buffers are mono at the configured rate; out may be
 * NULL. Timers, detectors and the recording advance here; events are delivered from here.
 * Does not allocate. Writes the recording file.
 * @return CALLREC_OK; CALLREC_EINVAL for a NULL in with frames > 0; CALLREC_ESTATE after
 *         hang-up. A failed recording write is not returned: it completes the operation
 *         with unspecifiedError, and the file stays a valid WAV of what was written.
 *
 * The recording is written with pwrite(), each 100 ms batch followed by the header that states
 * it. A process that may hit a file-size limit
 * (RLIMIT_FSIZE, `ulimit -f`) must ignore SIGXFSZ (signal(SIGXFSZ, SIG_IGN)): otherwise the
 * kernel ends the process at the limit instead of failing the write. The library does not
 * change signal dispositions; the callrec program ignores SIGXFSZ and SIGPIPE.
 */
CALLREC_API callrec_status callrec_session_process(callrec_session *s, const int16_t *in,
                                                   int16_t *out, size_t frames);

/**
 * callrec_session_process(), also saying how many of the `frames` input samples the call took
 * (*frames_used, may be NULL): all of them, unless an event callback ended the call during the
 * buffer; then the rest came after the call and is not part of it (at a rate other than 16 kHz,
 * to within a sample). 0 on an error.
 * @return as callrec_session_process().
 */
CALLREC_API callrec_status callrec_session_process_frames(callrec_session *s, const int16_t *in,
                                                          int16_t *out, size_t frames,
                                                          size_t *frames_used);

/**
 * Cancels every queued and running operation: each completes with operationCanceled and
 * keeps the audio recorded so far.
 * @return CALLREC_OK; CALLREC_EINVAL for NULL.
 */
CALLREC_API callrec_status callrec_session_cancel(callrec_session *s);

/**
 * The call ended. Every operation finishes now: a recording in progress is kept with all
 * audio received (at a rate other than 16 kHz, the converter's last few milliseconds are
 * flushed into it: every sample given to process() is in the file), and every operation gets
 * its notification. Afterwards process() and
 * record() return CALLREC_ESTATE.
 * @return CALLREC_OK; CALLREC_EINVAL for NULL.
 */
CALLREC_API callrec_status callrec_session_hangup(callrec_session *s);

/**
 * No audio has arrived for `silent_ms` (a driver's wall-clock watchdog): the running
 * operation fails with mediaReceiveTimeout, keeping its audio.
 * @return CALLREC_OK; CALLREC_EINVAL for NULL.
 */
CALLREC_API callrec_status callrec_session_media_timeout(callrec_session *s, int silent_ms);

/** Number of operations queued or running; 0 for NULL. The session's thread. */
CALLREC_API int callrec_session_pending(const callrec_session *s);

/* ---- Audio sources --------------------------------------------------------------------- */
/*
 * One way in for audio held in a file, a pipe or memory: any format libsndfile reads
 * (WAV, FLAC, Ogg Vorbis, Opus, MP3 from a file, ...), mixed to mono once and converted to
 * the rate asked for once. The callrec program, the live driver's --realtime file and the
 * prompt loader all read through it. A source is used from one thread at a time.
 */
typedef struct callrec_source callrec_source;

/** What an opened source holds and delivers. */
typedef struct callrec_source_info {
    int input_rate_hz;    /**< the input's own rate */
    int channels;         /**< the input's channels (read() mixes them to mono) */
    int rate_hz;          /**< the rate read() delivers */
    int64_t input_frames; /**< the input's length at its own rate; -1 when unknown (a pipe) */
} callrec_source_info;

/** Asks callrec_source_open() for a rate a session takes: the input's own rate when it is
    8000..48000 Hz (the session converts it), otherwise CALLREC_INTERNAL_RATE_HZ. */
#define CALLREC_SOURCE_SESSION_RATE 0

/**
 * Opens `path` ("-": standard input) for reading as mono at rate_hz (8000..48000, or
 * CALLREC_SOURCE_SESSION_RATE). A path of any length the system accepts can be read. From a
 * pipe, MPEG audio is refused (libsndfile's MPEG decoder must seek). On success *out owns the
 * source; close it with callrec_source_close(). Any thread.
 * @param err  receives a message starting with the path and naming the problem (may be NULL).
 * @return CALLREC_OK; CALLREC_EINVAL for a NULL argument or a rate out of range; CALLREC_EIO
 *         if the path cannot be opened (or is a folder); CALLREC_EFORMAT for what is not audio
 *         libsndfile reads, audio outside 1000..384000 Hz or 1..64 channels, or a file with no
 *         samples; CALLREC_ENOMEM. On failure *out is NULL.
 */
CALLREC_API callrec_status callrec_source_open(const char *path, int rate_hz,
                                               callrec_source **out, char *err, size_t err_len);

/**
 * callrec_source_open() for an encoded file held in memory (data, size), which must stay
 * unchanged until the source is closed. `name` stands for the path in messages.
 * @return as callrec_source_open(), without CALLREC_EIO.
 */
CALLREC_API callrec_status callrec_source_open_memory(const void *data, size_t size,
                                                      const char *name, int rate_hz,
                                                      callrec_source **out, char *err,
                                                      size_t err_len);

/** Headerless audio: 16-bit little-endian PCM, or G.711 µ-law or A-law bytes. */
typedef enum callrec_raw_format {
    CALLREC_RAW_S16LE,
    CALLREC_RAW_ULAW,
    CALLREC_RAW_ALAW
} callrec_raw_format;

/**
 * callrec_source_open() for headerless audio, such as a telephony media stream on a pipe:
 * `format` samples at input_rate_hz (1000..384000), `channels` interleaved (1..64). Any thread.
 * @return as callrec_source_open(); CALLREC_EINVAL also for a format, rate or channel count out
 *         of range.
 */
CALLREC_API callrec_status callrec_source_open_raw(const char *path, callrec_raw_format format,
                                                   int input_rate_hz, int channels, int rate_hz,
                                                   callrec_source **out, char *err,
                                                   size_t err_len);

/** What the source holds and delivers. */
CALLREC_API void callrec_source_get_info(const callrec_source *src, callrec_source_info *info);

/**
 * Reads up to `frames` mono samples at the source's rate_hz into out. *frames_read receives
 * how many (fewer only at the end; 0 once it is reached). Converted audio ends at exactly the
 * input's length at the new rate: the converter's last milliseconds are flushed, none are lost
 * or added. Float inputs are clipped to 16 bits; NaN reads as silence. Blocks while a pipe has
 * nothing to read. Does not allocate.
 * @return CALLREC_OK; CALLREC_EINVAL for a NULL argument; CALLREC_EIO if decoding failed (the
 *         samples before the failure were delivered; *frames_read is 0).
 */
CALLREC_API callrec_status callrec_source_read(callrec_source *src, int16_t *out, size_t frames,
                                               size_t *frames_read);

/** Closes the source and frees it. NULL does nothing. */
CALLREC_API void callrec_source_close(callrec_source *src);

/* ---- Live capture ---------------------------------------------------------------------- */
/*
 * A live driver owns a session and feeds it from a sound card (PortAudio, duplex: the caller's
 * audio in, prompt and beep out) or from a file paced at real time. The audio callback only
 * moves samples through lock-free single-producer/single-consumer rings; a worker thread runs
 * the session, writes the recording and delivers events (so the event callback runs on the
 * worker thread). Queue operations on callrec_live_session() before callrec_live_start();
 * while running, through callrec_live_with_session(), or cancel and hang up with
 * callrec_live_cancel() / callrec_live_hangup().
 */
typedef struct callrec_live callrec_live;

typedef struct callrec_live_config {
    /** PortAudio input device: an index, an exact name, or part of a name; NULL: the default
        input. Its default output on the same host API plays the prompt, if it has one. */
    const char *device;
    /** Instead of a device: a sound file fed at real time through the same rings and worker. */
    const char *input_file;
    /** Frames per audio callback; 0: the host's choice. */
    int buffer_frames;
    /** No audio for this long fails the running operation with mediaReceiveTimeout.
        100..60000 ms; default 3000. */
    int media_timeout_ms;
    /** Echo guard after playout (see callrec_session_config.playout_guard_ms), 0..2000 ms;
        -1 (the default): 300 on a device, 0 for a file. */
    int playout_guard_ms;
} callrec_live_config;

typedef struct callrec_live_stats {
    int sample_rate_hz;         /**< the device's (or file's) rate */
    uint64_t frames_in;         /**< samples captured */
    uint64_t overruns;          /**< captured samples dropped: the worker fell behind */
    uint64_t host_overflows;    /**< callbacks in which the audio server itself reported an
                                     input overflow (an xrun before callrec saw the audio) */
    uint64_t underruns;         /**< playout samples missing when the device needed them */
    uint64_t callbacks;         /**< audio callbacks run */
    double input_peak_dbfs;     /**< peak of the last 100 ms of input */
    double callback_p50_us, callback_p99_us, callback_max_us; /**< cost of the callback */
    int running;                /**< the worker is running */
} callrec_live_stats;

typedef struct callrec_device_info {
    int index;
    char name[128], host_api[64];
    int max_input_channels, max_output_channels;
    double default_rate_hz;
} callrec_device_info;

/** Fills cfg with the defaults listed above. Any thread. */
CALLREC_API void callrec_live_config_default(callrec_live_config *cfg);

/**
 * Lists PortAudio devices into out[0..max) and how many there are into *count (which may
 * exceed max). Any thread; not while a live driver of this process is open.
 * @return CALLREC_OK; CALLREC_EINVAL for a NULL count or a negative max; CALLREC_EDEVICE if
 *         PortAudio cannot start.
 */
CALLREC_API callrec_status callrec_live_devices(callrec_device_info *out, int max, int *count);

/**
 * Opens the device (or file) and creates the session at its rate, with session_cfg's other
 * settings. Nothing runs until callrec_live_start().
 * @return CALLREC_OK; CALLREC_EINVAL (bad setting); CALLREC_EDEVICE (no such device, or it
 *         cannot be opened: err says why); CALLREC_EFORMAT / CALLREC_EIO (input file);
 *         CALLREC_ENOMEM.
 */
CALLREC_API callrec_status callrec_live_create(const callrec_live_config *cfg,
                                               const callrec_session_config *session_cfg,
                                               callrec_live **out, char *err, size_t err_len);
/** The session (owned by the driver), for queueing operations before start and after stop;
    while running, use callrec_live_with_session(). NULL for NULL. */
CALLREC_API callrec_session *callrec_live_session(callrec_live *l);
/**
 * Starts the worker and the stream (or the file pacer). The thread that created the driver.
 * @return CALLREC_OK; CALLREC_EINVAL for NULL or a driver already started; CALLREC_ENOMEM if no
 *         thread could be started; CALLREC_EDEVICE if the stream will not start.
 */
CALLREC_API callrec_status callrec_live_start(callrec_live *l);
/**
 * Waits until no operation is pending (all completed) or timeout_ms passes (-1: forever).
 * Returns 1 when done, 0 on timeout. Any thread.
 */
CALLREC_API int callrec_live_wait(callrec_live *l, int timeout_ms);
/**
 * Runs fn(user, session) while the worker is between two chunks of audio: the way to queue
 * operations (record, play_prompt), cancel or read the session while the driver runs. Events
 * those calls deliver reach the session's callback on this thread, before this returns. Any
 * thread but the worker's (not from an event callback); fn should be quick: the worker waits.
 */
CALLREC_API void callrec_live_with_session(callrec_live *l,
                                           void (*fn)(void *user, callrec_session *s),
                                           void *user);
/** Asks the worker to cancel every operation (operationCanceled, audio kept). Any thread,
    async-signal-safe. */
CALLREC_API void callrec_live_cancel(callrec_live *l);
/** Asks the worker to end the call (completionReason none, audio kept). Any thread,
    async-signal-safe. */
CALLREC_API void callrec_live_hangup(callrec_live *l);
/** Current counters. Any thread. */
CALLREC_API void callrec_live_get_stats(callrec_live *l, callrec_live_stats *stats);
/** Stops the stream and the worker (samples already captured are processed first). The
    thread that created the driver; not from an event callback. NULL does nothing. */
CALLREC_API void callrec_live_stop(callrec_live *l);
/** Stops if needed and frees everything, the session included. The thread that created the
    driver; not from an event callback. NULL does nothing. */
CALLREC_API void callrec_live_destroy(callrec_live *l);

#ifdef __cplusplus
}
#endif

#endif /* CALLREC_H */
