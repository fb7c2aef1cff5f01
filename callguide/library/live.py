"""Load the flow library that live calls may run: the live publications, and nothing else.

`load_for_calls` is the one entry point the agent's window uses. The flows come from the
publication store (`callguide.store.publications`), never from flow files: a trainer's saved
but unsubmitted edit, a file edited in place in the app's own `flows/` folder, or a new file
dropped there changes nothing for live calls. The app's shipped flows reach the store only
through their release manifest (`flows/manifest.json`), adopted once per release
(`callguide.library.publish.adopt_release`); after that the shipped files are not even read.

A version marked `review_needed` is never live (practice only); `withheld_flows` names such flows
so the call window can say what to do instead (see docs/workbench.md, "HARMED").

The engine snapshots each flow's text by content hash when the call starts, which keeps a call
pinned to those versions for its whole life (also across a resume). Never imports Qt.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callguide import paths
from callguide.flow.model import FlowLibrary


class LibraryRefused(Exception):
    """The flows cannot be used for live calls (one plain line; `problems` lists every one)."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []


def load_for_calls(flows_dir: str | Path | None = None, db_path: str | Path | None = None,
                   now: dt.datetime | None = None) -> FlowLibrary:
    """The live flows, validated. `flows_dir` is the app's shipped flows folder (its manifest is
    adopted if the store has not seen it); `db_path` the journal holding the publications."""
    from callguide.library.publish import PublishError, adopt_release, live_versions, open_store

    folder = Path(flows_dir) if flows_dir else paths.flows_dir()
    problems: list[str] = []
    try:
        with open_store(db_path) as store:
            adopted = adopt_release(folder, store, now)
            if adopted is not None:
                problems += adopted.problems
            live = live_versions(store, now)
    except PublishError as e:
        raise LibraryRefused(str(e), e.problems) from None
    if not live:
        raise LibraryRefused(problems[0] if problems else
                             "No flow is live yet: a trainer must submit flows and a reviewer approve them "
                             f"(or ship a release manifest with the flows in {folder})", problems)
    lib, errors = _published_library(list(live.values()))
    if errors:  # a shipped file that was not adopted is the likelier cause: say that first
        head = problems[0] if problems else (f"The live flows have {len(errors)} error(s); calls cannot start "
                                             "until a trainer fixes them.")
        raise LibraryRefused(head, problems + errors)
    return lib


def load_for_team_calls(target: Any, cache_path: str | Path, now: dt.datetime | None = None
                        ) -> tuple[FlowLibrary, str, dt.datetime | None]:
    """Team mode: the live flows from the team store (`target`, a TeamTarget or URL), validated,
    with a copy of the live versions kept at `cache_path` so calls can start offline. Returns
    (library, "team" or "cache", when the copy was taken). The shipped release is adopted into the
    team store by `callguide server init`, never by a desktop (agents may not publish)."""
    from callguide.library.publish import live_versions
    from callguide.store.base import StoreError
    from callguide.store.publications import open_publications

    cache = Path(cache_path)
    try:
        store = open_publications(target)
        try:
            live = live_versions(store, now)
        finally:
            store.close()
    except StoreError as e:
        if e.kind not in ("offline", "closed"):
            raise LibraryRefused(str(e)) from None
        cached = _read_flow_cache(cache)
        if cached is None:
            raise LibraryRefused(f"{e} This desktop has no copy of the live flows yet: connect to the team store "
                                 "once to start calls.") from None
        live, taken = cached
        source = "cache"
    else:
        if not live:
            raise LibraryRefused("No flow is live in the team store: run `callguide server init` (it adopts the "
                                 "shipped flows), or have a trainer submit flows and a reviewer approve them.")
        taken = dt.datetime.now(dt.UTC)
        _write_flow_cache(cache, live, taken)
        source = "team"
    lib, errors = _published_library(list(live.values()))
    if errors:
        raise LibraryRefused(f"The live flows have {len(errors)} error(s); calls cannot start until a trainer "
                             "fixes them.", errors)
    return lib, source, taken


def _write_flow_cache(path: Path, live: dict[str, Any], taken: dt.datetime) -> None:
    """The live versions as one JSON file, replaced atomically (a crash leaves the old copy)."""
    import dataclasses
    import json
    import os
    import tempfile

    data = {"taken": taken.isoformat(), "versions": [dataclasses.asdict(v) for v in live.values()]}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError:
        pass  # only a copy: the next start tries again


def _read_flow_cache(path: Path) -> tuple[dict[str, Any], dt.datetime] | None:
    import json

    from callguide.store.publications import FlowVersion, text_hash

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        versions = [FlowVersion(**v) for v in data["versions"]]
        taken = dt.datetime.fromisoformat(data["taken"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if any(text_hash(v.text) != v.content_hash for v in versions):
        return None  # a damaged copy is no copy: never run a text other than the one published
    return {v.flow_id: v for v in versions}, taken


def load_for_practice(flows_dir: str | Path | None = None, db_path: str | Path | None = None,
                      now: dt.datetime | None = None) -> FlowLibrary:
    """The published flows for practice: the live versions, plus the practice-only version of a flow
    with none live (a `review_needed` flow such as the default HARMED). Never for live calls."""
    from callguide.library.publish import PublishError, adopt_release, open_store, published_versions

    try:
        with open_store(db_path) as store:
            adopt_release(Path(flows_dir) if flows_dir else paths.flows_dir(), store, now)
            versions = published_versions(store, now)
    except PublishError as e:
        raise LibraryRefused(str(e), e.problems) from None
    lib, errors = _published_library(list(versions.values()))
    if errors:
        raise LibraryRefused(f"The published flows have {len(errors)} error(s).", errors)
    return lib


def _published_library(chosen: list[Any]) -> tuple[FlowLibrary, list[str]]:
    """Build and validate the library of these versions, through the content-keyed cache
    (callguide/flow/cache.py): the same texts and signposts give the same answer, so only the
    first call after a publication pays for parsing and validation."""
    from callguide.flow.cache import cached
    from callguide.flow.loader import load_signposts
    from callguide.flow.validate import validate_library
    from callguide.library.publish import PublishError, load_version

    sp = paths.signposts_path()
    from callguide.flow.yamlsafe import read_bounded

    sp_bytes = read_bounded(sp)[0] or b""  # at most 1 MiB of a regular file, as load_signposts reads
    parts: list[str | bytes] = ["live-library-2", str(sp)]
    for v in sorted(chosen, key=lambda c: c.flow_id):
        parts += [v.flow_id, v.content_hash, v.file_name, v.version_label]
    parts.append(sp_bytes)

    def build() -> tuple[FlowLibrary, list[str]]:
        lib = FlowLibrary()
        try:
            for v in chosen:
                lib.flows[v.flow_id] = load_version(v, f"{v.file_name}@{v.version_label}")
        except PublishError as e:
            return lib, [str(e)]
        diags: list[Any] = []
        if sp_bytes:
            lib.signposts, diags = load_signposts(sp)
        errors = [str(d) for d in validate_library(lib, diags) if d.severity == "error"]
        return lib, errors

    return cached("live", parts, build)


@dataclass(frozen=True)
class Withheld:
    """A flow that has a published version but none that may be live (marked `review_needed`)."""

    flow_id: str
    version_label: str
    reason: str


def withheld_flows(db_path: str | Path | None = None, now: dt.datetime | None = None) -> list[Withheld]:
    """Flows published for practice only, with no live version: live calls run without them."""
    from callguide.library.publish import open_store

    with open_store(db_path) as store:
        return _withheld(store, now)


def _withheld(store: Any, now: dt.datetime | None = None) -> list[Withheld]:
    from callguide.library.publish import all_status

    out = []
    for fid, st in all_status(store, now).items():
        if st.live is None or st.live.review_needed:
            v = st.practice
            if v is not None and v.review_needed:
                out.append(Withheld(fid, v.version_label, v.review_needed))
    return out


# ---------------------------------------------------------------------- the call window's notices


@dataclass(frozen=True)
class Publications:
    """Where the publications a call's live flows came from: the team store (`where` is its
    TeamTarget, `team` True) in team mode, else the local journal file. `journal` is this
    desktop's own journal file (its call index: which calls started here, and when)."""

    where: Any
    team: bool
    journal: Path | None


def publications_of(store: Any) -> Publications | None:
    """The publications of a call journalled to `store` (the engine's store): in team mode
    (`callguide.team.desktop.TeamJournal`, which names its `team_target`) the team store, the
    same place `load_for_team_calls` read the live flows from; else the journal file itself, as
    `load_for_calls` did. None: a store with no file (nothing to read)."""
    path = getattr(store, "path", None)
    journal = Path(path) if path else None
    target = getattr(store, "team_target", None)
    if target is not None:
        return Publications(target, True, journal)
    return Publications(journal, False, journal) if journal is not None else None


@dataclass
class CallNoticeFacts:
    """What the call window's notices show: the protocols held back (not in the call), the flags
    this agent raised that a live version fixed since their previous call, and the hotkeys of the
    held-back protocols' practice versions (key -> flow) that no live protocol uses. `problem`:
    why nothing could be read (one line; the facts are then empty)."""

    withheld: list[Withheld]
    fixed: list[Any]
    hotkeys: dict[str, str]
    problem: str = ""


TEAM_NOTICE_TIMEOUT = 2.0  # seconds: a call never waits longer for the team store (and not on the Qt thread)


def call_notices(pubs: Publications, agent: str, call_id: str, running: set[str], taken_keys: set[str], *,
                 timeout: float = TEAM_NOTICE_TIMEOUT, now: dt.datetime | None = None) -> CallNoticeFacts:
    """The notices for a call that runs the flows `running` with the hotkeys `taken_keys`, read
    from `pubs` over one connection. Never raises for a store that cannot be read: the facts are
    then empty and `problem` says why (offline team store, damaged file).

    The agent's previous call: in team mode the current call's `call_started` is written to the
    local journal first and synced in the background, so the team store usually does not know it
    yet when the window opens. The previous start is therefore the later of this desktop's own
    previous call (the local journal's call index, which holds every call started here, synced or
    not) and the agent's latest call start in the team store other than this call
    (`latest_call_start`: their calls on other desktops, whether or not this call has synced)."""
    from callguide.library.flags import FlagsError, fixed_notices, later, previous_call_start
    from callguide.library.publish import PublishError, open_store, published_versions
    from callguide.store.base import StoreError

    empty = CallNoticeFacts([], [], {})
    try:
        known, since = (True, None)
        if pubs.team:
            known, since = previous_call_start(pubs.journal, agent, call_id) if pubs.journal else (False, None)
        with open_store(pubs.where, timeout=timeout if pubs.team else None) as store:
            withheld = [w for w in _withheld(store, now) if w.flow_id not in running]
            versions = published_versions(store, now) if withheld else {}
            if pubs.team:
                if not known:  # no local journal holds this call: the team store must
                    known = store.call_start(agent, call_id) is not None
                since = later(since, store.latest_call_start(agent, call_id))
                fixed = fixed_notices(store, agent, call_id, since, now=now) if known else []
            else:
                start = store.call_start(agent, call_id)
                fixed = [] if start is None else fixed_notices(store, agent, call_id, start[1], this_seq=start[0],
                                                               now=now)
    except (PublishError, FlagsError, StoreError, OSError) as e:
        empty.problem = " ".join(str(e).split()) or type(e).__name__
        return empty
    return CallNoticeFacts(withheld, fixed, withheld_hotkeys(versions, {w.flow_id for w in withheld}, taken_keys))


def withheld_hotkeys(versions: dict[str, Any], flow_ids: set[str], taken: set[str]) -> dict[str, str]:
    """The hotkeys the withheld flows' practice versions declare, that no live protocol uses."""
    from callguide.flow import yamlsafe

    out: dict[str, str] = {}
    for fid in sorted(flow_ids):
        v = versions.get(fid)
        data, _ = yamlsafe.parse_text(v.text, v.file_name) if v is not None else (None, [])
        declared = data.get("interrupts") if isinstance(data, dict) else None
        for iv in declared if isinstance(declared, list) else []:
            key = iv.get("hotkey") if isinstance(iv, dict) else None
            if isinstance(key, str) and key not in taken:
                out.setdefault(key, fid)
    return out
