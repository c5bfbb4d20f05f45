#!/usr/bin/env bash
# GPU check, one script (target: under 8 minutes on one H100): build against
# the CUDA-enabled LibTorch it finds, run the GPU tests, and print one table:
#   - scan kernels alone, forward and backward: time and achieved bandwidth
#     against a device-to-device copy timed in the same run (N = 600..10^4),
#     for every cut of the value kernels (the sweep): the fastest per shape
#     beside the default, and those fastest as the variant table
#     (runs/gpu-check/scan_variants.tsv) that part 2's training steps read
#     (AAREN_SCAN_VARIANTS);
#   - a training step of every backbone (Aaren, the Transformer, the LSTM in
#     cuDNN) at 60 and 3000 tokens (batch 16, DT's size), fp32 and bf16 (a
#     backbone whose step fails at a precision is named and the others measured);
#   - with more than one GPU, data-parallel updates over NCCL: 1 rank against
#     2 (aaren bench train --nproc 1 2);
#   - DT's default training (Transformer, batch 64, K = 20) on the bundled
#     dataset for UPDATES updates (default 2000), eager (fp32, bf16) and with
#     its step captured in a CUDA graph (fp32, --cuda-graphs 1), and the time
#     100k would take at each rate.
# Outputs (logs, CSVs, the table) go to runs/gpu-check/. Part 1 (the kernels)
# needs nvcc alone; part 2 (LibTorch on the GPU) also a CUDA LibTorch and the
# Debian packages of scripts/setup.sh, and says why when it cannot run.
#
# LibTorch: $TORCH_PREFIX if set, else the one of python3's torch
# (torch.utils.cmake_prefix_path). CMAKE_ARGS: extra arguments for the
# LibTorch build's configure step (e.g. -DBoost_DIR=... where the system's
# Boost lacks program_options). Other dependencies are the Debian
# packages of scripts/setup.sh (installed when apt can reach its mirrors).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=runs/gpu-check
BUILD=${BUILD:-build-gpu}
UPDATES=${UPDATES:-2000}
mkdir -p "$OUT"
start=$(date +%s)
step() { echo; echo "== $* ($(($(date +%s) - start)) s)"; }
# Builds (keeping going past a failing file, so one run shows every error),
# logs to a file and, on failure, prints the compiler's errors, not a tail.
build_or_show_errors() {
  local dir=$1 log=$2
  shift 2
  if cmake --build "$dir" "$@" -- -k 0 >"$log" 2>&1; then
    tail -1 "$log"
    return 0
  fi
  echo "gpu-check: build in $dir failed; errors (whole log: $log):"
  grep -E -A4 "error( |:)|Error [0-9]|undefined reference" "$log" | sed -n 1,120p
  return 1
}

step "GPU"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || {
  echo "gpu-check: nvidia-smi finds no GPU" >&2
  exit 1
}
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader | sed -n 1p)
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | sed -n 1p | tr -d .)

# Part 1 needs nvcc alone: the kernels, their test and the bandwidth table.
step "part 1: the scan kernels (nvcc only; $BUILD-kernels)"
cmake -S . -B "$BUILD-kernels" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAAREN_KERNELS_ONLY=ON \
  -DCMAKE_CUDA_ARCHITECTURES="${arch:-90}" >"$OUT/configure-kernels.log" 2>&1 || {
  tail -5 "$OUT/configure-kernels.log" >&2
  exit 1
}
build_or_show_errors "$BUILD-kernels" "$OUT/build-kernels.log" || exit 1
"$BUILD-kernels"/tests/aaren_cuda_kernel_tests | tee "$OUT/kernel_tests.log" | tail -3
# The sweep: the kernel table's shapes (batch 64), then the training steps' (batch 16 as bench train
# runs them, batch 2 as the protocol's Aaren arm trains); their fastest cuts make one variant table.
"$BUILD-kernels"/aaren-scan-kernel-bench --batch-size 64 --lengths 600,3000,10000 --sweep --csv "$OUT/scan_kernels.csv" \
  --all-csv "$OUT/scan_variants_all.csv" --variants-out "$OUT/scan_variants_64.tsv" | tee "$OUT/scan_kernels.txt"
for batch in 16 2; do
  "$BUILD-kernels"/aaren-scan-kernel-bench --batch-size "$batch" --lengths 60,3000 --sweep \
    --csv "$OUT/scan_kernels_$batch.csv" --variants-out "$OUT/scan_variants_$batch.tsv" | tee -a "$OUT/scan_kernels.txt"
done
cat "$OUT"/scan_variants_{64,16,2}.tsv >"$OUT/scan_variants.tsv"
export AAREN_SCAN_VARIANTS=$PWD/$OUT/scan_variants.tsv

# Part 2 needs a CUDA LibTorch and the Debian packages of scripts/setup.sh.
step "part 2: LibTorch on the GPU ($BUILD)"
part2() {
  if [[ -z "${TORCH_PREFIX:-}" ]]; then
    TORCH_PREFIX=$(python3 -c "import torch; print(torch.utils.cmake_prefix_path)" 2>/dev/null) || {
      echo "no TORCH_PREFIX and python3 has no torch"
      return 1
    }
    python3 -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda, 'GPU visible:', torch.cuda.is_available())"
  fi
  echo "LibTorch: $TORCH_PREFIX"
  # setup.sh on a Debian with a reachable mirror (apt-get update exits 0 even when none answers).
  if [[ -r /etc/debian_version ]] && command -v apt-get >/dev/null &&
    grep -qE "^(Hit|Get):" <<< "$(timeout 60 apt-get update 2>&1 || true)"; then ./scripts/setup.sh || true; fi
  # (HDF5: CMake finds it through h5cc, wherever the distribution puts it.)
  for h in mujoco/mujoco.h boost/program_options.hpp catch2/catch.hpp nlohmann/json.hpp; do
    [[ -e /usr/include/$h ]] || {
      echo "/usr/include/$h is missing (Debian packages: see scripts/setup.sh)"
      return 1
    }
  done
  # shellcheck disable=SC2086 # CMAKE_ARGS: extra configure arguments, split on spaces (e.g. -DBoost_DIR=...)
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" \
    -DCMAKE_CUDA_ARCHITECTURES="${arch:-90}" ${CMAKE_ARGS:-} >"$OUT/configure.log" 2>&1 || {
    tail -5 "$OUT/configure.log"
    return 1
  }
  grep -q "CUDA ON" "$OUT/configure.log" || {
    echo "this LibTorch has no CUDA (see $OUT/configure.log)"
    return 1
  }
  # (set -e does not reach into a function called from `if`: each step says so itself.)
  if ! build_or_show_errors "$BUILD" "$OUT/build.log" --target aaren aaren_cuda_tests; then
    # The data-parallel layer (c10d, NCCL) has not yet been built against a CUDA LibTorch: if it is
    # what fails, report it and measure the rest without it.
    grep -q "distributed.cpp" "$OUT/build.log" || return 1
    echo "gpu-check: agents/training/distributed.cpp does not build against this LibTorch (above); without it:"
    cmake -S . -B "$BUILD" -DAAREN_WITH_C10D=OFF >>"$OUT/configure.log" 2>&1 || return 1
    build_or_show_errors "$BUILD" "$OUT/build-no-c10d.log" --target aaren aaren_cuda_tests || return 1
  fi
  # A failing test is reported (and fails the check) but the measurements still run.
  "$BUILD"/tests/aaren_cuda_tests | tee "$OUT/torch_tests.log" | tail -3 || TESTS_FAILED=1
  rm -f "$OUT"/train_*.csv "$OUT/train_failed.txt"  # this run's numbers only
  for precision in fp32 bf16; do
    train_bench "$precision" || return 1
  done
  if (($(nvidia-smi -L | wc -l) > 1)); then
    # Data-parallel over NCCL: 2 ranks, one GPU each, DT's batch split in two.
    "$BUILD"/aaren bench train --device cuda --nproc 1 2 --lengths 60 --batch-size 64 --min-seconds 2 \
      --csv "$OUT/data_parallel.csv" 2>"$OUT/data_parallel.log" | tail -4 || { tail -3 "$OUT/data_parallel.log"; return 1; }
  fi
  # DT's training eager (fp32, bf16) and with its step captured in a CUDA graph (fp32 only).
  for run in fp32 bf16 fp32-graphs; do
    local precision=${run%%-*} graphs=0
    [[ $run == *-graphs ]] && graphs=1
    "$BUILD"/aaren train --dataset data/bundled/hopper-mixed-v0.hdf5 --backbone transformer \
      --out "$OUT/dt-$run" --overwrite --updates "$UPDATES" --device cuda --precision "$precision" \
      --cuda-graphs "$graphs" --eval-every "$UPDATES" --checkpoint-every 0 --eval-episodes 2 \
      >"$OUT/dt-$run.log" 2>&1 || { tail -3 "$OUT/dt-$run.log"; return 1; }
  done
}
# Every backbone's training step at one precision; if that run fails, each backbone
# alone, so that one backbone's failure (say, the LSTM's cuDNN RNN in bf16) is
# named in the table and does not cost the others' numbers.
train_bench() {
  local precision=$1 b ok=0
  bench() { "$BUILD"/aaren bench train --device cuda --precision "$precision" --lengths 60 3000 --min-seconds 2 "$@"; }
  bench --csv "$OUT/train_$precision.csv" 2>"$OUT/train_$precision.log" | tail -5 && return 0
  rm -f "$OUT/train_$precision.csv"
  echo "gpu-check: bench train ($precision, every backbone) failed: $(tail -1 "$OUT/train_$precision.log"); one at a time:"
  for b in $("$BUILD"/aaren backbones --json | python3 -c 'import json, sys; print(*(b["name"] for b in json.load(sys.stdin)))'); do
    if bench --backbones "$b" --csv "$OUT/train_${precision}_$b.csv" 2>>"$OUT/train_$precision.log" | tail -3; then
      ok=1
    else
      echo "$b, $precision: $(tail -1 "$OUT/train_$precision.log")" >>"$OUT/train_failed.txt"
    fi
  done
  ((ok))
}
TESTS_FAILED=0
if part2; then PART2=ran; else PART2="did not run"; echo "gpu-check: part 2 $PART2 (above: why)"; fi
((TESTS_FAILED == 0)) || echo "gpu-check: the CUDA tests FAILED (see $OUT/torch_tests.log)"

step "summary"
python3 - "$OUT" "$GPU" "$UPDATES" "$PART2" <<'PY' | tee "$OUT/summary.md"
import csv, os, sys
out, gpu, updates, part2 = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
print(f"GPU: {gpu}\n")
print("Scan kernels, float32, d_head 128: the fastest cut of the value kernels per shape (t tokens per warp,")
print("w warps, c columns per lane), its share of a device copy's bandwidth, and the default cut's (t8w16c1).\n")
print("| batch | tokens | copy GB/s | fwd cut | fwd ms | fwd/copy | default | bwd cut | bwd ms | bwd/copy | default |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for name in ("scan_kernels.csv", "scan_kernels_16.csv", "scan_kernels_2.csv"):
    for r in csv.DictReader(open(f"{out}/{name}")):
        print(f"| {r['batch']} | {r['tokens']} | {float(r['copy_gbps']):.0f} | {r['fwd_variant']} | "
              f"{float(r['fwd_ms']):.3f} | {float(r['fwd_over_copy']):.2f} | {float(r['fwd_default_over_copy']):.2f} | "
              f"{r['bwd_variant']} | {float(r['bwd_ms']):.3f} | {float(r['bwd_over_copy']):.2f} | "
              f"{float(r['bwd_default_over_copy']):.2f} |")
print("\n(Goal: 60% of the copy's bandwidth at 3000 tokens and more, batch 64.)")
if part2 != "ran":
    print(f"\nPart 2 (LibTorch on the GPU: training steps, DT's schedule) {part2}.")
    sys.exit(0)
# One row per precision and length, a column per backbone: from the run of every
# backbone, or (where that failed) from each backbone's own run.
steps = {}
for p in ("fp32", "bf16"):
    files = [f"{out}/train_{p}.csv"] if os.path.exists(f"{out}/train_{p}.csv") else sorted(
        f"{out}/{n}" for n in os.listdir(out) if n.startswith(f"train_{p}_") and n.endswith(".csv"))
    for name in files:
        for r in csv.DictReader(open(name)):
            for key, value in r.items():
                if key.endswith("_ms"):
                    steps.setdefault((p, int(r["tokens"])), {})[key[:-3]] = float(value)
names = [b for b in ("aaren", "transformer", "lstm") if any(b in row for row in steps.values())]
names += sorted({b for row in steps.values() for b in row} - set(names))
print("\n| precision | tokens | " + " | ".join(f"{b} ms/step" for b in names) + " | "
      + " | ".join(f"{b} / aaren" for b in names[1:]) + " |")
print("|---|---|" + "---|" * (2 * len(names) - 1))
for (p, tokens), row in sorted(steps.items(), key=lambda kv: (kv[0][0] != "fp32", kv[0][1])):
    cells = [f"{row[b]:.2f}" if b in row else "failed" for b in names]
    ratios = [f"{row[b] / row['aaren']:.2f}" if b in row and "aaren" in row else "-" for b in names[1:]]
    print(f"| {p} | {tokens} | " + " | ".join(cells + ratios) + " |")
if os.path.exists(f"{out}/train_failed.txt"):
    print("\nFailed steps (backbone, precision: error):\n\n" + open(f"{out}/train_failed.txt").read())
print(f"\n| run | {updates} DT updates (s) | ms per update after the first 10 | projected 100k updates (min) | final loss |")
print("|---|---|---|---|---|")
for run in ("fp32", "bf16", "fp32-graphs"):
    rows = list(csv.DictReader(open(f"{out}/dt-{run}/train_log.csv")))
    # Time from the log: with one evaluation, at the end, and no periodic checkpoint
    # (--eval-every UPDATES --checkpoint-every 0), it is training alone; the first
    # 10 updates (warm-up, and the capture) are left out of the rate.
    secs = float(rows[-1]["seconds"])
    rate = (secs - float(rows[9]["seconds"])) / (len(rows) - 10) * 1000
    graphs = " (CUDA graph)" if run.endswith("graphs") else ""
    print(f"| {run.split('-')[0]}{graphs} | {secs:.1f} | {rate:.2f} | {rate * 100000 / 60000:.1f} | "
          f"{float(rows[-1]['loss']):.4f} |")
if "could not be captured" in open(f"{out}/dt-fp32-graphs.log").read():
    print("\nThe graphed run fell back to eager steps: see dt-fp32-graphs.log.")
PY
# The table, committed with the GPU named (docs/results/gpu-DATE.md), and the variant table beside it.
DATED=docs/results/gpu-$(date -u +%Y-%m-%d)
{ echo "# gpu-check, $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"; echo
  cat "$OUT/summary.md"; } >"$DATED.md"
cp "$OUT/scan_variants.tsv" "$DATED-scan-variants.tsv"
echo
echo "gpu-check: done in $(($(date +%s) - start)) s; outputs in $OUT, the table in $DATED.md"
exit "$TESTS_FAILED"
