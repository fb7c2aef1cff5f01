"""Which flow versions a call runs: pinned at its start, rebuilt from the journal's snapshots.

A call keeps the exact text of every flow it started with (`flow_snapshots`, by content hash;
the engine saves them when the call starts). Resuming a killed call needs those versions back,
even if the files or the publications changed since: `pinned_library` takes the live library's
flow where the hash matches and parses the journal's snapshot otherwise. The engine calls this and
never parses YAML itself. Never imports Qt.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from callguide.flow.model import Flow, FlowLibrary


class PinningError(Exception):
    """A pinned flow version cannot be rebuilt (one plain line)."""


def pinned_library(library: FlowLibrary, store: Any, pinned: Mapping[str, str]) -> FlowLibrary:
    """The library a call started with: `pinned` is `{flow id: content hash}` from `call_started`."""
    from callguide.flow.loader import load_flow_text

    flows: dict[str, Flow] = {}
    for fid, h in pinned.items():
        current = library.flows.get(fid)
        if current is not None and current.content_hash == h:
            flows[fid] = current
            continue
        text = store.flow_snapshot(h)
        if text is None:
            raise PinningError(f"The journal has no copy of flow {fid} version {h[:12]}; cannot resume exactly.")
        flow, diags = load_flow_text(text, f"journal:{fid}@{h[:12]}")
        if flow is None:
            raise PinningError(f"Flow {fid} version {h[:12]} from the journal no longer loads: {diags[0]}")
        flows[fid] = flow
    return FlowLibrary(flows=flows, signposts=library.signposts)


def save_snapshots(store: Any, library: FlowLibrary) -> None:
    """Keep the exact text of every flow in `library` (idempotent)."""
    for f in library.flows.values():
        store.save_flow_snapshot(f.content_hash, f.id, f.version, f.source_text)
