"""Suite-wide settings: the flow cache goes to a throw-away folder, never the user's."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("CALLGUIDE_CACHE_DIR", tempfile.mkdtemp(prefix="callguide-test-cache-"))
