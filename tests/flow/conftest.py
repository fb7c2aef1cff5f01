"""Fixtures for the flow-language tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from .flowdata import IDEA, TEXAS, write


@pytest.fixture
def library_dir(tmp_path: Path) -> Path:
    d = tmp_path / "flows"
    write(d, "texas.yaml", TEXAS)
    write(d, "idea.yaml", IDEA)
    return d
