/* Decoded prompts: loaded once and shared by every session that plays them, through a
   bounded, thread-safe cache (callrec_prompt_cache), or loaded privately when there is none. */
#ifndef CR_CACHE_H
#define CR_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "callrec.h"

typedef struct cr_cache_entry cr_cache_entry;

/* A prompt ready to play: 16 kHz mono samples, shared through `entry` or owned (entry NULL). */
typedef struct cr_clip {
    const int16_t *samples;
    size_t count;
    cr_cache_entry *entry;
} cr_clip;

/* Gets the prompt at `path` (a local file) from the cache, decoding it on a miss; cache may be
   NULL (decoded privately). Prompts longer than max_seconds are refused. Returns 0, or -1 with
   a message naming the file. */
int cr_clip_acquire(callrec_prompt_cache *cache, const char *path, int max_seconds, cr_clip *clip,
                    char *err, size_t err_len);

/* Gives the clip back (frees it if private). Never allocates. */
void cr_clip_release(callrec_prompt_cache *cache, cr_clip *clip);

#endif
