"""The workbench's smaller panels: the translation table, flow tests with coverage, versions
(submit, review, approve, roll back, semantic diff) and agents' flags (triage)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QDateTime, Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from callguide.flow.model import Flow
from callguide.library.testrun import TestRun, explain
from callguide.qt.i18n import tr
from callguide.qt.workbench.status import text_slots

MISSING_BG = QColor("#fdecea")


class TranslationTable(QTableWidget):
    """Every text id of the flow against its languages; missing ones marked. Step texts are editable."""

    text_edited = Signal(str, str, str, str)  # step id, slot, lang, value

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("translations")
        self._slots: list[tuple[str | None, str | None]] = []
        self._langs: list[str] = []
        self._painting = False
        self.itemChanged.connect(self._changed)

    def show_flow(self, flow: Flow | None) -> None:
        self._painting = True
        self.clear()
        self._slots = []
        if flow is None:
            self.setRowCount(0)
            self._painting = False
            return
        self._langs = list(flow.languages)
        rows = text_slots(flow)
        self.setColumnCount(1 + len(self._langs))
        self.setRowCount(len(rows))
        self.setHorizontalHeaderLabels([tr("tr.id")] + self._langs)
        missing = 0
        for r, (text, sid, slot) in enumerate(rows):
            self._slots.append((sid, slot))
            idi = QTableWidgetItem(text.id)
            idi.setFlags(idi.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.setItem(r, 0, idi)
            for c, lang in enumerate(self._langs):
                value = text.by_lang.get(lang, "")
                it = QTableWidgetItem(value or tr("tr.missing"))
                if not value:
                    missing += 1
                    it.setBackground(MISSING_BG)
                    it.setForeground(QColor("#c62828"))
                if sid is None:
                    it.setFlags(it.flags() & ~Qt.ItemFlag.ItemIsEditable)
                it.setToolTip(value)
                self.setItem(r, c + 1, it)
        self.missing = missing
        self.resizeColumnToContents(0)
        for c in range(len(self._langs)):
            self.setColumnWidth(c + 1, 320)
        self._painting = False

    def _changed(self, item: QTableWidgetItem) -> None:
        if self._painting or item.column() == 0:
            return
        sid, slot = self._slots[item.row()]
        if sid is None or slot is None:
            return
        value = item.text().strip()
        if value == tr("tr.missing"):
            return
        self.text_edited.emit(sid, slot, self._langs[item.column() - 1], value)


class TestsPanel(QWidget):
    """Runs the flow tests (`*.test.yaml`) and lists results and coverage. A failure says, in words,
    what was expected and what happened."""

    run_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        v = QVBoxLayout(self)
        top = QHBoxLayout()
        self.run_btn = QPushButton(tr("tests.run") + "   F9")
        self.run_btn.setObjectName("runTests")
        self.run_btn.clicked.connect(self.run_requested.emit)
        self.summary = QLabel(tr("tests.none_yet"))
        self.summary.setObjectName("testsSummary")
        self.summary.setWordWrap(True)
        top.addWidget(self.run_btn)
        top.addWidget(self.summary, 1)
        v.addLayout(top)
        self.results = QListWidget()
        self.results.setObjectName("testResults")
        self.results.setWordWrap(True)
        v.addWidget(self.results, 1)

    def show_results(self, run: TestRun, flow_id: str | None) -> None:
        self.results.clear()
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        for c in sorted(run.cases, key=lambda c: c.ok):
            it = QListWidgetItem(("\u2714 " if c.ok else "\u2716 ") + f"{c.name}  \u2014  {c.where.rsplit('/', 1)[-1]}")
            it.setForeground(QColor("#2e7d32") if c.ok else QColor("#c62828"))
            it.setToolTip(c.where)
            self.results.addItem(it)
            if c.ok:
                continue
            for m in explain(c):
                sub = QListWidgetItem(f"      {m.what}\n"
                                      f"        {tr('tests.expected')}: {m.expected}\n"
                                      f"        {tr('tests.actual')}:   {m.actual}")
                sub.setFont(mono)
                sub.setForeground(QColor("#5d1010"))
                self.results.addItem(sub)
        for sk in run.skipped:
            it = QListWidgetItem("\u2013 " + tr("tests.skipped", what=sk))
            it.setForeground(QColor("#777777"))
            self.results.addItem(it)
        cov = ""
        for fid, sh, st, th, tt in run.coverage.rows():
            if fid == flow_id:
                cov = tr("tests.coverage", flow=fid, sh=sh, st=st, th=th, tt=tt)
        self.summary.setText(tr("tests.summary", passed=run.passed, failed=len(run.failed)) +
                             ("   " + cov if cov else ""))


STATE_COLOURS = {"live": "#2e7d32", "submitted": "#1565c0", "scheduled": "#6a1b9a", "rejected": "#c62828",
                 "practice": "#b26a00", "withdrawn": "#b26a00", "superseded": "#777777", "approved": "#1565c0"}


class VersionsPanel(QWidget):
    """The versions of the selected flow with their state, submitting for review, the reviewer's view
    (semantic diff against live, test results, coverage) with Approve / Reject, roll back, and a diff
    between any two versions."""

    publish_requested = Signal()
    approve_requested = Signal(str)   # version label
    reject_requested = Signal(str)
    rollback_requested = Signal(str)
    selected = Signal(str)            # a version label was picked in the table
    diff_requested = Signal(str, str)  # from ref, to ref ("working", "live", "#id")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.statuses: list = []
        v = QVBoxLayout(self)
        top = QHBoxLayout()
        self.publish_btn = QPushButton(tr("publish.button"))
        self.publish_btn.setObjectName("publish")
        self.publish_btn.clicked.connect(self.publish_requested.emit)
        self.state = QLabel()
        self.state.setObjectName("publishState")
        self.state.setWordWrap(True)
        top.addWidget(self.publish_btn)
        top.addWidget(self.state, 1)
        v.addLayout(top)
        self.table = QTableWidget(0, 7)
        self.table.setObjectName("versions")
        self.table.setHorizontalHeaderLabels([tr("ver.label"), tr("ver.state"), tr("ver.by"), tr("ver.approved_by"),
                                              tr("ver.when"), tr("ver.note"), tr("ver.hash")])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.itemSelectionChanged.connect(self._picked)
        v.addWidget(self.table, 1)
        acts = QHBoxLayout()
        self.review_title = QLabel()
        self.review_title.setObjectName("reviewTitle")
        self.review_title.setWordWrap(True)
        self.approve_btn = QPushButton(tr("review.approve"))
        self.approve_btn.setObjectName("approve")
        self.approve_btn.clicked.connect(lambda: self.approve_requested.emit(self.current_label() or ""))
        self.reject_btn = QPushButton(tr("review.reject"))
        self.reject_btn.setObjectName("reject")
        self.reject_btn.clicked.connect(lambda: self.reject_requested.emit(self.current_label() or ""))
        self.rollback_btn = QPushButton(tr("review.rollback"))
        self.rollback_btn.setObjectName("rollback")
        self.rollback_btn.clicked.connect(lambda: self.rollback_requested.emit(self.current_label() or ""))
        acts.addWidget(self.review_title, 1)
        self.at_check = QCheckBox(tr("review.at"))
        self.at_check.setObjectName("goLiveAt")
        self.at_edit = QDateTimeEdit(QDateTime.currentDateTime().addSecs(3600))
        self.at_edit.setCalendarPopup(True)
        self.at_edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.at_edit.setEnabled(False)
        self.at_check.toggled.connect(self.at_edit.setEnabled)
        acts.addWidget(self.at_check)
        acts.addWidget(self.at_edit)
        for b in (self.approve_btn, self.reject_btn, self.rollback_btn):
            b.setEnabled(False)
            acts.addWidget(b)
        v.addLayout(acts)
        self.evidence = QLabel()
        self.evidence.setObjectName("evidence")
        self.evidence.setWordWrap(True)
        self.evidence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        v.addWidget(self.evidence)
        row = QHBoxLayout()
        self.from_ref = QComboBox()
        self.to_ref = QComboBox()
        self.diff_btn = QPushButton(tr("ver.diff"))
        self.diff_btn.clicked.connect(lambda: self.diff_requested.emit(self.from_ref.currentData() or "",
                                                                       self.to_ref.currentData() or ""))
        row.addWidget(QLabel(tr("ver.compare")))
        row.addWidget(self.from_ref, 1)
        row.addWidget(QLabel("\u2192"))
        row.addWidget(self.to_ref, 1)
        row.addWidget(self.diff_btn)
        v.addLayout(row)
        self.diff = QPlainTextEdit()
        self.diff.setObjectName("diffText")
        self.diff.setReadOnly(True)
        self.diff.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        v.addWidget(self.diff, 2)

    def show_versions(self, statuses: list, state: str) -> None:
        self.statuses = list(reversed(statuses))
        self.state.setText(state)
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.statuses))
        for r, vs in enumerate(self.statuses):
            p = vs.version
            when = (vs.go_live or "").replace("T", " ")[:16] or p.created_at.replace("T", " ")[:16]
            vals = [p.version_label + ("  \u25cf" if vs.state == "live" else ""), tr(f"state.{vs.state}"),
                    vs.submitted_by, vs.approved_by or "", when, p.note, p.short_hash]
            for c, val in enumerate(vals):
                it = QTableWidgetItem(val)
                if c == 1:
                    it.setForeground(QColor(STATE_COLOURS.get(vs.state, "#222222")))
                if c == 5:
                    it.setToolTip(p.note)
                self.table.setItem(r, c, it)
        self.table.resizeColumnsToContents()
        self.table.blockSignals(False)
        for combo, default in ((self.from_ref, "live"), (self.to_ref, "working")):
            combo.clear()
            combo.addItem(tr("ver.working"), "working")
            for vs in self.statuses:
                p = vs.version
                combo.addItem(f"{p.version_label} ({tr(f'state.{vs.state}')}) \u2014 {p.created_at[:10]}", f"#{p.id}")
            if statuses:
                live = next((i for i, vs in enumerate(self.statuses) if vs.state == "live"), 0)
                combo.setCurrentIndex(live + 1 if default == "live" else 0)

    def current_label(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        return self.statuses[rows[0].row()].version.version_label

    def select_label(self, label: str) -> None:
        for r, vs in enumerate(self.statuses):
            if vs.version.version_label == label:
                self.table.selectRow(r)
                return

    def _picked(self) -> None:
        label = self.current_label()
        if label:
            self.selected.emit(label)

    def go_live_at(self) -> Any:
        """The go-live time the reviewer set (a local datetime), or None for now."""
        return self.at_edit.dateTime().toPython() if self.at_check.isChecked() else None

    def show_review(self, title: str, evidence: list[str], can_approve: bool, can_reject: bool,
                    can_rollback: bool) -> None:
        self.review_title.setText(title)
        self.evidence.setText("\n".join(evidence))
        self.approve_btn.setEnabled(can_approve)
        self.at_check.setEnabled(can_approve)
        self.reject_btn.setEnabled(can_reject)
        self.rollback_btn.setEnabled(can_rollback)


class FlagsPanel(QWidget):
    """Agents' flags on the flows: who, when, which version and step, their words, and the triage
    (accept, reject with a reason, fixed in a version, reopen)."""

    triage_requested = Signal(str, str)   # flag ref (#seq), state
    step_requested = Signal(str, str)     # flow id, step id

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.flags: list = []
        v = QVBoxLayout(self)
        top = QHBoxLayout()
        self.summary = QLabel()
        self.summary.setObjectName("flagsSummary")
        self.show_all = QCheckBox(tr("flags.show_all"))
        self.show_all.toggled.connect(lambda _b: self.show_flags(self._all))
        top.addWidget(self.summary, 1)
        top.addWidget(self.show_all)
        v.addLayout(top)
        self.table = QTableWidget(0, 7)
        self.table.setObjectName("flagsTable")
        self.table.setHorizontalHeaderLabels([tr("flags.ref"), tr("flags.when"), tr("flags.agent"),
                                              tr("flags.version"), tr("flags.step"), tr("flags.words"),
                                              tr("flags.state")])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setWordWrap(True)
        self.table.cellDoubleClicked.connect(self._open)
        v.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for state in ("accepted", "rejected", "fixed", "open"):
            b = QPushButton(tr(f"flags.do.{state}"))
            b.setObjectName(f"flag-{state}")
            b.clicked.connect(lambda _=False, st=state: self._triage(st))
            self.buttons[state] = b
            row.addWidget(b)
        row.addStretch(1)
        v.addLayout(row)
        self._all: list = []

    def show_flags(self, flags: list) -> None:
        self._all = list(flags)
        shown = [f for f in flags if self.show_all.isChecked() or f.active]
        self.flags = shown
        self.table.setRowCount(len(shown))
        for r, f in enumerate(shown):
            e = f.entry
            vals = [f.ref, e.ts[:16].replace("T", " "), e.agent, f"{e.flow_id} {e.flow_version}", e.step_id,
                    e.comment or "\u2014", f.describe_state()]
            for c, val in enumerate(vals):
                it = QTableWidgetItem(val)
                it.setToolTip(val)
                self.table.setItem(r, c, it)
        self.table.resizeColumnsToContents()
        self.table.resizeRowsToContents()
        active = sum(f.active for f in flags)
        self.summary.setText(tr("flags.summary", active=active, total=len(flags)))

    def current(self) -> Any:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.flags[rows[0].row()] if rows else None

    def select_ref(self, ref: str) -> None:
        for r, f in enumerate(self.flags):
            if f.ref == ref:
                self.table.selectRow(r)

    def _triage(self, state: str) -> None:
        f = self.current()
        if f is not None:
            self.triage_requested.emit(f.ref, state)

    def _open(self, row: int, _col: int) -> None:
        f = self.flags[row]
        self.step_requested.emit(f.entry.flow_id, f.entry.step_id)
