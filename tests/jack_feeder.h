/* Test and benchmark support for the live path: a JACK server on the dummy driver, and a JACK
   client that plays a signal into callrec's PortAudio input port. */
#ifndef CR_JACK_FEEDER_H
#define CR_JACK_FEEDER_H

#include <jack/jack.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "signals.h"

/* Starts `jackd -n name -d dummy -r rate -p period` and waits until a client can connect.
   Returns its pid, or -1. */
pid_t jf_start_server(const char *name, int rate, int period);

typedef struct jf_feeder {
    jack_client_t *client;
    jack_port_t *port;
    const sig_buf *signal;
    _Atomic size_t pos;      /* next sample of `signal` to play */
    _Atomic int playing;
    _Atomic int loop;        /* start again at the end */
    _Atomic uint64_t frames; /* frames played (while `playing`) */
} jf_feeder;

/* Opens the client, waits for a PortAudio input port and connects to it (and disconnects the
   dummy capture from it). Returns 0 or -1. */
int jf_connect(jf_feeder *f, const char *server, const sig_buf *signal);
void jf_close(jf_feeder *f);

#endif
