"""The end-of-trial page: pending outcomes, the final MTD / OBD, and its committee sign-off.

``GET /trials/{id}/end-of-trial`` shows what :func:`doseladder.conduct.services.final_selection.
end_of_trial` says: the design's stop in force for the driving cohort, the outcomes still
pending (with the date each observation window ends), a preview of the final selection with
the core's estimates and 95% credible intervals, and the recorded selections with their
electronic signatures.  A statistician records the selection
(``POST /trials/{id}/final-selection``); committee members other than its author sign it
(``POST /final-selections/{id}/sign``: re-entered password, printed name, meaning).  As
everywhere in the interface, each action is one service call with a CSRF-checked form, and a
refusal re-renders the page with the service's message and status.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from doseladder.conduct.security import Actor
from doseladder.conduct.services import final_selection, sandbox, trials
from doseladder.core.ascertainment import describe_ascertainment
from doseladder.web.deps import Caller
from doseladder.web.ui.routes import FormCaller, UiCaller, _id, act, render

__all__ = ["ESTIMATE_COLUMNS", "router"]

router = APIRouter(include_in_schema=False)

#: the estimate columns the page shows, in order, with their headings (others are left out)
ESTIMATE_COLUMNS = (
    ("n", "Patients"),
    ("n_tox", "DLTs"),
    ("tox_est", "P(DLT)"),
    ("tox_ci", "95% CrI"),
    ("n_eff", "Responses"),
    ("eff_est", "P(response)"),
    ("eff_ci", "95% CrI"),
    ("utility", "Utility"),
    ("admissible", "Admissible"),
)


def _estimates(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The selection's per-dose estimates with the credible intervals joined as text."""
    rows = []
    for est in result.get("estimates") or ():
        row = dict(est)
        for key in ("tox", "eff"):
            lo, hi = est.get(f"{key}_lower"), est.get(f"{key}_upper")
            if lo is not None and hi is not None:
                row[f"{key}_ci"] = f"{lo:.3f} – {hi:.3f}"
        rows.append(row)
    return rows


def _columns(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(k, h) for k, h in ESTIMATE_COLUMNS if any(r.get(k) is not None for r in rows)]


def _page(
    request: Request, caller: Caller, trial_id: int, *, error: str | None = None, status: int = 200
) -> HTMLResponse:
    def run(s: Session, a: Actor) -> dict[str, Any]:
        trial = trials.get_trial(s, a, trial_id)
        eot = final_selection.end_of_trial(s, a, trial_id)
        return {
            "trial": trial,
            "clock": sandbox.trial_clock(s, trial),
            "engine": trials.engine_for(trials.current_protocol(s, trial_id)),
            "eot": eot,
        }

    data = caller.run(run)
    eot = data["eot"]
    trial = data["trial"]
    eff_window = float(trial.efficacy_window_days or 0) if eot["kind"] == "obd" else None
    data["ascertainment"] = describe_ascertainment(float(trial.dlt_window_days or 0), eff_window)
    preview = eot["preview"]
    data["preview_rows"] = _estimates(preview) if preview else []
    data["selections"] = [
        {**sel, "rows": _estimates(sel["result"])} for sel in reversed(eot["selections"])
    ]
    every = data["preview_rows"] + [r for sel in data["selections"] for r in sel["rows"]]
    data["columns"] = _columns(every)
    data["any_signed"] = any(sel["signed"] for sel in eot["selections"])
    return render(request, "end_of_trial.html", data, caller=caller, error=error, status=status)


@router.get("/trials/{trial_id}/end-of-trial", response_class=HTMLResponse)
def end_of_trial_page(request: Request, trial_id: int, caller: UiCaller) -> Response:
    return _page(request, caller, _id(trial_id))


@router.post("/trials/{trial_id}/final-selection")
def compute_selection(request: Request, trial_id: int, caller: FormCaller) -> Response:
    tid = _id(trial_id)
    return act(
        request,
        caller,
        lambda s, a: final_selection.compute_final_selection(s, a, tid),
        done=f"/trials/{tid}/end-of-trial",
        message=lambda row: (
            f"Final {row.kind.upper()} #{row.id} recorded: {row.dose_label}; it now needs "
            f"{final_selection.SIGNATURES_REQUIRED} committee signatures"
        ),
        on_error=lambda e: _page(request, caller, tid, error=e.message, status=e.status),
    )


@router.post("/final-selections/{selection_id}/sign")
def sign_selection(
    request: Request,
    selection_id: int,
    caller: FormCaller,
    trial_id: Annotated[int, Form()],
    approve: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    printed_name: Annotated[str, Form()] = "",
) -> Response:
    sid, tid = _id(selection_id), _id(trial_id)

    def message(view: dict[str, Any]) -> str:
        what = f"Final {view['kind'].upper()} #{sid} ({view['dose_label']})"
        if view["signed"]:
            return f"{what} is signed by the committee"
        if view["rejected"]:
            return f"{what} is rejected"
        n = sum(1 for sg in view["signatures"] if sg["meaning"] == "approved")
        return f"{what}: signature {n} of {view['signatures_required']} recorded"

    return act(
        request,
        caller,
        lambda s, a: final_selection.sign_final_selection(
            s,
            a,
            sid,
            password=password,
            printed_name=printed_name,
            approve=approve == "yes",
            comment=comment or None,
        ),
        done=f"/trials/{tid}/end-of-trial",
        message=message,
        on_error=lambda e: _page(request, caller, tid, error=e.message, status=e.status),
    )
