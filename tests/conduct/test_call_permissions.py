"""Who may make which call: only a statistician confirms or overrides a proposed DLT call and
computes the final selection; an investigator or the statistician confirms or overrides a
proposed response.  Every refusal is a 403 naming the role, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from doseladder.conduct.errors import Forbidden
from doseladder.conduct.services import final_selection as fs
from doseladder.conduct.services import outcomes

from .conftest import BOIN, World

BOIN12 = {
    "design": "boin12",
    "num_doses": 3,
    "phi_t": 0.35,
    "phi_e": 0.25,
    "cohort_size": 3,
    "max_n": 12,
}
ITP = {"platelets": 120, "unit": "10^9/L", "baseline_platelets": 20}


def _enrolled(world: World, protocol: dict[str, Any]) -> tuple[int, int]:
    tid = world.trial(protocol)
    d = world.decide(tid)
    pid = world.patient(tid)
    world.enrol(pid, d.next_dose or 1)
    return tid, pid


def _refused(world: World, fn: Any, match: str) -> None:
    before = world.snapshot_counts()
    with pytest.raises(Forbidden, match=match):
        world.run(fn)
    assert world.snapshot_counts() == before


def test_only_a_statistician_confirms_or_overrides_a_proposed_dlt_call(world: World) -> None:
    _, pid = _enrolled(world, BOIN)
    pid_ = int(world.run(lambda s: outcomes.propose_dlt(s, world.stat, pid).id))
    for who in (world.inv_a, world.dm, world.admin, world.monitor, world.com1):
        _refused(
            world,
            lambda s, who=who: outcomes.confirm_dlt(s, who, pid_),
            f"role '{who.role.value}' may not confirm or override a proposed DLT call",
        )
        _refused(
            world,
            lambda s, who=who: outcomes.override_dlt(
                s, who, pid_, is_dlt=True, reason="clinical judgement"
            ),
            "only a statistician may",
        )
    # the statistician may (the window is still running: the proposal is pending, so it is
    # overridden, not confirmed)
    row = world.run(
        lambda s: outcomes.override_dlt(
            s, world.stat, pid_, is_dlt=False, reason="window reviewed by the SRC"
        )
    )
    assert row.call == "overridden"


def test_investigators_and_the_statistician_call_responses_others_are_refused(
    world: World,
) -> None:
    _, pid = _enrolled(world, BOIN12)

    def assess() -> int:
        e = world.run(
            lambda s: outcomes.assess_efficacy(
                s,
                world.inv_a,
                pid,
                assessed_on=world.clock.today(),
                instrument="ITP response",
                components=ITP,
            )
        )
        assert e.call == "proposed"
        return int(e.id)

    first = assess()
    for who in (world.dm, world.admin, world.monitor, world.com1):
        _refused(
            world,
            lambda s, who=who: outcomes.confirm_response(s, who, first),
            f"role '{who.role.value}' may not confirm or override a proposed response",
        )
        _refused(
            world,
            lambda s, who=who: outcomes.override_response(
                s, who, first, responder=False, reason="reviewed"
            ),
            "investigators and statisticians make that call",
        )
    confirmed = world.run(lambda s: outcomes.confirm_response(s, world.inv_a, first))
    assert (confirmed.call, confirmed.responder) == ("confirmed", True)
    second = assess()
    overridden = world.run(
        lambda s: outcomes.override_response(
            s, world.stat, second, responder=False, reason="bleeding at the visit"
        )
    )
    assert (overridden.call, overridden.responder) == ("overridden", False)


def test_only_a_statistician_computes_the_final_selection(world: World) -> None:
    tid = world.trial(BOIN)
    for dose in (1, 2, 3, 4):
        world.cohort(tid, dose)
        world.clock.advance(29)
    assert world.decide(tid).status == "closed"
    for who in (world.inv_a, world.admin, world.dm, world.monitor, world.com1):
        _refused(
            world,
            lambda s, who=who: fs.compute_final_selection(s, who, tid),
            f"role '{who.role.value}' may not compute the final selection",
        )
    row = world.run(lambda s: fs.compute_final_selection(s, world.stat, tid))
    assert row.kind == "mtd"
