"""``doseladder simulate`` and ``doseladder compare``."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from doseladder.cli.output import emit_json, handle_errors, require_extra
from doseladder.core.errors import InputError
from doseladder.io.design_file import load_design
from doseladder.io.scenario_file import load_scenarios
from doseladder.simulate.compare import Comparison
from doseladder.simulate.engine import compare as run_compare
from doseladder.simulate.engine import simulate as run_simulate
from doseladder.simulate.scenario import ScenarioWarning
from doseladder.simulate.sweep import sweep as run_sweep

ScenarioOpt = Annotated[Path, typer.Option("--scenario", help="Scenario file (YAML/JSON).")]
ScenarioOrRandomOpt = Annotated[
    Path | None, typer.Option("--scenario", help="Scenario file (YAML/JSON).")
]
RandomOpt = Annotated[
    int | None,
    typer.Option(
        "--random-scenarios",
        min=1,
        max=1000,
        help="Add N random scenarios (pseudo-uniform algorithm, seeded by --seed).",
    ),
]
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


def _emit_comparison(comparison: Comparison, seed: int, trials: int, as_json: bool) -> None:
    if not as_json:
        typer.echo(comparison.summary())
        return
    emit_json(
        {
            "per_dose": comparison.per_dose().to_dict(orient="records"),
            "trial": comparison.trial().to_dict(orient="records"),
            "seed": seed,
            "n_trials": trials,
        }
    )


def _check_scheduler(scheduler: str | None) -> None:
    if scheduler is not None:
        require_extra("dask", "dask", "distributed", field="--scheduler")


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def simulate(
        design_file: Annotated[Path, typer.Argument(help="Design file (YAML or JSON).")],
        scenario: ScenarioOrRandomOpt = None,
        random_scenarios: RandomOpt = None,
        trials: TrialsOpt = 10_000,
        seed: SeedOpt = 0,
        workers: WorkersOpt = 1,
        scheduler: SchedulerOpt = None,
        json_: JsonOpt = False,
        progress: ProgressOpt = True,
    ) -> None:
        """Operating characteristics of a design under each scenario of a scenario file."""
        _check_scheduler(scheduler)
        from doseladder.cli.subjects import design_scenarios

        design = load_design(design_file)
        scenarios = design_scenarios(scenario, random_scenarios, seed, design)
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
        scenario: ScenarioOrRandomOpt = None,
        random_scenarios: RandomOpt = None,
        trials: TrialsOpt = 10_000,
        seed: SeedOpt = 0,
        workers: WorkersOpt = 1,
        scheduler: SchedulerOpt = None,
        json_: JsonOpt = False,
    ) -> None:
        """Several designs on the same scenarios with common random numbers."""
        _check_scheduler(scheduler)
        designs: dict[str, Any] = {}
        for i, p in enumerate(design_files, start=1):
            label = p.stem if p.stem not in designs else f"{p.stem}-{i}"
            designs[label] = load_design(p)
        from doseladder.cli.subjects import design_scenarios

        first = next(iter(designs.values()))
        listed = design_scenarios(scenario, random_scenarios, seed, first)
        scenarios = {sc.name or f"S{i + 1}": sc for i, sc in enumerate(listed)}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ScenarioWarning)
            comparison = run_compare(
                designs, scenarios, trials, seed, workers=workers, scheduler=scheduler
            )
        _warn_to_stderr(caught)
        _emit_comparison(comparison, seed, trials, json_)

    @app.command()
    @handle_errors
    def sweep(
        design_file: Annotated[Path, typer.Argument(help="Base design file (YAML or JSON).")],
        scenario: ScenarioOpt,
        grid: Annotated[
            list[str],
            typer.Option("--grid", help="A parameter and its values, e.g. 'target=0.25,0.3'."),
        ],
        trials: TrialsOpt = 10_000,
        seed: SeedOpt = 0,
        workers: WorkersOpt = 1,
        scheduler: SchedulerOpt = None,
        json_: JsonOpt = False,
    ) -> None:
        """A grid of design parameters × scenarios, on common random numbers."""
        _check_scheduler(scheduler)
        base = load_design(design_file)
        parsed: dict[str, list[Any]] = {}
        for item in grid:
            key, sep, values = item.partition("=")
            if not sep or not key.strip() or not values.strip():
                raise InputError("--grid", f"{item!r} is not 'parameter=value1,value2'")
            parsed[key.strip()] = [yaml.safe_load(v) for v in values.split(",")]
        scenarios = {sc.name: sc for sc in load_scenarios(scenario)}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ScenarioWarning)
            comparison = run_sweep(
                base, parsed, scenarios, trials, seed, workers=workers, scheduler=scheduler
            )
        _warn_to_stderr(caught)
        _emit_comparison(comparison, seed, trials, json_)
