#!/usr/bin/env bash
# The CPU code's floating-point sums keep the order written in the source, so a run gives the same
# bits on every x86-64 CPU (docs/RELIABILITY.md, "Portable numbers"). Under -march=native, what
# breaks that is a sum whose order the compiler takes from the host: an OpenMP `simd` reduction
# (its lanes are the host's preferred vector width: 16 floats on one CPU, 8 on another, which once
# made the scan's backward differ between an AMD and an Intel machine), or a flag that lets GCC
# reassociate (-ffast-math, -Ofast, -fassociative-math, an optimize pragma or attribute). None may
# appear in the product's C++/CUDA sources or CMake files (a pragma continued over a backslash is not
# seen); the scan's backward and the lean runtime write their lanes out.
# Usage: check-fixed-order-sums.sh SOURCE_DIR
set -euo pipefail
cd "$1"
dirs=(agents apps base bench data envs runtime cmake CMakeLists.txt)
for d in "${dirs[@]}"; do [[ -e $d ]] || { echo "FAIL: $d: not in the source tree (update this check)"; exit 1; }; done
# OpenMP simd and reduction pragmas (also _Pragma("omp ...")), GCC's optimize pragma and attribute
# (which can switch on fast-math per function), and the reassociating flags of GCC and nvcc.
pattern='pragma[[:space:]("]+omp.*(simd|reduction)|pragma[[:space:]("]+GCC[[:space:]]+optimize|optimize[[:space:]]*\('
pattern+='|ffast-math|Ofast|fassociative-math|funsafe-math|use_fast_math|fast-math"'
rc=0
found=$(grep -rniE --include='*.cpp' --include='*.h' --include='*.cu' --include='*.cuh' --include='CMakeLists.txt' \
  --include='*.cmake' --include='*.cmake.in' "$pattern" "${dirs[@]}") || rc=$?
((rc <= 1)) || { echo "FAIL: grep failed (exit $rc)"; exit 1; }
[[ -z $found ]] || {
  echo "FAIL: a sum whose order the host CPU or the compiler may change (write the lanes out, as scan_cpu.cpp does):"
  echo "$found"
  exit 1
}
echo "fixed-order sums: no simd reduction or reassociating flag in ${dirs[*]}"
