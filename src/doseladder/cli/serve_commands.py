"""``doseladder serve``: the web interface and JSON API on one port.

It uses ``--database`` (or ``$DOSELADDER_DATABASE_URL``, else the SQLite file
``./doseladder.db``), applies the migrations, signs the audit trail with the configured key
(created at the first start if none exists; see ``doseladder audit keygen``) and serves on
http://127.0.0.1:8000.  A new database has no users: ``doseladder admin create-user --role
admin`` creates the first.  ``--demo`` instead uses the demonstration database
``./doseladder-demo.db`` (unless ``--database`` names another) and fills it once with the demo
trial and demo users, whose published password must never guard real data.

``--workers N`` runs N server processes (uvicorn workers) on the one port, for throughput on
several cores.  The processes share the CSRF key, and the login throttle's failure counters
are shared too: in ``$DOSELADDER_RATE_LIMIT_STORAGE`` if set (e.g. ``redis://…``, needed
when several hosts serve one database), else in a private SQLite file that ``serve`` creates
for its workers (:mod:`doseladder.web.throttle_storage`) -- never per process, which would
multiply the allowed attempts by N.

``--write-concurrency K`` (default 2) lets at most K writing requests run at once in each
process; further writes wait their turn (never refused) while reads go ahead, so the dose
recommendation stays fast under many writers.  ``--no-access-log`` drops uvicorn's line per
request (CPU under load).  uvicorn uses ``uvloop`` and ``httptools`` when installed (the
``web`` extra installs them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from doseladder.cli.output import handle_errors, require_extra
from doseladder.core.errors import InputError

__all__ = ["DEMO_DATABASE_URL", "register"]

#: the database ``serve --demo`` uses unless told otherwise
DEMO_DATABASE_URL = "sqlite:///./doseladder-demo.db"


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
                "sqlite:///./doseladder.db; with --demo: sqlite:///./doseladder-demo.db).",
                show_default=False,
            ),
        ] = None,
        demo: Annotated[
            bool,
            typer.Option(
                "--demo/--no-demo",
                help="Demonstration mode: the demo trial and demo users (published password) "
                "in an empty demo database. Never for real data.",
            ),
        ] = False,
        key_file: Annotated[
            Path | None,
            typer.Option(
                "--key-file",
                help="Audit signing key (default: $DOSELADDER_AUDIT_KEY_FILE or "
                "~/.config/doseladder/audit-ed25519.pem; created if missing).",
                show_default=False,
            ),
        ] = None,
        workers: Annotated[
            int,
            typer.Option(
                "--workers",
                help="Server processes (uvicorn workers); their login throttle counters are "
                "shared ($DOSELADDER_RATE_LIMIT_STORAGE or a private file).",
                min=1,
                max=64,
            ),
        ] = 1,
        secure_cookies: Annotated[
            bool,
            typer.Option(
                "--secure-cookies",
                help="Mark the session cookie Secure (behind a TLS-terminating proxy).",
            ),
        ] = False,
        access_log: Annotated[
            bool,
            typer.Option(
                "--access-log/--no-access-log",
                help="Log every request (uvicorn's access log); off saves CPU under load.",
            ),
        ] = True,
        write_concurrency: Annotated[
            int,
            typer.Option(
                "--write-concurrency",
                help="Writing requests run at once per process; more wait their turn (never "
                "refused), so reads such as the recommendation stay fast under many writers.",
                min=1,
                max=1000,
            ),
        ] = 2,
    ) -> None:
        """Run the web interface and the JSON API (docs at /docs)."""
        require_extra("web", "fastapi", "uvicorn", "sqlalchemy", "alembic", field="serve")
        import uvicorn

        from doseladder.conduct.db import Database
        from doseladder.web import create_app

        url, db = _prepare(database, demo, key_file)
        typer.echo(f"Database: {_redacted(url)}")
        typer.echo(f"Web interface: http://{host}:{port}/   API docs: http://{host}:{port}/docs")
        assert isinstance(db, Database)
        if workers > 1:
            db.dispose()
            _environment_for_workers(url, key_file, workers, secure_cookies, write_concurrency)
            uvicorn.run(
                "doseladder.web.serve_app:app_from_environment",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level="info",
                access_log=access_log,
            )
            return
        application = create_app(
            db, secure_cookies=secure_cookies, write_concurrency=write_concurrency
        )
        try:
            uvicorn.run(application, host=host, port=port, log_level="info", access_log=access_log)
        finally:
            db.dispose()


def _environment_for_workers(
    url: str, key_file: Path | None, workers: int, secure_cookies: bool, write_concurrency: int
) -> None:
    """Describe the app to the worker processes (:mod:`doseladder.web.serve_app`)."""
    import os
    import secrets
    import tempfile

    from doseladder.conduct.settings import ENV_VAR
    from doseladder.conduct.signing import ENV_KEY_FILE
    from doseladder.web.serve_app import (
        ENV_POOL_SIZE,
        ENV_SECRET,
        ENV_SECURE_COOKIES,
        ENV_WRITE_CONCURRENCY,
    )
    from doseladder.web.throttle import ENV_STORAGE
    from doseladder.web.throttle_storage import storage_uri

    os.environ[ENV_VAR] = url
    if key_file is not None:
        os.environ[ENV_KEY_FILE] = str(Path(key_file).expanduser().resolve())
    os.environ.setdefault(ENV_SECRET, secrets.token_hex(32))
    os.environ[ENV_SECURE_COOKIES] = "1" if secure_cookies else "0"
    os.environ[ENV_WRITE_CONCURRENCY] = str(write_concurrency)
    # PostgreSQL allows 100 connections by default: share about 60 among the workers
    os.environ.setdefault(ENV_POOL_SIZE, str(max(5, 30 // workers)))
    if not os.environ.get(ENV_STORAGE):
        folder = Path(tempfile.mkdtemp(prefix="doseladder-throttle-"))  # mode 0700
        os.environ[ENV_STORAGE] = storage_uri(folder / "login-throttle.db")
        typer.echo(f"{workers} workers; login throttle shared in {folder}")
    else:
        typer.echo(f"{workers} workers; login throttle shared in ${ENV_STORAGE}")


def _redacted(url: str) -> str:
    from doseladder.conduct.settings import redact_url

    return redact_url(url)


def _prepare(database: str | None, demo: bool, key_file: Path | None) -> tuple[str, object]:
    """Migrate, configure signing, seed the demo (``--demo``) and say what to do next."""
    import os

    from doseladder.conduct.db import Database, upgrade
    from doseladder.conduct.errors import ConductError
    from doseladder.conduct.sealing import configured_sealer
    from doseladder.conduct.settings import ENV_VAR, database_url
    from doseladder.web.demo import describe, has_users, seed_demo

    if demo and not database and not os.environ.get(ENV_VAR):
        database = DEMO_DATABASE_URL
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
        raise InputError("--database", f"cannot open {_redacted(url)}: {first[0]}") from None
    try:
        sealer = configured_sealer(url, key_file=key_file, create_key=True)
    except ConductError as exc:
        raise InputError("--key-file", getattr(exc, "reason", exc.message)) from None
    assert sealer is not None
    db = Database(url, pool_size=20, sealer=sealer)
    typer.echo(
        f"Audit trail signed with key {sealer.signer.key_id} "
        f"(ed25519 public key {sealer.signer.public_key}); anchors: "
        f"{sealer.anchors.location if sealer.anchors else 'none'}"
    )
    if not has_users(db):
        if demo:
            typer.echo(describe(seed_demo(url, sealer=sealer)))
            typer.echo("DEMONSTRATION database: the demo password is published; no real data.")
        else:
            typer.echo(
                "The database has no users yet. Create the first administrator with:\n"
                f"  doseladder admin create-user --role admin --database '{_redacted(url)}' "
                "USERNAME"
            )
    elif demo:
        typer.echo("The database already has users: no demo data added.")
    return url, db
