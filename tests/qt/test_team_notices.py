"""The call window's notices in team mode, against the real PostgreSQL server: the trainers'
publications live in the team store (the local journal holds none), so the notices read them
there, the same place the live flows came from (`callguide.library.live.publications_of`).

- HARMED, published for practice only in the team store, is named with what to do instead
  (en/da/cs), and F4 shows those words instead of being a dead key;
- a flag the agent raised on one call, fixed by a trainer and published (reviewer: live) in the
  team store, is shown on the agent's next call, once;
- the team store out of reach: the call starts, no notice, one log line, no traceback.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import time
from pathlib import Path

import pytest

psycopg = pytest.importorskip("psycopg")

from PySide6.QtCore import Qt  # noqa: E402

from callguide.store.postgres.connect import TeamTarget  # noqa: E402
from tests.qt import test_team_window as tw  # noqa: E402
from tests.qt.test_team_window import close, open_team_window  # noqa: E402
from tests.team.conftest import TeamServer  # noqa: E402

pytestmark = pytest.mark.qt
SHOTS = Path("/tmp/teamnotices-shots")
team = tw.team  # the team store with the shipped flows adopted (HARMED practice only)


def loaded(qtbot, d) -> None:
    qtbot.waitUntil(d.w.side.notices.loaded.is_set, timeout=5000)
    qtbot.wait(50)  # the facts' signal reaches the Qt thread


@pytest.mark.parametrize("lang, country, start", [
    ("en", "UK", "HARMED (upset or angry customer) is not live yet"),
    ("da", "DK", "HARMED"),
    ("cs", "CZ", "HARMED"),
])
def test_harmed_withheld_in_the_team_store_is_named_and_f4_says_what_to_do(qtbot, team: TeamServer, tmp_path: Path,
                                                                           monkeypatch, lang, country, start) -> None:
    from callguide.library.live import publications_of, withheld_flows
    from callguide.qt import i18n

    anna = team.person("anna", "agent")
    monkeypatch.setattr(tw, "ACCOUNT", {**tw.ACCOUNT, "country": country, "lang": lang})
    d = open_team_window(qtbot, tmp_path, anna)
    try:
        pubs = publications_of(d.session.store)
        assert pubs is not None and pubs.team and pubs.where == anna
        assert withheld_flows(tmp_path / "agent.db") == [], "the local journal holds no publications"
        assert "harmed" not in d.session.flows
        d.press(Qt.Key.Key_Return)  # begin the call
        loaded(qtbot, d)
        n = d.w.side.notices
        assert n.problem == ""
        assert [w.flow_id for w in n.withheld] == ["harmed"]
        assert n.isVisible() and n.withheld_label.isVisible()
        text = n.withheld_label.text()
        assert text == i18n.tr_in(lang, "notice.withheld.harmed") and text.startswith(start)
        if lang != "en":
            assert text != i18n.tr_in("en", "notice.withheld.harmed")
        assert n.hotkeys == {"F4": "harmed"}
        before = len(d.entries())
        d.press(Qt.Key.Key_F4)
        assert d.where == ("call-opening", "identity") and len(d.entries()) == before  # nothing started or written
        assert d.w.info_strip.isVisible() and d.w.info_strip.text() == text
        SHOTS.mkdir(exist_ok=True)
        assert d.w.grab().save(str(SHOTS / f"team-harmed-{lang}.png"))
    finally:
        i18n.set_language("en")
        close(d)


def _publish_fix(team: TeamServer, flow_id: str, label: str) -> TeamTarget:
    """A trainer (tom, returned) submits `label` of the live `flow_id`; a reviewer approves it and it
    goes live now."""
    from callguide.library.publish import live_versions
    from callguide.store.postgres.publications import PostgresPublications
    from callguide.store.publications import LogRecord, text_hash

    tom = team.person("tom", "trainer")
    rita = team.person("rita", "reviewer")
    with PostgresPublications(tom) as pubs:
        old = live_versions(pubs)[flow_id]
        text = old.text.replace(f'version: "{old.version_label}"', f'version: "{label}"', 1)
        assert text != old.text
        v = dataclasses.replace(old, id=0, version_label=label, content_hash=text_hash(text), text=text,
                                origin="workspace", created_by="tom", note="warmer opening", evidence={})
        nv, _ = pubs.add_version(v, LogRecord(flow_id, None, label, "submitted", "tom", ["trainer"], "warmer"))
    with PostgresPublications(rita) as pubs:
        pubs.append(LogRecord(flow_id, nv.id, label, "approved", "rita", ["reviewer"], "four eyes"),
                    LogRecord(flow_id, nv.id, label, "live", "rita", ["reviewer"]))
    return tom


def test_a_flag_fixed_in_the_team_store_is_shown_on_the_next_call_once(qtbot, team: TeamServer, tmp_path: Path,
                                                                       monkeypatch) -> None:
    from callguide.identity import person
    from callguide.library.flags import list_flags, triage

    anna = team.person("anna", "agent")
    d = open_team_window(qtbot, tmp_path, anna)
    try:
        d.press(Qt.Key.Key_Return)
        loaded(qtbot, d)
        assert not d.w.side.notices.fixed_label.isVisible()
        flow, step = d.where
        assert d.session.flag_step("the opening sounds cold").ok
        assert d.session.end_call().ok
        assert d.w.launcher.desktop.wait_synced(20)
    finally:
        close(d)

    time.sleep(1.1)  # publication times have whole seconds: the fix comes after the call, as in life
    # The trainer publishes a fix and marks the flag fixed, in the team store (not on this desktop).
    tom = _publish_fix(team, flow, "1.0.1")
    people = tmp_path / "people.yaml"
    people.write_text("people:\n  tom: {name: Tom, roles: [trainer]}\n", encoding="utf-8")
    monkeypatch.setenv("CALLGUIDE_PEOPLE", str(people))
    flag = next(f for f in list_flags(tom) if f.entry.agent == "anna")
    assert flag.entry.comment == "the opening sounds cold"
    triage(tom, flag.ref, "fixed", person("tom"), version="1.0.1")

    # The next call: the notice, with the version; the call itself runs the fixed version.
    d = open_team_window(qtbot, tmp_path, anna)
    try:
        assert d.session.library.flows[flow].version == "1.0.1"
        d.press(Qt.Key.Key_Return)
        loaded(qtbot, d)
        label = d.w.side.notices.fixed_label
        assert label.isVisible()
        assert f"The step you flagged ({flow} / {step}, “the opening sounds cold”)" in label.text()
        assert "version 1.0.1" in label.text()
        SHOTS.mkdir(exist_ok=True)
        assert d.w.grab().save(str(SHOTS / "team-fixed-en.png"))
        assert d.session.end_call().ok
        assert d.w.launcher.desktop.wait_synced(20)
    finally:
        close(d)

    # The call after: no longer (once, on the next call).
    d = open_team_window(qtbot, tmp_path, anna)
    try:
        d.press(Qt.Key.Key_Return)
        loaded(qtbot, d)
        assert d.w.side.notices.fixed == [] and not d.w.side.notices.fixed_label.isVisible()
        assert d.session.end_call().ok
    finally:
        close(d)


def test_team_store_out_of_reach_the_call_starts_without_a_notice(qtbot, team: TeamServer, tmp_path: Path,
                                                                   caplog, capfd) -> None:
    anna = team.person("anna", "agent")
    d = open_team_window(qtbot, tmp_path, anna)  # a first call online fills this desktop's copies
    d.session.end_call()
    close(d)
    for copy in (".team-cache", ".team-flows.json"):
        shutil.copy(tmp_path / f"agent.db{copy}", tmp_path / f"agent2.db{copy}")
    dead = TeamTarget("postgresql://anna@127.0.0.1:1/test", anna.schema, anna.prefix)
    caplog.set_level(logging.WARNING, logger="callguide.qt.notices")
    t0 = time.monotonic()
    d = open_team_window(qtbot, tmp_path, dead, "agent2.db")
    try:
        assert time.monotonic() - t0 < 10
        d.press(Qt.Key.Key_Return)
        assert d.where == ("call-opening", "identity"), "the call runs"
        loaded(qtbot, d)
        n = d.w.side.notices
        assert n.withheld == [] and n.fixed == [] and n.hotkeys == {} and not n.isVisible()
        assert n.problem
        lines = [r.getMessage() for r in caplog.records if r.name == "callguide.qt.notices"]
        assert len(lines) == 1 and lines[0].startswith("call notices: the publications cannot be read"), lines
        d.press(Qt.Key.Key_F4)  # no notice, no words: nothing happens, nothing breaks
        d.press(Qt.Key.Key_Space)
        d.press(Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        assert d.where == ("call-opening", "purpose")
    finally:
        close(d)
    assert "Traceback" not in capfd.readouterr().err
