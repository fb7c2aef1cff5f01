"""What the journal knows about the account from earlier calls, for the agent to read
before saying hello: holds, capacity doubts, open vulnerability records with review
dates, adjustments, third parties, consents, callbacks and the last outcome.

`history_items(state)` turns the derived `AccountState` into translated (kind, line)
pairs; `AccountBanner` paints them. Dates and amounts are written the way the language
says them (`callguide.formatting`, the same functions as the engine's scripts); a hold's
free-text reason, which trainers write in English, is shown only in English, and in the
other languages by the protocol that set it. Read-only; never writes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from callguide.qt.i18n import has, language, tr

if TYPE_CHECKING:  # the store package pulls in sqlite-utils; the window's first paint does not need it
    from callguide.store.base import AccountState

URGENT = {"hold", "capacity", "vulnerability", "disclosure", "crisis", "dispute", "unsigned"}


# (field id, choice value) -> the flow's translatable label: recorded answers are shown as the agent
# chose them ("Direct debit"), not as stored ids ("direct_debit"). Filled by `use_flows`.
_CHOICE_LABELS: dict[tuple[str, str], Any] = {}
_FIELD_TYPES: dict[str, str] = {}  # field id -> type (money and dates are written per language)


def use_flows(flows: Any) -> None:
    """Learn the choice labels and field types of the flows in use (read-only display information)."""
    for flow in (flows or {}).values():
        for step in getattr(flow, "steps", ()):
            for f in getattr(step, "fields", ()):
                _FIELD_TYPES[f.id] = f.type
                for c in getattr(f, "choices", ()):
                    _CHOICE_LABELS[(f.id, str(c.value))] = c.label


def date_text(value: Any) -> str:
    """An ISO date as the UI language writes it ("25. december 2026"); "?" when there is none."""
    if not value:
        return "?"
    from callguide.formatting import format_date

    try:
        return format_date(str(value), language())
    except ValueError:
        return str(value)


def money_text(value: Any, currency: str | None = None) -> str:
    from decimal import Decimal, InvalidOperation

    from callguide.formatting import format_money

    try:
        return format_money(Decimal(str(value)), currency, language())
    except (InvalidOperation, ValueError, TypeError):
        return str(value)


def hold_reason(reason: Any) -> str:
    """A hold's reason for the banner. Trainers write it in English ("BLAKE: customer at risk; ...");
    in another language only the protocol that set it is shown ("BLAKE"), never English words."""
    text = str(reason or "").strip()
    if not text:
        return ""
    if language() == "en":
        return _value(text)
    m = re.match(r"^([A-Z]{3,})\b", text)
    if m and has(f"protocol.{m.group(1).lower()}"):
        return tr(f"protocol.{m.group(1).lower()}")
    return ""


def _value(v: Any, field: str | None = None) -> str:
    if isinstance(v, bool):
        return tr("field.yes") if v else tr("field.no")
    if isinstance(v, list):
        return ", ".join(_value(x, field) for x in v)
    kind = _FIELD_TYPES.get(field or "")
    if kind == "money" and v is not None:
        return money_text(v)
    if kind == "date" and v:
        return date_text(v)
    s = str(v)
    label = _CHOICE_LABELS.get((field, s)) if field else None
    if label is not None:
        return label.get(language()) if hasattr(label, "get") else str(label)
    return tr(f"value.{s}") if has(f"value.{s}") else s.replace("_", " ")


def _name(k: str) -> str:
    text = tr(f"name.{k}") if has(f"name.{k}") else k.replace("_", " ")
    return text[:1].upper() + text[1:]


def time_text(when: Any) -> str:
    """A moment (an aware datetime) as the UI language writes a time of day, in local time ("14.02")."""
    from callguide.formatting import format_time

    try:
        return format_time(when.astimezone(), language())
    except (AttributeError, ValueError, OverflowError):
        return "?"


def source_line(source: str | None, as_of: Any) -> str | None:
    """Team mode: where the protections shown came from, when not from the team store just now:
    "offline: protections as of 14:02" (the local cache of the last read) or "offline: only this
    desktop's own records" (never read from the team store). None online or without a team store."""
    if source == "cache":
        return tr("banner.offline_as_of", time=time_text(as_of))
    if source == "local":
        return tr("banner.offline_local")
    return None


def ended_consents(history: AccountState, view: Any) -> frozenset[str]:
    """The purposes the account's history holds in force that the call no longer does (withdrawn on
    this call, or elsewhere and taken up by it): the history must not say "in force" for them."""
    now = {c.purpose for c in getattr(view, "consents_in_force", ())}
    return frozenset(str(c.get("purpose")) for c in getattr(history, "consents_in_force", [])) - now


def history_items(st: AccountState, ended: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """`ended`: consents no longer in force on the call (`ended_consents`): said so, and what was
    recorded under them is no longer shown (its key is destroyed)."""
    out: list[tuple[str, str]] = []
    for h in st.holds:
        line = tr("hist.hold", until=date_text(h.get("until")))
        reason = hold_reason(h.get("reason"))
        if reason:
            line += f" ({reason})"
        out.append(("hold", line))
    for c in getattr(st, "crises", []):
        out.append(("crisis", tr("hist.crisis", review=date_text(c.get("review_date")))))
    for _d in getattr(st, "disputes", []):
        out.append(("dispute", tr("hist.dispute")))
    doubts = getattr(st, "capacity_doubts", None)
    for flag in (st.capacity_flags if doubts is None else doubts):
        out.append(("capacity", tr("hist.capacity_open", since=date_text(str(flag.get("ts") or "")[:10]))))
    reviews = getattr(st, "capacity_reviews", [])
    if reviews and not doubts:
        r = reviews[-1]
        result = tr(f"review.{r.get('result')}") if has(f"review.{r.get('result')}") else str(r.get("result"))
        out.append(("capacity", tr("hist.capacity_reviewed", date=date_text(str(r.get("ts") or "")[:10]), who=r.get("name") or
                                   r.get("by", "?"), role=_value(r.get("role", "")), result=result)))
    for u in getattr(st, "unsigned", []):  # a forged review or hold end: not counted, and said so
        out.append(("unsigned", tr("hist.unsigned", what=str(u.get("type", "")).replace("_", " "),
                                   date=date_text(str(u.get("ts") or "")[:10]), seq=u.get("seq", "?"))))
    for v in st.vulnerabilities:
        cat = v.get("category")
        what = _value(cat, "category") if cat else tr("hist.recorded")
        if ended & set(v.get("consent") or ()):
            what = tr("value.withdrawn")
        out.append(("vulnerability", tr("hist.vulnerability", what=what, review=date_text(v.get("review_date")))))
    for d in st.disclosures:
        out.append(("disclosure", tr("hist.disclosure", review=date_text(d.get("review_date")))))
    for k, v in st.adjustments.items():
        out.append(("adjustment", tr("hist.adjustment", name=_name(k), value=_value(v, k))))
    for t in st.third_parties:
        fields = t.get("fields") or {}
        out.append(("third_party", tr("hist.third_party",
                                      who=", ".join(f"{_name(k)}: {_value(v, k)}" for k, v in fields.items()))))
    in_force = {c.get("purpose") for c in getattr(st, "consents_in_force", [])}
    for c in getattr(st, "consents_in_force", []):
        if c.get("purpose") in ended:
            out.append(("consent", tr("hist.consent_ended", purpose=_name(str(c.get("purpose"))),
                                      date=date_text(str(c.get("given_at") or "")[:10]))))
            continue
        expires = tr("hist.consent_expires", date=date_text(str(c["expires"])[:10])) if c.get("expires") else ""
        out.append(("consent", tr("hist.consent_in_force", purpose=_name(str(c.get("purpose"))),
                                  date=date_text(str(c.get("given_at") or "")[:10]), expires=expires)))
    for purpose, c in st.consents.items():
        if purpose not in in_force:
            out.append(("consent", tr("hist.consent", purpose=_name(purpose), decision=_value(c.get("decision")))))
    for c in st.callbacks:
        out.append(("callback", tr("hist.callback", due=date_text(c.get("due")))))
    if st.last_outcome:
        code = st.last_outcome.get("code") or st.last_outcome.get("outcome")
        when = date_text(str(st.last_outcome.get("ts", ""))[:10])
        out.append(("outcome", tr("hist.outcome", code=_value(code), date=when) if code
                    else tr("hist.outcome_none", date=when)))  # closed without a code: said, never "?"
    return out


class AccountBanner(QFrame):
    """The account's history, most urgent first. `compact=True` for the side column."""

    def __init__(self, state: AccountState, compact: bool = False, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.compact = compact
        self.source: str | None = None    # team mode: "team", "cache" or "local" (see source_line)
        self.as_of: Any = None
        self.ended: frozenset[str] = frozenset()  # consents no longer in force on the call (set_ended)
        self.setObjectName("bannerCompact" if compact else "banner")
        self._layout = QVBoxLayout(self)
        m = 14 if compact else 24
        self._layout.setContentsMargins(m, m - 4, m, m)
        self._layout.setSpacing(6 if compact else 10)
        self.retranslate()

    def lines(self) -> list[tuple[str, str]]:
        return history_items(self.state, self.ended)

    def set_ended(self, purposes: frozenset[str]) -> None:
        """Consents of the history that are no longer in force on the call (`ended_consents`)."""
        if purposes != self.ended:
            self.ended = purposes
            self.retranslate()

    def set_source(self, source: str | None, as_of: Any = None) -> None:
        """Team mode: where the protections came from (an offline read says so, with its time)."""
        self.source, self.as_of = source, as_of
        self.retranslate()

    def source_text(self) -> str | None:
        return source_line(self.source, self.as_of)

    def retranslate(self) -> None:
        while self._layout.count():
            w = self._layout.takeAt(0).widget()
            if w is not None:
                w.setParent(None)
                w.deleteLater()
        title = QLabel(tr("banner.title_compact" if self.compact else "banner.title",
                          calls=self.state.calls))
        title.setObjectName("sectionTitle" if self.compact else "bannerTitle")
        title.setWordWrap(True)
        self._layout.addWidget(title)
        offline = self.source_text()
        if offline:
            note = QLabel(offline)
            note.setObjectName("barReason")  # the amber of a reason: never mistaken for a fresh read
            note.setWordWrap(True)
            note.setTextFormat(Qt.TextFormat.PlainText)
            note.setAccessibleName(offline)
            self.offline_label = note
            self._layout.addWidget(note)
        items = self.lines()
        if not items:
            empty = QLabel(tr("banner.empty"))
            empty.setObjectName("muted")
            empty.setWordWrap(True)
            self._layout.addWidget(empty)
        tags: list[QLabel] = []
        for kind, line in items:
            row = QWidget()
            # the side column is narrow: the tag sits above its line there, never squeezed into a column
            rl: QVBoxLayout | QHBoxLayout = QVBoxLayout(row) if self.compact else QHBoxLayout(row)
            rl.setContentsMargins(0, 0, 0, 0)
            rl.setSpacing(3 if self.compact else 10)
            tag = QLabel(tr(f"kind.{kind}"))
            tag.setObjectName("tagUrgent" if kind in URGENT else "tag")
            tag.setAlignment(Qt.AlignmentFlag.AlignCenter)
            tags.append(tag)
            text = QLabel(line)
            text.setObjectName("bannerLineSmall" if self.compact else "bannerLine")
            text.setWordWrap(True)
            text.setTextFormat(Qt.TextFormat.PlainText)
            text.setAccessibleName(f"{tr(f'kind.{kind}')}: {line}")
            rl.addWidget(tag, 0, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            rl.addWidget(text, 1)
            self._layout.addWidget(row)
        if tags and not self.compact:  # one column, as wide as the widest tag in this language
            for tag in tags:
                tag.ensurePolished()
            width = max(tag.sizeHint().width() for tag in tags)
            for tag in tags:
                tag.setFixedWidth(width)
