"""``/users``: staff accounts (administrators), password changes."""

from __future__ import annotations

from doseladder.conduct.services import sites_users
from doseladder.web.api.common import ERRORS, PathId
from doseladder.web.api.schemas import (
    AccessReviewOut,
    PasswordIn,
    ReasonIn,
    ReviewIn,
    RoleIn,
    UserIn,
    UserOut,
)
from doseladder.web.deps import ApiCaller
from doseladder.web.routing import PrefixRouter

__all__ = ["router"]

router = PrefixRouter(prefix="/users", tags=["users"], responses=ERRORS)


@router.get("", response_model=list[UserOut], summary="Every user (admin)")
def list_users(caller: ApiCaller) -> list[UserOut]:
    return caller.run(
        lambda s, a: [UserOut.model_validate(u) for u in sites_users.list_users(s, a)]
    )


@router.get(
    "/access-review",
    response_model=list[AccessReviewOut],
    summary="The periodic access review: every user, role, site, last sign-in, last review",
)
def access_review(caller: ApiCaller) -> list[AccessReviewOut]:
    return caller.run(
        lambda s, a: [
            AccessReviewOut.model_validate(r.to_dict()) for r in sites_users.access_review(s, a)
        ]
    )


@router.post("", response_model=UserOut, status_code=201, summary="Create a user (admin)")
def create_user(body: UserIn, caller: ApiCaller) -> UserOut:
    return caller.run(
        lambda s, a: UserOut.model_validate(
            sites_users.create_user(
                s,
                a,
                username=body.username,
                password=body.password,
                role=body.role,
                site_id=body.site_id,
                display_name=body.display_name,
            )
        )
    )


@router.post("/{user_id}/deactivate", response_model=UserOut, summary="Deactivate a user")
def deactivate_user(user_id: PathId, body: ReasonIn, caller: ApiCaller) -> UserOut:
    return caller.run(
        lambda s, a: UserOut.model_validate(
            sites_users.deactivate_user(s, a, user_id, reason=body.reason)
        )
    )


@router.post(
    "/{user_id}/password",
    response_model=UserOut,
    summary="Change a password (one's own with the old one; anyone's as admin)",
)
def change_password(user_id: PathId, body: PasswordIn, caller: ApiCaller) -> UserOut:
    return caller.run(
        lambda s, a: UserOut.model_validate(
            sites_users.change_password(
                s, a, user_id, new_password=body.new_password, old_password=body.old_password
            )
        )
    )


@router.post("/{user_id}/role", response_model=UserOut, summary="Change a user's role and site")
def set_role(user_id: PathId, body: RoleIn, caller: ApiCaller) -> UserOut:
    return caller.run(
        lambda s, a: UserOut.model_validate(
            sites_users.set_role(
                s, a, user_id, role=body.role, site_id=body.site_id, reason=body.reason
            )
        )
    )


@router.post(
    "/{user_id}/reviewed",
    response_model=UserOut,
    summary="Record the periodic access review of a user (audited)",
)
def mark_reviewed(user_id: PathId, body: ReviewIn, caller: ApiCaller) -> UserOut:
    return caller.run(
        lambda s, a: UserOut.model_validate(
            sites_users.mark_access_reviewed(s, a, user_id, note=body.note)
        )
    )
