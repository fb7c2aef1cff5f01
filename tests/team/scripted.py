"""Scripted calls for team-mode tests and benchmarks: realistic entry sequences written to a
real local journal through its own `append_many` (the durable path the engine uses)."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import uuid
from collections.abc import Iterator
from typing import Any

from callguide.store.base import NewEntry


class Clock:
    def __init__(self, start: str = "2026-11-22T09:00:00+00:00", step_ms: int = 700) -> None:
        self.now = dt.datetime.fromisoformat(start)
        self.step = dt.timedelta(milliseconds=step_ms)

    def tick(self) -> str:
        self.now += self.step
        return self.now.isoformat(timespec="milliseconds")


def call_steps(account: str, agent: str, clock: Clock, rng: random.Random, *, extra: str | None = None,
               steps: int = 4) -> Iterator[list[NewEntry]]:
    """One call as a list of operations (each a list of entries written in one transaction)."""
    call_id = uuid.UUID(int=rng.getrandbits(128)).hex

    def e(type_: str, data: dict[str, Any], step: str | None = None) -> NewEntry:
        return NewEntry(type=type_, call_id=call_id, account_id=account, agent=agent, flow_id="call-opening",
                        flow_hash="ab" * 32, step_id=step, data=data, ts=clock.tick())

    yield [e("call_started", {"account": {"id": account, "name": "Test Person", "country": "UK", "lang": "en",
                                          "balance": "1200.00", "currency": "GBP"},
                              "start_flow": "call-opening", "lang": "en", "practice": False})]
    for i in range(steps):
        step = f"step-{i}"
        yield [e("step_shown", {"kind": "ask", "say": "Is now a good time?", "guidance": "Listen.", "lang": "en"},
                 step)]
        yield [e("answer", {"field": f"f{i}", "value": "yes", "sensitivity": "none",
                            "input": {"answer": {f"f{i}": "yes"}}}, step),
               e("step_committed", {"choice": "yes", "to": f"step-{i + 1}", "input": {"next": "yes"}}, step)]
    if extra == "vulnerability":
        yield [e("consent", {"purpose": "health_disclosure", "decision": "given", "wording_hash": "cd" * 32,
                             "wording_lang": "en", "wording": "May I note that?", "input": {"consent": "given"}},
                 "consent")]
        yield [e("answer", {"field": "condition", "value": "depression", "sensitivity": "special",
                            "input": {"answer": {"condition": "depression"}}}, "ask"),
               e("vulnerability", {"fields": {"condition": "depression"}, "category": "mental_health",
                                   "review_date": "2027-02-01", "consent": "health_disclosure"}, "record")]
    elif extra == "capacity_doubt":
        yield [e("capacity_doubt", {"reason": "BRUCE: doubt remains"}, "doubt"),
               e("hold_started", {"days": 30, "until": "2026-12-22", "reason": "capacity review"}, "doubt"),
               e("escalation", {"kind": "care_team", "reason": "BRUCE: doubt remains"}, "doubt")]
    elif extra == "blake":  # as the engine writes it: the emergency opens a crisis, then the escalation
        yield [e("crisis", {"reason": "emergency", "review_date": "2026-12-22"}, "blake"),
               e("escalation", {"kind": "emergency", "reason": "BLAKE", "number": "999"}, "blake"),
               e("escalation", {"kind": "supervisor", "reason": "BLAKE"}, "blake")]
    yield [e("outcome", {"code": "promise_to_pay"}, "wrap"),
           e("call_ended", {"outcome": "promise_to_pay", "summary": "ok"}, "wrap")]


def run_calls(journal: Any, agent: str, calls: int, *, seed: int = 1, accounts: int = 50,
              clock: Clock | None = None, extra_every: int = 5) -> int:
    """Write `calls` scripted calls to `journal`; returns the number of entries written."""
    rng = random.Random(seed)
    clock = clock or Clock()
    n = 0
    extras = itertools.cycle(["vulnerability", "capacity_doubt", "blake"])
    for c in range(calls):
        extra = next(extras) if extra_every and c % extra_every == 0 else None
        account = f"ACC-{rng.randrange(accounts)}"
        for op in call_steps(account, agent, clock, rng, extra=extra):
            journal.append_many(op)
            n += len(op)
    return n
