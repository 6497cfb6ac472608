"""Diagrams: the escalation flowchart of a design or protocol, and the pathway tree.

The flowchart's boxes are filled from the design's parameters and the protocol's rules (the
numbers are the design's own: λe, λd, cut-offs, sample sizes); the rule texts themselves are
in the statistical section (``describe()``).  Both are drawn with matplotlib.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any

from doseladder.core.designs.base import Design
from doseladder.core.pathways import Pathways
from doseladder.protocols.model import Protocol
from doseladder.reports.figures import _plt, png

__all__ = ["Flow", "FlowNode", "flow_for", "flowchart_figure", "tree_figure"]


@dataclass(frozen=True)
class FlowNode:
    key: str
    text: str
    shape: str = "box"  # box | decision | terminal | note
    col: int = 0
    row: float = 0.0


@dataclass
class Flow:
    nodes: list[FlowNode] = field(default_factory=list)
    # (from, to, label, style) style: "down" | "side" | "loop" | "back"
    edges: list[tuple[str, str, str, str]] = field(default_factory=list)

    def add(self, key: str, text: str, shape: str = "box", col: int = 0) -> None:
        row = float(sum(1 for n in self.nodes if n.col == 0)) if col == 0 else self._row_of_last()
        self.nodes.append(FlowNode(key, text, shape, col, row))

    def _row_of_last(self) -> float:
        main = [n for n in self.nodes if n.col == 0]
        return main[-1].row if main else 0.0


def _design_rules(d: Design) -> tuple[str, str, str]:
    """(rate box, move box, selection) texts from the design's parameters."""
    name = d.name
    if name in ("boin", "tite-boin"):
        le, ld = d.lambda_e, d.lambda_d  # type: ignore[attr-defined]
        rate = "Estimate the DLT rate p̂ at the current dose" + (
            " (pending outcomes imputed, TITE)" if d.time_to_event else ""
        )
        move = (
            f"p̂ ≤ λe = {le:.3f}: escalate;  p̂ ≥ λd = {ld:.3f}: de-escalate;  otherwise stay "
            f"(target φ = {d.target:g})"  # type: ignore[attr-defined]
        )
        elim = f"n ≥ 3 and Pr(DLT rate > {d.target:g}) > {d.cutoff_eli:g}?"  # type: ignore[attr-defined]
        return rate, move + "\n" + elim, "Select the MTD: isotonic estimate closest to φ"
    if name in ("boin12", "tite-boin12"):
        rate = "Estimate p̂T, p̂E and the desirability of each dose" + (
            " (pending outcomes imputed, TITE)" if d.time_to_event else ""
        )
        move = (
            f"p̂T ≥ λd = {d.lambda_d:.3f}: de-escalate;  otherwise, among the admissible doses "  # type: ignore[attr-defined]
            f"d−1, d, d+1, go to the highest desirability (N* = {d.n_star}, "  # type: ignore[attr-defined]
            f"exploration at n ≥ {d.exploration_n})"  # type: ignore[attr-defined]
        )
        elim = (
            f"Admissibility: Pr(p_T > {d.phi_t:g}) > {d.c_t:g} or Pr(p_E < {d.phi_e:g}) > "  # type: ignore[attr-defined]
            f"{d.c_e:g} (n ≥ 3) → not admissible?"  # type: ignore[attr-defined]
        )
        return rate, move + "\n" + elim, "Select the OBD: highest posterior mean utility ≤ MTD"
    if name == "3+3":
        rate = "Count DLTs in the cohort of 3 at the current dose"
        move = "0/3: escalate;  1/3: 3 more at this dose;  1/6: escalate;  ≥ 2 DLTs: stop"
        return rate, move + "\n(3+3, Storer 1989)", "MTD: highest dose with 0/3 or ≤ 1/6 DLTs"
    target = getattr(d, "target", None)
    goal = f" (target DLT rate {target:g})" if isinstance(target, int | float) else ""
    return (
        "Summarise the DLT data at the current dose (and, for model-based designs, all doses)",
        f"Escalate, stay or de-escalate by the {name} rules{goal}; doses that are too toxic "
        "are excluded (rules in the statistical section)",
        f"Select the {d.target_kind.upper()} by the {name} selection rule",
    )


def flow_for(subject: Design | Protocol) -> Flow:
    """The flowchart of a design or a protocol (fallback and driving-indication branches)."""
    proto = subject if isinstance(subject, Protocol) else None
    design = proto.plan.design if proto is not None else subject
    assert isinstance(design, Design)
    labels = (
        proto.plan.dose_labels
        if proto is not None
        else tuple(str(i) for i in range(1, design.num_doses + 1))
    )
    lab = labels[design.start_dose - 1]
    who = "patients"
    plan = proto.plan if proto is not None else None
    if plan is not None and plan.driving_indication:
        who = f"{plan.driving_indication} subjects"
    f = Flow()
    f.add("start", f"Start at dose {lab}", "terminal")
    if plan is not None and plan.fallback is not None:
        fb = plan.fallback
        run, back = labels[fb.run_in_dose - 1], labels[fb.backup_dose - 1]
        f.add("runin", f"Run-in: the first {fb.first_k} {who} at {run}")
        f.add("fbq", f"≥ {fb.min_dlts} DLT(s) in the run-in?", "decision")
        f.add(
            "fb",
            f"Fall back to {back}; the design continues from {back} with every subject's data"
            + ("" if fb.reescalation == "allowed" else f"; {run} and above closed"),
            "box",
            col=1,
        )
        f.edges += [("start", "runin", "", "down"), ("runin", "fbq", "", "down")]
        f.edges.append(("fbq", "fb", "yes", "side"))
        prev, prev_label = "fbq", "no"
    else:
        prev, prev_label = "start", ""
    cohort = (
        f"the next {who.removesuffix('s')}"
        if design.cohort_size == 1
        else f"the next cohort of {design.cohort_size} {who}"
    )
    f.add("treat", f"Treat {cohort} at the current dose")
    f.edges.append((prev, "treat", prev_label, "down"))
    if plan is not None and plan.fallback is not None:
        f.edges.append(("fb", "treat", "", "join"))
    last = "treat"
    mp = getattr(design, "max_pending", None) if design.time_to_event else None
    if design.time_to_event and mp is None:  # TITE-CRM: weighted follow-up, never suspends
        f.add(
            "pend",
            "Weight each pending patient's follow-up (TITE): decide now, accrual never suspended",
        )
        f.edges.append(("treat", "pend", "", "down"))
        last, last_label = "pend", ""
    elif mp is not None:
        f.add(
            "pend", f"More than {mp:.0%} of the patients at the current dose pending?", "decision"
        )
        f.add(
            "susp",
            "Suspend accrual until more outcomes are known, then decide again",
            "box",
            col=1,
        )
        f.edges += [("treat", "pend", "", "down"), ("pend", "susp", "yes", "side")]
        last, last_label = "pend", "no"
    else:
        last_label = ""
    rate, move, select = _design_rules(design)
    f.add("rate", rate)
    f.edges.append((last, "rate", last_label, "down"))
    f.add("move", move, "box")
    f.edges.append(("rate", "move", "", "down"))
    if plan is not None and plan.safety_monitor is not None:
        sm = plan.safety_monitor
        f.add(
            "monitor",
            f"Pooled safety monitor: Pr(DLT rate > {sm.target:g}) > {sm.cutoff:g} with ≥ "
            f"{sm.min_n} subjects → {sm.action.replace('_', ' ')}",
            "note",
            col=1,
        )
        f.edges.append(("move", "monitor", "", "side"))
    f.add(
        "stopq",
        f"Stop? {design.max_n} patients treated, or no acceptable dose"
        + (
            f", or {getattr(design, 'n_stop', None)} at the recommended dose"
            if getattr(design, "n_stop", None)
            else ""
        ),
        "decision",
    )
    f.edges.append(("move", "stopq", "", "down"))
    if plan is not None and plan.driving_indication is not None:
        others = [x for x in plan.indications if x != plan.driving_indication]
        if others:
            pol = plan.other_indications
            cap = (
                f"the highest confirmed-safe dose ≤ the {plan.driving_indication} current dose"
                if pol.dose_cap == "driving_current"
                else "any confirmed-safe dose"
            )
            f.add(
                "others",
                f"Other indications ({', '.join(others)}): enrol at {cap} "
                f"(≥ {pol.min_complete} complete {plan.driving_indication} subjects); they do "
                "not drive escalation",
                "note",
                col=1,
            )
            f.edges.append(("stopq", "others", "", "side"))
    f.edges.append(("stopq", "treat", "no", "loop"))
    f.add("select", select, "terminal")
    f.edges.append(("stopq", "select", "yes", "down"))
    return f


_STYLE: dict[str, dict[str, Any]] = {
    "box": {"boxstyle": "round,pad=0.4", "fc": "#e8f0fa", "ec": "#3b6ea5"},
    "decision": {"boxstyle": "round4,pad=0.45", "fc": "#fff2cc", "ec": "#b8860b"},
    "terminal": {"boxstyle": "round,pad=0.5,rounding_size=0.8", "fc": "#d9ead3", "ec": "#38761d"},
    "note": {"boxstyle": "square,pad=0.4", "fc": "#f3f3f3", "ec": "#999999", "ls": "--"},
}


def flowchart_figure(flow: Flow) -> bytes:
    """Draw a :class:`Flow`: main column left, branches and notes right."""
    plt = _plt()
    main = [n for n in flow.nodes if n.col == 0]
    height = 1.15 * len(main) + 0.6
    fig, ax = plt.subplots(figsize=(10.5, height))
    ax.set_xlim(-0.2, 10.3)
    ax.set_ylim(-len(main) + 0.35, 0.75)
    ax.axis("off")
    pos: dict[str, tuple[float, float]] = {}
    boxes: dict[str, Any] = {}
    for n in flow.nodes:
        x = 3.0 if n.col == 0 else 8.1
        y = -n.row
        width = 48 if n.col == 0 else 34
        txt = "\n".join(textwrap.fill(part, width) for part in n.text.split("\n"))
        t = ax.text(
            x, y, txt, ha="center", va="center", fontsize=8.5, bbox=_STYLE[n.shape], zorder=3
        )
        pos[n.key] = (x, y)
        boxes[n.key] = t
    fig.canvas.draw()
    inv = ax.transData.inverted()

    def extent(key: str) -> tuple[float, float, float, float]:
        bb = boxes[key].get_bbox_patch().get_window_extent()
        (x0, y0), (x1, y1) = inv.transform((bb.x0, bb.y0)), inv.transform((bb.x1, bb.y1))
        return x0, y0, x1, y1

    arrow = {"arrowstyle": "-|>", "color": "#444444", "lw": 1.2, "shrinkA": 0, "shrinkB": 0}
    for src, dst, label, style in flow.edges:
        sx0, sy0, sx1, _ = extent(src)
        dx0, dy0, dx1, dy1 = extent(dst)
        if style == "down":
            xa = pos[src][0] if pos[src][0] == pos[dst][0] else (dx0 + dx1) / 2
            ax.annotate("", (xa, dy1), (xa, sy0), arrowprops=arrow, zorder=2)
            if label:
                ax.text(xa + 0.1, (sy0 + dy1) / 2, label, fontsize=8, va="center", color="#444")
        elif style == "side":
            y = pos[src][1]
            ax.annotate(
                "",
                (dx0, y if dy0 <= y <= dy1 else pos[dst][1]),
                (sx1, y),
                arrowprops=arrow,
                zorder=2,
            )
            if label:
                ax.text((sx1 + dx0) / 2, y + 0.08, label, fontsize=8, ha="center", color="#444")
        elif style == "join":  # from a side box back to the main column, below it
            ax.annotate(
                "",
                (dx1, pos[dst][1]),
                ((dx0 + dx1) / 2 if False else (sx0 + sx1) / 2, sy0),
                arrowprops={**arrow, "connectionstyle": "angle,angleA=-90,angleB=180,rad=0"},
                zorder=2,
            )
        elif style == "loop":  # back up along the left margin
            xl = min(sx0, dx0) - 0.35
            ys, yd = pos[src][1], pos[dst][1]
            ax.plot([sx0, xl, xl], [ys, ys, yd], color="#444444", lw=1.2, zorder=2)
            ax.annotate("", (dx0, yd), (xl, yd), arrowprops=arrow, zorder=2)
            if label:
                ax.text(xl - 0.05, (ys + yd) / 2, label, fontsize=8, ha="right", color="#444")
    return png(fig)


def tree_figure(paths: Pathways, labels: tuple[str, ...], max_depth: int | None = None) -> bytes:
    """The pathway tree, left to right: each node shows the cohort's outcomes and the next
    dose (stop/suspend in red)."""
    plt = _plt()
    depth = paths.cohorts if max_depth is None else min(max_depth, paths.cohorts)
    leaves: list[Any] = []
    ypos: dict[int, float] = {}

    def place(node: Any) -> float:
        kids = [k for k in node.children] if node.depth < depth else []
        if not kids:
            y = float(len(leaves))
            leaves.append(node)
        else:
            ys = [place(k) for k in kids]
            y = (min(ys) + max(ys)) / 2
        ypos[node.node_id] = y
        return y

    place(paths.root)
    n_leaves = max(len(leaves), 1)
    fig, ax = plt.subplots(figsize=(3.2 * (depth + 1) + 1, max(3.0, 0.24 * n_leaves + 1)))
    ax.axis("off")
    ax.set_xlim(-0.6, depth + 0.9)
    ax.set_ylim(n_leaves, -1)

    def name(level: int | None) -> str:
        return "—" if level is None else labels[level - 1]

    def note(node: Any) -> tuple[str, str]:
        dec = node.decision
        if dec.action.value == "stop":
            return f"stop ({name(dec.next_dose)})" if dec.next_dose else "stop", "#cc0000"
        if dec.action.value == "suspend":
            return f"suspend, resume at {name(dec.next_dose)}", "#cc0000"
        return f"→ {name(dec.next_dose)}", "#222222"

    def draw(node: Any) -> None:
        x, y = float(node.depth), ypos[node.node_id]
        if node.depth == 0:
            where = "start" if paths.start.n_patients == 0 else "now"
            text, color = f"{where}: {note(node)[0].replace('→ ', '')}", "#222222"
        else:
            nxt, color = note(node)
            text = f"{name(node.dose)} {node.outcomes}  {nxt}"
        size = 7.5 if n_leaves > 30 else 8.5
        ax.text(
            x,
            y,
            text,
            fontsize=size,
            va="center",
            ha="left",
            color=color,
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "#bbbbbb", "lw": 0.6},
        )
        if node.depth < depth:
            start = x + 0.021 * len(text) * (size / 8.5) + 0.08
            for k in node.children:
                ax.plot(
                    [start, float(k.depth) - 0.03],
                    [y, ypos[k.node_id]],
                    color="#9aa5b1",
                    lw=0.7,
                    zorder=0,
                )
                draw(k)

    draw(paths.root)
    for d in range(1, depth + 1):
        ax.text(float(d), -0.8, f"cohort {d}", fontsize=9, fontweight="bold")
    ax.set_title(
        "Dose-transition pathways: cohort dose and outcomes (N no DLT, T DLT"
        + (", E response, B both" if paths.design.uses_efficacy else "")
        + ") → next dose",
        fontsize=10,
    )
    return png(fig)
