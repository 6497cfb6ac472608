"""Simulation outputs: per-trial arrays from the kernels, and tidy summaries with MC errors."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = [
    "OCContext",
    "OCStats",
    "SimulationResult",
    "TrialArrays",
    "mean_se_from",
    "merge_dose_sums",
    "true_obd",
]


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
        entry: (trials, max_n) entry time of the i-th patient; (trials, 0) for designs that
            do not model time.
        n_backfill, tox_backfill: (trials, doses) the backfill patients and their DLTs among
            ``n`` / ``tox`` (BF-BOIN; ``None`` for designs without backfill).
        turned_away: (trials,) arrivals turned away, neither enrolled nor backfilled (BF-BOIN;
            ``None`` for designs that do not count them).
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
    n_backfill: NDArray[np.int64] | None = None
    tox_backfill: NDArray[np.int64] | None = None
    turned_away: NDArray[np.int64] | None = None

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
            n_backfill=_cat_optional([p.n_backfill for p in parts]),
            tox_backfill=_cat_optional([p.tox_backfill for p in parts]),
            turned_away=_cat_optional([p.turned_away for p in parts]),
        )


def _cat_optional(parts: list[NDArray[np.int64] | None]) -> NDArray[np.int64] | None:
    if any(p is None for p in parts):
        return None
    return np.concatenate([p for p in parts if p is not None])


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


@dataclass(frozen=True, slots=True)
class OCContext:
    """What the summary needs to know about the truth (fixed for a run)."""

    num_doses: int
    true_mtd: int | None = None
    true_obd: int | None = None
    efficacy: bool = False


#: per-trial quantities averaged in the trial table, in report order
_TRIAL_MEANS = (
    "total_n",
    "total_backfill",
    "total_dlt",
    "total_responses",
    "pct_patients_above_mtd",
    "duration",
    "suspended_time",
    "turned_away",
)
_TRIAL_PCTS = ("no_selection_pct", "early_stop_pct", "select_overdose_pct", "correct_obd_pct")


@dataclass(frozen=True)
class OCStats:
    """Sufficient statistics of a set of simulated trials (sums and sums of squares).

    Blocks are reduced to these as soon as they are simulated, so memory stays bounded however
    many trials are run; merging in block order keeps results bit-identical for any number of
    workers.
    """

    n_trials: int
    sel_counts: NDArray[np.int64]
    dose_sums: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]]
    counts: dict[str, int]
    sums: dict[str, tuple[float, float]]

    @classmethod
    def from_arrays(cls, a: TrialArrays, ctx: OCContext) -> OCStats:
        nt = int(a.n.shape[0])
        dose_sums = {}
        per_dose = [("n", a.n), ("tox", a.tox)]
        if ctx.efficacy:
            per_dose.append(("eff", a.eff))
        else:
            zero = np.zeros(ctx.num_doses)
            dose_sums["eff"] = (zero, zero)
        if a.n_backfill is not None and a.tox_backfill is not None:
            per_dose += [("n_backfill", a.n_backfill), ("tox_backfill", a.tox_backfill)]
        for name, arr in per_dose:
            # integer counts: exact sums and sums of squares
            dose_sums[name] = (
                _int_sums(arr, "ij->j").astype(np.float64),
                np.einsum("ij,ij->j", arr, arr).astype(np.float64),
            )
        counts = {
            "no_selection_pct": int((a.selected == 0).sum()),
            "early_stop_pct": int(a.stopped_early.sum()),
        }
        total_n = _int_sums(a.n, "ij->i")
        per_trial: dict[str, NDArray[Any]] = {
            "total_n": total_n,
            "total_dlt": _int_sums(a.tox, "ij->i"),
        }
        if ctx.efficacy:
            per_trial["total_responses"] = _int_sums(a.eff, "ij->i")
        if ctx.true_mtd is not None:
            above = _int_sums(a.n[:, ctx.true_mtd :], "ij->i") / np.maximum(total_n, 1) * 100
            per_trial["pct_patients_above_mtd"] = above
            counts["select_overdose_pct"] = int((a.selected > ctx.true_mtd).sum())
        if ctx.true_obd is not None:
            counts["correct_obd_pct"] = int((a.selected == ctx.true_obd).sum())
        if a.n_backfill is not None:
            per_trial["total_backfill"] = _int_sums(a.n_backfill, "ij->i")
        if np.isfinite(a.duration).any():
            per_trial["duration"] = a.duration
            per_trial["suspended_time"] = a.suspended
        if a.turned_away is not None:
            per_trial["turned_away"] = a.turned_away
        sums = {}
        for name, v in per_trial.items():
            sums[name] = (float(v.sum()), float(np.dot(v, v)))
        sel = np.bincount(a.selected, minlength=ctx.num_doses + 1).astype(np.int64)
        return cls(nt, sel, dose_sums, counts, sums)

    @staticmethod
    def merge(parts: list[OCStats]) -> OCStats:
        """Combine blocks, in the given (block) order."""
        first = parts[0]
        if len(parts) == 1:
            return first
        sel = np.sum([p.sel_counts for p in parts], axis=0)
        dose_sums = merge_dose_sums([p.dose_sums for p in parts])
        counts = {k: sum(p.counts[k] for p in parts) for k in first.counts}
        sums = {
            k: (
                float(np.sum([p.sums[k][0] for p in parts])),
                float(np.sum([p.sums[k][1] for p in parts])),
            )
            for k in first.sums
        }
        return OCStats(sum(p.n_trials for p in parts), sel, dose_sums, counts, sums)


def _int_sums(a: NDArray[Any], subscripts: str) -> NDArray[Any]:
    """Row (``"ij->i"``) or column (``"ij->j"``) sums of a (trials, doses) count array:
    ``np.einsum`` on int64 counts -- integers add exactly in any order, so the sums are
    ``a.sum(axis=...)``'s, 4-5x faster on (10,000, 5) blocks, where ``ndarray.sum`` walks the
    short axis with a per-row loop; other dtypes use ``ndarray.sum`` (its int64 promotion)."""
    if a.dtype != np.int64:
        return a.sum(axis=1 if subscripts == "ij->i" else 0)  # type: ignore[no-any-return]
    return np.einsum(subscripts, a)  # type: ignore[no-any-return]


def merge_dose_sums(
    parts: Sequence[Mapping[str, tuple[NDArray[np.float64], NDArray[np.float64]]]],
) -> dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Add per-dose (sum, sum of squares) arrays of blocks key by key, in block order."""
    return {
        k: (
            np.sum([p[k][0] for p in parts], axis=0),
            np.sum([p[k][1] for p in parts], axis=0),
        )
        for k in parts[0]
    }


def mean_se_from(total: Any, sumsq: Any, n: int) -> tuple[Any, Any]:
    """Mean and Monte-Carlo SE of ``n`` values from their sum and sum of squares (NaN SE for
    fewer than two values); element-wise for arrays."""
    mean = np.asarray(total, dtype=np.float64) / n
    if n < 2:
        return mean, np.full_like(mean, np.nan)
    var = np.maximum((np.asarray(sumsq, dtype=np.float64) - n * mean * mean) / (n - 1), 0.0)
    return mean, np.sqrt(var / n)


@dataclass(frozen=True)
class SimulationResult:
    """Operating characteristics of one design under one scenario.

    ``per_dose`` is a tidy DataFrame (one row per dose) and ``trial`` a one-row-per-metric
    DataFrame (metric, value, se).  Every percentage and mean has its Monte-Carlo standard
    error.  The seed, the package version and the full design and scenario are kept so the run
    can be reproduced; ``trials`` holds the per-trial arrays when asked for.
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
    def from_stats(
        cls,
        stats: OCStats,
        ctx: OCContext,
        *,
        design: dict[str, Any],
        scenario: dict[str, Any],
        seed: int,
        version: str,
        trials: TrialArrays | None = None,
    ) -> SimulationResult:
        nt = stats.n_trials
        doses = np.arange(1, ctx.num_doses + 1)
        sel_pct = stats.sel_counts[1:] / nt * 100
        mean_n, se_n = mean_se_from(*stats.dose_sums["n"], nt)
        mean_t, se_t = mean_se_from(*stats.dose_sums["tox"], nt)
        # the columns in report order, then one DataFrame (inserting columns one by one into a
        # DataFrame costs more than the whole block summary)
        columns: dict[str, Any] = {"dose": doses, "p_tox": scenario["p_tox"]}
        if ctx.efficacy:
            columns["p_eff"] = scenario["p_eff"]
        columns |= {
            "selection_pct": sel_pct,
            "selection_se": _pct_se(sel_pct, nt),
            "mean_patients": mean_n,
            "mean_patients_se": se_n,
            "mean_dlt": mean_t,
            "mean_dlt_se": se_t,
        }
        if "n_backfill" in stats.dose_sums:
            # escalation / backfill split (BF-BOIN): per-trial differences have exact sums
            mean_b, se_b = mean_se_from(*stats.dose_sums["n_backfill"], nt)
            mean_bt, se_bt = mean_se_from(*stats.dose_sums["tox_backfill"], nt)
            columns |= {
                "mean_patients_escalation": mean_n - mean_b,
                "mean_patients_backfill": mean_b,
                "mean_patients_backfill_se": se_b,
                "mean_dlt_escalation": mean_t - mean_bt,
                "mean_dlt_backfill": mean_bt,
                "mean_dlt_backfill_se": se_bt,
            }
        if ctx.efficacy:
            mean_e, se_e = mean_se_from(*stats.dose_sums["eff"], nt)
            columns |= {"mean_responses": mean_e, "mean_responses_se": se_e}
        per_dose = pd.DataFrame(columns)
        rows: list[tuple[str, float, float]] = []
        for name in _TRIAL_PCTS:
            if name in stats.counts:
                p = stats.counts[name] / nt * 100
                rows.append((name, p, float(_pct_se(p, nt))))
        for name in _TRIAL_MEANS:
            if name in stats.sums:
                m, se = mean_se_from(*stats.sums[name], nt)
                rows.append((name, float(m), float(se)))
                if name == "duration":
                    rows.append(("duration_sd", float(se) * math.sqrt(nt), math.nan))
        if ctx.true_mtd is not None:
            rows.append(("true_mtd", float(ctx.true_mtd), 0.0))
        if ctx.true_obd is not None:
            rows.append(("true_obd", float(ctx.true_obd), 0.0))
        trial = pd.DataFrame(rows, columns=["metric", "value", "se"])
        return cls(design, scenario, nt, seed, version, per_dose, trial, trials)

    @classmethod
    def from_arrays(
        cls,
        arrays: TrialArrays,
        ctx: OCContext,
        *,
        design: dict[str, Any],
        scenario: dict[str, Any],
        seed: int,
        version: str,
        keep_trials: bool = False,
    ) -> SimulationResult:
        return cls.from_stats(
            OCStats.from_arrays(arrays, ctx),
            ctx,
            design=design,
            scenario=scenario,
            seed=seed,
            version=version,
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
