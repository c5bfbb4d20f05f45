#!/usr/bin/env bash
# Makes D4RL-recipe datasets (Fu et al. 2020, "D4RL: Datasets for Deep
# Data-Driven Reinforcement Learning") with this toolkit alone:
#
#   <env>-medium-replay  every transition in the replay buffer of a SAC run
#                        stopped at its first deterministic evaluation with a
#                        D4RL normalised score >= 33 (about a third of expert)
#   <env>-medium         1M transitions sampled from that stopped policy
#   hopper-expert        1M transitions from a fully trained SAC policy
#                        (data/bundled/policies/sac-hopper-seed1-final.pt), acting
#                        with its mean action: sampled, this policy falls in half
#                        of its episodes (normalised 64 against 96)
#   hopper-medium-expert medium + expert, concatenated
#
# Usage: scripts/make-datasets.sh [--out DIR] [--check] [ENV...]
#   ENV     hopper, halfcheetah, walker2d (default: all three)
#   --out   where the files go (default: datasets/; not committed, too large)
#   --check regenerate the first 10,000 transitions of every file present
#           from the recorded seeds and compare them bit for bit
#
# Resumable: a stage whose output exists is skipped, and a killed SAC run
# continues from its last saved state (`aaren sac --state-every 5000
# --resume`, same numbers as a run never stopped), so the script can be
# killed and run again. Every file records the command that made it in its
# metadata (`aaren data inspect FILE` prints it). SAC runs use one LibTorch
# thread: the same seed reproduces the same run only with the same thread
# count and BLAS build. A SAC run takes about an hour per env on one core of
# a 2-core machine; run one env per core to use both.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=datasets
CHECK=0
ENVS=()
while (($#)); do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --check) CHECK=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    hopper|halfcheetah|walker2d) ENVS+=("$1"); shift ;;
    *) echo "make-datasets: unknown argument '$1' (expected --out DIR, --check, hopper, halfcheetah or walker2d)" >&2; exit 2 ;;
  esac
done
((${#ENVS[@]})) || ENVS=(hopper halfcheetah walker2d)

A=${AAREN:-build/aaren}  # AAREN=path: a frozen copy, so rebuilding cannot change a long run
# OpenBLAS's kernels decide the last bits of every fp32 product. The datasets in docs/DATASETS.md were
# made on its Prescott kernels (what it picked on this project's machines before
# aaren chose the CPU's own, base/blas_kernels.h); pinned here so a rerun
# reproduces them bit for bit. OPENBLAS_CORETYPE=SkylakeX (or Haswell) runs about
# 3x faster, with other bits.
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Prescott}
if [[ ! -x $A ]]; then
  ./scripts/setup.sh
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build --target aaren
fi
mkdir -p "$OUT"

# The D4RL normalised score 33 as a return: min + 0.33 (max - min), with
# D4RL's reference returns (d4rl/infos.py REF_MIN_SCORE / REF_MAX_SCORE).
medium_return() {
  case "$1" in
    hopper) awk 'BEGIN { printf "%.3f", -20.272305 + 0.33 * (3234.3 + 20.272305) }' ;;
    halfcheetah) awk 'BEGIN { printf "%.3f", -280.178953 + 0.33 * (12135.0 + 280.178953) }' ;;
    walker2d) awk 'BEGIN { printf "%.3f", 1.629008 + 0.33 * (4592.3 - 1.629008) }' ;;
  esac
}

SAC_SEED=1           # the SAC run behind medium and medium-replay
MEDIUM_SEED=11       # sampling the medium policy
EXPERT_SEED=12       # the expert's episodes (reset noise)
EXPERT_POLICY=data/bundled/policies/sac-hopper-seed1-final.pt
N=1000000            # transitions in medium and expert, as D4RL's
CHECK_N=10000

sac_args() {  # $1 env, $2 steps; the flags shared by the full run and its check
  echo "--env $1 --env-steps $2 --eval-every 5000 --eval-episodes 10 --seed $SAC_SEED --threads 1"
}

make_env() {
  local env=$1 sac=$OUT/sac-$env
  local replay=$OUT/$env-medium-replay.hdf5 medium=$OUT/$env-medium.hdf5
  if [[ -f $replay && -f $sac/policy_final.pt ]]; then
    echo "[$env] SAC run and medium-replay exist: skipped"
  else
    # A killed run continues from its last saved state (every 5000 steps, at
    # an episode end), with the same numbers as a run never stopped.
    rm -f "$replay"
    local resume=()
    if [[ -f $sac/resume.pt ]]; then
      echo "[$env] SAC resumed from $sac/resume.pt"
      resume=(--resume "$sac")
    else
      rm -rf "$sac"
      echo "[$env] SAC until normalised score 33 (return $(medium_return "$env"))"
    fi
    # shellcheck disable=SC2046
    $A sac $(sac_args "$env" 1000000) --stop-at-return "$(medium_return "$env")" --state-every 5000 "${resume[@]}" \
      --dump-replay "$replay" --out "$sac" 2>&1 | tee -a "$OUT/sac-$env.log"
    [[ -f $replay ]] || { echo "make-datasets: SAC for $env ended without $replay" >&2; exit 1; }
  fi
  if [[ -f $medium ]]; then
    echo "[$env] medium exists: skipped"
  else
    $A collect --env "$env" --policy "$sac/policy_final.pt" --transitions $N --seed $MEDIUM_SEED --out "$medium"
  fi
  if [[ $env == hopper ]]; then
    local expert=$OUT/hopper-expert.hdf5 me=$OUT/hopper-medium-expert.hdf5
    if [[ -f $expert ]]; then
      echo "[hopper] expert exists: skipped"
    else
      $A collect --env hopper --policy $EXPERT_POLICY --deterministic --transitions $N --seed $EXPERT_SEED --out "$expert"
    fi
    if [[ -f $me ]]; then
      echo "[hopper] medium-expert exists: skipped"
    else
      $A data concat "$medium" "$expert" --out "$me"
    fi
  fi
  for f in "$OUT/$env"-*.hdf5; do
    local s=${f%.hdf5}.summary.json  # machine-readable, for scripts/results-table.py
    [[ -f $s ]] || { $A data inspect "$f" --json > "$s.tmp" && mv "$s.tmp" "$s"; }
  done
}

# Bit-for-bit check: the first 10,000 transitions made again from the same
# seed must equal the file's (every array, compared as raw bytes).
same_prefix() {  # $1 original, $2 regenerated
  /usr/bin/python3 - "$1" "$2" $CHECK_N <<'EOF'
import sys, h5py, numpy as np
a, b, n = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r"), int(sys.argv[3])
keys = []
a.visititems(lambda k, v: keys.append(k) if isinstance(v, h5py.Dataset) and v.ndim >= 1 and v.shape[0] == a["rewards"].shape[0] else None)
bad = [k for k in keys if k not in b or a[k][:n].tobytes() != b[k][:n].tobytes()]
print(f"{sys.argv[1]}: first {n} transitions of {len(keys)} arrays: " + ("bit for bit" if not bad else "DIFFER in " + ", ".join(bad)))
sys.exit(1 if bad else 0)
EOF
}

check_env() {
  local env=$1 tmp fails=0
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  if [[ -f $OUT/$env-medium-replay.hdf5 ]]; then
    # shellcheck disable=SC2046
    $A sac $(sac_args "$env" $CHECK_N) --stop-at-return "$(medium_return "$env")" \
      --dump-replay "$tmp/replay.hdf5" --out "$tmp/sac" >"$tmp/sac.log" 2>&1 || { cat "$tmp/sac.log" >&2; fails=1; }
    same_prefix "$OUT/$env-medium-replay.hdf5" "$tmp/replay.hdf5" || fails=1
  fi
  if [[ -f $OUT/$env-medium.hdf5 ]]; then
    $A collect --env "$env" --policy "$OUT/sac-$env/policy_final.pt" --transitions $CHECK_N --seed $MEDIUM_SEED \
      --out "$tmp/medium.hdf5" >/dev/null 2>&1
    same_prefix "$OUT/$env-medium.hdf5" "$tmp/medium.hdf5" || fails=1
  fi
  if [[ $env == hopper && -f $OUT/hopper-expert.hdf5 ]]; then
    $A collect --env hopper --policy $EXPERT_POLICY --deterministic --transitions $CHECK_N --seed $EXPERT_SEED \
      --out "$tmp/expert.hdf5" >/dev/null 2>&1
    same_prefix "$OUT/hopper-expert.hdf5" "$tmp/expert.hdf5" || fails=1
  fi
  return $fails
}

status=0
for env in "${ENVS[@]}"; do
  if ((CHECK)); then check_env "$env" || status=1; else make_env "$env"; fi
done
exit $status
