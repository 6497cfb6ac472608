"""BE-BOIN (``design: be-boin``) through the CLI -- design file keys, ``table``, ``decide`` on a
patient table with pending and backfill patients, ``select`` -- and the refusal of ``simulate``
(no kernel yet); and the invariants under random testing on histories with pending escalation
and backfill patients: never skip an untried dose, never an eliminated dose, backfill only at
a dose open for backfill.  Expected values are worked by hand from the spec formulas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from doseladder.cli.main import app
from doseladder.core.decision import Action
from doseladder.core.designs.be_boin import BEBOIN, dose_data
from doseladder.core.designs.bf_boin import backfill_open
from doseladder.core.errors import InputError
from doseladder.core.state import Patient, TrialState

runner = CliRunner()

DESIGN = (
    "design: be-boin\nnum_doses: 5\ntarget: 0.25\ncohort_size: 3\nmax_n: 24\nn_cap: 12\n"
    "tox_window: 28\nconflict_dose: lowest\nno_slot: wait\nmax_pending_ratio: 0.49\n"
    "min_completed: 0\nmin_follow_up: 0.25\nn_earlystop: 18\n"
)

#: day 45, window 28: dose 1 complete (0/3, a response on day 20); the cohort at dose 2 has
#: entered on days 20, 22 and 40; the first two are complete without DLT, the third pending
PATIENTS = """dose,entry_day,tox,tox_day,eff,eff_day,cohort
1,0,0,,1,20,escalation
1,2,0,,0,,escalation
1,4,0,,0,,escalation
2,10,0,,0,,escalation
2,12,0,,0,,escalation
2,{entry3},,,,,escalation
1,42,,,,,backfill
"""

SCENARIO = """scenarios:
  - name: S1
    p_tox: [0.05, 0.10, 0.25, 0.40, 0.55]
    p_eff: [0.2, 0.3, 0.4, 0.5, 0.5]
    accrual: {type: poisson, rate: 0.2}
"""


def run(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def run_json(*args: object) -> Any:
    code, out, err = run(*args, "--json")
    assert code == 0, (out, err)
    return json.loads(out)


@pytest.fixture()
def design_file(tmp_path: Path) -> Path:
    p = tmp_path / "be-boin.yaml"
    p.write_text(DESIGN)
    return p


def patients(tmp_path: Path, entry3: int) -> Path:
    p = tmp_path / f"patients{entry3}.csv"
    p.write_text(PATIENTS.format(entry3=entry3))
    return p


def test_table_is_boin_at_target_025(design_file: Path) -> None:
    """The boundaries every BE-BOIN count rule uses: BOIN's for target 0.25 (spec §7)."""
    data = run_json("table", design_file)
    assert data["design"]["design"] == "be-boin" and data["design"]["conflict_dose"] == "lowest"
    rows = {r["n"]: r for r in data["tables"]["boundaries"]}
    assert [rows[n]["escalate"] for n in range(1, 13)] == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2]
    assert [rows[n]["deescalate"] for n in range(1, 13)] == [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4]
    assert [rows[n]["eliminate"] for n in range(3, 13)] == [3, 3, 3, 4, 4, 4, 5, 5, 6, 6]


@pytest.mark.parametrize(
    ("entry3", "action", "cause"), [(30, "escalate", None), (40, "suspend", "min_follow_up")]
)
def test_decide_on_imputed_data(
    design_file: Path, tmp_path: Path, entry3: int, action: str, cause: str | None
) -> None:
    """Dose 2: 2 complete without DLT, 1 pending (1/3 <= 0.49 pending); π̂ = 0.125/3 and
    p̃ <= 0.0145 <= λe.  Entered day 30: followed 15/28 >= 0.25 -> escalate to 3 at once;
    entered day 40: 5/28 < 0.25 -> suspend, backfill at dose 1 (response, 0/3, 4 <= 12)."""
    data = run_json("decide", design_file, "--patients", patients(tmp_path, entry3), "--now", 45)
    assert data["action"] == action
    values = data["reason"]["values"]
    if action == "escalate":
        assert data["next_dose"] == 3
        f = 15 / 28
        pi = 0.125 / 3
        assert values["p_tilde"][1] == pytest.approx(pi / (1 - pi) * (1 - f) / 3, abs=1e-9)
    else:
        assert values["cause"] == cause
        assert data["backfill_open"] == [1]
        assert values["backfill_dose"] == 1 and values["no_slot"] == "wait"


def test_decide_needs_the_decision_time(design_file: Path, tmp_path: Path) -> None:
    code, out, err = run("decide", design_file, "--patients", patients(tmp_path, 40), "--json")
    assert code != 0
    assert "now" in (out + err)


def test_select_uses_completed_data(design_file: Path, tmp_path: Path) -> None:
    csv = tmp_path / "complete.csv"
    csv.write_text(
        "dose,entry_day,tox,tox_day,eff,eff_day,cohort\n"
        "1,0,0,,1,20,escalation\n1,2,0,,0,,escalation\n1,4,0,,0,,escalation\n"
        "2,35,0,,0,,escalation\n2,37,1,4,0,,escalation\n2,40,0,,0,,escalation\n"
        "1,41,0,,,,backfill\n"
    )
    data = run_json("select", design_file, "--patients", csv, "--now", 80)
    est = {e["dose"]: e for e in data["estimates"]}
    assert est[1]["n"] == 4 and est[2]["n"] == 3 and est[2]["n_tox"] == 1
    assert data["mtd"] == 2


def test_simulate_wait_and_leave(design_file: Path, tmp_path: Path) -> None:
    """The design file's default ``no_slot: wait`` simulates (no arrival turned away);
    ``leave`` turns arrivals away; both report backfill and duration."""
    sc = tmp_path / "sc.yaml"
    sc.write_text(SCENARIO)
    leave = tmp_path / "leave.yaml"
    leave.write_text(DESIGN.replace("no_slot: wait", "no_slot: leave"))
    turned = {}
    for name, path in (("wait", design_file), ("leave", leave)):
        code, out, err = run(
            "simulate", path, "--scenario", sc, "--trials", 50, "--seed", 3, "--json",
            "--no-progress",
        )  # fmt: skip
        assert code == 0, err
        results = json.loads(out)
        result = results[0] if isinstance(results, list) else results
        text = json.dumps(result)
        assert "backfill" in text and "duration" in text
        trial = result["trial"]
        turned[name] = trial.get("turned_away", 0.0)
    assert turned["wait"] == 0.0 and turned["leave"] > 0


# ------------------------------------------------------------------ invariants
@st.composite
def histories(draw: st.DrawFn) -> tuple[TrialState, float]:
    """Escalation patients in runs at one dose, backfill patients below it, any outcomes
    (pending too), increasing entry times, carried eliminations, a decision time."""
    size = draw(st.integers(1, 24))
    dose = draw(st.integers(1, 4))
    pats = []
    t = 0.0
    for _ in range(size):
        t += draw(st.floats(0.0, 0.5))
        back = dose > 1 and draw(st.integers(0, 2)) == 0
        if not back and draw(st.integers(0, 3)) == 0:
            dose = draw(st.integers(1, 4))
        at = draw(st.integers(1, dose - 1)) if back else dose
        tox = draw(st.sampled_from([True, False, None]))
        eff = draw(st.sampled_from([True, False, None]))
        pats.append(Patient(dose=at, entry_time=t, tox=tox, eff=eff, backfill=back))
    elim = draw(st.frozensets(st.integers(2, 4), max_size=1))
    now = t + draw(st.floats(0.0, 1.5))
    return TrialState(4, tuple(pats), eliminated=elim), now


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    hs=histories(),
    anchor=st.sampled_from(["lowest", "highest"]),
    assign=st.sampled_from(["highest", "lowest"]),
    ratio=st.sampled_from([0.3, 0.49, 1.0]),
    follow=st.sampled_from([0.0, 0.25, 0.9]),
    completed=st.integers(0, 3),
)
def test_invariants(
    hs: tuple[TrialState, float],
    anchor: str,
    assign: str,
    ratio: float,
    follow: float,
    completed: int,
) -> None:
    state, now = hs
    design = BEBOIN(
        num_doses=4, tox_window=1.0, n_cap=6, max_n=18, conflict_dose=anchor,
        backfill_assign=assign, max_pending_ratio=ratio, min_follow_up=follow,
        min_completed=completed,
    )  # fmt: skip
    try:
        dec = design.decide(state, now)
    except InputError as err:  # an incomplete cohort at a carried eliminated dose
        assert err.field == "eliminated", err
        return
    tried = max(p.dose for p in state.patients)
    if dec.next_dose is not None and dec.action is not Action.STOP:
        assert dec.next_dose <= tried + 1, (state, dec)
        assert dec.next_dose not in dec.eliminated, (state, dec)
        assert dec.next_dose not in state.eliminated, (state, dec)
    if dec.action is Action.ESCALATE:
        d = dec.current_dose
        assert d is not None
        data = dose_data(state, now, 1.0, 0.25)
        assert all(f >= follow for f in data.followups[d - 1])
        assert data.n[d - 1] - data.c[d - 1] >= completed or data.c[d - 1] == 0
    if dec.action is not Action.SUSPEND:
        return
    values = dec.reason.values
    cur = dec.current_dose
    assert cur is not None
    opened = values["backfill_open"]
    data = dose_data(state, now, 1.0, 0.25)
    assert opened == backfill_open(design, state, cur, design._below_bd(data))
    for j in opened:
        assert j < cur and j not in dec.eliminated and j not in state.eliminated
        at = [p for p in state.patients if p.dose == j]
        assert any(p.eff is True and not p.backfill for p in at)
        assert len(at) <= design.n_cap
        assert data.pooled(j, j) < design.lambda_d or data.pooled(j, j + 1) < design.lambda_d
    bd = values["backfill_dose"]
    assert bd is None or bd in opened
