/* The record request body: parsing and validation (cJSON). */
#ifndef CR_REQUEST_H
#define CR_REQUEST_H

#include <stddef.h>

#define CR_TIMEOUT_MIN_S 1
#define CR_TIMEOUT_MAX_S 300
#define CR_TIMEOUT_DEFAULT_S 5
#define CR_CLIENT_CONTEXT_MAX 256 /* characters (Unicode code points) */
#define CR_MAX_STOP_TONES 16
#define CR_REQUEST_MAX_BYTES (1 << 20)
#define CR_MAX_PROMPTS 16      /* prompts of one playPrompt operation (record: 1) */

typedef struct cr_prompt_ref {
    char *uri;
    char *resource_id;         /* may be NULL */
} cr_prompt_ref;

typedef enum cr_request_kind { CR_REQUEST_RECORD, CR_REQUEST_PLAY_PROMPT } cr_request_kind;

typedef struct cr_request {
    cr_request_kind kind;
    cr_prompt_ref prompts[CR_MAX_PROMPTS];
    int n_prompts;
    int barge_in;
    int initial_silence_s;
    int max_silence_s;
    int max_duration_s;
    int play_beep;
    char stop_tones[CR_MAX_STOP_TONES + 1]; /* NUL-terminated set of keys */
    char *client_context;      /* NULL when absent */
} cr_request;

/* Parses and validates a record body. On failure returns -1, leaves *out empty and writes a
   message naming the field, what was given and what is accepted. */
int cr_request_parse(const char *json, size_t len, cr_request *out, char *err, size_t err_len);

/* The same for a playPrompt body: prompts (1..CR_MAX_PROMPTS, required) and clientContext. */
int cr_play_request_parse(const char *json, size_t len, cr_request *out, char *err,
                          size_t err_len);

void cr_request_free(cr_request *r);

/* 1 if s (n bytes) is well-formed UTF-8 without NUL; *chars receives its code points. */
int cr_utf8_valid(const char *s, size_t n, size_t *chars);

/* Cuts an incomplete UTF-8 sequence off the end of s (what snprintf leaves when it truncates
   text mid-character). */
void cr_utf8_trim(char *s);

#endif
