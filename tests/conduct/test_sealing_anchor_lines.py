"""The anchor a :class:`~doseladder.conduct.sealing.Sealer` writes (built from the cached
canonical form of each chain head) is byte for byte the record :func:`anchor_record` makes and
:meth:`FileAnchorStore.append` writes -- the reference, kept as it was."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doseladder.conduct.sealing import FileAnchorStore, Sealer, anchor_record, verify_record
from doseladder.conduct.signing import Ed25519Signer

_SIGNER = Ed25519Signer.generate()


def _reference_line(record: Mapping[str, Any]) -> bytes:
    """The line the anchor file held for ``record`` before the cached form (``json.dumps`` with
    the canonical options, written by ``FileAnchorStore.append``)."""
    text = json.dumps(dict(record), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return (text + "\n").encode("utf-8")


class _ListStore:
    """An anchor store that is not a file (the records as given)."""

    def __init__(self) -> None:
        self.got: list[dict[str, Any]] = []

    @property
    def location(self) -> str:
        return "memory"

    def append(self, record: Mapping[str, Any]) -> None:
        self.got.append(dict(record))

    def records(self) -> list[dict[str, Any]]:
        return list(self.got)


#: any code point that UTF-8 can hold (a lone surrogate cannot be written: see below)
_text = st.text(st.characters(codec="utf-8"), max_size=12)
_chains = st.one_of(
    st.sampled_from(["global", "legacy", "trial:1", "trial:2", "trial:10", "trial:9"]), _text
)
_commit = st.dictionaries(
    _chains,
    st.tuples(st.integers(0, 2**70), st.one_of(st.text(max_size=70), _text)),
    min_size=1,
    max_size=4,
)


@settings(max_examples=60, deadline=None)
@given(
    commits=st.lists(_commit, min_size=1, max_size=12),
    database=st.one_of(st.none(), _text, st.just("postgresql+psycopg://u@h/d")),
)
def test_every_anchor_line_equals_the_reference(
    tmp_path_factory: Any, commits: list[dict[str, tuple[int, str]]], database: str | None
) -> None:
    path = tmp_path_factory.mktemp("anchors") / "sub" / "anchors.jsonl"  # directory made too
    sealer = Sealer(signer=_SIGNER, anchors=FileAnchorStore(path), database=database)
    other = Sealer(signer=_SIGNER, anchors=_ListStore(), database=database)
    written: list[dict[str, Any]] = []
    for heads in commits:
        rec = sealer.anchor(heads)
        rec_other = other.anchor(heads)
        if rec is None:
            assert rec_other is None
            continue
        # the reference record of the same heads, at the same time
        expected = anchor_record(_SIGNER, heads=dict(sealer._due), database=database, at=rec["at"])
        assert rec == expected
        assert rec_other is not None
        assert rec_other == anchor_record(
            _SIGNER, heads=dict(other._due), database=database, at=rec_other["at"]
        )
        written.append(rec)
    lines = path.read_bytes().splitlines(keepends=True) if written else []
    assert lines == [_reference_line(r) for r in written]
    assert all(verify_record(r) for r in written)
    assert isinstance(other.anchors, _ListStore)
    assert [r["heads"] for r in other.anchors.records()] == [r["heads"] for r in written]
    assert all(verify_record(r) for r in other.anchors.records())


def test_a_chain_that_is_not_a_string_takes_the_general_path(tmp_path: Path) -> None:
    path = tmp_path / "anchors.jsonl"
    sealer = Sealer(signer=_SIGNER, anchors=FileAnchorStore(path), database="d")
    heads: dict[Any, tuple[int, str]] = {7: (2, "b"), 3: (1, "a")}
    rec = sealer.anchor(heads)
    assert rec is not None and rec["heads"] == {3: [1, "a"], 7: [2, "b"]}
    assert rec == anchor_record(_SIGNER, heads=heads, database="d", at=rec["at"])
    assert path.read_bytes() == _reference_line(rec)


def test_nothing_new_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "anchors.jsonl"
    sealer = Sealer(signer=_SIGNER, anchors=FileAnchorStore(path))
    assert sealer.anchor({"trial:1": (2, "b")}) is not None
    assert sealer.anchor({"trial:1": (1, "a")}) is None  # older
    assert sealer.anchor({"trial:1": (2, "b")}) is None  # the same
    assert sealer.anchor({}) is None
    assert sealer.anchor({"trial:2": (1, "c")}) is not None
    assert len(FileAnchorStore(path).records()) == 2


def test_a_lone_surrogate_is_refused_as_before(tmp_path: Path) -> None:
    path = tmp_path / "anchors.jsonl"
    sealer = Sealer(signer=_SIGNER, anchors=FileAnchorStore(path))
    for heads in ({"trial:\ud800": (1, "a")}, {"trial:1": (1, "\udfff")}):
        with pytest.raises(UnicodeEncodeError):
            anchor_record(_SIGNER, heads=heads, database=None)
        with pytest.raises(UnicodeEncodeError):
            sealer.anchor(heads)
    assert not path.exists()
