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
(Numba) runs the trials one after the other on each trial's packed statistics and calls the
core's compiled per-trial rules -- :func:`~doseladder.core.designs.arrays.boin12.conclude_trial`
(the very function behind ``decide_arrays``) after each cohort and
:func:`~doseladder.core.designs.arrays.boin12.select_trial` (behind ``select_arrays``) at the
end; D is looked up in a small table computed by the core's formula
(:func:`packed_desirability`), the elimination boundaries are the core's (its
:func:`~doseladder.core.designs.arrays.boin12.rule_table`).  The loop allocates nothing and is
compiled without Numba's reference counting (atomic operations for every array handed to an
inlined rule, which cost more than the rules).  ``obd_statistic="phase12designs"`` selects
after the loop, for every trial at once (``select_arrays``: the core's rule per distinct count
pattern).  A table too large to pack (non-integer utilities with a large ``max_n``) runs the
same trials cohort by cohort through ``decide_arrays`` instead
(:func:`simulate_boin12_by_cohort`, tested equal).

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
    ST_BOTH,
    ST_DESIR,
    ST_EFF,
    ST_ELIM,
    ST_N,
    ST_PRIOR,
    ST_ROWS,
    ST_TOX,
    Boin12Constants,
    DesirabilityTable,
    NextDoses,
    admissible_trial,
    boin12_constants,
    boin12_next_doses,
    conclude_trial,
    desirability_table,
    elimination_flags_trial,
    final_selection,
    rule_table,
    select_obd_vectorised,
    select_table,
    select_trial,
)
from doseladder.core.designs.arrays.boin12 import (
    inadmissible_arrays as inadmissible_doses_vectorised,
)
from doseladder.core.designs.arrays.interface import BoolArray, FloatArray, IntArray, pick
from doseladder.core.designs.boin12 import BOIN12
from doseladder.core.isotonic import pava_arrays as pava_columns
from doseladder.jit import compiled_inline, compiled_without_refcounts
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
    "loop_table",
    "packed_desirability",
    "pava_columns",
    "pick",
    "select_obd_vectorised",
    "simulate_boin12",
    "simulate_boin12_by_cohort",
]


# --------------------------------------------------------------------------- kernel
@compiled_inline
def _outcomes(u_tox: float, u_eff: float, p_tox: float, pe_t: float, pe_nt: float
              ) -> tuple[bool, bool]:  # fmt: skip
    """The patient's DLT and response at a dose from their latent uniforms (the model of
    :meth:`PatientDraws.tox <doseladder.simulate.latent.PatientDraws.tox>` / ``eff``, with the
    dose's P(DLT), P(response | DLT) and P(response | no DLT))."""
    tox = u_tox < p_tox
    return tox, u_eff < (pe_t if tox else pe_nt)


#: largest packed desirability table of the compiled loop (entries; 64 MB)
_MAX_PACKED = 1 << 23


def _counts_held(max_n: int, csize: int) -> IntArray:
    """The patients a dose can hold: n = 0, c, 2c, ... at a decision, and those counts plus
    a last, partial cohort at the trial's end (where the selection reads D)."""
    ns = np.arange(0, max_n + 1, csize)
    rest = max_n % csize
    if rest:
        ns = np.union1d(ns, ns[ns + rest <= max_n] + rest)
    return np.asarray(ns, dtype=np.int64)


@lru_cache(maxsize=32)
def packed_desirability(design: BOIN12) -> tuple[IntArray, FloatArray] | None:
    """D of every count a dose can hold, packed small for the compiled loop.

    A dose holds n = 0, c, 2c, ... patients at a decision (cohorts of c), and at the trial's
    end possibly a last, partial cohort more; for these n the table holds D for every
    (n_T, n_E) -- and n_TE unless D does not depend on it (the marginal case of
    :class:`DesirabilityTable`) -- at ``offset[n] + (n_T·(n+1) + n_E)`` (``·(n+1) + n_TE``),
    computed by the core's table.  ``None`` when it would exceed 2^23 entries (the
    cohort-by-cohort path is used then).
    """
    max_n, csize = design.max_n, design.cohort_size
    table = desirability_table(design, max_n)
    power = 2 if table.marginal else 3
    ns = _counts_held(max_n, csize)
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


@lru_cache(maxsize=32)
def loop_table(design: BOIN12) -> FloatArray | None:
    """:func:`packed_desirability` in one read-only array for the compiled loop (one array
    argument: see :data:`~doseladder.core.designs.arrays.boin12.ST_ROWS`): D depends on n_TE
    (1/0), then the offsets by n = 0..max_n shifted to this array, then the values."""
    packed = packed_desirability(design)
    if packed is None:
        return None
    offset, values = packed
    full = float(not desirability_table(design, design.max_n).marginal)
    start = 1 + offset.size
    out = np.concatenate([[full], (offset + start).astype(np.float64), values])
    out = out.astype(np.float64)
    out.setflags(write=False)
    return out


@compiled_inline
def _desirability_at(st: Any, j: int, tab: Any) -> None:
    """Dose j's D (row ``ST_DESIR``) looked up in :func:`loop_table` at its counts."""
    n = int(st[ST_N, j])
    key = int(st[ST_TOX, j]) * (n + 1) + int(st[ST_EFF, j])
    if tab[0] != 0:  # D depends on n_TE
        key = key * (n + 1) + int(st[ST_BOTH, j])
    st[ST_DESIR, j] = tab[int(tab[1 + n]) + key]


@compiled_without_refcounts
def _run_trials(
    u_tox: Any, u_eff: Any, p_tox: Any, pe_t: Any, pe_nt: Any, start: int, csize: int,
    max_n: int, rules: Any, tab: Any, sel: Any, select_now: bool,
    counts: Any, elim: Any, early: Any, selected: Any, dose_seq: Any,
    st: Any, work: Any, mask: Any, blocks: Any,
) -> None:  # fmt: skip
    """Every trial of the block, one after the other: cohorts at the current dose, then the
    core's rules on the trial's packed statistics (:func:`~doseladder.core.designs.arrays.
    boin12.conclude_trial` after :func:`~doseladder.core.designs.arrays.boin12.
    elimination_flags_trial` and D looked up in the core's desirability table); at the end
    the core's selection (:func:`~doseladder.core.designs.arrays.boin12.select_trial` on the
    final counts and the recorded eliminations) unless ``select_now`` is False.

    Writes ``counts`` (n, n_T, n_E, n_TE; (4, trials, doses)), the recorded eliminations, the
    stops without an admissible dose, the selection (1-based, 0 = none) and the dose of every
    patient (1-based, 0 = none).  Scratch (it allocates nothing): ``st`` a trial's packed
    statistics, ``work``, ``mask``, ``blocks`` the selection's."""
    rows = u_tox.shape[0]
    num = p_tox.shape[0]
    for r in range(rows):
        for k in range(ST_ROWS):
            for j in range(num):
                st[k, j] = 0.0
        for j in range(num):  # the statistics of untried doses
            elimination_flags_trial(st, j, rules)
            _desirability_at(st, j, tab)
        d = start
        total = 0
        no_dose = False
        while True:
            size = min(csize, max_n - total)
            pt, pet, pent = p_tox[d], pe_t[d], pe_nt[d]
            n_tox = 0
            n_eff = 0
            n_both = 0
            for i in range(total, total + size):
                tx, ef = _outcomes(u_tox[r, i], u_eff[r, i], pt, pet, pent)
                n_tox += tx
                n_eff += ef
                n_both += tx and ef
                dose_seq[r, i] = d + 1
            st[ST_N, d] += size
            st[ST_TOX, d] += n_tox
            st[ST_EFF, d] += n_eff
            st[ST_BOTH, d] += n_both
            total += size
            elimination_flags_trial(st, d, rules)  # only dose d has new data
            _desirability_at(st, d, tab)
            if total >= max_n:
                break  # the cohort reaching the maximum sample size ends the trial
            action, nxt, _ = conclude_trial(st, d, st[ST_TOX, d] / st[ST_N, d], rules)
            for j in range(num):
                st[ST_PRIOR, j] = st[ST_ELIM, j]
            if action == STOP:
                no_dose = nxt < 0
                break
            d = nxt
        early[r] = no_dose
        for j in range(num):
            for k in range(4):
                counts[k, r, j] = int(st[ST_N + k, j])
            elim[r, j] = st[ST_PRIOR, j] != 0
        if select_now and not no_dose:
            admissible_trial(st)  # final counts' flags and the recorded eliminations
            selected[r] = select_trial(st, sel, work, mask, blocks)


def simulate_boin12(design: BOIN12, draws: PatientDraws) -> TrialArrays:
    """Simulate a block of BOIN12 trials (complete data) on the block's latent patients: the
    compiled trial loop, with the final selection in it (``"phase12designs"``: for every
    trial at once afterwards, :meth:`BOIN12.select_arrays`)."""
    nt, num = draws.n_trials, design.num_doses
    max_n = design.max_n
    tab = loop_table(design)
    if tab is None:
        return simulate_boin12_by_cohort(design, draws)
    if draws.max_n < max_n or draws.p_tox.shape[0] != num:
        # the compiled loop does not check its indices: refuse draws that do not fit
        raise ValueError(
            f"draws for {draws.max_n} patients and {draws.p_tox.shape[0]} doses do not fit "
            f"a design with max_n = {max_n} and {num} doses"
        )
    select_now = design.obd_statistic != "phase12designs"
    counts = np.empty((4, nt, num), dtype=np.int64)  # n, n_T, n_E, n_TE (trial-major)
    elim = np.empty((nt, num), dtype=np.bool_)
    early = np.empty(nt, dtype=np.bool_)
    selected = np.zeros(nt, dtype=np.int64)
    dose_seq = np.zeros((nt, max_n), dtype=np.int64)
    _run_trials(
        draws.u_tox, draws.u_eff, draws.p_tox, draws.p_eff_given_tox, draws.p_eff_given_no_tox,
        design.start_dose - 1, design.cohort_size, max_n, rule_table(design, max_n), tab,
        select_table(design, max_n), select_now, counts, elim, early, selected, dose_seq,
        np.zeros((ST_ROWS, num)), np.empty((5, num)), np.empty(num, dtype=np.bool_),
        np.empty(num, dtype=np.int64),
    )  # fmt: skip
    if not select_now:
        n, yt, ye, yte = counts
        zeros = np.zeros((num, nt), dtype=np.int64)
        final = DoseArrays(n.T, yt.T, zeros, ye.T, zeros, yte.T, zeros[0], elim.T)
        selected = design.select_arrays(final)
        selected[early] = 0
    return TrialArrays(
        n=counts[0],
        tox=counts[1],
        eff=counts[2],
        selected=selected,
        stopped_early=early,
        duration=np.full(nt, np.nan),
        suspended=np.zeros(nt),
        dose_seq=dose_seq,
        entry=np.empty((nt, 0)),  # no time in complete-data trials
    )


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
