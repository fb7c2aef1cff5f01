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
from callguide.store.publications import FlagDecision, FlowVersion, LogRecord, text_hash
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
    tom = team.person("tom", "trainer")
    rita = team.person("rita", "reviewer")
    journal = tmp_path / "anna.db"
    _call(journal, "anna", Clock("2026-11-22T09:00:00+00:00"), 1, flag="Too long to read aloud")
    sync = TeamSync(journal, anna).start()
    assert sync.wait_synced(20)
    sync.stop()
    # A fix: texas 9.9.0 submitted, approved, live; the flag marked fixed in it.
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
    flag = next(f for f in list_flags(tom))
    with PostgresPublications(tom) as pubs:
        pubs.add_flag_decision(FlagDecision(0, flag.entry.id, "texas", "consent", "fixed", "", "9.9.0", "tom",
                                            "2026-11-23T10:00:00+00:00"))

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
