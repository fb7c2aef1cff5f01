"""The cost of checking a note for health and life-event words (issue 10 §5): saving a plain note
(`session.apply(Note(text))`, durable journal write included) with the gate's word check, against
the same command on the same engine and journal with the check switched off, measured in the same
run. Also the check alone (`Gate.note`: the trainers' lists, all three languages).

    python benchmarks/bench_note.py [--notes 300] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callguide.engine import gate as gate_module  # noqa: E402
from callguide.engine.clock import FixedClock  # noqa: E402
from callguide.engine.commands import Note  # noqa: E402
from callguide.engine.session import Account, CallSession  # noqa: E402
from callguide.flow.loader import load_library  # noqa: E402
from callguide.store.sqlite import SQLiteJournal  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TEXT = ("Customer says she will pay on Friday after her salary arrives; prefers letters in large print, "
        "no calls before 10. Kunden foretrækker breve. Zákazník preferuje dopisy.")


def _session(tmp: Path) -> CallSession:
    lib, _ = load_library([ROOT / "tests" / "engine" / "flows"], signposts=False)
    lib.signposts = {"countries": {"UK": {"name": "UK", "emergency": {"name": "E", "phone": "999"}}}}
    store = SQLiteJournal.open(tmp / "bench.db")
    return CallSession.start(lib, store, Account("B1", "Bench", "UK"), "agent-7", start_flow="main",
                             clock=FixedClock("2026-11-22T10:00:00+00:00", step_seconds=1), auto_wrap_up=False)


def _per_note(s: CallSession, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        assert s.apply(Note(TEXT)).ok
    return (time.perf_counter() - t0) / n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--notes", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        s = _session(Path(d))
        checked, bare, check = [], [], []
        real = gate_module.Gate.note
        def off(self, text, purpose=None):  # the baseline: no word check
            return None

        for _ in range(args.repeats):
            c = b = 0.0
            for batch in range(args.notes // 20):  # interleaved, in turns first, so both meet the same load
                for checking in ((True, False) if batch % 2 else (False, True)):
                    gate_module.Gate.note = real if checking else off
                    try:
                        t = _per_note(s, 20) * 20
                    finally:
                        gate_module.Gate.note = real
                    if checking:
                        c += t
                    else:
                        b += t
            checked.append(c / (args.notes // 20 * 20))
            bare.append(b / (args.notes // 20 * 20))
            t0 = time.perf_counter()
            for _ in range(args.notes):
                s.gate.note(TEXT)
            check.append((time.perf_counter() - t0) / args.notes)
        s.store.close()
    c, b, k = statistics.median(checked), statistics.median(bare), statistics.median(check)
    print(f"note saved, with the word check: {c * 1e3:.3f} ms (median of {args.repeats})")
    print(f"note saved, check switched off (baseline): {b * 1e3:.3f} ms")
    print(f"the check alone: {k * 1e6:.1f} us")
    print(f"ratio: {c / b:.3f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
