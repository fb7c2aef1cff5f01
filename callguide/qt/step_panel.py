"""`StepPanel`: the current step of a call, painted from a `StepView`.

A self-contained, reusable widget: `StepPanel(bridge, parent=None)`. It shows what to
say (large) apart from the guidance for the agent, the consent wording with Given /
Declined, the step's fields with inline messages, the answers as a column of buttons,
what the step will do (with any block and its reason on screen), and Back / Next with
the protocol stack as breadcrumbs. It renders the view the bridge pushes after each operation
(`bridge.view_changed` -> `show_view(view)`; it never builds a view itself) and talks to the
session only through `bridge.apply(command)`. It owns no call state: everything it paints comes
from the view.

The structure is rebuilt only when the step (or what is visible on it) changes;
otherwise the labels, messages and enabled states are updated in place, so typing
and tabbing through fields is never interrupted. A label whose text did not change is not
touched (no layout pass, no repaint): a click on Next repaints only what changed.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from callguide.engine.commands import Answer, Back, Consent, Next, Withdraw
from callguide.engine.views import FieldView, StepView
from callguide.qt.bridge import SessionBridge
from callguide.qt.i18n import engine_text, field_text, tr, tr_in
from callguide.qt.widgets import AnswerRadio, ChoiceCombo, EnterButton

RADIO_MAX = 5  # choice fields with up to this many options are radio buttons (one click), else a list
CRUMB_SEP = " \u203a "


def _label(text: str = "", name: str | None = None, wrap: bool = True) -> QLabel:
    lab = QLabel(text)
    lab.setWordWrap(wrap)
    lab.setTextFormat(Qt.TextFormat.PlainText)
    if name:
        lab.setObjectName(name)
    return lab


def _clear(layout: Any) -> None:
    while layout.count():
        item = layout.takeAt(0)
        w = item.widget()
        if w is not None:
            w.hide()
            w.setParent(None)
            w.deleteLater()
        elif item.layout() is not None:
            _clear(item.layout())


def _restyle(w: QWidget, name: str) -> None:
    """Give `w` the style of another object name; a no-op when it has it already (re-polishing
    costs a style pass and a repaint)."""
    if w.objectName() != name:
        w.setObjectName(name)
        w.style().unpolish(w)
        w.style().polish(w)


class _SayText(QLabel):
    """The say-aloud text. It can be selected with the mouse (to copy a number or a name), but it is
    selectable only while the mouse is over it or part of it is selected: a selectable QLabel lays
    its text out as a text document, several times over whenever the step changes, which is a third
    of a click's layout work on a thin client. The text wraps to the same lines either way."""

    def __init__(self) -> None:
        super().__init__()
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setObjectName("sayText")

    def enterEvent(self, event: Any) -> None:  # noqa: N802 (Qt name)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        super().enterEvent(event)

    def leaveEvent(self, event: Any) -> None:  # noqa: N802 (Qt name)
        super().leaveEvent(event)
        if not self.hasSelectedText():
            self.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)


_UNSET: Any = object()  # a pick field with nothing pending


class _FieldRow:
    """The widgets of one field. What the agent typed or picked and has not committed yet lives in
    the widgets: an edit's `isModified()`, a pick field's `pending` value."""

    def __init__(self, view: FieldView):
        self.view = view
        self.edit: QLineEdit | None = None
        self.combo: ChoiceCombo | None = None
        self.group: QButtonGroup | None = None
        self.radios: list[AnswerRadio] = []
        self.message = _label("", "fieldError")
        self.message.hide()
        self.hint = _label("", "fieldDraft")  # "not saved yet": a draft brought back after an interrupt
        self.hint.hide()
        self.focus_widget: QWidget | None = None
        self.pending: Any = _UNSET

    @property
    def inputs(self) -> list[QWidget]:
        out: list[QWidget] = list(self.radios)
        if self.edit is not None:
            out.append(self.edit)
        if self.combo is not None:
            out.append(self.combo)
        return out

    def draft(self) -> Any:
        """What is typed or picked and not committed, or _UNSET."""
        if self.edit is not None:
            return self.edit.text() if self.edit.isModified() else _UNSET
        if self.pending is not _UNSET and self.pending != self.view.value:
            return self.pending
        return _UNSET


class StepPanel(QWidget):
    """The step the call is on. Reusable: the trainer's workbench embeds it for practice runs."""

    painted = Signal()  # the panel finished painting the current view (benchmarks and tests wait on it)

    def __init__(self, bridge: SessionBridge, parent: QWidget | None = None):
        super().__init__(parent)
        self.bridge = bridge
        self.setObjectName("stepPanel")
        self._view: StepView | None = None
        self._structure: tuple[Any, ...] | None = None
        self._token: tuple[Any, ...] | None = None
        self._key: StepKey | None = None
        self._rows: dict[str, _FieldRow] = {}
        self._errors: dict[str, tuple[str | None, dict[str, Any], str]] = {}  # field -> (code, params, English)
        self._drafts: dict[StepKey, dict[str, Any]] = {}  # uncommitted input of steps not on screen
        self._choice_buttons: list[QPushButton] = []
        self._consent_buttons: dict[str, QPushButton] = {}
        self._notice: Callable[[], str] | None = None  # the notice's text, in the current UI language
        #: a notice that stays when the step changes once (a held-back answer committed by Next)
        self._carried: Callable[[], str] | None = None
        self._painting = False
        self._queued: StepView | None = None  # a view pushed while painting: painted right after
        self._last_focus: str | None = None

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)

        self.crumbs = _label("", "crumbs")
        outer.addWidget(self.crumbs)

        scroll = QScrollArea()
        scroll.setObjectName("stepScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll = scroll
        inner = QWidget()
        inner.setObjectName("stepInner")
        self._col = QVBoxLayout(inner)
        self._col.setContentsMargins(28, 18, 28, 18)
        self._col.setSpacing(16)
        scroll.setWidget(inner)
        outer.addWidget(scroll, 1)

        # what to say: large, its own card
        self.say_card = QFrame()
        self.say_card.setObjectName("sayCard")
        sc = QVBoxLayout(self.say_card)
        sc.setContentsMargins(22, 16, 22, 18)
        sc.setSpacing(6)
        self.say_title = _label("", "cardTitle")
        self.say_text = _SayText()
        sc.addWidget(self.say_title)
        sc.addWidget(self.say_text)
        self._col.addWidget(self.say_card)

        # guidance for the agent: quieter, marked as "for you"
        self.guide_card = QFrame()
        self.guide_card.setObjectName("guidanceCard")
        gc = QVBoxLayout(self.guide_card)
        gc.setContentsMargins(18, 10, 18, 12)
        gc.setSpacing(4)
        self.guide_title = _label("", "cardTitleQuiet")
        self.guide_text = _label("", "guidanceText")
        gc.addWidget(self.guide_title)
        gc.addWidget(self.guide_text)
        self._col.addWidget(self.guide_card)

        # the rebuilt part: consent, fields, answers, what the step does
        self.body = QWidget()
        self.body.setObjectName("stepBody")
        self._body = QVBoxLayout(self.body)
        self._body.setContentsMargins(0, 0, 0, 0)
        self._body.setSpacing(14)
        self._col.addWidget(self.body)
        self._col.addStretch(1)

        # a refusal or error from the last thing the agent did
        self.notice = _label("", "notice")
        self.notice.hide()
        outer.addWidget(self.notice)

        nav = QFrame()
        nav.setObjectName("navBar")
        nl = QHBoxLayout(nav)
        nl.setContentsMargins(28, 10, 28, 12)
        nl.setSpacing(12)
        self.back_button = EnterButton()
        self.back_button.setObjectName("backButton")
        self.back_button.clicked.connect(self._on_back)
        self.next_reason = _label("", "nextReason")
        self.next_reason.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.next_reason.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.next_button = EnterButton()
        self.next_button.setObjectName("nextButton")
        self.next_button.setDefault(False)
        self.next_button.clicked.connect(self._on_next)
        nl.addWidget(self.back_button)
        nl.addWidget(self.next_reason, 1)
        nl.addWidget(self.next_button)
        outer.addWidget(nav)

        self._shortcuts: list[QShortcut] = []
        self._bind(QKeySequence("Ctrl+Return"), self._shortcut_next)
        self._bind(QKeySequence("Ctrl+Enter"), self._shortcut_next)
        self._bind(QKeySequence("Alt+Left"), lambda: self.back_button.isEnabled() and self.back_button.click())
        for i in range(9):
            self._bind(QKeySequence(f"Alt+{i + 1}"), lambda i=i: self._click_choice(i))
        self._bind(QKeySequence("Alt+G"), lambda: self._click_consent("given"))
        self._bind(QKeySequence("Alt+D"), lambda: self._click_consent("declined"))

        bridge.view_changed.connect(self._on_view)
        bridge.refused.connect(self._on_refused)
        bridge.failed.connect(self._on_failed)
        app = QApplication.instance()
        if app is not None:
            app.focusChanged.connect(self._on_focus_changed)
        self.refresh()

    # ------------------------------------------------------------------ public

    @property
    def view(self) -> StepView | None:
        return self._view

    def refresh(self) -> None:
        """Repaint from the bridge's current view (the one built after the last operation)."""
        self.show_view(self.bridge.view)

    def show_view(self, view: StepView) -> None:
        """Render `view` (a `StepView` from the engine)."""
        if self._painting:  # an answer committed while the panel rebuilds (a field losing focus)
            self._queued = view
            return
        self._painting = True
        try:
            self._paint(view)
            while self._queued is not None:
                view, self._queued = self._queued, None
                self._paint(view)
        finally:
            self._painting = False
            self._queued = None
        self.painted.emit()

    def _paint(self, v: StepView) -> None:
        self._view = v
        key = step_key(v)
        token = (v.call_id, v.flow_id, v.step_id, len(v.breadcrumbs), v.ended)
        step_changed = token != self._token
        if step_changed:
            if self._key is not None:
                self._keep_drafts(self._key)  # typed and not committed: kept for when this step is back
            self._token = token
            self._errors.clear()
            self._set_notice(self._carried)
            self._carried = None
            self._prune_drafts(key)
        self._key = key
        structure = (token, v.lang, v.kind, v.consent_decision,
                     tuple((f.id, f.visible, f.enabled) for f in v.fields),
                     tuple((c.id, c.enabled, c.reason) for c in v.choices),
                     tuple((a.name, a.blocked_reason) for a in v.actions))
        if structure != self._structure:
            focus_key = self._focused_key()
            if not step_changed:
                self._keep_drafts(key)  # the same step is rebuilt (a field appeared): keep what is typed
            self._structure = structure
            self._rebuild(v)
            self._update(v)
            self._bring_back_drafts(key)
            if step_changed:  # a new step: its first input (never the header, never the call bar)
                self._restore_focus(None)
                QTimer.singleShot(0, self._show_say)  # after the focus scrolled to it: the words first
            elif focus_key is not None:  # the same step rebuilt: where the agent was
                self._restore_focus(focus_key)
        else:
            self._update(v)

    def retranslate(self) -> None:
        self._structure = None
        self.refresh()

    def commit_edits(self) -> bool:
        """Commit what is typed or picked and not yet sent (Next, an answer button). False if any
        was refused. A field the agent did not touch is never sent, so a saved answer is never
        replaced by an empty one; a field the agent emptied is sent empty (cleared)."""
        ok = True
        for fid, row in list(self._rows.items()):
            if not row.view.enabled or not row.view.visible:
                continue
            raw = row.draft()
            if raw is not _UNSET:
                ok = self._answer(fid, raw) and ok
        return ok

    def drafts(self) -> dict[StepKey, dict[str, Any]]:
        """Uncommitted input kept for steps that are not on screen (a protocol interrupted them)."""
        return {k: dict(v) for k, v in self._drafts.items()}

    # ------------------------------------------------------------------ drafts

    def _keep_drafts(self, key: StepKey) -> None:
        kept = {fid: raw for fid, row in self._rows.items() if (raw := row.draft()) is not _UNSET}
        if kept:
            self._drafts[key] = {**self._drafts.get(key, {}), **kept}

    def _prune_drafts(self, key: StepKey) -> None:
        """Drafts of protocols that have ended (no longer on the stack) are gone with them."""
        call_id, stack, _step = key
        for k in list(self._drafts):
            if k[0] != call_id or k[1] != stack[: len(k[1])]:
                del self._drafts[k]

    def _bring_back_drafts(self, key: StepKey) -> None:
        drafts = self._drafts.pop(key, None)
        if not drafts:
            return
        for fid, raw in drafts.items():
            row = self._rows.get(fid)
            if row is None or not row.view.enabled:
                continue
            if row.edit is not None:
                row.edit.setText(str(raw))
                row.edit.setModified(True)
            else:
                row.pending = raw
                self._show_pick(row, raw)
            row.hint.setText(tr("field.draft"))
            row.hint.show()

    # ------------------------------------------------------------------ building

    def _rebuild(self, v: StepView) -> None:
        for row in self._rows.values():  # about to go: their focus-out must not send anything
            for w in row.inputs:
                w.blockSignals(True)
        _clear(self._body)
        self._rows = {}
        self._choice_buttons = []
        self._consent_buttons = {}
        if v.kind == "consent" and v.consent_wording is not None:
            self._body.addWidget(self._consent_card(v))
        visible = [f for f in v.fields if f.visible]
        if visible:
            form = QFrame()
            form.setObjectName("fieldsCard")
            fl = QVBoxLayout(form)
            fl.setContentsMargins(20, 14, 20, 16)
            fl.setSpacing(6)
            for f in visible:
                self._field_row(fl, f)
            self._body.addWidget(form)
        if v.choices:
            box = QWidget()
            box.setObjectName("choices")
            bl = QVBoxLayout(box)
            bl.setContentsMargins(0, 0, 0, 0)
            bl.setSpacing(8)
            title = _label(tr("step.answers"), "sectionTitle")
            bl.addWidget(title)
            for i, c in enumerate(v.choices):
                key = f"Alt+{i + 1}" if i < 9 else ""
                b = EnterButton(f"{c.label}    {key}" if key else c.label)
                b.setObjectName("choiceButton")
                b.setProperty("choiceId", c.id)
                b.setAccessibleName(tr("step.answer_a11y", label=c.label))
                b.setEnabled(c.enabled)
                b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
                b.clicked.connect(lambda _=False, cid=c.id: self._on_choice(cid))
                bl.addWidget(b)
                self._choice_buttons.append(b)
                if not c.enabled and c.reason:
                    text = self._engine(c.rule, c.reason, c.reason_params)
                    if c.rule == "choice-not-apply":  # not a block: this answer just does not fit
                        r = _label(text, "mutedReason")
                    else:
                        r = _label(tr("blocked.prefix") + " " + text, "blockedReason")
                    bl.addWidget(r)
            self._body.addWidget(box)
        if v.actions and v.kind in ("action", "outcome"):
            box = QFrame()
            box.setObjectName("actionsCard")
            al = QVBoxLayout(box)
            al.setContentsMargins(18, 12, 18, 12)
            al.setSpacing(4)
            al.addWidget(_label(tr("step.will_do"), "sectionTitle"))
            for a in v.actions:
                key = f"action.{a.name}"
                line = _label("\u2022 " + tr(key), "actionLine")
                al.addWidget(line)
                if a.blocked_reason:
                    al.addWidget(_label(tr("blocked.prefix") + " " + self._engine(a.rule, a.blocked_reason,
                                                                                  a.reason_params),
                                        "blockedReason"))
            self._body.addWidget(box)
        for i in range(self._body.count()):  # show now, not on the next event-loop turn
            w = self._body.itemAt(i).widget()
            if w is not None:
                w.show()

    def _consent_card(self, v: StepView) -> QWidget:
        card = QFrame()
        card.setObjectName("consentCard")
        cl = QVBoxLayout(card)
        cl.setContentsMargins(22, 16, 22, 18)
        cl.setSpacing(10)
        cl.addWidget(_label(tr("consent.read_this"), "cardTitle"))
        wording = _label(v.consent_wording or "", "consentText")
        wording.setAccessibleName(tr("consent.wording_a11y"))
        cl.addWidget(wording)
        if v.consent_decision is None:
            row = QHBoxLayout()
            row.setSpacing(12)
            for decision, key in (("given", "consent.given"), ("declined", "consent.declined")):
                b = EnterButton(tr(key))
                b.setObjectName("consentGiven" if decision == "given" else "consentDeclined")
                b.setAccessibleName(tr(key + "_a11y"))
                b.clicked.connect(lambda _=False, d=decision: self._on_consent(d))
                row.addWidget(b)
                self._consent_buttons[decision] = b
            row.addStretch(1)
            cl.addLayout(row)
        else:
            cl.addWidget(_label(tr("consent.recorded_" + v.consent_decision), "consentState"))
            if v.consent_decision == "given" and v.consent_purpose:
                w = EnterButton(tr("consent.withdraw"))
                w.setObjectName("withdrawButton")
                w.setAccessibleName(tr("consent.withdraw"))
                w.clicked.connect(lambda _=False, p=v.consent_purpose: self._on_withdraw(p))
                cl.addWidget(w, 0, Qt.AlignmentFlag.AlignLeft)
        return card

    def _field_row(self, layout: QVBoxLayout, f: FieldView) -> None:
        row = _FieldRow(f)
        head = QHBoxLayout()
        head.setSpacing(8)
        lab = _label(f.label + ("" if f.required else "  " + tr("field.optional")), "fieldLabel")
        head.addWidget(lab, 1)
        if f.sensitivity == "special":
            head.addWidget(_label(tr("field.special"), "specialTag"), 0)
        layout.addSpacing(6)
        layout.addLayout(head)
        if f.help:
            layout.addWidget(_label(f.help, "fieldHelp"))
        name = tr("field.a11y", label=f.label)
        if f.type in ("choice", "yesno"):
            options: list[tuple[Any, str]]
            keys: dict[str, Any] = {}
            if f.type == "yesno":  # said to the customer: in the call's language, like the flow's labels
                lang = self._call_lang()
                yes_key, no_key = tr_in(lang, "field.yes_key").upper(), tr_in(lang, "field.no_key").upper()
                keys = {yes_key: True, no_key: False}
                options = [(True, tr_in(lang, "field.yes_with_key", letter=yes_key)),
                           (False, tr_in(lang, "field.no_with_key", letter=no_key))]
            else:
                options = list(f.choices)
            if len(options) <= RADIO_MAX:
                box = QWidget()
                box.setObjectName("radioRow")
                bl = QHBoxLayout(box) if f.type == "yesno" or len(options) <= 2 else QVBoxLayout(box)
                bl.setContentsMargins(0, 2, 0, 2)
                bl.setSpacing(4 if isinstance(bl, QVBoxLayout) else 18)
                row.group = QButtonGroup(box)
                row.group.setExclusive(True)
                for value, text in options:
                    rb = AnswerRadio(text, value, row_keys=keys)
                    rb.setAccessibleName(f"{f.label}: {text}")
                    rb.setEnabled(f.enabled)
                    row.group.addButton(rb)
                    row.radios.append(rb)
                    bl.addWidget(rb)
                    rb.toggled.connect(lambda on, fid=f.id, val=value: on and self._on_moved(fid, val))
                    rb.picked.connect(lambda fid=f.id: self._commit_pick(fid))
                    rb.key_picked.connect(lambda val, fid=f.id: self._on_key_pick(fid, val))
                if isinstance(bl, QHBoxLayout):
                    bl.addStretch(1)
                layout.addWidget(box)
                row.focus_widget = row.radios[0] if row.radios else None
            else:
                combo = ChoiceCombo()
                combo.setAccessibleName(name)
                combo.addItem(tr("field.choose"), None)
                for value, text in options:
                    combo.addItem(text, value)
                combo.setEnabled(f.enabled)
                combo.currentIndexChanged.connect(  # "— choose —" (no answer) is itemData None
                    lambda idx, fid=f.id, c=combo: self._on_moved(fid, c.itemData(idx)))
                combo.commit.connect(lambda fid=f.id: self._commit_pick(fid))
                combo.enter_pressed.connect(self._focus_next_input)
                layout.addWidget(combo)
                row.combo = combo
                row.focus_widget = combo
        else:
            edit = QLineEdit()
            edit.setObjectName("fieldEdit")
            edit.setAccessibleName(name)
            edit.setEnabled(f.enabled)
            placeholder = {"money": tr("field.money_hint", currency=self._currency()),
                           "number": tr("field.number_hint"), "date": tr("field.date_hint")}.get(f.type, "")
            edit.setPlaceholderText(placeholder)
            edit.setText(self._value_text(f, f.value))
            edit.setModified(False)
            edit.editingFinished.connect(lambda fid=f.id, e=edit: self._on_edited(fid, e))
            edit.returnPressed.connect(self._focus_next_input)
            edit.textEdited.connect(lambda _t, e=edit: self._ensure_visible(e))  # typing below the fold
            layout.addWidget(edit)
            row.edit = edit
            row.focus_widget = edit
        if not f.enabled and f.disabled_reason:
            layout.addWidget(_label("\U0001F512 " + engine_text(f.disabled_rule, f.disabled_reason), "lockedReason"))
        layout.addWidget(row.hint)
        layout.addWidget(row.message)
        for w in row.inputs:
            w.setProperty("fieldId", f.id)
        self._rows[f.id] = row
        if row.edit is None:
            self._show_pick(row, f.value)

    # ------------------------------------------------------------------ updating in place

    def _update(self, v: StepView) -> None:
        crumbs = [title for _, title in v.breadcrumbs]
        self.crumbs.setAccessibleName(tr("step.crumbs_a11y"))
        self.notice.setAccessibleName(tr("step.notice_a11y"))
        self.crumbs.setText(CRUMB_SEP.join(crumbs) if crumbs else "")
        self.crumbs.setVisible(bool(crumbs))
        self.say_title.setText(tr("step.say"))
        self.say_card.setVisible(bool(v.say))
        self.guide_title.setText(tr("step.guidance"))
        self.guide_card.setVisible(bool(v.guidance))
        wrapped = False
        for lab, text in ((self.say_text, v.say), (self.guide_text, v.guidance)):
            if lab.text() != text:  # an unchanged label is left alone: no layout pass, no repaint
                lab.setText(text)
                lab.updateGeometry()  # word-wrapped text changed: its height must be asked again
                lab.parentWidget().layout().invalidate()
                wrapped = True
        if wrapped:
            self._col.invalidate()
        by_id = {f.id: f for f in v.fields}
        for fid, row in self._rows.items():
            f = by_id.get(fid)
            if f is None:
                continue
            row.view = f
            self._show_value(row, f)
            msg = self._error_text(fid)
            row.message.setText(msg or "")
            row.message.setVisible(bool(msg))
            if row.hint.isVisible() and row.draft() is _UNSET:
                row.hint.hide()  # the draft was committed (or put back as it was)
        self.back_button.setText(tr("nav.back") + "    Alt+\u2190")
        self.back_button.setAccessibleName(tr("nav.back"))
        self.back_button.setEnabled(v.can_back and not v.ended)
        self.back_button.setVisible(v.flow_id is not None)
        ask = v.kind == "ask"
        self.next_button.setText(tr("nav.next") + "    Ctrl+\u21b5")
        self.next_button.setAccessibleName(tr("nav.next"))
        self.next_button.setVisible(v.flow_id is not None and not ask)
        self.next_button.setEnabled(v.next_enabled and not v.ended)
        reason = ""
        if ask:
            reason = tr("nav.pick_answer")
        elif not v.next_enabled and v.next_reason:
            reason = self._engine(v.next_rule, v.next_reason, v.next_params)
        self.next_reason.setText(reason)
        blocked = bool(v.next_rule) and v.next_rule not in ("consent-needed", "choose")
        _restyle(self.next_reason, "nextReasonBlocked" if blocked else "nextReason")
        if self._notice is not None:
            self.notice.setText(self._notice())

    def _show_value(self, row: _FieldRow, f: FieldView) -> None:
        """Show the committed value, unless the agent has typed or picked something not yet sent."""
        if row.edit is not None:
            if row.edit.isModified():
                return
            text = self._value_text(f, f.value)
            if row.edit.text() != text:
                row.edit.setText(text)
                row.edit.setModified(False)
        elif row.pending is _UNSET or row.pending == f.value:
            row.pending = _UNSET
            self._show_pick(row, f.value)

    def _show_pick(self, row: _FieldRow, value: Any) -> None:
        if row.combo is not None:
            idx = row.combo.findData(value) if value is not None else 0
            if row.combo.currentIndex() != max(idx, 0):
                row.combo.blockSignals(True)
                row.combo.setCurrentIndex(max(idx, 0))
                row.combo.blockSignals(False)
            return
        for rb in row.radios:
            want = value is not None and rb.value == value
            if rb.isChecked() != want:
                rb.blockSignals(True)
                if want:
                    rb.setChecked(True)
                elif row.group is not None:
                    row.group.setExclusive(False)
                    rb.setChecked(False)
                    row.group.setExclusive(True)
                rb.blockSignals(False)

    def _value_text(self, f: FieldView, value: Any) -> str:
        if value is None:
            return ""
        if f.type == "money":
            try:
                return self._money_text(Decimal(str(value)))
            except (ArithmeticError, ValueError):
                return str(value)
        return str(value)

    def _money_text(self, amount: Decimal) -> str:
        from callguide.formatting import format_money

        return format_money(amount, None, self._call_lang())

    # ------------------------------------------------------------------ agent input

    def _answer(self, fid: str, raw: Any) -> bool:
        """Send one answer. Refused, or not written: what the agent typed stays, uncommitted."""
        row = self._rows.get(fid)
        if row is not None:  # committed from here on: the repaint shows the value as the engine read it
            if row.edit is not None:
                row.edit.setModified(False)
            row.pending = _UNSET
        self._errors.pop(fid, None)
        res = self.bridge.apply(Answer({fid: raw}))
        if res is not None and res.ok:
            if res.rule == "answer-held-back":  # saved as given, its details not: told in one line
                rule, reason, params = res.rule, res.reason, dict(res.params)
                self._carried = lambda: self._engine(rule, reason, params)
                self._set_notice(self._carried)
            return True
        if res is not None:
            self._keep_errors(res)
        row = self._rows.get(fid)
        if row is not None:  # put it back: typed, not committed
            if row.edit is not None:
                if row.edit.text() != str(raw):
                    row.edit.setText(str(raw))
                row.edit.setModified(True)
            else:
                row.pending = raw
                self._show_pick(row, raw)
        self.refresh()
        if row is not None and fid in self._errors:  # the one line under the field is read, not cut off
            QTimer.singleShot(0, lambda m=row.message: self._ensure_visible(m, focused=False))
        return False

    def _on_edited(self, fid: str, edit: QLineEdit) -> None:
        row = self._rows.get(fid)
        if row is None or row.edit is not edit or not edit.isEnabled() or not edit.isModified():
            return
        self._answer(fid, edit.text())

    def _on_moved(self, fid: str, value: Any) -> None:
        """An arrow key, the wheel or a click moved a pick field's selection: pending, not journalled."""
        row = self._rows.get(fid)
        if row is not None:
            row.pending = value

    def _commit_pick(self, fid: str) -> None:
        row = self._rows.get(fid)
        if row is None or not row.view.enabled:
            return
        raw = row.draft()
        if raw is not _UNSET:
            self._answer(fid, raw)
        elif row.pending is not _UNSET:
            row.pending = _UNSET  # moved away and back to the saved answer: nothing to send

    def _on_key_pick(self, fid: str, value: Any) -> None:
        """Y / N (in the call's language) on a yes/no question: pick, commit, go on to the next input."""
        row = self._rows.get(fid)
        if row is None or not row.view.enabled:
            return
        row.pending = value
        self._show_pick(row, value)
        self._commit_pick(fid)
        row = self._rows.get(fid)
        if row is not None and row.focus_widget is not None:
            focus = next((rb for rb in row.radios if rb.isChecked()), row.focus_widget)
            focus.setFocus(Qt.FocusReason.OtherFocusReason)
        self._focus_next_input()

    def _on_focus_changed(self, old: QWidget | None, new: QWidget | None) -> None:
        if new is not None and self.isAncestorOf(new):
            self._last_focus = self._key_of(new)
            if self.scroll.widget().isAncestorOf(new):  # Enter / Y moved the focus below the fold: scroll to it,
                QTimer.singleShot(0, lambda w=new: self._ensure_visible(w))  # once the layout has settled
        if old is None or self._painting:
            return
        row = self._row_of(old)
        if row is None or (new is not None and self._row_of(new) is row):
            return
        if row.edit is None and row.draft() is not _UNSET:
            self._commit_pick(str(old.property("fieldId")))  # left the field: commit what it shows

    def _ensure_visible(self, w: QWidget, *, focused: bool = True) -> None:
        """Scroll the step to `w` (the focused input, or a field's one line when `focused` is False)."""
        try:
            if (w.hasFocus() if focused else w.isVisible()) and self.scroll.widget().isAncestorOf(w):
                self.scroll.ensureWidgetVisible(w, 16, 24)
        except RuntimeError:  # the widget went with a rebuild before the timer fired
            pass

    def _show_say(self) -> None:
        """A new step: the top of "Say to the customer" stays on screen. Scrolling to the first input
        (a short window, large text, the protections strip) must not hide what to say; the input
        comes into view when the agent moves to it or types (`_ensure_visible`)."""
        try:
            if not self.say_card.isVisible():
                return
            top = self.say_card.mapTo(self.scroll.widget(), self.say_card.rect().topLeft()).y() - 12
            bar = self.scroll.verticalScrollBar()
            if bar.value() > top:
                bar.setValue(max(0, top))
        except RuntimeError:  # the panel went meanwhile
            pass

    def _row_of(self, w: QWidget) -> _FieldRow | None:
        fid = w.property("fieldId") if w is not None else None
        row = self._rows.get(str(fid)) if fid else None
        return row if row is not None and w in row.inputs else None

    def _on_next(self) -> None:
        v = self._view
        if v is None or v.flow_id is None:
            return
        if not self.commit_edits():
            self._set_notice(lambda: tr("step.fix_fields"))
            self.refresh()
            return
        res = self.bridge.apply(Next())
        if res is not None and not res.ok and res.errors:
            self._keep_errors(res)
            self._set_result_notice(res)
            self.refresh()

    def _on_back(self) -> None:
        self.bridge.apply(Back(1))

    def _on_choice(self, choice_id: str) -> None:
        if not self.commit_edits():
            self._set_notice(lambda: tr("step.fix_fields"))
            self.refresh()
            return
        self.bridge.apply(Next(choice_id))

    def _on_consent(self, decision: str) -> None:
        self.bridge.apply(Consent(decision))

    def _on_withdraw(self, purpose: str) -> None:
        self.bridge.apply(Withdraw(purpose))

    def _on_view(self, view: StepView) -> None:
        if view is self.bridge.view:  # else a newer view was pushed meanwhile (a nested operation)
            self.show_view(view)

    def _on_refused(self, result: Any) -> None:
        self._set_result_notice(result)

    def _on_failed(self, message: str) -> None:
        self._set_notice(lambda: message)  # the core's one line (journal or engine), as it said it

    def _set_result_notice(self, result: Any) -> None:
        rule, reason, params = result.rule, result.reason, dict(getattr(result, "params", {}) or {})
        self._set_notice((lambda: self._engine(rule, reason, params)) if reason else None)

    def _set_notice(self, text: Callable[[], str] | None) -> None:
        self._notice = text
        shown = text() if text is not None else ""
        self.notice.setText(shown)
        self.notice.setVisible(bool(shown))

    # ------------------------------------------------------------------ engine messages

    def _engine(self, rule: str | None, reason: str | None, params: dict[str, Any] | None = None) -> str:
        return engine_text(rule, reason, params, flows=getattr(self.bridge.session, "flows", None))

    def _keep_errors(self, res: Any) -> None:
        codes = getattr(res, "error_codes", {}) or {}
        for k, msg in res.errors.items():
            code, params = codes.get(k, (None, {}))
            self._errors[k] = (code, dict(params or {}), msg)

    def _error_text(self, fid: str) -> str | None:
        err = self._errors.get(fid)
        if err is None:
            return None
        code, params, english = err
        row = self._rows.get(fid)
        return field_text(code, params, english, choices=row.view.choices if row is not None else None)

    def _call_lang(self) -> str | None:
        v = self._view
        return v.lang if v is not None else getattr(self.bridge.session, "lang", None)

    # ------------------------------------------------------------------ keyboard

    def _bind(self, seq: QKeySequence, fn: Any) -> None:
        sc = QShortcut(seq, self)
        sc.setContext(Qt.ShortcutContext.WindowShortcut)
        sc.activated.connect(fn)
        self._shortcuts.append(sc)

    def _shortcut_next(self) -> None:
        w = QApplication.focusWidget()
        if isinstance(w, QPlainTextEdit) and w.toPlainText().strip():
            self._set_notice(lambda: tr("step.note_unsaved"))  # a half-written note never moves the call on
            return
        if self.next_button.isVisible() and self.next_button.isEnabled():
            self.next_button.click()

    def _click_choice(self, i: int) -> None:
        if i < len(self._choice_buttons) and self._choice_buttons[i].isEnabled():
            self._choice_buttons[i].click()

    def _click_consent(self, decision: str) -> None:
        b = self._consent_buttons.get(decision)
        if b is not None and b.isEnabled():
            b.click()

    def _focused_key(self) -> str | None:
        w = QApplication.focusWidget()
        if w is None or not self.isAncestorOf(w):
            return None
        return self._key_of(w)

    def _key_of(self, w: QWidget) -> str:
        if w is self.next_button:
            return "next"
        if w is self.back_button:
            return "back"
        fid = w.property("fieldId")
        if fid:
            return f"field:{fid}"
        cid = w.property("choiceId")
        if cid:
            return f"choice:{cid}"
        return "panel"

    def focus_candidates(self) -> list[QWidget]:
        """The step's inputs in order (consent, fields, answers, Next): where the focus may go."""
        out: list[QWidget] = []
        out.extend(b for b in self._consent_buttons.values())
        for row in self._rows.values():
            if row.focus_widget is not None and row.view.enabled:
                checked = next((rb for rb in row.radios if rb.isChecked()), None)
                out.append(checked or row.focus_widget)
        out.extend(self._choice_buttons)
        out.append(self.next_button)
        return [w for w in out if w.isEnabled() and w.isVisibleTo(self)]

    _focus_candidates = focus_candidates

    def tab_chain(self) -> list[QWidget]:
        """Every input of the step in Tab order, Back and Next last."""
        out: list[QWidget] = list(self._consent_buttons.values())
        for row in self._rows.values():
            out.extend(row.inputs)
        out.extend(self._choice_buttons)
        out += [self.back_button, self.next_button]
        return out

    def restore_focus(self) -> None:
        """Back to where the agent was on the step (after writing a note, say)."""
        self._restore_focus(self._last_focus)

    def focus_step(self) -> None:
        """Put the focus on the step's first input (or Next)."""
        cands = self.focus_candidates()
        if cands:
            cands[0].setFocus(Qt.FocusReason.OtherFocusReason)
        QTimer.singleShot(0, self._show_say)  # the step comes on screen: its words first

    def _restore_focus(self, key: str | None) -> None:
        target: QWidget | None = None
        if key and key.startswith("field:"):
            row = self._rows.get(key[6:])
            if row is not None and row.focus_widget is not None:
                target = next((rb for rb in row.radios if rb.isChecked()), row.focus_widget)
        elif key and key.startswith("choice:"):
            target = next((b for b in self._choice_buttons if b.property("choiceId") == key[7:]), None)
        elif key in ("next", "back"):
            target = self.next_button if key == "next" else self.back_button
        if target is None or not target.isEnabled() or not target.isVisibleTo(self):
            cands = self.focus_candidates()
            target = cands[0] if cands else None
        if target is not None:
            target.setFocus(Qt.FocusReason.OtherFocusReason)

    def _focus_next_input(self) -> None:
        w = QApplication.focusWidget()
        cands = self.focus_candidates()
        row = self._row_of(w) if w is not None else None
        if row is not None and row.focus_widget is not None:
            w = next((c for c in cands if c in row.inputs), w)
        if w in cands:
            i = cands.index(w)
            if i + 1 < len(cands):
                cands[i + 1].setFocus(Qt.FocusReason.TabFocusReason)

    def _currency(self) -> str:
        return str(getattr(self.bridge.session.account, "currency", "") or "")


StepKey = tuple[str, tuple[str, ...], str | None]


def step_key(v: StepView) -> StepKey:
    """Which step instance a view shows: the call, the stack of protocols under it, the step."""
    return (v.call_id, tuple(fid for fid, _ in v.breadcrumbs), v.step_id)
