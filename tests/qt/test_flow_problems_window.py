"""A flow text over a limit of the template sandbox, in the real window: the say card shows one
line (where, and what to do), never the template's source, and the error strip says it once.
Real flows (a copy with one text changed), real engine, real SQLite journal."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.qt.driver import CallDriver

pytestmark = pytest.mark.qt

ROOT = Path(__file__).resolve().parents[2]
HELLO = "{{ account.name }}"
HUGE = "{{ account.name * (account.balance|int) }}"


@pytest.mark.parametrize("lang, country, say, strip", [
    ("en", "UK", "This text could not be shown", "A text of the flow could not be shown"),
    ("da", "DK", "Denne tekst kan ikke vises", "En tekst i flowet kan ikke vises"),
    ("cs", "CZ", "Tento text nelze zobrazit", "Text toku nelze zobrazit"),
])
def test_a_text_over_a_limit_shows_one_line_in_the_window(qtbot, tmp_path, store, lang, country, say, strip):
    from callguide.engine.session import Account, CallSession
    from callguide.flow.loader import load_library
    from callguide.qt.call_window import CallWindow

    flows = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", flows)
    opening = flows / "call-opening.yaml"
    text = opening.read_text(encoding="utf-8")
    assert text.count(HELLO) >= 3
    opening.write_text(text.replace(HELLO, HUGE), encoding="utf-8")
    lib, diags = load_library([flows])
    assert not [d for d in diags if d.severity == "error"], diags
    s = CallSession.start(lib, store, Account("A-1", "Jo Bloggs", country, lang, "100000000"), "agent-7")
    w = CallWindow(s)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    d = CallDriver(qtbot, w)
    d.press(Qt.Key.Key_Return)  # begin
    assert d.where == ("call-opening", "identity")
    shown = w.step_panel.say_text.text()
    assert shown.startswith("\u26a0 " + say) and "call-opening.yaml:" in shown
    assert "{" not in shown and "account.name" not in shown and "Jo Bloggs" not in shown
    qtbot.waitUntil(w.error_strip.isVisible, timeout=2000)
    assert strip in w.error_strip.text() and "call-opening.yaml:" in w.error_strip.text()
    assert [e.data["what"] for e in d.entries("flow_problem")] == ["text"]
