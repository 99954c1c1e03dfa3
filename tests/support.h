/* Small helpers shared by the tests and the benchmarks. */
#ifndef CR_SUPPORT_H
#define CR_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

double support_now_s(void);                       /* monotonic clock, seconds */
long support_rss_kib(void);                       /* resident memory of this process */
int support_open_fds(void);                       /* open file descriptors of this process */
void support_empty_folder(const char *folder);    /* deletes the folder's files */
/* A new, empty folder /tmp/callrec-NAME-XXXXXX, its path in dir (cap bytes): 0, or -1 with the
   reason on stderr. */
int support_scratch_dir(char *dir, size_t cap, const char *name);
/* Deletes a folder and all it holds: 0, or -1 with a message on stderr. */
int support_remove_dir(const char *dir);
/* The p-th percentile (0..100) of v[0..n); sorts v. NAN when n is 0. */
double support_percentile(double *v, int n, double p);
void support_slurp(const char *path, char *buf, size_t cap); /* whole file, NUL-terminated */
void support_write_file(const char *path, const char *text);
/* Exits with status 1, naming the path and why, unless `path` (the results' JSON; NULL: none)
   can be written: checked before a long run rather than after it. Leaves no file behind. */
void support_check_output(const char *prog, const char *path);
/* A command-line number: `text`, the value of option `flag`, read into *out if it is a number
   from lo to hi (and whole, if `whole`). Otherwise prints "prog: flag takes a number from lo to
   hi, not 'text'" to stderr and returns -1. */
int support_number_arg(const char *prog, const char *flag, const char *text, double lo, double hi,
                       int whole, double *out);

/* Checks a WAV as readers that do not forgive would: a walk of its RIFF chunks (RIFF size =
   file size - 8, each chunk within the file, the data chunk's size = the bytes present, PCM),
   then Python's wave module and libsndfile, which must all find the same frame count. Returns
   0 and *frames (may be NULL), or -1 with the first disagreement in why. */
int support_wav_strict(const char *path, int64_t *frames, char *why, size_t why_len);
/* The same without Python (RIFF walk and libsndfile): for many files, with a folder check. */
int support_wav_walk(const char *path, int64_t *frames, char *why, size_t why_len);
/* A recording after a kill -9: either strict-valid (support_wav_strict), or its header states
   all the bytes present but the last batch of at most batch_bytes (the kill landed while that
   batch was written), and Python's wave reads exactly the frames the header states. *frames:
   the frames the header states; *beyond: the bytes present beyond them. 0, or -1 with why. */
int support_wav_after_kill(const char *path, size_t batch_bytes, int64_t *frames,
                           int64_t *beyond, char *why, size_t why_len);
/* support_wav_strict() over every *.wav of a folder, Python's wave run once; *files counts them. */
int support_wav_strict_folder(const char *folder, int *files, char *why, size_t why_len);

#endif
