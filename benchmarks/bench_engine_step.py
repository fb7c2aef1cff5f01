"""One engine step (Next, with its durable journal write) against a bare
`transitions` trigger plus a bare SQLite INSERT + COMMIT with the same durability
(WAL, synchronous=FULL), measured in the same run. Target: ratio <= 1.5x.

The two take turns (a baseline run, then an engine run, each on a fresh file in the same temp
folder), so a slow moment of a shared machine hits both; each turn gives a ratio, and the median
of those ratios is the figure (the spread is printed too). The engine's journal is the real one:
signed checkpoints every 50 entries, handed to a real anchor folder (in a temp dir).

    python benchmarks/bench_engine_step.py [--steps 300] [--repeats 9]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from transitions import Machine  # noqa: E402

from callguide.engine.clock import FixedClock  # noqa: E402
from callguide.engine.session import Account, CallSession  # noqa: E402
from callguide.flow.loader import load_flow_text  # noqa: E402
from callguide.flow.model import FlowLibrary  # noqa: E402
from callguide.store.sqlite import SQLiteJournal  # noqa: E402

LOOP = """schema: callguide/flow@1
id: loop
version: "1"
priority: general
title: {en: Loop, da: Løkke, cs: Smyčka}
description: {en: Benchmark, da: Benchmark, cs: Benchmark}
languages: [en, da, cs]
start: a
steps:
  - id: a
    kind: say
    say: {en: "Hello {{ account.name }}, step A", da: "Hej A", cs: "Dobrý den A"}
    guidance: {en: "Listen", da: "Lyt", cs: "Poslouchejte"}
    next: b
  - id: b
    kind: say
    say: {en: "Step B for {{ account.name }}", da: "Trin B", cs: "Krok B"}
    next: a
"""


def engine_steps(d: Path, n: int) -> float:
    flow, diags = load_flow_text(LOOP, "loop.yaml")
    assert flow is not None, diags
    lib = FlowLibrary(flows={"loop": flow}, signposts={})
    store = SQLiteJournal.open(d / "engine.db")
    s = CallSession.start(lib, store, Account("B1", "Alex", "UK"), "bench", start_flow="loop",
                          clock=FixedClock(), auto_wrap_up=False)
    for _ in range(20):
        s.next()
    t0 = time.perf_counter()
    for _ in range(n):
        s.next()
    dt = time.perf_counter() - t0
    store.close()
    return dt / n


def baseline(d: Path, n: int) -> float:
    class Model:
        pass

    m = Model()
    machine = Machine(model=m, states=["a", "b"], initial="a", auto_transitions=False)
    machine.add_transition("go", "a", "b")
    machine.add_transition("go", "b", "a")
    conn = sqlite3.connect(d / "bare.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY, ts TEXT, type TEXT, data TEXT)")
    payload = json.dumps({"step": "a", "say": "Hello Alex, step A"})
    for _ in range(20):
        m.go()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (ts, type, data) VALUES (?, ?, ?)", ("2026", "step", payload))
        conn.execute("COMMIT")
    t0 = time.perf_counter()
    for _ in range(n):
        m.go()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (ts, type, data) VALUES (?, ?, ?)", ("2026", "step", payload))
        conn.execute("COMMIT")
    dt = time.perf_counter() - t0
    conn.close()
    return dt / n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=9)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="cg-bench-step-")
    os.environ.setdefault("CALLGUIDE_KEYS_DIR", str(Path(tmp) / "keys"))
    os.environ.setdefault("CALLGUIDE_ANCHORS_DIR", str(Path(tmp) / "anchors"))
    eng, base, ratios = [], [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory(dir=tmp) as d:
            base.append(baseline(Path(d), args.steps))
            eng.append(engine_steps(Path(d), args.steps))
            ratios.append(eng[-1] / base[-1])
    e, b = statistics.median(eng), statistics.median(base)
    print(f"engine step (Next + durable journal write): {e * 1e3:.3f} ms (median of {args.repeats}, "
          f"spread {min(eng) * 1e3:.3f}-{max(eng) * 1e3:.3f})")
    print(f"baseline (transitions trigger + SQLite insert, WAL+FULL): {b * 1e3:.3f} ms "
          f"(spread {min(base) * 1e3:.3f}-{max(base) * 1e3:.3f})")
    r = statistics.median(ratios)
    print(f"ratio: {r:.2f}x, median of {args.repeats} turns (spread {min(ratios):.2f}-{max(ratios):.2f}x; "
          f"ratio of medians {e / b:.2f}x); target <= 1.5x: {'met' if r <= 1.5 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
