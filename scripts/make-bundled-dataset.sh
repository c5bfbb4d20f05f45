#!/usr/bin/env bash
# Rebuilds the bundled datasets from the bundled SAC policies with the exact
# commands recorded in their metadata (see data/bundled/README.md):
#   data/bundled/hopper-medium-expert-mini.hdf5  the main job's: whole episodes
#     of the medium and expert policies, the first episodes of
#     scripts/make-datasets.sh's hopper-medium and hopper-expert (same seeds)
#   data/bundled/hopper-mixed-v0.hdf5  the tests': short episodes of three
#     behaviour policies of different quality
# Takes about a minute. To retrain the policies themselves, see the README.
set -euo pipefail
cd "$(dirname "$0")/.."
A=build/aaren
[[ -x $A ]] || { ./scripts/setup.sh && cmake -S . -B build -G Ninja >/dev/null && cmake --build build --target aaren; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
P=data/bundled/policies
$A collect --env hopper --policy $P/sac-hopper-seed1-medium.pt --episodes 40 --seed 11 --out "$T/medium.hdf5"
$A collect --env hopper --policy $P/sac-hopper-seed1-final.pt --deterministic --episodes 15 --seed 12 --out "$T/expert.hdf5"
$A data concat "$T/medium.hdf5" "$T/expert.hdf5" --overwrite --out data/bundled/hopper-medium-expert-mini.hdf5
$A collect --env hopper --policy random --transitions 4000 --seed 101 --out "$T/random.hdf5"
$A collect --env hopper --policy $P/sac-hopper-seed1-step10000.pt --noise 1.0 --transitions 6000 --seed 102 --out "$T/noisy.hdf5"
$A collect --env hopper --policy $P/sac-hopper-seed1-step30000.pt --transitions 9000 --seed 103 --out "$T/medium30k.hdf5"
$A data concat "$T/random.hdf5" "$T/noisy.hdf5" "$T/medium30k.hdf5" --overwrite --out data/bundled/hopper-mixed-v0.hdf5
$A data inspect data/bundled/hopper-medium-expert-mini.hdf5 | sed -n 1,9p  # (sed reads to the end: no broken pipe under pipefail)
$A data inspect data/bundled/hopper-mixed-v0.hdf5 | sed -n 1,9p  # (sed reads to the end: no broken pipe under pipefail)
