#!/usr/bin/env bash
# Installs the Debian 12 packages callrec needs to build, test and run its demo.
# Non-interactive and idempotent: only packages that are missing are installed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  portaudio19-dev libsndfile1-dev libspeexdsp-dev libcjson-dev
  clang libclang-rt-dev
  sox espeak-ng asterisk-core-sounds-en-wav python3
  jackd2 libjack-jackd2-dev alsa-utils
  libspandsp-dev libwebrtc-audio-processing-dev fluidsynth fluid-soundfont-gm
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
