"""Physician Global Assessment (PGA) of SLE activity, 0–3 scale.

Source (spec ``clinical.md`` §1.4): the SELENA PGA is a 0–3 visual-analogue scale with
anchors 0 none, 1 mild, 2 moderate, 3 severe [ard.bmj.com table 278401] [S].  The eCRF captures
the number, so the VAS line length (8 vs 10 cm) does not matter.  Values are kept as exact
decimals: SRI-4 needs 0.3 resolution (``increase < 0.3``) and DORIS ``PhGA < 0.5`` — both
compared here without binary floating point (``1.6 - 1.3`` is exactly ``0.3``).

This module also holds :func:`exact_decimal`, the exact-number parser shared by the efficacy
scores (SRI-4, LLDAS, DORIS, ITP, SLEDAI laboratory descriptors).
"""

from __future__ import annotations

import itertools
import math
from decimal import Decimal, InvalidOperation

from doseladder.core.clinical.result import Assessment, Contribution
from doseladder.core.errors import InputError

__all__ = [
    "PGA_MAX",
    "PGA_MIN",
    "Number",
    "exact_decimal",
    "pga",
    "pga_anchor",
    "pga_change",
    "validate_pga",
]

Number = int | float | Decimal | str
"""A number as given: ``int``, ``float`` (read via its shortest repr), ``Decimal`` or text."""

PGA_MIN = Decimal(0)
"""Lowest PGA (anchor "none") [spec §1.4; ard.bmj.com table 278401] [S]."""
PGA_MAX = Decimal(3)
"""Highest PGA (anchor "severe") [spec §1.4; seed 002 "Range [0, 3]"]."""

_ANCHORS: tuple[tuple[Decimal, str], ...] = (
    (Decimal(0), "none"),
    (Decimal(1), "mild"),
    (Decimal(2), "moderate"),
    (Decimal(3), "severe"),
)


def exact_decimal(value: object, field: str) -> Decimal:
    """Convert a number to an exact :class:`~decimal.Decimal` for threshold comparisons.

    Floats are read through their shortest ``repr`` (``0.1`` → ``Decimal("0.1")``), so a value
    typed as ``6.7`` compares equal to a threshold of ``6.7``.

    Raises:
        InputError: naming ``field`` when the value is a boolean, not a number, NaN or infinite.
    """
    if isinstance(value, bool):
        raise InputError(field, f"must be a number, got the boolean {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(field, f"must be a finite number, got {value!r}")
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InputError(field, f"must be a finite number, got {value!r}")
        return value
    if isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            raise InputError(field, f"must be a number, got {value!r}") from None
        if not parsed.is_finite():
            raise InputError(field, f"must be a finite number, got {value!r}")
        return parsed
    raise InputError(field, f"must be a number, got {type(value).__name__}")


def validate_pga(value: object, field: str = "pga") -> Decimal:
    """Return the PGA as an exact decimal, checking the 0–3 range [spec §1.4].

    Raises:
        InputError: naming ``field`` when the value is not a number or lies outside 0–3.
    """
    d = exact_decimal(value, field)
    if d < PGA_MIN or d > PGA_MAX:
        raise InputError(field, f"PGA must lie in 0–3 (SELENA PGA scale), got {value!r}")
    return d


def pga_anchor(value: object, field: str = "pga") -> str:
    """Describe a PGA by its anchors: 0 none, 1 mild, 2 moderate, 3 severe [ard.bmj.com 278401].

    A value between anchors is described as lying between them (``"between mild and moderate"``).
    """
    d = validate_pga(value, field)
    for (lo, lo_name), (hi, hi_name) in itertools.pairwise(_ANCHORS):
        if d == lo:
            return lo_name
        if lo < d < hi:
            return f"between {lo_name} and {hi_name}"
    return _ANCHORS[-1][1]


def pga(value: Number | None) -> Assessment[float]:
    """Validate one PGA rating (0–3); ``None`` → not evaluable.

    The value is returned as a ``float`` that is the exact decimal as given (``1.3`` → ``1.3``).
    """
    if value is None:
        return Assessment(
            instrument="PGA (SELENA, 0–3)",
            value=None,
            inputs={"pga": None},
            reasons=("PGA was not recorded, so it cannot be reported.",),
            missing=("pga",),
        )
    d = validate_pga(value)
    return Assessment(
        instrument="PGA (SELENA, 0–3)",
        value=float(d),
        inputs={"pga": value},
        contributions=(Contribution("pga", float(d), f"PGA {d} ({pga_anchor(d)})"),),
        reasons=(f"PGA {d} lies within the 0–3 scale (anchor: {pga_anchor(d)}).",),
    )


def pga_change(baseline: Number | None, follow_up: Number | None) -> Assessment[float]:
    """Change in PGA from baseline (``follow_up − baseline``), computed exactly.

    Positive values are worsening.  Either value missing → not evaluable.

    Raises:
        InputError: naming ``pga_baseline`` / ``pga_follow_up`` for invalid values.
    """
    instrument = "PGA change from baseline (SELENA, 0–3)"
    inputs = {"pga_baseline": baseline, "pga_follow_up": follow_up}
    bl = None if baseline is None else validate_pga(baseline, "pga_baseline")
    fu = None if follow_up is None else validate_pga(follow_up, "pga_follow_up")
    missing = tuple(name for name, v in (("pga_baseline", bl), ("pga_follow_up", fu)) if v is None)
    if bl is None or fu is None:
        return Assessment(
            instrument=instrument,
            value=None,
            inputs=inputs,
            reasons=(f"PGA change needs both ratings; missing: {', '.join(missing)}.",),
            missing=missing,
        )
    delta = fu - bl
    return Assessment(
        instrument=instrument,
        value=float(delta),
        inputs=inputs,
        contributions=(Contribution("pga_change", float(delta), f"{fu} − {bl} = {delta}"),),
        reasons=(f"PGA changed from {bl} to {fu}: {delta:+} (positive = worse).",),
    )
