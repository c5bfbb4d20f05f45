#!/usr/bin/env bash
# The ablation rows of docs/RESULTS.md: Aaren variants on the datasets where it
# falls short of the Transformer, each one cell of scripts/score-table.sh with
# the table's schedule and one change, in its own folder (TAG). Resumable like
# the table: finished stages are skipped, a killed row continues from its
# newest checkpoint.
#
# Usage: scripts/ablation.sh [ROW...]      (default: every row, in this order)
#   eqtok-wmr    walker2d-medium-replay, 5 whole episodes per update: the
#                Transformer's steps per update (64 x 20), where 2 episodes
#                give 0.43x of them
#   winrec-wmr   walker2d-medium-replay, DT's 64 windows of 20 steps with a
#                learned recency bias (initial rate 0.1), acting on the whole
#                history
#   eqtok-hm     hopper-medium, 3 whole episodes per update (0.71x -> 1.06x)
#   fused-wmr    walker2d-medium-replay, the fused layout (one token per step)
#   heads4-wmr   walker2d-medium-replay, 4 heads of 32 dims instead of 1 of 128
#   rec-wmr      walker2d-medium-replay, whole episodes with a learned recency
#                bias (initial rate 0.1)
#   winrec-hm    hopper-medium, as winrec-wmr
#   heads4-hm    hopper-medium, as heads4-wmr
#   fused-hm     hopper-medium, as fused-wmr
#   heads4-wm    walker2d-medium, as heads4-wmr
#   winrec-wm    walker2d-medium, as winrec-wmr
#   fused-wm     walker2d-medium, as fused-wmr
# Environment: SEED=1, and every variable of scripts/score-table.sh (AAREN=...).
# The fused rows need a build from commit 29c09e0 on: older ones stop at the
# first update of --tokens fused --precision bf16.
set -uo pipefail
cd "$(dirname "$0")/.."
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2; }
[[ ${1:-} == -h || ${1:-} == --help ]] && { usage; exit 0; }
ROWS=("$@")
((${#ROWS[@]})) || ROWS=(eqtok-wmr winrec-wmr eqtok-hm fused-wmr heads4-wmr rec-wmr winrec-hm heads4-hm fused-hm heads4-wm winrec-wm fused-wm)
SEED=${SEED:-1}
failed=0
for row in "${ROWS[@]}"; do
  # ROW = CHANGE-DATA: the change (score-table.sh's variables) and the dataset it applies to.
  case "${row##*-}" in
    hm) dataset=hopper-medium ;;
    wm) dataset=walker2d-medium ;;
    wmr) dataset=walker2d-medium-replay ;;
    *) echo "ablation: unknown row '$row'" >&2; usage; exit 2 ;;
  esac
  change=${row%-*}
  case "$change" in
    eqtok) vars=(AAREN_BATCH=$([[ $dataset == hopper-medium ]] && echo 3 || echo 5)) ;;
    winrec) vars=(EXTRA="--aaren-sampling windows --recency 0.1") ;;
    rec) vars=(EXTRA="--recency 0.1") ;;
    heads4) vars=(EXTRA="--heads 4") ;;
    fused) vars=(TOKENS=fused) ;;
    *) echo "ablation: unknown row '$row'" >&2; usage; exit 2 ;;
  esac
  env TAG="$change" "${vars[@]}" scripts/score-table.sh "$dataset" aaren "$SEED" || { echo "[$row] failed" >&2; failed=1; }
done
exit $failed
