/* The frequencies the DTMF detector analyses: the four row and four column tones of ITU-T
   Q.23, then three dial tones (350 and 440 Hz of the North American precise dial tone, 425 Hz
   of ETSI ES 201 970's), in the order of its lanes. */
#ifndef CR_DTMF_FREQS_H
#define CR_DTMF_FREQS_H

#define CR_DTMF_FREQS 11
#define CR_DTMF_ANALYSIS_RATE 8000 /* the detector works at 8 kHz */

static const double cr_dtmf_freqs[CR_DTMF_FREQS] = {697.0, 770.0, 852.0, 941.0, 1209.0, 1336.0,
                                                    1477.0, 1633.0, 350.0, 425.0, 440.0};

#endif
