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
# from the host build's. Needs the matched walker2d-medium-replay file
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

build() {  # build(dir, march or "native")
  local dir=$1 march=$2
  if [ "$march" = native ]; then
    [ -f "$dir/build.ninja" ] || cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_UNITY_BUILD=ON >/dev/null
  else
    [ -f "$dir/build.ninja" ] || cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_UNITY_BUILD=ON \
      -DAAREN_NATIVE=OFF "-DCMAKE_CXX_FLAGS=-march=$march" "-DCMAKE_C_FLAGS=-march=$march" >/dev/null
  fi
  ninja -C "$dir" aaren >/dev/null
}

digest() { md5sum | cut -c1-12; }

runs() {  # runs(binary, tag): one line per run, "tag what digest"
  local bin=$1 tag=$2 out="$work/$2"
  rm -rf "$out" && mkdir -p "$out"
  export AAREN_REPRODUCIBLE=1
  for backbone in aaren transformer lstm; do
    local extra=()
    [ "$backbone" = lstm ] && extra=(--aaren-sampling windows --eval-mode window)
    "$bin" train --config configs/protocol/walker2d-medium-replay.json --dataset "$data" --backbone "$backbone" \
      --seed 3 --updates 150 --eval-every 150 --eval-episodes 3 --threads 1 "${extra[@]}" --out "$out/$backbone" \
      >"$out/$backbone.log" 2>&1 || { echo "cross-build-check: $tag $backbone: train failed ($out/$backbone.log)" >&2; return 1; }
    echo "$tag $backbone-train $(cut -d, -f1,2,3 "$out/$backbone/train_log.csv" | digest)"
    echo "$tag $backbone-evaluation $(cut -d, -f1-6 "$out/$backbone/eval.csv" | digest)"
  done
  for backbone in aaren lstm; do
    for runtime in torch lean; do
      "$bin" rollout --checkpoint "$out/$backbone/checkpoint.pt" --runtime "$runtime" --episodes 2 --seed 9 \
        --target-return 5000 --json 2>/dev/null |
        python3 -c "import json, sys; print(repr(json.load(sys.stdin)['returns']))" >"$out/$backbone-$runtime.txt"
      echo "$tag $backbone-rollout-$runtime $(digest <"$out/$backbone-$runtime.txt")"
    done
  done
  for sac in Hopper-v3:data/matched/sac-hopper-seed1-expert.pt Walker2d-v3:data/bundled/policies/sac-walker2d-seed1-medium.pt; do
    echo "$tag sac-${sac%%:*} $("$bin" rollout --env "${sac%%:*}" --policy "${sac#*:}" --episodes 2 --seed 9 --json \
      2>/dev/null | python3 -c "import json, sys; print(repr(json.load(sys.stdin)['returns']))" | digest)"
  done
  local ck
  for ck in ${CHECKPOINTS:-}; do
    for runtime in torch lean; do  # the lean runtime serves Aaren and the LSTM: "unserved" for the Transformer
      echo "$tag $(basename "$ck")-$runtime $({ "$bin" rollout --checkpoint "$ck" --runtime "$runtime" --episodes 2 \
        --seed 9 --target-return 5000 --json 2>/dev/null || echo '{"returns": "unserved"}'; } |
        python3 -c "import json, sys; print(repr(json.load(sys.stdin)['returns']))" | digest)"
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
