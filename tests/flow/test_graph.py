"""Layering and diagram output of one flow."""

from __future__ import annotations

from callguide.flow.graph import layers, to_dot, to_mermaid
from callguide.flow.loader import load_flow_text

from .flowdata import TEXAS

LOOP = """\
schema: callguide/flow@1
id: loop
version: "1"
priority: general
title: {en: T}
description: {en: D}
languages: [en]
start: a
steps:
  - {id: a, kind: say, say: {en: x}, next: b}
  - id: b
    kind: ask
    say: {en: "Say \\"again\\"?"}
    transitions:
      - {id: again, label: {en: "Again | more"}, to: a}
      - {id: on, label: {en: On}, to: c, when: "account.balance > 0"}
      - {id: skip, label: {en: Skip}, to: d}
  - {id: c, kind: say, say: {en: x}, next: d}
  - {id: d, kind: outcome, outcome: done}
  - {id: island, kind: say, say: {en: x}, next: d}
"""


def load(text):
    f, diags = load_flow_text(text, "t.yaml")
    assert f is not None, diags
    return f


def test_layers_longest_path_ignoring_back_edges():
    lay = layers(load(LOOP))
    assert lay["a"] == 0 and lay["b"] == 1 and lay["c"] == 2
    assert lay["d"] == 3  # longest path b -> c -> d, not the short b -> d
    assert set(lay) == {"a", "b", "c", "d", "island"}
    f = load(TEXAS)
    lay = layers(f)
    for s in f.steps:  # every forward edge goes down at least one layer
        for t in s.transitions:
            assert lay[t.to] > lay[s.id]


def test_mermaid():
    text = to_mermaid(load(LOOP))
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    for sid in ("a", "b", "c", "d", "island"):
        assert any(f'"{sid}<br/>' in line for line in lines), sid
    edges = [line for line in lines if "-->" in line or "-.->" in line]
    assert len(edges) == 6
    assert any("-.->" in e and "if account.balance #gt; 0" in e for e in edges)
    assert not any('\\"' in line for line in lines)  # quotes are escaped as entities
    assert "class s0_a start;" in text
    texas = to_mermaid(load(TEXAS))
    assert 'ask_consent' in texas and '==>|"start_protocol"| flow_idea(("idea"))' in texas


def test_dot():
    text = to_dot(load(LOOP))
    assert text.startswith('digraph "loop" {') and text.rstrip().endswith("}")
    assert text.count("{") == text.count("}")
    assert text.count(" -> ") == 6
    assert '"b" -> "a" [label="again"];' in text
    assert '"b" -> "c" [label="on if account.balance > 0", style=dashed];' in text
    assert '"d" [label="d\\n(outcome: done)", shape=doubleoctagon];' in text
    assert "{ rank=same; \"a\"; \"island\"; }" in text


# --------------------------------------------------------------------------- interrupt summaries

def _flow(fid: str, steps: str, start: str, extra: str = "") -> str:
    return (f"schema: callguide/flow@1\nid: {fid}\nversion: \"1\"\npriority: general\ntitle: {{en: T}}\n"
            f"description: {{en: D}}\nlanguages: [en]\nstart: {start}\n{extra}steps:\n{steps}")


def test_an_interrupt_summary_is_complete_whichever_is_asked_first(tmp_path):
    """ALPHA can only end after BETA interrupts it and leaves a hold (its money step is rerouted to its
    outcome then). Asked first, ALPHA's summary used to come back empty: its first run read BETA's
    summary before BETA had been computed, nothing changed, and the fixed point stopped. The search then
    missed the hold BETA leaves on main/a, and main/b entered with it."""
    from callguide.flow.graph import HOLD, LibraryGraph, StateGraph
    from callguide.flow.loader import load_library

    (tmp_path / "main.yaml").write_text(_flow("main", """\
  - {id: a, kind: say, say: {en: Hello}, next: b}
  - {id: b, kind: say, requires: [collection_allowed], suppress_interrupts: [to-alpha, to-beta], say: {en: Debt}, next: done}
  - {id: held, kind: outcome, outcome: held}
  - {id: done, kind: outcome, outcome: done}
""", "a", "when_blocked: held\n"), encoding="utf-8")
    (tmp_path / "alpha.yaml").write_text(_flow("alpha", """\
  - {id: a1, kind: say, say: {en: Alpha}, next: a2}
  - {id: a2, kind: say, requires: [collection_allowed], say: {en: Money}, next: a3}
  - {id: a3, kind: outcome, outcome: alpha_done}
""", "a1", "when_blocked: a3\ninterrupts:\n  - {id: to-alpha, protocol: alpha, label: {en: Alpha}, hotkey: F2}\n"),
        encoding="utf-8")
    (tmp_path / "beta.yaml").write_text(_flow("beta", """\
  - {id: b1, kind: action, actions: [{start_hold: {days: 30, reason: advice}}], next: b2}
  - {id: b2, kind: outcome, outcome: held_for_advice}
""", "b1", "interrupts:\n  - {id: to-beta, protocol: beta, label: {en: Beta}, hotkey: F3}\n"), encoding="utf-8")
    lib, diags = load_library([tmp_path])
    assert not [d for d in diags if d.severity == "error"], diags
    blocked = frozenset({"alpha/a2"})
    sg = StateGraph(LibraryGraph(lib))
    assert sg.summary("alpha", 0, blocked.__contains__, ("t",)) == {HOLD}
    assert sg.summary("beta", 0, blocked.__contains__, ("t",)) == {HOLD}
    reached = StateGraph(LibraryGraph(lib)).search([("main/a", 0)], blocked=blocked)
    assert ("main/a", HOLD) in reached and ("main/held", HOLD) in reached
