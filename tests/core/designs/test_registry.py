"""The design registry: every design name resolves to its class, ``Design.from_dict`` inverts
``to_dict`` for every shipped example design, and unknown or missing names are errors on
``design`` that list the known designs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import doseladder.examples
from doseladder.core.designs import BOIN, CRM, DESIGNS, Design, design_class
from doseladder.core.designs.registry import design_from_mapping
from doseladder.core.errors import InputError

EXAMPLES = sorted((Path(doseladder.examples.__file__).parent / "designs").glob("*.yaml"))


def test_names_are_the_classes_own() -> None:
    assert DESIGNS
    for name, cls in DESIGNS.items():
        assert cls.name == name
        assert design_class(name) is cls
        assert design_class(name.upper()) is cls


def test_every_registered_design_has_an_example() -> None:
    names = {yaml.safe_load(p.read_text())["design"] for p in EXAMPLES}
    assert set(DESIGNS) <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_from_dict_inverts_to_dict(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    design = Design.from_dict(data)
    assert type(design) is DESIGNS[data["design"]]
    again = Design.from_dict(design.to_dict())
    assert again == design
    # on the class itself the design key may be left out
    rest = {k: v for k, v in design.to_dict().items() if k != "design"}
    assert type(design).from_dict(rest) == design


@pytest.mark.parametrize("name", ["crm2", "BOINX", "", 3, None])
def test_unknown_design_lists_the_known_ones(name: object) -> None:
    with pytest.raises(InputError) as err:
        Design.from_dict({"design": name, "num_doses": 3})
    assert err.value.field == "design"
    assert "unknown design" in err.value.reason
    for known in DESIGNS:
        assert known in err.value.reason


def test_missing_design_key_lists_the_known_ones() -> None:
    with pytest.raises(InputError) as err:
        Design.from_dict({"num_doses": 3})
    assert err.value.field == "design"
    assert all(known in err.value.reason for known in DESIGNS)


def test_not_a_mapping() -> None:
    with pytest.raises(InputError) as err:
        design_from_mapping(["boin"])  # type: ignore[arg-type]
    assert err.value.field == "design"


def test_unknown_key_lists_the_allowed_ones() -> None:
    with pytest.raises(InputError) as err:
        Design.from_dict({"design": "boin", "num_doses": 3, "target": 0.3, "tagret": 0.3})
    assert err.value.field == "tagret"
    assert "target" in err.value.reason and "cohort_size" in err.value.reason


def test_class_from_dict_refuses_another_design() -> None:
    with pytest.raises(InputError) as err:
        BOIN.from_dict({"design": "crm", "num_doses": 3, "target": 0.3})
    assert err.value.field == "design"
    assert "'crm'" in err.value.reason and "'boin'" in err.value.reason
    crm = CRM.from_dict({"num_doses": 3, "target": 0.3, "skeleton": [0.1, 0.2, 0.3]})
    assert isinstance(crm, CRM)
