"""`CallFacts`: what the call knows — answers, consents in force, the live protections
(`CallState`), the customer's local time — and the expression namespace built from them.

The consent check is written once, here: `consent_in_force(purpose)` (given on this call or an
earlier one, not withdrawn, not expired). Every special-category read and write asks it.
The namespace is cached and only the parts that change are refreshed, so a step does not rebuild
it. Never imports Qt; never writes to the journal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

from callguide.engine.localtime import customer_zone
from callguide.engine.policy import CallState
from callguide.flow import expr
from callguide.flow.model import Field, FlowLibrary, Text

COUNTRY_CURRENCY = {"UK": "GBP", "DK": "DKK", "CZ": "CZK"}
COUNTRY_LANG = {"UK": "en", "DK": "da", "CZ": "cs"}


class CallFacts:
    """Answers, consents, protections and time of one call."""

    def __init__(self, library: FlowLibrary, account: Any, call: dict[str, Any], lang: str,
                 now: Callable[[], dt.datetime]) -> None:
        self.library = library
        self.account = account
        self.call = call                     # {id, agent, agent_name, lang}
        self.lang = lang
        self._now = now
        self.zone = customer_zone(account)
        self.fields: dict[str, Field] = library.fields()
        self.values: dict[str, Any] = {}
        self.value_origin: dict[str, tuple[int, str]] = {}
        #: free-text answers kept under a consent because they may hold health or life-event details
        #: (`policy.typed_text`): field -> purpose. Forgotten with the consent, like a special value.
        self.value_purpose: dict[str, str] = {}
        self.prefill: dict[str, Any] = {}
        purposes = {s.consent.purpose for f in library.flows.values() for s in f.steps if s.consent}
        self.consents: dict[str, bool | None] = dict.fromkeys(purposes)
        self.consent_decisions: dict[str, str] = {}        # decisions taken on this call
        self.consent_records: dict[str, dict[str, Any]] = {}  # purpose -> the record in force
        self.state = CallState()
        self._base: dict[str, Any] | None = None
        self._signposts: dict[str, Any] | None = None
        self._rendered: dict[tuple, str] = {}  # (template, the values it reads) -> text
        #: a text or condition that failed at run time (a limit, an error): told once per call
        self.on_problem: Callable[[dict[str, Any]], None] | None = None
        self._problems: set[tuple] = set()
        self.problems: list[dict[str, Any]] = []  # each once, in the order met (a window opened late reads them)
        self._condition_pos: dict[str, str] | None = None

    # ------------------------------------------------------------------ time

    def now(self) -> dt.datetime:
        """The operation's time in the customer's zone."""
        return self._now().astimezone(self.zone)

    def today(self) -> dt.date:
        return self.now().date()

    # ------------------------------------------------------------------ consent (the one check)

    def consent_in_force(self, purpose: str | None) -> bool:
        if not purpose or self.consents.get(purpose) is not True:
            return False
        expires = (self.consent_records.get(purpose) or {}).get("expires")
        return not expires or str(expires) >= self.today().isoformat()

    def may_hold(self, f: Field) -> bool:
        """May a value of this field be taken or kept now?"""
        return f.sensitivity != "special" or self.consent_in_force(f.consent)

    def consent_view(self) -> dict[str, bool | None]:
        out: dict[str, bool | None] = {}
        for p, v in self.consents.items():
            out[p] = True if self.consent_in_force(p) else (None if v is None else False)
        return out

    def consent_given_view(self) -> dict[str, dt.date | None]:
        """`consent_given.<purpose>`: the customer's local date a consent in force was given, else none."""
        out: dict[str, dt.date | None] = dict.fromkeys(self.consents)
        for p, r in self.consent_records.items():
            if self.consent_in_force(p) and r.get("given_at"):
                out[p] = dt.datetime.fromisoformat(str(r["given_at"])).astimezone(self.zone).date()
        return out

    def load_consents(self, records: list[dict[str, Any]]) -> None:
        """Consents in force on the account from earlier calls (derived from the journal)."""
        for r in records:
            p = str(r.get("purpose"))
            self.consents[p] = True
            self.consent_records[p] = {**r, "this_call": False}

    def set_consent(self, purpose: str, decision: str, record: dict[str, Any] | None = None) -> None:
        self.consents[purpose] = decision == "given"
        self.consent_decisions[purpose] = decision
        if decision == "given" and record is not None:
            self.consent_records[purpose] = {**record, "this_call": True}
        else:
            self.consent_records.pop(purpose, None)
            self.drop_special(purpose)

    def drop_special(self, purpose: str) -> None:
        """Forget every special-category value a consent purpose covered (declined or withdrawn): a
        special field's, a free-text answer kept under it, and a value whose key was destroyed (a
        resume holds it as "withdrawn on DATE" until the withdrawal's own replay comes here)."""
        for fid, f in self.fields.items():
            if (f.sensitivity == "special" and f.consent == purpose) or self.value_purpose.get(fid) == purpose \
                    or _gone(self.values.get(fid)):
                self.values.pop(fid, None)
                self.prefill.pop(fid, None)
                self.value_origin.pop(fid, None)
                self.value_purpose.pop(fid, None)
        self._base = None

    def seal_purposes(self, type_: str, data: dict[str, Any]) -> list[str]:
        """The consent purposes whose keys seal this entry's special-category values
        (`store.sealing`): an answer's field's purpose; the purposes a record names (`consent`);
        and the purpose of every consented value held on the call that the entry's text quotes (a
        rendered step, an escalation's reason). None: the account's personal key."""
        if type_ == "answer":
            f = self.fields.get(str(data.get("field")))
            named = data.get("consent")  # a free-text answer kept under a consent (`policy.typed_text`)
            if isinstance(named, list) and named:
                return sorted({str(p) for p in named})
            return [f.consent] if f is not None and f.sensitivity == "special" and f.consent else []
        out: set[str] = set()
        named = data.get("consent") if data.get("consent") is not None else data.get("purpose")  # a record, a note
        for p in ([named] if isinstance(named, str) else named if isinstance(named, list) else []):
            if isinstance(p, str) and p in self.consents:
                out.add(p)
        record = data.get("fields")  # a record's captured values (an adjustment, a third party, ...), by field id:
        for fid in record if isinstance(record, dict) else ():  # each under its consent, whatever its type
            f = self.fields.get(str(fid))  # (a yes/no or a short value was found by no quote: personal key only)
            for p in ([f.consent] if f is not None and f.sensitivity == "special" and f.consent else []) + \
                    ([self.value_purpose[fid]] if fid in self.value_purpose else []):
                if p in self.consents:
                    out.add(p)
        held = [(v, f.consent) for fid, v in self.values.items()
                if (f := self.fields.get(fid)) is not None and f.sensitivity == "special" and f.consent]
        held += [(self.values[fid], p) for fid, p in self.value_purpose.items() if fid in self.values]
        if held:
            from callguide.store.sealing import sealed_keys

            special, _ = sealed_keys(type_, data)
            text = " ".join(str(data[k]) for k in special)
            for value, purpose in held:
                for v in value if isinstance(value, (list, tuple)) else [value]:
                    if isinstance(v, str) and len(v) >= 3 and v in text:
                        out.add(purpose)
        return sorted(out)

    # ------------------------------------------------------------------ values

    def set_value(self, fid: str, value: Any, origin: tuple[int, str], purpose: str | None = None) -> None:
        self.values[fid] = value
        self.value_origin[fid] = origin
        if purpose:
            self.value_purpose[fid] = purpose
        else:
            self.value_purpose.pop(fid, None)
        self.prefill.pop(fid, None)
        if self._base is not None:
            self._base[fid] = value

    def clear_value(self, fid: str, keep_as_prefill: bool = False) -> None:
        value = self.values.pop(fid, None)
        self.value_origin.pop(fid, None)
        if keep_as_prefill:  # (a prefill kept under a consent goes with it: `drop_special`)
            self.prefill[fid] = value
        else:
            self.value_purpose.pop(fid, None)
        if self._base is not None:
            self._base[fid] = None

    # ------------------------------------------------------------------ namespace

    def signposts(self) -> dict[str, Any]:
        if self._signposts is None:
            entry = (self.library.signposts or {}).get("countries", {}).get(self.account.country, {})
            self._signposts = {"emergency": entry.get("emergency", {}), "crisis": entry.get("crisis", []),
                               "health": entry.get("health", []), "debt_advice": entry.get("debt_advice", []),
                               "name": entry.get("name", self.account.country)}
        return self._signposts

    def invalidate(self) -> None:
        self._base = None

    def namespace(self) -> dict[str, Any]:
        """Names for conditions and templates (docs/flow-language.md). The field part is cached."""
        if self._base is None:
            base: dict[str, Any] = dict.fromkeys(self.fields)
            base.update(self.values)
            base["account"] = {**self.account.as_dict(), "balance": self.account.balance}
            base["signposts"] = self.signposts()
            self._base = base
        ns = dict(self._base)
        now = self.now()
        ns["call"] = {**self.call, "lang": self.lang}
        ns["consent"] = self.consent_view()
        ns["consent_given"] = self.consent_given_view()
        ns["state"] = self.state.as_namespace()
        ns["now"] = now
        ns["today"] = now.date()
        ns["local_time"] = now.strftime("%H:%M")
        return ns

    def names(self, wanted: frozenset[str]) -> dict[str, Any]:
        """Just the names a template or condition reads (much cheaper than the whole namespace)."""
        out: dict[str, Any] = {}
        for n in wanted:
            if n in self.fields:
                out[n] = self.values.get(n)
            elif n in ("account", "signposts"):
                if self._base is None:
                    self.namespace()
                out[n] = self._base[n]  # type: ignore[index]
            elif n == "call":
                out[n] = {**self.call, "lang": self.lang}
            elif n == "consent":
                out[n] = self.consent_view()
            elif n == "consent_given":
                out[n] = self.consent_given_view()
            elif n == "state":
                out[n] = self.state.as_namespace()
            elif n in ("now", "today", "local_time"):
                now = self.now()
                out[n] = now if n == "now" else now.date() if n == "today" else now.strftime("%H:%M")
        if "call" not in out:  # the money and date filters read the call's language
            out["call"] = {"lang": self.lang}
        if "account" not in out:  # the money filter reads the account's currency
            if self._base is None:
                self.namespace()
            out["account"] = self._base["account"]  # type: ignore[index]
        return out

    def render(self, text: Text | None, lang: str | None = None, ns: dict[str, Any] | None = None) -> str:
        if text is None:
            return ""
        src = text.get(lang or self.lang)
        if "{" not in src:
            return src
        pos = text.pos
        try:
            if ns is not None:
                return expr.render(src, ns)
            ns = self.names(expr.template_names(src))
            if lang and lang != self.lang:
                ns["call"] = {**ns["call"], "lang": lang}
            key = _render_key(src, ns)
            text = self._rendered.get(key) if key is not None else None
            if text is None:
                text = expr.render(src, ns)
                if key is not None:
                    if len(self._rendered) > 512:
                        self._rendered.clear()
                    self._rendered[key] = text
            return text
        except expr.ExprError as e:  # one line for the agent, never the source; the detail is journalled
            where = _where(pos)
            self._problem("text", where, e, lang or self.lang)
            return expr.failed_text(lang or self.lang, where, e)

    def condition(self, src: str | None, ns: dict[str, Any] | None = None) -> bool:
        """A condition's value. One that cannot be worked out (a limit, an error) counts as not met,
        as a broken condition always has; it is journalled and shown, never silent."""
        if src is None:
            return True
        try:
            return bool(expr.evaluate(src, ns if ns is not None else self.names(expr.expression_names(src))))
        except expr.ExprError as e:
            self._problem("condition", self._where_condition(src), e)
            return False

    def report_problem(self, what: str, pos: Any, error: expr.ExprError) -> None:
        """A flow text that failed where the caller handles it safely (an action's parameter): told
        and journalled like any other (`flow_problem`), once per call."""
        self._problem(what, _where(pos), error, self.lang)

    def _problem(self, what: str, where: str, error: expr.ExprError, lang: str | None = None) -> None:
        key = (what, where, lang, str(error))
        if key in self._problems:
            return
        self._problems.add(key)
        problem = {"what": what, "where": where, "limit": isinstance(error, expr.LimitError), "reason": str(error),
                   **({"lang": lang} if lang else {})}
        self.problems.append(problem)
        if self.on_problem is not None:
            self.on_problem(problem)

    def _where_condition(self, src: str) -> str:
        """file:line of a condition (its transition or field), found when one fails (rare)."""
        if self._condition_pos is None:
            found: dict[str, str] = {}
            for flow in self.library.flows.values():
                for st in flow.steps:
                    for t in st.transitions:
                        if t.when:
                            found.setdefault(t.when, _where(t.pos))
                    for f in st.fields:
                        if f.visible_when:
                            found.setdefault(f.visible_when, _where(f.pos))
            self._condition_pos = found
        return self._condition_pos.get(src, "?")


def _gone(value: Any) -> bool:
    from callguide.store.sealing import Gone

    return isinstance(value, Gone)


def _where(pos: Any) -> str:
    if pos is None or not getattr(pos, "line", 0):
        return "?"
    return f"{PurePath(pos.file).name}:{pos.line}"  # the flow file by its name: the agent reads it out


def _render_key(src: str, ns: dict[str, Any]) -> tuple | None:
    """What a render depends on, as a hashable key (None: not cacheable). The account and signposts
    dicts are the call's own objects, rebuilt whenever they change, so their identity is enough."""
    parts: list[Any] = [src]
    for k in sorted(ns):
        v = ns[k]
        if isinstance(v, dict):
            v = id(v) if k in ("account", "signposts") else tuple(sorted(v.items()))
        parts.append((k, v))
    key = tuple(parts)
    try:
        hash(key)
    except TypeError:
        return None
    return key
