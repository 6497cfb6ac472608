"""Passwords, tokens, roles and the permission matrix, authentication services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from doseladder.conduct import security
from doseladder.conduct.errors import AuthenticationError, Conflict, Forbidden, ValidationError
from doseladder.conduct.models import ApiToken, User
from doseladder.conduct.security import (
    PERMISSIONS,
    Actor,
    Permission,
    Role,
    check_site,
    hash_password,
    require,
    token_digest,
    verify_password,
)
from doseladder.conduct.services import sites_users

from .conftest import PASSWORD, World


def test_password_hash_is_salted_argon2id_and_verifies() -> None:
    h1 = hash_password("a long password")
    h2 = hash_password("a long password")
    assert h1 != h2 and h1.startswith("$argon2id$")
    assert "a long password" not in h1
    assert verify_password("a long password", h1)
    assert not verify_password("a long passwore", h1)
    assert f"m={security.ARGON2_MEMORY_KIB},t={security.ARGON2_TIME_COST}" in h1
    assert not security.needs_rehash(h1)


def test_legacy_scrypt_hashes_verify_and_need_rehash(monkeypatch: pytest.MonkeyPatch) -> None:
    old = security.scrypt_hash("another password")
    assert old.startswith("scrypt$")
    monkeypatch.setattr(security, "SCRYPT_N", 2**9)
    assert verify_password("another password", old)
    assert not verify_password("another passwore", old)
    assert security.needs_rehash(old)
    current = hash_password("another password")
    monkeypatch.setattr(security, "ARGON2_TIME_COST", security.ARGON2_TIME_COST + 1)
    assert security.needs_rehash(current)  # raised cost: re-hash at next login


@pytest.mark.parametrize(
    "stored", ["", "bcrypt$1$2$3$4$5", "scrypt$x$8$1$AA==$AA==", "junk", "$argon2id$v=19$junk"]
)
def test_malformed_hashes_never_verify(stored: str) -> None:
    assert not verify_password("whatever", stored)


def test_default_cost_is_production_grade() -> None:
    """The conftest lowers the argon2 cost for speed; the module itself keeps RFC 9106's."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(security))
    values = {
        t.id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and not isinstance(node.value, ast.Call)
        for t in node.targets
        if isinstance(t, ast.Name) and t.id.startswith(("ARGON2_", "MIN_PASSWORD"))
    }
    assert values["ARGON2_TIME_COST"] >= 3 and values["ARGON2_MEMORY_KIB"] >= 64 * 1024
    assert values["MIN_PASSWORD_LENGTH"] >= 12


@pytest.mark.parametrize(
    ("pw", "reason"),
    [
        (None, "string"),
        ("short", "at least 12"),
        ("aaaaaaaaaa", "at least 12"),
        ("aaaaaaaaaaaa", "repetitive"),
        ("abcdefghijklmnop", "sequential"),
        (" " * 12, "blank"),
        ("doseladder-demo", "demo password"),
        ("DoseLadder-Demo", "demo password"),
        ("password1234", "common"),
        ("iloveyou12345678", "common"),
        ("a" * 1025, "at most"),
    ],
)
def test_password_policy(pw: object, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        security.validate_password(pw)


def test_password_may_not_contain_the_username() -> None:
    with pytest.raises(ValidationError, match="username"):
        security.validate_password("my name is stat, really", username="stat")
    assert security.validate_password("a quiet orbit of kettles", username="stat")


def test_common_password_list_is_the_bundled_one() -> None:
    words = security.common_passwords()
    assert len(words) > 19000 and "password" in words and "123456" in words


def test_tokens_are_random_and_stored_as_digests() -> None:
    a, b = security.new_token(), security.new_token()
    assert a != b and a.startswith("dl_") and len(a) > 40
    assert token_digest(a) != a and len(token_digest(a)) == 64


def test_role_parse() -> None:
    assert Role.parse("Investigator") is Role.INVESTIGATOR
    with pytest.raises(ValidationError, match="unknown role"):
        Role.parse("superuser")


def test_permission_matrix() -> None:
    assert all(Permission.VIEW_TRIAL in perms for perms in PERMISSIONS.values())
    assert set(PERMISSIONS) == set(Role)
    # read-only monitors change nothing
    writes = set(Permission) - {
        Permission.VIEW_TRIAL,
        Permission.VIEW_PATIENTS,
        Permission.EXPORT,
        Permission.AUDIT,
    }
    assert not PERMISSIONS[Role.MONITOR] & writes
    # separation of duties
    assert Permission.ENROL in PERMISSIONS[Role.INVESTIGATOR]
    assert Permission.ENROL not in PERMISSIONS[Role.ADMIN]
    assert Permission.OVERRIDE_DOSE in PERMISSIONS[Role.STATISTICIAN]
    assert Permission.OVERRIDE_DOSE not in PERMISSIONS[Role.INVESTIGATOR]
    assert Permission.MANAGE_USERS in PERMISSIONS[Role.ADMIN]
    assert Permission.MANAGE_USERS not in PERMISSIONS[Role.STATISTICIAN]


def test_require_and_site_check() -> None:
    inv = Actor(1, "inv", Role.INVESTIGATOR, site_id=3)
    require(inv, Permission.ENROL)
    with pytest.raises(Forbidden, match="may not override dose"):
        require(inv, Permission.OVERRIDE_DOSE)
    with pytest.raises(Forbidden, match="not authenticated"):
        require("admin", Permission.VIEW_TRIAL)  # type: ignore[arg-type]
    check_site(inv, 3)
    with pytest.raises(Forbidden, match="another site"):
        check_site(inv, 4)
    check_site(Actor(2, "dm", Role.DATA_MANAGER), 4)


# ----------------------------------------------------------- login and tokens
def test_login_and_token_round_trip(world: World) -> None:
    issued = world.run(lambda s: sites_users.login(s, "INV_A ", PASSWORD))
    actor = world.run(lambda s: sites_users.actor_from_token(s, issued.token))
    assert actor == world.inv_a
    with world.db.session() as s:
        rows = s.scalars(select(ApiToken)).all()
        assert all(issued.token not in (r.token_digest, r.label) for r in rows)
        user = s.scalars(select(User).where(User.username == "inv_a")).one()
        assert PASSWORD not in user.password_hash


@pytest.mark.parametrize(
    ("username", "password"),
    [("inv_a", "wrong password!"), ("nobody", PASSWORD), ("inv_a", 123)],
)
def test_bad_logins_have_one_message(world: World, username: str, password: object) -> None:
    before = world.snapshot_counts()
    with pytest.raises(AuthenticationError, match="unknown user or wrong password"):
        world.run(lambda s: sites_users.login(s, username, password))  # type: ignore[arg-type]
    assert world.snapshot_counts() == before


def test_expired_revoked_and_deactivated(world: World) -> None:
    t1 = world.run(lambda s: sites_users.login(s, "inv_a", PASSWORD, ttl=timedelta(hours=1)))
    world.clock.advance(hours=2)
    with pytest.raises(AuthenticationError, match="expired"):
        world.run(lambda s: sites_users.actor_from_token(s, t1.token))
    t2 = world.run(lambda s: sites_users.login(s, "inv_a", PASSWORD, ttl=None))
    world.run(lambda s: sites_users.revoke_token(s, world.inv_a, t2.token_id))
    with pytest.raises(AuthenticationError):
        world.run(lambda s: sites_users.actor_from_token(s, t2.token))
    with pytest.raises(Conflict, match="already revoked"):
        world.run(lambda s: sites_users.revoke_token(s, world.inv_a, t2.token_id))
    t3 = world.run(lambda s: sites_users.login(s, "inv_b", PASSWORD))
    with pytest.raises(Forbidden):  # someone else's token
        world.run(lambda s: sites_users.revoke_token(s, world.inv_a, t3.token_id))
    assert world.inv_b.user_id is not None
    world.run(
        lambda s: sites_users.deactivate_user(s, world.admin, world.inv_b.user_id, reason="left")
    )
    with pytest.raises(AuthenticationError):
        world.run(lambda s: sites_users.actor_from_token(s, t3.token))
    with pytest.raises(AuthenticationError):
        world.run(lambda s: sites_users.login(s, "inv_b", PASSWORD))
    for bad in ("", "dl_nope", "x" * 300, None):
        with pytest.raises(AuthenticationError):
            world.run(lambda s, bad=bad: sites_users.actor_from_token(s, bad))  # type: ignore[misc]


def test_tokens_listing_and_admin_revocation(world: World) -> None:
    t = world.run(lambda s: sites_users.issue_token(s, world.inv_a, label="cli"))
    with world.db.session() as s:
        mine = sites_users.list_tokens(s, world.inv_a)
    assert [x.id for x in mine] == [t.token_id]
    world.run(lambda s: sites_users.revoke_token(s, world.admin, t.token_id))
    with pytest.raises(ValidationError, match="ttl"):
        world.run(lambda s: sites_users.issue_token(s, world.inv_a, ttl=timedelta(0)))
    with pytest.raises(Forbidden):
        world.run(lambda s: sites_users.issue_token(s, security.SYSTEM))


def test_change_password(world: World) -> None:
    uid = world.inv_a.user_id
    assert uid is not None
    with pytest.raises(ValidationError, match="old_password"):
        world.run(
            lambda s: sites_users.change_password(
                s, world.inv_a, uid, old_password="wrong one!!", new_password="brand new secret"
            )
        )
    world.run(
        lambda s: sites_users.change_password(
            s, world.inv_a, uid, old_password=PASSWORD, new_password="brand new secret"
        )
    )
    world.run(lambda s: sites_users.authenticate(s, "inv_a", "brand new secret"))
    with pytest.raises(Forbidden):
        world.run(lambda s: sites_users.change_password(s, world.inv_b, uid, new_password="x" * 12))
    world.run(
        lambda s: sites_users.change_password(
            s, world.admin, uid, new_password="a reset passphrase"
        )
    )
    world.run(lambda s: sites_users.authenticate(s, "inv_a", "a reset passphrase"))


def test_user_and_site_validation(world: World) -> None:
    before = world.snapshot_counts()
    cases: list[tuple[dict[str, object], str]] = [
        ({"username": "ab"}, "username"),
        ({"username": "has space"}, "username"),
        ({"username": "admin"}, "username"),
        ({"password": "short"}, "password"),
        ({"role": "root"}, "role"),
        ({"role": "investigator", "site_id": None}, "site_id"),
        ({"role": "statistician", "site_id": world.site_a}, "site_id"),
        ({"site_id": 999}, "site"),
    ]
    for change, field in cases:
        kw: dict[str, object] = {
            "username": "newuser",
            "password": "good password 1",
            "role": "monitor",
            "site_id": None,
        } | change
        with pytest.raises((ValidationError, Conflict)) as info:
            world.run(lambda s, kw=kw: sites_users.create_user(s, world.admin, **kw))  # type: ignore[arg-type]
        assert field in str(info.value)
    with pytest.raises(Conflict, match="already exists"):
        world.run(lambda s: sites_users.create_site(s, world.admin, code="sa", name="dup"))
    with pytest.raises(Conflict, match="users already exist"):
        world.run(lambda s: sites_users.bootstrap_admin(s, username="root2", password=PASSWORD))
    assert world.snapshot_counts() == before


def test_user_and_site_management_is_admin_only(world: World) -> None:
    for actor in (world.stat, world.inv_a, world.dm, world.monitor):
        with pytest.raises(Forbidden):
            world.run(
                lambda s, a=actor: sites_users.create_user(
                    s, a, username="zed", password=PASSWORD, role="monitor"
                )
            )
        with pytest.raises(Forbidden):
            world.run(lambda s, a=actor: sites_users.create_site(s, a, code="SZ", name="Z"))
        with pytest.raises(Forbidden):
            world.run(lambda s, a=actor: sites_users.list_users(s, a))
        with pytest.raises(Forbidden):
            world.run(
                lambda s, a=actor: sites_users.deactivate_site(s, a, world.site_b, reason="closed")
            )
    assert world.stat.user_id is not None
    for actor in (world.stat, world.inv_a, world.dm, world.monitor):
        with pytest.raises(Forbidden):
            world.run(
                lambda s, a=actor: sites_users.deactivate_user(
                    s,
                    a,
                    world.stat.user_id,
                    reason="left",  # type: ignore[arg-type]
                )
            )
    with world.db.session() as s:
        assert len(sites_users.list_users(s, world.admin)) == 9  # incl. two committee members
        assert [x.code for x in sites_users.list_sites(s, world.inv_a)] == ["SA"]
        assert [x.code for x in sites_users.list_sites(s, world.stat)] == ["SA", "SB"]
    with pytest.raises(Conflict, match="yourself"):
        assert world.admin.user_id is not None
        world.run(
            lambda s: sites_users.deactivate_user(
                s,
                world.admin,
                world.admin.user_id,
                reason="oops",  # type: ignore[arg-type]
            )
        )
    world.run(lambda s: sites_users.deactivate_site(s, world.admin, world.site_b, reason="closed"))


def test_token_lookup_is_one_statement_and_sees_revocation_from_another_process(
    world: World,
) -> None:
    """The token, its user and its last use are read in one statement, never cached: a
    revocation or deactivation committed through another ``Database`` (another server
    process) is refused at the very next request."""
    from sqlalchemy import event

    from doseladder.conduct import Database

    issued = world.run(lambda s: sites_users.login(s, "inv_a", PASSWORD, ttl=None))
    other = Database(world.db.url, clock=world.clock, sealer=None)  # "another process"
    statements: list[str] = []

    def count(*args: object) -> None:
        if not str(args[2]).startswith("BEGIN"):  # SQLite's own BEGIN IMMEDIATE
            statements.append(str(args[2]))

    event.listen(other.engine, "before_cursor_execute", count)
    try:
        assert other.run(lambda s: sites_users.actor_from_token(s, issued.token)) == world.inv_a
        assert len(statements) == 1, statements  # last use recorded < 1 min ago: no update
        world.clock.advance(minutes=2)
        statements.clear()
        other.run(lambda s: sites_users.actor_from_token(s, issued.token))
        assert len(statements) == 2 and statements[1].lstrip().upper().startswith("UPDATE")
        world.run(lambda s: sites_users.revoke_token(s, world.inv_a, issued.token_id))
        with pytest.raises(AuthenticationError):
            other.run(lambda s: sites_users.actor_from_token(s, issued.token))
        second = world.run(lambda s: sites_users.login(s, "inv_a", PASSWORD, ttl=None))
        assert other.run(lambda s: sites_users.actor_from_token(s, second.token)) == world.inv_a
        world.clock.advance(minutes=31)  # idle longer than the idle timeout
        with pytest.raises(AuthenticationError):
            other.run(lambda s: sites_users.actor_from_token(s, second.token))
        third = world.run(lambda s: sites_users.login(s, "inv_a", PASSWORD, ttl=None))
        user_id = world.inv_a.user_id
        assert user_id is not None
        world.run(lambda s: sites_users.deactivate_user(s, world.admin, user_id, reason="left"))
        with pytest.raises(AuthenticationError):
            other.run(lambda s: sites_users.actor_from_token(s, third.token))
    finally:
        other.dispose()
