#!/usr/bin/python3
"""SHA-256 of a D4RL-layout file's arrays, one line per file.

Usage: scripts/dataset-checksums.py FILE.hdf5 [...]

Hashes the raw bytes of observations, actions, rewards, terminals, timeouts
and next_observations (in that order, each as stored), not the file: the same
data written again (other metadata, other compression) has the same checksum.
The matched datasets' table is docs/datasets/matched/checksums.txt.
"""
import hashlib
import sys

import h5py

KEYS = ["observations", "actions", "rewards", "terminals", "timeouts", "next_observations"]


def checksum(path):
    digest = hashlib.sha256()
    with h5py.File(path, "r") as f:
        rows = f["rewards"].shape[0]
        for key in KEYS:
            if key in f:
                digest.update(key.encode())
                digest.update(f[key][()].tobytes())
    return rows, digest.hexdigest()


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for path in sys.argv[1:]:
        rows, hexdigest = checksum(path)
        print(f"{hexdigest}  {rows:>9}  {path.rsplit('/', 1)[-1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
