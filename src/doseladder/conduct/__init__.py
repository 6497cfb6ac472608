"""Trial conduct: the system of record for running a dose-finding trial.

Layers (an API or UI calls the services; the services call the pure core)::

    routes  ->  doseladder.conduct.services.*  ->  doseladder.core (designs, plan rules)
                       |
                       +-> models (SQLAlchemy 2) + audit (hash chain) in one transaction

Typical use::

    from doseladder.conduct import Database, upgrade
    from doseladder.conduct.services import patients

    upgrade(url)                              # create/upgrade the schema (Alembic)
    db = Database(url)
    enrolment = db.run(lambda s: patients.enrol(s, actor, patient_id, dose_level=2))

See ``docs/conduct.md`` for the data model, the audit chain, roles and concurrency.
"""

from __future__ import annotations

from doseladder.conduct.db import Database, current_revision, downgrade, upgrade
from doseladder.conduct.errors import (
    AuthenticationError,
    ConductError,
    Conflict,
    Forbidden,
    NotFound,
    ValidationError,
)
from doseladder.conduct.security import SYSTEM, Actor, Permission, Role
from doseladder.conduct.settings import database_url

__all__ = [
    "SYSTEM",
    "Actor",
    "AuthenticationError",
    "ConductError",
    "Conflict",
    "Database",
    "Forbidden",
    "NotFound",
    "Permission",
    "Role",
    "ValidationError",
    "current_revision",
    "database_url",
    "downgrade",
    "upgrade",
]
