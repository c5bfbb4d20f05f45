#!/usr/bin/env python3
"""Peak resident memory of a command and its child processes, sampled every 10 ms.

Usage: scripts/peak-rss.py COMMAND [ARGS...]

Prints the command's exit status and three peaks: the command's own RSS, its children's
(summed), and the two together at one sample (VmRSS from /proc, Linux only). For
`aaren data inspect FILE`, whose HDF5 read runs in a forked child, it shows what that read
holds at once on both sides. Sampling can miss a peak shorter than 10 ms.
"""
import subprocess
import sys
import time


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    own = kids = together = 0
    while process.poll() is None:
        a = rss_kib(process.pid)
        c = sum(rss_kib(k) for k in children(process.pid))
        own, kids, together = max(own, a), max(kids, c), max(together, a + c)
        time.sleep(0.01)
    print(f"exit {process.returncode}: peak RSS {own / 1024:.0f} MiB (command), {kids / 1024:.0f} MiB (children), "
          f"{together / 1024:.0f} MiB (together)")


if __name__ == "__main__":
    main()
