#!/usr/bin/env bash
# scripts/protocol-table.sh: the table's cells in the protocol's order, finished
# and running cells told apart, and seeds 4 and 5 due exactly when the primary
# verdict at 3 seeds is inconclusive (or a run of them already exists).
# Usage: check-protocol-table.sh AAREN_BINARY SOURCE_DIR
set -euo pipefail
A=$1 SRC=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/protocol-table.XXXXXX")
trap 'rm -rf "$T"' EXIT
export AAREN=$A RESULTS=$T/results RUNS=$T/runs DATA=$T/data IN_FLIGHT=$T/in-flight
TABLE=$SRC/scripts/protocol-table.sh
fail() { echo "FAIL: $*" >&2; exit 1; }

# A finished cell as scripts/protocol-cell.sh leaves it: 3 updates, each point at
# target 3600 scoring $3, the 50-episode final too.
cell() {
  local dir=$RESULTS/hopper-medium/$1-seed$2
  mkdir -p "$dir"
  echo '{"updates": 3}' > "$dir/config.json"
  printf 'update,target,return_mean,return_std,score_mean,score_std,seed,episodes\n' > "$dir/eval.csv"
  for u in 1 2 3; do echo "$u,3600,1000,10,$3,1,$u,10" >> "$dir/eval.csv"; done
  echo "{\"score_mean\": $3, \"config\": {\"target_return\": 3600}}" > "$dir/eval-final.json"
}
# The first N lines of the dry run (read whole first: head alone would cut the script's pipe).
states() {
  local all
  all=$("$TABLE" --dry-run)
  head -"$1" <<< "$all"
}
has() { grep -qx "$1" <<< "$("$TABLE" --dry-run)"; }

# (The cross-check's records are the repository's, not this test's: only their place in the order is checked.)
expected="hopper-medium aaren 1: due
hopper-medium transformer 1: due
hopper-medium aaren 2: due
hopper-medium transformer 2: due
hopper-medium aaren 3: due
hopper-medium transformer 3: due
hopper-medium crosscheck-aaren 1
hopper-medium crosscheck-transformer 1
walker2d-medium-replay aaren 1: due"
[[ $(states 9 | sed 's/^\(.*crosscheck.*\):.*/\1/') == "$expected" ]] || fail "an empty table's order: $(states 9)"
[[ $(states 100 | tail -1) == "hopper-medium-expert lstm 3: due" ]] || fail "the LSTM column comes last"
has "halfcheetah-medium-replay 10bc 3: due" || fail "the controls are listed"

# Both arms' 3 seeds within a point of each other: equivalent at +-5, no seeds 4 and 5.
for s in 1 2 3; do cell aaren $s $((39 + s)); cell transformer $s $((40 + s)); done
[[ $(states 9 | tail -1) == "walker2d-medium-replay aaren 1: due" ]] || fail "equivalent, yet: $(states 9)"
[[ $(states 6 | grep -c finished) == 6 ]] || fail "six finished cells: $(states 6)"

# The Transformer's seeds spread from 20 to 80: inconclusive, so seeds 4 and 5 of both arms come next.
for s in 1 2 3; do cell transformer $s $((30 * s - 10)); done
expected="hopper-medium aaren 4: due
hopper-medium transformer 4: due
hopper-medium aaren 5: due
hopper-medium transformer 5: due
hopper-medium crosscheck-aaren 1"
[[ $(states 11 | tail -5 | sed 's/^\(.*crosscheck.*\):.*/\1/') == "$expected" ]] || fail "inconclusive, yet: $(states 11)"

# A cell whose lock another process holds is running, not due.
mkdir -p "$RUNS/hopper-medium"
(exec 7> "$RUNS/hopper-medium/aaren-seed4.lock" && flock 7 && exec sleep 30) > /dev/null 2>&1 &
holder=$!  # the sleep itself (exec), so that killing it frees the lock and the test's output
sleep 1
has "hopper-medium aaren 4: running" || fail "a locked cell: $(states 8 | tail -2)"
kill "$holder" 2> /dev/null || true

# Once a run of seed 4 exists the decision stands, whatever seeds 1-3 say afterwards.
mkdir -p "$RUNS/hopper-medium/transformer-seed4"
for s in 1 2 3; do cell transformer $s $((40 + s)); done
has "hopper-medium aaren 5: due" || fail "seeds 4 and 5 dropped after the decision"

# --stop with nothing running: it says so and leaves the mark that keeps lanes from starting a cell.
out=$("$TABLE" --stop) || fail "--stop exited $?"
[[ $out == *"no cell running"* && -f $RUNS/protocol-table.stop ]] || fail "--stop said: $out"

set +e
"$TABLE" --bogus > /dev/null 2>&1
rc=$?
set -e
((rc == 2)) || fail "an unknown argument exits $rc, expected 2"
echo "protocol-table: order, states and the seeds-4-and-5 rule checked"
