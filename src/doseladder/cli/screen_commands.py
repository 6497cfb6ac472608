"""``doseladder screen PROTOCOL PATIENT_FILE``: eligibility screening of one patient.

The protocol is a file path or the name of a shipped protocol; the patient file is the
doseladder patient JSON or a FHIR R4 Bundle (detected).  Prints one block per criterion --
status, the values used, the reasons -- and the overall verdict; ``--json`` gives the full
report (:meth:`doseladder.core.eligibility.ScreeningReport.to_dict`).  Bad input is a one-line
``error: <field>: <reason>`` with exit status 2; a completed screening exits 0 whatever the
verdict.  See ``docs/eligibility.md``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from doseladder.cli.output import emit_json, handle_errors
from doseladder.cli.protocol_commands import resolve_protocol
from doseladder.core.eligibility import DEFAULT_LOOKBACK_DAYS, ScreeningReport, screen
from doseladder.core.eligibility.screen import CriterionResult
from doseladder.core.errors import InputError
from doseladder.io.patient_record import load_patient_record, load_screening_inputs

__all__ = ["register", "render_report"]

_STATUS = {
    None: "n/a",
    "met": "MET",
    "not_met": "NOT MET",
    "not_evaluable": "NOT EVALUABLE",
    "needs_review": "NEEDS REVIEW",
}


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _block(r: CriterionResult, verbose: bool) -> list[str]:
    status = _STATUS[None if r.status is None else r.status.value]
    passes = {True: "passes", False: "FAILS", None: "pending"}[r.satisfied]
    head = f"{r.id:<15} {r.category:<9} {status:<13} ({passes})"
    if r.status is None:
        return [f"{head}  {r.reasons[0] if r.reasons else ''}"]
    lines = [head]
    if r.values:
        shown = "; ".join(v.text() for v in r.values)
        lines.append("    values: " + (shown if verbose else _short(shown, 200)))
    if r.missing:
        lines.append("    missing: " + ", ".join(r.missing))
    reasons = r.reasons if verbose else r.reasons[:2]
    for reason in reasons:
        lines.append("    - " + (reason if verbose else _short(reason, 200)))
    if not verbose and len(r.reasons) > 2:
        lines.append(f"    (+{len(r.reasons) - 2} more; --verbose or --json)")
    return lines


def render_report(report: ScreeningReport, title: str, *, verbose: bool = False) -> str:
    """The report as text: a header, one block per criterion, notes and the verdict."""
    lines = [
        f"{title} ({report.protocol_id})",
        f"Patient {report.patient_id or '(no id)'}, screened on {report.screening_date} for "
        f"{report.indication or '(indication not given)'}; values 'at screening' from the "
        f"{report.lookback_days} days before.",
        "",
    ]
    for r in report.results:
        lines += _block(r, verbose)
    if report.notes:
        lines.append("")
        lines.append("Notes:")
        lines += [f"- {n}" for n in report.notes]
    lines.append("")
    lines.append(report.summary())
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add the ``screen`` command to the main app."""

    @app.command("screen")
    @handle_errors
    def screen_cmd(
        protocol: Annotated[
            str,
            typer.Argument(
                help="Protocol file (YAML/JSON) or the name of a shipped protocol.",
                show_default=False,
            ),
        ],
        patient_file: Annotated[
            Path,
            typer.Argument(
                help="Patient record: doseladder patient JSON or a FHIR R4 Bundle.",
                show_default=False,
            ),
        ],
        json_: Annotated[
            bool, typer.Option("--json", help="Machine-readable JSON output.")
        ] = False,
        date_: Annotated[
            str | None,
            typer.Option(
                "--date", help="Screening date YYYY-MM-DD (default: the record's, else today)."
            ),
        ] = None,
        indication: Annotated[
            str | None,
            typer.Option(
                "--indication", help="Indication (cohort) id the patient is screened for."
            ),
        ] = None,
        inputs: Annotated[
            Path | None,
            typer.Option(
                "--inputs",
                help="JSON with attestations, reviews, history_complete, screening_date, "
                "consent_date, indication (e.g. for a FHIR bundle).",
            ),
        ] = None,
        lookback_days: Annotated[
            int,
            typer.Option(
                "--lookback-days", help="How far back a value 'at screening' may be (days)."
            ),
        ] = DEFAULT_LOOKBACK_DAYS,
        verbose: Annotated[
            bool, typer.Option("--verbose", "-v", help="Every reason and value, untruncated.")
        ] = False,
    ) -> None:
        """Screen a patient against a protocol's eligibility criteria."""
        p = resolve_protocol(protocol)
        screening_date = None
        if date_ is not None:
            try:
                screening_date = date.fromisoformat(date_)
            except ValueError:
                raise InputError("--date", f"{date_!r} is not a YYYY-MM-DD date") from None
        record = load_patient_record(patient_file)
        if inputs is not None:
            record = load_screening_inputs(record, inputs)
        if screening_date is None and record.screening_date is None:
            screening_date = date.today()
            record = replace(
                record,
                notes=(
                    *record.notes,
                    f"No screening date given: today's date ({screening_date}) is used.",
                ),
            )
        report = screen(
            p,
            record,
            screening_date=screening_date,
            indication=indication,
            lookback_days=lookback_days,
        )
        if json_:
            emit_json({"title": p.title, **report.to_dict()})
            return
        typer.echo(render_report(report, p.title, verbose=verbose))
