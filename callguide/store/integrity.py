"""Cheap checks that a journal file is whole and is the one its anchors saw, run at every open
(`SQLiteJournal.open`) and again, among the full checks, by `audit verify` (`store/audit.py`).

- `schema_problems`: every table, index and trigger the migrations make is there with its exact
  SQL, and no other trigger sits on a journal table (a dropped append-only trigger, a dropped
  table, an index redefined through `writable_schema`, a trigger that silently drops inserts).
- `consistency_problems`: the tables of calls and of accounts count exactly the entries the table
  holds (entries are numbered 1..N without gaps; an account's entries are its calls' `own` entries
  plus the strays `account_index` counts); with `deep=True` (the audit) both entry indexes and the
  index of calls by account are walked and counted too (the account index holds only the types the
  account register reads, counted by `state` beside the other counts: migration 0005). Reads through an index check their own
  slice against these tables (`SQLiteJournal.account_state`, `call_entries`), so an index that
  lost entries is noticed before derived state is shown from it.
- `head_problems`: the newest signed checkpoint in the file and the newest one each witness holds
  still match the journal (it was not cut short, replaced by an older copy or rewritten).

Each returns plain sentences; an empty list means no problem. Never imports Qt or the engine.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from . import entry_types as et
from . import migrations as _migrations
from .checkpoints import Checkpoint
from .keys import PublicKey

_WS = re.compile(r"\s+")


def _norm(sql: str | None) -> str:
    text = _WS.sub(" ", sql or "").strip()
    return text[: -len(" STRICT")] if text.endswith(" STRICT") else text


def schema_objects(conn: sqlite3.Connection) -> dict[str, tuple[str, str, str | None]]:
    rows = conn.execute("SELECT name, type, tbl_name, sql FROM sqlite_master").fetchall()
    return {name: (type_, table, sql) for name, type_, table, sql in rows}


def schema_problems(conn: sqlite3.Connection) -> list[str]:
    expected = _migrations.expected_schema()
    have = schema_objects(conn)
    problems: list[str] = []
    ours = {table for _, table, _ in expected.values()}
    for name, (type_, table, sql) in expected.items():
        got = have.get(name)
        if got is None:
            what = "append-only trigger" if type_ == "trigger" and name.endswith(("_no_update", "_no_delete")) \
                else type_
            problems.append(f"the {what} {name} is missing" + (" (dropped)" if type_ != "index" else ""))
        elif got[0] != type_ or got[1] != table or _norm(got[2]) != _norm(sql):
            problems.append(f"the {type_} {name} is not the one CallGuide made (its definition was changed)")
    for name, (type_, table, _) in have.items():
        if name in expected or name.startswith("sqlite_autoindex_"):
            continue
        if table in ours and type_ in ("trigger", "index"):
            problems.append(f"an unknown {type_} {name} sits on the journal table {table}")
        elif name in ours:
            problems.append(f"{name} is a {type_}, not the table CallGuide made")
    return problems


def missing_append_only_triggers(conn: sqlite3.Connection) -> list[str]:
    have = schema_objects(conn)
    return [f"{t}_no_{op}" for t in _migrations.APPEND_ONLY for op in ("update", "delete")
            if f"{t}_no_{op}" not in have]


def end_seq(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT coalesce(max(seq), 0) FROM entries").fetchone()[0]


def consistency_problems(conn: sqlite3.Connection, *, deep: bool = False) -> list[str]:
    """The tables of calls and accounts count exactly the entries the table holds (cheap: one row
    per call and per account). `deep` also walks both entry indexes end to end (about 30 ms per
    million entries warm, seconds cold), for the audit. Reads through these indexes check their
    own slice as they go (`SQLiteJournal.account_state`, `call_entries`). Run inside one read
    transaction (the caller's), so concurrent appends cannot skew the counts."""
    end = end_seq(conn)
    problems = []
    # One pass over each small table.
    calls, own, open_all, n_calls = conn.execute(
        "SELECT coalesce(sum(entries), 0), coalesce(sum(own), 0), coalesce(sum(ended = 0), 0), count(*)"
        " FROM call_index NOT INDEXED").fetchone()
    # An account's entries: those of its calls (`own`) plus strays (an entry whose account is not
    # its call's), which alone are counted in `account_index`.
    accounts = own + conn.execute("SELECT coalesce(sum(entries), 0) FROM account_index").fetchone()[0]
    counts = [("the table of calls", calls), ("the table of accounts", accounts)]
    if deep:
        # A range on the first column makes SQLite walk that index (count(*) alone takes the smallest).
        counts += [
            ("the call index of entries", conn.execute("SELECT count(*) FROM entries INDEXED BY idx_entries_call_seq"
                                                       " WHERE call_id >= ''").fetchone()[0]),
        ]
    for label, n in counts:
        if n != end:
            problems.append(f"{label} counts {n} entries but the journal ends at entry {end}")
    if deep:
        # The account index holds only the entries the account register reads (migration 0005): it
        # finds as many as the table holds of those types, and as many as the counts beside it say.
        pred = _migrations.STATE_PREDICATE
        state = conn.execute("SELECT (SELECT coalesce(sum(state), 0) FROM call_index NOT INDEXED)"
                             " + (SELECT coalesce(sum(state), 0) FROM account_index)").fetchone()[0]
        table = conn.execute(f"SELECT count(*) FROM entries NOT INDEXED WHERE {pred}").fetchone()[0]
        indexed = conn.execute(f"SELECT count(*) FROM entries INDEXED BY idx_entries_account_state"
                               f" WHERE account_id >= '' AND {pred}").fetchone()[0]
        for label, n in (("the account index", indexed), ("the counts of the account register's entries", state)):
            if n != table:
                problems.append(f"{label} counts {n} entries of the account register's types but the journal "
                                f"holds {table}")
    open_idx = conn.execute("SELECT count(*) FROM call_index INDEXED BY idx_call_index_open WHERE ended = 0"
                            ).fetchone()[0]
    if open_idx != open_all:
        problems.append(f"the index of unfinished calls lists {open_idx} calls but the table holds {open_all}")
    if deep:
        by_account = conn.execute("SELECT count(*) FROM call_index INDEXED BY idx_call_index_account"
                                  " WHERE account_id >= ''").fetchone()[0]
        if by_account != n_calls:
            problems.append(f"the index of calls by account lists {by_account} calls but the table holds {n_calls}")
    return problems


def meta(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT key, value FROM journal_meta").fetchall())


def hash_at(conn: sqlite3.Connection, seq: int) -> str | None:
    row = conn.execute("SELECT hash FROM entries WHERE seq = ?", (seq,)).fetchone()
    return row[0] if row else None


def relaxing_from(meta_rows: dict[str, str], journal_id: str, public: PublicKey | None) -> int:
    """G, the signed grandfathering point of relaxing entries: those at or before it predate the rule
    and count unsigned. 0 (strict) when it is missing, unreadable, or its signature does not verify
    under `public` (docs/journal.md, "Relaxing entries are signed")."""
    value, sig = meta_rows.get(_migrations.RELAXING_FROM), meta_rows.get(_migrations.RELAXING_FROM_SIG)
    if public is None or not value or not sig or not journal_id:
        return 0
    try:
        g = int(value)
        ok = g >= 0 and str(g) == value and public.verify(bytes.fromhex(sig), _migrations.relaxing_text(journal_id, g))
    except ValueError:
        return 0
    return g if ok else 0


def signed_at_own_seq(conn: sqlite3.Connection, journal_id: str, public: PublicKey | None,
                      entries: Sequence[tuple[int, str]], cache: dict[tuple[Any, ...], Any] | None = None) -> set[int]:
    """Of `entries` ((seq, hash) pairs), the seqs with a checkpoint at exactly that seq whose head is
    the entry's hash and whose signature verifies under `public`. `cache` remembers verified rows."""
    if public is None or not entries:
        return set()
    want = dict(entries)
    found: set[int] = set()
    seqs = list(want)
    for i in range(0, len(seqs), 500):
        part = seqs[i:i + 500]
        rows = conn.execute(f"SELECT seq, ts, head, key, sig FROM checkpoints WHERE seq IN ({','.join('?' * len(part))})",
                            part).fetchall()
        for row in rows:
            if row[2] != want.get(row[0]):
                continue
            key = (journal_id, public.fingerprint, *row)
            ok = cache.get(key) if cache is not None else None
            if ok is None:
                ok = journal_checkpoint(journal_id, row).valid_for(public)
                if cache is not None:
                    cache[key] = ok
            if ok:
                found.add(int(row[0]))
    return found


def unsigned_relaxing(conn: sqlite3.Connection, journal_id: str, public: PublicKey | None) -> list[tuple[int, str]]:
    """Every relaxing entry of the journal that relaxes (`derive.relaxes`) and does not count: after G
    and with no valid checkpoint of its own. (seq, type), oldest first. For the audit."""
    import json

    from .derive import relaxes

    g = relaxing_from(meta(conn), journal_id, public)
    types = et.RELAXING_TYPES
    rows = conn.execute(f"SELECT seq, type, data, hash FROM entries WHERE seq > ? AND type IN "
                        f"({','.join('?' * len(types))}) ORDER BY seq", (g, *types)).fetchall()
    candidates = []
    for seq, type_, data, hash_ in rows:
        try:
            d = json.loads(data)
        except ValueError:
            d = {}
        if relaxes(type_, d if isinstance(d, dict) else {}):
            candidates.append((seq, type_, hash_))
    signed = signed_at_own_seq(conn, journal_id, public, [(s, h) for s, _, h in candidates])
    return [(s, t) for s, t, _ in candidates if s not in signed]


def journal_checkpoint(journal_id: str, row: Sequence[Any]) -> Checkpoint:
    """A row of the `checkpoints` table (seq, ts, head, key, sig) as a Checkpoint."""
    seq, ts, head, key, sig = row
    return Checkpoint(journal_id, int(seq), str(head), str(ts), str(key), str(sig))


def latest_journal_checkpoint(conn: sqlite3.Connection, journal_id: str) -> Checkpoint | None:
    row = conn.execute("SELECT seq, ts, head, key, sig FROM checkpoints ORDER BY seq DESC LIMIT 1").fetchone()
    return journal_checkpoint(journal_id, row) if row else None


def compare_with_journal(conn: sqlite3.Connection, cp: Checkpoint, end: int, source: str) -> str | None:
    """A sentence when `cp` (from `source`, e.g. "the anchor of 14:02") disagrees with the journal."""
    if cp.seq > end:
        return (f"the journal ends at entry {end}, {source} saw entry {cp.seq}: entries {end + 1}-{cp.seq} are "
                "missing (cut off, or the file was replaced by an older copy)")
    if cp.seq == 0:
        return None
    have = hash_at(conn, cp.seq)
    if have is None:
        return f"entry {cp.seq}, which {source} saw, is missing from the journal"
    if have != cp.head:
        return (f"entry {cp.seq} has hash {have[:12]}…, {source} saw {cp.head[:12]}…: the entries up to "
                f"{cp.seq} were rewritten after they were signed (or the file was replaced)")
    return None


def checkpoints_removed(conn: sqlite3.Connection, newest: int) -> str | None:
    """Every call end writes a checkpoint in its own transaction: a call ended after the newest one
    in the file (`newest`; and after `checkpoints_from`, the journal's end before checkpoints
    existed) means checkpoints were removed, the forger's way to hide hashes rewritten after them.
    Reads only the entries after that checkpoint (at most `checkpoint_every` in a whole journal)."""
    since = int(meta(conn).get("checkpoints_from", "0") or 0)
    ended = conn.execute(f"SELECT max(seq) FROM entries WHERE seq > ? AND type = {et.sql(et.CALL_ENDED)}",
                         (max(newest, since),)).fetchone()[0]
    if ended is None:
        return None
    where = f"after the newest checkpoint in the file (entry {newest})" if newest else \
        "and the file holds no checkpoint at all"
    return f"a call ended at entry {ended} {where}, but every call end writes one: checkpoints were removed"


def head_problems(conn: sqlite3.Connection, journal_id: str, public: PublicKey | None,
                  anchored: Iterable[Checkpoint | None]) -> list[str]:
    """The quick version of the audit's checkpoint and anchor checks, for every open. `anchored`:
    each witness's newest checkpoint, read BEFORE the caller's read snapshot began (a witness only
    holds committed heads, so it can then never be ahead of the snapshot unless entries are
    missing). A checkpoint signed by another key than `public` is left to the audit (it may come
    from another machine); one that names this key but does not verify is a forgery."""
    problems: list[str] = []
    end = end_seq(conn)
    cp = latest_journal_checkpoint(conn, journal_id)
    if cp is not None:
        if public is not None and cp.key == public.fingerprint and not cp.valid_for(public):
            problems.append(f"the checkpoint at entry {cp.seq} does not carry a valid signature (forged)")
        else:
            msg = compare_with_journal(conn, cp, end, f"the journal's own checkpoint of {cp.when()}")
            if msg:
                problems.append(msg)
    removed = checkpoints_removed(conn, cp.seq if cp is not None else 0)
    if removed:
        problems.append(removed)
    for a in anchored:
        if a is None or public is None or not a.valid_for(public):
            continue
        msg = compare_with_journal(conn, a, end, f"the anchor of {a.when()}")
        if msg:
            problems.append(msg)
    return problems
