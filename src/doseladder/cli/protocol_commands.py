"""``doseladder protocol ...``: list, show, validate, schedule and recommend for protocol files.

Every command takes a protocol file path or the name of a shipped protocol (``doseladder
protocol list``), accepts ``--json``, and reports bad input as a one-line ``error: <field>:
<reason>`` with exit status 2 (:func:`doseladder.cli.output.handle_errors`).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from doseladder.cli.output import emit_json, handle_errors
from doseladder.core.errors import InputError
from doseladder.core.rules.plan import recommend as plan_recommend
from doseladder.core.schedule import expand
from doseladder.core.state import TrialState
from doseladder.io.patients_csv import parse_patients_csv
from doseladder.protocols import (
    Protocol,
    list_protocols,
    load_protocol,
    load_shipped,
    shipped_path,
)

__all__ = ["protocol_app", "register", "resolve_protocol"]

protocol_app = typer.Typer(
    name="protocol",
    help="Protocol files: list, show, validate, schedule, recommend.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

ProtocolArg = Annotated[
    str,
    typer.Argument(
        help="Protocol file (YAML/JSON) or the name of a shipped protocol.", show_default=False
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def resolve_protocol(file_or_name: str) -> Protocol:
    """Load a protocol from a path, or a shipped protocol by name."""
    path = Path(file_or_name)
    if path.is_file():
        return load_protocol(path)
    if path.suffix or "/" in file_or_name or "\\" in file_or_name:
        if file_or_name in list_protocols() or path.stem in list_protocols():
            return load_shipped(path.stem)
        raise InputError(file_or_name, "protocol file not found")
    return load_shipped(file_or_name)


def _summary(p: Protocol) -> dict[str, Any]:
    return {
        "id": p.id,
        "title": p.title,
        "nct_id": p.identifiers.get("nct_id"),
        "seed_file": p.provenance.get("seed_file"),
        "design": p.plan.design.name,
        "doses": list(p.dose_labels),
        "indications": [i.id for i in p.indications],
        "driving_indication": p.plan.driving_indication,
        "criteria": len(p.criteria),
        "criteria_flagged": sum(c.needs_review for c in p.criteria),
        "flagged": len(p.flagged()),
    }


@protocol_app.command("list")
@handle_errors
def list_cmd(json_: JsonOpt = False) -> None:
    """List the shipped protocols."""
    rows = []
    for name in list_protocols():
        p = load_shipped(name)
        rows.append({"name": name, "path": str(shipped_path(name)), **_summary(p)})
    if json_:
        emit_json({"protocols": rows})
        return
    if not rows:
        typer.echo("no shipped protocols found")
        return
    for r in rows:
        typer.echo(
            f"{r['name']}: {r['title']} [{r['nct_id'] or 'no NCT id'}; {r['design']}; doses "
            f"{', '.join(r['doses'])}; {r['flagged']} item(s) flagged for review]"
        )


@protocol_app.command("show")
@handle_errors
def show_cmd(
    protocol: ProtocolArg,
    full: Annotated[
        bool, typer.Option("--full", help="Also print the criteria and the visit schedule.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Print the protocol's escalation rules, DLT and response definitions as readable text."""
    p = resolve_protocol(protocol)
    if json_:
        emit_json(
            {
                **p.to_dict(),
                "rules_text": p.rules_text(),
                "dlt_text": p.dlt_text(),
                "response_text": p.response_text(),
            }
        )
        return
    if full:
        typer.echo(p.describe())
        return
    typer.echo(
        "\n\n".join(
            [
                p.identification_text(),
                p.indications_text(),
                p.rules_text(),
                p.dlt_text(),
                p.response_text(),
                p.review_text(),
            ]
        )
    )


@protocol_app.command("validate")
@handle_errors
def validate_cmd(protocol: ProtocolArg, json_: JsonOpt = False) -> None:
    """Validate a protocol file (exit status 2 and the path of the bad key when invalid)."""
    p = resolve_protocol(protocol)
    s = _summary(p)
    if json_:
        emit_json({"valid": True, **s})
        return
    typer.echo(
        f"ok: {p.id} (schema version {p.schema_version}): {len(p.doses)} dose level(s), design "
        f"{s['design']}, {len(p.indications)} indication(s), {s['criteria']} criteria "
        f"({s['criteria_flagged']} flagged), {s['flagged']} item(s) flagged for review"
    )


@protocol_app.command("schedule")
@handle_errors
def schedule_cmd(
    protocol: ProtocolArg,
    infusion_date: Annotated[
        str, typer.Option("--infusion-date", help="Infusion date (day 0), YYYY-MM-DD.")
    ],
    json_: JsonOpt = False,
) -> None:
    """Expand the visit schedule into dated visits from an infusion date."""
    p = resolve_protocol(protocol)
    try:
        day0 = date.fromisoformat(infusion_date)
    except ValueError:
        raise InputError("--infusion-date", f"{infusion_date!r} is not a YYYY-MM-DD date") from None
    visits = expand(p.schedule, day0)
    if json_:
        emit_json(
            {
                "protocol": p.id,
                "infusion_date": day0.isoformat(),
                "month_length": p.schedule.month_length,
                "visits": [v.to_dict() for v in visits],
            }
        )
        return
    typer.echo(p.schedule.describe())
    if not visits:
        typer.echo("(no visits)")
        return
    typer.echo("")
    typer.echo(f"{'day':>5}  {'date':<10}  {'window':<23}  {'label':<9}  assessment")
    for v in visits:
        window = (
            f"{v.window_start.isoformat()}..{v.window_end.isoformat()}"
            if v.window_start != v.window_end
            else ""
        )
        typer.echo(
            f"{v.day:>5}  {v.date.isoformat():<10}  {window:<23}  {v.label:<9}  {v.assessment}"
        )


def _relabel_doses(text: str, p: Protocol) -> str:
    """Replace dose labels (``DL-1``) in the ``dose`` column by 1-based levels."""
    reader = csv.reader(io.StringIO(text))
    rows = list(reader)
    if not rows:
        return text
    header = [h.strip() for h in rows[0]]
    if "dose" not in header:
        return text
    k = header.index("dose")
    labels = p.dose_labels
    for i, row in enumerate(rows[1:], start=1):
        if k < len(row):
            cell = row[k].strip()
            if cell in labels:
                row[k] = str(labels.index(cell) + 1)
            elif cell and not cell.isdigit():
                raise InputError(
                    f"row {i}, dose", f"{cell!r} is not a dose label ({', '.join(labels)})"
                )
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


@protocol_app.command("recommend")
@handle_errors
def recommend_cmd(
    protocol: ProtocolArg,
    patients: Annotated[
        Path,
        typer.Option(
            "--patients",
            help="CSV: dose (label or level), entry_day, tox, tox_day, eff, eff_day, "
            "indication (empty = pending / driving indication).",
        ),
    ],
    now: Annotated[float, typer.Option("--now", help="Decision day.")],
    json_: JsonOpt = False,
) -> None:
    """Per-indication dose recommendation for the patients treated so far."""
    p = resolve_protocol(protocol)
    try:
        text = patients.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(str(patients), "patients file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(patients), f"cannot read patients file: {exc}") from None
    try:
        pts = parse_patients_csv(
            _relabel_doses(text, p),
            now=now,
            tox_window=p.windows.dlt_days,
            eff_window=p.windows.efficacy_days,
        )
    except InputError as exc:
        raise InputError(f"{patients.name}: {exc.field}", exc.reason) from None
    J = len(p.doses)
    for i, pt in enumerate(pts, start=1):
        if pt.dose > J:
            raise InputError(
                f"{patients.name}: dose", f"dose level {pt.dose} is outside 1..{J} (row {i})"
            )
    rec = plan_recommend(p.plan, TrialState(J, pts), now)
    if json_:
        emit_json({"protocol": p.id, **rec.to_dict()})
        return
    typer.echo(f"{p.title} -- recommendation at day {now:g}")
    for r in rec.indications:
        where = f" at {r.dose_label}" if r.dose_label is not None else ""
        when = f" (from day {r.available_at:g})" if r.available_at is not None else ""
        typer.echo(f"- {r.indication} ({r.role.value}): {r.status.value.upper()}{where}{when}")
        typer.echo(f"    {r.reason.rule}: {r.reason.message}")
        for s in r.steps:
            typer.echo(f"    after {s.rule}: {s.message}")
    if rec.safety is not None:
        flagged = ", ".join(p.dose_labels[d - 1] for d in sorted(rec.safety.flagged))
        typer.echo(f"Safety monitor: {'flagged ' + flagged if flagged else 'no dose flagged'}.")


def register(app: typer.Typer) -> None:
    """Add the ``protocol`` command group to the main app."""
    app.add_typer(protocol_app, name="protocol")
