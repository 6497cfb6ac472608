"""The application of one ``doseladder serve --workers N`` process, built from the environment.

With several workers, uvicorn starts N processes that each import the app; they cannot receive
Python objects from ``serve``, so ``serve`` (after migrating the database and preparing the
signing key once) describes the app in environment variables that the workers inherit, and
each worker calls :func:`app_from_environment`:

* ``$DOSELADDER_DATABASE_URL``: the database (every worker has its own connection pool of
  ``$DOSELADDER_POOL_SIZE`` connections);
* ``$DOSELADDER_AUDIT_KEY_FILE`` / ``$DOSELADDER_AUDIT_KEY``: the audit signing key;
* ``$DOSELADDER_WEB_SECRET``: the key of the CSRF tokens, the same in every worker (a form
  served by one worker is posted to another);
* ``$DOSELADDER_SECURE_COOKIES``: ``1`` to mark the session cookie ``Secure``;
* ``$DOSELADDER_WRITE_CONCURRENCY``: writing requests run at once per process (default 2;
  see :class:`~doseladder.web.middleware.WriteBulkhead`);
* ``$DOSELADDER_RATE_LIMIT_STORAGE``: the login throttle's counters, shared by the workers
  (see :mod:`doseladder.web.throttle_storage`).
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from doseladder.conduct.db import Database
from doseladder.conduct.errors import ValidationError
from doseladder.conduct.sealing import configured_sealer
from doseladder.conduct.settings import database_url

__all__ = [
    "ENV_POOL_SIZE",
    "ENV_SECRET",
    "ENV_SECURE_COOKIES",
    "ENV_WRITE_CONCURRENCY",
    "app_from_environment",
]

ENV_SECRET = "DOSELADDER_WEB_SECRET"
ENV_SECURE_COOKIES = "DOSELADDER_SECURE_COOKIES"
ENV_POOL_SIZE = "DOSELADDER_POOL_SIZE"
ENV_WRITE_CONCURRENCY = "DOSELADDER_WRITE_CONCURRENCY"


def app_from_environment() -> FastAPI:
    """The app of one worker process (see the module docs); the database is disposed with it."""
    from doseladder.web import create_app
    from doseladder.web.app import DEFAULT_WRITE_CONCURRENCY

    url = database_url(None)
    raw_secret = os.environ.get(ENV_SECRET, "")
    try:
        secret = bytes.fromhex(raw_secret) if raw_secret else None
    except ValueError:
        raise ValidationError(ENV_SECRET, "must be hexadecimal") from None
    raw_pool = os.environ.get(ENV_POOL_SIZE, "10")
    if not raw_pool.isdigit() or not 1 <= int(raw_pool) <= 200:
        raise ValidationError(ENV_POOL_SIZE, f"must be an integer in 1..200, got {raw_pool!r}")
    raw_writes = os.environ.get(ENV_WRITE_CONCURRENCY, str(DEFAULT_WRITE_CONCURRENCY))
    if not raw_writes.isdigit() or not 1 <= int(raw_writes) <= 1000:
        raise ValidationError(
            ENV_WRITE_CONCURRENCY, f"must be an integer in 1..1000, got {raw_writes!r}"
        )
    db = Database(url, pool_size=int(raw_pool), sealer=configured_sealer(url))
    return create_app(
        db,
        write_concurrency=int(raw_writes),
        secret=secret,
        secure_cookies=os.environ.get(ENV_SECURE_COOKIES) == "1",
        dispose_database=True,
    )
