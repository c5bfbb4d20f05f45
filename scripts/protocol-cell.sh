#!/usr/bin/env bash
# One cell of the protocol table (docs/RESULTS.md, "The next table"): train one
# arm on one matched dataset with the protocol's schedule, evaluating at DT's two
# targets 10 times during training, then 50 episodes at the last point.
#
# Usage: scripts/protocol-cell.sh DATASET ARM SEED
#   DATASET  hopper-medium, walker2d-medium-replay, ... (files from
#            scripts/make-matched-datasets.sh, in $DATA)
#   ARM      aaren        Aaren, whole episodes from the first step (2 per update)
#            transformer  DT's Transformer on DT's windows (64 x K = 20)
#            bc           DT's BC control: the Transformer, return input held at 0
#            10bc         DT's 10%BC: BC on the best 10% of the timesteps by return
#            aaren-windows  the ablation row: Aaren on DT's windows (DT's sampler)
#            lstm         Decision LSTM as published (Siebenborn et al. 2022: DT with its
#                         Transformer replaced, the rest kept): DT's windows (64 x K = 20),
#                         acting as DT does, on the last K steps (--eval-mode window)
#            lstm-episodes  the LSTM on Aaren's pipeline: whole episodes (2 per update,
#                         chunks of 200 steps), acting recurrently in constant memory
#   SEED     1, 2, 3 (4, 5 where a verdict is inconclusive at 3)
# Environment:
#   UPDATES=...      gradient updates (default 40000: the protocol's length,
#                    fixed by its pilot in docs/RESULTS.md); given, it also takes
#                    a run being continued to that many
#   EVAL_EVERY=...   updates between evaluations (default 1000: the protocol's)
#   SLICE=SECONDS    stop training after this long (SIGTERM: the update in progress
#                    ends, a checkpoint is written) and exit 3, to be continued by
#                    the next call; 0 (default): train to the end
#   PARK_EVERY=SECONDS  park the run this often while it trains (default 1800;
#                    0: never): its newest checkpoint and records are copied to
#                    data/in-flight/ (scripts/park-runs.sh), so that a commit keeps
#                    it if the machine is lost
#   DATA=datasets/matched RUNS=runs/protocol RESULTS=docs/results/protocol
#   AAREN=build/aaren  a frozen copy, so rebuilding cannot change a long run
#   PROTOCOL_STOP_FILE  set by scripts/protocol-table.sh: a cell does not start while it exists
#
# Fixed by the protocol (its preset, configs/protocol/DATASET.json): DT's optimiser (AdamW, lr 1e-4, weight decay 1e-4, linear
# warm-up over 10k updates, then constant; Chen et al. 2021, gym/experiment.py),
# DT's model (128-d, 3 layers, 1 head, dropout 0.1), fp32, 1 thread, and kernels
# pinned (AAREN_REPRODUCIBLE=1) so that every AVX2 CPU gives the same bits.
#
# Resumable: a killed or sliced run continues from its newest checkpoint (a resumed
# run's record equals an uninterrupted one's); a finished stage is skipped. A run
# parked by scripts/park-runs.sh (data/in-flight/, committed) continues on any machine. The
# small files (config.json, train_log.csv, eval.csv, eval-final.json) are copied
# to $RESULTS/DATASET/ARM-seedSEED/.
set -euo pipefail
# The whole script is one block, read before it runs: editing this file while a
# cell is training cannot change what the running cell does next.
{
cd "$(dirname "$0")/.."

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  exit 0
fi
if (($# != 3)); then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
  exit 2
fi
DATASET=$1 ARM=$2 SEED=$3
case "$ARM" in
  aaren) ARM_FLAGS=(--backbone aaren --aaren-batch 2 --chunk-steps 200) ;;
  transformer) ARM_FLAGS=(--backbone transformer) ;;
  bc) ARM_FLAGS=(--backbone transformer --condition-on-return 0) ;;
  10bc) ARM_FLAGS=(--backbone transformer --condition-on-return 0 --top-fraction 0.1) ;;
  aaren-windows) ARM_FLAGS=(--backbone aaren --aaren-sampling windows) ;;
  lstm) ARM_FLAGS=(--backbone lstm --aaren-sampling windows --eval-mode window) ;;
  lstm-episodes) ARM_FLAGS=(--backbone lstm --aaren-batch 2 --chunk-steps 200) ;;
  *) echo "protocol-cell: ARM must be aaren, transformer, bc, 10bc, aaren-windows, lstm or lstm-episodes, got '$ARM'" >&2; exit 2 ;;
esac
[[ $SEED =~ ^[0-9]+$ ]] || { echo "protocol-cell: SEED must be a non-negative integer, got '$SEED'" >&2; exit 2; }
case "${DATASET%%-*}" in
  hopper) HIGH=3600 ;;
  halfcheetah) HIGH=12000 ;;
  walker2d) HIGH=5000 ;;
  *) echo "protocol-cell: DATASET must start with hopper, halfcheetah or walker2d, got '$DATASET'" >&2; exit 2 ;;
esac
# UPDATES given: a continued run is taken to that many (scripts/crosscheck-run.sh);
# not given: it ends where it was started to end.
MORE_UPDATES=()
[[ -n ${UPDATES:-} ]] && MORE_UPDATES=(--updates "$UPDATES")
UPDATES=${UPDATES:-40000} EVAL_EVERY=${EVAL_EVERY:-1000} SLICE=${SLICE:-0} PARK_EVERY=${PARK_EVERY:-1800}
# (`timeout`'s 30m would pass the shell's tests as no slice; 090 the shell reads as octal, and fails)
for var in UPDATES EVAL_EVERY SLICE PARK_EVERY; do
  [[ ${!var} =~ ^(0|[1-9][0-9]*)$ ]] || { echo "protocol-cell: $var must be a whole number without a leading 0 (updates, or seconds for SLICE and PARK_EVERY), got '${!var}'" >&2; exit 2; }
done
DATA=${DATA:-datasets/matched} RUNS=${RUNS:-runs/protocol} RESULTS=${RESULTS:-docs/results/protocol}
FILE=$DATA/$DATASET.hdf5
PRESET=configs/protocol/$DATASET.json  # DT's model and optimiser, fp32, 1 thread, 10 episodes per evaluation
[[ -f $PRESET ]] || { echo "protocol-cell: $PRESET: no preset for '$DATASET'" >&2; exit 2; }
[[ -f $FILE ]] || { echo "protocol-cell: $FILE: no such dataset (make it with scripts/make-matched-datasets.sh)" >&2; exit 2; }
A=${AAREN:-build/aaren}
[[ -x $A ]] || { echo "protocol-cell: $A: no aaren binary (build it, or set AAREN)" >&2; exit 2; }
export AAREN_REPRODUCIBLE=1

CELL=$ARM-seed$SEED
RUN=$RUNS/$DATASET/$CELL
KEEP=$RESULTS/$DATASET/$CELL
mkdir -p "$RUN"
exec 9>"$RUN.lock"
flock -n 9 || { echo "[$DATASET $CELL] running in another process: skipped"; exit 0; }
# The table's stop mark (scripts/protocol-table.sh --stop), looked at again once the lock is held:
# a --stop between the lane's look and this lock finds no process to stop, so none must start.
if [[ -n ${PROTOCOL_STOP_FILE:-} && -f $PROTOCOL_STOP_FILE ]]; then
  echo "[$DATASET $CELL] not started: the stop mark $PROTOCOL_STOP_FILE is set"
  exit 3
fi

train() {  # the arguments: how this call starts or continues the run
  local rc=0 parker=""
  if ((PARK_EVERY > 0)); then  # the newest checkpoint parked as it trains (commit data/in-flight/)
    (exec 9>&-; while sleep "$PARK_EVERY"; do scripts/park-runs.sh "$RUN" > /dev/null 2>&1 || true; done) &
    parker=$!
  fi
  if ((SLICE > 0)); then
    timeout -s TERM "$SLICE" "$A" train "$@" 2>&1 | tr '\r' '\n' | grep -v '^\[train' >> "$RUN.console.log" || rc=$?
  else
    "$A" train "$@" 2>&1 | tr '\r' '\n' | grep -v '^\[train' >> "$RUN.console.log" || rc=$?
  fi
  if [[ -n $parker ]]; then kill "$parker" 2> /dev/null || true; fi
  [[ -f $RUN/checkpoint.pt ]] && return 0
  # 143 = 128 + SIGTERM: the slice ended and a checkpoint was written.
  local why="stopped"; ((SLICE > 0)) && why="slice ended"
  ((rc == 143 || rc == 124)) && { echo "[$DATASET $CELL] $why: $(tail -1 "$RUN/train_log.csv" | cut -d, -f1) updates"; exit 3; }
  echo "protocol-cell: training $RUN failed (exit $rc; see $RUN.console.log)" >&2
  exit 1
}

# A cell parked by scripts/park-runs.sh (committed in data/in-flight/) continues here.
PARKED=${IN_FLIGHT:-data/in-flight}/$RUN
if [[ ! -f $RUN/config.json && -f $PARKED/config.json ]]; then scripts/park-runs.sh --restore "$RUN"; fi

# A cell runs under one floating-point setting, from its first update to its final evaluation, whatever
# the caller's environment says: one that started with IEEE subnormals kept (a binary before stop 61: its
# provenance has no subnormals_flushed) continues with them kept, one that started flushed continues
# flushed (base/float_env.h); the other setting would change its bits from the resume on.
unset AAREN_KEEP_SUBNORMALS
if [[ -f $RUN/config.json ]]; then
  started=$(python3 -c 'import json, sys
machine = json.load(open(sys.argv[1]))["provenance"]["machine"]
print("flushed" if machine.get("subnormals_flushed") else "kept")' "$RUN/config.json" 2> /dev/null) ||
    { echo "protocol-cell: $RUN/config.json: no provenance.machine to tell its floating-point setting" >&2; exit 1; }
  [[ $started == kept ]] && export AAREN_KEEP_SUBNORMALS=1
fi

# checkpoint.pt is written before the final evaluation adds the last point to eval.csv: a run
# killed between the two (a reboot, kill -9) has the checkpoint and not that point. Its last
# updates are trained again from its newest periodic checkpoint (the same bits: a resumed run
# equals an uninterrupted one), and the final evaluation with them.
final_point_logged() {
  local updates
  updates=$(python3 -c 'import json, sys; print(int(json.load(open(sys.argv[1]))["updates"]))' "$RUN/config.json") || return 1
  awk -F, -v u="$updates" -v t="$HIGH" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $col["update"] == u && $col["target"] == t { found = 1 } END { exit !found }' "$RUN/eval.csv"
}
if [[ -f $RUN/checkpoint.pt ]] && ! final_point_logged; then
  compgen -G "$RUN/checkpoint_*.pt" > /dev/null ||
    { echo "protocol-cell: $RUN: checkpoint.pt without its final evaluation, and no checkpoint_<update>.pt to train its last updates again from" >&2; exit 1; }
  echo "[$DATASET $CELL] checkpoint.pt without the final evaluation in eval.csv (cut short): its last updates again"
  rm -f "$RUN/checkpoint.pt" "$RUN/eval-final.json"
fi

# glibc's allocator as `aaren train` sets it from 3a320b9 (base/allocator.h: freed memory kept for
# the next update; 2-11% faster updates here, the same results: docs/BENCHMARKS.md), for a frozen
# binary made before it, by the same rule: each setting the user chose (its variable, even empty, or
# its glibc.malloc tunable) stays, the others are set; AAREN_DEFAULT_MALLOC=1 sets none.
if [[ ${AAREN_DEFAULT_MALLOC:-} != 1 ]]; then
  for setting in MMAP_THRESHOLD=33554432 TRIM_THRESHOLD=1073741824 TOP_PAD=268435456; do
    variable=MALLOC_${setting%%=*}_ tunable=glibc.malloc.$(tr '[:upper:]' '[:lower:]' <<< "${setting%%=*}")=
    [[ -n ${!variable+set} || ":${GLIBC_TUNABLES:-}" == *":$tunable"* ]] || export "$variable=${setting#*=}"
  done
fi

if [[ -f $RUN/checkpoint.pt ]]; then
  echo "[$DATASET $CELL] trained: skipped"
elif [[ -f $RUN/config.json ]]; then
  echo "[$DATASET $CELL] continuing from $(tail -1 "$RUN/train_log.csv" | cut -d, -f1) updates"
  train --resume "$RUN" --threads 1 "${MORE_UPDATES[@]}"
else
  echo "[$DATASET $CELL] training $UPDATES updates"
  train --config "$PRESET" --dataset "$FILE" "${ARM_FLAGS[@]}" --out "$RUN" --overwrite --seed "$SEED" \
    --updates "$UPDATES" --eval-every "$EVAL_EVERY"
fi

# A trainer killed alone (the OOM killer, kill -9) after checkpoint.pt, before its final evaluation:
# not recorded as finished; the next call trains its last updates again (above).
final_point_logged || { echo "protocol-cell: $RUN: training ended without its final evaluation (see $RUN.console.log); the next call trains its last updates again" >&2; exit 1; }

# The last point again with 50 episodes: the seed its 10 episodes used (eval.csv), so those
# 10 are the first 10 of the 50.
if [[ ! -f $RUN/eval-final.json ]]; then
  # Columns by their header names (agents/training/eval_log.h writes the header).
  last_seed=$(awk -F, -v t="$HIGH" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $col["target"] == t { s = $col["seed"] } END { print s }' "$RUN/eval.csv")
  [[ -n $last_seed ]] || { echo "protocol-cell: $RUN/eval.csv: no evaluation at target $HIGH" >&2; exit 1; }
  "$A" rollout --checkpoint "$RUN/checkpoint.pt" --target-return "$HIGH" --episodes 50 --seed "$last_seed" \
    --json > "$RUN/eval-final.json.tmp"
  mv "$RUN/eval-final.json.tmp" "$RUN/eval-final.json"
fi
# Copied whole or not at all: into a folder beside KEEP, renamed into place (the table counts a
# cell finished by KEEP/eval-final.json; a copy cut short by a full disk must not pass for one).
rm -rf "$KEEP.part" && mkdir -p "$KEEP.part"
cp "$RUN"/config.json "$RUN"/train_log.csv "$RUN"/eval.csv "$RUN"/eval-final.json "$KEEP.part"/
rm -rf "$KEEP" && mv "$KEEP.part" "$KEEP"
rm -rf "$PARKED"  # the parked copy has served (its deletion is committed with the cell)
echo "[$DATASET $CELL] done: $KEEP"
exit
}
