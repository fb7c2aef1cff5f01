"""The trainer's workbench, driven with pytest-qt on real copies of flows/ (a workspace, and a
separate copy as the app's shipped folder), real SQLite files and a real people file."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytestmark = pytest.mark.qt

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("CALLGUIDE_SHOTS") or ROOT / "tests" / "qt" / "screenshots")

FLOW_TEST = """\
flow: texas
account: {id: T1, country: DK, lang: da, balance: "1200.00"}
cases:
  - name: consent given, no adjustments, no signposting
    events:
      - {next: null}
      - {next: null}
      - {consent: given}
      - {answer: {category: health, impact: "tired"}}
      - {next: null}
      - {answer: {adjustments_wanted: false}}
      - {next: null}
      - {next: null}
      - {next: signpost}
      - {next: none}
      - {next: null}
    expect:
      outcome: disclosure_handled
      records: [{type: consent, decision: given}, {type: vulnerability}]
"""

PEOPLE = """\
people:
  trainer-anna: {name: Anna Jensen, roles: [trainer]}
  rita: {name: Rita Novak, roles: [reviewer]}
"""


@pytest.fixture(autouse=True)
def people(tmp_path, monkeypatch):
    p = tmp_path / "people.yaml"
    p.write_text(PEOPLE, encoding="utf-8")
    monkeypatch.setenv("CALLGUIDE_PEOPLE", str(p))
    monkeypatch.setenv("CALLGUIDE_CACHE_DIR", str(tmp_path / "cache"))
    return p


@pytest.fixture
def app_flows(tmp_path, monkeypatch):
    """The app's shipped flows folder (a copy, with its release manifest)."""
    dst = tmp_path / "app" / "flows"
    shutil.copytree(ROOT / "flows", dst)
    monkeypatch.setenv("CALLGUIDE_FLOWS", str(dst))
    return dst


@pytest.fixture
def flows(tmp_path, app_flows):
    """The trainer's workspace: the shipped flows and practice cases; the colleagues' flow tests are
    replaced by one known test."""
    from callguide.library.workspace import create_workspace

    dst = create_workspace(tmp_path / "flows", app_flows, git=False)
    shutil.rmtree(dst / "tests")
    (dst / "tests").mkdir()
    (dst / "tests" / "workbench-texas.test.yaml").write_text(FLOW_TEST, encoding="utf-8")
    return dst


@pytest.fixture
def wb_db(tmp_path, app_flows):
    from callguide.library.live import load_for_calls

    db = tmp_path / "journal.db"
    load_for_calls(app_flows, db)  # the release adopted, as on the first live call
    return db


@pytest.fixture
def wb(qtbot, flows, wb_db, tmp_path):
    from callguide.qt.workbench.window import WorkbenchWindow

    def _open(flow="texas.yaml", user="trainer-anna"):
        w = WorkbenchWindow(flows, wb_db, tmp_path / "practice.db", user=user)
        qtbot.addWidget(w)
        w.resize(1400, 860)
        w.show()
        qtbot.waitExposed(w)
        activate(qtbot, w)  # focus (and so committing a cell) needs an active window
        for i in range(w.flow_list.count()):
            if w.flow_list.item(i).text().startswith(flow):
                w.flow_list.setCurrentRow(i)
        assert w.current is not None and w.current.name == flow
        return w

    return _open


def activate(qtbot, w) -> None:
    def active() -> bool:
        if not w.isActiveWindow():
            w.raise_()
            w.activateWindow()
            w.windowHandle().requestActivate()
        return w.isActiveWindow()

    qtbot.waitUntil(active, timeout=3000)


def comment_lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip().startswith("#")]


def shot(widget, name: str) -> Path:
    from PySide6.QtWidgets import QApplication

    SHOTS.mkdir(parents=True, exist_ok=True)
    for _ in range(3):
        QApplication.processEvents()
    p = SHOTS / name
    assert widget.grab().save(str(p))
    return p


def type_into(qtbot, cell, text):
    cell.setFocus()
    cell.selectAll()
    qtbot.keyClicks(cell, text)


# ---------------------------------------------------------------------- editing


def test_form_edit_then_save_keeps_comments(wb, flows):
    original = (flows / "texas.yaml").read_text(encoding="utf-8")
    w = wb()
    w.form.select("thank")
    cell = w.form.cells[("say", "da")]
    cell.setPlainText("Tak, fordi du fortæller mig det. Det hjælper os med at hjælpe dig.")
    cell.commit()
    assert "Det hjælper os med at hjælpe dig." in w.editor.toPlainText()
    assert w.ws.dirty(w.current)  # unsaved
    assert w.save()
    saved = (flows / "texas.yaml").read_text(encoding="utf-8")
    assert comment_lines(saved) == comment_lines(original)
    assert len(saved.splitlines()) == len(original.splitlines())
    changed = [(a, b) for a, b in zip(original.splitlines(), saved.splitlines(), strict=True) if a != b]
    assert len(changed) == 1 and "Det hjælper os med at hjælpe dig." in changed[0][1]
    w.editor.replace_text(saved.replace("Det hjælper os med at hjælpe dig.", "Tusind tak."))
    w.revalidate()
    assert "Tusind tak." in w.form.cells[("say", "da")].toPlainText()


def test_form_cells_are_wide_without_scrollbars_and_pink_only_while_missing(wb, qtbot):
    """Regression: cells ~110 px wide with scrollbars; the pink "missing" colour stayed after filling."""
    w = wb()
    w.add_step("thank", "pause")
    cells = [w.form.cells[("say", lang)] for lang in ("en", "da", "cs")]
    for c in cells:
        assert c.width() >= 400, c.width()
        assert not c.horizontalScrollBar().isVisible() and not c.verticalScrollBar().isVisible()
        assert c.missing and "fdecea" in c.styleSheet()
    type_into(qtbot, cells[1], "Tag dig god tid.")
    assert not cells[1].missing and cells[1].styleSheet() == ""  # white again while typing
    long = " ".join(["It is fine to take a pause, and we can talk again when you are ready."] * 3)
    type_into(qtbot, cells[0], long)  # the Danish cell is left, so its text is committed
    qtbot.waitUntil(lambda: cells[0].height() > cells[2].height(), timeout=2000)
    assert not cells[0].verticalScrollBar().isVisible()  # it grew to fit instead
    cells[2].setFocus()
    w.revalidate()
    assert "Tag dig god tid." in w.editor.toPlainText() and "It is fine to take a pause" in w.editor.toPlainText()
    cells = [w.form.cells[("say", lang)] for lang in ("en", "da", "cs")]
    assert not cells[0].missing and not cells[1].missing and cells[2].missing
    shot(w, "workbench-form.png")


def test_form_follows_the_yaml_after_a_typo_and_an_undo(wb, qtbot):
    """Regression: the form went out of sync with the YAML after a typo or an undo."""
    w = wb()
    w.form.select("thank")
    cell = w.form.cells[("say", "da")]
    before = cell.toPlainText()
    cell.setFocus()
    cell.setPlainText("Tak for det.")
    cell.commit()
    assert "Tak for det." in w.editor.toPlainText()
    w.undo_action.trigger()  # Ctrl+Z while the form has focus: the YAML goes back, and the form with it
    assert "Tak for det." not in w.editor.toPlainText()
    assert w.form.cells[("say", "da")].toPlainText() == before
    w.redo_action.trigger()
    assert w.form.cells[("say", "da")].toPlainText() == "Tak for det."
    # a typo that breaks the YAML: the form says so and cannot edit a stale copy
    text = w.editor.toPlainText()
    w.editor.replace_text(text.replace("  - id: explain\n", "  - id: explain\n   kind: say\n", 1))
    w.revalidate()
    assert w.form.broken.isVisible() and not w.form.body.isEnabled()
    assert "does not load" in w.form.broken.text()
    shot(w, "workbench-form-broken.png")
    w.editor.undo()
    w.revalidate()
    assert not w.form.broken.isVisible() and w.form.body.isEnabled()
    assert w.form.cells[("say", "da")].toPlainText() == "Tak for det."


def test_undo_returns_to_the_edited_line_and_ctrl_y_redoes(wb, qtbot):
    """Regression: undo jumped to the end of the file and Ctrl+Y did not redo."""
    w = wb()
    w.form.select("explain")
    cell = w.form.cells[("say", "en")]
    cell.setPlainText("Could you tell me a little more?")
    cell.commit()
    line = w.flow.step("explain").pos.line
    w.editor.setFocus()
    qtbot.keyClick(w.editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert "Could you tell me a little more?" not in w.editor.toPlainText()
    at = w.editor.textCursor().blockNumber() + 1
    assert line <= at <= line + 6, (line, at, w.editor.blockCount())
    qtbot.keyClick(w.editor, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert "Could you tell me a little more?" in w.editor.toPlainText()
    w.revalidate()
    assert w.form.cells[("say", "en")].toPlainText() == "Could you tell me a little more?"
    # Ctrl+Y also redoes inside a form cell
    cell = w.form.cells[("say", "cs")]
    cell.setFocus()
    cell.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClicks(cell, "!")
    qtbot.keyClick(cell, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not cell.toPlainText().endswith("!")
    qtbot.keyClick(cell, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert cell.toPlainText().endswith("!")


def test_a_typo_offers_the_nearest_step_and_folds_what_follows(wb, qtbot):
    """Regression: one typo gave 2 errors and 12 warnings and no "did you mean"."""
    w = wb()
    text = w.editor.toPlainText()
    assert "    next: consent-check\n" in text
    w.editor.setPlainText(text.replace("    next: consent-check\n", "    next: consent-chek\n", 1))
    qtbot.waitUntil(lambda: any(d.rule == "unknown-target" for d in w.diags), timeout=3000)
    first = w.diag_list.item(0).text()
    assert "unknown-target" in first and "did you mean 'consent-check'?" in first
    items = [w.diag_list.item(i).text() for i in range(w.diag_list.count())]
    assert not any("unreachable-step" in t for t in items)
    assert any("cannot be reached, most likely because of this" in t for t in items)
    assert len(items) <= 4, items
    d = next(d for d in w.diags if d.rule == "unknown-target")
    assert any("unknown-target" in m for m in w.editor.messages_at_line(d.line))
    assert "\u2716" in w.flow_list.currentItem().text()
    w.editor.goto_line(d.line)
    shot(w, "workbench-editor.png")


# ---------------------------------------------------------------------- graph, tests, practice


def test_graph_labels_do_not_overlap_and_node_labels_are_whole(wb):
    """Regression: "yes"/"unsure" printed as "yasure"; node labels were cut."""
    w = wb("bruce.yaml")
    w.tabs.setCurrentWidget(w.graph)
    g = w.graph
    assert g.edge_labels
    rects = g.label_rects()
    for i, a in enumerate(rects):
        assert not any(a.intersects(b) for b in rects[i + 1:]), "edge labels overlap"
        assert not any(a.intersects(n.rect()) for n in g.nodes.values()), "an edge label covers a step"
    for sid, title in g.titles.items():
        assert title.text() == sid
        node = g.nodes[sid].rect()
        assert title.mapRectToScene(title.boundingRect()).width() <= node.width()
    shot(w, "workbench-graph-bruce.png")


def test_graph_click_jumps_and_coverage_is_painted(wb, qtbot, wb_db, app_flows):
    from callguide.engine.clock import FixedClock
    from callguide.engine.session import Account, CallSession
    from callguide.library.live import load_for_calls
    from callguide.store.sqlite import SQLiteJournal

    lib = load_for_calls(app_flows, wb_db)
    store = SQLiteJournal.open(wb_db)
    for comment in ("customers find this too long", "sounds scripted"):
        s = CallSession.start(lib, store, Account("A1", "Jo", "UK"), "agent-7", start_flow="texas",
                              clock=FixedClock("2026-11-22T10:00:00+00:00", step_seconds=1), auto_wrap_up=False)
        s.next()
        s.flag_step(comment)
    store.close()
    w = wb()
    w.reload()
    assert w.flags[("texas", "explain")].count == 2
    w.tabs.setCurrentWidget(w.graph)
    assert set(w.graph.nodes) == {s.id for s in w.flow.steps}
    w.run_tests()
    assert "1 passed, 0 failed" in w.tests.summary.text()
    assert "thank" in w.coverage.steps_hit["texas"]
    shot(w, "workbench-graph.png")
    w.graph.step_clicked.emit("consent")
    assert w.tabs.currentIndex() == 0
    assert w.form.step_id == "consent"
    assert w.editor.textCursor().blockNumber() + 1 == w.flow.step("consent").pos.line
    w.form.select("explain")
    box = w.form.findChild(type(w.form.kind), "flagsBox")
    assert box is not None and "agent-7, 2026-11-22" in box.text() and "“sounds scripted” [open]" in box.text()


def test_flow_test_failures_read_as_expected_vs_actual(wb, flows):
    """Regression: failures were shown as raw Python dicts."""
    (flows / "tests" / "workbench-texas.test.yaml").write_text(
        FLOW_TEST.replace("{type: vulnerability}", "{type: vulnerability, category: finance}"), encoding="utf-8")
    w = wb()
    w.run_tests()
    assert "0 passed, 1 failed" in w.tests.summary.text()
    items = [w.tests.results.item(i).text() for i in range(w.tests.results.count())]
    detail = "\n".join(items[1:])
    assert "a record" in detail and "expected: vulnerability (category finance)" in detail
    assert "actual:" in detail and "category health" in detail
    assert "{" not in detail and "'type'" not in detail
    w.tabs.setCurrentWidget(w.tests)
    shot(w, "workbench-tests.png")


def test_practice_case_runs_to_its_score(wb, qtbot, tmp_path, wb_db):
    w = wb()
    w.tabs.setCurrentWidget(w.practice)
    p = w.practice
    assert p.select_case("texas.practice.yaml")
    p.start()
    assert p.step_panel is not None, w.statusBar().currentMessage()
    assert p.session.practice
    assert "Min mand døde" in p.customer.text()
    p.play_interval = 0
    p.show_me()
    qtbot.waitUntil(lambda: not p.playing, timeout=10000)
    assert p.last_score is not None and p.last_score.score == 100, p.last_score.differences
    assert "100/100" in p.score_label.text()
    p.start()
    p.step_panel._on_next()
    p.step_panel._on_next()
    assert "Hvem kan se det?" in p.customer.text() or p.session.top.step_id == "consent"
    from callguide.engine.commands import Consent

    p.bridge.apply(Consent("declined"))
    score = p.finish()
    assert score.score < 50
    assert any("Missing: a consent decision" in d for d in score.differences)
    shot(w, "workbench-practice.png")
    from callguide.store.sqlite import SQLiteJournal

    live = SQLiteJournal.open(wb_db)
    assert all(e.type != "call_started" for e in live.iter_entries())  # practice never touches the live journal
    live.close()
    p.stop()


def test_practice_has_the_agents_f_key_bar(wb, qtbot):
    """Regression: practice had no F2–F8 bar although the guidance says "use F3"."""
    w = wb("affordability.yaml")
    w.tabs.setCurrentWidget(w.practice)
    p = w.practice
    p.picker.setCurrentIndex(p.picker.findData("flow:affordability"))
    p.start()
    assert p.call_bar is not None
    qtbot.waitUntil(p.call_bar.isVisible, timeout=2000)
    keys = [c.button.text() for c in p.call_bar.interrupt_cells.values()]
    assert any(k.startswith("F3") and "BRUCE" in k for k in keys), keys
    qtbot.keyClick(p.step_panel, Qt.Key.Key_F3)
    qtbot.waitUntil(lambda: p.session.top.flow.id == "bruce", timeout=2000)
    shot(w, "workbench-practice-bar.png")
    p.stop()


def test_show_me_on_an_edited_flow_says_where_the_model_answer_stops_fitting(wb, qtbot):
    """Regression: "Show me" stalled on an edited flow and scored its own model answer 20/100."""
    w = wb()
    w.add_step("thank", "pause")
    for lang, text in (("en", "Take your time."), ("da", "Tag dig god tid."), ("cs", "Nespěchejte.")):
        cell = w.form.cells[("say", lang)]
        cell.setPlainText(text)
        cell.commit()
    w.tabs.setCurrentWidget(w.practice)
    p = w.practice
    assert p.select_case("texas.practice.yaml")
    p.play_interval = 0
    p.show_me()
    assert p.session is not None, w.statusBar().currentMessage()
    qtbot.waitUntil(lambda: not p.playing, timeout=10000)
    assert p.show_me_problem is not None
    assert "The model answer no longer fits this flow" in p.show_me_problem and "texas/" in p.show_me_problem
    assert "/100" not in p.score_label.text()
    shot(w, "workbench-show-me-stopped.png")
    p.stop()


# ---------------------------------------------------------------------- publishing


def test_a_refused_submit_saves_nothing_and_nothing_goes_live_unreviewed(wb, flows, wb_db, qtbot, app_flows):
    """Regression: the Publish menu saved the file, then refused for lack of a note; the saved edit then
    went live. Now the gates run on the editor's text first; nothing is saved or published when refused,
    and only a reviewer's approval makes a version live."""
    from callguide.library.live import load_for_calls
    from callguide.library.publish import open_store

    on_disk = (flows / "texas.yaml").read_text(encoding="utf-8")
    w = wb()
    w.form.select("thank")
    cell = w.form.cells[("say", "da")]
    cell.setPlainText("Tak fordi du siger det.")
    cell.commit()
    assert not w.publish("")  # no note
    assert (flows / "texas.yaml").read_text(encoding="utf-8") == on_disk
    assert "[note]" in w.versions.diff.toPlainText() and "[version]" in w.versions.diff.toPlainText()
    assert "Not submitted (nothing was saved or published)" in w.versions.diff.toPlainText()
    assert w.ws.dirty(w.current)
    w.tabs.setCurrentWidget(w.versions)
    shot(w, "workbench-refused.png")
    # a saved but unsubmitted edit changes nothing for live calls either
    assert w.save()
    lib = load_for_calls(app_flows, wb_db)
    assert lib.flows["texas"].step("thank").say.get("da") != "Tak fordi du siger det."
    text = w.editor.toPlainText().replace('version: "1.0.0"', 'version: "1.1.0"', 1)
    w.editor.setPlainText(text)
    w.revalidate()
    assert w.publish("Shorter Danish thanks after agents' feedback")
    assert "awaiting review" in w.flow_list.currentItem().text()
    assert load_for_calls(app_flows, wb_db).flows["texas"].version == "1.0.0"
    w.refresh_versions()
    assert not w.versions.approve_btn.isEnabled()  # the trainer cannot approve (own version, no role)
    shot(w, "workbench-submitted.png")
    # the reviewer sees the diff, the tests and the coverage, and approves (on their own desktop)
    w.close()
    r = wb(user="rita")
    r.tabs.setCurrentWidget(r.versions)
    r.refresh_versions()
    assert r.versions.current_label() == "1.1.0"
    assert "step 'thank': what the agent says changed in Danish" in r.versions.diff.toPlainText()
    assert "Flow tests: 1 passed, 0 failed" in r.versions.evidence.text()
    assert "Coverage of texas: steps 11/21" in r.versions.evidence.text()
    assert r.versions.approve_btn.isEnabled()
    shot(r, "workbench-review.png")
    r.versions.approve_btn.click()
    assert "live from the next call" in r.versions.state.text()
    lib = load_for_calls(app_flows, wb_db)
    assert lib.flows["texas"].step("thank").say.get("da") == "Tak fordi du siger det."
    with open_store(wb_db) as store:
        log = store.log("texas")
    assert [(e.event, e.by_person) for e in log[-3:]] == [("submitted", "trainer-anna"), ("approved", "rita"),
                                                         ("live", "rita")]
    assert log[-2].diff_hash


def test_the_reviewer_can_set_a_go_live_time(wb, wb_db, app_flows, qtbot):
    import datetime as dt

    from callguide.library.live import load_for_calls

    w = wb()
    w.editor.setPlainText(w.editor.toPlainText().replace('version: "1.0.0"', 'version: "1.0.1"', 1)
                          .replace("Tak, fordi du fortæller mig det", "Tak fordi du fortæller det", 1))
    w.revalidate()
    assert w.publish("Danish thanks, shorter")
    w.close()
    r = wb(user="rita")
    r.tabs.setCurrentWidget(r.versions)
    r.refresh_versions()
    assert r.versions.at_check.isEnabled()
    r.versions.at_check.setChecked(True)
    when = dt.datetime.now().replace(second=0, microsecond=0) + dt.timedelta(days=2)
    from PySide6.QtCore import QDateTime

    r.versions.at_edit.setDateTime(QDateTime(when))
    r.versions.approve_btn.click()
    assert "goes live at" in r.versions.state.text()
    assert load_for_calls(app_flows, wb_db).flows["texas"].version == "1.0.0"
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2, hours=1)
    assert load_for_calls(app_flows, wb_db, now=later).flows["texas"].version == "1.0.1"
    r.refresh_versions()
    assert r.versions.table.item(0, 1).text() == "scheduled"


def test_trainer_adds_a_danish_step_and_the_next_call_uses_it(wb, flows, wb_db, tmp_path, qtbot, app_flows):
    from callguide.engine.clock import FixedClock
    from callguide.engine.session import Account, CallSession
    from callguide.library.live import load_for_calls
    from callguide.store.sqlite import SQLiteJournal

    w = wb()
    w.add_step("thank", "pause")
    assert w.form.step_id == "pause"
    for lang, text in (("en", "Take your time."), ("da", "Tag dig god tid."), ("cs", "Nespěchejte.")):
        cell = w.form.cells[("say", lang)]
        cell.setPlainText(text)
        cell.commit()
    assert not [d for d in w.diags if d.severity == "error"], w.diags
    assert "pause" in w.graph.nodes
    w.run_tests()
    assert "0 passed, 1 failed" in w.tests.summary.text()
    assert "pause" in w.coverage.steps_hit["texas"]
    test_file = flows / "tests" / "workbench-texas.test.yaml"
    test_file.write_text(FLOW_TEST.replace("      - {next: null}\n", "      - {next: null}\n      - {next: null}\n", 1),
                         encoding="utf-8")
    w.run_tests()
    assert "1 passed, 0 failed" in w.tests.summary.text()
    w.editor.setPlainText(w.editor.toPlainText().replace('version: "1.0.0"', 'version: "1.1.0"', 1))
    w.revalidate()
    assert not w.publish("New pause step in TEXAS")  # the practice case's model answer no longer fits
    assert "[practice]" in w.versions.diff.toPlainText() and "texas.practice.yaml" in w.versions.diff.toPlainText()
    case = flows / "practice" / "texas.practice.yaml"
    case.write_text(case.read_text(encoding="utf-8").replace("solution:\n  - {next: null}\n",
                                                             "solution:\n  - {next: null}\n  - {next: null}\n", 1),
                    encoding="utf-8")
    assert w.publish("New pause step in TEXAS"), w.versions.diff.toPlainText()
    w.close()  # the reviewer works on their own desktop
    r = wb(user="rita")
    r.tabs.setCurrentWidget(r.versions)
    r.refresh_versions()
    assert r.approve("1.1.0")
    lib = load_for_calls(app_flows, wb_db)
    store = SQLiteJournal.open(tmp_path / "calls.db")
    s = CallSession.start(lib, store, Account("DK-1", "Mette", "DK"), "agent-7", start_flow="texas",
                          clock=FixedClock("2026-11-22T10:00:00+00:00", step_seconds=1), auto_wrap_up=False)
    s.next()
    assert s.top.step_id == "pause"
    assert s.render(s.top.step.say) == "Tag dig god tid."
    store.close()


def test_flags_tab_shows_who_when_and_triages(wb, wb_db, app_flows, qtbot):
    from callguide.engine.clock import FixedClock
    from callguide.engine.session import Account, CallSession
    from callguide.library.live import load_for_calls
    from callguide.store.sqlite import SQLiteJournal

    store = SQLiteJournal.open(wb_db)
    s = CallSession.start(load_for_calls(app_flows, wb_db), store, Account("A1", "Jo", "UK"), "agent-7",
                          start_flow="texas", clock=FixedClock("2026-11-22T10:00:00+00:00", step_seconds=1),
                          auto_wrap_up=False)
    s.flag_step("customers find the thanks too long")
    store.close()
    w = wb()
    w.reload()
    fp = w.flag_panel
    assert fp.table.rowCount() == 1
    row = [fp.table.item(0, c).text() for c in range(fp.table.columnCount())]
    assert row[1].startswith("2026-11-22 10:00") and row[2] == "agent-7" and row[3] == "texas 1.0.0"
    assert row[4] == "thank" and row[5] == "customers find the thanks too long" and row[6] == "open"
    w.tabs.setCurrentWidget(fp)
    shot(w, "workbench-flags.png")
    ref = row[0]
    assert w.triage_flag(ref, "rejected", "the thanks is agreed with the ombudsman")
    assert fp.table.rowCount() == 0  # only open and accepted ones by default
    fp.show_all.setChecked(True)
    assert fp.table.item(0, 6).text() == "rejected: the thanks is agreed with the ombudsman"


def test_workbench_strings_come_from_the_shared_catalogue(wb):
    from callguide.qt import i18n

    i18n.set_language("da")
    try:
        w = wb()
        tabs = [w.tabs.tabText(i) for i in range(w.tabs.count())]
        assert "Øvelse" in tabs and "Rediger" in tabs and "Rådgivernes markeringer" in tabs
        assert i18n.tr("banner.begin") == "Start samtalen"  # ui.yaml, the same catalogue
    finally:
        i18n.set_language("en")
