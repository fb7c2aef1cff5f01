"""Which steps are guarded, and by what: one declaration read by the validator and the engine.

A step needs `payment_allowed` when it is `category: payment`, records an arrangement or sets a
payment outcome; `collection_allowed` when it is `category: collection`; and whatever it lists in
`requires:`. A step that starts a protocol needs what that protocol's first step needs (so a
hand-over is never shown when the protocol it hands over to would be refused). The engine's gate
checks these on every way into a step; the validator proves every guarded step has a
`when_blocked` route. Data only: never imports Qt, the engine or the store.
"""

from __future__ import annotations

from collections.abc import Mapping

from callguide.flow.model import Flow, Step

#: What each category implies.
CATEGORY_REQUIRES = {"payment": "payment_allowed", "collection": "collection_allowed"}
#: Outcome codes that say money was agreed: never while payment is not allowed.
PAYMENT_OUTCOMES = frozenset({"arrangement_agreed", "payment_taken", "promise_to_pay"})
#: Actions that need a requirement of their own.
ACTION_REQUIRES = {"record_arrangement": "payment_allowed"}


def own_requirements(step: Step) -> frozenset[str]:
    """What this step itself needs (category, `requires`, its actions), not counting hand-overs."""
    out: set[str] = set(step.requires)
    if step.category in CATEGORY_REQUIRES:
        out.add(CATEGORY_REQUIRES[step.category])
    for a in step.actions:
        if a.name in ACTION_REQUIRES:
            out.add(ACTION_REQUIRES[a.name])
        elif a.name == "set_outcome" and str(a.params.get("code")) in PAYMENT_OUTCOMES:
            out.add("payment_allowed")
    return frozenset(out)


def protocol_requirements(flow: Flow) -> frozenset[str]:
    """What starting this protocol needs: a payment protocol needs payment to be allowed."""
    return frozenset({"payment_allowed"}) if flow.priority == "payment" else frozenset()


class GuardIndex:
    """Requirements of every step of a set of flows, hand-overs included (computed once)."""

    def __init__(self, flows: Mapping[str, Flow]):
        self.flows = flows
        self._cache: dict[tuple[str, str], frozenset[str]] = {}

    def requirements(self, flow: Flow, step: Step) -> frozenset[str]:
        key = (flow.id, step.id)
        got = self._cache.get(key)
        if got is None:
            got = self._compute(flow, step, set())
        return got

    def _compute(self, flow: Flow, step: Step, seen: set[tuple[str, str]]) -> frozenset[str]:
        key = (flow.id, step.id)
        if key in self._cache:
            return self._cache[key]
        if key in seen:
            return frozenset()
        seen.add(key)
        out = set(own_requirements(step))
        for a in step.actions:
            if a.name != "start_protocol":
                continue
            target = self.flows.get(str(a.params.get("flow")))
            if target is None or not target.has_step(target.start):
                continue
            out |= protocol_requirements(target)
            out |= self._compute(target, target.step(target.start), seen)
        result = frozenset(out)
        self._cache[key] = result
        return result

    def is_guarded(self, flow: Flow, step: Step) -> bool:
        return bool(self.requirements(flow, step))
