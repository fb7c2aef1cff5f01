"""Publishing flows: versions, four-eyes review, go-live, rollback, and adopting app releases.

A flow version goes **draft → submitted → approved → live**:

- *draft*: the trainer's working copy in a workspace folder (`callguide.library.workspace`); nothing
  in the store.
- *submitted*: `Workspace.submit` passed every gate (`callguide.library.gates`) and stored the exact
  text as an immutable `flow_versions` row with the gate evidence.
- *approved*: a different person with the reviewer role approved it (`approve`), after seeing the
  semantic diff against the live version, the test results and the coverage; the approval, the
  reviewer and the hash of the diff they saw go to the hash-chained publication log.
- *live*: from the approval, or from a set date and time. Live calls load only live versions
  (`callguide.library.live.load_for_calls`); a call in progress stays on the versions it started
  with (the engine snapshots them by content hash).

A version whose text is marked `review_needed` is approved for **practice only** and never goes
live, until a reviewed version without the mark is approved. `rollback` puts an earlier approved
version live again (one decision in the log). A release of the app reaches live calls only
through its manifest (`adopt_release`), never because a file changed.

The SQL lives in `callguide.store.publications`; this module decides. Never imports Qt.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callguide import paths
from callguide.flow.model import Flow, FlowLibrary
from callguide.flow.yamlsafe import display_path, read_bounded
from callguide.identity import IdentityError, Person, require_role
from callguide.store.base import StoreError
from callguide.store.publications import (
    POINTER_EVENTS,
    FlowVersion,
    LogEntry,
    LogRecord,
    PublicationStore,
    Release,
    open_publications,
    text_hash,
)

SYSTEM = "system"
SUBMIT_ROLES = ("trainer",)
REVIEW_ROLES = ("reviewer",)
ROLLBACK_ROLES = ("trainer", "reviewer", "supervisor")

__all__ = [
    "FlowStatus", "GateRefused", "PublishError", "Refusal", "VersionStatus", "adopt_release", "approve",
    "flow_status", "live_versions", "load_version", "open_store", "published_versions", "read_flow_text",
    "reject", "review_view", "rollback", "text_hash", "version_key",
]


class PublishError(Exception):
    """Publishing was refused or the publications cannot be read (one plain line; `problems` lists more)."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []


@dataclass(frozen=True)
class Refusal:
    """One gate that said no: which gate, where (file:line or test name) and why."""

    gate: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: [{self.gate}] {self.message}"


class GateRefused(PublishError):
    """Submitting (or approving) was refused by one or more gates."""

    def __init__(self, what: str, refusals: list[Refusal]):
        gates = sorted({r.gate for r in refusals})
        more = f" (and {len(refusals) - 1} more)" if len(refusals) > 1 else ""
        super().__init__(f"{what} refused at the {', '.join(gates)} gate{'s' if len(gates) > 1 else ''}: "
                         f"{refusals[0]}{more}", [str(r) for r in refusals])
        self.refusals = refusals


# ---------------------------------------------------------------------- small helpers


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(t: dt.datetime) -> str:
    if t.tzinfo is None:
        t = t.astimezone()  # a naive time is the local time of this desktop
    return t.astimezone(dt.UTC).isoformat(timespec="seconds")


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


def is_team_target(db: Any) -> bool:
    """A team store's TeamTarget (not a file path, not a URL string)."""
    return hasattr(db, "schema") and hasattr(db, "url")


@contextmanager
def open_store(db: Any = None, *, timeout: float | None = None) -> Iterator[PublicationStore]:
    """The publication store of `db` (default: the live journal file; a PostgreSQL URL or a
    TeamTarget: the team store's), as a context manager. `timeout` (seconds, team store only)
    bounds the connect; default: the team store's usual 5 s."""
    from callguide.store.postgres.connect import is_team_url, resolve

    team = is_team_target(db) or bool(db and is_team_url(str(db)))
    where: Any = db if is_team_target(db) else str(db) if team else (Path(db) if db else paths.default_db_path())
    try:
        if team and timeout is not None:
            from callguide.store.postgres.publications import PostgresPublications

            store: PublicationStore = PostgresPublications(where if is_team_target(where) else resolve(where),
                                                           timeout=timeout)
        else:
            store = open_publications(where)
    except StoreError as e:
        raise PublishError(f"cannot open the publications: {e}") from None
    try:
        yield store
    except StoreError as e:
        raise PublishError(str(e)) from None
    finally:
        store.close()


def load_version(v: FlowVersion, filename: str | None = None) -> Flow:
    """The typed flow of a stored version (`filename` names it in diagnostics; default `file@label`)."""
    from callguide.flow.loader import load_flow_text

    flow, diags = load_flow_text(v.text, filename or f"{v.file_name}@{v.version_label}")
    if flow is None:
        raise PublishError(f"{v.flow_id} {v.version_label} ({v.short_hash}) no longer loads: "
                           f"{diags[0] if diags else 'unknown problem'}")
    return flow


# ---------------------------------------------------------------------- semantic versions

_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
                     r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$")
_LOOSE = re.compile(r"^(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+].*)?$")


def is_semver(label: str) -> bool:
    return bool(_SEMVER.match(label or ""))


def version_key(label: str) -> tuple[Any, ...] | None:
    """A sort key in semantic-version precedence (build metadata ignored); None when unreadable.
    Labels written before semver was required ("1", "1.2") read as 1.0.0 and 1.2.0."""
    m = _SEMVER.match(label or "")
    if m:
        pre = m.group(4)
        pre_key: tuple[Any, ...] = (1,) if pre is None else (0, tuple(
            (0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".")))
        return (int(m.group(1)), int(m.group(2)), int(m.group(3)), pre_key)
    m = _LOOSE.match(label or "")
    if m:
        return (int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0), (1,))
    return None


def label_line(text: str) -> int:
    m = re.search(r"^version:", text, re.M)
    return text.count("\n", 0, m.start()) + 1 if m else 1


# ---------------------------------------------------------------------- state


@dataclass
class VersionStatus:
    version: FlowVersion
    state: str                  # submitted, approved, scheduled, live, practice, rejected, superseded, withdrawn
    events: list[LogEntry] = field(default_factory=list)
    go_live: str | None = None  # when it went (or goes) live

    def first(self, event: str) -> LogEntry | None:
        return next((e for e in self.events if e.event == event), None)

    @property
    def submitted_by(self) -> str:
        e = self.first("submitted")
        return e.by_person if e else self.version.created_by

    @property
    def approved_by(self) -> str | None:
        e = self.first("approved")
        if e is not None:
            return e.by_person
        return f"release {self.version.evidence.get('release', '')}".strip() if self.version.origin == "shipped" else None

    @property
    def approvable(self) -> bool:
        return self.state == "submitted"

    @property
    def was_approved(self) -> bool:
        """Approved by a reviewer, or shipped with a release, or live before reviews existed."""
        if self.first("approved") is not None:
            return True
        return self.version.origin in ("shipped", "legacy") and any(e.event in ("live", "rollback") for e in self.events)


@dataclass
class FlowStatus:
    flow_id: str
    versions: list[VersionStatus]
    live: FlowVersion | None
    pointer: LogEntry | None      # the decision that made the live state what it is

    @property
    def practice(self) -> FlowVersion | None:
        """The version practice uses: the live one, else the latest practice-only version."""
        if self.live is not None:
            return self.live
        for vs in reversed(self.versions):
            if vs.state == "practice":
                return vs.version
        return None

    @property
    def pending(self) -> list[VersionStatus]:
        return [vs for vs in self.versions if vs.state in ("submitted", "scheduled")]

    def by_label(self, label: str) -> VersionStatus | None:
        return next((vs for vs in self.versions if vs.version.version_label == label), None)


def _pointer(entries: list[LogEntry], at: str) -> LogEntry | None:
    cancelled = {e.data.get("cancels") for e in entries if e.event == "cancelled"}
    live = [e for e in entries if e.event in POINTER_EVENTS and (e.effective_at or e.ts) <= at
            and e.seq not in cancelled]
    return max(live, key=lambda e: (e.effective_at or e.ts, e.seq)) if live else None


def _status(flow_id: str, versions: list[FlowVersion], entries: list[LogEntry], at: str) -> FlowStatus:
    by_id = {v.id: v for v in versions}
    ptr = _pointer(entries, at)
    live = by_id.get(ptr.version_id) if ptr is not None and ptr.event != "withdrawn" and ptr.version_id else None
    cancelled = {e.data.get("cancels") for e in entries if e.event == "cancelled"}
    out = []
    for v in versions:
        evs = [e for e in entries if e.version_id == v.id]
        kinds = {e.event for e in evs}
        went = [e for e in evs if e.event in ("live", "rollback") and e.seq not in cancelled]
        done = [e for e in went if (e.effective_at or e.ts) <= at]
        future = [e for e in went if (e.effective_at or e.ts) > at]
        if live is not None and v.id == live.id:
            state, when = "live", (ptr.effective_at if ptr else None)
        elif "rejected" in kinds:
            state, when = "rejected", None
        elif "practice" in kinds:
            state, when = "practice", None
        elif future:
            state, when = "scheduled", future[-1].effective_at
        elif done:
            state = "withdrawn" if ptr is not None and ptr.event == "withdrawn" and ptr.version_id == v.id \
                else "superseded"
            when = done[-1].effective_at
        elif "approved" in kinds:
            state, when = "approved", None
        else:
            state, when = "submitted", None
        out.append(VersionStatus(v, state, evs, when))
    return FlowStatus(flow_id, out, live, ptr)


def flow_status(store: PublicationStore, flow_id: str, now: dt.datetime | None = None) -> FlowStatus:
    return _status(flow_id, store.versions(flow_id), store.log(flow_id), iso(now or now_utc()))


def all_status(store: PublicationStore, now: dt.datetime | None = None) -> dict[str, FlowStatus]:
    at = iso(now or now_utc())
    versions = store.versions()
    entries = store.log()
    ids = sorted({v.flow_id for v in versions})
    return {fid: _status(fid, [v for v in versions if v.flow_id == fid], [e for e in entries if e.flow_id == fid], at)
            for fid in ids}


def live_versions(store: PublicationStore, now: dt.datetime | None = None) -> dict[str, FlowVersion]:
    """flow id -> the version live calls run now. A `review_needed` text is never among them."""
    return {fid: st.live for fid, st in all_status(store, now).items()
            if st.live is not None and not st.live.review_needed}


def published_versions(store: PublicationStore, now: dt.datetime | None = None) -> dict[str, FlowVersion]:
    """flow id -> the version practice and the submission gates use: live, else practice-only."""
    out = {}
    for fid, st in all_status(store, now).items():
        v = st.practice
        if v is not None:
            out[fid] = v
    return out


def library_of(versions: dict[str, FlowVersion], names: dict[str, str] | None = None) -> FlowLibrary:
    """A library built from stored texts, with the bundled signposts."""
    from callguide.flow.loader import load_signposts

    lib = FlowLibrary()
    for fid, v in versions.items():
        lib.flows[fid] = load_version(v, (names or {}).get(fid))
    sp = paths.signposts_path()
    if sp.exists():
        lib.signposts, _ = load_signposts(sp)
    return lib


# ---------------------------------------------------------------------- releases


@dataclass
class AdoptResult:
    release: str
    manifest_hash: str
    live: list[str] = field(default_factory=list)       # "texas 1.0.0"
    practice: list[str] = field(default_factory=list)   # review_needed: practice only
    kept: list[str] = field(default_factory=list)       # a trainer's version stays; the release's is offered
    problems: list[str] = field(default_factory=list)   # shipped files that do not match the manifest


def adopt_release(flows_dir: str | Path | None, store: PublicationStore,
                  now: dt.datetime | None = None) -> AdoptResult | None:
    """Adopt the shipped flows' release manifest, once. None when there is none or it was adopted.

    For each shipped flow: a file that does not match its manifest entry is never adopted; a flow
    whose live (or practice) version is a trainer's stays as it is (the release's version is
    recorded as offered); otherwise the shipped text goes live, or to practice only when it is
    marked `review_needed`. Decisions are by `system`, citing the release and manifest digest.
    """
    from callguide.flow.loader import load_flow_text
    from callguide.library.manifest import read_manifest

    folder = Path(flows_dir) if flows_dir else paths.flows_dir()
    try:
        m = read_manifest(folder)
    except Exception as e:  # noqa: BLE001 - ManifestError, one line
        raise PublishError(str(e)) from None
    if m is None or store.release(m.digest) is not None:
        return None
    at = iso(now or now_utc())
    res = AdoptResult(m.release, m.digest)
    status = all_status(store, now)
    new: list[tuple[FlowVersion, LogRecord]] = []
    outcome: dict[str, str] = {}
    for sf in m.flows:
        path = folder / sf.file
        try:
            text = read_flow_text(path)
        except PublishError as e:
            res.problems.append(str(e))
            outcome[sf.id] = "not adopted: unreadable"
            continue
        if text_hash(text) != sf.sha256:
            res.problems.append(f"{display_path(path)} does not match the release manifest ({m.path}); it was "
                                "changed after the release was built, so it is not adopted (in a development "
                                "checkout, run `python -m callguide.library.manifest`)")
            outcome[sf.id] = "not adopted: differs from the manifest"
            continue
        st = status.get(sf.id)
        current = st.practice if st is not None else None
        if current is not None and current.content_hash == sf.sha256:
            outcome[sf.id] = "unchanged"
            continue
        if current is not None and current.origin != "shipped":
            res.kept.append(f"{sf.id} {current.version_label} (the release ships {sf.version})")
            outcome[sf.id] = f"offered {sf.version}; kept {current.version_label}"
            continue
        flow, diags = load_flow_text(text, display_path(path))
        if flow is None or flow.id != sf.id:
            res.problems.append(f"{display_path(path)}: {diags[0] if diags else 'not the flow the manifest names'}")
            outcome[sf.id] = "not adopted: does not load"
            continue
        practice = bool(flow.review_needed)
        v = FlowVersion(0, sf.id, flow.version, sf.sha256, sf.file, text, flow.review_needed, "shipped", SYSTEM, at,
                        f"shipped with CallGuide {m.release}", {"release": m.release, "manifest": m.digest})
        rec = LogRecord(sf.id, None, flow.version, "practice" if practice else "live", SYSTEM, [],
                        f"shipped with CallGuide {m.release}" + (f"; review needed: {flow.review_needed}"
                                                                  if practice else ""),
                        effective_at=None if practice else at, ts=at,
                        data={"release": m.release, "manifest": m.digest})
        new.append((v, rec))
        (res.practice if practice else res.live).append(f"{sf.id} {flow.version}")
        outcome[sf.id] = "practice only (review needed)" if practice else "live"
    store.adopt_release(Release(m.digest, m.release, at, {"flows": outcome, "problems": res.problems}), new, [])
    return res


# ---------------------------------------------------------------------- reviewing


@dataclass
class ReviewView:
    """What a reviewer sees before approving: the diff against live, and the submission's evidence."""

    status: VersionStatus
    live: FlowVersion | None
    diff_text: str
    diff_hash: str

    @property
    def version(self) -> FlowVersion:
        return self.status.version

    def evidence_lines(self) -> list[str]:
        ev = self.version.evidence
        out = []
        t = ev.get("tests") or {}
        if t:
            out.append(f"Flow tests: {t.get('passed', 0)} passed, {t.get('failed', 0)} failed"
                       + (f", {len(t.get('skipped') or [])} skipped" if t.get("skipped") else ""))
        cov = ev.get("coverage") or {}
        row = cov.get(self.version.flow_id)
        if row:
            sh, st, th, tt = row
            out.append(f"Coverage of {self.version.flow_id}: steps {sh}/{st}, transitions {th}/{tt}")
        others = [f"{fid} {r[0]}/{r[1]}" for fid, r in sorted(cov.items()) if fid != self.version.flow_id and r[0]]
        if others:
            out.append("Other flows the tests reach (steps): " + ", ".join(others))
        practice = ev.get("practice") or []
        if practice:
            full = [p for p in practice if p.get("score") == 100]
            out.append(f"Practice cases: {len(full)} of {len(practice)} play to their expected result")
            out.extend(f"  {p.get('case')}: {p.get('score')}/100" for p in practice if p.get("score") != 100)
        warnings = ev.get("warnings") or []
        notes = ev.get("notes") or []
        out.append(f"Validation: no errors, {len(warnings)} warning(s)" + (f", {len(notes)} note(s)" if notes else ""))
        out.extend(f"  warning: {w}" for w in warnings[:20])
        out.extend(f"  note: {n}" for n in notes[:20])
        return out


def _find(store: PublicationStore, flow_id: str, label: str, now: dt.datetime | None) -> tuple[FlowStatus,
                                                                                                   VersionStatus]:
    st = flow_status(store, flow_id, now)
    vs = st.by_label(label)
    if vs is None:
        known = ", ".join(f"{v.version.version_label} ({v.state})" for v in st.versions) or "none"
        raise PublishError(f"{flow_id}: no version {label!r}; versions: {known}")
    return st, vs


def review_view(flow_id: str, label: str, db: str | Path | None = None, now: dt.datetime | None = None) -> ReviewView:
    from callguide.library.diff import diff_flows, render_diff

    with open_store(db) as store:
        st, vs = _find(store, flow_id, label, now)
    new = load_version(vs.version)
    if st.live is not None:
        old = load_version(st.live)
        text = render_diff(diff_flows(old, new), f"live {st.live.version_label}", f"{label} (submitted)", flow_id)
    else:
        text = render_diff([], "nothing live", label, flow_id).replace(
            "No changes in meaning (the texts may differ in layout or comments only).",
            "This flow has no live version yet: the whole flow is new.")
    return ReviewView(vs, st.live, text, hashlib.sha256(text.encode("utf-8")).hexdigest())


def _role(person: Person, roles: tuple[str, ...], what: str, where: str) -> None:
    try:
        require_role(person, roles, what)
    except IdentityError as e:
        raise GateRefused(what, [Refusal("role", where, str(e))]) from None


def _revalidate(store: PublicationStore, v: FlowVersion, now: dt.datetime | None) -> list[Refusal]:
    """The version within today's published flows: any error refuses (the library may have moved on)."""
    from callguide.flow.validate import validate_library

    others = {fid: x for fid, x in published_versions(store, now).items() if fid != v.flow_id}
    lib = library_of(others)
    name = f"{v.file_name}@{v.version_label}"
    lib.flows[v.flow_id] = load_version(v, name)
    return [Refusal("validation", f"{d.file}:{d.line}:{d.col}", f"{d.rule}: {d.message}")
            for d in validate_library(lib) if d.severity == "error" and d.file == name]


def check_approver(flow_id: str, label: str, person: Person, db: str | Path | None = None,
                   now: dt.datetime | None = None) -> None:
    """Refuse early (before showing a diff) when `person` may not approve this version."""
    what = f"Approving {flow_id} {label}"
    _role(person, REVIEW_ROLES, what, f"{flow_id} {label}")
    with open_store(db) as store:
        _, vs = _find(store, flow_id, label, now)
    if not vs.approvable:
        raise PublishError(f"{flow_id} {label} is {vs.state}; only a submitted version can be approved")
    if vs.submitted_by == person.id:
        raise GateRefused(what, [_four_eyes(flow_id, label, person)])


def _four_eyes(flow_id: str, label: str, person: Person) -> Refusal:
    return Refusal("four-eyes", f"{flow_id} {label}", f"{person.id} submitted this version; another person with "
                                                       "the reviewer role must approve it")


def approve(flow_id: str, label: str, person: Person, db: str | Path | None = None, *,
            at: dt.datetime | None = None, seen_diff_hash: str | None = None,
            now: dt.datetime | None = None) -> VersionStatus:
    """A reviewer approves a submitted version: it goes live now or at `at`, or to practice only when
    it is marked `review_needed`. Refused for the submitter, without the reviewer role, when the
    label is no longer above the live one, or when the diff changed since `seen_diff_hash`."""
    what = f"Approving {flow_id} {label}"
    _role(person, REVIEW_ROLES, what, f"{flow_id} {label}")
    current = now or now_utc()
    view = review_view(flow_id, label, db, current)
    with open_store(db) as store:
        st, vs = _find(store, flow_id, label, current)
        refusals = []
        if not vs.approvable:
            raise PublishError(f"{flow_id} {label} is {vs.state}; only a submitted version can be approved")
        if vs.submitted_by == person.id:
            refusals.append(_four_eyes(flow_id, label, person))
        if st.live is not None and not _greater(label, st.live.version_label):
            refusals.append(Refusal("version", f"{flow_id} {label}",
                                    f"the live version is now {st.live.version_label}; {label} is not above it "
                                    "(submit a new version)"))
        if seen_diff_hash is not None and seen_diff_hash != view.diff_hash:
            refusals.append(Refusal("diff", f"{flow_id} {label}",
                                    "the live version changed since you looked at the diff; look again"))
        refusals += _revalidate(store, vs.version, current)
        if refusals:
            raise GateRefused(what, refusals)
        if at is not None and at.tzinfo is None:
            at = at.astimezone()  # a naive time is this desktop's local time
        go = max(current, at) if at is not None else current
        roles = sorted(person.roles)
        recs = [LogRecord(flow_id, vs.version.id, label, "approved", person.id, roles,
                          f"reviewed the diff against {st.live.version_label if st.live else 'nothing live'}",
                          diff_hash=view.diff_hash, data={"live_before": st.live.version_label if st.live else None})]
        if vs.version.review_needed:
            recs.append(LogRecord(flow_id, vs.version.id, label, "practice", person.id, roles,
                                  f"practice only: marked review_needed ({vs.version.review_needed})"))
        else:
            for p in st.pending:
                if p.state == "scheduled" and not _greater(p.version.version_label, label):
                    recs += _cancel(p, person, f"superseded by {label}")
            recs.append(LogRecord(flow_id, vs.version.id, label, "live", person.id, roles,
                                  "goes live " + ("now" if go == current else f"at {iso(go)}"),
                                  effective_at=iso(go)))
        store.append(*recs)
        return flow_status(store, flow_id, current).by_label(label)  # type: ignore[return-value]


def _cancel(p: VersionStatus, person: Person, why: str) -> list[LogRecord]:
    out = []
    for e in p.events:
        if e.event in ("live", "rollback") and e.effective_at and p.go_live == e.effective_at:
            out.append(LogRecord(p.version.flow_id, p.version.id, p.version.version_label, "cancelled", person.id,
                                 sorted(person.roles), f"go-live at {e.effective_at} cancelled: {why}",
                                 data={"cancels": e.seq}))
    return out


def _greater(a: str, b: str) -> bool:
    ka, kb = version_key(a), version_key(b)
    return ka is not None and kb is not None and ka > kb


def reject(flow_id: str, label: str, person: Person, why: str, db: str | Path | None = None,
           now: dt.datetime | None = None) -> VersionStatus:
    """A reviewer rejects a submitted version (or its submitter withdraws it), with the reason."""
    if not (why or "").strip():
        raise GateRefused(f"Rejecting {flow_id} {label}", [Refusal("note", f"{flow_id} {label}",
                                                                   "say why (-m WHY)")])
    with open_store(db) as store:
        st, vs = _find(store, flow_id, label, now)
        if not vs.approvable:
            raise PublishError(f"{flow_id} {label} is {vs.state}; only a submitted version can be rejected")
        if vs.submitted_by != person.id:
            _role(person, REVIEW_ROLES, f"Rejecting {flow_id} {label}", f"{flow_id} {label}")
        store.append(LogRecord(flow_id, vs.version.id, label, "rejected", person.id, sorted(person.roles),
                               why.strip()))
        return flow_status(store, flow_id, now).by_label(label)  # type: ignore[return-value]


def rollback(flow_id: str, label: str, person: Person, db: str | Path | None = None, note: str = "",
             now: dt.datetime | None = None) -> VersionStatus:
    """Put an earlier approved version live again, now; pending go-lives of the flow are cancelled."""
    what = f"Rolling {flow_id} back to {label}"
    _role(person, ROLLBACK_ROLES, what, f"{flow_id} {label}")
    with open_store(db) as store:
        st, vs = _find(store, flow_id, label, now)
        if st.live is not None and st.live.id == vs.version.id:
            raise PublishError(f"{flow_id} {label} is already live")
        if vs.version.review_needed:
            raise PublishError(f"{flow_id} {label} is marked review_needed and can never be live")
        if not vs.was_approved or vs.state == "rejected":
            raise PublishError(f"{flow_id} {label} was never approved ({vs.state}); only an approved version can "
                               "be put back live")
        recs: list[LogRecord] = []
        for p in st.pending:
            if p.state == "scheduled":
                recs += _cancel(p, person, f"rollback to {label}")
        at = iso(now or now_utc())
        recs.append(LogRecord(flow_id, vs.version.id, label, "rollback", person.id, sorted(person.roles),
                              (note or "").strip() or f"rolled back from {st.live.version_label if st.live else '-'}",
                              effective_at=at, data={"from": st.live.version_label if st.live else None}))
        store.append(*recs)
        return flow_status(store, flow_id, now).by_label(label)  # type: ignore[return-value]
