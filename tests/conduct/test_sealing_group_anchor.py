"""Group anchoring (:meth:`doseladder.conduct.sealing.Sealer.anchor`): commits that finish
while an anchor is being written are covered by one later anchor, and none is left uncovered."""

from __future__ import annotations

import itertools
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


def _heads(rec: dict[str, Any]) -> dict[str, tuple[int, str]]:
    return {c: (int(v[0]), str(v[1])) for c, v in rec["heads"].items()}


def test_commits_queued_behind_an_anchor_are_covered_by_one_anchor(tmp_path: Path) -> None:
    store = _SlowStore(tmp_path / "anchors.jsonl")
    sealer = Sealer(signer=Ed25519Signer.generate(), anchors=store, database="test")
    first = threading.Thread(target=sealer.anchor, args=({"trial:1": (1, "h1")},))
    first.start()
    assert store.entered.wait(10)  # seq 1 is being written; others commit meanwhile
    queued = [
        threading.Thread(target=sealer.anchor, args=({chain: (seq, f"h{seq}")},))
        for chain, seq in (("trial:1", 3), ("trial:1", 2), ("trial:2", 1), ("trial:1", 4))
    ]
    for t in queued:
        t.start()
    _wait_until(lambda: sealer._due.get("trial:1", (0, ""))[0] == 4 and "trial:2" in sealer._due)
    store.release.set()
    for t in [first, *queued]:
        t.join(10)
    records = store.records()
    assert [_heads(r) for r in records] == [
        {"trial:1": (1, "h1")},
        {"trial:1": (4, "h4"), "trial:2": (1, "h1")},
    ]
    assert [r["seq"] for r in records] == [1, 5]  # events covered by all heads
    assert all(verify_record(r) for r in records)
    assert sealer.anchor({"trial:1": (3, "h3")}) is None  # already covered: nothing older
    assert len(store.records()) == 2


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(1, 40),
    chains=st.integers(1, 4),
    threads=st.integers(1, 8),
    seed=st.integers(0, 2**32 - 1),
)
def test_every_commit_is_covered_when_its_anchor_call_returns(
    tmp_path_factory: Any, n: int, chains: int, threads: int, seed: int
) -> None:
    path = tmp_path_factory.mktemp("anchors") / "anchors.jsonl"
    sealer = Sealer(signer=Ed25519Signer.generate(), anchors=FileAnchorStore(path))
    rng = random.Random(seed)
    commits = [(f"trial:{rng.randrange(chains)}", seq) for seq in range(1, n + 1)]
    rng.shuffle(commits)
    uncovered: list[tuple[str, int]] = []

    def commit(my: list[tuple[str, int]]) -> None:
        for chain, seq in my:
            sealer.anchor({chain: (seq, f"h{seq}")})
            # another thread may be appending a line right now: the latest *complete* record
            latest = _heads([r for r in FileAnchorStore(path).records() if "heads" in r][-1])
            if latest.get(chain, (0, ""))[0] < seq:
                uncovered.append((chain, seq))

    workers = [threading.Thread(target=commit, args=(commits[i::threads],)) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()  # no timeout: on a loaded machine a timed-out join read a half-done run
    records = FileAnchorStore(path).records()
    assert all("heads" in r for r in records)  # every line complete once the writers are done
    assert uncovered == []
    final = _heads(records[-1])
    for chain in {c for c, _ in commits}:
        top = max(s for c, s in commits if c == chain)
        assert final[chain] == (top, f"h{top}")
    for a, b in itertools.pairwise(records):  # never an older head of any chain
        ha, hb = _heads(a), _heads(b)
        assert all(hb.get(c, (-1, ""))[0] >= s for c, (s, _) in ha.items())
    assert all(verify_record(r) for r in records)
