"""Simulation outputs: per-trial arrays from the kernels, and tidy summaries with MC errors."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["SimulationResult", "TrialArrays", "true_obd"]


@dataclass(frozen=True, slots=True)
class TrialArrays:
    """What a kernel returns for a block of trials (dose levels 1-based, 0 = none).

    Attributes:
        n, tox, eff: (trials, doses) patients, observed DLTs and responses per dose.
        selected: (trials,) selected dose, 0 when no dose was selected.
        stopped_early: (trials,) the trial stopped before its maximum sample size.
        duration: (trials,) time from first entry to the last outcome ascertained (NaN when
            the design does not model time).
        suspended: (trials,) total time accrual was suspended waiting for outcomes.
        dose_seq: (trials, max_n) dose of the i-th patient (0 = no patient).
        entry: (trials, max_n) entry time of the i-th patient (NaN when not modelled).
    """

    n: NDArray[np.int64]
    tox: NDArray[np.int64]
    eff: NDArray[np.int64]
    selected: NDArray[np.int64]
    stopped_early: NDArray[np.bool_]
    duration: NDArray[np.float64]
    suspended: NDArray[np.float64]
    dose_seq: NDArray[np.int64]
    entry: NDArray[np.float64]

    @staticmethod
    def concat(parts: list[TrialArrays]) -> TrialArrays:
        if len(parts) == 1:
            return parts[0]
        width = max(p.dose_seq.shape[1] for p in parts)

        def pad(a: NDArray[Any], fill: Any) -> NDArray[Any]:
            if a.shape[1] == width:
                return a
            return np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=fill)

        return TrialArrays(
            n=np.concatenate([p.n for p in parts]),
            tox=np.concatenate([p.tox for p in parts]),
            eff=np.concatenate([p.eff for p in parts]),
            selected=np.concatenate([p.selected for p in parts]),
            stopped_early=np.concatenate([p.stopped_early for p in parts]),
            duration=np.concatenate([p.duration for p in parts]),
            suspended=np.concatenate([p.suspended for p in parts]),
            dose_seq=np.concatenate([pad(p.dose_seq, 0) for p in parts]),
            entry=np.concatenate([pad(p.entry, np.nan) for p in parts]),
        )


def true_obd(
    p_tox: tuple[float, ...],
    p_eff: tuple[float, ...],
    phi_t: float,
    phi_e: float,
    utilities: tuple[float, float, float, float],
    p11: tuple[float, ...] | None = None,
) -> tuple[int | None, list[float]]:
    """True OBD as in the Yuan-group simulators (PKBOIN-12 ``fun_findOBD.R``).

    MTD_true = number of doses with p_tox ≤ φT; no OBD if that is 0 or no dose up to it has
    p_eff ≥ φE; otherwise the dose ≤ MTD_true maximising the true mean utility.
    Returns (OBD or None, true utilities per dose).
    """
    u1, u2, u3, u4 = utilities
    utils = []
    for j, (pt, pe) in enumerate(zip(p_tox, p_eff, strict=True)):
        q11 = pt * pe if p11 is None else p11[j]
        q01 = pe - q11
        q10 = pt - q11
        q00 = 1 - q11 - q01 - q10
        utils.append(u1 * q01 + u2 * q00 + u3 * q11 + u4 * q10)
    mtd = sum(1 for pt in p_tox if pt <= phi_t)
    if mtd == 0 or max(p_eff[:mtd]) < phi_e:
        return None, utils
    best = max(range(mtd), key=lambda j: (utils[j], -j))
    return best + 1, utils


def _pct_se(p: NDArray[np.float64] | float, n: int) -> NDArray[np.float64]:
    return np.sqrt(np.asarray(p) * (100.0 - np.asarray(p)) / n)


def _mean_se(a: NDArray[Any], axis: int = 0) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    a = np.asarray(a, dtype=np.float64)
    m = a.mean(axis=axis)
    if a.shape[axis] < 2:
        return m, np.full_like(m, np.nan)
    return m, a.std(axis=axis, ddof=1) / math.sqrt(a.shape[axis])


@dataclass(frozen=True)
class SimulationResult:
    """Operating characteristics of one design under one scenario.

    ``per_dose`` is a tidy DataFrame (one row per dose) and ``trial`` a one-row-per-metric
    DataFrame (metric, value, se).  The seed, the package version and the full design and
    scenario are kept so the run can be reproduced.
    """

    design: dict[str, Any]
    scenario: dict[str, Any]
    n_trials: int
    seed: int
    version: str
    per_dose: pd.DataFrame
    trial: pd.DataFrame
    trials: TrialArrays | None = field(default=None, repr=False)

    @classmethod
    def from_arrays(
        cls,
        arrays: TrialArrays,
        *,
        design: dict[str, Any],
        scenario: dict[str, Any],
        seed: int,
        version: str,
        target: float | None,
        obd: int | None = None,
        keep_trials: bool = False,
    ) -> SimulationResult:
        nt, num_doses = arrays.n.shape
        doses = np.arange(1, num_doses + 1)
        sel_pct = np.bincount(arrays.selected, minlength=num_doses + 1)[1:] / nt * 100
        mean_n, se_n = _mean_se(arrays.n)
        mean_t, se_t = _mean_se(arrays.tox)
        per_dose = pd.DataFrame(
            {
                "dose": doses,
                "p_tox": scenario["p_tox"],
                "selection_pct": sel_pct,
                "selection_se": _pct_se(sel_pct, nt),
                "mean_patients": mean_n,
                "mean_patients_se": se_n,
                "mean_dlt": mean_t,
                "mean_dlt_se": se_t,
            }
        )
        if scenario.get("p_eff") is not None:
            per_dose.insert(2, "p_eff", scenario["p_eff"])
            mean_e, se_e = _mean_se(arrays.eff)
            per_dose["mean_responses"] = mean_e
            per_dose["mean_responses_se"] = se_e
        rows: list[tuple[str, float, float]] = []

        def pct(name: str, mask: NDArray[np.bool_]) -> None:
            p = float(mask.mean() * 100)
            rows.append((name, p, float(_pct_se(p, nt))))

        def mean(name: str, values: NDArray[Any]) -> None:
            m, s = _mean_se(values)
            rows.append((name, float(m), float(s)))

        pct("no_selection_pct", arrays.selected == 0)
        pct("early_stop_pct", arrays.stopped_early)
        total_n = arrays.n.sum(axis=1)
        mean("total_n", total_n)
        mean("total_dlt", arrays.tox.sum(axis=1))
        if scenario.get("p_eff") is not None:
            mean("total_responses", arrays.eff.sum(axis=1))
        if target is not None:
            p_tox = scenario["p_tox"]
            gaps = [abs(p - target) for p in p_tox]
            mtd = gaps.index(min(gaps)) + 1
            above = arrays.n[:, mtd:].sum(axis=1) / np.maximum(total_n, 1) * 100
            mean("pct_patients_above_mtd", above)
            pct("select_overdose_pct", arrays.selected > mtd)
            rows.append(("true_mtd", float(mtd), 0.0))
        if obd is not None:
            pct("correct_obd_pct", arrays.selected == obd)
            rows.append(("true_obd", float(obd), 0.0))
        if np.isfinite(arrays.duration).any():
            mean("duration", arrays.duration)
            rows.append(
                ("duration_sd", float(np.std(arrays.duration, ddof=1)) if nt > 1 else 0.0, math.nan)
            )
            mean("suspended_time", arrays.suspended)
        trial = pd.DataFrame(rows, columns=["metric", "value", "se"])
        return cls(
            design=design,
            scenario=scenario,
            n_trials=nt,
            seed=seed,
            version=version,
            per_dose=per_dose,
            trial=trial,
            trials=arrays if keep_trials else None,
        )

    def metric(self, name: str) -> float:
        row = self.trial.loc[self.trial["metric"] == name, "value"]
        if row.empty:
            raise KeyError(name)
        return float(row.iloc[0])

    def summary(self) -> str:
        """Printable summary: settings, per-dose table and trial-level metrics."""
        head = (
            f"{self.design['design']} | scenario {self.scenario.get('name') or ''} | "
            f"{self.n_trials} trials | seed {self.seed} | doseladder {self.version}"
        )
        per_dose = self.per_dose.round(3).to_string(index=False)
        trial = self.trial.round(3).to_string(index=False)
        return f"{head}\n\n{per_dose}\n\n{trial}"

    def to_dict(self) -> dict[str, Any]:
        trial = {r.metric: r.value for r in self.trial.itertuples()}
        trial_se = {r.metric: r.se for r in self.trial.itertuples()}
        return {
            "design": self.design,
            "scenario": self.scenario,
            "n_trials": self.n_trials,
            "seed": self.seed,
            "version": self.version,
            "per_dose": self.per_dose.to_dict(orient="list"),
            "trial": trial,
            "trial_se": trial_se,
        }
