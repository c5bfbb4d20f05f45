#!/usr/bin/env bash
# scripts/protocol-table.sh: the table's cells in the protocol's order, finished
# and running cells told apart, and seeds 4 and 5 due exactly when the primary
# verdict at 3 seeds is inconclusive (or a run of them already exists); a lane
# (on a stand-in for aaren) runs every due cell in that order, leaves a locked
# one to its lane, honours the stop mark and stops on a failing cell or a failing
# versus; a cell cut short between its checkpoint and its final evaluation is
# finished, not skipped; --stop needs no binary and ignores DATASETS; ARMS keeps
# only some arms' cells; the dry run shows a started cell's progress.
# Usage: check-protocol-table.sh AAREN_BINARY SOURCE_DIR
set -euo pipefail
A=$1 SRC=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/protocol-table.XXXXXX")
trap 'kill $(jobs -p) 2> /dev/null || true; rm -rf "$T"' EXIT
# Every folder the table reads or writes is this test's own: --stop stops and parks the cells running in
# them, and the lanes of a real table may be running in the source tree's.
export AAREN=$A RESULTS=$T/results RUNS=$T/runs DATA=$T/data IN_FLIGHT=$T/in-flight
export CROSS_RUNS=$T/cross-runs CROSS_RESULTS=$T/cross-results
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
  echo "{\"score_mean\": $3, \"config\": {\"target_return\": 3600, \"seed\": 3, \"episodes\": 50}}" > "$dir/eval-final.json"
}
# The first N cells of the dry run (read whole first: head alone would cut the script's pipe),
# after the expert stage's line.
states() {
  local all
  all=$("$TABLE" --dry-run | grep -v " dataset 0: ")
  head -"$1" <<< "$all"
}
has() { grep -qx "$1" <<< "$("$TABLE" --dry-run)"; }
# Wait until another process holds the lock file $1 (a background holder has taken it).
held() { until [[ -f $1 ]] && ! flock -n "$1" true; do sleep 0.1; done; }

# (The cross-check's folders are this test's own and empty: only their place in the order is checked.)
expected="hopper-medium aaren 1: due
hopper-medium transformer 1: due
hopper-medium aaren 2: due
hopper-medium transformer 2: due
hopper-medium aaren 3: due
hopper-medium transformer 3: due
hopper-medium crosscheck-aaren 1
hopper-medium crosscheck-transformer 1
walker2d-medium-replay aaren 1: due"
# While hopper-medium-expert's file is missing its expert stage comes first (one lane runs it, hours);
# once the file exists it is gone from the order.
[[ $("$TABLE" --dry-run | head -1) == "hopper-medium-expert dataset 0: due" ]] || fail "the expert stage is not first"
mkdir -p "$DATA" && touch "$DATA/hopper-medium-expert.hdf5"
listed=$("$TABLE" --dry-run)
! grep -q " dataset 0" <<< "$listed" || fail "the expert stage listed after its file exists"
rm "$DATA/hopper-medium-expert.hdf5"
[[ $(states 9 | sed 's/^\(.*crosscheck.*\):.*/\1/') == "$expected" ]] || fail "an empty table's order: $(states 9)"
[[ $(states 500 | tail -2 | head -1) == "hopper-medium-expert lstm 3: due" ]] || fail "the LSTM column comes last"
[[ $(states 500 | tail -1) == "hopper-medium lstm-episodes 1: due" ]] || fail "then the LSTM's recurrent check"
has "halfcheetah-medium-replay 10bc 3: due" || fail "the controls are listed"
# ARMS keeps only those arms' cells, in the same order; an unknown arm is refused.
lstm_only=$(ARMS=lstm "$TABLE" --dry-run | grep -v " dataset 0: ")
[[ $(wc -l <<< "$lstm_only") == 9 && $(grep -c " lstm " <<< "$lstm_only") == 9 &&
  $(head -1 <<< "$lstm_only") == "hopper-medium lstm 1: due" ]] || fail "ARMS=lstm: $lstm_only"
! ARMS="lstm lsmt" "$TABLE" --dry-run > /dev/null 2> "$T/arms.err" || fail "ARMS=lsmt accepted"
grep -q "ARMS: unknown arm 'lsmt'" "$T/arms.err" || fail "ARMS=lsmt: $(cat "$T/arms.err")"
# A cell's settings that are not whole numbers are refused before anything runs (timeout's 30m was taken as no slice).
for setting in SLICE=30m PARK_EVERY=1.5 UPDATES=4e4; do
  ! env "$setting" "$SRC/scripts/protocol-cell.sh" hopper-medium aaren 1 > /dev/null 2> "$T/cell.err" || fail "$setting accepted"
  grep -q "protocol-cell: ${setting%%=*} must be a whole number" "$T/cell.err" || fail "$setting: $(cat "$T/cell.err")"
done
! DATASETS="hopper-medium hoper-medium" "$TABLE" --dry-run > /dev/null 2> "$T/datasets.err" || fail "DATASETS=hoper-medium accepted"
grep -q "DATASETS: unknown dataset 'hoper-medium'" "$T/datasets.err" || fail "DATASETS=hoper-medium: $(cat "$T/datasets.err")"
# A started cell shows its updates, rate (from its log's training seconds) and time left; parked too.
for where in "$RUNS" "$IN_FLIGHT/$RUNS"; do
  mkdir -p "$where/hopper-medium/aaren-seed1"
  echo '{"updates": 2011}' > "$where/hopper-medium/aaren-seed1/config.json"
  { echo "update,loss,lr,seconds,steps"; for u in $(seq 11); do echo "$u,0.1,0.0001,$((36 * u / 10)).$((36 * u % 10)),1"; done; } \
    > "$where/hopper-medium/aaren-seed1/train_log.csv"
  parked=""
  [[ $where == "$IN_FLIGHT"/* ]] && parked=", parked"
  [[ $(states 1) == "hopper-medium aaren 1: due (11/2,011 updates$parked; 1,000 an hour; about 2.0 h left)" ]] ||
    fail "a started cell's progress: $(states 1)"
  rm -r "$where/hopper-medium/aaren-seed1"
done
[[ $(states 200 | grep -v -e bc -e lstm | grep -A1 "halfcheetah-medium-replay transformer 3" | tail -1) == "hopper-medium-expert aaren 1: due" ]] ||
  fail "hopper-medium-expert's arms follow the six datasets'"

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
# The same while the next dataset has one cell only, of which `aaren versus` writes a note on stderr
# (the decision must read its JSON alone).
mkdir -p "$RESULTS/walker2d-medium-replay" && cp -r "$RESULTS/hopper-medium/aaren-seed1" "$RESULTS/walker2d-medium-replay/"
[[ $(states 11 | tail -5 | sed 's/^\(.*crosscheck.*\):.*/\1/') == "$expected" ]] ||
  fail "inconclusive, beside a dataset with one cell: $(states 11)"
rm -r "$RESULTS/walker2d-medium-replay"

# A cell whose lock another process holds is running, not due.
mkdir -p "$RUNS/hopper-medium"
(exec 7> "$RUNS/hopper-medium/aaren-seed4.lock" && flock 7 && exec sleep 600) > /dev/null 2>&1 &
holder=$!  # the sleep itself (exec), so that killing it frees the lock and the test's output
held "$RUNS/hopper-medium/aaren-seed4.lock"
has "hopper-medium aaren 4: running" || fail "a locked cell: $(states 8 | tail -2)"
kill "$holder" 2> /dev/null || true

# Once a run of seed 4 exists the decision stands, whatever seeds 1-3 say afterwards.
mkdir -p "$RUNS/hopper-medium/transformer-seed4"
for s in 1 2 3; do cell transformer $s $((40 + s)); done
has "hopper-medium aaren 5: due" || fail "seeds 4 and 5 dropped after the decision"

# --stop with nothing running: it says so and leaves the mark that keeps lanes from starting a cell.
out=$("$TABLE" --stop) || fail "--stop exited $?"
[[ $out == *"no cell running"* && -f $RUNS/protocol-table.stop ]] || fail "--stop said: $out"
# An expert stage's SAC run in flight (its folder's lock held) is stopped and parked by --stop.
mkdir -p "$DATA/sac-hopper"
echo '{"command": "sac"}' > "$DATA/sac-hopper/config.json"
echo 'step,episode,return,length,alpha,q_loss,actor_loss' > "$DATA/sac-hopper/log.csv"
echo state > "$DATA/sac-hopper/resume.pt"
# The stand-in holds the lock as `aaren sac --out DIR` would, until --stop's SIGTERM (however slowly a
# loaded machine gets to --stop, the run is still in flight when it looks).
(exec 7> "$DATA/sac-hopper.lock" && flock 7 && exec -a "aaren-stand-in sac --out $DATA/sac-hopper" sleep 600) \
  > /dev/null 2>&1 &
held "$DATA/sac-hopper.lock"
out=$("$TABLE" --stop) || fail "--stop with a SAC run exited $?"
[[ $out == *"parked at"* && -f $IN_FLIGHT/${DATA#/}/sac-hopper/resume.pt ]] || fail "--stop left the SAC run unparked: $out"
rm -rf "$DATA/sac-hopper" "$DATA/sac-hopper.lock" "$IN_FLIGHT/${DATA#/}"
# --stop needs no binary (it stops what runs) and stops every lane's cells, whatever DATASETS this
# call's environment holds: a hopper-medium cell in flight is parked by a --stop given walker2d's.
cell4=$RUNS/hopper-medium/aaren-seed4
mkdir -p "$cell4"
echo '{"updates": 40000}' > "$cell4/config.json"
echo "update,loss,lr,seconds,steps" > "$cell4/train_log.csv"
echo state > "$cell4/checkpoint_1000.pt"
(exec 7> "$cell4.lock" && flock 7 && exec -a "aaren-stand-in train --resume $cell4" sleep 600) > /dev/null 2>&1 &
held "$cell4.lock"
out=$(AAREN=$T/no-binary DATASETS=walker2d-medium-replay "$TABLE" --stop) || fail "--stop without a binary exited $?: $out"
[[ -f $IN_FLIGHT/${cell4#/}/checkpoint_1000.pt ]] || fail "--stop with DATASETS elsewhere left the cell unparked: $out"
rm -rf "$cell4" "$cell4.lock" "$IN_FLIGHT/${RUNS#/}"

# Run mode, on a stand-in for aaren (train finishes at once, every seed S of every arm scoring
# 40 + S: equivalent, so no seeds 4 and 5), one dataset, a cell locked by "another lane".
STUB=$T/stub-aaren
cat > "$STUB" <<'STUB_END'
#!/usr/bin/env bash
set -euo pipefail
cmd=$1
shift
case $cmd in
  versus) exec "$STUB_REAL" versus "$@" ;;
  rollout)
    ckpt="" seed=""
    while (($#)); do
      case $1 in
        --checkpoint) ckpt=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        *) shift ;;
      esac
    done
    echo "$seed $ckpt" >> "$STUB_LOG.rollouts"
    echo "{\"score_mean\": $(cat "$(dirname "$ckpt")/score"), \"config\": {\"target_return\": 3600, \"seed\": $seed, \"episodes\": 50}}" ;;
  train)
    dir="" seed="" updates=40000 backbone=""
    while (($#)); do
      case $1 in
        --out | --resume) dir=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --updates) updates=$2; shift 2 ;;
        --backbone) backbone=$2; shift 2 ;;
        *) shift ;;
      esac
    done
    [[ -n ${STUB_FAIL:-} ]] && exit 1
    echo "$backbone $dir" >> "$STUB_LOG"
    echo "${MALLOC_MMAP_THRESHOLD_-unset} ${MALLOC_TRIM_THRESHOLD_-unset} ${MALLOC_TOP_PAD_-unset}" >> "$STUB_LOG.malloc"
    [[ -f $dir/score ]] || echo $((40 + seed)) > "$dir/score"
    flushed=true; [[ ${AAREN_KEEP_SUBNORMALS:-} == 1 ]] && flushed=false
    echo "{\"updates\": $updates, \"provenance\": {\"machine\": {\"subnormals_flushed\": $flushed}}}" > "$dir/config.json"
    printf 'update,loss\n%s,0.1\n' "$updates" > "$dir/train_log.csv"
    # Each point's episodes start from seed 7000000 + update.
    echo "update,target,return_mean,return_std,score_mean,score_std,seed,episodes" > "$dir/eval.csv"
    for u in $((updates - 2000)) $((updates - 1000)) "$updates"; do
      echo "$u,3600,1000,10,$(cat "$dir/score"),1,$((7000000 + u)),10" >> "$dir/eval.csv"
    done
    touch "$dir/checkpoint.pt" ;;
esac
STUB_END
chmod +x "$STUB"
rm -rf "$RESULTS" "$RUNS"
mkdir -p "$DATA" "$RUNS/hopper-medium"
touch "$DATA/hopper-medium.hdf5"
# The allocator's settings for a frozen binary (protocol-cell.sh, as base/allocator.h): the user's top pad,
# chosen as a glibc tunable, stays; the other two are set.
lane() { env -u MALLOC_MMAP_THRESHOLD_ -u MALLOC_TRIM_THRESHOLD_ -u MALLOC_TOP_PAD_ -u AAREN_DEFAULT_MALLOC \
  GLIBC_TUNABLES=glibc.malloc.top_pad=4096 AAREN=$STUB STUB_REAL=$A STUB_LOG=$T/calls DATASETS=hopper-medium \
  PARK_EVERY=0 CROSS_RUNS=$T/cross-runs CROSS_RESULTS=$T/cross-results "$TABLE" > "$T/lane.log" 2>&1; }
# (The holder sleeps until killed below: however long the lane takes on a loaded machine, the cell stays locked.)
(exec 7> "$RUNS/hopper-medium/transformer-seed2.lock" && flock 7 && exec sleep 600) > /dev/null 2>&1 &
holder=$!
held "$RUNS/hopper-medium/transformer-seed2.lock"
lane || fail "the lane exited $?: $(tail -3 "$T/lane.log")"
ran=$(grep -o '\] [0-9T:Z-]* .*' "$T/lane.log" | cut -d' ' -f3-)
expected="hopper-medium aaren seed 1
hopper-medium transformer seed 1
hopper-medium aaren seed 2
hopper-medium aaren seed 3
hopper-medium transformer seed 3
hopper-medium crosscheck-aaren seed 1
hopper-medium crosscheck-transformer seed 1
hopper-medium bc seed 1
hopper-medium 10bc seed 1
hopper-medium bc seed 2
hopper-medium 10bc seed 2
hopper-medium bc seed 3
hopper-medium 10bc seed 3
hopper-medium lstm seed 1
hopper-medium lstm seed 2
hopper-medium lstm seed 3
hopper-medium lstm-episodes seed 1"
[[ $ran == "$expected" ]] || fail "the lane ran, in order: $ran"
grep -q "nothing left" "$T/lane.log" || fail "the lane's end: $(tail -1 "$T/lane.log")"
malloc=$(sort -u "$T/calls.malloc")
[[ $malloc == "33554432 1073741824 unset" ]] || fail "a cell's allocator settings (mmap, trim, top pad): $malloc"
[[ -f $T/cross-results/hopper-medium/aaren-seed1/eval-final.json ]] || fail "the cross-check's records"
# Each cell's 50 episodes replay its last point's 10 first: they start from that point's seed.
grep -qx "7040000 $RUNS/hopper-medium/aaren-seed1/checkpoint.pt" "$T/calls.rollouts" ||
  fail "the final rollout's seed: $(head -3 "$T/calls.rollouts")"
kill "$holder" 2> /dev/null || true
wait "$holder" 2> /dev/null || true
lane || fail "the second lane exited $?"
[[ $(grep -c '\] [0-9T:Z-]* hopper' "$T/lane.log") == 1 ]] && grep -q "transformer seed 2" "$T/lane.log" ||
  fail "released, the locked cell alone runs: $(cat "$T/lane.log")"
! grep -q undecided "$T/lane.log" || fail "the verdict at 3 seeds was not read: $(grep undecided "$T/lane.log")"
# A stop mark: no cell starts; a failing cell ends the lane with a non-zero status.
rm -rf "$RESULTS/hopper-medium/bc-seed1" "$RUNS/hopper-medium/bc-seed1"
touch "$RUNS/protocol-table.stop"
lane || fail "a stopped lane exited $?"
grep -q "stopped" "$T/lane.log" && ! grep -q '\] [0-9T:Z-]* hopper' "$T/lane.log" || fail "stopped, yet: $(cat "$T/lane.log")"
# ... and a cell started by a lane that looked before the mark was set does not start once it holds its lock.
set +e
AAREN=$STUB STUB_LOG=$T/calls PROTOCOL_STOP_FILE=$RUNS/protocol-table.stop "$SRC/scripts/protocol-cell.sh" hopper-medium bc 1 \
  > "$T/cell.log" 2>&1
rc=$?
set -e
((rc == 3)) && grep -q "not started: the stop mark" "$T/cell.log" && [[ ! -e $RUNS/hopper-medium/bc-seed1/config.json ]] ||
  fail "a cell under the stop mark: exit $rc: $(cat "$T/cell.log")"
rm "$RUNS/protocol-table.stop"
set +e
STUB_FAIL=1 lane
rc=$?
set -e
((rc == 1)) || fail "a failing cell: the lane exited $rc: $(tail -2 "$T/lane.log")"
# ... at that cell: it started one cell, and said why it stopped.
[[ $(grep -c '\] [0-9T:Z-]* hopper' "$T/lane.log") == 1 ]] && grep -q "a cell failed or was stopped" "$T/lane.log" ||
  fail "a failing cell: the lane went on or said nothing: $(cat "$T/lane.log")"

# A cell killed between checkpoint.pt and its final evaluation (its last point missing from eval.csv)
# is not taken for trained: its last updates run again (a resume), then its 50 episodes.
lstm3=$RUNS/hopper-medium/lstm-seed3
rm -rf "$RESULTS/hopper-medium/lstm-seed3" "$lstm3/eval-final.json"
grep -v '^40000,' "$lstm3/eval.csv" > "$T/eval.csv" && mv "$T/eval.csv" "$lstm3/eval.csv"
touch "$lstm3/checkpoint_39000.pt"  # (the stand-in writes no periodic checkpoint; train's keeps the last)
ARMS=lstm lane || fail "the lane with a cut-short cell exited $?: $(cat "$T/lane.log")"
grep -q "lstm-seed3\] checkpoint.pt without the final evaluation" "$T/lane.log" &&
  grep -q '^40000,3600' "$RESULTS/hopper-medium/lstm-seed3/eval.csv" &&
  [[ $(tail -1 "$T/calls") == *" $lstm3" ]] || fail "a cut-short cell: $(cat "$T/lane.log")"

# A rule for seeds 4 and 5 that cannot be read (versus refuses a damaged record) ends the lane with
# an error, rather than passing the open decision by: with both arms' seeds 1-3 finished.
rm -f "$RUNS/protocol-table.stop"
rm -rf "$RUNS/hopper-medium"/*-seed[45] "$RESULTS/hopper-medium"/*-seed[45]
tail -1 "$RESULTS/hopper-medium/aaren-seed1/eval.csv" > "$T/row" && cat "$T/row" >> "$RESULTS/hopper-medium/aaren-seed1/eval.csv"  # a point twice
set +e
lane
rc=$?
set -e
((rc == 1)) && grep -q "seeds 4 and 5 undecided, aaren versus failed: .*appears twice" "$T/lane.log" &&
  ! grep -q '\] [0-9T:Z-]* hopper' "$T/lane.log" || fail "versus failing: the lane exited $rc: $(cat "$T/lane.log")"

set +e
"$TABLE" --bogus > /dev/null 2>&1
rc=$?
set -e
((rc == 2)) || fail "an unknown argument exits $rc, expected 2"
echo "protocol-table: order, states and the seeds-4-and-5 rule checked"
