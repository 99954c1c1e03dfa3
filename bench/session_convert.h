/* The benchmarks' way to feed a detector what a session at another device rate feeds it:
   the signal converted with the session's own converter (engine/filters.c, dsp/resample.c),
   its lookahead flushed so the length is exact. */
#ifndef CR_BENCH_SESSION_CONVERT_H
#define CR_BENCH_SESSION_CONVERT_H

#include <stdlib.h>

#include "filters.h"
#include "signals.h"

/* Replaces b's samples by their conversion to `rate`. Returns 0, or -1 out of memory. */
static inline int bench_session_convert(sig_buf *b, int rate)
{
    if (b->rate == rate)
        return 0;
    const cr_rs_filter *f = cr_filter_acquire(b->rate, rate);
    size_t want = (size_t)(((int64_t)b->n * rate + b->rate / 2) / b->rate);
    int16_t *y = malloc(sizeof *y * (want + 1));
    cr_rs *r = malloc(sizeof *r);
    if (!f || !y || !r) {
        cr_filter_release(f);
        free(y);
        free(r);
        return -1;
    }
    cr_rs_init(r, f);
    size_t in_len = b->n, got = want;
    cr_rs_process(r, b->x, &in_len, y, &got);
    static const int16_t zeros[256];
    while (got < want) {
        size_t zl = 256, ol = want - got;
        cr_rs_process(r, zeros, &zl, y + got, &ol);
        got += ol;
    }
    free(r);
    cr_filter_release(f);
    free(b->x);
    b->x = y;
    b->n = b->cap = want;
    b->rate = rate;
    return 0;
}

#endif
