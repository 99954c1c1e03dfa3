/* Prototypes of the WebRTC VAD symbols Debian's libwebrtc-audio-processing exports (its -dev
   package has no header; these are the newer ABI: Create takes no argument, frame_length is
   a size_t). */
#ifndef CR_BENCH_WEBRTC_VAD_H
#define CR_BENCH_WEBRTC_VAD_H

#include <stddef.h>
#include <stdint.h>

typedef struct WebRtcVadInst VadInst;
VadInst *WebRtcVad_Create(void);
void WebRtcVad_Free(VadInst *handle);
int WebRtcVad_Init(VadInst *handle);
int WebRtcVad_set_mode(VadInst *handle, int mode);
int WebRtcVad_Process(VadInst *handle, int fs, const int16_t *audio_frame, size_t frame_length);

#endif
