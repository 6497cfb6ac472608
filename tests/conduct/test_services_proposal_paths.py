"""The adverse-event write's DLT proposal equals the straightforward computation.

The write reads what the proposal rests on in one statement and computes the proposal from
light rows (``outcomes._dlt_basis``, ``outcomes._proposal_events``); for a trial whose protocol
has no DLT definition it reads no history at all (``outcomes._NO_DLT_PROTOCOL``).  Here the
stored proposal (status, rule, event, day, message, assessment with the per-event calls) and
the event's own call stored with it (``grading["dlt_call"]``) are compared with a reference
computed the plain way from the ORM rows: every version read, :func:`._common.current` per
kind, one core call per event and one over all the events (the service's computation before
the write path was made lean), over random histories (hypothesis), through amendments that
add or drop the DLT definition, and with a remembered protocol that is not the current one.
"""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from doseladder.conduct.errors import Conflict, ValidationError
from doseladder.conduct.models import AdverseEvent, DLTAdjudication, Patient, Trial
from doseladder.conduct.services import _common as c
from doseladder.conduct.services import grading, outcomes, trials
from doseladder.core.clinical import dlt as core_dlt
from doseladder.core.clinical.dlt import DLTDefinition, DLTStatus
from doseladder.core.errors import InputError
from doseladder.protocols import load_shipped

from ..core.clinical.test_dlt_memo import uncached_proposal
from .conftest import Clock, World, crs_form, latest, record
from .test_services_write_facts import counted, str_p004, str_patient


# ------------------------------------------------------------------ the reference
def fresh_graded(epoch: date, e: grading.Event) -> core_dlt.GradedEvent:
    """The core's event of ``e``, built anew (what ``grading._graded`` keeps)."""
    return core_dlt.GradedEvent(
        term=e.term,
        grade=e.grade,
        onset_day=(e.onset - epoch).days,
        resolution_day=None if e.resolved is None else (e.resolved - epoch).days,
        attribution=grading.attribution_of(e.relatedness),
        event_id=str(e.id),
    )


def reference_core(
    definition: DLTDefinition | None,
    *,
    epoch: date,
    infusion: date | None,
    now: datetime,
    events: list[grading.Event],
) -> grading.Proposal:
    """``grading.propose_dlt`` as it was: one core call per event (its own call), one over
    all of them, each computed anew (the core keeps nothing: ``uncached_proposal``; the core
    events built anew too)."""
    if definition is None:
        return grading.Proposal(
            "not_evaluable",
            None,
            None,
            None,
            "The protocol states no DLT definition: adjudicate by hand (an override with a "
            "reason).",
            None,
            {},
        )
    if infusion is None:
        return grading.Proposal(
            "not_evaluable", None, None, None, "No infusion date yet.", None, {}
        )
    start = datetime(epoch.year, epoch.month, epoch.day, tzinfo=UTC)
    today = max(
        [(now - start).total_seconds() / 86400.0]
        + [float((e.onset - epoch).days) for e in events]
        + [float((e.resolved - epoch).days) for e in events if e.resolved is not None]
        + [float((infusion - epoch).days)]
    )
    graded = [fresh_graded(epoch, e) for e in events]
    inf_day = (infusion - epoch).days
    calls: dict[int, str] = {}
    for e, g in zip(events, graded, strict=True):
        one, _ = uncached_proposal(definition, [g], infusion_day=inf_day, today=today)
        if one.status == DLTStatus.YES:
            calls[e.id] = "met"
        elif one.event is not None:
            calls[e.id] = "pending"
        else:
            calls[e.id] = "not_met"
    p, _ = uncached_proposal(definition, graded, infusion_day=inf_day, today=today)
    message = " ".join(p.reasons) + (f" Rule: {p.rule_text}" if p.rule_text else "")
    event = p.event.get("event_id") if p.event is not None else None
    return grading.Proposal(
        DLTStatus(p.status).value,
        p.rule_id,
        None if event is None else int(str(event)),
        p.dlt_day,
        message,
        p.assessment.to_dict() | {"rule_text": p.rule_text},
        calls,
    )


def stored_form(p: grading.Proposal) -> dict[str, Any]:
    assessment = None
    if p.assessment is not None:
        assessment = p.assessment | {"event_calls": {str(k): v for k, v in p.event_status.items()}}
    return {
        "status": p.status,
        "rule": p.rule,
        "adverse_event_id": p.event_id,
        "dlt_day": p.dlt_day,
        "message": p.message[:4000],
        # as stored: JSON (enum members are their values)
        "assessment": json.loads(json.dumps(c.json_mapping("assessment", assessment)))
        if assessment
        else None,
    }


def reference_proposal(world: World, pid: int) -> dict[str, Any]:
    """The patient's proposal now, the plain way (ORM rows, every version)."""
    with world.db.session() as s:
        patient = s.get_one(Patient, pid)
        trial = s.get_one(Trial, patient.trial_id)
        enrolment = outcomes._enrolment(s, pid)
        if enrolment is None:
            p = grading.Proposal("not_evaluable", None, None, None, "Not enrolled.", None, {})
            return stored_form(p)
        aes = c.current(s.scalars(select(AdverseEvent).where(AdverseEvent.patient_id == pid)))
        adjudications = c.current(
            s.scalars(select(DLTAdjudication).where(DLTAdjudication.patient_id == pid))
        )
        adjudicated = {a.adverse_event_id for a in adjudications}
        events = [
            grading.Event(
                ae.lineage_id, ae.term, ae.grade, ae.onset_date, ae.resolved_date, ae.relatedness
            )
            for ae in sorted(aes, key=lambda a: a.lineage_id)
            if ae.lineage_id not in adjudicated
        ]
        try:
            p = reference_core(
                grading.dlt_definition(trials.current_engine(s, trial.id).protocol),
                epoch=trial.epoch,
                infusion=enrolment.infusion_date,
                now=c.trial_now(s, trial),
                events=events,
            )
        except InputError as exc:
            p = grading.Proposal(
                "not_evaluable", None, None, None, f"{exc.field}: {exc.reason}", None, {}
            )
        return stored_form(p)


def reference_own_call(world: World, ae: AdverseEvent) -> str | None:
    """The event's own call as the write made it before inserting it (alone, id 0)."""
    with world.db.session() as s:
        trial = s.get_one(Trial, ae.trial_id)
        enrolment = outcomes._enrolment(s, ae.patient_id)
        if enrolment is None or enrolment.infusion_date is None:
            return None
        ev = grading.Event(0, ae.term, ae.grade, ae.onset_date, ae.resolved_date, ae.relatedness)
        p = reference_core(
            grading.dlt_definition(trials.current_engine(s, trial.id).protocol),
            epoch=trial.epoch,
            infusion=enrolment.infusion_date,
            now=c.trial_now(s, trial),
            events=[ev],
        )
        return p.event_status.get(0)


KEYS = ("status", "rule", "adverse_event_id", "dlt_day", "message", "assessment")


def assert_stored_is_reference(world: World, pid: int, ae: AdverseEvent | None = None) -> None:
    p = latest(world, pid)
    assert {k: getattr(p, k) for k in KEYS} == reference_proposal(world, pid)
    if ae is not None and ae.grading is not None:
        assert ae.grading["dlt_call"] == reference_own_call(world, ae)


# ------------------------------------------------------- _proposal_events, pure
@dataclass(frozen=True)
class Row:
    kind: int
    id: int
    supersedes_id: int | None
    voided: bool
    lineage_id: int | None
    term: str | None
    grade: int | None
    onset_date: date | None
    resolved_date: date | None
    relatedness: str | None


def reference_events(rows: list[Row]) -> list[grading.Event]:
    aes = c.current([r for r in rows if r.kind == 0])
    adjudications = c.current([r for r in rows if r.kind == 1])
    adjudicated = {a.lineage_id for a in adjudications if a.lineage_id is not None}
    return [
        grading.Event(
            ae.lineage_id, ae.term, ae.grade, ae.onset_date, ae.resolved_date, ae.relatedness
        )
        for ae in sorted(aes, key=lambda a: a.lineage_id)
        if ae.lineage_id not in adjudicated
    ]


@st.composite
def histories(draw: st.DrawFn) -> list[Row]:
    """Versioned AE lineages and adjudication lineages (ids per table overlap on purpose),
    in any order."""
    rows: list[Row] = []
    day = date(2025, 3, 3)
    ae_ids = itertools.count(draw(st.integers(1, 5)))
    lineages: list[int] = []
    for _ in range(draw(st.integers(0, 8))):
        prev: int | None = None
        root: int | None = None
        for _ in range(draw(st.integers(1, 3))):
            ident = next(ae_ids)
            root = root or ident
            onset = day + timedelta(days=draw(st.integers(0, 20)))
            rows.append(
                Row(
                    0,
                    ident,
                    prev,
                    draw(st.booleans()),
                    root,
                    draw(st.sampled_from(["Headache", "Nausea", "Cytokine release syndrome"])),
                    draw(st.integers(1, 5)),
                    onset,
                    draw(st.none() | st.just(onset + timedelta(days=2))),
                    draw(st.none() | st.sampled_from(outcomes.RELATEDNESS)),
                )
            )
            prev = ident
        lineages.append(root or 0)
    adj_ids = itertools.count(draw(st.integers(1, 5)))
    for _ in range(draw(st.integers(0, 4))):
        prev = None
        target = draw(st.sampled_from([*lineages, 99]) | st.integers(1, 20) | st.none())
        for _ in range(draw(st.integers(1, 2))):
            ident = next(adj_ids)
            rows.append(Row(1, ident, prev, draw(st.booleans()), target, *([None] * 5)))
            prev = ident
    return draw(st.permutations(rows))


@given(histories())
def test_proposal_events_equal_current_per_kind(rows: list[Row]) -> None:
    got = outcomes._proposal_events(rows)
    assert got == reference_events(rows)
    assert all(type(e) is grading.Event for e in got)


# ------------------------------------------------- grading.propose_dlt, pure
#: a shipped protocol's definition: durations, persistence beyond a day, an exclusion
DEFINITION = grading.dlt_definition(load_shipped("tcr-t-cd19-bcma-sle-wuhan-union"))


@st.composite
def grading_events(draw: st.DrawFn) -> grading.Event:
    onset = date(2025, 1, 10) + timedelta(days=draw(st.integers(0, 40)))
    return grading.Event(
        draw(st.integers(1, 6)),
        draw(st.sampled_from(["Headache", "Nausea", "Cytokine release syndrome", "Fatigue"])),
        draw(st.integers(1, 5)),
        onset,
        draw(st.none() | st.builds(lambda n: onset + timedelta(days=n), st.integers(0, 9))),
        draw(st.none() | st.sampled_from(outcomes.RELATEDNESS)),
    )


@settings(max_examples=200, deadline=None)
@given(data=st.data(), pool=st.lists(grading_events(), min_size=1, max_size=8))
def test_grading_propose_dlt_equals_the_reference_with_warm_caches(
    data: st.DataObject, pool: list[grading.Event]
) -> None:
    """``grading.propose_dlt`` (the core events it built before kept, ``grading._GRADED``;
    the core's kept evaluations) over calls in random order -- other epochs, infusion days,
    nows, event lists -- equals the reference that builds and computes everything anew."""
    assert DEFINITION is not None
    days = st.lists(st.integers(0, 9), min_size=1, max_size=2, unique=True)
    epochs = [date(2025, 1, 1) + timedelta(days=n) for n in data.draw(days)]
    infusions = [date(2025, 1, 10) + timedelta(days=n) for n in data.draw(days)]
    for _ in range(data.draw(st.integers(1, 8))):
        epoch = data.draw(st.sampled_from(epochs))
        events = data.draw(st.lists(st.sampled_from(pool), max_size=6))
        events = list({e.id: e for e in events}.values())  # one version per event id
        infusion = data.draw(st.sampled_from(infusions))
        now = datetime(2025, 1, 10, tzinfo=UTC) + timedelta(
            hours=data.draw(st.integers(0, 24 * 60))
        )
        kw: dict[str, Any] = {"epoch": epoch, "infusion": infusion, "now": now, "events": events}
        assert grading.propose_dlt(DEFINITION, **kw) == reference_core(DEFINITION, **kw)
        for e in events:
            graded = grading._graded(epoch, e)
            fresh = fresh_graded(epoch, e)
            assert graded == fresh and graded.to_dict() == fresh.to_dict()
            assert (graded._onset, graded._resolution, graded._key, graded.label()) == (
                fresh._onset,
                fresh._resolution,
                fresh._key,
                fresh.label(),
            )


# ------------------------------------------------------------ through the service
@pytest.fixture(autouse=True)
def _still_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test clock stands still between ``advance`` calls (it ticks 1 ms per reading
    otherwise), so that the reference sees the write's "now"."""
    monkeypatch.setattr(Clock, "__call__", lambda self: self.t)


_codes = itertools.count()


def defined_trial(world: World) -> tuple[int, int]:
    tid = world.trial(str_p004(), code=f"P{next(_codes)}")
    return tid, str_patient(world, tid)


def without_dlt() -> dict[str, Any]:
    data = copy.deepcopy(str_p004())
    del data["dlt"]
    return data


def test_amendment_adding_a_definition_reads_the_history(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writes on a trial without a definition read no history; after an amendment that adds
    one, the next write reads it (a statement of its own, once) and its proposal counts the
    events recorded before the amendment."""
    monkeypatch.setattr(trials, "_ENGINES_BY_HASH", {})  # no protocol parsed yet
    tid = world.trial(without_dlt(), code="NODLT")
    pid = str_patient(world, tid)
    world.clock.advance(2)
    crs = record(world, pid, term="CRS", crs=crs_form(3), relatedness="possible")
    assert crs.grading is not None and crs.grading["dlt_call"] is None
    assert_stored_is_reference(world, pid, crs)
    assert latest(world, pid).status == "not_evaluable"
    assert outcomes._NO_DLT_PROTOCOL.get(tid) is not None

    def write(term: str = "Headache") -> tuple[AdverseEvent, list[str]]:
        def go(s: Any) -> tuple[AdverseEvent, list[str]]:
            with counted(world.db) as seen:
                row = outcomes.record_adverse_event(
                    s, world.inv_a, pid, term=term, grade=1, onset_date=world.clock.today()
                )
            return row, [x for x in seen if not x.startswith("BEGIN")]

        out: tuple[AdverseEvent, list[str]] = world.run(go)
        return out

    ae, seen = write()
    assert len(seen) == 4 and "UNION" not in seen[1].upper(), seen
    assert_stored_is_reference(world, pid, ae)
    world.run(lambda s: trials.amend_protocol(s, world.stat, tid, str_p004(), reason="DLT"))
    ae, seen = write("Nausea")
    # the facts alone, the amended protocol's content (parsed once), then the history
    assert len(seen) == 6 and "UNION" in seen[3].upper(), seen
    assert_stored_is_reference(world, pid, ae)
    p = latest(world, pid)
    assert (p.status, p.rule, p.adverse_event_id) == ("yes", "crs_ge3", crs.id)
    assert outcomes._NO_DLT_PROTOCOL.get(tid) is None
    ae, seen = write()
    assert len(seen) == 4 and "UNION" in seen[1].upper(), seen
    assert_stored_is_reference(world, pid, ae)
    world.run(lambda s: trials.amend_protocol(s, world.stat, tid, without_dlt(), reason="none"))
    ae = record(world, pid, term="Fatigue", grade=2)
    assert_stored_is_reference(world, pid, ae)
    assert latest(world, pid).message.startswith("The protocol states no DLT definition")


def test_a_remembered_protocol_that_is_not_the_current_one_is_not_trusted(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The remembered protocol is checked against the content hash the write reads (another
    database with the same trial id, another process's amendment)."""
    tid, pid = defined_trial(world)
    world.clock.advance(1)
    crs = record(world, pid, term="CRS", crs=crs_form(3), relatedness="probable")
    monkeypatch.setitem(outcomes._NO_DLT_PROTOCOL, tid, "0" * 64)
    ae = record(world, pid, term="Headache", grade=1)
    assert_stored_is_reference(world, pid, ae)
    p = latest(world, pid)
    assert (p.status, p.rule, p.adverse_event_id) == ("yes", "crs_ge3", crs.id)
    assert tid not in outcomes._NO_DLT_PROTOCOL


@dataclass(frozen=True)
class Op:
    what: str  # record, correct, void, advance, confirm, resolve
    term: str = "Headache"
    grade: int = 1
    relatedness: str | None = None
    back: int = 0  # onset this many days before today (bounded by the patient's consent)
    pick: int = 0  # which recorded event


TERMS = ("Headache", "Nausea", "Fatigue", "CRS")
ops = st.one_of(
    st.builds(
        Op,
        st.just("record"),
        st.sampled_from(TERMS),
        st.integers(1, 3),
        st.none() | st.sampled_from(outcomes.RELATEDNESS),
        st.integers(0, 6),
    ),
    st.builds(
        Op,
        st.sampled_from(["correct", "void", "resolve"]),
        grade=st.integers(1, 3),
        relatedness=st.none() | st.sampled_from(outcomes.RELATEDNESS),
        pick=st.integers(0, 20),
    ),
    st.builds(Op, st.just("advance"), grade=st.integers(1, 40)),
    st.builds(Op, st.just("confirm")),
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(script=st.lists(ops, min_size=1, max_size=10))
def test_stored_proposals_equal_the_reference_over_random_histories(
    world: World, script: list[Op]
) -> None:
    _, pid = defined_trial(world)
    start = world.clock.today()
    recorded: list[int] = []
    for op in script:
        ae: AdverseEvent | None = None
        try:
            if op.what == "record":
                onset = world.clock.today() - timedelta(days=op.back)
                kw: dict[str, Any] = {"relatedness": op.relatedness}
                kw |= (
                    {"term": "CRS", "crs": crs_form(op.grade + 1)}
                    if op.term == "CRS"
                    else {"term": op.term, "grade": op.grade}
                )
                ae = record(world, pid, onset_date=max(onset, start), **kw)
                recorded.append(ae.id)
            elif op.what == "advance":
                world.clock.advance(op.grade)
                continue
            elif op.what == "confirm":
                proposal = latest(world, pid) if recorded else None
                if proposal is None:
                    continue
                world.run(
                    lambda s, i=proposal.id: outcomes.confirm_dlt(s, world.stat, i, reason="ok")
                )
            elif recorded:
                target = recorded[op.pick % len(recorded)]
                with world.db.session() as s:
                    lineage = s.get_one(AdverseEvent, target).lineage_id
                    now = outcomes._current_ae(s, lineage)
                if now is None:
                    continue
                if op.what == "void":
                    world.run(
                        lambda s, i=now.id: outcomes.void_adverse_event(
                            s, world.inv_a, i, reason="entered in error"
                        )
                    )
                else:
                    changes: dict[str, Any] = (
                        {"resolved_date": world.clock.today()}
                        if op.what == "resolve"
                        else {"relatedness": op.relatedness}
                        | ({} if now.term.startswith("Cytokine") else {"grade": op.grade})
                    )
                    ae = world.run(
                        lambda s, i=now.id, ch=changes: outcomes.correct_adverse_event(
                            s, world.inv_a, i, changes=ch, reason="corrected"
                        )
                    )
                    if ae is not None:
                        recorded.append(ae.id)
            else:
                continue
        except (Conflict, ValidationError):
            continue  # refused: nothing stored
        assert_stored_is_reference(world, pid, ae)


def test_a_long_history_never_refuses_an_adverse_event(world: World) -> None:
    """The stored proposal's assessment grows with the patient's unadjudicated events (each
    event's own call and reasons); it is computed by the service, not entered, so no size
    limit for entered JSON may refuse the next adverse event (at ~85 events the assessment
    passed the 20,000 characters of ``json_mapping`` and every further write answered 422)."""
    _, pid = defined_trial(world)
    for _ in range(120):
        record(world, pid, term="Headache", grade=1)
    p = latest(world, pid)
    assert p.assessment is not None
    assert len(p.assessment["event_calls"]) == 120
    assert len(json.dumps(p.assessment)) > 20_000
