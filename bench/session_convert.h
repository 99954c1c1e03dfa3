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
    size_t want = f ? cr_rs_length(f, b->n) : 0, taken;
    int16_t *y = malloc(sizeof *y * (want + 1));
    cr_rs *r = malloc(sizeof *r);
    if (!f || !y || !r) {
        cr_filter_release(f);
        free(y);
        free(r);
        return -1;
    }
    size_t got = cr_rs_convert_all(r, f, b->x, b->n, y, &taken);
    free(r);
    cr_filter_release(f);
    free(b->x);
    b->x = y;
    b->n = b->cap = got;
    b->rate = rate;
    return 0;
}

#endif
