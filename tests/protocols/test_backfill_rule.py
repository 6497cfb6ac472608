"""``rules.backfill`` in protocol files: the example loads, every bad key names its path."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from doseladder.core.errors import InputError
from doseladder.core.rules import BackfillRule, EnrolStatus, recommend
from doseladder.core.state import Patient, TrialState
from doseladder.protocols import library_dir, list_protocols, load_protocol, protocol_from_dict

EXAMPLE = library_dir() / "examples" / "str-p004-backfill-example.yaml"


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    return data


def test_example_loads_with_backfill_and_is_not_a_shipped_protocol() -> None:
    p = load_protocol(EXAMPLE)
    assert p.plan.backfill == BackfillRule(n_cap=12, assign="highest", min_dose=1)
    assert p.plan.design.name == "boin"
    assert "Backfill (BF-BOIN)" in p.plan.describe()
    assert "Clin Cancer Res 2024" in p.plan.describe()
    assert Path(EXAMPLE).stem not in list_protocols()  # examples are not seed protocols
    # the driving cohort (SLE-ITP) at DL2 in follow-up, a response at DL1: backfill at DL1
    pts = [Patient(dose=2, entry_time=float(i), tox=False, eff=i == 0) for i in range(3)] + [
        Patient(dose=3, entry_time=40.0 + i, tox=None, eff=None) for i in range(3)
    ]
    rec = recommend(p.plan, TrialState(3, tuple(pts)), now=50.0)
    drv = rec.driving
    assert drv.indication == "SLE-ITP"
    assert drv.status is EnrolStatus.WAIT and drv.dose == 3
    assert drv.backfill_open == (1,) and drv.backfill_dose == 1  # 0-based DL1
    assert all(r.backfill_open == () for r in rec.indications[1:])


def test_disabled_backfill_is_no_rule(base: dict[str, Any]) -> None:
    d = copy.deepcopy(base)
    d["rules"]["backfill"]["enabled"] = False
    assert protocol_from_dict(d).plan.backfill is None


def _edit(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    d = copy.deepcopy(base)
    d["rules"]["backfill"].update(changes)
    return d


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"n_cap": 0}, "rules.backfill.n_cap", "greater than or equal to 1"),
        ({"assign": "middle"}, "rules.backfill.assign", "highest"),
        ({"activity": "anywhere"}, "rules.backfill.activity", "dose_or_lower"),
        ({"min_dose": "DL9"}, "rules.backfill.min_dose", "DL9"),
        ({"min_dose": 4}, "rules.backfill.min_dose", ""),
        ({"indications": ["XYZ"]}, "rules.backfill.indications[0]", "unknown indication"),
        ({"indications": ["IIM"]}, "rules.backfill.indications[0]", "driving indication"),
        ({"nacp": 3}, "rules.backfill.nacp", "unknown key"),
        ({"review_note": None}, "rules.backfill", "review_note"),
        ({"three_plus_three": True}, "rules.backfill.three_plus_three", "0.25"),
        ({"cap_rule": "less_than"}, "rules.backfill.cap_rule", "at_most"),
    ],
)
def test_bad_backfill_keys_name_their_path(
    base: dict[str, Any], changes: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InputError) as exc:
        protocol_from_dict(_edit(base, **changes))
    assert exc.value.field == field, exc.value
    assert words in exc.value.reason


def test_backfill_needs_a_boin_design(base: dict[str, Any]) -> None:
    seed = yaml.safe_load((library_dir() / "str-p004-nct07143617.yaml").read_text(encoding="utf-8"))
    seed["rules"]["backfill"] = {"enabled": True}
    with pytest.raises(InputError) as exc:
        protocol_from_dict(seed)
    assert exc.value.field == "rules.backfill.design"
    assert "BOIN" in exc.value.reason
    d = copy.deepcopy(base)
    d["design"]["cohort_size"] = 2
    with pytest.raises(InputError) as exc:
        protocol_from_dict(d)
    assert exc.value.field == "design.cohort_size"
    d = copy.deepcopy(base)
    d["rules"]["staggering"] = {"days": 7}
    with pytest.raises(InputError) as exc:
        protocol_from_dict(d)
    assert exc.value.field == "rules.backfill"


@pytest.mark.parametrize(
    ("cap_rule", "words"),
    [
        (None, "no dose ever has more than 12 subjects"),  # the protocol default: at_most
        ("at_most", "no dose ever has more than 12 subjects"),
        ("bfboin", "a dose can reach 13 subjects"),
    ],
)
def test_the_cap_reading_reaches_the_decision_design_and_the_text(
    base: dict[str, Any], cap_rule: str | None, words: str
) -> None:
    """``rules.backfill.cap_rule`` is carried by the BF-BOIN design the protocol decides with
    (so simulation and conduct read it from one place) and stated in the protocol text."""
    d = _edit(base) if cap_rule is None else _edit(base, cap_rule=cap_rule)
    plan = protocol_from_dict(d).plan
    assert plan.backfill is not None
    want = cap_rule or "at_most"
    assert plan.backfill.cap_rule == want
    assert plan.decision_design.cap_rule == want  # type: ignore[attr-defined]
    assert plan.to_dict()["backfill"]["cap_rule"] == want
    assert words in plan.describe()
