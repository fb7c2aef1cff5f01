"""A stable id for a desktop's local journal, the key of its stream in the team store.

The journal's own id when it has one (`journal.journal_id`, which the checkpoint work keeps in the
journal's meta table). Until that lands, the id is derived from the journal itself: "j" + the first
32 hex digits of the hash of entry 1. That hash covers the first entry's time, call id and agent, so
it is unique per journal file in practice (only scripted tests with identical first entries could
share it), never changes, and needs no new column. A journal with no entries and no id has no id
yet (there is nothing to sync). The server treats ids as opaque text.
"""

from __future__ import annotations

from callguide.store.base import JournalStore


def desktop_id(journal: JournalStore) -> str | None:
    own = getattr(journal, "journal_id", None)
    if isinstance(own, str) and own:
        return own
    for entry in journal.iter_entries(0):
        return "j" + entry.hash[:32]
    return None
