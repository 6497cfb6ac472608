"""Diagrams: the escalation flowchart of a design or protocol, and the pathway tree.

The flowchart's boxes are filled from the design's parameters and the protocol's rules (the
numbers are the design's own: λe, λd, cut-offs, sample sizes); the rule texts themselves are
in the statistical section (``describe()``).  The backfill branch (BF-BOIN / BE-BOIN designs,
protocols with ``rules.backfill``) is worded by the core's
:class:`~doseladder.core.designs.bf_boin.BackfillTexts` -- the same texts ``describe()`` is
made of -- so the report layer words nothing of its own there.  Both are drawn with
matplotlib.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any

from doseladder.core.designs.base import Design
from doseladder.core.designs.bf_boin import BFBOIN, BackfillTexts
from doseladder.core.pathways import Pathways
from doseladder.protocols.model import Protocol
from doseladder.reports.figures import _plt, png

__all__ = ["Flow", "FlowNode", "flow_for", "flowchart_figure", "tree_figure"]


@dataclass(frozen=True)
class FlowNode:
    """A box: ``col`` 0 = the main column (top to bottom in order of addition), 1 = the side
    column, next to its ``anchor`` (the main node it was added after)."""

    key: str
    text: str
    shape: str = "box"  # box | decision | terminal | note
    col: int = 0
    row: float = 0.0
    anchor: str | None = None


@dataclass
class Flow:
    nodes: list[FlowNode] = field(default_factory=list)
    # (from, to, label, style) style: "down" | "side" | "loop" | "join"
    edges: list[tuple[str, str, str, str]] = field(default_factory=list)

    def add(self, key: str, text: str, shape: str = "box", col: int = 0) -> None:
        main = [n for n in self.nodes if n.col == 0]
        if col == 0:
            self.nodes.append(FlowNode(key, text, shape, 0, float(len(main))))
        else:
            last = main[-1] if main else None
            row = last.row if last is not None else 0.0
            anchor = last.key if last is not None else None
            self.nodes.append(FlowNode(key, text, shape, col, row, anchor))

    def node(self, key: str) -> FlowNode:
        return next(n for n in self.nodes if n.key == key)


def _design_rules(d: Design) -> tuple[str, str, str]:
    """(rate box, move box, selection) texts from the design's parameters."""
    name = d.name
    if name in ("boin", "tite-boin", "bf-boin", "be-boin"):
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
    bf = _backfill_texts(design, plan, labels)
    if bf is not None:
        cohort = cohort.replace("the next cohort", "the next escalation cohort")
    f.add("treat", f"Treat {cohort} at the current dose")
    f.edges.append((prev, "treat", prev_label, "down"))
    if plan is not None and plan.fallback is not None:
        f.edges.append(("fb", "treat", "", "join"))
    last = "treat"
    mp = (
        getattr(design, "max_pending", None) or getattr(design, "max_pending_ratio", None)
        if design.time_to_event
        else None
    )
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
            (
                "Suspend escalation until more outcomes are known, then decide again; "
                "meanwhile arriving patients may be backfilled (next step)"
                if bf is not None
                else "Suspend accrual until more outcomes are known, then decide again"
            ),
            "box",
            col=1,
        )
        f.edges += [("treat", "pend", "", "down"), ("pend", "susp", "yes", "side")]
        last, last_label = "pend", "no"
    else:
        last_label = ""
    if bf is not None:
        last, last_label = _backfill_branch(f, bf, who, last, last_label)
    rate, move, select = _design_rules(design)
    f.add("rate", rate)
    f.edges.append((last, "rate", last_label, "down"))
    if bf is not None:
        f.add("bfdata", f"Backfill data: {bf.data}.", "note", col=1)
        f.edges.append(("rate", "bfdata", "", "side"))
    f.add("move", move, "box")
    f.edges.append(("rate", "move", "", "down"))
    if bf is not None:
        f.add("bfpool", f"Conflicts: {bf.pooling}.", "note", col=1)
        f.edges.append(("move", "bfpool", "", "side"))
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
        f"Stop? {design.max_n} "
        + (f"escalation {who}" if bf is not None else "patients")
        + " treated, or no acceptable dose"
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


def _backfill_texts(design: Design, plan: Any, labels: tuple[str, ...]) -> BackfillTexts | None:
    """The core's backfill texts of the subject (``None``: no backfill): the protocol's rule
    (with its ``min_dose``), else a BF-BOIN / BE-BOIN design's own."""
    if plan is not None and plan.backfill is not None:
        texts: BackfillTexts = plan.backfill.texts(plan.design, labels)
        return texts
    if isinstance(design, BFBOIN):
        return design.backfill_texts()
    return None


def _backfill_branch(
    f: Flow, bf: BackfillTexts, who: str, last: str, last_label: str
) -> tuple[str, str]:
    """The backfill step: a question in the main column and, on ``yes``, two side boxes --
    which doses are open (the core's conditions) and where the patient goes (assignment, cap,
    no open dose).  Returns the node (and edge label) the escalation decision follows."""
    one = who.removesuffix("s")
    f.add(
        "bfq",
        f"A new {one} arrives while escalation waits for the cohort's DLT outcomes?",
        "decision",
    )
    f.edges.append((last, "bfq", last_label, "down"))
    f.add(
        "bfopen",
        "Backfill. Doses open for backfill:\n" + "\n".join(f"• {c}" for c in bf.conditions),
        "box",
        col=1,
    )
    f.add(
        "bfassign",
        f"{bf.assign[0].upper()}{bf.assign[1:]}; {bf.no_slot}.\nCap: {bf.cap}.",
        "box",
        col=1,
    )
    f.edges += [("bfq", "bfopen", "yes", "side"), ("bfopen", "bfassign", "", "down")]
    return "bfq", "no"


_STYLE: dict[str, dict[str, Any]] = {
    "box": {"boxstyle": "round,pad=0.4", "fc": "#e8f0fa", "ec": "#3b6ea5"},
    "decision": {"boxstyle": "round4,pad=0.45", "fc": "#fff2cc", "ec": "#b8860b"},
    "terminal": {"boxstyle": "round,pad=0.5,rounding_size=0.8", "fc": "#d9ead3", "ec": "#38761d"},
    "note": {"boxstyle": "square,pad=0.4", "fc": "#f3f3f3", "ec": "#999999", "ls": "--"},
}


#: figure width, column centres and wrap widths (inches; one data unit is one inch)
_WIDTH, _X_MAIN, _X_SIDE, _WRAP_MAIN, _WRAP_SIDE = 10.5, 3.2, 7.95, 48, 46
#: vertical space between main boxes, between stacked side boxes, and around the chart
_GAP_MAIN, _GAP_SIDE, _MARGIN = 0.55, 0.3, 0.35


def _layout(flow: Flow, heights: dict[str, float]) -> dict[str, float]:
    """Centre heights (negative, inches) of every box: main boxes one under the other; side
    boxes beside their anchor, stacked under the previous side box when they would overlap
    it; a main box with side boxes moves down until its first one fits."""
    ys: dict[str, float] = {}
    side: dict[str, list[FlowNode]] = {}
    for n in flow.nodes:
        if n.col != 0 and n.anchor is not None:
            side.setdefault(n.anchor, []).append(n)
    floor = 0.0  # bottom of the lowest side box so far
    bottom = -_MARGIN  # bottom of the previous main box
    for n in (m for m in flow.nodes if m.col == 0):
        h = heights[n.key]
        y = bottom - (_GAP_MAIN if ys else 0.0) - h / 2
        mine = side.get(n.key, [])
        if mine:
            y = min(y, floor - _GAP_SIDE - heights[mine[0].key] / 2)
        ys[n.key] = y
        bottom = y - h / 2
        for k, sn in enumerate(mine):
            hs = heights[sn.key]
            ys_ = y if k == 0 else floor - _GAP_SIDE - hs / 2
            ys_ = min(ys_, floor - _GAP_SIDE - hs / 2)
            ys[sn.key] = ys_
            floor = ys_ - hs / 2
    for n in flow.nodes:  # side boxes without an anchor: at the top
        ys.setdefault(n.key, -_MARGIN - heights[n.key] / 2)
    return ys


def flowchart_figure(flow: Flow) -> bytes:
    """Draw a :class:`Flow`: main column left, branches and notes right, every box placed by
    its measured height (:func:`_layout`) so that no two boxes overlap."""
    plt = _plt()
    fig = plt.figure(figsize=(_WIDTH, 40.0))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0.0, _WIDTH)
    ax.set_ylim(-40.0, 0.0)
    ax.axis("off")
    pos: dict[str, tuple[float, float]] = {}
    boxes: dict[str, Any] = {}
    for n in flow.nodes:
        x = _X_MAIN if n.col == 0 else _X_SIDE
        width = _WRAP_MAIN if n.col == 0 else _WRAP_SIDE
        parts = n.text.split("\n")
        txt = "\n".join(
            textwrap.fill(part, width, subsequent_indent="  " if part.startswith("•") else "")
            for part in parts
        )
        bullets = any(part.startswith("•") for part in parts)
        t = ax.text(
            x,
            0.0,
            txt,
            ha="center",
            va="center",
            multialignment="left" if bullets else "center",
            fontsize=8.5,
            bbox=_STYLE[n.shape],
            zorder=3,
        )
        pos[n.key] = (x, 0.0)
        boxes[n.key] = t
    fig.canvas.draw()
    inv = ax.transData.inverted()

    def extent(key: str) -> tuple[float, float, float, float]:
        bb = boxes[key].get_bbox_patch().get_window_extent()
        (x0, y0), (x1, y1) = inv.transform((bb.x0, bb.y0)), inv.transform((bb.x1, bb.y1))
        return x0, y0, x1, y1

    heights = {k: extent(k)[3] - extent(k)[1] for k in boxes}
    ys = _layout(flow, heights)
    total = -min(ys[k] - heights[k] / 2 for k in ys) + _MARGIN
    fig.set_size_inches(_WIDTH, total)
    ax.set_ylim(-total, 0.0)
    for k, t in boxes.items():
        pos[k] = (pos[k][0], ys[k])
        t.set_position(pos[k])
    fig.canvas.draw()
    inv = ax.transData.inverted()

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
            if dy0 <= y <= dy1:
                ax.annotate("", (dx0, y), (sx1, y), arrowprops=arrow, zorder=2)
            else:  # a box stacked lower: along, down, then into it
                xm, yd = (sx1 + dx0) / 2, pos[dst][1]
                ax.plot([sx1, xm, xm], [y, y, yd], color="#444444", lw=1.2, zorder=2)
                ax.annotate("", (dx0, yd), (xm, yd), arrowprops=arrow, zorder=2)
            if label:
                ax.text((sx1 + dx0) / 2, y + 0.08, label, fontsize=8, ha="center", color="#444")
        elif style == "join":  # from a side box back to the main column, below it
            ax.annotate(
                "",
                (dx1, pos[dst][1]),
                ((sx0 + sx1) / 2, sy0),
                arrowprops={**arrow, "connectionstyle": "angle,angleA=-90,angleB=180,rad=0"},
                zorder=2,
            )
        elif style == "loop":  # back up along the left margin
            xl = min(sx0, dx0) - 0.35
            ys_, yd = pos[src][1], pos[dst][1]
            ax.plot([sx0, xl, xl], [ys_, ys_, yd], color="#444444", lw=1.2, zorder=2)
            ax.annotate("", (dx0, yd), (xl, yd), arrowprops=arrow, zorder=2)
            if label:
                ax.text(xl - 0.05, (ys_ + yd) / 2, label, fontsize=8, ha="right", color="#444")
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
