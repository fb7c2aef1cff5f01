"""Finding and reaching the team store (PostgreSQL), with one-line errors.

The URL comes from `--db`/`--url`, else `CALLGUIDE_DB_URL`, else `[team] url` in CallGuide's config
file (`config.toml` in the user's config folder, `CALLGUIDE_CONFIG` overrides). Passwords and TLS
keys never come from CallGuide: a URL that carries a password is refused, and libpq's own
mechanisms supply them (`~/.pgpass`, a service file with `service=NAME`, `PGPASSWORD`, `PGSSLMODE`,
...). Never imports Qt.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from callguide.store.base import StoreError

DEFAULT_SCHEMA = "callguide"
DEFAULT_PREFIX = "callguide"
NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,39}$")
SECRET_KEYS = ("password", "sslpassword")


class TeamStoreError(StoreError):
    """A team-store failure, one plain line. `kind`: "offline" (cannot reach the server; retry),
    "refused" (the server refused the data: gap, fork, not the owner), "denied" (no privilege),
    "schema" (not initialised, or newer than this CallGuide), "config" (bad URL or settings),
    "other"."""


_CONNINFO_RE = re.compile(r"^\s*(host|hostaddr|port|dbname|user|service|sslmode)\s*=")


def is_team_url(value: str | None) -> bool:
    """A PostgreSQL URL or libpq conninfo string ("host=db dbname=callguide", "service=team"),
    not a journal file path."""
    text = str(value or "")
    return text.startswith(("postgresql://", "postgres://")) or bool(_CONNINFO_RE.match(text))


def config_path() -> Path:
    env = os.environ.get("CALLGUIDE_CONFIG")
    if env:
        return Path(env)
    return Path(platformdirs.user_config_dir("CallGuide", appauthor=False)) / "config.toml"


def _config_team() -> tuple[dict[str, Any], Path]:
    path = config_path()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}, path
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise TeamStoreError(f"{path}: cannot be read ({e})", "config") from None
    team = data.get("team", {})
    if not isinstance(team, dict):
        raise TeamStoreError(f"{path}: [team] must be a table", "config")
    return team, path


@dataclass(frozen=True)
class TeamTarget:
    """Where the team store is: a libpq URL or conninfo string (no password), and the schema
    and role-name prefix it lives under (both `callguide` unless several stores share a database)."""

    url: str
    schema: str = DEFAULT_SCHEMA
    prefix: str = DEFAULT_PREFIX
    source: str = "--db"

    def role(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    @property
    def owner(self) -> str:
        return self.role("owner")

    def channel(self, name: str) -> str:
        return f"{self.schema}_{name}"


def check_url(url: str, source: str) -> None:
    """Refuse a URL that is not a PostgreSQL one or that carries a password."""
    from psycopg import conninfo

    try:
        params = conninfo.conninfo_to_dict(url)
    except Exception as e:  # psycopg.ProgrammingError: one line either way
        raise TeamStoreError(f"{source}: not a PostgreSQL URL ({str(e).splitlines()[0]})", "config") from None
    for key in SECRET_KEYS:
        if params.get(key):
            raise TeamStoreError(
                f"{source}: the URL carries a {key}; CallGuide never keeps one. Put it in ~/.pgpass, "
                "a pg_service.conf service or PGPASSWORD instead.", "config")


def check_name(value: str, what: str) -> str:
    if not NAME_RE.match(value or ""):
        raise TeamStoreError(f"{what} {value!r} must be lower-case letters, digits and _ (at most 40)", "config")
    return value


def resolve(url: str | None = None, *, schema: str | None = None, prefix: str | None = None) -> TeamTarget:
    """The team store to use: the explicit URL, else CALLGUIDE_DB_URL, else the config file."""
    team, path = _config_team()
    if url:
        source = "--db"
    elif os.environ.get("CALLGUIDE_DB_URL"):
        url, source = os.environ["CALLGUIDE_DB_URL"], "CALLGUIDE_DB_URL"
    elif team.get("url"):
        url, source = str(team["url"]), str(path)
    else:
        raise TeamStoreError("no team store given: use --db postgresql://HOST/DB, CALLGUIDE_DB_URL, or "
                             f"[team] url in {path}", "config")
    check_url(url, source)
    schema = schema or os.environ.get("CALLGUIDE_DB_SCHEMA") or str(team.get("schema") or DEFAULT_SCHEMA)
    prefix = prefix or os.environ.get("CALLGUIDE_DB_ROLE_PREFIX") or str(team.get("role_prefix") or DEFAULT_PREFIX)
    return TeamTarget(url, check_name(schema, "schema"), check_name(prefix, "role prefix"), source)


def team_for(db: str | None) -> TeamTarget | None:
    """The team store a desktop command uses, or None for a desktop on its own: `--db` when it is a
    PostgreSQL URL, else (no `--db` at all) `CALLGUIDE_DB_URL` or `[team] url` in the config file.
    A `--db` that is a file path means the local journal alone."""
    if db:
        return resolve(db) if is_team_url(db) else None
    if os.environ.get("CALLGUIDE_DB_URL"):
        return resolve(None)
    team, _path = _config_team()
    return resolve(None) if team.get("url") else None


def error_line(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()
    return msg[0] if msg else type(exc).__name__


def classify(exc: BaseException, target: TeamTarget | None = None) -> TeamStoreError:
    """A psycopg error as a one-line TeamStoreError."""
    import psycopg
    from psycopg import errors

    if isinstance(exc, TeamStoreError):
        return exc
    where = f"team store {_where(target)}" if target else "team store"
    line = error_line(exc)
    sqlstate = getattr(exc, "sqlstate", None) or ""
    if sqlstate.startswith("CG"):
        kind = {"CGF": "refused", "CGG": "refused", "CGO": "refused", "CGA": "denied", "CGJ": "refused",
                "CGI": "refused"}.get(sqlstate[:3], "refused")
        return TeamStoreError(f"The {where} refused: {line}", kind)
    if isinstance(exc, errors.InsufficientPrivilege):
        return TeamStoreError(f"The {where} denied it: {line}", "denied")
    if isinstance(exc, errors.UndefinedTable | errors.InvalidSchemaName | errors.UndefinedFunction):
        return TeamStoreError(f"The {where} is not set up for CallGuide ({line}); run `callguide server init`.",
                              "schema")
    if isinstance(exc, errors.QueryCanceled):  # a statement_timeout: a table locked, a server too busy
        return TeamStoreError(f"The {where} did not answer in time ({line}); nothing was changed, try again in a "
                              "moment.", "offline")
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError) or sqlstate.startswith(("08", "57")):
        return TeamStoreError(f"The {where} cannot be reached: {line}", "offline")
    return TeamStoreError(f"The {where} failed: {line}", "other")


def _where(target: TeamTarget) -> str:
    from psycopg import conninfo

    try:
        p = conninfo.conninfo_to_dict(target.url)
    except Exception:
        return target.schema
    host = p.get("service") and f"service {p['service']}" or f"{p.get('host', 'localhost')}:{p.get('port', 5432)}"
    return f"{host}/{p.get('dbname', '')} ({target.schema})"


def connect(target: TeamTarget, *, autocommit: bool = False, timeout: float = 5.0, app: str = "callguide",
            search_path: bool = True, **kwargs: Any) -> Any:
    """A psycopg connection to the team store, with the schema on the search path (session state;
    pass search_path=False for code that qualifies every name, as the sync does, so it also works
    through a transaction-pooling pgbouncer)."""
    import psycopg

    try:
        conn = psycopg.connect(target.url, autocommit=autocommit, connect_timeout=max(2, int(timeout)),
                               application_name=app, **kwargs)
    except psycopg.Error as e:
        raise classify(e, target) from None
    if not search_path:
        return conn
    try:
        conn.execute(f"SET search_path TO {quote_ident(target.schema)}, pg_catalog")
        if not autocommit:
            conn.commit()
    except psycopg.Error as e:
        conn.close()
        raise classify(e, target) from None
    return conn


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
