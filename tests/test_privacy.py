"""Issue 10: special-category data is never stored in clear; withdrawal and erasure destroy the keys
(crypto-shredding); retention, erasure and subject access on the command line.

Every test runs the real engine over the bundled flows on a real journal file, and reads the raw
bytes of the journal and its data keys (.db, -wal, -shm and a `VACUUM INTO` copy)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from callguide.cli import main
from callguide.engine.clock import FixedClock
from callguide.engine.commands import Note
from callguide.engine.session import Account, CallSession
from callguide.flow.loader import load_library
from callguide.identity import Person
from callguide.store import entry_types as et
from callguide.store import privacy
from callguide.store.audit import audit_journal
from callguide.store.sealing import is_sealed, keys_path
from callguide.store.sqlite import SQLiteJournal

ROOT = Path(__file__).resolve().parents[1]
MARK = "Hospital ZQ-7731 stay"          # the customer's health detail, as the agent typed it
RENDERED = "(health);"                   # the care referral's summary quoting the consented category
CARE = Person("bo", "Bo Nielsen", frozenset({"care_team"}))
AGENT = Person("al", "Al Agent", frozenset({"agent"}))
PURPOSE = "health_disclosure"


@pytest.fixture(scope="module")
def lib():
    library, _ = load_library([ROOT / "flows"])
    return library


@pytest.fixture
def db(tmp_path):
    return tmp_path / "journal.db"


@pytest.fixture
def clock():
    return FixedClock("2026-11-24T10:00:00+00:00", step_seconds=1)  # a Tuesday, within the hours


def texas(lib, store, clock, account="TX-1", lang="en"):
    """Consent given, the health detail recorded (answers and the vulnerability record), then the
    care referral, whose summary step quotes the category."""
    s = CallSession.start(lib, store, Account(account, "Jana Nováková", "CZ", lang=lang), "agent-7",
                          start_flow="texas", clock=clock, auto_wrap_up=False)
    s.next()
    s.next()
    assert s.consent("given").ok
    assert s.answer({"category": "health", "impact": MARK}).ok
    s.next()
    s.answer({"adjustments_wanted": False})
    s.next()
    s.next()  # the vulnerability record
    assert "vulnerability" in {r["type"] for r in s.records}
    assert s.interrupt("care-referral").ok
    return s


def raw(db: Path, tmp_path: Path) -> dict[str, bytes]:
    """Every byte the journal and its keys hold on disk, plus a VACUUM INTO copy of each."""
    out = {}
    for base in (db, keys_path(db)):
        for suffix in ("", "-wal", "-shm"):
            p = Path(f"{base}{suffix}")
            if p.exists():
                out[p.name] = p.read_bytes()
        copy = tmp_path / f"vacuumed-{base.name}"
        copy.unlink(missing_ok=True)
        conn = sqlite3.connect(base)
        conn.execute("VACUUM INTO ?", (str(copy),))
        conn.close()
        out[copy.name] = copy.read_bytes()
    return out


def leaks(files: dict[str, bytes], *needles: bytes) -> list[str]:
    return [f"{name}: {n!r}" for name, data in files.items() for n in needles if n in data]


def said(s: CallSession, type_: str) -> list[dict]:
    return [{k: s.open_value(v) for k, v in r["data"].items()} for r in s.records if r["type"] == type_]


# ---------------------------------------------------------------------- §1: never in clear

def test_no_special_category_plaintext_anywhere_in_the_journal(lib, db, clock, tmp_path):
    store = SQLiteJournal.open(db)
    s = texas(lib, store, clock)
    # the agent sees everything, in clear, on this call
    assert RENDERED in s.view().guidance + s.view().say
    assert said(s, et.VULNERABILITY)[0]["fields"]["impact"] == MARK
    s.end_call("referred")
    # the next call: its call_started keeps the history the agent was shown
    nxt = CallSession.start(lib, store, Account("TX-1", "Jana Nováková", "CZ"), "agent-7", start_flow="texas",
                            clock=clock, auto_wrap_up=False)
    assert any("health" in str(v.get("category")) for v in nxt.history.vulnerabilities)
    entries = store.account_entries("TX-1")
    # the five places of the issue: answer (value and input), vulnerability, call_ended summary,
    # the next call_started's history, rendered step text — none holds the detail in clear
    text = json.dumps([e.data for e in entries], ensure_ascii=False)
    assert MARK not in text and RENDERED not in text and "Nováková" not in text
    answers = [e for e in entries if e.type == et.ANSWER and e.data["field"] == "impact"]
    assert answers and is_sealed(answers[0].data["value"]) and answers[0].data["value"]["$sealed"]["p"] == [PURPOSE]
    started = [e for e in entries if e.type == et.CALL_STARTED][1]
    assert "$ref" in json.dumps(started.data["history"]["vulnerabilities"])  # a reference, not a copy
    ended = next(e for e in entries if e.type == et.CALL_ENDED)
    assert "$ref" in json.dumps(ended.data["summary"])
    nxt.end_call("other")
    store.close()
    assert not leaks(raw(db, tmp_path), MARK.encode(), RENDERED.encode(), "Nováková".encode())
    assert audit_journal(db).ok


# ---------------------------------------------------------------------- same-call withdrawal

def test_withdrawn_on_the_same_call_is_never_written_again_and_leaves_no_bytes(lib, db, clock, tmp_path):
    store = SQLiteJournal.open(db)
    s = texas(lib, store, clock, lang="cs")
    key = store.sealer.keys.live("TX-1", PURPOSE)[1]
    assert s.withdraw_consent(PURPOSE).ok
    # the wrap-up shows the detail as withdrawn, in the call's language, never the detail
    summary = s.summary()
    vul = summary["items"][et.VULNERABILITY][0]
    assert vul["fields"]["impact"] == "odvoláno 24. listopadu 2026"
    assert MARK not in json.dumps(summary, ensure_ascii=False)
    s.end_call("referred")
    ended = store.call_entries(s.call_id)[-1]
    assert ended.type == et.CALL_ENDED and MARK not in json.dumps(ended.data)
    withdrawn = [e for e in store.call_entries(s.call_id) if e.type == et.CONSENT_WITHDRAWN][0]
    assert withdrawn.data["shredded"] == 1
    store.close()
    files = raw(db, tmp_path)
    assert not leaks(files, MARK.encode(), RENDERED.encode(), key)
    assert audit_journal(db).ok  # the chain hashes ciphertext: destroying the key changes nothing


def test_a_resume_after_the_withdrawal_shows_it_withdrawn_and_never_crashes(lib, db, clock):
    store = SQLiteJournal.open(db)
    s = texas(lib, store, clock, lang="da")
    assert s.withdraw_consent(PURPOSE).ok
    call_id = s.call_id
    store.close()  # the app was killed
    store = SQLiteJournal.open(db)
    again = CallSession.resume(lib, store, call_id, clock=clock)
    assert again.top.flow.id == "care-referral"
    summary = again.summary()
    assert summary["items"][et.VULNERABILITY][0]["fields"]["impact"].startswith("trukket tilbage")
    assert again.end_call("referred").ok
    store.close()


# ---------------------------------------------------------------------- §2: a later call, the CLI

def test_withdrawal_on_a_later_call_shreds_what_earlier_calls_captured(lib, db, clock, tmp_path):
    store = SQLiteJournal.open(db)
    first = texas(lib, store, clock)
    first.end_call("referred")
    key = store.sealer.keys.live("TX-1", PURPOSE)[1]
    clock.advance(days=2)
    later = CallSession.start(lib, store, Account("TX-1", "Jana Nováková", "CZ", lang="en"), "agent-7",
                              start_flow="texas", clock=clock, auto_wrap_up=False)
    assert [c.purpose for c in later.consents_in_force()] == [PURPOSE]
    assert later.withdraw_consent(PURPOSE).ok
    assert not later.consents_in_force()
    later.end_call("other")
    # the earlier call's vulnerability record reads as withdrawn, in the export too
    rep = privacy.subject_access(store, "TX-1")
    vul = next(e for e in rep["entries"] if e["type"] == et.VULNERABILITY)
    assert vul["data"]["fields"]["impact"]["destroyed"] == "withdrawn"
    assert vul["data"]["fields"]["impact"]["on"].startswith("2026-11-26")
    assert MARK not in json.dumps(rep, ensure_ascii=False)
    # the register no longer lists it for the next call
    assert not store.account_state("TX-1", dt.date(2026, 11, 27)).vulnerabilities
    store.close()
    assert not leaks(raw(db, tmp_path), MARK.encode(), key)
    assert audit_journal(db).ok


def test_cli_withdraw_erase_export_purge_report(lib, db, clock, tmp_path, monkeypatch):
    people = tmp_path / "people.yaml"
    people.write_text("people:\n  bo: {name: Bo Nielsen, roles: [care_team]}\n  al: {name: Al, roles: [agent]}\n",
                      encoding="utf-8")
    monkeypatch.setenv("CALLGUIDE_PEOPLE", str(people))
    store = SQLiteJournal.open(db)
    texas(lib, store, clock).end_call("referred")
    texas(lib, store, clock, account="TX-2").end_call("referred")
    texas(lib, store, clock, account="TX-3").end_call("referred")
    keys = {a: store.sealer.keys.live(a, PURPOSE)[1] for a in ("TX-1", "TX-2", "TX-3")}
    personal = store.sealer.keys.live("TX-2", "personal")[1]
    store.close()
    run = CliRunner().invoke

    # withdrawal from the CLI (the customer wrote in): an agent may not, the care team may
    refused = run(main, ["privacy", "withdraw", "--account", "TX-1", "--purpose", PURPOSE, "--by", "al", "--db", str(db)])
    assert refused.exit_code == 2 and "care team" in refused.output and "Traceback" not in refused.output
    ok = run(main, ["privacy", "withdraw", "--account", "TX-1", "--purpose", PURPOSE, "--by", "bo", "--db", str(db)])
    assert ok.exit_code == 0, ok.output
    assert "1 key(s) destroyed" in ok.output
    again = run(main, ["privacy", "withdraw", "--account", "TX-1", "--purpose", PURPOSE, "--by", "bo", "--db", str(db)])
    assert again.exit_code == 2 and "no consent" in again.output

    # erasure: the reason stays readable in the tombstone, so health details in it are refused
    # (nothing erased); then every key of the account goes; a tombstone; audit verify still passes
    health = run(main, ["privacy", "erase", "--account", "TX-2", "--reason", "customer has cancer", "--by", "bo",
                        "--db", str(db)])
    assert health.exit_code == 2 and "not erased" in health.output and "Traceback" not in health.output
    with SQLiteJournal.open(db) as j:
        assert not any(e.type == et.ERASURE for e in j.account_entries("TX-2"))
    erased = run(main, ["privacy", "erase", "--account", "TX-2", "--reason", "Art. 17 request", "--by", "bo",
                        "--db", str(db)])
    assert erased.exit_code == 0, erased.output
    assert "2 key(s) destroyed" in erased.output
    assert run(main, ["audit", "verify", "--db", str(db)]).exit_code == 0
    with SQLiteJournal.open(db) as j:  # the erasure ends every consent and what it covered
        st = j.account_state("TX-2", dt.date(2026, 11, 25))
        assert not st.consents_in_force and not st.vulnerabilities
        assert st.consents[PURPOSE]["decision"] == "erased"

    # subject access: marked where destroyed, readable HTML, escaped
    out = run(main, ["privacy", "export", "--account", "TX-2", "--db", str(db)])
    assert out.exit_code == 0
    rep = json.loads(out.output)
    assert "Nováková" not in out.output and MARK not in out.output
    start = next(e for e in rep["entries"] if e["type"] == et.CALL_STARTED)
    assert start["data"]["account"]["name"]["destroyed"] == "erased"
    assert any(e["type"] == et.ERASURE and e["data"]["reason"] == "Art. 17 request" for e in rep["entries"])
    page = run(main, ["privacy", "export", "--account", "TX-3", "--format", "html", "--db", str(db)])
    assert page.exit_code == 0 and page.output.startswith("<!DOCTYPE html>")
    assert MARK in page.output and "Nováková" in page.output  # TX-3 is untouched: everything readable
    assert "<script" not in page.output.lower()
    erased_page = run(main, ["privacy", "export", "--account", "TX-2", "--format", "html", "--lang", "da",
                             "--db", str(db)])
    today = dt.date.today()
    assert erased_page.exit_code == 0
    assert f'<span class="gone">slettet {today.day}. ' in erased_page.output  # "slettet 25. november 2026"
    assert "Nováková" not in erased_page.output
    assert "Hvad CallGuide har registreret om sag TX-2" in erased_page.output and "Krypteringsnøgler" in erased_page.output

    # purge: nothing due today; a year and more after the last contact the special-category key goes
    dry = run(main, ["privacy", "purge", "--dry-run", "--db", str(db)])
    assert dry.exit_code == 0 and "nothing is due" in dry.output
    late = run(main, ["privacy", "purge", "--today", "2027-12-01", "--db", str(db)])
    assert late.exit_code == 0, late.output
    assert "shredded: account TX-3, health_disclosure (rule special-category-12-months" in late.output
    assert "Art. 9" in late.output
    # the report: given, withdrawn, erased, purged per purpose and month
    rows = json.loads(run(main, ["privacy", "report", "--json", "--db", str(db)]).output)
    row = next(r for r in rows if r["purpose"] == PURPOSE and r["month"] == "2026-11")
    assert (row["given"], row["withdrawn"], row["erased"]) == (3, 1, 1)
    assert sum(r["purged"] for r in rows if r["purpose"] == PURPOSE) == 1
    assert audit_journal(db).ok
    files = raw(db, tmp_path)
    assert not leaks(files, *keys.values(), personal)
    assert not leaks(files, MARK.encode())


def test_bad_retention_file_is_one_line(tmp_path, db, lib, clock):
    bad = tmp_path / "retention.yaml"
    bad.write_text("rules:\n  - id: x\n    sensitivity: special\n    months: twelve\n    reason: r\n", encoding="utf-8")
    SQLiteJournal.open(db).close()
    res = CliRunner().invoke(main, ["privacy", "purge", "--retention", str(bad), "--db", str(db)])
    assert res.exit_code == 2
    assert f"{bad}:2: rule x: months is a whole number" in res.output and "Traceback" not in res.output


# ---------------------------------------------------------------------- the auditors' export

def test_the_auditors_export_covers_every_type_and_holds_no_special_category_value(lib, db, clock, tmp_path):
    store = SQLiteJournal.open(db)
    s = texas(lib, store, clock)
    assert s.apply(Note("Customer mentioned " + MARK, PURPOSE)).ok  # a note saved under the consent
    s.end_call("referred")
    CallSession.start(lib, store, Account("TX-1", "Jana Nováková", "CZ"), "agent-7", start_flow="texas",
                      clock=clock, auto_wrap_up=False).end_call("other")
    store.close()
    res = CliRunner().invoke(main, ["audit", "export", "--account", "TX-1", "--db", str(db)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert {e["type"] for e in out} >= {et.ANSWER, et.VULNERABILITY, et.STEP_SHOWN, et.CALL_ENDED, et.CALL_STARTED,
                                        et.NOTE, et.CONSENT}
    assert MARK not in res.output and RENDERED not in res.output
    # what quotes no consented value is shown: the rendered text of the steps, the customer's name
    start = next(e for e in out if e["type"] == et.CALL_STARTED)
    assert start["data"]["account"]["name"] == "Jana Nováková"
    # the care summary's text quotes the consented detail: redacted; the flow's own words are shown
    assert any("[redacted]" in (e["data"]["say"], e["data"]["guidance"]) for e in out if e["type"] == et.STEP_SHOWN)
    note = next(e for e in out if e["type"] == et.NOTE)
    assert note["data"]["text"] == "[redacted]"
    shown = [e for e in out if e["type"] == et.STEP_SHOWN and e["data"]["say"] not in ("", "[redacted]")]
    assert shown, "rendered step text reaches the auditors"


# ---------------------------------------------------------------------- the other doors

def test_a_legal_basis_in_the_schedule_keeps_the_details_and_the_journal_says_why(lib, db, clock, tmp_path,
                                                                                   monkeypatch):
    schedule = tmp_path / "retention.yaml"
    schedule.write_text("rules: []\nwithdrawal_exceptions:\n  health_disclosure: \"FCA CONC 7.2: kept for the"
                        " open complaint\"\n", encoding="utf-8")
    monkeypatch.setenv("CALLGUIDE_RETENTION", str(schedule))
    store = SQLiteJournal.open(db)
    s = texas(lib, store, clock)
    assert s.withdraw_consent(PURPOSE).ok
    entry = [e for e in store.call_entries(s.call_id) if e.type == et.CONSENT_WITHDRAWN][0]
    assert entry.data["kept"] == "FCA CONC 7.2: kept for the open complaint" and "shredded" not in entry.data
    assert said(s, et.VULNERABILITY)[0]["fields"]["impact"] == MARK  # kept, readable
    store.close()


def test_an_erased_accounts_unfinished_call_is_refused_in_one_line(lib, db, clock):
    store = SQLiteJournal.open(db)
    s = texas(lib, store, clock)
    privacy.erase(store, "TX-1", "Art. 17 request", CARE)
    with pytest.raises(Exception) as err:
        CallSession.resume(lib, store, s.call_id, clock=clock)
    assert "cannot be resumed" in str(err.value) and "erased on" in str(err.value)
    assert "\n" not in str(err.value)
    with pytest.raises(privacy.PrivacyError, match="needs the supervisor or care team role"):
        privacy.erase(store, "TX-1", "again", AGENT)
    store.close()
    assert audit_journal(db).ok


def test_consents_expire_in_the_report(lib, db, clock):
    store = SQLiteJournal.open(db)
    texas(lib, store, clock).end_call("referred")
    from callguide.store.base import NewEntry

    store.append(NewEntry("consent", "X", "TX-9", "agent-7", None, None, None,
                          {"purpose": "sms_survey", "decision": "given", "expires": "2026-12-01"},
                          "2026-11-24T10:00:00Z"))
    rows = privacy.report(store, today=dt.date(2027, 1, 1))
    assert {(r["month"], r["purpose"], r["expired"]) for r in rows if r["expired"]} == {("2026-12", "sms_survey", 1)}
    store.close()


def _where(s):
    """Where a call is and what it holds: every frame's step, the values, the consents."""
    return ([(f.flow.id, f.step_id) for f in s.stack], {k: str(v) for k, v in s.values.items()},
            dict(s.consents), dict(s.consent_decisions), s.state.as_namespace())


def test_a_resume_after_the_withdrawal_is_where_the_call_was(lib, db, clock):
    """The model-based proof found it: the answers sealed under the withdrawn consent were skipped on
    replay, so the Next they allowed was refused ("required") and TEXAS resumed a step behind, without
    the answer after it (adjustments_wanted)."""
    store = SQLiteJournal.open(db)
    s = texas(lib, store, clock, lang="da")
    assert s.withdraw_consent(PURPOSE).ok
    before = _where(s)
    assert before[1] == {"adjustments_wanted": "False"}
    store.close()  # killed
    store = SQLiteJournal.open(db)
    again = CallSession.resume(lib, store, s.call_id, clock=clock)
    assert _where(again) == before
    store.close()


def test_a_killed_call_resumes_where_it_was_after_a_withdrawal_on_another_call(lib, db, clock):
    store = SQLiteJournal.open(db)
    s = texas(lib, store, clock)
    before = _where(s)
    store.close()  # killed mid-call, consent still in force
    store = SQLiteJournal.open(db)
    other = CallSession.start(lib, store, Account("TX-1", "Jana Nováková", "CZ", lang="en"), "agent-8",
                              start_flow="texas", clock=clock, auto_wrap_up=False)
    assert other.withdraw_consent(PURPOSE).ok
    other.end_call("other")
    again = CallSession.resume(lib, store, s.call_id, clock=clock)
    frames, values = _where(again)[:2]
    assert frames == before[0]  # the same steps in every frame
    assert values["adjustments_wanted"] == "False"
    assert str(values["impact"]).startswith("withdrawn on")  # given then, gone now: said so, never the text
    assert MARK not in json.dumps({k: str(v) for k, v in values.items()})
    assert again.end_call("referred").ok
    store.close()
