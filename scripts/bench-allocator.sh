#!/usr/bin/env bash
# The allocator: the time of a training update with glibc's malloc as it comes
# (AAREN_DEFAULT_MALLOC=1) and as `aaren train` sets it (freed memory kept for
# the next update: base/allocator.h), side by side, alternating (glibc's default
# first in odd repetitions, second in even ones), one thread each,
# in AAREN_REPRODUCIBLE=1's pinned kernels, for the protocol's three arms on one
# matched dataset. Beside the time, the minor page faults and peak memory
# (GNU time), and a SHA-256 of every logged loss (6 significant digits) and of
# the final evaluation: whether the setting changed the numbers (it must not;
# the weights' bits: the reproducible-mode digest test, run with and without).
#
# Each run trains UPDATES updates from scratch (seed 3, one 1-episode
# evaluation at the end) into a temporary folder, and is timed from its
# train_log.csv (the seconds from update 11 to the last, per update: the first
# updates warm the caches). Run it on a quiet machine.
#
# Usage: scripts/bench-allocator.sh [--dataset NAME] [--updates N] [--reps R] [--csv FILE]
#   (AAREN: the binary, default build/aaren; DATA: datasets/matched; defaults
#   walker2d-medium-replay, 150 (the LSTM 100), 2, docs/bench/allocator.csv)
set -euo pipefail
export LC_ALL=C  # awk's numbers with a decimal point whatever the user's locale
cd "$(dirname "$0")/.."
A=${AAREN:-build/aaren} DATA=${DATA:-datasets/matched}
DATASET=walker2d-medium-replay UPDATES=150 REPS=2 CSV=docs/bench/allocator.csv
while (($#)); do
  case $1 in
    --dataset) DATASET=$2 ;;
    --updates) UPDATES=$2 ;;
    --reps) REPS=$2 ;;
    --csv) CSV=$2 ;;
    -h | --help) sed -n '/^# Usage/,/^#   walker/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-allocator: unknown option '$1' (see the usage in $0)" >&2; exit 2 ;;
  esac
  shift 2
done
[[ $UPDATES =~ ^[0-9]+$ && $UPDATES -ge 20 && $REPS =~ ^[1-9][0-9]*$ ]] ||
  { echo "bench-allocator: --updates must be a whole number >= 20 and --reps >= 1" >&2; exit 2; }
command -v "$A" > /dev/null || { echo "bench-allocator: $A: no aaren binary (build it, or set AAREN)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "bench-allocator: /usr/bin/time: missing (apt-get install time)" >&2; exit 2; }
FILE=$DATA/$DATASET.hdf5 PRESET=configs/protocol/$DATASET.json
[[ -f $FILE && -f $PRESET ]] || { echo "bench-allocator: $FILE or $PRESET: missing (scripts/make-matched-datasets.sh)" >&2; exit 2; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "backbone,rep,allocator,updates,seconds_per_update,minor_faults,max_rss_kb,losses_sha256,evaluation_sha256" > "$TMP/allocator.csv"
for rep in $(seq "$REPS"); do
  for arm in "aaren --aaren-batch 2 --chunk-steps 200" transformer "lstm --aaren-sampling windows --eval-mode window"; do
    n=$UPDATES
    [[ $arm == lstm* ]] && n=$((UPDATES * 2 / 3))  # (its updates take about twice as long)
    order="1 0"
    ((rep % 2 == 0)) && order="0 1"  # each setting first in every other repetition (a warm machine favours the second)
    for default in $order; do
      out=$TMP/run
      rm -rf "$out"
      # shellcheck disable=SC2086  # $arm: the arm's flags
      # (the caller's own malloc settings would be the user's choice, kept by both: cleared)
      env -u MALLOC_MMAP_THRESHOLD_ -u MALLOC_TRIM_THRESHOLD_ -u MALLOC_TOP_PAD_ -u GLIBC_TUNABLES \
        AAREN_REPRODUCIBLE=1 AAREN_DEFAULT_MALLOC=$default /usr/bin/time -o "$TMP/time" -f "%R,%M" "$A" train \
        --config "$PRESET" --dataset "$FILE" --backbone $arm --out "$out" --seed 3 --updates "$n" \
        --eval-every 1000000000 --eval-episodes 1 --threads 1 > "$TMP/log" 2>&1 ||
        { echo "bench-allocator: the run failed:" >&2; tail -3 "$TMP/log" >&2; exit 1; }
      seconds=$(awk -F, 'NR == 12 { u1 = $1; s1 = $4 } NR > 12 { u = $1; s = $4 }
        END { if (u > u1) printf "%.4f\n", (s - s1) / (u - u1); else print "-" }' "$out/train_log.csv")
      losses=$(tail -n +2 "$out/train_log.csv" | cut -d, -f1,2 | sha256sum | cut -c1-16)
      evaluation=$(sha256sum < "$out/eval.csv" | cut -c1-16)
      [[ $default == 1 ]] && allocator=glibc-default || allocator=kept-for-reuse
      echo "${arm%% *},$rep,$allocator,$n,$seconds,$(tail -1 "$TMP/time"),$losses,$evaluation" | tee -a "$TMP/allocator.csv"
    done
  done
done
mkdir -p "$(dirname "$CSV")"
mv "$TMP/allocator.csv" "$CSV"
# The machine and binary beside the numbers (the last run's own provenance).
/usr/bin/python3 - "$TMP/run/config.json" "$DATASET" "$("$A" --version)" > "${CSV%.csv}.config.json" << 'PYTHON'
import json, sys
config, dataset, version = sys.argv[1:]
p = json.load(open(config))["provenance"]
json.dump({"dataset": dataset, "machine": p["machine"], "commit": p["commit"], "binary": version}, sys.stdout, indent=2)
print()
PYTHON
echo "bench-allocator: wrote $CSV and ${CSV%.csv}.config.json"
