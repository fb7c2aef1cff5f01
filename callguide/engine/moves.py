"""`Navigator`: how a call moves between steps and protocols, with the gate at every door.

Every way onto a step goes through `land` or `advance`, which ask the gate first: a step that is
not allowed now is never shown — the call takes the step's (or its flow's) `when_blocked` route
instead, journalled as `blocked` with `rerouted`, or, with no route, the protocol ends there. An
explicit answer (a choice on an ask step) that would lead onto such a step is refused instead, so
the button stays disabled with its reason. Decisions, and action steps that only hand over to the
next protocol, run by themselves. No Qt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from callguide.engine.actions import execute
from callguide.engine.commands import Result
from callguide.engine.context import ActionContext
from callguide.engine.policy import Refusal
from callguide.flow.model import Action, Step, Transition
from callguide.store import entry_types as et

if TYPE_CHECKING:
    from callguide.engine.session import CallSession
    from callguide.engine.stack import Frame

WRAP_UP_FLOW = "wrap-up"


def is_handover(step: Step) -> bool:
    """A content-free action step that only starts the next protocol: it runs by itself."""
    return (step.kind == "action" and step.say is None and not step.fields and len(step.actions) == 1
            and step.actions[0].name == "start_protocol")


class Navigator:
    """Pushes and pops protocols and moves frames, for one session."""

    def __init__(self, session: CallSession) -> None:
        self.s = session

    # ------------------------------------------------------------------ protocols

    def push(self, flow_id: str, cause: str) -> None:
        s = self.s
        flow = s.flows[flow_id]
        under = s.stack.top
        frame = s.stack.push(flow)
        if flow.id == WRAP_UP_FLOW:
            s.wrap_up_started = True
        s.emit(et.PROTOCOL_STARTED, {"protocol": flow.id, "version": flow.version, "cause": cause,
                                    "over": {"flow": under.flow.id, "step": under.step_id} if under else None},
               frame, step_id=flow.start)
        s.journal.notify("stack_changed", {"stack": s.stack.ids()})
        pushes = self.run_actions(frame, flow.on_start, key_step="@start")
        self.land(frame, flow.start)
        for target in pushes:
            self.push(target, cause="on_start")

    def pop(self, frame: Frame, blocked: str | None = None) -> None:
        s = self.s
        s.stack.pop(frame)
        s.outcomes.append(f"{frame.flow.id}/{frame.outcome}")
        if frame.serial == 1:
            s.root_outcome = frame.outcome
        under = s.stack.top
        data: dict[str, Any] = {"protocol": frame.flow.id, "outcome": frame.outcome,
                                "resumes": {"flow": under.flow.id, "step": under.step_id} if under else None}
        if blocked:
            data["blocked"] = blocked
        s.emit(et.PROTOCOL_ENDED, data, frame)
        s.journal.notify("stack_changed", {"stack": s.stack.ids()})

    def after_pop(self, handovers: list[str] | tuple[str, ...] = ()) -> None:
        s = self.s
        if handovers:  # one protocol per step (validator rule one-protocol-per-step)
            self.push(handovers[0], cause="handover")
            return
        under = s.stack.top
        if under is None:
            if s.auto_wrap_up and WRAP_UP_FLOW in s.flows and not s.wrap_up_started:
                self.push(WRAP_UP_FLOW, cause="wrap-up")
            else:
                s.flows_complete = True
            return
        if under.waiting_on_child:
            under.waiting_on_child = False
            self.advance(under, under.pending_choice)
        else:  # the step underneath an interrupt is shown again: through the gate, like any other
            self.land(under, under.step_id, resumed=True)

    # ------------------------------------------------------------------ steps

    def land(self, frame: Frame, step_id: str, resumed: bool = False) -> Result:
        """Show `step_id` on `frame` if the gate allows it now; else take its `when_blocked` route."""
        step = frame.flow.step(step_id)
        refusal = self.s.gate.landing(frame.flow, step)
        if refusal is not None:
            return self.reroute(frame, step, refusal)
        self.s.stack.set_step(frame, step_id)
        self.show(frame, step, resumed=resumed)
        return Result()

    def reroute(self, frame: Frame, step: Step, refusal: Refusal) -> Result:
        s = self.s
        flow = frame.flow
        route = flow.route_when_blocked(step)
        target = flow.step(route) if route and route != step.id and flow.has_step(route) else None
        if target is not None and s.gate.landing(flow, target) is not None:
            target = None
        self.refuse(frame, f"enter:{flow.id}/{step.id}", refusal,
                    rerouted=f"{flow.id}/{target.id}" if target is not None else None)
        if target is not None:
            s.stack.set_step(frame, target.id)
            self.show(frame, target)
        else:  # nowhere to go in this protocol: it ends here, and the call goes on underneath
            frame.outcome = None
            self.pop(frame, blocked=refusal.rule)
            self.after_pop()
        return Result(True, refusal.rule, refusal.reason, params=dict(refusal.params), rerouted=True)

    def recheck(self) -> None:
        """After a command changed the protections: is the step on screen still allowed?"""
        top = self.s.stack.top
        if top is None or top.waiting_on_child:
            return
        refusal = self.s.gate.landing(top.flow, top.step)
        if refusal is not None:
            self.reroute(top, top.step, refusal)

    def show(self, frame: Frame, step: Step, resumed: bool = False) -> None:
        s = self.s
        flow = frame.flow
        s.visited.append(f"{flow.id}/{step.id}")
        s.order.entered(flow.id, step)
        say = guidance = ""
        verbatim: list[str] = []
        if s.journal.recording:  # what the agent was shown (rendered once, with only the names it reads)
            say, guidance = s.facts.render(step.say), s.facts.render(step.guidance)
            # the flow's own words (no template in them) name nobody: stored as they are, not sealed
            verbatim = [k for k, t, text in (("say", step.say, say), ("guidance", step.guidance, guidance))
                        if text and t is not None and "{" not in t.get(s.facts.lang)]
        s.emit(et.STEP_SHOWN, {"kind": step.kind, "say": say, "guidance": guidance, "lang": s.facts.lang,
                              **({"flow_text": verbatim} if verbatim else {}),
                              **({"resumed": True} if resumed else {})}, frame, step.id)
        s.journal.notify("step_entered", {"flow": flow.id, "step": step.id})
        if resumed:
            return
        if step.kind == "decision":
            self.advance(frame, None)
        elif is_handover(step) and str(step.actions[0].params.get("flow")) in s.flows:
            self.hand_over(frame, step)

    def hand_over(self, frame: Frame, step: Step) -> None:
        """Run a content-free hand-over step by itself (journalled like a Next)."""
        s = self.s
        if s.gate.actions(step.actions) is not None:
            return  # shown; Next stays disabled with the reason
        s.emit(et.STEP_COMMITTED, {"choice": None, "auto": True}, frame)
        pushes = self.run_actions(frame, step.actions, key_step=step.id)
        if pushes:
            frame.pending_choice = None
            frame.waiting_on_child = True
            self.push(pushes[0], cause=f"{frame.flow.id}/{step.id}")
        else:
            self.advance(frame, None)

    # ------------------------------------------------------------------ moving on

    def select(self, step: Step, choice: str | None) -> tuple[int, Transition] | Result:
        if choice is None and step.kind == "ask":
            return Result(False, "choose", "Choose one of the answers first.")
        if choice is not None and not any(t.id == choice for t in step.transitions):
            return Result(False, "unknown-choice", f"{choice!r} is not an answer on this step.",
                          params={"choice": choice})
        for i, t in enumerate(step.transitions):
            if choice is not None and t.id != choice:
                continue
            if t.when is None or self.s.facts.condition(t.when):
                return i, t
        if choice is not None:
            return Result(False, "choice-unavailable", "That answer does not apply here.")
        return Result(False, "no-way-on", "No next step applies; check the answers on this step.")

    def advance(self, frame: Frame, choice: str | None,
                picked: tuple[int, Transition] | None = None) -> Result:
        s = self.s
        step = frame.step
        if picked is None:
            got = self.select(step, choice)
            if isinstance(got, Result):
                return got
            picked = got
        idx, t = picked
        target = frame.flow.step(t.to)
        if step.kind != "decision" and not is_handover(step):
            frame.history.append(step.id)
        refusal = s.gate.landing(frame.flow, target)
        if refusal is not None:
            return self.reroute(frame, target, refusal)
        s.stack.fire(frame, idx)
        s.taken.append((frame.flow.id, step.id, idx))
        self.show(frame, target)
        return Result()

    def refuse(self, frame: Frame | None, what: str, refusal: Refusal, rerouted: str | None = None) -> None:
        record: dict[str, Any] = {"action": what, "rule": refusal.rule, "reason": refusal.reason}
        if rerouted is not None:
            record["rerouted"] = rerouted
        self.s.blocked.append(record)
        self.s.emit(et.BLOCKED, record, frame)
        self.s.journal.notify("blocked", record)

    def run_actions(self, frame: Frame | None, acts: tuple[Action, ...], key_step: str) -> list[str]:
        """Execute actions once per (frame, step, index); return protocols to start."""
        s = self.s
        pushes: list[str] = []
        for i, a in enumerate(acts):
            key = (frame.serial if frame else 0, key_step, i)
            if key in s.done_actions:
                continue
            s.done_actions.add(key)
            target = execute(ActionContext(s, frame), a)
            s.order.acted(a.name)
            if target:
                pushes.append(target)
        return pushes
