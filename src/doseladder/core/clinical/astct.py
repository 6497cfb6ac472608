"""ASTCT consensus grading of CRS and ICANS (Lee et al., BBMT 2019;25:625–638).

Sources (spec ``clinical.md`` §2): the paper [studylib.net/doc/25579953/astct-2019-crs, P] and
its tables as reproduced in PMC8021214, PMC9327779, PMC8403007, PMC7990806, PMC8153820 [S];
paediatric ICANS (CAPD) [mdedge.com "group proposes new" (S); NCIt C188936 (S)].

Every grader works domain by domain.  Each domain gives a grade, or — when its input is
unknown (``None``) — the range of grades it could give.  The overall grade is the most severe
domain; it is *evaluable* only when the unknown domains cannot change it (e.g. a patient on two
vasopressors is CRS grade 4 whatever the oxygen), otherwise the result is not evaluable and
``missing`` names the unknown inputs.  The domain that decided the grade is named in the
reasons and carried as a :class:`Contribution` (``points`` = that domain's grade).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Any

from doseladder.core.clinical.result import Assessment, Contribution
from doseladder.core.clinical.units import (
    Dimension,
    NumberLike,
    Quantity,
    require_quantity,
    temperature,
    to_fraction,
)
from doseladder.core.errors import InputError

__all__ = [
    "CerebralEdema",
    "Consciousness",
    "MotorFinding",
    "OxygenSupport",
    "Seizure",
    "capd_total",
    "crs_grade",
    "icans_grade",
    "icans_grade_adult",
    "icans_grade_child",
    "ice_score",
]

# --------------------------------------------------------------------------- domain machinery


@dataclass(frozen=True, slots=True)
class _Domain:
    name: str
    lo: int
    hi: int
    detail: str
    missing: tuple[str, ...] = ()


def _combine(
    instrument: str,
    domains: Sequence[_Domain],
    inputs: dict[str, Any],
    extra_reasons: Sequence[str] = (),
    needs_review: bool = False,
) -> Assessment[int]:
    lo = max(d.lo for d in domains)
    hi = max(d.hi for d in domains)
    contributions = tuple(
        Contribution(d.name, d.lo if d.lo == d.hi else None, d.detail) for d in domains
    )
    reasons = [*extra_reasons]
    if lo == hi:
        drivers = [d for d in domains if d.lo == lo and d.hi == lo]
        if lo == 0:
            reasons.append("No domain is abnormal → grade 0.")
        else:
            names = ", ".join(f"{d.name} ({d.detail})" for d in drivers)
            reasons.append(f"Grade {lo}, driven by {names}.")
        return Assessment(
            instrument=instrument,
            value=lo,
            inputs=inputs,
            contributions=contributions,
            reasons=tuple(reasons),
            needs_review=needs_review,
        )
    missing = tuple(m for d in domains if d.lo != d.hi for m in d.missing)
    reasons.append(
        f"Not evaluable: the known domains give grade {lo} but unknown inputs "
        f"({', '.join(missing)}) could make it up to grade {hi}."
    )
    return Assessment(
        instrument=instrument,
        value=None,
        evaluable=False,
        inputs=inputs,
        contributions=contributions,
        reasons=tuple(reasons),
        missing=missing,
        needs_review=needs_review,
    )


def _enum(cls: type[StrEnum], value: object, name: str) -> Any:
    if value is None:
        return None
    if isinstance(value, cls):
        return value
    try:
        return cls(str(value))
    except ValueError:
        valid = ", ".join(m.value for m in cls)
        raise InputError(name, f"{value!r} is not one of: {valid}") from None


def _flag(value: object, name: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise InputError(name, f"must be True, False or None, got {value!r}")


# --------------------------------------------------------------------------- CRS


class OxygenSupport(StrEnum):
    """Oxygen support given for hypoxia (ASTCT CRS hypoxia column, spec §2.1)."""

    NONE = "none"  # room air
    BLOW_BY = "blow_by"  # grade 2
    NASAL_CANNULA = "nasal_cannula"  # grade by flow: ≤ 6 L/min → 2, > 6 L/min → 3
    LOW_FLOW_NASAL_CANNULA = "low_flow_nasal_cannula"  # ≤ 6 L/min → 2
    HIGH_FLOW_NASAL_CANNULA = "high_flow_nasal_cannula"  # > 6 L/min → 3
    FACEMASK = "facemask"  # 3
    NON_REBREATHER = "non_rebreather"  # 3
    VENTURI_MASK = "venturi_mask"  # 3
    CPAP = "cpap"  # positive pressure → 4
    BIPAP = "bipap"  # 4
    MECHANICAL_VENTILATION = "mechanical_ventilation"  # intubation → 4


# grade of each support; "none" is 0 here (the grade-1 column) so that it never "drives" a grade
_O2_FIXED = {
    OxygenSupport.NONE: 0,
    OxygenSupport.BLOW_BY: 2,
    OxygenSupport.FACEMASK: 3,
    OxygenSupport.NON_REBREATHER: 3,
    OxygenSupport.VENTURI_MASK: 3,
    OxygenSupport.CPAP: 4,
    OxygenSupport.BIPAP: 4,
    OxygenSupport.MECHANICAL_VENTILATION: 4,
}
_NASAL = {
    OxygenSupport.NASAL_CANNULA,
    OxygenSupport.LOW_FLOW_NASAL_CANNULA,
    OxygenSupport.HIGH_FLOW_NASAL_CANNULA,
}
_LOW_FLOW_MAX_L_MIN = Fraction(6)  # ASTCT: low flow ≤ 6 L/min, high flow > 6 L/min [§2.1]
_FEVER = temperature(38, "°C")  # ASTCT: fever = temperature ≥ 38.0 °C [§2.1]
_VASOPRESSIN_NAMES = frozenset({"vasopressin", "arginine vasopressin", "avp", "pitressin"})


def _hypotension_domain(hypotension: bool | None, vasopressors: Sequence[str]) -> _Domain:
    agents = sorted({v.strip().lower() for v in vasopressors if v.strip()})
    others = [a for a in agents if a not in _VASOPRESSIN_NAMES]
    has_vasopressin = any(a in _VASOPRESSIN_NAMES for a in agents)
    if agents:
        if hypotension is False:
            raise InputError("vasopressors", "vasopressors given but hypotension is False")
        if len(others) >= 2:
            return _Domain(
                "hypotension",
                4,
                4,
                f"multiple vasopressors ({', '.join(others)}; vasopressin not counted)",
            )
        label = ", ".join(agents)
        note = " (vasopressin is not a second vasopressor)" if others and has_vasopressin else ""
        return _Domain("hypotension", 3, 3, f"a single vasopressor ({label}){note}")
    if hypotension is None:
        return _Domain("hypotension", 0, 2, "hypotension unknown", ("hypotension",))
    if hypotension:
        return _Domain("hypotension", 2, 2, "hypotension not requiring vasopressors")
    return _Domain("hypotension", 0, 0, "no hypotension")


def _oxygen_domain(oxygen: OxygenSupport | None, flow: Fraction | None) -> tuple[_Domain, bool]:
    """The hypoxia domain, and whether the device label disagrees with the flow."""
    if oxygen is None:
        return _Domain("hypoxia", 0, 4, "oxygen support unknown", ("oxygen",)), False
    if oxygen in _O2_FIXED:
        g = _O2_FIXED[oxygen]
        detail = "room air, no oxygen" if g == 0 else oxygen.value.replace("_", " ")
        return _Domain("hypoxia", g, g, detail), False
    if flow is not None:
        g = 2 if flow <= _LOW_FLOW_MAX_L_MIN else 3
        kind = "low-flow (≤ 6 L/min)" if g == 2 else "high-flow (> 6 L/min)"
        conflict = (oxygen is OxygenSupport.LOW_FLOW_NASAL_CANNULA and g == 3) or (
            oxygen is OxygenSupport.HIGH_FLOW_NASAL_CANNULA and g == 2
        )
        return _Domain(
            "hypoxia", g, g, f"nasal cannula at {float(flow):g} L/min = {kind}"
        ), conflict
    if oxygen is OxygenSupport.LOW_FLOW_NASAL_CANNULA:
        return _Domain("hypoxia", 2, 2, "low-flow nasal cannula (≤ 6 L/min)"), False
    if oxygen is OxygenSupport.HIGH_FLOW_NASAL_CANNULA:
        return _Domain("hypoxia", 3, 3, "high-flow nasal cannula (> 6 L/min)"), False
    return _Domain("hypoxia", 2, 3, "nasal cannula, flow unknown", ("o2_flow_l_per_min",)), False


def crs_grade(
    *,
    temperature_max: Quantity | None,
    fever_other_cause: bool | None = None,
    fever_masked_by_treatment: bool = False,
    hypotension: bool | None = None,
    vasopressors: Sequence[str] = (),
    oxygen: OxygenSupport | str | None = None,
    o2_flow_l_per_min: NumberLike | None = None,
    death_due_to_crs: bool = False,
) -> Assessment[int]:
    """ASTCT 2019 CRS grade (0–5) [spec §2.1; PMC8021214 table and footnotes (S)].

    =====  ==========  ===============================  =================================
    Grade  Fever        Hypotension                       Hypoxia (O₂ support)
    =====  ==========  ===============================  =================================
    1      T ≥ 38 °C   none                              none
    2      T ≥ 38 °C   not requiring vasopressors        low-flow NC ≤ 6 L/min or blow-by
    3      T ≥ 38 °C   a vasopressor ± vasopressin       HFNC > 6 L/min, facemask, NRB, Venturi
    4      T ≥ 38 °C   multiple vasopressors (excl.      positive pressure (CPAP, BiPAP,
                       vasopressin)                      intubation/mechanical ventilation)
    =====  ==========  ===============================  =================================

    Rules: fever must not be attributable to another cause; once antipyretic or anti-cytokine
    therapy (tocilizumab, steroids) has been given for CRS, fever is no longer required and the
    grade is driven by hypotension and hypoxia (``fever_masked_by_treatment=True``); the grade
    is the more severe of hypotension and hypoxia ("a febrile patient on a single vasopressor
    and low-flow nasal cannula is grade 3"); vasopressin never counts as a second vasopressor;
    grade 5 = death due to CRS.  Hypotension is graded from treatment (vasopressors), not from a
    blood-pressure number.  Organ toxicities graded by CTCAE do not change the CRS grade (per
    the paper; spec §2.1 asks to confirm).

    Without fever (and no masking therapy) there is no CRS by definition → grade 0, whatever
    the blood pressure or oxygen.  Fever masked and neither hypotension nor hypoxia → grade 1,
    flagged ``needs_review`` (the consensus does not say whether CRS is then ongoing grade 1 or
    resolved).

    Args:
        temperature_max: highest temperature in the grading period (°C/°F quantity).
        fever_other_cause: ``True`` if the fever is attributable to another cause (e.g.
            documented infection); required when febrile.
        fever_masked_by_treatment: antipyretic/anti-cytokine therapy already given for CRS.
        hypotension: hypotension present (``None`` unknown); implied by any vasopressor.
        vasopressors: names of distinct vasopressor agents running for CRS hypotension.
        oxygen: the support given for hypoxia (:class:`OxygenSupport`).
        o2_flow_l_per_min: flow for nasal cannula (decides low vs high flow).
        death_due_to_crs: grade 5.
    """
    instrument = "ASTCT 2019 CRS"
    temp = require_quantity(temperature_max, "temperature_max", Dimension.TEMPERATURE)
    other = _flag(fever_other_cause, "fever_other_cause")
    masked = _flag(fever_masked_by_treatment, "fever_masked_by_treatment")
    hyp = _flag(hypotension, "hypotension")
    if isinstance(vasopressors, str):
        raise InputError("vasopressors", "must be a sequence of agent names, not one string")
    o2: OxygenSupport | None = _enum(OxygenSupport, oxygen, "oxygen")
    flow = None if o2_flow_l_per_min is None else to_fraction(o2_flow_l_per_min, "o2_flow")
    if flow is not None:
        if not 0 <= flow <= 80:
            raise InputError("o2_flow_l_per_min", f"must be 0–80 L/min, got {float(flow):g}")
        if o2 is not None and o2 not in _NASAL:
            raise InputError("o2_flow_l_per_min", "flow is only used for nasal cannula")
    inputs: dict[str, Any] = {
        "temperature_max": None if temp is None else str(temp),
        "fever_other_cause": other,
        "fever_masked_by_treatment": masked,
        "hypotension": hyp,
        "vasopressors": list(vasopressors),
        "oxygen": None if o2 is None else o2.value,
        "o2_flow_l_per_min": None if flow is None else float(flow),
        "death_due_to_crs": death_due_to_crs,
    }
    if death_due_to_crs:
        return Assessment(
            instrument=instrument,
            value=5,
            inputs=inputs,
            contributions=(Contribution("death", 5, "death due to CRS"),),
            reasons=("Death due to CRS → grade 5.",),
        )
    h = _hypotension_domain(hyp, vasopressors)
    o, conflict = _oxygen_domain(o2, flow)
    reasons: list[str] = []
    review = False
    if conflict:
        review = True
        reasons.append(
            f"Device recorded as {o2.value if o2 else ''} but the flow decides by the ASTCT "
            "definition (low flow ≤ 6, high flow > 6 L/min); confirm."
        )
    # fever domain: does the patient meet the CRS fever requirement?
    if masked:
        fever = _Domain("fever", 1, 1, "fever not required: antipyretic/anti-cytokine given")
        reasons.append(
            "Antipyretic or anti-cytokine therapy already given: fever no longer required; "
            "grade driven by hypotension and hypoxia (ASTCT)."
        )
    elif temp is None:
        fever = _Domain("fever", 0, 1, "temperature unknown", ("temperature_max",))
    elif temp < _FEVER:
        reasons.append(
            f"Temperature {temp} < 38.0 °C and fever not masked by treatment: no CRS by the "
            "ASTCT definition (hypotension/hypoxia alone are not CRS) → grade 0."
        )
        return Assessment(
            instrument=instrument,
            value=0,
            inputs=inputs,
            contributions=(Contribution("fever", 0, f"afebrile ({temp})"), _c(h), _c(o)),
            reasons=tuple(reasons),
            needs_review=review,
        )
    elif other is True:
        reasons.append(
            f"Temperature {temp} ≥ 38.0 °C but attributable to another cause: the CRS fever "
            "criterion is not met → grade 0."
        )
        return Assessment(
            instrument=instrument,
            value=0,
            inputs=inputs,
            contributions=(Contribution("fever", 0, "fever of another cause"), _c(h), _c(o)),
            reasons=tuple(reasons),
            needs_review=review,
        )
    elif other is None:
        fever = _Domain(
            "fever", 0, 1, f"{temp} ≥ 38.0 °C, attribution unknown", ("fever_other_cause",)
        )
    else:
        fever = _Domain("fever", 1, 1, f"fever {temp} ≥ 38.0 °C, no other cause")

    if fever.lo == 0:  # fever status unknown: grade 0 or max(h, o)
        domains = [fever, h, o]
        lo, hi = 0, max(1, h.hi, o.hi)
        missing = tuple(m for d in domains if d.lo != d.hi for m in d.missing)
        reasons.append(
            f"Not evaluable: whether the CRS fever criterion is met is unknown; the grade is "
            f"between {lo} and {hi}."
        )
        return Assessment(
            instrument=instrument,
            value=None,
            evaluable=False,
            inputs=inputs,
            contributions=tuple(_c(d) for d in domains),
            reasons=tuple(reasons),
            missing=missing,
            needs_review=review,
        )
    if masked and h.hi == 0 and o.hi == 0:
        review = True
        reasons.append(
            "Fever masked and no hypotension or hypoxia: grade 1 if CRS is still ongoing; "
            "confirm (the consensus does not address this case)."
        )
    return _combine(instrument, [fever, h, o], inputs, reasons, review)


def _c(d: _Domain) -> Contribution:
    return Contribution(d.name, d.lo if d.lo == d.hi else None, d.detail)


# --------------------------------------------------------------------------- ICE / CAPD


def ice_score(
    *,
    orientation_year: bool | None,
    orientation_month: bool | None,
    orientation_city: bool | None,
    orientation_hospital: bool | None,
    objects_named: int | None,
    follows_commands: bool | None,
    writes_sentence: bool | None,
    counts_backwards_by_10: bool | None,
) -> Assessment[int]:
    """Immune effector Cell-associated Encephalopathy (ICE) score, 0–10 (10 = no impairment).

    Orientation to year, month, city, hospital (1 point each); naming 3 objects (1 each, so
    ``objects_named`` 0–3); following simple commands (1); writing a standard sentence (1);
    counting backwards from 100 by 10 (1) [spec §2.2; PMC8153820 table T2 (S)].  Any item
    unanswered → not evaluable (a patient who cannot perform the ICE is graded through the
    consciousness domain of ICANS instead).
    """
    instrument = "ICE score"
    items: dict[str, bool | None] = {
        "orientation_year": _flag(orientation_year, "orientation_year"),
        "orientation_month": _flag(orientation_month, "orientation_month"),
        "orientation_city": _flag(orientation_city, "orientation_city"),
        "orientation_hospital": _flag(orientation_hospital, "orientation_hospital"),
        "follows_commands": _flag(follows_commands, "follows_commands"),
        "writes_sentence": _flag(writes_sentence, "writes_sentence"),
        "counts_backwards_by_10": _flag(counts_backwards_by_10, "counts_backwards_by_10"),
    }
    if objects_named is not None and (
        isinstance(objects_named, bool)
        or not isinstance(objects_named, int)
        or not 0 <= objects_named <= 3
    ):
        raise InputError("objects_named", f"must be an integer 0–3, got {objects_named!r}")
    inputs: dict[str, Any] = {**items, "objects_named": objects_named}
    missing = tuple(k for k, v in inputs.items() if v is None)
    if missing:
        return Assessment(
            instrument=instrument,
            value=None,
            evaluable=False,
            inputs=inputs,
            reasons=(f"Not evaluable: missing {', '.join(missing)}.",),
            missing=missing,
        )
    assert objects_named is not None
    contributions = [
        Contribution(
            "orientation",
            sum(bool(items[k]) for k in list(items)[:4]),
            "year, month, city, hospital (1 each)",
        ),
        Contribution("naming", objects_named, "3 objects (1 each)"),
        Contribution("following_commands", int(bool(items["follows_commands"])), ""),
        Contribution("writing", int(bool(items["writes_sentence"])), "a standard sentence"),
        Contribution(
            "attention",
            int(bool(items["counts_backwards_by_10"])),
            "count backwards from 100 by 10",
        ),
    ]
    total = sum(int(c.points or 0) for c in contributions)
    detail = " + ".join(f"{c.item} {c.points}" for c in contributions)
    return Assessment(
        instrument=instrument,
        value=total,
        inputs=inputs,
        contributions=tuple(contributions),
        reasons=(f"ICE = {detail} = {total}/10.",),
    )


def capd_total(item_points: Sequence[int] | None) -> Assessment[int]:
    """Cornell Assessment of Pediatric Delirium total, 0–32, from the 8 item points (0–4 each).

    [spec §2.4; Traube 2014, Crit Care Med 42:656 (P-abstract): 8 items, ≥ 9 = positive.]
    The response → points mapping (items 1–4 reverse-scored) is only inferred from weak
    sources (spec §2.4, §7 item 5), so this function takes the *points* as scored on the form
    and does not map responses itself.
    """
    instrument = "CAPD"
    if item_points is None:
        return Assessment(
            instrument=instrument,
            value=None,
            evaluable=False,
            reasons=("Not evaluable: missing item_points.",),
            missing=("item_points",),
        )
    pts = list(item_points)
    if len(pts) != 8:
        raise InputError("item_points", f"must have 8 items, got {len(pts)}")
    for i, p in enumerate(pts):
        if isinstance(p, bool) or not isinstance(p, int) or not 0 <= p <= 4:
            raise InputError(f"item_points[{i}]", f"must be an integer 0–4, got {p!r}")
    total = sum(pts)
    return Assessment(
        instrument=instrument,
        value=total,
        inputs={"item_points": pts},
        contributions=tuple(Contribution(f"item_{i + 1}", p) for i, p in enumerate(pts)),
        reasons=(f"CAPD = {' + '.join(map(str, pts))} = {total}/32 (≥ 9 = positive).",),
    )


# --------------------------------------------------------------------------- ICANS


class Consciousness(StrEnum):
    """Depressed level of consciousness (ICANS domain, spec §2.3)."""

    ALERT = "alert"  # fully alert: grade 0
    AWAKENS_SPONTANEOUSLY = "awakens_spontaneously"  # drowsy but rouses spontaneously: 1
    AWAKENS_TO_VOICE = "awakens_to_voice"  # 2
    AWAKENS_TO_TACTILE = "awakens_to_tactile"  # awakens only to tactile stimulus: 3
    UNAROUSABLE = "unarousable"  # or vigorous/repetitive tactile stimuli; stupor, coma: 4


class Seizure(StrEnum):
    """Seizure domain (spec §2.3)."""

    NONE = "none"
    # any clinical seizure (focal or generalised) that resolves rapidly, or non-convulsive
    # seizures on EEG that resolve with intervention: grade 3
    RAPIDLY_RESOLVING = "rapidly_resolving"
    # life-threatening prolonged seizure (> 5 min), or repetitive clinical/electrical seizures
    # without return to baseline in between: grade 4
    PROLONGED_OR_REPETITIVE = "prolonged_or_repetitive"


class MotorFinding(StrEnum):
    """Motor findings domain (spec §2.3).  Tremor/myoclonus are CTCAE, not ICANS."""

    NONE = "none"
    DEEP_FOCAL_WEAKNESS = "deep_focal_weakness"  # hemiparesis, paraparesis: grade 4


class CerebralEdema(StrEnum):
    """Raised intracranial pressure / cerebral oedema domain (spec §2.3)."""

    NONE = "none"
    FOCAL = "focal"  # focal/local oedema on neuroimaging: grade 3
    # diffuse oedema on imaging; decerebrate/decorticate posturing; CN VI palsy; papilloedema;
    # Cushing's triad: grade 4
    DIFFUSE_OR_SIGNS = "diffuse_or_signs"


_LOC_GRADE = {
    Consciousness.ALERT: 0,
    Consciousness.AWAKENS_SPONTANEOUSLY: 1,
    Consciousness.AWAKENS_TO_VOICE: 2,
    Consciousness.AWAKENS_TO_TACTILE: 3,
    Consciousness.UNAROUSABLE: 4,
}
_SEIZURE_GRADE = {Seizure.NONE: 0, Seizure.RAPIDLY_RESOLVING: 3, Seizure.PROLONGED_OR_REPETITIVE: 4}
_MOTOR_GRADE = {MotorFinding.NONE: 0, MotorFinding.DEEP_FOCAL_WEAKNESS: 4}
_EDEMA_GRADE = {CerebralEdema.NONE: 0, CerebralEdema.FOCAL: 3, CerebralEdema.DIFFUSE_OR_SIGNS: 4}


def _score_value(x: int | Assessment[int] | None, name: str, hi: int) -> int | None:
    if isinstance(x, Assessment):
        x = x.value if x.evaluable else None
    if x is None:
        return None
    if isinstance(x, bool) or not isinstance(x, int) or not 0 <= x <= hi:
        raise InputError(name, f"must be an integer 0–{hi}, got {x!r}")
    return x


def _common_domains(
    consciousness: Consciousness | None,
    seizure: Seizure | None,
    motor: MotorFinding | None,
    edema: CerebralEdema | None,
) -> list[_Domain]:
    out = []
    if consciousness is None:
        out.append(_Domain("consciousness", 0, 4, "unknown", ("consciousness",)))
    else:
        g = _LOC_GRADE[consciousness]
        out.append(_Domain("consciousness", g, g, consciousness.value.replace("_", " ")))
    for name, val, table in (
        ("seizure", seizure, _SEIZURE_GRADE),
        ("motor", motor, _MOTOR_GRADE),
        ("cerebral_edema", edema, _EDEMA_GRADE),
    ):
        if val is None:
            out.append(_Domain(name, 0, 4, "unknown", (name,)))
        else:
            g = table[val]  # type: ignore[index]
            out.append(_Domain(name, g, g, val.value.replace("_", " ")))
    return out


def icans_grade_adult(
    *,
    ice: int | Assessment[int] | None,
    consciousness: Consciousness | str | None,
    seizure: Seizure | str | None = Seizure.NONE,
    motor: MotorFinding | str | None = MotorFinding.NONE,
    cerebral_edema: CerebralEdema | str | None = CerebralEdema.NONE,
    death_due_to_icans: bool = False,
) -> Assessment[int]:
    """ASTCT 2019 ICANS grade (0–5) for adults and children ≥ 12 y [spec §2.3].

    ICE 10 → 0; 7–9 → 1; 3–6 → 2; 0–2 → 3 (ICE 0 and unarousable is grade 4 through the
    consciousness domain).  Consciousness: awakens spontaneously 1, to voice 2, only to touch 3,
    unarousable 4.  Seizure: rapidly resolving (or EEG seizure resolving with intervention) 3,
    prolonged > 5 min or repetitive 4.  Deep focal motor weakness 4.  Focal oedema 3; diffuse
    oedema/posturing/CN VI palsy/papilloedema/Cushing's triad 4.  Grade = most severe domain;
    death due to ICANS = 5 [PMC8403007 t0004, PMC7990806 Tab2 (S); mdedge (S)].

    Findings must not be attributable to another cause (e.g. sedation) — record only
    ICANS-attributable findings.  Record ``AWAKENS_SPONTANEOUSLY`` only for a drowsy patient
    (a fully alert patient is ``ALERT``).  ``seizure``/``motor``/``cerebral_edema`` default to
    "none" (not observed); pass ``None`` for "not assessed".  ``ice=None`` (not performed) is
    evaluable only when another domain already gives grade ≥ 3.
    """
    instrument = "ASTCT 2019 ICANS (adult / ≥12 y, ICE)"
    ice_v = _score_value(ice, "ice", 10)
    loc = _enum(Consciousness, consciousness, "consciousness")
    sz = _enum(Seizure, seizure, "seizure")
    mt = _enum(MotorFinding, motor, "motor")
    ed = _enum(CerebralEdema, cerebral_edema, "cerebral_edema")
    inputs = _icans_inputs(loc, sz, mt, ed, death_due_to_icans)
    inputs["ice"] = ice_v
    if death_due_to_icans:
        return _death(instrument, inputs)
    if ice_v is None:
        ice_d = _Domain("ice", 0, 3, "ICE not available", ("ice",))
    else:
        g = 0 if ice_v == 10 else 1 if ice_v >= 7 else 2 if ice_v >= 3 else 3
        band = {0: "10", 1: "7–9", 2: "3–6", 3: "0–2"}[g]
        ice_d = _Domain("ice", g, g, f"ICE {ice_v} (band {band})")
    return _combine(instrument, [ice_d, *_common_domains(loc, sz, mt, ed)], inputs)


def icans_grade_child(
    *,
    capd: int | Assessment[int] | None,
    consciousness: Consciousness | str | None,
    capd_unable: bool = False,
    seizure: Seizure | str | None = Seizure.NONE,
    motor: MotorFinding | str | None = MotorFinding.NONE,
    cerebral_edema: CerebralEdema | str | None = CerebralEdema.NONE,
    death_due_to_icans: bool = False,
) -> Assessment[int]:
    """ASTCT ICANS grade (0–5) for children < 12 y (or with developmental delay), using CAPD.

    [spec §2.4; mdedge "group proposes new" (S); NCIt C188936 (S).]  CAPD domain: 0 → 0 (no
    ICANS under either reading of the primary table, spec §2.4), 1–8 → 1 (grades 1 and 2 are
    told apart by consciousness: awakens spontaneously → 1, to voice → 2), ≥ 9 → 3, unable to
    perform CAPD → 4 (``capd_unable``; e.g. RASS ≤ −4).  Other domains as for adults.  The
    primary paper's CAPD column ("1–8" vs "< 9") was not read (spec §7 item 5): the two
    readings differ only at CAPD 0, graded 0 here as the spec directs.
    """
    instrument = "ASTCT 2019 ICANS (child <12 y, CAPD)"
    capd_v = _score_value(capd, "capd", 32)
    loc = _enum(Consciousness, consciousness, "consciousness")
    sz = _enum(Seizure, seizure, "seizure")
    mt = _enum(MotorFinding, motor, "motor")
    ed = _enum(CerebralEdema, cerebral_edema, "cerebral_edema")
    inputs = _icans_inputs(loc, sz, mt, ed, death_due_to_icans)
    inputs["capd"] = capd_v
    inputs["capd_unable"] = capd_unable
    if capd_unable and capd_v is not None:
        raise InputError("capd_unable", "a CAPD score was given but capd_unable is True")
    if death_due_to_icans:
        return _death(instrument, inputs)
    if capd_unable:
        capd_d = _Domain("capd", 4, 4, "unable to perform CAPD")
    elif capd_v is None:
        capd_d = _Domain("capd", 0, 3, "CAPD not available", ("capd",))
    else:
        g = 0 if capd_v == 0 else 1 if capd_v < 9 else 3
        band = {0: "0", 1: "1–8", 3: "≥ 9"}[g]
        capd_d = _Domain("capd", g, g, f"CAPD {capd_v} ({band})")
    return _combine(instrument, [capd_d, *_common_domains(loc, sz, mt, ed)], inputs)


def icans_grade(
    *,
    age_years: NumberLike | None,
    consciousness: Consciousness | str | None,
    ice: int | Assessment[int] | None = None,
    capd: int | Assessment[int] | None = None,
    capd_unable: bool = False,
    developmental_delay: bool = False,
    seizure: Seizure | str | None = Seizure.NONE,
    motor: MotorFinding | str | None = MotorFinding.NONE,
    cerebral_edema: CerebralEdema | str | None = CerebralEdema.NONE,
    death_due_to_icans: bool = False,
    capd_below_age: NumberLike = 12,
) -> Assessment[int]:
    """ICANS grade choosing the encephalopathy instrument by age [spec §2.4].

    ``use_capd = age_years < capd_below_age or developmental_delay`` (ASTCT: ICE is not
    suitable below 12 y).  Age in [12, 13) uses the ICE but is flagged ``needs_review``: ASTCT
    says "younger than 12" while NCIt says CAPD for "children 12 and under" (spec §2.4, §7-5).

    Raises:
        InputError: the score for the other instrument was given (e.g. an ICE for an 8-year-old).
    """
    limit = to_fraction(capd_below_age, "capd_below_age")
    if age_years is None:
        return Assessment(
            instrument="ASTCT 2019 ICANS",
            value=None,
            evaluable=False,
            inputs={"age_years": None},
            reasons=("Not evaluable: missing age_years (it selects ICE or CAPD).",),
            missing=("age_years",),
        )
    age = to_fraction(age_years, "age_years")
    if not 0 <= age <= 120:
        raise InputError("age_years", f"must be 0–120, got {float(age):g}")
    use_capd = age < limit or developmental_delay
    if use_capd:
        if ice is not None:
            raise InputError(
                "ice", f"age {float(age):g} y (or developmental delay): use CAPD, not ICE"
            )
        a = icans_grade_child(
            capd=capd,
            consciousness=consciousness,
            capd_unable=capd_unable,
            seizure=seizure,
            motor=motor,
            cerebral_edema=cerebral_edema,
            death_due_to_icans=death_due_to_icans,
        )
        why = (
            f"Age {float(age):g} y < {float(limit):g}" if age < limit else "Developmental delay"
        ) + ": CAPD (ASTCT paediatric grading)."
        review = False
    else:
        if capd is not None or capd_unable:
            raise InputError("capd", f"age {float(age):g} y ≥ {float(limit):g}: use ICE, not CAPD")
        a = icans_grade_adult(
            ice=ice,
            consciousness=consciousness,
            seizure=seizure,
            motor=motor,
            cerebral_edema=cerebral_edema,
            death_due_to_icans=death_due_to_icans,
        )
        why = f"Age {float(age):g} y ≥ {float(limit):g}: ICE (ASTCT adult grading)."
        review = age < limit + 1
        if review:
            why += (
                " Age exactly 12: ASTCT uses ICE from 12 y but NCIt uses CAPD for 12 and under "
                "— confirm the instrument (spec §2.4)."
            )
    inputs = dict(a.inputs)
    inputs.update(age_years=float(age), developmental_delay=developmental_delay)
    return Assessment(
        instrument=a.instrument,
        value=a.value,
        evaluable=a.evaluable,
        inputs=inputs,
        contributions=a.contributions,
        reasons=(why, *a.reasons),
        missing=a.missing,
        needs_review=a.needs_review or review,
    )


def _icans_inputs(
    loc: Consciousness | None,
    sz: Seizure | None,
    mt: MotorFinding | None,
    ed: CerebralEdema | None,
    death: bool,
) -> dict[str, Any]:
    return {
        "consciousness": None if loc is None else loc.value,
        "seizure": None if sz is None else sz.value,
        "motor": None if mt is None else mt.value,
        "cerebral_edema": None if ed is None else ed.value,
        "death_due_to_icans": death,
    }


def _death(instrument: str, inputs: dict[str, Any]) -> Assessment[int]:
    return Assessment(
        instrument=instrument,
        value=5,
        inputs=inputs,
        contributions=(Contribution("death", 5, "death due to ICANS"),),
        reasons=("Death due to ICANS with no other principal factor → grade 5.",),
    )
