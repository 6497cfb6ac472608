"""``/trials``: trials, their protocol versions and status, participating sites; ``/protocols``:
the protocol files shipped with doseladder."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from doseladder.conduct.security import Actor
from doseladder.conduct.services import sandbox, trials
from doseladder.conduct.services.protocol_sources import shipped_names, shipped_source
from doseladder.web.api.common import ERRORS, PathId
from doseladder.web.api.schemas import (
    AmendIn,
    ClockIn,
    ClockOut,
    OpenIn,
    ProtocolVersionOut,
    ReasonIn,
    ShippedProtocolOut,
    SiteOut,
    TrialIn,
    TrialOut,
    TrialSiteIn,
    TrialSiteOut,
)
from doseladder.web.deps import ApiCaller
from doseladder.web.routing import PrefixRouter

__all__ = ["router", "shipped_source"]

router = PrefixRouter(tags=["trials"], responses=ERRORS)


def _source(body: TrialIn | AmendIn) -> tuple[dict[str, Any], str | None, str | None]:
    if body.shipped_protocol is not None:
        data, text, name = shipped_source(body.shipped_protocol)
        return data, text, name
    assert body.protocol is not None
    return body.protocol, body.source_text, body.source_name


@router.get(
    "/protocols",
    response_model=list[ShippedProtocolOut],
    tags=["trials"],
    summary="The protocol files shipped with doseladder",
)
def shipped_protocols(caller: ApiCaller) -> list[ShippedProtocolOut]:
    out = []
    for name in shipped_names():
        data, _, _ = shipped_source(name)
        ident = data.get("identifiers") or {}
        design = data.get("design") or {}
        out.append(
            ShippedProtocolOut(
                name=name,
                title=str(ident.get("title") or name).strip(),
                design=str(design.get("design", "")),
                indications=[str(i.get("id")) for i in data.get("indications") or []],
            )
        )
    return out


@router.get("/trials", response_model=list[TrialOut], summary="Trials visible to the caller")
def list_trials(caller: ApiCaller) -> list[TrialOut]:
    return caller.run(lambda s, a: [TrialOut.model_validate(t) for t in trials.list_trials(s, a)])


@router.post(
    "/trials",
    response_model=TrialOut,
    status_code=201,
    summary="Create a trial (draft) with protocol version 1",
)
def create_trial(body: TrialIn, caller: ApiCaller) -> TrialOut:
    protocol, text, name = _source(body)
    return caller.run(
        lambda s, a: TrialOut.model_validate(
            trials.create_trial(
                s,
                a,
                code=body.code,
                title=body.title,
                protocol=protocol,
                source_name=name,
                source_text=text,
                epoch=body.epoch,
                require_signoff_for_escalation=body.require_signoff_for_escalation,
                dlt_window_days=body.dlt_window_days,
                efficacy_window_days=body.efficacy_window_days,
                sandbox=body.sandbox,
            )
        )
    )


@router.get("/trials/{trial_id}", response_model=TrialOut, summary="One trial")
def get_trial(trial_id: PathId, caller: ApiCaller) -> TrialOut:
    return caller.run(lambda s, a: TrialOut.model_validate(trials.get_trial(s, a, trial_id)))


@router.post("/trials/{trial_id}/open", response_model=TrialOut, summary="Open for enrolment")
def open_trial(trial_id: PathId, body: OpenIn, caller: ApiCaller) -> TrialOut:
    return caller.run(
        lambda s, a: TrialOut.model_validate(trials.open_trial(s, a, trial_id, reason=body.reason))
    )


@router.post("/trials/{trial_id}/suspend", response_model=TrialOut, summary="Suspend accrual")
def suspend(trial_id: PathId, body: ReasonIn, caller: ApiCaller) -> TrialOut:
    return caller.run(
        lambda s, a: TrialOut.model_validate(
            trials.suspend_accrual(s, a, trial_id, reason=body.reason)
        )
    )


@router.post("/trials/{trial_id}/resume", response_model=TrialOut, summary="Resume accrual")
def resume(trial_id: PathId, body: ReasonIn, caller: ApiCaller) -> TrialOut:
    return caller.run(
        lambda s, a: TrialOut.model_validate(
            trials.resume_accrual(s, a, trial_id, reason=body.reason)
        )
    )


@router.post("/trials/{trial_id}/close", response_model=TrialOut, summary="Close the trial")
def close(trial_id: PathId, body: ReasonIn, caller: ApiCaller) -> TrialOut:
    return caller.run(
        lambda s, a: TrialOut.model_validate(trials.close_trial(s, a, trial_id, reason=body.reason))
    )


@router.get("/trials/{trial_id}/sites", response_model=list[SiteOut], summary="Trial sites")
def trial_sites(trial_id: PathId, caller: ApiCaller) -> list[SiteOut]:
    return caller.run(
        lambda s, a: [SiteOut.model_validate(x) for x in trials.list_trial_sites(s, a, trial_id)]
    )


@router.post(
    "/trials/{trial_id}/sites",
    response_model=TrialSiteOut,
    status_code=201,
    summary="Activate a site for the trial",
)
def activate_site(trial_id: PathId, body: TrialSiteIn, caller: ApiCaller) -> TrialSiteOut:
    return caller.run(
        lambda s, a: TrialSiteOut.model_validate(trials.activate_site(s, a, trial_id, body.site_id))
    )


@router.get(
    "/trials/{trial_id}/protocol-versions",
    response_model=list[ProtocolVersionOut],
    summary="Every protocol version, oldest first",
)
def protocol_versions(trial_id: PathId, caller: ApiCaller) -> list[ProtocolVersionOut]:
    return caller.run(
        lambda s, a: [
            ProtocolVersionOut.model_validate(v) for v in trials.protocol_versions(s, a, trial_id)
        ]
    )


@router.post(
    "/trials/{trial_id}/protocol-versions",
    response_model=ProtocolVersionOut,
    status_code=201,
    summary="Amend the protocol (a new version with a reason)",
)
def amend(trial_id: PathId, body: AmendIn, caller: ApiCaller) -> ProtocolVersionOut:
    protocol, text, name = _source(body)

    def run(s: Session, a: Actor) -> ProtocolVersionOut:
        pv = trials.amend_protocol(
            s, a, trial_id, protocol, reason=body.reason, source_name=name, source_text=text
        )
        return ProtocolVersionOut.model_validate(pv)

    return caller.run(run)


@router.post(
    "/trials/{trial_id}/clock",
    response_model=ClockOut,
    summary="Advance a sandbox trial's clock (admin; real trials refuse)",
)
def advance_clock(trial_id: PathId, body: ClockIn, caller: ApiCaller) -> ClockOut:
    def run(s: Session, a: Actor) -> ClockOut:
        clock = sandbox.advance_clock(s, a, trial_id, days=body.days, reason=body.reason)
        return ClockOut(
            trial_id=clock.trial_id,
            sandbox=clock.sandbox,
            now=clock.now,
            offset_days=clock.offset_days,
        )

    return caller.run(run)
