"""Criterion-level results and the overall verdict of :func:`screen`."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doseladder.core.eligibility import Attestation, ReviewDecision, Status, Verdict, screen
from doseladder.core.errors import InputError
from tests.core.eligibility.helpers import SCREEN, FakeProtocol, Ind, crit, record

M, N, E, R = Status.MET, Status.NOT_MET, Status.NOT_EVALUABLE, Status.NEEDS_REVIEW


def proto(*criteria: object, indications: tuple[str, ...] = ("SLE",)) -> FakeProtocol:
    return FakeProtocol("test", list(criteria), [Ind(i) for i in indications])  # type: ignore[arg-type]


def test_inclusion_and_exclusion_statuses_and_verdict() -> None:
    p = proto(
        crit("I-1", "inclusion", {"sex": "female"}),
        crit("X-1", "exclusion", {"sex": "male"}),
    )
    rep = screen(p, record())
    assert rep.verdict is Verdict.ELIGIBLE
    assert [r.status for r in rep.results] == [M, N]
    assert rep.satisfied() == {"I-1": True, "X-1": True}
    rep = screen(p, record(sex="male"))
    assert rep.verdict is Verdict.NOT_ELIGIBLE
    assert [r.id for r in rep.blocking()] == ["I-1", "X-1"]
    rep = screen(p, record(sex=None))
    assert rep.verdict is Verdict.INCOMPLETE
    assert rep.result("I-1").missing == ("sex",)
    assert "Pending: I-1, X-1" in rep.summary()


def test_flagged_criterion_needs_review_never_as_written() -> None:
    p = proto(crit("I-1", "inclusion", {"sex": "female"}, needs_review=True))
    rep = screen(p, record())
    r = rep.result("I-1")
    assert r.status is R and r.suggested is M
    assert rep.verdict is Verdict.NEEDS_REVIEW
    assert r.reasons[0].startswith("Flagged for review, not evaluated as written: a known error")
    # a person's decision for this patient resolves it (and shows what the logic gave)
    decided = record(reviews={"I-1": ReviewDecision("not_met", by="Dr X", note="read as ≥")})
    rep = screen(p, decided)
    r = rep.result("I-1")
    assert r.status is N and r.suggested is M and r.decision is not None
    assert rep.verdict is Verdict.NOT_ELIGIBLE
    assert "Resolved by review by Dr X: not met (read as ≥)" in r.reasons[0]


def test_review_decision_for_unflagged_criterion_is_ignored() -> None:
    p = proto(crit("I-1", "inclusion", {"sex": "female"}))
    rep = screen(p, record(reviews={"I-1": ReviewDecision("not_met")}))
    assert rep.result("I-1").status is M
    assert any("ignored" in n for n in rep.notes)


def test_attests_and_unstructured_criteria() -> None:
    p = proto(crit("I-1", "inclusion", attests=True), crit("I-2", "inclusion"))
    rep = screen(p, record())
    assert rep.result("I-1").structured == "attests" and rep.result("I-1").status is E
    assert rep.result("I-2").structured == "unstructured"
    assert rep.result("I-1").missing == ("attestation I-1",)
    rep = screen(
        p,
        record(
            attestations={
                "I-1": Attestation(True),
                "I-2": Attestation(True),
                "I-3": Attestation(True),
            }
        ),
    )
    assert rep.verdict is Verdict.ELIGIBLE
    assert any("'I-3' matches no attestation item" in n for n in rep.notes)


def test_indication_scope() -> None:
    p = proto(
        crit("I-1", "inclusion", {"sex": "female"}),
        crit("I-ITP", "inclusion", {"sex": "male"}, indications=("SLE-ITP",)),
        indications=("SLE-ITP", "SLE-other"),
    )
    rep = screen(p, record(), indication="SLE-other")
    assert rep.result("I-ITP").status is None and rep.result("I-ITP").satisfied is True
    assert rep.verdict is Verdict.ELIGIBLE
    assert screen(p, record(), indication="SLE-ITP").verdict is Verdict.NOT_ELIGIBLE
    rep = screen(p, record())
    assert rep.result("I-ITP").status is E and rep.result("I-ITP").missing == ("indication",)
    assert rep.verdict is Verdict.INCOMPLETE
    assert screen(p, record(indication="SLE-other")).indication == "SLE-other"
    with pytest.raises(InputError, match="not an indication"):
        screen(p, record(), indication="IIM")


def test_single_indication_is_the_default() -> None:
    p = proto(crit("I-1", "inclusion", {"indication": ["SLE"]}, indications=("SLE",)))
    assert screen(p, record()).verdict is Verdict.ELIGIBLE


def test_criterion_references_and_cycles() -> None:
    p = proto(
        crit("H", "inclusion", {"all_of": [{"criterion": "A"}, {"criterion": "B"}]}),
        crit("A", "inclusion", {"sex": "female"}),
        crit("B", "inclusion", {"age": ">=", "years": 18}),
    )
    assert screen(p, record()).result("H").status is M
    assert screen(p, record(sex="male")).result("H").status is N
    cyc = proto(
        crit("A", "inclusion", {"criterion": "B"}),
        crit("B", "inclusion", {"criterion": "A"}),
    )
    with pytest.raises(InputError, match="cycle"):
        screen(cyc, record())


def test_screening_date() -> None:
    p = proto(crit("I-1", "inclusion", {"age": ">=", "years": 37}))
    with pytest.raises(InputError, match="screening_date"):
        screen(p, record(screening_date=None))
    assert screen(p, record(), screening_date=date(2025, 3, 13)).result("I-1").status is N
    assert screen(p, record(), screening_date=date(2025, 3, 14)).result("I-1").status is M
    with pytest.raises(InputError, match="lookback_days"):
        screen(p, record(), lookback_days=-1)


def test_report_dict() -> None:
    p = proto(crit("I-1", "inclusion", {"sex": "female"}))
    d = screen(p, record()).to_dict()
    assert d["verdict"] == "eligible"
    assert d["screening_date"] == SCREEN.isoformat()
    assert d["criteria"][0]["values"][0]["value"] == "female"
    assert d["counts"]["met"] == 1


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["inclusion", "exclusion"]),
            st.sampled_from([True, False, None]),
            st.booleans(),
            st.sampled_from([None, "met", "not_met"]),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_verdict_is_never_eligible_while_anything_is_unknown(
    spec: list[tuple[str, bool | None, bool, str | None]],
) -> None:
    criteria = []
    attestations = {}
    reviews = {}
    for i, (category, value, flagged, decision) in enumerate(spec):
        cid = f"C-{i}"
        criteria.append(crit(cid, category, attests=True, needs_review=flagged))
        attestations[cid] = Attestation(value)
        if decision is not None:
            reviews[cid] = ReviewDecision(decision)  # type: ignore[arg-type]
    rep = screen(proto(*criteria), record(attestations=attestations, reviews=reviews))
    statuses = [r.status for r in rep.results]
    assert all(s is not None for s in statuses)
    for r, (_category, value, flagged, decision) in zip(rep.results, spec, strict=True):
        if flagged:
            expected = R if decision is None else Status(decision)
        else:
            expected = E if value is None else (M if value else N)
        assert r.status is expected
    if rep.verdict is Verdict.ELIGIBLE:
        assert all(r.satisfied is True for r in rep.results)
    if any(r.satisfied is None for r in rep.results):
        assert rep.verdict is not Verdict.ELIGIBLE
    if any(r.satisfied is False for r in rep.results):
        assert rep.verdict is Verdict.NOT_ELIGIBLE
