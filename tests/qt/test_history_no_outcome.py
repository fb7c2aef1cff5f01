"""The history's last call, when that call was closed without an outcome code (a script's `end`
without one, an abandoned call): said in words in the call's language, never "Last call outcome: ?".
Real engine, flows and SQLite journal; the banner widget from the session's history."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel

pytestmark = pytest.mark.qt


@pytest.mark.parametrize("lang", ["en", "da", "cs"])
def test_a_last_call_without_an_outcome_says_so(qtbot, library, store, lang):
    from callguide.engine.session import Account, CallSession
    from callguide.qt import i18n
    from callguide.qt.banner import AccountBanner, date_text

    first = CallSession.start(library, store, Account("A-7", "Jo Bloggs", "UK", None, "10"), "agent-1")
    first.end_call()  # closed with no outcome code
    later = CallSession.start(library, store, Account("A-7", "Jo Bloggs", "UK", None, "10"), "agent-1")
    i18n.set_language(lang)
    banner = AccountBanner(later.history)
    qtbot.addWidget(banner)
    lines = [lab.text() for lab in banner.findChildren(QLabel, "bannerLine")]
    when = date_text(str(later.history.last_outcome.get("ts", ""))[:10])
    assert i18n.tr("hist.outcome_none", date=when) in lines, lines  # before: "Last call outcome: ? (DATE)"
    assert not any(": ?" in line for line in lines), lines
