"""The "flag this step for the trainers" box at a 960 px wide window, in English, Danish and
Czech, normal and large text: its question is shown whole (wrapped), never cut off. Each state is
rendered to PNG (tests/qt/screenshots/flag_box/, or $CALLGUIDE_SHOTS) for a person to look at."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.qt.clipping import clipped
from tests.qt.test_calls import open_to_affordability
from tests.qt.test_screens import seed_history

pytestmark = pytest.mark.qt

HINT = {"en": "What was wrong or unclear?", "da": "Hvad var forkert eller uklart?", "cs": "Co bylo špatně nebo nejasné?"}


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
@pytest.mark.parametrize("lang,country", [("en", "UK"), ("da", "DK"), ("cs", "CZ")], ids=["en", "da", "cs"])
def test_the_flag_box_question_is_never_cut_at_960_px(open_window, library, store, shots_dir, lang, country, large):
    seed_history(library, store)  # the side column is full: the flag box is below the fold
    d = open_window(account_id="A-500", name="Kim Larsen", country=country, lang=lang, large_text=large)
    d.w.resize(960, 720)
    open_to_affordability(d)
    d.press(Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    side = d.w.side
    assert QApplication.focusWidget() is side.flag_edit  # Ctrl+Shift+F: to the box, scrolled into view
    for _ in range(3):
        QApplication.processEvents()
    side.ensureWidgetVisible(side.flag_button)
    QApplication.processEvents()
    shots = shots_dir / "flag_box"
    shots.mkdir(exist_ok=True)
    assert side.grab().save(str(shots / f"960_{lang}{'_large' if large else ''}.png"))
    cut = [p for p in clipped(d.w) if "#flagEdit " in p or HINT[lang][:12] in p]
    assert not cut, cut  # before: "QLineEdit#flagEdit 'Co bylo špatně nebo nejasné?': hint 210px wide in 201px"
    hint = side.flag_hint
    assert hint.text() == HINT[lang] and hint.isVisible() and hint.wordWrap()
    assert hint.heightForWidth(hint.width()) <= hint.height() + 2  # all its lines are shown
    right = hint.mapTo(side.viewport(), hint.rect().topRight()).x()
    assert right <= side.viewport().width(), (right, side.viewport().width())
    for b in (side.note_button, side.flag_button):  # the column's own buttons: inside it, their words whole
        right = b.mapTo(side.viewport(), b.rect().topRight()).x()
        assert right <= side.viewport().width(), (b.text(), right, side.viewport().width())
        assert b.shown_text().split() == b.text().split() or b.toolTip() == b.text(), (b.shown_text(), b.text())
    assert not [p for p in clipped(d.w) if "#sideInner" in p or "#quietButton" in p], clipped(d.w)
    edit = side.flag_edit
    assert not edit.placeholderText() or \
        edit.fontMetrics().horizontalAdvance(edit.placeholderText()) <= edit.width() - 16
