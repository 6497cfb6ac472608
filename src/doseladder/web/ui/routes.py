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
from datetime import date, timedelta
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
from doseladder.conduct.services import audit_log as audit_log_service
from doseladder.conduct.services import dashboard as dashboard_service
from doseladder.conduct.services import (
    decisions,
    exports,
    final_selection,
    grading,
    lymphodepletion,
    outcomes,
    patients,
    sites_users,
    trials,
)
from doseladder.conduct.services import screening as screening_service
from doseladder.protocols.text import display_text
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
from doseladder.web.throttle import LoginThrottled, throttled_login

__all__ = ["error_page", "router"]

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
TEMPLATES.env.filters["registry_text"] = display_text
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


def _dashboard(
    request: Request, caller: Caller, trial_id: int, *, error: str | None = None, status: int = 200
) -> HTMLResponse:
    def run(s: Session, a: Actor) -> dict[str, Any]:
        data = dashboard_service.dashboard_data(s, a, trial_id)
        # the end-of-trial block: the latest final MTD / OBD and its signatures
        data["final_selection"] = final_selection.latest_selection(s, a, trial_id)
        return data

    data = caller.run(run)
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
    password: Annotated[str, Form()] = "",
    printed_name: Annotated[str, Form()] = "",
) -> Response:
    did = _id(decision_id)
    trial_id = caller.run(lambda s, a: decisions.get_decision(s, a, did).trial_id)
    return act(
        request,
        caller,
        lambda s, a: decisions.sign_off(
            s,
            a,
            did,
            approve=approve == "yes",
            comment=comment,
            password=password,
            printed_name=printed_name,
        ),
        done=f"/trials/{trial_id}",
        message=lambda so: (
            f"Decision #{did} {'approved' if so.approved else 'rejected'} by the committee"
            if so.complete
            else f"Decision #{did}: signature {len(so.signatures)} of {so.signatures_required} "
            "recorded"
        ),
        on_error=lambda e: _dashboard(request, caller, trial_id, error=e.message, status=e.status),
    )


# ------------------------------------------------------------------ patients
def _criteria(engine: Any, indication: str | None) -> list[Any]:
    protocol = engine.protocol
    if protocol is None:
        return []
    applicable = patients.applicable_criteria(engine, indication)
    return [c for c in protocol.criteria if c.id in applicable]


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
            "today": dashboard_service.trial_today(s, trial_id),
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
        screened = caller.run(
            lambda s, a: screening_service.screen_record(
                s, a, trial_id, parsed, screening_date=when, indication=indication
            )
        )
    except AuthenticationError:
        raise
    except ConductError as exc:
        return fail(exc.message, exc.status)
    report = screened.report
    prefilled = {k: v for k, v in form.items() if not k.startswith("crit:")}
    # the record's sex and age, unless the investigator already typed them
    if screened.sex is not None and not str(prefilled.get("sex") or "").strip():
        prefilled["sex"] = screened.sex
    if screened.age is not None and not str(prefilled.get("age") or "").strip():
        prefilled["age"] = str(screened.age)
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
            require_criteria=True,
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


def _patient(
    request: Request,
    caller: Caller,
    patient_id: int,
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    def load(s: Session, a: Actor) -> dict[str, Any]:
        data = dashboard_service.patient_data(s, a, patient_id)
        return data | {
            "lympho": lymphodepletion.list_lymphodepletion(s, a, patient_id),
            "lympho_agents": lymphodepletion.regimen_agents(s, data["trial"].id),
        }

    data = caller.run(load)
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
    cohort: Annotated[str, Form()] = "escalation",
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
            cohort=cohort,
        ),
        lambda e: (
            f"Backfilled at dose level {e.dose_level}"
            if e.cohort == "backfill"
            else f"Enrolled at dose level {e.dose_level} (slot {e.slot})"
        ),
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


def _num(value: str) -> float | str | None:
    """A form field as a number (text that is not one is passed on for the service to refuse
    with the field's name)."""
    value = value.strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return value


def _tri(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value.strip())


def _ae_forms(form: dict[str, str], kind: str) -> dict[str, Any]:
    """The grading form of a term's kind from the posted fields (``lab_*``, ``crs_*``,
    ``icans_*``); empty fields are left out."""
    if kind == "lab":
        lab = {
            k: _num(form.get(f"lab_{k}", ""))
            for k in ("value", "lln", "uln", "baseline")
            if form.get(f"lab_{k}", "").strip()
        }
        if form.get("lab_unit", "").strip():
            lab["unit"] = form["lab_unit"].strip()
        return {"lab": lab}
    if kind == "crs":
        crs: dict[str, Any] = {
            "temperature_max": _num(form.get("crs_temperature_max", "")),
            "temperature_unit": _opt(form.get("crs_temperature_unit", "")),
            "fever_other_cause": _tri(form.get("crs_fever_other_cause", "")),
            "fever_masked_by_treatment": form.get("crs_fever_masked_by_treatment") == "yes",
            "hypotension": _tri(form.get("crs_hypotension", "")),
            "vasopressors": [
                v.strip() for v in form.get("crs_vasopressors", "").split(",") if v.strip()
            ],
            "oxygen": _opt(form.get("crs_oxygen", "")),
            "o2_flow_l_per_min": _num(form.get("crs_o2_flow_l_per_min", "")),
        }
        return {"crs": crs}
    if kind == "icans":
        icans: dict[str, Any] = {
            "ice": _int(form.get("icans_ice", "")),
            "capd": _int(form.get("icans_capd", "")),
            "consciousness": _opt(form.get("icans_consciousness", "")),
            "seizure": _opt(form.get("icans_seizure", "")) or "none",
            "motor": _opt(form.get("icans_motor", "")) or "none",
            "cerebral_edema": _opt(form.get("icans_cerebral_edema", "")) or "none",
        }
        return {"icans": {k: v for k, v in icans.items() if v is not None}}
    return {}


async def _fields(request: Request) -> dict[str, str]:
    async with request.form(max_files=0, max_fields=200) as form:
        return {k: v for k, v in form.multi_items() if isinstance(v, str)}


@router.post("/patients/{patient_id}/adverse-events")
async def record_ae(request: Request, patient_id: int) -> Response:
    # async: the grading form's fields depend on the term (lab, CRS, ICANS or chosen grade)
    fields = await _fields(request)
    return await run_in_threadpool(_record_ae, request, _id(patient_id), fields)


def _record_ae(request: Request, pid: int, form: dict[str, str]) -> Response:
    caller = _posted_form_caller(request, form)

    def run(s: Session, a: Actor) -> Any:
        term = form.get("term", "")
        try:
            kind = grading.term_kind(grading.lookup_term(term))
        except ConductError:
            kind = "defined"
        return outcomes.record_adverse_event(
            s,
            a,
            pid,
            term=term,
            grade=_int(form.get("grade", "")),  # type: ignore[arg-type]
            onset_date=form.get("onset_date", ""),
            resolved_date=_opt(form.get("resolved_date", "")),
            relatedness=_opt(form.get("relatedness", "")),
            serious=form.get("serious") == "yes",
            dlt_candidate=form.get("dlt_candidate") == "yes",
            **_ae_forms(form, kind),
        )

    return _patient_action(
        request,
        caller,
        pid,
        run,
        lambda ae: (
            f"Adverse event #{ae.id} recorded: {ae.term}, {ae.grade_scale or ''} grade {ae.grade}"
        ),
    )


@router.post("/patients/{patient_id}/dlt-proposals")
def propose_dlt(request: Request, patient_id: int, caller: FormCaller) -> Response:
    pid = _id(patient_id)
    return _patient_action(
        request,
        caller,
        pid,
        lambda s, a: outcomes.propose_dlt(s, a, pid),
        lambda p: f"DLT proposal #{p.id}: {p.status}",
    )


@router.post("/dlt-proposals/{proposal_id}/confirm")
def confirm_dlt(
    request: Request,
    proposal_id: int,
    caller: FormCaller,
    patient_id: Annotated[int, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    prop, pid = _id(proposal_id), _id(patient_id)
    return _patient_action(
        request,
        caller,
        pid,
        lambda s, a: outcomes.confirm_dlt(s, a, prop, reason=_opt(reason)),
        lambda rows: f"Proposal #{prop} confirmed ({len(rows)} adjudication(s))",
    )


@router.post("/dlt-proposals/{proposal_id}/override")
def override_dlt(
    request: Request,
    proposal_id: int,
    caller: FormCaller,
    patient_id: Annotated[int, Form()],
    is_dlt: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    adverse_event_id: Annotated[str, Form()] = "",
) -> Response:
    prop, pid = _id(proposal_id), _id(patient_id)
    return _patient_action(
        request,
        caller,
        pid,
        lambda s, a: outcomes.override_dlt(
            s,
            a,
            prop,
            is_dlt=is_dlt == "yes",
            reason=reason,
            adverse_event_id=_int(adverse_event_id),  # type: ignore[arg-type]
        ),
        lambda adj: f"Proposal #{prop} overridden: {'DLT' if adj.is_dlt else 'no DLT'}",
    )


@router.post("/patients/{patient_id}/efficacy-assessments")
async def assess_efficacy(request: Request, patient_id: int) -> Response:
    # async: the components depend on the instrument
    fields = await _fields(request)
    return await run_in_threadpool(_assess_efficacy, request, _id(patient_id), fields)


def _assess_efficacy(request: Request, pid: int, form: dict[str, str]) -> Response:
    caller = _posted_form_caller(request, form)
    instrument = _opt(form.get("instrument", ""))
    components: dict[str, Any] = {}
    for key, value in form.items():
        if key.startswith("c_") and value.strip():
            name = key[2:]
            if name in ("unit", "bleeding"):
                components[name] = _tri(value) if name == "bleeding" else value.strip()
            elif name.startswith("bilag_"):
                grades = dict(part.split("=", 1) for part in value.split(",") if "=" in part)
                components[name] = {k.strip(): v.strip() for k, v in grades.items()}
            else:
                number = _num(value)
                if isinstance(number, float) and number.is_integer() and "sledai" in name:
                    components[name] = int(number)
                else:
                    components[name] = number
    if "platelets" not in components:
        components.pop("unit", None)  # the platelet unit's default value alone
    return _patient_action(
        request,
        caller,
        pid,
        lambda s, a: outcomes.assess_efficacy(
            s,
            a,
            pid,
            assessed_on=form.get("assessed_on", ""),
            instrument=instrument,
            components=components,
            final=form.get("final") == "yes",
        ),
        lambda ea: (
            f"Efficacy assessment #{ea.id} recorded ({ea.instrument}); proposed "
            f"response: {ea.proposed_responder}"
        ),
    )


@router.post("/efficacy/{assessment_id}/confirm")
def confirm_response(
    request: Request,
    assessment_id: int,
    caller: FormCaller,
    patient_id: Annotated[int, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    eid, pid = _id(assessment_id), _id(patient_id)
    return _patient_action(
        request,
        caller,
        pid,
        lambda s, a: outcomes.confirm_response(s, a, eid, reason=_opt(reason)),
        lambda ea: f"Response confirmed: {'responder' if ea.responder else 'non-responder'}",
    )


@router.post("/efficacy/{assessment_id}/override")
def override_response(
    request: Request,
    assessment_id: int,
    caller: FormCaller,
    patient_id: Annotated[int, Form()],
    responder: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    eid, pid = _id(assessment_id), _id(patient_id)
    return _patient_action(
        request,
        caller,
        pid,
        lambda s, a: outcomes.override_response(
            s, a, eid, responder=responder == "yes", reason=reason
        ),
        lambda ea: f"Response overridden: {'responder' if ea.responder else 'non-responder'}",
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


@router.post("/patients/{patient_id}/lymphodepletion")
def record_lymphodepletion(
    request: Request,
    patient_id: int,
    caller: FormCaller,
    agent: Annotated[str, Form()] = "",
    given_on: Annotated[str, Form()] = "",
    dose: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    pid = _id(patient_id)
    return _patient_action(
        request,
        caller,
        pid,
        lambda s, a: lymphodepletion.record_lymphodepletion(
            s, a, pid, agent=agent, given_on=given_on, dose=dose, note=_opt(note)
        ),
        lambda r: (
            f"Lymphodepletion recorded: {r.agent} {r.dose.normalize():f} {r.unit} "
            f"on {r.given_on.isoformat()}"
        ),
    )


@router.post("/lymphodepletion/{record_id}/void")
def void_lymphodepletion(
    request: Request,
    record_id: int,
    caller: FormCaller,
    patient_id: Annotated[int, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    rid, pid = _id(record_id), _id(patient_id)
    return _patient_action(
        request,
        caller,
        pid,
        lambda s, a: lymphodepletion.void_lymphodepletion(s, a, rid, reason=reason),
        lambda r: f"Lymphodepletion record #{r.lineage_id} voided",
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
        events = audit_log_service.list_audit_events(
            s, a, trial_id=trial_id, before_seq=before, limit=50
        )
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
@router.get("/trials/{trial_id}/exports/tables.zip")
def export_tables(trial_id: int, caller: UiCaller, include_sandbox: bool = False) -> Response:
    tid = _id(trial_id)

    def run(s: Session, a: Actor) -> bytes:
        tables = exports.tables_csv(s, a, tid, include_sandbox=include_sandbox)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, text in tables.items():
                zf.writestr(f"{name}.csv", text)
        return buf.getvalue()

    return Response(
        caller.run(run),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="trial-{tid}-tables.zip"'},
    )


@router.get("/trials/{trial_id}/datasets/{domain}.json")
def export_dataset(
    trial_id: int, domain: str, caller: UiCaller, include_sandbox: bool = False
) -> Response:
    tid = _id(trial_id)
    data = caller.run(
        lambda s, a: exports.dataset_json(s, a, tid, domain, include_sandbox=include_sandbox)
    )
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
