"""Administration pages: sites, users (with the periodic access review) and trials.

Sites and users are for administrators; the trial pages for whoever may manage trials
(administrators, statisticians), and a sandbox trial's clock for administrators only.  As in
the rest of the interface every form carries the CSRF token, every action is one service call
in one transaction, and a refusal re-renders the page with the service's message and status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from doseladder.conduct.errors import AuthenticationError, ConductError, Forbidden
from doseladder.conduct.security import Actor, Permission, Role
from doseladder.conduct.services import protocol_sources, sandbox, sites_users, trials
from doseladder.web.deps import Caller
from doseladder.web.ui.routes import (
    FormCaller,
    UiCaller,
    _id,
    _int,
    _opt,
    _posted_form_caller,
    act,
    redirect,
    render,
)

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

ROLES = [r.value for r in Role]


def _admin(caller: Caller) -> None:
    if caller.actor.role is not Role.ADMIN:
        raise Forbidden("the administration pages are for administrators")


def _trial_manager(caller: Caller) -> None:
    if not caller.actor.can(Permission.MANAGE_TRIAL):
        raise Forbidden("managing trials is for administrators and statisticians")


def _page(
    request: Request,
    caller: Caller,
    template: str,
    data: Callable[[Session, Actor], dict[str, Any]],
    *,
    error: str | None = None,
    status: int = 200,
    form: dict[str, Any] | None = None,
) -> HTMLResponse:
    context = caller.run(data)
    context["form"] = form or {}
    return render(request, template, context, caller=caller, error=error, status=status)


# ------------------------------------------------------------------- overview
@router.get("/admin", response_class=HTMLResponse)
def admin_home(request: Request, caller: UiCaller) -> Response:
    _admin(caller)
    return redirect(request, "/admin/users")


# ---------------------------------------------------------------------- sites
def _sites_data(s: Session, a: Actor) -> dict[str, Any]:
    return {"sites": sites_users.list_sites(s, a), "section": "sites"}


def _sites(request: Request, caller: Caller, **kw: Any) -> HTMLResponse:
    _admin(caller)
    return _page(request, caller, "admin_sites.html", _sites_data, **kw)


@router.get("/admin/sites", response_class=HTMLResponse)
def sites_page(request: Request, caller: UiCaller) -> Response:
    return _sites(request, caller)


@router.post("/admin/sites")
def create_site(
    request: Request,
    caller: FormCaller,
    code: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
) -> Response:
    form = {"code": code, "name": name}
    return act(
        request,
        caller,
        lambda s, a: sites_users.create_site(s, a, code=code, name=name),
        done="/admin/sites",
        message=lambda site: f"Site {site.code} registered",
        on_error=lambda e: _sites(request, caller, error=e.message, status=e.status, form=form),
    )


@router.post("/admin/sites/{site_id}/deactivate")
def deactivate_site(
    request: Request, site_id: int, caller: FormCaller, reason: Annotated[str, Form()] = ""
) -> Response:
    sid = _id(site_id)
    return act(
        request,
        caller,
        lambda s, a: sites_users.deactivate_site(s, a, sid, reason=reason),
        done="/admin/sites",
        message=lambda site: f"Site {site.code} deactivated",
        on_error=lambda e: _sites(request, caller, error=e.message, status=e.status),
    )


# ---------------------------------------------------------------------- users
def _users_data(s: Session, a: Actor) -> dict[str, Any]:
    return {
        "users": sites_users.list_users(s, a),
        "sites": sites_users.list_sites(s, a),
        "roles": ROLES,
        "section": "users",
    }


def _users(request: Request, caller: Caller, **kw: Any) -> HTMLResponse:
    _admin(caller)
    return _page(request, caller, "admin_users.html", _users_data, **kw)


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, caller: UiCaller) -> Response:
    return _users(request, caller)


@router.post("/admin/users")
def create_user(
    request: Request,
    caller: FormCaller,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    site_id: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
) -> Response:
    form = {"username": username, "role": role, "site_id": site_id, "display_name": display_name}
    return act(
        request,
        caller,
        lambda s, a: sites_users.create_user(
            s,
            a,
            username=username,
            password=password,
            role=role,
            site_id=_int(site_id),  # type: ignore[arg-type]
            display_name=_opt(display_name),
        ),
        done="/admin/users",
        message=lambda u: f"User {u.username} created ({u.role})",
        on_error=lambda e: _users(request, caller, error=e.message, status=e.status, form=form),
    )


def _user_action(
    request: Request, caller: Caller, fn: Callable[[Session, Actor], Any], message: str
) -> Response:
    return act(
        request,
        caller,
        fn,
        done="/admin/users",
        message=lambda _: message,
        on_error=lambda e: _users(request, caller, error=e.message, status=e.status),
    )


@router.post("/admin/users/{user_id}/deactivate")
def deactivate_user(
    request: Request, user_id: int, caller: FormCaller, reason: Annotated[str, Form()] = ""
) -> Response:
    uid = _id(user_id)
    return _user_action(
        request,
        caller,
        lambda s, a: sites_users.deactivate_user(s, a, uid, reason=reason),
        f"User #{uid} deactivated",
    )


@router.post("/admin/users/{user_id}/password")
def reset_password(
    request: Request,
    user_id: int,
    caller: FormCaller,
    new_password: Annotated[str, Form()] = "",
) -> Response:
    uid = _id(user_id)
    return _user_action(
        request,
        caller,
        lambda s, a: sites_users.change_password(s, a, uid, new_password=new_password),
        f"Password of user #{uid} reset",
    )


@router.post("/admin/users/{user_id}/role")
def set_role(
    request: Request,
    user_id: int,
    caller: FormCaller,
    role: Annotated[str, Form()] = "",
    site_id: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    uid = _id(user_id)
    return _user_action(
        request,
        caller,
        lambda s, a: sites_users.set_role(
            s,
            a,
            uid,
            role=role,
            site_id=_int(site_id),  # type: ignore[arg-type]
            reason=reason,
        ),
        f"Role of user #{uid} changed",
    )


# -------------------------------------------------------------- access review
def _review(request: Request, caller: Caller, **kw: Any) -> HTMLResponse:
    _admin(caller)
    return _page(
        request,
        caller,
        "admin_access.html",
        lambda s, a: {"rows": sites_users.access_review(s, a), "section": "access"},
        **kw,
    )


@router.get("/admin/access-review", response_class=HTMLResponse)
def access_review(request: Request, caller: UiCaller) -> Response:
    return _review(request, caller)


@router.post("/admin/users/{user_id}/reviewed")
def mark_reviewed(
    request: Request, user_id: int, caller: FormCaller, note: Annotated[str, Form()] = ""
) -> Response:
    uid = _id(user_id)
    return act(
        request,
        caller,
        lambda s, a: sites_users.mark_access_reviewed(s, a, uid, note=_opt(note)),
        done="/admin/access-review",
        message=lambda u: f"Access of {u.username} reviewed (recorded in the audit trail)",
        on_error=lambda e: _review(request, caller, error=e.message, status=e.status),
    )


# --------------------------------------------------------------------- trials
def _trials_data(s: Session, a: Actor) -> dict[str, Any]:
    return {
        "trials": trials.list_trials(s, a),
        "shipped": protocol_sources.shipped_names(),
        "section": "trials",
    }


def _trials(request: Request, caller: Caller, **kw: Any) -> HTMLResponse:
    _trial_manager(caller)
    return _page(request, caller, "admin_trials.html", _trials_data, **kw)


@router.get("/admin/trials", response_class=HTMLResponse)
def trials_page(request: Request, caller: UiCaller) -> Response:
    return _trials(request, caller)


async def _read_form(request: Request) -> tuple[dict[str, str], bytes | None, str | None]:
    data: bytes | None = None
    filename: str | None = None
    async with request.form(max_files=1, max_fields=100) as form:  # closes the upload
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        upload = form.get("protocol_file")
        if upload is not None and not isinstance(upload, str):
            data = await upload.read(protocol_sources.MAX_UPLOAD_BYTES + 1)
            filename = upload.filename
    return fields, data, filename


def _protocol(
    form: dict[str, str], data: bytes | None, filename: str | None
) -> tuple[dict[str, Any], str | None, str | None]:
    shipped = (form.get("shipped_protocol") or "").strip()
    if data:
        return protocol_sources.uploaded_source(data, filename)
    if shipped:
        return protocol_sources.shipped_source(shipped)
    return protocol_sources.uploaded_source(b"", filename)


@router.post("/admin/trials")
async def create_trial(request: Request) -> Response:
    fields, data, filename = await _read_form(request)
    return await run_in_threadpool(_create_trial, request, fields, data, filename)


def _create_trial(
    request: Request, form: dict[str, str], data: bytes | None, filename: str | None
) -> Response:
    caller = _posted_form_caller(request, form)
    _trial_manager(caller)

    def run(s: Session, a: Actor) -> Any:
        protocol, text, name = _protocol(form, data, filename)
        return trials.create_trial(
            s,
            a,
            code=form.get("code", ""),
            title=form.get("title", ""),
            protocol=protocol,
            source_name=name,
            source_text=text,
            epoch=_opt(form.get("epoch", "")),
            sandbox=form.get("sandbox") == "yes",
        )

    try:
        trial = caller.run(run)
    except AuthenticationError:
        raise
    except ConductError as exc:
        kept = {k: v for k, v in form.items() if k != "csrf"}
        return _trials(request, caller, error=exc.message, status=exc.status, form=kept)
    kind = "sandbox trial" if trial.sandbox else "trial"
    return redirect(request, f"/admin/trials/{trial.id}", f"{kind} {trial.code} created (draft)")


def _trial_data(trial_id: int) -> Callable[[Session, Actor], dict[str, Any]]:
    def run(s: Session, a: Actor) -> dict[str, Any]:
        trial = trials.get_trial(s, a, trial_id)
        taking_part = trials.list_trial_sites(s, a, trial_id)
        ids = {x.id for x in taking_part}
        return {
            "trial": trial,
            "clock": sandbox.trial_clock(s, trial),
            "versions": trials.protocol_versions(s, a, trial_id),
            "trial_sites": taking_part,
            "other_sites": [
                x for x in sites_users.list_sites(s, a) if x.id not in ids and x.active
            ],
            "shipped": protocol_sources.shipped_names(),
            "section": "trials",
        }

    return run


def _trial(request: Request, caller: Caller, trial_id: int, **kw: Any) -> HTMLResponse:
    _trial_manager(caller)
    return _page(request, caller, "admin_trial.html", _trial_data(trial_id), **kw)


@router.get("/admin/trials/{trial_id}", response_class=HTMLResponse)
def trial_page(request: Request, trial_id: int, caller: UiCaller) -> Response:
    return _trial(request, caller, _id(trial_id))


def _trial_action(
    request: Request,
    caller: Caller,
    trial_id: int,
    fn: Callable[[Session, Actor], Any],
    message: Callable[[Any], str],
) -> Response:
    return act(
        request,
        caller,
        fn,
        done=f"/admin/trials/{trial_id}",
        message=message,
        on_error=lambda e: _trial(request, caller, trial_id, error=e.message, status=e.status),
    )


@router.post("/admin/trials/{trial_id}/amend")
async def amend(request: Request, trial_id: int) -> Response:
    tid = _id(trial_id)
    fields, data, filename = await _read_form(request)
    return await run_in_threadpool(_amend, request, tid, fields, data, filename)


def _amend(
    request: Request,
    trial_id: int,
    form: dict[str, str],
    data: bytes | None,
    filename: str | None,
) -> Response:
    caller = _posted_form_caller(request, form)

    def run(s: Session, a: Actor) -> Any:
        protocol, text, name = _protocol(form, data, filename)
        return trials.amend_protocol(
            s,
            a,
            trial_id,
            protocol,
            reason=form.get("reason", ""),
            source_name=name,
            source_text=text,
        )

    return _trial_action(
        request, caller, trial_id, run, lambda pv: f"Protocol version {pv.version} recorded"
    )


@router.post("/admin/trials/{trial_id}/open")
def open_trial(
    request: Request, trial_id: int, caller: FormCaller, reason: Annotated[str, Form()] = ""
) -> Response:
    tid = _id(trial_id)
    return _trial_action(
        request,
        caller,
        tid,
        lambda s, a: trials.open_trial(s, a, tid, reason=_opt(reason)),
        lambda t: f"Trial {t.code} is open",
    )


@router.post("/admin/trials/{trial_id}/close")
def close_trial(
    request: Request, trial_id: int, caller: FormCaller, reason: Annotated[str, Form()] = ""
) -> Response:
    tid = _id(trial_id)
    return _trial_action(
        request,
        caller,
        tid,
        lambda s, a: trials.close_trial(s, a, tid, reason=reason),
        lambda t: f"Trial {t.code} is closed",
    )


@router.post("/admin/trials/{trial_id}/sites")
def activate_site(
    request: Request, trial_id: int, caller: FormCaller, site_id: Annotated[str, Form()] = ""
) -> Response:
    tid = _id(trial_id)
    return _trial_action(
        request,
        caller,
        tid,
        lambda s, a: trials.activate_site(s, a, tid, _int(site_id)),  # type: ignore[arg-type]
        lambda ts: f"Site #{ts.site_id} takes part in the trial",
    )


@router.post("/admin/trials/{trial_id}/clock")
def advance_clock(
    request: Request,
    trial_id: int,
    caller: FormCaller,
    days: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    tid = _id(trial_id)
    return _trial_action(
        request,
        caller,
        tid,
        lambda s, a: sandbox.advance_clock(s, a, tid, days=_number(days), reason=reason),
        lambda clock: (
            f"Sandbox clock advanced: the trial's today is {clock.today} "
            f"({clock.offset_days:g} day(s) ahead of the real clock)"
        ),
    )


def _number(value: str) -> float | str | None:
    """A form field as a number (other text is passed on for the service to refuse)."""
    value = value.strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return value
