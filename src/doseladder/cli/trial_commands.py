"""``doseladder trial``: documents of a running trial from its conduct database.

``doseladder trial pack TRIAL --database URL [--format html,pdf] -o DIR`` writes the committee
meeting pack (:mod:`doseladder.conduct.services.meeting_pack` gathers it,
:mod:`doseladder.reports.meeting_pack` renders it) and records the audit event, exactly as the
dashboard's button does.  The database URL is read as by ``doseladder audit``
(``--database``, else ``$DOSELADDER_DATABASE_URL``, else ``sqlite:///./doseladder.db``).

Who produced it: ``--user NAME`` (an active user whose role may sign decisions off and who is
not bound to a site), else the system actor -- the operator with direct database access.
The database stack and the rendering libraries are imported only when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from doseladder.cli.output import (
    emit_json,
    handle_errors,
    require_extra,
    require_report_extra,
)
from doseladder.core.errors import InputError

__all__ = ["register"]

FORMATS = ("html", "pdf")


def _formats(text: str) -> list[str]:
    out = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in out if f not in FORMATS]
    if bad or not out:
        raise InputError("--format", f"choose among {', '.join(FORMATS)}; got {text!r}")
    return list(dict.fromkeys(out))


def _signatories(items: list[str] | None) -> list[tuple[str, str]] | None:
    """``"Name: Role"`` (or ``": Role"`` for a blank name line) → (name, role)."""
    if not items:
        return None
    out = []
    for i, item in enumerate(items):
        name, sep, role = item.rpartition(":")
        if not sep or not role.strip():
            raise InputError(f"--signatory[{i}]", f"write 'Name: Role' (got {item!r})")
        out.append((name.strip(), role.strip()))
    return out


def _trial_id(session: Any, trial: str) -> int:
    from sqlalchemy import select

    from doseladder.conduct.models import Trial

    found = session.scalar(select(Trial.id).where(Trial.code == trial))
    if found is None and trial.isdigit():
        found = session.scalar(select(Trial.id).where(Trial.id == int(trial)))
    if found is None:
        raise InputError("TRIAL", f"no trial with code or id {trial!r}")
    return int(found)


def _actor(session: Any, username: str | None) -> Any:
    from sqlalchemy import select

    from doseladder.conduct.models import User
    from doseladder.conduct.security import SYSTEM
    from doseladder.conduct.services import sites_users

    if username is None:
        return SYSTEM
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        raise InputError("--user", f"no active user {username!r}")
    return sites_users.actor_for(user)


def produce_pack(
    database: str | None,
    trial: str,
    formats: list[str],
    outdir: Path,
    *,
    cohorts: int | None = None,
    signatories: list[tuple[str, str]] | None = None,
    user: str | None = None,
) -> dict[str, Path]:
    """Gather, record and write the pack; returns format → file."""
    from doseladder.cli.audit_commands import _open
    from doseladder.conduct.errors import ConductError
    from doseladder.conduct.services import meeting_pack
    from doseladder.reports.meeting_pack import write_pack

    if outdir.exists() and not outdir.is_dir():
        raise InputError("--output", f"{outdir} exists and is not a directory")
    db = _open(database)

    def run(s: Any) -> dict[str, Path]:
        pack = meeting_pack.meeting_pack(
            s,
            _actor(s, user),
            _trial_id(s, trial),
            formats=formats,
            cohorts=cohorts,
            signatories=signatories,
        )
        return write_pack(pack, formats, outdir)  # inside the transaction: all or nothing

    try:
        return db.run(run)
    except ConductError as exc:
        field = getattr(exc, "field", None) or {403: "--user"}.get(exc.status, "TRIAL")
        raise InputError(field, getattr(exc, "reason", exc.message)) from None
    finally:
        db.dispose()


def register(app: typer.Typer) -> None:
    trial_app = typer.Typer(
        name="trial", help="Documents of a running trial (conduct database).", no_args_is_help=True
    )
    app.add_typer(trial_app, name="trial")

    @trial_app.command("pack")
    @handle_errors
    def pack(
        trial: Annotated[str, typer.Argument(help="Trial code (or id).", show_default=False)],
        database: Annotated[
            str | None,
            typer.Option(
                "--database",
                help="Database URL (default: $DOSELADDER_DATABASE_URL or "
                "sqlite:///./doseladder.db).",
                show_default=False,
            ),
        ] = None,
        formats: Annotated[
            str, typer.Option("--format", help="Comma-separated: html, pdf.")
        ] = "html,pdf",
        outdir: Annotated[Path, typer.Option("-o", "--output", help="Output directory.")] = Path(
            "."
        ),
        cohorts: Annotated[
            int | None,
            typer.Option(
                "--cohorts",
                help="Cohorts ahead in the pathways, 1 or 2 (default 2; 1 for designs "
                "using efficacy).",
                show_default=False,
            ),
        ] = None,
        signatory: Annotated[
            list[str] | None,
            typer.Option(
                "--signatory",
                help="A signature line 'Name: Role' (repeatable; default: blank lines for "
                "the committee chair, two members, the statistician and the chief "
                "investigator).",
                show_default=False,
            ),
        ] = None,
        user: Annotated[
            str | None,
            typer.Option(
                "--user",
                help="Record the pack as produced by this user (default: the system actor).",
                show_default=False,
            ),
        ] = None,
        json_: Annotated[bool, typer.Option("--json", help="Print the files as JSON.")] = False,
    ) -> None:
        """The committee meeting pack: per indication the current state, DLT and response
        listings, the recommendation with its reasons, pathways from today's data, pending
        outcomes and their windows, and a signature block (HTML and/or PDF)."""
        fmts = _formats(formats)
        require_extra("web", "sqlalchemy", "alembic", field="trial pack")
        require_report_extra(fmts, field="trial pack")
        files = produce_pack(
            database,
            trial,
            fmts,
            outdir,
            cohorts=cohorts,
            signatories=_signatories(signatory),
            user=user,
        )
        if json_:
            emit_json({k: str(v) for k, v in files.items()})
            return
        for fmt, path in files.items():
            typer.echo(f"{fmt}: {path}")
