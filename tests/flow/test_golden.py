"""Golden files: each tests/flows/invalid/<case>.yaml is validated alone and must produce exactly the
diagnostic lines in <case>.expected (paths relative to the repo root).

Regenerate after an intended change with `CALLGUIDE_UPDATE_GOLDEN=1 pytest tests/flow/test_golden.py`,
then read the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from callguide.flow.validate import validate_paths

REPO = Path(__file__).resolve().parents[2]
INVALID = REPO / "tests" / "flows" / "invalid"
CASES = sorted(p.stem for p in INVALID.glob("*.yaml"))


def test_there_are_golden_cases():
    expected = {"python_tag", "custom_tag", "alias_bomb", "tabs", "duplicate_keys", "bad_utf8", "syntax_error",
                "schema_errors", "unknown_target", "unreachable", "dead_end", "duplicate_ids", "undefined_name",
                "unknown_action", "unknown_flow", "missing_translation", "consent_required",
                "inv_requires_before", "inv_no_path", "inv_one_action_away", "inv_consent_before_special",
                "inv_ends_in_outcome"}
    assert expected <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_golden(case, monkeypatch):
    monkeypatch.chdir(REPO)
    rel = f"tests/flows/invalid/{case}.yaml"
    got = [str(d) for d in validate_paths([rel], signposts=False)]
    exp_path = INVALID / f"{case}.expected"
    if os.environ.get("CALLGUIDE_UPDATE_GOLDEN"):
        exp_path.write_text("".join(line + "\n" for line in got), encoding="utf-8")
    expected = exp_path.read_text(encoding="utf-8").splitlines()
    assert got == expected
    assert got, "an invalid case must produce diagnostics"
    for line in got:
        assert "\n" not in line and line.startswith(rel + ":")
