"""Two processes appending to one journal keep one valid chain."""

from __future__ import annotations

import multiprocessing as mp
import random
import time

from callguide.store import NewEntry, SQLiteJournal

PER_PROCESS = 200


def _writer(path: str, name: str, start: mp.Event) -> None:
    journal = SQLiteJournal.open(path)
    start.wait(10)
    rng = random.Random(name)
    for i in range(PER_PROCESS):
        time.sleep(rng.random() * 0.002)  # agents write at human pace; a tight loop starves the other writer
        journal.append(NewEntry(type="note", call_id=f"call-{name}", account_id="A1", agent=name, flow_id=None,
                                flow_hash=None, step_id=None, data={"i": i}, ts=f"2026-03-01T10:00:{i % 60:02d}Z"))
    journal.close()


def test_two_processes_one_chain(db_path):
    SQLiteJournal.open(db_path).close()
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_writer, args=(str(db_path), name, start)) for name in ("p1", "p2")]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    journal = SQLiteJournal.open(db_path)
    result = journal.verify()
    assert result.ok, result
    assert result.checked == 2 * PER_PROCESS
    for name in ("p1", "p2"):
        assert [e.data["i"] for e in journal.call_entries(f"call-{name}")] == list(range(PER_PROCESS))
    agents = [e.agent for e in journal.iter_entries()]
    switches = sum(a != b for a, b in zip(agents, agents[1:], strict=False))
    assert switches > 10, "the writers did not interleave; the test did not exercise concurrency"
    journal.close()


def test_interleaved_writers_in_one_process(db_path, make_entry):
    """Two connections in one process: each must notice the other's writes (stale cached tail)."""
    a = SQLiteJournal.open(db_path)
    b = SQLiteJournal.open(db_path)
    for i in range(20):
        (a if i % 3 else b).append(make_entry("note", {"i": i}))
    assert a.verify().ok and a.verify().checked == 20
    a.close()
    b.close()


def _checkpointing_writer(path: str, keys: str, anchors: str, start: mp.Event, n: int) -> None:
    import os

    os.environ["CALLGUIDE_KEYS_DIR"] = keys
    os.environ["CALLGUIDE_ANCHORS_DIR"] = anchors
    journal = SQLiteJournal.open(path, checkpoint_every=1)  # a checkpoint and an anchor line per append
    start.wait(10)
    for i in range(n):
        journal.append(NewEntry(type="note", call_id="call-w", account_id="A1", agent="w", flow_id=None,
                                flow_hash=None, step_id=None, data={"i": i}, ts="2026-03-01T10:00:00Z"))
    journal.close()


def test_opening_and_auditing_while_another_process_checkpoints(db_path, tmp_path):
    """The anchor is read before the journal's snapshot: appends (and their anchor lines) made by
    another process meanwhile never look like a truncated journal."""
    import os

    from callguide.store.audit import audit_journal

    SQLiteJournal.open(db_path).close()
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    writer = ctx.Process(target=_checkpointing_writer, args=(str(db_path), os.environ["CALLGUIDE_KEYS_DIR"],
                                                             os.environ["CALLGUIDE_ANCHORS_DIR"], start, 300))
    writer.start()
    start.set()
    opened = audited = 0
    while writer.is_alive() or opened == 0:
        SQLiteJournal.open(db_path).close()
        opened += 1
        if opened % 5 == 0:
            report = audit_journal(db_path)
            assert report.ok, report.lines()
            audited += 1
    writer.join(60)
    assert writer.exitcode == 0
    assert opened > 5 and audit_journal(db_path).ok
