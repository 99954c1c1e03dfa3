/* callrec serve: a fourth driver of the library's sessions, speaking the calling API's own
   exchange. A bot creates a call (POST .../calls), queues record and playPrompt operations on
   it, receives each operation's commsNotifications document at its callbackUri, and downloads
   the recording from recordingLocation with its recordingAccessToken as a Bearer token.

   Threads: libmicrohttpd's pool answers requests; each call has a driver thread that decodes
   its media file and runs the session; notifier threads POST notifications with libcurl from
   one outbox (a call's in the order they were made; a failing callback holds up only its own
   call's); a janitor removes recordings past their retention. A call's session is touched
   only with the call's lock held. Uses the public API (callrec.h) only. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <limits.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "callrec.h"
#include "serve.h"

#define EXIT_USAGE 2
#define MAX_BODY (1 << 20)          /* a request body; more is 413 */
#define MAX_TOKENS 64
#define MAX_OPS 64                  /* operations kept per call (for GET .../operations/{id}) */
#define NOTIFIERS 4
#define CHUNK_MS 20
#define DELIVERY_GIVE_UP_S 30       /* default --delivery-timeout: a failing callback's limit */
#define RESPONSE_WAIT_S 5           /* a notification waits this long for its creating response */
#define CONNECTION_TIMEOUT_S 10     /* default --client-timeout: a stalled client is dropped */

typedef struct config {
    const char *listen, *public_url, *recording_dir, *media_dir;
    const char *api_token_file, *callback_token_file, *tls_cert, *tls_key;
    char *api_tokens[MAX_TOKENS];
    int n_api_tokens;
    char *callback_token;
    long retention_s, max_calls, delivery_timeout_s, client_timeout_s;
    char media_real[PATH_MAX];
    char base[512];                 /* public base URL, no trailing slash */
} config;

typedef struct op_state {
    char id[CALLREC_ID_LEN];
    int responded;                  /* the response that created it has been sent */
    int done;
    char *resource;                 /* resourceData as it stands */
} op_state;

typedef struct call {
    char id[CALLREC_ID_LEN];
    char *callback_uri;
    char *media_path;
    int realtime;
    char *device;                   /* a sound device call: its name, and its live driver */
    callrec_live *live;
    char *json;                     /* the call as created */
    int responded;                  /* the 201 has been sent */
    callrec_session *session;
    pthread_mutex_t lock;           /* guards everything below, and the session */
    pthread_cond_t wake;            /* an operation was queued, or the call is to end */
    pthread_t driver;
    int driver_started, hangup_requested, ended;
    time_t ended_at;
    op_state ops[MAX_OPS];
    int n_ops;
    int refs;                       /* guarded by the server's table lock */
    struct server *srv;
} call;

typedef struct note {
    struct note *next;
    char call_id[CALLREC_ID_LEN], op_id[CALLREC_ID_LEN]; /* op_id "": a call-state change */
    char *url, *body;
    int ready;                      /* the response that created the operation has been sent */
    int busy;                       /* a notifier is POSTing it */
    double queued, next_try;        /* monotonic seconds */
    double pause;                   /* before the next try, should this one fail */
} note;

/* Every notification waiting to be delivered, in the order they were made. */
typedef struct outbox {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    note *head, *tail;
    int stop;
    pthread_t threads[NOTIFIERS];
} outbox;

typedef struct server {
    config cfg;
    struct MHD_Daemon *daemon;
    pthread_mutex_t table_lock;
    call **calls;
    int n_calls;
    outbox out;
    pthread_t janitor;
    _Atomic int stopping;
    _Atomic long delivered, given_up;
} server;

typedef struct request {
    char *body;
    size_t len;
    int too_large;
} request;

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
    (void)sig;
    stop_signal = 1;
}

/* ---- small helpers ------------------------------------------------------------------------ */

static int random_uuid(char out[CALLREC_ID_LEN])
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        return -1;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, CALLREC_ID_LEN,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return 0;
}

/* An id as callrec makes them (a lowercase UUID): nothing else reaches a path. */
static int valid_id(const char *s, size_t n)
{
    if (n != CALLREC_ID_LEN - 1)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return 1;
}

static void iso_now(char out[32])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* Equal strings, in time that depends only on their lengths. */
static int same_secret(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    unsigned char d = n != m;
    for (size_t i = 0; i < n && i < m; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

static int sha256_hex(const char *text, char out[65])
{
    unsigned char h[32];
    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, text, strlen(text), h) < 0)
        return -1;
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
    return 0;
}

/* "Bearer <token>" from the Authorization header, or NULL. */
static const char *bearer(struct MHD_Connection *c)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return *h ? h : NULL;
}

/* ---- responses ---------------------------------------------------------------------------- */

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *type,
                                 const char *text, const char *location)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (location)
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, location);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, cJSON *doc,
                                 const char *location)
{
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!text)
        return MHD_NO;
    enum MHD_Result rc = send_text(c, status, "application/json", text, location);
    free(text);
    return rc;
}

/* A Graph error body: {"error": {"code": ..., "message": ...}}. */
static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *code,
                                  const char *message)
{
    cJSON *doc = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(doc, "error");
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", message);
    return send_json(c, status, doc, NULL);
}

/* ---- calls -------------------------------------------------------------------------------- */

static call *find_call(server *s, const char *id, size_t n)
{
    call *found = NULL;
    pthread_mutex_lock(&s->table_lock);
    for (int i = 0; i < s->n_calls && !found; i++)
        if (strlen(s->calls[i]->id) == n && memcmp(s->calls[i]->id, id, n) == 0) {
            found = s->calls[i];
            found->refs++;
        }
    pthread_mutex_unlock(&s->table_lock);
    return found;
}

static void free_call(call *c)
{
    callrec_session_destroy(c->session);
    callrec_live_destroy(c->live);
    free(c->device);
    for (int i = 0; i < c->n_ops; i++)
        free(c->ops[i].resource);
    free(c->callback_uri);
    free(c->media_path);
    free(c->json);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->wake);
    free(c);
}

static void release_call(server *s, call *c)
{
    pthread_mutex_lock(&s->table_lock);
    int last = --c->refs == 0;
    pthread_mutex_unlock(&s->table_lock);
    if (last)
        free_call(c);
}

static op_state *find_op(call *c, const char *id)
{
    for (int i = 0; i < c->n_ops; i++)
        if (strcmp(c->ops[i].id, id) == 0)
            return &c->ops[i];
    return NULL;
}

/* ---- notifications ------------------------------------------------------------------------ */

static double now_s(void);

/* Queues a notification for the call's callbackUri. `ready`: the response that created its
   operation has been sent (if not, mark_ready() says so later). */
static void enqueue_note(server *s, call *c, const char *op_id, char *body, int ready)
{
    note *n = calloc(1, sizeof *n);
    char *url = strdup(c->callback_uri);
    if (!n || !url || !body) {
        fprintf(stderr, "callrec serve: out of memory: a notification for call %s is lost\n",
                c->id);
        free(n);
        free(url);
        free(body);
        atomic_fetch_add(&s->given_up, 1);
        return;
    }
    snprintf(n->call_id, sizeof n->call_id, "%s", c->id);
    snprintf(n->op_id, sizeof n->op_id, "%s", op_id);
    n->url = url;
    n->body = body;
    n->ready = ready;
    n->queued = n->next_try = now_s();
    n->pause = 0.1;
    outbox *q = &s->out;
    pthread_mutex_lock(&q->lock);
    if (q->tail)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
}

/* The response that created operation op_id of the call has been sent. */
static void mark_ready(server *s, const char *call_id, const char *op_id)
{
    outbox *q = &s->out;
    pthread_mutex_lock(&q->lock);
    for (note *n = q->head; n; n = n->next)
        if (strcmp(n->call_id, call_id) == 0 && strcmp(n->op_id, op_id) == 0)
            n->ready = 1;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
}

/* The first note that may go now: its call has nothing older waiting (notifications of a call
   stay in order), its response has been sent (or waited for long enough), and it is not in
   the pause after a failed try. Else NULL, and *wake the time one may become due. */
static note *next_due(outbox *q, double now, double *wake)
{
    for (note *n = q->head; n; n = n->next) {
        int older = 0;
        for (note *m = q->head; m != n && !older; m = m->next)
            older = strcmp(m->call_id, n->call_id) == 0;
        if (older || n->busy)
            continue;
        if (!n->ready && now - n->queued < RESPONSE_WAIT_S && !q->stop) {
            if (n->queued + RESPONSE_WAIT_S < *wake)
                *wake = n->queued + RESPONSE_WAIT_S;
            continue;
        }
        if (n->next_try > now && !q->stop) {
            if (n->next_try < *wake)
                *wake = n->next_try;
            continue;
        }
        return n;
    }
    return NULL;
}

static void unlink_note(outbox *q, note *n)
{
    note **p = &q->head, *prev = NULL;
    while (*p && *p != n) {
        prev = *p;
        p = &(*p)->next;
    }
    if (*p)
        *p = n->next;
    if (q->tail == n)
        q->tail = prev;
}

static size_t discard(char *p, size_t size, size_t n, void *user)
{
    (void)p;
    (void)user;
    return size * n;
}

static int post(server *s, CURL *curl, const note *n, long *status)
{
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    char auth[600];
    if (s->cfg.callback_token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", s->cfg.callback_token);
        h = curl_slist_append(h, auth);
    }
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, n->url);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, n->body);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 5L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 2L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode rc = curl_easy_perform(curl);
    *status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(h);
    return rc == CURLE_OK && *status >= 200 && *status < 300 ? 0 : -1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_s(double t)
{
    struct timespec ts = {(time_t)t, (long)((t - (double)(time_t)t) * 1e9)};
    nanosleep(&ts, NULL);
}

/* Delivers the outbox. A callback that fails is tried again after a growing pause, without
   holding up other calls' notifications, and given up after --delivery-timeout. */
static void *notifier_main(void *arg)
{
    server *s = arg;
    outbox *q = &s->out;
    CURL *curl = curl_easy_init();
    pthread_mutex_lock(&q->lock);
    for (;;) {
        double wake = now_s() + 0.25;
        note *n = next_due(q, now_s(), &wake);
        if (!n) {
            if (q->stop && !q->head)
                break;
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            double wait = wake - now_s();
            wait = wait < 0.001 ? 0.001 : wait;
            until.tv_sec += (time_t)wait;
            until.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
            if (until.tv_nsec >= 1000000000L) {
                until.tv_nsec -= 1000000000L;
                until.tv_sec++;
            }
            pthread_cond_timedwait(&q->cond, &q->lock, &until);
            continue;
        }
        n->busy = 1;
        pthread_mutex_unlock(&q->lock);
        long status = 0;
        int ok = curl && post(s, curl, n, &status) == 0;
        pthread_mutex_lock(&q->lock);
        n->busy = 0;
        double now = now_s();
        if (!ok && !q->stop && now - n->queued + n->pause <= s->cfg.delivery_timeout_s) {
            n->next_try = now + n->pause;
            n->pause = n->pause * 2 > 5 ? 5 : n->pause * 2;
            continue;
        }
        unlink_note(q, n);
        pthread_cond_broadcast(&q->cond); /* the call's next note may go now */
        if (ok) {
            atomic_fetch_add(&s->delivered, 1);
        } else {
            atomic_fetch_add(&s->given_up, 1);
            fprintf(stderr, "callrec serve: call %s: notification to %s given up (last status "
                    "%ld)\n", n->call_id, n->url, status);
        }
        free(n->url);
        free(n->body);
        free(n);
    }
    pthread_mutex_unlock(&q->lock);
    curl_easy_cleanup(curl);
    return NULL;
}

/* A call-state notification: the call established or terminated. */
static void call_state_note(server *s, call *c, const char *state, const char *change)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "@odata.type", "#microsoft.graph.commsNotifications");
    cJSON *n = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(doc, "value"), n);
    char res[96], url[112];
    snprintf(res, sizeof res, "/app/calls/%s", c->id);
    snprintf(url, sizeof url, "/communications/calls/%s", c->id);
    cJSON_AddStringToObject(n, "@odata.type", "#microsoft.graph.commsNotification");
    cJSON_AddStringToObject(n, "changeType", change);
    cJSON_AddStringToObject(n, "resource", res);
    cJSON_AddStringToObject(n, "resourceUrl", url);
    cJSON *d = cJSON_AddObjectToObject(n, "resourceData");
    cJSON_AddStringToObject(d, "@odata.type", "#microsoft.graph.call");
    cJSON_AddStringToObject(d, "@odata.id", url);
    cJSON_AddStringToObject(d, "id", c->id);
    cJSON_AddStringToObject(d, "state", state);
    enqueue_note(s, c, "", cJSON_PrintUnformatted(doc), 1);
    cJSON_Delete(doc);
}

/* ---- the session's events (driver thread, or a request's thread; call lock held) ---------- */

char *callrec_serve_notification(const char *json, const char *recording_dir,
                                 const char *base_url, const char *op_id, cJSON **resource_out)
{
    cJSON *doc = cJSON_Parse(json);
    cJSON *data = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "value"), 0),
                                      "resourceData");
    if (!data || !valid_id(op_id, strlen(op_id))) {
        cJSON_Delete(doc);
        return NULL;
    }
    const char *location = cJSON_GetStringValue(cJSON_GetObjectItem(data, "recordingLocation"));
    const char *token = cJSON_GetStringValue(cJSON_GetObjectItem(data, "recordingAccessToken"));
    if (location && token) {
        char path[PATH_MAX], hash[65], url[700];
        snprintf(path, sizeof path, "%s/%s.token", recording_dir, op_id);
        int fd = sha256_hex(token, hash) ? -1
                                         : open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, hash, 64) != 64) {
            fprintf(stderr, "callrec: %s: cannot keep the token's hash: %s\n", path,
                    strerror(errno));
            cJSON_ReplaceItemInObject(data, "recordingLocation", cJSON_CreateNull());
            cJSON_ReplaceItemInObject(data, "recordingAccessToken", cJSON_CreateNull());
        } else {
            snprintf(url, sizeof url, "%s/recordings/%s", base_url, op_id);
            cJSON_ReplaceItemInObject(data, "recordingLocation", cJSON_CreateString(url));
        }
        if (fd >= 0)
            close(fd);
    }
    char last[32];
    iso_now(last);
    cJSON_AddStringToObject(data, "lastActionDateTime", last);
    if (resource_out)
        *resource_out = cJSON_Duplicate(data, 1);
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    return text;
}

static void on_event(void *user, const callrec_event *e)
{
    call *c = user;
    if (e->type != CALLREC_EVENT_COMPLETED || !e->notification_json)
        return;
    server *s = c->srv;
    cJSON *resource = NULL;
    char *body = callrec_serve_notification(e->notification_json, s->cfg.recording_dir,
                                            s->cfg.base, e->operation_id, &resource);
    op_state *o = find_op(c, e->operation_id);
    if (o) {
        cJSON *old = cJSON_Parse(o->resource);
        const cJSON *created = cJSON_GetObjectItem(old, "createdDateTime");
        if (resource && cJSON_IsString(created))
            cJSON_AddStringToObject(resource, "createdDateTime", created->valuestring);
        cJSON_Delete(old);
        char *text = resource ? cJSON_PrintUnformatted(resource) : NULL;
        if (text) {
            free(o->resource);
            o->resource = text;
        }
        o->done = 1;
    }
    cJSON_Delete(resource);
    if (e->detail)
        fprintf(stderr, "callrec serve: call %s, operation %s: %s\n", c->id, e->operation_id,
                e->detail);
    enqueue_note(s, c, e->operation_id, body, !o || o->responded);
}

/* A device call's events come from its live driver's worker, which does not hold the call's
   lock; a queue or cancel from a request does, and its events arrive on that thread. */
static _Thread_local call *locked_call;

static void on_device_event(void *user, const callrec_event *e)
{
    call *c = user;
    if (locked_call == c) {
        on_event(user, e);
        return;
    }
    pthread_mutex_lock(&c->lock);
    on_event(user, e);
    pthread_mutex_unlock(&c->lock);
}

/* A device call's driver: the live driver runs the audio; this waits for the hang-up. */
static void *device_main(void *arg)
{
    call *c = arg;
    server *s = c->srv;
    pthread_mutex_lock(&c->lock);
    while (!c->hangup_requested && !atomic_load(&s->stopping))
        pthread_cond_wait(&c->wake, &c->lock);
    callrec_live *live = c->live;
    pthread_mutex_unlock(&c->lock);
    callrec_live_hangup(live);
    callrec_live_wait(live, 3000);
    callrec_live_stop(live); /* the worker has ended the session's operations */
    pthread_mutex_lock(&c->lock);
    c->ended = 1;
    c->ended_at = time(NULL);
    pthread_mutex_unlock(&c->lock);
    call_state_note(s, c, "terminated", "deleted");
    release_call(s, c);
    return NULL;
}

/* ---- the driver: the call's media file through its session -------------------------------- */

static void *driver_main(void *arg)
{
    call *c = arg;
    server *s = c->srv;
    callrec_source *src = NULL;
    callrec_source_info info = {0};
    if (callrec_source_open(c->media_path, CALLREC_SOURCE_SESSION_RATE, &src, NULL, 0) == 0)
        callrec_source_get_info(src, &info);
    size_t chunk = (size_t)info.rate_hz * CHUNK_MS / 1000;
    int16_t *mono = src ? malloc(sizeof *mono * chunk) : NULL;
    if (!mono)
        fprintf(stderr, "callrec serve: call %s: media %s cannot be read; the call ends\n",
                c->id, c->media_path);
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    pthread_mutex_lock(&c->lock);
    while (mono) {
        /* Audio starts with the first operation; read as fast as it decodes, a file pauses
           whenever no operation is waiting for it. */
        while (!c->hangup_requested && !atomic_load(&s->stopping) &&
               callrec_session_pending(c->session) == 0 && (!c->realtime || c->n_ops == 0)) {
            pthread_cond_wait(&c->wake, &c->lock);
            clock_gettime(CLOCK_MONOTONIC, &next);
        }
        if (c->hangup_requested || atomic_load(&s->stopping))
            break;
        pthread_mutex_unlock(&c->lock);
        size_t got = 0;
        callrec_source_read(src, mono, chunk, &got); /* a decoding error ends the media */
        if (c->realtime && got > 0) {
            next.tv_nsec += (long)((int64_t)got * 1000000000 / info.rate_hz);
            while (next.tv_nsec >= 1000000000) {
                next.tv_nsec -= 1000000000;
                next.tv_sec++;
            }
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
                ;
        }
        pthread_mutex_lock(&c->lock);
        if (got == 0)
            break; /* the media ended: the caller hung up */
        callrec_session_process(c->session, mono, NULL, got);
    }
    callrec_session_hangup(c->session);
    c->ended = 1;
    c->ended_at = time(NULL);
    pthread_mutex_unlock(&c->lock);
    call_state_note(s, c, "terminated", "deleted");
    free(mono);
    callrec_source_close(src);
    release_call(s, c); /* the driver's reference */
    return NULL;
}

/* ---- requests ----------------------------------------------------------------------------- */

/* A media file name, resolved inside --media-dir and refused anywhere else. */
static char *media_path(server *s, const char *name, char *why, size_t why_len)
{
    char joined[PATH_MAX], real[PATH_MAX];
    int n = snprintf(joined, sizeof joined, "%s/%s", s->cfg.media_real, name);
    if (n < 0 || (size_t)n >= sizeof joined || !realpath(joined, real)) {
        snprintf(why, why_len, "@callrec.media.file: no such file in the media folder");
        return NULL;
    }
    size_t m = strlen(s->cfg.media_real);
    struct stat st;
    if (strncmp(real, s->cfg.media_real, m) != 0 || real[m] != '/' || stat(real, &st) ||
        !S_ISREG(st.st_mode)) {
        snprintf(why, why_len, "@callrec.media.file: must name a file inside the media folder");
        return NULL;
    }
    return strdup(real);
}

static int http_url(const char *u)
{
    return u && (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0) && strlen(u) < 2048;
}

static enum MHD_Result create_call(server *s, struct MHD_Connection *conn, const request *rq)
{
    cJSON *body = cJSON_ParseWithLength(rq->body ? rq->body : "", rq->len);
    char why[256];
    if (!cJSON_IsObject(body)) {
        cJSON_Delete(body);
        return send_error(conn, 400, "BadRequest", "request: must be a JSON call object");
    }
    const char *cb = cJSON_GetStringValue(cJSON_GetObjectItem(body, "callbackUri"));
    const cJSON *media = cJSON_GetObjectItem(body, "@callrec.media");
    const char *file = cJSON_GetStringValue(cJSON_GetObjectItem(media, "file"));
    const cJSON *rt = cJSON_GetObjectItem(media, "realtime");
    const char *device = cJSON_GetStringValue(cJSON_GetObjectItem(media, "device"));
    const char *problem =
        !http_url(cb) ? "callbackUri: must be an http or https URL"
        : cJSON_GetObjectItem(media, "device") && (!device || !device[0] || strlen(device) > 200)
            ? "@callrec.media.device: must be a device's name or index (callrec devices)"
        : !file && !device ? "@callrec.media: must be {\"file\": NAME, \"realtime\": bool} or "
                             "{\"device\": NAME|INDEX}"
        : rt && !cJSON_IsBool(rt) ? "@callrec.media.realtime: must be true or false"
                                  : NULL;
    char *path = problem || device ? NULL : media_path(s, file, why, sizeof why);
    if (problem || (!device && !path)) {
        cJSON_Delete(body);
        return send_error(conn, 400, "BadRequest", problem ? problem : why);
    }
    callrec_source_info info = {0};
    if (!device) {
        callrec_source *probe = NULL;
        char serr[512] = "";
        callrec_status st = callrec_source_open(path, CALLREC_SOURCE_SESSION_RATE, &probe, serr,
                                                sizeof serr);
        callrec_source_get_info(probe, &info);
        callrec_source_close(probe);
        if (st != CALLREC_OK) {
            /* The message names the file under --media-dir by the name the bot gave. */
            size_t n = strlen(path);
            const char *reason = strncmp(serr, path, n) == 0 ? serr + n : NULL;
            char msg[600];
            snprintf(msg, sizeof msg, "@callrec.media.file: %s%s", file,
                     reason ? reason : ": not audio callrec can read");
            free(path);
            cJSON_Delete(body);
            return send_error(conn, 400, "BadRequest", msg);
        }
    } else {
        /* One device is held by one call at a time. */
        int held = 0;
        pthread_mutex_lock(&s->table_lock);
        for (int i = 0; i < s->n_calls && !held; i++) {
            call *o = s->calls[i];
            pthread_mutex_lock(&o->lock);
            held = o->device && !o->ended && strcmp(o->device, device) == 0;
            pthread_mutex_unlock(&o->lock);
        }
        pthread_mutex_unlock(&s->table_lock);
        if (held) {
            cJSON_Delete(body);
            return send_error(conn, 409, "Conflict",
                              "@callrec.media.device: another call holds this device");
        }
    }
    call *c = calloc(1, sizeof *c);
    if (!c || random_uuid(c->id)) {
        free(c);
        free(path);
        cJSON_Delete(body);
        return send_error(conn, 500, "InternalServerError", "no memory or randomness");
    }
    c->srv = s;
    c->media_path = path;
    c->device = device ? strdup(device) : NULL;
    c->realtime = cJSON_IsTrue(rt);
    c->callback_uri = strdup(cb);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    callrec_session_config cfg;
    callrec_session_config_default(&cfg);
    cfg.sample_rate_hz = info.rate_hz;
    cfg.recording_dir = s->cfg.recording_dir;
    cfg.prompt_base_dir = s->cfg.media_real;
    cfg.call_id = c->id;
    cfg.on_event = on_event;
    cfg.event_user = c;
    cJSON_DeleteItemFromObject(body, "id");
    cJSON_AddStringToObject(body, "id", c->id);
    cJSON_DeleteItemFromObject(body, "state");
    cJSON_AddStringToObject(body, "state", "established");
    if (!cJSON_GetObjectItem(body, "@odata.type"))
        cJSON_AddStringToObject(body, "@odata.type", "#microsoft.graph.call");
    c->json = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (device) {
        callrec_live_config lcfg;
        callrec_live_config_default(&lcfg);
        lcfg.device = c->device;
        cfg.on_event = on_device_event;
        callrec_status st = !c->callback_uri || !c->json || !c->device
                                ? CALLREC_ENOMEM
                                : callrec_live_create(&lcfg, &cfg, &c->live, why, sizeof why);
        if (st == CALLREC_OK && callrec_live_start(c->live) != CALLREC_OK) {
            snprintf(why, sizeof why, "@callrec.media.device: the audio stream would not start");
            st = CALLREC_EDEVICE;
        }
        if (st != CALLREC_OK) {
            free_call(c);
            return send_error(conn, st == CALLREC_ENOMEM ? 500 : 400,
                              st == CALLREC_ENOMEM ? "InternalServerError" : "BadRequest",
                              st == CALLREC_ENOMEM ? "out of memory" : why);
        }
    } else if (!c->callback_uri || !c->json || callrec_session_create(&cfg, &c->session)) {
        free_call(c);
        return send_error(conn, 500, "InternalServerError", "out of memory");
    }
    pthread_mutex_lock(&s->table_lock);
    int full = s->n_calls >= s->cfg.max_calls;
    if (!full) {
        c->refs = 2; /* the table's and the driver's */
        s->calls[s->n_calls++] = c;
    }
    pthread_mutex_unlock(&s->table_lock);
    if (full) {
        free_call(c);
        return send_error(conn, 503, "ServiceUnavailable", "--max-calls calls are in progress");
    }
    if (pthread_create(&c->driver, NULL, c->live ? device_main : driver_main, c) == 0) {
        pthread_detach(c->driver);
    } else {
        pthread_mutex_lock(&c->lock);
        c->ended = 1;
        c->ended_at = time(NULL);
        pthread_mutex_unlock(&c->lock);
        release_call(s, c);
    }
    char location[700];
    snprintf(location, sizeof location, "%s/communications/calls/%s", s->cfg.base, c->id);
    enum MHD_Result rc = send_text(conn, 201, "application/json", c->json, location);
    pthread_mutex_lock(&c->lock);
    c->responded = 1;
    pthread_mutex_unlock(&c->lock);
    call_state_note(s, c, "established", "updated");
    return rc;
}

/* One record or playPrompt request, queued on the call's session. */
typedef struct queue_job {
    call *c;
    int play;
    const char *body;
    size_t len;
    callrec_status st;
    int refused;                    /* 0, or the HTTP status of a refusal made here */
    char err[512], id[CALLREC_ID_LEN];
    cJSON *op;                      /* the operation, for the response */
} queue_job;

/* With the call's lock (and, on a device call, the live driver's session) held. */
static void queue_locked(queue_job *j, callrec_session *session)
{
    call *c = j->c;
    char created[32];
    iso_now(created);
    if (c->ended || c->hangup_requested) {
        j->refused = 400;
        snprintf(j->err, sizeof j->err, "the call has ended");
        return;
    }
    if (c->n_ops == MAX_OPS) {
        j->refused = 400;
        snprintf(j->err, sizeof j->err, "this call has had 64 operations; start a new one");
        return;
    }
    j->st = j->play ? callrec_session_play_prompt(session, j->body, j->len, j->id, j->err,
                                                  sizeof j->err)
                    : callrec_session_record(session, j->body, j->len, NULL, j->id, j->err,
                                             sizeof j->err);
    if (j->st != CALLREC_OK) {
        j->refused = j->st == CALLREC_EFULL ? 409 : 400;
        if (!j->err[0])
            snprintf(j->err, sizeof j->err, "%s", callrec_strerror(j->st));
        return;
    }
    cJSON *parsed = cJSON_ParseWithLength(j->body, j->len);
    cJSON *o = cJSON_CreateObject();
    char url[200];
    snprintf(url, sizeof url, "/communications/calls/%s/operations/%s", c->id, j->id);
    cJSON_AddStringToObject(o, "@odata.type", j->play ? "#microsoft.graph.playPromptOperation"
                                                      : "#microsoft.graph.recordOperation");
    cJSON_AddStringToObject(o, "@odata.id", url);
    cJSON_AddStringToObject(o, "id", j->id);
    cJSON_AddStringToObject(o, "status", "running");
    cJSON_AddStringToObject(o, "createdDateTime", created);
    cJSON_AddStringToObject(o, "lastActionDateTime", created);
    const char *ctx = cJSON_GetStringValue(cJSON_GetObjectItem(parsed, "clientContext"));
    if (ctx)
        cJSON_AddStringToObject(o, "clientContext", ctx);
    else
        cJSON_AddNullToObject(o, "clientContext");
    cJSON_AddNullToObject(o, "resultInfo");
    if (!j->play) {
        cJSON_AddNullToObject(o, "recordingLocation");
        cJSON_AddNullToObject(o, "recordingAccessToken");
    }
    cJSON_Delete(parsed);
    op_state *op = &c->ops[c->n_ops];
    memset(op, 0, sizeof *op);
    snprintf(op->id, sizeof op->id, "%s", j->id);
    op->resource = cJSON_PrintUnformatted(o);
    c->n_ops++;
    j->op = o;
    pthread_cond_signal(&c->wake);
}

static void queue_on_device(void *user, callrec_session *session)
{
    queue_job *j = user;
    pthread_mutex_lock(&j->c->lock);
    locked_call = j->c;
    queue_locked(j, session);
    locked_call = NULL;
    pthread_mutex_unlock(&j->c->lock);
}

/* POST .../record, .../recordResponse, .../playPrompt on a call. */
static enum MHD_Result queue_operation(server *s, struct MHD_Connection *conn, call *c, int play,
                                       const request *rq)
{
    queue_job j = {.c = c, .play = play, .body = rq->body ? rq->body : "", .len = rq->len};
    if (c->live) {
        callrec_live_with_session(c->live, queue_on_device, &j);
    } else {
        pthread_mutex_lock(&c->lock);
        queue_locked(&j, c->session);
        pthread_mutex_unlock(&c->lock);
    }
    if (j.refused)
        return send_error(conn, (unsigned)j.refused, j.refused == 409 ? "Conflict" : "BadRequest",
                          j.err);
    char location[900];
    snprintf(location, sizeof location, "%s/communications/calls/%s/operations/%s", s->cfg.base,
             c->id, j.id);
    enum MHD_Result rc = send_json(conn, 200, j.op, location);
    pthread_mutex_lock(&c->lock);
    op_state *mine = find_op(c, j.id);
    if (mine)
        mine->responded = 1;
    pthread_mutex_unlock(&c->lock);
    mark_ready(s, c->id, j.id);
    return rc;
}

static void cancel_on_device(void *user, callrec_session *session)
{
    call *c = user;
    pthread_mutex_lock(&c->lock);
    locked_call = c;
    callrec_session_cancel(session);
    locked_call = NULL;
    pthread_mutex_unlock(&c->lock);
}

static enum MHD_Result cancel_media(server *s, struct MHD_Connection *conn, call *c,
                                    const request *rq)
{
    (void)s;
    cJSON *parsed = cJSON_ParseWithLength(rq->body ? rq->body : "{}", rq->body ? rq->len : 2);
    if (!cJSON_IsObject(parsed)) {
        cJSON_Delete(parsed);
        return send_error(conn, 400, "BadRequest", "request: must be a JSON object");
    }
    if (c->live) {
        callrec_live_with_session(c->live, cancel_on_device, c);
    } else {
        pthread_mutex_lock(&c->lock);
        callrec_session_cancel(c->session);
        pthread_mutex_unlock(&c->lock);
    }
    char id[CALLREC_ID_LEN];
    random_uuid(id);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "@odata.type", "#microsoft.graph.cancelMediaProcessingOperation");
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "status", "completed");
    const char *ctx = cJSON_GetStringValue(cJSON_GetObjectItem(parsed, "clientContext"));
    if (ctx)
        cJSON_AddStringToObject(o, "clientContext", ctx);
    cJSON_Delete(parsed);
    return send_json(conn, 200, o, NULL);
}

static enum MHD_Result get_operation(struct MHD_Connection *conn, call *c, const char *op_id)
{
    pthread_mutex_lock(&c->lock);
    op_state *o = find_op(c, op_id);
    char *text = o && o->resource ? strdup(o->resource) : NULL;
    pthread_mutex_unlock(&c->lock);
    if (!text)
        return send_error(conn, 404, "NotFound", "no such operation on this call");
    enum MHD_Result rc = send_text(conn, 200, "application/json", text, NULL);
    free(text);
    return rc;
}

static enum MHD_Result hang_up(struct MHD_Connection *conn, call *c)
{
    pthread_mutex_lock(&c->lock);
    c->hangup_requested = 1;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result rc = MHD_queue_response(conn, MHD_HTTP_NO_CONTENT, r);
    MHD_destroy_response(r);
    return rc;
}

/* GET/HEAD /recordings/{id} with the operation's token as a Bearer token. */
static enum MHD_Result get_recording(server *s, struct MHD_Connection *conn, const char *id)
{
    if (!valid_id(id, strlen(id)))
        return send_error(conn, 404, "NotFound", "no such recording");
    char path[PATH_MAX], stored[65] = "", hash[65];
    snprintf(path, sizeof path, "%s/%s.token", s->cfg.recording_dir, id);
    int tfd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    ssize_t n = tfd >= 0 ? read(tfd, stored, 64) : -1;
    if (tfd >= 0)
        close(tfd);
    if (n != 64)
        return send_error(conn, 404, "NotFound", "no such recording, or it is past its retention");
    stored[64] = '\0';
    const char *token = bearer(conn);
    if (!token || sha256_hex(token, hash) || !same_secret(hash, stored))
        return send_error(conn, 401, "Unauthorized",
                          "Authorization: Bearer <recordingAccessToken> is required");
    snprintf(path, sizeof path, "%s/%s.wav", s->cfg.recording_dir, id);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return send_error(conn, 404, "NotFound", "no such recording, or it is past its retention");
    }
    uint64_t size = (uint64_t)st.st_size, from = 0, to = size ? size - 1 : 0;
    unsigned status = MHD_HTTP_OK;
    const char *range = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
    if (range) {
        /* One range: "bytes=A-B", "bytes=A-" or the last N bytes, "bytes=-N". (sscanf's %llu
           would take "-N" as a huge number: the suffix form is told apart first.) */
        unsigned long long a = 0, b = 0;
        int got = 0;
        if (strncmp(range, "bytes=-", 7) == 0) {
            if (sscanf(range + 7, "%llu", &b) == 1 && b > 0 && range[7] >= '0' && range[7] <= '9') {
                got = 1;
                a = b >= size ? 0 : size - b;
                b = to;
            }
        } else if (strncmp(range, "bytes=", 6) == 0 && range[6] >= '0' && range[6] <= '9') {
            char *end;
            a = strtoull(range + 6, &end, 10);
            if (*end == '-' && end[1] == '\0')
                got = 1, b = to;
            else if (*end == '-' && end[1] >= '0' && end[1] <= '9')
                got = 1, b = strtoull(end + 1, &end, 10), got = *end == '\0';
        }
        if (!got || a > b || a >= size) {
            close(fd);
            char cr[64];
            snprintf(cr, sizeof cr, "bytes */%llu", (unsigned long long)size);
            struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
            enum MHD_Result rc = MHD_queue_response(conn, MHD_HTTP_RANGE_NOT_SATISFIABLE, r);
            MHD_destroy_response(r);
            return rc;
        }
        from = a;
        to = b < size ? b : size - 1;
        status = MHD_HTTP_PARTIAL_CONTENT;
    }
    struct MHD_Response *r =
        MHD_create_response_from_fd_at_offset64(size ? to - from + 1 : 0, fd, from);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
    MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    if (status == MHD_HTTP_PARTIAL_CONTENT) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu", (unsigned long long)from,
                 (unsigned long long)to, (unsigned long long)size);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
    }
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* Strips "/beta" or "/v1.0", then "/communications", "/app" or "/applications/{appId}" before
   "/calls". Returns what follows "/calls" ("" or "/..."), or NULL. */
static const char *calls_path(const char *url)
{
    if (strncmp(url, "/beta/", 6) == 0)
        url += 5;
    else if (strncmp(url, "/v1.0/", 6) == 0)
        url += 5;
    if (strncmp(url, "/communications/calls", 21) == 0)
        return url + 21;
    if (strncmp(url, "/app/calls", 10) == 0)
        return url + 10;
    if (strncmp(url, "/applications/", 14) == 0) {
        const char *slash = strchr(url + 14, '/');
        if (slash && slash > url + 14 && strncmp(slash, "/calls", 6) == 0)
            return slash + 6;
    }
    return NULL;
}

static int api_authorised(server *s, struct MHD_Connection *conn)
{
    const char *token = bearer(conn);
    int ok = 0;
    for (int i = 0; token && i < s->cfg.n_api_tokens; i++)
        ok |= same_secret(token, s->cfg.api_tokens[i]);
    return ok;
}

static enum MHD_Result route(server *s, struct MHD_Connection *conn, const char *url,
                             const char *method, const request *rq)
{
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int post = strcmp(method, "POST") == 0;
    if (strncmp(url, "/recordings/", 12) == 0) {
        if (!get)
            return send_error(conn, 405, "MethodNotAllowed", "recordings answer GET and HEAD");
        return get_recording(s, conn, url + 12);
    }
    const char *rest = calls_path(url);
    if (!rest)
        return send_error(conn, 404, "NotFound", "no such resource");
    if (!api_authorised(s, conn))
        return send_error(conn, 401, "Unauthorized",
                          "Authorization: Bearer <a token of --api-token-file> is required");
    if (rq->too_large)
        return send_error(conn, 413, "PayloadTooLarge", "request bodies are at most 1 MiB");
    if (rest[0] == '\0' || strcmp(rest, "/") == 0) {
        if (!post)
            return send_error(conn, 405, "MethodNotAllowed", "POST creates a call");
        return create_call(s, conn, rq);
    }
    if (rest[0] != '/')
        return send_error(conn, 404, "NotFound", "no such resource");
    const char *id = rest + 1, *slash = strchr(id, '/');
    size_t id_len = slash ? (size_t)(slash - id) : strlen(id);
    call *c = valid_id(id, id_len) ? find_call(s, id, id_len) : NULL;
    if (!c)
        return send_error(conn, 404, "NotFound", "no such call");
    const char *action = slash ? slash + 1 : "";
    enum MHD_Result rc;
    if (!slash && strcmp(method, "DELETE") == 0)
        rc = hang_up(conn, c);
    else if (!slash && get)
        rc = send_text(conn, 200, "application/json", c->json, NULL);
    else if (post && (strcmp(action, "record") == 0 || strcmp(action, "recordResponse") == 0))
        rc = queue_operation(s, conn, c, 0, rq);
    else if (post && strcmp(action, "playPrompt") == 0)
        rc = queue_operation(s, conn, c, 1, rq);
    else if (post && strcmp(action, "cancelMediaProcessing") == 0)
        rc = cancel_media(s, conn, c, rq);
    else if (get && strncmp(action, "operations/", 11) == 0)
        rc = get_operation(conn, c, action + 11);
    else
        rc = send_error(conn, 404, "NotFound", "no such action on a call");
    release_call(s, c);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    server *s = cls;
    request *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!rq->too_large && rq->len + *upload_size <= MAX_BODY) {
            char *grown = realloc(rq->body, rq->len + *upload_size + 1);
            if (!grown)
                return MHD_NO;
            rq->body = grown;
            memcpy(rq->body + rq->len, upload_data, *upload_size);
            rq->len += *upload_size;
            rq->body[rq->len] = '\0';
        } else {
            rq->too_large = 1;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    return route(s, conn, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    request *rq = *con_cls;
    if (rq) {
        free(rq->body);
        free(rq);
    }
    *con_cls = NULL;
}

/* ---- the janitor: retention ---------------------------------------------------------------- */

static void *janitor_main(void *arg)
{
    server *s = arg;
    while (!atomic_load(&s->stopping)) {
        time_t now = time(NULL);
        DIR *d = opendir(s->cfg.recording_dir);
        struct dirent *e;
        char path[PATH_MAX];
        while (d && (e = readdir(d))) {
            size_t n = strlen(e->d_name);
            if (n != 42 || strcmp(e->d_name + 36, ".token") || !valid_id(e->d_name, 36))
                continue;
            struct stat st;
            snprintf(path, sizeof path, "%s/%s", s->cfg.recording_dir, e->d_name);
            if (stat(path, &st) || now - st.st_mtime < s->cfg.retention_s)
                continue;
            unlink(path); /* the token first: from here on the recording answers 404 */
            snprintf(path, sizeof path, "%s/%.36s.wav", s->cfg.recording_dir, e->d_name);
            unlink(path);
        }
        if (d)
            closedir(d);
        /* Ended calls are kept for GET .../operations while their recordings are. */
        call *gone[64];
        int n_gone = 0;
        pthread_mutex_lock(&s->table_lock);
        for (int i = 0; i < s->n_calls && n_gone < 64;) {
            call *c = s->calls[i];
            pthread_mutex_lock(&c->lock);
            int old = c->ended && now - c->ended_at >= s->cfg.retention_s;
            pthread_mutex_unlock(&c->lock);
            if (old) {
                gone[n_gone++] = c;
                s->calls[i] = s->calls[--s->n_calls];
            } else {
                i++;
            }
        }
        pthread_mutex_unlock(&s->table_lock);
        for (int i = 0; i < n_gone; i++)
            release_call(s, gone[i]);
        sleep_s(0.2);
    }
    return NULL;
}

/* ---- start-up ------------------------------------------------------------------------------ */

static const char usage_text[] =
    "usage: callrec serve --api-token-file FILE --recording-dir DIR --media-dir DIR\n"
    "                     [--listen HOST:PORT] [--public-url URL] [--retention SECONDS]\n"
    "                     [--callback-token-file FILE] [--tls-cert PEM --tls-key PEM]\n"
    "                     [--max-calls N] [--delivery-timeout SECONDS]\n"
    "                     [--client-timeout SECONDS]\n";

static const char help_text[] =
    "\n"
    "Serves the calling API's exchange: POST /communications/calls creates a call whose caller\n"
    "audio is a file of --media-dir (\"@callrec.media\": {\"file\": NAME, \"realtime\": bool})\n"
    "or a sound device ({\"device\": NAME|INDEX}, as `callrec devices` lists them);\n"
    "POST .../calls/{id}/record (or recordResponse, playPrompt, cancelMediaProcessing) queues\n"
    "operations; each operation's commsNotifications document is POSTed to the call's\n"
    "callbackUri; GET recordingLocation with \"Authorization: Bearer <recordingAccessToken>\"\n"
    "downloads the WAV. Paths also answer under /app/calls and /applications/{appId}/calls,\n"
    "with or without a /beta or /v1.0 prefix.\n"
    "\n"
    "  --listen HOST:PORT         where to listen (default 127.0.0.1:8990; port 0: any free\n"
    "                             port, printed on stdout as {\"listening\": URL})\n"
    "  --api-token-file FILE      Bearer tokens accepted on the API, one a line\n"
    "  --recording-dir DIR        where recordings and their tokens' hashes are kept\n"
    "  --media-dir DIR            the files calls may use as caller audio and prompts\n"
    "  --public-url URL           base of recordingLocation (default: from --listen)\n"
    "  --retention SECONDS        how long a recording is served after it ends (default 600)\n"
    "  --callback-token-file FILE a Bearer token sent with every notification\n"
    "  --tls-cert PEM --tls-key PEM  serve HTTPS\n"
    "  --max-calls N              calls at once (default 200); more are refused with 503\n"
    "  --delivery-timeout SECONDS a notification the callback keeps refusing is retried for\n"
    "                             this long, then given up and counted (default 30)\n"
    "  --client-timeout SECONDS   a client silent this long mid-request is dropped (default 10)\n";

static char *first_line(const char *path, char *why, size_t why_len)
{
    FILE *f = fopen(path, "r");
    char line[512];
    if (!f || !fgets(line, sizeof line, f)) {
        snprintf(why, why_len, "%s: %s", path, f ? "is empty" : strerror(errno));
        if (f)
            fclose(f);
        return NULL;
    }
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    return line[0] ? strdup(line) : NULL;
}

static int read_tokens(config *c, char *why, size_t why_len)
{
    FILE *f = fopen(c->api_token_file, "r");
    if (!f) {
        snprintf(why, why_len, "--api-token-file %s: %s", c->api_token_file, strerror(errno));
        return -1;
    }
    char line[512];
    while (fgets(line, sizeof line, f) && c->n_api_tokens < MAX_TOKENS) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] && line[0] != '#')
            c->api_tokens[c->n_api_tokens++] = strdup(line);
    }
    fclose(f);
    if (c->n_api_tokens == 0) {
        snprintf(why, why_len, "--api-token-file %s: holds no token", c->api_token_file);
        return -1;
    }
    return 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (b && fread(b, 1, (size_t)n, f) == (size_t)n)
        b[n] = '\0';
    else {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

static int usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "callrec serve: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage_text);
    return EXIT_USAGE;
}

static int parse(int argc, char **argv, config *c)
{
    memset(c, 0, sizeof *c);
    c->listen = "127.0.0.1:8990";
    c->retention_s = 600;
    c->max_calls = 200;
    c->delivery_timeout_s = DELIVERY_GIVE_UP_S;
    c->client_timeout_s = CONNECTION_TIMEOUT_S;
    const char *retention = NULL, *max_calls = NULL, *delivery = NULL, *client = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = strcmp(a, "--listen") == 0                ? &c->listen
                            : strcmp(a, "--api-token-file") == 0      ? &c->api_token_file
                            : strcmp(a, "--recording-dir") == 0       ? &c->recording_dir
                            : strcmp(a, "--media-dir") == 0           ? &c->media_dir
                            : strcmp(a, "--public-url") == 0          ? &c->public_url
                            : strcmp(a, "--retention") == 0           ? &retention
                            : strcmp(a, "--callback-token-file") == 0 ? &c->callback_token_file
                            : strcmp(a, "--tls-cert") == 0            ? &c->tls_cert
                            : strcmp(a, "--tls-key") == 0             ? &c->tls_key
                            : strcmp(a, "--max-calls") == 0           ? &max_calls
                            : strcmp(a, "--delivery-timeout") == 0    ? &delivery
                            : strcmp(a, "--client-timeout") == 0      ? &client
                                                                      : NULL;
        if (!slot)
            return usage("unknown option %s", a);
        if (i + 1 >= argc || !argv[i + 1][0])
            return usage("%s needs a value", a);
        *slot = argv[++i];
    }
    if (!c->api_token_file || !c->recording_dir || !c->media_dir)
        return usage("%s", "serve needs --api-token-file, --recording-dir and --media-dir");
    if (!c->tls_cert != !c->tls_key)
        return usage("%s", "--tls-cert and --tls-key go together");
    char *end;
    if (retention) {
        c->retention_s = strtol(retention, &end, 10);
        if (*end || c->retention_s < 1 || c->retention_s > 7 * 86400)
            return usage("--retention: must be 1 to 604800 seconds, got %s", retention);
    }
    if (delivery) {
        c->delivery_timeout_s = strtol(delivery, &end, 10);
        if (*end || c->delivery_timeout_s < 1 || c->delivery_timeout_s > 86400)
            return usage("--delivery-timeout: must be 1 to 86400 seconds, got %s", delivery);
    }
    if (client) {
        c->client_timeout_s = strtol(client, &end, 10);
        if (*end || c->client_timeout_s < 1 || c->client_timeout_s > 3600)
            return usage("--client-timeout: must be 1 to 3600 seconds, got %s", client);
    }
    if (max_calls) {
        c->max_calls = strtol(max_calls, &end, 10);
        if (*end || c->max_calls < 1 || c->max_calls > 10000)
            return usage("--max-calls: must be 1 to 10000, got %s", max_calls);
    }
    struct stat st;
    if (stat(c->recording_dir, &st) || !S_ISDIR(st.st_mode))
        return usage("--recording-dir %s: not a folder", c->recording_dir);
    if (!realpath(c->media_dir, c->media_real) || stat(c->media_real, &st) || !S_ISDIR(st.st_mode))
        return usage("--media-dir %s: not a folder", c->media_dir);
    char why[700];
    if (read_tokens(c, why, sizeof why))
        return usage("%s", why);
    if (c->callback_token_file && !(c->callback_token = first_line(c->callback_token_file, why,
                                                                   sizeof why)))
        return usage("--callback-token-file: %s", why);
    return 0;
}

/* HOST:PORT into a socket address (IPv4 literal or "localhost"). */
static int listen_address(const char *spec, struct sockaddr_in *sa)
{
    const char *colon = strrchr(spec, ':');
    if (!colon)
        return -1;
    char host[64];
    size_t n = (size_t)(colon - spec);
    if (n >= sizeof host)
        return -1;
    memcpy(host, spec, n);
    host[n] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535)
        return -1;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

int callrec_serve_main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("%s%s", usage_text, help_text);
            return 0;
        }
    server *s = calloc(1, sizeof *s);
    if (!s)
        return 1;
    int rc = parse(argc, argv, &s->cfg);
    if (rc)
        return rc;
    struct sockaddr_in sa;
    if (listen_address(s->cfg.listen, &sa))
        return usage("--listen: must be IPV4:PORT, got %s", s->cfg.listen);
    char *cert = NULL, *key = NULL;
    if (s->cfg.tls_cert && (!(cert = slurp(s->cfg.tls_cert)) || !(key = slurp(s->cfg.tls_key))))
        return usage("--tls-cert/--tls-key: %s cannot be read", cert ? s->cfg.tls_key
                                                                      : s->cfg.tls_cert);
    s->calls = calloc((size_t)s->cfg.max_calls + 64, sizeof *s->calls);
    pthread_mutex_init(&s->table_lock, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    struct sigaction act = {0};
    act.sa_handler = on_stop;
    sigaction(SIGINT, &act, NULL);
    sigaction(SIGTERM, &act, NULL);

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (cert)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls[] = {
        {cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert},
        {cert ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, key},
        {MHD_OPTION_END, 0, NULL},
    };
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_THREAD_POOL_SIZE, 4U, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)s->cfg.client_timeout_s, MHD_OPTION_CONNECTION_LIMIT, 2000U,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
    if (!s->daemon) {
        fprintf(stderr, "callrec serve: cannot listen on %s: %s\n", s->cfg.listen,
                strerror(errno));
        return 1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = di ? di->port : ntohs(sa.sin_port);
    char host[64];
    inet_ntop(AF_INET, &sa.sin_addr, host, sizeof host);
    if (s->cfg.public_url)
        snprintf(s->cfg.base, sizeof s->cfg.base, "%s", s->cfg.public_url);
    else
        snprintf(s->cfg.base, sizeof s->cfg.base, "%s://%s:%u", cert ? "https" : "http", host,
                 port);
    size_t bl = strlen(s->cfg.base);
    while (bl > 0 && s->cfg.base[bl - 1] == '/')
        s->cfg.base[--bl] = '\0';
    pthread_mutex_init(&s->out.lock, NULL);
    pthread_cond_init(&s->out.cond, NULL);
    for (int i = 0; i < NOTIFIERS; i++)
        pthread_create(&s->out.threads[i], NULL, notifier_main, s);
    pthread_create(&s->janitor, NULL, janitor_main, s);
    printf("{\"listening\": \"%s://%s:%u\"}\n", cert ? "https" : "http", host, port);
    fflush(stdout);

    while (!stop_signal)
        sleep_s(0.05);

    /* Stop: no new requests; every call hangs up (its audio kept); what is queued gets one more
       try each, then the notifiers end. */
    MHD_stop_daemon(s->daemon);
    atomic_store(&s->stopping, 1);
    pthread_mutex_lock(&s->table_lock);
    for (int i = 0; i < s->n_calls; i++) {
        call *c = s->calls[i];
        pthread_mutex_lock(&c->lock);
        c->hangup_requested = 1;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->lock);
    }
    pthread_mutex_unlock(&s->table_lock);
    for (int tries = 0; tries < 100; tries++) { /* the drivers end within a chunk */
        int running = 0;
        pthread_mutex_lock(&s->table_lock);
        for (int i = 0; i < s->n_calls; i++)
            running += s->calls[i]->refs > 1;
        pthread_mutex_unlock(&s->table_lock);
        if (!running)
            break;
        sleep_s(0.02);
    }
    pthread_mutex_lock(&s->out.lock);
    s->out.stop = 1; /* what is queued gets one more try each, then the notifiers end */
    pthread_cond_broadcast(&s->out.cond);
    pthread_mutex_unlock(&s->out.lock);
    for (int i = 0; i < NOTIFIERS; i++)
        pthread_join(s->out.threads[i], NULL);
    pthread_join(s->janitor, NULL);
    fprintf(stderr, "callrec serve: stopped; %ld notifications delivered, %ld given up\n",
            atomic_load(&s->delivered), atomic_load(&s->given_up));
    for (int i = 0; i < s->n_calls; i++)
        release_call(s, s->calls[i]);
    for (int i = 0; i < s->cfg.n_api_tokens; i++)
        free(s->cfg.api_tokens[i]);
    free(s->cfg.callback_token);
    free(s->calls);
    free(cert);
    free(key);
    curl_global_cleanup();
    free(s);
    return 0;
}
