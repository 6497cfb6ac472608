"""The items that keep a protocol from opening a trial (placeholder doses, review flags)."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doseladder.io.design_file import load_mapping
from doseladder.protocols import list_protocols, protocol_from_dict, shipped_path
from doseladder.protocols.opening import ITEM_ID_MAX_LEN, opening_items

STR = "str-p004-nct07143617"


def _data(name: str = STR) -> dict[str, Any]:
    return deepcopy(load_mapping(shipped_path(name)))


@pytest.mark.parametrize("name", list_protocols())
def test_every_flag_and_every_placeholder_dose_is_an_item(name: str) -> None:
    protocol = protocol_from_dict(_data(name))
    items = opening_items(protocol)
    wheres = [i.where for i in items]
    # every flag that `protocol show` prints is an item (a placeholder dose folds its note in)
    assert set(wheres) == {w for w, _ in protocol.flagged()} | {
        f"dose {d.label}" for d in protocol.doses if d.amount.placeholder is not None
    }
    assert len(wheres) == len(set(wheres))
    for d in protocol.doses:
        kinds = {i.kind for i in items if i.where == f"dose {d.label}"}
        if d.amount.placeholder is not None:
            assert kinds == {"placeholder"}
    ids = [i.id for i in items]
    assert len(ids) == len(set(ids)) and all(len(x) <= ITEM_ID_MAX_LEN for x in ids)
    # stable: the same protocol gives the same ids
    assert [i.id for i in opening_items(protocol_from_dict(_data(name)))] == ids


def test_a_design_file_has_no_items() -> None:
    assert opening_items(None) == ()


def test_setting_a_dose_resolves_its_item_and_leaves_the_others_alone() -> None:
    before = opening_items(protocol_from_dict(_data()))
    data = _data()
    dose = data["doses"][1]
    assert dose["label"] == "DL1"
    dose["amount"] = {"value": 0.5, "unit": "mg/kg"}
    dose.pop("needs_review", None)
    dose.pop("review_note", None)
    after = opening_items(protocol_from_dict(data))
    gone = {i.id for i in before} - {i.id for i in after}
    assert [i.where for i in before if i.id in gone] == ["dose DL1"]
    assert {i.id for i in after} < {i.id for i in before}


def test_rewording_an_item_makes_it_a_new_item() -> None:
    data = _data()
    data["doses"][0]["review_note"] = "Rewritten: the sponsor has not set A yet."
    before = {i.where: i.id for i in opening_items(protocol_from_dict(_data()))}
    after = {i.where: i.id for i in opening_items(protocol_from_dict(data))}
    assert after["dose DL-1"] != before["dose DL-1"]
    assert "Rewritten" in next(
        i.text for i in opening_items(protocol_from_dict(data)) if i.where == "dose DL-1"
    )
    assert {k: v for k, v in after.items() if k != "dose DL-1"} == {
        k: v for k, v in before.items() if k != "dose DL-1"
    }


@settings(max_examples=25, deadline=None)
@given(
    note=st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=300
    ).filter(lambda s: s.strip()),
    index=st.integers(min_value=0, max_value=2),
)
def test_ids_follow_the_text_and_fit_the_column(note: str, index: int) -> None:
    data = _data()
    data["doses"][index]["review_note"] = note
    items = opening_items(protocol_from_dict(data))
    label = data["doses"][index]["label"]
    item = next(i for i in items if i.where == f"dose {label}")
    assert note.strip() in item.text or note in item.text
    assert len(item.id) <= ITEM_ID_MAX_LEN and item.id.startswith(f"placeholder:dose {label}#")
    again = opening_items(protocol_from_dict(deepcopy(data)))
    assert [i.id for i in again] == [i.id for i in items]
