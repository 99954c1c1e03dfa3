/* Request parsing and validation: every rule, with its exact message. */
#include <string.h>

#include "harness.h"
#include "request.h"
#include "support.h"

static const char seed_example[] =
    "{\"bargeInAllowed\": true, \"clientContext\": \"d45324c1-fcb5-430a-902c-f20af696537c\", "
    "\"prompts\": [{\"@odata.type\": \"#microsoft.graph.mediaPrompt\", \"mediaInfo\": {\"uri\": "
    "\"https://cdn.contoso.com/beep.wav\", \"resourceId\": "
    "\"1D6DE2D4-CD51-4309-8DAA-70768651088E\"}}], \"maxRecordDurationInSeconds\": 10, "
    "\"initialSilenceTimeoutInSeconds\": 5, \"maxSilenceTimeoutInSeconds\": 2, \"playBeep\": "
    "true, \"stopTones\": [\"#\", \"1\", \"*\"]}";

static void expect_error(const char *json, const char *message)
{
    cr_request r;
    char err[512] = "";
    int rc = cr_request_parse(json, strlen(json), &r, err, sizeof err);
    CHECK_MSG(rc == -1, "accepted: %s", json);
    CHECK_STR(err, message);
    CHECK(r.n_prompts == 0 && r.client_context == NULL);
}

static void test_accepts(void)
{
    cr_request r;
    char err[512] = "";
    CHECK(cr_request_parse(seed_example, strlen(seed_example), &r, err, sizeof err) == 0);
    CHECK(r.barge_in == 1);
    CHECK_STR(r.client_context, "d45324c1-fcb5-430a-902c-f20af696537c");
    CHECK_STR(r.prompts[0].uri, "https://cdn.contoso.com/beep.wav");
    CHECK_STR(r.prompts[0].resource_id, "1D6DE2D4-CD51-4309-8DAA-70768651088E");
    CHECK(r.max_duration_s == 10 && r.initial_silence_s == 5 && r.max_silence_s == 2);
    CHECK(r.play_beep == 1);
    CHECK_STR(r.stop_tones, "#1*");
    cr_request_free(&r);

    CHECK(cr_request_parse("{}", 2, &r, err, sizeof err) == 0);
    CHECK(r.barge_in == 0 && r.play_beep == 1 && r.n_prompts == 0);
    CHECK(r.initial_silence_s == 5 && r.max_silence_s == 5 && r.max_duration_s == 5);
    CHECK(r.stop_tones[0] == '\0' && r.client_context == NULL);
    cr_request_free(&r);

    const char *all = "{\"prompts\":[{\"mediaInfo\":{\"uri\":\"file:///tmp/p.wav\"}}],"
                      "\"bargeInAllowed\":false,\"initialSilenceTimeoutInSeconds\":300,"
                      "\"maxSilenceTimeoutInSeconds\":1,\"maxRecordDurationInSeconds\":1,"
                      "\"playBeep\":false,\"stopTones\":[\"0\",\"9\",\"A\",\"D\",\"#\",\"*\"],"
                      "\"clientContext\":\"\",\"@odata.type\":\"#microsoft.graph.recordResponse\"}";
    CHECK(cr_request_parse(all, strlen(all), &r, err, sizeof err) == 0);
    CHECK(r.initial_silence_s == 300 && r.max_silence_s == 1 && r.max_duration_s == 1);
    CHECK(r.play_beep == 0 && r.prompts[0].resource_id == NULL);
    CHECK_STR(r.stop_tones, "09AD#*");
    CHECK_STR(r.client_context, "");
    cr_request_free(&r);

    /* 256 characters of multi-byte text is within the limit. */
    char ctx[2048];
    strcpy(ctx, "{\"clientContext\":\"");
    for (int i = 0; i < 256; i++)
        strcat(ctx, "\xC3\xA9");
    strcat(ctx, "\"}");
    CHECK(cr_request_parse(ctx, strlen(ctx), &r, err, sizeof err) == 0);
    cr_request_free(&r);
}

static void test_refuses(void)
{
    expect_error("", "request: invalid JSON: unexpected end at byte 0");
    expect_error("{\"playBeep\": tru}",
                 "request: invalid JSON at byte 13 (line 1, column 14): expected a value");
    expect_error("{\n  \"a\": 1,\n  }", "request: invalid JSON at byte 14 (line 3, column 3): "
                                      "expected a field name in double quotes");
    expect_error("{} {}", "request: invalid JSON at byte 3 (line 1, column 4): text after the "
                          "end of the JSON value");
    expect_error("[1]", "request: must be a JSON object, got an array");
    expect_error("{\"maxRecordDurationInSeconds\": 0}",
                 "maxRecordDurationInSeconds: must be an integer from 1 to 300, got 0");
    expect_error("{\"maxRecordDurationInSeconds\": 301}",
                 "maxRecordDurationInSeconds: must be an integer from 1 to 300, got 301");
    expect_error("{\"initialSilenceTimeoutInSeconds\": 2.5}",
                 "initialSilenceTimeoutInSeconds: must be an integer from 1 to 300, got 2.5");
    expect_error("{\"maxSilenceTimeoutInSeconds\": \"5\"}",
                 "maxSilenceTimeoutInSeconds: must be an integer from 1 to 300, got \"5\"");
    expect_error("{\"maxSilenceTimeoutInSeconds\": -1}",
                 "maxSilenceTimeoutInSeconds: must be an integer from 1 to 300, got -1");
    expect_error("{\"maxSilenceTimeoutInSeconds\": 1e999}",
                 "maxSilenceTimeoutInSeconds: must be an integer from 1 to 300, got a number out "
                 "of range");
    expect_error("{\"playBeep\": 1}", "playBeep: must be true or false, got 1");
    expect_error("{\"bargeInAllowed\": \"yes\"}",
                 "bargeInAllowed: must be true or false, got \"yes\"");
    expect_error("{\"prompts\": {}}",
                 "prompts: must be an array of at most 1 mediaPrompt, got an object");
    expect_error("{\"prompts\": [{\"mediaInfo\":{\"uri\":\"a.wav\"}}, "
                 "{\"mediaInfo\":{\"uri\":\"b.wav\"}}]}",
                 "prompts: at most 1 prompt is accepted, got 2");
    expect_error("{\"prompts\": [3]}", "prompts[0]: must be a mediaPrompt object, got 3");
    expect_error("{\"prompts\": [{}]}",
                 "prompts[0].mediaInfo: must be an object with a uri, got nothing");
    expect_error("{\"prompts\": [{\"mediaInfo\":{}}]}", "prompts[0].mediaInfo.uri: is required");
    expect_error("{\"prompts\": [{\"mediaInfo\":{\"uri\":\"\"}}]}",
                 "prompts[0].mediaInfo.uri: must not be empty");
    expect_error("{\"prompts\": [{\"mediaInfo\":{\"uri\":7}}]}",
                 "prompts[0].mediaInfo.uri: must be a string, got 7");
    expect_error("{\"stopTones\": \"#\"}", "stopTones: must be an array of DTMF keys, got \"#\"");
    expect_error("{\"stopTones\": [\"#\", \"12\"]}",
                 "stopTones[1]: must be one DTMF key (0-9, *, #, A-D), got \"12\"");
    expect_error("{\"stopTones\": [\"E\"]}",
                 "stopTones[0]: must be one DTMF key (0-9, *, #, A-D), got \"E\"");
    expect_error("{\"stopTones\": [\"a\"]}",
                 "stopTones[0]: must be one DTMF key (0-9, *, #, A-D), got \"a\"");
    expect_error("{\"stopTones\": [5]}",
                 "stopTones[0]: must be one DTMF key (0-9, *, #, A-D), got 5");
    expect_error("{\"clientContext\": 5}", "clientContext: must be a string, got 5");
    expect_error("{\"clientContext\": \"\xff\"}", "clientContext: must be valid UTF-8 text");
    expect_error("{\"clientContext\": \"a\\u0000b\"}",
                 "request: a string holds \\u0000 (NUL) at byte 20; text with NUL characters is "
                 "not accepted");
    cr_request ok;
    char ok_err[64];
    CHECK(cr_request_parse("{\"clientContext\": \"a\\\\u0000b\"}", 30, &ok, ok_err,
                           sizeof ok_err) == 0);
    CHECK_STR(ok.client_context, "a\\u0000b");
    cr_request_free(&ok);
    expect_error("{\"maxRecordDuration\": 5}",
                 "maxRecordDuration: not a field of the record request; accepted: prompts, "
                 "bargeInAllowed, initialSilenceTimeoutInSeconds, maxSilenceTimeoutInSeconds, "
                 "maxRecordDurationInSeconds, playBeep, stopTones, clientContext");
    expect_error("{\"playBeep\": true, \"playBeep\": false}",
                 "request: field \"playBeep\" appears more than once");

    char ctx[1024];
    strcpy(ctx, "{\"clientContext\":\"");
    for (int i = 0; i < 257; i++)
        strcat(ctx, "x");
    strcat(ctx, "\"}");
    expect_error(ctx, "clientContext: must be at most 256 characters, got 257");

    /* A NUL byte inside the body is not JSON. */
    cr_request r;
    char err[256];
    const char nul[] = "{\"playBeep\": true}\0{}";
    CHECK(cr_request_parse(nul, sizeof nul - 1, &r, err, sizeof err) == -1);
    CHECK_STR(err, "request: holds a NUL byte at byte 18; JSON text has none");

    /* A raw NUL inside a string or a name would cut it where cJSON reads it. */
    const char in_string[] = "{\"clientContext\":\"a\0b\"}";
    CHECK(cr_request_parse(in_string, sizeof in_string - 1, &r, err, sizeof err) == -1);
    CHECK_STR(err, "request: holds a NUL byte at byte 19; JSON text has none");
    const char in_name[] = "{\"maxRecordDurationInSeconds\0junk\": 7}";
    CHECK(cr_request_parse(in_name, sizeof in_name - 1, &r, err, sizeof err) == -1);
    CHECK(strstr(err, "NUL byte at byte 28") != NULL);

    /* Bodies over 1 MiB are refused before parsing. */
    size_t big = (1u << 20) + 1;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    huge[big] = '\0';
    CHECK(cr_request_parse(huge, big, &r, err, sizeof err) == -1);
    CHECK_STR(err, "request: body is 1048577 bytes; at most 1048576 accepted");
    free(huge);

    /* Deep nesting is refused, not a crash. */
    size_t depth = 5000;
    char *deep = malloc(2 * depth + 3);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[2 * depth] = '\0';
    CHECK(cr_request_parse(deep, 2 * depth, &r, err, sizeof err) == -1);
    CHECK(strncmp(err, "request: invalid JSON at byte", 29) == 0);
    free(deep);
}

/* What RFC 8259 does not allow is refused, though cJSON would take it. */
static void test_strict_json(void)
{
    expect_error("{\"maxRecordDurationInSeconds\": 05}",
                 "request: invalid JSON at byte 32 (line 1, column 33): a number must not have "
                 "leading zeros");
    expect_error("{\"maxRecordDurationInSeconds\": 5.}",
                 "request: invalid JSON at byte 33 (line 1, column 34): a decimal point must be "
                 "followed by digits");
    expect_error("{\"maxRecordDurationInSeconds\": 5e}",
                 "request: invalid JSON at byte 33 (line 1, column 34): an exponent needs digits");
    expect_error("{\"maxRecordDurationInSeconds\": +5}",
                 "request: invalid JSON at byte 31 (line 1, column 32): expected a value");
    expect_error("{\"clientContext\": \"a\nb\"}",
                 "request: invalid JSON at byte 20 (line 1, column 21): a control character "
                 "must be escaped inside a string");
    expect_error("{\"clientContext\": \"a\x01\"}",
                 "request: invalid JSON at byte 20 (line 1, column 21): a control character "
                 "must be escaped inside a string");
    expect_error("{\"clientContext\": \"\\x\"}",
                 "request: invalid JSON at byte 20 (line 1, column 21): unknown escape in a string");
    expect_error("{\"clientContext\": \"\\u12\"}",
                 "request: invalid JSON at byte 20 (line 1, column 21): \\u must be followed by "
                 "four hex digits");
    expect_error("{\"a\": 1,}", "request: invalid JSON at byte 8 (line 1, column 9): expected a "
                                 "field name in double quotes");
    expect_error("[1,]", "request: invalid JSON at byte 3 (line 1, column 4): expected a value");
    expect_error("{\"a\" 1}", "request: invalid JSON at byte 5 (line 1, column 6): expected : "
                               "after a field name");
    expect_error("{\"x@a\": \"\xff\"}", "request: not valid UTF-8 text");
    /* What it allows still passes: escapes, exponents, negative zero in an annotation. */
    cr_request r;
    char err[256] = "";
    const char *ok = "{\"clientContext\": \"\\u00e9\\n\\/\", \"x@a\": [-0, 1.5e+3, 2E-1, "
                     "true, null, {}], \"maxRecordDurationInSeconds\": 1e1}";
    CHECK_MSG(cr_request_parse(ok, strlen(ok), &r, err, sizeof err) == 0, "%s", err);
    CHECK(r.max_duration_s == 10);
    cr_request_free(&r);
    /* An explicit null is the default, as the SDKs' serializers write it. */
    const char *nulls = "{\"maxRecordDurationInSeconds\": null, \"playBeep\": null, "
                        "\"bargeInAllowed\": null, \"stopTones\": null}";
    CHECK_MSG(cr_request_parse(nulls, strlen(nulls), &r, err, sizeof err) == 0, "%s", err);
    CHECK(r.max_duration_s == 5 && r.play_beep == 1 && r.barge_in == 0);
    cr_request_free(&r);
}

/* Fields are checked at every level alike: unknown ones refused, annotations allowed, and an
   @odata.type must name the object's own type. */
static void test_nested_fields(void)
{
    expect_error("{\"prompts\": [{\"mediaInfo\": {\"uri\": \"a.wav\"}, \"repeat\": 2}]}",
                 "prompts[0].repeat: not a field of a mediaPrompt; accepted: mediaInfo, loop");
    expect_error("{\"prompts\": [{\"mediaInfo\": {\"uri\": \"a.wav\"}, \"loop\": 2}]}",
                 "prompts[0].loop: only 1 (play once) is supported, got 2");
    expect_error("{\"prompts\": [{\"mediaInfo\": {\"uri\": \"a.wav\", \"etag\": 1}}]}",
                 "prompts[0].mediaInfo.etag: not a field of a mediaInfo; accepted: uri, resourceId");
    expect_error("{\"prompts\": [{\"@odata.type\": \"#microsoft.graph.fileInfo\", "
                 "\"mediaInfo\": {\"uri\": \"a.wav\"}}]}",
                 "prompts[0].@odata.type: must be \"#microsoft.graph.mediaPrompt\", got "
                 "\"#microsoft.graph.fileInfo\"");
    expect_error("{\"prompts\": [{\"mediaInfo\": {\"@odata.type\": 3, \"uri\": \"a.wav\"}}]}",
                 "prompts[0].mediaInfo.@odata.type: must be \"#microsoft.graph.mediaInfo\", got 3");
    cr_request r;
    char err[256] = "";
    const char *ok = "{\"prompts\": [{\"@odata.type\": \"#microsoft.graph.mediaPrompt\", "
                     "\"x@y\": 1, \"loop\": null, \"mediaInfo\": {\"@odata.type\": "
                     "\"#microsoft.graph.mediaInfo\", "
                     "\"uri\": \"a.wav\"}}]}";
    CHECK_MSG(cr_request_parse(ok, strlen(ok), &r, err, sizeof err) == 0, "%s", err);
    cr_request_free(&r);
}

/* The duplicate check is not quadratic: a 1 MiB body of 60,000 annotations (refused for a
   repeated one at the very end) is handled in well under a second even under sanitizers. */
static void test_many_fields(void)
{
    size_t cap = 1u << 20, n = 0;
    char *body = malloc(cap + 64);
    n += (size_t)sprintf(body, "{");
    int k;
    for (k = 0; n < cap - 40; k++)
        n += (size_t)sprintf(body + n, "\"a@%d\":0,", k);
    n += (size_t)sprintf(body + n, "\"a@%d\":1}", k - 1);
    cr_request r;
    char err[256] = "";
    double t0 = support_now_s();
    CHECK(cr_request_parse(body, n, &r, err, sizeof err) == -1);
    double took = support_now_s() - t0;
    char want[64];
    snprintf(want, sizeof want, "request: field \"a@%d\" appears more than once", k - 1);
    CHECK_STR(err, want);
    CHECK(k > 50000);
    printf("%d annotations, %zu bytes: refused in %.1f ms\n", k, n, took * 1e3);
    free(body);
}

static void expect_play_error(const char *json, const char *message)
{
    cr_request r;
    char err[512] = "";
    CHECK_MSG(cr_play_request_parse(json, strlen(json), &r, err, sizeof err) == -1, "accepted: %s",
              json);
    CHECK_STR(err, message);
    CHECK(r.n_prompts == 0 && r.client_context == NULL);
}

/* The playPrompt body: the calling API's example, up to 16 prompts, and what is refused. */
static void test_play_prompt(void)
{
    const char *example =
        "{\"clientContext\": \"d45324c1-fcb5-430a-902c-f20af696537c\", \"prompts\": "
        "[{\"@odata.type\": \"#microsoft.graph.mediaPrompt\", \"mediaInfo\": {\"@odata.type\": "
        "\"#microsoft.graph.mediaInfo\", \"uri\": \"https://cdn.contoso.com/beep.wav\", "
        "\"resourceId\": \"1D6DE2D4-CD51-4309-8DAA-70768651088E\"}}]}";
    cr_request r;
    char err[512] = "";
    CHECK(cr_play_request_parse(example, strlen(example), &r, err, sizeof err) == 0);
    CHECK(r.kind == CR_REQUEST_PLAY_PROMPT && r.n_prompts == 1);
    CHECK_STR(r.prompts[0].uri, "https://cdn.contoso.com/beep.wav");
    CHECK_STR(r.prompts[0].resource_id, "1D6DE2D4-CD51-4309-8DAA-70768651088E");
    CHECK_STR(r.client_context, "d45324c1-fcb5-430a-902c-f20af696537c");
    cr_request_free(&r);

    char body[4096];
    for (int n = 17; n >= 16; n--) {
        snprintf(body, sizeof body, "{\"prompts\": [");
        for (int i = 0; i < n; i++)
            snprintf(body + strlen(body), sizeof body - strlen(body),
                     "%s{\"mediaInfo\": {\"uri\": \"p%d.wav\"}}", i ? ", " : "", i);
        strcat(body, "]}");
        if (n == 17)
            expect_play_error(body, "prompts: at most 16 prompts are accepted, got 17");
    }
    CHECK(cr_play_request_parse(body, strlen(body), &r, err, sizeof err) == 0);
    CHECK(r.n_prompts == 16);
    CHECK_STR(r.prompts[15].uri, "p15.wav");
    cr_request_free(&r);

    expect_play_error("{}", "prompts: is required (an array of 1 to 16 mediaPrompt)");
    expect_play_error("{\"prompts\": []}", "prompts: must hold at least 1 mediaPrompt, got none");
    expect_play_error("{\"prompts\": [{\"mediaInfo\": {\"uri\": \"a.wav\"}}, {\"mediaInfo\": {}}]}",
                      "prompts[1].mediaInfo.uri: is required");
    expect_play_error("{\"prompts\": [{\"mediaInfo\": {\"uri\": \"a.wav\"}}], \"stopTones\": []}",
                      "stopTones: not a field of the playPrompt request; accepted: prompts, "
                      "clientContext");
    expect_play_error("{\"prompts\": [{\"mediaInfo\": {\"uri\": \"a.wav\"}}], \"clientContext\": 5}",
                      "clientContext: must be a string, got 5");
}

int main(void)
{
    test_accepts();
    test_refuses();
    test_play_prompt();
    test_strict_json();
    test_nested_fields();
    test_many_fields();
    return harness_finish("test_request");
}
