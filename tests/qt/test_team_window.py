"""The agent's window in team mode, against the real PostgreSQL server (tests/team/conftest.py):
the real launcher with a team store, the real sync and LISTEN threads, the real engine and flows.

- the call bar says how the team store is ("team store: synced", "offline since …, N entries
  waiting") in the UI language, with local times;
- a hold raised on another desktop for the same account reaches the running call within 2 s, the
  banner shows it and the gate refuses what it forbids (the step on screen, a payment outcome);
- with the team store out of reach, the call starts from the local cache and the banner says
  "offline: protections as of HH:MM"; the click never waits for the network.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

psycopg = pytest.importorskip("psycopg")

from PySide6.QtCore import Qt  # noqa: E402

from callguide.store.base import NewEntry  # noqa: E402
from callguide.store.postgres.connect import TeamTarget  # noqa: E402
from callguide.store.sqlite import SQLiteJournal  # noqa: E402
from callguide.team.sync import TeamSync  # noqa: E402
from tests.qt.conftest import FLOWS  # noqa: E402
from tests.qt.driver import CallDriver  # noqa: E402
from tests.team.conftest import PG_URL, TeamServer, _reachable, in_ci, new_team_server  # noqa: E402

pytestmark = pytest.mark.qt
ACCOUNT = {"account_id": "ACC-77", "name": "Jo Bloggs", "country": "UK", "lang": None, "balance": "1234.50"}


@pytest.fixture
def team() -> Iterator[TeamServer]:
    problem = _reachable(PG_URL)
    if problem:
        if in_ci():
            pytest.fail(f"CI=true needs PostgreSQL for the team window tests: {problem}")
        pytest.skip(f"no PostgreSQL at {PG_URL}: {problem}")
    server = new_team_server(PG_URL)
    server.adopt_flows(FLOWS)
    try:
        yield server
    finally:
        server.drop()


def open_team_window(qtbot, tmp_path: Path, who: TeamTarget, journal: str = "agent.db") -> CallDriver:
    from callguide.qt.app import open_call

    w, code = open_call(tmp_path / journal, FLOWS, None, dict(ACCOUNT), team=who)
    assert code == 0 and w is not None
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return CallDriver(qtbot, w)


def close(d: CallDriver) -> None:
    d.w.close()
    d.w.launcher.close_store()


def raise_hold_elsewhere(path: Path, who: TeamTarget, account: str) -> float:
    """Another desktop (the care team's) records a hold on the account and syncs it; returns the
    monotonic time the team store had it."""
    j = SQLiteJournal.open(path)
    now = dt.datetime.now(dt.UTC)
    j.append(NewEntry("hold_started", "care-call-1", account, "carla", "hold", "ab" * 32, "hold",
                      {"days": 30, "until": (now + dt.timedelta(days=30)).date().isoformat(),
                       "reason": "care team: breathing space"}, now.isoformat(timespec="milliseconds")))
    j.close()
    sync = TeamSync(path, who).start()
    try:
        assert sync.wait_synced(20), sync.status
        return time.monotonic()
    finally:
        sync.stop()


def test_status_line_and_a_hold_raised_elsewhere_within_2_seconds(qtbot, team: TeamServer, tmp_path: Path) -> None:
    anna = team.person("anna", "agent")
    carla = team.person("carla", "care_team")
    d = open_team_window(qtbot, tmp_path, anna)
    try:
        bar = d.w.call_bar
        qtbot.waitUntil(lambda: bar.team_status.text() == "team store: synced", timeout=10000)
        assert bar.team_status.isVisible()
        assert d.w.banner.source == "team" and d.w.banner.source_text() is None
        # The agent works by keyboard up to the balance (a collection step).
        d.press(Qt.Key.Key_Return)  # Begin the call
        d.press(Qt.Key.Key_Space)   # identity confirmed
        d.press(Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        d.press(Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # purpose
        d.press(Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # recording
        d.fill_all({"adjustments_on_file": False, "vulnerability_on_file": False})  # readback
        d.press(Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        assert d.where == ("call-opening", "balance")
        assert not d.session.state.hold_active
        qtbot.waitUntil(lambda: d.w.launcher.desktop.notices.connected.is_set(), timeout=5000)

        # The care team puts the account on hold on their own desktop.
        had_it = raise_hold_elsewhere(tmp_path / "carla.db", carla, "ACC-77")
        qtbot.waitUntil(lambda: d.session.state.hold_active, timeout=2000)
        took = time.monotonic() - had_it
        assert took < 2.0
        # The window shows it: the state strip, both banners, a line saying where it came from.
        qtbot.waitUntil(lambda: d.w.state_chip.isVisible(), timeout=1000)
        assert d.w.state_chip.text().startswith("On hold until")
        assert any(k == "hold" for k, _ in d.w.side.history.lines())
        assert any(k == "hold" for k, _ in d.w.banner.lines())
        assert "Raised elsewhere on this account just now: ON HOLD" in d.w.info_strip.text()
        # The gate refused the collection step on screen (the same rule as a hold recorded here).
        assert d.where != ("call-opening", "balance")
        blocked = [e for e in d.entries("blocked") if e.data.get("rule") == "hold-active"]
        assert blocked, [(e.type, e.data) for e in d.entries()][-5:]
        # ... and refuses a payment outcome from now on.
        from callguide.engine.commands import SetOutcome

        res = d.session.apply(SetOutcome("promise_to_pay"))
        assert not res.ok and res.rule == "hold-active"
        # The agent's own entries keep flowing to the team store.
        qtbot.waitUntil(lambda: bar.team_status.text() == "team store: synced", timeout=10000)
    finally:
        close(d)


def test_offline_start_uses_the_cache_and_says_so(qtbot, team: TeamServer, tmp_path: Path, monkeypatch) -> None:
    from callguide.qt import i18n

    anna = team.person("anna", "agent")
    carla = team.person("carla", "care_team")
    raise_hold_elsewhere(tmp_path / "carla.db", carla, "ACC-77")
    # A first call online fills the cache (14:02 in the banner is the local time of that read).
    d = open_team_window(qtbot, tmp_path, anna)
    assert d.session.state.hold_active, "the hold raised elsewhere reaches the call start"
    assert d.w.banner.source == "team"
    close(d)

    # The team store goes away (a port nothing listens on): the next call starts from the cache.
    # (A second journal with the first one's cache: the first call is still open in agent.db, and
    # its resume offer is tested elsewhere.)
    import shutil

    for copy in (".team-cache", ".team-flows.json"):  # the protections read and the live flows
        shutil.copy(tmp_path / f"agent.db{copy}", tmp_path / f"agent2.db{copy}")
    dead = TeamTarget("postgresql://anna@127.0.0.1:1/test", anna.schema, anna.prefix)
    t0 = time.monotonic()
    d = open_team_window(qtbot, tmp_path, dead, "agent2.db")
    started = time.monotonic() - t0
    try:
        assert d.session.state.hold_active, "the cached protections are in force"
        assert d.w.banner.source == "cache"
        line = d.w.banner.source_text() or ""
        assert line.startswith("offline: protections as of ")
        assert d.w.banner.offline_label.text() == line
        assert started < 10, started
        assert d.w.launcher.flows_source == "cache", "the live flows from this desktop's copy"
        bar = d.w.call_bar
        qtbot.waitUntil(lambda: bar.team_status.text().startswith("offline since ")
                        and bar.team_status.text().endswith("entries waiting"), timeout=10000)
        assert bar.team_status.objectName() == "barReason"
        # A click is acknowledged by the local journal at once, whatever the network does.
        d.press(Qt.Key.Key_Return)
        t1 = time.monotonic()
        d.press(Qt.Key.Key_Space)
        d.press(Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        assert time.monotonic() - t1 < 1.0
        assert d.where == ("call-opening", "purpose")
        # Danish and Czech: the same lines, with the time as each language writes it.
        for lang, start, banner in (("da", "offline siden ", "offline: beskyttelser pr. "),
                                    ("cs", "offline od ", "offline: ochrany ke ")):
            i18n.set_language(lang)
            bar.refresh()
            d.w.banner.retranslate()
            assert bar.team_status.text().startswith(start), bar.team_status.text()
            assert (d.w.banner.source_text() or "").startswith(banner)
            d.w.pages.setCurrentIndex(0)
            d.w.grab().save(str(Path("/tmp") / f"teamdesk-offline-{lang}.png"))
    finally:
        i18n.set_language("en")
        close(d)


def test_emergency_on_the_window_is_acknowledged_from_the_console(qtbot, team: TeamServer, tmp_path: Path) -> None:
    """F8 on the agent's window reaches the console (the window's own sync); the supervisor
    acknowledges it there; the window's side column says so within 2 seconds."""
    from callguide.team.console import Console

    anna = team.person("anna", "agent")
    sam = team.person("sam", "supervisor")
    d = open_team_window(qtbot, tmp_path, anna)
    console = None
    try:
        assert d.session.agent == "anna", "in team mode the agent is the person connected"
        d.press(Qt.Key.Key_Return)  # Begin the call
        qtbot.waitUntil(lambda: d.w.call_bar.team_status.text() == "team store: synced", timeout=10000)
        d.press(Qt.Key.Key_F8)      # emergency: the crisis and the escalations, journalled locally first
        assert d.entries("escalation")
        assert not d.w.launcher.team_link.ack_notice.isVisible()
        console = Console(sam, journal_path=tmp_path / "console-sam.db")
        items: list = []

        def queued() -> bool:
            items[:] = [i for i in console.queue() if i.call_id == d.session.call_id and i.kind == "emergency"]
            return bool(items)

        qtbot.waitUntil(queued, timeout=10000)
        t0 = time.monotonic()
        console.acknowledge(items[0])
        notice = d.w.launcher.team_link.ack_notice
        qtbot.waitUntil(lambda: notice.text().startswith("Supervisor acknowledged"), timeout=2000)
        assert time.monotonic() - t0 < 2.0 + 5.0  # the console's own push (up to its timeout) + 2 s
        assert notice.isVisible() and d.w.pages.currentWidget() is d.w.emergency_panel, "over the emergency script"
        d.w.grab().save(str(Path("/tmp") / "teamdesk-ack.png"))
    finally:
        if console is not None:
            console.close()
        close(d)


def test_calls_in_another_persons_name_are_refused(qtbot, team: TeamServer, tmp_path: Path, no_modal) -> None:
    from callguide.qt.app import open_call

    anna = team.person("anna", "agent")
    w, code = open_call(tmp_path / "agent.db", FLOWS, "ben", dict(ACCOUNT), team=anna)
    assert w is None and code == 2
    assert no_modal == ["You are connected to the team store as anna; calls cannot be made in the name of ben."]


def _referred_with_consent(team: TeamServer, tmp_path: Path, anna: TeamTarget, account: str) -> None:
    """anna's desktop: TEXAS with the real engine (consent given for the care team, a health detail
    recorded, then the care referral), synced: the team store escrows the consented purpose's key."""
    from callguide.engine.clock import FixedClock
    from callguide.flow.loader import load_library
    from tests.team.test_key_escrow import texas_referred

    library, _ = load_library([FLOWS])
    store = SQLiteJournal.open(tmp_path / "anna.db")
    try:
        clock = FixedClock("2026-11-24T10:00:00+00:00", step_seconds=1)
        assert texas_referred(library, store, clock, account, "anna").end_call("referred").ok
        sync = TeamSync(tmp_path / "anna.db", anna).start()
        try:
            assert sync.wait_synced(20), sync.status
            assert sync.keys_deposited == 1
        finally:
            sync.stop()
    finally:
        store.close()


def _vulnerability_lines(banner) -> list[str]:
    return [line for kind, line in banner.lines() if kind == "vulnerability"]


def test_the_care_team_reads_the_escrowed_details_in_the_agent_window(qtbot, team: TeamServer, tmp_path: Path,
                                                                     monkeypatch, shots_dir: Path) -> None:
    """A care-team member opens the agent window on an account referred to the care team: the sealed
    detail the customer consented to share with it (the record's category) is read as the console
    reads it, with the key the team store escrows, through their own connection. A supervisor on the
    same account still sees it "not readable here"; nothing opened is copied into a journal."""
    anna = team.person("anna", "agent")
    carla = team.person("carla", "care_team")
    sam = team.person("sam", "supervisor")
    _referred_with_consent(team, tmp_path, anna, "ACC-T")
    monkeypatch.setitem(ACCOUNT, "account_id", "ACC-T")

    d = open_team_window(qtbot, tmp_path, sam, "sam.db")
    try:
        assert d.w.banner.source == "team"
        qtbot.wait(500)  # the escrow read is off the Qt thread: give it time to (not) arrive
        seen = _vulnerability_lines(d.w.banner)  # as before: the supervisor's rows come redacted
        assert seen == ["Vulnerability on record ([redacted]); review by 22 February 2027."], d.w.banner.lines()
        assert d.w.launcher.team_link.details is None
    finally:
        close(d)

    d = open_team_window(qtbot, tmp_path, carla, "carla.db")
    try:
        link = d.w.launcher.team_link
        qtbot.waitUntil(lambda: link.details is not None, timeout=5000)
        want = ["Vulnerability on record (Health); review by 22 February 2027."]
        assert _vulnerability_lines(d.w.banner) == want, d.w.banner.lines()
        assert _vulnerability_lines(d.w.side.history) == want
        assert d.w.grab().save(str(shots_dir / "team_care_escrowed_details.png"))
        # for the screen only: the call's own register keeps it sealed, so the journal never holds it
        assert "not readable here" in str(d.session.history.vulnerabilities[0].get("category"))
        d.w.set_language("da")  # the details follow the window's language
        assert _vulnerability_lines(d.w.banner) == ["Registreret sårbarhed (Helbred); revurderes senest "
                                                    "22. februar 2027."], d.w.banner.lines()
        d.w.set_language("en")
        qtbot.waitUntil(lambda: d.w.launcher.desktop.notices.connected.is_set(), timeout=5000)
        # The customer withdraws on a later call on anna's desktop: the key is destroyed in the team
        # store, and the detail leaves carla's open window with the next read.
        _withdraw_on(tmp_path / "anna.db", anna, "ACC-T")
        qtbot.waitUntil(lambda: not any("Health" in line for line in _vulnerability_lines(d.w.banner)), timeout=5000)
        assert not any("Health" in line for line in _vulnerability_lines(d.w.side.history))
    finally:
        close(d)
    journal = SQLiteJournal.open(tmp_path / "carla.db")
    try:
        text = str([e.data for e in journal.iter_entries(0)])
    finally:
        journal.close()
    cache = (tmp_path / "carla.db.team-cache").read_bytes()
    for where in (text.encode(), cache):  # the journal and the offline cache never hold it open
        assert b"Hospital ZQ-7731" not in where and b"'health'" not in where and b'"health"' not in where


def _withdraw_on(path: Path, who: TeamTarget, account: str) -> None:
    from callguide.engine.clock import FixedClock
    from callguide.engine.session import Account, CallSession
    from callguide.flow.loader import load_library

    library, _ = load_library([FLOWS])
    store = SQLiteJournal.open(path)
    try:
        clock = FixedClock("2026-11-25T10:00:00+00:00", step_seconds=1)
        later = CallSession.start(library, store, Account(account, "Jana Nováková", "CZ", lang="en"), "anna",
                                  start_flow="texas", clock=clock, auto_wrap_up=False)
        assert later.withdraw_consent("health_disclosure").ok
        assert later.end_call("other").ok
        sync = TeamSync(path, who).start()
        try:
            assert sync.wait_synced(20), sync.status
        finally:
            sync.stop()
    finally:
        store.close()
