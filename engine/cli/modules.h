/* The program's heavy commands live in modules it opens when they are used: `serve` (and
   --recording-url) in callrec-serve.so (libmicrohttpd, libcurl, GnuTLS), the timelines in
   callrec-timeline.so (cairo). `callrec record` then starts without loading the ~50 libraries
   those bring, a third of the time it took to record a 5-minute file (bench_cli). */
#ifndef CR_MODULES_H
#define CR_MODULES_H

#include <stddef.h>

/* The function `symbol` of module `name` ("callrec-serve"), looked for beside the program
   (a build tree) and then in the installed module folder relative to it. NULL with a message
   naming what is missing. */
void *cr_module_symbol(const char *name, const char *symbol, char *err, size_t err_len);

#endif
