"""The key escrow's catch-up: keys of entries a desktop pushed before the team store escrowed their
purpose (before migration 0006, or before `consent_scopes` admitted it) are deposited afterwards by
the sync, with their first use's journal time; a key the desktop destroyed meanwhile arrives as its
tombstone and is never revived; a second connect reads no entry (`<journal>.escrow`); a failing
catch-up leaves the push working. Real journals, real PostgreSQL, a real connection as each role.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from callguide.store.postgres.connect import TeamTarget
from callguide.team.console import Console
from callguide.team.sync import TeamSync

from .conftest import TeamServer
from .test_console import BLAKE, VULNERABLE, Desk

PURPOSE = "health_disclosure"
WITHDRAW = ("consent_withdrawn", {"purpose": PURPOSE}, "texas", "withdraw")


def _scope(team: TeamServer, admitted: bool) -> None:
    with team.admin() as conn:
        if admitted:
            conn.execute("INSERT INTO consent_scopes (purpose, reader) VALUES (%s, 'care_team') ON CONFLICT DO NOTHING",
                         (PURPOSE,))
        else:
            conn.execute("DELETE FROM consent_scopes WHERE purpose = %s", (PURPOSE,))


def _held(team: TeamServer) -> dict[str, tuple]:
    with team.admin() as conn:
        return {r[0]: r[1:] for r in conn.execute(
            "SELECT account_id, kid, key IS NOT NULL, created, how, destroyed FROM data_keys ORDER BY account_id")}


def _sync(desk: Desk, *, catchup_batch: int = 2000, **kw: float) -> TeamSync:
    s = TeamSync(desk.path, desk.who, **kw)  # type: ignore[arg-type]
    s.catchup_batch = catchup_batch
    s.start()
    assert s.wait_synced(20), s.status
    assert s.wait_caught_up(20), s.catchup_error
    return s


@pytest.fixture
def people(team: TeamServer) -> tuple[TeamTarget, TeamTarget]:
    return team.person("anna", "agent", team="north"), team.person("carla", "care_team")


def test_keys_pushed_before_their_purpose_was_admitted_are_deposited_at_the_next_connect(
        team: TeamServer, people: tuple[TeamTarget, TeamTarget], tmp_path: Path) -> None:
    anna, carla = people
    _scope(team, admitted=False)  # the team store escrows nothing yet
    desk = Desk(tmp_path / "anna.db", "anna", anna)
    desk.call("ACC-V", *VULNERABLE)
    desk.call("ACC-B", *BLAKE)  # nothing sealed under an admitted purpose
    desk.call("ACC-G", *VULNERABLE)
    # ACC-G withdraws on a later call: the desktop destroys its key (as the engine does) before any catch-up
    desk.call("ACC-G", WITHDRAW)
    withdrawn_at = desk.at.isoformat(timespec="milliseconds")
    assert [g["purpose"] for g in desk.journal.sealer.keys.destroy("ACC-G", [PURPOSE], "withdrawn",
                                                                  "consent withdrawn", withdrawn_at)] == [PURPOSE]
    first_use = {e.account_id: e.ts for e in reversed(list(desk.journal.iter_entries(0))) if e.type == "vulnerability"}
    first = _sync(desk)
    first.stop()
    assert first.keys_deposited == 0 and _held(team) == {}

    console = Console(carla, journal_path=tmp_path / "console-carla.db", window=dt.timedelta(days=36500))
    try:
        assert console.account("ACC-V", dt.date(2026, 11, 22)).withheld == 1  # not for the care team yet
        # The care team is admitted to the purpose: it may read the detail, but the key is not there
        # ("sealed on the agent's desktop; its key is not in the team store") until the desktop
        # connects again and catches up.
        _scope(team, admitted=True)
        before = console.account("ACC-V", dt.date(2026, 11, 22))
        assert before.consented == [] and len(before.sealed) == 1 and before.withheld == 0
        second = _sync(desk)
        second.stop()
        assert second.catchup_deposited == 2 and second.catchup_read == 14
        held = _held(team)
        assert set(held) == {"ACC-V", "ACC-G"}
        kid_v, live_v, created_v, how_v, _ = held["ACC-V"]
        assert (live_v, how_v) == (True, None)
        assert created_v == dt.datetime.fromisoformat(first_use["ACC-V"])  # the first use's journal time
        kid_g, live_g, created_g, how_g, destroyed_g = held["ACC-G"]
        assert (live_g, how_g) == (False, "withdrawn") and destroyed_g == dt.datetime.fromisoformat(withdrawn_at)
        assert created_g == dt.datetime.fromisoformat(first_use["ACC-G"])
        keys = desk.journal.sealer.keys
        assert keys.get(kid_v)[0] is not None and keys.get(kid_g)[0] is None

        # The care team, through its own connection, reads the consented detail now.
        view = console.account("ACC-V", dt.date(2026, 11, 22))
        assert [c["fields"] for c in view.consented] == [{"condition": "depression"}]
        assert view.sealed == [] and view.withheld == 0
        gone = console.account("ACC-G", dt.date(2026, 11, 22))
        assert gone.consented == [] and [g["how"] for g in gone.gone] == ["withdrawn"]
        assert str(gone.gone[0]["on"])[:10] == withdrawn_at[:10]

        # A third connect reads no entry and deposits nothing.
        third = _sync(desk)
        third.stop()
        assert (third.catchup_read, third.catchup_deposited, third.keys_deposited) == (0, 0, 0)

        # Without the progress file the catch-up reads the journal again, deposits nothing new and
        # never revives the tombstone.
        progress = desk.path.with_name(desk.path.name + ".escrow")
        assert progress.exists() and "care" not in progress.read_text() and "ACC-" not in progress.read_text()
        progress.unlink()
        again = _sync(desk)
        again.stop()
        assert again.catchup_read == 14 and again.catchup_deposited == 0
        assert _held(team) == held
    finally:
        console.close()
        desk.journal.close()


def test_a_second_connect_reads_no_entry_of_a_large_journal(
        team: TeamServer, people: tuple[TeamTarget, TeamTarget], tmp_path: Path) -> None:
    anna, _carla = people
    _scope(team, admitted=False)
    desk = Desk(tmp_path / "anna.db", "anna", anna)
    for i in range(300):
        desk.call(f"ACC-{i}", *VULNERABLE)
    _sync(desk).stop()
    _scope(team, admitted=True)
    catchup = _sync(desk, catchup_batch=250)  # several rounds (and progress saved after each)
    catchup.stop()
    assert catchup.catchup_deposited == 300 and catchup.catchup_read == 1200
    t0 = time.perf_counter()
    second = _sync(desk)
    second.stop()
    seconds = time.perf_counter() - t0
    assert second.catchup_read == 0 and second.catchup_deposited == 0
    # New calls pushed afterwards carry their keys with them; the next connect still reads nothing.
    desk.call("ACC-NEW", *VULNERABLE)
    third = _sync(desk)
    third.stop()
    assert third.keys_deposited == 1 and third.catchup_read == 0
    fourth = _sync(desk)
    fourth.stop()
    assert fourth.catchup_read == 0
    with team.admin() as conn:
        assert conn.execute("SELECT count(*), count(key) FROM data_keys").fetchone() == (301, 301)
    assert seconds < 10
    desk.journal.close()


def test_a_purpose_admitted_while_the_sync_is_connected_is_caught_up_without_a_reconnect(
        team: TeamServer, people: tuple[TeamTarget, TeamTarget], tmp_path: Path) -> None:
    anna, _carla = people
    _scope(team, admitted=False)
    desk = Desk(tmp_path / "anna.db", "anna", anna)
    desk.call("ACC-V", *VULNERABLE)
    sync = TeamSync(desk.path, anna, heartbeat=0.2).start()
    try:
        assert sync.wait_synced(20), sync.status
        assert sync.wait_caught_up(20) and sync.keys_deposited == 0
        _scope(team, admitted=True)
        deadline = time.monotonic() + 20
        while sync.catchup_deposited < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sync.catchup_deposited == 1 and set(_held(team)) == {"ACC-V"}
        # Taken away again while connected, a new call's key is skipped by the server; admitted once
        # more, the catch-up deposits it (the progress went back to where the purpose was last seen).
        _scope(team, admitted=False)
        deadline = time.monotonic() + 20
        while sync._escrow and time.monotonic() < deadline:  # the heartbeat noticed
            time.sleep(0.05)
        desk.call("ACC-W", *VULNERABLE)
        assert sync.wait_synced(20)
        assert set(_held(team)) == {"ACC-V"}
        _scope(team, admitted=True)
        deadline = time.monotonic() + 20
        while sync.catchup_deposited < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert set(_held(team)) == {"ACC-V", "ACC-W"}
    finally:
        sync.stop()
        desk.journal.close()


def test_a_failing_catch_up_leaves_the_push_working_and_is_retried_at_the_next_connect(
        team: TeamServer, people: tuple[TeamTarget, TeamTarget], tmp_path: Path) -> None:
    anna, _carla = people
    _scope(team, admitted=False)
    desk = Desk(tmp_path / "anna.db", "anna", anna)
    desk.call("ACC-V", *VULNERABLE)
    _sync(desk).stop()
    _scope(team, admitted=True)
    fn = "deposit_keys(text, text[], text[], text[], bytea[], text[], text[], text[], text[])"
    with team.admin() as conn:
        conn.execute(f"REVOKE EXECUTE ON FUNCTION {fn} FROM {team.target.role('agent')}")
    sync = TeamSync(desk.path, anna).start()
    try:
        assert sync.wait_synced(20) and sync.wait_caught_up(20)
        assert sync.catchup_error and "permission denied" in sync.catchup_error
        desk.call("ACC-B", *BLAKE)  # nothing to deposit: the push goes on
        assert sync.wait_synced(20) and sync.status.state == "synced"
        with team.admin() as conn:
            assert conn.execute("SELECT count(*) FROM entries WHERE account_id = 'ACC-B'").fetchone()[0] == 4
    finally:
        sync.stop()
    assert _held(team) == {}
    with team.admin() as conn:
        conn.execute(f"GRANT EXECUTE ON FUNCTION {fn} TO {team.target.role('agent')}")
    retry = _sync(desk)
    retry.stop()
    assert retry.catchup_error is None and retry.catchup_deposited == 1 and set(_held(team)) == {"ACC-V"}
    desk.journal.close()
