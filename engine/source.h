/* Audio input from a file, a FIFO or stdin, decoded by libsndfile. */
#ifndef CR_SOURCE_H
#define CR_SOURCE_H

#include <sndfile.h>
#include <stddef.h>

typedef struct cr_source {
    SNDFILE *sf;
    int fd;        /* the opened file, or -1 (stdin is not ours to close) */
    int relay_fd;  /* read end of the relay pipe, or -1 */
} cr_source;

/* Opens `path` ("-": stdin) for decoding; *info receives its format. A source that cannot seek
   (a pipe, a FIFO) is looked at first: MPEG audio is refused there, because libsndfile's MPEG
   decoder reads past its buffer when it cannot seek; anything else goes on to libsndfile
   through a relay pipe, its first bytes included. Files are opened through a descriptor, so a
   path of any length the system accepts can be read (sf_open() takes at most 1024 bytes).
   Returns 0, or -1 with a message naming the input. */
int cr_source_open(cr_source *src, const char *path, SF_INFO *info, char *err, size_t err_len);

/* Closes what cr_source_open() opened. A relay blocked on a stalled source is left to end with
   it (or with the process); it owns nothing the caller frees. */
void cr_source_close(cr_source *src);

#endif
