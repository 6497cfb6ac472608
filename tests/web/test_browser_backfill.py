"""Backfill slots in a real headless browser (chromium via Selenium, uvicorn on 127.0.0.1): a
BF-BOIN trial with the escalation cohort in follow-up; an investigator of site B sees the dose
open for backfill with its slots left on the dashboard, backfills a patient from the patient
page and sees the slots go down.  The dashboard screenshot is saved to ``/tmp/backfill.png``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from doseladder.conduct import Database

from ..browser import ServerThread, driver, wait_for_new_page  # noqa: F401  (fixture)
from ..conduct.conftest import PASSWORD, Clock, World, make_world
from ..conduct.test_services_backfill import backfill, pending_at_two

SCREENSHOT = Path("/tmp/backfill.png")


@pytest.fixture
def bf_server(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[ServerThread, World, int]]:
    from doseladder.web import create_app

    path = tmp_path / "bf.db"
    shutil.copyfile(sqlite_template, path)
    clock = Clock()
    db = Database(f"sqlite:///{path}", clock=clock)
    world = make_world(db, clock)
    tid = pending_at_two(world)  # DL1 open for backfill, 2 slots left (n_cap 5, at_most)
    try:
        with ServerThread(create_app(db, secret=b"browser-secret")) as server:
            yield server, world, tid
    finally:
        db.dispose()


def test_backfill_slots_in_a_real_browser(
    bf_server: tuple[ServerThread, World, int],
    driver: Any,  # noqa: F811
) -> None:
    from selenium.webdriver.common.by import By

    server, world, tid = bf_server
    base = server.url

    def find(css: str) -> Any:
        return driver.find_element(By.CSS_SELECTOR, css)

    def go(css: str) -> None:
        old = find("html")
        find(css).click()
        wait_for_new_page(driver, old)

    driver.get(base + "/login")
    find("#username").send_keys("inv_b")
    find("#password").send_keys(PASSWORD)
    go("#login-submit")
    driver.get(f"{base}/trials/{tid}")
    box = find("#backfill-all")
    doses = box.find_elements(By.CSS_SELECTOR, ".backfill-dose")
    assert len(doses) == 1 and doses[0].get_attribute("data-slots-left") == "2"
    assert doses[0].text.startswith("DL1 — backfill, 2 left (3 patients there)"), doses[0].text
    assert "cap: at most 5 patients per dose, escalation and backfill" in box.text
    assert "WAIT" in find("#rec-all .recommendation").text.upper()
    # a site-B patient, backfilled from the patient page
    pid = world.patient(tid, world.inv_b)
    driver.get(f"{base}/patients/{pid}")
    assert "2 left (3 patients there)" in find("#backfill-enrol").text
    go("#backfill-submit")
    assert "Backfilled at dose level 1" in find("#flash").text
    assert find("#enrolment-cohort").text == "backfill"
    driver.get(f"{base}/trials/{tid}")
    doses = find("#backfill-all").find_elements(By.CSS_SELECTOR, ".backfill-dose")
    assert doses[0].text.startswith("DL1 — backfill, 1 left (4 patients there)"), doses[0].text
    assert "backfill" in find("#patients").text  # the cohort tag in the patient table
    # the escalation cohort's dose stays the current dose (the backfill patient is lower)
    assert find("#rec-all .current-dose").text == "DL2 (level 2)"
    assert "pending: day 0 of the 28-day efficacy window" in find("#patients").text
    # the last slot taken elsewhere: the cap (at_most 5) closes DL1, shown with its count
    backfill(world, world.patient(tid, world.inv_b), 1, inv=world.inv_b)
    driver.get(f"{base}/trials/{tid}")
    box = find("#backfill-all")
    assert not box.find_elements(By.CSS_SELECTOR, ".backfill-dose")
    full = box.find_elements(By.CSS_SELECTOR, ".backfill-full")
    assert [x.text for x in full] == ["DL1 — backfill cap reached (5 patients there)"]
    driver.execute_script("document.getElementById('backfill-all').scrollIntoView()")
    assert driver.save_screenshot(str(SCREENSHOT))
