"""Creating and upgrading the team store: roles, schema (numbered SQL migrations), RLS.

Why our own small migrator: alembic needs SQLAlchemy, and yoyo-migrations brings sqlparse and
tabulate, a lock table of its own and statement splitting, all for a handful of SQL files. PostgreSQL
runs DDL inside a transaction, so `init` does everything in ONE transaction under a transaction-level
advisory lock: two `init`s at once serialise, a failure changes nothing. Applied files are kept in
`schema_migrations` with a sha256; an applied file that changed, or a version this CallGuide does
not know (a newer release), is refused with one line.

Migration files are `sql/NNNN_name.sql`, run as the schema's owner role (NOLOGIN) so every object
and SECURITY DEFINER function belongs to it. Placeholders are filled here, always quoted:
`@schema@`, `@owner@`, `@role:NAME@`, `@rolename:NAME@`, `@channel:NAME@`. Never imports Qt.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from callguide.identity import ROLES

from .connect import TeamStoreError, TeamTarget, check_name, classify, connect, quote_ident, quote_literal

FILE_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
CHANNELS = ("protections", "escalations")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    text: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def migrations() -> list[Migration]:
    """The bundled migration files, in order."""
    out = []
    for item in resources.files("callguide.store.postgres").joinpath("sql").iterdir():
        m = FILE_RE.match(item.name)
        if m:
            out.append(Migration(int(m.group(1)), m.group(2), item.read_text(encoding="utf-8")))
    out.sort(key=lambda m: m.version)
    versions = [m.version for m in out]
    # Numbers are unique and increasing; a gap is allowed (a number reserved by work not merged yet:
    # it is applied when it arrives, and the files never depend on a number they do not follow).
    if not versions or versions[0] != 1 or len(set(versions)) != len(versions):
        raise TeamStoreError("the bundled team-store migrations must start at 0001 and be numbered once each",
                             "schema")
    return out


def known_version() -> int:
    """The newest schema version this CallGuide knows (the highest migration number)."""
    return migrations()[-1].version


def render(text: str, target: TeamTarget) -> str:
    """Fill the placeholders of a migration file (quoted identifiers and literals only)."""

    def sub(m: re.Match[str]) -> str:
        kind, _, arg = m.group(1).partition(":")
        if kind == "schema":
            return quote_ident(target.schema)
        if kind == "owner":
            return quote_ident(target.owner)
        if kind == "rolename" and arg == "owner":
            return quote_literal(target.owner)
        if kind in ("role", "rolename"):
            if arg not in ROLES:
                raise TeamStoreError(f"migration names an unknown role {arg!r}", "schema")
            return quote_ident(target.role(arg)) if kind == "role" else quote_literal(target.role(arg))
        if kind == "channel" and arg in CHANNELS:
            return quote_literal(target.channel(arg))
        raise TeamStoreError(f"migration has an unknown placeholder @{m.group(1)}@", "schema")

    return re.sub(r"@([a-z_]+(?::[a-z_]+)?)@", sub, text)


def _lock_key(target: TeamTarget) -> int:
    digest = hashlib.sha256(f"callguide.migrate:{target.schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _ensure_role(cur: Any, name: str) -> bool:
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,))
    if cur.fetchone():
        return False
    cur.execute(f"CREATE ROLE {quote_ident(name)} NOLOGIN")
    return True


@dataclass
class InitReport:
    schema: str
    created_schema: bool = False
    created_roles: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    version: int = 0


def init(target: TeamTarget, *, protection_types: tuple[str, ...] | None = None) -> InitReport:
    """Create or upgrade the team store at `target`; safe to run again. Needs a connection that may
    create roles and schemas (a superuser, or a role with CREATEROLE and CREATE on the database)."""
    import psycopg

    if protection_types is None:
        from callguide.store.derive import PROTECTION_TYPES

        protection_types = PROTECTION_TYPES
    files = migrations()
    report = InitReport(target.schema)
    conn = connect(target, app="callguide-server-init")
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key(target),))
            for role in ("owner", *ROLES):
                if _ensure_role(cur, target.role(role)):
                    report.created_roles.append(target.role(role))
            cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (target.schema,))
            if not cur.fetchone():
                cur.execute(f"CREATE SCHEMA {quote_ident(target.schema)} AUTHORIZATION {quote_ident(target.owner)}")
                report.created_schema = True
            # Whoever runs init must be able to act as the owner (a superuser always can).
            cur.execute("SELECT pg_has_role(current_user, %s, 'MEMBER')", (target.owner,))
            if not cur.fetchone()[0]:
                cur.execute(f"GRANT {quote_ident(target.owner)} TO CURRENT_USER")
            cur.execute(f"SET LOCAL ROLE {quote_ident(target.owner)}")
            cur.execute(f"SET LOCAL search_path TO {quote_ident(target.schema)}, pg_catalog")
            cur.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
                               version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                               applied_at timestamptz NOT NULL DEFAULT now(),
                               applied_by name NOT NULL DEFAULT session_user)""")
            cur.execute("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
            applied = {v: (n, c) for v, n, c in cur.fetchall()}
            known = {m.version: m for m in files}
            newer = sorted(set(applied) - set(known))
            if newer:
                raise TeamStoreError(
                    f"the team store {target.schema} has schema version {max(newer)}, newer than this CallGuide "
                    f"knows ({files[-1].version}); upgrade CallGuide, nothing was changed", "schema")
            for m in files:
                if m.version in applied:
                    if applied[m.version][1] != m.checksum:
                        raise TeamStoreError(
                            f"migration {m.version:04d}_{m.name} was changed after it was applied to "
                            f"{target.schema}; nothing was changed", "schema")
                    continue
                cur.execute(render(m.text, target).encode("utf-8"))
                cur.execute("INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                            (m.version, m.name, m.checksum))
                report.applied.append(f"{m.version:04d}_{m.name}")
            # The protection types follow the code that derives account state, exactly: a type the
            # code no longer counts as a protection (an escalation's details) stops being readable.
            cur.execute("SELECT type FROM protection_types")
            have = {r[0] for r in cur.fetchall()}
            for t in sorted(set(protection_types) - have):
                cur.execute("INSERT INTO protection_types (type) VALUES (%s)", (t,))
            gone = sorted(have - set(protection_types))
            if gone:
                cur.execute("DELETE FROM protection_types WHERE type = ANY(%s)", (gone,))
            report.version = files[-1].version
        return report
    except psycopg.Error as e:
        raise classify(e, target) from None
    finally:
        conn.close()


def add_person(target: TeamTarget, person_id: str, roles: list[str] | tuple[str, ...], *, name: str = "",
               team: str | None = None, login: str | None = None) -> str:
    """Create (or update) a person: their own login role (default: the person id), membership of
    exactly the given group roles, and the `people` row. Returns the login role name. The password
    is never set here: use `\\password` in psql, or the site's own authentication (peer, GSSAPI, cert)."""
    import psycopg

    unknown = sorted(set(roles) - set(ROLES))
    if unknown or not roles:
        raise TeamStoreError(f"roles must be some of {', '.join(ROLES)}; got {', '.join(roles) or 'none'}", "config")
    login = check_name(login or person_id, "login role")
    conn = connect(target, app="callguide-server-person")
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key(target),))
            cur.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (login,))
            row = cur.fetchone()
            if row is None:
                cur.execute(f"CREATE ROLE {quote_ident(login)} LOGIN")
            elif not row[0]:
                raise TeamStoreError(f"{login} exists and is not a login role", "config")
            for role in ROLES:
                group = quote_ident(target.role(role))
                if role in roles:
                    cur.execute(f"GRANT {group} TO {quote_ident(login)}")
                else:
                    cur.execute(f"REVOKE {group} FROM {quote_ident(login)}")
            cur.execute(f"SET LOCAL ROLE {quote_ident(target.owner)}")
            cur.execute("""INSERT INTO people (person_id, login_role, name, roles, team) VALUES (%s, %s, %s, %s, %s)
                           ON CONFLICT (person_id) DO UPDATE SET login_role = excluded.login_role,
                               name = excluded.name, roles = excluded.roles, team = excluded.team,
                               changed_at = now()""",
                        (person_id, login, name, sorted(roles), team))
        return login
    except psycopg.Error as e:
        raise classify(e, target) from None
    finally:
        conn.close()


def status(target: TeamTarget) -> dict[str, Any]:
    """What the team store holds: schema version, roles and their members, counts, desktops' heads."""
    import psycopg

    conn = connect(target, app="callguide-server-status")
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW server_version")
            out: dict[str, Any] = {"schema": target.schema, "server_version": cur.fetchone()[0],
                                   "known_version": known_version()}
            cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (target.schema,))
            if not cur.fetchone():
                out["version"] = 0
                out["roles"] = _roles(cur, target)
                return out
            cur.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
            if not cur.fetchone()[0]:
                out["version"] = 0
                out["roles"] = _roles(cur, target)
                return out
            cur.execute("SELECT max(version) FROM schema_migrations")
            out["version"] = cur.fetchone()[0] or 0
            out["roles"] = _roles(cur, target)
            counts = {}  # every table of the schema (whatever later migrations add), as this login may see it
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", (target.schema,))
            for (table,) in cur.fetchall():
                cur.execute(f"SELECT count(*) FROM {quote_ident(target.schema)}.{quote_ident(table)}")
                counts[table] = cur.fetchone()[0]
            out["counts"] = counts
            cur.execute("SELECT desktop_id, owner, head_seq, head_hash, head_at FROM desktops ORDER BY desktop_id")
            out["desktops"] = [{"desktop": d, "owner": o, "head_seq": s, "head_hash": h,
                                "head_at": a.isoformat() if a else None} for d, o, s, h, a in cur.fetchall()]
        conn.rollback()
        return out
    except psycopg.Error as e:
        raise classify(e, target) from None
    finally:
        conn.close()


def _roles(cur: Any, target: TeamTarget) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for role in ("owner", *ROLES):
        name = target.role(role)
        cur.execute("""SELECT r.oid, (SELECT count(*) FROM pg_auth_members m WHERE m.roleid = r.oid)
                       FROM pg_roles r WHERE r.rolname = %s""", (name,))
        row = cur.fetchone()
        out[name] = None if row is None else {"members": row[1]}
    return out
