"""Plain helpers for the workbench views: which step a diagnostic belongs to, and what to
highlight on each step (no Qt here, so they are easy to test)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from callguide.flow.model import Flow, Text
from callguide.flow.yamlsafe import Diagnostic


def step_for_line(flow: Flow, line: int) -> str | None:
    """The id of the step whose YAML block contains `line` (None: the flow header)."""
    best = None
    for s in flow.steps:
        if s.pos.line and s.pos.line <= line:
            best = s.id
    return best


@dataclass
class StepMarks:
    unreachable: bool = False
    dead_end: bool = False
    invariant: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def step_marks(flow: Flow, diags: list[Diagnostic]) -> dict[str, StepMarks]:
    """step id -> what the graph should highlight on it."""
    out: dict[str, StepMarks] = {s.id: StepMarks() for s in flow.steps}
    path_re = re.compile(rf"\b{re.escape(flow.id)}/([a-z][a-z0-9_-]*)")
    for d in diags:
        sid = None
        if d.rule.startswith("invariant:"):
            m = path_re.search(d.message.split(":", 1)[-1])
            sid = m.group(1) if m and m.group(1) in out else step_for_line(flow, d.line)
            if sid in out:
                out[sid].invariant.append(d.message)
            continue
        sid = step_for_line(flow, d.line)
        if sid not in out:
            continue
        if d.rule == "unreachable-step":
            out[sid].unreachable = True
        elif d.rule == "dead-end":
            out[sid].dead_end = True
        if d.severity == "error":
            out[sid].errors.append(f"{d.rule}: {d.message}")
        else:
            out[sid].warnings.append(f"{d.rule}: {d.message}")
    return out


def text_slots(flow: Flow) -> list[tuple[Text, str | None, str | None]]:
    """Every text of the flow with the (step id, slot) a form edit uses; (None, None) for flow-level texts."""
    out: list[tuple[Text, str | None, str | None]] = [(flow.title, None, None), (flow.description, None, None)]
    for i in flow.interrupts:
        out.append((i.label, None, None))
    for s in flow.steps:
        if s.say is not None:
            out.append((s.say, s.id, "say"))
        if s.guidance is not None:
            out.append((s.guidance, s.id, "guidance"))
        if s.consent is not None:
            out.append((s.consent.wording, s.id, "consent.wording"))
        for f in s.fields:
            out.append((f.label, s.id, f"fields.{f.id}.label"))
            if f.help is not None:
                out.append((f.help, s.id, f"fields.{f.id}.help"))
            out.extend((c.label, None, None) for c in f.choices)
        for n, t in enumerate(s.transitions):
            if t.label is not None:
                out.append((t.label, s.id, f"transitions.{n}.label"))
    return out
