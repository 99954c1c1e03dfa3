#!/usr/bin/env bash
# The word-continuation model's weights in dsp/vad_model.h come from `bench_vad --train`:
# retrains into a scratch file and checks that every weight matches the committed one (within
# 1e-3: the last bits of exp and tanh may differ between CPUs).
set -euo pipefail
bench=$1
committed=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"$bench" --train "$scratch/vad_model.h" >/dev/null
numbers() { grep -o -- '-\?[0-9]\.[0-9]*e[-+][0-9]*f' "$1" | tr -d f; }
paste <(numbers "$committed") <(numbers "$scratch/vad_model.h") | awk '
  NF != 2 { print "different number of weights"; bad = 1; exit }
  { d = $1 - $2; if (d < 0) d = -d; if (d > 1e-3) { printf "weight %d: %s committed, %s retrained\n", NR, $1, $2; bad = 1 } }
  END { if (NR < 100) { print "too few weights read: " NR; bad = 1 }
        if (!bad) printf "vad_model.h: %d weights reproduced by bench_vad --train\n", NR; exit bad }'
