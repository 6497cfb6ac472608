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
:func:`doseladder.jit.compiled_inline`): :func:`conclude_one` (``_conclude`` and ``_finish``) with
:func:`admissible_one`, :func:`neighbours_one`, :func:`next_dose_one`, :func:`needed_one`,
:func:`n_stop_one` and :func:`elimination_flags_one`.  They are this module's array form of
the rule: :func:`conclude_boin12` / :func:`boin12_next_doses` / :func:`inadmissible_arrays` loop
over trials with them, and the BOIN12 simulation kernel calls :func:`conclude_one` inside its
compiled trial loop.  The rule part reads per-dose statistics (:class:`Boin12Stats`) and is
shared with TITE-BOIN12 (:mod:`doseladder.core.designs.arrays.tite_boin12`), whose statistics
are the approximated-likelihood ones.  The per-design numbers (boundaries, the desirability
table) are computed by the core's functions and only looked up by the compiled code.
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
from doseladder.core.isotonic import pava_arrays
from doseladder.core.select_obd import select_obd
from doseladder.jit import compiled, compiled_inline

__all__ = [
    "NO_BOUNDARY",
    "Boin12Constants",
    "Boin12Stats",
    "DesirabilityFill",
    "DesirabilityTable",
    "NextDoses",
    "admissible_one",
    "boin12_constants",
    "boin12_next_doses",
    "complete_stats",
    "conclude_boin12",
    "conclude_one",
    "decide_boin12",
    "desirability_table",
    "elimination_flags_arrays",
    "elimination_flags_one",
    "final_selection",
    "inadmissible_arrays",
    "n_stop_one",
    "needed_one",
    "neighbours_one",
    "next_dose_one",
    "rule_options",
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


@compiled_inline
def admissible_one(prior: Any, tox_fail: Any, eff_fail: Any, out: Any) -> None:
    """:func:`~doseladder.core.designs.boin12.inadmissible_doses` for one trial, as the
    admissible doses (``out``): a toxicity failure excludes that dose and every higher dose,
    a futility failure that dose only, and earlier eliminations stay."""
    acc = False
    for j in range(prior.shape[0]):
        acc = acc or tox_fail[j]
        out[j] = not (prior[j] or eff_fail[j] or acc)


@compiled_inline
def neighbours_one(d: int, n: Any, adm: Any) -> tuple[int, bool, int, bool, bool]:
    """The "below", "above" and "here" of :func:`~doseladder.core.designs.boin12.
    boin12_next_dose` (0-based): (below, has_below, above, has_above, here) -- the highest
    admissible dose < d; the lowest admissible dose > d reached without passing an untreated
    dose; d admissible.  ``below``/``above`` are 0 where absent."""
    below = -1
    for j in range(d):
        if adm[j]:
            below = j
    first = -1  # first dose > d admissible or untreated
    for k in range(n.shape[0] - 1, d, -1):
        if adm[k] or n[k] == 0:
            first = k
    above = max(first, 0)
    has_above = first >= 0 and adm[above]
    return max(below, 0), below >= 0, above, has_above, adm[d]


@compiled_inline
def rule_one(d: int, n: Any, p: float, above: int, has_above: bool, opts: Any, fopts: Any) -> int:
    """Which rule of §3.5 applies: exploration, de-escalation, N* choice or largest D."""
    expl = opts[_O_EXPLORATION]
    if expl >= 0 and has_above and n[above] == 0 and p < fopts[1] and n[d] >= expl:
        return _EXPLORE
    if p >= fopts[1]:
        return _DEESC
    if fopts[0] < p and n[d] >= opts[_O_NSTAR]:
        return _NSTAR
    return _GENERAL


@compiled_inline
def needed_one(d: int, n: Any, p: float, adm: Any, opts: Any, fopts: Any, out: Any) -> None:
    """Mark (``out``) the doses whose D :func:`next_dose_one` compares: the candidates of the
    N* rule ({below, d}) or of the largest-D rule ({below, d, above}) when at least two of
    them are admissible; D is not read otherwise."""
    below, has_below, above, has_above, here = neighbours_one(d, n, adm)
    rule = rule_one(d, n, p, above, has_above, opts, fopts)
    use_above = rule == _GENERAL and has_above
    count = int(has_below) + int(here) + int(use_above)
    if rule >= _NSTAR and count >= 2:  # N* or largest D
        if has_below:
            out[below] = True
        if here:
            out[d] = True
        if use_above:
            out[above] = True


@compiled_inline
def next_dose_one(
    d: int, n: Any, p: float, desir: Any, adm: Any, opts: Any, fopts: Any
) -> tuple[int, bool, int]:
    """:func:`~doseladder.core.designs.boin12.boin12_next_dose` for one trial: (next dose,
    no admissible dose, rule).  Rule order and tie rules of the core (spec §3.5): exploration;
    de-escalation to "below" (stay if there is none and d is admissible); N* choice between
    {below, d} (``nstar_tie``); otherwise the largest D among {below, d, above}, ties to the
    higher dose.  D is read only at compared candidates (:func:`needed_one`)."""
    below, has_below, above, has_above, here = neighbours_one(d, n, adm)
    rule = rule_one(d, n, p, above, has_above, opts, fopts)
    d_below = desir[below] if has_below else -np.inf
    d_here = desir[d] if here else -np.inf
    d_above = desir[above] if has_above else -np.inf
    nxt = d
    if rule == _EXPLORE:
        nxt = above
    elif rule == _DEESC:
        if has_below:
            nxt = below
    elif rule == _NSTAR:
        if opts[_O_NSTAR_LOWER]:
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
def n_stop_one(n: Any, d: int, nxt: int, opts: Any) -> bool:
    """``BOIN12._finish``'s ``n_stop`` rule in its ``n_stop_dose`` mode."""
    limit = opts[_O_NSTOP]
    if limit < 0:
        return False
    mode = opts[_O_NSTOP_MODE]
    if mode == 0:
        count = n[nxt]
    elif mode == 1:
        count = n[d]
    else:
        count = n.max()
    return bool(count >= limit)


@compiled_inline
def conclude_one(
    n: Any,
    p_d: float,
    desir: Any,
    tox_fail: Any,
    eff_fail: Any,
    prior: Any,
    d: int,
    opts: Any,
    fopts: Any,
    adm: Any,
    elim_out: Any,
) -> tuple[int, int, bool]:
    """``BOIN12._conclude`` and ``_finish`` (spec §3.5, stopping rules) for one trial:
    (action code, next dose 0-based or -1, toxicity de-escalation); the recorded
    eliminations are written to ``elim_out`` (``adm``: scratch, left = admissible doses).
    ``p_d`` is the toxicity estimate at d (NaN = not estimable)."""
    admissible_one(prior, tox_fail, eff_fail, adm)
    nodata = not np.isfinite(p_d)
    p = 0.0 if nodata else p_d
    nxt, no_adm, rule = next_dose_one(d, n, p, desir, adm, opts, fopts)
    tox_rule = rule == _DEESC and not no_adm
    if nodata:  # no estimate at the current dose (untried, or zero effective sample size)
        below, has_below, _, _, here = neighbours_one(d, n, adm)
        nxt = d if here else below
        no_adm = not here and not has_below
        tox_rule = not here and has_below
    stop_max = n.sum() >= opts[_O_MAXN] and not no_adm
    stop_n = not no_adm and not stop_max and n_stop_one(n, d, 0 if no_adm else nxt, opts)
    if no_adm or stop_max or stop_n:
        action = STOP
    elif nxt > d:
        action = ESCALATE
    elif nxt < d:
        action = DEESCALATE
    else:
        action = STAY
    permanent = opts[_O_PERMANENT] != 0
    for j in range(prior.shape[0]):
        elim_out[j] = (not adm[j]) if permanent else prior[j]
    return action, (-1 if no_adm else nxt), tox_rule and not no_adm and not stop_max and not stop_n


# --------------------------------------------- the compiled rules over many trials (dose-major)
@compiled
def _admissible_all(prior: Any, tox_fail: Any, eff_fail: Any, out: Any) -> None:
    for r in range(prior.shape[1]):
        admissible_one(prior[:, r], tox_fail[:, r], eff_fail[:, r], out[:, r])


def inadmissible_arrays(
    eliminated: BoolArray, tox_fail: BoolArray, eff_fail: BoolArray
) -> BoolArray:
    """:func:`admissible_one` (the inadmissible doses) for every trial (dose-major)."""
    adm = np.empty(eliminated.shape, dtype=np.bool_)
    _admissible_all(eliminated, tox_fail, eff_fail, adm)
    return ~adm


@compiled
def _next_doses_all(
    d: Any, n: Any, p: Any, desir: Any, adm: Any, opts: Any, fopts: Any,
    nxt: Any, no_adm: Any, stop_n: Any,
) -> None:  # fmt: skip
    for r in range(d.shape[0]):
        nd, none, _ = next_dose_one(d[r], n[:, r], p[r], desir[:, r], adm[:, r], opts, fopts)
        nxt[r] = nd
        no_adm[r] = none
        stop_n[r] = not none and n_stop_one(n[:, r], d[r], nd, opts)


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
    """:func:`next_dose_one` and the ``n_stop`` rule (:func:`n_stop_one`) for many trials
    (``d`` current doses, 0-based, n_d > 0; ``n``, ``desir``, ``admissible`` dose-major;
    ``p_hat`` the toxicity estimate at d).  ``consts``: kept for the callers' signature."""
    del consts
    opts, fopts = rule_options(design)
    rows = d.size
    nxt = np.empty(rows, dtype=np.int64)
    no_adm = np.empty(rows, dtype=np.bool_)
    stop_n = np.empty(rows, dtype=np.bool_)
    _next_doses_all(
        np.asarray(d, dtype=np.int64), np.asarray(n, dtype=np.int64),
        np.asarray(p_hat, dtype=np.float64), np.asarray(desir, dtype=np.float64),
        np.asarray(admissible, dtype=np.bool_), opts, fopts, nxt, no_adm, stop_n,
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
    return bool(n_tox >= tox_bound[n]), bool(n_eff <= eff_bound[n])


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
    d: Any, n: Any, p_tox: Any, tox_fail: Any, eff_fail: Any, prior: Any,
    opts: Any, fopts: Any, need: Any,
) -> None:  # fmt: skip
    adm = np.empty(n.shape[0], dtype=np.bool_)
    for r in range(d.shape[0]):
        p = p_tox[d[r], r]
        if np.isfinite(p):  # without an estimate at d no D is compared
            admissible_one(prior[:, r], tox_fail[:, r], eff_fail[:, r], adm)
            needed_one(d[r], n[:, r], p, adm, opts, fopts, need[:, r])


@compiled
def _conclude_all(
    n: Any, p_tox: Any, desir: Any, tox_fail: Any, eff_fail: Any, prior: Any, d: Any,
    opts: Any, fopts: Any, action: Any, nxt: Any, elim: Any, tox_deesc: Any,
) -> None:  # fmt: skip
    adm = np.empty(n.shape[0], dtype=np.bool_)
    for r in range(d.shape[0]):
        a, nd, td = conclude_one(
            n[:, r], p_tox[d[r], r], desir[:, r], tox_fail[:, r], eff_fail[:, r], prior[:, r],
            d[r], opts, fopts, adm, elim[:, r],
        )  # fmt: skip
        action[r] = a
        nxt[r] = nd
        tox_deesc[r] = td


def conclude_boin12(
    design: BOIN12,
    data: DoseArrays,
    stats: Boin12Stats,
    fill: DesirabilityFill | None = None,
) -> ArrayDecision:
    """:func:`conclude_one` (``BOIN12._conclude`` and ``_finish``, spec §3.5, stopping rules)
    for every trial.

    ``fill`` (TITE-BOIN12) computes D at the compared doses (:func:`needed_one`) where
    ``stats.desir`` is NaN.
    """
    opts, fopts = rule_options(design)
    n = np.asarray(data.n, dtype=np.int64)
    d = np.asarray(data.current, dtype=np.int64)
    prior = np.asarray(data.eliminated, dtype=np.bool_)
    p_tox = np.asarray(stats.p_tox, dtype=np.float64)
    desir = stats.desir
    if fill is not None:
        need = np.zeros(n.shape, dtype=np.bool_)
        _needed_all(d, n, p_tox, stats.tox_fail, stats.eff_fail, prior, opts, fopts, need)
        desir = fill(need)
    rows = d.size
    action = np.empty(rows, dtype=np.int64)
    nxt = np.empty(rows, dtype=np.int64)
    elim = np.empty(n.shape, dtype=np.bool_)
    tox_deesc = np.empty(rows, dtype=np.bool_)
    _conclude_all(
        n, p_tox, np.asarray(desir, dtype=np.float64), stats.tox_fail, stats.eff_fail, prior, d,
        opts, fopts, action, nxt, elim, tox_deesc,
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
