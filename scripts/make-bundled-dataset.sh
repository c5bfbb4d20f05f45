#!/usr/bin/env bash
# Rebuilds data/bundled/hopper-mixed-v0.hdf5 from the bundled SAC policies with
# the exact commands recorded in its metadata (see data/bundled/README.md).
# Takes about a minute. To retrain the policies themselves, see the README.
set -euo pipefail
cd "$(dirname "$0")/.."
A=build/aaren
[[ -x $A ]] || { ./scripts/setup.sh && cmake -S . -B build -G Ninja >/dev/null && cmake --build build; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
P=data/bundled/policies
$A collect --env hopper --policy random --transitions 4000 --seed 101 --out "$T/random.hdf5"
$A collect --env hopper --policy $P/sac-hopper-seed1-step10000.pt --noise 1.0 --transitions 6000 --seed 102 --out "$T/noisy.hdf5"
$A collect --env hopper --policy $P/sac-hopper-seed1-step30000.pt --transitions 9000 --seed 103 --out "$T/medium.hdf5"
$A data concat "$T/random.hdf5" "$T/noisy.hdf5" "$T/medium.hdf5" --out data/bundled/hopper-mixed-v0.hdf5
$A data inspect data/bundled/hopper-mixed-v0.hdf5 | head -9
