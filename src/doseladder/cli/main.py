"""``doseladder`` command line: tables, decisions and final selection for a design file.

Every command accepts ``--json`` for machine-readable output.  Bad input gives a one-line
``error: <field>: <reason>`` on stderr and exit status 2.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer

from doseladder import __version__
from doseladder.cli import (
    admin_commands,
    audit_commands,
    grade_commands,
    protocol_commands,
    screen_commands,
    serve_commands,
    simulate_commands,
    simulate_protocol_commands,
)
from doseladder.cli.output import emit_json, frame_records, handle_errors
from doseladder.core.designs import Design
from doseladder.core.errors import InputError
from doseladder.core.replay import replay_outcomes
from doseladder.core.state import TrialState
from doseladder.io.design_file import load_design
from doseladder.io.patients_csv import read_patients_csv

app = typer.Typer(
    name="doseladder",
    help="Design, simulate and run early-phase dose-finding trials.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

DesignArg = Annotated[Path, typer.Argument(help="Design file (YAML or JSON).", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
OutcomesOpt = Annotated[
    str | None,
    typer.Option(help='Complete outcomes in cohort grammar, e.g. "1NNN 2NTB" (N/T/E/B).'),
]
PatientsOpt = Annotated[
    Path | None,
    typer.Option(help="CSV with dose, entry_day, tox, tox_day, eff, eff_day (empty = pending)."),
]
NowOpt = Annotated[float | None, typer.Option(help="Decision day (time-to-event data).")]
EliminatedOpt = Annotated[
    str | None, typer.Option(help="Dose levels eliminated earlier in the trial, e.g. '4,5'.")
]
CurrentOpt = Annotated[
    int | None, typer.Option(help="Current dose level (default: dose of the latest patient).")
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"doseladder {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Design, simulate and run early-phase dose-finding trials."""


def _parse_doses(text: str | None, num_doses: int) -> frozenset[int]:
    if not text:
        return frozenset()
    out = set()
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) <= num_doses:
            raise InputError("--eliminated", f"{part!r} is not a dose level in 1..{num_doses}")
        out.add(int(part))
    return frozenset(out)


def _state_from_inputs(
    design: Design,
    outcomes: str | None,
    patients: Path | None,
    now: float | None,
    eliminated: str | None,
    current_dose: int | None,
) -> tuple[TrialState, list[dict[str, Any]]]:
    """Build the trial state (and, for outcome strings, the cohort-by-cohort history)."""
    num_doses: int = design.num_doses
    if (outcomes is None) == (patients is None):
        raise InputError("--outcomes/--patients", "give exactly one of them")
    history: list[dict[str, Any]] = []
    if outcomes is not None:
        if now is not None:
            raise InputError(
                "--now", "only applies to --patients (outcome strings are complete data)"
            )
        rep = replay_outcomes(design, outcomes)
        for i, d in enumerate(rep.decisions, start=1):
            history.append(
                {
                    "cohort": i,
                    "dose": d.current_dose,
                    "action": d.action.value,
                    "next_dose": d.next_dose,
                    "rule": d.reason.rule,
                }
            )
        state = rep.state  # TrialState already refused doses outside 1..num_doses
        extra = _parse_doses(eliminated, num_doses)
        if extra or current_dose is not None:
            state = TrialState(
                num_doses,
                state.patients,
                current_dose=current_dose or state.current_dose,
                eliminated=state.eliminated | extra,
            )
        return state, history
    assert patients is not None
    pts = read_patients_csv(
        patients,
        now=now,
        tox_window=getattr(design, "tox_window", None),
        eff_window=getattr(design, "eff_window", None),
    )
    for p in pts:
        if p.dose > num_doses:
            raise InputError(
                f"{patients.name}: dose", f"dose level {p.dose} is outside 1..{num_doses}"
            )
    return (
        TrialState(
            num_doses,
            pts,
            current_dose=current_dose,
            eliminated=_parse_doses(eliminated, num_doses),
        ),
        history,
    )


@app.command()
@handle_errors
def table(
    design_file: DesignArg,
    n_max: Annotated[
        int | None,
        typer.Option("--n-max", min=1, help="TITE-BOIN: tabulate states up to this many patients."),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Print the design's decision table(s)."""
    design = load_design(design_file)
    if n_max is not None and "n_max" not in inspect.signature(design.tables).parameters:
        raise InputError("--n-max", f"not used by design {design.name!r}")
    kwargs: dict[str, Any] = {} if n_max is None else {"n_max": n_max}
    tables = design.tables(**kwargs)
    if json_:
        emit_json(
            {
                "design": design.to_dict(),
                "tables": {name: frame_records(t) for name, t in tables.items()},
            }
        )
        return
    for name, frame in tables.items():
        typer.echo(f"== {name} ==")
        typer.echo(frame.to_string(index=False))
        typer.echo("")


@app.command()
@handle_errors
def decide(
    design_file: DesignArg,
    outcomes: OutcomesOpt = None,
    patients: PatientsOpt = None,
    now: NowOpt = None,
    eliminated: EliminatedOpt = None,
    current_dose: CurrentOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Recommend the next dose from complete outcomes or a time-to-event patient table."""
    design = load_design(design_file)
    state, history = _state_from_inputs(design, outcomes, patients, now, eliminated, current_dose)
    decision = design.decide(state, now)
    if json_:
        emit_json({**decision.to_dict(), "n_patients": state.n_patients, "history": history})
        return
    typer.echo(
        f"Current dose: {decision.current_dose}   Decision: {decision.action.value}"
        f"   Next dose: {decision.next_dose if decision.next_dose is not None else '-'}"
    )
    typer.echo(f"Why: {decision.reason.message}")
    for step in decision.steps:
        typer.echo(f"  - {step.message}")
    if decision.eliminated:
        typer.echo(f"Eliminated doses: {', '.join(map(str, sorted(decision.eliminated)))}")


@app.command()
@handle_errors
def select(
    design_file: DesignArg,
    outcomes: OutcomesOpt = None,
    patients: PatientsOpt = None,
    now: NowOpt = None,
    eliminated: EliminatedOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Final MTD/OBD selection with per-dose estimates (complete data)."""
    design = load_design(design_file)
    state, _ = _state_from_inputs(design, outcomes, patients, now, eliminated, None)
    selection = design.select(state)
    if json_:
        emit_json(selection.to_dict())
        return
    typer.echo(selection.summary())


simulate_commands.register(app)
audit_commands.register(app)
admin_commands.register(app)
protocol_commands.register(app)
screen_commands.register(app)
simulate_protocol_commands.register(app)
serve_commands.register(app)
grade_commands.register(app)


if __name__ == "__main__":  # pragma: no cover
    app()
