"""The server-rendered web interface (Jinja2 templates, plain forms, no JS build).

Pages: login; trials; the trial dashboard (the current recommendation per indication with the
core's reasoning, the latest decisions and their open slots, the patients the user may see);
register and screen a patient; the patient record (enrol, infusion, adverse events, efficacy,
DLT adjudication); the decision timeline; the audit log with its verification status; exports.

Every form posts a CSRF token; every action calls one service in one transaction; refusals
(wrong role, another site's patient, a stale decision, bad input) re-render the page with the
service's message and status.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from doseladder import __version__
from doseladder.conduct.errors import AuthenticationError, ConductError, Forbidden
from doseladder.conduct.security import PERMISSIONS, Actor, Permission
from doseladder.conduct.services import (
    decisions,
    exports,
    outcomes,
    patients,
    sites_users,
    trials,
)
from doseladder.web.deps import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Caller,
    csrf_ok,
    csrf_token,
    get_db,
    get_settings,
    new_login_csrf,
    session_caller,
)
from doseladder.web.queries import list_audit_events
from doseladder.web.screening import screening_report
from doseladder.web.throttle import LoginThrottled, throttled_login

__all__ = ["error_page", "router"]

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
FLASH_COOKIE = "doseladder_flash"
router = APIRouter(include_in_schema=False)

MAX_ID = 2_147_483_647


# ------------------------------------------------------------------ plumbing
def ui_caller(request: Request) -> Caller:
    """The logged-in user (a 401 redirects to the login page)."""
    caller = session_caller(request)
    if caller is None:
        raise AuthenticationError("please log in")
    return caller


UiCaller = Annotated[Caller, Depends(ui_caller)]


def form_caller(request: Request, caller: UiCaller, csrf: Annotated[str, Form()] = "") -> Caller:
    """The logged-in user of a form post whose CSRF token checks out."""
    if not csrf_ok(get_settings(request), caller.token, csrf):
        raise Forbidden(
            "the form has expired or did not come from this site (CSRF check failed); "
            "reload the page and try again"
        )
    return caller


FormCaller = Annotated[Caller, Depends(form_caller)]


def _posted_form_caller(request: Request, form: dict[str, Any]) -> Caller:
    """The logged-in user of a form the route reads itself, whose CSRF token checks out."""
    caller = ui_caller(request)
    if not csrf_ok(get_settings(request), caller.token, form.get("csrf")):
        raise Forbidden("the form has expired (CSRF check failed); reload the page and try again")
    return caller


def _secure(request: Request) -> bool:
    return get_settings(request).secure_cookies or request.url.scheme == "https"


def _perms(actor: Actor | None) -> set[str]:
    return {p.value for p in PERMISSIONS[actor.role]} if actor is not None else set()


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    caller: Caller | None = None,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    """A page with the common context (user, permissions, CSRF token, flash message)."""
    flash = request.cookies.get(FLASH_COOKIE)
    ctx: dict[str, Any] = {
        "me": caller.actor if caller else None,
        "can": _perms(caller.actor if caller else None),
        "csrf": csrf_token(get_settings(request), caller.token) if caller else "",
        "flash": unquote(flash)[:500] if flash else None,
        "error": error,
        "app_version": __version__,
        "label": _label,
        **context,
    }
    response = TEMPLATES.TemplateResponse(request, template, ctx, status_code=status)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """The error page (used by the app's exception handlers for UI requests)."""
    caller = session_caller(request) if status != 401 else None
    return render(
        request, "error.html", {"status": status, "message": message}, caller=caller, status=status
    )


def redirect(request: Request, url: str, message: str | None = None) -> RedirectResponse:
    """303 to ``url`` with a one-time flash message."""
    response = RedirectResponse(url, status_code=303)
    if message:
        response.set_cookie(
            FLASH_COOKIE,
            quote(message[:300]),
            max_age=60,
            httponly=True,
            samesite="lax",
            secure=_secure(request),
            path="/",
        )
    return response


def _label(engine: Any, dose: int | None) -> str:
    if dose is None:
        return "–"
    label = engine.label(dose) if engine is not None else None
    return f"{label} (level {dose})" if label else f"level {dose}"


def _today(session: Session) -> str:
    """Today (UTC) on the database clock, for the forms' default dates."""
    clock = session.info.get("clock")
    return (clock() if clock is not None else datetime.now(UTC)).astimezone(UTC).date().isoformat()


def _int(value: str) -> int | str | None:
    """A form field as an integer (text that is not one is passed on for the service to
    refuse with the field's name)."""
    value = value.strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return value


def _opt(value: str) -> str | None:
    value = value.strip()
    return value or None


def _id(value: int) -> int:
    if not 1 <= value <= MAX_ID:
        from doseladder.conduct.errors import NotFound

        raise NotFound(f"#{value} not found")
    return value


def act(
    request: Request,
    caller: Caller,
    fn: Callable[[Session, Actor], Any],
    *,
    done: str,
    message: Callable[[Any], str],
    on_error: Callable[[ConductError], Response],
) -> Response:
    """Run one service call; redirect with a message, or re-render with the refusal."""
    try:
        result = caller.run(fn)
    except AuthenticationError:
        raise
    except ConductError as exc:
        return on_error(exc)
    return redirect(request, done, message(result))


# --------------------------------------------------------------------- login
@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    if session_caller(request) is not None:
        return RedirectResponse("/", status_code=303)
    return _login_form(request)


def _login_form(request: Request, error: str | None = None, status: int = 200) -> Response:
    token = new_login_csrf()
    response = render(request, "login.html", {"login_csrf": token}, error=error, status=status)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/login",
    )
    return response


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not csrf_ok_plain(expected, csrf):
        return _login_form(request, "The login form expired; please try again.", 403)
    settings = get_settings(request)
    try:
        issued = throttled_login(
            request,
            get_db(request),
            username[:64],
            password[:1024],
            label="web",
            ttl=timedelta(hours=settings.session_hours),
        )
    except (AuthenticationError, LoginThrottled) as exc:
        return _login_form(request, exc.message, exc.status)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


def csrf_ok_plain(expected: str, given: str) -> bool:
    import hmac

    return hmac.compare_digest(expected.encode(), given.encode())


@router.post("/logout")
def logout(request: Request, caller: FormCaller) -> Response:
    def run(s: Session, a: Actor) -> None:
        from doseladder.conduct.security import token_digest

        digest = token_digest(caller.token)
        for row in sites_users.list_tokens(s, a):
            if row.token_digest == digest and row.revoked_at is None:
                sites_users.revoke_token(s, a, row.id)

    caller.run(run)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -------------------------------------------------------------------- trials
@router.get("/", response_class=HTMLResponse)
def home(request: Request, caller: UiCaller) -> Response:
    rows = caller.run(lambda s, a: trials.list_trials(s, a))
    if len(rows) == 1:
        return RedirectResponse(f"/trials/{rows[0].id}", status_code=303)
    return render(request, "trials.html", {"trials": rows}, caller=caller)


def _engine(s: Session, trial_id: int) -> Any:
    return trials.engine_for(trials.current_protocol(s, trial_id))


def _patient_summary(record: dict[str, Any]) -> dict[str, Any]:
    screening = record["screening"]
    latest = max(screening, key=lambda r: (r["screened_on"], r["id"])) if screening else None
    enrolment = record["enrolment"][0] if record["enrolment"] else None
    adjs = record["dlt_adjudications"]
    adjudicated = {a["adverse_event_id"] for a in adjs if a["adverse_event_id"] is not None}
    return {
        "patient": record["patient"],
        "eligible": None if latest is None else latest["eligible"],
        "enrolment": enrolment,
        "n_ae": len(record["adverse_events"]),
        "dlt": any(a["is_dlt"] for a in adjs),
        "awaiting": sum(
            1
            for ae in record["adverse_events"]
            if ae["dlt_candidate"] and (ae["root_id"] or ae["id"]) not in adjudicated
        ),
        "responder": any(e["responder"] for e in record["efficacy"]),
    }


def dashboard_data(s: Session, a: Actor, trial_id: int) -> dict[str, Any]:
    """Everything the dashboard shows (computed by the services)."""
    trial = trials.get_trial(s, a, trial_id)
    versions = trials.protocol_versions(s, a, trial_id)
    engine = trials.engine_for(versions[-1])
    rec = decisions.recommend(s, a, trial_id)
    history = decisions.list_decisions(s, a, trial_id)
    latest: dict[str | None, Any] = {}
    for d in history:
        latest[d.indication] = d
    latest_views = {k: decisions.decision_view(s, a, d) for k, d in latest.items()}
    sites = {x.id: x for x in trials.list_trial_sites(s, a, trial_id)}
    pts = [
        _patient_summary(patients.patient_record(s, a, p.id))
        for p in patients.list_patients(s, a, trial_id)
    ]
    protocol = engine.protocol
    title = None
    if protocol is not None:
        title = getattr(getattr(protocol, "identifiers", None), "title", None)
    return {
        "trial": trial,
        "version": versions[-1],
        "engine": engine,
        "protocol_title": title,
        "doses": [(d, engine.label(d)) for d in range(1, engine.num_doses + 1)],
        "rec": rec,
        "latest": latest_views,
        "n_decisions": len(history),
        "sites": sites,
        "my_site": sites.get(a.site_id) if a.site_id is not None else None,
        "patients": pts,
    }


def _dashboard(
    request: Request, caller: Caller, trial_id: int, *, error: str | None = None, status: int = 200
) -> HTMLResponse:
    data = caller.run(lambda s, a: dashboard_data(s, a, trial_id))
    return render(request, "dashboard.html", data, caller=caller, error=error, status=status)


@router.get("/trials/{trial_id}", response_class=HTMLResponse)
def dashboard(request: Request, trial_id: int, caller: UiCaller) -> Response:
    return _dashboard(request, caller, _id(trial_id))


@router.post("/trials/{trial_id}/decisions")
def record_decision(
    request: Request,
    trial_id: int,
    caller: FormCaller,
    indication: Annotated[str, Form()] = "",
) -> Response:
    tid = _id(trial_id)
    return act(
        request,
        caller,
        lambda s, a: decisions.record_decision(s, a, tid, indication=_opt(indication)),
        done=f"/trials/{tid}",
        message=lambda d: (
            f"Decision #{d.seq} recorded: {d.status}"
            + (f" at {d.dose_label}" if d.next_dose is not None else "")
            + f" ({d.slots} slot(s))"
        ),
        on_error=lambda e: _dashboard(request, caller, tid, error=e.message, status=e.status),
    )


@router.post("/trials/{trial_id}/override")
def override(
    request: Request,
    trial_id: int,
    caller: FormCaller,
    dose_level: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    indication: Annotated[str, Form()] = "",
) -> Response:
    tid = _id(trial_id)
    return act(
        request,
        caller,
        lambda s, a: decisions.override_decision(
            s,
            a,
            tid,
            dose_level=_int(dose_level),  # type: ignore[arg-type]
            reason=reason,
            indication=_opt(indication),
        ),
        done=f"/trials/{tid}",
        message=lambda d: f"Override decision #{d.seq} recorded at {d.dose_label}",
        on_error=lambda e: _dashboard(request, caller, tid, error=e.message, status=e.status),
    )


@router.post("/decisions/{decision_id}/signoff")
def signoff(
    request: Request,
    decision_id: int,
    caller: FormCaller,
    approve: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    did = _id(decision_id)
    trial_id = caller.run(lambda s, a: decisions.get_decision(s, a, did).trial_id)
    return act(
        request,
        caller,
        lambda s, a: decisions.sign_off(s, a, did, approve=approve == "yes", comment=comment),
        done=f"/trials/{trial_id}",
        message=lambda so: (
            f"Decision #{did} {'approved' if so.approved else 'rejected'} by the committee"
        ),
        on_error=lambda e: _dashboard(request, caller, trial_id, error=e.message, status=e.status),
    )


# ------------------------------------------------------------------ patients
def _criteria(engine: Any, indication: str | None) -> list[Any]:
    protocol = engine.protocol
    if protocol is None:
        return []
    return [
        c
        for c in protocol.criteria
        if not c.indications or indication is None or indication in c.indications
    ]


def _new_patient(
    request: Request,
    caller: Caller,
    trial_id: int,
    *,
    form: dict[str, Any] | None = None,
    error: str | None = None,
    status: int = 200,
    report: Any = None,
) -> HTMLResponse:
    def run(s: Session, a: Actor) -> dict[str, Any]:
        trial = trials.get_trial(s, a, trial_id)
        engine = _engine(s, trial_id)
        sites = trials.list_trial_sites(s, a, trial_id)
        criteria = engine.protocol.criteria if engine.protocol is not None else ()
        return {
            "trial": trial,
            "engine": engine,
            "sites": sites,
            "indications": [i for i in engine.indications if i is not None],
            "criteria": criteria,
            "today": _today(s),
        }

    data = caller.run(run)
    data["form"] = form or {}
    data["report"] = report
    data["results"] = {r.id: r for r in report.results} if report is not None else {}
    return render(request, "patient_new.html", data, caller=caller, error=error, status=status)


@router.get("/trials/{trial_id}/patients/new", response_class=HTMLResponse)
def new_patient(request: Request, trial_id: int, caller: UiCaller) -> Response:
    return _new_patient(request, caller, _id(trial_id))


@router.post("/trials/{trial_id}/patients")
async def register_patient(request: Request, trial_id: int) -> Response:
    # async: the criteria are a variable set of checkboxes read from the raw form
    async with request.form(max_files=1, max_fields=2000) as form:  # closes uploads
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    return await run_in_threadpool(_register, request, _id(trial_id), fields)


MAX_RECORD_BYTES = 5_000_000


@router.post("/trials/{trial_id}/patients/screen-record")
async def screen_record(request: Request, trial_id: int) -> Response:
    """Screen an uploaded patient record and pre-fill the registration form (no record)."""
    data: bytes | None = None
    async with request.form(max_files=1, max_fields=2000) as form:  # closes the upload
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        upload = form.get("record")
        if upload is not None and not isinstance(upload, str):
            data = await upload.read(MAX_RECORD_BYTES + 1)
    return await run_in_threadpool(_screen_record, request, _id(trial_id), fields, data)


def _screen_record(
    request: Request, trial_id: int, form: dict[str, Any], data: bytes | None
) -> Response:
    caller = _posted_form_caller(request, form)

    def fail(message: str, status: int = 422) -> Response:
        return _new_patient(request, caller, trial_id, form=form, error=message, status=status)

    if not data:
        return fail("record: choose a patient record file (JSON or FHIR bundle) to screen")
    if len(data) > MAX_RECORD_BYTES:
        return fail("record: the file is larger than 5 MB")
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return fail(f"record: not a JSON file ({exc})")
    day = str(form.get("screened_on") or "").strip()
    try:
        when = date.fromisoformat(day) if day else None
    except ValueError:
        return fail(f"screened_on: must be a date YYYY-MM-DD, got {day!r}")
    indication = _opt(str(form.get("indication") or ""))
    try:
        report = caller.run(
            lambda s, a: screening_report(
                s, a, trial_id, parsed, screening_date=when, indication=indication
            )
        )
    except AuthenticationError:
        raise
    except ConductError as exc:
        return fail(exc.message, exc.status)
    prefilled = {k: v for k, v in form.items() if not k.startswith("crit:")}
    for criterion_id, satisfied in report.satisfied().items():
        if satisfied:
            prefilled[f"crit:{criterion_id}"] = "met"
    prefilled["screened_on"] = report.screening_date.isoformat()
    if not prefilled.get("notes"):
        prefilled["notes"] = report.summary()[:2000]
    return _new_patient(request, caller, trial_id, form=prefilled, report=report)


def _register(request: Request, trial_id: int, form: dict[str, Any]) -> Response:
    caller = _posted_form_caller(request, form)

    def val(name: str) -> str:
        v = form.get(name, "")
        return v if isinstance(v, str) else ""

    indication = _opt(val("indication"))
    site_id = _int(val("site_id"))

    def run(s: Session, a: Actor) -> Any:
        engine = _engine(s, trial_id)
        applicable = _criteria(engine, indication)
        criteria = {c.id: form.get(f"crit:{c.id}") == "met" for c in applicable}
        eligible = all(criteria.values()) if criteria else val("eligible") == "yes"
        p = patients.register_patient(
            s,
            a,
            trial_id,
            site_id=site_id,  # type: ignore[arg-type]
            indication=indication,
            study_id=_opt(val("study_id")),
            sex=_opt(val("sex")),
            age=_int(val("age")),  # type: ignore[arg-type]
        )
        patients.record_screening(
            s,
            a,
            p.id,
            screened_on=val("screened_on"),
            eligible=eligible,
            criteria=criteria or None,
            notes=_opt(val("notes")),
        )
        return p, eligible

    return _register_done(request, caller, trial_id, run, form)


def _register_done(
    request: Request,
    caller: Caller,
    trial_id: int,
    run: Callable[[Session, Actor], Any],
    form: dict[str, Any],
) -> Response:
    try:
        patient, eligible = caller.run(run)
    except AuthenticationError:
        raise
    except ConductError as exc:
        return _new_patient(
            request, caller, trial_id, form=form, error=exc.message, status=exc.status
        )
    verdict = "eligible" if eligible else "NOT eligible"
    return redirect(
        request,
        f"/patients/{patient.id}",
        f"Patient {patient.study_id} registered and screened: {verdict}",
    )


def patient_data(s: Session, a: Actor, patient_id: int) -> dict[str, Any]:
    """Everything the patient page shows."""
    record = patients.patient_record(s, a, patient_id)
    history = patients.patient_record(s, a, patient_id, history=True)
    p = record["patient"]
    trial = trials.get_trial(s, a, p["trial_id"])
    engine = _engine(s, trial.id)
    key = engine.decision_key(p["indication"])
    decs = [d for d in decisions.list_decisions(s, a, trial.id) if d.indication == key]
    latest = decisions.decision_view(s, a, decs[-1]) if decs else None
    sites = {x.id: x for x in trials.list_trial_sites(s, a, trial.id)}
    summary = _patient_summary(record)
    adjudicated = {x["adverse_event_id"] for x in record["dlt_adjudications"]}
    return {
        "trial": trial,
        "engine": engine,
        "record": record,
        "history": history,
        "summary": summary,
        "site": sites.get(p["site_id"]),
        "latest": latest,
        "adjudicated": adjudicated,
        "today": _today(s),
    }


def _patient(
    request: Request,
    caller: Caller,
    patient_id: int,
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    data = caller.run(lambda s, a: patient_data(s, a, patient_id))
    return render(request, "patient.html", data, caller=caller, error=error, status=status)


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(request: Request, patient_id: int, caller: UiCaller) -> Response:
    return _patient(request, caller, _id(patient_id))


def _patient_action(
    request: Request,
    caller: Caller,
    patient_id: int,
    fn: Callable[[Session, Actor], Any],
    message: Callable[[Any], str],
) -> Response:
    return act(
        request,
        caller,
        fn,
        done=f"/patients/{patient_id}",
        message=message,
        on_error=lambda e: _patient(request, caller, patient_id, error=e.message, status=e.status),
    )


@router.post("/patients/{patient_id}/enrol")
def enrol(
    request: Request,
    patient_id: int,
    caller: FormCaller,
    dose_level: Annotated[str, Form()] = "",
    decision_id: Annotated[str, Form()] = "",
    infusion_date: Annotated[str, Form()] = "",
) -> Response:
    pid = _id(patient_id)
    return _patient_action(
        request,
        caller,
        pid,
        lambda s, a: patients.enrol(
            s,
            a,
            pid,
            dose_level=_int(dose_level),  # type: ignore[arg-type]
            decision_id=_int(decision_id),  # type: ignore[arg-type]
            infusion_date=_opt(infusion_date),
        ),
        lambda e: f"Enrolled at dose level {e.dose_level} (slot {e.slot})",
    )


@router.post("/enrolments/{enrolment_id}/infusion")
def infusion(
    request: Request,
    enrolment_id: int,
    caller: FormCaller,
    patient_id: Annotated[int, Form()],
    infusion_date: Annotated[str, Form()] = "",
) -> Response:
    eid, pid = _id(enrolment_id), _id(patient_id)
    return _patient_action(
        request,
        caller,
        pid,
        lambda s, a: patients.record_infusion(s, a, eid, infusion_date=infusion_date),
        lambda e: f"Infusion recorded on {e.infusion_date}",
    )


@router.post("/patients/{patient_id}/adverse-events")
def record_ae(
    request: Request,
    patient_id: int,
    caller: FormCaller,
    term: Annotated[str, Form()] = "",
    grade: Annotated[str, Form()] = "",
    onset_date: Annotated[str, Form()] = "",
    resolved_date: Annotated[str, Form()] = "",
    relatedness: Annotated[str, Form()] = "",
    serious: Annotated[str, Form()] = "",
    dlt_candidate: Annotated[str, Form()] = "",
) -> Response:
    pid = _id(patient_id)
    return _patient_action(
        request,
        caller,
        pid,
        lambda s, a: outcomes.record_adverse_event(
            s,
            a,
            pid,
            term=term,
            grade=_int(grade),  # type: ignore[arg-type]
            onset_date=onset_date,
            resolved_date=_opt(resolved_date),
            relatedness=_opt(relatedness),
            serious=serious == "yes",
            dlt_candidate=dlt_candidate == "yes",
        ),
        lambda ae: f"Adverse event #{ae.id} recorded: {ae.term}, grade {ae.grade}",
    )


@router.post("/patients/{patient_id}/efficacy")
def record_efficacy(
    request: Request,
    patient_id: int,
    caller: FormCaller,
    assessed_on: Annotated[str, Form()] = "",
    instrument: Annotated[str, Form()] = "",
    responder: Annotated[str, Form()] = "",
    final: Annotated[str, Form()] = "",
) -> Response:
    pid = _id(patient_id)
    return _patient_action(
        request,
        caller,
        pid,
        lambda s, a: outcomes.record_efficacy(
            s,
            a,
            pid,
            assessed_on=assessed_on,
            instrument=instrument,
            responder=responder == "yes",
            final=final == "yes",
        ),
        lambda ea: f"Efficacy assessment #{ea.id} recorded ({ea.instrument})",
    )


@router.post("/patients/{patient_id}/dlt")
def adjudicate(
    request: Request,
    patient_id: int,
    caller: FormCaller,
    is_dlt: Annotated[str, Form()] = "",
    rationale: Annotated[str, Form()] = "",
    adverse_event_id: Annotated[str, Form()] = "",
    onset_date: Annotated[str, Form()] = "",
) -> Response:
    pid = _id(patient_id)
    return _patient_action(
        request,
        caller,
        pid,
        lambda s, a: outcomes.adjudicate_dlt(
            s,
            a,
            pid,
            is_dlt=is_dlt == "yes",
            rationale=rationale,
            adverse_event_id=_int(adverse_event_id),  # type: ignore[arg-type]
            onset_date=_opt(onset_date),
        ),
        lambda adj: f"DLT adjudication #{adj.id} recorded: {'DLT' if adj.is_dlt else 'no DLT'}",
    )


# ------------------------------------------------------------------ timeline
@router.get("/trials/{trial_id}/timeline", response_class=HTMLResponse)
def timeline(request: Request, trial_id: int, caller: UiCaller) -> Response:
    tid = _id(trial_id)

    def run(s: Session, a: Actor) -> dict[str, Any]:
        trial = trials.get_trial(s, a, tid)
        engine = _engine(s, tid)
        rows = decisions.list_decisions(s, a, tid)
        views = [decisions.decision_view(s, a, d) for d in reversed(rows)]
        versions = trials.protocol_versions(s, a, tid)
        return {"trial": trial, "engine": engine, "decisions": views, "versions": versions}

    return render(request, "timeline.html", caller.run(run), caller=caller)


@router.get("/decisions/{decision_id}/replay", response_class=HTMLResponse)
def replay(request: Request, decision_id: int, caller: UiCaller) -> Response:
    did = _id(decision_id)

    def run(s: Session, a: Actor) -> dict[str, Any]:
        d = decisions.get_decision(s, a, did)
        result = decisions.replay_decision(s, a, did)
        trial = trials.get_trial(s, a, d.trial_id)
        return {"trial": trial, "decision": decisions.decision_view(s, a, d), "replay": result}

    return render(request, "replay.html", caller.run(run), caller=caller)


# --------------------------------------------------------------------- audit
@router.get("/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    caller: UiCaller,
    trial_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    def run(s: Session, a: Actor) -> dict[str, Any]:
        result = exports.verify_audit(s, a)
        events = list_audit_events(s, a, trial_id=trial_id, before_seq=before, limit=50)
        return {"verify": result, "events": events, "trial_id": trial_id}

    return render(request, "audit.html", caller.run(run), caller=caller)


@router.get("/audit/certified-copy.json")
def audit_copy(caller: UiCaller) -> Response:
    data = caller.run(lambda s, a: exports.audit_copy(s, a))
    return Response(
        json.dumps(data, indent=1, ensure_ascii=False),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="audit-certified-copy.json"'},
    )


# ------------------------------------------------------------------- exports
@router.get("/exports/tables.zip")
def export_tables(caller: UiCaller) -> Response:
    def run(s: Session, a: Actor) -> bytes:
        tables = exports.tables_csv(s, a)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, text in tables.items():
                zf.writestr(f"{name}.csv", text)
        return buf.getvalue()

    return Response(
        caller.run(run),
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="doseladder-tables.zip"'},
    )


@router.get("/trials/{trial_id}/datasets/{domain}.json")
def export_dataset(trial_id: int, domain: str, caller: UiCaller) -> Response:
    tid = _id(trial_id)
    data = caller.run(lambda s, a: exports.dataset_json(s, a, tid, domain))
    name = f"{data['studyOID']}-{data['name'].lower()}.json"
    return Response(
        json.dumps(data, indent=1, ensure_ascii=False),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/trials/{trial_id}/exports", response_class=HTMLResponse)
def exports_page(request: Request, trial_id: int, caller: UiCaller) -> Response:
    tid = _id(trial_id)
    trial = caller.run(lambda s, a: trials.get_trial(s, a, tid))
    allowed = caller.actor.can(Permission.EXPORT) and caller.actor.site_id is None
    return render(request, "exports.html", {"trial": trial, "allowed": allowed}, caller=caller)
