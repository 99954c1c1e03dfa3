/* The prompt cache: entries keyed by the file's path and identity (device, inode, size,
   modification time: a replaced or edited file is decoded again), reference counted, evicted
   least recently used first once the decoded samples exceed the bound. Entries in use are
   never evicted, so the bound can be exceeded while more prompts play at once than fit. One
   mutex guards the table; decoding runs outside it. */
#include "cache.h"

#include "callrec.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "prompt.h"

struct cr_cache_entry {
    char *path;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    int16_t *samples;
    size_t count;
    int refs;
    cr_cache_entry *prev, *next; /* most recently used first */
};

struct callrec_prompt_cache {
    pthread_mutex_t lock;
    size_t max_bytes, bytes;
    cr_cache_entry *head, *tail;
    callrec_prompt_cache_stats stats;
};

callrec_status callrec_prompt_cache_create(size_t max_bytes, callrec_prompt_cache **out)
{
    if (!out)
        return CALLREC_EINVAL;
    *out = NULL;
    callrec_prompt_cache *c = calloc(1, sizeof *c);
    if (!c)
        return CALLREC_ENOMEM;
    if (pthread_mutex_init(&c->lock, NULL)) {
        free(c);
        return CALLREC_ENOMEM;
    }
    c->max_bytes = max_bytes;
    *out = c;
    return CALLREC_OK;
}

static void entry_free(cr_cache_entry *e)
{
    free(e->path);
    free(e->samples);
    free(e);
}

void callrec_prompt_cache_destroy(callrec_prompt_cache *c)
{
    if (!c)
        return;
    for (cr_cache_entry *e = c->head, *next; e; e = next) {
        next = e->next;
        entry_free(e);
    }
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void callrec_prompt_cache_get_stats(callrec_prompt_cache *c, callrec_prompt_cache_stats *stats)
{
    if (!c || !stats)
        return;
    pthread_mutex_lock(&c->lock);
    *stats = c->stats;
    stats->bytes = c->bytes;
    pthread_mutex_unlock(&c->lock);
}

static void unlink_entry(callrec_prompt_cache *c, cr_cache_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(callrec_prompt_cache *c, cr_cache_entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

/* Unlinks unused entries, least recently used first, until the cache fits its bound; returns
   them as a list (next links) to be freed outside the lock. */
static cr_cache_entry *evict(callrec_prompt_cache *c)
{
    cr_cache_entry *victims = NULL;
    for (cr_cache_entry *e = c->tail, *prev; e && c->bytes > c->max_bytes; e = prev) {
        prev = e->prev;
        if (e->refs > 0)
            continue;
        unlink_entry(c, e);
        c->bytes -= e->count * sizeof *e->samples;
        c->stats.entries--;
        c->stats.evictions++;
        e->next = victims;
        victims = e;
    }
    return victims;
}

static void free_list(cr_cache_entry *e)
{
    while (e) {
        cr_cache_entry *next = e->next;
        entry_free(e);
        e = next;
    }
}

static int same_file(const cr_cache_entry *e, const char *path, const struct stat *st)
{
    return e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
           e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec &&
           strcmp(e->path, path) == 0;
}

static int too_long(const char *path, size_t count, int max_seconds, char *err, size_t err_len)
{
    if (count / CALLREC_INTERNAL_RATE_HZ < (size_t)max_seconds)
        return 0;
    snprintf(err, err_len, "prompt %s: %.1f s long; at most %d s accepted", path,
             (double)count / CALLREC_INTERNAL_RATE_HZ, max_seconds);
    return 1;
}

int cr_clip_acquire(callrec_prompt_cache *c, const char *path, int max_seconds, cr_clip *clip,
                    char *err, size_t err_len)
{
    memset(clip, 0, sizeof *clip);
    int16_t *samples = NULL;
    size_t count = 0;
    struct stat st;
    if (!c || stat(path, &st) != 0) {
        /* No cache, or nothing to key it on: the loader names the problem. */
        if (cr_prompt_load(path, max_seconds, &samples, &count, err, err_len))
            return -1;
        clip->samples = samples;
        clip->count = count;
        return 0;
    }

    pthread_mutex_lock(&c->lock);
    for (cr_cache_entry *e = c->head; e; e = e->next) {
        if (same_file(e, path, &st)) {
            int refused = too_long(path, e->count, max_seconds, err, err_len);
            if (!refused) {
                e->refs++;
                unlink_entry(c, e);
                push_front(c, e);
                c->stats.hits++;
                clip->samples = e->samples;
                clip->count = e->count;
                clip->entry = e;
            }
            pthread_mutex_unlock(&c->lock);
            return refused ? -1 : 0;
        }
    }
    c->stats.misses++;
    pthread_mutex_unlock(&c->lock);

    if (cr_prompt_load(path, max_seconds, &samples, &count, err, err_len))
        return -1;
    cr_cache_entry *e = calloc(1, sizeof *e);
    size_t n = strlen(path) + 1;
    char *copy = malloc(n);
    if (!e || !copy) {
        /* Play it privately rather than fail: the cache is only an optimisation. */
        free(e);
        free(copy);
        clip->samples = samples;
        clip->count = count;
        return 0;
    }
    memcpy(copy, path, n);
    *e = (cr_cache_entry){.path = copy, .dev = st.st_dev, .ino = st.st_ino, .size = st.st_size,
                          .mtime = st.st_mtim, .samples = samples, .count = count, .refs = 1};

    pthread_mutex_lock(&c->lock);
    /* Another session may have decoded the same file meanwhile: share theirs. */
    cr_cache_entry *found = NULL;
    for (cr_cache_entry *x = c->head; x && !found; x = x->next)
        if (same_file(x, path, &st))
            found = x;
    if (found) {
        found->refs++;
        clip->samples = found->samples;
        clip->count = found->count;
        clip->entry = found;
    } else {
        push_front(c, e);
        c->bytes += count * sizeof *samples;
        c->stats.entries++;
        clip->samples = e->samples;
        clip->count = e->count;
        clip->entry = e;
    }
    cr_cache_entry *victims = evict(c);
    pthread_mutex_unlock(&c->lock);
    if (found)
        entry_free(e);
    free_list(victims);
    return 0;
}

void cr_clip_release(callrec_prompt_cache *c, cr_clip *clip)
{
    if (clip->entry && c) {
        pthread_mutex_lock(&c->lock);
        clip->entry->refs--;
        cr_cache_entry *victims = evict(c);
        pthread_mutex_unlock(&c->lock);
        free_list(victims);
    } else {
        free((void *)clip->samples);
    }
    memset(clip, 0, sizeof *clip);
}
