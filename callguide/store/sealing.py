"""Sealed values: special-category and personal data are stored encrypted, under data keys that
live outside the journal and can be destroyed (crypto-shredding). docs/journal.md, "Sealed values".

- `DataKeys`: the journal's data keys, one per account and consent purpose (plus the account's
  `personal` key), in their own SQLite file next to the journal (`<journal>.keys`), never in the
  hash chain. `destroy(...)` zeroes a key (`secure_delete`, then a `wal_checkpoint(TRUNCATE)`, so
  neither the file nor its write-ahead log keeps the bytes) and keeps a tombstone row: when, how
  (withdrawn / erased / purged) and why.
- `Sealer`: seals and opens values with AES-256-GCM (`cryptography`). What is sealed is decided in
  one place, `sealed_keys(type, data)`, from the entry types' declarations (`entry_types`):
  an entry's special keys (an answer's only when it answers a special field), its personal keys,
  never its reference keys (`call_ended.summary`, `call_started.history`: those carry
  `{"$ref": ...}` to the entry that holds the sealed value, never a copy).

A sealed value is `{"$sealed": {"k": [key ids], "p": [purposes], "n": nonce, "c": ciphertext}}`:
the purposes are in clear (they are not sensitive: the consent entries name them), the value is
not. A value sealed under several purposes needs every one of their keys (a text that quotes two
consented details is gone when either consent is withdrawn). The hash chain covers the sealed form,
so destroying a key never changes an entry and `callguide audit verify` still passes.

Opening a value whose key was destroyed gives a `Gone` (a `str`: "withdrawn on 25 November 2026"
in the call's language), never an error. Never imports Qt or the engine.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, cast

from . import entry_types as et
from .base import StoreError, canonical_json

SEALED = "$sealed"
REF = "$ref"
#: Beside `$sealed` in a register item read from several journals (team mode): the seq of the entry
#: in this desktop's journal that holds the item's sealed values, when the item's own `seq` is its
#: place among the merged rows. A history snapshot refers to that entry (`$ref`), never copies.
ENTRY_SEQ = "$entry_seq"
#: The account's own key: personal data, and special-category text no consent purpose covers
#: (free text, rendered text). Every erasure of the account destroys it.
PERSONAL = "personal"
#: How a key was destroyed (its tombstone says which, and the views say it in the call's language).
WITHDRAWN, ERASED, PURGED = "withdrawn", "erased", "purged"
HOWS = (WITHDRAWN, ERASED, PURGED)


# ---------------------------------------------------------------------- what is sealed (one place)

def sealed_keys(type_: str, data: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(special keys, personal keys) of an entry that are stored sealed, from its declaration:
    the special keys are sealed under the consent purposes of what they hold (or the personal key),
    the personal keys under the account's personal key. Reference keys are never sealed (they hold
    references only). An undeclared type seals nothing."""
    special, personal = _candidates(type_, data.get("sensitivity") == "special")
    if not special and not personal:
        return special, personal
    verbatim = data.get("flow_text")
    if verbatim:  # the flow's own text, word for word (`entry_types`: rendered keys only)
        rendered = _rendered(type_)
        skip = set()
        for k in verbatim:
            if isinstance(k, str) and k in rendered and isinstance(data.get(k), str):
                skip.add(k)
        if skip:
            return (tuple([k for k in special if k in data and k not in skip]),
                    tuple([k for k in personal if k in data and k not in skip]))
    return tuple([k for k in special if k in data]), tuple([k for k in personal if k in data])


@lru_cache(maxsize=256)
def _rendered(type_: str) -> frozenset[str]:
    t = et.REGISTRY.get(type_)
    return frozenset(t.rendered_keys) if t is not None else frozenset()


@lru_cache(maxsize=256)
def _candidates(type_: str, special_answer: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    t = et.REGISTRY.get(type_)
    if t is None:
        return (), ()
    if t.sensitivity == et.FIELD and not special_answer:
        return (), tuple(dict.fromkeys(t.special_keys + t.personal_keys))
    special = tuple(k for k in t.special_keys if k not in t.reference_keys)
    return special, tuple(k for k in t.personal_keys if k not in special)


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get(SEALED), dict)


def is_ref(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get(REF), dict)


def has_sealed(value: Any) -> bool:
    """A sealed value, or a mapping whose values are sealed (a record's `fields`: ids in clear)."""
    return is_sealed(value) or (isinstance(value, dict) and any(is_sealed(v) for v in value.values()))


def purposes_of(value: Any) -> list[str]:
    """The purposes `value` (or a mapping of sealed values) is sealed under."""
    if is_sealed(value):
        return list(value[SEALED].get("p") or [])
    if isinstance(value, dict):
        return sorted({p for v in value.values() if is_sealed(v) for p in v[SEALED].get("p") or []})
    return []


def _empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, (str, dict, list)):  # (what equals "", {} or [])
        return not value
    return value == "" or value == {} or value == []


def _done(value: Any) -> bool:
    """Nothing plain to seal: empty, sealed, a reference, or a mapping of such."""
    if _empty(value) or is_sealed(value) or is_ref(value):
        return True
    return isinstance(value, dict) and all(_empty(v) or is_sealed(v) for v in value.values())


# ---------------------------------------------------------------------- "withdrawn on DATE"

_TEXTS = {
    WITHDRAWN: {"en": "withdrawn on {date}", "da": "trukket tilbage {date}", "cs": "odvoláno {date}"},
    ERASED: {"en": "erased on {date}", "da": "slettet {date}", "cs": "vymazáno {date}"},
    PURGED: {"en": "deleted on {date} (retention)", "da": "slettet {date} (opbevaringsregel)",
             "cs": "smazáno {date} (doba uchování)"},
    "missing": {"en": "not readable here (no key)", "da": "kan ikke læses her (ingen nøgle)",
                "cs": "zde nečitelné (chybí klíč)"},
    "held_back": {"en": "reason held back: it may hold health details without consent",
                  "da": "begrundelsen er tilbageholdt: den kan indeholde helbredsoplysninger uden samtykke",
                  "cs": "důvod zadržen: může obsahovat zdravotní údaje bez souhlasu"},
}


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, dict[str, str]]:
    """The `privacy.*` texts of resources/i18n/ui.yaml (one-line entries), else the built-in ones."""
    from callguide import paths

    out: dict[str, dict[str, str]] = {}
    try:
        text = (paths.resources_dir() / "i18n" / "ui.yaml").read_text(encoding="utf-8")
    except OSError:
        return out
    for m in re.finditer(r'^privacy\.(\w+):\s*\{(.*)\}\s*$', text, re.M):
        out[m.group(1)] = dict(re.findall(r'(\w+):\s*"([^"]*)"', m.group(2)))
    return out


class Gone(str):
    """A value whose key was destroyed: reads as "withdrawn on 25 November 2026" in `lang`."""

    how: str
    on: str | None
    lang: str

    def __new__(cls, how: str, on: str | None, lang: str | None = "en") -> Gone:
        from callguide.formatting import format_date

        lang = lang if lang in ("en", "da", "cs") else "en"
        texts = _catalogue().get(f"{how}_on" if how in HOWS else how) or _TEXTS.get(how) or _TEXTS["missing"]
        template = texts.get(lang) or texts.get("en") or "{date}"
        try:
            date = format_date(dt.date.fromisoformat(on[:10]), lang) if on else ""
        except (ValueError, TypeError):
            date = on or ""
        g = super().__new__(cls, template.replace("{date}", date))
        g.how, g.on, g.lang = how, on, lang
        return g

    def __reduce__(self) -> tuple[Any, ...]:
        return (Gone, (self.how, self.on, self.lang))

    def __deepcopy__(self, memo: Any) -> Gone:
        return self

    def as_lang(self, lang: str | None) -> Gone:
        return Gone(self.how, self.on, lang)

    def as_json(self) -> dict[str, Any]:
        return {"destroyed": self.how, "on": self.on}


def say(key: str, lang: str | None, **fmt: Any) -> str:
    """A `privacy.*` text of resources/i18n/ui.yaml in `lang` (English when missing), filled in."""
    texts = _catalogue().get(key.removeprefix("privacy.")) or {}
    text = texts.get(lang or "en") or texts.get("en") or key
    for k, v in fmt.items():
        text = text.replace("{" + k + "}", str(v))
    return text


#: What an escalation journals instead of a typed reason that may hold health or life-event details
#: while no consent covers them: a language-neutral code, said in the reader's language where it is
#: shown (`held_back_text`; the JSON outputs in English, `readable`).
REASON_HELD_BACK = "$reason-held-back"
#: The marker as journals before the code wrote it (English): still read as the marker.
LEGACY_REASON_HELD_BACK = "reason held back: it may hold health details without consent"


def is_held_back(value: object) -> bool:
    """Is `value` the held-back marker (the code, or the English text older journals hold)?"""
    return isinstance(value, str) and value.strip() in (REASON_HELD_BACK, LEGACY_REASON_HELD_BACK)


#: The marker inside a longer text (a flow's escalation reason quoting a held-back answer).
_HELD_BACK_IN = re.compile(re.escape(REASON_HELD_BACK) + r"(?![\w-])")


def held_back_text(value: object, lang: str | None = "en") -> object:
    """`value` as a reader sees it: the held-back marker said in `lang` (en, da, cs; English for
    another), also where a text quotes it (a flow's escalation reason quoting a held-back answer),
    anything else as it is."""
    texts = _catalogue().get("held_back") or _TEXTS["held_back"]  # the `privacy.*` texts, like "withdrawn on"
    if not is_held_back(value):
        if isinstance(value, str) and REASON_HELD_BACK in value:
            return _HELD_BACK_IN.sub(lambda _m: texts.get(lang or "en") or texts["en"], value)
        return value
    return texts.get(lang or "en") or texts["en"]


def relocalize(value: Any, lang: str | None) -> Any:
    """`value` with every `Gone` in it said in `lang`."""
    if isinstance(value, Gone):
        return value.as_lang(lang)
    if isinstance(value, dict):
        return {k: relocalize(v, lang) for k, v in value.items()}
    if isinstance(value, list):
        return [relocalize(v, lang) for v in value]
    return value


# ---------------------------------------------------------------------- the keys file

def keys_path(journal: str | Path) -> Path:
    """Where a journal's data keys live: next to it, `<journal>.keys` (never copied with the journal
    file itself: a backup of the journal holds ciphertext only)."""
    return Path(f"{journal}.keys")


_SCHEMA = """
CREATE TABLE IF NOT EXISTS data_keys (
    kid TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    key BLOB,
    created TEXT NOT NULL,
    destroyed TEXT,
    how TEXT,
    reason TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS data_keys_live ON data_keys (account_id, purpose) WHERE key IS NOT NULL;
CREATE INDEX IF NOT EXISTS data_keys_account ON data_keys (account_id);
"""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class DataKeys:
    """One journal's data keys (a SQLite file of their own, opened on first use)."""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._cache: dict[str, tuple[bytes | None, dict[str, Any]]] = {}
        self._live: dict[tuple[str, str], tuple[str, bytes]] = {}
        self._aead: dict[bytes, Any] = {}
        self._sealing: dict[tuple[str, tuple[str, ...]], tuple[list[str], Any, bytes]] = {}
        self._version: int | None = None
        self._trust = 0  # the thread inside a `checked()` batch (0: none)

    # -------------------------------------------------------------- the file

    def _open(self) -> sqlite3.Connection | None:
        if self._conn is not None:
            return self._conn
        if self.readonly and not self.path.exists():
            return None
        if self.readonly:
            conn = self._open_readonly()
            if conn is None:
                return None
            self._conn = conn
            return conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
            os.close(fd)
            conn = sqlite3.connect(str(self.path), timeout=5.0, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            from .sqlite import classify_error

            err = classify_error(exc, self.path)
            raise StoreError(str(err).replace(f"journal {self.path}", f"data keys {self.path}"), err.kind) from None
        self._conn = conn
        return conn

    def _open_readonly(self) -> sqlite3.Connection | None:
        """Read-only (`mode=ro`, or `immutable=1` in a read-only folder); None when it cannot be read:
        sealed values then read as "not readable here"."""
        from urllib.parse import quote

        base = f"file:{quote(str(self.path.absolute()))}"
        for params in ("mode=ro", "mode=ro&immutable=1"):
            try:
                conn = sqlite3.connect(f"{base}?{params}", uri=True, check_same_thread=False)
                conn.execute("SELECT count(*) FROM data_keys").fetchone()
                return conn
            except sqlite3.Error:
                with contextlib.suppress(Exception):
                    conn.close()
        return None

    def _forget(self) -> None:
        self._cache.clear()
        self._live.clear()
        self._aead.clear()
        self._sealing.clear()

    def _fresh(self, conn: sqlite3.Connection) -> None:
        """Forget cached keys when another connection changed the file (a withdrawal elsewhere)."""
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._version:
            self._forget()
            self._version = version

    @contextlib.contextmanager
    def _guard(self) -> Iterator[sqlite3.Connection | None]:
        with self._lock:
            try:
                conn = self._open()
                if conn is not None:
                    self._fresh(conn)
                yield conn
            except sqlite3.Error as exc:
                raise StoreError(f"The data keys {self.path} failed: {str(exc).splitlines()[0]}.", "other") from None

    # -------------------------------------------------------------- keys

    def aead(self, key: bytes) -> Any:
        """The AES-GCM cipher of a key, kept while the key is (forgotten with the key cache)."""
        cipher = self._aead.get(key)
        if cipher is None:
            cipher = self._aead[key] = _aesgcm(key)
        return cipher

    def checked(self) -> _Checked:
        """One freshness check (`data_version`) for a batch of look-ups (one entry's values): the
        keys are held for the batch, and a batch inside a batch checks nothing more."""
        return _Checked(self)

    def sealing_key(self, account_id: str, wanted: tuple[str, ...]) -> tuple[list[str], Any, bytes]:
        """(key ids, AES-GCM cipher, associated data) to seal a value of `account_id` under the
        purposes `wanted` (sorted): kept while the keys are (forgotten with the key cache)."""
        trusted = self._trust == threading.get_ident()  # inside a batch: the keys' lock is held
        hit = self._sealing.get((account_id, wanted)) if trusted else None
        if hit is None:
            pairs = [self.live(account_id, p) for p in wanted]
            kids = [k for k, _ in pairs]
            key = pairs[0][1] if len(pairs) == 1 else hashlib.sha256(b"".join(b for _, b in pairs)).digest()
            hit = (kids, self.aead(key), f"{account_id}|{','.join(kids)}".encode())
            if trusted:  # kept only under the lock (a destruction meanwhile forgets it, never misses it)
                self._sealing[(account_id, wanted)] = hit
        return hit

    def live(self, account_id: str, purpose: str) -> tuple[str, bytes]:
        """The key in force for (account, purpose), made on first use: (key id, 32 bytes)."""
        if self._trust == threading.get_ident():
            hit = self._live.get((account_id, purpose))
            if hit is not None:
                return hit
        with self._guard() as conn:
            cached = self._live.get((account_id, purpose))
            if cached is not None:
                return cached
            if conn is None or self.readonly:
                raise StoreError(f"The data keys {self.path} are read-only here.", "readonly")
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT kid, key FROM data_keys WHERE account_id = ? AND purpose = ? AND key IS NOT"
                                   " NULL", (account_id, purpose)).fetchone()
                if row is None:
                    row = (secrets.token_hex(8), secrets.token_bytes(32))
                    conn.execute("INSERT INTO data_keys (kid, account_id, purpose, key, created) VALUES (?,?,?,?,?)",
                                 (row[0], account_id, purpose, row[1], _now()))
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            self._version = conn.execute("PRAGMA data_version").fetchone()[0]
            self._live[(account_id, purpose)] = (row[0], bytes(row[1]))
            return self._live[(account_id, purpose)]

    def get(self, kid: str) -> tuple[bytes | None, dict[str, Any]]:
        """(key or None, its row: account, purpose, created, destroyed, how, reason); a key id this
        file never held gives (None, {"how": "missing"})."""
        if self._trust == threading.get_ident():
            hit = self._cache.get(kid)
            if hit is not None:
                return hit
        with self._guard() as conn:
            hit = self._cache.get(kid)
            if hit is not None:
                return hit
            row = conn.execute("SELECT key, account_id, purpose, created, destroyed, how, reason FROM data_keys"
                               " WHERE kid = ?", (kid,)).fetchone() if conn is not None else None
            if row is None:
                return None, {"how": "missing"}
            info = {"account_id": row[1], "purpose": row[2], "created": row[3], "destroyed": row[4],
                    "how": row[5], "reason": row[6]}
            hit = (bytes(row[0]) if row[0] is not None else None, info)
            self._cache[kid] = hit
            return hit

    def destroy(self, account_id: str, purposes: Iterable[str] | None, how: str, reason: str,
                when: str | None = None) -> list[dict[str, Any]]:
        """Destroy the live keys of `account_id` (only those `purposes`, or all), keeping a
        tombstone; the bytes are zeroed in the file and the write-ahead log is emptied. Returns the
        keys destroyed ({kid, purpose})."""
        if how not in HOWS:
            raise ValueError(f"unknown way to destroy a key: {how!r}")
        when = when or _now()
        with self._guard() as conn:
            if conn is None or self.readonly:
                raise StoreError(f"The data keys {self.path} are read-only here.", "readonly")
            wanted = None if purposes is None else sorted(set(purposes))
            conn.execute("BEGIN IMMEDIATE")
            try:
                rows = conn.execute("SELECT kid, purpose FROM data_keys WHERE account_id = ? AND key IS NOT NULL",
                                    (account_id,)).fetchall()
                gone = [{"kid": k, "purpose": p} for k, p in rows if wanted is None or p in wanted]
                for g in gone:
                    # zeroes first (same length), then NULL: no copy of the bytes is left in a page
                    conn.execute("UPDATE data_keys SET key = zeroblob(32) WHERE kid = ?", (g["kid"],))
                    conn.execute("UPDATE data_keys SET key = NULL, destroyed = ?, how = ?, reason = ? WHERE kid = ?",
                                 (when, how, reason, g["kid"]))
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            self._forget()
            if gone:
                self.wipe_log()
            return gone

    def wipe_log(self) -> None:
        """Copy the write-ahead log into the file and truncate it to nothing."""
        with self._guard() as conn:
            if conn is not None and not self.readonly:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def rows(self, account_id: str | None = None) -> list[dict[str, Any]]:
        """Every key's record (never the key bytes): {kid, account_id, purpose, created, destroyed, how, reason}."""
        with self._guard() as conn:
            if conn is None:
                return []
            sql = "SELECT kid, account_id, purpose, created, destroyed, how, reason FROM data_keys"
            args: tuple[Any, ...] = ()
            if account_id is not None:
                sql += " WHERE account_id = ?"
                args = (account_id,)
            return [dict(zip(("kid", "account_id", "purpose", "created", "destroyed", "how", "reason"), r,
                             strict=True)) for r in conn.execute(sql + " ORDER BY created, kid", args)]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None
            self._forget()


class _Checked:
    """`DataKeys.checked()`: holds the keys' lock for a batch of look-ups after one freshness
    check; the cached keys are trusted inside it by this thread only. A batch inside a batch (same
    thread) checks nothing more."""

    __slots__ = ("keys", "outer")

    def __init__(self, keys: DataKeys) -> None:
        self.keys = keys
        self.outer = False

    def __enter__(self) -> None:
        keys = self.keys
        keys._lock.acquire()
        try:
            me = threading.get_ident()
            if keys._trust == me:
                return
            conn = keys._open()
            if conn is not None:
                keys._fresh(conn)
            keys._trust = me
            self.outer = True
        except sqlite3.Error as exc:
            keys._lock.release()
            raise StoreError(f"The data keys {keys.path} failed: {str(exc).splitlines()[0]}.", "other") from None
        except BaseException:
            keys._lock.release()
            raise

    def __exit__(self, *exc: object) -> None:
        if self.outer:
            self.keys._trust = 0
            self.outer = False
        self.keys._lock.release()


# ---------------------------------------------------------------------- sealing and opening

def _b64(b: bytes) -> str:
    return binascii.b2a_base64(b, newline=False).decode("ascii")  # = base64.b64encode(b), one call fewer


def _aesgcm(key: bytes) -> Any:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)


class KeySource(Protocol):
    """What `Sealer` opens with: `DataKeys`, or a read-only source such as the team store's escrowed
    keys (`callguide.store.postgres.keys.TeamKeys`), which cannot seal."""

    def get(self, kid: str) -> tuple[bytes | None, dict[str, Any]]: ...

    def aead(self, key: bytes) -> Any: ...

    def checked(self) -> contextlib.AbstractContextManager[None]: ...

    def close(self) -> None: ...


class Sealer:
    """Seals and opens values of one journal with its `DataKeys` (opens only, with another `KeySource`)."""

    def __init__(self, keys: DataKeys | KeySource) -> None:
        # typed as DataKeys for the callers that destroy keys (only ever with DataKeys); `seal`
        # checks, so a read-only KeySource opens values and never seals one
        self.keys: DataKeys = cast(DataKeys, keys)

    # -------------------------------------------------------------- one value

    def seal(self, account_id: str, purposes: Iterable[str], value: Any) -> Any:
        """`value` sealed under the keys of `purposes` (the personal key when none); an empty
        value, or one already sealed, is returned as it is."""
        if _empty(value) or is_sealed(value) or is_ref(value):
            return value
        wanted = tuple(sorted(set(purposes))) if purposes else (PERSONAL,)
        wanted = wanted or (PERSONAL,)
        if not isinstance(self.keys, DataKeys):
            raise StoreError("These data keys can open values, not seal them.", "readonly")
        kids, cipher, aad = self.keys.sealing_key(account_id, wanted)
        nonce = os.urandom(12)  # what secrets.token_bytes(12) returns, without its two Python calls
        ct = cipher.encrypt(nonce, canonical_json(value).encode("utf-8"), aad)
        return {SEALED: {"k": list(kids), "p": list(wanted), "n": _b64(nonce), "c": _b64(ct)}}

    def open(self, account_id: str, value: Any, lang: str | None = "en") -> Any:
        """The plain value, or a `Gone` when a key it needs was destroyed (or is not here)."""
        if not is_sealed(value):
            return value
        env = value[SEALED]
        keys: list[bytes] = []
        gone: dict[str, Any] | None = None
        for kid in env.get("k") or []:
            key, info = self.keys.get(str(kid))
            if key is None:
                if gone is None or (info.get("destroyed") or "") < (gone.get("destroyed") or ""):
                    gone = info
                continue
            keys.append(key)
        if gone is not None or not keys:
            info = gone or {"how": "missing"}
            return Gone(str(info.get("how") or "missing"), info.get("destroyed"), lang)
        key = keys[0] if len(keys) == 1 else hashlib.sha256(b"".join(keys)).digest()
        aad = f"{account_id}|{','.join(env.get('k') or [])}".encode()
        try:
            plain = self.keys.aead(key).decrypt(base64.b64decode(env["n"]), base64.b64decode(env["c"]), aad)
            return json.loads(plain)
        except Exception:  # noqa: BLE001 - a damaged or moved value reads as unreadable, never crashes
            return Gone("missing", None, lang)

    # -------------------------------------------------------------- one entry's data

    def seal_data(self, type_: str, account_id: str, data: dict[str, Any],
                  purposes: Iterable[str] = ()) -> dict[str, Any]:
        """`data` with what `sealed_keys` names sealed: special keys under `purposes` (the personal
        key when none is given), personal keys under the personal key."""
        special, personal = sealed_keys(type_, data)
        todo = [k for k in special + personal if not _done(data[k])]
        if not todo:
            return data  # nothing plain left (the engine sealed it before the append)
        out = dict(data)
        wanted = list(purposes)
        with self.keys.checked():
            for k in todo:  # a command is sealed whole (a resume opens it, or skips it withdrawn)
                out[k] = (self.seal if k == "input" else self.seal_shape)(account_id, wanted if k in special else (),
                                                                          out[k])
        return out

    def seal_shape(self, account_id: str, purposes: Iterable[str], value: Any) -> Any:
        """A mapping (a record's `fields`, a command) keeps its keys in clear, each value sealed (so a
        view still lists which fields were recorded, each "withdrawn on DATE"); anything else whole."""
        if isinstance(value, dict) and value and not is_sealed(value) and not is_ref(value):
            wanted = list(purposes)
            return {k: self.seal(account_id, wanted, v) for k, v in value.items()}
        return self.seal(account_id, purposes, value)

    def open_shape(self, account_id: str, value: Any, lang: str | None = "en") -> Any:
        if isinstance(value, dict) and not is_sealed(value) and any(is_sealed(v) for v in value.values()):
            return {k: self.open(account_id, v, lang) for k, v in value.items()}
        return self.open(account_id, value, lang)

    def open_data(self, account_id: str, data: dict[str, Any], lang: str | None = "en") -> dict[str, Any]:
        """`data` with every sealed value opened (or a `Gone`)."""
        if not any(has_sealed(v) for v in data.values()):
            return data
        with self.keys.checked():
            return {k: self.open_shape(account_id, v, lang) for k, v in data.items()}

    def close(self) -> None:
        self.keys.close()


def open_all(sealer: Sealer | None, account_id: str, data: dict[str, Any], lang: str | None = "en") -> dict[str, Any]:
    """`sealer.open_data(...)`, or `data` marked unreadable when there is no sealer."""
    if sealer is not None:
        return sealer.open_data(account_id, data, lang)

    def gone(v: Any) -> Any:
        if isinstance(v, dict) and not is_sealed(v):
            return {k: gone(x) for k, x in v.items()}
        return Gone("missing", None, lang) if is_sealed(v) else v

    return {k: gone(v) for k, v in data.items()}


REDACTED = "[redacted]"
#: Keys of register items and summary items that can hold special-category data (older journals
#: copied them into summaries and snapshots in clear).
_SPECIAL_ITEM_KEYS = frozenset(k for t in et.REGISTRY.values() if t.sensitivity == et.SPECIAL
                               for k in t.special_keys if k not in t.reference_keys)


def _redact_copies(value: Any, types: Any = None) -> Any:
    """A summary or history snapshot with every special-category copy (an older journal's) redacted;
    references stay (they are not values)."""
    if is_ref(value) or value is None:
        return value
    if is_sealed(value):
        return REDACTED
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k in _SPECIAL_ITEM_KEYS and not is_ref(v) and not _empty(v):
                out[k] = REDACTED
            elif k == "value" and isinstance(value.get("sensitivity"), str) and value["sensitivity"] == "special":
                out[k] = REDACTED
            else:
                out[k] = _redact_copies(v)
        return out
    if isinstance(value, list):
        return [_redact_copies(v) for v in value]
    return value


def auditor_data(sealer: Sealer | None, type_: str, account_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """An entry's data for the auditors' export (every entry type): no special-category value.

    Special keys are redacted (an answer's only when it answers a special field), except rendered
    flow text that quotes no consented value (sealed under the personal key only), which is opened;
    personal values are opened (or say they were erased); references stay references; summaries and
    snapshots of older journals lose their special-category copies."""
    t = et.REGISTRY.get(type_)
    special, _ = sealed_keys(type_, data)
    out: dict[str, Any] = {}
    for k, v in data.items():
        if t is not None and k in t.reference_keys:
            out[k] = _redact_copies(v)
        elif k in special:
            shown = t is not None and k in t.rendered_keys and is_sealed(v) and purposes_of(v) == [PERSONAL]
            if shown:
                out[k] = open_all(sealer, account_id, {k: v})[k]
            elif isinstance(v, dict) and not is_sealed(v) and v:
                out[k] = {sk: REDACTED for sk in v}  # which fields were recorded, never their values
            else:
                out[k] = v if _empty(v) else REDACTED
        elif has_sealed(v):
            out[k] = open_all(sealer, account_id, {k: v})[k]
        else:
            out[k] = v
    return readable(out)


#: What a JSON output says of a value still sealed where it is printed (no key here to open it).
STILL_SEALED = "sealed"


def readable(value: Any) -> Any:
    """Journal data as a JSON output prints it (`history --json`, `privacy export`, `audit export`):
    a value whose key was destroyed as `{"destroyed": how, "on": date}`, a value still sealed as the
    plain word "sealed" (never its ciphertext), and the store's `$sealed` note of which keys were
    sealed left out (their values are shown opened), a held-back reason in words. References
    (`$ref`) stay: they are not values."""
    if isinstance(value, Gone):
        return value.as_json()
    if is_sealed(value):
        return STILL_SEALED
    if isinstance(value, str) and REASON_HELD_BACK in value:
        return held_back_text(value)
    if isinstance(value, dict):
        return {k: readable(v) for k, v in value.items()
                if not (k == SEALED and isinstance(v, list)) and k != ENTRY_SEQ}
    if isinstance(value, (list, tuple)):
        return [readable(v) for v in value]
    return value


__all__ = ["REDACTED", "auditor_data", "ERASED", "HOWS", "PERSONAL", "PURGED", "REF", "SEALED", "WITHDRAWN", "DataKeys", "ENTRY_SEQ", "Gone", "KeySource", "Sealer",
           "LEGACY_REASON_HELD_BACK", "REASON_HELD_BACK", "held_back_text", "is_held_back",
           "STILL_SEALED", "has_sealed", "is_ref", "is_sealed", "keys_path", "open_all", "purposes_of", "readable", "relocalize", "say", "sealed_keys"]
