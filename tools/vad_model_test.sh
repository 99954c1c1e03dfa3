#!/usr/bin/env bash
# The VAD's three models' weights, dsp/vad_model.h (word continuation), dsp/vad_start_model.h
# (starts over music and fluctuating noise) and dsp/vad_end_model.h (end of speech), come from
# `tools/train_vad --train`, `--train-start` and `--train-end`: retrains one into a scratch file
# and checks that every weight matches the committed one (within 1e-3: the last bits of exp and
# tanh may differ between CPUs). One model per run, so ctest trains the three side by side.
#   vad_model_test.sh TRAINER OPTION COMMITTED_HEADER
set -euo pipefail
trainer=$1
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
numbers() { grep -o -- '-\?[0-9]\.[0-9]*e[-+][0-9]*f' "$1" | tr -d f; }
check() { # check OPTION COMMITTED
    local name
    name=$(basename "$2")
    "$trainer" "$1" "$scratch/$name" >/dev/null
    paste <(numbers "$2") <(numbers "$scratch/$name") | awk -v name="$name" -v option="$1" '
      NF != 2 { print name ": different number of weights"; bad = 1; exit }
      { d = $1 - $2; if (d < 0) d = -d
        if (d > 1e-3) { printf "%s weight %d: %s committed, %s retrained\n", name, NR, $1, $2; bad = 1 } }
      END { if (NR < 100) { print name ": too few weights read: " NR; bad = 1 }
            if (!bad) printf "%s: %d weights reproduced by train_vad %s\n", name, NR, option
            exit bad }'
}
check "$2" "$3"
