"""Three-valued (Kleene) combination and the overall verdict (spec clinical.md §5.6)."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from doseladder.core.eligibility.status import (
    Status,
    Verdict,
    s_all,
    s_any,
    s_at_least,
    s_not,
    verdict_of,
)

M, N, E, R = Status.MET, Status.NOT_MET, Status.NOT_EVALUABLE, Status.NEEDS_REVIEW
ALL = list(Status)
statuses = st.sampled_from(ALL)


def kleene_and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    if a is True and b is True:
        return True
    return None


def kleene_or(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    if a is False and b is False:
        return False
    return None


def test_truth_tables_exhaustive() -> None:
    for a, b in itertools.product(ALL, repeat=2):
        assert s_all([a, b]).truth == kleene_and(a.truth, b.truth), (a, b)
        assert s_any([a, b]).truth == kleene_or(a.truth, b.truth), (a, b)
    assert s_not(M) is N and s_not(N) is M and s_not(E) is E and s_not(R) is R


def test_unknown_kinds_rank_missing_data_first() -> None:
    assert s_all([M, R, E]) is E
    assert s_all([M, R]) is R
    assert s_any([N, R, E]) is E
    assert s_any([N, R]) is R
    assert s_all([]) is M and s_any([]) is N


@given(st.lists(statuses, max_size=8))
def test_and_or_are_kleene_folds(xs: list[Status]) -> None:
    truths = [x.truth for x in xs]
    expect_and: bool | None = True
    expect_or: bool | None = False
    for t in truths:
        expect_and = kleene_and(expect_and, t)
        expect_or = kleene_or(expect_or, t)
    assert s_all(xs).truth == expect_and
    assert s_any(xs).truth == expect_or


@given(st.lists(statuses, max_size=8))
def test_de_morgan(xs: list[Status]) -> None:
    assert s_not(s_all(xs)).truth == s_any([s_not(x) for x in xs]).truth
    assert s_not(s_any(xs)).truth == s_all([s_not(x) for x in xs]).truth


@given(st.lists(statuses, min_size=1, max_size=8), st.data())
def test_resolving_an_unknown_never_flips_a_known_result(
    xs: list[Status], data: st.DataObject
) -> None:
    """Monotonicity: a known result stays when any unknown operand becomes known."""
    unknown = [i for i, x in enumerate(xs) if not x.known]
    if not unknown:
        return
    i = data.draw(st.sampled_from(unknown))
    ys = list(xs)
    ys[i] = data.draw(st.sampled_from([M, N]))
    n = data.draw(st.integers(1, len(xs)))
    for f in (s_all, s_any, lambda z: s_at_least(n, z)):
        before, after = f(xs), f(ys)
        if before.known:
            assert after is before


@given(st.integers(1, 6), st.lists(statuses, max_size=8))
def test_at_least_counts(n: int, xs: list[Status]) -> None:
    met = sum(x is M for x in xs)
    unknown = sum(not x.known for x in xs)
    got = s_at_least(n, xs)
    if met >= n:
        assert got is M
    elif met + unknown < n:
        assert got is N
    else:
        assert not got.known
    if n == 1:
        assert got.truth == s_any(xs).truth
    if n == len(xs):
        assert got.truth == s_all(xs).truth


@given(st.lists(statuses, max_size=6), st.lists(statuses, max_size=6))
def test_verdict_never_eligible_with_anything_unknown(inc: list[Status], exc: list[Status]) -> None:
    v = verdict_of(inc, exc)
    unknown = any(not s.known for s in (*inc, *exc))
    failing = N in inc or M in exc
    if v is Verdict.ELIGIBLE:
        assert not unknown and not failing
        assert all(s is M for s in inc) and all(s is N for s in exc)
    if failing:
        assert v is Verdict.NOT_ELIGIBLE
    elif unknown:
        assert v in (Verdict.INCOMPLETE, Verdict.NEEDS_REVIEW)
        assert (v is Verdict.INCOMPLETE) == any(s is E for s in (*inc, *exc))
    else:
        assert v is Verdict.ELIGIBLE


def test_exclusion_inverts_at_trial_level() -> None:
    assert verdict_of([M], [N]) is Verdict.ELIGIBLE
    assert verdict_of([M], [M]) is Verdict.NOT_ELIGIBLE
    assert verdict_of([N], [E]) is Verdict.NOT_ELIGIBLE
    assert verdict_of([M], [R]) is Verdict.NEEDS_REVIEW
    assert verdict_of([E], [R]) is Verdict.INCOMPLETE
    assert verdict_of([], []) is Verdict.ELIGIBLE
