#!/usr/bin/env bash
# Does the toolkit give the same numbers whatever CPU it is built for? The
# libraries' kernels are pinned by AAREN_REPRODUCIBLE=1, but the toolkit's own
# code is compiled for the host (-march=native), and a sum that the compiler
# vectorises at the host's width, or fuses into multiply-adds there, rounds
# differently on another machine (docs/RELIABILITY.md, "Portable numbers").
# This builds the `aaren` program for other CPUs on this one (the instruction
# sets must run here: a target this CPU lacks fails at its first such
# instruction) and compares, in reproducible mode on this machine, short runs
# of each backbone with the host build's:
#
#   train       150 updates of walker2d-medium-replay's protocol config
#               (Aaren, the Transformer, the LSTM on DT's windows), seed 3:
#               the training log's loss and learning-rate columns
#   evaluation  its eval.csv (3 episodes at each of DT's two targets)
#   rollout     the Aaren and LSTM runs' policies, 2 episodes each through
#               LibTorch and through the lean runtime: the returns in full
#               (short episodes: 150 updates make a policy that falls); the
#               committed SAC policies of the matched datasets (Hopper expert,
#               Walker2d medium: whole episodes); and each checkpoint named in
#               CHECKPOINTS (space-separated: trained policies that act for
#               long), through LibTorch and, where it serves it, lean
#
# A line per build and run with a digest of each; exit 1 when a digest differs
# from the host build's, 2 when a build, a run or its output fails (said in one
# line). The host's build is build-unity as it is configured (the README's:
# Release, -march=native). Needs the matched walker2d-medium-replay file
# (scripts/make-matched-datasets.sh walker2d). Builds persist in
# build-march-<TARGET> (a second call rebuilds only what changed). About 10
# minutes of 2 cores per build and 5 per set of runs.
#
# Usage: [CHECKPOINTS="A.pt B.pt"] scripts/cross-build-check.sh [TARGET...]
#   TARGET   a GCC -march value (default: sapphirerapids x86-64-v3); the host's
#            own build is build-unity's, made first if missing
set -euo pipefail
cd "$(dirname "$0")/.."
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(sapphirerapids x86-64-v3)
data=datasets/matched/walker2d-medium-replay.hdf5
[ -f "$data" ] || { echo "cross-build-check: $data: missing (scripts/make-matched-datasets.sh walker2d)" >&2; exit 2; }
work=${CROSS_BUILD_WORK:-runs/cross-build-check}
mkdir -p "$work"

build() {  # build(dir, march or "native"); its output in DIR.log, shown on a failure
  local dir=$1 march=$2 flags=()
  [ "$march" = native ] || flags=(-DAAREN_NATIVE=OFF "-DCMAKE_CXX_FLAGS=-march=$march" "-DCMAKE_C_FLAGS=-march=$march")
  if ! { [ -f "$dir/build.ninja" ] || cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_UNITY_BUILD=ON "${flags[@]}"; } >"$work/build-$march.log" 2>&1 ||
    ! ninja -C "$dir" aaren >>"$work/build-$march.log" 2>&1; then
    tail -n 20 "$work/build-$march.log" >&2
    echo "cross-build-check: the build for -march=$march failed ($work/build-$march.log)" >&2
    exit 2
  fi
}

# say(what, file): the line "tag what checksum" for a file that must exist and hold something.
say() {
  [ -s "$2" ] || { echo "cross-build-check: $2: missing or empty" >&2; exit 2; }
  echo "$tag $1 $(md5sum <"$2" | cut -c1-12)"
}

# returns(out, rollout arguments...): the episodes' returns in full into OUT;
# a policy the lean runtime does not serve (the Transformer's) is "unserved".
returns() {
  local out=$1
  shift
  if "$bin" rollout "$@" --episodes 2 --seed 9 --json >"$out.json" 2>"$out.err"; then
    python3 -c "import json, sys; print(repr(json.load(sys.stdin)['returns']))" <"$out.json" >"$out"
  elif grep -q "the lean runtime does not run" "$out.err"; then
    echo unserved >"$out"
  else
    echo "cross-build-check: $tag: rollout $* failed: $(tail -n 1 "$out.err")" >&2
    exit 2
  fi
}

runs() {  # runs(binary, tag): one line per run, "tag what digest"
  bin=$1 tag=$2
  local out="$work/$2"
  rm -rf "$out" && mkdir -p "$out"
  export AAREN_REPRODUCIBLE=1
  for backbone in aaren transformer lstm; do
    local extra=()
    [ "$backbone" = lstm ] && extra=(--aaren-sampling windows --eval-mode window)
    "$bin" train --config configs/protocol/walker2d-medium-replay.json --dataset "$data" --backbone "$backbone" \
      --seed 3 --updates 150 --eval-every 150 --eval-episodes 3 --threads 1 "${extra[@]}" --out "$out/$backbone" \
      >"$out/$backbone.log" 2>&1 || { echo "cross-build-check: $tag $backbone: train failed ($out/$backbone.log)" >&2; exit 2; }
    cut -d, -f1,2,3 "$out/$backbone/train_log.csv" >"$out/$backbone-train.txt"
    cut -d, -f1-6 "$out/$backbone/eval.csv" >"$out/$backbone-evaluation.txt"
    say "$backbone-train" "$out/$backbone-train.txt"
    say "$backbone-evaluation" "$out/$backbone-evaluation.txt"
  done
  local runtime sac ck
  for backbone in aaren lstm; do
    for runtime in torch lean; do
      returns "$out/$backbone-$runtime.txt" --checkpoint "$out/$backbone/checkpoint.pt" --runtime "$runtime" \
        --target-return 5000
      say "$backbone-rollout-$runtime" "$out/$backbone-$runtime.txt"
    done
  done
  for sac in Hopper-v3:data/matched/sac-hopper-seed1-expert.pt Walker2d-v3:data/bundled/policies/sac-walker2d-seed1-medium.pt; do
    returns "$out/sac-${sac%%:*}.txt" --env "${sac%%:*}" --policy "${sac#*:}"
    say "sac-${sac%%:*}" "$out/sac-${sac%%:*}.txt"
  done
  for ck in ${CHECKPOINTS:-}; do
    for runtime in torch lean; do
      returns "$out/checkpoint-$(basename "$ck")-$runtime.txt" --checkpoint "$ck" --runtime "$runtime" --target-return 5000
      say "$(basename "$ck")-$runtime" "$out/checkpoint-$(basename "$ck")-$runtime.txt"
    done
  done
}

build build-unity native
runs build-unity/aaren host >"$work/host.txt"
status=0
for march in "${targets[@]}"; do
  echo "[cross-build-check] building for -march=$march ($(date -u +%H:%M:%S))" >&2
  build "build-march-$march" "$march"
  runs "build-march-$march/aaren" "$march" >"$work/$march.txt"
  if diff <(cut -d' ' -f2- "$work/host.txt") <(cut -d' ' -f2- "$work/$march.txt") >/dev/null; then
    echo "$march: the host build's numbers in all $(wc -l <"$work/host.txt") runs"
  else
    echo "$march: DIFFERS from the host build:"
    diff <(cut -d' ' -f2- "$work/host.txt") <(cut -d' ' -f2- "$work/$march.txt") | sed 's/^/  /' || true
    status=1
  fi
done
exit $status
