#!/usr/bin/env bash
# One cell of the D4RL-recipe score table: train one agent on one dataset with
# the table's fixed schedule, then evaluate it at DT's two targets.
#
# Usage: scripts/score-table.sh DATASET BACKBONE SEED
#   DATASET   hopper-medium, hopper-medium-replay, hopper-medium-expert,
#             halfcheetah-medium, halfcheetah-medium-replay, walker2d-medium,
#             walker2d-medium-replay (files from scripts/make-datasets.sh)
#   BACKBONE  aaren | transformer | lstm (`aaren backbones` lists them)
#   SEED      training seed (the table uses 1 2 3)
# The schedule is the preset configs/score-table/DATASET.json (`aaren train --config`):
# 3000 updates, lr 1e-3 after a 300-update warm-up, cosine to 0, bf16, 1 thread.
# Environment (each one set overrides the preset's value; see docs/RESULTS.md):
#   UPDATES LR WARMUP                 gradient updates, AdamW learning rate, warm-up
#   LR_SCHEDULE                       after the warm-up: cosine to 0, or constant (DT's)
#   BATCH K                           Transformer: DT's windows per update and their length
#   AAREN_BATCH                       Aaren: whole episodes per update
#   TOKENS                            token layout (DT's interleaved); fused for the extra columns
#   PRECISION THREADS                 autocast (fp32 where the CPU lacks bf16 units), LibTorch threads
#   EPISODES=20                       evaluation episodes per target
#   EXTRA="..."                       further `aaren train` flags (ablations); name the
#                                     variant with TAG=... so its cell gets its own folder
#   DATA=datasets RUNS=runs/score-table RESULTS=docs/results
#
# Resumable: training keeps a checkpoint every 500 updates and continues from
# the newest after a kill; a finished stage (checkpoint.pt, eval-<target>.json)
# is skipped; a second process that reaches a cell in progress skips it. The
# small files of every cell (config.json, train_log.csv, eval.csv, the
# evaluations as JSON, the console log) are copied to
# $RESULTS/DATASET/BACKBONE[-TAG]-seedSEED/; checkpoints stay under $RUNS.
set -euo pipefail
cd "$(dirname "$0")/.."

if (($# != 3)); then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
  exit 2
fi
DATASET=$1 BACKBONE=$2 SEED=$3
[[ $SEED =~ ^[0-9]+$ ]] || { echo "score-table: SEED must be a non-negative integer, got '$SEED'" >&2; exit 2; }
ENV=${DATASET%%-*}
case "$ENV" in
  hopper) HIGH=3600 LOW=1800 ;;
  halfcheetah) HIGH=12000 LOW=6000 ;;
  walker2d) HIGH=5000 LOW=2500 ;;
  *) echo "score-table: DATASET must start with hopper, halfcheetah or walker2d, got '$DATASET'" >&2; exit 2 ;;
esac

DATA=${DATA:-datasets} RUNS=${RUNS:-runs/score-table} RESULTS=${RESULTS:-docs/results}
EPISODES=${EPISODES:-20} EXTRA=${EXTRA:-} TAG=${TAG:-}
PRESET=configs/score-table/$DATASET.json
[[ -f $PRESET ]] || { echo "score-table: $PRESET: no preset for '$DATASET'" >&2; exit 2; }
# The preset's schedule, and the variables set here over it.
SCHEDULE=(--config "$PRESET")
[[ -n ${UPDATES:-} ]] && SCHEDULE+=(--updates "$UPDATES" --eval-every "$UPDATES")
[[ -n ${LR:-} ]] && SCHEDULE+=(--lr "$LR")
[[ -n ${WARMUP:-} ]] && SCHEDULE+=(--warmup "$WARMUP")
[[ -n ${LR_SCHEDULE:-} ]] && SCHEDULE+=(--lr-schedule "$LR_SCHEDULE")
[[ -n ${BATCH:-} ]] && SCHEDULE+=(--batch-size "$BATCH")
[[ -n ${K:-} ]] && SCHEDULE+=(--context "$K")
[[ -n ${AAREN_BATCH:-} ]] && SCHEDULE+=(--aaren-batch "$AAREN_BATCH")
[[ -n ${TOKENS:-} ]] && SCHEDULE+=(--tokens "$TOKENS")
[[ -n ${PRECISION:-} ]] && SCHEDULE+=(--precision "$PRECISION")
[[ -n ${THREADS:-} ]] && SCHEDULE+=(--threads "$THREADS")
FILE=$DATA/$DATASET.hdf5
[[ -f $FILE ]] || { echo "score-table: $FILE: no such dataset (make it with scripts/make-datasets.sh $ENV)" >&2; exit 2; }

[[ -z ${AAREN:-} || -x $AAREN ]] || { echo "score-table: AAREN=$AAREN: no such program (unset it to build build/aaren)" >&2; exit 2; }
A=${AAREN:-build/aaren}  # AAREN=path: a frozen copy, so rebuilding cannot change a long run
# OpenBLAS's kernels decide the last bits of every fp32 product. The cells in docs/RESULTS.md were
# made on its Prescott kernels (what it picked on this project's machines before
# aaren chose the CPU's own, base/blas_kernels.h); pinned here so a rerun
# reproduces them bit for bit. OPENBLAS_CORETYPE=SkylakeX (or Haswell) runs about
# 3x faster, with other bits.
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Prescott}
if [[ ! -x $A ]]; then
  ./scripts/setup.sh
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build --target aaren
fi
grep -q "\"name\": \"$BACKBONE\"" <<< "$("$A" backbones --json)" ||
  { echo "score-table: BACKBONE must be one of 'aaren backbones', got '$BACKBONE'" >&2; exit 2; }

CELL=$BACKBONE${TAG:+-$TAG}-seed$SEED
RUN=$RUNS/$DATASET/$CELL
KEEP=$RESULTS/$DATASET/$CELL
mkdir -p "$RUN" "$KEEP"
# One process per cell: a second chain (scripts/score-table-all.sh, scripts/ablation.sh) that
# reaches a cell in progress leaves it to the first.
exec 9>"$RUN/.lock"
flock -n 9 || { echo "[$DATASET $CELL] running in another process: skipped"; exit 0; }

if [[ -f $RUN/checkpoint.pt ]]; then
  echo "[$DATASET $CELL] trained: skipped"
else
  # One evaluation during training, at the end, on 4 episodes (a sanity check in eval.csv;
  # the table's own evaluation is the rollout stage below).
  # shellcheck disable=SC2206
  FLAGS=("${SCHEDULE[@]}" --dataset "$FILE" --backbone "$BACKBONE" --out "$RUN" --seed "$SEED"
         --overwrite $EXTRA)  # --overwrite: a run killed before its first checkpoint
  latest=$(ls "$RUN"/checkpoint_*.pt 2>/dev/null | sed 's/.*checkpoint_\([0-9]*\)\.pt/\1/' | sort -n | tail -1 || true)
  if [[ -n $latest ]]; then
    echo "[$DATASET $CELL] resuming from update $latest"
    $A train --resume "$RUN/checkpoint_$latest.pt" --out "$RUN" ${UPDATES:+--updates "$UPDATES"} \
      ${THREADS:+--threads "$THREADS"} 2>&1 | tr '\r' '\n' | grep -v '^\[train' >> "$RUN/console.log" || true
  else
    echo "[$DATASET $CELL] training: ${FLAGS[*]}"
    $A train "${FLAGS[@]}" 2>&1 | tr '\r' '\n' | grep -v '^\[train' > "$RUN/console.log" || true
  fi
  # (Training's exit status is read from what it left: a checkpoint, or its last words in console.log.)
  [[ -f $RUN/checkpoint.pt ]] ||
    { echo "score-table: training $RUN ended without a checkpoint: $(tail -1 "$RUN/console.log")" >&2; exit 1; }
  rm -f "$RUN"/checkpoint_*.pt
fi

# Evaluation as DT evaluates: auto, how the run's training evaluated it, here each
# backbone's default mode (`aaren backbones`; no --eval-mode is given): the
# Transformer re-runs its last K steps every env step (window), Aaren and the
# LSTM carry their recurrent state (constant memory).
MODE=auto
for target in $HIGH $LOW; do
  out=$RUN/eval-$target.json
  if [[ -f $out ]]; then
    echo "[$DATASET $CELL] evaluated at $target: skipped"
  else
    $A rollout --checkpoint "$RUN/checkpoint.pt" --target-return "$target" --mode $MODE --episodes "$EPISODES" \
      --seed 100000 --json > "$out.tmp" || { rm -f "$out.tmp"; echo "score-table: rollout of $RUN at $target failed" >&2; exit 1; }
    mv "$out.tmp" "$out"
  fi
done

cp "$RUN"/config.json "$RUN"/train_log.csv "$RUN"/eval.csv "$RUN"/console.log "$RUN"/eval-*.json "$KEEP"/
/usr/bin/python3 - "$KEEP" "$HIGH" "$LOW" <<'EOF'
import json, sys
keep = sys.argv[1]
for t in sys.argv[2:]:
    r = json.load(open(f"{keep}/eval-{t}.json"))
    print(f"{keep}: target {t}: " + json.dumps({k: v for k, v in r.items() if not isinstance(v, (list, dict))}))
EOF
