/* The live path against real audio servers: the `callrec` program records from a JACK server
   running the dummy driver (fed by a JACK client of this test), loses that server mid-call,
   reads an ALSA device backed by alsa-lib's file plugin, and paces a file at real time. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <jack/jack.h>
#include <math.h>
#include <signal.h>
#include <sndfile.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "jack_feeder.h"
#include "signals.h"
#include "support.h"

#ifndef CALLREC_BIN
#error "CALLREC_BIN must name the callrec program"
#endif

static char dir[256];

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Starts `callrec record` with the given extra arguments and environment; stdout and stderr
   go to files in the test folder. */
static pid_t start_callrec(const char *const *args, const char *env_name, const char *env_value)
{
    pid_t pid = fork();
    if (pid == 0) {
        char out[300], err[300];
        snprintf(out, sizeof out, "%s/stdout.txt", dir);
        snprintf(err, sizeof err, "%s/stderr.txt", dir);
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(o, 1);
        dup2(e, 2);
        if (env_name)
            setenv(env_name, env_value, 1);
        const char *argv[32] = {CALLREC_BIN, "record"};
        int k = 2;
        for (int i = 0; args[i] && k < 31; i++)
            argv[k++] = args[i];
        argv[k] = NULL;
        execv(CALLREC_BIN, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

typedef struct outcome {
    int status;
    cJSON *doc, *data;
    char err[4096];
} outcome;

static void finish(pid_t pid, outcome *o, int timeout_s)
{
    memset(o, 0, sizeof *o);
    int st = 0;
    double until = support_now_s() + timeout_s;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (support_now_s() > until) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            fprintf(stderr, "callrec did not finish in %d s\n", timeout_s);
            break;
        }
        sleep_ms(20);
    }
    o->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    static char out[65536];
    char path[300];
    snprintf(path, sizeof path, "%s/stdout.txt", dir);
    support_slurp(path, out, sizeof out);
    snprintf(path, sizeof path, "%s/stderr.txt", dir);
    support_slurp(path, o->err, sizeof o->err);
    o->doc = cJSON_Parse(out);
    cJSON *v = cJSON_GetObjectItem(o->doc, "value");
    o->data = cJSON_GetObjectItem(cJSON_GetArrayItem(v, 0), "resourceData");
}

static const char *field(const outcome *o, const char *name)
{
    const cJSON *f = cJSON_GetObjectItem(o->data, name);
    return cJSON_IsString(f) ? f->valuestring : "(none)";
}

static double number(const outcome *o, const char *name)
{
    const cJSON *f = cJSON_GetObjectItem(o->data, name);
    return cJSON_IsNumber(f) ? f->valuedouble : -1;
}

static int64_t wav_read(const char *path, sig_buf *b)
{
    /* Every recording a test reads is first read by readers that do not forgive. */
    char why[512];
    CHECK_MSG(support_wav_strict(path, NULL, why, sizeof why) == 0, "%s", why);
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf)
        return -1;
    if (b) {
        sig_init(b, info.samplerate);
        sig_silence(b, (double)info.frames / info.samplerate);
        sf_read_short(sf, b->x, info.frames);
    }
    sf_close(sf);
    return info.frames;
}

/* Best normalised correlation of `what` found anywhere in `in` (the recording may start a
   little before or after the injected audio). */
static double find(const sig_buf *in, const int16_t *what, size_t n, size_t *at)
{
    double best = 0;
    for (size_t lag = 0; lag + n <= in->n; lag++) {
        double c = sig_correlation(in->x + lag, what, n);
        if (c > best) {
            best = c;
            *at = lag;
        }
    }
    return best;
}

/* The caller used by the live tests: speech, a pause, '#', silence (16 kHz). */
static void caller(sig_buf *b, size_t *speech_at, size_t *speech_len)
{
    sig_rng r;
    sig_seed(&r, 8);
    sig_init(b, 16000);
    sig_silence(b, 0.3);
    *speech_at = b->n;
    sig_append_speech(b, "auth-thankyou", -6.0);
    *speech_len = b->n - *speech_at;
    sig_silence(b, 0.7);
    sig_dtmf(b, &r, '#', -10, 0.1);
    sig_silence(b, 1.0);
}

/* ---- JACK --------------------------------------------------------------------------- */

static void test_jack(void)
{
    char server[64], req[300], wav[300];
    snprintf(server, sizeof server, "callrec-test-%d", (int)getpid());
    pid_t jackd = jf_start_server(server, 16000, 160);
    CHECK_MSG(jackd > 0, "jackd (dummy driver) did not start");
    if (jackd <= 0)
        return;

    sig_buf sig;
    size_t speech_at, speech_len;
    caller(&sig, &speech_at, &speech_len);
    snprintf(req, sizeof req, "%s/jack.json", dir);
    support_write_file(req, "{\"stopTones\": [\"#\"], \"playBeep\": false, \"maxRecordDurationInSeconds\": 20}");
    snprintf(wav, sizeof wav, "%s/jack.wav", dir);
    pid_t cr = start_callrec((const char *[]){"--request", req, "--device", "system", "--output",
                                              wav, NULL},
                             "JACK_DEFAULT_SERVER", server);
    jf_feeder f;
    CHECK_MSG(jf_connect(&f, server, &sig) == 0, "could not connect to callrec's input port");
    atomic_store(&f.playing, 1);
    outcome o;
    finish(cr, &o, 20);
    CHECK_MSG(o.status == 0, "exit %d: %s", o.status, o.err);
    CHECK_STR(field(&o, "completionReason"), "stopToneDetected");
    CHECK(number(&o, "@callrec.overruns") == 0);
    sig_buf rec;
    CHECK(wav_read(wav, &rec) > 0);
    size_t at = 0;
    double c = rec.n > speech_len ? find(&rec, sig.x + speech_at, speech_len, &at) : 0;
    CHECK_MSG(c > 0.99, "the recording holds the injected speech: correlation %.4f", c);
    printf("jack: stopToneDetected, speech correlation %.4f, overruns %.0f, underruns %.0f\n", c,
           number(&o, "@callrec.overruns"), number(&o, "@callrec.underruns"));
    cJSON_Delete(o.doc);
    sig_free(&rec);
    jf_close(&f);

    /* Echo: callrec's own output is wired back into its input (speaker and microphone in one
       room), with a prompt that ends in a '#'. Without a guard the echoed '#' is heard (which
       proves the echo path); with the default guard it is not, and with no one on the line the
       operation ends with initialSilenceTimeout. */
    char prompt[400], echo_req[700], echo_events[400];
    snprintf(prompt, sizeof prompt, "%s/echo-prompt.wav", dir);
    sig_buf pr;
    sig_rng er;
    sig_seed(&er, 4);
    sig_init(&pr, 16000);
    sig_silence(&pr, 1.5); /* time to wire the loopback */
    sig_append_speech(&pr, "vm-goodbye", -6.0);
    sig_dtmf(&pr, &er, '#', -10, 0.1);
    sig_write_wav(&pr, prompt);
    sig_free(&pr);
    snprintf(echo_req, sizeof echo_req,
             "{\"prompts\": [{\"mediaInfo\": {\"uri\": \"%s\"}}], \"stopTones\": [\"#\"], "
             "\"playBeep\": true, \"initialSilenceTimeoutInSeconds\": 1}", prompt);
    support_write_file(req, echo_req);
    for (int guarded = 0; guarded < 2; guarded++) {
        snprintf(wav, sizeof wav, "%s/echo-%d.wav", dir, guarded);
        snprintf(echo_events, sizeof echo_events, "%s/echo-%d.jsonl", dir, guarded);
        cr = start_callrec((const char *[]){"--request", req, "--device", "system", "--output", wav,
                                            "--events", echo_events, "--playout-guard-ms",
                                            guarded ? "300" : "0", NULL},
                           "JACK_DEFAULT_SERVER", server);
        jack_status_t jst;
        jack_client_t *wire =
            jack_client_open("wire", JackNoStartServer | JackServerName, &jst, server);
        int wired = -1;
        for (int i = 0; wire && i < 200 && wired != 0; i++) {
            wired = jack_connect(wire, "PortAudio:out_0", "PortAudio:in_0");
            if (wired)
                sleep_ms(5);
        }
        CHECK_MSG(wired == 0, "could not wire callrec's output to its input");
        finish(cr, &o, 20);
        if (wire)
            jack_client_close(wire);
        static char ev[16384];
        support_slurp(echo_events, ev, sizeof ev);
        int heard = strstr(ev, "\"toneDetected\"") != NULL;
        if (guarded) {
            CHECK_MSG(!heard, "the echo of the prompt's '#' was taken for a key press");
            CHECK(strstr(ev, "\"speechStarted\"") == NULL);
            CHECK_STR(field(&o, "completionReason"), "initialSilenceTimeout");
        } else {
            CHECK_MSG(heard, "without a guard the echoed '#' should be heard: is the loopback wired?");
        }
        printf("echo loopback, guard %s: the prompt's '#' %s; %s\n", guarded ? "300 ms" : "off",
               heard ? "heard" : "not heard", field(&o, "completionReason"));
        cJSON_Delete(o.doc);
    }

    /* kill -9 while recording from the device: the WAV is valid and holds the audio up to
       within 100 ms of the kill (the feeder counts what it has played). */
    snprintf(wav, sizeof wav, "%s/jack-kill9.wav", dir);
    support_write_file(req, "{\"playBeep\": false, \"maxRecordDurationInSeconds\": 60, "
                    "\"initialSilenceTimeoutInSeconds\": 60}");
    cr = start_callrec((const char *[]){"--request", req, "--device", "system", "--output", wav, NULL},
                       "JACK_DEFAULT_SERVER", server);
    jf_feeder k;
    CHECK(jf_connect(&k, server, &sig) == 0);
    atomic_store(&k.loop, 1);
    atomic_store(&k.playing, 1);
    sleep_ms(1500);
    size_t played = atomic_load(&k.frames);
    kill(cr, SIGKILL);
    finish(cr, &o, 10);
    jf_close(&k);
    int64_t kept9 = 0, beyond9 = 0;
    char why9[512];
    CHECK_MSG(support_wav_after_kill(wav, 3200, &kept9, &beyond9, why9, sizeof why9) == 0, "%s",
              why9);
    /* At most one 100 ms batch lost, plus the two 10 ms periods between the feeder's count
       and callrec's capture callback. */
    CHECK_MSG(kept9 > 0 && (double)kept9 >= (double)played - 1600 - 2 * 160,
              "kill -9: %lld samples kept of %zu played", (long long)kept9, played);
    printf("jack, kill -9: valid WAV with %.3f s; the feeder had played %.3f s\n", kept9 / 16000.0,
           played / 16000.0);
    cJSON_Delete(o.doc);

    /* callrec serve with a call on the device: create it, post record, play speech and '#'
       into it, receive the notification at a callback, download the recording with its token.
       A second call on the same device is refused while the first holds it. */
    {
        char sdir[400], cmd[3000], out[8192], url[400] = "", tok[200] = "", loc[400] = "";
        snprintf(sdir, sizeof sdir, "%s/serve", dir);
        mkdir(sdir, 0700);
        snprintf(cmd, sizeof cmd, "mkdir -p '%s/recs' '%s/media' && echo dev-token > '%s/tokens' && "
                 "cat > '%s/cb.py' <<'EOF'\n"
                 "import http.server, sys\n"
                 "class H(http.server.BaseHTTPRequestHandler):\n"
                 "    def do_POST(self):\n"
                 "        b = self.rfile.read(int(self.headers['Content-Length']))\n"
                 "        open(sys.argv[1], 'ab').write(b + b'\\n')\n"
                 "        self.send_response(202); self.end_headers()\n"
                 "    def log_message(self, *a): pass\n"
                 "s = http.server.HTTPServer(('127.0.0.1', 0), H)\n"
                 "print(s.server_port, flush=True)\n"
                 "s.serve_forever()\n"
                 "EOF",
                 sdir, sdir, sdir, sdir);
        CHECK(system(cmd) == 0);
        pid_t cb = fork();
        if (cb == 0) {
            char notes[500], port[500];
            snprintf(notes, sizeof notes, "%s/notes.jsonl", sdir);
            snprintf(port, sizeof port, "%s/cb.port", sdir);
            int fd = open(port, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            dup2(fd, 1);
            snprintf(cmd, sizeof cmd, "%s/cb.py", sdir);
            execlp("python3", "python3", cmd, notes, (char *)NULL);
            _exit(127);
        }
        pid_t sv = fork();
        if (sv == 0) {
            char so[500], t[500], r[500], m[500];
            snprintf(so, sizeof so, "%s/serve.out", sdir);
            snprintf(t, sizeof t, "%s/tokens", sdir);
            snprintf(r, sizeof r, "%s/recs", sdir);
            snprintf(m, sizeof m, "%s/media", sdir);
            int fd = open(so, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            dup2(fd, 1);
            setenv("JACK_DEFAULT_SERVER", server, 1);
            execl(CALLREC_BIN, CALLREC_BIN, "serve", "--listen", "127.0.0.1:0", "--api-token-file",
                  t, "--recording-dir", r, "--media-dir", m, (char *)NULL);
            _exit(127);
        }
        char base[200] = "", port[32] = "", path[600];
        for (int i = 0; i < 200 && (!base[0] || !port[0]); i++) {
            sleep_ms(25);
            snprintf(path, sizeof path, "%s/serve.out", sdir);
            support_slurp(path, out, sizeof out);
            cJSON *l = cJSON_Parse(out);
            if (cJSON_GetStringValue(cJSON_GetObjectItem(l, "listening")))
                snprintf(base, sizeof base, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(l, "listening")));
            cJSON_Delete(l);
            snprintf(path, sizeof path, "%s/cb.port", sdir);
            support_slurp(path, port, sizeof port);
            port[strcspn(port, "\n")] = '\0';
        }
        CHECK_MSG(base[0] && port[0], "serve or its callback did not start");
        const char *call_body = "{\"callbackUri\": \"http://127.0.0.1:%s/cb\", "
                                "\"@callrec.media\": {\"device\": \"system\"}}";
        char body[300];
        snprintf(body, sizeof body, call_body, port);
        snprintf(cmd, sizeof cmd, "curl -s -X POST -H 'Authorization: Bearer dev-token' -d '%s' "
                 "%s/communications/calls", body, base);
        FILE *p = popen(cmd, "r");
        size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
        out[n] = '\0';
        if (p)
            pclose(p);
        cJSON *call = cJSON_Parse(out);
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(call, "id"));
        CHECK_MSG(id != NULL, "no call: %s", out);
        snprintf(cmd, sizeof cmd, "curl -s -o /dev/null -w '%%{http_code}' -X POST -H "
                 "'Authorization: Bearer dev-token' -d '%s' %s/communications/calls", body, base);
        p = popen(cmd, "r");
        n = p ? fread(out, 1, sizeof out - 1, p) : 0;
        out[n] = '\0';
        if (p)
            pclose(p);
        CHECK_MSG(strcmp(out, "409") == 0, "a second call on the held device: %s", out);
        if (id)
            snprintf(url, sizeof url, "%s/communications/calls/%s", base, id);
        snprintf(cmd, sizeof cmd, "curl -s -X POST -H 'Authorization: Bearer dev-token' -d "
                 "'{\"stopTones\": [\"#\"], \"playBeep\": false, \"maxRecordDurationInSeconds\": 20}' "
                 "%s/record", url);
        CHECK(system(cmd) == 0);
        jf_feeder sf;
        CHECK(jf_connect(&sf, server, &sig) == 0);
        atomic_store(&sf.playing, 1);
        snprintf(path, sizeof path, "%s/notes.jsonl", sdir);
        cJSON *data = NULL, *note = NULL;
        for (int i = 0; i < 400 && !data; i++) {
            sleep_ms(50);
            static char notes[65536];
            support_slurp(path, notes, sizeof notes);
            for (char *line = strtok(notes, "\n"); line && !data; line = strtok(NULL, "\n")) {
                cJSON *d = cJSON_Parse(line);
                cJSON *r = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "value"), 0),
                                               "resourceData");
                if (cJSON_GetObjectItem(r, "completionReason")) {
                    note = d;
                    data = r;
                } else {
                    cJSON_Delete(d);
                }
            }
        }
        jf_close(&sf);
        CHECK_MSG(data != NULL, "no notification from the device call");
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(data, "completionReason")),
                  "stopToneDetected");
        if (cJSON_GetStringValue(cJSON_GetObjectItem(data, "recordingLocation"))) {
            snprintf(loc, sizeof loc, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(data, "recordingLocation")));
            snprintf(tok, sizeof tok, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(data, "recordingAccessToken")));
        }
        char dl[500];
        snprintf(dl, sizeof dl, "%s/download.wav", sdir);
        snprintf(cmd, sizeof cmd, "curl -s -f -H 'Authorization: Bearer %s' -o '%s' '%s'", tok, dl, loc);
        CHECK_MSG(loc[0] && system(cmd) == 0, "download of %s failed", loc);
        sig_buf served;
        CHECK(wav_read(dl, &served) > 0);
        size_t found_at = 0;
        double corr = served.n > speech_len
                          ? find(&served, sig.x + speech_at, speech_len, &found_at)
                          : 0;
        CHECK_MSG(corr > 0.99, "the served recording holds the injected speech: correlation %.4f",
                  corr);
        printf("serve, device call: stopToneDetected, downloaded with its token, correlation "
               "%.4f\n", corr);
        sig_free(&served);
        cJSON_Delete(note);
        snprintf(cmd, sizeof cmd, "curl -s -o /dev/null -w '%%{http_code}' -X DELETE -H "
                 "'Authorization: Bearer dev-token' %s", url);
        p = popen(cmd, "r");
        n = p ? fread(out, 1, sizeof out - 1, p) : 0;
        out[n] = '\0';
        if (p)
            pclose(p);
        CHECK_STR(out, "204");
        cJSON_Delete(call);
        kill(sv, SIGTERM);
        int st = 0;
        waitpid(sv, &st, 0);
        CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "serve did not stop cleanly (%d)", st);
        kill(cb, SIGKILL);
        waitpid(cb, NULL, 0);
    }

    /* Device loss: the server stops mid-recording (SIGTERM: a SIGKILLed server leaves a
       stale entry in JACK's shared-memory registry, which has few slots). */
    snprintf(wav, sizeof wav, "%s/lost.wav", dir);
    support_write_file(req, "{\"playBeep\": false, \"maxRecordDurationInSeconds\": 60, "
                    "\"initialSilenceTimeoutInSeconds\": 60}");
    cr = start_callrec((const char *[]){"--request", req, "--device", "system", "--output", wav,
                                        "--media-timeout-ms", "500", NULL},
                       "JACK_DEFAULT_SERVER", server);
    sleep_ms(1500);
    kill(jackd, SIGTERM);
    waitpid(jackd, NULL, 0);
    finish(cr, &o, 20);
    CHECK_MSG(o.status == 1, "exit %d: %s", o.status, o.err);
    CHECK_STR(field(&o, "completionReason"), "mediaReceiveTimeout");
    int64_t frames = wav_read(wav, NULL);
    CHECK_MSG(frames > 16000 / 2 && frames < 16000 * 3, "kept %lld frames", (long long)frames);
    printf("jack server stopped: mediaReceiveTimeout, %.2f s kept\n", frames / 16000.0);
    cJSON_Delete(o.doc);
    sig_free(&sig);
}

/* ---- ALSA file plugin ----------------------------------------------------------------- */

static void test_alsa_file(void)
{
    char home[300], rc_path[400], raw[400], req[300], wav[300];
    snprintf(home, sizeof home, "%s/home", dir);
    mkdir(home, 0700);
    snprintf(raw, sizeof raw, "%s/in.raw", home);
    snprintf(rc_path, sizeof rc_path, "%s/.asoundrc", home);
    FILE *f = fopen(rc_path, "w");
    fprintf(f, "pcm.callrec_file {\n type file\n slave.pcm \"null\"\n file \"/dev/null\"\n"
               " infile \"%s\"\n format \"raw\"\n}\n", raw);
    fclose(f);

    /* PortAudio opens the device at its default rate, 44.1 kHz. */
    sig_buf sig;
    size_t speech_at, speech_len;
    caller(&sig, &speech_at, &speech_len);
    sig_buf dev = sig;
    dev.x = malloc(sig.n * sizeof *sig.x);
    memcpy(dev.x, sig.x, sig.n * sizeof *sig.x);
    dev.cap = sig.n;
    sig_resample(&dev, 44100);
    f = fopen(raw, "wb");
    fwrite(dev.x, sizeof *dev.x, dev.n, f);
    fclose(f);

    snprintf(req, sizeof req, "%s/alsa.json", dir);
    support_write_file(req, "{\"stopTones\": [\"#\"], \"playBeep\": false, \"maxRecordDurationInSeconds\": 20}");
    snprintf(wav, sizeof wav, "%s/alsa.wav", dir);
    pid_t cr = start_callrec((const char *[]){"--request", req, "--device", "callrec_file",
                                              "--output", wav, NULL},
                             "HOME", home);
    outcome o;
    finish(cr, &o, 20);
    CHECK_MSG(o.status == 0, "exit %d: %s", o.status, o.err);
    CHECK_STR(field(&o, "completionReason"), "stopToneDetected");
    sig_buf rec;
    CHECK(wav_read(wav, &rec) > 0);
    size_t at = 0;
    double c = rec.n > speech_len ? find(&rec, sig.x + speech_at, speech_len, &at) : 0;
    CHECK_MSG(c > 0.98, "the recording holds the file's speech: correlation %.4f", c);
    printf("alsa file device: stopToneDetected, speech correlation %.4f\n", c);
    cJSON_Delete(o.doc);
    sig_free(&rec);
    sig_free(&dev);
    sig_free(&sig);
}

/* ---- --realtime ------------------------------------------------------------------------ */

static void test_realtime(void)
{
    sig_buf sig;
    size_t speech_at, speech_len;
    caller(&sig, &speech_at, &speech_len);
    char in[300], req[300], wav[300], events[300];
    snprintf(in, sizeof in, "%s/rt.wav", dir);
    sig_write_wav(&sig, in);
    snprintf(req, sizeof req, "%s/rt.json", dir);
    support_write_file(req, "{\"stopTones\": [\"#\"], \"playBeep\": false, \"maxRecordDurationInSeconds\": 20}");
    snprintf(wav, sizeof wav, "%s/rt-out.wav", dir);
    snprintf(events, sizeof events, "%s/rt.jsonl", dir);
    double t0 = support_now_s();
    pid_t cr = start_callrec((const char *[]){"--request", req, "--input", in, "--realtime",
                                              "--output", wav, "--events", events, NULL},
                             NULL, NULL);
    outcome o;
    finish(cr, &o, 20);
    double wall = support_now_s() - t0;
    CHECK_MSG(o.status == 0, "exit %d: %s", o.status, o.err);
    CHECK_STR(field(&o, "completionReason"), "stopToneDetected");
    CHECK(number(&o, "@callrec.overruns") == 0);
    /* Paced: the stop tone cannot be heard before it was played. */
    double tone_at = (double)(speech_at + speech_len) / 16000.0 + 0.7;
    CHECK_MSG(wall > tone_at, "finished after %.2f s; the tone starts at %.2f s", wall, tone_at);
    sig_buf rec;
    int64_t frames = wav_read(wav, &rec);
    CHECK_MSG(fabs((double)frames / 16000.0 - (tone_at - 0.003)) < 0.01, "recording %.3f s",
              (double)frames / 16000.0);
    CHECK(frames > 0 && memcmp(rec.x, sig.x, (size_t)frames * sizeof *rec.x) == 0);
    static char ev[16384];
    support_slurp(events, ev, sizeof ev);
    CHECK(strstr(ev, "\"processingLatencyMs\"") != NULL);
    printf("realtime file: stopToneDetected after %.2f s of wall time, bit-exact recording\n", wall);
    cJSON_Delete(o.doc);
    sig_free(&rec);
    sig_free(&sig);
}

/* Faults on the live path: kill -9 leaves a valid WAV holding the audio up to the kill (within
   100 ms); SIGTERM cancels, finishes the WAV and prints the notification. */
static void test_kill(void)
{
    sig_buf sig;
    sig_init(&sig, 16000);
    for (int i = 0; i < 4; i++)
        sig_append_speech(&sig, "vm-intro", -6.0);
    char in[300], req[300], wav[300];
    snprintf(in, sizeof in, "%s/long.wav", dir);
    sig_write_wav(&sig, in);
    snprintf(req, sizeof req, "%s/long.json", dir);
    support_write_file(req, "{\"playBeep\": false, \"maxRecordDurationInSeconds\": 60, "
                    "\"maxSilenceTimeoutInSeconds\": 30}");
    for (int sig_no = 0; sig_no < 2; sig_no++) {
        snprintf(wav, sizeof wav, "%s/killed-%d.wav", dir, sig_no);
        double t0 = support_now_s();
        pid_t cr = start_callrec((const char *[]){"--request", req, "--input", in, "--realtime",
                                                  "--output", wav, NULL},
                                 NULL, NULL);
        sleep_ms(2000);
        double fed = support_now_s() - t0;
        kill(cr, sig_no ? SIGTERM : SIGKILL);
        outcome o;
        finish(cr, &o, 10);
        sig_buf rec;
        int64_t frames, beyond = 0;
        char why[512];
        if (sig_no == 0) { /* after a kill the header may lag one batch (recorder.c) */
            CHECK_MSG(support_wav_after_kill(wav, 3200, &frames, &beyond, why, sizeof why) == 0,
                      "%s", why);
            SF_INFO si = {0};
            SNDFILE *sf = sf_open(wav, SFM_READ, &si);
            sig_init(&rec, 16000);
            sig_silence(&rec, (double)frames / 16000.0);
            if (sf) {
                sf_read_short(sf, rec.x, frames);
                sf_close(sf);
            }
        } else {
            frames = wav_read(wav, &rec);
        }
        double kept = frames / 16000.0;
        if (sig_no == 0) {
            CHECK(o.status == 128 + SIGKILL);
            /* Start-up takes some of the 2 s; what was fed is at most `fed` seconds. */
            CHECK_MSG(frames > 0 && kept <= fed && kept > fed - 0.2,
                      "kill -9 after %.2f s: the WAV holds %.3f s", fed, kept);
            printf("kill -9 after %.2f s of wall time: valid WAV with %.3f s\n", fed, kept);
        } else {
            CHECK_MSG(o.status == 1, "SIGTERM: exit %d: %s", o.status, o.err);
            CHECK_STR(field(&o, "completionReason"), "operationCanceled");
            CHECK(frames > 16000);
            printf("SIGTERM after %.2f s: operationCanceled, %.3f s kept\n", fed, kept);
        }
        if (frames > 0)
            CHECK(memcmp(rec.x, sig.x, (size_t)frames * sizeof *rec.x) == 0);
        cJSON_Delete(o.doc);
        if (frames > 0)
            sig_free(&rec);
    }
    sig_free(&sig);
}

int main(void)
{
    if (support_scratch_dir(dir, sizeof dir, "live") != 0)
        return 1;
    test_realtime();
    test_kill();
    test_alsa_file();
    test_jack();
    support_remove_dir(dir);
    return harness_finish("test_live");
}
