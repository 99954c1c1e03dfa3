/* DTMF receiver against the Q.24 (AT&T) receiver criteria, on synthetic signals with fixed
   seeds, through four paths: 8 kHz, 8 kHz upsampled to 16 kHz, native 16 kHz, and 8 kHz
   through a G.711 mu-law round trip. Plus talk-off on real speech. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dtmf.h"
#include "harness.h"
#include "signals.h"
#include "tone.h"

typedef enum path { PATH_8K, PATH_8K_TO_16K, PATH_16K, PATH_MULAW, PATH_COUNT } path;
static const char *const path_names[PATH_COUNT] = {"8k", "8k->16k", "16k", "mulaw"};

typedef struct found {
    char keys[64];
    int64_t onsets[64];
    int n;
} found;

/* The criteria every detect() runs with; test_ntt switches to NTT's. */
static cr_dtmf_profile profile = CR_DTMF_ATT;

static void detect(const sig_buf *b, found *f)
{
    cr_dtmf d;
    memset(f, 0, sizeof *f);
    CHECK(cr_dtmf_init_profile(&d, b->rate, profile) == 0);
    size_t chunk = (size_t)b->rate / 100;
    for (size_t i = 0; i < b->n; i += chunk) {
        size_t n = b->n - i < chunk ? b->n - i : chunk;
        cr_dtmf_process(&d, b->x + i, n);
        for (int k = 0; k < d.n_events; k++) {
            if (d.events[k].kind == CR_DTMF_BEGIN && f->n < 63) {
                f->onsets[f->n] = d.events[k].onset;
                f->keys[f->n++] = d.events[k].key;
            }
        }
    }
    f->keys[f->n] = '\0';
}

static int source_rate(path p) { return p == PATH_16K ? 16000 : 8000; }

static void finish_path(sig_buf *b, path p)
{
    if (p == PATH_8K_TO_16K)
        sig_resample(b, 16000);
    else if (p == PATH_MULAW)
        sig_mulaw_roundtrip(b);
}

/* One digit made of (f1, level1, f2, level2, length) with silence around it at a random
   offset. Returns 1 if exactly `want` was detected (want 0: nothing). */
static int one(path p, sig_rng *r, double f1, double l1, double f2, double l2, double len,
               char want)
{
    sig_buf b;
    found f;
    sig_init(&b, source_rate(p));
    sig_silence(&b, 0.1 + 0.02 * sig_uniform(r));
    sig_tones(&b, r, f1, l1, f2, l2, len);
    sig_silence(&b, 0.1);
    finish_path(&b, p);
    detect(&b, &f);
    sig_free(&b);
    return want ? (f.n == 1 && f.keys[0] == want) : f.n == 0;
}

static const char all_keys[] = "123A456B789C*0#D";

static void key_freqs(char k, double *lo, double *hi) { cr_dtmf_key_freqs(k, lo, hi); }

/* T1 and T7: 16 digits, 50 ms on / 50 ms off, and 40/40 ms; onset accuracy. */
static void test_sequences(path p)
{
    sig_rng r;
    sig_seed(&r, 1);
    for (int on_off = 0; on_off < 2; on_off++) {
        double on = on_off ? 0.040 : 0.050, off = on_off ? 0.040 : 0.050;
        int ok = 0, reps = 10;
        double err_sum = 0, err_max = 0;
        for (int rep = 0; rep < reps; rep++) {
            sig_buf b;
            found f;
            int64_t truth[16];
            sig_init(&b, source_rate(p));
            sig_silence(&b, 0.05 + 0.01 * sig_uniform(&r));
            for (int k = 0; k < 16; k++) {
                truth[k] = (int64_t)b.n;
                sig_dtmf(&b, &r, all_keys[k], -10.0, on);
                sig_silence(&b, off);
            }
            int up = p == PATH_8K_TO_16K ? 2 : 1;
            finish_path(&b, p);
            detect(&b, &f);
            if (f.n == 16 && strcmp(f.keys, all_keys) == 0) {
                ok++;
                for (int k = 0; k < 16; k++) {
                    double e = (double)(f.onsets[k] - truth[k] * up) / b.rate * 1000.0;
                    err_sum += e;
                    if (fabs(e) > err_max)
                        err_max = fabs(e);
                }
            } else {
                fprintf(stderr, "[%s] %.0f/%.0f ms: got \"%s\"\n", path_names[p], on * 1000,
                        off * 1000, f.keys);
            }
            sig_free(&b);
        }
        CHECK_MSG(ok == reps, "[%s] sequences %d/%d", path_names[p], ok, reps);
        double mean = ok ? err_sum / (ok * 16) : 99;
        printf("[%s] %2.0f ms on/off: onset error mean %+.2f ms, max %.2f ms\n", path_names[p],
               on * 1000, mean, err_max);
        /* The stop tone is cut at its onset: the estimate errs early (cutting a little
           silence rather than leaving tone) and is never more than 4.5 ms off. */
        CHECK_MSG(mean >= -3.0 && mean <= 1.0 && err_max <= 4.5, "[%s] onset error mean %.2f max %.2f",
                  path_names[p], mean, err_max);
    }
}

/* T2, T3: frequency accept +-(1.5 % + 2 Hz), reject +-3.5 %. */
static void test_frequency(path p)
{
    sig_rng r;
    sig_seed(&r, 2);
    int accept_ok = 0, accept_n = 0, reject_ok = 0, reject_n = 0;
    for (int k = 0; k < 16; k++) {
        double lo, hi;
        key_freqs(all_keys[k], &lo, &hi);
        for (int s = -1; s <= 1; s += 2) {
            double dlo = s * (0.015 * lo + 2.0), dhi = s * (0.015 * hi + 2.0);
            accept_ok += one(p, &r, lo + dlo, -10, hi, -10, 0.05, all_keys[k]);
            accept_ok += one(p, &r, lo, -10, hi + dhi, -10, 0.05, all_keys[k]);
            accept_ok += one(p, &r, lo + dlo, -10, hi + dhi, -10, 0.05, all_keys[k]);
            accept_ok += one(p, &r, lo + dlo, -10, hi - dhi, -10, 0.05, all_keys[k]);
            accept_n += 4;
            reject_ok += one(p, &r, lo * (1 + s * 0.035), -10, hi, -10, 0.05, 0);
            reject_ok += one(p, &r, lo, -10, hi * (1 + s * 0.035), -10, 0.05, 0);
            reject_n += 2;
        }
    }
    printf("[%s] frequency: accept %d/%d, reject %d/%d\n", path_names[p], accept_ok, accept_n,
           reject_ok, reject_n);
    CHECK_MSG(accept_ok == accept_n, "[%s] accept %d/%d", path_names[p], accept_ok, accept_n);
    CHECK_MSG(reject_ok == reject_n, "[%s] reject %d/%d", path_names[p], reject_ok, reject_n);
}

/* T4, T5: levels 0..-25 dBm0 accepted, <= -55 rejected; twist 8 dB normal, 4 dB reverse. */
static void test_level_twist(path p)
{
    sig_rng r;
    sig_seed(&r, 3);
    int ok = 0, n = 0;
    for (int k = 0; k < 16; k += 3) {
        double lo, hi;
        key_freqs(all_keys[k], &lo, &hi);
        for (int level = 0; level >= -25; level -= 5) {
            ok += one(p, &r, lo, level, hi, level, 0.05, all_keys[k]);
            n++;
        }
        ok += one(p, &r, lo, -55, hi, -55, 0.05, 0);
        ok += one(p, &r, lo, -60, hi, -60, 0.05, 0);
        /* Twist at the lowest accepted level: the weaker tone is then 8 (4) dB lower. */
        ok += one(p, &r, lo, -25, hi, -33, 0.05, all_keys[k]);
        ok += one(p, &r, lo, -29, hi, -25, 0.05, all_keys[k]);
        ok += one(p, &r, lo, -3, hi, -11, 0.05, all_keys[k]);
        ok += one(p, &r, lo, -7, hi, -3, 0.05, all_keys[k]);
        n += 6;
    }
    printf("[%s] level and twist: %d/%d\n", path_names[p], ok, n);
    CHECK_MSG(ok == n, "[%s] level/twist %d/%d", path_names[p], ok, n);
}

/* T6, T8: >= 40 ms accepted, <= 23 ms rejected; breaks of up to 10 ms bridged. */
static void test_timing(path p)
{
    sig_rng r;
    sig_seed(&r, 4);
    int ok = 0, n = 0;
    for (int k = 0; k < 16; k++) {
        double lo, hi;
        key_freqs(all_keys[k], &lo, &hi);
        ok += one(p, &r, lo, -10, hi, -10, 0.040, all_keys[k]);
        ok += one(p, &r, lo, -10, hi, -10, 0.023, 0);
        ok += one(p, &r, lo, 0, hi, 0, 0.023, 0);
        ok += one(p, &r, lo, -10, hi, -10, 0.020, 0);
        n += 4;
        for (int gap_ms = 1; gap_ms <= 10; gap_ms += 3) {
            sig_buf b;
            found f;
            sig_init(&b, source_rate(p));
            sig_silence(&b, 0.1);
            sig_dtmf(&b, &r, all_keys[k], -10, 0.040);
            sig_silence(&b, gap_ms / 1000.0);
            sig_dtmf(&b, &r, all_keys[k], -10, 0.040);
            sig_silence(&b, 0.1);
            finish_path(&b, p);
            detect(&b, &f);
            ok += f.n == 1 && f.keys[0] == all_keys[k];
            n++;
            sig_free(&b);
        }
        /* A repeated digit after a 40 ms pause is two digits. */
        sig_buf b;
        found f;
        sig_init(&b, source_rate(p));
        sig_silence(&b, 0.1);
        sig_dtmf(&b, &r, all_keys[k], -10, 0.045);
        sig_silence(&b, 0.040);
        sig_dtmf(&b, &r, all_keys[k], -10, 0.045);
        sig_silence(&b, 0.1);
        finish_path(&b, p);
        detect(&b, &f);
        ok += f.n == 2 && f.keys[0] == all_keys[k] && f.keys[1] == all_keys[k];
        n++;
        sig_free(&b);
    }
    printf("[%s] duration, breaks and pauses: %d/%d\n", path_names[p], ok, n);
    CHECK_MSG(ok == n, "[%s] timing %d/%d", path_names[p], ok, n);
}

/* T9: white noise at 15 dB S/N (re the weaker tone). */
static void test_noise(path p)
{
    sig_rng r;
    sig_seed(&r, 5);
    int ok = 0, n = 0;
    for (int rep = 0; rep < 4; rep++) {
        for (int k = 0; k < 16; k++) {
            sig_buf b;
            found f;
            sig_init(&b, source_rate(p));
            sig_silence(&b, 0.1);
            sig_dtmf(&b, &r, all_keys[k], -20, 0.05);
            sig_silence(&b, 0.1);
            /* A -20 dBm0 tone has RMS -20 - 3.14 - 3.01 dBFS; noise 15 dB below it. */
            sig_add_noise(&b, &r, 0, b.n, -20.0 - 6.15 - 15.0);
            finish_path(&b, p);
            detect(&b, &f);
            ok += f.n == 1 && f.keys[0] == all_keys[k];
            n++;
            sig_free(&b);
        }
    }
    printf("[%s] noise 15 dB: %d/%d\n", path_names[p], ok, n);
    CHECK_MSG(ok == n, "[%s] noise %d/%d", path_names[p], ok, n);
}

/* T10, T11: dial tone 22 dB above the weakest accepted level (-3 dBm0 in all, with a digit at
   -25 dBm0), running before and through the digit;
   an echo of the digit 10 dB down, 0 to 40 ms late. */
static void test_dial_tone_echo(path p)
{
    sig_rng r;
    sig_seed(&r, 6);
    int ok = 0, n = 0;
    for (int k = 0; k < 16; k++) {
        for (int variant = 0; variant < 2; variant++) {
            sig_buf b, dial;
            found f;
            sig_init(&b, source_rate(p));
            sig_silence(&b, 0.4);
            sig_dtmf(&b, &r, all_keys[k], -25, 0.05);
            sig_silence(&b, 0.1);
            sig_init(&dial, b.rate);
            if (variant)
                sig_tones(&dial, &r, 425, -3, 0, 0, (double)b.n / b.rate);
            else
                sig_tones(&dial, &r, 350, -6, 440, -6, (double)b.n / b.rate);
            for (size_t i = 0; i < b.n; i++) {
                int v = b.x[i] + dial.x[i];
                b.x[i] = (int16_t)(v > 32767 ? 32767 : (v < -32768 ? -32768 : v));
            }
            sig_free(&dial);
            finish_path(&b, p);
            detect(&b, &f);
            ok += f.n == 1 && f.keys[0] == all_keys[k];
            if (!(f.n == 1 && f.keys[0] == all_keys[k]))
                fprintf(stderr, "[%s] dial %d key %c: got \"%s\"\n", path_names[p], variant,
                        all_keys[k], f.keys);
            n++;
            sig_free(&b);
        }
        for (int delay_ms = 0; delay_ms <= 40; delay_ms += 5) {
            sig_buf b;
            found f;
            sig_init(&b, source_rate(p));
            sig_silence(&b, 0.1);
            size_t at = b.n;
            sig_dtmf(&b, &r, all_keys[k], -10, 0.06);
            sig_silence(&b, 0.12);
            size_t d = (size_t)delay_ms * (size_t)b.rate / 1000;
            for (size_t i = b.n; i-- > at + d;)
                b.x[i] = (int16_t)lrint(b.x[i] + 0.316 * b.x[i - d]);
            finish_path(&b, p);
            detect(&b, &f);
            ok += f.n == 1 && f.keys[0] == all_keys[k];
            n++;
            sig_free(&b);
        }
    }
    printf("[%s] dial tone and echo: %d/%d\n", path_names[p], ok, n);
    CHECK_MSG(ok == n, "[%s] dial tone/echo %d/%d", path_names[p], ok, n);
}

/* T12: zero false digits in every real-speech file Debian ships, at two levels. */
static void test_talkoff(void)
{
    DIR *dir = opendir(SPEECH_DIR);
    CHECK_MSG(dir != NULL, "speech corpus missing: %s", SPEECH_DIR);
    if (!dir)
        return;
    sig_buf b;
    sig_init(&b, 16000);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(dir))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".wav") != 0)
            continue;
        /* Prompts that embed DTMF or beeps are not speech. */
        if (strstr(e->d_name, "beep") || strstr(e->d_name, "tone") || strstr(e->d_name, "dtmf"))
            continue;
        char file[1024];
        snprintf(file, sizeof file, "%s/%s", SPEECH_DIR, e->d_name);
        if (sig_append_file(&b, file, 0.0) == 0)
            files++;
    }
    closedir(dir);
    double minutes = (double)b.n / b.rate / 60.0;
    found f;
    int falses = 0;
    for (double gain = 0.0; gain >= -10.0; gain -= 10.0) {
        sig_buf g;
        sig_init(&g, 16000);
        sig_silence(&g, (double)b.n / b.rate);
        double k = pow(10.0, gain / 20.0);
        for (size_t i = 0; i < b.n; i++)
            g.x[i] = (int16_t)lrint(b.x[i] * k);
        detect(&g, &f);
        falses += f.n;
        if (f.n)
            fprintf(stderr, "talk-off at %+.0f dB: \"%s\"\n", gain, f.keys);
        sig_free(&g);
    }
    printf("talk-off: %d files, %.1f min of speech at 0 and -10 dB: %d false digits\n", files,
           minutes, falses);
    CHECK(files > 300);
    CHECK(falses == 0);
    sig_free(&b);
}

/* The NTT profile against Q.24's NTT column: frequency accept +-1.8 % and reject +-3.0 %,
   levels -3..-24 dBm0 accepted and -29 rejected, twist 5 dB either way, 24 ms rejected, 30 ms
   pauses separating. */
static void test_ntt(path p)
{
    profile = CR_DTMF_NTT;
    sig_rng r;
    sig_seed(&r, 24);
    int ok = 0, n = 0;
    for (int k = 0; k < 16; k++) {
        char key = all_keys[k];
        double lo, hi;
        key_freqs(key, &lo, &hi);
        for (int sign = -1; sign <= 1; sign += 2) {
            ok += one(p, &r, lo * (1 + sign * 0.018), -10, hi * (1 + sign * 0.018), -10, 0.05, key);
            ok += one(p, &r, lo * (1 - sign * 0.018), -10, hi * (1 + sign * 0.018), -10, 0.05, key);
            ok += one(p, &r, lo * (1 + sign * 0.030), -10, hi, -10, 0.05, 0);
            ok += one(p, &r, lo, -10, hi * (1 + sign * 0.030), -10, 0.05, 0);
            n += 4;
        }
        ok += one(p, &r, lo, -3, hi, -3, 0.05, key);
        ok += one(p, &r, lo, -24, hi, -24, 0.05, key);
        ok += one(p, &r, lo, -29, hi, -29, 0.05, 0);
        ok += one(p, &r, lo, -19, hi, -24, 0.05, key); /* 5 dB normal twist */
        ok += one(p, &r, lo, -24, hi, -19, 0.05, key); /* 5 dB reverse twist */
        ok += one(p, &r, lo, -10, hi, -10, 0.040, key);
        ok += one(p, &r, lo, -10, hi, -10, 0.024, 0);
        n += 7;
        /* 40 ms on, 30 ms off: two digits, also when they are the same key */
        sig_buf b;
        found f;
        sig_init(&b, source_rate(p));
        sig_silence(&b, 0.1);
        sig_dtmf(&b, &r, key, -10, 0.040);
        sig_silence(&b, 0.030);
        sig_dtmf(&b, &r, key, -10, 0.040);
        sig_silence(&b, 0.1);
        finish_path(&b, p);
        detect(&b, &f);
        ok += f.n == 2 && f.keys[0] == key && f.keys[1] == key;
        n++;
        sig_free(&b);
    }
    profile = CR_DTMF_ATT;
    printf("[%s] NTT profile: %d/%d\n", path_names[p], ok, n);
    CHECK_MSG(ok == n, "[%s] NTT profile %d/%d", path_names[p], ok, n);
}

/* Synthetic voices that once gave false digits, as regressions: high-pitched voices whose
   fundamental sat on a dial-tone frequency (the notches engaged, and a 'D' followed later),
   and a voice whose harmonics 4 and 5 sat on 941 and 1209 Hz ('*'). At 8 and 16 kHz, 0 to
   -20 dB. */
static void test_synthetic_voices(void)
{
    static const char message[] =
        "Hello, thank you for calling. I am returning your message about the delivery on "
        "Tuesday. Please call me back at your convenience; my number is five five five, one "
        "two three four. The quick brown fox jumps over the lazy dog. She sells sea shells by "
        "the sea shore.";
    static const struct {
        const char *voice;
        int pitch;
        const char *text;
    } cases[] = {
        {"en+f2", 99, message},
        {"en+f3", 90, message},
        {"en+f1", 80, "Good morning. Your appointment is confirmed for Thursday at half past "
                      "nine. If you need to reschedule, press one, or stay on the line."},
    };
    char dir[] = "/tmp/callrec-dtmf-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    int falses = 0, made = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char file[300], cmd[1024];
        snprintf(file, sizeof file, "%s/voice.wav", dir);
        snprintf(cmd, sizeof cmd, "espeak-ng -v %s -p %d -s 160 -w '%s' \"%s\" 2>/dev/null",
                 cases[i].voice, cases[i].pitch, file, cases[i].text);
        CHECK_MSG(system(cmd) == 0, "espeak-ng failed: %s", cmd);
        for (int rate = 8000; rate <= 16000; rate += 8000) {
            sig_buf b;
            sig_init(&b, rate);
            if (sig_append_file(&b, file, 0.0) != 0)
                continue;
            made++;
            /* Not dial tone: the notches stay off. */
            cr_dtmf d;
            CHECK(cr_dtmf_init(&d, rate) == 0);
            for (size_t k = 0; k + 160 <= b.n; k += 160)
                cr_dtmf_process(&d, b.x + k, 160);
            CHECK_MSG(!d.notch_on, "dial-tone notch engaged on %s p%d at %d Hz", cases[i].voice,
                      cases[i].pitch, rate);
            for (double gain = 0.0; gain >= -20.0; gain -= 10.0) {
                sig_buf g;
                sig_init(&g, rate);
                sig_silence(&g, (double)b.n / rate);
                for (size_t k = 0; k < b.n; k++)
                    g.x[k] = (int16_t)lrint(b.x[k] * pow(10.0, gain / 20.0));
                found f;
                detect(&g, &f);
                if (f.n)
                    fprintf(stderr, "talk-off: %s p%d, %d Hz, %+.0f dB: \"%s\"\n",
                            cases[i].voice, cases[i].pitch, rate, gain, f.keys);
                falses += f.n;
                sig_free(&g);
            }
            sig_free(&b);
        }
        unlink(file);
    }
    rmdir(dir);
    printf("synthetic voices: %d recordings at 3 levels: %d false digits\n", made, falses);
    CHECK(made == 6);
    CHECK(falses == 0);
}

int main(int argc, char **argv)
{
    (void)argv;
    for (int p = 0; p < PATH_COUNT; p++) {
        test_sequences((path)p);
        test_frequency((path)p);
        test_level_twist((path)p);
        test_timing((path)p);
        test_noise((path)p);
        test_dial_tone_echo((path)p);
        test_ntt((path)p);
    }
    if (argc < 2) {
        test_talkoff();
        test_synthetic_voices();
    }
    return harness_finish("test_dtmf");
}
