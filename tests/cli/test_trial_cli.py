"""``doseladder trial pack``: the meeting pack from a conduct database, audited; refusals are
one-line errors naming the field (exit 2) and record nothing."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from doseladder.cli.main import app
from doseladder.conduct.db import Database
from doseladder.conduct.models import AuditEvent
from doseladder.conduct.services import meeting_pack

from ..conduct.conftest import (  # noqa: F401 - fixtures
    BOIN,
    Clock,
    World,
    _cheap_scrypt,
    clock,
    make_world,
    sqlite_template,
)

pytest.importorskip("typst")
pytest.importorskip("matplotlib")


@pytest.fixture
def conduct(sqlite_template: Path, tmp_path: Path, clock: Clock) -> Iterator[tuple[str, World]]:  # noqa: F811
    path = tmp_path / "trial.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    db = Database(url, clock=clock)
    world = make_world(db, clock)
    t = world.trial(BOIN, code="CLI-PACK")
    world.cohort(t, 1)
    yield url, world
    db.dispose()


def _events(world: World) -> list[AuditEvent]:
    with world.db.session() as s:
        rows = list(s.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        for r in rows:
            s.expunge(r)
        return rows


def test_pack_writes_both_files_and_records_the_event(
    conduct: tuple[str, World], tmp_path: Path
) -> None:
    url, world = conduct
    before = _events(world)
    out = tmp_path / "pack"
    r = CliRunner().invoke(
        app,
        [
            "trial",
            "pack",
            "CLI-PACK",
            "--database",
            url,
            "-o",
            str(out),
            "--signatory",
            "Dr Ada Byron: Chair",
            "--signatory",
            ": Member",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    files = json.loads(r.stdout)
    assert set(files) == {"html", "pdf"}
    html = Path(files["html"]).read_text(encoding="utf-8")
    assert "Committee meeting pack — CLI-PACK" in html and "Dr Ada Byron" in html
    assert f"#{before[-1].seq}" in html and before[-1].hash in html
    assert Path(files["pdf"]).read_bytes().startswith(b"%PDF")
    after = _events(world)
    assert len(after) == len(before) + 1
    ev = after[-1]
    assert ev.action == meeting_pack.PACK_EVENT and ev.actor_username == "system"
    assert json.loads(ev.payload)["new"]["formats"] == ["html", "pdf"]


def test_pack_as_a_committee_member(conduct: tuple[str, World], tmp_path: Path) -> None:
    url, world = conduct
    r = CliRunner().invoke(
        app,
        ["trial", "pack", "CLI-PACK", "--database", url, "-o", str(tmp_path), "--format", "html"],
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        app,
        [
            "trial",
            "pack",
            "CLI-PACK",
            "--database",
            url,
            "-o",
            str(tmp_path),
            "--format",
            "html",
            "--user",
            "com1",
            "--cohorts",
            "1",
        ],
    )
    assert r.exit_code == 0, r.output
    assert _events(world)[-1].actor_username == "com1"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["NOPE"], "TRIAL"),
        (["CLI-PACK", "--format", "docx"], "--format"),
        (["CLI-PACK", "--user", "inv_a"], "--user"),
        (["CLI-PACK", "--user", "ghost"], "--user"),
        (["CLI-PACK", "--cohorts", "3"], "cohorts"),
        (["CLI-PACK", "--signatory", "no role"], "--signatory[0]"),
    ],
)
def test_refusals_name_the_field_and_record_nothing(
    conduct: tuple[str, World], tmp_path: Path, args: list[str], field: str
) -> None:
    url, world = conduct
    before = len(_events(world))
    r = CliRunner().invoke(
        app, ["trial", "pack", *args, "--database", url, "-o", str(tmp_path / "x")]
    )
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith(f"error: {field}:"), r.stderr
    assert len(_events(world)) == before
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


def test_missing_database_is_named(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        app, ["trial", "pack", "X", "--database", f"sqlite:///{tmp_path}/none.db"]
    )
    assert r.exit_code == 2 and "--database" in r.stderr
