"""A step starts at most one protocol: the engine hands over to one, so a second
`start_protocol` in the same step is an error, not silently dropped."""

from __future__ import annotations

import shutil
from pathlib import Path

from callguide.flow.validate import validate_paths

ENGINE_FLOWS = Path(__file__).resolve().parent.parent / "engine" / "flows"


def test_second_start_protocol_in_a_step_is_an_error(tmp_path):
    shutil.copytree(ENGINE_FLOWS, tmp_path / "flows")
    main = tmp_path / "flows" / "main.yaml"
    text = main.read_text(encoding="utf-8")
    main.write_text(text.replace("      - start_protocol: {flow: pay}\n",
                                 "      - start_protocol: {flow: pay}\n      - start_protocol: {flow: doubt}\n"),
                    encoding="utf-8")
    diags = [d for d in validate_paths([tmp_path / "flows"], signposts=False) if d.rule == "one-protocol-per-step"]
    assert len(diags) == 1
    d = diags[0]
    assert d.severity == "error" and d.file.endswith("main.yaml") and d.line == 52
    assert "already starts 'pay'" in d.message and "'doubt'" in d.message
