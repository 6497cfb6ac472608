"""Vocabularies of the eligibility engine: measures (with LOINC codes), serology tests, score
instruments, drugs and drug classes, conditions, events.

Every key here is what protocol ``logic`` and the patient-record JSON use; the FHIR reader
(:mod:`doseladder.io.patient_record`) maps codes to these keys.  ``docs/eligibility.md`` lists
them with the source of each code.

LOINC codes (``loinc.org`` long common names) — sources, marked per code in the docs:

* checked against a LOINC page or a laboratory test catalogue: 10230-1 and 18043-0 (LVEF)
  [loinc.org/10230-1; healthassure.in LOINC 18043-0]; 8808-8, 8810-4, 8811-2 (LVEF by
  angiography / CT / MR) [DICOM CID 3467/3833 value sets, bvdh/dicom-terminology-in-fhir];
  16933-4, 13952-7, 22316-4 (HBV core Ab) [healthassure.in]; 33799-8 (dsDNA IgG Ab, Mayo
  test catalogue), 32677-7 (Cleveland Clinic catalogue), 11013-0 (dsDNA titer), 6457-6
  (Crithidia) [healthassure.in]; 17591-9, 5355-3, 17589-3 (Smith Ab) [healthassure.in];
  SNOMED CT 10828004 Positive / 260385009 Negative [loinc.org answer list LL360-9].
* the issue's list (creatinine 2160-0 / 14682-9, platelets 777-3 / 26515-7, neutrophils
  751-8 / 26499-4, haemoglobin 718-7, ALT 1742-6, AST 1920-8, bilirubin 1975-2, lymphocytes
  731-0, SpO₂ 59408-5 / 2708-6, weight 29463-7, height 8302-2) and 8806-2 (LVEF by echo; used
  as such by several public code bases [W], the LOINC name was not retrieved).
* the others (marked "unverified" in the docs) are standard codes written from memory and
  should be confirmed against the LOINC release before production use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from doseladder.core.clinical.units import Dimension

__all__ = [
    "CLASSIFICATIONS",
    "CONDITIONS",
    "CONDITION_ICD10_PREFIXES",
    "CONDITION_SNOMED",
    "CVX_VACCINES",
    "DOSELADDER_SYSTEM",
    "DRUGS",
    "DRUG_CLASSES",
    "EVENT_KINDS",
    "LOINC_MEASURES",
    "LOINC_SEROLOGY",
    "MEASURES",
    "MEASURE_ALIASES",
    "SCORES",
    "SEROLOGY_ALIASES",
    "SEROLOGY_TESTS",
    "Measure",
    "ScoreInstrument",
    "classes_of",
    "condition_from_icd10",
    "condition_from_text",
    "condition_parents",
    "drug_from_text",
    "event_from_text",
    "measure_key",
    "normalise_route",
    "serology_key",
]

DOSELADDER_SYSTEM = "https://doseladder.dev/fhir/CodeSystem/"
"""Prefix of doseladder's own code systems (``.../measure``, ``.../serology``, ``.../score``,
``.../condition``, ``.../drug``, ``.../event``): a FHIR resource coded there with one of the keys
of this module is always understood."""


@dataclass(frozen=True, slots=True)
class Measure:
    """A numeric observation the criteria compare (a lab, a vital sign, an organ function)."""

    key: str
    label: str
    dimension: Dimension
    loinc: tuple[str, ...] = ()
    unitless_ok: bool = False  # a value without a unit is read in the only unit (INR)


def _m(
    key: str, label: str, dim: Dimension, *loinc: str, unitless_ok: bool = False
) -> tuple[str, Measure]:
    return key, Measure(key, label, dim, tuple(loinc), unitless_ok)


_D = Dimension
MEASURES: Mapping[str, Measure] = MappingProxyType(
    dict(
        [
            _m("creatinine", "serum creatinine", _D.CREATININE, "2160-0", "14682-9", "38483-4"),
            _m("bilirubin", "total bilirubin", _D.BILIRUBIN, "1975-2", "14631-6"),
            _m("hemoglobin", "haemoglobin", _D.HEMOGLOBIN, "718-7"),
            _m("platelets", "platelet count", _D.CELL_COUNT, "777-3", "26515-7"),
            _m(
                "neutrophils",
                "absolute neutrophil count",
                _D.CELL_COUNT,
                "751-8",
                "26499-4",
                "753-4",
            ),
            _m(
                "lymphocytes",
                "absolute lymphocyte count",
                _D.CELL_COUNT,
                "731-0",
                "26474-7",
                "732-8",
            ),
            _m("leukocytes", "white cell count", _D.CELL_COUNT, "6690-2", "26464-8"),
            _m("alt", "ALT", _D.ENZYME_ACTIVITY, "1742-6", "1743-4"),
            _m("ast", "AST", _D.ENZYME_ACTIVITY, "1920-8", "30239-8"),
            _m("ck", "creatine kinase", _D.ENZYME_ACTIVITY, "2157-6"),
            _m("ldh", "lactate dehydrogenase", _D.ENZYME_ACTIVITY, "2532-0", "14804-9"),
            _m("aldolase", "aldolase", _D.ENZYME_ACTIVITY),
            _m("iga", "serum IgA", _D.IMMUNOGLOBULIN, "2458-8"),
            _m("igg", "serum IgG", _D.IMMUNOGLOBULIN, "2465-3"),
            _m("c3", "complement C3", _D.COMPLEMENT, "4485-9"),
            _m("c4", "complement C4", _D.COMPLEMENT, "4498-2"),
            _m("inr", "INR", _D.RATIO, "6301-6", "34714-6", unitless_ok=True),
            _m("aptt", "APTT", _D.COAGULATION_TIME, "3173-2", "14979-9"),
            _m("urine_protein_24h", "24-hour urine protein", _D.PROTEIN_EXCRETION, "2889-4"),
            _m(
                "lvef",
                "left ventricular ejection fraction",
                _D.PERCENT,
                "10230-1",
                "18043-0",
                "8806-2",
                "8808-8",
                "8810-4",
                "8811-2",
            ),
            _m("spo2", "SpO₂ (pulse oximetry, room air)", _D.PERCENT, "59408-5", "2708-6"),
            _m("fvc_pct_predicted", "FVC % predicted", _D.PERCENT),
            _m("dlco_pct_predicted", "DLCO % predicted", _D.PERCENT),
            _m("weight", "body weight", _D.BODY_MASS, "29463-7", "3141-9"),
            _m("height", "body height", _D.LENGTH, "8302-2"),
            _m("crcl_measured", "measured creatinine clearance", _D.CLEARANCE),
            _m(
                "egfr_reported",
                "laboratory-reported eGFR",
                _D.GFR,
                "62238-1",
                "98979-8",
                "33914-3",
                "48642-3",
                "48643-1",
            ),
        ]
    )
)
"""Measures by key."""

MEASURE_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "scr": "creatinine",
        "serum_creatinine": "creatinine",
        "tbil": "bilirubin",
        "total_bilirubin": "bilirubin",
        "hb": "hemoglobin",
        "hgb": "hemoglobin",
        "haemoglobin": "hemoglobin",
        "plt": "platelets",
        "platelet_count": "platelets",
        "anc": "neutrophils",
        "alc": "lymphocytes",
        "wbc": "leukocytes",
        "ef": "lvef",
        "iga_serum": "iga",
        "apt": "aptt",
        "ptt": "aptt",
        "urine_protein": "urine_protein_24h",
        "body_weight": "weight",
        "body_height": "height",
    }
)
"""Common abbreviations accepted for measure keys (the canonical key is stored)."""

SEROLOGY_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "dsdna": "anti_dsdna",
        "anti_ds_dna": "anti_dsdna",
        "sm": "anti_sm",
        "hbs_ag": "hbsag",
        "hbc_ab": "hbcab",
        "anti_hbc": "hbcab",
        "anti_hcv": "hcv_ab",
        "hiv": "hiv_ab",
        "t_spot": "tb_igra",
        "igra": "tb_igra",
        "cmv": "cmv_dna",
        "hcg": "pregnancy_test",
    }
)
"""Common abbreviations accepted for serology test keys."""


def measure_key(name: str) -> str | None:
    """The canonical measure key of ``name`` (a key or an alias, case-insensitive)."""
    k = name.strip().lower()
    if k in MEASURES:
        return k
    return MEASURE_ALIASES.get(k)


def serology_key(name: str) -> str | None:
    """The canonical serology test key of ``name`` (a key or an alias, case-insensitive)."""
    k = name.strip().lower().replace("-", "_")
    if k in SEROLOGY_TESTS:
        return k
    return SEROLOGY_ALIASES.get(k)


LOINC_MEASURES: Mapping[str, str] = MappingProxyType(
    {code: m.key for m in MEASURES.values() for code in m.loinc}
)
"""LOINC code → measure key."""

SEROLOGY_TESTS: Mapping[str, str] = MappingProxyType(
    {
        "ana": "antinuclear antibody (ANA)",
        "anti_dsdna": "anti-dsDNA antibody",
        "anti_sm": "anti-Smith antibody",
        "hbsag": "hepatitis B surface antigen (HBsAg)",
        "hbcab": "hepatitis B core antibody (HBcAb)",
        "hbv_dna": "HBV DNA",
        "hcv_ab": "hepatitis C antibody",
        "hcv_rna": "HCV RNA",
        "hiv_ab": "HIV antibody",
        "syphilis": "syphilis (treponemal/RPR) test",
        "cmv_dna": "CMV DNA",
        "tb_igra": "tuberculosis interferon-γ release assay (T-SPOT / IGRA)",
        "pr3_anca": "PR3-ANCA",
        "mpo_anca": "MPO-ANCA",
        "pregnancy_test": "pregnancy test (hCG)",
    }
)
"""Qualitative tests: key → label.  A result is positive / negative (or a titer / value with a
reference limit, read by the FHIR reader)."""

LOINC_SEROLOGY: Mapping[str, str] = MappingProxyType(
    {
        "8061-4": "ana",
        "5048-4": "ana",
        "33799-8": "anti_dsdna",
        "32677-7": "anti_dsdna",
        "11013-0": "anti_dsdna",
        "6457-6": "anti_dsdna",
        "81716-3": "anti_dsdna",
        "11563-4": "anti_dsdna",
        "5130-0": "anti_dsdna",
        "17591-9": "anti_sm",
        "5355-3": "anti_sm",
        "17589-3": "anti_sm",
        "5195-3": "hbsag",
        "5196-1": "hbsag",
        "16933-4": "hbcab",
        "13952-7": "hbcab",
        "22316-4": "hbcab",
        "29615-2": "hbv_dna",
        "16128-1": "hcv_ab",
        "13955-0": "hcv_ab",
        "11011-4": "hcv_rna",
        "11259-9": "hcv_rna",
        "7917-8": "hiv_ab",
        "56888-1": "hiv_ab",
        "75622-1": "hiv_ab",
        "20507-0": "syphilis",
        "24110-9": "syphilis",
        "22587-0": "syphilis",
    }
)
"""LOINC code → serology test key."""


@dataclass(frozen=True, slots=True)
class ScoreInstrument:
    """A reported score: key, label and the plausible range (values outside are errors)."""

    key: str
    label: str
    low: int
    high: int


SCORES: Mapping[str, ScoreInstrument] = MappingProxyType(
    {
        s.key: s
        for s in (
            ScoreInstrument("sledai_2k", "SLEDAI-2K", 0, 105),
            ScoreInstrument("clinical_sledai_2k", "clinical SLEDAI-2K", 0, 101),
            ScoreInstrument("selena_sledai", "SELENA-SLEDAI", 0, 105),
            ScoreInstrument("clinical_selena_sledai", "clinical SELENA-SLEDAI", 0, 101),
            ScoreInstrument("pga", "physician global assessment (0–3)", 0, 3),
            ScoreInstrument("mmt8", "MMT-8 (0–150)", 0, 150),
            ScoreInstrument("haq_di", "HAQ-DI (0–3)", 0, 3),
            ScoreInstrument("ptga_vas", "patient global activity VAS (0–10)", 0, 10),
            ScoreInstrument("phga_vas", "physician global activity VAS (0–10)", 0, 10),
            ScoreInstrument("extramuscular_vas", "extramuscular global activity VAS (0–10)", 0, 10),
            ScoreInstrument("mrss", "modified Rodnan skin score (0–51)", 0, 51),
            ScoreInstrument("bvas_v3", "BVAS version 3", 0, 63),
            ScoreInstrument("iim_2017_score", "2017 EULAR/ACR IIM score", 0, 30),
        )
    }
)
"""Score instruments by key; SLEDAI variants may also be computed from descriptor findings."""

CLASSIFICATIONS: Mapping[str, str] = MappingProxyType(
    {
        "eular_acr_2019_sle": "2019 EULAR/ACR classification criteria for SLE",
        "acr_1997_sle": "1997 ACR revised classification criteria for SLE",
        "eular_2019_or_acr_1997_sle": "2019 EULAR/ACR or 1997 ACR criteria for SLE (either)",
        "iim_2017": "2017 EULAR/ACR classification criteria for IIM",
    }
)

# ----------------------------------------------------------------------------------- drugs
DRUG_CLASSES: Mapping[str, str] = MappingProxyType(
    {
        "glucocorticoid": "systemic glucocorticoid",
        "antimalarial": "antimalarial",
        "immunosuppressant": "conventional immunosuppressant",
        "b_cell_depleting": "B-cell depleting agent (CD19/CD20 and similar)",
        "b_cell_targeted": "B-cell targeted therapy (B-cell depleting, BAFF/APRIL)",
        "biologic": "biologic agent",
        "jak_inhibitor": "Janus kinase (JAK) inhibitor",
        "btk_inhibitor": "Bruton tyrosine kinase (BTK) inhibitor",
        "interferon_blocker": "type I interferon blocker",
        "complement_inhibitor": "complement inhibitor",
        "ivig": "intravenous immunoglobulin",
        "mrna_lnp": "mRNA / lipid-nanoparticle product",
        "vaccine": "any vaccine",
        "live_vaccine": "live or live-attenuated vaccine",
        "non_live_vaccine": "non-live vaccine (inactivated, subunit, toxoid, mRNA, vector)",
        "cell_therapy": "cell or gene therapy",
        "car_t": "CAR-T or other genetically modified T cells",
        "growth_factor": "haematopoietic growth factor",
        "investigational": "investigational product (clinical trial)",
    }
)
"""Drug classes: key → label."""

DRUGS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        name: frozenset(classes)
        for name, classes in {
            # glucocorticoids (prednisone equivalents in core.clinical.calculators)
            "prednisone": {"glucocorticoid"},
            "prednisolone": {"glucocorticoid"},
            "methylprednisolone": {"glucocorticoid"},
            "dexamethasone": {"glucocorticoid"},
            "hydrocortisone": {"glucocorticoid"},
            "betamethasone": {"glucocorticoid"},
            "triamcinolone": {"glucocorticoid"},
            "deflazacort": {"glucocorticoid"},
            "cortisone": {"glucocorticoid"},
            # antimalarials
            "hydroxychloroquine": {"antimalarial"},
            "chloroquine": {"antimalarial"},
            "quinacrine": {"antimalarial"},
            # conventional immunosuppressants
            "azathioprine": {"immunosuppressant"},
            "mycophenolate mofetil": {"immunosuppressant"},
            "mycophenolic acid": {"immunosuppressant"},
            "methotrexate": {"immunosuppressant"},
            "cyclophosphamide": {"immunosuppressant"},
            "leflunomide": {"immunosuppressant"},
            "tacrolimus": {"immunosuppressant"},
            "cyclosporine": {"immunosuppressant"},
            "sirolimus": {"immunosuppressant"},
            "voclosporin": {"immunosuppressant"},
            "iguratimod": {"immunosuppressant"},
            "tripterygium wilfordii": {"immunosuppressant"},
            # B-cell targeted biologics
            "rituximab": {"b_cell_depleting", "b_cell_targeted", "biologic"},
            "obinutuzumab": {"b_cell_depleting", "b_cell_targeted", "biologic"},
            "ocrelizumab": {"b_cell_depleting", "b_cell_targeted", "biologic"},
            "ofatumumab": {"b_cell_depleting", "b_cell_targeted", "biologic"},
            "inebilizumab": {"b_cell_depleting", "b_cell_targeted", "biologic"},
            "obexelimab": {"b_cell_targeted", "biologic"},
            "belimumab": {"b_cell_targeted", "biologic"},
            "telitacicept": {"b_cell_targeted", "biologic"},
            "atacicept": {"b_cell_targeted", "biologic"},
            # other biologics
            "anifrolumab": {"interferon_blocker", "biologic"},
            "eculizumab": {"complement_inhibitor", "biologic"},
            "ravulizumab": {"complement_inhibitor", "biologic"},
            "tocilizumab": {"biologic"},
            "abatacept": {"biologic"},
            "ustekinumab": {"biologic"},
            "secukinumab": {"biologic"},
            "adalimumab": {"biologic"},
            "infliximab": {"biologic"},
            "etanercept": {"biologic"},
            "certolizumab": {"biologic"},
            "golimumab": {"biologic"},
            # small molecules
            "tofacitinib": {"jak_inhibitor"},
            "baricitinib": {"jak_inhibitor"},
            "upadacitinib": {"jak_inhibitor"},
            "filgotinib": {"jak_inhibitor"},
            "ruxolitinib": {"jak_inhibitor"},
            "abrocitinib": {"jak_inhibitor"},
            "ibrutinib": {"btk_inhibitor"},
            "acalabrutinib": {"btk_inhibitor"},
            "zanubrutinib": {"btk_inhibitor"},
            "orelabrutinib": {"btk_inhibitor"},
            "evobrutinib": {"btk_inhibitor"},
            "fenebrutinib": {"btk_inhibitor"},
            "remibrutinib": {"btk_inhibitor"},
            "tolebrutinib": {"btk_inhibitor"},
            # immunoglobulin
            "intravenous immunoglobulin": {"ivig"},
            # mRNA / LNP products
            "tozinameran": {"mrna_lnp", "vaccine", "non_live_vaccine"},
            "elasomeran": {"mrna_lnp", "vaccine", "non_live_vaccine"},
            "patisiran": {"mrna_lnp"},
            # live vaccines
            "measles-mumps-rubella vaccine": {"vaccine", "live_vaccine"},
            "varicella vaccine": {"vaccine", "live_vaccine"},
            "zoster vaccine live": {"vaccine", "live_vaccine"},
            "yellow fever vaccine": {"vaccine", "live_vaccine"},
            "bcg vaccine": {"vaccine", "live_vaccine"},
            "oral polio vaccine": {"vaccine", "live_vaccine"},
            "oral typhoid vaccine": {"vaccine", "live_vaccine"},
            "rotavirus vaccine": {"vaccine", "live_vaccine"},
            "live attenuated influenza vaccine": {"vaccine", "live_vaccine"},
            # non-live vaccines (named so that a screening can tell them from live ones)
            "inactivated influenza vaccine": {"vaccine", "non_live_vaccine"},
            "recombinant zoster vaccine": {"vaccine", "non_live_vaccine"},
            "pneumococcal vaccine": {"vaccine", "non_live_vaccine"},
            "hepatitis b vaccine": {"vaccine", "non_live_vaccine"},
            "tetanus vaccine": {"vaccine", "non_live_vaccine"},
            # cell therapies
            "car-t cells": {"car_t", "cell_therapy"},
            "car-nk cells": {"cell_therapy"},
            "tcr-t cells": {"car_t", "cell_therapy"},
            "mesenchymal stem cells": {"cell_therapy"},
            # growth factors
            "filgrastim": {"growth_factor"},
            "pegfilgrastim": {"growth_factor"},
            "erythropoietin": {"growth_factor"},
            "eltrombopag": {"growth_factor"},
            "romiplostim": {"growth_factor"},
        }.items()
    }
)
"""Generic drug name (lower case) → classes."""

_DRUG_SYNONYMS: Mapping[str, str] = MappingProxyType(
    {
        "benlysta": "belimumab",
        "saphnelo": "anifrolumab",
        "rituxan": "rituximab",
        "mabthera": "rituximab",
        "cellcept": "mycophenolate mofetil",
        "mmf": "mycophenolate mofetil",
        "myfortic": "mycophenolic acid",
        "plaquenil": "hydroxychloroquine",
        "hcq": "hydroxychloroquine",
        "medrol": "methylprednisolone",
        "solu-medrol": "methylprednisolone",
        "ciclosporin": "cyclosporine",
        "cyclosporin": "cyclosporine",
        "neoral": "cyclosporine",
        "prograf": "tacrolimus",
        "ivig": "intravenous immunoglobulin",
        "immune globulin": "intravenous immunoglobulin",
        "immunoglobulin": "intravenous immunoglobulin",
        "comirnaty": "tozinameran",
        "bnt162b2": "tozinameran",
        "spikevax": "elasomeran",
        "mrna-1273": "elasomeran",
        "onpattro": "patisiran",
        "mmr": "measles-mumps-rubella vaccine",
        "mmrv": "measles-mumps-rubella vaccine",
        "varivax": "varicella vaccine",
        "zostavax": "zoster vaccine live",
        "yf-vax": "yellow fever vaccine",
        "stamaril": "yellow fever vaccine",
        "bcg": "bcg vaccine",
        "flumist": "live attenuated influenza vaccine",
        "laiv": "live attenuated influenza vaccine",
        "vivotif": "oral typhoid vaccine",
        "shingrix": "recombinant zoster vaccine",
        "influenza vaccine inactivated": "inactivated influenza vaccine",
        "flu vaccine": "inactivated influenza vaccine",
        "pneumovax": "pneumococcal vaccine",
        "prevnar": "pneumococcal vaccine",
        "engerix": "hepatitis b vaccine",
        "car-t": "car-t cells",
        "car t": "car-t cells",
        "chimeric antigen receptor": "car-t cells",
        "car-nk": "car-nk cells",
        "tcr-t": "tcr-t cells",
        "g-csf": "filgrastim",
        "epoetin": "erythropoietin",
        "tripterygium": "tripterygium wilfordii",
        "iratimod": "iguratimod",
    }
)

CVX_VACCINES: Mapping[str, str] = MappingProxyType(
    {
        # CDC CVX codes of live vaccines (from memory -- unverified, see docs/eligibility.md)
        "03": "measles-mumps-rubella vaccine",
        "94": "measles-mumps-rubella vaccine",
        "21": "varicella vaccine",
        "121": "zoster vaccine live",
        "37": "yellow fever vaccine",
        "19": "bcg vaccine",
        "02": "oral polio vaccine",
        "25": "oral typhoid vaccine",
        "111": "live attenuated influenza vaccine",
        "149": "live attenuated influenza vaccine",
        "116": "rotavirus vaccine",
        "119": "rotavirus vaccine",
        "122": "rotavirus vaccine",
        "187": "recombinant zoster vaccine",
        "208": "tozinameran",
        "207": "elasomeran",
    }
)
"""CVX vaccine code → generic name (FHIR ``Immunization.vaccineCode``)."""

_ROUTES: Mapping[str, str] = MappingProxyType(
    {
        "po": "oral",
        "oral": "oral",
        "by mouth": "oral",
        "orally": "oral",
        "iv": "intravenous",
        "intravenous": "intravenous",
        "intravenously": "intravenous",
        "im": "intramuscular",
        "intramuscular": "intramuscular",
        "sc": "subcutaneous",
        "sq": "subcutaneous",
        "subcut": "subcutaneous",
        "subcutaneous": "subcutaneous",
        "ia": "intra-articular",
        "intraarticular": "intra-articular",
        "intra-articular": "intra-articular",
        "intra articular": "intra-articular",
        "topical": "topical",
        "cutaneous": "topical",
        "inhaled": "inhaled",
        "inhalation": "inhaled",
        "nasal": "nasal",
        "intranasal": "nasal",
        "ophthalmic": "ophthalmic",
        "rectal": "rectal",
    }
)


def normalise_route(text: str) -> str:
    """A route's canonical name (``"IV"`` → ``intravenous``); unknown texts stay (lower case)."""
    t = " ".join(text.strip().lower().replace("_", " ").split())
    return _ROUTES.get(t, t)


_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


def _norm(text: str) -> str:
    t = text.lower().replace("’", "'").replace("'s ", " ").replace("'s", "")
    return " ".join(_WORD.findall(t))


def drug_from_text(text: str) -> str | None:
    """The generic drug named in ``text`` ("Rituximab 500 mg inj" → ``rituximab``), or
    ``None``.  Longest name first; brand names and common abbreviations are synonyms."""
    t = f" {_norm(text)} "
    names = sorted({*DRUGS, *_DRUG_SYNONYMS}, key=len, reverse=True)
    for name in names:
        if f" {_norm(name)} " in t:
            return _DRUG_SYNONYMS.get(name, name)
    return None


def classes_of(drug: str | None) -> frozenset[str]:
    """The classes of a generic drug name (empty when unknown)."""
    if drug is None:
        return frozenset()
    return DRUGS.get(drug, frozenset())


# ------------------------------------------------------------------------------- conditions
CONDITIONS: Mapping[str, str] = MappingProxyType(
    {
        "sle": "systemic lupus erythematosus",
        "lupus_nephritis": "lupus nephritis",
        "neuropsychiatric_lupus": "neuropsychiatric lupus / CNS lupus",
        "itp": "immune thrombocytopenia",
        "iim": "idiopathic inflammatory myopathy",
        "dermatomyositis": "dermatomyositis",
        "polymyositis": "polymyositis",
        "imnm": "immune-mediated necrotising myopathy",
        "inclusion_body_myositis": "inclusion body myositis",
        "juvenile_myositis": "juvenile myositis",
        "aav": "ANCA-associated vasculitis",
        "gpa": "granulomatosis with polyangiitis",
        "mpa": "microscopic polyangiitis",
        "egpa": "eosinophilic granulomatosis with polyangiitis",
        "ssc": "systemic sclerosis",
        "gilbert_syndrome": "Gilbert syndrome",
        "hepatitis_b": "hepatitis B infection",
        "hepatitis_c": "hepatitis C infection",
        "hiv": "HIV infection",
        "syphilis": "syphilis",
        "tuberculosis": "tuberculosis (active or latent)",
        "malignancy": "malignancy",
        "heart_failure": "heart failure",
        "myocardial_infarction": "myocardial infarction",
        "asthma": "asthma",
        "pregnancy": "pregnancy",
        "lactation": "lactation",
    }
)
"""Condition keys → labels."""

CONDITION_ICD10_PREFIXES: Mapping[str, str] = MappingProxyType(
    {
        # ICD-10 / ICD-10-CM chapter codes (WHO ICD-10 2019; prefix match after removing the dot)
        "M32": "sle",
        "M3214": "lupus_nephritis",
        "M3215": "lupus_nephritis",
        "D693": "itp",
        "M331": "dermatomyositis",
        "M332": "polymyositis",
        "M330": "juvenile_myositis",
        "G7241": "inclusion_body_myositis",
        "M313": "gpa",
        "M317": "mpa",
        "M301": "egpa",
        "M34": "ssc",
        "E804": "gilbert_syndrome",
        "B16": "hepatitis_b",
        "B181": "hepatitis_b",
        "B180": "hepatitis_b",
        "B171": "hepatitis_c",
        "B182": "hepatitis_c",
        "B20": "hiv",
        "Z21": "hiv",
        "A50": "syphilis",
        "A51": "syphilis",
        "A52": "syphilis",
        "A53": "syphilis",
        "A15": "tuberculosis",
        "A16": "tuberculosis",
        "A17": "tuberculosis",
        "A18": "tuberculosis",
        "A19": "tuberculosis",
        "R761": "tuberculosis",
        "I50": "heart_failure",
        "I21": "myocardial_infarction",
        "I22": "myocardial_infarction",
        "J45": "asthma",
        "Z33": "pregnancy",
        "O": "pregnancy",
    }
)
"""ICD-10 code prefix (dot removed, longest match wins) → condition key.  Malignancy is every
code C00–C97 (handled in :func:`condition_from_icd10`)."""

CONDITION_SNOMED: Mapping[str, str] = MappingProxyType(
    {
        "55464009": "sle",  # Systemic lupus erythematosus (disorder)
    }
)
"""SNOMED CT concept id → condition key (only codes confirmed; others are matched by text)."""

_CONDITION_WORDS: tuple[tuple[str, str], ...] = (
    ("lupus nephritis", "lupus_nephritis"),
    ("neuropsychiatric lupus", "neuropsychiatric_lupus"),
    ("systemic lupus erythematosus", "sle"),
    ("sle", "sle"),
    ("immune thrombocytopenia", "itp"),
    ("idiopathic thrombocytopenic purpura", "itp"),
    ("inclusion body myositis", "inclusion_body_myositis"),
    ("juvenile dermatomyositis", "juvenile_myositis"),
    ("juvenile myositis", "juvenile_myositis"),
    ("immune-mediated necrotizing myopathy", "imnm"),
    ("immune-mediated necrotising myopathy", "imnm"),
    ("dermatomyositis", "dermatomyositis"),
    ("polymyositis", "polymyositis"),
    ("idiopathic inflammatory myopathy", "iim"),
    ("eosinophilic granulomatosis with polyangiitis", "egpa"),
    ("granulomatosis with polyangiitis", "gpa"),
    ("microscopic polyangiitis", "mpa"),
    ("anca-associated vasculitis", "aav"),
    ("systemic sclerosis", "ssc"),
    ("scleroderma", "ssc"),
    ("gilbert", "gilbert_syndrome"),
    ("hepatitis b", "hepatitis_b"),
    ("hepatitis c", "hepatitis_c"),
    ("hiv", "hiv"),
    ("syphilis", "syphilis"),
    ("tuberculosis", "tuberculosis"),
    ("heart failure", "heart_failure"),
    ("myocardial infarction", "myocardial_infarction"),
    ("asthma", "asthma"),
    ("pregnancy", "pregnancy"),
    ("pregnant", "pregnancy"),
    ("lactation", "lactation"),
    ("breastfeeding", "lactation"),
)

_PARENT: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "lupus_nephritis": ("sle",),
        "neuropsychiatric_lupus": ("sle",),
        "dermatomyositis": ("iim",),
        "polymyositis": ("iim",),
        "imnm": ("iim",),
        "juvenile_myositis": ("iim",),
        "inclusion_body_myositis": ("iim",),
        "gpa": ("aav",),
        "mpa": ("aav",),
        "egpa": ("aav",),
    }
)


def condition_parents(key: str) -> tuple[str, ...]:
    """Broader conditions implied by ``key`` (lupus nephritis → SLE; GPA → AAV)."""
    return _PARENT.get(key, ())


def condition_from_icd10(code: str) -> str | None:
    """Condition key of an ICD-10 code (longest prefix), malignancy for C00–C97."""
    c = code.replace(".", "").strip().upper()
    if re.fullmatch(r"C[0-9]{2}.*", c) and int(c[1:3]) <= 97:
        return "malignancy"
    best: str | None = None
    for prefix in CONDITION_ICD10_PREFIXES:
        if c.startswith(prefix) and (best is None or len(prefix) > len(best)):
            best = prefix
    return CONDITION_ICD10_PREFIXES[best] if best is not None else None


def condition_from_text(text: str) -> str | None:
    """Condition key named in free text (first listed phrase that occurs), or ``None``."""
    t = f" {_norm(text)} "
    for phrase, key in _CONDITION_WORDS:
        if f" {_norm(phrase)} " in t:
            return key
    if re.search(r"\b(cancer|carcinoma|lymphoma|leuka?emia|melanoma|sarcoma|malignan)", t):
        return "malignancy"
    return None


# ----------------------------------------------------------------------------------- events
EVENT_KINDS: Mapping[str, str] = MappingProxyType(
    {
        "organ_transplant": "solid-organ transplantation",
        "hsct": "haematopoietic stem cell / bone marrow transplantation",
        "dialysis": "dialysis / renal replacement therapy",
        "plasma_exchange": "plasma exchange / plasmapheresis",
        "splenectomy": "splenectomy",
        "major_surgery": "major surgery",
        "transfusion": "blood transfusion",
        "blood_donation": "blood donation or significant blood loss (≥400 mL)",
        "live_vaccine": "live or live-attenuated vaccination",
        "clinical_trial": "participation in another clinical trial",
        "cell_therapy": "cell or gene therapy",
        "car_t": "CAR-T or genetically modified T-cell therapy",
        "bleeding_grade2": "bleeding of CTCAE grade ≥2",
        "suicide_attempt": "suicide attempt or suicidal ideation",
    }
)
"""Event / procedure kinds → labels."""

_EVENT_WORDS: tuple[tuple[str, str], ...] = (
    ("stem cell transplant", "hsct"),
    ("bone marrow transplant", "hsct"),
    ("hematopoietic", "hsct"),
    ("haematopoietic", "hsct"),
    ("transplant", "organ_transplant"),
    ("hemodialysis", "dialysis"),
    ("haemodialysis", "dialysis"),
    ("dialysis", "dialysis"),
    ("renal replacement", "dialysis"),
    ("plasmapheresis", "plasma_exchange"),
    ("plasma exchange", "plasma_exchange"),
    ("splenectomy", "splenectomy"),
    ("transfusion", "transfusion"),
    ("blood donation", "blood_donation"),
    ("car-t", "car_t"),
    ("car t", "car_t"),
)


def event_from_text(text: str) -> str | None:
    """Event kind named in free text, or ``None``."""
    t = f" {_norm(text)} "
    for phrase, key in _EVENT_WORDS:
        if _norm(phrase) in t:
            return key
    return None
