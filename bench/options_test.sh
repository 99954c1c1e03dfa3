#!/usr/bin/env bash
# The benchmarks' command lines: --help lists the options and exits 0; an unknown option, a
# missing value or a value out of range is named on stderr with exit status 2; a JSON path that
# cannot be written stops the run at once with status 1 and leaves nothing behind. Every case
# here returns before any benchmarking starts.
set -uo pipefail
dir=$1
failures=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# expect STATUS PATTERN COMMAND...: the command exits with STATUS and its output matches PATTERN.
expect() {
  local want=$1 pattern=$2
  shift 2
  local out status
  out=$("$@" 2>&1)
  status=$?
  if [[ $status -ne $want ]] || ! grep -q -- "$pattern" <<<"$out"; then
    echo "FAIL: $* -> status $status (want $want), output: $out"
    failures=$((failures + 1))
  fi
}

benches=(bench_dtmf bench_vad bench_scale bench_cli)
[[ -x $dir/bench_live ]] && benches+=(bench_live)
for b in "${benches[@]}"; do
  expect 0 "usage: $b" "$dir/$b" --help
  expect 2 "$b: unknown option or missing value: --no-such-option" "$dir/$b" --no-such-option
  expect 2 "$b: unknown option or missing value: --json" "$dir/$b" --json
  expect 1 "$b: cannot write $scratch/missing/out.json" "$dir/$b" --json "$scratch/missing/out.json"
done
expect 2 "bench_vad: --seed takes a whole number from 0 to 4294967295, not '1.5'" \
  "$dir/bench_vad" --seed 1.5
expect 2 "bench_vad: --noise-minutes takes a number from 0.1 to 6000, not 'ten'" \
  "$dir/bench_vad" --noise-minutes ten
expect 2 "bench_scale: --sessions takes a whole number from 1 to 100000, not '0'" \
  "$dir/bench_scale" --sessions 0
expect 2 "bench_cli: --rate takes 16000, 8000 or 44100, not '22050'" \
  "$dir/bench_cli" --only cli --rate 22050
expect 2 "bench_vad: --rate takes a whole number from 8000 to 48000, not '7999'" \
  "$dir/bench_vad" --rate 7999
expect 2 "bench_scale: --seconds takes a number from 1 to 3600, not '5s'" \
  "$dir/bench_scale" --seconds 5s
if [[ -x $dir/bench_live ]]; then
  expect 2 "bench_live: --minutes takes a number from 0.01 to 1440, not '-3'" \
    "$dir/bench_live" --minutes -3
  expect 2 "bench_live: --period takes a whole number from 16 to 4096, not '1e9'" \
    "$dir/bench_live" --period 1e9
fi
[[ $failures -eq 0 ]] && echo "benchmark options: ${#benches[@]} benchmarks checked"
exit $((failures > 0))
