"""CTCAE laboratory grading (v5.0), febrile neutropenia, infections and IgG flags.

The CTCAE version is a per-protocol setting (:class:`CTCAEVersion`); every seed trial names
v5.0 and only v5.0 is implemented — asking for another version raises
:class:`~doseladder.core.errors.InputError` (field ``ctcae_version``); versions are never mixed.

Sources (spec ``clinical.md`` §3):

* NCI CTCAE v5.0, 27 Nov 2017 [ctep.cancer.gov CTCAE_v5_Quick_Reference_8.5x11.pdf, P].
* The executable reading of each cell is pharmaverse/admiral ``data-raw/adlb_grading/
  ncictcaev5.json`` (Apache-2.0, [P-derived]; data read, no code copied):

  - *Decreasing* terms (neutrophils, platelets, lymphocytes, WBC, haemoglobin): grades 2–4 use
    fixed cut-offs with strict ``<`` (ANC exactly 1.0 × 10⁹/L is grade 2, 0.99 grade 3) and can
    be graded without an LLN; grade 1 needs ``value < LLN`` (no LLN → not evaluable).
  - ALT/AST: baseline *abnormal* = baseline above the ULN.  Baseline normal: ``> ULN`` → 1,
    ``> 3×ULN`` → 2, ``> 5×ULN`` → 3, ``> 20×ULN`` → 4.  Baseline abnormal: ``≥ 1.5×BL`` → 1,
    ``> 3×BL`` → 2, ``> 5×BL`` → 3, ``> 20×BL`` → 4 (between BL and 1.5×BL: grade 0).
  - Bilirubin: as ALT/AST with multiples 1 / 1.5 / 3 / 10 and, for an abnormal baseline,
    ``> 1.0×BL`` → 1.
  - Creatinine: grade = max(ULN grade: ``> ULN`` 1, ``> 1.5×`` 2, ``> 3×`` 3, ``> 6×`` 4;
    baseline grade: ``> 1.5×BL`` 2, ``> 3×BL`` 3).

* Comparisons are exact (:class:`fractions.Fraction`): a value exactly at a cut-off takes the
  side the CTCAE cell gives it.  (admiral rounds both sides to ``signif_dig`` significant digits
  to remove binary floating-point noise; exact rationals need no such rounding.)
* Grade 5 (death) is not derivable from a laboratory value.

Baseline policy: when a baseline-dependent term is above the ULN and no baseline is given, the
grade is not evaluable (``missing=("baseline",)``) — unless the protocol opts in to
``missing_baseline=MissingBaseline.GRADE_BY_ULN`` (grade on the ULN rules alone; the result is
then flagged ``needs_review``).  A value at or below the ULN is grade 0 whatever the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Any, Literal

from doseladder.core.clinical.result import Assessment, Contribution
from doseladder.core.clinical.units import (
    Dimension,
    Quantity,
    cell_count,
    hemoglobin,
    immunoglobulin,
    require_quantity,
    temperature,
)
from doseladder.core.errors import InputError

__all__ = [
    "IMPLEMENTED_VERSIONS",
    "CTCAEVersion",
    "LabTerm",
    "MissingBaseline",
    "assess_igg",
    "grade_febrile_neutropenia",
    "grade_infection",
    "grade_lab",
    "lab_dimension",
    "require_version",
]


class CTCAEVersion(StrEnum):
    """CTCAE versions a protocol may name.  Only :attr:`V5_0` is implemented."""

    V4_03 = "4.03"
    V5_0 = "5.0"
    V6_0 = "6.0"


IMPLEMENTED_VERSIONS = frozenset({CTCAEVersion.V5_0})


def require_version(version: CTCAEVersion | str) -> CTCAEVersion:
    """The :class:`CTCAEVersion`, checked to be implemented.

    Raises:
        InputError: (field ``ctcae_version``) unknown or not implemented version.  CTCAE v6.0
            (2025) changes several lab cells (e.g. neutrophil and platelet cut-offs, spec §3.1),
            so a v6.0 protocol must not be graded with v5.0 rules.
    """
    try:
        v = CTCAEVersion(str(version).strip().lstrip("vV"))
    except ValueError:
        valid = ", ".join(x.value for x in CTCAEVersion)
        raise InputError("ctcae_version", f"unknown CTCAE version {version!r} ({valid})") from None
    if v not in IMPLEMENTED_VERSIONS:
        raise InputError(
            "ctcae_version",
            f"CTCAE v{v.value} is not implemented (only v5.0); grades are never mixed across "
            "versions",
        )
    return v


class LabTerm(StrEnum):
    """CTCAE v5.0 laboratory terms graded here (spec §3.1)."""

    NEUTROPHIL_COUNT_DECREASED = "Neutrophil count decreased"
    PLATELET_COUNT_DECREASED = "Platelet count decreased"
    LYMPHOCYTE_COUNT_DECREASED = "Lymphocyte count decreased"
    WHITE_BLOOD_CELL_DECREASED = "White blood cell decreased"
    ANEMIA = "Anemia"
    ALT_INCREASED = "Alanine aminotransferase increased"
    AST_INCREASED = "Aspartate aminotransferase increased"
    BLOOD_BILIRUBIN_INCREASED = "Blood bilirubin increased"
    CREATININE_INCREASED = "Creatinine increased"


class MissingBaseline(StrEnum):
    """What to do when a baseline-dependent grade needs a baseline that was not given."""

    NOT_EVALUABLE = "not_evaluable"
    GRADE_BY_ULN = "grade_by_uln"


@dataclass(frozen=True, slots=True)
class _Decreasing:
    dimension: Dimension
    # (grade, cut-off): value < cut-off → at least that grade; in the dimension's canonical unit
    cutoffs: tuple[tuple[int, Quantity], ...]


_F = Fraction
_DECREASING: dict[LabTerm, _Decreasing] = {
    # spec §3.1 table; admiral ncictcaev5.json GRADE_n_CODE
    LabTerm.NEUTROPHIL_COUNT_DECREASED: _Decreasing(
        Dimension.CELL_COUNT,
        (
            (4, cell_count("0.5", "10^9/L")),
            (3, cell_count(1, "10^9/L")),
            (2, cell_count("1.5", "10^9/L")),
        ),
    ),
    LabTerm.PLATELET_COUNT_DECREASED: _Decreasing(
        Dimension.CELL_COUNT,
        (
            (4, cell_count(25, "10^9/L")),
            (3, cell_count(50, "10^9/L")),
            (2, cell_count(75, "10^9/L")),
        ),
    ),
    LabTerm.LYMPHOCYTE_COUNT_DECREASED: _Decreasing(
        Dimension.CELL_COUNT,
        (
            (4, cell_count("0.2", "10^9/L")),
            (3, cell_count("0.5", "10^9/L")),
            (2, cell_count("0.8", "10^9/L")),
        ),
    ),
    LabTerm.WHITE_BLOOD_CELL_DECREASED: _Decreasing(
        Dimension.CELL_COUNT,
        ((4, cell_count(1, "10^9/L")), (3, cell_count(2, "10^9/L")), (2, cell_count(3, "10^9/L"))),
    ),
    # Anemia: <100 g/L (10.0 g/dL) grade 2, <80 g/L grade 3; grade 4 is clinical
    LabTerm.ANEMIA: _Decreasing(
        Dimension.HEMOGLOBIN,
        ((3, hemoglobin(80, "g/L")), (2, hemoglobin(100, "g/L"))),
    ),
}
# CTCAE's own mmol/L cells for Anemia (not an exact multiple of the g/L cells): 6.2, 4.9 mmol/L
_ANEMIA_MMOL = ((3, hemoglobin("4.9", "mmol/L")), (2, hemoglobin("6.2", "mmol/L")))


@dataclass(frozen=True, slots=True)
class _Increasing:
    dimension: Dimension
    uln_multiples: tuple[tuple[int, Fraction], ...]  # value > k×ULN → grade (baseline normal)
    bl_multiples: tuple[tuple[int, Fraction], ...]  # value > k×BL → grade (baseline abnormal)
    bl_grade1: tuple[Literal[">", ">="], Fraction]  # grade 1 rule for an abnormal baseline


_INCREASING: dict[LabTerm, _Increasing] = {
    LabTerm.ALT_INCREASED: _Increasing(
        Dimension.ENZYME_ACTIVITY,
        ((4, _F(20)), (3, _F(5)), (2, _F(3)), (1, _F(1))),
        ((4, _F(20)), (3, _F(5)), (2, _F(3))),
        (">=", _F(3, 2)),
    ),
    LabTerm.AST_INCREASED: _Increasing(
        Dimension.ENZYME_ACTIVITY,
        ((4, _F(20)), (3, _F(5)), (2, _F(3)), (1, _F(1))),
        ((4, _F(20)), (3, _F(5)), (2, _F(3))),
        (">=", _F(3, 2)),
    ),
    LabTerm.BLOOD_BILIRUBIN_INCREASED: _Increasing(
        Dimension.BILIRUBIN,
        ((4, _F(10)), (3, _F(3)), (2, _F(3, 2)), (1, _F(1))),
        ((4, _F(10)), (3, _F(3)), (2, _F(3, 2))),
        (">", _F(1)),
    ),
}

# Creatinine increased: ULN rule and baseline rule, grade = max of the two
_CREAT_ULN = ((4, _F(6)), (3, _F(3)), (2, _F(3, 2)), (1, _F(1)))
_CREAT_BL = ((3, _F(3)), (2, _F(3, 2)))

_INSTRUMENT = "CTCAE v{v}: {term}"


def _fmtk(k: Fraction) -> str:
    return str(k.numerator) if k.denominator == 1 else f"{float(k):g}"


def _grade_from_multiples(
    value: Quantity, ref: Quantity, multiples: tuple[tuple[int, Fraction], ...], ref_name: str
) -> tuple[int, str]:
    for grade, k in multiples:
        if value > ref.times(k):
            return grade, f"{value} > {_fmtk(k)} × {ref_name} ({ref.times(k)}) → grade {grade}"
    k_low = multiples[-1][1]
    return 0, f"{value} ≤ {_fmtk(k_low)} × {ref_name} ({ref.times(k_low)})"


def grade_lab(
    term: LabTerm | str,
    value: Quantity | None,
    *,
    lln: Quantity | None = None,
    uln: Quantity | None = None,
    baseline: Quantity | None = None,
    baseline_uln: Quantity | None = None,
    version: CTCAEVersion | str = CTCAEVersion.V5_0,
    missing_baseline: MissingBaseline | str = MissingBaseline.NOT_EVALUABLE,
    life_threatening: bool | None = None,
) -> Assessment[int]:
    """CTCAE grade (0–4) of one laboratory value.

    Args:
        term: a :class:`LabTerm` (or its CTCAE name).
        value: the result as a :class:`Quantity` of the term's dimension (cell count, g/L…,
            U/L, bilirubin, creatinine).  ``None`` → not evaluable.
        lln: lower limit of normal (decreasing terms; needed for grade 1 only).
        uln: upper limit of normal (increasing terms; always needed).
        baseline: the patient's pre-treatment value (ALT/AST/bilirubin: the abnormal-baseline
            rules; creatinine: the ×baseline rules).
        baseline_uln: the ULN that applied to the baseline sample if it differs (default
            ``uln``); the baseline is *abnormal* when ``baseline > baseline_uln``.
        version: CTCAE version of the protocol; only v5.0 is implemented.
        missing_baseline: see the module docstring.
        life_threatening: Anemia only — grade 4 is "life-threatening consequences; urgent
            intervention indicated" (not lab-derivable).

    Raises:
        InputError: wrong dimension/unit for ``value`` or a limit, an unknown term, an
            unimplemented version, or ``life_threatening`` for a term other than Anemia.
    """
    v = require_version(version)
    try:
        t = LabTerm(term)
    except ValueError:
        valid = "; ".join(x.value for x in LabTerm)
        raise InputError("term", f"{term!r} is not a graded lab term ({valid})") from None
    try:
        mb = MissingBaseline(missing_baseline)
    except ValueError:
        raise InputError("missing_baseline", f"unknown policy {missing_baseline!r}") from None
    instrument = _INSTRUMENT.format(v=v.value, term=t.value)
    if life_threatening is not None and t is not LabTerm.ANEMIA:
        raise InputError("life_threatening", f"applies to Anemia only, not {t.value}")

    dim = _dimension(t)
    convertible = t is not LabTerm.ANEMIA
    val = require_quantity(value, "value", dim, convertible=convertible)
    lo = require_quantity(lln, "lln", dim, convertible=convertible)
    hi = require_quantity(uln, "uln", dim, convertible=convertible)
    bl = require_quantity(baseline, "baseline", dim, convertible=convertible)
    bl_hi = require_quantity(baseline_uln, "baseline_uln", dim, convertible=convertible)
    inputs: dict[str, Any] = {
        "value": _s(val),
        "lln": _s(lo),
        "uln": _s(hi),
        "baseline": _s(bl),
        "baseline_uln": _s(bl_hi),
        "ctcae_version": v.value,
        "missing_baseline": mb.value,
    }
    if t is LabTerm.ANEMIA:
        inputs["life_threatening"] = life_threatening
    if val is None:
        return _ne(instrument, inputs, ("value",))

    if t in _DECREASING:
        return _grade_decreasing(t, instrument, inputs, val, lo, life_threatening)
    if hi is None:
        return _ne(instrument, inputs, ("uln",), f"{t.value} is graded by multiples of the ULN.")
    if t is LabTerm.CREATININE_INCREASED:
        return _grade_creatinine(instrument, inputs, val, hi, bl, mb)
    return _grade_increasing(t, instrument, inputs, val, hi, bl, bl_hi, mb)


def lab_dimension(term: LabTerm | str) -> Dimension:
    """The :class:`Dimension` a value of ``term`` is measured in (which units it accepts).

    Raises:
        InputError: (``term``) not a graded laboratory term.
    """
    try:
        return _dimension(LabTerm(term))
    except ValueError:
        valid = "; ".join(x.value for x in LabTerm)
        raise InputError("term", f"{term!r} is not a graded lab term ({valid})") from None


def _dimension(t: LabTerm) -> Dimension:
    if t in _DECREASING:
        return _DECREASING[t].dimension
    if t in _INCREASING:
        return _INCREASING[t].dimension
    return Dimension.CREATININE


def _s(q: Quantity | None) -> str | None:
    return None if q is None else str(q)


def _ne(
    instrument: str, inputs: dict[str, Any], missing: tuple[str, ...], note: str = ""
) -> Assessment[int]:
    reasons = [f"Not evaluable: missing {', '.join(missing)}."]
    if note:
        reasons.append(note)
    return Assessment(
        instrument=instrument,
        value=None,
        evaluable=False,
        inputs=inputs,
        reasons=tuple(reasons),
        missing=missing,
    )


def _ok(
    instrument: str,
    inputs: dict[str, Any],
    grade: int,
    reasons: list[str],
    *,
    needs_review: bool = False,
    driver: str | None = None,
) -> Assessment[int]:
    contributions = (Contribution(driver or "value", grade, reasons[-1]),) if grade else ()
    return Assessment(
        instrument=instrument,
        value=grade,
        inputs=inputs,
        contributions=contributions,
        reasons=tuple(reasons),
        needs_review=needs_review,
    )


def _grade_decreasing(
    t: LabTerm,
    instrument: str,
    inputs: dict[str, Any],
    val: Quantity,
    lln: Quantity | None,
    life_threatening: bool | None,
) -> Assessment[int]:
    spec = _DECREASING[t]
    cutoffs = spec.cutoffs
    if t is LabTerm.ANEMIA:
        if val.unit.symbol == "mmol/L":
            cutoffs = _ANEMIA_MMOL
            if lln is not None and lln.unit.symbol != "mmol/L":
                raise InputError("lln", "give the LLN in the same unit family as the value")
        elif lln is not None and lln.unit.symbol == "mmol/L":
            raise InputError("lln", "give the LLN in g/L or g/dL like the value")
        if life_threatening:
            return _ok(
                instrument,
                inputs,
                4,
                [f"Hgb {val}; life-threatening consequences, urgent intervention → grade 4."],
                driver="life_threatening",
            )
    for grade, cut in cutoffs:
        if val < cut:
            return _ok(instrument, inputs, grade, [f"{val} < {cut} → grade {grade}."])
    lowest = cutoffs[-1][1]
    if lln is None:
        return _ne(
            instrument,
            inputs,
            ("lln",),
            f"{val} ≥ {lowest}: grade 0 or 1 depends on the LLN (grade 1 = < LLN).",
        )
    if val < lln:
        return _ok(instrument, inputs, 1, [f"{val} ≥ {lowest} and < LLN {lln} → grade 1."])
    return _ok(instrument, inputs, 0, [f"{val} ≥ LLN {lln} → grade 0."])


def _grade_increasing(
    t: LabTerm,
    instrument: str,
    inputs: dict[str, Any],
    val: Quantity,
    uln: Quantity,
    bl: Quantity | None,
    bl_uln: Quantity | None,
    mb: MissingBaseline,
) -> Assessment[int]:
    spec = _INCREASING[t]
    if val <= uln:
        return _ok(instrument, inputs, 0, [f"{val} ≤ ULN {uln} → grade 0 (any baseline)."])
    uln_grade, uln_text = _grade_from_multiples(val, uln, spec.uln_multiples, "ULN")
    if bl is None:
        if mb is MissingBaseline.GRADE_BY_ULN:
            return _ok(
                instrument,
                inputs,
                uln_grade,
                [
                    "Baseline not given; graded on the baseline-normal (ULN) rules by protocol "
                    "policy — confirm the baseline was normal.",
                    f"{uln_text}.",
                ],
                needs_review=True,
                driver="uln_multiple",
            )
        return _ne(
            instrument,
            inputs,
            ("baseline",),
            f"{val} > ULN: the grade depends on whether the baseline was abnormal (CTCAE v5 "
            f"baseline rules); on the ULN rules alone it would be grade {uln_grade}.",
        )
    ref_uln = bl_uln if bl_uln is not None else uln
    if bl > ref_uln:
        reasons = [f"Baseline {bl} > ULN {ref_uln}: baseline abnormal, multiples of baseline."]
        grade, text = _grade_from_multiples(val, bl, spec.bl_multiples, "baseline")
        if grade == 0:
            op, k = spec.bl_grade1
            threshold = bl.times(k)
            met = val >= threshold if op == ">=" else val > threshold
            if met:
                grade = 1
                text = f"{val} {'≥' if op == '>=' else '>'} {_fmtk(k)} × baseline ({threshold})"
                text += " → grade 1"
            else:
                text = (
                    f"{val} {'<' if op == '>=' else '≤'} {_fmtk(k)} × baseline ({threshold}) "
                    "→ grade 0"
                )
        reasons.append(f"{text}.")
        return _ok(instrument, inputs, grade, reasons, driver="baseline_multiple")
    return _ok(
        instrument,
        inputs,
        uln_grade,
        [f"Baseline {bl} ≤ ULN {ref_uln}: baseline normal, multiples of ULN.", f"{uln_text}."],
        driver="uln_multiple",
    )


def _grade_creatinine(
    instrument: str,
    inputs: dict[str, Any],
    val: Quantity,
    uln: Quantity,
    bl: Quantity | None,
    mb: MissingBaseline,
) -> Assessment[int]:
    uln_grade, uln_text = _grade_from_multiples(val, uln, _CREAT_ULN, "ULN")
    reasons = [f"ULN rule: {uln_text}."]
    if bl is None:
        max_bl = _CREAT_BL[0][0]
        if uln_grade >= max_bl:
            reasons.append(
                f"Baseline not given; the ×baseline rule cannot exceed grade {max_bl}, so the "
                f"grade is {uln_grade}."
            )
            return _ok(instrument, inputs, uln_grade, reasons, driver="uln_multiple")
        if mb is MissingBaseline.GRADE_BY_ULN:
            reasons.append(
                "Baseline not given; graded on the ULN rule alone by protocol policy — the "
                "×baseline rule (> 1.5×, > 3× baseline) could give a higher grade."
            )
            return _ok(
                instrument, inputs, uln_grade, reasons, needs_review=True, driver="uln_multiple"
            )
        return _ne(
            instrument,
            inputs,
            ("baseline",),
            f"The ULN rule gives grade {uln_grade}; the ×baseline rule (> 1.5× → 2, > 3× → 3) "
            "could give more.",
        )
    bl_grade, bl_text = _grade_from_multiples(val, bl, _CREAT_BL, "baseline")
    reasons.append(f"Baseline rule: {bl_text}.")
    grade = max(uln_grade, bl_grade)
    driver = "baseline_multiple" if bl_grade > uln_grade else "uln_multiple"
    reasons.append(f"Grade = max({uln_grade}, {bl_grade}) = {grade}.")
    return _ok(instrument, inputs, grade, reasons, driver=driver)


# --------------------------------------------------------------------------- febrile neutropenia

_FN_ANC = cell_count(1, "10^9/L")
_FN_SINGLE = temperature("38.3", "°C")


def grade_febrile_neutropenia(
    *,
    anc: Quantity | None,
    max_temperature: Quantity | None,
    sustained_ge_38_over_1h: bool | None,
    life_threatening: bool = False,
    death: bool = False,
    version: CTCAEVersion | str = CTCAEVersion.V5_0,
) -> Assessment[int]:
    """CTCAE v5.0 febrile neutropenia: grade 0, 3, 4 or 5 (grades 1–2 do not exist).

    Definition: "ANC < 1000/mm³ and a single temperature of > 38.3 °C (101 °F) or a sustained
    temperature of ≥ 38 °C (100.4 °F) for more than one hour" [spec §3.2; CTEP PDF, text
    reproduced in two public transcriptions (W, verified twice)].  Grade 3 = present as
    defined; 4 = life-threatening consequences, urgent intervention indicated; 5 = death.  The
    grade-4/5 wording is from the transcriptions only (spec §7 item 6): a grade 4 or 5 result is
    flagged ``needs_review``.

    Missing data are resolved only when the answer does not depend on them (an ANC ≥ 1.0 is
    grade 0 whatever the temperature; a single reading > 38.3 °C needs no "sustained" answer).
    """
    v = require_version(version)
    instrument = f"CTCAE v{v.value}: Febrile neutropenia"
    a = require_quantity(anc, "anc", Dimension.CELL_COUNT)
    temp = require_quantity(max_temperature, "max_temperature", Dimension.TEMPERATURE)
    if sustained_ge_38_over_1h is not None and not isinstance(sustained_ge_38_over_1h, bool):
        raise InputError("sustained_ge_38_over_1h", "must be True, False or None")
    inputs: dict[str, Any] = {
        "anc": _s(a),
        "max_temperature": _s(temp),
        "sustained_ge_38_over_1h": sustained_ge_38_over_1h,
        "life_threatening": life_threatening,
        "death": death,
        "ctcae_version": v.value,
    }
    if a is None:
        return _ne(instrument, inputs, ("anc",))
    if a >= _FN_ANC:
        return _ok(instrument, inputs, 0, [f"ANC {a} ≥ {_FN_ANC}: not neutropenic → grade 0."])
    reasons = [f"ANC {a} < {_FN_ANC}."]
    single = None if temp is None else temp > _FN_SINGLE
    if single:
        reasons.append(f"Single temperature {temp} > 38.3 °C.")
        fever: bool | None = True
    elif sustained_ge_38_over_1h:
        reasons.append("Sustained temperature ≥ 38 °C for more than one hour.")
        fever = True
    elif single is False and sustained_ge_38_over_1h is False:
        fever = False
    else:
        fever = None
    if fever is None:
        miss = tuple(
            n
            for n, x in (
                ("max_temperature", temp),
                ("sustained_ge_38_over_1h", sustained_ge_38_over_1h),
            )
            if x is None
        )
        return _ne(
            instrument, inputs, miss, "Neutropenic; whether fever criteria are met is unknown."
        )
    if not fever:
        reasons.append(
            f"Maximum temperature {temp} ≤ 38.3 °C and no sustained ≥ 38 °C > 1 h → grade 0."
        )
        return _ok(instrument, inputs, 0, reasons)
    if death:
        reasons.append("Death → grade 5 (wording from transcriptions; confirm, spec §7-6).")
        return _ok(instrument, inputs, 5, reasons, needs_review=True, driver="death")
    if life_threatening:
        reasons.append(
            "Life-threatening consequences, urgent intervention → grade 4 (wording from "
            "transcriptions; confirm, spec §7-6)."
        )
        return _ok(instrument, inputs, 4, reasons, needs_review=True, driver="life_threatening")
    reasons.append("Febrile neutropenia present → grade 3.")
    return _ok(instrument, inputs, 3, reasons, driver="febrile_neutropenia")


# --------------------------------------------------------------------------- infections

AntiInfectiveRoute = Literal["none", "oral", "iv"]


def grade_infection(
    term: str,
    *,
    anti_infective_route: AntiInfectiveRoute | None,
    invasive_intervention: bool | None = False,
    life_threatening: bool = False,
    death: bool = False,
    version: CTCAEVersion | str = CTCAEVersion.V5_0,
) -> Assessment[int]:
    """Grade an infection term by the common CTCAE v5.0 "Infections and infestations" pattern.

    Pattern [spec §3.2; catheter-related infection transcription, W]: G2 oral anti-infective
    intervention indicated; G3 IV antibiotic/antifungal/antiviral, or radiologic/invasive/
    operative intervention indicated; G4 life-threatening consequences, urgent intervention;
    G5 death.  The term-by-term table was NOT retrieved (spec §3.2, §7 item 6): grade 1 exists
    only for some terms, so "no anti-infective" is not evaluable, and **every** result is
    flagged ``needs_review`` (confirm against the CTCAE workbook row for ``term``).
    """
    v = require_version(version)
    if not isinstance(term, str) or not term.strip():
        raise InputError("term", "must name the CTCAE infection term (e.g. 'Lung infection')")
    if anti_infective_route not in (None, "none", "oral", "iv"):
        raise InputError(
            "anti_infective_route", f"must be 'none', 'oral' or 'iv', got {anti_infective_route!r}"
        )
    instrument = f"CTCAE v{v.value}: {term.strip()} (generic infection pattern)"
    inputs: dict[str, Any] = {
        "term": term,
        "anti_infective_route": anti_infective_route,
        "invasive_intervention": invasive_intervention,
        "life_threatening": life_threatening,
        "death": death,
        "ctcae_version": v.value,
    }
    caveat = "Term-specific CTCAE cells not retrieved (spec §7-6): confirm against the workbook."
    grade: int
    if death:
        grade, why = 5, "death → grade 5"
    elif life_threatening:
        grade, why = 4, "life-threatening consequences, urgent intervention → grade 4"
    elif anti_infective_route == "iv" or invasive_intervention:
        grade = 3
        why = "IV anti-infective or invasive intervention indicated → grade 3"
    elif anti_infective_route is None or invasive_intervention is None:
        missing = tuple(
            n
            for n, x in (
                ("anti_infective_route", anti_infective_route),
                ("invasive_intervention", invasive_intervention),
            )
            if x is None
        )
        a = _ne(instrument, inputs, missing, caveat)
        return Assessment(
            instrument=a.instrument,
            value=None,
            evaluable=False,
            inputs=a.inputs,
            reasons=a.reasons,
            missing=a.missing,
            needs_review=True,
        )
    elif anti_infective_route == "oral":
        grade, why = 2, "oral anti-infective intervention indicated → grade 2"
    else:
        return Assessment(
            instrument=instrument,
            value=None,
            evaluable=False,
            inputs=inputs,
            reasons=(
                "No anti-infective or invasive intervention: grade 1 exists only for some "
                "infection terms — not evaluable without the term-specific cell.",
                caveat,
            ),
            needs_review=True,
        )
    driver = {5: "death", 4: "life_threatening", 3: "iv_or_invasive", 2: "oral_anti_infective"}
    return Assessment(
        instrument=instrument,
        value=grade,
        inputs=inputs,
        contributions=(Contribution(driver[grade], grade, why),),
        reasons=(f"{why}.", caveat),
        needs_review=True,
    )


# --------------------------------------------------------------------------- IgG

_IGG_400 = immunoglobulin(400, "mg/dL")
_IGG_600 = immunoglobulin(600, "mg/dL")


def assess_igg(igg: Quantity | None) -> Assessment[dict[str, bool]]:
    """IgG flags used in CAR-T practice — *not* a CTCAE grade.

    CTCAE v5.0 has no laboratory grading term for low IgG (admiral's 40 v5 lab terms have none;
    NOT FOUND, spec §3.3/§7 item 7).  The spec asks for trial-configurable flags instead:
    ``igg_lt_400`` (IgG < 400 mg/dL: 2022 AAAAI replacement threshold with recurrent infections;
    Hill et al. quote ≤ 400) and ``igg_le_600`` (IgG ≤ 600 mg/dL: hypogammaglobulinaemia in a 2024
    cohort) [spec §3.3; PMC11272770 (S); pubmed 39505278 (S)].  The value is a mapping of flag →
    bool; a protocol that grades hypogammaglobulinaemia must supply its own grading.
    """
    q = require_quantity(igg, "igg", Dimension.IMMUNOGLOBULIN)
    instrument = "IgG flags (not a CTCAE grade)"
    inputs = {"igg": _s(q)}
    if q is None:
        return Assessment(
            instrument=instrument,
            value=None,
            evaluable=False,
            inputs=inputs,
            reasons=("Not evaluable: missing igg.",),
            missing=("igg",),
        )
    flags = {"igg_lt_400": q < _IGG_400, "igg_le_600": q <= _IGG_600}
    mg = q.to("mg/dL")
    return Assessment(
        instrument=instrument,
        value=flags,
        inputs=inputs,
        contributions=tuple(Contribution(k, None, f"{mg}: {b}") for k, b in flags.items()),
        reasons=(
            f"IgG {q} = {mg}: < 400 mg/dL {flags['igg_lt_400']}; ≤ 600 mg/dL "
            f"{flags['igg_le_600']}.",
            "CTCAE v5.0 has no IgG grade (spec §3.3); flags only.",
        ),
    )
