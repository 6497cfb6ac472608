"""Exports of one trial: its tables as CSV (one zip), CDISC-style DM, EX, AE and RS domains as
Dataset-JSON 1.1 or CSV."""

from __future__ import annotations

import io
import zipfile
from typing import Annotated, Any

from fastapi import Query, Response
from sqlalchemy.orm import Session

from doseladder.conduct.security import Actor
from doseladder.conduct.services import exports
from doseladder.web.api.common import ERRORS, PathId
from doseladder.web.api.schemas import Domain
from doseladder.web.deps import ApiCaller
from doseladder.web.routing import PrefixRouter

__all__ = ["router", "tables_zip"]

router = PrefixRouter(tags=["exports"], responses=ERRORS)

#: sandbox trials are left out of exports unless asked
IncludeSandbox = Annotated[
    bool, Query(description="include sandbox trials (left out unless asked)")
]


def tables_zip(
    session: Session, actor: Actor, trial_id: int, *, include_sandbox: bool = False
) -> bytes:
    """A trial's tables as ``<table>.csv`` in one zip archive (a sandbox trial only when
    asked)."""
    tables = exports.tables_csv(session, actor, trial_id, include_sandbox=include_sandbox)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in tables.items():
            zf.writestr(f"{name}.csv", text)
    return buf.getvalue()


@router.get(
    "/trials/{trial_id}/exports/tables.zip",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "CSV files in a zip."}},
    summary="One trial's tables (every row and version) as CSV, zipped; formulas neutralised",
)
def tables(
    trial_id: PathId, caller: ApiCaller, include_sandbox: IncludeSandbox = False
) -> Response:
    data = caller.run(lambda s, a: tables_zip(s, a, trial_id, include_sandbox=include_sandbox))
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="trial-{trial_id}-tables.zip"'},
    )


@router.get(
    "/trials/{trial_id}/datasets/{domain}",
    response_model=dict[str, Any],
    summary="One CDISC-style domain (DM, EX, AE or RS) of a trial as Dataset-JSON 1.1",
)
def dataset(
    trial_id: PathId, domain: Domain, caller: ApiCaller, include_sandbox: IncludeSandbox = False
) -> dict[str, Any]:
    return caller.run(
        lambda s, a: exports.dataset_json(s, a, trial_id, domain, include_sandbox=include_sandbox)
    )


@router.get(
    "/trials/{trial_id}/datasets/{domain}/csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The domain as CSV."}},
    summary="One CDISC-style domain (DM, EX, AE or RS) of a trial as CSV; formulas neutralised",
)
def dataset_csv(
    trial_id: PathId, domain: Domain, caller: ApiCaller, include_sandbox: IncludeSandbox = False
) -> Response:
    text = caller.run(
        lambda s, a: exports.domain_csv(s, a, trial_id, domain, include_sandbox=include_sandbox)
    )
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="trial-{trial_id}-{domain.lower()}.csv"'
        },
    )
