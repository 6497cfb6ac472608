"""Fixtures of the end-to-end journeys: the web tests' app over SQLite *and* PostgreSQL.

``db_url`` (parametrised over ``sqlite`` and ``postgresql``), ``world`` (two sites, one user
per role, two committee members), ``client`` and ``api`` (one logged-in token per user) are the
fixtures of ``tests/web/conftest.py`` and ``tests/conduct/conftest.py``, reused as they are.
"""

from __future__ import annotations

from ..web.conftest import (  # noqa: F401 - fixtures shared with the web and conduct tests
    _cheap_scrypt,
    api,
    client,
    clock,
    db,
    db_url,
    pg_databases,
    pg_session_url,
    sqlite_template,
    world,
)
