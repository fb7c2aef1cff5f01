"""Fixtures for the library tests: real flow files copied to tmp_path, real SQLite files,
and a resources folder with a known-good signposts file (so the tests do not depend on
data another colleague is editing)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE_FLOWS = ROOT / "tests" / "engine" / "flows"
REAL_FLOWS = ROOT / "flows"

SIGNPOSTS = """\
countries:
  UK:
    name: United Kingdom
    emergency: {name: Emergency services, phone: "999", last_checked: 2026-01-10}
    crisis: [{name: Samaritans, phone: "116 123", last_checked: 2026-01-10}]
    health: [{name: NHS 111, phone: "111", last_checked: 2026-01-10}]
    debt_advice: [{name: National Debtline, phone: "0808 808 4000", last_checked: 2026-01-10}]
  DK:
    name: Danmark
    emergency: {name: Alarmcentralen, phone: "112", last_checked: 2026-01-10}
    crisis: [{name: Livslinien, phone: "70 201 201", last_checked: 2026-01-10}]
    health: [{name: Lægevagten, phone: "1813", last_checked: 2026-01-10}]
    debt_advice: [{name: "Forbrugerrådet Tænk", url: "https://taenk.dk", last_checked: 2026-01-10}]
  CZ:
    name: Česko
    emergency: {name: Tísňová linka, phone: "112", last_checked: 2026-01-10}
    crisis: [{name: Linka první psychické pomoci, phone: "116 123", last_checked: 2026-01-10}]
    health: [{name: Záchranná služba, phone: "155", last_checked: 2026-01-10}]
    debt_advice: [{name: Člověk v tísni, url: "https://www.clovekvtisni.cz", last_checked: 2026-01-10}]
"""


@pytest.fixture(autouse=True)
def resources(tmp_path_factory, monkeypatch):
    res = tmp_path_factory.mktemp("resources")
    shutil.copytree(ROOT / "resources" / "schema", res / "schema")
    (res / "signposts.yaml").write_text(SIGNPOSTS, encoding="utf-8")
    monkeypatch.setenv("CALLGUIDE_RESOURCES", str(res))
    monkeypatch.setenv("CALLGUIDE_DB", str(tmp_path_factory.mktemp("live") / "journal.db"))
    monkeypatch.setenv("CALLGUIDE_PRACTICE_DB", str(tmp_path_factory.mktemp("practice") / "practice.db"))
    return res


@pytest.fixture
def flows(tmp_path):
    """A copy of the engine's small test library (stable, valid)."""
    dst = tmp_path / "flows"
    shutil.copytree(ENGINE_FLOWS, dst)
    return dst


@pytest.fixture
def db(tmp_path):
    return tmp_path / "journal.db"
