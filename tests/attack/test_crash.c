/* Crash consistency: callrec recording a file paced at real time is killed (SIGKILL) at 20
   seeded random moments. Each time the recording must hold a bit-exact prefix of the input;
   its header must state all of the bytes present (then the strict readers must agree), or all
   but the last 100 ms batch, when the kill landed while that batch was being written (then
   Python's wave and libsndfile must still read exactly what the header states); and the audio
   the header states must be short of what had arrived by at most 110 ms: one batch, being
   gathered or being written (the session writes on its own thread, so never both), and one
   10 ms pacing period. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "signals.h"
#include "support.h"

#ifndef CALLREC_BIN
#error "CALLREC_BIN must name the callrec program"
#endif

#define KILLS 20
#define RATE 16000
#define LOSS_MS 110
#define BATCH_BYTES 3200 /* the recorder's 100 ms batch */

static void sleep_ms(double ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms * 1e6) % 1000000000L};
    nanosleep(&ts, NULL);
}

int main(void)
{
    char dir[256];
    if (support_scratch_dir(dir, sizeof dir, "crash"))
        return 1;
    sig_buf in;
    sig_rng rng;
    sig_seed(&rng, 2026);
    sig_init(&in, RATE);
    sig_silence(&in, 4.0);
    sig_add_noise(&in, &rng, 0, in.n, -20.0); /* every sample distinct enough to place */
    char input[512], request[512];
    snprintf(input, sizeof input, "%s/in.wav", dir);
    snprintf(request, sizeof request, "%s/req.json", dir);
    CHECK(sig_write_wav(&in, input) == 0);
    support_write_file(request, "{\"playBeep\": false, \"maxRecordDurationInSeconds\": 300, "
                                "\"initialSilenceTimeoutInSeconds\": 300}");
    double worst_ms = 0;
    int exact = 0, lagging = 0; /* headers stating every byte present, or all but a batch */
    for (int k = 0; k < KILLS; k++) {
        char out[600], events[600];
        snprintf(out, sizeof out, "%s/rec-%d.wav", dir, k);
        snprintf(events, sizeof events, "%s/ev-%d.jsonl", dir, k);
        double after_ms = 50 + sig_uniform(&rng) * 2500;
        pid_t pid = fork();
        if (pid == 0) {
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            dup2(null, 2);
            execl(CALLREC_BIN, CALLREC_BIN, "record", "--request", request, "--input", input,
                  "--realtime", "--output", out, "--events", events, (char *)NULL);
            _exit(127);
        }
        /* The window opens with the first 10 ms of audio; its event marks the clock's start. */
        double t0 = 0, deadline = support_now_s() + 10;
        char text[4096];
        while (support_now_s() < deadline) {
            support_slurp(events, text, sizeof text);
            if (strstr(text, "recordingStarted")) {
                t0 = support_now_s();
                break;
            }
            sleep_ms(0.5);
        }
        CHECK_MSG(t0 > 0, "run %d: the recording never started", k);
        sleep_ms(after_ms);
        double arrived_s = support_now_s() - t0 + 0.010; /* the first 10 ms came before t0 */
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);

        int64_t frames = 0, beyond = 0;
        char why[1024];
        CHECK_MSG(support_wav_after_kill(out, BATCH_BYTES, &frames, &beyond, why, sizeof why) == 0,
                  "run %d: %s", k, why);
        exact += beyond == 0;
        lagging += beyond > 0;
        int64_t present = frames * 2 + beyond;
        int fd;
        sig_buf rec;
        sig_init(&rec, RATE);
        CHECK(sig_read_wav(&rec, out, RATE) == 0 && (int64_t)rec.n == frames);
        /* every byte present, stated or not, is the input's */
        int16_t *all = malloc((size_t)present + 2);
        fd = open(out, O_RDONLY);
        CHECK(fd >= 0 && pread(fd, all, (size_t)present, 44) == (ssize_t)present);
        if (fd >= 0)
            close(fd);
        sig_buf sent;
        sig_init(&sent, RATE);
        CHECK(sig_read_wav(&sent, input, RATE) == 0);
        CHECK_MSG(rec.n <= sent.n && memcmp(rec.x, sent.x, rec.n * sizeof *rec.x) == 0 &&
                      (size_t)present / 2 <= sent.n && memcmp(all, sent.x, (size_t)present) == 0,
                  "run %d: the recording is not a prefix of the input", k);
        free(all);
        double lost_ms = (arrived_s - (double)frames / RATE) * 1e3;
        if (lost_ms > worst_ms)
            worst_ms = lost_ms;
        CHECK_MSG(lost_ms <= LOSS_MS, "run %d: killed %.0f ms into the recording, %.0f ms lost", k,
                  arrived_s * 1e3, lost_ms);
        sig_free(&rec);
        sig_free(&sent);
        unlink(out);
        unlink(events);
    }
    printf("%d kills: every recording a prefix of the input; %d strict-valid, %d with the "
           "last batch beyond the header; at most %.0f ms of the audio that had arrived not "
           "stated by the header\n",
           KILLS, exact, lagging, worst_ms);
    sig_free(&in);
    int rc = harness_finish("test_crash");
    support_remove_dir(dir);
    return rc;
}
