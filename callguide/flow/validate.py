"""Semantic validation of a flow library: every problem at once, each at file:line:col.

Rule ids: unknown-target, unknown-flow, unknown-interrupt, unknown-field, unknown-consent,
unreachable-step, dead-end, duplicate-id, undefined-name, bad-expression, unknown-action,
bad-action-params, missing-translation, consent-required, choice-without-label, bad-field,
bad-selector, waiver (a note), instruction-in-say (a warning: "[Summarise the next steps]" or "[your
name]" inside text read aloud) and `invariant:<kind>` for the invariants, declared or built in
(`flow/builtins.py`; proved over `graph.LibraryGraph` and the protections-carrying `graph.StateGraph`).
Loading adds the yaml-*, bad-utf8, file-too-large, duplicate-key, schema, io and signposts rules.

Never imports Qt, the engine or the store; expressions are parsed, never evaluated.
"""

from __future__ import annotations

import difflib
import os
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import fields, is_dataclass
from typing import Any

from callguide.flow import expr
from callguide.flow.actions import ACTION_SPECS, params_validator
from callguide.flow.builtins import check_builtins
from callguide.flow.graph import (
    LibraryGraph,
    Node,
    StateGraph,
    format_path,
    node_id,
    path_to,
    reachable,
    state_path,
)
from callguide.flow.loader import load_library
from callguide.flow.model import Action, Flow, FlowLibrary, Pos, Step, Text
from callguide.flow.yamlsafe import Diagnostic

__all__ = ["RULES", "GraphMemo", "validate_library", "validate_paths"]

RULES = (
    "unknown-target", "unknown-flow", "unknown-interrupt", "unknown-field", "unknown-consent",
    "unreachable-step", "dead-end", "duplicate-id", "undefined-name", "bad-expression", "unknown-action",
    "bad-action-params", "missing-translation", "consent-required", "choice-without-label", "bad-field",
    "bad-selector", "one-protocol-per-step", "instruction-in-say", "invariant:requires_before", "invariant:no_path", "invariant:one_action_away",
    "invariant:consent_before_special", "invariant:ends_in_outcome", "invariant:collection_state", "waiver",
)

try:  # names Jinja2 provides to every template (range, dict, ...)
    _JINJA_GLOBALS = frozenset(expr._env.globals)
except AttributeError:  # pragma: no cover
    _JINJA_GLOBALS = frozenset()


def _has_template_syntax(s: str) -> bool:
    return "{" in s


_TEMPLATE_PART = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)  # `x[key]` inside a template is code
_BRACKETED = re.compile(r"\[[^\[\]]*?\w[^\[\]]*?\]")


#: the validator's whole-library graph searches (invariant paths, consent gates, interrupt reach): they
#: read only the library's shape, so `GraphMemo` may carry them from one validation to the next
_SHAPE_KEYS = frozenset({"rb", "np", "oaa", "cbs"})
#: what a flow's shape leaves out: words and places, which no graph search reads
_NOT_SHAPE = frozenset({"pos", "start_pos", "source_text", "content_hash", "path"})


def _shape(x: Any) -> Any:
    """A hashable picture of everything in a model object except its texts and positions."""
    if isinstance(x, (Text, Pos)):
        return None
    if is_dataclass(x) and not isinstance(x, type):
        return (type(x).__name__, *(_shape(getattr(x, f.name)) for f in fields(x) if f.name not in _NOT_SHAPE))
    if isinstance(x, dict):
        return ("{}", *((k, _shape(v)) for k, v in x.items()))
    if isinstance(x, (list, tuple, set, frozenset)):
        items = tuple(_shape(v) for v in x)
        return ("[]", *(sorted(items, key=repr) if isinstance(x, (set, frozenset)) else items))
    return x


class GraphMemo:
    """Keeps the validator's whole-library graph searches between validations of the same library
    shape (the workbench's live diagnostics: a keystroke in a say text changes no step, transition,
    action, guard or interrupt, so the invariant proofs of the last pass still hold).

    The shape is every field of every flow except its texts and positions, in library order; any
    other change (a transition, an action's parameter, a `when`, an interrupt, a new flow) computes
    everything again. Diagnostics are always produced afresh: only search results are carried, so
    positions and wording in messages are the current text's. Never used by the publish gates or
    `callguide validate`, which validate from scratch."""

    def __init__(self) -> None:
        self._flow_shapes: dict[int, tuple[Flow, Any]] = {}
        self.signature: Any = None
        self.results: dict[Any, Any] = {}
        self.hits = 0

    def library_shape(self, lib: FlowLibrary) -> Any:
        shapes: dict[int, tuple[Flow, Any]] = {}
        out = []
        for fid, f in lib.flows.items():
            got = self._flow_shapes.get(id(f))
            if got is None or got[0] is not f:
                got = (f, _shape(f))
            shapes[id(f)] = got
            out.append((fid, got[1]))
        self._flow_shapes = shapes  # only the flows of this library are kept alive
        return tuple(out)


class _Validator:
    def __init__(self, lib: FlowLibrary, memo: GraphMemo | None = None):
        self.lib = lib
        self.diags: list[Diagnostic] = []
        self.fields = lib.fields()
        self.names = frozenset(self.fields) | expr.RESERVED_NAMES | _JINJA_GLOBALS
        self.hint_names = frozenset(self.fields) | {"account", "consent", "consent_given", "state", "signposts", "call"}
        self.interrupts = lib.interrupts
        self.purposes: dict[str, list[tuple[Flow, Step]]] = {}
        for f in lib.flows.values():
            for s in f.steps:
                if s.consent is not None:
                    self.purposes.setdefault(s.consent.purpose, []).append((f, s))
        self._graph: LibraryGraph | None = None
        self._states: StateGraph | None = None
        self._cache: dict[Any, Any] = {}
        self.dup_flows: set[str] = set()
        self.memo = memo
        self._signature: Any = None
        if memo is not None:
            self._signature = memo.library_shape(lib)
            if memo.signature == self._signature:
                self._cache.update(memo.results)
                memo.hits += 1

    @property
    def graph(self) -> LibraryGraph:
        if self._graph is None:
            self._graph = LibraryGraph(self.lib)
        return self._graph

    @property
    def states(self) -> StateGraph:
        if self._states is None:
            self._states = StateGraph(self.graph)
        return self._states

    def add(self, pos: Pos, rule: str, msg: str, severity: str = "error") -> None:
        self.diags.append(Diagnostic(pos.file, pos.line, pos.col, rule, msg, severity))

    # ----------------------------------------------------------------- run

    def run(self) -> list[Diagnostic]:
        self.library_duplicates()
        for f in self.lib.flows.values():
            self.flow(f)
        self.text_ids()
        for f in self.lib.flows.values():
            for inv in f.invariants:
                self.invariant(f, inv)
        check_builtins(self)
        if self.memo is not None:
            self.memo.signature = self._signature
            self.memo.results = {k: v for k, v in self._cache.items() if k[0] in _SHAPE_KEYS}
        return self.diags

    def library_duplicates(self) -> None:
        seen: dict[str, Pos] = {}
        hot: dict[str, tuple[str, Pos]] = {}
        for f in self.lib.flows.values():
            for i in f.interrupts:
                if i.id in seen:
                    self.add(i.pos, "duplicate-id", f"interrupt id '{i.id}' is already used at {seen[i.id]}")
                else:
                    seen[i.id] = i.pos
                if i.hotkey:
                    if i.hotkey in hot:
                        other, p = hot[i.hotkey]
                        self.add(i.pos, "duplicate-id", f"hotkey {i.hotkey} is already used by interrupt '{other}' at {p}")
                    else:
                        hot[i.hotkey] = (i.id, i.pos)
                if i.protocol not in self.lib.flows and i.protocol not in self.lib.failed_ids:
                    self.add(i.pos, "unknown-flow", f"interrupt '{i.id}' starts flow '{i.protocol}', "
                             f"which is not in the library{self._hint(i.protocol, self.lib.flows)}")

    def text_ids(self) -> None:
        seen: dict[str, Pos] = {}
        for f in self.lib.flows.values():
            for t in f.texts():
                if f.id in self.dup_flows and not t.explicit_id:
                    continue  # derived from a duplicated step/field id: reported already
                if t.id in seen:
                    self.add(t.pos, "duplicate-id", f"text id '{t.id}' is already used at {seen[t.id]}")
                else:
                    seen[t.id] = t.pos

    @staticmethod
    def _hint(name: str, known: Iterable[str]) -> str:
        m = difflib.get_close_matches(name, list(known), n=1)
        return f"; did you mean '{m[0]}'?" if m else ""

    @staticmethod
    def _nearest(name: str, known: Iterable[str]) -> str:
        """For a step id: the close match, else the one id the typed text starts (or is part of),
        else the nearest one that is still alike (a half-typed or mistyped id is the usual cause)."""
        ids = list(known)
        m = difflib.get_close_matches(name, ids, n=1)
        if not m and name:
            low = name.lower()
            part = [k for k in ids if k.lower().startswith(low)] or [k for k in ids if low in k.lower()]
            if len(part) == 1:
                m = part
            else:
                m = difflib.get_close_matches(name, part or ids, n=1, cutoff=0.45)
        return f"; did you mean '{m[0]}'?" if m else ""

    # ----------------------------------------------------------------- one flow

    def flow(self, f: Flow) -> None:
        steps: dict[str, Step] = {}
        field_seen: dict[str, Pos] = {}
        for s in f.steps:
            if s.id in steps:
                self.add(s.pos, "duplicate-id", f"step id '{s.id}' is already used at line {steps[s.id].pos.line}")
                self.dup_flows.add(f.id)
            else:
                steps[s.id] = s
            for fl in s.fields:
                if fl.id in field_seen:
                    self.add(fl.pos, "duplicate-id", f"field id '{fl.id}' is already used at line {field_seen[fl.id].line}")
                    self.dup_flows.add(f.id)
                else:
                    field_seen[fl.id] = fl.pos
        if f.start not in steps:
            self.add(f.start_pos, "unknown-target", f"start step '{f.start}' does not exist{self._nearest(f.start, steps)}")
        for src in f.sources:
            for sid in src.steps:
                if sid not in steps:
                    self.add(src.pos, "unknown-target", f"source '{src.id}' names step '{sid}', which does not exist"
                             f"{self._nearest(sid, steps)}")
        for a in f.on_start:
            self.action(f, a)
        if f.when_blocked is not None and f.when_blocked not in steps:
            self.add(f.pos, "unknown-target", f"when_blocked '{f.when_blocked}' is not a step of {f.id}"
                     f"{self._hint(f.when_blocked, steps)}")
        for s in f.steps:
            if s.when_blocked is not None and s.when_blocked not in steps:
                self.add(s.pos, "unknown-target", f"step '{s.id}': when_blocked '{s.when_blocked}' is not a step of "
                         f"{f.id}{self._hint(s.when_blocked, steps)}")
            self.step(f, s, steps)
        self.reachability(f, steps)
        self.translations(f)

    def step(self, f: Flow, s: Step, steps: dict[str, Step]) -> None:
        tids: dict[str, Pos] = {}
        for t in s.transitions:
            if t.to not in steps:
                self.add(t.pos, "unknown-target",
                         f"step '{s.id}' goes to '{t.to}', which is not a step of {f.id}{self._nearest(t.to, steps)}")
            if t.id:
                if t.id in tids:
                    self.add(t.pos, "duplicate-id", f"choice id '{t.id}' is already used in step '{s.id}'")
                    self.dup_flows.add(f.id)
                else:
                    tids[t.id] = t.pos
            if s.kind == "ask" and (t.id is None or t.label is None):
                missing = " and a ".join(x for x, v in (("id", t.id), ("label", t.label)) if v is None)
                self.add(t.pos, "choice-without-label", f"a choice of ask step '{s.id}' needs a {missing}")
            if t.when is not None:
                self.expression(t.when, t.pos, "condition")
        if not s.transitions and not s.is_terminal:
            self.add(s.pos, "dead-end", f"step '{s.id}' ({s.kind}) has no way on; add next/transitions or make it an outcome")
        elif s.kind != "ask" and s.transitions and all(t.when is not None and not expr.is_constant_true(t.when)
                                                       for t in s.transitions):
            self.add(s.pos, "dead-end", f"step '{s.id}': every transition has a condition, so the call is stuck "
                     "when none holds; add a last transition without `when`", "warning")
        for sid in s.suppress_interrupts:
            if sid not in self.interrupts:
                self.add(s.pos, "unknown-interrupt", f"step '{s.id}' suppresses interrupt '{sid}', which no flow defines")
        for a in s.actions:
            self.action(f, a)
        starts = [a for a in s.actions if a.name == "start_protocol"]
        for a in starts[1:]:  # the engine hands over to one protocol per step; a second would be lost
            self.add(a.pos, "one-protocol-per-step",
                     f"step '{s.id}' already starts '{starts[0].params.get('flow')}'; start '{a.params.get('flow')}' "
                     f"from a step of its own")
        self.fields_of(f, s)
        for text in (s.say, s.consent.wording if s.consent is not None else None):
            if text is not None:
                self.instruction_in_say(text)
        if s.consent is not None:
            for fid in s.consent.covers:
                if fid not in self.fields:
                    self.add(s.consent.pos, "unknown-field",
                             f"consent '{s.consent.purpose}' covers field '{fid}', which no flow defines{self._hint(fid, self.fields)}")

    def fields_of(self, f: Flow, s: Step) -> None:
        for fl in s.fields:
            values: set[str] = set()
            for c in fl.choices:
                if c.value in values:
                    self.add(c.pos, "duplicate-id", f"field '{fl.id}' has the value '{c.value}' twice")
                values.add(c.value)
            if fl.type == "choice" and not fl.choices:
                self.add(fl.pos, "bad-field", f"choice field '{fl.id}' needs choices")
            elif fl.type != "choice" and fl.choices:
                self.add(fl.pos, "bad-field", f"field '{fl.id}' is {fl.type}: choices are only for choice fields", "warning")
            if (fl.min is not None or fl.max is not None) and fl.type not in ("number", "money"):
                self.add(fl.pos, "bad-field", f"field '{fl.id}' is {fl.type}: min/max are only for number and money", "warning")
            if fl.min is not None and fl.max is not None and fl.min > fl.max:
                self.add(fl.pos, "bad-field", f"field '{fl.id}': min {fl.min} is above max {fl.max}")
            if fl.visible_when is not None:
                self.expression(fl.visible_when, fl.pos, "visible_when")
            if fl.sensitivity == "special":
                if not fl.consent:
                    self.add(fl.pos, "consent-required",
                             f"special-category field '{fl.id}' needs `consent: <purpose>` naming the consent that covers it")
                elif fl.consent not in self.purposes:
                    self.add(fl.pos, "consent-required",
                             f"field '{fl.id}' needs consent '{fl.consent}', but no consent step asks for it"
                             f"{self._hint(fl.consent, self.purposes)}")
                else:
                    asks = self.purposes[fl.consent]
                    if all(cs.consent.covers and fl.id not in cs.consent.covers for _f, cs in asks):
                        where = ", ".join(f"{cf.id}/{cs.id}" for cf, cs in asks)
                        self.add(fl.pos, "consent-required",
                                 f"field '{fl.id}' is not in the `covers` of consent '{fl.consent}' ({where})")

    def action(self, f: Flow, a: Action) -> None:
        spec = ACTION_SPECS.get(a.name)
        if spec is None:
            self.add(a.pos, "unknown-action", f"'{a.name}' is not an action{self._hint(a.name, ACTION_SPECS)}")
            return
        errors = sorted(params_validator(a.name).iter_errors(a.params), key=lambda e: list(e.path))
        if errors:
            e = errors[0]
            key = e.path[0] if e.path else None
            pos = a.pos
            vpos = getattr(a.params, "vpos", None)
            if key is not None and vpos and key in vpos:
                pos = Pos(a.pos.file, *vpos[key])
            if e.validator == "additionalProperties":
                allowed = ", ".join(spec["params"]["properties"]) or "none"
                extra = [k for k in a.params if k not in spec["params"]["properties"]]
                msg = f"{a.name}: unknown param '{extra[0] if extra else '?'}' (params: {allowed})"
            elif e.validator == "required":
                missing = [k for k in e.validator_value if k not in a.params]
                msg = f"{a.name} needs the param '{missing[0] if missing else '?'}'"
            else:
                where = f"param '{'.'.join(map(str, e.path))}'" if e.path else "params"
                msg = f"{a.name}: {where}: {e.message.splitlines()[0][:120]}"
            self.add(pos, "bad-action-params", msg)
            return
        p = a.params
        if a.name == "start_protocol":
            x = p["flow"]
            if x not in self.lib.flows and x not in self.lib.failed_ids:
                self.add(a.pos, "unknown-flow", f"start_protocol: flow '{x}' is not in the library{self._hint(x, self.lib.flows)}")
            elif x == f.id:
                self.add(a.pos, "unknown-flow", f"start_protocol: flow '{x}' starts itself", "warning")
        for fid in p.get("fields") or ():
            if fid not in self.fields:
                self.add(a.pos, "unknown-field", f"{a.name}: field '{fid}' is not defined by any flow{self._hint(fid, self.fields)}")
        if a.name == "withdraw_consent" and p["purpose"] not in self.purposes:
            self.add(a.pos, "unknown-consent", f"withdraw_consent: no consent step asks for '{p['purpose']}'", "warning")
        for k, v in p.items():
            if isinstance(v, str) and _has_template_syntax(v):
                self.template(v, a.pos, f"{a.name}.{k}")

    # ----------------------------------------------------------------- expressions and texts

    def expression(self, src: str, pos: Pos, what: str) -> None:
        try:
            names = expr.expression_names(src)
            refs = expr.consent_refs(src)
            expr.check_limits(src, expression=True)
        except expr.ExprError as e:
            msg = str(e)
            if msg.endswith("unexpected ')'") and not src.rstrip().endswith(")"):
                msg = msg[: -len("unexpected ')'")] + "it ends too early"
            self.add(pos, "bad-expression", f"{what}: {msg}")
            return
        for n in sorted(names - self.names):
            self.add(pos, "undefined-name", f"{what} {src!r} uses '{n}', which is not a field id or a built-in name"
                     f"{self._hint(n, self.hint_names)}")
        for p in refs:
            if p not in self.purposes:
                self.add(pos, "unknown-consent", f"{what} reads consent.{p}, but no consent step asks for '{p}'", "warning")

    def template(self, src: str, pos: Pos, what: str) -> None:
        try:
            names = expr.template_names(src)
            expr.check_limits(src)
        except expr.ExprError as e:
            self.add(pos, "bad-expression", f"{what}: {e}")
            return
        for n in sorted(names - self.names):
            self.add(pos, "undefined-name", f"{what} uses '{n}', which is not a field id or a built-in name"
                     f"{self._hint(n, self.hint_names)}")

    def instruction_in_say(self, t: Any) -> None:
        """What the agent reads aloud holds no bracketed instruction ("[your name]", "[Summarise ...]")."""
        found: dict[str, str] = {}
        for lang, v in t.by_lang.items():
            if isinstance(v, str):
                m = _BRACKETED.search(_TEMPLATE_PART.sub(" ", v))
                if m:
                    found[lang] = m.group(0)
        if found:
            first = next(iter(found.values()))
            self.add(t.pos, "instruction-in-say",
                     f"text {t.id} [{', '.join(found)}] has {first!r} in what the agent reads aloud: put instructions "
                     "for the agent in `guidance`, and names in templates (for example {{ call.agent_name }})",
                     "warning")

    def translations(self, f: Flow) -> None:
        langs = f.languages
        for t in f.texts():
            for lang in langs:
                v = t.by_lang.get(lang)
                if not isinstance(v, str) or not v.strip():
                    self.add(t.pos, "missing-translation", f"text {t.id} has no '{lang}' translation")
            for lang, v in t.by_lang.items():
                if isinstance(v, str) and _has_template_syntax(v):
                    self.template(v, t.pos, f"text {t.id} [{lang}]")

    def reachability(self, f: Flow, steps: dict[str, Step]) -> None:
        if f.start not in steps:
            return
        seen = set(reachable(f))
        for sid, s in steps.items():
            if sid not in seen:
                self.add(s.pos, "unreachable-step", f"step '{sid}' cannot be reached from the start '{f.start}'", "warning")

    # ----------------------------------------------------------------- invariants

    def select(self, f: Flow, sel: str | None, inv, key: str) -> set[Node] | None:
        """Resolve a selector to graph nodes (None after reporting a bad selector)."""
        if sel is None:
            return set()
        g = self.graph
        kind, _, arg = sel.partition(":")
        cache_key = ("sel", f.id if kind == "step" and "/" not in arg else "", sel)
        if cache_key in self._cache:
            return self._cache[cache_key]
        out: set[Node] | None = set()
        problem = None
        if kind == "step":
            fid, _, sid = arg.rpartition("/")
            fid = fid or f.id
            if fid not in self.lib.flows:
                problem = None if fid in self.lib.failed_ids else f"{key} '{sel}': no flow '{fid}'"
                out = None if problem else set()
            elif not self.lib.flows[fid].has_step(sid):
                problem, out = f"{key} '{sel}': flow {fid} has no step '{sid}'", None
            else:
                out = {node_id(fid, sid)}
        elif kind == "flow":
            if arg not in self.lib.flows:
                problem = None if arg in self.lib.failed_ids else f"{key} '{sel}': no flow '{arg}' in the library"
                out = None if problem else set()
            else:
                out = {node_id(arg, s) for s in self.lib.flows[arg].steps}
        elif kind == "category":
            out = {n for n, (_fl, s) in g.steps.items() if s.category == arg}
        elif kind == "action":
            if arg not in ACTION_SPECS:
                problem, out = f"{key} '{sel}': '{arg}' is not an action", None
            else:
                out = {n for n, (_fl, s) in g.steps.items() if any(a.name == arg for a in s.actions)}
                out |= {node_id(fl, fl.start) for fl in self.lib.flows.values()
                        if fl.has_step(fl.start) and any(a.name == arg for a in fl.on_start)}
        else:
            problem, out = f"{key} '{sel}' is not a selector (step:, flow:, category:, action:)", None
        if problem:
            self.add(inv.pos, "bad-selector", f"invariant {inv.id}: {problem}")
        elif out is not None and not out and kind in ("category", "action") and key != "unless":
            self.add(inv.pos, "bad-selector", f"invariant {inv.id}: {key} '{sel}' selects no step", "warning")
        self._cache[cache_key] = out
        return out

    def invariant(self, f: Flow, inv) -> None:
        rule = f"invariant:{inv.kind}"
        p = inv.params
        g = self.graph
        if inv.kind == "requires_before":
            target, via = self.select(f, p.get("target"), inv, "target"), self.select(f, p.get("via"), inv, "via")
            if target is None or via is None:
                return
            key = ("rb", frozenset(target), frozenset(via))
            if key not in self._cache:
                sg = self.states
                parent = sg.search([(r, 0) for r in g.roots()], blocked=frozenset(via))
                hit = min((st for st in parent if st[0] in target), default=None)
                self._cache[key] = state_path(parent, hit) if hit else None
            path = self._cache[key]
            if path:
                self.add(inv.pos, rule, f"invariant {inv.id}: {path[-1]} can be reached without passing "
                         f"{p.get('via')}: {format_path(path)}")
        elif inv.kind == "no_path":
            src = self.select(f, p.get("from"), inv, "from")
            dst = self.select(f, p.get("to"), inv, "to")
            unless = self.select(f, p.get("unless"), inv, "unless")
            if src is None or dst is None or unless is None:
                return
            key = ("np", frozenset(src), frozenset(dst), frozenset(unless))
            if key not in self._cache:
                sg = self.states
                starts = [(n, sg.enter(n, 0)[1] if sg.enter(n, 0) else 0) for n in sorted(src - unless)]
                parent = sg.search(starts, blocked=frozenset(unless))
                hit = min((st for st in parent if st[0] in dst and parent[st] is not None), default=None)
                self._cache[key] = state_path(parent, hit) if hit else None
            path = self._cache[key]
            if path:
                extra = f" without {p['unless']}" if p.get("unless") else ""
                self.add(inv.pos, rule, f"invariant {inv.id}: {p.get('to')} is reachable from {p.get('from')}{extra}: "
                         f"{format_path(path)}")
        elif inv.kind == "one_action_away":
            proto = p.get("protocol")
            if proto not in self.lib.flows and proto not in self.lib.failed_ids:
                self.add(inv.pos, "unknown-flow", f"invariant {inv.id}: protocol '{proto}' is not in the library")
                return
            key = ("oaa", proto)
            if key not in self._cache:
                ids = {i.id for i in self.interrupts.values() if i.protocol == proto}
                bad = [n for n, (_fl, s) in g.steps.items() if not (ids - set(s.suppress_interrupts))]
                self._cache[key] = (bad, ids)
            bad, ids = self._cache[key]
            if bad:
                why = (f"no global interrupt starts '{proto}'" if not ids
                       else f"interrupt {', '.join(sorted(ids))} is suppressed")
                more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
                self.add(inv.pos, rule, f"invariant {inv.id}: {proto} is not one action away at {bad[0]}{more}: {why}")
        elif inv.kind == "consent_before_special":
            self.consent_before_special(f, inv, rule)
        elif inv.kind == "ends_in_outcome":
            self.ends_in_outcome(f, inv, rule)

    def consent_before_special(self, f: Flow, inv, rule: str) -> None:
        g = self.graph
        for s in f.steps:
            purposes = sorted({fl.consent for fl in s.fields if fl.sensitivity == "special" and fl.consent})
            n = node_id(f, s)
            if g.steps.get(n, (None, None))[1] is not s:
                continue
            for purpose in purposes:
                key = ("cbs", purpose)
                if key not in self._cache:
                    # A gate is an edge every transition of which needs consent.<purpose> given: the
                    # given-branch of a consent step, or any later guard on it (consent.<purpose> can only
                    # be true once a consent step recorded it).
                    def gate_edge(a: Node, b: Node, purpose=purpose) -> bool:
                        whens = g.edge_whens.get((a, b))
                        if not whens:
                            return False
                        try:
                            return all(w is not None and expr.consent_refs(w).get(purpose, False) for w in whens)
                        except expr.ExprError:
                            return False

                    self._cache[key] = g.search(g.roots(), skip_edge=gate_edge)
                parent = self._cache[key]
                if n in parent:
                    self.add(s.pos if inv.id.startswith("builtin:") else inv.pos, rule,
                             f"invariant {inv.id}: {n} captures special fields without consent "
                             f"'{purpose}' given first: {format_path(path_to(parent, n))}")

    def ends_in_outcome(self, f: Flow, inv, rule: str) -> None:
        steps: dict[str, Step] = {}
        for s in f.steps:
            steps.setdefault(s.id, s)
        pred: dict[str, list[str]] = {sid: [] for sid in steps}
        for s in steps.values():
            for t in s.transitions:
                if t.to in pred:
                    pred[t.to].append(s.id)
        ok = {sid for sid, s in steps.items() if s.is_terminal}
        if inv.id.startswith("builtin:"):  # no way on, or a way to a missing step: reported already
            ok |= {sid for sid, s in steps.items() if not s.transitions or any(t.to not in steps for t in s.transitions)}
        q = deque(ok)
        while q:
            for m in pred[q.popleft()]:
                if m not in ok:
                    ok.add(m)
                    q.append(m)
        stuck = [sid for sid in steps if sid not in ok]
        if not stuck:
            return
        parent = reachable(f)
        reached = [sid for sid in stuck if sid in parent]
        first = reached[0] if reached else stuck[0]
        path = path_to(parent, first) if first in parent else [first]
        more = f" (and {len(stuck) - 1} more)" if len(stuck) > 1 else ""
        self.add(inv.pos, rule, f"invariant {inv.id}: no outcome can be reached from {f.id}/{first}{more}: "
                 f"{format_path([node_id(f, x) for x in path])}")


def _dedupe_sort(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    seen = set()
    out = []
    for d in diags:
        k = (d.file, d.line, d.col, d.rule, d.message, d.severity)
        if k not in seen:
            seen.add(k)
            out.append(d)
    out.sort(key=lambda d: d.sort_key)
    return out


def validate_library(lib: FlowLibrary, diagnostics_so_far: Iterable[Diagnostic] = (),
                     memo: GraphMemo | None = None) -> list[Diagnostic]:
    """Every semantic problem of the library, merged with `diagnostics_so_far`, sorted by file/line.
    `memo`: carry the graph searches over from the last validation with it (`GraphMemo`)."""
    return _dedupe_sort([*diagnostics_so_far, *_Validator(lib, memo).run()])


def validate_paths(paths: Iterable[str | os.PathLike],
                   signposts: str | os.PathLike | None | bool = None) -> list[Diagnostic]:
    """Load and validate flows (files or directories): every problem at once, sorted by file/line."""
    lib, diags = load_library(paths, signposts=signposts)
    return validate_library(lib, diags)


def has_errors(diags: Iterable[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diags)


__all__ += ["has_errors"]
