#!/usr/bin/env bash
# The CPU code's floating-point sums keep the order written in the source, so a run gives the same
# bits on every x86-64 CPU (docs/RELIABILITY.md, "Portable numbers"). Under -march=native, what
# breaks that is a sum whose order the compiler takes from the host: an OpenMP `simd` reduction
# (its lanes are the host's preferred vector width: 16 floats on one CPU, 8 on another, which once
# made the scan's backward differ between an AMD and an Intel machine), or a flag that lets GCC
# reassociate (-ffast-math, -Ofast, -fassociative-math, an optimize pragma). None may appear in the
# product's sources or build files; the scan's backward and the lean runtime write their lanes out.
# Usage: check-fixed-order-sums.sh SOURCE_DIR
set -euo pipefail
cd "$1"
dirs=(agents apps base bench data envs runtime cmake CMakeLists.txt)
pattern='pragma[[:space:]]+omp.*(simd|reduction)|ffast-math|Ofast|fassociative-math|funsafe-math|pragma[[:space:]]+GCC[[:space:]]+optimize'
found=$(grep -rnE --include='*.cpp' --include='*.h' --include='*.cu' --include='*.cuh' --include='CMakeLists.txt' \
  --include='*.cmake' "$pattern" "${dirs[@]}" || true)
[[ -z $found ]] || {
  echo "FAIL: a sum whose order the host CPU or the compiler may change (write the lanes out, as scan_cpu.cpp does):"
  echo "$found"
  exit 1
}
echo "fixed-order sums: no simd reduction or reassociating flag in ${dirs[*]}"
