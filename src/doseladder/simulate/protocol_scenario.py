"""Former location of :mod:`doseladder.simulate.protocol.scenario` (kept so old imports work)."""

from __future__ import annotations

from doseladder.simulate.protocol.scenario import *  # noqa: F403
from doseladder.simulate.protocol.scenario import __all__ as __all__
