"""Suite-wide settings: the flow cache goes to a throw-away folder, never the user's."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("CALLGUIDE_CACHE_DIR", tempfile.mkdtemp(prefix="callguide-test-cache-"))
# The journal's signing key and anchors (docs/journal.md): never the user's own folders.
os.environ.setdefault("CALLGUIDE_KEYS_DIR", tempfile.mkdtemp(prefix="callguide-test-keys-"))
os.environ.setdefault("CALLGUIDE_ANCHORS_DIR", tempfile.mkdtemp(prefix="callguide-test-anchors-"))
