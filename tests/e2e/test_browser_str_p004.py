"""STR-P004 through the web pages in a real headless Chromium (Selenium) against uvicorn.

The trial, its three sites and their users are created through the API
(:func:`~tests.e2e.journey.open_trial`); then screening, enrolment, the ASTCT CRS form, the
confirmation of the proposed DLT, every design decision, the end-of-trial computation and the
two committee signatures go through the pages.  Efficacy assessments and the closing of DLT
windows go through the API (they have their own page tests), and time passes on the sandbox
clock.  Each recorded decision is checked against the core's recommendation from the test's own
records.  Screenshots of the end-of-trial page and the dashboard go to ``/tmp/e2e-shots/``
(``DOSELADDER_E2E_SHOTS`` to change it).

Skipped only when chromium is absent *and* ``CI`` is unset.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

from doseladder.web import create_app

from ..browser import ServerThread, driver, wait_for_new_page  # noqa: F401 - driver: fixture
from ..web.conftest import PASSWORD, Api, World
from .journey import (
    SITES,
    Ledger,
    Subject,
    advance,
    assess_itp,
    check_recommendation,
    close_dlt_windows,
    ok,
    open_trial,
    trial_today,
)

PROTOCOL = "str-p004-nct07143617"
DRIVING = "SLE-ITP"
SHOTS = Path(os.environ.get("DOSELADDER_E2E_SHOTS", "/tmp/e2e-shots"))


class Pages:
    """The browser, logged in as one user at a time."""

    def __init__(self, drv: Any, base: str, prefix: str) -> None:
        from selenium.webdriver.common.by import By

        self.drv, self.base, self.prefix, self.by = drv, base, prefix, By
        self.user: str | None = None

    def find(self, css: str) -> Any:
        return self.drv.find_element(self.by.CSS_SELECTOR, css)

    def submit(self, css: str) -> None:
        """Click something that loads a new page and wait for it."""
        old = self.find("html")
        self.find(css).click()
        wait_for_new_page(self.drv, old)

    def get(self, path: str) -> None:
        self.drv.get(self.base + path)

    def login(self, user: str) -> None:
        if self.user == user:
            return
        if self.user is not None:
            self.submit("#logout")
        self.get("/login")
        self.find("#username").send_keys(user)
        self.find("#password").send_keys(PASSWORD)
        self.submit("#login-submit")
        assert self.find("#whoami").text == user
        self.user = user

    def flash(self) -> str:
        return str(self.find("#flash").text)

    def shot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{self.prefix}-{name}.png"
        height = self.drv.execute_script("return document.body.scrollHeight")
        self.drv.set_window_size(1280, max(900, min(int(height) + 40, 6000)))
        assert self.drv.save_screenshot(str(path))
        self.drv.set_window_size(1280, 1600)
        return path


def test_str_p004_through_the_web_pages(
    api: Api,
    world: World,
    driver: Any,  # noqa: F811
    db_url: str,
) -> None:
    from selenium.webdriver.support.ui import Select

    opened = open_trial(api, shipped=PROTOCOL, code="STR-WEB")
    tid = opened.trial_id
    trial = ok(api.get("stat", f"/trials/{tid}"))
    ledger = Ledger(
        date.fromisoformat(trial["epoch"]),
        float(trial["dlt_window_days"]),
        float(trial["efficacy_window_days"]),
    )
    closed: set[int] = set()
    dialect = "pg" if db_url.startswith("postgresql") else "sqlite"
    with ServerThread(create_app(world.db, secret=b"test-secret")) as server:
        web = Pages(driver, server.url, dialect)

        def decide(indication: str) -> Any:
            """The statistician records the design's decision on the dashboard."""
            views = check_recommendation(api, opened, ledger)
            web.login("stat")
            web.get(f"/trials/{tid}")
            web.submit(f"#record-{indication}")
            assert "recorded" in web.flash()
            d = [
                x
                for x in ok(api.get("stat", f"/trials/{tid}/decisions"))
                if x["indication"] == indication
            ][-1]
            assert (d["status"], d["next_dose"]) == (
                views[indication]["status"],
                views[indication]["next_dose"],
            )
            return d

        def screen_and_enrol(site: str, indication: str, d: Any) -> Subject:
            """The site's investigator registers, screens and enrols a patient."""
            web.login(SITES[site])
            web.get(f"/trials/{tid}/patients/new")
            Select(web.find("#indication")).select_by_value(indication)
            web.find("#age").send_keys("41")
            web.find("#mark-all").click()
            web.submit("#register-submit")
            assert "registered and screened: eligible" in web.flash()
            assert web.find("#enrol-dose").text == opened.engine_label(d["next_dose"])
            web.submit("#enrol-submit")
            assert f"Enrolled at dose level {d['next_dose']}" in web.flash()
            pid = int(driver.current_url.rstrip("/").rsplit("/", 1)[1])
            today = trial_today(api, tid)
            s = Subject(pid, site, indication, d["next_dose"], today)
            ledger.subjects.append(s)
            return s

        # the run-in at DL1, one patient per site
        d = decide(DRIVING)
        assert (d["status"], d["next_dose"]) == ("enrol", 2)
        first = [screen_and_enrol(site, DRIVING, d) for site in SITES]

        # day 3: the CRS form grades 3, the service proposes a DLT, the statistician confirms
        advance(api, tid, 3)
        web.login("inv_a")
        web.get(f"/patients/{first[0].patient_id}")
        web.find("#ae-form").find_element(web.by.XPATH, "..").find_element(
            web.by.TAG_NAME, "summary"
        ).click()
        Select(web.find("#ae-term")).select_by_value("Cytokine release syndrome")
        web.find("#ae-crs-temp").send_keys("39.4")
        Select(web.find("#ae-crs-other")).select_by_value("no")
        Select(web.find("#ae-crs-hypo")).select_by_value("yes")
        web.find("#ae-crs-vaso").send_keys("norepinephrine")
        Select(web.find("#ae-crs-oxygen")).select_by_value("none")
        Select(web.find("#ae-related")).select_by_value("probable")
        web.submit("#ae-submit")
        assert "ASTCT 2019 grade 3" in web.flash()
        assert web.find("#proposal-status").text == "DLT"
        assert web.find("#proposal-rule").text == "crs_ge3"
        web.login("stat")
        web.get(f"/patients/{first[0].patient_id}")
        web.submit("#confirm-submit")
        assert "confirmed" in web.flash()
        first[0].dlt_on = trial_today(api, tid)

        # the fallback to DL-1, then the design runs until it stops
        d = decide(DRIVING)
        assert (d["status"], d["next_dose"]) == ("enrol", 1)
        assert "DL-1 (level 1)" in web.find(f"#rec-{DRIVING} .latest-decision").text
        others: dict[str, int] = {}
        n = 0
        for _ in range(80):
            if d["status"] == "enrol":
                for _slot in range(d["slots_open"]):
                    screen_and_enrol(("SA", "SB", "SC")[n % 3], DRIVING, d)
                    n += 1
            views = check_recommendation(api, opened, ledger)
            for indication, site in (("SLE-other", "SB"), ("IIM", "SC")):
                if indication not in others and views[indication]["status"] == "enrol":
                    od = decide(indication)
                    assert od["next_dose"] <= views[DRIVING]["current_dose"]
                    screen_and_enrol(site, indication, od)
                    others[indication] = od["next_dose"]
            today = advance(api, tid, 7)
            for s in ledger.subjects:
                if s.indication == DRIVING and (today - s.infused).days in range(14, 21):
                    assess_itp(api, s, today, responder=s.patient_id % 3 != 0)
            close_dlt_windows(api, ledger, today, closed)
            d = decide(DRIVING)
            if d["status"] == "closed":
                break
        else:
            raise AssertionError("the design never stopped")
        assert set(others) == {"SLE-other", "IIM"}

        # end of trial: pending outcomes first
        web.get(f"/trials/{tid}")
        web.submit("#link-end-of-trial")
        assert web.find("#pending").text and "Not yet" in web.find("#why-not").text
        web.shot("1-end-of-trial-pending")
        advance(api, tid, 91)
        close_dlt_windows(api, ledger, trial_today(api, tid), closed)
        web.get(f"/trials/{tid}/end-of-trial")
        assert web.find("#nothing-pending").text
        web.submit("#compute-selection")
        assert "Final OBD #" in web.flash()
        selected = web.find("#preview-dose").text
        web.shot("2-end-of-trial-computed")
        for i, member in enumerate(("com1", "com2"), start=1):
            web.login(member)
            web.get(f"/trials/{tid}/end-of-trial")
            web.find("#sign-printed-name").send_keys(f"Dr Committee {i}")
            web.find("#sign-password").send_keys(PASSWORD)
            web.find("#sign-comment").send_keys("reviewed the estimates")
            web.submit("#sign-approve")
            assert ("signed by the committee" if i == 2 else "signature 1 of 2") in web.flash()
        assert web.find("#selection-signed").text == "SIGNED"
        web.shot("3-end-of-trial-signed")
        web.get(f"/trials/{tid}")
        block = web.find("#final-selection").text
        assert selected in block and "SIGNED" in block.upper()
        assert "Dr Committee 1" in block and "Dr Committee 2" in block
        web.shot("4-dashboard")
    sel = ok(api.get("stat", f"/trials/{tid}/end-of-trial"))["selections"]
    assert [s["signed"] for s in sel] == [True] and sel[0]["dose_label"] == selected
