"""Checkpoints go to the anchor folder from a background thread, in order, after their commit:
the caller of an append never waits for the anchor's fsync, and nothing committed is left
unwitnessed by `close()`, by `wait_for_witnesses()`, or by a process that exits without closing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from callguide.store import SQLiteJournal
from callguide.store.audit import audit_journal
from callguide.store.checkpoints import AnchorFolder

ROOT = Path(__file__).resolve().parents[2]


def _anchored_seqs(journal_id: str) -> list[int]:
    lines = AnchorFolder().file_for(journal_id).read_text().splitlines()
    return [json.loads(line)["seq"] for line in lines if line.strip()]


def test_close_waits_for_every_checkpoint_in_order(db_path, make_entry):
    j = SQLiteJournal.open(db_path, checkpoint_every=1)  # a checkpoint (and an anchor line) per append
    assert j.witness_in_background
    for i in range(30):
        j.append(make_entry("note", {"i": i}))
    journal_id = j.journal_id
    j.close()
    assert _anchored_seqs(journal_id) == list(range(1, 31))  # each one, in commit order
    assert AnchorFolder().latest(journal_id).seq == 30
    assert audit_journal(db_path).ok


def test_wait_for_witnesses_without_closing(db_path, make_entry):
    with SQLiteJournal.open(db_path, checkpoint_every=5) as j:
        for i in range(12):
            j.append(make_entry("note", {"i": i}))
        j.append_many([make_entry("note", {"i": 12}), make_entry("call_ended", {"outcome": None})])
        j.wait_for_witnesses()
        assert _anchored_seqs(j.journal_id) == [5, 10, 14]  # every 5 entries, and the call's end
        assert j.witness_problem is None
        # the explicit checkpoint is witnessed before it returns
        j.append(make_entry("note", {"i": 14}))
        cp = j.checkpoint()
        assert cp is not None and AnchorFolder().latest(j.journal_id).seq == cp.seq == 15


def test_in_the_callers_thread_when_asked(db_path, make_entry):
    with SQLiteJournal.open(db_path, checkpoint_every=2) as j:
        j.witness_in_background = False
        j.append(make_entry("note"))
        j.append(make_entry("note"))
        assert AnchorFolder().latest(j.journal_id).seq == 2  # written before append returned


def test_a_process_that_exits_without_closing_still_anchors(db_path, tmp_path):
    script = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from callguide.store import NewEntry, SQLiteJournal
j = SQLiteJournal.open({str(db_path)!r}, checkpoint_every=3)
for i in range(9):
    j.append(NewEntry(type="note", call_id="C", account_id="A", agent="a", flow_id=None, flow_hash=None,
                      step_id=None, data={{"i": i}}, ts="2026-03-01T10:00:00Z"))
print(j.journal_id)
"""  # no close(): the interpreter's exit hands over what is queued
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         env={**os.environ})
    journal_id = out.stdout.strip()
    assert _anchored_seqs(journal_id) == [3, 6, 9]
    assert audit_journal(db_path).ok
