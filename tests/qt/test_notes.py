"""Notes that may hold health details, in the real window (issue 10 §5): typed into the note box,
Alt+A, and the agent is asked BEFORE anything is saved whether the customer agreed (TEXAS offered).
Real engine, real flows, real word lists, a real SQLite journal; keys on the focused widget."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from callguide.qt.note_check import NoteQuestion

pytestmark = pytest.mark.qt

NO = Qt.KeyboardModifier.NoModifier
ALT = Qt.KeyboardModifier.AltModifier
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier

WORDS = {"en": ("UK", "Customer has cancer, treatment until March", "cancer"),
         "da": ("DK", "Kunden har kræft, behandling til marts", "kræft"),
         "cs": ("CZ", "Zákazník má rakovinu, léčba do března", "rakovinu")}


def _raw(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


def question(d) -> NoteQuestion | None:
    q = d.w.findChild(NoteQuestion, "noteQuestion")
    return q if q is not None and q.isVisible() else None


def type_note(d, text: str) -> None:
    d.press(Qt.Key.Key_N, CTRL | SHIFT)
    d.qtbot.waitUntil(lambda: QApplication.focusWidget() is d.w.side.note_edit, timeout=2000)
    d.type_text(d.w.side.note_edit, text)


def key_to_question(d, k, mod=NO) -> None:
    q = question(d)
    assert q is not None
    d.qtbot.waitUntil(q.isActiveWindow, timeout=2000)
    d.qtbot.keyClick(QApplication.focusWidget() or q, k, mod)
    d.qtbot.waitUntil(lambda: question(d) is None, timeout=2000)


@pytest.mark.parametrize("lang", ["en", "da", "cs"])
def test_a_health_note_asks_first_and_declining_keeps_the_draft(open_window, db_path, lang):
    country, text, word = WORDS[lang]
    d = open_window(country=country, lang=lang)
    d.press(Qt.Key.Key_Return)  # begin the call
    type_note(d, text)
    d.press(Qt.Key.Key_A, ALT)
    d.qtbot.waitUntil(lambda: question(d) is not None, timeout=2000)
    q = question(d)
    assert word in q.question.text()
    assert not q.agreed.isEnabled() and q.why_off.isVisible()  # no consent in force: say why
    assert q.texas_button.isEnabled() and "F2" in q.texas_button.text()
    assert d.entries("note") == [] and d.entries("blocked") == []  # asked before anything is journalled
    key_to_question(d, Qt.Key.Key_N, ALT)  # not agreed
    assert d.entries("note") == []
    assert d.w.side.note_edit.toPlainText() == text  # the draft is kept for editing
    d.qtbot.waitUntil(lambda: QApplication.focusWidget() is d.w.side.note_edit, timeout=2000)
    d.session.end_call()
    assert text.encode() not in _raw(db_path)  # (the word itself is in the flows the journal pins)


def test_escape_is_not_agreed_too(open_window):
    d = open_window()
    d.press(Qt.Key.Key_Return)
    type_note(d, "Her husband passed away in June")
    d.press(Qt.Key.Key_A, ALT)
    d.qtbot.waitUntil(lambda: question(d) is not None, timeout=2000)
    key_to_question(d, Qt.Key.Key_Escape)
    assert d.entries("note") == [] and d.w.side.note_edit.toPlainText() == "Her husband passed away in June"


def test_texas_from_the_question_then_customer_agreed_saves_it_as_special(open_window):
    d = open_window()
    d.press(Qt.Key.Key_Return)
    text = "Customer has cancer, treatment until March"
    type_note(d, text)
    d.press(Qt.Key.Key_A, ALT)
    d.qtbot.waitUntil(lambda: question(d) is not None, timeout=2000)
    key_to_question(d, Qt.Key.Key_F2)  # ask the customer: TEXAS starts, the draft waits
    assert d.where == ("texas", "thank")
    assert d.w.side.note_edit.toPlainText() == text and d.entries("note") == []
    d.next()
    d.next()
    assert d.where == ("texas", "consent")
    d.consent("given")
    d.w.side.note_edit.setFocus()
    d.press(Qt.Key.Key_A, ALT)
    d.qtbot.waitUntil(lambda: question(d) is not None, timeout=2000)
    q = question(d)
    assert q.agreed.isEnabled() and "on this call" in q.state.text()
    key_to_question(d, Qt.Key.Key_Y, ALT)  # the customer agreed
    notes = d.entries("note")
    assert [(n.data["text"], n.data["purpose"], n.data["special"]) for n in notes] == [
        (text, "health_disclosure", True)]
    assert d.w.side.note_edit.toPlainText() == ""


def test_a_plain_note_is_saved_without_a_question(open_window):
    d = open_window(country="DK", lang="da")
    d.press(Qt.Key.Key_Return)
    type_note(d, "Foretrækker breve frem for opkald")
    d.press(Qt.Key.Key_A, ALT)
    assert question(d) is None
    assert [n.data for n in d.entries("note")] == [
        {"text": "Foretrækker breve frem for opkald",
         "input": {"cmd": "note", "text": "Foretrækker breve frem for opkald", "purpose": None}}]


def test_the_question_in_every_language_fits(open_window, shots_dir):
    from tests.qt.clipping import clipped

    for lang in ("en", "da", "cs"):
        country, text, _ = WORDS[lang]
        d = open_window(country=country, lang=lang, large_text=True)
        d.press(Qt.Key.Key_Return)
        type_note(d, text)
        d.press(Qt.Key.Key_A, ALT)
        d.qtbot.waitUntil(lambda d=d: question(d) is not None, timeout=2000)
        q = question(d)
        QApplication.processEvents()
        q.grab().save(str(shots_dir / f"note_question_{lang}_large.png"))
        assert clipped(q) == []
        key_to_question(d, Qt.Key.Key_Escape)
        d.w.close()
