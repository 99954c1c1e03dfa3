/* callrec serve: the calling API's HTTP exchange around the library's sessions. */
#ifndef CR_SERVE_H
#define CR_SERVE_H

/* Runs the server until SIGINT or SIGTERM; argv[0] is "serve". Returns the exit status. */
int callrec_serve_main(int argc, char **argv);

#endif
