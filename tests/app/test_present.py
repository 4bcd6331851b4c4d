"""Present mode: slides sized to the window, fonts that grow everywhere, a link that opens
the same slide for the same persona (keys and timing are checked in tests/browser)."""

import json

import plotly.graph_objects as go
import pytest

from journeylib import charts
from ui import present

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
