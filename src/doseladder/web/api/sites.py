"""``/sites``: participating hospitals."""

from __future__ import annotations

from doseladder.conduct.services import sites_users
from doseladder.web.api.common import ERRORS, PathId
from doseladder.web.api.schemas import ReasonIn, SiteIn, SiteOut
from doseladder.web.deps import ApiCaller
from doseladder.web.routing import PrefixRouter

__all__ = ["router"]

router = PrefixRouter(prefix="/sites", tags=["sites"], responses=ERRORS)


@router.get("", response_model=list[SiteOut], summary="Sites (site-bound users: their own)")
def list_sites(caller: ApiCaller) -> list[SiteOut]:
    return caller.run(
        lambda s, a: [SiteOut.model_validate(x) for x in sites_users.list_sites(s, a)]
    )


@router.post("", response_model=SiteOut, status_code=201, summary="Register a site (admin)")
def create_site(body: SiteIn, caller: ApiCaller) -> SiteOut:
    return caller.run(
        lambda s, a: SiteOut.model_validate(
            sites_users.create_site(s, a, code=body.code, name=body.name)
        )
    )


@router.post("/{site_id}/deactivate", response_model=SiteOut, summary="Deactivate a site")
def deactivate_site(site_id: PathId, body: ReasonIn, caller: ApiCaller) -> SiteOut:
    return caller.run(
        lambda s, a: SiteOut.model_validate(
            sites_users.deactivate_site(s, a, site_id, reason=body.reason)
        )
    )
