"""``Database.run(..., autocommit=True)``: statements commit on their own (PostgreSQL: no
transaction round trips), and a change the audit trail would record is refused before anything
is written."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doseladder.conduct.models import Site

from .conftest import World


def test_autocommit_reads(world: World) -> None:
    n = world.db.run(lambda s: s.scalar(select(func.count()).select_from(Site)), autocommit=True)
    with world.db.session() as s:
        assert n == s.scalar(select(func.count()).select_from(Site))


def test_autocommit_refuses_an_audited_change_and_writes_nothing(world: World) -> None:
    before = world.snapshot_counts()

    def add_site(s: Session) -> None:
        s.add(Site(code="AUTO", name="Auto", active=True, created_at=datetime.now(UTC)))
        s.flush()

    with pytest.raises(RuntimeError, match="autocommit"):
        world.db.run(add_site, autocommit=True)
    assert world.snapshot_counts() == before
    with world.db.session() as s:
        assert s.scalar(select(Site.id).where(Site.code == "AUTO")) is None
