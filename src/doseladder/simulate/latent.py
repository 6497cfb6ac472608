"""Simulated patients: latent random numbers per trial and patient, and their outcomes.

Common random numbers: the i-th patient enrolled in trial t carries latent uniforms -- a
toxicity tolerance ``u_tox[t, i]``, an efficacy draw ``u_eff[t, i]``, event-time draws and an
arrival gap -- whatever the design.  At dose d the patient has a DLT iff
``u_tox < p_tox[d]`` (so a patient who has a DLT at a dose would also have one at any more
toxic dose), and a response drawn conditionally on toxicity so that P(response) = ``p_eff[d]``
with the scenario's toxicity-efficacy odds ratio.  Designs simulated with the same seed
therefore see the same patients.

Each latent component has its own random stream (``SeedSequence(seed, spawn_key=(scenario,
block, component))``), drawn only when a kernel first needs it: a complete-data design never
pays for event times, and a component's values do not depend on which others were drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from doseladder.simulate.scenario import EventTimeModel, Scenario, joint_probabilities

__all__ = ["PatientDraws", "event_time_fraction"]

_COMPONENTS = {"u_tox": 0, "u_eff": 1, "v_tox": 2, "v_eff": 3, "gaps": 4, "waits": 5, "assign": 6}

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def event_time_fraction(v: FloatArray, p: FloatArray, model: EventTimeModel) -> FloatArray:
    """Time of an event known to occur within the window, as a fraction of the window.

    ``v`` are uniforms on [0, 1) and ``p`` the per-patient event probabilities by the end of
    the window (needed by the Weibull model, whose shape makes a fraction α1 of the events
    fall in the last fraction α2 of the window).
    """
    u = 1.0 - v  # (0, 1]: an event never happens at the entry instant
    if model.model == "uniform":
        return u
    pp = np.clip(p, 1e-12, 1 - 1e-12)
    # F(t) = 1 - exp(-(t/lam)^k), F(W) = p, F((1 - a2) W) = (1 - a1) p
    k = np.log(np.log1p(-(1 - model.alpha1) * pp) / np.log1p(-pp)) / np.log(1 - model.alpha2)
    return np.asarray((np.log1p(-u * pp) / np.log1p(-pp)) ** (1.0 / k), dtype=np.float64)


class PatientDraws:
    """The latent patients of one block of trials under one scenario.

    Arrays are (trials, max_n) indexed by enrolment order.  Methods take the rows (trials), the
    enrolment index ``i`` and the dose (0-based) of those patients.
    """

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        scenario_index: int,
        block_index: int,
        n_trials: int,
        max_n: int,
    ) -> None:
        self.scenario = scenario
        self.n_trials = n_trials
        self.max_n = max_n
        self._key = (seed, scenario_index, block_index)
        self.p_tox = np.asarray(scenario.p_tox, dtype=np.float64)
        if scenario.p_eff is None:
            self.p_eff = np.zeros_like(self.p_tox)
            self._pe_t = self._pe_nt = self.p_eff
        else:
            pe = np.asarray(scenario.p_eff, dtype=np.float64)
            p11 = np.array(
                [
                    joint_probabilities(a, b, scenario.tox_eff_odds_ratio)
                    for a, b in zip(self.p_tox, pe, strict=True)
                ]
            )
            pt = self.p_tox
            self.p_eff = pe
            self._pe_t = np.divide(p11, pt, out=np.zeros_like(pt), where=pt > 0)
            self._pe_nt = np.divide(pe - p11, 1 - pt, out=np.zeros_like(pt), where=pt < 1)

    @property
    def p_eff_given_tox(self) -> FloatArray:
        """P(response | DLT) per dose (the conditional probabilities :meth:`eff` uses)."""
        return self._pe_t

    @property
    def p_eff_given_no_tox(self) -> FloatArray:
        """P(response | no DLT) per dose."""
        return self._pe_nt

    def _draw(self, component: str) -> np.random.Generator:
        seed, s, b = self._key
        ss = np.random.SeedSequence(seed, spawn_key=(s, b, _COMPONENTS[component]))
        return np.random.Generator(np.random.PCG64(ss))

    @cached_property
    def u_tox(self) -> FloatArray:
        return self._draw("u_tox").random((self.n_trials, self.max_n))

    @cached_property
    def u_eff(self) -> FloatArray:
        return self._draw("u_eff").random((self.n_trials, self.max_n))

    @cached_property
    def v_tox(self) -> FloatArray:
        return self._draw("v_tox").random((self.n_trials, self.max_n))

    @cached_property
    def v_eff(self) -> FloatArray:
        return self._draw("v_eff").random((self.n_trials, self.max_n))

    @cached_property
    def gaps(self) -> FloatArray:
        """Inter-arrival gaps in time units (gap before patient i; the first is from time 0)."""
        acc = self.scenario.accrual
        if acc.type == "fixed":
            return np.full((self.n_trials, self.max_n), 1.0 / acc.rate)
        if acc.type == "uniform":
            return self._draw("gaps").random((self.n_trials, self.max_n)) * (2.0 / acc.rate)
        return self._draw("gaps").standard_exponential((self.n_trials, self.max_n)) / acc.rate

    def wait_gaps(self) -> Callable[[int], FloatArray]:
        """A stream of extra inter-arrival gaps for patients who arrive while accrual is
        suspended (turned away, so they never become trial patients).

        Drawn from their own stream, so the enrolled patients stay identical across designs;
        each call ``stream(k)`` returns the next ``k`` gaps.
        """
        acc = self.scenario.accrual
        if acc.type == "fixed":
            gap = 1.0 / acc.rate
            return lambda size: np.full(size, gap)
        rng = self._draw("waits")
        rate = float(acc.rate)
        if acc.type == "uniform":
            return lambda size: rng.random(size) * (2.0 / rate)
        return lambda size: rng.standard_exponential(size) / rate

    def assign_uniforms(self) -> Callable[[int], FloatArray]:
        """A stream of uniforms for random choices of a design's conduct (BF-BOIN's
        ``backfill_assign: random``), from its own stream so the patients stay common."""
        rng = self._draw("assign")
        return lambda size: rng.random(size)

    # ------------------------------------------------------------- outcomes
    def tox(self, rows: IntArray, i: int | IntArray, dose: IntArray) -> NDArray[np.bool_]:
        """Whether these patients have a DLT (within the window) at these doses."""
        return np.asarray(self.u_tox[rows, i] < self.p_tox[dose], dtype=np.bool_)

    def tox_count(self, rows: IntArray, start: int, size: int, dose: IntArray) -> IntArray:
        """Number of DLTs among patients ``start .. start+size-1`` of each row, all treated at
        that row's ``dose`` (a cohort)."""
        u = self.u_tox[rows, start : start + size]
        return np.asarray((u < self.p_tox[dose][:, None]).sum(axis=1), dtype=np.int64)

    def eff(self, rows: IntArray, i: int | IntArray, dose: IntArray) -> NDArray[np.bool_]:
        """Whether these patients respond (within the window) at these doses."""
        t = self.tox(rows, i, dose)
        cond = np.where(t, self._pe_t[dose], self._pe_nt[dose])
        return np.asarray(self.u_eff[rows, i] < cond, dtype=np.bool_)

    def tox_time(self, rows: IntArray, i: int | IntArray, dose: IntArray) -> FloatArray:
        """Time of the DLT as a fraction of the window (``inf`` when there is none)."""
        t = self.tox(rows, i, dose)
        frac = event_time_fraction(self.v_tox[rows, i], self.p_tox[dose], self.scenario.tox_time)
        return np.where(t, frac, np.inf)

    def eff_time(self, rows: IntArray, i: int | IntArray, dose: IntArray) -> FloatArray:
        """Time of the response as a fraction of the window (``inf`` when there is none)."""
        e = self.eff(rows, i, dose)
        frac = event_time_fraction(self.v_eff[rows, i], self.p_eff[dose], self.scenario.eff_time)
        return np.where(e, frac, np.inf)

    def event_fractions(self, endpoint: Literal["tox", "eff"]) -> FloatArray:
        """The event-time fractions of :meth:`tox_time` / :meth:`eff_time` of every patient at
        every dose, for compiled kernels that evaluate the outcomes themselves: an array
        (J, trials, max_n), element [d, t, i] = the time fraction of patient i of trial t at
        dose d if the event occurs; (1, trials, max_n) under the uniform model, where the time
        does not depend on the dose.  The same elementwise operations, so the same values."""
        if endpoint == "tox":
            v, p, model = self.v_tox, self.p_tox, self.scenario.tox_time
        else:
            v, p, model = self.v_eff, self.p_eff, self.scenario.eff_time
        if model.model == "uniform":
            return event_time_fraction(v, np.zeros_like(v), model)[None]
        return np.stack([event_time_fraction(v, np.full_like(v, pd), model) for pd in p])
