#include "jack_feeder.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void quiet(const char *msg) { (void)msg; }

pid_t jf_start_server(const char *name, int rate, int period)
{
    /* Probing a server that is still starting makes libjack complain on stderr. */
    jack_set_error_function(quiet);
    jack_set_info_function(quiet);
    char r[16], p[16];
    snprintf(r, sizeof r, "%d", rate);
    snprintf(p, sizeof p, "%d", period);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        setenv("JACK_NO_AUDIO_RESERVATION", "1", 1);
        execlp("jackd", "jackd", "-n", name, "-d", "dummy", "-r", r, "-p", p, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        sleep_ms(50);
        jack_status_t st;
        jack_client_t *c = jack_client_open("probe", JackNoStartServer | JackServerName, &st, name);
        if (c) {
            jack_client_close(c);
            return pid;
        }
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static int process(jack_nframes_t frames, void *arg)
{
    jf_feeder *f = arg;
    float *out = jack_port_get_buffer(f->port, frames);
    size_t pos = atomic_load(&f->pos);
    int playing = atomic_load(&f->playing), loop = atomic_load(&f->loop);
    for (jack_nframes_t i = 0; i < frames; i++) {
        if (playing && pos >= f->signal->n && loop)
            pos = 0;
        int on = playing && pos < f->signal->n;
        out[i] = on ? f->signal->x[pos++] / 32768.0f : 0.0f;
    }
    atomic_store(&f->pos, pos);
    if (playing)
        atomic_fetch_add(&f->frames, frames);
    return 0;
}

int jf_connect(jf_feeder *f, const char *server, const sig_buf *signal)
{
    jack_status_t st;
    f->signal = signal;
    atomic_init(&f->pos, 0);
    atomic_init(&f->playing, 0);
    atomic_init(&f->loop, 0);
    atomic_init(&f->frames, 0);
    f->client = jack_client_open("feeder", JackNoStartServer | JackServerName, &st, server);
    if (!f->client)
        return -1;
    f->port = jack_port_register(f->client, "out", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
    jack_set_process_callback(f->client, process, f);
    jack_activate(f->client);
    for (int i = 0; i < 200; i++) {
        const char **ports = jack_get_ports(f->client, "PortAudio", NULL, JackPortIsInput);
        if (ports && ports[0]) {
            int rc = jack_connect(f->client, jack_port_name(f->port), ports[0]);
            jack_disconnect(f->client, "system:capture_1", ports[0]);
            jack_free(ports);
            return rc;
        }
        jack_free(ports);
        sleep_ms(25);
    }
    return -1;
}

void jf_close(jf_feeder *f)
{
    if (f->client)
        jack_client_close(f->client);
    f->client = NULL;
}
