"""Lupus Low Disease Activity State (LLDAS; Franklyn 2016).

Definition — all five required [Franklyn, Ann Rheum Dis 2016;75:1615, ard.bmj.com table 226088]
[P]; spec ``clinical.md`` §1.7:

1. SLEDAI-2K ≤ 4, with no activity in major organ systems (renal, CNS, cardiopulmonary,
   vasculitis, fever) and no haemolytic anaemia or gastrointestinal activity;
2. no new features of lupus disease activity compared with the previous assessment;
3. SELENA-SLEDAI PGA (0–3) ≤ 1;
4. current prednisolone (or equivalent) ≤ 7.5 mg daily;
5. well-tolerated standard maintenance doses of immunosuppressive drugs and approved
   biologics, excluding investigational drugs.

Serological activity is allowed as long as the total SLEDAI-2K is ≤ 4 [PMC7719036 table
keaa420-T1] [S].

Operationalisation (ours, documented): "major organ activity" is read from the SLEDAI-2K
descriptors of those systems — renal = urinary casts, haematuria, proteinuria, pyuria;
CNS = seizure, psychosis, organic brain syndrome, visual disturbance, cranial nerve disorder,
lupus headache, CVA; cardiopulmonary = pleurisy, pericarditis; vasculitis; fever — when a
SLEDAI-2K :class:`~doseladder.core.clinical.result.Assessment` is given, and may also be given
explicitly (e.g. from BILAG).  Whether the investigational cell therapy itself breaks
criterion 5 is a flag (spec §1.7), default ``False``: LLDAS is assessed after the one-off
infusion.  Missing data use three-valued logic (spec §5.6): not met as soon as one criterion
fails, met only when all are known to be met, otherwise not evaluable.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from doseladder.core.clinical.pga import Number, exact_decimal, validate_pga
from doseladder.core.clinical.result import Assessment, Contribution
from doseladder.core.clinical.sledai import Descriptor, SledaiVariant, sledai_variant_of
from doseladder.core.errors import InputError

__all__ = [
    "LLDAS_MAX_PGA",
    "LLDAS_MAX_PREDNISONE_EQ_MG",
    "LLDAS_MAX_SLEDAI_2K",
    "MAJOR_ORGAN_DESCRIPTORS",
    "lldas",
    "prednisone_eq",
]

LLDAS_MAX_SLEDAI_2K = 4
"""SLEDAI-2K ≤ 4 [Franklyn 2016] [P]."""
LLDAS_MAX_PGA = Decimal(1)
"""PGA ≤ 1 (0–3 scale) [Franklyn 2016] [P]."""
LLDAS_MAX_PREDNISONE_EQ_MG = Decimal("7.5")
"""Prednisolone-equivalent ≤ 7.5 mg/day [Franklyn 2016] [P]."""

MAJOR_ORGAN_DESCRIPTORS: dict[str, frozenset[Descriptor]] = {
    "renal": frozenset(
        {Descriptor.CASTS, Descriptor.HAEMATURIA, Descriptor.PROTEINURIA, Descriptor.PYURIA}
    ),
    "CNS": frozenset(
        {
            Descriptor.SEIZURE,
            Descriptor.PSYCHOSIS,
            Descriptor.OBS,
            Descriptor.VISUAL,
            Descriptor.CRANIAL_NERVE,
            Descriptor.LUPUS_HEADACHE,
            Descriptor.CVA,
        }
    ),
    "cardiopulmonary": frozenset({Descriptor.PLEURISY, Descriptor.PERICARDITIS}),
    "vasculitis": frozenset({Descriptor.VASCULITIS}),
    "fever": frozenset({Descriptor.FEVER}),
}
"""Major organ systems of LLDAS criterion 1 mapped to SLEDAI-2K descriptors (ours)."""

_MAJOR_KEYS: dict[str, str] = {
    d.value: system for system, ds in MAJOR_ORGAN_DESCRIPTORS.items() for d in ds
}


def _tri(value: object, field: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise InputError(field, f"must be True, False or None, got {value!r}")


def prednisone_eq(value: Number | None, field: str = "prednisone_eq_mg_per_day") -> Decimal | None:
    """Validate a prednisone-equivalent dose in mg/day (≥ 0); ``None`` stays ``None``."""
    if value is None:
        return None
    d = exact_decimal(value, field)
    if d < 0:
        raise InputError(field, f"must be ≥ 0 mg/day, got {value!r}")
    if d > Decimal(10000):
        raise InputError(field, f"{value!r} mg/day is implausible; check the unit (mg/day)")
    return d


def lldas(
    *,
    sledai_2k: int | Assessment[int] | None,
    pga: Number | None,
    prednisone_eq_mg_per_day: Number | None,
    new_activity_since_previous: bool | None,
    haemolytic_anaemia: bool | None,
    gastrointestinal_activity: bool | None,
    maintenance_therapy_standard_and_tolerated: bool | None,
    investigational_drug: bool | None,
    major_organ_activity: bool | None = None,
    investigational_cell_therapy: bool | None = None,
    cell_therapy_counts_as_investigational: bool = False,
) -> Assessment[bool]:
    """LLDAS at one visit (Franklyn 2016), with the criteria that decided it.

    Args:
        sledai_2k: SLEDAI-2K total (0–105) or a SLEDAI-2K assessment (its scoring descriptors
            then decide major-organ activity).
        pga: PGA 0–3.
        prednisone_eq_mg_per_day: current prednisone-equivalent dose, mg/day.
        new_activity_since_previous: new lupus activity features versus the previous visit.
        haemolytic_anaemia, gastrointestinal_activity: present now.
        maintenance_therapy_standard_and_tolerated: immunosuppressants/approved biologics (if
            any) at well-tolerated standard maintenance doses.
        investigational_drug: on an investigational drug other than the trial cell therapy.
        major_organ_activity: activity in renal, CNS, cardiopulmonary, vasculitis or fever;
            derived from a SLEDAI-2K assessment (or a total of 0) when not given.
        investigational_cell_therapy: the patient received the investigational cell therapy.
        cell_therapy_counts_as_investigational: if ``True`` that cell therapy breaks
            criterion 5 (default ``False``; spec §1.7 leaves it to the trial).

    Raises:
        InputError: naming the field for invalid values, or a SELENA/clinical SLEDAI score.
    """
    major_explicit = _tri(major_organ_activity, "major_organ_activity")
    flags = {
        "new_activity_since_previous": _tri(
            new_activity_since_previous, "new_activity_since_previous"
        ),
        "haemolytic_anaemia": _tri(haemolytic_anaemia, "haemolytic_anaemia"),
        "gastrointestinal_activity": _tri(gastrointestinal_activity, "gastrointestinal_activity"),
        "maintenance_therapy_standard_and_tolerated": _tri(
            maintenance_therapy_standard_and_tolerated,
            "maintenance_therapy_standard_and_tolerated",
        ),
        "investigational_drug": _tri(investigational_drug, "investigational_drug"),
        "investigational_cell_therapy": _tri(
            investigational_cell_therapy, "investigational_cell_therapy"
        ),
    }
    if not isinstance(cell_therapy_counts_as_investigational, bool):
        raise InputError("cell_therapy_counts_as_investigational", "must be True or False")
    p = None if pga is None else validate_pga(pga, "pga")
    gc = prednisone_eq(prednisone_eq_mg_per_day)

    # SLEDAI-2K total and major-organ activity derived from its descriptors.
    score: int | None
    derived_major: bool | None = None
    active_systems: list[str] = []
    sledai_missing: tuple[str, ...] = ("sledai_2k",)
    if isinstance(sledai_2k, Assessment):
        variant, clinical = sledai_variant_of(sledai_2k)
        if clinical or variant is not SledaiVariant.SLEDAI_2K:
            raise InputError(
                "sledai_2k", f"LLDAS uses the SLEDAI-2K total, got {sledai_2k.instrument}"
            )
        score = sledai_2k.value
        sledai_missing = ("sledai_2k", *sledai_2k.missing)
        if score is not None:
            active_systems = sorted(
                {_MAJOR_KEYS[c.item] for c in sledai_2k.contributions if c.item in _MAJOR_KEYS}
            )
            derived_major = bool(active_systems)
    elif sledai_2k is None:
        score = None
    else:
        if (
            isinstance(sledai_2k, bool)
            or not isinstance(sledai_2k, int)
            or not 0 <= sledai_2k <= 105
        ):
            raise InputError("sledai_2k", f"must be an integer in 0–105, got {sledai_2k!r}")
        score = sledai_2k
        if score == 0:
            derived_major = False
    if major_explicit is False and derived_major is True:
        raise InputError(
            "major_organ_activity",
            f"False contradicts the SLEDAI-2K descriptors scored in {', '.join(active_systems)}",
        )
    major: bool | None
    if major_explicit is True or derived_major is True:
        major = True
    elif major_explicit is False or derived_major is False:
        major = False
    else:
        major = None

    items: list[tuple[str, bool | None, str, tuple[str, ...]]] = []

    def add(item: str, state: bool | None, detail: str, missing: tuple[str, ...]) -> None:
        items.append((item, state, detail, missing))

    # 1a. SLEDAI-2K ≤ 4 (serology allowed within the total).
    if score is None:
        add("sledai_2k_le_4", None, "SLEDAI-2K unknown", sledai_missing)
    else:
        ok = score <= LLDAS_MAX_SLEDAI_2K
        add("sledai_2k_le_4", ok, f"SLEDAI-2K {score} {'≤' if ok else '>'} 4", ())
    # 1b. No major organ activity.
    if major is None:
        add(
            "no_major_organ_activity",
            None,
            "major organ activity unknown",
            ("major_organ_activity",),
        )
    else:
        where = f" ({', '.join(active_systems)})" if active_systems else ""
        add(
            "no_major_organ_activity",
            not major,
            f"major organ activity{where}" if major else "no major organ activity",
            (),
        )
    # 1c. No haemolytic anaemia, no GI activity; 2. no new activity.
    for key, present_text, absent_text in (
        ("haemolytic_anaemia", "haemolytic anaemia present", "no haemolytic anaemia"),
        ("gastrointestinal_activity", "gastrointestinal activity", "no gastrointestinal activity"),
        (
            "new_activity_since_previous",
            "new lupus activity since the previous assessment",
            "no new lupus activity since the previous assessment",
        ),
    ):
        v = flags[key]
        if v is None:
            add(f"no_{key}", None, f"{key.replace('_', ' ')} unknown", (key,))
        else:
            add(f"no_{key}", not v, present_text if v else absent_text, ())
    # 3. PGA ≤ 1.
    if p is None:
        add("pga_le_1", None, "PGA unknown", ("pga",))
    else:
        ok = p <= LLDAS_MAX_PGA
        add("pga_le_1", ok, f"PGA {p} {'≤' if ok else '>'} 1", ())
    # 4. Prednisone-equivalent ≤ 7.5 mg/day.
    if gc is None:
        add(
            "prednisone_eq_le_7.5",
            None,
            "prednisone-equivalent dose unknown",
            ("prednisone_eq_mg_per_day",),
        )
    else:
        ok = gc <= LLDAS_MAX_PREDNISONE_EQ_MG
        add(
            "prednisone_eq_le_7.5",
            ok,
            f"prednisone-equivalent {gc} mg/day {'≤' if ok else '>'} 7.5",
            (),
        )
    # 5. Standard, tolerated maintenance therapy; no investigational drug.
    v = flags["maintenance_therapy_standard_and_tolerated"]
    add(
        "standard_tolerated_maintenance",
        v,
        "maintenance therapy standard and well tolerated"
        if v
        else "maintenance therapy not standard or not tolerated"
        if v is False
        else "maintenance therapy tolerance unknown",
        () if v is not None else ("maintenance_therapy_standard_and_tolerated",),
    )
    v = flags["investigational_drug"]
    add(
        "no_investigational_drug",
        None if v is None else not v,
        "on an investigational drug"
        if v
        else "no investigational drug"
        if v is False
        else "investigational drug use unknown",
        () if v is not None else ("investigational_drug",),
    )
    if cell_therapy_counts_as_investigational:
        v = flags["investigational_cell_therapy"]
        add(
            "no_investigational_cell_therapy",
            None if v is None else not v,
            "received the investigational cell therapy (counted as investigational)"
            if v
            else "no investigational cell therapy"
            if v is False
            else "investigational cell therapy unknown",
            () if v is not None else ("investigational_cell_therapy",),
        )

    contributions = tuple(
        Contribution(
            item, None, f"{detail}: {'met' if s else 'not met' if s is False else 'unknown'}"
        )
        for item, s, detail, _ in items
    )
    reasons = [
        f"{detail}: {'met' if s else 'not met' if s is False else 'unknown'}."
        for _, s, detail, _m in items
    ]
    reasons.append(
        "Investigational cell therapy "
        + ("counts" if cell_therapy_counts_as_investigational else "does not count")
        + " against criterion 5 (trial flag, spec §1.7)."
    )
    value: bool | None
    missing: tuple[str, ...] = ()
    states = [s for _, s, _, _ in items]
    if any(s is False for s in states):
        value = False
        reasons.append("LLDAS not met.")
    elif all(s is True for s in states):
        value = True
        reasons.append("LLDAS met (all criteria).")
    else:
        value = None
        missing = tuple(dict.fromkeys(m for _, s, _, ms in items if s is None for m in ms))
        reasons.append("LLDAS not evaluable: missing data could change the answer.")
    inputs: dict[str, Any] = {
        "sledai_2k": score,
        "pga": pga,
        "prednisone_eq_mg_per_day": prednisone_eq_mg_per_day,
        "major_organ_activity": major_organ_activity,
        **flags,
        "cell_therapy_counts_as_investigational": cell_therapy_counts_as_investigational,
    }
    return Assessment(
        instrument="LLDAS (Franklyn 2016)",
        value=value,
        inputs=inputs,
        contributions=contributions,
        reasons=tuple(reasons),
        missing=missing,
        needs_review=isinstance(sledai_2k, Assessment) and sledai_2k.needs_review,
    )
