/* The recording: a 16 kHz mono 16-bit WAV written while it is made. Its header states exactly
   the bytes the file holds after every batch, a cut and a failed or short write; a kill that
   lands while a batch is being written can leave that batch beyond the header's length (see
   flush() in recorder.c). */
#ifndef CR_RECORDER_H
#define CR_RECORDER_H

#include <stddef.h>
#include <stdint.h>

/* Audio is written in 100 ms batches, each followed by its header: a crash loses at most that
   much of what reached the recorder (the batch being gathered, or the one being written: the
   recorder writes on the caller's thread, so never both). Two system calls per batch: 20 a
   second per call, half of what 50 ms batches cost (bench_scale, docs/benchmarks.md). */
#define CR_RECORDER_BATCH 1600

typedef struct cr_recorder {
    int fd;                            /* -1: closed, or never opened */
    int failed;                        /* a write failed: the file ends at `written` */
    int64_t written;                   /* frames in the file, and in its header */
    int64_t keep;                      /* frames to keep at close; -1: all */
    int16_t batch[CR_RECORDER_BATCH];
    size_t batched;
} cr_recorder;

/* Creates `path` exclusively (mode 0600, no link followed) and writes the header of an empty
   WAV, so the file is valid from its first moment. Returns 0; -1 (it exists) or -2 (any other
   error: nothing is left behind) with a message naming the file. */
int cr_recorder_create(cr_recorder *r, const char *path, char *err, size_t err_len);

/* Appends n samples. Returns 0, or -1 with a message if the file could not be written: it
   then holds the whole frames that were written, with a header that says so, and later
   writes are dropped. */
int cr_recorder_write(cr_recorder *r, const int16_t *x, size_t n, char *err, size_t err_len);

/* Frames recorded so far (written or batched, up to a truncation). */
int64_t cr_recorder_frames(const cr_recorder *r);

/* Keeps only the first `frames` frames: the recording ends here (later writes are dropped)
   and the file is cut to that length when it is closed. */
void cr_recorder_truncate(cr_recorder *r, int64_t frames);

/* Flushes, cuts and closes. Returns 0, or -1 with a message if a write failed (the file is
   still a valid WAV of what reached it). Closing a closed recorder does nothing. */
int cr_recorder_close(cr_recorder *r, char *err, size_t err_len);

#endif
