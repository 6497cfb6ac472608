"""Plots of a report (matplotlib, Agg backend), returned as PNG bytes.

Every figure plots numbers read from the simulation result objects; error bars are ±1.96
Monte-Carlo standard errors (95 % intervals) unless the caption says otherwise.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Any

from doseladder.simulate.protocol.results import ProtocolSimulationResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from doseladder.reports.content import ReportContent

__all__ = [
    "allocation_figure",
    "duration_figure",
    "png",
    "selection_figure",
    "stopping_figure",
]

DPI = 130
_BAR = "#3b6ea5"
_TRUTH = "#d9822b"
_GREY = "#9aa5b1"


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png(fig: Figure) -> bytes:
    """Render and close a figure."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    _plt().close(fig)
    return buf.getvalue()


def _grid(n: int) -> tuple[int, int]:
    cols = min(3, n)
    return math.ceil(n / cols), cols


def _truth(r: Any) -> tuple[str, int | None]:
    """The dose the selection is measured against: true OBD (phase I/II) or MTD."""
    rows = r.trial
    if isinstance(r, ProtocolSimulationResult):
        rows = rows[rows["indication"] == "trial"]
    for name, label in (("true_obd", "true OBD"), ("true_mtd", "true MTD")):
        v = rows.loc[rows["metric"] == name, "value"]
        if not v.empty:
            x = float(v.iloc[0])
            return label, int(x) if x >= 1 else None
    return "", None


def _selection(r: Any) -> tuple[list[float], list[float]]:
    pdf = r.per_dose
    if isinstance(r, ProtocolSimulationResult):
        pdf = pdf[pdf["selection_pct"].notna()]
        pdf = pdf[pdf["indication"] == pdf["indication"].iloc[0]]
    return list(pdf["selection_pct"]), list(pdf["selection_se"])


def selection_figure(c: ReportContent) -> bytes:
    """Selection % by dose, one panel per scenario, the true target dose highlighted."""
    plt = _plt()
    labels = list(c.dose_labels)
    rows, cols = _grid(len(c.results))
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.9 * rows), squeeze=False)
    for i, (name, r) in enumerate(zip(c.scenario_names, c.results, strict=True)):
        ax = axes[i // cols][i % cols]
        sel, se = _selection(r)
        what, truth = _truth(r)
        colors = [_TRUTH if truth == j + 1 else _BAR for j in range(len(sel))]
        err = [1.96 * s if s == s else 0.0 for s in se]
        ax.bar(labels, sel, color=colors, yerr=err, capsize=3)
        for j, (v, e) in enumerate(zip(sel, err, strict=True)):
            ax.text(j, v + e + 1.5, f"{v:.1f}", ha="center", va="bottom", fontsize=8)
        ax.set_ylim(0, 110)
        ax.set_title(f"{name}" + (f" ({what}: {labels[truth - 1]})" if truth else ""), fontsize=9)
        ax.set_xlabel("dose level", fontsize=8)
        ax.set_ylabel("selected, % of trials", fontsize=8)
        ax.tick_params(labelsize=8)
    for k in range(len(c.results), rows * cols):
        axes[k // cols][k % cols].axis("off")
    fig.suptitle("Selection by dose (orange: the true target dose; bars ±1.96 SE)", fontsize=10)
    fig.tight_layout()
    return png(fig)


def allocation_figure(c: ReportContent) -> bytes:
    """Mean patients per dose, per scenario (stacked by indication for protocols)."""
    plt = _plt()
    labels = list(c.dose_labels)
    rows, cols = _grid(len(c.results))
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.9 * rows), squeeze=False)
    palette = ["#3b6ea5", "#6aa84f", "#c27ba0", "#e69138", "#8e7cc3", "#45818e"]
    for i, (name, r) in enumerate(zip(c.scenario_names, c.results, strict=True)):
        ax = axes[i // cols][i % cols]
        if isinstance(r, ProtocolSimulationResult):
            pdf = r.per_dose[r.per_dose["role"] != "pooled (all)"]
            bottom = [0.0] * len(labels)
            for k, (ind, g) in enumerate(pdf.groupby("indication", sort=False)):
                vals = list(g["mean_patients"])
                ax.bar(labels, vals, bottom=bottom, label=str(ind), color=palette[k % 6])
                bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
            if i == 0:
                ax.legend(fontsize=7, loc="upper right")
            top = bottom
        else:
            vals = list(r.per_dose["mean_patients"])
            err = [1.96 * s for s in r.per_dose["mean_patients_se"]]
            ax.bar(labels, vals, color=_BAR, yerr=err, capsize=3)
            top = [v + e for v, e in zip(vals, err, strict=True)]
            shown = vals
        if isinstance(r, ProtocolSimulationResult):
            shown = top
        for j, (v, t) in enumerate(zip(shown, top, strict=True)):
            ax.text(j, t + max(top) * 0.02, f"{v:.1f}", ha="center", va="bottom", fontsize=8)
        ax.set_ylim(0, max(max(top) * 1.25, 1.0))
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("dose level", fontsize=8)
        ax.set_ylabel("mean patients per trial", fontsize=8)
        ax.tick_params(labelsize=8)
    for k in range(len(c.results), rows * cols):
        axes[k // cols][k % cols].axis("off")
    fig.suptitle("Allocation: mean number of patients treated at each dose", fontsize=10)
    fig.tight_layout()
    return png(fig)


def _metric(r: Any, name: str) -> tuple[float, float] | None:
    t = r.trial
    if isinstance(r, ProtocolSimulationResult):
        t = t[t["indication"] == "trial"]
    row = t[t["metric"] == name]
    if row.empty:
        return None
    return float(row["value"].iloc[0]), float(row["se"].iloc[0])


def duration_figure(c: ReportContent) -> bytes | None:
    """Trial duration per scenario: mean ± 1 SD (bar) and the 95 % interval of the mean."""
    plt = _plt()
    names, means, sds = [], [], []
    for name, r in zip(c.scenario_names, c.results, strict=True):
        dur = _metric(r, "duration")
        if dur is None or not math.isfinite(dur[0]):
            continue
        sd_row = _metric(r, "duration_sd")
        sd = sd_row[0] if sd_row is not None else dur[1] * math.sqrt(r.n_trials)
        names.append(name)
        means.append(dur[0])
        sds.append(sd)
    if not names:
        return None
    fig, ax = plt.subplots(figsize=(7.0, 0.4 * len(names) + 1.3))
    y = list(range(len(names)))
    ax.barh(y, means, xerr=sds, color=_BAR, alpha=0.85, capsize=4, label="mean ± 1 SD")
    for k, (m, s) in enumerate(zip(means, sds, strict=True)):
        ax.text(m + s + max(means) * 0.02, k, f"{m:.0f} (SD {s:.0f})", va="center", fontsize=8)
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, max(m + s for m, s in zip(means, sds, strict=True)) * 1.35)
    ax.set_xlabel("trial duration (time units of the windows; days for protocols)", fontsize=8)
    ax.set_title("Trial duration distribution: mean ± 1 standard deviation", fontsize=10)
    fig.tight_layout()
    return png(fig)


def stopping_figure(c: ReportContent) -> bytes:
    """Per scenario: the fallback rate (protocols with the rule), early stopping / no
    selection, with 95 % intervals."""
    plt = _plt()
    keys = [
        ("fallback_fired_pct", "backup-dose fallback fired"),
        ("early_stop_pct", "stopped early"),
        ("safety_stop_pct", "stopped for safety"),
        ("no_selection_pct", "no dose selected"),
    ]
    present = [(k, lab) for k, lab in keys if any(_metric(r, k) for r in c.results)]
    n = len(c.results)
    width = 0.8 / max(len(present), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * n + 2), 3.6))
    colors = ["#e69138", "#3b6ea5", "#cc0000", "#6aa84f"]
    for k, (key, lab) in enumerate(present):
        vals, errs = [], []
        for r in c.results:
            m = _metric(r, key)
            vals.append(m[0] if m else 0.0)
            errs.append(1.96 * m[1] if m else 0.0)
        xs = [i + (k - (len(present) - 1) / 2) * width for i in range(n)]
        ax.bar(xs, vals, width=width, yerr=errs, capsize=2, label=lab, color=colors[k % 4])
        for x, v, e in zip(xs, vals, errs, strict=True):
            ax.text(x, v + e + 1.5, f"{v:.0f}", ha="center", fontsize=7)
    ax.set_xticks(range(n), c.scenario_names, fontsize=8)
    ax.set_ylim(0, 115)
    ax.set_ylabel("% of simulated trials", fontsize=8)
    title = (
        "Fallback rate and stopping"
        if present and present[0][0].startswith("fall")
        else ("Stopping")
    )
    ax.set_title(f"{title} by scenario (bars ±1.96 SE)", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", ncol=2)
    fig.tight_layout()
    return png(fig)
