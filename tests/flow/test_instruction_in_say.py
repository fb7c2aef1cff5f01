"""Text the agent reads aloud holds no bracketed instruction: "[your name]" or "[Summarise the next
steps...]" in a say text or a consent wording is a warning (rule instruction-in-say); `x[key]`
inside a template is code, not an instruction."""

from __future__ import annotations

import shutil
from pathlib import Path

from callguide.flow.validate import RULES, validate_paths

FLOWS = Path(__file__).resolve().parents[2] / "flows"


def _diags(tmp_path: Path, old: str, new: str) -> list:
    shutil.copytree(FLOWS, tmp_path / "flows", ignore=shutil.ignore_patterns("tests", "practice"))
    path = tmp_path / "flows" / "wrap-up.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    return [d for d in validate_paths([tmp_path / "flows"], signposts=False) if d.rule == "instruction-in-say"]


def test_bundled_flows_read_aloud_no_instructions():
    assert "instruction-in-say" in RULES
    assert not [d for d in validate_paths([FLOWS], signposts=False) if d.rule == "instruction-in-say"]


def test_bracketed_instruction_in_say_text_is_a_warning(tmp_path):
    diags = _diags(tmp_path, 'en: "Thank you for your time today. Take care."',
                   'en: "Thank you for your time today, [customer name]. Take care."')
    assert len(diags) == 1
    d = diags[0]
    assert d.severity == "warning" and d.file.endswith("wrap-up.yaml")
    assert "'[customer name]'" in d.message and "[en]" in d.message and "guidance" in d.message


def test_brackets_inside_a_template_are_code(tmp_path):
    diags = _diags(tmp_path, 'en: "Thank you for your time today. Take care."',
                   """en: "Thank you{{ {'a': ', take care'}['a'] }}.\"""")
    assert diags == []
