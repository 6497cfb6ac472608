"""Smoke check of the README's main command: the installed ``doseladder serve`` really serves.

``python -m doseladder.smoke`` (or ``./scripts/demo --smoke``) starts the installed
``doseladder`` console script with the demo trial on a free local port and a throw-away SQLite
database, waits until ``GET /login`` answers 200, then stops the server.  It exits 0 only if the
page answered; otherwise it prints the server's output and exits 1.  ``.ci/run`` runs it in a fresh
clone with a fresh virtual environment, so a missing install step (the ``web`` extra, say) fails CI
instead of a new user's first run.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["free_port", "main", "wait_for"]

TIMEOUT_S = 180.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, proc: subprocess.Popen[bytes], timeout: float) -> int | None:
    """Poll ``url`` until it answers: its status, or ``None`` if the server died or timed out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    return None


def _command() -> list[str]:
    script = Path(sys.executable).with_name("doseladder")
    if script.exists():
        return [str(script)]
    found = shutil.which("doseladder")
    if found is None:
        raise SystemExit("smoke: the `doseladder` command is not installed in this environment")
    return [found]


def main() -> int:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="doseladder-smoke-") as tmp:
        db = Path(tmp) / "doseladder-demo.db"
        cmd = [
            *_command(),
            "serve",
            "--demo",
            "--port",
            str(port),
            "--database",
            f"sqlite:///{db}",
        ]
        print(f"smoke: $ {' '.join(cmd)}", flush=True)
        log = Path(tmp) / "serve.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=tmp)
            try:
                status = wait_for(f"http://127.0.0.1:{port}/login", proc, TIMEOUT_S)
            finally:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
                    try:
                        proc.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
        if status == 200:
            print(f"smoke: GET /login answered 200 on port {port}; server stopped", flush=True)
            return 0
        print(f"smoke: GET /login did not answer 200 (got {status}); server output:", flush=True)
        print(log.read_text(errors="replace"), flush=True)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
