#!/usr/bin/env python3
"""Collects the score-table cells (scripts/score-table.sh) into tables and a chart.

Reads   RESULTS/<dataset>/<backbone>[-<tag>]-seed<N>/{config.json,train_log.csv,eval-<target>.json}
        and the datasets' behaviour scores from DATASETS/<dataset>.summary.json (`aaren data inspect --json`;
        the first table's datasets: .summary.txt).
Writes  RESULTS/cells.csv    one row per cell and target
        RESULTS/summary.csv  mean and std over seeds per dataset, variant and target (the population std,
                             divisor n, as the first table was published: docs/RESULTS.md says so)
        RESULTS/scores.svg   bars at DT's high target (mean over seeds, whiskers one std)
and prints the summary as a Markdown table.

Usage: scripts/results-table.py [--results docs/results] [--datasets docs/datasets]
Only the Python standard library.
"""
import argparse
import csv
import glob
import json
import math
import os
import re
import statistics
import sys

HIGH = {"hopper": 3600, "halfcheetah": 12000, "walker2d": 5000}
LOW = {"hopper": 1800, "halfcheetah": 6000, "walker2d": 2500}
MAIN = ("aaren", "transformer")  # the table's two agents; tagged variants are ablation rows
ORDER = ["hopper-medium", "hopper-medium-replay", "hopper-medium-expert", "halfcheetah-medium",
         "halfcheetah-medium-replay", "walker2d-medium", "walker2d-medium-replay"]


def behaviour_score(datasets, name):
    """Mean normalised score of the dataset's episodes: `aaren data inspect --json` (NAME.summary.json),
    else the text form the first table's datasets were summarised in (NAME.summary.txt)."""
    path = os.path.join(datasets, name + ".summary.json")
    if os.path.exists(path):
        j = json.load(open(path))  # (a JSON error is a ValueError, which names nothing: named here)
        score = j.get("score_mean", j.get("normalized_score_mean")) if isinstance(j, dict) else None
        if not isinstance(score, (int, float)):  # (files from before the rename: normalized_score_mean)
            raise ValueError(f"{path}: no number score_mean (expected `aaren data inspect --json`'s summary)")
        return float(score)
    path = os.path.join(datasets, name + ".summary.txt")
    if not os.path.exists(path):
        return math.nan
    for line in open(path):
        m = re.match(r"(?:normalised|score)\s+min\s+\S+\s+mean\s+(\S+)", line)
        if m:
            return float(m.group(1))
    return math.nan


def read_cell(folder):
    m = re.match(r"([a-z0-9]+)(?:-(.+))?-seed(\d+)$", os.path.basename(folder))  # backbone[-tag]-seedN
    if not m:
        return []
    backbone, tag, seed = m.group(1), m.group(2) or "", int(m.group(3))
    if not all(os.path.exists(os.path.join(folder, f)) for f in ("config.json", "train_log.csv")):
        print(f"results-table: {folder}: not finished (no config.json/train_log.csv yet): left out", file=sys.stderr)
        return []
    config = json.load(open(os.path.join(folder, "config.json")))
    log = list(csv.DictReader(open(os.path.join(folder, "train_log.csv"))))
    updates = int(log[-1]["update"]) if log else 0
    seconds = float(log[-1]["seconds"]) if log else math.nan
    # Each update counted once: a resume by an older binary re-logged the updates past its checkpoint
    # (the five cells the table names); the later row is the one the finished model trained on.
    steps_by_update = {int(r["update"]): int(r.get("steps") or 0) for r in log}
    steps = sum(steps_by_update.values())
    per_step = 1 if config.get("tokens") == "fused" else 3
    rows = []
    for path in sorted(glob.glob(os.path.join(folder, "eval-*.json"))):
        m = re.search(r"eval-(\d+)\.json$", path)
        if not m:  # eval-final.json: the protocol's cells (`aaren versus` reads those), not this table's
            continue
        target = int(m.group(1))
        r = json.load(open(path))
        if not isinstance(r.get("score_mean", r.get("normalized_score_mean")), (int, float)):
            raise ValueError(f"{path}: no number score_mean")
        rows.append({
            "dataset": os.path.basename(os.path.dirname(folder)), "backbone": backbone, "tag": tag, "seed": seed,
            "tokens": config.get("tokens", "interleaved"), "target": target,
            "return_mean": r["return_mean"], "score_mean": r.get("score_mean", r.get("normalized_score_mean")),
            "score_std_episodes": r.get("score_std", r.get("normalized_score_std")), "episodes": len(r["returns"]),
            "updates": updates, "steps_seen": steps, "tokens_seen": steps * per_step,
            "train_seconds": seconds, "seconds_per_update": seconds / updates if updates else math.nan,
            "precision": config.get("precision", "fp32"), "lr": config.get("lr"),
        })
    return rows


def write_csv(path, rows):
    if not rows:
        return
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)


def svg_bars(path, summary):
    """Grouped bars: one group per dataset, one bar per variant, at the high target."""
    rows = [r for r in summary if r["target"] == HIGH[r["dataset"].split("-")[0]] and r["variant"] in MAIN]
    datasets = [d for d in ORDER if any(r["dataset"] == d for r in rows)]
    datasets += sorted({r["dataset"] for r in rows} - set(datasets))
    variants = sorted({r["variant"] for r in rows}, key=lambda v: (v != "transformer", v))
    if not rows:
        return
    colours = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860"]
    W, H, left, right, top, bottom = 900, 420, 60, 180, 40, 110
    top_value = max([r["score_mean"] + (r["score_std"] or 0) for r in rows] +
                    [r["behaviour_score"] for r in rows if not math.isnan(r["behaviour_score"])] + [10])
    top_value = 10 * math.ceil(top_value / 10)
    plot_w, plot_h = W - left - right, H - top - bottom
    group = plot_w / max(len(datasets), 1)
    bar = group * 0.8 / max(len(variants), 1)
    y = lambda v: top + plot_h * (1 - max(v, 0) / top_value)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{left}" y="22" font-size="14">D4RL normalised score at DT\'s high target '
           f'(mean over seeds; whiskers: one std; dashes: behaviour policy)</text>']
    for k in range(0, 6):
        v = top_value * k / 5
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.0f}</text>')
    for i, d in enumerate(datasets):
        x0 = left + i * group + group * 0.1
        for j, v in enumerate(variants):
            r = next((r for r in rows if r["dataset"] == d and r["variant"] == v), None)
            if not r:
                continue
            x = x0 + j * bar
            out.append(f'<rect x="{x:.1f}" y="{y(r["score_mean"]):.1f}" width="{bar * 0.9:.1f}" '
                       f'height="{y(0) - y(r["score_mean"]):.1f}" fill="{colours[j % len(colours)]}"/>')
            if r["score_std"]:
                cx = x + bar * 0.45
                lo, hi = r["score_mean"] - r["score_std"], r["score_mean"] + r["score_std"]
                out.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(lo):.1f}" y2="{y(hi):.1f}" stroke="black"/>')
        b = next((r["behaviour_score"] for r in rows if r["dataset"] == d), math.nan)
        if not math.isnan(b):
            out.append(f'<line x1="{x0:.1f}" x2="{x0 + group * 0.8:.1f}" y1="{y(b):.1f}" y2="{y(b):.1f}" '
                       f'stroke="black" stroke-dasharray="4,3"/>')
        out.append(f'<text transform="translate({x0 + group * 0.4:.1f},{top + plot_h + 12}) rotate(30)">{d}</text>')
    for j, v in enumerate(variants):
        yy = top + 10 + 20 * j
        out.append(f'<rect x="{left + plot_w + 15}" y="{yy}" width="12" height="12" fill="{colours[j % len(colours)]}"/>')
        out.append(f'<text x="{left + plot_w + 32}" y="{yy + 10}">{v}</text>')
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="black"/>')
    out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="black"/>')
    out.append("</svg>")
    tmp = path + ".tmp"
    open(tmp, "w").write("\n".join(out) + "\n")
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="docs/results")
    ap.add_argument("--datasets", default="docs/datasets")
    a = ap.parse_args()
    try:
        make_tables(a)
    except (OSError, ValueError) as e:  # one line; nothing is written before every cell has been read
        sys.exit(f"results-table: {e}")


def make_tables(a):
    cells = []
    for folder in sorted(glob.glob(os.path.join(a.results, "*", "*-seed*"))):
        try:
            cells += read_cell(folder)
        except (KeyError, ValueError, TypeError, AttributeError, IndexError) as e:  # a damaged or foreign cell
            raise ValueError(f"{folder}: {type(e).__name__} {e}: expected scripts/score-table.sh's files "
                             "(config.json, train_log.csv, eval-TARGET.json)") from None
    if not cells:
        sys.exit(f"results-table: no cells under {a.results} (run scripts/score-table.sh first)")
    unknown = sorted({c["dataset"] for c in cells if c["dataset"].split("-")[0] not in HIGH})
    if unknown:
        sys.exit(f"results-table: {a.results}/{unknown[0]}: expected a dataset of {', '.join(sorted(HIGH))}")
    groups = {}
    for c in cells:
        variant = c["backbone"] + (f"-{c['tag']}" if c["tag"] else "")
        groups.setdefault((c["dataset"], variant, c["target"]), []).append(c)
    summary = []
    for (dataset, variant, target), g in groups.items():
        scores = [c["score_mean"] for c in g]
        summary.append({
            "dataset": dataset, "variant": variant, "target": target, "seeds": len(g),
            "score_mean": statistics.mean(scores), "score_std": statistics.pstdev(scores) if len(g) > 1 else 0.0,
            "behaviour_score": behaviour_score(a.datasets, dataset),
            "updates": g[0]["updates"], "tokens_seen": statistics.mean(c["tokens_seen"] for c in g),
            "seconds_per_update": statistics.mean(c["seconds_per_update"] for c in g),
        })
    rank = {d: i for i, d in enumerate(ORDER)}
    summary.sort(key=lambda r: (rank.get(r["dataset"], 99), r["dataset"], -r["target"], r["variant"]))
    print_main_table(summary)  # (fails before any file is written, if a row cannot be shown)
    write_csv(os.path.join(a.results, "cells.csv"), cells)
    write_csv(os.path.join(a.results, "summary.csv"), summary)
    svg_bars(os.path.join(a.results, "scores.svg"), summary)
    print_target_check(summary)


def find(summary, dataset, variant, target):
    return next((r for r in summary if r["dataset"] == dataset and r["variant"] == variant and r["target"] == target),
                None)


def score(r):
    return f"{r['score_mean']:.1f} +- {r['score_std']:.1f} ({r['seeds']})" if r else "-"


def print_main_table(summary):
    """One row per dataset: both agents at both targets (mean +- std over seeds, seeds), then every
    tagged variant (an ablation row) beside the table's Aaren."""
    print("| dataset | Aaren, high target | Transformer, high | Aaren, low target | Transformer, low | behaviour "
          "| tokens seen (Aaren / Transformer) |")
    print("|---|---|---|---|---|---|---|")
    for d in ORDER:
        env = d.split("-")[0]
        ah, th = find(summary, d, "aaren", HIGH[env]), find(summary, d, "transformer", HIGH[env])
        al, tl = find(summary, d, "aaren", LOW[env]), find(summary, d, "transformer", LOW[env])
        if not (ah or th):
            continue
        behaviour = (ah or th)["behaviour_score"]
        tokens = " / ".join(f"{r['tokens_seen'] / 1e6:.1f}M" if r else "-" for r in (ah, th))
        print(f"| {d} | {score(ah)} | {score(th)} | {score(al)} | {score(tl)} | {behaviour:.1f} | {tokens} |")
    variants = sorted({(r["dataset"], r["variant"]) for r in summary if r["variant"] not in MAIN},
                      key=lambda dv: (ORDER.index(dv[0]) if dv[0] in ORDER else 99, dv[1]))
    if not variants:
        return
    print("\n| dataset | variant | high target | low target | tokens seen |")
    print("|---|---|---|---|---|")
    for d, v in variants:
        env = d.split("-")[0]
        h, l = find(summary, d, v, HIGH[env]), find(summary, d, v, LOW[env])
        print(f"| {d} | {v} | {score(h)} | {score(l)} | {(h or l)['tokens_seen'] / 1e6:.1f}M |")


def print_target_check(summary):
    """At DT's high target: is Aaren within one std (over seeds) of the Transformer, or above it?"""
    print("\n| dataset | Aaren | Transformer | behaviour | Aaren within one std or above |")
    print("|---|---|---|---|---|")
    met = counted = 0
    for d in ORDER:
        high = HIGH[d.split("-")[0]]
        a, t = find(summary, d, "aaren", high), find(summary, d, "transformer", high)
        if not a or not t:
            continue
        ok = a["score_mean"] >= t["score_mean"] - t["score_std"]
        counted += 1
        met += ok
        print(f"| {d} | {score(a)} | {score(t)} | {a['behaviour_score']:.1f} | {'yes' if ok else 'no'} |")
    print(f"\nAaren within one std of the Transformer or above: {met} of {counted} datasets")


if __name__ == "__main__":
    main()
