"""`Workspace`: a trainer's working copies of the flows, as a service with no Qt.

A workspace is a folder of flow files (with `tests/` and `practice/` under it): by default
`<user data dir>/workspace`, created from the app's shipped flows on first use (and made a git
repository when git is installed), or any folder the trainer opens. The app's own shipped
`flows/` folder opens read-only: it is the release, not a working copy.

The workspace owns:
- the open files' unsaved texts (`set_text`, `text`, `dirty`, `save`, `revert`),
- a parse cache keyed by content, and the diagnostics per file, validated inside the working
  library (saved files with unsaved texts in place),
- flow-test runs (`run_tests`, the same loop as `callguide test`) with coverage,
- the publication state of each flow, and submitting, approving, rejecting and rolling back
  through the gates (`callguide.library.gates`, `callguide.library.publish`),
- agents' flags on its flows.

It emits events to subscribers (`subscribe(fn)`; `fn(event, payload)`): `text_changed`,
`diagnostics_updated`, `saved`, `tests_finished`, `publications_changed`, `flags_changed`.
The workbench window renders it; the CLI's `test` and `publish` commands use it too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callguide import paths
from callguide.flow.model import Flow, FlowLibrary
from callguide.flow.yamlsafe import Diagnostic, display_path
from callguide.identity import Person
from callguide.identity import person as find_person
from callguide.library.publish import (
    FlowStatus,
    GateRefused,
    PublishError,
    VersionStatus,
    flow_status,
    open_store,
    published_versions,
    read_flow_text,
)
from callguide.library.testrun import TestRun, find_test_files, run_flow_tests
from callguide.store.publications import FlowVersion, LogRecord, text_hash

if TYPE_CHECKING:
    from callguide.flow.validate import GraphMemo

Listener = Callable[[str, dict[str, Any]], None]
_ID = re.compile(r"^id:[ \t]*[\"']?([a-z][a-z0-9_-]*)[\"']?[ \t]*(#.*)?$", re.M)


class WorkspaceError(Exception):
    """A workspace operation was refused (one plain line)."""


def default_folder() -> Path:
    """`CALLGUIDE_WORKSPACE`, else `<user data dir>/workspace`."""
    env = os.environ.get("CALLGUIDE_WORKSPACE")
    return Path(env) if env else paths.data_dir() / "workspace"


def is_shipped(folder: str | Path) -> bool:
    try:
        return Path(folder).resolve() == paths.flows_dir().resolve()
    except OSError:
        return False


def create_workspace(dest: str | Path, source: str | Path | None = None, git: bool = True) -> Path:
    """Copy the shipped flows (flow files, tests, practice cases; not the release manifest) into a
    new workspace folder, and make it a git repository with one commit when git is installed."""
    from callguide.library.manifest import FILE_NAME, read_manifest

    dest = Path(dest)
    src = Path(source) if source else paths.flows_dir()
    if dest.exists() and any(dest.iterdir()):
        raise WorkspaceError(f"{dest}: already exists and is not empty")
    try:
        shutil.copytree(src, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns(FILE_NAME, "__pycache__", ".*"))
    except OSError as e:
        raise WorkspaceError(f"{dest}: cannot create the workspace: {e.strerror or e}") from None
    git_exe = shutil.which("git") if git else None
    if git_exe:
        m = read_manifest(src)
        msg = f"Flows shipped with CallGuide {m.release if m else ''}".strip()
        env = {**os.environ, "GIT_AUTHOR_NAME": "CallGuide", "GIT_AUTHOR_EMAIL": "callguide@localhost",
               "GIT_COMMITTER_NAME": "CallGuide", "GIT_COMMITTER_EMAIL": "callguide@localhost"}
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", msg]):
            try:
                done = subprocess.run([git_exe, *args], cwd=dest, env=env, capture_output=True, timeout=30,
                                      check=False)
            except (OSError, subprocess.SubprocessError):
                break
            if done.returncode != 0:
                break
    return dest


def _read(path: Path) -> str:
    try:
        return read_flow_text(path)
    except PublishError:
        return ""  # `_unreadable` says why; `flow()` reports it instead of an "empty file"


def _read_checked(path: Path) -> tuple[str | None, list[Diagnostic]]:
    """The file's text as the loader sees it, or None and why it cannot be read as a flow (a device,
    a folder, too large, not UTF-8): never an "empty file" for a file that could not be read."""
    from callguide.flow.loader import decode_bytes
    from callguide.flow.yamlsafe import read_bounded

    raw, problems = read_bounded(path)
    if raw is None:
        return None, problems
    text, problems = decode_bytes(raw, display_path(path))
    if text is None:
        return None, problems
    return (text[1:] if text.startswith("\ufeff") else text), []


@dataclass
class FileState:
    """What the flow list shows for one file."""

    path: Path
    flow_id: str
    dirty: bool
    errors: int
    warnings: int
    publication: str       # live / changed / never / submitted / practice
    label: str | None      # the live (or practice) version label
    pending: list[str]     # labels submitted or scheduled, awaiting a decision
    notes: int = 0         # not problems: e.g. a built-in invariant the flow waives, with its reason


class Workspace:
    """A folder of working copies, the journal that holds publications and flags, and who is working."""

    def __init__(self, folder: str | Path | None = None, db: str | Path | None = None,
                 practice_db: str | Path | None = None, person: Person | str | None = None):
        if folder is None:
            folder = default_folder()
            if not folder.exists():
                create_workspace(folder)
        self.folder = Path(folder)
        self.db = Path(db) if db else paths.default_db_path()
        self.practice_db = Path(practice_db) if practice_db else paths.default_practice_db_path()
        self._person = person
        self.read_only = is_shipped(self.folder)
        self._buffers: dict[Path, str] = {}
        self._parsed: dict[tuple[str, str], tuple[Flow | None, list[Diagnostic]]] = {}
        self._diags_key: str | None = None
        self._graph_memo: GraphMemo | None = None  # made on the first validation
        self._diags: dict[Path, list[Diagnostic]] = {}
        self._signposts: tuple[dict, list[Diagnostic]] | None = None
        self._listeners: list[Listener] = []
        self.last_run: TestRun | None = None

    @property
    def person(self) -> Person:
        """Who is working: `--by`, else CALLGUIDE_USER, else the login name, with roles from the people file."""
        if not isinstance(self._person, Person):
            self._person = find_person(self._person)
        return self._person

    # ------------------------------------------------------------------ events

    def subscribe(self, fn: Listener) -> Callable[[], None]:
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn) if fn in self._listeners else None

    def _emit(self, event: str, **payload: Any) -> None:
        for fn in list(self._listeners):
            fn(event, payload)

    # ------------------------------------------------------------------ files and texts

    def files(self) -> list[Path]:
        from callguide.flow.loader import find_flow_files

        return find_flow_files([self.folder])

    def _key(self, path: str | Path) -> Path:
        return Path(path).resolve()

    def text(self, path: str | Path) -> str:
        key = self._key(path)
        return self._buffers[key] if key in self._buffers else _read(Path(path))

    def disk_text(self, path: str | Path) -> str:
        return _read(Path(path))

    def dirty(self, path: str | Path) -> bool:
        return self._key(path) in self._buffers

    def set_text(self, path: str | Path, text: str) -> None:
        """The trainer's current text of `path` (unsaved until `save`)."""
        key = self._key(path)
        before = self._buffers.get(key)
        if text == _read(Path(path)):
            self._buffers.pop(key, None)
        else:
            self._buffers[key] = text
        if self._buffers.get(key) != before:
            self._emit("text_changed", path=Path(path))

    def revert(self, path: str | Path) -> None:
        if self._buffers.pop(self._key(path), None) is not None:
            self._emit("text_changed", path=Path(path))

    def save(self, path: str | Path) -> None:
        """Write the text as it is (exactly) to the file. Refused in the app's shipped folder."""
        p = Path(path)
        if self.read_only:
            raise WorkspaceError(f"{display_path(p)}: the app's shipped flows are read-only; open your workspace "
                                 f"({default_folder()}) to edit them")
        text = self.text(p)
        try:
            p.write_text(text, encoding="utf-8", newline="")
        except OSError as e:
            raise WorkspaceError(f"{display_path(p)}: cannot save: {e.strerror or e}") from None
        self._buffers.pop(self._key(p), None)
        self._emit("saved", path=p)

    # ------------------------------------------------------------------ parsing and validation

    def flow(self, path: str | Path) -> tuple[Flow | None, list[Diagnostic]]:
        """The parsed flow of the current text (cached by content)."""
        from callguide.flow.loader import load_flow_text

        name = display_path(path)
        key_path = self._key(path)
        if key_path in self._buffers:
            text = self._buffers[key_path]
        else:
            disk, problems = _read_checked(Path(path))
            if disk is None:
                return None, problems
            text = disk
        key = (name, hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())
        hit = self._parsed.get(key)
        if hit is None:
            hit = load_flow_text(text, name)
            if len(self._parsed) > 256:
                self._parsed.clear()
            self._parsed[key] = hit
        return hit

    def _signposts_data(self) -> tuple[dict, list[Diagnostic]]:
        from callguide.flow.loader import load_signposts

        if self._signposts is None:
            sp = paths.signposts_path()
            self._signposts = load_signposts(sp) if sp.exists() else ({}, [])
        return self._signposts

    def library(self, diags: list[Diagnostic] | None = None) -> FlowLibrary:
        """The flows as the trainer has them now: saved files, with unsaved texts in place."""
        lib = FlowLibrary()
        for f in self.files():
            flow, d = self.flow(f)
            if diags is not None:
                diags.extend(d)
            if flow is None:
                m = _ID.search(self.text(f))
                if m:  # references to a flow that does not load are not reported again as unknown
                    lib.failed_ids.add(m.group(1))
                continue
            if flow.id in lib.flows:
                if diags is not None:
                    diags.append(Diagnostic(flow.pos.file, flow.pos.line, flow.pos.col, "duplicate-id",
                                            f"flow id '{flow.id}' is already used by {lib.flows[flow.id].pos.file}"))
                continue
            lib.flows[flow.id] = flow
        lib.signposts = self._signposts_data()[0]
        return lib

    def diagnostics(self) -> dict[Path, list[Diagnostic]]:
        """Every file's diagnostics, validated inside the working library (recomputed when a text changed):
        errors, warnings, and notes (severity "note": not a problem, e.g. a built-in invariant the flow
        waives with its reason; shown, never counted as a warning)."""
        from callguide.flow.validate import GraphMemo, validate_library

        files = self.files()
        h = hashlib.sha256()
        for f in files:
            h.update(str(f).encode())
            h.update(self.text(f).encode("utf-8", "surrogatepass"))
        key = h.hexdigest()
        if key == self._diags_key:
            return self._diags
        load: list[Diagnostic] = []
        lib = self.library(load)
        if self._graph_memo is None:
            self._graph_memo = GraphMemo()  # the invariant proofs survive keystrokes that change only words
        all_diags = validate_library(lib, load, self._graph_memo)
        by_name = {display_path(f): f for f in files}
        out: dict[Path, list[Diagnostic]] = {f: [] for f in files}
        for d in all_diags:
            hit = by_name.get(d.file)
            if hit is not None:
                out[hit].append(d)
        for f in out:
            out[f].sort(key=lambda d: d.sort_key)
        self._diags_key, self._diags = key, out
        self._emit("diagnostics_updated", diagnostics=out)
        return out

    def diagnostics_for(self, path: str | Path) -> list[Diagnostic]:
        key = self._key(path)
        return next((d for f, d in self.diagnostics().items() if self._key(f) == key), [])

    # ------------------------------------------------------------------ tests and practice

    def test_files(self) -> list[Path]:
        return find_test_files([self.folder])

    def run_tests(self, files: list[Path] | None = None, library: FlowLibrary | None = None,
                  now: str | None = None) -> TestRun:
        """Run the flow tests against the working copies (saved or not) and keep the coverage. `now`
        (ISO date-time) is the clock for cases that do not set their own."""
        run = run_flow_tests(library or self.library(), list(files) if files is not None else self.test_files(),
                             now=now)
        self.last_run = run
        self._emit("tests_finished", run=run)
        return run

    def practice_cases(self) -> tuple[list[Any], list[str]]:
        from callguide.library.practice import PracticeError, find_practice_cases, load_practice_case

        cases, problems = [], []
        for p in find_practice_cases(self.folder):
            try:
                cases.append(load_practice_case(p))
            except PracticeError as e:
                problems.append(str(e))
        return cases, problems

    # ------------------------------------------------------------------ publication state

    def adopt_release(self) -> list[str]:
        """Adopt the app's shipped release manifest if this journal has not seen it (what the first live
        call would do), so a fresh machine's workbench starts from the shipped versions. Returns problems."""
        from callguide.library.publish import adopt_release

        with open_store(self.db) as store:
            res = adopt_release(paths.flows_dir(), store)
        if res is None:
            return []
        self._emit("publications_changed", flow_id=None)
        return res.problems

    def status(self, flow_id: str, now: dt.datetime | None = None) -> FlowStatus:
        with open_store(self.db) as store:
            return flow_status(store, flow_id, now)

    def file_states(self) -> list[FileState]:
        from callguide.library.publish import all_status

        diags = self.diagnostics()
        try:
            with open_store(self.db) as store:
                status = all_status(store)
        except PublishError:
            status = {}
        out = []
        for f in self.files():
            flow, _ = self.flow(f)
            fid = flow.id if flow is not None else f.stem
            mine = diags.get(f, [])
            errors = sum(d.severity == "error" for d in mine)
            warnings = sum(d.severity == "warning" for d in mine)
            st = status.get(fid)
            pending = [vs.version.version_label for vs in st.pending] if st else []
            cur = st.practice if st else None
            if cur is None:
                pub, label = "never", None
            elif cur.content_hash == text_hash(self.text(f)):
                pub, label = ("live" if st and st.live is not None and st.live.id == cur.id else "practice"), \
                    cur.version_label
            else:
                pub, label = "changed", cur.version_label
            if st and pub in ("changed", "never"):
                for vs in st.pending:
                    if vs.version.content_hash == text_hash(self.text(f)):
                        pub = "submitted"
            out.append(FileState(f, fid, self.dirty(f), errors, warnings, pub, label, pending,
                                 notes=len(mine) - errors - warnings))
        return out

    def submit(self, path: str | Path, note: str, now: dt.datetime | None = None) -> VersionStatus:
        """Submit the current text of `path` for review, through every gate.

        Raises GateRefused (each refusal names its gate and where). Nothing is saved or stored when
        refused. When accepted, the text is stored as an immutable version and the file is saved
        (so the working copy is exactly what was submitted).
        """
        from callguide.library.gates import check_submission
        from callguide.library.publish import iso, now_utc

        p = Path(path)
        if self._key(p) not in self._buffers:
            disk, unreadable = _read_checked(p)
            if disk is None:  # a device, a folder, too large, not UTF-8: say so, never "the file is empty"
                raise PublishError(f"{unreadable[0]}" if unreadable else f"{display_path(p)}: cannot be read")
        self.adopt_release()
        text = self.text(p)
        name = display_path(p)
        flow, _ = self.flow(p)
        cases, problems = self.practice_cases()
        with open_store(self.db) as store:
            st = flow_status(store, flow.id, now) if flow is not None else None
            published = published_versions(store, now)
            rep = check_submission(text=text, name=name, note=note, person=self.person, status=st,
                                   published=published, test_files=self.test_files(), practice_cases=cases)
            if not rep.ok:
                raise GateRefused(f"Submitting {name}", rep.refusals)
            assert flow is not None and st is not None
            at = iso(now or now_utc())
            v = FlowVersion(0, flow.id, flow.version, text_hash(text), p.name, text, flow.review_needed,
                            "workspace", self.person.id, at, note.strip(),
                            {**rep.evidence(st.live), "workspace": str(self.folder)})
            store.add_version(v, LogRecord(flow.id, None, flow.version, "submitted", self.person.id,
                                           sorted(self.person.roles), note.strip(), ts=at,
                                           data={"practice_only": bool(flow.review_needed)}))
            result = flow_status(store, flow.id, now).by_label(flow.version)
        if self.dirty(p) and not self.read_only:
            self.save(p)
        self._emit("publications_changed", flow_id=flow.id)
        assert result is not None
        return result

    def approve(self, flow_id: str, label: str, at: dt.datetime | None = None,
                seen_diff_hash: str | None = None) -> VersionStatus:
        from callguide.library.publish import approve

        res = approve(flow_id, label, self.person, self.db, at=at, seen_diff_hash=seen_diff_hash)
        self._emit("publications_changed", flow_id=flow_id)
        return res

    def reject(self, flow_id: str, label: str, why: str) -> VersionStatus:
        from callguide.library.publish import reject

        res = reject(flow_id, label, self.person, why, self.db)
        self._emit("publications_changed", flow_id=flow_id)
        return res

    def rollback(self, flow_id: str, label: str, note: str = "") -> VersionStatus:
        from callguide.library.publish import rollback

        res = rollback(flow_id, label, self.person, self.db, note)
        self._emit("publications_changed", flow_id=flow_id)
        return res

    # ------------------------------------------------------------------ flags

    def flags(self, flow_id: str | None = None) -> list[Any]:
        from callguide.library.flags import list_flags

        return list_flags(self.db, flow_id)

    def triage(self, ref: str, state: str, reason: str = "", version: str | None = None) -> Any:
        from callguide.library.flags import triage

        res = triage(self.db, ref, state, self.person, reason, version)
        self._emit("flags_changed", flag=res)
        return res


__all__ = ["FileState", "GateRefused", "Workspace", "WorkspaceError", "create_workspace", "default_folder",
           "is_shipped"]
