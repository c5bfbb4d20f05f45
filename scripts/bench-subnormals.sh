#!/usr/bin/env bash
# Subnormal numbers: the time of a training update continued from CHECKPOINT
# (a run's checkpoint_<update>.pt) with IEEE subnormals kept
# (AAREN_KEEP_SUBNORMALS=1) and flushed to zero (FTZ and DAZ, the aaren
# program's default: base/float_env.h), side by side, one thread each, in
# AAREN_REPRODUCIBLE=1's pinned kernels. Trained attention underflows into the
# subnormal range, and many x86 CPUs take a microcode assist for each operation
# on such a number (docs/BENCHMARKS.md, "Subnormal numbers"). Beside the time, a
# SHA-256 of every logged loss: whether flushing changed the numbers.
#
# Each setting trains UPDATES updates past the checkpoint (no evaluation) into
# a temporary folder and is timed from its train_log.csv (the seconds from the
# first logged update to the last, per update). Run it on a quiet machine.
#
# Usage: scripts/bench-subnormals.sh CHECKPOINT [--updates N] [--csv FILE]
#   (AAREN: the binary, default build/aaren; defaults 80, docs/bench/subnormals.csv)
set -euo pipefail
export LC_ALL=C  # awk's numbers with a decimal point whatever the user's locale
cd "$(dirname "$0")/.."
A=${AAREN:-build/aaren}
UPDATES=80 CSV=docs/bench/subnormals.csv
CHECKPOINT=${1:-}
[[ -n $CHECKPOINT && $CHECKPOINT != --* ]] || { sed -n '/^# Usage/,/^#   (/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
shift
while (($#)); do
  case $1 in
    --updates) UPDATES=$2 ;;
    --csv) CSV=$2 ;;
    *) echo "bench-subnormals: unknown option '$1' (see the usage in $0)" >&2; exit 2 ;;
  esac
  shift 2
done
command -v "$A" > /dev/null || { echo "bench-subnormals: $A: no aaren binary (build it, or set AAREN)" >&2; exit 2; }
[[ -f $CHECKPOINT ]] || { echo "bench-subnormals: $CHECKPOINT: no such file" >&2; exit 2; }
[[ $(basename "$CHECKPOINT") =~ ^checkpoint_([0-9]+)\.pt$ ]] ||
  { echo "bench-subnormals: $CHECKPOINT: expected a run's checkpoint_<update>.pt" >&2; exit 2; }
START=${BASH_REMATCH[1]}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "checkpoint_update,updates,subnormals,seconds_per_update,losses_sha256" > "$TMP/subnormals.csv"
for keep in 1 0; do
  out=$TMP/run$keep
  AAREN_REPRODUCIBLE=1 AAREN_KEEP_SUBNORMALS=$keep "$A" train --resume "$CHECKPOINT" --out "$out" \
    --updates $((START + UPDATES)) --eval-every 1000000000 --threads 1 > "$TMP/log$keep" 2>&1 ||
    { echo "bench-subnormals: the run failed:" >&2; tail -3 "$TMP/log$keep" >&2; exit 1; }
  seconds=$(awk -F, 'NR == 2 { u1 = $1; s1 = $4 } NR > 2 { u = $1; s = $4 }
    END { if (u > u1) printf "%.3f\n", (s - s1) / (u - u1); else print "-" }' "$out/train_log.csv")
  losses=$(tail -n +2 "$out/train_log.csv" | cut -d, -f1,2 | sha256sum | cut -c1-16)
  [[ $keep == 1 ]] && setting=kept || setting=flushed
  echo "$START,$UPDATES,$setting,$seconds,$losses" | tee -a "$TMP/subnormals.csv"
done
mv "$TMP/subnormals.csv" "$CSV"
# The machine and binary beside the numbers: the flushed run's own provenance.
# (The resume's own record: the run's top-level provenance is its first start's, another binary's.)
/usr/bin/python3 - "$TMP/run0/config.json" "$CHECKPOINT" "$("$A" --version)" > "${CSV%.csv}.config.json" << 'PYTHON'
import json, sys
config, checkpoint, version = sys.argv[1:]
resume = json.load(open(config))["provenance"]["resumes"][-1]
record = {"checkpoint": checkpoint, "machine": resume["machine"], "commit": resume["commit"], "binary": version}
print(json.dumps(record, indent=2))
PYTHON
echo "bench-subnormals: $CSV (${CSV%.csv}.config.json: the machine and the binary)"
