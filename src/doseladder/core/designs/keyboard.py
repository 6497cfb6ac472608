"""Keyboard design (Yan, Mandrekar & Yuan 2017) as the R package Keyboard 0.1.3 runs it.

Source: ``cran/Keyboard`` @ 75de0db (spec ``dose-finding.md`` §6.3):

* keys -- ``get.boundary.kb``'s ``getkey``: the target key [φ − margin_left, φ + margin_right]
  and keys of the same width tiling (0, 1), the end keys truncated at 0 and 1;
* strongest key -- the key with the largest Beta(1 + y, 1 + n − y) posterior mass, the two end
  keys scaled by (full width / actual width); ties go to the highest key.  Left of the target
  key -> E, the target key -> S, right -> D; Pr(p > φ | y, n) > ``cutoff_eli`` -> DU (for every
  n, so the tables can show DU at n = 2; the conduct eliminates only with >= 3 patients);
* boundaries -- escalate if y <= max{y: E}, de-escalate if y >= min{y: D} (else min{y: DU}),
  eliminate if y >= min{y: DU}, exactly as ``get.boundary.kb`` derives them;
* conduct -- ``get.oc.kb`` (:mod:`doseladder.core.designs.interval_rules`); selection --
  ``select.mtd.kb`` (isotonic, as BOIN's ``select.mtd``).

One deliberate difference: ``get.oc.kb`` computes its boundaries with the *default* margins and
cutoff whatever it is given (it calls ``get.boundary.kb(target, ncohort, cohortsize)``); here
the design's own ``margin_left``, ``margin_right`` and ``cutoff_eli`` are used throughout.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

import pandas as pd
from scipy.special import betainc

from doseladder.core.designs.base import Design, check_prob
from doseladder.core.designs.interval_rules import IntervalDesign
from doseladder.core.errors import InputError

__all__ = ["Keyboard", "keyboard_boundaries", "keyboard_keys", "keyboard_letter"]


@lru_cache(maxsize=256)
def keyboard_keys(target: float, margin_left: float, margin_right: float) -> tuple[float, ...]:
    """Key cut points of ``get.boundary.kb``'s ``getkey(target − mL, target + mR)``."""
    a1, a2 = target - margin_left, target + margin_right
    delta = a2 - a1
    lkey: list[float] = []
    i, cutoff = 0, 0.3
    while cutoff > 0:
        i += 1
        cutoff = a1 - i * delta
        lkey.insert(0, cutoff)
    lkey = [0.0 if k < 0 else k for k in lkey]
    rkey: list[float] = []
    i, cutoff = 0, 0.3
    while cutoff < 1:
        i += 1
        cutoff = a2 + i * delta
        rkey.append(cutoff)
    rkey = [1.0 if k > 1 else k for k in rkey]
    return (*lkey, a1, a2, *rkey)


@lru_cache(maxsize=65536)
def _column(
    n: int, target: float, margin_left: float, margin_right: float, cutoff_eli: float
) -> tuple[str, ...]:
    """``decision_table[, n]`` of ``get.boundary.kb``: the letter for y = 0..n."""
    keys = keyboard_keys(target, margin_left, margin_right)
    nkeys = len(keys) - 1
    width = margin_left + margin_right
    targetkey = keys.index(target - margin_left)
    out: list[str] = []
    for y in range(n + 1):
        if 1.0 - betainc(y + 1, n - y + 1, target) > cutoff_eli:
            out.extend(["DU"] * (n - y + 1))
            break
        mass = []
        for i in range(nkeys):
            comp = width / (keys[i + 1] - keys[i]) if i in (0, nkeys - 1) else 1.0
            lo = betainc(y + 1, n - y + 1, keys[i])
            hi = betainc(y + 1, n - y + 1, keys[i + 1])
            mass.append((hi - lo) * comp)
        top = max(mass)
        highkey = max(i for i, m in enumerate(mass) if m == top)
        out.append("D" if highkey > targetkey else ("S" if highkey == targetkey else "E"))
    return tuple(out)


def keyboard_boundaries(
    n: int,
    target: float,
    margin_left: float = 0.05,
    margin_right: float = 0.05,
    cutoff_eli: float = 0.95,
) -> tuple[int, int | None, int | None]:
    """(escalate if y <=, de-escalate if y >=, eliminate if y >=) at n, as ``get.boundary.kb``."""
    col = _column(n, target, margin_left, margin_right, cutoff_eli)
    es = [y for y, lt in enumerate(col) if lt == "E"]
    ds = [y for y, lt in enumerate(col) if lt == "D"]
    dus = [y for y, lt in enumerate(col) if lt == "DU"]
    return (
        max(es) if es else -1,
        min(ds) if ds else (min(dus) if dus else None),
        min(dus) if dus else None,
    )


def keyboard_letter(
    n: int,
    y: int,
    target: float,
    margin_left: float = 0.05,
    margin_right: float = 0.05,
    cutoff_eli: float = 0.95,
) -> str:
    """The ``get.oc.kb`` move from the boundaries: E if y <= b_e, D(U) if y >= b_d, else S."""
    be, bd, belim = keyboard_boundaries(n, target, margin_left, margin_right, cutoff_eli)
    if y <= be:
        return "E"
    if belim is not None and y >= belim:
        return "DU"
    if bd is not None and y >= bd:
        return "D"
    return "S"


def _ints(column: pd.Series) -> list[int | None]:
    return [None if pd.isna(v) else int(v) for v in column.tolist()]


@dataclass(frozen=True)
class Keyboard(IntervalDesign, Design):
    """Keyboard design (spec §6.3; Keyboard 0.1.3 defaults).

    Attributes:
        num_doses, target, cohort_size, max_n, start_dose: common design parameters.
        margin_left, margin_right: the target key is [target − margin_left,
            target + margin_right] (``marginL``/``marginR``, 0.05 each).
        cutoff_eli: elimination cutoff on Pr(p > target | data) (0.95).
        extrasafe, offset: stricter stopping at the lowest dose (``cutoff_eli − offset``).
        n_earlystop: stop once the current dose has this many patients (100 = off).
    """

    name: ClassVar[str] = "keyboard"
    target_kind: ClassVar[str] = "mtd"
    rule_prefix: ClassVar[str] = "keyboard"
    earlystop_first: ClassVar[bool] = True

    num_doses: int
    target: float
    cohort_size: int = 3
    max_n: int = 30
    start_dose: int = 1
    margin_left: float = 0.05
    margin_right: float = 0.05
    cutoff_eli: float = 0.95
    extrasafe: bool = False
    offset: float = 0.05
    n_earlystop: int = 100

    def __post_init__(self) -> None:
        self._validate_common()
        self._validate_interval()
        check_prob("margin_left", self.margin_left, 0.0, float(self.target))
        check_prob("margin_right", self.margin_right, 0.0, 1.0 - float(self.target))
        if not isinstance(self.extrasafe, bool):
            raise InputError("extrasafe", f"must be true or false, got {self.extrasafe!r}")
        check_prob("offset", self.offset, 0.0, 0.5, open_lo=False)

    def letter(self, n: int, y: int) -> str:
        return keyboard_letter(
            n, y, self.target, self.margin_left, self.margin_right, self.cutoff_eli
        )

    def explain(self, n: int, y: int, letter: str) -> str:
        be, bd, _belim = keyboard_boundaries(
            n, self.target, self.margin_left, self.margin_right, self.cutoff_eli
        )
        lo, hi = self.target - self.margin_left, self.target + self.margin_right
        side = {"E": "left of", "S": "at", "D": "right of", "DU": "right of"}[letter]
        return (
            f"At the current dose {y} of {n} patients had a DLT; the strongest key lies {side} "
            f"the target key [{lo:g}, {hi:g}] (escalate if DLTs <= {be}, de-escalate if DLTs "
            f">= {bd if bd is not None else 'NA'})"
        )

    def _conduct_options(self) -> dict[str, Any]:
        """``select.mtd.kb``'s ``extrasafe`` and ``offset``."""
        return {"extrasafe": self.extrasafe, "offset": self.offset}

    def describe(self) -> str:
        t = self._interval_tables()["boundaries_by_cohort"]
        lo, hi = self.target - self.margin_left, self.target + self.margin_right

        def fmt(col: str) -> str:
            return " ".join("NA" if v is None else str(v) for v in _ints(t[col]))

        return "\n\n".join(
            [
                (
                    "Keyboard design. Dose finding uses the Keyboard design (Yan, Mandrekar & "
                    "Yuan, Clin Cancer Res 2017) with the rules of the R package Keyboard "
                    f"0.1.3. The target DLT rate is {self.target:g} and the target key (proper "
                    f"dosing interval) is [{lo:g}, {hi:g}]; keys of the same width cover the "
                    f"rest of (0, 1). There are {self.num_doses} dose levels; the trial starts "
                    f"at dose {self.start_dose}, treats cohorts of {self.cohort_size} and "
                    f"enrols at most {self.max_n} patients."
                ),
                (
                    "After each cohort the posterior distribution of the DLT rate at the "
                    "current dose (Beta(1, 1) prior) is computed and the key with the largest "
                    "posterior probability (the strongest key) is found: escalate if it lies "
                    "left of the target key, stay if it is the target key, de-escalate if it "
                    f"lies right of it. In counts, with n = {fmt('n')} patients at the current "
                    f"dose: escalate if the number of DLTs is <= {fmt('escalate')}; "
                    f"de-escalate if >= {fmt('deescalate')}."
                ),
                (
                    "Safety: once at least 3 patients have been treated at a dose, the dose and "
                    f"all higher doses are eliminated if Pr(DLT rate > {self.target:g} | data) "
                    f"> {self.cutoff_eli:g}, i.e. if the number of DLTs is >= {fmt('eliminate')}"
                    ". If the lowest dose is eliminated the trial stops with no dose selected."
                    + (
                        f" Extra-safe rule: the trial also stops if Pr(DLT rate at the lowest "
                        f"dose > {self.target:g}) > {self.cutoff_eli - self.offset:g}."
                        if self.extrasafe
                        else ""
                    )
                ),
                (
                    "At the end of the trial the MTD is the dose whose isotonic estimate of "
                    "the DLT rate is closest to the target (Keyboard select.mtd.kb)."
                ),
            ]
        )
