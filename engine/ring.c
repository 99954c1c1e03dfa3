#include "ring.h"

#include <stdlib.h>
#include <string.h>

int cr_ring_init(cr_ring *r, size_t capacity)
{
    memset(r, 0, sizeof *r);
    if (capacity < 2 || (capacity & (capacity - 1)) || capacity > ((size_t)1 << 30))
        return -1;
    r->data = calloc(capacity, sizeof *r->data);
    if (!r->data)
        return -1;
    r->mask = capacity - 1;
    atomic_init(&r->write_pos, 0);
    atomic_init(&r->read_pos, 0);
    return 0;
}

void cr_ring_free(cr_ring *r)
{
    free(r->data);
    r->data = NULL;
}

/* Positions grow without bound (wrapping with size_t); index = pos & mask. */

size_t cr_ring_write(cr_ring *r, const int16_t *x, size_t n)
{
    /* Own index: relaxed (only this thread writes it). The reader's index: acquire, so the
       reader's copies out of the slots happen before we overwrite them. */
    size_t w = atomic_load_explicit(&r->write_pos, memory_order_relaxed);
    size_t rd = atomic_load_explicit(&r->read_pos, memory_order_acquire);
    size_t space = r->mask + 1 - (w - rd);
    if (n > space)
        n = space;
    if (n == 0)
        return 0; /* full, or nothing given: no copy (x may be NULL) */
    size_t at = w & r->mask, first = r->mask + 1 - at;
    if (first > n)
        first = n;
    memcpy(r->data + at, x, first * sizeof *x);
    memcpy(r->data, x + first, (n - first) * sizeof *x);
    /* Release: the samples are in place before the reader can see the new index. */
    atomic_store_explicit(&r->write_pos, w + n, memory_order_release);
    return n;
}

size_t cr_ring_read(cr_ring *r, int16_t *x, size_t n)
{
    size_t rd = atomic_load_explicit(&r->read_pos, memory_order_relaxed);
    /* Acquire pairs with the writer's release: the samples up to w are visible. */
    size_t w = atomic_load_explicit(&r->write_pos, memory_order_acquire);
    size_t avail = w - rd;
    if (n > avail)
        n = avail;
    if (n == 0)
        return 0; /* empty: no copy (a ring never initialised has no storage) */
    size_t at = rd & r->mask, first = r->mask + 1 - at;
    if (first > n)
        first = n;
    memcpy(x, r->data + at, first * sizeof *x);
    memcpy(x + first, r->data, (n - first) * sizeof *x);
    /* Release: our copies are done before the writer may reuse the slots. */
    atomic_store_explicit(&r->read_pos, rd + n, memory_order_release);
    return n;
}

size_t cr_ring_available(cr_ring *r)
{
    size_t rd = atomic_load_explicit(&r->read_pos, memory_order_relaxed);
    return atomic_load_explicit(&r->write_pos, memory_order_acquire) - rd;
}

size_t cr_ring_space(cr_ring *r)
{
    size_t w = atomic_load_explicit(&r->write_pos, memory_order_relaxed);
    return r->mask + 1 - (w - atomic_load_explicit(&r->read_pos, memory_order_acquire));
}
