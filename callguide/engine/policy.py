"""What must not happen on a call, decided in one place (PROTOCOLS.md §3).

The engine asks this module before every step change, action and interrupt; it
refuses and journals a `blocked` entry with the rule and the reason. Pure functions
over `CallState`; no I/O, no Qt.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from callguide.flow.model import PRIORITIES, Flow, Step


@dataclass
class CallState:
    """The live facts the rules read. `hold_active` includes holds from earlier calls."""

    capacity_doubt: bool = False
    hold_active: bool = False
    hold_until: str | None = None
    crisis: bool = False
    manual_blocks: set[str] = field(default_factory=set)
    call_outcome: str | None = None

    @property
    def collection_blocked(self) -> bool:
        return self.hold_active or self.crisis or bool(self.manual_blocks)

    def as_namespace(self) -> dict[str, object]:
        return {
            "capacity_doubt": self.capacity_doubt,
            "hold_active": self.hold_active,
            "crisis": self.crisis,
            "collection_blocked": self.collection_blocked,
        }


@dataclass(frozen=True)
class Refusal:
    rule: str      # stable id, translated by the UI
    reason: str    # plain English, one line (journalled)
    params: dict[str, object] = field(default_factory=dict)  # details for a translated message


def collection_refusal(state: CallState) -> Refusal | None:
    if state.crisis:
        return Refusal("crisis", "A crisis is active on this call: no collection.")
    if state.hold_active:
        until = f" until {state.hold_until}" if state.hold_until else ""
        return Refusal("hold-active", f"The account is on hold{until}: no collection.",
                       {"until": state.hold_until} if state.hold_until else {})
    if state.manual_blocks:
        return Refusal("collection-blocked",
                       "Collection is blocked on this call (" + ", ".join(sorted(state.manual_blocks)) + ").",
                       {"reasons": sorted(state.manual_blocks)})
    return None


def payment_refusal(state: CallState) -> Refusal | None:
    if state.capacity_doubt:
        return Refusal("capacity-doubt",
                       "A doubt about the customer's capacity to decide is open: no payment decision on this call.")
    return collection_refusal(state)


def step_refusal(step: Step, state: CallState) -> Refusal | None:
    """May the call enter this step now?"""
    if step.category == "payment":
        return payment_refusal(state)
    if step.category == "collection":
        return collection_refusal(state)
    return None


def protocol_refusal(flow: Flow, state: CallState) -> Refusal | None:
    """May this protocol start now? A payment protocol needs what payment needs."""
    if flow.priority == "payment":
        return payment_refusal(state)
    start = flow.step(flow.start) if flow.has_step(flow.start) else None
    return step_refusal(start, state) if start is not None else None


def interrupt_refusal(new: Flow, running: list[Flow]) -> Refusal | None:
    """An interrupt may not jump over a protocol of higher priority (BLAKE always goes).

    `general` flows (the care-team referral) are hand-overs, not protocols: always allowed,
    so that a referral is one click away from anywhere.
    """
    if not running:
        return None
    rank = PRIORITIES.get(new.priority, 0)
    for flow in running:
        if flow.id == new.id:
            return Refusal("already-running", f"{new.id.upper()} is already running on this call.",
                           {"protocol": new.id})
    if new.priority == "general":
        return None
    top = max(running, key=lambda f: f.priority_rank)
    if top.priority_rank > rank:
        return Refusal("priority",
                       f"{top.id.upper()} is in progress and comes first; finish it before {new.id.upper()}.",
                       {"running": top.id, "requested": new.id})
    return None
