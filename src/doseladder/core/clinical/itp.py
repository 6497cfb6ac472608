"""SLE-associated immune thrombocytopenia (SLE-ITP): response and entry rule of seed 000.

Seed 000 (NCT07143617) wording — normative for that trial (spec ``clinical.md`` §4.8, §0.1-4):

* Complete response (CR): platelet count ≥100×10⁹/L.
* Partial response (PR): platelet count 30–100×10⁹/L, **and** at least twice the
  pre-treatment level, **and** no bleeding.
* Otherwise no response (NR).
* Entry: platelet count <50×10⁹/L in at least 2 consecutive blood routine tests.

The IWG 2009 consensus (Rodeghiero, Blood 113:2386) is the framework [P-abstract]; its numeric
wording ("≥30 and ≥2-fold and no bleeding" vs "≥30 or 2-fold") is **NOT FOUND** verbatim
(spec §7-13), so the seed's "and" is coded.  The seed states no bleeding condition for CR;
IWG-style definitions require one — ``no_bleeding_required_for_cr`` (default ``False``, the
seed) switches it on.  Ranges: 100 belongs to CR (≥100), so PR is ``30 ≤ count < 100``; "at
least twice" is ``count ≥ 2 × baseline``.  All comparisons are exact decimals in 10⁹/L
(= 10³/µL; spec §4.1).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Any

from doseladder.core.clinical.pga import Number, exact_decimal
from doseladder.core.clinical.result import Assessment, Contribution
from doseladder.core.errors import InputError

__all__ = [
    "CR_MIN_PLATELETS",
    "ENTRY_MAX_PLATELETS",
    "PLATELET_UNITS",
    "PR_FOLD_OVER_BASELINE",
    "PR_MIN_PLATELETS",
    "ItpResponse",
    "itp_response",
    "platelets_to_1e9_per_l",
    "sle_itp_platelet_entry",
]

CR_MIN_PLATELETS = Decimal(100)
"""CR: platelets ≥100×10⁹/L [seed 000; spec §4.8]."""
PR_MIN_PLATELETS = Decimal(30)
"""PR lower bound 30×10⁹/L (PR range 30–100) [seed 000; spec §4.8]."""
PR_FOLD_OVER_BASELINE = Decimal(2)
"""PR: at least twice the pre-treatment count [seed 000; spec §4.8]."""
ENTRY_MAX_PLATELETS = Decimal(50)
"""Entry: platelets <50×10⁹/L on ≥2 consecutive tests [seed 000; spec §4.8]."""
_PLAUSIBLE_MAX = Decimal(5000)


class ItpResponse(StrEnum):
    """Seed 000 SLE-ITP response category."""

    CR = "CR"
    PR = "PR"
    NR = "NR"


PLATELET_UNITS: dict[str, Decimal] = {
    # multiplier to 10⁹/L; 10⁹/L = 10³/µL = 10³/mm³ = /nL [spec §4.1; admiral tests] [P-derived]
    "10^9/l": Decimal(1),
    "10e9/l": Decimal(1),
    "10^3/ul": Decimal(1),
    "10^3/mm3": Decimal(1),
    "/nl": Decimal(1),
    "/ul": Decimal("0.001"),
    "cells/ul": Decimal("0.001"),
    "/mm3": Decimal("0.001"),
    "cells/mm3": Decimal("0.001"),
}
"""Accepted platelet units (normalised spelling) and their factor to 10⁹/L."""


def _normalise_unit(unit: str) -> str:
    u = unit.strip().lower().replace(" ", "").replace("µ", "u").replace("μ", "u")
    u = u.replace("×", "x").replace("*", "^").replace("·", "")
    u = u.replace("10⁹", "10^9").replace("10³", "10^3").replace("³", "3")
    if u.startswith("x10"):
        u = u[1:]
    return u


def platelets_to_1e9_per_l(value: Number, unit: str, field: str = "platelets") -> Decimal:
    """Convert a platelet count to 10⁹/L exactly.

    Raises:
        InputError: naming ``field`` (or ``field_unit``) for a non-number, a negative count,
            an unknown unit (e.g. ``"g/L"``), or a count implausible in the given unit
            (e.g. ``150000`` given as 10⁹/L).
    """
    if not isinstance(unit, str):
        raise InputError(f"{field}_unit", f"must be a unit string, got {unit!r}")
    factor = PLATELET_UNITS.get(_normalise_unit(unit))
    if factor is None:
        raise InputError(
            f"{field}_unit",
            f"{unit!r} is not a platelet-count unit (use 10^9/L, 10^3/uL or /uL)",
        )
    v = exact_decimal(value, field) * factor
    if v < 0:
        raise InputError(field, f"must be ≥ 0, got {value!r}")
    if v > _PLAUSIBLE_MAX:
        raise InputError(
            field,
            f"{value} {unit} = {v} ×10⁹/L is implausible for a platelet count; check the unit",
        )
    return v


def itp_response(
    platelets: Number | None,
    baseline_platelets: Number | None,
    bleeding: bool | None,
    *,
    unit: str = "10^9/L",
    baseline_unit: str | None = None,
    no_bleeding_required_for_cr: bool = False,
) -> Assessment[ItpResponse]:
    """SLE-ITP response (CR / PR / NR) per seed 000.

    Args:
        platelets: current platelet count in ``unit``.
        baseline_platelets: pre-treatment count (``baseline_unit``, default ``unit``); needed
            only to decide PR.
        bleeding: bleeding at assessment (``None`` = not assessed).
        unit: unit of ``platelets`` (default 10⁹/L).
        no_bleeding_required_for_cr: require no bleeding for CR too (IWG-style); default
            ``False`` as in the seed.

    Returns:
        Not evaluable only when the missing inputs could change the category.

    Raises:
        InputError: naming the field for invalid counts or units.
    """
    if bleeding is not None and not isinstance(bleeding, bool):
        raise InputError("bleeding", f"must be True, False or None, got {bleeding!r}")
    if not isinstance(no_bleeding_required_for_cr, bool):
        raise InputError("no_bleeding_required_for_cr", "must be True or False")
    plt = None if platelets is None else platelets_to_1e9_per_l(platelets, unit, "platelets")
    bl_unit = unit if baseline_unit is None else baseline_unit
    base = (
        None
        if baseline_platelets is None
        else platelets_to_1e9_per_l(baseline_platelets, bl_unit, "baseline_platelets")
    )
    inputs: dict[str, Any] = {
        "platelets": platelets,
        "unit": unit,
        "baseline_platelets": baseline_platelets,
        "baseline_unit": bl_unit,
        "bleeding": bleeding,
        "no_bleeding_required_for_cr": no_bleeding_required_for_cr,
    }
    instrument = "SLE-ITP response (seed 000 wording)"
    reasons: list[str] = [
        "CR: platelets ≥100×10⁹/L"
        + (" and no bleeding" if no_bleeding_required_for_cr else " (seed: no bleeding condition)")
        + "; PR: 30 ≤ platelets < 100×10⁹/L and ≥2× baseline and no bleeding; else NR."
    ]
    contributions: list[Contribution] = []

    def result(
        value: ItpResponse | None, reason: str, missing: tuple[str, ...] = ()
    ) -> Assessment[ItpResponse]:
        return Assessment(
            instrument=instrument,
            value=value,
            unit=None,
            inputs=inputs,
            contributions=tuple(contributions),
            reasons=(*reasons, reason),
            missing=missing,
        )

    if plt is None:
        return result(None, "Platelet count missing: not evaluable.", ("platelets",))
    contributions.append(Contribution("platelets", float(plt), f"platelets {plt} ×10⁹/L"))

    if plt >= CR_MIN_PLATELETS:
        if not no_bleeding_required_for_cr:
            return result(ItpResponse.CR, f"Platelets {plt} ≥ 100×10⁹/L: CR.")
        if bleeding is None:
            return result(
                None,
                f"Platelets {plt} ≥ 100×10⁹/L but bleeding not assessed (required for CR).",
                ("bleeding",),
            )
        contributions.append(Contribution("bleeding", None, f"bleeding: {bleeding}"))
        if not bleeding:
            return result(ItpResponse.CR, f"Platelets {plt} ≥ 100×10⁹/L and no bleeding: CR.")
        return result(
            ItpResponse.NR,
            f"Platelets {plt} ≥ 100×10⁹/L but bleeding: not CR; PR also needs no bleeding: NR.",
        )

    if plt < PR_MIN_PLATELETS:
        return result(ItpResponse.NR, f"Platelets {plt} < 30×10⁹/L: NR.")

    # 30 ≤ plt < 100: PR needs ≥2× baseline and no bleeding.
    if bleeding is True:
        contributions.append(Contribution("bleeding", None, "bleeding: True"))
        return result(ItpResponse.NR, f"Platelets {plt} in the PR range but bleeding: NR.")
    if base is not None:
        needed = PR_FOLD_OVER_BASELINE * base
        contributions.append(
            Contribution("baseline_platelets", float(base), f"2 × baseline {base} = {needed}")
        )
        if plt < needed:
            return result(
                ItpResponse.NR,
                f"Platelets {plt} < 2 × baseline {base} = {needed}×10⁹/L: NR.",
            )
        if bleeding is False:
            contributions.append(Contribution("bleeding", None, "bleeding: False"))
            return result(
                ItpResponse.PR,
                f"30 ≤ platelets {plt} < 100, ≥ 2 × baseline ({needed}) and no bleeding: PR.",
            )
        return result(
            None,
            f"Platelets {plt} meet the PR count rules but bleeding was not assessed.",
            ("bleeding",),
        )
    missing = ("baseline_platelets",) + (("bleeding",) if bleeding is None else ())
    return result(
        None,
        f"Platelets {plt} in the PR range; PR vs NR needs the pre-treatment count"
        + (" and a bleeding assessment." if bleeding is None else "."),
        missing,
    )


def sle_itp_platelet_entry(
    counts: Sequence[Number | None],
    *,
    unit: str = "10^9/L",
    threshold: Number = ENTRY_MAX_PLATELETS,
    min_consecutive: int = 2,
) -> Assessment[bool]:
    """Seed 000 entry: platelets ``< threshold`` (50×10⁹/L) in ≥2 *consecutive* tests.

    Args:
        counts: platelet counts in chronological order (``None`` = a test with no result —
            it neither breaks nor extends a run with certainty).
        unit: unit of every count.
        threshold: strict upper limit, in 10⁹/L (default 50).
        min_consecutive: run length required (default 2).

    Returns:
        ``True`` when a run of ``min_consecutive`` known counts below the threshold exists;
        ``False`` when no run is possible even if every missing result were low; otherwise
        not evaluable.
    """
    if isinstance(min_consecutive, bool) or not isinstance(min_consecutive, int):
        raise InputError("min_consecutive", f"must be a positive integer, got {min_consecutive!r}")
    if min_consecutive < 1:
        raise InputError("min_consecutive", f"must be ≥ 1, got {min_consecutive}")
    if isinstance(counts, str | bytes) or not isinstance(counts, Sequence):
        raise InputError("counts", "must be a chronological sequence of platelet counts")
    limit = exact_decimal(threshold, "threshold")
    values = [
        None if c is None else platelets_to_1e9_per_l(c, unit, f"counts[{i}]")
        for i, c in enumerate(counts)
    ]
    low = [None if v is None else v < limit for v in values]

    def longest(treat_unknown_as_low: bool) -> tuple[int, int]:
        best = run = 0
        best_end = -1
        for i, s in enumerate(low):
            is_low = s if s is not None else treat_unknown_as_low
            run = run + 1 if is_low else 0
            if run > best:
                best, best_end = run, i
        return best, best_end

    known_best, end = longest(False)
    possible_best, _ = longest(True)
    inputs: dict[str, Any] = {
        "counts": list(counts),
        "unit": unit,
        "threshold": str(limit),
        "min_consecutive": min_consecutive,
    }
    instrument = f"SLE-ITP entry: platelets <{limit}×10⁹/L on ≥{min_consecutive} consecutive tests"
    if known_best >= min_consecutive:
        start = end - known_best + 1
        contributions = tuple(
            Contribution(f"counts[{i}]", float(v), f"test {i + 1}: {v} < {limit}×10⁹/L")
            for i, v in enumerate(values[start : end + 1], start=start)
            if v is not None
        )
        return Assessment(
            instrument=instrument,
            value=True,
            inputs=inputs,
            contributions=contributions,
            reasons=(
                f"Tests {start + 1}–{end + 1}: {known_best} consecutive counts "
                f"< {limit}×10⁹/L (≥ {min_consecutive}): met.",
            ),
        )
    if possible_best < min_consecutive:
        return Assessment(
            instrument=instrument,
            value=False,
            inputs=inputs,
            reasons=(
                f"Longest run of consecutive counts < {limit}×10⁹/L is {known_best}"
                + (
                    f" (at most {possible_best} even if missing results were low)"
                    if None in low
                    else ""
                )
                + f" < {min_consecutive}: not met.",
            ),
        )
    missing = tuple(f"counts[{i}]" for i, s in enumerate(low) if s is None)
    return Assessment(
        instrument=instrument,
        value=None,
        inputs=inputs,
        reasons=(
            f"Longest known run is {known_best}; missing results could complete a run of "
            f"{min_consecutive}: not evaluable.",
        ),
        missing=missing,
    )
