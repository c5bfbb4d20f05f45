#!/usr/bin/env bash
# The main job on the bundled default: train an Aaren agent and a Transformer
# agent for about five minutes each on the bundled Hopper medium-expert cut
# (D4RL-length episodes), roll both out in MuJoCo conditioned on DT's two
# Hopper targets (3600 and 1800), and print their D4RL normalised scores, time
# per env step and policy memory side by side; then the memory/latency
# benchmark against the tokens seen, with plots.
# Installs what it needs (scripts/setup.sh) and builds into build/.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build
DATA=data/bundled/hopper-medium-expert-mini.hdf5
OUT=runs/demo
mkdir -p "$OUT"
build/aaren data inspect "$DATA"
# DT's model (128-d, 3 layers, 1 head, dropout 0.1) in DT's interleaved
# token layout; the Transformer on DT's 64 windows of K = 20 steps, Aaren on
# 2 whole episodes per update (about as many steps, and exactly what its
# recurrent policy computes when acting). A short schedule instead of DT's
# 100k updates: 1500 updates, lr 1e-3 after 50 warm-up updates, then a cosine
# to 0; bf16 autocast (weights, optimiser and the scan state stay fp32).
# Evaluated at updates 500, 1000 and 1500 (OUT/BACKBONE/eval.svg); the
# final scores below come from `compare`, 10 episodes per target.
# --threads 2 is the faster on a quiet 2-core machine (0.09-0.12 s an update
# against 0.12-0.17 at 1), but beside other busy work OpenMP's spinning threads
# hold each other up (0.6-1.7 s an update beside one busy process, more while
# evaluating: docs/BENCHMARKS.md, "Threads beside other work"). There they wait
# asleep instead (OMP_WAIT_POLICY=PASSIVE: 0.13-0.18 s), which changes the time, not the numbers:
# when the 2 threads do not fit the idle cores with half a core to spare (the
# rule of aaren's own warning, base/cpu_load.h).
if [[ -z ${OMP_WAIT_POLICY:-} ]] &&
  LC_ALL=C awk -v b="$(scripts/busy-cores.sh)" -v n="$(nproc)" 'BEGIN { exit !(2 > n - b + 0.5) }'; then
  echo "Other work keeps cores busy here: OMP_WAIT_POLICY=PASSIVE (OpenMP's threads wait asleep)"
  export OMP_WAIT_POLICY=PASSIVE
fi
for backbone in aaren transformer; do
  echo
  build/aaren train --dataset "$DATA" --backbone "$backbone" --out "$OUT/$backbone" --aaren-batch 2 \
    --updates 1500 --lr 1e-3 --warmup 50 --lr-schedule cosine --precision bf16 --threads 2 \
    --eval-every 500 --eval-episodes 5 --seed 0 --overwrite
done
echo
# Scores, time per env step and memory of each agent in every way it can act
# (Aaren: recurrent in LibTorch and in the lean runtime; the Transformer:
# DT's window and a KV cache), at DT's Hopper targets 3600 and 1800.
for target in 3600 1800; do
  build/aaren compare "$OUT"/aaren/checkpoint.pt "$OUT"/transformer/checkpoint.pt \
    --episodes 10 --target-return "$target" --dataset "$DATA" --csv "$OUT/compare-$target.csv"
  echo
done
# Memory and latency against the tokens seen, side by side in one process
# (the full benchmark: build/aaren bench policy; docs/BENCHMARKS.md).
build/aaren bench policy --steps 300 --batch-size 1 --repeats 1 --sweep-tokens 3000 \
  --csv "$OUT/bench_policy.csv" --plot "$OUT/plots"
echo
echo "Outputs (CSV, SVG plots, checkpoints, configs): $OUT/"
