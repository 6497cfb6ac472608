"""``doseladder`` command line: tables, decisions and final selection for a design file.

Every command accepts ``--json`` for machine-readable output.  Bad input gives a one-line
``error: <field>: <reason>`` on stderr and exit status 2.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer._click.exceptions import BadParameter, UsageError
from typer.core import TyperCommand, TyperGroup

from doseladder import __version__
from doseladder.cli.output import emit_json, frame_records, handle_errors
from doseladder.core.errors import InputError

if TYPE_CHECKING:
    from doseladder.core.designs import Design
    from doseladder.core.state import TrialState

#: Commands living in other modules, imported only when one of their commands runs, so that
#: ``doseladder --help`` starts instantly.  ``command name: (module, one-line help)``; the
#: module has a ``register(app)`` function adding its commands (one line per command).
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "simulate": ("doseladder.cli.simulate_commands", "Simulate operating characteristics."),
    "compare": ("doseladder.cli.simulate_commands", "Compare designs on the same patients."),
    "sweep": ("doseladder.cli.simulate_commands", "Simulate a design over a parameter grid."),
    "compile": (
        "doseladder.cli.compile_commands",
        "Compile the simulation kernels into the on-disk cache.",
    ),
    "protocol": (
        "doseladder.cli.protocol_commands",
        "Protocol files: list, show, validate, schedule, recommend.",
    ),
    "simulate-protocol": (
        "doseladder.cli.simulate_protocol_commands",
        "Simulate a protocol's escalation plan.",
    ),
    "screen": ("doseladder.cli.screen_commands", "Screen a patient against eligibility."),
    "audit": (
        "doseladder.cli.audit_commands",
        "Verify or export the signed audit trail; create or rotate its signing key.",
    ),
    "admin": ("doseladder.cli.admin_commands", "Create users (the first administrator)."),
    "serve": ("doseladder.cli.serve_commands", "Run the web interface and the JSON API."),
    "grade": (
        "doseladder.cli.grade_commands",
        "Grade adverse events and responses (CTCAE, ASTCT, SLEDAI, ITP).",
    ),
    "report": (
        "doseladder.cli.report_commands",
        "Statistical report: protocol text, tables, flowchart, OCs, pathways.",
    ),
    "paths": ("doseladder.cli.report_commands", "Dose-transition pathways of the next cohorts."),
    "trial": (
        "doseladder.cli.trial_commands",
        "Documents of a running trial: the committee meeting pack.",
    ),
}


class LazyGroup(TyperGroup):
    """A command group that imports a command's module only when the command is used."""

    _listing = False

    # click's types are typer's vendored copy (typer._click): annotated loosely here
    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        return names + [n for n in LAZY_COMMANDS if n not in self.commands]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands or cmd_name not in LAZY_COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, short_help = LAZY_COMMANDS[cmd_name]
        if self._listing:  # --help lists the command without importing it
            return TyperCommand(cmd_name, help=short_help, short_help=short_help)
        sub = typer.Typer()
        importlib.import_module(module).register(sub)
        group = typer.main.get_group(sub)
        for name, command in group.commands.items():
            self.commands.setdefault(name, command)
        return self.commands.get(cmd_name)

    def invoke(self, ctx: Any) -> Any:
        """Run the command; with ``--json`` a usage error (missing argument, invalid option
        value, unknown command) is one line of JSON on stderr too, like every other error."""
        wants_json = "--json" in (*ctx._protected_args, *ctx.args)
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            if not wants_json:
                raise
            field = exc.ctx.command_path if exc.ctx is not None else "doseladder"
            if isinstance(exc, BadParameter):
                hint = exc.param_hint or (exc.param.get_error_hint() if exc.param else None)
                if hint:
                    field = hint if isinstance(hint, str) else " / ".join(hint)
            payload = {"error": {"field": field.strip("'"), "reason": exc.format_message()}}
            typer.echo(json.dumps(payload), err=True)
            raise typer.Exit(2) from None

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    cls=LazyGroup,
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
    *,
    labels: tuple[str, ...] | None = None,
) -> tuple[TrialState, list[dict[str, Any]]]:
    """Build the trial state (and, for outcome strings, the cohort-by-cohort history).

    A patients CSV may name doses by label: ``labels`` (a protocol's), else DL1..DLJ."""
    from doseladder.core.replay import replay_outcomes
    from doseladder.core.state import TrialState
    from doseladder.io.patients_csv import read_patients_csv

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
        labels=labels or tuple(f"DL{i}" for i in range(1, num_doses + 1)),
    )
    for p in pts:
        if p.dose > num_doses:
            raise InputError(
                f"{patients.name}: dose", f"dose level {p.dose} is outside 1..{num_doses}"
            )
    state = TrialState(
        num_doses, pts, current_dose=current_dose, eliminated=_parse_doses(eliminated, num_doses)
    )
    design.check_cohorts(state)  # a backfill row needs a design with backfill cohorts
    return state, history


@app.command()
@handle_errors
def table(
    design_file: Annotated[
        Path,
        typer.Argument(
            help="Design file, protocol file, or the name of a shipped protocol.",
            show_default=False,
        ),
    ],
    n_max: Annotated[
        int | None,
        typer.Option("--n-max", min=1, help="TITE-BOIN: tabulate states up to this many patients."),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Print the design's decision table(s) (a protocol's: its design's)."""
    import inspect

    from doseladder.cli.subjects import load_subject, subject_design

    design = subject_design(load_subject(design_file))
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
    from doseladder.io.design_file import load_design

    design = load_design(design_file)
    state, history = _state_from_inputs(design, outcomes, patients, now, eliminated, current_dose)
    decision = design.decide(state, now)
    if json_:
        payload = {**decision.to_dict(), "n_patients": state.n_patients, "history": history}
        values = decision.reason.values
        if "ptox" in values and "posterior_mean" in values:  # CRM / TITE-CRM model fit
            payload.update(
                mtd=values["mtd"], ptox=values["ptox"], posterior_mean=values["posterior_mean"]
            )
        if "backfill_open" in values:  # BF-BOIN
            payload["backfill_open"] = values["backfill_open"]
        emit_json(payload)
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


def _design_or_protocol(path: Path) -> tuple[Design, tuple[str, ...] | None]:
    """A design file's design, or a protocol's design and dose labels."""
    from doseladder.io.design_file import load_design

    try:
        return load_design(path), None
    except InputError as design_error:
        from doseladder.cli.protocol_commands import resolve_protocol

        try:
            protocol = resolve_protocol(str(path))
        except InputError:
            raise design_error from None
        return protocol.plan.design, tuple(protocol.dose_labels)


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
    """Final MTD/OBD selection with per-dose estimates (complete data).

    DESIGN_FILE may also be a protocol file (or a shipped protocol's name); the patients CSV
    may then name doses by the protocol's labels (e.g. DL-1), as in ``protocol recommend``, and
    the summary names the selected dose and every table row by its label.
    """
    design, labels = _design_or_protocol(design_file)
    state, _ = _state_from_inputs(design, outcomes, patients, now, eliminated, None, labels=labels)
    selection = design.select(state)
    if json_:
        payload = selection.to_dict()
        if labels:
            payload[f"{selection.kind}_label"] = (
                labels[selection.dose - 1] if selection.dose is not None else None
            )
            if selection.kind == "obd":
                payload["mtd_label"] = labels[selection.mtd - 1] if selection.mtd else None
        emit_json(payload)
        return
    typer.echo(selection.summary(labels))


if __name__ == "__main__":  # pragma: no cover
    app()
