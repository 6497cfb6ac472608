"""Exports: every table as CSV, CDISC-style DM, EX and AE domains as Dataset-JSON 1.1, and the
audit trail (verification and certified copy) for users with the ``audit`` permission.

CSV files hold every row of every table (all versions of corrected records, the whole audit
trail), with secrets (password hashes, token digests) replaced by ``[redacted]``.  The
Dataset-JSON domains hold the current (unsuperseded, non-void) records of one trial with SDTM
variable names; they are a convenience for statisticians, not a validated SDTM submission.
Exports need the ``export`` permission and a user not bound to a site.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doseladder import __version__
from doseladder.conduct import audit
from doseladder.conduct.errors import Forbidden, ValidationError
from doseladder.conduct.models import (
    AdverseEvent,
    AuditEvent,
    Base,
    Enrolment,
    Patient,
    ScreeningResult,
    Site,
    Trial,
)
from doseladder.conduct.security import Actor, Permission
from doseladder.conduct.services import _common as c
from doseladder.conduct.services import sandbox
from doseladder.conduct.services.trials import current_protocol, engine_for

__all__ = [
    "DOMAINS",
    "audit_copy",
    "dataset_json",
    "table_csv",
    "tables_csv",
    "verify_audit",
    "write_dataset_json",
    "write_tables_csv",
]

DOMAINS = ("DM", "EX", "AE")
REDACTED = "[redacted]"


def _begin(session: Session, actor: Actor) -> None:
    c.begin(session, actor, Permission.EXPORT)
    if actor.site_id is not None:
        raise Forbidden("exports contain every site's data: not available to site-bound users")


def _cell(column: Any, value: Any) -> str:
    if column.info.get("redact"):
        return REDACTED
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return str(audit.jsonable(value))
    if isinstance(value, dict | list):
        return audit.canonical_json(audit.jsonable(value))
    return str(value)


def table_csv(
    session: Session, table_name: str, *, leave_out_trials: frozenset[int] = frozenset()
) -> str:
    """One table as CSV text (header = column names; rows in primary-key order), without the
    rows of the trials in ``leave_out_trials``."""
    table = Base.metadata.tables.get(table_name)
    if table is None:
        raise ValidationError("table", f"unknown table {table_name!r}")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([col.name for col in table.columns])
    pk = list(table.primary_key.columns)
    stmt = select(table).order_by(*pk)
    if leave_out_trials:
        key = table.c.id if table.name == Trial.__tablename__ else table.c.get("trial_id")
        if key is not None:
            stmt = stmt.where(key.is_(None) | key.not_in(sorted(leave_out_trials)))
    for row in session.execute(stmt).mappings():
        writer.writerow([_cell(col, row[col.name]) for col in table.columns])
    return buf.getvalue()


def tables_csv(session: Session, actor: Actor, *, include_sandbox: bool = False) -> dict[str, str]:
    """Every table as CSV text, keyed by table name; the rows of sandbox trials only with
    ``include_sandbox``."""
    _begin(session, actor)
    leave_out = frozenset() if include_sandbox else sandbox.sandbox_trial_ids(session)
    return {
        t.name: table_csv(session, t.name, leave_out_trials=leave_out)
        for t in Base.metadata.sorted_tables
    }


def write_tables_csv(
    session: Session, actor: Actor, out_dir: str | Path, *, include_sandbox: bool = False
) -> list[Path]:
    """Write ``<table>.csv`` for every table into ``out_dir`` (created if needed)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in tables_csv(session, actor, include_sandbox=include_sandbox).items():
        path = out / f"{name}.csv"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


# ------------------------------------------------------------------ Dataset-JSON
_Col = tuple[str, str, str, int | None]  # name, label, dataType, length

_DM: tuple[_Col, ...] = (
    ("STUDYID", "Study Identifier", "string", 64),
    ("DOMAIN", "Domain Abbreviation", "string", 2),
    ("USUBJID", "Unique Subject Identifier", "string", 100),
    ("SUBJID", "Subject Identifier for the Study", "string", 32),
    ("SITEID", "Study Site Identifier", "string", 32),
    ("AGE", "Age", "integer", None),
    ("AGEU", "Age Units", "string", 10),
    ("SEX", "Sex", "string", 1),
    ("ARMCD", "Planned Arm Code", "string", 64),
    ("ARM", "Description of Planned Arm", "string", 200),
    ("ACTARMCD", "Actual Arm Code", "string", 64),
    ("ACTARM", "Description of Actual Arm", "string", 200),
    ("RFXSTDTC", "Date/Time of First Study Treatment", "date", None),
)
_EX: tuple[_Col, ...] = (
    ("STUDYID", "Study Identifier", "string", 64),
    ("DOMAIN", "Domain Abbreviation", "string", 2),
    ("USUBJID", "Unique Subject Identifier", "string", 100),
    ("EXSEQ", "Sequence Number", "integer", None),
    ("EXTRT", "Name of Treatment", "string", 200),
    ("EXDOSE", "Dose", "double", None),
    ("EXDOSU", "Dose Units", "string", 20),
    ("EXDOSTXT", "Dose Description", "string", 200),
    ("EXSTDTC", "Start Date/Time of Treatment", "date", None),
    ("EXENDTC", "End Date/Time of Treatment", "date", None),
)
_AE: tuple[_Col, ...] = (
    ("STUDYID", "Study Identifier", "string", 64),
    ("DOMAIN", "Domain Abbreviation", "string", 2),
    ("USUBJID", "Unique Subject Identifier", "string", 100),
    ("AESEQ", "Sequence Number", "integer", None),
    ("AESPID", "Sponsor-Defined Identifier", "string", 32),
    ("AETERM", "Reported Term for the Adverse Event", "string", 200),
    ("AETOXGR", "Standard Toxicity Grade", "string", 1),
    ("AESER", "Serious Event", "string", 1),
    ("AEREL", "Causality", "string", 20),
    ("AESTDTC", "Start Date/Time of Adverse Event", "date", None),
    ("AEENDTC", "End Date/Time of Adverse Event", "date", None),
)
_LABELS = {"DM": "Demographics", "EX": "Exposure", "AE": "Adverse Events"}
_SPECS = {"DM": _DM, "EX": _EX, "AE": _AE}


def _current(session: Session, model: Any, trial_id: int) -> list[Any]:
    return c.current(session.scalars(select(model).where(model.trial_id == trial_id)))


def _usubjid(trial: Trial, patient: Patient) -> str:
    return f"{trial.code}-{patient.study_id}"


def _rows(session: Session, trial: Trial, domain: str) -> list[list[Any]]:
    patients = {
        p.id: p
        for p in session.scalars(
            select(Patient).where(Patient.trial_id == trial.id).order_by(Patient.study_id)
        )
    }
    sites = {s.id: s.code for s in session.scalars(select(Site))}
    enrol = {e.patient_id: e for e in _current(session, Enrolment, trial.id)}
    engine = engine_for(current_protocol(session, trial.id))
    rows: list[list[Any]] = []
    if domain == "DM":
        screens: dict[int, list[ScreeningResult]] = {}
        for s in _current(session, ScreeningResult, trial.id):
            screens.setdefault(s.patient_id, []).append(s)
        for p in patients.values():
            e = enrol.get(p.id)
            if e is not None:
                label = engine.label(e.dose_level) if e.dose_level <= engine.num_doses else None
                armcd = label or f"DL{e.dose_level}"
                arm = f"Dose level {armcd}" + (f", {e.indication}" if e.indication else "")
                act = (armcd, arm) if e.infusion_date is not None else ("NOTTRT", "Not Treated")
            else:
                failed = any(not s.eligible for s in screens.get(p.id, [])) and not any(
                    s.eligible for s in screens.get(p.id, [])
                )
                armcd, arm = (
                    ("SCRNFAIL", "Screen Failure") if failed else ("NOTASSGN", "Not Assigned")
                )
                act = (armcd, arm)
            rows.append(
                [
                    trial.code,
                    "DM",
                    _usubjid(trial, p),
                    p.study_id,
                    sites.get(p.site_id, ""),
                    p.age,
                    "YEARS" if p.age is not None else None,
                    p.sex,
                    armcd,
                    arm,
                    act[0],
                    act[1],
                    e.infusion_date.isoformat() if e is not None and e.infusion_date else None,
                ]
            )
    elif domain == "EX":
        seq: dict[int, int] = {}
        for pid, p in patients.items():
            e = enrol.get(pid)
            if e is None or e.infusion_date is None:
                continue
            seq[pid] = seq.get(pid, 0) + 1
            label = engine.label(e.dose_level) if e.dose_level <= engine.num_doses else None
            value, unit, text = engine.dose_amount(e.dose_level)
            rows.append(
                [
                    trial.code,
                    "EX",
                    _usubjid(trial, p),
                    seq[pid],
                    trial.title,
                    value,
                    unit,
                    f"{label}: {text}" if text else (label or f"DL{e.dose_level}"),
                    e.infusion_date.isoformat(),
                    e.infusion_date.isoformat(),
                ]
            )
    else:
        by_patient: dict[int, list[AdverseEvent]] = {}
        for ae in _current(session, AdverseEvent, trial.id):
            by_patient.setdefault(ae.patient_id, []).append(ae)
        for pid, p in patients.items():
            for n, ae in enumerate(
                sorted(by_patient.get(pid, []), key=lambda a: (a.onset_date, a.lineage_id)),
                start=1,
            ):
                rows.append(
                    [
                        trial.code,
                        "AE",
                        _usubjid(trial, p),
                        n,
                        str(ae.lineage_id),
                        ae.term,
                        str(ae.grade),
                        "Y" if ae.serious else "N",
                        ae.relatedness.replace("_", " ").upper() if ae.relatedness else None,
                        ae.onset_date.isoformat(),
                        ae.resolved_date.isoformat() if ae.resolved_date else None,
                    ]
                )
    return rows


def dataset_json(
    session: Session, actor: Actor, trial_id: int, domain: str, *, include_sandbox: bool = False
) -> dict[str, Any]:
    """One domain (``DM``, ``EX`` or ``AE``) of a trial as a Dataset-JSON 1.1 mapping (a
    sandbox trial only with ``include_sandbox``)."""
    _begin(session, actor)
    name = domain.upper() if isinstance(domain, str) else domain
    if name not in DOMAINS:
        raise ValidationError("domain", f"must be one of {', '.join(DOMAINS)}, got {domain!r}")
    trial = c.get(session, Trial, trial_id)
    sandbox.check_export(trial, include_sandbox=include_sandbox)
    spec = _SPECS[name]
    rows = _rows(session, trial, name)
    last = session.scalar(select(func.max(AuditEvent.ts)))
    columns: list[dict[str, Any]] = []
    for i, (col, label, dtype, length) in enumerate(spec):
        entry: dict[str, Any] = {
            "itemOID": f"IT.{name}.{col}",
            "name": col,
            "label": label,
            "dataType": dtype,
        }
        if dtype == "date":
            entry["targetDataType"] = "integer"
        if length is not None:
            entry["length"] = length
        if col in ("STUDYID", "USUBJID") or col in ("EXSEQ", "AESEQ"):
            entry["keySequence"] = {"STUDYID": 1, "USUBJID": 2}.get(col, 3)
        columns.append(entry)
        _ = i
    return {
        "datasetJSONCreationDateTime": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "datasetJSONVersion": "1.1.0",
        "fileOID": f"doseladder.{trial.code}.{name}",
        "dbLastModifiedDateTime": audit.jsonable(last) if last is not None else None,
        "originator": "doseladder",
        "sourceSystem": {"name": "doseladder", "version": __version__},
        "studyOID": trial.code,
        "metaDataVersionOID": f"MDV.{trial.code}.1",
        "itemGroupOID": f"IG.{name}",
        "isReferenceData": False,
        "records": len(rows),
        "name": name,
        "label": _LABELS[name],
        "columns": columns,
        "rows": rows,
    }


def write_dataset_json(
    session: Session,
    actor: Actor,
    trial_id: int,
    out_dir: str | Path,
    *,
    include_sandbox: bool = False,
) -> list[Path]:
    """Write ``dm.json``, ``ex.json`` and ``ae.json`` of a trial into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in DOMAINS:
        data = dataset_json(session, actor, trial_id, name, include_sandbox=include_sandbox)
        path = out / f"{name.lower()}.json"
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
        paths.append(path)
    return paths


def verify_audit(session: Session, actor: Actor) -> audit.VerifyResult:
    """Verify the audit chain and the tables against it (``audit`` permission)."""
    c.begin(session, actor, Permission.AUDIT)
    return audit.verify(session)


def audit_copy(session: Session, actor: Actor) -> dict[str, Any]:
    """A certified copy of the whole audit trail (``audit`` permission)."""
    c.begin(session, actor, Permission.AUDIT)
    return audit.certified_copy(session, actor=actor, now=c.now(session))
