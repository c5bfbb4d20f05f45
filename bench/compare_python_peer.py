#!/usr/bin/env python3
"""One DT update at DT's size (width 128, 3 layers, 1 head, batch 64, K = 20:
60 tokens), side by side in one run: the plain PyTorch peer
(bench/dt_update_peer.py, Debian's python3-torch on the same LibTorch) and
`aaren bench train` for both backbones, in fp32 and bf16 on one thread, and
the data-parallel configurations (`--nproc 2`, one thread per rank). The
variants take turns, REPEATS times, so the machine's noise hits them alike;
each cell is the median of its repeats.

Usage: bench/compare_python_peer.py [--aaren build/aaren] [--repeats 3]
         [--min-seconds 5] [--csv runs/bench/peer.csv]
Needs python3-torch (Debian) for the peer: `apt-get install python3-torch`.
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run_peer(precision, min_seconds, kernels=None):
    env = dict(os.environ)
    if kernels:
        env["OPENBLAS_CORETYPE"] = kernels
    out = subprocess.run([sys.executable, os.path.join(HERE, "dt_update_peer.py"), "--batch-size", "64", "--context", "20",
                          "--threads", "1", "--precision", precision, "--min-seconds", str(min_seconds)],
                         check=True, capture_output=True, text=True, env=env).stdout
    return float(out.split("python-peer: ")[1].split(" ms")[0])


def run_aaren(aaren, precision, min_seconds, nproc=None):
    args = [aaren, "bench", "train", "--lengths", "60", "--batch-size", "64", "--threads", "1", "--precision", precision,
            "--min-seconds", str(min_seconds), "--json"]
    if nproc:
        args += ["--nproc", str(nproc)]
    out = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
    row = out["rows"][0]
    return row["aaren_ms"], row["transformer_ms"], out["machine"].get("blas_kernels", "")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--aaren", default="build/aaren")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--min-seconds", type=float, default=5.0)
    p.add_argument("--csv")
    a = p.parse_args()
    try:
        import torch  # noqa: F401  (the peer's dependency, checked before an hour of measuring)
    except ImportError:
        sys.exit("compare_python_peer: the peer needs PyTorch for Python (Debian: apt-get install python3-torch)")
    # The peer as a user runs it (OpenBLAS's own kernel choice), and with the
    # kernels aaren runs (OPENBLAS_CORETYPE): the latter isolates C++ against Python.
    kernels = run_aaren(a.aaren, "fp32", 0, None)[2]
    variants = [("peer", "fp32", None), ("peer-kernels", "fp32", None), ("aaren", "fp32", None),
                ("peer", "bf16", None), ("peer-kernels", "bf16", None), ("aaren", "bf16", None),
                ("aaren", "fp32", 2), ("aaren", "bf16", 2)]
    samples = {v: [] for v in variants}
    for r in range(a.repeats):
        order = variants[r % len(variants):] + variants[:r % len(variants)]
        for v in order:
            who, precision, nproc = v
            print(f"\r[peer] repeat {r + 1}/{a.repeats}: {who} {precision}{' x' + str(nproc) if nproc else ''}   ",
                  end="", file=sys.stderr, flush=True)
            if who.startswith("peer"):
                samples[v].append(run_peer(precision, a.min_seconds, kernels if who == "peer-kernels" else None))
            else:
                samples[v].append(run_aaren(a.aaren, precision, a.min_seconds, nproc)[:2])
    print(file=sys.stderr)
    peer = {(who, prec): statistics.median(samples[(who, prec, None)])
            for who in ("peer", "peer-kernels") for prec in ("fp32", "bf16")}
    base, matched = peer[("peer", "fp32")], peer[("peer-kernels", "fp32")]
    rows = []
    for (who, precision, nproc), values in samples.items():
        if who.startswith("peer"):
            ms = peer[(who, precision)]
            name = "python peer (Transformer)" + (f", OPENBLAS_CORETYPE={kernels}" if who == "peer-kernels" else "")
            rows.append([name, precision, 1, ms, 1000 / ms, base / ms, matched / ms])
            continue
        for i, backbone in enumerate(("Aaren", "Transformer")):
            ms = statistics.median(v[i] for v in values)
            rows.append([f"aaren {backbone}", precision, nproc or 1, ms, 1000 / ms, base / ms, matched / ms])
    header = ["variant", "precision", "ranks", "ms_per_update", "updates_per_s", "speedup_vs_peer_fp32",
              "speedup_vs_peer_fp32_same_kernels"]
    print(f"aaren's OpenBLAS kernels: {kernels or '(not OpenBLAS)'}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print(f"| {row[0]} | {row[1]} | {row[2]} | {row[3]:.1f} | {row[4]:.2f} | {row[5]:.2f} | {row[6]:.2f} |")
    print(f"\nDT's 100k updates at the best rate: {100000 / max(r[4] for r in rows) / 3600:.1f} h")
    if a.csv:
        os.makedirs(os.path.dirname(os.path.abspath(a.csv)), exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=os.path.dirname(os.path.abspath(a.csv)), delete=False,
                                         newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)
        os.replace(f.name, a.csv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
