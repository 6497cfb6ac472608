"""The per-design "toxicity decision at a dose is not de-escalation" rule
(:mod:`doseladder.core.rules.deescalation_verdict`), checked against each design's own decision
table or decision function by exact enumeration over n <= 12, y <= n, and its array form against
its scalar form by random testing (random parameters of every design, random per-dose counts)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from doseladder.core.decision import Action
from doseladder.core.designs import (
    BOIN,
    BOIN12,
    CRM,
    I3P3,
    MTPI2,
    TITEBOIN,
    TITECRM,
    Design,
    Keyboard,
    ThreePlusThree,
)
from doseladder.core.designs.crm_model import crm_dosescaled
from doseladder.core.errors import InputError
from doseladder.core.rules import OtherIndicationPolicy
from doseladder.core.rules.deescalation_verdict import deescalation_rule
from doseladder.core.state import Patient, TrialState
from doseladder.io.design_file import design_from_dict

N_MAX = 12
PAIRS = [(n, y) for n in range(1, N_MAX + 1) for y in range(n + 1)]


def one_dose(rule_design: Design, n: int, y: int, dose: int = 2) -> bool:
    """The verdict at ``dose`` with n known outcomes and y DLTs there and none elsewhere."""
    num = rule_design.num_doses
    nn, yy = [0] * num, [0] * num
    nn[dose - 1], yy[dose - 1] = n, y
    return deescalation_rule(rule_design).verdicts(nn, yy)[dose - 1].ok


# ------------------------------------------------------------------ exact enumeration
@pytest.mark.parametrize(
    "design",
    [
        Keyboard(num_doses=3, target=0.3),
        Keyboard(num_doses=3, target=0.2, margin_left=0.03, margin_right=0.07, cutoff_eli=0.9),
        MTPI2(num_doses=3, target=0.25),
        MTPI2(num_doses=3, target=0.3, epsilon1=0.03, epsilon2=0.08, cutoff_eli=0.9),
        I3P3(num_doses=3, target=0.3),
        I3P3(num_doses=3, target=0.2, ei_low=0.15, ei_high=0.25),
    ],
    ids=lambda d: d.name,
)
def test_interval_verdict_is_the_design_decision_table(design: Any) -> None:
    """Keyboard, mTPI-2, i3+3: ok exactly where the design's published decision table
    (``tables()['decisions']``) says E or S, for every n <= 12, y <= n."""
    wide = design.tables()["decisions"].set_index("y")
    for n, y in PAIRS:
        if f"n={n}" not in wide.columns:
            continue
        letter = wide.loc[y, f"n={n}"]
        assert one_dose(design, n, y) == (letter in ("E", "S")), (n, y, letter)


def _history(num: int, n: int, y: int, dose: int = 2) -> TrialState:
    """Three patients without DLT at dose 1, then n patients with y DLTs at ``dose`` (the
    current dose), every outcome known."""
    pts = [Patient(1, entry_time=float(i), tox=False) for i in range(3)]
    pts += [Patient(dose, entry_time=3.0 + i, tox=i < y) for i in range(n)]
    return TrialState(num, tuple(pts))


@pytest.mark.parametrize(
    "design",
    [
        BOIN(num_doses=3, target=0.3, max_n=100),
        BOIN(num_doses=3, target=0.2, max_n=100, cutoff_eli=0.9),
        TITEBOIN(num_doses=3, target=0.25, max_n=100, tox_window=28.0),
        Keyboard(num_doses=3, target=0.3, max_n=100),
        MTPI2(num_doses=3, target=0.25, max_n=100),
        I3P3(num_doses=3, target=0.3, max_n=100),
    ],
    ids=lambda d: d.name,
)
def test_verdict_is_the_design_decision_at_the_current_dose(design: Design) -> None:
    """With the dose as the current dose and its n known outcomes (dose 1 clear), the design's
    own ``decide`` de-escalates (or stops for toxicity) exactly where the verdict is not ok."""
    for n, y in PAIRS:
        dec = design.decide(_history(3, n, y), None)
        deesc = dec.action is Action.DEESCALATE or (
            dec.action is Action.STOP and dec.next_dose is None
        )
        assert one_dose(design, n, y) == (not deesc), (n, y, dec.reason.rule)


@pytest.mark.parametrize("n", [3, 6])
def test_three_plus_three_verdict_is_its_decision(n: int) -> None:
    """3+3 (both variants): ok exactly where the design does not call the dose too toxic."""
    for allow in (False, True):
        design = ThreePlusThree(num_doses=3, allow_deescalate=allow)
        for y in range(n + 1):
            pts = [Patient(1, entry_time=float(i), tox=False) for i in range(6)]
            pts += [Patient(2, entry_time=10.0 + i, tox=i < y) for i in range(n)]
            dec = design.decide(TrialState(3, tuple(pts)))
            too_toxic = dec.reason.rule.endswith(("deescalate", "too_toxic", "stop"))
            assert one_dose(design, n, y) == (y < 2)
            assert too_toxic == (y >= 2), (n, y, dec.reason.rule)


def test_boin12_verdict_is_its_toxicity_boundary() -> None:
    design = BOIN12(num_doses=3)
    for n, y in PAIRS:
        assert one_dose(design, n, y) == (y / n < design.lambda_d)


CRMS = [
    CRM(num_doses=4, target=0.3, halfwidth=0.08, prior_mtd=2, max_n=100),
    CRM(num_doses=4, target=0.25, skeleton=(0.05, 0.12, 0.25, 0.4), model="logistic", max_n=100),
    TITECRM(num_doses=4, target=0.3, halfwidth=0.06, prior_mtd=3, tox_window=28.0, max_n=100),
]


@pytest.mark.parametrize("design", CRMS, ids=lambda d: d.name + d.model)
def test_crm_recommended_is_the_crm_decision_at_that_dose(design: Any) -> None:
    """``crm_rule: recommended``: with the dose as the current dose (its last cohort without
    DLT, so no coherence cap) the CRM's own ``decide`` de-escalates exactly where the verdict
    is not ok; exact enumeration of the counts at dose 2, dose 1 with 3 clear."""
    for n, y in PAIRS:
        pts = [Patient(1, entry_time=float(i), tox=False, cohort=0) for i in range(3)]
        pts += [Patient(2, entry_time=3.0 + i, tox=i < y, cohort=1) for i in range(n)]
        pts.append(Patient(2, entry_time=99.0, tox=False, cohort=2))  # the last cohort: clear
        state = TrialState(4, tuple(pts))
        dec = design.decide(state, None)
        v = deescalation_rule(design).verdicts([3, n + 1, 0, 0], [0, y, 0, 0])
        assert v[1].ok == (dec.action is not Action.DEESCALATE), (n, y, dec.reason.message)
        assert not v[2].ok and "no driving subject" in v[2].why


def _grid_posterior_above(design: Any, n: list[int], y: list[int], dose: int) -> float:
    """Pr(p_dose > target | data) by brute force on a fine grid of the parameter a (an
    independent reference for ``overdose_control``)."""
    ds = crm_dosescaled(design.skeleton_values, design.model, float(design.intercept))
    sd = float(design.prior_sd)
    a = np.linspace(-12 * sd, 12 * sd, 400_001)
    ea = np.exp(a)
    if design.model == "empiric":
        pt = np.power(np.asarray(ds)[None, :], ea[:, None])
    else:
        eta = float(design.intercept) + ea[:, None] * np.asarray(ds)[None, :]
        pt = np.exp(-np.logaddexp(0.0, -eta))
    loglik = np.zeros_like(a)
    with np.errstate(divide="ignore"):  # p underflows to 0 or 1 at the grid's ends
        for j, (nj, yj) in enumerate(zip(n, y, strict=True)):
            if yj:
                loglik += yj * np.log(pt[:, j])
            if nj - yj:
                loglik += (nj - yj) * np.log1p(-pt[:, j])
    logpost = loglik - a * a / (2 * sd * sd)
    w = np.exp(logpost - logpost.max())
    return float(w[pt[:, dose - 1] > design.target].sum() / w.sum())


@pytest.mark.parametrize("design", CRMS[:2], ids=lambda d: d.model)
@pytest.mark.parametrize("cutoff", [0.25, 0.5])
def test_crm_overdose_control_is_the_posterior_tail(design: Any, cutoff: float) -> None:
    rule = deescalation_rule(design, crm_rule="overdose_control", crm_overdose_cutoff=cutoff)
    seen = set()
    for n, y in PAIRS[::3]:
        nn, yy = [3, n, 0, 0], [0, y, 0, 0]
        ref = _grid_posterior_above(design, nn, yy, 2)
        if abs(ref - cutoff) < 1e-3:
            continue
        ok = rule.verdicts(nn, yy)[1].ok
        assert ok == (ref <= cutoff), (n, y, ref)
        seen.add(ok)
    assert seen == {True, False}


def test_overdose_control_is_monotone_in_the_cutoff() -> None:
    design = CRMS[0]
    loose = deescalation_rule(design, crm_rule="overdose_control", crm_overdose_cutoff=0.5)
    tight = deescalation_rule(design, crm_rule="overdose_control", crm_overdose_cutoff=0.1)
    for n, y in PAIRS:
        nn, yy = [3, n, 0, 0], [0, y, 0, 0]
        assert not tight.verdicts(nn, yy)[1].ok or loose.verdicts(nn, yy)[1].ok


# ------------------------------------------------------------------ options and errors
def test_crm_options_are_refused_where_they_do_not_apply() -> None:
    boin = BOIN(num_doses=3, target=0.3)
    with pytest.raises(InputError) as err:
        OtherIndicationPolicy(crm_rule="overdose_control").deescalation_rule(boin)
    assert err.value.field == "other_indications.crm_rule"
    with pytest.raises(InputError) as err:
        OtherIndicationPolicy(crm_overdose_cutoff=0.3)
    assert err.value.field == "other_indications.crm_overdose_cutoff"
    with pytest.raises(InputError) as err:
        OtherIndicationPolicy(crm_rule="ewoc")  # type: ignore[arg-type]
    assert err.value.field == "other_indications.crm_rule"
    with pytest.raises(InputError) as err:
        deescalation_rule(CRMS[0], crm_rule="overdose_control", crm_overdose_cutoff=1.5)
    assert err.value.field == "other_indications.crm_overdose_cutoff"
    with pytest.raises(InputError) as err:
        deescalation_rule(boin).verdicts([3, 3, 3], [0, 4, 0])
    assert err.value.field == "y[2]"


def test_texts_name_each_rule() -> None:
    texts = {
        d.name: deescalation_rule(d).text
        for d in (BOIN(num_doses=3, target=0.3), ThreePlusThree(num_doses=3), *CRMS[:1])
    }
    texts["keyboard"] = deescalation_rule(Keyboard(num_doses=3, target=0.3)).text
    assert "λd = " in texts["boin"]
    assert "fewer than 2 DLTs" in texts["3+3"]
    assert "Keyboard decision table" in texts["keyboard"]
    assert "recommended by the CRM model" in texts["crm"]
    ewoc = deescalation_rule(CRMS[0], crm_rule="overdose_control").text
    assert "at most 0.25" in ewoc and "overdose control" in ewoc


# ------------------------------------------------------------------ array = scalar
@st.composite
def any_design(draw: st.DrawFn) -> tuple[Design, dict[str, Any]]:
    num = draw(st.integers(1, 5))
    name = draw(
        st.sampled_from(
            ["boin", "tite-boin", "boin12", "3+3", "keyboard", "mtpi2", "i3+3", "crm", "tite-crm"]
        )
    )
    data: dict[str, Any] = {"design": name, "num_doses": num}
    target = draw(st.sampled_from([0.2, 0.25, 0.3, 0.35]))
    opts: dict[str, Any] = {}
    if name in ("boin", "tite-boin"):
        data.update(target=target, cutoff_eli=draw(st.sampled_from([0.9, 0.95])))
        if name == "tite-boin":
            data["tox_window"] = 28.0
    elif name == "keyboard":
        data.update(
            target=target,
            margin_left=draw(st.sampled_from([0.03, 0.05])),
            margin_right=draw(st.sampled_from([0.05, 0.07])),
            cutoff_eli=draw(st.sampled_from([0.9, 0.95])),
        )
    elif name == "mtpi2":
        data.update(
            target=target,
            epsilon1=draw(st.sampled_from([0.03, 0.05])),
            epsilon2=draw(st.sampled_from([0.05, 0.08])),
        )
    elif name == "i3+3":
        data.update(
            target=target, ei_low=target - 0.05, ei_high=target + draw(st.sampled_from([0.05, 0.1]))
        )
    elif name in ("crm", "tite-crm"):
        data.update(
            target=target,
            halfwidth=draw(st.sampled_from([0.04, 0.06, 0.08])),
            prior_mtd=draw(st.integers(1, num)),
            model=draw(st.sampled_from(["empiric", "logistic"])),
            prior_sd=draw(st.sampled_from([math.sqrt(1.34), 0.8])),
        )
        if name == "tite-crm":
            data["tox_window"] = 28.0
        opts["crm_rule"] = draw(st.sampled_from(["recommended", "overdose_control"]))
        if opts["crm_rule"] == "overdose_control" and draw(st.booleans()):
            opts["crm_overdose_cutoff"] = draw(st.sampled_from([0.1, 0.25, 0.5]))
    try:
        return design_from_dict(data), opts
    except InputError:
        assume(False)
        raise


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=any_design(), seed=st.integers(0, 2**32 - 1))
def test_array_verdicts_equal_scalar_verdicts(
    spec: tuple[Design, dict[str, Any]], seed: int
) -> None:
    design, opts = spec
    rule = deescalation_rule(design, **opts)
    rng = np.random.default_rng(seed)
    rows, num = 40, design.num_doses
    n = rng.integers(0, 16, (num, rows)) * (rng.random((num, rows)) < 0.8)
    y = rng.binomial(n, rng.uniform(0.0, 0.8, (num, rows)))
    got = rule.verdict_arrays(n.astype(np.int64), y.astype(np.int64))
    assert got.shape == (num, rows) and got.dtype == np.bool_
    for r in range(rows):
        want = [v.ok for v in rule.verdicts([int(v) for v in n[:, r]], [int(v) for v in y[:, r]])]
        if want != got[:, r].tolist() and hasattr(design, "skeleton_values"):
            # the array fit (Gauss-Legendre) and dfcrm's integrate() differ only at near-ties
            assert _crm_near_tie(design, opts, n[:, r], y[:, r]), (r, want, got[:, r])
            continue
        assert want == got[:, r].tolist(), (r, n[:, r], y[:, r])


def _crm_near_tie(design: Any, opts: dict[str, Any], n: np.ndarray, y: np.ndarray) -> bool:
    from doseladder.core.designs.crm_model import prob_dose_above

    levels = [k + 1 for k in range(len(n)) for _ in range(int(n[k]))]
    tox = [int(i < y[k]) for k in range(len(n)) for i in range(int(n[k]))]
    if opts.get("crm_rule", "recommended") == "recommended":
        fit = design.fit(levels, tox)
        gaps = sorted(abs(p - design.target) for p in fit.ptox)
        return len(gaps) > 1 and gaps[1] - gaps[0] < 1e-3
    cutoff = opts.get("crm_overdose_cutoff") or 0.25
    probs = [
        prob_dose_above(
            design.skeleton_values, k + 1, design.target, levels, tox,
            model=design.model, intercept=float(design.intercept), scale=float(design.prior_sd),
        )
        for k in range(len(n))
    ]  # fmt: skip
    return any(abs(p - cutoff) < 1e-6 for p in probs)
