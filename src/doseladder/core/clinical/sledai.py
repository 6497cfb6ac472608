"""SLEDAI-2K, SELENA-SLEDAI and clinical SLEDAI (without serology).

Sources (spec ``clinical.md`` §1.1–§1.3):

* 24 descriptors with fixed weights, total 0–105: 8 × 8 + 6 × 4 + 7 × 2 + 3 × 1 = 105
  [medicalcriteria.com/web/reusledai] [S]; [lupus.bmj.com table 142981] [S]; weights of the 1-,
  2- and 4-point items also in a public ``computeSLEDAI`` comment [W].
* SLEDAI-2K = SLEDAI with the same items and weights but *persistent* activity in rash, mucous
  membranes, alopecia and proteinuria scores [Gladman 2002, J Rheumatol 29:288] [P-abstract].
* Window: present at the visit or in the preceding 10 days [medicalcriteria.com] [S]; a 30-day
  window is validated [Touma 2010, Lupus 19:49] [P-abstract].  ``window_days ∈ {10, 30}``,
  default 10, recorded with every score (spec §1.1.1).
* Descriptor thresholds: thrombocytopenia <100×10⁹/L, leukopenia <3×10⁹/L [ard.bmj.com 250723]
  [S]; proteinuria >0.5 g/24 h, haematuria/pyuria >5 cells/HPF [pediatriconcall] [S]; fever
  >38 °C [W — confirm against the Gladman 2002 form]; arthritis ≥2 joints [pediatriconcall] [S]
  vs ">2 joints" [medicalcriteria] — comparator is a parameter, default ``">="`` (spec §1.1.2).
* Clinical SLEDAI = SLEDAI-2K − 2·low complement − 2·anti-dsDNA (0–101)
  [PMC9707321 table keac185-T2 footnote] [S]; [DORIS, lupus.bmj.com table 140088] [P].
* SELENA-SLEDAI: same 24 items and weights, max 105 [lupus.bmj.com table 142981] [S].  The
  item-level wording differences are **NOT FOUND** (spec §1.2, §7-1).  Per the spec the variant
  changes only the persistence rule: rash, alopecia, mucosal ulcers and proteinuria score only
  when new/recurrent (proteinuria: new onset or recent increase >0.5 g/24 h) — the rule of the
  original SLEDAI [Gladman 2002] — TODO(confirm against SELENA form).  Persistence is recorded
  per finding (``Finding.new_or_recurrent=False``); a SELENA score that this unconfirmed rule
  lowered is returned with ``needs_review=True``.

Scoring rule (spec §1.1.2): a descriptor scores its full weight only if present, attributed to
SLE and (when a visit date is given) its evidence date lies in ``[visit − window, visit]``.
A descriptor whose status is unknown makes the total *not evaluable* — the score is never a
number computed from partial data.  :func:`sledai_at_least` and
:func:`sledai_total_and_clinical_at_least` decide thresholds from partial data only when the
unknown descriptors cannot change the answer (every weight is positive, so the score is
monotone in the descriptors).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any, Literal

from doseladder.core.clinical.pga import Number, exact_decimal
from doseladder.core.clinical.result import Assessment, Contribution
from doseladder.core.errors import InputError

__all__ = [
    "CLINICAL_DESCRIPTORS",
    "DESCRIPTORS",
    "SEROLOGICAL_DESCRIPTORS",
    "WINDOW_DAYS_ALLOWED",
    "Descriptor",
    "DescriptorDefinition",
    "Finding",
    "FindingInput",
    "Findings",
    "SledaiVariant",
    "clinical_sledai",
    "findings_from_sets",
    "parse_descriptor",
    "selena_sledai",
    "sledai",
    "sledai_2k",
    "sledai_at_least",
    "sledai_total_and_clinical_at_least",
    "sledai_variant_of",
]


class SledaiVariant(StrEnum):
    """Which SLEDAI produced a number (spec §0.1-7: record it with every score)."""

    SLEDAI_2K = "SLEDAI-2K"
    SELENA_SLEDAI = "SELENA-SLEDAI"


class Descriptor(StrEnum):
    """The 24 SLEDAI descriptors (keys as in spec §1.1)."""

    SEIZURE = "seizure"
    PSYCHOSIS = "psychosis"
    OBS = "obs"
    VISUAL = "visual"
    CRANIAL_NERVE = "cranial_nerve"
    LUPUS_HEADACHE = "lupus_headache"
    CVA = "cva"
    VASCULITIS = "vasculitis"
    ARTHRITIS = "arthritis"
    MYOSITIS = "myositis"
    CASTS = "casts"
    HAEMATURIA = "haematuria"
    PROTEINURIA = "proteinuria"
    PYURIA = "pyuria"
    RASH = "rash"
    ALOPECIA = "alopecia"
    MUCOSAL_ULCERS = "mucosal_ulcers"
    PLEURISY = "pleurisy"
    PERICARDITIS = "pericarditis"
    LOW_COMPLEMENT = "low_complement"
    DSDNA = "dsdna"
    FEVER = "fever"
    THROMBOCYTOPENIA = "thrombocytopenia"
    LEUKOPENIA = "leukopenia"


_ALIASES: Mapping[str, Descriptor] = {
    "organic_brain_syndrome": Descriptor.OBS,
    "visual_disturbance": Descriptor.VISUAL,
    "cranial_nerve_disorder": Descriptor.CRANIAL_NERVE,
    "cerebrovascular_accident": Descriptor.CVA,
    "urinary_casts": Descriptor.CASTS,
    "hematuria": Descriptor.HAEMATURIA,
    "mucosal_ulcer": Descriptor.MUCOSAL_ULCERS,
    "oral_ulcers": Descriptor.MUCOSAL_ULCERS,
    "pleuritis": Descriptor.PLEURISY,
    "anti_dsdna": Descriptor.DSDNA,
    "increased_dna_binding": Descriptor.DSDNA,
}


class _Cmp(Enum):
    LT = "<"
    GT = ">"
    GE = ">="


@dataclass(frozen=True, slots=True)
class _Measurement:
    """How a descriptor follows from a measured value (thresholds cited on the descriptor)."""

    quantity: str
    canonical_unit: str
    comparator: _Cmp
    threshold: Decimal
    units: Mapping[str, Callable[[Decimal], Decimal]]
    plausible_min: Decimal
    plausible_max: Decimal
    integer: bool = False


def _identity(x: Decimal) -> Decimal:
    return x


def _per_ul_to_10e9_per_l(x: Decimal) -> Decimal:
    return x / Decimal(1000)


def _mg_to_g(x: Decimal) -> Decimal:
    return x / Decimal(1000)


def _f_to_c(x: Decimal) -> Decimal:
    return (x - Decimal(32)) * Decimal(5) / Decimal(9)


_COUNT_UNITS: Mapping[str, Callable[[Decimal], Decimal]] = {
    # 10⁹/L = 10³/µL = 10³/mm³ = /nL (spec §4.1); cells per µL are divided by 1000.
    "10^9/l": _identity,
    "10e9/l": _identity,
    "10^3/ul": _identity,
    "10^3/mm3": _identity,
    "/nl": _identity,
    "/ul": _per_ul_to_10e9_per_l,
    "cells/ul": _per_ul_to_10e9_per_l,
    "/mm3": _per_ul_to_10e9_per_l,
    "cells/mm3": _per_ul_to_10e9_per_l,
}
_PROTEIN_UNITS: Mapping[str, Callable[[Decimal], Decimal]] = {
    "g/24h": _identity,
    "g/24hr": _identity,
    "g/d": _identity,
    "g/day": _identity,
    "mg/24h": _mg_to_g,
    "mg/24hr": _mg_to_g,
    "mg/d": _mg_to_g,
    "mg/day": _mg_to_g,
}
_RBC_HPF_UNITS: Mapping[str, Callable[[Decimal], Decimal]] = {
    "/hpf": _identity,
    "cells/hpf": _identity,
    "rbc/hpf": _identity,
}
_WBC_HPF_UNITS: Mapping[str, Callable[[Decimal], Decimal]] = {
    "/hpf": _identity,
    "cells/hpf": _identity,
    "wbc/hpf": _identity,
}
_TEMP_UNITS: Mapping[str, Callable[[Decimal], Decimal]] = {
    "cel": _identity,
    "°c": _identity,
    "c": _identity,
    "degc": _identity,
    "[degf]": _f_to_c,
    "°f": _f_to_c,
    "f": _f_to_c,
    "degf": _f_to_c,
}
_JOINT_UNITS: Mapping[str, Callable[[Decimal], Decimal]] = {
    "joints": _identity,
    "{joints}": _identity,
    "count": _identity,
    "1": _identity,
}


@dataclass(frozen=True, slots=True)
class DescriptorDefinition:
    """One SLEDAI descriptor: weight and operational definition (spec §1.1 table).

    Attributes:
        key: the descriptor.
        label: its name on the form.
        weight: points scored when present (spec §1.1; sum over 24 = 105).
        definition: abridged operational definition.
        serological: ``True`` for low complement and anti-dsDNA (excluded by clinical SLEDAI).
        persistence_sensitive: ``True`` for rash, alopecia, mucosal ulcers and proteinuria —
            the items whose *persistent* activity SLEDAI-2K scores [Gladman 2002] and the
            SELENA variant (as specified) does not.
    """

    key: Descriptor
    label: str
    weight: int
    definition: str
    serological: bool = False
    persistence_sensitive: bool = False
    measurement: _Measurement | None = None


def _d(
    key: Descriptor,
    label: str,
    weight: int,
    definition: str,
    *,
    serological: bool = False,
    persistence_sensitive: bool = False,
    measurement: _Measurement | None = None,
) -> DescriptorDefinition:
    return DescriptorDefinition(
        key, label, weight, definition, serological, persistence_sensitive, measurement
    )


DESCRIPTORS: Mapping[Descriptor, DescriptorDefinition] = {
    d.key: d
    for d in (
        # 8-point items [medicalcriteria.com/web/reusledai] [S] (verbatim there).
        _d(Descriptor.SEIZURE, "Seizure", 8, "recent onset; exclude metabolic, infectious, drug"),
        _d(Descriptor.PSYCHOSIS, "Psychosis", 8, "severe disturbance in perception of reality"),
        _d(Descriptor.OBS, "Organic brain syndrome", 8, "altered mental function, rapid onset"),
        _d(Descriptor.VISUAL, "Visual disturbance", 8, "retinal changes of SLE, optic neuritis"),
        _d(Descriptor.CRANIAL_NERVE, "Cranial nerve disorder", 8, "new cranial neuropathy"),
        _d(Descriptor.LUPUS_HEADACHE, "Lupus headache", 8, "severe persistent headache"),
        _d(Descriptor.CVA, "CVA", 8, "new cerebrovascular accident; exclude arteriosclerosis"),
        _d(Descriptor.VASCULITIS, "Vasculitis", 8, "ulceration, gangrene, tender nodules, ..."),
        # 4-point items [medicalcriteria.com] [S]; [computeSLEDAI comment] [W].
        _d(
            Descriptor.ARTHRITIS,
            "Arthritis",
            4,
            "≥2 joints with pain and signs of inflammation (comparator is a parameter)",
            measurement=_Measurement(
                "inflamed joint count",
                "joints",
                _Cmp.GE,
                Decimal(2),
                _JOINT_UNITS,
                Decimal(0),
                Decimal(100),
                integer=True,
            ),
        ),
        _d(Descriptor.MYOSITIS, "Myositis", 4, "proximal weakness + raised CPK/aldolase, EMG"),
        _d(Descriptor.CASTS, "Urinary casts", 4, "heme-granular or RBC casts"),
        _d(
            Descriptor.HAEMATURIA,
            "Haematuria",
            4,
            ">5 RBC/HPF; exclude stone, infection, other cause",
            measurement=_Measurement(
                "urine RBC",
                "RBC/HPF",
                _Cmp.GT,
                Decimal(5),
                _RBC_HPF_UNITS,
                Decimal(0),
                Decimal(10000),
            ),
        ),
        _d(
            Descriptor.PROTEINURIA,
            "Proteinuria",
            4,
            ">0.5 g/24 h",
            persistence_sensitive=True,
            measurement=_Measurement(
                "urine protein",
                "g/24h",
                _Cmp.GT,
                Decimal("0.5"),
                _PROTEIN_UNITS,
                Decimal(0),
                Decimal(100),
            ),
        ),
        _d(
            Descriptor.PYURIA,
            "Pyuria",
            4,
            ">5 WBC/HPF; exclude infection",
            measurement=_Measurement(
                "urine WBC",
                "WBC/HPF",
                _Cmp.GT,
                Decimal(5),
                _WBC_HPF_UNITS,
                Decimal(0),
                Decimal(10000),
            ),
        ),
        # 2-point items [medicalcriteria.com] [S]; alopecia is 2 (not 1) — spec §1.1 row 16.
        _d(Descriptor.RASH, "Rash", 2, "inflammatory-type rash", persistence_sensitive=True),
        _d(Descriptor.ALOPECIA, "Alopecia", 2, "abnormal hair loss", persistence_sensitive=True),
        _d(
            Descriptor.MUCOSAL_ULCERS,
            "Mucosal ulcers",
            2,
            "oral or nasal ulcers",
            persistence_sensitive=True,
        ),
        _d(Descriptor.PLEURISY, "Pleurisy", 2, "pleuritic pain with rub, effusion, thickening"),
        _d(Descriptor.PERICARDITIS, "Pericarditis", 2, "pericardial pain with ≥1 of rub, ..."),
        _d(
            Descriptor.LOW_COMPLEMENT,
            "Low complement",
            2,
            "CH50, C3 or C4 below the laboratory lower limit",
            serological=True,
        ),
        _d(
            Descriptor.DSDNA,
            "Increased DNA binding",
            2,
            "anti-dsDNA above the laboratory normal range",
            serological=True,
        ),
        # 1-point items: thresholds [ard.bmj.com table 250723; sle-das.eu] [S]; fever [W].
        _d(
            Descriptor.FEVER,
            "Fever",
            1,
            ">38 °C; exclude infection",
            measurement=_Measurement(
                "body temperature",
                "°C",
                _Cmp.GT,
                Decimal(38),
                _TEMP_UNITS,
                Decimal(25),
                Decimal(45),
            ),
        ),
        _d(
            Descriptor.THROMBOCYTOPENIA,
            "Thrombocytopenia",
            1,
            "<100×10⁹/L",
            measurement=_Measurement(
                "platelet count",
                "10^9/L",
                _Cmp.LT,
                Decimal(100),
                _COUNT_UNITS,
                Decimal(0),
                Decimal(5000),
            ),
        ),
        _d(
            Descriptor.LEUKOPENIA,
            "Leukopenia",
            1,
            "<3×10⁹/L",
            measurement=_Measurement(
                "white cell count",
                "10^9/L",
                _Cmp.LT,
                Decimal(3),
                _COUNT_UNITS,
                Decimal(0),
                Decimal(1000),
            ),
        ),
    )
}
"""The 24 descriptors in form order with weights [spec §1.1]."""

SEROLOGICAL_DESCRIPTORS: frozenset[Descriptor] = frozenset(
    k for k, d in DESCRIPTORS.items() if d.serological
)
"""Low complement and anti-dsDNA: the items clinical SLEDAI excludes [spec §1.3]."""

CLINICAL_DESCRIPTORS: tuple[Descriptor, ...] = tuple(
    k for k, d in DESCRIPTORS.items() if not d.serological
)
"""The 22 clinical descriptors (clinical SLEDAI range 0–101) [spec §1.3]."""

WINDOW_DAYS_ALLOWED: frozenset[int] = frozenset({10, 30})
"""Scoring windows: 10 days [medicalcriteria] [S] or 30 days [Touma 2010] [P] (spec §1.1.1)."""

ArthritisComparator = Literal[">=", ">"]


@dataclass(frozen=True, slots=True)
class Finding:
    """What is known about one descriptor at the scoring visit.

    Attributes:
        present: ``True`` present, ``False`` explicitly absent, ``None`` unknown.  May be left
            ``None`` when ``value`` is given for a measurable descriptor (arthritis joint count,
            haematuria, proteinuria, pyuria, fever, thrombocytopenia, leukopenia).
        value: the measured value that decides presence, with ``unit``.
        unit: unit of ``value`` (e.g. ``"10^9/L"``, ``"/uL"``, ``"g/24h"``, ``"mg/24h"``,
            ``"RBC/HPF"``, ``"°C"``, ``"°F"``, ``"joints"``).
        attributed_to_sle: the finding is due to SLE activity (``None`` = not yet judged).
            Pyuria from a urinary infection, scarring alopecia, fixed proteinuria: ``False``
            [ard.bmj.com table 278401] [S].
        evidence_date: when the finding was observed (checked against the window when a visit
            date is given).
        new_or_recurrent: for rash, alopecia, mucosal ulcers and proteinuria — ``False`` records
            *persistent* activity (proteinuria: neither new onset nor a recent increase
            >0.5 g/24 h).  SLEDAI-2K scores persistent activity; the SELENA-SLEDAI variant (as
            specified, spec §1.2) does not, and flags the result for review.  ``None`` or
            ``True``: the item scores — a plain ``present=True`` asserts that the descriptor
            meets the chosen instrument's definition.
    """

    present: bool | None = None
    value: Number | None = None
    unit: str | None = None
    attributed_to_sle: bool | None = True
    evidence_date: date | None = None
    new_or_recurrent: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "present": self.present,
            "value": None if self.value is None else str(self.value),
            "unit": self.unit,
            "attributed_to_sle": self.attributed_to_sle,
            "evidence_date": None if self.evidence_date is None else self.evidence_date.isoformat(),
            "new_or_recurrent": self.new_or_recurrent,
        }


FindingInput = bool | Finding | None
"""A descriptor's input: ``True``/``False``/``None`` (unknown) or a full :class:`Finding`."""

Findings = (
    Mapping[str, FindingInput]
    | Mapping[Descriptor, FindingInput]
    | AbstractSet[str]
    | AbstractSet[Descriptor]
    | Sequence[str]
    | Sequence[Descriptor]
)
"""The findings of one visit: a mapping descriptor → status (keys left out are *unknown*), or a
set/list of the descriptors present, which asserts that every other descriptor was assessed and
found absent."""


def parse_descriptor(key: str | Descriptor, field: str = "findings") -> Descriptor:
    """Resolve a descriptor key (or one of a few aliases, e.g. ``"hematuria"``).

    Raises:
        InputError: naming ``field`` for an unknown key.
    """
    if isinstance(key, Descriptor):
        return key
    if not isinstance(key, str):
        raise InputError(field, f"descriptor keys must be strings, got {type(key).__name__}")
    k = key.strip().lower()
    if k in _ALIASES:
        return _ALIASES[k]
    try:
        return Descriptor(k)
    except ValueError:
        known = ", ".join(d.value for d in Descriptor)
        raise InputError(f"{field}.{key}", f"unknown SLEDAI descriptor (known: {known})") from None


def findings_from_sets(
    present: Iterable[str | Descriptor],
    absent: Iterable[str | Descriptor] = (),
    unknown: Iterable[str | Descriptor] = (),
    *,
    rest_absent: bool = False,
) -> dict[Descriptor, bool | None]:
    """Build a findings mapping from sets of descriptor keys.

    Descriptors in none of the sets are unknown unless ``rest_absent=True`` (the caller asserts
    every other descriptor was assessed and absent).

    Raises:
        InputError: for an unknown key or a descriptor listed in two sets.
    """
    out: dict[Descriptor, bool | None] = {}
    for name, keys in (("present", present), ("absent", absent), ("unknown", unknown)):
        if isinstance(keys, str | bytes):
            raise InputError(name, "must be a collection of descriptor keys, not one string")
    for name, keys, status in (
        ("present", present, True),
        ("absent", absent, False),
        ("unknown", unknown, None),
    ):
        for key in keys:
            d = parse_descriptor(key, name)
            if d in out:
                raise InputError(f"{name}.{d.value}", "descriptor listed in more than one set")
            out[d] = status
    for d in Descriptor:
        if d not in out:
            out[d] = False if rest_absent else None
    return out


# --------------------------------------------------------------------------------------------
# evaluation of single descriptors


class _State(Enum):
    SCORES = "scores"
    NOT_SCORED = "not scored"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class _DescriptorResult:
    key: Descriptor
    state: _State
    detail: str
    missing: tuple[str, ...] = ()
    selena_rule_used: bool = False
    noteworthy: bool = False  # not scored although present or measured: worth a reason


@dataclass(frozen=True, slots=True)
class _Evaluation:
    results: tuple[_DescriptorResult, ...]
    variant: SledaiVariant
    inputs: Mapping[str, Any]

    def points(self, keys: Iterable[Descriptor]) -> tuple[int, int, tuple[str, ...]]:
        """(known points, unknown points, missing fields) over ``keys``."""
        wanted = set(keys)
        known = unknown = 0
        missing: list[str] = []
        for r in self.results:
            if r.key not in wanted:
                continue
            if r.state is _State.SCORES:
                known += DESCRIPTORS[r.key].weight
            elif r.state is _State.UNKNOWN:
                unknown += DESCRIPTORS[r.key].weight
                missing.extend(r.missing)
        return known, unknown, tuple(missing)


def _normalise_unit(unit: str) -> str:
    u = unit.strip().lower().replace(" ", "").replace("µ", "u").replace("μ", "u")
    u = u.replace("×", "x").replace("*", "^").replace("·", "")
    u = u.replace("10⁹", "10^9").replace("10³", "10^3").replace("³", "3")
    if u.startswith("x10"):
        u = u[1:]
    return u


def _measured_presence(
    key: Descriptor, f: Finding, arthritis_comparator: ArthritisComparator, field: str
) -> tuple[bool, str]:
    m = DESCRIPTORS[key].measurement
    if m is None:
        raise InputError(
            f"{field}.value", f"{key.value} is not decided by a measured value; give present="
        )
    value = exact_decimal(f.value, f"{field}.value")
    if f.unit is None:
        if key is Descriptor.ARTHRITIS:
            unit_key = "joints"
        else:
            raise InputError(f"{field}.unit", f"unit required for {m.quantity}")
    else:
        unit_key = _normalise_unit(f.unit)
    convert = m.units.get(unit_key)
    if convert is None:
        raise InputError(
            f"{field}.unit",
            f"unit {f.unit!r} is not a unit of {m.quantity} (canonical {m.canonical_unit})",
        )
    canonical = convert(value)
    if m.integer and value != value.to_integral_value():
        raise InputError(f"{field}.value", f"{m.quantity} must be a whole number, got {f.value}")
    if canonical < m.plausible_min or canonical > m.plausible_max:
        raise InputError(
            f"{field}.value",
            f"{m.quantity} {f.value} {f.unit or m.canonical_unit} = {canonical} "
            f"{m.canonical_unit} is outside the plausible range "
            f"{m.plausible_min}–{m.plausible_max}; check the unit",
        )
    comparator = m.comparator
    if key is Descriptor.ARTHRITIS and arthritis_comparator == ">":
        comparator = _Cmp.GT
    if comparator is _Cmp.LT:
        present = canonical < m.threshold
    elif comparator is _Cmp.GT:
        present = canonical > m.threshold
    else:
        present = canonical >= m.threshold
    shown = f"{canonical.normalize():f} {m.canonical_unit}"
    verdict = "meets" if present else "does not meet"
    return present, f"{m.quantity} {shown} {verdict} {comparator.value} {m.threshold:f}"


def _evaluate_one(
    key: Descriptor,
    raw: FindingInput,
    *,
    variant: SledaiVariant,
    window_days: int,
    visit_date: date | None,
    arthritis_comparator: ArthritisComparator,
) -> _DescriptorResult:
    field = f"findings.{key.value}"
    d = DESCRIPTORS[key]
    if raw is None:
        return _DescriptorResult(key, _State.UNKNOWN, f"{d.label}: status unknown", (field,))
    if isinstance(raw, bool):
        f = Finding(present=raw)
    elif isinstance(raw, Finding):
        f = raw
    else:
        raise InputError(field, f"must be True, False, None or a Finding, got {raw!r}")
    for name in ("present", "attributed_to_sle", "new_or_recurrent"):
        v = getattr(f, name)
        if v is not None and not isinstance(v, bool):
            raise InputError(f"{field}.{name}", f"must be True, False or None, got {v!r}")
    if f.evidence_date is not None and not isinstance(f.evidence_date, date):
        raise InputError(f"{field}.evidence_date", "must be a datetime.date")

    present = f.present
    basis = ""
    if f.value is not None:
        measured, basis = _measured_presence(key, f, arthritis_comparator, field)
        if present is not None and present != measured:
            raise InputError(
                f"{field}.present", f"present={present} contradicts the measured value ({basis})"
            )
        present = measured
    elif f.unit is not None:
        raise InputError(f"{field}.unit", "unit given without a value")
    basis = f" ({basis})" if basis else ""

    if present is None:
        return _DescriptorResult(key, _State.UNKNOWN, f"{d.label}: status unknown", (field,))
    if not present:
        return _DescriptorResult(
            key, _State.NOT_SCORED, f"{d.label}: absent{basis}", noteworthy=bool(basis)
        )

    if f.attributed_to_sle is None:
        return _DescriptorResult(
            key,
            _State.UNKNOWN,
            f"{d.label}: present{basis} but attribution to SLE not yet judged",
            (f"{field}.attributed_to_sle",),
        )
    if not f.attributed_to_sle:
        return _DescriptorResult(
            key,
            _State.NOT_SCORED,
            f"{d.label}: present{basis} but not attributed to SLE",
            noteworthy=True,
        )

    when = ""
    if visit_date is not None:
        if f.evidence_date is None:
            return _DescriptorResult(
                key,
                _State.UNKNOWN,
                f"{d.label}: present{basis} but its date is unknown, so the "
                f"{window_days}-day window cannot be checked",
                (f"{field}.evidence_date",),
            )
        start = visit_date - timedelta(days=window_days)
        if not start <= f.evidence_date <= visit_date:
            return _DescriptorResult(
                key,
                _State.NOT_SCORED,
                f"{d.label}: evidence dated {f.evidence_date.isoformat()} lies outside the "
                f"window {start.isoformat()}…{visit_date.isoformat()} ({window_days} days)",
                noteworthy=True,
            )
        when = f", dated {f.evidence_date.isoformat()} (within the {window_days}-day window)"
    elif f.evidence_date is not None:
        raise InputError("visit_date", "required to check findings that carry an evidence_date")

    persistence = ""
    if d.persistence_sensitive and f.new_or_recurrent is False:
        if variant is SledaiVariant.SELENA_SLEDAI:
            # TODO(confirm against SELENA form): spec §1.2 — the only variant difference coded.
            return _DescriptorResult(
                key,
                _State.NOT_SCORED,
                f"{d.label}: present{basis} but persistent (not new/recurrent) — not scored by "
                "SELENA-SLEDAI as specified (rule NOT FOUND in a primary source; confirm "
                "against the SELENA form)",
                selena_rule_used=True,
                noteworthy=True,
            )
        persistence = " (persistent activity scores in SLEDAI-2K)"
    return _DescriptorResult(
        key,
        _State.SCORES,
        f"{d.label} ({d.definition}): present{basis}{persistence}, attributed to SLE{when}",
    )


def _parse_variant(variant: SledaiVariant | str) -> SledaiVariant:
    if isinstance(variant, SledaiVariant):
        return variant
    try:
        return SledaiVariant(variant)
    except ValueError:
        known = ", ".join(v.value for v in SledaiVariant)
        raise InputError(
            "variant", f"unknown SLEDAI variant {variant!r} (known: {known})"
        ) from None


def _evaluate(
    findings: Findings,
    *,
    variant: SledaiVariant | str,
    window_days: int,
    visit_date: date | None,
    arthritis_comparator: str,
) -> _Evaluation:
    v = _parse_variant(variant)
    if isinstance(window_days, bool) or window_days not in WINDOW_DAYS_ALLOWED:
        raise InputError("window_days", f"must be 10 or 30 (spec §1.1.1), got {window_days!r}")
    if arthritis_comparator not in (">=", ">"):
        raise InputError(
            "arthritis_comparator",
            f"must be '>=' or '>' (spec §1.1.2), got {arthritis_comparator!r}",
        )
    comparator: ArthritisComparator = ">=" if arthritis_comparator == ">=" else ">"
    if visit_date is not None and not isinstance(visit_date, date):
        raise InputError("visit_date", "must be a datetime.date")
    form = "mapping (descriptors left out are unknown)"
    mapping: Mapping[str, FindingInput] | Mapping[Descriptor, FindingInput]
    if isinstance(findings, Mapping):
        mapping = findings
    elif isinstance(findings, AbstractSet | Sequence) and not isinstance(findings, str | bytes):
        mapping = findings_from_sets(findings, rest_absent=True)
        form = "list of descriptors present (all others assessed and absent)"
    else:
        raise InputError(
            "findings", "must be a mapping descriptor → status or a set of descriptors present"
        )
    by_key: dict[Descriptor, FindingInput] = {}
    for key, raw in mapping.items():
        d = parse_descriptor(key)
        if d in by_key:
            raise InputError(f"findings.{d.value}", "given twice (directly and via an alias)")
        by_key[d] = raw
    results = tuple(
        _evaluate_one(
            key,
            by_key.get(key),
            variant=v,
            window_days=window_days,
            visit_date=visit_date,
            arthritis_comparator=comparator,
        )
        for key in Descriptor
    )
    inputs: dict[str, Any] = {
        "findings_form": form,
        "variant": v.value,
        "window_days": window_days,
        "visit_date": None if visit_date is None else visit_date.isoformat(),
        "arthritis_comparator": comparator,
        "findings": {
            k.value: (raw.to_dict() if isinstance(raw, Finding) else raw)
            for k, raw in by_key.items()
        },
    }
    return _Evaluation(results, v, inputs)


def _provenance(ev: _Evaluation) -> list[str]:
    out = [
        f"Variant {ev.variant.value}; window {ev.inputs['window_days']} days "
        + (
            f"ending at the visit on {ev.inputs['visit_date']}"
            if ev.inputs["visit_date"]
            else "(dates not checked: caller asserts findings lie in the window)"
        )
        + f"; arthritis joint comparator '{ev.inputs['arthritis_comparator']} 2'.",
    ]
    if ev.inputs["findings_form"].startswith("list"):
        out.append("Findings given as the list of descriptors present; all others absent.")
    if ev.variant is SledaiVariant.SELENA_SLEDAI:
        out.append(
            "SELENA-SLEDAI uses the SLEDAI-2K weights; its item wording is NOT FOUND in the "
            "sources (spec §1.2), so only the new/recurrent rule for rash, alopecia, mucosal "
            "ulcers and proteinuria differs here."
        )
    return out


def _score(ev: _Evaluation, keys: tuple[Descriptor, ...], instrument: str) -> Assessment[int]:
    wanted = set(keys)
    relevant = [r for r in ev.results if r.key in wanted]
    known, _unknown, missing = ev.points(keys)
    contributions = tuple(
        Contribution(r.key.value, DESCRIPTORS[r.key].weight, r.detail)
        for r in relevant
        if r.state is _State.SCORES
    )
    reasons = _provenance(ev)
    reasons.extend(
        f"{r.detail} — not scored."
        for r in relevant
        if r.state is _State.NOT_SCORED and r.noteworthy
    )
    needs_review = ev.variant is SledaiVariant.SELENA_SLEDAI and any(
        r.selena_rule_used and r.state is not _State.UNKNOWN for r in relevant
    )
    if needs_review:
        reasons.append(
            "Needs review: the SELENA new/recurrent rule changed or confirmed an item's score "
            "and that rule is not confirmed against the SELENA form (spec §7-1)."
        )
    if missing:
        unknown_items = [r.detail for r in relevant if r.state is _State.UNKNOWN]
        reasons.append(
            f"Not evaluable: {len(unknown_items)} descriptor(s) unknown ("
            + "; ".join(unknown_items)
            + f"). Known points so far {known}; the total is not reported from partial data."
        )
        return Assessment(
            instrument=instrument,
            value=None,
            inputs=ev.inputs,
            contributions=contributions,
            reasons=tuple(reasons),
            missing=missing,
            needs_review=needs_review,
        )
    if contributions:
        summary = " + ".join(f"{c.item} {c.points}" for c in contributions)
        reasons.append(f"{instrument} = {summary} = {known}.")
    else:
        reasons.append(f"No descriptor scored: {instrument} = 0.")
    return Assessment(
        instrument=instrument,
        value=known,
        inputs=ev.inputs,
        contributions=contributions,
        reasons=tuple(reasons),
        needs_review=needs_review,
    )


def sledai(
    findings: Findings,
    *,
    variant: SledaiVariant | str = SledaiVariant.SLEDAI_2K,
    window_days: int = 10,
    visit_date: date | None = None,
    arthritis_comparator: str = ">=",
) -> Assessment[int]:
    """Total SLEDAI (0–105) of the chosen variant, with the descriptors that scored.

    Args:
        findings: descriptor key → ``True`` / ``False`` / ``None`` (unknown) / :class:`Finding`
            (every one of the 24 descriptors must be known; a key left out is unknown), or a
            set/list of the descriptors present (all others then assessed and absent).
        variant: ``"SLEDAI-2K"`` (default) or ``"SELENA-SLEDAI"`` (see module docstring).
        window_days: 10 (default) or 30 [spec §1.1.1]; recorded in ``inputs``.
        visit_date: when given, each present finding needs an ``evidence_date`` in
            ``[visit_date − window_days, visit_date]``.
        arthritis_comparator: ``">="`` (default, "≥2 joints") or ``">"`` ("more than 2 joints");
            used when arthritis is given as a joint count [spec §1.1.2].

    Returns:
        ``Assessment[int]`` whose ``instrument`` is the variant name; not evaluable (value
        ``None``) when any descriptor is unknown.

    Raises:
        InputError: unknown descriptor, invalid value or unit, or invalid parameter.
    """
    ev = _evaluate(
        findings,
        variant=variant,
        window_days=window_days,
        visit_date=visit_date,
        arthritis_comparator=arthritis_comparator,
    )
    return _score(ev, tuple(Descriptor), ev.variant.value)


def sledai_2k(
    findings: Findings,
    *,
    window_days: int = 10,
    visit_date: date | None = None,
    arthritis_comparator: str = ">=",
) -> Assessment[int]:
    """SLEDAI-2K total (0–105) — :func:`sledai` with ``variant="SLEDAI-2K"``."""
    return sledai(
        findings,
        variant=SledaiVariant.SLEDAI_2K,
        window_days=window_days,
        visit_date=visit_date,
        arthritis_comparator=arthritis_comparator,
    )


def selena_sledai(
    findings: Findings,
    *,
    window_days: int = 10,
    visit_date: date | None = None,
    arthritis_comparator: str = ">=",
) -> Assessment[int]:
    """SELENA-SLEDAI total (0–105) — :func:`sledai` with ``variant="SELENA-SLEDAI"``."""
    return sledai(
        findings,
        variant=SledaiVariant.SELENA_SLEDAI,
        window_days=window_days,
        visit_date=visit_date,
        arthritis_comparator=arthritis_comparator,
    )


def clinical_sledai(
    findings: Findings,
    *,
    variant: SledaiVariant | str = SledaiVariant.SLEDAI_2K,
    window_days: int = 10,
    visit_date: date | None = None,
    arthritis_comparator: str = ">=",
) -> Assessment[int]:
    """Clinical SLEDAI (0–101): the total without low complement and anti-dsDNA [spec §1.3].

    Only the 22 clinical descriptors must be known; the serological ones may be unknown or
    omitted.  The ``instrument`` is ``"clinical SLEDAI-2K"`` (or ``"clinical SELENA-SLEDAI"``).
    """
    ev = _evaluate(
        findings,
        variant=variant,
        window_days=window_days,
        visit_date=visit_date,
        arthritis_comparator=arthritis_comparator,
    )
    return _score(ev, CLINICAL_DESCRIPTORS, f"clinical {ev.variant.value}")


def sledai_at_least(
    findings: Findings,
    threshold: int,
    *,
    clinical: bool = False,
    variant: SledaiVariant | str = SledaiVariant.SLEDAI_2K,
    window_days: int = 10,
    visit_date: date | None = None,
    arthritis_comparator: str = ">=",
) -> Assessment[bool]:
    """Is the (clinical) SLEDAI ``≥ threshold``?  E.g. seeds 000/001/003 "SLEDAI-2K ≥8".

    Decided from partial data only when the unknown descriptors cannot change the answer:
    met if the known points already reach the threshold, not met if even all unknown
    descriptors present would not reach it; otherwise not evaluable.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
        raise InputError("threshold", f"must be a non-negative integer, got {threshold!r}")
    ev = _evaluate(
        findings,
        variant=variant,
        window_days=window_days,
        visit_date=visit_date,
        arthritis_comparator=arthritis_comparator,
    )
    keys = CLINICAL_DESCRIPTORS if clinical else tuple(Descriptor)
    name = f"clinical {ev.variant.value}" if clinical else ev.variant.value
    known, unknown, missing = ev.points(keys)
    instrument = f"{name} ≥ {threshold}"
    inputs = {**ev.inputs, "threshold": threshold}
    contributions = tuple(
        Contribution(r.key.value, DESCRIPTORS[r.key].weight, r.detail)
        for r in ev.results
        if r.key in set(keys) and r.state is _State.SCORES
    )
    reasons = _provenance(ev)
    needs_review = ev.variant is SledaiVariant.SELENA_SLEDAI and any(
        r.selena_rule_used and r.key in set(keys) for r in ev.results
    )
    if known >= threshold:
        reasons.append(
            f"Known points {known} ≥ {threshold}: met"
            + (f" whatever the {unknown} unknown points are." if unknown else ".")
        )
        value: bool | None = True
        missing = ()
    elif known + unknown < threshold:
        reasons.append(
            f"Known points {known} + all unknown points {unknown} = {known + unknown} < "
            f"{threshold}: not met."
        )
        value = False
        missing = ()
    else:
        reasons.append(
            f"Known points {known} < {threshold} ≤ {known + unknown} (with unknown items): "
            "not evaluable."
        )
        value = None
    return Assessment(
        instrument=instrument,
        value=value,
        inputs=inputs,
        contributions=contributions,
        reasons=tuple(reasons),
        missing=missing,
        needs_review=needs_review,
    )


def sledai_total_and_clinical_at_least(
    findings: Findings,
    *,
    total_min: int = 6,
    clinical_min: int = 4,
    variant: SledaiVariant | str = SledaiVariant.SLEDAI_2K,
    window_days: int = 10,
    visit_date: date | None = None,
    arthritis_comparator: str = ">=",
) -> Assessment[bool]:
    """Seed 004: SLEDAI-2K ``≥ total_min`` and, if serology scored, clinical ``≥ clinical_min``.

    Spec §1.3: ``total ≥ 6 AND (serology_points == 0 OR clinical ≥ 4)``.  With
    ``clinical_min ≤ total_min`` this is monotone in every descriptor (it equals
    ``clinical ≥ total_min OR (clinical ≥ clinical_min AND serology > 0)``), so the known and
    the maximal possible points decide it exactly; otherwise not evaluable.
    """
    for name, v in (("total_min", total_min), ("clinical_min", clinical_min)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise InputError(name, f"must be a non-negative integer, got {v!r}")
    if clinical_min > total_min:
        raise InputError("clinical_min", "must not exceed total_min")
    ev = _evaluate(
        findings,
        variant=variant,
        window_days=window_days,
        visit_date=visit_date,
        arthritis_comparator=arthritis_comparator,
    )
    c_known, c_unknown, c_missing = ev.points(CLINICAL_DESCRIPTORS)
    s_known, s_unknown, s_missing = ev.points(tuple(SEROLOGICAL_DESCRIPTORS))

    def rule(clin: int, sero: int) -> bool:
        return clin + sero >= total_min and (sero == 0 or clin >= clinical_min)

    instrument = (
        f"{ev.variant.value} ≥ {total_min} and, if serology scored, "
        f"clinical {ev.variant.value} ≥ {clinical_min}"
    )
    reasons = _provenance(ev)
    reasons.append(
        f"Clinical points {c_known} known (+{c_unknown} unknown); serology points {s_known} "
        f"known (+{s_unknown} unknown); total {c_known + s_known}."
    )
    missing: tuple[str, ...] = ()
    value: bool | None
    if rule(c_known, s_known):
        value = True
        reasons.append(
            f"Met: total {c_known + s_known} ≥ {total_min} and "
            + (
                "no serology scored."
                if s_known == 0
                else f"clinical {c_known} ≥ {clinical_min} with serology scored."
            )
        )
    elif not rule(c_known + c_unknown, s_known + s_unknown):
        value = False
        reasons.append(
            "Not met: "
            + (
                f"total {c_known + s_known} < {total_min}."
                if c_known + s_known < total_min
                else f"serology scored ({s_known} points) and clinical {c_known} < {clinical_min}."
            )
        )
    else:
        value = None
        missing = c_missing + s_missing
        reasons.append("Not evaluable: unknown descriptors could change the answer.")
    contributions = tuple(
        Contribution(r.key.value, DESCRIPTORS[r.key].weight, r.detail)
        for r in ev.results
        if r.state is _State.SCORES
    )
    return Assessment(
        instrument=instrument,
        value=value,
        inputs={**ev.inputs, "total_min": total_min, "clinical_min": clinical_min},
        contributions=contributions,
        reasons=tuple(reasons),
        missing=missing,
        needs_review=ev.variant is SledaiVariant.SELENA_SLEDAI
        and any(r.selena_rule_used for r in ev.results),
    )


def sledai_variant_of(assessment: Assessment[Any]) -> tuple[SledaiVariant, bool]:
    """The SLEDAI variant of a score produced by this module, and whether it is *clinical*.

    Raises:
        InputError: if the assessment is not a SLEDAI total from :func:`sledai` or
            :func:`clinical_sledai`.
    """
    raw = assessment.inputs.get("variant")
    inst = assessment.instrument
    try:
        variant = SledaiVariant(str(raw))
    except ValueError:
        raise InputError("sledai", f"not a SLEDAI score: {inst!r}") from None
    if inst == variant.value:
        return variant, False
    if inst == f"clinical {variant.value}":
        return variant, True
    raise InputError("sledai", f"not a SLEDAI total: {inst!r}")
