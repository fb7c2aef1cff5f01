"""Publishing flows: immutable versions and the live pointer.

A publication is one immutable row: the flow id, the sha256 of the exact text, the author's
version label, who published it, when, a change note and the text itself. Rows live in a
`publications` table inside the journal database file (its own sqlite-utils migration set,
`callguide.publications`, next to the journal's); triggers refuse UPDATE and DELETE. The
*live* version of a flow is its latest publication (highest `seq`): re-publishing an older
text is how a rollback is done, and it is itself a new row.

Publishing is refused when the flow has validation errors (warnings do not block).
Never imports Qt; never touches the journal's `entries`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database, Migrations

from callguide import paths
from callguide.flow.model import Flow, FlowLibrary
from callguide.flow.yamlsafe import Diagnostic, display_path, read_bounded

MIGRATION_SET = "callguide.publications"
BUNDLED_BY = "system"
BUNDLED_NOTE = "bundled"

migrations = Migrations(MIGRATION_SET)


@migrations(name="0001_publications")
def _m0001(db: Database) -> None:
    strict = " STRICT" if db.supports_strict else ""
    db.execute(f"""
        CREATE TABLE publications (
            seq INTEGER PRIMARY KEY,
            flow_id TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            version_label TEXT NOT NULL,
            published_by TEXT NOT NULL,
            published_at TEXT NOT NULL,
            note TEXT NOT NULL,
            file_name TEXT NOT NULL,
            text TEXT NOT NULL
        ){strict}
    """)
    db.execute("CREATE INDEX idx_publications_flow ON publications (flow_id, seq)")
    for op in ("UPDATE", "DELETE"):
        db.execute(f"""
            CREATE TRIGGER publications_no_{op.lower()} BEFORE {op} ON publications
            BEGIN SELECT RAISE(ABORT, 'publications are immutable'); END
        """)


class PublishError(Exception):
    """Publishing was refused or the publications cannot be read (one plain line)."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []


@dataclass(frozen=True)
class Publication:
    seq: int
    flow_id: str
    content_hash: str
    version_label: str
    published_by: str
    published_at: str
    note: str
    file_name: str
    text: str

    @property
    def short_hash(self) -> str:
        return self.content_hash[:12]

    def describe(self) -> str:
        return (f"{self.flow_id} {self.version_label} ({self.short_hash}) by {self.published_by} "
                f"at {self.published_at}: {self.note}")


def text_hash(text: str) -> str:
    """The content hash the engine pins calls to (sha256 of the UTF-8 text, as `load_flow_text`)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_flow_text(path: str | Path) -> str:
    """A flow file's text as the loader sees it (UTF-8, byte-order mark dropped)."""
    raw, problems = read_bounded(path)  # a regular file of at most 1 MiB; never a device or a pipe
    if raw is None:
        raise PublishError(f"{display_path(path)}: {problems[0].message}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PublishError(f"{display_path(path)}: not valid UTF-8; save the file as UTF-8") from None
    return text[1:] if text.startswith("\ufeff") else text


def _columns() -> str:
    return "seq, flow_id, content_hash, version_label, published_by, published_at, note, file_name, text"


class PublicationStore:
    """The publications of one database file. Open with `PublicationStore.open(path)`."""

    def __init__(self, path: Path, conn: sqlite3.Connection):
        self.path = path
        self.conn = conn

    @classmethod
    def open(cls, path: str | Path | None = None) -> PublicationStore:
        from callguide.store.base import StoreError
        from callguide.store.sqlite import open_database

        path = Path(path) if path else paths.default_db_path()
        try:
            return cls(path, open_database(path, migrations).conn)
        except StoreError as e:
            raise PublishError(f"cannot open the publications: {e}") from None

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()

    def __enter__(self) -> PublicationStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _guard(self) -> Iterator[sqlite3.Connection]:
        try:
            yield self.conn
        except sqlite3.Error as e:
            raise PublishError(f"{self.path}: publications: {str(e).splitlines()[0]}") from None

    # ------------------------------------------------------------------ reading

    def _rows(self, sql: str, args: tuple = ()) -> list[Publication]:
        with self._guard() as c:
            return [Publication(*r) for r in c.execute(sql, args).fetchall()]

    def count(self) -> int:
        with self._guard() as c:
            return int(c.execute("SELECT count(*) FROM publications").fetchone()[0])

    def versions(self, flow_id: str) -> list[Publication]:
        """Every publication of a flow, oldest first."""
        return self._rows(f"SELECT {_columns()} FROM publications WHERE flow_id = ? ORDER BY seq", (flow_id,))

    def live(self, flow_id: str) -> Publication | None:
        rows = self._rows(f"SELECT {_columns()} FROM publications WHERE flow_id = ? ORDER BY seq DESC LIMIT 1",
                          (flow_id,))
        return rows[0] if rows else None

    def live_all(self) -> dict[str, Publication]:
        rows = self._rows(f"SELECT {_columns()} FROM publications WHERE seq IN "
                          "(SELECT max(seq) FROM publications GROUP BY flow_id) ORDER BY flow_id")
        return {p.flow_id: p for p in rows}

    def by_hash(self, content_hash: str) -> Publication | None:
        rows = self._rows(f"SELECT {_columns()} FROM publications WHERE content_hash = ? ORDER BY seq DESC LIMIT 1",
                          (content_hash,))
        return rows[0] if rows else None

    def find(self, flow_id: str, ref: str) -> Publication | None:
        """A version by label (latest with that label), hash prefix (4+ hex digits), `live`, or `#SEQ`."""
        ref = ref.strip()
        if ref == "live":
            return self.live(flow_id)
        versions = self.versions(flow_id)
        if ref.startswith("#") and ref[1:].isdigit():
            return next((p for p in versions if p.seq == int(ref[1:])), None)
        by_label = [p for p in versions if p.version_label == ref]
        if by_label:
            return by_label[-1]
        low = ref.lower()
        if len(low) >= 4 and all(ch in "0123456789abcdef" for ch in low):
            hits = {p.content_hash: p for p in versions if p.content_hash.startswith(low)}
            if len(hits) > 1:
                raise PublishError(f"{flow_id}: the hash prefix {ref!r} matches {len(hits)} versions; give more digits")
            if hits:
                return next(iter(hits.values()))
        return None

    # ------------------------------------------------------------------ writing

    def add(self, flow: Flow, text: str, by: str, note: str, file_name: str,
            when: dt.datetime | None = None) -> Publication:
        ts = (when or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
        with self._guard() as c:
            c.execute("BEGIN IMMEDIATE")
            try:
                cur = c.execute(
                    "INSERT INTO publications (flow_id, content_hash, version_label, published_by, published_at, "
                    "note, file_name, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (flow.id, text_hash(text), flow.version, by, ts, note, file_name, text))
                seq = int(cur.lastrowid or 0)
                c.execute("COMMIT")
            except BaseException:
                if c.in_transaction:
                    c.execute("ROLLBACK")
                raise
        return Publication(seq, flow.id, text_hash(text), flow.version, by, ts, note, file_name, text)


# ---------------------------------------------------------------------- the API


@dataclass
class PublishResult:
    publication: Publication
    created: bool  # False: this exact text was already live, nothing was written
    warnings: list[Diagnostic]


def _validate_with(flow_path: Path) -> tuple[Flow | None, list[Diagnostic]]:
    """The flow at `flow_path`, validated inside its folder's library (errors in *this* file only)."""
    from callguide.flow.loader import load_flow, load_library
    from callguide.flow.validate import validate_library

    flow, diags = load_flow(flow_path)
    if flow is None:
        return None, diags
    folder = flow_path.parent
    lib, ldiags = load_library([folder])
    if flow.id not in lib.flows or Path(lib.flows[flow.id].path).resolve() != flow_path.resolve():
        lib.flows[flow.id] = flow  # a file outside the folder's scan, or a duplicate id
    all_diags = list(validate_library(lib, ldiags + diags))
    mine = display_path(flow_path)
    return flow, [d for d in all_diags if d.file == mine or Path(d.file).resolve() == flow_path.resolve()]


def publish(flow_path: str | Path, by: str, note: str, db: str | Path | None = None) -> PublishResult:
    """Publish the flow file as a new immutable version; it becomes the live one.

    Refused (PublishError, problems listed) when the flow has validation errors, when the note is
    empty, or when the flow does not load. Publishing the text that is already live writes nothing.
    On a database with no publication at all, the other flows of the folder are first published as
    the baseline ("bundled" by "system"), so that publishing one flow never strands the rest.
    """
    flow_path = Path(flow_path)
    name = display_path(flow_path)
    if not (note or "").strip():
        raise PublishError(f"{name}: a change note is required to publish")
    if not (by or "").strip():
        raise PublishError(f"{name}: say who is publishing")
    text = read_flow_text(flow_path)
    flow, diags = _validate_with(flow_path)
    errors = [d for d in diags if d.severity == "error"]
    if flow is None or errors:
        raise PublishError(f"{name} has {len(errors)} error(s); fix them before publishing (first: {errors[0]})"
                           if errors else f"{name} does not load", [str(d) for d in errors])
    with PublicationStore.open(db) as store:
        fresh = store.count() == 0
    if fresh:  # the first publication on this database: adopt the other flows as the baseline first
        publish_baseline(flow_path.parent, db, exclude=flow_path)
    with PublicationStore.open(db) as store:
        live = store.live(flow.id)
        warnings = [d for d in diags if d.severity != "error"]
        if live is not None and live.content_hash == text_hash(text):
            return PublishResult(live, False, warnings)
        pub = store.add(flow, text, by.strip(), note.strip(), flow_path.name)
    return PublishResult(pub, True, warnings)


def list_versions(flow_id: str, db: str | Path | None = None) -> list[Publication]:
    """Every publication of `flow_id`, oldest first (the last one is live)."""
    with PublicationStore.open(db) as store:
        return store.versions(flow_id)


def load_publication(pub: Publication, filename: str | None = None) -> Flow:
    """The typed flow of a publication (`filename` names it in diagnostics; default `file@hash`)."""
    from callguide.flow.loader import load_flow_text

    flow, diags = load_flow_text(pub.text, filename or f"{pub.file_name}@{pub.short_hash}")
    if flow is None:
        raise PublishError(f"{pub.flow_id} version {pub.version_label} ({pub.short_hash}) no longer loads: "
                           f"{diags[0] if diags else 'unknown problem'}")
    return flow


def live_library(flows_dir: str | Path | None = None, db: str | Path | None = None) -> FlowLibrary:
    """The live versions of the flows in `flows_dir` (a flow with no publication is left out).

    Texts come from the publications, never from the files; the signposts are the bundled ones.
    """
    from callguide.flow.loader import find_flow_files, load_flow, load_signposts

    folder = Path(flows_dir) if flows_dir else paths.flows_dir()
    lib = FlowLibrary()
    with PublicationStore.open(db) as store:
        live = store.live_all()
        for f in find_flow_files([folder]):
            flow, _ = load_flow(f)
            fid = flow.id if flow is not None else None
            pub = live.get(fid) if fid else None
            if pub is None:
                pub = next((p for p in live.values() if p.file_name == f.name), None)
            if pub is not None:
                lib.flows[pub.flow_id] = load_publication(pub, display_path(f))
    sp = paths.signposts_path()
    if sp.exists():
        lib.signposts, _ = load_signposts(sp)
    return lib


def publish_baseline(flows_dir: str | Path, db: str | Path | None = None,
                     exclude: Path | None = None) -> list[Publication]:
    """First run on a fresh database: publish every flow in `flows_dir` as "bundled" by "system"
    (except `exclude`, the file a trainer is publishing right now).

    Does nothing when the database holds any publication at all.
    """
    from callguide.flow.loader import find_flow_files, load_flow

    out: list[Publication] = []
    with PublicationStore.open(db) as store:
        if store.count():
            return out
        for f in find_flow_files([Path(flows_dir)]):
            if exclude is not None and f.resolve() == exclude.resolve():
                continue
            flow, _ = load_flow(f)
            if flow is None:
                continue
            text = read_flow_text(f)
            out.append(store.add(flow, text, BUNDLED_BY, BUNDLED_NOTE, f.name))
    return out
