"""The data types of the array decision functions (see :mod:`doseladder.core.designs.arrays`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from doseladder.core.state import TrialState

__all__ = [
    "ACTION_NAMES",
    "DEESCALATE",
    "ESCALATE",
    "STAY",
    "STOP",
    "SUSPEND",
    "ArrayDecision",
    "BoolArray",
    "DoseArrays",
    "FloatArray",
    "IntArray",
    "PatientArrays",
    "pick",
    "upward",
]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: action codes of :class:`ArrayDecision` (as :class:`~doseladder.core.decision.Action`)
STAY, ESCALATE, DEESCALATE, SUSPEND, STOP = 0, 1, 2, 3, 4
#: code -> ``Action.value``
ACTION_NAMES = {STAY: "stay", ESCALATE: "escalate", DEESCALATE: "de-escalate",
                SUSPEND: "suspend", STOP: "stop"}  # fmt: skip


def pick(values: NDArray[Any], dose: IntArray) -> NDArray[Any]:
    """``values[dose[r], r]`` for every trial r of a dose-major array (``dose`` in 0..J-1)."""
    rows = values.shape[1]
    return np.asarray(np.take(values.reshape(-1), dose * rows + _arange(rows)))


@lru_cache(maxsize=16)
def _arange(rows: int) -> IntArray:
    out = np.arange(rows, dtype=np.int64)
    out.setflags(write=False)
    return out


def upward(mask: BoolArray) -> BoolArray:
    """Upward closure along the dose axis (eliminating dose j eliminates j..J)."""
    out = np.array(mask, dtype=np.bool_)
    for j in range(1, out.shape[0]):
        out[j] |= out[j - 1]
    return out


@dataclass(frozen=True, slots=True)
class PatientArrays:
    """Each trial's patients at its decision time, for time-to-event designs.

    (R, W) arrays in order of entry; columns that are not part of a trial's state carry the
    phantom dose level J (0-based), which every per-dose tally drops.

    Attributes:
        dose: 0-based dose levels (J = not a patient).
        entry: entry times.
        tox_at, eff_at: times at which the DLT / efficacy outcome is ascertained (the event
            time, or entry + window without event).
        tox, eff: whether a DLT / response occurs (read only where ascertained by ``now``).
        now: (R,) decision times (``inf`` = every outcome known).
        backfill: backfill patients (BF-BOIN; ``None`` = every patient is an escalation
            patient).
    """

    dose: IntArray
    entry: FloatArray
    tox_at: FloatArray
    eff_at: FloatArray
    tox: BoolArray
    eff: BoolArray
    now: FloatArray
    backfill: BoolArray | None = None

    @staticmethod
    def from_states(states: Sequence[TrialState], now: Sequence[float]) -> PatientArrays:
        """The patients of trial states at their decision times ``now`` -- for tests and for
        callers holding a few states.  A known outcome is ascertained at ``-inf``, a pending
        one (``None``) at ``+inf``."""
        num = states[0].num_doses
        rows = len(states)
        width = max((len(st.patients) for st in states), default=0)
        dose = np.full((rows, width), num, dtype=np.int64)
        entry = np.zeros((rows, width))
        tox_at = np.full((rows, width), -np.inf)
        eff_at = np.full((rows, width), -np.inf)
        tox = np.zeros((rows, width), dtype=np.bool_)
        eff = np.zeros((rows, width), dtype=np.bool_)
        for r, st in enumerate(states):
            for i, p in enumerate(st.patients):
                dose[r, i] = p.dose - 1
                entry[r, i] = p.entry_time
                tox[r, i] = p.tox is True
                eff[r, i] = p.eff is True
                if p.tox is None:
                    tox_at[r, i] = np.inf
                if p.eff is None:
                    eff_at[r, i] = np.inf
        return PatientArrays(
            dose, entry, tox_at, eff_at, tox, eff, np.asarray(now, dtype=np.float64)
        )

    def take(self, sel: BoolArray | IntArray) -> PatientArrays:
        """The patients of a subset of trials."""
        return PatientArrays(
            self.dose[sel],
            self.entry[sel],
            self.tox_at[sel],
            self.eff_at[sel],
            self.tox[sel],
            self.eff[sel],
            self.now[sel],
            None if self.backfill is None else self.backfill[sel],
        )


@dataclass(frozen=True, slots=True)
class DoseArrays:
    """What a design reads from R trial states, dose-major (the array form of
    :meth:`TrialState.counts <doseladder.core.state.TrialState.counts>`).

    Attributes:
        n: (J, R) patients treated per dose (pending outcomes included).
        tox: (J, R) observed DLTs.
        tox_pending: (J, R) patients whose DLT outcome is pending.
        eff: (J, R) observed responses (zeros for phase I designs).
        eff_pending: (J, R) patients whose efficacy outcome is pending.
        both: (J, R) patients with an observed DLT *and* an observed response (phase I/II
            designs; zeros otherwise).
        current: (R,) ``state.current_dose`` (0-based; meaningless where nobody is treated).
        eliminated: (J, R) ``state.eliminated`` (doses eliminated earlier in the trial).
        patients: per-patient data at the decision time (time-to-event designs only).
    """

    n: IntArray
    tox: IntArray
    tox_pending: IntArray
    eff: IntArray
    eff_pending: IntArray
    both: IntArray
    current: IntArray
    eliminated: BoolArray
    patients: PatientArrays | None = None

    @property
    def num_doses(self) -> int:
        return int(self.n.shape[0])

    @property
    def rows(self) -> int:
        return int(self.n.shape[1])

    @staticmethod
    def complete(
        n: IntArray, tox: IntArray, current: IntArray, eliminated: BoolArray | None = None
    ) -> DoseArrays:
        """Complete-data DLT counts (nothing pending, no efficacy)."""
        zeros = np.zeros_like(n)
        elim = np.zeros(n.shape, dtype=np.bool_) if eliminated is None else eliminated
        return DoseArrays(n, tox, zeros, zeros, zeros, zeros, current, elim)

    def take(self, sel: BoolArray | IntArray) -> DoseArrays:
        """The data of a subset of trials."""
        return DoseArrays(
            self.n[:, sel],
            self.tox[:, sel],
            self.tox_pending[:, sel],
            self.eff[:, sel],
            self.eff_pending[:, sel],
            self.both[:, sel],
            self.current[sel],
            self.eliminated[:, sel],
            None if self.patients is None else self.patients.take(sel),
        )

    @staticmethod
    def from_states(states: Sequence[TrialState]) -> DoseArrays:
        """Stack trial states (same ``num_doses``, complete-data view) -- for tests and for
        callers holding a few states."""
        num = states[0].num_doses
        rows = len(states)
        n, tox, tp, eff, ep, both = (np.zeros((num, rows), dtype=np.int64) for _ in range(6))
        current = np.zeros(rows, dtype=np.int64)
        elim = np.zeros((num, rows), dtype=np.bool_)
        for r, st in enumerate(states):
            for p in st.patients:
                k = p.dose - 1
                n[k, r] += 1
                tox[k, r] += p.tox is True
                tp[k, r] += p.tox is None
                eff[k, r] += p.eff is True
                ep[k, r] += p.eff is None
                both[k, r] += (p.tox is True) and (p.eff is True)
            current[r] = (st.current_dose or 1) - 1
            for d in st.eliminated:
                elim[d - 1, r] = True
        return DoseArrays(n, tox, tp, eff, ep, both, current, elim)


@dataclass(frozen=True, slots=True)
class ArrayDecision:
    """The array form of a :class:`~doseladder.core.decision.Decision`.

    Attributes:
        action: (R,) action codes (``STAY`` ... ``STOP``).
        next_dose: (R,) 0-based next dose; -1 = ``None`` (a stop without a dose).
        eliminated: (J, R) ``decision.eliminated``.
        tox_deesc: (R,) ``decision.reason.rule`` is a toxicity de-escalation rule.
    """

    action: IntArray
    next_dose: IntArray
    eliminated: BoolArray
    tox_deesc: BoolArray

    @staticmethod
    def empty(num: int, rows: int) -> ArrayDecision:
        return ArrayDecision(
            np.zeros(rows, dtype=np.int64),
            np.full(rows, -1, dtype=np.int64),
            np.zeros((num, rows), dtype=np.bool_),
            np.zeros(rows, dtype=np.bool_),
        )

    def put(self, sel: BoolArray, part: ArrayDecision) -> None:
        """Write ``part`` (the decisions of the trials ``sel``) into this decision."""
        self.action[sel] = part.action
        self.next_dose[sel] = part.next_dose
        self.eliminated[:, sel] = part.eliminated
        self.tox_deesc[sel] = part.tox_deesc
