from __future__ import annotations

import pytest

from callguide.flow.loader import load_flow_text
from callguide.library.editing import EditError, add_step, set_step_value, set_text, set_transition

TEXT = """\
schema: callguide/flow@1   # the schema
id: demo
version: "1"
# steps below
steps:
  - id: hello
    kind: say
    say: {en: "Hello", da: "Hej"}   # greeting
    next: bye

  # the end
  - id: bye
    kind: outcome
    outcome: done
"""


def test_set_text_keeps_comments_quotes_and_layout():
    out = set_text(TEXT, "hello", "say", "da", "Goddag")
    want = TEXT.replace('da: "Hej"}   # greeting', 'da: "Goddag"} # greeting')
    assert out == want  # only the value changed (ruamel re-spaces a trailing comment after a flow mapping)


def test_add_and_remove_a_language():
    out = set_text(TEXT, "hello", "say", "cs", "Ahoj")
    assert "cs: Ahoj" in out and "# greeting" in out
    assert set_text(out, "hello", "say", "cs", "") .count("Ahoj") == 0


def test_new_text_slot_and_transition_edits():
    out = set_text(TEXT, "hello", "guidance", "en", "Smile")
    assert "guidance:\n      en: Smile" in out
    out = set_transition(out, "hello", 0, "to", "hello")
    assert "next: hello" in out
    out = set_step_value(out, "bye", "outcome", "finished")
    assert "outcome: finished" in out and "# the end" in out


def test_add_step_splices_after_a_next():
    out = add_step(TEXT, "hello", "check", say={"en": "Check", "da": "Tjek"})
    assert "next: check" in out
    assert "  - id: check\n    kind: say\n    say:\n      en: Check\n      da: Tjek\n      cs: ''\n    next: bye" in out
    assert "# the end" in out


def test_errors_are_plain():
    with pytest.raises(EditError, match="no step 'nope'"):
        set_text(TEXT, "nope", "say", "en", "x")
    with pytest.raises(EditError, match="not valid YAML"):
        set_text("steps: [\n", "x", "say", "en", "x")


def test_real_flow_round_trip(flows):
    text = (flows / "main.yaml").read_text(encoding="utf-8")
    out = set_text(text, "offer", "transitions.0.label", "da", "Ja tak")
    flow, diags = load_flow_text(out, "main.yaml")
    assert flow is not None, diags
    assert flow.step("offer").transitions[0].label.get("da") == "Ja tak"
    assert out.splitlines()[1:] != [] and len(out.splitlines()) == len(text.splitlines())
