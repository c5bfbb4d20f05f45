#!/usr/bin/env bash
# scripts/busy-cores.sh (the load demo.sh looks at) prints one number between 0 and the CPU count,
# and counts a busy process: with a shell loop spinning beside it, at least 0.7 of a core is busy
# (the loop's, or, on a machine already full, the others'). It leaves no file behind (awk's
# `printf ... > 0` writes a file named 0: a slip that once printed nothing).
# Usage: check-busy-cores.sh SOURCE_DIR
set -euo pipefail
export LC_ALL=C  # awk compares the numbers printed: C locale, as busy-cores.sh prints them
SRC=$(cd "$1" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/busy-cores.XXXXXX")
loop=
trap '[[ -n $loop ]] && kill "$loop" 2> /dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$T"
cpus=$(grep -c '^cpu[0-9]' /proc/stat)
in_range() { awk -v b="$1" -v lo="$2" -v hi="$cpus" 'BEGIN { exit !(b >= lo && b <= hi) }'; }
quiet=$("$SRC/scripts/busy-cores.sh" 0.2)
[[ $quiet =~ ^[0-9]+\.[0-9]$ ]] || fail "busy-cores.sh printed '$quiet', not one number with one decimal"
in_range "$quiet" 0 || fail "busy-cores.sh: $quiet outside 0..$cpus"
sh -c 'while :; do :; done' &
loop=$!
busy=$("$SRC/scripts/busy-cores.sh" 0.5)
in_range "$busy" 0.7 || fail "busy-cores.sh: $busy beside a spinning loop (expected 0.7..$cpus)"
[[ -z $(ls -A) ]] || fail "busy-cores.sh left files behind: $(ls -A)"
echo "busy-cores.sh: $quiet busy, $busy beside a spinning loop"
