"""A `flow_problem`'s reason can quote an answer (a trainer's mistake that only an answer reveals:
`signposts[impact]` says "'dict object' has no attribute '<the answer>'"). Its reason is sealed like
any text that can quote special-category data (`entry_types`: one declaration, read by
`sealing.sealed_keys`): the raw journal and its write-ahead log never hold the quoted value, and
withdrawing the consent the value was given under leaves the reason unreadable.
Real flows (one text edited), the real engine, a real SQLite journal."""

from __future__ import annotations

import shutil
from pathlib import Path

from callguide.engine.clock import FixedClock
from callguide.engine.commands import Answer, Consent, Next, Withdraw
from callguide.engine.localtime import ContactRules
from callguide.engine.session import Account, CallSession
from callguide.flow.loader import load_library
from callguide.store.sealing import Gone, is_sealed, sealed_keys
from callguide.store.sqlite import SQLiteJournal

ROOT = Path(__file__).resolve().parents[2]
ANY_TIME = ContactRules.load(ROOT / "tests" / "contact_rules_any_time.yaml")
SECRET = "Kemoterapi til marts, meget træt"
GUIDANCE = 'en: "Adjustments are kept whatever the consent answer'


def _library(tmp_path: Path):
    d = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", d, ignore=shutil.ignore_patterns("tests", "practice"))
    texas = d / "texas.yaml"
    text = texas.read_text(encoding="utf-8")
    assert GUIDANCE in text
    texas.write_text(text.replace(GUIDANCE, 'en: "{{ signposts[impact] }} Adjustments are kept whatever the '
                                            'consent answer', 1), encoding="utf-8")
    lib, diags = load_library([d])
    assert not [x for x in diags if x.severity == "error"], diags
    return lib


def _raw(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists())


def test_a_flow_problem_reason_quoting_an_answer_is_sealed(tmp_path):
    assert sealed_keys("flow_problem", {"what": "text", "reason": "x"})[0] == ("reason",)  # declared, one place
    db = tmp_path / "journal.db"
    store = SQLiteJournal.open(db)
    try:
        s = CallSession.start(_library(tmp_path), store, Account("FP-1", "Jo Bloggs", "UK", "en", "100"), "agent-7",
                              start_flow="texas", clock=FixedClock("2026-11-23T10:00:00+00:00", step_seconds=1),
                              contact_rules=ANY_TIME, auto_wrap_up=False)
        s.apply(Next())
        s.apply(Next())
        assert s.apply(Consent("given")).ok
        assert s.apply(Answer({"category": "health", "impact": SECRET})).ok
        assert s.apply(Next()).ok
        assert s.top.step_id == "ask-adjustments"
        problems = [e for e in store.call_entries(s.call_id) if e.type == "flow_problem"]
        assert len(problems) == 1
        raw = problems[0].data["reason"]
        assert is_sealed(raw) and raw["$sealed"]["p"] == ["health_disclosure"]  # it quotes the consented value
        assert SECRET in s.open_value(raw)  # the trainer still reads why, while the consent stands
        assert problems[0].data["where"].startswith("texas.yaml:")
        assert SECRET.encode() not in _raw(db)  # the raw .db and .db-wal: never the quoted value
        assert s.apply(Withdraw("health_disclosure")).ok
        assert isinstance(s.open_value(raw), Gone)  # withdrawn: the reason goes with the value it quoted
    finally:
        store.close()
    assert SECRET.encode() not in _raw(db)
