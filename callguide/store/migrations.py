"""Schema of the SQLite journal, evolved only through sqlite-utils migrations.

Never edit an applied migration: add a new one. `apply(db)` is idempotent and safe when two
processes open the same fresh file at once (the caller holds BEGIN IMMEDIATE around it).
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

MIGRATION_SET = "callguide.journal"

migrations = Migrations(MIGRATION_SET)


def _strict(db: Database) -> str:
    return " STRICT" if db.supports_strict else ""


@migrations(name="0001_entries_and_snapshots")
def m0001(db: Database) -> None:
    strict = _strict(db)
    db.execute(f"""
        CREATE TABLE entries (
            seq INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            type TEXT NOT NULL,
            call_id TEXT NOT NULL,
            account_id TEXT NOT NULL,
            agent TEXT NOT NULL,
            flow_id TEXT,
            flow_hash TEXT,
            step_id TEXT,
            data TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        ){strict}
    """)
    # (account_id, seq) plus type, so account_state filters on type without touching the table.
    db.execute("CREATE INDEX idx_entries_account_seq ON entries (account_id, seq, type)")
    db.execute("CREATE INDEX idx_entries_call_seq ON entries (call_id, seq)")
    for op in ("UPDATE", "DELETE"):
        db.execute(f"""
            CREATE TRIGGER entries_no_{op.lower()} BEFORE {op} ON entries
            BEGIN SELECT RAISE(ABORT, 'journal entries are append-only'); END
        """)

    db.execute(f"""
        CREATE TABLE flow_snapshots (
            flow_hash TEXT PRIMARY KEY,
            flow_id TEXT NOT NULL,
            version TEXT NOT NULL,
            text TEXT NOT NULL,
            first_seen TEXT NOT NULL
        ){strict}
    """)
    for op in ("UPDATE", "DELETE"):
        db.execute(f"""
            CREATE TRIGGER flow_snapshots_no_{op.lower()} BEFORE {op} ON flow_snapshots
            BEGIN SELECT RAISE(ABORT, 'flow snapshots are immutable'); END
        """)


@migrations(name="0002_call_index")
def m0002(db: Database) -> None:
    """A small derived index of calls, kept by a trigger in the same transaction as each append.
    `entries` stays the source of truth; `rebuild_call_index` recreates this from it."""
    strict = _strict(db)
    db.execute(f"""
        CREATE TABLE call_index (
            call_id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            agent TEXT NOT NULL,
            start_seq INTEGER,
            started TEXT,
            first_ts TEXT NOT NULL,
            last_ts TEXT NOT NULL,
            entries INTEGER NOT NULL,
            ended INTEGER NOT NULL
        ){strict}
    """)
    db.execute("CREATE INDEX idx_call_index_open ON call_index (first_ts) WHERE ended = 0")
    db.execute("""
        CREATE TRIGGER entries_call_index AFTER INSERT ON entries
        BEGIN
            INSERT INTO call_index (call_id, account_id, agent, start_seq, started, first_ts, last_ts,
                                    entries, ended)
            VALUES (new.call_id, new.account_id, new.agent,
                    CASE WHEN new.type = 'call_started' THEN new.seq END,
                    CASE WHEN new.type = 'call_started' THEN new.ts END,
                    new.ts, new.ts, 1, new.type = 'call_ended')
            ON CONFLICT (call_id) DO UPDATE SET
                last_ts = excluded.last_ts,
                entries = entries + 1,
                ended = max(ended, excluded.ended),
                start_seq = coalesce(start_seq, excluded.start_seq),
                started = coalesce(started, excluded.started);
        END
    """)
    rebuild_call_index(db)


def rebuild_call_index(db: Database) -> None:
    """Recreate `call_index` from `entries` (inside the caller's transaction)."""
    db.execute("DELETE FROM call_index")
    db.execute("""
        INSERT INTO call_index (call_id, account_id, agent, start_seq, started, first_ts, last_ts,
                                entries, ended)
        SELECT e.call_id,
               (SELECT account_id FROM entries f WHERE f.call_id = e.call_id ORDER BY seq LIMIT 1),
               (SELECT agent FROM entries f WHERE f.call_id = e.call_id ORDER BY seq LIMIT 1),
               min(CASE WHEN e.type = 'call_started' THEN e.seq END),
               (SELECT ts FROM entries f WHERE f.call_id = e.call_id AND f.type = 'call_started'
                ORDER BY seq LIMIT 1),
               (SELECT ts FROM entries f WHERE f.call_id = e.call_id ORDER BY seq LIMIT 1),
               (SELECT ts FROM entries f WHERE f.call_id = e.call_id ORDER BY seq DESC LIMIT 1),
               count(*),
               max(e.type = 'call_ended')
        FROM entries e GROUP BY e.call_id
    """)


def apply(db: Database) -> None:
    migrations.apply(db)


def pending(db: Database) -> list[str]:
    return [m.name for m in migrations.pending(db)]
