"""Crash soak: SIGKILL a scripted call at random points over many runs.

    python benchmarks/crash_soak.py --runs 300 [--seed 1]

Every run checks that every acknowledged entry is still there, the hash chain
verifies, and resume restores the same step, answers, consents and stack.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.crashlib import one_run  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--shared-db", action="store_true", help="all runs append to one journal file")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    acked = ops = 0
    with tempfile.TemporaryDirectory() as d:
        for i in range(args.runs):
            db = Path(d) / ("soak.db" if args.shared_db else f"soak-{i}.db")
            r = one_run(db, rng)
            acked += r["acked"]
            ops += r["ops"]
    dt = time.perf_counter() - t0
    print(f"crash soak: {args.runs} kills, {acked} acknowledged operations all present, "
          f"{ops} durable operations replayed, chain verified every time ({dt:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
