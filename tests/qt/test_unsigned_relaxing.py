"""A capacity review written into the journal file without its key (the attack docs/journal.md
"Relaxing entries are signed" closes) is not counted, and the agent's banner says so, in the call's
language: the doubt stays on the strip with a NOT COUNTED line beside it, never a silent "reviewed".
Real window, engine, flows and SQLite journal; the attacker's tools are sqlite3 and compute_hash."""

from __future__ import annotations

import sqlite3

import pytest

from callguide.store import compute_hash
from callguide.store.base import canonical_json

pytestmark = pytest.mark.qt

COUNTRY = {"en": "UK", "da": "DK", "cs": "CZ"}
NOT_COUNTED = {"en": "is not counted", "da": "tælles ikke med", "cs": "se nepočítá"}


def forge_review(db_path, account_id: str) -> int:
    c = sqlite3.connect(db_path)
    seq, head = c.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    data = {"result": "confirmed", "meaning": "x", "by": "cara", "name": "Cara", "role": "care_team", "note": "ok"}
    fields = {"ts": "2026-11-02T09:00:00Z", "type": "capacity_review", "call_id": "review-1",
              "account_id": account_id, "agent": "mallory", "flow_id": None, "flow_hash": None, "step_id": None,
              "data": data}
    c.execute("INSERT INTO entries VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
              (seq + 1, fields["ts"], "capacity_review", "review-1", account_id, "mallory", None, None, None,
               canonical_json(data), head, compute_hash(head, fields)))
    c.commit()
    c.close()
    return seq + 1


@pytest.mark.parametrize("lang", ["en", "da", "cs"])
def test_a_forged_review_is_not_counted_and_the_banner_says_so(library, store, db_path, open_window, shots_dir,
                                                                lang):
    from callguide.engine.commands import Action, EndCall
    from callguide.engine.session import Account, CallSession

    first = CallSession.start(library, store, Account("A-900", "Jo Bloggs", COUNTRY[lang], lang, "100"), "agent-7",
                              start_flow="wrap-up", auto_wrap_up=False)
    assert first.apply(Action("flag_capacity_doubt", {"reason": "Confused about dates"})).ok
    assert first.apply(EndCall("referred")).ok
    seq = forge_review(db_path, "A-900")
    d = open_window(account_id="A-900", country=COUNTRY[lang], lang=lang)
    assert d.session.state.capacity_doubt  # before: the forged review closed it, and payment was allowed
    kinds = dict(d.w.banner.lines())
    assert "capacity" in kinds and "unsigned" in kinds, kinds
    assert NOT_COUNTED[lang] in kinds["unsigned"] and f"{seq}" in kinds["unsigned"], kinds["unsigned"]
    d.qtbot.wait(30)
    assert d.w.grab().save(str(shots_dir / f"unsigned_review_{lang}.png"))
