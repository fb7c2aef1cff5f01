"""The call window's notices: a protocol held back for review is named with what to do instead
(HARMED: never lost silently), and a flag the agent raised shows as fixed on their next call."""

from __future__ import annotations

import pytest

from tests.qt.conftest import FLOWS

pytestmark = pytest.mark.qt

PEOPLE = """\
people:
  anna: {name: Anna Jensen, roles: [trainer]}
  rita: {name: Rita Novak, roles: [reviewer]}
"""


def window(qtbot, lib, store, agent="agent-7"):
    from callguide.engine.session import Account, CallSession
    from callguide.qt.call_window import CallWindow

    s = CallSession.start(lib, store, Account("A-100", "Jo Bloggs", "UK", None, "100.00"), agent)
    w = CallWindow(s)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.begin_button.click()  # the side column shows once the call has begun
    qtbot.waitUntil(w.side.isVisible, timeout=3000)
    return w


def test_harmed_held_back_for_review_is_named_with_what_to_do(qtbot, library, store, shots_dir):
    assert "harmed" not in library.flows
    w = window(qtbot, library, store)
    n = w.side.notices
    assert n.isVisible()
    text = n.withheld_label.text()
    assert text.startswith("HARMED (upset or angry customer) is not live yet")
    assert "F5 (BLAKE)" in text and "F6" in text and "F7" in text
    assert w.side.grab().save(str(shots_dir / "call-notices-harmed.png"))


def test_a_fixed_flag_is_shown_to_its_agent_on_the_next_call_only(qtbot, tmp_path, monkeypatch, db_path, store,
                                                                shots_dir):
    from callguide.identity import person
    from callguide.library.flags import list_flags, triage
    from callguide.library.live import load_for_calls
    from callguide.library.publish import approve
    from callguide.library.workspace import Workspace, create_workspace

    people = tmp_path / "people.yaml"
    people.write_text(PEOPLE, encoding="utf-8")
    monkeypatch.setenv("CALLGUIDE_PEOPLE", str(people))
    lib = load_for_calls(FLOWS, db_path)
    first = window(qtbot, lib, store)
    first.session.flag_step("the opening sounds cold")
    first.session.end_call()
    first.close()
    ws = create_workspace(tmp_path / "ws", FLOWS, git=False)
    path = ws / "call-opening.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('version: "1.0.0"', 'version: "1.0.1"', 1),
                    encoding="utf-8")
    with monkeypatch.context() as m:
        # The gate runs the flow tests against the contact rules live calls use, and call-opening's tests
        # check the Czech night hours: not this folder's any-time rules for wall-clock windows.
        m.delenv("CALLGUIDE_CONTACT_RULES")
        vs = Workspace(ws, db_path, person=person("anna")).submit(path, "warmer opening")
    assert vs.version.evidence["tests"]["contact_rules"].endswith("resources/contact_rules.yaml")
    flag = list_flags(db_path)[0]
    triage(db_path, flag.ref, "fixed", person("anna"), version="1.0.1")
    approve("call-opening", "1.0.1", person("rita"), db_path)
    lib = load_for_calls(FLOWS, db_path)
    nxt = window(qtbot, lib, store)
    label = nxt.side.notices.fixed_label
    assert label.isVisible()
    assert "The step you flagged (call-opening / " in label.text() and "version 1.0.1" in label.text()
    assert "“the opening sounds cold”" in label.text()
    assert nxt.side.grab().save(str(shots_dir / "call-notices-fixed.png"))
    nxt.session.end_call()
    nxt.close()
    other = window(qtbot, lib, store, agent="agent-9")
    assert not other.side.notices.fixed_label.isVisible()
    again = window(qtbot, lib, store)
    assert not again.side.notices.fixed_label.isVisible()  # once, on the next call
