"""Operating characteristics of simulated protocols, per indication, with Monte-Carlo SEs.

:func:`block_stats` reduces a simulated block (:class:`~doseladder.simulate.protocol.
ProtocolBlock`) to sufficient statistics (sums, sums of squares and counts), merged in block
order so that results are bit-identical for any number of workers (as
:class:`doseladder.simulate.results.OCStats`); :class:`ProtocolSimulationResult` turns them into
tidy tables.  The truth a run is measured against (:func:`protocol_context`): per indication the
true MTD -- the dose whose P(DLT) is closest to the design's target (φT or target), as
:meth:`doseladder.simulate.scenario.Scenario.true_mtd` -- and, for the driving (pooled) cohort's
selection, the true OBD (:func:`doseladder.simulate.results.true_obd`, PKBOIN-12) or MTD; for
pooled indications the truth of a pooled patient, the accrual-weighted mixture of the
indications' probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from doseladder import __version__
from doseladder.core.designs.boin12 import BOIN12
from doseladder.simulate.protocol.scenario import ALL
from doseladder.simulate.results import mean_se_from, merge_dose_sums, true_obd
from doseladder.simulate.scenario import Scenario

if TYPE_CHECKING:
    from doseladder.simulate.protocol.simulation import ProtocolBlock, ProtocolSetup

__all__ = [
    "CLOSE_CAP",
    "CLOSE_FULL",
    "CLOSE_SAFETY",
    "CLOSE_STOP",
    "CLOSE_STUCK",
    "ProtocolContext",
    "ProtocolSimulationResult",
    "ProtocolStats",
    "block_stats",
    "protocol_context",
]

BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: how the driving (pooled) cohort's accrual ended: its maximum sample size enrolled, a stop
#: of the design (sample size or MTD declared), a stop for safety (no dose), the trial-wide
#: cap ``max_total``, or no further event while waiting (never expected; counted)
CLOSE_FULL, CLOSE_STOP, CLOSE_SAFETY, CLOSE_CAP, CLOSE_STUCK = 1, 2, 3, 4, 5


@dataclass(frozen=True)
class ProtocolContext:
    """The truth the summary is measured against."""

    names: tuple[str, ...]
    roles: tuple[str, ...]
    num_doses: int
    true_mtd: tuple[int, ...]  # per indication (closest to the target)
    trial_truth: int | None  # the target dose of the selection (true OBD or MTD), or None
    trial_mtd: int
    obd: bool
    fallback: bool
    max_total: int | None
    pooled_groups: bool  # pooled with several indications: add an "all" group
    efficacy: bool
    backfill: bool = False  # patients may be backfilled: split escalation / backfill


def protocol_context(setup: ProtocolSetup) -> ProtocolContext:
    plan = setup.plan
    design = plan.design
    target = setup.target()
    truths = setup.truths()
    mtds = tuple(Scenario(p_tox=t.p_tox).true_mtd(target) or 1 for t in truths)
    if setup.driving or len(truths) == 1:
        pt, pe = truths[0].p_tox, truths[0].p_eff
    else:
        w = setup.pooled_weights()
        pt = tuple(
            float(v)
            for v in np.sum(
                [wi * np.array(t.p_tox) for wi, t in zip(w, truths, strict=True)], axis=0
            )
        )
        pe = None
        if all(t.p_eff is not None for t in truths):
            pe = tuple(
                float(v)
                for v in np.sum(
                    [wi * np.array(t.p_eff) for wi, t in zip(w, truths, strict=True)], axis=0
                )
            )
    trial_mtd = Scenario(p_tox=pt).true_mtd(target) or 1
    obd = design.target_kind == "obd"
    truth: int | None
    if obd:
        assert isinstance(design, BOIN12) and pe is not None
        u1, u2, u3, u4 = design.utilities
        truth, _ = true_obd(pt, pe, design.phi_t, design.phi_e, (u1, u2, u3, u4))
    else:
        truth = trial_mtd
    roles = tuple(
        ("driving" if i == 0 else "other") if setup.driving else "pooled"
        for i in range(len(setup.names))
    )
    return ProtocolContext(
        names=setup.names,
        roles=roles,
        num_doses=plan.num_doses,
        true_mtd=mtds,
        trial_truth=truth,
        trial_mtd=trial_mtd,
        obd=obd,
        fallback=plan.fallback is not None,
        max_total=plan.max_total,
        pooled_groups=not setup.driving and len(setup.names) > 1,
        efficacy=any(t.p_eff is not None for t in truths),
        backfill=bool(plan.backfills),
    )


Sums = tuple[float, float, int]


@dataclass(frozen=True)
class ProtocolStats:
    """Sufficient statistics of a block (sums, sums of squares, counts), mergeable in order."""

    n_trials: int
    sel_counts: IntArray
    dose_sums: dict[str, tuple[FloatArray, FloatArray]]
    sums: dict[str, Sums]

    @staticmethod
    def merge(parts: Sequence[ProtocolStats]) -> ProtocolStats:
        first = parts[0]
        if len(parts) == 1:
            return first
        sel = np.sum([p.sel_counts for p in parts], axis=0)
        dose_sums = merge_dose_sums([p.dose_sums for p in parts])
        sums = {
            k: (
                float(np.sum([p.sums[k][0] for p in parts])),
                float(np.sum([p.sums[k][1] for p in parts])),
                int(sum(p.sums[k][2] for p in parts)),
            )
            for k in first.sums
        }
        return ProtocolStats(sum(p.n_trials for p in parts), sel, dose_sums, sums)


def _sums(values: NDArray[Any], mask: BoolArray | None = None) -> Sums:
    x = np.asarray(values, dtype=np.float64)
    if mask is not None:
        x = x[mask]
    return float(x.sum()), float((x * x).sum()), int(x.size)


def _per_indication(
    block: ProtocolBlock, ctx: ProtocolContext
) -> dict[str, dict[str, NDArray[Any]]]:
    """Per-trial (trials, J) tallies of every indication group: n, tox, eff, turned away."""
    num, nt = ctx.num_doses, block.n_trials
    out: dict[str, dict[str, NDArray[Any]]] = {}
    key_c = (block.dose * nt + np.arange(nt)[:, None]).ravel()
    size = (num + 1) * nt

    def tally(key: IntArray, mask: BoolArray) -> NDArray[np.int64]:
        res = np.bincount(key, mask.ravel(), size).reshape(num + 1, nt)[:num]
        return np.ascontiguousarray(res.T).astype(np.int64)

    present = block.dose < num
    odose = np.where(block.o_enrolled, block.o_dose, num)
    key_o = (odose * nt + np.arange(nt)[:, None]).ravel()
    for idx, name in enumerate(ctx.names):
        if ctx.roles[idx] == "other":
            mine = block.o_enrolled & (block.o_ind == idx)
            arrived = np.isfinite(block.o_time) & (block.o_ind == idx)
            out[name] = {
                "n": tally(key_o, mine),
                "tox": tally(key_o, mine & block.o_tb),
                "eff": tally(key_o, mine & block.o_eb),
                "turned_away": (arrived & ~block.o_enrolled).sum(axis=1),
            }
        else:
            mine = present & (block.ind == idx)
            out[name] = {
                "n": tally(key_c, mine),
                "tox": tally(key_c, mine & block.tb),
                "eff": tally(key_c, mine & block.eb),
            }
            if ctx.backfill:
                out[name]["n_bf"] = tally(key_c, mine & block.bf)
                out[name]["tox_bf"] = tally(key_c, mine & block.bf & block.tb)
            if block.turned_away is not None:  # BE-BOIN no_slot: leave
                out[name]["turned_away"] = block.turned_away[idx]
    if ctx.pooled_groups:
        out[ALL] = {
            "n": tally(key_c, present),
            "tox": tally(key_c, present & block.tb),
            "eff": tally(key_c, present & block.eb),
        }
        if ctx.backfill:
            out[ALL]["n_bf"] = tally(key_c, present & block.bf)
            out[ALL]["tox_bf"] = tally(key_c, present & block.bf & block.tb)
        if block.turned_away is not None:
            out[ALL]["turned_away"] = block.turned_away.sum(axis=0)
    return out


def block_stats(block: ProtocolBlock, ctx: ProtocolContext, use_eff: bool) -> ProtocolStats:
    nt = block.n_trials
    groups = _per_indication(block, ctx)
    dose_sums: dict[str, tuple[FloatArray, FloatArray]] = {}
    sums: dict[str, Sums] = {}
    for gi, (name, g) in enumerate(groups.items()):
        for metric in ("n", "tox", "eff"):
            x = g[metric].astype(np.float64)
            dose_sums[f"{name}|{metric}"] = (x.sum(axis=0), (x * x).sum(axis=0))
        if "n_bf" in g:
            # escalation / backfill split of patients and DLTs per dose
            for metric, x_int in (
                ("n_bf", g["n_bf"]),
                ("tox_bf", g["tox_bf"]),
                ("n_esc", g["n"] - g["n_bf"]),
                ("tox_esc", g["tox"] - g["tox_bf"]),
            ):
                x = x_int.astype(np.float64)
                dose_sums[f"{name}|{metric}"] = (x.sum(axis=0), (x * x).sum(axis=0))
            sums[f"{name}|backfill_n"] = _sums(g["n_bf"].sum(axis=1))
            sums[f"{name}|backfill_dlt"] = _sums(g["tox_bf"].sum(axis=1))
        total = g["n"].sum(axis=1)
        sums[f"{name}|total_n"] = _sums(total)
        sums[f"{name}|total_dlt"] = _sums(g["tox"].sum(axis=1))
        if ctx.efficacy:
            sums[f"{name}|total_responses"] = _sums(g["eff"].sum(axis=1))
        mtd = ctx.true_mtd[gi] if gi < len(ctx.true_mtd) else ctx.trial_mtd
        above = g["n"][:, mtd:].sum(axis=1)
        sums[f"{name}|patients_above_mtd"] = _sums(above)
        has = total > 0
        sums[f"{name}|pct_patients_above_mtd"] = _sums(above / np.maximum(total, 1) * 100.0, has)
        sums[f"{name}|trials_with_patients_pct"] = _sums(has * 100.0)
        if "turned_away" in g:
            sums[f"{name}|turned_away"] = _sums(g["turned_away"])
    # trial level
    sel = block.selected
    sums["trial|no_selection_pct"] = _sums((sel == 0) * 100.0)
    sums["trial|safety_stop_pct"] = _sums((block.close_kind == CLOSE_SAFETY) * 100.0)
    if ctx.fallback:
        sums["trial|fallback_fired_pct"] = _sums(block.fired * 100.0)
    if ctx.trial_truth is not None:
        name = "correct_obd_pct" if ctx.obd else "correct_mtd_pct"
        sums[f"trial|{name}"] = _sums((sel == ctx.trial_truth) * 100.0)
    sums["trial|select_above_mtd_pct"] = _sums((sel > ctx.trial_mtd) * 100.0)
    present = block.dose < ctx.num_doses
    total_n = present.sum(axis=1) + block.o_enrolled.sum(axis=1)
    sums["trial|total_n"] = _sums(total_n)
    if ctx.max_total is not None:
        # the trial enrolled its trial-wide maximum (all indications)
        sums["trial|cap_reached_pct"] = _sums((total_n >= ctx.max_total) * 100.0)
    first = np.minimum(
        np.where(present, block.entry, np.inf).min(axis=1, initial=np.inf),
        np.where(block.o_enrolled, block.o_time, np.inf).min(axis=1, initial=np.inf),
    )
    last_c = np.where(present, block.rt, -np.inf)
    last_o = np.where(block.o_enrolled, block.o_rt, -np.inf)
    if use_eff:
        last_c = np.maximum(last_c, np.where(present, block.re, -np.inf))
        last_o = np.maximum(last_o, np.where(block.o_enrolled, block.o_re, -np.inf))
    last = np.maximum(last_c.max(axis=1, initial=-np.inf), last_o.max(axis=1, initial=-np.inf))
    any_pt = total_n > 0
    sums["trial|duration"] = _sums(last - first, any_pt)
    started = present[:, 0] & np.isfinite(block.close_time)
    sums["trial|driving_accrual_time"] = _sums(block.close_time - block.entry[:, 0], started)
    sums["trial|suspended_time"] = _sums(block.waited.sum(axis=1))
    sel_counts = np.bincount(sel, minlength=ctx.num_doses + 1).astype(np.int64)
    return ProtocolStats(nt, sel_counts, dose_sums, sums)


def _mean_se(total: float, sumsq: float, n: int) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    mean = total / n
    if n < 2:
        return mean, math.nan
    var = max((sumsq - n * mean * mean) / (n - 1), 0.0)
    return mean, math.sqrt(var / n)


_METRIC_ORDER = (
    "fallback_fired_pct",
    "no_selection_pct",
    "safety_stop_pct",
    "cap_reached_pct",
    "correct_obd_pct",
    "correct_mtd_pct",
    "select_above_mtd_pct",
    "total_n",
    "duration",
    "driving_accrual_time",
    "suspended_time",
    "trials_with_patients_pct",
    "total_dlt",
    "total_responses",
    "backfill_n",
    "backfill_dlt",
    "patients_above_mtd",
    "pct_patients_above_mtd",
    "turned_away",
)


@dataclass(frozen=True)
class ProtocolSimulationResult:
    """Operating characteristics of a protocol under a protocol scenario.

    ``per_dose`` has one row per (indication, dose): the true probabilities, the selection
    percentage (driving or pooled cohort: the trial's selected dose), the mean patients, DLTs
    and responses, each with its Monte-Carlo SE.  ``trial`` has one row per (indication,
    metric) with value and SE; trial-level metrics have indication ``"trial"``.  Percentages'
    SEs are binomial; means' SEs are sd/√n over the trials the metric is defined for (e.g.
    ``pct_patients_above_mtd`` over trials with at least one patient of that indication).
    ``protocol`` and ``scenario`` hold the inputs, with the seed and the package version.
    """

    protocol: dict[str, Any]
    scenario: dict[str, Any]
    n_trials: int
    seed: int
    version: str
    per_dose: pd.DataFrame
    trial: pd.DataFrame

    @classmethod
    def from_stats(
        cls,
        stats: ProtocolStats,
        ctx: ProtocolContext,
        setup: ProtocolSetup,
        seed: int,
    ) -> ProtocolSimulationResult:
        nt = stats.n_trials
        plan = setup.plan
        labels = plan.dose_labels
        frames = []
        sel_pct = stats.sel_counts[1:] / nt * 100.0
        sel_se = np.sqrt(sel_pct * (100.0 - sel_pct) / nt)
        groups = list(ctx.names) + ([ALL] if ctx.pooled_groups else [])
        for name in groups:
            if name == ALL and ctx.pooled_groups:
                role = "pooled (all)"
                truth = None
            else:
                idx = ctx.names.index(name)
                role = ctx.roles[idx]
                truth = setup.scenario.truth(name)
            carries = role == "driving" or (
                (role == "pooled" and not ctx.pooled_groups) or role == "pooled (all)"
            )
            row: dict[str, Any] = {
                "indication": [name] * ctx.num_doses,
                "role": [role] * ctx.num_doses,
                "dose": np.arange(1, ctx.num_doses + 1),
                "label": list(labels),
                "p_tox": list(truth.p_tox) if truth is not None else [np.nan] * ctx.num_doses,
                "p_eff": (
                    list(truth.p_eff)
                    if truth is not None and truth.p_eff is not None
                    else [np.nan] * ctx.num_doses
                ),
                "selection_pct": sel_pct if carries else np.full(ctx.num_doses, np.nan),
                "selection_se": sel_se if carries else np.full(ctx.num_doses, np.nan),
            }
            split = (
                (
                    ("n_esc", "mean_patients_escalation"),
                    ("n_bf", "mean_patients_backfill"),
                    ("tox_esc", "mean_dlt_escalation"),
                    ("tox_bf", "mean_dlt_backfill"),
                )
                if f"{name}|n_bf" in stats.dose_sums
                else ()
            )
            for metric, col in (
                ("n", "mean_patients"),
                ("tox", "mean_dlt"),
                ("eff", "mean_responses"),
                *split,
            ):
                m, se = mean_se_from(*stats.dose_sums[f"{name}|{metric}"], nt)
                row[col] = m
                row[f"{col}_se"] = se
            frames.append(pd.DataFrame(row))
        per_dose = pd.concat(frames, ignore_index=True)
        rows: list[tuple[str, str, float, float]] = []
        scopes = ["trial", *groups]
        for scope in scopes:
            for metric in _METRIC_ORDER:
                key = f"{scope}|{metric}"
                if key not in stats.sums:
                    continue
                total, sumsq, count = stats.sums[key]
                mean, err = _mean_se(total, sumsq, count)
                if metric.endswith("_pct") and count > 0:
                    err = math.sqrt(max(mean * (100.0 - mean), 0.0) / count)
                rows.append((scope, metric, mean, err))
            if scope == "trial":
                if ctx.trial_truth is not None:
                    rows.append(
                        (
                            "trial",
                            "true_obd" if ctx.obd else "true_mtd",
                            float(ctx.trial_truth),
                            0.0,
                        )
                    )
                elif ctx.obd:
                    rows.append(("trial", "true_obd", 0.0, 0.0))
                if ctx.obd:
                    rows.append(("trial", "true_mtd", float(ctx.trial_mtd), 0.0))
            elif scope in ctx.names:
                rows.append((scope, "true_mtd", float(ctx.true_mtd[ctx.names.index(scope)]), 0.0))
        trial = pd.DataFrame(rows, columns=["indication", "metric", "value", "se"])
        protocol = {
            "id": setup.protocol_id,
            "dose_labels": list(labels),
            "plan": plan.to_dict(),
            "dlt_window": setup.dlt_window,
            "eff_window": setup.eff_window,
        }
        return cls(protocol, setup.scenario.to_dict(), nt, seed, __version__, per_dose, trial)

    def metric(self, name: str, indication: str = "trial") -> float:
        sel = self.trial[(self.trial["metric"] == name) & (self.trial["indication"] == indication)]
        if sel.empty:
            raise KeyError(f"{indication}/{name}")
        return float(sel["value"].iloc[0])

    def metric_se(self, name: str, indication: str = "trial") -> float:
        sel = self.trial[(self.trial["metric"] == name) & (self.trial["indication"] == indication)]
        if sel.empty:
            raise KeyError(f"{indication}/{name}")
        return float(sel["se"].iloc[0])

    def summary(self) -> str:
        """Printable summary: inputs, per-dose OCs per indication, trial-level metrics."""
        head = (
            f"protocol {self.protocol['id']} | scenario {self.scenario.get('name') or ''} | "
            f"{self.n_trials} trials | seed {self.seed} | doseladder {self.version}"
        )
        cols = [
            "indication",
            "label",
            "p_tox",
            "p_eff",
            "selection_pct",
            "mean_patients",
            "mean_dlt",
            "mean_responses",
        ]
        if "mean_patients_backfill" in self.per_dose.columns:
            cols += ["mean_patients_backfill", "mean_dlt_backfill"]
        per_dose = self.per_dose[cols].round(3).to_string(index=False)
        trial = self.trial.round(3).to_string(index=False)
        return f"{head}\n\n{per_dose}\n\n{trial}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "scenario": self.scenario,
            "n_trials": self.n_trials,
            "seed": self.seed,
            "version": self.version,
            "per_dose": self.per_dose.to_dict(orient="records"),
            "trial": self.trial.to_dict(orient="records"),
        }
