"""Several designs × scenarios simulated on common random numbers, as one tidy table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from doseladder.simulate.results import SimulationResult

__all__ = ["Comparison"]


def _fmt(value: float, *, integer: bool) -> str:
    if pd.isna(value):
        return "—"
    return f"{value:.0f}" if integer else f"{value:.2f}"


@dataclass(frozen=True)
class Comparison:
    """Results keyed by (design label, scenario label)."""

    results: dict[tuple[str, str], SimulationResult]

    def per_dose(self) -> pd.DataFrame:
        frames = []
        for (d, s), r in self.results.items():
            f = r.per_dose.copy()
            f.insert(0, "scenario", s)
            f.insert(0, "design", d)
            frames.append(f)
        return pd.concat(frames, ignore_index=True)

    def trial(self) -> pd.DataFrame:
        frames = []
        for (d, s), r in self.results.items():
            f = r.trial.copy()
            f.insert(0, "scenario", s)
            f.insert(0, "design", d)
            frames.append(f)
        return pd.concat(frames, ignore_index=True)

    def summary(self) -> str:
        """Selection per dose (scenario × design), then per scenario the trial-level metrics
        side by side (a metric one design does not have -- e.g. backfill counts -- shows
        ``—``)."""
        sel = self.per_dose().pivot_table(
            index=["scenario", "design"], columns="dose", values="selection_pct"
        )
        sel.columns = [f"sel% d{c}" for c in sel.columns]
        parts = [sel.round(1).to_string()]
        trial = self.trial()
        designs = list(dict.fromkeys(trial["design"]))
        for scenario, rows in trial.groupby("scenario", sort=False):
            metrics = list(dict.fromkeys(rows["metric"]))
            wide = rows.pivot_table(
                index="metric", columns="design", values="value", aggfunc="first", dropna=False
            ).reindex(index=metrics, columns=designs)
            text = pd.DataFrame(
                [
                    [_fmt(v, integer=str(m).startswith("true_")) for v in wide.loc[m]]
                    for m in wide.index
                ],
                index=wide.index,
                columns=wide.columns,
            )
            parts.append(f"scenario {scenario}\n{text.to_string()}")
        return "\n\n".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {f"{d} | {s}": r.to_dict() for (d, s), r in self.results.items()}
