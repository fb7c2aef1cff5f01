"""The journal's entry types have one home (`callguide/store/entry_types.py`): every type the engine
writes is declared there, with every data key it writes; docs/journal.md's table lists exactly the
declared types; the lists other parts read are derived from the declarations."""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
import sqlite3
from pathlib import Path

import pytest

from callguide.engine.commands import (
    Action,
    Back,
    ChangeLanguage,
    Consent,
    EndCall,
    Flag,
    Interrupt,
    Next,
    Note,
    Withdraw,
)
from callguide.engine.lifecycle import close_abandoned
from callguide.engine.reviews import record_review
from callguide.engine.session import CallSession
from callguide.engine.testing import find_test_files, run_test_file
from callguide.flow.loader import load_library
from callguide.flow.model import Text
from callguide.identity import Person
from callguide.store import derive, privacy
from callguide.store import entry_types as et
from callguide.store.sqlite import redact_data

ROOT = Path(__file__).resolve().parents[2]
CARE = Person("bo", "Bo Nielsen", frozenset({"care_team", "supervisor"}))


def _written(*paths: Path) -> dict[str, set[str]]:
    """Every entry type in these journals, with the union of the data keys it was written with."""
    out: dict[str, set[str]] = {}
    for p in paths:
        with sqlite3.connect(p) as c:
            for type_, data in c.execute("SELECT type, data FROM entries"):
                out.setdefault(type_, set()).update(json.loads(data))
    return out


def _check_declared(written: dict[str, set[str]]) -> None:
    undeclared = sorted(set(written) - set(et.REGISTRY))
    assert not undeclared, f"written but not declared in store/entry_types.py: {undeclared}"
    for t, keys in written.items():
        extra = keys - set(et.REGISTRY[t].keys)
        assert not extra, f"{t} written with data keys {sorted(extra)} its declaration does not list"


def _the_engine_walks(start, lib, store, clock) -> None:
    """One walk per kind of entry the bundled flow tests do not write: commands, actions from the bar,
    a resume, reviews, an abandoned call."""
    s = start()
    for name, params in (("block_collection", {"reason": "complaint"}), ("unblock_collection", {"reason": "ok"}),
                         ("record_dispute", {"reason": "Says it was paid"}), ("flag_capacity_doubt", {"reason": "x"}),
                         ("start_hold", {"days": 30, "reason": "time to sort post"}), ("end_hold", {"reason": "agreed"})):
        assert s.apply(Action(name, params)).ok, name
    s.apply(Next())
    s.apply(Interrupt("disclose"))
    s.apply(Consent("given"))
    s.apply(Back())
    s.apply(Note("Customer asked for letters in large print"))
    assert s.apply(Note("Customer has cancer", "health_disclosure")).ok  # under the consent: purpose, special
    s.render(Text("probe", {"en": "{{ account.name * (99999999 + 1) }}"}))  # over a limit: a flow_problem
    s.apply(Flag("The wording of this step is unclear"))
    s.apply(ChangeLanguage("da"))
    assert s.apply(Action("block_collection", {"reason": "crisis"})).ok  # a crisis protection, to review
    s.apply(EndCall("referred"))
    clock.advance(days=1)
    second = start()
    assert second.apply(Withdraw("health_disclosure")).ok
    second.apply(Next())
    CallSession.resume(lib, store, second.call_id).apply(EndCall("referred"))
    for kind, result in (("capacity", "confirmed"), ("crisis", "resolved"), ("dispute", "upheld")):
        record_review(store, kind, "A1", result, CARE, now=clock.now())
    start().apply(Next())
    clock.advance(days=3)
    assert close_abandoned(store, older_than=dt.timedelta(hours=1), now=clock.now())
    # The console's actions on an escalation (callguide/team/console.py builds them; team mode syncs them).
    from callguide.team.console import ServiceLevels, action_entry, item_from_entry

    alert = start()
    assert alert.apply(Action("alert_supervisor", {"reason": "walk"})).ok
    esc = next(e for e in store.iter_entries() if e.type == et.ESCALATION)
    item = item_from_entry(esc, "desk", ServiceLevels.load())
    for type_, extra in ((et.ESCALATION_ACKNOWLEDGED, {"role": "supervisor"}),
                         (et.ESCALATION_ASSIGNED, {"to": "bo", "to_name": "Bo Nielsen"}),
                         (et.ESCALATION_NOTE, {"text": "Called back"}), (et.ESCALATION_RESOLVED, {"note": "done"})):
        store.append(action_entry(item, type_, CARE, extra, clock.now()))
    # Team mode: a hold raised on another desktop reaches a running call (callguide/team/desktop.py).
    from callguide.store.base import AccountState
    from callguide.team.desktop import apply_protections

    elsewhere = AccountState("A1")
    elsewhere.holds = [{"days": 30, "until": "2099-01-01", "reason": "care team"}]
    assert apply_protections(start(), elsewhere) == ["hold"]
    # privacy: the retention schedule, then an erasure (the tombstone)
    later = clock.now() + dt.timedelta(days=3660)
    assert privacy.purge(store, today=later.date(), now=later)
    privacy.erase(store, "A1", "the customer asked for erasure", CARE, now=later)


def test_every_entry_type_the_engine_writes_is_declared_with_its_keys(start, lib, store, clock, db_path, tmp_path):
    real, _ = load_library([ROOT / "flows"])
    work = tmp_path / "flowtests"
    work.mkdir()
    for f in find_test_files([ROOT / "flows"]):
        assert all(r.ok for r in run_test_file(real, f, None, tmpdir=work)), f
    _the_engine_walks(start, lib, store, clock)
    written = _written(db_path, *sorted(work.glob("*.db")))
    _check_declared(written)
    # what is declared is written, but for the types only older journals hold
    assert sorted(set(et.REGISTRY) - set(written)) == sorted(et.LEGACY_ONLY_TYPES) == ["capacity_doubt_cleared"]


def _emitted_type_args() -> list[tuple[str, int, ast.expr]]:
    out = []
    for path in sorted((ROOT / "callguide").rglob("*.py")):
        if "qt" in path.parts:
            continue  # Qt's `emit` is a signal's
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name == "emit" and node.args:
                out.append((str(path.relative_to(ROOT)), node.lineno, node.args[0]))
            if name == "NewEntry":
                out += [(str(path.relative_to(ROOT)), node.lineno, k.value) for k in node.keywords if k.arg == "type"]
    return out


def test_the_engine_names_every_type_it_writes_by_its_declared_constant():
    passed_on = {"type_", "spec.entry_type"}  # the writers' own parameters, and a review's declared type
    found = _emitted_type_args()
    assert len(found) > 40
    for where, line, arg in found:
        if ast.unparse(arg) in passed_on:
            continue
        assert isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name) and arg.value.id == "et" \
            and getattr(et, arg.attr, None) in et.REGISTRY, f"{where}:{line}: {ast.unparse(arg)} is not an et constant"
    from callguide.engine.reviews import KINDS
    assert {k.entry_type for k in KINDS.values()} <= set(et.REGISTRY)


def test_the_journal_doc_lists_exactly_the_declared_types_and_their_keys():
    text = (ROOT / "docs" / "journal.md").read_text(encoding="utf-8")
    table = text.split("## Entry types and their data", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in table.splitlines():
        m = re.match(r"\| ((?:`[a-z_]+`(?: / )?)+)(?: \([^)]*\))? \| (.*) \| ([^|]*) \|$", line)
        if m:
            for t in re.findall(r"`([a-z_]+)`", m.group(1)):
                rows[t] = rows.get(t, "") + " " + m.group(2)
    assert sorted(rows) == sorted(et.REGISTRY)
    for t, cell in rows.items():
        missing = [k for k in et.REGISTRY[t].keys if f"`{k}" not in cell]
        assert not missing, f"docs/journal.md: the row of `{t}` does not name its keys {missing}"


def test_derived_lists_keep_their_on_disk_words():
    assert set(derive.PROTECTION_TYPES) == {
        "call_started", "call_ended", "outcome", "consent", "consent_withdrawn", "vulnerability", "disclosure",
        "hold_started", "hold_ended", "adjustment", "capacity_doubt", "capacity_review", "crisis", "crisis_review",
        "collection_blocked", "dispute", "dispute_review", "callback", "third_party", "erasure"}
    assert derive.LEGACY_STATE_TYPES == ("escalation",)
    assert derive.STATE_TYPES == derive.PROTECTION_TYPES + derive.LEGACY_STATE_TYPES
    assert len(set(derive.STATE_TYPES)) == len(derive.STATE_TYPES)
    from callguide.engine.summary import SUMMARY_TYPES
    assert set(SUMMARY_TYPES) == {
        "consent", "consent_withdrawn", "vulnerability", "disclosure", "adjustment", "hold_started", "hold_ended",
        "escalation", "capacity_doubt", "capacity_review", "crisis", "dispute", "arrangement", "third_party",
        "callback", "signpost", "sms_survey", "collection_blocked", "contact_reason", "outcome", "debrief_offered",
        "note", "blocked", "flow_problem"}
    for name, t in et.REGISTRY.items():
        assert getattr(et, name.upper()) == name == t.name and re.fullmatch(r"[a-z_]+", name)
        assert t.meaning.strip() and "\n" not in t.meaning
    assert set(et.AGENT_INPUT_TYPES) >= {"answer", "step_committed", "consent", "back", "note", "call_ended"}
    assert {"vulnerability", "answer", "note", "step_shown", "call_ended", "call_started"} <= set(et.SPECIAL_TYPES)


def test_redaction_follows_the_declarations():
    v = redact_data(et.VULNERABILITY, {"fields": {"condition": "asthma"}, "category": "health",
                                       "review_date": "2027-01-01", "consent": "health_disclosure"})
    assert v == {"fields": {"condition": "[redacted]"}, "category": "[redacted]", "review_date": "2027-01-01",
                 "consent": "health_disclosure"}
    a = redact_data(et.ANSWER, {"field": "condition", "value": ["a", "b"], "sensitivity": "special",
                                "input": {"cmd": "answer", "values": {"condition": "asthma"}}})
    assert a == {"field": "condition", "value": "[redacted]", "sensitivity": "special",
                 "input": {"cmd": "[redacted]", "values": {"condition": "[redacted]"}}}
    plain = {"field": "phone", "value": "123", "sensitivity": "none"}
    assert redact_data(et.ANSWER, plain) == plain
    assert et.sql(et.CALL_ENDED) == "'call_ended'"
    with pytest.raises(ValueError):
        et.sql("call_ended' OR '1")


def test_a_type_cannot_be_declared_twice_or_inconsistently():
    with pytest.raises(ValueError, match="twice"):
        et.declare("answer", "again", ("x",))
    with pytest.raises(ValueError, match="special_keys"):
        et.declare("made_up_type", "m", ("x",), sensitivity=et.SPECIAL)
    assert "made_up_type" not in et.REGISTRY

