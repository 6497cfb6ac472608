"""The FastAPI application: the JSON API under ``/api/v1`` and the web interface under ``/``.

``create_app(database)`` builds an app around a :class:`~doseladder.conduct.db.Database` (or a
database URL).  Routes only call the services (``doseladder.conduct.services``), which check
permissions, validate, call the core and write in one transaction with the audit trail.

Errors never leak as 500 for bad input:

* service errors answer with their status (``ValidationError`` 422, ``NotFound`` 404,
  ``Forbidden`` 403, ``AuthenticationError`` 401, ``Conflict`` 409) and a JSON body
  ``{"error", "message", "field", "reason"}``;
* request validation (types, ranges, enums, dates, unknown fields) answers 422 with the field
  path (``body.grade``) and the reason, before any service runs;
* a database that is unreachable (lost connection, server shutting down, pool exhausted) is a
  503 with ``Retry-After`` (after one retry where safe, see ``Database.run``);
* every POST accepts an ``Idempotency-Key`` header (see :mod:`.idempotency`);
* anything else is a 500 ``{"error": "internal"}`` -- and, because every request's change runs
  in one transaction, a crash mid-request leaves no partial record.

The web interface answers the same errors as an HTML page (a 401 there redirects to the login
page).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from doseladder import __version__
from doseladder.conduct.db import Database, is_unavailable
from doseladder.conduct.errors import AuthenticationError, ConductError
from doseladder.core.errors import InputError
from doseladder.web.apidocs import install_api_docs
from doseladder.web.deps import WebSettings, authenticate_pending
from doseladder.web.idempotency import idempotency_middleware
from doseladder.web.middleware import IdempotencyGate, SecurityHeaders, WriteBulkhead
from doseladder.web.throttle import LoginThrottle, LoginThrottled

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX = "/api/v1"
#: seconds a client is asked to wait when the database is unavailable
RETRY_AFTER_SECONDS = 5
#: requests that may write running at once in one process (see ``create_app``)
DEFAULT_WRITE_CONCURRENCY = 2
STATIC_DIR = Path(__file__).with_name("ui") / "static"
log = logging.getLogger("doseladder.web")
_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})

_DESCRIPTION = """
The trial-conduct API of doseladder: trials and their protocol versions, sites and users,
patient registration, screening and enrolment, adverse events, efficacy assessments, DLT
adjudication, dose decisions (recommend, record, override, committee sign-off, replay), the
audit trail (verification, certified copy, log) and exports (CSV of every table, CDISC-style
Dataset-JSON DM/EX/AE).

Authenticate with `POST /api/v1/auth/login` and send the token as
`Authorization: Bearer <token>`.  Every error has the body
`{"error": code, "message": text, "field": name, "reason": text}`; bad input is a 4xx that
names the field and changes nothing.
"""


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX) or request.url.path == "/openapi.json"


def _error_body(
    code: str, message: str, field: str | None = None, reason: str | None = None
) -> dict[str, Any]:
    return {"error": code, "message": message, "field": field, "reason": reason}


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc) or "request"


def _conduct_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConductError)
    if not _is_api(request):
        from doseladder.web.ui.routes import error_page

        if isinstance(exc, AuthenticationError):
            return RedirectResponse("/login", status_code=303)
        return error_page(request, exc.status, exc.message)
    body = exc.to_dict()
    body.setdefault("field", None)
    body.setdefault("reason", getattr(exc, "reason", exc.message))
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    if isinstance(exc, LoginThrottled):
        headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse(body, status_code=exc.status, headers=headers)


def _input_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InputError)
    if not _is_api(request):
        from doseladder.web.ui.routes import error_page

        return error_page(request, 422, str(exc))
    return JSONResponse(_error_body("invalid", str(exc), exc.field, exc.reason), status_code=422)


def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = []
    for err in exc.errors():
        loc = list(err.get("loc", ()))
        reason = str(err.get("msg", "invalid"))
        if err.get("type") == "extra_forbidden":
            reason = "unknown field (not allowed)"
        elif err.get("type") == "missing":
            reason = "is required"
        details.append({"field": _loc(loc), "reason": reason})
    if not details:
        details.append({"field": "request", "reason": "invalid request"})
    first = details[0]
    if not _is_api(request):
        from doseladder.web.ui.routes import error_page

        return error_page(request, 422, f"{first['field']}: {first['reason']}")
    body = _error_body("invalid", f"{first['field']}: {first['reason']}", **first)
    body["errors"] = details[:50]
    return JSONResponse(body, status_code=422)


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = {
        400: "invalid",
        401: "unauthenticated",
        404: "not_found",
        405: "method_not_allowed",
    }.get(exc.status_code, "error")
    if not _is_api(request):
        from doseladder.web.ui.routes import error_page

        return error_page(request, exc.status_code, str(exc.detail))
    if exc.status_code == 400:  # an unparsable body: answered like every other bad input
        reason = f"not valid JSON ({exc.detail})"
        return JSONResponse(_error_body(code, f"body: {reason}", "body", reason), status_code=422)
    headers = exc.headers
    allowed = _allowed_methods(request) if exc.status_code == 405 else None
    if allowed:
        headers = {**(headers or {}), "Allow": ", ".join(allowed)}
    return JSONResponse(
        _error_body(code, str(exc.detail)), status_code=exc.status_code, headers=headers
    )


def _allowed_methods(request: Request) -> list[str] | None:
    """The methods the OpenAPI document declares for this path (``None`` if it declares none).

    Starlette's own 405 names only the methods of the first route that matched the path, so
    a path with GET and POST routes would say ``Allow: GET``."""
    table: list[tuple[re.Pattern[str], list[str]]] | None = getattr(
        request.app.state, "allowed_methods", None
    )
    if table is None:
        table = []
        for path, item in request.app.openapi().get("paths", {}).items():
            regex = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path))
            methods = sorted(m.upper() for m in item if m in _HTTP_METHODS)
            table.append((re.compile(f"^{regex}$"), methods))
        request.app.state.allowed_methods = table
    for pattern, methods in table:
        if pattern.match(request.url.path):
            return methods
    return None


def _unavailable(request: Request, exc: Exception) -> Response:
    """A lost database connection, a server shutting down, an exhausted pool: 503."""
    if not is_unavailable(exc):
        return _internal_error(request, exc)
    log.warning("database unavailable in %s %s: %s", request.method, request.url.path, exc)
    message = (
        "the database is temporarily unavailable; try again shortly (a request sent with an "
        "Idempotency-Key can be retried safely)"
    )
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if not _is_api(request):  # no page template: it would need the database
        return HTMLResponse(
            f"<!doctype html><title>503</title><h1>Temporarily unavailable</h1><p>{message}</p>",
            status_code=503,
            headers=headers,
        )
    return JSONResponse(_error_body("unavailable", message), status_code=503, headers=headers)


def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
    message = "internal error: nothing was recorded; try again or contact the administrator"
    if not _is_api(request):
        from doseladder.web.ui.routes import error_page

        return error_page(request, 500, message)
    return JSONResponse(_error_body("internal", message), status_code=500)


#: the app's exception handlers (Starlette picks the first class in the exception's MRO)
_HANDLERS: dict[type[Exception], Callable[[Request, Exception], Response]] = {
    ConductError: _conduct_error,
    InputError: _input_error,
    RequestValidationError: _validation_error,
    StarletteHTTPException: _http_error,
    DBAPIError: _unavailable,
    SATimeoutError: _unavailable,
    Exception: _internal_error,
}


def _handler_for(exc: Exception) -> Callable[[Request, Exception], Response]:
    for cls in type(exc).__mro__:
        if cls in _HANDLERS:
            return _HANDLERS[cls]
    return _internal_error  # pragma: no cover - every exception is an Exception


def _token_first(
    handler: Callable[[Request, Exception], Response],
) -> Callable[[Request, Exception], Response]:
    """``handler``, after the token of a request whose look-up was deferred to its route
    (:class:`~doseladder.web.deps.DeferredCaller`) and that failed before the route ran:
    its token is looked up first, and a refused token (401) or a failed look-up (503) is
    the answer, as when the look-up ran while FastAPI solved the dependencies.  A plain
    ``def``: Starlette runs it in a worker thread, where the look-up may block."""

    def handle(request: Request, exc: Exception) -> Response:
        try:
            authenticate_pending(request)
        except Exception as first:
            return _handler_for(first)(request, first)
        return handler(request, exc)

    return handle


def create_app(
    database: Database | str | None = None,
    *,
    secret: bytes | None = None,
    secure_cookies: bool = False,
    session_hours: float = 12.0,
    migrate: bool = False,
    worker_threads: int = 100,
    write_concurrency: int = DEFAULT_WRITE_CONCURRENCY,
    login_throttle: LoginThrottle | None = None,
    dispose_database: bool = False,
) -> FastAPI:
    """The doseladder web application.

    Args:
        database: a :class:`Database` (shared; the caller disposes it) or a database URL
            (default ``$DOSELADDER_DATABASE_URL`` or ``sqlite:///./doseladder.db``; the app
            disposes its engine at shutdown).
        secret: key for the CSRF tokens of the web forms (random per app by default).
        secure_cookies: always mark the session cookie ``Secure`` (it is marked anyway when
            the request came over HTTPS); set it behind a TLS-terminating proxy.
        session_hours: lifetime of a web-interface login.
        migrate: apply the schema migrations first (URL only).
        worker_threads: threads serving the (synchronous) endpoints.  Writers to one trial
            queue on its row lock while holding a thread; with more threads than concurrent
            writers, a read such as the dose recommendation never waits behind them (anyio's
            default is 40).
        write_concurrency: requests that may write (every method but GET, HEAD, OPTIONS)
            running at once in this process; more wait in arrival order, never refused
            (:class:`~doseladder.web.middleware.WriteBulkhead`).  Reads are not limited, so
            they keep threads, connections and CPU while many writers queue.
        login_throttle: failed-login counters and lockout (default: 5 failures per account,
            50 per client address, in 15 minutes).
        dispose_database: dispose a given :class:`Database` at shutdown too (a database
            given as a URL is always disposed).
    """
    if not 1 <= worker_threads <= 1000:
        raise ValueError("worker_threads must be in 1..1000")
    if not 1 <= write_concurrency <= 1000:
        raise ValueError("write_concurrency must be in 1..1000")
    owned = dispose_database or not isinstance(database, Database)
    if isinstance(database, Database):
        db = database
    else:
        db = Database(database)
        if migrate:
            db.upgrade()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = worker_threads
        yield
        if owned:
            db.dispose()

    app = FastAPI(
        title="doseladder trial conduct",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served from the package under a CSP: see install_api_docs
        redoc_url=None,
        openapi_tags=[
            {"name": "auth", "description": "Log in and out (bearer tokens)."},
            {"name": "sites", "description": "Participating hospitals (administrators)."},
            {"name": "users", "description": "Staff accounts and roles (administrators)."},
            {"name": "trials", "description": "Trials, protocol versions, status, sites."},
            {"name": "patients", "description": "Registration, screening, enrolment."},
            {"name": "outcomes", "description": "Adverse events, efficacy, DLT adjudication."},
            {"name": "decisions", "description": "Recommend, record, override, sign off."},
            {"name": "audit", "description": "The hash-chained audit trail."},
            {"name": "exports", "description": "CSV of every table; Dataset-JSON DM/EX/AE."},
        ],
    )
    app.state.db = db
    app.state.login_throttle = login_throttle or LoginThrottle()
    app.state.settings = WebSettings(
        secret=secret or secrets.token_bytes(32),
        secure_cookies=secure_cookies,
        session_hours=session_hours,
    )

    for exc_class, handler in _HANDLERS.items():
        app.add_exception_handler(exc_class, _token_first(handler))

    async def idempotency(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        try:
            return await idempotency_middleware(request, call_next, API_PREFIX)
        except (DBAPIError, SATimeoutError) as exc:  # the key's look-up: nothing was written
            return _unavailable(request, exc)

    # the last added is the outermost
    app.add_middleware(IdempotencyGate, dispatch=idempotency)
    app.add_middleware(WriteBulkhead, limit=write_concurrency)
    app.add_middleware(SecurityHeaders)

    from doseladder.web.api import api_router
    from doseladder.web.ui.admin import router as admin_router
    from doseladder.web.ui.end_of_trial import router as end_of_trial_router
    from doseladder.web.ui.opening import router as opening_router
    from doseladder.web.ui.pack import router as pack_router
    from doseladder.web.ui.routes import router as ui_router

    app.include_router(api_router, prefix=API_PREFIX)
    app.include_router(ui_router)
    app.include_router(admin_router)
    app.include_router(end_of_trial_router)
    app.include_router(pack_router)
    app.include_router(opening_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_api_docs(app)
    return app
