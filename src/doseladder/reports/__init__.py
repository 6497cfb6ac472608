"""Reports: the statistician's deliverable as HTML, Word and PDF (``doseladder report``).

This package renders what the lower layers produce and computes no statistic of its own:

* :mod:`.content` gathers the design's / protocol's protocol text and decision tables, the
  simulation results (one run per scenario, common random numbers) and the dose-transition
  pathways into a :class:`~.content.ReportContent`;
* :mod:`.figures` and :mod:`.diagrams` draw the plots, the escalation flowchart and the
  pathway tree (matplotlib);
* :mod:`.html` (Jinja2), :mod:`.word` (python-docx) and :mod:`.pdf` (Typst) write the files.

The rendering libraries come with the ``report`` extra (``pip install 'doseladder[report]'``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from doseladder.core.errors import InputError
from doseladder.reports.content import ReportContent, build_report

__all__ = ["FORMATS", "ReportContent", "build_report", "write_report"]

FORMATS = ("html", "pdf", "docx")


def write_report(
    content: ReportContent, formats: Sequence[str], outdir: Path, stem: str = "report"
) -> dict[str, Path]:
    """Render ``content`` in each of ``formats`` into ``outdir``; returns format → file."""
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise InputError("--format", f"choose among {', '.join(FORMATS)}; got {bad or 'none'}")
    from doseladder.reports.figureset import render_figures

    outdir.mkdir(parents=True, exist_ok=True)
    figures = render_figures(content)
    out: dict[str, Path] = {}
    if "html" in formats:
        from doseladder.reports.html import render_html

        p = outdir / f"{stem}.html"
        p.write_text(render_html(content, figures), encoding="utf-8")
        out["html"] = p
    if "docx" in formats:
        from doseladder.reports.word import render_docx

        out["docx"] = render_docx(content, figures, outdir / f"{stem}.docx")
    if "pdf" in formats:
        from doseladder.reports.pdf import render_pdf

        out["pdf"] = render_pdf(content, figures, outdir / f"{stem}.pdf")
    return out
