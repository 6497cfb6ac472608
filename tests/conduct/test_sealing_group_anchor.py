"""Group anchoring (:meth:`doseladder.conduct.sealing.Sealer.anchor`): commits that finish
while an anchor is being written are covered by one later anchor, and none is left uncovered."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from doseladder.conduct.sealing import FileAnchorStore, Sealer, verify_record
from doseladder.conduct.signing import Ed25519Signer


class _SlowStore:
    """An anchor store whose first append blocks until released (a slow ``fsync``)."""

    def __init__(self, path: Path) -> None:
        self.inner = FileAnchorStore(path)
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    @property
    def location(self) -> str:
        return self.inner.location

    def append(self, record: Mapping[str, Any]) -> None:
        self.calls += 1
        if self.calls == 1:
            self.entered.set()
            assert self.release.wait(10)
        self.inner.append(record)

    def records(self) -> list[dict[str, Any]]:
        return self.inner.records()


def _wait_until(cond: Any) -> None:
    deadline = time.monotonic() + 10
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_commits_queued_behind_an_anchor_are_covered_by_one_anchor(tmp_path: Path) -> None:
    store = _SlowStore(tmp_path / "anchors.jsonl")
    sealer = Sealer(signer=Ed25519Signer.generate(), anchors=store, database="test")
    first = threading.Thread(target=sealer.anchor, args=(1, "h1"))
    first.start()
    assert store.entered.wait(10)  # seq 1 is being written; 2, 3 and 4 commit meanwhile
    queued = [threading.Thread(target=sealer.anchor, args=(seq, f"h{seq}")) for seq in (3, 2, 4)]
    for t in queued:
        t.start()
    _wait_until(lambda: sealer._due[0] == 4)
    store.release.set()
    for t in [first, *queued]:
        t.join(10)
    records = store.records()
    assert [(r["seq"], r["hash"]) for r in records] == [(1, "h1"), (4, "h4")]
    assert all(verify_record(r) for r in records)
    assert sealer.anchor(3, "h3") is None  # already covered: nothing older is written
    assert len(store.records()) == 2


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 40), threads=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_every_commit_is_covered_when_its_anchor_call_returns(
    tmp_path_factory: Any, n: int, threads: int, seed: int
) -> None:
    path = tmp_path_factory.mktemp("anchors") / "anchors.jsonl"
    sealer = Sealer(signer=Ed25519Signer.generate(), anchors=FileAnchorStore(path))
    seqs = list(range(1, n + 1))
    random.Random(seed).shuffle(seqs)
    uncovered: list[int] = []

    def commit(my: list[int]) -> None:
        for seq in my:
            sealer.anchor(seq, f"h{seq}")
            if max(r["seq"] for r in FileAnchorStore(path).records()) < seq:
                uncovered.append(seq)

    workers = [threading.Thread(target=commit, args=(seqs[i::threads],)) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(30)
    records = FileAnchorStore(path).records()
    assert uncovered == []
    assert max(r["seq"] for r in records) == n
    assert [r["seq"] for r in records] == sorted({r["seq"] for r in records})  # increasing
    assert all(r["hash"] == f"h{r['seq']}" for r in records)
