"""Vectorised simulation of operating characteristics (OC).

Layout:

* :mod:`.scenario` -- true probabilities, association, event-time and accrual models;
* :mod:`.latent`   -- per-trial random numbers (common random numbers across designs);
* :mod:`.seeding`  -- one root seed → a ``SeedSequence`` per (scenario, block of trials);
* :mod:`.kernels`  -- one vectorised kernel per design, proven equal to the core's ``decide``;
* :mod:`.results`  -- tidy per-dose / per-trial summaries with Monte-Carlo standard errors;
* :mod:`.engine`   -- orchestration: blocks, local processes or a Dask cluster;
* :mod:`.protocol` -- simulation of a whole protocol (escalation plan, fallback, indications).

The decision rules themselves live in the core (:mod:`doseladder.core.designs.arrays`).
"""

from __future__ import annotations

from doseladder.simulate.compare import Comparison
from doseladder.simulate.engine import compare, simulate
from doseladder.simulate.protocol import ProtocolSimulationResult, simulate_protocol
from doseladder.simulate.results import SimulationResult
from doseladder.simulate.scenario import Accrual, EventTimeModel, Scenario

__all__ = [
    "Accrual",
    "Comparison",
    "EventTimeModel",
    "ProtocolSimulationResult",
    "Scenario",
    "SimulationResult",
    "compare",
    "simulate",
    "simulate_protocol",
]
