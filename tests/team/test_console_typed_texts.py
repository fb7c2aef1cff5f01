"""The typed-text rule at the console's doors (docs/team.md, "Typed texts"): what a supervisor or the
care team types (an escalation's note, a resolution, a specialist review's note, a hold decision's
reason) follows the agent's rule (`policy.typed_text`, the trainers' word lists). Without the consent
in force a text that may hold health details is refused and nothing is written (an escalation's
note: written, its text held back); with it, the text is sealed under that consent (its key escrowed
for the care team, destroyed by a withdrawal); a plain text passes. The Console API and the CLI
(click's CliRunner), against a real PostgreSQL and real SQLite journals; the raw bytes are read."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from callguide.store.postgres.connect import TeamTarget
from callguide.store.sealing import (
    LEGACY_REASON_HELD_BACK,
    REASON_HELD_BACK,
    held_back_text,
    is_held_back,
    is_sealed,
    purposes_of,
)
from callguide.team.console import Console, ConsoleError

from .test_console import T0, World, make_world

HEALTH = "Customer has cancer and is on chemo"
PLAIN = "Called back, the plan is agreed"
NOW = T0 + dt.timedelta(minutes=5)


@pytest.fixture
def world(team, tmp_path: Path) -> World:
    w = make_world(team, tmp_path)
    # ACC-C (no consent) and ACC-V (health consent in force): a hold and an open capacity doubt each
    for account, flow in (("ACC-C", "bruce"), ("ACC-V", "texas")):
        w.desk_a.call(account, ("hold_started", {"days": 30, "until": "2027-01-01", "reason": "recovery paused"},
                                flow, "hold"),
                      ("capacity_doubt", {"reason": "doubt remains"}, flow, "doubt"))
    w.desk_a.push()
    return w


def console(world: World, who: TeamTarget, name: str) -> Console:
    return world.console(who, name, window=dt.timedelta(days=36500), clock=lambda: NOW)


def raw(path: Path) -> bytes:
    """Every byte of a SQLite journal on disk (its write-ahead log too)."""
    wal = Path(f"{path}-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def team_rows(world: World, account: str, type_: str) -> list[str]:
    """The team store's raw rows (entries and their details) of that type, as text."""
    with world.team.admin() as conn:
        got = conn.execute("SELECT e.data::text || coalesce(d.data::text, '') FROM entries e LEFT JOIN entry_details d"
                           " USING (desktop_id, seq) WHERE e.account_id = %s AND e.type = %s ORDER BY e.at",
                           (account, type_)).fetchall()
    return [r[0] for r in got]


def item(con: Console, account: str, kind: str = "care_team"):
    return next(i for i in con.queue() if i.account_id == account and i.kind == kind)


def test_without_consent_a_health_text_is_refused_at_every_door_and_nothing_is_written(world: World) -> None:
    carla = console(world, world.carla, "carla")
    try:
        referral = item(carla, "ACC-C")
        before = carla.local.count()
        refused = (lambda: carla.resolve(referral, HEALTH),
                   lambda: carla.end_hold("ACC-C", HEALTH),
                   lambda: carla.record_review("capacity", "ACC-C", "confirmed", HEALTH))
        for door in refused:
            with pytest.raises(ConsoleError) as e:
                door()
            assert e.value.code == "text_sensitive" and e.value.params["account"] == "ACC-C"
            assert str(e.value) == ("not saved: this text may hold health or life-event details and no consent for "
                                    "health disclosure is in force on account ACC-C; write it without them")
            assert "cancer" not in str(e.value)  # the refusal never quotes the text
        assert carla.local.count() == before  # nothing written
        for type_ in ("escalation_resolved", "hold_ended", "capacity_review"):
            assert team_rows(world, "ACC-C", type_) == []
        state = carla.account("ACC-C").state
        assert state.holds and state.capacity_doubts  # nothing was done either
        assert b"cancer" not in raw(carla.journal_path) and b"chemo" not in raw(carla.journal_path)
        # A plain text passes at the same doors.
        assert carla.record_review("capacity", "ACC-C", "confirmed", PLAIN).sealed_under is None
        assert carla.end_hold("ACC-C", PLAIN).synced
        done = carla.resolve(referral, PLAIN)
        assert done.synced and done.sealed_under is None and not done.held_back
        assert [i.resolved.text for i in carla.queue() if i.ref == referral.ref] == [PLAIN]
    finally:
        carla.close()


def test_an_escalation_note_is_never_refused_its_health_text_is_held_back(world: World) -> None:
    sam = console(world, world.sam, "sam")
    try:
        alert = item(sam, "ACC-B", "supervisor")  # BLAKE: no consent on the account
        result = sam.note(alert, HEALTH)
        assert result.synced and result.held_back and result.sealed_under is None
        note = next(i for i in sam.queue() if i.ref == alert.ref).notes[-1]
        assert note.text == REASON_HELD_BACK and is_held_back(note.text)
        assert held_back_text(note.text, "da") == ("begrundelsen er tilbageholdt: den kan indeholde "
                                                   "helbredsoplysninger uden samtykke")
        assert b"cancer" not in raw(sam.journal_path) and b"chemo" not in raw(sam.journal_path)
        assert not any("cancer" in r for r in team_rows(world, "ACC-B", "escalation_note"))
        assert sam.note(alert, PLAIN).synced
        assert [n.text for n in next(i for i in sam.queue() if i.ref == alert.ref).notes] == [REASON_HELD_BACK, PLAIN]
    finally:
        sam.close()
    # The marker older journals wrote (English) still reads as the marker, in the reader's language.
    assert is_held_back(LEGACY_REASON_HELD_BACK) and held_back_text(LEGACY_REASON_HELD_BACK, "cs") == \
        "důvod zadržen: může obsahovat zdravotní údaje bez souhlasu"
    assert held_back_text(PLAIN, "cs") == PLAIN


def test_with_consent_in_force_a_health_text_is_sealed_under_it_escrowed_and_shredded_on_withdrawal(
        world: World) -> None:
    carla = console(world, world.carla, "carla")
    dora = None
    try:
        referral = item(carla, "ACC-V")
        noted = carla.note(referral, HEALTH)
        assert noted.sealed_under == "health_disclosure" and not noted.held_back
        review = carla.record_review("capacity", "ACC-V", "not_confirmed", HEALTH)
        ended = carla.end_hold("ACC-V", HEALTH)
        resolved = carla.resolve(referral, HEALTH)
        for r, key in ((noted, "text"), (review, "note"), (ended, "reason"), (resolved, "note")):
            assert r.synced and r.sealed_under == "health_disclosure"
            value = r.entry.data[key]
            assert is_sealed(value) and purposes_of(value) == ["health_disclosure"]
        assert review.entry.data["consent"] == ["health_disclosure"] == ended.entry.data["consent"]
        # Nowhere in clear: not in the console's journal file, not in the team store.
        assert b"cancer" not in raw(carla.journal_path) and b"chemo" not in raw(carla.journal_path)
        for type_ in ("escalation_note", "capacity_review", "hold_ended", "escalation_resolved"):
            stored = team_rows(world, "ACC-V", type_)
            assert stored and not any("cancer" in s or "chemo" in s for s in stored), type_
        # The writer reads it back; so does another care-team member, through the escrowed key.
        done = next(i for i in carla.queue() if i.ref == referral.ref)
        assert [n.text for n in done.notes] == [HEALTH] and done.resolved.text == HEALTH
        dora = console(world, world.team.person("dora", "care_team"), "dora")
        other = next(i for i in dora.queue() if i.ref == referral.ref)
        assert [n.text for n in other.notes] == [HEALTH] and other.resolved.text == HEALTH
        with world.team.admin() as conn:
            escrowed = conn.execute("SELECT purpose FROM data_keys WHERE account_id = 'ACC-V' AND desktop_id <> %s",
                                    (world.desk_a.desktop_id(),)).fetchall()
        assert escrowed == [("health_disclosure",)]  # the console's key of that purpose; never its personal key
        # The customer withdraws on a later call: the team store destroys its copy, the console its own.
        world.desk_a.at = NOW + dt.timedelta(minutes=5)
        world.desk_a.call("ACC-V", ("consent_withdrawn", {"purpose": "health_disclosure"}, "texas", "withdraw"))
        world.desk_a.push()
        other = next(i for i in dora.queue() if i.ref == referral.ref)
        assert [n.text.how for n in other.notes] == ["withdrawn"]
        assert "withdrawn on" in other.resolved.text
        # the writer's console destroys its own copy of the key as it reads the queue again
        mine = next(i for i in carla.queue() if i.ref == referral.ref)
        assert [n.text.how for n in mine.notes] == ["withdrawn"] and mine.resolved.text.how == "withdrawn"
        assert [k["how"] for k in carla.local.sealer.keys.rows("ACC-V") if k["purpose"] == "health_disclosure"] == \
            ["withdrawn"]
        # and now no consent is in force: the next health text is refused
        with pytest.raises(ConsoleError, match="no consent for health disclosure is in force on account ACC-V"):
            carla.record_review("capacity", "ACC-V", "confirmed", HEALTH)
    finally:
        carla.close()
        if dora is not None:
            dora.close()


def test_the_console_commands_refuse_seal_and_hold_back_in_one_line(world: World) -> None:
    from click.testing import CliRunner

    from callguide.cli import main

    def run(who: TeamTarget, name: str, *args: str) -> object:
        return CliRunner().invoke(main, ["console", "--db", who.url, "--schema", who.schema, "--role-prefix",
                                         who.prefix, "--journal", str(world.tmp / f"cli-{name}.db"), *args])

    def head(name: str) -> bytes:
        return raw(world.tmp / f"cli-{name}.db") if (world.tmp / f"cli-{name}.db").exists() else b""

    out = run(world.carla, "carla", "queue", "--json")
    assert out.exit_code == 0, out.output
    refs = {i["account"]: i["ref"] for i in json.loads(out.output) if i["kind"] == "care_team"}
    out = run(world.sam, "sam", "queue", "--json")
    blake = next(i["ref"] for i in json.loads(out.output) if i["kind"] == "supervisor")

    # no consent on ACC-C: refused, one line, nothing written
    written = {t: len(team_rows(world, "ACC-C", t)) for t in ("escalation_resolved", "hold_ended", "capacity_review")}
    for args in (("resolve", refs["ACC-C"], "--note", HEALTH), ("end-hold", "--account", "ACC-C", "--reason", HEALTH),
                 ("review", "capacity", "--account", "ACC-C", "--result", "confirmed", "--note", HEALTH)):
        out = run(world.carla, "carla", *args)
        assert out.exit_code == 2, out.output
        assert out.output.strip() == ("Error: not saved: this text may hold health or life-event details and no "
                                      "consent for health disclosure is in force on account ACC-C; write it without "
                                      "them"), out.output
    assert {t: len(team_rows(world, "ACC-C", t)) for t in written} == written
    assert b"cancer" not in head("carla")
    # an escalation's note goes, its text held back
    out = run(world.sam, "sam", "note", blake, HEALTH)
    assert out.exit_code == 0 and len(out.output.strip().splitlines()) == 1, out.output
    assert f"note added to {blake}" in out.output and "its text was HELD BACK" in out.output
    assert b"cancer" not in head("sam")
    # consent in force on ACC-V: sealed under it
    out = run(world.carla, "carla", "resolve", refs["ACC-V"], "--note", HEALTH)
    assert out.exit_code == 0 and out.output.strip().endswith(
        "; its text is sealed under the consent health_disclosure (a withdrawal destroys it)"), out.output
    out = run(world.carla, "carla", "end-hold", "--account", "ACC-V", "--reason", HEALTH)
    assert out.exit_code == 0 and "sealed under the consent health_disclosure" in out.output, out.output
    assert b"cancer" not in head("carla") and b"chemo" not in head("carla")
    assert not any("cancer" in r for t in ("escalation_resolved", "hold_ended") for r in team_rows(world, "ACC-V", t))
    # a plain text passes
    out = run(world.carla, "carla", "review", "capacity", "--account", "ACC-C", "--result", "confirmed", "--note", PLAIN)
    assert out.exit_code == 0 and "recorded: capacity review of account ACC-C" in out.output, out.output
    assert "sealed" not in out.output and "HELD BACK" not in out.output
