"""The escalation flowchart exists for every design a user can write in a design file."""

from __future__ import annotations

from pathlib import Path

import pytest

import doseladder.examples
from doseladder.io.design_file import load_design
from doseladder.reports.diagrams import flow_for, flowchart_figure

DESIGNS = sorted((Path(doseladder.examples.__file__).parent / "designs").glob("*.yaml"))


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
        suspends = getattr(design, "max_pending", None) is not None
        assert ("susp" in keys) == suspends
        assert ("never suspended" in pend.text) == (not suspends)
    png = flowchart_figure(flow)
    assert png.startswith(b"\x89PNG")


def test_the_examples_cover_the_time_to_event_designs() -> None:
    names = {load_design(p).name for p in DESIGNS}
    assert {"tite-boin", "tite-boin12", "tite-crm", "crm", "bf-boin", "keyboard"} <= names
