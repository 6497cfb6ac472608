"""Vectorised BOIN12 trials on complete data (Lin et al. 2020; spec ``dose-finding.md`` §3).

The rules are the core's array decision and selection (:meth:`BOIN12.decide_arrays
<doseladder.core.designs.base.Design.decide_arrays>` =
:func:`~doseladder.core.designs.arrays.boin12.decide_boin12`, and
:func:`~doseladder.core.designs.arrays.boin12.select_boin12`), proven equal to
``design.decide(state)`` / ``design.select(state)`` by random testing
(``tests/core/designs/arrays/test_boin12.py``) and on simulated histories
(``tests/simulate/kernels/test_boin12.py``); this module only treats cohorts.  For every
option of the design:

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

Every option of :class:`BOIN12` is supported (none raises).  Implementation: one compiled loop
(Numba, :func:`doseladder.jit.compiled`) runs the trials one after the other and calls the
core's compiled per-trial rule (:func:`~doseladder.core.designs.arrays.boin12.conclude_one`,
the very function behind ``decide_arrays``); D is looked up in a small table computed by the
core's formula (:func:`packed_desirability`), the elimination boundaries are the core's.  The
final selection is made for every trial at once afterwards (``select_arrays``).  A table too
large to pack (non-integer utilities with a large ``max_n``) runs the same trials cohort by
cohort through ``decide_arrays`` instead (:func:`simulate_boin12_by_cohort`, tested equal).

Reference check (``test_boin12.py``, reference-results S2): the dose assignment matches
``phase12designs::oc_boin12`` (34.5 % vs 34.4 % of patients at the OBD); its final selection
differs (u1·p̂E + (1 − p̃T)·u2 with a model-averaged unimodal efficacy fit and random
tie-breaking, not the Yuan-group posterior mean utility of the core), which puts this kernel
about 1.6 points lower on the OBD (53.5 % vs 55.1 %).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from doseladder.core.designs.arrays import STOP, DoseArrays
from doseladder.core.designs.arrays.boin12 import (
    Boin12Constants,
    DesirabilityTable,
    NextDoses,
    boin12_constants,
    boin12_next_doses,
    conclude_one,
    desirability_table,
    elimination_flags_one,
    final_selection,
    rule_options,
    select_obd_vectorised,
)
from doseladder.core.designs.arrays.boin12 import (
    inadmissible_arrays as inadmissible_doses_vectorised,
)
from doseladder.core.designs.arrays.interface import BoolArray, FloatArray, IntArray, pick
from doseladder.core.designs.boin12 import BOIN12
from doseladder.core.isotonic import pava_arrays as pava_columns
from doseladder.jit import compiled, compiled_inline
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.results import TrialArrays

__all__ = [
    "Boin12Constants",
    "DesirabilityTable",
    "NextDoses",
    "boin12_constants",
    "boin12_next_doses",
    "desirability_table",
    "final_selection",
    "inadmissible_doses_vectorised",
    "packed_desirability",
    "pava_columns",
    "pick",
    "select_obd_vectorised",
    "simulate_boin12",
    "simulate_boin12_by_cohort",
]


# --------------------------------------------------------------------------- kernel
@compiled_inline
def _outcomes(
    u_tox: Any, u_eff: Any, p_tox: Any, pe_t: Any, pe_nt: Any, d: int
) -> tuple[bool, bool]:
    """The patient's DLT and response at dose d from their latent uniforms (the model of
    :meth:`PatientDraws.tox <doseladder.simulate.latent.PatientDraws.tox>` / ``eff``)."""
    tox = u_tox < p_tox[d]
    return tox, u_eff < (pe_t[d] if tox else pe_nt[d])


#: largest packed desirability table of the compiled loop (entries; 64 MB)
_MAX_PACKED = 1 << 23


@lru_cache(maxsize=32)
def packed_desirability(design: BOIN12) -> tuple[IntArray, FloatArray] | None:
    """D of every count a dose can have at a decision, packed small for the compiled loop.

    A dose holds n = 0, c, 2c, ... patients at a decision (cohorts of c); for these n the
    table holds D for every (n_T, n_E) -- and n_TE unless D does not depend on it (the
    marginal case of :class:`DesirabilityTable`) -- at ``offset[n] + (n_T·(n+1) + n_E)``
    (``·(n+1) + n_TE``), computed by the core's table.  ``None`` when it would exceed 2^23
    entries (the cohort-by-cohort path is used then).
    """
    max_n, csize = design.max_n, design.cohort_size
    table = desirability_table(design, max_n)
    power = 2 if table.marginal else 3
    ns = np.arange(0, max_n + 1, csize)
    sizes = np.zeros(max_n + 1, dtype=np.int64)
    sizes[ns] = (ns + 1) ** power
    if sizes.sum() > _MAX_PACKED:
        return None
    offset = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    values = np.full(int(sizes.sum()), np.nan)
    for n in ns:
        g = np.arange(n + 1)
        if table.marginal:
            nt, ne = (a.ravel() for a in np.meshgrid(g, g, indexing="ij"))
            nte = np.maximum(nt + ne - n, 0)  # any valid n_TE: D does not depend on it
            valid = np.ones(nt.size, dtype=np.bool_)
        else:
            nt, ne, nte = (a.ravel() for a in np.meshgrid(g, g, g, indexing="ij"))
            valid = (nte <= np.minimum(nt, ne)) & (nt + ne - nte <= n)
        full = np.full(nt.size, n, dtype=np.int64)
        block = np.full(nt.size, np.nan)
        block[valid] = table(full[valid], nt[valid], ne[valid], nte[valid])
        values[offset[n] : offset[n] + block.size] = block
    return offset, values


@compiled_inline
def _dose_stats(
    cnt: Any, j: int, offset: Any, marginal: bool, tox_bound: Any, eff_bound: Any, table: Any,
    tox_fail: Any, eff_fail: Any, desir: Any,
) -> None:  # fmt: skip
    """Dose j's elimination flags and D (looked up in the core's table) from its counts."""
    tf, ff = elimination_flags_one(cnt[0, j], cnt[1, j], cnt[2, j], tox_bound, eff_bound)
    tox_fail[j] = tf
    eff_fail[j] = ff
    n = cnt[0, j]
    key = cnt[1, j] * (n + 1) + cnt[2, j]
    desir[j] = table[offset[n] + (key if marginal else key * (n + 1) + cnt[3, j])]


@compiled
def _run_trials(
    u_tox: Any, u_eff: Any, p_tox: Any, pe_t: Any, pe_nt: Any, start: int, csize: int,
    opts: Any, fopts: Any, tox_bound: Any, eff_bound: Any, offset: Any, table: Any,
    marginal: bool,
    out: Any, out_elim: Any, early: Any, cohort_dose: Any,
) -> None:  # fmt: skip
    """Every trial of the block, one after the other: cohorts at the current dose, then the
    core's rules (:func:`~doseladder.core.designs.arrays.boin12.conclude_one` on the dose
    statistics: :func:`~doseladder.core.designs.arrays.boin12.elimination_flags_one` and D
    looked up in the core's desirability table)."""
    rows, max_n = u_tox.shape
    num = p_tox.shape[0]
    cnt = np.zeros((4, num), dtype=np.int64)  # n, n_T, n_E, n_TE
    elim = np.zeros(num, dtype=np.bool_)
    elim_new = np.zeros(num, dtype=np.bool_)
    adm = np.zeros(num, dtype=np.bool_)
    tox_fail = np.zeros(num, dtype=np.bool_)
    eff_fail = np.zeros(num, dtype=np.bool_)
    desir = np.zeros(num)
    for r in range(rows):
        cnt[:] = 0
        elim[:] = False
        for j in range(num):  # the statistics of untried doses
            _dose_stats(
                cnt, j, offset, marginal, tox_bound, eff_bound, table, tox_fail, eff_fail, desir
            )
        d = start
        total = 0
        c = 0
        while True:
            size = min(csize, max_n - total)
            for i in range(total, total + size):
                tx, ef = _outcomes(u_tox[r, i], u_eff[r, i], p_tox, pe_t, pe_nt, d)
                cnt[1, d] += tx
                cnt[2, d] += ef
                cnt[3, d] += tx and ef
            cnt[0, d] += size
            cohort_dose[r, c] = d + 1
            c += 1
            total += size
            if total >= max_n:
                break  # the cohort reaching the maximum sample size ends the trial
            # only dose d has new data
            _dose_stats(
                cnt, d, offset, marginal, tox_bound, eff_bound, table, tox_fail, eff_fail, desir
            )
            action, nxt, _ = conclude_one(
                cnt[0], cnt[1, d] / cnt[0, d], desir, tox_fail, eff_fail, elim, d, opts, fopts,
                adm, elim_new,
            )  # fmt: skip
            elim[:] = elim_new
            if action == STOP:
                early[r] = nxt < 0
                break
            d = nxt
        out[:, r, :] = cnt
        out_elim[r, :] = elim


def simulate_boin12(design: BOIN12, draws: PatientDraws) -> TrialArrays:
    """Simulate a block of BOIN12 trials (complete data) on the block's latent patients: the
    compiled trial loop, then the final selection for every trial at once."""
    nt, num = draws.n_trials, design.num_doses
    csize, max_n = design.cohort_size, design.max_n
    packed = packed_desirability(design)
    if packed is None:
        return simulate_boin12_by_cohort(design, draws)
    offset, table = packed
    consts = boin12_constants(design, max_n)
    opts, fopts = rule_options(design)
    out = np.zeros((4, nt, num), dtype=np.int64)  # n, n_T, n_E, n_TE (trial-major)
    elim = np.zeros((nt, num), dtype=np.bool_)
    early = np.zeros(nt, dtype=np.bool_)
    cohort_dose = np.zeros((nt, -(-max_n // csize)), dtype=np.int64)  # 1-based, 0 = none
    _run_trials(
        draws.u_tox, draws.u_eff, draws.p_tox, draws.p_eff_given_tox, draws.p_eff_given_no_tox,
        design.start_dose - 1, csize, opts, fopts, consts.tox_bound, consts.eff_bound, offset,
        table, desirability_table(design, max_n).marginal, out, elim, early, cohort_dose,
    )  # fmt: skip
    return _results(design, draws, out, elim, early, cohort_dose)


def _results(
    design: BOIN12,
    draws: PatientDraws,
    out: IntArray,
    elim: BoolArray,
    early: BoolArray,
    cohort_dose: IntArray,
) -> TrialArrays:
    """The block's :class:`TrialArrays` (``out``: n, n_T, n_E, n_TE, trial-major) with the
    final selection (:meth:`BOIN12.select_arrays`) of every trial."""
    nt, num = draws.n_trials, design.num_doses
    n, yt, ye, yte = out
    zeros = np.zeros((num, nt), dtype=np.int64)
    final = DoseArrays(n.T, yt.T, zeros, ye.T, zeros, yte.T, zeros[0], elim.T)
    selected = design.select_arrays(final)
    selected[early] = 0
    return TrialArrays(
        n=n,
        tox=yt,
        eff=ye,
        selected=selected,
        stopped_early=early,
        duration=np.full(nt, np.nan),
        suspended=np.zeros(nt),
        dose_seq=np.repeat(cohort_dose, design.cohort_size, axis=1)[:, : design.max_n],
        entry=np.empty((nt, 0)),  # no time in complete-data trials
    )


def simulate_boin12_by_cohort(design: BOIN12, draws: PatientDraws) -> TrialArrays:
    """The same trials cohort by cohort over all trials at once, with the array decision
    (:meth:`BOIN12.decide_arrays`) -- used only when the desirability table is too large to
    tabulate whole (non-integer utilities and max_n > 44), where D is computed per decision."""
    nt, num = draws.n_trials, design.num_doses
    csize, max_n = design.cohort_size, design.max_n
    out = np.zeros((4, nt, num), dtype=np.int64)
    elim_out = np.zeros((nt, num), dtype=np.bool_)
    early = np.zeros(nt, dtype=np.bool_)
    cohort_dose = np.zeros((nt, -(-max_n // csize)), dtype=np.int64)
    idx = np.arange(nt)
    st = np.zeros((4, num, nt), dtype=np.int64)  # n, n_T, n_E, n_TE of the running trials
    elim = np.zeros((num, nt), dtype=np.bool_)
    d = np.full(nt, design.start_dose - 1, dtype=np.int64)
    total = 0
    cohort = 0
    while True:
        size = min(csize, max_n - total)
        rows = np.arange(idx.size)
        for i in range(total, total + size):
            t = draws.tox(idx, i, d)
            e = draws.eff(idx, i, d)
            st[1, d, rows] += t
            st[2, d, rows] += e
            st[3, d, rows] += t & e
        st[0, d, rows] += size
        cohort_dose[idx, cohort] = d + 1
        cohort += 1
        total += size
        if total >= max_n:
            break
        zeros = np.zeros((num, idx.size), dtype=np.int64)
        dec = design.decide_arrays(DoseArrays(st[0], st[1], zeros, st[2], zeros, st[3], d, elim))
        elim, d = dec.eliminated, dec.next_dose
        stop = dec.action == STOP
        if stop.any():
            early[idx[stop]] = d[stop] < 0
            out[:, idx[stop], :] = st[:, :, stop].transpose(0, 2, 1)
            elim_out[idx[stop]] = elim[:, stop].T
            keep = ~stop
            idx, d, st, elim = idx[keep], d[keep], st[:, :, keep], elim[:, keep]
            if idx.size == 0:
                break
    out[:, idx, :] = st.transpose(0, 2, 1)
    elim_out[idx] = elim.T
    return _results(design, draws, out, elim_out, early, cohort_dose)
