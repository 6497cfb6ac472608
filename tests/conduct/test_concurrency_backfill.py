"""Sites racing for backfill slots (real threads, one connection each): the trial row lock
that serialises escalation slots serialises backfill slots too, so a dose never exceeds
``n_cap`` (PostgreSQL row locks; SQLite ``BEGIN IMMEDIATE``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from doseladder.conduct import audit
from doseladder.conduct.errors import Conflict
from doseladder.conduct.models import Enrolment
from doseladder.conduct.services import decisions, patients

from .conftest import World
from .test_concurrency import big_db, cworld, race  # noqa: F401  (fixtures)
from .test_services_backfill import BF, backfill, pending_at_two


def test_sites_racing_for_the_last_backfill_slot_fill_exactly_n_cap(cworld: World) -> None:  # noqa: F811
    w = cworld
    tid = pending_at_two(w, {**BF, "n_cap": 5})  # DL1: 3 escalation patients, 2 slots left
    backfill(w, w.patient(tid))  # one taken: the last slot is raced for
    n = 6
    actors = [w.inv_a if i % 2 else w.inv_b for i in range(n)]
    pids = [w.patient(tid, actors[i]) for i in range(n)]

    def take(i: int) -> Any:
        return w.run(
            lambda s: patients.enrol(
                s,
                actors[i],
                pids[i],
                dose_level=1,
                cohort="backfill",
                infusion_date=w.clock.today(),
            )
        )

    results = race(n, take)
    wins = [r for r in results if isinstance(r, Enrolment)]
    losses = [r for r in results if not isinstance(r, Enrolment)]
    assert len(wins) == 1, results
    assert all(isinstance(r, Conflict) and "the backfill cap is reached" in str(r) for r in losses)
    with w.db.session() as s:
        rows = list(s.scalars(select(Enrolment).where(Enrolment.trial_id == tid)))
        at_dl1 = [e for e in rows if e.dose_level == 1]
        assert len(at_dl1) == 5  # exactly n_cap
        assert sum(e.cohort == "backfill" for e in at_dl1) == 2
        d = decisions.latest_decision(s, tid, None)
        assert d is not None and decisions.used_slots(s, d.id) == 3
        slots = [e.slot for e in rows if e.decision_id == d.id]
        assert len(slots) == len(set(slots))  # no slot number taken twice
        assert audit.verify(s).ok
