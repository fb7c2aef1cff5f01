"""Every flow of the protocol library, end to end in the real call window: each shipped
practice case's model answer is played by clicks and keys (Next, answer buttons, fields,
consent buttons), starting the window on that flow, and the result is scored against the
case's expected outcome and records, from what the journal holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from callguide.library.practice import find_practice_cases, load_practice_case, score_trace
from tests.qt.driver import CallDriver

pytestmark = pytest.mark.qt

ROOT = Path(__file__).resolve().parents[2]
CASES = find_practice_cases(ROOT / "flows")


def play(d: CallDriver, event: dict) -> None:
    (key, value), = ((k, v) for k, v in event.items() if k in ("next", "answer", "consent"))
    if key == "answer":
        d.fill_all(value)
    elif key == "consent":
        d.consent(value)
    elif value is None:
        d.next()
    else:
        d.choose(str(value))


@pytest.mark.parametrize("case_path", CASES, ids=[p.name.split(".")[0] for p in CASES])
def test_model_answer_through_the_window_scores_full_marks(case_path, qtbot, library, store, db_path):
    from callguide.engine.script import trace
    from callguide.engine.session import Account, CallSession
    from callguide.library.live import load_for_practice
    from callguide.qt.call_window import CallWindow

    case = load_practice_case(case_path)
    if case.flow not in library.flows:  # HARMED is practice only until a reviewed version is live
        library = load_for_practice(ROOT / "flows", db_path)
    p = case.persona
    session = CallSession.start(library, store, Account("E2E-1", p.name, p.country, p.lang, p.balance), "agent-7",
                                start_flow=case.start or case.flow, auto_wrap_up=False)
    w = CallWindow(session)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    d = CallDriver(qtbot, w)
    d.begin()
    for event in case.solution:
        play(d, event)
    assert session.root_outcome == case.expected.get("outcome"), (case.name, session.visited[-3:])
    # what the journal holds, not what the session remembers
    journal = store.call_entries(session.call_id)
    session.records = [{"seq": e.seq, "type": e.type, "flow": e.flow_id, "step": e.step_id, "data": e.data,
                        "ts": e.ts} for e in journal]
    score = score_trace(case, trace(session))
    assert score.score == 100, score.differences
    assert store.verify().ok
