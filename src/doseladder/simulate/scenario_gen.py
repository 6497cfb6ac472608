"""Random scenarios for robustness studies: the pseudo-uniform algorithm.

**Dose-toxicity** -- Clertant M, O'Quigley J. Semiparametric dose finding methods. J R Stat Soc
B 2017;79:1487-1508 (the "pseudo-uniform" generator used since in many comparisons of
model-assisted designs).  For K doses and target φ:

1. the MTD position M is drawn uniformly from 1..K;
2. an upper bound B of the toxicity probabilities is drawn: for M < K, B = φ + (1 − φ)·V with
   V ~ Beta(K − M, 1) (the largest of K − M uniforms on (φ, 1)), floored at φ + 0.05; for M = K,
   V ~ Beta(0.5, 1);
3. K uniforms on (0, B) are sorted; the draw is kept when the dose whose probability is closest
   to φ (:meth:`Scenario.true_mtd`, ties to the lower dose) is M, and redrawn otherwise.

The curves are non-decreasing and the MTD is uniformly distributed over the doses.

**Toxicity-efficacy** (documented extension, following the random-scenario generator of the
BOIN12 authors' simulation code, Lin et al. 2020): the OBD position O is drawn uniformly from
1..K and the MTD M uniformly from O..K; toxicity is drawn as above with MTD M; efficacy, with an
upper bound U ~ Uniform(0.3, 0.8), is with probability 1/2 a *plateau* (O sorted uniforms on
(0, U) up to O, constant after) and otherwise *unimodal* (peak at a dose P drawn uniformly from
O..K with the largest of K uniforms on (0, U), sorted uniforms below the peak increasing to it
and above it decreasing).  The draw is kept when the true OBD of the design's utilities
(:func:`doseladder.simulate.results.true_obd`, PKBOIN-12's definition) is O.

Everything is drawn from ``numpy.random.default_rng(SeedSequence(seed))``: the same seed gives
the same scenarios.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from doseladder.core.designs.base import Design, check_int
from doseladder.core.errors import InputError
from doseladder.simulate.protocol.scenario import IndicationTruth, ProtocolScenario
from doseladder.simulate.results import true_obd
from doseladder.simulate.scenario import Accrual, EventTimeModel, Scenario

__all__ = [
    "MAX_TRIES",
    "random_efficacy_curve",
    "random_protocol_scenarios",
    "random_scenarios",
    "random_scenarios_for",
    "random_tox_curve",
]

#: attempts per scenario before giving up (never reached with sensible targets)
MAX_TRIES = 100_000
_FLOOR = 0.05


def _closest(p: np.ndarray, target: float) -> int:
    gaps = np.abs(p - target)
    return int(np.argmin(gaps)) + 1  # argmin returns the first (lower) dose on ties


def random_tox_curve(
    rng: np.random.Generator, num_doses: int, target: float, mtd: int | None = None
) -> tuple[float, ...]:
    """One pseudo-uniform dose-toxicity curve (module docstring) with MTD ``mtd`` (drawn
    uniformly when ``None``)."""
    k = num_doses
    m = int(rng.integers(1, k + 1)) if mtd is None else mtd
    shape = float(k - m) if m < k else 0.5
    bound = target + (1.0 - target) * float(rng.beta(shape, 1.0))
    if m < k:
        bound = max(bound, target + _FLOOR)
    for _ in range(MAX_TRIES):
        p = np.sort(rng.uniform(0.0, bound, k))
        if _closest(p, target) == m:
            return tuple(round(float(x), 4) for x in p)
    raise InputError("target", f"could not draw a curve with MTD {m} (target {target:g})")


def random_efficacy_curve(rng: np.random.Generator, num_doses: int, obd: int) -> tuple[float, ...]:
    """Plateau or unimodal efficacy curve with its rise up to ``obd`` (module docstring)."""
    k = num_doses
    upper = float(rng.uniform(0.3, 0.8))
    e = np.zeros(k)
    if rng.uniform() < 0.5 and obd < k:  # plateau from the OBD on
        e[:obd] = np.sort(rng.uniform(0.0, upper, obd))
        e[obd:] = e[obd - 1]
    else:  # unimodal, peak at or above the OBD
        peak = int(rng.integers(obd, k + 1))
        top = float(rng.uniform(0.0, upper, k).max())
        e[peak - 1] = top
        e[: peak - 1] = np.sort(rng.uniform(0.0, top, peak - 1))
        e[peak:] = np.sort(rng.uniform(0.0, top, k - peak))[::-1]
    return tuple(round(float(x), 4) for x in e)


def random_scenarios(
    n: int,
    num_doses: int,
    target: float,
    seed: int = 0,
    *,
    efficacy: bool = False,
    phi_e: float = 0.25,
    utilities: Sequence[float] = (100.0, 40.0, 60.0, 0.0),
    accrual: Accrual | None = None,
    tox_time: EventTimeModel | None = None,
    eff_time: EventTimeModel | None = None,
    prefix: str = "R",
) -> list[Scenario]:
    """``n`` random scenarios named ``R1..Rn`` (module docstring); ``efficacy`` adds P(response)
    curves whose true OBD (toxicity bound ``target`` = φT, efficacy bound ``phi_e``) is drawn
    uniformly."""
    check_int("random_scenarios", n, 1, 10_000)
    check_int("num_doses", num_doses, 1, 100)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError("seed", f"must be a non-negative integer, got {seed!r}")
    if not isinstance(target, int | float) or not 0.0 < target < 1.0 - _FLOOR:
        raise InputError("target", f"must be in (0, {1 - _FLOOR:g}), got {target!r}")
    u = tuple(float(x) for x in utilities)
    if len(u) != 4:
        raise InputError("utilities", "must be four numbers u1..u4")
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    out: list[Scenario] = []
    for i in range(n):
        p_eff: tuple[float, ...] | None = None
        if not efficacy:
            p_tox = random_tox_curve(rng, num_doses, target)
        else:
            p_tox, p_eff = _tox_eff(rng, num_doses, target, phi_e, u)
        out.append(
            Scenario(
                p_tox=p_tox,
                p_eff=p_eff,
                accrual=accrual or Accrual(),
                tox_time=tox_time or EventTimeModel(),
                eff_time=eff_time or EventTimeModel(),
                name=f"{prefix}{i + 1}",
            )
        )
    return out


def _tox_eff(
    rng: np.random.Generator,
    k: int,
    phi_t: float,
    phi_e: float,
    u: tuple[float, float, float, float],
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    for _ in range(MAX_TRIES):
        obd = int(rng.integers(1, k + 1))
        mtd = int(rng.integers(obd, k + 1))
        p_tox = random_tox_curve(rng, k, phi_t, mtd)
        p_eff = random_efficacy_curve(rng, k, obd)
        got, _ = true_obd(p_tox, p_eff, phi_t, phi_e, u)
        if got == obd:
            return p_tox, p_eff
    raise InputError("phi_e", "could not draw a toxicity-efficacy scenario with these bounds")


def random_scenarios_for(
    design: Design, n: int, seed: int = 0, base: Scenario | None = None
) -> list[Scenario]:
    """Random scenarios fitting ``design``: its number of doses, its target (``target`` or φT),
    efficacy curves (and φE, utilities) for phase I/II designs; accrual and event-time models
    from ``base`` when given."""
    given: Any = getattr(design, "target", None)
    if given is None:
        given = getattr(design, "phi_t", 0.3)
    target = float(given)
    kw = {}
    if base is not None:
        kw = {"accrual": base.accrual, "tox_time": base.tox_time, "eff_time": base.eff_time}
    scen = random_scenarios(
        n,
        design.num_doses,
        target,
        seed,
        efficacy=design.uses_efficacy,
        phi_e=float(getattr(design, "phi_e", 0.25)),
        utilities=tuple(getattr(design, "utilities", (100.0, 40.0, 60.0, 0.0))),
        **kw,  # type: ignore[arg-type]
    )
    if base is not None and base.tox_eff_odds_ratio != 1.0 and design.uses_efficacy:
        scen = [replace(s, tox_eff_odds_ratio=base.tox_eff_odds_ratio) for s in scen]
    return scen


def random_protocol_scenarios(
    base: ProtocolScenario, design: Design, n: int, seed: int = 0
) -> list[ProtocolScenario]:
    """``n`` random protocol scenarios: every indication of ``base`` gets its own random
    curve(s) for ``design`` (drawn in indication order from one seeded stream); accrual,
    event-time models and the other settings are kept from ``base``."""
    check_int("random_scenarios", n, 1, 10_000)
    names = list(base.indications)
    draws = random_scenarios_for(design, n * len(names), seed)
    out = []
    for i in range(n):
        truths = {}
        for j, name in enumerate(names):
            sc = draws[i * len(names) + j]
            old = base.indications[name]
            truths[name] = IndicationTruth(
                p_tox=sc.p_tox,
                p_eff=sc.p_eff if sc.p_eff is not None else old.p_eff,
                tox_eff_odds_ratio=old.tox_eff_odds_ratio,
                accrual=old.accrual,
            )
        out.append(
            ProtocolScenario(
                truths,
                tox_time=base.tox_time,
                eff_time=base.eff_time,
                other_accrual_after_driving_stop=base.other_accrual_after_driving_stop,
                name=f"R{i + 1}",
                description=f"random (pseudo-uniform, seed {seed})",
            )
        )
    return out
