"""The write routes of ``web/api/outcomes.py`` serialise their 201 answer themselves
(``_created``, in the route's worker thread).  For every such route, called as an allowed
role with the catalogue's valid request, the answer must be byte for byte -- body, status,
headers -- what FastAPI makes of the same returned model through the route's own response
field (validation, then ``dump_json``), the path these routes took before."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi.responses import Response
from fastapi.routing import APIRoute, serialize_response
from pydantic import BaseModel

from doseladder.web.api import outcomes as outcomes_api

from .conftest import API, ROLE_USERS, Api, Scene, World, make_scene
from .endpoints import operations
from .test_api_roles import _values


def _route(method: str, path: str) -> APIRoute | None:
    for route in outcomes_api.router.routes:
        if isinstance(route, APIRoute) and method in route.methods and route.path_regex.match(path):
            return route
    return None


def _reference(route: APIRoute, value: BaseModel) -> Response:
    content = asyncio.run(
        serialize_response(
            field=route.response_field, response_content=value, is_coroutine=True, dump_json=True
        )
    )
    assert route.status_code is not None
    return Response(content=content, media_type="application/json", status_code=route.status_code)


def test_every_created_answer_is_fastapis_serialisation(
    api: Api, world: World, scene: Scene, monkeypatch: Any
) -> None:
    made: list[tuple[BaseModel, Response]] = []
    real = outcomes_api._created

    def spy(value: BaseModel) -> Response:
        response = real(value)
        made.append((value, response))
        return response

    monkeypatch.setattr(outcomes_api, "_created", spy)
    checked = []
    ops = operations(_values(world, scene))
    for n, op in enumerate(ops):
        route = _route(op.method, op.path)
        if route is None or op.method != "POST":
            continue
        role = sorted(op.allowed)[0]
        made.clear()
        r = api.call(ROLE_USERS[role], op.method, op.path, op.body)
        if r.status_code == 409:  # an earlier operation changed the record: a fresh scene
            op = operations(_values(world, make_scene(world)))[n]
            made.clear()
            r = api.call(ROLE_USERS[role], op.method, op.path, op.body)
        if r.status_code >= 300:  # the catalogue's request cannot succeed here (its order)
            assert not made and r.status_code in (409, 422), (str(op), r.text)
            continue
        if not made:  # a route that still lets FastAPI serialise (a list)
            assert route.response_model is not None and not isinstance(route.response_model, type)
            continue
        ((value, response),) = made
        assert type(value) is route.response_model, str(op)
        reference = _reference(route, value)
        assert response.body == reference.body and r.content == reference.body, str(op)
        assert response.status_code == reference.status_code == r.status_code == 201
        assert response.raw_headers == reference.raw_headers, str(op)
        checked.append(route.name)
    # the catalogue's order leaves three to 409 (confirm, override; override_dlt): every
    # response model is still covered
    assert set(checked) >= {
        "record_ae", "correct_ae", "void_ae", "record_efficacy", "assess_efficacy",
        "correct_efficacy", "void_efficacy", "propose", "adjudicate", "correct_adjudication",
        "void_adjudication",
    }  # fmt: skip


def test_created_is_used_by_write_routes_only_with_their_response_model() -> None:
    """``_created`` answers 201: only routes declared ``status_code=201`` with one model."""
    import inspect

    for route in outcomes_api.router.routes:
        assert isinstance(route, APIRoute)
        if "_created(" in inspect.getsource(route.endpoint):
            assert route.status_code == 201 and isinstance(route.response_model, type)
            assert issubclass(route.response_model, BaseModel)
            assert f"{route.response_model.__name__}.model_validate" in inspect.getsource(
                route.endpoint
            )

    assert API == "/api/v1"


def test_the_recommendation_is_fastapis_serialisation(
    api: Api, world: World, scene: Scene, monkeypatch: Any
) -> None:
    """The recommendation GET serialises its answer itself (``model_response``, 200): byte
    for byte what FastAPI makes of the returned model through the route's response field,
    for a trial before and after grade-3 adverse events of a patient."""
    from doseladder.web.api import common
    from doseladder.web.api import decisions as decisions_api

    (route,) = [
        r for r in decisions_api.router.routes
        if isinstance(r, APIRoute) and r.path == "/trials/{trial_id}/recommendation"
    ]  # fmt: skip
    assert route.response_model is not None and route.status_code is None
    made: list[tuple[BaseModel, Response]] = []

    def spy(value: BaseModel, status_code: int) -> Response:
        response = common.model_response(value, status_code)
        made.append((value, response))
        return response

    monkeypatch.setattr(decisions_api, "model_response", spy)
    path = f"/trials/{scene.trial_id}/recommendation"
    checked = 0
    for who in ("inv_a", "stat", "inv_a"):
        made.clear()
        r = api.get(who, path)
        assert r.status_code == 200, r.text
        ((value, response),) = made
        assert type(value) is route.response_model
        content = asyncio.run(
            serialize_response(
                field=route.response_field, response_content=value, is_coroutine=True,
                dump_json=True,
            )
        )  # fmt: skip
        reference = Response(content=content, media_type="application/json", status_code=200)
        assert response.body == reference.body == r.content
        assert response.raw_headers == reference.raw_headers
        assert r.headers["content-type"] == "application/json"
        checked += 1
        ae = {"term": "rash", "grade": 3, "onset_date": world.clock.today().isoformat()}
        assert (
            api.post("inv_a", f"/patients/{scene.enrolled}/adverse-events", ae).status_code == 201
        )
    assert checked == 3
