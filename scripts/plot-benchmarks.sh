#!/usr/bin/env bash
# Draws the benchmarks' figures from their raw JSON (bench/results/raw/*.json) into docs/plots/:
#   dtmf-latency.png   tone onset -> report, CDF of every onset, callrec beside spandsp
#   dtmf-detection.png detection rate of each receiver test (Q.24 plan)
#   vad-end-error.png  |end error| CDF at 20, 10 and 5 dB SNR, callrec beside WebRTC's modes
#   vad-f1.png         frame F1 against SNR, callrec beside WebRTC's modes
#   vad-hard.png       hard answers: started and ended on time, callrec, WebRTC, Silero
#   scale-rates.png    cost of a call at each input rate
#   scale-slices.png   calls per core in each timed slice, callrec beside the reference
# gnuplot draws (bash scripts/setup.sh --bench installs it); Python's json reads.
#   bash scripts/plot-benchmarks.sh [RESULTS_DIR] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
results=${1:-bench/results/raw}
out=${2:-docs/plots}
command -v gnuplot >/dev/null || { echo "plot-benchmarks: gnuplot is needed (bash scripts/setup.sh --bench)" >&2; exit 2; }
mkdir -p "$out"
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
/usr/bin/python3 - "$results" "$data" <<'PY'
import json, os, sys
results, data = sys.argv[1], sys.argv[2]

def load(name):
    path = os.path.join(results, name)
    return json.load(open(path)) if os.path.exists(path) else None

def cdf(values, path):
    values = sorted(v for v in values if v is not None)
    with open(path, "w") as f:
        for i, v in enumerate(values):
            f.write("%g %g\n" % (v, (i + 1) / len(values)))
    return len(values)

d = load("dtmf.json")
if d:
    names = []
    for r in d["latency"]:
        if "ms" in r and r["ms"]:
            name = r["receiver"].replace(" ", "_")
            cdf(r["ms"], os.path.join(data, "lat_" + name))
            names.append(name)
    open(os.path.join(data, "lat_names"), "w").write(" ".join(names))
    with open(os.path.join(data, "plan"), "w") as f:
        cols = [k for k in d["plan"][0] if k not in ("id", "what")]
        f.write("test " + " ".join(c.replace(" ", "-") for c in cols) + "\n")
        for t in d["plan"]:
            f.write(t["id"] + " " + " ".join(str(t.get(c, 0)) for c in cols) + "\n")

v = load("vad.json")
if v:
    cases = [c for c in v["cases"] if c["channel"] == "wideband"]
    dets = sorted({c["detector"] for c in cases}, key=lambda x: (x != "callrec", x))
    snrs = sorted({c["snr"] for c in cases}, reverse=True)
    with open(os.path.join(data, "f1"), "w") as f:
        f.write("snr " + " ".join(dets) + "\n")
        for s in snrs:
            row = []
            for dname in dets:
                xs = [c["f1"] for c in cases if c["snr"] == s and c["detector"] == dname]
                row.append("%.4f" % (sum(xs) / len(xs)))
            f.write("%d %s\n" % (s, " ".join(row)))
    for s in (20, 10, 5):
        for dname in dets:
            ends = [abs(e) for c in cases if c["snr"] == s and c["detector"] == dname
                    for e in c.get("end_ms", []) if e is not None]
            if ends:
                cdf(ends, os.path.join(data, "end_%d_%s" % (s, dname)))
    open(os.path.join(data, "vad_dets"), "w").write(" ".join(dets))

h = load("vad-hard.json")
if h:
    rows = {}
    for m in h["mixes"]:
        if m["case"] == "bed alone":
            continue
        key = ("%s/%s/%d" % (m["case"], m["bed"], m["snr"])).replace(" ", "_")
        r = rows.setdefault(key, {})
        t = r.setdefault(m["detector"], [0, 0, 0])
        t[0] += 1; t[1] += m["started"]; t[2] += m["on_time"]
    dets = sorted({m["detector"] for m in h["mixes"]}, key=lambda x: (x != "callrec", x))
    with open(os.path.join(data, "hard"), "w") as f:
        f.write("case " + " ".join(dets) + "\n")
        for key, r in rows.items():
            f.write(key + " " + " ".join("%.1f" % (100.0 * r[dn][2] / r[dn][0]) if dn in r else "0"
                                         for dn in dets) + "\n")

s = load("scale-rates.json")
if s:
    with open(os.path.join(data, "rates"), "w") as f:
        for r in s["rates"]:
            f.write("%d %.3f\n" % (r["rate"], r["us_per_10ms"]))
s = load("scale-ext4.json")
if s and "pipelines" in s:
    with open(os.path.join(data, "slices"), "w") as f:
        pipes = s["pipelines"]
        f.write("slice " + " ".join('"%s"' % p["name"] for p in pipes) + "\n")
        for i in range(len(pipes[0]["slices_x_realtime"])):
            f.write("%d %s\n" % (i + 1, " ".join(str(p["slices_x_realtime"][i]) for p in pipes)))
PY
plot() { gnuplot -e "set terminal pngcairo noenhanced size 900,560 font 'sans,11'; set output '$out/$1'; $2"; }
if [ -s "$data/lat_names" ]; then
  cmd="set title 'DTMF: tone onset to report ($(basename "$results")/dtmf.json)'; set xlabel 'ms'; set ylabel 'share of onsets'; set key bottom right; set grid; plot"
  sep=""
  for n in $(cat "$data/lat_names"); do cmd="$cmd$sep '$data/lat_$n' using 1:2 with lines lw 2 title '${n//_/ }'"; sep=","; done
  plot dtmf-latency.png "$cmd"
  cols=$(head -1 "$data/plan" | wc -w)
  cmd="set title 'DTMF receiver tests (ITU-T Q.24): detection rate by path'; set style data histograms; set style fill solid 0.8; set yrange [0:1.05]; set xtics rotate by -45; set key outside right; plot"
  sep=""
  for c in $(seq 2 "$cols"); do cmd="$cmd$sep '$data/plan' using $c:xtic(1) title columnheader($c)"; sep=","; done
  plot dtmf-detection.png "$cmd"
fi
if [ -f "$data/f1" ]; then
  n=$(head -1 "$data/f1" | wc -w)
  cmd="set title 'VAD: frame F1 against SNR (mean over the noises)'; set xlabel 'SNR, dB'; set ylabel 'F1'; set key bottom right; set grid; set xrange [*:*] reverse; plot"
  sep=""
  for c in $(seq 2 "$n"); do cmd="$cmd$sep '$data/f1' using 1:$c with linespoints lw 2 title columnheader($c)"; sep=","; done
  plot vad-f1.png "$cmd"
  cmd="set title 'VAD: |end of speech error|, CDF'; set xlabel 'ms'; set ylabel 'share of ends'; set xrange [0:1000]; set key bottom right; set grid; plot"
  sep=""
  for s in 20 10 5; do
    for dn in $(cat "$data/vad_dets"); do
      [ -f "$data/end_${s}_$dn" ] || continue
      cmd="$cmd$sep '$data/end_${s}_$dn' using 1:2 with lines lw $([ "$dn" = callrec ] && echo 3 || echo 1) title '$dn, $s dB'"
      sep=","
    done
  done
  [ -n "$sep" ] && plot vad-end-error.png "$cmd"
fi
if [ -f "$data/hard" ]; then
  n=$(head -1 "$data/hard" | wc -w)
  cmd="set title 'Hard answers: ended within 300 ms (%)'; set style data histograms; set style fill solid 0.8; set yrange [0:105]; set xtics rotate by -45 font ',8'; set key outside right; plot"
  sep=""
  for c in $(seq 2 "$n"); do cmd="$cmd$sep '$data/hard' using $c:xtic(1) title columnheader($c)"; sep=","; done
  plot vad-hard.png "$cmd"
fi
if [ -f "$data/rates" ]; then
  plot scale-rates.png "set title 'Cost of a call by input rate'; set xlabel 'input rate, Hz'; set ylabel 'us CPU per 10 ms'; set style fill solid 0.8; set boxwidth 0.6 relative; set grid y; plot '$data/rates' using 0:2:xtic(1) with boxes notitle"
fi
if [ -f "$data/slices" ]; then
  n=$(head -1 "$data/slices" | awk -F'"' '{print (NF - 1) / 2 + 1}')
  plot scale-slices.png "set title 'Calls per core in each timed slice (WAVs on ext4)'; set xlabel 'slice'; set ylabel 'x real time = calls per core'; set grid; set key outside right; set xtics 1; plot for [c=2:$n] '$data/slices' using 1:c with linespoints lw 2 title columnheader(c)"
fi
ls "$out"
