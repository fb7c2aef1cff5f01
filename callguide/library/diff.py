"""Semantic diff between two versions of a flow, readable by a compliance reviewer.

`diff_flows(old, new)` compares the typed models (never the YAML text), so moving a step or
re-indenting a file is no change, while a new word in what the agent says to the customer is.
`render_diff` prints the changes grouped under plain headings (steps added and removed, what
the customer hears, what the agent is told, routing and conditions, actions, consent, fields,
invariants). Never imports Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from callguide.flow.model import Action, Field, Flow, Step, Text, Transition

LANG_NAMES = {"en": "English", "da": "Danish", "cs": "Czech"}

#: Change kinds, in the order the report shows them, with their headings.
SECTIONS = {
    "step-added": "Steps added",
    "step-removed": "Steps removed",
    "wording": "What the customer hears (wording changed)",
    "consent": "Consent",
    "guidance": "What the agent is told (guidance changed)",
    "condition": "Conditions and routing",
    "action": "Actions (what the system records or does)",
    "field": "Questions and fields",
    "invariant": "Compliance checks (invariants)",
    "flow": "About the flow",
}


@dataclass(frozen=True)
class Change:
    kind: str            # a key of SECTIONS
    step: str | None     # the step id, or None for the flow itself
    what: str            # a plain description of the change
    lang: str | None = None
    old: str | None = None
    new: str | None = None

    def __str__(self) -> str:
        where = f"step {self.step}: " if self.step else ""
        lang = f" [{self.lang}]" if self.lang else ""
        if self.old is not None or self.new is not None:
            return f"{where}{self.what}{lang}: {_q(self.old)} -> {_q(self.new)}"
        return f"{where}{self.what}"


def _q(s: str | None) -> str:
    return "(none)" if s is None else f'"{s}"'


def _lang(code: str) -> str:
    return LANG_NAMES.get(code, code)


def _texts(kind: str, step: str | None, what: str, old: Text | None, new: Text | None) -> list[Change]:
    out: list[Change] = []
    a = old.by_lang if old is not None else {}
    b = new.by_lang if new is not None else {}
    for lang in sorted(set(a) | set(b), key=lambda x: (list(LANG_NAMES).index(x) if x in LANG_NAMES else 9, x)):
        va, vb = a.get(lang), b.get(lang)
        if va == vb:
            continue
        if va is None:
            desc = f"{what} added in {_lang(lang)}"
        elif vb is None:
            desc = f"{what} removed in {_lang(lang)}"
        else:
            desc = f"{what} changed in {_lang(lang)}"
        out.append(Change(kind, step, desc, lang, va, vb))
    return out


def action_str(a: Action) -> str:
    if not a.params:
        return a.name
    params = ", ".join(f"{k}={_val(v)}" for k, v in a.params.items())
    return f"{a.name}({params})"


def _val(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(map(str, v)) + "]"
    return str(v)


def _actions(step: str | None, where: str, old: tuple[Action, ...], new: tuple[Action, ...]) -> list[Change]:
    a, b = [action_str(x) for x in old], [action_str(x) for x in new]
    if a == b:
        return []
    out = [Change("action", step, f"{where}action removed: {x}") for x in a if x not in b]
    out += [Change("action", step, f"{where}action added: {x}") for x in b if x not in a]
    if not out:
        out.append(Change("action", step, f"{where}actions reordered", None, ", ".join(a), ", ".join(b)))
    return out


def _tkey(t: Transition, i: int) -> str:
    return t.id or f"->{t.to}"


def _describe_t(t: Transition) -> str:
    s = f"answer '{t.id}' goes to {t.to}" if t.id else f"goes to {t.to}"
    return s + (f" when {t.when}" if t.when else " (always)")


def _transitions(step: Step, old: Step) -> list[Change]:
    out: list[Change] = []
    a = {_tkey(t, i): t for i, t in enumerate(old.transitions)}
    b = {_tkey(t, i): t for i, t in enumerate(step.transitions)}
    sid = step.id
    for k in a.keys() - b.keys():
        out.append(Change("condition", sid, f"route removed: {_describe_t(a[k])}"))
    for k in b.keys() - a.keys():
        out.append(Change("condition", sid, f"route added: {_describe_t(b[k])}"))
    for k in [k for k in b if k in a]:
        ta, tb = a[k], b[k]
        if ta.to != tb.to:
            out.append(Change("condition", sid, f"route '{k}' now leads elsewhere", None, ta.to, tb.to))
        if (ta.when or None) != (tb.when or None):
            out.append(Change("condition", sid, f"condition of route '{k}' changed", None, ta.when or "always",
                              tb.when or "always"))
        out += _texts("wording", sid, f"answer button '{k}'", ta.label, tb.label)
    order_a = [k for k in a if k in b]
    order_b = [k for k in b if k in a]
    if order_a != order_b:
        out.append(Change("condition", sid, "the order routes are tried in changed", None, ", ".join(order_a),
                          ", ".join(order_b)))
    return out


def _field_desc(f: Field) -> str:
    bits = [f.type, "required" if f.required else "optional"]
    if f.sensitivity != "none":
        bits.append(f"{f.sensitivity} data")
    if f.consent:
        bits.append(f"needs consent {f.consent}")
    if f.visible_when:
        bits.append(f"shown when {f.visible_when}")
    if f.min is not None or f.max is not None:
        bits.append(f"range {f.min if f.min is not None else '-'}..{f.max if f.max is not None else '-'}")
    if f.choices:
        bits.append("choices " + "/".join(c.value for c in f.choices))
    return ", ".join(bits)


def _fields(step: Step, old: Step) -> list[Change]:
    out: list[Change] = []
    a = {f.id: f for f in old.fields}
    b = {f.id: f for f in step.fields}
    for k in a.keys() - b.keys():
        out.append(Change("field", step.id, f"field removed: {k} ({_field_desc(a[k])})"))
    for k in b.keys() - a.keys():
        out.append(Change("field", step.id, f"field added: {k} ({_field_desc(b[k])})"))
    for k in [k for k in b if k in a]:
        fa, fb = a[k], b[k]
        if _field_desc(fa) != _field_desc(fb):
            out.append(Change("field", step.id, f"field {k} changed", None, _field_desc(fa), _field_desc(fb)))
        out += _texts("wording", step.id, f"label of field {k}", fa.label, fb.label)
        out += _texts("guidance", step.id, f"help for field {k}", fa.help, fb.help)
        ca = {c.value: c for c in fa.choices}
        for c in fb.choices:
            if c.value in ca:
                out += _texts("wording", step.id, f"choice '{c.value}' of field {k}", ca[c.value].label, c.label)
    return out


def _step_changes(old: Step, new: Step) -> list[Change]:
    sid = new.id
    out: list[Change] = []
    if old.kind != new.kind:
        out.append(Change("flow", sid, "kind of step changed", None, old.kind, new.kind))
    out += _texts("wording", sid, "what the agent says", old.say, new.say)
    out += _texts("guidance", sid, "guidance", old.guidance, new.guidance)
    ca, cb = old.consent, new.consent
    if ca is not None or cb is not None:
        if ca is None or cb is None:
            out.append(Change("consent", sid, "consent request added" if ca is None else "consent request removed"))
        else:
            if ca.purpose != cb.purpose:
                out.append(Change("consent", sid, "consent purpose changed", None, ca.purpose, cb.purpose))
            if ca.covers != cb.covers:
                out.append(Change("consent", sid, "what the consent covers changed", None, ", ".join(ca.covers),
                                  ", ".join(cb.covers)))
            out += _texts("consent", sid, "consent wording", ca.wording, cb.wording)
    out += _actions(sid, "", old.actions, new.actions)
    out += _transitions(new, old)
    out += _fields(new, old)
    if old.outcome != new.outcome:
        out.append(Change("action", sid, "outcome code changed", None, old.outcome, new.outcome))
    if old.category != new.category:
        out.append(Change("condition", sid, "step category changed (payment/collection rules)", None,
                          old.category, new.category))
    if old.suppress_interrupts != new.suppress_interrupts:
        out.append(Change("condition", sid, "interrupts switched off on this step changed", None,
                          ", ".join(old.suppress_interrupts), ", ".join(new.suppress_interrupts)))
    return out


def _step_summary(s: Step) -> str:
    bits = [f"a {s.kind} step"]
    if s.say is not None:
        bits.append(f'says "{s.say.get("en")}"')
    if s.outcome:
        bits.append(f"ends with outcome {s.outcome}")
    if s.actions:
        bits.append("actions " + ", ".join(action_str(a) for a in s.actions))
    if s.transitions:
        bits.append("then " + "; ".join(_describe_t(t) for t in s.transitions))
    return ", ".join(bits)


def _inv_str(p: dict[str, Any], kind: str) -> str:
    return kind + (" " + ", ".join(f"{k}={v}" for k, v in sorted(p.items())) if p else "")


def diff_flows(old: Flow, new: Flow) -> list[Change]:
    """Every meaningful change from `old` to `new`, in file order of the new flow."""
    out: list[Change] = []
    if old.id != new.id:
        out.append(Change("flow", None, "flow id changed", None, old.id, new.id))
    if old.version != new.version:
        out.append(Change("flow", None, "version label changed", None, old.version, new.version))
    if old.priority != new.priority:
        out.append(Change("flow", None, "priority changed", None, old.priority, new.priority))
    if old.start != new.start:
        out.append(Change("condition", None, "first step changed", None, old.start, new.start))
    out += _texts("flow", None, "title", old.title, new.title)
    out += _texts("flow", None, "description", old.description, new.description)
    out += _actions(None, "when the protocol starts: ", old.on_start, new.on_start)
    ia = {i.id: i for i in old.interrupts}
    ib = {i.id: i for i in new.interrupts}
    for k in ia.keys() - ib.keys():
        out.append(Change("condition", None, f"interrupt removed: {k} (starts {ia[k].protocol})"))
    for k in ib.keys() - ia.keys():
        out.append(Change("condition", None, f"interrupt added: {k} (starts {ib[k].protocol}, key {ib[k].hotkey})"))
    va = {v.id: v for v in old.invariants}
    vb = {v.id: v for v in new.invariants}
    for k in va.keys() - vb.keys():
        out.append(Change("invariant", None, f"check removed: {k} ({_inv_str(va[k].params, va[k].kind)})"))
    for k in [k for k in vb if k not in va]:
        out.append(Change("invariant", None, f"check added: {k} ({_inv_str(vb[k].params, vb[k].kind)})"))
    for k in [k for k in vb if k in va]:
        a, b = _inv_str(va[k].params, va[k].kind), _inv_str(vb[k].params, vb[k].kind)
        if a != b:
            out.append(Change("invariant", None, f"check {k} changed", None, a, b))
    sa = {s.id: s for s in old.steps}
    sb = {s.id: s for s in new.steps}
    for s in old.steps:
        if s.id not in sb:
            out.append(Change("step-removed", s.id, f"removed: {_step_summary(s)}"))
    for s in new.steps:
        if s.id not in sa:
            out.append(Change("step-added", s.id, f"added: {_step_summary(s)}"))
            for lang in new.languages:
                if s.say is not None and s.say.by_lang.get(lang):
                    out.append(Change("wording", s.id, f"new wording in {_lang(lang)}", lang, None,
                                      s.say.by_lang[lang]))
        else:
            out += _step_changes(sa[s.id], s)
    return out


def render_diff(changes: list[Change], old_label: str, new_label: str, flow_id: str) -> str:
    """The changes as plain text for a compliance reviewer."""
    lines = [f"Changes to flow {flow_id}: {old_label} -> {new_label}"]
    if not changes:
        lines.append("")
        lines.append("No changes in meaning (the texts may differ in layout or comments only).")
        return "\n".join(lines) + "\n"
    counts: dict[str, int] = {}
    for c in changes:
        counts[c.kind] = counts.get(c.kind, 0) + 1
    lines.append(", ".join(f"{n} {SECTIONS[k].split(' (')[0].lower()}" for k, n in counts.items()))
    for kind, title in SECTIONS.items():
        group = [c for c in changes if c.kind == kind]
        if not group:
            continue
        lines.append("")
        lines.append(f"{title}:")
        for c in group:
            where = f"step '{c.step}'" if c.step else "flow"
            lines.append(f"  - {where}: {c.what}")
            if c.old is not None or c.new is not None:
                lines.append(f"      before: {c.old if c.old is not None else '(none)'}")
                lines.append(f"      after:  {c.new if c.new is not None else '(none)'}")
    return "\n".join(lines) + "\n"


def resolve_version(flow_id_or_path: str, ref: str, db: Any = None, flows_dir: Any = None) -> tuple[Flow, str]:
    """A version of a flow for `callguide diff`: `working` (the file on disk), `live`, a version
    label, a content-hash prefix (4+ hex digits), or `#ID`. Returns (flow, a label for the report)."""
    from pathlib import Path

    from callguide.flow.loader import find_flow_files, load_flow
    from callguide.library.publish import PublishError, flow_status, load_version, open_store
    from callguide.library.workspace import default_folder

    p = Path(flow_id_or_path)
    file: Path | None = None
    if p.suffix in (".yaml", ".yml") and p.exists():
        file = p
    else:
        folder = Path(flows_dir) if flows_dir else default_folder()
        for f in find_flow_files([folder]) if folder.is_dir() else []:
            fl, _ = load_flow(f)
            if fl is not None and fl.id == flow_id_or_path:
                file = f
                break
    flow_id = flow_id_or_path
    if file is not None:
        working, diags = load_flow(file)
        if ref == "working":
            if working is None:
                raise PublishError(str(diags[0]) if diags else f"{file}: does not load")
            return working, "working copy"
        if working is not None:
            flow_id = working.id
    elif ref == "working":
        raise PublishError(f"no flow file for {flow_id_or_path!r}")
    with open_store(db) as store:
        st = flow_status(store, flow_id)
    ref = ref.strip()
    v = None
    if ref == "live":
        v = st.live
        if v is None:
            raise PublishError(f"{flow_id}: nothing is live")
    elif ref.startswith("#") and ref[1:].isdigit():
        v = next((x.version for x in st.versions if x.version.id == int(ref[1:])), None)
    else:
        hit = st.by_label(ref)
        v = hit.version if hit else None
        low = ref.lower()
        if v is None and len(low) >= 4 and all(ch in "0123456789abcdef" for ch in low):
            hits = {x.version.content_hash: x.version for x in st.versions if x.version.content_hash.startswith(low)}
            if len(hits) > 1:
                raise PublishError(f"{flow_id}: the hash prefix {ref!r} matches {len(hits)} versions; give more digits")
            v = next(iter(hits.values()), None)
    if v is None:
        labels = ", ".join(f"{x.version.version_label} ({x.state})" for x in st.versions) or "none"
        raise PublishError(f"{flow_id}: no version {ref!r}; versions: {labels}")
    return load_version(v), f"{v.version_label} ({v.short_hash}, {v.created_at[:10]})"
