"""Exact operating characteristics of the 3+3 design by probability enumeration.

Every 3+3 trial is a finite tree of cohorts of 3; the number of DLTs in a cohort at dose j is
Binomial(3, p_j).  Walking the tree from the empty trial and weighting each branch by its
binomial probability gives the operating characteristics with no Monte-Carlo error
(dose-finding spec §6.1, "Exact operating characteristics"; reference-results scenario S1,
row "3+3 exact enumeration (top dose needs 3)").

The rules are not re-implemented here: each node calls
:meth:`doseladder.core.designs.three_plus_three.ThreePlusThree.decide_counts`, the same step
function that :meth:`ThreePlusThree.decide` uses, so the enumeration always follows the
design.  Nodes are memoised on (patients per dose, DLTs per dose, current dose, eliminated
doses), so a 6-dose ladder takes a few thousand decisions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from doseladder.core.decision import Action
from doseladder.core.designs.three_plus_three import ThreePlusThree
from doseladder.core.errors import InputError

__all__ = ["ExactOC", "exact_oc", "exact_three_plus_three"]

_COHORT = 3


@dataclass(frozen=True, slots=True)
class ExactOC:
    """Exact operating characteristics of a 3+3 design under true DLT probabilities.

    Attributes:
        p_true: true P(DLT) per dose level 1..J.
        allow_deescalate: the variant (``True`` = Korn et al. de-escalation).
        start_dose: dose level of the first cohort.
        p_no_mtd: probability that the trial declares no MTD.
        p_mtd: probability that dose level j is declared the MTD, j = 1..J.
        expected_n: expected number of patients treated at each dose level.
        expected_dlt: expected number of DLTs at each dose level.
        n_states: number of distinct trial states visited by the enumeration.
    """

    p_true: tuple[float, ...]
    allow_deescalate: bool
    start_dose: int
    p_no_mtd: float
    p_mtd: tuple[float, ...]
    expected_n: tuple[float, ...]
    expected_dlt: tuple[float, ...]
    n_states: int

    @property
    def expected_n_total(self) -> float:
        """E[N], the expected sample size."""
        return math.fsum(self.expected_n)

    @property
    def expected_dlt_total(self) -> float:
        """Expected total number of DLTs."""
        return math.fsum(self.expected_dlt)

    def to_frame(self) -> pd.DataFrame:
        """One row per dose level: p_true, P(MTD = dose), E[patients], E[DLTs].

        The trial-level numbers (P(no MTD), E[N]) are in :meth:`to_dict`.
        """
        return pd.DataFrame(
            {
                "dose": list(range(1, len(self.p_true) + 1)),
                "p_true": list(self.p_true),
                "p_mtd": list(self.p_mtd),
                "expected_n": list(self.expected_n),
                "expected_dlt": list(self.expected_dlt),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every number (JSON-serialisable)."""
        return {
            "p_true": list(self.p_true),
            "allow_deescalate": self.allow_deescalate,
            "start_dose": self.start_dose,
            "p_no_mtd": self.p_no_mtd,
            "p_mtd": list(self.p_mtd),
            "expected_n": list(self.expected_n),
            "expected_n_total": self.expected_n_total,
            "expected_dlt": list(self.expected_dlt),
            "expected_dlt_total": self.expected_dlt_total,
        }


# A node's value: (P(no MTD), P(MTD = j) per dose, E[n_j] and E[DLT_j] still to come).
_Value = tuple[float, tuple[float, ...], tuple[float, ...], tuple[float, ...]]
_Key = tuple[tuple[int, ...], tuple[int, ...], int, frozenset[int]]


def exact_oc(design: ThreePlusThree, p_true: Sequence[float]) -> ExactOC:
    """Exact operating characteristics of ``design`` when the true P(DLT) is ``p_true``."""
    if not isinstance(design, ThreePlusThree):
        raise InputError("design", "must be a ThreePlusThree design")
    j_max = design.num_doses
    probs = _check_p_true(p_true, j_max)
    pmf = [
        tuple(math.comb(_COHORT, k) * p**k * (1.0 - p) ** (_COHORT - k) for k in range(_COHORT + 1))
        for p in probs
    ]
    memo: dict[_Key, _Value] = {}
    zeros = (0.0,) * j_max

    def node(n: tuple[int, ...], tox: tuple[int, ...], dose: int, elim: frozenset[int]) -> _Value:
        key = (n, tox, dose, elim)
        cached = memo.get(key)
        if cached is not None:
            return cached
        decision = design.decide_counts(n, tox, dose, elim)
        if decision.action is Action.STOP:
            mtd = decision.next_dose
            p_mtd = zeros if mtd is None else tuple(float(i + 1 == mtd) for i in range(j_max))
            value: _Value = (1.0 if mtd is None else 0.0, p_mtd, zeros, zeros)
        else:
            if decision.action is Action.SUSPEND or decision.next_dose is None:
                raise AssertionError(f"unexpected decision on complete data: {decision}")
            nxt = decision.next_dose
            i = nxt - 1
            no_mtd = 0.0
            p_acc = [0.0] * j_max
            en = [0.0] * j_max
            ed = [0.0] * j_max
            en[i] = float(_COHORT)
            ed[i] = _COHORT * probs[i]
            n2 = (*n[:i], n[i] + _COHORT, *n[i + 1 :])
            for k, w in enumerate(pmf[i]):
                if w == 0.0:
                    continue
                tox2 = (*tox[:i], tox[i] + k, *tox[i + 1 :])
                c_none, c_mtd, c_n, c_d = node(n2, tox2, nxt, decision.eliminated)
                no_mtd += w * c_none
                for j in range(j_max):
                    p_acc[j] += w * c_mtd[j]
                    en[j] += w * c_n[j]
                    ed[j] += w * c_d[j]
            value = (no_mtd, tuple(p_acc), tuple(en), tuple(ed))
        memo[key] = value
        return value

    empty = (0,) * j_max
    p_none, p_mtd, e_n, e_d = node(empty, empty, design.start_dose, frozenset())
    return ExactOC(
        p_true=probs,
        allow_deescalate=design.allow_deescalate,
        start_dose=design.start_dose,
        p_no_mtd=p_none,
        p_mtd=p_mtd,
        expected_n=e_n,
        expected_dlt=e_d,
        n_states=len(memo),
    )


def exact_three_plus_three(
    p_true: Sequence[float], *, allow_deescalate: bool = False, start_dose: int = 1
) -> ExactOC:
    """:func:`exact_oc` for a 3+3 over ``len(p_true)`` doses (default: standard, start at 1)."""
    if isinstance(p_true, str) or not isinstance(p_true, Sequence) or len(p_true) == 0:
        raise InputError("p_true", "must be a non-empty sequence of probabilities")
    design = ThreePlusThree(
        num_doses=len(p_true), allow_deescalate=allow_deescalate, start_dose=start_dose
    )
    return exact_oc(design, p_true)


def _check_p_true(p_true: Sequence[float], j_max: int) -> tuple[float, ...]:
    if isinstance(p_true, str) or not isinstance(p_true, Sequence):
        raise InputError("p_true", "must be a sequence of probabilities, one per dose")
    if len(p_true) != j_max:
        raise InputError("p_true", f"has {len(p_true)} values but the design has {j_max} doses")
    out: list[float] = []
    for j, p in enumerate(p_true):
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 <= float(p) <= 1.0:
            raise InputError(f"p_true[{j}]", f"must be a probability in [0, 1], got {p!r}")
        out.append(float(p))
    return tuple(out)
