"""`callguide review` (the local journal) follows the typed-text rule for its --note, as the console
does (docs/team.md, "Typed texts"): a note that may hold health details is refused without the
consent in force (one line, nothing written), sealed under it with the consent (raw bytes checked),
and a plain note passes. A real SQLite journal, click's CliRunner."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from click.testing import CliRunner

from callguide.cli import main
from callguide.store.base import NewEntry
from callguide.store.sealing import is_sealed, purposes_of
from callguide.store.sqlite import SQLiteJournal

HEALTH = "Customer has cancer and is on chemo"


def journal(path: Path, account: str, *, consent: bool) -> None:
    """An account with an open capacity doubt (and the health consent given, or not)."""
    j = SQLiteJournal.open(path)
    call = uuid.uuid4().hex
    entries = [("call_started", {"account": {"id": account}, "start_flow": "main", "lang": "en", "practice": False})]
    if consent:
        entries.append(("consent", {"purpose": "health_disclosure", "decision": "given", "wording_hash": "cd" * 32,
                                    "wording_lang": "en", "wording": "May I note that?"}))
    entries.append(("capacity_doubt", {"reason": "doubt remains"}))
    for i, (type_, data) in enumerate(entries):
        j.append(NewEntry(type_, call, account, "anna", "main", "ab" * 32, "s", data,
                          f"2026-11-22T09:00:0{i}.000+00:00"))
    j.close()


def raw(path: Path) -> bytes:
    wal = Path(f"{path}-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def review(tmp_path: Path, db: Path, account: str, note: str):
    people = tmp_path / "people.yaml"
    people.write_text("people:\n  bo: {name: Bo Nielsen, roles: [care_team]}\n", encoding="utf-8")
    return CliRunner().invoke(main, env={"CALLGUIDE_PEOPLE": str(people)},
                              args=["review", "capacity", "--account", account, "--result", "confirmed", "--by", "bo",
                                    "--note", note, "--db", str(db)])


def count(db: Path) -> int:
    j = SQLiteJournal.open(db)
    try:
        return j.count()
    finally:
        j.close()


def test_a_health_note_without_consent_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    journal(db, "R-1", consent=False)
    before = count(db)
    out = review(tmp_path, db, "R-1", HEALTH)
    assert out.exit_code == 2 and out.output.strip() == (
        "Error: not saved: this note may hold health or life-event details and no consent for health disclosure is "
        "in force on account R-1; write it without them"), out.output
    assert count(db) == before and b"cancer" not in raw(db)
    out = review(tmp_path, db, "R-1", "Assessed with support")  # a plain note passes
    assert out.exit_code == 0 and "Bo Nielsen" in out.output and "sealed" not in out.output, out.output
    assert count(db) == before + 1


def test_a_health_note_with_consent_in_force_is_sealed_under_it(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    journal(db, "R-2", consent=True)
    out = review(tmp_path, db, "R-2", HEALTH)
    assert out.exit_code == 0, out.output
    assert out.output.strip().endswith("; its note is sealed under the consent health_disclosure (a withdrawal "
                                       "destroys it)")
    assert b"cancer" not in raw(db) and b"chemo" not in raw(db)
    j = SQLiteJournal.open(db)
    try:
        e = [x for x in j.account_entries("R-2") if x.type == "capacity_review"][-1]
        assert is_sealed(e.data["note"]) and purposes_of(e.data["note"]) == ["health_disclosure"]
        assert e.data["consent"] == ["health_disclosure"]
        assert j.sealer.open("R-2", e.data["note"]) == HEALTH
        assert j.account_state("R-2", dt.date(2026, 11, 26)).capacity_doubts == []
    finally:
        j.close()
