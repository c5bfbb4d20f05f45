#!/usr/bin/python3
"""SHA-256 of a D4RL-layout file's arrays, one line per file.

Usage: scripts/dataset-checksums.py FILE.hdf5 [...]

Hashes the raw bytes of observations, actions, rewards, terminals, timeouts
and next_observations (in that order, each as stored), not the file: the same
data written again (other metadata, other compression) has the same checksum.
The matched datasets' table is docs/datasets/matched/checksums.txt.
Every file is read before a line is printed: a file that cannot be read is named
in one line on stderr (exit 1) and no table is printed.
(Debian's python3, whose h5py scripts/setup.sh installs.)
"""
import hashlib
import sys

KEYS = ["observations", "actions", "rewards", "terminals", "timeouts", "next_observations"]


def checksum(h5py, path):
    """(rows, hex digest) of the file's arrays; ValueError naming the file when it is not D4RL's layout."""
    digest = hashlib.sha256()
    try:
        with h5py.File(path, "r") as f:
            if "rewards" not in f:
                raise ValueError(f"{path}: no 'rewards' array (expected a D4RL-layout HDF5 file)")
            rows = f["rewards"].shape[0]
            for key in KEYS:
                if key in f:
                    digest.update(key.encode())
                    digest.update(f[key][()].tobytes())
    except OSError as e:  # missing, unreadable, not HDF5
        raise ValueError(f"{path}: cannot read it as HDF5 ({e})") from None
    return rows, digest.hexdigest()


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        import h5py
    except ImportError:
        print("dataset-checksums.py: needs h5py (Debian's python3-h5py: scripts/setup.sh installs it)",
              file=sys.stderr)
        return 1
    lines = []
    for path in sys.argv[1:]:
        try:
            rows, hexdigest = checksum(h5py, path)
        except ValueError as e:
            print(f"dataset-checksums.py: {e}", file=sys.stderr)
            return 1
        lines.append(f"{hexdigest}  {rows:>9}  {path.rsplit('/', 1)[-1]}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
