"""The opening checklist page: an admin and a statistician acknowledge items with a reason,
the admin trial page links it, refusals re-render with the service's message, and the
dashboard shows the standing acknowledgements."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from doseladder.io.design_file import load_mapping
from doseladder.protocols import shipped_path
from doseladder.web import create_app

from .conftest import World
from .test_ui import csrf_of, text, ui_login

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def second(world: World) -> Iterator[TestClient]:
    """A second browser (another person logged in at the same time)."""
    with TestClient(create_app(world.db, secret=b"test-secret")) as c:
        yield c


def _items(page: Any) -> list[str]:
    import re

    return re.findall(r'class="opening-item [a-z]+" data-item="([^"]+)"', page.text)


def test_two_people_acknowledge_on_the_checklist_and_the_dashboard_shows_it(
    client: TestClient, second: TestClient, world: World
) -> None:
    tid = world.trial(load_mapping(shipped_path("hn2301-nct06801119")), open_=False)
    assert ui_login(client, "admin").status_code == 303
    admin_page = client.get(f"/admin/trials/{tid}")
    assert f'href="/trials/{tid}/opening" id="link-opening"' in admin_page.text
    page = client.get(f"/trials/{tid}/opening")
    assert page.status_code == 200
    items = _items(page)
    assert len(items) == 14 and 'id="opening-outstanding">14<' in page.text
    assert page.text.count("Acknowledge as admin") == 14
    csrf = csrf_of(page.text)

    # opening is refused, naming the items
    before = world.snapshot_counts()
    r = client.post(f"/admin/trials/{tid}/open", data={"csrf": csrf, "reason": "SIV"})
    assert r.status_code == 409 and "cannot open: 14 protocol item(s)" in text(r)
    assert world.snapshot_counts() == before

    first = items[0]
    done = client.post(
        f"/trials/{tid}/opening/acknowledge",
        data={"csrf": csrf, "item": first, "reason": "doses set by the sponsor in March"},
        follow_redirects=False,
    )
    assert done.status_code == 303, text(done)[:400]
    page = client.get(f"/trials/{tid}/opening")
    assert "doses set by the sponsor in March" in page.text
    assert 'id="opening-outstanding">14<' in page.text  # the statistician's is still missing
    assert page.text.count("Acknowledge as admin") == 13

    before = world.snapshot_counts()
    for data, status, message in (
        ({"item": first, "reason": "again"}, 409, "you already acknowledged"),
        ({"item": items[1], "reason": ""}, 422, "reason"),
        ({"item": "review:none#0000000000", "reason": "fine"}, 422, "not an item"),
    ):
        r = client.post(f"/trials/{tid}/opening/acknowledge", data={"csrf": csrf, **data})
        assert r.status_code == status and message in text(r), (data, text(r)[:300])
    assert world.snapshot_counts() == before

    # the statistician, in another browser, gives the second acknowledgement
    assert ui_login(second, "stat").status_code == 303
    spage = second.get(f"/trials/{tid}/opening")
    assert spage.text.count("Acknowledge as statistician") == 14
    r = second.post(
        f"/trials/{tid}/opening/acknowledge",
        data={"csrf": csrf_of(spage.text), "item": first, "reason": "reviewed the letter"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert 'id="opening-outstanding">13<' in second.get(f"/trials/{tid}/opening").text

    # the rest through the tests' helper; then the trial opens from the admin page
    world.acknowledge_opening(tid)
    r = client.post(
        f"/admin/trials/{tid}/open", data={"csrf": csrf, "reason": "SIV"}, follow_redirects=False
    )
    assert r.status_code == 303
    dash = second.get(f"/trials/{tid}")
    assert 'id="opening-acks"' in dash.text
    assert "doses set by the sponsor in March" in dash.text and "reviewed the letter" in dash.text
    # once open, no more acknowledgement forms
    assert "Acknowledge as" not in second.get(f"/trials/{tid}/opening").text


def test_other_roles_see_the_checklist_without_forms(client: TestClient, world: World) -> None:
    tid = world.trial(load_mapping(shipped_path("hn2301-nct06801119")), open_=False)
    assert ui_login(client, "monitor").status_code == 303
    page = client.get(f"/trials/{tid}/opening")
    assert page.status_code == 200 and len(_items(page)) == 14
    assert "Acknowledge as" not in page.text
    r = client.post(
        f"/trials/{tid}/opening/acknowledge",
        data={"csrf": csrf_of(page.text), "item": _items(page)[0], "reason": "fine"},
    )
    assert r.status_code == 403 and "acknowledge opening" in text(r)


def test_a_design_file_has_nothing_to_acknowledge(client: TestClient, world: World) -> None:
    tid = world.trial()
    assert ui_login(client, "stat").status_code == 303
    page = client.get(f"/trials/{tid}/opening")
    assert 'id="opening-none"' in page.text
    assert 'id="opening-acks"' not in client.get(f"/trials/{tid}").text
