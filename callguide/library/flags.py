"""Agents' flags on steps ("this wording doesn't work for customers"), gathered for trainers.

Reads `flag` entries from the journal (data: comment, flow_id, step_id, flow_version) and
groups them by (flow_id, step_id) with how often each was raised and the comments. Read-only;
never writes to the journal. Never imports Qt.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from callguide import paths


@dataclass
class StepFlags:
    flow_id: str
    step_id: str
    count: int = 0
    comments: list[str] = field(default_factory=list)
    versions: set[str] = field(default_factory=set)
    last_ts: str = ""


class FlagsError(Exception):
    """The flags cannot be read (one plain line)."""


def collect_flags(db: str | Path | None = None) -> dict[tuple[str, str], StepFlags]:
    """(flow_id, step_id) -> the flags raised on that step, most recent comment first."""
    path = Path(db) if db else paths.default_db_path()
    if not path.exists():
        return {}
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error as e:
        raise FlagsError(f"{path}: cannot read the journal: {e}") from None
    out: dict[tuple[str, str], StepFlags] = {}
    try:
        has = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='entries'").fetchone()
        if not has:
            return {}
        rows = conn.execute("SELECT ts, flow_id, step_id, data FROM entries WHERE type = 'flag' ORDER BY seq")
        for ts, flow_id, step_id, data in rows:
            try:
                d = json.loads(data)
            except (TypeError, ValueError):
                continue
            fid = d.get("flow_id") or flow_id
            sid = d.get("step_id") or step_id
            if not fid or not sid:
                continue
            sf = out.setdefault((fid, sid), StepFlags(fid, sid))
            sf.count += 1
            comment = str(d.get("comment") or "").strip()
            if comment:
                sf.comments.insert(0, comment)
            if d.get("flow_version"):
                sf.versions.add(str(d["flow_version"]))
            sf.last_ts = ts
    except sqlite3.Error as e:
        raise FlagsError(f"{path}: cannot read the flags: {str(e).splitlines()[0]}") from None
    finally:
        conn.close()
    return out


def flags_for_flow(flags: dict[tuple[str, str], StepFlags], flow_id: str) -> dict[str, StepFlags]:
    """step_id -> flags, for one flow."""
    return {sid: f for (fid, sid), f in flags.items() if fid == flow_id}
