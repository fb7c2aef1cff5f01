"""A journal that cannot be written during a call (another program holds its lock, a full disk, a
read-only place): the agent reads what is wrong and what to do in the call's language, where they
look (the strip over the call and the line above Next), the status line never says "Saved" while
records wait, and nothing is lost: Ctrl+R writes what waited. Real window, engine, SQLite journal."""

from __future__ import annotations

import errno
import sqlite3

import pytest
from PySide6.QtCore import Qt

from tests.qt.test_calls import open_to_affordability

pytestmark = pytest.mark.qt

COUNTRY = {"en": "UK", "da": "DK", "cs": "CZ"}
LOCKED = {"en": "locked by another program", "da": "låst af et andet program", "cs": "zamčený jiným programem"}
SAVED = {"en": "Saved ·", "da": "Gemt ·", "cs": "Uloženo ·"}


@pytest.fixture
def short_wait(monkeypatch):
    """Wait 0.2 s for another program's lock (read when the journal is opened: ask for this first)."""
    monkeypatch.setenv("CALLGUIDE_BUSY_TIMEOUT", "0.2")


@pytest.mark.parametrize("lang", ["en", "da", "cs"])
def test_a_locked_journal_is_said_in_the_calls_language_and_nothing_is_lost(short_wait, open_window, db_path,
                                                                           lang, shots_dir):
    d = open_window(country=COUNTRY[lang], lang=lang)
    open_to_affordability(d)
    other = sqlite3.connect(db_path, timeout=0.1)  # another program takes the journal's write lock
    other.execute("BEGIN EXCLUSIVE")
    try:
        d.fill("employment", "employed")
        d.fill("finance_difficulty", False)
        d.next()
        waiting = d.session.unsaved
        assert waiting > 0
        strip, line = d.w.error_strip.text(), d.panel.notice.text()
        assert d.w.error_strip.isVisible() and d.panel.notice.isVisible()
        assert "Ctrl+R" in strip, strip
        for text in (strip, line):  # before: the store's English sentence in a Danish or Czech window
            assert LOCKED[lang] in text, text
            if lang != "en":
                assert "The journal" not in text and "locked by" not in text, text
        status = d.w.status.text()  # before: "Saved · 17 entries · 10:46" beside records not saved
        assert not status.startswith(SAVED[lang]) and str(waiting) in status, status
        d.qtbot.wait(30)
        assert d.w.grab().save(str(shots_dir / f"journal_locked_{lang}.png"))
    finally:
        other.rollback()
        other.close()
    d.press(Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)  # retry now
    assert d.session.unsaved == 0 and not d.w.error_strip.isVisible()
    assert d.w.status.text().startswith(SAVED[lang])
    answers = {e.data["field"]: e.data["value"] for e in d.entries("answer")}
    assert answers.get("employment") == "employed" and answers.get("finance_difficulty") is False, answers


@pytest.mark.parametrize("lang", ["da", "cs"])
@pytest.mark.parametrize("kind, exc", [
    ("full", OSError(errno.ENOSPC, "No space left on device")),
    ("readonly", sqlite3.OperationalError("attempt to write a readonly database")),
    ("corrupt", sqlite3.DatabaseError("database disk image is malformed")),
])
def test_every_kind_of_journal_failure_has_its_words(lang, kind, exc, tmp_path):
    from callguide.qt import i18n
    from callguide.store.sqlite import classify_error

    path = tmp_path / "journal.db"
    error = classify_error(exc, path)
    assert error.kind == kind
    i18n.set_language(lang)
    text = i18n.store_text(error, path)
    assert str(path) in text  # which file, for whoever helps
    assert "The journal" not in text and "The disk" not in text, text  # not the store's English sentence
    assert text != i18n.tr_in("en", f"journal.{kind}", path=path) and "{" not in text


def test_a_note_taken_while_the_journal_is_locked_waits_once_and_leaves_the_box(short_wait, open_window, db_path):
    """Alt+A on a locked journal: the call took the note (it waits, with the call's other records, for
    Ctrl+R), but its text stayed in the box as if nothing had happened, and saving it again wrote it
    twice. Now the box is emptied as for a saved note, and Ctrl+R writes it once."""
    from tests.qt.test_notes import type_note

    d = open_window(country="UK", lang="en")
    open_to_affordability(d)
    other = sqlite3.connect(db_path, timeout=0.1)
    other.execute("BEGIN EXCLUSIVE")
    try:
        type_note(d, "Asked us to call after 5pm")
        d.press(Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)
        assert d.session.unsaved > 0 and d.w.error_strip.isVisible()
        assert d.w.side.note_edit.toPlainText() == ""  # before: still there, to be saved a second time
        d.press(Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)  # an agent who presses it again
    finally:
        other.rollback()
        other.close()
    d.press(Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert d.session.unsaved == 0
    assert [d.session.open_value(e.data["text"]) for e in d.entries("note")] == ["Asked us to call after 5pm"]
