"""Array decision functions: each design's rules for many trials at once.

This is the *one* executable form of a design's rules that simulation uses -- the design's own
simulation kernel (:mod:`doseladder.simulate.kernels`) and protocol simulation
(:mod:`doseladder.simulate.protocol.plan_rules`) both call it; neither re-writes a rule.  The scalar
:meth:`Design.decide <doseladder.core.designs.base.Design.decide>` stays the readable
reference that explains itself with reasons; the array function must take the same decision
on every history, which ``tests/core/designs/arrays/test_<design>.py`` checks by random
testing (hypothesis: random parameters, every option, random histories).

The interface (the pattern for every design)
============================================

One module per design in this package, ``arrays/<design>.py``, holding two functions::

    def decide_<design>(design, data: DoseArrays) -> ArrayDecision
    def select_<design>(design, data: DoseArrays) -> IntArray        # 1-based, 0 = none

and the design class wires them into two methods of
:class:`~doseladder.core.designs.base.Design` (importing the module lazily, so that the core
keeps one import direction: ``arrays/<design>.py`` imports ``designs/<design>.py``, never the
reverse at import time)::

    def _decide_arrays(self, data): return decide_<design>(self, data)
    def select_arrays(self, data):  return select_<design>(self, data)

Callers use ``design.decide_arrays(data)`` (the base handles trials with nobody treated yet:
the start decision, as :meth:`Design.decide`) and ``design.select_arrays(data)``.

Conventions:

* **Dose-major**: every per-dose array is ``(J, R)`` -- J dose levels, R trials -- and every
  per-trial array ``(R,)``.  Doses are **0-based** inside arrays; "no dose" is ``-1``.
* :class:`DoseArrays` are the per-dose tallies of :meth:`TrialState.counts
  <doseladder.core.state.TrialState.counts>` (``n`` counts pending patients too; ``tox`` and
  ``eff`` count *observed* events only), plus ``current`` (``state.current_dose``) and
  ``eliminated`` (``state.eliminated``).  Time-to-event designs also need each patient's
  follow-up at the decision time; they receive a :class:`PatientArrays` in ``patients``
  (``patients.now`` = each trial's decision time).  It must hold at least every patient with
  a pending outcome; patients whose outcomes are all known may be left out (the per-dose
  counts carry them), which the TITE kernels use to pass only their recent patients.
* :class:`ArrayDecision` is what callers read from a :class:`~doseladder.core.decision.Decision`:
  ``action`` (the codes below, as :class:`~doseladder.core.decision.Action`), ``next_dose``,
  ``eliminated`` and ``tox_deesc`` -- whether ``reason.rule`` is a toxicity de-escalation
  (:data:`~doseladder.core.rules.driving_indication.TOXICITY_DEESCALATION_RULES`), which the
  protocol rules read.
* Pure functions of their arguments: no randomness, no I/O, no per-trial Python loop (loops
  run over doses only).  Tables that depend only on the design (boundaries by n) are built once
  with the core's scalar functions and cached.
"""

from __future__ import annotations

from doseladder.core.designs.arrays.interface import (
    ACTION_NAMES,
    DEESCALATE,
    ESCALATE,
    STAY,
    STOP,
    SUSPEND,
    ArrayDecision,
    BoolArray,
    DoseArrays,
    FloatArray,
    IntArray,
    PatientArrays,
    pick,
    upward,
)

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
