"""Patient records: the doseladder patient JSON and FHIR R4 Bundles (errors name the path)."""

from __future__ import annotations

import copy
import json
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from doseladder.core.errors import InputError
from doseladder.io.patient_record import (
    load_patient_record,
    load_screening_inputs,
    merge_screening_inputs,
    patient_record_from_data,
    patient_record_from_fhir,
    patient_record_from_json,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "doseladder" / "examples" / "patients"
L = "http://loinc.org"
U = "http://unitsofmeasure.org"
SCT = "http://snomed.info/sct"
DL = "https://doseladder.dev/fhir/CodeSystem/"


def minimal(**kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "birth_date": "1988-03-14",
        "sex": "female",
        "screening_date": "2025-06-02",
    }
    data.update(kw)
    return data


# ------------------------------------------------------------------------------ JSON format
def test_examples_load() -> None:
    rec = load_patient_record(EXAMPLES / "hn2301-eligible-sle.json")
    assert rec.source_format == "json" and rec.id == "HN2301-DEMO-01"
    assert rec.birth_earliest == rec.birth_latest == date(1988, 3, 14)
    assert rec.history_complete == frozenset({"medications", "conditions", "events"})
    bili = next(o for o in rec.observations if o.measure == "bilirubin")
    assert str(bili.value) == "10 µmol/L" and str(bili.uln) == "21 µmol/L"
    assert rec.attestations["004-INC-04"].value is True
    assert rec.reviews["004-EXC-08"].status == "not_met"
    fhir = load_patient_record(EXAMPLES / "hn2301-fhir-bundle.json")
    assert fhir.source_format == "fhir"


def test_numbers_are_exact() -> None:
    rec = patient_record_from_json(
        minimal(
            observations=[
                {"measure": "creatinine", "value": 1.65, "unit": "mg/dL", "date": "2025-05-28"}
            ]
        )
    )
    assert rec.observations[0].value.value == Fraction(33, 20)


def test_text_file_parse_keeps_decimals(tmp_path: Path) -> None:
    p = tmp_path / "p.json"
    p.write_text(
        json.dumps(
            minimal(
                observations=[
                    {
                        "measure": "alt",
                        "value": 100.000000000000001,
                        "unit": "U/L",
                        "date": "2025-05-28",
                    }
                ]
            )
        ).replace("100.0", "100.000000000000001"),
        encoding="utf-8",
    )
    rec = load_patient_record(p)
    assert rec.observations[0].value.value == Fraction("100.000000000000001")


@pytest.mark.parametrize(
    ("data", "path", "reason"),
    [
        (minimal(weight=60), "weight", "unknown key"),
        (
            minimal(
                observations=[
                    {"measure": "creatinine", "value": 1, "unit": "g", "date": "2025-05-28"}
                ]
            ),
            "observations[0].unit",
            "not a unit of creatinine concentration",
        ),
        (
            minimal(observations=[{"measure": "alt", "value": 30, "date": "2025-05-28"}]),
            "observations[0].unit",
            "never assumed",
        ),
        (
            minimal(
                observations=[{"measure": "lvef", "value": 140, "unit": "%", "date": "2025-05-28"}]
            ),
            "observations[0].value",
            "cannot exceed 100",
        ),
        (
            minimal(
                observations=[{"measure": "alt", "value": -3, "unit": "U/L", "date": "2025-05-28"}]
            ),
            "observations[0].value",
            "negative",
        ),
        (
            minimal(observations=[{"measure": "alt", "value": 30, "unit": "U/L"}]),
            "observations[0].date",
            "required date",
        ),
        (
            minimal(
                observations=[
                    {
                        "measure": "alt",
                        "value": 30,
                        "unit": "U/L",
                        "date": "2025-05-28",
                        "uln": {"value": 40, "unit": "%"},
                    }
                ]
            ),
            "observations[0].uln.unit",
            "not a unit of enzyme activity",
        ),
        (
            minimal(
                observations=[{"loinc": "9999-9", "value": 1, "unit": "U/L", "date": "2025-05-28"}]
            ),
            "observations[0].loinc",
            "not a measure",
        ),
        (
            minimal(serology=[{"test": "ana", "result": "maybe", "date": "2025-05-28"}]),
            "serology[0].result",
            "positive",
        ),
        (minimal(medications=[{"name": "aspirin-ish"}]), "medications[0].name", "unknown drug"),
        (
            minimal(
                medications=[{"name": "prednisone", "dose_per_day": {"value": 10, "unit": "mL"}}]
            ),
            "medications[0].dose_per_day.unit",
            "not a unit of drug mass",
        ),
        (
            minimal(sledai={"date": "2025-05-28", "present": ["sneezing"]}),
            "sledai.present[0].sneezing",
            "unknown SLEDAI",
        ),
        (
            minimal(bilag=[{"date": "2025-05-28", "grades": {"renal": "F"}}]),
            "bilag[0].grades.renal",
            "A, B, C, D, E",
        ),
        (
            minimal(classifications={"acr_1982": {"met": True}}),
            "classifications.acr_1982",
            "unknown classification",
        ),
        (minimal(attestations={"X": "yes"}), "attestations.X", "true or false"),
        (minimal(reviews={"X": {"status": "ok"}}), "reviews.X.status", "'met' or 'not_met'"),
        (minimal(history_complete=["labs"]), "history_complete[0]", "unknown kind"),
        (minimal(sex="x"), "sex", "female"),
        (minimal(birth_date="14/03/1988"), "birth_date", "not a date"),
        (minimal(format="fhir"), "format", "doseladder-patient"),
        (
            minimal(scores=[{"instrument": "pga", "value": 3.5, "date": "2025-05-28"}]),
            "scores[0].value",
            "range",
        ),
    ],
)
def test_json_errors_name_the_path(data: dict[str, Any], path: str, reason: str) -> None:
    with pytest.raises(InputError) as err:
        patient_record_from_json(data)
    assert err.value.field == path, err.value
    assert reason in err.value.reason


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    p = tmp_path / "bad.json"
    p.write_text(
        json.dumps(
            minimal(
                observations=[{"measure": "alt", "value": 1, "unit": "kg", "date": "2025-05-28"}]
            )
        ),
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"^bad\.json: observations\[0\]\.unit: "):
        load_patient_record(p)
    p.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        load_patient_record(p)
    with pytest.raises(InputError, match="patient file not found"):
        load_patient_record(tmp_path / "missing.json")


def test_json_variants() -> None:
    rec = patient_record_from_json(
        minimal(
            observations=[{"measure": "inr", "value": 1.1, "date": "2025-05-28", "uln": 1.2}],
            serology=[{"loinc": "8061-4", "titer": "1:160", "date": "2025-05-28"}],
            conditions=[{"text": "Lupus nephritis, ISN/RPS class IV", "onset": "2019-01-01"}],
            medications=[
                {"text": "Benlysta 200 mg sc weekly", "start": "2025-01-01", "ongoing": True}
            ],
            sledai=[{"date": "2025-05-28", "findings": {"hematuria": True, "rash": False}}],
            classifications={
                "eular_acr_2019_sle": {"criteria": ["joint_involvement"], "ana_ge_1_80": True}
            },
            attestations={"A": {"value": True, "by": "Dr X", "note": "seen"}, "B": None},
            history_complete={"medications": True, "conditions": False},
            age_years=37,
        )
    )
    assert str(rec.observations[0].value) == "1.1 ratio"  # the INR needs no unit
    assert (
        rec.serology[0].test == "ana" and rec.serology[0].positive and rec.serology[0].titer == 160
    )
    assert rec.conditions[0].key == "lupus_nephritis"
    assert (
        rec.medications[0].name == "belimumab" and "b_cell_targeted" in rec.medications[0].classes
    )
    assert dict(rec.sledai[0].findings) == {"haematuria": True, "rash": False}
    assert rec.classifications[0].rest_absent is True
    assert rec.attestations["A"].by == "Dr X" and rec.attestations["B"].value is None
    assert rec.history_complete == frozenset({"medications"})


def test_merge_screening_inputs(tmp_path: Path) -> None:
    rec = patient_record_from_json(minimal(attestations={"A": True}))
    merged = merge_screening_inputs(
        rec,
        {
            "attestations": {"B": False},
            "indication": "SLE",
            "screening_date": "2025-07-01",
            "history_complete": True,
        },
    )
    assert set(merged.attestations) == {"A", "B"} and merged.indication == "SLE"
    assert merged.screening_date == date(2025, 7, 1)
    assert merged.history_complete == frozenset({"medications", "conditions", "events"})
    p = tmp_path / "in.json"
    p.write_text(json.dumps({"observations": []}), encoding="utf-8")
    with pytest.raises(InputError, match=r"^in\.json: observations: unknown key"):
        load_screening_inputs(rec, p)


# ------------------------------------------------------------------------------------ FHIR
def bundle(*resources: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
        **kw,
    }


PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1980-05", "gender": "male"}


def lab(
    code: str, value: Any, ucum: str | None, *, high: Any = None, low: Any = None, **kw: Any
) -> dict[str, Any]:
    q: dict[str, Any] = {"value": value}
    if ucum is not None:
        q.update({"system": U, "code": ucum})
    r: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"o-{code}",
        "status": "final",
        "code": {"coding": [{"system": L, "code": code}]},
        "effectiveDateTime": "2025-05-28T09:00:00Z",
        "valueQuantity": q,
    }
    rr = {}
    if high is not None:
        rr["high"] = high if isinstance(high, dict) else {"value": high, "system": U, "code": ucum}
    if low is not None:
        rr["low"] = {"value": low, "system": U, "code": ucum}
    if rr:
        r["referenceRange"] = [rr]
    r.update(kw)
    return r


def test_fhir_patient_and_labs() -> None:
    rec = patient_record_from_fhir(
        bundle(
            PATIENT,
            lab("2160-0", 0.9, "mg/dL", high=1.2),
            lab("14682-9", 80, "umol/L"),
            lab("751-8", 2.1, "10*9/L"),
            lab("26515-7", 150, "10*3/uL"),
            lab("1742-6", 45, "U/L", high={"value": 40}),  # a limit without unit: the value's unit
            lab("1920-8", 1.0, "ukat/L"),
            lab("718-7", 12.5, "g/dL", low=12),
            lab("59408-5", 96, "%"),
            lab("6301-6", 1.1, None),
            lab("29463-7", 70, "kg"),
            lab("8302-2", 175, "cm"),
            lab("1975-2", 0.5, "mg/dL", status="entered-in-error"),
            lab("2345-7", 90, "mg/dL"),  # glucose: not used
        )
    )
    assert rec.id == "p1" and rec.sex == "male"
    assert (rec.birth_earliest, rec.birth_latest) == (date(1980, 5, 1), date(1980, 5, 31))
    by = {
        o.measure + ("_" + str(o.value.unit) if o.measure == "creatinine" else ""): o
        for o in rec.observations
    }
    assert str(by["creatinine_mg/dL"].uln) == "1.2 mg/dL"
    assert str(by["creatinine_µmol/L"].value) == "80 µmol/L"
    assert str(by["platelets"].value) == "150 10^3/µL"
    assert str(by["alt"].uln) == "40 U/L"
    assert str(by["hemoglobin"].lln) == "12 g/dL"
    assert str(by["inr"].value) == "1.1 ratio"
    assert "bilirubin" not in by
    assert by["alt"].date == date(2025, 5, 28) and "Observation/o-1742-6" in by["alt"].source
    assert any("not used" in n and "2345-7" in n for n in rec.notes)


@pytest.mark.parametrize(
    ("resource", "path", "reason"),
    [
        (
            lab("2160-0", 0.9, "mg"),
            "entry[1].resource.valueQuantity.code",
            "not a unit of creatinine",
        ),
        (
            lab("751-8", 2.1, "%"),
            "entry[1].resource.valueQuantity.code",
            "not a unit of blood cell count",
        ),
        (lab("1742-6", 45, None), "entry[1].resource.valueQuantity.unit", "never assumed"),
        (
            lab("1742-6", 45, "U/L", high={"value": 40, "code": "mg/dL", "system": U}),
            "entry[1].resource.referenceRange[0].high.code",
            "not a unit",
        ),
        (lab("10230-1", 120, "%"), "entry[1].resource.valueQuantity.value", "cannot exceed 100"),
    ],
)
def test_fhir_unknown_units_are_refused(resource: dict[str, Any], path: str, reason: str) -> None:
    with pytest.raises(InputError) as err:
        patient_record_from_fhir(bundle(PATIENT, resource))
    assert err.value.field == path
    assert reason in err.value.reason


def test_fhir_censored_and_undated_values_are_ignored_with_a_note() -> None:
    censored = lab("1975-2", 0.2, "mg/dL")
    censored["valueQuantity"]["comparator"] = "<"
    undated = lab("1742-6", 30, "U/L")
    del undated["effectiveDateTime"]
    rec = patient_record_from_fhir(bundle(PATIENT, censored, undated))
    assert rec.observations == ()
    assert any("censored" in n for n in rec.notes) and any("no date" in n for n in rec.notes)


def sero(code: str, **value: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": L, "code": code}]},
        "effectiveDateTime": "2025-05-28",
        **value,
    }


def test_fhir_serology_forms() -> None:
    rec = patient_record_from_fhir(
        bundle(
            sero("8061-4", valueCodeableConcept={"coding": [{"system": SCT, "code": "10828004"}]}),
            sero("5196-1", valueCodeableConcept={"coding": [{"system": SCT, "code": "260385009"}]}),
            sero("16128-1", valueString="Non-reactive"),
            sero("7917-8", interpretation=[{"coding": [{"code": "POS"}]}]),
            sero(
                "33799-8",
                valueQuantity={"value": 86, "unit": "IU/mL"},
                referenceRange=[{"high": {"value": 30}}],
            ),
            sero("11013-0", valueRatio={"numerator": {"value": 1}, "denominator": {"value": 320}}),
            sero("29615-2", valueString="not detected"),
            sero("16933-4", valueString="equivocal"),
            sero("5195-3", valueString="see comment"),
            {
                **sero("x"),
                "code": {"coding": [{"system": DL + "serology", "code": "tb_igra"}]},
                "valueBoolean": False,
            },
        )
    )
    got = {(s.test, s.positive, s.titer) for s in rec.serology}
    assert ("ana", True, None) in got
    assert ("hbsag", False, None) in got
    assert ("hcv_ab", False, None) in got
    assert ("hiv_ab", True, None) in got
    assert ("anti_dsdna", True, None) in got
    assert ("anti_dsdna", True, 320) in got
    assert ("hbv_dna", False, None) in got
    assert ("hbcab", None, None) in got
    assert ("tb_igra", False, None) in got
    assert any("not readable" in n for n in rec.notes)  # "see comment"
    assert rec.sex is None and any("No Patient" in n for n in rec.notes)


def test_fhir_conditions() -> None:
    def cond(code: dict[str, Any], **kw: Any) -> dict[str, Any]:
        return {"resourceType": "Condition", "code": code, **kw}

    rec = patient_record_from_fhir(
        bundle(
            cond(
                {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M32.14"}]},
                onsetDateTime="2018-02-03",
            ),
            cond({"coding": [{"system": SCT, "code": "55464009"}]}),
            cond({"text": "Gilbert's syndrome"}),
            cond(
                {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "C50.9"}]},
                clinicalStatus={
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "resolved",
                        }
                    ]
                },
                abatementDateTime="2015-01-01",
            ),
            cond(
                {"text": "asthma"},
                verificationStatus={
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                            "code": "refuted",
                        }
                    ]
                },
            ),
            cond(
                {"text": "asthma"},
                verificationStatus={
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                            "code": "entered-in-error",
                        }
                    ]
                },
            ),
            cond({"coding": [{"system": DL + "condition", "code": "gpa"}]}),
        )
    )
    keys = [(c.key, c.refuted, c.active) for c in rec.conditions]
    assert keys == [
        ("lupus_nephritis", False, None),
        ("sle", False, None),
        ("gilbert_syndrome", False, None),
        ("malignancy", False, False),
        ("asthma", True, None),
        ("gpa", False, None),
    ]
    assert rec.conditions[0].onset == date(2018, 2, 3) and rec.conditions[3].abated == date(
        2015, 1, 1
    )


def test_fhir_medications_doses_and_periods() -> None:
    def dose(value: Any, unit: str, **timing: Any) -> dict[str, Any]:
        d: dict[str, Any] = {
            "doseAndRate": [
                {"doseQuantity": {"value": value, "unit": unit, "system": U, "code": unit}}
            ]
        }
        if timing:
            d["timing"] = timing
        return d

    rec = patient_record_from_fhir(
        bundle(
            {
                "resourceType": "Medication",
                "id": "m1",
                "code": {"coding": [{"display": "Methylprednisolone 4 mg tablet"}]},
            },
            {
                "resourceType": "MedicationStatement",
                "status": "active",
                "medicationReference": {"reference": "Medication/m1"},
                "effectivePeriod": {"start": "2025-01-01"},
                "dosage": [
                    {
                        **dose(4, "mg", repeat={"frequency": 3, "period": 1, "periodUnit": "d"}),
                        "route": {"text": "oral"},
                    }
                ],
            },
            {
                "resourceType": "MedicationStatement",
                "status": "completed",
                "medicationCodeableConcept": {"text": "Rituximab 1 g infusion"},
                "effectivePeriod": {"start": "2024-11-01", "end": "2024-11-15"},
                "dosage": [dose(1, "g", repeat={"frequency": 1, "period": 2, "periodUnit": "wk"})],
            },
            {
                "resourceType": "MedicationStatement",
                "status": "active",
                "medicationCodeableConcept": {"text": "Hydroxychloroquine 200 mg"},
                "effectivePeriod": {"start": "2020-01-01"},
                "dosage": [dose(200, "mg", code={"coding": [{"code": "BID"}]})],
            },
            {
                "resourceType": "MedicationAdministration",
                "status": "completed",
                "medicationCodeableConcept": {"text": "methylprednisolone sodium succinate"},
                "effectiveDateTime": "2025-05-10",
                "dosage": {
                    "dose": {"value": 1, "unit": "g", "system": U, "code": "g"},
                    "route": {"coding": [{"code": "IV"}]},
                },
            },
            {
                "resourceType": "MedicationStatement",
                "status": "not-taken",
                "medicationCodeableConcept": {"text": "belimumab"},
            },
            {
                "resourceType": "MedicationStatement",
                "status": "entered-in-error",
                "medicationCodeableConcept": {"text": "prednisone"},
            },
            {
                "resourceType": "MedicationStatement",
                "status": "active",
                "medicationCodeableConcept": {"text": "Herbal tea"},
            },
        )
    )
    meds = {m.text: m for m in rec.medications}
    mp = meds["Methylprednisolone 4 mg tablet"]
    assert (
        mp.name == "methylprednisolone" and str(mp.dose_per_day) == "12 mg" and mp.route == "oral"
    )
    assert mp.ongoing and mp.start == date(2025, 1, 1) and mp.end is None
    rtx = meds["Rituximab 1 g infusion"]
    assert rtx.dose_per_day is not None and rtx.dose_per_day.value == Fraction(1, 14)
    assert not rtx.ongoing and rtx.end == date(2024, 11, 15)
    assert str(meds["Hydroxychloroquine 200 mg"].dose_per_day) == "400 mg"
    pulse = meds["methylprednisolone sodium succinate"]
    assert str(pulse.dose_per_day) == "1 g" and pulse.start == pulse.end == date(2025, 5, 10)
    assert pulse.route == "intravenous"
    assert meds["belimumab"].not_taken
    assert "prednisone" not in meds
    assert meds["Herbal tea"].name is None and any("not recognised" in n for n in rec.notes)


def test_fhir_immunizations_procedures_and_history_tags() -> None:
    rec = patient_record_from_fhir(
        bundle(
            {
                "resourceType": "Immunization",
                "status": "completed",
                "vaccineCode": {
                    "coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "121"}]
                },
                "occurrenceDateTime": "2025-05-20",
            },
            {
                "resourceType": "Immunization",
                "status": "completed",
                "vaccineCode": {"text": "Shingrix"},
                "occurrenceDateTime": "2025-05-20",
            },
            {
                "resourceType": "Immunization",
                "status": "completed",
                "vaccineCode": {"text": "Travel vaccine"},
                "occurrenceDateTime": "2025-05-20",
            },
            {
                "resourceType": "Procedure",
                "status": "completed",
                "code": {"text": "Hemodialysis"},
                "performedDateTime": "2025-04-01",
            },
            {
                "resourceType": "Procedure",
                "status": "completed",
                "code": {"coding": [{"system": DL + "event", "code": "splenectomy"}]},
                "performedPeriod": {"start": "2024-01-01", "end": "2024-01-02"},
            },
            {"resourceType": "Procedure", "status": "completed", "code": {"text": "Appendectomy"}},
            {"resourceType": "Encounter", "status": "finished"},
            meta={"tag": [{"system": DL + "history-complete", "code": "events"}]},
        )
    )
    live, recomb, unknown = rec.medications
    assert live.name == "zoster vaccine live" and "live_vaccine" in live.classes
    assert "non_live_vaccine" in recomb.classes
    assert unknown.classes == frozenset({"vaccine"})
    assert [e.kind for e in rec.events] == ["dialysis", "splenectomy"]
    assert rec.history_complete == frozenset({"events"})
    assert any("Encounter ×1" in n for n in rec.notes)


def test_fhir_structure_errors() -> None:
    with pytest.raises(InputError, match=r"^entry: must be a list"):
        patient_record_from_fhir({"resourceType": "Bundle", "entry": {}})
    with pytest.raises(
        InputError, match=r"^entry\[1\]\.resource: a screening bundle holds exactly one Patient"
    ):
        patient_record_from_fhir(bundle(PATIENT, copy.deepcopy(PATIENT)))
    with pytest.raises(InputError, match="must be a Bundle"):
        patient_record_from_data({"resourceType": "Patient"})
    with pytest.raises(InputError, match="gender"):
        patient_record_from_fhir(bundle({**PATIENT, "gender": "f"}))
    bad_tag = bundle(meta={"tag": [{"system": DL + "history-complete", "code": "labs"}]})
    with pytest.raises(InputError, match="history kind"):
        patient_record_from_fhir(bad_tag)
    assert patient_record_from_fhir(bundle({**PATIENT, "gender": "other"})).sex is None


def test_the_documented_example_parses() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "eligibility.md").read_text(
        encoding="utf-8"
    )
    block = doc.split("## The doseladder patient JSON (version 1)", 1)[1].split("```json", 1)[1]
    data = json.loads(block.split("```", 1)[0])
    rec = patient_record_from_json(data)
    assert rec.medications[1].name == "rituximab"
    assert rec.conditions[1].key == "gilbert_syndrome" and rec.conditions[2].refuted
    assert str(rec.observations[1].uln) == "97 µmol/L"


def test_key_aliases() -> None:
    rec = patient_record_from_json(
        minimal(
            observations=[
                {"measure": "ANC", "value": 1.5, "unit": "x10E3/uL", "date": "2025-05-28"}
            ],
            serology=[{"test": "T-SPOT", "result": "negative", "date": "2025-05-28"}],
        )
    )
    assert rec.observations[0].measure == "neutrophils"
    assert str(rec.observations[0].value) == "1.5 10^3/µL"
    assert rec.serology[0].test == "tb_igra"


# --------------------------------------------------------------- FHIR validation (fhir.resources)
@pytest.mark.parametrize(
    ("resource", "field", "reason"),
    [
        (
            lab("2160-0", "one", "mg/dL"),
            "entry[1].resource.valueQuantity.value",
            "Decimal",
        ),
        (
            {**PATIENT, "birthDate": "1980-13-45"},
            "entry[0].resource.birthDate",
            "Date",
        ),
        (
            {**lab("2160-0", 1.0, "mg/dL"), "valueQuantiti": {"value": 1}},
            "entry[1].resource.valueQuantiti",
            "unknown element",
        ),
        (
            {"resourceType": "Observation", "code": {"text": "x"}, "valueBoolean": True},
            "entry[1].resource.status",
            "required",
        ),
        (
            {"resourceType": "Condition", "code": {"text": "x"}, "onsetDateTime": 2018},
            "entry[1].resource.onsetDateTime",
            "",
        ),
        (
            {"resourceType": "Labresult", "id": "x"},
            "entry[1].resource.resourceType",
            "not a FHIR R4 resource type",
        ),
    ],
)
def test_malformed_fhir_resource_is_refused_with_its_path(
    resource: dict[str, Any], field: str, reason: str
) -> None:
    resources = [resource] if resource.get("resourceType") == "Patient" else [PATIENT, resource]
    with pytest.raises(InputError) as e:
        patient_record_from_fhir(bundle(*resources))
    assert e.value.field == field
    assert reason in e.value.reason


def test_malformed_bundle_shell_and_r4_only_elements() -> None:
    with pytest.raises(InputError) as e:
        patient_record_from_fhir({**bundle(PATIENT), "type": 5})
    assert e.value.field == "type"
    # R4 MedicationStatement.medicationCodeableConcept is accepted (R5 would refuse it)
    ms = {
        "resourceType": "MedicationStatement",
        "status": "active",
        "medicationCodeableConcept": {"text": "prednisone"},
        "effectivePeriod": {"start": "2025-01-01"},
    }
    rec = patient_record_from_fhir(bundle(PATIENT, ms))
    assert rec.medications and rec.medications[0].name == "prednisone"


def test_unread_resources_are_checked_for_type_only() -> None:
    enc = {"resourceType": "Encounter", "status": "finished"}  # R4 requires class: not read
    rec = patient_record_from_fhir(bundle(PATIENT, enc))
    assert any("Encounter ×1" in n for n in rec.notes)
