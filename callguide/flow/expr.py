"""The safe expression and template language of flows, with every cost bounded.

Conditions (`when`, `visible_when`) and prompt templates are Jinja2, compiled in a sandbox
(`BoundedSandbox`, an `ImmutableSandboxedEnvironment`) with `StrictUndefined`: no access to
internals, no Python `eval`, no imports, no changing lists or dicts. Jinja's sandbox limits no
cost, and it folds constants while compiling (so the validator itself used to run
`{{ 9**(9**9) }}`). Here every cost is bounded:

- operators (`+ - * / // % **` and unary `- +`) are all intercepted: an exponent is at most
  `MAX_EXPONENT`, an integer at most `MAX_INT_BITS` bits, and a text or list made by `*`, `+`,
  `%` or `~` at most `MAX_TEXT` characters, checked *before* the work where the work could be
  large (`'a' * 10**9` allocates nothing);
- nothing runs while compiling: intercepted operators are never folded, every filter takes the
  context and the output finalizer too (so Jinja cannot fold them), and the optimizer is off;
- loops: `range()` gives at most `MAX_LOOP` numbers, all loops of one render together run at
  most `MAX_LOOP` times, and recursive loops are refused;
- filters and calls: only the listed methods of texts, numbers, dates and containers may be
  called; widths, repeats and joins are checked before the call and every result is measured;
- one render produces at most `MAX_PRODUCED` characters in all (outputs and intermediate texts),
  its text is at most `MAX_TEXT` characters, and it stops after `RENDER_SECONDS` of CPU time;
- a template's source is at most `MAX_TEMPLATE_CHARS` characters (compiling costs time too).

A broken limit raises `LimitError` (an `ExprError`). The validator reports the ones it can see
in the source (`check_limits`: constants such as `9**(9**9)`, `range(99999)`, a factor over
`MAX_TEXT`, nested loops over `MAX_LOOP`); at run time the render fails with one line. Date and
timedelta arithmetic and Decimal money arithmetic work as in Python. Never imports Qt.
"""

from __future__ import annotations

import contextvars
import datetime as _dt
import decimal
import numbers
import re
import time
from collections.abc import ItemsView, KeysView, ValuesView
from decimal import Decimal
from functools import lru_cache
from itertools import islice
from typing import Any

from jinja2 import (
    StrictUndefined,
    TemplateError,
    TemplateSyntaxError,
    Undefined,
    UndefinedError,
    meta,
    nodes,
)
from jinja2.exceptions import SecurityError
from jinja2.parser import Parser
from jinja2.runtime import str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace, pass_context
from jinja2.visitor import NodeTransformer

#: Top-level names every expression may use besides field ids (docs/flow-language.md).
RESERVED_NAMES = frozenset({"account", "consent", "consent_given", "state", "signposts", "call", "now", "today", "local_time",
                            "true", "false", "none", "True", "False", "None"})

#: The longest text (or list, counted as printed) a template may make, and the longest rendered text.
MAX_TEXT = 100_000
#: All the characters one render may produce: outputs, intermediate texts, filter and call results.
MAX_PRODUCED = 2_000_000
#: The largest integer, in bits (about 1,200 digits).
MAX_INT_BITS = 4096
#: The largest exponent of `**`.
MAX_EXPONENT = 1000
#: The most numbers `range()` gives, and the most loop iterations of one render, all loops together.
MAX_LOOP = 10_000
#: The widest field in `%` formatting (`'%5d'`).
MAX_WIDTH = 1000
#: The longest template source, in characters.
MAX_TEMPLATE_CHARS = 10_000
#: CPU time (of the rendering thread) one render or evaluation may take; a text renders in about 0.1 ms.
RENDER_SECONDS = 0.1


class ExprError(ValueError):
    """A condition or template that cannot be compiled or evaluated."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


class LimitError(ExprError):
    """A template or condition over one of the limits above."""


# --------------------------------------------------------------------------- the budget of one render


class _Budget:
    __slots__ = ("deadline", "loops", "produced")

    def __init__(self) -> None:
        self.deadline = time.thread_time() + RENDER_SECONDS
        self.loops = 0
        self.produced = 0


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("callguide_expr_budget", default=None)


def _budget() -> _Budget:
    b = _BUDGET.get()
    return b if b is not None else _Budget()  # outside render()/evaluate(): a budget for this step alone


def _tick(b: _Budget) -> None:
    if time.thread_time() > b.deadline:
        raise LimitError(f"it takes longer than {RENDER_SECONDS} s to work out (the limit); simplify it")


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _size(v: Any, limit: int = MAX_TEXT, depth: int = 0, memo: dict[int, int] | None = None) -> int:
    """About how many characters `str(v)` has; counting stops a little past `limit`."""
    if isinstance(v, str):
        return len(v)
    if isinstance(v, bool) or v is None:
        return 5
    if isinstance(v, int):
        return v.bit_length() * 30103 // 100000 + 2
    if isinstance(v, (bytes, bytearray)):
        return 4 * len(v)
    if isinstance(v, decimal.Decimal):
        return len(v.as_tuple().digits) + 8
    if isinstance(v, Namespace):
        v = object.__getattribute__(v, "_Namespace__attrs")
    if isinstance(v, (KeysView, ValuesView, ItemsView)):
        v = list(islice(v, limit + 1))
    if not isinstance(v, (list, tuple, set, frozenset, dict)):
        return 40  # floats, dates, ranges, generators, Undefined, macros: short when printed
    if memo is None:
        memo = {}
    key = id(v)
    if key in memo:
        return memo[key]
    if depth > 100:
        return limit + 1
    total = 2
    if isinstance(v, dict):
        for k, x in v.items():
            total += _size(k, limit, depth + 1, memo) + _size(x, limit, depth + 1, memo) + 4
            if total > limit:
                break
    else:
        for x in v:
            total += _size(x, limit, depth + 1, memo) + 2
            if total > limit:
                break
    memo[key] = total
    return total


def _check_input(v: Any, what: str) -> None:
    """Refuse an input (to a filter or call) that is over the limits: it would be made bigger still."""
    if _is_int(v):
        if v.bit_length() > MAX_INT_BITS:
            raise LimitError(f"{what}: a number over {MAX_INT_BITS} bits (the limit)")
        return
    n = _size(v)
    if n > MAX_TEXT:
        raise LimitError(f"{what}: a value of over {MAX_TEXT} characters (the limit)")


def _spend(v: Any, what: str) -> Any:
    """Measure a value just made: refuse it over the limits, and count it against the render."""
    b = _budget()
    _tick(b)
    if _is_int(v):
        if v.bit_length() > MAX_INT_BITS:
            raise LimitError(f"{what} makes a number of over {MAX_INT_BITS} bits (the limit)")
        n = 8
    else:
        n = _size(v)
        if n > MAX_TEXT:
            raise LimitError(f"{what} makes a text or list of over {MAX_TEXT} characters (the limit)")
    b.produced += n
    if b.produced > MAX_PRODUCED:
        raise LimitError(f"it produces over {MAX_PRODUCED} characters in all (the limit)")
    return v


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")


def _check_percent(fmt: str, what: str) -> None:
    for width, precision in _PERCENT_SPEC.findall(fmt):
        for n in (width, precision):
            if n == "*":
                raise LimitError(f"{what}: a '*' width is not allowed in % formatting")
            if n and int(n) > MAX_WIDTH:
                raise LimitError(f"{what}: the width {n} is over the limit of {MAX_WIDTH}")


def _check_width(n: Any, what: str, limit: int = MAX_TEXT) -> None:
    if _is_int(n) and n > limit:
        raise LimitError(f"{what}: {n} is over the limit of {limit}")


def _check_binop(op: str, a: Any, b: Any) -> None:
    """Refuse, before doing it, an operation whose result would be over the limits."""
    if op == "*":
        if _is_int(a) and isinstance(b, (str, list, tuple)):
            a, b = b, a
        if isinstance(a, (str, list, tuple)) and _is_int(b):
            if b > MAX_TEXT or (b > 0 and _size(a) * b > MAX_TEXT):
                kind = "a text" if isinstance(a, str) else "a list"
                raise LimitError(f"repeating {kind} {b} times is over the limit of {MAX_TEXT} characters")
        elif _is_int(a) and _is_int(b) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise LimitError(f"the product is over {MAX_INT_BITS} bits (the limit)")
    elif op == "**":
        if isinstance(b, (numbers.Real, decimal.Decimal)) and not isinstance(b, bool) and abs(b) > MAX_EXPONENT:
            raise LimitError(f"the exponent {b} is over the limit of {MAX_EXPONENT}")
        if _is_int(a) and _is_int(b) and b > 0 and a.bit_length() * b > MAX_INT_BITS + 64:
            raise LimitError(f"{a} ** {b} is over {MAX_INT_BITS} bits (the limit)")
    elif op == "+":
        if isinstance(a, (str, list, tuple)) and isinstance(b, (str, list, tuple)) \
                and _size(a) + _size(b) > MAX_TEXT:
            raise LimitError(f"the sum is a text or list of over {MAX_TEXT} characters (the limit)")
    elif op == "%" and isinstance(a, str):
        _check_percent(a, "% formatting")
        _check_input(b, "% formatting")


def _bounded_range(*args: Any) -> range:
    """`range()` for templates: at most MAX_LOOP numbers."""
    rng = range(*args)
    try:
        n = len(rng)
    except OverflowError:
        n = -1
    if n > MAX_LOOP or n < 0:
        count = f"{n} numbers" if n >= 0 else "so many numbers"
        raise LimitError(f"range() of {count} is over the limit of {MAX_LOOP}")
    return rng


@pass_context
def _loop(context: Any, iterable: Any) -> Any:
    """Wraps the iterable of every `{% for %}`: counts iterations against the render's budget. Every
    item counts (a loop's `if` filters inside it), so a sized iterable is charged whole on entry: nested
    loops over the limit fail before the first iteration, not after ten thousand."""
    b = _budget()
    try:
        ahead = len(iterable)
    except TypeError:
        ahead = -1
    if ahead >= 0:
        b.loops += ahead
        if b.loops > MAX_LOOP:
            raise LimitError(f"its loops run over {MAX_LOOP} times (the limit)")
    for item in iterable:
        if ahead < 0:
            b.loops += 1
            if b.loops > MAX_LOOP:
                raise LimitError(f"its loops run over {MAX_LOOP} times (the limit)")
        _tick(b)
        yield item


_loop._callguide_guarded = True  # type: ignore[attr-defined]


@pass_context
def _concat(context: Any, items: Any) -> str:
    """The `~` operator, measured before the text is made."""
    total = 0
    for x in items:
        total += _size(x)
        if total > MAX_TEXT:
            raise LimitError(f"'~' makes a text of over {MAX_TEXT} characters (the limit)")
    return _spend(str_join(items), "'~'")


_concat._callguide_guarded = True  # type: ignore[attr-defined]


@pass_context
def _finalize(context: Any, value: Any) -> Any:
    """Every `{{ output }}` and piece of literal text passes here before it becomes text."""
    return _spend(value, "the output")


# --------------------------------------------------------------------------- filters and methods

#: Jinja filters not offered in flow texts: HTML or JSON output, regular expressions or text
#: wrapping whose cost on hostile input is not bounded, and randomness (flow tests must repeat).
_DROPPED_FILTERS = frozenset({"urlize", "xmlattr", "tojson", "pprint", "striptags", "wordwrap", "random"})


def _pre_indent(value: Any, width: Any = 4, *args: Any, **kwargs: Any) -> None:
    w = len(width) if isinstance(width, str) else width if _is_int(width) else 0
    lines = str(value).count("\n") + 1 if isinstance(value, str) else 1
    if w * lines > MAX_TEXT:
        raise LimitError(f"indent: {lines} lines indented by {w} is over the limit of {MAX_TEXT} characters")


def _no_list_sum(start: Any) -> None:
    if isinstance(start, (list, tuple, str)):
        raise LimitError("sum: adding up lists or texts is not allowed (it takes quadratic time); use join")


def _pre_replace(s: Any, old: Any, new: Any, count: Any = None, *args: Any) -> None:
    if isinstance(s, str) and isinstance(old, str) and isinstance(new, str):
        hits = s.count(old) if old else len(s) + 1
        if _is_int(count) and count >= 0:
            hits = min(hits, count)
        if len(s) + hits * (len(new) - len(old)) > MAX_TEXT:
            raise LimitError(f"replace makes a text of over {MAX_TEXT} characters (the limit)")


_FILTER_CHECKS: dict[str, Any] = {
    "center": lambda value, width=80, *a, **k: _check_width(width, "center"),
    "indent": _pre_indent,
    "sum": lambda iterable, attribute=None, start=0, *a, **k: _no_list_sum(start),
    "format": lambda value, *a, **k: _check_percent(str(value), "format"),
    "replace": _pre_replace,
    "batch": lambda value, linecount, *a, **k: _check_width(linecount, "batch"),
    "slice": lambda value, slices, *a, **k: _check_width(slices, "slice", MAX_LOOP),
    "truncate": lambda s, length=255, *a, **k: _check_width(length, "truncate"),
}


def _materialize(value: Any, what: str) -> Any:
    """An iterable as a list (at most MAX_TEXT items), so that its size can be checked first."""
    if isinstance(value, (str, list, tuple, dict)) or isinstance(value, Undefined):
        return value
    try:
        items = list(islice(iter(value), MAX_TEXT + 1))
    except TypeError:
        return value
    if len(items) > MAX_TEXT:
        raise LimitError(f"{what}: over {MAX_TEXT} items (the limit)")
    return items


def _guard_filter(name: str, func: Any) -> Any:
    """Wrap a filter: it takes the context (so it is never run while compiling), its inputs and
    result are measured, and the filters that can amplify are checked before they run."""
    if getattr(func, "_callguide_guarded", False):
        return func
    kind = getattr(getattr(func, "jinja_pass_arg", None), "name", None)
    pre = _FILTER_CHECKS.get(name)
    label = f"the {name} filter"

    @pass_context
    def guarded(context: Any, *args: Any, **kwargs: Any) -> Any:
        _tick(_budget())
        if name in ("join", "sum", "list", "string", "unique", "sort") and args:
            args = (_materialize(args[0], label), *args[1:])
        for a in args:
            _check_input(a, label)
        for a in kwargs.values():
            _check_input(a, label)
        if pre is not None:
            try:
                pre(*args, **kwargs)
            except TypeError:
                pass  # wrong arguments: the filter itself says so
        if kind == "context":
            result = func(context, *args, **kwargs)
        elif kind == "eval_context":
            result = func(context.eval_ctx, *args, **kwargs)
        elif kind == "environment":
            result = func(context.environment, *args, **kwargs)
        else:
            result = func(*args, **kwargs)
        return _spend(result, label)

    guarded._callguide_guarded = True  # type: ignore[attr-defined]
    guarded.__name__ = getattr(func, "__name__", name)
    guarded.__doc__ = getattr(func, "__doc__", None)
    return guarded


class _GuardedFilters(dict):
    """The filter table: whatever is put in it (also later, by other modules) is guarded."""

    def __setitem__(self, name: str, func: Any) -> None:
        super().__setitem__(name, _guard_filter(name, func))

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for name, func in dict(*args, **kwargs).items():
            self[name] = func

    def setdefault(self, name: str, func: Any = None) -> Any:  # type: ignore[override]
        if name not in self:
            self[name] = func
        return self[name]


_NUMBER_METHODS = frozenset({"bit_length", "is_integer", "conjugate", "quantize", "normalize",
                             "to_integral_value", "adjusted", "is_signed", "is_zero", "is_finite",
                             "is_nan", "copy_abs", "copy_negate", "compare", "max", "min"})
_METHODS: tuple[tuple[type | tuple[type, ...], frozenset[str]], ...] = (
    (str, frozenset({"capitalize", "casefold", "center", "count", "endswith", "find", "index", "isalnum",
                     "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric",
                     "isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower", "lstrip",
                     "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex", "rjust",
                     "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip",
                     "swapcase", "title", "upper", "zfill"})),
    ((int, float, decimal.Decimal), _NUMBER_METHODS),
    ((_dt.date, _dt.time, _dt.timedelta), frozenset({"strftime", "isoformat", "isoweekday", "weekday",
                                                       "isocalendar", "date", "time", "replace", "toordinal",
                                                       "ctime", "astimezone", "utcoffset", "tzname",
                                                       "total_seconds", "timestamp"})),
    ((list, tuple), frozenset({"count", "index"})),
    (dict, frozenset({"get", "keys", "values", "items"})),
)


def _allowed_methods(obj: Any) -> frozenset[str] | None:
    for types, names in _METHODS:
        if isinstance(obj, types):
            return names
    return None


def _check_method(owner: Any, name: str, args: tuple, kwargs: dict) -> Any:
    """Check a method call on a text before it runs; returns replacement args for `join`."""
    what = f"{name}()"
    if name in ("center", "ljust", "rjust", "zfill") and args:
        _check_width(args[0], what)
    elif name == "replace" and len(args) >= 2:
        _pre_replace(owner, *args[:3])
    elif name == "join" and args:
        items = _materialize(args[0], what)
        total = 0
        for x in items:
            total += _size(x) + len(owner)
            if total > MAX_TEXT:
                raise LimitError(f"join() makes a text of over {MAX_TEXT} characters (the limit)")
        return (items, *args[1:])
    return args


# --------------------------------------------------------------------------- the sandbox


class _Bounds(NodeTransformer):
    """Rewrites a parsed template so that loops are counted, literal text is measured like any
    output, and `~` is measured before it joins."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        if node.recursive:
            raise TemplateSyntaxError("recursive loops are not allowed in flow texts", node.lineno)
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, "_callguide_loop", [], [], None, None, lineno=node.iter.lineno)
        return node

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        self.generic_visit(node)
        node.nodes = [nodes.Const(n.data, lineno=n.lineno) if isinstance(n, nodes.TemplateData) else n
                      for n in node.nodes]
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Filter(nodes.List(node.nodes, lineno=node.lineno), "_callguide_concat", [], [], None, None,
                            lineno=node.lineno)


class _BoundedExpression:
    """A compiled condition: `fn(**namespace)` evaluates it within a fresh budget."""

    def __init__(self, template: Any):
        self._template = template

    def __call__(self, **namespace: Any) -> Any:
        token = _BUDGET.set(_Budget())
        try:
            context = self._template.new_context(namespace)
            for _ in self._template.root_render_func(context):
                pass
            return context.vars["result"]
        finally:
            _BUDGET.reset(token)


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with every operator intercepted and every cost bounded."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
    intercepted_unops = frozenset({"+", "-"})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("optimized", False)
        kwargs.setdefault("finalize", _finalize)
        super().__init__(**kwargs)
        filters = _GuardedFilters()
        filters.update({k: v for k, v in self.filters.items() if k not in _DROPPED_FILTERS})
        self.filters = filters
        self.filters["_callguide_loop"] = _loop
        self.filters["_callguide_concat"] = _concat
        self.globals.pop("lipsum", None)
        self.globals["range"] = _bounded_range

    # -- compiling
    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        if len(source) > MAX_TEMPLATE_CHARS:
            raise LimitError(f"the template has {len(source)} characters; the limit is {MAX_TEMPLATE_CHARS}")
        return self._bound(super()._parse(source, name, filename))

    def _bound(self, ast: Any) -> Any:
        ast = _Bounds().visit(ast)
        ast.set_environment(self)
        return ast

    def parse_condition(self, source: str) -> nodes.Expr:
        """A condition's bounded AST, parsed exactly as `compile_expression` runs it."""
        if len(source) > MAX_TEMPLATE_CHARS:
            raise LimitError(f"the condition has {len(source)} characters; the limit is {MAX_TEMPLATE_CHARS}")
        parser = Parser(self, source, state="variable")
        expr = parser.parse_expression()
        if not parser.stream.eos:
            tok = parser.stream.current
            raise TemplateSyntaxError(f"unexpected {tok.value!r} after the condition", tok.lineno)
        return self._bound(expr)

    def compile_expression(self, source: str, undefined_to_none: bool = True) -> Any:
        """A condition as a function of the namespace (`undefined_to_none` is not used: an undefined
        result is left to the caller, as `evaluate` does)."""
        expr = self.parse_condition(source)
        body = nodes.Template([nodes.Assign(nodes.Name("result", "store"), expr, lineno=1)], lineno=1)
        return _BoundedExpression(self.from_string(self._bound(body)))

    # -- running
    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _tick(_budget())
        _check_binop(operator, left, right)
        return _spend(self.binop_table[operator](left, right), f"'{operator}'")

    def call_unop(self, context: Any, operator: str, arg: Any) -> Any:
        _tick(_budget())
        return _spend(self.unop_table[operator](arg), f"'{operator}'")

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        allowed = _allowed_methods(obj)
        return allowed is None or attr in allowed or not callable(value)

    def wrap_str_format(self, value: Any) -> None:
        return None  # str.format is not on the list of methods: `%` and the format filter are bounded

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _tick(_budget())
        owner = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "call")
        for a in args:
            _check_input(a, f"{name}()")
        for a in kwargs.values():
            _check_input(a, f"{name}()")
        if isinstance(owner, str):
            args = _check_method(owner, name, args, kwargs)
        return _spend(super().call(__context, __obj, *args, **kwargs), f"{name}()")


_env = BoundedSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)

_COMPILE_ERRORS = (RecursionError, SyntaxError, ValueError, OverflowError, MemoryError)


@lru_cache(maxsize=8192)
def _cached_ast(src: str) -> Any:
    """The bounded AST of a template (shared by the validator's checks; never changed after parsing)."""
    return _env.parse(src)


def _parse(src: str, what: str) -> Any:
    """Parse a template (or `{{ (condition) }}`) into the bounded AST; problems are ExprError."""
    try:
        return _cached_ast(src)
    except LimitError:
        raise
    except TemplateSyntaxError as e:
        raise ExprError(f"cannot read {what}: {e.message}", e.lineno) from None
    except _COMPILE_ERRORS as e:
        raise ExprError(f"cannot read {what}: {_compile_problem(e)}") from None


def _compile_problem(e: BaseException) -> str:
    if isinstance(e, (RecursionError, SyntaxError)):
        return "it is nested too deeply"
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def _condition_problem(src: str, e: BaseException) -> ExprError:
    if isinstance(e, TemplateSyntaxError):
        msg = e.message or "syntax error"
        if msg.startswith(("unexpected 'end of template'", "unexpected end of template")):
            msg = "it is empty" if not src.strip() else "it ends too early"
        return ExprError(f"cannot read condition {src!r}: {msg}", e.lineno)
    return ExprError(f"cannot read condition {src!r}: {_compile_problem(e)}")


@lru_cache(maxsize=8192)
def _cached_condition(src: str) -> nodes.Expr:
    return _env.parse_condition(src)


def _condition_ast(src: str) -> nodes.Expr:
    """A condition's bounded AST (shared by the validator's checks); problems are ExprError."""
    try:
        return _cached_condition(src)
    except LimitError:
        raise
    except (TemplateSyntaxError, *_COMPILE_ERRORS) as e:
        raise _condition_problem(src, e) from None

# ---- time and money in the call's language (docs/flow-language.md, "Time, money and dates") ----
#: Largest span `days(n)` accepts (a hundred years), so date arithmetic cannot run away.
MAX_DAYS = 36500


def _days(n: Any) -> _dt.timedelta:
    """`today + days(10)`: a number of days for date arithmetic."""
    if isinstance(n, bool) or not isinstance(n, (int, float, Decimal)):
        raise ValueError(f"days() takes a number of days, not {n!r}")
    if abs(n) > MAX_DAYS:
        raise ValueError(f"days({n}) is more than {MAX_DAYS} days")
    return _dt.timedelta(days=int(n))


def _call_lang(ctx: Any) -> str:
    call = ctx.get("call")
    return (call.get("lang") if isinstance(call, dict) else None) or "en"


_WARM: set[str] = set()


def _formatting(lang: str) -> Any:
    """`callguide.formatting`, with its one-time costs outside the render's budget: importing Babel and
    loading a language's locale data take 20-50 ms of CPU once per process (more on a busy machine),
    which is the app starting, not the template's work; without this the first date of the day could
    fail a text with "takes longer than 0.1 s"."""
    if lang not in _WARM:
        t0 = time.thread_time()
        from callguide import formatting

        for fmt in ("short", "medium", "long"):
            formatting.format_date(_dt.date(2000, 1, 1), lang, fmt)
        formatting.format_money(1, "EUR", lang)
        formatting.format_time(_dt.time(12, 0), lang)
        b = _BUDGET.get()
        if b is not None:
            b.deadline += time.thread_time() - t0
        _WARM.add(lang)
    from callguide import formatting

    return formatting


@pass_context
def _money_filter(ctx: Any, value: Any, currency: str | None = None) -> str:
    """`{{ instalment | money }}`: "1.234,50 kr." in the call's language and the account's currency."""
    if value is None or isinstance(value, Undefined):
        return ""
    if currency is None:
        account = ctx.get("account")
        currency = account.get("currency") if isinstance(account, dict) else None
    lang = _call_lang(ctx)
    return _formatting(lang).format_money(value, currency, lang)


@pass_context
def _date_filter(ctx: Any, value: Any, fmt: str = "long") -> str:
    """`{{ (today + days(10)) | date }}`: "5. december 2026" in the call's language."""
    if value is None or isinstance(value, Undefined):
        return ""
    lang = _call_lang(ctx)
    return _formatting(lang).format_date(value, lang, fmt if fmt in ("short", "medium", "long", "full") else "long")


@pass_context
def _time_filter(ctx: Any, value: Any) -> str:
    """`{{ now | time }}`: "22:30" in the call's language."""
    if not isinstance(value, (_dt.datetime, _dt.time)):
        return ""
    lang = _call_lang(ctx)
    return _formatting(lang).format_time(value, lang)


_env.globals["days"] = _days
_env.filters["money"] = _money_filter
_env.filters["date"] = _date_filter
_env.filters["time"] = _time_filter


@lru_cache(maxsize=4096)
def _compiled_expression(src: str):
    try:
        return _env.compile_expression(src, undefined_to_none=False)
    except LimitError:
        raise
    except (TemplateSyntaxError, *_COMPILE_ERRORS) as e:
        raise _condition_problem(src, e) from None


@lru_cache(maxsize=4096)
def _compiled_template(src: str):
    try:
        return _env.from_string(src)
    except LimitError:
        raise
    except TemplateSyntaxError as e:
        raise ExprError(f"cannot read template: {e.message}", e.lineno) from None
    except _COMPILE_ERRORS as e:
        raise ExprError(f"cannot read template: {_compile_problem(e)}") from None


def check_expression(src: str) -> None:
    """Raise ExprError if `src` is not a valid expression."""
    _compiled_expression(src)


def _runtime_error(e: BaseException, what: str) -> ExprError:
    """One line for whatever went wrong while a template or condition ran (never a traceback)."""
    if isinstance(e, LimitError):
        return LimitError(f"{what}: {e}")
    if isinstance(e, UndefinedError):
        return ExprError(f"{what}: {e.message}")
    if isinstance(e, SecurityError):
        return ExprError(f"{what} is not allowed: {e}")
    if isinstance(e, RecursionError):
        return LimitError(f"{what}: it calls itself too deeply")
    if isinstance(e, (TypeError, ValueError, ArithmeticError, LookupError, AttributeError, TemplateError)):
        return ExprError(f"{what}: {e}")
    return ExprError(f"{what} failed: {type(e).__name__}: {e}")


def evaluate(src: str, namespace: dict[str, Any]) -> Any:
    """Evaluate a condition. Unknown names, unsafe access and broken limits raise ExprError."""
    fn = _compiled_expression(src)
    try:
        value = fn(**namespace)
        if isinstance(value, Undefined):
            value._fail_with_undefined_error()
        return value
    except Exception as e:  # noqa: BLE001 - a condition's failure is one line, never a traceback
        raise _runtime_error(e, f"condition {src!r}") from None


def render(src: str, namespace: dict[str, Any]) -> str:
    """Render a prompt template in the bounded sandbox."""
    if "{" not in src:
        return src  # no {{ }}, {% %} or {# #}: the text is its own rendering
    tpl = _compiled_template(src)
    token = _BUDGET.set(_Budget())
    try:
        ctx = tpl.new_context(namespace)
        out: list[str] = []
        n = 0
        for chunk in tpl.root_render_func(ctx):
            n += len(chunk)
            if n > MAX_TEXT:
                raise LimitError(f"the text is over {MAX_TEXT} characters (the limit)")
            out.append(chunk)
        return "".join(out)
    except Exception as e:  # noqa: BLE001 - a template's failure is one line, never a traceback
        raise _runtime_error(e, "template") from None
    finally:
        _BUDGET.reset(token)


# --------------------------------------------------------------------------- what the agent reads instead

#: The one line a text that failed at run time shows in its place (never its source or the error
#: itself: the agent would read it aloud). The detail goes to the journal (`flow_problem`).
FAILED_TEXT = {
    "en": "\u26a0 This text could not be shown ({where}): {why}. Tell your trainer, and go on in your own words.",
    "da": "\u26a0 Denne tekst kan ikke vises ({where}): {why}. Sig det til din underviser, og fortsæt med dine egne ord.",
    "cs": "\u26a0 Tento text nelze zobrazit ({where}): {why}. Řekněte to svému školiteli a pokračujte vlastními slovy.",
}
FAILED_WHY = {
    "limit": {"en": "it goes over a limit of the flow language", "da": "den overskrider en grænse i flowsproget",
              "cs": "překračuje limit jazyka toků"},
    "error": {"en": "it has a mistake", "da": "den indeholder en fejl", "cs": "obsahuje chybu"},
}


def failed_text(lang: str, where: str, error: ExprError) -> str:
    """The line shown in place of a text that could not be rendered, in the call's language."""
    why = FAILED_WHY["limit" if isinstance(error, LimitError) else "error"]
    return FAILED_TEXT.get(lang, FAILED_TEXT["en"]).format(where=where, why=why.get(lang, why["en"]))


# --------------------------------------------------------------------------- limits the validator can see


class _NotConstant(Exception):
    pass


@lru_cache(maxsize=1)
def _empty_template() -> Any:
    return _env.from_string("")


_CMP = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "gt": lambda a, b: a > b,
        "gteq": lambda a, b: a >= b, "lt": lambda a, b: a < b, "lteq": lambda a, b: a <= b,
        "in": lambda a, b: a in b, "notin": lambda a, b: a not in b}


class _Folder:
    """Evaluates the constant parts of a template with the run-time guards, to find broken limits
    before anything runs (`9**(9**9)`, `'a' * 10**9`, `range(99999)`, `'x'|center(10**9)`)."""

    def __init__(self) -> None:
        self.memo: dict[int, Any] = {}
        self.context = _empty_template().new_context({})

    def fold(self, node: nodes.Node) -> Any:
        key = id(node)
        if key in self.memo:
            v = self.memo[key]
            if v is _NotConstant:
                raise _NotConstant
            return v
        try:
            v = self._fold(node)
        except (_NotConstant, LimitError):
            self.memo[key] = _NotConstant
            raise
        except Exception:  # noqa: BLE001 - a constant that fails for other reasons fails at run time
            self.memo[key] = _NotConstant
            raise _NotConstant from None
        self.memo[key] = v
        return v

    def _fold(self, node: nodes.Node) -> Any:  # noqa: C901 - one case per node type
        f = self.fold
        if isinstance(node, nodes.Const):
            return node.value
        if isinstance(node, nodes.TemplateData):
            return node.data
        if isinstance(node, nodes.List):
            return [f(x) for x in node.items]
        if isinstance(node, nodes.Tuple):
            return tuple(f(x) for x in node.items)
        if isinstance(node, nodes.Dict):
            return {f(p.key): f(p.value) for p in node.items}
        if isinstance(node, nodes.BinExpr):
            return _env.call_binop(None, node.operator, f(node.left), f(node.right))
        if isinstance(node, nodes.Not):
            return not f(node.node)
        if isinstance(node, nodes.UnaryExpr):
            return _env.call_unop(None, node.operator, f(node.node))
        if isinstance(node, nodes.CondExpr):
            if f(node.test):
                return f(node.expr1)
            if node.expr2 is None:
                raise _NotConstant
            return f(node.expr2)
        if isinstance(node, nodes.Compare):
            left = f(node.expr)
            for op in node.ops:
                right = f(op.expr)
                if op.op not in _CMP or not _CMP[op.op](left, right):
                    return False
                left = right
            return True
        if isinstance(node, (nodes.Filter, nodes.Call)) and (node.dyn_args or node.dyn_kwargs):
            raise _NotConstant
        if isinstance(node, nodes.Filter):
            if node.node is None:
                raise _NotConstant
            value = f(node.node)
            if node.name == "_callguide_loop":
                return value
            args = [f(a) for a in node.args]
            kwargs = {k.key: f(k.value) for k in node.kwargs}
            return _env.filters[node.name](self.context, value, *args, **kwargs)
        if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name == "range":
            return _bounded_range(*[f(a) for a in node.args])
        if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
            method = f(node.node)  # a method of a constant, such as 'ab'.ljust(10**9): run it guarded
            if isinstance(method, Undefined) or _allowed_methods(getattr(method, "__self__", None)) is None:
                raise _NotConstant
            return _env.call(self.context, method, *[f(a) for a in node.args],
                             **{k.key: f(k.value) for k in node.kwargs})
        if isinstance(node, nodes.Getattr):
            return _env.getattr(f(node.node), node.attr)
        if isinstance(node, nodes.Getitem):
            return _env.getitem(f(node.node), f(node.arg))
        raise _NotConstant

    def loops(self, node: nodes.Node, outer: int = 1) -> None:
        """Refuse nested loops over constant ranges or lists that would run over MAX_LOOP times."""
        for child in node.iter_child_nodes():
            if isinstance(child, nodes.For):
                n = 1
                try:
                    it = self.fold(child.iter)
                    n = len(it) if hasattr(it, "__len__") else 1
                except (_NotConstant, TypeError):
                    pass
                if outer * n > MAX_LOOP:
                    raise LimitError(f"its loops would run {outer * n} times; the limit is {MAX_LOOP}", child.lineno)
                self.loops(child, outer * max(n, 1))
            else:
                self.loops(child, outer)

    def check(self, ast: nodes.Node) -> None:
        token = _BUDGET.set(_Budget())
        try:
            for node in ast.find_all(nodes.Expr):
                try:
                    try:
                        self.fold(node)
                    except _NotConstant:
                        self.constant_arguments(node)
                    if isinstance(node, nodes.Mul):
                        self.big_factor(node)
                except LimitError as e:
                    raise LimitError(str(e), e.line or getattr(node, "lineno", None)) from None
            self.loops(ast)
        finally:
            _BUDGET.reset(token)

    def constant_arguments(self, node: nodes.Node) -> None:
        """`x|center(10**9)`, `x.ljust(10**9)`: a width that is over the limit whatever x is."""
        if not isinstance(node, (nodes.Filter, nodes.Call)) or node.dyn_args or node.dyn_kwargs:
            return
        try:
            args: list[Any] | None = [self.fold(a) for a in node.args]
            kwargs = {k.key: self.fold(k.value) for k in node.kwargs}
        except _NotConstant:
            args, kwargs = None, {}
        try:
            if isinstance(node, nodes.Filter) and node.name in _FILTER_CHECKS and node.node is not None:
                try:
                    value = self.fold(node.node)  # '%099d'|format(x): the value alone can break a limit
                except _NotConstant:
                    value = ""
                if args is not None:
                    _FILTER_CHECKS[node.name](value, *args, **kwargs)
                elif value != "":
                    _FILTER_CHECKS[node.name](value)
            elif isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr) and args is not None:
                _check_method("", node.node.attr, tuple(args), kwargs)
        except LimitError:
            raise
        except (TypeError, ValueError):
            pass

    def big_factor(self, node: nodes.Mul) -> None:
        """`x * 100000000`: whatever x is at run time, a text or list repeated that often is over
        the limit, so a factor over MAX_TEXT next to a value that is not a constant number is refused."""
        for this, other in ((node.left, node.right), (node.right, node.left)):
            try:
                n = self.fold(this)
            except _NotConstant:
                continue
            if not _is_int(n) or abs(n) <= MAX_TEXT:
                continue
            try:
                o = self.fold(other)
            except _NotConstant:
                o = None
            if not isinstance(o, (int, float, decimal.Decimal)) or isinstance(o, bool):
                raise LimitError(f"the factor {n} is over the limit of {MAX_TEXT}: a text or list repeated "
                                 f"that often would be too long", node.lineno)


@lru_cache(maxsize=4096)
def check_limits(src: str, expression: bool = False) -> None:
    """Raise LimitError when a template (or, with `expression=True`, a condition) breaks a limit
    that can be seen without running it; other problems are left to the other checks."""
    what = "condition" if expression else "template"
    if len(src) > MAX_TEMPLATE_CHARS:
        raise LimitError(f"the {what} has {len(src)} characters; the limit is {MAX_TEMPLATE_CHARS}")
    try:
        ast = nodes.Output([_cached_condition(src)], lineno=1) if expression else _cached_ast(src)
    except LimitError:
        raise
    except (TemplateSyntaxError, *_COMPILE_ERRORS):
        return  # not readable: the bad-expression check reports it
    _Folder().check(ast)


class _NameTracker(meta.TrackingCodeGenerator):
    """`meta.find_undeclared_variables` without Jinja's optimizer, which would fold constants and
    re-walks every sub-expression at every level (quadratic: a 150-term sum took 80 ms)."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.optimizer = None


def _names(ast: Any, what: str) -> frozenset[str]:
    try:
        tracker = _NameTracker(ast.environment)
        tracker.visit(ast)
        return frozenset(tracker.undeclared_identifiers)
    except (TemplateSyntaxError, *_COMPILE_ERRORS) as e:
        raise ExprError(f"cannot read {what}: {getattr(e, 'message', None) or _compile_problem(e)}") from None


@lru_cache(maxsize=4096)
def expression_names(src: str) -> frozenset[str]:
    """Top-level names an expression reads (for the `undefined-name` rule)."""
    ast = _condition_ast(src)
    # a condition assigns nothing, so every name it loads comes from the namespace: no need for
    # the code generator's scope analysis (half the cost of checking a condition)
    found = [ast, *ast.find_all(nodes.Name)]
    return frozenset(n.name for n in found if isinstance(n, nodes.Name) and n.ctx == "load"
                     and n.name not in _env.globals)


@lru_cache(maxsize=4096)
def template_names(src: str) -> frozenset[str]:
    """Top-level names a template reads."""
    return _names(_parse(src, "template"), "template")


@lru_cache(maxsize=4096)
def is_constant_true(src: str) -> bool:
    """True when an expression is the literal `true` (used by graph analysis)."""
    try:
        ast = _condition_ast(src)
    except ExprError:
        return False
    return isinstance(ast, nodes.Const) and ast.value is True


@lru_cache(maxsize=4096)
def consent_refs(src: str) -> dict[str, bool]:
    """The consent purposes an expression reads (`consent.<purpose>` or `consent['<purpose>']`).

    The value says whether the reference is positive (the condition can only hold when the consent
    was given): False when it sits under a `not`, or is compared with false/none (the declined
    branch). Used by the validator's consent rules; raises ExprError on a syntax error.
    """
    ast = _condition_ast(src)
    out: dict[str, bool] = {}

    def purpose(node) -> str | None:
        if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name) and node.node.name == "consent":
            return node.attr
        if isinstance(node, nodes.Getitem) and isinstance(node.node, nodes.Name) and node.node.name == "consent" \
                and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            return node.arg.value
        return None

    def falsy(node) -> bool:
        return isinstance(node, nodes.Const) and node.value in (False, None)

    def walk(node, negated: bool) -> None:
        p = purpose(node)
        if p is not None:
            out[p] = out.get(p, False) or not negated
            return
        if isinstance(node, nodes.Not):
            walk(node.node, not negated)
            return
        if isinstance(node, nodes.Compare) and len(node.ops) == 1:
            left, op = node.expr, node.ops[0]
            neg = negated
            if falsy(op.expr) or falsy(left):
                neg = not neg if op.op in ("eq", "is") else neg
            elif op.op in ("ne", "isnot"):
                neg = not neg
            walk(left, neg)
            walk(op.expr, neg)
            return
        if isinstance(node, nodes.Test) and node.name in ("none", "false", "sameas"):
            walk(node.node, not negated)
            return
        for child in node.iter_child_nodes():
            walk(child, negated)

    walk(ast, False)
    return out
