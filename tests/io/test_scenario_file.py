"""Protocol-scenario files holding one scenario or a list (io.scenario_file)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from doseladder.core.errors import InputError
from doseladder.io.scenario_file import load_protocol_scenarios
from doseladder.protocols import library_dir

ONE = {
    "indications": {
        "SLE": {"p_tox": [0.1, 0.2], "accrual": {"type": "poisson", "rate": 0.1}},
    }
}


def _write(tmp_path: Path, data: object, name: str = "s.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data))
    return p


def test_single_scenario_file_still_loads_and_is_named_after_the_file(tmp_path: Path) -> None:
    out = load_protocol_scenarios(_write(tmp_path, ONE, "mine.yaml"))
    assert len(out) == 1 and out[0].name == "mine"


def test_list_and_mapping_forms(tmp_path: Path) -> None:
    listed = load_protocol_scenarios(_write(tmp_path, {"scenarios": [ONE, {**ONE, "name": "B"}]}))
    assert [s.name for s in listed] == ["S1", "B"]
    mapped = load_protocol_scenarios(_write(tmp_path, {"scenarios": {"X": ONE, "Y": ONE}}))
    assert [s.name for s in mapped] == ["X", "Y"]
    shipped = load_protocol_scenarios(library_dir() / "scenarios" / "str-p004-report.yaml")
    assert len(shipped) == 6 and shipped[1].name == "S2-DL1-toxic"


def test_errors_name_the_item_and_the_field(tmp_path: Path) -> None:
    bad = {**ONE, "indications": {"SLE": {"p_tox": [0.1, 1.2], "accrual": {"rate": 0.1}}}}
    with pytest.raises(InputError) as exc:
        load_protocol_scenarios(_write(tmp_path, {"scenarios": [ONE, bad]}))
    assert str(exc.value).startswith("s.yaml: scenarios[1].indications.SLE.p_tox[1]:")
    with pytest.raises(InputError, match="repeated scenario name"):
        load_protocol_scenarios(_write(tmp_path, {"scenarios": [ONE | {"name": "A"}] * 2}))
    with pytest.raises(InputError, match="not allowed beside"):
        load_protocol_scenarios(_write(tmp_path, {"scenarios": [ONE], "name": "x"}))
    with pytest.raises(InputError, match="non-empty"):
        load_protocol_scenarios(_write(tmp_path, {"scenarios": []}))


def test_design_scenarios_take_p_eff_and_accrual_and_name_bad_fields(tmp_path: Path) -> None:
    from doseladder.io.scenario_file import load_scenarios

    good = {"p_tox": [0.1, 0.2], "p_eff": [0.3, 0.4], "accrual": {"type": "uniform", "rate": 3}}
    sc = load_scenarios(_write(tmp_path, {"scenarios": {"A": good}}))[0]
    assert sc.p_eff == (0.3, 0.4)
    assert sc.accrual.type == "uniform" and sc.accrual.rate == 3
    bad = {
        "accrual.type": {**good, "accrual": {"type": "weekly", "rate": 3}},
        "accrual.rate": {**good, "accrual": {"type": "uniform", "rate": 0}},
        "p_eff[1]": {**good, "p_eff": [0.3, 1.5]},
        "p_eff": {**good, "p_eff": [0.3]},
    }
    for field, data in bad.items():
        with pytest.raises(InputError) as err:
            load_scenarios(_write(tmp_path, {"scenarios": [data]}))
        assert err.value.field.endswith(f"scenarios[0].{field}"), (field, err.value.field)
