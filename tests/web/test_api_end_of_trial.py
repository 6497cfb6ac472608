"""End of trial through the API: pending outcomes, the final MTD, two e-signatures."""

from __future__ import annotations

from .conftest import BOIN, PASSWORD, Api, World


def test_final_selection_signed_by_two_people(api: Api, world: World) -> None:
    tid = world.trial(BOIN)
    r = api.post("stat", f"/trials/{tid}/final-selection")
    assert r.status_code == 409 and "has not stopped" in r.json()["message"]
    for dose in (1, 2, 3, 4):
        world.cohort(tid, dose)
        world.clock.advance(29)
    assert world.decide(tid).status == "closed"
    api.relogin()
    eot = api.get("monitor", f"/trials/{tid}/end-of-trial").json()
    assert eot["pending"] == [] and eot["preview"]["dose_label"] == "DL4"
    sel = api.post("stat", f"/trials/{tid}/final-selection")
    assert sel.status_code == 201, sel.text
    sid = sel.json()["id"]
    assert sel.json()["kind"] == "mtd" and sel.json()["dose_label"] == "DL4"
    body = {"password": PASSWORD, "printed_name": "Dr Stat"}
    r = api.post("stat", f"/final-selections/{sid}/sign", body)
    assert r.status_code == 403 and "second person" in r.json()["message"]
    r = api.post("com1", f"/final-selections/{sid}/sign", {"printed_name": "Dr One"})
    assert r.status_code == 422 and r.json()["field"] == "body.password"
    r = api.post("inv_a", f"/final-selections/{sid}/sign", body)
    assert r.status_code == 403
    one = api.post("com1", f"/final-selections/{sid}/sign", {**body, "printed_name": "Dr One"})
    assert one.status_code == 201 and one.json()["signed"] is False
    two = api.post("com2", f"/final-selections/{sid}/sign", {**body, "printed_name": "Dr Two"})
    assert two.status_code == 201 and two.json()["signed"] is True
    eot = api.get("stat", f"/trials/{tid}/end-of-trial").json()
    assert eot["selections"][0]["signed"] and len(eot["selections"][0]["signatures"]) == 2
