"""The backfill cap (BF-BOIN's C3) for many trials at once: :func:`backfill_room_arrays`.

The array form of :func:`doseladder.core.designs.backfill_cap.backfill_room` (both readings of
``cap_rule``: ``bfboin`` -- a dose can reach ``n_cap + 1`` -- and ``at_most``), proven equal to
it by random testing (``tests/core/designs/arrays/test_backfill_cap.py``).  The limit per dose
is the scalar module's :func:`~doseladder.core.designs.backfill_cap.cap_limit`.
"""

from __future__ import annotations

import numpy as np

from doseladder.core.designs.arrays.interface import BoolArray, IntArray
from doseladder.core.designs.backfill_cap import cap_limit

__all__ = ["backfill_room_arrays", "cap_allows_arrays"]


def backfill_room_arrays(enrolled: IntArray, n_cap: int, cap_rule: str) -> IntArray:
    """Backfill patients each dose of each trial may still take (``enrolled``: (J, R) patients
    there, escalation and backfill, pending included); 0 = closed by the cap."""
    limit = cap_limit(n_cap, cap_rule)
    return np.asarray(np.maximum(limit - enrolled, 0), dtype=np.int64)


def cap_allows_arrays(enrolled: IntArray, n_cap: int, cap_rule: str) -> BoolArray:
    """(J, R) C3: the dose may take another backfill patient."""
    return np.asarray(backfill_room_arrays(enrolled, n_cap, cap_rule) > 0, dtype=np.bool_)
