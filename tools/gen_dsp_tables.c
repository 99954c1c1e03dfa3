/* Writes the detectors' constant tables as static const data, so dsp/ needs no start-up code,
   no threads and no shared mutable state:
     gen_dsp_tables vad  > dsp/vad_tables.h   the VAD's FFT twiddles, bit reversal and windows,
                                              and its end model's first layer input by input
     gen_dsp_tables dtmf > dsp/dtmf_tables.h  the DTMF detector's block-DFT cosines and sines
   Every value is computed in double and rounded to float once; "%.9g" gives each float back
   exactly. ctest dsp_tables compares the output with the committed headers;
   scripts/train-vad.sh runs it after the end model is retrained. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dtmf.h"
#include "dtmf_freqs.h"
#include "vad.h"
#include "vad_end_model.h"

#define N (CR_VAD_FFT / 2)

/* A float literal that reads back as exactly x. */
static void number(float x)
{
    char text[32];
    snprintf(text, sizeof text, "%.9g", (double)x);
    printf("%s%sf", text, strpbrk(text, ".en") ? "" : ".0");
}

static void row(const char *decl, const float *x, int n)
{
    printf("%s = {", decl);
    for (int i = 0; i < n; i++) {
        printf("%s", i == 0 ? "\n    " : i % 6 ? ", " : ",\n    ");
        number(x[i]);
    }
    printf("};\n");
}

/* The periodic Hann window of an n-sample frame, split into its even and odd samples. */
static void hann(float *even, float *odd, int n)
{
    for (int m = 0; m < N; m++)
        even[m] = odd[m] = 0.0f;
    for (int m = 0; m < n / 2; m++) {
        even[m] = (float)(0.5 - 0.5 * cos(6.283185307179586 * (2 * m + 0.5) / n));
        odd[m] = (float)(0.5 - 0.5 * cos(6.283185307179586 * (2 * m + 1.5) / n));
    }
}

static void vad_tables(void)
{
    const double pi = 3.141592653589793;
    float tw_re[N], tw_im[N], stage_re[N] = {0}, stage_im[N] = {0};
    for (int i = 0; i < N; i++) {
        tw_re[i] = (float)cos(2.0 * pi * i / CR_VAD_FFT);
        tw_im[i] = (float)-sin(2.0 * pi * i / CR_VAD_FFT);
    }
    for (int half = 1; half < N; half <<= 1) {
        for (int k = 0; k < half; k++) {
            stage_re[half + k] = (float)cos(pi * k / half);
            stage_im[half + k] = (float)-sin(pi * k / half);
        }
    }
    int bits = 0;
    while ((1 << bits) < N)
        bits++;
    printf("/* Written by tools/gen_dsp_tables vad (scripts/train-vad.sh). Do not edit. */\n"
           "#ifndef CR_VAD_TABLES_H\n#define CR_VAD_TABLES_H\n\n");
    printf("/* e^{-2 pi j k / CR_VAD_FFT} */\n");
    row("static const float vad_tw_re[CR_VAD_FFT / 2]", tw_re, N);
    row("static const float vad_tw_im[CR_VAD_FFT / 2]", tw_im, N);
    printf("/* the twiddles of the stage of half-size h at [h, 2h) */\n");
    row("static const float vad_stage_re[CR_VAD_FFT / 2]", stage_re, N);
    row("static const float vad_stage_im[CR_VAD_FFT / 2]", stage_im, N);
    printf("/* bit reversal of the FFT's %d points */\n"
           "static const unsigned short vad_bitrev[CR_VAD_FFT / 2] = {", N);
    for (int i = 0; i < N; i++) {
        int r = 0;
        for (int b = 0; b < bits; b++)
            r |= ((i >> b) & 1) << (bits - 1 - b);
        printf("%s%d", i == 0 ? "\n    " : i % 16 ? ", " : ",\n    ", r);
    }
    printf("};\n");
    float even[N], odd[N];
    printf("/* Hann windows of 8 kHz (80-sample) and 16 kHz (160-sample) frames, even and odd "
           "samples */\n");
    hann(even, odd, 80);
    row("static const float vad_win8_even[CR_VAD_FFT / 2]", even, N);
    row("static const float vad_win8_odd[CR_VAD_FFT / 2]", odd, N);
    hann(even, odd, 160);
    row("static const float vad_win16_even[CR_VAD_FFT / 2]", even, N);
    row("static const float vad_win16_odd[CR_VAD_FFT / 2]", odd, N);
    printf("/* vad_end_w1 transposed, so the end model's hidden units add up four at a time */\n"
           "static const float vad_end_w1_by_input[CR_VAD_END_FEATURES][VAD_END_HIDDEN] = {");
    for (int k = 0; k < CR_VAD_END_FEATURES; k++) {
        printf("\n    {");
        for (int h = 0; h < VAD_END_HIDDEN; h++) {
            printf("%s", h ? ", " : "");
            number(vad_end_w1[h][k]);
        }
        printf("},");
    }
    printf("\n};\n\n#endif\n");
}

/* The block DFT's cosines and sines at each analysed frequency, [sample][lane] so that one
   sample updates every lane at once. */
static void dtmf_tables(void)
{
    const double two_pi = 6.283185307179586;
    printf("/* Written by tools/gen_dsp_tables dtmf. Do not edit. */\n"
           "#ifndef CR_DTMF_TABLES_H\n#define CR_DTMF_TABLES_H\n\n");
    for (int part = 0; part < 2; part++) {
        printf("static const _Alignas(32) float dtmf_%s_tab[CR_DTMF_HOP][CR_DTMF_LANES] = {",
               part ? "sin" : "cos");
        for (int m = 0; m < CR_DTMF_HOP; m++) {
            printf("\n    {");
            for (int f = 0; f < CR_DTMF_LANES; f++) {
                double w = f < CR_DTMF_FREQS ? two_pi * cr_dtmf_freqs[f] / CR_DTMF_ANALYSIS_RATE : 0;
                printf("%s", f ? ", " : "");
                number(f < CR_DTMF_FREQS ? (float)(part ? sin(w * m) : cos(w * m)) : 0.0f);
            }
            printf("},");
        }
        printf("\n};\n");
    }
    printf("\n#endif\n");
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "vad") == 0)
        vad_tables();
    else if (argc == 2 && strcmp(argv[1], "dtmf") == 0)
        dtmf_tables();
    else {
        fprintf(stderr, "usage: gen_dsp_tables vad|dtmf > HEADER\n");
        return 2;
    }
    return 0;
}
