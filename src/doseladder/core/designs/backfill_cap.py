"""The backfill cap (condition C3 of BF-BOIN, spec ``backfill.md`` §4): one rule, two readings.

A dose below the escalation dose stays open for backfill only while the patients treated there
(escalation plus enrolled backfill patients, pending ones included) are within ``n_cap``.  The
sources read "within" two ways, and reasonable people differ, so it is a named option
``cap_rule``:

* ``bfboin`` -- the R package bfboin 0.1.1 (``R/bf_boin_oc.R``, ``sim.one.trial``; Zhao et
  al., Clin Cancer Res 2024): a backfill patient may join dose j while ``enrolled_j <= n_cap``
  *before* enrolling, so a dose can reach ``n_cap + 1`` patients.  This is the reading that
  reproduces the published operating characteristics exactly.
* ``at_most`` -- the simFastBOIN engine (spec ``backfill.md`` §4 [sFB]: total < ``n_cap``
  before enrolling): never more than ``n_cap`` patients at a dose.  This is how a protocol's
  "a cap of 12 patients per backfill dose" reads to a site or a DSMB.

Defaults (documented in ``docs/designs.md`` and ``docs/protocols.md``): the BF-BOIN / BE-BOIN
*design* defaults to ``bfboin`` (the design is the reference package's; its OCs are reproduced
to the patient), a protocol's ``rules.backfill`` defaults to ``at_most`` (the protocol text is
what the trial runs).  Whatever the setting, every consumer reads it from here: the design's
C3 (scalar :func:`~doseladder.core.designs.bf_boin.backfill_open` and array
:func:`~doseladder.core.designs.arrays.bf_boin.backfill_open_arrays`, hence every simulation),
the conduct service's backfill slots (:func:`~doseladder.core.rules.cohort_slots.
backfill_slots`), the largest possible trial (``BFBOIN.n_max``) and the protocol texts
(:func:`describe_cap`).

The array form is :func:`doseladder.core.designs.arrays.backfill_cap.backfill_room_arrays`,
proven equal to :func:`backfill_room` by random testing.
"""

from __future__ import annotations

from doseladder.core.errors import InputError

__all__ = [
    "CAP_RULES",
    "backfill_room",
    "cap_allows",
    "cap_limit",
    "cap_reason",
    "cap_summary",
    "check_cap_rule",
    "describe_cap",
]

#: the readings of the cap (module docstring)
CAP_RULES = ("bfboin", "at_most")


def check_cap_rule(value: object, field: str = "cap_rule") -> None:
    """Raise :class:`InputError` naming ``field`` unless ``value`` is one of :data:`CAP_RULES`."""
    if value not in CAP_RULES:
        raise InputError(field, f"must be one of {', '.join(CAP_RULES)}, got {value!r}")


def cap_limit(n_cap: int, cap_rule: str) -> int:
    """The most patients a dose can hold through backfill: ``n_cap + 1`` under ``bfboin``
    (the test ``<= n_cap`` is made before enrolling), ``n_cap`` under ``at_most``."""
    check_cap_rule(cap_rule)
    return n_cap + 1 if cap_rule == "bfboin" else n_cap


def backfill_room(enrolled: int, n_cap: int, cap_rule: str) -> int:
    """How many more backfill patients dose j may take under the cap, given ``enrolled``
    patients there now (escalation and backfill, pending included); 0 = closed by C3."""
    return max(0, cap_limit(n_cap, cap_rule) - enrolled)


def cap_allows(enrolled: int, n_cap: int, cap_rule: str) -> bool:
    """C3: whether a dose with ``enrolled`` patients may take another backfill patient."""
    return backfill_room(enrolled, n_cap, cap_rule) > 0


def cap_reason(dose: str, enrolled: int, n_cap: int, cap_rule: str) -> str:
    """C3 at one dose in words (``dose``: its label), e.g. for a refused backfill enrolment."""
    left = backfill_room(enrolled, n_cap, cap_rule)
    rule = (
        f"open while it has at most {n_cap} patients before a backfill patient is added, so up "
        f"to {n_cap + 1} (bfboin)"
        if cap_rule == "bfboin"
        else f"never more than {n_cap} patients"
    )
    state = (
        "the backfill cap is reached"
        if left == 0
        else f"{left} more backfill patient(s) may be treated there"
    )
    return f"{dose} has {enrolled} patient(s), escalation and backfill ({rule}): {state}"


def describe_cap(n_cap: int, cap_rule: str, who: str = "patients") -> str:
    """The cap as protocol text (a clause: "which has ..."), ``who``: patients / subjects."""
    if cap_rule == "bfboin":
        return (
            f"which has at most {n_cap} {who} (escalation plus backfill, pending included) "
            f"before the new {who.removesuffix('s')} is added, so that a dose can reach "
            f"{n_cap + 1} {who} (the cap test of the R package bfboin)"
        )
    check_cap_rule(cap_rule)
    return (
        f"which has fewer than {n_cap} {who} (escalation plus backfill, pending included), so "
        f"that no dose ever has more than {n_cap} {who}"
    )


def cap_summary(n_cap: int, cap_rule: str, who: str = "patients") -> str:
    """The cap in a few words, for the slots page and the flowchart."""
    if cap_rule == "bfboin":
        return (
            f"a dose takes backfill {who} while it has ≤ {n_cap} {who}, escalation and "
            f"backfill (bfboin: up to {n_cap + 1} per dose)"
        )
    check_cap_rule(cap_rule)
    return f"at most {n_cap} {who} per dose, escalation and backfill"
