"""Practice mode: run a practice case (or a flow) in the agents' own StepPanel and F2–F8 bar
(`CallBar`), with the customer's lines beside it, on the practice database; score the call at
the end. "Show me" plays the case's model answer event by event, visibly, and stops with the
event, the step and the reason when the (edited) flow refuses it, instead of scoring a model
answer that no longer fits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from callguide.engine.script import ScriptError, apply_event
from callguide.flow.model import FlowLibrary
from callguide.library.practice import PracticeCase, PracticeError, Score, score_session, start_practice
from callguide.qt.i18n import tr


class PracticePanel(QWidget):
    scored = Signal(object)       # Score
    failed = Signal(str)          # a one-line problem

    def __init__(self, library: Callable[[], FlowLibrary], practice_db: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("practicePanel")
        self.library = library
        self.practice_db = Path(practice_db)
        self.cases: list[PracticeCase] = []
        self.case: PracticeCase | None = None
        self.session: Any = None
        self.store: Any = None
        self.bridge: Any = None
        self.step_panel: Any = None
        self.call_bar: Any = None
        self.last_score: Score | None = None
        self.play_interval = 250  # ms between the model answer's events ("Show me")
        self.playing = False
        self.show_me_problem: str | None = None
        self._play_events: list[Any] = []
        self._play_index = 0
        self._play_timer = QTimer(self)
        self._play_timer.setSingleShot(True)
        self._play_timer.timeout.connect(self._play_next)

        v = QVBoxLayout(self)
        top = QHBoxLayout()
        self.picker = QComboBox()
        self.picker.setObjectName("practicePicker")
        self.picker.currentIndexChanged.connect(lambda _i: self._buttons())
        self.start_btn = QPushButton(tr("practice.start"))
        self.start_btn.setObjectName("practiceStart")
        self.start_btn.clicked.connect(self.start)
        self.show_btn = QPushButton(tr("practice.show_me"))
        self.show_btn.setToolTip(tr("practice.show_me_tip"))
        self.show_btn.clicked.connect(self.show_me)
        self.finish_btn = QPushButton(tr("practice.finish"))
        self.finish_btn.setObjectName("practiceFinish")
        self.finish_btn.clicked.connect(self.finish)
        top.addWidget(QLabel(tr("practice.pick")))
        top.addWidget(self.picker, 1)
        top.addWidget(self.start_btn)
        top.addWidget(self.show_btn)
        top.addWidget(self.finish_btn)
        v.addLayout(top)

        split = QSplitter()
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        self.persona = QLabel(tr("practice.intro"))
        self.persona.setObjectName("persona")
        self.persona.setWordWrap(True)
        self.persona.setStyleSheet("QLabel#persona{background:#f5f5f5;border:1px solid #ddd;border-radius:6px;"
                                   "padding:10px;}")
        self.customer = QLabel("")
        self.customer.setObjectName("customerLine")
        self.customer.setWordWrap(True)
        self.customer.setStyleSheet("QLabel#customerLine{background:#e3f2fd;border:1px solid #90caf9;"
                                    "border-radius:12px;padding:12px;font-size:15px;}")
        self.score_label = QLabel("")
        self.score_label.setObjectName("score")
        self.score_label.setWordWrap(True)
        self.persona.setMinimumHeight(110)
        self.customer.setMinimumHeight(80)
        self.score_label.setMinimumHeight(48)
        self.differences = QListWidget()
        self.differences.setObjectName("differences")
        self.differences.setWordWrap(True)
        self.differences.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        lv.addWidget(self.persona)
        lv.addWidget(QLabel(tr("practice.customer_says")))
        lv.addWidget(self.customer)
        lv.addWidget(self.score_label)
        lv.addWidget(self.differences, 1)
        split.addWidget(left)
        self.panel_host = QFrame()
        self.panel_host.setObjectName("panelHost")
        self.panel_layout = QVBoxLayout(self.panel_host)
        self.panel_layout.setContentsMargins(0, 0, 0, 0)
        try:  # the trainee sees the step panel exactly as agents do
            from callguide.qt import style

            self.panel_host.setStyleSheet(style.stylesheet())
        except (ImportError, OSError, KeyError, ValueError):
            pass
        self.placeholder = QLabel(tr("practice.placeholder"))
        self.panel_layout.addWidget(self.placeholder)
        split.addWidget(self.panel_host)
        split.setSizes([360, 640])
        v.addWidget(split, 1)
        self._buttons()

    # ------------------------------------------------------------------ cases

    def set_cases(self, cases: list[PracticeCase], flow_ids: list[str]) -> None:
        self.cases = cases
        current = self.picker.currentData()
        self.picker.clear()
        for i, c in enumerate(cases):
            self.picker.addItem(tr("practice.case", name=c.name), f"case:{i}")
        for fid in flow_ids:
            self.picker.addItem(tr("practice.free", flow=fid), f"flow:{fid}")
        if current is not None:
            idx = self.picker.findData(current)
            if idx >= 0:
                self.picker.setCurrentIndex(idx)

    def select_case(self, name_or_path: str) -> bool:
        for i, c in enumerate(self.cases):
            if name_or_path in (c.name, c.path, Path(c.path).name):
                self.picker.setCurrentIndex(self.picker.findData(f"case:{i}"))
                return True
        return False

    def _picked_case(self) -> PracticeCase | None:
        kind, _, ref = str(self.picker.currentData() or "").partition(":")
        return self.cases[int(ref)] if kind == "case" and ref.isdigit() and int(ref) < len(self.cases) else None

    def _buttons(self) -> None:
        running = self.session is not None
        self.finish_btn.setEnabled(running)
        case = self._picked_case()
        self.show_btn.setEnabled(case is not None and bool(case.solution))

    # ------------------------------------------------------------------ running

    def start(self) -> None:
        from callguide.qt.bridge import SessionBridge
        from callguide.qt.step_panel import StepPanel

        self.stop()
        data = self.picker.currentData()
        if data is None:
            return
        kind, _, ref = str(data).partition(":")
        self.case = self.cases[int(ref)] if kind == "case" else None
        try:
            self.session, self.store = start_practice(self.library(), self.practice_db, self.case,
                                                      flow_id=None if self.case else ref)
        except PracticeError as e:
            self.failed.emit(str(e))
            self.case = None
            self._buttons()
            return
        self.bridge = SessionBridge(self.session, self)
        self.bridge.changed.connect(self._on_changed)
        self.bridge.failed.connect(self.failed.emit)
        self.placeholder.hide()
        self.step_panel = StepPanel(self.bridge)
        self.panel_layout.addWidget(self.step_panel, 1)
        self.step_panel.refresh()
        from callguide.qt.call_bar import CallBar

        self.call_bar = CallBar(self.bridge)  # F2–F8, as on a live call (the guidance says "use F3")
        self.panel_layout.addWidget(self.call_bar)
        self.panel_layout.activate()
        p = self.case.persona if self.case else None
        if p is not None:
            self.persona.setText(tr("practice.persona", name=p.name, country=p.country, lang=p.lang or "-",
                                     situation=p.situation))
        else:
            self.persona.setText(tr("practice.free_intro", flow=ref))
        self.score_label.setText("")
        self.differences.clear()
        self._on_changed("")
        self._buttons()

    def _on_changed(self, _op: str) -> None:
        top = self.session.top if self.session is not None else None
        line = self.case.customer_line(top.flow.id, top.step_id) if (self.case and top) else None
        self.customer.setText(f"\u201c{line}\u201d" if line else tr("practice.customer_silent"))

    def show_me(self) -> None:
        """Play the case's model answer from the start through the same panel, one event at a time."""
        case = self._picked_case()
        if case is None or not case.solution:
            return
        self.start()
        if self.session is None:
            return
        self.case = case
        self._play_events = list(case.solution)
        self._play_index = 0
        self.show_me_problem = None
        self.playing = True
        self.score_label.setText(tr("practice.playing", n=len(self._play_events)))
        self._play_timer.start(self.play_interval)

    def _play_next(self) -> None:
        if not self.playing or self.session is None:
            return
        i = self._play_index
        if i >= len(self._play_events):
            self.playing = False
            score = self.finish()
            if score is not None and not score.passed:
                self.show_me_problem = tr("practice.show_me_off", score=score.score, first=score.differences[0])
                self.score_label.setText(f"<span style='color:#c62828'>{self.show_me_problem}</span>")
                self.failed.emit(self.show_me_problem)
            elif score is not None:
                self.score_label.setText(self.score_label.text() + "  " + tr("practice.model_answer"))
            return
        ev = self._play_events[i]
        if self.step_panel is not None:
            self.step_panel.commit_edits()
        top = self.session.top
        where = f"{top.flow.id}/{top.step_id}" if top else "-"
        try:
            res = apply_event(self.session, ev, i)
        except ScriptError as e:
            self._stop_playing(i, ev, where, str(e))
            return
        if self.step_panel is not None:
            self.step_panel.refresh()
        self._on_changed("")
        if not res.ok:
            self._stop_playing(i, ev, where, res.reason or res.rule or "")
            return
        self._play_index += 1
        self.score_label.setText(tr("practice.playing_step", i=i + 1, n=len(self._play_events)))
        self._play_timer.start(self.play_interval)

    def _stop_playing(self, i: int, ev: Any, where: str, reason: str) -> None:
        self.playing = False
        text = ", ".join(f"{k}: {v}" for k, v in ev.items()) if isinstance(ev, dict) else str(ev)
        self.show_me_problem = tr("practice.show_me_stopped", i=i + 1, n=len(self._play_events), event=text,
                                  step=where, reason=reason.rstrip(". "))
        self.score_label.setText(f"<span style='color:#c62828'>{self.show_me_problem}</span>")
        self.failed.emit(self.show_me_problem)

    def finish(self) -> Score | None:
        if self.session is None:
            return None
        score: Score | None = None
        self.differences.clear()
        if self.case is not None:
            score = score_session(self.case, self.session)
            self.last_score = score
            color = "#2e7d32" if score.score >= 80 else ("#ef6c00" if score.score >= 50 else "#c62828")
            self.score_label.setText(f"<span style='font-size:28px;font-weight:bold;color:{color}'>"
                                     f"{score.score}/100</span>  " + (tr("practice.perfect") if score.passed
                                                                      else tr("practice.differences")))
            for d in score.differences:
                it = QListWidgetItem("\u2716 " + d)
                it.setForeground(QColor("#c62828"))
                self.differences.addItem(it)
            for m in score.matched:
                it = QListWidgetItem("\u2714 " + m)
                it.setForeground(QColor("#2e7d32"))
                self.differences.addItem(it)
            self.scored.emit(score)
        else:
            outcome = self.session.root_outcome
            self.score_label.setText(tr("practice.free_done", outcome=outcome or "-"))
        return score

    def stop(self) -> None:
        self.playing = False
        self._play_timer.stop()
        if self.call_bar is not None:
            self.call_bar.setParent(None)
            self.call_bar.deleteLater()
            self.call_bar = None
        if self.step_panel is not None:
            self.step_panel.setParent(None)
            self.step_panel.deleteLater()
            self.step_panel = None
        if self.bridge is not None:
            self.bridge.detach()
            self.bridge.deleteLater()
            self.bridge = None
        if self.store is not None:
            self.store.close()
            self.store = None
        self.session = None
        self.placeholder.show()
        self._buttons()
