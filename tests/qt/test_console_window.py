"""The console window and the agent's acknowledgement notice, offscreen, against a real PostgreSQL
team store: the live queue (a new BLAKE from another desktop is impossible to miss), keyboard
operation (Enter acknowledges, Ctrl+R resolves), overdue items, the care team's worklist with only
consented details and the specialist review, accessible names, en/da/cs; PNGs are rendered."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton

pytest.importorskip("psycopg")

from callguide.qt import i18n  # noqa: E402
from callguide.qt.ack_notice import AckNotice  # noqa: E402
from callguide.qt.console.models import ALARM_BG, OVERDUE_BG  # noqa: E402
from callguide.qt.console.window import ConsoleWindow  # noqa: E402
from callguide.store.postgres.journal import PostgresJournal  # noqa: E402
from callguide.team.console import Console  # noqa: E402
from callguide.team.notify import TeamNotices  # noqa: E402
from tests.team.conftest import PG_URL, TeamServer, _reachable, new_team_server  # noqa: E402
from tests.team.test_console import BLAKE, BRUCE, T0, VULNERABLE, Desk  # noqa: E402

from .conftest import SHOTS  # noqa: E402

pytestmark = pytest.mark.qt


@pytest.fixture
def team() -> Iterator[TeamServer]:
    problem = _reachable(PG_URL)
    if problem:
        pytest.skip(f"no PostgreSQL server at {PG_URL} ({problem})")
    server = new_team_server(PG_URL)
    try:
        yield server
    finally:
        server.drop()


@pytest.fixture
def world(team: TeamServer, tmp_path: Path) -> dict:
    anna = team.person("anna", "agent", team="north")
    sam = team.person("sam", "supervisor", team="north")
    carla = team.person("carla", "care_team")
    with team.admin() as conn:
        conn.execute("UPDATE people SET name = 'Sam Jensen' WHERE person_id = 'sam'")
        conn.execute("UPDATE people SET name = 'Anna Holm' WHERE person_id = 'anna'")
        conn.execute("UPDATE people SET name = 'Carla Novak' WHERE person_id = 'carla'")
    desk = Desk(tmp_path / "anna.db", "anna", anna)
    calls = {"bruce": desk.call("ACC-C", *BRUCE, ("hold_started", {"days": 30, "until": "2027-01-01",
                                                                   "reason": "BRUCE: recovery suspended"},
                                                  "bruce", "doubt-remains")),
             "texas": desk.call("ACC-V", *VULNERABLE)}
    desk.push()
    return {"team": team, "anna": anna, "sam": sam, "carla": carla, "desk": desk, "calls": calls, "tmp": tmp_path}


def shot(widget, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(SHOTS / f"{name}.png"))


def test_a_new_blake_is_impossible_to_miss_and_enter_acknowledges_it(qtbot, world, monkeypatch) -> None:
    beeps: list[int] = []
    monkeypatch.setattr(QApplication, "beep", staticmethod(lambda: beeps.append(1)))
    sam = Console(world["sam"], journal_path=world["tmp"] / "sam.db", window=dt.timedelta(days=36500))
    win = ConsoleWindow(sam)
    qtbot.addWidget(win)
    win.show()
    try:
        qtbot.waitUntil(lambda: win.queue_model.rowCount() == 2, timeout=5000)
        assert not win.alarm.isVisible() and beeps == []
        # Anna presses BLAKE on her desktop: the console shows it, red, with a beep, raised.
        t0 = time.monotonic()
        desk = world["desk"]
        blake_call = desk.call("ACC-B", *BLAKE)
        desk.push()
        qtbot.waitUntil(lambda: win.queue_model.rowCount() == 4, timeout=3000)
        assert time.monotonic() - t0 < 3
        qtbot.waitUntil(lambda: bool(beeps), timeout=2000)
        assert win.alarm.isVisible()
        assert "NEW EMERGENCY: account ACC-B, agent Anna Holm" in win.alarm.text()
        top = win.queue_model.item(0)
        assert top.alarm() and top.call_id == blake_call
        assert win.queue_model.data(win.queue_model.index(0, 0), Qt.ItemDataRole.BackgroundRole).color() == ALARM_BG
        assert win.queue_model.data(win.queue_model.index(0, 0), Qt.ItemDataRole.DisplayRole) == "\u26a0 Emergency"
        assert win.queue_model.data(win.queue_model.index(1, 0), Qt.ItemDataRole.DisplayRole) == "\u26a0 BLAKE"
        assert win.tabs.currentIndex() == 0 and win.selected().ref == top.ref
        # Service levels: raised days ago (the scripted clock), so everything open is overdue.
        assert "OVERDUE" in win.queue_model.data(win.queue_model.index(0, 6), Qt.ItemDataRole.DisplayRole)
        assert win.counts.text() == "4 open · 4 not acknowledged · 4 overdue"
        shot(win, "console-queue-alarm-en")

        # The agent's side: her call window's notice, following her BLAKE call.
        with PostgresJournal(world["anna"]) as anna_pj:
            notices = TeamNotices(world["anna"], channels=("escalations",)).start()
            assert notices.wait_connected(10)
            notice = AckNotice()
            qtbot.addWidget(notice)
            notice.watch(anna_pj, notices, blake_call, "ACC-B")
            assert not notice.isVisible()
            # Keyboard only: the queue has the focus, Enter acknowledges the selected item.
            win.queue_view.setFocus()
            started = time.monotonic()
            qtbot.keyClick(win.queue_view, Qt.Key.Key_Return)
            assert win.last_message == "Acknowledged: Anna Holm sees it on the call.", win.last_message
            qtbot.waitUntil(lambda: notice.isVisible(), timeout=2000)
            assert time.monotonic() - started < 2.0
            assert notice.text() == "Supervisor acknowledged: Sam Jensen"
            for lang, words in (("da", "Teamleder har kvitteret: Sam Jensen"),
                                ("cs", "Vedoucí potvrdil(a): Sam Jensen")):
                i18n.set_language(lang)
                notice.retranslate()
                assert notice.text() == words
                shot(notice, f"ack-notice-{lang}")
            i18n.set_language("en")
            notice.retranslate()
            shot(notice, "ack-notice-en")
            notice.stop()
            notices.stop()
        qtbot.waitUntil(lambda: win.queue_model.item(1) is not None and not win.queue_model.item(1).alarm()
                        or win.queue_model.item(0).acknowledged is not None, timeout=3000)
        acked = next(i for i in win.queue_model.items if i.acknowledged is not None)
        assert acked.acknowledged.name == "Sam Jensen" and acked.call_id == blake_call
        # Ctrl+R resolves the selected item, asking what was done.
        win.select_ref(acked.ref)
        monkeypatch.setattr(win, "ask_text", lambda prompt, required, text="": "Ambulance attended")
        win.activateWindow()  # the notice (a window of its own here) took the focus
        qtbot.waitUntil(win.isActiveWindow, timeout=2000)
        win.queue_view.setFocus()
        qtbot.keyClick(win.queue_view, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
        assert win.last_message == "Saved in the team store."
        qtbot.waitUntil(lambda: any(i.ref == acked.ref and i.resolved for i in win.queue_model.items), timeout=3000)
        win.select_ref(acked.ref)
        story = win.item_detail.text()
        assert "Acknowledged by Sam Jensen at" in story and "Resolved by Sam Jensen at" in story
        assert story.rstrip().endswith(": Ambulance attended")
        shot(win, "console-queue-resolved-en")
        # A refusal is one line, never a traceback: acknowledging the resolved item again.
        win.select_ref(acked.ref)
        assert not win.buttons["acknowledge"].isEnabled()
        assert not win.acknowledge()
        assert win.last_message == "Not done: Already acknowledged by Sam Jensen."
        i18n.set_language("da")
        assert not win.acknowledge()
        assert win.last_message == "Ikke udført: Allerede kvitteret af Sam Jensen."
        i18n.set_language("en")
        # Accessible names on every control; Tab leaves the table for the buttons.
        for b in win.findChildren(QPushButton):
            assert b.accessibleName(), b.objectName()
        assert win.queue_view.accessibleName() == "Escalation queue"
        assert not win.queue_view.tabKeyNavigation()
        # Every language: the window's words change, the numbers stay.
        for lang, title in (("da", "CallGuide-konsol — Sam Jensen"), ("cs", "Konzole CallGuide — Sam Jensen")):
            i18n.set_language(lang)
            win.retranslate()
            assert win.windowTitle() == title
            assert "{" not in win.counts.text()
            shot(win, f"console-queue-{lang}")
        i18n.set_language("en")
        win.retranslate()
    finally:
        win.close()
        sam.close()


def test_the_care_team_worklist_shows_only_consented_details_and_records_the_review(qtbot, world) -> None:
    carla = Console(world["carla"], journal_path=world["tmp"] / "carla.db", window=dt.timedelta(days=36500),
                    clock=lambda: T0 + dt.timedelta(minutes=5))
    win = ConsoleWindow(carla, feed=False)
    qtbot.addWidget(win)
    win.show()
    try:
        win.reload()
        assert win.tabs.currentIndex() == 1  # the care team starts on its worklist
        assert [win.work_model.item(r).account_id for r in range(win.work_model.rowCount())] == ["ACC-C", "ACC-V"]
        # Five minutes in: nothing overdue for the care team (4 hours to acknowledge).
        assert win.counts.text() == "2 open · 2 not acknowledged · 0 overdue"
        assert win.work_model.data(win.work_model.index(0, 0), Qt.ItemDataRole.BackgroundRole) is None
        win.select_ref(win.work_model.items[1].ref)
        # sealed on the agent's desktop under the consent's key, escrowed in the team store (0006): the
        # care team reads what the customer consented to share with it
        assert "• mental health: condition: depression" in win.detail.text()
        assert "sealed" not in win.detail.text()
        win.select_ref(win.work_model.items[0].ref)
        assert "Capacity doubt OPEN" in win.detail.text()
        shot(win, "console-care-en")
        assert win.record_review("confirmed", "Specialist call: understands the plan")
        assert win.last_message == "Specialist review recorded: Capacity confirmed for this decision"
        assert "Capacity doubt OPEN" not in win.detail.text()
        assert "Specialist review by Carla Novak" in win.detail.text()
        # The hold decision: the hold is shown, and ended with a reason (Ctrl+H asks for it).
        # the hold and its date reach the console; its reason is sealed on the agent's desktop (issue 10)
        assert "On hold until 1 January 2027: not readable here (no key)" in win.detail.text()
        assert win.buttons["end_hold_care"].isEnabled()
        assert win.end_hold("Capacity confirmed by the specialist")
        assert win.last_message == "Hold ended on account ACC-C: every later call sees it."
        assert "On hold until" not in win.detail.text() and not win.buttons["end_hold_care"].isEnabled()
        assert not win.end_hold("again")
        assert win.last_message == "Not done: Account ACC-C has no hold on."
        # The customer withdraws (on another call): the team store destroys its copy of the key, and the
        # care team reads "withdrawn on DATE", never the detail, never "no consent".
        world["desk"].call("ACC-V", ("consent_withdrawn", {"purpose": "health_disclosure"}, "texas", "withdraw"))
        world["desk"].push()
        win.select_ref(next(i.ref for i in win.work_model.items if i.account_id == "ACC-V"))
        assert "withdrawn on 22 November 2026; the details can no longer be read" in win.detail.text()
        assert "depression" not in win.detail.text() and "consent" not in win.detail.text().split("(consented)")[1]
        shot(win, "console-care-withdrawn-en")
        # An overdue referral, a day later: amber, counted.
        carla.clock = lambda: T0 + dt.timedelta(days=1)
        win.tick()
        assert win.counts.text().endswith("2 overdue")
        assert win.work_model.data(win.work_model.index(0, 0), Qt.ItemDataRole.BackgroundRole).color() == OVERDUE_BG
        shot(win, "console-care-overdue-en")
        for lang in ("da", "cs"):
            i18n.set_language(lang)
            win.retranslate()
            win.tick()
            qtbot.wait(50)  # the layout takes the new labels
            assert win.last_message == {"da": "Ikke udført: Sag ACC-C er ikke i bero.",
                                        "cs": "Neprovedeno: Účet ACC-C není pozastaven."}[lang]
            assert "{" not in win.detail.text() and "{" not in win.counts.text()
            assert {"da": "trukket tilbage 22. november 2026", "cs": "odvoláno 22. listopadu 2026"}[lang] \
                in win.detail.text(), win.detail.text()
            for b in win.buttons.values():  # every button shows its whole label
                assert b.width() >= b.sizeHint().width() or not b.isVisible(), (lang, b.text())
            shot(win, f"console-care-{lang}")
        i18n.set_language("en")
    finally:
        win.close()
        carla.close()


def test_callguide_console_opens_for_the_supervisor_and_refuses_an_agent_in_one_line(world, no_modal) -> None:
    from callguide.qt.console.app import run_console

    assert run_console(world["sam"], show=False, journal=str(world["tmp"] / "sam-app.db")) == 0
    assert run_console(world["anna"], show=False, journal=str(world["tmp"] / "anna-app.db")) == 2
    assert no_modal == ["the console is for supervisors and the care team; anna has agent"]


def test_the_console_says_when_the_team_store_is_unreachable_and_recovers(qtbot, world) -> None:
    sam = Console(world["sam"], journal_path=world["tmp"] / "sam.db", window=dt.timedelta(days=36500))
    win = ConsoleWindow(sam)
    qtbot.addWidget(win)
    try:
        qtbot.waitUntil(lambda: win.queue_model.rowCount() == 2, timeout=5000)
        login = f"{world['team'].target.prefix}_sam"
        with world["team"].admin() as conn:
            conn.execute(f'ALTER ROLE "{login}" NOLOGIN')
        world["team"].terminate("callguide-journal")
        world["team"].terminate("callguide-notices")
        win.refresh()
        qtbot.waitUntil(lambda: win.offline, timeout=10000)
        assert win.last_message.startswith("Team store not reachable:")
        assert "\n" not in win.last_message
        assert win.queue_model.rowCount() == 2  # the last queue read stays on screen
        with world["team"].admin() as conn:
            conn.execute(f'ALTER ROLE "{login}" LOGIN')
        win.refresh()
        qtbot.waitUntil(lambda: not win.offline, timeout=15000)
        assert win.last_message == "Team store reachable again: the queue is current."
    finally:
        win.close()
        sam.close()


class Dialogs:
    """Answers the window's real text dialogs (QInputDialog, modal) as a person would: each new
    dialog gets the next answer (a text typed over what the box holds, or None: Cancel), and what it
    showed is kept (`seen`: its prompt and the text the box opened with)."""

    def __init__(self, *answers: str | None, shots: str = "") -> None:
        from PySide6.QtCore import QTimer

        self.answers = list(answers)
        self.seen: list[tuple[str, str]] = []
        self.shots = shots
        self.timer = QTimer()
        self.timer.timeout.connect(self._poll)
        self.timer.start(20)

    def _poll(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        d = QApplication.activeModalWidget()
        if not isinstance(d, QInputDialog) or not d.isVisible() or d.property("answered") or not self.answers:
            return
        d.setProperty("answered", True)
        self.seen.append((d.labelText(), d.textValue()))
        if self.shots:
            d.grab().save(str(SHOTS / f"{self.shots}-{len(self.seen)}.png"))
        answer = self.answers.pop(0)
        if answer is None:
            d.reject()
        else:
            d.setTextValue(answer)
            d.accept()

    def stop(self) -> None:
        self.timer.stop()


HEALTH = "Customer has cancer and is on chemo"


def raw_bytes(path: Path) -> bytes:
    wal = Path(f"{path}-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_typed_texts_follow_the_consent_rule_and_a_refused_text_stays_in_the_box(qtbot, world) -> None:
    """No consent on ACC-C: Ctrl+R with a health text is refused, the dialog opens again with why
    and the text as typed; Cancel keeps it for the next time; nothing is written. A note there goes,
    its text held back (shown so in the reader's language). Consent in force on ACC-V: the note is
    sealed under it. The refusal and the marker in en/da/cs."""
    carla = Console(world["carla"], journal_path=world["tmp"] / "carla.db", window=dt.timedelta(days=36500),
                    clock=lambda: T0 + dt.timedelta(minutes=5))
    win = ConsoleWindow(carla, feed=False)
    qtbot.addWidget(win)
    win.show()
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        win.reload()
        win.tabs.setCurrentIndex(0)
        refs = {win.queue_model.item(r).account_id: win.queue_model.item(r).ref
                for r in range(win.queue_model.rowCount())}
        win.select_ref(refs["ACC-C"])

        def press(key: Qt.Key) -> None:
            win.activateWindow()
            qtbot.waitUntil(win.isActiveWindow, timeout=2000)
            win.queue_view.setFocus()
            qtbot.keyClick(win.queue_view, key, Qt.KeyboardModifier.ControlModifier)

        before = carla.local.count()
        # Resolve with a health text: refused; the box opens again with the reason and the text; Cancel.
        dialogs = Dialogs(HEALTH, None, shots="console-typed-refused")
        press(Qt.Key.Key_R)
        dialogs.stop()
        refusal = ("Not done: This text may hold health or life-event details, and no consent for them is in force "
                   "on account ACC-C: nothing was saved. Write it without them; your text is kept.")
        assert [t for _, t in dialogs.seen] == ["", HEALTH], win.last_message  # the second box opened with the text as typed
        assert dialogs.seen[1][0].startswith(refusal) and dialogs.seen[1][0].endswith("What was done (kept in the "
                                                                                       "journal):")
        assert win.last_message == refusal and carla.local.count() == before  # nothing written
        shot(win, "console-typed-refused-window")
        # Ctrl+R again: the box opens with the kept text; written without the health details, it is saved.
        dialogs = Dialogs("Called back; the plan is agreed")
        press(Qt.Key.Key_R)
        dialogs.stop()
        assert dialogs.seen[0][1] == HEALTH
        assert win.last_message == "Saved in the team store." and carla.local.count() == before + 1
        assert ("resolve", refs["ACC-C"]) not in win.drafts
        # Ending the hold with a health reason: refused the same way (Ctrl+H), nothing written.
        dialogs = Dialogs(HEALTH, None)
        press(Qt.Key.Key_H)
        dialogs.stop()
        assert [t for _, t in dialogs.seen] == ["", HEALTH] and win.last_message == refusal
        assert carla.local.count() == before + 1 and win.drafts[("end_hold", "ACC-C")] == HEALTH
        # A note on the escalation is never refused: it goes, its text held back, the typed text kept.
        dialogs = Dialogs(HEALTH)
        press(Qt.Key.Key_N)
        dialogs.stop()
        assert win.last_message.startswith("Note added, but its text was held back")
        assert win.drafts[("note", refs["ACC-C"])] == HEALTH and carla.local.count() == before + 2
        win.select_ref(refs["ACC-C"])
        assert "reason held back: it may hold health details without consent" in win.item_text(win.selected())
        # Consent in force on ACC-V: the note is sealed under it, and reads back.
        win.select_ref(refs["ACC-V"])
        assert win.note(HEALTH)
        assert win.last_message == ("Saved in the team store. The text is sealed under the customer's consent: "
                                    "withdrawing it destroys the text.")
        assert HEALTH in win.item_text(win.selected())
        assert b"cancer" not in raw_bytes(carla.journal_path) and b"chemo" not in raw_bytes(carla.journal_path)
        shot(win, "console-typed-sealed-en")
        win.select_ref(refs["ACC-C"])
        assert not win.end_hold(HEALTH)
        for lang, refused, marker in (
                ("da", "Ikke udført: Teksten kan indeholde oplysninger om helbred eller livssituation",
                 "begrundelsen er tilbageholdt"),
                ("cs", "Neprovedeno: Text může obsahovat údaje o zdraví nebo životní situaci",
                 "důvod zadržen")):
            i18n.set_language(lang)
            win.retranslate()
            qtbot.wait(50)  # the layout takes the new labels
            assert win.last_message.startswith(refused), win.last_message
            assert win.status.height() >= win.status.heightForWidth(win.status.width())  # the whole line shows
            assert marker in win.item_text(win.selected()) and marker in win.item_detail.text()
            shot(win, f"console-typed-refused-{lang}")
        i18n.set_language("en")
    finally:
        i18n.set_language("en")
        win.close()
        carla.close()
