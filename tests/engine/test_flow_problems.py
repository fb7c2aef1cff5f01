"""A flow text or condition that fails at run time (a limit of the bounded template sandbox, or a
mistake the validator cannot see because it depends on an answer) is never silent and never shows
its source: the text is one line in the call's language saying where and what to do, the condition
counts as not met (as a broken condition always has), and each is journalled once per call as a
`flow_problem` the wrap-up lists. Real flows copied from tests/engine/flows, a real SQLite journal."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from callguide.engine.session import Account, CallSession
from callguide.flow.loader import load_library
from tests.engine.conftest import SIGNPOSTS, of_type

FLOWS = Path(__file__).parent / "flows"
POWER = "(income|int) ** (income|int)"   # fine for 10, over the limit for 100000000


def _library(tmp_path: Path, old: str, new: str):
    d = tmp_path / "flows"
    shutil.copytree(FLOWS, d)
    main = d / "main.yaml"
    text = main.read_text(encoding="utf-8")
    assert old in text
    main.write_text(text.replace(old, new, 1), encoding="utf-8")
    lib, diags = load_library([d], signposts=False)
    assert not [x for x in diags if x.severity == "error"], diags
    lib.signposts = SIGNPOSTS
    line = text.split(old, 1)[0].count("\n") + 1
    return lib, f"main.yaml:{line}"


def _start(lib, store, clock, country="UK", lang=None):
    return CallSession.start(lib, store, Account("A1", "Jo Bloggs", country, lang), "agent-7", start_flow="main",
                             clock=clock, auto_wrap_up=False)


def test_a_condition_over_a_limit_counts_as_not_met_and_is_journalled_once(tmp_path, store, clock):
    lib, where = _library(tmp_path, 'when: "income - spend > 0"', f'when: "{POWER} > 0"')
    s = _start(lib, store, clock)
    s.next()
    s.answer({"income": "100000000", "spend": "0"})
    seen: list[dict] = []
    s.subscribe(lambda ev, p: seen.append(p) if ev == "blocked" else None)
    assert s.next()
    assert s.top.step_id == "hold-it"  # not met: the other way (the hold), as a broken condition always went
    for _ in range(3):
        s.view()  # the window builds views again and again: still one problem
    problems = of_type(s, "flow_problem")
    assert len(problems) == 1
    p = problems[0]["data"]
    assert p["what"] == "condition" and p["limit"] is True and p["where"] == where
    assert "limit" in p["reason"]
    assert [x["rule"] for x in seen] == ["flow-problem"] and seen[0]["where"] == where
    assert s.summary()["items"]["flow_problem"][0]["where"] == where


def test_the_same_condition_within_its_limits_works(tmp_path, store, clock):
    lib, _ = _library(tmp_path, 'when: "income - spend > 0"', f'when: "{POWER} > 0"')
    s = _start(lib, store, clock)
    s.next()
    s.answer({"income": "10", "spend": "0"})
    assert s.next() and s.top.step_id == "offer"
    assert of_type(s, "flow_problem") == []


@pytest.mark.parametrize("country, lang, words", [
    ("UK", "en", "This text could not be shown"),
    ("DK", "da", "Denne tekst kan ikke vises"),
    ("CZ", "cs", "Tento text nelze zobrazit"),
])
def test_a_text_over_a_limit_is_one_clear_line_never_its_source(tmp_path, store, clock, country, lang, words):
    src = "{{ account.name * (income|int) }}"
    lib, where = _library(tmp_path, "say: {en: Can you pay?, da: Kan du betale?, cs: Můžete platit?}",
                          f'say: {{en: "Can you pay? {src}", da: "Kan du betale? {src}", '
                          f'cs: "Můžete platit? {src}"}}')
    s = _start(lib, store, clock, country, lang)
    s.next()
    s.answer({"income": "100000000", "spend": "0"})
    s.next()
    assert s.top.step_id == "offer"
    say = s.view().say
    assert say.startswith("\u26a0 " + words) and f"({where})" in say
    assert "{" not in say and "account.name" not in say and "platit?" not in say and "pay?" not in say
    shown = of_type(s, "step_shown")[-1]["data"]
    assert shown["say"] == say  # what the agent saw is what the auditor sees
    problems = of_type(s, "flow_problem")
    assert [(p["data"]["what"], p["data"]["where"], p["data"]["lang"]) for p in problems] == [("text", where, lang)]
    assert "Jo BloggsJo Bloggs" not in problems[0]["data"]["reason"]  # what it would have made is never kept


def test_a_problem_met_while_a_view_was_built_is_written_with_the_next_operation(tmp_path, store, clock):
    """A field label is rendered only for the window: its problem waits for the next write."""
    src = "{{ account.name * (income|int) }}"
    lib, where = _library(tmp_path, "label: {en: Spending, da: Udgifter, cs: Výdaje}",
                          f'label: {{en: "Spending {src}", da: "Udgifter {src}", cs: "Výdaje {src}"}}')
    s = _start(lib, store, clock)
    s.next()
    s.answer({"income": "100000000"})
    label = next(f.label for f in s.view().fields if f.id == "spend")
    assert label.startswith("\u26a0 ") and where in label
    s.answer({"spend": "0"})
    assert [e.type for e in store.call_entries(s.call_id)].count("flow_problem") == 1
