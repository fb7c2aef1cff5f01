"""`callguide audit verify` and `audit key` end to end, through the real CLI in a subprocess: an
intact journal, an auditor on another machine (its public key and a copy of the anchors), and
what the audit says it could not check."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .faultlib import FLOWS, cli, cli_env

SCRIPT = "- {next: null}\n- {answer: {income: '900', spend: '1200'}}\n- {next: null}\n- {end: null}\n"


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    script = tmp_path / "s.yaml"
    script.write_text(SCRIPT, encoding="utf-8")
    db = tmp_path / "journal.db"
    for account in ("A-1", "A-2"):
        r = cli("walk", str(FLOWS / "main.yaml"), "--script", str(script), "--db", str(db), "--account", account)
        assert r.returncode == 0, r.stderr
    return db


def test_intact_journal(journal):
    r = cli("audit", "verify", "--db", str(journal))
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("ok: ") and "chain intact" in lines[0]
    assert "ok: SQLite integrity_check passed" in lines
    assert "ok: append-only triggers present" in lines
    assert any(line.startswith("ok: anchor file") and "matches the journal" in line for line in lines)
    assert lines[-1] == "verdict: intact"


def test_auditor_on_another_machine(journal, tmp_path):
    """Another key folder and no anchors: signatures are foreign, nothing anchored. With the
    writer's public key and a copy of the anchor folder, everything checks out."""
    pub = tmp_path / "writer.pub"
    r = cli("audit", "key")
    assert r.returncode == 0 and "BEGIN PUBLIC KEY" in r.stdout
    pub.write_text(r.stdout, encoding="utf-8")
    anchors_copy = tmp_path / "anchors-copy"
    shutil.copytree(os.environ["CALLGUIDE_ANCHORS_DIR"], anchors_copy)
    elsewhere = cli_env(CALLGUIDE_KEYS_DIR=str(tmp_path / "auditor-keys"),
                        CALLGUIDE_ANCHORS_DIR=str(tmp_path / "auditor-anchors"))
    r = cli("audit", "verify", "--db", str(journal), env=elsewhere)
    assert r.returncode == 0, r.stdout
    assert "no public key to check signatures with" in r.stdout and "forgery cannot be ruled out" in r.stdout
    assert "truncation, and rollback to an older copy, cannot be ruled out" in r.stdout
    r = cli("audit", "verify", "--db", str(journal), "--key", str(pub), "--anchors", str(anchors_copy),
            env=elsewhere)
    assert r.returncode == 0, r.stdout
    assert "not checked: no public key" not in r.stdout
    assert f"ok: anchor file {anchors_copy}" in r.stdout


def test_audit_key_before_any_key_exists(tmp_path):
    r = cli("audit", "key", env=cli_env(CALLGUIDE_KEYS_DIR=str(tmp_path / "none")))
    assert r.returncode == 1 and r.stderr.startswith("Error: no journal key yet")


def test_key_readable_by_others_is_named(journal):
    key = Path(os.environ["CALLGUIDE_KEYS_DIR"]) / "journal-signing.pem"
    assert (key.stat().st_mode & 0o777) == 0o600
    key.chmod(0o644)
    r = cli("audit", "verify", "--db", str(journal))
    assert "is readable by others (mode 0644)" in r.stdout


def test_missing_journal_is_one_line(tmp_path):
    r = cli("audit", "verify", "--db", str(tmp_path / "nope.db"))
    assert r.returncode != 0 and r.stderr.strip() == f"Error: There is no journal at {tmp_path / 'nope.db'}."
    r = cli("history", "--account", "X", "--db", str(tmp_path / "nope.db"))
    assert r.returncode != 0 and r.stderr.strip().startswith("Error: There is no journal at")
