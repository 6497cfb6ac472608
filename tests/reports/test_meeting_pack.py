"""The meeting pack's two files opened as a reader would: the HTML in headless Chromium
(screenshot checked for content), the PDF with pypdf (its sections and numbers).  The numbers
are those of the service objects (listings, recommendation, pathways); screenshots and the PDF
pages are written to ``/tmp/pack-shots/`` for a person to look at."""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Iterator
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from doseladder.conduct.db import Database
from doseladder.conduct.services import meeting_pack, outcomes
from doseladder.reports import meeting_pack as render

from ..conduct.conftest import (  # noqa: F401 - fixtures
    TITE_BOIN,
    Clock,
    World,
    _cheap_scrypt,
    clock,
    make_world,
    sqlite_template,
)

pytest.importorskip("typst")
pytest.importorskip("matplotlib")

CHROMIUM = os.environ.get("DOSELADDER_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("DOSELADDER_CHROMEDRIVER", "/usr/bin/chromedriver")
SHOTS = Path(os.environ.get("DOSELADDER_PACK_SHOTS", "/tmp/pack-shots"))


@pytest.fixture
def world(sqlite_template: Path, tmp_path: Path, clock: Clock) -> Iterator[World]:  # noqa: F811
    path = tmp_path / "pack.db"
    shutil.copyfile(sqlite_template, path)
    db = Database(f"sqlite:///{path}", clock=clock)
    yield make_world(db, clock)
    db.dispose()


def build_scene(world: World) -> int:
    """TITE-BOIN (28-day window): DL1 cleared; at DL2 one DLT, one window completed without
    DLT, one patient in follow-up with a possible DLT awaiting adjudication; a response."""
    t = world.trial(TITE_BOIN, code="PACK-01")
    first = world.cohort(t, 1)
    world.clock.advance(days=30)
    second = world.cohort(t, 2)
    world.clock.advance(days=10)
    today = world.clock.today()

    def data(s: Any) -> None:
        ae = outcomes.record_adverse_event(
            s,
            world.inv_a,
            second[0],
            term="Febrile neutropenia",
            grade=3,
            onset_date=today,
            dlt_candidate=True,
        )
        outcomes.adjudicate_dlt(
            s,
            world.stat,
            second[0],
            is_dlt=True,
            adverse_event_id=ae.id,
            rationale="Grade 3 febrile neutropenia within the DLT window",
        )
        outcomes.adjudicate_dlt(
            s, world.stat, second[1], is_dlt=False, rationale="window completed without DLT"
        )
        outcomes.record_adverse_event(
            s,
            world.inv_a,
            second[2],
            term="Atrial fibrillation",
            grade=3,
            onset_date=today,
            dlt_candidate=True,
        )
        outcomes.record_efficacy(
            s, world.inv_a, first[0], assessed_on=today, instrument="RECIST 1.1", responder=True
        )

    world.run(data)
    return t


class _Tables(HTMLParser):
    """Every table of an HTML page as rows of cell texts, with its preceding h3."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._h3: str | None = None
        self._title = ""
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._current: list[list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "h3":
            self._h3 = ""
        elif tag == "table":
            self._current = []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "h3" and self._h3 is not None:
            self._title, self._h3 = self._h3.strip(), None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._current is not None:
            self._current.append(self._row)
            self._row = None
        elif tag == "table" and self._current is not None:
            key = self._title
            n = 2
            while key in self.tables:
                key, n = f"{self._title} #{n}", n + 1
            self.tables[key] = self._current
            self._current = None

    def handle_data(self, data: str) -> None:
        if self._h3 is not None:
            self._h3 += data
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture
def pack(world: World) -> meeting_pack.MeetingPack:
    t = build_scene(world)
    p: meeting_pack.MeetingPack = world.run(
        lambda s: meeting_pack.meeting_pack(s, world.stat, t, formats=["html", "pdf"])
    )
    return p


def test_formats_agree_with_the_service() -> None:
    assert render.PACK_FORMATS == meeting_pack.PACK_FORMATS


def test_html_tables_hold_the_service_numbers(pack: meeting_pack.MeetingPack) -> None:
    html = render.render_pack_html(pack)
    # the design's messages number doses by level: the pack says which label each level is
    for level, label in enumerate(pack.dose_labels, start=1):
        assert f"dose {level} = {label}" in html
    parser = _Tables()
    parser.feed(html)
    tables = parser.tables
    (ind,) = pack.indications
    doses = tables["Current state: patients, DLTs and responses per dose"]
    assert doses[0] == ["Dose", "Patients", "DLTs", "DLT pending"]
    body = [[int(x) for x in row[1:]] for row in doses[1:-1]]
    assert body == [[d.n, d.dlt, d.dlt_pending] for d in ind.doses]
    assert doses[-1][0] == "Total" and int(doses[-1][1]) == 6
    dlts = tables["DLT listing"]
    assert [(r[4], r[5], r[8]) for r in dlts[1:]] == [
        (x.term, str(x.grade), x.status) for x in ind.dlts
    ]
    assert {r[8] for r in dlts[1:]} == {"DLT", "awaiting adjudication"}
    responses = tables["Response listing"]
    assert [(r[0], r[5], r[6]) for r in responses[1:]] == [
        (x.study_id, x.instrument, x.result) for x in ind.responses
    ]
    pending = tables["Pending outcomes and their windows"]
    assert [(r[0], r[4], r[5]) for r in pending[1:]] == [
        (x.study_id, x.dlt, x.dlt_window_ends) for x in ind.pending
    ]
    decisions = tables["Decisions so far"]
    assert [r[3] for r in decisions[1:]] == [d.status for d in ind.decisions]
    # pathways: one row per node, each decision the core's
    assert ind.pathways is not None
    paths = tables["Dose-transition pathways"]
    nodes = ind.pathways.nodes()
    assert len(paths) - 1 == len(nodes)
    for row, node in zip(paths[1:], nodes, strict=True):
        assert row[4] == node.decision.action.value
        assert row[5] == pack.label(node.decision.next_dose)
    # the recommendation with its reason and the audit head
    assert escape(ind.recommendation.message, quote=False) in html
    assert pack.audit_head_hash in html and f"#{pack.audit_head_seq}" in html
    assert "Signatures" in html and "Committee chair" in html
    assert "NaN" not in html and "None" not in re.sub(r"<[^>]+>", "", html)


def test_pdf_has_the_sections_and_numbers(pack: meeting_pack.MeetingPack) -> None:
    from pypdf import PdfReader

    data = render.render_pack_pdf(pack)
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "pack.pdf").write_bytes(data)
    if os.environ.get("DOSELADDER_PACK_PAGES"):  # the pages as PNG, for a person to look at
        _pages_png(pack, SHOTS)
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    flat = " ".join(text.split())
    assert f"dose 1 = {pack.dose_labels[0]}" in flat
    for heading in (
        "Committee meeting pack — PACK-01",
        "Recommendation",
        "Current state: patients, DLTs and responses per dose",
        "Decisions so far",
        "DLT listing",
        "Response listing",
        "Pending outcomes and their windows",
        "Dose-transition pathways from today's data",
        "Signatures",
        "Committee chair",
    ):
        assert heading in flat, heading
    assert f"#{pack.audit_head_seq}" in flat
    assert pack.audit_head_hash[:16] in flat
    (ind,) = pack.indications
    for row in ind.dlts:
        assert row.term in flat
    for row in ind.pending:
        assert row.study_id in flat
    assert len(reader.pages) >= 2


def _pages_png(pack: meeting_pack.MeetingPack, outdir: Path) -> None:
    """The PDF's pages as PNG images (Typst renders them; no poppler needed)."""
    import tempfile

    import typst

    source, files = render.typst_pack_source(pack)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, data in files.items():
            (root / name).write_bytes(data)
        (root / "pack.typ").write_text(source, encoding="utf-8")
        pattern = str(outdir / "pdf-page-{p}.png")
        typst.compile(str(root / "pack.typ"), output=pattern, root=str(root), format="png", ppi=80)


def _require_browser() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (Path(p).exists() or shutil.which(p))]
    if missing and os.environ.get("CI"):
        pytest.fail(f"chromium/chromedriver missing ({', '.join(missing)}) but CI is set")
    if missing:
        pytest.skip(f"chromium/chromedriver missing ({', '.join(missing)})")


def test_html_renders_in_chromium(pack: meeting_pack.MeetingPack, tmp_path: Path) -> None:
    _require_browser()
    from PIL import Image
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    files = render.write_pack(pack, ["html"], tmp_path)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1800",
    ):
        options.add_argument(flag)
    SHOTS.mkdir(parents=True, exist_ok=True)
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        drv.get(files["html"].resolve().as_uri())
        headings = [h.text for h in drv.find_elements(By.TAG_NAME, "h2")]
        assert headings == ["All patients", "Signatures"]
        rec = drv.find_element(By.CSS_SELECTOR, ".rec .what").text
        (ind,) = pack.indications
        assert rec == f"Enrol the next cohort at {pack.label(ind.recommendation.next_dose)}"
        (img,) = drv.find_elements(By.TAG_NAME, "img")
        assert drv.execute_script("return arguments[0].naturalWidth", img) > 300
        body = drv.find_element(By.TAG_NAME, "body").text
        assert "Febrile neutropenia" in body and pack.audit_head_hash in body
        top = SHOTS / "pack-top.png"
        drv.save_screenshot(str(top))
        drv.execute_script("arguments[0].scrollIntoView()", img)
        drv.save_screenshot(str(SHOTS / "pack-pathways.png"))
        drv.execute_script("arguments[0].scrollIntoView()", drv.find_element(By.ID, "signatures"))
        drv.save_screenshot(str(SHOTS / "pack-signatures.png"))
    finally:
        drv.quit()
    shot = Image.open(top).convert("L")
    hist = shot.histogram()
    dark, light = sum(hist[:128]), sum(hist[128:])
    assert dark > 5_000 and light > 100_000  # text and tables, not a blank page
