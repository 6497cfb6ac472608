"""Sweep a grid of design parameters × scenarios on common random numbers."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from doseladder.core.designs import Design
from doseladder.core.errors import InputError
from doseladder.simulate.compare import Comparison
from doseladder.simulate.engine import Progress, compare
from doseladder.simulate.scenario import Scenario

__all__ = ["grid_designs", "sweep"]


def grid_designs(base: Design, grid: Mapping[str, Sequence[Any]]) -> dict[str, Design]:
    """Every combination of the grid's values applied to ``base``, labelled ``k=v,k=v``.

    Unknown parameter names and invalid values raise :class:`InputError` naming the parameter.
    """
    if not dataclasses.is_dataclass(base):
        raise InputError("design", "must be a design object")
    names = {f.name for f in dataclasses.fields(base) if f.init}
    for key, values in grid.items():
        if key not in names:
            raise InputError(
                f"grid.{key}", f"not a parameter of {base.name}; one of {sorted(names)}"
            )
        if isinstance(values, str) or not isinstance(values, Sequence) or not values:
            raise InputError(f"grid.{key}", "must be a non-empty list of values")
    keys = list(grid)
    out: dict[str, Design] = {}
    for combo in itertools.product(*(grid[k] for k in keys)):
        label = ",".join(f"{k}={v}" for k, v in zip(keys, combo, strict=True)) or base.name
        try:
            out[label] = dataclasses.replace(base, **dict(zip(keys, combo, strict=True)))
        except InputError as exc:
            raise InputError(f"grid.{exc.field}", f"{exc.reason} (in {label})") from None
    return out


def sweep(
    base: Design,
    grid: Mapping[str, Sequence[Any]],
    scenarios: Sequence[Scenario] | dict[str, Scenario],
    n_trials: int = 10_000,
    seed: int = 0,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> Comparison:
    """Simulate every grid point under every scenario (common random numbers per scenario)."""
    return compare(
        grid_designs(base, grid),
        scenarios,
        n_trials,
        seed,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
    )
