"""The console's queue as a pure function of escalations, actions, service levels and the time:
order (unacknowledged loud items first), status, actions naming another entry ignored, overdue."""

from __future__ import annotations

import datetime as dt

from callguide.store.postgres.console import Row
from callguide.team.console import ServiceLevels, counts, derive_queue

T0 = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
LEVELS = ServiceLevels.load()


def esc(seq: int, kind: str, flow: str, minutes: int) -> Row:
    at = T0 + dt.timedelta(minutes=minutes)
    return Row("d1", seq, seq, at, at.isoformat(), "escalation", f"call-{seq}", f"ACC-{seq}", "anna", "Anna Holm",
               flow, "step", {"kind": kind, "reason": f"r{seq}"}, f"h{seq}")


def act(seq: int, type_: str, ref: str, ref_hash: str, minutes: int, **data: str) -> Row:
    at = T0 + dt.timedelta(minutes=minutes)
    return Row("c1", seq, 100 + seq, at, at.isoformat(), type_, "call", "ACC", "sam", "Sam Jensen", None, None,
               {"ref": ref, "ref_hash": ref_hash, "by": "sam", "name": "Sam Jensen", **data}, f"x{seq}")


def test_order_status_and_service_levels() -> None:
    escalations = [esc(1, "care_team", "texas", 0), esc(2, "supervisor", "harmed", 1), esc(3, "emergency", "blake", 2),
                   esc(4, "supervisor", "blake", 2), esc(5, "supervisor", "harmed", 3)]
    actions = [act(1, "escalation_assigned", "d1/2", "h2", 4, to="sam", to_name="Sam Jensen"),
               act(2, "escalation_acknowledged", "d1/4", "WRONG", 4),      # names another entry: ignored
               act(3, "escalation_resolved", "d1/5", "h5", 5, note="done"),
               act(4, "escalation_note", "d1/1", "h1", 6, text="called back")]
    items = derive_queue(escalations, actions, LEVELS)
    assert [i.ref for i in items] == ["d1/3", "d1/4", "d1/1", "d1/2", "d1/5"]
    by = {i.ref: i for i in items}
    assert [by[r].level.name for r in ("d1/1", "d1/2", "d1/3", "d1/4")] == ["care_team", "supervisor", "emergency",
                                                                          "blake"]
    assert by["d1/2"].status == "assigned" and by["d1/2"].acknowledged is by["d1/2"].assigned  # taking acknowledges
    assert by["d1/4"].status == "new" and by["d1/4"].alarm()
    assert by["d1/5"].status == "resolved" and not by["d1/5"].open and by["d1/5"].resolved.text == "done"
    assert [n.text for n in by["d1/1"].notes] == ["called back"] and by["d1/1"].status == "new"
    # BLAKE: 60 s to acknowledge; a supervisor alert 5 minutes; the care team 4 hours.
    at = T0 + dt.timedelta(minutes=3, seconds=30)
    assert {r: by[r].overdue(at) for r in by} == {"d1/1": None, "d1/2": None, "d1/3": "acknowledge",
                                                 "d1/4": "acknowledge", "d1/5": None}
    c = counts(items, at)
    assert (c.open, c.new, c.overdue, c.alarms) == (4, 3, 2, 2)
    later = T0 + dt.timedelta(hours=2)
    assert by["d1/2"].overdue(later) == "resolve"     # acknowledged, not resolved within the hour
    assert by["d1/5"].overdue(later) is None          # resolved: never overdue
