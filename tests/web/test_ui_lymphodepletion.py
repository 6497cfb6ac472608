"""The patient page's lymphodepletion card: the regimen, the recorded administrations, the record
form (refusals re-render the page naming the field, nothing changed) and voiding."""

from __future__ import annotations

from datetime import timedelta

from doseladder.conduct.models import LymphodepletionDose
from doseladder.io.design_file import load_mapping
from doseladder.protocols import shipped_path

from .conftest import TestClient, World
from .test_ui import csrf_of, text, ui_login


def test_record_refuse_and_void_on_the_patient_page(client: TestClient, world: World) -> None:
    tid = world.trial(load_mapping(shipped_path("f01-car-nk-snc103")))
    d = world.decide(tid)
    pid = world.patient(tid, indication="SLE")
    world.enrol(pid, d.next_dose or 1, infused=False)
    start = world.clock.today()
    world.clock.advance(days=3)
    ui_login(client, "inv_a")
    page = client.get(f"/patients/{pid}")
    assert page.status_code == 200 and 'id="lympho-form"' in page.text
    assert "None recorded." in text(page) and "fludarabine" in text(page)
    csrf = csrf_of(page.text)
    when = (start + timedelta(days=1)).isoformat()
    before = world.snapshot_counts()
    bad = client.post(
        f"/patients/{pid}/lymphodepletion",
        data={"csrf": csrf, "agent": "fludarabine", "given_on": when, "dose": "300"},
    )
    assert bad.status_code == 422 and "dose" in text(bad) and "implausible" in text(bad)
    assert world.snapshot_counts() == before
    ok = client.post(
        f"/patients/{pid}/lymphodepletion",
        data={"csrf": csrf, "agent": "cyclophosphamide", "given_on": when, "dose": "275"},
    )
    assert ok.status_code == 200, text(ok)
    assert "Lymphodepletion recorded: cyclophosphamide 275 mg/m2" in text(ok)
    assert world.count(LymphodepletionDose) == 1
    with world.db.session() as s:
        row = s.query(LymphodepletionDose).one()
    gone = client.post(
        f"/lymphodepletion/{row.id}/void",
        data={"csrf": csrf_of(ok.text), "patient_id": str(pid), "reason": "wrong day"},
    )
    assert gone.status_code == 200 and f"record #{row.id} voided" in text(gone)
    assert "None recorded." in text(gone)
    client.post("/logout", data={"csrf": csrf_of(gone.text)})
    client.cookies.clear()
    ui_login(client, "monitor")
    page = client.get(f"/patients/{pid}")
    assert 'id="lympho-form"' not in page.text and 'id="lympho-table"' in page.text
    before = world.snapshot_counts()
    r = client.post(
        f"/patients/{pid}/lymphodepletion",
        data={"csrf": csrf_of(page.text), "agent": "fludarabine", "given_on": when, "dose": "25"},
    )
    assert r.status_code == 403 and "may not enter outcomes" in r.text
    assert world.snapshot_counts() == before
