"""The safe expression and template language of flows.

Conditions (`when`, `visible_when`) and prompt templates are Jinja2, compiled in
`jinja2.sandbox.SandboxedEnvironment` with `StrictUndefined`: no attribute access
to internals, no Python `eval`, no imports. This module must never import Qt.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, UndefinedError, meta, nodes, pass_context
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

#: Top-level names every expression may use besides field ids (docs/flow-language.md).
RESERVED_NAMES = frozenset({"account", "consent", "state", "signposts", "call", "now", "today", "local_time",
                            "true", "false", "none", "True", "False", "None"})


class ExprError(ValueError):
    """A condition or template that cannot be compiled or evaluated."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)

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


@pass_context
def _money_filter(ctx: Any, value: Any, currency: str | None = None) -> str:
    """`{{ instalment | money }}`: "1.234,50 kr." in the call's language and the account's currency."""
    from callguide.formatting import format_money

    if value is None or isinstance(value, Undefined):
        return ""
    if currency is None:
        account = ctx.get("account")
        currency = account.get("currency") if isinstance(account, dict) else None
    return format_money(value, currency, _call_lang(ctx))


@pass_context
def _date_filter(ctx: Any, value: Any, fmt: str = "long") -> str:
    """`{{ (today + days(10)) | date }}`: "5. december 2026" in the call's language."""
    from callguide.formatting import format_date

    if value is None or isinstance(value, Undefined):
        return ""
    return format_date(value, _call_lang(ctx), fmt if fmt in ("short", "medium", "long", "full") else "long")


@pass_context
def _time_filter(ctx: Any, value: Any) -> str:
    """`{{ now | time }}`: "22:30" in the call's language."""
    from callguide.formatting import format_time

    if not isinstance(value, (_dt.datetime, _dt.time)):
        return ""
    return format_time(value, _call_lang(ctx))


_env.globals["days"] = _days
_env.filters["money"] = _money_filter
_env.filters["date"] = _date_filter
_env.filters["time"] = _time_filter


@lru_cache(maxsize=4096)
def _compiled_expression(src: str):
    try:
        return _env.compile_expression(src, undefined_to_none=False)
    except TemplateSyntaxError as e:
        raise ExprError(f"cannot read condition {src!r}: {e.message}", e.lineno) from None


@lru_cache(maxsize=4096)
def _compiled_template(src: str):
    try:
        return _env.from_string(src)
    except TemplateSyntaxError as e:
        raise ExprError(f"cannot read template: {e.message}", e.lineno) from None


def check_expression(src: str) -> None:
    """Raise ExprError if `src` is not a valid expression."""
    _compiled_expression(src)


def evaluate(src: str, namespace: dict[str, Any]) -> Any:
    """Evaluate a condition. Unknown names and unsafe access raise ExprError."""
    fn = _compiled_expression(src)
    try:
        value = fn(**namespace)
        if isinstance(value, Undefined):
            value._fail_with_undefined_error()
        return value
    except UndefinedError as e:
        raise ExprError(f"condition {src!r}: {e.message}") from None
    except SecurityError as e:
        raise ExprError(f"condition {src!r} is not allowed: {e}") from None
    except (TypeError, ValueError, ArithmeticError) as e:
        raise ExprError(f"condition {src!r}: {e}") from None


def render(src: str, namespace: dict[str, Any]) -> str:
    """Render a prompt template in the sandbox."""
    tpl = _compiled_template(src)
    try:
        return tpl.render(**namespace)
    except UndefinedError as e:
        raise ExprError(f"template: {e.message}") from None
    except SecurityError as e:
        raise ExprError(f"template is not allowed: {e}") from None
    except (TypeError, ValueError, ArithmeticError) as e:
        raise ExprError(f"template: {e}") from None


@lru_cache(maxsize=4096)
def expression_names(src: str) -> frozenset[str]:
    """Top-level names an expression reads (for the `undefined-name` rule)."""
    try:
        ast = _env.parse("{{ (" + src + ") }}")
    except TemplateSyntaxError as e:
        raise ExprError(f"cannot read condition {src!r}: {e.message}", e.lineno) from None
    return frozenset(meta.find_undeclared_variables(ast))


@lru_cache(maxsize=4096)
def template_names(src: str) -> frozenset[str]:
    """Top-level names a template reads."""
    try:
        ast = _env.parse(src)
    except TemplateSyntaxError as e:
        raise ExprError(f"cannot read template: {e.message}", e.lineno) from None
    return frozenset(meta.find_undeclared_variables(ast))


def is_constant_true(src: str) -> bool:
    """True when an expression is the literal `true` (used by graph analysis)."""
    try:
        ast = _env.parse("{{ (" + src + ") }}")
    except TemplateSyntaxError:
        return False
    out = ast.body[0]
    return isinstance(out, nodes.Output) and len(out.nodes) == 1 and isinstance(out.nodes[0], nodes.Const) \
        and out.nodes[0].value is True


@lru_cache(maxsize=4096)
def consent_refs(src: str) -> dict[str, bool]:
    """The consent purposes an expression reads (`consent.<purpose>` or `consent['<purpose>']`).

    The value says whether the reference is positive (the condition can only hold when the consent
    was given): False when it sits under a `not`, or is compared with false/none (the declined
    branch). Used by the validator's consent rules; raises ExprError on a syntax error.
    """
    try:
        ast = _env.parse("{{ (" + src + ") }}")
    except TemplateSyntaxError as e:
        raise ExprError(f"cannot read condition {src!r}: {e.message}", e.lineno) from None
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
