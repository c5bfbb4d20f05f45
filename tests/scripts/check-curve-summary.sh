#!/usr/bin/env bash
# scripts/curve-summary.py on a made-up run whose numbers are known: the means of the last 3 and 10
# points, the protocol's scores (the 50-episode point in place of the last), block means, a least-squares slope of a straight line (exact, zero error), the 50-episode
# point's sample std from its episodes, and the check against a straight-through run (exit 1 on a
# difference). Usage: check-curve-summary.sh SOURCE_DIR
set -euo pipefail
SRC=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/curve-summary.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
summary() { python3 "$SRC/scripts/curve-summary.py" "$@"; }

# 20 points at 3600 on the line 40 + update / 10,000 (one point per 1,000 updates), one at 1800.
mkdir -p "$T/run"
echo "update,target,return_mean,return_std,score_mean,score_std,seed,episodes" > "$T/run/eval.csv"
for u in $(seq 1000 1000 20000); do
  k=$((u / 1000))  # the score 40 + u / 10,000 = 40 + k / 10, written without a process per point
  echo "$u,3600,$u.5,1,$((40 + k / 10)).$((k % 10)),1,$u,10" >> "$T/run/eval.csv"
  echo "$u,1800,$u.25,1,7,1,$u,10" >> "$T/run/eval.csv"
done
echo '{"config": {"target_return": 3600}, "scores": [1, 2, 3, 4], "score_mean": 2.5, "score_std": 1.118}' \
  > "$T/run/eval-final.json"
out=$(summary "$T/run" --after 5000)
grep -q "^target 3600: 20 points, last at 20000 (42.0)" <<< "$out" || fail "the high target's header: $out"
grep -q "eval.csv's last 3 points 41.9   last 10 41.5   best 42.0 at 20000" <<< "$out" || fail "scores: $out"
grep -Eq "10001-20000 +n=10 +mean  41.5" <<< "$out" || fail "the second block: $out"
grep -q "slope after 5000: +1.0 +- 0.0 per 10000 updates" <<< "$out" || fail "the slope: $out"
grep -q "^target 1800: 20 points" <<< "$out" || fail "the low target: $out"
# The spread over the 4 episodes from their scores: sqrt(5/3) = 1.29, not the population 1.12.
grep -q "4 episodes: 2.5 +- 1.3 (sample std)" <<< "$out" || fail "the last point's spread: $out"
# With their mean (2.5) in place of the last point (42.0): (41.8 + 41.9 + 2.5) / 3 = 28.7, and
# (41.1 + ... + 41.9 + 2.5) / 10 = 37.6.
grep -q "primary (last 3) 28.7   secondary (last 10) 37.6" <<< "$out" || fail "the scores as aaren versus computes them: $out"

# A straight-through run with the same points after 5,000: all equal, exit 0; one differing: exit 1.
mkdir -p "$T/straight"
cp "$T/run/eval.csv" "$T/straight/"
out=$(summary "$T/run" --after 5000 --straight "$T/straight")  # captured: grep -q may leave a pipe early
grep -q "30 points after 5000 in both, 30 equal" <<< "$out" || fail "the straight-through check: $out"
sed -i 's/^12000,3600,12000.5,/12000,3600,12000.4,/' "$T/straight/eval.csv"
if summary "$T/run" --after 5000 --straight "$T/straight" > "$T/out" 2>&1; then fail "a differing point passed"; fi
grep -q "29 equal" "$T/out" || fail "the count of equal points: $(cat "$T/out")"

# Bad input: one line naming what is wrong, non-zero.
if summary "$T/nothing" 2> "$T/err"; then fail "a missing run passed"; fi
grep -q "nothing/eval.csv" "$T/err" || fail "the missing file's message: $(cat "$T/err")"
if summary "$T/run" --block 0 2> "$T/err"; then fail "--block 0 passed"; fi
grep -q -- "--block" "$T/err" || fail "--block's message: $(cat "$T/err")"
# A straight-through run sharing no point after --after is no evidence: refused, not "0 of 0 equal".
if summary "$T/run" --after 20000 --straight "$T/straight" > "$T/out" 2> "$T/err"; then fail "no common point passed"; fi
grep -q "straight/eval.csv: no point after update 20000" "$T/err" && [[ ! -s $T/out ]] || fail "no common point: $(cat "$T/err" "$T/out")"
# Damaged files: one line naming the file (and line), never a traceback.
mkdir -p "$T/bad"
expect_error() {  # WHAT PATTERN: curve-summary on $T/bad fails with PATTERN in one line
  if summary "$T/bad" > "$T/out" 2> "$T/err"; then fail "$1 passed"; fi
  [[ $(wc -l < "$T/err") == 1 && ! -s $T/out ]] && grep -q "$2" "$T/err" || fail "$1: $(cat "$T/err" "$T/out")"
}
{ head -3 "$T/run/eval.csv"; echo "3000,3600"; } > "$T/bad/eval.csv"  # a row still being written
expect_error "a row cut short" "bad/eval.csv: line 4: expected numbers"
echo "update,target,score_mean" > "$T/bad/eval.csv"
expect_error "a missing column" "bad/eval.csv: no column return_mean"
cp "$T/run/eval.csv" "$T/bad/"
for json in '{"scores": null}' '[1, 2]' '{"scores": [1, "2"]}' '{"config": {"target_return": "x"}, "scores": [1]}' '{"sc'; do
  echo "$json" > "$T/bad/eval-final.json"
  expect_error "eval-final.json $json" "bad/eval-final.json: "
done
# flatness.py: a target the run does not hold, or too few points for a verdict, fails and prints no table.
flat() { python3 "$SRC/scripts/flatness.py" "$@"; }
if flat "$T/run" --target 3000 > "$T/out" 2> "$T/err"; then fail "flatness at a target not held passed"; fi
grep -q "no points at target 3000 (its targets: 1800, 3600)" "$T/err" && [[ ! -s $T/out ]] || fail "flatness --target 3000: $(cat "$T/err" "$T/out")"
if flat "$T/run" --from 16000 > "$T/out" 2> "$T/err"; then fail "flatness with 5 points passed"; fi
grep -q "fewer than 6 points" "$T/err" && [[ ! -s $T/out ]] || fail "flatness --from 16000: $(cat "$T/err" "$T/out")"
flat "$T/run" --from 15000 > "$T/out" || fail "flatness on 6 points: $(cat "$T/out")"
# (15,000-20,000 on the line: the last 3 points' mean 41.9, the 3 before 41.6, s = 0.187: 2 SE = 0.31.)
[[ $(tail -1 "$T/out") == "$T/run,20000,0.3,0.3,yes" ]] || fail "flatness's verdict: $(cat "$T/out")"
echo "curve-summary: scores, blocks, slope, spread and the straight-through check as computed by hand; damaged files refused"
