#!/usr/bin/env bash
# scripts/crosscheck-reading.py on made-up cells whose numbers are known by hand: the protocol's d over
# seeds, the prediction interval d +- 1.645 sqrt(s_1^2 + s_2^2 + SE^2), the cross-check's difference and
# its reading per score (inside, above), and bad input (too few cells, an unfinished cross-check).
# Usage: check-crosscheck-reading.sh SOURCE_DIR
set -euo pipefail
SRC=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/crosscheck-reading.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
reading() { python3 "$SRC/scripts/crosscheck-reading.py" "$@"; }

# A finished run: 10 points at 3600 (the first 7 at EARLY, the last 3 at LATE) and a 50-episode
# point whose episodes average LATE: primary = LATE, secondary = (7 EARLY + 3 LATE) / 10.
run() {  # DIR LATE EARLY
  local i v
  mkdir -p "$1"
  echo "update,target,return_mean,return_std,score_mean,score_std,seed,episodes" > "$1/eval.csv"
  for i in $(seq 1 10); do
    v=$3
    ((i > 7)) && v=$2
    echo "$((i * 1000)),3600,$v,1,$v,1,$i,10" >> "$1/eval.csv"
  done
  echo "{\"config\": {\"target_return\": 3600}, \"scores\": [$(($2 - 1)), $(($2 + 1))]}" > "$1/eval-final.json"
}
# The protocol: Aaren 40, 42, 44 (mean 42, s 2), the Transformer 44, 46, 48 (mean 46, s 2), flat curves.
for i in 1 2 3; do
  run "$T/p/ds/aaren-seed$i" $((38 + 2 * i)) $((38 + 2 * i))
  run "$T/p/ds/transformer-seed$i" $((42 + 2 * i)) $((42 + 2 * i))
done
mkdir -p "$T/p/ds/aaren-seed4"  # started, not finished: not a cell
# d = -4, SE = sqrt(4/3 + 4/3) = 1.633, half-width 1.645 sqrt(4 + 4 + 8/3) = 5.37: [-9.4, +1.4].
# The cross-check: Aaren 50 at the end (40 before: secondary 43), the Transformer 45 throughout.
run "$T/c/ds/aaren-seed1" 50 40
run "$T/c/ds/transformer-seed1" 45 45
out=$(reading ds --protocol "$T/p" --crosscheck "$T/c")
grep -q "cells 3 and 3 seeds; 90% prediction interval (z = 1.645)" <<< "$out" || fail "the header: $out"
grep -q "primary: protocol d -4.0 (s 2.00 and 2.00, SE 1.63); interval -4.0 +- 5.4, \[-9.4, +1.4\]; cross-check 50.0 - 45.0 = +5.0: above: DT's recipe ranks the backbones differently, in aaren's favour" <<< "$out" ||
  fail "the primary reading: $out"
grep -q "secondary: .*\[-9.4, +1.4\]; cross-check 43.0 - 45.0 = -2.0: inside: the cross-check agrees" <<< "$out" ||
  fail "the secondary reading: $out"
# The arms the other way round: below, in aaren's favour still.
# (Output captured first: grep -q leaving a pipe early would break the writer's pipe, failing under pipefail.)
out=$(reading ds --protocol "$T/p" --crosscheck "$T/c" --arms transformer aaren)
grep -q "= -5.0: below: .* in aaren's favour" <<< "$out" || fail "the arms swapped: $out"

# Bad input: one line naming what is missing, exit 1.
rm -r "$T/p/ds/transformer-seed2" "$T/p/ds/transformer-seed3"
if reading ds --protocol "$T/p" --crosscheck "$T/c" 2> "$T/err"; then fail "one Transformer cell passed"; fi
grep -q "1 finished transformer cell(s), expected at least 2" "$T/err" || fail "too few cells: $(cat "$T/err")"
run "$T/p/ds/transformer-seed2" 46 46
rm "$T/c/ds/transformer-seed1/eval-final.json"
if reading ds --protocol "$T/p" --crosscheck "$T/c" 2> "$T/err"; then fail "an unfinished cross-check passed"; fi
grep -q "c/ds/transformer-seed1: not finished" "$T/err" || fail "the unfinished run: $(cat "$T/err")"
# A cell's final evaluation at a target its curve does not hold is a wrong file, said so (not a missing cell).
run "$T/c/ds/transformer-seed1" 45 45
sed -i 's/"target_return": 3600/"target_return": 5000/' "$T/p/ds/aaren-seed2/eval-final.json"
if reading ds --protocol "$T/p" --crosscheck "$T/c" 2> "$T/err"; then fail "a final evaluation at 5000 passed"; fi
grep -q "p/ds/aaren-seed2/eval-final.json: target 5000, which its eval.csv does not hold" "$T/err" ||
  fail "the final evaluation's target: $(cat "$T/err")"
echo "crosscheck-reading: the protocol's interval, the cross-check's difference and the reading as computed by hand"
