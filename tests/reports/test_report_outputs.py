"""The report's three files opened as a reader would: the HTML in headless Chromium (screenshot
checked for content), the Word file with python-docx (its tables hold the numbers of the
simulation result objects), the PDF with pypdf (the expected sections).  Structure and
numbers, not golden bytes."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from doseladder.core import BOIN
from doseladder.io.scenario_file import load_protocol_scenarios
from doseladder.protocols import library_dir, load_shipped
from doseladder.reports import ReportContent, build_report, write_report
from doseladder.simulate.scenario import Scenario

pytest.importorskip("docx")
pytest.importorskip("typst")
pytest.importorskip("matplotlib")

CHROMIUM = os.environ.get("DOSELADDER_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("DOSELADDER_CHROMEDRIVER", "/usr/bin/chromedriver")
SECTIONS = (
    "1. Statistical section",
    "2. Decision tables",
    "3. Escalation flowchart",
    "4. Operating characteristics",
    "5. Dose-transition pathways",
    "6. Reproducibility",
)


@pytest.fixture(scope="module")
def design_report(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[ReportContent, dict[str, Path]]:
    design = BOIN(num_doses=4, target=0.3, max_n=18)
    scenarios = [
        Scenario(p_tox=(0.05, 0.12, 0.30, 0.50), name="A"),
        Scenario(p_tox=(0.30, 0.45, 0.60, 0.70), name="B-toxic"),
    ]
    content = build_report(design, scenarios, 400, 3)
    files = write_report(content, ["html", "docx", "pdf"], tmp_path_factory.mktemp("design"))
    return content, files


@pytest.fixture(scope="module")
def protocol_report(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[ReportContent, dict[str, Path]]:
    proto = load_shipped("str-p004-nct07143617")
    scen = load_protocol_scenarios(library_dir() / "scenarios" / "str-p004-report.yaml")[:2]
    content = build_report(proto, scen, 200, 1, pathway_cohorts=1)
    files = write_report(content, ["html", "docx", "pdf"], tmp_path_factory.mktemp("protocol"))
    return content, files


def _docx_tables(path: Path) -> list[list[list[str]]]:
    import docx

    doc = docx.Document(str(path))
    return [[[c.text for c in row.cells] for row in t.rows] for t in doc.tables]


def _find(tables: list[list[list[str]]], header: list[str]) -> list[list[list[str]]]:
    return [t for t in tables if t and t[0][: len(header)] == header]


def test_word_tables_hold_the_design_results(design_report: Any) -> None:
    content, files = design_report
    tables = _docx_tables(files["docx"])
    per_dose = _find(tables, ["Dose", "P(DLT)", "Selected, %", "Patients", "DLTs"])
    assert len(per_dose) == len(content.results) == 2
    for table, result in zip(per_dose, content.results, strict=True):
        rows = table[1:]
        assert len(rows) == 4
        for row, r in zip(rows, result.per_dose.itertuples(), strict=True):
            assert row[2] == f"{r.selection_pct:.1f} ({r.selection_se:.1f})"
            assert row[3] == f"{r.mean_patients:.2f} ({r.mean_patients_se:.2f})"
            assert row[4] == f"{r.mean_dlt:.2f} ({r.mean_dlt_se:.2f})"
    # the decision tables are the design's own
    bounds = content.design.tables()["boundaries"]
    assert any(len(t) - 1 == len(bounds) for t in tables)
    # the pathway table: one row per enumerated node
    paths = _find(tables, ["Path", "Cohort", "Cohort dose", "Outcomes", "Decision"])
    assert len(paths) == 1 and len(paths[0]) - 1 == len(content.pathways.nodes())
    # reproducibility appendix
    repro = {row[0]: row[1] for t in tables for row in t if len(row) == 2}
    assert repro["Root seed"] == "3" and repro["Trials per scenario"] == "400"


def test_word_tables_hold_the_protocol_results(protocol_report: Any) -> None:
    content, files = protocol_report
    tables = _docx_tables(files["docx"])
    per_dose = _find(tables, ["Indication", "Role", "Dose", "P(DLT)", "P(response)", "Selected, %"])
    assert len(per_dose) == 2
    for table, result in zip(per_dose, content.results, strict=True):
        for row, r in zip(table[1:], result.per_dose.itertuples(), strict=True):
            assert row[0] == r.indication and row[2] == r.label
            if r.role == "driving":
                assert row[5] == f"{r.selection_pct:.1f} ({r.selection_se:.1f})"
            else:
                assert row[5] == "n/a"
            assert row[6] == f"{r.mean_patients:.2f} ({r.mean_patients_se:.2f})"
        assert "nan" not in str(table).lower()
    summary = _find(tables, ["Scenario"])[0]
    fallback_col = summary[0].index("Backup-dose fallback fired, %")
    for row, result in zip(summary[1:], content.results, strict=True):
        v, se = result.metric("fallback_fired_pct"), result.metric_se("fallback_fired_pct")
        assert row[fallback_col] == f"{v:.1f} ({se:.1f})"


def test_pdf_has_the_sections(design_report: Any, protocol_report: Any) -> None:
    from pypdf import PdfReader

    for content, files in (design_report, protocol_report):
        reader = PdfReader(str(files["pdf"]))
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
        for section in SECTIONS:
            assert section in text
        assert "SHA-256" in text
        for name in content.scenario_names:
            assert f"Scenario {name}" in text
        assert len(reader.pages) >= 4
    proto_text = "\n".join(
        p.extract_text() or "" for p in PdfReader(str(protocol_report[1]["pdf"])).pages
    )
    assert "Backup dose and fallback" in proto_text


def _require_browser() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (Path(p).exists() or shutil.which(p))]
    if missing and os.environ.get("CI"):
        pytest.fail(f"chromium/chromedriver missing ({', '.join(missing)}) but CI is set")
    if missing:
        pytest.skip(f"chromium/chromedriver missing ({', '.join(missing)})")


def test_html_renders_in_chromium(protocol_report: Any, tmp_path: Path) -> None:
    _require_browser()
    from PIL import Image
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    content, files = protocol_report
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1600",
    ):
        options.add_argument(flag)
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        drv.get(files["html"].resolve().as_uri())
        headings = [h.text for h in drv.find_elements(By.TAG_NAME, "h2")]
        assert headings == list(SECTIONS)
        images = drv.find_elements(By.TAG_NAME, "img")
        assert len(images) >= 5
        for img in images:  # every embedded image decoded
            assert drv.execute_script("return arguments[0].naturalWidth", img) > 300
        body = drv.find_element(By.TAG_NAME, "body").text
        assert "NaN" not in body and "nan (" not in body
        assert content.results[0].protocol["id"] in body
        drv.execute_script(
            "arguments[0].scrollIntoView()", drv.find_element(By.ID, "fig-selection")
        )
        shot = tmp_path / "report.png"
        drv.save_screenshot(str(shot))
    finally:
        drv.quit()
    img = Image.open(io.BytesIO(shot.read_bytes())).convert("L")
    # the screenshot is not blank: a plot has many dark and many light pixels
    hist = img.histogram()
    dark, light = sum(hist[:128]), sum(hist[128:])
    assert dark > 2_000 and light > 100_000
