"""`callguide walk --db postgresql://…`: a headless call as a desktop in team mode (the local
journal first, protections from the team store, every entry synced before walk returns), so a
second agent's walk on the same account starts with the first one's hold; and one plain line
when the team store cannot take the entries."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from callguide.cli import main
from callguide.store.postgres.connect import TeamTarget
from callguide.store.postgres.journal import PostgresJournal

from .conftest import TeamServer

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "tests" / "engine" / "flows" / "main.yaml"
HOLD = """
- {next: null}
- {answer: {income: "900", spend: "1200"}}
- {next: null}
- {next: null}
- {next: null}
"""


def walk(who: TeamTarget, tmp_path: Path, agent: str | None, *extra: str):
    script = tmp_path / "s.yaml"
    script.write_text(HOLD, encoding="utf-8")
    env = {"CALLGUIDE_SIGNPOSTS": str(ROOT / "tests" / "engine" / "signposts.yaml"),
           "CALLGUIDE_DB_SCHEMA": who.schema, "CALLGUIDE_DB_ROLE_PREFIX": who.prefix}
    who_args = ["--agent", agent] if agent is not None else []
    return CliRunner().invoke(main, ["walk", str(MAIN), "--script", str(script), "--db", who.url, *who_args,
                                     "--account", "W-9", *extra], env=env, catch_exceptions=False)


def test_walk_against_a_team_store(team: TeamServer, tmp_path: Path) -> None:
    anna = team.person("anna", "agent")
    ben = team.person("ben", "agent")
    audrey = team.person("audrey", "auditor")
    first = walk(anna, tmp_path, "anna", "--journal", str(tmp_path / "anna.db"))
    assert first.exit_code == 0, first.output
    t1 = json.loads(first.output)
    assert t1["outcome"] == "hold" and t1["team"]["protections"] == "team"
    assert t1["team"]["synced"] >= len(t1["records"]) > 0
    assert t1["records"][0]["history"]["holds"] == []
    # Ben's desktop (a throw-away journal) starts with Anna's hold, read from the team store.
    second = walk(ben, tmp_path, "ben")
    assert second.exit_code == 0, second.output
    t2 = json.loads(second.output)
    assert t2["team"]["protections"] == "team"
    assert [h["days"] for h in t2["records"][0]["history"]["holds"]] == [30]
    with PostgresJournal(audrey) as pj:
        counts = pj.counts()
        assert sorted(counts.values()) == sorted([t1["team"]["synced"], t2["team"]["synced"]])
        assert t1["team"]["desktop"] in counts and t2["team"]["desktop"] in counts
        assert pj.verify().ok
    # Calls in another person's name are refused: the login is who makes them.
    other = walk(anna, tmp_path, "ben")
    assert other.exit_code == 2 and "connected to the team store as anna; --agent ben" in other.output
    mine = walk(anna, tmp_path, None)  # no --agent: the person the team store knows the login as
    assert mine.exit_code == 0, mine.output
    assert json.loads(mine.output)["records"][0]["person"]["id"] == "anna"
    # The team store unreachable: the call still runs on the local journal, then one line, exit 1.
    dead = TeamTarget("postgresql://anna@127.0.0.1:1/test", anna.schema, anna.prefix)
    res = walk(dead, tmp_path, "anna", "--journal", str(tmp_path / "anna2.db"), "--sync-timeout", "1")
    assert res.exit_code == 1
    assert "the call is in the local journal" in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1
