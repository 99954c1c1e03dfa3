/* callrec serve: the calling API's HTTP exchange around the library's sessions. */
#ifndef CR_SERVE_H
#define CR_SERVE_H

#include <cjson/cJSON.h>

/* Runs the server until SIGINT or SIGTERM; argv[0] is "serve". Returns the exit status. */
int callrec_serve_main(int argc, char **argv);

/* The library's notification as the server hands it out: recordingLocation becomes
   <base_url>/recordings/<op_id>, and the SHA-256 of the recording's token is kept in
   <recording_dir>/<op_id>.token (mode 0600), which is what lets a server on that folder serve
   it. lastActionDateTime is added. *resource_out (may be NULL) receives a copy of resourceData.
   Returns the document (malloc'd), or NULL. */
char *callrec_serve_notification(const char *json, const char *recording_dir,
                                 const char *base_url, const char *op_id, cJSON **resource_out);

#endif
