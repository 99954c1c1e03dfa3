#include "request.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t err_len, const char *fmt, ...)
{
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int cr_utf8_valid(const char *s, size_t n, size_t *chars)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t count = 0;
    for (size_t i = 0; i < n; count++) {
        unsigned c = p[i];
        size_t extra;
        unsigned min;
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            extra = 1, min = 0x80, c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2, min = 0x800, c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3, min = 0x10000, c &= 0x07;
        } else {
            return 0;
        }
        if (i + extra >= n)
            return 0;
        for (size_t k = 1; k <= extra; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return 0;
            c = (c << 6) | (p[i + k] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return 0;
        i += extra + 1;
    }
    if (chars)
        *chars = count;
    return 1;
}

void cr_utf8_trim(char *s)
{
    size_t n = strlen(s), lead = n;
    while (lead > 0 && n - lead < 4 && ((unsigned char)s[lead - 1] & 0xC0) == 0x80)
        lead--;
    if (lead == 0 || ((unsigned char)s[lead - 1] & 0x80) == 0)
        return; /* ends in ASCII (or holds no lead byte to judge) */
    lead--;
    if (!cr_utf8_valid(s + lead, n - lead, NULL))
        s[lead] = '\0';
}

/* What a JSON value is, for messages: "a string", "false", "2.5". */
static const char *describe(const cJSON *v, char *buf, size_t n)
{
    if (cJSON_IsString(v)) {
        size_t chars = 0;
        const char *s = v->valuestring;
        if (!cr_utf8_valid(s, strlen(s), &chars))
            return "a string that is not valid UTF-8";
        size_t o = 0;
        o += (size_t)snprintf(buf, n, "\"");
        for (const char *c = s; *c && o + 8 < n; c++) {
            unsigned char u = (unsigned char)*c;
            if (u < 0x20 || u == '"' || u == '\\')
                o += (size_t)snprintf(buf + o, n - o, "\\u%04x", u);
            else
                buf[o++] = (char)u;
            if (c - s >= 40) {
                o += (size_t)snprintf(buf + o, n - o, "...");
                break;
            }
        }
        snprintf(buf + o, n - o, "\"");
        return buf;
    }
    if (cJSON_IsNumber(v)) {
        if (isinf(v->valuedouble))
            return "a number out of range";
        snprintf(buf, n, "%.17g", v->valuedouble);
        return buf;
    }
    if (cJSON_IsTrue(v))
        return "true";
    if (cJSON_IsFalse(v))
        return "false";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsArray(v))
        return "an array";
    return "an object";
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted, so that a body of many thousand annotations costs n log n, not n squared. */
static int check_duplicates(const cJSON *obj, const char *where, char *err, size_t err_len)
{
    size_t n = 0;
    for (const cJSON *a = obj->child; a; a = a->next)
        n++;
    if (n < 2)
        return 0;
    const char **names = malloc(n * sizeof *names);
    if (!names)
        return fail(err, err_len, "%s: out of memory", where);
    n = 0;
    for (const cJSON *a = obj->child; a; a = a->next)
        names[n++] = a->string;
    qsort(names, n, sizeof *names, cmp_names);
    int rc = 0;
    for (size_t i = 1; i < n && rc == 0; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            rc = fail(err, err_len, "%s: field \"%.64s\" appears more than once", where,
                      names[i]);
    free(names);
    return rc;
}

static int get_int(const cJSON *body, const char *name, int *out, char *err, size_t err_len)
{
    char buf[96];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);
    *out = CR_TIMEOUT_DEFAULT_S;
    if (!v || cJSON_IsNull(v)) /* every parameter is nullable; null means the default */
        return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble != floor(v->valuedouble) ||
        v->valuedouble < CR_TIMEOUT_MIN_S || v->valuedouble > CR_TIMEOUT_MAX_S)
        return fail(err, err_len, "%s: must be an integer from %d to %d, got %s", name,
                    CR_TIMEOUT_MIN_S, CR_TIMEOUT_MAX_S, describe(v, buf, sizeof buf));
    *out = (int)v->valuedouble;
    return 0;
}

static int get_bool(const cJSON *body, const char *name, int dflt, int *out, char *err,
                    size_t err_len)
{
    char buf[96];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);
    *out = dflt;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsBool(v))
        return fail(err, err_len, "%s: must be true or false, got %s", name,
                    describe(v, buf, sizeof buf));
    *out = cJSON_IsTrue(v);
    return 0;
}

/* A string field that must be valid UTF-8; copied into *out. */
static int get_string(const cJSON *v, const char *name, size_t max_chars, char **out, char *err,
                      size_t err_len)
{
    char buf[96];
    size_t chars = 0;
    if (!cJSON_IsString(v))
        return fail(err, err_len, "%s: must be a string, got %s", name, describe(v, buf, sizeof buf));
    size_t n = strlen(v->valuestring);
    if (!cr_utf8_valid(v->valuestring, n, &chars))
        return fail(err, err_len, "%s: must be valid UTF-8 text", name);
    if (max_chars && chars > max_chars)
        return fail(err, err_len, "%s: must be at most %zu characters, got %zu", name, max_chars,
                    chars);
    *out = malloc(n + 1);
    if (!*out)
        return fail(err, err_len, "%s: out of memory", name);
    memcpy(*out, v->valuestring, n + 1);
    return 0;
}

static const char *const record_fields[] = {
    "prompts", "bargeInAllowed", "initialSilenceTimeoutInSeconds", "maxSilenceTimeoutInSeconds",
    "maxRecordDurationInSeconds", "playBeep", "stopTones", "clientContext", NULL};
static const char *const play_fields[] = {"prompts", "clientContext", NULL};
static const char *const prompt_fields[] = {"mediaInfo", "loop", NULL};
static const char *const media_info_fields[] = {"uri", "resourceId", NULL};

/* Every field of obj must be one of `known` or an OData annotation, and appear once; the
   same rule at every level. `odata_type`, if not NULL, is the only type obj may declare in
   "@odata.type". `where` prefixes messages ("" at the top); `what` names the object. */
static int check_fields(const cJSON *obj, const char *where, const char *what,
                        const char *const *known_fields, const char *odata_type, char *err,
                        size_t err_len)
{
    char buf[96];
    for (const cJSON *f = obj->child; f; f = f->next) {
        int known = strchr(f->string, '@') != NULL; /* OData annotations are allowed */
        for (int i = 0; !known && known_fields[i]; i++)
            known = strcmp(f->string, known_fields[i]) == 0;
        if (!known) {
            char list[256] = "";
            for (int i = 0; known_fields[i]; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                         known_fields[i]);
            size_t chars;
            int printable = cr_utf8_valid(f->string, strlen(f->string), &chars);
            for (const char *c = f->string; printable && *c; c++)
                printable = (unsigned char)*c >= 0x20 && *c != '"' && *c != '\\';
            return fail(err, err_len, "%s%s%.64s: not a field of %s; accepted: %s", where,
                        where[0] ? "." : "", printable ? f->string : "(unprintable field name)",
                        what, list);
        }
        if (odata_type && strcmp(f->string, "@odata.type") == 0 &&
            (!cJSON_IsString(f) || strcmp(f->valuestring, odata_type) != 0))
            return fail(err, err_len, "%s%s@odata.type: must be \"%s\", got %s", where,
                        where[0] ? "." : "", odata_type, describe(f, buf, sizeof buf));
    }
    return check_duplicates(obj, where[0] ? where : "request", err, err_len);
}

/* prompts: an array of mediaPrompt objects, at most `max` (and at least one if `required`). */
static int parse_prompts(const cJSON *body, int max, int required, cr_request *r, char *err,
                         size_t err_len)
{
    char buf[96], where[64];
    const cJSON *prompts = cJSON_GetObjectItemCaseSensitive(body, "prompts");
    if (!prompts || cJSON_IsNull(prompts)) {
        if (required)
            return fail(err, err_len, "prompts: is required (an array of 1 to %d mediaPrompt)", max);
        return 0;
    }
    if (!cJSON_IsArray(prompts))
        return fail(err, err_len, "prompts: must be an array of at most %d mediaPrompt, got %s",
                    max, describe(prompts, buf, sizeof buf));
    int n = cJSON_GetArraySize(prompts);
    if (n == 0 && required)
        return fail(err, err_len, "prompts: must hold at least 1 mediaPrompt, got none");
    if (n > max)
        return fail(err, err_len, "prompts: at most %d prompt%s accepted, got %d", max,
                    max == 1 ? " is" : "s are", n);
    int i = 0;
    for (const cJSON *p = prompts->child; p; p = p->next, i++) {
        cr_prompt_ref *ref = &r->prompts[i];
        snprintf(where, sizeof where, "prompts[%d]", i);
        if (!cJSON_IsObject(p))
            return fail(err, err_len, "%s: must be a mediaPrompt object, got %s", where,
                        describe(p, buf, sizeof buf));
        if (check_fields(p, where, "a mediaPrompt", prompt_fields, "#microsoft.graph.mediaPrompt",
                         err, err_len))
            return -1;
        /* beta's mediaPrompt has `loop`, the times to play it: once is what callrec does. */
        const cJSON *loop = cJSON_GetObjectItemCaseSensitive(p, "loop");
        if (loop && !cJSON_IsNull(loop) && !(cJSON_IsNumber(loop) && loop->valuedouble == 1))
            return fail(err, err_len, "%s.loop: only 1 (play once) is supported, got %s", where,
                        describe(loop, buf, sizeof buf));
        const cJSON *info = cJSON_GetObjectItemCaseSensitive(p, "mediaInfo");
        if (!cJSON_IsObject(info))
            return fail(err, err_len, "%s.mediaInfo: must be an object with a uri, got %s", where,
                        info ? describe(info, buf, sizeof buf) : "nothing");
        snprintf(where, sizeof where, "prompts[%d].mediaInfo", i);
        if (check_fields(info, where, "a mediaInfo", media_info_fields,
                         "#microsoft.graph.mediaInfo", err, err_len))
            return -1;
        snprintf(where, sizeof where, "prompts[%d].mediaInfo.uri", i);
        const cJSON *uri = cJSON_GetObjectItemCaseSensitive(info, "uri");
        if (!uri)
            return fail(err, err_len, "%s: is required", where);
        if (get_string(uri, where, 4096, &ref->uri, err, err_len))
            return -1;
        r->n_prompts = i + 1;
        if (ref->uri[0] == '\0')
            return fail(err, err_len, "%s: must not be empty", where);
        snprintf(where, sizeof where, "prompts[%d].mediaInfo.resourceId", i);
        const cJSON *rid = cJSON_GetObjectItemCaseSensitive(info, "resourceId");
        if (rid && !cJSON_IsNull(rid) &&
            get_string(rid, where, 256, &ref->resource_id, err, err_len))
            return -1;
    }
    return 0;
}

static int parse_stop_tones(const cJSON *body, cr_request *r, char *err, size_t err_len)
{
    static const char keys[] = "0123456789*#ABCD";
    char buf[96];
    const cJSON *tones = cJSON_GetObjectItemCaseSensitive(body, "stopTones");
    if (!tones || cJSON_IsNull(tones))
        return 0;
    if (!cJSON_IsArray(tones))
        return fail(err, err_len, "stopTones: must be an array of DTMF keys, got %s",
                    describe(tones, buf, sizeof buf));
    int i = 0;
    for (const cJSON *t = tones->child; t; t = t->next, i++) {
        if (!cJSON_IsString(t) || strlen(t->valuestring) != 1 ||
            !strchr(keys, t->valuestring[0]))
            return fail(err, err_len,
                        "stopTones[%d]: must be one DTMF key (0-9, *, #, A-D), got %s", i,
                        describe(t, buf, sizeof buf));
        if (!strchr(r->stop_tones, t->valuestring[0])) {
            size_t n = strlen(r->stop_tones);
            r->stop_tones[n] = t->valuestring[0];
            r->stop_tones[n + 1] = '\0';
        }
    }
    return 0;
}

/* RFC 8259's grammar, checked before cJSON, which also takes "05", "5.", "1e" and control
   characters raw inside strings. Returns NULL if json[0..len) is one JSON text, else why not,
   with *at the offset of the first byte that is not JSON. Nesting deeper than
   JSON_MAX_DEPTH is refused: a request is three levels deep. */
#define JSON_MAX_DEPTH 32

static int hexdigit(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }

static const char *strict_string(const char *s, size_t n, size_t *i)
{
    for ((*i)++; *i < n; (*i)++) {
        unsigned char c = (unsigned char)s[*i];
        if (c == '"') {
            (*i)++;
            return NULL;
        }
        if (c < 0x20)
            return "a control character must be escaped inside a string";
        if (c != '\\')
            continue;
        if (++*i >= n)
            break;
        if (s[*i] == 'u') {
            for (int k = 1; k <= 4; k++)
                if (*i + (size_t)k >= n || hexdigit(s[*i + (size_t)k]) < 0)
                    return "\\u must be followed by four hex digits";
            *i += 4;
        } else if (!strchr("\"\\/bfnrt", s[*i]) || s[*i] == '\0') {
            return "unknown escape in a string";
        }
    }
    return "unterminated string";
}

static const char *strict_number(const char *s, size_t n, size_t *i)
{
    if (s[*i] == '-')
        (*i)++;
    if (*i < n && s[*i] == '0') {
        (*i)++;
        if (*i < n && is_digit(s[*i]))
            return "a number must not have leading zeros";
    } else if (*i < n && is_digit(s[*i])) {
        while (*i < n && is_digit(s[*i]))
            (*i)++;
    } else {
        return "a number needs digits";
    }
    if (*i < n && s[*i] == '.') {
        (*i)++;
        if (*i >= n || !is_digit(s[*i]))
            return "a decimal point must be followed by digits";
        while (*i < n && is_digit(s[*i]))
            (*i)++;
    }
    if (*i < n && (s[*i] == 'e' || s[*i] == 'E')) {
        (*i)++;
        if (*i < n && (s[*i] == '+' || s[*i] == '-'))
            (*i)++;
        if (*i >= n || !is_digit(s[*i]))
            return "an exponent needs digits";
        while (*i < n && is_digit(s[*i]))
            (*i)++;
    }
    return NULL;
}

static const char *json_strict(const char *s, size_t n, size_t *at)
{
    char stack[JSON_MAX_DEPTH]; /* '{' or '[' of each open container */
    int depth = 0;
    size_t i = 0;
    const char *why = NULL;
    enum { VALUE, KEY, AFTER } want = VALUE;
    for (;;) {
        while (i < n && is_ws(s[i]))
            i++;
        if (want == AFTER && depth == 0) {
            if (i < n)
                why = "text after the end of the JSON value";
            break;
        }
        if (i >= n) {
            why = "unexpected end";
            break;
        }
        char c = s[i];
        if (want == AFTER) {
            char open = stack[depth - 1];
            if (c == ',') {
                i++;
                want = open == '{' ? KEY : VALUE;
            } else if (c == (open == '{' ? '}' : ']')) {
                i++;
                depth--;
            } else {
                why = open == '{' ? "expected , or } in an object" : "expected , or ] in an array";
                break;
            }
            continue;
        }
        if (want == KEY) {
            if (c != '"') {
                why = "expected a field name in double quotes";
                break;
            }
            if ((why = strict_string(s, n, &i)))
                break;
            while (i < n && is_ws(s[i]))
                i++;
            if (i >= n || s[i] != ':') {
                why = "expected : after a field name";
                break;
            }
            i++;
            want = VALUE;
            continue;
        }
        /* a value */
        if (c == '{' || c == '[') {
            if (depth == JSON_MAX_DEPTH) {
                why = "nested too deeply";
                break;
            }
            stack[depth++] = c;
            i++;
            while (i < n && is_ws(s[i]))
                i++;
            if (i < n && s[i] == (c == '{' ? '}' : ']')) {
                i++;
                depth--;
                want = AFTER;
            } else {
                want = c == '{' ? KEY : VALUE;
            }
            continue;
        }
        if (c == '"') {
            why = strict_string(s, n, &i);
        } else if (c == '-' || is_digit(c)) {
            why = strict_number(s, n, &i);
        } else {
            static const char *const words[] = {"true", "false", "null"};
            why = "expected a value";
            for (int k = 0; k < 3; k++) {
                size_t len = strlen(words[k]);
                if (n - i >= len && memcmp(s + i, words[k], len) == 0) {
                    i += len;
                    why = NULL;
                    break;
                }
            }
        }
        if (why)
            break;
        want = AFTER;
    }
    *at = i < n ? i : n;
    return why;
}

/* cJSON decodes "\u0000" and silently cuts the string there; find it first. Returns its
   offset, or -1. */
static long nul_escape(const char *json, size_t len)
{
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        if (json[i] == '"') {
            in_string = !in_string;
        } else if (in_string && json[i] == '\\' && i + 1 < len) {
            if (json[i + 1] == 'u' && i + 5 < len && memcmp(json + i + 2, "0000", 4) == 0)
                return (long)i;
            i++;
        }
    }
    return -1;
}

static void json_position(const char *json, size_t offset, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < offset; i++) {
        if (json[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* Parses a body into a JSON object, or returns NULL with a message. */
static cJSON *parse_body(const char *json, size_t len, char *err, size_t err_len)
{
    if (!json) {
        fail(err, err_len, "request: no body given");
        return NULL;
    }
    if (len > CR_REQUEST_MAX_BYTES) {
        fail(err, err_len, "request: body is %zu bytes; at most %d accepted", len,
             CR_REQUEST_MAX_BYTES);
        return NULL;
    }
    /* cJSON reads a C string: a raw NUL would end the text early, or a field name. */
    const char *raw_nul = memchr(json, '\0', len);
    if (raw_nul) {
        fail(err, err_len, "request: holds a NUL byte at byte %zu; JSON text has none",
             (size_t)(raw_nul - json));
        return NULL;
    }
    long nul = nul_escape(json, len);
    if (nul >= 0) {
        fail(err, err_len, "request: a string holds \\u0000 (NUL) at byte %ld; text with NUL "
             "characters is not accepted", nul);
        return NULL;
    }
    size_t pos = 0;
    const char *why = json_strict(json, len, &pos);
    if (why) {
        int line, col;
        json_position(json, pos, &line, &col);
        if (pos >= len)
            fail(err, err_len, "request: invalid JSON: unexpected end at byte %zu", pos);
        else
            fail(err, err_len, "request: invalid JSON at byte %zu (line %d, column %d): %s", pos,
                 line, col, why);
        return NULL;
    }
    cJSON *body = cJSON_ParseWithLength(json, len);
    if (!body) { /* valid JSON: only memory can fail here */
        fail(err, err_len, "request: out of memory");
        return NULL;
    }
    if (!cJSON_IsObject(body)) {
        char buf[96];
        fail(err, err_len, "request: must be a JSON object, got %s", describe(body, buf, sizeof buf));
        cJSON_Delete(body);
        return NULL;
    }
    return body;
}

static int parse_client_context(const cJSON *body, cr_request *r, char *err, size_t err_len)
{
    const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(body, "clientContext");
    if (ctx && !cJSON_IsNull(ctx))
        return get_string(ctx, "clientContext", CR_CLIENT_CONTEXT_MAX, &r->client_context, err,
                          err_len);
    return 0;
}

/* JSON text is UTF-8 (RFC 8259, 8.1). Checked last, so that the fields callrec reads are
   named when they are the ones at fault; this catches the rest (annotations, names). */
static int check_text(const char *json, size_t len, char *err, size_t err_len)
{
    if (!cr_utf8_valid(json, len, NULL))
        return fail(err, err_len, "request: not valid UTF-8 text");
    return 0;
}

/* Ends a parse: the body freed, and the request handed out whole or not at all. */
static int conclude(cJSON *body, int failed, cr_request *r, cr_request *out)
{
    cJSON_Delete(body);
    if (failed) {
        cr_request_free(r);
        return -1;
    }
    *out = *r;
    return 0;
}

int cr_request_parse(const char *json, size_t len, cr_request *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    cJSON *body = parse_body(json, len, err, err_len);
    if (!body)
        return -1;
    cr_request r = {0};
    r.kind = CR_REQUEST_RECORD;
    int rc = check_fields(body, "", "the record request", record_fields, NULL, err, err_len) ||
             parse_prompts(body, 1, 0, &r, err, err_len) ||
             get_bool(body, "bargeInAllowed", 0, &r.barge_in, err, err_len) ||
             get_int(body, "initialSilenceTimeoutInSeconds", &r.initial_silence_s, err, err_len) ||
             get_int(body, "maxSilenceTimeoutInSeconds", &r.max_silence_s, err, err_len) ||
             get_int(body, "maxRecordDurationInSeconds", &r.max_duration_s, err, err_len) ||
             get_bool(body, "playBeep", 1, &r.play_beep, err, err_len) ||
             parse_stop_tones(body, &r, err, err_len) ||
             parse_client_context(body, &r, err, err_len) || check_text(json, len, err, err_len);
    return conclude(body, rc, &r, out);
}

int cr_play_request_parse(const char *json, size_t len, cr_request *out, char *err,
                          size_t err_len)
{
    memset(out, 0, sizeof *out);
    cJSON *body = parse_body(json, len, err, err_len);
    if (!body)
        return -1;
    cr_request r = {0};
    r.kind = CR_REQUEST_PLAY_PROMPT;
    int rc = check_fields(body, "", "the playPrompt request", play_fields, NULL, err, err_len) ||
             parse_prompts(body, CR_MAX_PROMPTS, 1, &r, err, err_len) ||
             parse_client_context(body, &r, err, err_len) || check_text(json, len, err, err_len);
    return conclude(body, rc, &r, out);
}

void cr_request_free(cr_request *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n_prompts; i++) {
        free(r->prompts[i].uri);
        free(r->prompts[i].resource_id);
    }
    free(r->client_context);
    memset(r, 0, sizeof *r);
}
