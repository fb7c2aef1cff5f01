"""Agents' flags: who, when, which version and step, their words; trainers triage them; a fix that
goes live is shown to the agents who raised it on their next call, once."""

from __future__ import annotations

import pytest

from callguide.engine.clock import FixedClock
from callguide.engine.session import Account, CallSession
from callguide.library.flags import (
    FlagsError,
    collect_flags,
    flags_for_flow,
    list_flags,
    notices_for_call,
    triage,
)
from callguide.library.live import load_for_calls
from callguide.library.publish import approve
from callguide.library.workspace import Workspace
from callguide.store.sqlite import SQLiteJournal
from tests.library.conftest import who


def call(lib, store, agent, when, flag=None, steps=0):
    s = CallSession.start(lib, store, Account("A1", "Jo", "UK"), agent, start_flow="main",
                          clock=FixedClock(when, step_seconds=1), auto_wrap_up=False)
    for _ in range(steps):
        s.next()
    if flag is not None:
        assert s.flag_step(flag).ok
    s.end_call()
    return s


def test_flags_record_who_when_version_step_and_words(adopted, db):
    lib = load_for_calls(None, db)
    store = SQLiteJournal.open(db)
    for comment in ("customers find this cold", "too long", ""):
        call(lib, store, "agent-7", "2026-11-22T10:00:00+00:00", comment)
    call(lib, store, "agent-9", "2026-11-22T11:00:00+00:00", "which income?", steps=1)
    store.close()
    flags = list_flags(db)
    assert [(f.entry.agent, f.entry.step_id, f.entry.comment) for f in flags] == [
        ("agent-9", "income", "which income?"), ("agent-7", "hello", ""), ("agent-7", "hello", "too long"),
        ("agent-7", "hello", "customers find this cold")]
    f = flags[0]
    assert f.entry.ts.startswith("2026-11-22T11:00") and f.entry.flow_version == "1" and len(f.entry.flow_hash) == 64
    assert f.state == "open" and f.ref == f"#{f.entry.seq}"
    by_step = collect_flags(db)
    assert by_step[("main", "hello")].count == 3
    assert by_step[("main", "hello")].comments == ["too long", "customers find this cold"]
    assert flags_for_flow(by_step, "main")["income"].comments == ["which income?"]


def test_trainers_triage_flags_and_the_agent_sees_the_fix_on_the_next_call(flows, adopted, db):
    lib = load_for_calls(None, db)
    store = SQLiteJournal.open(db)
    first = call(lib, store, "agent-7", "2026-11-22T10:00:00+00:00", "customers find this cold")
    call(lib, store, "agent-8", "2026-11-22T10:05:00+00:00", "sounds scripted")
    flags = {f.entry.agent: f for f in list_flags(db)}
    with pytest.raises(FlagsError, match="needs the trainer role"):
        triage(db, flags["agent-7"].ref, "accepted", who("ole"))
    with pytest.raises(FlagsError, match="say why"):
        triage(db, flags["agent-8"].ref, "rejected", who("anna"))
    rej = triage(db, flags["agent-8"].ref, "rejected", who("anna"), "the wording is required by the regulator")
    assert rej.describe_state() == "rejected: the wording is required by the regulator"
    assert triage(db, flags["agent-7"].ref, "accepted", who("anna")).state == "accepted"
    with pytest.raises(FlagsError, match="has no version '2.0.0'"):
        triage(db, flags["agent-7"].ref, "fixed", who("anna"), version="2.0.0")
    path = flows / "main.yaml"
    text = path.read_text(encoding="utf-8").replace('version: "1"', 'version: "2.0.0"')
    path.write_text(text.replace("Hello {{ account.name }}", "Good morning, {{ account.name }}"), encoding="utf-8")
    Workspace(flows, db, person=who("anna")).submit(path, "warmer greeting after agents' flags")
    fixed = triage(db, flags["agent-7"].entry.id[:10], "fixed", who("anna"), version="2.0.0")
    assert fixed.describe_state() == "fixed in 2.0.0" and fixed.decided_by == "anna"
    assert collect_flags(db)[("main", "hello")].count == 0  # none is waiting any more
    # not live yet: no notice
    nxt = call(lib, store, "agent-7", "2026-11-22T12:00:00+00:00")
    assert notices_for_call(db, "agent-7", nxt.call_id) == []
    approve("main", "2.0.0", who("rita"), db)
    lib = load_for_calls(None, db)
    s = CallSession.start(lib, store, Account("A2", "Kim", "UK"), "agent-7", start_flow="main",
                          clock=FixedClock("2099-01-01T09:00:00+00:00", step_seconds=1), auto_wrap_up=False)
    notes = notices_for_call(db, "agent-7", s.call_id)
    assert [(n.flow_id, n.step_id, n.version_label, n.comment) for n in notes] == [
        ("main", "hello", "2.0.0", "customers find this cold")]
    assert notices_for_call(db, "agent-8", s.call_id) == []  # agent-8's flag was rejected, and it is not their call
    s.end_call()
    later = call(lib, store, "agent-7", "2099-01-01T10:00:00+00:00")
    assert notices_for_call(db, "agent-7", later.call_id) == []  # shown once, on the next call
    assert notices_for_call(db, "agent-7", first.call_id) == []
    store.close()


def test_no_journal_means_no_flags(tmp_path):
    assert list_flags(tmp_path / "missing.db") == []


def test_a_flag_edited_in_the_journal_file_is_refused_not_listed(adopted, db):
    """`flags list` reads the journal's flag entries itself: the same rule as every reader
    (`sqlite.check_rows`). Before, a comment (or an agent) changed in the file was listed as the
    agent's words."""
    import sqlite3

    lib = load_for_calls(None, db)
    store = SQLiteJournal.open(db)
    call(lib, store, "agent-7", "2026-11-22T10:00:00+00:00", "customers find this cold")
    store.close()
    seq = list_flags(db)[0].entry.seq
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER entries_no_update")
    conn.execute("UPDATE entries SET data = replace(data, 'cold', 'warm') WHERE seq = ?", (seq,))
    conn.commit()
    conn.close()
    with pytest.raises(FlagsError, match=f"entry {seq} does not match its hash"):
        list_flags(db)
