"""Loading flow files, the flow library and the signposts data.

YAML is read safely (`yamlsafe`: no tags, no aliases, limits), checked against the JSON Schema
(`resources/schema/flow.schema.json`) with every error mapped to the node's line:col, then built
into the typed model (`model.Flow`). Problems are returned as `Diagnostic`s, never raised.
Never imports Qt, the engine or the store; never evaluates Python.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import gc
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from callguide.flow.model import (
    Action,
    Choice,
    Consent,
    Field,
    Flow,
    FlowLibrary,
    Interrupt,
    Invariant,
    Pos,
    Source,
    Step,
    Text,
    Transition,
    Waiver,
)
from callguide.flow.yamlsafe import (
    MAX_BYTES,
    Diagnostic,
    PDict,
    PList,
    decode,
    display_path,
    parse_text,
    read_bounded,
    read_yaml,
)

__all__ = [
    "Diagnostic",
    "find_flow_files",
    "load_flow",
    "load_flow_text",
    "load_library",
    "load_signposts",
]

FLOW_SCHEMA_ID = "callguide/flow@1"
_FLOW_MARK = re.compile(rb"^schema:[ \t]*[\"']?callguide/flow@1[\"']?[ \t]*(#.*)?\r?$", re.M)

# --------------------------------------------------------------------------- schema


@lru_cache(maxsize=4)
def _schema_validator(path: str):
    """The flow schema's validator: jsonschema for the messages, the compiled check (`schemacheck`,
    about 20x faster) to say that a valid document is valid."""
    from jsonschema import Draft202012Validator

    from callguide.flow.schemacheck import CheckedValidator

    with open(path, encoding="utf-8") as fh:
        schema = json.load(fh)
    return CheckedValidator(Draft202012Validator(schema))


def schema_validator():
    from callguide.paths import schema_path

    return _schema_validator(str(schema_path()))


_PATTERN_WORDS = {
    "^[a-z][a-z0-9_-]*$": "an id: lowercase letters, digits, '-' or '_', starting with a letter",
    "^[a-z][a-z0-9_]*$": "a snake_case id: lowercase letters, digits and '_', starting with a letter",
    "^[a-z]{2}$": "a two-letter language code such as en",
    "^[a-z0-9][a-z0-9_.-]*$": "a text id: lowercase letters, digits, '.', '-' or '_'",
}
_TYPE_WORDS = {dict: "a mapping", list: "a list", str: "a string", bool: "true/false", int: "a number",
               float: "a number", type(None): "nothing (null)", _dt.date: "a date", _dt.datetime: "a date-time"}


def _what(v: Any) -> str:
    for t, w in _TYPE_WORDS.items():
        if type(v) is t:
            return w
    return type(v).__name__


def _short(v: Any) -> str:
    s = repr(v) if isinstance(v, str) else (json.dumps(v, default=str) if not isinstance(v, (PDict, PList))
                                            else _what(v))
    return s if len(s) <= 60 else s[:57] + "..."


def _walk(data: Any, path: Iterable[Any]) -> tuple[Any, tuple[int, int]]:
    """Follow a jsonschema path into the positioned data: (node, its line:col)."""
    node, lc = data, getattr(data, "lc", (1, 1))
    for key in path:
        if isinstance(node, PDict) and key in node:
            lc = node.vpos.get(key, lc)
            node = node[key]
        elif isinstance(node, PList) and isinstance(key, int) and 0 <= key < len(node):
            lc = node.ipos[key]
            node = node[key]
        else:
            break
    return node, lc


def _schema_message(e, node: Any) -> tuple[str, tuple[int, int] | None]:
    """A one-line, plain message for a jsonschema error (and a better position, if any)."""
    v = e.validator
    where = None
    if v == "required":
        missing = [k for k in e.validator_value if not (isinstance(node, dict) and k in node)]
        key = missing[0] if missing else "?"
        kind = node.get("kind") if isinstance(node, dict) else None
        if "then" in e.schema_path and isinstance(kind, str):
            article = "an" if kind[:1] in "aeiou" else "a"
            return f"missing required key '{key}' ({article} {kind} step needs it)", None
        return f"missing required key '{key}'", None
    if v == "additionalProperties":
        allowed = list((e.schema.get("properties") or {}).keys())
        pats = list((e.schema.get("patternProperties") or {}).keys())
        extra = [k for k in node if k not in allowed and not any(re.search(p, str(k)) for p in pats)]
        key = extra[0] if extra else "?"
        if isinstance(node, PDict) and key in node.kpos:
            where = node.kpos[key]
        hint = difflib.get_close_matches(str(key), allowed, n=1)
        if pats and not allowed[1:]:
            return f"unknown key '{key}' (a text has language codes such as en, and an optional id)", where
        more = f"; did you mean '{hint[0]}'?" if hint else f" (allowed: {', '.join(allowed)})"
        return f"unknown key '{key}'{more}", where
    if v == "enum":
        return f"{_short(e.instance)} is not one of: {', '.join(map(str, e.validator_value))}", None
    if v == "const":
        return f"must be {e.validator_value!r}, not {_short(e.instance)}", None
    if v == "type":
        want = e.validator_value if isinstance(e.validator_value, list) else [e.validator_value]
        words = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "a whole number",
                 "number": "a number", "boolean": "true/false", "null": "nothing"}
        return f"expected {' or '.join(words.get(w, w) for w in want)}, got {_what(e.instance)}", None
    if v == "pattern":
        desc = _PATTERN_WORDS.get(e.validator_value)
        if desc is None and e.validator_value.startswith("^(step:"):
            desc = "a selector: step:ID, step:FLOW/ID, flow:ID, category:payment|collection or action:NAME"
        if desc is None and "Ctrl" in e.validator_value:
            desc = "a hotkey such as F2 or Ctrl+B"
        return f"{_short(e.instance)} is not {desc or 'in the expected form ' + e.validator_value}", None
    if v in ("minItems", "minLength", "minProperties") and e.validator_value == 1:
        if "maxProperties" in e.schema and isinstance(e.instance, dict):
            return "an action is a one-key mapping NAME: {params} or a bare NAME", None
        return "must not be empty", None
    if v == "maxProperties" and e.schema.get("maxProperties") == 1:
        return "an action is a one-key mapping NAME: {params}; write each action as its own list item", None
    if v == "uniqueItems":
        return "has duplicate items", None
    msg = str(e.message).splitlines()[0]
    return (msg if len(msg) <= 160 else msg[:157] + "..."), None


def schema_diagnostics(data: Any, file: str) -> list[Diagnostic]:
    """Structural errors of a flow document, each at its node's line:col."""
    out = []
    for e in schema_validator().iter_errors(data):
        node, lc = _walk(data, e.absolute_path)
        msg, where = _schema_message(e, node)
        lc = where or lc
        out.append(Diagnostic(file, lc[0], lc[1], "schema", msg))
    out.sort(key=lambda d: d.sort_key)
    return out


# --------------------------------------------------------------------------- model building

_KIND_ONLY = {
    "fields": ("capture",),
    "consent": ("consent",),
    "outcome": ("outcome",),
    "actions": ("action", "outcome"),
}


class _FlowBuilder:
    def __init__(self, file: str, flow_id: str):
        self.file = file
        self.flow_id = flow_id
        self.diags: list[Diagnostic] = []

    def pos(self, lc: tuple[int, int]) -> Pos:
        return Pos(self.file, lc[0], lc[1])

    def text(self, m: PDict | None, slot: str) -> Text | None:
        if m is None:
            return None
        explicit = bool(m.get("id"))
        tid = m["id"] if explicit else f"{self.flow_id}.{slot}"
        return Text(id=tid, by_lang={k: v for k, v in m.items() if k != "id"}, pos=self.pos(m.lc),
                    explicit_id=explicit)

    def action(self, a: Any, lc: tuple[int, int]) -> Action:
        if isinstance(a, str):
            return Action(a, {}, self.pos(lc))
        (name, params), = a.items()
        return Action(name, params if params is not None else {}, self.pos(a.kpos[name]))

    def actions(self, seq: PList | None) -> tuple[Action, ...]:
        if not seq:
            return ()
        return tuple(self.action(a, lc) for a, lc in zip(seq, seq.ipos, strict=True))

    def step(self, s: PDict) -> Step:
        sid, kind = s["id"], s["kind"]
        for key, kinds in _KIND_ONLY.items():
            if key in s and kind not in kinds:
                lc = s.kpos[key]
                self.diags.append(Diagnostic(self.file, lc[0], lc[1], "schema",
                                             f"key '{key}' is not used on a {kind} step (only on {', '.join(kinds)})"))
        if "next" in s and "transitions" in s:
            lc = s.kpos["transitions"]
            self.diags.append(Diagnostic(self.file, lc[0], lc[1], "schema",
                                         "use either 'next' or 'transitions', not both"))
        if kind == "outcome":
            for key in ("next", "transitions"):
                if key in s:
                    lc = s.kpos[key]
                    self.diags.append(Diagnostic(self.file, lc[0], lc[1], "schema",
                                                 f"an outcome step ends the protocol: remove '{key}'"))
        base = f"{sid}."
        transitions: list[Transition] = []
        if "next" in s:
            transitions.append(Transition(to=s["next"], pos=self.pos(s.vpos["next"])))
        for i, (t, lc) in enumerate(zip(s.get("transitions") or (), getattr(s.get("transitions"), "ipos", ()),
                                        strict=True)):
            tid = t.get("id")
            transitions.append(Transition(
                to=t["to"], id=tid,
                label=self.text(t.get("label"), f"{base}choice.{tid if tid else i}.label"),
                when=t.get("when"), pos=self.pos(lc)))
        fields = []
        for f, lc in zip(s.get("fields") or (), getattr(s.get("fields"), "ipos", ()), strict=True):
            fid = f["id"]
            fb = f"{base}field.{fid}."
            choices = tuple(
                Choice(c["value"], self.text(c["label"], f"{fb}choice.{c['value']}"), self.pos(clc))
                for c, clc in zip(f.get("choices") or (), getattr(f.get("choices"), "ipos", ()), strict=True))
            fields.append(Field(
                id=fid, type=f["type"], label=self.text(f["label"], f"{fb}label"),
                help=self.text(f.get("help"), f"{fb}help"), required=f.get("required", True),
                sensitivity=f.get("sensitivity", "none"), consent=f.get("consent"), choices=choices,
                min=f.get("min"), max=f.get("max"), visible_when=f.get("visible_when"), pos=self.pos(lc)))
        consent = None
        if "consent" in s:
            c = s["consent"]
            consent = Consent(purpose=c["purpose"], wording=self.text(c["wording"], f"{base}consent"),
                              covers=tuple(c.get("covers") or ()), expires_in_days=c.get("expires_in_days"),
                              pos=self.pos(c.lc))
        requires = s.get("requires") or ()
        if isinstance(requires, str):
            requires = (requires,)
        return Step(
            id=sid, kind=kind, say=self.text(s.get("say"), f"{base}say"),
            guidance=self.text(s.get("guidance"), f"{base}guidance"), fields=tuple(fields), consent=consent,
            actions=self.actions(s.get("actions")), transitions=tuple(transitions), outcome=s.get("outcome"),
            category=s.get("category"), suppress_interrupts=tuple(s.get("suppress_interrupts") or ()),
            requires=tuple(requires), when_blocked=s.get("when_blocked"), pos=self.pos(s.lc))

    def flow(self, d: PDict, *, content_hash: str, source_text: str, path: str) -> Flow:
        steps = tuple(self.step(s) for s in d["steps"])
        interrupts = tuple(
            Interrupt(id=i["id"], protocol=i["protocol"], label=self.text(i["label"], f"interrupt.{i['id']}.label"),
                      hotkey=i.get("hotkey"), pos=self.pos(lc))
            for i, lc in zip(d.get("interrupts") or (), getattr(d.get("interrupts"), "ipos", ()), strict=True))
        invariants = tuple(
            Invariant(id=v["id"], kind=v["kind"], params={k: x for k, x in v.items() if k not in ("id", "kind")},
                      pos=self.pos(lc))
            for v, lc in zip(d.get("invariants") or (), getattr(d.get("invariants"), "ipos", ()), strict=True))
        waivers = tuple(
            Waiver(invariant=w["invariant"], reason=w["reason"], pos=self.pos(lc))
            for w, lc in zip(d.get("waivers") or (), getattr(d.get("waivers"), "ipos", ()), strict=True))
        sources = tuple(
            Source(id=s["id"], title=s["title"], ref=s.get("ref"), steps=tuple(s.get("steps") or ()),
                   pos=self.pos(lc))
            for s, lc in zip(d.get("sources") or (), getattr(d.get("sources"), "ipos", ()), strict=True))
        return Flow(
            id=d["id"], version=d["version"], priority=d["priority"], title=self.text(d["title"], "title"),
            description=self.text(d["description"], "description"), start=d["start"], steps=steps,
            languages=tuple(d["languages"]), sources=sources, review_needed=d.get("review_needed"),
            on_start=self.actions(d.get("on_start")), interrupts=interrupts, invariants=invariants,
            when_blocked=d.get("when_blocked"), waivers=waivers, content_hash=content_hash,
            source_text=source_text, path=path, pos=self.pos(d.lc),
            start_pos=self.pos(d.vpos["start"]))


#: The most characters of texts with template syntax (`{`) in one flow file. Compiling templates
#: costs up to ~12 us a character (a template alone is at most `expr.MAX_TEMPLATE_CHARS`), so this
#: keeps a hostile file's templates under about 0.6 s; the largest bundled flow has 6,400.
MAX_TEMPLATE_TEXT = 50_000


def _template_budget(data: PDict, file: str) -> list[Diagnostic]:
    """Refuse a file whose texts with templates add up to more than MAX_TEMPLATE_TEXT characters."""
    total = 0
    stack: list[Any] = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, PDict):
            items = [(v, node.vpos.get(k, node.lc)) for k, v in node.items()]
        else:
            items = list(zip(node, node.ipos, strict=True))
        for v, lc in items:
            if isinstance(v, str):
                if "{" in v:
                    total += len(v)
                    if total > MAX_TEMPLATE_TEXT:
                        return [Diagnostic(file, lc[0], lc[1], "file-too-large",
                                           f"the texts with templates in this file add up to over {MAX_TEMPLATE_TEXT} "
                                           "characters (the limit, so that checking them stays fast); split the flow")]
            elif isinstance(v, (PDict, PList)):
                stack.append(v)
    return []


def _build(data: Any, text: str, raw: bytes, file: str, path: str) -> tuple[Flow | None, list[Diagnostic]]:
    if not isinstance(data, PDict):
        lc = getattr(data, "lc", (1, 1))
        return None, [Diagnostic(file, lc[0], lc[1], "schema", "a flow file is a mapping (schema: callguide/flow@1, id: ...)")]
    diags = schema_diagnostics(data, file) or _template_budget(data, file)
    if diags:
        return None, diags
    b = _FlowBuilder(file, data["id"])
    flow = b.flow(data, content_hash=hashlib.sha256(raw).hexdigest(), source_text=text, path=path)
    return flow, b.diags


def load_flow_text(text: str, filename: str = "<memory>") -> tuple[Flow | None, list[Diagnostic]]:
    """Load a flow from text (the workbench's live editor). Never raises for bad input."""
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError as e:
        line = text.count("\n", 0, e.start) + 1
        col = e.start - (text.rfind("\n", 0, e.start) + 1) + 1
        return None, [Diagnostic(filename, line, col, "bad-utf8", "text contains characters that are not valid UTF-8")]
    if len(raw) > MAX_BYTES:
        return None, [Diagnostic(filename, 1, 1, "file-too-large",
                                 f"text is {len(raw)} bytes; the limit is {MAX_BYTES} bytes (1 MiB)")]
    data, diags = parse_text(text, filename)
    if diags:
        return None, diags
    return _build(data, text, raw, filename, filename)


def load_flow(path: str | os.PathLike) -> tuple[Flow | None, list[Diagnostic]]:
    """Load one flow file: the typed model (or None) and every problem found while loading."""
    file = display_path(path)
    data, text, raw, diags = read_yaml(path, file)
    if diags:
        return None, diags
    return _build(data, text, raw, file, str(path))


def _flow_id_guess(path: Path) -> str | None:
    """The top-level `id:` of a file that failed to load (so references to it are not reported twice).

    Reads at most the first `MAX_BYTES` of a regular file: the file already failed to load, and may
    be a device, a pipe or a sparse giant."""
    head, _ = read_bounded(path, head=True)
    if head is None:
        return None
    m = re.search(rb"^id:[ \t]*[\"']?([a-z][a-z0-9_-]*)[\"']?[ \t]*(#.*)?\r?$", head, re.M)
    return m.group(1).decode() if m else None


# --------------------------------------------------------------------------- files and library


def _is_flow_file(path: Path) -> bool:
    """Whether a file found in a folder says `schema: callguide/flow@1` (in its first MAX_BYTES).

    An oversized flow file is still found, so that loading it reports it as too large."""
    head, _ = read_bounded(path, head=True)
    return head is not None and bool(_FLOW_MARK.search(head))


def find_flow_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Every flow file among `paths` (files are taken as given; directories are searched).

    In a directory, a flow file is a `*.yaml`/`*.yml` with a top-level `schema: callguide/flow@1`,
    not a `*.test.yaml`/`*.practice.yaml`, and not under a `tests/` or `practice/` subfolder.
    """
    out: list[Path] = []
    seen: set[Path] = set()
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = []
            for f in p.rglob("*"):
                if f.suffix not in (".yaml", ".yml") or not f.is_file():
                    continue
                name = f.name
                if name.endswith((".test.yaml", ".test.yml", ".practice.yaml", ".practice.yml")):
                    continue
                parts = f.relative_to(p).parts[:-1]
                if any(x in ("tests", "practice") or x.startswith(".") for x in parts):
                    continue
                if _is_flow_file(f):
                    found.append(f)
            candidates = sorted(found)
        else:
            candidates = [p]
        for f in candidates:
            try:
                key = f.resolve()
            except (OSError, RuntimeError):  # a symlink loop: loading it says so
                key = f.absolute()
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


@contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """Hold the cyclic garbage collector while a library is read.

    Reading builds hundreds of thousands of small, long-lived objects; the collector would walk
    them again and again (a third of the time of a 200-flow validation). Reference counting still
    frees the garbage as it goes, and the collector runs again afterwards as usual."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _load_files(lib: FlowLibrary, diags: list[Diagnostic], files: list[Path]) -> None:
    for f in files:
        flow, d = load_flow(f)  # a missing, unreadable or non-regular file is one `io` diagnostic
        diags.extend(d)
        if flow is None:
            guess = _flow_id_guess(f)
            if guess:
                lib.failed_ids.add(guess)
            continue
        if flow.id in lib.flows:
            other = lib.flows[flow.id]
            diags.append(Diagnostic(flow.pos.file, flow.pos.line, flow.pos.col, "duplicate-id",
                                    f"flow id '{flow.id}' is already used by {other.pos.file}"))
            continue
        lib.flows[flow.id] = flow


def load_library(paths: Iterable[str | os.PathLike],
                 signposts: str | os.PathLike | None | bool = None) -> tuple[FlowLibrary, list[Diagnostic]]:
    """Load every flow under `paths` and the signposts file into one library.

    `signposts`: a path; None for the default (`callguide.paths.signposts_path()`, skipped
    silently when it does not exist); False to skip it.
    """
    lib = FlowLibrary()
    diags: list[Diagnostic] = []
    files = find_flow_files(paths)
    with _no_gc_pauses():
        _load_files(lib, diags, files)
    if signposts is not False:
        if signposts is None:
            from callguide.paths import signposts_path

            sp = signposts_path()
            if sp.exists():
                lib.signposts, d = load_signposts(sp)
                diags.extend(d)
        else:
            lib.signposts, d = load_signposts(signposts)
            diags.extend(d)
    return lib, diags


# --------------------------------------------------------------------------- signposts

_SIGNPOST_LISTS = ("crisis", "health", "debt_advice")
#: Signposts not checked for this long are reported (as warnings): numbers and hours change.
SIGNPOST_STALE_DAYS = 180
_ENTRY_KEYS = {"name", "phone", "sms", "url", "hours", "last_checked", "note", "notes", "description", "text"}


def load_signposts(path: str | os.PathLike) -> tuple[dict, list[Diagnostic]]:
    """Load `resources/signposts.yaml`: {countries: {CC: {name, emergency, crisis, health, debt_advice}}}.

    Each entry needs `name`, `last_checked` (a date) and one of `phone`/`sms`/`url`.
    Problems are diagnostics with rule `signposts`; what is usable is returned anyway.
    """
    file = display_path(path)
    data, _text, _raw, diags = read_yaml(path, file)
    if diags:
        return {}, diags
    out: list[Diagnostic] = []

    def err(lc: tuple[int, int], msg: str, severity: str = "error") -> None:
        out.append(Diagnostic(file, lc[0], lc[1], "signposts", msg, severity))

    if not isinstance(data, PDict) or not isinstance(data.get("countries"), PDict):
        err(getattr(data, "lc", (1, 1)), "expected a mapping with 'countries: {CODE: {...}}'")
        return {}, out
    for key in data:
        if key != "countries":
            err(data.kpos[key], f"unknown key '{key}' (expected 'countries')", "warning")

    def entry(e: Any, lc: tuple[int, int], where: str) -> None:
        if not isinstance(e, PDict):
            err(lc, f"{where}: expected a mapping with name, last_checked and phone/sms/url")
            return
        name = e.get("name")
        if not isinstance(name, str) or not name.strip():
            err(e.vpos.get("name", e.lc), f"{where}: needs a 'name'")
        label = f"{where} '{name}'" if isinstance(name, str) else where
        if "last_checked" not in e:
            err(e.lc, f"{label}: needs 'last_checked' (the date the details were checked)")
        else:
            lcv = e["last_checked"]
            if isinstance(lcv, str):
                try:
                    e["last_checked"] = _dt.date.fromisoformat(lcv)
                except ValueError:
                    err(e.vpos["last_checked"], f"{label}: last_checked {lcv!r} is not a date (YYYY-MM-DD)")
            elif isinstance(lcv, _dt.datetime):
                e["last_checked"] = lcv.date()
            elif not isinstance(lcv, _dt.date):
                err(e.vpos["last_checked"], f"{label}: last_checked must be a date (YYYY-MM-DD)")
            checked = e.get("last_checked")
            if isinstance(checked, _dt.date) and (_dt.date.today() - checked).days > SIGNPOST_STALE_DAYS:
                err(e.vpos["last_checked"], f"{label}: last checked {checked.isoformat()}, over "
                    f"{SIGNPOST_STALE_DAYS} days ago; numbers and opening hours change, check it again", "warning")
        if not any(k in e for k in ("phone", "sms", "url")):
            err(e.lc, f"{label}: needs one of phone, sms or url")
        for k in ("phone", "sms", "url", "hours"):
            if k in e and not (isinstance(e[k], str) and e[k].strip()):
                err(e.vpos[k], f"{label}: {k} must be a non-empty quoted string")
        for k in e:
            if k not in _ENTRY_KEYS:
                err(e.kpos[k], f"{label}: unknown key '{k}'", "warning")

    countries = data["countries"]
    for code, c in countries.items():
        clc = countries.vpos[code]
        if not re.fullmatch(r"[A-Z]{2}", code):
            err(countries.kpos[code], f"country code '{code}' must be two capital letters (UK, DK, CZ)")
        if not isinstance(c, PDict):
            err(clc, f"{code}: expected a mapping with name, emergency, crisis, health, debt_advice")
            continue
        if not isinstance(c.get("name"), str):
            err(c.vpos.get("name", c.lc), f"{code}: needs a 'name'")
        if "emergency" not in c:
            err(c.lc, f"{code}: needs an 'emergency' entry")
        else:
            entry(c["emergency"], c.vpos["emergency"], f"{code} emergency")
        for k in _SIGNPOST_LISTS:
            if k not in c:
                if k != "health":
                    err(c.lc, f"{code}: needs a '{k}' list")
                continue
            seq = c[k]
            if not isinstance(seq, PList):
                err(c.vpos[k], f"{code} {k}: expected a list of entries")
                continue
            for i, (e, lc) in enumerate(zip(seq, seq.ipos, strict=True)):
                entry(e, lc, f"{code} {k}[{i}]")
        for k in c:
            if k not in ("name", "emergency", *_SIGNPOST_LISTS):
                err(c.kpos[k], f"{code}: unknown key '{k}'", "warning")
    out.sort(key=lambda d: d.sort_key)
    return data, out


def decode_bytes(data: bytes, filename: str) -> tuple[str | None, list[Diagnostic]]:
    """Public wrapper of the UTF-8/size checks (for callers holding bytes)."""
    return decode(data, filename)
