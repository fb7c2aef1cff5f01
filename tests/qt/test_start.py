"""The staged start: the first window (start dialog, or the call window's banner page for a
screen-pop) is shown before the journal, flows and engine load; "Begin the call" is enabled
when they have; a crash-left call is still offered for resume; failures are one line."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import Qt

from tests.qt.conftest import FLOWS

pytestmark = pytest.mark.qt

SCREEN_POP = {"account_id": "A-20", "name": "Jo Bloggs", "country": "UK", "lang": "en", "balance": "99.00"}


def _launcher(qtbot, db_path, account=None, flows=FLOWS):
    from callguide.qt.app import CallLauncher

    launcher = CallLauncher(db_path, flows, "agent-7", account)
    return launcher


def _cleanup(qtbot, launcher):
    if launcher.window is not None:
        qtbot.addWidget(launcher.window)
    if launcher.store is not None:
        launcher.store.close()


def test_screen_pop_shows_the_banner_before_anything_loads(qtbot, db_path):
    launcher = _launcher(qtbot, db_path, SCREEN_POP)
    launcher.start()
    w = launcher.window
    qtbot.addWidget(w)
    # shown at once, from light imports: the account is on screen, Begin waits for the flows
    assert w.isVisible() and w.session is None
    assert w.customer.text() == "Jo Bloggs" and "GBP" in w.account_line.text()
    assert not w.begin_button.isEnabled()
    assert w.loading.isVisible() and w.loading.text() == "Loading flows…"
    with qtbot.waitSignal(launcher.ready, timeout=20000):
        pass
    assert w.session is not None and w.session.account.id == "A-20"
    assert w.begin_button.isEnabled() and not w.loading.isVisible()
    assert w.banner is not None and w.banner.isVisible()
    qtbot.mouseClick(w.begin_button, Qt.MouseButton.LeftButton)
    assert w.pages.currentWidget() is w.split
    _cleanup(qtbot, launcher)


def test_language_chosen_while_loading_is_the_calls_language(qtbot, db_path):
    launcher = _launcher(qtbot, db_path, SCREEN_POP)
    launcher.start()
    w = launcher.window
    qtbot.addWidget(w)
    w.set_language("cs")
    assert w.loading.text() == "Načítají se postupy…" and w.begin_button.text().startswith("Zahájit hovor")
    qtbot.waitUntil(lambda: launcher.done, timeout=20000)
    assert w.session.lang == "cs"
    _cleanup(qtbot, launcher)


def test_start_dialog_first_then_the_call(qtbot, db_path):
    launcher = _launcher(qtbot, db_path)
    launcher.start()
    dlg = launcher.dialog
    qtbot.addWidget(dlg)
    assert dlg.isVisible() and launcher.window is None
    assert dlg.loading.isVisible()
    qtbot.waitUntil(lambda: not dlg.loading.isVisible(), timeout=20000)  # loaded behind the dialog
    qtbot.keyClicks(dlg.account, "A-21")
    qtbot.keyClicks(dlg.name, "Kim Larsen")
    dlg.country.setCurrentIndex(dlg.country.findData("DK"))
    qtbot.mouseClick(dlg.ok_button, Qt.MouseButton.LeftButton)
    assert launcher.done
    w = launcher.window
    qtbot.addWidget(w)
    assert w.session.account.id == "A-21" and w.session.lang == "da"
    assert w.begin_button.isEnabled()
    _cleanup(qtbot, launcher)


def test_start_dialog_answered_before_the_flows_loaded(qtbot, db_path):
    launcher = _launcher(qtbot, db_path)
    launcher.start()
    dlg = launcher.dialog
    qtbot.addWidget(dlg)
    dlg.account.setText("A-22")
    qtbot.mouseClick(dlg.ok_button, Qt.MouseButton.LeftButton)  # before any loading step ran
    w = launcher.window
    qtbot.addWidget(w)
    assert w.isVisible() and w.session is None and w.loading.isVisible()
    qtbot.waitUntil(lambda: w.session is not None, timeout=20000)
    assert w.session.account.id == "A-22" and w.begin_button.isEnabled()
    _cleanup(qtbot, launcher)


def test_cancel_the_start_dialog(qtbot, db_path):
    launcher = _launcher(qtbot, db_path)
    launcher.start()
    with qtbot.waitSignal(launcher.finished, timeout=20000) as sig:
        qtbot.mouseClick(launcher.dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert sig.args == [0] and launcher.window is None
    qtbot.wait(50)  # the loading steps that were pending do nothing after a cancel
    assert launcher.store is None


def test_resume_offered_over_the_start_dialog(qtbot, library, store, db_path, monkeypatch):
    from callguide.engine.session import Account, CallSession
    from callguide.qt.dialogs import ResumeDialog

    left = CallSession.start(library, store, Account("A-23", "Left Open", "UK"), "agent-7")
    monkeypatch.setattr(ResumeDialog, "exec", lambda dlg: (qtbot.mouseClick(dlg.resume_button, Qt.MouseButton.LeftButton),
                                                           dlg.result())[1])
    launcher = _launcher(qtbot, db_path)
    launcher.start()
    dlg = launcher.dialog
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: launcher.done, timeout=20000)
    assert not dlg.isVisible() and launcher.dialog is None
    w = launcher.window
    qtbot.addWidget(w)
    assert w.session.call_id == left.call_id and w.resumed
    assert w.pages.currentWidget() is w.split and w.info_strip.isVisible()
    _cleanup(qtbot, launcher)


def test_journal_that_cannot_open_is_one_line(qtbot, tmp_path, no_modal):
    bad = tmp_path / "not-a-dir" / "journal.db"
    bad.parent.write_text("a file where the folder should be", encoding="utf-8")
    launcher = _launcher(qtbot, bad, SCREEN_POP)
    launcher.start()
    qtbot.addWidget(launcher.window)
    with qtbot.waitSignal(launcher.finished, timeout=20000) as sig:
        pass
    assert sig.args == [2] and launcher.window is None
    assert len(no_modal) == 1 and "\n" not in no_modal[0] and "Traceback" not in no_modal[0]


def test_first_window_needs_no_engine_imports():
    """What the first window imports stays light: no engine, store, flows, YAML, Jinja."""
    import subprocess

    code = ("import os, sys; os.environ['QT_QPA_PLATFORM']='offscreen'\n"
            "from PySide6.QtWidgets import QApplication\n"
            "from callguide.qt import app as a\n"
            "qa = QApplication([])\n"
            "l = a.CallLauncher(None, None, 'x', {'account_id': 'A-1'})\n"
            "a.CallLauncher._first_idle = lambda self: None\n"
            "l.start(); qa.processEvents()\n"
            "heavy = [m for m in ('callguide.engine', 'callguide.store', 'callguide.flow', 'callguide.library',"
            " 'sqlite_utils', 'ruamel', 'jinja2', 'jsonschema', 'transitions') if m in sys.modules]\n"
            "print(heavy)\n")
    from tests.qt.conftest import ROOT

    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-800:]
    assert r.stdout.strip().splitlines()[-1] == "[]"
