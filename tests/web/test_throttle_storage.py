"""The login throttle's counters shared by several server processes through one SQLite file
(:mod:`doseladder.web.throttle_storage`): what one process counts, every other one sees."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from limits import parse
from limits.strategies import MovingWindowRateLimiter

from doseladder.web.throttle import LoginThrottle
from doseladder.web.throttle_storage import SQLiteFileStorage, storage_uri


def _fail_in_other_process(uri: str, times: int) -> None:
    throttle = LoginThrottle(storage_uri=uri)
    for _ in range(times):
        throttle.failed("stat", "10.0.0.9")


def test_failures_in_another_process_lock_the_account_out(tmp_path: Path) -> None:
    uri = storage_uri(tmp_path / "throttle.db")
    here = LoginThrottle(storage_uri=uri)
    assert isinstance(here._storage, SQLiteFileStorage)
    ctx = multiprocessing.get_context("spawn")
    other = ctx.Process(target=_fail_in_other_process, args=(uri, 4))
    other.start()
    other.join(60)
    assert other.exitcode == 0
    assert here.locked("stat", "10.0.0.1") is None  # 4 of 5 failures: not yet
    assert here.failed("stat", "10.0.0.1") == ["account"]  # the 5th, counted here
    wait = LoginThrottle(storage_uri=uri).locked("STAT ", "10.0.0.2")  # a third process
    assert wait is not None and 1 <= wait <= 15 * 60
    here.succeeded("stat")
    assert LoginThrottle(storage_uri=uri).locked("stat", "10.0.0.2") is None


@settings(max_examples=25)
@given(
    limit=st.integers(1, 8),
    hits=st.lists(st.sampled_from([0, 1, 2]), max_size=20),
)
def test_two_handles_share_one_moving_window(
    tmp_path_factory: pytest.TempPathFactory, limit: int, hits: list[int]
) -> None:
    """Hits through any of three handles on one file are admitted exactly ``limit`` times."""
    path = tmp_path_factory.mktemp("throttle") / "t.db"
    handles = [SQLiteFileStorage(storage_uri(path)) for _ in range(3)]
    item = parse(f"{limit}/hour")
    limiters = [MovingWindowRateLimiter(h) for h in handles]
    admitted = [limiters[i].hit(item, "k") for i in hits]
    assert sum(admitted) == min(len(hits), limit)
    assert admitted == sorted(admitted, reverse=True)  # once refused, refused until the window
    _start, count = handles[0].get_moving_window(item.key_for("k"), limit, item.get_expiry())
    assert count == min(len(hits), limit)
    assert handles[2].get(item.key_for("k")) == count
    handles[1].clear(item.key_for("k"))
    assert limiters[0].test(item, "k")


def test_storage_needs_a_file_name() -> None:
    with pytest.raises(ValueError, match="must name a file"):
        SQLiteFileStorage("doseladder-sqlite://")
