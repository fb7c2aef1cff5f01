"""The console for supervisors and the care team (issue 13 §3), Qt-free.

- `ServiceLevels`: per kind of escalation, how soon it must be acknowledged and resolved
  (`resources/service_levels.yaml`), which items are loud (BLAKE, emergency) and who may act.
- `derive_queue`: the live queue, a pure function of the escalations and the console actions the
  person may see (from the team store, through row-level security) and the time.
- `Console`: the person connected (as themselves), their reads (queue, the care team's worklist,
  an account's history with only the consented details) and their actions: acknowledge, assign,
  note, resolve, and the specialist reviews (`engine.reviews.record_review`, the same function as
  `callguide review capacity`). Each action is an entry of the console's OWN journal (a local
  SQLite file with its own hash chain, like a desktop's), pushed at once by its sync; the team
  store checks it (0004: only supervisors and the care team, as themselves, about an escalation it
  holds) and NOTIFYs, so the agent's window learns "Supervisor acknowledged: NAME" within 2 s.
- `ConsoleFeed`: LISTEN on the escalations and protections channels; read the queue again on each
  notice and hand it to a callback (listener thread: the Qt layer marshals).

Never imports Qt; the window (`callguide/qt/console/`) renders what this gives it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callguide import paths
from callguide.engine.clock import iso
from callguide.engine.policy import TypedText
from callguide.identity import Person
from callguide.store import entry_types as et
from callguide.store.base import AccountState, Entry, NewEntry, StoreError
from callguide.store.postgres import console as q
from callguide.store.postgres.connect import TeamStoreError, TeamTarget
from callguide.store.postgres.journal import PostgresJournal, derive_team_state

from .notify import Notice, TeamNotices


class ConsoleError(StoreError):
    """A console action or setting that cannot be done (one plain line). `code` and `params` let
    the window say it in the UI language (`console.err.<code>`); the message is the English."""

    def __init__(self, message: str, kind: str = "refused", code: str | None = None, **params: Any) -> None:
        super().__init__(message, kind)
        self.code = code
        self.params = params


# ---------------------------------------------------------------------- service levels

ACTIONS = ("acknowledge", "assign", "note", "resolve")


@dataclass(frozen=True)
class Level:
    name: str
    acknowledge: int   # seconds from raised to acknowledged
    resolve: int       # seconds from raised to resolved
    loud: bool
    roles: tuple[str, ...]


@dataclass(frozen=True)
class ServiceLevels:
    levels: dict[str, Level]
    crisis_flows: tuple[str, ...] = ()
    open_days: int = 90        # how far back an unresolved item stays in the queue

    def level_of(self, kind: str, flow_id: str | None) -> Level:
        """The service level of an escalation: BLAKE for one raised in a crisis flow (but the
        emergency call itself), else its kind's; an unknown kind gets the strictest level."""
        name = "blake" if flow_id in self.crisis_flows and kind != "emergency" and "blake" in self.levels else kind
        if name in self.levels:
            return self.levels[name]
        strictest = min(self.levels.values(), key=lambda lv: lv.acknowledge)
        return Level(kind, strictest.acknowledge, strictest.resolve, True, strictest.roles)

    @classmethod
    def load(cls, path: str | Path | None = None) -> ServiceLevels:
        """Read and check the file; a problem is one ConsoleError line `file:line: what`."""
        import yaml

        from callguide.identity import ROLES

        path = Path(path) if path else paths.resources_dir() / "service_levels.yaml"
        try:
            text = path.read_text(encoding="utf-8")
            root = yaml.compose(text)
        except OSError as e:
            raise ConsoleError(f"{path}: cannot be read ({e.strerror or e})", "config") from None
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark else str(path)
            raise ConsoleError(f"{where}: not valid YAML ({getattr(e, 'problem', None) or e})", "config") from None

        def fail(node: Any, msg: str) -> ConsoleError:
            return ConsoleError(f"{path}:{node.start_mark.line + 1}: {msg}", "config")

        if not isinstance(root, yaml.MappingNode):
            raise ConsoleError(f"{path}:1: must be a mapping with `levels` (and `crisis_flows`)", "config")
        top = {k.value: v for k, v in root.value}
        unknown = set(top) - {"levels", "crisis_flows", "open_days"}
        if unknown:
            node = next(k for k, _ in root.value if k.value in unknown)
            raise fail(node, f"unknown key {node.value!r} (levels, crisis_flows, open_days)")
        open_days = 90
        od = top.get("open_days")
        if od is not None:
            if not isinstance(od, yaml.ScalarNode) or not str(od.value).isdigit() or not 1 <= int(od.value) <= 3650:
                raise fail(od, "`open_days` must be a whole number of days from 1 to 3650")
            open_days = int(od.value)
        levels_node = top.get("levels")
        if not isinstance(levels_node, yaml.MappingNode) or not levels_node.value:
            raise fail(levels_node or root, "`levels` must map each kind to its service level")
        crisis: tuple[str, ...] = ()
        cf = top.get("crisis_flows")
        if cf is not None:
            if not isinstance(cf, yaml.SequenceNode) or not all(isinstance(x, yaml.ScalarNode) for x in cf.value):
                raise fail(cf, "`crisis_flows` must be a list of flow ids")
            crisis = tuple(x.value for x in cf.value)
        levels: dict[str, Level] = {}
        for knode, vnode in levels_node.value:
            name = knode.value
            if not isinstance(vnode, yaml.MappingNode):
                raise fail(vnode, f"level {name!r} must be a mapping (acknowledge, resolve, loud, roles)")
            fields = {k.value: v for k, v in vnode.value}
            bad = set(fields) - {"acknowledge", "resolve", "loud", "roles"}
            if bad:
                node = next(k for k, _ in vnode.value if k.value in bad)
                raise fail(node, f"level {name!r}: unknown key {node.value!r} (acknowledge, resolve, loud, roles)")
            secs: dict[str, int] = {}
            for key in ("acknowledge", "resolve"):
                node = fields.get(key)
                if node is None:
                    raise fail(vnode, f"level {name!r} needs `{key}` (seconds)")
                try:
                    value = int(node.value)
                except (TypeError, ValueError):
                    value = 0
                if not isinstance(node, yaml.ScalarNode) or value <= 0 or not str(node.value).isdigit():
                    raise fail(node, f"level {name!r}: `{key}` must be a whole number of seconds above 0")
                secs[key] = value
            if secs["resolve"] < secs["acknowledge"]:
                raise fail(fields["resolve"], f"level {name!r}: `resolve` comes before `acknowledge`")
            loud_node = fields.get("loud")
            loud = False
            if loud_node is not None:
                if loud_node.value not in ("true", "false"):
                    raise fail(loud_node, f"level {name!r}: `loud` is true or false")
                loud = loud_node.value == "true"
            roles_node = fields.get("roles")
            if not isinstance(roles_node, yaml.SequenceNode) or not roles_node.value:
                raise fail(roles_node or vnode, f"level {name!r} needs `roles` (who may act on it)")
            roles = tuple(r.value for r in roles_node.value)
            wrong = [r for r in roles if r not in ("supervisor", "care_team")]
            if wrong:
                raise fail(roles_node, f"level {name!r}: roles are supervisor or care_team, not {wrong[0]!r}"
                           + ("" if wrong[0] in ROLES else " (unknown role)"))
            levels[name] = Level(name, secs["acknowledge"], secs["resolve"], loud, roles)
        return cls(levels, crisis, open_days)


# ---------------------------------------------------------------------- the queue (pure)

SEALED_KEY = "$sealed"


def _sealed(value: Any) -> bool:
    """A value sealed on the desktop that wrote it (privacy: its keys stay there), or a mapping of them."""
    if isinstance(value, dict):
        return (len(value) == 1 and isinstance(value.get(SEALED_KEY), dict)) or \
            any(_sealed(v) for v in value.values())
    return False


def plain(value: Any) -> str | None:
    """A text field as the reader may read it: the text, "" when there is none, None when it is
    sealed on the desktop that wrote it and its key is not readable here (shown as such, never as
    its ciphertext), a `Gone` when its key was destroyed."""
    from callguide.store.sealing import Gone

    if _sealed(value) or (isinstance(value, Gone) and value.how == "missing"):
        return None
    if isinstance(value, Gone):
        return value  # "withdrawn on DATE" (the window says it in the reader's language)
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Act:
    """One console action on an item."""

    type: str
    by: str
    name: str
    ts: str
    at: dt.datetime
    to: str | None = None
    to_name: str | None = None
    text: str | None = ""      # None: sealed on the desktop that wrote it


@dataclass(frozen=True)
class QueueItem:
    ref: str                   # "desktop/seq" of the escalation entry
    ref_hash: str
    kind: str                  # what the flow wrote: emergency, supervisor, care_team
    level: Level
    call_id: str
    account_id: str
    agent: str
    agent_name: str
    flow_id: str | None
    step_id: str | None
    raised: dt.datetime
    ts: str
    reason: str | None         # None: sealed on the agent's desktop (not readable here)
    acknowledged: Act | None = None
    assigned: Act | None = None
    resolved: Act | None = None
    notes: tuple[Act, ...] = ()

    @property
    def status(self) -> str:
        if self.resolved:
            return "resolved"
        if self.assigned:
            return "assigned"
        if self.acknowledged:
            return "acknowledged"
        return "new"

    @property
    def open(self) -> bool:
        return self.resolved is None

    @property
    def loud(self) -> bool:
        return self.level.loud

    @property
    def ack_due(self) -> dt.datetime:
        return self.raised + dt.timedelta(seconds=self.level.acknowledge)

    @property
    def resolve_due(self) -> dt.datetime:
        return self.raised + dt.timedelta(seconds=self.level.resolve)

    def overdue(self, now: dt.datetime) -> str | None:
        """"acknowledge" or "resolve" when that service level has passed, else None."""
        if self.resolved:
            return None
        if self.acknowledged is None and now > self.ack_due:
            return "acknowledge"
        if now > self.resolve_due:
            return "resolve"
        return None

    def alarm(self) -> bool:
        """A loud item nobody has acknowledged yet: impossible to miss."""
        return self.loud and self.acknowledged is None and self.resolved is None

    def age(self, now: dt.datetime) -> float:
        return (now - self.raised).total_seconds()


def derive_queue(escalations: list[q.Row], actions: list[q.Row], levels: ServiceLevels) -> list[QueueItem]:
    """The queue from the escalations and the actions naming them (`data.ref`); an action whose
    `ref_hash` differs from its escalation's is ignored (it names another entry). Order: open loud
    items nobody acknowledged, then other open items oldest first, then resolved ones newest first."""
    by_ref: dict[str, dict[str, Any]] = {}
    for r in actions:
        d = r.data
        act = Act(r.type, str(d.get("by", r.agent)), str(d.get("name") or r.agent_name), r.ts, r.at,
                  d.get("to"), d.get("to_name"), plain(d.get("text") or d.get("note")))
        slot = by_ref.setdefault(str(d.get("ref")), {"hash": set(), "acts": []})
        slot["acts"].append((str(d.get("ref_hash")), act))
    items = []
    for e in escalations:
        kind = str(e.data.get("kind") or "supervisor")
        fields: dict[str, Any] = {"notes": []}
        for ref_hash, act in by_ref.get(e.ref, {"acts": []})["acts"]:
            if ref_hash != e.hash:
                continue
            if act.type == et.ESCALATION_ACKNOWLEDGED:
                fields.setdefault("acknowledged", act)
            elif act.type == et.ESCALATION_ASSIGNED:
                fields["assigned"] = act
            elif act.type == et.ESCALATION_NOTE:
                fields["notes"].append(act)
            elif act.type == et.ESCALATION_RESOLVED:
                fields.setdefault("resolved", act)
        if "assigned" in fields and "acknowledged" not in fields:
            fields["acknowledged"] = fields["assigned"]  # taking an item acknowledges it
        items.append(QueueItem(e.ref, e.hash, kind, levels.level_of(kind, e.flow_id), e.call_id, e.account_id,
                               e.agent, e.agent_name, e.flow_id, e.step_id, e.at, e.ts,
                               plain(e.data.get("reason")), fields.get("acknowledged"), fields.get("assigned"),
                               fields.get("resolved"), tuple(fields["notes"])))

    def order(it: QueueItem) -> tuple[int, float]:
        if not it.open:
            return (2, -it.raised.timestamp())
        return (0 if it.alarm() else 1, it.raised.timestamp())

    return sorted(items, key=order)


@dataclass(frozen=True)
class QueueCounts:
    open: int
    new: int
    overdue: int
    alarms: int


def counts(items: list[QueueItem], now: dt.datetime) -> QueueCounts:
    live = [i for i in items if i.open]
    return QueueCounts(len(live), sum(1 for i in live if i.acknowledged is None),
                       sum(1 for i in live if i.overdue(now)), sum(1 for i in live if i.alarm()))


def item_from_entry(entry: Entry, desktop_id: str, levels: ServiceLevels, agent_name: str = "") -> QueueItem:
    """A queue item from an `escalation` entry of a desktop's journal (its own view, before any action)."""
    kind = str(entry.data.get("kind") or "supervisor")
    at = dt.datetime.fromisoformat(entry.ts.replace("Z", "+00:00"))
    return QueueItem(f"{desktop_id}/{entry.seq}", entry.hash, kind, levels.level_of(kind, entry.flow_id),
                     entry.call_id, entry.account_id, entry.agent, agent_name or entry.agent, entry.flow_id,
                     entry.step_id, at, entry.ts, plain(entry.data.get("reason")))


def action_entry(item: QueueItem, type_: str, person: Person, extra: dict[str, Any], when: dt.datetime) -> NewEntry:
    """The console's entry for an action on `item` by `person`: the escalation's call and account,
    written by the person, naming the escalation by `ref` and `ref_hash`."""
    data = {"ref": item.ref, "ref_hash": item.ref_hash, "kind": item.kind, "by": person.id,
            "name": person.display_name, **extra}
    return NewEntry(type=type_, call_id=item.call_id, account_id=item.account_id, agent=person.id, flow_id=None,
                    flow_hash=None, step_id=None, data=data, ts=iso(when))


# ---------------------------------------------------------------------- the care team's view of an account

@dataclass(frozen=True)
class AccountView:
    """An account as the care team (or a supervisor) may see it: the protections derived by the
    one deriver from every row they may read, the consented details (vulnerability records whose
    fields they may read, opened with the team store's escrowed keys), holds, callbacks, reviews,
    and the history. A record they may not read says why, honestly:

    - `gone`: its consent was withdrawn (or the account erased, or its retention ran out): "withdrawn
      on DATE" (`how`, `on`), whatever the reader's role;
    - `withheld`: consented, but the consent does not share it with this reader's role (a
      supervisor reading a health detail consented for the care team);
    - `sealed`: shared with this reader, but its key has not reached the team store (the desktop has
      not synced it yet, or wrote it before key escrow): "sealed on the agent's desktop"."""

    account_id: str
    state: AccountState
    consented: list[dict[str, Any]]     # {category, fields, review_date, consent, ts}: readable details
    withheld: int                       # records consented for other readers than this one
    history: list[q.Row]
    sealed: list[dict[str, Any]] = field(default_factory=list)  # records whose key is not here (yet)
    gone: list[dict[str, Any]] = field(default_factory=list)    # {fields, review_date, how, on, ts}: destroyed

    @property
    def open_doubt(self) -> bool:
        return bool(self.state.capacity_doubts)


def _gone_in(value: Any) -> Any:
    """The first `Gone` in a value (or a mapping of values), else None."""
    from callguide.store.sealing import Gone

    if isinstance(value, Gone):
        return value
    if isinstance(value, dict):
        return next((g for v in value.values() if (g := _gone_in(v)) is not None), None)
    return None


def _is_redacted(value: Any) -> bool:
    """Not readable here: redacted for this reader (row-level security), sealed, or destroyed."""
    from callguide.store.sealing import Gone, has_sealed

    if isinstance(value, Gone) or has_sealed(value):
        return True
    if isinstance(value, dict):
        return any(_is_redacted(v) for v in value.values())
    return value == "[redacted]"


def account_view(account_id: str, rows: list[q.Row], today: dt.date) -> AccountView:
    from callguide.store.derive import consent_purposes
    from callguide.store.sealing import HOWS

    state = derive_team_state(account_id, q.state_rows(rows), today)
    withdrawals = sorted(((str(r.data.get("purpose")), r.at, r.ts) for r in rows if r.type == et.CONSENT_WITHDRAWN),
                         key=lambda w: w[1])
    consented: list[dict[str, Any]] = []
    sealed: list[dict[str, Any]] = []
    gone: list[dict[str, Any]] = []
    withheld = 0
    for r in rows:
        if r.type != et.VULNERABILITY:
            continue
        record = {"category": r.data.get("category"), "fields": r.data.get("fields") or {},
                  "review_date": r.data.get("review_date"), "consent": r.data.get("consent"), "ts": r.ts}
        if not (_is_redacted(record["fields"]) or _is_redacted(record["category"])):
            consented.append(record)
            continue
        names = sorted(record["fields"]) if isinstance(record["fields"], dict) else []
        brief = {"category": None, "fields": names, "review_date": record["review_date"],
                 "consent": record["consent"], "ts": r.ts}
        destroyed = _gone_in(record["fields"]) or _gone_in(record["category"])
        if destroyed is not None and destroyed.how in HOWS:
            gone.append({**brief, "how": destroyed.how, "on": destroyed.on})
            continue
        purposes = consent_purposes(record["consent"])
        withdrawn = next((w for w in withdrawals if w[0] in purposes and w[1] >= r.at), None)
        if withdrawn is not None:  # redacted for this reader since the withdrawal (0002), keys destroyed (0006)
            gone.append({**brief, "how": "withdrawn", "on": withdrawn[2]})
        elif destroyed is not None and destroyed.how == "withheld":
            withheld += 1         # its key is in the team store, its bytes not for this reader (auditors)
        elif destroyed is not None or any(_sealed(v) for v in (record["fields"], record["category"])):
            sealed.append(brief)  # shared with this reader, its key not in the team store (yet)
        else:
            withheld += 1         # consented for other readers (row-level security redacted it)
    return AccountView(account_id, state, consented, withheld, rows, sealed, gone)


# ---------------------------------------------------------------------- the console (I/O)

def default_journal_path(target: TeamTarget, person_id: str) -> Path:
    """The console's own journal: one per team store and person, in the user's data folder."""
    return paths.data_dir() / f"console-{target.schema}-{person_id}.db"


@dataclass
class ActionResult:
    entry: Entry
    synced: bool       # in the team store already (else the sync sends it when it can)
    sealed_under: str | None = None   # the consent its typed text is sealed under (None: the personal key)
    held_back: bool = False           # its typed text was held back (`sealing.REASON_HELD_BACK` written)


def check_typed(action: str, text: str, consent_in_force: Callable[[str], bool], *, escalation: bool = False,
                account_id: str = "") -> TypedText:
    """The engine's rule for a text a person types (`policy.typed_text`, the same word lists:
    `engine.sensitive`), at a console door: a text that may hold health or life-event details is
    refused (ConsoleError `text_sensitive`, one line, nothing written) unless a consent for the
    lists' purpose is in force (then it is to be sealed under it); an escalation's note is never
    refused (held back instead). Word lists that cannot be read refuse every text (fail closed)."""
    from callguide.engine import sensitive

    if not text:
        return TypedText(None, text)
    try:
        kept = sensitive.check(action, text, consent_in_force, escalation=escalation)
    except sensitive.SensitiveWordsError as e:
        raise ConsoleError(f"typed texts cannot be checked: {e}", "config", "words_unreadable") from None
    if kept.refusal is not None:
        purpose = str(kept.refusal.params.get("purpose") or "health_disclosure")
        raise ConsoleError(f"not saved: this text may hold health or life-event details and no consent for "
                           f"{purpose.replace('_', ' ')} is in force on account {account_id}; write it without them",
                           "refused", "text_sensitive", purpose=purpose, account=account_id)
    return kept


class _ReviewStore:
    """What `record_review` needs: the account's state as the team store knows it (never a stale
    cache: a review is refused offline) and an append to the console's own journal."""

    def __init__(self, console: Console, kept: TypedText | None = None) -> None:
        self.console = console
        self.kept = kept   # the review's note as the typed-text rule let it through

    def account_state(self, account_id: str, today: dt.date) -> AccountState:
        return self.console.account(account_id, today).state

    def append(self, entry: NewEntry) -> Entry:
        if self.kept is not None:
            entry = self.console._seal_typed(entry, "note", self.kept)
        return self.console._append(entry)


class Console:
    """One person at the console, connected as themselves."""

    def __init__(self, target: TeamTarget, *, journal_path: str | Path | None = None,
                 levels: ServiceLevels | None = None, window: dt.timedelta = dt.timedelta(days=7),
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
                 push_timeout: float = 5.0) -> None:
        from callguide.store.sqlite import SQLiteJournal

        from .sync import TeamSync

        self.target = target
        self.levels = levels or ServiceLevels.load()
        self.window = window
        self.clock = clock
        self.push_timeout = push_timeout
        self.team = PostgresJournal(target)
        try:
            me = q.whoami(self.team)
        except TeamStoreError:
            self.team.close()
            raise
        if me is None:
            self.team.close()
            raise ConsoleError("you are not a person on this team store (callguide server person)", "denied")
        pid, name, roles, team = me
        if not {"supervisor", "care_team", "auditor"} & set(roles):
            self.team.close()
            raise ConsoleError(f"the console is for supervisors and the care team; {pid} has {', '.join(roles)}",
                               "denied")
        self.person = Person(pid, name, frozenset(roles))
        self.team_name = team
        self.journal_path = Path(journal_path) if journal_path else default_journal_path(target, pid)
        self.journal_path.parent.mkdir(parents=True, exist_ok=True)
        self.local = SQLiteJournal.open(self.journal_path)
        self.sync = TeamSync(self.journal_path, target).start() if self.can_write else None
        self._lock = threading.Lock()
        self._keys_lock = threading.Lock()
        from callguide.store.postgres.keys import TeamKeys

        sealer = getattr(self.local, "sealer", None)
        #: the keys this person may open values with (the team store's escrow, then the console's own)
        self.keys = TeamKeys(self.team, sealer.keys if sealer is not None else None)

    # -- who may do what

    @property
    def can_write(self) -> bool:
        return bool({"supervisor", "care_team"} & self.person.roles)

    def may_act(self, item: QueueItem) -> bool:
        return any(self.person.has(r) for r in item.level.roles)

    # -- reads

    def queue(self) -> list[QueueItem]:
        now = self.clock()
        since = now - self.window
        escalations = self._opened(q.escalations(self.team, since, now - dt.timedelta(days=self.levels.open_days)))
        return derive_queue(escalations, self._opened(q.actions(self.team, [e.ref for e in escalations])),
                            self.levels)

    def account(self, account_id: str, today: dt.date | None = None) -> AccountView:
        rows = q.account_rows(self.team, account_id)
        self._shred_withdrawn(account_id, [(str(r.data.get("purpose")), r.at, r.ts) for r in rows
                                           if r.type == et.CONSENT_WITHDRAWN])
        return account_view(account_id, self._opened(rows), today or self.clock().date())

    def _opened(self, rows: list[q.Row]) -> list[q.Row]:
        """Sealed values (issue 10) opened with the keys this person may read: the console's own
        (its own notes) and the team store's escrowed keys (migration 0006, read through this
        person's connection: the care team's keys of the purposes consented for it, on accounts
        referred to it). A destroyed key reads as "withdrawn on DATE"; one not readable here stays
        sealed ("missing")."""
        from callguide.store.postgres.keys import sealed_kids
        from callguide.store.sealing import Sealer, has_sealed, open_all

        todo = [r for r in rows if any(has_sealed(v) for v in r.data.values())]
        if not todo:
            return rows
        self._shred_own_withdrawn(todo)
        with self._keys_lock:
            self.keys.load(kid for r in todo for kid, _ in sealed_kids(r.data))
            sealer = Sealer(self.keys)
            return [dataclasses.replace(r, data=open_all(sealer, r.account_id, r.data))
                    if any(has_sealed(v) for v in r.data.values()) else r for r in rows]

    def worklist(self, items: list[QueueItem] | None = None) -> list[QueueItem]:
        """The care team's worklist: open referrals to the care team, oldest first."""
        items = self.queue() if items is None else items
        return [i for i in items if i.kind == "care_team" and i.open]

    def people(self) -> list[tuple[str, str, tuple[str, ...], str | None]]:
        return q.people(self.team)

    # -- actions (each an entry of the console's own journal, pushed at once)

    def _append(self, entry: NewEntry) -> Entry:
        if not self.can_write:
            raise ConsoleError(f"{self.person.id} may read the console but not act on it", "denied", "read_only")
        with self._lock:
            written = self.local.append(entry)
        if self.sync is not None:
            self.sync.wake()
        return written

    def _pushed(self, entry: Entry) -> bool:
        if self.sync is None:
            return False
        return self.sync.wait_synced(self.push_timeout, at_least=entry.seq)

    def _may(self, item: QueueItem, type_: str) -> None:
        if not self.can_write:
            raise ConsoleError(f"{self.person.id} may read the console but not act on it", "denied", "read_only")
        if not self.may_act(item):
            raise ConsoleError(f"{self.person.display_name} may not act on a {item.level.name} item "
                               f"(needs {' or '.join(item.level.roles)})", "denied", "may_not_act")
        if item.resolved is not None and type_ != et.ESCALATION_NOTE:
            raise ConsoleError(f"this {item.kind} escalation was resolved by {item.resolved.name}", "refused", "resolved",
                               name=item.resolved.name)

    def _act(self, item: QueueItem, type_: str, extra: dict[str, Any], kept: TypedText | None = None) -> ActionResult:
        self._may(item, type_)
        entry = action_entry(item, type_, self.person, extra, self.clock())
        if kept is not None:
            entry = self._seal_typed(entry, next(iter(extra)), kept)
        written = self._append(entry)
        return ActionResult(written, self._pushed(written), kept.purpose if kept else None,
                            bool(kept and kept.held_back))

    # -- typed text (the engine's rule, `policy.typed_text`, at every door of the console)

    def consents_in_force(self, account_id: str) -> frozenset[str]:
        """The consent purposes in force on the account, as the team store's rows derive them now
        (reading the account is recorded there, as `account` does)."""
        return frozenset(str(c.get("purpose")) for c in self.account(account_id).state.consents_in_force)

    def _typed(self, account_id: str, action: str, text: str, *, escalation: bool = False) -> TypedText:
        """`check_typed` with the account's consents in force, read from the team store only when the
        text matches the trainers' lists (a plain text needs no read, and works offline)."""
        cache: list[frozenset[str]] = []

        def in_force(purpose: str) -> bool:
            if not cache:
                cache.append(self.consents_in_force(account_id))
            return purpose in cache[0]

        return check_typed(action, text, in_force, escalation=escalation, account_id=account_id)

    def _seal_typed(self, entry: NewEntry, key: str, kept: TypedText) -> NewEntry:
        """`entry` with its typed text `key` sealed under the consent it was allowed under (its key is
        escrowed by the sync like a desktop's: `store.postgres.keys.deposits`, so the care team opens
        it where `consent_scopes` lets it, and a withdrawal destroys it); no consent: left to the
        journal, which seals it under the account's personal key. The entry says `consent: [purpose]`
        where its type declares it (a hold ended, a capacity review), as the engine's entries do."""
        if kept.purpose is None or not entry.data.get(key):
            return entry
        sealer = getattr(self.local, "sealer", None)
        if sealer is None:
            raise ConsoleError(f"the console's journal {self.journal_path} cannot seal values here", "config")
        data = dict(entry.data)
        data[key] = sealer.seal(entry.account_id, [kept.purpose], data[key])
        t = et.REGISTRY.get(entry.type)
        if t is not None and "consent" in t.keys:
            data["consent"] = [kept.purpose]
        return dataclasses.replace(entry, data=data)

    def _shred_own_withdrawn(self, rows: list[q.Row]) -> None:
        """Before this console opens its own values sealed under a consent (its notes in the queue):
        the withdrawals the team store holds on those accounts destroy its own keys (`_shred_withdrawn`).
        Read without opening the account again: the console opened it when it wrote the text
        (row-level security: `consent_withdrawn` is a protection row of an opened account)."""
        from callguide.store.postgres.keys import sealed_kids
        from callguide.store.sealing import PERSONAL

        sealer = getattr(self.local, "sealer", None)
        if sealer is None:
            return
        accounts = sorted({r.account_id for r in rows for kid, p in sealed_kids(r.data)
                           if p != PERSONAL and (own := sealer.keys.get(kid))[0] is not None
                           and own[1].get("account_id") == r.account_id})
        if not accounts:
            return
        found = q.withdrawals(self.team, accounts)
        for account in accounts:
            self._shred_withdrawn(account, [(p, at, ts) for a, p, at, ts in found if a == account])

    def _shred_withdrawn(self, account_id: str, withdrawals: list[tuple[str, dt.datetime, str]]) -> None:
        """A consent withdrawn (anywhere: the team store's rows say so) destroys this console's own
        key of that purpose on the account when the console used it at or before the withdrawal,
        as the team store destroys its escrowed copy (0006 `shred_for_entry`): the console's own
        notes under it read "withdrawn on DATE" here too, and its next note gets a new key."""
        from callguide.store.postgres.keys import sealed_kids
        from callguide.store.sealing import PERSONAL, WITHDRAWN

        sealer = getattr(self.local, "sealer", None)
        if sealer is None or not withdrawals:
            return
        live = {k["kid"]: k["purpose"] for k in sealer.keys.rows(account_id)
                if not k["destroyed"] and k["purpose"] != PERSONAL}
        if not live:
            return
        first: dict[str, dt.datetime] = {}
        for e in self.local.account_entries(account_id):
            for kid, _ in sealed_kids(e.data):
                if kid in live and kid not in first:
                    first[kid] = dt.datetime.fromisoformat(e.ts.replace("Z", "+00:00"))
        for kid, purpose in live.items():
            used = first.get(kid)
            hits = [(at, ts) for p, at, ts in withdrawals if p == purpose and (used is None or at >= used)]
            if hits:
                at, ts = max(hits)
                sealer.keys.destroy(account_id, [purpose], WITHDRAWN, f"consent withdrawn (team store, {ts})",
                                    iso(at))

    def acknowledge(self, item: QueueItem) -> ActionResult:
        if item.acknowledged is not None:
            raise ConsoleError(f"already acknowledged by {item.acknowledged.name}", "refused", "already_acknowledged",
                               name=item.acknowledged.name)
        role = next(r for r in item.level.roles if self.person.has(r)) if self.may_act(item) else ""
        return self._act(item, et.ESCALATION_ACKNOWLEDGED, {"role": role})

    def assign(self, item: QueueItem, person_id: str) -> ActionResult:
        who = {p[0]: p for p in self.people()}.get(person_id)
        if who is None:
            raise ConsoleError(f"{person_id!r} is not a person on this team store", "refused", "unknown_person",
                               person=person_id)
        if not set(item.level.roles) & set(who[2]):
            raise ConsoleError(f"{who[1]} cannot take a {item.level.name} item (needs {' or '.join(item.level.roles)})",
                               "refused", "cannot_take", name=who[1])
        return self._act(item, et.ESCALATION_ASSIGNED, {"to": who[0], "to_name": who[1]})

    def note(self, item: QueueItem, text: str) -> ActionResult:
        """A note on an escalation. Its text follows the typed-text rule as an escalation's reason
        does (`check_typed`): never refused for what it says; sealed under the consent in force when
        it may hold health or life-event details, else held back (`sealing.REASON_HELD_BACK` is
        written, `ActionResult.held_back`; the window keeps the typed text)."""
        text = (text or "").strip()
        if not text:
            raise ConsoleError("a note needs some text", "refused", "note_empty")
        self._may(item, et.ESCALATION_NOTE)
        kept = self._typed(item.account_id, "escalation_note", text, escalation=True)
        return self._act(item, et.ESCALATION_NOTE, {"text": kept.text}, kept)

    def resolve(self, item: QueueItem, note: str = "") -> ActionResult:
        """Resolve an escalation; a note that may hold health or life-event details is refused
        unless the consent is in force on the account (then sealed under it): nothing is written."""
        note = (note or "").strip()
        self._may(item, et.ESCALATION_RESOLVED)
        kept = self._typed(item.account_id, "escalation_resolved", note)
        return self._act(item, et.ESCALATION_RESOLVED, {"note": kept.text}, kept)

    def record_review(self, kind: str, account_id: str, result: str, note: str = "") -> ActionResult:
        """A specialist review (capacity, crisis, dispute), exactly as `callguide review` records it
        (`engine.reviews.record_review`): refused unless the team store shows the protection open."""
        from callguide.engine.reviews import KINDS, ReviewError, record_review

        spec = KINDS.get(kind)
        if spec is not None and not any(self.person.has(r) for r in spec.roles):
            raise ConsoleError(f"Recording a {kind} review needs the {' or '.join(r.replace('_', ' ') for r in spec.roles)}"
                               f" role; {self.person.display_name} has {', '.join(sorted(self.person.roles))} on this team"
                               " store.", "denied", "review_role")
        note = (note or "").strip()
        kept = self._typed(account_id, f"{kind}_review", note)
        try:
            entry = record_review(_ReviewStore(self, kept), kind, account_id, result, self.person,  # type: ignore[arg-type]
                                  note=note, now=self.clock())
        except ReviewError as e:
            code = "nothing_to_review" if "has no open" in str(e) else None
            raise ConsoleError(str(e), "refused", code, account=account_id) from None
        return ActionResult(entry, self._pushed(entry), kept.purpose)

    def end_hold(self, account_id: str, reason: str) -> ActionResult:
        """A hold decision: end the account's holds (a reason is required), as the call's `end_hold`
        action records it; the care team (or a supervisor) decides, refused when no hold is on."""
        if not (self.person.has("care_team") or self.person.has("supervisor")):
            raise ConsoleError(f"{self.person.display_name} may not end a hold (care team or supervisor)", "denied",
                               "hold_role")
        reason = (reason or "").strip()
        if not reason:
            raise ConsoleError("ending a hold needs a reason", "refused", "hold_reason")
        view = self.account(account_id)
        if not view.state.holds:
            raise ConsoleError(f"Account {account_id} has no hold on.", "refused", "no_hold", account=account_id)
        in_force = {str(c.get("purpose")) for c in view.state.consents_in_force}
        kept = check_typed("end_hold", reason, in_force.__contains__, account_id=account_id)
        entry = NewEntry(type=et.HOLD_ENDED, call_id=f"hold-{uuid.uuid4().hex}", account_id=account_id,
                         agent=self.person.id, flow_id=None, flow_hash=None, step_id=None,
                         data={"reason": reason, "by": self.person.id}, ts=iso(self.clock()))
        entry = self._append(self._seal_typed(entry, "reason", kept))
        return ActionResult(entry, self._pushed(entry), kept.purpose)

    def close(self) -> None:
        if self.sync is not None:
            with contextlib.suppress(Exception):
                self.sync.wait_synced(2.0)
            self.sync.stop()
        with contextlib.suppress(StoreError):
            self.local.close()
        self.team.close()

    def __enter__(self) -> Console:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------- the live feed

@dataclass
class FeedUpdate:
    items: list[QueueItem]
    new: list[QueueItem]                    # items not seen before (a loud one alarms: the window is raised)
    notice: Notice | None
    read_at: float = field(default_factory=time.monotonic)
    error: str | None = None                # the read failed: `items` are the last ones read


class ConsoleFeed:
    """The queue, read again whenever the team store says something changed (escalations,
    actions, reviews, protections), and every `interval` seconds (service levels tick, and a
    missed notice heals). `on_update(FeedUpdate)` runs on the feed's thread."""

    def __init__(self, console: Console, on_update: Callable[[FeedUpdate], None], *,
                 notices: TeamNotices | None = None, interval: float = 15.0) -> None:
        self.console = console
        self.on_update = on_update
        self.notices = notices or TeamNotices(console.target, channels=("escalations", "protections"))
        self._own_notices = notices is None
        self.interval = interval
        self._seen: set[str] = set()
        self._last: list[QueueItem] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pending: Notice | None = None
        self._thread: threading.Thread | None = None
        self._unsub: list[Callable[[], None]] = []
        self.error: str | None = None

    def start(self) -> ConsoleFeed:
        for channel in ("escalations", "protections"):
            self._unsub.append(self.notices.subscribe(None, self._on_notice, channel=channel))
        if self._own_notices:
            self.notices.start()
        self._thread = threading.Thread(target=self._run, name="callguide-console-feed", daemon=True)
        self._thread.start()
        return self

    def refresh(self) -> None:
        self._wake.set()

    def _on_notice(self, notice: Notice) -> None:
        self._pending = notice
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # before reading: a notice arriving meanwhile reads again
            notice, self._pending = self._pending, None
            try:
                items = self.console.queue()
            except StoreError as e:
                self.error = str(e)
                with contextlib.suppress(Exception):
                    self.on_update(FeedUpdate(self._last, [], notice, error=self.error))
                self._wake.wait(2.0)
                continue
            self.error = None
            self._last = items
            new = [i for i in items if i.ref not in self._seen]  # the first read: all (an open BLAKE alarms)
            self._seen.update(i.ref for i in items)
            with contextlib.suppress(Exception):  # a subscriber's bug must not stop the feed
                self.on_update(FeedUpdate(items, new, notice))
            self._wake.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for u in self._unsub:
            u()
        if self._thread is not None:
            self._thread.join(5)
        if self._own_notices:
            self.notices.stop()
