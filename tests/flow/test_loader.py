"""The loader: safe YAML, limits, positions, derived text ids, files and the library."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from callguide.flow.loader import (
    Diagnostic,
    find_flow_files,
    load_flow,
    load_flow_text,
    load_library,
    load_signposts,
)
from callguide.flow.yamlsafe import MAX_BYTES

from .flowdata import IDEA, TEXAS, write

REPO = Path(__file__).resolve().parents[2]


def test_load_valid_flow_builds_the_model_with_positions(tmp_path):
    p = write(tmp_path, "texas.yaml", TEXAS)
    flow, diags = load_flow(p)
    assert diags == []
    assert flow.id == "texas" and flow.start == "thank" and flow.languages == ("en", "da")
    assert flow.content_hash == hashlib.sha256(p.read_bytes()).hexdigest()
    assert flow.source_text == p.read_text(encoding="utf-8")
    assert flow.path == str(p)
    lines = flow.source_text.splitlines()
    # every step's position points at its `id:` line
    for s in flow.steps:
        assert f"id: {s.id}" in lines[s.pos.line - 1]
    assert lines[flow.start_pos.line - 1].startswith("start: thank")
    thank = flow.step("thank")
    assert thank.transitions[0].to == "ask-consent" and thank.transitions[0].when is None
    assert "next: ask-consent" in lines[thank.transitions[0].pos.line - 1]
    deeper = flow.step("deeper")
    assert deeper.actions[0].name == "start_protocol" and deeper.actions[0].params == {"flow": "idea"}
    assert "start_protocol" in lines[deeper.actions[0].pos.line - 1]
    assert flow.step("recorded").actions[0].params["fields"] == ["category", "impact"]
    ask = flow.step("ask")
    cat = ask.fields[0]
    assert cat.sensitivity == "special" and cat.consent == "health_disclosure" and cat.required is True
    assert [c.value for c in cat.choices] == ["health", "life_event"]
    assert ask.fields[1].visible_when == "category == 'health'"
    assert flow.interrupts[0].hotkey == "F2" and flow.invariants[0].kind == "ends_in_outcome"
    assert flow.invariants[2].params == {"protocol": "texas"}


def test_derived_and_explicit_text_ids(tmp_path):
    flow, _ = load_flow(write(tmp_path, "texas.yaml", TEXAS))
    ids = {t.id for t in flow.texts()}
    assert {
        "texas.title", "texas.description", "texas.interrupt.disclosure.label",
        "texas.thank.say", "texas.ask-consent.consent",
        "texas.ask.field.category.label", "texas.ask.field.category.choice.health",
        "texas.ask.field.impact.label", "texas.ask.field.impact.help",
        "texas.more.choice.idea.label", "texas.more.choice.done.label",
    } <= ids
    tip = flow.step("thank").guidance
    assert tip.id == "texas.thank.tip" and tip.explicit_id and "id" not in tip.by_lang
    assert not flow.step("thank").say.explicit_id


def test_load_flow_text_matches_load_flow(tmp_path):
    p = write(tmp_path, "texas.yaml", TEXAS)
    a, _ = load_flow(p)
    b, diags = load_flow_text(p.read_text(encoding="utf-8"), "editor.yaml")
    assert diags == []
    assert b.steps[2].fields[0].pos.file == "editor.yaml"
    assert b.content_hash == a.content_hash
    assert [s.id for s in b.steps] == [s.id for s in a.steps]


def test_huge_file_is_refused_without_parsing(tmp_path):
    p = tmp_path / "huge.yaml"
    filler = "# " + "x" * 98 + "\n"
    p.write_text(TEXAS + filler * (MAX_BYTES // len(filler) + 10), encoding="utf-8")
    flow, diags = load_flow(p)
    assert flow is None
    assert len(diags) == 1 and diags[0].rule == "file-too-large" and (diags[0].line, diags[0].col) == (1, 1)
    flow, diags = load_flow_text(p.read_text(encoding="utf-8"), "huge.yaml")
    assert flow is None and diags[0].rule == "file-too-large"


def test_bad_utf8_reports_line_and_column(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_bytes(b"schema: callguide/flow@1\nid: x\ntitle: {en: \"ok\"}\ndescription: {en: \"\xff\xfe\"}\n")
    flow, diags = load_flow(p)
    assert flow is None
    (d,) = diags
    assert (d.rule, d.line, d.col) == ("bad-utf8", 4, 20)
    assert "byte offset 68" in d.message


@pytest.mark.parametrize("text", [
    "", "[]", "- a\n- b\n", "just a string", "a: b\n", "{{{", "key: [unclosed\n", "\x00\x01", "[" * 3000,
    "a: &x 1\nb: *x\n", "? [complex, key]\n: v\n", "!!binary aGVsbG8=", "--- 1\n--- 2\n",
    "schema: callguide/flow@1\nsteps: 5\n", "schema: callguide/flow@1\nid: a\nsteps: [{id: 5}]\n",
])
def test_bad_input_never_raises_and_gives_one_line_diagnostics(text):
    flow, diags = load_flow_text(text, "t.yaml")
    assert flow is None
    assert diags
    for d in diags:
        s = str(d)
        assert "\n" not in s and s.startswith("t.yaml:") and "Traceback" not in s
        assert d.line >= 1 and d.col >= 1


def test_alias_bomb_is_refused_quickly():
    text = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefghi", "bcdefghij", strict=True))
    flow, diags = load_flow_text(text, "bomb.yaml")
    assert flow is None and {d.rule for d in diags} == {"yaml-alias"}


def test_python_tag_never_constructs_anything(tmp_path):
    marker = tmp_path / "pwned"
    text = f"schema: callguide/flow@1\nid: !!python/object/apply:os.system ['touch {marker}']\n"
    flow, diags = load_flow_text(text, "evil.yaml")
    assert flow is None and diags[0].rule == "yaml-tag" and (diags[0].line, diags[0].col) == (2, 5)
    assert not marker.exists()


def test_diagnostic_is_one_line():
    d = Diagnostic("f.yaml", 3, 7, "schema", "bad\nthing   here")
    assert str(d) == "f.yaml:3:7: schema: bad thing here"
    assert d.severity == "error"


def test_kind_specific_keys_are_checked():
    text = TEXAS.replace("  - {id: declined-end, kind: outcome, outcome: declined}",
                         "  - {id: declined-end, kind: outcome, outcome: declined, next: thank}")
    text = text.replace("    kind: say\n    say: {en: \"Thank", "    kind: say\n    outcome: nope\n    say: {en: \"Thank")
    flow, diags = load_flow_text(text, "t.yaml")
    assert flow is not None
    msgs = [(d.rule, d.message) for d in diags]
    assert ("schema", "key 'outcome' is not used on a say step (only on outcome)") in msgs
    assert ("schema", "an outcome step ends the protocol: remove 'next'") in msgs


def test_find_flow_files(tmp_path):
    d = tmp_path / "flows"
    write(d, "texas.yaml", TEXAS)
    write(d, "sub/idea.yml", IDEA)
    write(d, "texas.test.yaml", "schema: callguide/flow@1\nflow: texas\n")
    write(d, "drill.practice.yaml", "schema: callguide/flow@1\n")
    write(d, "tests/other.yaml", IDEA)
    write(d, "practice/other.yaml", IDEA)
    write(d, "notes.yaml", "title: not a flow\n")
    write(d, "quoted.yaml", "schema: 'callguide/flow@1'  # quoted\n")
    got = [p.relative_to(d).as_posix() for p in find_flow_files([d])]
    assert got == ["quoted.yaml", "sub/idea.yml", "texas.yaml"]
    # files named explicitly are taken as given (the validator then reports what is wrong)
    assert find_flow_files([d / "notes.yaml", d / "texas.yaml", d]) [:2] == [d / "notes.yaml", d / "texas.yaml"]
    assert len(find_flow_files([d, d])) == 3


def test_load_library_reports_duplicate_flow_ids_and_remembers_failed_ones(tmp_path):
    d = tmp_path / "flows"
    write(d, "a.yaml", IDEA)
    write(d, "b.yaml", IDEA)
    write(d, "c.yaml", TEXAS.replace("id: texas\n", "id: texas\ncolour: red\n", 1))
    lib, diags = load_library([d], signposts=False)
    assert list(lib.flows) == ["idea"]
    assert "texas" in lib.failed_ids
    rules = sorted(x.rule for x in diags)
    assert rules == ["duplicate-id", "schema"]


def test_schema_file_is_in_sync_and_documents_every_property():
    from callguide.flow.schemagen import build_schema

    on_disk = json.loads((REPO / "resources/schema/flow.schema.json").read_text(encoding="utf-8"))
    assert on_disk == json.loads(json.dumps(build_schema()))
    missing = []

    def walk(node, path):
        if isinstance(node, dict):
            for name, sub in (node.get("properties") or {}).items():
                if "description" not in sub:
                    missing.append(f"{path}/{name}")
            for k, v in node.items():
                if k != "if":  # the if/then conditions are not properties an author writes
                    walk(v, f"{path}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}/{i}")

    walk(on_disk, "")
    assert missing == []


def test_flow_package_imports_without_qt():
    code = (
        "import sys; sys.modules['PySide6'] = None; sys.modules['shiboken6'] = None\n"
        "import callguide.flow, callguide.flow.loader, callguide.flow.validate, callguide.flow.graph\n"
        "import callguide.flow.actions, callguide.flow.schemagen\n"
        "assert not any(m.startswith('PySide6') and sys.modules[m] is not None for m in sys.modules)\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


SIGNPOSTS = """\
countries:
  UK:
    name: United Kingdom
    emergency: {name: "Emergency services", phone: "999", last_checked: 2026-11-01}
    crisis:
      - {name: Samaritans, phone: "116 123", hours: "24/7", url: "https://www.samaritans.org", last_checked: 2026-11-01}
      - {name: Shout, sms: "85258", last_checked: "2026-10-01"}
    health: [{name: NHS 111, phone: "111", last_checked: 2026-11-01}]
    debt_advice: [{name: National Debtline, url: "https://nationaldebtline.org", last_checked: 2026-11-01}]
"""


def test_signposts_valid(tmp_path):
    import datetime as dt

    data, diags = load_signposts(write(tmp_path, "signposts.yaml", SIGNPOSTS))
    assert diags == []
    uk = data["countries"]["UK"]
    assert uk["emergency"]["phone"] == "999"
    assert uk["crisis"][1]["last_checked"] == dt.date(2026, 10, 1)
    assert uk["health"][0]["last_checked"] == dt.date(2026, 11, 1)


def test_signposts_problems_have_positions(tmp_path):
    bad = SIGNPOSTS.replace('phone: "999", last_checked: 2026-11-01', "phone: 999") \
                   .replace("{name: Shout, sms: \"85258\", last_checked: \"2026-10-01\"}",
                            "{name: Shout, last_checked: \"soon\"}")
    bad = bad.replace("    debt_advice:", "    debt_advise:")
    p = write(tmp_path, "signposts.yaml", bad)
    _data, diags = load_signposts(p)
    got = [(d.line, d.col, d.severity, d.message) for d in diags]
    assert (4, 16, "error", "UK emergency 'Emergency services': needs 'last_checked' (the date the details were checked)") in got
    assert (4, 52, "error", "UK emergency 'Emergency services': phone must be a non-empty quoted string") in got
    assert (7, 9, "error", "UK crisis[1] 'Shout': needs one of phone, sms or url") in got
    assert (7, 37, "error", "UK crisis[1] 'Shout': last_checked 'soon' is not a date (YYYY-MM-DD)") in got
    assert (3, 5, "error", "UK: needs a 'debt_advice' list") in got
    assert (9, 5, "warning", "UK: unknown key 'debt_advise'") in got
    assert all(d.rule == "signposts" for d in diags)


def test_signposts_unreadable(tmp_path):
    data, diags = load_signposts(tmp_path / "missing.yaml")
    assert data == {} and diags[0].rule == "io"
    data, diags = load_signposts(write(tmp_path, "s.yaml", "- just a list\n"))
    assert data == {} and diags[0].rule == "signposts"


def test_yaml_12_scalars_yes_no_stay_strings():
    text = TEXAS.replace("{id: idea, label:", "{id: yes, label:").replace("{id: done, label:", "{id: no, label:")
    flow, diags = load_flow_text(text, "t.yaml")
    assert diags == []
    assert [t.id for t in flow.step("more").transitions] == ["yes", "no"]
