#!/usr/bin/env bash
# Fit against overfit: each checkpoint's action error (aaren loss: DT's loss,
# dropout off, the agent's own batches) on its training file and on fresh
# episodes of the same behaviour policy, collected with another seed. A model
# that has overfitted its data errs more on the fresh episodes than on the
# file it trained on; one that has not errs the same on both.
#
# Usage: scripts/heldout-loss.sh DATASET CHECKPOINT...
#   DATASET     a matched dataset made by scripts/make-matched-datasets.sh (hopper-medium, ...),
#               whose policy record is data/matched/sac-ENV-seed1-medium.pt
# Environment: AAREN (default build/aaren), DATA (datasets/matched), FRESH (datasets/heldout),
#   TRANSITIONS (200000: the fresh file's size), SEED (1011: the fresh file's, unlike the matched
#   files' 11), OUT (docs/results/heldout): one JSON per checkpoint and file, and DATASET.csv
#   (DATASET-fresh-seedSEED-TRANSITIONS.csv for another fresh file than the default one).
# Resumable: a measurement already made (its JSON newer than its checkpoint) is skipped.
# A checkpoint's records are named DATASET-[STUDY-]RUN-CHECKPOINT-FILE.json, RUN its folder and STUDY the
# folder that holds the datasets' folders (runs/STUDY/DATASET/RUN/): none for the protocol's, crosscheck
# for the cross-check's, protocol-pilot for the pilot's, so no two runs share a record.
set -euo pipefail
(($# >= 2)) || { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2; exit 2; }
dataset=$1
shift
checkpoints=()
for checkpoint in "$@"; do  # as given, from where the script was called
  [[ -f $checkpoint ]] || { echo "heldout-loss: $checkpoint: no such checkpoint" >&2; exit 2; }
  checkpoints+=("$(realpath --relative-to="$(dirname "$0")/.." "$checkpoint")")
done
cd "$(dirname "$0")/.."
A=${AAREN:-build/aaren} DATA=${DATA:-datasets/matched} FRESH=${FRESH:-datasets/heldout}
DEFAULT_FRESH=(200000 1011)  # the fresh file's transitions and seed, unless TRANSITIONS and SEED say otherwise
OUT=${OUT:-docs/results/heldout} TRANSITIONS=${TRANSITIONS:-${DEFAULT_FRESH[0]}} SEED=${SEED:-${DEFAULT_FRESH[1]}}
env=${dataset%%-*}
policy=data/matched/sac-$env-seed1-medium.pt
[[ $dataset == *-medium ]] || { echo "heldout-loss: $dataset: only the medium datasets (one policy each) have fresh episodes" >&2; exit 2; }
[[ -f $DATA/$dataset.hdf5 ]] || { echo "heldout-loss: $DATA/$dataset.hdf5: missing (scripts/make-matched-datasets.sh $env)" >&2; exit 2; }
fresh=$FRESH/$dataset-fresh-seed$SEED-$TRANSITIONS.hdf5
mkdir -p "$FRESH" "$OUT"
[[ -f $fresh ]] || "$A" collect --env "$env" --policy "$policy" --transitions "$TRANSITIONS" --seed "$SEED" --out "$fresh"
for checkpoint in "${checkpoints[@]}"; do
  run=$(basename "$(dirname "$checkpoint")")  # aaren-seed4; a cross-check's: crosscheck-aaren-seed1
  study=$(basename "$(dirname "$(dirname "$(dirname "$checkpoint")")")")
  [[ $study == protocol || $study == . || $study == / ]] || run=$study-$run
  for file in "$DATA/$dataset.hdf5" "$fresh"; do
    kind=train
    [[ $file == "$fresh" ]] && kind=fresh-seed$SEED-$TRANSITIONS
    json=$OUT/$dataset-$run-$(basename "$checkpoint" .pt)-$kind.json
    # A finished measurement is skipped unless its checkpoint was rewritten since (checkpoint.pt of a run continued).
    [[ $json -nt $checkpoint ]] && continue
    "$A" loss --checkpoint "$checkpoint" --dataset "$file" --json > "$json.tmp" ||
      { rm -f "$json.tmp"; echo "heldout-loss: aaren loss on $checkpoint and $file failed (above)" >&2; exit 1; }
    mv "$json.tmp" "$json"
  done
done
# The table over every checkpoint measured on this fresh file (TRANSITIONS, SEED); others are named and left out.
table=$OUT/$dataset.csv
[[ "$TRANSITIONS $SEED" == "${DEFAULT_FRESH[*]}" ]] || table=$OUT/$dataset-fresh-seed$SEED-$TRANSITIONS.csv
python3 - "$OUT" "$dataset" "fresh-seed$SEED-$TRANSITIONS" << 'PY' > "$table.tmp" || { rm -f "$table.tmp"; exit 1; }
import glob, json, os, sys
out, dataset, fresh = sys.argv[1], sys.argv[2], sys.argv[3]
print("run,backbone,update,regime,train_mse,train_se,fresh_mse,fresh_se,gap,gap_over_train")
for train in sorted(glob.glob(f"{out}/{dataset}-*-train.json")):
    fresh_json = train[: -len("train.json")] + f"{fresh}.json"
    if not os.path.exists(fresh_json):
        print(f"heldout-loss: {train}: not measured on {fresh} (another TRANSITIONS or SEED): left out of "
              f"{dataset}.csv", file=sys.stderr)
        continue
    t, f = json.load(open(train)), json.load(open(fresh_json))
    run = train[len(f"{out}/{dataset}-"):-len("-train.json")]
    gap = f["mse"] - t["mse"]
    print(f"{run},{t['backbone']},{t['update']},{t['regime']},{t['mse']:.5f},{t['std_error']:.5f},"
          f"{f['mse']:.5f},{f['std_error']:.5f},{gap:.5f},{gap / t['mse']:.3f}")
PY
mv "$table.tmp" "$table"
cat "$table"
