"""Clinical calculators named by the seed eligibility criteria and dosing rules.

Every calculator is a pure function of typed quantities (:mod:`.units`) and returns an
:class:`~doseladder.core.clinical.result.Assessment` carrying the inputs, the formula, and
the reasoning.  A missing input (``None``) makes the result *not evaluable* (never a number);
an invalid input (wrong unit/dimension, a bare number where a quantity is required, a value out
of the formula's validated range, an unknown sex) raises
:class:`~doseladder.core.errors.InputError` naming the field.

Arithmetic is exact (:class:`fractions.Fraction`) for the rational formulas (Cockcroft–Gault,
bedside Schwartz, doses); formulas with real exponents or roots (CKD-EPI 2021, Mosteller,
DuBois) are evaluated with 50-digit :mod:`decimal` arithmetic.  ``Assessment.value`` is the
correctly rounded ``float`` of that result, so a result exactly at a decimal threshold equals
the threshold literal (a CrCl of exactly 50 is ``50.0``, never ``49.99999999999999``).

Sources (spec ``clinical.md`` §4.2–§4.7):

* Cockcroft–Gault [§4.2: tabers.com Cockcroft_Gault_formula, S]: ``(140 − age) × weight /
  (72 × SCr mg/dL)``, × 0.85 if female; actual body weight, no creatinine floor (the seeds do not
  say; both choices are recorded in the result).
* CKD-EPI 2021 race-free [§4.3: kidney.org ckd-epi-creatinine-equation-2021, P; NIDDK, P; Inker
  NEJM 2021;385:1737]: ``142 × min(S/κ,1)^α × max(S/κ,1)^−1.200 × 0.9938^age × 1.012[F]``,
  κ = 0.7 F / 0.9 M, α = −0.241 F / −0.302 M; adults ≥ 18 y.
* Bedside Schwartz 2009 [§4.4: kidney.org bedside-Schwartz page, P]: ``0.413 × height_cm /
  SCr mg/dL``; children 1–18 y.
* BSA [§4.5: globalrph.com bsa2, S]: Mosteller ``sqrt(h × w / 3600)`` (NEJM 1987;317:1098);
  DuBois ``0.007184 × h^0.725 × w^0.425`` (Arch Intern Med 1916;17:863).
* Lymphodepletion: ``daily mg = mg/m² × BSA``; total = daily × days [§4.5].  BSA capping and renal
  dose adjustment are protocol-specific and NOT FOUND in the seeds [§4.5, §7]: parameters only.
* Cell dose: ``cells = cells/kg × weight kg`` [§4.6].
* Prednisone equivalents [§4.7, W sources only, §7 item 12]: prednisone 5 mg = prednisolone 5 mg
  = methylprednisolone 4 mg = dexamethasone 0.75 mg = hydrocortisone 20 mg.  The factor table is
  a parameter (:data:`PREDNISONE_EQUIVALENTS` is only the default).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from doseladder.core.clinical.result import Assessment, Contribution
from doseladder.core.clinical.units import (
    Dimension,
    NumberLike,
    Quantity,
    require_quantity,
    to_fraction,
)
from doseladder.core.errors import InputError

__all__ = [
    "PREDNISONE_EQUIVALENTS",
    "GlucocorticoidDose",
    "Sex",
    "bedside_schwartz",
    "bsa_dubois",
    "bsa_mosteller",
    "cell_dose_per_kg",
    "cell_dose_total",
    "ckd_epi_2021",
    "cockcroft_gault",
    "egfr",
    "lymphodepletion_dose",
    "parse_sex",
    "prednisone_equivalent",
]

_PREC = 50


class Sex(StrEnum):
    """Sex as used by the creatinine equations (the sex coefficient of each formula)."""

    FEMALE = "female"
    MALE = "male"


_SEX_ALIASES = {"f": Sex.FEMALE, "female": Sex.FEMALE, "m": Sex.MALE, "male": Sex.MALE}


def parse_sex(sex: Sex | str | None, field_name: str = "sex") -> Sex | None:
    """``Sex`` from ``"female"``/``"F"``/``"male"``/``"M"`` (case-insensitive); ``None`` stays.

    Raises:
        InputError: any other value (the equations have no coefficient for it).
    """
    if sex is None or isinstance(sex, Sex):
        return sex
    if isinstance(sex, str) and sex.strip().lower() in _SEX_ALIASES:
        return _SEX_ALIASES[sex.strip().lower()]
    raise InputError(field_name, f"must be 'female' or 'male' (F/M), got {sex!r}")


# --------------------------------------------------------------------------- validation helpers


def _num(x: NumberLike | None, name: str) -> Fraction | None:
    return None if x is None else to_fraction(x, name)


def _check_range(
    value: Fraction, name: str, lo: Fraction, hi: Fraction, unit: str, why: str = ""
) -> None:
    if not lo <= value <= hi:
        extra = f" ({why})" if why else ""
        raise InputError(
            name, f"must be between {_s(lo)} and {_s(hi)} {unit}{extra}, got {_s(value)}"
        )


def _age(age: NumberLike | None, lo: int, hi: int, why: str) -> Fraction | None:
    a = _num(age, "age_years")
    if a is not None:
        _check_range(a, "age_years", Fraction(lo), Fraction(hi), "years", why)
    return a


_SCR_MAX_MG_DL = Fraction(30)  # plausibility bound (2652 µmol/L)
_WEIGHT_MAX_KG = Fraction(500)
_HEIGHT_MIN_CM, _HEIGHT_MAX_CM = Fraction(30), Fraction(275)


def _scr(q: Quantity | None) -> Fraction | None:
    q = require_quantity(q, "serum_creatinine", Dimension.CREATININE)
    if q is None:
        return None
    v = q.to("mg/dL").value
    if not 0 < v <= _SCR_MAX_MG_DL:
        raise InputError(
            "serum_creatinine", f"must be > 0 and ≤ 30 mg/dL (2652 µmol/L), got {q} = {_s(v)} mg/dL"
        )
    return v


def _weight(q: Quantity | None) -> Fraction | None:
    q = require_quantity(q, "weight", Dimension.BODY_MASS)
    if q is None:
        return None
    v = q.to("kg").value
    if not 0 < v <= _WEIGHT_MAX_KG:
        raise InputError("weight", f"must be > 0 and ≤ 500 kg, got {q}")
    return v


def _height(q: Quantity | None) -> Fraction | None:
    q = require_quantity(q, "height", Dimension.LENGTH)
    if q is None:
        return None
    v = q.to("cm").value
    if not _HEIGHT_MIN_CM <= v <= _HEIGHT_MAX_CM:
        raise InputError("height", f"must be between 30 and 275 cm, got {q}")
    return v


def _s(v: Fraction | Decimal | float, digits: int | None = None) -> str:
    """Human display of an exact number (``digits`` decimals when given)."""
    if digits is not None:
        d = _dec(v) if isinstance(v, Fraction) else Decimal(str(v))
        return str(d.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))
    if isinstance(v, Fraction) and v.denominator == 1:
        return str(v.numerator)
    f = float(v)
    return repr(f) if isinstance(v, Fraction) and Fraction(repr(f)) == v else f"{f:.6g}"


def _dec(f: Fraction) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = _PREC
        return Decimal(f.numerator) / Decimal(f.denominator)


def _not_evaluable(
    instrument: str, unit: str, inputs: Mapping[str, Any], missing: Sequence[str], note: str = ""
) -> Assessment[float]:
    reasons = [f"Not evaluable: missing {', '.join(missing)}."]
    if note:
        reasons.append(note)
    return Assessment(
        instrument=instrument,
        value=None,
        unit=unit,
        evaluable=False,
        inputs=inputs,
        reasons=tuple(reasons),
        missing=tuple(missing),
    )


def _q(q: Quantity | None) -> str | None:
    return None if q is None else str(q)


# --------------------------------------------------------------------------- renal function


def cockcroft_gault(
    *,
    age_years: NumberLike | None,
    weight: Quantity | None,
    serum_creatinine: Quantity | None,
    sex: Sex | str | None,
    height: Quantity | None = None,
    scr_floor_mg_dl: NumberLike | None = None,
) -> Assessment[float]:
    """Cockcroft–Gault creatinine clearance (mL/min, not normalised to BSA).

    ``CrCl = (140 − age) × weight_kg / (72 × SCr_mg/dL)``, × 0.85 if female [spec §4.2; Tabers
    (S); Cockcroft & Gault, Nephron 1976;16:31].  A creatinine in µmol/L is converted exactly
    (÷ 88.4) first, so the result does not depend on the unit the laboratory sent (one formula
    path, as the spec requires; the "1.23/1.04 × µmol/L" shortcut is a rounding of 88.4/72).

    Seeds 001 and 004 require CrCl ≥ 50 mL/min.  Weight is the *actual* body weight and no SCr
    floor is applied unless ``scr_floor_mg_dl`` is given (the spec leaves both choices to the
    protocol and asks that they be recorded).  With ``height`` the BMI is checked and a BMI > 30
    sets ``needs_review`` (actual weight over-estimates CrCl in obesity [§4.2]).

    Args:
        age_years: age in years, 18–120 (an adult formula).
        weight: body mass quantity (kg/lb).
        serum_creatinine: creatinine quantity (mg/dL or µmol/L).
        sex: ``"female"``/``"male"``.
        height: optional, only for the BMI check.
        scr_floor_mg_dl: optional protocol floor for SCr (e.g. 1.0 mg/dL); not applied by default.
    """
    instrument = "Cockcroft-Gault CrCl"
    unit = "mL/min"
    age = _age(age_years, 18, 120, "Cockcroft-Gault is an adult equation")
    wt = _weight(weight)
    scr = _scr(serum_creatinine)
    sx = parse_sex(sex)
    ht = _height(height)
    floor = _num(scr_floor_mg_dl, "scr_floor_mg_dl")
    if floor is not None and not 0 < floor <= 2:
        raise InputError("scr_floor_mg_dl", f"must be > 0 and ≤ 2 mg/dL, got {_s(floor)}")
    inputs: dict[str, Any] = {
        "age_years": None if age is None else float(age),
        "weight": _q(weight),
        "serum_creatinine": _q(serum_creatinine),
        "sex": None if sx is None else sx.value,
        "height": _q(height),
        "weight_basis": "actual body weight",
        "scr_floor_mg_dl": None if floor is None else float(floor),
    }
    missing = [
        n
        for n, v in (("age_years", age), ("weight", wt), ("serum_creatinine", scr), ("sex", sx))
        if v is None
    ]
    if missing:
        return _not_evaluable(instrument, unit, inputs, missing)
    assert age is not None and wt is not None and scr is not None and sx is not None
    reasons = []
    if serum_creatinine is not None and serum_creatinine.unit.symbol != "mg/dL":
        reasons.append(f"SCr {serum_creatinine} = {_s(scr, 3)} mg/dL (÷ 88.4).")
    scr_used = scr
    if floor is not None and scr < floor:
        scr_used = floor
        reasons.append(f"SCr {_s(scr)} mg/dL raised to the protocol floor {_s(floor)} mg/dL.")
    sex_factor = Fraction(17, 20) if sx is Sex.FEMALE else Fraction(1)
    crcl = (140 - age) * wt * sex_factor / (72 * scr_used)
    formula = "(140 − age) × weight_kg / (72 × SCr_mg/dL)" + (
        " × 0.85 (female)" if sx is Sex.FEMALE else ""
    )
    reasons.append(
        f"CrCl = (140 − {_s(age)}) × {_s(wt)} kg / (72 × {_s(scr_used)} mg/dL)"
        + (" × 0.85" if sx is Sex.FEMALE else "")
        + f" = {_s(crcl, 1)} mL/min (actual body weight"
        + (", no SCr floor)." if floor is None else ").")
    )
    needs_review = False
    if ht is not None:
        bmi = wt / (ht / 100) ** 2
        inputs["bmi_kg_m2"] = float(bmi)
        if bmi > 30:
            needs_review = True
            reasons.append(
                f"BMI {_s(bmi, 1)} kg/m² > 30: actual weight over-estimates CrCl; confirm the "
                "weight basis (actual/ideal/adjusted) required by the protocol."
            )
    return Assessment(
        instrument=instrument,
        value=float(crcl),
        unit=unit,
        inputs=inputs,
        contributions=(Contribution("formula", None, formula),),
        reasons=tuple(reasons),
        needs_review=needs_review,
    )


def ckd_epi_2021(
    *,
    age_years: NumberLike | None,
    serum_creatinine: Quantity | None,
    sex: Sex | str | None,
) -> Assessment[float]:
    """CKD-EPI 2021 race-free creatinine eGFR (mL/min/1.73 m²), adults ≥ 18 y.

    ``142 × min(S/κ, 1)^α × max(S/κ, 1)^−1.200 × 0.9938^age × 1.012 [if female]``, S = SCr in
    mg/dL (IDMS-traceable), κ = 0.7 (F) / 0.9 (M), α = −0.241 (F) / −0.302 (M) [spec §4.3;
    kidney.org CKD-EPI 2021 page (P); NIDDK adults GFR page (P); Inker, NEJM 2021;385:1737].
    Worked examples [§4.3]: 55 y F, 0.9 mg/dL → 75.5; 40 y M, 1.0 mg/dL → 97.6.
    """
    instrument = "CKD-EPI 2021 eGFR"
    unit = "mL/min/1.73m²"
    age = _age(age_years, 18, 120, "CKD-EPI 2021 is an adult equation; use bedside Schwartz")
    scr = _scr(serum_creatinine)
    sx = parse_sex(sex)
    inputs: dict[str, Any] = {
        "age_years": None if age is None else float(age),
        "serum_creatinine": _q(serum_creatinine),
        "sex": None if sx is None else sx.value,
    }
    missing = [
        n for n, v in (("age_years", age), ("serum_creatinine", scr), ("sex", sx)) if v is None
    ]
    if missing:
        return _not_evaluable(instrument, unit, inputs, missing)
    assert age is not None and scr is not None and sx is not None
    female = sx is Sex.FEMALE
    kappa = Fraction(7, 10) if female else Fraction(9, 10)
    alpha = Decimal("-0.241") if female else Decimal("-0.302")
    ratio = scr / kappa
    with localcontext() as ctx:
        ctx.prec = _PREC
        r = _dec(ratio)
        lo = min(r, Decimal(1))
        hi = max(r, Decimal(1))
        value = (
            Decimal(142)
            * lo**alpha
            * hi ** Decimal("-1.200")
            * Decimal("0.9938") ** _dec(age)
            * (Decimal("1.012") if female else Decimal(1))
        )
    formula = (
        f"142 × min(SCr/{_s(kappa)}, 1)^{alpha} × max(SCr/{_s(kappa)}, 1)^−1.200 × 0.9938^age"
        + (" × 1.012" if female else "")
    )
    reasons = (
        f"SCr {_s(scr, 3)} mg/dL, κ = {_s(kappa)}, α = {alpha} ({sx.value}), age {_s(age)} y.",
        f"eGFR = {formula} = {_s(value, 1)} mL/min/1.73 m².",
    )
    return Assessment(
        instrument=instrument,
        value=float(value),
        unit=unit,
        inputs=inputs,
        contributions=(Contribution("formula", None, formula),),
        reasons=reasons,
    )


def bedside_schwartz(
    *,
    height: Quantity | None,
    serum_creatinine: Quantity | None,
    age_years: NumberLike | None = None,
) -> Assessment[float]:
    """Bedside Schwartz (2009) eGFR for children, ``0.413 × height_cm / SCr_mg/dL``.

    [spec §4.4; kidney.org bedside-Schwartz page (P): IDMS-traceable creatinine, children 1–18
    y; the old k = 0.55 over-estimates by 20–40 %.]  Worked examples [§4.4]: 100 cm, 0.5 mg/dL →
    82.6; 100 cm, 0.4 mg/dL → 103.25.  ``age_years`` is optional and only validated (1–18 y).
    """
    instrument = "Bedside Schwartz eGFR (2009)"
    unit = "mL/min/1.73m²"
    age = _age(age_years, 1, 18, "bedside Schwartz is validated for children 1–18 y")
    ht = _height(height)
    scr = _scr(serum_creatinine)
    inputs: dict[str, Any] = {
        "height": _q(height),
        "serum_creatinine": _q(serum_creatinine),
        "age_years": None if age is None else float(age),
    }
    missing = [n for n, v in (("height", ht), ("serum_creatinine", scr)) if v is None]
    if missing:
        return _not_evaluable(instrument, unit, inputs, missing)
    assert ht is not None and scr is not None
    value = Fraction(413, 1000) * ht / scr
    formula = "0.413 × height_cm / SCr_mg/dL"
    return Assessment(
        instrument=instrument,
        value=float(value),
        unit=unit,
        inputs=inputs,
        contributions=(Contribution("formula", None, formula),),
        reasons=(
            f"eGFR = 0.413 × {_s(ht)} cm / {_s(scr, 3)} mg/dL = {_s(value, 1)} mL/min/1.73 m².",
        ),
    )


def egfr(
    *,
    age_years: NumberLike | None,
    serum_creatinine: Quantity | None,
    sex: Sex | str | None = None,
    height: Quantity | None = None,
) -> Assessment[float]:
    """eGFR by age: bedside Schwartz below 18 y, CKD-EPI 2021 from 18 y [spec §4.4 for seed 003].

    Seed 003 (ages 5–18) just says "eGFR ≥ 30 mL/min/1.73 m²"; the equation used is recorded in
    ``instrument`` and the reasons.  Without an age the equation cannot be chosen: not evaluable.
    """
    age = _age(age_years, 1, 120, "eGFR equations cover 1–120 y")
    if age is None:
        return _not_evaluable(
            "eGFR (equation chosen by age)",
            "mL/min/1.73m²",
            {"serum_creatinine": _q(serum_creatinine), "sex": sex, "height": _q(height)},
            ["age_years"],
            "The age selects the equation (bedside Schwartz < 18 y, CKD-EPI 2021 ≥ 18 y).",
        )
    if age < 18:
        a = bedside_schwartz(height=height, serum_creatinine=serum_creatinine, age_years=age_years)
        why = f"Age {_s(age)} y < 18: bedside Schwartz (spec §4.4)."
    else:
        a = ckd_epi_2021(age_years=age_years, serum_creatinine=serum_creatinine, sex=sex)
        why = f"Age {_s(age)} y ≥ 18: CKD-EPI 2021 (spec §4.4)."
    return Assessment(
        instrument=a.instrument,
        value=a.value,
        unit=a.unit,
        evaluable=a.evaluable,
        inputs=a.inputs,
        contributions=a.contributions,
        reasons=(why, *a.reasons),
        missing=a.missing,
        needs_review=a.needs_review,
    )


# --------------------------------------------------------------------------- body surface area


def _bsa_inputs(
    height: Quantity | None, weight: Quantity | None
) -> tuple[Fraction | None, Fraction | None, dict[str, Any], list[str]]:
    ht = _height(height)
    wt = _weight(weight)
    inputs = {"height": _q(height), "weight": _q(weight)}
    missing = [n for n, v in (("height", ht), ("weight", wt)) if v is None]
    return ht, wt, inputs, missing


def bsa_mosteller(*, height: Quantity | None, weight: Quantity | None) -> Assessment[float]:
    """Body-surface area by Mosteller, ``sqrt(height_cm × weight_kg / 3600)`` (m²).

    [spec §4.5; globalrph.com bsa2 (S); Mosteller NEJM 1987;317:1098.]  Worked: 170 cm / 70 kg
    → 1.82 m²; 160 cm / 55 kg → 1.5635 m².
    """
    instrument = "BSA (Mosteller)"
    ht, wt, inputs, missing = _bsa_inputs(height, weight)
    if missing:
        return _not_evaluable(instrument, "m²", inputs, missing)
    assert ht is not None and wt is not None
    with localcontext() as ctx:
        ctx.prec = _PREC
        value = _dec(ht * wt / 3600).sqrt()
    return Assessment(
        instrument=instrument,
        value=float(value),
        unit="m²",
        inputs=inputs,
        contributions=(Contribution("formula", None, "sqrt(height_cm × weight_kg / 3600)"),),
        reasons=(f"BSA = sqrt({_s(ht)} cm × {_s(wt)} kg / 3600) = {_s(value, 4)} m².",),
    )


def bsa_dubois(*, height: Quantity | None, weight: Quantity | None) -> Assessment[float]:
    """Body-surface area by DuBois, ``0.007184 × height_cm^0.725 × weight_kg^0.425`` (m²).

    [spec §4.5; globalrph.com bsa2 (S); DuBois & DuBois, Arch Intern Med 1916;17:863.]
    Under-estimates in obesity by 3–5 % [same].  Worked: 170 cm / 70 kg → 1.81 m².
    """
    instrument = "BSA (DuBois)"
    ht, wt, inputs, missing = _bsa_inputs(height, weight)
    if missing:
        return _not_evaluable(instrument, "m²", inputs, missing)
    assert ht is not None and wt is not None
    with localcontext() as ctx:
        ctx.prec = _PREC
        value = Decimal("0.007184") * _dec(ht) ** Decimal("0.725") * _dec(wt) ** Decimal("0.425")
    return Assessment(
        instrument=instrument,
        value=float(value),
        unit="m²",
        inputs=inputs,
        contributions=(
            Contribution("formula", None, "0.007184 × height_cm^0.725 × weight_kg^0.425"),
        ),
        reasons=(f"BSA = 0.007184 × {_s(ht)}^0.725 × {_s(wt)}^0.425 = {_s(value, 4)} m².",),
    )


# --------------------------------------------------------------------------- dosing


def _bsa_value(bsa_m2: NumberLike | Assessment[float] | None) -> tuple[Fraction | None, str]:
    if bsa_m2 is None:
        return None, ""
    if isinstance(bsa_m2, Assessment):
        if not bsa_m2.evaluable or bsa_m2.value is None:
            return None, bsa_m2.instrument
        if bsa_m2.unit not in ("m²", "m2"):
            raise InputError("bsa_m2", f"expected a BSA in m², got unit {bsa_m2.unit!r}")
        return to_fraction(bsa_m2.value, "bsa_m2"), bsa_m2.instrument
    return to_fraction(bsa_m2, "bsa_m2"), "given"


def lymphodepletion_dose(
    *,
    drug: str,
    dose_mg_per_m2: NumberLike | None,
    bsa_m2: NumberLike | Assessment[float] | None,
    days: int = 1,
    bsa_cap_m2: NumberLike | None = None,
    round_bsa_decimals: int | None = None,
) -> Assessment[float]:
    """Daily lymphodepletion dose in mg (``value``) = dose (mg/m²) × BSA; total over ``days``.

    [spec §4.5.]  Seed 001: fludarabine 25–30 mg/m² + cyclophosphamide 250–300 mg/m² on D−5…D−3
    (``days=3``).  Worked: BSA 1.5635 m² (160 cm / 55 kg), Flu 25 mg/m² → 39.1 mg/day, 117.3 mg
    total; Cy 250 mg/m² → 390.9 mg/day.

    BSA capping (``bsa_cap_m2``), BSA rounding (``round_bsa_decimals``, half-up) and renal dose
    adjustment are protocol-specific and NOT FOUND in the seeds [spec §4.5/§7]: the first two are
    parameters (off by default); a renal adjustment must be applied by the caller to
    ``dose_mg_per_m2`` and is not modelled here.

    ``bsa_m2`` may be a number (m²) or the :class:`Assessment` of :func:`bsa_mosteller` /
    :func:`bsa_dubois` (a non-evaluable BSA makes the dose not evaluable).
    """
    instrument = f"Lymphodepletion dose ({drug})"
    if not isinstance(drug, str) or not drug.strip():
        raise InputError("drug", "must name the drug")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 14:
        raise InputError("days", f"must be an integer number of days 1–14, got {days!r}")
    dose = _num(dose_mg_per_m2, "dose_mg_per_m2")
    if dose is not None and not 0 < dose <= 10000:
        raise InputError("dose_mg_per_m2", f"must be > 0 and ≤ 10000 mg/m², got {_s(dose)}")
    bsa, bsa_source = _bsa_value(bsa_m2)
    if bsa is not None and not 0 < bsa <= 5:
        raise InputError("bsa_m2", f"must be > 0 and ≤ 5 m², got {_s(bsa)}")
    cap = _num(bsa_cap_m2, "bsa_cap_m2")
    if cap is not None and not 0 < cap <= 5:
        raise InputError("bsa_cap_m2", f"must be > 0 and ≤ 5 m², got {_s(cap)}")
    if round_bsa_decimals is not None and (
        isinstance(round_bsa_decimals, bool) or not 0 <= round_bsa_decimals <= 4
    ):
        raise InputError("round_bsa_decimals", f"must be 0–4, got {round_bsa_decimals!r}")
    inputs: dict[str, Any] = {
        "drug": drug,
        "dose_mg_per_m2": None if dose is None else float(dose),
        "bsa_m2": None if bsa is None else float(bsa),
        "bsa_source": bsa_source or None,
        "days": days,
        "bsa_cap_m2": None if cap is None else float(cap),
        "round_bsa_decimals": round_bsa_decimals,
    }
    missing = [n for n, v in (("dose_mg_per_m2", dose), ("bsa_m2", bsa)) if v is None]
    if missing:
        return _not_evaluable(instrument, "mg", inputs, missing)
    assert dose is not None and bsa is not None
    reasons = []
    bsa_used = bsa
    if round_bsa_decimals is not None:
        bsa_used = Fraction(
            _dec(bsa).quantize(Decimal(1).scaleb(-round_bsa_decimals), rounding=ROUND_HALF_UP)
        )
        reasons.append(f"BSA {_s(bsa, 4)} m² rounded to {_s(bsa_used)} m² (protocol rounding).")
    if cap is not None and bsa_used > cap:
        reasons.append(f"BSA {_s(bsa_used, 4)} m² capped at {_s(cap)} m² (protocol cap).")
        bsa_used = cap
    daily = dose * bsa_used
    total = daily * days
    reasons.append(
        f"{drug}: {_s(dose)} mg/m² × {_s(bsa_used, 4)} m² = {_s(daily, 1)} mg/day; "
        f"× {days} day(s) = {_s(total, 1)} mg total."
    )
    inputs["bsa_used_m2"] = float(bsa_used)
    return Assessment(
        instrument=instrument,
        value=float(daily),
        unit="mg",
        inputs=inputs,
        contributions=(
            Contribution("daily_dose_mg", float(daily), f"{_s(daily, 1)} mg/day"),
            Contribution("total_dose_mg", float(total), f"{_s(total, 1)} mg over {days} day(s)"),
        ),
        reasons=tuple(reasons),
    )


def _sig2(v: Fraction) -> str:
    return f"{float(v):.2g}" if v else "0"


def cell_dose_total(
    *, dose_per_kg: NumberLike | None, weight: Quantity | None
) -> Assessment[float]:
    """Total cells for a weight-based dose: ``cells/kg × weight_kg`` [spec §4.6].

    Seed 003: 1×10⁵, 3×10⁵, 5×10⁵ CAR-T cells/kg (e.g. 3×10⁵/kg × 25 kg = 7.5×10⁶ cells).  The
    product is exact; the reasons show 2 significant digits as the spec asks for reporting.
    """
    instrument = "Cell dose (total cells)"
    d = _num(dose_per_kg, "dose_per_kg")
    if d is not None and not 0 < d <= Fraction(10**12):
        raise InputError("dose_per_kg", f"must be > 0 and ≤ 1e12 cells/kg, got {_s(d)}")
    wt = _weight(weight)
    inputs = {"dose_per_kg": None if d is None else float(d), "weight": _q(weight)}
    missing = [n for n, v in (("dose_per_kg", d), ("weight", wt)) if v is None]
    if missing:
        return _not_evaluable(instrument, "cells", inputs, missing)
    assert d is not None and wt is not None
    total = d * wt
    return Assessment(
        instrument=instrument,
        value=float(total),
        unit="cells",
        inputs=inputs,
        contributions=(Contribution("formula", None, "dose_per_kg × weight_kg"),),
        reasons=(
            f"{_sig2(d)} cells/kg × {_s(wt)} kg (actual body weight) = {_sig2(total)} cells.",
        ),
    )


def cell_dose_per_kg(
    *, total_cells: NumberLike | None, weight: Quantity | None
) -> Assessment[float]:
    """Cells per kg for a flat (total) dose: ``total_cells / weight_kg`` [spec §4.6]."""
    instrument = "Cell dose (cells/kg)"
    t = _num(total_cells, "total_cells")
    if t is not None and not 0 < t <= Fraction(10**15):
        raise InputError("total_cells", f"must be > 0 and ≤ 1e15 cells, got {_s(t)}")
    wt = _weight(weight)
    inputs = {"total_cells": None if t is None else float(t), "weight": _q(weight)}
    missing = [n for n, v in (("total_cells", t), ("weight", wt)) if v is None]
    if missing:
        return _not_evaluable(instrument, "cells/kg", inputs, missing)
    assert t is not None and wt is not None
    per_kg = t / wt
    return Assessment(
        instrument=instrument,
        value=float(per_kg),
        unit="cells/kg",
        inputs=inputs,
        contributions=(Contribution("formula", None, "total_cells / weight_kg"),),
        reasons=(f"{_sig2(t)} cells / {_s(wt)} kg = {_sig2(per_kg)} cells/kg.",),
    )


# --------------------------------------------------------------------------- glucocorticoids

PREDNISONE_EQUIVALENTS: Mapping[str, Fraction] = MappingProxyType(
    {
        "prednisone": Fraction(1),
        "prednisolone": Fraction(1),
        "methylprednisolone": Fraction(5, 4),
        "dexamethasone": Fraction(20, 3),
        "hydrocortisone": Fraction(1, 4),
    }
)
"""mg prednisone per mg of drug: pred 5 = prednisolone 5 = MP 4 = dexa 0.75 = HC 20 mg.

[spec §4.7; droracle.ai articles 300687/306955/503692/632347 — W only; §7 item 12: confirm
against a product label before release.]  Pass another table to
:func:`prednisone_equivalent` to override.
"""


@dataclass(frozen=True, slots=True)
class GlucocorticoidDose:
    """One concurrent systemic glucocorticoid record: ``dose`` per day of ``drug``.

    Attributes:
        drug: generic name (``"methylprednisolone"``; case-insensitive).
        dose_per_day: a drug-mass quantity (mg/g/µg) given per day.
        route: route as recorded (``"oral"``, ``"iv"``, ...), kept for route-based exclusions
            (seed 002 #18); it does not change the equivalence.
    """

    drug: str
    dose_per_day: Quantity
    route: str | None = None


def prednisone_equivalent(
    doses: Sequence[GlucocorticoidDose] | None,
    *,
    weight: Quantity | None = None,
    factors: Mapping[str, NumberLike] = PREDNISONE_EQUIVALENTS,
) -> Assessment[float]:
    """Total prednisone-equivalent dose in mg/day, summed over concurrent systemic records.

    [spec §4.7.]  Seed thresholds: ≤ 30 mg/d (000, 004), ≥ 7.5 (004), ≤ 20 for ≥ 7 d before LD
    (001), pulse ≥ 500 (001), ≥ 100 for ≥ 14 d (000, 002), ≥ 1 mg/kg/d (000, 003).  Worked:
    methylprednisolone 16 mg/d = 20 mg (meets ≤ 20); dexamethasone 4 mg/d = 26.7 mg;
    hydrocortisone 100 mg/d = 25 mg; MP 1000 mg = 1250 mg.  Arithmetic is exact
    (dexamethasone factor 20/3), so 16 mg MP is exactly 20, not 20.000000000000004.

    ``doses=None`` (unknown) → not evaluable; an empty sequence means "no glucocorticoid" → 0.
    With ``weight``, the mg/kg/day figure is added as a contribution
    (``"pred_eq_mg_per_kg_per_day"``) and an input.

    Raises:
        InputError: a drug not in ``factors``; a dose that is not a drug-mass quantity.
    """
    instrument = "Prednisone-equivalent dose"
    table = {k.strip().lower(): to_fraction(v, f"factors[{k}]") for k, v in factors.items()}
    wt = _weight(weight)
    if doses is None:
        return _not_evaluable(instrument, "mg/day", {"weight": _q(weight)}, ["doses"])
    contributions: list[Contribution] = []
    records: list[dict[str, Any]] = []
    total = Fraction(0)
    for i, d in enumerate(doses):
        if not isinstance(d, GlucocorticoidDose):
            raise InputError(f"doses[{i}]", f"must be a GlucocorticoidDose, got {d!r}")
        name = d.drug.strip().lower() if isinstance(d.drug, str) else ""
        if name not in table:
            raise InputError(
                f"doses[{i}].drug",
                f"{d.drug!r} is not in the equivalence table ({', '.join(sorted(table))})",
            )
        q = require_quantity(
            d.dose_per_day, f"doses[{i}].dose_per_day", Dimension.DRUG_MASS, allow_none=False
        )
        assert q is not None
        mg = q.to("mg").value
        eq = mg * table[name]
        total += eq
        contributions.append(
            Contribution(
                name,
                float(eq),
                f"{q}/day {name}"
                + (f" ({d.route})" if d.route else "")
                + f" × {_s(table[name])} = {_s(eq, 2)} mg prednisone-eq/day",
            )
        )
        records.append({"drug": name, "dose_per_day": str(q), "route": d.route})
    inputs: dict[str, Any] = {
        "doses": records,
        "factor_table": {k: float(v) for k, v in table.items()},
        "weight": _q(weight),
    }
    reasons = [
        "Equivalence: prednisone 5 = prednisolone 5 = methylprednisolone 4 = dexamethasone 0.75 "
        "= hydrocortisone 20 mg (spec §4.7)."
        if table == dict(PREDNISONE_EQUIVALENTS)
        else "Equivalence: protocol-supplied factor table.",
        f"Total = {_s(total, 2)} mg prednisone-equivalent/day over {len(records)} record(s).",
    ]
    if wt is not None:
        per_kg = total / wt
        inputs["pred_eq_mg_per_kg_per_day"] = float(per_kg)
        contributions.append(
            Contribution(
                "pred_eq_mg_per_kg_per_day", float(per_kg), f"{_s(total, 2)} mg / {_s(wt)} kg"
            )
        )
        reasons.append(f"= {_s(per_kg, 3)} mg/kg/day at {_s(wt)} kg.")
    return Assessment(
        instrument=instrument,
        value=float(total),
        unit="mg/day",
        inputs=inputs,
        contributions=tuple(contributions),
        reasons=tuple(reasons),
    )
