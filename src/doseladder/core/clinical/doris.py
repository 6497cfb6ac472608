"""DORIS 2021 definition of remission in SLE.

Final recommendation [van Vollenhoven 2021, Lupus Sci Med, lupus.bmj.com table 140088 (table 2)]
[P]; spec ``clinical.md`` §1.8:

* clinical SLEDAI = 0 (irrespective of serology);
* physician global assessment (PhGA, 0–3) < 0.5;
* glucocorticoids: prednisolone-equivalent ≤ 5 mg/day;
* antimalarials, low-dose glucocorticoids and/or *stable* immunosuppressives including
  biologics are allowed.

Glucocorticoid comparator: the same table says "prednisolone **<5** mg/day", the abstract says
"5 mg/day **or less**" [lupus.bmj.com abstract; repository.cam.ac.uk/handle/1810/334001] [P] —
unresolved (spec §7-4).  The comparator is a parameter with the spec-preferred default
``"<="`` (abstract; consistent with earlier DORIS "≤5 mg" [PMC7719036]); it is recorded in the
inputs and the reasons, and a result that the choice decided (dose exactly 5 mg/day) is flagged
``needs_review``.  Missing data use three-valued logic (spec §5.6).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from doseladder.core.clinical.lldas import prednisone_eq
from doseladder.core.clinical.pga import Number, validate_pga
from doseladder.core.clinical.result import Assessment, Contribution
from doseladder.core.clinical.sledai import DESCRIPTORS, sledai_variant_of
from doseladder.core.errors import InputError

__all__ = [
    "DORIS_GC_LIMIT_MG",
    "DORIS_PGA_LIMIT",
    "doris_remission",
]

DORIS_PGA_LIMIT = Decimal("0.5")
"""PhGA must be strictly below 0.5 [DORIS 2021 table 2] [P]."""
DORIS_GC_LIMIT_MG = Decimal(5)
"""Prednisolone-equivalent limit, mg/day; comparator ``<=`` (default) or ``<`` [spec §1.8]."""

_SEROLOGY = {d.value for d, spec in DESCRIPTORS.items() if spec.serological}


def _clinical_score(
    value: int | Assessment[int] | None,
) -> tuple[int | None, str, tuple[str, ...], bool]:
    """(clinical SLEDAI, provenance, missing fields, needs_review)."""
    if value is None:
        return None, "clinical SLEDAI", ("clinical_sledai",), False
    if isinstance(value, Assessment):
        variant, clinical = sledai_variant_of(value)
        name = f"clinical {variant.value}"
        if value.value is None:
            return None, name, ("clinical_sledai", *value.missing), value.needs_review
        if clinical:
            return value.value, name, (), value.needs_review
        serology = sum(int(c.points or 0) for c in value.contributions if c.item in _SEROLOGY)
        return (
            value.value - serology,
            f"{name} (from {variant.value} {value.value} − serology {serology})",
            (),
            value.needs_review,
        )
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 101:
        raise InputError("clinical_sledai", f"must be an integer in 0–101, got {value!r}")
    return value, "clinical SLEDAI", (), False


def doris_remission(
    *,
    clinical_sledai: int | Assessment[int] | None,
    pga: Number | None,
    prednisone_eq_mg_per_day: Number | None,
    maintenance_therapy_stable: bool | None,
    glucocorticoid_comparator: str = "<=",
) -> Assessment[bool]:
    """DORIS 2021 remission at one visit.

    Args:
        clinical_sledai: clinical SLEDAI (0–101), or a SLEDAI assessment — a full SLEDAI total
            is reduced by its scored serological descriptors.
        pga: physician global assessment 0–3 (must be < 0.5).
        prednisone_eq_mg_per_day: current prednisone-equivalent dose, mg/day.
        maintenance_therapy_stable: immunosuppressives/biologics, if any, are at stable doses
            (antimalarials and low-dose glucocorticoids are always allowed).
        glucocorticoid_comparator: ``"<="`` (default, "5 mg/day or less") or ``"<"``
            ("<5 mg/day"); see the module docstring.

    Raises:
        InputError: naming the field for invalid values or comparator.
    """
    if glucocorticoid_comparator not in ("<=", "<"):
        raise InputError(
            "glucocorticoid_comparator", f"must be '<=' or '<', got {glucocorticoid_comparator!r}"
        )
    if maintenance_therapy_stable is not None and not isinstance(maintenance_therapy_stable, bool):
        raise InputError("maintenance_therapy_stable", "must be True, False or None")
    score, provenance, score_missing, review = _clinical_score(clinical_sledai)
    p = None if pga is None else validate_pga(pga, "pga")
    gc = prednisone_eq(prednisone_eq_mg_per_day)
    sym = "≤" if glucocorticoid_comparator == "<=" else "<"

    items: list[tuple[str, bool | None, str, tuple[str, ...]]] = []
    if score is None:
        items.append(("clinical_sledai_0", None, f"{provenance} unknown", score_missing))
    else:
        items.append(("clinical_sledai_0", score == 0, f"{provenance} = {score}", ()))
    if p is None:
        items.append(("pga_lt_0.5", None, "PhGA unknown", ("pga",)))
    else:
        ok = p < DORIS_PGA_LIMIT
        items.append(("pga_lt_0.5", ok, f"PhGA {p} {'<' if ok else '≥'} 0.5", ()))
    boundary = False
    if gc is None:
        items.append(
            (
                "prednisone_eq_limit",
                None,
                "prednisone-equivalent dose unknown",
                ("prednisone_eq_mg_per_day",),
            )
        )
    else:
        ok = (
            gc <= DORIS_GC_LIMIT_MG if glucocorticoid_comparator == "<=" else gc < DORIS_GC_LIMIT_MG
        )
        boundary = gc == DORIS_GC_LIMIT_MG
        items.append(
            (
                "prednisone_eq_limit",
                ok,
                f"prednisone-equivalent {gc} mg/day {'meets' if ok else 'fails'} {sym} 5 mg/day",
                (),
            )
        )
    v = maintenance_therapy_stable
    items.append(
        (
            "stable_maintenance_therapy",
            v,
            "immunosuppressives/biologics stable"
            if v
            else "immunosuppressives/biologics not stable"
            if v is False
            else "stability of maintenance therapy unknown",
            () if v is not None else ("maintenance_therapy_stable",),
        )
    )

    def word(s: bool | None) -> str:
        return "met" if s else "not met" if s is False else "unknown"

    contributions = tuple(
        Contribution(item, None, f"{detail}: {word(s)}") for item, s, detail, _ in items
    )
    reasons = [f"{detail}: {word(s)}." for _, s, detail, _ in items]
    reasons.append(
        f"Glucocorticoid comparator '{glucocorticoid_comparator}' 5 mg/day (DORIS table '<5' vs "
        "abstract '≤5' unresolved; spec §1.8)."
    )
    states = [s for _, s, _, _ in items]
    value: bool | None
    missing: tuple[str, ...] = ()
    if any(s is False for s in states):
        value = False
        reasons.append("DORIS 2021 remission not met.")
    elif all(s is True for s in states):
        value = True
        reasons.append("DORIS 2021 remission met.")
    else:
        value = None
        missing = tuple(dict.fromkeys(m for _, s, _, ms in items if s is None for m in ms))
        reasons.append("DORIS 2021 remission not evaluable: missing data could change the answer.")
    other_fail = any(s is False for item, s, _, _ in items if item != "prednisone_eq_limit")
    if boundary and not other_fail:
        review = True
        reasons.append(
            "Needs review: the dose is exactly 5 mg/day, so the unresolved '<5' vs '≤5' wording "
            "decides this result."
        )
    inputs: dict[str, Any] = {
        "clinical_sledai": score,
        "pga": pga,
        "prednisone_eq_mg_per_day": prednisone_eq_mg_per_day,
        "maintenance_therapy_stable": maintenance_therapy_stable,
        "glucocorticoid_comparator": glucocorticoid_comparator,
    }
    return Assessment(
        instrument="DORIS 2021 remission",
        value=value,
        inputs=inputs,
        contributions=contributions,
        reasons=tuple(reasons),
        missing=missing,
        needs_review=review,
    )
