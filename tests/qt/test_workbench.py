"""The trainer's workbench, driven with pytest-qt on real copies of flows/ and real SQLite files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

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


@pytest.fixture
def flows(tmp_path):
    dst = tmp_path / "flows"
    # the flows and practice cases; the colleagues' flow tests are replaced by one known test
    shutil.copytree(ROOT / "flows", dst, ignore=shutil.ignore_patterns("*.test.yaml"))
    (dst / "tests").mkdir(exist_ok=True)
    (dst / "tests" / "workbench-texas.test.yaml").write_text(FLOW_TEST, encoding="utf-8")
    return dst


@pytest.fixture
def wb_db(tmp_path):
    return tmp_path / "journal.db"


@pytest.fixture
def wb(qtbot, flows, wb_db, tmp_path):
    from callguide.qt.workbench.window import WorkbenchWindow

    def _open(flow="texas.yaml"):
        w = WorkbenchWindow(flows, wb_db, tmp_path / "practice.db", user="trainer-anna")
        qtbot.addWidget(w)
        w.resize(1400, 860)
        w.show()
        qtbot.waitExposed(w)
        for i in range(w.flow_list.count()):
            if w.flow_list.item(i).text().startswith(flow):
                w.flow_list.setCurrentRow(i)
        assert w.current is not None and w.current.name == flow
        return w

    return _open


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


def test_form_edit_then_save_keeps_comments(wb, flows):
    original = (flows / "texas.yaml").read_text(encoding="utf-8")
    w = wb()
    w.form.select("thank")
    cell = w.form.cells[("say", "da")]
    cell.setPlainText("Tak, fordi du fortæller mig det. Det hjælper os med at hjælpe dig.")
    cell.commit()
    assert "Det hjælper os med at hjælpe dig." in w.editor.toPlainText()
    assert w.current in w.buffers  # unsaved
    assert w.save()
    saved = (flows / "texas.yaml").read_text(encoding="utf-8")
    assert comment_lines(saved) == comment_lines(original)
    assert len(saved.splitlines()) == len(original.splitlines())
    changed = [(a, b) for a, b in zip(original.splitlines(), saved.splitlines(), strict=True) if a != b]
    assert len(changed) == 1 and "Det hjælper os med at hjælpe dig." in changed[0][1]
    # text -> form: typing in the editor repaints the form after the pause
    w.editor.replace_text(saved.replace("Det hjælper os med at hjælpe dig.", "Tusind tak."))
    w.revalidate()
    w.form.show_flow(w.flow, "thank", force=True)
    assert "Tusind tak." in w.form.cells[("say", "da")].toPlainText()


def test_broken_transition_shows_a_diagnostic(wb, qtbot):
    w = wb()
    assert not [d for d in w.diags if d.severity == "error"]
    text = w.editor.toPlainText()
    w.editor.setPlainText(text.replace("    next: explain\n", "    next: explian\n", 1))
    qtbot.waitUntil(lambda: any(d.rule == "unknown-target" for d in w.diags), timeout=3000)
    d = next(d for d in w.diags if d.rule == "unknown-target")
    assert "explian" in d.message
    assert any("unknown-target" in m for m in w.editor.messages_at_line(d.line))
    assert any("unknown-target" in w.diag_list.item(i).text() for i in range(w.diag_list.count()))
    assert w.editor.extraSelections()
    assert "\u2716" in w.flow_list.currentItem().text()
    w.editor.goto_line(d.line)
    shot(w, "workbench-editor.png")


def test_graph_click_jumps_and_coverage_is_painted(wb, qtbot, wb_db):
    from callguide.engine.clock import FixedClock
    from callguide.engine.session import Account, CallSession
    from callguide.library.live import load_for_calls
    from callguide.store.sqlite import SQLiteJournal

    lib = load_for_calls(ROOT / "flows", wb_db)
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
    w.repaint_views()
    shot(w, "workbench-graph.png")
    w.graph.step_clicked.emit("consent")
    assert w.tabs.currentIndex() == 0
    assert w.form.step_id == "consent"
    assert w.editor.textCursor().blockNumber() + 1 == w.flow.step("consent").pos.line
    w.form.select("explain")
    assert w.form.findChild(type(w.form.kind), "flagsBox") is not None


def test_practice_case_runs_to_its_score(wb, qtbot, tmp_path, wb_db):
    w = wb()
    w.tabs.setCurrentWidget(w.practice)
    p = w.practice
    assert p.select_case("texas.practice.yaml")
    p.start()
    assert p.step_panel is not None, w.statusBar().currentMessage()
    assert p.session.practice
    assert "Min mand døde" in p.customer.text()
    p.show_me()
    score = p.finish()
    assert score is not None and score.score == 100, score.differences
    assert "100/100" in p.score_label.text()
    # a trainee who records nothing scores low and is told what differed
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
    p.stop()
    p.start()
    p.step_panel._on_next()
    shot(w, "workbench-practice-running.png")
    # practice wrote to the practice database only
    assert (tmp_path / "practice.db").exists()
    from callguide.store.sqlite import SQLiteJournal

    live = SQLiteJournal.open(wb_db)
    assert all(e.type != "call_started" for e in live.iter_entries())
    live.close()
    p.stop()


def test_publish_diff_and_refuse_an_unpublished_edit(wb, flows, wb_db, monkeypatch):
    from callguide.library.live import LibraryRefused, load_for_calls
    from callguide.library.publish import list_versions

    w = wb()
    assert [v.note for v in list_versions("texas", wb_db)] == ["bundled"]  # adopted on first open
    w.form.select("thank")
    cell = w.form.cells[("say", "da")]
    cell.setPlainText("Tak fordi du siger det.")
    cell.commit()
    w.save()
    with pytest.raises(LibraryRefused) as e:
        load_for_calls(flows, wb_db)
    assert str(e.value).startswith("texas.yaml has unpublished changes; publish it in the workbench or "
                                   "`callguide publish ")
    w.tabs.setCurrentWidget(w.versions)
    w.refresh_versions()
    diff = w.versions.diff.toPlainText()
    assert "step 'thank': what the agent says changed in Danish" in diff
    assert "after:  Tak fordi du siger det." in diff
    monkeypatch.setattr("PySide6.QtWidgets.QInputDialog.getMultiLineText",
                        lambda *a, **k: ("Shorter Danish thanks after agents' feedback", True))
    assert w.publish()
    versions = list_versions("texas", wb_db)
    assert [v.published_by for v in versions] == ["system", "trainer-anna"]
    assert versions[-1].note == "Shorter Danish thanks after agents' feedback"
    lib = load_for_calls(flows, wb_db)
    assert lib.flows["texas"].step("thank").say.get("da") == "Tak fordi du siger det."
    assert "after:  Tak fordi du siger det." in w.versions.diff.toPlainText()  # what the live version changed
    shot(w, "workbench-versions.png")


def test_trainer_adds_a_danish_step_and_the_next_call_uses_it(wb, flows, wb_db, tmp_path):
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
    # the existing flow test now needs one more Next: the workbench says so, and paints the new step as covered
    assert "0 passed, 1 failed" in w.tests.summary.text()
    assert "pause" in w.coverage.steps_hit["texas"]
    test_file = flows / "tests" / "workbench-texas.test.yaml"
    test_file.write_text(FLOW_TEST.replace("      - {next: null}\n", "      - {next: null}\n      - {next: null}\n", 1),
                         encoding="utf-8")
    w.run_tests()
    assert "1 passed, 0 failed" in w.tests.summary.text()
    w.tabs.setCurrentWidget(w.practice)
    w.practice.picker.setCurrentIndex(w.practice.picker.findData("flow:texas"))
    w.practice.start()
    w.practice.step_panel._on_next()
    assert w.practice.session.top.step_id == "pause"
    w.practice.stop()
    w.publish("New pause step in TEXAS")
    lib = load_for_calls(flows, wb_db)
    store = SQLiteJournal.open(tmp_path / "calls.db")
    s = CallSession.start(lib, store, Account("DK-1", "Mette", "DK"), "agent-7", start_flow="texas",
                          clock=FixedClock("2026-11-22T10:00:00+00:00", step_seconds=1), auto_wrap_up=False)
    s.next()
    assert s.top.step_id == "pause"
    assert s.render(s.top.step.say) == "Tag dig god tid."
    store.close()


def test_workbench_strings_come_from_the_shared_catalogue(wb):
    from callguide.qt import i18n

    i18n.set_language("da")
    w = wb()
    tabs = [w.tabs.tabText(i) for i in range(w.tabs.count())]
    assert "Øvelse" in tabs and "Rediger" in tabs  # workbench.yaml, through callguide.qt.i18n.tr
    assert i18n.tr("banner.begin") == "Start samtalen"  # ui.yaml, the same catalogue
