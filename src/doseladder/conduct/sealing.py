"""Sealing the audit trail: signatures per transaction and anchors outside the database.

A :class:`Sealer` is given to :class:`~doseladder.conduct.db.Database`.  On every commit that
appends audit events, :mod:`.audit` signs the new head (``audit_signatures``) with the
:class:`~doseladder.conduct.signing.Signer`, and after the commit the sealer writes a signed
**anchor** (head sequence number = event count, head hash, time, key) to an
:class:`AnchorStore` -- by default an append-only JSON-lines file outside the database -- at
every commit or at most every ``anchor_interval`` seconds.  An anchor catches what a
consistent rewrite of the database cannot hide: events cut from the end, or the whole trail
wiped or replaced.

Anchor file location: ``$DOSELADDER_AUDIT_ANCHORS``, else
``$XDG_STATE_HOME/doseladder/anchors/<id>.jsonl`` (``~/.local/state/...``) where ``<id>`` is
derived from the database URL (SQLite: the absolute file path).

Records (one JSON object a line, each signed over the canonical JSON of the other fields):

* ``{"type": "anchor", "v": 2, "heads": {chain: [seq, hash]}, "seq", "hash", "at",
  "database", "key_id", "public_key", "signature"}`` -- every chain head the writing process
  has seen (``seq``: the events they cover; ``hash``: SHA-256 of the canonical ``heads``).
  Records without ``heads`` (version 1, before per-trial chains) anchor the ``legacy`` chain.
* ``{"type": "rotation", "at", "old_key_id", "old_public_key", "new_key_id", "new_public_key",
  "signature_old", "signature_new"}`` -- written by ``doseladder audit rotate-key``: the new
  key vouches for the old one, so signatures made before the rotation stay trusted.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.engine import make_url

from doseladder.conduct.signing import Signer, key_id, sign_b64, verify_signature

__all__ = [
    "ENV_ANCHORS",
    "AnchorStore",
    "FileAnchorStore",
    "Sealer",
    "anchor_record",
    "anchor_store",
    "configured_sealer",
    "default_anchor_path",
    "record_message",
    "rotation_record",
    "trusted_keys",
    "verify_record",
]

ENV_ANCHORS = "DOSELADDER_AUDIT_ANCHORS"
log = logging.getLogger("doseladder.audit")


#: the canonical form of anchor-store records (built once: ``json.dumps`` with these options
#: builds the same encoder per call)
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_encode = _ENCODER.encode


def _canonical(obj: Any) -> str:
    return _encode(obj)


def record_message(record: Mapping[str, Any]) -> bytes:
    """The signed bytes of an anchor-store record (every field but the signatures)."""
    body = {k: v for k, v in record.items() if not k.startswith("signature")}
    return _canonical(body).encode("utf-8")


@runtime_checkable
class AnchorStore(Protocol):
    """An append-only place outside the database (a file, a WORM bucket, a transparency log)."""

    @property
    def location(self) -> str:
        """Where the anchors are (for messages)."""
        ...

    def append(self, record: Mapping[str, Any]) -> None:
        """Add one record durably."""
        ...

    def records(self) -> list[dict[str, Any]]:
        """Every record, oldest first (unparsable lines as ``{"type": "invalid"}``)."""
        ...


class FileAnchorStore:
    """JSON lines appended (``O_APPEND``, ``flock``, ``fsync``) to one file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()

    @property
    def location(self) -> str:
        return str(self.path)

    def exists(self) -> bool:
        return self.path.exists()

    def append(self, record: Mapping[str, Any]) -> None:
        self.append_line((_canonical(dict(record)) + "\n").encode("utf-8"))

    def append_line(self, line: bytes) -> None:
        """Append one record already in its canonical form (one line, ``\\n``-terminated)."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except FileNotFoundError:  # the directory is created on the first append
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def records(self) -> list[dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        out: list[dict[str, Any]] = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                rec = None
            out.append(rec if isinstance(rec, dict) else {"type": "invalid", "line": n})
        return out


def default_anchor_path(url: str) -> Path:
    """The default anchor file of a database URL (see the module docs)."""
    env = os.environ.get(ENV_ANCHORS)
    if env:
        return Path(env).expanduser()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        ident = "sqlite:" + str(Path(parsed.database or "").expanduser().resolve())
    else:
        ident = parsed.set(password=None).render_as_string(hide_password=True)
    digest = hashlib.sha256(ident.encode()).hexdigest()[:16]
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "doseladder" / "anchors" / f"{digest}.jsonl"


def _now() -> str:
    return datetime.now(UTC).isoformat()


def anchor_record(
    signer: Signer,
    *,
    seq: int | None = None,
    head_hash: str | None = None,
    heads: Mapping[str, tuple[int, str]] | None = None,
    database: str | None,
    at: str | None = None,
) -> dict[str, Any]:
    """A signed anchor: of every chain head in ``heads`` (``{chain: (seq, hash)}``, version 2:
    ``seq`` is then the number of events they cover and ``hash`` the digest of the map), or of
    the single head ``seq``/``head_hash`` of the legacy global chain (version 1)."""
    rec: dict[str, Any] = {"type": "anchor"}
    if heads is not None:
        body: dict[str, list[Any]] = {c: [int(s), str(h)] for c, (s, h) in sorted(heads.items())}
        rec.update(
            v=2,
            heads=body,
            seq=sum(v[0] for v in body.values()),
            hash=hashlib.sha256(_canonical(body).encode()).hexdigest(),
        )
    elif seq is not None and head_hash is not None:
        rec.update(seq=seq, hash=head_hash)
    else:
        raise ValueError("an anchor needs heads, or seq and head_hash")
    rec.update(
        at=at or _now(), database=database, key_id=signer.key_id, public_key=signer.public_key
    )
    rec["signature"] = sign_b64(signer, record_message(rec))
    return rec


def rotation_record(old: Signer, new: Signer, *, at: str | None = None) -> dict[str, Any]:
    """The record of a key rotation, signed by both keys."""
    rec: dict[str, Any] = {
        "type": "rotation",
        "at": at or _now(),
        "old_key_id": old.key_id,
        "old_public_key": old.public_key,
        "new_key_id": new.key_id,
        "new_public_key": new.public_key,
    }
    message = record_message(rec)
    rec["signature_old"] = sign_b64(old, message)
    rec["signature_new"] = sign_b64(new, message)
    return rec


def verify_record(rec: Mapping[str, Any]) -> bool:
    """Whether an anchor or rotation record's signature(s) are valid for its own key(s)."""
    message = record_message(rec)
    try:
        if rec.get("type") == "anchor":
            public = str(rec["public_key"])
            return key_id(public) == rec.get("key_id") and verify_signature(
                public, message, str(rec["signature"])
            )
        if rec.get("type") == "rotation":
            return verify_signature(
                str(rec["old_public_key"]), message, str(rec["signature_old"])
            ) and verify_signature(str(rec["new_public_key"]), message, str(rec["signature_new"]))
    except KeyError:
        return False
    return False


def trusted_keys(roots: Iterable[str], records: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """key id → public key: the ``roots`` and every older key a trusted key vouched for in a
    rotation record (transitively)."""
    trusted = {key_id(k): k for k in roots}
    rotations = [r for r in records if r.get("type") == "rotation" and verify_record(r)]
    changed = True
    while changed:
        changed = False
        for r in rotations:
            if r["new_key_id"] in trusted and r["old_key_id"] not in trusted:
                trusted[str(r["old_key_id"])] = str(r["old_public_key"])
                changed = True
    return trusted


#: the end of an anchor record's canonical form (its last keys in sorted order)
_ANCHOR_TAIL = ',"type":"anchor","v":2}'


@dataclass
class Sealer:
    """Signs each committed transaction's audit events and anchors the head outside the
    database.

    Attributes:
        signer: the signing key (outside the database).
        anchors: where anchors go (``None``: signatures only).
        anchor_interval: seconds between anchors (0: after every commit).
        database: the redacted database URL written into anchors.
    """

    signer: Signer
    anchors: AnchorStore | None = None
    anchor_interval: float = 0.0
    database: str | None = None
    registered: set[str] = field(default_factory=set)
    _last: float = field(default=0.0, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _due: dict[str, tuple[int, str]] = field(default_factory=dict, repr=False)
    _due_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    #: bumped whenever a head in ``_due`` moves; ``_anchored``: its value at the last anchor
    _changes: int = field(default=0, repr=False)
    _anchored: int = field(default=0, repr=False)
    #: chain → ``(seq, hash, '"chain":[seq,"hash"]')``: each head's canonical JSON, kept so
    #: that an anchor re-encodes only the heads that moved
    _fragments: dict[str, tuple[int, str, str]] = field(default_factory=dict, repr=False)
    _chains: list[str] = field(default_factory=list, repr=False)

    def anchor(
        self, heads: Mapping[str, tuple[int, str]], *, force: bool = False
    ) -> dict[str, Any] | None:
        """Write an anchor covering the committed chain heads ``{chain: (seq, hash)}`` if due
        (never one older than the last, chain by chain).

        The anchor names every chain head this sealer has seen (the latest of each), so one
        record covers all of them.  Commits that finish while an anchor is being written are
        covered together (group anchoring): each caller first records its heads as *due*, and
        whoever then holds the lock anchors every due head -- a later head of a chain commits
        to every earlier event of it -- so one signed, ``fsync``-ed line covers all of them
        and the callers whose heads it covers return without writing.  Every commit is still
        covered by an anchor when its call returns (unless ``anchor_interval`` defers it).
        Returns the record written (``None`` if none was needed)."""
        if self.anchors is None:
            return None
        with self._due_lock:
            for chain, (seq, h) in heads.items():
                if seq > self._due.get(chain, (-1, ""))[0]:
                    self._due[chain] = (seq, h)
                    self._changes += 1
        with self._lock:
            now = time.monotonic()
            with self._due_lock:
                # ``_due`` only ever moves forward and was copied whole at the last anchor,
                # so "nothing moved since" is "every due head is covered already"
                if self._changes == self._anchored:
                    return None
                due = dict(self._due)
                changes = self._changes
            if not force and self.anchor_interval > 0 and now - self._last < self.anchor_interval:
                return None
            built = self._anchor_line(due)
            if built is None:  # a chain that is not a string: the general path
                rec = anchor_record(self.signer, heads=due, database=self.database)
                self.anchors.append(rec)
            elif type(self.anchors) is FileAnchorStore:
                rec = built[0]
                self.anchors.append_line(built[1])
            else:
                rec = built[0]
                self.anchors.append(rec)
            self._last = now
            self._anchored = changes
            return rec

    def _anchor_line(
        self, due: Mapping[str, tuple[int, str]]
    ) -> tuple[dict[str, Any], bytes] | None:
        """The anchor record of ``due`` (as :func:`anchor_record` makes it, now) and its line
        in the anchor file (the canonical JSON of the record, as :meth:`FileAnchorStore.append`
        writes it), built from the cached canonical form of each head (``None`` if a chain is
        not a ``str``)."""
        if len(self._chains) != len(due):  # chains are only ever added
            if any(type(c) is not str for c in due):
                return None
            self._chains = sorted(due)
        fragments = self._fragments
        parts: list[str] = []
        body: dict[str, list[Any]] = {}
        total = 0
        for chain in self._chains:
            seq, h = due[chain]
            cached = fragments.get(chain)
            if cached is None or cached[0] != seq or cached[1] != h:
                seq, h = int(seq), str(h)
                cached = (seq, h, f"{_encode(chain)}:[{seq},{_encode(h)}]")
                fragments[chain] = cached
            seq, h, text = cached
            body[chain] = [seq, h]
            total += seq
            parts.append(text)
        heads_json = "{" + ",".join(parts) + "}"
        digest = hashlib.sha256(heads_json.encode()).hexdigest()
        signer = self.signer
        at = _now()
        head = (
            f'{{"at":{_encode(at)},"database":{_encode(self.database)},"hash":"{digest}",'
            f'"heads":{heads_json},"key_id":{_encode(signer.key_id)},'
            f'"public_key":{_encode(signer.public_key)},"seq":{total}'
        )
        signature = sign_b64(signer, (head + _ANCHOR_TAIL).encode("utf-8"))
        rec: dict[str, Any] = {
            "type": "anchor",
            "v": 2,
            "heads": body,
            "seq": total,
            "hash": digest,
            "at": at,
            "database": self.database,
            "key_id": signer.key_id,
            "public_key": signer.public_key,
            "signature": signature,
        }
        line = f'{head},"signature":{_encode(signature)}{_ANCHOR_TAIL}\n'
        return rec, line.encode("utf-8")


ENV_ANCHOR_INTERVAL = "DOSELADDER_AUDIT_ANCHOR_INTERVAL"


def anchor_store(url: str, anchors: str | Path | None = None) -> FileAnchorStore:
    """The anchor file of a database: ``anchors``, ``$DOSELADDER_AUDIT_ANCHORS`` or the
    default location."""
    return FileAnchorStore(Path(anchors) if anchors else default_anchor_path(url))


def configured_sealer(
    url: str,
    *,
    key_file: str | Path | None = None,
    anchors: str | Path | None = None,
    create_key: bool = False,
    anchor_interval: float | None = None,
) -> Sealer | None:
    """The sealer configured for a database (``None`` when no signing key is configured).

    The key: see :func:`doseladder.conduct.signing.configured_signer`; anchors: see
    :func:`anchor_store`; interval: ``anchor_interval``, else
    ``$DOSELADDER_AUDIT_ANCHOR_INTERVAL`` (seconds), else 0 (every commit).
    """
    from doseladder.conduct.errors import ValidationError
    from doseladder.conduct.settings import redact_url
    from doseladder.conduct.signing import configured_signer

    signer = configured_signer(key_file, create=create_key)
    if signer is None:
        return None
    if anchor_interval is None:
        raw = os.environ.get(ENV_ANCHOR_INTERVAL, "0")
        try:
            anchor_interval = float(raw)
        except ValueError:
            raise ValidationError(ENV_ANCHOR_INTERVAL, f"not a number: {raw!r}") from None
    if not 0 <= anchor_interval <= 86400:
        raise ValidationError("anchor_interval", "must be between 0 and 86400 seconds")
    return Sealer(
        signer=signer,
        anchors=anchor_store(url, anchors),
        anchor_interval=anchor_interval,
        database=redact_url(url),
    )
