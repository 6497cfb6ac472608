"""Sites, users, passwords and API tokens.

Authentication: :func:`login` (username + password → a new opaque token, shown once) and
:func:`actor_from_token` (token → :class:`~doseladder.conduct.security.Actor`, for every API
request).  Wrong passwords, unknown users, deactivated users and expired or revoked tokens all
raise :class:`~doseladder.conduct.errors.AuthenticationError` with the same message (no user
enumeration).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from doseladder.conduct import audit
from doseladder.conduct.errors import AuthenticationError, Conflict, Forbidden, ValidationError
from doseladder.conduct.models import ApiToken, AuditEvent, SessionActivity, Site, User
from doseladder.conduct.security import (
    SYSTEM,
    Actor,
    Permission,
    Role,
    hash_password,
    needs_rehash,
    new_token,
    token_digest,
    validate_password,
    verify_password,
)
from doseladder.conduct.services import _common as c

__all__ = [
    "ACCESS_REVIEWED",
    "AccessReviewRow",
    "IssuedToken",
    "access_review",
    "actor_for",
    "actor_from_token",
    "authenticate",
    "bootstrap_admin",
    "change_password",
    "create_site",
    "create_user",
    "deactivate_site",
    "deactivate_user",
    "has_users",
    "issue_token",
    "list_sites",
    "list_tokens",
    "list_users",
    "login",
    "mark_access_reviewed",
    "revoke_sessions",
    "revoke_token",
    "set_role",
]

#: default API token lifetime (absolute session timeout)
DEFAULT_TOKEN_TTL = timedelta(hours=12)
#: a token unused for this long stops working (idle session timeout, OWASP ASVS 3.3)
IDLE_TIMEOUT = timedelta(minutes=30)
#: last-use times are written at most this often per token
_ACTIVITY_GRANULARITY = timedelta(minutes=1)
_BAD_LOGIN = "unknown user or wrong password"
_BAD_TOKEN = "invalid, expired or revoked token"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A newly issued token: ``token`` is shown once and never stored."""

    token: str
    token_id: int
    user_id: int
    expires_at: datetime | None


def actor_for(user: User | Row[*tuple[Any, ...]]) -> Actor:
    """The :class:`Actor` of a user: a ``User`` or a selected row with its ``id``,
    ``username``, ``role`` and ``site_id`` (as :func:`actor_from_token`'s look-up)."""
    return Actor(
        user_id=user.id, username=user.username, role=Role(user.role), site_id=user.site_id
    )


# ------------------------------------------------------------------------ sites
def create_site(session: Session, actor: Actor, *, code: str, name: str) -> Site:
    """Register a site (code unique)."""
    c.begin(session, actor, Permission.MANAGE_SITES)
    site_code = c.code("code", code).upper()
    site_name = c.required_text("name", name, max_len=200)
    if session.scalars(select(Site.id).where(Site.code == site_code)).first() is not None:
        raise Conflict(f"a site with code {site_code!r} already exists", field="code")
    site = Site(code=site_code, name=site_name, active=True, created_at=c.now(session))
    session.add(site)
    session.flush()
    return site


def deactivate_site(session: Session, actor: Actor, site_id: int, *, reason: str) -> Site:
    """Deactivate a site (no new registrations; its data stay)."""
    c.begin(session, actor, Permission.MANAGE_SITES)
    why = c.reason_text(reason)
    site = c.get(session, Site, site_id)
    if not site.active:
        raise Conflict(f"site {site.code} is already inactive")
    with audit.reason(session, why):
        site.active = False
    return site


def list_sites(session: Session, actor: Actor) -> list[Site]:
    """All sites (site-bound users: their own)."""
    c.begin(session, actor, Permission.VIEW_TRIAL)
    stmt = select(Site).order_by(Site.code)
    if actor.site_id is not None:
        stmt = stmt.where(Site.id == actor.site_id)
    return list(session.scalars(stmt))


# ------------------------------------------------------------------------ users
def _username(value: object) -> str:
    name = c.code("username", value).lower()
    if len(name) < 3:
        raise ValidationError("username", "must have at least 3 characters")
    return name


def _new_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    password: str,
    role: Role | str,
    site_id: int | None,
    display_name: str | None,
) -> User:
    name = _username(username)
    validate_password(password, username=name)
    user_role = Role.parse(role)
    label = c.text("display_name", display_name, max_len=200, required=False)
    _check_role_site(session, user_role, site_id)
    if session.scalars(select(User.id).where(User.username == name)).first() is not None:
        raise Conflict(f"username {name!r} is taken", field="username")
    user = User(
        username=name,
        display_name=label,
        role=user_role.value,
        site_id=site_id,
        password_hash=hash_password(password),
        active=True,
        created_at=c.now(session),
        created_by_id=actor.user_id,
    )
    session.add(user)
    session.flush()
    return user


def _check_role_site(session: Session, role: Role, site_id: int | None) -> None:
    """A role and a site that go together (the rules of :func:`create_user`)."""
    if site_id is not None:
        site = c.ref(session, Site, site_id, "site_id")
        if not site.active:
            raise ValidationError("site_id", f"site {site.code} is inactive")
    if role is Role.INVESTIGATOR and site_id is None:
        raise ValidationError("site_id", "a site investigator must belong to a site")
    if role in (Role.ADMIN, Role.STATISTICIAN) and site_id is not None:
        raise ValidationError("site_id", f"a {role.value} works for every site; leave empty")


def has_users(session: Session) -> bool:
    """Whether any user exists (an empty database gets a first administrator or the demo)."""
    return bool(session.scalar(select(func.count()).select_from(User)))


def bootstrap_admin(
    session: Session, *, username: str, password: str, display_name: str | None = None
) -> User:
    """Create the first administrator; refused once any user exists."""
    session.info["actor"] = SYSTEM
    if has_users(session):
        raise Conflict("users already exist; ask an administrator for an account")
    return _new_user(
        session,
        SYSTEM,
        username=username,
        password=password,
        role=Role.ADMIN,
        site_id=None,
        display_name=display_name,
    )


def create_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    password: str,
    role: Role | str,
    site_id: int | None = None,
    display_name: str | None = None,
) -> User:
    """Create a user.  Site investigators need a site; data managers and monitors may be bound
    to one (then they see only its patients); administrators and statisticians may not."""
    c.begin(session, actor, Permission.MANAGE_USERS)
    return _new_user(
        session,
        actor,
        username=username,
        password=password,
        role=role,
        site_id=site_id,
        display_name=display_name,
    )


def list_users(session: Session, actor: Actor) -> list[User]:
    """All users (administrators only)."""
    c.begin(session, actor, Permission.MANAGE_USERS)
    return list(session.scalars(select(User).order_by(User.username)))


def deactivate_user(session: Session, actor: Actor, user_id: int, *, reason: str) -> User:
    """Deactivate a user: they can no longer log in and their tokens stop working."""
    c.begin(session, actor, Permission.MANAGE_USERS)
    why = c.reason_text(reason)
    user = c.get(session, User, user_id)
    if user.id == actor.user_id:
        raise Conflict("you cannot deactivate yourself")
    if not user.active:
        raise Conflict(f"user {user.username} is already inactive")
    with audit.reason(session, why):
        user.active = False
        revoke_sessions(session, user.id)
    return user


def set_role(
    session: Session,
    actor: Actor,
    user_id: int,
    *,
    role: Role | str,
    site_id: int | None,
    reason: str,
) -> User:
    """Change a user's role and site (administrators; audited with the reason).  The rules of
    :func:`create_user` apply; nobody changes their own role."""
    c.begin(session, actor, Permission.MANAGE_USERS)
    why = c.reason_text(reason)
    user = c.get(session, User, user_id)
    new_role = Role.parse(role)
    if user.id == actor.user_id:
        raise Conflict("you cannot change your own role; ask another administrator")
    _check_role_site(session, new_role, site_id)
    if user.role == new_role.value and user.site_id == site_id:
        raise Conflict(f"user {user.username} already has this role and site")
    with audit.reason(session, why):
        user.role = new_role.value
        user.site_id = site_id
    session.flush()
    return user


#: the audit action of a periodic access review of one user
ACCESS_REVIEWED = "access_reviewed"


@dataclass(frozen=True, slots=True)
class AccessReviewRow:
    """One line of the periodic access review: who may do what, where, and when they last
    signed in (the latest token issued at login) and were last reviewed (from the audit
    trail)."""

    user_id: int
    username: str
    display_name: str | None
    role: str
    site_id: int | None
    site_code: str | None
    active: bool
    created_at: datetime
    last_login: datetime | None
    last_reviewed_at: datetime | None
    last_reviewed_by: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "site_id": self.site_id,
            "site_code": self.site_code,
            "active": self.active,
            "created_at": self.created_at,
            "last_login": self.last_login,
            "last_reviewed_at": self.last_reviewed_at,
            "last_reviewed_by": self.last_reviewed_by,
        }


def access_review(session: Session, actor: Actor) -> list[AccessReviewRow]:
    """Every user with role, site, last sign-in and last review (administrators)."""
    c.begin(session, actor, Permission.MANAGE_USERS)
    sites = {x.id: x.code for x in session.scalars(select(Site))}
    logins = dict(
        session.execute(
            select(ApiToken.user_id, func.max(ApiToken.created_at)).group_by(ApiToken.user_id)
        ).all()
    )
    reviews: dict[str, tuple[datetime, str]] = {}
    for entity_id, ts, who in session.execute(
        select(AuditEvent.entity_id, AuditEvent.ts, AuditEvent.actor_username)
        .where(AuditEvent.action == ACCESS_REVIEWED)
        .order_by(AuditEvent.id)
    ):
        if entity_id is not None:
            reviews[entity_id] = (ts, who)
    rows = []
    for u in session.scalars(select(User).order_by(User.username)):
        review = reviews.get(str(u.id))
        rows.append(
            AccessReviewRow(
                user_id=u.id,
                username=u.username,
                display_name=u.display_name,
                role=u.role,
                site_id=u.site_id,
                site_code=sites.get(u.site_id) if u.site_id is not None else None,
                active=u.active,
                created_at=u.created_at,
                last_login=logins.get(u.id),
                last_reviewed_at=review[0] if review else None,
                last_reviewed_by=review[1] if review else None,
            )
        )
    return rows


def mark_access_reviewed(
    session: Session, actor: Actor, user_id: int, *, note: str | None = None
) -> User:
    """Record that an administrator reviewed a user's access (role, site, activity) as it
    stands now: an audit event with the reviewed values and the optional note."""
    c.begin(session, actor, Permission.MANAGE_USERS)
    user = c.get(session, User, user_id)
    text = c.text("note", note, max_len=2000, required=False)
    audit.log_event(
        session,
        ACCESS_REVIEWED,
        entity_type="access_review",
        entity_id=str(user.id),
        reason=text or "periodic access review",
        data={
            "username": user.username,
            "role": user.role,
            "site_id": user.site_id,
            "active": user.active,
        },
    )
    return user


def change_password(
    session: Session,
    actor: Actor,
    user_id: int,
    *,
    new_password: str,
    old_password: str | None = None,
) -> User:
    """Change a password: one's own (with the old password) or anyone's (administrators)."""
    if actor.user_id != user_id:
        c.begin(session, actor, Permission.MANAGE_USERS)
    else:
        session.info["actor"] = actor
    user = c.get(session, User, user_id)
    if actor.user_id == user_id and (
        old_password is None or not verify_password(old_password, user.password_hash)
    ):
        raise ValidationError("old_password", "does not match the current password")
    validate_password(new_password, "new_password", username=user.username)
    why = "password changed" if actor.user_id == user_id else "password reset by administrator"
    with audit.reason(session, why):
        user.password_hash = hash_password(new_password)
        revoke_sessions(session, user.id)
    return user


def revoke_sessions(session: Session, user_id: int) -> int:
    """Revoke every unrevoked token of a user (password change or reset, deactivation);
    audited as token updates under the caller's reason.  Returns how many."""
    stamp = c.now(session)
    rows = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    ).all()
    for row in rows:
        row.revoked_at = stamp
    session.flush()
    return len(rows)


# ----------------------------------------------------------------------- tokens
def authenticate(session: Session, username: str, password: str) -> User:
    """The active user with this username and password (:class:`AuthenticationError`)."""
    if not isinstance(username, str) or not isinstance(password, str):
        raise AuthenticationError(_BAD_LOGIN)
    user = session.scalars(select(User).where(User.username == username.strip().lower())).first()
    if user is None:
        verify_password(password, _dummy_hash())  # same work as a real check
        raise AuthenticationError(_BAD_LOGIN)
    if not verify_password(password, user.password_hash) or not user.active:
        raise AuthenticationError(_BAD_LOGIN)
    if needs_rehash(user.password_hash):  # e.g. a scrypt hash from before argon2id
        session.info["actor"] = actor_for(user)
        with audit.reason(session, "password re-hashed with argon2id at login"):
            user.password_hash = hash_password(password)
    return user


def issue_token(
    session: Session,
    actor: Actor,
    *,
    label: str = "api",
    ttl: timedelta | None = DEFAULT_TOKEN_TTL,
) -> IssuedToken:
    """A new API token for the acting user (``ttl=None``: no expiry)."""
    if actor.user_id is None:
        raise Forbidden("the system actor has no tokens")
    session.info["actor"] = actor
    name = c.required_text("label", label, max_len=100)
    if ttl is not None and ttl <= timedelta(0):
        raise ValidationError("ttl", "must be positive")
    token = new_token()
    stamp = c.now(session)
    row = ApiToken(
        user_id=actor.user_id,
        token_digest=token_digest(token),
        label=name,
        created_at=stamp,
        expires_at=stamp + ttl if ttl is not None else None,
        revoked_at=None,
    )
    session.add(row)
    session.flush()
    session.execute(insert(SessionActivity).values(token_id=row.id, last_seen_at=stamp))
    return IssuedToken(token, row.id, actor.user_id, row.expires_at)


def login(
    session: Session,
    username: str,
    password: str,
    *,
    label: str = "login",
    ttl: timedelta | None = DEFAULT_TOKEN_TTL,
) -> IssuedToken:
    """Check the password and issue a token."""
    user = authenticate(session, username, password)
    return issue_token(session, actor_for(user), label=label, ttl=ttl)


def actor_from_token(
    executor: Session | Connection,
    token: str,
    *,
    idle_timeout: timedelta | None = IDLE_TIMEOUT,
    clock: Callable[[], datetime] | None = None,
) -> Actor:
    """The actor a bearer token stands for (:class:`AuthenticationError` if unusable:
    unknown, revoked, expired, idle longer than ``idle_timeout``, or its user deactivated).

    One indexed statement reads the token (by its unique digest), its user and its last use
    together, every time: nothing is cached between requests, so a logout, a revocation or a
    deactivation is refused at once by every server process.

    ``executor``: a session (its service clock) or a bare connection
    (:meth:`~doseladder.conduct.db.Database.run_connection`, no ORM session to build; "now"
    from ``clock``, the system clock if ``None``)."""
    if not isinstance(token, str) or not token.startswith("dl_") or len(token) > 200:
        raise AuthenticationError(_BAD_TOKEN)
    row = executor.execute(_TOKEN_LOOKUP, {"digest": token_digest(token)}).first()
    if row is None or row.revoked_at is not None or not row.active:
        raise AuthenticationError(_BAD_TOKEN)
    now = c.now(executor) if isinstance(executor, Session) else c.clock_now(clock)
    if row.expires_at is not None and row.expires_at <= now:
        raise AuthenticationError(_BAD_TOKEN)
    _touch(executor, row.token_id, row.last_seen_at, now, idle_timeout)
    return actor_for(row)


#: the token, its user and its last use in one statement (see :func:`actor_from_token`)
_TOKEN_LOOKUP = (
    select(
        ApiToken.id.label("token_id"),
        ApiToken.expires_at,
        ApiToken.revoked_at,
        User.id,  # with username, role and site_id: what actor_for reads
        User.username,
        User.role,
        User.site_id,
        User.active,
        SessionActivity.last_seen_at,
    )
    .join(User, User.id == ApiToken.user_id)
    .outerjoin(SessionActivity, SessionActivity.token_id == ApiToken.id)
    .where(ApiToken.token_digest == bindparam("digest"))
)


def _touch(
    executor: Session | Connection,
    token_id: int,
    last: datetime | None,
    now: datetime,
    idle_timeout: timedelta | None,
) -> None:
    """Refuse an idle token; otherwise record its use (at most once a minute)."""
    if last is None:  # a token issued before idle tracking existed
        return
    if idle_timeout is not None and now - last > idle_timeout:
        raise AuthenticationError(_BAD_TOKEN)
    if now - last >= _ACTIVITY_GRANULARITY:
        executor.execute(
            update(SessionActivity)
            .where(SessionActivity.token_id == token_id)
            .values(last_seen_at=now)
        )


def list_tokens(session: Session, actor: Actor) -> list[ApiToken]:
    """The acting user's tokens (digests only)."""
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == actor.user_id).order_by(ApiToken.id)
        )
    )


def revoke_token(session: Session, actor: Actor, token_id: int) -> ApiToken:
    """Revoke a token: one's own, or anyone's for administrators."""
    row = c.get(session, ApiToken, token_id, "token")
    if row.user_id != actor.user_id:
        c.begin(session, actor, Permission.MANAGE_USERS)
    else:
        session.info["actor"] = actor
    if row.revoked_at is not None:
        raise Conflict(f"token #{token_id} is already revoked")
    with audit.reason(session, "token revoked"):
        row.revoked_at = c.now(session)
    return row


_dummy: list[str] = []


def _dummy_hash() -> str:
    """A real hash at the current cost (verifying it costs as much as a real login)."""
    if not _dummy:
        _dummy.append(hash_password("not a password"))
    return _dummy[0]
