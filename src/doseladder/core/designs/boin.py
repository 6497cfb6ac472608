"""BOIN: the Bayesian optimal interval design (Liu & Yuan 2015; Yuan et al. 2016).

Everything here reproduces the authors' R package BOIN 2.7.2 (``cran/BOIN`` @ 6c3a0c2):

* boundaries -- ``R/get.boundary.R`` (spec ``dose-finding.md`` §1.2);
* trial conduct -- the loop of ``R/get.oc.R`` (spec §1.3);
* final MTD selection -- ``R/select.mtd.R`` (spec §1.4), in :mod:`doseladder.core.select_mtd`.

The integer boundaries are module-level pure functions so that TITE-BOIN
(:mod:`doseladder.core.designs.tite_boin`) and the tables share one implementation.  The
decision framework (elimination -> extra-safe stop -> move -> ``n_earlystop`` -> maximum sample
size) is :func:`boin_framework_decision`; BOIN and TITE-BOIN differ only in the proposed move.

Decisions on points the R code leaves open (spec §8 / [A]):

* Elimination is evaluated on the cumulative data of *every* dose (as ``select.mtd`` and the
  TITE simulators do), not only the current one, and unioned with ``state.eliminated``
  (closed upwards: eliminating j eliminates j..J).  On any state reachable by the BOIN conduct
  this equals ``get.oc``'s ``elimi`` vector, because the data of a dose only change while it is
  the current dose.
* The extra-safe rule is checked whenever dose 1 has >= 3 patients (as in ``select.mtd`` and
  TITEgBOIN); ``get.oc`` checks it only where the elimination boundary b_elim(n) exists, which
  differs only for targets >= ~0.47 at n = 3-4.
* The cohort that reaches ``max_n`` is still checked for elimination (``get.oc`` breaks before;
  its final ``select.mtd`` re-derives the same eliminations).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np
from scipy.special import betainc  # 1 - betainc(y+1, n-y+1, t) = Pr(p > t | Beta posterior)

from doseladder.core.decision import Action, Decision, Reason, max_n_reason
from doseladder.core.designs.arrays.interface import ArrayDecision, DoseArrays, IntArray
from doseladder.core.designs.base import Design, check_int, check_prob
from doseladder.core.errors import InputError
from doseladder.core.select_mtd import select_mtd
from doseladder.core.selection import Selection
from doseladder.core.state import TrialState

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BOIN",
    "BoinBoundaries",
    "BoinParameters",
    "Move",
    "b_d",
    "b_e",
    "b_elim",
    "boin_framework_decision",
    "boin_lambdas",
    "boin_move",
    "boin_parameters",
    "boin_tables",
    "boundary_table",
    "boundary_values",
    "describe_boin",
    "extrasafe_stop_boundary",
    "posterior_overdose",
    "validate_boin_parameters",
]

#: tolerance of the exact-integer guard of ``get.boundary.R`` (``tol <- 1e-12``)
_TOL = 1e-12


# --------------------------------------------------------------------------- boundaries
def boin_lambdas(target: float, p_saf: float, p_tox: float) -> tuple[float, float]:
    """The local BOIN boundaries (λe, λd) with equal prior hypothesis probabilities.

    ``λe = log((1−φ1)/(1−φ)) / log(φ(1−φ1)/(φ1(1−φ)))`` and
    ``λd = log((1−φ)/(1−φ2)) / log(φ2(1−φ)/(φ(1−φ2)))`` (spec §1.2; ``get.boundary.R``).
    """
    lambda_e = math.log((1 - p_saf) / (1 - target)) / math.log(
        target * (1 - p_saf) / (p_saf * (1 - target))
    )
    lambda_d = math.log((1 - target) / (1 - p_tox)) / math.log(
        p_tox * (1 - target) / (target * (1 - p_tox))
    )
    return lambda_e, lambda_d


def b_e(n: int, lambda_e: float) -> int:
    """Escalate if y <= b_e(n) = floor(λe·n) (``get.boundary.R``: ``floor(lambda1*n)``)."""
    return math.floor(lambda_e * n)


def b_d(n: int, lambda_d: float, elim: int | None = None) -> int:
    """De-escalate if y >= b_d(n) (``get.boundary.R``, spec §1.2).

    b_d(n) = ceil(λd·n), except that when λd·n is within 1e-12 of an integer k the boundary is
    k + 1; it is then capped at the elimination boundary ``elim`` = b_elim(n) when that exists.
    """
    x = lambda_d * n
    k = round(x)
    bd = k + 1 if abs(k - x) < _TOL else math.ceil(x)
    if elim is not None and bd > elim:
        bd = elim
    return int(bd)


def posterior_overdose(n: int, y: int, target: float) -> float:
    """Pr(p > φ | y of n) under a Beta(1, 1) prior: ``1 - pbeta(φ, y+1, n-y+1)``."""
    return float(1.0 - betainc(y + 1, n - y + 1, target))


@lru_cache(maxsize=4096)
def _first_exceeding(n: int, target: float, cutoff: float) -> int | None:
    ys = np.arange(1, n + 1)
    probs = 1.0 - betainc(ys + 1, n - ys + 1, target)
    hit = np.nonzero(probs > cutoff)[0]
    return int(ys[hit[0]]) if hit.size else None


def b_elim(n: int, target: float, cutoff_eli: float = 0.95) -> int | None:
    """Eliminate if y >= b_elim(n) (``get.boundary.R``, spec §1.2).

    The smallest y in 1..n with Pr(p > φ | y, n) > ``cutoff_eli`` (strict) under Beta(1, 1);
    ``None`` (R's ``NA``) when n < 3 or no such y exists.
    """
    if n < 3:
        return None
    return _first_exceeding(int(n), float(target), float(cutoff_eli))


def extrasafe_stop_boundary(
    n: int, target: float, cutoff_eli: float = 0.95, offset: float = 0.05
) -> int | None:
    """Extra-safe stop at the lowest dose if y >= this (``get.boundary.R`` ``stop_boundary``).

    Same construction as :func:`b_elim` with the cutoff ``cutoff_eli − offset``.
    """
    return b_elim(n, target, cutoff_eli - offset)


def boundary_table(
    target: float,
    max_n: int,
    *,
    p_saf: float | None = None,
    p_tox: float | None = None,
    cutoff_eli: float = 0.95,
) -> pd.DataFrame:
    """``get.boundary``'s ``full_boundary_tab`` as a tidy frame, one row per n = 1..max_n.

    Columns: ``n``, ``escalate`` (escalate if y <= this), ``deescalate`` (de-escalate if
    y >= this), ``eliminate`` (eliminate if y >= this; nullable ``Int64``, NA where undefined).
    """
    import pandas as pd  # deferred: a decision needs no pandas (CLI start-up)

    lam_e, lam_d = boin_lambdas(
        target, 0.6 * target if p_saf is None else p_saf, 1.4 * target if p_tox is None else p_tox
    )
    rows = []
    for n in range(1, max_n + 1):
        el = b_elim(n, target, cutoff_eli)
        rows.append((n, b_e(n, lam_e), b_d(n, lam_d, el), el))
    frame = pd.DataFrame(rows, columns=["n", "escalate", "deescalate", "eliminate"])
    frame["eliminate"] = frame["eliminate"].astype("Int64")
    return frame


# ------------------------------------------------------------------ shared framework
class BoinParameters(Protocol):
    """What :func:`boin_framework_decision` and :func:`select_boin_mtd` read from a design
    (BOIN or TITE-BOIN)."""

    @property
    def num_doses(self) -> int: ...
    @property
    def target(self) -> float: ...
    @property
    def max_n(self) -> int: ...
    @property
    def cutoff_eli(self) -> float: ...
    @property
    def extrasafe(self) -> bool: ...
    @property
    def offset(self) -> float: ...
    @property
    def n_earlystop(self) -> int: ...
    @property
    def lambda_e(self) -> float: ...
    @property
    def lambda_d(self) -> float: ...
    @property
    def phi_2(self) -> float: ...
    @property
    def bound_mtd(self) -> bool: ...
    def __hash__(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Move:
    """A proposed move at the current dose before the eliminated/edge doses are applied.

    ``action`` is ESCALATE, STAY, DEESCALATE or SUSPEND.
    """

    action: Action
    reason: Reason
    steps: tuple[Reason, ...] = ()


def _closure(eliminated: Collection[int], num_doses: int) -> frozenset[int]:
    """Eliminations are permanent and upward-closed: j eliminated means j..J eliminated."""
    if not eliminated:
        return frozenset()
    return frozenset(range(min(eliminated), num_doses + 1))


def boundary_values(p: BoinParameters, n: int, y: int) -> dict[str, object]:
    """The numbers a BOIN rule uses at ``n`` patients / ``y`` DLTs (JSON-serialisable)."""
    el = b_elim(n, p.target, p.cutoff_eli)
    return {
        "n": n,
        "y": y,
        "observed_rate": (y / n) if n > 0 else None,
        "target": p.target,
        "lambda_e": p.lambda_e,
        "lambda_d": p.lambda_d,
        "b_e": b_e(n, p.lambda_e),
        "b_d": b_d(n, p.lambda_d, el),
        "b_elim": el,
    }


def boin_move(p: BoinParameters, d: int, n: int, y: int) -> Move:
    """The plain BOIN boundary comparison at dose ``d`` (``get.oc.R`` inner loop, spec §1.3).

    Escalate if y <= b_e(n); de-escalate if y >= b_d(n); otherwise stay.  With nobody treated at
    ``d`` yet (possible only when ``current_dose`` was set explicitly) the next cohort stays.
    """
    if n == 0:
        return Move(
            Action.STAY,
            Reason(
                "boin.stay",
                f"No patient has been treated at dose {d} yet: treat the next cohort at dose {d}.",
                {"n": 0, "y": 0, "dose": d},
            ),
        )
    v = boundary_values(p, n, y)
    be = b_e(n, p.lambda_e)
    bd = b_d(n, p.lambda_d, b_elim(n, p.target, p.cutoff_eli))
    head = (
        f"At dose {d}, {y} of {n} patients had a DLT (observed rate {y / n:.3f}; "
        f"λe = {p.lambda_e:.4f}, λd = {p.lambda_d:.4f}"
    )
    if y <= be:
        return Move(
            Action.ESCALATE,
            Reason("boin.escalate", f"{head}; escalate if DLTs <= {be}): escalate.", v),
        )
    if y >= bd:
        return Move(
            Action.DEESCALATE,
            Reason("boin.deescalate", f"{head}; de-escalate if DLTs >= {bd}): de-escalate.", v),
        )
    return Move(
        Action.STAY,
        Reason(
            "boin.stay",
            f"{head}; stay if {be} < DLTs < {bd}): stay at dose {d}.",
            v,
        ),
    )


def _prefix(rule: str) -> str:
    return rule.split(".", 1)[0] if "." in rule else rule


def boin_framework_decision(
    p: BoinParameters,
    *,
    n: Sequence[int],
    y: Sequence[int],
    current: int,
    prior_eliminated: Collection[int],
    move: Callable[[int, int, int], Move],
) -> Decision:
    """The BOIN conduct order of ``get.oc.R`` (spec §1.3, checklist §7.2) around a proposed move.

    1. Elimination: the lowest dose j with n_j >= 3 and y_j >= b_elim(n_j) eliminates j..J
       (plus the upward closure of ``prior_eliminated``).  Dose 1 eliminated -> STOP, no dose.
    2. Extra-safe (``extrasafe``): n_1 >= 3 and Pr(p_1 > φ) > cutoff_eli − offset -> STOP, no dose.
    3. Current dose eliminated -> de-escalate to the highest non-eliminated dose.
    4. Otherwise ``move(d, n_d, y_d)`` proposes escalate / stay / de-escalate / suspend;
       escalation beyond dose J or into an eliminated dose and de-escalation below dose 1 become
       stay.
    5. ``n_earlystop`` (2.7.2 semantics): n_d >= n_earlystop and the decision keeps the dose ->
       STOP and select the MTD (``next_dose`` = current dose).
    6. Total patients >= ``max_n`` -> STOP; ``next_dose`` is the dose the rules would give.

    ``y`` counts observed DLTs only; ``n`` counts every treated patient (pending included).
    """
    J = p.num_doses
    d = current
    total = int(sum(n))
    steps: list[Reason] = []

    # 1. elimination (data-derived, lowest dose first, plus carried-forward eliminations)
    eliminated = _closure(prior_eliminated, J)
    for j in range(1, J + 1):
        nj, yj = int(n[j - 1]), int(y[j - 1])
        el = b_elim(nj, p.target, p.cutoff_eli)
        if el is not None and yj >= el:
            if j not in eliminated:
                prob = posterior_overdose(nj, yj, p.target)
                steps.append(
                    Reason(
                        "boin.eliminate",
                        (
                            f"Dose {j} and all higher doses are eliminated: {yj} of {nj} patients "
                            f"had a DLT at dose {j} (eliminate if DLTs >= {el}); "
                            f"Pr(DLT rate > {p.target:g}) = {prob:.3f} > {p.cutoff_eli:g}."
                        ),
                        {
                            "dose": j,
                            "n": nj,
                            "y": yj,
                            "b_elim": el,
                            "posterior": prob,
                            "cutoff_eli": p.cutoff_eli,
                        },
                    )
                )
                eliminated = eliminated | _closure([j], J)
            break

    if 1 in eliminated:
        if steps and steps[-1].values.get("dose") == 1:
            first = steps.pop()
            msg, vals = first.message, dict(first.values)
        else:
            msg, vals = "Dose 1 was eliminated earlier in the trial.", {"dose": 1}
        stop = Reason(
            "boin.eliminate",
            f"{msg} The lowest dose is eliminated: stop the trial; no dose is selected.",
            vals,
        )
        return Decision(Action.STOP, d, None, stop, eliminated, tuple(steps))

    # 2. extra-safe stopping at the lowest dose
    if p.extrasafe and int(n[0]) >= 3:
        n1, y1 = int(n[0]), int(y[0])
        prob = posterior_overdose(n1, y1, p.target)
        cut = p.cutoff_eli - p.offset
        if prob > cut:
            stop = Reason(
                "boin.extrasafe_stop",
                (
                    f"Extra-safe rule: {y1} of {n1} patients had a DLT at dose 1 and "
                    f"Pr(DLT rate > {p.target:g}) = {prob:.3f} > {p.cutoff_eli:g} − "
                    f"{p.offset:g} = {cut:g}: stop the trial, no MTD."
                ),
                {
                    "n": n1,
                    "y": y1,
                    "posterior": prob,
                    "cutoff": cut,
                    "stop_boundary": extrasafe_stop_boundary(n1, p.target, p.cutoff_eli, p.offset),
                },
            )
            return Decision(Action.STOP, d, None, stop, frozenset(range(1, J + 1)), tuple(steps))

    nd, yd = int(n[d - 1]), int(y[d - 1])

    # 3. the current dose is eliminated: go to the highest non-eliminated dose
    if d in eliminated:
        target_dose = min(eliminated) - 1
        v = boundary_values(p, nd, yd) if nd > 0 else {"n": nd, "y": yd}
        proposed = Move(
            Action.DEESCALATE,
            Reason(
                "boin.deescalate",
                (
                    f"Dose {d} is eliminated ({yd} of {nd} patients had a DLT): "
                    f"de-escalate to dose {target_dose}, the highest dose not eliminated."
                ),
                {**v, "eliminated": sorted(eliminated)},
            ),
        )
        next_dose: int = target_dose
    else:
        # 4. the design's move, then the dose-range / elimination blocks
        proposed = move(d, nd, yd)
        next_dose = d
        if proposed.action is Action.ESCALATE:
            if d == J or (d + 1) in eliminated:
                why = f"dose {d} is the highest dose" if d == J else f"dose {d + 1} is eliminated"
                blocked = Reason(
                    f"{_prefix(proposed.reason.rule)}.stay",
                    f"{proposed.reason.message} But {why}: stay at dose {d}.",
                    {
                        **proposed.reason.values,
                        "blocked": "highest_dose" if d == J else "eliminated",
                    },
                )
                proposed = Move(Action.STAY, blocked, (*proposed.steps, proposed.reason))
            else:
                next_dose = d + 1
        elif proposed.action is Action.DEESCALATE:
            if d == 1:
                blocked = Reason(
                    f"{_prefix(proposed.reason.rule)}.stay",
                    f"{proposed.reason.message} Dose 1 is the lowest dose: stay at dose 1.",
                    {**proposed.reason.values, "blocked": "lowest_dose"},
                )
                proposed = Move(Action.STAY, blocked, (*proposed.steps, proposed.reason))
            else:
                next_dose = d - 1

    steps.extend(proposed.steps)
    action, reason = proposed.action, proposed.reason

    # 5. n.earlystop (BOIN 2.7.2: stop only when the decision keeps the dose)
    if action is Action.STAY and nd >= p.n_earlystop:
        steps.append(reason)
        reason = Reason(
            "boin.n_earlystop",
            (
                f"{nd} patients have been treated at dose {d} (n_earlystop = {p.n_earlystop}) "
                f"and the rule keeps dose {d}: stop the trial and select the MTD."
            ),
            {"n": nd, "n_earlystop": p.n_earlystop, "dose": d},
        )
        action = Action.STOP

    # 6. maximum sample size
    if action is not Action.STOP and total >= p.max_n:
        steps.append(reason)
        reason = max_n_reason(total, p.max_n, next_dose)
        action = Action.STOP

    return Decision(action, d, next_dose, reason, eliminated, tuple(steps))


# ------------------------------------------------------------------------- the design
class BoinBoundaries:
    """φ1, φ2, λe and λd derived from ``target``, ``p_saf`` and ``p_tox`` (spec §1.2).

    Shared by :class:`BOIN` and :class:`~doseladder.core.designs.tite_boin.TITEBOIN`, which
    declare those three fields.
    """

    target: float
    p_saf: float | None
    p_tox: float | None

    @property
    def phi_1(self) -> float:
        """φ1 = ``p_saf`` (default 0.6·φ)."""
        return 0.6 * self.target if self.p_saf is None else float(self.p_saf)

    @property
    def phi_2(self) -> float:
        """φ2 = ``p_tox`` (default 1.4·φ)."""
        return 1.4 * self.target if self.p_tox is None else float(self.p_tox)

    @property
    def lambda_e(self) -> float:
        """Escalation boundary λe (spec §1.2)."""
        return boin_lambdas(self.target, self.phi_1, self.phi_2)[0]

    @property
    def lambda_d(self) -> float:
        """De-escalation boundary λd (spec §1.2)."""
        return boin_lambdas(self.target, self.phi_1, self.phi_2)[1]


@dataclass(frozen=True)
class BOIN(BoinBoundaries, Design):
    """BOIN design for a single agent (Liu & Yuan 2015; BOIN 2.7.2 defaults, spec §1.1).

    Attributes:
        num_doses: number of dose levels J.
        target: target DLT rate φ, in [0.05, 0.6].
        cohort_size: patients per cohort.
        max_n: maximum sample size (``ncohort × cohortsize`` in R).
        start_dose: first dose level.
        p_saf: φ1, highest DLT rate deemed sub-therapeutic (``None`` -> 0.6·φ).
        p_tox: φ2, lowest DLT rate deemed overly toxic (``None`` -> 1.4·φ).
        cutoff_eli: elimination cutoff on Pr(p > φ | data).
        extrasafe: stricter stopping rule at the lowest dose (cutoff ``cutoff_eli − offset``).
        offset: see ``extrasafe``; must be < 0.5.
        n_earlystop: stop when the current dose has this many patients and the rule keeps it.
        bound_mtd: final MTD must have isotonic estimate <= λd (``boundMTD``).
    """

    name: ClassVar[str] = "boin"
    target_kind: ClassVar[str] = "mtd"

    num_doses: int
    target: float
    cohort_size: int = 3
    max_n: int = 30
    start_dose: int = 1
    p_saf: float | None = None
    p_tox: float | None = None
    cutoff_eli: float = 0.95
    extrasafe: bool = False
    offset: float = 0.05
    n_earlystop: int = 100
    bound_mtd: bool = False

    def __post_init__(self) -> None:
        self._validate_common()
        validate_boin_parameters(self)

    # ---------------------------------------------------------------- interface
    def _decide(self, state: TrialState, now: float | None) -> Decision:
        """BOIN decision for the current dose on complete data (spec §1.3).

        Complete-data BOIN never decides while a DLT outcome is pending (at any dose, also
        once ``max_n`` is reached): it suspends accrual (rule ``boin.pending``, ``next_dose`` =
        current dose) until every outcome is known; pending outcomes never count.
        ``now`` is not used.
        """
        d = state.current_dose
        assert d is not None  # non-empty state
        counts = state.counts()
        pending = sum(counts.tox_pending)
        if pending:
            return Decision(
                Action.SUSPEND,
                d,
                d,
                Reason(
                    "boin.pending",
                    (
                        f"{pending} patient(s) have a pending DLT outcome; BOIN decides on "
                        "complete data only: suspend accrual until every outcome is known."
                    ),
                    {"pending": pending, "pending_by_dose": list(counts.tox_pending)},
                ),
                _closure(state.eliminated, self.num_doses),
            )
        return boin_framework_decision(
            self,
            n=counts.n,
            y=counts.tox,
            current=d,
            prior_eliminated=state.eliminated,
            move=lambda dd, nn, yy: boin_move(self, dd, nn, yy),
        )

    def _decide_arrays(self, data: DoseArrays) -> ArrayDecision:
        """:meth:`_decide` for many trials (:func:`~doseladder.core.designs.arrays.boin.
        decide_boin`)."""
        from doseladder.core.designs.arrays.boin import decide_boin

        return decide_boin(self, data)

    def select(self, state: TrialState) -> Selection:
        """MTD selection by BOIN ``select.mtd`` (spec §1.4) on complete data."""
        return select_boin_mtd(self, state)

    def select_arrays(self, data: DoseArrays) -> IntArray:
        """:meth:`select` for many trials (:func:`~doseladder.core.designs.arrays.boin.
        select_boin`)."""
        from doseladder.core.designs.arrays.boin import select_boin

        return select_boin(self, data)

    def tables(self) -> dict[str, pd.DataFrame]:
        """``get.boundary`` tables: ``boundaries`` (n = 1..max_n), ``boundaries_by_cohort``
        (n = cohort multiples) and, with ``extrasafe``, ``stop_lowest_dose``.

        Like ``get.boundary`` the tables are truncated at ``min(max_n, n_earlystop)``.
        """
        return boin_tables(self)

    def describe(self) -> str:
        """Protocol text for the BOIN design with its numeric boundaries."""
        return describe_boin(self)


# --------------------------------------------------------------------------- helpers
def select_boin_mtd(p: BoinParameters, state: TrialState) -> Selection:
    """BOIN ``select.mtd`` (spec §1.4) on a complete-data state, for BOIN and TITE-BOIN."""
    if not isinstance(state, TrialState):
        raise InputError("state", "must be a TrialState")
    if state.num_doses != p.num_doses:
        raise InputError(
            "num_doses",
            f"the trial state has {state.num_doses} dose levels but the design has {p.num_doses}",
        )
    if state.any_pending():
        raise InputError(
            "state",
            "DLT outcomes are pending: the MTD is selected once every outcome is known",
        )
    counts = state.counts()
    return select_mtd(
        counts.n,
        counts.tox,
        p.target,
        cutoff_eli=p.cutoff_eli,
        extrasafe=p.extrasafe,
        offset=p.offset,
        bound_mtd=p.bound_mtd,
        p_tox=p.phi_2,
        eliminated=state.eliminated,
    )


def validate_boin_parameters(p: BoinParameters) -> None:
    """The checks of ``get.boundary.R`` / ``get.oc.R`` (spec §1.1), raising :class:`InputError`."""
    check_prob("target", p.target, 0.05, 0.6, open_lo=False, open_hi=False)
    target = float(p.target)
    p_saf = getattr(p, "p_saf", None)
    p_tox = getattr(p, "p_tox", None)
    if p_saf is not None:
        check_prob("p_saf", p_saf, 0.0, target)
        if (target - p_saf) < (0.1 * target):
            raise InputError(
                "p_saf",
                f"must be in (0, {0.9 * target:g}] (at most 0.9·target: the probability deemed "
                f"safe cannot be higher than or too close to the target), got {p_saf!r}",
            )
    if p_tox is not None:
        check_prob("p_tox", p_tox, target, 1.0)
        if (p_tox - target) < (0.1 * target):
            raise InputError(
                "p_tox",
                f"must be in [{1.1 * target:g}, 1) (at least 1.1·target: the probability deemed "
                f"toxic cannot be lower than or too close to the target), got {p_tox!r}",
            )
    check_prob("cutoff_eli", p.cutoff_eli, 0.5, 1.0)
    if not isinstance(p.extrasafe, bool):
        raise InputError("extrasafe", f"must be true or false, got {p.extrasafe!r}")
    check_prob("offset", p.offset, 0.0, 0.5, open_lo=False, open_hi=True)
    if p.extrasafe and p.cutoff_eli - p.offset <= 0.0:
        raise InputError("offset", "cutoff_eli − offset must be positive")
    check_int("n_earlystop", p.n_earlystop, 1)
    bound = getattr(p, "bound_mtd", False)
    if not isinstance(bound, bool):
        raise InputError("bound_mtd", f"must be true or false, got {bound!r}")


def boin_tables(p: BoinParameters) -> dict[str, pd.DataFrame]:
    """The boundary tables of a BOIN-type design (``get.boundary`` layout, spec §1.2)."""
    import pandas as pd  # deferred: a decision needs no pandas (CLI start-up)

    n_max = min(p.max_n, p.n_earlystop)
    cohort: int = getattr(p, "cohort_size", 1)
    rows = []
    for n in range(1, n_max + 1):
        el = b_elim(n, p.target, p.cutoff_eli)
        rows.append((n, b_e(n, p.lambda_e), b_d(n, p.lambda_d, el), el))
    full = pd.DataFrame(rows, columns=["n", "escalate", "deescalate", "eliminate"])
    full["eliminate"] = full["eliminate"].astype("Int64")
    by_cohort = full[full["n"] % cohort == 0].reset_index(drop=True)
    out = {"boundaries": full, "boundaries_by_cohort": by_cohort}
    if p.extrasafe:
        stop = [
            extrasafe_stop_boundary(n, p.target, p.cutoff_eli, p.offset)
            for n in range(1, n_max + 1)
        ]
        frame = pd.DataFrame({"n": range(1, n_max + 1), "stop": stop})
        frame["stop"] = frame["stop"].astype("Int64")
        out["stop_lowest_dose"] = frame
    return out


def _fmt_row(values: Sequence[object]) -> str:
    import pandas as pd  # deferred: a decision needs no pandas (CLI start-up)

    return " ".join("NA" if v is None or v is pd.NA else str(v) for v in values)


def describe_boin(p: BoinParameters, *, title: str = "BOIN") -> str:
    """Protocol paragraphs for the BOIN rules (used by BOIN and TITE-BOIN)."""
    import pandas as pd  # deferred: a decision needs no pandas (CLI start-up)

    tabs = boin_tables(p)
    full = tabs["boundaries_by_cohort"]
    if full.empty:
        full = tabs["boundaries"]
    ns = list(full["n"])
    esc = list(full["escalate"])
    des = list(full["deescalate"])
    eli = [None if pd.isna(v) else int(v) for v in full["eliminate"]]
    phi1 = getattr(p, "phi_1", 0.6 * p.target)
    phi2 = getattr(p, "phi_2", 1.4 * p.target)
    paras = [
        (
            f"{title} design. Dose finding uses the Bayesian optimal interval (BOIN) design "
            "(Liu & Yuan, JRSS-C 2015; Yuan et al., Clin Cancer Res 2016) with the rules of the "
            "authors' R package BOIN 2.7.2. "
            f"The target DLT rate is φ = {p.target:g}; doses with a DLT rate <= φ1 = {phi1:g} "
            f"are deemed sub-therapeutic and doses with a DLT rate >= φ2 = {phi2:g} overly toxic. "
            f"There are {p.num_doses} dose levels; the trial starts at dose "
            f"{getattr(p, 'start_dose', 1)}, treats cohorts of {getattr(p, 'cohort_size', 1)} "
            f"and enrols at most {p.max_n} patients."
        ),
        (
            "After each cohort the observed DLT rate at the current dose is compared with the "
            f"escalation boundary λe = {p.lambda_e:.4f} and the de-escalation boundary "
            f"λd = {p.lambda_d:.4f}: escalate to the next higher dose if the rate is <= λe, "
            "de-escalate to the next lower dose if it is >= λd, otherwise stay. In counts, with "
            "n patients treated at the current dose (n = " + _fmt_row(ns) + "): escalate if "
            "the number of DLTs is <= "
            + _fmt_row(esc)
            + "; de-escalate if >= "
            + _fmt_row(des)
            + "."
        ),
        (
            "Safety: once at least 3 patients have been treated at a dose, the dose and all "
            f"higher doses are eliminated if Pr(DLT rate > {p.target:g} | data) > "
            f"{p.cutoff_eli:g} under a Beta(1, 1) prior, i.e. if the number of DLTs is >= "
            + _fmt_row(eli)
            + " (NA: cannot be eliminated). Eliminated doses are never "
            "given again; escalation to an eliminated dose means staying, and de-escalation "
            "from the lowest dose means staying. If the lowest dose is eliminated the trial "
            "stops and no dose is selected."
        ),
    ]
    if p.extrasafe:
        stop = tabs["stop_lowest_dose"]
        sub = stop[stop["n"].isin(ns)]
        paras.append(
            "Extra-safe rule: the trial also stops, with no dose selected, if at least 3 "
            f"patients have been treated at the lowest dose and Pr(DLT rate > {p.target:g}) > "
            f"{p.cutoff_eli:g} − {p.offset:g} = {p.cutoff_eli - p.offset:g}, i.e. the number "
            "of DLTs at the lowest dose is >= "
            + _fmt_row([None if pd.isna(v) else int(v) for v in sub["stop"]])
            + "."
        )
    if p.n_earlystop < p.max_n:
        paras.append(
            f"Early stopping: when {p.n_earlystop} patients have been treated at the current "
            "dose and the rule would keep that dose, the trial stops and the MTD is selected "
            "(BOIN 2.7.2 semantics)."
        )
    paras.append(
        "At the end of the trial the MTD is selected as in BOIN's select.mtd: the toxicity "
        "rates of the treated, non-eliminated doses are estimated by (y + 0.05)/(n + 0.1), "
        "made non-decreasing by weighted isotonic regression (pool-adjacent-violators with "
        "inverse-variance weights), and the dose whose estimate is closest to the target is "
        "selected (ties: the higher dose when below the target, the lower when above)"
        + (
            f"; the selected dose must have an isotonic estimate <= λd = {p.lambda_d:.4f}"
            if getattr(p, "bound_mtd", False)
            else ""
        )
        + "."
    )
    return "\n\n".join(paras)


def boin_parameters(design: object) -> dict[str, Any]:
    """BOIN's parameters read off a design that has them (TITE-BOIN, BF-BOIN, a protocol's BOIN
    with a backfill rule): the keyword arguments of :class:`BOIN`, so that a design built from
    another one carries every BOIN setting -- one list, not one per caller."""
    return {f.name: getattr(design, f.name) for f in fields(BOIN) if f.init}
