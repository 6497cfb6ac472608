"""One vectorised simulation kernel per design.

A kernel is ``kernel(design, outcomes) -> TrialArrays``: it runs every trial of a block at
once (loops over cohorts/decision times, never over trials).  Each kernel is tested to take
the same decisions as the core's ``decide()`` on the histories it simulates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from doseladder.core.designs import Design
from doseladder.core.errors import InputError

if TYPE_CHECKING:
    from doseladder.simulate.latent import PatientDraws
    from doseladder.simulate.results import TrialArrays

__all__ = ["Kernel", "kernel_for"]

Kernel = Callable[[Any, "PatientDraws"], "TrialArrays"]


def kernel_for(design: Design) -> Kernel:
    """The simulation kernel for ``design`` (raises :class:`InputError` if none)."""
    name = design.name
    if name == "boin":
        from doseladder.simulate.kernels.boin import simulate_boin

        return cast(Kernel, simulate_boin)
    if name == "3+3":
        from doseladder.simulate.kernels.three_plus_three import simulate_three_plus_three

        return cast(Kernel, simulate_three_plus_three)
    if name == "boin12":
        from doseladder.simulate.kernels.boin12 import simulate_boin12

        return cast(Kernel, simulate_boin12)
    if name == "tite-boin":
        from doseladder.simulate.kernels.tite_boin import simulate_tite_boin

        return cast(Kernel, simulate_tite_boin)
    if name == "tite-boin12":
        from doseladder.simulate.kernels.tite_boin12 import simulate_tite_boin12

        return cast(Kernel, simulate_tite_boin12)
    if name == "crm":
        from doseladder.simulate.kernels.crm import simulate_crm

        return cast(Kernel, simulate_crm)
    if name == "tite-crm":
        from doseladder.simulate.kernels.tite_crm import simulate_tite_crm

        return cast(Kernel, simulate_tite_crm)
    if name == "bf-boin":
        from doseladder.simulate.kernels.bf_boin import simulate_bf_boin

        return cast(Kernel, simulate_bf_boin)
    if name in ("keyboard", "mtpi2", "i3+3"):
        from doseladder.simulate.kernels.cohort_designs import simulate_cohort_design

        return cast(Kernel, simulate_cohort_design)
    raise InputError("design", f"no simulation kernel for design {name!r}")
