#!/usr/bin/env bash
# The main job on the bundled default: train an Aaren agent and a Transformer
# agent for a few minutes each on the bundled mixed-quality Hopper dataset,
# roll both out in MuJoCo conditioned on a high target return (and on one
# the data support), and print
# their scores, time per env step and policy memory side by side.
# Installs what it needs (scripts/setup.sh) and builds into build/.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build
DATA=data/bundled/hopper-mixed-v0.hdf5
OUT=runs/demo
mkdir -p "$OUT"
build/aaren data inspect "$DATA"
# DT's model (128-d, 3 layers, 1 head, dropout 0.1), batch 64 windows of K = 20
# for the Transformer and 8 whole episodes for Aaren; a short schedule
# (300 updates, lr 1e-3 after 50 warm-up updates) instead of DT's 100k.
# Each backbone in both token layouts: DT's interleaved (R, s, a: three
# tokens per env step) and fused (one token per env step).
for tokens in interleaved fused; do
  for backbone in aaren transformer; do
    echo
    build/aaren train --dataset "$DATA" --backbone "$backbone" --tokens "$tokens" --out "$OUT/$backbone-$tokens" \
      --updates 300 --lr 1e-3 --warmup 50 --eval-episodes 10 --seed 0
  done
done
echo
# Scores, time per env step and memory of every agent in each way it can
# act (Aaren: recurrent in LibTorch and in the lean runtime; the Transformer:
# DT's window and a KV cache).
# Conditioned on DT's Hopper target (3600: ten times the dataset's best
# episode, 349.7), then on 400, just above that best.
for target in 3600 400; do
  csv="$OUT/compare.csv"
  [ "$target" = 3600 ] || csv="$OUT/compare-$target.csv"
  build/aaren compare "$OUT"/aaren-interleaved/checkpoint.pt "$OUT"/aaren-fused/checkpoint.pt \
    "$OUT"/transformer-interleaved/checkpoint.pt "$OUT"/transformer-fused/checkpoint.pt \
    --episodes 10 --target-return "$target" --dataset "$DATA" --csv "$csv"
  echo
done
echo
# Memory and latency against the tokens seen, side by side in one process
# (the full benchmark: build/aaren bench policy; docs/BENCHMARKS.md).
build/aaren bench policy --steps 300 --batch 1 --repeats 1 --sweep-tokens 3000 \
  --csv "$OUT/bench_policy.csv" --plot "$OUT/plots"
echo
echo "Outputs (CSV, SVG plots, checkpoints, configs): $OUT/"
