#!/usr/bin/env bash
# Retrains the VAD's three models and rewrites their weights headers in dsp/, then the tables
# derived from them (dsp/vad_tables.h): continuation and start first (they learn with the rules
# alone deciding clear speech), a rebuild, then the end model (it learns from the detector as
# built), then the tables and a last rebuild. About three minutes on two cores; the results
# depend only on the code, the fixed seeds and the data packages named in each header.
#   bash scripts/train-vad.sh [BUILD_DIR]     (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[ -d "$build" ] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
rebuild() { cmake --build "$build" -j"$(nproc)" --target train_vad gen_dsp_tables >/dev/null; }
rebuild
"$build/tools/train_vad" --train dsp/vad_model.h
"$build/tools/train_vad" --train-start dsp/vad_start_model.h
rebuild
"$build/tools/train_vad" --train-end dsp/vad_end_model.h
rebuild
"$build/tools/gen_dsp_tables" vad > dsp/vad_tables.h.part && mv dsp/vad_tables.h.part dsp/vad_tables.h
cmake --build "$build" -j"$(nproc)" >/dev/null
git diff --stat -- dsp/ || true
