"""DLT adjudication (spec ``clinical.md`` §3.5).

No published autoimmune cell-therapy DLT definition was found (§3.5, §7 item 8), so every
definition here is a *test fixture* in the shape of the spec's template (grade × duration ×
attribution × exclusions × window), with numbers chosen to exercise boundaries — not a
standard.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doseladder.core.clinical.astct import crs_grade
from doseladder.core.clinical.ctcae import LabTerm, grade_lab
from doseladder.core.clinical.dlt import (
    TERM_CRS,
    TERM_ICANS,
    Attribution,
    DLTDefinition,
    DLTExclusion,
    DLTRule,
    DLTStatus,
    GradedEvent,
    adjudicate,
    dlt_time,
    to_tox_outcome,
)
from doseladder.core.clinical.units import cell_count, temperature
from doseladder.core.errors import InputError
from doseladder.core.state import Patient

ANC = LabTerm.NEUTROPHIL_COUNT_DECREASED.value
PLT = LabTerm.PLATELET_COUNT_DECREASED.value
ALT = LabTerm.ALT_INCREASED.value
HEME = frozenset({ANC, PLT})

# Spec §3.5 template, with test parameters (window 28 days; cytopenia > 14 days)
DEF = DLTDefinition(
    name="test-protocol v1",
    window_days=28,
    rules=(
        DLTRule("crs_ge3", min_grade=3, terms=frozenset({TERM_CRS})),
        DLTRule("icans_ge3", min_grade=3, terms=frozenset({TERM_ICANS})),
        DLTRule("heme_g4_prolonged", min_grade=4, terms=HEME, duration_days=14),
        DLTRule(
            "nonheme_ge3",
            min_grade=3,
            exclude_terms=HEME | {TERM_CRS, TERM_ICANS},
            exclusions=(
                DLTExclusion(
                    "transient_lab_lt_3d",
                    terms=frozenset({ALT}),
                    duration_less_than_days=3,
                    description="transient lab abnormality resolving within 72 h",
                ),
            ),
        ),
    ),
)


def ev(
    term: str, grade: int, onset: float, res: float | None = None, att: str | None = "possible"
) -> GradedEvent:
    return GradedEvent(term, grade, onset, res, att)


# --------------------------------------------------------------------------- basic outcomes


def test_crs_grade_3_is_dlt_immediately() -> None:
    a = adjudicate(DEF, [ev(TERM_CRS, 3, 5, 9)], infusion_day=0, today=10)
    assert a.value == DLTStatus.YES == "yes"
    assert a.inputs["deciding_rule"] == "crs_ge3"
    assert a.inputs["deciding_event"]["term"] == TERM_CRS
    assert to_tox_outcome(a) is True and dlt_time(a) == 5.0
    # the core Patient accepts the mapped outcome
    p = Patient(dose=1, entry_time=0, tox=to_tox_outcome(a), tox_time=dlt_time(a))
    assert p.tox is True


def test_window_open_without_dlt_is_not_yet_known() -> None:
    a = adjudicate(DEF, [ev(TERM_CRS, 2, 3, 6)], infusion_day=0, today=10)
    assert a.value == DLTStatus.NOT_YET_KNOWN
    assert to_tox_outcome(a) is None and dlt_time(a) is None
    assert "window is open" in a.reasons[0]


def test_window_closes_at_day_28_inclusive() -> None:
    assert adjudicate(DEF, [], infusion_day=0, today=27).value == "not_yet_known"
    closed = adjudicate(DEF, [ev(TERM_CRS, 2, 3, 6)], infusion_day=0, today=28)
    assert closed.value == "no" and to_tox_outcome(closed) is False
    # infusion on study day 100: window closes on day 128
    assert adjudicate(DEF, [], infusion_day=100, today=127).value == "not_yet_known"
    assert adjudicate(DEF, [], infusion_day=100, today=128).value == "no"


def test_onset_on_last_window_day_counts_day_after_does_not() -> None:
    assert adjudicate(DEF, [ev(TERM_CRS, 3, 28, 30)], 0, 30).value == "yes"
    a = adjudicate(DEF, [ev(TERM_CRS, 3, 29, 30)], 0, 30)
    assert a.value == "no"
    assert "after the DLT window" in a.contributions[0].detail
    # onset on infusion day counts; before infusion does not
    assert adjudicate(DEF, [ev(TERM_CRS, 3, 0, 1)], 0, 30).value == "yes"
    assert adjudicate(DEF, [ev(TERM_CRS, 3, -1, 1)], 0, 30).value == "no"


def test_grade_threshold_is_ge() -> None:
    assert adjudicate(DEF, [ev(TERM_ICANS, 3, 4, 5)], 0, 30).value == "yes"
    assert adjudicate(DEF, [ev(TERM_ICANS, 2, 4, 5)], 0, 30).value == "no"


def test_attribution() -> None:
    for att in ("possible", "probable", "definite"):
        assert adjudicate(DEF, [ev(TERM_CRS, 3, 4, 5, att)], 0, 30).value == "yes"
    for att in ("unlikely", "unrelated"):
        assert adjudicate(DEF, [ev(TERM_CRS, 3, 4, 5, att)], 0, 30).value == "no"
    pending = adjudicate(DEF, [ev(TERM_CRS, 3, 4, 5, None)], 0, 30)
    assert pending.value == "not_yet_known"
    assert "attribution not yet assessed" in pending.reasons[0]
    # a rule can count other levels than the definition
    strict = DLTDefinition(
        window_days=28,
        rules=(DLTRule("crs", 3, frozenset({TERM_CRS}), attribution=frozenset({"definite"})),),  # type: ignore[arg-type]
    )
    assert adjudicate(strict, [ev(TERM_CRS, 3, 4, 5, "probable")], 0, 30).value == "no"


# --------------------------------------------------------------------------- durations


def test_ongoing_cytopenia_could_still_become_dlt() -> None:
    e = ev(ANC, 4, 3)  # ongoing grade 4 neutropenia since day 3
    a = adjudicate(DEF, [e], 0, 10)
    assert a.value == "not_yet_known"
    assert a.inputs["deciding_event"]["term"] == ANC
    assert "lasts > 14 days" in a.reasons[0]
    # the window has closed but the event is still ongoing and not yet > 14 days
    b = adjudicate(DEF, [ev(ANC, 4, 20)], 0, 30)
    assert b.value == "not_yet_known"
    # ongoing for exactly 14 days: not yet > 14
    assert adjudicate(DEF, [e], 0, 17).value == "not_yet_known"
    # ongoing for 15 days: DLT (no need to wait for resolution)
    assert adjudicate(DEF, [e], 0, 18).value == "yes"


def test_duration_boundary_gt_vs_ge() -> None:
    exactly_14 = ev(PLT, 4, 3, 17)
    assert adjudicate(DEF, [exactly_14], 0, 30).value == "no"
    assert adjudicate(DEF, [ev(PLT, 4, 3, 17.5)], 0, 30).value == "yes"
    ge = DLTDefinition(
        window_days=28,
        rules=(DLTRule("heme", 4, HEME, duration_days=14, duration_comparator=">="),),
    )
    assert adjudicate(ge, [exactly_14], 0, 30).value == "yes"
    assert adjudicate(ge, [ev(PLT, 4, 3, 16)], 0, 30).value == "no"


def test_duration_with_fractional_days_is_exact() -> None:
    # onset 0.1, resolution 14.3 → exactly 14.2 days; plain floats give 14.200000000000001
    assert 14.3 - 0.1 > 14.2
    d = DLTDefinition(window_days=28, rules=(DLTRule("heme", 4, HEME, duration_days=14.2),))
    assert adjudicate(d, [ev(ANC, 4, 0.1, 14.3)], 0, 30).value == "no"
    d2 = DLTDefinition(
        window_days=28,
        rules=(DLTRule("heme", 4, HEME, duration_days="14.2", duration_comparator=">="),),
    )
    assert adjudicate(d2, [ev(ANC, 4, 0.1, 14.3)], 0, 30).value == "yes"


# --------------------------------------------------------------------------- exclusions


def test_transient_lab_exclusion() -> None:
    # ALT grade 3 lasting 2 days: excluded
    a = adjudicate(DEF, [ev(ALT, 3, 5, 7)], 0, 30)
    assert a.value == "no"
    assert "transient_lab_lt_3d" in a.contributions[0].detail
    # lasting exactly 3 days: not < 3 → DLT
    assert adjudicate(DEF, [ev(ALT, 3, 5, 8)], 0, 30).value == "yes"
    # ongoing for 1 day: might still resolve within 3 days → not yet known
    b = adjudicate(DEF, [ev(ALT, 3, 5)], 0, 6)
    assert b.value == "not_yet_known" and "may be excluded" in b.reasons[0]
    # ongoing for 3 days: cannot be transient any more → DLT
    assert adjudicate(DEF, [ev(ALT, 3, 5)], 0, 8).value == "yes"
    # other non-haematological terms are not covered by the ALT exclusion
    assert adjudicate(DEF, [ev("Lung infection", 3, 5, 6)], 0, 30).value == "yes"


def test_definition_level_exclusions() -> None:
    d = DLTDefinition(
        window_days=28,
        rules=(DLTRule("any_ge3", 3),),
        exclusions=(
            DLTExclusion("ld_cytopenia", terms=HEME, onset_before_day=7),
            DLTExclusion("g3_fatigue", terms=frozenset({"Fatigue"}), max_grade=3),
        ),
    )
    assert adjudicate(d, [ev(ANC, 4, 6, 8)], 0, 30).value == "no"
    assert adjudicate(d, [ev(ANC, 4, 7, 8)], 0, 30).value == "yes"  # day 7 is not < 7
    assert adjudicate(d, [ev("fatigue", 3, 7, 8)], 0, 30).value == "no"  # case-insensitive
    assert adjudicate(d, [ev("Fatigue", 4, 7, 8)], 0, 30).value == "yes"


def test_exclude_terms_of_rule() -> None:
    # the non-haematological rule does not catch grade 3 CRS or a 1-day grade 4 neutropenia
    assert adjudicate(DEF, [ev(TERM_CRS, 2, 2, 3), ev(ANC, 4, 2, 3)], 0, 30).value == "no"


# --------------------------------------------------------------------------- aggregation


def test_earliest_dlt_decides_and_unknown_does_not_block_yes() -> None:
    events = [
        ev(ANC, 4, 2),  # ongoing, could become a DLT
        ev(TERM_ICANS, 3, 9, 11),
        ev(TERM_CRS, 4, 6, 8),
    ]
    a = adjudicate(DEF, events, 0, 12)
    assert a.value == "yes"
    assert a.inputs["deciding_event"]["term"] == TERM_CRS
    assert dlt_time(a) == 6.0
    assert len(a.contributions) == 3
    assert "2 events meet a DLT rule" in a.reasons[1]


def test_relative_days_with_infusion_offset() -> None:
    a = adjudicate(DEF, [ev(TERM_CRS, 3, 105, 107)], infusion_day=100, today=110)
    assert a.value == "yes" and dlt_time(a) == 5.0


def test_events_from_graders() -> None:
    crs = crs_grade(
        temperature_max=temperature(39, "°C"),
        fever_other_cause=False,
        vasopressors=["norepinephrine"],
        oxygen="none",
    )
    assert crs.value == 3
    anc = grade_lab(LabTerm.NEUTROPHIL_COUNT_DECREASED, cell_count("0.3", "10^9/L"))
    events = [
        GradedEvent(TERM_CRS, crs.value, 2, 4, Attribution.PROBABLE),  # type: ignore[arg-type]
        GradedEvent(ANC, anc.value, 1, None, Attribution.POSSIBLE),  # type: ignore[arg-type]
    ]
    assert adjudicate(DEF, events, 0, 5).value == "yes"


# --------------------------------------------------------------------------- validation


def test_invalid_inputs() -> None:
    with pytest.raises(InputError) as e:
        adjudicate(DEF, [ev(TERM_CRS, 3, 12)], 0, 10)
    assert e.value.field == "events[0].onset_day"
    with pytest.raises(InputError) as e:
        adjudicate(DEF, [ev(TERM_CRS, 3, 5, 12)], 0, 10)
    assert e.value.field == "events[0].resolution_day"
    with pytest.raises(InputError) as e:
        adjudicate(DEF, [], 10, 5)
    assert e.value.field == "today"
    with pytest.raises(InputError) as e:
        GradedEvent(TERM_CRS, 3, 5, 4)
    assert e.value.field == "resolution_day"
    with pytest.raises(InputError):
        GradedEvent(TERM_CRS, 6, 5)
    with pytest.raises(InputError):
        GradedEvent(TERM_CRS, 0, 5)
    with pytest.raises(InputError):
        GradedEvent(TERM_CRS, 3, 5, attribution="maybe")
    with pytest.raises(InputError):
        GradedEvent("", 3, 5)
    with pytest.raises(InputError):
        DLTDefinition(window_days=28, rules=())
    with pytest.raises(InputError):
        DLTDefinition(window_days=0, rules=(DLTRule("a", 3),))
    with pytest.raises(InputError):
        DLTDefinition(window_days=28, rules=(DLTRule("a", 3), DLTRule("a", 4)))
    with pytest.raises(InputError):
        DLTRule("a", 3, terms=TERM_CRS)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        DLTRule("a", 3, duration_days=0)
    with pytest.raises(InputError):
        DLTRule("a", 3, duration_comparator="<")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        DLTRule("a", 3, terms=frozenset({"x"}), exclude_terms=frozenset({"X"}))
    with pytest.raises(InputError):
        adjudicate(DEF, [("CRS", 3, 1)], 0, 5)  # type: ignore[list-item]


def test_description_and_serialisation() -> None:
    text = DEF.describe()
    assert "day 28 inclusive" in text
    assert "lasting more than 14 days" in text
    assert "possible, probable, definite" in text
    a = adjudicate(DEF, [ev(TERM_CRS, 3, 5, 9), ev(ANC, 4, 2)], 0, 10)
    d = a.to_dict()
    json.dumps(d)
    assert d["value"] == "yes"


# --------------------------------------------------------------------------- properties

_terms = st.sampled_from([TERM_CRS, TERM_ICANS, ANC, PLT, ALT, "Fatigue"])


@st.composite
def _events(draw: st.DrawFn) -> list[GradedEvent]:
    out = []
    for _ in range(draw(st.integers(0, 4))):
        onset = draw(st.integers(-3, 35))
        res = draw(st.one_of(st.none(), st.integers(onset, 40)))
        att = draw(st.sampled_from([None, *Attribution]))
        out.append(GradedEvent(draw(_terms), draw(st.integers(1, 5)), onset, res, att))
    return out


@given(_events(), st.integers(40, 60))
def test_status_is_consistent_over_time(events: list[GradedEvent], extra: int) -> None:
    # with all events known, "yes" at a cut-off stays "yes" later; "no" needs a closed window
    last = max([0, *(e.to_dict()["resolution_day"] or e.to_dict()["onset_day"] for e in events)])
    today = int(last) + extra
    final = adjudicate(DEF, events, 0, today)
    if final.value == "no":
        assert today >= 28
    for t in range(int(last), today + 1):
        a = adjudicate(DEF, events, 0, t)
        if a.value == "yes":
            assert final.value == "yes"
        if a.value == "no":
            assert final.value == "no"
