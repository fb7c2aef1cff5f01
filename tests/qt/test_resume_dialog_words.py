"""The resume dialog's rows (issue 11 §4/§5): when a call started and its last step, in this
computer's local time and the UI language's own form, never the journal's raw UTC ISO text.
Real calls in a real SQLite journal."""

from __future__ import annotations

import datetime as dt
import re

import pytest

pytestmark = pytest.mark.qt


@pytest.mark.parametrize("lang, date_rx", [("en", r"\d{1,2} \w{3} \d{4} \d\d:\d\d"),
                                            ("da", r"\d{1,2}\. \w{3}\.? \d{4} \d\d\.\d\d"),
                                            ("cs", r"\d{1,2}\. \d{1,2}\. \d{4} \d{1,2}:\d\d")])
def test_resume_rows_say_when_in_the_ui_language(qtbot, library, store, lang, date_rx):
    from callguide.engine.session import Account, CallSession
    from callguide.qt import i18n
    from callguide.qt.dialogs import ResumeDialog

    i18n.set_language(lang)
    s = CallSession.start(library, store, Account("A-901", "Petra Nováková", "CZ"), "agent-7")
    s.answer({"identity_check": "confirmed"})
    dlg = ResumeDialog(store.unfinished_calls())
    qtbot.addWidget(dlg)
    row = dlg.list.item(0).text()
    assert not re.search(r"\d{4}-\d\d-\d\d", row), row
    assert re.search(date_rx, row), row
    started = dt.datetime.fromisoformat(store.unfinished_calls()[0].started).astimezone()
    assert f"{started:%Y}" in row and str(started.day) in row
