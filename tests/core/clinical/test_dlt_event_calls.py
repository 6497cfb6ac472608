"""``propose_dlt_with_calls``: the proposal and every event's own call from one adjudication.

The conduct service stores, with each DLT proposal, every event's own call: the call
:func:`propose_dlt` makes on that event alone at the same cut-off (``met`` when it says "yes",
``pending`` when the event keeps it open, ``not_met`` otherwise).  It used to run one
adjudication per event for that; :func:`propose_dlt_with_calls` reads them off the one
adjudication of all the events.  Here both are compared over random definitions, events and
cut-offs (the definitions are test fixtures in the spec's template shape, not a standard).
"""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from doseladder.core.clinical.dlt import (
    TERM_CRS,
    TERM_ICANS,
    Attribution,
    DLTDefinition,
    DLTExclusion,
    DLTRule,
    DLTStatus,
    EventCall,
    GradedEvent,
    propose_dlt,
    propose_dlt_with_calls,
)

TERMS = [
    TERM_CRS,
    TERM_ICANS,
    "Neutrophil count decreased",
    "Alanine aminotransferase increased",
    "Fatigue",
]
_terms = st.sampled_from(TERMS)
_levels = st.frozensets(st.sampled_from(list(Attribution)), min_size=1)
_days = (
    st.none() | st.integers(1, 20) | st.fractions(Fraction(1, 4), Fraction(20), max_denominator=4)
)


@st.composite
def exclusions(draw: st.DrawFn, name: str) -> DLTExclusion:
    return DLTExclusion(
        name,
        terms=draw(st.frozensets(_terms, max_size=2)),
        max_grade=draw(st.none() | st.integers(1, 5)),
        onset_before_day=draw(st.none() | st.integers(1, 10)),
        duration_less_than_days=draw(_days),
    )


@st.composite
def definitions(draw: st.DrawFn) -> DLTDefinition:
    rules = []
    for i in range(draw(st.integers(1, 4))):
        terms = draw(st.frozensets(_terms, max_size=2))
        rules.append(
            DLTRule(
                f"r{i}",
                min_grade=draw(st.integers(1, 5)),
                terms=terms,
                exclude_terms=draw(st.frozensets(st.sampled_from(TERMS), max_size=2)) - terms,
                duration_days=draw(_days),
                duration_comparator=draw(st.sampled_from([">", ">="])),
                attribution=draw(st.none() | _levels),
                window_days=draw(st.none() | st.integers(5, 40)),
                persists_beyond_day=draw(st.none() | st.integers(5, 40)),
                exclusions=tuple(
                    draw(exclusions(f"x{i}{j}")) for j in range(draw(st.integers(0, 2)))
                ),
            )
        )
    return DLTDefinition(
        tuple(rules),
        window_days=draw(st.integers(7, 35)),
        attribution=draw(_levels),
        exclusions=tuple(draw(exclusions(f"d{j}")) for j in range(draw(st.integers(0, 2)))),
        name=draw(st.sampled_from(["", "p v1"])),
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[DLTDefinition, list[GradedEvent], int, Fraction]:
    infusion = draw(st.integers(-5, 5))
    events = []
    for i in range(draw(st.integers(0, 6))):
        onset = draw(st.integers(-10, 45))
        resolved = draw(st.none() | st.integers(onset, 60))
        events.append(
            GradedEvent(
                draw(_terms),
                draw(st.integers(1, 5)),
                onset,
                resolved,
                draw(st.none() | st.sampled_from(list(Attribution))),
                event_id=draw(st.sampled_from([None, str(i), "7"])),
            )
        )
    last = max([infusion, *(e.resolution_day or e.onset_day for e in events)])  # type: ignore[type-var]
    today = Fraction(last) + draw(st.fractions(Fraction(0), Fraction(40), max_denominator=8))
    return draw(definitions()), events, infusion, today


def own_call(
    definition: DLTDefinition, event: GradedEvent, infusion: int, today: Fraction
) -> EventCall:
    """The call on the event alone, as the service made it (one proposal per event)."""
    one = propose_dlt(definition, [event], infusion_day=infusion, today=today)
    if one.status == DLTStatus.YES:
        return EventCall.MET
    return EventCall.PENDING if one.event is not None else EventCall.NOT_MET


@given(cases())
def test_one_adjudication_gives_the_proposal_and_every_own_call(
    case: tuple[DLTDefinition, list[GradedEvent], int, Fraction],
) -> None:
    definition, events, infusion, today = case
    proposal, calls = propose_dlt_with_calls(definition, events, infusion_day=infusion, today=today)
    assert proposal == propose_dlt(definition, events, infusion_day=infusion, today=today)
    assert calls == tuple(own_call(definition, e, infusion, today) for e in events)


def test_the_three_calls() -> None:
    d = DLTDefinition(
        (DLTRule("crs_ge3", 3, terms=frozenset({TERM_CRS}), duration_days=2),), window_days=28
    )
    events = [
        GradedEvent(TERM_CRS, 3, 1, 4, "possible"),  # lasted 3 days: met
        GradedEvent(TERM_CRS, 3, 5, None, "possible"),  # ongoing 1 day: pending
        GradedEvent(TERM_CRS, 2, 1, None, "possible"),  # grade 2: not met
    ]
    p, calls = propose_dlt_with_calls(d, events, infusion_day=0, today=6)
    assert p.status == DLTStatus.YES
    assert calls == (EventCall.MET, EventCall.PENDING, EventCall.NOT_MET)
