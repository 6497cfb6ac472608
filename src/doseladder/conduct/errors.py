"""Errors raised by the trial-conduct services.

Every error carries a one-line message; :class:`ValidationError` also names the ``field`` and
the ``reason`` (``str(err)`` is ``"<field>: <reason>"``, like the core's
:class:`~doseladder.core.errors.InputError`, which the services translate into it).
``status`` is the HTTP status an API layer should answer with and ``code`` a stable
machine-readable name.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AuthenticationError",
    "ConductError",
    "Conflict",
    "Forbidden",
    "NotFound",
    "ValidationError",
]


class ConductError(Exception):
    """Base class of the service errors (never raised directly)."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, Any]:
        """``{"error": code, "message": ..., "field": ...}`` for an API response body."""
        out: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        return out


class NotFound(ConductError):
    """The referenced record does not exist."""

    status = 404
    code = "not_found"


class Forbidden(ConductError):
    """The authenticated user's role or site does not allow the operation."""

    status = 403
    code = "forbidden"


class AuthenticationError(ConductError):
    """Unknown user, wrong password, or an invalid/expired/revoked token."""

    status = 401
    code = "unauthenticated"


class Conflict(ConductError):
    """The operation conflicts with the trial's current state (full cohort, stale decision,
    suspended accrual, a record that was already corrected, ...)."""

    status = 409
    code = "conflict"


class ValidationError(ConductError):
    """Bad input: ``field`` names what was wrong and ``reason`` says why."""

    status = 422
    code = "invalid"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", field=field)
        self.reason = reason

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": self.code,
            "message": self.message,
            "field": self.field,
            "reason": self.reason,
        }
