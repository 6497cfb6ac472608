"""BOIN12's rules for many trials at once: :func:`decide_boin12` and :func:`select_boin12`.

The array form of ``BOIN12._decide`` / ``_conclude`` / ``_finish`` (spec ``dose-finding.md``
§3.3-3.5) and of ``BOIN12.select`` (:func:`~doseladder.core.select_obd.select_obd`, §3.6), for
every option of :class:`~doseladder.core.designs.boin12.BOIN12`.  The formulas are the core's,
evaluated on arrays (:func:`~doseladder.core.designs.boin12.quasi_events_values`,
:func:`~doseladder.core.designs.boin12.desirability_values`, the integer elimination boundaries
of :func:`~doseladder.core.designs.boin12.tox_elimination_boundary` /
:func:`~doseladder.core.designs.boin12.eff_elimination_boundary`), so ties between doses are
broken exactly as the scalar ``decide`` breaks them.

The rule part is written once, as small compiled functions for ONE trial (Numba,
:func:`doseladder.jit.compiled_inline`) on the trial's packed statistics (one float64
(``ST_ROWS``, J) array, rows ``ST_*``) and the design's :func:`rule_table`:
:func:`conclude_trial` (``_conclude`` and ``_finish``) with :func:`admissible_trial`,
:func:`neighbours_trial`, :func:`rule_trial`, :func:`next_dose_trial`, :func:`needed_trial`,
:func:`n_stop_trial`, :func:`elimination_flags_trial` (:func:`eliminates`), and the final
selection :func:`select_trial` (``select_obd``'s posterior-mean and desirability statistics,
with :func:`select_table`).  They are this module's array form of the rule:
:func:`conclude_boin12` / :func:`boin12_next_doses` / :func:`inadmissible_arrays` /
:func:`select_obd_vectorised` loop over trials with them, and the BOIN12 simulation kernel
calls :func:`conclude_trial` and :func:`select_trial` inside its compiled trial loop.  One
array for the statistics and one for the design, because Numba counts references to every
array handed to an inlined function (atomic operations that would cost more than the rule).
The rule part reads per-dose statistics (:class:`Boin12Stats`) and is shared with TITE-BOIN12
(:mod:`doseladder.core.designs.arrays.tite_boin12`), whose statistics are the
approximated-likelihood ones: its ``decide_one`` calls these per-trial functions on its own
packed statistics.  The per-design numbers (boundaries, the desirability table) are
computed by the core's functions and only looked up by the compiled code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

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
)
from doseladder.core.designs.boin12 import (
    BOIN12,
    desirability_values,
    eff_elimination_boundary,
    quasi_events_values,
    tox_elimination_boundary,
)
from doseladder.core.isotonic_compiled import pava_masked
from doseladder.core.select_obd import select_obd
from doseladder.jit import compiled, compiled_inline

__all__ = [
    "NO_BOUNDARY",
    "STATISTIC_CODES",
    "ST_ADM",
    "ST_BOTH",
    "ST_DESIR",
    "ST_EFF",
    "ST_EFF_FAIL",
    "ST_ELIM",
    "ST_N",
    "ST_NEED",
    "ST_PRIOR",
    "ST_ROWS",
    "ST_TOX",
    "ST_TOX_FAIL",
    "Boin12Constants",
    "Boin12Stats",
    "DesirabilityFill",
    "DesirabilityTable",
    "NextDoses",
    "admissible_trial",
    "boin12_constants",
    "boin12_next_doses",
    "complete_stats",
    "conclude_boin12",
    "conclude_trial",
    "decide_boin12",
    "desirability_table",
    "eliminates",
    "elimination_flags_arrays",
    "elimination_flags_one",
    "elimination_flags_trial",
    "final_selection",
    "inadmissible_arrays",
    "n_stop_trial",
    "needed_trial",
    "neighbours_trial",
    "next_dose_trial",
    "rule_options",
    "rule_table",
    "rule_trial",
    "select_boin12",
    "select_obd_vectorised",
    "select_table",
    "select_trial",
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
# The rules of spec §3.4-3.5 for ONE trial, compiled (Numba, :func:`doseladder.jit.compiled`).
# They are the array form of the rule: every array function below (and the simulation
# kernels' trial loops) calls them, trial by trial; nothing else writes the rule.  Options are
# packed in two small arrays (:func:`rule_options`) so the signatures stay fixed.

#: indices of :func:`rule_options`'s integer options
_O_EXPLORATION, _O_NSTAR, _O_NSTAR_LOWER, _O_NSTOP, _O_NSTOP_MODE, _O_MAXN, _O_PERMANENT = range(7)
#: the rule that applies (spec §3.5, in the core's order)
_EXPLORE, _DEESC, _NSTAR, _GENERAL = 0, 1, 2, 3
_NSTOP_MODES = {"recommended": 0, "current": 1, "any": 2}


@lru_cache(maxsize=64)
def rule_options(design: BOIN12) -> tuple[IntArray, FloatArray]:
    """The options the compiled rules read: (integers, floats).

    Integers: exploration_n (-1 = none), n_star, nstar_tie == "lower", n_stop (-1 = none),
    n_stop_dose (0 recommended, 1 current, 2 any), max_n, admissibility == "permanent".
    Floats: λe, λd.
    """
    ints = np.array(
        [
            -1 if design.exploration_n is None else design.exploration_n,
            design.n_star,
            design.nstar_tie == "lower",
            -1 if design.n_stop is None else design.n_stop,
            _NSTOP_MODES[design.n_stop_dose],
            design.max_n,
            design.admissibility == "permanent",
        ],
        dtype=np.int64,
    )
    floats = np.array([design.lambda_e, design.lambda_d], dtype=np.float64)
    ints.setflags(write=False)
    floats.setflags(write=False)
    return ints, floats


#: rows of one trial's packed dose statistics (a float64 (ST_ROWS, J) array, booleans as
#: 0/1): patients, toxicities, responses and both (TITE: any counts), D, the dose's own
#: toxicity / futility elimination flags, the eliminations recorded before, then what the
#: rules write: the admissible doses, the eliminations the decision records, the doses whose
#: D the rules compare (:func:`needed_trial`).  One array (and one :func:`rule_table`), so
#: that a compiled call of the rule costs no more than the rule (Numba counts references
#: per array argument, with an atomic operation each).
(ST_N, ST_TOX, ST_EFF, ST_BOTH, ST_DESIR, ST_TOX_FAIL, ST_EFF_FAIL, ST_PRIOR, ST_ADM, ST_ELIM,
 ST_NEED, ST_ROWS) = range(12)  # fmt: skip
#: indices of :func:`rule_table`: :func:`rule_options`'s integers then λe, λd, then the number
#: S of counts n tabulated and the elimination boundaries by n = 0..S-1
_R_LAMBDA_E, _R_LAMBDA_D, _R_SIZE, _R_HEADER = 7, 8, 9, 10


@lru_cache(maxsize=64)
def rule_table(design: BOIN12, max_n: int) -> FloatArray:
    """What the per-trial rules read from a design, in one read-only float64 array (counts are
    exact): :func:`rule_options` (integers, then λe, λd), the size S = max_n + 1, then
    :class:`Boin12Constants`' toxicity and futility boundaries for n = 0..max_n."""
    ints, floats = rule_options(design)
    consts = boin12_constants(design, max_n)
    out = np.concatenate(
        [ints.astype(np.float64), floats, [float(max_n + 1)], consts.tox_bound, consts.eff_bound]
    ).astype(np.float64)
    out.setflags(write=False)
    return out


@compiled_inline
def eliminates(n_tox: float, n_eff: float, tox_bound: float, eff_bound: float
               ) -> tuple[bool, bool]:  # fmt: skip
    """The elimination rule of spec §3.4 on a dose's counts with the core's integer boundaries
    at its n (:func:`~doseladder.core.designs.boin12.tox_elimination_boundary` /
    :func:`~doseladder.core.designs.boin12.eff_elimination_boundary`): toxicity if
    n_T >= boundary, futility if n_E <= boundary."""
    return bool(n_tox >= tox_bound), bool(n_eff <= eff_bound)


@compiled_inline
def elimination_flags_trial(st: Any, j: int, rules: Any) -> None:
    """Dose j's own elimination flags (:func:`eliminates`) from its packed counts."""
    size = int(rules[_R_SIZE])
    n = int(st[ST_N, j])
    tf, ef = eliminates(
        st[ST_TOX, j], st[ST_EFF, j], rules[_R_HEADER + n], rules[_R_HEADER + size + n]
    )
    st[ST_TOX_FAIL, j] = tf
    st[ST_EFF_FAIL, j] = ef


@compiled_inline
def admissible_trial(st: Any) -> None:
    """:func:`~doseladder.core.designs.boin12.inadmissible_doses` for one trial, as the
    admissible doses (row ``ST_ADM``): a toxicity failure excludes that dose and every higher
    dose, a futility failure that dose only, and earlier eliminations stay."""
    acc = False
    for j in range(st.shape[1]):
        acc = acc or st[ST_TOX_FAIL, j] != 0
        st[ST_ADM, j] = not (st[ST_PRIOR, j] != 0 or st[ST_EFF_FAIL, j] != 0 or acc)


@compiled_inline
def neighbours_trial(st: Any, d: int) -> tuple[int, bool, int, bool, bool]:
    """The "below", "above" and "here" of :func:`~doseladder.core.designs.boin12.
    boin12_next_dose` (0-based) on the admissible doses (``ST_ADM``): (below, has_below,
    above, has_above, here) -- the highest admissible dose < d; the lowest admissible dose > d
    reached without passing an untreated dose; d admissible.  ``below``/``above`` are 0 where
    absent."""
    below = -1
    for j in range(d):
        if st[ST_ADM, j] != 0:
            below = j
    first = -1  # first dose > d admissible or untreated
    for k in range(st.shape[1] - 1, d, -1):
        if st[ST_ADM, k] != 0 or st[ST_N, k] == 0:
            first = k
    above = max(first, 0)
    has_above = first >= 0 and st[ST_ADM, above] != 0
    return max(below, 0), below >= 0, above, has_above, st[ST_ADM, d] != 0


@compiled_inline
def rule_trial(st: Any, d: int, p: float, above: int, has_above: bool, rules: Any) -> int:
    """Which rule of §3.5 applies: exploration, de-escalation, N* choice or largest D."""
    expl = rules[_O_EXPLORATION]
    if (
        expl >= 0 and has_above and st[ST_N, above] == 0 and p < rules[_R_LAMBDA_D]
        and st[ST_N, d] >= expl
    ):  # fmt: skip
        return _EXPLORE
    if p >= rules[_R_LAMBDA_D]:
        return _DEESC
    if rules[_R_LAMBDA_E] < p and st[ST_N, d] >= rules[_O_NSTAR]:
        return _NSTAR
    return _GENERAL


@compiled_inline
def needed_trial(st: Any, d: int, p: float, rules: Any) -> None:
    """Mark (row ``ST_NEED``) the doses whose D :func:`next_dose_trial` compares: the
    candidates of the N* rule ({below, d}) or of the largest-D rule ({below, d, above}) when
    at least two of them are admissible; D is not read otherwise."""
    below, has_below, above, has_above, here = neighbours_trial(st, d)
    rule = rule_trial(st, d, p, above, has_above, rules)
    use_above = rule == _GENERAL and has_above
    count = int(has_below) + int(here) + int(use_above)
    if rule >= _NSTAR and count >= 2:  # N* or largest D
        if has_below:
            st[ST_NEED, below] = 1.0
        if here:
            st[ST_NEED, d] = 1.0
        if use_above:
            st[ST_NEED, above] = 1.0


@compiled_inline
def next_dose_trial(st: Any, d: int, p: float, rules: Any) -> tuple[int, bool, int]:
    """:func:`~doseladder.core.designs.boin12.boin12_next_dose` for one trial on its
    admissible doses (``ST_ADM``): (next dose, no admissible dose, rule).  Rule order and tie
    rules of the core (spec §3.5): exploration; de-escalation to "below" (stay if there is
    none and d is admissible); N* choice between {below, d} (``nstar_tie``); otherwise the
    largest D among {below, d, above}, ties to the higher dose.  D is read only at compared
    candidates (:func:`needed_trial`)."""
    below, has_below, above, has_above, here = neighbours_trial(st, d)
    rule = rule_trial(st, d, p, above, has_above, rules)
    d_below = st[ST_DESIR, below] if has_below else -np.inf
    d_here = st[ST_DESIR, d] if here else -np.inf
    d_above = st[ST_DESIR, above] if has_above else -np.inf
    nxt = d
    if rule == _EXPLORE:
        nxt = above
    elif rule == _DEESC:
        if has_below:
            nxt = below
    elif rule == _NSTAR:
        if rules[_O_NSTAR_LOWER] != 0:
            take_below = has_below and (not here or d_below >= d_here)
        else:
            take_below = has_below and (not here or d_below > d_here)
        if take_below:
            nxt = below
    else:
        take_above = (
            has_above and (not here or d_above >= d_here) and (not has_below or d_above >= d_below)
        )
        take_here = not take_above and here and (not has_below or d_here >= d_below)
        nxt = above if take_above else (d if take_here else below)
    none = not has_below and not here
    no_adm = (_DEESC <= rule <= _NSTAR and none) or (rule == _GENERAL and none and not has_above)
    return nxt, no_adm, rule


@compiled_inline
def n_stop_trial(st: Any, d: int, nxt: int, rules: Any) -> bool:
    """``BOIN12._finish``'s ``n_stop`` rule in its ``n_stop_dose`` mode."""
    limit = rules[_O_NSTOP]
    if limit < 0:
        return False
    mode = rules[_O_NSTOP_MODE]
    if mode == 0:
        count = st[ST_N, nxt]
    elif mode == 1:
        count = st[ST_N, d]
    else:
        count = 0.0
        for j in range(st.shape[1]):
            count = max(count, st[ST_N, j])
    return bool(count >= limit)


@compiled_inline
def conclude_trial(st: Any, d: int, p_d: float, rules: Any) -> tuple[int, int, bool]:
    """``BOIN12._conclude`` and ``_finish`` (spec §3.5, stopping rules) for one trial on its
    packed statistics (``ST_N``, ``ST_DESIR``, the flags and ``ST_PRIOR``): (action code,
    next dose 0-based or -1, toxicity de-escalation); writes the admissible doses
    (``ST_ADM``) and the eliminations the decision records (``ST_ELIM``).  ``p_d`` is the
    toxicity estimate at d (NaN = not estimable)."""
    admissible_trial(st)
    nodata = not np.isfinite(p_d)
    p = 0.0 if nodata else p_d
    nxt, no_adm, rule = next_dose_trial(st, d, p, rules)
    tox_rule = rule == _DEESC and not no_adm
    if nodata:  # no estimate at the current dose (untried, or zero effective sample size)
        below, has_below, _, _, here = neighbours_trial(st, d)
        nxt = d if here else below
        no_adm = not here and not has_below
        tox_rule = not here and has_below
    total = 0.0
    for j in range(st.shape[1]):
        total += st[ST_N, j]
    stop_max = total >= rules[_O_MAXN] and not no_adm
    stop_n = not no_adm and not stop_max and n_stop_trial(st, d, 0 if no_adm else nxt, rules)
    if no_adm or stop_max or stop_n:
        action = STOP
    elif nxt > d:
        action = ESCALATE
    elif nxt < d:
        action = DEESCALATE
    else:
        action = STAY
    permanent = rules[_O_PERMANENT] != 0
    for j in range(st.shape[1]):
        st[ST_ELIM, j] = (st[ST_ADM, j] == 0) if permanent else st[ST_PRIOR, j]
    return action, (-1 if no_adm else nxt), tox_rule and not no_adm and not stop_max and not stop_n


# --------------------------------------------- the compiled rules over many trials (dose-major)
@compiled_inline
def _load(st: Any, r: int, n: Any, desir: Any, tox_fail: Any, eff_fail: Any, prior: Any) -> None:
    """Trial r's packed statistics from dose-major arrays (ST_NEED cleared)."""
    for j in range(st.shape[1]):
        st[ST_N, j] = n[j, r]
        st[ST_DESIR, j] = desir[j, r]
        st[ST_TOX_FAIL, j] = tox_fail[j, r]
        st[ST_EFF_FAIL, j] = eff_fail[j, r]
        st[ST_PRIOR, j] = prior[j, r]
        st[ST_NEED, j] = 0.0


@compiled
def _admissible_all(prior: Any, tox_fail: Any, eff_fail: Any, out: Any) -> None:
    st = np.zeros((ST_ROWS, prior.shape[0]))
    for r in range(prior.shape[1]):
        _load(st, r, prior, prior, tox_fail, eff_fail, prior)
        admissible_trial(st)
        for j in range(prior.shape[0]):
            out[j, r] = st[ST_ADM, j] != 0


def inadmissible_arrays(
    eliminated: BoolArray, tox_fail: BoolArray, eff_fail: BoolArray
) -> BoolArray:
    """:func:`admissible_trial` (the inadmissible doses) for every trial (dose-major)."""
    adm = np.empty(eliminated.shape, dtype=np.bool_)
    _admissible_all(eliminated, tox_fail, eff_fail, adm)
    return ~adm


@compiled
def _next_doses_all(
    d: Any, n: Any, p: Any, desir: Any, adm: Any, rules: Any,
    nxt: Any, no_adm: Any, stop_n: Any,
) -> None:  # fmt: skip
    st = np.zeros((ST_ROWS, n.shape[0]))
    for r in range(d.shape[0]):
        _load(st, r, n, desir, adm, adm, adm)
        for j in range(n.shape[0]):
            st[ST_ADM, j] = adm[j, r]
        nd, none, _ = next_dose_trial(st, d[r], p[r], rules)
        nxt[r] = nd
        no_adm[r] = none
        stop_n[r] = not none and n_stop_trial(st, d[r], nd, rules)


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


def boin12_next_doses(
    design: BOIN12,
    consts: Boin12Constants,
    d: IntArray,
    n: IntArray,
    p_hat: FloatArray,
    desir: FloatArray,
    admissible: BoolArray,
) -> NextDoses:
    """:func:`next_dose_trial` and the ``n_stop`` rule (:func:`n_stop_trial`) for many trials
    (``d`` current doses, 0-based, n_d > 0; ``n``, ``desir``, ``admissible`` dose-major;
    ``p_hat`` the toxicity estimate at d).  ``consts``: kept for the callers' signature."""
    del consts
    rules = rule_table(design, 0)
    rows = d.size
    nxt = np.empty(rows, dtype=np.int64)
    no_adm = np.empty(rows, dtype=np.bool_)
    stop_n = np.empty(rows, dtype=np.bool_)
    _next_doses_all(
        np.asarray(d, dtype=np.int64), np.asarray(n, dtype=np.int64),
        np.asarray(p_hat, dtype=np.float64), np.asarray(desir, dtype=np.float64),
        np.asarray(admissible, dtype=np.bool_), rules, nxt, no_adm, stop_n,
    )  # fmt: skip
    return NextDoses(nxt, no_adm, stop_n)


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


@compiled_inline
def elimination_flags_one(n: int, n_tox: float, n_eff: float, tox_bound: Any, eff_bound: Any
                          ) -> tuple[bool, bool]:  # fmt: skip
    """A dose's own data meet the toxicity / futility elimination rule (spec §3.4), with the
    core's integer boundaries (:class:`Boin12Constants`; counts may be TITE's scaled ones)."""
    return eliminates(n_tox, n_eff, tox_bound[n], eff_bound[n])


@compiled
def _elimination_flags_all(
    n: Any, n_tox: Any, n_eff: Any, tox_bound: Any, eff_bound: Any, tox_fail: Any, eff_fail: Any
) -> None:
    for j in range(n.shape[0]):
        for r in range(n.shape[1]):
            tf, ef = elimination_flags_one(n[j, r], n_tox[j, r], n_eff[j, r], tox_bound, eff_bound)
            tox_fail[j, r] = tf
            eff_fail[j, r] = ef


def elimination_flags_arrays(
    consts: Boin12Constants, n: IntArray, n_tox: FloatArray | IntArray, n_eff: FloatArray | IntArray
) -> tuple[BoolArray, BoolArray]:
    """:func:`elimination_flags_one` for every dose of every trial (dose-major)."""
    tox_fail = np.empty(n.shape, dtype=np.bool_)
    eff_fail = np.empty(n.shape, dtype=np.bool_)
    _elimination_flags_all(
        np.asarray(n, dtype=np.int64), np.asarray(n_tox, dtype=np.float64),
        np.asarray(n_eff, dtype=np.float64), consts.tox_bound, consts.eff_bound,
        tox_fail, eff_fail,
    )  # fmt: skip
    return tox_fail, eff_fail


def complete_stats(design: BOIN12, data: DoseArrays) -> Boin12Stats:
    """:func:`~doseladder.core.designs.boin12.complete_summary` for every trial."""
    n = data.n
    size = table_size(design, n)
    consts = boin12_constants(design, size)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_tox = data.tox / n
    desir = desirability_table(design, size)(n, data.tox, data.eff, data.both)
    tox_fail, eff_fail = elimination_flags_arrays(consts, n, data.tox, data.eff)
    return Boin12Stats(p_tox, desir, tox_fail, eff_fail)


@compiled
def _needed_all(
    d: Any, n: Any, p_tox: Any, tox_fail: Any, eff_fail: Any, prior: Any, rules: Any, need: Any,
) -> None:  # fmt: skip
    st = np.zeros((ST_ROWS, n.shape[0]))
    for r in range(d.shape[0]):
        p = p_tox[d[r], r]
        if np.isfinite(p):  # without an estimate at d no D is compared
            _load(st, r, n, p_tox, tox_fail, eff_fail, prior)
            admissible_trial(st)
            needed_trial(st, d[r], p, rules)
            for j in range(n.shape[0]):
                need[j, r] = st[ST_NEED, j] != 0


@compiled
def _conclude_all(
    n: Any, p_tox: Any, desir: Any, tox_fail: Any, eff_fail: Any, prior: Any, d: Any,
    rules: Any, action: Any, nxt: Any, elim: Any, tox_deesc: Any,
) -> None:  # fmt: skip
    st = np.zeros((ST_ROWS, n.shape[0]))
    for r in range(d.shape[0]):
        _load(st, r, n, desir, tox_fail, eff_fail, prior)
        a, nd, td = conclude_trial(st, d[r], p_tox[d[r], r], rules)
        action[r] = a
        nxt[r] = nd
        tox_deesc[r] = td
        for j in range(n.shape[0]):
            elim[j, r] = st[ST_ELIM, j] != 0


def conclude_boin12(
    design: BOIN12,
    data: DoseArrays,
    stats: Boin12Stats,
    fill: DesirabilityFill | None = None,
) -> ArrayDecision:
    """:func:`conclude_trial` (``BOIN12._conclude`` and ``_finish``, spec §3.5, stopping rules)
    for every trial.

    ``fill`` (TITE-BOIN12) computes D at the compared doses (:func:`needed_trial`) where
    ``stats.desir`` is NaN.
    """
    rules = rule_table(design, 0)
    n = np.asarray(data.n, dtype=np.int64)
    d = np.asarray(data.current, dtype=np.int64)
    prior = np.asarray(data.eliminated, dtype=np.bool_)
    p_tox = np.asarray(stats.p_tox, dtype=np.float64)
    desir = stats.desir
    if fill is not None:
        need = np.zeros(n.shape, dtype=np.bool_)
        _needed_all(d, n, p_tox, stats.tox_fail, stats.eff_fail, prior, rules, need)
        desir = fill(need)
    rows = d.size
    action = np.empty(rows, dtype=np.int64)
    nxt = np.empty(rows, dtype=np.int64)
    elim = np.empty(n.shape, dtype=np.bool_)
    tox_deesc = np.empty(rows, dtype=np.bool_)
    _conclude_all(
        n, p_tox, np.asarray(desir, dtype=np.float64), stats.tox_fail, stats.eff_fail, prior, d,
        rules, action, nxt, elim, tox_deesc,
    )  # fmt: skip
    return ArrayDecision(action, nxt, elim, tox_deesc)


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
#: indices of :func:`select_table`: the statistic (0 posterior_mean, 1 desirability,
#: 2 phase12designs), φT, the prior α and β, u1..u4, the size S, then (n + 0.1)² by n < S
_S_STATISTIC, _S_PHI_T, _S_ALPHA, _S_BETA, _S_U, _S_SIZE, _S_HEADER = 0, 1, 2, 3, 4, 8, 9
#: the ``obd_statistic`` codes of :func:`select_table`
STATISTIC_CODES = {"posterior_mean": 0, "desirability": 1, "phase12designs": 2}


@lru_cache(maxsize=64)
def select_table(design: BOIN12, max_n: int) -> FloatArray:
    """What :func:`select_trial` reads from a design, in one read-only float64 array: the
    statistic's code, φT, α, β, the utilities, S = max_n + 1, then
    :class:`Boin12Constants`' ``pava_square`` for n = 0..max_n."""
    u = design.utilities
    head = [
        float(STATISTIC_CODES[design.obd_statistic]), design.phi_t, float(design.prior_alpha),
        float(design.prior_beta), float(u[0]), float(u[1]), float(u[2]), float(u[3]),
        float(max_n + 1),
    ]  # fmt: skip
    sq = boin12_constants(design, max_n).pava_square
    out = np.concatenate([np.array(head, dtype=np.float64), sq]).astype(np.float64)
    out.setflags(write=False)
    return out


@compiled_inline
def select_trial(st: Any, sel: Any, work: Any, mask: Any, blocks: Any) -> int:
    """:func:`~doseladder.core.select_obd.select_obd` (spec §3.6) for one trial, statistics
    ``"posterior_mean"`` and ``"desirability"`` (:func:`select_table`; ``"phase12designs"`` is
    :func:`_select_phase12designs`): the OBD 1-based, 0 = none, from the packed counts
    (``ST_N``, ``ST_TOX``, ``ST_EFF``, ``ST_BOTH``), D (``ST_DESIR``, desirability only) and
    the admissible doses (``ST_ADM``).  The core's operations in its order: the isotonic
    fit by :func:`~doseladder.core.isotonic_compiled.pava_masked` (``work``, ``mask``,
    ``blocks``: its scratch), the first minimum (posterior mean) or the highest treated dose
    (desirability) nearest φT as the MTD, the first maximum of the statistic among the treated
    admissible doses at or below it."""
    num = st.shape[1]
    phi_t = sel[_S_PHI_T]
    posterior = sel[_S_STATISTIC] == 0
    tried_any = False
    for j in range(num):
        n = st[ST_N, j]
        y = st[ST_TOX, j]
        tried_any = tried_any or n > 0
        if posterior:
            work[0, j] = y / n if n > 0 else phi_t
            sq = sel[_S_HEADER + int(n)]
            work[1, j] = 1.0 / ((y + 0.05) * (n - y + 0.05) / (sq * (n + 0.1 + 1)))
            mask[j] = True
        else:
            work[0, j] = y / n if n > 0 else 0.0
            work[1, j] = 1.0
            mask[j] = n > 0
    if not tried_any:
        return 0
    pava_masked(work, mask, blocks)
    mtd = -1
    best = np.inf
    for j in range(num):
        if posterior:
            dist = abs(work[4, j] + 0.001 * (j + 1) - phi_t)
            if mtd < 0 or dist < best:
                mtd, best = j, dist
        elif mask[j]:
            dist = abs(work[4, j] - phi_t)
            if mtd < 0 or dist <= best:
                mtd, best = j, dist
    chosen = -1
    top = -np.inf
    alpha, beta = sel[_S_ALPHA], sel[_S_BETA]
    for j in range(mtd + 1):
        if not (st[ST_N, j] > 0 and st[ST_ADM, j] != 0):
            continue
        if posterior:
            n, nt, ne, nb = st[ST_N, j], st[ST_TOX, j], st[ST_EFF, j], st[ST_BOTH, j]
            x = (
                sel[_S_U] * (ne - nb) + sel[_S_U + 1] * (n - nt - ne + nb)
                + sel[_S_U + 2] * nb + sel[_S_U + 3] * (nt - nb)
            ) / 100.0  # fmt: skip
            util = (alpha + x) / (alpha + beta + n)
        else:
            util = st[ST_DESIR, j]
        if chosen < 0 or util > top:
            chosen, top = j, util
    return chosen + 1


@compiled
def _select_all(
    n: Any, n_tox: Any, n_eff: Any, n_both: Any, desir: Any, adm: Any, sel: Any, out: Any
) -> None:
    num = n.shape[0]
    st = np.zeros((ST_ROWS, num))
    work = np.empty((5, num))
    mask = np.empty(num, dtype=np.bool_)
    blocks = np.empty(num, dtype=np.int64)
    for r in range(n.shape[1]):
        for j in range(num):
            st[ST_N, j] = n[j, r]
            st[ST_TOX, j] = n_tox[j, r]
            st[ST_EFF, j] = n_eff[j, r]
            st[ST_BOTH, j] = n_both[j, r]
            st[ST_DESIR, j] = desir[j, r]
            st[ST_ADM, j] = adm[j, r]
        out[r] = select_trial(st, sel, work, mask, blocks)


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
    counts); 1-based, 0 = none.  ``n_both``: patients with toxicity and efficacy.  The
    compiled :func:`select_trial` trial by trial (``"phase12designs"``:
    :func:`_select_phase12designs`); D from ``table`` (desirability)."""
    num, rows = n.shape
    if design.obd_statistic == "phase12designs":
        return _select_phase12designs(design, n, n_tox, n_eff, admissible)
    sel = select_table(design, consts.pava_square.size - 1)
    if design.obd_statistic == "desirability":
        desir = np.asarray(table(n, n_tox, n_eff, n_both), dtype=np.float64)
    else:
        desir = np.zeros((num, rows))
    out = np.zeros(rows, dtype=np.int64)
    counts = [np.asarray(a, dtype=np.int64) for a in (n, n_tox, n_eff, n_both)]
    _select_all(
        counts[0], counts[1], counts[2], counts[3], desir, np.asarray(admissible, dtype=np.bool_),
        sel, out,
    )  # fmt: skip
    return out


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
    tox_fail, eff_fail = elimination_flags_arrays(consts, n, n_tox, n_eff)
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
