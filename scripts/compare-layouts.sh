#!/usr/bin/env bash
# Token layouts on the bundled dataset: train the Aaren (and, with
# BACKBONES="aaren transformer", the Transformer) agent in the interleaved and
# the fused layout over several seeds, roll each out at every target return in
# TARGETS, and print mean +- std of the returns over seeds and the policy time
# per env step. Usage: scripts/compare-layouts.sh [SEEDS...] (default 1 2 3).
# UPDATES (default 300, the main job's) sets the schedule; TARGETS (default
# "400 3600": just above the dataset's best episode, 349.7, and DT's Hopper
# target) the conditioning; OUT (default runs/layouts) where runs go;
# FUSED_NORM=0 trains the fused token as the plain sum of its parts' embeddings
# (the layout before its per-part LayerNorms). Needs a build (scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then SEEDS=("$@"); else SEEDS=(1 2 3); fi
BACKBONES=${BACKBONES:-aaren}
DATA=data/bundled/hopper-mixed-v0.hdf5
OUT=${OUT:-runs/layouts}
UPDATES=${UPDATES:-300}
TARGETS=${TARGETS:-400 3600}
FUSED_NORM=${FUSED_NORM:-1}
mkdir -p "$OUT"
for backbone in $BACKBONES; do
  for tokens in interleaved fused; do
    for seed in "${SEEDS[@]}"; do
      dir="$OUT/$backbone-$tokens-seed$seed"
      build/aaren train --dataset "$DATA" --backbone "$backbone" --tokens "$tokens" --out "$dir" \
        --updates "$UPDATES" --lr 1e-3 --warmup 50 --eval-episodes 10 --seed "$seed" --threads 1 \
        --fused-norm "$FUSED_NORM" --overwrite >/dev/null
      mode=recurrent; [ "$backbone" = transformer ] && mode=window
      for target in $TARGETS; do
        build/aaren rollout --checkpoint "$dir/checkpoint.pt" --mode "$mode" --episodes 10 --num-envs 1 \
          --target-return "$target" --json > "$dir/rollout-$target.json"
        echo "$backbone $tokens seed $seed target $target: $(python3 -c "import json; r = json.load(open('$dir/rollout-$target.json')); print(round(r['return_mean'], 1), 'return,', round(r['policy_us_per_step'], 1), 'us/step')")"
      done
    done
  done
done
python3 - "$OUT" "$TARGETS" $BACKBONES <<'PY'
import glob, json, statistics, sys
out, targets, backbones = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
print("\nbackbone     tokens       target  seeds  return (mean +- std over seeds)  policy us per env step (median)")
for b in backbones:
    for target in targets:
        for t in ("interleaved", "fused"):
            runs = [json.load(open(f)) for f in sorted(glob.glob(f"{out}/{b}-{t}-seed*/rollout-{target}.json"))]
            r = [x["return_mean"] for x in runs]
            us = [x["policy_us_per_step"] for x in runs]
            sd = statistics.pstdev(r) if len(r) > 1 else 0.0
            print(f"{b:12s} {t:12s} {target:>6s}  {len(r):5d}  {statistics.mean(r):8.1f} +- {sd:6.1f}"
                  f"                  {statistics.median(us):8.1f}")
PY
