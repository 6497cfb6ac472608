"""``/auth``: log in (username + password → bearer token), log out, who am I."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request
from sqlalchemy.orm import Session

from doseladder.conduct.errors import AuthenticationError
from doseladder.conduct.security import PERMISSIONS, Actor, token_digest
from doseladder.conduct.services import sites_users
from doseladder.web.api.common import ERRORS
from doseladder.web.api.schemas import ErrorOut, LoginIn, LogoutOut, MeOut, TokenOut
from doseladder.web.deps import ApiCaller, DbDep
from doseladder.web.routing import PrefixRouter
from doseladder.web.throttle import throttled_login

__all__ = ["me_out", "router"]

router = PrefixRouter(prefix="/auth", tags=["auth"], responses=ERRORS)


def me_out(actor: Actor) -> MeOut:
    """The caller's identity, role and permissions."""
    return MeOut(
        user_id=actor.user_id,
        username=actor.username,
        role=actor.role.value,
        site_id=actor.site_id,
        permissions=sorted(p.value for p in PERMISSIONS[actor.role]),
    )


@router.post(
    "/login",
    response_model=TokenOut,
    summary="Log in: a new bearer token",
    responses={429: {"model": ErrorOut, "description": "Locked out after failed logins"}},
)
def login(body: LoginIn, db: DbDep, request: Request) -> TokenOut:
    """Check the password and issue an opaque token (valid 12 hours, and until 30 minutes
    unused; shown once, only its SHA-256 is stored).  Unknown users and wrong passwords get
    the same 401; after 5 failures for an account (or 50 from an address) within 15 minutes,
    logins are refused with 429 and ``Retry-After`` until the window has passed."""
    issued = throttled_login(
        request, db, body.username, body.password, label=body.label, ttl=timedelta(hours=12)
    )

    def run(s: Session) -> TokenOut:
        actor = sites_users.actor_from_token(s, issued.token)
        return TokenOut(
            token=issued.token,
            token_id=issued.token_id,
            expires_at=issued.expires_at,
            user=me_out(actor),
        )

    return db.run(run)


@router.post("/logout", response_model=LogoutOut, summary="Revoke the token of this request")
def logout(caller: ApiCaller) -> LogoutOut:
    def run(s: Session, actor: Actor) -> LogoutOut:
        digest = token_digest(caller.token)
        for row in sites_users.list_tokens(s, actor):
            if row.token_digest == digest:
                sites_users.revoke_token(s, actor, row.id)
                return LogoutOut(revoked_token_id=row.id)
        raise AuthenticationError("invalid, expired or revoked token")  # pragma: no cover

    return caller.run(run)


@router.get("/me", response_model=MeOut, summary="The authenticated user")
def me(caller: ApiCaller) -> MeOut:
    return me_out(caller.actor)
