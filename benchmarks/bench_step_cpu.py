"""Instructions (CPU work, deterministic) of one engine step: a plain Next with its durable journal
write, counted by valgrind's callgrind, against a bare `transitions` trigger plus a bare SQLite
INSERT + COMMIT (the baseline of bench_engine_step.py).

Timings on a shared machine are noisy; instruction counts are not. Each side runs twice, with
`--steps` and `2 * --steps` steps after the same set-up, and the figure is the difference divided
by `--steps`, so start-up, imports and set-up cancel out. The files are in /dev/shm (no disk
waits; the instructions SQLite runs are the same). Needs `valgrind` on PATH.

Stop 19: 592k instructions a step (703k before: a plain Next is now one entry, and the partial
account index is kept with a chain of `=`, not an `IN` that built a temporary b-tree per insert),
against 119k for the bare step.

    python benchmarks/bench_step_cpu.py [--steps 200] [--engine-only]
    python benchmarks/bench_step_cpu.py --profile [--steps 2000]   # cProfile of the engine's steps
    python benchmarks/bench_step_cpu.py --run engine|bare N         # (what valgrind runs)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

_TMP = "/dev/shm" if os.path.isdir("/dev/shm") else None


def _engine(d: Path, n: int, profile: bool = False) -> None:
    from benchmarks.bench_engine_step import LOOP
    from callguide.engine.clock import FixedClock
    from callguide.engine.session import Account, CallSession
    from callguide.flow.loader import load_flow_text
    from callguide.flow.model import FlowLibrary
    from callguide.store.keys import KeyStore
    from callguide.store.sqlite import SQLiteJournal

    flow, diags = load_flow_text(LOOP, "loop.yaml")
    assert flow is not None, diags
    lib = FlowLibrary(flows={"loop": flow}, signposts={})
    store = SQLiteJournal.open(d / "engine.db", keys=KeyStore(d / "keys"), witnesses=())
    s = CallSession.start(lib, store, Account("B1", "Alex", "UK"), "bench", start_flow="loop",
                          clock=FixedClock(), auto_wrap_up=False)
    for _ in range(20):  # warm-up (caches, first key, statement cache)
        s.next()
    if profile:
        import cProfile
        import pstats

        pr = cProfile.Profile()
        pr.enable()
        for _ in range(n):
            s.next()
        pr.disable()
        st = pstats.Stats(pr)
        st.sort_stats("tottime").print_stats(35)
        st.sort_stats("ncalls").print_stats(25)
    else:
        for _ in range(n):
            s.next()
    store.close()


def _bare(d: Path, n: int) -> None:
    from benchmarks.bench_engine_step import bare_step

    step, conn = bare_step(d)
    for _ in range(20 + n):
        step()
    conn.close()


def _count(kind: str, n: int) -> int:
    """Instructions of a whole run of `kind` with `n` steps (callgrind's total)."""
    with tempfile.TemporaryDirectory(dir=_TMP) as tmp:
        out = Path(tmp) / "cg.out"
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, __file__,
               "--run", kind, str(n)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-2000:])
        m = re.search(r"Collected\s*:\s*(\d+)", proc.stderr)
        if m is None:
            raise SystemExit(proc.stderr[-2000:])
        return int(m.group(1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--run", nargs=2, metavar=("KIND", "N"))
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--engine-only", action="store_true", help="count the engine's steps only")
    args = ap.parse_args()
    if args.run:
        kind, n = args.run[0], int(args.run[1])
        with tempfile.TemporaryDirectory(dir=_TMP) as tmp:
            (_engine if kind == "engine" else _bare)(Path(tmp), n)
        return 0
    if args.profile:
        with tempfile.TemporaryDirectory(dir=_TMP) as tmp:
            _engine(Path(tmp), args.steps, profile=True)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed", file=sys.stderr)
        return 2
    n = args.steps
    per: dict[str, float] = {}
    for kind in ("engine",) if args.engine_only else ("engine", "bare"):
        a, b = _count(kind, n), _count(kind, 2 * n)
        per[kind] = (b - a) / n
        print(f"{kind:6}: {per[kind]:10,.0f} instructions per step ({a:,} with {n} steps, {b:,} with {2 * n})")
    if "bare" in per:
        print(f"ratio : {per['engine'] / per['bare']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
