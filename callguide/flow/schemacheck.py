"""A fast yes/no answer to "is this document valid against the flow JSON Schema?".

`jsonschema` gives the messages we show, but walks a 60-step flow in about 30 ms (it re-creates a
validator object for every node it descends into). Almost every flow read is valid, so the loader
asks this module first: the schema is compiled once into plain Python closures (about 20x faster),
and only a document it finds invalid goes through `jsonschema` for the diagnostics. The answer must
be exactly jsonschema's (Draft 2020-12 semantics: `bool` is not a number, `1.0` is an integer,
`1 != true` in `enum`/`const`, `pattern` searches); a test compares the two on generated documents.
A schema keyword this module does not know makes `compile_schema` raise `Unsupported`, and the
loader then always uses jsonschema: a faster answer is never a different one.

Never imports Qt; never evaluates anything from the document.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Check = Callable[[Any], bool]

#: Keywords that only annotate (jsonschema does not assert `format` by default either).
_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "$defs", "definitions", "title", "description",
                          "default", "examples", "deprecated", "readOnly", "writeOnly", "format",
                          "contentMediaType", "contentEncoding"})


class Unsupported(ValueError):
    """The schema uses something this checker does not implement (use jsonschema instead)."""


def _is_integer(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    return isinstance(x, int) or (isinstance(x, float) and x.is_integer())


def _is_number(x: Any) -> bool:
    import numbers

    return not isinstance(x, bool) and isinstance(x, numbers.Number)


_TYPES: dict[str, Check] = {
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "string": lambda x: isinstance(x, str),
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
    "integer": _is_integer,
    "number": _is_number,
}


def _unbool(x: Any) -> Any:
    return ("\0bool", x) if isinstance(x, bool) else x


def equal(a: Any, b: Any) -> bool:
    """JSON equality as jsonschema has it: recursive, and `true` is not `1`."""
    if a is b:
        return True
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    if isinstance(a, Sequence) and isinstance(b, Sequence):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return len(a) == len(b) and all(k in b and equal(v, b[k]) for k, v in a.items())
    return bool(_unbool(a) == _unbool(b))


def _unique(items: list) -> bool:
    for i, x in enumerate(items):
        for y in items[i + 1:]:
            if equal(x, y):
                return False
    return True


class _Compiler:
    def __init__(self, root: Mapping[str, Any]):
        self.root = root
        self.refs: dict[str, Check] = {}

    def ref(self, pointer: str) -> Check:
        if pointer in self.refs:
            return self.refs[pointer]
        if not pointer.startswith("#"):
            raise Unsupported(f"$ref {pointer!r} is not local")
        cell: list[Check] = []
        self.refs[pointer] = lambda x: cell[0](x)  # recursion-safe: filled in below
        node: Any = self.root
        for part in [p for p in pointer[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or part not in node:
                raise Unsupported(f"$ref {pointer!r} does not resolve")
            node = node[part]
        cell.append(self.compile(node))
        self.refs[pointer] = cell[0]
        return cell[0]

    def compile(self, s: Any) -> Check:  # noqa: C901 - one branch per keyword, flat on purpose
        if s is True or s == {}:
            return lambda x: True
        if s is False:
            return lambda x: False
        if not isinstance(s, Mapping):
            raise Unsupported(f"schema {s!r}")
        checks: list[Check] = []
        for key, v in s.items():
            if key == "$id" and s is not self.root:
                raise Unsupported("a nested $id changes what a $ref means")
            if key in _ANNOTATIONS:
                continue
            if key == "type":
                names = [v] if isinstance(v, str) else list(v)
                if any(n not in _TYPES for n in names):
                    raise Unsupported(f"type {v!r}")
                fns = [_TYPES[n] for n in names]
                checks.append(fns[0] if len(fns) == 1 else (lambda x, fns=fns: any(f(x) for f in fns)))
            elif key == "$ref":
                checks.append(self.ref(v))
            elif key == "enum":
                vals = list(v)
                checks.append(lambda x, vals=vals: any(equal(x, y) for y in vals))
            elif key == "const":
                checks.append(lambda x, c=v: equal(x, c))
            elif key == "required":
                req = list(v)
                checks.append(lambda x, req=req: not isinstance(x, dict) or all(k in x for k in req))
            elif key in ("properties", "patternProperties", "additionalProperties"):
                if key == "properties":
                    checks.append(self.object_keys(s))
            elif key == "items":
                item = self.compile(v)
                checks.append(lambda x, item=item: not isinstance(x, list) or all(item(i) for i in x))
            elif key in ("minItems", "maxItems", "minProperties", "maxProperties", "minLength", "maxLength"):
                kind = list if key.endswith("Items") else dict if key.endswith("Properties") else str
                lo = key.startswith("min")
                checks.append(lambda x, n=v, kind=kind, lo=lo: not isinstance(x, kind)
                              or (len(x) >= n if lo else len(x) <= n))
            elif key == "uniqueItems":
                if v:
                    checks.append(lambda x: not isinstance(x, list) or _unique(x))
            elif key == "pattern":
                rx = re.compile(v)
                checks.append(lambda x, rx=rx: not isinstance(x, str) or rx.search(x) is not None)
            elif key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                op = {"minimum": lambda a, b: a >= b, "maximum": lambda a, b: a <= b,
                      "exclusiveMinimum": lambda a, b: a > b, "exclusiveMaximum": lambda a, b: a < b}[key]
                checks.append(lambda x, op=op, n=v: not _is_number(x) or op(x, n))
            elif key == "allOf":
                subs = [self.compile(x) for x in v]
                checks.append(lambda x, subs=subs: all(f(x) for f in subs))
            elif key == "anyOf":
                subs = [self.compile(x) for x in v]
                checks.append(lambda x, subs=subs: any(f(x) for f in subs))
            elif key == "oneOf":
                subs = [self.compile(x) for x in v]
                checks.append(lambda x, subs=subs: sum(1 for f in subs if f(x)) == 1)
            elif key == "not":
                sub = self.compile(v)
                checks.append(lambda x, sub=sub: not sub(x))
            elif key == "if":
                cond = self.compile(v)
                then = self.compile(s["then"]) if "then" in s else None
                other = self.compile(s["else"]) if "else" in s else None
                checks.append(lambda x, c=cond, t=then, e=other: (t is None or t(x)) if c(x) else (e is None or e(x)))
            elif key in ("then", "else"):
                continue  # compiled with "if"; alone they do nothing
            else:
                raise Unsupported(f"keyword {key!r}")
        if "properties" not in s and ("patternProperties" in s or "additionalProperties" in s):
            checks.append(self.object_keys(s))
        if not checks:
            return lambda x: True
        if len(checks) == 1:
            return checks[0]

        def all_checks(x: Any, checks: tuple[Check, ...] = tuple(checks)) -> bool:
            for c in checks:
                if not c(x):
                    return False
            return True

        return all_checks

    def object_keys(self, s: Mapping[str, Any]) -> Check:
        """properties + patternProperties + additionalProperties, in one pass over the keys."""
        props = {k: self.compile(v) for k, v in (s.get("properties") or {}).items()}
        pats = [(re.compile(p), self.compile(v)) for p, v in (s.get("patternProperties") or {}).items()]
        extra = s.get("additionalProperties", True)
        extra_fn = None if extra is True else self.compile(extra)

        def check(x: Any) -> bool:
            if not isinstance(x, dict):
                return True
            for k, v in x.items():
                fn = props.get(k)
                matched = fn is not None
                if matched and not fn(v):
                    return False
                if pats:
                    ks = k if isinstance(k, str) else str(k)
                    for rx, pfn in pats:
                        if rx.search(ks) is not None:
                            matched = True
                            if not pfn(v):
                                return False
                if not matched and extra_fn is not None and not extra_fn(v):
                    return False
            return True

        return check


def compile_schema(schema: Mapping[str, Any]) -> Check:
    """A function that says whether a document is valid against `schema` (raises Unsupported)."""
    return _Compiler(schema).compile(schema)


class CheckedValidator:
    """A jsonschema validator that answers valid documents with the compiled check.

    `iter_errors` yields nothing at once for a valid document and jsonschema's own errors for an
    invalid one; everything else is the wrapped validator's."""

    def __init__(self, validator: Any):
        self.validator = validator
        try:
            self._valid: Check | None = compile_schema(validator.schema)
        except Unsupported:
            self._valid = None

    def is_valid(self, instance: Any) -> bool:
        return self._valid(instance) if self._valid is not None else self.validator.is_valid(instance)

    def iter_errors(self, instance: Any) -> Any:
        if self._valid is not None and self._valid(instance):
            return iter(())
        return self.validator.iter_errors(instance)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.validator, name)
