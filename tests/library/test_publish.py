from __future__ import annotations

import sqlite3

import pytest

from callguide.library.live import LibraryRefused, load_for_calls
from callguide.library.publish import (
    PublicationStore,
    PublishError,
    list_versions,
    live_library,
    publish,
    text_hash,
)


def edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_publish_creates_an_immutable_version(flows, db):
    res = publish(flows / "main.yaml", "trainer-anna", "first version", db)
    assert res.created
    p = res.publication
    assert (p.flow_id, p.version_label, p.published_by, p.note) == ("main", "1", "trainer-anna", "first version")
    assert p.content_hash == text_hash((flows / "main.yaml").read_text(encoding="utf-8"))
    assert p.text == (flows / "main.yaml").read_text(encoding="utf-8")
    conn = sqlite3.connect(db)
    for sql in ("UPDATE publications SET note = 'x'", "DELETE FROM publications"):
        with pytest.raises(sqlite3.DatabaseError, match="immutable"):
            conn.execute(sql)
    conn.close()


def test_republishing_the_same_text_writes_nothing_and_live_is_latest(flows, db):
    publish(flows / "main.yaml", "anna", "v1", db)
    again = publish(flows / "main.yaml", "anna", "again", db)
    assert not again.created
    edit(flows / "main.yaml", 'version: "1"', 'version: "2"')
    publish(flows / "main.yaml", "bo", "v2", db)
    versions = list_versions("main", db)
    assert [v.version_label for v in versions] == ["1", "2"]
    with PublicationStore.open(db) as store:
        assert store.live("main").version_label == "2"
        assert store.find("main", "1").note == "v1"
        assert store.find("main", versions[0].content_hash[:8]).seq == versions[0].seq


def test_publish_refuses_errors_and_empty_note(flows, db):
    with pytest.raises(PublishError, match="change note"):
        publish(flows / "main.yaml", "anna", "  ", db)
    edit(flows / "main.yaml", "next: route", "next: nowhere")
    with pytest.raises(PublishError, match=r"main.yaml has 1 error\(s\).*unknown-target"):
        publish(flows / "main.yaml", "anna", "broken", db)
    assert list_versions("main", db) == []


def test_fresh_database_publishes_the_bundled_flows_once(flows, db):
    lib = load_for_calls(flows, db)
    assert set(lib.flows) == {"main", "pay", "crisis", "disclose", "doubt"}
    versions = list_versions("main", db)
    assert [(v.published_by, v.note) for v in versions] == [("system", "bundled")]
    load_for_calls(flows, db)
    assert len(list_versions("main", db)) == 1


def test_live_call_refuses_an_unpublished_edit_then_runs_it_once_published(flows, db):
    load_for_calls(flows, db)
    edit(flows / "main.yaml", "Hello {{ account.name }}", "Good morning {{ account.name }}")
    with pytest.raises(LibraryRefused) as e:
        load_for_calls(flows, db)
    assert str(e.value).startswith("main.yaml has unpublished changes; publish it in the workbench or "
                                   "`callguide publish ")
    assert "main.yaml` before live calls" in str(e.value)
    publish(flows / "main.yaml", "anna", "warmer greeting", db)
    lib = load_for_calls(flows, db)
    assert lib.flows["main"].step("hello").say.get("en") == "Good morning {{ account.name }}"


def test_a_new_flow_file_must_be_published(flows, db):
    load_for_calls(flows, db)
    text = (flows / "pay.yaml").read_text(encoding="utf-8").replace("id: pay", "id: pay2", 1)
    (flows / "pay2.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(LibraryRefused, match="pay2.yaml has never been published"):
        load_for_calls(flows, db)


def test_live_library_uses_the_published_text_not_the_file(flows, db):
    publish(flows / "main.yaml", "anna", "v1", db)
    edit(flows / "main.yaml", "Hello {{ account.name }}", "Hi {{ account.name }}")
    lib = live_library(flows, db)
    assert set(lib.flows) == {"main", "pay", "crisis", "disclose", "doubt"}  # the rest adopted as the baseline
    assert list_versions("pay", db)[0].note == "bundled"
    assert lib.flows["main"].step("hello").say.get("en") == "Hello {{ account.name }}"


def test_a_call_stays_pinned_to_the_version_it_started_with(flows, db, tmp_path):
    from callguide.engine.clock import FixedClock
    from callguide.engine.session import Account, CallSession
    from callguide.store.sqlite import SQLiteJournal

    lib = load_for_calls(flows, db)
    store = SQLiteJournal.open(tmp_path / "calls.db")
    s = CallSession.start(lib, store, Account("A1", "Jo", "UK"), "agent", start_flow="main",
                          clock=FixedClock("2026-11-22T10:00:00+00:00", step_seconds=1), auto_wrap_up=False)
    call_id = s.call_id
    old_hash = lib.flows["main"].content_hash
    edit(flows / "main.yaml", "Hello {{ account.name }}", "Hi {{ account.name }}")
    publish(flows / "main.yaml", "anna", "shorter", db)
    new_lib = load_for_calls(flows, db)
    assert new_lib.flows["main"].content_hash != old_hash
    resumed = CallSession.resume(new_lib, store, call_id)
    assert resumed.flows["main"].content_hash == old_hash
    store.close()
