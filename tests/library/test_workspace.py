"""The core `Workspace` (no Qt): unsaved texts, diagnostics per file, test runs, publication state
and events; the default workspace is made from the shipped flows."""

from __future__ import annotations

import shutil

from callguide.library.workspace import Workspace, create_workspace, default_folder
from tests.library.conftest import who

TEST = """\
flow: main
account: {id: T1, country: UK}
cases:
  - name: greets
    events: [{next: null}]
    expect: {step: main/income}
"""


def test_buffers_diagnostics_tests_and_events(flows, adopted, db):
    w = Workspace(flows, db, person=who("anna"))
    seen: list[str] = []
    w.subscribe(lambda ev, payload: seen.append(ev))
    main = flows / "main.yaml"
    # A clean file: no error, no warning; the built-in invariant it waives is listed as a note, with its reason.
    assert not w.dirty(main) and [(d.rule, d.severity) for d in w.diagnostics_for(main)] == [("waiver", "note")]
    assert "collection_state" in w.diagnostics_for(main)[0].message
    clean = {s.flow_id: s for s in w.file_states()}["main"]
    assert (clean.errors, clean.warnings, clean.notes) == (0, 0, 1)
    w.set_text(main, w.text(main).replace("next: route", "next: rout"))
    assert w.dirty(main) and "next: rout\n" not in main.read_text(encoding="utf-8")
    d = w.diagnostics_for(main)
    assert [x.rule for x in d if x.severity == "error"][:1] == ["unknown-target"]
    assert "did you mean 'route'?" in d[0].message or any("did you mean 'route'?" in x.message for x in d)
    states = {s.flow_id: s for s in w.file_states()}
    assert states["main"].dirty and states["main"].errors >= 1 and states["main"].publication == "changed"
    assert states["pay"].publication == "live" and states["pay"].label == "1"
    w.revert(main)
    assert not w.dirty(main)
    (flows / "tests").mkdir(exist_ok=True)
    (flows / "tests" / "main.test.yaml").write_text(TEST, encoding="utf-8")
    run = w.run_tests()
    assert run.passed == 1 and not run.failed and "hello" in run.coverage.steps_hit["main"]
    assert seen[1:3] == ["text_changed", "diagnostics_updated"] and seen[-1] == "tests_finished"


def test_the_default_workspace_is_created_from_the_shipped_flows(shipped, tmp_path, monkeypatch):
    monkeypatch.setenv("CALLGUIDE_WORKSPACE", str(tmp_path / "my-workspace"))
    w = Workspace(None, tmp_path / "j.db", person=who("anna"))
    assert w.folder == default_folder() and not w.read_only
    assert sorted(p.name for p in w.files()) == sorted(p.name for p in shipped.glob("*.yaml"))
    assert not (w.folder / "manifest.json").exists()  # the release manifest belongs to the release


def test_a_new_workspace_is_a_git_repository_when_git_is_installed(shipped, tmp_path):
    if shutil.which("git") is None:
        return
    ws = create_workspace(tmp_path / "ws", shipped)
    assert (ws / ".git").is_dir()
