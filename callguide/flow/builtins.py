"""The built-in invariants: they hold for every flow without being declared (docs/flow-language.md).

Consent before special capture, every step can reach an outcome, the library's BLAKE one action
away from every step, and every guarded step has a `when_blocked` route to an unguarded one. A flow
opts out of one only with a waiver and its reason, which is printed as a note. Run by the validator
(`callguide.flow.validate`) after the declared invariants, on the same graphs. Never imports Qt,
the engine or the store.
"""

from __future__ import annotations

from typing import Any

from callguide.flow.graph import BLOCK, CRISIS, DOUBT, HOLD, Node, node_id
from callguide.flow.model import Flow, Invariant


def check_builtins(v: Any) -> None:
    """Invariants that hold for every flow without being declared (a flow may waive one, with a
    reason, which is printed as a note): consent before special capture, every path ends in an
    outcome, BLAKE one action away, and no guarded step shown in a state that forbids it."""
    declared = {(f.id, inv.kind) for f in v.lib.flows.values() for inv in f.invariants}
    oaa = {inv.params.get("protocol") for f in v.lib.flows.values() for inv in f.invariants
           if inv.kind == "one_action_away"}
    blake = sorted(f.id for f in v.lib.flows.values() if f.priority == "blake" and f.id not in oaa)
    for f in v.lib.flows.values():
        for w in f.waivers:
            v.add(w.pos, "waiver", f"{f.id} opts out of the built-in invariant {w.invariant}: {w.reason}",
                     "note")
        waived = {w.invariant for w in f.waivers}

        def pseudo(kind: str, f: Flow = f) -> Invariant:
            return Invariant(id=f"builtin:{kind}", kind=kind, pos=f.pos)

        if "consent_before_special" not in waived and (f.id, "consent_before_special") not in declared:
            v.consent_before_special(f, pseudo("consent_before_special"), "invariant:consent_before_special")
        if "ends_in_outcome" not in waived and (f.id, "ends_in_outcome") not in declared:
            v.ends_in_outcome(f, pseudo("ends_in_outcome"), "invariant:ends_in_outcome")
        if "one_action_away" not in waived:
            for b in blake:
                blake_one_action_away(v, f, b)
        if "collection_state" not in waived:
            collection_state(v, f)

def blake_one_action_away(v: Any, f: Flow, protocol: str) -> None:
    ids = {i.id for i in v.interrupts.values() if i.protocol == protocol}
    for s in f.steps:
        if not ids - set(s.suppress_interrupts):
            why = f"no global interrupt starts '{protocol}'" if not ids else \
                f"interrupt {', '.join(sorted(ids))} is suppressed"
            v.add(s.pos, "invariant:one_action_away", f"invariant builtin:one_action_away: {protocol} is not "
                     f"one action away at {f.id}/{s.id}: {why}")

PROTECTIONS = ((DOUBT, "a capacity doubt"), (HOLD, "a hold"), (CRISIS, "a crisis"), (BLOCK, "a collection block"))

def collection_state(v: Any, f: Flow) -> None:
    """Every guarded step has a `when_blocked` route to a step that is not guarded itv."""
    g = v.graph
    rule = "invariant:collection_state"
    for s in f.steps:
        n = node_id(f, s)
        if g.steps.get(n, (None, None))[1] is not s:
            continue
        reqs = sorted(g.guards.requirements(f, s))
        if not reqs:
            continue
        route = f.route_when_blocked(s)
        if route is None:
            v.add(s.pos, rule, f"step '{s.id}' needs {' and '.join(reqs)} but has no when_blocked route: "
                     f"{why_blocked(v, n)}; add `when_blocked: STEP` to the step or the flow")
        elif route == s.id:
            v.add(s.pos, rule, f"step '{s.id}': when_blocked leads back to the step itself")
        elif f.has_step(route) and g.guards.requirements(f, f.step(route)):
            v.add(s.pos, rule, f"step '{s.id}': its when_blocked route '{route}' is guarded too "
                     f"({', '.join(sorted(g.guards.requirements(f, f.step(route))))}); route to a step the call "
                     "may always show")

def why_blocked(v: Any, n: Node) -> str:
    sg = v.states
    breaks = sg.breaks.get(n, 0)
    for p in sg.interrupts_at.get(n, ()):
        for st in sg.summary(p, 0, lambda _n: False, ("why",)):
            bad = [w for bit, w in PROTECTIONS if bit & st & breaks]
            if bad:
                return (f"{p.upper()} can interrupt here and leaves {' and '.join(bad)} behind, so the call "
                        "would come back to this step when it is not allowed")
    return "a hold, a crisis, a dispute or a capacity doubt from an earlier call forbids it on any call"
