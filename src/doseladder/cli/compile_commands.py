"""``doseladder compile``: fill the compiled-code cache ahead of the first simulation."""

from __future__ import annotations

import time
from importlib.resources import files
from pathlib import Path
from typing import Annotated

import typer

from doseladder.cli.output import emit_json, handle_errors

__all__ = ["register"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def _example_designs() -> list[Path]:
    return sorted(Path(str(files("doseladder.examples"))).joinpath("designs").glob("*.yaml"))


def register(app: typer.Typer) -> None:
    @app.command("compile")
    @handle_errors
    def compile_(
        design_files: Annotated[
            list[Path] | None,
            typer.Argument(
                help="Design files (YAML or JSON); default: every example design.",
                show_default=False,
            ),
        ] = None,
        json_: JsonOpt = False,
    ) -> None:
        """Compile the simulation kernels of the designs into the on-disk cache.

        A simulation compiles a kernel missing from the cache by itself, in a short-lived
        child process (see docs/simulation.md); this command does it ahead of time, e.g. when
        installing, or in a cluster job before the workers start.
        """
        from doseladder.io.design_file import load_design
        from doseladder.jit import cache_folder
        from doseladder.simulate.engine import precompile

        rows = []
        for path in design_files or _example_designs():
            design = load_design(path)
            t0 = time.perf_counter()
            how = precompile(design)
            rows.append(
                {
                    "file": str(path),
                    "design": design.name,
                    "how": how,
                    "seconds": round(time.perf_counter() - t0, 3),
                }
            )
        if json_:
            emit_json({"cache": cache_folder(), "designs": rows})
            return
        for r in rows:
            typer.echo(f"{r['design']:<12} {r['how']:<28} {r['seconds']:7.2f} s  {r['file']}")
        typer.echo(f"compiled-code cache: {cache_folder()}")
