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

Every option of :class:`BOIN12` is supported (none raises).  Per-dose state is dose-major,
shape (doses, trials), so that the loops over the few dose levels work on contiguous vectors of
trials; the state of the trials still running is kept compacted.  The building blocks
(:class:`DesirabilityTable`, :func:`neighbours`, :func:`boin12_next_doses`,
:func:`select_obd_vectorised`, ...) live in :mod:`doseladder.core.designs.arrays.boin12` and
are re-exported here for existing callers.

Reference check (``test_boin12.py``, reference-results S2): the dose assignment matches
``phase12designs::oc_boin12`` (34.5 % vs 34.4 % of patients at the OBD); its final selection
differs (u1·p̂E + (1 − p̃T)·u2 with a model-averaged unimodal efficacy fit and random
tie-breaking, not the Yuan-group posterior mean utility of the core), which puts this kernel
about 1.6 points lower on the OBD (53.5 % vs 55.1 %).
"""

from __future__ import annotations

import numpy as np

from doseladder.core.designs.arrays import STOP, DoseArrays
from doseladder.core.designs.arrays.boin12 import (
    Boin12Constants,
    DesirabilityTable,
    NextDoses,
    boin12_constants,
    boin12_next_doses,
    desirability_table,
    final_selection,
    select_obd_vectorised,
)
from doseladder.core.designs.arrays.boin12 import (
    inadmissible_arrays as inadmissible_doses_vectorised,
)
from doseladder.core.designs.arrays.interface import pick
from doseladder.core.designs.boin12 import BOIN12
from doseladder.core.isotonic import pava_arrays as pava_columns
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
    "pava_columns",
    "pick",
    "select_obd_vectorised",
    "simulate_boin12",
]


# --------------------------------------------------------------------------- kernel
def simulate_boin12(design: BOIN12, draws: PatientDraws) -> TrialArrays:
    """Simulate a block of BOIN12 trials (complete data) on the block's latent patients.

    The per-dose state of the trials still running is kept compacted (dose-major); a trial's
    state is written to the outputs when it stops.
    """
    nt, num = draws.n_trials, design.num_doses
    csize, max_n = design.cohort_size, design.max_n

    # outputs (dose-major while simulating)
    out = np.zeros((5, num, nt), dtype=np.int64)  # n, n_T, n_E, n_TE, eliminated
    early = np.zeros(nt, dtype=np.bool_)
    n_cohorts = -(-max_n // csize)
    cohort_dose = np.zeros((n_cohorts, nt), dtype=np.int64)  # dose of each cohort (0 = none)
    cohort = 0
    # working state of the running trials
    idx = np.arange(nt)
    st = np.zeros((4, num, nt), dtype=np.int64)  # n, n_T, n_E, n_TE
    elim = np.zeros((num, nt), dtype=np.bool_)
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
        zeros = np.zeros((num, rows), dtype=np.int64)
        dec = design.decide_arrays(DoseArrays(st[0], st[1], zeros, st[2], zeros, st[3], d, elim))
        elim = dec.eliminated
        d = dec.next_dose
        stop = dec.action == STOP
        if stop.any():
            gone = idx[stop]
            early[idx[stop & (d < 0)]] = True
            out[:4, :, gone] = st[:, :, stop]
            out[4][:, gone] = elim[:, stop]
            keep = ~stop
            idx, d = idx[keep], d[keep]
            # compact (np.compress returns C-contiguous arrays: reshape(-1) stays a view)
            st = np.compress(keep, st, axis=2)
            elim = np.compress(keep, elim, axis=1)
            if idx.size == 0:
                break
    out[:4, :, idx] = st
    out[4][:, idx] = elim
    n, yt, ye, yte = out[0], out[1], out[2], out[3]
    zeros = np.zeros((num, nt), dtype=np.int64)
    final = DoseArrays(n, yt, zeros, ye, zeros, yte, zeros[0], out[4].astype(np.bool_))
    selected = design.select_arrays(final)
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
