"""JSON outputs never print a sealed envelope or its ciphertext: `history --json` opens values the
way the text does (a destroyed one as {"destroyed": how, "on": date}), and `privacy export` and
`audit export` go through the same helper (`privacy.readable`). Real flows, real engine, a real
SQLite journal with its keys file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from callguide.cli import main
from callguide.engine.commands import Action, Withdraw
from callguide.engine.localtime import ContactRules
from callguide.engine.session import Account, CallSession
from callguide.flow.loader import load_library
from callguide.store.privacy import readable
from callguide.store.sqlite import SQLiteJournal

ROOT = Path(__file__).resolve().parent.parent
ANY_TIME = ContactRules.load(ROOT / "tests" / "contact_rules_any_time.yaml")
IMPACT = "Chemotherapy until March"


def _journal(db: Path) -> None:
    lib, _ = load_library([ROOT / "flows"])
    store = SQLiteJournal.open(db)
    try:
        def call(flow: str) -> CallSession:
            return CallSession.start(lib, store, Account("J-1", "Jo Bloggs", "UK", None, "100"), "agent-7",
                                     start_flow=flow, contact_rules=ANY_TIME)
        s = call("texas")
        s.next(); s.next(); s.consent("given")  # noqa: E702
        s.answer({"category": "health", "impact": IMPACT})
        s.next()
        s.answer({"adjustments_wanted": True, "contact_channel": "email", "contact_times": "Mornings only"})
        s.next(); s.next(); s.next()  # noqa: E702
        assert s.apply(Action("flag_capacity_doubt", {"reason": f"Forgets what was said; {IMPACT}"})).ok
        assert s.apply(Action("record_dispute", {"reason": "Never had this loan"})).ok
        s.end_call("referred")
        later = call("call-opening")
        assert later.apply(Withdraw("health_disclosure")).ok  # the capacity doubt's reason quoted the detail
        later.end_call("other")
    finally:
        store.close()


def _ciphertexts(db: Path) -> list[str]:
    out: list[str] = []

    def walk(v):
        if isinstance(v, dict):
            if isinstance(v.get("$sealed"), dict):
                out.append(v["$sealed"]["c"])
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    with sqlite3.connect(db) as conn:
        for (data,) in conn.execute("SELECT data FROM entries"):
            walk(json.loads(data))
    return out


def _run(*args: str) -> str:
    res = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def test_json_outputs_open_values_and_never_print_an_envelope(tmp_path):
    db = tmp_path / "journal.db"
    _journal(db)
    secrets = _ciphertexts(db)
    assert secrets  # the journal holds sealed values
    text = _run("history", "--account", "J-1", "--db", str(db))
    out = _run("history", "--account", "J-1", "--db", str(db), "--json")
    exports = [_run("privacy", "export", "--account", "J-1", "--db", str(db)),
               _run("audit", "export", "--db", str(db))]
    for printed in [out, *exports]:
        assert '"$sealed"' not in printed
        assert not any(c[:24] in printed for c in secrets)
    h = json.loads(out)
    assert "withdrawn on" in text  # the text says what happened to the quoted detail ...
    assert h["capacity_doubts"][0]["reason"]["destroyed"] == "withdrawn"  # ... and so does the JSON
    assert h["disputes"][0]["reason"] == "Never had this loan"  # opened, as the text shows it
    assert h["adjustments"] == {"contact_channel": "email", "contact_times": "Mornings only"}
    assert IMPACT not in out


def test_a_value_still_sealed_is_said_plainly():
    envelope = {"$sealed": {"k": ["k1"], "p": ["personal"], "n": "bm9uY2U=", "c": "Y2lwaGVydGV4dA=="}}
    assert readable({"reason": envelope, "fields": {"a": envelope, "b": 1}, "$sealed": ["reason"],
                     "list": [envelope]}) == {"reason": "sealed", "fields": {"a": "sealed", "b": 1},
                                              "list": ["sealed"]}
