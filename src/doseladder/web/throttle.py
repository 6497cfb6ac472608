"""Login throttling (OWASP ASVS 2.2.1): failed logins are counted per account and per client
address in a moving window (the ``limits`` library); past the limit the account (or address)
is locked out until the window has moved on -- even the right password is refused with 429 and
``Retry-After`` -- and the lockout is written to the audit trail.

The counters live in ``limits`` storage: in memory by default (one server process), or shared
by several processes with ``$DOSELADDER_RATE_LIMIT_STORAGE`` (e.g. ``redis://host:6379``, or
the SQLite file of :mod:`.throttle_storage` that ``serve --workers N`` sets up by itself).
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar

from fastapi import Request
from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy.orm import Session

from doseladder.conduct import audit
from doseladder.conduct.db import Database
from doseladder.conduct.errors import AuthenticationError, ConductError
from doseladder.conduct.security import SYSTEM
from doseladder.conduct.services import sites_users
from doseladder.conduct.services.sites_users import IssuedToken
from doseladder.web import throttle_storage  # noqa: F401 - registers its storage scheme

__all__ = ["ENV_STORAGE", "LoginThrottle", "LoginThrottled", "throttled_login"]

ENV_STORAGE = "DOSELADDER_RATE_LIMIT_STORAGE"
log = logging.getLogger("doseladder.web.auth")


class LoginThrottled(ConductError):
    """Too many failed logins for the account or from the address: locked out for a while."""

    status: ClassVar[int] = 429
    code: ClassVar[str] = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins: locked out; try again in {retry_after} seconds")
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "field": None, "reason": "locked out after failed logins"}


@dataclass
class LoginThrottle:
    """Moving-window counters of failed logins.

    Attributes:
        per_account: failures allowed per username (``limits`` notation).
        per_client: failures allowed per client address.
        storage_uri: ``limits`` storage (default ``$DOSELADDER_RATE_LIMIT_STORAGE`` or memory).
    """

    per_account: str = "5/15 minutes"
    per_client: str = "50/15 minutes"
    storage_uri: str | None = None
    _storage: Storage = field(init=False, repr=False)
    _limiter: MovingWindowRateLimiter = field(init=False, repr=False)
    _account: RateLimitItem = field(init=False, repr=False)
    _client: RateLimitItem = field(init=False, repr=False)

    def __post_init__(self) -> None:
        uri = self.storage_uri or os.environ.get(ENV_STORAGE) or "memory://"
        storage = storage_from_string(uri)
        if not isinstance(storage, Storage):
            raise ValueError(f"{ENV_STORAGE}: {uri!r} is an asynchronous storage")
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._account = parse(self.per_account)
        self._client = parse(self.per_client)

    def _keys(self, username: str, client: str) -> list[tuple[RateLimitItem, str, str]]:
        return [
            (self._account, "account", username.strip().lower()[:64]),
            (self._client, "client", client),
        ]

    def locked(self, username: str, client: str) -> int | None:
        """Seconds until the lockout ends, or ``None`` if not locked out."""
        waits = []
        for item, kind, ident in self._keys(username, client):
            if not self._limiter.test(item, kind, ident):
                reset, _ = self._limiter.get_window_stats(item, kind, ident)
                waits.append(max(1, math.ceil(reset - time.time())))
        return max(waits) if waits else None

    def failed(self, username: str, client: str) -> list[str]:
        """Count a failure; returns what became locked out by it (``account``/``client``)."""
        newly = []
        for item, kind, ident in self._keys(username, client):
            self._limiter.hit(item, kind, ident)
            if not self._limiter.test(item, kind, ident):
                newly.append(kind)
        return newly

    def succeeded(self, username: str) -> None:
        """A successful login clears the account's failures."""
        self._limiter.clear(self._account, "account", username.strip().lower()[:64])

    def reset(self) -> None:
        """Forget every counter (tests; an administrator's restart does the same)."""
        self._storage.reset()


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _audit_lockout(db: Database, username: str, client: str, kinds: list[str]) -> None:
    def run(s: Session) -> None:
        s.info["actor"] = SYSTEM
        audit.log_event(
            s,
            "login_lockout",
            entity_type="users",
            entity_id=None,
            reason="too many failed logins",
            data={"username": username[:64], "client": client, "locked": kinds},
        )

    try:
        db.run(run)
    except Exception:  # never let the audit of a lockout turn into a 500 for the client
        log.exception("could not audit the lockout of %r from %s", username, client)


def throttled_login(
    request: Request,
    db: Database,
    username: str,
    password: str,
    *,
    label: str,
    ttl: timedelta | None,
) -> IssuedToken:
    """:func:`sites_users.login` behind the app's :class:`LoginThrottle`."""
    throttle: LoginThrottle = request.app.state.login_throttle
    client = _client(request)
    name = username if isinstance(username, str) else ""
    wait = throttle.locked(name, client)
    if wait is not None:
        raise LoginThrottled(wait)
    try:
        issued = db.run(lambda s: sites_users.login(s, username, password, label=label, ttl=ttl))
    except AuthenticationError:
        newly = throttle.failed(name, client)
        log.warning("failed login for %r from %s", name[:64], client)
        if newly:
            _audit_lockout(db, name, client, newly)
        raise
    throttle.succeeded(name)
    return issued
