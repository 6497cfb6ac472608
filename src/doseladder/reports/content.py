"""What a report holds, gathered from the lower layers (nothing is computed here).

:func:`build_report` asks the design (or protocol) for its protocol text (``describe()``) and
decision tables (``tables()``), runs the simulation API (:func:`doseladder.simulate.compare`
for a design -- every scenario on common random numbers -- or
:func:`doseladder.simulate.protocol.simulate_protocol` per protocol scenario with the same
seed), enumerates the dose-transition pathways (:mod:`doseladder.core.pathways`) and records
what is needed to reproduce the run.  The renderers (HTML, Word, PDF) format this one object.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from doseladder import __version__
from doseladder.core.designs.base import Design
from doseladder.core.errors import InputError
from doseladder.core.pathways import Pathways, dose_paths, plan_paths
from doseladder.core.state import TrialState
from doseladder.protocols.model import Protocol
from doseladder.simulate.protocol.results import ProtocolSimulationResult
from doseladder.simulate.protocol.scenario import ProtocolScenario
from doseladder.simulate.results import SimulationResult
from doseladder.simulate.scenario import Scenario

__all__ = [
    "NamedTable",
    "ReportContent",
    "Section",
    "build_report",
    "fmt",
    "fmt_se",
    "pathway_table",
]

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Section:
    heading: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class NamedTable:
    """A table ready to print: every cell is already a string."""

    title: str
    frame: pd.DataFrame
    caption: str = ""


@dataclass
class ReportContent:
    """Everything a report shows (see the module docstring)."""

    title: str
    kind: str  # "design" or "protocol"
    subject: Design | Protocol
    design: Design
    dose_labels: tuple[str, ...]
    sections: list[Section]
    decision_tables: list[NamedTable]
    scenario_names: list[str]
    results: list[SimulationResult | ProtocolSimulationResult]
    pathways: Pathways
    n_trials: int
    seed: int
    reproducibility: list[tuple[str, str]] = field(default_factory=list)
    #: where the pathways start, as the captions say it
    pathways_origin: str = "from the start of the trial"

    # ------------------------------------------------------------------ OC tables
    def oc_summary(self) -> NamedTable:
        """One row per scenario: selection % per dose and the trial-level figures."""
        rows = []
        for name, r in zip(self.scenario_names, self.results, strict=True):
            rows.append({"Scenario": name, **_summary_row(r, self.dose_labels)})
        return NamedTable(
            "Operating characteristics across scenarios",
            pd.DataFrame(rows),
            f"{self.n_trials:,} simulated trials per scenario, seed {self.seed}; every figure "
            "is the estimate (Monte-Carlo standard error).",
        )

    def oc_tables(self, index: int) -> list[NamedTable]:
        """Per-dose and trial-level tables of scenario ``index``."""
        r = self.results[index]
        name = self.scenario_names[index]
        if isinstance(r, ProtocolSimulationResult):
            return _protocol_tables(r, name)
        return _design_tables(r, name, self.dose_labels)

    def pathway_table(self) -> NamedTable:
        return pathway_table(self.pathways, self.dose_labels, self.pathways_origin)


def pathway_table(
    pathways: Pathways, labels: Sequence[str], origin: str = "from the start of the trial"
) -> NamedTable:
    """The pathway tree as a printable table (one row per node), with its caption.

    ``origin`` says where the pathways start (e.g. ``"from the start of the trial"``)."""
    t = pathways.table()
    design = pathways.design
    root = "(start)" if pathways.start.n_patients == 0 else "(now)"

    def lab(v: Any) -> str:
        return "—" if v is pd.NA or v is None else labels[int(v) - 1]

    frame = pd.DataFrame(
        {
            "Path": [p or root for p in t["path"]],
            "Cohort": t["depth"].astype(str),
            "Cohort dose": [lab(v) for v in t["cohort_dose"]],
            "Outcomes": [o or "—" for o in t["cohort_outcomes"]],
            "Decision": t["action"],
            "Next dose": [lab(v) for v in t["next_dose"]],
            "Rule": t["rule"],
        }
    )
    letters = "N = no DLT and no response, T = DLT, E = response, B = both"
    if not design.uses_efficacy:
        letters = "N = no DLT, T = DLT"
    size = design.cohort_size
    return NamedTable(
        "Dose-transition pathways",
        frame,
        f"Every outcome of the next {pathways.cohorts} cohort(s) of {size} {origin} and the "
        f"decision after each ({letters}; the order within a cohort does not matter). Paths "
        "are written as dose level (1-based) followed by the cohort's outcomes.",
    )


# ---------------------------------------------------------------------- formatting
def fmt(value: float, digits: int = 1) -> str:
    """A number for a table (``—`` for a missing one)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:.{digits}f}"


def fmt_se(value: float, se: float, digits: int = 1) -> str:
    """``value (se)``; the SE is omitted when it is not defined."""
    v = fmt(value, digits)
    if v == "—":
        return v
    if se is None or not math.isfinite(se):
        return v
    return f"{v} ({se:.{digits}f})"


_LABELS = {
    "no_selection_pct": ("No dose selected, %", 1),
    "early_stop_pct": ("Stopped early, %", 1),
    "select_overdose_pct": ("Selected a dose above the true MTD, %", 1),
    "select_above_mtd_pct": ("Selected a dose above the true MTD, %", 1),
    "correct_obd_pct": ("Selected the true OBD, %", 1),
    "correct_mtd_pct": ("Selected the true MTD, %", 1),
    "fallback_fired_pct": ("Backup-dose fallback fired, %", 1),
    "safety_stop_pct": ("Stopped for safety, %", 1),
    "cap_reached_pct": ("Trial-wide cap reached, %", 1),
    "total_n": ("Patients", 2),
    "total_backfill": ("Backfill patients", 2),
    "total_dlt": ("DLTs", 2),
    "total_responses": ("Responses", 2),
    "pct_patients_above_mtd": ("Patients above the true MTD, %", 1),
    "patients_above_mtd": ("Patients above the true MTD", 2),
    "duration": ("Duration", 1),
    "duration_sd": ("Duration, SD", 1),
    "driving_accrual_time": ("Driving cohort's accrual time", 1),
    "suspended_time": ("Time accrual suspended", 1),
    "trials_with_patients_pct": ("Trials enrolling this indication, %", 1),
    "turned_away": ("Patients turned away", 2),
    "true_mtd": ("True MTD (dose level)", 0),
    "true_obd": ("True OBD (dose level)", 0),
}


def metric_label(name: str) -> tuple[str, int]:
    return _LABELS.get(name, (name.replace("_", " "), 2))


def _sel_cols(per_dose: pd.DataFrame, labels: Sequence[str]) -> dict[str, str]:
    return {
        f"Sel. % {labels[int(r['dose']) - 1]}": fmt_se(r["selection_pct"], r["selection_se"])
        for r in per_dose.to_dict("records")
    }


def _summary_row(
    r: SimulationResult | ProtocolSimulationResult, labels: Sequence[str]
) -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(r, ProtocolSimulationResult):
        carries = r.per_dose[r.per_dose["selection_pct"].notna()]
        first = carries["indication"].iloc[0]
        out.update(_sel_cols(carries[carries["indication"] == first], labels))
        keys = ["no_selection_pct", "safety_stop_pct", "fallback_fired_pct", "total_n", "duration"]
        for key in keys:
            try:
                v, se = r.metric(key), r.metric_se(key)
            except KeyError:
                continue
            label, digits = metric_label(key)
            out[label] = fmt_se(v, se, digits)
        return out
    out.update(_sel_cols(r.per_dose, labels))
    tr = r.trial.set_index("metric")
    for key in ("no_selection_pct", "early_stop_pct", "select_overdose_pct", "total_n", "duration"):
        if key in tr.index:
            label, digits = metric_label(key)
            row: Any = tr.loc[key]
            out[label] = fmt_se(float(row["value"]), float(row["se"]), digits)
    return out


def _design_tables(r: SimulationResult, name: str, labels: Sequence[str]) -> list[NamedTable]:
    pd_ = r.per_dose
    cols: dict[str, list[str]] = {
        "Dose": [labels[int(d) - 1] for d in pd_["dose"]],
        "P(DLT)": [fmt(v, 2) for v in pd_["p_tox"]],
    }
    if "p_eff" in pd_:
        cols["P(response)"] = [fmt(v, 2) for v in pd_["p_eff"]]
    cols["Selected, %"] = [
        fmt_se(v, s) for v, s in zip(pd_.selection_pct, pd_.selection_se, strict=True)
    ]
    cols["Patients"] = [
        fmt_se(v, s, 2) for v, s in zip(pd_.mean_patients, pd_.mean_patients_se, strict=True)
    ]
    cols["DLTs"] = [fmt_se(v, s, 2) for v, s in zip(pd_.mean_dlt, pd_.mean_dlt_se, strict=True)]
    if "mean_patients_backfill" in pd_ and pd_["mean_patients_backfill"].notna().all():
        # backfill designs: the patients and DLTs above split into escalation and backfill
        for col, key in (("Backfill patients", "patients"), ("Backfill DLTs", "dlt")):
            mean, se = pd_[f"mean_{key}_backfill"], pd_[f"mean_{key}_backfill_se"]
            cols[col] = [fmt_se(v, s, 2) for v, s in zip(mean, se, strict=True)]
    if "mean_responses" in pd_:
        cols["Responses"] = [
            fmt_se(v, s, 2) for v, s in zip(pd_.mean_responses, pd_.mean_responses_se, strict=True)
        ]
    rows = []
    for m in r.trial.to_dict("records"):
        label, digits = metric_label(str(m["metric"]))
        rows.append({"Metric": label, "Value (SE)": fmt_se(m["value"], m["se"], digits)})
    return [
        NamedTable(
            f"Scenario {name}: per dose",
            pd.DataFrame(cols),
            "Mean per simulated trial (Monte-Carlo standard error).",
        ),
        NamedTable(f"Scenario {name}: trial level", pd.DataFrame(rows)),
    ]


def _protocol_tables(r: ProtocolSimulationResult, name: str) -> list[NamedTable]:
    pd_ = r.per_dose
    cols = {
        "Indication": list(pd_["indication"]),
        "Role": list(pd_["role"]),
        "Dose": list(pd_["label"]),
        "P(DLT)": [fmt(v, 2) for v in pd_["p_tox"]],
        "P(response)": [fmt(v, 2) for v in pd_["p_eff"]],
        "Selected, %": [
            fmt_se(v, s) if math.isfinite(v) else "n/a"
            for v, s in zip(pd_.selection_pct, pd_.selection_se, strict=True)
        ],
        "Patients": [
            fmt_se(v, s, 2) for v, s in zip(pd_.mean_patients, pd_.mean_patients_se, strict=True)
        ],
        "DLTs": [fmt_se(v, s, 2) for v, s in zip(pd_.mean_dlt, pd_.mean_dlt_se, strict=True)],
        "Responses": [
            fmt_se(v, s, 2) for v, s in zip(pd_.mean_responses, pd_.mean_responses_se, strict=True)
        ],
    }
    rows = []
    for m in r.trial.to_dict("records"):
        label, digits = metric_label(str(m["metric"]))
        rows.append(
            {
                "Scope": str(m["indication"]),
                "Metric": label,
                "Value (SE)": fmt_se(m["value"], m["se"], digits),
            }
        )
    return [
        NamedTable(
            f"Scenario {name}: per indication and dose",
            pd.DataFrame(cols),
            "Mean per simulated trial (Monte-Carlo standard error). The dose is selected from "
            "the driving (or pooled) cohort's data: other indications' selection is n/a.",
        ),
        NamedTable(f"Scenario {name}: trial level and per indication", pd.DataFrame(rows)),
    ]


# ----------------------------------------------------------------------- building
def _table_title(name: str, design: Design) -> tuple[str, str]:
    titles = {
        "boundaries": (
            "Escalation and de-escalation boundaries",
            "Number of patients treated at the current dose and the DLT counts that trigger "
            "each move.",
        ),
        "elimination": (
            "Elimination boundaries",
            "A dose (and every higher dose) is eliminated when these counts are reached.",
        ),
        "decision_table": (
            "Decision table with pending patients",
            "Decisions at the current dose by treated, observed-DLT and pending counts "
            "(STFT: standardized total follow-up time of the pending patients).",
        ),
        "rds": (
            "Rank-based desirability scores (RDS)",
            "Desirability rank of each combination of DLT and response counts (higher is better).",
        ),
        "pending_decisions": (
            "Decisions with pending outcomes",
            "Decision after the first cohorts at the start dose by observed DLTs, observed "
            "responses and patients with both outcomes pending (followed for half the DLT "
            "window).",
        ),
        "rules": ("Rules", ""),
    }
    return titles.get(name, (name.replace("_", " ").capitalize(), ""))


def decision_tables(design: Design) -> list[NamedTable]:
    """The design's ``tables()`` as printable tables."""
    out = []
    for key, frame in design.tables().items():
        title, caption = _table_title(key, design)
        f = frame.copy()
        for c in f.columns:
            f[c] = [_cell(v) for v in f[c]]
        out.append(NamedTable(title, f, caption))
    return out


def _cell(v: Any) -> str:
    if v is None or v is pd.NA:
        return "—"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "—"
        return f"{v:.4g}" if abs(v) < 1 else f"{v:g}"
    return str(v)


def _crn_text(kind: str) -> str:
    if kind == "protocol":
        return (
            "common random numbers: every scenario is simulated with the same root seed and "
            "the same streams (SeedSequence(seed, spawn_key=(indication, block, component))), "
            "so the i-th patient of a simulated trial carries the same latent uniforms in "
            "every scenario"
        )
    return (
        "scenario s, block b and component c draw from SeedSequence(seed, spawn_key=(s, b, c)) "
        "(doseladder.simulate.compare): any design simulated with this seed sees the same "
        "patients in each scenario"
    )


def _sha(obj: Any) -> str:
    if isinstance(obj, bytes):
        return hashlib.sha256(obj).hexdigest()
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _paragraphs(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split("\n\n") if p.strip())


def build_report(
    subject: Design | Protocol,
    scenarios: Sequence[Scenario] | Sequence[ProtocolScenario],
    n_trials: int = 10_000,
    seed: int = 0,
    *,
    workers: int = 1,
    pathway_cohorts: int | None = None,
    pathway_start: TrialState | None = None,
    pathway_now: float | None = None,
    progress: Progress | None = None,
    subject_source: bytes | None = None,
    scenario_source: bytes | None = None,
) -> ReportContent:
    """Gather a report's content (module docstring).

    Args:
        subject: a design or a protocol.
        scenarios: design scenarios (for a design) or protocol scenarios (for a protocol).
        pathway_cohorts: cohorts ahead in the pathways (default 3 for phase I designs, 2 for
            designs that use efficacy).
        pathway_start: the trial state the pathways start from (default: the start of the
            trial); ``pathway_now`` its decision day (TITE designs with pending outcomes).
        progress: called with the number of trials finished after each block.
        subject_source, scenario_source: the files' bytes, hashed for the appendix (default:
            the canonical JSON of the design/protocol and of the scenarios).
    """
    if not scenarios:
        raise InputError("scenarios", "at least one scenario is required")
    t0 = time.perf_counter()
    started = datetime.now(UTC)
    if isinstance(subject, Protocol):
        from doseladder.simulate.protocol import simulate_protocol

        design = subject.plan.design
        labels = subject.plan.dose_labels
        pscen: list[ProtocolScenario] = []
        for i, sc in enumerate(scenarios):
            if not isinstance(sc, ProtocolScenario):
                raise InputError(f"scenarios[{i}]", "a protocol needs protocol scenarios")
            pscen.append(sc)
        results: list[SimulationResult | ProtocolSimulationResult] = [
            simulate_protocol(subject, sc, n_trials, seed, workers=workers, progress=progress)
            for sc in pscen
        ]
        names = [sc.name or f"S{i + 1}" for i, sc in enumerate(pscen)]
        sections = [
            Section("Trial", _paragraphs(subject.identification_text())),
            Section("Indications", _paragraphs(subject.indications_text())),
            Section(
                "Dose levels and assessment windows",
                _paragraphs(subject.doses_text()) + _paragraphs(subject.windows.describe()),
            ),
            Section("Dose-finding rules", _paragraphs(subject.plan.describe())),
        ]
        title = f"{subject.title}"
        kind = "protocol"
        subject_dict: Any = subject.to_dict()
    elif isinstance(subject, Design):
        from doseladder.simulate import compare

        design = subject
        labels = tuple(str(i) for i in range(1, design.num_doses + 1))
        dscen: list[Scenario] = []
        for i, sc in enumerate(scenarios):
            if not isinstance(sc, Scenario):
                raise InputError(f"scenarios[{i}]", "a design needs design scenarios")
            dscen.append(sc)
        names = [sc.name or f"S{i + 1}" for i, sc in enumerate(dscen)]
        if len(set(names)) != len(names):
            raise InputError("scenarios", "scenario names must be distinct")
        comp = compare(
            {design.name: design},
            dict(zip(names, dscen, strict=True)),
            n_trials,
            seed,
            workers=workers,
            progress=progress,
        )
        results = [comp.results[(design.name, n)] for n in names]
        sections = [Section("Design", _paragraphs(design.describe()))]
        title = f"{design.name.upper()} design"
        kind = "design"
        subject_dict = design.to_dict()
    else:
        raise InputError("design", "must be a design or a protocol")
    cohorts = pathway_cohorts or (2 if design.uses_efficacy else 3)
    if pathway_start is not None and pathway_start.num_doses != design.num_doses:
        raise InputError(
            "pathways_from",
            f"the trial state has {pathway_start.num_doses} dose levels, the design "
            f"{design.num_doses}",
        )
    if isinstance(subject, Protocol):
        paths = plan_paths(subject.plan, pathway_start, cohorts, now=pathway_now)
    else:
        paths = dose_paths(design, pathway_start, cohorts, now=pathway_now)
    origin = "from the start of the trial"
    if pathway_start is not None and pathway_start.n_patients:
        origin = f"from the current state ({pathway_start.n_patients} patients treated"
        origin += f", decision day {pathway_now:g})" if pathway_now is not None else ")"
    elapsed = time.perf_counter() - t0
    scen_src = scenario_source if scenario_source is not None else [s.to_dict() for s in scenarios]
    repro = [
        ("doseladder version", __version__),
        ("Python", platform.python_version()),
        ("Generated (UTC)", started.strftime("%Y-%m-%d %H:%M:%S")),
        (
            f"SHA-256 of the {kind}" + (" file" if subject_source is not None else " (JSON)"),
            _sha(subject_source if subject_source is not None else subject_dict),
        ),
        (
            "SHA-256 of the scenarios" + (" file" if scenario_source is not None else " (JSON)"),
            _sha(scen_src),
        ),
        ("Root seed", str(seed)),
        ("Trials per scenario", f"{n_trials:,}"),
        ("Scenarios", str(len(results))),
        ("Random numbers", _crn_text(kind)),
        ("Dose-transition pathways", origin),
        ("Simulation and pathway time", f"{elapsed:.1f} s"),
    ]
    return ReportContent(
        title=title,
        kind=kind,
        subject=subject,
        design=design,
        dose_labels=tuple(labels),
        sections=sections,
        decision_tables=decision_tables(design),
        scenario_names=names,
        results=results,
        pathways=paths,
        n_trials=n_trials,
        seed=seed,
        reproducibility=repro,
        pathways_origin=origin,
    )
