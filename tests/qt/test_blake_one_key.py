"""BLAKE is one key away wherever the agent is on a live call: F5 (and the other F-keys of the call
bar) from the wrap-up page, from the question a health note asks and with the language menu open show
the protocol's step, with the focus on it. Keys only, the real window, engine, flows and a SQLite journal; PNGs to look at."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from callguide.qt.call_window import PAGE_CALL
from tests.qt.test_field_trial import ALT, CTRL, SHIFT, key
from tests.qt.test_notes import WORDS, question, type_note

pytestmark = pytest.mark.qt

COUNTRY = {"en": "UK", "da": "DK", "cs": "CZ"}


def assert_blake_on_screen(d) -> None:
    assert d.where == ("blake", "breathe"), d.where
    assert d.w.pages.currentIndex() == PAGE_CALL, d.w.pages.currentWidget().objectName()
    d.qtbot.waitUntil(lambda: QApplication.focusWidget() is not None
                      and d.w.step_panel.isAncestorOf(QApplication.focusWidget()), timeout=2000)
    w = QApplication.focusWidget()
    assert w.isVisible(), (w.objectName(), type(w).__name__)  # never the focus on a hidden page


@pytest.mark.parametrize("lang", ["en", "da", "cs"])
def test_f5_from_the_wrap_up_shows_blake(open_window, lang, shots_dir):
    d = open_window(country=COUNTRY[lang], lang=lang)
    key(d, Qt.Key.Key_Return)  # begin the call
    key(d, Qt.Key.Key_W, CTRL | SHIFT)  # the agent opened the wrap-up; the customer says they want to die
    assert d.w.pages.currentWidget() is d.w.wrap_panel
    key(d, Qt.Key.Key_F5)
    assert_blake_on_screen(d)  # before: BLAKE ran in the engine, the window stayed on the wrap-up
    d.qtbot.wait(30)
    assert d.w.grab().save(str(shots_dir / f"blake_from_wrap_up_{lang}.png"))
    key(d, Qt.Key.Key_Return)  # Next, as on any step: the call goes on in BLAKE
    assert d.where == ("blake", "listen"), d.where


@pytest.mark.parametrize("lang", ["en", "da", "cs"])
def test_f5_while_a_health_note_asks_first_starts_blake_and_keeps_the_draft(open_window, lang, shots_dir):
    country, text, _word = WORDS[lang]
    d = open_window(country=country, lang=lang)
    key(d, Qt.Key.Key_Return)
    type_note(d, text)
    d.press(Qt.Key.Key_A, ALT)  # save: the note may hold health details, so the question opens
    d.qtbot.waitUntil(lambda: question(d) is not None, timeout=2000)
    q = question(d)
    d.qtbot.waitUntil(q.isActiveWindow, timeout=2000)
    d.qtbot.keyClick(QApplication.focusWidget() or q, Qt.Key.Key_F5)
    d.qtbot.waitUntil(lambda: question(d) is None, timeout=2000)  # before: F5 did nothing behind the dialog
    assert_blake_on_screen(d)
    assert d.entries("note") == []  # not agreed: nothing of the note saved ...
    assert d.w.side.note_edit.toPlainText() == text  # ... and the draft kept, to save later
    d.qtbot.wait(30)
    assert d.w.grab().save(str(shots_dir / f"blake_from_note_question_{lang}.png"))


def test_f8_while_a_health_note_asks_first_shows_the_emergency_script(open_window):
    d = open_window()
    key(d, Qt.Key.Key_Return)
    type_note(d, WORDS["en"][1])
    d.press(Qt.Key.Key_A, ALT)
    d.qtbot.waitUntil(lambda: question(d) is not None, timeout=2000)
    q = question(d)
    d.qtbot.waitUntil(q.isActiveWindow, timeout=2000)
    d.qtbot.keyClick(QApplication.focusWidget() or q, Qt.Key.Key_F8)
    d.qtbot.waitUntil(lambda: question(d) is None, timeout=2000)
    assert d.w.pages.currentWidget() is d.w.emergency_panel
    assert d.entries("escalation"), "the emergency escalation is journalled"


@pytest.mark.parametrize("lang", ["en", "da", "cs"])
def test_f5_with_the_language_menu_open_closes_it_and_starts_blake(open_window, lang):
    d = open_window(country=COUNTRY[lang], lang=lang)
    key(d, Qt.Key.Key_Return)
    key(d, Qt.Key.Key_L, CTRL)  # the language menu (Ctrl+L) is open when the customer says it
    d.qtbot.waitUntil(lambda: QApplication.activePopupWidget() is d.w.lang_menu, timeout=2000)
    d.qtbot.keyClick(d.w.lang_menu, Qt.Key.Key_F5)
    d.qtbot.waitUntil(lambda: QApplication.activePopupWidget() is None, timeout=2000)  # before: F5 swallowed
    assert_blake_on_screen(d)
    assert d.session.lang == {"en": "en", "da": "da", "cs": "cs"}[lang]  # the language unchanged


def test_f5_from_the_emergency_script_shows_blake_and_esc_is_not_needed(open_window):
    d = open_window()
    key(d, Qt.Key.Key_Return)
    key(d, Qt.Key.Key_F8)  # the emergency script fills the main pane
    assert d.w.pages.currentWidget() is d.w.emergency_panel
    key(d, Qt.Key.Key_F5)  # the agent asked for BLAKE's words: shown (before: the script stayed, BLAKE hidden)
    assert_blake_on_screen(d)
