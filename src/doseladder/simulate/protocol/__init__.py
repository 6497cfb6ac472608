"""Simulation of whole protocols (escalation plan, fallback, indications, safety monitor).

Modules:

* :mod:`.scenario`   -- :class:`ProtocolScenario`: true probabilities and accrual per indication;
* :mod:`.plan_rules` -- the protocol rules of :func:`doseladder.core.rules.plan.recommend` on
  arrays over many trials (proven equal to the core by random testing);
* :mod:`.simulation` -- :func:`simulate_protocol`: trials in time, blocks, processes or Dask;
* :mod:`.results`    -- :class:`ProtocolSimulationResult`: tidy OCs per indication with
  Monte-Carlo standard errors.

The former flat modules ``doseladder.simulate.protocol_results``,
``doseladder.simulate.protocol_scenario`` and ``doseladder.simulate.plan_kernels`` still import
(they re-export these modules' names).
"""

from __future__ import annotations

from doseladder.simulate.protocol.results import (
    CLOSE_CAP,
    CLOSE_FULL,
    CLOSE_SAFETY,
    CLOSE_STOP,
    CLOSE_STUCK,
    ProtocolContext,
    ProtocolSimulationResult,
    ProtocolStats,
    block_stats,
    protocol_context,
)
from doseladder.simulate.protocol.scenario import (
    ALL,
    IndicationTruth,
    ProtocolScenario,
    shipped_scenario_path,
)
from doseladder.simulate.protocol.simulation import (
    ProtocolBlock,
    ProtocolSetup,
    TraceStep,
    simulate_protocol,
    simulate_protocol_block,
)

__all__ = [
    "ALL",
    "CLOSE_CAP",
    "CLOSE_FULL",
    "CLOSE_SAFETY",
    "CLOSE_STOP",
    "CLOSE_STUCK",
    "IndicationTruth",
    "ProtocolBlock",
    "ProtocolContext",
    "ProtocolScenario",
    "ProtocolSetup",
    "ProtocolSimulationResult",
    "ProtocolStats",
    "TraceStep",
    "block_stats",
    "protocol_context",
    "shipped_scenario_path",
    "simulate_protocol",
    "simulate_protocol_block",
]
