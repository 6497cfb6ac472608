"""What every design provides.  One module per design implements this interface.

A design is a frozen, validated dataclass of parameters.  It never holds trial data: data
arrive as a :class:`~doseladder.core.state.TrialState` and every method is a pure function of
its arguments.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from doseladder.core.decision import Action, Decision, Reason
from doseladder.core.designs.arrays.interface import (
    STAY,
    ArrayDecision,
    BoolArray,
    DoseArrays,
    IntArray,
)
from doseladder.core.errors import InputError
from doseladder.core.selection import Selection
from doseladder.core.state import TrialState

if TYPE_CHECKING:
    import pandas as pd  # only tables() builds frames (deferred: CLI start-up)

__all__ = ["Design", "check_int", "check_prob"]


def check_int(name: str, value: object, lo: int, hi: int | None = None) -> None:
    """Raise :class:`InputError` unless ``lo <= value <= hi`` is an integer."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(name, f"must be an integer, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise InputError(name, f"must be in {rng}, got {value}")


def check_prob(
    name: str,
    value: object,
    lo: float = 0.0,
    hi: float = 1.0,
    *,
    open_lo: bool = True,
    open_hi: bool = True,
) -> None:
    """Raise :class:`InputError` unless ``value`` is a number in the given interval."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(name, f"must be a number, got {value!r}")
    v = float(value)
    bad = (v <= lo if open_lo else v < lo) or (v >= hi if open_hi else v > hi)
    if bad or v != v:
        left = "(" if open_lo else "["
        right = ")" if open_hi else "]"
        raise InputError(name, f"must be in {left}{lo:g}, {hi:g}{right}, got {value!r}")


class Design(ABC):
    """Base class of all designs (each concrete design is a frozen dataclass).

    Common parameters (validated by :meth:`_validate_common`):
        num_doses: number of dose levels J.
        start_dose: dose level for the first cohort (1-based).
        cohort_size: patients per cohort.
        max_n: maximum sample size; the trial stops once ``max_n`` patients are treated.
    """

    #: the ``design`` key in design files
    name: ClassVar[str]
    #: ``"mtd"`` or ``"obd"``
    target_kind: ClassVar[str]
    #: whether decisions use follow-up time of pending patients (TITE designs)
    time_to_event: ClassVar[bool] = False
    #: whether the design uses efficacy outcomes (phase I/II)
    uses_efficacy: ClassVar[bool] = False
    #: the design has backfill cohorts (BF-BOIN); other designs refuse backfill patients
    backfill_cohorts: ClassVar[bool] = False

    if TYPE_CHECKING:  # common fields, declared by every concrete design
        num_doses: int
        start_dose: int
        cohort_size: int
        max_n: int

    def _validate_common(self) -> None:
        check_int("num_doses", self.num_doses, 1, 100)
        check_int("start_dose", self.start_dose, 1, self.num_doses)
        check_int("cohort_size", self.cohort_size, 1, 100)
        check_int("max_n", self.max_n, 1, 10_000)

    # ------------------------------------------------------------ interface
    def decide(self, state: TrialState, now: float | None = None) -> Decision:
        """Next-dose decision for ``state`` at time ``now`` (needed by TITE designs)."""
        self.check_state(state, now)
        if state.n_patients == 0:
            start = self.start_dose
            return Decision(
                Action.STAY,
                None,
                start,
                Reason(
                    "start",
                    f"No patient treated yet: start at dose {start}.",
                    {"start_dose": start},
                ),
                eliminated=state.eliminated,
            )
        return self._decide(state, now)

    @abstractmethod
    def _decide(self, state: TrialState, now: float | None) -> Decision:
        """Design-specific decision on a validated, non-empty state."""

    def decide_arrays(self, data: DoseArrays) -> ArrayDecision:
        """:meth:`decide` for many trials at once (the array form; see
        :mod:`doseladder.core.designs.arrays`).  Trials with nobody treated get the start
        decision; the others go to the design's :meth:`_decide_arrays`."""
        out = ArrayDecision.empty(data.num_doses, data.rows)
        if data.rows == 0:
            return out
        empty: BoolArray = np.asarray(data.n.sum(axis=0) == 0)
        if not empty.any():
            return self._decide_arrays(data)
        out.action[empty] = STAY
        out.next_dose[empty] = self.start_dose - 1
        out.eliminated[:, empty] = data.eliminated[:, empty]
        some = ~empty
        if some.any():
            out.put(some, self._decide_arrays(data.take(some)))
        return out

    def _decide_arrays(self, data: DoseArrays) -> ArrayDecision:
        """Design-specific array decision on trials with at least one patient."""
        raise InputError("design", f"the {self.name} design has no array decision function yet")

    def select_arrays(self, data: DoseArrays) -> IntArray:
        """:meth:`select` for many trials with complete data: the selected dose (1-based,
        0 = none) of each trial."""
        raise InputError("design", f"the {self.name} design has no array selection function yet")

    @abstractmethod
    def select(self, state: TrialState) -> Selection:
        """Final dose selection (MTD or OBD) with per-dose estimates, on complete data."""

    @abstractmethod
    def tables(self) -> dict[str, pd.DataFrame]:
        """The design's decision tables as tidy DataFrames, keyed by table name."""

    @abstractmethod
    def describe(self) -> str:
        """The design's rules as protocol text (plain English, with citations)."""

    # -------------------------------------------------------------- helpers
    def check_state(self, state: TrialState, now: float | None) -> None:
        """Validate that ``state`` fits this design (dose range; no event after ``now``)."""
        if not isinstance(state, TrialState):
            raise InputError("state", "must be a TrialState")
        if state.num_doses != self.num_doses:
            raise InputError(
                "num_doses",
                f"the trial state has {state.num_doses} dose levels "
                f"but the design has {self.num_doses}",
            )
        if self.time_to_event and now is None and state.any_pending(efficacy=self.uses_efficacy):
            raise InputError("now", "a decision time is required when outcomes are pending")
        state.validate_at(now)
        self.check_cohorts(state)

    def check_cohorts(self, state: TrialState) -> None:
        """Refuse backfill patients unless the design has backfill cohorts: a design without
        them would silently count a backfill patient as an escalation patient (and take the
        current dose from them).  A protocol's backfill rule decides with a BF-BOIN design."""
        if self.backfill_cohorts:
            return
        for i, p in enumerate(state.patients):
            if p.backfill:
                raise InputError(
                    f"patients[{i}].backfill",
                    f"the {self.name} design has no backfill cohorts (use design: bf-boin, or a "
                    "protocol's backfill rule)",
                )

    def to_dict(self) -> dict[str, Any]:
        """Parameters as a plain dict with the ``design`` key (round-trips through files)."""
        assert is_dataclass(self)
        return {"design": self.name, **asdict(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Design:
        """The design described by ``data`` (the inverse of :meth:`to_dict`; a design file's
        mapping), looked up by its ``design`` key in the registry
        (:func:`~doseladder.core.designs.registry.design_from_mapping`).

        On a design class (``BOIN.from_dict({...})``) the ``design`` key may be left out; if
        given it must name that class.

        Raises:
            InputError: naming the key and the reason; an unknown design name lists the known
                designs.
        """
        from doseladder.core.designs.registry import design_class, design_from_mapping

        if not isinstance(data, Mapping):
            raise InputError("design", "must be a mapping of parameters with a 'design' key")
        if cls is not Design and getattr(cls, "name", None):
            data = {"design": cls.name, **data}
            if design_class(data["design"]) is not cls:
                raise InputError("design", f"names the design {data['design']!r}, not {cls.name!r}")
        return design_from_mapping(data)
