"""Persistence rules ("grade 4 cytopenia persisting beyond day N") and ``propose_dlt``.

The numbers are test parameters in the shape of spec ``clinical.md`` §3.5's template
(``persists_beyond_day``), not a standard: no autoimmune cell-therapy DLT definition is
published (§3.5).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doseladder.core.clinical.dlt import (
    TERM_CRS,
    DLTDefinition,
    DLTRule,
    DLTStatus,
    GradedEvent,
    adjudicate,
    propose_dlt,
)
from doseladder.core.errors import InputError

ANC = "Neutrophil count decreased"
DEF = DLTDefinition(
    name="fixture",
    window_days=28,
    rules=(
        DLTRule("crs_ge3", min_grade=3, terms=frozenset({TERM_CRS})),
        DLTRule("cyto_g4_beyond_42", min_grade=4, terms=frozenset({ANC}), persists_beyond_day=42),
        DLTRule("death", min_grade=5),
    ),
)


def ev(term: str, grade: int, onset: float, res: float | None = None) -> GradedEvent:
    return GradedEvent(term, grade, onset, res, attribution="probable", event_id="e1")


def test_persistence_beyond_day_boundaries() -> None:
    # resolves on day 42 exactly: not beyond day 42
    p = propose_dlt(DEF, [ev(ANC, 4, 10, 42)], infusion_day=0, today=60)
    assert p.status is DLTStatus.NO
    # resolves on day 43: beyond day 42 -> DLT, dated at onset
    p = propose_dlt(DEF, [ev(ANC, 4, 10, 43)], infusion_day=0, today=60)
    assert p.status is DLTStatus.YES
    assert p.rule_id == "cyto_g4_beyond_42"
    assert p.dlt_day == 10.0
    assert p.tox is True
    assert "persisting beyond day 42" in (p.rule_text or "")


def test_persistence_keeps_the_call_open_after_the_window() -> None:
    # ongoing on day 35: the 28-day window is over but the cytopenia may persist past day 42
    p = propose_dlt(DEF, [ev(ANC, 4, 10)], infusion_day=0, today=35)
    assert p.status is DLTStatus.NOT_YET_KNOWN
    assert p.rule_id == "cyto_g4_beyond_42"
    assert p.tox is None
    # still ongoing on day 43 -> DLT
    assert propose_dlt(DEF, [ev(ANC, 4, 10)], infusion_day=0, today=43).status is DLTStatus.YES


def test_onset_must_still_be_in_the_window() -> None:
    p = propose_dlt(DEF, [ev(ANC, 4, 29)], infusion_day=0, today=80)
    assert p.status is DLTStatus.NO


def test_any_grade_5_and_proposal_mirrors_adjudicate() -> None:
    events = [ev("Sepsis", 5, 12, 12)]
    p = propose_dlt(DEF, events, infusion_day=0, today=12)
    a = adjudicate(DEF, events, 0, 12)
    assert p.status is DLTStatus.YES and p.rule_id == "death"
    assert p.reasons == a.reasons
    assert p.event is not None and p.event["term"] == "Sepsis"
    d = p.to_dict()
    assert d["status"] == "yes" and d["rule_id"] == "death"


def test_no_dlt_proposal_has_no_rule() -> None:
    p = propose_dlt(DEF, [], infusion_day=0, today=28)
    assert (p.status, p.rule_id, p.rule_text, p.event) == (DLTStatus.NO, None, None, None)


def test_invalid_persistence_and_inputs() -> None:
    with pytest.raises(InputError) as e:
        DLTRule("x", min_grade=4, persists_beyond_day=0)
    assert e.value.field == "rule[x].persists_beyond_day"
    with pytest.raises(InputError) as e:
        propose_dlt(DEF, [ev(ANC, 4, 10)], infusion_day=0, today=5)
    assert e.value.field == "events[0].onset_day"


@given(
    onset=st.integers(0, 28),
    length=st.integers(0, 60),
    limit=st.integers(1, 70),
)
def test_persistence_property(onset: int, length: int, limit: int) -> None:
    """A resolved grade-4 event is a DLT exactly when it resolves after day ``limit``."""
    d = DLTDefinition(
        rules=(DLTRule("p", min_grade=4, terms=frozenset({ANC}), persists_beyond_day=limit),),
        window_days=28,
    )
    res = onset + length
    p = propose_dlt(d, [ev(ANC, 4, onset, res)], infusion_day=0, today=max(res, 28))
    assert (p.status is DLTStatus.YES) == (res > limit)
