"""Exports: every table as CSV (one zip), CDISC-style Dataset-JSON DM, EX and AE."""

from __future__ import annotations

import io
import zipfile
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from doseladder.conduct.security import Actor
from doseladder.conduct.services import exports
from doseladder.web.api.common import ERRORS, PathId
from doseladder.web.api.schemas import Domain
from doseladder.web.deps import ApiCaller

__all__ = ["router", "tables_zip"]

router = APIRouter(tags=["exports"], responses=ERRORS)

#: sandbox trials are left out of exports unless asked
IncludeSandbox = Annotated[
    bool, Query(description="include sandbox trials (left out unless asked)")
]


def tables_zip(session: Session, actor: Actor, *, include_sandbox: bool = False) -> bytes:
    """Every table as ``<table>.csv`` in one zip archive (sandbox trials only when asked)."""
    tables = exports.tables_csv(session, actor, include_sandbox=include_sandbox)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in tables.items():
            zf.writestr(f"{name}.csv", text)
    return buf.getvalue()


@router.get(
    "/exports/tables.zip",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "CSV files in a zip."}},
    summary="Every table (every row and version) as CSV, zipped",
)
def tables(caller: ApiCaller, include_sandbox: IncludeSandbox = False) -> Response:
    data = caller.run(lambda s, a: tables_zip(s, a, include_sandbox=include_sandbox))
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="doseladder-tables.zip"'},
    )


@router.get(
    "/trials/{trial_id}/datasets/{domain}",
    response_model=dict[str, Any],
    summary="One CDISC-style domain (DM, EX or AE) as Dataset-JSON 1.1",
)
def dataset(
    trial_id: PathId, domain: Domain, caller: ApiCaller, include_sandbox: IncludeSandbox = False
) -> dict[str, Any]:
    return caller.run(
        lambda s, a: exports.dataset_json(s, a, trial_id, domain, include_sandbox=include_sandbox)
    )
