"""Markdown tables in the docs render as tables: a `|` inside a code span must be escaped (`\\|`),
or GitHub splits the cell there and the row gets more cells than its header."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])


def _cells(line: str) -> int:
    return len(re.split(r"(?<!\\)\|", line.strip().strip("|")))


def bad_rows(text: str) -> list[str]:
    out: list[str] = []
    header: int | None = None
    in_code = False
    for n, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            in_code = not in_code
        if in_code or not line.startswith("|"):
            header = None
            continue
        if header is None:
            header = _cells(line)
        elif _cells(line) != header:
            out.append(f"line {n}: {_cells(line)} cells, the header has {header}: {line[:80]}")
    return out


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_every_table_row_has_its_headers_cells(path):
    assert bad_rows(path.read_text(encoding="utf-8")) == []


def test_an_unescaped_pipe_in_a_code_span_is_caught():
    table = "| a | b |\n|---|---|\n| `x|y` | z |\n"
    assert bad_rows(table) and not bad_rows(table.replace("x|y", "x\\|y"))
