from __future__ import annotations

from callguide.flow.loader import load_flow, load_flow_text
from callguide.library.diff import diff_flows, render_diff, resolve_version
from callguide.library.publish import approve
from callguide.library.workspace import Workspace
from tests.library.conftest import who


def test_diff_lists_what_a_compliance_reviewer_needs(flows):
    old, _ = load_flow(flows / "main.yaml")
    text = (flows / "main.yaml").read_text(encoding="utf-8")
    text = text.replace('da: "Hej {{ account.name }}"', 'da: "Goddag {{ account.name }}"')
    text = text.replace('- {to: offer, when: "income - spend > 0"}', '- {to: offer, when: "income - spend > 50"}')
    text = text.replace("      - signpost: {kind: debt_advice}\n", "")
    text = text.replace("    guidance: {en: Greet, da: Hils, cs: Pozdravte}",
                        "    guidance: {en: Greet warmly, da: Hils, cs: Pozdravte}")
    text = text.replace("  - id: done\n", "  - id: thanks\n    kind: say\n"
                        "    say: {en: Thanks, da: Tak for i dag, cs: Děkuji}\n    next: done\n  - id: done\n")
    new, diags = load_flow_text(text, "main.yaml")
    assert new is not None, diags
    changes = diff_flows(old, new)
    kinds = {(c.kind, c.step) for c in changes}
    assert ("step-added", "thanks") in kinds
    wording = [c for c in changes if c.kind == "wording" and c.step == "hello"]
    assert [(c.lang, c.old, c.new) for c in wording] == [("da", "Hej {{ account.name }}", "Goddag {{ account.name }}")]
    assert any(c.kind == "condition" and c.step == "route" and c.new == "income - spend > 50" for c in changes)
    assert any(c.kind == "action" and "signpost(kind=debt_advice)" in c.what for c in changes)
    assert any(c.kind == "guidance" and c.lang == "en" for c in changes)
    report = render_diff(changes, "1 (abc)", "working copy", "main")
    assert "What the customer hears (wording changed):" in report
    assert "step 'hello': what the agent says changed in Danish" in report
    assert "before: Hej {{ account.name }}" in report
    assert "Steps added:" in report and "Actions (what the system records or does):" in report


def test_layout_only_changes_are_no_change(flows):
    old, _ = load_flow(flows / "main.yaml")
    text = "# a comment\n" + (flows / "main.yaml").read_text(encoding="utf-8") + "\n\n"
    new, _ = load_flow_text(text, "main.yaml")
    assert diff_flows(old, new) == []
    assert "No changes in meaning" in render_diff([], "a", "b", "main")


def test_resolve_versions_by_label_hash_and_working(flows, adopted, db):
    path = flows / "main.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('version: "1"', 'version: "2.0.0"'), encoding="utf-8")
    Workspace(flows, db, person=who("anna")).submit(path, "v2")
    approve("main", "2.0.0", who("rita"), db)
    path.write_text(path.read_text(encoding="utf-8").replace('version: "2.0.0"', 'version: "2.1.0"'), encoding="utf-8")
    a, la = resolve_version(str(path), "1", db)
    b, lb = resolve_version(str(path), "working", db)
    live, _ = resolve_version(str(path), "live", db)
    c, _ = resolve_version(str(path), a.content_hash[:6], db)
    assert a.version == "1" and b.version == "2.1.0" and live.version == "2.0.0" and c.content_hash == a.content_hash
    assert lb == "working copy" and la.startswith("1 (")
