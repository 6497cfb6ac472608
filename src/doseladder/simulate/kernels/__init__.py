"""One vectorised simulation kernel per design.

A kernel is ``kernel(design, outcomes) -> TrialArrays``: it runs every trial of a block at
once (loops over cohorts/decision times, never over trials).  Each kernel is tested to take
the same decisions as the core's ``decide()`` on the histories it simulates.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any, cast

from doseladder.core.designs import Design
from doseladder.core.errors import InputError

if TYPE_CHECKING:
    from doseladder.simulate.latent import PatientDraws
    from doseladder.simulate.results import TrialArrays

__all__ = ["KERNELS", "Kernel", "kernel_for"]

Kernel = Callable[[Any, "PatientDraws"], "TrialArrays"]


#: design name -> (kernel module under ``doseladder.simulate.kernels``, kernel function);
#: imported on first use, so that a command loads only the kernels it runs
KERNELS: dict[str, tuple[str, str]] = {
    "boin": ("boin", "simulate_boin"),
    "3+3": ("three_plus_three", "simulate_three_plus_three"),
    "boin12": ("boin12", "simulate_boin12"),
    "tite-boin": ("tite_boin", "simulate_tite_boin"),
    "tite-boin12": ("tite_boin12", "simulate_tite_boin12"),
    "crm": ("crm", "simulate_crm"),
    "keyboard": ("cohort_designs", "simulate_cohort_design"),
    "mtpi2": ("cohort_designs", "simulate_cohort_design"),
    "i3+3": ("cohort_designs", "simulate_cohort_design"),
    "tite-crm": ("tite_crm", "simulate_tite_crm"),
    "bf-boin": ("bf_boin", "simulate_bf_boin"),
    "be-boin": ("bf_boin", "simulate_be_boin"),
}


def kernel_for(design: Design) -> Kernel:
    """The simulation kernel for ``design`` (raises :class:`InputError` on ``design``, listing
    the designs that can be simulated, if there is none)."""
    entry = KERNELS.get(design.name)
    if entry is None:
        raise InputError(
            "design",
            f"no simulation kernel for design {design.name!r}; designs that can be simulated: "
            f"{', '.join(sorted(KERNELS))}",
        )
    module, function = entry
    return cast(Kernel, getattr(import_module(f"{__name__}.{module}"), function))
