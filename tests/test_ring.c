/* The SPSC ring: argument checks, wrap-around, and a two-thread stress test with random chunk
   sizes in which every sample must arrive once and in order (run under ThreadSanitizer by the
   test script). */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#include "harness.h"
#include "ring.h"
#include "signals.h"

#define TOTAL 4000000u

static cr_ring ring;
static int order_errors;

static void *producer(void *arg)
{
    (void)arg;
    sig_rng r;
    sig_seed(&r, 1);
    int16_t buf[700];
    uint32_t next = 0;
    while (next < TOTAL) {
        size_t n = 1 + (size_t)(sig_uniform(&r) * 700);
        if (n > TOTAL - next)
            n = TOTAL - next;
        for (size_t i = 0; i < n; i++)
            buf[i] = (int16_t)(next + i);
        size_t done = 0;
        while (done < n) {
            size_t w = cr_ring_write(&ring, buf + done, n - done);
            done += w;
            if (!w)
                sched_yield();
        }
        next += (uint32_t)n;
    }
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    sig_rng r;
    sig_seed(&r, 2);
    int16_t buf[900];
    uint32_t next = 0;
    while (next < TOTAL) {
        size_t n = 1 + (size_t)(sig_uniform(&r) * 900);
        size_t got = cr_ring_read(&ring, buf, n);
        if (!got)
            sched_yield();
        for (size_t i = 0; i < got; i++, next++)
            if (buf[i] != (int16_t)next)
                order_errors++;
    }
    return NULL;
}

int main(void)
{
    cr_ring r;
    CHECK(cr_ring_init(&r, 0) == -1);
    CHECK(cr_ring_init(&r, 3) == -1);
    CHECK(cr_ring_init(&r, 1000) == -1);
    CHECK(cr_ring_init(&r, 8) == 0);
    int16_t in[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, out[10] = {0};
    CHECK(cr_ring_write(&r, in, 10) == 8); /* full at 8: the rest is refused, not blocked on */
    CHECK(cr_ring_space(&r) == 0 && cr_ring_available(&r) == 8);
    CHECK(cr_ring_read(&r, out, 5) == 5 && out[0] == 1 && out[4] == 5);
    CHECK(cr_ring_write(&r, in, 5) == 5); /* wraps */
    CHECK(cr_ring_read(&r, out, 10) == 8);
    CHECK(out[0] == 6 && out[2] == 8 && out[3] == 1 && out[7] == 5);
    CHECK(cr_ring_read(&r, out, 10) == 0);
    cr_ring_free(&r);

    CHECK(cr_ring_init(&ring, 1024) == 0);
    pthread_t p, c;
    pthread_create(&p, NULL, producer, NULL);
    pthread_create(&c, NULL, consumer, NULL);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    CHECK_MSG(order_errors == 0, "%d samples out of order or lost", order_errors);
    CHECK(cr_ring_available(&ring) == 0);
    cr_ring_free(&ring);
    return harness_finish("test_ring");
}
