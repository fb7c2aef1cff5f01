"""The call notices' facts in team mode (`callguide.library.live.call_notices`), against the real
PostgreSQL server: the publications and the flags come from the team store; the agent's previous
call comes from this desktop's own journal, because the current call's `call_started` is written
there first and the team store usually does not hold it yet when the window opens."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from callguide.library.flags import list_flags
from callguide.library.live import Publications, call_notices, publications_of
from callguide.library.publish import live_versions
from callguide.store.base import NewEntry
from callguide.store.postgres.publications import PostgresPublications
from callguide.store.publications import FlagDecision, FlowVersion, LogRecord, SQLitePublications, text_hash
from callguide.store.sqlite import SQLiteJournal
from callguide.team.desktop import TeamDesktop
from callguide.team.sync import TeamSync

from .conftest import TeamServer
from .scripted import Clock, call_steps


def _call(journal: Path, agent: str, clock: Clock, seed: int, flag: str = "") -> str:
    j = SQLiteJournal.open(journal)
    try:
        call_id = ""
        for op in call_steps("ACC-5", agent, clock, random.Random(seed)):
            call_id = j.append_many(op)[0].call_id
        if flag:
            j.append(NewEntry("flag", call_id, "ACC-5", agent, "texas", "ab" * 32, "consent",
                              {"comment": flag, "flow_id": "texas", "step_id": "consent", "flow_version": "1.0.0"},
                              clock.tick()))
    finally:
        j.close()
    return call_id


def test_previous_call_from_the_local_journal_when_the_team_store_lacks_the_current_call(
        team: TeamServer, tmp_path: Path) -> None:
    team.adopt_flows()
    anna = team.person("anna", "agent")
    journal = tmp_path / "anna.db"
    _call(journal, "anna", Clock("2026-11-22T09:00:00+00:00"), 1, flag="Too long to read aloud")
    _synced(journal, anna)
    # A fix: texas 9.9.0 submitted, approved, live; the flag marked fixed in it.
    _publish_fix(team)
    _mark_fixed(team, "Too long to read aloud", dt.datetime.fromisoformat("2026-11-23T10:00:00+00:00"))

    # The next call starts on this desktop, not synced: the team store does not know it.
    later = Clock((dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)).isoformat())
    second = _call(journal, "anna", later, 2)
    with PostgresPublications(anna) as pubs:
        assert pubs.call_start("anna", second) is None
    pubs_where = Publications(anna, True, journal)
    facts = call_notices(pubs_where, "anna", second, set(), set())
    assert facts.problem == ""
    assert [(n.flow_id, n.step_id, n.version_label, n.comment) for n in facts.fixed] == [
        ("texas", "consent", "9.9.0", "Too long to read aloud")]
    assert {w.flow_id for w in facts.withheld} == {"harmed"} and facts.hotkeys == {"F4": "harmed"}
    # Another agent's call sees none of it.
    assert call_notices(pubs_where, "bob", second, set(), set()).fixed == []
    # The call after (still not synced): the previous call is the second one, so no notice again.
    third = _call(journal, "anna", later, 3)
    assert call_notices(pubs_where, "anna", third, set(), set()).fixed == []


def test_the_team_desktops_store_names_the_team_store(team: TeamServer, tmp_path: Path) -> None:
    anna = team.person("anna", "agent")
    desktop = TeamDesktop(tmp_path / "anna.db", anna)
    try:
        pubs = publications_of(desktop.store)
        assert pubs == Publications(anna, True, tmp_path / "anna.db")
    finally:
        desktop.close()
    j = SQLiteJournal.open(tmp_path / "alone.db")
    try:
        assert publications_of(j) == Publications(tmp_path / "alone.db", False, tmp_path / "alone.db")
    finally:
        j.close()


def _publish_fix(team: TeamServer) -> None:
    """texas 9.9.0 submitted (tom), approved and live (rita), live from now."""
    tom = team.person("tom", "trainer")
    rita = team.person("rita", "reviewer")
    with PostgresPublications(tom) as pubs:
        old = live_versions(pubs)["texas"]
        text = old.text.replace(f'version: "{old.version_label}"', 'version: "9.9.0"', 1)
        assert text != old.text
        nv, _ = pubs.add_version(
            FlowVersion(0, "texas", "9.9.0", text_hash(text), old.file_name, text, None, "workspace", "tom",
                        old.created_at, "shorter", {}),
            LogRecord("texas", None, "9.9.0", "submitted", "tom", ["trainer"], "shorter"))
    with PostgresPublications(rita) as pubs:
        pubs.append(LogRecord("texas", nv.id, "9.9.0", "approved", "rita", ["reviewer"]),
                    LogRecord("texas", nv.id, "9.9.0", "live", "rita", ["reviewer"]))


def _mark_fixed(team: TeamServer, comment: str, at: dt.datetime) -> None:
    tom = team.person("tom", "trainer")
    flag = next(f for f in list_flags(tom) if f.entry.comment == comment)
    with PostgresPublications(tom) as pubs:
        pubs.add_flag_decision(FlagDecision(0, flag.entry.id, "texas", "consent", "fixed", "", "9.9.0", "tom",
                                            at.isoformat(timespec="seconds")))


def _synced(journal: Path, target: object) -> None:
    sync = TeamSync(journal, target).start()  # type: ignore[arg-type]
    try:
        assert sync.wait_synced(20)
    finally:
        sync.stop()


def test_the_next_call_on_another_desktop_does_not_show_the_notice_again(team: TeamServer, tmp_path: Path) -> None:
    """Two desktops of one agent share the team store. The notice of a fixed flag shows on the
    agent's first call after the fix (desktop A); their next call, on desktop B, whose own journal
    holds none of A's calls and whose `call_started` is not synced yet, does not show it again,
    but does show a flag fixed between the two calls. Before the team store's
    `latest_call_start`, B had no previous call at all and showed both."""
    team.adopt_flows()
    anna = team.person("anna", "agent")
    a, b = tmp_path / "anna-a.db", tmp_path / "anna-b.db"
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    # Call 0 on desktop A, three days ago: two flags on texas/consent; synced.
    _call(a, "anna", Clock((now - dt.timedelta(days=3)).isoformat()), 10, flag="Too long to read aloud")
    _call(a, "anna", Clock((now - dt.timedelta(days=3, minutes=-5)).isoformat()), 11, flag="Says balance twice")
    _synced(a, anna)
    _publish_fix(team)  # live from now
    _mark_fixed(team, "Too long to read aloud", now - dt.timedelta(days=2))

    # Call 1 on desktop A, in an hour: the fix shows (its previous call is call 0, in A's journal).
    first = _call(a, "anna", Clock((now + dt.timedelta(hours=1)).isoformat()), 12)
    on_a = call_notices(Publications(anna, True, a), "anna", first, set(), set())
    assert on_a.problem == ""
    assert [n.comment for n in on_a.fixed] == ["Too long to read aloud"]
    _synced(a, anna)  # call 1 reaches the team store

    # Between the calls the second flag is fixed.
    _mark_fixed(team, "Says balance twice", now + dt.timedelta(hours=2))

    # Call 2 on desktop B, in three hours, not synced: B's journal has no earlier call of anna's.
    second = _call(b, "anna", Clock((now + dt.timedelta(hours=3)).isoformat()), 13)
    with PostgresPublications(anna) as pubs:
        assert pubs.call_start("anna", second) is None
        assert pubs.latest_call_start("anna", second) == Clock((now + dt.timedelta(hours=1)).isoformat()).tick()
    on_b = call_notices(Publications(anna, True, b), "anna", second, set(), set())
    assert on_b.problem == ""
    assert [n.comment for n in on_b.fixed] == ["Says balance twice"]
    # The same once call 2 is synced (the team store then holds the current call: it is skipped).
    _synced(b, anna)
    assert [n.comment for n in call_notices(Publications(anna, True, b), "anna", second, set(), set()).fixed] == [
        "Says balance twice"]

    # Call 3 back on desktop A (not synced): its previous call is call 2 on B; nothing again.
    third = _call(a, "anna", Clock((now + dt.timedelta(hours=4)).isoformat()), 14)
    assert call_notices(Publications(anna, True, a), "anna", third, set(), set()).fixed == []
    # Another agent never sees anna's calls or flags.
    bob = team.person("bob", "agent")
    with PostgresPublications(bob) as pubs:
        assert pubs.latest_call_start("anna", third) is None
    assert call_notices(Publications(bob, True, tmp_path / "bob.db"), "bob", third, set(), set()).fixed == []


def test_latest_call_start_answers_the_same_from_the_journal_and_the_team_store(team: TeamServer,
                                                                                 tmp_path: Path) -> None:
    """`latest_call_start` has one meaning in both stores: the agent's last call start other than
    the given call, whether or not the store holds that call; None when there is none."""
    anna = team.person("anna", "agent")
    journal = tmp_path / "anna.db"
    empty = SQLitePublications.open(tmp_path / "empty.db")
    try:
        assert empty.latest_call_start("anna", "x") is None
    finally:
        empty.close()
    c1 = _call(journal, "anna", Clock("2026-11-22T09:00:00+00:00"), 21)
    c2 = _call(journal, "anna", Clock("2026-11-22T10:00:00+00:00"), 22)
    _synced(journal, anna)
    local = SQLitePublications.open(journal)
    try:
        with PostgresPublications(anna) as there:
            for call_id, expected in ((c2, "2026-11-22T09:00:00.700+00:00"), (c1, "2026-11-22T10:00:00.700+00:00"),
                                      ("not-synced-yet", "2026-11-22T10:00:00.700+00:00")):
                assert local.latest_call_start("anna", call_id) == expected
                assert there.latest_call_start("anna", call_id) == expected
            assert local.latest_call_start("bob", c1) is None
            assert there.latest_call_start("bob", c1) is None
    finally:
        local.close()
    # Row-level security: a trainer reads no calls, so the team store knows no call of anna's for them.
    with PostgresPublications(team.person("tom", "trainer")) as pubs:
        assert pubs.latest_call_start("anna", "not-synced-yet") is None


def test_the_agents_calls_held_by_a_lock_is_a_one_line_problem_in_time(team: TeamServer, tmp_path: Path) -> None:
    """The team store's journal table held (a migration, a stuck session) while the window asks for
    the agent's latest call start: the notices' read gives up within its timeout with one line
    (the window logs it once and the call runs), never a reader left waiting."""
    import time

    import psycopg
    from psycopg.sql import SQL, Identifier

    team.adopt_flows()
    anna = team.person("anna", "agent")
    journal = tmp_path / "anna.db"
    call = _call(journal, "anna", Clock("2026-11-22T09:00:00+00:00"), 31)
    with psycopg.connect(team.admin_url) as locker:
        locker.execute(SQL("LOCK TABLE {}.entries IN ACCESS EXCLUSIVE MODE").format(Identifier(team.target.schema)))
        t0 = time.monotonic()
        facts = call_notices(Publications(anna, True, journal), "anna", call, set(), set(), timeout=1.0)
        took = time.monotonic() - t0
        locker.rollback()
    assert took < 4.0, took
    assert "did not answer in time" in facts.problem and "\n" not in facts.problem
    assert facts.fixed == [] and facts.withheld == []
