"""Exports of one trial: its tables as CSV, CDISC-style DM, EX, AE and RS domains as
Dataset-JSON 1.1 (or CSV), and the audit trail (verification and certified copy) for users with
the ``audit`` permission.

CSV files hold every row of the trial's tables (all versions of corrected records, the trial's
audit events, the sites taking part and the users who acted on the trial), with secrets
(password hashes, token digests) replaced by ``[redacted]``; API tokens and other trials are
left out.  Every CSV cell that a spreadsheet would read as a formula is neutralised
(:func:`neutralise`).  The Dataset-JSON domains hold the current (unsuperseded, non-void)
records of one trial with SDTM variable names; they are a convenience for statisticians, not a
validated SDTM submission.  Exports need the ``export`` permission and a user not bound to a
site.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from datetime import date, datetime
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
    DLTAdjudication,
    EfficacyAssessment,
    Enrolment,
    LymphodepletionDose,
    Patient,
    ScreeningResult,
    Site,
    Trial,
    TrialSite,
)
from doseladder.conduct.security import Actor, Permission
from doseladder.conduct.services import _common as c
from doseladder.conduct.services import sandbox
from doseladder.conduct.services.trials import current_protocol, engine_for

__all__ = [
    "DOMAINS",
    "audit_copy",
    "dataset_json",
    "domain_csv",
    "neutralise",
    "table_csv",
    "tables_csv",
    "verify_audit",
    "write_dataset_json",
    "write_tables_csv",
]

DOMAINS = ("DM", "EX", "AE", "RS")
REDACTED = "[redacted]"

#: a plain decimal number (optionally negative, with an exponent): a spreadsheet reads it as
#: that number and nothing else, so a leading minus is not a formula
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A CSV cell that no spreadsheet will run as a formula (OWASP "CSV Injection").

    A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
    apostrophe (shown as text, the cell's characters kept).  A negative number such as
    ``-3.5`` or ``-2e-4`` is left as it is: it matches only digits, one point and an exponent,
    so it cannot hold a function call, a reference or an operator beyond its own sign, and
    spreadsheets read it as the same number; prefixing it would turn numbers into text.
    """
    if cell.startswith(_FORMULA_START) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def _begin(session: Session, actor: Actor) -> None:
    c.begin(session, actor, Permission.EXPORT)
    if actor.site_id is not None:
        raise Forbidden("exports contain every site's data: not available to site-bound users")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return str(audit.jsonable(value))
    if isinstance(value, dict | list):
        return audit.canonical_json(audit.jsonable(value))
    return str(value)


def _cell(column: Any, value: Any) -> str:
    if column.info.get("redact"):
        return REDACTED
    return _text(value)


def _csv(header: list[str], rows: Any) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise(c) for c in row])
    return buf.getvalue()


#: tables left out of a trial's export (not trial data: credentials, sessions, request keys;
#: the audit signatures and keys travel in the certified copy, which verifies them)
_NOT_EXPORTED = frozenset(
    {
        "api_tokens",
        "audit_chain_heads",
        "audit_keys",
        "audit_signatures",
        "idempotency_keys",
        "session_activity",
    }
)


def _trial_filter(session: Session, table: Any, trial_id: int) -> Any:
    if table.name == "trials":
        return table.c.id == trial_id
    if "trial_id" in table.c:
        return table.c.trial_id == trial_id
    if table.name == "sites":
        return table.c.id.in_(select(TrialSite.site_id).where(TrialSite.trial_id == trial_id))
    if table.name == "users":
        acted = select(AuditEvent.actor_user_id).where(AuditEvent.trial_id == trial_id)
        return table.c.id.in_(acted)
    raise ValidationError("table", f"{table.name} is not part of a trial's export")


def table_csv(session: Session, table_name: str, trial_id: int | None = None) -> str:
    """One table as CSV text (header = column names; rows in primary-key order), restricted to
    one trial's rows when ``trial_id`` is given."""
    table = Base.metadata.tables.get(table_name)
    if table is None:
        raise ValidationError("table", f"unknown table {table_name!r}")
    pk = list(table.primary_key.columns)
    query = select(table).order_by(*pk)
    if trial_id is not None:
        query = query.where(_trial_filter(session, table, trial_id))
    rows = (
        [_cell(col, row[col.name]) for col in table.columns]
        for row in session.execute(query).mappings()
    )
    return _csv([col.name for col in table.columns], rows)


def tables_csv(
    session: Session, actor: Actor, trial_id: int, *, include_sandbox: bool = False
) -> dict[str, str]:
    """One trial's tables as CSV text, keyed by table name (a sandbox trial only with
    ``include_sandbox``)."""
    _begin(session, actor)
    sandbox.check_export(c.get(session, Trial, trial_id), include_sandbox=include_sandbox)
    return {
        t.name: table_csv(session, t.name, trial_id)
        for t in Base.metadata.sorted_tables
        if t.name not in _NOT_EXPORTED
    }


def write_tables_csv(
    session: Session,
    actor: Actor,
    trial_id: int,
    out_dir: str | Path,
    *,
    include_sandbox: bool = False,
) -> list[Path]:
    """Write ``<table>.csv`` for each of a trial's tables into ``out_dir`` (created if needed)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in tables_csv(session, actor, trial_id, include_sandbox=include_sandbox).items():
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
    ("EXCAT", "Category of Treatment", "string", 40),
    ("EXSCAT", "Subcategory of Treatment (cohort: ESCALATION / BACKFILL)", "string", 20),
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
    ("AEDECOD", "Dictionary-Derived Term", "string", 200),
    ("AETOXGR", "Standard Toxicity Grade", "string", 1),
    ("ASTCTGR", "ASTCT Consensus Grade (CRS/ICANS)", "string", 1),
    ("AEDLT", "Dose-Limiting Toxicity (confirmed call)", "string", 1),
    ("AESER", "Serious Event", "string", 1),
    ("AEREL", "Causality", "string", 20),
    ("AESTDTC", "Start Date/Time of Adverse Event", "date", None),
    ("AEENDTC", "End Date/Time of Adverse Event", "date", None),
)
_RS: tuple[_Col, ...] = (
    ("STUDYID", "Study Identifier", "string", 64),
    ("DOMAIN", "Domain Abbreviation", "string", 2),
    ("USUBJID", "Unique Subject Identifier", "string", 100),
    ("RSSEQ", "Sequence Number", "integer", None),
    ("RSSPID", "Sponsor-Defined Identifier", "string", 32),
    ("RSTESTCD", "Assessment Short Name", "string", 8),
    ("RSTEST", "Assessment Name", "string", 40),
    ("RSCAT", "Category for Assessment", "string", 40),
    ("RSORRES", "Result or Finding in Original Units", "string", 200),
    ("RSSTRESC", "Character Result/Finding in Std Format", "string", 20),
    ("RSCALL", "Response Call (proposed/confirmed/overridden/entered)", "string", 12),
    ("RSEVLINT", "Final Assessment of the Efficacy Window", "string", 1),
    ("RSDTC", "Date/Time of Assessment", "date", None),
)
_LABELS = {"DM": "Demographics", "EX": "Exposure", "AE": "Adverse Events", "RS": "Disease Response"}
_SPECS = {"DM": _DM, "EX": _EX, "AE": _AE, "RS": _RS}
_TESTCD = {
    "ITP response": "ITPRESP",
    "SRI-4": "SRI4",
    "SLEDAI-2K": "SLEDAI2K",
    "BILAG-2004": "BILAG",
    "PGA": "PGA",
}


def _current(session: Session, model: Any, trial_id: int) -> list[Any]:
    return c.current(session.scalars(select(model).where(model.trial_id == trial_id)))


def _usubjid(trial: Trial, patient: Patient) -> str:
    return f"{trial.code}-{patient.study_id}"


def _product(engine: Any) -> str:
    product = getattr(engine.protocol, "product", None)
    name = product.get("name") if product is not None else None
    return str(name) if name else "Investigational product (not named in the protocol)"


def _dm(session: Session, trial: Trial, ctx: dict[str, Any]) -> list[list[Any]]:
    engine, enrol, sites = ctx["engine"], ctx["enrol"], ctx["sites"]
    screens: dict[int, list[ScreeningResult]] = {}
    for s in _current(session, ScreeningResult, trial.id):
        screens.setdefault(s.patient_id, []).append(s)
    rows = []
    for p in ctx["patients"].values():
        e = enrol.get(p.id)
        if e is not None:
            label = engine.label(e.dose_level) if e.dose_level <= engine.num_doses else None
            label = label or f"DL{e.dose_level}"
            armcd = f"{label}-{e.indication}" if e.indication else label
            _, _, amount = engine.dose_amount(e.dose_level)
            arm = f"Dose level {label}" + (f" ({amount})" if amount else "")
            arm += f", {e.indication}" if e.indication else ""
            act = (armcd, arm) if e.infusion_date is not None else ("NOTTRT", "Not Treated")
        else:
            mine = screens.get(p.id, [])
            failed = any(not s.eligible for s in mine) and not any(s.eligible for s in mine)
            armcd, arm = ("SCRNFAIL", "Screen Failure") if failed else ("NOTASSGN", "Not Assigned")
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
    return rows


#: one record of a subject: its sort key and its values after STUDYID, DOMAIN, USUBJID, --SEQ
_Record = tuple[Any, list[Any]]


def _numbered(
    trial: Trial, domain: str, ctx: dict[str, Any], records_of: Callable[[int], list[_Record]]
) -> list[list[Any]]:
    """The rows of a domain with one row per record (EX, AE, RS): every subject's records in
    the order of their keys, numbered ``--SEQ`` 1, 2, ... per subject."""
    rows = []
    for pid, p in ctx["patients"].items():
        records = sorted(records_of(pid), key=lambda r: r[0])
        for n, (_, values) in enumerate(records, start=1):
            rows.append([trial.code, domain, _usubjid(trial, p), n, *values])
    return rows


def _by_patient(session: Session, model: Any, trial_id: int) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {}
    for row in _current(session, model, trial_id):
        out.setdefault(row.patient_id, []).append(row)
    return out


def _ex(session: Session, trial: Trial, ctx: dict[str, Any]) -> list[list[Any]]:
    """EX: the recorded lymphodepletion administrations (current, non-void versions; the
    regimen's planned days without a record are left out: EX holds what was given) and the
    infusion of the study product, with the enrolment's cohort as ``EXSCAT`` (``ESCALATION``
    or ``BACKFILL``; enrolments entered before backfill existed are escalation)."""
    engine, enrol = ctx["engine"], ctx["enrol"]
    product = _product(engine)
    given = _by_patient(session, LymphodepletionDose, trial.id)

    def records_of(pid: int) -> list[_Record]:
        e = enrol.get(pid)
        records: list[_Record] = []
        for ld in sorted(given.get(pid, []), key=lambda r: (r.given_on, r.lineage_id)):
            text = f"{ld.dose.normalize():f} {ld.unit}"
            if e is not None and e.infusion_date is not None:
                text += f" on day {(ld.given_on - e.infusion_date).days:+d}"
            text += " (recorded)" + (f"; {ld.note}" if ld.note else "")
            values = ["LYMPHODEPLETION", None, ld.agent, float(ld.dose), ld.unit, text[:200]]
            records.append((ld.given_on, [*values, *[ld.given_on.isoformat()] * 2]))
        if e is None or e.infusion_date is None:
            return records
        label = engine.label(e.dose_level) if e.dose_level <= engine.num_doses else None
        value, unit, text = engine.dose_amount(e.dose_level)
        cohort = "BACKFILL" if e.cohort == "backfill" else "ESCALATION"
        dosetxt = f"{label}: {text}" if text else (label or f"DL{e.dose_level}")
        when = e.infusion_date.isoformat()
        values = ["STUDY TREATMENT", cohort, product, value, unit, dosetxt, when, when]
        records.append((e.infusion_date, values))
        return records

    return _numbered(trial, "EX", ctx, records_of)


def _ae(session: Session, trial: Trial, ctx: dict[str, Any]) -> list[list[Any]]:
    by_patient = _by_patient(session, AdverseEvent, trial.id)
    dlt: dict[int, bool] = {
        a.adverse_event_id: a.is_dlt
        for a in _current(session, DLTAdjudication, trial.id)
        if a.adverse_event_id is not None
    }

    def record(ae: AdverseEvent) -> _Record:
        astct = ae.grade_scale == "ASTCT 2019"
        call = dlt.get(ae.lineage_id)
        values = [
            str(ae.lineage_id),
            ae.term,
            ae.term if ae.grade_scale is not None else None,
            None if astct else str(ae.grade),
            str(ae.grade) if astct else None,
            None if call is None else ("Y" if call else "N"),
            "Y" if ae.serious else "N",
            ae.relatedness.replace("_", " ").upper() if ae.relatedness else None,
            ae.onset_date.isoformat(),
            ae.resolved_date.isoformat() if ae.resolved_date else None,
        ]
        return (ae.onset_date, ae.lineage_id), values

    return _numbered(trial, "AE", ctx, lambda pid: [record(x) for x in by_patient.get(pid, [])])


def _rs(session: Session, trial: Trial, ctx: dict[str, Any]) -> list[list[Any]]:
    by_patient = _by_patient(session, EfficacyAssessment, trial.id)

    def record(ea: EfficacyAssessment) -> _Record:
        value = (ea.assessment or {}).get("value") if ea.assessment else None
        orres: str | None
        if isinstance(value, bool):
            orres = "Y" if value else "N"
        elif value is None:
            orres = None if ea.assessment else ("Y" if ea.responder else "N")
        else:
            orres = str(value)
        decided = ea.call != "proposed"
        stresc = ("RESPONDER" if ea.responder else "NON-RESPONDER") if decided else None
        testcd = _TESTCD.get(ea.instrument) or re.sub(r"[^A-Z0-9]", "", ea.instrument.upper())
        values = [
            str(ea.lineage_id),
            testcd[:8] or "RESP",
            ea.instrument[:40],
            ea.instrument[:40],
            orres,
            stresc,
            ea.call or "entered",
            "Y" if ea.final else "N",
            ea.assessed_on.isoformat(),
        ]
        return (ea.assessed_on, ea.lineage_id), values

    return _numbered(trial, "RS", ctx, lambda pid: [record(x) for x in by_patient.get(pid, [])])


def _rows(session: Session, trial: Trial, domain: str) -> list[list[Any]]:
    ctx: dict[str, Any] = {
        "patients": {
            p.id: p
            for p in session.scalars(
                select(Patient).where(Patient.trial_id == trial.id).order_by(Patient.study_id)
            )
        },
        "sites": {s.id: s.code for s in session.scalars(select(Site))},
        "enrol": {e.patient_id: e for e in _current(session, Enrolment, trial.id)},
        "engine": engine_for(current_protocol(session, trial.id)),
    }
    if domain == "DM":
        return _dm(session, trial, ctx)
    if domain == "EX":
        return _ex(session, trial, ctx)
    if domain == "AE":
        return _ae(session, trial, ctx)
    return _rs(session, trial, ctx)


def _domain(name: object) -> str:
    domain = name.upper() if isinstance(name, str) else name
    if domain not in DOMAINS:
        raise ValidationError("domain", f"must be one of {', '.join(DOMAINS)}, got {name!r}")
    return str(domain)


def domain_csv(
    session: Session, actor: Actor, trial_id: int, domain: str, *, include_sandbox: bool = False
) -> str:
    """One domain of a trial as CSV text (SDTM variable names as the header; a sandbox trial
    only with ``include_sandbox``)."""
    _begin(session, actor)
    name = _domain(domain)
    trial = c.get(session, Trial, trial_id)
    sandbox.check_export(trial, include_sandbox=include_sandbox)
    rows = ([_text(v) for v in row] for row in _rows(session, trial, name))
    return _csv([col[0] for col in _SPECS[name]], rows)


def dataset_json(
    session: Session, actor: Actor, trial_id: int, domain: str, *, include_sandbox: bool = False
) -> dict[str, Any]:
    """One domain (``DM``, ``EX``, ``AE`` or ``RS``) of a trial as a Dataset-JSON 1.1 mapping (a
    sandbox trial only with ``include_sandbox``)."""
    _begin(session, actor)
    name = _domain(domain)
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
        if col in ("STUDYID", "USUBJID") or col in ("EXSEQ", "AESEQ", "RSSEQ"):
            entry["keySequence"] = {"STUDYID": 1, "USUBJID": 2}.get(col, 3)
        columns.append(entry)
        _ = i
    out: dict[str, Any] = {
        "datasetJSONCreationDateTime": c.now(session).replace(microsecond=0).isoformat(),
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
    if out["dbLastModifiedDateTime"] is None:
        del out["dbLastModifiedDateTime"]
    return out


def write_dataset_json(
    session: Session,
    actor: Actor,
    trial_id: int,
    out_dir: str | Path,
    *,
    include_sandbox: bool = False,
) -> list[Path]:
    """Write ``dm.json``, ``ex.json``, ``ae.json`` and ``rs.json`` of a trial into ``out_dir``."""
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
