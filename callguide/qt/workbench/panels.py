"""The workbench's smaller panels: the translation table, flow tests with coverage, and
versions (publish, history, semantic diff)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
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
from callguide.library.publish import Publication
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
    """Runs the flow tests (`*.test.yaml`) and lists results and coverage."""

    run_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        v = QVBoxLayout(self)
        top = QHBoxLayout()
        self.run_btn = QPushButton(tr("tests.run"))
        self.run_btn.setObjectName("runTests")
        self.run_btn.clicked.connect(self.run_requested.emit)
        self.summary = QLabel(tr("tests.none_yet"))
        self.summary.setObjectName("testsSummary")
        top.addWidget(self.run_btn)
        top.addWidget(self.summary, 1)
        v.addLayout(top)
        self.results = QListWidget()
        self.results.setObjectName("testResults")
        v.addWidget(self.results, 1)

    def show_results(self, results: list, rows: list[tuple[str, int, int, int, int]], flow_id: str | None) -> None:
        self.results.clear()
        failed = [r for r in results if not r.ok]
        for r in results:
            it = QListWidgetItem(("\u2714 " if r.ok else "\u2716 ") + f"{r.name}  \u2014  {r.file.rsplit('/', 1)[-1]}")
            it.setForeground(QColor("#2e7d32") if r.ok else QColor("#c62828"))
            self.results.addItem(it)
            for msg in r.failures:
                sub = QListWidgetItem("      " + msg)
                sub.setForeground(QColor("#c62828"))
                self.results.addItem(sub)
        cov = ""
        for fid, sh, st, th, tt in rows:
            if fid == flow_id:
                cov = tr("tests.coverage", flow=fid, sh=sh, st=st, th=th, tt=tt)
        self.summary.setText(tr("tests.summary", passed=len(results) - len(failed), failed=len(failed)) +
                             ("   " + cov if cov else ""))


class VersionsPanel(QWidget):
    """The publications of the selected flow, a publish button and a semantic diff between any two."""

    publish_requested = Signal()
    diff_requested = Signal(str, str)  # from ref, to ref ("working", "live", "#seq")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
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
        self.table = QTableWidget(0, 5)
        self.table.setObjectName("versions")
        self.table.setHorizontalHeaderLabels([tr("ver.label"), tr("ver.hash"), tr("ver.by"), tr("ver.when"),
                                              tr("ver.note")])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        v.addWidget(self.table, 1)
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

    def show_versions(self, versions: list[Publication], state: str) -> None:
        self.state.setText(state)
        self.table.setRowCount(len(versions))
        for r, p in enumerate(reversed(versions)):
            label = p.version_label + ("  \u25cf " + tr("ver.live") if r == 0 else "")
            for c, val in enumerate([label, p.short_hash, p.published_by, p.published_at.replace("T", " "), p.note]):
                self.table.setItem(r, c, QTableWidgetItem(val))
        self.table.resizeColumnsToContents()
        for combo, default in ((self.from_ref, "live"), (self.to_ref, "working")):
            combo.clear()
            combo.addItem(tr("ver.working"), "working")
            for p in reversed(versions):
                combo.addItem(f"{p.version_label} ({p.short_hash}) \u2014 {p.published_at[:10]}", f"#{p.seq}")
            if versions:
                combo.setCurrentIndex(1 if default == "live" else 0)
