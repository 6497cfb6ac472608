"""``doseladder simulate-protocol PROTOCOL_FILE_OR_NAME --scenario FILE``: OCs of a whole protocol.

Simulates a protocol file (or a shipped protocol by name, ``doseladder protocol list``) under a
protocol scenario (truths and accrual per indication, :mod:`doseladder.simulate.
protocol.scenario`) with :func:`doseladder.simulate.protocol.simulate_protocol` and prints the
operating characteristics per indication (``--json`` for machine-readable output).  Without
``--scenario`` a shipped protocol uses its illustrative example scenario
(``protocols/scenarios/<name>.yaml``).  A scenario file may hold several scenarios under
``scenarios:`` (each is simulated with the same seed: common random numbers); ``--json`` then
prints a list.  The text output gives every estimate with its Monte-Carlo standard error in
parentheses; a blank (``—``) marks what is not defined (e.g. the selection of a non-driving
indication, which never selects a dose).  A progress bar runs on stderr.  Bad input gives one
line ``error: <field>: <reason>`` and exit status 2
(:func:`doseladder.cli.output.handle_errors`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from doseladder.cli.output import emit_json, handle_errors
from doseladder.cli.progress import progress_bar
from doseladder.cli.protocol_commands import resolve_protocol
from doseladder.io.scenario_file import load_protocol_scenarios
from doseladder.simulate.protocol import simulate_protocol
from doseladder.simulate.protocol.results import ProtocolSimulationResult
from doseladder.simulate.protocol.scenario import shipped_scenario_path

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("simulate-protocol")
    @handle_errors
    def simulate_protocol_command(
        protocol: Annotated[
            str,
            typer.Argument(
                help="Protocol file (YAML/JSON) or the name of a shipped protocol.",
                show_default=False,
            ),
        ],
        scenario: Annotated[
            Path | None,
            typer.Option(
                "--scenario",
                help="Protocol scenario file (YAML/JSON): truths and accrual per indication. "
                "Default for a shipped protocol: its example scenario.",
            ),
        ] = None,
        trials: Annotated[
            int, typer.Option("--trials", min=1, max=100_000_000, help="Number of trials.")
        ] = 10_000,
        seed: Annotated[int, typer.Option("--seed", min=0, help="Root random seed.")] = 0,
        workers: Annotated[int, typer.Option("--workers", min=1, help="Local processes.")] = 1,
        scheduler: Annotated[
            str | None,
            typer.Option(
                "--scheduler", help="Dask scheduler address (tcp://host:port) or 'local'."
            ),
        ] = None,
        json_: Annotated[
            bool, typer.Option("--json", help="Machine-readable JSON output.")
        ] = False,
    ) -> None:
        """Operating characteristics of a whole protocol, per indication."""
        proto = resolve_protocol(protocol)
        path = scenario if scenario is not None else shipped_scenario_path(proto.id)
        scenarios = load_protocol_scenarios(path)
        results = []
        with progress_bar(trials * len(scenarios), "simulating") as advance:
            for sc in scenarios:
                results.append(
                    simulate_protocol(
                        proto,
                        sc,
                        trials,
                        seed,
                        workers=workers,
                        scheduler=scheduler,
                        progress=advance,
                    )
                )
        if json_:
            emit_json(results[0].to_dict() if len(results) == 1 else [r.to_dict() for r in results])
        else:
            typer.echo("\n\n".join(summary_text(r) for r in results))


def _num(value: float, digits: int) -> str:
    return "—" if value != value else f"{value:.{digits}f}"


def _with_se(value: float, se: float, digits: int) -> str:
    if value != value:
        return "—"
    if se != se:
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} ({se:.{digits}f})"


def summary_text(r: ProtocolSimulationResult) -> str:
    """The result as text: estimates with their Monte-Carlo SE, ``—`` where undefined."""
    head = (
        f"protocol {r.protocol['id']} | scenario {r.scenario.get('name') or ''} | "
        f"{r.n_trials} trials | seed {r.seed} | doseladder {r.version}"
    )
    d = r.per_dose
    per_dose = pd.DataFrame(
        {
            "indication": d["indication"],
            "role": d["role"],
            "dose": d["label"],
            "p_tox": [_num(v, 2) for v in d["p_tox"]],
            "p_eff": [_num(v, 2) for v in d["p_eff"]],
            "selected % (SE)": [
                _with_se(v, e, 1)
                for v, e in zip(d["selection_pct"], d["selection_se"], strict=True)
            ],
            "patients (SE)": [
                _with_se(v, e, 2)
                for v, e in zip(d["mean_patients"], d["mean_patients_se"], strict=True)
            ],
            "DLTs (SE)": [
                _with_se(v, e, 2) for v, e in zip(d["mean_dlt"], d["mean_dlt_se"], strict=True)
            ],
            "responses (SE)": [
                _with_se(v, e, 2)
                for v, e in zip(d["mean_responses"], d["mean_responses_se"], strict=True)
            ],
        }
    )
    if "mean_patients_backfill" in d.columns:  # a backfill rule: how many of them backfilled
        per_dose["of which backfill"] = [_num(v, 2) for v in d["mean_patients_backfill"]]
        per_dose["backfill DLTs"] = [_num(v, 2) for v in d["mean_dlt_backfill"]]
    trial = pd.DataFrame(
        {
            "scope": r.trial["indication"],
            "metric": r.trial["metric"],
            "value (SE)": [
                f"{v:.0f}" if str(m).startswith("true_") else _with_se(v, e, 3)
                for m, v, e in zip(r.trial["metric"], r.trial["value"], r.trial["se"], strict=True)
            ],
        }
    )
    note = (
        "Selection is the trial's (driving or pooled cohort's) choice; '—' where it does not "
        "apply (other indications) or a value is undefined."
    )
    return f"{head}\n\n{per_dose.to_string(index=False)}\n{note}\n\n{trial.to_string(index=False)}"
