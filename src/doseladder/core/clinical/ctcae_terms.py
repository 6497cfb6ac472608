"""CTCAE v5.0 non-laboratory adverse-event terms: each term's grade definitions and its SOC.

A non-laboratory term is graded by a person who *chooses* the grade from the term's own
definitions (:func:`grade_term`); laboratory terms keep the computed grades of
:mod:`.ctcae` (:func:`~doseladder.core.clinical.ctcae.grade_lab`), and CRS / ICANS the ASTCT
forms of :mod:`.astct` — asking :func:`grade_term` for one of those raises an
:class:`~doseladder.core.errors.InputError` that says where its grade comes from.

Source: NCI CTCAE v5.0, 27 Nov 2017 [ctep.cancer.gov CTCAE_v5_Quick_Reference_8.5x11.pdf, P;
also studylib.net/doc/26082781/ctcae-v5].  Definitions are transcribed as close to verbatim as
possible ("–" cells, i.e. grades that do not exist for a term, are simply absent).  Terms whose
rows could not be checked against the document, or that are not CTCAE terms at all, carry
``needs_review`` with a note (e.g. hypogammaglobulinaemia: CTCAE v5.0 has no such term, spec
``clinical.md`` §3.3 — it is recorded under "Immune system disorders - Other, specify", whose
grades are the CTCAE general grade meanings).

The set is chosen for cell therapy in autoimmune disease: constitutional and infusion events,
the organ events of CRS that CTCAE grades separately (hypotension, hypoxia), infections,
gastrointestinal, neurological, skin, tumour-lysis-like metabolic/renal, hepatic and cardiac
rhythm terms, hypogammaglobulinaemia, and death.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from doseladder.core.clinical.ctcae import CTCAEVersion, LabTerm, require_version
from doseladder.core.clinical.dlt import TERM_CRS, TERM_ICANS
from doseladder.core.clinical.result import Assessment, Contribution
from doseladder.core.errors import InputError

__all__ = [
    "CTCAE_TERMS",
    "GENERAL_GRADE_MEANINGS",
    "SOC_BLOOD",
    "SOC_INVESTIGATIONS",
    "CTCAETerm",
    "TermKind",
    "all_term_names",
    "canonical_term",
    "grade_term",
    "lookup_term",
    "term_kind",
]

SOC_BLOOD = "Blood and lymphatic system disorders"
SOC_INVESTIGATIONS = "Investigations"

GENERAL_GRADE_MEANINGS: Mapping[int, str] = MappingProxyType(
    {
        1: "Mild; asymptomatic or mild symptoms; clinical or diagnostic observations only; "
        "intervention not indicated.",
        2: "Moderate; minimal, local or noninvasive intervention indicated; limiting "
        "age-appropriate instrumental ADL.",
        3: "Severe or medically significant but not immediately life-threatening; "
        "hospitalization or prolongation of existing hospitalization indicated; disabling; "
        "limiting self care ADL.",
        4: "Life-threatening consequences; urgent intervention indicated.",
        5: "Death related to AE.",
    }
)
"""CTCAE v5.0 general grade meanings (Introduction) [studylib CTCAE v5, P]."""

_LIFE = "Life-threatening consequences; urgent intervention indicated"
_DEATH = "Death"


@dataclass(frozen=True, slots=True)
class CTCAETerm:
    """One CTCAE v5.0 term with its grade definitions.

    Attributes:
        name: the CTCAE term (spelling of the CTCAE document, US English).
        soc: its MedDRA System Organ Class.
        grades: grade → definition; grades absent from the mapping do not exist ("–").
        definition: the CTCAE definition of the term, shortened where long.
        aliases: other spellings accepted by :func:`lookup_term` (e.g. British English).
        needs_review: the row must be confirmed (see ``review_note``).
        review_note: why.
    """

    name: str
    soc: str
    grades: Mapping[int, str]
    definition: str = ""
    aliases: tuple[str, ...] = ()
    needs_review: bool = False
    review_note: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "grades", MappingProxyType(dict(self.grades)))

    @property
    def grade_numbers(self) -> tuple[int, ...]:
        return tuple(sorted(self.grades))

    def describe(self) -> str:
        lines = [f"{self.name} ({self.soc}, CTCAE v5.0)"]
        for g in range(1, 6):
            lines.append(f"  Grade {g}: {self.grades.get(g, '–')}")
        if self.needs_review:
            lines.append(f"  REVIEW: {self.review_note}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "term": self.name,
            "soc": self.soc,
            "definition": self.definition,
            "grades": {str(g): t for g, t in sorted(self.grades.items())},
            "needs_review": self.needs_review,
            "review_note": self.review_note,
        }


def _t(
    name: str,
    soc: str,
    grades: dict[int, str],
    definition: str = "",
    aliases: tuple[str, ...] = (),
    review: str | None = None,
) -> CTCAETerm:
    return CTCAETerm(name, soc, grades, definition, aliases, review is not None, review)


_GEN = "General disorders and administration site conditions"
_INF = "Infections and infestations"
_GI = "Gastrointestinal disorders"
_INFECTION_REVIEW = (
    "Infection rows transcribed from the common CTCAE v5.0 infection pattern; confirm the "
    "term's own row against the CTCAE v5.0 workbook (spec clinical.md §3.2, §7 item 6)."
)
_INFECTION_GRADES = {
    2: "Moderate symptoms; oral intervention indicated (e.g., antibiotic, antifungal, antiviral)",
    3: "IV antibiotic, antifungal, or antiviral intervention indicated; invasive intervention "
    "indicated",
    4: _LIFE,
    5: _DEATH,
}

_TERMS: tuple[CTCAETerm, ...] = (
    # ---------------------------------------------------------------- general / constitutional
    _t(
        "Fever",
        _GEN,
        {
            1: "38.0 - 39.0 degrees C (100.4 - 102.2 degrees F)",
            2: ">39.0 - 40.0 degrees C (102.3 - 104.0 degrees F)",
            3: ">40.0 degrees C (>104.0 degrees F) for <=24 hrs",
            4: ">40.0 degrees C (>104.0 degrees F) for >24 hrs",
            5: _DEATH,
        },
        "Elevation of the body's temperature above the upper limit of normal.",
        ("pyrexia",),
    ),
    _t(
        "Chills",
        _GEN,
        {
            1: "Mild sensation of cold; shivering; chattering of teeth",
            2: "Moderate tremor of the entire body; narcotics indicated",
            3: "Severe or prolonged, not responsive to narcotics",
        },
        "A sensation of cold that often marks a physiologic response to sweating after a fever.",
        ("rigors",),
    ),
    _t(
        "Fatigue",
        _GEN,
        {
            1: "Fatigue relieved by rest",
            2: "Fatigue not relieved by rest; limiting instrumental ADL",
            3: "Fatigue not relieved by rest, limiting self care ADL",
        },
        "A state of generalized weakness with a pronounced inability to summon sufficient "
        "energy to accomplish daily activities.",
    ),
    _t(
        "Infusion related reaction",
        _GEN,
        {
            1: "Mild transient reaction; infusion interruption not indicated; intervention not "
            "indicated",
            2: "Therapy or infusion interruption indicated but responds promptly to symptomatic "
            "treatment (e.g., antihistamines, NSAIDS, narcotics, IV fluids); prophylactic "
            "medications indicated for <=24 hrs",
            3: "Prolonged (e.g., not rapidly responsive to symptomatic medication and/or brief "
            "interruption of infusion); recurrence of symptoms following initial improvement; "
            "hospitalization indicated for clinical sequelae",
            4: _LIFE,
            5: _DEATH,
        },
        "A disorder characterized by adverse reaction to the infusion of pharmacological or "
        "biological substances.",
    ),
    _t(
        "Death NOS",
        _GEN,
        {5: _DEATH},
        "Death that cannot be attributed to a CTCAE term associated with grade 5.",
    ),
    # ---------------------------------------------------------------- vascular / respiratory
    _t(
        "Hypotension",
        "Vascular disorders",
        {
            1: "Asymptomatic, intervention not indicated",
            2: "Non-urgent medical intervention indicated",
            3: "Medical intervention indicated; hospitalization indicated",
            4: "Life-threatening consequences and urgent intervention indicated",
            5: _DEATH,
        },
        "A blood pressure that is below the normal expected for an individual in a given "
        "environment.",
    ),
    _t(
        "Hypoxia",
        "Respiratory, thoracic and mediastinal disorders",
        {
            2: "Decreased oxygen saturation with exercise (e.g., pulse oximeter <88%); "
            "intermittent supplemental oxygen",
            3: "Decreased oxygen saturation at rest (e.g., pulse oximeter <88% or PaO2 <=55 mm Hg)",
            4: "Life-threatening airway compromise; urgent intervention indicated (e.g., "
            "tracheotomy or intubation)",
            5: _DEATH,
        },
        "A decrease in the level of oxygen in the body.",
    ),
    # ---------------------------------------------------------------- blood
    _t(
        "Febrile neutropenia",
        SOC_BLOOD,
        {
            3: "ANC <1000/mm3 with a single temperature of >38.3 degrees C (101 degrees F) or "
            "a sustained temperature of >=38 degrees C (100.4 degrees F) for more than one hour",
            4: _LIFE,
            5: _DEATH,
        },
        "ANC <1000/mm3 and a single temperature of >38.3 °C or a sustained temperature of "
        ">=38 °C for more than one hour (computable: ctcae.grade_febrile_neutropenia).",
    ),
    # ---------------------------------------------------------------- infections
    _t(
        "Sepsis",
        _INF,
        {4: _LIFE, 5: _DEATH},
        "Presence of pathogenic microorganisms in the blood stream that cause a rapidly "
        "progressing systemic reaction that may lead to shock.",
        review=_INFECTION_REVIEW,
    ),
    _t(
        "Lung infection",
        _INF,
        dict(_INFECTION_GRADES),
        "An infectious process involving the lungs, including pneumonia.",
        ("pneumonia",),
        review=_INFECTION_REVIEW,
    ),
    _t(
        "Upper respiratory infection",
        _INF,
        dict(_INFECTION_GRADES),
        "An infectious process involving the upper respiratory tract.",
        review=_INFECTION_REVIEW,
    ),
    _t(
        "Urinary tract infection",
        _INF,
        dict(_INFECTION_GRADES),
        "An infectious process involving the urinary tract.",
        review=_INFECTION_REVIEW,
    ),
    _t(
        "Herpes zoster",
        _INF,
        {
            1: "Localized; local intervention indicated",
            2: "Oral intervention indicated (e.g., antiviral)",
            3: "IV intervention indicated (e.g., antiviral); invasive intervention indicated",
            4: _LIFE,
            5: _DEATH,
        },
        "Reactivation of the varicella zoster virus.",
        review=_INFECTION_REVIEW,
    ),
    # ---------------------------------------------------------------- gastrointestinal
    _t(
        "Nausea",
        _GI,
        {
            1: "Loss of appetite without alteration in eating habits",
            2: "Oral intake decreased without significant weight loss, dehydration or malnutrition",
            3: "Inadequate oral caloric or fluid intake; tube feeding, TPN, or hospitalization "
            "indicated",
        },
        "A queasy sensation and/or the urge to vomit.",
    ),
    _t(
        "Vomiting",
        _GI,
        {
            1: "Intervention not indicated",
            2: "Outpatient IV hydration; medical intervention indicated",
            3: "Tube feeding, TPN, or hospitalization indicated",
            4: _LIFE,
            5: _DEATH,
        },
        "The reflexive act of ejecting the contents of the stomach through the mouth.",
    ),
    _t(
        "Diarrhea",
        _GI,
        {
            1: "Increase of <4 stools per day over baseline; mild increase in ostomy output "
            "compared to baseline",
            2: "Increase of 4 - 6 stools per day over baseline; moderate increase in ostomy "
            "output compared to baseline; limiting instrumental ADL",
            3: "Increase of >=7 stools per day over baseline; hospitalization indicated; severe "
            "increase in ostomy output compared to baseline; limiting self care ADL",
            4: _LIFE,
            5: _DEATH,
        },
        "An increase in frequency and/or loose or watery bowel movements.",
        ("diarrhoea",),
    ),
    _t(
        "Anorexia",
        "Metabolism and nutrition disorders",
        {
            1: "Loss of appetite without alteration in eating habits",
            2: "Oral intake altered without significant weight loss or malnutrition; oral "
            "nutritional supplements indicated",
            3: "Associated with significant weight loss or malnutrition (e.g., inadequate oral "
            "caloric and/or fluid intake); tube feeding or TPN indicated",
            4: _LIFE,
            5: _DEATH,
        },
        "A loss of appetite.",
    ),
    # ---------------------------------------------------------------- nervous / musculoskeletal
    _t(
        "Headache",
        "Nervous system disorders",
        {
            1: "Mild pain",
            2: "Moderate pain; limiting instrumental ADL",
            3: "Severe pain; limiting self care ADL",
        },
        "Pain in various parts of the head, not confined to the area of distribution of any nerve.",
    ),
    _t(
        "Myalgia",
        "Musculoskeletal and connective tissue disorders",
        {
            1: "Mild pain",
            2: "Moderate pain; limiting instrumental ADL",
            3: "Severe pain; limiting self care ADL",
        },
        "Marked discomfort sensation originating from a muscle or group of muscles.",
    ),
    # ---------------------------------------------------------------- skin
    _t(
        "Rash maculo-papular",
        "Skin and subcutaneous tissue disorders",
        {
            1: "Macules/papules covering <10% BSA with or without symptoms (e.g., pruritus, "
            "burning, tightness)",
            2: "Macules/papules covering 10 - 30% BSA with or without symptoms (e.g., "
            "pruritus, burning, tightness); limiting instrumental ADL; rash covering > 30% BSA "
            "with or without mild symptoms",
            3: "Macules/papules covering >30% BSA with moderate or severe symptoms; limiting "
            "self care ADL",
        },
        "The presence of macules (flat) and papules (elevated).",
        ("rash", "maculopapular rash"),
    ),
    # ---------------------------------------------------------------- tumour-lysis-like, renal
    _t(
        "Tumor lysis syndrome",
        "Metabolism and nutrition disorders",
        {3: "Present", 4: _LIFE, 5: _DEATH},
        "Metabolic abnormalities that result from a spontaneous or therapy-related cytolysis.",
        ("tumour lysis syndrome",),
    ),
    _t(
        "Hyperuricemia",
        "Metabolism and nutrition disorders",
        {
            1: ">ULN without physiologic consequences",
            3: ">ULN with physiologic consequences",
            4: _LIFE,
            5: _DEATH,
        },
        "Laboratory test results that indicate an elevation in the concentration of uric acid.",
        ("hyperuricaemia",),
        review="v5.0 row transcribed from memory of the CTCAE document; confirm the grade 1 "
        "and 3 wording against the workbook.",
    ),
    _t(
        "Hyperkalemia",
        "Metabolism and nutrition disorders",
        {
            1: ">ULN - 5.5 mmol/L",
            2: ">5.5 - 6.0 mmol/L; intervention initiated",
            3: ">6.0 - 7.0 mmol/L; hospitalization indicated",
            4: ">7.0 mmol/L; life-threatening consequences",
            5: _DEATH,
        },
        "Laboratory test results that indicate an elevation in the concentration of potassium "
        "in the blood (the grade is chosen from the value and its consequences).",
        ("hyperkalaemia",),
    ),
    _t(
        "Acute kidney injury",
        "Renal and urinary disorders",
        {
            3: "Hospitalization indicated",
            4: "Life-threatening consequences; dialysis indicated",
            5: _DEATH,
        },
        "The acute loss of renal function (creatinine is graded separately: "
        "'Creatinine increased').",
    ),
    # ---------------------------------------------------------------- hepatic
    _t(
        "Hepatic failure",
        "Hepatobiliary disorders",
        {
            3: "Asterixis; mild encephalopathy; drug-induced liver injury (DILI); limiting self "
            "care ADL",
            4: "Life-threatening consequences; moderate to severe encephalopathy; coma",
            5: _DEATH,
        },
        "The inability of the liver to metabolize chemicals in the body (ALT, AST and "
        "bilirubin are laboratory terms graded from their values).",
    ),
    # ---------------------------------------------------------------- cardiac
    _t(
        "Sinus tachycardia",
        "Cardiac disorders",
        {
            1: "Asymptomatic, intervention not indicated",
            2: "Symptomatic; non-urgent medical intervention indicated",
            3: "Urgent medical intervention indicated",
        },
        "A heart rate greater than 100 beats per minute that originates in the sinus node.",
    ),
    _t(
        "Atrial fibrillation",
        "Cardiac disorders",
        {
            1: "Asymptomatic, intervention not indicated",
            2: "Non-urgent medical intervention indicated",
            3: "Symptomatic, urgent intervention indicated; device (e.g., pacemaker); "
            "ablation; new onset",
            4: "Life-threatening consequences; embolism requiring urgent intervention",
            5: _DEATH,
        },
        "A dysrhythmia without discernible P waves and an irregular ventricular response.",
    ),
    # ---------------------------------------------------------------- immune
    _t(
        "Immune system disorders - Other, specify",
        "Immune system disorders",
        {
            1: "Asymptomatic or mild symptoms; clinical or diagnostic observations only; "
            "intervention not indicated",
            2: "Moderate; minimal, local or noninvasive intervention indicated; limiting "
            "age-appropriate instrumental ADL",
            3: "Severe or medically significant but not immediately life-threatening; "
            "hospitalization or prolongation of existing hospitalization indicated; disabling; "
            "limiting self care ADL",
            4: _LIFE,
            5: "Death related to AE",
        },
        "Used for hypogammaglobulinaemia: CTCAE v5.0 has no such term (spec §3.3).",
        ("hypogammaglobulinemia", "hypogammaglobulinaemia"),
        review="Hypogammaglobulinaemia is not a CTCAE v5.0 term (spec clinical.md §3.3): it is "
        "recorded as 'Immune system disorders - Other, specify' with the general grade "
        "meanings; report IgG itself with ctcae.assess_igg flags.",
    ),
)


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


CTCAE_TERMS: Mapping[str, CTCAETerm] = MappingProxyType({t.name: t for t in _TERMS})
"""The non-laboratory terms of the catalogue, by CTCAE name."""

_INDEX: dict[str, CTCAETerm] = {}
for _term in _TERMS:
    for _n in (_term.name, *_term.aliases):
        _INDEX[_key(_n)] = _term
_LAB_INDEX = {_key(t.value): t for t in LabTerm}
_LAB_INDEX.update(
    {
        "anc": LabTerm.NEUTROPHIL_COUNT_DECREASED,
        "neutrophils": LabTerm.NEUTROPHIL_COUNT_DECREASED,
        "neutropenia": LabTerm.NEUTROPHIL_COUNT_DECREASED,
        "platelets": LabTerm.PLATELET_COUNT_DECREASED,
        "plt": LabTerm.PLATELET_COUNT_DECREASED,
        "thrombocytopenia": LabTerm.PLATELET_COUNT_DECREASED,
        "lymphocytes": LabTerm.LYMPHOCYTE_COUNT_DECREASED,
        "alc": LabTerm.LYMPHOCYTE_COUNT_DECREASED,
        "lymphopenia": LabTerm.LYMPHOCYTE_COUNT_DECREASED,
        "wbc": LabTerm.WHITE_BLOOD_CELL_DECREASED,
        "leukopenia": LabTerm.WHITE_BLOOD_CELL_DECREASED,
        "anaemia": LabTerm.ANEMIA,
        "hemoglobin": LabTerm.ANEMIA,
        "haemoglobin": LabTerm.ANEMIA,
        "hb": LabTerm.ANEMIA,
        "alt": LabTerm.ALT_INCREASED,
        "ast": LabTerm.AST_INCREASED,
        "bilirubin": LabTerm.BLOOD_BILIRUBIN_INCREASED,
        "creatinine": LabTerm.CREATININE_INCREASED,
    }
)
_ASTCT_INDEX = {
    _key(TERM_CRS): TERM_CRS,
    _key(TERM_ICANS): TERM_ICANS,
    "crs": TERM_CRS,
    "icans": TERM_ICANS,
}


class TermKind:
    """How a term's grade is obtained (plain string constants)."""

    CHOSEN = "chosen"  # picked from the term's definitions (grade_term)
    LAB = "lab"  # computed from the value (ctcae.grade_lab)
    ASTCT = "astct"  # computed by the ASTCT form (astct.crs_grade / icans_grade)


def all_term_names() -> tuple[str, ...]:
    """Every term an adverse event may be recorded under: the catalogue, the graded laboratory
    terms, and CRS / ICANS (ASTCT)."""
    return (*CTCAE_TERMS, *(t.value for t in LabTerm), TERM_CRS, TERM_ICANS)


def term_kind(term: str, field: str = "term") -> str:
    """:class:`TermKind` of ``term`` (case-insensitive; aliases accepted).

    Raises:
        InputError: (``field``) unknown term.
    """
    return _resolve(term, field)[0]


def _resolve(term: object, field: str) -> tuple[str, str]:
    if not isinstance(term, str) or not term.strip():
        raise InputError(field, f"must be a CTCAE term, got {term!r}")
    k = _key(term)
    if k in _INDEX:
        return TermKind.CHOSEN, _INDEX[k].name
    if k in _LAB_INDEX:
        return TermKind.LAB, _LAB_INDEX[k].value
    if k in _ASTCT_INDEX:
        return TermKind.ASTCT, _ASTCT_INDEX[k]
    raise InputError(
        field,
        f"unknown CTCAE term {term!r}; known terms: {', '.join(all_term_names())}",
    )


def canonical_term(term: str, field: str = "term") -> str:
    """The catalogue spelling of ``term`` (aliases and case resolved).

    Raises:
        InputError: (``field``) unknown term.
    """
    return _resolve(term, field)[1]


def lookup_term(term: str, field: str = "term") -> CTCAETerm:
    """The catalogue entry of a non-laboratory term.

    Raises:
        InputError: (``field``) unknown term, or a term whose grade is computed (laboratory
            term → ``ctcae.grade_lab``; CRS / ICANS → the ASTCT form).
    """
    kind, name = _resolve(term, field)
    if kind == TermKind.LAB:
        raise InputError(
            field,
            f"{name!r} is a laboratory term: its grade is computed from the value "
            "and the ULN/LLN/baseline (ctcae-lab)",
        )
    if kind == TermKind.ASTCT:
        raise InputError(field, f"{name!r} is graded by the ASTCT 2019 form, not by CTCAE")
    return CTCAE_TERMS[name]


def grade_term(
    term: str,
    grade: int,
    *,
    version: CTCAEVersion | str = CTCAEVersion.V5_0,
) -> Assessment[int]:
    """The grade a person chose for a non-laboratory term, checked against its definitions.

    Returns an :class:`Assessment` whose reasons quote the chosen grade's CTCAE definition;
    ``needs_review`` carries the term's flag.

    Raises:
        InputError: ``term`` unknown or not a chosen-grade term; ``grade`` not an integer or a
            grade that does not exist for the term (e.g. Nausea grade 4); ``ctcae_version``.
    """
    v = require_version(version)
    entry = lookup_term(term)
    if isinstance(grade, bool) or not isinstance(grade, int):
        raise InputError("grade", f"must be an integer grade, got {grade!r}")
    if grade not in entry.grades:
        defined = ", ".join(str(g) for g in entry.grade_numbers)
        raise InputError(
            "grade",
            f"CTCAE v{v.value} {entry.name!r} has no grade {grade} (defined grades: {defined})",
        )
    text = entry.grades[grade]
    reasons = [f"Grade {grade} chosen from the CTCAE v{v.value} definition: {text}."]
    if entry.needs_review:
        reasons.append(f"REVIEW: {entry.review_note}")
    return Assessment(
        instrument=f"CTCAE v{v.value}: {entry.name}",
        value=grade,
        inputs={"term": entry.name, "soc": entry.soc, "grade": grade, "ctcae_version": v.value},
        contributions=(Contribution(entry.name, grade, text),),
        reasons=tuple(reasons),
        needs_review=entry.needs_review,
    )
