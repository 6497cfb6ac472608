"""Former location of :mod:`doseladder.simulate.protocol.plan_rules` (kept so old imports work)."""

from __future__ import annotations

from doseladder.simulate.protocol.plan_rules import *  # noqa: F403
from doseladder.simulate.protocol.plan_rules import __all__ as __all__
