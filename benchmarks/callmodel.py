"""The model-based proof (issue 8, §5): a hypothesis state machine that drives the REAL engine over
the REAL `flows/` with random commands — answers (valid and not), Next with any choice, Back, every
interrupt at any step, global actions, outcomes, consents given / declined / withdrawn, language
changes, a simulated crash and resume, later calls on the same account, specialist reviews and
jumps of the clock — and after every command checks the safety invariants against the journal:

1. no arrangement, payment step, payment outcome or collection step while a capacity doubt, a crisis,
   a hold, a dispute (or a contact-time refusal) is in force — on this call or any later one;
2. no special-category value stored without a consent in force for its purpose, free-text answers
   included: one whose text the trainers' word lists match is stored only under their consent in
   force (or held back: `sealing.REASON_HELD_BACK`);
3. BLAKE is always one action away (running, or its interrupt enabled);
4. a resumed call is in the same state as before the crash;
5. the hash chain verifies.

The protections are recomputed by `Oracle`, an independent fold over the raw journal entries (it
does not use `store/derive.py` or the engine), from the flows' own declarations of what each step
needs (`flow.guards`). `tests/engine/test_model.py` runs a small profile in the suite;
`benchmarks/model_soak.py` the long one.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from callguide.engine import commands as c
from callguide.engine import sensitive
from callguide.engine.clock import FixedClock
from callguide.engine.localtime import COUNTRY_ZONES, ContactRules, zone_for
from callguide.engine.reviews import ReviewError, record_review
from callguide.engine.session import Account, CallSession
from callguide.engine.views import OUTCOME_CODES
from callguide.flow.guards import PAYMENT_OUTCOMES, GuardIndex
from callguide.flow.loader import load_library
from callguide.identity import Person
from callguide.store.sealing import Gone, is_held_back, purposes_of
from callguide.store.sqlite import SQLiteJournal

ROOT = Path(__file__).resolve().parent.parent
ACCOUNTS = [("M-UK", "UK", "en", "1200.00"), ("M-DK", "DK", "da", "8400,00"), ("M-CZ", "CZ", "cs", "24000,00")]
AGENT = Person("agent-m", "Model Agent", frozenset({"agent"}))
CARE = Person("care-m", "Model Care", frozenset({"care_team"}))
SUPERVISOR = Person("super-m", "Model Supervisor", frozenset({"supervisor"}))
GLOBAL_ACTIONS = [
    ("refer_care_team", {"reason": "model"}), ("alert_supervisor", {"reason": "model"}), ("emergency", {}),
    ("start_hold", {"days": 30, "reason": "model"}), ("end_hold", {"reason": "back in work"}), ("end_hold", {}),
    ("block_collection", {"reason": "agent"}), ("block_collection", {"reason": "crisis"}),
    ("unblock_collection", {"reason": "model"}), ("flag_capacity_doubt", {"reason": "model"}),
    ("clear_capacity_doubt", {"reason": "model"}), ("record_dispute", {"reason": "says it is paid"}),
    ("record_dispute", {}), ("record_contact_reason", {"reason": "customer_request"}),
    ("set_outcome", {"code": "arrangement_agreed"}), ("schedule_callback", {"in_days": 3}),
    ("queue_sms_survey", {}), ("record_arrangement", {"fields": ["arrangement_amount"]}), ("nope", {}),
    # hostile: a param the action does not declare, with what the customer said in it
    ("start_hold", {"days": 30, "reason": "model", "why": "Customer has cancer, on chemo"}),
    ("offer_debrief", {"note": "Kunden har kræft"}), ("refer_care_team", {"reason": "model", "x": "Zákazník má rakovinu"}),
    ("schedule_callback", {"in_days": 3, "reason": "Customer has cancer, on chemo"}),
    ("Customer has cancer", {}), ("start_hold", {"days": 3, "her cancer": 1}),
    ("record_adjustment", {"fields": ["episodic", "category", "contact_times"]}),
]
_LIB: Any = None
_RULES: Any = None


def library() -> Any:
    global _LIB, _RULES
    if _LIB is None:
        _LIB, diags = load_library([ROOT / "flows"])
        assert not [d for d in diags if d.severity == "error"], diags
        _RULES = ContactRules.load(ROOT / "resources" / "contact_rules.yaml")
    return _LIB


class Oracle:
    """Protections in force, recomputed from the raw journal entries of one account (independently)."""

    def __init__(self, lib: Any, zone: Any, open_value: Any = None, country: str | None = None) -> None:
        self.open_value = open_value  # (account, sealed value) -> plain value, a `Gone`, as the journal has it
        self.country = country        # with it, the contact hours are worked out here at every (re)contact
        self.words = sensitive.load()
        self.guards = GuardIndex(lib.flows)
        self.flows = lib.flows
        self.fields = lib.fields()
        self.zone = zone
        self.doubt = False
        self.crisis_until: str | None = None
        self.holds: list[str] = []
        self.dispute = False
        self.consents: dict[str, str | None] = {}  # purpose -> expiry (None: no expiry)
        self.blocks: dict[str, bool] = {}          # call -> a manual block is on
        self.out_of_hours: dict[str, bool] = {}    # call -> outside the hours, no reason yet

    def _day(self, ts: str) -> str:
        return dt.datetime.fromisoformat(ts).astimezone(self.zone).date().isoformat()

    def forbids(self, call: str, day: str, payment: bool) -> list[str]:
        why = []
        if self.crisis_until and self.crisis_until >= day:
            why.append("crisis")
        if self.dispute:
            why.append("dispute")
        if any(u >= day for u in self.holds):
            why.append("hold")
        if self.blocks.get(call):
            why.append("collection block")
        if self.out_of_hours.get(call):
            why.append("outside contact hours")
        if payment and self.doubt:
            why.append("capacity doubt")
        return why

    def consent_ok(self, purpose: str | None, day: str) -> bool:
        if purpose not in self.consents:
            return False
        exp = self.consents[purpose]
        return exp is None or exp >= day

    def feed(self, e: Any) -> list[str]:
        """One entry, in journal order: the violations it shows, then the protections it changes."""
        d, t, call, day = e.data, e.type, e.call_id, self._day(e.ts)
        bad: list[str] = []

        def check(what: str, payment: bool) -> None:
            why = self.forbids(call, day, payment)
            if why:
                bad.append(f"entry {e.seq}: {what} while {', '.join(why)} in force")

        if t in ("step_shown", "answer") and e.flow_id in self.flows and e.step_id:
            flow = self.flows[e.flow_id]
            if flow.has_step(e.step_id):
                reqs = self.guards.requirements(flow, flow.step(e.step_id))
                if reqs:
                    check(f"{t} {e.flow_id}/{e.step_id}", "payment_allowed" in reqs)
        if t == "arrangement":
            check("an arrangement", True)
        if t in ("outcome", "call_ended") and (d.get("code") or d.get("outcome")) in PAYMENT_OUTCOMES:
            check(f"outcome {d.get('code') or d.get('outcome')}", True)
        named = d.get("consent") if isinstance(d.get("consent"), list) else []
        if t == "answer" and d.get("sensitivity") == "special":
            f = self.fields.get(d.get("field"))
            purposes = named or ([f.consent] if f is not None else [])
            if f is None or not purposes or not all(self.consent_ok(p, day) for p in purposes):
                bad.append(f"entry {e.seq}: special value {d.get('field')} stored without consent in force")
        if t == "answer" and self.open_value is not None:
            f = self.fields.get(d.get("field"))
            value = self.open_value(e.account_id, d.get("value"))
            if f is not None and f.type == "text" and f.sensitivity != "special" and isinstance(value, str) \
                    and not isinstance(value, Gone) and not is_held_back(value) and self.words.find(value) \
                    and not (named == [self.words.purpose] and self.consent_ok(self.words.purpose, day)
                             and purposes_of(d.get("value")) == [self.words.purpose]):
                bad.append(f"entry {e.seq}: free text {d.get('field')} with health or life-event words stored "
                           "without the lists' consent in force")
        command = self.open_value(e.account_id, d.get("input")) if "input" in d and self.open_value else None
        if isinstance(command, dict) and command.get("cmd") in ("action", "note", "flag"):  # what a person types
            said = [x for x in _texts(command) if not is_held_back(x)]
            if any(self.words.find(x) for x in said) and not (
                    self.words.purpose in purposes_of(d.get("input")) and self.consent_ok(self.words.purpose, day)):
                bad.append(f"entry {e.seq}: the agent's command ({t}) keeps health or life-event words without the "
                           "lists' consent in force")
        if t == "blocked" and any(self.words.find(str(d.get(k) or "")) for k in ("action", "reason")):
            bad.append(f"entry {e.seq}: a refusal keeps health or life-event words as they were typed")
        if isinstance(d.get("fields"), dict) and self.open_value is not None:  # a record's values, by field id
            for fid, raw in d["fields"].items():
                f = self.fields.get(fid)
                if f is not None and f.sensitivity == "special" and f.consent not in purposes_of(raw) \
                        and not isinstance(self.open_value(e.account_id, raw), Gone):
                    bad.append(f"entry {e.seq}: {t} keeps {fid} sealed without its consent ({f.consent})")
        if t == "vulnerability":
            for fid in d.get("fields") or {}:
                f = self.fields.get(fid)
                if f is not None and f.sensitivity == "special" and not self.consent_ok(f.consent, day):
                    bad.append(f"entry {e.seq}: vulnerability record keeps {fid} without consent in force")
        # protections
        if t == "call_started":
            self.blocks[call] = False
        elif t == "capacity_doubt":
            self.doubt = True
        elif t == "capacity_review" and d.get("result") == "confirmed":
            self.doubt = False
        elif t == "crisis":
            self.crisis_until = max(filter(None, [self.crisis_until, d.get("review_date")]))
        elif t == "crisis_review":
            self.crisis_until = None if d.get("result") == "resolved" else \
                max(filter(None, [self.crisis_until, d.get("review_date")]))
        elif t == "hold_started":
            self.holds.append(str(d.get("until")))
        elif t == "hold_ended":
            self.holds = []
        elif t == "collection_blocked" and d.get("reason") != "crisis":
            self.blocks[call] = True
        elif t == "collection_unblocked":
            self.blocks[call] = False
        elif t == "dispute":
            self.dispute = True
        elif t == "dispute_review" and d.get("result") == "debt_confirmed":
            self.dispute = False
        elif t == "contact_time":  # at the start, or a resume (a new contact: asked again)
            self.out_of_hours[call] = not d.get("allowed", True)
        elif t == "call_resumed" and self.country is not None and _RULES is not None:  # a new contact
            local = dt.datetime.fromisoformat(e.ts).astimezone(self.zone)
            if not _RULES.check(self.country, local).allowed:  # (only adds: never lifted by a resume)
                self.out_of_hours[call] = True
        elif t == "contact_reason":
            self.out_of_hours[call] = False
        elif t == "consent":
            if d.get("decision") == "given":
                self.consents[str(d.get("purpose"))] = d.get("expires")
            else:
                self.consents.pop(str(d.get("purpose")), None)
        elif t == "consent_withdrawn":
            self.consents.pop(str(d.get("purpose")), None)
        return bad


def position(s: CallSession) -> tuple:
    top = s.top
    return (top.flow.id if top else None, top.step_id if top else None, s.stack.ids(),
            {k: str(v) for k, v in s.values.items()}, dict(s.facts.value_purpose), dict(s.consents),
            dict(s.consent_decisions),
            s.state.as_namespace(), s.lang, s.flows_complete)


class CallModel(RuleBasedStateMachine):
    """Random commands on the real engine; safety invariants checked after every one."""

    calls_started = 0
    commands_applied = 0
    violations: list[str] = []
    seen_types: dict[str, int] = {}

    def __init__(self) -> None:
        super().__init__()
        self.lib = library()
        self.tmp = tempfile.TemporaryDirectory(prefix="callmodel-", dir="/dev/shm" if Path("/dev/shm").is_dir()
                                               else None)
        self.store = SQLiteJournal.open(Path(self.tmp.name) / "journal.db")
        self.clock = FixedClock("2026-11-23T09:00:00+00:00", step_seconds=1)
        self.session: CallSession | None = None
        self.account = ACCOUNTS[0]
        sealer = self.store.sealer
        self.oracles = {a[0]: Oracle(self.lib, zone_for(COUNTRY_ZONES[a[1]]), sealer.open, a[1])
                        for a in ACCOUNTS}
        self.seen = 0
        self.found: list[str] = []

    def teardown(self) -> None:
        counts = type(self).seen_types
        for e in self.store.iter_entries(0):
            key = e.type if e.type != "step_shown" else f"shown:{e.flow_id}/{e.step_id}"
            counts[key] = counts.get(key, 0) + 1
        try:
            assert self.store.verify().ok, "the chain does not verify"
        finally:
            self.store.close()
            self.tmp.cleanup()

    # ------------------------------------------------------------------ helpers

    def apply(self, cmd: c.Command) -> c.Result:
        assert self.session is not None
        type(self).commands_applied += 1
        try:
            return self.session.apply(cmd)
        except c.EngineError as e:  # the one-line refusal of a command with no step to act on
            return c.Result(False, "engine", str(e))

    def live(self) -> bool:
        return self.session is not None and not self.session.ended

    def on_step(self) -> bool:
        return self.live() and self.session.top is not None  # type: ignore[union-attr]

    # ------------------------------------------------------------------ calls

    @initialize()
    def first_call(self) -> None:
        self._start(0, "call-opening", AGENT)

    def _start(self, which: int, flow: str, person: Person) -> None:
        self.account = ACCOUNTS[which]
        aid, country, lang, balance = self.account
        self.session = CallSession.start(self.lib, self.store, Account(aid, "Model Customer", country, lang, balance),
                                         person.id, start_flow=flow, clock=self.clock, auto_wrap_up=True,
                                         person=person, contact_rules=_RULES)
        type(self).calls_started += 1

    @precondition(lambda self: not self.live())
    @rule(which=st.integers(0, 2), flow=st.sampled_from(["call-opening"] * 6 + ["affordability", "payment-arrangement",
                                                                                "wrap-up", "texas", "idea"]),
          care=st.booleans())
    def start_call(self, which: int, flow: str, care: bool) -> None:
        self._start(which, flow, CARE if care and flow == "call-opening" else AGENT)

    @precondition(lambda self: self.live())
    @rule(outcome=st.sampled_from([None, *OUTCOME_CODES]))
    def end_call(self, outcome: str | None) -> None:
        res = self.apply(c.EndCall(outcome))
        if res.ok:
            self.session = None

    @precondition(lambda self: self.live())
    @rule()
    def hang_up_without_ending(self) -> None:
        self.session = None  # a later call on the account while this one stays unfinished

    @precondition(lambda self: self.live())
    @rule()
    def crash_and_resume(self) -> None:
        assert self.session is not None
        before = position(self.session)
        call_id = self.session.call_id
        self.session = None  # killed: nothing pending, every acknowledged entry is in the file
        seen = max((e.seq for e in self.store.call_entries(call_id)), default=0)
        self.session = CallSession.resume(self.lib, self.store, call_id, clock=self.clock)
        after = position(self.session)
        asked_again = any(e.type == "contact_time" and e.seq > seen for e in self.store.call_entries(call_id))
        if after != before and not asked_again:  # (resumed across the contact hours: a new contact, the gate's)
            self.found.append(f"resume differs: {before} != {after}")
        assert self.store.verify().ok

    @rule(hours=st.sampled_from([0, 1, 3, 9, 14, 26, 24 * 8, 24 * 40, 24 * 95]))
    def clock_jump(self, hours: int) -> None:
        self.clock.advance(hours=hours)

    @precondition(lambda self: not self.live())
    @rule(kind=st.sampled_from(["capacity", "crisis", "dispute"]), result=st.sampled_from(
        ["confirmed", "not_confirmed", "resolved", "continue", "debt_confirmed", "upheld"]),
        who=st.sampled_from([CARE, SUPERVISOR, AGENT]), which=st.integers(0, 2))
    def review(self, kind: str, result: str, who: Person, which: int) -> None:
        try:
            record_review(self.store, kind, ACCOUNTS[which][0], result, who, now=self.clock.now())
        except ReviewError:
            pass

    # ------------------------------------------------------------------ commands on the call

    @precondition(lambda self: self.on_step())
    @rule(data=st.data())
    def fill_and_next(self, data: Any) -> None:
        """The agent's usual move: answer what the step asks (valid values), then Next or a choice."""
        assert self.session is not None
        view = self.session.view()
        answers = {}
        for f in view.fields:
            if not f.visible or not f.enabled:
                continue
            answers[f.id] = data.draw(_value(f), label=f.id)
        if answers:
            self.apply(c.Answer(answers))
        if view.kind == "consent" and view.consent_decision is None:
            self.apply(c.Consent(data.draw(st.sampled_from(["given", "declined"]))))
            return
        choices = [ch.id for ch in view.choices if ch.enabled]
        self.apply(c.Next(data.draw(st.sampled_from(choices)) if choices else None))

    @precondition(lambda self: self.on_step())
    @rule(data=st.data(), n=st.integers(2, 14))
    def drive(self, data: Any, n: int) -> None:
        """A run of the agent's usual moves, so calls get deep into the budget and the arrangement."""
        for _ in range(n):
            if not self.on_step():
                return
            self.fill_and_next(data)

    @precondition(lambda self: self.on_step())
    @rule(data=st.data())
    def fill_and_next_once_more(self, data: Any) -> None:
        self.fill_and_next(data)

    @precondition(lambda self: self.on_step())
    @rule(data=st.data())
    def random_answer(self, data: Any) -> None:
        assert self.session is not None
        step = self.session.top.step  # type: ignore[union-attr]
        ids = [f.id for f in step.fields] + ["nope"]
        fid = data.draw(st.sampled_from(ids))
        raw = data.draw(st.one_of(st.text(max_size=12), st.sampled_from(
            ["1234.50", "1.234,50", "NaN", "1e999999", "-3", "2026-13-40", "yes", "{{7*7}}", "0",
             "Customer has cancer, on chemo", "Her carer speaks for her"])))
        self.apply(c.Answer({fid: raw}))

    @precondition(lambda self: self.on_step())
    @rule(text=st.sampled_from(["Customer has cancer, on chemo", "Her carer speaks for her", "Kunden har kræft",
                                "Zákazník má rakovinu", "Letters by post only"]))
    def type_health_words(self, text: str) -> None:
        """The agent types what the customer said into a free-text answer (invariant 2: refused, kept under
        the consent, or held back)."""
        assert self.session is not None
        ids = [f.id for f in self.session.view().fields if f.type == "text" and f.visible and f.enabled]
        if ids:
            self.apply(c.Answer({ids[-1]: text}))

    @precondition(lambda self: self.live())
    @rule(text=st.sampled_from(["Customer has cancer, on chemo", "Kunden har kræft", "Letters by post only"]),
          purpose=st.sampled_from([None, "health_disclosure", "sms_survey", "nope"]))
    def note(self, text: str, purpose: str | None) -> None:
        self.apply(c.Note(text, purpose))

    @precondition(lambda self: self.on_step())
    @rule(comment=st.sampled_from(["Customer has cancer, on chemo", "The wording is too long"]))
    def flag(self, comment: str) -> None:
        self.apply(c.Flag(comment))

    @precondition(lambda self: self.on_step())
    @rule(data=st.data())
    def random_next(self, data: Any) -> None:
        assert self.session is not None
        step = self.session.top.step  # type: ignore[union-attr]
        ids = [t.id for t in step.transitions if t.id] + [None, "nope"]
        self.apply(c.Next(data.draw(st.sampled_from(ids))))

    @precondition(lambda self: self.live())
    @rule(steps=st.integers(1, 3))
    def back(self, steps: int) -> None:
        self.apply(c.Back(steps))

    @precondition(lambda self: self.live())
    @rule(protocol=st.sampled_from(["blake", "harmed", "bruce", "texas", "idea", "hold", "care-referral",
                                    "affordability", "payment-arrangement", "wrap-up", "nope",
                                    "Customer has cancer"]))
    def interrupt(self, protocol: str) -> None:
        """(`Customer has cancer` and the like: ids a script or the bar typed, refused and never kept as typed)"""
        self.apply(c.Interrupt(protocol))

    @precondition(lambda self: self.live())
    @rule(action=st.sampled_from(GLOBAL_ACTIONS))
    def global_action(self, action: tuple[str, dict]) -> None:
        self.apply(c.Action(action[0], action[1]))

    @precondition(lambda self: self.live() and bool(self.session.values))  # type: ignore[union-attr]
    @rule()
    def record_what_was_said(self) -> None:
        """The bar's adjustment with every value the call holds (special ones too: each under its consent)."""
        assert self.session is not None
        self.apply(c.Action("record_adjustment", {"fields": sorted(self.session.values)}))

    @precondition(lambda self: self.live())
    @rule(decision=st.sampled_from(["given", "declined", "maybe"]))
    def consent(self, decision: str) -> None:
        self.apply(c.Consent(decision))

    @precondition(lambda self: self.live())
    @rule(purpose=st.sampled_from(["health_disclosure", "sms_survey", "nope", "her cancer"]))
    def withdraw(self, purpose: str) -> None:
        self.apply(c.Withdraw(purpose))

    @precondition(lambda self: self.live())
    @rule(lang=st.sampled_from(["en", "da", "cs", "xx", "cancer"]))
    def change_language(self, lang: str) -> None:
        self.apply(c.ChangeLanguage(lang))

    @precondition(lambda self: self.live())
    @rule(code=st.sampled_from([*OUTCOME_CODES, "promise_to_pay", "customer_has_cancer", "Customer has cancer"]))
    def set_outcome(self, code: str) -> None:
        self.apply(c.SetOutcome(code))

    # ------------------------------------------------------------------ invariants

    @invariant()
    def the_journal_shows_nothing_forbidden(self) -> None:
        new = list(self.store.iter_entries(self.seen))
        for e in new:
            self.seen = e.seq
            oracle = self.oracles.get(e.account_id)
            if oracle is not None:
                self.found.extend(oracle.feed(e))
        if self.found:
            type(self).violations.extend(self.found)
        assert not self.found, self.found[:5]

    @invariant()
    def blake_is_one_action_away(self) -> None:
        if not self.live():
            return
        s = self.session
        assert s is not None
        if "blake" in s.stack.ids():
            return
        blake = [i for i in s.view().interrupts if i.protocol == "blake"]
        assert blake and blake[0].enabled, f"BLAKE not one action away at {s.top and s.top.step_id}: {blake}"


def _texts(value: Any) -> list[str]:
    """Every text in a command's JSON (its answers, params, note, comment), however deep."""
    if isinstance(value, str) and not isinstance(value, Gone):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


def _value(f: Any) -> Any:
    """A valid answer for a field view."""
    if f.type == "choice":
        values = [v for v, _ in f.choices]
        if f.id == "identity_check":
            return st.sampled_from(["confirmed"] * 5 + values)
        if f.id == "employment":
            return st.sampled_from(["employed"] * 4 + values)
        return st.sampled_from(values)
    if f.type == "yesno" and f.id in ("priority_arrears", "finance_difficulty"):
        return st.sampled_from([False, False, False, True])
    if f.type == "yesno":
        return st.booleans()
    if f.type == "money":
        if f.id == "income":
            return st.sampled_from(["1800", "2500", "30000", "900"])
        if f.id in ("instalment", "arrangement_amount"):
            return st.sampled_from(["40", "100", "250.50", "900", "0"])
        return st.sampled_from(["0", "40", "100", "250.50"])
    if f.type == "number":
        return st.integers(1, 28)
    if f.type == "date":
        return st.sampled_from(["2026-12-01", "2027-01-15"])
    return st.sampled_from(["Long-term illness", "At home", "07700 900123", "Jo Bloggs", "after 17:00",
                            "Customer has cancer, on chemo", "Her carer speaks for her"])
