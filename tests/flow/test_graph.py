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
