#!/usr/bin/env bash
# Sets up, builds, and records the bundled demo caller: plays demo/prompt.wav and a beep, then
# records until the caller presses #. Prints the completion notification; the recording and
# the event log land in out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
# the library too, so that `cmake --install build` works right after
cmake --build build -j"$(nproc)" --target callrec_cli callrec callrec_static >/dev/null
mkdir -p out
rm -f out/demo-events.jsonl # callrec never overwrites a file; the demo starts afresh
exec ./build/callrec record --request demo/request.json --input demo/caller.wav \
  --recording-dir out --events out/demo-events.jsonl
