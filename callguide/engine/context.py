"""`ActionContext`: the narrow view of a call that action executors get.

An executor may read the time, the account, the signposts, the consented field values and the
call's protections, change the protections through the methods below, and journal what it did.
It never sees the session, the stack or the journal writer. No Qt.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from callguide.engine.values import to_json
from callguide.flow import expr
from callguide.flow.model import Action
from callguide.store import entry_types as et

if TYPE_CHECKING:
    from callguide.engine.policy import CallState
    from callguide.engine.session import CallSession
    from callguide.engine.stack import Frame

#: Default review period of a crisis protection (days), unless the action says otherwise.
CRISIS_REVIEW_DAYS = 30


class ActionContext:
    """What an action may read and change on one call (docs/engine.md, "Actions")."""

    def __init__(self, session: CallSession, frame: Frame | None, consent: str | None = None, *,
                 typed: bool = False) -> None:
        self._s = session
        self._frame = frame
        #: the params were typed by a person (the bar's actions, a script's `action`), not written by a
        #: trainer in a flow: they are taken as they are, never run as a template or an expression
        self.typed = typed
        #: the consent the agent's typed reason is sealed under (the gate's word check), else None
        self.consent = consent

    # ------------------------------------------------------------------ reading

    @property
    def state(self) -> CallState:
        return self._s.facts.state

    @property
    def account(self) -> Any:
        return self._s.account

    @property
    def person(self) -> Any:
        return self._s.person

    def today(self) -> dt.date:
        return self._s.facts.today()

    def signposts(self) -> dict[str, Any]:
        return self._s.facts.signposts()

    def contact_reasons(self) -> dict[str, dict[str, str]]:
        rules = self._s.contact_rules
        return dict(rules.reasons) if rules is not None else {}

    def param(self, action: Action, name: str, default: Any = None) -> Any:
        value = action.params.get(name, default)
        if isinstance(value, str) and "{" in value and not self.typed:
            try:
                return expr.render(value, self._s.facts.namespace())
            except expr.ExprError as e:  # never the template's source in the journal: nothing, and a problem
                self._s.facts.report_problem("text", action.pos, e)
                return ""
        return value

    def int_param(self, action: Action, name: str, default: int) -> int:
        value = action.params.get(name, default)
        if isinstance(value, str) and not self.typed:
            try:
                value = expr.evaluate(value, self._s.facts.namespace())
            except expr.ExprError as e:
                self._s.facts.report_problem("condition", action.pos, e)
                return default
        try:
            return int(value)
        except (TypeError, ValueError):
            return default

    def field_values(self, action: Action) -> dict[str, Any]:
        """The captured values of the action's `fields`, special-category ones only under consent."""
        facts = self._s.facts
        out: dict[str, Any] = {}
        for fid in action.params.get("fields", []) or []:
            f = facts.fields.get(fid)
            value = facts.values.get(fid)
            if value is None or f is None or not facts.may_hold(f):
                continue
            out[fid] = to_json(value)
        return out

    def consent_of(self, fid: str) -> str | None:
        f = self._s.facts.fields.get(fid)
        return f.consent if f is not None else None

    # ------------------------------------------------------------------ journal and protections

    def emit(self, type_: str, data: dict[str, Any]) -> None:
        self._s.emit(type_, data, self._frame)

    def open_crisis(self, reason: str, review_in_days: int = CRISIS_REVIEW_DAYS) -> None:
        """Crisis protection on the account: no collection until the review date or a recorded review.
        Journalled once per call (`crisis`)."""
        st = self.state
        review = (self.today() + dt.timedelta(days=review_in_days)).isoformat()
        if not self._s.crisis_recorded:
            self._s.crisis_recorded = True
            self.emit(et.CRISIS, {"reason": reason, "review_date": review})
            st.crisis_review = max(filter(None, [st.crisis_review, review]))
        st.crisis = True

    def start_hold(self, until: str) -> None:
        st = self.state
        st.hold_active = True
        st.hold_until = max(filter(None, [st.hold_until, until]))

    def end_hold(self) -> None:
        self.state.hold_active = False
        self.state.hold_until = None

    def set_outcome(self, code: str) -> None:
        self.state.call_outcome = code

    def withdraw_consent(self, purpose: str) -> dict[str, Any]:
        """Withdraw, and destroy the purpose's key (`CallSession.shred`); what the entry records."""
        self._s.facts.set_consent(purpose, "withdrawn")
        return self._s.shred(purpose)
