"""``doseladder audit``: verify, export, keygen, rotate-key and replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from doseladder.cli.output import emit_json, handle_errors
from doseladder.core.errors import InputError

if TYPE_CHECKING:  # the database stack is imported only when an audit command runs
    from doseladder.conduct import audit as audit_types
    from doseladder.conduct.db import Database
    from doseladder.conduct.sealing import FileAnchorStore

DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database",
        help="Database URL (default: $DOSELADDER_DATABASE_URL or sqlite:///./doseladder.db).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
KeyFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        help="Ed25519 signing key (PEM; default: $DOSELADDER_AUDIT_KEY_FILE or "
        "~/.config/doseladder/audit-ed25519.pem).",
        show_default=False,
    ),
]
PublicKeyOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--public-key",
        help="Trusted public key (base64, as printed by keygen); repeatable.",
        show_default=False,
    ),
]
AnchorsOpt = Annotated[
    Path | None,
    typer.Option(
        "--anchors",
        help="Anchor file (default: $DOSELADDER_AUDIT_ANCHORS or "
        "~/.local/state/doseladder/anchors/<database id>.jsonl).",
        show_default=False,
    ),
]


def _conduct_input(field: str, exc: Exception) -> InputError:
    return InputError(field, getattr(exc, "reason", str(exc)))


def _trusted(
    key_file: Path | None, public_keys: list[str] | None, store: FileAnchorStore | None
) -> dict[str, str] | None:
    """Trusted keys (id → public): ``--public-key``s and the configured key, with the older
    keys they vouched for at rotations; ``None`` when none is available."""
    import base64

    from doseladder.conduct.errors import ConductError
    from doseladder.conduct.sealing import trusted_keys
    from doseladder.conduct.signing import configured_signer

    roots: list[str] = []
    for key in public_keys or []:
        try:
            if len(base64.b64decode(key, validate=True)) != 32:
                raise ValueError
        except ValueError:
            raise InputError("--public-key", f"not a base64 Ed25519 public key: {key!r}") from None
        roots.append(key)
    try:
        signer = configured_signer(key_file)
    except ConductError as exc:
        raise _conduct_input("--key-file", exc) from None
    if signer is not None:
        roots.append(signer.public_key)
    if not roots:
        return None
    return trusted_keys(roots, store.records() if store is not None else [])


def _verify_copy(
    copy: Path, key_file: Path | None, public_keys: list[str] | None
) -> audit_types.VerifyResult:
    from doseladder.conduct import audit

    try:
        data = json.loads(copy.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(str(copy), "file not found") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(str(copy), f"cannot read a JSON copy: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(str(copy), "not a certified copy")
    keys = _trusted(key_file, public_keys, None)
    return audit.verify_copy(data, keys=keys, require_signature=True)


def _verify_database(
    database: str | None,
    key_file: Path | None,
    public_keys: list[str] | None,
    anchors: Path | None,
) -> audit_types.VerifyResult:
    from doseladder.conduct import audit
    from doseladder.conduct.sealing import anchor_store

    db = _open(database)
    try:
        store = anchor_store(db.url, anchors)
        keys = _trusted(key_file, public_keys, store)
        with db.session() as session:
            return audit.verify(session, keys=keys, anchors=store)
    finally:
        db.dispose()


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
        key_file: KeyFileOpt = None,
        public_key: PublicKeyOpt = None,
        anchors: AnchorsOpt = None,
        json_: JsonOpt = False,
    ) -> None:
        """Check the hash chain, the signatures, the latest anchor and that every table
        matches the trail (exit 1 if broken); prints the signing keys."""
        if copy is not None:
            result = _verify_copy(copy, key_file, public_key)
        else:
            result = _verify_database(database, key_file, public_key, anchors)
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
        key_file: KeyFileOpt = None,
        anchors: AnchorsOpt = None,
        json_: JsonOpt = False,
    ) -> None:
        """Write a certified copy of the whole audit trail (with its chain head), signed by
        the audit key when one is configured."""
        data = _export(database, key_file, anchors)
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
            "key_id": data.get("manifest", {}).get("key_id"),
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

    _register_key_commands(audit_app)


def _export(database: str | None, key_file: Path | None, anchors: Path | None) -> dict[str, Any]:
    from doseladder.conduct import audit
    from doseladder.conduct.errors import ConductError
    from doseladder.conduct.sealing import anchor_store
    from doseladder.conduct.settings import redact_url
    from doseladder.conduct.signing import configured_signer

    try:
        signer = configured_signer(key_file)
    except ConductError as exc:
        raise _conduct_input("--key-file", exc) from None
    db = _open(database)
    try:
        store = anchor_store(db.url, anchors)
        keys = _trusted(key_file, None, store)
        with db.session() as session:
            return audit.certified_copy(
                session, database=redact_url(db.url), signer=signer, keys=keys, anchors=store
            )
    finally:
        db.dispose()


def _register_key_commands(audit_app: typer.Typer) -> None:
    @audit_app.command("keygen")
    @handle_errors
    def keygen(key_file: KeyFileOpt = None, json_: JsonOpt = False) -> None:
        """Create the Ed25519 key that signs the audit trail (refuses to overwrite one)."""
        from doseladder.conduct.errors import ConductError
        from doseladder.conduct.signing import Ed25519Signer, key_file_path, write_key_file

        path = key_file_path(key_file)
        signer = Ed25519Signer.generate()
        try:
            write_key_file(path, signer)
        except ConductError as exc:
            raise _conduct_input("--key-file", exc) from None
        info = {"key_file": str(path), "key_id": signer.key_id, "public_key": signer.public_key}
        if json_:
            emit_json(info)
            return
        typer.echo(
            f"wrote {path} (mode 600): key {signer.key_id}\n"
            f"public key (ed25519, base64): {signer.public_key}\n"
            "Keep a copy of the public key outside the server (e.g. in the trial master file);"
            " back up the key file securely."
        )

    @audit_app.command("rotate-key")
    @handle_errors
    def rotate_key(
        database: DatabaseOpt = None,
        key_file: KeyFileOpt = None,
        anchors: AnchorsOpt = None,
        json_: JsonOpt = False,
    ) -> None:
        """Replace the signing key: the new key vouches for the old one in the anchor file,
        so earlier signatures stay verifiable; the old key file is kept as <file>.retired-<id>.
        Restart the server afterwards."""
        from doseladder.conduct.errors import ConductError
        from doseladder.conduct.sealing import anchor_store, rotation_record
        from doseladder.conduct.settings import database_url
        from doseladder.conduct.signing import (
            Ed25519Signer,
            key_file_path,
            load_key_file,
            write_key_file,
        )

        path = key_file_path(key_file)
        try:
            old = load_key_file(path)
        except ConductError as exc:
            raise _conduct_input("--key-file", exc) from None
        try:
            url = database_url(database)
        except ConductError as exc:
            raise _conduct_input("--database", exc) from None
        new = Ed25519Signer.generate()
        retired = path.with_name(f"{path.name}.retired-{old.key_id}")
        try:
            write_key_file(retired, old)
        except ConductError as exc:
            raise _conduct_input("--key-file", exc) from None
        store = anchor_store(url, anchors)
        store.append(rotation_record(old, new))
        write_key_file(path, new, overwrite=True)
        info = {
            "key_file": str(path),
            "old_key_id": old.key_id,
            "retired_key_file": str(retired),
            "key_id": new.key_id,
            "public_key": new.public_key,
            "anchors": store.location,
        }
        if json_:
            emit_json(info)
            return
        typer.echo(
            f"rotated {path}: key {old.key_id} -> {new.key_id} (old key kept in {retired})\n"
            f"new public key (ed25519, base64): {new.public_key}\n"
            f"rotation recorded in {store.location}; restart the server to sign with the new key"
        )
