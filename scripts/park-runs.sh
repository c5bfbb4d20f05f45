#!/usr/bin/env bash
# Parks training runs that are still in flight so that they survive the loss of
# this machine: each run's newest checkpoint and its records (config.json,
# train_log.csv, eval.csv) are copied into the repository, under
# data/in-flight/<the run's path>, to be committed. scripts/protocol-cell.sh
# continues a parked cell from there on any machine (a resumed run computes and
# records what an uninterrupted one does) and deletes the parked copy when the
# cell is done. A SAC run (`aaren sac --state-every N`) is parked as its saved
# state (resume.pt: networks, optimisers, generators and the actions taken, from
# which `aaren sac --resume` rebuilds the replay buffer), its logs and the
# policies it has saved; scripts/make-matched-datasets.sh --stage expert
# continues it from there.
#
# Usage: scripts/park-runs.sh [--stop | --restore] RUN_DIR...
#   RUN_DIR    a run folder (one `aaren train --out` or `aaren sac --out` folder)
#   --stop     first stop the run's training gracefully (SIGTERM: the update in
#              progress ends and a checkpoint is written), then wait for its
#              cell script to let go of RUN_DIR.lock
#   --restore  the other way: copy a parked run back into RUN_DIR (when RUN_DIR
#              has no config.json), ready for `aaren train --resume RUN_DIR`
# Environment: IN_FLIGHT=data/in-flight  where parked runs are kept
#
# A run without a checkpoint_<update>.pt (SAC: resume.pt) is reported and skipped; a
# finished run (checkpoint.pt; SAC: policy_final.pt) needs no parking. Nothing is half-written: each run is
# copied to a temporary folder first and renamed into place.
set -euo pipefail
CALLER_DIR=$PWD
cd "$(dirname "$0")/.."
ROOT=$PWD

IN_FLIGHT=${IN_FLIGHT:-data/in-flight}
MODE=park
RUNS=()
while (($#)); do
  case "$1" in
    --stop) MODE=stop; shift ;;
    --restore) MODE=restore; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) echo "park-runs: unknown flag '$1' (expected --stop or --restore)" >&2; exit 2 ;;
    *) RUNS+=("${1%/}"); shift ;;
  esac
done
# A RUN_DIR is spelt as the cell's scripts spell it (their trainers' command lines, and
# data/in-flight/<that path>): as given when absolute or given from the repository's folder (the
# cells' own calls); a relative one given from another folder is taken from there, and named
# relative to the repository when inside it.
if [[ ! $CALLER_DIR -ef $ROOT ]]; then
  for i in "${!RUNS[@]}"; do
    [[ ${RUNS[$i]} == /* ]] && continue
    abs=$(realpath -m -s -- "$CALLER_DIR/${RUNS[$i]}")
    if [[ $abs == "$ROOT"/* ]]; then RUNS[$i]=${abs#"$ROOT"/}; else RUNS[$i]=$abs; fi
  done
fi
((${#RUNS[@]})) || { echo "park-runs: name at least one RUN_DIR (a folder under runs/)" >&2; exit 2; }

# A run's trainer: `aaren train` or `aaren sac` with the folder as --out or --resume.
trainer_pattern() { echo "aaren[^ ]* (train|sac) .*(--out|--resume) $1( |\$)"; }

signal_run() {  # $1 run folder: TERM its trainer (train: the update in progress ends, a checkpoint is written)
  local pids
  pids=$(pgrep -f "$(trainer_pattern "$1")" || true)
  [[ -z $pids ]] || kill -TERM $pids
}

wait_run() {  # $1 run folder: wait for its trainer and its cell script to exit
  if [[ -f $1.lock ]]; then
    flock -w 900 "$1.lock" true || { echo "park-runs: $1 still running after 15 minutes" >&2; return 1; }
  fi
  while pgrep -f "$(trainer_pattern "$1")" > /dev/null; do sleep 1; done
}

is_sac() { grep -q '"command": *"sac"' "$1/config.json"; }

# The files that carry a run, most important first: the state before the logs, so
# that the logs copied reach at least its step (a resume drops the rows after it).
park_files() {  # $1 run folder -> names, or nothing when the run has no state to park yet
  local newest
  if is_sac "$1"; then
    [[ -f $1/resume.pt ]] || return 0
    echo resume.pt config.json log.csv
    [[ -f $1/eval.csv ]] && echo eval.csv
    (cd "$1" && ls | grep -E '^policy_.*\.pt$' || true)
  else
    newest=$(ls "$1" | grep -E '^checkpoint_[0-9]+\.pt$' | sort -t_ -k2 -n | tail -1 || true)
    [[ -n $newest ]] || return 0
    echo "$newest" config.json train_log.csv
    [[ -f $1/eval.csv ]] && echo eval.csv
  fi
  return 0
}

# Finished: train wrote checkpoint.pt; sac wrote policy_final.pt after its last state
# (a run continued from an earlier run's folder saves states newer than that file).
finished() {  # $1 run folder
  [[ -f $1/checkpoint.pt ]] && return 0
  [[ -f $1/policy_final.pt ]] && { [[ ! -f $1/resume.pt ]] || [[ $1/policy_final.pt -nt $1/resume.pt ]]; }
}

park() {  # $1 run folder
  local run=$1 dest=$IN_FLIGHT/${1#/} files f where
  [[ -d $run && -f $run/config.json ]] || { echo "park-runs: $run: not a run folder (no config.json)" >&2; return 1; }
  if finished "$run"; then echo "[$run] finished: nothing to park"; return 0; fi
  files=$(park_files "$run")
  if is_sac "$run" && [[ -f $run/resume.pt ]] && (($(stat -c %s "$run/resume.pt") > 100000000)); then
    echo "park-runs: $run/resume.pt is over 100 MB (a state of an older aaren, with the replay buffer): not parked" >&2
    return 1
  fi
  [[ -n $files ]] || { echo "[$run] no checkpoint_<update>.pt yet (SAC: no resume.pt): not parked"; return 0; }
  # One park of a run at a time (a periodic one may still be copying when --stop parks),
  # each into a folder of its own, renamed into place only when every copy succeeded.
  # (The lock file lies beside the run, not in IN_FLIGHT, which is committed.)
  # (Called where `set -e` does not act: each step's failure is returned by hand.)
  mkdir -p "$(dirname "$dest")" || { echo "park-runs: $(dirname "$dest"): cannot make it: not parked" >&2; return 1; }
  exec {lock}> "$run.park-lock" && flock "$lock" || { echo "park-runs: $run.park-lock: cannot lock it: not parked" >&2; return 1; }
  local tmp=$dest.tmp.$$ old=$dest.old.$$
  rm -rf "$tmp" && mkdir -p "$tmp" || { exec {lock}>&-; echo "park-runs: $tmp: cannot make it: not parked" >&2; return 1; }
  for f in $files; do
    cp "$run/$f" "$tmp/" || { rm -rf "$tmp"; exec {lock}>&-; echo "park-runs: $run/$f: copy failed: not parked" >&2; return 1; }
  done
  # The earlier park is kept until the new one is in place.
  if [[ -e $dest ]] && ! mv "$dest" "$old"; then
    rm -rf "$tmp"; exec {lock}>&-; echo "park-runs: $dest: cannot replace it: not parked" >&2; return 1
  fi
  mv "$tmp" "$dest" || {
    [[ -e $old ]] && mv "$old" "$dest"
    rm -rf "$tmp"; exec {lock}>&-; echo "park-runs: $dest: cannot move the new park into place: the earlier one kept" >&2; return 1
  }
  rm -rf "$old"
  exec {lock}>&-
  if is_sac "$run"; then where="$(tail -1 "$run/log.csv" | cut -d, -f1) steps (its state a little before)"; else where="$(grep -E '^checkpoint_' <<<"$files" | tr -dc 0-9) updates"; fi
  echo "[$run] parked at $where in $dest ($(du -sh "$dest" | cut -f1))"
}

restore() {  # $1 run folder
  local run=$1 src=$IN_FLIGHT/${1#/}
  [[ -f $run/config.json ]] && { echo "[$run] present here: nothing to restore"; return 0; }
  [[ -f $src/config.json ]] || { echo "park-runs: $src: no parked run for $run" >&2; return 1; }
  # config.json, which marks a run present, comes last and whole (renamed into place): a failed
  # copy leaves the run absent. (Called where `set -e` does not act: failures returned by hand.)
  local f
  mkdir -p "$run" || { echo "park-runs: $run: cannot make it: not restored" >&2; return 1; }
  for f in "$src"/*; do
    [[ ${f##*/} == config.json ]] || cp "$f" "$run"/ || { echo "park-runs: $f: copy failed: not restored" >&2; return 1; }
  done
  cp "$src/config.json" "$run/config.json.tmp" && mv "$run/config.json.tmp" "$run/config.json" ||
    { rm -f "$run/config.json.tmp"; echo "park-runs: $src/config.json: copy failed: not restored" >&2; return 1; }
  if [[ -f $run/log.csv ]]; then
    echo "[$run] restored from $src ($(tail -1 "$run/log.csv" | cut -d, -f1) SAC steps logged)"
  else
    echo "[$run] restored from $src ($(tail -1 "$run/train_log.csv" | cut -d, -f1) updates logged)"
  fi
}

# Every run is signalled before any is waited for, and one that fails to stop or park
# does not keep the others from being parked: the exit status says that one failed.
failed=0
if [[ $MODE == stop ]]; then
  for run in "${RUNS[@]}"; do signal_run "$run"; done
fi
for run in "${RUNS[@]}"; do
  case $MODE in
    stop) { wait_run "$run" && park "$run"; } || failed=1 ;;
    park) park "$run" || failed=1 ;;
    restore) restore "$run" || failed=1 ;;
  esac
done
exit "$failed"
