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


PEOPLE = """\
people:
  anna: {name: Anna Jensen, roles: [trainer]}
  bo:   {name: Bo Nielsen, roles: [trainer]}
  rita: {name: Rita Novak, roles: [reviewer]}
  sam:  {name: Sam Holt, roles: [trainer, reviewer]}
  ole:  {name: Ole Berg, roles: [agent]}
  sven: {name: Sven Lund, roles: [supervisor]}
"""


@pytest.fixture(autouse=True)
def people(tmp_path_factory, monkeypatch):
    """Trainers anna and bo, reviewer rita, sam who is both, agent ole, supervisor sven."""
    p = tmp_path_factory.mktemp("people") / "people.yaml"
    p.write_text(PEOPLE, encoding="utf-8")
    monkeypatch.setenv("CALLGUIDE_PEOPLE", str(p))
    monkeypatch.delenv("CALLGUIDE_USER", raising=False)
    monkeypatch.setenv("CALLGUIDE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    return p


def who(pid: str):
    from callguide.identity import person

    return person(pid)


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """A copy of the engine's small test library, shipped as a release (with its manifest): the
    app's own flows folder for the test (CALLGUIDE_FLOWS)."""
    from callguide.library.manifest import build_manifest

    dst = tmp_path / "shipped"
    monkeypatch.setenv("CALLGUIDE_FLOWS", str(dst))
    shutil.copytree(ENGINE_FLOWS, dst)
    (dst / "manifest.json").write_text(build_manifest(dst, "test-1").to_json(), encoding="utf-8")
    return dst


@pytest.fixture
def flows(tmp_path, shipped):
    """A trainer's workspace made from the shipped test library (no manifest)."""
    from callguide.library.workspace import create_workspace

    return create_workspace(tmp_path / "flows", shipped, git=False)


@pytest.fixture
def adopted(shipped, db):
    """The shipped release adopted in the journal `db` (what the first live call does)."""
    from callguide.library.live import load_for_calls

    load_for_calls(shipped, db)
    return db


@pytest.fixture
def db(tmp_path):
    return tmp_path / "journal.db"
