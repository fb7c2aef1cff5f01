"""The protocol stack: running protocols (`Frame`s), each positioned by a `transitions` machine.

One `Machine` per flow version (kept in the stack's own `MachineCache`), one model per frame; no
hierarchical machine, so step ids may contain `_` and `-` freely. "Interrupt, then resume exactly"
is the stack: the frame underneath keeps its step while another protocol runs on top. The stack
only moves positions; whether a move is allowed is the gate's business. No Qt, no journal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from transitions import Machine

from callguide.flow.model import Flow, Step


class _Runner:
    """The `transitions` model of one frame (only its `state` matters)."""

    state: str


class MachineCache:
    """One `transitions.Machine` per flow version, built on first use."""

    def __init__(self) -> None:
        self._machines: dict[str, Machine] = {}

    def get(self, flow: Flow) -> Machine:
        key = flow.content_hash or flow.id
        m = self._machines.get(key)
        if m is None:
            m = Machine(model=None, states=[s.id for s in flow.steps], initial=flow.start,
                        auto_transitions=False, send_event=False)
            for s in flow.steps:
                for i, t in enumerate(s.transitions):
                    m.add_transition(f"cg_t{i}", source=s.id, dest=t.to)
            self._machines[key] = m
        return m


@dataclass
class Frame:
    serial: int
    flow: Flow
    runner: _Runner
    history: list[str] = field(default_factory=list)  # committed interactive steps, for Back
    pending_choice: str | None = None
    waiting_on_child: bool = False
    outcome: str | None = None

    @property
    def step_id(self) -> str:
        return self.runner.state

    @property
    def step(self) -> Step:
        return self.flow.step(self.runner.state)


class ProtocolStack:
    """The running protocols of one call, bottom first."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.machines = MachineCache()
        self._serial = 0

    def __bool__(self) -> bool:
        return bool(self.frames)

    def __len__(self) -> int:
        return len(self.frames)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.frames)

    def __getitem__(self, i: int) -> Frame:
        return self.frames[i]

    @property
    def top(self) -> Frame | None:
        return self.frames[-1] if self.frames else None

    def flows(self) -> list[Flow]:
        return [f.flow for f in self.frames]

    def ids(self) -> list[str]:
        return [f.flow.id for f in self.frames]

    def push(self, flow: Flow) -> Frame:
        self._serial += 1
        runner = _Runner()
        self.machines.get(flow).add_model(runner, initial=flow.start)
        frame = Frame(self._serial, flow, runner)
        self.frames.append(frame)
        return frame

    def pop(self, frame: Frame) -> None:
        self.frames.remove(frame)
        self.machines.get(frame.flow).remove_model(frame.runner)

    def fire(self, frame: Frame, index: int) -> None:
        """Take transition `index` of the frame's step (the `transitions` trigger)."""
        getattr(frame.runner, f"cg_t{index}")()

    def set_step(self, frame: Frame, step_id: str) -> None:
        """Put the frame on a step directly (Back, a `when_blocked` route)."""
        if frame.runner.state != step_id:
            self.machines.get(frame.flow).set_state(step_id, model=frame.runner)
