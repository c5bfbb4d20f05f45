#!/usr/bin/env bash
# Installs the lean runtime from BUILD into a temporary prefix, builds a small
# consumer against the installed CMake package (find_package(aaren_lean)),
# exports a tiny trained agent with AAREN and runs the consumer on it; the
# consumer must link nothing of LibTorch. Then the whole install (bin/aaren,
# share/aaren-rl) into a second prefix: the installed aaren runs from there.
# Usage: check-install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BUILD=$1 SOURCE=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cmake --install "$BUILD" --prefix "$TMP/lean" --component lean > "$TMP/install.log"
test -f "$TMP/lean/include/aaren_lean/runtime/lean_policy.h"
cmake -S "$SOURCE/tests/install/consumer" -B "$TMP/consumer" -DCMAKE_PREFIX_PATH="$TMP/lean" \
  -DCMAKE_BUILD_TYPE=Release > "$TMP/configure.log" || { cat "$TMP/configure.log"; exit 1; }
cmake --build "$TMP/consumer" > "$TMP/build.log" || { cat "$TMP/build.log"; exit 1; }
# (ldd's list captured first: under pipefail, grep -q leaving the pipe early would fail the pipeline
# and so pass this check.)
linked=$(ldd "$TMP/consumer/lean_consumer")
if grep -q -i torch <<< "$linked"; then
  echo "the consumer links LibTorch:"; ldd "$TMP/consumer/lean_consumer"; exit 1
fi
# The whole install: bin/aaren and its data, used from the prefix alone.
cmake --install "$BUILD" --prefix "$TMP/all" > "$TMP/install-all.log"
AAREN=$TMP/all/bin/aaren
test -f "$TMP/all/share/aaren-rl/configs/dt/hopper-medium.json"
DATA=$TMP/all/share/aaren-rl/bundled/hopper-mixed-v0.hdf5
"$AAREN" train --dataset "$DATA" --backbone aaren --embed-dim 16 --layers 1 --aaren-batch 2 --chunk-steps 50 \
  --updates 2 --eval-every 2 --eval-episodes 1 --threads 1 --out "$TMP/run" > "$TMP/train.log" 2>&1 ||
  { cat "$TMP/train.log"; exit 1; }
"$AAREN" export --checkpoint "$TMP/run/checkpoint.pt" --out "$TMP/policy.lean" > /dev/null
"$TMP/consumer/lean_consumer" "$TMP/policy.lean"
echo "installed: the lean package and a consumer built against it; bin/aaren trained and exported from the prefix"
