"""The team store as `audit verify`'s witness (issue 13 §1): the head the server stored for a
desktop's journal must still be in the file. A journal put back to an older copy after it synced
is found out, though the copy is itself a perfectly valid chain."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from callguide.cli import main
from callguide.store.postgres.connect import TeamTarget
from callguide.store.sqlite import SQLiteJournal
from callguide.team.sync import TeamSync

from .conftest import TeamServer
from .scripted import Clock, run_calls


def verify(who: TeamTarget, path: Path, anchors: Path):
    env = {"CALLGUIDE_DB_SCHEMA": who.schema, "CALLGUIDE_DB_ROLE_PREFIX": who.prefix,
           "CALLGUIDE_ANCHORS_DIR": str(anchors)}
    return CliRunner().invoke(main, ["audit", "verify", "--db", str(path), "--team", who.url], env=env)


def test_a_journal_rolled_back_after_it_synced_is_found_out(team: TeamServer, tmp_path: Path, monkeypatch) -> None:
    anchors = tmp_path / "anchors"
    monkeypatch.setenv("CALLGUIDE_ANCHORS_DIR", str(anchors))
    anna = team.person("anna", "agent")
    path = tmp_path / "anna.db"
    clock = Clock()
    j = SQLiteJournal.open(path)
    run_calls(j, "anna", 1, clock=clock)
    j.close()
    shutil.copy(path, tmp_path / "older.db")  # a valid copy, from before the later calls
    j = SQLiteJournal.open(path)
    n = run_calls(j, "anna", 2, seed=2, clock=clock)
    j.close()
    sync = TeamSync(path, anna).start()
    assert sync.wait_synced(20)
    head = sync.status.server_seq
    sync.stop()
    assert head > n

    ok = verify(anna, path, anchors)
    assert f"ok: the team store holds entries 1-{head} of this journal" in ok.output, ok.output
    assert ok.exit_code == 0, ok.output

    shutil.copy(tmp_path / "older.db", path)  # the file is put back to the older copy
    for extra in ("-wal", "-shm"):
        Path(str(path) + extra).unlink(missing_ok=True)
    # ... and the desktop's own anchors are gone too: only the team store can tell.
    bad = verify(anna, path, tmp_path / "no-anchors")
    assert bad.exit_code == 1, bad.output
    assert "(1 problem above)" in bad.output, "the valid older copy passes every local check"
    assert f"BROKEN: the team store holds entries 1-{head} of this journal" in bad.output
    assert "cut short or replaced by an older copy" in bad.output and "Traceback" not in bad.output

    dead = TeamTarget("postgresql://anna@127.0.0.1:1/test", anna.schema, anna.prefix)
    unreachable = verify(dead, tmp_path / "older.db", anchors)
    assert "not checked: the team store: The team store" in unreachable.output and "cannot be reached" in \
        unreachable.output
