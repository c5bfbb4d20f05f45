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
import importlib.util
import math
import os
import statistics
import sys

_spec = importlib.util.spec_from_file_location(
    "curve_summary", os.path.join(os.path.dirname(os.path.abspath(__file__)), "curve-summary.py"))
curve_summary = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(curve_summary)


def points(run, target):
    """(update, score) at `target`, in update order; ValueError naming the file when it holds none."""
    curves, _ = curve_summary.read_points(run)  # (checks the file's form, naming file and line)
    for t, pts in curves.items():
        if abs(t - target) < 1e-9:
            return pts
    held = ", ".join(f"{t:g}" for t in sorted(curves)) or "none"
    raise ValueError(f"{run}/eval.csv: no points at target {target:g} (its targets: {held})")


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
    rows = []  # every run read before anything is printed: a bad one leaves no partial table
    for run in a.runs:
        try:
            found = verdicts(points(run, a.target), a.start)
        except (OSError, ValueError) as e:
            sys.exit(f"flatness.py: {e}")
        if not found:  # a run too young for a verdict: named, left out
            print(f"flatness.py: {run}/eval.csv: fewer than 6 points at target {a.target:g} from update "
                  f"{a.start} (--from): no verdict", file=sys.stderr)
            continue
        rows += [f"{run},{update},{diff:.1f},{two_se:.1f},{'yes' if flat else 'no'}"
                 for update, diff, two_se, flat in found]
    if not rows:
        sys.exit("flatness.py: no run has a verdict (above)")
    print("run,update,difference,two_se,flat")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
