/* The recording: a 16 kHz mono 16-bit WAV written while it is made, its header kept valid
   so that a crash leaves a playable file up to the last write. */
#ifndef CR_RECORDER_H
#define CR_RECORDER_H

#include <stddef.h>
#include <stdint.h>

/* Audio is written in 50 ms batches: a crash loses at most that much. */
#define CR_RECORDER_BATCH 800

typedef struct cr_recorder {
    void *sf;                          /* SNDFILE, writing through the callbacks in recorder.c */
    int fd;
    int64_t pos, len;                  /* libsndfile's view of the file: seeking costs nothing */
    int io_errno;                      /* the last failed write's errno */
    int64_t written;                   /* frames in the file */
    int64_t keep;                      /* frames to keep at close; -1: all */
    int16_t batch[CR_RECORDER_BATCH];
    size_t batched;
} cr_recorder;

/* Creates `path` exclusively, mode 0600. Returns 0; -1 (EEXIST: exists) or -2 (other error)
   with a message naming the file. The recorder must not move in memory until closed. */
int cr_recorder_create(cr_recorder *r, const char *path, char *err, size_t err_len);

/* Appends n samples. Returns 0, or -1 with a message if the file could not be written (what
   was written before stays a valid WAV). */
int cr_recorder_write(cr_recorder *r, const int16_t *x, size_t n, char *err, size_t err_len);

/* Frames recorded so far (written or batched, up to a truncation). */
int64_t cr_recorder_frames(const cr_recorder *r);

/* Keeps only the first `frames` frames: the recording ends here (later writes are dropped)
   and the file is cut to that length when it is closed. */
void cr_recorder_truncate(cr_recorder *r, int64_t frames);

/* Flushes, cuts and closes. Returns 0, or -1 with a message if a write failed. */
int cr_recorder_close(cr_recorder *r, char *err, size_t err_len);

#endif
