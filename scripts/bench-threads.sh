#!/usr/bin/env bash
# Threads beside other work: the time of one training update of demo.sh's
# Aaren agent (the bundled hopper-medium-expert cut, 2 episodes an update,
# bf16) at --threads 1 and 2, and at 2 with OMP_WAIT_POLICY=PASSIVE, on a quiet
# machine and beside NEIGHBOURS busy processes (shell loops, one core each).
# LibTorch's threads are libgomp's, which spin at every barrier: a thread that
# has lost its core to a neighbour holds up the others until the scheduler
# gives it back (docs/BENCHMARKS.md, "Threads beside other work").
#
# Each cell trains up to UPDATES updates for at most LIMIT seconds (the slow
# ones stop at the limit; its one evaluation comes after the last update) and
# is timed from its train_log.csv: the seconds from update 1 to its last
# update, per update. Beside the time, a SHA-256 of the losses of its first 10
# updates: the waiting policy may change the time, and this shows whether it
# changed the numbers. Run it on an otherwise quiet machine: it measures the
# load first (scripts/busy-cores.sh) and refuses a busy one.
#
# Usage: scripts/bench-threads.sh [--neighbours N] [--updates N] [--limit S] [--csv FILE]
#   (AAREN: the binary, default build/aaren; defaults 1, 40, 90, docs/bench/threads.csv)
set -euo pipefail
export LC_ALL=C  # awk's numbers with a decimal point whatever the user's locale
cd "$(dirname "$0")/.."
A=${AAREN:-build/aaren}
NEIGHBOURS=1 UPDATES=40 LIMIT=90 CSV=docs/bench/threads.csv
while (($#)); do
  case $1 in
    --neighbours) NEIGHBOURS=$2 ;;
    --updates) UPDATES=$2 ;;
    --limit) LIMIT=$2 ;;
    --csv) CSV=$2 ;;
    *) echo "bench-threads: unknown option '$1' (see the usage in $0)" >&2; exit 2 ;;
  esac
  shift 2
done
command -v "$A" > /dev/null || { echo "bench-threads: $A: no aaren binary (build it, or set AAREN)" >&2; exit 2; }
busy=$(scripts/busy-cores.sh 1)
awk -v b="$busy" 'BEGIN { exit !(b < 0.3) }' || {
  echo "bench-threads: $busy cores are busy with other work; run it on a quiet machine" >&2
  exit 2
}
DATA=data/bundled/hopper-medium-expert-mini.hdf5
TMP=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2> /dev/null || true; rm -rf "$TMP"' EXIT

# One cell: ENV THREADS -> "SECONDS_PER_UPDATE,LOSSES_SHA256" ("-" for what it did not reach:
# 2 logged updates, 10 logged updates).
cell() {
  local env=$1 threads=$2 out=$TMP/run
  rm -rf "$out"
  # --foreground: timeout stays in this shell's process group, so a Ctrl-C stops the cell too.
  env $env timeout --foreground "$LIMIT" "$A" train --dataset "$DATA" --backbone aaren --out "$out" \
    --aaren-batch 2 --updates "$UPDATES" --lr 1e-3 --warmup 5 --precision bf16 --threads "$threads" \
    --eval-every "$UPDATES" --eval-episodes 1 --seed 0 > "$TMP/log" 2>&1 || true
  [[ -f $TMP/provenance.json || ! -f $out/config.json ]] || cp "$out/config.json" "$TMP/provenance.json"
  local log=$out/train_log.csv seconds losses=-
  seconds=$(awk -F, 'NR == 2 { u1 = $1; s1 = $4 } NR > 2 { u = $1; s = $4 }
    END { if (u > u1) printf "%.3f\n", (s - s1) / (u - u1); else print "-" }' "$log" 2> /dev/null || echo "-")
  if [[ -f $log ]] && (($(wc -l < "$log") >= 11)); then
    losses=$(sed -n 2,11p "$log" | cut -d, -f1,2 | sha256sum | cut -c1-16)
  fi
  echo "$seconds,$losses"
}

echo "neighbours,threads,omp_wait_policy,seconds_per_update,losses_1_10_sha256" > "$TMP/threads.csv"
for n in 0 "$NEIGHBOURS"; do
  for ((i = 0; i < n; i++)); do
    sh -c 'while :; do :; done' &
    pids+=($!)
  done
  for setting in "- 1" "- 2" "OMP_WAIT_POLICY=PASSIVE 2"; do
    read -r env threads <<< "$setting"
    [[ $env == - ]] && env="" policy=default || policy=passive
    s=$(cell "$env" "$threads")
    echo "$n,$threads,$policy,$s" | tee -a "$TMP/threads.csv"
  done
  kill "${pids[@]}" 2> /dev/null || true
  pids=()
done
mv "$TMP/threads.csv" "$CSV"
# The machine beside the numbers: the first cell's own provenance (what every
# `aaren train` records: the CPU, its ATen and OpenBLAS kernels, the commit,
# LibTorch), and this benchmark's settings.
/usr/bin/python3 - "$TMP/provenance.json" "$NEIGHBOURS" "$UPDATES" "$LIMIT" > "${CSV%.csv}.config.json" << 'PYTHON'
import json, sys
config, neighbours, updates, limit = sys.argv[1:]
provenance = json.load(open(config))["provenance"]
record = {key: provenance.get(key) for key in ("machine", "commit", "libtorch")}
record.update(neighbours=int(neighbours), updates=int(updates), limit_seconds=int(limit))
print(json.dumps(record, indent=2))
PYTHON
echo "bench-threads: $CSV (${CSV%.csv}.config.json: the machine and the binary)"
