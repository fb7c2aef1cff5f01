"""A screen-pop opens the window for the customer on the line; an unfinished call the journal holds
for ANOTHER account is offered too, but Enter must not resume it (the agent would talk to Anna with
Bo's call on screen): the dialog says whose call it is and that the call on the line is someone
else's, and its default is to leave it and start the call for the customer on the line. An
unfinished call for the same account is still resumed by Enter. Keys only, real launcher, engine,
flows and SQLite journal."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.qt.conftest import FLOWS

pytestmark = pytest.mark.qt

COUNTRY = {"en": "UK", "da": "DK", "cs": "CZ"}


def left_unfinished(library, store, account_id: str, name: str) -> str:
    from callguide.engine.session import Account, CallSession

    s = CallSession.start(library, store, Account(account_id, name, "UK", None, "10"), "agent-7")
    s.next()  # then the program is killed: the call stays unfinished in the journal
    return s.call_id


def launch_pressing_enter(qtbot, db_path, monkeypatch, account, shot=None):
    from callguide.qt import app as app_mod
    from callguide.qt.dialogs import ResumeDialog

    seen: dict = {}

    def enter(dlg):  # the modal dialog, answered by Enter on whatever has the focus
        dlg.show()
        qtbot.waitExposed(dlg)
        dlg.activateWindow()
        qtbot.wait(20)
        warning = getattr(dlg, "other_account", None)
        seen["warning"] = warning.text() if warning is not None and warning.isVisible() else ""
        if shot is not None:
            dlg.grab().save(str(shot))
        qtbot.keyClick(QApplication.focusWidget() or dlg, Qt.Key.Key_Return)
        if dlg.isVisible():  # Enter did nothing: leave it (never hang the launch)
            dlg.reject()
        return dlg.result()

    monkeypatch.setattr(ResumeDialog, "exec", enter)
    w, code = app_mod.open_call(db_path, FLOWS, "agent-7", account=account)
    assert w is not None, code
    qtbot.addWidget(w)
    return w, seen


@pytest.mark.parametrize("lang", ["en", "da", "cs"])
def test_enter_never_resumes_another_customers_call(qtbot, library, store, db_path, monkeypatch, shots_dir, lang):
    from callguide.qt.i18n import tr

    bo = left_unfinished(library, store, "B-2", "Bo Berg")
    store.close()
    anna = {"account_id": "A-1", "name": "Anna Ash", "country": COUNTRY[lang], "balance": "5"}
    w, seen = launch_pressing_enter(qtbot, db_path, monkeypatch, anna, shots_dir / f"resume_other_account_{lang}.png")
    try:
        assert seen["warning"] == tr("resume.other_account", name="Anna Ash", account="A-1"), seen["warning"]
        # before: Enter resumed Bo Berg's call in the window the dialer opened for Anna Ash
        assert w.session.account.id == "A-1" and not w.resumed and w.session.call_id != bo
        assert [c.call_id for c in w.session.store.unfinished_calls() if c.call_id == bo] == [bo]  # still there
    finally:
        w.close()
        w.session.store.close()


def test_enter_still_resumes_the_same_customers_call(qtbot, library, store, db_path, monkeypatch):
    anna_call = left_unfinished(library, store, "A-1", "Anna Ash")
    store.close()
    anna = {"account_id": "A-1", "name": "Anna Ash", "country": "UK", "balance": "5"}
    w, seen = launch_pressing_enter(qtbot, db_path, monkeypatch, anna)
    try:
        assert seen["warning"] == ""
        assert w.resumed and w.session.call_id == anna_call
    finally:
        w.close()
        w.session.store.close()


def test_the_person_at_the_keyboard_goes_on_with_a_resumed_call(qtbot, library, store, db_path, monkeypatch,
                                                               tmp_path):
    """A call bo (care team) started and the program lost is resumed in agent-7's window: what follows
    is agent-7's, under no role bo had and agent-7 lacks (before, the window did not say who resumed:
    every later entry was journalled as bo's, under his care-team role)."""
    from callguide.engine.session import Account, CallSession

    people = tmp_path / "people.yaml"
    people.write_text("people:\n  bo: {name: Bo Nielsen, roles: [agent, care_team]}\n"
                      "  agent-7: {name: Anna Jensen, roles: [agent]}\n", encoding="utf-8")
    monkeypatch.setenv("CALLGUIDE_PEOPLE", str(people))
    s = CallSession.start(library, store, Account("A-1", "Anna Ash", "UK", None, "10"), "bo")
    s.next()
    store.close()
    anna = {"account_id": "A-1", "name": "Anna Ash", "country": "UK", "balance": "5"}
    w, _ = launch_pressing_enter(qtbot, db_path, monkeypatch, anna)
    try:
        assert w.resumed and w.session.call_id == s.call_id
        assert w.session.agent == "agent-7" and "care_team" not in w.session.person.roles
    finally:
        w.close()
        w.session.store.close()
