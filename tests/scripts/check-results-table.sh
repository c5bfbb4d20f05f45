#!/usr/bin/env bash
# scripts/results-table.py on made-up score-table cells whose numbers are known by hand: the mean and
# the population std over seeds (as the first table was published), the tokens seen with every update
# counted once (a resume by an older binary re-logged updates past its checkpoint: the later row is
# the one that trained), and bad input (a damaged cell) in one line with nothing written.
# Usage: check-results-table.sh SOURCE_DIR
set -euo pipefail
SRC=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/results-table.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
table() { python3 "$SRC/scripts/results-table.py" --results "$T/r" --datasets "$T/d"; }

# A cell: 4 updates of STEPS steps each logged once, then (DUPLICATES > 0) the last DUPLICATES
# updates logged again with 2 x STEPS, as a resume re-logs them; scores SCORE at both hopper targets.
cell() {  # DIR SCORE STEPS DUPLICATES
  local u
  mkdir -p "$1"
  echo '{"tokens": "interleaved"}' > "$1/config.json"
  echo "update,loss,lr,seconds,steps" > "$1/train_log.csv"
  for u in 1 2 3 4; do echo "$u,0.5,0.001,$u,$3" >> "$1/train_log.csv"; done
  for u in $(seq $((5 - $4)) 4); do echo "$u,0.5,0.001,$((u + 4)),$((2 * $3))" >> "$1/train_log.csv"; done
  for target in 3600 1800; do
    echo "{\"return_mean\": 1, \"score_mean\": $2, \"score_std\": 1, \"returns\": [1, 1]}" > "$1/eval-$target.json"
  done
}
mkdir -p "$T/d"
echo '{"score_mean": 30}' > "$T/d/hopper-medium.summary.json"
# Aaren 40, 44 (mean 42, population std 2); seed 2 resumed with 2 updates re-logged at 200 steps.
cell "$T/r/hopper-medium/aaren-seed1" 40 100 0
cell "$T/r/hopper-medium/aaren-seed2" 44 100 2
cell "$T/r/hopper-medium/transformer-seed1" 50 100 0
out=$(table)
# Tokens: seed 1 4 x 100 steps, seed 2 2 x 100 + 2 x 200 = 600 steps; x 3 tokens; mean 1500 = 0.0M.
grep -q "| hopper-medium | 42.0 +- 2.0 (2) | 50.0 +- 0.0 (1) | 42.0 +- 2.0 (2) | 50.0 +- 0.0 (1) | 30.0 |" <<< "$out" ||
  fail "the main table: $out"
grep -Eq "^hopper-medium,aaren,3600,2,42(\.0)?,2\.0,30\.0,4,1500," "$T/r/summary.csv" ||
  fail "summary.csv (each update counted once): $(cat "$T/r/summary.csv")"
grep -q "^hopper-medium,aaren,,2,interleaved,3600,.*,4,600,1800," "$T/r/cells.csv" ||
  fail "cells.csv, the resumed cell: $(cat "$T/r/cells.csv")"
[[ -f "$T/r/scores.svg" ]] || fail "no scores.svg"

# Bad input: a damaged cell is named in one line, exit 1, and the earlier files are untouched.
cp "$T/r/summary.csv" "$T/summary.before"
echo '{}' > "$T/r/hopper-medium/transformer-seed1/eval-3600.json"
if table > /dev/null 2> "$T/err"; then fail "a cell with no score_mean passed"; fi
[[ $(wc -l < "$T/err") -eq 1 ]] || fail "more than one line: $(cat "$T/err")"
grep -q "transformer-seed1/eval-3600.json: no number score_mean" "$T/err" || fail "the error: $(cat "$T/err")"
cmp -s "$T/summary.before" "$T/r/summary.csv" || fail "summary.csv was rewritten after the error"
echo "results-table: checks passed"
