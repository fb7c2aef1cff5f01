"""Semantic validation and invariants over small libraries written in tmp_path."""

from __future__ import annotations

import re
from pathlib import Path

from callguide.flow.actions import ACTION_SPECS
from callguide.flow.graph import LibraryGraph
from callguide.flow.loader import load_library
from callguide.flow.validate import has_errors, validate_library, validate_paths

from .flowdata import IDEA, TEXAS, write

REPO = Path(__file__).resolve().parents[2]


def flow(fid: str, steps: str, extra: str = "", start: str = "a") -> str:
    return (f"schema: callguide/flow@1\nid: {fid}\nversion: \"1\"\npriority: general\ntitle: {{en: T}}\n"
            f"description: {{en: D}}\nlanguages: [en]\nstart: {start}\n{extra}steps:\n{steps}")


def rules(diags):
    return sorted((d.rule, d.severity) for d in diags)


def test_valid_library_is_clean(library_dir):
    assert validate_paths([library_dir], signposts=False) == []


def test_action_registry_matches_the_language_doc():
    doc = (REPO / "docs/flow-language.md").read_text(encoding="utf-8")
    section = doc.split("### Actions", 1)[1].split("## The expression language", 1)[0]
    names = set(re.findall(r"^\| `([a-z_]+)` \|", section, re.M))
    assert names == set(ACTION_SPECS)
    for name, spec in ACTION_SPECS.items():
        assert spec["doc"] and "\n" not in spec["doc"], name
        assert spec["params"]["type"] == "object" and spec["params"]["additionalProperties"] is False


def test_library_graph_links_start_protocol_and_returns(library_dir):
    lib, _ = load_library([library_dir], signposts=False)
    g = LibraryGraph(lib)
    assert g.succ["texas/deeper"] == ["idea/impact"]  # replaces the caller's own successor
    assert "texas/recorded" in g.succ["idea/long"] and "texas/recorded" in g.succ["idea/short"]
    assert g.entries == ["texas/thank"]  # idea is only started by texas; texas is an interrupt protocol
    assert g.intra["texas/deeper"] == ["texas/recorded"]


def test_requires_before_across_flows(tmp_path):
    d = tmp_path / "flows"
    write(d, "afford.yaml", flow("affordability", """\
  - {id: a, kind: say, say: {en: Budget}, next: go}
  - {id: go, kind: action, actions: [{start_protocol: {flow: payment}}], next: done}
  - {id: done, kind: outcome, outcome: done}
""", extra="when_blocked: done\n"))
    write(d, "payment.yaml", flow("payment", """\
  - {id: a, kind: say, category: payment, say: {en: Pay}, next: done}
  - {id: done, kind: outcome, outcome: paid}
""", extra='when_blocked: done\ninvariants:\n  - {id: pay-after-afford, kind: requires_before, target: "category:payment", via: "flow:affordability"}\n'))
    assert validate_paths([d], signposts=False) == []
    # a second way into payment that skips affordability breaks it, with the counter-example path
    write(d, "shortcut.yaml", flow("shortcut", """\
  - {id: a, kind: action, actions: [{start_protocol: {flow: payment}}], next: done}
  - {id: done, kind: outcome, outcome: done}
""", extra="when_blocked: done\n"))
    (diag,) = validate_paths([d], signposts=False)
    assert diag.rule == "invariant:requires_before"
    assert "pay-after-afford" in diag.message and diag.message.endswith("shortcut/a → payment/a")


def test_no_path_follows_returns_from_started_flows(tmp_path):
    d = tmp_path / "flows"
    write(d, "bruce.yaml", flow("bruce", """\
  - {id: a, kind: action, actions: [flag_capacity_doubt], next: done}
  - {id: done, kind: outcome, outcome: doubt}
"""))
    write(d, "call.yaml", flow("call", """\
  - {id: a, kind: action, actions: [{start_protocol: {flow: bruce}}], next: pay}
  - {id: pay, kind: say, say: {en: Pay}, next: done}
  - {id: done, kind: outcome, outcome: done}
""", extra='invariants:\n  - {id: no-pay-with-doubt, kind: no_path, from: "action:flag_capacity_doubt", to: "step:pay", unless: "action:clear_capacity_doubt"}\n'))
    (diag,) = validate_paths([d], signposts=False)
    assert diag.rule == "invariant:no_path"
    assert diag.message.endswith("bruce/a → bruce/done → call/pay")


def test_consent_gate_is_the_given_branch_only(tmp_path):
    text = TEXAS.replace('- {to: ask, when: "consent.health_disclosure"}', '- {to: ask, when: "not consent.health_disclosure"}')
    d = tmp_path / "flows"
    write(d, "texas.yaml", text)
    write(d, "idea.yaml", IDEA)
    diags = validate_paths([d], signposts=False)
    assert [d.rule for d in diags] == ["invariant:consent_before_special"]
    assert "texas/thank → texas/ask-consent → texas/ask" in diags[0].message


def test_one_action_away_and_suppression(tmp_path):
    d = tmp_path / "flows"
    write(d, "texas.yaml", TEXAS.replace("  - {id: declined-end, kind: outcome, outcome: declined}",
                                         "  - {id: declined-end, kind: outcome, outcome: declined, suppress_interrupts: [disclosure]}"))
    write(d, "idea.yaml", IDEA)
    (diag,) = validate_paths([d], signposts=False)
    assert diag.rule == "invariant:one_action_away"
    assert "texas-one-away" in diag.message and "texas/declined-end" in diag.message


def test_names_from_other_flows_are_defined_and_warnings_are_warnings(tmp_path):
    d = tmp_path / "flows"
    write(d, "idea.yaml", IDEA)
    write(d, "wrap.yaml", flow("wrap", """\
  - id: a
    kind: decision
    transitions:
      - {to: long, when: "months > 12 and state.hold_active"}
      - {to: done, when: "months <= 12"}
  - {id: long, kind: say, say: {en: "{{ account.name }}: {{ months }} months"}, next: done}
  - {id: lonely, kind: say, say: {en: Nobody}, next: done}
  - {id: done, kind: outcome, outcome: done}
"""))
    diags = validate_paths([d], signposts=False)
    assert rules(diags) == [("dead-end", "warning"), ("unreachable-step", "warning")]
    assert not has_errors(diags)


def test_unknown_flow_is_not_reported_for_a_flow_that_failed_to_load(tmp_path):
    d = tmp_path / "flows"
    write(d, "texas.yaml", TEXAS)
    write(d, "idea.yaml", IDEA.replace("priority: idea", "priority: whatever"))
    diags = validate_paths([d], signposts=False)
    assert [(x.rule, Path(x.file).name) for x in diags] == [("schema", "idea.yaml")]


def test_diagnostics_are_sorted_and_merged(tmp_path):
    d = tmp_path / "flows"
    write(d, "b.yaml", flow("b", "  - {id: a, kind: say, say: {en: x}, next: nowhere}\n"))
    write(d, "a.yaml", flow("a", "  - {id: a, kind: say, say: {en: x}}\n"))
    lib, load_diags = load_library([d], signposts=False)
    diags = validate_library(lib, load_diags)
    assert [Path(x.file).name for x in diags] == ["a.yaml", "b.yaml"]
    assert [x.rule for x in diags] == ["dead-end", "unknown-target"]
    assert validate_library(lib, diags) == diags  # merging is idempotent


def test_validate_paths_reads_signposts(tmp_path, library_dir):
    sp = write(tmp_path, "signposts.yaml", "countries:\n  UK: {name: United Kingdom}\n")
    diags = validate_paths([library_dir], signposts=sp)
    assert {x.rule for x in diags} == {"signposts"}
    assert all(x.file.endswith("signposts.yaml") for x in diags)


def test_a_later_guard_on_given_consent_is_a_gate_too(tmp_path):
    # idea checks consent.health_disclosure (given earlier in texas) before its own special capture
    d = tmp_path / "flows"
    # texas' declined branch now also leads on to idea: only idea's own guard keeps the capture safe
    write(d, "texas.yaml", TEXAS.replace("- {to: declined}", "- {to: more}").replace("outcome: declined}", "outcome: declined}\n"))
    write(d, "idea.yaml", flow("idea", """\
  - id: a
    kind: decision
    transitions:
      - {to: detail, when: "consent.health_disclosure"}
      - {to: done}
  - id: detail
    kind: capture
    fields:
      - {id: condition, type: text, label: {en: C}, sensitivity: special, consent: health_disclosure}
    next: done
  - {id: done, kind: outcome, outcome: done}
""", extra="invariants:\n  - {id: consent-first, kind: consent_before_special}\n").replace("languages: [en]", "languages: [en]"))
    diags = [x for x in validate_paths([d], signposts=False) if x.severity == "error"]
    # only the covers rule fires (texas' consent covers category and impact, not condition)
    assert [x.rule for x in diags] == ["consent-required"]
    write(d, "idea.yaml", (d / "idea.yaml").read_text().replace('when: "consent.health_disclosure"',
                                                              'when: "consent.health_disclosure == false"'))
    diags = [x for x in validate_paths([d], signposts=False) if x.severity == "error"]
    assert sorted(x.rule for x in diags) == ["consent-required", "invariant:consent_before_special"]
    inv = next(x for x in diags if x.rule.startswith("invariant"))
    assert inv.message.endswith("texas/ask-consent → texas/more → texas/deeper → idea/a → idea/detail")


# ---------------------------------------------------------------------------- built-in invariants (issue 8)

HEALTH = """\
  - id: a
    kind: capture
    fields:
      - {id: condition, type: text, label: {en: Condition}, sensitivity: special, consent: health_disclosure}
    next: ask
  - id: ask
    kind: consent
    consent: {purpose: health_disclosure, wording: {en: "May I note it?"}, covers: [condition]}
    transitions:
      - {to: done, when: "consent.health_disclosure"}
      - {to: done}
  - {id: done, kind: outcome, outcome: done}
"""


def test_7_consent_before_special_capture_holds_without_being_declared(tmp_path):
    """Failure 7: a flow that captures a health field before any consent no longer validates
    clean just because it did not declare `consent_before_special`."""
    d = tmp_path / "flows"
    write(d, "health.yaml", flow("health", HEALTH))
    (diag,) = validate_paths([d], signposts=False)
    assert (diag.rule, diag.severity, diag.line) == ("invariant:consent_before_special", "error", 10)
    assert "health/a captures special fields without consent 'health_disclosure'" in diag.message


def test_a_waiver_turns_a_built_in_off_and_is_printed_as_a_note(tmp_path):
    d = tmp_path / "flows"
    write(d, "health.yaml", flow("health", HEALTH, extra="waivers:\n  - {invariant: consent_before_special, "
                                 "reason: \"Replays a consent given in the customer's portal (checked upstream)\"}\n"))
    (note,) = validate_paths([d], signposts=False)
    assert (note.rule, note.severity) == ("waiver", "note")
    assert "opts out of the built-in invariant consent_before_special: Replays a consent" in note.message


def test_a_typo_does_not_hide_a_consent_problem_after_it(tmp_path):
    d = tmp_path / "flows"
    write(d, "health.yaml", flow("health", """\
  - {id: a, kind: say, say: {en: Hello}, next: b-typo}
  - {id: b, kind: say, say: {en: More}, next: form}
  - id: form
    kind: capture
    fields:
      - {id: condition, type: text, label: {en: Condition}, sensitivity: special, consent: health_disclosure}
    next: ask
  - id: ask
    kind: consent
    consent: {purpose: health_disclosure, wording: {en: "May I?"}, covers: [condition]}
    next: done
  - {id: done, kind: outcome, outcome: done}
"""))
    rules = sorted(x.rule for x in validate_paths([d], signposts=False))
    assert "unknown-target" in rules and "invariant:consent_before_special" in rules


def test_every_guarded_step_needs_a_when_blocked_route_and_interrupt_returns_are_named(tmp_path):
    d = tmp_path / "flows"
    write(d, "crisis.yaml", flow("crisis", """\
  - {id: a, kind: say, say: {en: Safe?}, next: done}
  - {id: done, kind: outcome, outcome: handled}
""", extra="on_start: [{block_collection: {reason: crisis}}]\ninterrupts:\n"
           "  - {id: risk, protocol: crisis, label: {en: Risk}, hotkey: F5}\n").replace("priority: general",
                                                                                   "priority: blake"))
    write(d, "pay.yaml", flow("pay", """\
  - {id: a, kind: say, category: payment, say: {en: Pay}, next: done}
  - {id: stop, kind: outcome, outcome: stopped}
  - {id: done, kind: outcome, outcome: paid}
""").replace("priority: general", "priority: payment"))
    diags = [x for x in validate_paths([d], signposts=False) if x.severity == "error"]
    assert [x.rule for x in diags] == ["invariant:collection_state"]
    assert "CRISIS can interrupt here and leaves a crisis behind" in diags[0].message
    write(d, "pay.yaml", (d / "pay.yaml").read_text().replace("start: a\n", "start: a\nwhen_blocked: stop\n"))
    assert not [x for x in validate_paths([d], signposts=False) if x.severity == "error"]
    write(d, "pay.yaml", (d / "pay.yaml").read_text().replace("when_blocked: stop", "when_blocked: nowhere"))
    assert "unknown-target" in {x.rule for x in validate_paths([d], signposts=False)}


def test_blake_one_action_away_is_built_in(tmp_path):
    d = tmp_path / "flows"
    write(d, "crisis.yaml", flow("crisis", """\
  - {id: a, kind: say, say: {en: Safe?}, next: done}
  - {id: done, kind: outcome, outcome: handled}
""", extra="interrupts:\n  - {id: risk, protocol: crisis, label: {en: Risk}, hotkey: F5}\n").replace(
        "priority: general", "priority: blake"))
    write(d, "other.yaml", flow("other", """\
  - {id: a, kind: say, say: {en: Hi}, suppress_interrupts: [risk], next: done}
  - {id: done, kind: outcome, outcome: done}
"""))
    (diag,) = validate_paths([d], signposts=False)
    assert diag.rule == "invariant:one_action_away" and "crisis is not one action away at other/a" in diag.message
