"""Resuming a killed call: replay its journalled commands over the flow versions it started with.

Every entry that carries an agent's command (`data.input`, the commands' JSON) is applied again,
in order (a plain Next's `step_shown`, or the `step_committed` that journals wrote before it,
`engine.journal`), with the clock set to the entry's time, over the pinned flows (`library.pinning`) and the
account history the agent was shown at the start (`call_started.history`). Nothing is written while
replaying; then `call_resumed` is journalled, protections recorded since the start are added (never
removed), and the step on screen goes through the gate like any other. Never parses YAML; no Qt.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from callguide.engine import commands as c
from callguide.engine.clock import Clock, FixedClock, SystemClock
from callguide.engine.commands import EngineError
from callguide.engine.journal import entry_dict
from callguide.engine.localtime import ContactRules, ContactRulesError
from callguide.engine.protections import (
    add_newer_protections,
    apply_contact,
    contact_time_entry,
    end_consents,
    end_lapsed_consents,
    history_from_snapshot,
    localize_history,
    recheck_contact_time,
)
from callguide.identity import Person
from callguide.library.pinning import PinningError, pinned_library
from callguide.store import entry_types as et
from callguide.store.sealing import Gone, open_all

if TYPE_CHECKING:
    from callguide.engine.session import CallSession


def resume_call(cls: Any, library: Any, store: Any, call_id: str, *, clock: Clock | None = None,
                into: CallSession | None = None, listeners_of: Any = None, person: Person | None = None) -> CallSession:
    """The call rebuilt from its journal: a new session, or `into` an existing one (initialised again in
    place after an internal error: `CallSession._rebuild`), heard by the listeners of the journal
    writer `listeners_of` (the one it replaces). `person`: who goes on with it (`resumed_by`)."""
    from callguide.engine.session import Account

    entries = store.call_entries(call_id)
    if not entries or entries[0].type != et.CALL_STARTED:
        raise EngineError(f"No call {call_id!r} in the journal.")
    if any(e.type == et.CALL_ENDED for e in entries):
        raise EngineError(f"Call {call_id} has already ended.")
    first = entries[0]
    try:
        pinned = pinned_library(library, store, first.data.get("flows", {}))
    except PinningError as e:
        raise EngineError(str(e)) from None
    sealer = getattr(store, "sealer", None)
    lang = first.data.get("lang")
    opened = open_all(sealer, first.account_id, first.data, lang)
    acct = opened.get("account")
    gone = acct if isinstance(acct, Gone) else next((v for v in (acct or {}).values() if isinstance(v, Gone)), None)
    if gone is not None:
        raise EngineError(f"Call {call_id} cannot be resumed: the account's details were {gone}.")
    account = Account(**opened["account"])
    history = localize_history(history_from_snapshot(account.id, first.data.get("history", {}),
                                                     _resolver(store, sealer, account.id, lang)), lang)
    replay_clock = FixedClock(first.ts)
    contact = first.data.get("contact")
    try:
        rules = ContactRules.load() if contact else None
    except ContactRulesError as e:
        raise EngineError(str(e)) from None
    who = first.data.get("person")  # the roles the commands were accepted under
    starter = Person(str(who["id"]), str(who.get("name") or ""), frozenset(who.get("roles") or ["agent"])) \
        if isinstance(who, dict) and who.get("id") else None
    s = into if into is not None else cls.__new__(cls)
    s.__init__(pinned, store, account, first.agent, lang=first.data.get("lang"), clock=replay_clock,
               call_id=call_id, auto_wrap_up=first.data.get("auto_wrap_up", True),
               practice=first.data.get("practice", False), history=history, contact_rules=rules, person=starter)
    s.journal.recording = False
    if listeners_of is not None:
        s.journal.keep_listeners(listeners_of)  # (a replay tells nobody anything; the resume below does)
    if contact:
        apply_contact(s.facts.state, contact)
    s.nav.push(first.data["start_flow"], cause="start")
    shown: tuple[str | None, str | None] | None = None  # the last step the agent was shown
    withdrawn = False
    for e in entries[1:]:
        replay_clock.set(dt.datetime.fromisoformat(e.ts))
        if e.type == et.PROTECTIONS_RECEIVED:  # raised (or a consent withdrawn) elsewhere while the call ran
            received = open_all(sealer, account.id, {"h": e.data.get("history") or {}}, lang)["h"]
            if isinstance(received, dict):  # sealed like every snapshot; a destroyed key leaves it out
                add_newer_protections(s.facts.state, history_from_snapshot(
                    account.id, received, _resolver(store, sealer, account.id, lang)))
            end_consents(s.facts, [str(p) for p in e.data.get("consents_ended") or []])
            s.nav.recheck()
            continue
        if e.type == et.CONTACT_TIME:  # (the start's, or a resume's outside the hours: `recheck_contact_time`)
            contact_time_entry(s.facts.state, e.data)
            s.nav.recheck()
            continue
        if e.type == et.STEP_SHOWN:
            shown = (e.flow_id, e.step_id)
            if "input" not in e.data:  # (a plain Next is one `step_shown` carrying its command)
                continue
        if "input" in e.data:
            command = open_all(sealer, e.account_id, {"input": e.data["input"]}, lang)["input"]
            if isinstance(command, Gone):
                # a value withdrawn or erased since: it is not there to replay, but it was given, so
                # the call went on from it (a required answer let Next through). Its place holds the
                # `Gone` ("withdrawn on DATE") until the withdrawal's own replay forgets it.
                withdrawn = _answered_gone(s, e, command) or withdrawn
                continue
            try:
                s.apply(c.command_from_json(command))
            except c.CommandError as err:
                raise EngineError(f"Call {call_id}: entry {e.seq} cannot be replayed ({err}).") from None
    top = s.stack.top
    if withdrawn and shown is not None and top is not None and top.flow.id == shown[0] \
            and shown[1] and top.step_id != shown[1] and top.flow.has_step(shown[1]):
        # a condition read a value that is gone now and took another way: the journal says where the
        # call was (its effects are journalled; the gate rechecks the step below)
        s.stack.set_step(top, shown[1])
    if person is not None:
        resumed_by(s, person)
    s.journal.records = [entry_dict(e) for e in entries]
    s.blocked = [dict(e.data) for e in entries if e.type == et.BLOCKED]
    s.journal.recording = True
    s.clock = s.journal.clock = clock or SystemClock()
    with s.journal.operation("resume"):
        top = s.stack.top
        s.emit(et.CALL_RESUMED, {"flow": top.flow.id if top else None, "step": top.step_id if top else None}, top)
        # resumed outside the customer's hours: a new contact, refused alike (not a rebuild in place: the
        # same call goes on, as it was before the error)
        contact = recheck_contact_time(s) if into is None else None
        if contact is not None:
            s.emit(et.CONTACT_TIME, contact, top)
            contact_time_entry(s.facts.state, contact)
        register = store.account_state(account.id, s.facts.today())
        add_newer_protections(s.facts.state, register)
        end_lapsed_consents(s.facts, register)  # a consent withdrawn since (on another call) ends here too
        s.nav.recheck()  # a resumed step goes through the gate like any other
    return s


def resumed_by(s: Any, person: Person) -> None:
    """The person who goes on with a resumed call, with the roles both they and the call's starter
    hold: never more than the commands are replayed under (`call_started.person`), so a later resume
    replays them alike, and never more than their own (an agent who resumes a care-team member's
    killed call is no care-team member: `clear_capacity_doubt` is refused). What they do is journalled
    under their id."""
    s.person = Person(person.id, person.name, frozenset(person.roles) & frozenset(s.person.roles))
    s.agent = s.journal.agent = person.id


def _answered_gone(s: Any, e: Any, gone: Gone) -> bool:
    """Replays an answer whose value was destroyed: the field holds the `Gone` where it was answered."""
    if e.type != et.ANSWER:
        return False
    frame = s.stack.top
    fid = e.data.get("field")
    if frame is None or not any(f.id == fid for f in frame.step.fields):
        return False
    s.facts.set_value(str(fid), gone, (frame.serial, frame.step.id))
    return True


def _resolver(store: Any, sealer: Any, account_id: str, lang: str | None) -> Any:
    """Opens a snapshot's references (`{"seq", "key", "sub"?}`) from the account's entries, read once."""
    entries: dict[int, Any] | None = None

    def resolve(ref: dict[str, Any]) -> Any:
        nonlocal entries
        if entries is None:
            entries = {e.seq: e for e in store.account_entries(account_id)}
        e = entries.get(ref.get("seq"))  # type: ignore[arg-type]
        if e is None:
            return Gone("missing", None, lang)
        value = open_all(sealer, account_id, {"v": e.data.get(str(ref.get("key")))}, lang)["v"]
        sub = ref.get("sub")
        if sub is not None and isinstance(value, dict):
            return value.get(sub)
        return value

    return resolve
