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
        "Funnel towards Purchase",
        "Journeys step by step: Group A",
        "How Group A feel at each stage",
        f"Journeys step by step: {EVIL}",
        f"How {EVIL} feel at each stage",
        "Journey map: All customers",
        "Pain points and opportunities",
        f"Themes behind the worst pain point: {report.sections[8].title.split(': ', 1)[1]}",
        "Key drivers of Purchase",
    ]
    for sec in report.sections:
        assert sec.takeaway and sec.figure is not None
    assert report.facts[0] == "Dataset: Shop <test>"
    assert "filters: channels: Web" in report.facts[2]
    assert re.match(r"400 customers, [\d,]+ events, [\d,]+ survey answers", report.facts[3])
    assert report.facts[4] == "Goal: Purchase (reached the Purchase stage or a later one)"


def test_takeaways_are_drawn_from_the_data(sample, report):
    from journeylib import flows

    data, _ = sample
    jm = build_journey_map(data)
    pain_sec = next(s for s in report.sections if s.title == "Pain points and opportunities")
    assert pain_sec.takeaway == jm.pain_summary and pain_sec.takeaway.startswith("Biggest pain point:")
    top = jm.pains.iloc[0]
    assert f"{int(top['left']):,} customers leave there without Purchase" in pain_sec.takeaway
    kd = key_drivers(data)
    assert report.sections[-1].takeaway == kd.summary
    jm_sec = next(s for s in report.sections if s.title.startswith("Journey map"))
    assert jm_sec.takeaway == jm.opportunities["sentence"].iloc[0]
    funnel = flows.funnel(data)
    first, won = int(funnel["customers"].iloc[0]), int(funnel["customers"].iloc[-1])
    funnel_sec = next(s for s in report.sections if s.title.startswith("Funnel"))
    assert funnel_sec.takeaway.startswith(f"Of the {first:,} customers at Awareness, {won:,} ({won / first:.0%}) "
                                          "reached Purchase")


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

    overview = export.persona_overview(data, assignments)
    figures = {
        "journey map": charts.journey_map_figure(jm),
        "pain points": charts.pain_points_chart(jm.pains),
        "key drivers": charts.key_drivers_chart(kd),
        "personas": charts.persona_overview_chart(overview),
        "sankey": charts.sankey(flows.step_sankey(data.events, level="stage"), level="stage", stages=data.stages),
        "emotion": charts.emotion_curve(emotion_curve(data.survey, data.stages)),
    }
    for name, fig in figures.items():
        # The map is laid out in pixels for its own size (wrapped text): drawn at it.
        w, h = (1100, int(fig.layout.height)) if name == "journey map" else (600, 400)
        png = export.figure_png(fig, scale=2, width=w, height=h)
        assert png[:8] == b"\x89PNG\r\n\x1a\n", name
        px = _pixels(png)
        border = 2 * export.IMAGE_BORDER
        assert px.shape == (2 * h + 2 * border, 2 * w + 2 * border), name  # 2x the asked size, and the margins
        # A white margin on every side: nothing drawn there.
        frame = np.concatenate([px[:border].ravel(), px[-border:].ravel(), px[:, :border].ravel(), px[:, -border:].ravel()])
        assert frame.min() >= 250, f"{name}: ink in the margin"
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
    planned = export.deck_slides(report)
    assert len(slides) == 1 + len(planned)
    assert slides[0].shapes.title.text == report.title
    first_text = " ".join(sh.text_frame.text for sh in slides[0].shapes if sh.has_text_frame)
    assert "Dataset: Shop <test>" in first_text and "Goal: Purchase" in first_text
    for slide, (sec, fig, takeaway, box) in zip(slides[1:], planned):
        assert slide.shapes.title.text.startswith(sec.title)
        texts = [sh.text_frame.text for sh in slide.shapes if sh.has_text_frame]
        assert not takeaway or takeaway in texts
        pictures = [sh for sh in slide.shapes if sh.shape_type == MSO_SHAPE_TYPE.PICTURE]
        assert len(pictures) == 1
        assert pictures[0].left + pictures[0].width <= deck.slide_width
        assert pictures[0].top + pictures[0].height <= deck.slide_height
        # Every run of text on the slide is 14 pt or more.
        for sh in slide.shapes:
            if sh.has_text_frame:
                for para in sh.text_frame.paragraphs:
                    for run in para.runs:
                        assert run.font.size is None or run.font.size.pt >= 14, (sec.title, run.text)
                    # A named font whose widths the layout measured (the theme's Calibri is
                    # replaced by a far wider font where it is missing).
                    assert not para.text or para.font.name == export.DECK_FONT, (sec.title, para.text)
    # The journey map spreads over slides, each a part of its lanes, the first with the takeaway.
    map_slides = [sl for sl in slides[1:] if sl.shapes.title.text.startswith("Journey map")]
    assert len(map_slides) >= 2 and map_slides[0].shapes.title.text.endswith(f"(1 of {len(map_slides)})")
    pains_slide = slides[1 + [p[0].title for p in planned].index("Pain points and opportunities")]
    bullets = " ".join(sh.text_frame.text for sh in pains_slide.shapes if sh.has_text_frame)
    assert "1. " in bullets and "of customers" in bullets


def _font_sizes(fig):
    """Every font size (px) a figure draws text with: layout, legend, axes, annotations (and
    sizes written inside their text, <sup> at 70%), trace text."""
    base = fig.layout.font.size or 12
    sizes = []

    def inline(text, size):
        found = [float(x) for x in re.findall(r"font-size:\s*([\d.]+)px", str(text))]
        return found + ([0.7 * size] if "<sup>" in str(text) else [])

    if fig.layout.title.text:
        sizes += [fig.layout.title.font.size or base] + inline(fig.layout.title.text, fig.layout.title.font.size or base)
    if any(getattr(t, "showlegend", None) is not False and t.name for t in fig.data) and fig.layout.showlegend is not False:
        sizes.append(fig.layout.legend.font.size or base)
    for name in fig.layout:
        if name.startswith(("xaxis", "yaxis")) and fig.layout[name].visible is not False:
            ax = fig.layout[name]
            if ax.showticklabels is not False:
                sizes.append(ax.tickfont.size or base)
            if ax.title.text:
                sizes.append(ax.title.font.size or base)
    for ann in fig.layout.annotations or ():
        size = ann.font.size or base
        sizes += [size] + inline(ann.text, size)
    for trace in fig.data:
        tf = getattr(trace, "textfont", None)
        if tf is not None and (getattr(trace, "text", None) is not None or trace.type == "sankey"):
            sizes += list(tf.size) if isinstance(tf.size, (list, tuple)) else [tf.size or base]
    return sizes


def test_deck_charts_draw_text_at_14_pt_and_emotions_on_the_score_scale(report, sample):
    """Pictures are drawn one pixel to a point of their box on the slide, so a font's px
    size times the picture's scale is its size on the slide."""
    data, _ = sample
    for sec, fig, _, (left, top, width, height) in export.deck_slides(report):
        if fig is None:
            continue
        ratio = width / (fig.layout.width + 2 * export.DECK_BORDER)
        small = [s * ratio for s in _font_sizes(fig) if s * ratio < 14 - 1e-6]
        assert not small, f"{sec.title}: text at {min(small):.1f} pt"
        assert left + width <= export.SLIDE_W * 72 and top + height <= export.SLIDE_H * 72
        if sec.title.startswith("How "):
            assert list(fig.layout.yaxis.range) == pytest.approx([1 - 0.16, 5 + 0.16])
            assert "1 to 5" in fig.layout.yaxis.title.text


def test_html_tables_have_human_headers_percentages_and_fold_long_lists(report):
    text = export.report_html(report)
    funnel = next(s for s in report.sections if s.title.startswith("Funnel"))
    assert list(funnel.table.columns) == ["Stage", "Customers", "Share of the first stage",
                                          "Conversion from the previous row"]
    assert funnel.table["Share of the first stage"].iloc[0] == "100%"
    assert re.fullmatch(r"[\d,]+", funnel.table["Customers"].iloc[0])
    jm = next(s for s in report.sections if s.title.startswith("Journey map"))
    assert len(jm.table) > export.TABLE_ROWS
    assert f"<summary>The other {len(jm.table) - export.TABLE_ROWS:,} rows</summary>" in text
    # No table of the report shows a raw column name, None or nan.
    for sec in report.sections:
        if sec.table is None:
            continue
        assert not any("_" in c for c in sec.table.columns), (sec.title, list(sec.table.columns))
        cells = set(sec.table.astype(str).to_numpy().ravel())
        assert not cells & {"None", "nan", "NaN", "<NA>"}, sec.title
    shown = re.findall(r"<table.*?</table>", text, flags=re.S)
    first_rows = [t for t in shown if "The other" not in t]
    assert all(t.count("<tr>") <= export.TABLE_ROWS + 1 for t in shown[:1]) and first_rows


def test_every_count_of_customers_at_a_stage_is_the_funnels(sample, report):
    """One definition per number: the funnel, the journey map (its model and its figure's
    headers), the HTML report's funnel table and the deck's funnel slide and map slides all
    count customers at a stage as the funnel rule does."""
    from journeylib import flows

    data, _ = sample
    funnel = flows.funnel(data)
    expected = dict(zip(funnel["stage"], funnel["customers"].astype(int)))
    jm = build_journey_map(data)
    assert {s: n for s, n in jm.stage_customers.items() if s in expected} == expected
    # Stages after the goal, on the map only, follow the same rule: never more than before.
    counts = [jm.stage_customers[s] for s in jm.stages]
    assert counts == sorted(counts, reverse=True)

    def header_counts(fig):
        out = {}
        for a in fig.layout.annotations:
            m = re.search(r"<b>([^<]+)</b>.*?([\d,]+) reached", a.text)
            if m:
                out[m.group(1)] = int(m.group(2).replace(",", ""))
        return out

    assert header_counts(charts.journey_map_figure(jm)) == jm.stage_customers
    map_sec = next(s for s in report.sections if s.title.startswith("Journey map"))
    assert header_counts(map_sec.figure) == jm.stage_customers
    html_rows = dict(zip(next(s for s in report.sections if s.title.startswith("Funnel")).table["Stage"],
                         next(s for s in report.sections if s.title.startswith("Funnel")).table["Customers"]))
    assert {k: int(v.replace(",", "")) for k, v in html_rows.items()} == expected
    for sec, fig, _, _ in export.deck_slides(report):
        if sec.title.startswith("Funnel"):
            bullets = {b.split(":")[0]: int(b.split(": ")[1].split(" ")[0].replace(",", "")) for b in sec.bullets}
            assert bullets == expected
            assert dict(zip(fig.data[0].y, fig.data[0].x)) == {
                (f"{k} (goal)" if k == "Purchase" else k): v for k, v in expected.items()}
        if sec.title.startswith("Journey map") and fig is not None:
            assert header_counts(fig) == jm.stage_customers


def test_a_range_with_equal_ends_is_not_written(sample):
    """Nobody has the goal touchpoint: both personas reach it at 0%, which is said once."""
    import dataclasses

    from journeylib.journey import Goal

    data, assignments = sample
    data = dataclasses.replace(data, journey=data.journey.with_goal(Goal("touchpoint", "Nowhere", name="Won")))
    sec = export.persona_section(data, assignments, charts.persona_colors(["Group A", EVIL]))
    assert "0% of every persona reach Won" in sec.takeaway and "runs from" not in sec.takeaway
    # Without a goal: what could not be computed and what to set.
    data = dataclasses.replace(data, journey=data.journey.with_goal(None))
    sec = export.persona_section(data, assignments, charts.persona_colors(["Group A", EVIL]))
    assert "could not be computed: no goal is set (name one on the Data page or with --goal)" in sec.takeaway


def test_a_survey_of_one_stage_feels_touchpoint_by_touchpoint():
    from tests.journeylib.test_survey_stages import RATINGS, wide_survey

    frame = wide_survey(n=80)
    data = load_journey(survey=("cabin_survey.csv", frame.to_csv(index=False).encode()))
    assert len(data.stages) == 1
    sec = next(s for s in export.build_report(data).sections if s.title.startswith("How customers feel"))
    means = frame[RATINGS].mean()
    lo, hi = means.idxmin(), means.idxmax()
    assert sec.title == "How customers feel at each touchpoint"
    assert sec.takeaway.startswith("No two stages of the stage order have answers, so touchpoint by touchpoint: "
                                   f"lowest at {lo}: {means[lo]:.1f}/5 (n=80); highest at {hi}: {means[hi]:.1f}/5")


def test_emotion_and_path_sentences_that_cannot_differ():
    from journeylib.journey import JourneyModel
    from journeylib.schema import JourneyData, ScoreScale

    one = pd.DataFrame({"stage": ["Offer"], "mean": [3.0], "n": [40], "low_n": [False]})
    assert export.emotion_takeaway(one, ScoreScale(1, 5)) == "Only Offer has answers: 3.0/5 on average (n=40)."
    flat = pd.DataFrame({"stage": ["A", "B"], "mean": [3.01, 2.99], "n": [40, 50], "low_n": [False, False]})
    assert export.emotion_takeaway(flat, ScoreScale(1, 5)).startswith("Every stage with answers scores 3.0/5")
    paths = pd.DataFrame({"path": ["(no stage)", "Offer > (no stage)"], "customers": [8, 2], "share": [0.8, 0.2],
                          "conversion": [0.0, 0.5]})
    data = JourneyData(events=None, journey=JourneyModel(stages=("Offer",)))
    text = export.path_takeaway(paths, data, "All customers", "stage")
    assert text.startswith("The most common journey (80% of all customers) has no stage of the stage order")
    assert "Most common path with stages: Offer > (no stage) (20%" in text and "name one on the Data page" in text


# --------------------------------------------------------------------------------------
# A survey alone, a comparison, and the airline survey (realdata)

from pathlib import Path  # noqa: E402

from scipy import stats  # noqa: E402

from journeylib.journey import JourneyModel, parse_goal  # noqa: E402
from journeylib.journey_map import NEEDS_EVENTS  # noqa: E402


def small_survey(shift: float = 0.0, n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        nps = float(rng.integers(0, 11))  # one answer per customer, repeated on each row
        for stage, tp, mean in (("Awareness", "Ad", 4.0), ("Consideration", "Reviews", 2.5 + shift),
                                ("Purchase", "Checkout", 4.2)):
            rows.append({"customer_id": f"r{i}", "stage": stage, "touchpoint": tp,
                         "score": float(np.clip(np.rint(rng.normal(mean, 0.8)), 1, 5)),
                         "nps": nps})
    return pd.DataFrame(rows)


def survey_only(frame: pd.DataFrame):
    return load_journey(survey=frame, journey=JourneyModel.default(("Awareness", "Consideration", "Purchase")))


def test_survey_only_report_has_no_funnel_and_says_why():
    frame = small_survey()
    report = export.build_report(survey_only(frame), dataset_name="Survey")
    titles = [s.title for s in report.sections]
    assert titles[:3] == ["How customers feel at each stage", "Journey map: All customers",
                          "Pain points and opportunities"]
    assert not any(t.startswith(("Funnel", "Journeys step by step")) for t in titles)
    assert report.facts[3] == f"40 customers who answered the survey, {len(frame):,} answers, no touchpoint events"
    assert any(f.startswith("Journeys, the funnel, channels and drop-off need touchpoint events") for f in report.facts)
    # The default stage goal cannot be judged without events, and the goal fact says what to do.
    assert "needs touchpoint events" in report.facts[4] and "--goal column:" in report.facts[4]
    pains = next(s for s in report.sections if s.title == "Pain points and opportunities")
    assert "Consideration" in pains.takeaway and list(pains.table.columns) == \
        ["Stage", "Touchpoint", "Mean score", "Answers", "Impact"]
    page = export.report_html(report)
    assert not re.search(r"\b0 (customers|reached)", page) and NEEDS_EVENTS.split(":")[0] in page


def test_survey_only_map_items_carry_who_answered_and_nps():
    frame = small_survey()
    report = export.build_report(survey_only(frame))
    items = next(s for s in report.sections if s.title.startswith("Journey map")).table
    nps = items[items["Lane"] == "NPS"].set_index("Stage")
    values = frame.drop_duplicates("customer_id")["nps"].to_numpy()
    x = np.where(values >= 9, 100.0, np.where(values >= 7, 0.0, -100.0))
    # The normal interval of the mean of +100/0/-100 (emotions.nps_interval's rule).
    lo, hi = stats.norm.interval(0.95, loc=x.mean(), scale=x.std(ddof=0) / np.sqrt(len(x)))
    # Every respondent answered every stage: each stage's NPS is everyone's.
    assert nps.loc["Awareness", "Item"] == f"NPS {x.mean():+.0f}"
    assert nps.loc["Awareness", "Evidence"].startswith(f"95% CI {lo:+.0f} to {hi:+.0f}, n=40")


def test_what_changed_section_and_lane_when_a_comparison_is_given():
    a, b = survey_only(small_survey(seed=1)), survey_only(small_survey(shift=-1.0, seed=2))
    report = export.build_report(b, comparison=(a, b, "Last quarter", "This quarter"))
    sec = next(s for s in report.sections if s.title.startswith("What changed"))
    assert sec.title == "What changed: This quarter against Last quarter" and sec.figure is not None
    assert "significant (p < 0.05)" in sec.takeaway and "Consideration" in sec.takeaway
    row = sec.table[sec.table["Stage"] == "Consideration"].iloc[0]
    x_a = small_survey(seed=1).query("stage == 'Consideration'")["score"]
    x_b = small_survey(shift=-1.0, seed=2).query("stage == 'Consideration'")["score"]
    assert row["Change (This quarter minus Last quarter)"] == f"▼ Mean score {x_b.mean() - x_a.mean():+.2f}"
    p = stats.ttest_ind(x_b, x_a, equal_var=False).pvalue
    assert row["p-value"] == ("< 0.001" if p < 0.001 else f"{p:.3f}")
    items = next(s for s in report.sections if s.title.startswith("Journey map")).table
    assert "What changed" in set(items["Lane"])
    unchanged = export.what_changed_section(report_changed := __import__("journeylib.compare", fromlist=["x"])
                                            .what_changed(a, a), "A", "A")
    assert unchanged.takeaway.startswith(f"None of the {len(report_changed)} differences")


AIRLINE = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "airline_passenger_satisfaction_survey.csv.gz"
AIRLINE_STAGES = {
    "Booking": ["Ease of Online booking", "Departure/Arrival time convenient"],
    "Airport": ["Checkin service", "Gate location", "Online boarding"],
    "Flight": ["Seat comfort", "Leg room service", "Food and drink", "Inflight wifi service", "Inflight entertainment",
               "On-board service", "Inflight service", "Cleanliness"],
    "Arrival": ["Baggage handling"],
}


@pytest.mark.realdata
def test_airline_survey_map_and_report(tmp_path):
    if not AIRLINE.exists():
        pytest.skip(f"no {AIRLINE}")
    raw = pd.read_csv(AIRLINE)
    journey = JourneyModel(stages=tuple(AIRLINE_STAGES), goal=parse_goal("column:satisfaction=satisfied"),
                           stage_map={tp: st for st, tps in AIRLINE_STAGES.items() for tp in tps})
    data = load_journey(survey=AIRLINE, not_rated=(0,), journey=journey)
    jm = build_journey_map(data)
    assert jm.survey_only and jm.customers == raw["id"].nunique()
    for stage, tps in AIRLINE_STAGES.items():
        rated = raw[tps].where(raw[tps] != 0)
        assert jm.stage_customers[stage] == int(rated.notna().any(axis=1).sum())
        x = pd.Series(rated.to_numpy().ravel()).dropna()
        row = jm.emotion.set_index("stage").loc[stage]
        lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
        assert (row["mean"], row["n"], row["ci_low"], row["ci_high"]) == \
            (pytest.approx(x.mean()), len(x), pytest.approx(lo), pytest.approx(hi))
    assert jm.items("pains", "Flight")[0].text == "'Inflight wifi service'"
    assert NEEDS_EVENTS in jm.notes
    out = export.write_report(data, tmp_path / "r.html")
    page = out.read_text()
    assert "Journey map: All customers" in page and "Key drivers of satisfaction" in page
    assert not re.search(r"\b0 (customers|reached)", page) and "Funnel towards" not in page


def test_themes_chart_colours_negative_themes_and_counts_comments():
    table = pd.DataFrame({"theme_id": [1, 2, 0], "theme": ["late / delivery", "friendly / staff", "(no theme)"],
                          "comments": [12, 8, 3], "share": [0.52, 0.35, 0.13], "mean_score": [1.5, 4.5, 3.0],
                          "tone": [-0.6, 0.5, 0.0]})
    fig = charts.themes_chart(table, subject="comments at 'Delivery'")
    bar = fig.data[0]
    assert list(bar.x) == [12, 8] and list(bar.y) == ["late / delivery", "friendly / staff"]
    assert list(bar.marker.color) == [charts.OKABE_ITO[4], charts.OKABE_ITO[0]]
    assert bar.text[0] == "12 (52%) · mean score 1.5"


def test_a_long_cell_shows_its_first_words_and_folds_the_rest():
    review = " ".join(f"word{i}" for i in range(120))  # 709 characters
    table = export.display_table(pd.DataFrame({"example": [review, "Short & sweet"]}), [("example", "Typical comment", "text")])
    report = export.Report("R", [], [export.Section("Themes", "Two comments.", table=table)])
    text = export.report_html(report)
    cut = review.rfind(" ", 0, export.LONG_CELL)
    shown, rest = review[:cut], review[cut:]
    assert f"<summary>{shown} … ({len(rest.split())} more words)</summary>{rest}</details>" in text
    # Nothing is lost: the folded part holds the rest, and a short cell stays as it is, escaped.
    assert shown + rest == review and "<td>Short &amp; sweet</td>" in text


def test_themes_of_a_shared_comment_say_whose_they_are():
    from tests.journeylib.test_survey_stages import wide_survey

    data = load_journey(survey=("cabin_survey.csv", wide_survey(n=120).to_csv(index=False).encode()))
    pains = pd.DataFrame({"level": ["touchpoint"], "stage": [data.stages[0]], "touchpoint": ["Wifi"]})
    sec = export.pain_theme_section(data, pains)
    assert sec.title == "What the customers who rated 'Wifi' wrote"
    assert " comments of the customers who rated 'Wifi'; the largest" in sec.takeaway
    assert sec.notes[0].startswith("Each customer left one comment for the whole survey")


def test_key_driver_slides_show_every_driver_once_with_room_for_its_name(report):
    sec = next(s for s in report.sections if s.title.startswith("Key drivers of"))
    slides = [(fig, box) for s, fig, _, box in export.deck_slides(report) if s is sec]
    names = [str(v) for v in sec.table["Input"]]
    assert len(names) >= 8
    shown = []
    for fig, _ in slides:
        bars = fig.data[0]
        shown += [y.replace("<br>", " ") for y in reversed(bars.y)]  # drawn largest on top
        plot = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
        # Plotly skips category names it cannot fit: each bar keeps a 14 pt line at least.
        assert plot / len(bars.y) >= 20, (len(bars.y), plot)
    assert shown == names
    # One axis for all: the bars of later slides compare with the first.
    assert len({tuple(f.layout.xaxis.range) for f, _ in slides}) == 1
