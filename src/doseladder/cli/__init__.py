"""The ``doseladder`` command-line interface (Typer)."""
