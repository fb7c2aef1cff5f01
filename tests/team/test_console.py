"""The console's core against a real PostgreSQL: the queue of escalations (supervisors), the care
team's worklist with only the consented details, acknowledge/assign/note/resolve journalled in the
console's own stream, the agent told within 2 s, specialist reviews that close a protection for
every later call, service levels, and who may read and write the console's entries (migration
0004), with real connections as each role."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from callguide.store.base import NewEntry
from callguide.store.postgres.cache import ProtectionCache
from callguide.store.postgres.connect import TeamTarget, connect
from callguide.store.postgres.console import ACTION_TYPES
from callguide.store.postgres.journal import PostgresJournal
from callguide.store.sqlite import SQLiteJournal
from callguide.team.acks import AckWatcher, acknowledgements
from callguide.team.console import Console, ConsoleError, ServiceLevels, counts
from callguide.team.notify import TeamNotices
from callguide.team.protections import TeamProtections
from callguide.team.sync import TeamSync

from .conftest import TeamServer

T0 = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)


class Desk:
    """An agent's desktop: a real local journal and its sync."""

    def __init__(self, path: Path, agent: str, who: TeamTarget) -> None:
        self.path, self.agent, self.who = path, agent, who
        self.journal = SQLiteJournal.open(path)
        self.at = T0

    def tick(self) -> str:
        self.at += dt.timedelta(seconds=1)
        return self.at.isoformat(timespec="milliseconds")

    def e(self, type_: str, call: str, account: str, data: dict, *, flow: str = "call-opening",
          step: str | None = None) -> NewEntry:
        if type_ == "vulnerability" and self.journal.sealer is not None:  # as the engine seals a record:
            data = self.journal.sealer.seal_data(type_, account, data, [data["consent"]])  # under its consent
        return NewEntry(type_, call, account, self.agent, flow, "ab" * 32, step, data, self.tick())

    def call(self, account: str, *extras: tuple[str, dict, str, str]) -> str:
        call = uuid.uuid4().hex
        self.journal.append(self.e("call_started", call, account, {
            "account": {"id": account, "name": "Jo Bloggs", "country": "UK", "lang": "en", "balance": "100.00",
                        "currency": "GBP"}, "start_flow": "call-opening", "lang": "en", "practice": False}))
        for type_, data, flow, step in extras:
            self.journal.append(self.e(type_, call, account, data, flow=flow, step=step))
        return call

    def desktop_id(self) -> str | None:
        from callguide.team.desktop import desktop_id

        return desktop_id(self.journal)

    def push(self) -> None:
        s = TeamSync(self.path, self.who).start()
        assert s.wait_synced(20), s.status
        s.stop()


BLAKE = (("crisis", {"reason": "emergency", "review_date": "2026-12-22"}, "blake", "danger"),
         ("escalation", {"kind": "emergency", "number": "999", "service": "Emergency services", "country": "UK",
                         "reason": ""}, "blake", "danger"),
         ("escalation", {"kind": "supervisor", "reason": "BLAKE: immediate danger"}, "blake", "danger"))
BRUCE = (("capacity_doubt", {"reason": "BRUCE: doubt remains"}, "bruce", "doubt"),
         ("escalation", {"kind": "care_team", "reason": "BRUCE: doubt remains"}, "bruce", "refer"))
VULNERABLE = (("consent", {"purpose": "health_disclosure", "decision": "given", "wording_hash": "cd" * 32,
                           "wording_lang": "en", "wording": "May I note that?"}, "texas", "consent"),
              ("vulnerability", {"fields": {"condition": "depression"}, "category": "mental_health",
                                 "review_date": "2027-02-01", "consent": "health_disclosure"}, "texas", "record"),
              ("escalation", {"kind": "care_team", "reason": "TEXAS: disclosure"}, "texas", "refer"))


@dataclass
class World:
    team: TeamServer
    anna: TeamTarget
    ben: TeamTarget
    sam: TeamTarget
    carla: TeamTarget
    tom: TeamTarget
    desk_a: Desk
    blake_call: str
    bruce_call: str
    texas_call: str
    tmp: Path

    def console(self, who: TeamTarget, name: str, **kw: object) -> Console:
        return Console(who, journal_path=self.tmp / f"console-{name}.db", **kw)  # type: ignore[arg-type]


@pytest.fixture
def world(team: TeamServer, tmp_path: Path) -> World:
    return make_world(team, tmp_path)


def make_world(team: TeamServer, tmp_path: Path) -> World:
    """anna's desktop with a BLAKE, a BRUCE and a TEXAS call, pushed (shared with test_key_escrow)."""
    anna = team.person("anna", "agent", team="north")
    ben = team.person("ben", "agent", team="south")
    sam = team.person("sam", "supervisor", team="north")
    carla = team.person("carla", "care_team")
    tom = team.person("tom", "trainer")
    with team.admin() as conn:
        conn.execute("UPDATE people SET name = 'Sam Supervisor' WHERE person_id = 'sam'")
    desk = Desk(tmp_path / "anna.db", "anna", anna)
    blake = desk.call("ACC-B", *BLAKE)
    bruce = desk.call("ACC-C", *BRUCE)
    texas = desk.call("ACC-V", *VULNERABLE)
    desk.push()
    return World(team, anna, ben, sam, carla, tom, desk, blake, bruce, texas, tmp_path)


def test_the_bundled_service_levels_and_bad_files_say_where(tmp_path: Path) -> None:
    levels = ServiceLevels.load()
    assert levels.levels["blake"].acknowledge == 60 and levels.levels["blake"].loud
    assert levels.level_of("supervisor", "blake").name == "blake"
    assert levels.level_of("emergency", "blake").name == "emergency"
    assert levels.level_of("care_team", "texas").name == "care_team"
    assert levels.level_of("something_new", None).loud  # unknown kinds are never quiet
    cases = {
        "levels: [1, 2]\n": "sl.yaml:1: `levels` must map",
        "levels:\n  blake:\n    acknowledge: soon\n    resolve: 60\n    roles: [supervisor]\n":
            "sl.yaml:3: level 'blake': `acknowledge` must be a whole number",
        "levels:\n  blake:\n    acknowledge: 60\n    resolve: 30\n    roles: [supervisor]\n":
            "sl.yaml:4: level 'blake': `resolve` comes before",
        "levels:\n  blake:\n    acknowledge: 60\n    resolve: 90\n    roles: [agent]\n":
            "sl.yaml:5: level 'blake': roles are supervisor or care_team, not 'agent'",
        "levels:\n  blake:\n    acknowledge: 60\n    resolve: 90\n    roles: [supervisor]\n    lould: true\n":
            "sl.yaml:6: level 'blake': unknown key 'lould'",
        "levels: {a: [\n": "sl.yaml:2: not valid YAML",
        "open_days: 0\nlevels:\n  blake: {acknowledge: 60, resolve: 90, roles: [supervisor]}\n":
            "sl.yaml:1: `open_days` must be a whole number of days from 1 to 3650",
    }
    for text, want in cases.items():
        path = tmp_path / "sl.yaml"
        path.write_text(text)
        with pytest.raises(ConsoleError) as e:
            ServiceLevels.load(path)
        msg = str(e.value).replace(str(tmp_path) + "/", "")
        assert msg.startswith(want), msg
        assert "\n" not in msg


def test_the_supervisor_queue_acknowledge_and_the_agent_is_told_within_2_s(world: World) -> None:
    clock = [T0 + dt.timedelta(seconds=30)]
    sam = world.console(world.sam, "sam", clock=lambda: clock[0], window=dt.timedelta(days=36500))
    try:
        items = sam.queue()
        assert [(i.kind, i.level.name, i.account_id, i.agent_name, i.flow_id, i.step_id) for i in items] == [
            ("emergency", "emergency", "ACC-B", "anna", "blake", "danger"),
            ("supervisor", "blake", "ACC-B", "anna", "blake", "danger"),
            ("care_team", "care_team", "ACC-C", "anna", "bruce", "refer"),
            ("care_team", "care_team", "ACC-V", "anna", "texas", "refer")]
        assert all(i.status == "new" for i in items) and [i.alarm() for i in items] == [True, True, False, False]
        # service levels: 30 s in, nothing overdue; 2 minutes in, both BLAKE items are.
        assert counts(items, clock[0]).overdue == 0 and counts(items, clock[0]).alarms == 2
        later = T0 + dt.timedelta(minutes=2)
        assert [i.overdue(later) for i in items] == ["acknowledge", "acknowledge", None, None]
        assert counts(items, later).overdue == 2

        # The agent's desktop follows her BLAKE call.
        with PostgresJournal(world.anna) as anna_pj:
            notices = TeamNotices(world.anna, channels=("escalations",)).start()
            assert notices.wait_connected(10)
            got: list[tuple[float, object]] = []
            watcher = AckWatcher(anna_pj, notices, world.blake_call, "ACC-B",
                                 lambda a: got.append((time.monotonic(), a))).start()
            assert watcher.seen == []
            t0 = time.monotonic()
            result = sam.acknowledge(items[1])
            assert result.synced and result.entry.type == "escalation_acknowledged"
            deadline = time.monotonic() + 2.0
            while not got and time.monotonic() < deadline:
                time.sleep(0.02)
            assert got, "the agent was not told within 2 s"
            when, ack = got[0]
            assert when - t0 < 2.0
            assert (ack.action, ack.name, ack.role, ack.kind) == ("acknowledged", "Sam Supervisor", "supervisor",
                                                                  "supervisor")
            watcher.stop()
            notices.stop()

        # The queue reads it back; the second acknowledgement is refused; assign, note, resolve.
        items = sam.queue()
        blake_alert = next(i for i in items if i.ref == result.entry.data["ref"])
        assert blake_alert.status == "acknowledged" and blake_alert.acknowledged.name == "Sam Supervisor"
        assert not blake_alert.alarm() and blake_alert.overdue(later) is None
        with pytest.raises(ConsoleError, match="already acknowledged by Sam Supervisor"):
            sam.acknowledge(blake_alert)
        assert sam.assign(blake_alert, "sam").synced
        with pytest.raises(ConsoleError, match="cannot take a blake item"):
            sam.assign(blake_alert, "anna")
        with pytest.raises(ConsoleError, match="not a person"):
            sam.assign(blake_alert, "nobody")
        with pytest.raises(ConsoleError, match="needs some text"):
            sam.note(blake_alert, "   ")
        assert sam.note(blake_alert, "Called the customer's GP as agreed").synced
        assert sam.resolve(blake_alert, "Ambulance attended").synced
        done = next(i for i in sam.queue() if i.ref == blake_alert.ref)
        assert done.status == "resolved" and done.assigned.to == "sam"
        assert [n.text for n in done.notes] == ["Called the customer's GP as agreed"]
        assert done.resolved.text == "Ambulance attended"
        with pytest.raises(ConsoleError, match="was resolved by Sam Supervisor"):
            sam.resolve(done)
        # The console's stream is a desktop stream like any other: chained, owned by sam.
        assert sam.local.verify().ok
    finally:
        sam.close()

    # Who reads the console's entries: anna (her call: not the note), not ben, not the trainer.
    with PostgresJournal(world.anna) as pj:
        assert [a.action for a in acknowledgements(pj, world.blake_call)] == ["acknowledged", "assigned", "resolved"]
    with PostgresJournal(world.ben) as pj:
        assert acknowledgements(pj, world.blake_call) == []
    for who in (world.ben, world.tom):
        assert rows(who, "SELECT count(*) FROM entries WHERE type = ANY(%s)", list(ACTION_TYPES)) == [(0,)]
    assert rows(world.anna, "SELECT count(*) FROM entries WHERE type = 'escalation_note'") == [(0,)]
    # The care team reads console entries only on the accounts referred to it (ACC-B was not); the
    # auditor reads them all.
    assert rows(world.carla, "SELECT count(*) FROM entries WHERE type = ANY(%s)", list(ACTION_TYPES)) == [(0,)]
    audrey = world.team.person("audrey", "auditor")
    assert rows(audrey, "SELECT count(*) FROM entries WHERE type = ANY(%s)", list(ACTION_TYPES)) == [(4,)]
    # Nobody changes them, the owner included.
    with world.team.admin() as conn, pytest.raises(psycopg.Error, match="append-only"):
        conn.execute("DELETE FROM entries WHERE type = 'escalation_acknowledged'")


def rows(who: TeamTarget, sql: str, *params: object) -> list[tuple]:
    conn = connect(who)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_the_care_team_worklist_consented_details_and_the_review_closes_the_doubt(world: World) -> None:
    carla = world.console(world.carla, "carla", window=dt.timedelta(days=36500))
    sam = world.console(world.sam, "sam", window=dt.timedelta(days=36500))
    try:
        work = carla.worklist()
        assert [(i.account_id, i.flow_id) for i in work] == [("ACC-C", "bruce"), ("ACC-V", "texas")]
        # The care team does not see the emergency queue (not referred to it).
        assert {i.kind for i in carla.queue()} == {"care_team"}
        # The details are sealed on the agent's desktop under the consent's key, escrowed in the team
        # store (0006): the care team reads them; the supervisor does not (the consent is for the care
        # team), and is told so, never "no consent".
        view = carla.account("ACC-V", dt.date(2026, 11, 22))
        assert [(c["category"], c["fields"]) for c in view.consented] == [("mental_health", {"condition": "depression"})]
        assert (view.withheld, view.sealed, view.gone) == (0, [], [])
        sup_view = sam.account("ACC-V", dt.date(2026, 11, 22))
        assert sup_view.consented == [] and sup_view.withheld == 1 and sup_view.gone == []
        assert "depression" not in str([r.data for r in sup_view.history])
        # The doubt on ACC-C is open; a supervisor may not close it, nor may anyone review ACC-V's.
        doubt = carla.account("ACC-C", dt.date(2026, 11, 22))
        assert doubt.open_doubt and [h["until"] for h in doubt.state.holds] == []
        with pytest.raises(ConsoleError, match="needs the care team role; Sam Supervisor has supervisor"):
            sam.record_review("capacity", "ACC-C", "confirmed")
        with pytest.raises(ConsoleError, match="no open capacity doubt"):
            carla.record_review("capacity", "ACC-V", "confirmed")
        item = work[0]
        assert carla.acknowledge(item).entry.data["role"] == "care_team"
        result = carla.record_review("capacity", "ACC-C", "confirmed", "Specialist call: understands the plan")
        assert result.synced and result.entry.type == "capacity_review"
        assert carla.resolve(item, "Capacity confirmed").synced
        assert not carla.account("ACC-C", dt.date(2026, 11, 22)).open_doubt
        assert carla.worklist() == [work[1]]
    finally:
        carla.close()
        sam.close()
    # Every later call on the account, any agent: the doubt is closed by the review.
    with PostgresJournal(world.ben) as pj:
        read = TeamProtections(SQLiteJournal.open(world.tmp / "ben.db"), pj,
                               ProtectionCache(world.tmp / "ben-cache.db")).read("ACC-C", dt.date(2026, 11, 22))
    assert read.source == "team" and read.state.capacity_doubts == []
    assert [r["result"] for r in read.state.capacity_reviews] == ["confirmed"]


def test_console_entries_and_reviews_only_from_the_roles_that_may_write_them(world: World) -> None:
    # Only supervisors and the care team open a console.
    for who in (world.anna, world.tom):
        with pytest.raises(ConsoleError, match="for supervisors and the care team"):
            world.console(who, "x")
    carla = world.console(world.carla, "carla", window=dt.timedelta(days=36500))
    sam = world.console(world.sam, "sam", window=dt.timedelta(days=36500))
    try:
        emergency = next(i for i in sam.queue() if i.kind == "emergency")
        assert not carla.may_act(emergency)
        with pytest.raises(ConsoleError, match="may not act on a emergency item"):
            carla.acknowledge(emergency)
    finally:
        carla.close()

    # An agent's desktop cannot forge an acknowledgement of her own escalation, nor close a
    # protection with a review: the team store refuses the batch (and keeps nothing of it).
    desk = world.desk_a
    forged = desk.e("escalation_acknowledged", world.blake_call, "ACC-B",
                    {"ref": emergency.ref, "ref_hash": emergency.ref_hash, "kind": "emergency", "by": "anna",
                     "name": "anna", "role": "supervisor"})
    desk.journal.append(forged)
    s = TeamSync(desk.path, world.anna).start()
    deadline = time.monotonic() + 20
    while s.status.state != "refused" and time.monotonic() < deadline:
        time.sleep(0.05)
    state, error = s.status.state, s.status.error or ""
    s.stop()
    assert state == "refused" and "anna may not write escalation_acknowledged" in error, error
    assert rows(world.sam, "SELECT count(*) FROM entries WHERE type = 'escalation_acknowledged'") == [(0,)]

    # A review pushed by an agent's desktop is refused too (another desktop: the forged one is stuck).
    ben_desk = Desk(world.tmp / "ben.db", "ben", world.ben)
    ben_desk.journal.append(ben_desk.e("capacity_review", "review-x", "ACC-C",
                                       {"result": "confirmed", "meaning": "", "by": "ben", "name": "ben",
                                        "role": "care_team", "note": ""}))
    refused = TeamSync(ben_desk.path, world.ben).start()
    deadline = time.monotonic() + 20
    while refused.status.state != "refused" and time.monotonic() < deadline:
        time.sleep(0.05)
    error = refused.status.error or ""
    refused.stop()
    assert "may not record a capacity_review" in error

    # A supervisor's console entry naming an escalation the store does not hold as written: refused.
    try:
        fake = next(i for i in sam.queue() if i.kind == "supervisor")
        from dataclasses import replace

        bad = replace(fake, ref_hash="00" * 32)
        entry = sam._append(NewEntry("escalation_acknowledged", bad.call_id, bad.account_id, "sam", None, None, None,
                                     {"ref": bad.ref, "ref_hash": bad.ref_hash, "kind": "supervisor", "by": "sam",
                                      "name": "Sam Supervisor", "role": "supervisor"}, desk.tick()))
        assert not sam._pushed(entry)
        assert "does not hold as written" in (sam.sync.status.error or "")
    finally:
        sam.close()


def test_the_console_commands_say_one_line(world: World) -> None:
    from click.testing import CliRunner

    from callguide.cli import main

    def run(who: TeamTarget, *args: str) -> object:
        return CliRunner().invoke(main, ["console", "--db", who.url, "--schema", who.schema, "--role-prefix",
                                         who.prefix, "--journal", str(world.tmp / f"cli-{who.url[-6:]}.db"), *args])

    out = run(world.anna, "queue")
    assert out.exit_code == 2 and out.output.strip() == \
        "Error: the console is for supervisors and the care team; anna has agent"
    out = run(world.sam, "queue", "--json")
    assert out.exit_code == 0, out.output
    import json

    refs = {i["kind"]: i["ref"] for i in json.loads(out.output)}
    out = run(world.sam, "ack", "nope/1")
    assert out.exit_code == 2 and out.output.strip().startswith("Error: no escalation nope/1 in your queue")
    out = run(world.carla, "ack", refs["care_team"])
    assert out.exit_code == 0 and "acknowledged care_team on account" in out.output, out.output
    out = run(world.carla, "ack", refs["care_team"])
    assert out.exit_code == 2 and out.output.strip() == "Error: already acknowledged by carla"
    out = run(world.carla, "review", "capacity", "--account", "ACC-V", "--result", "confirmed")
    assert out.exit_code == 2 and out.output.strip() == "Error: Account ACC-V has no open capacity doubt to review."
    bad = TeamTarget("postgresql://nobody@127.0.0.1:1/none", world.sam.schema, world.sam.prefix)
    out = run(bad, "queue")
    assert out.exit_code == 2 and len(out.output.strip().splitlines()) == 1 and "cannot be reached" in out.output


def test_resolved_items_leave_after_the_window_open_ones_after_open_days(world: World) -> None:
    sam = world.console(world.sam, "sam", window=dt.timedelta(days=36500))
    try:
        alert = next(i for i in sam.queue() if i.kind == "supervisor")
        sam.resolve(alert, "Handled on the floor")
    finally:
        sam.close()
    for days, want in ((30, ["emergency", "care_team", "care_team"]), (100, [])):
        later = world.console(world.sam, f"sam{days}", window=dt.timedelta(days=1),
                              clock=lambda d=days: T0 + dt.timedelta(days=d))
        try:
            assert [i.kind for i in later.queue()] == want, days
        finally:
            later.close()
