"""``doseladder audit verify``, ``doseladder audit export`` and ``doseladder audit replay``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from doseladder.cli.output import emit_json, handle_errors
from doseladder.core.errors import InputError

if TYPE_CHECKING:  # the database stack is imported only when an audit command runs
    from doseladder.conduct.db import Database

DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database",
        help="Database URL (default: $DOSELADDER_DATABASE_URL or sqlite:///./doseladder.db).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def _open(url: str | None) -> Database:
    """Open an existing doseladder database (one-line errors for anything else)."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    from doseladder.conduct.db import Database
    from doseladder.conduct.errors import ConductError
    from doseladder.conduct.settings import database_url, redact_url

    try:
        resolved = database_url(url)
    except ConductError as exc:
        raise InputError("--database", getattr(exc, "reason", exc.message)) from None
    if resolved.startswith("sqlite"):
        path = resolved.split("///", 1)[-1]
        if not Path(path).exists():
            raise InputError("--database", f"no database file {path}")
    db = Database(resolved)
    try:
        with db.engine.connect() as conn:
            if not inspect(conn).has_table("audit_events"):
                raise InputError("--database", "not a doseladder database (no audit trail)")
    except SQLAlchemyError as exc:
        db.dispose()
        first = str(exc.orig if hasattr(exc, "orig") else exc).strip().splitlines()[0]
        raise InputError("--database", f"cannot open {redact_url(resolved)}: {first}") from None
    return db


def register(app: typer.Typer) -> None:
    audit_app = typer.Typer(
        name="audit",
        help="Verify or export the append-only audit trail of a trial-conduct database.",
        no_args_is_help=True,
    )
    app.add_typer(audit_app, name="audit")

    @audit_app.command("verify")
    @handle_errors
    def verify(
        database: DatabaseOpt = None,
        copy: Annotated[
            Path | None,
            typer.Option("--copy", help="Verify a certified copy (JSON file) instead."),
        ] = None,
        json_: JsonOpt = False,
    ) -> None:
        """Check the hash chain and that every table matches the trail (exit 1 if broken)."""
        from doseladder.conduct import audit

        if copy is not None:
            try:
                data = json.loads(copy.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise InputError(str(copy), "file not found") from None
            except (OSError, json.JSONDecodeError) as exc:
                raise InputError(str(copy), f"cannot read a JSON copy: {exc}") from None
            if not isinstance(data, dict):
                raise InputError(str(copy), "not a certified copy")
            result = audit.verify_copy(data)
        else:
            db = _open(database)
            try:
                with db.session() as session:
                    result = audit.verify(session)
            finally:
                db.dispose()
        if json_:
            emit_json(result.to_dict())
        else:
            typer.echo(result.summary())
        if not result.ok:
            raise typer.Exit(1)

    @audit_app.command("export")
    @handle_errors
    def export(
        out: Annotated[Path, typer.Argument(help="Output JSON file.", show_default=False)],
        database: DatabaseOpt = None,
        json_: JsonOpt = False,
    ) -> None:
        """Write a certified copy of the whole audit trail (with its chain head)."""
        from doseladder.conduct import audit
        from doseladder.conduct.settings import redact_url

        db = _open(database)
        try:
            with db.session() as session:
                data = audit.certified_copy(session, database=redact_url(db.url))
        finally:
            db.dispose()
        try:
            out.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
        except OSError as exc:
            raise InputError(str(out), f"cannot write: {exc.strerror}") from None
        summary = {
            "file": str(out),
            "events": len(data["events"]),
            "head": data["head"],
            "verified": data["verification"]["ok"],
            "sha256": data["certificate"]["sha256"],
        }
        if json_:
            emit_json(summary)
        else:
            typer.echo(
                f"wrote {out}: {summary['events']} events, head #{data['head']['seq']} "
                f"{data['head']['hash']}, certificate sha256 {summary['sha256']}"
            )

    @audit_app.command("replay")
    @handle_errors
    def replay(
        copy: Annotated[
            Path, typer.Argument(help="A certified copy (JSON file).", show_default=False)
        ],
        json_: JsonOpt = False,
    ) -> None:
        """Recompute every decision and final selection from a certified copy alone.

        No database is needed; one line per record; exit 1 on any mismatch."""
        from doseladder.conduct.replay import replay_copy

        try:
            data = json.loads(copy.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(str(copy), "file not found") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(str(copy), f"cannot read a JSON copy: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("events"), list):
            raise InputError(str(copy), "not a certified copy (no events)")
        result = replay_copy(data)
        if json_:
            emit_json(result.to_dict())
        else:
            for line in result.lines:
                typer.echo(line.text())
            bad = sum(not line.ok for line in result.lines)
            typer.echo(
                f"{len(result.lines)} record(s) replayed: "
                + ("every one matches" if not bad else f"{bad} MISMATCH(ES)")
            )
        if not result.ok:
            raise typer.Exit(1)
