"""The escalation flowchart exists for every design a user can write in a design file."""

from __future__ import annotations

from pathlib import Path

import pytest

import doseladder.examples
from doseladder.io.design_file import load_design
from doseladder.reports.diagrams import flow_for, flowchart_figure

DESIGNS_DIR = Path(doseladder.examples.__file__).parent / "designs"
DESIGNS = sorted(DESIGNS_DIR.glob("*.yaml"))


@pytest.mark.parametrize("path", DESIGNS, ids=[p.stem for p in DESIGNS])
def test_every_example_design_has_a_flowchart(path: Path) -> None:
    design = load_design(path)
    flow = flow_for(design)
    keys = [n.key for n in flow.nodes]
    assert keys[0] == "start" and "treat" in keys and "stopq" in keys
    for a, b, _label, _style in flow.edges:  # every edge joins two drawn boxes
        assert a in keys and b in keys
    if design.time_to_event:
        pend = next(n for n in flow.nodes if n.key == "pend")
        # a design that suspends says when; one that never suspends (TITE-CRM) says so
        suspends = (
            getattr(design, "max_pending", None) is not None
            or getattr(design, "max_pending_ratio", None) is not None  # BE-BOIN
        )
        assert ("susp" in keys) == suspends
        assert ("never suspended" in pend.text) == (not suspends)
    png = flowchart_figure(flow)
    assert png.startswith(b"\x89PNG")


def test_the_examples_cover_the_time_to_event_designs() -> None:
    names = {load_design(p).name for p in DESIGNS}
    assert {"tite-boin", "tite-boin12", "tite-crm", "crm", "bf-boin", "keyboard"} <= names


def _flow_text(flow: object) -> dict[str, str]:
    return {n.key: n.text for n in flow.nodes}  # type: ignore[attr-defined]


@pytest.mark.parametrize("cap_rule", ["bfboin", "at_most"])
@pytest.mark.parametrize("name", ["bf-boin", "be-boin"])
def test_backfill_designs_draw_the_backfill_branch_in_the_cores_words(
    name: str, cap_rule: str
) -> None:
    """BF-BOIN / BE-BOIN: a backfill question with two side boxes (the doses open for
    backfill: the core's conditions; where the patient goes: assignment, no open dose, cap) and
    notes on how backfill data and conflicts enter the decision -- every text the core's
    ``backfill_texts()``, the same the design's ``describe()`` is made of."""
    from dataclasses import replace

    design = replace(load_design(DESIGNS_DIR / f"{name}.yaml"), cap_rule=cap_rule)
    t = design.backfill_texts()  # type: ignore[attr-defined]
    flow = flow_for(design)
    text = _flow_text(flow)
    keys = list(text)
    assert {"bfq", "bfopen", "bfassign", "bfdata", "bfpool"} <= set(keys)
    assert keys.index("treat") < keys.index("bfq") < keys.index("rate")
    assert ("bfq", "bfopen", "yes", "side") in flow.edges
    assert ("bfq", "rate", "no", "down") in flow.edges
    for cond in t.conditions:
        assert f"• {cond}" in text["bfopen"]
        assert cond in design.describe()  # one source with the statistical section
    assert t.no_slot in text["bfassign"] and t.cap in text["bfassign"]
    assert t.data in text["bfdata"] and t.pooling in text["bfpool"]
    limit = "up to 13 per dose" if cap_rule == "bfboin" else "at most 12 patients per dose"
    assert limit in text["bfassign"]
    if name == "be-boin":
        wait = "waits for the next decision" if design.no_slot == "wait" else "turned away"  # type: ignore[attr-defined]
        assert wait in text["bfassign"]
        assert "imputed" in text["bfopen"] and "susp" in keys
    else:
        assert "turned away" in text["bfassign"]
    assert flowchart_figure(flow).startswith(b"\x89PNG")


def test_a_protocol_with_rules_backfill_draws_its_rules_branch() -> None:
    from doseladder.protocols import library_dir, load_protocol

    p = load_protocol(library_dir() / "examples" / "str-p004-backfill-example.yaml")
    assert p.plan.backfill is not None
    t = p.plan.backfill.texts(p.plan.design, p.plan.dose_labels)
    text = _flow_text(flow_for(p))
    assert "at or above DL-1" in text["bfopen"]  # the rule's min_dose
    assert "SLE-ITP subject arrives" in text["bfq"]
    assert t.cap in text["bfassign"] and "at most 12 subjects per dose" in text["bfassign"]
    for cond in t.conditions:
        assert cond in text["bfopen"] and cond in p.plan.describe()
    assert "fb" in text and "others" in text  # the other branches are still drawn


@pytest.mark.parametrize("name", ["boin-s1", "tite-boin", "3+3"])
def test_designs_without_backfill_have_no_backfill_step(name: str) -> None:
    text = _flow_text(flow_for(load_design(DESIGNS_DIR / f"{name}.yaml")))
    assert not {k for k in text if k.startswith("bf")}
    assert not any("backfill" in v.lower() for v in text.values())


def test_side_boxes_never_overlap() -> None:
    """The layout places every box by its measured height: stacked side boxes and main boxes
    keep their gaps (checked on the layout function with made-up heights)."""
    from doseladder.reports.diagrams import _GAP_MAIN, _GAP_SIDE, Flow, _layout

    f = Flow()
    f.add("a", "A")
    f.add("s1", "S1", col=1)
    f.add("s2", "S2", col=1)
    f.add("b", "B")
    f.add("s3", "S3", col=1)
    f.add("c", "C")
    heights = {"a": 0.4, "s1": 1.5, "s2": 1.0, "b": 0.4, "s3": 0.8, "c": 0.3}
    ys = _layout(f, heights)

    def span(k: str) -> tuple[float, float]:
        return ys[k] - heights[k] / 2, ys[k] + heights[k] / 2

    for upper, lower, gap in [
        ("a", "b", _GAP_MAIN),
        ("b", "c", _GAP_MAIN),
        ("s1", "s2", _GAP_SIDE),
        ("s2", "s3", _GAP_SIDE),
    ]:
        assert span(upper)[0] - span(lower)[1] >= gap - 1e-9, (upper, lower, ys)
    assert ys["s1"] == ys["a"]  # a first side box sits beside its main box
    assert ys["s3"] == ys["b"]  # b moved down so that its side box fits
