"""Former location of :mod:`doseladder.simulate.protocol.results` (kept so old imports work)."""

from __future__ import annotations

from doseladder.simulate.protocol.results import *  # noqa: F403
from doseladder.simulate.protocol.results import __all__ as __all__
