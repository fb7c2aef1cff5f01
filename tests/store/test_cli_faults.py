"""Storage faults through the real CLI, in a subprocess: each prints one `Error:` line saying
what to do (never a traceback), and nothing wrong is shown as right. Real faults: another
process's lock, a read-only mount, a full tmpfs, a damaged index page, a dropped table, a file
from a newer CallGuide."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from .faultlib import FLOWS, cli, cli_env, in_private_mount, one_error_line, unshare_prefix

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX faults")

VULNERABLE = """\
- {next: null}
- {answer: {income: "1500"}}
- {answer: {spend: "400"}}
- {interrupt: disclose}
- {consent: given}
- {answer: {condition: "long covid"}}
- {answer: {contact_pref: "letter"}}
- {next: null}
- {next: null}
- {end: null}
"""

needs_mount = pytest.mark.skipif(unshare_prefix() is None, reason="no private mount namespace here")


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "call.yaml"
    path.write_text(VULNERABLE, encoding="utf-8")
    return path


def walk(db: Path | str, script: Path | str, account: str = "TX-3", **kw) -> subprocess.CompletedProcess[str]:
    return cli("walk", str(FLOWS / "main.yaml"), "--script", str(script), "--db", str(db), "--account", account, **kw)


@pytest.fixture
def journal(tmp_path: Path, script: Path) -> Path:
    db = tmp_path / "journal.db"
    r = walk(db, script)
    assert r.returncode == 0, r.stderr
    r = cli("history", "--account", "TX-3", "--db", str(db))
    assert "Vulnerability" in r.stdout, r.stdout + r.stderr
    return db


# ------------------------------------------------------------------------------ locked

def test_walk_while_another_program_holds_the_lock(journal, script):
    other = sqlite3.connect(journal, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        r = walk(journal, script, env=cli_env(CALLGUIDE_BUSY_TIMEOUT="0.3"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    line = one_error_line(r.stdout, r.stderr)
    assert r.returncode != 0 and "locked by another program" in line and str(journal) in line


def test_history_while_another_program_holds_an_exclusive_lock(journal):
    other = sqlite3.connect(journal, isolation_level=None)
    other.execute("PRAGMA locking_mode = EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    other.execute("INSERT INTO flow_snapshots VALUES ('h', 'f', '1', 't', 'now')")
    try:
        r = cli("history", "--account", "TX-3", "--db", str(journal), env=cli_env(CALLGUIDE_BUSY_TIMEOUT="0.3"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert "locked" in one_error_line(r.stdout, r.stderr)


# ------------------------------------------------------------------------------ damaged

def _zero_index_cells(db: Path) -> None:
    conn = sqlite3.connect(db)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'idx_entries_account_state'").fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(db, "r+b") as f:
        f.seek((root - 1) * page_size)
        header = bytearray(f.read(8))
        assert header[0] == 0x0A
        header[3:5] = b"\0\0"
        f.seek((root - 1) * page_size)
        f.write(header)


def test_history_on_a_damaged_index_refuses_instead_of_no_history(journal):
    _zero_index_cells(journal)
    r = cli("history", "--account", "TX-3", "--db", str(journal))
    line = one_error_line(r.stdout, r.stderr)
    assert r.returncode != 0
    assert "damaged" in line and "audit verify" in line
    assert "no history" not in r.stdout.lower()


def test_walk_on_a_damaged_index_refuses(journal, script):
    _zero_index_cells(journal)
    r = walk(journal, script)
    line = one_error_line(r.stdout, r.stderr)
    assert r.returncode != 0 and "damaged" in line


def test_garbage_in_an_index_page_is_one_line(journal, script):
    """Garbage over the call index: the account's history does not use it and stays right; the
    next call, which must write into it, fails with one line; the audit names the damage."""
    conn = sqlite3.connect(journal)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'idx_entries_call_seq'").fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(journal, "r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(bytes(range(256)) * (page_size // 256))
    r = cli("history", "--account", "TX-3", "--db", str(journal))
    assert r.returncode == 0 and "Vulnerability" in r.stdout, r.stdout + r.stderr
    r = walk(journal, script)
    assert r.returncode != 0 and "damaged" in one_error_line(r.stdout, r.stderr)
    r = cli("audit", "verify", "--db", str(journal))
    assert r.returncode == 1 and "Traceback" not in r.stdout + r.stderr
    assert "BROKEN: SQLite integrity_check" in r.stdout


def test_audit_verify_on_a_dropped_table(journal, script):
    conn = sqlite3.connect(journal)
    conn.execute("DROP TABLE flow_snapshots")
    conn.commit()
    conn.close()
    r = cli("audit", "verify", "--db", str(journal))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert "the table flow_snapshots is missing (dropped)" in r.stdout
    for r in (walk(journal, script), cli("history", "--account", "TX-3", "--db", str(journal))):
        assert "audit verify" in one_error_line(r.stdout, r.stderr)


def test_audit_verify_on_a_dropped_entries_table(journal):
    conn = sqlite3.connect(journal)
    conn.execute("DROP TABLE entries")
    conn.commit()
    conn.close()
    r = cli("audit", "verify", "--db", str(journal))
    assert r.returncode == 1 and "Traceback" not in r.stdout + r.stderr
    assert "the table of entries is missing (dropped)" in r.stdout


def test_dropped_triggers_are_refused_on_open_with_how_to_check(journal, script):
    conn = sqlite3.connect(journal)
    conn.execute("DROP TRIGGER entries_no_delete")
    conn.commit()
    conn.close()
    r = walk(journal, script)
    line = one_error_line(r.stdout, r.stderr)
    assert "append-only" in line and f"callguide audit verify --db {journal}" in line


# ------------------------------------------------------------------------------ newer version

def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("how", ["user_version", "unknown migration"])
def test_a_journal_from_a_newer_callguide_is_refused_and_left_alone(journal, script, how):
    conn = sqlite3.connect(journal)
    if how == "user_version":
        conn.execute("PRAGMA user_version = 99")
    else:
        conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
                     " VALUES ('callguide.journal', '0099_from_the_future', 'later')")
    conn.commit()
    conn.close()
    before = _digest(journal)
    # (versions and flags list open the publications kept in the same file: before, they created
    # their tables in it and listed nothing, exit 0)
    for r in (walk(journal, script), cli("history", "--account", "TX-3", "--db", str(journal)),
              cli("audit", "verify", "--db", str(journal)), cli("versions", "--db", str(journal)),
              cli("flags", "list", "--db", str(journal))):
        line = one_error_line(r.stdout, r.stderr)
        assert r.returncode != 0 and "newer version of CallGuide" in line
    assert _digest(journal) == before
    wal = Path(f"{journal}-wal")
    assert not wal.exists() or wal.stat().st_size == 0


# ------------------------------------------------------------------------------ read-only

@needs_mount
def test_read_only_mount_is_still_readable_and_walk_says_why_not(tmp_path, script):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    db = str(mnt / "journal.db")
    walk_args = ["walk", str(FLOWS / "main.yaml"), "--script", str(script), "--db", db, "--account", "TX-3"]
    results = in_private_mount([
        ["mount", str(mnt), "16m"],
        ["cli", *walk_args],
        ["ro", str(mnt)],
        ["cli", "history", "--account", "TX-3", "--db", db],
        ["cli", "audit", "verify", "--db", db],
        ["cli", *walk_args],
    ])
    created, history, audit, refused = results
    assert created["rc"] == 0, created["err"]
    assert history["rc"] == 0 and "Vulnerability" in history["out"], history
    assert audit["rc"] == 0 and audit["out"].startswith("ok:") and "Traceback" not in audit["err"], audit
    line = one_error_line(refused["out"], refused["err"])
    assert refused["rc"] != 0 and "read-only" in line


def test_read_only_file_for_another_user(journal, script):
    """The journal file is read-only for the user running the command (its folder is not)."""
    import shutil
    import tempfile

    shared = Path(tempfile.mkdtemp(prefix="callguide-ro-"))
    try:
        os.chmod(shared, 0o777)
        db = shared / "journal.db"
        shutil.copy(journal, db)
        shutil.copy(script, shared / "call.yaml")
        user = None
        if os.geteuid() == 0:
            user = 65534  # root ignores file modes: run as nobody
            os.chown(db, 0, 0)
        shutil.copytree(Path(os.environ["CALLGUIDE_KEYS_DIR"]), shared / "keys")
        shutil.copytree(Path(os.environ["CALLGUIDE_ANCHORS_DIR"]), shared / "anchors")
        for p in [shared / "call.yaml", *(shared / "keys").iterdir(), *(shared / "anchors").iterdir()]:
            os.chmod(p, 0o666)
        for p in (shared / "keys", shared / "anchors"):
            os.chmod(p, 0o777)
        os.chmod(db, 0o444)
        env = cli_env(CALLGUIDE_KEYS_DIR=str(shared / "keys"), CALLGUIDE_ANCHORS_DIR=str(shared / "anchors"),
                      HOME=str(shared))
        r = cli("history", "--account", "TX-3", "--db", str(db), env=env, user=user)
        assert r.returncode == 0 and "Vulnerability" in r.stdout, r.stdout + r.stderr
        r = cli("audit", "verify", "--db", str(db), env=env, user=user)
        assert r.returncode == 0 and r.stdout.startswith("ok:"), r.stdout + r.stderr
        r = walk(db, shared / "call.yaml", env=env, user=user)
        line = one_error_line(r.stdout, r.stderr)
        assert r.returncode != 0 and "cannot be written" in line
    finally:
        shutil.rmtree(shared, ignore_errors=True)


# ------------------------------------------------------------------------------ full disk

@needs_mount
def test_full_disk_on_creation_and_on_append(tmp_path, script):
    full = tmp_path / "full"
    roomy = tmp_path / "roomy"
    full.mkdir()
    roomy.mkdir()
    existing = str(roomy / "journal.db")
    walk_args = ["walk", str(FLOWS / "main.yaml"), "--script", str(script), "--account", "TX-3"]
    results = in_private_mount([
        ["mount", str(full), "2m"],
        ["mount", str(roomy), "2m"],
        ["cli", *walk_args, "--db", existing],
        ["fill", str(full)],
        ["cli", *walk_args, "--db", str(full / "journal.db")],
        ["fill", str(roomy)],
        ["cli", *walk_args, "--db", existing],
        ["cli", "history", "--account", "TX-3", "--db", existing],
    ])
    first, create, append, history = results
    assert first["rc"] == 0, first
    for r in (create, append):
        line = one_error_line(r["out"], r["err"])
        assert r["rc"] != 0 and "The disk is full" in line, line
    # What was acknowledged before the disk filled is still there.
    assert history["rc"] == 0 and "Vulnerability" in history["out"], history
