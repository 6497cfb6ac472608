"""The web interface in a real headless browser (Debian's chromium via Selenium) against a real
uvicorn server on 127.0.0.1 with the demo trial: log in, read the dashboard's current dose and
reason, register/screen/enrol a patient, record a possible DLT, adjudicate it, record the next
decision, and see the timeline and the audit log update.  Screenshots go to a tmp directory.

Skipped only when chromium is absent *and* ``CI`` is unset; in CI a missing browser fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# CHROMIUM, CHROMEDRIVER, FLAGS and _require_browser are re-exported for test_api_docs
from ..browser import CHROMEDRIVER, CHROMIUM, FLAGS, ServerThread, driver, wait_for_new_page
from ..browser import require_browser as _require_browser

__all__ = ["CHROMEDRIVER", "CHROMIUM", "FLAGS", "ServerThread", "_require_browser", "driver"]


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[ServerThread]:
    from doseladder.conduct import upgrade
    from doseladder.web import create_app
    from doseladder.web.demo import seed_demo

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade(url)
    seed_demo(url)
    with ServerThread(create_app(url)) as server:
        yield server


def test_daily_work_in_a_real_browser(
    demo_server: ServerThread, driver: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    shots = tmp_path_factory.mktemp("screenshots")
    print("screenshots:", shots)
    base = demo_server.url

    def shot(name: str) -> None:
        assert driver.save_screenshot(str(shots / f"{name}.png"))

    def find(css: str) -> Any:
        return driver.find_element(By.CSS_SELECTOR, css)

    def go(css: str) -> None:
        """Click something that loads a new page and wait for it."""
        old = find("html")
        find(css).click()
        wait_for_new_page(driver, old)

    def login(user: str) -> None:
        driver.get(base + "/login")
        find("#username").send_keys(user)
        find("#password").send_keys("doseladder-demo")
        go("#login-submit")
        assert find("#whoami").text == user

    # ---- the investigator at BJGB: the dashboard's current dose and why
    login("inv_bj")
    assert "STR-P004-DEMO" in find("#trial-code").text
    card = find("#rec-SLE-ITP")
    assert "DL1 (level 2)" in card.find_element(By.CSS_SELECTOR, ".current-dose").text
    assert "ENROL" in card.find_element(By.CSS_SELECTOR, ".recommendation").text.upper()
    assert card.find_element(By.CSS_SELECTOR, ".next-dose").text == "DL2 (level 3)"
    why = card.find_element(By.CSS_SELECTOR, ".reason").text
    assert "desirability" in why and card.find_element(By.CSS_SELECTOR, ".rule").text
    assert "You work for site BJGB" in find("#site-notice").text
    assert "USTC-" not in find("#patients").text  # site isolation
    shot("1-dashboard-investigator")

    # ---- register and screen a patient (vanilla JS ticks the shown criteria), then enrol
    go("#link-register")
    Select(find("#indication")).select_by_value("SLE-ITP")
    find("#age").send_keys("44")
    find("#mark-all").click()
    go("#register-submit")
    assert "registered and screened: eligible" in find("#flash").text
    study_id = find("#study-id").text
    assert study_id.startswith("BJGB-")
    assert find("#enrol-dose").text == "DL2 (level 3)"
    shot("2-patient-before-enrolment")
    go("#enrol-submit")
    assert "Enrolled at dose level 3" in find("#flash").text
    assert find(".enrolled-dose").text == "DL2 (level 3)"

    # ---- record a possible DLT
    find("#ae-form").find_element(By.XPATH, "..").find_element(By.TAG_NAME, "summary").click()
    Select(find("#ae-term")).select_by_value("Cytokine release syndrome")
    # the ASTCT 2019 CRS form: fever, hypotension on one vasopressor -> grade 3
    find("#ae-crs-temp").send_keys("39.1")
    Select(find("#ae-crs-other")).select_by_value("no")
    Select(find("#ae-crs-hypo")).select_by_value("yes")
    find("#ae-crs-vaso").send_keys("norepinephrine")
    Select(find("#ae-crs-oxygen")).select_by_value("none")
    Select(find("#ae-related")).select_by_value("probable")
    shot("3a-ae-form")
    go("#ae-submit")
    assert "Adverse event #" in find("#flash").text
    assert "ASTCT 2019 grade 3" in find("#flash").text
    assert "awaiting adjudication" in find("#adverse-events").text
    assert find("#proposal-status").text == "DLT" and find("#proposal-rule").text == "crs_ge3"
    patient_url = driver.current_url
    shot("3-possible-dlt")
    go("#logout")

    # ---- the statistician confirms the proposed DLT call and records the next decision
    login("stat")
    driver.get(patient_url)
    shot("3b-proposed-call")
    go("#confirm-submit")
    assert "confirmed" in find("#flash").text
    assert "DLT" in find("#adjudications").text and "confirmed" in find("#adjudications").text
    driver.get(base + "/")
    before = find("#rec-SLE-ITP .reason").text
    go("#record-SLE-ITP")
    assert "Decision #6 recorded" in find("#flash").text
    assert find("#rec-SLE-ITP .reason").text  # the reasoning is shown after the DLT too
    shot("4-dashboard-after-dlt")
    _ = before

    # ---- the decision timeline and the audit log show it
    go("#link-timeline")
    first = find("#timeline li")
    assert "#6 SLE-ITP" in first.text and "latest" in first.text
    shot("5-timeline")
    go("#nav-audit")
    assert "Chain intact" in find("#verify-status").text
    log = find("#audit-events").text
    assert "dose_decisions#6 create" in log and "dlt_adjudications#2 create" in log
    assert "stat" in log and "inv_bj" in log
    shot("6-audit-log")
    assert len(list(shots.glob("*.png"))) == 8


def test_administration_and_a_sandbox_clock_in_a_real_browser(
    demo_server: ServerThread, driver: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The administrator registers a site, creates a user, reviews access, creates a sandbox
    trial from a shipped protocol and advances its clock; the banner marks it on its pages."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    shots = tmp_path_factory.mktemp("admin-screenshots")
    print("screenshots:", shots)
    base = demo_server.url

    def shot(name: str) -> None:
        assert driver.save_screenshot(str(shots / f"{name}.png"))

    def find(css: str) -> Any:
        return driver.find_element(By.CSS_SELECTOR, css)

    def submit(button: Any) -> None:
        old = find("html")
        button.click()
        wait_for_new_page(driver, old)

    def go(css: str) -> None:
        submit(find(css))

    driver.get(base + "/login")
    find("#username").send_keys("admin")
    find("#password").send_keys("doseladder-demo")
    go("#login-submit")
    go("#nav-admin")
    assert "users" in find("h1").text

    # ---- a site and a user
    go("#admin-nav a[href='/admin/sites']")
    find("#site-code").send_keys("PUMCH")
    find("#site-name").send_keys("Peking Union Medical College Hospital")
    go("#site-submit")
    assert "Site PUMCH registered" in find("#flash").text
    shot("1-admin-sites")
    go("#admin-nav a[href='/admin/users']")
    find("#user-username").send_keys("inv_pumch")
    Select(find("#user-role")).select_by_value("investigator")
    Select(find("#user-site")).select_by_visible_text("PUMCH")
    find("#user-password").send_keys("a long enough password")
    go("#user-submit")
    assert "User inv_pumch created (investigator)" in find("#flash").text
    assert "investigator" in find("#user-inv_pumch .user-role").text
    shot("2-admin-users")

    # ---- the periodic access review
    go("#admin-nav a[href='/admin/access-review']")
    row = find("#review-inv_pumch")
    assert "never" in row.find_element(By.CSS_SELECTOR, ".reviewed").text
    row.find_element(By.NAME, "note").send_keys("new account checked")
    submit(row.find_element(By.CSS_SELECTOR, "button"))
    assert "Access of inv_pumch reviewed" in find("#flash").text
    assert "by admin" in find("#review-inv_pumch .reviewed").text
    shot("3-admin-access-review")

    # ---- a sandbox trial from a shipped protocol; a site; its clock advanced
    go("#admin-nav a[href='/admin/trials']")
    find("#trial-code-input").send_keys("STR-SANDBOX")
    find("#trial-title-input").send_keys("STR-P004 rehearsal for site training")
    Select(find("#trial-shipped")).select_by_value("str-p004-nct07143617")
    find("#trial-sandbox").click()
    shot("4-admin-trials")
    go("#trial-submit")
    assert "sandbox trial STR-SANDBOX created" in find("#flash").text
    assert "SANDBOX trial STR-SANDBOX" in find("#sandbox-banner").text
    Select(find("#trial-site")).select_by_visible_text(
        "PUMCH — Peking Union Medical College Hospital"
    )
    go("#trial-site-submit")
    assert "takes part" in find("#flash").text
    today = find("#sandbox-today").text
    find("#clock-days").send_keys("29")
    find("#clock-reason").send_keys("rehearse the end of the DLT window")
    go("#clock-submit")
    assert "Sandbox clock advanced" in find("#flash").text
    assert find("#sandbox-today").text > today
    assert "29 day(s) ahead" in find("#sandbox-banner").text
    shot("5-admin-sandbox-trial")

    # ---- the banner marks the trial's own pages; the real demo trial has none
    trial_id = driver.current_url.rstrip("/").rsplit("/", 1)[1]
    driver.get(f"{base}/trials/{trial_id}")
    assert "SANDBOX trial STR-SANDBOX" in find("#sandbox-banner").text
    assert "sandbox clock" in find("h2 small").text
    shot("6-sandbox-dashboard")
    driver.get(base + "/trials/1")
    assert not driver.find_elements(By.ID, "sandbox-banner")
    go("#nav-audit")
    assert "Chain intact" in find("#verify-status").text
    assert "clock_offset_days" in find("#audit-events").text
    shot("7-audit-clock-advance")
    assert len(list(shots.glob("*.png"))) == 7
