/* One mutex guards a list of reference-counted filters; sessions take it only at creation and
   destruction, never while converting. */
#include "filters.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct shared_filter {
    cr_rs_filter filter; /* first, so a filter's address is its entry's */
    int refs;
    struct shared_filter *next;
} shared_filter;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static shared_filter *filters;

const cr_rs_filter *cr_filter_acquire(int in_rate, int out_rate)
{
    pthread_mutex_lock(&lock);
    shared_filter *e = filters;
    while (e && (e->filter.in_rate != in_rate || e->filter.out_rate != out_rate))
        e = e->next;
    if (!e) {
        size_t bytes = cr_rs_filter_bytes(in_rate, out_rate);
        e = malloc(sizeof *e);
        int16_t *coef = aligned_alloc(64, (bytes + 63) / 64 * 64);
        if (!e || !coef) {
            free(e);
            free(coef);
            pthread_mutex_unlock(&lock);
            return NULL;
        }
        cr_rs_filter_design(&e->filter, in_rate, out_rate, coef);
        e->refs = 0;
        e->next = filters;
        filters = e;
    }
    e->refs++;
    pthread_mutex_unlock(&lock);
    return &e->filter;
}

void cr_filter_release(const cr_rs_filter *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&lock);
    for (shared_filter **p = &filters; *p; p = &(*p)->next) {
        if (&(*p)->filter == f) {
            shared_filter *e = *p;
            if (--e->refs == 0) {
                *p = e->next;
                free(e->filter.coef);
                free(e);
            }
            break;
        }
    }
    pthread_mutex_unlock(&lock);
}
