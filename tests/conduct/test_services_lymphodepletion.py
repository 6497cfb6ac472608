"""Lymphodepletion administrations: recorded, corrected and voided as versions (audited),
checked against the protocol's regimen (agent, window around the infusion, dose band) and the
patient's consent and the trial clock; roles and site isolation as for other clinical records."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from doseladder.conduct.errors import Conflict, Forbidden, NotFound, ValidationError
from doseladder.conduct.models import AuditEvent, LymphodepletionDose
from doseladder.conduct.services import exports, patients
from doseladder.conduct.services import lymphodepletion as ld
from doseladder.core.dosing import DoseUnit, LymphodepletionAgent
from doseladder.io.design_file import load_mapping
from doseladder.protocols import shipped_path

from .conftest import World

FLU = "fludarabine"  # F01 registry record: 25-30 mg/m² (Cy 250-300 mg/m²) on days -5..-3


def f01(world: World) -> int:
    tid: int = world.trial(load_mapping(shipped_path("f01-car-nk-snc103")))
    return tid


def enrolled(world: World, tid: int, *, inv: object = None) -> tuple[int, date]:
    """A patient screened and enrolled today (infusion not yet recorded); the clock moves on a
    week.  Returns the patient and the enrolment day."""
    d = world.decide(tid)
    pid = world.patient(tid, inv, indication="SLE")  # type: ignore[arg-type]
    world.enrol(pid, d.next_dose or 1, inv=inv, infused=False)  # type: ignore[arg-type]
    day0 = world.clock.today()
    world.clock.advance(days=7)
    return pid, day0


def infuse(world: World, pid: int, when: date) -> None:
    def go(s: object) -> None:
        e = patients.current_enrolment(s, world.inv_a, pid)  # type: ignore[arg-type]
        assert e is not None
        patients.record_infusion(s, world.inv_a, e.id, infusion_date=when)  # type: ignore[arg-type]

    world.run(go)


def record(world: World, pid: int, **kw: object) -> LymphodepletionDose:
    values: dict[str, object] = {"agent": FLU, "dose": "25", **kw}
    who = values.pop("who", world.inv_a)
    row: LymphodepletionDose = world.run(
        lambda s: ld.record_lymphodepletion(s, who, pid, **values)  # type: ignore[arg-type]
    )
    return row


def test_record_correct_void_and_list_as_audited_versions(world: World) -> None:
    tid = f01(world)
    pid, day0 = enrolled(world, tid)
    first = record(world, pid, agent="Fludarabine", given_on=day0 + timedelta(days=1), note="iv")
    assert (first.agent, first.dose, first.unit, first.version) == (FLU, Decimal("25"), "mg/m2", 1)
    cy = record(world, pid, agent="cyclophosphamide", dose=300, given_on=day0 + timedelta(days=1))
    fixed = world.run(
        lambda s: ld.correct_lymphodepletion(
            s, world.dm, first.id, changes={"dose": "27.5"}, reason="transcription error"
        )
    )
    assert (fixed.version, fixed.root_id, fixed.dose, fixed.note) == (
        2,
        first.id,
        Decimal("27.5"),
        "iv",
    )
    gone = world.run(
        lambda s: ld.void_lymphodepletion(s, world.inv_a, cy.id, reason="entered twice")
    )
    assert gone.voided and gone.change_reason == "entered twice"
    now = world.run(lambda s: ld.list_lymphodepletion(s, world.monitor, pid))
    assert [(r.id, r.dose) for r in now] == [(fixed.id, Decimal("27.5"))]
    every = world.run(lambda s: ld.list_lymphodepletion(s, world.monitor, pid, history=True))
    assert len(every) == 4
    with world.db.session() as s:
        audited = s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.entity_type == "lymphodepletion_doses")
        )
    assert audited == 4
    # the exact decimal dose is in the hash chain, and the chain verifies
    assert world.run(lambda s: exports.verify_audit(s, world.monitor)).ok
    with pytest.raises(Conflict):  # the first version was already corrected
        world.run(
            lambda s: ld.correct_lymphodepletion(
                s, world.dm, first.id, changes={"dose": 26}, reason="again"
            )
        )


def refused(world: World, fn: object) -> ValidationError:
    before = world.snapshot_counts()
    with pytest.raises(ValidationError) as info:
        world.run(fn)  # type: ignore[arg-type]
    assert world.snapshot_counts() == before
    return info.value


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"agent": "busulfan"}, "agent", "fludarabine, cyclophosphamide"),
        ({"agent": None}, "agent", "regimen's agents"),
        ({"dose": 0}, "dose", "> 0"),
        ({"dose": "-3"}, "dose", "> 0"),
        ({"dose": "NaN"}, "dose", "finite"),
        ({"dose": True}, "dose", "number"),
        ({"dose": "abc"}, "dose", "number"),
        ({"dose": "25.00001"}, "dose", "4 decimals"),
        ({"dose": "45.0001"}, "dose", "implausible"),  # 1.5 × 30 mg/m² is the limit
        ({"dose": "6.2499"}, "dose", "implausible"),  # 0.25 × 25 mg/m² is the limit
        ({"dose": 117}, "dose", "daily dose"),  # a total in mg, not the daily mg/m²
        ({"unit": "mg"}, "unit", "mg/m2"),
        ({"note": 5}, "note", "text"),
    ],
)
def test_each_refusal_names_the_field_and_changes_nothing(
    world: World, changes: dict[str, object], field: str, words: str
) -> None:
    tid = f01(world)
    pid, day0 = enrolled(world, tid)
    values = {"agent": FLU, "dose": 25, "given_on": day0 + timedelta(days=1), **changes}
    err = refused(world, lambda s: ld.record_lymphodepletion(s, world.inv_a, pid, **values))
    assert err.field == field and words in err.reason


def test_the_dose_band_edges_are_accepted(world: World) -> None:
    tid = f01(world)
    pid, day0 = enrolled(world, tid)
    when = day0 + timedelta(days=1)
    assert record(world, pid, dose="45", given_on=when).dose == Decimal("45")
    assert record(world, pid, dose="6.25", given_on=when).dose == Decimal("6.25")


def test_dates_are_checked_against_consent_clock_enrolment_and_infusion(world: World) -> None:
    tid = f01(world)
    pid, day0 = enrolled(world, tid)
    today = world.clock.today()

    def at(when: object) -> ValidationError:
        return refused(
            world,
            lambda s: ld.record_lymphodepletion(
                s,
                world.inv_a,
                pid,
                agent=FLU,
                dose=25,
                given_on=when,  # type: ignore[arg-type]
            ),
        )

    assert "consent" in at(day0 - timedelta(days=1)).reason
    assert "future" in at(today + timedelta(days=2)).reason
    assert at("2026-13-01").field == "given_on"
    # infusion on day0 + 6: fludarabine's days -5..-3 -> window day0 - 6 .. day0 + 5 (± 7 days,
    # and before the infusion day); consent (day0) still binds
    infusion = day0 + timedelta(days=6)
    infuse(world, pid, infusion)
    err = at(infusion)
    assert err.field == "given_on" and "window" in err.reason
    record(world, pid, given_on=infusion - timedelta(days=1))
    record(world, pid, given_on=day0)
    assert "window" in at(infusion + timedelta(days=1)).reason


def test_before_the_infusion_is_known_the_date_follows_the_enrolment(world: World) -> None:
    tid = f01(world)
    d = world.decide(tid)
    pid = world.patient(tid, indication="SLE")
    world.clock.advance(days=3)
    world.enrol(pid, d.next_dose or 1, infused=False)
    err = refused(
        world,
        lambda s: ld.record_lymphodepletion(
            s,
            world.inv_a,
            pid,
            agent=FLU,
            dose=25,
            given_on=world.clock.today() - timedelta(days=1),
        ),
    )
    assert err.field == "given_on" and "enrolment" in err.reason


def test_a_patient_not_enrolled_and_a_protocol_without_regimen_are_refused(world: World) -> None:
    tid = f01(world)
    pid = world.patient(tid, indication="SLE")
    with pytest.raises(Conflict, match="not enrolled"):
        record(world, pid, given_on=world.clock.today())
    plain = world.trial()  # a design file: no lymphodepletion regimen
    world.decide(plain)
    other = world.patient(plain)
    world.enrol(other, 1)
    err = refused(
        world,
        lambda s: ld.record_lymphodepletion(
            s, world.inv_a, other, agent=FLU, dose=25, given_on=world.clock.today()
        ),
    )
    assert err.field == "agent" and "no lymphodepletion regimen" in err.reason


def test_roles_and_site_isolation(world: World) -> None:
    tid = f01(world)
    pid, day0 = enrolled(world, tid)
    when = day0 + timedelta(days=1)
    for who in (world.monitor, world.com1, world.inv_b):
        with pytest.raises(Forbidden):
            record(world, pid, given_on=when, who=who)
    with pytest.raises(Forbidden):
        world.run(lambda s: ld.list_lymphodepletion(s, world.inv_b, pid))
    row = record(world, pid, given_on=when, who=world.dm_a)
    for who in (world.monitor, world.inv_b):
        with pytest.raises(Forbidden):
            world.run(lambda s, w=who: ld.void_lymphodepletion(s, w, row.id, reason="not mine"))
    with pytest.raises(NotFound):
        world.run(lambda s: ld.void_lymphodepletion(s, world.inv_a, 10**6, reason="missing"))
    err = refused(
        world,
        lambda s: ld.correct_lymphodepletion(
            s, world.inv_a, row.id, changes={"unit": "mg", "patient_id": 3}, reason="try"
        ),
    )
    assert err.field == "changes.patient_id"


@given(
    low=st.decimals(min_value="0.5", max_value="500", places=2),
    spread=st.decimals(min_value="0", max_value="200", places=2),
    dose=st.decimals(min_value="0.0001", max_value="2000", places=4),
)
def test_the_dose_band_property(low: Decimal, spread: Decimal, dose: Decimal) -> None:
    high = low + spread
    agent = LymphodepletionAgent("agent", float(low), float(high), DoseUnit.MG_PER_M2, (-3,))
    inside = low / 4 <= dose <= high * 3 / 2
    if inside:
        assert ld.plausible_dose(str(dose), agent) == dose
    else:
        with pytest.raises(ValidationError) as info:
            ld.plausible_dose(str(dose), agent)
        assert info.value.field == "dose"
