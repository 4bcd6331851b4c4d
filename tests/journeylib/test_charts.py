"""Chart builders: structure of the figures (data, layout), not pixels."""

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from journeylib import charts
from journeylib.schema import END_NODE, OTHER_NODE

STAGES = ["Awareness", "Consideration", "Purchase"]


def sankey_frame():
    # 10 customers: 7 start at Ad, 3 at Search; 2 stop after step 1; 3 after step 2.
    return pd.DataFrame({
        "step": [1, 1, 1, 2, 2, 2],
        "source": ["Ad", "Ad", "Search", "Site", "Site", "Site"],
        "target": ["Site", END_NODE, "Site", "Cart", END_NODE, OTHER_NODE],
        "customers": [5, 2, 3, 4, 3, 1],
    })


def test_sankey_nodes_are_step_and_name():
    fig = charts.sankey(sankey_frame(), subject="Persona A", stages=STAGES,
                        node_stage={"Ad": "Awareness", "Site": "Consideration", "Cart": "Purchase"})
    s = fig.data[0]
    assert isinstance(s, go.Sankey)
    labels = list(s.node.label)
    # Ad, Search (step 1); Site, (end) (step 2); Cart, (other), (end) (step 3)
    assert sorted(labels) == sorted(["Ad", "Search", "Site", END_NODE, "Cart", OTHER_NODE, END_NODE])
    assert labels.count(END_NODE) == 2
    # Each link's value is preserved, and Site at step 2 receives 5 + 3.
    site = labels.index("Site")
    into_site = sum(v for t, v in zip(s.link.target, s.link.value) if t == site)
    assert into_site == 8
    # Title: what, for whom, denominator = customers at step 1.
    assert "Persona A" in fig.layout.title.text and "10 customers" in fig.layout.title.text
    assert fig.layout.title.text.startswith("Customer journeys")


def test_sankey_end_nodes_grey_with_share_and_stage_colours():
    fig = charts.sankey(sankey_frame(), stages=STAGES,
                        node_stage={"Ad": "Awareness", "Site": "Consideration", "Cart": "Purchase"})
    s = fig.data[0]
    labels, colors, hover = list(s.node.label), list(s.node.color), list(s.node.customdata)
    ends = [i for i, label in enumerate(labels) if label == END_NODE]
    assert all(colors[i] == charts.END_COLOR for i in ends)
    end_hover = sorted(hover[i] for i in ends)
    # 2 of the 10 customers at step 1 stopped; 3 of the 8 at step 2 (37.5%).
    assert "2 customers stopped" in end_hover[0] and "20.0% of the 10 customers at step 1" in end_hover[0]
    assert "3 customers stopped" in end_hover[1] and "37.5% of the 8 customers at step 2" in end_hover[1]
    palette = charts.stage_colors(STAGES)
    assert colors[labels.index("Ad")] == palette["Awareness"]
    assert colors[labels.index("Cart")] == palette["Purchase"]
    assert colors[labels.index("Search")] == charts.NO_STAGE_COLOR
    # The end of step 1 sits in the step-2 column, left of the step-3 nodes.
    x = list(s.node.x)
    step2_end = [i for i in ends if "step 1" in hover[i]][0]
    assert x[step2_end] == x[labels.index("Site")] < x[labels.index("Cart")]
    # Stage key as legend entries.
    assert [t.name for t in fig.data[1:]][:3] == ["Awareness", "Consideration", "Purchase"]
    # No node with a stage: no key of one grey "(no stage)".
    unstaged = charts.sankey(sankey_frame(), stages=STAGES)
    assert len(unstaged.data) == 1


def test_sankey_stage_level_and_empty():
    frame = pd.DataFrame({"step": [1], "source": ["Awareness"], "target": ["Purchase"], "customers": [4]})
    fig = charts.sankey(frame, level="stage", stages=STAGES)
    assert list(fig.data[0].node.color) == [charts.stage_colors(STAGES)["Awareness"],
                                            charts.stage_colors(STAGES)["Purchase"]]
    empty = charts.sankey(frame.iloc[0:0])
    assert "No journeys" in empty.layout.annotations[0].text


def test_persona_colours_are_stable_and_colour_blind_safe():
    a = charts.persona_colors(["P1", "P2", "P3"])
    assert a["P1"] == "#0072B2" and a["P2"] == "#E69F00"
    assert charts.persona_colors(["P1", "P2", "P3", "P4"])["P3"] == a["P3"]
    assert all(c in charts.OKABE_ITO for k, c in a.items() if k != "all")
    stage = charts.stage_colors(STAGES)
    assert len({stage[s] for s in STAGES}) == 3 and not set(stage.values()) & set(charts.OKABE_ITO)
    assert charts.text_color_on("#FFFFFF") == "#000000" and charts.text_color_on("#332288") == "#FFFFFF"
    assert len(set(charts.persona_colors([f"p{i}" for i in range(8)]).values())) == 9


def emotion_frame():
    return pd.DataFrame({
        "stage": ["Awareness", "Consideration", "Purchase"] * 2,
        "persona": ["A"] * 3 + ["B"] * 3,
        "mean": [3.0, 3.5, 4.0, 2.0, 2.5, 3.0],
        "ci_low": [2.8, 3.3, 3.5, 1.8, 2.2, np.nan],
        "ci_high": [3.2, 3.7, 4.5, 2.2, 2.8, np.nan],
        "n": [100, 80, 12, 90, 70, 1],
        "low_n": [False, False, True, False, False, True],
    })


def test_emotion_curve_lines_bands_and_low_n():
    colors = {"A": "#0072B2", "B": "#E69F00"}
    fig = charts.emotion_curve(emotion_frame(), subject="All customers", colors=colors, y_range=(1, 5))
    assert fig.layout.yaxis.range[0] < 1 and 5 < fig.layout.yaxis.range[1] < 5.5
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    assert [t.name for t in lines] == ["A", "B"]
    assert lines[0].line.color == "#0072B2" and lines[1].line.color == "#E69F00"
    assert list(lines[0].x) == STAGES and list(lines[0].y) == [3.0, 3.5, 4.0]
    assert list(lines[0].marker.symbol) == ["circle", "circle", "circle-open"]
    bands = [t for t in fig.data if t.fill == "tonexty"]
    assert len(bands) == 2 and list(bands[0].y) == [2.8, 3.3, 3.5]
    assert [int(v) for v in lines[0].customdata[:, 0]] == [100, 80, 12]
    assert any("fewer than 30" in a.text for a in fig.layout.annotations)
    assert "All customers" in fig.layout.title.text


def test_heatmap_orders_stages_and_centres_scale():
    frame = pd.DataFrame({"stage": ["Purchase", "Awareness", "Awareness"],
                          "touchpoint": ["Checkout", "Ad", "Email"], "mean": [2.0, 4.0, 3.0], "n": [5, 10, 7]})
    fig = charts.heatmap(frame, stages=STAGES, midpoint=3.0)
    h = fig.data[0]
    assert list(h.x) == ["Awareness", "Purchase"]
    assert list(h.y) == ["Ad", "Email", "Checkout"]
    assert h.zmid == 3.0
    assert h.z[2][1] == 2.0 and math.isnan(h.z[0][1])


def test_funnel_marks_the_goal_and_puts_small_stages_labels_outside():
    f = pd.DataFrame({"stage": STAGES + ["Loan approved"], "customers": [1000, 400, 10, 300],
                      "share": [1.0, 0.4, 0.01, 0.3], "conversion": [1.0, 0.4, 0.025, 30.0]})
    fig = charts.funnel(f, subject="Persona A", goal_label="Loan approved", stages=STAGES)
    trace = fig.data[0]
    assert list(trace.x) == [1000, 400, 10, 300] and "1,000 customers" in fig.layout.title.text
    assert fig.layout.title.text.startswith("Funnel towards Loan approved")
    assert list(trace.y)[-1] == "Loan approved (goal)"
    assert list(trace.text) == ["1,000 · 100%", "400 · 40%", "10 · 1%", "300 · 30%"]
    # 10 of 1,000 is a sliver of a bar: its label goes beside it, the wide bars keep theirs inside.
    assert list(trace.textposition) == ["inside", "inside", "outside", "inside"]
    palette = charts.stage_colors(STAGES)
    assert list(trace.marker.color) == [palette[s] for s in STAGES] + [charts.GOAL_COLOR]
    # A stage goal's own stage is the last row; without a goal the title says what to set.
    stage_goal = charts.funnel(f.iloc[:3], goal_label="Purchase")
    assert list(stage_goal.data[0].y)[-1] == "Purchase (goal)"
    no_goal = charts.funnel(f.iloc[:3])
    assert "no goal set" in no_goal.layout.title.text and charts.NO_GOAL_HINT in no_goal.layout.title.text
    assert "(goal)" not in " ".join(no_goal.data[0].y)


def test_top_paths_name_the_goal_and_leave_room_for_their_text():
    paths = pd.DataFrame({"path": ["Application > Offer", "Application"], "customers": [30, 20],
                          "share": [0.3, 0.2], "conversion": [1.0, float("nan")]})
    fig = charts.top_paths(paths, customers=100, goal_label="Loan approved")
    bar = fig.data[0]
    assert bar.orientation == "h" and list(bar.x) == [0.3, 0.2]
    assert "100% reached Loan approved" in bar.text[0]
    assert "reached" not in bar.text[1]  # nobody on that path could be judged: no number
    assert "with the share that reached Loan approved" in fig.layout.title.text
    # The longest bar stops short of the axis end by at least its text's width.
    widest = max(charts.text_width(line, 13) for t in bar.text for line in t.split("<br>"))
    plot_px = 820 - 0.38 * 820 - 50
    assert fig.layout.xaxis.range[1] * (1 - widest / plot_px) >= 0.3 - 1e-9
    no_goal = charts.top_paths(paths.assign(conversion=float("nan")), customers=100)
    assert charts.NO_GOAL_HINT in no_goal.layout.title.text
    assert "reached" not in " ".join(no_goal.data[0].text) and "purchase" not in no_goal.to_json().lower()
    # Narrow (two side by side): the path wraps at " > " and the text takes two lines.
    narrow = charts.top_paths(paths, customers=100, goal_label="Loan approved", fit_width=300)
    assert "<br>" in narrow.data[0].text[0]


def test_nps_legend_sits_apart_from_the_axis_title():
    nps = pd.DataFrame({"persona": ["A <b>"], "n": [10], "promoters": [5], "passives": [3],
                        "detractors": [2], "nps": [30.0]})
    fig = charts.nps_bar(nps)
    assert [t.name.split()[0] for t in fig.data] == ["Detractors", "Passives", "Promoters"]
    assert fig.data[2].x[0] == 0.5 and "NPS +30" in fig.data[0].y[0] and "A &lt;b&gt;" in fig.data[0].y[0]
    # Above the bars (the axis title is below them).
    assert fig.layout.legend.yanchor == "bottom" and fig.layout.legend.y >= 1


def test_empty_charts_say_what_they_are_told_and_wrap():
    message = "No survey answer names both a touchpoint and a stage. " * 3
    fig = charts.heatmap(pd.DataFrame(), empty_text=message)
    text = fig.layout.annotations[0].text
    assert "match the current filters" not in text and text.count("<br>") >= 1
    lines = text.split("<br>")
    assert all(charts.text_width(line, 16) <= 700 - 60 for line in lines)
    for fig in (charts.sankey(pd.DataFrame()), charts.funnel(pd.DataFrame()), charts.top_paths(pd.DataFrame()),
                charts.emotion_curve(pd.DataFrame()), charts.nps_bar(pd.DataFrame())):
        assert "filters" not in fig.layout.annotations[0].text


def test_sankey_labels_fit_between_steps_and_never_overlap():
    """Labels are wrapped to the room between steps; a node too small for its label
    leaves it to the hover; the vertical slots hold every shown label."""
    steps = 5
    rows = []
    for k in range(1, steps):
        rows += [(k, "Price comparison site", "Google search", 400), (k, "Price comparison site", "Cart error", 3),
                 (k, "Price comparison site", "Checkout", 3)]
    frame = pd.DataFrame(rows, columns=["step", "source", "target", "customers"])
    for width in (820, 400):
        fig = charts.sankey(frame, fit_width=width)
        node = fig.data[0].node
        plot_w = width - 20
        gap = (plot_w - charts.SANKEY_THICKNESS) / (steps - 1) - charts.SANKEY_THICKNESS - 12
        for label, x in zip(node.label, node.x):
            room = gap / 2 if x >= (steps - 2) / (steps - 1) - 1e-3 else gap
            for line in label.split("<br>"):
                assert charts.text_width(line, charts.SANKEY_FONT) <= room + 1e-6, (width, line)
        plot_h = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
        line_h = charts.LINE_SPACING * charts.SANKEY_FONT
        by_column: dict[float, list] = {}
        for label, x, y in zip(node.label, node.x, node.y):
            by_column.setdefault(x, []).append((y * plot_h, label))
        for nodes in by_column.values():
            nodes.sort()
            for (y0, a), (y1, b) in zip(nodes, nodes[1:]):
                need = (len(a.split("<br>")) if a else 0) + (len(b.split("<br>")) if b else 0)
                assert y1 - y0 >= need * line_h / 2 - 1e-6, (a, b)
    # Cart error and Checkout (3 customers each) get no room for a label at 400 px: hover only.
    narrow = charts.sankey(frame, fit_width=400)
    assert "" in list(narrow.data[0].node.label) and "hover unlabelled nodes" in narrow.layout.title.text


def test_persona_map_and_silhouette():
    emb = pd.DataFrame({"customer_id": [str(i) for i in range(20)], "x": np.arange(20.0),
                        "y": np.arange(20.0), "persona": ["A"] * 10 + ["B"] * 10})
    fig = charts.persona_map(emb, colors={"A": "#000000", "B": "#E69F00"}, max_points=10)
    assert sum(len(t.x) for t in fig.data) == 10
    assert "20 customers" in fig.layout.title.text
    assert [t.marker.color for t in fig.data] == ["#000000", "#E69F00"]
    # Traces follow the colour map (model order), not the frame's order.
    fig = charts.persona_map(emb, colors={"B": "#E69F00", "A": "#000000"})
    assert [t.name for t in fig.data] == ["B", "A"]
    assert "Map axis" not in fig.to_json() and "the axes have no units" in fig.layout.title.text
    fig = charts.silhouette_curve({2: 0.3, 3: 0.5, 4: 0.4}, chosen=3)
    assert list(fig.data[0].x) == [2, 3, 4] and list(fig.data[1].x) == [3]


# ----------------------------------------------------------------------------- pain points, key drivers


def pains_frame(left=(0, 0), below=(True, True)):
    return pd.DataFrame({
        "level": ["touchpoint", "touchpoint"], "stage": [None, "Intent"], "touchpoint": ["Wifi", "Cart error"],
        "customers": [0, 40], "share": [np.nan, 0.4], "left": list(left), "drop_off_rate": [np.nan, left[1] / 40],
        "average_drop_off_rate": [np.nan, 0.1], "mean_score": [2.81, 1.7], "score_n": [25163, 30],
        "ci_low": [2.797, 1.5], "ci_high": [2.828, 1.9], "overall_mean": [3.28, 3.28], "below_average": list(below),
        "score_gap": [0.117, 0.395], "severity": [0.117, 0.395], "impact": [2947.7, 11.85],
    })


def test_pain_points_chart_shows_the_interval_and_hides_drop_off_it_cannot_count():
    fig = charts.pain_points_chart(pains_frame(), subject="All customers", goal_label="Loan approved")
    leaving, rating = fig.data[0], fig.data[1]
    assert leaving.visible is False  # nobody could be counted as leaving
    assert list(rating.x) == pytest.approx([25163 * 0.117, 30 * 0.395])
    assert list(leaving.y) == ["Wifi", "Intent · Cart error"]
    assert rating.text[0] == "rated 2.81 vs 3.28 average<br>95% CI 2.80-2.83, n=25,163"
    both = charts.pain_points_chart(pains_frame(left=(0, 12)), goal_label="Loan approved")
    assert both.data[0].visible is True and "without Loan approved" in both.data[0].name
    assert both.data[1].text[1] == "12 of 40 left (30%) · rated 1.70 vs 3.28 average<br>95% CI 1.50-1.90, n=30"
    # Every bar at one stage: the stage is said once, in the title, not on every bar.
    one = charts.pain_points_chart(pains_frame().assign(stage="Flight"), subject="All customers")
    assert list(one.data[1].y) == ["Wifi", "Cart error"]
    assert "All customers · all at Flight" in one.layout.title.text
    empty = charts.pain_points_chart(pains_frame().iloc[0:0], empty_text="Nothing below average; set a goal.")
    assert empty.layout.annotations[0].text == "Nothing below average; set a goal."


def drivers_result():
    from journeylib.insights import KeyDrivers

    table = pd.DataFrame({
        "feature": ["rating: Boarding", "rating: Wifi", "touchpoint used: App", "rating: Food", "rating: Gate"],
        "kind": ["rating", "rating", "touchpoint used", "rating", "rating"],
        "label": ["Boarding", "Wifi", "used 'App'", "Food", "Gate"],
        "importance": [0.40, 0.30, 0.15, 0.10, 0.05],
        "importance_low": [0.35, 0.26, 0.10, 0.07, 0.02], "importance_high": [0.45, 0.33, 0.20, 0.12, 0.08],
        "performance": [3.4, 2.8, np.nan, 3.6, 2.9], "answered": [100, 95, 60, 100, 99],
        "direction": [1, 1, 1, 1, -1], "effect": [0.14, 0.08, 1.8, 0.02, -0.01],
        "effect_low": [0.12, 0.06, 1.5, 0.01, -0.02], "effect_high": [0.16, 0.10, 2.1, 0.03, 0.0],
        "quadrant": ["Keep up", "Fix first", None, "Don't overinvest", "Goes the other way"],
        "reading": ["r1", "r2", "r3", "r4", "r5"],
    })
    return KeyDrivers("satisfaction", "Satisfied", True, 100, table, 0.5, 0.4, "summary", pd.DataFrame(), "method",
                      phrase="reach Satisfied")


def test_key_drivers_chart_bars_are_importance_shares_with_intervals():
    fig = charts.key_drivers_chart(drivers_result(), subject="All customers")
    bars = fig.data[0]
    assert list(bars.y) == ["Gate", "Food", "used 'App'", "Wifi", "Boarding"]  # most important on top
    assert list(bars.x) == pytest.approx([5, 10, 15, 30, 40])
    assert list(bars.error_x.array) == pytest.approx([3, 2, 5, 3, 5])
    assert list(bars.error_x.arrayminus) == pytest.approx([3, 3, 5, 4, 5])
    assert bars.marker.color[3] == charts.QUADRANT_COLORS["Fix first"]
    assert "Key drivers of Satisfied" in fig.layout.title.text and "100 customers" in fig.layout.title.text
    assert fig.data[1].text[2].strip() == "15% · 1.80× as likely"
    assert fig.data[1].text[3].strip() == "30% · +8.0 pts per point"
    legend = [t.name for t in fig.data if t.showlegend]
    assert legend == ["Fix first", "Keep up", "Don't overinvest", "Goes the other way", "touchpoint goes with more"]


def test_importance_performance_chart_structure():
    fig = charts.importance_performance_chart(drivers_result(), subject="All customers", score_label="1-5")
    markers = [t for t in fig.data if "markers" in (t.mode or "")]
    # One marker per rated driver (the touchpoint used has no rating): at (mean rating, importance %).
    points = sorted((x, y) for t in markers for x, y in zip(t.x, t.y))
    assert points == sorted([(3.4, 40.0), (2.8, 30.0), (3.6, 10.0), (2.9, 5.0)])
    assert sorted(n for t in markers for n in t.text) == ["Boarding", "Food", "Gate", "Wifi"]
    fix = next(t for t in markers if t.name == "Fix first")
    assert list(fix.text) == ["Wifi"] and fix.marker.color == charts.QUADRANT_COLORS["Fix first"]
    assert fig.layout.xaxis.title.text.startswith("Performance: mean rating (1-5)")
    assert fig.layout.yaxis.title.text.startswith("Importance: share of what the inputs explain")
    corners = {a.text for a in fig.layout.annotations}
    assert {"<b>Fix first</b>", "<b>Keep up</b>", "<b>Low priority</b>", "<b>Don't overinvest</b>"} <= corners
    # The quadrant lines sit at the means of the rated drivers.
    vertical = [s.x0 for s in fig.layout.shapes if s.x0 == s.x1]
    horizontal = [s.y0 for s in fig.layout.shapes if s.y0 == s.y1]
    assert vertical == [pytest.approx(np.mean([3.4, 2.8, 3.6, 2.9]))]
    assert horizontal == [pytest.approx(np.mean([40, 30, 10, 5]))]
    # A rating that goes the other way is hollow and explained in the legend.
    other = next(t for t in markers if t.showlegend)
    assert list(other.text) == ["Gate"] and other.marker.color == "#FFFFFF" and "less Satisfied" in other.name
    assert "What to fix first for Satisfied" in fig.layout.title.text


def test_importance_performance_chart_without_ratings_says_what_it_needs():
    result = drivers_result()
    result.table = result.table[result.table["kind"] == "touchpoint used"]
    fig = charts.importance_performance_chart(result)
    assert "needs ratings" in fig.layout.annotations[0].text
    # Its title is wrapped for the side column it sits in, and the top margin holds it.
    narrow = charts.silhouette_curve({2: 0.3, 3: 0.5, 4: 0.4}, chosen=3, fit_width=250)
    lines = narrow.layout.title.text.split("<br>")
    assert len(lines) >= 3 and narrow.layout.margin.t >= 28 + 1.3 * 18 * len(lines) - 1
    for line in lines:
        sup = line.startswith("<sup>")
        text = line.removeprefix("<sup>").removesuffix("</sup>")
        assert charts.text_width(text, 0.7 * 18 if sup else 18) <= 250 - 24


def test_persona_overview_ticks_stay_within_shares():
    overview = pd.DataFrame({"persona": ["Short", "Long"], "customers": [68, 32], "share": [0.68, 0.32],
                             "conversion": [0.5, 0.25], "mean_score": [float("nan"), 3.5]})
    fig = charts.persona_overview_chart(overview, goal_label="Won")
    assert fig.layout.xaxis.range[1] > 1  # room for the text past the longest bar
    assert max(fig.layout.xaxis.tickvals) <= 1.0 and len(fig.layout.xaxis.tickvals) <= 6


def test_top_paths_ticks_stay_within_shares():
    paths = pd.DataFrame({"path": ["A > B", "A"], "customers": [60, 40], "share": [0.6, 0.4],
                          "conversion": [1.0, 0.5]})
    fig = charts.top_paths(paths, customers=100, goal_label="Won", fit_width=400)
    assert fig.layout.xaxis.range[1] > 1  # room for the text past the bar
    assert max(fig.layout.xaxis.tickvals) <= 1.0 and len(fig.layout.xaxis.tickvals) <= 6


def test_the_template_set_without_validation_is_the_registered_one():
    """apply_template skips Plotly's per-figure validation; the figure must come out as if
    the template had been set by name, and changing one figure's template must leave the
    registered template and the next figure alone."""
    import plotly.io as pio

    by_name = go.Figure(go.Bar(x=["a"], y=[1])).update_layout(template=charts.TEMPLATE_NAME, title_text="T")
    fast = charts.apply_template(go.Figure(go.Bar(x=["a"], y=[1])).update_layout(title_text="T"))
    assert fast.to_plotly_json() == by_name.to_plotly_json()
    registered = pio.templates[charts.TEMPLATE_NAME].to_plotly_json()
    assert fast.to_plotly_json()["layout"]["template"] == registered
    fast.layout.template.layout.font.size = 99
    assert pio.templates[charts.TEMPLATE_NAME].layout.font.size == 14
    again = charts.apply_template(go.Figure())
    assert again.layout.template.layout.font.size == 14
    # Every chart builder finishes its figure with it.
    fig = charts.sankey(sankey_frame(), stages=STAGES)
    assert fig.to_plotly_json()["layout"]["template"] == registered


def test_key_driver_shares_have_no_tick_past_100_percent():
    import dataclasses

    result = drivers_result()
    table = result.table.assign(importance=[0.9, 0.05, 0.03, 0.01, 0.01], importance_high=[0.99, 0.1, 0.05, 0.02, 0.02])
    fig = charts.key_drivers_chart(dataclasses.replace(result, table=table))
    assert fig.layout.xaxis.range[1] > 100  # the text beside the longest bar needs the room
    assert max(fig.layout.xaxis.tickvals) == 100
    assert charts.key_drivers_chart(drivers_result()).layout.xaxis.tickvals is None


def test_long_names_under_an_emotion_curve_keep_every_word():
    def curve(names):
        return pd.DataFrame({"touchpoint": names, "persona": "all", "mean": 3.0, "ci_low": 2.5, "ci_high": 3.5,
                             "n": 40, "low_n": False})

    stages = ["Awareness", "Consideration", "Intent", "Purchase", "Retention", "Advocacy"]
    assert charts.emotion_curve(curve(stages)).layout.xaxis.ticktext is None  # short: Plotly lays them out
    names = ["Cabin staff service", "Food & beverages", "Ground service", "Inflight entertainment", "Seat comfort",
             "Value for money", "Wifi & connectivity"]
    axis = charts.emotion_curve(curve(names)).layout.xaxis
    assert axis.tickangle == -90  # "entertainment" is wider than a seventh of the plot
    assert [t.replace("<br>", " ").replace("&amp;", "&") for t in axis.ticktext] == names
    assert all(t.count("<br>") <= 1 for t in axis.ticktext)
