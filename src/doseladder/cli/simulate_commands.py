"""``doseladder simulate`` and ``doseladder compare``."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from doseladder.cli.output import emit_json, handle_errors
from doseladder.io.design_file import load_design
from doseladder.io.scenario_file import load_scenarios
from doseladder.simulate.engine import compare as run_compare
from doseladder.simulate.engine import simulate as run_simulate
from doseladder.simulate.scenario import ScenarioWarning

ScenarioOpt = Annotated[Path, typer.Option("--scenario", help="Scenario file (YAML/JSON).")]
TrialsOpt = Annotated[
    int, typer.Option("--trials", min=1, max=100_000_000, help="Number of trials.")
]
SeedOpt = Annotated[int, typer.Option("--seed", min=0, help="Root random seed.")]
WorkersOpt = Annotated[int, typer.Option("--workers", min=1, help="Local worker processes.")]
SchedulerOpt = Annotated[
    str | None,
    typer.Option("--scheduler", help="Dask scheduler address (tcp://host:port) or 'local'."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
ProgressOpt = Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")]


@contextmanager
def _progress(total: int, enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    with Progress(
        TextColumn("simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task("trials", total=total)
        yield lambda k: bar.advance(task, k)


def _warn_to_stderr(caught: list[warnings.WarningMessage]) -> None:
    for w in caught:
        if issubclass(w.category, ScenarioWarning):
            typer.echo(f"warning: {w.message}", err=True)


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def simulate(
        design_file: Annotated[Path, typer.Argument(help="Design file (YAML or JSON).")],
        scenario: ScenarioOpt,
        trials: TrialsOpt = 10_000,
        seed: SeedOpt = 0,
        workers: WorkersOpt = 1,
        scheduler: SchedulerOpt = None,
        json_: JsonOpt = False,
        progress: ProgressOpt = True,
    ) -> None:
        """Operating characteristics of a design under each scenario of a scenario file."""
        design = load_design(design_file)
        scenarios = load_scenarios(scenario)
        payload = []
        for si, sc in enumerate(scenarios):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ScenarioWarning)
                with _progress(trials, progress and not json_ and trials >= 50_000) as cb:
                    result = run_simulate(
                        design,
                        sc,
                        trials,
                        seed,
                        workers=workers,
                        scheduler=scheduler,
                        progress=cb,
                        scenario_index=si,
                    )
            _warn_to_stderr(caught)
            if json_:
                payload.append(result.to_dict())
            else:
                typer.echo(result.summary())
                typer.echo("")
        if json_:
            emit_json(payload[0] if len(payload) == 1 else payload)

    @app.command()
    @handle_errors
    def compare(
        design_files: Annotated[list[Path], typer.Argument(help="Two or more design files.")],
        scenario: ScenarioOpt,
        trials: TrialsOpt = 10_000,
        seed: SeedOpt = 0,
        workers: WorkersOpt = 1,
        scheduler: SchedulerOpt = None,
        json_: JsonOpt = False,
    ) -> None:
        """Several designs on the same scenarios with common random numbers."""
        designs = {f"{p.stem}": load_design(p) for p in design_files}
        scenarios = {sc.name: sc for sc in load_scenarios(scenario)}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ScenarioWarning)
            comparison = run_compare(
                designs, scenarios, trials, seed, workers=workers, scheduler=scheduler
            )
        _warn_to_stderr(caught)
        if json_:
            emit_json(
                {
                    "per_dose": comparison.per_dose().to_dict(orient="records"),
                    "trial": comparison.trial().to_dict(orient="records"),
                    "seed": seed,
                    "n_trials": trials,
                }
            )
            return
        typer.echo(comparison.summary())
