"""Key escrow (migration 0006): the care team reads what the customer consented to share with it.

A desktop seals special-category values under its own data keys (issue 10). Its sync deposits the
keys of the purposes `consent_scopes` admits to some reader (never the account's personal key) with
the entries that use them; the console opens the details with the keys its reader may read (row-level
security, through the reader's own connection). A withdrawal, wherever it was made, destroys the
escrowed copy when it reaches the team store. Real engine, real journals, real PostgreSQL, a real
connection as each role. (The world is test_console's: anna's desktop with a BLAKE, a BRUCE and a
TEXAS call, pushed.)
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from pathlib import Path

import psycopg
import pytest

from callguide.engine.clock import FixedClock
from callguide.engine.session import Account, CallSession
from callguide.flow.loader import load_library
from callguide.store.base import NewEntry
from callguide.store.postgres.connect import connect
from callguide.store.postgres.keys import Deposit, deposit_keys
from callguide.store.sealing import Gone
from callguide.store.sqlite import SQLiteJournal
from callguide.team.console import Console
from callguide.team.sync import TeamSync

from .conftest import TeamServer
from .test_console import Desk, World, make_world, rows

ROOT = Path(__file__).resolve().parents[2]
MARK = "Hospital ZQ-7731 stay"      # the customer's health detail, as the agent typed it
PURPOSE = "health_disclosure"


@pytest.fixture
def world(team: TeamServer, tmp_path: Path) -> World:
    return make_world(team, tmp_path)


@pytest.fixture(scope="module")
def lib():
    library, _ = load_library([ROOT / "flows"])
    return library


def texas_referred(lib, store: SQLiteJournal, clock: FixedClock, account: str, agent: str) -> CallSession:
    """TEXAS with the real engine: consent given, the health detail recorded, then the care referral
    (a warm transfer: an `escalation` to the care team)."""
    s = CallSession.start(lib, store, Account(account, "Jana Nováková", "CZ", lang="en"), agent,
                          start_flow="texas", clock=clock, auto_wrap_up=False)
    s.next()
    s.next()
    assert s.consent("given").ok
    assert s.answer({"category": "health", "impact": MARK}).ok
    s.next()
    s.answer({"adjustments_wanted": False})
    s.next()
    s.next()  # the vulnerability record
    assert s.interrupt("care-referral").ok
    s.next()
    assert s.answer({"referral_reason": "vulnerability"}).ok
    s.next()
    assert s.next("transfer").ok
    s.next()
    assert "escalation" in {r["type"] for r in s.records}
    return s


def test_the_care_team_reads_the_consented_detail_until_the_customer_withdraws(world: World, lib) -> None:
    path = world.tmp / "anna-texas.db"
    store = SQLiteJournal.open(path)
    clock = FixedClock("2026-11-24T10:00:00+00:00", step_seconds=1)  # a Tuesday, within the hours
    assert texas_referred(lib, store, clock, "ACC-T", "anna").end_call("referred").ok
    keys = store.sealer.keys
    kid, key = keys.live("ACC-T", PURPOSE)
    personal = [r["kid"] for r in keys.rows("ACC-T") if r["purpose"] == "personal"]
    assert personal, "the call sealed personal data under the account's personal key"
    sync = TeamSync(path, world.anna).start()
    carla = world.console(world.carla, "carla-t", window=dt.timedelta(days=36500))
    sam = world.console(world.sam, "sam-t", window=dt.timedelta(days=36500))
    try:
        assert sync.wait_synced(20), sync.status
        assert sync.keys_deposited == 1

        # The care team, connected as itself, reads the consented detail in plain text.
        assert ("ACC-T", "care-referral") in {(i.account_id, i.flow_id) for i in carla.worklist()}
        view = carla.account("ACC-T", dt.date(2026, 11, 24))
        assert [(c["category"], c["fields"]["impact"]) for c in view.consented] == [("health", MARK)]
        assert (view.withheld, view.sealed, view.gone) == (0, [], [])
        # The supervisor does not (the consent is for the care team), and is told so.
        sup = sam.account("ACC-T", dt.date(2026, 11, 24))
        assert sup.consented == [] and sup.withheld == 1 and sup.gone == []
        assert MARK not in str([r.data for r in sup.history])

        # The team store holds exactly the consented purpose's key; never the personal key; and the
        # key's bytes are nowhere in the journal's tables.
        with world.team.admin() as conn:
            held = conn.execute("SELECT kid, purpose, key FROM data_keys WHERE account_id = 'ACC-T'").fetchall()
            assert [(k, p, bytes(b)) for k, p, b in held] == [(kid, PURPOSE, key)]
            assert conn.execute("SELECT count(*) FROM data_keys WHERE purpose = 'personal' OR kid = ANY(%s)",
                                (personal,)).fetchone() == (0,)
            journal_text = conn.execute("SELECT coalesce(string_agg(data::text, ' '), '') FROM entries").fetchone()[0] \
                + conn.execute("SELECT coalesce(string_agg(data::text, ' '), '') FROM entry_details").fetchone()[0]
            for form in (key.hex(), base64.b64encode(key).decode(), base64.b64encode(key).decode().rstrip("=")):
                assert form not in journal_text
            assert MARK not in journal_text
            assert conn.execute("SELECT count(*) FROM entries WHERE position(%s in convert_to(data::text, 'UTF8')) > 0",
                                (key,)).fetchone() == (0,)

        # A desktop may not deposit the personal key, even its own (the server refuses, whatever the client).
        conn = connect(world.anna)
        try:
            with pytest.raises(psycopg.Error, match="personal key never leaves the desktop"):
                deposit_keys(conn, sync.desktop_id or "", [Deposit(personal[0], "ACC-T", "personal", b"\0" * 32,
                                                                   "2026-11-24T10:00:00Z")], world.team.target.schema)
        finally:
            conn.close()

        # The customer withdraws on a later call; the desktop destroys its key and syncs: the care team
        # reads "withdrawn on DATE" (its language), and the team store's copy is gone (the row NULL).
        clock.advance(days=1)
        later = CallSession.start(lib, store, Account("ACC-T", "Jana Nováková", "CZ", lang="en"), "anna",
                                  start_flow="texas", clock=clock, auto_wrap_up=False)
        assert later.withdraw_consent(PURPOSE).ok
        assert later.end_call("other").ok
        assert sync.wait_synced(20), sync.status
        view = carla.account("ACC-T", dt.date(2026, 11, 25))
        assert view.consented == [] and view.withheld == 0
        assert [(g["how"], str(g["on"])[:10]) for g in view.gone] == [("withdrawn", "2026-11-25")]
        assert str(Gone(view.gone[0]["how"], view.gone[0]["on"], "da")) == "trukket tilbage 25. november 2026"
        assert MARK not in str([r.data for r in view.history])
        with world.team.admin() as conn:
            assert conn.execute("SELECT key, how, destroyed::date FROM data_keys WHERE kid = %s", (kid,)).fetchone() \
                == (None, "withdrawn", dt.date(2026, 11, 25))
        assert rows(world.carla, "SELECT kid, key FROM data_keys WHERE account_id = 'ACC-T'") == [(kid, None)]
    finally:
        carla.close()
        sam.close()
        sync.stop()
        store.close()


def test_a_withdrawal_reaching_the_team_store_destroys_the_key_whoever_pushed_it(world: World) -> None:
    """ACC-V's key was deposited by anna's desktop; the customer withdraws on a call with ben, whose
    desktop never held that key: the team store destroys its copy when ben's entry arrives."""
    with world.team.admin() as conn:
        (kid, live), = conn.execute("SELECT kid, key IS NOT NULL FROM data_keys WHERE account_id = 'ACC-V'").fetchall()
    assert live
    carla = world.console(world.carla, "carla-v", window=dt.timedelta(days=36500))
    try:
        assert [c["fields"] for c in carla.account("ACC-V", dt.date(2026, 11, 22)).consented] == \
            [{"condition": "depression"}]
        ben = Desk(world.tmp / "ben.db", "ben", world.ben)
        ben.at = world.desk_a.at + dt.timedelta(hours=1)
        ben.call("ACC-V", ("consent_withdrawn", {"purpose": PURPOSE}, "texas", "withdraw"))
        ben.push()
        with world.team.admin() as conn:
            assert conn.execute("SELECT key, how FROM data_keys WHERE kid = %s", (kid,)).fetchone() == (None, "withdrawn")
        view = carla.account("ACC-V", dt.date(2026, 11, 22))
        assert view.consented == [] and [g["how"] for g in view.gone] == ["withdrawn"]
        # Another desktop, offline since before the withdrawal, deposits its own key for the purpose,
        # first used before the withdrawal: the team store stores it destroyed at once.
        late = Desk(world.tmp / "anna-laptop.db", "anna", world.anna)
        late.at = ben.at - dt.timedelta(minutes=30)
        late.call("ACC-V", ("vulnerability", {"fields": {"condition": "anxiety"}, "category": "mental_health",
                                              "review_date": "2027-02-01", "consent": PURPOSE}, "texas", "record"))
        late.push()
        with world.team.admin() as conn:
            assert conn.execute("SELECT count(*), count(key) FROM data_keys WHERE account_id = 'ACC-V'").fetchone() == (2, 0)
        late.journal.close()
    finally:
        carla.close()


def test_who_reads_and_changes_the_escrowed_keys(world: World) -> None:
    audrey = world.team.person("audrey", "auditor")
    rita = world.team.person("rita", "reviewer")
    # a consented record on an account nobody referred to the care team
    world.desk_a.call("ACC-N", ("consent", {"purpose": PURPOSE, "decision": "given", "wording_hash": "cd" * 32,
                                            "wording_lang": "en", "wording": "May I note that?"}, "texas", "consent"),
                      ("vulnerability", {"fields": {"condition": "grief"}, "category": "bereavement",
                                         "review_date": "2027-02-01", "consent": PURPOSE}, "texas", "record"))
    world.desk_a.push()
    with world.team.admin() as conn:
        every = dict(conn.execute("SELECT account_id, kid FROM data_keys").fetchall())
    assert set(every) == {"ACC-V", "ACC-N"}
    # The care team reads the keys of referred accounts only; auditors every row but never a key's bytes.
    assert [r[0] for r in rows(world.carla, "SELECT account_id FROM data_keys WHERE key IS NOT NULL")] == ["ACC-V"]
    assert sorted(r[0] for r in rows(audrey, "SELECT account_id FROM data_keys")) == ["ACC-N", "ACC-V"]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        rows(audrey, "SELECT key FROM data_keys")
    with Console(audrey, journal_path=world.tmp / "console-audrey.db") as audit:  # the console says so
        view = audit.account("ACC-V", dt.date(2026, 11, 22))
        assert view.consented == [] and view.withheld == 1 and view.sealed == []
    # Agents, supervisors, trainers and reviewers read nothing there.
    for who in (world.anna, world.ben, world.sam, world.tom, rita):
        for sql in ("SELECT * FROM data_keys", "SELECT kid, purpose FROM data_keys", "SELECT count(*) FROM data_keys"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                rows(who, sql)
    # Nobody writes the table directly, the care team and auditors included.
    for who in (world.anna, world.sam, world.carla, audrey, world.tom):
        for sql in ("INSERT INTO data_keys (kid, desktop_id, account_id, purpose, key, created)"
                    " VALUES ('x', 'd', 'ACC-V', 'health_disclosure', NULL, now())",
                    "UPDATE data_keys SET key = NULL", "DELETE FROM data_keys"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                rows(who, sql)
    # The owner and a superuser: a key only ever goes from live to destroyed, and no row is deleted.
    with world.team.admin() as conn:
        for sql in ("DELETE FROM data_keys", "TRUNCATE data_keys",
                    "UPDATE data_keys SET account_id = 'ACC-X' WHERE account_id = 'ACC-N'"):
            with pytest.raises(psycopg.Error, match="data_keys"):
                conn.execute(sql)
    # destroy_keys: erasure by a supervisor or the care team only; an agent withdraws her own desktop's.
    with pytest.raises(psycopg.Error, match="may not destroy keys by erasure"):
        rows(world.anna, "SELECT destroy_keys('ACC-N', NULL, 'erased', 'asked')")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        rows(world.tom, "SELECT destroy_keys('ACC-N', NULL, 'withdrawn', 'asked')")
    assert committed(world.ben, "SELECT destroy_keys('ACC-N', NULL, 'withdrawn', 'customer wrote in')") == [(0,)]
    assert committed(world.sam, "SELECT destroy_keys('ACC-N', NULL, 'erased', 'erasure request 17')") == [(1,)]
    with world.team.admin() as conn:
        assert conn.execute("SELECT key, how, reason FROM data_keys WHERE kid = %s", (every["ACC-N"],)).fetchone() == \
            (None, "erased", "erasure request 17 (by sam)")
        with pytest.raises(psycopg.Error, match="only be destroyed"):  # a tombstone is never revived
            conn.execute("UPDATE data_keys SET key = %s, destroyed = NULL, how = NULL WHERE kid = %s",
                         (b"\1" * 32, every["ACC-N"]))
    # The sync of a desktop never deposits into another person's desktop.
    conn = connect(world.ben)
    try:
        with pytest.raises(psycopg.Error, match="belongs to anna"):
            deposit_keys(conn, _desktop_of(world), [Deposit(uuid.uuid4().hex[:16], "ACC-V", PURPOSE, b"\2" * 32,
                                                            "2026-11-22T09:00:00Z")], world.team.target.schema)
    finally:
        conn.close()


def committed(who, sql: str) -> list[tuple]:
    conn = connect(who, autocommit=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _desktop_of(world: World) -> str:
    with world.team.admin() as conn:
        return conn.execute("SELECT desktop_id FROM desktops WHERE owner = 'anna' LIMIT 1").fetchone()[0]


def test_new_entries_without_consent_scope_deposit_nothing(world: World) -> None:
    """A purpose no reader is admitted to (consent_scopes) is never escrowed."""
    world.desk_a.call("ACC-W", ("consent", {"purpose": "call_recording", "decision": "given", "wording_hash": "cd" * 32,
                                            "wording_lang": "en", "wording": "May I record?"}, "texas", "consent"),
                      ("vulnerability", {"fields": {"condition": "low mood"}, "category": "mental_health",
                                         "review_date": "2027-02-01", "consent": "call_recording"}, "texas", "record"))
    world.desk_a.journal.append(NewEntry("escalation", "x-" + uuid.uuid4().hex, "ACC-W", "anna", "texas", "ab" * 32,
                                         "refer", {"kind": "care_team", "reason": "referred"}, world.desk_a.tick()))
    world.desk_a.push()
    with world.team.admin() as conn:
        assert conn.execute("SELECT count(*) FROM data_keys WHERE account_id = 'ACC-W'").fetchone() == (0,)
    carla = world.console(world.carla, "carla-w", window=dt.timedelta(days=36500))
    try:
        view = carla.account("ACC-W", dt.date(2026, 11, 22))
        assert view.consented == [] and view.withheld == 1  # consented, but not for the care team
    finally:
        carla.close()


def test_an_erasure_or_a_purge_reaching_the_team_store_destroys_the_escrowed_keys(world: World) -> None:
    """An erasure from an agent's desktop destroys that desktop's keys of the account (`privacy erase`
    needs a supervisor or the care team, whose erasure reaches every desktop's); a purge, the keys of
    its purposes on that desktop. The care team then reads "erased on DATE"."""
    other = Desk(world.tmp / "anna-laptop.db", "anna", world.anna)  # another desktop with its own key
    other.call("ACC-V", ("vulnerability", {"fields": {"condition": "anxiety"}, "category": "mental_health",
                                           "review_date": "2027-02-01", "consent": PURPOSE}, "texas", "record"))
    other.push()
    with world.team.admin() as conn:
        assert conn.execute("SELECT count(key) FROM data_keys WHERE account_id = 'ACC-V'").fetchone() == (2,)
    world.desk_a.call("ACC-V", ("erasure", {"reason": "customer asked", "by": "anna", "role": "agent", "keys": 2,
                                            "purposes": [PURPOSE, "personal"]}, "texas", "erase"))
    world.desk_a.push()
    with world.team.admin() as conn:
        assert dict(conn.execute("SELECT desktop_id, coalesce(how, 'live') FROM data_keys"
                                 " WHERE account_id = 'ACC-V'").fetchall()) == \
            {world.desk_a.desktop_id(): "erased", other.desktop_id(): "live"}
    other.call("ACC-V", ("retention_purge", {"rule": "special-24m", "reason": "retention", "keys": 1,
                                             "purposes": [PURPOSE], "last_contact": "2026-11-22", "by": "retention"},
                         "texas", "purge"))
    other.push()
    with world.team.admin() as conn:
        assert sorted(r[0] for r in conn.execute("SELECT how FROM data_keys WHERE account_id = 'ACC-V'")) == \
            ["erased", "purged"]
    carla = world.console(world.carla, "carla-e", window=dt.timedelta(days=36500))
    try:
        view = carla.account("ACC-V", dt.date(2026, 11, 22))
        assert view.consented == [] and sorted(g["how"] for g in view.gone) == ["erased", "purged"]
        assert str(Gone("erased", view.gone[0]["on"], "en")).startswith("erased on ")
    finally:
        carla.close()
        other.journal.close()
