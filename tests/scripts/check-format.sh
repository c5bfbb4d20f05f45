#!/usr/bin/env bash
# The C++ (and CUDA) sources are as clang-format writes them (.clang-format: Google's style, 120 columns).
# clang-format's output differs between major versions: the check runs with Debian 12's, version 14
# (scripts/setup.sh installs it), and is skipped (exit 77) with any other or none.
# Usage: check-format.sh SOURCE_DIR
set -euo pipefail
cd "$1"
command -v clang-format > /dev/null || { echo "SKIP: no clang-format (scripts/setup.sh installs it)"; exit 77; }
version=$(clang-format --version | sed -n 's/.*clang-format version \([0-9]*\)\..*/\1/p')
[[ $version == 14 ]] || { echo "SKIP: clang-format ${version:-of unknown version}; the style is checked with 14 (Debian 12)"; exit 77; }
# The tracked sources where this is a git checkout, else every source under the project's folders.
if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
  files=$(git ls-files '*.cpp' '*.h' '*.cu')
else
  files=$(find agents apps base bench cmake data envs runtime tests \( -name '*.cpp' -o -name '*.h' -o -name '*.cu' \))
fi
# One process for all of them; --dry-run names each line it would change as FILE:LINE:COL: warning.
bad=$(clang-format --dry-run $files 2>&1 | sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: warning.*/\1/p' | sort -u)
[[ -z $bad ]] || { echo "FAIL: not as clang-format writes them (run clang-format -i on them):"; echo "$bad"; exit 1; }
echo "format: $(wc -w <<< "$files") files as clang-format writes them"
