"""Signed checkpoints of the journal's head, and the witnesses that keep them outside the file.

A checkpoint says "journal J had N entries and entry N's hash was H at time T", signed with the
Ed25519 key from `keys.KeyStore`. The store writes one in the same transaction as every batch that
holds a `call_ended` entry and every `checkpoint_every` entries (so a checkpoint exists whenever
its entries do), then hands it to each witness after the commit.

A witness keeps checkpoints where the attacker of the journal file cannot rewrite them (the
Certificate Transparency idea: the log's head is held elsewhere). The interface is deliberately
small, so team mode can add its central store as one more witness:

    class Witness(Protocol):
        name: str                                        # shown by `audit verify`
        def record(self, cp: Checkpoint, journal_path: str) -> None   # durable when it returns
        def latest(self, journal_id: str) -> Checkpoint | None         # cheap: used at every open
        def seen(self, journal_id: str) -> WitnessLog                  # everything, for the audit

`record` may raise `WitnessError`; the journal entry is already committed by then, so the store
keeps the message (`SQLiteJournal.witness_problem`) and the next checkpoint tries again; it never
fails the append. `latest` and `seen` return only what the witness holds: checking signatures
and comparing with the journal is the auditor's job (`store/audit.py`).

`AnchorFolder` is the local witness: one append-only JSON-lines file per journal
(`<anchors dir>/<journal id>.jsonl`), each line fsynced. Never imports Qt or the engine.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .base import StoreError, canonical_json
from .keys import PublicKey, SigningKey, write_all

_TAIL_BYTES = 64 * 1024


class WitnessError(Exception):
    """A witness could not keep a checkpoint (one plain line)."""


@dataclass(frozen=True)
class Checkpoint:
    journal_id: str
    seq: int
    head: str  # hash of entry `seq` (GENESIS_HASH for an empty journal)
    ts: str  # wall-clock UTC time of signing, ISO 8601
    key: str  # fingerprint of the public key that signed
    sig: str  # hex Ed25519 signature of `payload()`

    def payload(self) -> bytes:
        return canonical_json({"v": 1, "journal_id": self.journal_id, "seq": self.seq, "head": self.head,
                               "ts": self.ts, "key": self.key}).encode("utf-8")

    def valid_for(self, public: PublicKey) -> bool:
        if public.fingerprint != self.key:
            return False
        try:
            sig = bytes.fromhex(self.sig)
        except ValueError:
            return False
        return public.verify(sig, self.payload())

    def to_dict(self) -> dict[str, Any]:
        return {"v": 1, "journal_id": self.journal_id, "seq": self.seq, "head": self.head, "ts": self.ts,
                "key": self.key, "sig": self.sig}

    @classmethod
    def from_dict(cls, d: Any) -> Checkpoint:
        if not isinstance(d, dict):
            raise ValueError("not an object")
        for k in ("journal_id", "head", "ts", "key", "sig"):
            if not isinstance(d.get(k), str):
                raise ValueError(f"{k} missing")
        if not isinstance(d.get("seq"), int) or isinstance(d.get("seq"), bool):
            raise ValueError("seq missing")
        return cls(d["journal_id"], d["seq"], d["head"], d["ts"], d["key"], d["sig"])

    def when(self) -> str:
        """The signing time in local time, for messages ("2026-11-25 14:02")."""
        try:
            return dt.datetime.fromisoformat(self.ts.replace("Z", "+00:00")).astimezone().strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return self.ts


def sign_checkpoint(key: SigningKey, journal_id: str, seq: int, head: str,
                    now: dt.datetime | None = None) -> Checkpoint:
    ts = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds").replace("+00:00", "Z")
    unsigned = Checkpoint(journal_id, seq, head, ts, key.public.fingerprint, "")
    return Checkpoint(journal_id, seq, head, ts, key.public.fingerprint, key.sign(unsigned.payload()).hex())


@dataclass
class WitnessLog:
    """What one witness holds for one journal."""

    witness: str
    checkpoints: list[Checkpoint] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # unreadable lines and the like
    found: bool = False  # the witness has anything at all for this journal


class Witness(Protocol):
    name: str

    def record(self, cp: Checkpoint, journal_path: str) -> None: ...

    def latest(self, journal_id: str) -> Checkpoint | None: ...

    def seen(self, journal_id: str) -> WitnessLog: ...


class AnchorFolder:
    """The local witness: `<folder>/<journal id>.jsonl`, one signed checkpoint per line (plus the
    journal's path, unsigned, so the audit can notice a different journal put in its place).
    Appended with O_APPEND and fsynced, so concurrent writers never interleave inside a line."""

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        if folder is None:
            from callguide import paths

            folder = paths.anchors_dir()
        self.folder = Path(folder)
        self.name = f"anchor folder {self.folder}"

    def file_for(self, journal_id: str) -> Path:
        if not journal_id or "/" in journal_id or journal_id.startswith("."):
            raise StoreError(f"Journal id {journal_id!r} cannot name an anchor file.", "invalid")
        return self.folder / f"{journal_id}.jsonl"

    def record(self, cp: Checkpoint, journal_path: str) -> None:
        path = self.file_for(cp.journal_id)
        line = (json.dumps({**cp.to_dict(), "path": journal_path}, sort_keys=True, ensure_ascii=False)
                + "\n").encode("utf-8")
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            new = not path.exists()
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    line = b"\n" + line  # a torn last line (power loss) stays on its own line
                write_all(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            if new:
                _fsync_dir(self.folder)
            self._note_path(cp.journal_id, journal_path)
        except OSError as exc:
            raise WitnessError(f"cannot write the anchor file {path}: {exc.strerror or exc}") from None

    def path_file(self, journal_path: str) -> Path:
        """`paths/<hash of the path>.txt`: the ids of the journals this folder saw at `journal_path`,
        one a line, so that opening a journal can tell, with one small read, that another one was
        anchored at its path (a file deleted, emptied or replaced, then started afresh)."""
        digest = hashlib.sha256(journal_path.encode("utf-8", "surrogateescape")).hexdigest()[:32]
        return self.folder / "paths" / f"{digest}.txt"

    def _note_path(self, journal_id: str, journal_path: str) -> None:
        path = self.path_file(journal_path)
        try:
            if journal_id in path.read_text("utf-8").split():
                return
        except FileNotFoundError:
            pass
        except UnicodeDecodeError:
            pass  # damaged: a line of its own after it
        path.parent.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            write_all(fd, f"\n{journal_id}\n".encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def others_at(self, journal_path: str, journal_id: str) -> dict[str, Checkpoint]:
        """The other journals this folder saw at `journal_path` and whose newest anchor still names
        that path (one moved away since is not counted): journal id -> that anchor. Cheap: the path
        file and the tail of each other journal's anchor file; for every open."""
        try:
            ids = self.path_file(journal_path).read_text("utf-8").split()
        except (OSError, UnicodeDecodeError):
            return {}
        found: dict[str, Checkpoint] = {}
        for other in dict.fromkeys(ids):
            if other != journal_id:
                cp = self._last_at(other, journal_path)
                if cp is not None:
                    found[other] = cp
        return found

    def _last_at(self, journal_id: str, journal_path: str) -> Checkpoint | None:
        """The last checkpoint of `journal_id`'s anchor file when its line names `journal_path`."""
        with contextlib.suppress(OSError, StoreError):
            with open(self.file_for(journal_id), "rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(0, size - _TAIL_BYTES))
                raw = f.read(_TAIL_BYTES)
            for chunk in reversed(raw.split(b"\n")):
                try:
                    d = json.loads(chunk)
                    cp = Checkpoint.from_dict(d)
                except (ValueError, UnicodeDecodeError):
                    continue
                return cp if d.get("path") == journal_path and cp.journal_id == journal_id else None
        return None

    def _parse(self, raw: bytes, first_lineno: int, log: WitnessLog, journal_id: str) -> None:
        for i, chunk in enumerate(raw.split(b"\n")):
            if not chunk.strip():
                continue
            try:
                d = json.loads(chunk)
                cp = Checkpoint.from_dict(d)
            except (ValueError, UnicodeDecodeError):
                # A write cut short by a power loss leaves an unterminated object (a killed process
                # cannot: one write() of one line completes or does not happen).
                if not chunk.rstrip().endswith(b"}"):
                    log.problems.append(f"line {first_lineno + i} was cut short (a write interrupted by a crash); "
                                        "ignored")
                else:
                    log.problems.append(f"line {first_lineno + i} is not a checkpoint (damaged or edited)")
                continue
            if cp.journal_id != journal_id:
                log.problems.append(f"line {first_lineno + i} names another journal ({cp.journal_id})")
                continue
            log.checkpoints.append(cp)

    def latest(self, journal_id: str) -> Checkpoint | None:
        """The highest checkpoint among the file's last lines (cheap: reads at most 64 KB)."""
        path = self.file_for(journal_id)
        try:
            with open(path, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(0, size - _TAIL_BYTES))
                raw = f.read(_TAIL_BYTES)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"Cannot read the anchor file {path}: {exc.strerror or exc}.", "other") from None
        if size > _TAIL_BYTES:
            raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
        log = WitnessLog(self.name)
        self._parse(raw, 1, log, journal_id)
        return max(log.checkpoints, key=lambda c: c.seq, default=None)

    def seen(self, journal_id: str) -> WitnessLog:
        path = self.file_for(journal_id)
        log = WitnessLog(f"anchor file {path}")
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return log
        except OSError as exc:
            log.found = True
            log.problems.append(f"cannot be read: {exc.strerror or exc}")
            return log
        log.found = True
        self._parse(raw, 1, log, journal_id)
        return log

    def journals_at(self, journal_path: str) -> dict[str, Checkpoint]:
        """Other journals this folder has seen at `journal_path`: journal id -> its latest checkpoint
        (read from each anchor file's tail). For the audit, not for every open."""
        found: dict[str, Checkpoint] = {}
        try:
            files = sorted(self.folder.glob("*.jsonl"))
        except OSError:
            return found
        for path in files:
            cp = self._last_at(path.stem, journal_path)
            if cp is not None:
                found[path.stem] = cp
        return found


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
