"""`WorkbenchWindow`: renders a core `Workspace` (callguide.library.workspace) for a trainer.

Left: the flows, each with its validation and publication state. Right, in tabs: the YAML
editor with live diagnostics next to the form view of the selected step, the graph, the
translation table, practice mode, flow tests, versions (submit for review, the reviewer's
view, approve, reject, roll back, diff) and agents' flags (triage).

The window owns no domain state: texts, parses, diagnostics, test runs, publication state and
flags live in the workspace, which emits events the window repaints from (napari style). The
editor's text is handed to the workspace on every change and re-checked after a 300 ms pause.
Form edits go through `callguide.library.editing` (ruamel round-trip) and land in the editor as
one undoable change touching only what changed. Submitting checks every gate on the text in the
editor and saves nothing unless it was accepted; nothing reaches a live call without a
reviewer's approval. Errors are shown as one line, never as tracebacks.
"""

from __future__ import annotations

import datetime as dt
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

from callguide.flow.model import Flow
from callguide.flow.yamlsafe import Diagnostic, display_path
from callguide.identity import IdentityError
from callguide.library import editing
from callguide.library.flags import FlagsError, collect_flags, flags_for_flow
from callguide.library.publish import REVIEW_ROLES, ROLLBACK_ROLES, GateRefused, PublishError, review_view
from callguide.library.workspace import Workspace, WorkspaceError
from callguide.qt.i18n import tr
from callguide.qt.workbench.editor import YamlEditor
from callguide.qt.workbench.form import StepForm
from callguide.qt.workbench.graph_view import FlowGraphView
from callguide.qt.workbench.panels import FlagsPanel, TestsPanel, TranslationTable, VersionsPanel
from callguide.qt.workbench.practice_panel import PracticePanel
from callguide.qt.workbench.status import step_for_line, step_marks

DEBOUNCE_MS = 300
#: diagnostics that usually follow from an unknown step id (a typo): folded under it in the list
CONSEQUENCES = ("unreachable-step",)


class WorkbenchWindow(QMainWindow):
    def __init__(self, flows_dir: str | Path | None = None, db: str | Path | None = None,
                 practice_db: str | Path | None = None, user: str | None = None,
                 workspace: Workspace | None = None):
        super().__init__()
        self.setObjectName("workbench")
        self.ws = workspace or Workspace(flows_dir, db, practice_db, user)
        self._unsubscribe = self.ws.subscribe(self._on_workspace)
        self.setWindowTitle(tr("window.title", folder=str(self.ws.folder)))
        self.current: Path | None = None
        self.flow: Flow | None = None
        self.diags: list[Diagnostic] = []
        self.flags: dict = {}
        self._loading = False
        self._review_hash: str | None = None

        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DEBOUNCE_MS)
        self.timer.timeout.connect(self.revalidate)

        self._actions()

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
        self.diag_list.setWordWrap(True)
        self.diag_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
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
        edit.setSizes([560, 600])
        self.graph = FlowGraphView()
        self.graph.step_clicked.connect(self.jump_to_step)
        self.translations = TranslationTable()
        self.translations.text_edited.connect(self._form_text)
        self.practice = PracticePanel(lambda: self.ws.library(), self.ws.practice_db)
        self.practice.failed.connect(self._error)
        self.tests = TestsPanel()
        self.tests.run_requested.connect(self.run_tests)
        self.versions = VersionsPanel()
        self.versions.publish_requested.connect(self.publish)
        self.versions.diff_requested.connect(self.show_diff)
        self.versions.selected.connect(self.show_review)
        self.versions.approve_requested.connect(self.approve)
        self.versions.reject_requested.connect(self.reject)
        self.versions.rollback_requested.connect(self.rollback)
        self.flag_panel = FlagsPanel()
        self.flag_panel.triage_requested.connect(self.triage_flag)
        self.flag_panel.step_requested.connect(self.open_step)
        self.tabs.addTab(edit, tr("tab.edit"))
        self.tabs.addTab(self.graph, tr("tab.graph"))
        self.tabs.addTab(self.translations, tr("tab.translations"))
        self.tabs.addTab(self.practice, tr("tab.practice"))
        self.tabs.addTab(self.tests, tr("tab.tests"))
        self.tabs.addTab(self.versions, tr("tab.versions"))
        self.tabs.addTab(self.flag_panel, tr("tab.flags"))
        split.addWidget(self.tabs)
        split.setSizes([250, 1150])
        self.setCentralWidget(split)
        self.resize(1400, 860)
        self.who = QLabel()
        self.who.setObjectName("whoAmI")
        self.statusBar().addPermanentWidget(self.who)
        self._show_person()
        self.reload()

    # ------------------------------------------------------------------ the workspace's names

    @property
    def flows_dir(self) -> Path:
        return self.ws.folder

    @property
    def db(self) -> Path:
        return self.ws.db

    @property
    def user(self) -> str:
        return self.ws.person.id

    @property
    def coverage(self) -> Any:
        return self.ws.last_run.coverage if self.ws.last_run is not None else None

    def working_library(self) -> Any:
        return self.ws.library()

    # ------------------------------------------------------------------ menus and keys

    def _actions(self) -> None:
        mb = self.menuBar()
        self.save_action = QAction(tr("action.save"), self)
        self.save_action.setShortcut(QKeySequence.StandardKey.Save)
        self.save_action.triggered.connect(self.save)
        self.reload_action = QAction(tr("action.reload"), self)
        self.reload_action.triggered.connect(self.reload)
        self.undo_action = QAction(tr("action.undo"), self)
        self.undo_action.setShortcuts([QKeySequence("Ctrl+Z")])
        self.undo_action.triggered.connect(self.undo)
        self.redo_action = QAction(tr("action.redo"), self)
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Y"), QKeySequence("Ctrl+Shift+Z")])
        self.redo_action.triggered.connect(self.redo)
        self.tests_action = QAction(tr("action.run_tests"), self)
        self.tests_action.setShortcut(QKeySequence("F9"))
        self.tests_action.triggered.connect(self.run_tests)
        self.publish_action = QAction(tr("action.publish"), self)
        self.publish_action.triggered.connect(lambda: self.publish())
        self.approve_action = QAction(tr("action.approve"), self)
        self.approve_action.triggered.connect(lambda: self._review_action(self.approve))
        self.reject_action = QAction(tr("action.reject"), self)
        self.reject_action.triggered.connect(lambda: self._review_action(self.reject))
        self.rollback_action = QAction(tr("action.rollback"), self)
        self.rollback_action.triggered.connect(lambda: self._review_action(self.rollback))
        menus = {
            tr("menu.file"): (self.save_action, self.reload_action),
            tr("menu.edit"): (self.undo_action, self.redo_action),
            tr("menu.flow"): (self.tests_action,),
            tr("menu.publish"): (self.publish_action, self.approve_action, self.reject_action, self.rollback_action),
        }
        for title, acts in menus.items():
            m = mb.addMenu(title)
            for a in acts:
                m.addAction(a)
        tb = QToolBar(tr("toolbar"))
        tb.setObjectName("toolbar")
        tb.setMovable(False)
        self.addToolBar(tb)
        for a in (self.save_action, self.tests_action, self.publish_action, self.reload_action):
            tb.addAction(a)

    def _show_person(self) -> None:
        try:
            p = self.ws.person
        except IdentityError as e:
            self.who.setText(str(e))
            return
        roles = ", ".join(tr(f"role.{r}") for r in sorted(p.roles))
        ro = "   \u00b7   " + tr("status.read_only") if self.ws.read_only else ""
        self.who.setText(tr("status.who", name=p.display_name, roles=roles) + ro)
        self.save_action.setEnabled(not self.ws.read_only)

    def undo(self) -> None:
        """Undo the last change to the flow text (typing, or a form edit as one step)."""
        self.form.commit_pending()
        self.editor.undo()
        self.revalidate()

    def redo(self) -> None:
        self.editor.redo()
        self.revalidate()

    # ------------------------------------------------------------------ workspace events

    def _on_workspace(self, event: str, payload: dict[str, Any]) -> None:
        if event in ("saved", "publications_changed"):
            self.refresh_list()
            self.refresh_versions()
        elif event == "text_changed":
            self._mark_dirty()
        elif event == "flags_changed":
            self._load_flags()
            self.repaint_views()
            self.refresh_list()
        elif event == "tests_finished":
            run = payload["run"]
            self.tests.show_results(run, self.flow.id if self.flow else None)
            self.statusBar().showMessage(tr("tests.summary", passed=run.passed, failed=len(run.failed)), 8000)
            self.repaint_views()

    # ------------------------------------------------------------------ flows list

    def _load_flags(self) -> None:
        try:
            self.flags = collect_flags(self.ws.db)
            self.flag_panel.show_flags(self.ws.flags())
        except FlagsError as e:
            self.flags = {}
            self._error(str(e))

    def reload(self) -> None:
        try:
            for problem in self.ws.adopt_release():
                self._error(problem)
        except PublishError as e:
            self._error(str(e))
        self._load_flags()
        self.refresh_list()
        cases, problems = self.ws.practice_cases()
        for p in problems:
            self._error(p)
        lib = self.ws.library()
        self.practice.set_cases([c for c in cases if c.flow in lib.flows], sorted(lib.flows))
        if self.current is None and self.flow_list.count():
            self.flow_list.setCurrentRow(0)

    def refresh_list(self) -> None:
        states = self.ws.file_states()
        self.flow_list.blockSignals(True)
        selected = self.current
        self.flow_list.clear()
        for st in states:
            it = QListWidgetItem(self._list_text(st))
            it.setData(Qt.ItemDataRole.UserRole, str(st.path))
            it.setForeground(QColor("#c62828") if st.errors else QColor("#222222"))
            it.setToolTip("\n".join(str(d) for d in self.ws.diagnostics_for(st.path)[:12]))
            self.flow_list.addItem(it)
            if selected is not None and st.path.resolve() == selected.resolve():
                self.flow_list.setCurrentItem(it)
        self.flow_list.blockSignals(False)

    def _list_text(self, st: Any) -> str:
        status = ("\u2716 " + tr("flows.errors", n=st.errors)) if st.errors else (
            ("\u26a0 " + tr("flows.warnings", n=st.warnings)) if st.warnings else "\u2714 " + tr("flows.ok"))
        pstate = {"live": tr("flows.published", label=st.label), "practice": tr("flows.practice", label=st.label),
                  "changed": tr("flows.unpublished"), "never": tr("flows.never_published"),
                  "submitted": tr("flows.submitted")}[st.publication]
        pending = "   \u23f3 " + tr("flows.pending", labels=", ".join(st.pending)) if st.pending else ""
        nflags = sum(x.count for x in flags_for_flow(self.flags, st.flow_id).values())
        flag_txt = f"   \u2691 {nflags}" if nflags else ""
        return f"{st.path.name}{' *' if st.dirty else ''}\n   {status} \u00b7 {pstate}{flag_txt}{pending}"

    def _flow_picked(self, item: QListWidgetItem | None, _prev: Any = None) -> None:
        if item is None:
            return
        self.open_flow(Path(item.data(Qt.ItemDataRole.UserRole)))

    def open_flow(self, path: Path) -> None:
        if self.current is not None:
            self.form.commit_pending()
            self.ws.set_text(self.current, self.editor.toPlainText())
        self.current = Path(path)
        self.flow = None
        self._loading = True
        self.editor.setPlainText(self.ws.text(self.current))
        self._loading = False
        self.timer.stop()
        self.revalidate()
        self.refresh_versions()

    def open_step(self, flow_id: str, step_id: str) -> None:
        for st in self.ws.file_states():
            if st.flow_id == flow_id:
                for i in range(self.flow_list.count()):
                    if Path(self.flow_list.item(i).data(Qt.ItemDataRole.UserRole)).resolve() == st.path.resolve():
                        self.flow_list.setCurrentRow(i)
                self.jump_to_step(step_id)
                return

    # ------------------------------------------------------------------ validation

    def _text_changed(self) -> None:
        if self._loading or self.current is None:
            return
        self.ws.set_text(self.current, self.editor.toPlainText())
        self.timer.start()

    def revalidate(self) -> None:
        """Hand the editor's text to the workspace, take its diagnostics, repaint every view."""
        self.timer.stop()
        if self.current is None:
            return
        self.ws.set_text(self.current, self.editor.toPlainText())
        flow, load_diags = self.ws.flow(self.current)
        self.diags = list(self.ws.diagnostics_for(self.current))
        broken = None
        if flow is None:
            broken = next((d for d in load_diags if d.severity == "error"), load_diags[0] if load_diags else None)
        else:
            self.flow = flow
        self.editor.set_diagnostics(self.diags)
        self._paint_diagnostics()
        self.repaint_views(broken=broken, parsed=flow is not None)
        self.refresh_list()

    def _paint_diagnostics(self) -> None:
        self.diag_list.clear()
        if not self.diags:
            it = QListWidgetItem("\u2714 " + tr("diag.none"))
            it.setForeground(QColor("#2e7d32"))
            self.diag_list.addItem(it)
            return
        root = any(d.rule == "unknown-target" for d in self.diags)
        folded = [d for d in self.diags if root and d.rule in CONSEQUENCES]
        shown = [d for d in self.diags if d not in folded]
        shown.sort(key=lambda d: (d.severity != "error", d.rule != "unknown-target", d.sort_key))
        for d in shown:
            mark = {"error": "\u2716", "note": "\u2139"}.get(d.severity, "\u26a0")
            it = QListWidgetItem(f"{mark} {d.line}:{d.col}  {d.rule}: {d.message}")
            it.setData(Qt.ItemDataRole.UserRole, (d.line, d.col))
            it.setToolTip(str(d))
            it.setForeground(QColor({"error": "#c62828", "note": "#37474f"}.get(d.severity, "#b26a00")))
            self.diag_list.addItem(it)
            if d.rule == "unknown-target" and folded and d is next(x for x in shown if x.rule == "unknown-target"):
                sub = QListWidgetItem("      \u21b3 " + tr("diag.folded", n=len(folded)))
                sub.setData(Qt.ItemDataRole.UserRole, (folded[0].line, folded[0].col))
                sub.setToolTip("\n".join(f"{x.line}:{x.col} {x.rule}: {x.message}" for x in folded))
                sub.setForeground(QColor("#8a6d3b"))
                self.diag_list.addItem(sub)

    def repaint_views(self, force_form: bool = False, broken: Diagnostic | None = None, parsed: bool = True) -> None:
        flow = self.flow
        fflags = flags_for_flow(self.flags, flow.id) if flow else {}
        cov = None
        if self.coverage is not None and flow is not None:
            cov = (self.coverage.steps_hit.get(flow.id, set()), self.coverage.transitions_hit.get(flow.id, set()))
        self.graph.show_flow(flow, step_marks(flow, self.diags) if flow else {},
                             {k: v.count for k, v in fflags.items()}, cov, self.form.step_id)
        self.form.show_flow(flow if parsed else None, self.form.step_id, fflags, force=force_form, broken=broken)
        self.translations.show_flow(flow)

    def _mark_dirty(self) -> None:
        item = self.flow_list.currentItem()
        if item is None or self.current is None:
            return
        first, _, rest = item.text().partition("\n")
        base = first.removesuffix(" *")
        errors = sum(d.severity == "error" for d in self.diags)
        warnings = sum(d.severity == "warning" for d in self.diags)  # a note (a waiver) is no warning
        status = ("\u2716 " + tr("flows.errors", n=errors)) if errors else (
            ("\u26a0 " + tr("flows.warnings", n=warnings)) if warnings else "\u2714 " + tr("flows.ok"))
        tail = rest.split(" \u00b7 ", 1)[1] if " \u00b7 " in rest else ""
        item.setText(f"{base}{' *' if self.ws.dirty(self.current) else ''}\n   {status} \u00b7 {tail}")
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

    # ------------------------------------------------------------------ saving and tests

    def save(self) -> bool:
        if self.current is None:
            return False
        self.form.commit_pending()
        self.ws.set_text(self.current, self.editor.toPlainText())
        try:
            self.ws.save(self.current)
        except WorkspaceError as e:
            self._error(str(e))
            return False
        self.statusBar().showMessage(tr("status.saved", file=self.current.name), 5000)
        return True

    def run_tests(self) -> None:
        self.form.commit_pending()
        if self.current is not None:
            self.ws.set_text(self.current, self.editor.toPlainText())
        self.ws.run_tests()

    # ------------------------------------------------------------------ submitting and reviewing

    def publish(self, note: str | None = None) -> bool:
        """Submit the text in the editor for review. Every gate runs on that text first; nothing is
        saved, stored or made live when a gate refuses."""
        if self.current is None:
            return False
        self.form.commit_pending()
        self.ws.set_text(self.current, self.editor.toPlainText())
        if note is None:
            note, ok = QInputDialog.getMultiLineText(self, tr("publish.title"),
                                                     tr("publish.prompt", file=self.current.name))
            if not ok:
                return False
        try:
            vs = self.ws.submit(self.current, note)
        except (PublishError, IdentityError) as e:
            self._refused(e)
            return False
        v = vs.version
        msg = tr("publish.submitted", flow=v.flow_id, label=v.version_label)
        if v.review_needed:
            msg += " " + tr("publish.practice_only")
        self.statusBar().showMessage(msg, 10000)
        self.versions.state.setText(msg)
        self.versions.select_label(v.version_label)
        return True

    def _refused(self, e: Exception) -> None:
        """Every refusal, with the file names relative to the workspace."""
        here = str(self.ws.folder) + "/"
        lines = [p.replace(here, "") for p in (getattr(e, "problems", None) or [str(e)])]
        gates = sorted({r.gate for r in e.refusals}) if isinstance(e, GateRefused) else []
        short = tr("publish.refused_short", n=len(lines), gates=", ".join(gates)) if gates else str(e).replace(here, "")
        self._error(short)
        self.versions.state.setText("\u2716 " + short)
        self.versions.diff.setPlainText(tr("publish.refused") + "\n\n" + "\n".join(f"\u2716 {p}" for p in lines))

    def _review_action(self, fn: Any) -> None:
        label = self.versions.current_label()
        if label:
            fn(label)
        else:
            self.tabs.setCurrentWidget(self.versions)
            self._error(tr("review.pick"))

    def show_review(self, label: str) -> None:
        """The reviewer's view of a version: the semantic diff against live, test results, coverage."""
        if self.flow is None:
            return
        st = self.ws.status(self.flow.id)
        vs = st.by_label(label)
        if vs is None:
            return
        try:
            view = review_view(self.flow.id, label, self.ws.db)
        except PublishError as e:
            self._error(str(e))
            return
        self._review_hash = view.diff_hash
        self.versions.diff.setPlainText(view.diff_text)
        try:
            me = self.ws.person
        except IdentityError as e:
            self._error(str(e))
            return
        title = tr("review.title", flow=self.flow.id, label=label, state=tr(f"state.{vs.state}"),
                   who=vs.submitted_by, note=vs.version.note)
        reviewer = any(me.has(r) for r in REVIEW_ROLES)
        can_approve = vs.approvable and reviewer and vs.submitted_by != me.id
        can_reject = vs.approvable and (reviewer or vs.submitted_by == me.id)
        can_rollback = (vs.was_approved and vs.state not in ("live", "rejected") and not vs.version.review_needed
                        and any(me.has(r) for r in ROLLBACK_ROLES))
        lines = view.evidence_lines() if vs.first("submitted") else []
        if vs.approvable and not can_approve:
            lines.append(tr("review.not_you") if vs.submitted_by == me.id else tr("review.need_role"))
        self.versions.show_review(title, lines, can_approve, can_reject, can_rollback)

    def approve(self, label: str, at: dt.datetime | None = None) -> bool:
        if self.flow is None:
            return False
        at = at if at is not None else self.versions.go_live_at()
        try:
            vs = self.ws.approve(self.flow.id, label, at=at, seen_diff_hash=self._review_hash)
        except (PublishError, IdentityError) as e:
            self._refused(e)
            return False
        msg = {"live": tr("review.approved_live", flow=self.flow.id, label=label),
               "scheduled": tr("review.approved_at", flow=self.flow.id, label=label, at=vs.go_live or ""),
               "practice": tr("review.approved_practice", flow=self.flow.id, label=label)}.get(vs.state, vs.state)
        self.statusBar().showMessage(msg, 10000)
        self.versions.state.setText(msg)
        return True

    def reject(self, label: str, why: str | None = None) -> bool:
        if self.flow is None:
            return False
        if why is None:
            why, ok = QInputDialog.getMultiLineText(self, tr("review.reject"), tr("review.reject_prompt", label=label))
            if not ok:
                return False
        try:
            self.ws.reject(self.flow.id, label, why)
        except (PublishError, IdentityError) as e:
            self._refused(e)
            return False
        self.statusBar().showMessage(tr("review.rejected", flow=self.flow.id, label=label), 10000)
        return True

    def rollback(self, label: str, note: str | None = None) -> bool:
        if self.flow is None:
            return False
        if note is None:
            note, ok = QInputDialog.getText(self, tr("review.rollback"), tr("review.rollback_prompt", label=label))
            if not ok:
                return False
        try:
            self.ws.rollback(self.flow.id, label, note)
        except (PublishError, IdentityError) as e:
            self._refused(e)
            return False
        self.statusBar().showMessage(tr("review.rolled_back", flow=self.flow.id, label=label), 10000)
        return True

    def refresh_versions(self) -> None:
        if self.flow is None or self.current is None:
            return
        try:
            st = self.ws.status(self.flow.id)
        except PublishError as e:
            self._error(str(e))
            return
        state = next((s for s in self.ws.file_states() if s.path.resolve() == self.current.resolve()), None)
        if state is None or state.publication == "never":
            text = tr("flows.never_published")
        elif state.publication == "live" and not state.dirty:
            text = tr("ver.state_live", label=state.label)
        elif state.publication == "practice" and not state.dirty:
            text = tr("ver.state_practice", label=state.label)
        elif state.publication == "submitted":
            text = tr("ver.state_submitted")
        else:
            text = tr("ver.state_changed")
        self.versions.show_versions(st.versions, text)
        pending = next((vs for vs in reversed(st.versions) if vs.state == "submitted"), None)
        if pending is not None:
            self.versions.select_label(pending.version.version_label)
        elif st.versions and state is not None and state.publication in ("changed", "never"):
            self.show_diff("live", "working")
        elif len(st.versions) >= 2 and st.live is not None:
            before = [vs for vs in st.versions if vs.version.id != st.live.id and vs.state == "superseded"]
            if before:
                self.show_diff(f"#{before[-1].version.id}", f"#{st.live.id}")

    def show_diff(self, a: str, b: str) -> None:
        from callguide.library.diff import diff_flows, render_diff, resolve_version

        if self.current is None or not a or not b:
            return
        try:
            old, la = resolve_version(str(self.current), a, self.ws.db)
            if b == "working" and self.flow is not None:
                new, lb = self.flow, tr("ver.working")
            else:
                new, lb = resolve_version(str(self.current), b, self.ws.db)
        except PublishError as e:
            self.versions.diff.setPlainText(str(e))
            return
        self.versions.diff.setPlainText(render_diff(diff_flows(old, new), la, lb, new.id))

    # ------------------------------------------------------------------ flags

    def triage_flag(self, ref: str, state: str, reason: str | None = None, version: str | None = None) -> bool:
        if state == "rejected" and reason is None:
            reason, ok = QInputDialog.getText(self, tr("flags.do.rejected"), tr("flags.reject_prompt"))
            if not ok:
                return False
        if state == "fixed" and version is None:
            version, ok = QInputDialog.getText(self, tr("flags.do.fixed"), tr("flags.fixed_prompt"))
            if not ok:
                return False
        try:
            f = self.ws.triage(ref, state, reason or "", version)
        except FlagsError as e:
            self._error(str(e))
            return False
        self.statusBar().showMessage(tr("flags.done", ref=f.ref, state=f.describe_state()), 8000)
        return True

    # ------------------------------------------------------------------

    def _error(self, message: str) -> None:
        self.statusBar().showMessage(message, 15000)

    def closeEvent(self, event) -> None:  # noqa: N802
        self.practice.stop()
        self._unsubscribe()
        super().closeEvent(event)
