#!/usr/bin/env bash
# Token layouts on the bundled dataset: train the Aaren (and, with
# BACKBONES="aaren transformer", the Transformer) agent in the interleaved and
# the fused layout over several seeds, with the main job's short schedule,
# roll each out, and print mean +- std of the returns over seeds and the
# policy time per env step. Usage: scripts/compare-layouts.sh [SEEDS...]
# (default 1 2 3). UPDATES (default 300, the main job's) sets the schedule;
# OUT (default runs/layouts) where runs go. Needs a build (scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then SEEDS=("$@"); else SEEDS=(1 2 3); fi
BACKBONES=${BACKBONES:-aaren}
DATA=data/bundled/hopper-mixed-v0.hdf5
OUT=${OUT:-runs/layouts}
UPDATES=${UPDATES:-300}
mkdir -p "$OUT"
for backbone in $BACKBONES; do
  for tokens in interleaved fused; do
    for seed in "${SEEDS[@]}"; do
      dir="$OUT/$backbone-$tokens-seed$seed"
      build/aaren train --dataset "$DATA" --backbone "$backbone" --tokens "$tokens" --out "$dir" \
        --updates "$UPDATES" --lr 1e-3 --warmup 50 --eval-episodes 10 --seed "$seed" --threads 1 >/dev/null
      mode=recurrent; [ "$backbone" = transformer ] && mode=window
      build/aaren rollout --checkpoint "$dir/checkpoint.pt" --mode "$mode" --episodes 10 --num-envs 1 \
        --target-return 3600 --json > "$dir/rollout.json"
      echo "$backbone $tokens seed $seed: $(python3 -c "import json; r = json.load(open('$dir/rollout.json')); print(round(r['return_mean'], 1), 'return,', round(r['policy_us_per_step'], 1), 'us/step')")"
    done
  done
done
python3 - "$OUT" $BACKBONES <<'PY'
import glob, json, statistics, sys
out, backbones = sys.argv[1], sys.argv[2:]
print("\nbackbone     tokens       seeds  return (mean +- std over seeds)  policy us per env step (median over seeds)")
for b in backbones:
    for t in ("interleaved", "fused"):
        runs = [json.load(open(f)) for f in sorted(glob.glob(f"{out}/{b}-{t}-seed*/rollout.json"))]
        r = [x["return_mean"] for x in runs]
        us = [x["policy_us_per_step"] for x in runs]
        sd = statistics.pstdev(r) if len(r) > 1 else 0.0
        print(f"{b:12s} {t:12s} {len(r):5d}  {statistics.mean(r):8.1f} +- {sd:6.1f}                  {statistics.median(us):8.1f}")
PY
