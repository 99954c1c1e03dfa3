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

# The sanitizer and fuzzer trees are built in the background at idle priority while the
# stages before them run: most of a stage's wall time is the real-time suites (live, crash,
# attack, serve), which leave a core idle. SCHED_IDLE only takes CPU no test wants, so those
# suites see the machine as they would alone.
built=$(mktemp -d)
builder=
trap 'if [[ -n $builder ]]; then kill "$builder" 2>/dev/null || true; fi; rm -rf "$built"' EXIT
build_in_background() {
  (
    chrt --idle -p 0 "$BASHPID" >/dev/null
    for tree in "$@"; do
      IFS=: read -r dir cc args <<<"$tree"
      rc=0
      if [[ -n $cc ]]; then
        CC=$cc configure_and_build "$dir" $args >"$built/$dir.log" 2>&1 || rc=$?
      else
        configure_and_build "$dir" $args >"$built/$dir.log" 2>&1 || rc=$?
      fi
      echo "$rc" >"$built/$dir.rc"
      [[ $rc == 0 ]] || exit
    done
  ) &
  builder=$!
}
wait_for_tree() {
  local dir=$1
  until [[ -e $built/$dir.rc ]]; do
    kill -0 "$builder" 2>/dev/null || [[ -e $built/$dir.rc ]] || {
      echo "background build of $dir stopped without a result" >&2; exit 1; }
    sleep 1
  done
  if [[ $(<"$built/$dir.rc") != 0 ]]; then
    cat "$built/$dir.log" >&2
    echo "building $dir failed" >&2
    exit 1
  fi
}

stage "release build, all tests"
configure_and_build build -DCMAKE_BUILD_TYPE=Release
sanitizer_flags="-DCMAKE_BUILD_TYPE=Debug -DCALLREC_BENCH=OFF"
build_in_background \
  "build-asan::$sanitizer_flags -DCALLREC_SANITIZE=address,undefined" \
  "build-tsan::$sanitizer_flags -DCALLREC_SANITIZE=thread" \
  "build-fuzz:clang:$sanitizer_flags -DCALLREC_FUZZ=ON -DCALLREC_FUZZ_SECONDS=$fuzz_seconds"
ctest --test-dir build --output-on-failure -j"$jobs"

stage "AddressSanitizer + UndefinedBehaviorSanitizer"
wait_for_tree build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp" \
  ctest --test-dir build-asan --output-on-failure -j"$jobs"

stage "ThreadSanitizer"
wait_for_tree build-tsan
TSAN_OPTIONS="halt_on_error=1 suppressions=$PWD/tests/tsan.supp" \
  ctest --test-dir build-tsan --output-on-failure -j"$jobs"

stage "libFuzzer: request parser, prompt loader, session at once; ${fuzz_cpu_seconds} s of CPU each"
wait_for_tree build-fuzz
LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp" \
  ctest --test-dir build-fuzz --output-on-failure -L fuzz -j"$fuzz_targets"
stage "done"
