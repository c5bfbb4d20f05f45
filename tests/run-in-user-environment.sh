#!/usr/bin/env bash
# Runs a test binary's [environment] tests again under what users' machines
# have and the developers' may not: OPENBLAS_CORETYPE set (Haswell where the
# CPU has AVX2, as many machines set it to dodge old OpenBLAS bugs),
# OMP_NUM_THREADS=1, a decimal-comma locale (de_DE.UTF-8), TMPDIR elsewhere,
# and the working directory outside the repository.
# ctest runs it under the label "environment" (ctest -L environment).
# Usage: tests/run-in-user-environment.sh TEST_BINARY [more test-binary arguments]
set -euo pipefail
binary=$1
shift
# (Listed first, then searched: under pipefail, grep -q leaving the pipe early could fail the writer.)
if ! grep -qix 'de_DE.utf8' <<< "$(locale -a 2>/dev/null || true)"; then
  echo "the de_DE.UTF-8 locale is not generated (scripts/setup.sh generates it)"
  # Strict as tests/prerequisite.h is: any value but empty or 0.
  [[ -n ${AAREN_TESTS_REQUIRE_ALL:-} && $AAREN_TESTS_REQUIRE_ALL != 0 ]] && exit 1
  exit 77  # skipped
fi
coretype=Prescott
grep -qw avx2 /proc/cpuinfo && coretype=Haswell
home=$(mktemp -d "${TMPDIR:-/tmp}/aaren-user-env.XXXXXX")
trap 'rm -rf "$home"' EXIT
mkdir -p "$home/tmp" "$home/work"
cd "$home/work"
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-$coretype} OMP_NUM_THREADS=1 LC_ALL=de_DE.UTF-8 TMPDIR="$home/tmp"
echo "environment: OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE OMP_NUM_THREADS=1 LC_ALL=$LC_ALL TMPDIR='$TMPDIR' cwd='$PWD'"
"$binary" "[environment]" "$@"
