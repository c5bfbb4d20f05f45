#!/usr/bin/env bash
# The main job on the bundled default. Until the agent lands (see the issues),
# it builds the toolkit and runs the scan benchmark: the fast Aaren scan, the
# reference scan and causal softmax attention, side by side, with their errors
# against the float64 brute force.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build
mkdir -p runs
./build/aaren bench scan --csv runs/bench_scan.csv "$@"
