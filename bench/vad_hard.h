/* bench_vad --hard (vad_hard.c). */
#ifndef CR_VAD_HARD_H
#define CR_VAD_HARD_H

#include <stdint.h>
#include <stdio.h>

#include "vad_corpus.h"

/* Runs the hard answers of corpus c (bench_set, drawn with `seed`) through callrec, WebRTC's VAD
   and, when silero_dir holds bench/silero with its packages, Silero VAD; prints the tables and
   writes raw per-mix results to js (may be NULL). tmp: a scratch folder. Returns 0, or 1. */
int vad_hard(const corpus *c, uint64_t seed, const char *tmp, const char *silero_dir, FILE *js);

#endif
