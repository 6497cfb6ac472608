"""Request-scoped dependencies: the database, the authenticated caller, UI sessions and CSRF.

* API requests authenticate with ``Authorization: Bearer <token>`` (a token from
  ``POST /api/v1/auth/login``); :func:`api_caller` turns it into a :class:`Caller`.
* The web interface keeps the same opaque token in an ``HttpOnly``, ``SameSite=Lax`` session
  cookie (``Secure`` over HTTPS or when the app is created with ``secure_cookies=True``); the
  server stores only the token's SHA-256, so logging out revokes it for good.
* Every UI form carries a CSRF token: an HMAC of the session token under the app's secret
  (before login, a random double-submit cookie).

A :class:`Caller` runs service functions in one transaction with its actor:
``caller.run(lambda s, a: patients.enrol(s, a, ...))``.  The routes never compute anything
themselves; they call the services, which call the core.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from doseladder.conduct.db import Database
from doseladder.conduct.errors import AuthenticationError
from doseladder.conduct.security import Actor
from doseladder.conduct.services import sites_users
from doseladder.web.idempotency import Claim, claim_in

__all__ = [
    "SESSION_COOKIE",
    "ApiCaller",
    "Caller",
    "DbDep",
    "DeferredApiCaller",
    "DeferredCaller",
    "WebSettings",
    "api_caller",
    "authenticate_pending",
    "csrf_token",
    "deferred_api_caller",
    "get_db",
    "get_settings",
    "session_caller",
]

T = TypeVar("T")

#: name of the UI session cookie (holds the opaque login token)
SESSION_COOKIE = "doseladder_session"
#: name of the pre-login CSRF cookie (double submit)
LOGIN_CSRF_COOKIE = "doseladder_login_csrf"


@dataclass(frozen=True)
class WebSettings:
    """Settings of one app instance.

    Attributes:
        secret: key of the CSRF HMAC (random per app unless given).
        secure_cookies: always mark cookies ``Secure`` (they are also marked on HTTPS requests).
        session_hours: lifetime of a UI login (the token's expiry).
    """

    secret: bytes
    secure_cookies: bool = False
    session_hours: float = 12.0


def get_db(request: Request) -> Database:
    """The app's :class:`~doseladder.conduct.db.Database`."""
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> WebSettings:
    """The app's :class:`WebSettings`."""
    settings: WebSettings = request.app.state.settings
    return settings


async def _db(request: Request) -> Database:
    # ``async``: FastAPI runs a plain ``def`` dependency in a worker thread (a thread hop per
    # request for an attribute look-up)
    return get_db(request)


DbDep = Annotated[Database, Depends(_db)]


@dataclass(frozen=True)
class Caller:
    """An authenticated user and the database: runs service calls in one transaction.

    Attributes:
        db: the database.
        actor: who is calling (permission and site checks happen in the services).
        token: the bearer/session token the caller authenticated with.
    """

    db: Database
    actor: Actor
    token: str

    def run(self, fn: Callable[[Session, Actor], T]) -> T:
        """``fn(session, actor)`` in one transaction (all or nothing, retried if transient).

        The request's ``Idempotency-Key`` (if any) is claimed in the same transaction."""
        actor = self.actor
        claims: list[Claim] = []

        def body(s: Session) -> T:
            result = fn(s, actor)
            claim = claim_in(s, actor.user_id)
            if claim is not None:
                claims.append(claim)
            return result

        result = self.db.run(body)
        for claim in claims:
            claim.claimed = True
        return result

    def read(self, fn: Callable[[Session, Actor], T]) -> T:
        """``fn(session, actor)`` in a read-only transaction (never waits for a writer's lock;
        see :meth:`Database.transaction`)."""
        actor = self.actor
        return self.db.run(lambda s: fn(s, actor), read_only=True)


def resolve(db: Database, token: str) -> Caller:
    """The caller a token stands for (:class:`AuthenticationError` otherwise): one statement
    in autocommit on a bare pooled connection (no transaction round trips, no ORM session),
    read afresh on every request."""
    actor = db.run_connection(
        lambda conn: sites_users.actor_from_token(conn, token, clock=db.clock)
    )
    return Caller(db=db, actor=actor, token=token)


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An API token from POST /api/v1/auth/login (opaque, starts with dl_).",
)


def api_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The caller of an API request (``Authorization: Bearer <token>``).  A plain ``def``:
    the token's look-up blocks, so FastAPI runs it in a worker thread."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationError("missing bearer token (Authorization: Bearer <token>)")
    return resolve(get_db(request), credentials.credentials)


ApiCaller = Annotated[Caller, Depends(api_caller)]

#: the request scope's key of a :class:`DeferredCaller` (see :func:`authenticate_pending`)
_PENDING = "doseladder.deferred_caller"


class DeferredCaller:
    """An API caller whose token is looked up in the route's worker thread, right before the
    route's transaction (:meth:`run` / :meth:`read`), instead of in a worker thread of its
    own during FastAPI's dependency solving: one thread hop per request instead of two.

    The same look-up (:func:`resolve`: one statement, nothing cached, the same refusals)
    happens before anything the route does.  A request refused *before* the route runs
    (its body or parameters invalid) is answered as if the caller had been resolved first:
    the app's exception handlers call :func:`authenticate_pending`, which resolves the
    token then (a 401 instead of the 422, as with :data:`ApiCaller`).

    Use it only for routes that do nothing but ``caller.run(...)`` / ``caller.read(...)``."""

    __slots__ = ("_caller", "db", "looked_up", "token")

    def __init__(self, db: Database, token: str) -> None:
        self.db = db
        self.token = token
        self.looked_up = False
        self._caller: Caller | None = None

    def resolve(self) -> Caller:
        """The :class:`Caller` (the token's look-up the first time; blocks).  A refused or
        failed look-up raises (and :func:`authenticate_pending` does not repeat it)."""
        if self._caller is None:
            self.looked_up = True
            self._caller = resolve(self.db, self.token)
        return self._caller

    @property
    def actor(self) -> Actor:
        return self.resolve().actor

    def run(self, fn: Callable[[Session, Actor], T]) -> T:
        """:meth:`Caller.run` after the token's look-up."""
        return self.resolve().run(fn)

    def read(self, fn: Callable[[Session, Actor], T]) -> T:
        """:meth:`Caller.read` after the token's look-up."""
        return self.resolve().read(fn)


async def deferred_api_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> DeferredCaller:
    """The caller of an API request, its token looked up later (:class:`DeferredCaller`).
    ``async``: it never blocks (a missing or non-bearer header is refused here, as by
    :func:`api_caller`)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationError("missing bearer token (Authorization: Bearer <token>)")
    caller = DeferredCaller(get_db(request), credentials.credentials)
    request.scope[_PENDING] = caller
    return caller


DeferredApiCaller = Annotated[DeferredCaller, Depends(deferred_api_caller)]


def authenticate_pending(request: Request) -> None:
    """Resolve the request's :class:`DeferredCaller` if the route has not (blocks: call it
    from a worker thread).  Raises what :func:`api_caller` would have raised during the
    dependency solving (:class:`AuthenticationError`, a database error), so an error found
    after it -- invalid body or parameters -- is answered in the same order as with
    :data:`ApiCaller`: first the token, then the rest."""
    pending = request.scope.get(_PENDING)
    if isinstance(pending, DeferredCaller) and not pending.looked_up:
        pending.resolve()


def session_caller(request: Request) -> Caller | None:
    """The caller of a UI request from its session cookie (``None`` when not logged in)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return resolve(get_db(request), token)
    except AuthenticationError:
        return None


def csrf_token(settings: WebSettings, session_token: str) -> str:
    """The CSRF token of a UI session: HMAC-SHA256 of the session token."""
    return hmac.new(settings.secret, session_token.encode(), hashlib.sha256).hexdigest()


def csrf_ok(settings: WebSettings, session_token: str, given: object) -> bool:
    """Whether ``given`` is the session's CSRF token (constant-time comparison)."""
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(csrf_token(settings, session_token), given)


def new_login_csrf() -> str:
    """A random pre-login CSRF value (set as a cookie and echoed by the login form)."""
    return secrets.token_urlsafe(24)
