#!/usr/bin/env python3
"""The protocol's proposed flatness rule (docs/RESULTS.md), at every evaluation point of one or more runs.

A run is flat at L when the mean of its last three points (L and the two before) is within two
standard errors of the mean of the three before them. The standard error of that difference is
s * sqrt(1/3 + 1/3), with s the sample standard deviation of the run's own points from --from to L
(the scatter of a curve that has stopped rising, so the rule holds a flat curve to its own noise).

    scripts/flatness.py RUN_DIR... [--target 3600] [--from 15000]

Reads RUN_DIR/eval.csv (columns update, target, ..., score_mean or normalized_mean).
"""
import argparse
import csv
import math
import statistics
import sys


def points(run, target):
    """(update, score) at `target`, in update order."""
    with open(run + "/eval.csv") as f:
        rows = list(csv.DictReader(f))
    key = "score_mean" if rows and "score_mean" in rows[0] else "normalized_mean"
    out = [(int(r["update"]), float(r[key])) for r in rows if abs(float(r["target"]) - target) < 1e-9]
    return sorted(out)


def verdicts(pts, start):
    """Per point L with six points from `start` on: (L, difference, two standard errors, flat)."""
    out = []
    for i in range(len(pts)):
        window = [s for u, s in pts[: i + 1] if u >= start]
        if len(window) < 6:
            continue
        last3 = statistics.mean(window[-3:])
        before = statistics.mean(window[-6:-3])
        two_se = 2 * statistics.stdev(window) * math.sqrt(2 / 3)
        diff = last3 - before
        out.append((pts[i][0], diff, two_se, abs(diff) <= two_se))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+")
    p.add_argument("--target", type=float, default=3600)
    p.add_argument("--from", dest="start", type=int, default=15000)
    a = p.parse_args()
    print("run,update,difference,two_se,flat")
    for run in a.runs:
        try:
            pts = points(run, a.target)
        except (OSError, KeyError, ValueError) as e:
            sys.exit(f"flatness.py: {run}/eval.csv: {e}")
        for update, diff, two_se, flat in verdicts(pts, a.start):
            print(f"{run},{update},{diff:.1f},{two_se:.1f},{'yes' if flat else 'no'}")


if __name__ == "__main__":
    main()
