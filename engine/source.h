/* Audio sources (callrec_source_*, declared in callrec.h): libsndfile decoding, mixing to mono
   and one rate conversion, for the program, the live file pacer and the prompt loader. */
#ifndef CR_SOURCE_H
#define CR_SOURCE_H

#include <stddef.h>

#include "callrec.h"

/* callrec_source_open() on a descriptor the caller opened (a prompt is checked to be a
   regular file first); the source owns fd from here on, also on failure. */
callrec_status cr_source_open_fd(int fd, const char *name, int rate_hz, callrec_source **out,
                                 char *err, size_t err_len);

#endif
