"""``doseladder serve``: migrations, the demo trial created once, the printed demo users, and
the app it serves (uvicorn itself is replaced by a stub)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from doseladder.cli.main import app as cli
from doseladder.conduct import Database
from doseladder.conduct.services import decisions, exports, sites_users
from doseladder.web.demo import DEMO_PASSWORD, DEMO_TRIAL_CODE, DEMO_USERS

from .conftest import TestClient


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def fake_run(app: Any, **kwargs: Any) -> None:
        calls.append({"app": app, **kwargs})
        with TestClient(app) as client:  # the served app works
            calls[-1]["login_page"] = client.get("/login").status_code

    import uvicorn

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return calls


def test_serve_creates_the_demo_once(tmp_path: Path, served: list[dict[str, Any]]) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'demo.db'}"
    runner = CliRunner()
    first = runner.invoke(cli, ["serve", "--database", url, "--port", "8123"])
    assert first.exit_code == 0, first.output
    assert f"Demo trial {DEMO_TRIAL_CODE}" in first.output
    assert DEMO_PASSWORD in first.output
    for username in DEMO_USERS:
        assert username in first.output
    assert "http://127.0.0.1:8123/" in first.output
    assert served[0]["host"] == "127.0.0.1" and served[0]["port"] == 8123
    assert served[0]["login_page"] == 200
    second = runner.invoke(cli, ["serve", "--database", url])
    assert second.exit_code == 0, second.output
    assert "already has users: no demo data added" in second.output
    db = Database(url)
    try:
        stat = db.run(
            lambda s: sites_users.actor_from_token(
                s, sites_users.login(s, "stat", DEMO_PASSWORD).token
            )
        )
        trials = db.run(lambda s: decisions.list_decisions(s, stat, 1))
        assert len(trials) == 5
        rec = db.run(lambda s: decisions.recommend(s, stat, 1))
        assert {v.indication for v in rec.indications} == {"SLE-ITP", "SLE-other", "IIM"}
        assert all(v.status == "enrol" and v.message for v in rec.indications)
        assert db.run(lambda s: exports.verify_audit(s, stat)).ok
    finally:
        db.dispose()


def test_serve_without_demo_creates_an_admin(tmp_path: Path, served: list[dict[str, Any]]) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = CliRunner().invoke(cli, ["serve", "--database", url, "--no-demo"])
    assert result.exit_code == 0, result.output
    assert "Created the first administrator: admin / " in result.output
    password = result.output.split("admin / ")[1].split()[0]
    db = Database(url)
    try:
        assert db.run(lambda s: sites_users.login(s, "admin", password)).token.startswith("dl_")
    finally:
        db.dispose()


def test_serve_refuses_a_bad_database_url(served: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(cli, ["serve", "--database", "mysql://x/y"])
    assert result.exit_code == 2
    assert "--database" in result.output and not served
