"""Chart builders: structure of the figures (data, layout), not pixels."""

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

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


def test_funnel_and_top_paths_and_nps():
    f = pd.DataFrame({"stage": STAGES, "customers": [100, 40, 10], "conversion": [1.0, 0.4, 0.1],
                      "step_conversion": [1.0, 0.4, 0.25], "drop_off": [0, 60, 30]})
    fig = charts.funnel(f, subject="Persona A")
    assert list(fig.data[0].x) == [100, 40, 10] and "100 customers" in fig.layout.title.text
    assert fig.data[0].text[1] == "40 · 40%"

    paths = pd.DataFrame({"path": ["Awareness > Purchase", "Awareness"], "customers": [30, 20],
                          "share": [0.3, 0.2], "purchase_rate": [1.0, 0.0]})
    fig = charts.top_paths(paths, customers=100)
    assert fig.data[0].orientation == "h" and list(fig.data[0].x) == [0.3, 0.2]
    assert "100% purchase" in fig.data[0].text[0]

    nps = pd.DataFrame({"persona": ["A"], "n": [10], "promoters": [5], "passives": [3],
                        "detractors": [2], "nps": [30.0]})
    fig = charts.nps_bar(nps)
    assert [t.name.split()[0] for t in fig.data] == ["Detractors", "Passives", "Promoters"]
    assert fig.data[2].x[0] == 0.5 and "NPS +30" in fig.data[0].y[0]


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
    fig = charts.silhouette_curve({2: 0.3, 3: 0.5, 4: 0.4}, chosen=3)
    assert list(fig.data[0].x) == [2, 3, 4] and list(fig.data[1].x) == [3]
