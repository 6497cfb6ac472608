"""``/docs``: Swagger UI served from the installed package (no CDN) under a strict
Content-Security-Policy, checked over HTTP and in headless Chromium (the page renders the
API's operations with no CSP violation in the browser's console)."""

from __future__ import annotations

import re
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from doseladder.web import create_app
from doseladder.web.apidocs import ASSETS_URL, DOCS_CSP, assets_dir

from .test_browser import CHROMEDRIVER, CHROMIUM, FLAGS, ServerThread, _require_browser

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def docs_app(sqlite_template: Path, tmp_path: Path) -> Any:
    path = tmp_path / "docs.db"
    shutil.copyfile(sqlite_template, path)
    return create_app(f"sqlite:///{path}")


@pytest.fixture
def client(docs_app: Any) -> Iterator[TestClient]:
    with TestClient(docs_app) as c:
        yield c


def _policy(header: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def test_docs_page_has_a_strict_policy_and_no_external_host(client: TestClient) -> None:
    res = client.get("/docs")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/html")
    assert res.headers["content-security-policy"] == DOCS_CSP
    policy = _policy(res.headers["content-security-policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert res.headers["x-frame-options"] == "DENY"
    html = res.text
    assert "://" not in html and "//cdn" not in html and 'src="//' not in html
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all(body.strip() == "" for _, body in scripts)  # no inline script
    assert all(re.search(r'src="/[^/]', attrs) for attrs, _ in scripts)
    assert "on" + "load=" not in html and "javascript:" not in html


def test_every_file_the_page_loads_is_served_here(client: TestClient) -> None:
    html = client.get("/docs").text
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(urls) >= 4
    for url in urls:
        assert url.startswith("/"), url
        res = client.get(url)
        assert res.status_code == 200, url
        assert len(res.content) > 0
    bundle = client.get(f"{ASSETS_URL}/swagger-ui-bundle.js")
    assert bundle.content == (assets_dir() / "swagger-ui-bundle.js").read_bytes()
    assert client.get("/openapi.json").json()["paths"]


def test_no_default_cdn_pages_remain(client: TestClient) -> None:
    assert client.get("/redoc").status_code == 404
    assert client.get("/docs/oauth2-redirect").status_code == 404
    assert client.get(f"{ASSETS_URL}/../app.py").status_code == 404


def test_docs_render_in_a_browser_without_csp_violations(docs_app: Any) -> None:
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with ServerThread(docs_app) as server:
        drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        try:
            drv.set_page_load_timeout(30)
            drv.get(server.url + "/docs")
            WebDriverWait(drv, 30).until(
                lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) > 40
            )
            drv.find_element(By.CSS_SELECTOR, ".opblock-summary").click()  # expand one
            WebDriverWait(drv, 30).until(
                lambda d: (
                    d.find_elements(By.CSS_SELECTOR, ".opblock-body .parameters-container")
                    or d.find_elements(By.CSS_SELECTOR, ".opblock-body .responses-wrapper")
                )
            )
            ops = drv.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
            paths = {o.get_attribute("data-path") or o.text for o in ops}
            title = drv.find_element(By.CSS_SELECTOR, ".info .title").text
            logs = drv.get_log("browser")
        finally:
            drv.quit()
    assert "doseladder trial conduct" in title
    assert any(p.startswith("/api/v1/trials") for p in paths), paths
    violations = [
        e["message"]
        for e in logs
        if e.get("source") == "security"
        or "Content Security Policy" in e["message"]
        or "Refused to" in e["message"]
    ]
    assert not violations, violations
    errors = [e["message"] for e in logs if e["level"] == "SEVERE"]
    assert not errors, errors
