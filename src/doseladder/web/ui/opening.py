"""The opening checklist page of a trial (the opening guard,
:mod:`doseladder.conduct.services.opening_guard`).

``GET /trials/{id}/opening`` lists every placeholder dose and unresolved review item of the
trial's current protocol with the acknowledgements that stand for it; while the trial is a
draft an administrator or a statistician acknowledges an item with a reason
(``POST /trials/{id}/opening/acknowledge``).  The service decides everything (who may, the
four eyes, which items there are); a refusal re-renders the page with its message and status.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from doseladder.conduct.security import Actor
from doseladder.conduct.services import opening_guard, trials
from doseladder.web.deps import Caller
from doseladder.web.ui.routes import FormCaller, UiCaller, _id, act, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _data(trial_id: int) -> Any:
    def run(s: Session, a: Actor) -> dict[str, Any]:
        items = opening_guard.checklist(s, a, trial_id)
        return {
            "trial": trials.get_trial(s, a, trial_id),
            "version": trials.current_protocol(s, trial_id),
            "items": items,
            "n_outstanding": sum(not x.cleared for x in items),
        }

    return run


def _page(
    request: Request,
    caller: Caller,
    trial_id: int,
    *,
    error: str | None = None,
    status: int = 200,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    context = caller.run(_data(trial_id))
    context["form"] = form or {}
    return render(request, "opening.html", context, caller=caller, error=error, status=status)


@router.get("/trials/{trial_id}/opening", response_class=HTMLResponse)
def opening_page(request: Request, trial_id: int, caller: UiCaller) -> Response:
    return _page(request, caller, _id(trial_id))


@router.post("/trials/{trial_id}/opening/acknowledge")
def acknowledge(
    request: Request,
    trial_id: int,
    caller: FormCaller,
    item: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    tid = _id(trial_id)
    form = {"item": item, "reason": reason}
    return act(
        request,
        caller,
        lambda s, a: opening_guard.acknowledge(s, a, tid, item=item, reason=reason),
        done=f"/trials/{tid}/opening",
        message=lambda row: f"Acknowledged as {row.role}: {row.item}",
        on_error=lambda e: _page(request, caller, tid, error=e.message, status=e.status, form=form),
    )
