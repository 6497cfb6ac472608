"""The web layer: a JSON API (FastAPI, OpenAPI-documented) and a server-rendered interface.

``create_app(database)`` builds the application; ``doseladder serve`` runs it with an embedded
SQLite database and a demo trial.  See ``docs/web.md``.
"""

from __future__ import annotations

from doseladder.web.app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]
