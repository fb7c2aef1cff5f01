"""Form edits on a flow's YAML text that keep every comment and the layout (ruamel round-trip).

Each function takes the full text and returns the new text; only the touched value changes
(its quoting style is kept). The workbench's form view calls these; the text editor saves the
text exactly as typed. Never imports Qt.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString
from ruamel.yaml.util import load_yaml_guess_indent


class EditError(Exception):
    """The edit cannot be applied (one plain line)."""


def _yaml(text: str) -> tuple[YAML, Any]:
    try:
        _, ind, bsi = load_yaml_guess_indent(text)
    except YAMLError as e:
        raise EditError(f"the text is not valid YAML yet; fix it in the text editor first ({str(e).splitlines()[0]})") \
            from None
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=ind or 4, offset=bsi if bsi is not None else 2)
    try:
        data = y.load(text)
    except YAMLError as e:
        raise EditError(f"the text is not valid YAML yet ({str(e).splitlines()[0]})") from None
    if not isinstance(data, CommentedMap):
        raise EditError("a flow file is a mapping")
    return y, data


def _dump(y: YAML, data: Any, original: str) -> str:
    out = io.StringIO()
    y.dump(data, out)
    s = out.getvalue()
    if not original.endswith("\n") and s.endswith("\n"):
        s = s[:-1]
    return s


def _like(old: Any, value: str) -> Any:
    if isinstance(old, DoubleQuotedScalarString):
        return DoubleQuotedScalarString(value)
    if isinstance(old, SingleQuotedScalarString):
        return SingleQuotedScalarString(value)
    return value


def _step(data: CommentedMap, step_id: str) -> CommentedMap:
    for s in data.get("steps") or ():
        if isinstance(s, CommentedMap) and s.get("id") == step_id:
            return s
    raise EditError(f"no step {step_id!r} in the text")


def _container(step: CommentedMap, slot: str, create: bool) -> tuple[CommentedMap | None, CommentedMap, str]:
    """(parent, node-holding-the-text-mapping, key) for a text slot of a step."""
    parts = slot.split(".")
    node: Any = step
    i = 0
    while i < len(parts) - 1:
        p = parts[i]
        if p == "fields":
            fid = parts[i + 1]
            node = next((f for f in node.get("fields") or () if f.get("id") == fid), None)
            if node is None:
                raise EditError(f"step {step.get('id')}: no field {fid!r}")
            i += 2
            continue
        if p == "transitions":
            idx = int(parts[i + 1])
            seq = node.get("transitions") or ()
            if idx >= len(seq):
                raise EditError(f"step {step.get('id')}: no transition {idx}")
            node = seq[idx]
            i += 2
            continue
        if p not in node:
            if not create:
                raise EditError(f"step {step.get('id')}: no {p}")
            node[p] = CommentedMap()
        node = node[p]
        i += 1
    return None, node, parts[-1]


def set_text(text: str, step_id: str, slot: str, lang: str, value: str) -> str:
    """Set one language of a step's text. `slot`: say, guidance, consent.wording,
    fields.<id>.label, fields.<id>.help, transitions.<n>.label. An empty value removes that
    language (the validator then reports the missing translation)."""
    y, data = _yaml(text)
    step = _step(data, step_id)
    _, holder, key = _container(step, slot, create=bool(value))
    mapping = holder.get(key)
    if mapping is None:
        if not value:
            return text
        mapping = CommentedMap()
        holder[key] = mapping
    if not isinstance(mapping, CommentedMap):
        raise EditError(f"step {step_id}: {slot} is not a text mapping")
    old = mapping.get(lang)
    if value:
        if old == value:
            return text
        mapping[lang] = _like(old, value)
    elif lang in mapping:
        del mapping[lang]
    else:
        return text
    return _dump(y, data, text)


def set_step_value(text: str, step_id: str, key: str, value: Any) -> str:
    """Set (or, with None/"", remove) a plain key of a step: kind, next, outcome, category."""
    y, data = _yaml(text)
    step = _step(data, step_id)
    if value in (None, ""):
        if key not in step:
            return text
        del step[key]
    else:
        if step.get(key) == value:
            return text
        step[key] = _like(step.get(key), value) if isinstance(value, str) else value
    return _dump(y, data, text)


def set_transition(text: str, step_id: str, index: int, key: str, value: str) -> str:
    """Set `to`, `when` or `id` of a step's transition `index` (the `next:` shorthand is index 0)."""
    y, data = _yaml(text)
    step = _step(data, step_id)
    if "next" in step and "transitions" not in step:
        if index != 0:
            raise EditError(f"step {step_id} has a single 'next'")
        if key != "to":
            seq = CommentedSeq()
            t = CommentedMap()
            t["to"] = step["next"]
            seq.append(t)
            pos = list(step.keys()).index("next")
            del step["next"]
            step.insert(pos, "transitions", seq)
        else:
            if step["next"] == value:
                return text
            step["next"] = _like(step["next"], value)
            return _dump(y, data, text)
    seq = step.get("transitions")
    if not isinstance(seq, CommentedSeq) or index >= len(seq):
        raise EditError(f"step {step_id}: no transition {index}")
    t = seq[index]
    if value in (None, ""):
        if key == "to":
            raise EditError(f"step {step_id}: a transition needs a target step")
        if key not in t:
            return text
        del t[key]
    else:
        if t.get(key) == value:
            return text
        t[key] = _like(t.get(key), value)
    return _dump(y, data, text)


def add_step(text: str, after: str | None, step_id: str, kind: str = "say", languages: tuple[str, ...] = ("en", "da", "cs"),
             say: dict[str, str] | None = None, next_step: str | None = None) -> str:
    """Insert a new step after `after` (or at the end). When `after` had a single `next`, the new
    step is spliced in: `after` now leads to the new step and the new step to the old target."""
    y, data = _yaml(text)
    steps = data.get("steps")
    if not isinstance(steps, CommentedSeq):
        raise EditError("the flow has no steps list")
    if any(isinstance(s, CommentedMap) and s.get("id") == step_id for s in steps):
        raise EditError(f"a step {step_id!r} already exists")
    new = CommentedMap()
    new["id"] = step_id
    new["kind"] = kind
    texts = CommentedMap()
    for lang in languages:
        texts[lang] = (say or {}).get(lang, "")
    new["say"] = texts
    index = len(steps)
    if after is not None:
        prev = _step(data, after)
        index = list(steps).index(prev) + 1
        if next_step is None and "next" in prev:
            next_step = prev["next"]
            prev["next"] = step_id
    if next_step:
        new["next"] = next_step
    steps.insert(index, new)
    return _dump(y, data, text)
