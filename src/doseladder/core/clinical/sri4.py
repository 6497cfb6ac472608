"""SLE Responder Index (SRI-4) from baseline and follow-up assessments.

Definition [Furie 2009, Arthritis Rheum 61:1143, PMC2748175 abstract] [P]; spec ``clinical.md``
§1.6; seed 002 secondary outcome:

1. ≥4-point reduction in SELENA-SLEDAI from baseline;
2. no new BILAG A domain score and no more than 1 new BILAG B domain score;
3. no worsening in PGA of ≥0.3 points (seed 002: "PGA increase less than 0.3").

Implemented exactly as the spec's pseudo-code::

    sri4 = (sledai_bl − sledai_fu ≥ 4) and new_A == 0 and new_B ≤ 1
           and (pga_fu − pga_bl < 0.3)        # an increase of exactly 0.3 fails

PGA arithmetic is exact decimal (``1.6 − 1.3`` is ``0.3``, so it fails).  The SLEDAI variant
is recorded in the ``instrument`` (``"SRI-4 (SELENA-SLEDAI)"``); Furie 2009 defines SRI on
SELENA-SLEDAI, which is the default when plain numbers are given.  Baseline and follow-up must
come from the same variant (spec §0.1-7).  "New A / new B" per :mod:`.bilag` (configurable
because the belimumab-protocol wording is NOT FOUND).

Missing data (spec §5.6 three-valued logic): the response is ``False`` as soon as one
component fails whatever the missing values are (e.g. SLEDAI fell by 2 — PGA cannot rescue
it), ``True`` only when every component is known to be met, and *not evaluable* otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from doseladder.core.clinical.bilag import (
    DEFAULT_NEW_A_FROM,
    DEFAULT_NEW_B_FROM,
    BilagGrade,
    GradeInput,
    new_grade_bounds,
    parse_grade_set,
    parse_grades,
)
from doseladder.core.clinical.pga import PGA_MAX, PGA_MIN, Number, validate_pga
from doseladder.core.clinical.result import Assessment, Contribution
from doseladder.core.clinical.sledai import SledaiVariant, sledai_variant_of
from doseladder.core.errors import InputError

__all__ = [
    "MAX_NEW_BILAG_A",
    "MAX_NEW_BILAG_B",
    "PGA_WORSENING_LIMIT",
    "SLEDAI_MAX",
    "sri4",
]

SLEDAI_MAX = 105
"""SELENA-SLEDAI / SLEDAI-2K maximum [spec §1.1; seed 002 "Range [0, 105]"]."""
PGA_WORSENING_LIMIT = Decimal("0.3")
"""PGA increase must be strictly below 0.3 [Furie 2009] [P]; [seed 002] (spec §1.6)."""
MAX_NEW_BILAG_A = 0
"""No new BILAG A [Furie 2009] [P]."""
MAX_NEW_BILAG_B = 1
"""No more than one new BILAG B [Furie 2009] [P]."""

SledaiInput = int | Assessment[int] | None


def _sledai_value(
    value: SledaiInput, field: str
) -> tuple[int | None, SledaiVariant | None, bool, tuple[str, ...]]:
    """(score, variant from an Assessment, needs_review, missing) for one SLEDAI input."""
    if value is None:
        return None, None, False, (field,)
    if isinstance(value, Assessment):
        variant, clinical = sledai_variant_of(value)
        if clinical:
            raise InputError(field, "SRI uses the full SLEDAI total, not clinical SLEDAI")
        if value.value is None:
            return None, variant, value.needs_review, (field, *value.missing)
        score = value.value
        return _check_score(score, field), variant, value.needs_review, ()
    return _check_score(value, field), None, False, ()


def _check_score(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(field, f"must be an integer SLEDAI total, got {value!r}")
    if not 0 <= value <= SLEDAI_MAX:
        raise InputError(field, f"must lie in 0–{SLEDAI_MAX}, got {value}")
    return value


def _resolve_variant(
    given: SledaiVariant | str | None,
    from_bl: SledaiVariant | None,
    from_fu: SledaiVariant | None,
) -> SledaiVariant:
    parsed: SledaiVariant | None = None
    if given is not None:
        try:
            parsed = SledaiVariant(given)
        except ValueError:
            raise InputError("sledai_variant", f"unknown SLEDAI variant {given!r}") from None
    if from_bl is not None and from_fu is not None and from_bl is not from_fu:
        raise InputError(
            "sledai_follow_up",
            f"variant {from_fu.value} differs from the baseline's {from_bl.value}; "
            "SRI needs the same SLEDAI at both visits",
        )
    derived = from_bl or from_fu
    if parsed is not None and derived is not None and parsed is not derived:
        raise InputError(
            "sledai_variant", f"{parsed.value} given but the scores are {derived.value}"
        )
    return parsed or derived or SledaiVariant.SELENA_SLEDAI


def sri4(
    *,
    sledai_baseline: SledaiInput,
    sledai_follow_up: SledaiInput,
    bilag_baseline: Mapping[str, GradeInput] | None,
    bilag_follow_up: Mapping[str, GradeInput] | None,
    pga_baseline: Number | None,
    pga_follow_up: Number | None,
    sledai_variant: SledaiVariant | str | None = None,
    min_sledai_reduction: int = 4,
    new_a_from: frozenset[BilagGrade] | frozenset[str] | set[str] | tuple[str, ...] = (
        DEFAULT_NEW_A_FROM
    ),
    new_b_from: frozenset[BilagGrade] | frozenset[str] | set[str] | tuple[str, ...] = (
        DEFAULT_NEW_B_FROM
    ),
) -> Assessment[bool]:
    """SRI-4 response at a follow-up visit.

    Args:
        sledai_baseline, sledai_follow_up: SLEDAI totals (int 0–105) or assessments from
            :func:`~doseladder.core.clinical.sledai.sledai` (their variant is then used).
        bilag_baseline, bilag_follow_up: BILAG-2004 system → grade (``"A"``–``"E"``).
        pga_baseline, pga_follow_up: PGA 0–3.
        sledai_variant: variant of plain-number SLEDAI inputs; default SELENA-SLEDAI
            (Furie 2009).  Must agree with assessments when both are given.
        min_sledai_reduction: 4 for SRI-4 (the instrument name follows it, e.g. SRI-6).
        new_a_from, new_b_from: baseline grades from which a follow-up A/B counts as new.

    Raises:
        InputError: naming the field for out-of-range scores, invalid grades or PGA, mixed
            SLEDAI variants, or a clinical SLEDAI given instead of the total.
    """
    if (
        isinstance(min_sledai_reduction, bool)
        or not isinstance(min_sledai_reduction, int)
        or not 1 <= min_sledai_reduction <= SLEDAI_MAX
    ):
        raise InputError(
            "min_sledai_reduction", f"must be an integer in 1–105, got {min_sledai_reduction!r}"
        )
    s_bl, v_bl, r_bl, m_bl = _sledai_value(sledai_baseline, "sledai_baseline")
    s_fu, v_fu, r_fu, m_fu = _sledai_value(sledai_follow_up, "sledai_follow_up")
    variant = _resolve_variant(sledai_variant, v_bl, v_fu)
    g_bl = parse_grades(bilag_baseline or {}, field="bilag_baseline")
    g_fu = parse_grades(bilag_follow_up or {}, field="bilag_follow_up")
    from_a = parse_grade_set(new_a_from, "new_a_from")
    from_b = parse_grade_set(new_b_from, "new_b_from")
    p_bl = None if pga_baseline is None else validate_pga(pga_baseline, "pga_baseline")
    p_fu = None if pga_follow_up is None else validate_pga(pga_follow_up, "pga_follow_up")

    instrument = f"SRI-{min_sledai_reduction} ({variant.value})"
    inputs: dict[str, Any] = {
        "sledai_variant": variant.value,
        "sledai_baseline": s_bl,
        "sledai_follow_up": s_fu,
        "bilag_baseline": {k: (None if g is None else g.value) for k, g in g_bl.items()},
        "bilag_follow_up": {k: (None if g is None else g.value) for k, g in g_fu.items()},
        "pga_baseline": pga_baseline,
        "pga_follow_up": pga_follow_up,
        "min_sledai_reduction": min_sledai_reduction,
        "new_a_from": sorted(g.value for g in from_a),
        "new_b_from": sorted(g.value for g in from_b),
    }
    contributions: list[Contribution] = []
    reasons: list[str] = [f"SLEDAI variant: {variant.value} at both visits."]
    states: list[bool | None] = []
    unknown_fields: list[str] = []

    # 1. SLEDAI reduction ≥ min_sledai_reduction (a reduction of exactly 4 meets SRI-4).
    red_max = (SLEDAI_MAX if s_bl is None else s_bl) - (0 if s_fu is None else s_fu)
    if s_bl is not None and s_fu is not None:
        red = s_bl - s_fu
        ok: bool | None = red >= min_sledai_reduction
        detail = f"{variant.value} {s_bl} → {s_fu}: reduction {red} " + (
            f"≥ {min_sledai_reduction}" if ok else f"< {min_sledai_reduction}"
        )
        contributions.append(Contribution("sledai_reduction", red, detail))
    elif red_max < min_sledai_reduction:
        ok = False
        detail = (
            f"{variant.value} reduction can be at most {red_max} < {min_sledai_reduction} "
            f"(baseline {s_bl}, follow-up {s_fu})"
        )
        contributions.append(Contribution("sledai_reduction", None, detail))
    else:
        ok = None
        detail = f"{variant.value} reduction unknown (baseline {s_bl}, follow-up {s_fu})"
        unknown_fields.extend(m_bl + m_fu)
    states.append(ok)
    reasons.append(f"1. {detail}: {_word(ok)}.")

    # 2. No new BILAG A and at most one new BILAG B.
    b = new_grade_bounds(g_bl, g_fu, from_a, from_b)
    n_a, n_b = len(b.known_a), len(b.known_b)
    if n_a > MAX_NEW_BILAG_A or n_b > MAX_NEW_BILAG_B:
        ok = False
    elif n_a + len(b.maybe_a) <= MAX_NEW_BILAG_A and n_b + len(b.maybe_b) <= MAX_NEW_BILAG_B:
        ok = True
    else:
        ok = None
        unknown_fields.extend(b.missing)
    detail = (
        f"BILAG-2004: {n_a} new A ({', '.join(b.known_a) or 'none'}), "
        f"{n_b} new B ({', '.join(b.known_b) or 'none'})"
        + (
            f"; ungraded systems that could be new: {', '.join(sorted(set(b.maybe_a + b.maybe_b)))}"
            if ok is None
            else ""
        )
    )
    contributions.append(
        Contribution("bilag_no_new_a_max_one_new_b", None, f"{detail}: {_word(ok)}")
    )
    states.append(ok)
    reasons.append(f"2. {detail}; need 0 new A and ≤1 new B: {_word(ok)}.")

    # 3. PGA increase < 0.3 (an increase of exactly 0.3 fails).
    inc_min = (PGA_MIN if p_fu is None else p_fu) - (PGA_MAX if p_bl is None else p_bl)
    inc_max = (PGA_MAX if p_fu is None else p_fu) - (PGA_MIN if p_bl is None else p_bl)
    if inc_max < PGA_WORSENING_LIMIT:
        ok = True
    elif inc_min >= PGA_WORSENING_LIMIT:
        ok = False
    else:
        ok = None
        unknown_fields.extend(
            name for name, v in (("pga_baseline", p_bl), ("pga_follow_up", p_fu)) if v is None
        )
    if p_bl is not None and p_fu is not None:
        inc = p_fu - p_bl
        detail = f"PGA {p_bl} → {p_fu}: increase {inc} " + ("< 0.3" if ok else "≥ 0.3")
        contributions.append(Contribution("pga_increase", float(inc), detail))
    else:
        detail = f"PGA {p_bl} → {p_fu}: increase between {inc_min} and {inc_max}"
        contributions.append(Contribution("pga_increase", None, f"{detail}: {_word(ok)}"))
    states.append(ok)
    reasons.append(f"3. {detail}: {_word(ok)}.")

    value: bool | None
    missing: tuple[str, ...] = ()
    if any(s is False for s in states):
        value = False
        reasons.append(f"{instrument}: non-responder (a component is not met).")
    elif all(s is True for s in states):
        value = True
        reasons.append(f"{instrument}: responder (all three components met).")
    else:
        value = None
        missing = tuple(dict.fromkeys(unknown_fields))
        reasons.append(f"{instrument}: not evaluable — missing data could change the answer.")
    return Assessment(
        instrument=instrument,
        value=value,
        inputs=inputs,
        contributions=tuple(contributions),
        reasons=tuple(reasons),
        missing=missing,
        needs_review=r_bl or r_fu,
    )


def _word(state: bool | None) -> str:
    return "met" if state is True else "not met" if state is False else "unknown"
