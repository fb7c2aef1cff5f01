"""Order invariants at run time: the same `requires_before` and `no_path` declarations the
validator proves on the graph, checked by the gate on the way into every step.

- `requires_before {target, via}`: the call may land on a `target` step only after it has passed a
  `via` step (or run a `via` action) earlier in this call.
- `no_path {from, to, unless}`: after a `from` step or action, the call may not land on a `to` step
  until an `unless` step or action has happened.

Selectors are those of the flow language: `step:ID`, `step:FLOW/ID`, `flow:ID`,
`category:payment|collection`, `action:NAME`. The tracker only records what happened (nodes
entered, actions run); `refusal` is a pure read. No I/O, no Qt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from callguide.engine.policy import Refusal
from callguide.flow.model import Flow, Step


@dataclass(frozen=True)
class Selector:
    kind: str
    flow: str | None
    arg: str

    @classmethod
    def parse(cls, src: str, own_flow: str) -> Selector:
        kind, _, arg = src.partition(":")
        if kind == "step":
            fid, _, sid = arg.rpartition("/")
            return cls("step", fid or own_flow, sid)
        return cls(kind, None, arg)

    def matches_node(self, flow_id: str, step: Step) -> bool:
        if self.kind == "step":
            return flow_id == self.flow and step.id == self.arg
        if self.kind == "flow":
            return flow_id == self.arg
        if self.kind == "category":
            return step.category == self.arg
        return False

    def matches_action(self, name: str) -> bool:
        return self.kind == "action" and name == self.arg

    def __str__(self) -> str:
        if self.kind == "step":
            return f"step:{self.flow}/{self.arg}"
        return f"{self.kind}:{self.arg}"


@dataclass(frozen=True)
class OrderRule:
    id: str
    kind: str                 # requires_before | no_path
    target: Selector          # requires_before target / no_path to
    first: Selector           # requires_before via / no_path from
    unless: Selector | None = None


def compile_rules(flows: Mapping[str, Flow]) -> tuple[OrderRule, ...]:
    out: list[OrderRule] = []
    for f in flows.values():
        for inv in f.invariants:
            p = inv.params
            try:
                if inv.kind == "requires_before" and p.get("target") and p.get("via"):
                    out.append(OrderRule(inv.id, inv.kind, Selector.parse(str(p["target"]), f.id),
                                         Selector.parse(str(p["via"]), f.id)))
                elif inv.kind == "no_path" and p.get("from") and p.get("to"):
                    out.append(OrderRule(inv.id, inv.kind, Selector.parse(str(p["to"]), f.id),
                                         Selector.parse(str(p["from"]), f.id),
                                         Selector.parse(str(p["unless"]), f.id) if p.get("unless") else None))
            except (TypeError, ValueError):  # pragma: no cover - the validator reports bad selectors
                continue
    return tuple(out)


class OrderTracker:
    """What this call has passed, against the library's order rules."""

    def __init__(self, flows: Mapping[str, Flow]):
        self.rules = compile_rules(flows)
        self.passed: set[str] = set()      # requires_before rules whose `via` has happened
        self.armed: set[str] = set()       # no_path rules whose `from` happened with no `unless` since

    def _event(self, node: tuple[str, Step] | None, action: str | None) -> None:
        for r in self.rules:
            def hit(sel: Selector | None) -> bool:
                if sel is None:
                    return False
                return sel.matches_node(*node) if node is not None else sel.matches_action(action or "")
            if r.kind == "requires_before":
                if hit(r.first):
                    self.passed.add(r.id)
            else:
                if hit(r.unless):
                    self.armed.discard(r.id)
                elif hit(r.first):
                    self.armed.add(r.id)

    def entered(self, flow_id: str, step: Step) -> None:
        if self.rules:
            self._event((flow_id, step), None)

    def acted(self, name: str) -> None:
        if self.rules:
            self._event(None, name)

    def refusal(self, flow_id: str, step: Step) -> Refusal | None:
        """Would landing on this step break an order rule now?"""
        for r in self.rules:
            if not r.target.matches_node(flow_id, step):
                continue
            if r.kind == "requires_before" and r.id not in self.passed:
                return Refusal("requires-before", f"Not yet: {flow_id}/{step.id} comes only after {r.first} "
                               f"(invariant {r.id}).", {"invariant": r.id, "via": str(r.first)})
            if r.kind == "no_path" and r.id in self.armed:
                after = f"; {r.unless} lifts it" if r.unless else ""
                return Refusal("no-path", f"Not allowed after {r.first} on this call (invariant {r.id}){after}.",
                               {"invariant": r.id, "after": str(r.first)})
        return None
