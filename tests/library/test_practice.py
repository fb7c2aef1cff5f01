from __future__ import annotations

import pytest

from callguide.flow.loader import load_library
from callguide.library.practice import (
    PracticeError,
    load_practice_case,
    run_practice_case,
    start_practice,
)

CASE = """\
name: "Disclosure, consent given"
flow: disclose
persona: {name: Jo Bloggs, country: UK, lang: en, situation: "Jo has just been diagnosed with diabetes."}
script:
  consent: "Yes, that's fine, note it down."
  disclose/details: "It's type 2 diabetes."
expected:
  outcome: recorded
  records: [{type: consent, decision: given}, {type: vulnerability}]
  no_records: [{type: disclosure}]
  protocols: [disclose]
solution:
  - {consent: given}
  - {answer: {condition: diabetes}}
  - {next: null}
  - {next: null}
"""


@pytest.fixture
def case(tmp_path):
    p = tmp_path / "disclose.practice.yaml"
    p.write_text(CASE, encoding="utf-8")
    return load_practice_case(p)


@pytest.fixture
def lib(flows):
    lib, _ = load_library([flows])
    return lib


def test_the_model_solution_scores_100(lib, case, tmp_path):
    score, trace = run_practice_case(lib, case, tmp_path / "practice.db")
    assert score.score == 100, score.differences
    assert score.differences == []
    assert case.customer_line("disclose", "details") == "It's type 2 diabetes."
    assert case.customer_line("disclose", "consent") == "Yes, that's fine, note it down."


def test_a_wrong_call_loses_points_with_plain_differences(lib, case, tmp_path):
    score, _ = run_practice_case(lib, case, tmp_path / "practice.db", events=[{"consent": "declined"}, {"next": None}])
    assert score.score < 50
    assert "The protocol ended with 'declined'; expected 'recorded'." in score.differences
    assert any(d.startswith("Missing: a vulnerability record") for d in score.differences)
    assert "Should not happen in this case: a 'disclosure made, consent declined' record was recorded." \
        in score.differences


def test_practice_never_writes_to_the_live_journal(lib, case, tmp_path, monkeypatch):
    live = tmp_path / "live.db"
    monkeypatch.setenv("CALLGUIDE_DB", str(live))
    with pytest.raises(PracticeError, match="live journal"):
        start_practice(lib, live, case)
    session, store = start_practice(lib, tmp_path / "p.db", case)
    assert session.practice
    store.close()
    assert not live.exists()


def test_bad_case_file_is_one_line_with_position(tmp_path):
    p = tmp_path / "bad.practice.yaml"
    p.write_text("flow: texas\npersona: {name: X, mood: cross}\nexpected: {}\n", encoding="utf-8")
    with pytest.raises(PracticeError, match=r"bad.practice.yaml:2: unknown persona key 'mood'"):
        load_practice_case(p)
