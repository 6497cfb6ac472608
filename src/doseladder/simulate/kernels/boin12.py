"""Vectorised BOIN12 trials on complete data (Lin et al. 2020; spec ``dose-finding.md`` §3).

The source of truth is :class:`doseladder.core.designs.boin12.BOIN12`: after every cohort the
kernel takes the decision of ``design.decide(state)`` and at the end the selection of
``design.select(state)`` (tested on simulated histories in
``tests/simulate/kernels/test_boin12.py``), for every option of the design:

* desirability D (§3.3) depends on the counts (n, n_T, n_E, n_TE) of a dose only; it is
  tabulated, on first use, with the core's formula (:func:`~doseladder.core.designs.boin12.
  quasi_events` then :func:`~doseladder.core.designs.boin12.desirability`, the same floating-point
  operations on arrays), so ties between doses are broken exactly as the core breaks them;
* admissibility (§3.4) uses the core's integer elimination boundaries
  (:func:`~doseladder.core.designs.boin12.tox_elimination_boundary`,
  :func:`~doseladder.core.designs.boin12.eff_elimination_boundary`) indexed by n, toxicity
  failures excluding every higher dose, ``admissibility="permanent"`` carrying the inadmissible
  doses forward (``"reevaluate"`` recomputes them at each decision);
* the dose assignment is :func:`~doseladder.core.designs.boin12.boin12_next_dose` in its rule
  order (exploration, de-escalation, N* with ``nstar_tie``, largest D with ties to the higher
  dose), then ``n_stop`` in its ``n_stop_dose`` mode (``BOIN12._finish``);
* the final OBD is :func:`~doseladder.core.select_obd.select_obd` (both ``obd_statistic``
  variants), with the core's pool-adjacent-violators order of operations.

Trial conduct (no time): cohorts of ``cohort_size`` at the current dose; after each cohort
the decision above; the cohort that reaches ``max_n`` ends the trial (as the core's
``max_n_reached``; ``phase12designs::oc_boin12`` likewise stops at N).  A trial that stops
because no candidate dose is admissible is ``stopped_early`` and selects no dose (spec §3.6
step 4); a stop for ``n_stop`` selects the OBD as usual and is not flagged (the BOIN kernel's
convention: ``stopped_early`` marks stops without a selection).

Every option of :class:`BOIN12` is supported (none raises).  Per-dose state is dose-major,
shape (doses, trials), so that the loops over the few dose levels work on contiguous vectors of
trials; the state of the trials still running is kept compacted.  The building blocks
(:class:`DesirabilityTable`, :func:`neighbours`, :func:`boin12_next_doses`,
:func:`select_obd_vectorised`, ...) are shared with the TITE-BOIN12 kernel
(:mod:`doseladder.simulate.kernels.tite_boin12`).

Reference check (``test_boin12.py``, reference-results S2): the dose assignment matches
``phase12designs::oc_boin12`` (34.5 % vs 34.4 % of patients at the OBD); its final selection
differs (u1·p̂E + (1 − p̃T)·u2 with a model-averaged unimodal efficacy fit and random
tie-breaking, not the Yuan-group posterior mean utility of the core), which puts this kernel
about 1.6 points lower on the OBD (53.5 % vs 55.1 %).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import beta as beta_dist

from doseladder.core.designs.boin12 import (
    BOIN12,
    eff_elimination_boundary,
    tox_elimination_boundary,
)
from doseladder.core.isotonic import pava_arrays as pava_columns
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.results import TrialArrays

__all__ = [
    "Boin12Constants",
    "DesirabilityTable",
    "Neighbours",
    "NextDoses",
    "boin12_constants",
    "boin12_next_doses",
    "desirability_needed",
    "desirability_table",
    "final_selection",
    "inadmissible_doses_vectorised",
    "neighbours",
    "pava_columns",
    "pick",
    "quasi_events_rows",
    "select_obd_vectorised",
    "simulate_boin12",
]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_NONE = 10**6  # an unreachable count, standing for "no boundary" (the core's ``None``)
_MAX_TABLE = 1 << 22  # largest desirability table kept in memory (entries; 32 MB)


# ------------------------------------------------------------------------------ tables
@dataclass(frozen=True, slots=True)
class Boin12Constants:
    """Per-design numbers used at every decision (index = patients at a dose, 0..max_n).

    Attributes:
        lambda_e, lambda_d: BOIN boundaries at φT (``BOIN12.lambda_e`` / ``lambda_d``).
        tox_bound: eliminate for toxicity if n_T >= tox_bound[n] (``_NONE`` = never).
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
    tb = np.full(max_n + 1, _NONE, dtype=np.int64)
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


def quasi_events_rows(
    utilities: tuple[float, float, float, float],
    y1: NDArray[Any],
    y2: NDArray[Any],
    y3: NDArray[Any],
    y4: NDArray[Any],
) -> FloatArray:
    """x = (u1·y1 + u2·y2 + u3·y3 + u4·y4)/100 elementwise, in the core's operation order
    (:func:`~doseladder.core.designs.boin12.quasi_events`, spec §3.3)."""
    u1, u2, u3, u4 = utilities
    return np.asarray((u1 * y1 + u2 * y2 + u3 * y3 + u4 * y4) / 100.0, dtype=np.float64)


class DesirabilityTable:
    """D = Pr(U > u_b/100 | data) of a dose on complete data, by (n, n_T, n_E, n_TE).

    Entries are computed when first needed with the core's formula
    (``beta.sf(u_b/100, α + x, β + n − x)`` with x from the four cells, spec §3.3) and kept.
    With integer utilities satisfying u1 + u4 = u2 + u3 (the defaults) x -- computed exactly --
    does not depend on n_TE, and the table is indexed by (n, n_T, n_E) only.  A table that
    would exceed 2^22 entries (max_n > 44 with other utilities) is not kept: D is then
    computed at every call.
    """

    def __init__(self, design: BOIN12, max_n: int) -> None:
        u = design.utilities
        self.utilities = (float(u[0]), float(u[1]), float(u[2]), float(u[3]))
        self.q = design.u_b / 100.0
        self.alpha = float(design.prior_alpha)
        self.beta = float(design.prior_beta)
        self.marginal = all(float(v).is_integer() for v in u) and u[0] + u[3] == u[1] + u[2]
        self.m = max_n + 1
        self.k = 1 if self.marginal else self.m
        size = self.m * self.m * self.m * self.k
        self._table: FloatArray | None = np.full(size, np.nan) if size <= _MAX_TABLE else None

    def compute(self, n: IntArray, nt: IntArray, ne: IntArray, nte: IntArray) -> FloatArray:
        """D for these counts, without the table (the core's formula on arrays)."""
        x = quasi_events_rows(self.utilities, ne - nte, n - nt - ne + nte, nte, nt - nte)
        return np.asarray(beta_dist.sf(self.q, self.alpha + x, self.beta + n - x), dtype=np.float64)

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
# Per-dose arrays are dose-major, shape (doses, trials): the loops over the few dose levels
# then work on contiguous vectors of trials, much faster than reductions along a short axis.


def pick(values: NDArray[Any], dose: IntArray) -> NDArray[Any]:
    """``values[dose[r], r]`` for every trial r of a dose-major array."""
    rows = values.shape[1]
    return np.asarray(np.take(values.reshape(-1), dose * rows + np.arange(rows)))


def inadmissible_doses_vectorised(
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


def _branches(
    design: BOIN12,
    consts: Boin12Constants,
    d: IntArray,
    n: IntArray,
    p_hat: FloatArray,
    near: Neighbours,
) -> tuple[BoolArray, BoolArray, BoolArray, BoolArray]:
    """Which rule of §3.5 applies: exploration, de-escalation, N* choice, largest D."""
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
    _, _, nstar, general = _branches(design, consts, d, n, p_hat, near)
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
) -> NextDoses:
    """``BOIN12._conclude`` + ``_finish`` for many trials (the maximum sample size aside).

    ``d`` current doses (0-based, n_d > 0), ``n`` patients per dose, ``p_hat`` the toxicity
    estimate at d, ``desir`` D per dose (only read at the candidate doses), ``admissible`` per
    dose (dose-major arrays), ``near`` :func:`neighbours` if already computed.  Rule order and
    tie rules of :func:`~doseladder.core.designs.boin12.boin12_next_dose` (spec §3.5):
    exploration; de-escalation to "below" (stay if there is none and d is admissible); N*
    choice between {below, d} (``nstar_tie``); otherwise the largest D among {below, d, above},
    ties to the higher dose.  Then ``n_stop`` (``n_stop_dose``).
    """
    rows = n.shape[1]
    if near is None:
        near = neighbours(d, n, admissible)
    safe_below, has_below = near.below, near.has_below
    above, has_above, here = near.above, near.has_above, near.here
    below = safe_below
    n_d = pick(n, d)

    explore, deesc, nstar, general = _branches(design, consts, d, n, p_hat, near)

    ninf = -np.inf
    d_below = np.where(has_below, pick(desir, safe_below), ninf)
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
    gen_next = np.where(take_above, above, np.where(take_here, d, safe_below))
    nxt = np.where(general, gen_next, nxt)

    none = ~has_below & ~here
    no_adm = ((deesc | nstar) & none) | (general & none & ~has_above)

    if design.n_stop is None:
        stop_n = np.zeros(rows, dtype=np.bool_)
    else:
        if design.n_stop_dose == "recommended":
            count = pick(n, nxt)
        elif design.n_stop_dose == "current":
            count = n_d
        else:
            count = n.max(axis=0)
        stop_n = (count >= design.n_stop) & ~no_adm
    return NextDoses(nxt.astype(np.int64), no_adm, stop_n)


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
    dose = np.arange(num)[:, None]
    tried = n > 0
    phi_t = design.phi_t
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = n_tox / n
    if design.obd_statistic == "posterior_mean":
        phat = np.where(tried, rate, phi_t)
        w = 1.0 / ((n_tox + 0.05) * (n - n_tox + 0.05) / (consts.pava_square[n] * (n + 0.1 + 1)))
        smooth = pava_columns(phat, w, np.ones_like(tried))
        fitted = smooth + 0.001 * (dose + 1)
        mtd = np.argmin(np.abs(fitted - phi_t), axis=0)
        x = quasi_events_rows(
            table.utilities, n_eff - n_both, n - n_tox - n_eff + n_both, n_both, n_tox - n_both
        )
        util = (design.prior_alpha + x) / (design.prior_alpha + design.prior_beta + n)
    else:
        smooth = pava_columns(np.where(tried, rate, 0.0), np.ones((num, rows)), tried)
        dist = np.where(tried, np.abs(smooth - phi_t), np.inf)
        best = dist.min(axis=0)
        mtd = (num - 1) - np.argmax((dist == best)[::-1], axis=0)
        util = table(n, n_tox, n_eff, n_both)
    cand = tried & admissible & (dose <= mtd)
    vals = np.where(cand, util, -np.inf)
    chosen = np.argmax(vals, axis=0)
    return np.where(cand.any(axis=0), chosen + 1, 0).astype(np.int64)


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
    adm = ~inadmissible_doses_vectorised(eliminated, tox_fail, eff_fail)
    return select_obd_vectorised(design, consts, n, n_tox, n_eff, n_both, adm, table)


# --------------------------------------------------------------------------- kernel
def simulate_boin12(design: BOIN12, draws: PatientDraws) -> TrialArrays:
    """Simulate a block of BOIN12 trials (complete data) on the block's latent patients.

    The per-dose state of the trials still running is kept compacted (dose-major); a trial's
    state is written to the outputs when it stops.
    """
    nt, num = draws.n_trials, design.num_doses
    csize, max_n = design.cohort_size, design.max_n
    consts = boin12_constants(design, max_n)
    table = desirability_table(design, max_n)
    permanent = design.admissibility == "permanent"
    zero = np.zeros(1, dtype=np.int64)
    d0 = float(table(zero, zero, zero, zero)[0])

    # outputs (dose-major while simulating)
    out = np.zeros((5, num, nt), dtype=np.int64)  # n, n_T, n_E, n_TE, eliminated
    early = np.zeros(nt, dtype=np.bool_)
    n_cohorts = -(-max_n // csize)
    cohort_dose = np.zeros((n_cohorts, nt), dtype=np.int64)  # dose of each cohort (0 = none)
    cohort = 0
    # working state of the running trials
    idx = np.arange(nt)
    st = np.zeros((4, num, nt), dtype=np.int64)  # n, n_T, n_E, n_TE
    desir = np.full((num, nt), d0)
    fails = np.zeros((3, num, nt), dtype=np.bool_)  # tox_fail, eff_fail, eliminated
    d = np.full(nt, design.start_dose - 1, dtype=np.int64)
    total = 0
    while True:
        size = min(csize, max_n - total)
        rows = idx.size
        add = np.zeros((3, rows), dtype=np.int64)
        for k in range(total, total + size):
            t = draws.tox(idx, k, d)
            e = draws.eff(idx, k, d)
            add[0] += t
            add[1] += e
            add[2] += t & e
        flat = d * rows + np.arange(rows)
        st[0].reshape(-1)[flat] += size
        for s in range(3):
            st[s + 1].reshape(-1)[flat] += add[s]
        cohort_dose[cohort, idx] = d + 1
        cohort += 1
        total += size
        if total >= max_n:
            break  # the cohort reaching the maximum sample size ends the trial
        nd, ntd, ned, nted = (np.take(st[s].reshape(-1), flat) for s in range(4))
        desir.reshape(-1)[flat] = table(nd, ntd, ned, nted)
        fails[0].reshape(-1)[flat] = ntd >= consts.tox_bound[nd]
        fails[1].reshape(-1)[flat] = ned <= consts.eff_bound[nd]
        inadm = inadmissible_doses_vectorised(fails[2], fails[0], fails[1])
        res = boin12_next_doses(design, consts, d, st[0], ntd / nd, desir, ~inadm)
        if permanent:
            fails[2] = inadm
        d = res.next_dose
        stop = res.no_admissible | res.n_stop
        if stop.any():
            gone = idx[stop]
            early[idx[res.no_admissible]] = True
            out[:4, :, gone] = st[:, :, stop]
            out[4][:, gone] = fails[2][:, stop]
            keep = ~stop
            idx, d = idx[keep], d[keep]
            # compact (np.compress returns C-contiguous arrays: reshape(-1) stays a view)
            st = np.compress(keep, st, axis=2)
            desir = np.compress(keep, desir, axis=1)
            fails = np.compress(keep, fails, axis=2)
            if idx.size == 0:
                break
    out[:4, :, idx] = st
    out[4][:, idx] = fails[2]
    n, yt, ye, yte = out[0], out[1], out[2], out[3]
    selected = final_selection(design, consts, n, yt, ye, yte, out[4].astype(np.bool_), table)
    selected[early] = 0
    return TrialArrays(
        n=np.ascontiguousarray(n.T),
        tox=np.ascontiguousarray(yt.T),
        eff=np.ascontiguousarray(ye.T),
        selected=selected,
        stopped_early=early,
        duration=np.full(nt, np.nan),
        suspended=np.zeros(nt),
        dose_seq=np.repeat(cohort_dose.T, csize, axis=1)[:, :max_n],
        entry=np.empty((nt, 0)),  # no time in complete-data trials
    )
