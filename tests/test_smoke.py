"""The smoke check of the README's main command (``./scripts/demo --smoke``)."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from doseladder import smoke


def test_free_port_is_bindable() -> None:
    port = smoke.free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", port))


def test_wait_for_reports_a_server_that_died() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait()
    assert smoke.wait_for(f"http://127.0.0.1:{smoke.free_port()}/login", proc, 5.0) is None


def test_wait_for_times_out_when_nothing_answers() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert smoke.wait_for(f"http://127.0.0.1:{smoke.free_port()}/login", proc, 1.5) is None
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_smoke_serves_the_login_page(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("uvicorn")
    assert smoke.main() == 0
    assert "GET /login answered 200" in capsys.readouterr().out
