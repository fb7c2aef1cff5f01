"""Publications and flags in the team store (migration 0005, `store/postgres/publications.py`):

- `callguide server init` adopts the shipped release as the live flows; every desktop loads the
  live versions from the team store and keeps a copy, from which calls start offline;
- trainers submit, reviewers approve and decisions are hash-chained, through the same library
  code as on a desktop, each person writing as themselves; the refusals (a trainer approving, a
  person writing in another's name, an agent publishing, a fork of the log, any change) come from
  the server;
- agents' flags reach the team store with the sync and trainers triage them there
  (`callguide flags list/accept --db postgresql://…`).
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from callguide.cli import main
from callguide.library.live import LibraryRefused, load_for_team_calls
from callguide.library.publish import live_versions
from callguide.store.base import NewEntry
from callguide.store.postgres.connect import TeamStoreError, TeamTarget, connect
from callguide.store.postgres.publications import PostgresPublications
from callguide.store.publications import FlowVersion, LogRecord, text_hash
from callguide.store.sqlite import SQLiteJournal
from callguide.team.sync import TeamSync

from .conftest import TeamServer
from .scripted import Clock, call_steps

ROOT = Path(__file__).resolve().parents[2]
DEAD = "postgresql://postgres@127.0.0.1:1/test"


def test_init_adopts_the_release_and_desktops_load_and_cache_the_live_flows(team: TeamServer, tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["server", "init", "--url", team.admin_url, "--schema", team.target.schema,
                                    "--role-prefix", team.target.prefix])
    assert res.exit_code == 0, res.output
    assert "flows: release" in res.output and "adopted" in res.output
    again = CliRunner().invoke(main, ["server", "init", "--url", team.admin_url, "--schema", team.target.schema,
                                      "--role-prefix", team.target.prefix])
    assert again.exit_code == 0 and "release already adopted" in again.output
    anna = team.person("anna", "agent")
    with PostgresPublications(anna) as pubs:
        live = live_versions(pubs)
        assert {"call-opening", "blake", "bruce", "texas"} <= set(live)
        assert all(v.created_by == "system" and v.origin == "shipped" for v in live.values())
        assert pubs.verify().ok
    env = {"CALLGUIDE_DB_SCHEMA": anna.schema, "CALLGUIDE_DB_ROLE_PREFIX": anna.prefix}
    versions = CliRunner().invoke(main, ["versions", "texas", "--db", anna.url], env=env)
    assert versions.exit_code == 0, versions.output
    assert live["texas"].version_label in versions.output and "live" in versions.output
    cache = tmp_path / "flows.json"
    lib, source, _taken = load_for_team_calls(anna, cache)
    assert source == "team" and set(lib.flows) == set(live)
    # The team store out of reach: the copy, exactly the published texts.
    dead = TeamTarget(DEAD, anna.schema, anna.prefix)
    lib2, source2, _ = load_for_team_calls(dead, cache)
    assert source2 == "cache"
    assert {f: lib2.flows[f].content_hash for f in lib2.flows} == {f: lib.flows[f].content_hash for f in lib.flows}
    # A damaged copy is no copy: never a text other than the one published.
    cache.write_text(cache.read_text(encoding="utf-8").replace("Hello", "Hallo", 1), encoding="utf-8")
    with pytest.raises(LibraryRefused, match="no copy of the live flows"):
        load_for_team_calls(dead, cache)


def _submitted(flow: FlowVersion, label: str, by: str) -> tuple[FlowVersion, LogRecord]:
    text = flow.text.replace(f"version: {flow.version_label}", f"version: {label}", 1)
    v = dataclasses.replace(flow, id=0, version_label=label, content_hash=text_hash(text), text=text,
                            origin="workspace", created_by=by, note="shorter wording", evidence={})
    return v, LogRecord(flow.flow_id, None, label, "submitted", by, ["trainer"], "shorter wording")


def test_trainers_and_reviewers_publish_as_themselves(team: TeamServer) -> None:
    team.adopt_flows()
    tom = team.person("tom", "trainer")
    rita = team.person("rita", "reviewer")
    sam = team.person("sam", "supervisor")
    anna = team.person("anna", "agent")
    with PostgresPublications(tom) as pubs:
        texas = live_versions(pubs)["texas"]
        v, first = _submitted(texas, "9.9.0", "tom")
        nv, entry = pubs.add_version(v, first)
        assert entry.event == "submitted" and entry.by_person == "tom" and nv.id > 0
        # A trainer may not approve; nobody writes in another's name.
        with pytest.raises(TeamStoreError, match="reviewer role"):
            pubs.append(LogRecord("texas", nv.id, "9.9.0", "approved", "tom", ["trainer"]))
        with pytest.raises(TeamStoreError, match="in the name of rita"):
            pubs.append(LogRecord("texas", nv.id, "9.9.0", "approved", "rita", ["reviewer"]))
    with PostgresPublications(rita) as pubs:
        pubs.append(LogRecord("texas", nv.id, "9.9.0", "approved", "rita", ["reviewer"], "four eyes"),
                    LogRecord("texas", nv.id, "9.9.0", "live", "rita", ["reviewer"], effective_at="2026-01-01T00:00:00+00:00"))
        with pytest.raises(TeamStoreError, match="trainer role"):
            pubs.add_version(*_submitted(texas, "9.9.1", "rita"))
    with PostgresPublications(sam) as pubs:  # a supervisor may roll back
        pubs.append(LogRecord("texas", texas.id, texas.version_label, "rollback", "sam", ["supervisor"], "complaints"))
    with PostgresPublications(anna) as pubs:
        assert live_versions(pubs)["texas"].version_label == texas.version_label
        assert [e.event for e in pubs.log("texas")][-4:] == ["submitted", "approved", "live", "rollback"]
        assert pubs.verify().ok
        with pytest.raises(TeamStoreError, match="denied"):  # agents do not publish
            pubs.add_version(*_submitted(texas, "9.9.2", "anna"))
    # A decision that does not continue the log's head is refused (no fork), and nothing changes a row.
    conn = connect(tom)
    try:
        with pytest.raises(psycopg.Error, match="moved on"):
            conn.execute("INSERT INTO publication_log (ts, flow_id, version_label, event, by_person, roles, note,"
                         " data, prev_hash, hash) VALUES ('t', 'texas', '1', 'rollback', 'tom', '[]', '', '{}', %s, 'x')",
                         ("0" * 64,))
        conn.rollback()
        for sql in ("UPDATE publication_log SET note = 'x'", "DELETE FROM flow_versions", "TRUNCATE releases",
                    "UPDATE flag_decisions SET state = 'open'"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)
            conn.rollback()
    finally:
        conn.close()
    with team.admin() as admin:  # the owner and a superuser are refused by the triggers
        for sql in ("UPDATE publication_log SET note = 'x'", "DELETE FROM flow_versions"):
            with pytest.raises(psycopg.Error, match="append-only"):
                admin.execute(sql)


def test_flags_go_to_the_team_store_where_trainers_triage_them(team: TeamServer, tmp_path: Path) -> None:
    team.adopt_flows()
    anna = team.person("anna", "agent")
    tom = team.person("tom", "trainer")
    j = SQLiteJournal.open(tmp_path / "anna.db")
    clock = Clock()
    call_id = ""
    for op in call_steps("ACC-5", "anna", clock, random.Random(5)):
        call_id = j.append_many(op)[0].call_id
    j.append(NewEntry("flag", call_id, "ACC-5", "anna", "texas", "ab" * 32, "consent",
                      {"comment": "Too long to read aloud", "flow_id": "texas", "step_id": "consent",
                       "flow_version": "1.0.0"}, clock.tick()))
    j.close()
    sync = TeamSync(tmp_path / "anna.db", anna).start()
    assert sync.wait_synced(20)
    sync.stop()
    people = tmp_path / "people.yaml"
    people.write_text("people:\n  tom: {name: Tom, roles: [trainer]}\n", encoding="utf-8")
    env = {"CALLGUIDE_DB_SCHEMA": tom.schema, "CALLGUIDE_DB_ROLE_PREFIX": tom.prefix,
           "CALLGUIDE_PEOPLE": str(people)}
    listed = CliRunner().invoke(main, ["flags", "list", "--db", tom.url], env=env)
    assert listed.exit_code == 0, listed.output
    assert "anna" in listed.output and "Too long to read aloud" in listed.output and "[open]" in listed.output
    ref = listed.output.split()[0]
    assert ref.startswith("#")
    accepted = CliRunner().invoke(main, ["flags", "accept", ref, "--by", "tom", "--db", tom.url, "-m", "yes"], env=env)
    assert accepted.exit_code == 0, accepted.output
    assert "accepted" in accepted.output
    with PostgresPublications(tom) as pubs:
        assert [(d.state, d.by_person) for d in pubs.flag_decisions()] == [("accepted", "tom")]
    # The agent cannot triage, even by writing the row herself.
    conn = connect(anna)
    try:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO flag_decisions (flag_id, flow_id, step_id, state, reason, by_person, ts)"
                         " VALUES ('x', 'texas', 'consent', 'rejected', '', 'anna', 't')")
    finally:
        conn.close()


def test_the_publishing_commands_against_the_team_store(team: TeamServer, tmp_path: Path, monkeypatch) -> None:
    """`publish` (a trainer submits from a workspace, through every gate), `approve` (a reviewer,
    after seeing the diff), `versions --log --verify`, `rollback` (a supervisor): the same commands
    as on a desktop, each person connected as themselves."""
    from callguide.library.workspace import create_workspace

    team.adopt_flows(ROOT / "flows")
    anna = team.person("anna", "trainer")
    rita = team.person("rita", "reviewer")
    sven = team.person("sven", "supervisor")
    people = tmp_path / "people.yaml"
    people.write_text("people:\n  anna: {name: Anna, roles: [trainer]}\n  rita: {name: Rita, roles: [reviewer]}\n"
                      "  sven: {name: Sven, roles: [supervisor]}\n", encoding="utf-8")
    env = {"CALLGUIDE_DB_SCHEMA": anna.schema, "CALLGUIDE_DB_ROLE_PREFIX": anna.prefix,
           "CALLGUIDE_PEOPLE": str(people)}

    def run(who: TeamTarget, *args: str, answer: str | None = None):
        return CliRunner().invoke(main, [*args, "--db", who.url], env=env, input=answer)

    ws = create_workspace(tmp_path / "flows", ROOT / "flows", git=False)
    path = ws / "texas.yaml"
    text = path.read_text(encoding="utf-8")
    assert 'version: "1.0.0"' in text
    path.write_text(text.replace('version: "1.0.0"', 'version: "1.1.0"', 1), encoding="utf-8")
    res = run(anna, "publish", str(path), "-m", "team store test", "--by", "anna")
    assert res.exit_code == 0, res.output
    assert res.output.startswith("submitted texas 1.1.0 (") and "by anna" in res.output
    res = run(rita, "approve", "texas", "1.1.0", "--by", "rita", answer="y\n")
    assert res.exit_code == 0, res.output
    assert "approved texas 1.1.0 by rita: live now" in res.output
    res = run(anna, "versions", "texas", "--log", "--verify")
    assert res.exit_code == 0 and res.output.splitlines()[0] == "texas (live 1.1.0)", res.output
    assert res.output.splitlines()[-1].startswith("ok: publication log")
    res = run(sven, "rollback", "texas", "1.0.0", "-m", "back to the shipped text", "--by", "sven")
    assert res.exit_code == 0, res.output
    assert "rolled back texas to 1.0.0: live now" in res.output
    # Approving under someone else's name is refused by the server too (the people file says rita).
    path.write_text(text.replace('version: "1.0.0"', 'version: "1.2.0"', 1), encoding="utf-8")
    assert run(anna, "publish", str(path), "-m", "again", "--by", "anna").exit_code == 0
    res = run(anna, "approve", "texas", "1.2.0", "--by", "rita", answer="y\n")
    assert res.exit_code == 1 and "in the name of rita" in res.output and "Traceback" not in res.output


def test_a_locked_table_is_a_one_line_error_in_time_not_a_hang(team: TeamServer) -> None:
    """A read of the publications while a migration (or a stuck session) holds the table: refused
    within the reader's timeout, in one line, never a thread that waits for ever (the call notices
    read publications off the window's thread and would leave one behind each call)."""
    import time

    from psycopg.sql import SQL, Identifier

    anna = team.person("anna", "agent")
    with psycopg.connect(team.admin_url) as locker:
        locker.execute(SQL("LOCK TABLE {}.flow_versions IN ACCESS EXCLUSIVE MODE").format(
            Identifier(team.target.schema)))
        with PostgresPublications(anna, timeout=1.0) as pubs:
            t0 = time.monotonic()
            with pytest.raises(TeamStoreError) as err:
                pubs.versions()
            took = time.monotonic() - t0
        locker.rollback()
    assert took < 3.0, took
    assert "did not answer in time" in str(err.value) and "\n" not in str(err.value)
    assert err.value.kind == "offline"
    with PostgresPublications(anna, timeout=1.0) as pubs:  # once the lock is gone, as before
        assert pubs.versions() is not None
