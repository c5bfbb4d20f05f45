#!/usr/bin/env bash
# The protocol table (docs/RESULTS.md, "The next table"), cell after cell in its
# committed order, by scripts/protocol-cell.sh. Start one per free core: each
# takes the first cell that is neither finished nor running in another process
# (its lock), so two copies share the table without planning which runs what.
#
# Usage: scripts/protocol-table.sh [--dry-run | --stop]
#   --dry-run  print the cells this call would consider, in order, and their state
#              (a started one's updates, rate and time left)
#   --stop     end every lane on this machine: none starts another cell (a mark,
#              $RUNS/protocol-table.stop, that stays until removed by hand), and each
#              cell running is stopped and parked (scripts/park-runs.sh --stop; commit
#              data/in-flight/ afterwards), whatever DATASETS or ARMS say; needs no AAREN
#
# The order (each pass over it starts again from the top after every cell, so a
# cell that has become due comes before the ones after it):
#   1. per dataset, in the protocol's order (hopper-medium, walker2d-medium-replay,
#      hopper-medium-replay, walker2d-medium, halfcheetah-medium,
#      halfcheetah-medium-replay): Aaren and the Transformer, seeds 1-3
#      alternately; then seeds 4 and 5 of both arms if the primary verdict at 3
#      seeds (`aaren versus --last 3`) is inconclusive, as the protocol fixes (a versus
#      that fails, on a damaged record, ends the lane with its line); on
#      hopper-medium and walker2d-medium, then the cross-check: the seed-1 cells
#      continued to DT's 100k updates (scripts/crosscheck-run.sh; "crosscheck-ARM"),
#      which needs the seed-1 cell's final checkpoint here or the run parked;
#   2. the controls, BC and 10%BC, seeds 1-3, dataset by dataset;
#   3. the LSTM column (Decision LSTM on DT's windows), seeds 1-3, on hopper-medium,
#      walker2d-medium-replay and hopper-medium-expert; then its recurrent check, the
#      LSTM on whole episodes acting recurrently, hopper-medium seed 1 ("lstm-episodes").
# A dataset file that is missing is made first (scripts/make-matched-datasets.sh,
# minutes from the committed records; one lane at a time). hopper-medium-expert
# needs the expert SAC stage (`make-matched-datasets.sh --stage expert hopper`: a
# 1M-step SAC run, hours, parked in data/in-flight/ as it goes and continued from
# there): it comes before every cell ("hopper-medium-expert dataset 0") while its
# file is missing, so that one lane runs it (the longest single job) while the
# others run the cells; a lane that finds it running in another skips it.
# Environment: AAREN (a frozen binary), DATA, RUNS, RESULTS, PARK_EVERY as for
# scripts/protocol-cell.sh; CROSS_RUNS, CROSS_RESULTS as for scripts/crosscheck-run.sh;
# DATASETS="hopper-medium ..." keeps only those datasets' cells, ARMS="lstm ..." only those arms'
# (of aaren, transformer, bc, 10bc, lstm, lstm-episodes, crosscheck-aaren, crosscheck-transformer), the order
# kept: a lane given ARMS=lstm runs the LSTM column beside a lane that runs the rest. Resumable as the
# cells are; a cell killed here continues on the next call (here, or from data/in-flight/ once committed).
set -euo pipefail
{
cd "$(dirname "$0")/.."
MODE=run
case "${1:-}" in
  --dry-run) MODE=dry-run ;;
  --stop) MODE=stop ;;
  -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  "") ;;
  *) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2; exit 2 ;;
esac
DATA=${DATA:-datasets/matched} RUNS=${RUNS:-runs/protocol} RESULTS=${RESULTS:-docs/results/protocol}
IN_FLIGHT=${IN_FLIGHT:-data/in-flight}
A=${AAREN:-build/aaren}
# (--stop needs none: it stops what runs, whichever binary runs it.)
[[ $MODE == stop || -x $A ]] || { echo "protocol-table: $A: no aaren binary (build it, or set AAREN)" >&2; exit 2; }
CROSS_RUNS=${CROSS_RUNS:-runs/crosscheck} CROSS_RESULTS=${CROSS_RESULTS:-docs/results/crosscheck}
export RUNS RESULTS CROSS_RUNS CROSS_RESULTS IN_FLIGHT  # crosscheck-run.sh finds the seed-1 cells in RUNS (records in RESULTS)
TABLE=(hopper-medium walker2d-medium-replay hopper-medium-replay walker2d-medium halfcheetah-medium
  halfcheetah-medium-replay hopper-medium-expert)
LSTM_COLUMN=(hopper-medium walker2d-medium-replay hopper-medium-expert)
CROSSCHECK=(hopper-medium walker2d-medium)
ALL_ARMS="aaren transformer bc 10bc lstm lstm-episodes crosscheck-aaren crosscheck-transformer"
chosen() { [[ -z ${DATASETS:-} || " $DATASETS " == *" $1 "* ]]; }
arm_chosen() { [[ $1 == dataset || -z ${ARMS:-} || " $ARMS " == *" $1 "* ]]; }
for arm in ${ARMS:-}; do
  [[ " $ALL_ARMS " == *" $arm "* ]] || { echo "protocol-table: ARMS: unknown arm '$arm' (expected some of: $ALL_ARMS)" >&2; exit 2; }
done
for d in ${DATASETS:-}; do
  [[ " ${TABLE[*]} " == *" $d "* ]] || { echo "protocol-table: DATASETS: unknown dataset '$d' (expected some of: ${TABLE[*]})" >&2; exit 2; }
done
# Where a cell (DATASET ARM SEED) trains (RUN_DIR) and where its records are kept (KEPT_DIR): the
# table's in RUNS and RESULTS; the cross-check's (ARM crosscheck-aaren, ...) where scripts/crosscheck-run.sh
# puts them. (Set as variables, not printed: the dry run asks for each of ~100 cells many times, and a
# command substitution forks.)
run_dir() {
  if [[ $2 == dataset ]]; then
    RUN_DIR=$DATA/sac-${1%%-*}
  elif [[ $2 == crosscheck-* ]]; then
    RUN_DIR=$CROSS_RUNS/$1/${2#crosscheck-}-seed$3
  else
    RUN_DIR=$RUNS/$1/$2-seed$3
  fi
}
kept_dir() {
  if [[ $2 == crosscheck-* ]]; then KEPT_DIR=$CROSS_RESULTS/$1/${2#crosscheck-}-seed$3; else KEPT_DIR=$RESULTS/$1/$2-seed$3; fi
}
finished() {
  if [[ $2 == dataset ]]; then [[ -f $DATA/$1.hdf5 ]]; else kept_dir "$@" && [[ -f $KEPT_DIR/eval-final.json ]]; fi
}
running() {  # another process holds the cell's lock (a dataset's: its SAC run's)
  run_dir "$@"
  [[ -f $RUN_DIR.lock ]] && ! flock -n "$RUN_DIR.lock" true
}
# A cross-check starts from its seed-1 cell's final checkpoint (not committed: this machine's), once that
# cell is finished, or from its parked run.
startable() {
  [[ $2 == crosscheck-* ]] || return 0
  run_dir "$@"
  [[ -f $RUN_DIR/config.json || -f $IN_FLIGHT/$RUN_DIR/config.json ]] && return 0
  # (checkpoint.pt is written before the final evaluation: the cell's records must be kept too.)
  [[ -f $RUNS/$1/${2#crosscheck-}-seed1/checkpoint.pt ]] && finished "$1" "${2#crosscheck-}" 1
}
# Trains (or continues) one cell.
run_cell() {
  if [[ $2 == crosscheck-* ]]; then scripts/crosscheck-run.sh "$1" "${2#crosscheck-}"; else scripts/protocol-cell.sh "$@"; fi
}
# Seeds 4 and 5 are due once decided: either a run of them exists (the decision was
# taken before), or both arms have finished seeds 1-3 and the primary verdict is inconclusive.
extra_seeds_due() {
  local d=$1 arm s json err
  for arm in aaren transformer; do
    for s in 4 5; do
      [[ -e $RUNS/$d/$arm-seed$s || -e $RESULTS/$d/$arm-seed$s || -e $IN_FLIGHT/$RUNS/$d/$arm-seed$s ]] && return 0
    done
  done
  [[ $MODE == stop ]] && return 1  # seeds 4 and 5 not begun: none runs
  arm_chosen aaren || arm_chosen transformer || return 1  # (a lane without those arms runs none of them)
  for arm in aaren transformer; do
    for s in 1 2 3; do finished "$d" "$arm" "$s" || return 1; done
  done
  # (versus's stderr apart from its JSON: it notes there every dataset with too few cells, which
  # other datasets of a table in progress always have.)
  err=$(mktemp "${TMPDIR:-/tmp}/protocol-table-versus.XXXXXX")
  json=$("$A" versus "$RESULTS" --last 3 --json 2> "$err") || {
    # Not "not due": the lane would go on past an open decision. Said, and marked for run_next.
    echo "protocol-table: $d: seeds 4 and 5 undecided, aaren versus failed: $(tail -1 "$err")" | tee -a "$VERSUS_FAILED" >&2
    rm -f "$err"
    return 1
  }
  rm -f "$err"
  python3 -c 'import json, sys; v = {r["dataset"]: r["verdict"] for r in json.loads(sys.argv[2])["datasets"]}; sys.exit(0 if v.get(sys.argv[1]) == "inconclusive" else 1)' "$d" "$json"
}

# The cells in the table's order, one "DATASET ARM SEED" per line (the chosen arms').
cells() {
  local d arm s
  all_cells | while read -r d arm s; do if arm_chosen "$arm"; then echo "$d $arm $s"; fi; done
  return 0
}
all_cells() {
  local d s
  chosen hopper-medium-expert && [[ ! -f $DATA/hopper-medium-expert.hdf5 ]] && echo "hopper-medium-expert dataset 0"
  for d in "${TABLE[@]}"; do
    chosen "$d" || continue
    for s in 1 2 3; do echo "$d aaren $s" && echo "$d transformer $s"; done
    if extra_seeds_due "$d"; then for s in 4 5; do echo "$d aaren $s" && echo "$d transformer $s"; done; fi
    if [[ " ${CROSSCHECK[*]} " == *" $d "* ]]; then echo "$d crosscheck-aaren 1" && echo "$d crosscheck-transformer 1"; fi
  done
  for d in "${TABLE[@]}"; do chosen "$d" && for s in 1 2 3; do echo "$d bc $s" && echo "$d 10bc $s"; done; done
  for d in "${LSTM_COLUMN[@]}"; do chosen "$d" && for s in 1 2 3; do echo "$d lstm $s"; done; done
  chosen hopper-medium && echo "hopper-medium lstm-episodes 1"
  return 0
}

# The file a cell trains on, made if missing (the medium stage: one lane at a time;
# the expert stage: by the first lane, hours): 0 ready, 1 being made by another
# lane (the expert stage), 2 making it failed or was stopped.
dataset_ready() {
  local d=$1 rc=0
  [[ -f $DATA/$d.hdf5 ]] && return 0
  mkdir -p "$DATA"
  if [[ $d == *expert ]]; then
    dataset_ready "${d%%-*}-medium" || return $?  # the expert stage adds to the medium file
    AAREN=$A scripts/make-matched-datasets.sh --out "$DATA" --stage expert "${d%%-*}" < /dev/null || rc=$?
    ((rc == 75)) && return 1
    [[ -f $DATA/$d.hdf5 ]] && return 0
    return 2
  fi
  (flock 8 && { [[ -f $DATA/$d.hdf5 ]] || AAREN=$A scripts/make-matched-datasets.sh --out "$DATA" "${d%%-*}" < /dev/null; }) 8> "$DATA/.make.lock" || return 2
}

STOP_FILE=$RUNS/protocol-table.stop  # present: no lane starts another cell
export PROTOCOL_STOP_FILE=$STOP_FILE  # (a cell looks again once it holds its lock: scripts/protocol-cell.sh)
VERSUS_FAILED=$(mktemp "${TMPDIR:-/tmp}/protocol-table-versus-failed.XXXXXX")  # non-empty: versus failed this pass
trap 'rm -f "$VERSUS_FAILED"' EXIT
FAILED_DATASETS=""  # expert datasets whose making failed in this lane: their cells are skipped

# One pass: run the first cell that is due; 0 if one ran, 1 if none was left, 2 if it failed.
# (Called as a loop's condition, where `set -e` does not act: failures are returned.)
run_next() {
  local d arm s ready list
  : > "$VERSUS_FAILED"
  list=$(cells)
  [[ -s $VERSUS_FAILED ]] && { echo "protocol-table: the rule for seeds 4 and 5 could not be read (above): fix it, then call again" >&2; return 2; }
  while read -r d arm s; do
    [[ -z $d ]] && continue  # an empty list is one blank line here
    finished "$d" "$arm" "$s" && continue
    running "$d" "$arm" "$s" && continue
    [[ -f $STOP_FILE ]] && { echo "[protocol-table] stopped ($STOP_FILE: remove it to run again)"; return 1; }
    startable "$d" "$arm" "$s" || { echo "[protocol-table] $d $arm: needs its seed-1 cell finished here ($RUNS/$d/${arm#crosscheck-}-seed1/checkpoint.pt and its records): waits"; continue; }
    [[ " $FAILED_DATASETS " == *" $d "* ]] && continue
    ready=0
    [[ $arm == dataset ]] && echo "[protocol-table] $(date -u +%FT%TZ) $d: the expert stage (scripts/make-matched-datasets.sh --stage expert ${d%%-*})"
    dataset_ready "$d" || ready=$?
    [[ -f $STOP_FILE ]] && { echo "[protocol-table] stopped ($STOP_FILE: remove it to run again)"; return 1; }
    ((ready == 1)) && { echo "[protocol-table] $d: its expert stage runs in another lane: its cells wait"; continue; }
    if ((ready == 2)) && [[ $d == *expert ]]; then  # hours of SAC: the other cells need not wait for a fix
      echo "protocol-table: making $DATA/$d.hdf5 failed (see above): this lane skips $d from now on" >&2
      FAILED_DATASETS+=" $d"
      continue
    fi
    ((ready == 2)) && { echo "protocol-table: making $DATA/$d.hdf5 failed" >&2; return 2; }
    [[ $arm == dataset ]] && return 0  # made above
    echo "[protocol-table] $(date -u +%FT%TZ) $d $arm seed $s"
    run_cell "$d" "$arm" "$s" < /dev/null || return 2
    return 0
  done <<< "$list"
  return 1
}

if [[ $MODE == stop ]]; then
  DATASETS=""  # every lane's cells, whatever this call's environment holds (below)
  mkdir -p "$RUNS" && touch "$STOP_FILE"
  running_runs=()
  # Every lane's cells, whatever ARMS or DATASETS this call was given.
  while read -r d arm s; do running "$d" "$arm" "$s" && running_runs+=("$RUN_DIR"); done < <(all_cells)
  for lock in "$DATA"/sac-*.lock; do  # an expert stage's SAC run
    [[ -f $lock && " ${running_runs[*]} " != *" ${lock%.lock} "* ]] && ! flock -n "$lock" true && running_runs+=("${lock%.lock}")
  done
  ((${#running_runs[@]})) || { echo "[protocol-table] no cell running"; exit 0; }
  rm -f "$VERSUS_FAILED"  # (exec skips the EXIT trap)
  exec scripts/park-runs.sh --stop "${running_runs[@]}"
fi
# A started cell's progress, from its train_log.csv (here, or parked in $IN_FLIGHT), whose
# seconds count the run's time (training and its evaluations) across resumes: " (U/TOTAL
# updates, R an hour over the last 1,000, about H h left)", no newline; nothing for a cell not started.
progress() {
  local run parked=""
  [[ $2 == dataset ]] && return 0
  run_dir "$@"
  run=$RUN_DIR
  [[ -f $run/train_log.csv ]] || { run=$IN_FLIGHT/$run; parked=", parked"; }
  [[ -f $run/train_log.csv && -f $run/config.json ]] || return 0
  python3 - "$run" "$parked" << 'PY'
import csv, json, sys
run, where = sys.argv[1], sys.argv[2]
rows = [(int(r["update"]), float(r["seconds"])) for r in csv.DictReader(open(f"{run}/train_log.csv"))]
total = int(json.load(open(f"{run}/config.json"))["updates"])
if not rows:
    sys.exit(0)
(u0, s0), (u, s) = rows[max(0, len(rows) - 1001)], rows[-1]
if u >= total:  # e.g. a cross-check set up from its finished cell, not yet continued to its length
    print(f" ({u:,} updates{where})", end="")
elif u > u0 and s > s0:
    rate = (u - u0) / (s - s0) * 3600
    print(f" ({u:,}/{total:,} updates{where}; {rate:,.0f} an hour; about {(total - u) / rate:.1f} h left)", end="")
else:
    print(f" ({u:,}/{total:,} updates{where})", end="")
PY
}
if [[ $MODE == dry-run ]]; then
  cells | while read -r d arm s; do
    state=due
    finished "$d" "$arm" "$s" && { echo "$d $arm $s: finished"; continue; }
    running "$d" "$arm" "$s" && state=running
    printf '%s' "$d $arm $s: $state"
    progress "$d" "$arm" "$s" || true
    echo
  done
  exit 0
fi
rc=0
while ((rc == 0)); do run_next && rc=0 || rc=$?; done
((rc == 1)) && { echo "[protocol-table] nothing left that this lane can run"; exit 0; }
echo "protocol-table: a cell failed or was stopped (see its log in $RUNS/); the next call continues it (once $STOP_FILE is gone, where it was set)" >&2
exit 1
}
