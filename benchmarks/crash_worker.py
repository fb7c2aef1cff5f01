"""A scripted call that a parent process kills (SIGKILL) at a random point.

Usage: python benchmarks/crash_worker.py DB [DELAY_MS]
Prints `CALL <call_id>` once, then `ACK <seq> <hash>` after every operation has
returned (i.e. is durable). Used by tests/engine/test_crash.py (few runs) and
benchmarks/crash_soak.py (many runs).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from callguide.engine.clock import FixedClock  # noqa: E402
from callguide.engine.script import apply_event  # noqa: E402
from callguide.engine.session import Account, CallSession  # noqa: E402
from callguide.flow.loader import load_library  # noqa: E402
from callguide.store.sqlite import SQLiteJournal  # noqa: E402

SIGNPOSTS = {"countries": {"UK": {"name": "United Kingdom", "emergency": {"name": "Emergency", "phone": "999"},
                                  "crisis": [{"name": "Samaritans", "phone": "116 123"}],
                                  "debt_advice": [{"name": "National Debtline"}]}}}

# One field per answer event, so that each operation writes exactly one input entry.
EVENTS = [
    {"next": None},
    {"answer": {"income": "1500"}},
    {"answer": {"spend": "400"}},
    {"interrupt": "disclose"},
    {"consent": "given"},
    {"answer": {"condition": "long covid"}},
    {"answer": {"contact_pref": "letter"}},
    {"next": None},
    {"back": 1},
    {"answer": {"contact_pref": "email"}},
    {"next": None},
    {"next": None},
    {"answer": {"income": "1600"}},
    {"next": None},
    {"next": "yes"},                      # the hand-over to `pay` runs by itself
    {"answer": {"instalment": "75"}},
    {"next": None},
    {"next": None},
    {"next": None},
]


def library():
    lib, diags = load_library([ROOT / "tests" / "engine" / "flows"], signposts=False)
    lib.signposts = SIGNPOSTS
    return lib


def start(lib, store):
    return CallSession.start(lib, store, Account("CRASH-1", "Kim", "UK"), "agent-crash", start_flow="main",
                             clock=FixedClock("2026-11-22T10:00:00+00:00", step_seconds=1), auto_wrap_up=False)


def main() -> None:
    db = sys.argv[1]
    delay = float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.0
    store = SQLiteJournal.open(db)
    session = start(library(), store)
    print(f"CALL {session.call_id}", flush=True)
    for i, ev in enumerate(EVENTS):
        apply_event(session, ev, i)
        last = store.call_entries(session.call_id)[-1]
        print(f"ACK {last.seq} {last.hash}", flush=True)
        if delay:
            time.sleep(delay)
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
