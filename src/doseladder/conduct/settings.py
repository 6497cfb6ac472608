"""Where the trial-conduct database lives.

The URL comes from an explicit argument, else the environment variable
``DOSELADDER_DATABASE_URL``, else a SQLite file ``./doseladder.db`` (no setup needed).
PostgreSQL URLs may be written ``postgresql://user@host/db`` or ``postgres://...``; they are
normalised to the psycopg 3 driver (``postgresql+psycopg://``).
"""

from __future__ import annotations

import os

from sqlalchemy.engine import make_url

from doseladder.conduct.errors import ValidationError

__all__ = ["DEFAULT_DATABASE_URL", "ENV_VAR", "database_url", "redact_url"]

ENV_VAR = "DOSELADDER_DATABASE_URL"
DEFAULT_DATABASE_URL = "sqlite:///./doseladder.db"


def database_url(url: str | None = None) -> str:
    """The database URL to use: ``url``, else ``$DOSELADDER_DATABASE_URL``, else the default.

    Raises :class:`ValidationError` (field ``database``) for an unsupported URL.
    """
    raw = url if url else os.environ.get(ENV_VAR) or DEFAULT_DATABASE_URL
    raw = raw.strip()
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            raw = "postgresql+psycopg://" + raw[len(prefix) :]
            break
    try:
        parsed = make_url(raw)
    except Exception:  # sqlalchemy raises ArgumentError for malformed URLs
        raise ValidationError("database", f"not a database URL: {raw!r}") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ValidationError(
            "database", f"unsupported database {backend!r}; use sqlite:/// or postgresql://"
        )
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise ValidationError("database", "SQLite needs a file path (in-memory is not supported)")
    if backend == "postgresql" and parsed.drivername != "postgresql+psycopg":
        raise ValidationError("database", "PostgreSQL is supported through psycopg 3 only")
    return raw


def redact_url(url: str) -> str:
    """The URL with any password hidden (for reports and exports)."""
    return make_url(url).render_as_string(hide_password=True)
