/* Single-producer / single-consumer ring of 16-bit samples: wait-free on both sides, for the
   path from an audio callback to a worker thread and back. Capacity is a power of two,
   allocated once. */
#ifndef CR_RING_H
#define CR_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cr_ring {
    int16_t *data;
    size_t mask;                  /* capacity - 1 */
    _Atomic size_t write_pos;     /* written only by the producer */
    _Atomic size_t read_pos;      /* written only by the consumer */
} cr_ring;

/* capacity: a power of two >= 2. Returns 0, or -1 (bad capacity or out of memory). */
int cr_ring_init(cr_ring *r, size_t capacity);
void cr_ring_free(cr_ring *r);

/* Producer side: copies up to n samples in, returns how many fit. Never blocks. */
size_t cr_ring_write(cr_ring *r, const int16_t *x, size_t n);
/* Consumer side: copies up to n samples out, returns how many there were. Never blocks. */
size_t cr_ring_read(cr_ring *r, int16_t *x, size_t n);
/* Samples waiting (consumer's view) and free space (producer's view). */
size_t cr_ring_available(cr_ring *r);
size_t cr_ring_space(cr_ring *r);

#endif
