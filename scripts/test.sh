#!/usr/bin/env bash
# Sets up, builds and runs every test: a release build, AddressSanitizer + UndefinedBehavior-
# Sanitizer, ThreadSanitizer, and bounded libFuzzer runs of the request parser, the prompt
# loader and the session. Each stage prints ctest's summary; the script stops at the first
# failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

jobs=$(nproc)
# Each fuzz target gets this much CPU. The three run at once, so on two cores each runs for
# 3/2 of it in wall time: the same fuzzing as two at a time and then one alone, 20 s sooner.
fuzz_cpu_seconds=${CALLREC_FUZZ_SECONDS:-40}
fuzz_targets=3
fuzz_seconds=$(( jobs >= fuzz_targets ? fuzz_cpu_seconds
                 : (fuzz_cpu_seconds * fuzz_targets + jobs - 1) / jobs ))

configure_and_build() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -DCALLREC_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null
}

# Each stage's heading, and how long the one before it took (CI's budget is watched by stage).
stage_start=$SECONDS
stage() {
  [[ -n ${stage_name:-} ]] && printf '== %s: %d s\n' "$stage_name" $((SECONDS - stage_start))
  stage_name=$1 stage_start=$SECONDS
  printf '\n== %s\n' "$1"
}

stage "release build, all tests"
configure_and_build build -DCMAKE_BUILD_TYPE=Release
ctest --test-dir build --output-on-failure -j"$jobs"

stage "AddressSanitizer + UndefinedBehaviorSanitizer"
configure_and_build build-asan -DCMAKE_BUILD_TYPE=Debug -DCALLREC_SANITIZE=address,undefined \
  -DCALLREC_BENCH=OFF
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp" \
  ctest --test-dir build-asan --output-on-failure -j"$jobs"

stage "ThreadSanitizer"
configure_and_build build-tsan -DCMAKE_BUILD_TYPE=Debug -DCALLREC_SANITIZE=thread \
  -DCALLREC_BENCH=OFF
TSAN_OPTIONS="halt_on_error=1 suppressions=$PWD/tests/tsan.supp" \
  ctest --test-dir build-tsan --output-on-failure -j"$jobs"

stage "libFuzzer: request parser, prompt loader, session at once; ${fuzz_cpu_seconds} s of CPU each"
CC=clang configure_and_build build-fuzz -DCMAKE_BUILD_TYPE=Debug -DCALLREC_FUZZ=ON \
  -DCALLREC_FUZZ_SECONDS="$fuzz_seconds" -DCALLREC_BENCH=OFF
LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp" \
  ctest --test-dir build-fuzz --output-on-failure -L fuzz -j"$fuzz_targets"
stage "done"
