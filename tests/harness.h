/* Minimal test harness: every CHECK counts; a test program fails if any check failed or if
   it checked nothing at all. */
#ifndef CR_HARNESS_H
#define CR_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int harness_checks, harness_failures;

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        harness_checks++;                                                                     \
        if (!(cond)) {                                                                        \
            harness_failures++;                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);          \
        }                                                                                     \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                  \
    do {                                                                                      \
        harness_checks++;                                                                     \
        if (!(cond)) {                                                                        \
            harness_failures++;                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);          \
            fprintf(stderr, __VA_ARGS__);                                                     \
            fputc('\n', stderr);                                                              \
        }                                                                                     \
    } while (0)

#define CHECK_STR(got, want)                                                                  \
    do {                                                                                      \
        const char *g_ = (got), *w_ = (want);                                                 \
        harness_checks++;                                                                     \
        if (!g_ || strcmp(g_, w_) != 0) {                                                     \
            harness_failures++;                                                               \
            fprintf(stderr, "%s:%d: got \"%s\"\n    want \"%s\"\n", __FILE__, __LINE__,       \
                    g_ ? g_ : "(null)", w_);                                                  \
        }                                                                                     \
    } while (0)

static inline int harness_finish(const char *name)
{
    if (harness_checks == 0) {
        fprintf(stderr, "%s: no checks ran\n", name);
        return 1;
    }
    printf("%s: %d checks, %d failed\n", name, harness_checks, harness_failures);
    return harness_failures ? 1 : 0;
}

#endif
