"""The desktop in team mode without a window (`callguide.team.desktop`): the engine's store is the
local journal, protections come through the team store, and a protection raised elsewhere is
enforced by the call's own gate: while the call runs (`follow` + `apply_protections`) and when a
killed call is resumed (the same `account_state` door)."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest

from callguide.engine.commands import SetOutcome
from callguide.engine.session import Account, CallSession
from callguide.library.live import load_for_team_calls
from callguide.store.base import NewEntry
from callguide.store.sqlite import SQLiteJournal
from callguide.team.desktop import TeamDesktop, apply_protections
from callguide.team.sync import TeamSync

from .conftest import TeamServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _any_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLGUIDE_CONTACT_RULES", str(ROOT / "tests" / "contact_rules_any_time.yaml"))


def hold_elsewhere(path: Path, who, account: str, kind: str = "hold_started") -> None:
    j = SQLiteJournal.open(path)
    now = dt.datetime.now(dt.UTC)
    data = ({"days": 30, "until": (now + dt.timedelta(days=30)).date().isoformat(), "reason": "care team"}
            if kind == "hold_started" else {"reason": "care team: crisis", "review_date": "2027-01-01"})
    j.append(NewEntry(kind, f"care-{kind}", account, "carla", "hold", "ab" * 32, "x", data,
                      now.isoformat(timespec="milliseconds")))
    j.close()
    s = TeamSync(path, who).start()
    assert s.wait_synced(20), s.status
    s.stop()


def test_running_and_resumed_calls_enforce_protections_raised_elsewhere(team: TeamServer, tmp_path: Path) -> None:
    team.adopt_flows()
    anna = team.person("anna", "agent")
    carla = team.person("carla", "care_team")
    desktop = TeamDesktop(tmp_path / "anna.db", anna).start()
    try:
        assert desktop.whoami() == "anna"
        lib, source, _ = load_for_team_calls(anna, tmp_path / "flows.json")
        assert source == "team"
        session = CallSession.start(lib, desktop.store, Account("ACC-D", "Jo", "UK", None, "100"), "anna")
        assert desktop.store.last_read.source == "team" and not session.state.hold_active
        assert desktop.wait_synced(20), "the call's entries reach the team store"
        assert desktop.notices.wait_connected(10)
        got = threading.Event()
        reads: list = []

        def on_read(read, _notice) -> None:  # (a late notice of this desktop's own push may come first)
            reads.append(read)
            if read.state.holds:
                got.set()

        desktop.follow(session, on_read)
        hold_elsewhere(tmp_path / "carla.db", carla, "ACC-D")
        assert got.wait(2.0), "the notice and the read within 2 s"
        # On the session's own thread (the window's, here the test's): into the call's state.
        assert apply_protections(session, reads[-1].state) == ["hold"]
        assert session.state.hold_active and session.history.holds
        refused = session.apply(SetOutcome("promise_to_pay"))
        assert not refused.ok and refused.rule == "hold-active"
        assert apply_protections(session, reads[-1].state) == [], "nothing new: nothing applied twice"
        call_id = session.call_id
        # The call is killed; a crisis is raised elsewhere meanwhile; the resumed call has both.
        hold_elsewhere(tmp_path / "carla2.db", team.person("cara", "care_team"), "ACC-D", "crisis")
        resumed = CallSession.resume(lib, desktop.store, call_id)
        assert resumed.state.hold_active and resumed.state.crisis
        refused = resumed.apply(SetOutcome("promise_to_pay"))
        assert not refused.ok and refused.rule in ("crisis", "hold-active")
    finally:
        desktop.close()


def test_a_call_rerouted_by_a_protection_from_elsewhere_resumes_where_it_was(team: TeamServer, tmp_path: Path) -> None:
    """The hold reached the call on a collection step, which the gate rerouted; the agent went on;
    the app was killed. The resumed call replays to the same step: the arrival is journalled
    (`protections_received`) and replayed like the command it acted as."""
    from callguide.engine.commands import Answer, Next

    team.adopt_flows()
    anna = team.person("anna", "agent")
    carla = team.person("carla", "care_team")
    desktop = TeamDesktop(tmp_path / "anna.db", anna).start()
    try:
        lib, _, _ = load_for_team_calls(anna, tmp_path / "flows.json")
        s = CallSession.start(lib, desktop.store, Account("ACC-R", "Jo", "UK", None, "100"), "anna")
        assert s.apply(Answer({"identity_check": "confirmed"})).ok and s.apply(Next()).ok
        assert s.apply(Next()).ok and s.apply(Next()).ok  # purpose, recording
        assert s.apply(Answer({"adjustments_on_file": False, "vulnerability_on_file": False})).ok
        assert s.apply(Next()).ok
        assert (s.top.flow.id, s.top.step_id) == ("call-opening", "balance")
        hold_elsewhere(tmp_path / "carla.db", carla, "ACC-R")
        read = desktop.protections.read("ACC-R", s.facts.today(), exclude_call=s.call_id)
        assert apply_protections(s, read.state) == ["hold"]
        assert s.top is not None and (s.top.flow.id, s.top.step_id) != ("call-opening", "balance")
        went_on = s.apply(Next())  # the agent goes on from where the gate put the call
        rerouted = (s.top.flow.id, s.top.step_id, len(s.stack)) if s.top else None
        assert went_on.ok
        received = [e for e in desktop.store.call_entries(s.call_id) if e.type == "protections_received"]
        assert [e.data["raised"] for e in received] == [["hold"]] and received[0].data["history"]["holds"]
        resumed = CallSession.resume(lib, desktop.store, s.call_id)
        assert ((resumed.top.flow.id, resumed.top.step_id, len(resumed.stack)) if resumed.top else None) == rerouted
        assert resumed.state.hold_active
    finally:
        desktop.close()


def test_escrowed_details_open_for_the_care_team_only_and_never_leave_the_screen(team: TeamServer,
                                                                                 tmp_path: Path) -> None:
    """`TeamDesktop.escrowed`: the care team (on a referred account) gets the register with the
    consented detail opened by the key the team store escrows for it; an agent and a supervisor get
    None (the window then shows what it showed before); the protection cache keeps the rows sealed."""
    from callguide.engine.clock import FixedClock
    from callguide.flow.loader import load_library

    from .test_key_escrow import MARK, texas_referred

    anna = team.person("anna", "agent")
    ben = team.person("ben", "agent")
    carla = team.person("carla", "care_team")
    sam = team.person("sam", "supervisor")
    lib, _ = load_library([ROOT / "flows"])
    store = SQLiteJournal.open(tmp_path / "anna.db")
    try:
        clock = FixedClock("2026-11-24T10:00:00+00:00", step_seconds=1)
        assert texas_referred(lib, store, clock, "ACC-T", "anna").end_call("referred").ok
    finally:
        store.close()
    sync = TeamSync(tmp_path / "anna.db", anna).start()
    assert sync.wait_synced(20), sync.status
    sync.stop()
    today = dt.date(2026, 11, 26)
    for who, name, opened in ((carla, "carla", True), (ben, "ben", False), (sam, "sam", False)):
        desktop = TeamDesktop(tmp_path / f"{name}.db", who).start()
        try:
            state = desktop.store.account_state("ACC-T", today)  # the call's register: as before, for everyone
            assert desktop.store.last_read.source == "team"
            assert all(v.get("category") != "health" for v in state.vulnerabilities), name
            shown = desktop.escrowed.readable_state("ACC-T", today, lang="da")
            if opened:
                assert shown is not None and [v.get("category") for v in shown.vulnerabilities] == ["health"]
                assert [v["fields"]["impact"] for v in shown.vulnerabilities] == [MARK]
            else:
                assert shown is None, name
            cache = (tmp_path / f"{name}.db.team-cache").read_bytes()
            assert MARK.encode() not in cache and b'"health"' not in cache
        finally:
            desktop.close()
