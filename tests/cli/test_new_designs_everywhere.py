"""Issue #13 items 5-6: every new design (CRM, TITE-CRM, Keyboard, mTPI-2, i3+3, BF-BOIN) through
every CLI path -- design-file keys, ``table``, ``decide`` (complete outcomes and patient tables
with ``cohort`` and ``eff`` columns), ``select``, ``simulate`` (``p_eff``, ``accrual``),
``compare`` with BOIN/BOIN12 (common random numbers), ``report`` and ``paths`` -- asserting
content checked against independent calculations (spec formulas, hand-computed weights, the
decision of the same history through another command), not just exit codes; and the invariants
under random testing (never skip an untried dose, never an eliminated dose, backfill only at a
dose open for backfill).  Seed 000's driving indication with each new design driving: ``protocol
validate`` / ``show`` (the design's confirmed-safe rule in words), ``protocol recommend``
(confirmed-safe doses checked against the design's decision table from ``table``, the CRM's
own fit, a grid posterior for ``crm_rule: overdose_control``) and ``simulate-protocol``, whose
every evaluation equals the core's ``recommend``."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import beta
from typer.testing import CliRunner

from doseladder.cli.main import app
from doseladder.core.decision import Action
from doseladder.core.designs.bf_boin import BFBOIN, backfill_open
from doseladder.core.designs.registry import design_from_mapping
from doseladder.core.state import TrialState

from ..core.designs.arrays.conformance import histories

runner = CliRunner()

SKELETON = [0.05, 0.12, 0.25, 0.40, 0.55]

#: design files written with the keys item 5 lists (5 doses, target 0.25)
DESIGN_TEXT = {
    "crm": (
        "design: crm\nnum_doses: 5\ntarget: 0.25\nskeleton: [0.05, 0.12, 0.25, 0.40, 0.55]\n"
        "model: logistic\nprior_sd: 1.0\nintercept: 3\ncohort_size: 3\nmax_n: 24\n"
    ),
    "crm-calibrated": (
        "design: crm\nnum_doses: 5\ntarget: 0.25\nhalfwidth: 0.05\nprior_mtd: 3\n"
        "model: empiric\ncohort_size: 3\nmax_n: 24\n"
    ),
    "tite-crm": (
        "design: tite-crm\nnum_doses: 5\ntarget: 0.25\nskeleton: [0.05, 0.12, 0.25, 0.40, 0.55]\n"
        "tox_window: 28\nscheme: adaptive\ncohort_size: 1\nmax_n: 18\n"
    ),
    "keyboard": (
        "design: keyboard\nnum_doses: 5\ntarget: 0.25\nmargin_left: 0.05\nmargin_right: 0.05\n"
        "cohort_size: 3\nmax_n: 24\n"
    ),
    "mtpi2": "design: mtpi2\nnum_doses: 5\ntarget: 0.25\ncohort_size: 3\nmax_n: 24\n",
    "i3+3": (
        "design: i3+3\nnum_doses: 5\ntarget: 0.25\nei_low: 0.2\nei_high: 0.3\ncohort_size: 3\n"
        "max_n: 24\n"
    ),
    "bf-boin": (
        "design: bf-boin\nnum_doses: 5\ntarget: 0.25\ncohort_size: 3\nmax_n: 24\nn_cap: 12\n"
        "backfill_assign: highest\nthree_plus_three: true\ntox_window: 28\n"
    ),
    "boin": "design: boin\nnum_doses: 5\ntarget: 0.25\ncohort_size: 3\nmax_n: 24\n",
    "bf-boin-plain": (
        "design: bf-boin\nnum_doses: 5\ntarget: 0.25\ncohort_size: 3\nmax_n: 24\nn_cap: 12\n"
        "tox_window: 28\n"
    ),
    "boin12": (
        "design: boin12\nnum_doses: 5\nphi_t: 0.35\nphi_e: 0.25\ncohort_size: 3\nmax_n: 24\n"
    ),
}
NEW = ["crm", "crm-calibrated", "tite-crm", "keyboard", "mtpi2", "i3+3", "bf-boin"]
INTERVAL = ["keyboard", "mtpi2", "i3+3", "bf-boin"]

SCENARIOS = """scenarios:
  - name: S1
    p_tox: [0.05, 0.10, 0.25, 0.40, 0.55]
    p_eff: [0.2, 0.3, 0.4, 0.5, 0.5]
    accrual: {type: poisson, rate: 0.2}
  - name: S2
    p_tox: [0.10, 0.25, 0.40, 0.55, 0.70]
    p_eff: [0.0, 0.0, 0.0, 0.0, 0.0]
    accrual: {type: uniform, rate: 0.3}
"""

#: a CAR-T-like patient table at day 45 (window 28): dose 1 complete (0/3, a response on day
#: 20), the escalation cohort at dose 2 pending, one backfill patient at dose 1 pending
PATIENTS = """dose,entry_day,tox,tox_day,eff,eff_day,cohort
1,0,0,,1,20,escalation
1,2,0,,0,,escalation
1,4,0,,0,,escalation
2,35,,,,,escalation
2,37,,,,,escalation
2,40,,,,,escalation
1,42,,,,,backfill
"""


def run(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def run_json(*args: object) -> Any:
    code, out, err = run(*args, "--json")
    assert code == 0, (out, err)
    data = json.loads(out)
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("designs")
    out = {}
    for name, text in DESIGN_TEXT.items():
        out[name] = root / f"{name}.yaml"
        out[name].write_text(text)
    out["scenarios"] = root / "scenarios.yaml"
    out["scenarios"].write_text(SCENARIOS)
    out["patients"] = root / "patients.csv"
    out["patients"].write_text(PATIENTS)
    # the same patients, the last one an escalation patient (designs without backfill cohorts
    # refuse backfill rows)
    out["patients_esc"] = root / "patients_esc.csv"
    out["patients_esc"].write_text(PATIENTS.replace(",backfill", ",escalation"))
    return out


def _design(name: str) -> Any:
    import yaml

    return design_from_mapping(yaml.safe_load(DESIGN_TEXT[name]))


# ------------------------------------------------------------------ design files and table
def test_crm_design_file_keys_reach_the_model(files: dict[str, Path]) -> None:
    """Given skeleton, logistic model, intercept 3: dfcrm's scaled doses are logit(s) − 3."""
    data = run_json("table", files["crm"])
    assert data["design"]["model"] == "logistic"
    assert data["design"]["prior_sd"] == 1.0
    rows = data["tables"]["skeleton"]
    assert [r["skeleton"] for r in rows] == pytest.approx(SKELETON)
    want = [math.log(s / (1 - s)) - 3 for s in SKELETON]
    assert [r["dosescaled"] for r in rows] == pytest.approx(want, abs=1e-12)


def test_crm_calibrated_skeleton(files: dict[str, Path]) -> None:
    """halfwidth + prior_mtd: getprior puts the target at the prior MTD, and (empiric model)
    neighbouring doses switch at target ± halfwidth: s_{k+1}^b = t + δ where s_k^b = t − δ
    for the same b (Lee & Cheung 2009)."""
    rows = run_json("table", files["crm-calibrated"])["tables"]["skeleton"]
    s = [r["skeleton"] for r in rows]
    assert s[2] == pytest.approx(0.25)
    assert all(b > a for a, b in itertools.pairwise(s))
    for k in range(4):
        b = math.log(0.25 - 0.05) / math.log(s[k])
        assert s[k + 1] ** b == pytest.approx(0.25 + 0.05, abs=1e-6)


@pytest.mark.parametrize("name", INTERVAL)
def test_interval_table_is_what_decide_does(files: dict[str, Path], name: str) -> None:
    """Each row of the boundary table (n = 3, 6) is the decision ``decide`` gives for y DLTs
    in n at dose 2 (after 0/3 at dose 1)."""
    rows = {r["n"]: r for r in run_json("table", files[name])["tables"]["boundaries"]}
    for n in (3, 6):
        esc = rows[n]["escalate"]
        de = rows[n].get("deescalate_at_current", rows[n]["deescalate"])
        for y in range(n + 1):
            cohorts = ["2" + "T" * min(y, 3) + "N" * (3 - min(y, 3))]
            if n == 6:
                cohorts.append("2" + "T" * (y - min(y, 3)) + "N" * (3 - (y - min(y, 3))))
            dec = run_json("decide", files[name], "--outcomes", " ".join(["1NNN", *cohorts]))
            nxt = dec["next_dose"]
            if y <= esc:
                assert nxt == 3, (n, y, dec)
            elif de is not None and y >= de:
                assert nxt == 1 or dec["action"] == "stop", (n, y, dec)
            else:
                assert nxt == 2, (n, y, dec)


def test_bf_boin_table_is_boin_at_target_025(files: dict[str, Path]) -> None:
    """Spec backfill.md §7: b_e, b_d, b_elim of BOIN at target 0.25 for N = 1..12; with
    three_plus_three the current dose stays on 1 DLT in 3 (de-escalation from 2 in 3)."""
    for name in ("bf-boin", "bf-boin-plain"):
        rows = run_json("table", files[name])["tables"]["boundaries"][:12]
        assert [r["escalate"] for r in rows] == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2]
        assert [r["deescalate"] for r in rows] == [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4]
        assert [r["eliminate"] for r in rows] == [None, None, 3, 3, 3, 4, 4, 4, 5, 5, 6, 6]
        if name == "bf-boin":
            cur = [r["deescalate_at_current"] for r in rows]
            assert cur == [1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4]
        else:
            assert "deescalate_at_current" not in rows[0]


def test_i3p3_table_is_the_paper_rule(files: dict[str, Path]) -> None:
    """Liu, Wang & Ji 2020: p̂ < EI low -> E; inside -> S; above -> S if (y−1)/n < EI low, else
    D; exclusion when n >= 3 and Pr(p > target) > 0.95 (Beta(1 + y, 1 + n − y))."""
    rows = run_json("table", files["i3+3"])["tables"]["boundaries"]
    for r in rows[:12]:
        n = r["n"]
        letters = []
        for y in range(n + 1):
            p = y / n
            if p < 0.2:
                letters.append("E")
            elif p <= 0.3 or (y - 1) / n < 0.2:
                letters.append("S")
            else:
                letters.append("D")
        assert r["escalate"] == max(y for y, c in enumerate(letters) if c == "E")
        el = [y for y in range(n + 1) if n >= 3 and beta.sf(0.25, 1 + y, 1 + n - y) > 0.95]
        assert r["eliminate"] == (min(el) if el else None)
        ds = sorted({y for y, c in enumerate(letters) if c == "D"} | set(el))
        assert r["deescalate"] == (min(ds) if ds else None)


# ------------------------------------------------------------------ decide
def test_tite_crm_decide_with_pending_reports_mtd_ptox_posterior_mean(
    files: dict[str, Path],
) -> None:
    """Day 45: no DLT, so the adaptive weights are linear (follow-up / 28), and the plug-in
    estimates are s_j^exp(â); the recommendation is capped one level above the current dose."""
    data = run_json("decide", files["tite-crm"], "--patients", files["patients_esc"], "--now", 45)
    values = data["reason"]["values"]
    assert values["weights"] == pytest.approx([1, 1, 1, 10 / 28, 8 / 28, 5 / 28, 3 / 28])
    a = data["posterior_mean"]
    assert isinstance(a, float)
    want = [s ** math.exp(a) for s in SKELETON]
    assert data["ptox"] == pytest.approx(want, rel=1e-12)
    gaps = [abs(p - 0.25) for p in want]
    assert data["mtd"] == gaps.index(min(gaps)) + 1
    assert data["next_dose"] == min(data["mtd"], data["current_dose"] + 1)


def test_bf_boin_decide_lists_the_doses_open_for_backfill(
    files: dict[str, Path], tmp_path: Path
) -> None:
    """Day 45: the cohort at dose 2 is pending; dose 1 (0/3 complete, a response seen on day
    28, 3 escalation + 1 backfill <= n_cap 12) is open (spec §4 C1-C3): backfill there.
    Without the response it is closed (C1) and the next patient is turned away."""
    data = run_json("decide", files["bf-boin"], "--patients", files["patients"], "--now", 45)
    assert data["action"] == "suspend" and data["current_dose"] == 2
    assert data["backfill_open"] == [1]
    assert data["reason"]["values"]["backfill_dose"] == 1
    no_resp = tmp_path / "no_response.csv"
    no_resp.write_text(PATIENTS.replace("1,0,0,,1,20,", "1,0,0,,0,,"))
    data = run_json("decide", files["bf-boin"], "--patients", no_resp, "--now", 45)
    assert data["backfill_open"] == []
    assert data["reason"]["values"]["backfill_dose"] is None


@pytest.mark.parametrize("name", ["crm", "crm-calibrated", "keyboard", "mtpi2", "i3+3"])
def test_complete_data_designs_suspend_on_pending(files: dict[str, Path], name: str) -> None:
    code, _out, stderr = run("decide", files[name], "--patients", files["patients"], "--now", 45)
    assert code != 0 and "patients[6].backfill" in stderr  # no backfill cohorts
    data = run_json("decide", files[name], "--patients", files["patients_esc"], "--now", 45)
    assert data["action"] == "suspend"
    assert data["reason"]["values"]["pending"] == 4


def test_bf_boin_completed_backfill_enters_the_decision(files: dict[str, Path]) -> None:
    """Backfill DLTs count at their dose once complete (spec §3): 0/3 at dose 1 with 2 DLTs in
    2 completed backfill patients is 2/5 -> D at dose 1 (b_d(5) = 2) -> a lower dose is
    impossible: stay (no elimination: b_elim(5) = 3)."""
    csv = files["patients"].parent / "bf_dlt.csv"
    csv.write_text(
        "dose,entry_day,tox,tox_day,eff,eff_day,cohort\n"
        "1,0,0,,1,20,escalation\n1,2,0,,0,,escalation\n1,4,0,,0,,escalation\n"
        "2,35,0,,0,,escalation\n2,37,0,,0,,escalation\n2,40,0,,0,,escalation\n"
        "1,41,1,5,,,backfill\n1,42,1,3,,,backfill\n"
    )
    data = run_json("decide", files["bf-boin"], "--patients", csv, "--now", 70)
    values = data["reason"]["values"]
    assert values["n_complete"][:2] == [5, 3] and values["y_complete"][:2] == [2, 0]
    # conflict (a): dose 2 is E but dose 1 is D -> pool 2/8 <= b_e(8)? b_e(8) = 1 -> no;
    # 2 < b_d(8) = 3 -> stay at dose 2
    assert data["next_dose"] == 2 and data["action"] == "stay"


# ------------------------------------------------------------------ select
@pytest.mark.parametrize("name", ["crm", "crm-calibrated", "tite-crm"])
def test_crm_select_json(files: dict[str, Path], name: str) -> None:
    data = run_json("select", files[name], "--outcomes", "1NNN 2NNT 2NNN")
    a = data["posterior_mean"]
    assert isinstance(a, float)
    design = _design(name)
    sk = design.skeleton_values
    if design.model == "logistic":
        want = [1 / (1 + math.exp(-3 - math.exp(a) * (math.log(s / (1 - s)) - 3))) for s in sk]
    else:
        want = [s ** math.exp(a) for s in sk]
    assert data["ptox"] == pytest.approx(want, rel=1e-10)
    gaps = [abs(p - 0.25) for p in want]
    assert data["mtd"] == gaps.index(min(gaps)) + 1


@pytest.mark.parametrize("name", INTERVAL)
def test_interval_select_json_is_the_isotonic_mtd(files: dict[str, Path], name: str) -> None:
    """0/3, 1/6, 2/3 at doses 1-3: isotonic estimates 0, 1/6, 2/3 -> closest to 0.25 is dose 2
    (1/6 + tiny tie-break increments do not change it)."""
    data = run_json("select", files[name], "--outcomes", "1NNN 2NNT 2NNN 3TTN")
    assert data["mtd"] == 2
    est = {e["dose"]: e for e in data["estimates"]}
    assert est[2]["n"] == 6 and est[2]["n_tox"] == 1


def test_bf_boin_select_uses_completed_backfill(files: dict[str, Path], tmp_path: Path) -> None:
    csv = tmp_path / "complete.csv"
    csv.write_text(
        "dose,entry_day,tox,tox_day,eff,eff_day,cohort\n"
        "1,0,0,,1,20,escalation\n1,2,0,,0,,escalation\n1,4,0,,0,,escalation\n"
        "2,35,0,,0,,escalation\n2,37,1,4,0,,escalation\n2,40,0,,0,,escalation\n"
        "1,41,0,,,,backfill\n"
    )
    data = run_json("select", files["bf-boin"], "--patients", csv, "--now", 80)
    est = {e["dose"]: e for e in data["estimates"]}
    assert est[1]["n"] == 4 and est[2]["n"] == 3 and est[2]["n_tox"] == 1
    assert data["mtd"] == 2


# ------------------------------------------------------------------ simulate and compare
@pytest.mark.parametrize("name", NEW)
def test_simulate_json(files: dict[str, Path], name: str) -> None:
    code, out, err = run(
        "simulate", files[name], "--scenario", files["scenarios"], "--trials", 150,
        "--seed", 3, "--json", "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    results = json.loads(out)
    results = results if isinstance(results, list) else [results]
    assert [r["scenario"]["name"] for r in results] == ["S1", "S2"]
    design = _design(name)
    for r in results:
        pd_, trial = r["per_dose"], r["trial"]
        assert sum(pd_["selection_pct"]) + trial["no_selection_pct"] == pytest.approx(100)
        total = sum(pd_["mean_patients"])
        assert trial["total_n"] == pytest.approx(total)
        if name != "bf-boin":
            assert total <= design.max_n + 1e-9
        if name in ("tite-crm", "bf-boin"):
            assert trial["duration"] > 0
        if name == "bf-boin":
            esc, bf = (
                np.array(pd_["mean_patients_escalation"]),
                np.array(pd_["mean_patients_backfill"]),
            )
            np.testing.assert_allclose(esc + bf, pd_["mean_patients"])
            np.testing.assert_allclose(
                np.array(pd_["mean_dlt_escalation"]) + np.array(pd_["mean_dlt_backfill"]),
                pd_["mean_dlt"],
            )
            assert esc.sum() <= design.max_n + 1e-9
            assert bf[-1] == 0  # never backfilled at the top dose
            assert trial["total_backfill"] == pytest.approx(bf.sum())
            assert 0 <= trial["suspended_time"] < trial["duration"]
            assert trial["turned_away"] >= 0
            if r["scenario"]["name"] == "S2":  # no response: nothing ever open for backfill
                assert bf.sum() == 0 and trial["turned_away"] > 0
            else:
                assert bf.sum() > 0


def test_compare_boin_boin12_crm_bf_boin_common_random_numbers(files: dict[str, Path]) -> None:
    """BOIN, BOIN12, CRM and BF-BOIN on the same scenarios; in S2 (no response, so no backfill)
    BF-BOIN is BOIN on the same latent patients: identical per-dose results."""
    code, out, err = run(
        "compare", files["boin"], files["boin12"], files["crm"], files["bf-boin-plain"],
        "--scenario", files["scenarios"], "--trials", 200, "--seed", 5, "--json",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    rows = data["per_dose"]
    designs = {(r["design"], r["scenario"]) for r in rows}
    names = ("boin", "boin12", "crm", "bf-boin-plain")  # named by their files
    assert designs == {(d, s) for d in names for s in ("S1", "S2")}

    def col(design: str, scenario: str, key: str) -> list[float]:
        return [r[key] for r in rows if r["design"] == design and r["scenario"] == scenario]

    bf = "bf-boin-plain"
    for key in ("selection_pct", "mean_patients", "mean_dlt"):
        assert col(bf, "S2", key) == pytest.approx(col("boin", "S2", key), abs=1e-12)
    assert col(bf, "S1", "selection_pct") != col("boin", "S1", "selection_pct")
    assert sum(col(bf, "S1", "mean_patients_backfill")) > 0
    metrics = {(r["design"], r["scenario"], r["metric"]) for r in data["trial"]}
    assert (bf, "S1", "duration") in metrics
    assert (bf, "S1", "turned_away") in metrics


# ------------------------------------------------------------------ report and pathways
@pytest.mark.parametrize("name", NEW)
def test_paths_are_the_decisions(files: dict[str, Path], name: str) -> None:
    """Every branch of the first cohort is what ``decide`` gives on that outcome."""
    data = run_json("paths", files[name], "--cohorts", 1)
    nodes = data["paths"]
    assert isinstance(nodes, list)
    size = _design(name).cohort_size
    children = [n for n in nodes if n["depth"] == 1]
    assert len(children) == size + 1
    assert nodes[0]["next_dose"] == 1
    for node in children:
        dec = run_json("decide", files[name], "--outcomes", node["path"])
        assert node["next_dose"] == dec["next_dose"], (node, dec)
        assert node["action"] == dec["action"]


@pytest.mark.parametrize("name", NEW)
def test_report_html(files: dict[str, Path], name: str, tmp_path: Path) -> None:
    code, _out, err = run(
        "report", files[name], "--scenarios", files["scenarios"], "--trials", 40,
        "--format", "html", "-o", tmp_path, "--pathway-cohorts", 1,
    )  # fmt: skip
    assert code == 0, err
    html = (tmp_path / "report.html").read_text()
    title = {"crm-calibrated": "CRM", "i3+3": "i3+3", "mtpi2": "mTPI-2"}.get(name, name.upper())
    assert f"{title} design" in html or title in html
    assert "Dose-transition pathways" in html and "Scenario S1: per dose" in html
    if name.startswith("crm") or name == "tite-crm":
        assert "skeleton" in html
    if name == "bf-boin":
        for text in ("Backfill patients", "Backfill DLTs", "Patients turned away",
                     "Time accrual suspended", "Duration"):  # fmt: skip
            assert text in html, text


# ------------------------------------------------------------------ invariants
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(NEW), data=st.data())
def test_never_skip_never_eliminated(name: str, data: st.DataObject) -> None:
    """On any complete history: the next dose is at most one above the highest dose tried and
    never an eliminated dose (carried or new)."""
    design = _design(name)
    state = data.draw(histories(design.num_doses, 15, pending=False))
    if not state.patients:
        return  # the start dose
    dec = design.decide(state, 1000000.0) if name == "tite-crm" else design.decide(state)
    if dec.next_dose is None or dec.action is Action.STOP:
        return
    tried = max([p.dose for p in state.patients] + [state.current_dose or design.start_dose])
    assert dec.next_dose <= tried + 1, (state, dec)
    assert dec.next_dose not in dec.eliminated, (state, dec)
    assert dec.next_dose not in state.eliminated, (state, dec)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), assign=st.sampled_from(["highest", "lowest"]))
def test_backfill_only_at_an_open_dose(data: st.DataObject, assign: str) -> None:
    """BF-BOIN with pending escalation outcomes: the backfill dose is one of ``backfill_open``,
    below the current dose, never eliminated, with an escalation response at it (C1) and at
    most n_cap patients (C3)."""
    design = BFBOIN(num_doses=4, target=0.25, cohort_size=3, max_n=24, n_cap=6,
                    backfill_assign=assign)  # fmt: skip
    state = data.draw(histories(4, 15, efficacy=True))
    if not state.patients:
        return
    dec = design.decide(state)
    if dec.action is not Action.SUSPEND:
        return
    values = dec.reason.values
    opened = values.get("backfill_open", [])
    cur = dec.current_dose
    assert cur is not None
    assert opened == backfill_open(design, state, cur)
    for j in opened:
        assert j < cur and j not in dec.eliminated
        at = [p for p in state.patients if p.dose == j]
        assert any(p.eff is True and not p.backfill for p in at)
        assert len(at) <= design.n_cap
    bd = values.get("backfill_dose")
    assert bd is None or bd in opened
    assert isinstance(state, TrialState)


@pytest.mark.parametrize("name", NEW)
def test_simulated_trials_never_skip(name: str) -> None:
    """Simulated dose sequences (escalation patients) never go above the highest dose tried + 1."""
    from doseladder.simulate.engine import simulate
    from doseladder.simulate.scenario import Accrual, Scenario

    design = _design(name)
    sc = Scenario(
        p_tox=(0.02, 0.05, 0.1, 0.15, 0.6), p_eff=(0.5,) * 5, accrual=Accrual("poisson", 0.3)
    )
    res = simulate(design, sc, 300, seed=9, keep_trials=True)
    a = res.trials
    assert a is not None
    for seq in a.dose_seq:
        seq = seq[seq > 0]
        top = design.start_dose
        for d in seq:
            assert d <= top + 1
            top = max(top, int(d))


def test_tite_crm_select_with_pending_names_the_pending_outcomes(files: dict[str, Path]) -> None:
    """``select`` is on complete data: pending outcomes are the error (not a missing --now)."""
    code, _out, stderr = run(
        "select", files["tite-crm"], "--patients", files["patients_esc"], "--now", 45, "--json"
    )
    assert code != 0
    err = json.loads(stderr)["error"]
    assert err["field"] == "state" and "pending" in err["reason"]


def test_bf_boin_incomplete_cohort_at_an_eliminated_dose_moves_below(
    files: dict[str, Path],
) -> None:
    """Found by the invariant test: 1 patient at dose 2 with dose 2 eliminated (from outside
    the design) used to 'stay' at the eliminated dose; the next escalation patient now goes to
    the highest dose below that is not eliminated, and the trial stops when none is left."""
    code, out, _err = run(
        "decide", files["bf-boin-plain"], "--outcomes", "1NNN 2N", "--eliminated", "2,3,4,5",
        "--json",
    )  # fmt: skip
    assert code == 0
    got = json.loads(out)
    assert (got["action"], got["next_dose"]) == ("de-escalate", 1)
    assert got["reason"]["rule"] == "bf_boin.current_eliminated"
    code, out, _err = run(
        "decide", files["bf-boin-plain"], "--outcomes", "1NNN 2N", "--eliminated", "1,2,3,4,5",
        "--json",
    )  # fmt: skip
    assert code == 0
    got = json.loads(out)
    assert got["action"] == "stop" and got["next_dose"] is None


# ------------------------------------------------------------------ seed 000: driving indication
#: the seed-000 protocol (STR-P004: SLE-ITP drives, SLE-other and IIM enrol at confirmed-safe
#: doses) with each new design in place of TITE-BOIN12 (the fallback DL1 -> DL-1 kept)
DRIVING_DESIGNS: dict[str, dict[str, Any]] = {
    "keyboard": {"design": "keyboard", "target": 0.3},
    "mtpi2": {"design": "mtpi2", "target": 0.3},
    "i3+3": {"design": "i3+3", "target": 0.3},
    "crm": {"design": "crm", "target": 0.3, "halfwidth": 0.08, "prior_mtd": 2},
    "tite-crm": {"design": "tite-crm", "target": 0.3, "halfwidth": 0.08, "prior_mtd": 2},
}
#: the words of each design's rule in the protocol text
RULE_WORDS = {
    "keyboard": "the Keyboard decision table at the dose's number of subjects",
    "mtpi2": "the mTPI-2 decision table at the dose's number of subjects",
    "i3+3": "the i3+3 decision table at the dose's number of subjects",
    "crm": "the dose is at or below the dose recommended by the CRM model fitted to the driving "
    "cohort's known DLT outcomes only",
    "tite-crm": "the dose is at or below the dose recommended by the CRM model fitted to the "
    "driving cohort's known DLT outcomes only",
}
#: SLE-ITP: DL1 0/3 (run-in passed), DL2 2/3, back at DL1 with 3 more 0/3; every DLT outcome
#: known at day 130
SEED000_PATIENTS = """dose,entry_day,tox,tox_day,eff,eff_day,indication
DL1,0,0,,0,,SLE-ITP
DL1,3,0,,0,,SLE-ITP
DL1,6,0,,0,,SLE-ITP
DL2,40,1,10,,,SLE-ITP
DL2,42,1,12,,,SLE-ITP
DL2,44,0,,,,SLE-ITP
DL1,80,0,,,,SLE-ITP
DL1,82,0,,,,SLE-ITP
DL1,84,0,,,,SLE-ITP
"""


def seed000_with(root: Path, design: dict[str, Any], **other: Any) -> Path:
    """The shipped seed-000 protocol with ``design`` (start DL1, cohorts of 3, 39 subjects)
    and ``other`` merged into ``rules.other_indications``; written to ``root``."""
    import yaml

    from doseladder.protocols import library_dir

    data = yaml.safe_load((library_dir() / "str-p004-nct07143617.yaml").read_text())
    data["design"] = {"start_dose": "DL1", "cohort_size": 3, "max_n": 39, **design}
    data["rules"]["other_indications"].update(other)
    tag = "-".join([design["design"], *(f"{k}-{v}" for k, v in other.items())])
    path = root / f"seed000-{tag}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def _entries(data: dict[str, Any]) -> dict[str, Any]:
    return {e["indication"]: e for e in data["indications"]}


@pytest.mark.parametrize("name", list(DRIVING_DESIGNS))
def test_seed000_with_new_design_validates_and_describes_its_rule(
    name: str, tmp_path: Path
) -> None:
    """Seed 000's driving-indication rules accept every new design: ``protocol validate``
    passes and ``protocol show`` states the design's own confirmed-safe rule in words."""
    path = seed000_with(tmp_path, DRIVING_DESIGNS[name])
    code, out, err = run("protocol", "validate", path)
    assert code == 0, (out, err)
    assert f"design {name}" in out
    code, out, err = run("protocol", "show", path)
    assert code == 0, err
    text = " ".join(out.split())
    assert "Other indications: subjects of other indications are enrolled only at a dose" in text
    assert RULE_WORDS[name] in text


def test_seed000_crm_overdose_control_option(tmp_path: Path) -> None:
    """``crm_rule: overdose_control`` is described with its cutoff; the CRM options are
    refused for another design, naming the key."""
    crm = seed000_with(
        tmp_path, DRIVING_DESIGNS["crm"], crm_rule="overdose_control", crm_overdose_cutoff=0.3
    )
    code, out, err = run("protocol", "show", crm)
    assert code == 0, err
    text = " ".join(out.split())
    assert "the posterior probability that the DLT rate at the dose exceeds the target 0.3 is " \
        "at most 0.3 (escalation with overdose control" in text  # fmt: skip
    kb = seed000_with(tmp_path, DRIVING_DESIGNS["keyboard"], crm_rule="overdose_control")
    code, out, err = run("protocol", "validate", kb)
    assert code == 2
    assert "other_indications.crm_rule" in err + out


@pytest.mark.parametrize("name", list(DRIVING_DESIGNS))
def test_seed000_recommend_confirms_doses_by_the_design_rule(name: str, tmp_path: Path) -> None:
    """``protocol recommend`` (dose_cap any_confirmed, so DL2 is offered whenever it is
    confirmed): DL1 (0/6) is confirmed; DL2 (2/3) is confirmed exactly when the design's own
    decision there is not de-escalation -- for the interval designs the letter of the decision
    table that ``doseladder table`` prints for the protocol; for the CRMs whether the dose the
    driving decision's CRM fit recommends (all outcomes known: the same fit) is DL2."""
    path = seed000_with(tmp_path, DRIVING_DESIGNS[name], dose_cap="any_confirmed")
    csv = tmp_path / "patients.csv"
    csv.write_text(SEED000_PATIENTS)
    data = run_json("protocol", "recommend", path, "--patients", csv, "--now", 130)
    entries = _entries(data)
    drv = entries["SLE-ITP"]
    other = entries["SLE-other"]
    safety = {s["label"]: s for s in other["reason"]["values"]["dose_safety"]}
    assert (safety["DL1"]["n_known"], safety["DL1"]["dlts"]) == (6, 0)
    assert (safety["DL2"]["n_known"], safety["DL2"]["dlts"]) == (3, 2)
    assert safety["DL1"]["confirmed"]
    if name in ("crm", "tite-crm"):
        assert drv["reason"]["rule"].endswith(".escalate")
        mtd = drv["reason"]["values"]["mtd"]
        want = mtd >= 3
    else:
        table = run_json("table", path)["tables"]["decisions"]
        letter = next(r["n=3"] for r in table if r["y"] == 2)
        want = letter in ("E", "S")
        if not want:
            assert f"decision is de-escalate ({letter})" in safety["DL2"]["why"]
    assert safety["DL2"]["confirmed"] is want
    assert other["status"] == "enrol"
    assert other["dose_label"] == ("DL2" if want else "DL1")
    assert entries["IIM"]["dose_label"] == other["dose_label"]


def test_seed000_crm_overdose_control_is_the_posterior_tail(tmp_path: Path) -> None:
    """``crm_rule: overdose_control``: DL2 is offered exactly when Pr(p_DL2 > 0.3 | the known
    SLE-ITP outcomes), computed here on a grid, is at most the cutoff; with a cutoff on each
    side of it both answers occur."""
    from ..core.rules.test_deescalation_verdict import _grid_posterior_above

    csv = tmp_path / "patients.csv"
    csv.write_text(SEED000_PATIENTS)
    design = design_from_mapping({**DRIVING_DESIGNS["crm"], "num_doses": 3})
    prob = _grid_posterior_above(design, [0, 6, 3], [0, 0, 2], 3)
    assert 0.05 < prob < 0.95
    for cutoff in (round(prob - 0.04, 3), round(prob + 0.04, 3)):
        path = seed000_with(
            tmp_path,
            DRIVING_DESIGNS["crm"],
            dose_cap="any_confirmed",
            crm_rule="overdose_control",
            crm_overdose_cutoff=cutoff,
        )
        data = run_json("protocol", "recommend", path, "--patients", csv, "--now", 130)
        other = _entries(data)["SLE-other"]
        assert other["dose_label"] == ("DL2" if prob <= cutoff else "DL1"), (prob, cutoff)


@pytest.mark.parametrize("name", list(DRIVING_DESIGNS))
def test_seed000_simulate_protocol_with_new_design(name: str, tmp_path: Path) -> None:
    """``simulate-protocol`` runs seed 000 with the design driving: the other indications are
    enrolled (at confirmed-safe doses), the driving cohort selects doses."""
    from doseladder.protocols import library_dir

    path = seed000_with(tmp_path, DRIVING_DESIGNS[name])
    sc = library_dir() / "scenarios" / "str-p004-nct07143617.yaml"
    data = run_json("simulate-protocol", path, "--scenario", sc, "--trials", 60, "--seed", 4)
    rows = data["per_dose"]
    by_ind: dict[str, float] = {}
    for r in rows:
        by_ind[r["indication"]] = by_ind.get(r["indication"], 0.0) + r["mean_patients"]
    assert by_ind["SLE-other"] > 1 and by_ind["IIM"] > 1
    sel = sum(r["selection_pct"] or 0.0 for r in rows if r["indication"] == "SLE-ITP")
    assert 50.0 < sel <= 100.0 + 1e-9


@pytest.mark.parametrize(("name", "trials"), [("keyboard", 60), ("crm", 30)])
def test_seed000_protocol_simulation_equals_recommend(name: str, trials: int) -> None:
    """Every simulated evaluation of seed 000 with the design driving -- the driving entry and
    every other indication's entry -- equals the core's ``recommend`` (the simulation's
    confirmed-safe doses are the core rule's array form)."""
    import yaml

    from doseladder.io.scenario_file import load_protocol_scenario
    from doseladder.protocols import library_dir, protocol_from_dict
    from doseladder.simulate.protocol import ProtocolSetup

    from ..simulate.test_protocol import check_against_core

    data = yaml.safe_load((library_dir() / "str-p004-nct07143617.yaml").read_text())
    data["design"] = {"start_dose": "DL1", "cohort_size": 3, "max_n": 39, **DRIVING_DESIGNS[name]}
    sc = load_protocol_scenario(library_dir() / "scenarios" / "str-p004-nct07143617.yaml")
    seen = check_against_core(ProtocolSetup.from_protocol(protocol_from_dict(data), sc), trials, 8)
    assert seen["other:driving_indication.confirmed_safe"] > trials, seen
    assert seen["other:driving_indication.no_confirmed_dose"] > 0, seen
