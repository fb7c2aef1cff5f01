"""Switching the call's language from its menu (Ctrl+L, arrows, Enter) mid-call: the step is painted
again in the new language, and the focus goes back to where the agent was on the step, though the
field was rebuilt under it. What was typed is kept (committed as the focus left it for the menu).
Keys only, en -> da and en -> cs. (A guard: this held before this branch.)"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.qt.test_calls import open_to_affordability

pytestmark = pytest.mark.qt


def choose_language(d, lang: str) -> None:
    d.press(Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    menu = d.w.lang_menu
    d.qtbot.waitUntil(lambda: QApplication.activePopupWidget() is menu, timeout=2000)
    for _ in range(len(menu.actions())):
        if menu.activeAction() is d.w.lang_actions[lang]:
            break
        d.qtbot.keyClick(menu, Qt.Key.Key_Down)
    d.qtbot.keyClick(menu, Qt.Key.Key_Return)
    d.qtbot.waitUntil(lambda: QApplication.activePopupWidget() is None, timeout=2000)


@pytest.mark.parametrize("lang", ["da", "cs"])
def test_the_focus_comes_back_to_the_field_after_a_language_switch(open_window, lang, shots_dir):
    d = open_window()
    open_to_affordability(d)
    d.fill("employment", "employed")
    d.fill("finance_difficulty", False)
    d.next()
    edit = d.panel._rows["income"].edit
    assert edit.hasFocus()
    d.type_text(edit, "1850")
    choose_language(d, lang)
    assert d.session.lang == lang
    d.qtbot.waitUntil(lambda: QApplication.focusWidget() is d.panel._rows["income"].edit, timeout=2000)
    assert [e.data["value"] for e in d.entries("answer") if e.data["field"] == "income"] == ["1850.00"]
    d.qtbot.wait(30)
    assert d.w.grab().save(str(shots_dir / f"language_switch_{lang}.png"))
    d.press(Qt.Key.Key_Return)  # on to the next input, as the agent meant to
    assert QApplication.focusWidget() is not None and d.panel.isAncestorOf(QApplication.focusWidget())
