"""`WorkbenchWindow`: the trainer's workbench over a flows folder and the journal database.

Left: the flows, each with its validation and publication state. Right, in tabs: the YAML
editor with live diagnostics next to the form view of the selected step, the graph, the
translation table, practice mode, flow tests, and versions (publish, history, diff).

The window owns only editor buffers (unsaved text per file); flows are re-parsed from the
text after a 300 ms pause in typing and every view is repainted from that parse. Form edits
go through `callguide.library.editing` (ruamel round-trip) and land in the editor as one
undoable change. Errors are shown as one line in the status bar, never as tracebacks.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import (
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QSplitter,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from callguide import paths
from callguide.flow.loader import find_flow_files, load_flow, load_flow_text, load_signposts
from callguide.flow.model import Flow, FlowLibrary
from callguide.flow.validate import validate_library
from callguide.flow.yamlsafe import Diagnostic, display_path
from callguide.library import editing
from callguide.library.flags import FlagsError, collect_flags, flags_for_flow
from callguide.library.practice import PracticeError, find_practice_cases, load_practice_case
from callguide.library.publish import PublicationStore, PublishError, text_hash
from callguide.qt.i18n import tr
from callguide.qt.workbench.editor import YamlEditor
from callguide.qt.workbench.form import StepForm
from callguide.qt.workbench.graph_view import FlowGraphView
from callguide.qt.workbench.panels import TestsPanel, TranslationTable, VersionsPanel
from callguide.qt.workbench.practice_panel import PracticePanel
from callguide.qt.workbench.status import step_for_line, step_marks

DEBOUNCE_MS = 300


class WorkbenchWindow(QMainWindow):
    def __init__(self, flows_dir: str | Path | None = None, db: str | Path | None = None,
                 practice_db: str | Path | None = None, user: str | None = None):
        super().__init__()
        self.setObjectName("workbench")
        self.flows_dir = Path(flows_dir) if flows_dir else paths.flows_dir()
        self.db = Path(db) if db else paths.default_db_path()
        self.practice_db = Path(practice_db) if practice_db else paths.default_practice_db_path()
        self.user = user or os.environ.get("CALLGUIDE_USER") or _login()
        self.setWindowTitle(tr("window.title", folder=str(self.flows_dir)))
        self.buffers: dict[Path, str] = {}
        self.current: Path | None = None
        self.flow: Flow | None = None
        self.diags: list[Diagnostic] = []
        self.coverage: Any = None
        self.flags: dict = {}
        self._cache: dict[Path, tuple[float, Flow | None, list[Diagnostic]]] = {}
        self._signposts: tuple[dict, list[Diagnostic]] | None = None
        self._loading = False

        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DEBOUNCE_MS)
        self.timer.timeout.connect(self.revalidate)

        # ---- toolbar
        tb = QToolBar(tr("toolbar"))
        tb.setObjectName("toolbar")
        tb.setMovable(False)
        self.addToolBar(tb)
        self.save_action = QAction(tr("action.save"), self)
        self.save_action.setShortcut(QKeySequence.StandardKey.Save)
        self.save_action.triggered.connect(self.save)
        self.tests_action = QAction(tr("action.run_tests"), self)
        self.tests_action.setShortcut(QKeySequence("F9"))
        self.tests_action.triggered.connect(self.run_tests)
        self.publish_action = QAction(tr("action.publish"), self)
        self.publish_action.triggered.connect(self.publish)
        self.reload_action = QAction(tr("action.reload"), self)
        self.reload_action.triggered.connect(self.reload)
        for a in (self.save_action, self.tests_action, self.publish_action, self.reload_action):
            tb.addAction(a)

        # ---- left: flows
        split = QSplitter()
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(4, 4, 4, 4)
        lv.addWidget(QLabel(f"<b>{tr('flows.title')}</b>"))
        self.flow_list = QListWidget()
        self.flow_list.setObjectName("flowList")
        self.flow_list.currentItemChanged.connect(self._flow_picked)
        lv.addWidget(self.flow_list, 1)
        split.addWidget(left)

        # ---- right: tabs
        self.tabs = QTabWidget()
        self.tabs.setObjectName("tabs")
        edit = QSplitter()
        ed_col = QSplitter(Qt.Orientation.Vertical)
        self.editor = YamlEditor()
        self.editor.textChanged.connect(self._text_changed)
        self.diag_list = QListWidget()
        self.diag_list.setObjectName("diagnostics")
        self.diag_list.itemActivated.connect(self._diag_clicked)
        self.diag_list.itemClicked.connect(self._diag_clicked)
        ed_col.addWidget(self.editor)
        ed_col.addWidget(self.diag_list)
        ed_col.setSizes([560, 140])
        self.form = StepForm()
        self.form.text_edited.connect(self._form_text)
        self.form.transition_edited.connect(self._form_transition)
        self.form.step_selected.connect(self._step_selected)
        self.form.add_step_requested.connect(self.add_step)
        edit.addWidget(ed_col)
        edit.addWidget(self.form)
        edit.setSizes([620, 560])
        self.graph = FlowGraphView()
        self.graph.step_clicked.connect(self.jump_to_step)
        self.translations = TranslationTable()
        self.translations.text_edited.connect(self._form_text)
        self.practice = PracticePanel(self.working_library, self.practice_db)
        self.practice.failed.connect(self._error)
        self.tests = TestsPanel()
        self.tests.run_requested.connect(self.run_tests)
        self.versions = VersionsPanel()
        self.versions.publish_requested.connect(self.publish)
        self.versions.diff_requested.connect(self.show_diff)
        self.tabs.addTab(edit, tr("tab.edit"))
        self.tabs.addTab(self.graph, tr("tab.graph"))
        self.tabs.addTab(self.translations, tr("tab.translations"))
        self.tabs.addTab(self.practice, tr("tab.practice"))
        self.tabs.addTab(self.tests, tr("tab.tests"))
        self.tabs.addTab(self.versions, tr("tab.versions"))
        split.addWidget(self.tabs)
        split.setSizes([250, 1150])
        self.setCentralWidget(split)
        self.resize(1400, 860)
        self.reload()

    # ------------------------------------------------------------------ library

    def _disk_flow(self, f: Path) -> tuple[Flow | None, list[Diagnostic]]:
        try:
            mtime = f.stat().st_mtime_ns
        except OSError:
            mtime = -1
        hit = self._cache.get(f)
        if hit is None or hit[0] != mtime:
            flow, diags = load_flow(f)
            hit = (mtime, flow, diags)
            self._cache[f] = hit
        return hit[1], hit[2]

    def _flow_of(self, f: Path) -> tuple[Flow | None, list[Diagnostic]]:
        if f in self.buffers:
            return load_flow_text(self.buffers[f], display_path(f))
        return self._disk_flow(f)

    def working_library(self, diags: list[Diagnostic] | None = None) -> FlowLibrary:
        """The flows as the trainer has them now: saved files, with unsaved editor text in place."""
        if self.current is not None and self._loading is False:
            self.buffers_sync()
        lib = FlowLibrary()
        for f in find_flow_files([self.flows_dir]):
            flow, d = self._flow_of(f)
            if diags is not None:
                diags.extend(d)
            if flow is not None and flow.id not in lib.flows:
                lib.flows[flow.id] = flow
        if self._signposts is None:
            sp = paths.signposts_path()
            self._signposts = load_signposts(sp) if sp.exists() else ({}, [])
        lib.signposts = self._signposts[0]
        return lib

    def buffers_sync(self) -> None:
        if self.current is None:
            return
        text = self.editor.toPlainText()
        if text != _read(self.current):
            self.buffers[self.current] = text
        else:
            self.buffers.pop(self.current, None)

    # ------------------------------------------------------------------ flows list

    def reload(self) -> None:
        from callguide.library.publish import publish_baseline

        try:  # a fresh database adopts the flows on disk as the baseline, as live calls would
            publish_baseline(self.flows_dir, self.db)
        except PublishError as e:
            self._error(str(e))
        try:
            self.flags = collect_flags(self.db)
        except FlagsError as e:
            self.flags = {}
            self._error(str(e))
        self._signposts = None
        self.refresh_list()
        cases = []
        for p in find_practice_cases(self.flows_dir):
            try:
                cases.append(load_practice_case(p))
            except PracticeError as e:
                self._error(str(e))
        lib = self.working_library()
        self.practice.set_cases([c for c in cases if c.flow in lib.flows], sorted(lib.flows))
        if self.current is None and self.flow_list.count():
            self.flow_list.setCurrentRow(0)

    def refresh_list(self) -> None:
        diags: list[Diagnostic] = []
        lib = self.working_library(diags)
        all_diags = list(validate_library(lib, diags))
        try:
            with PublicationStore.open(self.db) as store:
                live = store.live_all()
        except PublishError as e:
            live = {}
            self._error(str(e))
        self.flow_list.blockSignals(True)
        selected = self.current
        self.flow_list.clear()
        for f in find_flow_files([self.flows_dir]):
            name = display_path(f)
            mine = [d for d in all_diags if d.file == name]
            errors = sum(d.severity == "error" for d in mine)
            warnings = len(mine) - errors
            flow, _ = self._flow_of(f)
            fid = flow.id if flow else f.stem
            pub = live.get(fid)
            disk = _read(f)
            if pub is None:
                pstate = tr("flows.never_published")
            elif pub.content_hash != text_hash(disk):
                pstate = tr("flows.unpublished")
            else:
                pstate = tr("flows.published", label=pub.version_label)
            status = ("\u2716 " + tr("flows.errors", n=errors)) if errors else (
                ("\u26a0 " + tr("flows.warnings", n=warnings)) if warnings else "\u2714 " + tr("flows.ok"))
            dirty = " *" if f in self.buffers else ""
            nflags = sum(x.count for x in flags_for_flow(self.flags, fid).values())
            flag_txt = f"   \u2691 {nflags}" if nflags else ""
            it = QListWidgetItem(f"{f.name}{dirty}\n   {status} \u00b7 {pstate}{flag_txt}")
            it.setData(Qt.ItemDataRole.UserRole, str(f))
            it.setForeground(QColor("#c62828") if errors else QColor("#222222"))
            it.setToolTip("\n".join(str(d) for d in mine[:12]))
            self.flow_list.addItem(it)
            if selected is not None and f.resolve() == selected.resolve():
                self.flow_list.setCurrentItem(it)
        self.flow_list.blockSignals(False)

    def _flow_picked(self, item: QListWidgetItem | None, _prev: Any = None) -> None:
        if item is None:
            return
        self.open_flow(Path(item.data(Qt.ItemDataRole.UserRole)))

    def open_flow(self, path: Path) -> None:
        if self.current is not None:
            self.form.commit_pending()
            self.buffers_sync()
        self.current = Path(path)
        self.coverage = None
        self._loading = True
        text = self.buffers.get(self.current)
        self.editor.setPlainText(text if text is not None else _read(self.current))
        self._loading = False
        self.timer.stop()
        self.revalidate()
        self.refresh_versions()

    # ------------------------------------------------------------------ validation

    def _text_changed(self) -> None:
        if not self._loading:
            self.timer.start()

    def revalidate(self) -> None:
        """Parse the editor text, validate it inside the working library, repaint every view."""
        self.timer.stop()
        if self.current is None:
            return
        self.buffers_sync()
        name = display_path(self.current)
        text = self.editor.toPlainText()
        flow, diags = load_flow_text(text, name)
        if flow is not None:
            lib = self.working_library()
            for fid, f in list(lib.flows.items()):
                if f.pos.file == name:
                    del lib.flows[fid]
            lib.flows[flow.id] = flow
            diags = [d for d in validate_library(lib, list(diags)) if d.file == name]
        self.flow = flow if flow is not None else self.flow
        self.diags = sorted(diags, key=lambda d: d.sort_key)
        self.editor.set_diagnostics(self.diags)
        self.diag_list.clear()
        if not self.diags:
            it = QListWidgetItem("\u2714 " + tr("diag.none"))
            it.setForeground(QColor("#2e7d32"))
            self.diag_list.addItem(it)
        for d in self.diags:
            mark = "\u2716" if d.severity == "error" else "\u26a0"
            it = QListWidgetItem(f"{mark} {d.line}:{d.col}  {d.rule}: {d.message}")
            it.setData(Qt.ItemDataRole.UserRole, (d.line, d.col))
            it.setToolTip(str(d))
            it.setForeground(QColor("#c62828") if d.severity == "error" else QColor("#b26a00"))
            self.diag_list.addItem(it)
        self.repaint_views()
        self._mark_dirty()

    def repaint_views(self, force_form: bool = False) -> None:
        flow = self.flow
        fflags = flags_for_flow(self.flags, flow.id) if flow else {}
        cov = None
        if self.coverage is not None and flow is not None:
            cov = (self.coverage.steps_hit.get(flow.id, set()), self.coverage.transitions_hit.get(flow.id, set()))
        self.graph.show_flow(flow, step_marks(flow, self.diags) if flow else {},
                             {k: v.count for k, v in fflags.items()}, cov, self.form.step_id)
        self.form.show_flow(flow, self.form.step_id, fflags, force=force_form)
        self.translations.show_flow(flow)

    def _mark_dirty(self) -> None:
        item = self.flow_list.currentItem()
        if item is None or self.current is None:
            return
        first, _, rest = item.text().partition("\n")
        base = first.removesuffix(" *")
        errors = sum(d.severity == "error" for d in self.diags)
        warnings = len(self.diags) - errors
        status = ("\u2716 " + tr("flows.errors", n=errors)) if errors else (
            ("\u26a0 " + tr("flows.warnings", n=warnings)) if warnings else "\u2714 " + tr("flows.ok"))
        tail = rest.split(" \u00b7 ", 1)[1] if " \u00b7 " in rest else ""
        item.setText(f"{base}{' *' if self.current in self.buffers else ''}\n   {status} \u00b7 {tail}")
        item.setForeground(QColor("#c62828") if errors else QColor("#222222"))

    def _diag_clicked(self, item: QListWidgetItem) -> None:
        pos = item.data(Qt.ItemDataRole.UserRole)
        if pos:
            self.editor.goto_line(*pos)
            self.editor.setFocus()
            if self.flow is not None:
                sid = step_for_line(self.flow, pos[0])
                if sid:
                    self.form.select(sid)

    # ------------------------------------------------------------------ form edits

    def _apply(self, fn: Any, *args: Any) -> bool:
        try:
            new = fn(self.editor.toPlainText(), *args)
        except editing.EditError as e:
            self._error(f"{display_path(self.current) if self.current else ''}: {e}")
            return False
        self.editor.replace_text(new)
        self.revalidate()
        return True

    def _form_text(self, step_id: str, slot: str, lang: str, value: str) -> None:
        self._apply(editing.set_text, step_id, slot, lang, value)

    def _form_transition(self, step_id: str, index: int, key: str, value: str) -> None:
        self._apply(editing.set_transition, step_id, index, key, value)

    def add_step(self, after: str, new_id: str | None = None) -> None:
        if new_id is None:
            new_id, ok = QInputDialog.getText(self, tr("add.title"), tr("add.prompt", after=after))
            if not ok:
                return
        new_id = (new_id or "").strip()
        if not new_id:
            return
        langs = tuple(self.flow.languages) if self.flow else ("en", "da", "cs")
        if self._apply(editing.add_step, after, new_id, "say", langs):
            self.form.show_flow(self.flow, new_id, force=True)
            self.jump_to_step(new_id)

    def _step_selected(self, step_id: str) -> None:
        if self.flow is not None and self.flow.has_step(step_id):
            self.editor.goto_line(self.flow.step(step_id).pos.line)

    def jump_to_step(self, step_id: str) -> None:
        """From the graph: show the step in the form and the editor."""
        if self.flow is None or not self.flow.has_step(step_id):
            return
        self.tabs.setCurrentIndex(0)
        self.form.select(step_id)
        self.editor.goto_line(self.flow.step(step_id).pos.line)

    # ------------------------------------------------------------------ saving, tests, publishing

    def save(self) -> bool:
        if self.current is None:
            return False
        self.form.commit_pending()
        text = self.editor.toPlainText()
        try:
            self.current.write_text(text, encoding="utf-8", newline="")
        except OSError as e:
            self._error(f"{display_path(self.current)}: cannot save: {e.strerror or e}")
            return False
        self.buffers.pop(self.current, None)
        self.statusBar().showMessage(tr("status.saved", file=self.current.name), 5000)
        self.refresh_list()
        self.refresh_versions()
        return True

    def run_tests(self) -> None:
        from callguide.engine.testing import Coverage, find_test_files, run_test_file

        lib = self.working_library()
        files = find_test_files([self.flows_dir])
        cov = Coverage.for_library(lib)
        results = []
        for f in files:
            results.extend(run_test_file(lib, f, cov))
        self.coverage = cov
        self.tests.show_results(results, cov.rows(), self.flow.id if self.flow else None)
        failed = sum(not r.ok for r in results)
        self.statusBar().showMessage(tr("tests.summary", passed=len(results) - failed, failed=failed), 8000)
        self.repaint_views()

    def publish(self, note: str | None = None) -> bool:
        from callguide.library.publish import publish as do_publish

        if self.current is None:
            return False
        if self.current in self.buffers or self.editor.toPlainText() != _read(self.current):
            if not self.save():
                return False
        if note is None:
            note, ok = QInputDialog.getMultiLineText(self, tr("publish.title"),
                                                     tr("publish.prompt", file=self.current.name))
            if not ok:
                return False
        try:
            res = do_publish(self.current, self.user, note, self.db)
        except PublishError as e:
            self._error(str(e))
            self.versions.state.setText(str(e))
            return False
        p = res.publication
        msg = (tr("publish.done", flow=p.flow_id, label=p.version_label, hash=p.short_hash) if res.created
               else tr("publish.same", flow=p.flow_id, label=p.version_label))
        self.statusBar().showMessage(msg, 8000)
        self.refresh_list()
        self.refresh_versions()
        self.versions.state.setText(msg)
        return True

    def refresh_versions(self) -> None:
        if self.flow is None or self.current is None:
            return
        try:
            with PublicationStore.open(self.db) as store:
                versions = store.versions(self.flow.id)
        except PublishError as e:
            self._error(str(e))
            return
        disk = _read(self.current)
        if not versions:
            state = tr("flows.never_published")
        elif versions[-1].content_hash == text_hash(disk) and self.current not in self.buffers:
            state = tr("ver.state_live", label=versions[-1].version_label)
        else:
            state = tr("ver.state_changed")
        self.versions.show_versions(versions, state)
        if len(versions) >= 2 and state == tr("ver.state_live", label=versions[-1].version_label):
            # nothing waits to be published: show what the live version changed
            self.versions.from_ref.setCurrentIndex(2)
            self.versions.to_ref.setCurrentIndex(1)
            self.show_diff(f"#{versions[-2].seq}", f"#{versions[-1].seq}")
        elif versions:
            self.show_diff("live", "working")

    def show_diff(self, a: str, b: str) -> None:
        from callguide.library.diff import diff_flows, render_diff, resolve_version

        if self.current is None or not a or not b:
            return
        try:
            old, la = resolve_version(str(self.current), a, self.db)
            if b == "working" and self.flow is not None:
                new, lb = self.flow, tr("ver.working")
            else:
                new, lb = resolve_version(str(self.current), b, self.db)
        except PublishError as e:
            self.versions.diff.setPlainText(str(e))
            return
        self.versions.diff.setPlainText(render_diff(diff_flows(old, new), la, lb, new.id))

    def _error(self, message: str) -> None:
        self.statusBar().showMessage(message, 15000)

    def closeEvent(self, event) -> None:  # noqa: N802
        self.practice.stop()
        super().closeEvent(event)


def _read(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
    return text[1:] if text.startswith("\ufeff") else text


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "trainer"
