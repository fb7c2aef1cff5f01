"""`callguide audit verify`: everything that can be checked about a journal file, and a plain
statement of what could not be.

It opens the file read-only (it also works on a read-only folder or mount, and on a journal that
normal use refuses) and checks, in order: SQLite's own `integrity_check`; the schema (every table,
index and append-only trigger, nothing added); the hash chain; that the indexes count what the
table holds; every signed checkpoint in the file (signature by a trusted key, and the journal
still has that entry with that hash); every checkpoint each witness holds (the anchor file), which
is what catches truncation, rollback to an older copy and forgery with recomputed hashes; and
whether the anchor folder saw a different journal at this path.

Trusted keys: this machine's signing key (`keys.KeyStore`), plus any public keys given
(`--key`). What each check proves, and against whom, is in docs/journal.md. Never imports Qt.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import integrity as _integrity
from . import migrations as _migrations
from .base import StoreError, VerifyResult
from .checkpoints import AnchorFolder, Checkpoint, Witness, WitnessLog
from .keys import KeyStore, PublicKey
from .sqlite import _BATCH, _COLUMNS, _connect_readonly, _newer, classify_error, read_snapshot, verify_chain

OK, BROKEN, UNCHECKED = "ok", "broken", "unchecked"
_MAX_PER_KIND = 3


@dataclass
class Finding:
    status: str  # "ok" | "broken" | "unchecked"
    text: str

    def line(self) -> str:
        prefix = {OK: "ok:", BROKEN: "BROKEN:", UNCHECKED: "not checked:"}[self.status]
        return self.text if self.text.startswith("BROKEN at entry") else f"{prefix} {self.text}"


@dataclass
class AuditReport:
    path: Path
    journal_id: str = ""
    entries: int = 0
    chain: VerifyResult | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.status == BROKEN for f in self.findings)

    @property
    def problems(self) -> list[str]:
        return [f.text for f in self.findings if f.status == BROKEN]

    @property
    def unchecked(self) -> list[str]:
        return [f.text for f in self.findings if f.status == UNCHECKED]

    def lines(self) -> list[str]:
        out = [f.line() for f in self.findings]
        broken = len(self.problems)
        if broken:
            out.append(f"verdict: the journal was changed, cut short, replaced or damaged ({broken} problem"
                       f"{'s' if broken != 1 else ''} above)")
        elif self.unchecked:
            out.append("verdict: no problem found in what could be checked; see 'not checked' above")
        else:
            out.append("verdict: intact")
        return out


def audit_journal(path: str | Path, *, keys: KeyStore | None = None, trusted: Sequence[PublicKey] = (),
                  witnesses: Sequence[Witness] | None = None) -> AuditReport:
    """Check the journal at `path` without writing to it. Raises StoreError (one line) only when
    the file cannot be read as a database at all, or comes from a newer CallGuide."""
    path = Path(path)
    keys = keys if keys is not None else KeyStore()
    witnesses = (AnchorFolder(),) if witnesses is None else tuple(witnesses)
    try:
        conn = _connect_readonly(path, 5.0)
    except (sqlite3.Error, OSError) as exc:
        raise classify_error(exc, path) from None
    try:
        return _Audit(path, conn, keys, trusted, witnesses).run()
    except (sqlite3.Error, OSError) as exc:
        raise classify_error(exc, path) from None
    finally:
        conn.close()


class _Audit:
    def __init__(self, path: Path, conn: sqlite3.Connection, keys: KeyStore, trusted: Sequence[PublicKey],
                 witnesses: Sequence[Witness]) -> None:
        self.path, self.conn, self.keys, self.witnesses = path, conn, keys, witnesses
        self.report = AuditReport(path)
        self.trusted = {k.fingerprint: k for k in trusted}
        self.local: PublicKey | None = None
        self.end = 0

    def add(self, status: str, text: str) -> None:
        self.report.findings.append(Finding(status, text))

    def guarded(self, what: str, fn: Callable[[], Any]) -> Any:
        """Run one check; a database error becomes a finding instead of ending the audit."""
        try:
            return fn()
        except sqlite3.DatabaseError as exc:
            self.add(BROKEN, f"{what}: cannot be read ({str(exc).splitlines()[0] if str(exc) else 'damaged'})")
            return None

    def run(self) -> AuditReport:
        newer = _newer(self.conn, _migrations.migrations, _migrations.SCHEMA_VERSION)
        if newer:
            raise StoreError(f"The journal {self.path} was written by a newer version of CallGuide ({newer}); "
                             "audit it with that version.", "newer")
        have = self.guarded("the schema", lambda: _integrity.schema_objects(self.conn)) or {}
        key_findings = self.load_keys()
        journal_id = self.guarded("the journal's id", lambda: self.journal_id(have)) or ""
        self.report.journal_id = journal_id
        # The witnesses first: they only hold heads committed before the snapshot below begins,
        # so appends made while the audit runs cannot look like a truncation.
        logs = [w.seen(journal_id) for w in self.witnesses] if journal_id else []
        with read_snapshot(self.conn):
            if "entries" not in have:
                self.add(BROKEN, "the table of entries is missing (dropped): there is nothing to verify")
            else:
                self.guarded("the entries", self.check_chain)
            self.guarded("SQLite integrity_check", self.check_sqlite)
            self.guarded("the schema", self.check_schema)
            if "entries" in have and "call_index" in have and "account_index" in have:
                self.guarded("the indexes", self.check_consistency)
            self.report.findings += key_findings
            if "entries" in have:
                if "checkpoints" in have and journal_id:
                    self.guarded("the checkpoints", lambda: self.check_checkpoints(journal_id, have))
                self.guarded("the anchors", lambda: self.check_witnesses(journal_id, logs))
        return self.report

    # ------------------------------------------------------------------ checks

    def check_chain(self) -> None:
        def fetch(last: int) -> list[tuple[Any, ...]]:
            return self.conn.execute(f"SELECT {_COLUMNS} FROM entries WHERE seq > ? ORDER BY seq LIMIT ?",
                                     (last, _BATCH)).fetchall()

        res = verify_chain(fetch)
        self.report.chain = res
        self.end = _integrity.end_seq(self.conn)
        self.report.entries = self.end
        if res.ok:
            self.add(OK, f"{res.checked} entries, chain intact")
        else:
            self.add(BROKEN, f"BROKEN at entry {res.first_bad_seq}: {res.reason} ({res.checked} entries checked)")

    def check_sqlite(self) -> None:
        rows = [r[0] for r in self.conn.execute("PRAGMA integrity_check(20)").fetchall()]
        if rows == ["ok"]:
            self.add(OK, "SQLite integrity_check passed")
        else:
            lines = [ln.strip() for r in rows for ln in r.splitlines() if ln.strip() and not ln.startswith("***")]
            first = lines[0] if lines else rows[0]
            more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
            self.add(BROKEN, f"SQLite integrity_check: {first}{more}")

    def check_schema(self) -> None:
        missing = _integrity.missing_append_only_triggers(self.conn)
        if missing:
            self.add(BROKEN, f"append-only triggers missing: {', '.join(missing)} (dropped: rows could be changed "
                             "or deleted without SQLite refusing)")
        else:
            self.add(OK, "append-only triggers present")
        for p in _integrity.schema_problems(self.conn):
            if "append-only trigger" not in p:
                self.add(BROKEN, p)

    def check_consistency(self) -> None:
        for p in _integrity.consistency_problems(self.conn, deep=True):
            self.add(BROKEN, p)

    def load_keys(self) -> list[Finding]:
        """The trusted keys; what could not be known about them, as findings to report."""
        found = []
        try:
            self.local = self.keys.public_key()
        except StoreError as exc:
            found.append(Finding(UNCHECKED, f"this machine's key cannot be read ({exc})"))
        if self.local is not None:
            self.trusted.setdefault(self.local.fingerprint, self.local)
        loose = self.keys.loose_permissions()
        if loose:
            found.append(Finding(UNCHECKED, loose))
        if not self.trusted:
            found.append(Finding(UNCHECKED, f"no public key to check signatures with (none in {self.keys.folder}; "
                                            "pass the writer's key with --key): forgery cannot be ruled out"))
        return found

    def journal_id(self, have: dict[str, Any]) -> str:
        if "journal_meta" not in have:
            return self.id_from_anchors("the journal's id table is missing")
        journal_id = _integrity.meta(self.conn).get("journal_id", "")
        return journal_id or self.id_from_anchors("the journal has no id")

    def id_from_anchors(self, why: str) -> str:
        for w in self.witnesses:
            if isinstance(w, AnchorFolder):
                seen = w.journals_at(str(self.path.absolute()))
                if seen:
                    journal_id = max(seen, key=lambda j: seen[j].seq)
                    self.add(BROKEN, f"{why}; the anchors saw journal {journal_id} at this path, checking against it")
                    return journal_id
        self.add(BROKEN, f"{why}: its anchors cannot be found")
        return ""

    def describe_key(self, cp: Checkpoint) -> str:
        mine = f" (this machine's key is {self.local.fingerprint})" if self.local else ""
        return f"key {cp.key}{mine}"

    def signature_problem(self, cp: Checkpoint, source: str) -> str | None:
        if not self.trusted:
            return None
        public = self.trusted.get(cp.key)
        if public is None:
            return (f"{source} is signed by {self.describe_key(cp)}, not a trusted key: forged, or written on "
                    "another machine (pass that machine's public key with --key)")
        if not cp.valid_for(public):
            return f"{source} does not carry a valid signature (forged or edited)"
        return None

    def check_checkpoints(self, journal_id: str, have: dict[str, Any]) -> None:
        rows = self.conn.execute("SELECT seq, ts, head, key, sig FROM checkpoints ORDER BY seq").fetchall()
        cps = [_integrity.journal_checkpoint(journal_id, r) for r in rows]
        meta = _integrity.meta(self.conn) if "journal_meta" in have else {}
        since = int(meta.get("checkpoints_from", "0") or 0)
        problems = []
        for cp in reversed(cps):  # the newest first: it says the most
            problems += [p for p in (self.signature_problem(cp, f"the journal's checkpoint at entry {cp.seq}"),
                                     _integrity.compare_with_journal(self.conn, cp, self.end,
                                                                     f"the journal's own checkpoint of {cp.when()}"))
                         if p]
        self.add_some(problems, "of the journal's checkpoints")
        newest = cps[-1].seq if cps else 0
        removed = _integrity.checkpoints_removed(self.conn, newest)
        if removed:
            self.add(BROKEN, removed)
        if cps and not problems:
            self.add(OK, f"{len(cps)} signed checkpoints in the journal, the newest at entry {newest} "
                         f"({cps[-1].when()}), all match")
        self.check_relaxing(journal_id)
        first = max(newest, since) + 1
        if first <= self.end and not problems and not removed:
            self.add(UNCHECKED, f"entries {first}-{self.end} come after the newest signed checkpoint (a call "
                                "still open, or a journal from before checkpoints): they are chained, not signed")

    def check_relaxing(self, journal_id: str) -> None:
        """A relaxing entry (a closing review, a hold's end, a consent given) after the signed
        grandfathering point with no valid checkpoint of its own: written by someone without the key
        (the register does not count it). docs/journal.md, "Relaxing entries are signed"."""
        keys = list(self.trusted.values()) or [None]
        found: list[tuple[int, str]] | None = None
        for public in keys:  # the entries no trusted key vouches for
            mine = set(_integrity.unsigned_relaxing(self.conn, journal_id, public))
            found = sorted(mine if found is None else set(found) & mine)
        self.add_some([f"entry {seq} ({type_}) lifts or loosens a protection but carries no signature of its own "
                       "(written after the journal's last signature, without the key): not counted"
                       for seq, type_ in found or []], "of the relaxing entries")

    def add_some(self, problems: list[str], what: str) -> None:
        for p in problems[:_MAX_PER_KIND]:
            self.add(BROKEN, p)
        if len(problems) > _MAX_PER_KIND:
            self.add(BROKEN, f"{len(problems) - _MAX_PER_KIND} more problems {what}")

    def check_witnesses(self, journal_id: str, logs: Sequence[WitnessLog]) -> None:
        if not journal_id:
            self.add(UNCHECKED, "no journal id, so no anchor: truncation and rollback cannot be ruled out")
            return
        anchored_any = False
        for w, log in zip(self.witnesses, logs, strict=True):
            if not log.found:
                self.add(UNCHECKED, f"no anchor found for journal {journal_id} ({w.name}): truncation, and rollback "
                                    "to an older copy, cannot be ruled out")
                continue
            anchored_any = True
            for p in log.problems:
                self.add(UNCHECKED if "cut short" in p else BROKEN, f"{log.witness}: {p}")
            bad: list[str] = []
            valid: list[Checkpoint] = []
            for cp in log.checkpoints:
                sig = self.signature_problem(cp, f"{log.witness}: the checkpoint for entry {cp.seq}")
                if sig:
                    bad.append(sig)
                else:
                    valid.append(cp)
            self.add_some(bad, f"in {log.witness}")
            valid.sort(key=lambda c: c.seq)
            mismatched = [m for m in (_integrity.compare_with_journal(self.conn, cp, self.end,
                                                                      f"the anchor of {cp.when()}")
                                      for cp in reversed(valid)) if m]
            if mismatched:  # the newest anchored checkpoint that disagrees says the most
                more = f" ({len(mismatched) - 1} older anchored checkpoints disagree too)" if len(mismatched) > 1 else ""
                self.add(BROKEN, mismatched[0] + more)
            if valid and not bad and not mismatched:
                newest = valid[-1]
                self.add(OK, f"{log.witness}: {len(valid)} checkpoints, the newest (entry {newest.seq}, "
                             f"{newest.when()}) matches the journal")
                if newest.seq < self.end:
                    self.add(UNCHECKED, f"entries {newest.seq + 1}-{self.end} are not anchored yet: their removal "
                                        "could not be detected")
            elif not valid and not bad:
                self.add(UNCHECKED, f"{log.witness} holds no checkpoint for this journal")
        for w in self.witnesses:
            if isinstance(w, AnchorFolder):
                others = {j: cp for j, cp in w.journals_at(str(self.path.absolute())).items() if j != journal_id}
                for other, cp in list(others.items())[:_MAX_PER_KIND]:
                    self.add(BROKEN, f"the anchor of {cp.when()} saw another journal ({other}, {cp.seq} entries) at "
                                     "this path: the file was replaced, or the journal was started afresh")
        if not anchored_any and not self.witnesses:
            self.add(UNCHECKED, "no witness given: truncation and rollback cannot be ruled out")


__all__ = ["AuditReport", "Finding", "audit_journal"]
