"""Issue 10 in the real window (pytest-qt, offscreen): the side column's Withdraw, on the call that
captured the detail and on a later call, destroys the purpose's key; the wrap-up then says
"withdrawn on DATE" and never shows the detail; the journal's bytes hold neither."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import datetime as dt  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

pytest.importorskip("PySide6")

from callguide.engine.commands import Answer, Consent, Interrupt, Next  # noqa: E402
from callguide.engine.session import Account, CallSession  # noqa: E402
from callguide.store import entry_types as et  # noqa: E402
from callguide.store.sqlite import SQLiteJournal  # noqa: E402
from tests.test_privacy import MARK, PURPOSE, leaks, raw  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHOTS = Path(os.environ.get("CALLGUIDE_SHOTS") or ROOT / "tests" / "qt" / "screenshots")


@pytest.fixture(autouse=True)
def _window_env(monkeypatch):
    from callguide.qt import i18n

    monkeypatch.setenv("CALLGUIDE_CONTACT_RULES", str(ROOT / "tests" / "contact_rules_any_time.yaml"))
    monkeypatch.setattr("callguide.qt.app.show_message", lambda text, detail="": None)
    i18n.set_language("en")
    yield
    i18n.set_language("en")


@pytest.fixture
def db(tmp_path):
    return tmp_path / "journal.db"


@pytest.fixture
def library(db):
    from callguide.library.live import load_for_calls

    return load_for_calls(ROOT / "flows", db)


def window(qtbot, session):
    from callguide.qt.call_window import CallWindow

    w = CallWindow(session)
    qtbot.addWidget(w)
    w.resize(1400, 900)  # wide enough for the side column
    w.show()
    qtbot.waitExposed(w)
    from PySide6.QtCore import Qt

    qtbot.mouseClick(w.begin_button, Qt.MouseButton.LeftButton)  # the banner read: the call page
    return w


def withdraw_buttons(w):
    from PySide6.QtWidgets import QApplication, QPushButton

    QApplication.processEvents()  # lay out what the last command added, as a person would see it
    return [b for b in w.findChildren(QPushButton, "withdrawConsent") if b.isVisible()]


def confirm_button(w):
    """The in-place question's "Yes, withdraw it" (the Withdraw button asks first: it destroys a key)."""
    from PySide6.QtWidgets import QApplication, QPushButton

    QApplication.processEvents()
    return next(b for b in w.findChildren(QPushButton, "withdrawYes") if b.isVisible())


def capture_detail(apply):
    """TEXAS through the window's bridge: consent given, the health detail, the vulnerability record."""
    assert apply(Interrupt("texas")).ok
    apply(Next())
    apply(Next())
    assert apply(Consent("given")).ok
    assert apply(Answer({"category": "health", "impact": MARK})).ok
    apply(Next())
    apply(Answer({"adjustments_wanted": False}))
    apply(Next())
    apply(Next())


def test_withdraw_in_the_window_on_the_same_call(qtbot, library, db, tmp_path):
    store = SQLiteJournal.open(db)
    s = CallSession.start(library, store, Account("W-1", "Jo Bloggs", "UK", None, "100.00"), "agent-7")
    w = window(qtbot, s)
    capture_detail(w.bridge.apply)
    assert any(r["type"] == et.VULNERABILITY for r in s.records)
    key = store.sealer.keys.live("W-1", PURPOSE)[1]
    buttons = withdraw_buttons(w)
    assert len(buttons) == 1
    from PySide6.QtCore import Qt

    qtbot.mouseClick(buttons[0], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(confirm_button(w), Qt.MouseButton.LeftButton)  # the button asks first: yes, withdraw
    assert not withdraw_buttons(w)
    withdrawn = [r for r in s.records if r["type"] == et.CONSENT_WITHDRAWN]
    assert withdrawn and withdrawn[0]["data"]["shredded"] == 1
    w.show_wrap_up()
    text = w.wrap_panel.recorded.text() + "\n" + w.wrap_panel.follow.text()
    today = dt.date.today()
    assert f"withdrawn on {today.day} {today.strftime('%B')} {today.year}" in text, text
    assert MARK not in text
    SHOTS.mkdir(parents=True, exist_ok=True)
    w.grab().save(str(SHOTS / "privacy-withdrawn-wrap-up.png"))
    w.close()
    store.close()
    assert not leaks(raw(db, tmp_path), MARK.encode(), key)


def test_withdraw_in_the_window_on_a_later_call(qtbot, library, db, tmp_path):
    store = SQLiteJournal.open(db)
    first = CallSession.start(library, store, Account("W-2", "Jo Bloggs", "UK", None, "100.00"), "agent-7")
    capture_detail(first.apply)
    first.end_call("referred")
    key = store.sealer.keys.live("W-2", PURPOSE)[1]
    later = CallSession.start(library, store, Account("W-2", "Jo Bloggs", "UK", None, "100.00"), "agent-7")
    assert later.history.vulnerabilities and later.history.vulnerabilities[0]["fields"]["impact"] == MARK
    w = window(qtbot, later)
    buttons = withdraw_buttons(w)
    assert len(buttons) == 1, "the consent given on the earlier call is listed with its Withdraw"
    from PySide6.QtCore import Qt

    qtbot.mouseClick(buttons[0], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(confirm_button(w), Qt.MouseButton.LeftButton)  # the button asks first: yes, withdraw
    assert not withdraw_buttons(w)
    entry = [e for e in store.call_entries(later.call_id) if e.type == et.CONSENT_WITHDRAWN][0]
    assert entry.data["shredded"] == 1 and entry.data["given_on_call"] == first.call_id
    # the earlier call's record is unreadable now, wherever it is read
    vul = next(e for e in store.account_entries("W-2") if e.type == et.VULNERABILITY)
    assert store.sealer.open("W-2", vul.data["fields"]["impact"]).startswith("withdrawn on")
    w.close()
    store.close()
    assert not leaks(raw(db, tmp_path), MARK.encode(), key)
