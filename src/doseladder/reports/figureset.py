"""The report's figures, rendered once and shared by every output format."""

from __future__ import annotations

from dataclasses import dataclass

from doseladder.reports.content import ReportContent

__all__ = ["Figure", "render_figures"]


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    caption: str
    png: bytes


def render_figures(c: ReportContent) -> list[Figure]:
    """Flowchart, OC plots and the pathway tree as PNG figures (matplotlib)."""
    from doseladder.reports.diagrams import flow_for, flowchart_figure, tree_figure
    from doseladder.reports.figures import (
        allocation_figure,
        duration_figure,
        selection_figure,
        stopping_figure,
    )

    out = [
        Figure(
            "flowchart",
            "Escalation flowchart",
            "Generated from the "
            + (
                "protocol's rules and its design's parameters"
                if c.kind == "protocol"
                else "design's parameters"
            )
            + "; the full rules are in the statistical section.",
            flowchart_figure(flow_for(c.subject)),
        ),
        Figure(
            "selection",
            "Selection by dose",
            "Percentage of simulated trials selecting each dose, per scenario; the true target "
            "dose (OBD for phase I/II designs, otherwise MTD) in orange; ±1.96 Monte-Carlo SE.",
            selection_figure(c),
        ),
        Figure(
            "allocation",
            "Allocation",
            "Mean number of patients treated at each dose per trial"
            + (", stacked by indication." if c.kind == "protocol" else " (±1.96 SE)."),
            allocation_figure(c),
        ),
    ]
    dur = duration_figure(c)
    if dur is not None:
        out.append(
            Figure(
                "duration",
                "Trial duration",
                "Mean trial duration (first entry to the last outcome) ± 1 standard deviation "
                "of the simulated trials.",
                dur,
            )
        )
    out.append(
        Figure(
            "stopping",
            "Fallback rate and stopping" if c.kind == "protocol" else "Stopping",
            "Percentage of simulated trials in which each event occurred, per scenario (±1.96 SE).",
            stopping_figure(c),
        )
    )
    depth = 1 if c.design.uses_efficacy else min(3, c.pathways.cohorts)
    out.append(
        Figure(
            "tree",
            "Dose-transition pathway tree",
            f"The first {depth} cohort(s) of the pathways table: each box shows the cohort's "
            "dose and outcomes and the next dose (red: stop or suspend).",
            tree_figure(c.pathways, c.dose_labels, depth),
        )
    )
    return out
