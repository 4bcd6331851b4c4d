"""Present mode: slides sized to the window, fonts that grow everywhere, a link that opens
the same slide for the same persona (keys and timing are checked in tests/browser)."""

import json

import plotly.graph_objects as go
import pytest

from journeylib import charts
from ui import present
from ui.present import md_escape

PAGE = "pages/journey_map.py"


def no_exceptions(at):
    assert not at.exception, [e.message for e in at.exception]


def figure_json(at, i=0) -> dict:
    return json.loads(at.get("plotly_chart")[i].proto.spec)


def open_page(app):
    app.run()
    no_exceptions(app)
    app.switch_page(PAGE).run()
    no_exceptions(app)
    return app


def test_scale_fonts_grows_legends_axes_and_inherited_sizes():
    fig = go.Figure(go.Bar(x=[1, 2], y=["a", "b"], orientation="h", name="n", text=["x", "y"],
                           textfont=dict(size=10)))
    fig.update_layout(template=charts.TEMPLATE_NAME, title_text="T", xaxis_tickfont_size=11,
                      annotations=[dict(text="note", x=0, y=0, font=dict(size=9))])
    out = present.scale_fonts(fig, 2.0).layout
    assert out.font.size == 28  # the template's 14
    assert out.template.layout.legend.font.size == 26  # the template's 13: legends grow too
    assert out.template.layout.title.font.size == 36
    assert out.xaxis.tickfont.size == 22
    assert out.annotations[0].font.size == 18
    assert present.scale_fonts(fig, 2.0).data[0].textfont.size == 20
    assert fig.layout.xaxis.tickfont.size == 11  # the page's figure is left as it was


def test_scale_fonts_without_any_font_size_starts_from_plotlys_default():
    fig = go.Figure(go.Scatter(x=[1], y=[1]))
    fig.update_layout(template="none")
    assert present.scale_fonts(fig, 1.5).layout.font.size == 18


def test_slide_figure_moves_a_legend_under_the_plot_to_the_foot_with_room():
    fig = go.Figure(go.Bar(x=[1], y=["a"], orientation="h", name="n"))
    fig.update_layout(template=charts.TEMPLATE_NAME, title_text="Pain points<br><sup>All customers</sup>",
                      legend=dict(orientation="h", y=-0.12, x=0), margin=dict(b=40), height=400)
    slide = present.slide_figure(fig, height=555, factor=1.5)
    assert slide.layout.height == 555
    assert slide.layout.legend.yref == "container" and slide.layout.legend.y == 0
    assert slide.layout.margin.b >= 5.5 * 21  # the grown font: 14 x 1.5
    assert slide.layout.title.text == "All customers"  # the slide's heading says "Pain points"


@pytest.mark.parametrize("window, takeaway, expected", [
    ((1280, 800), "Short.", (1200, 800 - 175 - 36)),
    ((1920, 1080), "Short.", (1840, 1080 - 175 - 36)),
    ((1280, 800), "x" * 200, (1200, 800 - 175 - 2 * 36)),  # 200 chars of 11.5 px: two lines
])
def test_chart_size_leaves_room_for_the_slide_chrome(window, takeaway, expected):
    assert present.chart_size(window, takeaway) == expected


def test_a_present_link_opens_its_slide_for_its_persona(app):
    at = open_page(app)
    persona = at.selectbox(key="jm_persona").options[2]
    again = type(app).from_file(app._script_path, default_timeout=60)
    again.query_params.update({"present": "1", "slide": "3", "jm_persona": persona})
    again.switch_page(PAGE).run()
    no_exceptions(again)
    assert again.header[0].value == "How customers move"
    assert again.selectbox(key="jm_persona").value == persona
    assert persona in figure_json(again, 0)["layout"]["title"]["text"]
    again.button(key="present_next").click().run()
    assert again.header[0].value == "Pain points"
    assert again.query_params.get("slide") in ("4", ["4"])


def _halves(sample_events):
    """The comparison controls' default periods: the first half of the days and the rest."""
    import datetime as dt

    import pandas as pd

    days = pd.to_datetime(sample_events["timestamp"]).dt.date
    first, last = days.min(), days.max()
    middle = first + (last - first) // 2
    return (first, middle), (middle + dt.timedelta(days=1), last)


def _expected_changes(small_sample, sample_events):
    from journeylib import compare
    from journeylib.ingest import load_journey

    data = load_journey(**{k: str(small_sample / f"{k}.csv") for k in ("touchpoints", "survey", "customers")})
    (a0, a1), (b0, b1) = _halves(sample_events)
    a = compare.apply_view(data, f"from={a0},to={a1}")
    b = compare.apply_view(data, f"from={b0},to={b1}")
    return compare.what_changed(a, b), compare.View(start=a0, end=a1).label, compare.View(start=b0, end=b1).label


def test_present_mode_keeps_the_pages_comparison_with_a_what_changed_slide(app, small_sample, sample_events):
    from journeylib import export

    at = open_page(app)
    at.selectbox(key="cmp").set_value("period").run()
    no_exceptions(at)
    at.button(key="present_on").click().run()
    no_exceptions(at)
    assert "Slide 1 of 6: Journey map" in at.caption[0].value
    # The map slide fits its window: the what-changed lane is on it or named among those left out.
    texts = " ".join(a.get("text", "") for a in figure_json(at, 0)["layout"]["annotations"])
    assert "What changed" in texts
    at.button(key="present_next").click().run()
    no_exceptions(at)
    assert at.header[0].value == "What changed"
    changed, label_a, label_b = _expected_changes(small_sample, sample_events)
    section = export.what_changed_section(changed, label_a, label_b)
    assert md_escape(section.takeaway) in [m.value for m in at.markdown]
    # The slide's chart is the section's: one point per stage of its measure, ▲/▼ where significant.
    spec = figure_json(at, 0)  # only the slide on screen is drawn until the window reports its size
    measure = changed.groupby("measure")["significant"].sum()
    measure = measure.idxmax() if measure.max() > 0 else changed["measure"].value_counts().idxmax()
    rows = changed[changed["measure"] == measure]
    assert list(spec["data"][0]["y"]) == list(rows["stage"])
    marks = sum(("▲" in t or "▼" in t) for t in spec["data"][0]["text"])
    assert marks == int(rows["significant"].sum())
    assert f"{label_b} minus {label_a}" in spec["layout"]["title"]["text"]


def test_a_present_link_with_a_comparison_opens_its_what_changed_slide(app, small_sample, sample_events):
    at = open_page(app)
    again = type(app).from_file(app._script_path, default_timeout=60)
    again.query_params.update({"present": "1", "slide": "2", "cmp": "Two periods"})
    again.switch_page(PAGE).run()
    no_exceptions(again)
    assert again.header[0].value == "What changed"
    changed, label_a, label_b = _expected_changes(small_sample, sample_events)
    assert f"{label_b} minus {label_a}" in figure_json(again, 0)["layout"]["title"]["text"]
    # Without a comparison there is no such slide.
    plain = type(app).from_file(app._script_path, default_timeout=60)
    plain.query_params.update({"present": "1", "slide": "2"})
    plain.switch_page(PAGE).run()
    no_exceptions(plain)
    assert plain.header[0].value == "How customers feel"
    assert at is not None
