"""``floor-conforming`` (``benchmarks/bench_write_floor.py``) stores what the service stores.

The benchmark's lean adverse-event write is only a floor of the service's cost if it does the
same work: the same sequence of requests to the real app and to the floor, each on a copy of
one seeded database (same clock, same signing key), must leave identical rows -- adverse
events, DLT proposals, audit events, signatures, chain heads, the token's last use -- give the
same answers and anchored heads, and pass ``audit verify`` (key, anchors, tables against the
trail) on both."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _require_pg() -> None:
    from _service import admin_conninfo

    try:
        with psycopg.connect(admin_conninfo()):
            return
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is unreachable but CI is set: {exc}")
        pytest.skip(f"PostgreSQL is unreachable (set CI to make this fail): {exc}")


@pytest.mark.slow
def test_floor_conforming_stores_what_the_service_stores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    _require_pg()
    from _floor_conforming import compare_with_service
    from _service import DEFAULT_PROTOCOL

    r = compare_with_service(DEFAULT_PROTOCOL)

    assert r["differences"] == []
    # the sequence exercised what it is meant to: every DLT call, a refusal, the token's
    # last use recorded (the clock moves a minute between requests)
    assert {"met", "pending", "not_met"} <= set(r["calls"])
    assert 422 in r["statuses"]
    stored = r["statuses"].count(201)
    assert r["rows"]["adverse_events"] == r["rows"]["dlt_proposals"] == stored
    assert r["anchor_lines"] == stored
    assert r["last_seen_at"] == r["clock_at_end"]
    for verified in r["verify"].values():
        assert verified["ok"], verified
        assert verified["data"] == []
