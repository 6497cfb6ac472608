"""Protocol file validation: every bad key is reported with its dotted path (schema v1)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from doseladder.core.errors import InputError
from doseladder.protocols import library_dir, load_protocol, protocol_from_dict

SEED000 = library_dir() / "str-p004-nct07143617.yaml"


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SEED000.read_text(encoding="utf-8"))
    return data


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(d: dict[str, Any]) -> None:
        *head, last = path.split(".")
        cur: Any = d
        for part in head:
            cur = cur[int(part)] if part.isdigit() else cur[part]
        if last.isdigit():
            cur[int(last)] = value
        else:
            cur[last] = value

    return edit


def _del(path: str) -> Callable[[dict[str, Any]], None]:
    def edit(d: dict[str, Any]) -> None:
        *head, last = path.split(".")
        cur: Any = d
        for part in head:
            cur = cur[int(part)] if part.isdigit() else cur[part]
        del cur[last]

    return edit


CASES: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("bad unit", _set("doses.2.amount.unit", "mg/lb"), "doses[2].amount.unit", "unknown unit"),
    (
        "unknown key",
        _set("doses.0.amont", 1),
        "doses[0].amont",
        "unknown key 'amont'; allowed keys: needs_review, review_note, label, amount",
    ),
    ("unknown top key", _set("sponsor", "x"), "sponsor", "unknown key 'sponsor'"),
    ("two amount forms", _set("doses.1.amount.value", 2.0), "doses[1].amount", "exactly one"),
    ("missing unit", _del("doses.1.amount.unit"), "doses[1].amount.unit", "required key"),
    (
        "negative amount",
        _set("doses.1.amount", {"value": -1, "unit": "mg"}),
        "doses[1].amount.value",
        "greater than 0",
    ),
    ("duplicate label", _set("doses.2.label", "DL1"), "doses[2].label", "already used"),
    ("review note", _del("doses.0.review_note"), "doses[0]", "give a review_note"),
    ("design value", _set("design.phi_t", 0.9), "design.phi_t", "must be in"),
    ("design key", _set("design.colour", "red"), "design.colour", "unknown key"),
    ("design window", _set("design.tox_window", 28), "design.tox_window", "windows.dlt_days"),
    ("design num_doses", _set("design.num_doses", 4), "design.num_doses", "3 doses"),
    ("design start", _set("design.start_dose", "DL9"), "design.start_dose", "unknown dose label"),
    ("efficacy window", _del("windows.efficacy_days"), "windows.efficacy_days", "required by"),
    ("window value", _set("windows.dlt_days", 0), "windows.dlt_days", "greater than 0"),
    (
        "fallback label",
        _set("rules.fallback.backup_dose", "DL-2"),
        "rules.fallback.backup_dose",
        "unknown dose label",
    ),
    (
        "fallback order",
        _set("rules.fallback.backup_dose", "DL2"),
        "rules.fallback.backup_dose",
        "below the run-in",
    ),
    (
        "fallback choice",
        _set("rules.fallback.zero_dlt_branch", "never"),
        "rules.fallback.zero_dlt_branch",
        "'complete' or 'tite'",
    ),
    (
        "monitor action",
        _set("rules.safety_monitor.action", "stop"),
        "rules.safety_monitor.action",
        "close_others",
    ),
    (
        "two drivers",
        _set("indications.2.driving", True),
        "indications[2].driving",
        "only one driving",
    ),
    ("indication id", _set("indications.1.id", "SLE-ITP"), "indications[1].id", "already used"),
    (
        "criterion scope",
        _set("criteria.0.indications", ["SSc"]),
        "criteria[0].indications[0]",
        "unknown indication 'SSc'",
    ),
    ("criterion id", _set("criteria.1.id", "000-INC-01"), "criteria[1].id", "already used"),
    (
        "criterion category",
        _set("criteria.0.category", "both"),
        "criteria[0].category",
        "'inclusion' or 'exclusion'",
    ),
    ("month length", _set("schedule.month_length", 45), "schedule.month_length", "28..31"),
    (
        "timing form",
        _set("schedule.assessments", [{"name": "pk", "timing": [{"days": [1], "months": [1]}]}]),
        "schedule.assessments[0].timing[0]",
        "exactly one of",
    ),
    (
        "timing range",
        _set(
            "schedule.assessments",
            [{"name": "pk", "timing": [{"every_days": 3, "from_day": 9, "to_day": 1}]}],
        ),
        "schedule.assessments[0].timing[0].to_day",
        "before the first day",
    ),
    ("review id", _set("review.1.id", "R000-01"), "review[1].id", "already used"),
    ("protocol id", _set("id", "Has Spaces"), "id", "pattern"),
    ("version", _set("schema_version", 2), "schema_version", "unsupported version 2"),
    ("no version", _del("schema_version"), "schema_version", "missing"),
]


@pytest.mark.parametrize(
    ("edit", "path", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_keys_name_their_path(
    base: dict[str, Any], edit: Callable[[dict[str, Any]], None], path: str, reason: str
) -> None:
    data = copy.deepcopy(base)
    edit(data)
    with pytest.raises(InputError) as err:
        protocol_from_dict(data)
    assert err.value.field == path, str(err.value)
    assert reason in err.value.reason, str(err.value)
    assert "\n" not in str(err.value)


def test_the_unmodified_file_is_valid(base: dict[str, Any]) -> None:
    p = protocol_from_dict(copy.deepcopy(base))
    assert p.id == "str-p004-nct07143617"


def test_other_indication_rules_need_a_driving_indication(base: dict[str, Any]) -> None:
    data = copy.deepcopy(base)
    for ind in data["indications"]:
        ind["driving"] = False
    with pytest.raises(InputError) as err:
        protocol_from_dict(data)
    assert err.value.field == "rules.other_indications"


def test_load_protocol_names_the_file(tmp_path: Path, base: dict[str, Any]) -> None:
    data = copy.deepcopy(base)
    data["doses"][2]["amount"]["unit"] = "mg/lb"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_protocol(bad)
    assert str(err.value).startswith("bad.yaml: doses[2].amount.unit: unknown unit 'mg/lb'")
    broken = tmp_path / "broken.yaml"
    broken.write_text("schema_version: [1\n", encoding="utf-8")
    with pytest.raises(InputError, match="not valid YAML"):
        load_protocol(broken)
    with pytest.raises(InputError, match="not found"):
        load_protocol(tmp_path / "missing.yaml")
    with pytest.raises(InputError, match="mapping"):
        protocol_from_dict([])  # type: ignore[arg-type]


def test_json_files_load_too(tmp_path: Path, base: dict[str, Any]) -> None:
    import json

    path = tmp_path / "p.json"
    path.write_text(json.dumps(base, default=str), encoding="utf-8")
    assert load_protocol(path).plan.driving_indication == "SLE-ITP"
