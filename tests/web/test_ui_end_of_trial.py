"""The end-of-trial page: pending outcomes with their windows, the final MTD recorded by the
statistician, refused signatures (its author, a wrong password), two committee signatures,
and the signed selection on the trial dashboard."""

from __future__ import annotations

from typing import Any

from doseladder.conduct.models import ElectronicSignature, FinalSelection

from .conftest import BOIN, PASSWORD, World
from .test_ui import browser, csrf_of, text, ui_login  # noqa: F401 - the browser fixture


def _logout(browser: Any, page: Any) -> None:  # noqa: F811
    browser.post("/logout", data={"csrf": csrf_of(page.text)})


def test_end_of_trial_page(browser: Any, world: World) -> None:  # noqa: F811
    tid = world.trial(BOIN)
    ui_login(browser, "stat")
    page = browser.get(f"/trials/{tid}/end-of-trial")
    assert page.status_code == 200 and "The design has not stopped" in text(page)
    assert 'id="compute-selection"' not in page.text
    refused = browser.post(f"/trials/{tid}/final-selection", data={"csrf": csrf_of(page.text)})
    assert refused.status_code == 409 and "has not stopped" in text(refused)
    assert world.count(FinalSelection) == 0
    for dose in (1, 2, 3):
        world.cohort(tid, dose)
        world.clock.advance(29)
    world.cohort(tid, 4)
    world.clock.advance(10)  # the last cohort is still in its DLT window
    ui_login(browser, "stat")  # the session expired while the clock moved
    page = browser.get(f"/trials/{tid}/end-of-trial")
    pending = text(page)
    assert "Outcomes still pending 3 patient(s)" in pending
    window_end = (world.clock.today().toordinal() - 10) + 28
    from datetime import date

    assert date.fromordinal(window_end).isoformat() in pending
    world.clock.advance(19)
    assert world.decide(tid).status == "closed"
    ui_login(browser, "stat")
    page = browser.get(f"/trials/{tid}/end-of-trial")
    body = text(page)
    assert "No outcome is pending" in body and "The design selects DL4" in body
    assert "95% CrI" in body
    r = browser.post(f"/trials/{tid}/final-selection", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 200 and "Final MTD #" in text(r) and "awaiting signatures" in text(r)
    assert "You computed this selection" in text(r)
    sid = world.run(lambda s: s.query(FinalSelection).one().id)
    signature = {"trial_id": str(tid), "approve": "yes", "printed_name": "Dr Stat"}
    r = browser.post(
        f"/final-selections/{sid}/sign",
        data={**signature, "csrf": csrf_of(r.text), "password": PASSWORD},
    )
    assert r.status_code == 403 and "second person" in text(r)
    _logout(browser, r)
    signed_before = world.count(ElectronicSignature)
    for i, member in enumerate(("com1", "com2"), start=1):
        ui_login(browser, member)
        page = browser.get(f"/trials/{tid}/end-of-trial")
        assert 'id="sign-approve"' in page.text
        bad = browser.post(
            f"/final-selections/{sid}/sign",
            data={**signature, "csrf": csrf_of(page.text), "password": "wrong password"},
        )
        assert (
            bad.status_code in (401, 403, 422)
            and world.count(ElectronicSignature) == signed_before + i - 1
        )
        r = browser.post(
            f"/final-selections/{sid}/sign",
            data={
                **signature,
                "printed_name": f"Dr {member}",
                "csrf": csrf_of(page.text),
                "password": PASSWORD,
            },
        )
        assert r.status_code == 200, text(r)
        assert ("is signed by the committee" if i == 2 else "signature 1 of 2") in text(r)
        _logout(browser, r)
    ui_login(browser, "monitor")
    dash = browser.get(f"/trials/{tid}")
    block = text(dash).split("Final MTD", 1)[1]
    assert 'id="final-selection"' in dash.text and block.lstrip().startswith(": DL4 signed")
    assert "approved by Dr com1" in block and "approved by Dr com2" in block
    page = browser.get(f"/trials/{tid}/end-of-trial")
    assert 'id="sign-approve"' not in page.text and 'id="compute-selection"' not in page.text
