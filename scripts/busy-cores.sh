#!/usr/bin/env bash
# Prints how many of this machine's cores other work keeps busy, in core
# equivalents with one decimal ("1.0" = one core fully taken), measured from
# /proc/stat's aggregate line over half a second while this script sleeps.
# busy = user + nice + system + irq + softirq + steal; total adds idle and
# iowait (proc(5); guest time is already inside user). The same measure as
# the aaren binary's warning about --threads (base/cpu_load.h), over every
# CPU rather than the process's affinity mask.
# Usage: scripts/busy-cores.sh [SECONDS]   (default 0.5)
set -euo pipefail
export LC_ALL=C  # "0.5", not "0,5": awk reads and prints numbers in the locale (mawk under de_DE)
before=$(head -1 /proc/stat)
sleep "${1:-0.5}"
after=$(head -1 /proc/stat)
awk -v a="$before" -v b="$after" -v cpus="$(grep -c '^cpu[0-9]' /proc/stat)" 'BEGIN {
  split(a, x); split(b, y); total = 0
  for (k = 2; k <= 9; k++) total += y[k] - x[k]
  idle = (y[5] - x[5]) + (y[6] - x[6])
  printf "%.1f\n", (total > 0 ? (total - idle) / total * cpus : 0) }'
