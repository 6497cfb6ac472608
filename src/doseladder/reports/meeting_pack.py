"""The committee meeting pack as HTML (Jinja2) and PDF (Typst).

Renders a :class:`~doseladder.conduct.services.meeting_pack.MeetingPack` -- gathered by the
conduct service from the database -- and computes nothing: the tables below only format the
pack's numbers and texts, the pathway tree is :func:`doseladder.reports.diagrams.tree_figure`
and the pathway table :func:`doseladder.reports.content.pathway_table`, as in
``doseladder report``.

Per indication: the recommendation with its reasons, patients / DLTs / responses per dose, the
decisions so far, the DLT and response listings, the pending outcomes with the end of their
windows and the dose-transition pathways from today's data; then the signature block.  Every
page states the trial, the moment and the audit head the pack was produced from.
"""

# ruff: noqa: E501  (the templates' lines)

from __future__ import annotations

import base64
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from doseladder.core.errors import InputError
from doseladder.reports.content import NamedTable, pathway_table

if TYPE_CHECKING:
    from doseladder.conduct.services.meeting_pack import IndicationPack, MeetingPack

__all__ = [
    "PACK_FORMATS",
    "IndicationTables",
    "indication_tables",
    "pack_filename",
    "render_pack",
    "render_pack_html",
    "render_pack_pdf",
    "tree_png",
    "typst_pack_source",
    "write_pack",
]

PACK_FORMATS = ("html", "pdf")
#: cohorts the pathway tree draws (the table holds every cohort)
_TREE_DEPTH = {False: 2, True: 1}


@dataclass(frozen=True)
class IndicationTables:
    """One indication's printable tables (every cell a string)."""

    doses: NamedTable
    decisions: NamedTable
    dlts: NamedTable
    responses: NamedTable
    pending: NamedTable
    pathways: NamedTable | None


def _t(
    title: str, rows: list[dict[str, object]], columns: Sequence[str], caption: str = ""
) -> NamedTable:
    frame = pd.DataFrame(rows, columns=list(columns)).astype(object)
    frame = frame.map(lambda v: "—" if v is None or v == "" else str(v))
    return NamedTable(title, frame, caption)


def indication_tables(pack: MeetingPack, ind: IndicationPack) -> IndicationTables:
    """The tables of one indication, formatted from the pack."""
    eff = pack.uses_efficacy
    dose_cols = ["Dose", "Patients", "DLTs", "DLT pending"]
    if eff:
        dose_cols += ["Responses", "Response pending"]
    dose_rows: list[dict[str, object]] = []
    for d in ind.doses:
        row: dict[str, object] = {
            "Dose": d.label + (" (eliminated)" if d.dose in pack.eliminated else ""),
            "Patients": d.n,
            "DLTs": d.dlt,
            "DLT pending": d.dlt_pending,
        }
        if eff:
            row["Responses"] = d.responses
            row["Response pending"] = d.responses_pending
        dose_rows.append(row)
    total: dict[str, object] = {
        "Dose": "Total",
        "Patients": sum(d.n for d in ind.doses),
        "DLTs": sum(d.dlt for d in ind.doses),
        "DLT pending": sum(d.dlt_pending for d in ind.doses),
    }
    if eff:
        total["Responses"] = sum(d.responses for d in ind.doses)
        total["Response pending"] = sum(d.responses_pending for d in ind.doses)
    dose_rows.append(total)
    cohort = {
        "driving": "the driving indication's patients (they drive dose finding)",
        "other": "this indication's patients",
        "pooled": "every patient (indications pooled)",
    }[ind.role]
    doses = _t(
        "Current state: patients, DLTs and responses per dose",
        dose_rows,
        dose_cols,
        f"Counts over {cohort}, as the design sees them at {_when(pack)}; pending outcomes "
        "are counted apart, never as events.",
    )
    decisions = _t(
        "Decisions so far",
        [
            {
                "#": d.seq,
                "Date": d.date,
                "Source": d.source,
                "Decision": d.status,
                "Dose": d.dose_label,
                "Rule": d.rule,
                "Reason": d.message
                + (f" Override: {d.override_reason}" if d.override_reason else ""),
                "Signatures": f"{d.signatures} of {d.signatures_required}"
                if d.signatures_required
                else (d.signatures or "not required"),
            }
            for d in ind.decisions
        ],
        ["#", "Date", "Source", "Decision", "Dose", "Rule", "Reason", "Signatures"],
    )
    dlts = _t(
        "DLT listing",
        [
            {
                "Patient": r.study_id,
                "Site": r.site,
                "Dose": r.dose_label,
                "Infused": r.infusion_date,
                "Adverse event": r.term,
                "Grade": r.grade,
                "Onset": r.onset_date,
                "Day": r.day,
                "Status": r.status,
                "Rationale": r.rationale,
            }
            for r in ind.dlts
        ],
        [
            "Patient",
            "Site",
            "Dose",
            "Infused",
            "Adverse event",
            "Grade",
            "Onset",
            "Day",
            "Status",
            "Rationale",
        ],
        "Adjudicated DLTs and adverse events flagged as possible DLTs still awaiting "
        "adjudication (these keep the patient's DLT outcome pending). Day: days from infusion.",
    )
    responses = _t(
        "Response listing",
        [
            {
                "Patient": r.study_id,
                "Site": r.site,
                "Dose": r.dose_label,
                "Assessed": r.assessed_on,
                "Day": r.day,
                "Instrument": r.instrument,
                "Result": r.result,
                "Final": "yes" if r.final else "no",
            }
            for r in ind.responses
        ],
        ["Patient", "Site", "Dose", "Assessed", "Day", "Instrument", "Result", "Final"],
        "Current efficacy assessments (a proposed response counts once confirmed).",
    )
    pending_rows: list[dict[str, object]] = []
    for r in ind.pending:
        row = {
            "Patient": r.study_id,
            "Site": r.site,
            "Dose": r.dose_label,
            "Infused": r.infusion_date,
            "DLT outcome": r.dlt,
            "DLT window ends": r.dlt_window_ends,
        }
        if eff:
            row |= {"Response outcome": r.response, "Response window ends": r.response_window_ends}
        pending_rows.append(row)
    pending = _t(
        "Pending outcomes and their windows",
        pending_rows,
        ["Patient", "Site", "Dose", "Infused", "DLT outcome", "DLT window ends"]
        + (["Response outcome", "Response window ends"] if eff else []),
        _windows(pack),
    )
    paths = None
    if ind.pathways is not None and ind.pathways.root.children:
        paths = pathway_table(ind.pathways, pack.dose_labels, f"from today's data ({_when(pack)})")
    return IndicationTables(doses, decisions, dlts, responses, pending, paths)


def _when(pack: MeetingPack) -> str:
    return f"{pack.decision_time:%Y-%m-%d %H:%M} UTC (trial day {pack.decision_day:.1f})"


def _windows(pack: MeetingPack) -> str:
    parts = []
    if pack.dlt_window_days:
        parts.append(f"DLT window {pack.dlt_window_days:g} days")
    if pack.uses_efficacy and pack.efficacy_window_days:
        parts.append(f"efficacy window {pack.efficacy_window_days:g} days")
    text = ", ".join(parts) + " from infusion. " if parts else ""
    return text + "A window end in the past with the outcome still pending awaits adjudication."


def _levels_note(pack: MeetingPack) -> str:
    """The design's messages number doses by level; say which label each level is."""
    pairs = ", ".join(f"dose {d} = {lab}" for d, lab in enumerate(pack.dose_labels, start=1))
    return f"The design's text numbers the doses by level: {pairs}."


def _status_text(ind: IndicationPack, pack: MeetingPack) -> str:
    v = ind.recommendation
    if v.status == "enrol":
        return f"Enrol the next cohort at {pack.label(v.next_dose)}"
    if v.status == "wait":
        resume = f" (resume at {pack.label(v.next_dose)})" if v.next_dose else ""
        return f"Wait: do not enrol now{resume}"
    return "Closed: no further enrolment"


def tree_png(pack: MeetingPack, ind: IndicationPack) -> bytes | None:
    """The pathway tree of an indication (``None`` when there is no next cohort)."""
    if ind.pathways is None or not ind.pathways.root.children:
        return None
    from doseladder.reports.diagrams import tree_figure

    depth = min(pack.cohorts, _TREE_DEPTH[pack.uses_efficacy])
    return tree_figure(ind.pathways, pack.dose_labels, depth)


def pack_filename(pack: MeetingPack, fmt: str) -> str:
    """``meeting-pack-<code>-<date>.<fmt>``."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in pack.trial_code)
    return f"meeting-pack-{safe}-{pack.decision_time:%Y-%m-%d}.{fmt}"


# ---------------------------------------------------------------------------- HTML
_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Meeting pack — {{ p.trial_code }} — {{ p.decision_time.strftime("%Y-%m-%d") }}</title>
<style>
body { font-family: "DejaVu Sans", Arial, sans-serif; max-width: 1100px; margin: 1.5em auto;
       padding: 0 1em; color: #1d2733; line-height: 1.4; font-size: 15px; }
h1 { font-size: 1.55em; margin-bottom: .2em; }
h2 { font-size: 1.3em; margin-top: 1.8em; color: #fff; background: #2b4f78; padding: .3em .6em; border-radius: 3px; }
h3 { font-size: 1.05em; margin: 1.3em 0 .3em; color: #2b4f78; border-bottom: 1px solid #ccd; }
.meta { color: #445; font-size: .92em; margin: .2em 0; }
.head { font-family: "DejaVu Sans Mono", monospace; font-size: .85em; word-break: break-all; }
.sandbox { background: #fff2cc; border: 1px solid #b8860b; padding: .4em .7em; font-weight: bold; }
.rec { border: 2px solid #3b6ea5; background: #eef4fb; border-radius: 4px; padding: .6em .9em; margin: .6em 0; }
.rec.wait { border-color: #b8860b; background: #fff8e1; } .rec.closed { border-color: #cc0000; background: #fdecec; }
.rec .what { font-size: 1.2em; font-weight: bold; }
.rec ol { margin: .3em 0 0 1.2em; padding: 0; font-size: .92em; }
table { border-collapse: collapse; margin: .4em 0 .3em; font-size: .85em; }
th, td { border: 1px solid #c8d0da; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #e8f0fa; }
.caption { font-size: .82em; color: #556; margin: 0 0 .8em; }
td.nw { white-space: nowrap; }
.empty { color: #667; font-style: italic; margin: .3em 0 .8em; }
figure { margin: .6em 0 1em; } figure img { max-width: 100%; border: 1px solid #dde; }
figcaption { font-size: .85em; color: #556; }
.note { color: #445; font-style: italic; }
.sig { width: 100%; margin-top: .8em; font-size: .95em; }
.sig td { height: 2.6em; vertical-align: bottom; }
.sig th { width: 18%; }
@media print { h2 { break-before: page; } .rec, table, figure { break-inside: avoid; } }
</style></head><body>
<h1>Committee meeting pack — {{ p.trial_code }}</h1>
<p class="meta"><b>{{ p.trial_title }}</b>{% if p.protocol_title and p.protocol_title != p.trial_title %} — {{ p.protocol_title }}{% endif %}</p>
<p class="meta">Protocol version {{ p.protocol_version }}; design {{ p.design_name }}; cohorts of {{ p.cohort_size }}.
Data as of <b>{{ when }}</b>.</p>
<p class="meta">Produced {{ p.produced_at.strftime("%Y-%m-%d %H:%M:%S") }} UTC by {{ p.produced_by }} ({{ p.produced_role }}) with doseladder {{ version }},
from the audit trail at event <b>#{{ p.audit_head_seq }}</b>, head hash <span class="head">{{ p.audit_head_hash }}</span>.</p>
{% if p.sandbox %}<p class="sandbox">SANDBOX TRIAL — rehearsal data, not for clinical decisions.</p>{% endif %}
{% if p.eliminated %}<p class="meta">Eliminated doses: {{ eliminated }}.</p>{% endif %}
{% for item in items %}{% set ind = item.ind %}
<h2 id="ind-{{ loop.index }}">{{ ind.title }}{% if ind.role != "pooled" %} <small>({{ ind.role }} indication)</small>{% endif %}</h2>
<h3>Recommendation</h3>
<div class="rec {{ ind.recommendation.status }}"><div class="what">{{ item.status }}</div>
<div>{{ ind.recommendation.message }} <small>[rule: {{ ind.recommendation.rule }}]</small></div>
<div><small>{{ levels }}</small></div>
{% if ind.recommendation.steps %}<ol>{% for s in ind.recommendation.steps %}<li>{{ s.message }}</li>{% endfor %}</ol>{% endif %}
{% if ind.recommendation.requires_signoff %}<div><b>Escalation above every dose given so far: committee sign-off required.</b></div>{% endif %}
</div>
{{ table(item.t.doses) }}
{{ table(item.t.decisions) }}
{{ table(item.t.dlts) }}
{% if p.uses_efficacy or item.t.responses.frame|length %}{{ table(item.t.responses) }}{% endif %}
{{ table(item.t.pending) }}
<h3>Dose-transition pathways from today's data</h3>
{% if ind.pathways_note %}<p class="note">{{ ind.pathways_note }}</p>{% endif %}
{% if item.tree %}<figure><img alt="Pathway tree of {{ ind.title }}" src="data:image/png;base64,{{ item.tree }}">
<figcaption><b>Pathway tree.</b> Each box: the cohort's dose and outcomes, then the next dose (red: stop or wait).</figcaption></figure>{% endif %}
{% if item.t.pathways %}{{ table(item.t.pathways) }}{% endif %}
{% endfor %}
<h2 id="signatures">Signatures</h2>
<p>We have reviewed the data above{% if items|length == 1 %} and the design's recommendation{% else %} and the design's recommendations{% endif %}.
Decision of the committee: ______________________________________________</p>
<table class="sig"><thead><tr><th>Role</th><th>Name</th><th>Signature</th><th>Date</th></tr></thead><tbody>
{% for s in p.signatories %}<tr><th>{{ s.role }}</th><td>{{ s.name }}</td><td></td><td></td></tr>{% endfor %}
</tbody></table>
<p class="meta">Pack of {{ p.trial_code }} at audit event #{{ p.audit_head_seq }} ({{ p.audit_head_hash[:16] }}…).</p>
</body></html>
"""

_MACROS = """{% macro table(t) %}
<h3>{{ t.title }}</h3>{% if t.frame|length == 0 %}<p class="empty">None.</p>{% else %}
<table><thead><tr>{% for col in t.frame.columns %}<th>{{ col }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in t.frame.itertuples(index=False) %}<tr>{% for v in row %}<td{% if v|length < 16 %} class="nw"{% endif %}>{{ v }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>{% if t.caption %}<p class="caption">{{ t.caption }}</p>{% endif %}{% endif %}{% endmacro %}
"""


def render_pack_html(pack: MeetingPack) -> str:
    """The pack as one self-contained HTML document (images embedded)."""
    import jinja2

    from doseladder import __version__

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    macros = env.from_string(_MACROS)
    items = []
    for ind in pack.indications:
        png = tree_png(pack, ind)
        items.append(
            {
                "ind": ind,
                "t": indication_tables(pack, ind),
                "status": _status_text(ind, pack),
                "tree": base64.b64encode(png).decode("ascii") if png else None,
            }
        )
    return env.from_string(_HTML).render(
        p=pack,
        items=items,
        when=_when(pack),
        levels=_levels_note(pack),
        version=__version__,
        eliminated=", ".join(pack.label(d) for d in pack.eliminated),
        table=macros.module.table,  # type: ignore[attr-defined]
    )


# ----------------------------------------------------------------------------- PDF
def _typst_table(t: NamedTable, widths: str | None = None) -> str:
    from doseladder.reports.pdf import _s

    out = f"=== {_s(t.title)}\n"
    if len(t.frame) == 0:
        return out + '#text(style: "italic", fill: rgb("#667"))[None.]\n\n'
    cols = widths or str(len(t.frame.columns))
    cells = [f"[*{_s(c)}*]" for c in t.frame.columns]
    for row in t.frame.itertuples(index=False):
        cells += [f"[{_s(v)}]" for v in row]
    out += (
        f'#text(size: 7.5pt)[#table(columns: {cols}, stroke: 0.4pt + rgb("#c8d0da"), '
        f'fill: (x, y) => if y == 0 {{ rgb("#e8f0fa") }}, inset: 3pt, {", ".join(cells)})]\n'
    )
    if t.caption:
        out += f'#text(size: 7.5pt, style: "italic", fill: rgb("#556"))[{_s(t.caption)}]\n'
    return out + "\n"


#: column widths of the wide tables (Typst), so long texts wrap in their own column
_WIDTHS = {
    "Decisions so far": "(auto, auto, auto, auto, auto, auto, 1fr, auto)",
    "DLT listing": "(auto, auto, auto, auto, 1fr, auto, auto, auto, auto, 1fr)",
    "Pending outcomes and their windows": None,
}


def typst_pack_source(pack: MeetingPack) -> tuple[str, dict[str, bytes]]:
    """The Typst document of the pack and the image files it refers to."""
    from doseladder import __version__
    from doseladder.reports.pdf import _s

    files: dict[str, bytes] = {}
    footer = (
        f"Meeting pack {pack.trial_code} · data as of {pack.decision_time:%Y-%m-%d %H:%M} UTC · "
        f"audit event #{pack.audit_head_seq} {pack.audit_head_hash[:16]}…"
    )
    out = [
        '#set page(paper: "a4", margin: (x: 1.6cm, top: 1.6cm, bottom: 2cm), '
        f'footer: context [#set text(size: 7pt, fill: rgb("#556")); {_s(footer)} #h(1fr) '
        '#counter(page).display("1 / 1", both: true)])\n',
        "#set text(size: 9.5pt)\n#set par(justify: false)\n",
        '#show heading.where(level: 2): it => block(width: 100%, fill: rgb("#2b4f78"), '
        "inset: 5pt, radius: 2pt, text(fill: white, size: 12pt, it.body))\n",
        "#show heading.where(level: 3): it => block(above: 1.1em, below: 0.5em, "
        'text(fill: rgb("#2b4f78"), size: 10pt, it.body))\n',
        f'#text(size: 16pt, weight: "bold")[{_s("Committee meeting pack — " + pack.trial_code)}]\n\n',
        f"*{_s(pack.trial_title)}*"
        + (
            f" — {_s(pack.protocol_title)}"
            if pack.protocol_title and pack.protocol_title != pack.trial_title
            else ""
        )
        + "\n\n",
        _s(
            f"Protocol version {pack.protocol_version}; design {pack.design_name}; cohorts of "
            f"{pack.cohort_size}. Data as of {_when(pack)}."
        )
        + "\n\n",
        _s(
            f"Produced {pack.produced_at:%Y-%m-%d %H:%M:%S} UTC by {pack.produced_by} "
            f"({pack.produced_role}) with doseladder {__version__}, from the audit trail at "
            f"event #{pack.audit_head_seq}, head hash:"
        )
        + f' #text(font: "DejaVu Sans Mono", size: 7.5pt)[{_s(pack.audit_head_hash)}]\n\n',
    ]
    if pack.sandbox:
        out.append(
            '#block(fill: rgb("#fff2cc"), stroke: rgb("#b8860b"), inset: 5pt)[*'
            + _s("SANDBOX TRIAL — rehearsal data, not for clinical decisions.")
            + "*]\n\n"
        )
    if pack.eliminated:
        out.append(
            _s("Eliminated doses: " + ", ".join(pack.label(d) for d in pack.eliminated) + ".")
            + "\n\n"
        )
    for i, ind in enumerate(pack.indications):
        t = indication_tables(pack, ind)
        if i:
            out.append("#pagebreak()\n")
        role = "" if ind.role == "pooled" else f" ({ind.role} indication)"
        out.append(f"== {_s(ind.title + role)}\n")
        out.append("=== " + _s("Recommendation") + "\n")
        v = ind.recommendation
        color = {"enrol": ("#eef4fb", "#3b6ea5"), "wait": ("#fff8e1", "#b8860b")}.get(
            v.status, ("#fdecec", "#cc0000")
        )
        body = [f'#text(size: 11pt, weight: "bold")[{_s(_status_text(ind, pack))}]', ""]
        body.append(f"{_s(v.message)} #text(size: 8pt)[{_s('[rule: ' + v.rule + ']')}]")
        body += ["", f"#text(size: 8pt)[{_s(_levels_note(pack))}]"]
        if v.steps:
            body.append("")
            body += [f"+ {_s(s.get('message', ''))}" for s in v.steps]
        if v.requires_signoff:
            body += [
                "",
                "*"
                + _s("Escalation above every dose given so far: committee sign-off required.")
                + "*",
            ]
        out.append(
            f'#block(width: 100%, fill: rgb("{color[0]}"), stroke: 1.2pt + rgb("{color[1]}"), '
            "inset: 7pt, radius: 3pt)[\n" + "\n".join(body) + "\n]\n\n"
        )
        out.append(_typst_table(t.doses))
        out.append(_typst_table(t.decisions, _WIDTHS["Decisions so far"]))
        out.append(_typst_table(t.dlts, _WIDTHS["DLT listing"]))
        if pack.uses_efficacy or len(t.responses.frame):
            out.append(_typst_table(t.responses))
        out.append(_typst_table(t.pending))
        out.append("=== " + _s("Dose-transition pathways from today's data") + "\n")
        if ind.pathways_note:
            out.append(f'#text(style: "italic")[{_s(ind.pathways_note)}]\n\n')
        png = tree_png(pack, ind)
        if png is not None:
            name = f"tree-{i}.png"
            files[name] = png
            out.append(
                f'#figure(image("{name}", width: 100%), caption: [*{_s("Pathway tree.")}* '
                f"{_s('Each box: the cohort dose and outcomes, then the next dose (red: stop or wait).')}])\n\n"
            )
        if t.pathways is not None:
            out.append(_typst_table(t.pathways))
    out.append("#pagebreak()\n== " + _s("Signatures") + "\n")
    out.append(
        _s(
            "We have reviewed the data above and the design's recommendation"
            + ("s" if len(pack.indications) > 1 else "")
            + ". Decision of the committee:"
        )
        + "\n\n#v(2.2em)#line(length: 100%, stroke: 0.5pt)\n#v(1.5em)\n"
    )
    cells = ["[*Role*]", "[*Name*]", "[*Signature*]", "[*Date*]"]
    for s in pack.signatories:
        cells += [f"[{_s(s.role)}]", f"[{_s(s.name)}]", "[]", "[]"]
    out.append(
        "#table(columns: (1.3fr, 1.6fr, 2fr, 1fr), rows: (auto,) + (3.2em,) * "
        f"{len(pack.signatories)}, align: (left + bottom), inset: 5pt, "
        f'stroke: 0.5pt + rgb("#8899aa"), fill: (x, y) => if y == 0 {{ rgb("#e8f0fa") }}, '
        f"{', '.join(cells)})\n"
    )
    return "".join(out), files


def render_pack_pdf(pack: MeetingPack) -> bytes:
    """The pack as PDF bytes (Typst)."""
    import typst

    source, files = typst_pack_source(pack)
    with tempfile.TemporaryDirectory(prefix="doseladder-pack-") as tmp:
        root = Path(tmp)
        for name, data in files.items():
            (root / name).write_bytes(data)
        main = root / "pack.typ"
        main.write_text(source, encoding="utf-8")
        out = root / "pack.pdf"
        typst.compile(str(main), output=str(out), root=str(root))
        return out.read_bytes()


def render_pack(pack: MeetingPack, fmt: str) -> bytes:
    """The pack in ``fmt`` (``html`` or ``pdf``) as bytes."""
    if fmt == "html":
        return render_pack_html(pack).encode("utf-8")
    if fmt == "pdf":
        return render_pack_pdf(pack)
    raise InputError("--format", f"choose among {', '.join(PACK_FORMATS)}; got {fmt!r}")


def write_pack(pack: MeetingPack, formats: Sequence[str], outdir: Path) -> dict[str, Path]:
    """Write the pack in each of ``formats`` into ``outdir``; returns format → file."""
    bad = [f for f in formats if f not in PACK_FORMATS]
    if bad or not formats:
        raise InputError("--format", f"choose among {', '.join(PACK_FORMATS)}; got {bad or 'none'}")
    outdir.mkdir(parents=True, exist_ok=True)
    files = {}
    for fmt in formats:
        path = outdir / pack_filename(pack, fmt)
        path.write_bytes(render_pack(pack, fmt))
        files[fmt] = path
    return files
