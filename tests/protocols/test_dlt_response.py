"""``dlt:`` and ``response:`` sections: validation with dotted paths, the shipped files, and
the definitions they build (core ``DLTDefinition`` / ``ResponseDefinition``)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from doseladder.core.clinical.dlt import TERM_CRS, DLTStatus, GradedEvent, propose_dlt
from doseladder.core.clinical.response import (
    DatedAssessment,
    ResponseStatus,
    propose_response,
    score_response,
)
from doseladder.core.errors import InputError
from doseladder.protocols import library_dir, load_protocol, protocol_from_dict

SEED000 = library_dir() / "str-p004-nct07143617.yaml"
SHIPPED = sorted(library_dir().glob("*.yaml"))


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SEED000.read_text(encoding="utf-8"))
    return data


CASES: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    (
        "unknown term",
        lambda d: d["dlt"]["rules"][0].__setitem__("terms", ["CRS grade"]),
        "dlt.rules[0].terms[0]",
        "unknown CTCAE term 'CRS grade'",
    ),
    (
        "grade out of range",
        lambda d: d["dlt"]["rules"][0].__setitem__("min_grade", 6),
        "dlt.rules[0].min_grade",
        "less than or equal to 5",
    ),
    (
        "unknown rule key",
        lambda d: d["dlt"]["rules"][0].__setitem__("grade", 3),
        "dlt.rules[0].grade",
        "unknown key 'grade'",
    ),
    (
        "duplicate rule id",
        lambda d: d["dlt"]["rules"][1].__setitem__("id", "crs_ge3"),
        "dlt.rules[1].id",
        "already used",
    ),
    (
        "overlapping terms",
        lambda d: d["dlt"]["rules"][3].__setitem__("terms", ["Anemia"]),
        "dlt.rules[3].exclude_terms",
        "overlaps",
    ),
    (
        "bad attribution",
        lambda d: d["dlt"].__setitem__("attribution", ["likely"]),
        "dlt.attribution[0]",
        "Input should be",
    ),
    (
        "exclusion term",
        lambda d: d["dlt"]["exclusions"][0].__setitem__("terms", ["Hypogamma"]),
        "dlt.exclusions[0].terms[0]",
        "unknown CTCAE term",
    ),
    (
        "dlt needs review note",
        lambda d: d["dlt"].pop("review_note"),
        "dlt",
        "give a review_note",
    ),
    (
        "unknown indication",
        lambda d: d["response"][0].__setitem__("indication", "ITP"),
        "response[0].indication",
        "unknown indication 'ITP'",
    ),
    (
        "window set twice",
        lambda d: d["response"][0].__setitem__("day", 60),
        "response[0].day",
        "windows.efficacy_days",
    ),
    (
        "unknown criterion",
        lambda d: d["response"][0].__setitem__("criterion", "iwg"),
        "response[0].criterion",
        "Input should be",
    ),
    (
        "bad responder value",
        lambda d: d["response"][0].__setitem__("responder_values", ["CR", "R"]),
        "response[0].responder_values",
        "not ITP categories",
    ),
    (
        "unknown parameter",
        lambda d: d["response"][1]["params"].__setitem__("threshold", 4),
        "response[1].params.threshold",
        "not a parameter of sri4",
    ),
    (
        "duplicate indication",
        lambda d: d["response"].append(copy.deepcopy(d["response"][1])),
        "response[2].indication",
        "already has a response definition",
    ),
    (
        "visit window on by_day",
        lambda d: d["response"][0].__setitem__("window_after", 7),
        "response[0].window_after",
        "'at_visit' only",
    ),
]


@pytest.mark.parametrize(("name", "edit", "field", "reason"), CASES, ids=[c[0] for c in CASES])
def test_errors_name_the_path(
    base: dict[str, Any],
    name: str,
    edit: Callable[[dict[str, Any]], None],
    field: str,
    reason: str,
) -> None:
    data = copy.deepcopy(base)
    edit(data)
    with pytest.raises(InputError) as e:
        protocol_from_dict(data)
    assert e.value.field == field, name
    assert reason in e.value.reason, name


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_protocol_defines_dlt_and_flags_the_choice(path: Any) -> None:
    p = load_protocol(path)
    assert p.dlt is not None
    assert p.dlt.window_days == p.windows.dlt_days  # one source of truth
    assert {"crs_ge3", "icans_ge3", "any_grade_5"} <= {r.id for r in p.dlt.rules}
    assert p.dlt_review  # every seed is silent on its DLT definition
    assert ("dlt", p.dlt_review) in p.flagged()
    assert p.response, "every seed defines a response for at least one indication"
    for r in p.response:
        assert r.needs_review and (f"response {r.indication}", r.review_note) in p.flagged()
    text = p.describe()
    for rule in p.dlt.rules:
        assert rule.describe() in text
    for r in p.response:
        assert r.describe() in text


def test_driving_indication_response_uses_the_efficacy_window() -> None:
    p = load_protocol(SEED000)
    r = p.response_for("SLE-ITP")
    assert r is not None and r.crit.value == "itp_response"
    assert r.day == p.windows.efficacy_days
    assert p.response_for("IIM") is None
    with pytest.raises(InputError) as e:
        p.response_for("ITP")
    assert e.value.field == "indication"


def test_seed000_definitions_drive_the_proposals() -> None:
    p = load_protocol(SEED000)
    assert p.dlt is not None
    crs = GradedEvent(TERM_CRS, 3, 5, 8, "probable")
    prop = propose_dlt(p.dlt, [crs], infusion_day=0, today=8)
    assert prop.status is DLTStatus.YES and prop.rule_id == "crs_ge3"
    # grade 3 nausea for 2 days: neither > 3 days nor grade 4 -> no DLT once the window closes
    nausea = GradedEvent("nausea", 3, 5, 7, "possible")
    assert propose_dlt(p.dlt, [nausea], infusion_day=0, today=28).status is DLTStatus.NO
    # hypogammaglobulinaemia grade 3 for 20 days is excluded
    igg = GradedEvent("Immune system disorders - Other, specify", 3, 5, 25, "definite")
    assert propose_dlt(p.dlt, [igg], infusion_day=0, today=28).status is DLTStatus.NO
    r = p.response_for("SLE-ITP")
    assert r is not None
    a = score_response(r, {"platelets": 110, "baseline_platelets": 20, "bleeding": False})
    rp = propose_response(r, [DatedAssessment(40, a)], infusion_day=0, today=41)
    assert rp.status is ResponseStatus.RESPONDER


def test_dlt_section_is_optional(base: dict[str, Any]) -> None:
    data = copy.deepcopy(base)
    del data["dlt"]
    del data["response"]
    p = protocol_from_dict(data)
    assert p.dlt is None and p.response == ()
    assert "not given" in p.dlt_text()
    assert p.to_dict()["dlt"] is None
