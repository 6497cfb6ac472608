"""BOIN12's rules for many trials at once: :func:`decide_boin12` and :func:`select_boin12`.

The array form of ``BOIN12._decide`` / ``_conclude`` / ``_finish`` (spec ``dose-finding.md``
§3.3-3.5) and of ``BOIN12.select`` (:func:`~doseladder.core.select_obd.select_obd`, §3.6), for
every option of :class:`~doseladder.core.designs.boin12.BOIN12`.  The formulas are the core's,
evaluated on arrays (:func:`~doseladder.core.designs.boin12.quasi_events_values`,
:func:`~doseladder.core.designs.boin12.desirability_values`, the integer elimination boundaries
of :func:`~doseladder.core.designs.boin12.tox_elimination_boundary` /
:func:`~doseladder.core.designs.boin12.eff_elimination_boundary`), so ties between doses are
broken exactly as the scalar ``decide`` breaks them.

The rule part (:func:`conclude_boin12`) reads per-dose statistics (:class:`Boin12Stats`) and is
shared with TITE-BOIN12 (:mod:`doseladder.core.designs.arrays.tite_boin12`), whose statistics
are the approximated-likelihood ones.  The building blocks (:func:`neighbours`,
:func:`boin12_next_doses`, :func:`select_obd_vectorised`, ...) are public for the simulation
kernels, which call them instead of re-writing a rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from doseladder.core.designs.arrays.interface import (
    DEESCALATE,
    ESCALATE,
    STAY,
    STOP,
    SUSPEND,
    ArrayDecision,
    BoolArray,
    DoseArrays,
    FloatArray,
    IntArray,
    pick,
)
from doseladder.core.designs.boin12 import (
    BOIN12,
    desirability_values,
    eff_elimination_boundary,
    quasi_events_values,
    tox_elimination_boundary,
)
from doseladder.core.isotonic import pava_arrays
from doseladder.core.select_obd import select_obd

__all__ = [
    "NO_BOUNDARY",
    "Boin12Constants",
    "Boin12Stats",
    "DesirabilityFill",
    "DesirabilityTable",
    "Neighbours",
    "NextDoses",
    "boin12_constants",
    "boin12_next_doses",
    "complete_stats",
    "conclude_boin12",
    "decide_boin12",
    "desirability_needed",
    "desirability_table",
    "final_selection",
    "inadmissible_arrays",
    "n_stop_reached",
    "neighbours",
    "rule_branches",
    "select_boin12",
    "select_obd_vectorised",
    "suspend_where",
    "table_size",
]

#: an unreachable count, standing for "no boundary" (the core's ``None``)
NO_BOUNDARY = 10**6
_MAX_TABLE = 1 << 22  # largest desirability table kept in memory (entries; 32 MB)


# ------------------------------------------------------------------------------ tables
@dataclass(frozen=True, slots=True)
class Boin12Constants:
    """Per-design numbers used at every decision (index = patients at a dose, 0..max_n).

    Attributes:
        lambda_e, lambda_d: BOIN boundaries at φT (``BOIN12.lambda_e`` / ``lambda_d``).
        tox_bound: eliminate for toxicity if n_T >= tox_bound[n] (``NO_BOUNDARY`` = never).
        eff_bound: eliminate for futility if n_E <= eff_bound[n] (-1 = never).
        pava_square: (n + 0.1) ** 2 computed by Python's float power (the core's
            ``select_obd._weights``; numpy's square differs in the last bit for a few n).
    """

    lambda_e: float
    lambda_d: float
    tox_bound: IntArray
    eff_bound: IntArray
    pava_square: FloatArray


@lru_cache(maxsize=64)
def boin12_constants(design: BOIN12, max_n: int) -> Boin12Constants:
    """Boundaries of ``design`` for n = 0..max_n, from the core's pure functions (spec §3.4)."""
    tb = np.full(max_n + 1, NO_BOUNDARY, dtype=np.int64)
    eb = np.full(max_n + 1, -1, dtype=np.int64)
    for n in range(max_n + 1):
        t = tox_elimination_boundary(n, design.phi_t, design.c_t)
        e = eff_elimination_boundary(n, design.phi_e, design.c_e)
        if t is not None:
            tb[n] = t
        if e is not None:
            eb[n] = e
    sq = np.array([(k + 0.1) ** 2 for k in range(max_n + 1)], dtype=np.float64)
    return Boin12Constants(design.lambda_e, design.lambda_d, tb, eb, sq)


def table_size(design: BOIN12, n: IntArray) -> int:
    """The table size for counts ``n``: ``max_n``, or a power of two above it for histories
    with more patients (decisions on arbitrary states)."""
    top = int(n.max(initial=0))
    if top <= design.max_n:
        return int(design.max_n)
    size = 64
    while size < top:
        size *= 2
    return size


class DesirabilityTable:
    """D = Pr(U > u_b/100 | data) of a dose on complete data, by (n, n_T, n_E, n_TE).

    Entries are computed when first needed with the core's formula
    (:func:`~doseladder.core.designs.boin12.desirability_values` of the quasi-events of the four
    cells, spec §3.3) and kept.  With integer utilities satisfying u1 + u4 = u2 + u3 (the
    defaults) x -- computed exactly -- does not depend on n_TE, and the table is indexed by
    (n, n_T, n_E) only.  A table that would exceed 2^22 entries (max_n > 44 with other
    utilities) is not kept: D is then computed at every call.
    """

    def __init__(self, design: BOIN12, max_n: int) -> None:
        u = design.utilities
        self.utilities = (float(u[0]), float(u[1]), float(u[2]), float(u[3]))
        self.u_b = design.u_b
        self.alpha = float(design.prior_alpha)
        self.beta = float(design.prior_beta)
        self.marginal = all(float(v).is_integer() for v in u) and u[0] + u[3] == u[1] + u[2]
        self.m = max_n + 1
        self.k = 1 if self.marginal else self.m
        size = self.m * self.m * self.m * self.k
        self._table: FloatArray | None = np.full(size, np.nan) if size <= _MAX_TABLE else None

    def compute(self, n: IntArray, nt: IntArray, ne: IntArray, nte: IntArray) -> FloatArray:
        """D for these counts, without the table (the core's formula on arrays)."""
        x = quasi_events_values(ne - nte, n - nt - ne + nte, nte, nt - nte, self.utilities)
        return desirability_values(x, n, self.u_b, self.alpha, self.beta)

    def __call__(self, n: IntArray, nt: IntArray, ne: IntArray, nte: IntArray) -> FloatArray:
        """D for arrays of counts (any shape)."""
        if self._table is None:
            return self.compute(n, nt, ne, nte)
        m = self.m
        key = (n * m + nt) * m + ne
        if not self.marginal:
            key = key * m + nte
        vals = self._table[key]
        miss = np.isnan(vals)
        if miss.any():
            flat = np.flatnonzero(miss)
            _, first = np.unique(key.ravel()[flat], return_index=True)
            where = flat[first]
            sel = (a.ravel()[where] for a in (n, nt, ne, nte))
            self._table[key.ravel()[where]] = self.compute(*sel)
            vals = self._table[key]
        return np.asarray(vals, dtype=np.float64)


@lru_cache(maxsize=64)
def desirability_table(design: BOIN12, max_n: int) -> DesirabilityTable:
    """The (lazily filled) desirability table of ``design`` for doses with up to max_n patients."""
    return DesirabilityTable(design, max_n)


# ------------------------------------------------------------------------ decisions
def inadmissible_arrays(
    eliminated: BoolArray, tox_fail: BoolArray, eff_fail: BoolArray
) -> BoolArray:
    """:func:`~doseladder.core.designs.boin12.inadmissible_doses` for every trial (dose-major):
    a toxicity failure excludes that dose and every higher dose, a futility failure that dose
    only, and earlier eliminations stay."""
    out = eliminated | eff_fail
    acc = np.zeros(tox_fail.shape[1], dtype=np.bool_)
    for j in range(tox_fail.shape[0]):
        acc = acc | tox_fail[j]
        out[j] |= acc
    return out


@dataclass(frozen=True, slots=True)
class NextDoses:
    """Outcome of :func:`boin12_next_doses` per trial (doses 0-based).

    Attributes:
        next_dose: the dose of the next cohort (meaningless where ``no_admissible``).
        no_admissible: the trial stops, no admissible candidate dose (no dose selected).
        n_stop: the trial stops for ``n_stop`` (the OBD is still selected).
    """

    next_dose: IntArray
    no_admissible: BoolArray
    n_stop: BoolArray


@dataclass(frozen=True, slots=True)
class Neighbours:
    """The candidate doses around the current dose d of each trial (0-based).

    Attributes:
        below: highest admissible dose < d (0 where ``has_below`` is False).
        above: lowest admissible dose > d reached without passing an untreated dose (0 where
            ``has_above`` is False).
        here: d is admissible.
    """

    below: IntArray
    has_below: BoolArray
    above: IntArray
    has_above: BoolArray
    here: BoolArray


def neighbours(d: IntArray, n: IntArray, admissible: BoolArray) -> Neighbours:
    """The "below", "above" and "here" of
    :func:`~doseladder.core.designs.boin12.boin12_next_dose` for many trials (dose-major ``n``
    and ``admissible``)."""
    num, rows = n.shape
    below = np.full(rows, -1, dtype=np.int64)
    first = np.full(rows, -1, dtype=np.int64)  # first dose > d admissible or untreated
    for j in range(num):
        below = np.where(admissible[j] & (j < d), j, below)
        k = num - 1 - j
        first = np.where((k > d) & (admissible[k] | (n[k] == 0)), k, first)
    above = np.maximum(first, 0)
    has_above = (first >= 0) & pick(admissible, above)
    return Neighbours(np.maximum(below, 0), below >= 0, above, has_above, pick(admissible, d))


def rule_branches(
    design: BOIN12,
    consts: Boin12Constants,
    d: IntArray,
    n: IntArray,
    p_hat: FloatArray,
    near: Neighbours,
) -> tuple[BoolArray, BoolArray, BoolArray, BoolArray]:
    """Which rule of §3.5 applies: (exploration, de-escalation, N* choice, largest D)."""
    n_d = pick(n, d)
    high = p_hat >= consts.lambda_d
    if design.exploration_n is not None:
        explore = (
            near.has_above
            & (pick(n, near.above) == 0)
            & (p_hat < consts.lambda_d)
            & (n_d >= design.exploration_n)
        )
    else:
        explore = np.zeros(d.size, dtype=np.bool_)
    deesc = ~explore & high
    nstar = ~explore & ~high & (consts.lambda_e < p_hat) & (n_d >= design.n_star)
    general = ~(explore | deesc | nstar)
    return explore, deesc, nstar, general


def desirability_needed(
    design: BOIN12,
    consts: Boin12Constants,
    d: IntArray,
    n: IntArray,
    p_hat: FloatArray,
    near: Neighbours,
) -> BoolArray:
    """The doses whose D :func:`boin12_next_doses` compares (dose-major mask): the candidates
    of the N* rule ({below, d}) or of the largest-D rule ({below, d, above}) when at least two
    of them are admissible; D is not read otherwise."""
    _, _, nstar, general = rule_branches(design, consts, d, n, p_hat, near)
    use_above = general & near.has_above
    count = near.has_below.astype(np.int64) + near.here + use_above
    compare = (nstar | general) & (count >= 2)
    dose = np.arange(n.shape[0])[:, None]
    out: BoolArray = (dose == near.below) & (near.has_below & compare)
    out |= (dose == d) & (near.here & compare)
    out |= (dose == near.above) & (use_above & compare)
    return out


def boin12_next_doses(
    design: BOIN12,
    consts: Boin12Constants,
    d: IntArray,
    n: IntArray,
    p_hat: FloatArray,
    desir: FloatArray,
    admissible: BoolArray,
    near: Neighbours | None = None,
    branches: tuple[BoolArray, BoolArray, BoolArray, BoolArray] | None = None,
) -> NextDoses:
    """:func:`~doseladder.core.designs.boin12.boin12_next_dose` and the ``n_stop`` rule of
    ``BOIN12._finish`` for many trials (the maximum sample size aside).

    ``d`` current doses (0-based, n_d > 0), ``n`` patients per dose, ``p_hat`` the toxicity
    estimate at d, ``desir`` D per dose (only read at the candidate doses), ``admissible`` per
    dose (dose-major arrays), ``near`` :func:`neighbours` and ``branches``
    :func:`rule_branches` if already computed.  Rule order and
    tie rules of the core (spec §3.5): exploration; de-escalation to "below" (stay if there is
    none and d is admissible); N* choice between {below, d} (``nstar_tie``); otherwise the
    largest D among {below, d, above}, ties to the higher dose.  Then ``n_stop``
    (``n_stop_dose``).
    """
    if near is None:
        near = neighbours(d, n, admissible)
    below, has_below = near.below, near.has_below
    above, has_above, here = near.above, near.has_above, near.here

    if branches is None:
        branches = rule_branches(design, consts, d, n, p_hat, near)
    explore, deesc, nstar, general = branches

    ninf = -np.inf
    d_below = np.where(has_below, pick(desir, below), ninf)
    d_here = np.where(here, pick(desir, d), ninf)
    d_above = np.where(has_above, pick(desir, above), ninf)

    # exploration: the untried next admissible dose
    nxt = np.where(explore, above, d)
    # de-escalation: below; else stay if d is admissible; else no admissible dose
    nxt = np.where(deesc & has_below, below, nxt)
    # N*: {below, d}
    if design.nstar_tie == "lower":
        take_below = has_below & (~here | (d_below >= d_here))
    else:
        take_below = has_below & (~here | (d_below > d_here))
    nxt = np.where(nstar & take_below, below, nxt)
    # general: {below, d, above}, ties to the highest dose
    # (D is compared only between candidates that are present: see desirability_needed)
    take_above = has_above & (~here | (d_above >= d_here)) & (~has_below | (d_above >= d_below))
    take_here = ~take_above & here & (~has_below | (d_here >= d_below))
    gen_next = np.where(take_above, above, np.where(take_here, d, below))
    nxt = np.where(general, gen_next, nxt)

    none = ~has_below & ~here
    no_adm = ((deesc | nstar) & none) | (general & none & ~has_above)
    stop_n = n_stop_reached(design, n, d, nxt) & ~no_adm
    return NextDoses(nxt.astype(np.int64), no_adm, stop_n)


def n_stop_reached(design: BOIN12, n: IntArray, d: IntArray, nxt: IntArray) -> BoolArray:
    """``BOIN12._finish``'s ``n_stop`` rule in its ``n_stop_dose`` mode (``nxt`` must be a
    valid dose where it matters)."""
    if design.n_stop is None:
        return np.zeros(n.shape[1], dtype=np.bool_)
    if design.n_stop_dose == "recommended":
        count = pick(n, nxt)
    elif design.n_stop_dose == "current":
        count = pick(n, d)
    else:
        count = n.max(axis=0)
    return np.asarray(count >= design.n_stop, dtype=np.bool_)


# ------------------------------------------------------------------- the decision
@dataclass(frozen=True, slots=True)
class Boin12Stats:
    """What the BOIN12 rules read per dose (dose-major; the array form of
    :class:`~doseladder.core.designs.boin12.DoseSummary`).

    Attributes:
        p_tox: toxicity estimate (NaN = not estimable: untried, or zero effective sample size).
        desir: D per dose (NaN where it is filled on demand, see :func:`conclude_boin12`).
        tox_fail, eff_fail: the dose's own data meet the toxicity / futility elimination rule.
    """

    p_tox: FloatArray
    desir: FloatArray
    tox_fail: BoolArray
    eff_fail: BoolArray


#: fills D at the doses the rules compare (a dose-major mask) -> D per dose
DesirabilityFill = Callable[[BoolArray], FloatArray]


def complete_stats(design: BOIN12, data: DoseArrays) -> Boin12Stats:
    """:func:`~doseladder.core.designs.boin12.complete_summary` for every trial."""
    n = data.n
    size = table_size(design, n)
    consts = boin12_constants(design, size)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_tox = data.tox / n
    desir = desirability_table(design, size)(n, data.tox, data.eff, data.both)
    tox_fail = data.tox >= consts.tox_bound[n]
    eff_fail = data.eff <= consts.eff_bound[n]
    return Boin12Stats(p_tox, desir, tox_fail, eff_fail)


def conclude_boin12(
    design: BOIN12,
    data: DoseArrays,
    stats: Boin12Stats,
    fill: DesirabilityFill | None = None,
) -> ArrayDecision:
    """``BOIN12._conclude`` and ``_finish`` (spec §3.5, stopping rules) for every trial.

    ``fill`` (TITE-BOIN12) computes D at the compared doses where ``stats.desir`` is NaN.
    """
    n, d, prior = data.n, data.current, data.eliminated
    consts = boin12_constants(design, table_size(design, n))
    total = n.sum(axis=0)
    inadm = inadmissible_arrays(prior, stats.tox_fail, stats.eff_fail)
    adm = ~inadm
    p_d = pick(stats.p_tox, d)
    nodata = ~np.isfinite(p_d)
    p_rule = np.where(nodata, 0.0, p_d)
    near = neighbours(d, n, adm)
    desir = stats.desir
    if fill is not None:
        desir = fill(desirability_needed(design, consts, d, n, p_rule, near))
    branches = rule_branches(design, consts, d, n, p_rule, near)
    res = boin12_next_doses(design, consts, d, n, p_rule, desir, adm, near, branches)
    deesc = branches[1]
    nxt = res.next_dose
    no_adm = res.no_admissible
    tox_rule = deesc & ~no_adm
    # no estimate at the current dose (untried current dose, or zero effective sample size)
    if nodata.any():
        here = near.here
        nxt = np.where(nodata & here, d, np.where(nodata, near.below, nxt))
        no_adm = np.where(nodata, ~here & ~near.has_below, no_adm)
        tox_rule = np.where(nodata, ~here & near.has_below, tox_rule)
    stop_max = (total >= design.max_n) & ~no_adm
    stop_n = n_stop_reached(design, n, d, np.where(no_adm, 0, nxt)) & ~no_adm & ~stop_max
    action = np.where(nxt > d, ESCALATE, np.where(nxt < d, DEESCALATE, STAY))
    action = np.where(no_adm | stop_max | stop_n, STOP, action)
    recorded = inadm if design.admissibility == "permanent" else prior
    return ArrayDecision(
        action.astype(np.int64),
        np.where(no_adm, -1, nxt).astype(np.int64),
        recorded,
        tox_rule & ~no_adm & ~stop_max & ~stop_n,
    )


def suspend_where(
    decision: ArrayDecision, suspend: BoolArray, data: DoseArrays, *, record: bool = False
) -> ArrayDecision:
    """Accrual suspended for the trials ``suspend``: next dose = current dose, not a toxicity
    de-escalation.  Eliminations: as before the decision (``state.eliminated``), or with
    ``record`` (TITE-BOIN12) those the rules' decision records on the current data."""
    if not suspend.any():
        return decision
    elim = decision.eliminated if record else data.eliminated
    return ArrayDecision(
        np.where(suspend, SUSPEND, decision.action).astype(np.int64),
        np.where(suspend, data.current, decision.next_dose).astype(np.int64),
        np.where(suspend[None, :], elim, decision.eliminated),
        decision.tox_deesc & ~suspend,
    )


def decide_boin12(design: BOIN12, data: DoseArrays) -> ArrayDecision:
    """``BOIN12._decide`` (complete data) for every trial with at least one patient: any
    pending toxicity or efficacy outcome suspends accrual; otherwise the rules on the
    complete-data statistics (:func:`complete_stats`, :func:`conclude_boin12`)."""
    if not (data.tox_pending.any() or data.eff_pending.any()):
        return conclude_boin12(design, data, complete_stats(design, data))
    pending = (data.tox_pending.sum(axis=0) + data.eff_pending.sum(axis=0)) > 0
    if pending.all():
        return suspend_where(ArrayDecision.empty(data.num_doses, data.rows), pending, data)
    dec = conclude_boin12(design, data, complete_stats(design, data))
    return suspend_where(dec, pending, data)


# ------------------------------------------------------------------------ selection
def select_obd_vectorised(
    design: BOIN12,
    consts: Boin12Constants,
    n: IntArray,
    n_tox: IntArray,
    n_eff: IntArray,
    n_both: IntArray,
    admissible: BoolArray,
    table: DesirabilityTable,
) -> IntArray:
    """:func:`~doseladder.core.select_obd.select_obd` for every trial (spec §3.6; dose-major
    counts); 1-based, 0 = none.  ``n_both``: patients with toxicity and efficacy."""
    num, rows = n.shape
    if design.obd_statistic == "phase12designs":
        return _select_phase12designs(design, n, n_tox, n_eff, admissible)
    dose = np.arange(num)[:, None]
    tried = n > 0
    phi_t = design.phi_t
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = n_tox / n
    if design.obd_statistic == "posterior_mean":
        phat = np.where(tried, rate, phi_t)
        w = 1.0 / ((n_tox + 0.05) * (n - n_tox + 0.05) / (consts.pava_square[n] * (n + 0.1 + 1)))
        smooth = pava_arrays(phat, w, np.ones_like(tried))
        fitted = smooth + 0.001 * (dose + 1)
        mtd = np.argmin(np.abs(fitted - phi_t), axis=0)
        x = quasi_events_values(
            n_eff - n_both, n - n_tox - n_eff + n_both, n_both, n_tox - n_both, table.utilities
        )
        util = (design.prior_alpha + x) / (design.prior_alpha + design.prior_beta + n)
    else:
        smooth = pava_arrays(np.where(tried, rate, 0.0), np.ones((num, rows)), tried)
        dist = np.where(tried, np.abs(smooth - phi_t), np.inf)
        best = dist.min(axis=0)
        mtd = (num - 1) - np.argmax((dist == best)[::-1], axis=0)
        util = table(n, n_tox, n_eff, n_both)
    cand = tried & admissible & (dose <= mtd)
    vals = np.where(cand, util, -np.inf)
    chosen = np.argmax(vals, axis=0)
    return np.where(cand.any(axis=0), chosen + 1, 0).astype(np.int64)


def _select_phase12designs(
    design: BOIN12, n: IntArray, n_tox: IntArray, n_eff: IntArray, admissible: BoolArray
) -> IntArray:
    """``obd_statistic="phase12designs"``: the core's rule
    (:func:`~doseladder.core.select_obd.select_obd`) once per distinct count pattern
    (n, n_T, n_E, admissible) -- the final selection is made once per trial, and trials share
    few patterns, so the rule is not written a second time."""
    num, rows = n.shape
    if rows == 0:
        return np.zeros(0, dtype=np.int64)
    keys = np.concatenate([n, n_tox, n_eff, admissible.astype(np.int64)], axis=0)
    patterns, inverse = np.unique(keys, axis=1, return_inverse=True)
    chosen = np.zeros(patterns.shape[1], dtype=np.int64)
    for k in range(patterns.shape[1]):
        col = [int(v) for v in patterns[:, k]]
        res = select_obd(
            col[:num],
            col[num : 2 * num],
            [0.0] * num,
            [bool(v) for v in col[3 * num :]],
            design.phi_t,
            u_b=design.u_b,
            statistic="phase12designs",
            n_eff=col[2 * num : 3 * num],
            utilities=design.utilities,
        )
        chosen[k] = 0 if res.dose is None else res.dose
    return chosen[np.asarray(inverse).reshape(-1)]


def final_selection(
    design: BOIN12,
    consts: Boin12Constants,
    n: IntArray,
    n_tox: IntArray,
    n_eff: IntArray,
    n_both: IntArray,
    eliminated: BoolArray,
    table: DesirabilityTable,
) -> IntArray:
    """``BOIN12.select`` on complete data (dose-major counts): admissibility from the final
    counts plus the eliminations recorded during the trial, then :func:`select_obd_vectorised`."""
    tox_fail = n_tox >= consts.tox_bound[n]
    eff_fail = n_eff <= consts.eff_bound[n]
    adm = ~inadmissible_arrays(eliminated, tox_fail, eff_fail)
    return select_obd_vectorised(design, consts, n, n_tox, n_eff, n_both, adm, table)


def select_boin12(design: BOIN12, data: DoseArrays) -> IntArray:
    """``BOIN12.select`` (and TITE-BOIN12's, which is the same) for every trial on complete
    data; 1-based, 0 = no OBD."""
    size = table_size(design, data.n)
    return final_selection(
        design,
        boin12_constants(design, size),
        data.n,
        data.tox,
        data.eff,
        data.both,
        data.eliminated,
        desirability_table(design, size),
    )
