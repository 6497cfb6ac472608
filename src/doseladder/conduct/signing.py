"""Ed25519 keys that sign the audit trail, kept outside the database.

A :class:`Signer` signs bytes and names its public key; :class:`Ed25519Signer` is the default
implementation over a private key held in a PEM file (``0600``) or an environment variable.  A
key-management service can replace it by implementing the same three members.

Where the key comes from (:func:`configured_signer`), first match wins:

1. an explicit ``key_file`` argument (``--key-file``);
2. ``$DOSELADDER_AUDIT_KEY``: the PEM text (or base64 of the 32 raw bytes) of the private key;
3. ``$DOSELADDER_AUDIT_KEY_FILE``: the path of a PEM file;
4. the default file ``$XDG_CONFIG_HOME/doseladder/audit-ed25519.pem``
   (``~/.config/doseladder/audit-ed25519.pem``).

Public keys are written as base64 of the 32 raw bytes; the key id is the first 16 hex digits
of their SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from doseladder.conduct.errors import ValidationError

__all__ = [
    "ENV_KEY",
    "ENV_KEY_FILE",
    "Ed25519Signer",
    "Signer",
    "configured_signer",
    "default_key_path",
    "key_file_path",
    "key_id",
    "load_key_file",
    "verify_signature",
    "write_key_file",
]

ENV_KEY = "DOSELADDER_AUDIT_KEY"
ENV_KEY_FILE = "DOSELADDER_AUDIT_KEY_FILE"
ALGORITHM = "ed25519"


@runtime_checkable
class Signer(Protocol):
    """Signs audit records; the private key never enters the database."""

    @property
    def key_id(self) -> str:
        """First 16 hex digits of the SHA-256 of the raw public key."""
        ...

    @property
    def public_key(self) -> str:
        """The raw public key, base64."""
        ...

    def sign(self, message: bytes) -> bytes:
        """The Ed25519 signature of ``message``."""
        ...


def key_id(public_key_b64: str) -> str:
    """The id of a public key (first 16 hex digits of the SHA-256 of its raw bytes)."""
    try:
        raw = base64.b64decode(public_key_b64, validate=True)
    except ValueError:
        raw = public_key_b64.encode()
    return hashlib.sha256(raw).hexdigest()[:16]


class Ed25519Signer:
    """A :class:`Signer` over an in-process Ed25519 private key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self._public = base64.b64encode(raw).decode("ascii")
        self._id = key_id(self._public)

    @classmethod
    def generate(cls) -> Ed25519Signer:
        """A new random key."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_text(cls, text: str | bytes, where: str = "key") -> Ed25519Signer:
        """A key from PEM (PKCS#8) text or base64 of the 32 raw private bytes."""
        data = text.encode() if isinstance(text, str) else text
        try:
            if b"BEGIN" in data:
                key = serialization.load_pem_private_key(data, password=None)
            else:
                key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(data.strip()))
        except (ValueError, TypeError) as exc:
            raise ValidationError(where, f"not an Ed25519 private key ({exc})") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ValidationError(where, "not an Ed25519 private key")
        return cls(key)

    @property
    def key_id(self) -> str:
        return self._id

    @property
    def public_key(self) -> str:
        return self._public

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM."""
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def verify_signature(public_key_b64: str, message: bytes, signature_b64: str) -> bool:
    """Whether ``signature_b64`` is a valid Ed25519 signature of ``message``."""
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
        public.verify(base64.b64decode(signature_b64), message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def sign_b64(signer: Signer, message: bytes) -> str:
    """``signer``'s signature of ``message``, base64."""
    return base64.b64encode(signer.sign(message)).decode("ascii")


def default_key_path() -> Path:
    """``$XDG_CONFIG_HOME/doseladder/audit-ed25519.pem`` (default ``~/.config/...``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "doseladder" / "audit-ed25519.pem"


def key_file_path(key_file: str | Path | None = None) -> Path:
    """The key file in use: ``key_file``, else ``$DOSELADDER_AUDIT_KEY_FILE``, else the default."""
    if key_file:
        return Path(key_file).expanduser()
    env = os.environ.get(ENV_KEY_FILE)
    return Path(env).expanduser() if env else default_key_path()


def load_key_file(path: Path) -> Ed25519Signer:
    """The key in a PEM file (:class:`ValidationError` on field ``key_file`` otherwise)."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise ValidationError("key_file", f"no key file {path}") from None
    except OSError as exc:
        raise ValidationError("key_file", f"cannot read {path}: {exc.strerror}") from None
    return Ed25519Signer.from_text(text, "key_file")


def write_key_file(path: Path, signer: Ed25519Signer, *, overwrite: bool = False) -> None:
    """Write ``signer``'s private key to ``path`` (mode 0600; refuses to overwrite)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise ValidationError("key_file", f"{path} exists (refusing to overwrite a key)") from None
    except OSError as exc:
        raise ValidationError("key_file", f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(signer.pem())
        fh.flush()
        os.fsync(fh.fileno())


def configured_signer(
    key_file: str | Path | None = None, *, create: bool = False
) -> Ed25519Signer | None:
    """The signing key configured for this process (see the module docs), or ``None``.

    With ``create``, a missing key file (explicit, ``$DOSELADDER_AUDIT_KEY_FILE`` or the
    default) is generated.
    """
    if not key_file:
        env = os.environ.get(ENV_KEY)
        if env:
            return Ed25519Signer.from_text(env, ENV_KEY)
    path = key_file_path(key_file)
    if path.exists():
        return load_key_file(path)
    if create:
        signer = Ed25519Signer.generate()
        write_key_file(path, signer)
        return signer
    if key_file:
        raise ValidationError("key_file", f"no key file {path}")
    return None
