#!/usr/bin/env bash
# Data-parallel training scores the same as one process: trains the demo's
# schedule (scripts/demo.sh: 1500 updates, lr 1e-3 with a cosine, bf16) on the
# bundled Hopper cut with 1 rank and with 2 ranks (same global batch), for
# several seeds, and prints the final evaluations side by side with a CSV.
# Resumable: a run whose checkpoint.pt exists is skipped.
#
# Usage: scripts/compare-ranks.sh [BACKBONE] [SEED...]
#   default: transformer, seeds 1 2 3. Environment: AAREN (binary), OUT (runs/compare-ranks),
#   EPISODES (evaluation episodes, default 10), UPDATES (default 1500).
set -euo pipefail
cd "$(dirname "$0")/.."
BACKBONE=${1:-transformer}
shift || true
SEEDS=("$@")
((${#SEEDS[@]})) || SEEDS=(1 2 3)
A=${AAREN:-build/aaren}
OUT=${OUT:-runs/compare-ranks}
EPISODES=${EPISODES:-10}
UPDATES=${UPDATES:-1500}
DATA=data/bundled/hopper-medium-expert-mini.hdf5
[[ -x $A ]] || { echo "compare-ranks: $A not built (./scripts/test.sh builds it)" >&2; exit 1; }
mkdir -p "$OUT"
for seed in "${SEEDS[@]}"; do
  for nproc in 1 2; do
    dir=$OUT/$BACKBONE-nproc$nproc-seed$seed
    if [[ -f $dir/checkpoint.pt ]]; then
      echo "[$BACKBONE nproc $nproc seed $seed] done: skipped"
      continue
    fi
    echo "[$BACKBONE nproc $nproc seed $seed] training"
    # One thread per rank: 2 ranks use the 2 cores, 1 rank uses 1 core (and the
    # single-process run is the baseline, not a tuned configuration).
    "$A" train --dataset "$DATA" --backbone "$BACKBONE" --out "$dir" --aaren-batch 2 --updates "$UPDATES" \
      --lr 1e-3 --warmup 50 --lr-schedule cosine --precision bf16 --threads 1 --seed "$seed" \
      --eval-episodes "$EPISODES" --nproc "$nproc" --overwrite >"$dir.log" 2>&1 || { tail -3 "$dir.log"; exit 1; }
  done
done
/usr/bin/python3 - "$OUT" "$BACKBONE" "${SEEDS[@]}" <<'EOF'
import csv, statistics, sys
out, backbone, seeds = sys.argv[1], sys.argv[2], sys.argv[3:]
rows, scores = [], {1: [], 2: []}
for seed in seeds:
    for nproc in (1, 2):
        d = f"{out}/{backbone}-nproc{nproc}-seed{seed}"
        last = list(csv.DictReader(open(f"{d}/eval.csv")))[-1]
        log = list(csv.DictReader(open(f"{d}/train_log.csv")))
        secs = float(log[-1]["seconds"])
        scores[nproc].append(float(last["score_mean"]))
        rows.append([backbone, nproc, seed, float(last["score_mean"]), float(last["score_std"]), secs / len(log) * 1e3])
print("| backbone | ranks | seed | normalised score (target 3600) | +- over episodes | ms per update |")
print("|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.1f} | {r[4]:.1f} | {r[5]:.0f} |")
for n in (1, 2):
    s = scores[n]
    sd = statistics.stdev(s) if len(s) > 1 else 0.0
    print(f"{n} rank(s): {statistics.mean(s):.1f} +- {sd:.1f} over {len(s)} seeds")
with open(f"{out}/{backbone}-summary.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["backbone", "nproc", "seed", "score_mean", "score_std", "ms_per_update"])
    w.writerows(rows)
EOF
