"""``doseladder serve``: migrations, the demo trial created once, the printed demo users, and
the app it serves (uvicorn itself is replaced by a stub)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from doseladder.cli.main import app as cli
from doseladder.conduct import Database
from doseladder.conduct.errors import AuthenticationError
from doseladder.conduct.services import decisions, exports, sites_users
from doseladder.web.demo import DEMO_PASSWORD, DEMO_TRIAL_CODE, DEMO_USERS

from .conftest import TestClient


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def fake_run(app: Any, **kwargs: Any) -> None:
        calls.append({"app": app, **kwargs})
        if isinstance(app, str):  # --workers: an import string for the worker processes
            return
        with TestClient(app) as client:  # the served app works
            calls[-1]["login_page"] = client.get("/login").status_code

    import uvicorn

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return calls


def test_serve_creates_the_demo_once(tmp_path: Path, served: list[dict[str, Any]]) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'demo.db'}"
    runner = CliRunner()
    first = runner.invoke(cli, ["serve", "--demo", "--database", url, "--port", "8123"])
    assert first.exit_code == 0, first.output
    assert f"Demo trial {DEMO_TRIAL_CODE}" in first.output
    assert DEMO_PASSWORD in first.output
    for username in DEMO_USERS:
        assert username in first.output
    assert "http://127.0.0.1:8123/" in first.output
    assert served[0]["host"] == "127.0.0.1" and served[0]["port"] == 8123
    assert served[0]["login_page"] == 200
    second = runner.invoke(cli, ["serve", "--demo", "--database", url])
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


def test_serve_demo_uses_the_demo_database_and_signs_the_trail(
    tmp_path: Path, served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DOSELADDER_DATABASE_URL", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--demo"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "doseladder-demo.db").exists() and not (tmp_path / "doseladder.db").exists()
    assert "DEMONSTRATION database" in result.output
    assert "Audit trail signed with key" in result.output
    check = CliRunner().invoke(
        cli, ["audit", "verify", "--database", "sqlite:///./doseladder-demo.db"]
    )
    assert check.exit_code == 0, check.output
    assert "signing key (ed25519)" in check.output and "latest anchor" in check.output


def test_production_database_starts_without_users(
    tmp_path: Path, served: list[dict[str, Any]]
) -> None:
    url = f"sqlite:///{tmp_path / 'prod.db'}"
    result = CliRunner().invoke(cli, ["serve", "--database", url])
    assert result.exit_code == 0, result.output
    assert "no users yet" in result.output
    assert "doseladder admin create-user --role admin" in result.output
    assert DEMO_PASSWORD not in result.output
    db = Database(url)
    try:
        for username in DEMO_USERS:  # no default credentials
            with pytest.raises(AuthenticationError):
                db.run(lambda s, u=username: sites_users.login(s, u, DEMO_PASSWORD))
    finally:
        db.dispose()
    # the first administrator, password prompted twice (never an argument)
    runner = CliRunner()
    bad = runner.invoke(
        cli,
        ["admin", "create-user", "chief", "--role", "monitor", "--database", url],
        input="a long admin passphrase\na long admin passphrase\n",
    )
    assert bad.exit_code == 2 and "--role: the first user of a database must be an admin" in (
        bad.stderr
    )
    weak = runner.invoke(
        cli,
        ["admin", "create-user", "chief", "--role", "admin", "--database", url],
        input="doseladder-demo\ndoseladder-demo\n",
    )
    assert weak.exit_code == 2 and "demo password" in weak.stderr
    ok = runner.invoke(
        cli,
        ["admin", "create-user", "chief", "--role", "admin", "--database", url],
        input="a long admin passphrase\na long admin passphrase\n",
    )
    assert ok.exit_code == 0, ok.output
    assert "created user chief (admin)" in ok.stdout
    second = runner.invoke(
        cli,
        ["admin", "create-user", "mon", "--role", "monitor", "--database", url, "--json"],
        input="another long passphrase\nanother long passphrase\n",
    )
    assert second.exit_code == 0, second.output
    db = Database(url)
    try:
        token = db.run(lambda s: sites_users.login(s, "chief", "a long admin passphrase")).token
        assert token.startswith("dl_")
    finally:
        db.dispose()
    again = CliRunner().invoke(cli, ["serve", "--database", url])
    assert "no users yet" not in again.output
    check = CliRunner().invoke(cli, ["audit", "verify", "--database", url])
    assert check.exit_code == 0, check.output


def test_serve_refuses_a_bad_database_url(served: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(cli, ["serve", "--database", "mysql://x/y"])
    assert result.exit_code == 2
    assert "--database" in result.output and not served


def test_serve_with_workers_shares_the_throttle_and_the_csrf_key(
    tmp_path: Path, served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--workers 3``: uvicorn gets the app factory; every worker's app uses the database,
    one CSRF key and one login-throttle file."""
    from doseladder.web.middleware import WriteBulkhead
    from doseladder.web.serve_app import app_from_environment
    from doseladder.web.throttle_storage import SQLiteFileStorage

    for name in (
        "DOSELADDER_DATABASE_URL",
        "DOSELADDER_WEB_SECRET",
        "DOSELADDER_SECURE_COOKIES",
        "DOSELADDER_POOL_SIZE",
        "DOSELADDER_RATE_LIMIT_STORAGE",
        "DOSELADDER_WRITE_CONCURRENCY",
    ):  # setenv first, so that what `serve` sets is undone after the test
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    result = CliRunner().invoke(
        cli,
        ["serve", "--database", url, "--workers", "3", "--write-concurrency", "5",
         "--no-access-log"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "3 workers; login throttle shared in" in result.output
    call = served[-1]
    assert call["app"] == "doseladder.web.serve_app:app_from_environment"
    assert call["factory"] is True and call["workers"] == 3
    assert call["access_log"] is False
    first, second = app_from_environment(), app_from_environment()
    limits = [m.kwargs for m in first.user_middleware if m.cls is WriteBulkhead]
    assert limits == [{"limit": 5}]
    assert first.state.settings.secret == second.state.settings.secret
    throttles = [first.state.login_throttle, second.state.login_throttle]
    assert all(isinstance(t._storage, SQLiteFileStorage) for t in throttles)
    for _ in range(5):
        throttles[0].failed("admin", "10.1.1.1")
    assert throttles[1].locked("admin", "10.1.1.2") is not None
    with TestClient(second) as client:
        assert client.get("/login").status_code == 200


def test_worker_app_refuses_a_bad_pool_size(monkeypatch: pytest.MonkeyPatch) -> None:
    from doseladder.conduct.errors import ValidationError
    from doseladder.web.serve_app import app_from_environment

    monkeypatch.setenv("DOSELADDER_POOL_SIZE", "lots")
    with pytest.raises(ValidationError, match="DOSELADDER_POOL_SIZE"):
        app_from_environment()


@pytest.mark.parametrize("value", ["0", "many", "1001"])
def test_worker_app_refuses_a_bad_write_concurrency(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    from doseladder.conduct.errors import ValidationError
    from doseladder.web.serve_app import app_from_environment

    monkeypatch.setenv("DOSELADDER_WRITE_CONCURRENCY", value)
    with pytest.raises(ValidationError, match="DOSELADDER_WRITE_CONCURRENCY"):
        app_from_environment()
