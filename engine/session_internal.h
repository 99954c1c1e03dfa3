/* What the library's own drivers tell a session beyond the public API. */
#ifndef CR_SESSION_INTERNAL_H
#define CR_SESSION_INTERNAL_H

#include <stdint.h>

#include "callrec.h"

/* Totals of samples lost by a live driver; reported in notifications as @callrec.overruns
   and @callrec.underruns, and as an XRUN event whenever they change. */
void cr_session_set_xruns(callrec_session *s, uint64_t overruns, uint64_t underruns);

#endif
