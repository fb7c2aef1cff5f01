"""The wrap-up's outcome box starts on the outcome the call reached, never on "Other" after a
crisis; the outcomes the gate refuses are not offered. Driven by keys through the real window,
with the real engine, the real flows and a real SQLite journal."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.qt.test_calls import open_to_affordability
from tests.qt.test_field_trial import ALT, CTRL, SHIFT, blake_no_immediate_danger, key

pytestmark = pytest.mark.qt


def offered(wrap) -> list[str]:
    return [wrap.outcome.itemData(i) for i in range(wrap.outcome.count())]


def test_after_blake_the_wrap_up_starts_on_the_crisis_outcome(open_window):
    d = open_window()
    open_to_affordability(d)
    key(d, Qt.Key.Key_F5)  # the customer says they do not want to live
    blake_no_immediate_danger(d)
    assert d.session.state.crisis and d.session.state.call_outcome is None  # nothing chosen yet
    key(d, Qt.Key.Key_W, CTRL | SHIFT)  # straight to the wrap-up
    wrap = d.w.wrap_panel
    assert d.w.pages.currentWidget() is wrap
    assert wrap.outcome.currentData() == "crisis", wrap.outcome.currentText()
    assert wrap.outcome.currentText() == "Crisis — customer at risk"
    assert "arrangement_agreed" not in offered(wrap)  # the gate still refuses collection outcomes
    key(d, Qt.Key.Key_C, ALT)
    key(d, Qt.Key.Key_Return, CTRL)
    assert d.session.ended
    assert [e.data["outcome"] for e in d.entries("call_ended")] == ["crisis"]


def test_a_call_that_reached_nothing_starts_on_other_and_the_agents_pick_stays(open_window):
    d = open_window()
    open_to_affordability(d)
    key(d, Qt.Key.Key_W, CTRL | SHIFT)
    wrap = d.w.wrap_panel
    assert wrap.outcome.currentData() == "other"
    wrap.outcome.setFocus()
    key(d, Qt.Key.Key_Home)
    key(d, Qt.Key.Key_Down)
    picked = wrap.outcome.currentData()
    assert picked not in ("other", offered(wrap)[0])
    wrap.refresh()  # a repaint (another operation) keeps what the agent chose
    assert wrap.outcome.currentData() == picked
