"""The committee meeting pack from the trial dashboard: ``POST /trials/{id}/meeting-pack``.

A form post (CSRF token; ``format`` = ``pdf`` or ``html``; optional ``cohorts`` = 1 or 2) that
answers with the file as a download.  The service
(:func:`doseladder.conduct.services.meeting_pack.meeting_pack`) gathers the pack and records the
audit event (who produced a pack of which audit head) and the reports layer
(:mod:`doseladder.reports.meeting_pack`) renders it, in one transaction: if rendering fails,
nothing is recorded.

Who may: administrators, statisticians and committee members -- the roles that sign the
committee's decisions off (permission ``sign_off``) -- and not users bound to a site, since the
pack lists every site's patients.  Others get the service's 403.  It is a POST, not a link,
because producing a pack is an audited act.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Response
from sqlalchemy.orm import Session

from doseladder.conduct.errors import Conflict
from doseladder.conduct.security import Actor
from doseladder.conduct.services import meeting_pack
from doseladder.web.ui.routes import FormCaller, _id, _int

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_MEDIA = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}
#: the HTML pack is one self-contained file: its own styles and embedded images, nothing else
_HTML_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'none'"


@router.post("/trials/{trial_id}/meeting-pack")
def produce_pack(
    trial_id: int,
    caller: FormCaller,
    format: Annotated[str, Form()] = "pdf",
    cohorts: Annotated[str, Form()] = "",
) -> Response:
    tid = _id(trial_id)
    fmt = format.strip().lower()
    n = _int(cohorts)

    def run(s: Session, a: Actor) -> tuple[bytes, str]:
        pack = meeting_pack.meeting_pack(s, a, tid, formats=[fmt], cohorts=n)
        try:
            from doseladder.reports.meeting_pack import pack_filename, render_pack
        except ImportError:  # pragma: no cover - the report extra is part of the server's
            raise Conflict(
                "the meeting pack needs the report extra: pip install 'doseladder[report]'"
            ) from None
        return render_pack(pack, fmt), pack_filename(pack, fmt)

    data, name = caller.run(run)
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "html":
        headers["Content-Security-Policy"] = _HTML_CSP
    return Response(data, media_type=_MEDIA[fmt], headers=headers)
