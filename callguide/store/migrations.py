"""Schema of the SQLite journal, evolved only through sqlite-utils migrations.

Never edit an applied migration: add a new one, and raise `SCHEMA_VERSION` (kept in
`PRAGMA user_version`). `apply(db)` is idempotent and safe when two processes open the same fresh
file at once (the caller holds BEGIN IMMEDIATE around it). A file whose user_version is higher,
or which records a migration of this set that this version does not know, comes from a newer
CallGuide and is refused before anything is written (`sqlite.open_database`).

`expected_schema()` is the schema these migrations build (tables, indexes, triggers, with their
exact SQL), made once per process in memory: every open compares the file with it, so a dropped
trigger, a dropped table, an index redefined through `writable_schema` or an extra trigger on a
journal table is noticed before anything is read or written.
"""

from __future__ import annotations

import functools
import sqlite3
import uuid

from sqlite_utils import Database, Migrations

MIGRATION_SET = "callguide.journal"
SCHEMA_VERSION = 6

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
    _rebuild_call_index_rows(db)


def rebuild_call_index(db: Database) -> None:
    """Recreate `call_index` (and the strays in `account_index`) from `entries`, inside the
    caller's transaction."""
    _rebuild_call_index_rows(db)
    _recount_accounts(db)
    if "state" in db["call_index"].columns_dict:
        _recount_state(db)


def _rebuild_call_index_rows(db: Database) -> None:
    """The rows of `call_index` as migration 0002 made them (every column but `own`)."""
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
        FROM entries e NOT INDEXED GROUP BY e.call_id
    """)


@migrations(name="0003_checkpoints_meta_account_index")
def m0003(db: Database) -> None:
    """Tamper evidence and a cross-check for derived state:
    - `journal_meta`: the journal's id (anchors are kept per id), and the seq from which
      checkpoints are written (older entries predate them);
    - `checkpoints`: signed (seq, head hash, time, key) rows, written in the same transaction as
      the entries they cover;
    - `account_index`: entries per account, kept by a trigger, so `account_state` can tell an
      index that lost entries from an account that has none."""
    strict = _strict(db)
    db.execute(f"CREATE TABLE journal_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL){strict}")
    db.execute(f"""
        CREATE TABLE checkpoints (
            seq INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            head TEXT NOT NULL,
            key TEXT NOT NULL,
            sig TEXT NOT NULL
        ){strict}
    """)
    for table in ("journal_meta", "checkpoints"):
        for op in ("UPDATE", "DELETE"):
            db.execute(f"""
                CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table}
                BEGIN SELECT RAISE(ABORT, 'journal {table} are append-only'); END
            """)
    end = db.execute("SELECT coalesce(max(seq), 0) FROM entries").fetchone()[0]
    db.execute("INSERT INTO journal_meta (key, value) VALUES ('journal_id', ?), ('checkpoints_from', ?)",
               (str(uuid.uuid4()), str(end)))
    db.execute(f"CREATE TABLE account_index (account_id TEXT PRIMARY KEY, entries INTEGER NOT NULL){strict}")
    db.execute("""
        CREATE TRIGGER entries_account_index AFTER INSERT ON entries
        BEGIN
            INSERT INTO account_index (account_id, entries) VALUES (new.account_id, 1)
            ON CONFLICT (account_id) DO UPDATE SET entries = entries + 1;
        END
    """)
    # From the table itself, not through an index that may be damaged.
    db.execute("INSERT INTO account_index (account_id, entries)"
               " SELECT account_id, count(*) FROM entries NOT INDEXED GROUP BY account_id")


@migrations(name="0004_counts_in_the_call_row")
def m0004(db: Database) -> None:
    """The counts kept beside the entries, one page per entry instead of three (docs/journal.md):
    - the trigger that counts a call's entries sets only `last_ts`, `entries` and `own` on a call
      seen before (columns no index holds); what a `call_started` or `call_ended` entry says about
      the call (`start_seq`, `started`, `ended`) is set by a second trigger for those two types, so
      the open-calls index is no longer rewritten by every entry;
    - an account's entries are counted in its calls' rows (`own`: the call's entries that carry
      the call's account; `idx_call_index_account` finds an account's calls), and `account_index`
      keeps only strays (an entry whose account is not its call's), so an entry no longer rewrites
      its account's row.
    `own` and the strays are counted from the table itself, like 0003's counts."""
    db.execute("DROP TRIGGER entries_call_index")
    db.execute("DROP TRIGGER entries_account_index")
    db.execute("ALTER TABLE call_index ADD COLUMN own INTEGER NOT NULL DEFAULT 0")
    db.execute("CREATE INDEX idx_call_index_account ON call_index (account_id)")
    db.execute("""
        CREATE TRIGGER entries_call_index AFTER INSERT ON entries
        BEGIN
            INSERT INTO call_index (call_id, account_id, agent, start_seq, started, first_ts, last_ts,
                                    entries, ended, own)
            VALUES (new.call_id, new.account_id, new.agent,
                    CASE WHEN new.type = 'call_started' THEN new.seq END,
                    CASE WHEN new.type = 'call_started' THEN new.ts END,
                    new.ts, new.ts, 1, new.type = 'call_ended', 1)
            ON CONFLICT (call_id) DO UPDATE SET
                last_ts = excluded.last_ts,
                entries = entries + 1,
                own = own + (excluded.account_id = account_id);
        END
    """)
    db.execute("""
        CREATE TRIGGER entries_call_marks AFTER INSERT ON entries
        WHEN new.type IN ('call_started', 'call_ended')
        BEGIN
            UPDATE call_index SET
                ended = max(ended, new.type = 'call_ended'),
                start_seq = coalesce(start_seq, CASE WHEN new.type = 'call_started' THEN new.seq END),
                started = coalesce(started, CASE WHEN new.type = 'call_started' THEN new.ts END)
            WHERE call_id = new.call_id;
        END
    """)
    db.execute("""
        CREATE TRIGGER entries_account_strays AFTER INSERT ON entries
        WHEN new.account_id != (SELECT account_id FROM call_index WHERE call_id = new.call_id)
        BEGIN
            INSERT INTO account_index (account_id, entries) VALUES (new.account_id, 1)
            ON CONFLICT (account_id) DO UPDATE SET entries = entries + 1;
        END
    """)
    _recount_accounts(db)


def _recount_accounts(db: Database) -> None:
    """`call_index.own` and the strays in `account_index`, counted from the table itself (not
    through an index that may be damaged), inside the caller's transaction."""
    db.execute("DROP TABLE IF EXISTS temp.callguide_counts")
    db.execute("CREATE TEMP TABLE callguide_counts AS SELECT call_id, account_id, count(*) AS n"
               " FROM entries NOT INDEXED GROUP BY call_id, account_id")
    db.execute("CREATE INDEX temp.callguide_counts_key ON callguide_counts (call_id, account_id)")
    db.execute("UPDATE call_index SET own = coalesce((SELECT n FROM temp.callguide_counts c"
               " WHERE c.call_id = call_index.call_id AND c.account_id = call_index.account_id), 0)")
    db.execute("DELETE FROM account_index")
    db.execute("INSERT INTO account_index (account_id, entries) SELECT c.account_id, sum(c.n)"
               " FROM temp.callguide_counts c JOIN call_index i ON i.call_id = c.call_id"
               " WHERE c.account_id != i.account_id GROUP BY c.account_id")
    db.execute("DROP TABLE temp.callguide_counts")


#: The entry types the account register reads (`derive.STATE_TYPES`) as migration 0005 froze them:
#: the account index holds only these (the SQL of a partial index is fixed by the migration that
#: made it; a test keeps this equal to `STATE_TYPES`, so a new protection type comes with a new
#: migration that rebuilds the index, the triggers and the counts).
INDEXED_STATE_TYPES = (
    "call_started", "call_ended", "consent", "consent_withdrawn", "outcome", "hold_started", "hold_ended",
    "collection_blocked", "callback", "vulnerability", "disclosure", "adjustment", "capacity_doubt",
    "capacity_review", "crisis", "crisis_review", "dispute", "dispute_review", "third_party", "erasure",
    "escalation")


def _state_predicate(column: str) -> str:
    """`column` is one of `INDEXED_STATE_TYPES`, spelt as a chain of `=`: SQLite evaluates an `IN`
    over more than two constants by building a temporary b-tree each time a trigger or an index's
    predicate runs (about 30,000 instructions an entry), a chain of comparisons in a few hundred."""
    return "(" + " OR ".join(f"{column} = '{t}'" for t in INDEXED_STATE_TYPES) + ")"


#: The predicate of the account index, word for word: a query must repeat it to be able to use it.
STATE_PREDICATE = _state_predicate("type")


@migrations(name="0005_account_index_of_state_types")
def m0005(db: Database) -> None:
    """The account index holds only the entries the account register reads (docs/journal.md,
    "What a step writes"): a step's entries no longer add a cell to it. What it must find is
    counted beside the other counts, by the triggers that already run for every entry: `state` in a
    call's row (its own entries of those types) and in `account_index` (strays of those types), so
    an index that lost a row is still noticed (`SQLiteJournal.account_state`, the audit). Counted
    from the table itself, like 0003's and 0004's counts."""
    db.execute("DROP INDEX idx_entries_account_seq")
    db.execute(f"CREATE INDEX idx_entries_account_state ON entries (account_id, seq) WHERE {STATE_PREDICATE}")
    db.execute("ALTER TABLE call_index ADD COLUMN state INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE account_index ADD COLUMN state INTEGER NOT NULL DEFAULT 0")
    db.execute("DROP TRIGGER entries_call_index")
    db.execute("DROP TRIGGER entries_account_strays")
    db.execute(f"""
        CREATE TRIGGER entries_call_index AFTER INSERT ON entries
        BEGIN
            INSERT INTO call_index (call_id, account_id, agent, start_seq, started, first_ts, last_ts,
                                    entries, ended, own, state)
            VALUES (new.call_id, new.account_id, new.agent,
                    CASE WHEN new.type = 'call_started' THEN new.seq END,
                    CASE WHEN new.type = 'call_started' THEN new.ts END,
                    new.ts, new.ts, 1, new.type = 'call_ended', 1, {_state_predicate('new.type')})
            ON CONFLICT (call_id) DO UPDATE SET
                last_ts = excluded.last_ts,
                entries = entries + 1,
                own = own + (excluded.account_id = account_id),
                state = state + (excluded.account_id = account_id AND excluded.state);
        END
    """)
    db.execute(f"""
        CREATE TRIGGER entries_account_strays AFTER INSERT ON entries
        WHEN new.account_id != (SELECT account_id FROM call_index WHERE call_id = new.call_id)
        BEGIN
            INSERT INTO account_index (account_id, entries, state) VALUES (new.account_id, 1, {_state_predicate('new.type')})
            ON CONFLICT (account_id) DO UPDATE SET entries = entries + 1, state = state + excluded.state;
        END
    """)
    _recount_state(db)


def _recount_state(db: Database) -> None:
    """`state` of `call_index` and `account_index` (the entries of `INDEXED_STATE_TYPES` the
    account index must find), counted from the table itself, inside the caller's transaction."""
    db.execute("DROP TABLE IF EXISTS temp.callguide_counts")
    db.execute("CREATE TEMP TABLE callguide_counts AS SELECT call_id, account_id, count(*) AS n"
               f" FROM entries NOT INDEXED WHERE {STATE_PREDICATE} GROUP BY call_id, account_id")
    db.execute("CREATE INDEX temp.callguide_counts_key ON callguide_counts (call_id, account_id)")
    db.execute("UPDATE call_index SET state = coalesce((SELECT n FROM temp.callguide_counts c"
               " WHERE c.call_id = call_index.call_id AND c.account_id = call_index.account_id), 0)")
    db.execute("UPDATE account_index SET state = 0")
    db.execute("INSERT INTO account_index (account_id, entries, state) SELECT c.account_id, 0, sum(c.n)"
               " FROM temp.callguide_counts c JOIN call_index i ON i.call_id = c.call_id"
               " WHERE c.account_id != i.account_id GROUP BY c.account_id"
               " ON CONFLICT (account_id) DO UPDATE SET state = excluded.state")
    db.execute("DROP TABLE temp.callguide_counts")


#: journal_meta keys of the grandfathering point of relaxing entries (docs/journal.md, "Relaxing entries
#: are signed"): G, the newest checkpoint's seq when 0006 ran, and the journal key's signature over
#: `relaxing_text(journal_id, G)`.
RELAXING_FROM = "relaxing_signed_from"
RELAXING_FROM_SIG = "relaxing_signed_from_sig"
M0006 = "0006_relaxing_entries_signed"


def relaxing_text(journal_id: str, g: int | str) -> bytes:
    return f"callguide relaxing-signed-from v1|{journal_id}|{g}".encode()


@migrations(name=M0006)
def m0006(db: Database) -> None:
    """From this version on, every relaxing entry (`entry_types.RELAXING_TYPES`) gets a checkpoint at
    its own seq, in its own transaction. Nothing changes in the schema: the grandfathering point G
    (relaxing entries at or before it were written before this rule and count) is written by the
    opener in the same transaction, signed with the journal's key (`record_relaxing_from`): a
    migration run without the key records nothing, and the register is then strict (G = 0)."""


def record_relaxing_from(conn: sqlite3.Connection, sign: object, before_checkpoints: bool = False) -> None:
    """Inside the migrating transaction, right after 0006 ran: G = the newest checkpoint's seq (0 for
    a new journal) and `sign(relaxing_text(journal_id, G))` (hex), unless rows are already there
    (journal_meta is insert-only; a row left by an earlier run stays, valid or not).
    `before_checkpoints`: 0003 ran in the same transaction (the journal predates checkpoints, none of
    its entries could be signed): G = its last entry, which 0003 just recorded as `checkpoints_from`.
    (A G read from an older `checkpoints_from` is never trusted: it is unsigned.)"""
    journal_id = conn.execute("SELECT value FROM journal_meta WHERE key = 'journal_id'").fetchone()
    if journal_id is None:
        return
    g = int(conn.execute("SELECT coalesce(max(seq), 0) FROM checkpoints").fetchone()[0])
    if before_checkpoints:
        g = max(g, int(conn.execute("SELECT coalesce(max(seq), 0) FROM entries").fetchone()[0]))
    sig = sign(relaxing_text(journal_id[0], g)).hex()  # type: ignore[operator]
    conn.execute("INSERT OR IGNORE INTO journal_meta (key, value) VALUES (?, ?), (?, ?)",
                 (RELAXING_FROM, str(g), RELAXING_FROM_SIG, sig))


# The tables whose rows are the record: no UPDATE, no DELETE, no other trigger on them.
APPEND_ONLY = ("entries", "flow_snapshots", "checkpoints", "journal_meta")


def apply(db: Database) -> None:
    migrations.apply(db)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def known_names() -> set[str]:
    return {m.name for m in migrations._migrations}


@functools.cache
def expected_schema() -> dict[str, tuple[str, str, str]]:
    """name -> (type, table, sql) of every table, index and trigger the migrations create."""
    conn = sqlite3.connect(":memory:")
    try:
        migrations.apply(Database(conn, execute_plugins=False))
        rows = conn.execute("SELECT name, type, tbl_name, sql FROM sqlite_master"
                            " WHERE sql IS NOT NULL AND tbl_name != ?", (Migrations.migrations_table,)).fetchall()
    finally:
        conn.close()
    return {name: (type_, table, sql) for name, type_, table, sql in rows}


def pending(db: Database) -> list[str]:
    return [m.name for m in migrations.pending(db)]
