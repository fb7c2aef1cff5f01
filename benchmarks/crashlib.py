"""Kill a scripted call (benchmarks/crash_worker.py) with SIGKILL at a chosen point and check what
survived. Shared by the crash test (tests/engine/test_crash.py, a few kills) and the soak
(benchmarks/crash_soak.py, hundreds).

Kill points (`KILL_POINTS`):
- `creation`: inside the first open of a new file (create, migrate, key and id);
- `migration`: inside the open of a journal written at schema 2 (an unfinished call in it);
- `open`: inside the open of an existing journal (its checks included);
- `start`: inside `CallSession.start` (snapshots, account history, the first entries);
- `checkpoint`: from the signature of a checkpoint through its transaction's commit;
- `anchor`: at an anchor write: before the line, after it (not yet fsynced), after the fsync;
- `key`: while the signing key is created on first use (before or after it is linked in);
- `ack`: at a random moment after a random number of acknowledgements (the parent kills).
A run counts as a kill only when the worker died of SIGKILL. After each run: the journal opens for
normal use (its checks pass), `audit_journal` finds nothing wrong (chain, checkpoints, anchors,
triggers, integrity_check), every acknowledged entry (and every entry of the journal the run
started from) is there with its hash, and every unfinished call resumes exactly where the same
call run in-process with the same number of operations stands.
"""

from __future__ import annotations

import functools
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.crash_worker import EVENTS, library, start  # noqa: E402
from callguide.engine.script import apply_event  # noqa: E402
from callguide.engine.session import CallSession  # noqa: E402
from callguide.store import migrations as store_migrations  # noqa: E402
from callguide.store.audit import audit_journal  # noqa: E402
from callguide.store.checkpoints import AnchorFolder  # noqa: E402
from callguide.store.keys import KeyStore  # noqa: E402
from callguide.store.sealing import keys_path  # noqa: E402
from callguide.store.sqlite import SQLiteJournal  # noqa: E402

KILL_POINTS = ("creation", "migration", "open", "start", "checkpoint", "anchor", "key", "ack")
TEMPLATE_OPS = 9  # the unfinished call already in the journal a run starts from


def position(s: CallSession) -> tuple:
    # This call's own consent decisions: `s.consents` also holds consents in force from the earlier
    # call of the journal a run starts from, which the reference (a fresh journal) cannot have.
    top = s.top
    return (top.flow.id if top else None, top.step_id if top else None, dict(s.values), dict(s.consent_decisions),
            s.state.hold_active, s.state.capacity_doubt, [f.flow.id for f in s.stack])


@functools.cache
def reference(ops: int) -> tuple:
    """The same call, run in-process for `ops` operations, on a throw-away journal."""
    with tempfile.TemporaryDirectory() as d:
        store = SQLiteJournal.open(Path(d) / "ref.db", keys=KeyStore(Path(d) / "keys"), witnesses=())
        s = start(library(), store)
        for i, ev in enumerate(EVENTS[:ops]):
            apply_event(s, ev, i)
        pos = position(s)
        store.close()
        return pos


@dataclass
class Outcome:
    point: str
    killed: bool  # the worker died of SIGKILL
    landed: str  # the phase it was in ("AT ..." marker, or the armed point)
    acked: int = 0  # operations acknowledged before the kill
    ops: int = 0  # durable operations of the killed call found afterwards
    resumed: int = 0  # unfinished calls resumed and compared
    spec: dict[str, Any] = field(default_factory=dict)


class Soak:
    """A working folder with one signing key, a journal at schema 2 and one at the current schema
    (each with an unfinished call), and the step counts that aim a kill inside each phase."""

    def __init__(self, work: Path, every: int = 7) -> None:
        self.work = work
        self.every = every
        self.keys = work / "keys"
        KeyStore(self.keys).signing_key()
        self.template = work / "template"
        self._build_templates()
        self.counts = {pre: self._calibrate(pre) for pre in ("creation", "migration", "open")}

    # ------------------------------------------------------------------ setup

    def _build_templates(self) -> None:
        self.template.mkdir(parents=True, exist_ok=True)
        db = self.template / "journal.db"
        store = SQLiteJournal.open(db, keys=KeyStore(self.keys), witnesses=(AnchorFolder(self.template / "anchors"),),
                                   checkpoint_every=self.every)
        s = start(library(), store)
        for i, ev in enumerate(EVENTS[:TEMPLATE_OPS]):
            apply_event(s, ev, i)
        self.template_entries = [(e.seq, e.hash) for e in store.iter_entries()]
        store.close()
        # The same entries in a journal at schema 2 (before checkpoints): what an older CallGuide left.
        old = self.template / "v2.db"
        conn = sqlite3.connect(old)
        from sqlite_utils import Database

        store_migrations.migrations.apply(Database(conn), stop_before="0003_checkpoints_meta_account_index")
        conn.execute("ATTACH DATABASE ? AS cur", (str(db),))
        conn.execute("INSERT INTO entries SELECT * FROM cur.entries")
        conn.execute("INSERT INTO flow_snapshots SELECT * FROM cur.flow_snapshots")
        conn.commit()
        conn.execute("DETACH DATABASE cur")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.close()

    def _prepare(self, run: Path, pre: str) -> tuple[Path, list[tuple[int, str]]]:
        """A run folder holding the journal the worker starts from; (db, entries already in it)."""
        run.mkdir(parents=True, exist_ok=True)
        db = run / "journal.db"
        if pre == "creation":
            return db, []
        # the data keys travel with the journal (a journal copied without them reads sealed values as unreadable)
        shutil.copy(keys_path(self.template / "journal.db"), keys_path(db))
        if pre == "migration":
            shutil.copy(self.template / "v2.db", db)
            return db, list(self.template_entries)
        shutil.copy(self.template / "journal.db", db)
        shutil.copytree(self.template / "anchors", run / "anchors")
        return db, list(self.template_entries)

    def _env(self, run: Path, keys: Path | None = None) -> dict[str, str]:
        return {**os.environ, "PYTHONUNBUFFERED": "1", "CALLGUIDE_KEYS_DIR": str(keys or self.keys),
                "CALLGUIDE_ANCHORS_DIR": str(run / "anchors")}

    def _calibrate(self, pre: str) -> dict[str, int]:
        run = self.work / f"calibrate-{pre}"
        db, _ = self._prepare(run, pre)
        out = subprocess.run([sys.executable, str(HERE / "crash_worker.py"), str(db),
                              json.dumps({"count": True, "every": self.every})],
                             capture_output=True, text=True, env=self._env(run), check=True).stdout
        counts: dict[str, int] = {}
        for line in out.splitlines():
            if line.startswith("COUNT "):
                _, key, n = line.split()
                counts[key] = min(counts.get(key, int(n)), int(n))  # aim inside the shortest occurrence
        shutil.rmtree(run)
        return counts

    # ------------------------------------------------------------------ one run

    def spec_for(self, point: str, rng: random.Random) -> tuple[str, dict[str, Any]]:
        """(the journal the run starts from, the worker's kill spec)."""
        every = {"every": self.every}
        if point in ("creation", "migration", "open"):
            return point, {**every, "phase": "open", "step": rng.randint(1, self.counts[point]["open"])}
        c = self.counts["open"]
        if point == "start":
            return "open", {**every, "phase": "start", "step": rng.randint(1, c["start"])}
        if point == "checkpoint":
            return "open", {**every, "phase": "checkpoint", "occurrence": rng.randint(1, c["checkpoints"]),
                            "step": rng.randint(1, c["checkpoint"])}
        if point == "anchor":
            return "open", {**every, "phase": "anchor", "occurrence": rng.randint(1, c["anchors"]),
                            "point": rng.choice(["before", "written", "after"])}
        if point == "key":
            return "creation", {**every, "phase": "key", "point": rng.choice(["before", "after"])}
        return rng.choice(["creation", "open"]), every  # "ack": the parent kills

    def run(self, index: int, point: str, rng: random.Random) -> Outcome:
        pre, spec = self.spec_for(point, rng)
        run = self.work / f"run-{index}"
        db, before = self._prepare(run, pre)
        keys = run / "keys" if point == "key" else None
        try:
            return kill_and_check(db, rng, spec, point, self._env(run, keys), before, keys or self.keys,
                                  run / "anchors")
        finally:
            shutil.rmtree(run, ignore_errors=True)


def kill_and_check(db: Path, rng: random.Random, spec: dict[str, Any], point: str, env: dict[str, str],
                   before: list[tuple[int, str]], keys: Path, anchors: Path) -> Outcome:
    proc = subprocess.Popen([sys.executable, str(HERE / "crash_worker.py"), str(db), json.dumps(spec)],
                            stdout=subprocess.PIPE, text=True, env=env)
    kill_after = rng.randint(0, len(EVENTS)) if point == "ack" else None
    acked: list[tuple[int, str]] = []
    acked_ops = 0
    call_id = None
    landed = "before open"
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("AT "):
            landed = line.split()[1]  # "op 7" -> "op"
        elif line.startswith("CALL "):
            call_id = line.split()[1]
        elif line.startswith("ACK "):
            _, seq, h = line.split()
            acked.append((int(seq), h))
            if landed.startswith("op"):
                acked_ops += 1
            if kill_after is not None and len(acked) > kill_after:
                if rng.random() < 0.5:  # let it get into the next write, sometimes
                    for _ in range(rng.randint(0, 3000)):
                        pass
                proc.send_signal(signal.SIGKILL)
                break
        elif line.startswith("DONE"):
            break
    if kill_after is None:
        for _ in proc.stdout:  # a self-kill: read to the end
            pass
    rc = proc.wait()
    killed = rc == -signal.SIGKILL
    if not killed and rc != 0:
        raise AssertionError(f"the worker failed with exit code {rc} ({spec})")
    if killed and kill_after is None:
        landed = point
    outcome = Outcome(point, killed, landed if killed else "not killed", acked_ops, spec=spec)
    check(db, keys, anchors, before + acked, call_id, acked_ops, outcome)
    return outcome


def check(db: Path, keys: Path, anchors: Path, must_have: list[tuple[int, str]], call_id: str | None,
          acked_ops: int, outcome: Outcome) -> None:
    witnesses = (AnchorFolder(anchors),)
    store = SQLiteJournal.open(db, keys=KeyStore(keys), witnesses=witnesses)  # normal use accepts it
    try:
        report = audit_journal(db, keys=KeyStore(keys), witnesses=witnesses)
        assert report.ok, "\n".join(report.lines())
        have = {e.seq: e.hash for e in store.iter_entries()}
        for seq, h in must_have:
            assert have.get(seq) == h, f"acknowledged entry {seq} lost or changed ({outcome.spec})"
        if call_id is not None:
            ops = sum("input" in e.data for e in store.call_entries(call_id))
            assert ops >= acked_ops, "fewer durable operations than acknowledged"
            outcome.ops = ops
        for call in store.unfinished_calls():
            entries = store.call_entries(call.call_id)
            ops = sum("input" in e.data for e in entries)
            resumed = CallSession.resume(library(), store, call.call_id)
            got, want = position(resumed), reference(ops)
            assert got == want, f"resume of {call.call_id} after {ops} ops: {got} != {want} ({outcome.spec})"
            outcome.resumed += 1
    finally:
        store.close()


def one_run(db: Path, rng: random.Random) -> dict:
    """The original quick check: a fresh journal, killed by the parent after a random number of
    acknowledgements (tests/engine/test_crash.py)."""
    keys = db.parent / "keys"
    KeyStore(keys).signing_key()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "CALLGUIDE_KEYS_DIR": str(keys),
           "CALLGUIDE_ANCHORS_DIR": str(db.parent / "anchors")}
    out = kill_and_check(db, rng, {}, "ack", env, [], keys, db.parent / "anchors")
    return {"acked": out.acked, "ops": out.ops, "killed": out.killed}
