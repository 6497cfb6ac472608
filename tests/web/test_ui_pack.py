"""The meeting pack from the dashboard: the button for the roles that sign off, the file it
streams (PDF or HTML), the audit event it writes, and the refusals (403, nothing changed)."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from doseladder.conduct.models import AuditEvent
from doseladder.conduct.services import meeting_pack

from .conftest import Scene, TestClient, World
from .test_ui import csrf_of, ui_login

pytest.importorskip("typst")
pytest.importorskip("matplotlib")

#: user → may produce the pack (the roles with sign_off, not bound to a site)
MAY = {
    "admin": True,
    "stat": True,
    "com1": True,
    "inv_a": False,
    "inv_b": False,
    "datamgr": False,
    "dm_a": False,
    "monitor": False,
}


def _last_event(world: World, trial_id: int) -> AuditEvent:
    """The last event of the trial's audit chain."""
    with world.db.session() as s:
        ev = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.chain == f"trial:{trial_id}")
            .order_by(AuditEvent.seq.desc())
            .limit(1)
        ).one()
        s.expunge(ev)
        return ev


def test_statistician_downloads_the_pdf_and_it_is_audited(
    client: TestClient, world: World, scene: Scene
) -> None:
    from pypdf import PdfReader

    ui_login(client, "stat")
    page = client.get(f"/trials/{scene.trial_id}")
    assert 'id="meeting-pack-form"' in page.text
    head_before = _last_event(world, scene.trial_id)
    r = client.post(
        f"/trials/{scene.trial_id}/meeting-pack",
        data={"csrf": csrf_of(page.text), "format": "pdf"},
    )
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith('attachment; filename="meeting-pack-')
    text = " ".join(
        " ".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(r.content)).pages).split()
    )
    assert "Committee meeting pack" in text and "Signatures" in text
    assert f"#{head_before.seq}" in text and head_before.hash[:16] in text
    ev = _last_event(world, scene.trial_id)
    assert ev.seq == head_before.seq + 1 and ev.action == meeting_pack.PACK_EVENT
    assert ev.actor_username == "stat" and ev.trial_id == scene.trial_id
    body = json.loads(ev.payload)["new"]
    assert body["audit_head_seq"] == head_before.seq
    assert body["audit_head_hash"] == head_before.hash and body["formats"] == ["pdf"]


@pytest.mark.parametrize("user", sorted(MAY))
def test_who_may_produce_the_pack(
    client: TestClient, world: World, scene: Scene, user: str
) -> None:
    ui_login(client, user)
    page = client.get(f"/trials/{scene.trial_id}")
    assert page.status_code == 200
    assert ('id="meeting-pack-form"' in page.text) is MAY[user]
    before = world.snapshot_counts()
    r = client.post(
        f"/trials/{scene.trial_id}/meeting-pack",
        data={"csrf": csrf_of(page.text), "format": "html", "cohorts": "1"},
    )
    if MAY[user]:
        assert r.status_code == 200, r.text[:300]
        assert r.headers["content-type"].startswith("text/html")
        assert "'unsafe-inline'" in r.headers["content-security-policy"]
        assert "Committee meeting pack" in r.text and "Dose-transition pathways" in r.text
        after = world.snapshot_counts()
        assert after.pop("audit_events") == before.pop("audit_events") + 1
        assert after == before
    else:
        assert r.status_code == 403, r.text[:300]
        assert world.snapshot_counts() == before


def test_bad_requests_name_the_field_and_change_nothing(
    client: TestClient, world: World, scene: Scene
) -> None:
    ui_login(client, "stat")
    page = client.get(f"/trials/{scene.trial_id}")
    csrf = csrf_of(page.text)
    before = world.snapshot_counts()
    url = f"/trials/{scene.trial_id}/meeting-pack"
    for data, status, words in [
        ({"csrf": csrf, "format": "docx"}, 422, "format"),
        ({"csrf": csrf, "format": "pdf", "cohorts": "3"}, 422, "cohorts"),
        ({"csrf": csrf, "format": "pdf", "cohorts": "two"}, 422, "cohorts"),
        ({"format": "pdf"}, 403, "CSRF"),
    ]:
        r = client.post(url, data=data)
        assert r.status_code == status and words in r.text, (data, r.status_code, r.text[:300])
    assert client.post("/trials/99999/meeting-pack", data={"csrf": csrf}).status_code == 404
    assert world.snapshot_counts() == before
