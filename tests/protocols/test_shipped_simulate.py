"""The five shipped protocols: each loads, validates, renders its escalation rules as readable
text, and simulates (2,000 trials) with its illustrative example scenario
(``protocols/scenarios/<name>.yaml``) -- issue #4, part 3."""

from __future__ import annotations

import math

import pytest
import yaml

from doseladder.io.scenario_file import load_protocol_scenario
from doseladder.protocols import Protocol, library_dir, list_protocols, load_protocol
from doseladder.simulate.protocol import simulate_protocol
from doseladder.simulate.protocol.scenario import shipped_scenario_path

NAMES = [
    "str-p004-nct07143617",
    "f01-car-nk-snc103",
    "tcr-t-cd19-bcma-sle-wuhan-union",
    "steam-cd19-car-t-csle",
    "hn2301-nct06801119",
]


def test_every_shipped_protocol_has_an_illustrative_scenario() -> None:
    assert sorted(list_protocols()) == sorted(NAMES)
    for name in NAMES:
        path = shipped_scenario_path(name)
        assert path == library_dir() / "scenarios" / f"{name}.yaml"
        text = path.read_text()
        assert "ILLUSTRATIVE ONLY" in text and "not data" in text
        assert yaml.safe_load(text)["indications"]


@pytest.fixture(scope="module", params=NAMES)
def protocol(request: pytest.FixtureRequest) -> Protocol:
    return load_protocol(library_dir() / f"{request.param}.yaml")


def test_loads_validates_renders_and_simulates(protocol: Protocol) -> None:
    rules = protocol.rules_text()
    assert "Escalation rules:" in rules
    assert protocol.plan.describe() in rules
    for label in protocol.dose_labels:
        assert label in rules
    scenario = load_protocol_scenario(shipped_scenario_path(protocol.id))
    n = 2000
    res = simulate_protocol(protocol, scenario, n, seed=2024)
    assert res.n_trials == n and res.seed == 2024
    plan = protocol.plan
    per = res.per_dose
    names = plan.indications or ("all",)
    assert set(names) <= set(per["indication"])
    # the selection (driving or pooled cohort) and "no selection" add up to 100 %
    sel = per.dropna(subset=["selection_pct"])
    assert len(sel) == plan.num_doses
    assert sel["selection_pct"].sum() + res.metric("no_selection_pct") == pytest.approx(100.0)
    assert (per["mean_patients"] >= 0).all() and per["mean_patients_se"].notna().all()
    total = res.metric("total_n")
    assert total > 0
    if plan.max_total is not None:
        assert total <= plan.max_total
    design_max = getattr(plan.design, "n_max", None) or plan.design.max_n
    assert res.metric("total_n", names[0]) <= design_max
    assert math.isfinite(res.metric("duration")) and res.metric("duration") > 0
    if plan.fallback is not None:
        p_dl1 = scenario.truth(names[0]).p_tox[plan.fallback.run_in_dose - 1]
        exact = 100 * (1 - (1 - p_dl1) ** 3)
        assert abs(res.metric("fallback_fired_pct") - exact) < 4 * math.sqrt(
            exact * (100 - exact) / n
        )
    for _, row in res.trial.iterrows():
        assert math.isfinite(row["value"]), (row["indication"], row["metric"])
    assert protocol.id in res.summary()
