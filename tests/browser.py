"""Shared by the browser tests (tests/web/test_browser.py, tests/e2e/test_browser_str_p004.py,
tests/web/test_api_docs.py): headless Chromium, a uvicorn server thread, the page-change wait.

Browser tests are skipped only when chromium/chromedriver are absent *and* ``CI`` is unset.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "CHROMEDRIVER",
    "CHROMIUM",
    "FLAGS",
    "ServerThread",
    "driver",
    "page_gone",
    "require_browser",
    "wait_for_new_page",
]

CHROMIUM = os.environ.get("DOSELADDER_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("DOSELADDER_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1600",
)


def require_browser() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (Path(p).exists() or shutil.which(p))]
    if not missing:
        return
    if os.environ.get("CI"):
        pytest.fail(f"chromium/chromedriver missing ({', '.join(missing)}) but CI is set")
    pytest.skip(f"chromium/chromedriver missing ({', '.join(missing)}); set CI to make this fail")


class ServerThread:
    """uvicorn serving an app on 127.0.0.1 (a free port) in a thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()


@pytest.fixture
def driver() -> Iterator[Any]:
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    drv.set_page_load_timeout(30)
    try:
        yield drv
    finally:
        drv.quit()


def page_gone(old: Any) -> Any:
    """A wait condition: the page ``old`` (its ``html`` element) has been unloaded.  chromedriver
    reports such a node as stale or, while the new document is built, as "Node with given id
    does not belong to the document" (an unknown error): both mean the old page is gone."""
    from selenium.common.exceptions import WebDriverException

    def gone(_driver: Any) -> bool:
        try:
            old.is_enabled()
        except WebDriverException:
            return True
        return False

    return gone


def wait_for_new_page(drv: Any, old: Any, timeout: float = 20) -> None:
    """Wait until the page ``old`` (its ``html`` element) is gone and the new one is loaded."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(drv, timeout).until(page_gone(old))
    WebDriverWait(drv, timeout).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )
