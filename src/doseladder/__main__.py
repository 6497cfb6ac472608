"""``python -m doseladder``: the ``doseladder`` command line (same as the installed script)."""

from doseladder.cli.main import app

app(prog_name="doseladder")
