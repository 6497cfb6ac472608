"""Several designs × scenarios simulated on common random numbers, as one tidy table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from doseladder.simulate.results import SimulationResult

__all__ = ["Comparison"]


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
        sel = self.per_dose().pivot_table(
            index=["scenario", "design"], columns="dose", values="selection_pct"
        )
        sel.columns = [f"sel% d{c}" for c in sel.columns]
        return sel.round(1).to_string()

    def to_dict(self) -> dict[str, Any]:
        return {f"{d} | {s}": r.to_dict() for (d, s), r in self.results.items()}
