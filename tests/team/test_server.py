"""`callguide server init/status/person`: the schema by migrations, roles, idempotence, and the
append-only journal (privileges and triggers, the owner and superusers included)."""

from __future__ import annotations

import threading

import psycopg
import pytest
from click.testing import CliRunner

from callguide.cli import main
from callguide.identity import ROLES
from callguide.store.postgres.connect import TeamStoreError, TeamTarget, resolve
from callguide.store.postgres.migrate import init, migrations, status
from callguide.store.sqlite import SQLiteJournal
from callguide.team.sync import TeamSync

from .conftest import TeamServer, new_team_server
from .scripted import run_calls


def _cli(team: TeamServer, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, [*args, "--url", team.admin_url, "--schema", team.target.schema,
                                    "--role-prefix", team.target.prefix])
    return res.exit_code, res.output


def test_init_is_idempotent_and_status_says_what_is_there(team: TeamServer) -> None:
    code, out = _cli(team, "server", "init")
    assert code == 0, out
    assert "none (all present)" in out and "none (up to date)" in out
    st = status(team.target)
    assert st["version"] == migrations()[-1].version == st["known_version"]
    assert set(st["roles"]) == {team.target.role(r) for r in ("owner", *ROLES)}
    assert all(info is not None for info in st["roles"].values())
    assert st["counts"]["entries"] == 0
    with team.admin() as conn:  # every table of the schema is counted, whatever the migrations made
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s",
                                             (team.target.schema,)).fetchall()}
    assert set(st["counts"]) == tables and {"entries", "flow_snapshots", "schema_migrations"} <= tables
    assert st["counts"]["schema_migrations"] == len(migrations())
    code, out = _cli(team, "server", "status")
    assert code == 0 and f"version {migrations()[-1].version}" in out and "entries: 0" in out


def test_init_makes_the_protection_types_exactly_the_codes(team: TeamServer) -> None:
    """An escalation is no protection (its details are the supervisors'): a store initialised when the list
    held it (or with a type added by hand) gets the code's list back on the next init."""
    from callguide.store.derive import PROTECTION_TYPES

    with team.admin() as conn:
        conn.execute("INSERT INTO protection_types (type) VALUES ('escalation'), ('step_shown')")
    code, out = _cli(team, "server", "init")
    assert code == 0, out
    with team.admin() as conn:
        have = {r[0] for r in conn.execute("SELECT type FROM protection_types").fetchall()}
    assert have == set(PROTECTION_TYPES) and "escalation" not in have and "crisis" in have


def test_status_lists_desktops_and_heads(team: TeamServer, tmp_path) -> None:
    anna = team.person("anna", "agent")
    j = SQLiteJournal.open(tmp_path / "a.db")
    n = run_calls(j, "anna", 2)
    sync = TeamSync(tmp_path / "a.db", anna).start()
    assert sync.wait_synced(20)
    sync.stop()
    code, out = _cli(team, "server", "status")
    assert code == 0, out
    assert f"desktop {sync.desktop_id} (anna): head {n}" in out
    assert f"entries: {n}" in out
    j.close()


def test_init_on_an_empty_server_schema_then_person(pg_url: str) -> None:
    server = new_team_server(pg_url)
    try:
        code, out = _cli(server, "server", "person", "zoe", "--role", "agent", "--role", "care_team",
                         "--team", "north", "--login", f"{server.target.prefix}_zoe")
        server.logins.append(f"{server.target.prefix}_zoe")
        assert code == 0, out
        with server.admin() as conn:
            assert conn.execute("SELECT roles, team FROM people WHERE person_id = 'zoe'").fetchone() == \
                (["agent", "care_team"], "north")
        code, out = _cli(server, "server", "person", "zoe", "--role", "nurse")
        assert code == 1 and out.startswith("Error: roles must be some of")
    finally:
        server.drop()


def test_two_inits_at_once_apply_each_migration_once(pg_url: str) -> None:
    server = new_team_server(pg_url)
    server.drop()  # start from nothing, with known names
    errors: list[BaseException] = []

    def run() -> None:
        try:
            init(server.target)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    try:
        threads = [threading.Thread(target=run) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        with server.admin() as conn:
            rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
        assert [r[0] for r in rows] == [m.version for m in migrations()]
    finally:
        server.drop()


def test_a_changed_or_newer_schema_is_refused_and_nothing_changes(team: TeamServer) -> None:
    with team.admin() as conn:
        conn.execute("UPDATE schema_migrations SET checksum = 'x' WHERE version = 1")
    with pytest.raises(TeamStoreError, match="was changed after it was applied"):
        init(team.target)
    with team.admin() as conn:
        conn.execute("UPDATE schema_migrations SET checksum = %s WHERE version = 1", (migrations()[0].checksum,))
        conn.execute("INSERT INTO schema_migrations (version, name, checksum) VALUES (99, 'future', 'y')")
    code, out = _cli(team, "server", "init")
    assert code == 1
    assert out.startswith("Error: the team store") and "newer than this CallGuide" in out
    assert len(out.strip().splitlines()) == 1


def test_url_rules(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("CALLGUIDE_DB_URL", raising=False)
    monkeypatch.setenv("CALLGUIDE_CONFIG", str(tmp_path / "none.toml"))
    res = CliRunner().invoke(main, ["server", "status"])
    assert res.exit_code == 2 and res.output.startswith("Error: no team store given")
    res = CliRunner().invoke(main, ["server", "status", "--url", "postgresql://u:secret@127.0.0.1/test"])
    assert res.exit_code == 2 and "carries a password" in res.output and "secret" not in res.output
    cfg = tmp_path / "config.toml"
    cfg.write_text('[team]\nurl = "postgresql://127.0.0.1/test?password=x"\n')
    monkeypatch.setenv("CALLGUIDE_CONFIG", str(cfg))
    with pytest.raises(TeamStoreError, match="carries a password"):
        resolve()
    cfg.write_text('[team]\nurl = "service=callguide"\nschema = "site_a"\n')
    assert resolve() == TeamTarget("service=callguide", "site_a", "callguide", str(cfg))
    monkeypatch.setenv("CALLGUIDE_DB_URL", "postgresql://db.example/cg")
    assert resolve().url == "postgresql://db.example/cg" and resolve().source == "CALLGUIDE_DB_URL"
    assert resolve("postgresql://other/cg").source == "--db"
    with pytest.raises(TeamStoreError, match="schema"):
        resolve(schema="Bad-Name")


def test_which_commands_run_in_team_mode(monkeypatch, tmp_path) -> None:
    """`call`'s choice: a file --db is a desktop alone; a URL or conninfo --db is team mode; no --db
    follows CALLGUIDE_DB_URL, then the config file. The window's cheap pre-check agrees."""
    from callguide.qt.app import _maybe_team
    from callguide.store.postgres.connect import is_team_url, team_for

    monkeypatch.delenv("CALLGUIDE_DB_URL", raising=False)
    monkeypatch.setenv("CALLGUIDE_CONFIG", str(tmp_path / "none.toml"))
    assert team_for(str(tmp_path / "journal.db")) is None and not _maybe_team(str(tmp_path / "journal.db"))
    assert team_for(None) is None and not _maybe_team(None)
    for url in ("postgresql://db.example/cg", "host=db.example dbname=cg user=anna", "service=callguide"):
        assert is_team_url(url) and _maybe_team(url) and team_for(url).url == url
    with pytest.raises(TeamStoreError, match="carries a password"):
        team_for("postgresql://u:pw@db.example/cg")
    cfg = tmp_path / "config.toml"
    cfg.write_text('[team]\nurl = "service=callguide"\n')
    monkeypatch.setenv("CALLGUIDE_CONFIG", str(cfg))
    assert _maybe_team(None) and team_for(None).source == str(cfg)
    assert team_for(str(tmp_path / "journal.db")) is None, "an explicit journal file wins over the config"
    monkeypatch.setenv("CALLGUIDE_DB_URL", "postgresql://db.example/cg")
    assert team_for(None).source == "CALLGUIDE_DB_URL"


def test_unreachable_server_is_one_line(tmp_path) -> None:
    res = CliRunner().invoke(main, ["server", "status", "--url", "postgresql://postgres@127.0.0.1:1/test"])
    assert res.exit_code == 1
    assert res.output.startswith("Error: The team store 127.0.0.1:1/test") and "cannot be reached" in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_the_journal_is_append_only_for_everyone(team: TeamServer, tmp_path) -> None:
    anna = team.person("anna", "agent")
    j = SQLiteJournal.open(tmp_path / "a.db")
    run_calls(j, "anna", 1)
    sync = TeamSync(tmp_path / "a.db", anna).start()
    assert sync.wait_synced(20)
    sync.stop()
    j.close()
    # A superuser: privileges do not bind, the triggers do.
    with team.admin() as conn:
        for sql in ("UPDATE entries SET type = 'x' WHERE seq = 1", "DELETE FROM entries WHERE seq = 1",
                    "TRUNCATE entries", "UPDATE entry_details SET data = '{}'", "TRUNCATE account_reads",
                    "TRUNCATE flow_snapshots"):
            with pytest.raises(psycopg.Error, match="append-only"):
                conn.execute(sql)
    # The owner role has no UPDATE, DELETE or TRUNCATE privilege on the journal at all.
    with team.admin() as conn:
        conn.execute(f'SET ROLE "{team.target.owner}"')
        for sql in ("UPDATE entries SET type = 'x'", "DELETE FROM entries", "TRUNCATE entries",
                    "DELETE FROM entry_details"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)
        assert conn.execute("SELECT count(*) FROM entries").fetchone()[0] > 0
