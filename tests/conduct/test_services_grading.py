"""Clinical grading in conduct: adverse events graded by CTCAE (lab values) and ASTCT (CRS,
ICANS forms); the proposed DLT call, its confirmation or override, and how the confirmed call
feeds the dose decision; efficacy components with a proposed response.

Expected grades come from the published tables, not from our code: CTCAE v5.0 (platelet count
decreased: < 25 × 10⁹/L is grade 4; ALT increased with a normal baseline: > 3–5 × ULN is grade
2), ASTCT 2019 (a febrile patient on one vasopressor is CRS grade 3, on two is grade 4; ICE
3–6 is ICANS grade 2) and seed 000's SLE-ITP wording (≥ 100 × 10⁹/L is a complete response).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from doseladder.conduct.errors import Conflict, ValidationError
from doseladder.conduct.models import (
    AuditEvent,
    DLTAdjudication,
    Trial,
)
from doseladder.conduct.services import decisions, grading, outcomes
from doseladder.core.clinical.dlt import TERM_CRS, DLTDefinition, DLTRule
from doseladder.io.design_file import load_mapping
from doseladder.protocols import shipped_path

from .conftest import World, enrolled, latest, record

DEFINITION = DLTDefinition(
    rules=(
        DLTRule("crs_ge3", 3, terms=frozenset({TERM_CRS})),
        DLTRule("any_grade5", 5),
    ),
    window_days=28,
    name="test definition",
)
BOIN12 = {
    "design": "boin12",
    "num_doses": 3,
    "phi_t": 0.35,
    "phi_e": 0.25,
    "cohort_size": 3,
    "max_n": 12,
}


def crs(grade: int) -> dict[str, Any]:
    """An ASTCT CRS form that the published table grades ``grade`` (1-4)."""
    form: dict[str, Any] = {
        "temperature_max": 38.9,
        "temperature_unit": "°C",
        "fever_other_cause": False,
        "hypotension": grade >= 2,
        "oxygen": "none",
    }
    if grade == 3:
        form["vasopressors"] = ["norepinephrine"]
    if grade == 4:
        form["vasopressors"] = ["norepinephrine", "phenylephrine"]
    return form


@pytest.fixture
def defined(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trials in these tests have the DLT definition above."""
    monkeypatch.setattr(grading, "dlt_definition", lambda protocol: DEFINITION)
    # protocols seen without a definition are remembered per process (by content hash)
    monkeypatch.setattr(outcomes, "_NO_DLT_PROTOCOL", {})


def tox_of(world: World, tid: int) -> list[Any]:
    with world.db.session() as s:
        trial = s.get(Trial, tid)
        assert trial is not None
        rec = decisions.compute(s, trial, now=world.clock.t)
        return [p["tox"] for p in rec.inputs["state"]["patients"]]


# ------------------------------------------------------------------------- grades
@pytest.mark.parametrize(
    ("lab", "grade"),
    [
        ({"value": 20, "unit": "10^9/L", "lln": 150}, 4),
        ({"value": 20000, "unit": "/µL"}, 4),
        ({"value": 60, "unit": "10^9/L"}, 2),
        ({"value": 140, "unit": "10^9/L", "lln": 150}, 1),
    ],
)
def test_lab_term_graded_from_value(world: World, lab: dict[str, Any], grade: int) -> None:
    _, pid = enrolled(world)
    a = record(world, pid, term="platelet count decreased", lab=lab)
    assert (a.term, a.grade, a.grade_scale) == ("Platelet count decreased", grade, "CTCAE v5.0")
    assert a.grading is not None and a.grading["method"] == "lab"
    assert a.grading["assessment"]["value"] == grade


def test_alt_with_normal_baseline_uses_multiples_of_uln(world: World) -> None:
    _, pid = enrolled(world)
    a = record(
        world,
        pid,
        term="Alanine aminotransferase increased",
        lab={"value": 130, "unit": "U/L", "uln": 40, "baseline": 30},
    )
    assert a.grade == 2


@pytest.mark.parametrize(("grade", "vaso"), [(2, []), (3, ["norepinephrine"])])
def test_crs_graded_by_the_astct_form(world: World, grade: int, vaso: list[str]) -> None:
    _, pid = enrolled(world)
    a = record(world, pid, term="CRS", crs=crs(grade) | {"vasopressors": vaso})
    assert (a.term, a.grade, a.grade_scale) == (TERM_CRS, grade, "ASTCT 2019")
    assert a.grading is not None and a.grading["method"] == "crs_form"


def test_icans_graded_by_ice_or_capd(world: World) -> None:
    _, pid = enrolled(world)
    a = record(
        world,
        pid,
        term="Immune effector cell-associated neurotoxicity syndrome",
        icans={"age_years": 40, "ice": 5, "consciousness": "alert"},
    )
    assert (a.grade, a.grade_scale) == (2, "ASTCT 2019")
    # a child < 12 years: CAPD ≥ 9 is grade 3
    b = record(
        world,
        pid,
        term="ICANS",
        icans={"age_years": 8, "capd": 12, "consciousness": "awakens_to_voice"},
    )
    assert b.grade == 3


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"term": "Brain freeze", "grade": 2}, "term"),
        ({"term": "Platelet count decreased", "lab": {"value": 20}}, "lab.unit"),
        ({"term": "Platelet count decreased", "lab": {"value": 20, "unit": "mg/dL"}}, "lab.unit"),
        ({"term": "Platelet count decreased", "lab": {"unit": "10^9/L"}}, "lab.value"),
        ({"term": "Platelet count decreased", "grade": 4}, "lab"),
        ({"term": "CRS", "grade": 3}, "crs"),
        ({"term": "CRS", "crs": crs(3), "grade": 2}, "grade"),
        ({"term": "CRS", "crs": crs(2) | {"temperature_unit": "K"}}, "crs.temperature_unit"),
        ({"term": "CRS", "crs": crs(2) | {"oxygen": "tent"}}, "crs.oxygen"),
        ({"term": "ICANS", "icans": {"age_years": 40, "ice": 11}}, "icans.ice"),
        ({"term": "ICANS", "icans": {"age_years": 40, "ice": 8}}, "icans.consciousness"),
        ({"term": "CRS", "lab": {"value": 1, "unit": "10^9/L"}, "crs": crs(2)}, "lab"),
    ],
)
def test_bad_grading_input_names_the_field_and_changes_nothing(
    world: World, defined: None, kw: dict[str, Any], field: str
) -> None:
    _, pid = enrolled(world)
    before = world.snapshot_counts()
    with pytest.raises(ValidationError) as info:
        record(world, pid, **kw)
    assert info.value.field == field, info.value.reason
    assert world.snapshot_counts() == before


def test_onset_before_consent_or_in_the_future_is_refused(world: World) -> None:
    _, pid = enrolled(world)
    before = world.snapshot_counts()
    for onset in (world.clock.today() - timedelta(days=1), world.clock.today() + timedelta(9)):
        with pytest.raises(ValidationError) as info:
            record(world, pid, term="CRS", crs=crs(1), onset_date=onset)
        assert info.value.field == "onset_date"
    assert world.snapshot_counts() == before


# -------------------------------------------------------------------- DLT calls
def test_proposed_dlt_confirmed_feeds_the_decision(world: World, defined: None) -> None:
    tid, pid = enrolled(world)
    world.clock.advance(2)
    a = record(world, pid, term="CRS", crs=crs(3), relatedness="probable")
    assert a.dlt_candidate  # the definition flags it, the investigator did not
    p = latest(world, pid)
    assert (p.status, p.rule, p.adverse_event_id) == ("yes", "crs_ge3", a.id)
    assert p.dlt_day == 2.0
    assert tox_of(world, tid) == [None]  # proposed, not yet confirmed: pending
    rows = world.run(lambda s: outcomes.confirm_dlt(s, world.stat, p.id, reason="agreed"))
    [adj] = rows
    assert (adj.is_dlt, adj.call, adj.proposal_id, adj.adverse_event_id) == (
        True,
        "confirmed",
        p.id,
        a.id,
    )
    assert "crs_ge3" in adj.rationale
    assert tox_of(world, tid) == [True]
    with world.db.session() as s:
        kinds = {
            (e.entity_type, e.action)
            for e in s.scalars(select(AuditEvent).where(AuditEvent.trial_id == tid))
        }
    assert {("dlt_proposals", "create"), ("dlt_adjudications", "create")} <= kinds


def test_override_needs_a_reason_and_a_different_call(world: World, defined: None) -> None:
    tid, pid = enrolled(world)
    record(world, pid, term="CRS", crs=crs(4), relatedness="possible")
    p = latest(world, pid)
    assert p.status == "yes"
    before = world.snapshot_counts()
    with pytest.raises(ValidationError) as info:
        world.run(lambda s: outcomes.override_dlt(s, world.stat, p.id, is_dlt=True, reason="ok!"))
    assert info.value.field == "is_dlt"
    with pytest.raises(ValidationError) as info:
        world.run(lambda s: outcomes.override_dlt(s, world.stat, p.id, is_dlt=False, reason=""))
    assert info.value.field == "reason"
    assert world.snapshot_counts() == before
    adj = world.run(
        lambda s: outcomes.override_dlt(
            s, world.stat, p.id, is_dlt=False, reason="CRS from a documented infection"
        )
    )
    assert (adj.call, adj.is_dlt, adj.rationale) == (
        "overridden",
        False,
        "CRS from a documented infection",
    )
    assert tox_of(world, tid) == [None]  # the window is still open
    world.clock.advance(29)
    p2 = world.run(lambda s: outcomes.propose_dlt(s, world.stat, pid))
    assert p2.status == "no"
    world.run(lambda s: outcomes.confirm_dlt(s, world.stat, p2.id))
    assert tox_of(world, tid) == [False]


def test_unassessed_attribution_keeps_the_call_open(world: World, defined: None) -> None:
    tid, pid = enrolled(world)
    a = record(world, pid, term="CRS", crs=crs(3))
    assert a.dlt_candidate
    p = latest(world, pid)
    assert p.status == "not_yet_known" and p.adverse_event_id == a.id
    with pytest.raises(ValidationError) as info:
        world.run(lambda s: outcomes.confirm_dlt(s, world.stat, p.id))
    assert info.value.field == "proposal_id"
    # a correction with the attribution proposes again
    world.run(
        lambda s: outcomes.correct_adverse_event(
            s, world.inv_a, a.id, changes={"relatedness": "definite"}, reason="assessed"
        )
    )
    assert latest(world, pid).status == "yes"
    assert tox_of(world, tid) == [None]


def test_a_stale_proposal_cannot_be_confirmed(world: World, defined: None) -> None:
    _, pid = enrolled(world)
    record(world, pid, term="CRS", crs=crs(3), relatedness="probable")
    p1 = latest(world, pid)
    record(world, pid, term="Platelet count decreased", lab={"value": 60, "unit": "10^9/L"})
    assert latest(world, pid).id != p1.id
    with pytest.raises(Conflict, match="stale"):
        world.run(lambda s: outcomes.confirm_dlt(s, world.stat, p1.id))


def test_only_the_statistician_adjudicates(world: World, defined: None) -> None:
    _, pid = enrolled(world)
    record(world, pid, term="CRS", crs=crs(3), relatedness="probable")
    p = latest(world, pid)
    from doseladder.conduct.errors import Forbidden

    with pytest.raises(Forbidden):
        world.run(lambda s: outcomes.confirm_dlt(s, world.inv_a, p.id))


def test_without_a_definition_every_adjudication_is_an_override(world: World) -> None:
    tid, pid = enrolled(world)
    a = record(world, pid, term="CRS", crs=crs(3), relatedness="probable", dlt_candidate=True)
    assert latest(world, pid).status == "not_evaluable"
    adj = world.run(
        lambda s: outcomes.adjudicate_dlt(
            s, world.stat, pid, is_dlt=True, adverse_event_id=a.id, rationale="grade 3 CRS"
        )
    )
    assert adj.call == "overridden" and adj.proposal_id is not None
    assert tox_of(world, tid) == [True]
    with world.db.session() as s:
        assert s.scalars(select(DLTAdjudication)).one().is_dlt


# ----------------------------------------------------------------------- efficacy
def test_itp_components_propose_a_response(world: World) -> None:
    _, pid = enrolled(world, BOIN12)
    e = world.run(
        lambda s: outcomes.assess_efficacy(
            s,
            world.inv_a,
            pid,
            assessed_on=world.clock.today(),
            instrument="ITP response",
            components={"platelets": 120, "unit": "10^9/L", "baseline_platelets": 20},
        )
    )
    assert (e.call, e.proposed_responder, e.responder) == ("proposed", True, False)
    assert e.assessment is not None and e.assessment["value"] == "CR"
    e2 = world.run(lambda s: outcomes.confirm_response(s, world.inv_a, e.id))
    assert (e2.version, e2.call, e2.responder) == (2, "confirmed", True)
    with pytest.raises(Conflict):
        world.run(lambda s: outcomes.confirm_response(s, world.inv_a, e2.id))


def test_sri4_response_can_be_overridden(world: World) -> None:
    _, pid = enrolled(world, BOIN12)
    e = world.run(
        lambda s: outcomes.assess_efficacy(
            s,
            world.inv_a,
            pid,
            assessed_on=world.clock.today(),
            instrument="SRI-4",
            components={
                "sledai_baseline": 10,
                "sledai_follow_up": 4,
                "bilag_baseline": {},
                "bilag_follow_up": {},
                "pga_baseline": 2,
                "pga_follow_up": 1,
            },
        )
    )
    assert e.proposed_responder is None or isinstance(e.proposed_responder, bool)
    with pytest.raises(ValidationError) as info:
        world.run(
            lambda s: outcomes.override_response(s, world.inv_a, e.id, responder=True, reason="")
        )
    assert info.value.field == "reason"
    value = not bool(e.proposed_responder)
    e2 = world.run(
        lambda s: outcomes.override_response(
            s, world.inv_a, e.id, responder=value, reason="BILAG reviewed at the visit"
        )
    )
    assert (e2.call, e2.responder, e2.change_reason) == (
        "overridden",
        value,
        "BILAG reviewed at the visit",
    )


@pytest.mark.parametrize(
    ("instrument", "components", "field"),
    [
        ("ITP response", {"platelets": 120}, "components.unit"),
        ("ITP response", {"platelets": 120, "unit": "kg"}, "components.unit"),
        ("ITP response", {"platelets": -1, "unit": "10^9/L"}, "components.platelets"),
        ("SLEDAI-2K", {"findings": {"nonsense": True}}, "components.findings.findings.nonsense"),
        ("PGA", {"pga": 4}, "components.pga"),
        ("Mood", {}, "instrument"),
    ],
)
def test_bad_efficacy_components(
    world: World, instrument: str, components: dict[str, Any], field: str
) -> None:
    _, pid = enrolled(world, BOIN12)
    before = world.snapshot_counts()
    with pytest.raises(ValidationError) as info:
        world.run(
            lambda s: outcomes.assess_efficacy(
                s,
                world.inv_a,
                pid,
                assessed_on=world.clock.today(),
                instrument=instrument,
                components=components,
            )
        )
    assert info.value.field.startswith(field.split(".")[0]), info.value.field
    assert world.snapshot_counts() == before


def test_the_shipped_protocols_definitions_drive_the_calls(world: World) -> None:
    """STR-P004: its ``dlt:`` rule crs_ge3 and its SLE-ITP ``response:`` (ITP CR/PR)."""
    tid = world.trial(load_mapping(shipped_path("str-p004-nct07143617")), code="STR")
    d = world.decide(tid, indication="SLE-ITP")
    pid = world.patient(tid, indication="SLE-ITP")
    world.enrol(pid, d.next_dose or 1)
    world.clock.advance(3)
    a = record(world, pid, term="CRS", crs=crs(3), relatedness="possible")
    p = latest(world, pid)
    assert (p.status, p.rule, p.adverse_event_id, p.dlt_day) == ("yes", "crs_ge3", a.id, 3.0)
    assert p.assessment is not None and "crs_ge3" in p.assessment["rule_text"]

    def assess(**kw: Any) -> Any:
        return world.run(
            lambda s: outcomes.assess_efficacy(
                s, world.inv_a, pid, assessed_on=world.clock.today(), **kw
            )
        )

    e = assess(components={"platelets": 120, "unit": "10^9/L", "baseline_platelets": 20})
    assert (e.instrument, e.proposed_responder, e.assessment["value"]) == (
        "ITP response",
        True,
        "CR",
    )
    # seed 000: 30-100 × 10⁹/L, ≥ 2 × baseline and no bleeding is a PR; bleeding makes it NR
    nr = assess(
        components={"platelets": 60, "unit": "10^9/L", "baseline_platelets": 20, "bleeding": True}
    )
    assert nr.proposed_responder is False
    before = world.snapshot_counts()
    with pytest.raises(ValidationError) as info:
        assess(instrument="SRI-4", components={"sledai_baseline": 8})
    assert info.value.field == "instrument"
    with pytest.raises(ValidationError) as info:
        assess(components={"platelets": 60, "unit": "10^9/L", "no_bleeding_required_for_cr": True})
    assert info.value.field == "components.no_bleeding_required_for_cr"
    assert world.snapshot_counts() == before
