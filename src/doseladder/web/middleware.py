"""The app's HTTP middleware, written as plain ASGI (no per-request task group or streamed
copy of the response, unlike Starlette's ``BaseHTTPMiddleware``).

* :class:`SecurityHeaders`: ``nosniff``, ``Referrer-Policy``, ``X-Frame-Options`` on every
  response; a Content-Security-Policy and ``Cache-Control: no-store`` on HTML pages.
* :class:`IdempotencyGate`: sends a POST that carries an ``Idempotency-Key`` through the
  idempotency handling (:mod:`doseladder.web.idempotency`); every other request goes
  straight to the app.
* :class:`WriteBulkhead`: at most ``limit`` requests that may write (every method but GET,
  HEAD and OPTIONS) run at once in this process; further writes wait, in arrival order, and
  are never refused.  Reads are not limited, so a read -- the dose recommendation -- is never
  queued behind writers for a worker thread, a pooled database connection or the GIL.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.middleware.base import BaseHTTPMiddleware, DispatchFunction
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SAFE_METHODS", "IdempotencyGate", "SecurityHeaders", "WriteBulkhead"]

#: methods that never write (never held back by :class:`WriteBulkhead`)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_HTML_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class SecurityHeaders:
    """Security headers on every HTTP response (a page that needs another CSP, such as
    ``/docs``, sets its own: headers already set are kept)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("X-Frame-Options", "DENY")
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", _HTML_POLICY)
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


class IdempotencyGate:
    """Route only POSTs with an ``Idempotency-Key`` header through ``dispatch`` (the
    idempotency middleware, which needs the whole request and response); everything else
    goes straight to ``app``."""

    def __init__(self, app: ASGIApp, dispatch: DispatchFunction) -> None:
        self.app = app
        self.keyed = BaseHTTPMiddleware(app, dispatch=dispatch)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and any(name == b"idempotency-key" for name, _ in scope["headers"])
        ):
            await self.keyed(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class WriteBulkhead:
    """At most ``limit`` concurrent writing requests in this process (see the module docs).

    A waiting write holds no thread and no database connection, only its place in the
    queue; it runs as soon as one of the running writes has sent its response."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        if not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise ValueError(f"write_concurrency must be an integer in 1..1000, got {limit!r}")
        self.app = app
        self.limit = limit
        self._loop: Any = None
        self._semaphore: asyncio.Semaphore | None = None

    def semaphore(self) -> asyncio.Semaphore:
        """The semaphore of the running event loop (a new loop -- e.g. a test client's --
        gets a new one)."""
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._loop is not loop:
            self._loop, self._semaphore = loop, asyncio.Semaphore(self.limit)
        return self._semaphore

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        async with self.semaphore():
            await self.app(scope, receive, send)
