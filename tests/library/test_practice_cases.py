"""Every shipped practice case loads, its model answer scores 100 on the real flows, and every
protocol has at least one case."""

from __future__ import annotations

import pytest

from callguide.flow.loader import load_library
from callguide.library.practice import find_practice_cases, load_practice_case, run_practice_case

from .conftest import REAL_FLOWS

PROTOCOLS = ["call-opening", "texas", "idea", "bruce", "harmed", "blake", "affordability", "hold",
             "payment-arrangement", "care-referral", "wrap-up"]
CASES = find_practice_cases(REAL_FLOWS)


@pytest.fixture(scope="module")
def real_lib():
    lib, _ = load_library([REAL_FLOWS])
    return lib


def test_one_case_per_protocol():
    flows = {load_practice_case(p).flow for p in CASES}
    assert set(PROTOCOLS) <= flows


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_model_answer_scores_100(real_lib, path, tmp_path):
    case = load_practice_case(path)
    assert case.flow in real_lib.flows
    score, trace = run_practice_case(real_lib, case, tmp_path / "practice.db")
    assert trace["errors"] == []
    assert score.score == 100, score.differences
    assert case.persona.situation and case.script
