"""A demo trial for ``doseladder serve``: STR-P004 (TITE-BOIN12, seed record 000) in progress.

The seed protocol shows the most of the system: three indications where SLE-ITP drives the
escalation and the other two enrol at the SLE-ITP cohort's confirmed-safe dose, a run-in with
backup fallback (DL1, falling back to DL-1 on a DLT), a pooled safety monitor, time-to-event
decisions with pending outcomes, and efficacy (a utility-based OBD design).

The history is replayed through the services with a clock that runs from the trial's epoch
(150 days ago) to now, so decisions, enrolments, outcomes and the audit trail carry realistic
times: a run-in cohort at DL1 that completes without DLT, a second SLE-ITP cohort with a
grade-3 cytokine release syndrome adjudicated as a DLT, SLE-other and IIM patients at the
confirmed-safe dose, efficacy assessments, one screen failure, and finally an open decision
with free slots and a screened patient waiting, so the dashboard shows a live recommendation.
The trial opens through the opening guard: the demo administrator and statistician acknowledge
every placeholder dose and review item of the seed protocol (reason "demo data"), and the
dashboard lists those acknowledgements.

Every demo user has the password :data:`DEMO_PASSWORD` (printed by ``doseladder serve``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from doseladder.conduct import audit
from doseladder.conduct.db import Database
from doseladder.conduct.models import User
from doseladder.conduct.sealing import Sealer
from doseladder.conduct.security import DEMO_PASSWORD, Actor, Role, hash_password
from doseladder.conduct.services import (
    decisions,
    opening_guard,
    outcomes,
    patients,
    sites_users,
    trials,
)
from doseladder.conduct.services.protocol_sources import shipped_source

__all__ = ["DEMO_PASSWORD", "DEMO_PROTOCOL", "DEMO_TRIAL_CODE", "DEMO_USERS", "seed_demo"]

DEMO_PROTOCOL = "str-p004-nct07143617"
DEMO_TRIAL_CODE = "STR-P004-DEMO"
#: username → (role, site code or None, what they do)
DEMO_USERS: dict[str, tuple[Role, str | None, str]] = {
    "admin": (Role.ADMIN, None, "runs the system: sites, users, trials"),
    "stat": (Role.STATISTICIAN, None, "records/overrides decisions, adjudicates DLTs, signs off"),
    "inv_bj": (Role.INVESTIGATOR, "BJGB", "investigator at Beijing GoBroad (sees only BJGB)"),
    "inv_hf": (Role.INVESTIGATOR, "USTC", "investigator at USTC Hefei (sees only USTC)"),
    "datamgr": (Role.DATA_MANAGER, None, "enters and corrects data for every site"),
    "monitor": (Role.MONITOR, None, "reads everything, verifies the audit trail, exports"),
    "src_chair": (Role.COMMITTEE, None, "safety review committee: signs escalations, overrides"),
    "src_member": (Role.COMMITTEE, None, "safety review committee: the second signature"),
}
EPOCH_DAYS_AGO = 150


@dataclass
class _DemoClock:
    """A clock that the seeding moves forward (never past the real now)."""

    t: datetime

    def __call__(self) -> datetime:
        self.t += timedelta(milliseconds=7)
        return min(self.t, datetime.now(UTC))


@dataclass(frozen=True)
class DemoInfo:
    """What :func:`seed_demo` created."""

    trial_id: int
    trial_code: str
    users: dict[str, tuple[Role, str | None, str]]
    password: str


def has_users(db: Database) -> bool:
    """Whether the database already has users (the demo is seeded only into an empty one)."""
    with db.session() as s:
        return sites_users.has_users(s)


def seed_demo(url: str, *, today: date | None = None, sealer: Sealer | None = None) -> DemoInfo:
    """Create the demo trial, sites, users and history in an empty, migrated database
    (``doseladder serve --demo`` only); ``sealer`` signs the audit trail."""
    end = datetime.now(UTC) if today is None else datetime.combine(today, time(12), UTC)
    epoch = end.date() - timedelta(days=EPOCH_DAYS_AGO)
    clock = _DemoClock(datetime.combine(epoch, time(8), UTC))
    db = Database(url, clock=clock, sealer=sealer)
    try:
        return _seed(db, clock, epoch)
    finally:
        db.dispose()


def _seed(db: Database, clock: _DemoClock, epoch: date) -> DemoInfo:
    data, text, name = shipped_source(DEMO_PROTOCOL)

    def day(n: float) -> None:
        clock.t = max(clock.t, datetime.combine(epoch, time(9), UTC) + timedelta(days=n))

    def on(n: int) -> date:
        return epoch + timedelta(days=n)

    def demo_password(user: User) -> User:
        # the published demo password, which the password policy refuses for real accounts
        with audit.reason(s_of(user), "demonstration account: published demo password"):
            user.password_hash = hash_password(DEMO_PASSWORD)
        return user

    def s_of(user: User) -> Session:
        session = Session.object_session(user)
        assert session is not None
        return session

    def setup(s: Session) -> dict[str, Any]:
        admin = sites_users.actor_for(
            demo_password(
                sites_users.bootstrap_admin(
                    s, username="admin", password=_placeholder(), display_name="Demo administrator"
                )
            )
        )
        bj = sites_users.create_site(s, admin, code="BJGB", name="Beijing GoBroad Hospital")
        hf = sites_users.create_site(s, admin, code="USTC", name="First Affiliated Hospital, USTC")
        codes = {"BJGB": bj.id, "USTC": hf.id}
        actors: dict[str, Actor] = {"admin": admin}
        for username, (role, site, what) in DEMO_USERS.items():
            if username == "admin":
                continue
            user = sites_users.create_user(
                s,
                admin,
                username=username,
                password=_placeholder(),
                role=role,
                site_id=codes[site] if site else None,
                display_name=what,
            )
            s.info["actor"] = admin
            actors[username] = sites_users.actor_for(demo_password(user))
        return {"actors": actors, "sites": codes}

    day(0)
    setup_out = db.run(setup)
    actors: dict[str, Actor] = setup_out["actors"]
    stat, bj, hf, dm = actors["stat"], actors["inv_bj"], actors["inv_hf"], actors["datamgr"]

    def make_trial(s: Session) -> int:
        t = trials.create_trial(
            s,
            stat,
            code=DEMO_TRIAL_CODE,
            title="STR-P004 in relapsed/refractory autoimmune diseases (demo data)",
            protocol=data,
            source_name=name,
            source_text=text,
            epoch=epoch,
            require_signoff_for_escalation=True,
        )
        for site_id in setup_out["sites"].values():
            trials.activate_site(s, stat, t.id, site_id)
        # the opening guard: the demo administrator and statistician acknowledge every
        # placeholder dose and review item of the seed protocol
        for item in opening_guard.checklist(s, stat, t.id):
            for who in (actors["admin"], stat):
                opening_guard.acknowledge(s, who, t.id, item=item.item.id, reason="demo data")
        trials.open_trial(s, stat, t.id, reason="site initiation visits completed")
        return t.id

    trial_id: int = db.run(make_trial)
    engine = db.run(lambda s: trials.engine_for(trials.current_protocol(s, trial_id)))
    criteria_by_ind: dict[str | None, dict[str, bool]] = {}
    for ind in engine.indications:
        criteria_by_ind[ind] = {
            c.id: True
            for c in engine.protocol.criteria
            if not c.indications or ind is None or ind in c.indications
        }

    def patient(inv: Actor, indication: str, *, sex: str, age: int, eligible: bool = True) -> int:
        def run(s: Session) -> int:
            p = patients.register_patient(s, inv, trial_id, indication=indication, sex=sex, age=age)
            crit = dict(criteria_by_ind[indication])
            if not eligible:
                crit[next(iter(sorted(k for k in crit if "EXC" in k)))] = False
            patients.record_screening(
                s,
                inv,
                p.id,
                screened_on=clock.t.date(),
                eligible=eligible,
                criteria=crit,
                notes=None if eligible else "active latent tuberculosis (T-SPOT positive)",
            )
            return p.id

        return db.run(run)

    def decide(indication: str) -> Any:
        return db.run(lambda s: decisions.record_decision(s, stat, trial_id, indication=indication))

    def enrol(inv: Actor, pid: int, dose: int, infused: date) -> None:
        db.run(lambda s: patients.enrol(s, inv, pid, dose_level=dose, infusion_date=infused))

    def run(fn: Callable[[Session], Any]) -> Any:
        return db.run(fn)

    def efficacy(
        inv: Actor,
        pid: int,
        when: date,
        instrument: str,
        responder: bool,
        measures: dict[str, Any] | None = None,
    ) -> None:
        db.run(
            lambda s: outcomes.record_efficacy(
                s,
                inv,
                pid,
                assessed_on=when,
                instrument=instrument,
                responder=responder,
                measures=measures,
            )
        )

    # ---- run-in: three SLE-ITP subjects at DL1
    day(3)
    d1 = decide("SLE-ITP")
    runin = []
    for i, (inv, sex, age) in enumerate([(bj, "F", 34), (hf, "F", 41), (bj, "M", 29)]):
        day(4 + 4 * i)
        pid = patient(inv, "SLE-ITP", sex=sex, age=age)
        enrol(inv, pid, d1.next_dose, on(5 + 4 * i))
        runin.append((inv, pid))
    day(20)
    run(
        lambda s: outcomes.record_adverse_event(
            s,
            bj,
            runin[0][1],
            term="cytokine release syndrome",
            # ASTCT 2019: fever without hypotension or hypoxia is grade 1
            crs={
                "temperature_max": 38.6,
                "temperature_unit": "°C",
                "fever_other_cause": False,
                "hypotension": False,
                "oxygen": "none",
            },
            onset_date=on(7),
            resolved_date=on(9),
            relatedness="related",
        )
    )
    # ---- the run-in completes its DLT window; efficacy at day 30 after infusion
    day(46)
    for k, (inv, pid) in enumerate(runin):
        infused = on(5 + 4 * k)
        response = {"platelets_10e9_per_l": 112 if k != 1 else 38}
        efficacy(inv, pid, infused + timedelta(days=30), "ITP response", k != 1, response)
    # ---- second SLE-ITP cohort, SLE-other and IIM at the confirmed-safe dose
    day(48)
    d2 = decide("SLE-ITP")
    d_other = decide("SLE-other")
    second = []
    for i, (inv, sex, age) in enumerate([(hf, "F", 37), (bj, "F", 45), (hf, "F", 52)]):
        day(49 + 3 * i)
        pid = patient(inv, "SLE-ITP", sex=sex, age=age)
        enrol(inv, pid, d2.next_dose, on(50 + 3 * i))
        second.append((inv, pid))
    day(57)
    other = patient(bj, "SLE-other", sex="F", age=31)
    enrol(bj, other, d_other.next_dose, on(58))
    day(58)
    patient(hf, "SLE-other", sex="M", age=58, eligible=False)  # a screen failure
    # ---- a grade-3 CRS in the second cohort, flagged and adjudicated as a DLT
    day(60)
    inv, pid = second[1]
    ae = run(
        lambda s: outcomes.record_adverse_event(
            s,
            inv,
            pid,
            term="cytokine release syndrome",
            # ASTCT 2019: fever with hypotension needing one vasopressor is grade 3
            crs={
                "temperature_max": 39.4,
                "temperature_unit": "°C",
                "fever_other_cause": False,
                "hypotension": True,
                "vasopressors": ["norepinephrine"],
                "oxygen": "low_flow_nasal_cannula",
                "o2_flow_l_per_min": 2,
            },
            onset_date=on(59),
            serious=True,
            relatedness="related",
            dlt_candidate=True,
        )
    )
    day(62)
    run(
        lambda s: outcomes.adjudicate_dlt(
            s,
            stat,
            pid,
            is_dlt=True,
            adverse_event_id=ae.id,
            rationale="Grade 3 CRS within the DLT window, related to STR-P004 (SRC review).",
        )
    )
    day(64)
    run(
        lambda s: outcomes.correct_adverse_event(
            s,
            dm,
            ae.id,
            changes={"resolved_date": on(63)},
            reason="resolution date from the discharge letter",
        )
    )
    # ---- efficacy of the second cohort and the SLE-other patient
    day(100)
    for k, (inv, pid) in enumerate(second):
        efficacy(inv, pid, on(50 + 3 * k + 30), "ITP response", k == 0)
    run(
        lambda s: outcomes.record_efficacy(
            s,
            bj,
            other,
            assessed_on=on(88),
            instrument="SRI-4",
            responder=True,
            measures={"SLEDAI-2K": 4, "baseline_SLEDAI-2K": 12},
        )
    )
    # ---- now: a fresh decision for the driving indication and IIM, one patient waiting
    day(EPOCH_DAYS_AGO - 2)
    escalation = decide("SLE-ITP")
    if escalation.requires_signoff:
        day(EPOCH_DAYS_AGO - 1.9)
        run(
            lambda s: decisions.sign_off(
                s,
                actors["src_chair"],
                escalation.id,
                approve=True,
                comment="SRC meeting: escalation approved after review of the CRS case",
                password=DEMO_PASSWORD,
                printed_name="SRC chair",
            )
        )
    decide("IIM")
    day(EPOCH_DAYS_AGO - 1)
    patient(bj, "SLE-ITP", sex="F", age=39)
    return DemoInfo(trial_id, DEMO_TRIAL_CODE, DEMO_USERS, DEMO_PASSWORD)


def _placeholder() -> str:
    """A random password that passes the policy (replaced by the demo password)."""
    return secrets.token_urlsafe(18)


def describe(info: DemoInfo) -> str:
    """The demo users and their password as text (printed by ``doseladder serve``)."""
    lines = [
        f"Demo trial {info.trial_code} (seed protocol {DEMO_PROTOCOL}, TITE-BOIN12).",
        f"Demo users (password for all: {info.password}):",
    ]
    for username, (role, site, what) in info.users.items():
        where = f" @ {site}" if site else ""
        lines.append(f"  {username:<9} {role.value:<13}{where:<8} {what}")
    return "\n".join(lines)
