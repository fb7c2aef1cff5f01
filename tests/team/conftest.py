"""Team-store tests run against a real PostgreSQL server.

The server is `CALLGUIDE_TEST_PG_URL`, else the one on 127.0.0.1:5432 (trust auth, database `test`).
Each test gets its own schema and its own role names (`t<random>_...`), so tests never collide with
each other or with a real team store on the same server, and everything is dropped afterwards.

No server: the tests are skipped with the reason, except under CI=true, where a skipped
PostgreSQL test FAILS the run (hook below).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

psycopg = pytest.importorskip("psycopg")

from callguide.store.postgres.connect import TeamTarget, quote_ident  # noqa: E402
from callguide.store.postgres.migrate import add_person, init  # noqa: E402

PG_URL = os.environ.get("CALLGUIDE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
HERE = Path(__file__).parent


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: needs a PostgreSQL server (under CI=true a skip fails the run)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.postgres)


_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "postgres" in report.keywords:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if in_ci() and _skipped:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"FAILED: CI=true and {len(_skipped)} PostgreSQL test(s) were skipped "
                                f"(first: {_skipped[0]}); the team store must be tested on CI.", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _reachable(url: str) -> str | None:
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as e:
        return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return None


@pytest.fixture(scope="session")
def pg_url() -> str:
    problem = _reachable(PG_URL)
    if problem:
        msg = f"no PostgreSQL server at {PG_URL} ({problem}); set CALLGUIDE_TEST_PG_URL"
        if in_ci():
            pytest.fail(f"CI=true needs PostgreSQL for the team-store tests: {msg}")
        pytest.skip(msg)
    return PG_URL


def with_user(url: str, user: str) -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo(url, user=user)


@dataclass
class TeamServer:
    """One test's team store: its own schema and role names on a real server."""

    admin_url: str
    target: TeamTarget
    logins: list[str] = field(default_factory=list)

    def person(self, person_id: str, *roles: str, team: str | None = None) -> TeamTarget:
        """Create a person with their own login role; returns the target to connect as them."""
        login = add_person(self.target, person_id, list(roles), team=team,
                           login=f"{self.target.prefix}_{person_id}")
        self.logins.append(login)
        return TeamTarget(with_user(self.admin_url, login), self.target.schema, self.target.prefix)

    def adopt_flows(self, flows_dir: Path | None = None) -> None:
        """What `callguide server init` does after the schema: the shipped flows' release becomes the
        live publications (by `system`, as the admin)."""
        from callguide import paths
        from callguide.library.publish import adopt_release
        from callguide.store.postgres.publications import PostgresPublications

        with PostgresPublications(self.target) as pubs:
            adopt_release(flows_dir or paths.flows_dir(), pubs)

    def admin(self) -> psycopg.Connection:
        conn = psycopg.connect(self.admin_url, autocommit=True)
        conn.execute(f"SET search_path TO {quote_ident(self.target.schema)}, pg_catalog")
        return conn

    def terminate(self, application_name: str) -> int:
        """pg_terminate_backend every connection of this test's people with that application_name."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s"
                " AND usename = ANY(%s)", (application_name, self.logins)).fetchall()
        return sum(1 for r in rows if r[0])

    def drop(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            names = [*self.logins, *(self.target.role(r) for r in
                                     ("owner", "agent", "care_team", "supervisor", "trainer", "reviewer", "auditor"))]
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ANY(%s)",
                         (self.logins,))
            conn.execute(f"DROP SCHEMA IF EXISTS {quote_ident(self.target.schema)} CASCADE")
            for name in names:
                with contextlib.suppress(psycopg.Error):
                    conn.execute(f"DROP OWNED BY {quote_ident(name)}")
                with contextlib.suppress(psycopg.Error):
                    conn.execute(f"DROP ROLE IF EXISTS {quote_ident(name)}")


def new_team_server(admin_url: str) -> TeamServer:
    tag = "t" + uuid.uuid4().hex[:10]
    target = TeamTarget(admin_url, schema=tag, prefix=tag)
    init(target)
    return TeamServer(admin_url, target)


@pytest.fixture
def team(pg_url: str) -> Iterator[TeamServer]:
    server = new_team_server(pg_url)
    try:
        yield server
    finally:
        server.drop()
