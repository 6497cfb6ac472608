"""Exports: every table as CSV (secrets redacted); DM, EX and AE as Dataset-JSON 1.1."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from doseladder.conduct.errors import ValidationError
from doseladder.conduct.models import Base
from doseladder.conduct.services import exports, outcomes, patients
from doseladder.io.design_file import load_mapping
from doseladder.protocols import shipped_path

from .conftest import World


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
            term="Neutropenia",
            grade=4,
            onset_date=world.clock.today(),
            serious=True,
            relatedness="related",
        )
    )
    world.run(
        lambda s: outcomes.correct_adverse_event(
            s, world.dm, a.id, changes={"grade": 3}, reason="lab recheck"
        )
    )
    return tid


def test_every_table_as_csv(world: World, tmp_path: Path) -> None:
    populated(world)
    tables = world.run(lambda s: exports.tables_csv(s, world.monitor))
    assert set(tables) == {t.name for t in Base.metadata.sorted_tables}
    users = list(csv.DictReader(io.StringIO(tables["users"])))
    assert {u["password_hash"] for u in users} == {exports.REDACTED}
    aes = list(csv.DictReader(io.StringIO(tables["adverse_events"])))
    assert [(a["version"], a["grade"]) for a in aes] == [("1", "4"), ("2", "3")]
    assert aes[0]["serious"] == "true" and aes[0]["resolved_date"] == ""
    assert len(list(csv.DictReader(io.StringIO(tables["audit_events"])))) == world.audit_count()
    paths = world.run(lambda s: exports.write_tables_csv(s, world.stat, tmp_path / "csv"))
    assert len(paths) == len(tables) and all(p.exists() for p in paths)
    with pytest.raises(ValidationError), world.db.session() as s:
        exports.table_csv(s, "nope")


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
        "Neutropenia",
        "3",
        "Y",
        "RELATED",
    )
    assert all({"itemOID", "name", "label", "dataType"} <= set(c) for c in ae["columns"])
    with pytest.raises(ValidationError) as info:
        world.run(lambda s: exports.dataset_json(s, world.stat, tid, "LB"))
    assert info.value.field == "domain"
    paths = world.run(lambda s: exports.write_dataset_json(s, world.stat, tid, tmp_path))
    assert [p.name for p in paths] == ["dm.json", "ex.json", "ae.json"]
    assert json.loads(paths[0].read_text())["name"] == "DM"


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
