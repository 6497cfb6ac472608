"""``doseladder simulate-protocol PROTOCOL_FILE_OR_NAME --scenario FILE``: OCs of a whole protocol.

Simulates a protocol file (or a shipped protocol by name, ``doseladder protocol list``) under a
protocol scenario (truths and accrual per indication, :mod:`doseladder.simulate.
protocol_scenario`) with :func:`doseladder.simulate.protocol.simulate_protocol` and prints the
operating characteristics per indication (``--json`` for machine-readable output).  Without
``--scenario`` a shipped protocol uses its illustrative example scenario
(``protocols/scenarios/<name>.yaml``).  Bad input gives one line ``error: <field>: <reason>``
and exit status 2 (:func:`doseladder.cli.output.handle_errors`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from doseladder.cli.output import emit_json, handle_errors
from doseladder.cli.protocol_commands import resolve_protocol
from doseladder.simulate.protocol import simulate_protocol
from doseladder.simulate.protocol_scenario import load_protocol_scenario, shipped_scenario_path

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
        sc = load_protocol_scenario(path)
        result = simulate_protocol(proto, sc, trials, seed, workers=workers, scheduler=scheduler)
        if json_:
            emit_json(result.to_dict())
        else:
            typer.echo(result.summary())
