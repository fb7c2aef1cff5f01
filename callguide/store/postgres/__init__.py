"""The team store: a central PostgreSQL journal that each desktop's journal syncs into.

- `connect`: finding the server (`--db`, `CALLGUIDE_DB_URL`, config file; never a password).
- `migrate`: `callguide server init/status/person`: roles, numbered SQL migrations, RLS.
- `journal`: `PostgresJournal` (the `JournalStore` reads, as the connected person) and `ingest`.
- `cache`: the desktop's local copy of the protections it last read from the team store.

Needs the `team` extra (psycopg 3, psycopg-pool). See docs/team.md. Never imports Qt.
"""

from .connect import TeamStoreError, TeamTarget, resolve

__all__ = ["TeamStoreError", "TeamTarget", "resolve"]
