"""Practice cases: a customer persona, what the customer says at each point, and what a
good call should end with; scored against the trainee's call.

A case is a `*.practice.yaml` file (see docs/workbench.md):

    name: "TEXAS: bereavement, consent given"
    flow: texas                  # the protocol this case practises
    start: call-opening          # optional: where the call starts (default: `flow`)
    persona: {name: Mette Jensen, country: DK, lang: da, balance: "4200.00", situation: "..."}
    script:                      # step id (or flow/step) -> the customer's line at that step
      thank: "Min mand døde for tre måneder siden."
    expected:                    # same matching as flow tests (records are subset matches)
      outcome: recorded
      records: [{type: consent, decision: given}]
      no_records: [{type: arrangement}]
      protocols: [texas]         # protocols the call must go through
    solution: [{next: null}, ...]  # a model answer (events); `Show me` and the tests run it

Practice sessions always write to a practice database, never to the live journal.
Never imports Qt.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callguide import paths
from callguide.engine.clock import Clock
from callguide.engine.script import run_events, trace
from callguide.engine.session import Account, CallSession
from callguide.flow.model import FlowLibrary
from callguide.flow.yamlsafe import display_path, read_yaml
from callguide.store import entry_types as et

#: Plain words for journal record types, for the score's differences.
RECORD_WORDS = {
    et.CONSENT: "a consent decision", et.CONSENT_WITHDRAWN: "a consent withdrawal",
    et.VULNERABILITY: "a vulnerability record", et.DISCLOSURE: "a 'disclosure made, consent declined' record",
    et.ADJUSTMENT: "a reasonable adjustment", et.HOLD_STARTED: "a hold on the account", et.HOLD_ENDED: "a hold ended",
    et.ESCALATION: "an escalation", et.CAPACITY_DOUBT: "a capacity doubt",
    et.CAPACITY_DOUBT_CLEARED: "a capacity doubt cleared", et.ARRANGEMENT: "a payment arrangement",
    et.THIRD_PARTY: "an authorised third party", et.CALLBACK: "a callback", et.SIGNPOST: "signposting",
    et.SMS_SURVEY: "an SMS survey", et.COLLECTION_BLOCKED: "collection blocked", et.OUTCOME: "a call outcome",
    et.DEBRIEF_OFFERED: "a debrief offered to the agent", et.NOTE: "a note", et.BLOCKED: "a blocked action",
    et.PROTOCOL_STARTED: "a protocol started",
}

WEIGHTS = {"outcome": 40, "records": 40, "protocols": 20}
FORBIDDEN_PENALTY = 25


class PracticeError(Exception):
    """A practice case cannot be read or run (one line, file:line where it applies)."""


@dataclass
class Persona:
    name: str = "Practice Customer"
    country: str = "UK"
    lang: str | None = None
    balance: str = "0.00"
    situation: str = ""


@dataclass
class PracticeCase:
    name: str
    flow: str
    persona: Persona
    script: dict[str, str]
    expected: dict[str, Any]
    solution: list[Any] = field(default_factory=list)
    path: str = "<memory>"
    #: where the practice call starts (default: `flow`): a protocol that the gate only allows after
    #: earlier steps (an arrangement needs the identity check and a budget) starts earlier in the call
    start: str | None = None

    def customer_line(self, flow_id: str | None, step_id: str | None) -> str | None:
        """What the customer says while the agent is on `flow_id/step_id` (None: nothing scripted)."""
        if not step_id:
            return None
        return self.script.get(f"{flow_id}/{step_id}") or self.script.get(step_id)


@dataclass
class Score:
    score: int
    differences: list[str]
    matched: list[str]

    @property
    def passed(self) -> bool:
        return not self.differences


def _err(path: str, lc: Any, msg: str) -> PracticeError:
    line = lc[0] if isinstance(lc, tuple) else 1
    return PracticeError(f"{path}:{line}: {msg}")


def load_practice_case(path: str | Path) -> PracticeCase:
    file = display_path(path)
    data, _, _, diags = read_yaml(path, file)
    if diags:
        raise PracticeError(str(diags[0]))
    if not isinstance(data, dict):
        raise PracticeError(f"{file}:1: a practice case is a mapping with name, flow, persona, script, expected")
    for key in ("flow", "expected"):
        if key not in data:
            raise _err(file, getattr(data, "lc", (1, 1)), f"missing required key '{key}'")
    p = data.get("persona") or {}
    if not isinstance(p, dict):
        raise _err(file, data.vpos.get("persona", (1, 1)), "persona must be a mapping (name, country, lang, situation)")
    unknown = set(p) - {"name", "country", "lang", "balance", "situation"}
    if unknown:
        raise _err(file, p.kpos.get(sorted(unknown)[0], p.lc), f"unknown persona key '{sorted(unknown)[0]}'")
    script = data.get("script") or {}
    if not isinstance(script, dict):
        raise _err(file, data.vpos.get("script", (1, 1)), "script must map step ids to what the customer says")
    expected = data.get("expected") or {}
    if not isinstance(expected, dict):
        raise _err(file, data.vpos.get("expected", (1, 1)), "expected must be a mapping (outcome, records, ...)")
    solution = data.get("solution") or []
    if not isinstance(solution, list):
        raise _err(file, data.vpos.get("solution", (1, 1)), "solution must be a list of events")
    persona = Persona(name=str(p.get("name", "Practice Customer")), country=str(p.get("country", "UK")).upper(),
                      lang=p.get("lang"), balance=str(p.get("balance", "0.00")),
                      situation=" ".join(str(p.get("situation", "")).split()))
    return PracticeCase(name=str(data.get("name") or Path(path).name), flow=str(data["flow"]), persona=persona,
                        script={str(k): " ".join(str(v).split()) for k, v in script.items()},
                        expected=dict(expected), solution=list(solution), path=str(path),
                        start=str(data["start"]) if data.get("start") else None)


def find_practice_cases(flows_dir: str | Path | None = None) -> list[Path]:
    folder = Path(flows_dir) if flows_dir else paths.flows_dir()
    return sorted(folder.rglob("*.practice.yaml"))


def _check_practice_db(practice_db: str | Path) -> Path:
    p = Path(practice_db)
    live = paths.default_db_path()
    try:
        same = p.resolve() == live.resolve()
    except OSError:
        same = False
    if same:
        raise PracticeError(f"{p}: that is the live journal; practice runs use a separate practice database")
    return p


def start_practice(lib: FlowLibrary, practice_db: str | Path, case: PracticeCase | None = None,
                   flow_id: str | None = None, agent: str = "trainee", clock: Clock | None = None,
                   store: Any = None) -> tuple[CallSession, Any]:
    """A practice call (practice=True, no auto wrap-up) on the practice database: (session, store).

    The caller closes the store. `store` may be passed to reuse an open practice journal.
    """
    from callguide.engine.session import EngineError
    from callguide.store.sqlite import SQLiteJournal, StoreError

    flow_id = (case.start or case.flow) if case is not None else flow_id
    if not flow_id or flow_id not in lib.flows:
        raise PracticeError(f"{case.path if case else 'practice'}: no flow {flow_id!r} in the library")
    persona = case.persona if case is not None else Persona()
    own = store is None
    if own:
        try:
            store = SQLiteJournal.open(_check_practice_db(practice_db))
        except StoreError as e:
            raise PracticeError(str(e)) from None
    # each run its own account: what an earlier run recorded (a consent, a hold) never carries over
    account_id = f"PRACTICE-{persona.name.split()[0].upper() if persona.name else 'X'}-{secrets.token_hex(3)}"
    try:
        session = CallSession.start(
            lib, store, Account(account_id, persona.name, persona.country, persona.lang, persona.balance),
            agent, start_flow=flow_id, clock=clock, auto_wrap_up=False, practice=True)
    except EngineError as e:
        if own:
            store.close()
        raise PracticeError(f"{case.path if case else flow_id}: {e}") from None
    return session, store


def _record_words(spec: dict[str, Any]) -> str:
    t = spec.get("type", "a record")
    words = RECORD_WORDS.get(t, f"a {t} record")
    extra = ", ".join(f"{k} {v}" for k, v in spec.items() if k != "type")
    return f"{words} ({extra})" if extra else words


def protocols_of(tr: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for v in tr["visited"]:
        f = v.split("/", 1)[0]
        if f not in out:
            out.append(f)
    return out


def score_trace(case: PracticeCase, tr: dict[str, Any]) -> Score:
    """Compare a practice call's trace with the case's expectations: 0-100 and plain differences."""
    from callguide.engine.testing import matches

    exp = case.expected
    diffs: list[str] = []
    matched: list[str] = []
    earned = 0.0
    total = 0.0
    if "outcome" in exp:
        total += WEIGHTS["outcome"]
        if tr["outcome"] == exp["outcome"]:
            earned += WEIGHTS["outcome"]
            matched.append(f"The call ended with the expected outcome '{exp['outcome']}'.")
        elif tr["outcome"] is None:
            diffs.append(f"The protocol did not reach an outcome; expected '{exp['outcome']}'.")
        else:
            diffs.append(f"The protocol ended with '{tr['outcome']}'; expected '{exp['outcome']}'.")
    wanted = list(exp.get("records") or [])
    if wanted:
        total += WEIGHTS["records"]
        for w in wanted:
            if any(matches(w, r) for r in tr["records"]):
                earned += WEIGHTS["records"] / len(wanted)
                matched.append(f"Recorded {_record_words(w)}.")
            else:
                diffs.append(f"Missing: {_record_words(w)} was not recorded.")
    protos = list(exp.get("protocols") or [])
    if protos:
        total += WEIGHTS["protocols"]
        seen = protocols_of(tr)
        for p in protos:
            if p in seen:
                earned += WEIGHTS["protocols"] / len(protos)
            else:
                diffs.append(f"The call never went through {p.upper()}.")
        if all(p in seen for p in protos):
            matched.append("Went through " + ", ".join(p.upper() for p in protos) + ".")
    score = 100.0 * earned / total if total else 100.0
    for unwanted in exp.get("no_records") or []:
        hits = [r for r in tr["records"] if matches(unwanted, r)]
        if hits:
            score -= FORBIDDEN_PENALTY
            diffs.append(f"Should not happen in this case: {_record_words(unwanted)} was recorded.")
    return Score(max(0, min(100, round(score))), diffs, matched)


def score_session(case: PracticeCase, session: CallSession) -> Score:
    return score_trace(case, trace(session))


def run_practice_case(lib: FlowLibrary, case: PracticeCase, practice_db: str | Path,
                      events: list[Any] | None = None, clock: Clock | None = None) -> tuple[Score, dict[str, Any]]:
    """Run `events` (default: the case's model solution) as the trainee and score the call."""
    from callguide.engine.clock import FixedClock

    session, store = start_practice(lib, practice_db, case,
                                    clock=clock or FixedClock("2026-11-22T10:00:00+00:00", step_seconds=1))
    try:
        tr = run_events(session, list(case.solution if events is None else events))
        return score_trace(case, tr), tr
    finally:
        store.close()
