"""The wrap-up screen: everything recorded on this call (from `session.summary()`),
the outcome and the follow-ups; the agent confirms before the call closes
(`session.end_call(outcome)`). Also `summary_items()`, the translated one-line form
of a call summary that the side column reuses: dates and amounts as the language writes
them, and a line said once even when the call recorded the same thing twice (a debrief
offered by BLAKE and again at wrap-up is one follow-up for the agent).

Keys: Alt+C ticks "I have checked", Ctrl+Enter closes the call (as its button says).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from callguide.engine.commands import EndCall
from callguide.qt.banner import _name, _value, date_text
from callguide.qt.bridge import SessionBridge
from callguide.qt.i18n import engine_text, has, tr
from callguide.qt.widgets import FitButton
from callguide.store import entry_types as et

FOLLOW_UP_KINDS = {et.CALLBACK, et.HOLD_STARTED, et.VULNERABILITY, et.DISCLOSURE, et.ESCALATION, et.SMS_SURVEY,
                   et.DEBRIEF_OFFERED, et.CAPACITY_DOUBT}


def _fields(d: dict[str, Any]) -> str:
    return ", ".join(f"{_name(k)}: {_value(v, k)}" for k, v in (d or {}).items())


def _line(kind: str, d: dict[str, Any]) -> str:
    if kind == et.CONSENT:
        return tr("sum.consent", purpose=_name(d.get("purpose", "")), decision=_value(d.get("decision", "")))
    if kind == et.CONSENT_WITHDRAWN:
        return tr("sum.consent_withdrawn", purpose=_name(d.get("purpose", "")))
    if kind == et.VULNERABILITY:
        return tr("sum.vulnerability", fields=_fields(d.get("fields", {})) or "-",
                  review=date_text(d.get("review_date")))
    if kind == et.DISCLOSURE:
        return tr("sum.disclosure", review=date_text(d.get("review_date")))
    if kind == et.ADJUSTMENT:
        return tr("sum.adjustment", fields=_fields(d.get("fields", {})))
    if kind == et.HOLD_STARTED:
        return tr("sum.hold_started", days=d.get("days", "?"), until=date_text(d.get("until")))
    if kind == et.HOLD_ENDED:
        return tr("sum.hold_ended")
    if kind == et.ESCALATION:
        esc = d.get("kind", "")
        if esc == "emergency":
            return tr("sum.escalation_emergency", number=d.get("number") or "?")
        return tr("sum.escalation", to=tr(f"bar.{esc}") if has(f"bar.{esc}") else _name(esc))
    if kind == et.CAPACITY_DOUBT:
        return tr("sum.capacity_doubt")
    if kind == et.CAPACITY_DOUBT_CLEARED:
        return tr("sum.capacity_doubt_cleared")
    if kind == et.CAPACITY_REVIEW:
        result = str(d.get("result") or "")
        return tr("sum.capacity_review", who=d.get("name") or d.get("by") or "?",
                  role=tr(f"role.{d.get('role')}") if has(f"role.{d.get('role')}") else _value(d.get("role", "")),
                  result=tr(f"review.{result}") if has(f"review.{result}") else _value(result))
    if kind == et.CRISIS:
        return tr("sum.crisis", review=date_text(d.get("review_date")))
    if kind == et.DISPUTE:
        reason = str(d.get("reason") or "").strip()
        return tr("sum.dispute_why", reason=reason) if reason else tr("sum.dispute")
    if kind == et.CONTACT_REASON:
        return tr("sum.contact_reason", reason=_contact_reason(d.get("reason")),
                  window=d.get("window") or "?", local_time=d.get("local_time") or "?")
    if kind == et.ARRANGEMENT:
        return tr("sum.arrangement", fields=_fields(d.get("fields", {})), currency=d.get("currency", ""))
    if kind == et.THIRD_PARTY:
        return tr("sum.third_party", fields=_fields(d.get("fields", {})))
    if kind == et.CALLBACK:
        return tr("sum.callback", due=date_text(d.get("due")))
    if kind == et.SIGNPOST:
        names = ", ".join(str(e.get("name", "")) for e in d.get("entries", []))
        return tr("sum.signpost", names=names or "-")
    if kind == et.SMS_SURVEY:
        return tr("sum.sms_survey")
    if kind == et.COLLECTION_BLOCKED:
        return tr("sum.collection_blocked")
    if kind == et.OUTCOME:
        return tr("sum.outcome", code=_value(d.get("code", "")))
    if kind == et.DEBRIEF_OFFERED:
        return tr("sum.debrief")
    if kind == et.NOTE:
        return tr("sum.note", text=d.get("text", ""))
    if kind == et.FLOW_PROBLEM:
        return tr("sum.flow_problem", where=d.get("where") or "?")
    if kind == et.BLOCKED:
        return tr("sum.blocked", reason=engine_text(d.get("rule"), d.get("reason")))
    return kind


def _contact_reason(key: Any) -> str:
    """An allowed reason for contact outside the hours, as `resources/contact_rules.yaml` words it."""
    from callguide.engine.localtime import ContactRules, ContactRulesError
    from callguide.qt.i18n import language

    try:
        labels = ContactRules.load().reasons.get(str(key)) or {}
    except ContactRulesError:
        labels = {}
    return labels.get(language()) or labels.get("en") or _value(key or "?")


def summary_items(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, line) for each thing recorded, in order; a line the call recorded twice is said once."""
    out: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for kind, items in summary.get("items", {}).items():
        for d in items:
            item = (kind, _line(kind, d))
            if item in seen and kind != et.NOTE:
                continue
            seen.add(item)
            out.append(item)
    return out


class WrapUpPanel(QWidget):
    """Summary, outcome, follow-ups, and the agent's confirmation. Emits `closed` when the call ended."""

    closed = Signal()

    def __init__(self, bridge: SessionBridge, parent: QWidget | None = None):
        super().__init__(parent)
        self.bridge = bridge
        self.setObjectName("wrapUp")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        inner = QWidget()
        inner.setObjectName("stepInner")
        self._col = QVBoxLayout(inner)
        self._col.setContentsMargins(28, 22, 28, 22)
        self._col.setSpacing(14)
        scroll.setWidget(inner)
        outer.addWidget(scroll, 1)

        self.title = QLabel()
        self.title.setObjectName("pageTitle")
        self._col.addWidget(self.title)
        self.open_warning = QLabel()
        self.open_warning.setObjectName("warning")
        self.open_warning.setWordWrap(True)
        self._col.addWidget(self.open_warning)

        self.recorded_title = QLabel()
        self.recorded_title.setObjectName("sectionTitle")
        self._col.addWidget(self.recorded_title)
        self.recorded = QLabel()
        self.recorded.setObjectName("summaryList")
        self.recorded.setWordWrap(True)
        self.recorded.setTextFormat(Qt.TextFormat.PlainText)
        self.recorded.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._col.addWidget(self.recorded)

        self.follow_title = QLabel()
        self.follow_title.setObjectName("sectionTitle")
        self._col.addWidget(self.follow_title)
        self.follow = QLabel()
        self.follow.setObjectName("summaryList")
        self.follow.setWordWrap(True)
        self.follow.setTextFormat(Qt.TextFormat.PlainText)
        self._col.addWidget(self.follow)

        orow = QHBoxLayout()
        self.outcome_label = QLabel()
        self.outcome_label.setObjectName("fieldLabel")
        self.outcome = QComboBox()
        self.outcome.setObjectName("outcomeCombo")
        self._outcome_touched = False
        self.outcome.activated.connect(lambda _i: setattr(self, "_outcome_touched", True))
        orow.addWidget(self.outcome_label)
        orow.addWidget(self.outcome, 1)
        self._col.addLayout(orow)
        self._col.addStretch(1)

        bar = QFrame()
        bar.setObjectName("navBar")
        bl = QHBoxLayout(bar)
        bl.setContentsMargins(28, 10, 28, 12)
        bl.setSpacing(12)
        self.back_to_call = FitButton()
        self.back_to_call.setObjectName("backButton")
        self.confirm = QCheckBox()
        self.confirm.setObjectName("confirmCheck")
        self.close_button = FitButton()
        self.close_button.setObjectName("nextButton")
        self.close_button.clicked.connect(self._on_close)
        self.confirm.toggled.connect(lambda on: self.close_button.setEnabled(on and not self.bridge.session.ended))
        bl.addWidget(self.back_to_call)
        bl.addStretch(1)
        bl.addWidget(self.confirm)
        bl.addWidget(self.close_button)
        self.done_button = FitButton()
        self.done_button.setObjectName("nextButton")
        bl.addWidget(self.done_button)
        outer.addWidget(bar)
        self._shortcuts = []
        # window-wide, but a shortcut of a hidden page is off: these work while the wrap-up is shown,
        # wherever the focus is (the call page's Ctrl+Enter is hidden with its page)
        for key, fn in (("Ctrl+Return", self._shortcut_close), ("Ctrl+Enter", self._shortcut_close),
                        ("Alt+C", self._shortcut_confirm)):
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(fn)
            self._shortcuts.append(sc)
        self.refresh()

    def _shortcut_close(self) -> None:
        if self.close_button.isVisible() and self.close_button.isEnabled():
            self.close_button.click()

    def _shortcut_confirm(self) -> None:
        if self.confirm.isVisible() and self.confirm.isEnabled():
            self.confirm.toggle()
            self.confirm.setFocus()

    def refresh(self) -> None:
        s = self.bridge.session
        summary = s.summary()
        self.title.setText(tr("wrap.title_ended") if s.ended else tr("wrap.title"))
        open_flows = [title for _, title in s.breadcrumbs()]
        self.open_warning.setText(tr("wrap.open_protocols", flows=" \u203a ".join(open_flows)) if open_flows else "")
        self.open_warning.setVisible(bool(open_flows) and not s.ended)
        items = summary_items(summary)
        self.recorded_title.setText(tr("wrap.recorded"))
        protos = summary.get("protocols", [])
        lines = []
        if protos:
            lines.append("\u2022 " + tr("wrap.protocols", list=", ".join(s.flows[p].title.get(s.lang) if p in s.flows
                                                                        else p for p in protos)))
        lines += ["\u2022 " + line for kind, line in items if kind not in FOLLOW_UP_KINDS]
        self.recorded.setText("\n".join(lines) or tr("wrap.nothing"))
        self.follow_title.setText(tr("wrap.follow_ups"))
        follow = ["\u2022 " + line for kind, line in items if kind in FOLLOW_UP_KINDS]
        self.follow.setText("\n".join(follow) or tr("wrap.no_follow_ups"))
        self.outcome_label.setText(tr("wrap.outcome"))
        current = self.outcome.currentData()
        self.outcome.blockSignals(True)
        self.outcome.clear()
        view = self.bridge.view
        for o in view.outcomes:  # the core's list, with the gate's answer per outcome: refused ones are left out
            if o.enabled:
                self.outcome.addItem(_value(o.code), o.code)
        # the agent's own pick, else the outcome the call reached (recorded, or shown by its records: a
        # crisis after BLAKE), else "other"; never a refused one (the view leaves those out)
        want = (current if self._outcome_touched else None) or view.reached_outcome or "other"
        index = self.outcome.findData(want)
        self.outcome.setCurrentIndex(index if index >= 0 else max(self.outcome.findData("other"), 0))
        self.outcome.blockSignals(False)
        self.outcome.setAccessibleName(tr("wrap.outcome"))
        self.outcome.setEnabled(not s.ended)
        self.back_to_call.setText(tr("wrap.back_to_call"))
        self.back_to_call.setAccessibleName(tr("wrap.back_to_call"))
        self.back_to_call.setVisible(not s.ended and bool(s.stack))
        self.confirm.setText(tr("wrap.confirm") + "    Alt+C")
        self.confirm.setAccessibleName(tr("wrap.confirm"))
        self.confirm.setVisible(not s.ended)
        self.close_button.setText(tr("wrap.close_call") + "    Ctrl+\u21b5")
        self.close_button.setAccessibleName(tr("wrap.close_call"))
        self.close_button.setEnabled(self.confirm.isChecked() and not s.ended)
        self.close_button.setVisible(not s.ended)
        self.done_button.setText(tr("wrap.close_window"))
        self.done_button.setAccessibleName(tr("wrap.close_window"))
        self.done_button.setVisible(s.ended)

    def _on_close(self) -> None:
        if not self.confirm.isChecked():
            return
        res = self.bridge.apply(EndCall(self.outcome.currentData()))
        if res is not None and res.ok:
            self.refresh()
            self.closed.emit()
