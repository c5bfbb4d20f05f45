#!/usr/bin/env bash
# The whole D4RL-recipe score table, one cell after another, resumable: every
# cell of scripts/score-table.sh is skipped stage by stage once done, so a
# killed run continues where it stopped. Datasets not made yet are skipped
# with a note (make them with scripts/make-datasets.sh), then the summary is
# rebuilt by scripts/results-table.py.
#
# Usage: scripts/score-table-all.sh [DATASET...]
#   default: the 7 datasets of docs/RESULTS.md, seeds 1 2 3, both backbones.
# Environment: SEEDS="1 2 3" BACKBONES="aaren transformer", and every variable
#   of scripts/score-table.sh (schedule, AAREN=frozen binary, DATA, RUNS, ...).
set -uo pipefail
cd "$(dirname "$0")/.."
DATASETS=("$@")
((${#DATASETS[@]})) || DATASETS=(hopper-medium hopper-medium-replay hopper-medium-expert halfcheetah-medium
                                 halfcheetah-medium-replay walker2d-medium walker2d-medium-replay)
SEEDS=${SEEDS:-1 2 3} BACKBONES=${BACKBONES:-aaren transformer} DATA=${DATA:-datasets}
failed=0
for seed in $SEEDS; do
  for dataset in "${DATASETS[@]}"; do
    if [[ ! -f $DATA/$dataset.hdf5 ]]; then
      echo "[$dataset] $DATA/$dataset.hdf5 not made yet: skipped"
      continue
    fi
    for backbone in $BACKBONES; do
      scripts/score-table.sh "$dataset" "$backbone" "$seed" || { echo "[$dataset $backbone seed $seed] failed" >&2; failed=1; }
    done
  done
done
/usr/bin/python3 scripts/results-table.py || failed=1
exit $failed
