#!/usr/bin/env bash
# Instruction counts (callgrind) beside the timings, which move with this machine's load: the
# program on bench_cli's 300 s answer at 16, 8 and 44.1 kHz, whole process, and the reference
# detectors on the same file; then bench_scale's pipelines per session and 10 ms.
# Usage: bash scripts/instruction-counts.sh [BUILD_DIR]   (needs valgrind)
set -euo pipefail
build=${1:-build}
command -v valgrind >/dev/null || { echo "instruction-counts: valgrind is not installed" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
ir() { grep -m1 '^summary:' "$1" | awk '{print $2}'; }
printf '%-8s %16s %16s %8s\n' rate "callrec (Ir)" "reference (Ir)" ratio
for rate in 16000 8000 44100; do
  valgrind -q --tool=callgrind --trace-children=yes --callgrind-out-file="$out/cli.%p" \
    "$build/bench/bench_cli" --only cli --rate "$rate" >/dev/null 2>&1
  # The program's own file: the one whose command line is callrec's.
  cli=$(grep -l '^cmd: .*/callrec record' "$out"/cli.* | head -1)
  valgrind -q --tool=callgrind --toggle-collect=run_reference --callgrind-out-file="$out/ref" \
    "$build/bench/bench_cli" --only reference --rate "$rate" >/dev/null 2>&1
  a=$(ir "$cli") b=$(ir "$out/ref")
  printf '%-8s %16s %16s %8.2f\n' "$rate" "$a" "$b" "$(echo "$b / $a" | bc -l)"
  rm -f "$out"/cli.* "$out/ref"
done
# bench_scale (50 sessions, 6 s): instructions per session and 10 ms. callrec's full pipeline
# ran 300 frames of 20 ms per session (the warm-up second included), the others 250; the
# reference's detection is counted over its two pipelines (detecting only, and writing).
valgrind -q --tool=callgrind --callgrind-out-file="$out/scale" \
  "$build/bench/bench_scale" --sessions 50 --seconds 6 --dir "$out" >/dev/null 2>&1
incl() {
  callgrind_annotate --inclusive=yes "$out/scale" 2>/dev/null |
    awk -v f=":$1 " 'index($0, f) {gsub(",", "", $1); print $1; exit}'
}
full=$(incl callrec_slice) det=$(incl detectors_slice)
ref=$(( $(incl WebRtcVad_Process) + $(incl dtmf_rx) ))
printf 'callrec full pipeline      %6d Ir per session and 10 ms\n' $((full / (50 * 300 * 2)))
printf 'callrec detectors alone    %6d\n' $((det / (50 * 250 * 2)))
printf 'reference detectors alone  %6d\n' $((ref / (2 * 50 * 250 * 2)))
