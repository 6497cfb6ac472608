"""Exports: every table as CSV (one zip), CDISC-style Dataset-JSON DM, EX and AE."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from doseladder.conduct.security import Actor
from doseladder.conduct.services import exports
from doseladder.web.api.common import ERRORS, PathId
from doseladder.web.api.schemas import Domain
from doseladder.web.deps import ApiCaller

__all__ = ["router", "tables_zip"]

router = APIRouter(tags=["exports"], responses=ERRORS)


def tables_zip(session: Session, actor: Actor) -> bytes:
    """Every table as ``<table>.csv`` in one zip archive."""
    tables = exports.tables_csv(session, actor)
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
def tables(caller: ApiCaller) -> Response:
    data = caller.run(tables_zip)
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
def dataset(trial_id: PathId, domain: Domain, caller: ApiCaller) -> dict[str, Any]:
    return caller.run(lambda s, a: exports.dataset_json(s, a, trial_id, domain))
