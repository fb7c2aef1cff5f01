"""A reason the agent typed that may hold health details, refused by the gate, in the real window:
the step panel says why in the agent's language (rule.reason-sensitive), and nothing is written.
The live-call window has no typed-reason box of its own (the escalation bar sends a fixed reason):
a typed reason reaches the engine through the window's bridge, the one door it has, as here.
Real engine, real flows, real word lists, a real SQLite journal."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from callguide.engine.commands import Action
from callguide.qt.i18n import tr

pytestmark = pytest.mark.qt

CASES = {"en": ("UK", "Chemotherapy until March"), "da": ("DK", "Kemoterapi til marts, kræft"),
         "cs": ("CZ", "Chemoterapie do března, rakovina")}


def _raw(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


@pytest.mark.parametrize("lang", ["en", "da", "cs"])
def test_a_refused_hold_reason_is_said_in_the_agents_language(open_window, db_path, tmp_path, lang):
    from callguide.qt import i18n

    country, text = CASES[lang]
    i18n.set_language(lang)
    d = open_window(country=country, lang=lang)
    d.press(Qt.Key.Key_Return)  # begin the call
    res = d.w.bridge.apply(Action("start_hold", {"days": 30, "reason": text}))
    assert res is not None and not res.ok and res.rule == "reason-sensitive"
    panel = d.w.step_panel
    d.qtbot.waitUntil(panel.notice.isVisible, timeout=2000)
    assert panel.notice.text() == tr("rule.reason-sensitive")
    assert "TEXAS" in panel.notice.text() and text.split()[0] not in panel.notice.text()
    assert not d.w.session.facts.state.hold_active
    assert d.w.grab().save(str(tmp_path / f"typed_reason_refused_{lang}.png"))
    assert text.split()[0].encode() not in _raw(db_path)
