"""Issue 13, "Done when": two desktops and a console, each a REAL PROCESS against one real PostgreSQL.

Agent A's call runs BRUCE (the bundled flow, the real engine) and the doubt remains: a capacity
doubt, a hold and a referral to the care team. The supervisor's console (`callguide console watch`,
a live process) shows it; so does the care team's (`callguide console queue`). Agent B's next call
on the account sees the whole history and may not take a payment decision. The care team records
the specialist review and the hold decision from the console (`callguide console review capacity`,
`end-hold`). Agent B's later call sees the review and is allowed payment; then BLAKE on that call:
the console shows the emergency, the supervisor acknowledges it (`callguide console ack`), and
agent B's window (its `AckNotice`, offscreen) says "Supervisor acknowledged: Sam Jensen" within 2 s.
At the end the team store holds every desktop's entries exactly once, each chain continuous.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from callguide.store.postgres.journal import PostgresJournal

from .conftest import TeamServer

ROOT = Path(__file__).resolve().parents[2]

BRUCE_DOUBT_REMAINS = [
    {"next": None}, {"answer": {"concern_behaviour": False}}, {"next": None},
    {"answer": {"concern_remembering": False}}, {"next": None}, {"answer": {"concern_understanding": False}},
    {"next": None}, {"answer": {"concern_communicating": True}}, {"next": None},
    {"answer": {"concern_evaluating": False}}, {"next": None}, {"next": None}, {"next": "doubt-remains"},
    {"next": None}, {"next": None}, {"next": "no-third-party"}, {"next": None}]
BLAKE_IMMEDIATE_DANGER = [
    {"interrupt": "blake"}, {"next": None}, {"next": None}, {"next": "immediate-danger"},
    {"answer": {"crisis_location": "Flat 3, 10 High Street, Leeds", "callback_number": "07700 900123"}},
    {"next": None}, {"next": None}]  # location, then escalate: the emergency call and the supervisor alert


class Proc:
    """A child process speaking JSON lines on stdout (read by a thread into a queue)."""

    def __init__(self, args: list[str], env: dict[str, str], name: str) -> None:
        self.name = name
        self.p = subprocess.Popen(args, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(self.p.stderr), daemon=True).start()  # type: ignore[arg-type]

    def _read(self) -> None:
        for line in self.p.stdout:  # type: ignore[union-attr]
            line = line.strip()
            if line.startswith("{"):
                self.lines.put(json.loads(line))

    def send(self, **cmd: Any) -> None:
        self.p.stdin.write(json.dumps(cmd) + "\n")  # type: ignore[union-attr]
        self.p.stdin.flush()  # type: ignore[union-attr]

    def expect(self, test: Any, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.name}: nothing matching within {timeout} s; stderr: "
                                     f"{''.join(self.stderr)[-2000:]}")
            try:
                msg = self.lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                if self.p.poll() is not None:
                    raise AssertionError(f"{self.name} exited {self.p.returncode}: {''.join(self.stderr)[-2000:]}") from None
                continue
            if test(msg):
                return msg

    def close(self) -> None:
        if self.p.poll() is None:
            try:
                self.p.stdin.close()  # type: ignore[union-attr]
                self.p.wait(20)
            except (OSError, subprocess.TimeoutExpired):
                self.p.kill()
                self.p.wait(5)


def test_two_desktops_and_a_console_run_the_story_end_to_end(team: TeamServer, tmp_path: Path) -> None:
    who = {p: team.person(p, *roles, team=t) for p, roles, t in (
        ("anna", ("agent",), "north"), ("ben", ("agent",), "north"), ("sam", ("supervisor",), "north"),
        ("carla", ("care_team",), None), ("audrey", ("auditor",), None))}
    with team.admin() as conn:
        for pid, name in (("anna", "Anna Holm"), ("ben", "Ben Carter"), ("sam", "Sam Jensen"),
                          ("carla", "Carla Novak")):
            conn.execute("UPDATE people SET name = %s WHERE person_id = %s", (name, pid))
    schema, prefix = team.target.schema, team.target.prefix
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT),
           # the desktops run on the wall clock: contact rules that allow every hour keep the story the
           # same at any time of day (the rules themselves are tested with a fixed clock in tests/engine)
           "CALLGUIDE_CONTACT_RULES": str(ROOT / "tests" / "contact_rules_any_time.yaml")}

    def agent(pid: str) -> Proc:
        p = Proc([sys.executable, "-m", "tests.team.story_agent", "--url", who[pid].url, "--schema", schema,
                  "--prefix", prefix, "--journal", str(tmp_path / f"{pid}.db"), "--agent", pid], env, pid)
        p.expect(lambda m: m["event"] == "ready", 60)
        return p

    def console(pid: str, *args: str) -> subprocess.CompletedProcess[str]:
        out = subprocess.run([sys.executable, "-m", "callguide.cli", "console", "--db", who[pid].url, "--schema",
                              schema, "--role-prefix", prefix, "--journal", str(tmp_path / f"console-{pid}.db"),
                              *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return out

    watch = Proc([sys.executable, "-m", "callguide.cli", "console", "--db", who["sam"].url, "--schema", schema,
                  "--role-prefix", prefix, "--journal", str(tmp_path / "console-sam-watch.db"), "watch"], env, "watch")
    a = agent("anna")
    b = agent("ben")
    try:
        # 1. Agent A: BRUCE, the doubt remains: doubt, hold, referral to the care team.
        a.send(op="start", account="ACC-S", flow="bruce")
        started = a.expect(lambda m: m["event"] == "started")
        assert started["source"] == "team" and started["history"]["calls"] == 0
        a.send(op="events", events=BRUCE_DOUBT_REMAINS)
        tr = a.expect(lambda m: m["event"] == "trace")
        assert tr["errors"] == [] and tr["outcome"] == "doubt_remains", tr
        assert {r["type"] for r in tr["records"]} >= {"capacity_doubt", "hold_started", "escalation"}
        a.send(op="end")
        assert a.expect(lambda m: m["event"] == "ended")["synced"]

        # 2. The consoles show it: the supervisor's live one, and the care team's worklist.
        referral = watch.expect(lambda m: m["event"] == "item" and m["account"] == "ACC-S", 20)
        assert (referral["kind"], referral["agent"], referral["flow"], referral["step"]) == \
            ("care_team", "anna", "bruce", "doubt-remains")
        queue_c = json.loads(console("carla", "queue", "--json").stdout)
        assert [(i["kind"], i["account"], i["agent_name"]) for i in queue_c] == [("care_team", "ACC-S", "Anna Holm")]

        # 3. Agent B's next call on the account: the whole history, and no payment decision.
        b.send(op="start", account="ACC-S", flow="call-opening")
        first = b.expect(lambda m: m["event"] == "started")
        assert first["source"] == "team"
        assert first["history"]["calls"] == 1 and len(first["history"]["capacity_doubts"]) == 1
        assert first["history"]["holds"] and first["payment_blocked"]
        b.send(op="events", events=[{"outcome": "promise_to_pay"}])
        refused = b.expect(lambda m: m["event"] == "trace")
        assert [e["rule"] for e in refused["errors"]] in (["capacity-doubt"], ["hold-active"]), refused["errors"]
        b.send(op="end")
        b.expect(lambda m: m["event"] == "ended")

        # 4. The care team's specialist review and hold decision, from the console.
        out = console("carla", "review", "capacity", "--account", "ACC-S", "--result", "confirmed",
                      "--note", "Specialist call with the customer and his daughter: understands the plan")
        assert "recorded: capacity review of account ACC-S by Carla Novak: confirmed" in out.stdout
        assert "not yet confirmed" not in out.stdout
        out = console("carla", "end-hold", "--account", "ACC-S", "--reason", "Capacity confirmed by the care team")
        assert "hold ended on account ACC-S" in out.stdout
        console("carla", "resolve", referral["ref"], "--note", "Review done, hold lifted")

        # 5. Agent B's later call: the review is in the history, and payment is allowed.
        b.send(op="start", account="ACC-S", flow="call-opening")
        later = b.expect(lambda m: m["event"] == "started")
        h = later["history"]
        assert h["calls"] == 2 and h["capacity_doubts"] == [] and h["holds"] == []
        assert [tuple(r) for r in h["capacity_reviews"]] == [("confirmed", "Carla Novak")]
        assert not later["payment_blocked"]
        b.send(op="events", events=[{"outcome": "promise_to_pay"}])
        assert b.expect(lambda m: m["event"] == "trace")["errors"] == []

        # 6. BLAKE on agent B's call: the console shows the emergency at once, loud.
        b.send(op="events", events=BLAKE_IMMEDIATE_DANGER)
        tr = b.expect(lambda m: m["event"] == "trace")
        assert tr["errors"] == [] and any(r["type"] == "escalation" for r in tr["records"]), (tr["visited"], tr["step"], [r["type"] for r in tr["records"]])
        b.send(op="sync")
        b.expect(lambda m: m["event"] == "synced")
        emergency = watch.expect(lambda m: m["event"] == "item" and m["call_id"] == later["call_id"]
                                 and m["kind"] == "emergency", 20)
        assert emergency["alarm"] and emergency["agent"] == "ben" and emergency["flow"] == "blake"

        # 7. The supervisor acknowledges it; agent B's window shows who, within 2 s of it arriving.
        console("sam", "ack", emergency["ref"])
        notice = b.expect(lambda m: m["event"] == "notice" and m["text"], 10)
        assert notice["text"] == "Supervisor acknowledged: Sam Jensen" and notice["visible"]
        with team.admin() as conn:
            stored = conn.execute("SELECT extract(epoch FROM received_at) FROM entries"
                                  " WHERE type = 'escalation_acknowledged' AND call_id = %s",
                                  (later["call_id"],)).fetchone()[0]
        assert notice["at"] - float(stored) < 2.0, notice["at"] - float(stored)
        watch.expect(lambda m: m["event"] == "status" and m["ref"] == emergency["ref"]
                     and m["status"] == "acknowledged", 20)
        b.send(op="end")
        b.expect(lambda m: m["event"] == "ended")
    finally:
        for p in (a, b):
            if p.p.poll() is None:
                p.send(op="quit")
            p.close()
        watch.close()

    # Every desktop's and console's entries are in the team store exactly once, every chain continuous.
    with PostgresJournal(who["audrey"]) as pj:
        assert pj.verify().ok
        counts = pj.counts()
    from callguide.store.sqlite import SQLiteJournal
    from callguide.team.desktop import desktop_id

    local = {}
    for name in ("anna", "ben", "console-carla", "console-sam"):  # the watching console wrote nothing
        j = SQLiteJournal.open(tmp_path / f"{name}.db")
        local[desktop_id(j)] = sum(1 for _ in j.iter_entries(0))
        j.close()
    assert counts == local
    with team.admin() as conn:
        dup = conn.execute("SELECT count(*) FROM (SELECT desktop_id, seq FROM entries GROUP BY 1, 2"
                           " HAVING count(*) > 1) x").fetchone()[0]
    assert dup == 0
