"""The shipped flows and their release manifest agree (regenerate with
`python -m callguide.library.manifest` after changing a shipped flow)."""

from __future__ import annotations

import json

from callguide.library.manifest import build_manifest, main, manifest_problems, read_manifest
from tests.library.conftest import REAL_FLOWS


def test_the_bundled_flows_match_their_manifest():
    problems = manifest_problems(REAL_FLOWS)
    assert problems == [], ("flows/manifest.json is out of date; run `python -m callguide.library.manifest` "
                            "and commit it:\n" + "\n".join(problems))
    m = read_manifest(REAL_FLOWS)
    assert {f.id for f in m.flows if f.review_needed} == {"harmed"}


def test_a_changed_file_is_reported_and_the_script_rewrites_the_manifest(shipped, capsys):
    assert manifest_problems(shipped) == []
    (shipped / "pay.yaml").write_text((shipped / "pay.yaml").read_text(encoding="utf-8") + "# changed\n",
                                      encoding="utf-8")
    problems = manifest_problems(shipped)
    assert len(problems) == 1 and problems[0].startswith("pay.yaml: the file differs from its manifest entry")
    assert main([str(shipped), "--check"]) == 1
    before = read_manifest(shipped).digest
    assert main([str(shipped), "--release", "test-1"]) == 0
    assert manifest_problems(shipped) == [] and read_manifest(shipped).digest != before
    assert json.loads((shipped / "manifest.json").read_text(encoding="utf-8"))["release"] == "test-1"
    assert read_manifest(shipped).digest == build_manifest(shipped, "test-1").digest
