"""Simulation scenarios: the truth a design is tested against.

A :class:`Scenario` holds per-dose true toxicity probabilities and, for phase I/II designs,
efficacy probabilities with their association (an odds ratio between toxicity and efficacy;
1 = independent), the time-to-event models for late-onset outcomes, and the accrual process.

Event times within the assessment window (TITE designs).  Given that the event occurs within
the window of length W, its time is

* ``uniform``: uniform on (0, W];
* ``weibull``: Weibull, with parameters chosen per dose so that P(event by W) equals the dose's
  probability and a fraction ``alpha1`` of the events fall in the last fraction ``alpha2`` of the
  window (Yuan et al. 2018; TITEgBOIN ``get_oc_TITE_QuasiBOIN``; defaults α1 = α2 = 0.5).

Accrual: ``rate`` patients per unit time (the unit of the design's windows), with ``fixed``
inter-arrival gaps 1/rate, ``poisson`` (exponential gaps with mean 1/rate) or ``uniform`` (gaps
uniform on (0, 2/rate), bfboin's default ``accrual = "uniform"``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from doseladder.core.errors import InputError

__all__ = ["Accrual", "EventTimeModel", "Scenario", "ScenarioWarning", "joint_probabilities"]


class ScenarioWarning(UserWarning):
    """A scenario is valid but unusual (e.g. toxicity not increasing with dose)."""


@dataclass(frozen=True, slots=True)
class EventTimeModel:
    model: Literal["uniform", "weibull"] = "uniform"
    alpha1: float = 0.5
    alpha2: float = 0.5

    def __post_init__(self) -> None:
        if self.model not in ("uniform", "weibull"):
            raise InputError("model", f"must be 'uniform' or 'weibull', got {self.model!r}")
        for name in ("alpha1", "alpha2"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < 1:
                raise InputError(name, f"must be a number in (0, 1), got {v!r}")


@dataclass(frozen=True, slots=True)
class Accrual:
    type: Literal["fixed", "poisson", "uniform"] = "poisson"
    rate: float = 1.0

    def __post_init__(self) -> None:
        if self.type not in ("fixed", "poisson", "uniform"):
            raise InputError("type", f"must be 'fixed', 'poisson' or 'uniform', got {self.type!r}")
        r = self.rate
        if isinstance(r, bool) or not isinstance(r, int | float) or not (0 < r < math.inf):
            raise InputError(
                "rate", f"must be a positive number of patients per unit time, got {r!r}"
            )


def _probs(name: str, values: Sequence[float]) -> tuple[float, ...]:
    if isinstance(values, str) or not isinstance(values, Sequence) or len(values) == 0:
        raise InputError(name, "must be a non-empty list of probabilities")
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
            raise InputError(f"{name}[{i}]", f"must be a probability in [0, 1], got {v!r}")
        out.append(float(v))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Scenario:
    """True dose-outcome curves and the trial's timing.

    Attributes:
        p_tox: P(DLT within the window) per dose level.
        p_eff: P(response within the window) per dose level (phase I/II designs).
        tox_eff_odds_ratio: odds ratio between toxicity and efficacy (1 = independent).
        accrual: accrual process.
        tox_time, eff_time: time-to-event models within the windows.
        name: a label for tables.
    """

    p_tox: tuple[float, ...]
    p_eff: tuple[float, ...] | None = None
    tox_eff_odds_ratio: float = 1.0
    accrual: Accrual = field(default_factory=Accrual)
    tox_time: EventTimeModel = field(default_factory=EventTimeModel)
    eff_time: EventTimeModel = field(default_factory=EventTimeModel)
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "p_tox", _probs("p_tox", self.p_tox))
        if self.p_eff is not None:
            object.__setattr__(self, "p_eff", _probs("p_eff", self.p_eff))
            if len(self.p_eff) != len(self.p_tox):
                raise InputError(
                    "p_eff", f"has {len(self.p_eff)} doses but p_tox has {len(self.p_tox)}"
                )
        r = self.tox_eff_odds_ratio
        if isinstance(r, bool) or not isinstance(r, int | float) or not (0 < r < math.inf):
            raise InputError("tox_eff_odds_ratio", f"must be a positive number, got {r!r}")
        if self.p_eff is None and r != 1.0:
            raise InputError("tox_eff_odds_ratio", "given without p_eff")

    @property
    def num_doses(self) -> int:
        return len(self.p_tox)

    def check_for(self, num_doses: int, *, needs_efficacy: bool, monotone: bool = True) -> None:
        """Validate against a design: number of doses, efficacy present; warn if non-monotone."""
        if self.num_doses != num_doses:
            raise InputError("p_tox", f"has {self.num_doses} doses but the design has {num_doses}")
        if needs_efficacy and self.p_eff is None:
            raise InputError("p_eff", "required: the design uses efficacy (phase I/II)")
        if monotone and any(b < a for a, b in zip(self.p_tox, self.p_tox[1:], strict=False)):
            warnings.warn(
                f"scenario {self.name or ''}: p_tox {list(self.p_tox)} is not non-decreasing; "
                "the design assumes toxicity increases with dose",
                ScenarioWarning,
                stacklevel=2,
            )

    def true_mtd(self, target: float) -> int | None:
        """The dose whose P(DLT) is closest to ``target`` (1-based; ties → lower)."""
        gaps = [abs(p - target) for p in self.p_tox]
        return gaps.index(min(gaps)) + 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def renamed(self, name: str) -> Scenario:
        return replace(self, name=name)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scenario:
        """Build from a scenario-file mapping (unknown keys are rejected)."""
        allowed = {
            "p_tox",
            "p_eff",
            "tox_eff_odds_ratio",
            "accrual",
            "tox_time",
            "eff_time",
            "name",
        }
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise InputError(
                unknown[0], f"unknown scenario key; allowed: {', '.join(sorted(allowed))}"
            )
        if "p_tox" not in data:
            raise InputError("p_tox", "required")
        kw: dict[str, Any] = {
            k: data[k] for k in ("p_tox", "p_eff", "tox_eff_odds_ratio", "name") if k in data
        }
        for key in ("p_tox", "p_eff"):
            if isinstance(kw.get(key), list):
                kw[key] = tuple(kw[key])
        sub: dict[str, type[Any]] = {
            "accrual": Accrual,
            "tox_time": EventTimeModel,
            "eff_time": EventTimeModel,
        }
        for key, typ in sub.items():
            if key in data:
                val = data[key]
                if not isinstance(val, Mapping):
                    raise InputError(key, "must be a mapping")
                names = set(typ.__dataclass_fields__)
                bad = sorted(set(val) - names)
                if bad:
                    raise InputError(
                        f"{key}.{bad[0]}", f"unknown key; allowed: {', '.join(sorted(names))}"
                    )
                try:
                    kw[key] = typ(**val)
                except InputError as exc:
                    raise InputError(f"{key}.{exc.field}", exc.reason) from None
        return cls(**kw)


def joint_probabilities(p_t: float, p_e: float, odds_ratio: float) -> float:
    """P(T=1, E=1) for marginals ``p_t``, ``p_e`` and an odds ratio (Plackett 1965)."""
    if odds_ratio == 1.0:
        return p_t * p_e
    a = odds_ratio - 1.0
    b = 1.0 + (p_t + p_e) * a
    disc = b * b - 4.0 * odds_ratio * a * p_t * p_e
    return (b - math.sqrt(max(disc, 0.0))) / (2.0 * a)
