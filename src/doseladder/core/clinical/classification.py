"""Classification criteria: 2019 EULAR/ACR SLE, 1997 ACR revised SLE, 2017 EULAR/ACR IIM.

2019 EULAR/ACR SLE (Aringer 2019) — spec ``clinical.md`` §1.9:

* Entry criterion: ANA ≥1:80 on HEp-2 cells or an equivalent positive test, at least once
  [ard.bmj.com table 260340] [P].  Without it the patient is not classified.
* Additive criteria with weights (table below) [msdmanuals.com table] [S];
  [bibliotheek.ehb.be criteria] [S]; [neurolrespract.biomedcentral.com table 7] [S];
  definitions (fever >38.3 °C, leukopenia <4.0×10⁹/L, thrombocytopenia <100×10⁹/L)
  [ard.bmj.com table 260340] [P].  Within each domain only the highest-weighted criterion
  counts; a criterion is not counted when there is a more likely explanation than SLE; one
  occurrence suffices and criteria need not be simultaneous [ACR figure; msdmanuals] [S].
* Classified: entry criterion, ≥1 clinical criterion and a total ≥10.  Maximum 51
  [PMC8741517 table tbl1] [S].  Integer arithmetic throughout.

1997 ACR revised criteria (Hochberg) — spec §1.10: SLE if ≥4 of 11 criteria, serially or
simultaneously [ard.bmj.com table 176202] [S]; each numbered criterion counts once however many
of its sub-items are met.

2017 EULAR/ACR IIM (Lundberg/Bottai 2017) — spec §4.10: weights without/with muscle biopsy
[rmdopen.bmj.com table 137083] [S]; age rows [rheumatologytt.com] [W]; cut-offs: ≥5.5 / ≥6.7
probable (≥55%), ≥7.5 / ≥8.7 definite (≥90%), 5.3–5.4 / 6.5–6.6 possible (50–<55%), below that
not IIM [scholars.duke.edu/display/pub1284638] [P-abstract].  Scores are summed as exact
decimals (no ``6.700000000000001``).  Seed 000 calls ≥5.5 / ≥6.7 "possible" / "definite": the
category here is labelled correctly (probable) (spec §0.1-3).  The score → probability formula
is NOT FOUND and not coded.  Without heliotrope rash, Gottron's papules or Gottron's sign a
muscle biopsy is needed to classify [imm.ki.se IIM calculator instructions] [S].

Missing data: a criterion may be ``None`` (unknown).  Results are decided only when the
unknown criteria cannot change them (every criterion adds points, so the scores are monotone);
otherwise not evaluable (spec §5.6).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from doseladder.core.clinical.pga import Number, exact_decimal
from doseladder.core.clinical.result import Assessment, Contribution
from doseladder.core.errors import InputError

__all__ = [
    "ACR_1997_CRITERIA",
    "EULAR_ACR_2019_CRITERIA",
    "IIM_2017_ITEMS",
    "Criteria",
    "CriterionFinding",
    "CriterionInput",
    "IimCategory",
    "acr_1997",
    "eular_acr_2019",
    "eular_acr_2019_score",
    "iim_2017",
    "sle_classified_by_either",
]


@dataclass(frozen=True, slots=True)
class CriterionFinding:
    """A criterion's status with the "more likely explanation" attribution flag.

    Attributes:
        present: ``True`` met at least once, ``False`` not met, ``None`` unknown.
        more_likely_explanation: a cause more likely than SLE exists (then the criterion does
            not count) [spec §1.9]; ``None`` = not yet judged.
    """

    present: bool | None
    more_likely_explanation: bool | None = False

    def to_dict(self) -> dict[str, Any]:
        return {"present": self.present, "more_likely_explanation": self.more_likely_explanation}


CriterionInput = bool | CriterionFinding | None
"""``True`` / ``False`` / ``None`` (unknown) or a :class:`CriterionFinding`."""


def _tri_of(raw: object, field: str) -> bool | None:
    """Counting status of one criterion input (True counts, False does not, None unknown)."""
    if raw is None or isinstance(raw, bool):
        return raw
    if isinstance(raw, CriterionFinding):
        for name in ("present", "more_likely_explanation"):
            v = getattr(raw, name)
            if v is not None and not isinstance(v, bool):
                raise InputError(f"{field}.{name}", f"must be True, False or None, got {v!r}")
        if raw.present is False or raw.more_likely_explanation is True:
            return False
        if raw.present is None or raw.more_likely_explanation is None:
            return None
        return True
    raise InputError(field, f"must be True, False, None or a CriterionFinding, got {raw!r}")


Criteria = Mapping[str, CriterionInput] | AbstractSet[str] | Sequence[str]
"""Criteria as a mapping key → status (keys left out are unknown unless ``rest_absent``), or a
set/list of the criteria met, which asserts that all others were assessed and not met."""


def _as_mapping(value: object, field: str) -> tuple[Mapping[str, CriterionInput], bool]:
    """(mapping, listed): a set/list of met keys becomes ``{key: True}`` with the rest absent."""
    if isinstance(value, Mapping):
        return value, False
    if isinstance(value, AbstractSet | Sequence) and not isinstance(value, str | bytes):
        out: dict[str, CriterionInput] = {}
        for k in value:
            if not isinstance(k, str):
                raise InputError(field, f"keys must be strings, got {k!r}")
            out[k] = True
        return out, True
    raise InputError(field, "must be a mapping key → status or a set of keys met")


def _or(states: Iterable[bool | None]) -> bool | None:
    s = list(states)
    if any(x is True for x in s):
        return True
    if s and all(x is False for x in s):
        return False
    return None


def _and(states: Iterable[bool | None]) -> bool | None:
    s = list(states)
    if any(x is False for x in s):
        return False
    if s and all(x is True for x in s):
        return True
    return None


def _word(s: bool | None) -> str:
    return "met" if s else "not met" if s is False else "unknown"


# ---------------------------------------------------------------------------------------------
# 2019 EULAR/ACR


@dataclass(frozen=True, slots=True)
class _Criterion2019:
    key: str
    domain: str
    clinical: bool
    weight: int
    label: str


def _c(key: str, domain: str, clinical: bool, weight: int, label: str) -> _Criterion2019:
    return _Criterion2019(key, domain, clinical, weight, label)


EULAR_ACR_2019_CRITERIA: tuple[_Criterion2019, ...] = (
    # Clinical domains [spec §1.9 table; msdmanuals; ard.bmj.com 260340].
    _c("fever", "constitutional", True, 2, "Fever >38.3 °C"),
    _c("leukopenia", "haematological", True, 3, "Leukopenia <4.0×10⁹/L"),
    _c("thrombocytopenia", "haematological", True, 4, "Thrombocytopenia <100×10⁹/L"),
    _c("autoimmune_haemolysis", "haematological", True, 4, "Autoimmune haemolysis (+ DAT)"),
    _c("delirium", "neuropsychiatric", True, 2, "Delirium"),
    _c("psychosis", "neuropsychiatric", True, 3, "Psychosis"),
    _c("seizure", "neuropsychiatric", True, 5, "Seizure (generalised or partial/focal)"),
    _c("non_scarring_alopecia", "mucocutaneous", True, 2, "Non-scarring alopecia"),
    _c("oral_ulcers", "mucocutaneous", True, 2, "Oral ulcers"),
    _c(
        "subacute_cutaneous_or_discoid_lupus",
        "mucocutaneous",
        True,
        4,
        "Subacute cutaneous OR discoid lupus",
    ),
    _c("acute_cutaneous_lupus", "mucocutaneous", True, 6, "Acute cutaneous lupus"),
    _c("pleural_or_pericardial_effusion", "serosal", True, 5, "Pleural or pericardial effusion"),
    _c("acute_pericarditis", "serosal", True, 6, "Acute pericarditis"),
    _c("joint_involvement", "musculoskeletal", True, 6, "Joint involvement"),
    _c("proteinuria", "renal", True, 4, "Proteinuria >0.5 g/24 h"),
    _c(
        "renal_biopsy_class_ii_or_v", "renal", True, 8, "Renal biopsy class II or V lupus nephritis"
    ),
    _c(
        "renal_biopsy_class_iii_or_iv",
        "renal",
        True,
        10,
        "Renal biopsy class III or IV lupus nephritis",
    ),
    # Immunological domains.
    _c(
        "antiphospholipid_antibodies",
        "antiphospholipid",
        False,
        2,
        "Anticardiolipin OR anti-β2GP1 OR lupus anticoagulant",
    ),
    _c("low_c3_or_low_c4", "complement", False, 3, "Low C3 OR low C4"),
    _c("low_c3_and_low_c4", "complement", False, 4, "Low C3 AND low C4"),
    _c("anti_dsdna_or_anti_sm", "sle_specific_antibodies", False, 6, "Anti-dsDNA OR anti-Smith"),
)
"""2019 EULAR/ACR criteria: key, domain, clinical?, weight, label [spec §1.9]."""

_C2019 = {c.key: c for c in EULAR_ACR_2019_CRITERIA}
_DOMAINS_2019: tuple[str, ...] = tuple(dict.fromkeys(c.domain for c in EULAR_ACR_2019_CRITERIA))

# Component keys accepted in place of an OR/AND criterion (combined with three-valued logic).
_OR_COMPONENTS_2019: Mapping[str, tuple[str, ...]] = {
    "subacute_cutaneous_or_discoid_lupus": ("subacute_cutaneous_lupus", "discoid_lupus"),
    "pleural_or_pericardial_effusion": ("pleural_effusion", "pericardial_effusion"),
    "antiphospholipid_antibodies": ("anticardiolipin", "anti_beta2gp1", "lupus_anticoagulant"),
    "low_c3_or_low_c4": ("low_c3", "low_c4"),
    "anti_dsdna_or_anti_sm": ("anti_dsdna", "anti_sm"),
}
_AND_COMPONENTS_2019: Mapping[str, tuple[str, ...]] = {"low_c3_and_low_c4": ("low_c3", "low_c4")}
_COMPONENT_KEYS_2019 = frozenset(
    k for comps in (*_OR_COMPONENTS_2019.values(), *_AND_COMPONENTS_2019.values()) for k in comps
)


def _states_2019(
    criteria_in: Criteria, rest_absent: bool
) -> tuple[dict[str, bool | None], dict[str, Any]]:
    criteria, listed = _as_mapping(criteria_in, "criteria")
    rest_absent = rest_absent or listed
    given: dict[str, bool | None] = {}
    shown: dict[str, Any] = {}
    for raw_key, raw in criteria.items():
        if not isinstance(raw_key, str):
            raise InputError("criteria", f"criterion keys must be strings, got {raw_key!r}")
        key = raw_key.strip().lower()
        if key not in _C2019 and key not in _COMPONENT_KEYS_2019:
            raise InputError(
                f"criteria.{raw_key}",
                "unknown 2019 EULAR/ACR criterion (known: "
                + ", ".join([*_C2019, *sorted(_COMPONENT_KEYS_2019)])
                + ")",
            )
        if key in given:
            raise InputError(f"criteria.{key}", "given twice")
        given[key] = _tri_of(raw, f"criteria.{key}")
        shown[key] = raw.to_dict() if isinstance(raw, CriterionFinding) else raw
    default: bool | None = False if rest_absent else None
    states: dict[str, bool | None] = {}
    for c in EULAR_ACR_2019_CRITERIA:
        comps = _OR_COMPONENTS_2019.get(c.key) or _AND_COMPONENTS_2019.get(c.key) or ()
        used = [k for k in comps if k in given]
        if c.key in given:
            if used:
                raise InputError(
                    f"criteria.{c.key}",
                    f"give either {c.key} or its components ({', '.join(comps)}), not both",
                )
            states[c.key] = given[c.key]
        elif used:
            vals = [given.get(k, default) for k in comps]
            states[c.key] = _and(vals) if c.key in _AND_COMPONENTS_2019 else _or(vals)
        else:
            states[c.key] = default
    if states["low_c3_and_low_c4"] is True and states["low_c3_or_low_c4"] is not True:
        if given.get("low_c3_or_low_c4") is False:
            raise InputError(
                "criteria.low_c3_or_low_c4", "False contradicts low_c3_and_low_c4 = True"
            )
        states["low_c3_or_low_c4"] = True  # low C3 and low C4 implies low C3 or low C4
    return states, shown


@dataclass(frozen=True, slots=True)
class _DomainResult:
    domain: str
    counted: _Criterion2019 | None  # highest-weighted criterion known to be met
    known: int
    possible: int
    also_met: tuple[_Criterion2019, ...]


def _domains_2019(states: Mapping[str, bool | None]) -> list[_DomainResult]:
    out: list[_DomainResult] = []
    for domain in _DOMAINS_2019:
        crits = [c for c in EULAR_ACR_2019_CRITERIA if c.domain == domain]
        met = [c for c in crits if states[c.key] is True]
        maybe = [c for c in crits if states[c.key] is None]
        counted = max(met, key=lambda c: c.weight) if met else None  # first of equal weights
        known = counted.weight if counted else 0
        possible = max([known, *(c.weight for c in maybe)])
        also = tuple(c for c in met if c is not counted)
        out.append(_DomainResult(domain, counted, known, possible, also))
    return out


def _domain_reasons(domains: list[_DomainResult]) -> list[str]:
    reasons: list[str] = []
    for d in domains:
        if d.counted is None and d.possible == 0:
            continue
        text = f"{d.domain}: "
        if d.counted is not None:
            text += f"{d.counted.label} counts {d.counted.weight}"
        else:
            text += "nothing known met"
        if d.also_met:
            text += (
                " (also met, not counted — lower weight in the domain: "
                + ", ".join(f"{c.label} {c.weight}" for c in d.also_met)
                + ")"
            )
        if d.possible > d.known:
            text += f"; unknown criteria could raise it to {d.possible}"
        reasons.append(text + ".")
    return reasons


def eular_acr_2019_score(criteria: Criteria, *, rest_absent: bool = False) -> Assessment[int]:
    """The 2019 EULAR/ACR additive score (0–51): sum over domains of the highest met weight.

    Not evaluable when an unknown criterion could raise a domain's weight.  The ANA entry
    criterion is not part of the score (see :func:`eular_acr_2019`).
    """
    states, shown = _states_2019(criteria, rest_absent)
    domains = _domains_2019(states)
    contributions = tuple(
        Contribution(d.counted.key, d.counted.weight, f"{d.domain}: {d.counted.label}")
        for d in domains
        if d.counted is not None
    )
    known = sum(d.known for d in domains)
    reasons = _domain_reasons(domains)
    undecided = [d for d in domains if d.possible > d.known]
    inputs = {"criteria": shown, "rest_absent": rest_absent}
    if undecided:
        missing = tuple(
            f"criteria.{c.key}"
            for d in undecided
            for c in EULAR_ACR_2019_CRITERIA
            if c.domain == d.domain and states[c.key] is None and c.weight > d.known
        )
        reasons.append(f"Known points {known}; unknown criteria could add more: not evaluable.")
        return Assessment(
            instrument="2019 EULAR/ACR SLE score",
            value=None,
            inputs=inputs,
            contributions=contributions,
            reasons=tuple(reasons),
            missing=missing,
        )
    reasons.append(f"Total {known} (maximum 51).")
    return Assessment(
        instrument="2019 EULAR/ACR SLE score",
        value=known,
        inputs=inputs,
        contributions=contributions,
        reasons=tuple(reasons),
    )


def eular_acr_2019(
    criteria: Criteria,
    *,
    ana_ge_1_80: bool | None,
    rest_absent: bool = False,
    threshold: int = 10,
) -> Assessment[bool]:
    """2019 EULAR/ACR SLE classification [spec §1.9].

    Args:
        criteria: criterion key → status, or the set of criteria met (all others then not
            met).  Keys as in :data:`EULAR_ACR_2019_CRITERIA`; the
            OR/AND criteria may instead be given by components (``low_c3``, ``low_c4``,
            ``anti_dsdna``, ``anti_sm``, ``subacute_cutaneous_lupus``, ``discoid_lupus``,
            ``pleural_effusion``, ``pericardial_effusion``, ``anticardiolipin``,
            ``anti_beta2gp1``, ``lupus_anticoagulant``).
        ana_ge_1_80: entry criterion, ANA ≥1:80 on HEp-2 (or equivalent) at least once.
        rest_absent: criteria not listed are absent (default: unknown).
        threshold: classification threshold, 10 points (published); kept as a parameter only
            for sensitivity analyses.

    Returns:
        ``True`` classified, ``False`` not classified, ``None`` not evaluable; contributions
        are the criteria that counted (the highest per domain).
    """
    if ana_ge_1_80 is not None and not isinstance(ana_ge_1_80, bool):
        raise InputError("ana_ge_1_80", f"must be True, False or None, got {ana_ge_1_80!r}")
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
        raise InputError("threshold", f"must be a positive integer, got {threshold!r}")
    states, shown = _states_2019(criteria, rest_absent)
    domains = _domains_2019(states)
    score_min = sum(d.known for d in domains)
    score_max = sum(d.possible for d in domains)
    clinical = {c.domain for c in EULAR_ACR_2019_CRITERIA if c.clinical}
    clinical_known = any(d.counted is not None for d in domains if d.domain in clinical)
    clinical_possible = any(d.possible > 0 for d in domains if d.domain in clinical)
    clinical_state = True if clinical_known else (None if clinical_possible else False)
    contributions = tuple(
        Contribution(d.counted.key, d.counted.weight, f"{d.domain}: {d.counted.label}")
        for d in domains
        if d.counted is not None
    )
    reasons = [
        "Entry criterion ANA ≥1:80 (HEp-2 or equivalent, at least once): "
        + {True: "met", False: "not met", None: "unknown"}[ana_ge_1_80]
        + ".",
        *_domain_reasons(domains),
        f"Score {score_min}"
        + (f" (up to {score_max} with unknown criteria)" if score_max > score_min else "")
        + f"; ≥1 clinical criterion: {_word(clinical_state)}.",
    ]
    value: bool | None
    missing: tuple[str, ...] = ()
    if ana_ge_1_80 is False:
        value = False
        reasons.append("Not classified: the ANA entry criterion is not met.")
    elif score_max < threshold:
        value = False
        reasons.append(f"Not classified: score at most {score_max} < {threshold}.")
    elif not clinical_possible:
        value = False
        reasons.append("Not classified: no clinical criterion is met.")
    elif ana_ge_1_80 is True and score_min >= threshold and clinical_known:
        value = True
        reasons.append(
            f"Classified as SLE: entry criterion met, score {score_min} ≥ {threshold}, "
            "≥1 clinical criterion."
        )
    else:
        value = None
        miss: list[str] = [] if ana_ge_1_80 is not None else ["ana_ge_1_80"]
        miss.extend(f"criteria.{k}" for k, s in states.items() if s is None)
        missing = tuple(miss)
        reasons.append("Not evaluable: unknown items could change the classification.")
    return Assessment(
        instrument="2019 EULAR/ACR SLE classification",
        value=value,
        inputs={
            "ana_ge_1_80": ana_ge_1_80,
            "criteria": shown,
            "rest_absent": rest_absent,
            "threshold": threshold,
            "score_known": score_min,
        },
        contributions=contributions,
        reasons=tuple(reasons),
        missing=missing,
    )


# ---------------------------------------------------------------------------------------------
# 1997 ACR revised criteria


ACR_1997_CRITERIA: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("malar_rash", "1 Malar rash", ()),
    ("discoid_rash", "2 Discoid rash", ()),
    ("photosensitivity", "3 Photosensitivity", ()),
    ("oral_ulcers", "4 Oral ulcers", ()),
    ("arthritis", "5 Non-erosive arthritis of ≥2 peripheral joints", ()),
    ("serositis", "6 Serositis (pleuritis or pericarditis)", ("pleuritis", "pericarditis")),
    (
        "renal_disorder",
        "7 Renal disorder (persistent proteinuria >0.5 g/day or >3+, or cellular casts)",
        ("persistent_proteinuria", "cellular_casts"),
    ),
    (
        "neurologic_disorder",
        "8 Neurological disorder (seizures or psychosis)",
        ("seizures", "psychosis"),
    ),
    (
        "haematologic_disorder",
        "9 Haematological disorder (haemolytic anaemia with reticulocytosis; leukopenia "
        "<4.0×10⁹/L ≥2 occasions; lymphopenia <1.5×10⁹/L ≥2 occasions; thrombocytopenia "
        "<100×10⁹/L)",
        ("haemolytic_anaemia", "leukopenia", "lymphopenia", "thrombocytopenia"),
    ),
    (
        "immunologic_disorder",
        "10 Immunological disorder (anti-native DNA, anti-Sm, or antiphospholipid antibodies)",
        ("anti_dna", "anti_sm", "antiphospholipid"),
    ),
    ("antinuclear_antibody", "11 Antinuclear antibody in raised titre", ()),
)
"""The 11 criteria of the 1997 ACR revision: key, label, OR-group sub-items [spec §1.10]."""

ACR_1997_THRESHOLD = 4
"""≥4 of 11 criteria [Hochberg 1997; ard.bmj.com table 176202] [S]."""


def acr_1997(criteria: Criteria, *, rest_absent: bool = False) -> Assessment[bool]:
    """1997 ACR revised SLE classification: ≥4 of the 11 criteria [spec §1.10].

    A numbered criterion may be given directly (``"serositis": True``) or by its sub-items
    (``"pleuritis"``, ``"pericarditis"``); it counts once however many sub-items are met.
    A criterion given as ``False`` together with a met sub-item is contradictory.
    """
    given_map, listed = _as_mapping(criteria, "criteria")
    rest_absent = rest_absent or listed
    sub_of = {s: key for key, _label, subs in ACR_1997_CRITERIA for s in subs}
    keys = {key for key, _l, _s in ACR_1997_CRITERIA}
    given: dict[str, bool | None] = {}
    shown: dict[str, Any] = {}
    for raw_key, raw in given_map.items():
        if not isinstance(raw_key, str):
            raise InputError("criteria", f"criterion keys must be strings, got {raw_key!r}")
        key = raw_key.strip().lower()
        if key not in keys and key not in sub_of:
            raise InputError(
                f"criteria.{raw_key}",
                "unknown 1997 ACR criterion (known: " + ", ".join([*keys, *sub_of]) + ")",
            )
        if key in given:
            raise InputError(f"criteria.{key}", "given twice")
        given[key] = _tri_of(raw, f"criteria.{key}")
        shown[key] = raw.to_dict() if isinstance(raw, CriterionFinding) else raw
    default: bool | None = False if rest_absent else None
    states: list[tuple[str, str, bool | None, tuple[str, ...]]] = []
    for key, label, subs in ACR_1997_CRITERIA:
        met_subs = tuple(s for s in subs if given.get(s) is True)
        if key in given:
            state = given[key]
            if state is False and met_subs:
                raise InputError(
                    f"criteria.{key}", f"False contradicts met sub-item(s): {', '.join(met_subs)}"
                )
            if state is None and met_subs:
                state = True
        elif any(s in given for s in subs):
            state = _or(given.get(s, default) for s in subs)
        else:
            state = default
        states.append((key, label, state, met_subs))
    n_min = sum(1 for *_x, s, _m in states if s is True)
    n_max = sum(1 for *_x, s, _m in states if s is not False)
    contributions = tuple(
        Contribution(key, 1, label + (f" — via {', '.join(m)}" if m else ""))
        for key, label, s, m in states
        if s is True
    )
    reasons = [f"{label}: {_word(s)}." for _k, label, s, _m in states]
    value: bool | None
    missing: tuple[str, ...] = ()
    if n_min >= ACR_1997_THRESHOLD:
        value = True
        reasons.append(f"{n_min} of 11 criteria met (≥4): classified as SLE.")
    elif n_max < ACR_1997_THRESHOLD:
        value = False
        reasons.append(f"At most {n_max} of 11 criteria can be met (<4): not classified.")
    else:
        value = None
        missing = tuple(f"criteria.{k}" for k, _l, s, _m in states if s is None)
        reasons.append(f"{n_min} met, up to {n_max} with unknown criteria: not evaluable.")
    return Assessment(
        instrument="1997 ACR revised SLE classification",
        value=value,
        inputs={"criteria": shown, "rest_absent": rest_absent},
        contributions=contributions,
        reasons=tuple(reasons),
        missing=missing,
    )


def sle_classified_by_either(
    eular_2019: Assessment[bool], acr_1997_result: Assessment[bool]
) -> Assessment[bool]:
    """Seed 000 "2019 EULAR/1997 ACR": classified by either set (read as OR, flagged).

    The seed text is ambiguous (spec §0 table): it is read as either criteria set, and the
    result always carries ``needs_review=True`` so a person confirms the reading.
    """
    for name, a in (("eular_2019", eular_2019), ("acr_1997_result", acr_1997_result)):
        if not isinstance(a, Assessment):
            raise InputError(name, "must be an Assessment from this module")
    value = _or([eular_2019.value, acr_1997_result.value])
    missing: tuple[str, ...] = ()
    if value is None:
        missing = tuple(dict.fromkeys((*eular_2019.missing, *acr_1997_result.missing)))
    return Assessment(
        instrument="SLE classification: 2019 EULAR/ACR or 1997 ACR (seed 000 reading)",
        value=value,
        inputs={"eular_2019": eular_2019.value, "acr_1997": acr_1997_result.value},
        contributions=(
            Contribution("eular_acr_2019", None, f"2019 EULAR/ACR: {_word(eular_2019.value)}"),
            Contribution("acr_1997", None, f"1997 ACR: {_word(acr_1997_result.value)}"),
        ),
        reasons=(
            f"2019 EULAR/ACR {_word(eular_2019.value)}; 1997 ACR {_word(acr_1997_result.value)}.",
            "Needs review: seed 000 says '2019 EULAR/1997 ACR'; read here as either set.",
        ),
        missing=missing,
        needs_review=True,
    )


# ---------------------------------------------------------------------------------------------
# 2017 EULAR/ACR idiopathic inflammatory myopathies


class IimCategory(StrEnum):
    """2017 EULAR/ACR IIM category by score cut-off [Lundberg/Bottai 2017] [P-abstract]."""

    DEFINITE = "definite IIM (≥90%)"
    PROBABLE = "probable IIM (≥55%)"
    POSSIBLE = "possible IIM (≥50% to <55%)"
    NOT_IIM = "not IIM (<50%)"

    @property
    def at_least_probable(self) -> bool:
        """Probability ≥55% — the recommended minimum; seeds 000/001 use this cut-off."""
        return self in (IimCategory.DEFINITE, IimCategory.PROBABLE)


IIM_2017_ITEMS: Mapping[str, tuple[Decimal | None, Decimal, str]] = {
    # key: (weight without biopsy, weight with biopsy, label) [rmdopen.bmj.com table 137083] [S]
    "proximal_upper_weakness": (
        Decimal("0.7"),
        Decimal("0.7"),
        "Objective symmetric weakness, proximal upper extremities",
    ),
    "proximal_lower_weakness": (
        Decimal("0.8"),
        Decimal("0.5"),
        "Objective symmetric weakness, proximal lower extremities",
    ),
    "neck_flexors_weaker": (Decimal("1.9"), Decimal("1.6"), "Neck flexors weaker than extensors"),
    "legs_proximal_weaker": (
        Decimal("0.9"),
        Decimal("1.2"),
        "In the legs proximal muscles weaker than distal",
    ),
    "heliotrope_rash": (Decimal("3.1"), Decimal("3.2"), "Heliotrope rash"),
    "gottron_papules": (Decimal("2.1"), Decimal("2.7"), "Gottron's papules"),
    "gottron_sign": (Decimal("3.3"), Decimal("3.7"), "Gottron's sign"),
    "dysphagia": (Decimal("0.7"), Decimal("0.6"), "Dysphagia or oesophageal dysmotility"),
    "anti_jo1": (Decimal("3.9"), Decimal("3.8"), "Anti-Jo-1 antibody positive"),
    "elevated_muscle_enzymes": (
        Decimal("1.3"),
        Decimal("1.4"),
        "Elevated CK, LDH, AST or ALT (>ULN)",
    ),
    "biopsy_endomysial_infiltrate": (
        None,
        Decimal("1.7"),
        "Endomysial mononuclear infiltrate surrounding, not invading, myofibres",
    ),
    "biopsy_perimysial_perivascular": (
        None,
        Decimal("1.2"),
        "Perimysial and/or perivascular mononuclear infiltration",
    ),
    "biopsy_perifascicular_atrophy": (None, Decimal("1.9"), "Perifascicular atrophy"),
    "biopsy_rimmed_vacuoles": (None, Decimal("3.1"), "Rimmed vacuoles"),
}
"""2017 EULAR/ACR IIM items with weights without / with muscle biopsy [spec §4.10]."""

_IIM_AGE_ROWS: tuple[tuple[Decimal, Decimal | None, Decimal, Decimal, str], ...] = (
    # (from age incl., to age excl., weight without biopsy, with biopsy) [rheumatologytt] [W]
    (Decimal(18), Decimal(40), Decimal("1.3"), Decimal("1.5"), "age at onset ≥18 and <40"),
    (Decimal(40), None, Decimal("2.1"), Decimal("2.2"), "age at onset ≥40"),
)
_IIM_CUTOFFS: Mapping[bool, tuple[Decimal, Decimal, Decimal]] = {
    # biopsy? → (possible ≥, probable ≥, definite ≥) [Lundberg/Bottai 2017] [P-abstract]
    False: (Decimal("5.3"), Decimal("5.5"), Decimal("7.5")),
    True: (Decimal("6.5"), Decimal("6.7"), Decimal("8.7")),
}
_SKIN_ITEMS = ("heliotrope_rash", "gottron_papules", "gottron_sign")


def _iim_category(score: Decimal, biopsy: bool) -> IimCategory:
    possible, probable, definite = _IIM_CUTOFFS[biopsy]
    if score >= definite:
        return IimCategory.DEFINITE
    if score >= probable:
        return IimCategory.PROBABLE
    if score >= possible:
        return IimCategory.POSSIBLE
    return IimCategory.NOT_IIM


def _age_weight(age: Decimal, biopsy: bool) -> tuple[Decimal, str]:
    for lo, hi, w_no, w_bx, label in _IIM_AGE_ROWS:
        if age >= lo and (hi is None or age < hi):
            return (w_bx if biopsy else w_no), label
    return Decimal(0), "age at onset <18 (no points)"


def iim_2017(
    items: Mapping[str, bool | None] | AbstractSet[str] | Sequence[str],
    *,
    age_at_onset_years: Number | None,
    muscle_biopsy: bool,
    better_explanation: bool | None = False,
    rest_absent: bool = False,
) -> Assessment[IimCategory]:
    """2017 EULAR/ACR IIM classification category from the exact summed score.

    Args:
        items: item key (see :data:`IIM_2017_ITEMS`) → ``True``/``False``/``None``.
        age_at_onset_years: age at onset of the first symptom (years).
        muscle_biopsy: a muscle biopsy is available (selects the weight column and cut-offs);
            biopsy items must not be met without one.
        better_explanation: a better explanation of the symptoms exists (then the criteria do
            not apply: not IIM).
        rest_absent: items not listed are absent (default: unknown).

    Returns:
        The category (definite / probable / possible / not IIM); contributions are the items
        with their exact weights.  Not evaluable when unknown items could change the category,
        or when no skin feature is present and there is no biopsy (a biopsy is then needed).
    """
    if not isinstance(muscle_biopsy, bool):
        raise InputError("muscle_biopsy", "must be True or False")
    if better_explanation is not None and not isinstance(better_explanation, bool):
        raise InputError("better_explanation", "must be True, False or None")
    item_map, listed = _as_mapping(items, "items")
    rest_absent = rest_absent or listed
    states: dict[str, bool | None] = {}
    for raw_key, raw in item_map.items():
        key = raw_key.strip().lower() if isinstance(raw_key, str) else raw_key
        if key not in IIM_2017_ITEMS:
            raise InputError(
                f"items.{raw_key}", f"unknown 2017 IIM item (known: {', '.join(IIM_2017_ITEMS)})"
            )
        if raw is not None and not isinstance(raw, bool):
            raise InputError(f"items.{key}", f"must be True, False or None, got {raw!r}")
        if key in states:
            raise InputError(f"items.{key}", "given twice")
        if IIM_2017_ITEMS[key][0] is None and not muscle_biopsy and raw is True:
            raise InputError(f"items.{key}", "a biopsy finding requires muscle_biopsy=True")
        states[key] = raw
    for key, (w_no, _w, _l) in IIM_2017_ITEMS.items():
        if key not in states:
            states[key] = False if (rest_absent or (w_no is None and not muscle_biopsy)) else None

    age = (
        None
        if age_at_onset_years is None
        else exact_decimal(age_at_onset_years, "age_at_onset_years")
    )
    if age is not None and not Decimal(0) <= age <= Decimal(120):
        raise InputError(
            "age_at_onset_years", f"must lie in 0–120 years, got {age_at_onset_years!r}"
        )

    contributions: list[Contribution] = []
    known = Decimal(0)
    possible = Decimal(0)
    if age is None:
        possible += max(r[3] if muscle_biopsy else r[2] for r in _IIM_AGE_ROWS)
    else:
        w, label = _age_weight(age, muscle_biopsy)
        known += w
        possible += w
        if w:
            contributions.append(Contribution("age_at_onset", float(w), f"{label} ({age} y)"))
    for key, (w_no, w_bx, label) in IIM_2017_ITEMS.items():
        weight = w_bx if muscle_biopsy else w_no
        if weight is None:
            continue
        if states[key] is True:
            known += weight
            possible += weight
            contributions.append(Contribution(key, float(weight), label))
        elif states[key] is None:
            possible += weight

    column = "with muscle biopsy" if muscle_biopsy else "without muscle biopsy"
    cut = _IIM_CUTOFFS[muscle_biopsy]
    reasons = [
        f"Weights {column}; cut-offs possible ≥{cut[0]}, probable ≥{cut[1]}, definite ≥{cut[2]}.",
        "Score = "
        + (" + ".join(f"{Decimal(str(c.points))}" for c in contributions) or "0")
        + f" = {known}"
        + (f" (up to {possible} with unknown items)" if possible > known else "")
        + ".",
    ]
    inputs: dict[str, Any] = {
        "items": dict(states),
        "age_at_onset_years": age_at_onset_years,
        "muscle_biopsy": muscle_biopsy,
        "better_explanation": better_explanation,
        "score_known": str(known),
    }
    instrument = "2017 EULAR/ACR IIM classification"

    def result(
        value: IimCategory | None, reason: str, missing: tuple[str, ...] = ()
    ) -> Assessment[IimCategory]:
        return Assessment(
            instrument=instrument,
            value=value,
            inputs=inputs,
            contributions=tuple(contributions),
            reasons=(*reasons, reason),
            missing=missing,
        )

    if better_explanation is True:
        return result(
            IimCategory.NOT_IIM, "A better explanation exists: the criteria do not apply."
        )
    lo, hi = _iim_category(known, muscle_biopsy), _iim_category(possible, muscle_biopsy)
    unknown = tuple(f"items.{k}" for k, s in states.items() if s is None) + (
        ("age_at_onset_years",) if age is None else ()
    )
    if not muscle_biopsy:
        skin = [states[k] for k in _SKIN_ITEMS]
        if all(s is False for s in skin):
            return result(
                None,
                "No heliotrope rash, Gottron's papules or Gottron's sign and no muscle biopsy: "
                "a biopsy is needed to classify.",
                ("muscle_biopsy",),
            )
        if not any(s is True for s in skin):
            return result(
                None,
                "Skin features unknown and no muscle biopsy: cannot tell whether a biopsy is "
                "needed.",
                tuple(f"items.{k}" for k in _SKIN_ITEMS if states[k] is None),
            )
    if better_explanation is None:
        if lo is IimCategory.NOT_IIM and hi is IimCategory.NOT_IIM:
            return result(IimCategory.NOT_IIM, f"Score at most {possible}: not IIM.")
        return result(
            None, "Whether a better explanation exists is unknown.", ("better_explanation",)
        )
    if lo is not hi:
        return result(None, f"Category between {lo.value} and {hi.value}: not evaluable.", unknown)
    return result(lo, f"Category: {lo.value}.")
