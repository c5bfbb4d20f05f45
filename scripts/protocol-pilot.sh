#!/usr/bin/env bash
# The protocol's pilot (docs/RESULTS.md): DT's full recipe (100k updates, DT's
# optimiser) on hopper-medium and walker2d-medium-replay, Aaren and the
# Transformer, seed 1, evaluated every 5,000 updates. With a constant rate after
# the warm-up, the first U updates of these runs are the protocol's run of
# length U (same seed, same batches), so their curves fix the protocol's length;
# on hopper-medium the whole 100k is DT's-recipe cross-check.
#
# The two arms of a dataset take turns in slices of SLICE seconds (default 1800),
# so that both curves grow together; each slice's partial record is copied to
# docs/results/protocol-pilot/. Resumable (scripts/protocol-cell.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export UPDATES=100000 EVAL_EVERY=5000 SLICE=${SLICE:-1800}
export RUNS=runs/protocol-pilot RESULTS=docs/results/protocol-pilot
for dataset in ${PILOT_DATASETS:-hopper-medium walker2d-medium-replay}; do
  while :; do
    pending=0
    for arm in aaren transformer; do
      rc=0
      scripts/protocol-cell.sh "$dataset" "$arm" 1 || rc=$?
      ((rc == 0 || rc == 3)) || exit "$rc"
      ((rc == 3)) && pending=1
      run=$RUNS/$dataset/$arm-seed1 keep=$RESULTS/$dataset/$arm-seed1
      mkdir -p "$keep" && cp "$run"/config.json "$run"/train_log.csv "$run"/eval.csv "$keep"/ 2>/dev/null || true
    done
    ((pending)) || break
  done
done
