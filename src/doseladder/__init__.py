"""doseladder: design, simulate and run early-phase dose-finding trials.

The names users reach for first, importable from the top level (each is loaded on first use,
so ``import doseladder`` -- and the command line's start-up -- stays light):

* designs: :class:`BOIN`, :class:`BOIN12`, :class:`TITEBOIN`, :class:`TITEBOIN12`,
  :class:`CRM`, :class:`TITECRM`, :class:`BFBOIN`, :class:`Keyboard`, :class:`MTPI2`,
  :class:`I3P3`, :class:`ThreePlusThree` (:mod:`doseladder.core.designs`);
* trial data and decisions: :class:`TrialState`, :class:`Patient`, :func:`decide`,
  :func:`select` (:mod:`doseladder.core`);
* protocols: :func:`load_protocol`, :func:`load_shipped`, :func:`recommend` and
  :class:`EscalationPlan` (:mod:`doseladder.protocols`, :mod:`doseladder.core.rules`);
* files: :func:`load_design`, :func:`load_scenarios` (:mod:`doseladder.io`);
* simulation: :class:`Scenario`, :func:`compare`, :func:`simulate_protocol`
  (:mod:`doseladder.simulate`; the design simulation itself is
  ``doseladder.simulate.simulate`` -- ``doseladder.simulate`` is the subpackage).

Every input error is a :class:`InputError` naming the field and the reason.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> module that defines it (imported on first access)
_EXPORTS: dict[str, str] = {
    **{
        name: "doseladder.core.designs"
        for name in (
            "BFBOIN",
            "BOIN",
            "BOIN12",
            "CRM",
            "I3P3",
            "MTPI2",
            "TITEBOIN",
            "TITEBOIN12",
            "TITECRM",
            "Design",
            "Keyboard",
            "ThreePlusThree",
        )
    },
    "Decision": "doseladder.core.decision",
    "InputError": "doseladder.core.errors",
    "Patient": "doseladder.core.state",
    "TrialState": "doseladder.core.state",
    "Selection": "doseladder.core.selection",
    "decide": "doseladder.core",
    "select": "doseladder.core",
    "EscalationPlan": "doseladder.core.rules",
    "recommend": "doseladder.core.rules",
    "load_protocol": "doseladder.protocols",
    "load_shipped": "doseladder.protocols",
    "load_design": "doseladder.io.design_file",
    "load_scenarios": "doseladder.io.scenario_file",
    "Scenario": "doseladder.simulate",
    "compare": "doseladder.simulate",
    "simulate_protocol": "doseladder.simulate",
}

__all__ = [
    "BFBOIN",
    "BOIN",
    "BOIN12",
    "CRM",
    "I3P3",
    "MTPI2",
    "TITEBOIN",
    "TITEBOIN12",
    "TITECRM",
    "Decision",
    "Design",
    "EscalationPlan",
    "InputError",
    "Keyboard",
    "Patient",
    "Scenario",
    "Selection",
    "ThreePlusThree",
    "TrialState",
    "__version__",
    "compare",
    "decide",
    "load_design",
    "load_protocol",
    "load_scenarios",
    "load_shipped",
    "recommend",
    "select",
    "simulate_protocol",
]
assert set(__all__) == {"__version__", *_EXPORTS}

if TYPE_CHECKING:
    from doseladder.core import decide, select
    from doseladder.core.decision import Decision
    from doseladder.core.designs import (
        BFBOIN,
        BOIN,
        BOIN12,
        CRM,
        I3P3,
        MTPI2,
        TITEBOIN,
        TITEBOIN12,
        TITECRM,
        Design,
        Keyboard,
        ThreePlusThree,
    )
    from doseladder.core.errors import InputError
    from doseladder.core.rules import EscalationPlan, recommend
    from doseladder.core.selection import Selection
    from doseladder.core.state import Patient, TrialState
    from doseladder.io.design_file import load_design
    from doseladder.io.scenario_file import load_scenarios
    from doseladder.protocols import load_protocol, load_shipped
    from doseladder.simulate import Scenario, simulate_protocol
    from doseladder.simulate.engine import compare


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'doseladder' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
