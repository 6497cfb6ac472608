"""A query parameter the operation does not declare is refused (422 naming it), never ignored:
a misspelt filter must not silently return the unfiltered answer."""

from __future__ import annotations

import pytest

from .conftest import Api, Scene


@pytest.mark.parametrize(
    ("query", "name"),
    [("histroy=true", "histroy"), ("history=false&=null", ""), ("x=1&history=true", "x")],
)
def test_unknown_query_parameter_is_refused(api: Api, scene: Scene, query: str, name: str) -> None:
    path = f"/patients/{scene.enrolled}/adverse-events"
    ok = api.get("inv_a", f"{path}?history=true")
    assert ok.status_code == 200, ok.text
    r = api.get("inv_a", f"{path}?{query}")
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["field"] == f"query.{name}" and "unknown" in body["reason"]


def test_operations_without_query_parameters_refuse_any(api: Api, scene: Scene) -> None:
    r = api.get("inv_a", f"/patients/{scene.enrolled}?debug=1")
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "query.debug"
    assert api.get("inv_a", f"/patients/{scene.enrolled}").status_code == 200
