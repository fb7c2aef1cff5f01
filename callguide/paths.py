"""Where CallGuide finds its bundled data and keeps its files.

Bundled data (`flows/`, `resources/`) sits next to the package in a checkout or an
editable install, and inside the bundle in a PyInstaller build. The journal lives in
the user's data directory (platformdirs) unless `--db` or `CALLGUIDE_DB` says otherwise.
The journal's signing key lives in the user's config directory and its anchors in the user's
data directory, both outside the journal file (docs/journal.md, "Tamper evidence").
Never imports Qt.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "CallGuide"


def _root() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen)
    return Path(__file__).resolve().parent.parent


def resources_dir() -> Path:
    return Path(os.environ.get("CALLGUIDE_RESOURCES") or _root() / "resources")


def flows_dir() -> Path:
    return Path(os.environ.get("CALLGUIDE_FLOWS") or _root() / "flows")


def signposts_path() -> Path:
    """Emergency, crisis and debt-advice entries per country (`CALLGUIDE_SIGNPOSTS` overrides)."""
    env = os.environ.get("CALLGUIDE_SIGNPOSTS")
    return Path(env) if env else resources_dir() / "signposts.yaml"


def schema_path() -> Path:
    return resources_dir() / "schema" / "flow.schema.json"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def keys_dir() -> Path:
    """The journal's signing key (mode 0600, created on first use): `CALLGUIDE_KEYS_DIR`, else
    `<user config dir>/keys`. Never inside the journal's own folder by default."""
    env = os.environ.get("CALLGUIDE_KEYS_DIR")
    return Path(env) if env else config_dir() / "keys"


def anchors_dir() -> Path:
    """Anchor files, one per journal (`<journal id>.jsonl`, append-only signed checkpoints):
    `CALLGUIDE_ANCHORS_DIR`, else `<user data dir>/anchors`."""
    env = os.environ.get("CALLGUIDE_ANCHORS_DIR")
    return Path(env) if env else data_dir() / "anchors"


def default_db_path() -> Path:
    """The live journal: `CALLGUIDE_DB`, else `<user data dir>/journal.db`."""
    env = os.environ.get("CALLGUIDE_DB")
    return Path(env) if env else data_dir() / "journal.db"


def default_practice_db_path() -> Path:
    """Practice runs never touch the live journal."""
    env = os.environ.get("CALLGUIDE_PRACTICE_DB")
    return Path(env) if env else data_dir() / "practice.db"
