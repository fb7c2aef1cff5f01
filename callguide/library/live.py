"""Load the flow library that live calls may run: published versions only.

`load_for_calls` is the one entry point the agent's window uses. Every flow file in the folder
must have a live publication whose text is byte-for-byte the file's text; a file edited but not
published (or never published) is refused with one plain line naming it. The flows are built
from the publication texts (never from the files), so a call runs exactly what was published;
the engine snapshots each flow's text by content hash when the call starts, which keeps a call
pinned to those versions for its whole life (also across a resume).

Fresh machine: when the database holds no publication at all, the flows folder is published
once as the baseline ("bundled", by "system"), so the bundled flows run out of the box. An app
update that changes a bundled flow is published the same way, but only while the live version
of that flow is still a bundled one: once a trainer has published their own version, the
bundled change is refused like any other unpublished edit, and the trainer decides.
Never imports Qt.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from callguide import paths
from callguide.flow.model import FlowLibrary


class LibraryRefused(Exception):
    """The flows cannot be used for live calls (one plain line per problem in `.problems`)."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []


def _publish_hint(f: Path) -> str:
    from callguide.flow.yamlsafe import display_path

    return f"publish it in the workbench or `callguide publish {display_path(f)}` before live calls"


def load_for_calls(flows_dir: str | Path | None = None, db_path: str | Path | None = None) -> FlowLibrary:
    from callguide.flow.loader import find_flow_files, load_flow, load_library
    from callguide.flow.validate import validate_library
    from callguide.flow.yamlsafe import display_path
    from callguide.library.publish import (
        BUNDLED_BY,
        BUNDLED_NOTE,
        PublicationStore,
        PublishError,
        publish,
        publish_baseline,
        read_flow_text,
        text_hash,
    )

    folder = Path(flows_dir) if flows_dir else paths.flows_dir()
    db = Path(db_path) if db_path else paths.default_db_path()
    files = find_flow_files([folder])
    if not files:
        raise LibraryRefused(f"There are no flow files in {folder}; calls cannot start.")
    try:
        with PublicationStore.open(db) as store:
            fresh = store.count() == 0
        if fresh:
            lib, diags = load_library([folder])
            errors = [d for d in validate_library(lib, diags) if d.severity == "error"]
            if errors:
                raise LibraryRefused(f"The flows in {folder} have {len(errors)} error(s); calls cannot start until "
                                     f"a trainer fixes them.", [str(d) for d in errors])
            publish_baseline(folder, db)
        chosen: list[tuple[Path, Any]] = []
        problems: list[str] = []
        updates: list[Path] = []
        # Flows shipped with the app and never changed by a trainer follow the app's own updates.
        bundled = folder.resolve() == paths.flows_dir().resolve()
        with PublicationStore.open(db) as store:
            live = store.live_all()
            live_by_hash = {p.content_hash: p for p in live.values()}
            for f in files:
                try:
                    text = read_flow_text(f)
                except PublishError as e:
                    problems.append(str(e))
                    continue
                pub = live_by_hash.get(text_hash(text))
                if pub is not None:  # the file is exactly what is live: no need to parse it
                    chosen.append((f, pub))
                    continue
                current = next((p for p in live.values() if p.file_name == f.name), None)
                if current is None:  # only now read the file, to learn which flow it is
                    flow, _ = load_flow(f)
                    current = live.get(flow.id) if flow is not None else None
                if current is not None and bundled and current.published_by == BUNDLED_BY:
                    updates.append(f)  # a new app version's bundled flow over an untouched bundled one
                elif current is not None:
                    problems.append(f"{f.name} has unpublished changes; {_publish_hint(f)}")
                else:
                    problems.append(f"{f.name} has never been published; {_publish_hint(f)}")
        for f in updates:
            if problems:  # the call is refused anyway: publish nothing, name these too
                problems.append(f"{f.name} has unpublished changes; {_publish_hint(f)}")
                continue
            try:
                chosen.append((f, publish(f, BUNDLED_BY, BUNDLED_NOTE + " (updated with the app)", db).publication))
            except PublishError as e:
                problems.append(str(e))
    except PublishError as e:
        raise LibraryRefused(str(e)) from None
    if problems:
        more = f" (and {len(problems) - 1} more flow(s))" if len(problems) > 1 else ""
        raise LibraryRefused(problems[0] + more, problems)
    lib, errors = _published_library([(display_path(f), pub) for f, pub in chosen])
    if errors:
        raise LibraryRefused(f"The published flows have {len(errors)} error(s); calls cannot start until a "
                             f"trainer fixes them.", errors)
    return lib


def _published_library(chosen: list[tuple[str, Any]]) -> tuple[FlowLibrary, list[str]]:
    """Build and validate the library of these publications, through the content-keyed cache
    (callguide/flow/cache.py): the same texts and signposts give the same answer, so only the
    first call after a publication pays for parsing and validation."""
    from callguide.flow.cache import cached
    from callguide.flow.loader import load_signposts
    from callguide.flow.validate import validate_library
    from callguide.library.publish import PublishError, load_publication

    sp = paths.signposts_path()
    from callguide.flow.yamlsafe import read_bounded

    sp_bytes = read_bounded(sp)[0] or b""  # at most 1 MiB of a regular file, as load_signposts reads
    parts: list[str | bytes] = ["live-library", str(sp)]
    for name, pub in sorted(chosen, key=lambda c: c[1].flow_id):
        parts += [pub.flow_id, pub.content_hash, name]
    parts.append(sp_bytes)

    def build() -> tuple[FlowLibrary, list[str]]:
        lib = FlowLibrary()
        try:
            for name, pub in chosen:
                lib.flows[pub.flow_id] = load_publication(pub, name)
        except PublishError as e:
            return lib, [str(e)]
        diags = []
        if sp_bytes:
            lib.signposts, diags = load_signposts(sp)
        errors = [str(d) for d in validate_library(lib, diags) if d.severity == "error"]
        return lib, errors

    return cached("live", parts, build)
