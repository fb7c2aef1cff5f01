"""The window's own behaviour: language switch, keyboard use, accessible names, one-line
errors, the resume offer's 'leave it' path, and the guard against the PySide6 refcount defect."""

from __future__ import annotations

import subprocess
import sys

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QComboBox, QLineEdit, QPlainTextEdit

from tests.qt.conftest import FLOWS, ROOT

pytestmark = pytest.mark.qt


def test_keyboard_only_start(open_window):
    d = open_window()
    d.press(Qt.Key.Key_Return)  # "Begin the call"
    assert d.w.pages.currentWidget() is d.w.split
    assert d.where == ("call-opening", "identity")
    d.press(Qt.Key.Key_Space)  # focus is on the first answer: "Right person, identity confirmed"
    assert d.session.values.get("identity_check") == "confirmed"
    d.press(Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Next
    assert d.where == ("call-opening", "purpose")
    d.press(Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)  # Back
    assert d.where == ("call-opening", "identity")
    assert [e.type for e in d.entries()].count("back") == 1


def test_language_switch_retranslates_ui_and_prompts(open_window):
    d = open_window()
    d.begin()
    say_en = d.panel.say_text.text()
    d.press(Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)  # opens the language menu; changes nothing yet
    menu = d.w.lang_menu
    d.qtbot.waitUntil(menu.isVisible)
    assert d.session.lang == "en" and not d.entries("language_changed")
    d.qtbot.keyClick(menu, Qt.Key.Key_Down)  # English -> Dansk, highlighted only
    assert d.session.lang == "en"
    d.qtbot.keyClick(menu, Qt.Key.Key_Return)  # the explicit choice
    assert d.session.lang == "da"
    assert d.panel.next_button.text().startswith("Næste")
    assert d.panel.say_text.text() != say_en and d.panel.say_text.text() == d.view.say
    assert d.w.call_bar.escalation_cells["supervisor"].button.text().endswith("Teamleder")
    assert [e.data["lang"] for e in d.entries("language_changed")] == ["da"]


def test_wrap_up_closes_with_ctrl_enter_as_its_button_says(open_window):
    d = open_window()
    d.begin()
    d.press(Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert d.w.pages.currentWidget() is d.w.wrap_panel
    d.press(Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert not d.session.ended  # not before the summary was confirmed
    d.click(d.w.wrap_panel.confirm)
    d.press(Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert d.session.ended and d.entries("call_ended")


def test_every_control_has_an_accessible_name(open_window):
    d = open_window()
    d.begin()
    d.fill("identity_check", "confirmed")
    d.next()
    unnamed = []
    for cls in (QAbstractButton, QLineEdit, QComboBox, QPlainTextEdit):
        for wdg in d.w.findChildren(cls):
            if not wdg.isVisible() or wdg.focusPolicy() == Qt.FocusPolicy.NoFocus:
                continue
            name = wdg.accessibleName() or (wdg.text() if isinstance(wdg, QAbstractButton) else "")
            if not name.strip():
                unnamed.append(f"{cls.__name__}:{wdg.objectName()}")
    assert not unnamed


def test_journal_failure_is_one_line_and_nothing_recorded_is_lost(open_window, db_path):
    d = open_window()
    d.begin()
    d.fill("identity_check", "confirmed")
    before = len(d.entries())
    d.session.store.close()  # the journal goes away under the call
    d.next()
    strip = d.w.error_strip
    assert strip.isVisible() and "\n" not in strip.text() and "Traceback" not in strip.text()
    from callguide.store.sqlite import SQLiteJournal

    with SQLiteJournal.open(db_path) as again:
        assert len(again.call_entries(d.session.call_id)) == before


def test_locked_journal_keeps_records_waiting_and_ctrl_r_saves_them(open_window, db_path, qtbot):
    import sqlite3

    from callguide.store.sqlite import SQLiteJournal

    d = open_window()
    d.begin()
    d.fill("identity_check", "confirmed")
    d.session.store.close()
    d.session.store = SQLiteJournal.open(db_path, busy_timeout=0.2)
    before = len(d.session.store.call_entries(d.session.call_id))
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    d.next()
    strip = d.w.error_strip
    assert strip.isVisible() and "Ctrl+R" in strip.text() and "\n" not in strip.text()
    waiting = d.session.unsaved
    assert waiting > 0
    blocker.execute("ROLLBACK")
    blocker.close()
    qtbot.keyClick(d.w, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: d.session.unsaved == 0)
    assert not strip.isVisible()
    assert len(d.session.store.call_entries(d.session.call_id)) == before + waiting
    assert d.session.store.verify().ok


def test_resume_offer_can_be_left(qtbot, library, store, db_path, monkeypatch):
    from callguide.engine.session import Account, CallSession
    from callguide.qt import app as app_mod
    from callguide.qt.dialogs import ResumeDialog

    CallSession.start(library, store, Account("A-9", "Left Open", "UK"), "agent-7")  # never ended
    monkeypatch.setattr(ResumeDialog, "exec", lambda dlg: (qtbot.mouseClick(dlg.leave_button, Qt.MouseButton.LeftButton), dlg.result())[1])
    window, code = app_mod.open_call(db_path, FLOWS, "agent-7", {"account_id": "A-10", "name": "New", "country": "DK"})
    qtbot.addWidget(window)
    assert window.session.account.id == "A-10" and window.session.lang == "da"
    assert len(store.unfinished_calls()) == 2  # the left call stays in the journal
    window.session.store.close()


def test_library_refusal_is_a_message_not_a_traceback(tmp_path, no_modal):
    from callguide.qt import app as app_mod

    bad = tmp_path / "flows"
    bad.mkdir()
    (bad / "broken.yaml").write_text("schema: callguide/flow@1\nid: broken\nsteps: [\n", encoding="utf-8")
    window, code = app_mod.open_call(tmp_path / "j.db", bad, "agent-7", {"account_id": "A-1"})
    assert window is None and code == 1
    assert len(no_modal) == 1 and "\n" not in no_modal[0]


def test_none_refcount_guard_survives_many_void_calls():
    code = ("import os; os.environ['QT_QPA_PLATFORM']='offscreen'\n"
            "import callguide.qt\n"
            "from PySide6.QtWidgets import QApplication, QLabel\n"
            "app = QApplication([]); lab = QLabel('x')\n"
            "for _ in range(100000): lab.setText('')\n"
            "print('ok')\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr[-500:]
