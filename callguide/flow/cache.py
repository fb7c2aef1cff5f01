"""A content-keyed cache of loaded and validated flow libraries.

Reading a flow (libyaml events, about 5 ms for a 30 KB flow), checking it and validating the
whole library still costs tens of milliseconds, and a live call needs the library validated
before it starts, on the start-up path of the call window. Published flows
are immutable texts, so the result is a pure function of (the flow texts, the signposts
bytes, this package's loader and validator code): it is kept under that key in the user's
cache folder and reused. Change any of the three and the key changes; a damaged or
unreadable cache entry is ignored and rebuilt. `CALLGUIDE_CACHE=off` disables it,
`CALLGUIDE_CACHE_DIR` moves it.

Entries are pickles written by this module into the user's own cache folder (never read from
anywhere else). Never imports Qt.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import platformdirs

T = TypeVar("T")

_FORMAT = b"callguide-flow-cache-1"


def cache_dir() -> Path | None:
    if os.environ.get("CALLGUIDE_CACHE", "").lower() in ("off", "0", "no", "false"):
        return None
    env = os.environ.get("CALLGUIDE_CACHE_DIR")
    return Path(env) if env else Path(platformdirs.user_cache_dir("CallGuide", appauthor=False)) / "flows"


@lru_cache(maxsize=1)
def code_version() -> str:
    """A hash of the code that turns texts into a validated library (and the flow schema)."""
    from callguide import paths

    h = hashlib.sha256(_FORMAT)
    here = Path(__file__).resolve().parent
    for p in sorted(here.glob("*.py")) + sorted((here.parent / "engine").glob("actions.py")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    try:
        h.update(paths.schema_path().read_bytes())
    except OSError:
        pass
    return h.hexdigest()


def key_for(parts: Iterable[str | bytes]) -> str:
    h = hashlib.sha256(code_version().encode())
    for part in parts:
        data = part if isinstance(part, bytes) else part.encode("utf-8")
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def cached(kind: str, parts: Iterable[str | bytes], build: Callable[[], T]) -> T:
    """Return the cached value for (kind, parts), or build, store and return it."""
    folder = cache_dir()
    if folder is None:
        return build()
    path = folder / f"{kind}-{key_for(parts)}.pickle"
    try:
        raw = path.read_bytes()
        if raw.startswith(_FORMAT):
            return pickle.loads(raw[len(_FORMAT):])  # noqa: S301 - our own file, keyed by content
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        pass
    value = build()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(_FORMAT + pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only or full cache folder only costs speed
    return value
