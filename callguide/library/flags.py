"""Agents' flags on steps ("this wording doesn't work for customers"), triaged by trainers.

A flag is a `flag` entry in the journal: who raised it (the agent), when, on which flow version
(label and content hash) and step, and the agent's words. Trainers triage each flag: **open**
(nothing decided), **accepted** (will be changed), **rejected** (with a reason) or **fixed in
version X** (a version label of that flow). Decisions are appended to `flag_decisions`; the
latest one counts. When version X goes live, the agents who raised flags it fixes see a small
notice on their next call (`notices_for_call`).

The SQL is in `callguide.store.publications`. Never imports Qt.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from callguide.identity import IdentityError, Person, require_role
from callguide.library.publish import PublishError, all_status, iso, now_utc, open_store
from callguide.store.publications import FlagDecision, FlagEntry, PublicationStore

TRIAGE_ROLES = ("trainer",)
STATE_WORDS = {"open": "open", "accepted": "accepted", "rejected": "rejected", "fixed": "fixed"}


class FlagsError(Exception):
    """The flags cannot be read or a triage was refused (one plain line)."""


@dataclass
class Flag:
    entry: FlagEntry
    state: str = "open"
    reason: str = ""
    fixed_version: str | None = None
    decided_by: str | None = None
    decided_at: str | None = None

    @property
    def ref(self) -> str:
        return f"#{self.entry.seq}"

    @property
    def active(self) -> bool:
        """Still waiting for a change (open or accepted)."""
        return self.state in ("open", "accepted")

    def describe_state(self) -> str:
        if self.state == "fixed":
            return f"fixed in {self.fixed_version}"
        if self.state == "rejected":
            return f"rejected: {self.reason}"
        return self.state


@dataclass
class StepFlags:
    """The flags on one step, for the workbench's badges and the step form (newest first)."""

    flow_id: str
    step_id: str
    flags: list[Flag] = field(default_factory=list)

    @property
    def count(self) -> int:
        """Flags still waiting for a change."""
        return sum(f.active for f in self.flags)

    @property
    def comments(self) -> list[str]:
        return [f.entry.comment for f in self.flags if f.entry.comment]


def list_flags(db: str | Path | None = None, flow_id: str | None = None) -> list[Flag]:
    """Every flag (of one flow, or all), newest first, with its latest triage decision."""
    try:
        with open_store(db) as store:
            return flags_in(store, flow_id)
    except PublishError as e:
        raise FlagsError(str(e)) from None


def flags_in(store: PublicationStore, flow_id: str | None = None) -> list[Flag]:
    """`list_flags` on an open publication store (a StoreError goes to the caller)."""
    entries = store.flag_entries(flow_id)
    decisions = store.flag_decisions()
    latest: dict[str, FlagDecision] = {}
    for d in decisions:
        latest[d.flag_id] = d
    out = []
    for entry in reversed(entries):
        dec = latest.get(entry.id)
        if dec is None:
            out.append(Flag(entry))
        else:
            out.append(Flag(entry, dec.state, dec.reason, dec.fixed_version, dec.by_person, dec.ts))
    return out


def collect_flags(db: str | Path | None = None) -> dict[tuple[str, str], StepFlags]:
    """(flow_id, step_id) -> the flags raised on that step (all states; `count` = still open)."""
    out: dict[tuple[str, str], StepFlags] = {}
    for f in list_flags(db):
        out.setdefault((f.entry.flow_id, f.entry.step_id), StepFlags(f.entry.flow_id, f.entry.step_id)).flags.append(f)
    return out


def flags_for_flow(flags: dict[tuple[str, str], StepFlags], flow_id: str) -> dict[str, StepFlags]:
    """step_id -> flags, for one flow."""
    return {sid: f for (fid, sid), f in flags.items() if fid == flow_id}


def find_flag(flags: list[Flag], ref: str) -> Flag:
    r = ref.strip().lstrip("#")
    if r.isdigit():
        hit = next((f for f in flags if f.entry.seq == int(r)), None)
        if hit is not None:
            return hit
    if len(r) >= 6:
        hits = [f for f in flags if f.entry.id.startswith(r.lower())]
        if len(hits) == 1:
            return hits[0]
    raise FlagsError(f"no flag {ref!r}; `callguide flags list` shows them")


def triage(db: str | Path | None, ref: str, state: str, person: Person, reason: str = "",
           version: str | None = None) -> Flag:
    """Record a trainer's decision on a flag: accepted, rejected (with a reason), fixed in VERSION, or open."""
    if state not in STATE_WORDS:
        raise FlagsError(f"unknown flag state {state!r}; use {', '.join(STATE_WORDS)}")
    try:
        require_role(person, TRIAGE_ROLES, "Triaging agents' flags")
    except IdentityError as e:
        raise FlagsError(str(e)) from None
    flag = find_flag(list_flags(db), ref)
    reason = " ".join((reason or "").split())
    if state == "rejected" and not reason:
        raise FlagsError(f"flag {flag.ref}: say why it is rejected (-m WHY)")
    if state == "fixed":
        if not version:
            raise FlagsError(f"flag {flag.ref}: name the version of {flag.entry.flow_id} that fixes it")
        with open_store(db) as store:
            if store.version_by_label(flag.entry.flow_id, version) is None:
                labels = ", ".join(v.version_label for v in store.versions(flag.entry.flow_id)) or "none"
                raise FlagsError(f"flag {flag.ref}: {flag.entry.flow_id} has no version {version!r} "
                                 f"(versions: {labels}); submit it first")
    with open_store(db) as store:
        d = store.add_flag_decision(FlagDecision(0, flag.entry.id, flag.entry.flow_id, flag.entry.step_id, state,
                                                 reason, version if state == "fixed" else None, person.id,
                                                 iso(now_utc())))
    return Flag(flag.entry, d.state, d.reason, d.fixed_version, d.by_person, d.ts)


def _norm(ts: str) -> str:
    """An ISO time in UTC with seconds only, so journal times (milliseconds) and publication times compare."""
    if not ts:
        return ""
    try:
        return iso(dt.datetime.fromisoformat(ts))
    except ValueError:
        return ts


@dataclass(frozen=True)
class FixedNotice:
    """"The step you flagged is changed": shown to the agent who raised the flag, on their next call."""

    flow_id: str
    step_id: str
    version_label: str
    comment: str
    flagged_at: str
    live_since: str


def notices_for_call(db: str | Path | None, agent: str, call_id: str,
                     now: dt.datetime | None = None) -> list[FixedNotice]:
    """Flags this agent raised that a version fixed, whose fix went live (or was marked fixed) after
    the agent's previous call: the first call since the fix shows them, later calls do not."""
    if not any(f.entry.agent == agent and f.state == "fixed" for f in list_flags(db)):
        return []
    with open_store(db) as store:
        start = store.call_start(agent, call_id)
        if start is None:
            return []
        return fixed_notices(store, agent, call_id, start[1], this_seq=start[0], now=now)


def previous_call_start(journal: str | Path, agent: str, call_id: str) -> tuple[bool, str | None]:
    """From this desktop's own journal (its call index): (whether it holds `call_id`'s start, when
    `agent` started the call before it here, or None). The journal has this desktop's calls the
    moment they start, synced or not."""
    with open_store(Path(journal)) as store:
        start = store.call_start(agent, call_id)
    return (False, None) if start is None else (True, start[1])


def later(a: str | None, b: str | None) -> str | None:
    """The later of two journal times (None: unknown)."""
    if a is None or b is None:
        return a if b is None else b
    return a if _norm(a) >= _norm(b) else b


def fixed_notices(store: PublicationStore, agent: str, call_id: str, since: str | None, *,
                  this_seq: int | None = None, now: dt.datetime | None = None) -> list[FixedNotice]:
    """`notices_for_call` on an open publication store, with the previous call's start (`since`,
    None: no earlier call) given: a flag raised on this very call (`call_id`, or an entry after
    `this_seq` in the same store) is never shown."""
    at = iso(now or now_utc())
    out: list[FixedNotice] = []
    flags = [f for f in flags_in(store) if f.entry.agent == agent and f.state == "fixed" and f.fixed_version]
    if not flags:
        return out
    status = all_status(store, now)
    for f in flags:
        if f.entry.call_id == call_id or (this_seq is not None and f.entry.seq > this_seq):
            continue  # raised on this very call
        st = status.get(f.entry.flow_id)
        vs = st.by_label(f.fixed_version or "") if st else None
        if vs is None:
            continue
        went = sorted((e.effective_at or e.ts) for e in vs.events
                      if e.event in ("live", "rollback") and (e.effective_at or e.ts) <= at)
        if not went:
            continue  # not live yet: the notice waits
        shown_from = max(_norm(went[0]), _norm(f.decided_at or ""))
        if since is None or shown_from > _norm(since):
            out.append(FixedNotice(f.entry.flow_id, f.entry.step_id, vs.version.version_label, f.entry.comment,
                                   f.entry.ts, went[0]))
    return out
