"""A scripted call that is killed with SIGKILL: by the parent at a random moment, or by itself at a
chosen point inside opening, first creation, migration, call start, checkpoint writing or anchor
writing.

Usage: python benchmarks/crash_worker.py DB [SPEC_JSON]

SPEC (all optional): {"phase": "open"|"start"|"checkpoint"|"anchor"|"key", "step": N,
"occurrence": K, "point": "before"|"written"|"after", "every": N, "count": true}
- "open", "start", "checkpoint": SIGKILL itself from SQLite's progress handler after N virtual
  machine steps inside that phase (opening includes creating and migrating the file; a checkpoint
  phase starts at the signature of the K-th checkpoint and runs through its transaction's commit);
- "anchor": at the K-th anchor write, before writing the line, after writing it (not yet
  fsynced), or after the fsync (before the append returns);
- "key": while creating the signing key on first use (before, or after, it is linked into place);
- "count": nothing is killed; prints how many steps each phase took (`COUNT phase n`), so the
  parent can aim inside the phase.
The kill is a real SIGKILL sent to its own pid (no cleanup, no atexit). Prints `AT phase` on
entering each phase, `CALL <call_id>` once, then `ACK <seq> <hash>` after every operation has
returned (it is durable), and `DONE` at the end. Keys and anchors come from CALLGUIDE_KEYS_DIR and
CALLGUIDE_ANCHORS_DIR (the parent gives each run its own).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from callguide.engine.clock import FixedClock  # noqa: E402
from callguide.engine.script import apply_event  # noqa: E402
from callguide.engine.session import Account, CallSession  # noqa: E402
from callguide.flow.loader import load_library  # noqa: E402
from callguide.store import checkpoints as store_checkpoints  # noqa: E402
from callguide.store import keys as store_keys  # noqa: E402
from callguide.store import sqlite as store_sqlite  # noqa: E402
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


_OUT = threading.Lock()


def say(line: str) -> None:
    """One whole line on stdout (the anchor thread writes too: lines never interleave)."""
    with _OUT:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(10)  # never reached


class Killer:
    """Counts SQLite VM steps per phase (phases nest: a checkpoint inside a call start) and kills
    the process in the armed one. Each thread has its own phases (the store hands checkpoints to
    the anchor folder from a background thread)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.phase = spec.get("phase")
        self._local = threading.local()
        self._lock = threading.Lock()
        self.steps: dict[str, int] = {}
        self.occurrences: dict[str, int] = {}

    @property
    def stack(self) -> list[str]:
        if not hasattr(self._local, "stack"):
            self._local.stack = []
        return self._local.stack

    def enter(self, phase: str) -> None:
        with self._lock:
            self.stack.append(phase)
            self.occurrences[phase] = self.occurrences.get(phase, 0) + 1
            self.steps[phase] = 0

    def leave(self, phase: str) -> None:
        with self._lock:
            if self.spec.get("count"):
                say(f"COUNT {phase} {self.steps[phase]}")
            if self.stack and self.stack[-1] == phase:
                self.stack.pop()

    def armed(self, phase: str) -> bool:
        return self.phase == phase and self.occurrences.get(phase, 0) == self.spec.get("occurrence", 1)

    def tick(self) -> int:
        if self.stack:
            phase = self.stack[-1]
            self.steps[phase] += 1
            if self.armed(phase) and self.steps[phase] >= self.spec.get("step", 1):
                die()
        return 0


def install(k: Killer) -> None:
    real_connect = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = real_connect(*args, **kwargs)
        conn.set_progress_handler(k.tick, 1)
        return conn

    sqlite3.connect = connect  # the store connects through sqlite3.connect

    real_sign = store_sqlite.sign_checkpoint

    def sign(*args: Any, **kwargs: Any) -> Any:
        k.enter("checkpoint")
        return real_sign(*args, **kwargs)

    store_sqlite.sign_checkpoint = sign  # type: ignore[assignment]

    real_witness = SQLiteJournal._witness

    def witness(self: SQLiteJournal, cp: Any) -> None:
        k.leave("checkpoint")  # committed
        real_witness(self, cp)

    SQLiteJournal._witness = witness  # type: ignore[method-assign]

    real_record = store_checkpoints.AnchorFolder.record
    real_write_all = store_checkpoints.write_all

    def record(self: Any, cp: Any, journal_path: str) -> None:
        k.enter("anchor")
        if k.armed("anchor") and k.spec.get("point") == "before":
            die()
        real_record(self, cp, journal_path)
        if k.armed("anchor") and k.spec.get("point") == "after":
            die()
        k.leave("anchor")

    def write_all(fd: int, data: bytes) -> None:
        real_write_all(fd, data)
        if k.armed("anchor") and k.spec.get("point") == "written":
            die()

    store_checkpoints.AnchorFolder.record = record  # type: ignore[method-assign]
    store_checkpoints.write_all = write_all

    real_create = store_keys._create_only

    def create_only(path: Path, data: bytes, mode: int) -> None:
        if k.phase == "key" and path.suffix == ".pem" and k.spec.get("point") == "before":
            die()
        real_create(path, data, mode)
        if k.phase == "key" and path.suffix == ".pem" and k.spec.get("point") == "after":
            die()

    store_keys._create_only = create_only


def main() -> None:
    db = sys.argv[1]
    spec = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    k = Killer(spec)
    install(k)
    lib = library()
    say("AT open")
    k.enter("open")
    store = SQLiteJournal.open(db, checkpoint_every=spec.get("every", 50))
    k.leave("open")
    say("AT start")
    k.enter("start")
    session = start(lib, store)
    k.leave("start")
    say(f"CALL {session.call_id}")
    last = store.call_entries(session.call_id)[-1]
    say(f"ACK {last.seq} {last.hash}")
    for i, ev in enumerate(EVENTS):
        say(f"AT op {i}")
        apply_event(session, ev, i)
        last = store.call_entries(session.call_id)[-1]
        say(f"ACK {last.seq} {last.hash}")
    say("AT end")
    session.end_call("done")
    last = store.call_entries(session.call_id)[-1]
    say(f"ACK {last.seq} {last.hash}")
    if spec.get("count"):
        store.wait_for_witnesses()
        say(f"COUNT checkpoints {k.occurrences.get('checkpoint', 0)}")
        say(f"COUNT anchors {k.occurrences.get('anchor', 0)}")
    store.close()
    say("DONE")


if __name__ == "__main__":
    main()
