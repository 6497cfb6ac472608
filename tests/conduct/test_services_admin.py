"""Administration services: role changes, the periodic access review, protocol sources."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from doseladder.conduct import audit
from doseladder.conduct.errors import Conflict, Forbidden, ValidationError
from doseladder.conduct.models import AuditEvent, User
from doseladder.conduct.services import protocol_sources, sites_users, trials

from .conftest import PASSWORD, World


def _user(world: World, username: str) -> User:
    with world.db.session() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        s.expunge(user)
        return user


def test_role_change_is_audited_and_follows_the_site_rules(world: World) -> None:
    monitor = _user(world, "monitor")
    changed = world.run(
        lambda s: sites_users.set_role(
            s,
            world.admin,
            monitor.id,
            role="investigator",
            site_id=world.site_a,
            reason="moved to site A",
        )
    )
    assert (changed.role, changed.site_id) == ("investigator", world.site_a)
    with world.db.session() as s:
        ev = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_type == "users", AuditEvent.action == "update")
            .order_by(AuditEvent.seq.desc())
        ).first()
        assert ev is not None and ev.reason == "moved to site A"
        body = json.loads(ev.payload)
        assert body["old"]["role"] == "monitor" and body["new"]["role"] == "investigator"


@pytest.mark.parametrize(
    ("role", "site", "field"),
    [
        ("investigator", None, "site_id"),  # an investigator needs a site
        ("statistician", "a", "site_id"),  # a statistician works for every site
        ("wizard", None, "role"),
        ("monitor", 99999, "site_id"),
    ],
)
def test_bad_role_changes_name_the_field_and_change_nothing(
    world: World, role: str, site: Any, field: str
) -> None:
    monitor = _user(world, "monitor")
    site_id = world.site_a if site == "a" else site
    before = world.audit_count()
    with pytest.raises(ValidationError) as err:
        world.run(
            lambda s: sites_users.set_role(
                s, world.admin, monitor.id, role=role, site_id=site_id, reason="why not"
            )
        )
    assert err.value.field == field
    assert world.audit_count() == before and _user(world, "monitor").role == "monitor"


def test_nobody_changes_their_own_role_and_only_admins_change_roles(world: World) -> None:
    admin = _user(world, "admin")
    with pytest.raises(Conflict):
        world.run(
            lambda s: sites_users.set_role(
                s, world.admin, admin.id, role="monitor", site_id=None, reason="oops"
            )
        )
    with pytest.raises(Forbidden):
        world.run(
            lambda s: sites_users.set_role(
                s, world.stat, admin.id, role="monitor", site_id=None, reason="coup"
            )
        )


def test_access_review_lists_users_with_last_login_and_review(world: World) -> None:
    world.clock.advance(days=2)
    world.run(lambda s: sites_users.login(s, "inv_a", PASSWORD))
    login_time = world.clock.t
    rows = {r.username: r for r in world.run(lambda s: sites_users.access_review(s, world.admin))}
    assert set(rows) >= {"admin", "stat", "inv_a", "monitor"}
    inv = rows["inv_a"]
    assert inv.role == "investigator" and inv.site_id == world.site_a and inv.site_code
    assert inv.last_login is not None and abs(inv.last_login - login_time) < timedelta(seconds=1)
    assert rows["monitor"].last_login is None and rows["monitor"].last_reviewed_at is None

    world.run(
        lambda s: sites_users.mark_access_reviewed(
            s, world.admin, inv.user_id, note="still on the trial"
        )
    )
    rows = {r.username: r for r in world.run(lambda s: sites_users.access_review(s, world.admin))}
    assert rows["inv_a"].last_reviewed_by == "admin"
    assert rows["inv_a"].last_reviewed_at is not None
    with world.db.session() as s:
        ev = s.scalars(
            select(AuditEvent).where(AuditEvent.action == sites_users.ACCESS_REVIEWED)
        ).one()
        assert ev.reason == "still on the trial" and ev.entity_id == str(inv.user_id)
        assert json.loads(ev.payload)["new"]["role"] == "investigator"
        assert audit.verify(s).ok
    with pytest.raises(Forbidden):
        world.run(lambda s: sites_users.access_review(s, world.stat))
    with pytest.raises(Forbidden):
        world.run(lambda s: sites_users.mark_access_reviewed(s, world.stat, inv.user_id))


def test_uploaded_protocol_files_are_checked(world: World) -> None:
    with pytest.raises(ValidationError, match="line 2") as err:
        protocol_sources.uploaded_source(b"design: boin\n  : [\n", "bad.yaml")
    assert err.value.field == "protocol_file"
    with pytest.raises(ValidationError, match="mapping"):
        protocol_sources.uploaded_source(b"- 1\n- 2\n", "list.yaml")
    with pytest.raises(ValidationError, match="choose"):
        protocol_sources.uploaded_source(b"", None)
    with pytest.raises(ValidationError, match="UTF-8"):
        protocol_sources.uploaded_source(b"\xff\xfe\x00design", "x.yaml")
    # a protocol file with a bad key: the loader names its dotted path
    data, text, _ = protocol_sources.shipped_source("hn2301-nct06801119")
    broken = text.replace("schema_version: 1", "schema_version: 1\nbogus_key: 3", 1)
    parsed, kept, name = protocol_sources.uploaded_source(broken.encode(), "hn.yaml")
    assert kept == broken and name == "hn.yaml"
    with pytest.raises(ValidationError) as bad:
        world.run(
            lambda s: trials.create_trial(
                s, world.stat, code="UP-1", title="Upload", protocol=parsed, source_text=kept
            )
        )
    assert bad.value.field is not None and bad.value.field.startswith("protocol")
    assert "bogus_key" in bad.value.message
    ok = world.run(
        lambda s: trials.create_trial(
            s, world.stat, code="UP-2", title="Upload", protocol=data, source_text=text
        )
    )
    assert ok.status == "draft"
