#!/usr/bin/env bash
# Makes datasets matched to D4RL v2's published statistics (Fu et al. 2020,
# "D4RL: Datasets for Deep Data-Driven Reinforcement Learning"), with this
# toolkit alone. One SAC run per env (seed 1) gives them all:
#
#   <env>-medium         1M transitions *sampled* from the SAC policy whose
#                        sampled mean (50 episodes) is nearest D4RL's medium
#                        file in D4RL-normalised score: the run evaluates every
#                        2,500 steps and saves its policy every 500; the
#                        policies between two evaluations that straddle D4RL's
#                        level are probed. The file's own mean is then checked
#                        against D4RL's (+-3), the next-nearest tried on a miss
#   <env>-medium-replay  that SAC run's replay buffer up to that policy, as
#                        D4RL's is ("until the policy reaches the medium
#                        level"): the first S rows of the run's buffer, which is
#                        kept in insertion order; its size and mean are what the
#                        run gives
#   <env>-expert         (stage 2) the same run taken to 1M steps (run again from
#                        step 0 where its state is not here: deterministic, so
#                        the same run; its policy at the medium step is compared
#                        with the committed one); of its policies saved every
#                        50k steps from 650k, the one whose sampled mean is
#                        nearest D4RL's expert file; 1M transitions
#   <env>-medium-expert  medium + expert, concatenated
#
# The SAC run of stage 1 saves a policy at every evaluation and stops once an
# evaluation is 10 points past D4RL's medium level (the policy has left it).
#
# Usage: scripts/make-matched-datasets.sh [--out DIR] [--stage medium|expert] [ENV...]
#   ENV      hopper, halfcheetah, walker2d (default: all three)
#   --stage  medium (default): SAC past the medium level, then medium and
#            medium-replay. expert: continue each SAC run to 1M steps, then
#            expert and medium-expert (hours per env).
#   --out    where the files go (default: datasets/matched; not committed)
#
# Rebuilt in minutes, without SAC: each selected policy (medium and expert) and
# each medium-replay's actions are committed (data/matched/), and a file missing
# here is made again from them: `aaren collect --actions` replays the SAC run's
# episodes exactly.
# docs/datasets/matched/checksums.txt holds the arrays' SHA-256
# (scripts/dataset-checksums.py); every file made is checked against it.
#
# Resumable: a stage whose output exists is skipped; a killed SAC run continues
# from its last saved state (every 5,000 steps, `aaren sac --resume DIR`), giving the
# numbers of a run never stopped. The expert stage's run (hours) is parked every
# PARK_EVERY seconds (default 1800) into IN_FLIGHT (default data/in-flight;
# scripts/park-runs.sh: commit it) and continues from there on another machine;
# one process per env runs it (OUT/sac-ENV.lock): another exits with status 75. Kernels are pinned (OPENBLAS_CORETYPE=Haswell,
# ATEN_CPU_CAPABILITY=avx2: AAREN_REPRODUCIBLE=1) so that any x86-64 CPU with
# AVX2 makes the same bits.
set -euo pipefail
# One block, read whole before it runs: editing this file cannot change a run in progress.
{
cd "$(dirname "$0")/.."

OUT=datasets/matched
STAGE=medium
ENVS=()
while (($#)); do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --stage) STAGE="$2"; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    hopper|halfcheetah|walker2d) ENVS+=("$1"); shift ;;
    *) echo "make-matched-datasets: unknown argument '$1' (expected --out DIR, --stage medium|expert, hopper, halfcheetah or walker2d)" >&2; exit 2 ;;
  esac
done
case "$STAGE" in medium|expert) ;; *) echo "make-matched-datasets: --stage must be medium or expert, got '$STAGE'" >&2; exit 2 ;; esac
((${#ENVS[@]})) || ENVS=(hopper halfcheetah walker2d)
[[ ${PARK_EVERY:-1800} =~ ^(0|[1-9][0-9]*)$ ]] || { echo "make-matched-datasets: PARK_EVERY must be a whole number of seconds, got '$PARK_EVERY'" >&2; exit 2; }
[[ -z ${AAREN:-} || -x $AAREN ]] || { echo "make-matched-datasets: AAREN=$AAREN: no such program (unset it to build build/aaren)" >&2; exit 2; }

A=${AAREN:-build/aaren}  # AAREN=path: a frozen copy, so rebuilding cannot change a long run
export OPENBLAS_CORETYPE=Haswell ATEN_CPU_CAPABILITY=avx2
if [[ ! -x $A ]]; then
  ./scripts/setup.sh
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build --target aaren
fi
mkdir -p "$OUT"
PY=/usr/bin/python3  # Debian's, with h5py

# D4RL's reference returns (d4rl/infos.py REF_MIN_SCORE, REF_MAX_SCORE) and the
# mean normalised score of D4RL v2's medium and expert files (docs/DATASETS.md
# gives their source).
ref() {  # $1 env -> "min max medium_target expert_target"
  case "$1" in
    hopper) echo "-20.272305 3234.3 44.3 108.5" ;;
    halfcheetah) echo "-280.178953 12135.0 40.7 88.1" ;;
    walker2d) echo "1.629008 4592.3 62.1 107.1" ;;
  esac
}
to_return() {  # $1 env, $2 normalised score -> return
  read -r lo hi _ _ <<<"$(ref "$1")"
  awk -v lo="$lo" -v hi="$hi" -v s="$2" 'BEGIN { printf "%.3f", lo + s / 100 * (hi - lo) }'
}

IN_FLIGHT=${IN_FLIGHT:-data/in-flight} PARK_EVERY=${PARK_EVERY:-1800}
SAC_SEED=1 MEDIUM_SEED=11 EXPERT_SEED=12 N=1000000 TOLERANCE=3 PAST=10
RECORDS=data/matched SUMS=docs/datasets/matched/checksums.txt
EVAL_EVERY=2500 POLICY_EVERY=500 FINE_EVERY=25
MEDIUM_CANDIDATES=$(seq $POLICY_EVERY $POLICY_EVERY 600000 | tr '\n' ' ')
EXPERT_CANDIDATES="650000 700000 750000 800000 850000 900000 950000 1000000"

sac() {  # $1 env, then extra flags: the one SAC run of both stages
  local env=$1; shift
  local out=${SAC_OUT:-$OUT/sac-$env} resume=()
  if [[ -f $out/resume.pt ]]; then
    resume=(--resume "$out")
  elif [[ ! -e $out/medium-step.txt && ! -e $out/replay-all.hdf5 ]]; then
    resume=(--overwrite)  # no saved state and nothing the stages made: what a killed start left is replaced
  fi  # (else sac refuses the folder in one line: it holds the medium stage's files but no state to continue)
  $A sac --env "$env" --env-steps 1000000 --eval-every $EVAL_EVERY --eval-episodes 50 --eval-sampled \
    --save-policy-steps ${SAVE_STEPS:-$MEDIUM_CANDIDATES $EXPERT_CANDIDATES} ${FINE_STEPS:-} --seed $SAC_SEED --threads 1 --state-every 5000 \
    "${resume[@]}" --out "$out" "$@" 2>&1 | stdbuf -o0 tr '\r' '\n' | awk '!/^\[sac\] step/ || /0000\// { print; fflush() }' | tee -a "${SAC_OUT:-$OUT/sac-$env}.log"
}

summarise() {  # $1 file: aaren data inspect --json beside it, once
  local s=${1%.hdf5}.summary.json
  [[ -f $s ]] || { $A data inspect "$1" --json > "$s.tmp" && mv "$s.tmp" "$s"; }
}
normalised_mean() {  # $1 file
  summarise "$1"
  $PY -c "import json,sys; j = json.load(open(sys.argv[1])); print(j.get('score_mean', j.get('normalized_score_mean')))" "${1%.hdf5}.summary.json"
}

# A file's arrays against the committed checksum (a new file's is added).
check_sum() {  # $1 file
  local line name
  line=$(scripts/dataset-checksums.py "$1")
  name=$(basename "$1")
  mkdir -p "$(dirname "$SUMS")"
  if grep -q "  $name\$" "$SUMS" 2>/dev/null; then
    grep -qx "$line" "$SUMS" || { echo "make-matched-datasets: $1 differs from $SUMS" >&2; return 1; }
    echo "[$name] arrays match $SUMS"
  else
    echo "$line" >> "$SUMS"
  fi
}

# A policy of the run: saved by the run itself or by its fine rerun.
policy_at() {  # $1 env, $2 step
  local f=$OUT/sac-$1/policy_step$2.pt
  [[ -f $f ]] || f=$OUT/sac-$1-fine/policy_step$2.pt
  echo "$f"
}

# 50 sampled episodes (seed 500: not the data's) of the policies at these
# steps, once each, into a CSV of the run (SAC/probes.csv unless PROBES names another).
probe() {  # $1 env, then steps
  local env=$1 csv=${PROBES:-$OUT/sac-$1/probes.csv} probe=$OUT/sac-$1/probe.hdf5; shift
  [[ -f $csv ]] || echo "step,normalised" > "$csv"
  for step in "$@"; do
    grep -q "^$step," "$csv" && continue
    $A collect --env "$env" --policy "$(policy_at "$env" "$step")" --episodes 50 --seed 500 --overwrite --out "$probe" >/dev/null 2>&1
    echo "$step,$($A data inspect "$probe" --json | $PY -c "import json,sys; j = json.load(sys.stdin); print(j.get('score_mean', j.get('normalized_score_mean')))")" >> "$csv"
    rm -f "$probe"
  done
}

# Steps between two consecutive ones of `file` (step,score CSV) whose scores
# straddle the level: every `every` steps from the lower to the upper.
straddled() {  # $1 file, $2 level, $3 lo, $4 hi (return -> score; 0 100: already scores), $5 every
  awk -F, -v m="$2" -v lo="$3" -v hi="$4" -v every="$5" 'NR > 1 {
      s = 100 * ($2 - lo) / (hi - lo)
      if (NR > 2 && (prev - m) * (s - m) <= 0) for (k = prev_step; k <= $1; k += every) print k
      prev = s; prev_step = $1 }' "$1"
}

# The policies around D4RL's medium level, probed: those saved (every 500
# steps) between two evaluations that straddle it, and those of evaluations
# within 5 points of it. When none is within 1.5 points, the run is repeated
# (deterministic: the same run) saving a policy every 25 steps between the two
# probed policies that straddle the level, and those are probed too. Prints
# "step gap score", nearest first.
medium_candidates() {  # $1 env
  local env=$1 sac=$OUT/sac-$1
  read -r lo hi medium _ <<<"$(ref "$env")"
  local coarse near
  coarse=$(straddled "$sac/eval.csv" "$medium" "$lo" "$hi" $POLICY_EVERY)
  near=$(awk -F, -v lo="$lo" -v hi="$hi" -v m="$medium" 'NR > 1 { s = 100 * ($2 - lo) / (hi - lo); if (s > m - 5 && s < m + 5) print $1 }' "$sac/eval.csv")
  # shellcheck disable=SC2086
  probe "$env" $(printf '%s\n' $coarse $near | sort -n -u)
  # (The ranking captured first: under pipefail, awk leaving the pipe after line 1 could fail sort.)
  local ranking
  ranking=$(ranked "$env")
  if [[ -n $ranking ]] && ! awk 'NR == 1 { exit !($2 > 1.5) }' <<< "$ranking"; then ranked "$env"; return; fi
  sorted=$(mktemp)
  { head -1 "$sac/probes.csv"; tail -n +2 "$sac/probes.csv" | sort -t, -k1,1n; } > "$sorted"
  local fine
  fine=$(straddled "$sorted" "$medium" 0 100 $FINE_EVERY | sort -n -u)
  rm -f "$sorted"
  if [[ -n $fine && ! -f $OUT/sac-$env-fine/policy_final.pt ]]; then
    echo "[$env] no probe within 1.5 of $medium: the run again, a policy every $FINE_EVERY steps in between" >&2
    # shellcheck disable=SC2086
    SAC_OUT=$OUT/sac-$env-fine FINE_STEPS="$fine" sac "$env" \
      --stop-at-return "$(to_return "$env" "$(awk -v m="$medium" -v p=$PAST 'BEGIN { print m + p }')")" >&2
  fi
  # shellcheck disable=SC2086
  probe "$env" $fine
  ranked "$env"
}
ranked() {  # $1 env: the probes, nearest D4RL's medium level first
  read -r _ _ medium _ <<<"$(ref "$1")"
  awk -F, -v m="$medium" 'NR > 1 { d = $2 - m; if (d < 0) d = -d; printf "%s %.4f %.2f\n", $1, d, $2 }' \
    "$OUT/sac-$1/probes.csv" | sort -k2,2g -k1,1n
}

# The first `rows` transitions of a file (a SAC replay buffer, oldest first).
first_rows() {  # $1 source, $2 rows, $3 out, $4 what
  $PY - "$1" "$2" "$3" "$4" <<'PY'
import os, sys, h5py
src, rows, out, what = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
tmp = out + ".tmp." + str(os.getpid())
with h5py.File(src, "r") as a, h5py.File(tmp, "w") as b:
    def copy(name, obj):
        if isinstance(obj, h5py.Dataset):
            data = obj[()] if obj.ndim == 0 or obj.shape[0] != a["rewards"].shape[0] else obj[:rows]
            b.create_dataset(name, data=data, compression="gzip" if getattr(data, "ndim", 0) else None)
    a.visititems(copy)
    for key, value in (("made_by", what), ("sac_steps", str(rows))):
        if "metadata/" + key in b:
            del b["metadata/" + key]
        b["metadata/" + key] = value
os.replace(tmp, out)
PY
}

# The committed record of a run: its selected policy and the replay's actions.
keep_record() {  # $1 env, $2 selected step
  local env=$1 policy=$RECORDS/sac-$1-seed$SAC_SEED-medium.pt actions=$RECORDS/$1-medium-replay-actions.hdf5
  mkdir -p "$RECORDS"
  [[ -f $policy ]] || cp "$(policy_at "$env" "$2")" "$policy"
  [[ -f $actions ]] || $PY - "$OUT/$env-medium-replay.hdf5" "$actions" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as src, h5py.File(sys.argv[2], "w") as dst:
    dst.create_dataset("actions", data=src["actions"][()], compression="gzip", compression_opts=9, shuffle=True)
    dst.attrs["made_by"] = "scripts/make-matched-datasets.sh: the actions of " + sys.argv[1].rsplit("/", 1)[-1]
PY
}

# Medium from the candidates in order: the first whose 1M file is within the tolerance.
select_medium() {  # $1 env -> prints the selected step
  local env=$1 sac=$OUT/sac-$1 medium=$OUT/$1-medium.hdf5 tried=0
  read -r _ _ target _ <<<"$(ref "$env")"
  while read -r step gap score; do
    ((tried < 3)) || break
    tried=$((tried + 1))
    echo "[$env] medium candidate: step $step, probed at $score (D4RL $target)" >&2
    rm -f "$medium" "${medium%.hdf5}.summary.json"
    $A collect --env "$env" --policy "$(policy_at "$env" "$step")" --transitions $N --seed $MEDIUM_SEED --out "$medium" >&2
    local mean
    mean=$(normalised_mean "$medium")
    echo "[$env] medium file from step $step: normalised mean $mean" >&2
    if awk -v a="$mean" -v t="$target" -v tol=$TOLERANCE 'BEGIN { d = a - t; exit !(d <= tol && d >= -tol) }'; then
      echo "$step"
      return 0
    fi
  done < <(medium_candidates "$env")
  echo "make-matched-datasets: $env: no candidate within +-$TOLERANCE of D4RL's $target (kept the last one tried)" >&2
  echo "$step"
}

medium_stage() {
  local env=$1 sac=$OUT/sac-$1 replay=$OUT/$1-medium-replay.hdf5 medium=$OUT/$1-medium.hdf5
  local policy=$RECORDS/sac-$1-seed$SAC_SEED-medium.pt actions=$RECORDS/$1-medium-replay-actions.hdf5
  if [[ -f $policy && -f $actions ]]; then  # the committed record: minutes, no SAC
    [[ -f $replay ]] || $A collect --env "$env" --actions "$actions" --seed $SAC_SEED --out "$replay"
    [[ -f $medium ]] || $A collect --env "$env" --policy "$policy" --transitions $N --seed $MEDIUM_SEED --out "$medium"
  else
    read -r _ _ target _ <<<"$(ref "$env")"
    [[ -f $sac/replay-all.hdf5 ]] || sac "$env" --stop-at-return "$(to_return "$env" "$(awk -v m="$target" -v p=$PAST 'BEGIN { print m + p }')")" \
      --dump-replay "$sac/replay-all.hdf5"
    local step
    step=$(select_medium "$env")
    echo "$step" > "$sac/medium-step.txt"
    first_rows "$sac/replay-all.hdf5" "$step" "$replay" \
      "scripts/make-matched-datasets.sh: the first $step transitions of the SAC run's buffer (seed $SAC_SEED), up to the medium policy"
    keep_record "$env" "$step"
  fi
  check_sum "$replay"
  check_sum "$medium"
  summarise "$replay"
  summarise "$medium"
}

# The expert stage's SAC run to 1M steps, restored from its parked copy if it has
# one and parked as it goes. It saves only the expert candidates and the policy of
# the medium step, which must equal the committed one (the same run).
expert_sac() {  # $1 env
  local env=$1 sac=$OUT/sac-$1 medium_step rc=0 parker=""
  [[ -f $sac/config.json || ! -f $IN_FLIGHT/${sac#/}/config.json ]] || IN_FLIGHT=$IN_FLIGHT scripts/park-runs.sh --restore "$sac"
  medium_step=$(cat "docs/datasets/matched/sac-$env/medium-step.txt" 2>/dev/null || true)
  if ((PARK_EVERY > 0)); then
    (exec 7>&-; while sleep "$PARK_EVERY"; do IN_FLIGHT=$IN_FLIGHT scripts/park-runs.sh "$sac" || true; done) > /dev/null 2>&1 &
    parker=$!
  fi
  SAVE_STEPS="$medium_step $EXPERT_CANDIDATES" sac "$env" || rc=$?
  [[ -z $parker ]] || kill "$parker" 2> /dev/null || true
  ((rc == 0)) || return "$rc"
  local record=$RECORDS/sac-$env-seed$SAC_SEED-medium.pt
  [[ -n $medium_step && -f $record ]] || return 0
  if [[ ! -f $sac/policy_step$medium_step.pt ]]; then
    echo "[$env] warning: no $sac/policy_step$medium_step.pt (not parked with the run?): not compared with $record" >&2
    return 0
  fi
  local same=0
  same_policy "$env" "$record" "$sac/policy_step$medium_step.pt" || same=$?
  case $same in
    0) echo "[$env] the run's policy at step $medium_step acts as the committed medium policy (the same run)" ;;
    1) echo "make-matched-datasets: $env: the run's policy at step $medium_step acts unlike $record: not the run that made the medium files" >&2
       return 1 ;;
    *) echo "make-matched-datasets: $env: comparing the policy at step $medium_step with $record failed" >&2
       return 1 ;;
  esac
}
# Two policies that act the same: their mean actions over 3 episodes give the same
# arrays. 0 the same, 1 not, 2 the comparison itself failed.
same_policy() {  # $1 env, $2 and $3 policy files
  local a="" b="" rc=0
  { $A collect --env "$1" --policy "$2" --deterministic --episodes 3 --seed 500 --overwrite --out "$OUT/.same-a.hdf5" > /dev/null &&
    $A collect --env "$1" --policy "$3" --deterministic --episodes 3 --seed 500 --overwrite --out "$OUT/.same-b.hdf5" > /dev/null &&
    a=$(scripts/dataset-checksums.py "$OUT/.same-a.hdf5") && b=$(scripts/dataset-checksums.py "$OUT/.same-b.hdf5"); } || rc=2
  rm -f "$OUT/.same-a.hdf5" "$OUT/.same-b.hdf5"
  ((rc == 0)) && [[ -n $a ]] || return 2
  [[ ${a%% *} == "${b%% *}" ]]
}

# Expert from the candidates: the one whose 50 sampled episodes (seed 500: not the
# data's) score nearest D4RL's expert file; each probe once, into SAC/expert-probes.csv.
select_expert() {  # $1 env -> prints the selected step
  local env=$1 sac=$OUT/sac-$1 best="" best_gap=1e9 target score gap
  read -r _ _ _ target <<<"$(ref "$env")"
  PROBES=$sac/expert-probes.csv probe "$env" $EXPERT_CANDIDATES
  for step in $EXPERT_CANDIDATES; do
    score=$(grep "^$step," "$sac/expert-probes.csv" | cut -d, -f2)
    gap=$(awk -v s="$score" -v t="$target" 'BEGIN { d = s - t; print d < 0 ? -d : d }')
    echo "[$env] expert candidate step $step: sampled normalised $score (D4RL expert $target)" >&2
    if awk -v g="$gap" -v b="$best_gap" 'BEGIN { exit !(g < b) }'; then best=$step best_gap=$gap; fi
  done
  echo "$best"
}

# Without the committed expert policy: the SAC run (hours), the candidates probed,
# and the selected policy kept (data/matched/) with the run's records
# (docs/datasets/matched/sac-ENV/: evaluations, probes, the selected step, config).
make_expert_record() {  # $1 env, $2 the record to write
  local env=$1 sac=$OUT/sac-$1 docs=docs/datasets/matched/sac-$1 best
  [[ -f $sac/policy_step1000000.pt ]] || expert_sac "$env"
  best=$(select_expert "$env")
  echo "$best" > "$sac/expert-step.txt"
  mkdir -p "$RECORDS" "$docs"
  cp "$sac/policy_step$best.pt" "$2.tmp" && mv "$2.tmp" "$2"
  cp "$sac/expert-probes.csv" "$sac/expert-step.txt" "$docs/"
  cp "$sac/eval.csv" "$docs/expert-eval.csv"
  cp "$sac/config.json" "$docs/config-expert.json"
  rm -rf "${IN_FLIGHT:?}/${sac#/}"  # the parked copy has served (commit its deletion)
}

expert_stage() {
  local env=$1 expert=$OUT/$1-expert.hdf5 me=$OUT/$1-medium-expert.hdf5
  local record=$RECORDS/sac-$1-seed$SAC_SEED-expert.pt
  [[ -f $OUT/$env-medium.hdf5 ]] || { echo "make-matched-datasets: $env: run --stage medium first" >&2; return 1; }
  exec 7> "$OUT/sac-$env.lock"
  flock -n 7 || { echo "[$env] the expert stage is running in another process" >&2; return 75; }
  [[ -f $record ]] || make_expert_record "$env" "$record"  # with the record: minutes, no SAC
  [[ -f $expert ]] || $A collect --env "$env" --policy "$record" --transitions $N --seed $EXPERT_SEED --out "$expert"
  [[ -f $me ]] || $A data concat "$OUT/$env-medium.hdf5" "$expert" --out "$me"
  check_sum "$expert"
  check_sum "$me"
  summarise "$expert"
  summarise "$me"
  exec 7>&-
}

status=0
for env in "${ENVS[@]}"; do
  # A subshell with `set -e` of its own, not tested with || (which would turn it off
  # inside), and in the foreground (a background job would ignore Ctrl-C, and so
  # would the SAC run it starts).
  set +e
  (
    set -e
    if [[ $STAGE == medium ]]; then medium_stage "$env"; else expert_stage "$env"; fi
  )
  rc=$?
  set -e
  ((rc == 0 || status == 1)) || status=$((rc == 75 ? 75 : 1))
done
exit $status
}
