"""Backup dose with fallback (seed 000; spec dose-finding.md §5.1), on hand-built histories."""

from __future__ import annotations

import pytest

from doseladder.core.errors import InputError
from doseladder.core.rules import (
    BackupFallback,
    EnrolStatus,
    FallbackPhase,
    recommend,
)
from tests.core.rules.helpers import DL1, DL2, DL_M1, LABELS, P, S, seed000_design, seed000_plan


# ------------------------------------------------------------------ the rule on its own
def test_phases() -> None:
    fb = BackupFallback(run_in_dose=DL1, backup_dose=DL_M1)
    assert fb.evaluate([]).phase is FallbackPhase.RUN_IN
    assert fb.evaluate([P(DL1, 0, None), P(DL1, 1, None)]).phase is FallbackPhase.RUN_IN
    three_pending = [P(DL1, 0, None), P(DL1, 1, None), P(DL1, 2, None)]
    assert fb.evaluate(three_pending).phase is FallbackPhase.AWAITING
    three_clear = [P(DL1, 0), P(DL1, 1), P(DL1, 2)]
    st = fb.evaluate(three_clear)
    assert (st.phase, st.run_in_n, st.run_in_dlts, st.fired) == (FallbackPhase.PASSED, 3, 0, False)
    one_dlt = [P(DL1, 0, True), P(DL1, 1, None)]
    assert fb.evaluate(one_dlt).phase is FallbackPhase.TRIGGERED
    assert fb.evaluate([*one_dlt, P(DL_M1, 5, None)]).phase is FallbackPhase.APPLIED


def test_pending_outcomes_never_count_as_dlts() -> None:
    fb = BackupFallback(run_in_dose=DL1, backup_dose=DL_M1)
    st = fb.evaluate([P(DL1, 0, None), P(DL1, 1, None), P(DL1, 2, None)])
    assert (st.run_in_dlts, st.run_in_pending, st.fired) == (0, 3, False)


def test_only_the_first_k_at_the_run_in_dose_count() -> None:
    fb = BackupFallback(run_in_dose=DL1, backup_dose=DL_M1)
    # a DLT in the 4th subject at DL1 is not a run-in DLT
    st = fb.evaluate([P(DL1, 0), P(DL1, 1), P(DL1, 2), P(DL1, 40, True)])
    assert st.phase is FallbackPhase.PASSED and not st.fired


def test_trigger_is_configurable() -> None:
    fb = BackupFallback(run_in_dose=DL1, backup_dose=DL_M1, first_k=6, min_dlts=2)
    one = [P(DL1, t, tox) for t, tox in enumerate([True, False, False, None, None, None])]
    assert fb.evaluate(one).phase is FallbackPhase.AWAITING
    two = [P(DL1, t, tox) for t, tox in enumerate([True, False, True])]
    assert fb.evaluate(two).phase is FallbackPhase.TRIGGERED
    # with 5 of 6 clear the second DLT can no longer happen: passed early
    five_clear = [P(DL1, t, tox) for t, tox in enumerate([False] * 5 + [None])]
    assert fb.evaluate(five_clear).phase is FallbackPhase.PASSED
    assert "2 or more DLTs occur in the first 6 subjects" in fb.describe(LABELS)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"run_in_dose": 1, "backup_dose": 1},
        {"run_in_dose": 2, "backup_dose": 3},
        {"run_in_dose": 2, "backup_dose": 1, "min_dlts": 4},
        {"run_in_dose": 2, "backup_dose": 1, "first_k": 0},
        {"run_in_dose": 2, "backup_dose": 1, "zero_dlt_branch": "never"},
        {"run_in_dose": 2, "backup_dose": 1, "reescalation": "maybe"},
    ],
)
def test_invalid_rule(kwargs: dict[str, object]) -> None:
    with pytest.raises(InputError):
        BackupFallback(**kwargs)  # type: ignore[arg-type]


def test_describe_reads_like_the_registry() -> None:
    text = BackupFallback(run_in_dose=DL1, backup_dose=DL_M1).describe(LABELS, "TITE-BOIN12")
    assert "starts at DL1; DL-1 is a backup dose reduction level" in text
    assert "If one or more DLTs occur in the first 3 subjects enrolled at DL1" in text
    assert "falls back to DL-1" in text
    assert "continues with TITE-BOIN12 starting from DL-1" in text
    assert "data of the DL1 run-in subjects are kept" in text
    assert "re-escalation to DL1 and above follows the rules of TITE-BOIN12" in text


# ------------------------------------------------------------- the rule inside the plan
def test_first_subject_starts_at_dl1() -> None:
    rec = recommend(seed000_plan(), S(), now=0.0)
    drv = rec.driving
    assert (drv.status, drv.dose, drv.dose_label) == (EnrolStatus.ENROL, DL1, "DL1")
    assert drv.reason.rule == "backup_fallback.run_in"
    assert rec.driving_decision is None  # the design is not consulted during the run-in


def test_run_in_subjects_are_treated_without_waiting() -> None:
    rec = recommend(seed000_plan(), S(P(DL1, 0, None), P(DL1, 1, None)), now=2.0)
    assert (rec.driving.status, rec.driving.dose) == (EnrolStatus.ENROL, DL1)
    assert rec.driving.reason.values["run_in_n"] == 2


def test_one_dlt_in_first_3_at_dl1_sends_next_patient_to_dl_minus_1() -> None:
    hist = S(P(DL1, 0, True, None, tox_time=10), P(DL1, 3, None, None), P(DL1, 6, None, None))
    rec = recommend(seed000_plan(), hist, now=12.0)
    drv = rec.driving
    assert (drv.status, drv.dose, drv.dose_label) == (EnrolStatus.ENROL, DL_M1, "DL-1")
    assert drv.reason.rule == "backup_fallback.fallback"
    assert drv.reason.values["run_in_dlts"] == 1
    assert rec.fallback is not None and rec.fallback.fired


def test_fallback_fires_as_soon_as_the_dlt_is_observed() -> None:
    # the DLT of subject 1 is observed before subject 3 is enrolled: no third subject at DL1
    hist = S(P(DL1, 0, True, None, tox_time=4), P(DL1, 2, None, None))
    rec = recommend(seed000_plan(), hist, now=5.0)
    assert (rec.driving.dose, rec.driving.reason.rule) == (DL_M1, "backup_fallback.fallback")


def test_zero_of_three_pending_waits_for_the_run_in() -> None:
    hist = S(P(DL1, 0, None, None), P(DL1, 1, None, None), P(DL1, 2, None, None))
    rec = recommend(seed000_plan(), hist, now=20.0)
    assert (rec.driving.status, rec.driving.dose) == (EnrolStatus.WAIT, DL1)
    assert rec.driving.reason.rule == "backup_fallback.await_run_in"


def test_zero_of_three_complete_tite_boin12_continues_from_dl1() -> None:
    hist = S(P(DL1, 0, False, None), P(DL1, 1, False, None), P(DL1, 2, False, None))
    rec = recommend(seed000_plan(), hist, now=31.0)
    dec = rec.driving_decision
    assert dec is not None
    assert dec.current_dose == DL1
    assert dec.reason.rule.startswith("tite_boin12.")
    assert rec.driving.steps[0].rule == "backup_fallback.passed"
    # the design decides on the 3 run-in subjects at DL1: efficacy is still pending for all
    # three (> half), so TITE-BOIN12 suspends accrual at DL1
    assert dec.reason.rule == "tite_boin12.suspend"
    assert (dec.reason.values["dose"], dec.reason.values["n"]) == (DL1, 3)
    assert (rec.driving.status, rec.driving.dose) == (EnrolStatus.WAIT, DL1)


def test_zero_of_three_complete_with_efficacy_escalates() -> None:
    # complete toxicity and efficacy data: 0/3 DLT, 1/3 responses -> TITE-BOIN12 (= BOIN12 on
    # complete data) compares DL-1, DL1, DL2 by desirability: untried DL2 wins (spec §3.8
    # "1NNN -> 2" analogue)
    hist = S(P(DL1, 0, False, True), P(DL1, 1, False, False), P(DL1, 2, False, False))
    rec = recommend(seed000_plan(), hist, now=100.0)
    assert (rec.driving.status, rec.driving.dose) == (EnrolStatus.ENROL, DL2)
    assert rec.driving.reason.rule == "tite_boin12.choose_max_desirability"


def test_tite_branch_lets_tite_boin12_act_on_pending_data() -> None:
    plan = seed000_plan(fallback=BackupFallback(DL1, DL_M1, zero_dlt_branch="tite"))
    hist = S(P(DL1, 0, None, None), P(DL1, 1, None, None), P(DL1, 2, None, None))
    rec = recommend(plan, hist, now=20.0)
    assert rec.driving_decision is not None
    assert rec.driving.reason.rule == "tite_boin12.suspend"  # all 3 pending > half


def test_data_from_dl1_are_kept_after_fallback() -> None:
    run_in = [P(DL1, 0, True, False, tox_time=5), P(DL1, 1, False, False), P(DL1, 2, False, True)]
    backup = [P(DL_M1, 10, False, False), P(DL_M1, 11, False, True), P(DL_M1, 12, False, False)]
    hist = S(*run_in, *backup)
    rec = recommend(seed000_plan(), hist, now=200.0)
    dec = rec.driving_decision
    assert dec is not None
    assert rec.driving.steps[0].rule == "backup_fallback.applied"
    assert dec.current_dose == DL_M1
    assert dec.reason.values["n_by_dose"] == [3, 3, 0]
    # exactly the design's decision on every driving subject (run-in included)
    assert dec == seed000_design().decide(hist, 200.0)


def _reescalation_history() -> list[object]:
    # DL1: 1 DLT (with response) in 3, two responses; DL-1: 3 subjects, no DLT, no response.
    # BOIN12 prefers DL1 (higher desirability): the design would re-escalate.
    return [
        P(DL1, 0, True, True, tox_time=5, eff_time=20),
        P(DL1, 1, False, True),
        P(DL1, 2, False, True),
        P(DL_M1, 10, False, False),
        P(DL_M1, 11, False, False),
        P(DL_M1, 12, False, False),
    ]


def test_reescalation_to_dl1_allowed_by_default() -> None:
    rec = recommend(seed000_plan(), S(*_reescalation_history()), now=300.0)  # type: ignore[arg-type]
    assert (rec.driving.status, rec.driving.dose) == (EnrolStatus.ENROL, DL1)


def test_reescalation_can_be_blocked() -> None:
    plan = seed000_plan(fallback=BackupFallback(DL1, DL_M1, reescalation="blocked"))
    rec = recommend(plan, S(*_reescalation_history()), now=300.0)  # type: ignore[arg-type]
    assert (rec.driving.status, rec.driving.dose) == (EnrolStatus.ENROL, DL_M1)
    assert {DL1, DL2} <= rec.eliminated
    assert "closed" in rec.driving.steps[0].message


def test_other_indication_dlts_do_not_trigger_the_fallback() -> None:
    hist = S(
        P(DL1, 0, False, None, "SLE-ITP"),
        P(DL1, 1, True, None, "IIM"),  # not possible in conduct, but never counts anyway
        P(DL1, 2, False, None, "SLE-ITP"),
        P(DL1, 3, False, None, "SLE-ITP"),
    )
    rec = recommend(seed000_plan(), hist, now=40.0)
    assert rec.fallback is not None and not rec.fallback.fired
    assert rec.driving.reason.rule != "backup_fallback.fallback"


def test_the_wait_message_tells_the_dlt_window_from_awaited_assessment() -> None:
    """Subjects entered on days 0, 1, 2 with a 28-day window: on day 20 all three are still in
    the window; on day 29.5 subjects 1 and 2 are past it (their outcome pending only because
    it awaits assessment, e.g. a possible DLT to adjudicate) and subject 3 is still in it."""
    hist = S(P(DL1, 0, None, None), P(DL1, 1, None, None), P(DL1, 2, None, None))
    early = recommend(seed000_plan(), hist, now=20.0).driving.reason.message
    assert "3 still in the DLT window" in early and "past the DLT window" not in early
    late = recommend(seed000_plan(), hist, now=29.5).driving.reason.message
    assert "1 still in the DLT window" in late
    assert "2 past the DLT window with the outcome awaiting assessment" in late
    after = recommend(seed000_plan(), hist, now=40.0).driving.reason.message
    assert "still in the DLT window" not in after and "3 past the DLT window" in after


def test_run_in_past_window_counts_only_pending_run_in_subjects() -> None:
    fb = BackupFallback(run_in_dose=DL1, backup_dose=DL_M1)
    pts = [P(DL1, 0, None, None), P(DL1, 0, False, None), P(DL1, 10, None, None)]
    pts += [P(DL1, 0, None, None)]  # a fourth subject is not in the run-in (first_k = 3)
    assert fb.run_in_past_window(pts, now=30.0, window=28.0) == 1
    assert fb.run_in_past_window(pts, now=38.0, window=28.0) == 2
    assert fb.run_in_past_window(pts, now=10.0, window=28.0) == 0
