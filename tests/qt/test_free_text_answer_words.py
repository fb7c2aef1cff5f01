"""A free-text answer that may hold health details, in the real window (the typed-text rule:
`policy.typed_text`). The care referral's note is never refused: without the consent it is held back
and the step panel says in one line, in the agent's language, that the details were not saved and to
pass them on by phone (rule.answer-held-back), still there on the step after Next. An ordinary step's
note is refused under its field (msg.answer-sensitive) and kept typed, uncommitted. Real engine, real
flows, real word lists, a real SQLite journal and its bytes; the screens are saved as PNG."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from callguide.qt.i18n import tr
from callguide.store.sealing import say

pytestmark = pytest.mark.qt

CASES = {"en": ("UK", "Customer has cancer, on chemo"), "da": ("DK", "Kunden har kræft, får kemo"),
         "cs": ("CZ", "Zákazník má rakovinu, chemoterapie")}


def _raw(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


@pytest.mark.parametrize("lang", ["en", "da", "cs"])
def test_a_held_back_referral_note_is_said_in_one_line_and_the_referral_goes(open_window, db_path, shots_dir,
                                                                            lang):
    from callguide.qt import i18n

    country, text = CASES[lang]
    i18n.set_language(lang)
    d = open_window(country=country, lang=lang)
    d.press(Qt.Key.Key_Return)  # begin the call
    d.press(Qt.Key.Key_F6)  # the care referral, from anywhere
    d.qtbot.waitUntil(lambda: d.where == ("care-referral", "summary"), timeout=2000)
    d.next()
    assert d.where == ("care-referral", "reason")
    d.fill("referral_reason", "agent_unsure")
    d.fill("referral_note", text)  # committed as the agent leaves the field
    panel = d.panel
    d.qtbot.waitUntil(panel.notice.isVisible, timeout=2000)
    assert panel._rows["referral_note"].edit.text() == say("privacy.answer_held_back", lang)  # never the text
    assert d.w.grab().save(str(shots_dir / f"answer_held_back_field_{lang}.png"))
    d.next()
    assert d.where == ("care-referral", "handover")  # never refused: the referral goes on
    d.qtbot.waitUntil(panel.notice.isVisible, timeout=2000)
    assert panel.notice.text() == tr("rule.answer-held-back")
    assert "\n" not in panel.notice.text() and text.split()[-1] not in panel.notice.text()
    assert d.w.grab().save(str(shots_dir / f"answer_held_back_{lang}.png"))
    assert text.split()[-1].encode() not in _raw(db_path)


def test_an_ordinary_steps_note_with_health_words_is_refused_under_its_field(open_window, db_path, shots_dir):
    d = open_window()
    d.press(Qt.Key.Key_Return)
    d.press(Qt.Key.Key_F2)  # TEXAS
    d.qtbot.waitUntil(lambda: d.where[0] == "texas", timeout=2000)
    while d.view.kind != "consent":
        d.next()
    d.consent("declined")
    assert d.where == ("texas", "ask-adjustments")
    d.fill("adjustments_wanted", True)
    d.fill("adjustment_notes", "Customer has cancer, on chemo")
    panel = d.panel
    assert "adjustment_notes" not in d.session.facts.values
    d.qtbot.waitUntil(lambda: panel._rows["adjustment_notes"].message.isVisible(), timeout=2000)
    hint = panel._rows["adjustment_notes"].message.text()
    assert hint == tr("msg.answer-sensitive") and "cancer" not in hint
    assert panel._rows["adjustment_notes"].edit.text() == "Customer has cancer, on chemo"  # kept, uncommitted
    message = panel._rows["adjustment_notes"].message  # scrolled to: the whole line is on screen
    d.qtbot.waitUntil(lambda: message.visibleRegion().boundingRect().height() == message.height(), timeout=2000)
    assert d.w.grab().save(str(shots_dir / "answer_refused_en.png"))
    assert b"cancer" not in _raw(db_path)
