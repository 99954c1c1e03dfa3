/* Prompt media: any file a callrec_source reads, decoded once to 16 kHz mono. */
#ifndef CR_PROMPT_H
#define CR_PROMPT_H

#include <stddef.h>
#include <stdint.h>

/* Turns a request's mediaInfo.uri into a local path: file:// URIs are decoded, relative
   paths are joined to base_dir (may be NULL). Returns 0, or -1 for a URI scheme callrec
   cannot open itself (http, https, ...) or a malformed file URI, with a message. */
int cr_prompt_local_path(const char *uri, const char *base_dir, char *path, size_t path_len,
                         char *err, size_t err_len);

/* Loads a prompt. On success *samples (malloc'd, 16 kHz mono) and *count are set. Prompts
   longer than max_seconds are refused. Returns 0, or -1 with a message naming the file. */
int cr_prompt_load(const char *path, int max_seconds, int16_t **samples, size_t *count,
                   char *err, size_t err_len);

/* The same from an encoded file held in memory (data, size); `name` is used in messages. */
int cr_prompt_load_memory(const void *data, size_t size, const char *name, int max_seconds,
                          int16_t **samples, size_t *count, char *err, size_t err_len);

#endif
