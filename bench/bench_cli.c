/* The program on a long file, whole process, beside the reference detectors in-process: a
   300 s answer (asterisk prompts and pauses, no key pressed) at 16, 8 and 44.1 kHz goes
   through `callrec record` (decode, convert, detect, state machine, WAV, events, exit), and
   through WebRTC VAD + spandsp DTMF alone (libsndfile read in 16,384-frame blocks; SpeexDSP at
   its default quality where a rate needs converting: 44.1 kHz to 16 kHz for the VAD, and
   16 kHz to spandsp's 8 kHz). The two take turns, five rounds; CPU time (user + system) is
   compared round by round. --only cli|reference runs one side once (for callgrind). */
#include <fcntl.h>
#include <math.h>
#include <sndfile.h>
#include <speex/speex_resampler.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "signals.h"
#include "support.h"

#ifdef HAVE_SPANDSP
#include <spandsp.h>
#endif
#ifdef HAVE_WEBRTC_VAD
#include "webrtc_vad.h"
#endif

#ifndef CALLREC_BIN
#error "CALLREC_BIN must name the callrec program"
#endif

#define SECONDS 300
#define ROUNDS 5
#define BLOCK 16384

static const int rates[] = {16000, 8000, 44100};
#define N_RATES (int)(sizeof rates / sizeof rates[0])

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The program's CPU time (user + system, from wait4) on `input`; -1 if it failed. */
static double run_cli(const char *input, const char *request, const char *output)
{
    unlink(output);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, 1); /* the notification: not what is measured */
        execl(CALLREC_BIN, CALLREC_BIN, "record", "--request", request, "--input", input,
              "--output", output, "-q", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_cli: callrec record --input %s failed (status %d)\n", input,
                WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return -1;
    }
    unlink(output);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

#if defined(HAVE_SPANDSP) && defined(HAVE_WEBRTC_VAD)
/* The reference detectors over the file; returns their CPU time, -1 on error. *speech counts
   the VAD's speech frames (so the work cannot be optimised away, and is reported). */
static double run_reference(const char *input, long *speech)
{
    double t0 = thread_cpu_s();
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(input, SFM_READ, &info);
    if (!sf)
        return -1;
    int rate = info.samplerate, vad_rate = rate == 8000 ? 8000 : 16000;
    SpeexResamplerState *rs = NULL, *to8 = NULL;
    int err = 0;
    if (rate != 8000 && rate != 16000)
        rs = speex_resampler_init(1, (spx_uint32_t)rate, 16000, SPEEX_RESAMPLER_QUALITY_DEFAULT,
                                  &err);
    if (vad_rate == 16000)
        to8 = speex_resampler_init(1, 16000, 8000, SPEEX_RESAMPLER_QUALITY_DEFAULT, &err);
    if ((rate != 8000 && rate != 16000 && !rs) || (vad_rate == 16000 && !to8)) {
        sf_close(sf);
        return -1;
    }
    VadInst *vad = WebRtcVad_Create();
    WebRtcVad_Init(vad);
    WebRtcVad_set_mode(vad, 2);
    dtmf_rx_state_t *dtmf = dtmf_rx_init(NULL, NULL, NULL);
    static int16_t block[BLOCK], conv[BLOCK], pending[BLOCK + 2 * 480], half[480];
    size_t have = 0, frame = (size_t)vad_rate / 100;
    *speech = 0;
    sf_count_t got;
    while ((got = sf_read_short(sf, block, BLOCK)) > 0) {
        const int16_t *x = block;
        size_t n = (size_t)got;
        if (rs) {
            spx_uint32_t in_len = (spx_uint32_t)n, out_len = BLOCK;
            speex_resampler_process_int(rs, 0, block, &in_len, conv, &out_len);
            x = conv;
            n = out_len;
        }
        memcpy(pending + have, x, n * sizeof *x);
        have += n;
        size_t used = 0;
        for (; used + frame <= have; used += frame) {
            const int16_t *f = pending + used;
            *speech += WebRtcVad_Process(vad, vad_rate, f, frame) == 1;
            if (vad_rate == 8000) {
                dtmf_rx(dtmf, f, (int)frame);
            } else {
                spx_uint32_t in_len = (spx_uint32_t)frame, out_len = 480;
                speex_resampler_process_int(to8, 0, f, &in_len, half, &out_len);
                dtmf_rx(dtmf, half, (int)out_len);
            }
        }
        memmove(pending, pending + used, (have - used) * sizeof *pending);
        have -= used;
    }
    sf_close(sf);
    if (rs)
        speex_resampler_destroy(rs);
    if (to8)
        speex_resampler_destroy(to8);
    WebRtcVad_Free(vad);
    dtmf_rx_free(dtmf);
    return thread_cpu_s() - t0;
}
#endif

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static const char usage[] =
    "usage: bench_cli [--json FILE] [--only cli|reference --rate HZ]\n"
    "  --json FILE        also write the results as JSON\n"
    "  --only SIDE        run one side once on the HZ file (16000, 8000 or 44100) and say\n"
    "                     nothing else: for callgrind (scripts/instruction-counts.sh)\n";

int main(int argc, char **argv)
{
    const char *json_path = NULL, *only = NULL;
    double only_rate = 16000;
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0 && value) {
            json_path = argv[++i];
        } else if (strcmp(argv[i], "--only") == 0 && value &&
                   (strcmp(value, "cli") == 0 || strcmp(value, "reference") == 0)) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--rate") == 0 && value) {
            if (support_number_arg("bench_cli", argv[i++], value, 8000, 44100, 1, &only_rate))
                return 2;
            if (only_rate != 8000 && only_rate != 16000 && only_rate != 44100) {
                fprintf(stderr, "bench_cli: --rate takes 16000, 8000 or 44100, not '%s'\n",
                        value);
                return 2;
            }
        } else {
            fprintf(stderr, "bench_cli: unknown option or missing value: %s\n%s", argv[i], usage);
            return 2;
        }
    }
    FILE *js = NULL;
    if (json_path && !(js = fopen(json_path, "w"))) {
        fprintf(stderr, "bench_cli: cannot write %s\n", json_path);
        return 1;
    }
#if !defined(HAVE_SPANDSP) || !defined(HAVE_WEBRTC_VAD)
    if (!only || strcmp(only, "reference") == 0) {
        fprintf(stderr, "bench_cli: built without spandsp and the WebRTC VAD (the reference)\n");
        if (js) {
            fclose(js);
            unlink(json_path);
        }
        return 1;
    }
#endif
    char dir[256];
    if (support_scratch_dir(dir, sizeof dir, "bench-cli")) {
        fprintf(stderr, "bench_cli: no scratch folder\n");
        return 1;
    }
    /* The answer: prompts and pauses, fixed seed, SECONDS long; no key, so the operation runs
       to its maxRecordDurationInSeconds. */
    sig_rng rng;
    sig_seed(&rng, 2026);
    sig_buf audio;
    sig_init(&audio, 16000);
    const char *words[] = {"vm-intro", "auth-thankyou", "hello", "vm-goodbye",
                           "one-moment-please"};
    while ((double)audio.n / 16000.0 < SECONDS) {
        sig_append_speech(&audio, words[(int)(sig_uniform(&rng) * 5)], -8.0);
        sig_silence(&audio, 0.3 + sig_uniform(&rng));
    }
    audio.n = (size_t)SECONDS * 16000;
    char request[300], output[300], inputs[N_RATES][300];
    snprintf(request, sizeof request, "%s/request.json", dir);
    snprintf(output, sizeof output, "%s/out.wav", dir);
    FILE *rq = fopen(request, "w");
    if (!rq)
        return 1;
    fprintf(rq, "{\"playBeep\": false, \"maxRecordDurationInSeconds\": %d, "
                "\"initialSilenceTimeoutInSeconds\": 60, \"maxSilenceTimeoutInSeconds\": 60}\n",
            SECONDS);
    fclose(rq);
    for (int r = 0; r < N_RATES; r++) {
        /* A copy, converted by the test signals' own converter (SpeexDSP, quality 8). */
        sig_buf copy = audio;
        copy.x = malloc(sizeof *copy.x * audio.n);
        memcpy(copy.x, audio.x, sizeof *copy.x * audio.n);
        copy.cap = audio.n;
        if (rates[r] != 16000)
            sig_resample(&copy, rates[r]);
        snprintf(inputs[r], sizeof inputs[r], "%s/answer-%d.wav", dir, rates[r]);
        if (sig_write_wav(&copy, inputs[r])) {
            fprintf(stderr, "bench_cli: cannot write %s\n", inputs[r]);
            return 1;
        }
        sig_free(&copy);
    }
    sig_free(&audio);

    int status = 0;
    if (only) {
        int r = only_rate == 8000 ? 1 : only_rate == 44100 ? 2 : 0;
        if (strcmp(only, "cli") == 0) {
            status = run_cli(inputs[r], request, output) < 0;
        } else {
#if defined(HAVE_SPANDSP) && defined(HAVE_WEBRTC_VAD)
            long speech = 0;
            status = run_reference(inputs[r], &speech) < 0;
#endif
        }
    } else {
#if defined(HAVE_SPANDSP) && defined(HAVE_WEBRTC_VAD)
        printf("the program on %d s of speech, whole process (CPU: user + system), beside WebRTC "
               "VAD + spandsp DTMF in-process on the same file; %d rounds, taking turns\n",
               SECONDS, ROUNDS);
        printf("%8s %12s %12s %12s %12s\n", "rate", "callrec s", "reference s", "ratio min",
               "ratio median");
        if (js)
            fprintf(js, "{\"seconds\":%d,\"rounds\":%d,\"rates\":[", SECONDS, ROUNDS);
        for (int r = 0; r < N_RATES && status == 0; r++) {
            double cli[ROUNDS], ref[ROUNDS], ratio[ROUNDS];
            long speech = 0;
            run_reference(inputs[r], &speech); /* warm the page cache and the libraries */
            for (int k = 0; k < ROUNDS && status == 0; k++) {
                cli[k] = run_cli(inputs[r], request, output);
                ref[k] = run_reference(inputs[r], &speech);
                status = cli[k] < 0 || ref[k] < 0;
                ratio[k] = ref[k] / cli[k];
            }
            if (status)
                break;
            qsort(cli, ROUNDS, sizeof *cli, cmp_double);
            qsort(ref, ROUNDS, sizeof *ref, cmp_double);
            qsort(ratio, ROUNDS, sizeof *ratio, cmp_double);
            printf("%8d %12.3f %12.3f %12.2f %12.2f\n", rates[r], cli[ROUNDS / 2],
                   ref[ROUNDS / 2], ratio[0], ratio[ROUNDS / 2]);
            if (js) {
                fprintf(js, "%s{\"rate\":%d,\"callrec_cpu_s\":[", r ? "," : "", rates[r]);
                for (int k = 0; k < ROUNDS; k++)
                    fprintf(js, "%s%.4f", k ? "," : "", cli[k]);
                fprintf(js, "],\"reference_cpu_s\":[");
                for (int k = 0; k < ROUNDS; k++)
                    fprintf(js, "%s%.4f", k ? "," : "", ref[k]);
                fprintf(js, "],\"ratio_sorted\":[");
                for (int k = 0; k < ROUNDS; k++)
                    fprintf(js, "%s%.3f", k ? "," : "", ratio[k]);
                fprintf(js, "]}");
            }
        }
        if (js)
            fprintf(js, "]}\n");
#endif
    }
    if (js)
        fclose(js);
    support_empty_folder(dir);
    rmdir(dir);
    return status;
}
