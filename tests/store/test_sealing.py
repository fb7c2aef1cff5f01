"""The data keys file on its own (store.sealing): what the registry seals, destroyed keys leave no
bytes behind (many keys over many pages, a write-ahead log, a vacuumed copy), other connections
notice a destruction, and a value whose key is gone reads as gone, never raises."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from callguide.store import entry_types as et
from callguide.store.sealing import (
    PERSONAL,
    DataKeys,
    Gone,
    Sealer,
    is_sealed,
    keys_path,
    sealed_keys,
)


def test_every_special_key_is_sealed_or_a_reference():
    for name, t in et.REGISTRY.items():
        data = dict.fromkeys(t.keys, "x")
        if t.sensitivity == et.FIELD:
            data["sensitivity"] = "special"
        special, personal = sealed_keys(name, data)
        for k in t.special_keys:
            assert k in special or k in t.reference_keys, (name, k)
        for k in t.personal_keys:
            assert k in special or k in personal, (name, k)
    plain = sealed_keys(et.ANSWER, {"field": "income", "value": "5", "input": {}, "sensitivity": "personal"})
    assert plain == ((), ("value", "input"))  # an ordinary answer: under the personal key


def _bytes(path: Path, tmp: Path) -> bytes:
    out = b""
    for suffix in ("", "-wal", "-shm"):
        p = Path(f"{path}{suffix}")
        if p.exists():
            out += p.read_bytes()
    copy = tmp / "vacuumed.keys"
    copy.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("VACUUM INTO ?", (str(copy),))
    conn.close()
    return out + copy.read_bytes()


def test_destroyed_keys_leave_no_bytes_over_many_pages(tmp_path):
    path = keys_path(tmp_path / "journal.db")
    keys = DataKeys(path)
    made = {f"A{i}": keys.live(f"A{i}", "health_disclosure")[1] for i in range(400)}
    for i in range(0, 400, 2):
        assert [g["purpose"] for g in keys.destroy(f"A{i}", None, "erased", "test")] == ["health_disclosure"]
    raw = _bytes(path, tmp_path)
    for i, key in enumerate(made.values()):
        assert (key in raw) == (i % 2 == 1), i  # the destroyed ones are gone, the others are there
    assert Path(f"{path}-wal").stat().st_size == 0
    keys.close()


def test_another_connection_notices_a_destruction_and_reads_it_as_gone(tmp_path):
    path = keys_path(tmp_path / "journal.db")
    a, b = Sealer(DataKeys(path)), Sealer(DataKeys(path))
    v = a.seal("A1", ["health_disclosure"], {"condition": "asthma"})
    assert is_sealed(v) and b.open("A1", v) == {"condition": "asthma"}  # b caches the key
    b.open("A1", v)
    a.keys.destroy("A1", ["health_disclosure"], "withdrawn", "on the call", "2026-11-24T10:00:00Z")
    gone = b.open("A1", v, "cs")
    assert isinstance(gone, Gone) and gone == "odvoláno 24. listopadu 2026" and gone.how == "withdrawn"
    # a new consent later gets a new key; the old value stays gone
    w = b.seal("A1", ["health_disclosure"], "new")
    assert a.open("A1", w) == "new" and isinstance(a.open("A1", v), Gone)
    # a value moved to another account does not open there; a damaged one reads as unreadable
    p = a.seal("A1", [PERSONAL], "Jo")
    assert isinstance(a.open("A2", p), Gone)
    broken = {"$sealed": {**p["$sealed"], "c": p["$sealed"]["c"][:-4] + "AAAA"}}
    assert a.open("A1", broken) == "not readable here (no key)"
    a.close()
    b.close()


def test_a_value_needing_two_purposes_is_gone_when_either_is(tmp_path):
    s = Sealer(DataKeys(keys_path(tmp_path / "j.db")))
    v = s.seal("A1", ["health_disclosure", "vulnerability"], "quotes both")
    assert s.open("A1", v) == "quotes both"
    s.keys.destroy("A1", ["vulnerability"], "purged", "rule x", "2027-12-01T00:00:00Z")
    assert s.open("A1", v, "da") == "slettet 1. december 2027 (opbevaringsperioden er udløbet)"
    s.close()


def test_a_journal_without_its_keys_reads_sealed_values_as_not_readable(tmp_path):
    s = Sealer(DataKeys(keys_path(tmp_path / "j.db")))
    v = s.seal("A1", [], "Jo Bloggs")
    s.close()
    elsewhere = Sealer(DataKeys(keys_path(tmp_path / "copy.db"), readonly=True))  # no keys file there
    assert elsewhere.open("A1", v, "da") == "kan ikke læses her (ingen nøgle)"


def test_only_the_flows_own_words_of_a_rendered_key_are_stored_as_they_are():
    data = {"kind": "say", "say": "Hello Jana", "guidance": "Listen first", "lang": "en", "flow_text": ["guidance"]}
    assert sealed_keys(et.STEP_SHOWN, data) == (("say",), ())
    # a key that is not rendered flow text, or a value that is not text, is never let through
    note = {"text": "my words", "flow_text": ["text"]}
    assert sealed_keys(et.NOTE, note)[0] == ("text",)
    odd = {**data, "guidance": {"x": "y"}, "flow_text": ["say", "guidance", 7]}
    assert sealed_keys(et.STEP_SHOWN, odd) == (("guidance",), ())


def test_a_static_step_text_is_plain_and_a_templated_one_sealed(tmp_path):
    from callguide.engine.clock import FixedClock
    from callguide.engine.session import Account, CallSession
    from callguide.flow.loader import load_flow_text
    from callguide.flow.model import FlowLibrary
    from callguide.store.sqlite import SQLiteJournal

    text = """schema: callguide/flow@1
id: hello
version: "1"
priority: general
title: {en: Hello, da: Hej, cs: Ahoj}
description: {en: Test, da: Test, cs: Test}
languages: [en, da, cs]
start: a
steps:
  - id: a
    kind: say
    say: {en: "Hello {{ account.name }}", da: "Hej {{ account.name }}", cs: "Dobrý den {{ account.name }}"}
    guidance: {en: "Listen first", da: "Lyt først", cs: "Nejdřív poslouchejte"}
    next: b
  - id: b
    kind: say
    say: {en: "Thank you", da: "Tak", cs: "Děkuji"}
    next: a
"""
    flow, diags = load_flow_text(text, "hello.yaml")
    assert flow is not None, diags
    db = tmp_path / "j.db"
    store = SQLiteJournal.open(db)
    s = CallSession.start(FlowLibrary(flows={"hello": flow}, signposts={}), store, Account("H1", "Jana Nováková", "CZ"),
                          "agent", start_flow="hello", clock=FixedClock(), auto_wrap_up=False)
    s.next()
    shown = {e.step_id: e.data for e in store.call_entries(s.call_id) if e.type == et.STEP_SHOWN}
    store.close()
    assert is_sealed(shown["a"]["say"]) and shown["a"]["guidance"] == "Nejdřív poslouchejte"
    assert shown["b"]["say"] == "Děkuji" and shown["b"]["flow_text"] == ["say"]
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("j.db"))
    assert "Nováková".encode() not in raw


def test_a_batch_trusts_its_cached_keys_in_its_own_thread_only(tmp_path):
    import threading

    keys = DataKeys(keys_path(tmp_path / "journal.db"))
    sealer = Sealer(keys)
    kid, _ = keys.live("A1", PERSONAL)
    seen: list[bool] = []
    with keys.checked():
        with keys.checked():  # a batch inside a batch: no second check, still trusted
            assert keys._trust == threading.get_ident()
        assert keys._trust == threading.get_ident()
        t = threading.Thread(target=lambda: seen.append(keys._trust == threading.get_ident()))
        t.start()
        t.join()
        assert is_sealed(sealer.seal("A1", (), "x"))
    assert seen == [False] and keys._trust == 0
    keys.close()


def test_a_key_destroyed_elsewhere_is_never_sealed_under_again(tmp_path):
    """The sealing cache (key ids, cipher) is forgotten with the keys: a withdrawal in another
    process (another connection to the same keys file) is seen at the next batch's one check."""
    path = keys_path(tmp_path / "journal.db")
    here, there = DataKeys(path), DataKeys(path)
    sealer = Sealer(here)
    with here.checked():
        first = sealer.seal("A1", ["health_disclosure"], "chemo")["$sealed"]["k"]
    with here.checked():  # cached: the same key
        assert sealer.seal("A1", ["health_disclosure"], "chemo")["$sealed"]["k"] == first
    assert [g["kid"] for g in there.destroy("A1", ["health_disclosure"], "withdrawn", "test")] == first
    with here.checked():
        again = sealer.seal("A1", ["health_disclosure"], "chemo")["$sealed"]["k"]
    assert again != first and here.get(first[0])[0] is None
    here.close()
    there.close()
