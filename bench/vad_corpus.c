/* The VAD corpus (vad_corpus.h). */
#include "vad_corpus.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

sig_buf music;

static const char *const bench_prompts[] = {
    "vm-intro", "auth-thankyou", "hello", "vm-goodbye", "one-moment-please", "digits/1", "digits/7",
    "vm-enter-num-to-call", "vm-forwardoptions", "please-try-again", "vm-leavemsg", "vm-extension",
    "vm-options", "dir-instr", "queue-thankyou", "vm-review", "demo-congrats", "conf-onlyperson",
    "vm-nobodyavail", "pls-hold-while-try", "vm-savemessage", "digits/3", "digits/9", "goodbye"};

static const voice bench_voices[] = {
    {"en-us", 40, "Yes."},
    {"en+f3", 70, "No, thank you."},
    {"en+m3", 30, "My account number is four five six seven, eight nine."},
    {"en-gb-x-rp+f2", 60, "I would like to speak to someone about my last bill, please."},
    {"en-us+f4", 80, "That's right."},
    {"en+m7", 20, "Could you call me back tomorrow morning, after ten?"},
    {"en-us+m5", 50, "Sure."},
    {"en+f5", 90, "I moved house in March, so the address you have is the old one."},
    {"en-gb-scotland", 45, "Cancel it."},
    {"en-us+f2", 65, "Two hundred and twelve dollars and fifty cents."},
    {"en+klatt", 35, "Hello? Are you still there?"},
    {"en-029+f1", 55, "Please leave a message for Doctor Patel, it is about the results."},
};

/* What the word-continuation model is trained on (--train): none of the benchmark's
   recordings, texts or voices. */
static const char *const train_prompts[] = {
    "agent-alreadyon", "agent-incorrect", "agent-loggedoff", "agent-loginok", "agent-newlocation",
    "all-circuits-busy-now", "at-tone-time-exactly", "auth-incorrect", "call-forwarding",
    "call-waiting", "cancelled", "cannot-complete-as-dialed", "check-number-dial-again",
    "conf-adminmenu", "conf-errormenu", "conf-full", "conf-getpin", "conf-hasjoin", "conf-invalid",
    "conf-kicked", "conf-locked", "conf-muted", "conf-waitforleader", "conf-otherinparty"};

static const voice train_voices[] = {
    {"en-us+m2", 45, "Okay."},
    {"en+f4", 75, "No, not really."},
    {"en-gb", 50, "I'd like to cancel my order from last week."},
    {"en-us+f3", 65, "Yes, that's fine."},
    {"en+m4", 35, "Can you repeat the question, please?"},
    {"en-us+m6", 40, "Perhaps."},
    {"en+f2", 85, "My name is Sarah Jones and I live in Leeds."},
    {"en-gb-scotland+m3", 45, "Right."},
    {"en-us+f5", 70, "Three, nine, seven, two."},
    {"en+klatt2", 40, "I am not sure about that."},
    {"en-029", 55, "Send it to my office address."},
    {"en-us", 60, "Thanks, bye."},
};

const speech_set bench_set = {bench_prompts, sizeof bench_prompts / sizeof bench_prompts[0],
                                     bench_voices, sizeof bench_voices / sizeof bench_voices[0]};
const speech_set train_set = {train_prompts, sizeof train_prompts / sizeof train_prompts[0],
                                     train_voices, sizeof train_voices / sizeof train_voices[0]};


void build_corpus(corpus *c, const speech_set *set, sig_rng *r, const char *tmp)
{
    sig_init(&c->clean, RATE);
    c->truth = NULL;
    c->n_utt = 0;
    size_t n_prompts = set->n_prompts;
    for (size_t k = 0; k < n_prompts + set->n_voices; k++) {
        sig_silence(&c->clean, 0.6 + 1.8 * sig_uniform(r));
        size_t at = c->clean.n;
        double gain = -6.0 - 10.0 * sig_uniform(r);
        if (k < n_prompts) {
            if (sig_append_speech(&c->clean, set->prompts[k], gain) != 0)
                continue;
        } else {
            char file[512], cmd[1024];
            size_t v = k - n_prompts;
            snprintf(file, sizeof file, "%s/voice.wav", tmp);
            snprintf(cmd, sizeof cmd, "espeak-ng -v %s -p %d -s 160 -w '%s' \"%s\" 2>/dev/null",
                     set->voices[v].voice, set->voices[v].pitch, file, set->voices[v].text);
            int ok = system(cmd) == 0 && sig_append_file(&c->clean, file, gain - 6.0) == 0;
            unlink(file);
            if (!ok)
                continue;
        }
        c->utt[c->n_utt].from = at;
        c->utt[c->n_utt].to = c->clean.n;
        c->n_utt++;
    }
    sig_silence(&c->clean, 2.0);
    label_truth(c);
}

/* Truth: a frame is speech if the clean signal is within 35 dB of its utterance's peak frame;
   each utterance's true start and end are its first and last such frame. */
void label_truth(corpus *c)
{
    c->frames = c->clean.n / FRAME;
    free(c->truth);
    c->truth = calloc(c->frames, 1);
    double power = 0;
    size_t speech_frames = 0;
    for (int u = 0; u < c->n_utt; u++) {
        double peak = -200;
        for (size_t f = c->utt[u].from / FRAME; f < c->utt[u].to / FRAME; f++) {
            double db = sig_rms_dbfs(c->clean.x + f * FRAME, FRAME);
            if (db > peak)
                peak = db;
        }
        size_t first = 0, last = 0, n = 0;
        double utt_power = 0;
        for (size_t f = c->utt[u].from / FRAME; f < c->utt[u].to / FRAME; f++) {
            double db = sig_rms_dbfs(c->clean.x + f * FRAME, FRAME);
            if (db > peak - 35.0) {
                c->truth[f] = 1;
                if (!first)
                    first = f;
                last = f;
                utt_power += pow(10.0, db / 10.0);
                n++;
            }
        }
        power += utt_power;
        speech_frames += n;
        c->utt[u].start = first * FRAME;
        c->utt[u].end = (last + 1) * FRAME;
        c->utt[u].level_db = 10.0 * log10(utt_power / (double)(n ? n : 1));
    }
    c->speech_power = power / (double)(speech_frames ? speech_frames : 1);
    for (int u = 0; u < c->n_utt; u++)
        c->utt[u].level_db -= 10.0 * log10(c->speech_power);
}

/* Noise of a kind, n samples, unit-less (scaled later). */
void make_noise(noise_kind kind, size_t n, sig_rng *r, double *x)
{
    sig_colour colour = {0};
    if (kind == BABBLE) {
        sig_babble(x, n, RATE, r);
        return;
    }
    if (kind == MUSIC) {
        size_t off = (size_t)(sig_uniform(r) * (double)music.n);
        for (size_t i = 0; i < n; i++)
            x[i] = music.x[(i + off) % music.n];
        return;
    }
    double chord[4] = {0};
    for (size_t i = 0; i < n; i++) {
        double w = sig_gauss(r), t = (double)i / RATE;
        switch (kind) {
        case WHITE: /* WHITE..HUM are the shared colours, in the same order */
        case PINK:
        case BROWN:
        case HUM: x[i] = sig_colour_next(&colour, (sig_colour_kind)kind, w, t); break;
        case CLICKS: x[i] = 0.05 * w + ((i % (RATE / 3)) < 32 ? 6 * w : 0); break;
        case CHORDS: /* a new chord of harmonic tones every 400 ms */
            if (i % (RATE * 2 / 5) == 0)
                for (int k = 0; k < 4; k++)
                    chord[k] = 110.0 * pow(2.0, floor(sig_uniform(r) * 24) / 12.0);
            x[i] = 0;
            for (int k = 0; k < 4; k++)
                for (int h = 1; h <= 4; h++)
                    x[i] += sin(6.2832 * chord[k] * h * t) / h;
            break;
        default: break;
        }
    }
}

/* Adds noise to a copy of `clean` at `snr` dB below the speech power (noise-only if clean is
   NULL: noise at the level of the 5 dB case). */
void mix(const corpus *c, noise_kind kind, double snr, sig_rng *r, sig_buf *out, int noise_only)
{
    size_t n = c->clean.n;
    double *x = malloc(n * sizeof *x), e = 0;
    make_noise(kind, n, r, x);
    for (size_t i = 0; i < n; i++)
        e += x[i] * x[i];
    double target = c->speech_power * 32768.0 * 32768.0 / pow(10.0, snr / 10.0);
    double g = sqrt(target / (e / (double)n));
    sig_init(out, RATE);
    sig_silence(out, (double)n / RATE);
    for (size_t i = 0; i < n; i++) {
        double v = (noise_only ? 0 : c->clean.x[i]) + g * x[i];
        out->x[i] = sig_pcm(v);
    }
    free(x);
}
