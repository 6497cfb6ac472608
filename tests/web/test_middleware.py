"""The plain-ASGI middleware (:mod:`doseladder.web.middleware`): the write bulkhead keeps reads
answered while writes queue (and never refuses a write), the security headers, and the
idempotency gate."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from doseladder.web.middleware import IdempotencyGate, SecurityHeaders, WriteBulkhead


class Recorder:
    """An app whose writes (POST) block until released; reads answer at once."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.release = asyncio.Event()
        self.started: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] == "POST":
            self.started.append(scope["path"])
            self.running += 1
            self.most = max(self.most, self.running)
            await self.release.wait()
            self.running -= 1
        await PlainTextResponse(f"{scope['method']} {scope['path']}")(scope, receive, send)


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def test_writes_over_the_limit_wait_in_order_while_reads_are_answered() -> None:
    async def scenario() -> None:
        inner = Recorder()
        async with client(WriteBulkhead(inner, limit=2)) as c:
            writes = [asyncio.create_task(c.post(f"/w{i}")) for i in range(5)]
            for _ in range(50):
                await asyncio.sleep(0)
            assert inner.started == ["/w0", "/w1"]  # two run, three wait
            # a read is answered while the writes hold every write slot
            read = await asyncio.wait_for(c.get("/r"), timeout=5)
            assert read.status_code == 200 and read.text == "GET /r"
            assert all(not w.done() for w in writes)
            inner.release.set()
            answers = await asyncio.wait_for(asyncio.gather(*writes), timeout=5)
        assert [a.status_code for a in answers] == [200] * 5  # none refused
        assert sorted(inner.started) == [f"/w{i}" for i in range(5)]
        assert inner.most == 2

    asyncio.run(scenario())


def test_the_bulkhead_limits_every_writing_method_not_the_safe_ones() -> None:
    async def scenario() -> None:
        seen: list[str] = []
        gate = asyncio.Event()

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            seen.append(scope["method"])
            if scope["method"] not in ("GET", "HEAD", "OPTIONS"):
                await gate.wait()
            await Response(status_code=204)(scope, receive, send)

        async with client(WriteBulkhead(app, limit=1)) as c:
            first = asyncio.create_task(c.request("PUT", "/x"))
            for _ in range(20):
                await asyncio.sleep(0)
            blocked = [asyncio.create_task(c.request(m, "/x")) for m in ("DELETE", "PATCH")]
            for method in ("GET", "HEAD", "OPTIONS"):
                assert (await asyncio.wait_for(c.request(method, "/x"), 5)).status_code == 204
            assert seen == ["PUT", "GET", "HEAD", "OPTIONS"]
            gate.set()
            await asyncio.wait_for(asyncio.gather(first, *blocked), timeout=5)
        assert sorted(seen) == sorted(["PUT", "GET", "HEAD", "OPTIONS", "DELETE", "PATCH"])

    asyncio.run(scenario())


@pytest.mark.parametrize("limit", [0, 1001, "2"])
def test_the_bulkhead_limit_is_validated(limit: Any) -> None:
    with pytest.raises(ValueError, match="write_concurrency"):
        WriteBulkhead(Recorder(), limit=limit)


def test_security_headers_on_every_response_and_csp_on_html() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/page":
            response: Response = Response("<p>", media_type="text/html")
        elif scope["path"] == "/own":
            response = Response("<p>", media_type="text/html")
            response.headers["Content-Security-Policy"] = "default-src 'none'"
        else:
            response = Response("{}", media_type="application/json")
        await response(scope, receive, send)

    async def scenario() -> None:
        async with client(SecurityHeaders(app)) as c:
            api, page, own = await c.get("/api"), await c.get("/page"), await c.get("/own")
        for r in (api, page, own):
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["referrer-policy"] == "same-origin"
            assert r.headers["x-frame-options"] == "DENY"
        assert "content-security-policy" not in api.headers
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        assert own.headers["content-security-policy"] == "default-src 'none'"  # kept

    asyncio.run(scenario())


def test_the_idempotency_gate_sends_only_keyed_posts_through_the_handling() -> None:
    handled: list[str] = []

    async def dispatch(request: Request, call_next: Any) -> Response:
        handled.append(f"{request.method} {request.url.path}")
        response: Response = await call_next(request)
        return response

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await Response(status_code=204)(scope, receive, send)

    async def scenario() -> None:
        async with client(IdempotencyGate(app, dispatch)) as c:
            await c.get("/a", headers={"Idempotency-Key": "k1"})
            await c.put("/b", headers={"Idempotency-Key": "k2"})
            await c.post("/c")
            assert (await c.post("/d", headers={"Idempotency-Key": "k3"})).status_code == 204
        assert handled == ["POST /d"]

    asyncio.run(scenario())
