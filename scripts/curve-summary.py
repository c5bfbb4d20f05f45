#!/usr/bin/env python3
"""One run's evaluation curve in numbers: the protocol's scores, block means, the trend, and a check
against a straight-through run (docs/RESULTS.md, the cross-check).

    scripts/curve-summary.py RUN_DIR [--after 40000] [--block 10000] [--straight DIR]

Per target in RUN_DIR/eval.csv (highest first):
  - the mean of the last 3 and of the last 10 points as eval.csv holds them (10 episodes each);
  - the best point, and the last point over its 50 episodes (RUN_DIR/eval-final.json, when there)
    with the protocol's primary and secondary scores: the mean of the last 3 and the last 10 points,
    that point's 50 episodes in place of its 10 (as `aaren versus` scores a cell);
  - the mean, sample std and best of each block of --block updates;
  - a least-squares line through the points after --after updates: its slope per --block updates
    and that slope's standard error (sqrt(residual variance / sum of squared deviations of x)),
    so "still rising" and "flat" can be told apart from the curve's own scatter.
--straight DIR (a run of the same seed trained without a stop): the points after --after that both
runs hold, and how many of them are equal to the last digit; a resumed run that computes what an
uninterrupted one does has every one equal.
"""
import argparse
import csv
import json
import math
import os
import statistics
import sys


def read_points(run):
    """{target: [(update, score)]} in update order, and the raw rows keyed by (update, target).
    A file that is not eval.csv's form (a missing column, a row cut short, a word for a number)
    raises ValueError naming the file and line."""
    path = os.path.join(run, "eval.csv")
    with open(path) as f:
        reader = csv.DictReader(f)
        try:
            return parse_points(path, reader)
        except csv.Error as e:
            raise ValueError(f"{path}: line {reader.line_num}: not CSV ({e})") from None


def parse_points(path, reader):
    """read_points' work on an open eval.csv."""
    header = reader.fieldnames or []
    key = "score_mean" if "score_mean" in header else "normalized_mean"  # (files before the rename)
    missing = [c for c in ("update", "target", "return_mean", key) if c not in header]
    if missing:
        raise ValueError(f"{path}: no column {', '.join(missing)} (expected eval.csv's header)")
    curves, raw = {}, {}
    for r in reader:
        try:
            point = (int(r["update"]), float(r[key]))
            target = float(r["target"])
        except (TypeError, ValueError):  # None: a row cut short
            raise ValueError(f"{path}: line {reader.line_num}: expected numbers for update, target and "
                             f"{key}, got {r['update']!r}, {r['target']!r}, {r[key]!r}") from None
        curves.setdefault(target, []).append(point)
        raw[(point[0], r["target"])] = r["return_mean"]
    return {t: sorted(p) for t, p in curves.items()}, raw


def slope_with_error(points, unit):
    """Least-squares slope of score on update (per `unit` updates) and its standard error."""
    xs = [u / unit for u, _ in points]
    ys = [s for _, s in points]
    if len(xs) < 3:
        return None
    mx, my = statistics.mean(xs), statistics.mean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:  # every point at one update: no line
        return None
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    residual = sum((y - my - b * (x - mx)) ** 2 for x, y in zip(xs, ys)) / (len(xs) - 2)
    return b, math.sqrt(residual / sxx)


def describe_target(target, pts, a):
    scores = [s for _, s in pts]
    best = max(pts, key=lambda p: p[1])
    print(f"target {target:g}: {len(pts)} points, last at {pts[-1][0]} ({pts[-1][1]:.1f})")
    print(f"  eval.csv's last 3 points {statistics.mean(scores[-3:]):.1f}   last 10 "
          f"{statistics.mean(scores[-10:]):.1f}   best {best[1]:.1f} at {best[0]}")
    for lo in range(0, pts[-1][0], a.block):
        block = [s for u, s in pts if lo < u <= lo + a.block]
        if block:
            sd = statistics.stdev(block) if len(block) > 1 else 0.0
            print(f"  {lo + 1:>7}-{lo + a.block:<7} n={len(block):<3} mean {statistics.mean(block):5.1f}"
                  f"  sd {sd:4.1f}  best {max(block):5.1f}")
    fit = slope_with_error([p for p in pts if p[0] > a.after], a.block)
    if fit:
        print(f"  slope after {a.after}: {fit[0]:+.1f} +- {fit[1]:.1f} per {a.block} updates (least squares, its SE)")


def protocol_scores(run, curves=None):
    """The last point over its 50 episodes (RUN/eval-final.json) and the run's scores as `aaren versus`
    computes them, that point's mean in place of the last 10-episode one: a dict with the target, the
    episodes' mean and sample std and their count, primary (last 3) and secondary (last 10); None without
    eval-final.json."""
    path = os.path.join(run, "eval-final.json")
    if not os.path.exists(path):
        return None
    if curves is None:
        curves, _ = read_points(run)
    with open(path) as f:
        try:
            j = json.load(f)
        except ValueError as e:
            raise ValueError(f"{path}: not JSON ({e})") from None
    scores = j.get("scores") if isinstance(j, dict) else None
    if not (isinstance(scores, list) and scores and all(isinstance(x, (int, float)) for x in scores)):
        raise ValueError(f"{path}: expected `aaren rollout --json`'s object with \"scores\", a list of numbers")
    config = j.get("config")
    try:
        target = float(config.get("target_return", "nan") if isinstance(config, dict) else "nan")
    except (TypeError, ValueError):
        raise ValueError(f"{path}: config.target_return: expected a number") from None
    # The spread from the episodes themselves: binaries before stop 50 wrote the population std.
    r = {"target": target, "episodes": len(scores), "mean": statistics.mean(scores),
         "std": statistics.stdev(scores) if len(scores) > 1 else 0.0}
    if target in curves:
        points = [s for _, s in curves[target]][:-1] + [r["mean"]]
        r["primary"], r["secondary"] = statistics.mean(points[-3:]), statistics.mean(points[-10:])
    return r


def describe_final(r):
    """The last point again over its 50 episodes, and the scores as `aaren versus` computes them
    (protocol_scores' dict, or None)."""
    if r is None:
        return
    print(f"last point at target {r['target']:g}, {r['episodes']} episodes: "
          f"{r['mean']:.1f} +- {r['std']:.1f} (sample std)")
    if "primary" in r:
        print(f"  the protocol's scores (these episodes in place of the last point, as aaren versus): "
              f"primary (last 3) {r['primary']:.1f}   secondary (last 10) {r['secondary']:.1f}")


def compare_straight(raw, other, straight, after):
    """The points after `after` that this run (raw) and the straight one (other, read from the folder
    `straight`) both hold, and whether every one is equal to the last digit."""
    common = sorted(k for k in other if k in raw and k[0] > after)
    equal = sum(other[k] == raw[k] for k in common)
    print(f"against {straight}: {len(common)} points after {after} in both, {equal} equal to the last digit")
    return equal == len(common)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run")
    p.add_argument("--after", type=int, default=0, help="fit the trend to points after this update")
    p.add_argument("--block", type=int, default=10000, help="updates per block (and the slope's unit)")
    p.add_argument("--straight", help="a straight-through run of the same seed to check against")
    a = p.parse_args()
    if a.block <= 0:
        sys.exit("curve-summary.py: --block: expected a positive number of updates")
    try:
        curves, raw = read_points(a.run)
        if not curves:
            sys.exit(f"curve-summary.py: {a.run}/eval.csv: no evaluation rows")
        final = protocol_scores(a.run, curves)  # read before anything is printed: a bad file, no half report
        straight = read_points(a.straight)[1] if a.straight else None
        if a.straight and not any(k in raw and k[0] > a.after for k in straight):  # nothing compared proves nothing
            raise ValueError(f"{a.straight}/eval.csv: no point after update {a.after} at an update and target "
                             "this run also holds")
        for target in sorted(curves, reverse=True):
            describe_target(target, curves[target], a)
        describe_final(final)
        if a.straight and not compare_straight(raw, straight, a.straight, a.after):
            sys.exit(1)
    except (OSError, KeyError, ValueError) as e:
        sys.exit(f"curve-summary.py: {e}")


if __name__ == "__main__":
    main()
