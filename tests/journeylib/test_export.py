"""Exports: self-contained HTML report, PPTX deck, chart images (skip without a browser)."""

import io
import re

import numpy as np
import pandas as pd
import pytest

from journeylib import charts, export
from journeylib.insights import key_drivers, pain_points
from journeylib.ingest import load_journey
from journeylib.journey_map import build_journey_map
from journeylib.sample import generate_sample

needs_browser = pytest.mark.skipif(not export.images_available(),
                                   reason="no Chrome/Chromium for kaleido (apt-get install chromium)")
EVIL = "<img src=x onerror=alert(1)> & Co"


@pytest.fixture(scope="module")
def sample():
    frames = generate_sample(n_customers=400, seed=11)
    data = load_journey(touchpoints=frames["touchpoints"], survey=frames["survey"], customers=frames["customers"])
    # Two hand-made personas (one with a hostile name) instead of fitting the model: fast.
    truth = frames["truth"]
    buyers = truth["persona"].isin(sorted(truth["persona"].unique())[:2])
    assignments = pd.DataFrame({"customer_id": truth["customer_id"],
                                "persona": np.where(buyers, "Group A", EVIL)})
    assignments = assignments.sort_values("persona", key=lambda p: p != "Group A", kind="stable")  # model order
    return data, assignments


@pytest.fixture(scope="module")
def report(sample):
    data, assignments = sample
    return export.build_report(data, personas=assignments, dataset_name="Shop <test>", filters="channels: Web")


def test_report_sections_have_titles_takeaways_and_figures(report):
    titles = [s.title for s in report.sections]
    assert titles == [
        "Personas at a glance",
        "Journeys step by step: Group A",
        "How Group A feel at each stage",
        f"Journeys step by step: {EVIL}",
        f"How {EVIL} feel at each stage",
        "Journey map: All customers",
        "Pain points and opportunities",
        "Key drivers of Purchase",
    ]
    for sec in report.sections:
        assert sec.takeaway and sec.figure is not None
    assert report.facts[0] == "Dataset: Shop <test>"
    assert "filters: channels: Web" in report.facts[2]
    assert re.match(r"400 customers, [\d,]+ events, [\d,]+ survey answers", report.facts[3])


def test_takeaways_are_drawn_from_the_data(sample, report):
    data, _ = sample
    pains = pain_points(data)
    top = pains.iloc[0]
    pain_sec = next(s for s in report.sections if s.title == "Pain points and opportunities")
    assert pain_sec.takeaway.startswith("Biggest pain point:")
    assert f"{int(top['left']):,} customers leave there without Purchase" in pain_sec.takeaway
    kd = key_drivers(data)
    assert report.sections[-1].takeaway == kd.summary
    jm_sec = next(s for s in report.sections if s.title.startswith("Journey map"))
    assert jm_sec.takeaway == build_journey_map(data).opportunities["sentence"].iloc[0]


def test_html_report_loads_nothing_from_outside(report):
    text = export.report_html(report)
    assert not re.search(r"<script[^>]*\bsrc\s*=", text, re.I)
    assert not re.search(r"<link\b", text, re.I)
    # Outside the inline scripts no attribute or CSS may point at another host. (Plotly's
    # bundle mentions URLs inside JavaScript strings, e.g. map attributions, but loads none
    # of them for the charts used here.)
    markup = re.sub(r"<script\b[^>]*>.*?</script>", "", text, flags=re.S | re.I)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", markup, re.I)
    assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//", markup, re.I)
    # plotly.js is embedded once, and every figure is drawn.
    assert text.count("plotly.js v") == 1
    assert text.count("Plotly.newPlot(") == sum(s.figure is not None for s in report.sections)


def test_html_report_escapes_user_text(report):
    text = export.report_html(report)
    assert EVIL not in text and "<img src=x" not in text
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; Co" in text
    assert "Shop &lt;test&gt;" in text


def test_write_report_html_and_bad_extension(sample, tmp_path):
    data, assignments = sample
    out = export.write_report(data, tmp_path / "r.html", persona="group a", personas=assignments)
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "Customer journey report: Group A" in text
    assert "Personas at a glance" in text and "Journeys step by step: Group A" in text
    assert f"Journeys step by step: {EVIL}" not in text  # one persona chosen: only its flows
    with pytest.raises(export.ReportError, match="end in .html or .pptx"):
        export.write_report(data, tmp_path / "r.pdf")


def test_missing_browser_says_how_to_install(monkeypatch):
    monkeypatch.setattr(export, "_server_state", {})
    monkeypatch.setattr(export, "find_browser", lambda: None)
    with pytest.raises(export.ImageExportUnavailable, match="apt-get install chromium"):
        export.figure_png(charts.empty_figure("x"))


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)


@needs_browser
def test_png_of_each_chart_type_is_not_blank(sample):
    data, assignments = sample
    jm = build_journey_map(data)
    kd = key_drivers(data)
    from journeylib import flows
    from journeylib.emotions import emotion_curve

    overview = export._persona_overview(data, assignments)
    figures = {
        "journey map": charts.journey_map_figure(jm),
        "pain points": charts.pain_points_chart(jm.pains),
        "key drivers": charts.key_drivers_chart(kd),
        "personas": charts.persona_overview_chart(overview),
        "sankey": charts.sankey(flows.step_sankey(data.events, level="stage"), level="stage", stages=data.stages),
        "emotion": charts.emotion_curve(emotion_curve(data.survey, data.stages)),
    }
    for name, fig in figures.items():
        png = export.figure_png(fig, scale=2, width=600, height=400)
        assert png[:8] == b"\x89PNG\r\n\x1a\n", name
        px = _pixels(png)
        assert px.shape == (800, 1200), name  # 2x the asked size
        assert px.std() > 8, f"{name}: looks blank (pixel sd {px.std():.1f})"
        assert (px < 200).mean() > 0.005, f"{name}: almost no ink"
    svg = export.figure_svg(figures["pain points"], width=600, height=400)
    assert svg.lstrip().startswith(b"<svg") and b"Pain points" in svg


@needs_browser
def test_deck_has_expected_slides_each_with_title_and_picture(report):
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE
    from pptx.util import Inches

    deck = Presentation(io.BytesIO(export.report_pptx(report, image_scale=1)))
    assert (deck.slide_width, deck.slide_height) == (Inches(13.333), Inches(7.5))
    slides = list(deck.slides)
    assert len(slides) == 1 + len(report.sections)
    assert slides[0].shapes.title.text == report.title
    first_text = " ".join(sh.text_frame.text for sh in slides[0].shapes if sh.has_text_frame)
    assert "Dataset: Shop <test>" in first_text and "Dates: " in first_text
    for slide, sec in zip(slides[1:], report.sections):
        assert slide.shapes.title.text == sec.title
        texts = [sh.text_frame.text for sh in slide.shapes if sh.has_text_frame]
        assert sec.takeaway in texts
        pictures = [sh for sh in slide.shapes if sh.shape_type == MSO_SHAPE_TYPE.PICTURE]
        assert len(pictures) == 1
        assert pictures[0].left + pictures[0].width <= deck.slide_width
        assert pictures[0].top + pictures[0].height <= deck.slide_height
    pains_slide = slides[1 + [s.title for s in report.sections].index("Pain points and opportunities")]
    bullets = " ".join(sh.text_frame.text for sh in pains_slide.shapes if sh.has_text_frame)
    assert "1. " in bullets and "of customers" in bullets
