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

# The real-time suites (label `realtime`: live, crash, attack, serve) run one at a time and
# leave a core idle, most of each stage's wall time. So the sanitizer stages' other work runs in
# the background at idle priority (SCHED_IDLE takes only CPU that nothing else wants, so the
# real-time suites still have the machine to themselves): the ASan tree is built and its other
# tests run, then the TSan tree and its other tests, then the fuzzers' tree. Each stage then
# prints that part's ctest report and runs its real-time suites itself.
sanitizer_flags=(-DCMAKE_BUILD_TYPE=Debug -DCALLREC_BENCH=OFF)
build_asan() { configure_and_build build-asan "${sanitizer_flags[@]}" -DCALLREC_SANITIZE=address,undefined; }
build_tsan() { configure_and_build build-tsan "${sanitizer_flags[@]}" -DCALLREC_SANITIZE=thread; }
build_fuzz() {
  CC=clang configure_and_build build-fuzz "${sanitizer_flags[@]}" -DCALLREC_FUZZ=ON \
    -DCALLREC_FUZZ_SECONDS="$fuzz_seconds"
}
test_asan() {
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp" \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" "$@"
}
test_tsan() {
  TSAN_OPTIONS="halt_on_error=1 suppressions=$PWD/tests/tsan.supp" \
    ctest --test-dir build-tsan --output-on-failure -j"$jobs" "$@"
}

steps=$(mktemp -d)
background=
trap 'if [[ -n $background ]]; then kill "$background" 2>/dev/null || true; fi; rm -rf "$steps"' EXIT
# Runs each named step (a function of no arguments) in order, at idle
# priority; each leaves its output and exit status in $steps. The first failure stops the chain.
run_in_background() {
  (
    chrt --idle -p 0 "$BASHPID" >/dev/null
    for step in "$@"; do
      rc=0
      $step >"$steps/$step.log" 2>&1 || rc=$?
      echo "$rc" >"$steps/$step.rc"
      [[ $rc == 0 ]] || exit
    done
  ) &
  background=$!
}
# Waits for a background step; prints its output if asked (a test report) or if it failed.
wait_for() {
  local step=$1 show=${2:-}
  until [[ -e $steps/$step.rc ]]; do
    kill -0 "$background" 2>/dev/null || [[ -e $steps/$step.rc ]] || {
      echo "the background step $step stopped without a result" >&2; exit 1; }
    sleep 1
  done
  if [[ -n $show || $(<"$steps/$step.rc") != 0 ]]; then
    cat "$steps/$step.log"
  fi
  if [[ $(<"$steps/$step.rc") != 0 ]]; then
    echo "$step failed" >&2
    exit 1
  fi
}
asan_others() { test_asan -LE realtime; }
tsan_others() { test_tsan -LE realtime; }

stage "release build, all tests"
configure_and_build build -DCMAKE_BUILD_TYPE=Release
run_in_background build_asan asan_others build_tsan tsan_others build_fuzz
ctest --test-dir build --output-on-failure -j"$jobs"

stage "AddressSanitizer + UndefinedBehaviorSanitizer"
wait_for build_asan
echo "-- the tests that keep no real time, run in the background:"
wait_for asan_others show
echo "-- the real-time suites:"
test_asan -L realtime

stage "ThreadSanitizer"
wait_for build_tsan
echo "-- the tests that keep no real time, run in the background:"
wait_for tsan_others show
echo "-- the real-time suites:"
test_tsan -L realtime

stage "libFuzzer: request parser, prompt loader, session at once; ${fuzz_cpu_seconds} s of CPU each"
wait_for build_fuzz
LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp" \
  ctest --test-dir build-fuzz --output-on-failure -L fuzz -j"$fuzz_targets"
stage "done"
