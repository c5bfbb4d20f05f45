#!/usr/bin/env bash
# Set up (Debian packages), build into build/, and run the whole test suite
# through ctest. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build
cd build
# Here a missing test prerequisite (h5py, ...) fails its tests instead of skipping them.
export AAREN_TESTS_REQUIRE_ALL=1
ctest --output-on-failure -j 2 "$@"
