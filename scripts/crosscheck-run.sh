#!/usr/bin/env bash
# DT's full recipe, the protocol's cross-check (docs/RESULTS.md): a finished seed-1
# cell of the protocol table continued from its 40k updates to DT's 100k, evaluated
# every 1,000 updates at both targets, with 50 episodes at the last point.
#
# Why a continuation is DT's run: the protocol's schedule is DT's (AdamW, lr 1e-4,
# linear warm-up over 10k updates, then a constant rate; Chen et al. 2021,
# gym/experiment.py), so the first 40k updates of DT's 100k-update run are the
# cell, and a resumed run computes what an uninterrupted one does (the pilot's
# points at 45k, 50k, ... are the check: docs/results/protocol-pilot/).
#
# Usage: scripts/crosscheck-run.sh DATASET ARM
#   DATASET  hopper-medium or walker2d-medium (the issue's two)
#   ARM      aaren or transformer
# Environment: AAREN (a frozen binary), PARK_EVERY, SLICE as for
# scripts/protocol-cell.sh, which trains the run (in CROSS_RUNS=runs/crosscheck,
# records copied to CROSS_RESULTS=docs/results/crosscheck, parked to
# data/in-flight/ as it trains); RUNS=runs/protocol, where the seed-1 cell is.
#
# Resumable: a run already under way (here or parked) continues; a finished one
# is skipped. Starting needs the cell: scripts/protocol-cell.sh DATASET ARM 1.
set -euo pipefail
{
cd "$(dirname "$0")/.."
if (($# != 2)); then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
  exit 2
fi
DATASET=$1 ARM=$2
case "$ARM" in
  aaren | transformer) ;;
  *) echo "crosscheck-run: ARM must be aaren or transformer, got '$ARM'" >&2; exit 2 ;;
esac
CROSS_RUNS=${CROSS_RUNS:-runs/crosscheck} CROSS_RESULTS=${CROSS_RESULTS:-docs/results/crosscheck}
CELL=${RUNS:-runs/protocol}/$DATASET/$ARM-seed1
RUN=$CROSS_RUNS/$DATASET/$ARM-seed1
PARKED=${IN_FLIGHT:-data/in-flight}/$RUN
mkdir -p "$(dirname "$RUN")"
exec 8>"$RUN.setup.lock"
flock 8  # two callers at once: the second sees the first's run, set up whole
if [[ ! -f $RUN/config.json && ! -f $PARKED/config.json ]]; then
  # (checkpoint.pt is written before the cell's final evaluation: its kept records say it finished.)
  [[ -f $CELL/checkpoint.pt && -f ${RESULTS:-docs/results/protocol}/$DATASET/$ARM-seed1/eval-final.json ]] || {
    echo "crosscheck-run: $CELL/checkpoint.pt: no finished cell to continue (run scripts/protocol-cell.sh $DATASET $ARM 1)" >&2
    exit 2
  }
  # The cell's final checkpoint as a periodic one, so that the run resumes from it.
  at=$(tail -1 "$CELL/train_log.csv" | cut -d, -f1)
  rm -rf "$RUN.tmp"
  mkdir -p "$RUN.tmp"
  cp "$CELL/config.json" "$CELL/train_log.csv" "$CELL/eval.csv" "$RUN.tmp/"
  cp "$CELL/checkpoint.pt" "$RUN.tmp/checkpoint_$at.pt"
  rm -rf "$RUN"
  mv "$RUN.tmp" "$RUN"
  echo "[crosscheck $DATASET $ARM] from the cell's $at updates"
fi
exec 8>&-
UPDATES=100000 RUNS=$CROSS_RUNS RESULTS=$CROSS_RESULTS scripts/protocol-cell.sh "$DATASET" "$ARM" 1
exit
}
