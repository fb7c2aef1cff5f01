"""The real engine on two desktops and one team store: a capacity doubt raised by agent A's call
(BRUCE-like flow) reaches agent B's call start on the same account through the team store, the
care team sees the referral, and the flow texts A's call ran are on the server for replay."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from callguide.engine.clock import FixedClock
from callguide.engine.session import Account, CallSession
from callguide.flow.loader import load_library
from callguide.store.postgres.cache import ProtectionCache
from callguide.store.postgres.journal import PostgresJournal
from callguide.store.sqlite import SQLiteJournal
from callguide.team.protections import TeamProtections
from callguide.team.sync import TeamSync

from .conftest import TeamServer

FLOWS = Path(__file__).resolve().parent.parent / "engine" / "flows"


def test_a_doubt_on_one_desktop_reaches_the_next_call_on_another(team: TeamServer, tmp_path: Path) -> None:
    anna = team.person("anna", "agent")
    ben = team.person("ben", "agent")
    carla = team.person("carla", "care_team")
    lib, diags = load_library([FLOWS], signposts=False)
    assert not [d for d in diags if d.severity == "error"]
    clock = FixedClock("2026-11-22T10:00:00+00:00", step_seconds=1)
    account = Account("ACC-E", "Jo Bloggs", "UK")

    store_a = SQLiteJournal.open(tmp_path / "anna.db")
    sync_a = TeamSync(tmp_path / "anna.db", anna).start()
    call_a = CallSession.start(lib, store_a, account, "anna", start_flow="doubt", clock=clock, auto_wrap_up=False)
    assert call_a.next("remains").ok
    assert call_a.next().ok  # the outcome step: its actions run
    assert sync_a.wait_synced(20)
    sync_a.stop()

    store_b = SQLiteJournal.open(tmp_path / "ben.db")
    with PostgresJournal(ben) as team_b:
        read = TeamProtections(store_b, team_b, ProtectionCache(tmp_path / "ben-cache.db")).read(
            "ACC-E", dt.date(2026, 11, 22))
        assert read.source == "team"
        # the doubt reaches Ben's call; its free-text reason is sealed with Anna's desktop's key (issue 10)
        assert [f["reason"] for f in read.state.capacity_flags] == ["not readable here (no key)"]
        call_b = CallSession.start(lib, store_b, account, "ben", start_flow="main", clock=clock,
                                   auto_wrap_up=False, history=read.state)
        assert call_b.history.capacity_flags == read.state.capacity_flags
    with PostgresJournal(carla) as team_c:
        referral = [e for e in team_c.call_entries(call_a.call_id) if e.type == "escalation"]
        assert [e.data["kind"] for e in referral] == ["care_team"]
        flows = next(e for e in team_c.call_entries(call_a.call_id) if e.type == "call_started").data["flows"]
        assert team_c.flow_snapshot(flows["doubt"]) == store_a.flow_snapshot(flows["doubt"])
    store_a.close()
    store_b.close()


def test_a_plain_next_as_one_entry_goes_to_the_team_store_as_it_is(team: TeamServer, tmp_path: Path) -> None:
    """The one-entry Next (a `step_shown` carrying the command and the step it committed) is accepted
    by the team store's ingest, chained, and read back word for word, next to the `step_committed`
    a Next with actions still writes (docs/journal.md, "What a step writes")."""
    from callguide.store.base import compute_hash

    dana = team.person("dana", "agent")
    lib, diags = load_library([FLOWS], signposts=False)
    assert not [d for d in diags if d.severity == "error"]
    clock = FixedClock("2026-11-22T10:00:00+00:00", step_seconds=1)
    store = SQLiteJournal.open(tmp_path / "dana.db")
    sync = TeamSync(tmp_path / "dana.db", dana).start()
    call = CallSession.start(lib, store, Account("ACC-N", "Jo Bloggs", "UK"), "dana", start_flow="main",
                             clock=clock, auto_wrap_up=False)
    assert call.next().ok
    assert call.answer({"income": "100", "spend": "400"}).ok
    assert call.next().ok and call.next().ok  # to the hold (an action step), then its outcome step
    assert sync.wait_synced(20)
    sync.stop()
    local = store.call_entries(call.call_id)
    with PostgresJournal(dana) as mine:
        remote = mine.call_entries(call.call_id)
    assert [(e.seq, e.type, e.step_id, e.hash) for e in remote] == [(e.seq, e.type, e.step_id, e.hash) for e in local]
    merged = [e for e in remote if e.type == "step_shown" and "input" in e.data]
    assert [(e.step_id, e.data["committed"], e.data["input"]) for e in merged] == [
        ("income", "hello", {"cmd": "next", "choice": None}), ("route", "income", {"cmd": "next", "choice": None})]
    assert [e.step_id for e in remote if e.type == "step_committed"] == ["hold-it"]
    for e in merged:  # the server keeps what the desktop hashed
        fields = {k: getattr(e, k) for k in ("ts", "type", "call_id", "account_id", "agent", "flow_id", "flow_hash",
                                             "step_id", "data")}
        assert compute_hash(e.prev_hash, fields) == e.hash
    store.close()
