"""Keys CallGuide keeps outside the journal file: today the Ed25519 key that signs checkpoints.

The key is a PEM file in the user's config folder (`paths.keys_dir()`, `CALLGUIDE_KEYS_DIR`
overrides), readable only by the user (mode 0600 in a 0700 folder), created on first use. Its
public half is written next to it (`.pub`), for an auditor on another machine
(`callguide audit verify --key FILE.pub`). Whoever can read the private file can sign
checkpoints: docs/journal.md says what that means for tamper evidence.

`KeyStore.private_file(name, make)` is the one way to create such a file (create-only, 0600,
fsynced, never half-written even when killed), so other keys (for example the privacy work's
encryption keys) can live in the same folder under their own names.

Never imports Qt or the engine. Every failure leaves as a one-line `StoreError`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .base import StoreError

SIGNING_KEY = "journal-signing"


def _crypto() -> Any:
    # cryptography costs ~35 ms to import: only writers and auditors pay it.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return serialization, ed25519


class PublicKey:
    """An Ed25519 public key and its short fingerprint (the first 16 hex digits of the SHA-256 of
    its 32 raw bytes), which every checkpoint names."""

    def __init__(self, raw: bytes) -> None:
        if len(raw) != 32:
            raise ValueError("an Ed25519 public key is 32 bytes")
        self.raw = raw
        self.fingerprint = hashlib.sha256(raw).hexdigest()[:16]
        self._key: Any = None

    def verify(self, signature: bytes, message: bytes) -> bool:
        serialization, ed25519 = _crypto()
        from cryptography.exceptions import InvalidSignature

        if self._key is None:
            self._key = ed25519.Ed25519PublicKey.from_public_bytes(self.raw)
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def to_pem(self) -> bytes:
        serialization, ed25519 = _crypto()
        return ed25519.Ed25519PublicKey.from_public_bytes(self.raw).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    @classmethod
    def from_pem(cls, data: bytes, source: str) -> PublicKey:
        """A public key PEM, or a private key PEM (its public half)."""
        serialization, ed25519 = _crypto()
        try:
            if b"PRIVATE KEY" in data:
                key: Any = serialization.load_pem_private_key(data, password=None).public_key()
            else:
                key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError) as exc:
            raise StoreError(f"The key file {source} is not a readable key ({exc}).", "invalid") from None
        if not isinstance(key, ed25519.Ed25519PublicKey):
            raise StoreError(f"The key file {source} is not an Ed25519 key.", "invalid")
        return cls(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> PublicKey:
        try:
            data = Path(path).read_bytes()[:64 * 1024]
        except OSError as exc:
            raise StoreError(f"Cannot read the key file {path}: {exc.strerror or exc}.", "other") from None
        return cls.from_pem(data, str(path))


class SigningKey:
    """The private half: signs checkpoints."""

    def __init__(self, key: Any, path: Path) -> None:
        serialization, _ = _crypto()
        self._key = key
        self.path = path
        self.public = PublicKey(key.public_key().public_bytes(serialization.Encoding.Raw,
                                                              serialization.PublicFormat.Raw))

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


class KeyStore:
    """The folder holding CallGuide's keys (default: `paths.keys_dir()`)."""

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        if folder is None:
            from callguide import paths

            folder = paths.keys_dir()
        self.folder = Path(folder)
        self._signing: SigningKey | None = None

    @property
    def signing_path(self) -> Path:
        return self.folder / f"{SIGNING_KEY}.pem"

    def signing_key(self) -> SigningKey:
        """Load the signing key, creating it (and its `.pub`) on first use."""
        if self._signing is None:
            serialization, ed25519 = _crypto()

            def make() -> bytes:
                return ed25519.Ed25519PrivateKey.generate().private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())

            path = self.signing_path
            data = self.private_file(path.name, make)
            try:
                key = serialization.load_pem_private_key(data, password=None)
            except (ValueError, TypeError) as exc:
                raise StoreError(f"The journal's signing key {path} is unreadable ({exc}); restore it from a "
                                 "backup, or move it away to start a new key.", "invalid") from None
            if not isinstance(key, ed25519.Ed25519PrivateKey):
                raise StoreError(f"The journal's signing key {path} is not an Ed25519 key.", "invalid")
            self._signing = SigningKey(key, path)
            pub = path.with_suffix(".pub")
            if not pub.exists():
                with contextlib.suppress(OSError):
                    _create_only(pub, self._signing.public.to_pem(), 0o644)
        return self._signing

    def public_key(self) -> PublicKey | None:
        """This machine's public key, without creating anything (None when there is no key yet)."""
        if self._signing is not None:
            return self._signing.public
        for path in (self.signing_path, self.signing_path.with_suffix(".pub")):
            if path.exists():
                return PublicKey.from_file(path)
        return None

    def loose_permissions(self) -> str | None:
        """A sentence when the private key file can be read by others than its owner."""
        try:
            mode = stat.S_IMODE(self.signing_path.stat().st_mode)
        except OSError:
            return None
        if mode & 0o077:
            return (f"the signing key {self.signing_path} is readable by others (mode {mode:04o}): anyone who "
                    "can read it can sign checkpoints; run `chmod 600` on it")
        return None

    def private_file(self, name: str, make: Callable[[], bytes]) -> bytes:
        """The bytes of the private file `name` in this folder, creating it with `make()` first if
        it does not exist. Created whole or not at all (a temporary file, fsynced, then linked into
        place), mode 0600, in a 0700 folder; two processes creating it at once agree on one."""
        path = self.folder / name
        try:
            return path.read_bytes()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StoreError(f"Cannot read the key {path}: {exc.strerror or exc}.", "other") from None
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            _create_only(path, make(), 0o600)
            return path.read_bytes()
        except OSError as exc:
            raise StoreError(f"Cannot create the key {path}: {exc.strerror or exc}; CallGuide needs a private "
                             "folder it can write for its keys (CALLGUIDE_KEYS_DIR).", "readonly") from None


def _create_only(path: Path, data: bytes, mode: int) -> None:
    """Write `data` to `path` only if it does not exist yet (the existing file wins a race)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # whatever the umask
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    _fsync_dir(path.parent)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
