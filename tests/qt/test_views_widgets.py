"""Widgets take a view (the napari pattern): each one is built alone around a real engine and a
real journal, handed a `StepView` the engine built, and asserted on what it shows. The bridge
builds the view once per operation and pushes it; a click on Next builds exactly one."""

from __future__ import annotations

import cProfile
import pstats

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from callguide.engine.session import Account, CallSession
from callguide.qt.i18n import tr

pytestmark = pytest.mark.qt


@pytest.fixture
def session(library, store):
    return CallSession.start(library, store, Account("V-1", "Vera Viewer", "UK", "en", "250.00"), "agent-v")


def _quiet_bridge(session):
    """A bridge that does not push: the test hands the widget each view itself."""
    from callguide.qt.bridge import SessionBridge

    bridge = SessionBridge(session)
    bridge.detach()
    return bridge


def _to_purpose(session) -> None:
    session.answer({"identity_check": "confirmed"})
    session.next()
    assert session.view().step_id == "purpose"


def test_step_panel_shows_the_view_it_is_given(qtbot, session):
    from callguide.qt.step_panel import CRUMB_SEP, StepPanel

    panel = StepPanel(_quiet_bridge(session))
    qtbot.addWidget(panel)
    panel.show()
    first = session.view()
    assert first.step_id == "identity" and first.fields
    panel.show_view(first)
    assert panel.say_text.text() == first.say
    assert panel.crumbs.text() == CRUMB_SEP.join(t for _, t in first.breadcrumbs)
    assert list(panel._rows) == [f.id for f in first.fields if f.visible]
    field = first.fields[0]
    radios = panel._rows[field.id].radios
    assert [r.text() for r in radios] == [label for _, label in field.choices]
    assert not any(r.isChecked() for r in radios)  # nothing answered yet

    _to_purpose(session)  # the engine moved on; the panel shows only what it is handed
    assert panel.say_text.text() == first.say
    later = session.view()
    panel.show_view(later)
    assert panel.say_text.text() == later.say != first.say
    assert panel.guide_text.text() == later.guidance
    assert panel.next_button.isEnabled() == later.next_enabled
    assert panel.back_button.isEnabled() == later.can_back
    assert [b.property("choiceId") for b in panel._choice_buttons] == [c.id for c in later.choices]
    assert list(panel._rows) == [f.id for f in later.fields if f.visible]
    assert panel.view is later


def test_step_panel_leaves_unchanged_labels_alone(qtbot, session):
    """A new view of the same step with the same texts causes no layout pass in the step column."""
    from PySide6.QtCore import QEvent, QObject

    from callguide.qt.step_panel import StepPanel

    panel = StepPanel(_quiet_bridge(session))
    qtbot.addWidget(panel)
    panel.show()
    _to_purpose(session)
    view = session.view()
    panel.show_view(view)
    qtbot.wait(50)  # the new step laid out, its focus settled
    requests: list[str] = []

    class LayoutRequests(QObject):
        def eventFilter(self, obj, ev):  # noqa: N802 (Qt name)
            if ev.type() == QEvent.Type.LayoutRequest:
                requests.append(obj.objectName())
            return False

    counter = LayoutRequests()
    for w in (panel.say_card, panel.guide_card, panel.scroll.widget()):
        w.installEventFilter(counter)
    again = session.view()
    assert again is not view and again.say == view.say
    panel.show_view(again)
    QApplication.processEvents()
    assert requests == []
    assert panel.say_text.text() == view.say

    session.next()  # another step: its text is laid out again
    panel.show_view(session.view())
    QApplication.processEvents()
    assert "sayCard" in requests or "stepInner" in requests


def test_call_bar_shows_the_view_it_is_given(qtbot, session):
    from callguide.qt.call_bar import CallBar, split_label

    bridge = _quiet_bridge(session)
    bar = CallBar(bridge)
    qtbot.addWidget(bar)
    view = session.view()
    bar.show_view(view)
    for iv in view.interrupts:
        cell = bar.interrupt_cells.get(iv.id)
        if cell is None:
            continue  # absorbed by an escalation button (F6)
        short, caption = split_label(iv.label, iv.protocol)
        assert cell.button.text().endswith(short)
        assert cell.button.isEnabled() == iv.enabled
    assert all(c.button.isEnabled() for c in bar.escalation_cells.values())

    session.end_call("no_contact")
    ended = session.view()
    assert ended.ended
    bar.show_view(ended)
    assert not any(c.button.isEnabled() for c in bar.escalation_cells.values())
    assert {c.slot.text() for c in bar.escalation_cells.values()} == {tr("bar.call_ended")}
    assert not any(c.button.isEnabled() for c in bar.interrupt_cells.values())

    # the same part of the view again: nothing is painted again
    cell = bar.escalation_cells["supervisor"]
    cell.slot.setText("(left alone)")
    bar.show_view(session.view())
    assert cell.slot.text() == "(left alone)"
    bridge.rebuild_view()
    bar.refresh()  # asked to paint everything again (the UI language changed)
    assert cell.slot.text() == tr("bar.call_ended")


def test_side_panel_shows_the_consents_of_the_view(qtbot, session):
    from PySide6.QtWidgets import QPushButton

    from callguide.qt.side_panel import SidePanel

    bridge = _quiet_bridge(session)
    side = SidePanel(bridge)
    qtbot.addWidget(side)
    assert side.findChildren(QPushButton, "withdrawConsent") == []
    _to_purpose(session)
    session.interrupt("texas")
    while session.view().kind != "consent":
        session.next()
    session.consent("given")
    view = session.view()
    assert [c.purpose for c in view.consents_in_force]
    side.show_view(view)
    buttons = side.findChildren(QPushButton, "withdrawConsent")
    assert len(buttons) == len(view.consents_in_force)
    assert all(b.isEnabled() for b in buttons)
    assert side.recorded.text() != tr("side.nothing_yet")  # the consent is listed as recorded

    session.end_call("no_contact")
    side.show_view(session.view())
    buttons = side.findChildren(QPushButton, "withdrawConsent")
    assert buttons and not any(b.isEnabled() for b in buttons)


def _builds(fn) -> int:
    """How many views the engine built while `fn` ran (counted by the profiler, not by a stub)."""
    from callguide.engine import views

    prof = cProfile.Profile()
    prof.enable()
    try:
        fn()
    finally:
        prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    code = views.build_view.__code__
    return sum(v[1] for (file, line, name), v in stats.items()
               if name == "build_view" and file == code.co_filename and line == code.co_firstlineno)


def test_one_view_build_per_click(open_window):
    d = open_window()
    d.begin()
    QApplication.processEvents()
    bridge = d.w.bridge
    d.session.answer({"identity_check": "confirmed"})
    d.session.next()
    QApplication.processEvents()
    assert bridge.view.step_id == "purpose" and d.panel.say_text.text() == bridge.view.say

    before = bridge.views_built
    n = _builds(lambda: (d.qtbot.mouseClick(d.panel.next_button, Qt.MouseButton.LeftButton),
                         QApplication.processEvents()))
    assert bridge.view.step_id != "purpose"  # it moved on
    assert n == 1
    assert bridge.views_built - before == 1

    n = _builds(lambda: (d.qtbot.mouseClick(d.panel.back_button, Qt.MouseButton.LeftButton),
                         QApplication.processEvents()))
    assert n == 1 and bridge.view.step_id == "purpose"
    assert d.panel.say_text.text() == bridge.view.say
    assert d.w.call_bar.escalation_cells["emergency"].button.isEnabled()
