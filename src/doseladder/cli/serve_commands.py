"""``doseladder serve``: the web interface and JSON API on one port.

By default it uses the SQLite file ``./doseladder.db`` (or ``$DOSELADDER_DATABASE_URL``),
applies the migrations, creates the demo trial once (into an empty database) and prints the
demo users, then serves on http://127.0.0.1:8000.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

import typer

from doseladder.cli.output import handle_errors, require_extra
from doseladder.core.errors import InputError

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def serve(
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
        database: Annotated[
            str | None,
            typer.Option(
                "--database",
                help="Database URL (default: $DOSELADDER_DATABASE_URL or "
                "sqlite:///./doseladder.db).",
                show_default=False,
            ),
        ] = None,
        demo: Annotated[
            bool,
            typer.Option(
                "--demo/--no-demo",
                help="Create the demo trial and users in an empty database.",
            ),
        ] = True,
        secure_cookies: Annotated[
            bool,
            typer.Option(
                "--secure-cookies",
                help="Mark the session cookie Secure (behind a TLS-terminating proxy).",
            ),
        ] = False,
    ) -> None:
        """Run the web interface and the JSON API (docs at /docs)."""
        require_extra("web", "fastapi", "uvicorn", "sqlalchemy", "alembic", field="serve")
        import uvicorn

        from doseladder.conduct.db import Database, upgrade
        from doseladder.conduct.errors import ConductError
        from doseladder.conduct.services import sites_users
        from doseladder.conduct.settings import database_url, redact_url
        from doseladder.web import create_app
        from doseladder.web.demo import describe, has_users, seed_demo

        try:
            url = database_url(database)
        except ConductError as exc:
            raise InputError("--database", getattr(exc, "reason", exc.message)) from None
        if url.startswith("sqlite"):
            Path(url.split("///", 1)[-1]).expanduser().parent.mkdir(parents=True, exist_ok=True)
        try:
            upgrade(url)
        except Exception as exc:
            first = str(getattr(exc, "orig", exc)).strip().splitlines()[0:1] or [repr(exc)]
            raise InputError("--database", f"cannot open {redact_url(url)}: {first[0]}") from None
        db = Database(url, pool_size=20)
        if not has_users(db):
            if demo:
                info = seed_demo(url)
                typer.echo(describe(info))
            else:
                password = secrets.token_urlsafe(12)
                db.run(
                    lambda s: sites_users.bootstrap_admin(s, username="admin", password=password)
                )
                typer.echo(f"Created the first administrator: admin / {password} (shown once)")
        elif demo:
            typer.echo("The database already has users: no demo data added.")
        typer.echo(f"Database: {redact_url(url)}")
        typer.echo(f"Web interface: http://{host}:{port}/   API docs: http://{host}:{port}/docs")
        application = create_app(db, secure_cookies=secure_cookies)
        try:
            uvicorn.run(application, host=host, port=port, log_level="info")
        finally:
            db.dispose()
