"""A stable id for a desktop's local journal, the key of its stream in the team store.

Until the journal carries an id of its own (the journal engineer's checkpoint work adds one),
the id is derived from the journal itself: "j" + the first 32 hex digits of the hash of entry 1.
That hash covers the first entry's time, call id and agent, so it is unique per journal file in
practice, never changes, and needs no new column. A journal with no entries has no id yet (there
is nothing to sync). When the journal's own id lands, replace `desktop_id()` with it; desktops that
already synced under the derived id keep it (the server treats ids as opaque text).
"""

from __future__ import annotations

from callguide.store.base import JournalStore


def desktop_id(journal: JournalStore) -> str | None:
    for entry in journal.iter_entries(0):
        return "j" + entry.hash[:32]
    return None
