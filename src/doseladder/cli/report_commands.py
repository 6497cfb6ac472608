"""``doseladder report DESIGN_OR_PROTOCOL --scenarios FILE -o DIR``: the statistical report.

Builds a :class:`doseladder.reports.ReportContent` (protocol text, decision tables,
operating characteristics over every scenario, dose-transition pathways, reproducibility
appendix) and writes it as HTML, PDF and/or Word.  The rendering libraries (matplotlib,
python-docx, Jinja2, typst) are imported only when the command runs (``report`` extra).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from doseladder.cli.output import emit_json, handle_errors, require_report_extra
from doseladder.core.errors import InputError

__all__ = ["register"]


def _formats(text: str) -> list[str]:
    from doseladder.reports import FORMATS

    out = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in out if f not in FORMATS]
    if bad or not out:
        raise InputError("--format", f"choose among {', '.join(FORMATS)}; got {text!r}")
    return list(dict.fromkeys(out))


def _scenarios(
    subject: Any, scenarios: Path | None, random_n: int | None, seed: int
) -> tuple[list[Any], bytes | None]:
    """The scenarios of the report (file, random, or both) and the file's bytes."""
    from doseladder.io.scenario_file import load_protocol_scenario, load_protocol_scenarios
    from doseladder.protocols.model import Protocol
    from doseladder.simulate.protocol.scenario import shipped_scenario_path
    from doseladder.simulate.scenario_gen import random_protocol_scenarios

    raw: bytes | None = None
    out: list[Any] = []
    if isinstance(subject, Protocol):
        if scenarios is not None:
            out = load_protocol_scenarios(scenarios)
            raw = scenarios.read_bytes()
        if random_n:
            base = out[0] if out else load_protocol_scenario(shipped_scenario_path(subject.id))
            out += random_protocol_scenarios(base, subject.plan.design, random_n, seed)
        elif scenarios is None:
            path = shipped_scenario_path(subject.id)
            out = load_protocol_scenarios(path)
            raw = path.read_bytes()
    else:
        from doseladder.cli.subjects import design_scenarios

        try:
            out = design_scenarios(scenarios, random_n, seed, subject)
        except InputError as exc:
            field = "--scenarios" if exc.field == "--scenario" else exc.field
            raise InputError(field, exc.reason) from None
        raw = scenarios.read_bytes() if scenarios is not None else None
        for i, sc in enumerate(out):
            try:
                sc.check_for(
                    subject.num_doses, needs_efficacy=subject.uses_efficacy, monotone=False
                )
            except InputError as exc:
                raise InputError(f"scenarios[{i}].{exc.field}", exc.reason) from None
    return out, raw


def _pathway_start(subject: Any, patients: Path | None, now: float | None) -> Any:
    """The trial state of ``--pathways-from`` (``None``: from the start), read exactly as
    ``decide`` reads its ``--patients`` table."""
    if patients is None:
        if now is not None:
            raise InputError("--now", "only applies with --pathways-from")
        return None
    from doseladder.cli.main import _state_from_inputs
    from doseladder.protocols.model import Protocol

    if isinstance(subject, Protocol):
        design, labels = subject.plan.design, tuple(subject.plan.dose_labels)
    else:
        design, labels = subject, None
    try:
        state, _ = _state_from_inputs(design, None, patients, now, None, None, labels=labels)
    except InputError as exc:
        field = f"--pathways-from: {exc.field}"
        raise InputError(field, exc.reason) from None
    try:
        state.validate_at(now)
    except InputError as exc:
        raise InputError("--now", exc.reason) from None
    return state


def register(app: typer.Typer) -> None:
    @app.command("report")
    @handle_errors
    def report_command(
        subject_arg: Annotated[
            str,
            typer.Argument(
                metavar="DESIGN_OR_PROTOCOL",
                help="Design file, protocol file, or the name of a shipped protocol.",
                show_default=False,
            ),
        ],
        scenarios: Annotated[
            Path | None,
            typer.Option(
                "--scenarios",
                help="Scenario file: one scenario or a list under 'scenarios:' (protocol "
                "scenarios for a protocol; default for a shipped protocol: its example).",
            ),
        ] = None,
        random_scenarios: Annotated[
            int | None,
            typer.Option(
                "--random-scenarios",
                min=1,
                max=1000,
                help="Add N random scenarios (pseudo-uniform algorithm, seeded by --seed).",
            ),
        ] = None,
        trials: Annotated[
            int, typer.Option("--trials", min=1, max=10_000_000, help="Trials per scenario.")
        ] = 10_000,
        seed: Annotated[int, typer.Option("--seed", min=0, help="Root random seed.")] = 0,
        workers: Annotated[int, typer.Option("--workers", min=1, help="Local processes.")] = 1,
        formats: Annotated[
            str, typer.Option("--format", help="Comma-separated: html, pdf, docx.")
        ] = "html,pdf,docx",
        pathway_cohorts: Annotated[
            int | None,
            typer.Option(
                "--pathway-cohorts",
                min=1,
                max=4,
                help="Cohorts ahead in the dose-transition pathways (default 3, or 2 for "
                "designs using efficacy).",
            ),
        ] = None,
        pathways_from: Annotated[
            Path | None,
            typer.Option(
                "--pathways-from",
                help="Start the pathways from this trial state: a patients CSV as `decide` "
                "reads (dose, entry_day, tox, tox_day, eff, eff_day; empty = pending; a "
                "protocol's dose labels allowed). Default: the start of the trial.",
            ),
        ] = None,
        now: Annotated[
            float | None,
            typer.Option("--now", help="Decision day of --pathways-from (time-to-event designs)."),
        ] = None,
        outdir: Annotated[Path, typer.Option("-o", "--output", help="Output directory.")] = Path(
            "report"
        ),
        json_: Annotated[bool, typer.Option("--json", help="Print the files as JSON.")] = False,
    ) -> None:
        """Statistical report: protocol text, decision tables, flowchart, operating
        characteristics over many scenarios with plots, pathways (HTML, PDF, Word)."""
        from doseladder.cli.progress import progress_bar
        from doseladder.cli.subjects import load_subject
        from doseladder.reports import build_report, write_report

        fmts = _formats(formats)
        require_report_extra(fmts, field="report")
        subject = load_subject(subject_arg)
        start = _pathway_start(subject, pathways_from, now)
        scen, raw = _scenarios(subject, scenarios, random_scenarios, seed)
        src_path = Path(subject_arg)
        subject_raw = src_path.read_bytes() if src_path.is_file() else None
        if outdir.exists() and not outdir.is_dir():
            raise InputError("--output", f"{outdir} exists and is not a directory")
        total = trials * len(scen)
        with progress_bar(total, f"simulating {len(scen)} scenario(s)") as advance:
            content = build_report(
                subject,
                scen,
                trials,
                seed,
                workers=workers,
                pathway_cohorts=pathway_cohorts,
                pathway_start=start,
                pathway_now=now,
                progress=advance,
                subject_source=subject_raw,
                scenario_source=raw,
            )
        files = write_report(content, fmts, outdir)
        if json_:
            emit_json({k: str(v) for k, v in files.items()})
            return
        for fmt, path in files.items():
            typer.echo(f"{fmt}: {path}")

    @app.command("paths")
    @handle_errors
    def paths_command(
        subject_arg: Annotated[
            str,
            typer.Argument(
                metavar="DESIGN_OR_PROTOCOL",
                help="Design file, protocol file, or the name of a shipped protocol.",
                show_default=False,
            ),
        ],
        outcomes: Annotated[
            str,
            typer.Option(
                "--outcomes", help='The trial so far in cohort grammar, e.g. "1NNN 2NTN".'
            ),
        ] = "",
        cohorts: Annotated[int, typer.Option("--cohorts", min=1, max=4, help="Cohorts ahead.")] = 2,
        json_: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
    ) -> None:
        """Dose-transition pathways: every outcome of the next cohorts and the decision after
        each, from the start or from the trial so far (protocols: under the plan's rules)."""
        import pandas as pd

        from doseladder.cli.output import frame_records
        from doseladder.cli.subjects import load_subject
        from doseladder.core.pathways import dose_paths, plan_decision, plan_paths
        from doseladder.core.replay import replay_outcomes
        from doseladder.core.state import TrialState, parse_outcomes
        from doseladder.protocols.model import Protocol

        subject = load_subject(subject_arg)
        if isinstance(subject, Protocol):
            plan = subject.plan
            state = TrialState(plan.num_doses)
            for cohort in parse_outcomes(outcomes):
                state = state.with_patients(cohort)
                state = state.with_eliminated(plan_decision(plan, state, None).eliminated)
            result = plan_paths(plan, state, cohorts)
            labels = plan.dose_labels
        else:
            state = replay_outcomes(subject, outcomes).state
            result = dose_paths(subject, state, cohorts)
            labels = tuple(str(i) for i in range(1, subject.num_doses + 1))
        table = result.table()
        if json_:
            emit_json({"start": outcomes, "paths": frame_records(table)})
            return
        for row in table.to_dict("records"):
            level = row["next_dose"]
            nxt = "—" if level is None or level is pd.NA else labels[int(level) - 1]
            indent = "  " * int(row["depth"])
            typer.echo(
                f"{indent}{row['path'] or '(now)'}: {row['action']} → {nxt}  [{row['rule']}]"
            )
