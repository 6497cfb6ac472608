"""Criterion statuses, their three-valued (Kleene) combination, and the overall verdict.

A criterion, or any node of its logic, evaluates to one of four statuses [spec ``clinical.md``
§5.6]: ``met``, ``not_met``, ``not_evaluable`` (data missing) or ``needs_review`` (a person
must decide: the source text is wrong or ambiguous, spec §0.1).  The last two are both
*unknown* truth values; combination follows strong Kleene logic, with unknowns ranked
``not_evaluable`` over ``needs_review`` when both occur (missing data is collected before a
person reviews):

* ``all_of``: ``not_met`` if any child is ``not_met``; ``met`` if every child is ``met``;
  otherwise unknown.
* ``any_of``: ``met`` if any child is ``met``; ``not_met`` if every child is ``not_met``;
  otherwise unknown.
* ``not``: swaps ``met`` and ``not_met``; unknowns stay.
* ``at_least n``: ``met`` when ``n`` children are ``met``; ``not_met`` when even every unknown
  child being met could not reach ``n``; otherwise unknown.

Exclusion criteria invert at trial level [spec §5.6]: an exclusion that is ``met`` makes the
patient ineligible.  The verdict is ``eligible`` only when every applicable inclusion is
``met`` and every applicable exclusion is ``not_met``; ``not_eligible`` as soon as one
inclusion is ``not_met`` or one exclusion is ``met`` (whatever else is unknown); otherwise
``incomplete`` when any criterion is ``not_evaluable``, else ``needs_review``.  It is never
``eligible`` while anything is unknown.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

__all__ = ["Status", "Verdict", "s_all", "s_any", "s_at_least", "s_not", "verdict_of"]


class Status(StrEnum):
    """Status of a criterion or of one node of its logic."""

    MET = "met"
    NOT_MET = "not_met"
    NOT_EVALUABLE = "not_evaluable"
    NEEDS_REVIEW = "needs_review"

    @property
    def known(self) -> bool:
        """``True`` for ``met`` / ``not_met``."""
        return self in (Status.MET, Status.NOT_MET)

    @property
    def truth(self) -> bool | None:
        """Kleene truth value: ``True``, ``False`` or ``None`` (unknown)."""
        return True if self is Status.MET else False if self is Status.NOT_MET else None

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class Verdict(StrEnum):
    """Overall screening verdict."""

    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not_eligible"
    INCOMPLETE = "incomplete"
    NEEDS_REVIEW = "needs_review"


def _unknown(statuses: Iterable[Status]) -> Status:
    return (
        Status.NOT_EVALUABLE
        if any(s is Status.NOT_EVALUABLE for s in statuses)
        else Status.NEEDS_REVIEW
    )


def s_all(statuses: Iterable[Status]) -> Status:
    """Kleene conjunction (``met`` for no operands)."""
    s = list(statuses)
    if any(x is Status.NOT_MET for x in s):
        return Status.NOT_MET
    if all(x is Status.MET for x in s):
        return Status.MET
    return _unknown(s)


def s_any(statuses: Iterable[Status]) -> Status:
    """Kleene disjunction (``not_met`` for no operands)."""
    s = list(statuses)
    if any(x is Status.MET for x in s):
        return Status.MET
    if all(x is Status.NOT_MET for x in s):
        return Status.NOT_MET
    return _unknown(s)


def s_not(status: Status) -> Status:
    """Kleene negation."""
    if status is Status.MET:
        return Status.NOT_MET
    if status is Status.NOT_MET:
        return Status.MET
    return status


def s_at_least(n: int, statuses: Iterable[Status]) -> Status:
    """At least ``n`` operands ``met`` (three-valued)."""
    s = list(statuses)
    met = sum(x is Status.MET for x in s)
    unknown = [x for x in s if not x.known]
    if met >= n:
        return Status.MET
    if met + len(unknown) < n:
        return Status.NOT_MET
    return _unknown(unknown)


def verdict_of(inclusions: Iterable[Status], exclusions: Iterable[Status]) -> Verdict:
    """The overall verdict from the applicable inclusion and exclusion statuses."""
    inc = list(inclusions)
    exc = list(exclusions)
    if any(s is Status.NOT_MET for s in inc) or any(s is Status.MET for s in exc):
        return Verdict.NOT_ELIGIBLE
    unknown = [s for s in (*inc, *exc) if not s.known]
    if not unknown:
        return Verdict.ELIGIBLE
    if any(s is Status.NOT_EVALUABLE for s in unknown):
        return Verdict.INCOMPLETE
    return Verdict.NEEDS_REVIEW
