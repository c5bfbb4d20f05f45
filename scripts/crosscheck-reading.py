#!/usr/bin/env python3
"""Does DT's full recipe rank two backbones as the protocol does? The cross-check's reading
(docs/RESULTS.md, fixed at stop 50 before the first cross-check pair existed), in one command.

    scripts/crosscheck-reading.py DATASET [--protocol docs/results/protocol]
        [--crosscheck docs/results/crosscheck] [--arms aaren transformer] [--level 0.90]

Each run is scored as `aaren versus` scores a cell (scripts/curve-summary.py: the last point's
50 episodes in place of its 10; primary = the last 3 points, secondary = the last 10).
  - The protocol: every finished cell of each arm (PROTOCOL/DATASET/ARM-seedN with eval-final.json);
    d = mean(first arm) - mean(second arm) over seeds, s_1 and s_2 the arms' sample stds, SE the
    standard error of d (sqrt(s_1^2 / n_1 + s_2^2 / n_2)).
  - The prediction interval for one new seed of each arm: d +- z sqrt(s_1^2 + s_2^2 + SE^2), z the
    normal quantile of the two-sided --level (1.645 at 90%): the spread of a difference of two single
    runs around the protocol's d, plus the uncertainty of d itself. It assumes the spread over seeds
    at the protocol's length holds at the cross-check's.
  - d_cross = first arm minus second arm of CROSSCHECK/DATASET/ARM-seed1 (one seed each).
  - The reading, per score: d_cross inside the interval, the cross-check agrees with the protocol's
    ranking; outside, DT's recipe ranks the backbones differently there (above: in the first arm's
    favour; below: in the second's).
Exit 0 whatever the reading; 1 on missing or unreadable runs, with one line naming what is missing.
"""
import argparse
import glob
import importlib.util
import math
import os
import statistics
import sys

_spec = importlib.util.spec_from_file_location(
    "curve_summary", os.path.join(os.path.dirname(os.path.abspath(__file__)), "curve-summary.py"))
curve_summary = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(curve_summary)

SCORES = ("primary", "secondary")


def cell_scores(folder, arm):
    """{seed: scores} of the finished cells ARM-seedN in folder."""
    cells = {}
    for run in sorted(glob.glob(os.path.join(folder, f"{arm}-seed*"))):
        seed = run.rsplit("-seed", 1)[1]
        if not seed.isdigit():
            continue
        r = finished_scores(run)
        if r is not None:
            cells[int(seed)] = r
    return cells


def finished_scores(run):
    """A run's protocol scores; None while it has no eval-final.json (not finished). A final evaluation
    at a target its eval.csv does not hold raises ValueError (no score can be made: a wrong file)."""
    r = curve_summary.protocol_scores(run)
    if r is not None and "primary" not in r:
        raise ValueError(f"{run}/eval-final.json: target {r['target']:g}, which its eval.csv does not hold")
    return r


def prediction_interval(first, second, z):
    """(d, half-width, s_1, s_2, SE) for one new run of each arm, from the arms' seeds."""
    s1, s2 = statistics.stdev(first), statistics.stdev(second)
    se = math.sqrt(s1 ** 2 / len(first) + s2 ** 2 / len(second))
    d = statistics.mean(first) - statistics.mean(second)
    return d, z * math.sqrt(s1 ** 2 + s2 ** 2 + se ** 2), s1, s2, se


def reading(d_cross, lo, hi, arms):
    if lo <= d_cross <= hi:
        return "inside: the cross-check agrees with the protocol's ranking"
    favoured = arms[0] if d_cross > hi else arms[1]
    side = "above" if d_cross > hi else "below"
    return f"{side}: DT's recipe ranks the backbones differently, in {favoured}'s favour"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dataset")
    p.add_argument("--protocol", default="docs/results/protocol")
    p.add_argument("--crosscheck", default="docs/results/crosscheck")
    p.add_argument("--arms", nargs=2, default=["aaren", "transformer"])
    p.add_argument("--level", type=float, default=0.90, help="the prediction interval's two-sided level")
    a = p.parse_args()
    if not 0 < a.level < 1:
        sys.exit(f"crosscheck-reading.py: --level: expected a number between 0 and 1, got {a.level}")
    z = statistics.NormalDist().inv_cdf(0.5 + a.level / 2)
    try:
        cells = [cell_scores(os.path.join(a.protocol, a.dataset), arm) for arm in a.arms]
        for arm, c in zip(a.arms, cells):
            if len(c) < 2:
                sys.exit(f"crosscheck-reading.py: {a.protocol}/{a.dataset}: {len(c)} finished {arm} cell(s), "
                         "expected at least 2 (a sample std)")
        cross = [finished_scores(os.path.join(a.crosscheck, a.dataset, f"{arm}-seed1")) for arm in a.arms]
        for arm, r in zip(a.arms, cross):
            if r is None:
                sys.exit(f"crosscheck-reading.py: {a.crosscheck}/{a.dataset}/{arm}-seed1: not finished "
                         "(no eval-final.json)")
        print(f"{a.dataset}: {a.arms[0]} minus {a.arms[1]}; the protocol's cells "
              f"{len(cells[0])} and {len(cells[1])} seeds; {a.level:.0%} prediction interval (z = {z:.3f})")
        for score in SCORES:
            first = [c[score] for c in cells[0].values()]
            second = [c[score] for c in cells[1].values()]
            d, half, s1, s2, se = prediction_interval(first, second, z)
            d_cross = cross[0][score] - cross[1][score]
            print(f"  {score}: protocol d {d:+.1f} (s {s1:.2f} and {s2:.2f}, SE {se:.2f}); interval "
                  f"{d:+.1f} +- {half:.1f}, [{d - half:+.1f}, {d + half:+.1f}]; cross-check "
                  f"{cross[0][score]:.1f} - {cross[1][score]:.1f} = {d_cross:+.1f}: "
                  f"{reading(d_cross, d - half, d + half, a.arms)}")
    except (OSError, KeyError, ValueError) as e:
        sys.exit(f"crosscheck-reading.py: {e}")


if __name__ == "__main__":
    main()
