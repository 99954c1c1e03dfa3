#!/usr/bin/env bash
# Rebuilds the bundled demo from Debian's asterisk-core-sounds-en-wav (Allison Smith's voice,
# CC BY-SA 3.0) with sox. The result is committed; this script documents how it was made.
set -euo pipefail
cd "$(dirname "$0")/../demo"
S=/usr/share/asterisk/sounds/en_US_f_Allison
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The prompt the bot plays.
sox "$S/vm-intro.wav" -r 8000 -c 1 -b 16 prompt.wav

# The caller: listens to the prompt and beep (about 5.9 s), answers, pauses, presses #.
sox -n -r 8000 -c 1 -b 16 "$tmp/wait.wav" trim 0 6.4
sox -n -r 8000 -c 1 -b 16 "$tmp/pause.wav" trim 0 0.35
sox -n -r 8000 -c 1 -b 16 "$tmp/gap.wav" trim 0 1.2
sox -n -r 8000 -c 1 -b 16 "$tmp/pound.wav" synth 0.12 sine 941 sine 1477 vol 0.14
sox -n -r 8000 -c 1 -b 16 "$tmp/tail.wav" trim 0 2.0
sox "$tmp/wait.wav" "$S/hello.wav" "$tmp/pause.wav" "$S/auth-thankyou.wav" \
    "$tmp/pause.wav" "$S/digits/4.wav" "$S/digits/2.wav" "$tmp/gap.wav" "$tmp/pound.wav" \
    "$tmp/tail.wav" "$tmp/dry.wav"
# A little line noise, as on a real call (sox -R: repeatable noise).
sox -R -n -r 8000 -c 1 -b 16 "$tmp/noise.wav" synth "$(soxi -D "$tmp/dry.wav")" whitenoise vol 0.002
sox -m "$tmp/dry.wav" "$tmp/noise.wav" -D caller.wav
