"""The sync protocol: in order, idempotent, chain-checked on ingest (no gap, no fork), heads
stored, and a desktop whose file was replaced or forked is refused, never pushed."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from callguide.store.postgres.connect import TeamTarget, classify, connect
from callguide.store.postgres.journal import PostgresJournal, ingest
from callguide.store.sqlite import SQLiteJournal
from callguide.team.sync import SyncStatus, TeamSync

from .conftest import TeamServer
from .scripted import run_calls


def test_sync_pushes_everything_in_order_and_stores_the_head(team: TeamServer, tmp_path: Path) -> None:
    anna = team.person("anna", "agent")
    audrey = team.person("audrey", "auditor")
    j = SQLiteJournal.open(tmp_path / "a.db")
    n = run_calls(j, "anna", 12)
    seen: list[SyncStatus] = []
    sync = TeamSync(tmp_path / "a.db", anna, batch=50)
    sync.add_listener(seen.append)
    sync.start()
    assert sync.wait_synced(20)
    assert sync.batches == -(-n // 50)
    more = run_calls(j, "anna", 3, seed=9)
    sync.wake()
    assert sync.wait_synced(20, at_least=n + more)
    sync.stop()
    states = [s.state for s in seen]
    assert "sending" in states and states[-1] == "stopped" and "synced" in states
    assert any(s.state == "sending" and s.waiting > 0 for s in seen)
    local = list(j.iter_entries(0))
    with PostgresJournal(audrey) as pj:
        server = sorted(pj.iter_entries(0), key=lambda e: e.seq)
        assert [(e.seq, e.hash) for e in server] == [(e.seq, e.hash) for e in local]
        assert [e.data for e in server] == [e.data for e in local], "the auditor reads the full data back"
        assert pj.latest(sync.desktop_id or "")[:2] == (local[-1].seq, local[-1].hash)
        assert pj.verify().ok
    j.close()


def _batch(path: Path, after: int, count: int) -> list:
    j = SQLiteJournal.open(path)
    try:
        return [e for e, _ in zip(j.iter_entries(after), range(count), strict=False)]
    finally:
        j.close()


def _ingest(who: TeamTarget, desktop: str, batch: list) -> tuple[int, str, int]:
    conn = connect(who)
    try:
        with conn.transaction():
            return ingest(conn, desktop, batch)
    except psycopg.Error as e:
        raise classify(e, who) from None
    finally:
        conn.close()


def test_ingest_is_idempotent_and_refuses_gaps_and_forks(team: TeamServer, tmp_path: Path) -> None:
    from callguide.store.postgres.connect import TeamStoreError

    anna = team.person("anna", "agent")
    path = tmp_path / "a.db"
    j = SQLiteJournal.open(path)
    run_calls(j, "anna", 3)
    j.close()
    d = "desk-1"
    first = _batch(path, 0, 10)
    assert _ingest(anna, d, first) == (10, first[-1].hash, 10)
    assert _ingest(anna, d, first) == (10, first[-1].hash, 0), "a re-sent batch stores nothing"
    overlap = _batch(path, 5, 10)  # 6..15: 6..10 known, 11..15 new
    assert _ingest(anna, d, overlap) == (15, overlap[-1].hash, 5)
    with pytest.raises(TeamStoreError, match="gap, expected entry 16, got 17") as gap:
        _ingest(anna, d, _batch(path, 16, 5))
    assert gap.value.kind == "refused"
    forged = replace(_batch(path, 2, 1)[0], hash="f" * 64)
    with pytest.raises(TeamStoreError, match="forked: entry 3 differs"):
        _ingest(anna, d, [forged])
    nxt = _batch(path, 15, 2)
    with pytest.raises(TeamStoreError, match="forked: entry 16 does not continue"):
        _ingest(anna, d, [replace(nxt[0], prev_hash="0" * 64), nxt[1]])
    with pytest.raises(TeamStoreError, match="gap, expected entry 17, got 16"):
        _ingest(anna, d, [nxt[0], nxt[0]])  # the same entry twice in one batch
    assert _ingest(anna, d, nxt)[:1] == (17,)
    with team.admin() as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT seq), max(seq) FROM entries").fetchone() == (17, 17, 17)


def test_a_replaced_or_forked_local_journal_is_refused_not_pushed(team: TeamServer, tmp_path: Path) -> None:
    anna = team.person("anna", "agent")
    path = tmp_path / "a.db"
    j = SQLiteJournal.open(path)
    run_calls(j, "anna", 2)
    j.close()
    shutil.copy(path, tmp_path / "old.db")
    j = SQLiteJournal.open(path)
    run_calls(j, "anna", 2, seed=5)
    journal_id = j.journal_id
    j.close()
    sync = TeamSync(path, anna).start()
    assert sync.wait_synced(20)
    head = sync.status.server_seq
    sync.stop()
    # Roll the file back to the older copy: the server saw more than the file has.
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    shutil.copy(tmp_path / "old.db", path)
    # With the anchor in place, the desktop itself refuses the rolled-back file (docs/journal.md).
    sync = TeamSync(path, anna, refused_backoff=0.2).start()
    deadline = time.monotonic() + 10
    while sync.status.state != "refused" and time.monotonic() < deadline:
        time.sleep(0.05)
    status = sync.status
    sync.stop()
    assert status.state == "refused" and "audit verify" in (status.error or "")
    # The attacker removed the anchor too: the team store's head is the witness that refuses it.
    (Path(os.environ["CALLGUIDE_ANCHORS_DIR"]) / f"{journal_id}.jsonl").unlink()
    sync = TeamSync(path, anna, refused_backoff=0.2).start()
    deadline = time.monotonic() + 10
    while sync.status.state != "refused" and time.monotonic() < deadline:
        time.sleep(0.05)
    status = sync.status
    sync.stop()
    assert status.state == "refused"
    assert "truncated or replaced by an older copy" in (status.error or "")
    assert f"holds {head} entries" in (status.error or "")
    # And a fork: the old copy goes on with different entries past the server's head.
    j = SQLiteJournal.open(path)
    run_calls(j, "anna", 4, seed=77)
    j.close()
    sync = TeamSync(path, anna, refused_backoff=0.2).start()
    deadline = time.monotonic() + 10
    while sync.status.state != "refused" and time.monotonic() < deadline:
        time.sleep(0.05)
    status = sync.status
    sync.stop()
    assert status.state == "refused" and "differs from the team store" in (status.error or "")
    with team.admin() as conn:
        assert conn.execute("SELECT count(*) FROM entries").fetchone()[0] == head


def test_offline_status_counts_what_is_waiting(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    j = SQLiteJournal.open(path)
    n = run_calls(j, "anna", 2)
    dead = TeamTarget("postgresql://postgres@127.0.0.1:1/test", "nobody", "nobody")
    sync = TeamSync(path, dead, backoff=(0.05, 0.2)).start()
    deadline = time.monotonic() + 10
    while sync.status.state != "offline" and time.monotonic() < deadline:
        time.sleep(0.02)
    first = sync.status
    more = run_calls(j, "anna", 1, seed=3)
    deadline = time.monotonic() + 10
    while sync.status.waiting != n + more and time.monotonic() < deadline:
        time.sleep(0.05)
    later = sync.status
    sync.stop()
    j.close()
    assert first.state == "offline" and first.offline_since is not None and first.waiting == n
    assert "cannot be reached" in (first.error or "")
    assert later.state == "offline" and later.waiting == n + more
    assert later.offline_since == first.offline_since, "offline since the FIRST failure"


def test_an_idle_sync_notices_a_lost_server_by_its_heartbeat(team: TeamServer, tmp_path: Path) -> None:
    """Nothing to push: the window must not say "synced" for ever after the server went away."""
    import threading

    anna = team.person("anna", "agent")
    j = SQLiteJournal.open(tmp_path / "a.db")
    run_calls(j, "anna", 1)
    j.close()
    states: list[str] = []
    went_offline = threading.Event()

    def listen(status) -> None:
        states.append(status.state)
        if status.state == "offline":
            went_offline.set()

    sync = TeamSync(tmp_path / "a.db", anna, heartbeat=0.5, backoff=(0.2, 0.5))
    sync.add_listener(listen)
    sync.start()
    try:
        assert sync.wait_synced(20)
        assert team.terminate("callguide-sync") == 1  # the server drops the idle connection
        assert went_offline.wait(5), states
        assert sync.wait_synced(10), "and it comes back by itself"
        assert states[-1] == "synced"
    finally:
        sync.stop()


def test_an_entry_lifting_a_protection_written_without_the_key_is_never_sent(team: TeamServer,
                                                                             tmp_path: Path) -> None:
    """The team store counts what its desktops send (`derive.ANY`): a capacity review forged into one
    desktop's file, correctly chained but unsigned, was pushed by that desktop's sync and lifted the
    doubt on every other desktop. The sync sends everything before it, then stops there, refused in one
    line (docs/journal.md, "Relaxing entries are signed")."""
    from tests.store.test_relaxing_signed import _forge

    anna = team.person("anna", "agent")
    audrey = team.person("audrey", "auditor")
    path = tmp_path / "a.db"
    j = SQLiteJournal.open(path)
    run_calls(j, "anna", 2)
    j.close()
    seq = _forge(path)
    sync = TeamSync(path, anna, batch=50).start()
    try:
        deadline = time.monotonic() + 20
        while sync.status.state != "refused" and time.monotonic() < deadline:
            time.sleep(0.05)
        status = sync.status
    finally:
        sync.stop()
    assert status.state == "refused", status
    assert f"(capacity_review, entry {seq})" in (status.error or "") and "\n" not in (status.error or "")
    with PostgresJournal(audrey) as pj:
        assert max(e.seq for e in pj.iter_entries(0)) == seq - 1  # everything before it was sent
