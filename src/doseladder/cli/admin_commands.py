"""``doseladder admin create-user``: accounts from the command line (the first administrator
of a new database, or any user).  The password is prompted twice, never taken from the command
line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from doseladder.cli.output import emit_json, handle_errors, require_extra
from doseladder.core.errors import InputError

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    admin_app = typer.Typer(
        name="admin", help="Administer a trial-conduct database (users).", no_args_is_help=True
    )
    app.add_typer(admin_app, name="admin")

    @admin_app.command("create-user")
    @handle_errors
    def create_user(
        username: Annotated[str, typer.Argument(help="Login name.", show_default=False)],
        role: Annotated[
            str,
            typer.Option(
                "--role",
                help="admin, statistician, investigator, data_manager or monitor.",
                show_default=False,
            ),
        ],
        site: Annotated[
            str | None,
            typer.Option(
                "--site", help="Site code (investigators; optional for others).", show_default=False
            ),
        ] = None,
        display_name: Annotated[
            str | None, typer.Option("--display-name", show_default=False)
        ] = None,
        database: Annotated[
            str | None,
            typer.Option(
                "--database",
                help="Database URL (default: $DOSELADDER_DATABASE_URL or "
                "sqlite:///./doseladder.db).",
                show_default=False,
            ),
        ] = None,
        key_file: Annotated[
            Path | None,
            typer.Option(
                "--key-file", help="Audit signing key (as for serve).", show_default=False
            ),
        ] = None,
        json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    ) -> None:
        """Create a user; the first user of a database must be an administrator (created by
        the system actor), later ones are created by the first active administrator."""
        require_extra("web", "sqlalchemy", "alembic", field="admin")
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        info = _create(username, role, site, display_name, password, database, key_file)
        if json_:
            emit_json(info)
        else:
            typer.echo(f"created user {info['username']} ({info['role']}), id {info['id']}")


def _create(
    username: str,
    role: str,
    site: str | None,
    display_name: str | None,
    password: str,
    database: str | None,
    key_file: Path | None,
) -> dict[str, object]:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from doseladder.cli.audit_commands import _open
    from doseladder.conduct.db import Database
    from doseladder.conduct.errors import ConductError
    from doseladder.conduct.models import Site, User
    from doseladder.conduct.sealing import configured_sealer
    from doseladder.conduct.security import Role
    from doseladder.conduct.services import sites_users

    probe = _open(database)
    url = probe.url
    probe.dispose()
    try:
        sealer = configured_sealer(url, key_file=key_file, create_key=True)
    except ConductError as exc:
        raise InputError("--key-file", getattr(exc, "reason", exc.message)) from None
    db = Database(url, sealer=sealer)

    def run(s: Session) -> dict[str, object]:
        if not s.scalar(select(func.count()).select_from(User)):
            if Role.parse(role) is not Role.ADMIN:
                raise InputError("--role", "the first user of a database must be an admin")
            user = sites_users.bootstrap_admin(
                s, username=username, password=password, display_name=display_name
            )
        else:
            admin = s.scalars(
                select(User)
                .where(User.role == Role.ADMIN.value, User.active.is_(True))
                .order_by(User.id)
            ).first()
            if admin is None:
                raise InputError("database", "no active administrator to create the user")
            site_id = None
            if site is not None:
                site_id = s.scalar(select(Site.id).where(Site.code == site.strip().upper()))
                if site_id is None:
                    raise InputError("--site", f"no site with code {site!r}")
            user = sites_users.create_user(
                s,
                sites_users.actor_for(admin),
                username=username,
                password=password,
                role=role,
                site_id=site_id,
                display_name=display_name,
            )
        return {"id": user.id, "username": user.username, "role": user.role}

    try:
        return db.run(run)
    except ConductError as exc:
        field = getattr(exc, "field", None) or "user"
        raise InputError(field, getattr(exc, "reason", exc.message)) from None
    finally:
        db.dispose()
