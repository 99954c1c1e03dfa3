/* Rate-conversion filters shared by every session converting between the same two rates: a
   filter is designed at the first session's creation and freed with the last one, so a
   thousand 44.1 kHz calls read one table (one copy in the cache, not a thousand). */
#ifndef CR_FILTERS_H
#define CR_FILTERS_H

#include "../dsp/resample.h"

/* The filter for in_rate -> out_rate, designed on first use. NULL when out of memory. */
const cr_rs_filter *cr_filter_acquire(int in_rate, int out_rate);

/* Gives back a filter from cr_filter_acquire (NULL is ignored). Never allocates. */
void cr_filter_release(const cr_rs_filter *f);

#endif
