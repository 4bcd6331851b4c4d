"""Figures of comparisons, backward Sankeys, paths and time: structure from small frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from journeylib import charts
from journeylib import compare as C


def table():
    return pd.DataFrame({
        "measure": ["reached", "reached", "score"], "stage": ["Look", "Buy", "Look"],
        "a": [0.5, 0.2, 3.0], "b": [0.52, 0.35, 3.1], "difference": [0.02, 0.15, 0.1],
        "ci_low": [-0.03, 0.1, -0.2], "ci_high": [0.07, 0.2, 0.4], "p_value": [0.4, 0.001, 0.5],
        "n_a": [100, 100, 40], "n_b": [120, 120, 50], "significant": [False, True, False],
    })


def test_difference_chart_colours_and_marks_only_significant_rows():
    fig = charts.difference_chart(table(), measure="reached", label_a="March", label_b="April")
    trace = fig.data[0]
    assert list(trace.y) == ["Look", "Buy"]
    assert list(trace.x) == pytest.approx([2.0, 15.0])  # percentage points
    assert list(trace.marker.color) == [charts.SAME_COLOR, charts.UP_COLOR]
    assert trace.text[1] == "+15.0 pts ▲" and trace.text[0].endswith("(n.s.)")
    assert list(trace.error_x.array) == pytest.approx([5.0, 5.0])
    assert "April minus March" in fig.layout.title.text
    assert "no test" in charts.difference_chart(
        table().assign(p_value=np.nan, significant=False), measure="reached").data[0].text[0]


def test_funnel_compare_marks_the_second_view():
    fa = pd.DataFrame({"stage": ["Look", "Buy"], "customers": [100, 20], "conversion": [1.0, 0.2]})
    fb = pd.DataFrame({"stage": ["Look", "Buy"], "customers": [120, 42], "conversion": [1.0, 0.35]})
    fig = charts.funnel_compare(fa, fb, table(), label_a="March", label_b="April")
    assert [t.name for t in fig.data] == ["March", "April"]
    assert list(fig.data[1].x) == [1.0, 0.35]
    assert fig.data[1].text[1] == "35% (42) ▲ +15.0 pts" and "▲" not in fig.data[0].text[1]
    assert fig.layout.barmode == "group"


def test_sankey_differences_and_marked_nodes():
    a = pd.DataFrame({"step": [1, 1], "source": ["H", "P"], "target": ["P", "(end)"], "customers": [90, 10]})
    b = pd.DataFrame({"step": [1, 1], "source": ["H", "P"], "target": ["P", "(end)"], "customers": [50, 50]})
    d = C.sankey_differences(a, b).set_index(["step", "node"])
    # H at step 1: 90 of 100 against 50 of 100; P at step 2 (reached from H) the same.
    assert d.loc[(1, "H"), "a"] == 0.9 and d.loc[(1, "H"), "b"] == 0.5
    assert d.loc[(1, "H"), "significant"] and d.loc[(1, "P"), "difference"] == pytest.approx(0.4)
    fig = charts.sankey_compare(b, C.sankey_differences(a, b), level="touchpoint", node_stage={"H": "Look"})
    labels = list(fig.data[0].node.label)
    assert "H ▼" in labels and "P ▲" in labels and "(end)" in labels


def test_backward_sankey_figure():
    f = pd.DataFrame({"step": [-2, -1, -1], "source": ["(start)", "A", "(start)"], "target": ["A", "E", "E"],
                      "customers": [3, 3, 2]})
    fig = charts.backward_sankey(f, anchor="Cart error")
    assert fig.layout.title.text.startswith("What happened before Cart error") and "5 customers" in fig.layout.title.text
    node = fig.data[0].node
    assert [c for lab, c in zip(node.label, node.color) if lab == "(start)"] == [charts.END_COLOR] * 2
    assert "reaches Cart error" in charts.backward_sankey(f.iloc[:0], anchor="Cart error").layout.annotations[0].text


def test_paths_and_time_figures():
    paths = pd.DataFrame({"path": ["P > E", "P > C > E"], "customers": [3, 1], "share": [0.75, 0.25],
                          "q1_seconds": [60.0, 120.0], "median_seconds": [90.0, 7200.0], "q3_seconds": [100.0, 9000.0]})
    fig = charts.paths_between_chart(paths, source="P", target="E")
    assert list(fig.data[0].x) == [3, 1] and "median 2.0 h" in fig.data[0].text[1]
    assert "4 customers" in fig.layout.title.text
    time = pd.DataFrame({"persona": ["all", "all", "A", "A"], "stage": ["Look", "Buy"] * 2, "customers": [5, 3, 2, 1],
                         "q1_seconds": [0.0, 60.0, 0.0, 30.0], "median_seconds": [0.0, 600.0, 0.0, 60.0],
                         "q3_seconds": [0.0, 900.0, 0.0, 90.0]})
    fig = charts.time_to_stage_chart(time)
    assert [t.name for t in fig.data] == ["Everyone", "A"]
    assert list(fig.data[0].x) == [1.0, 600.0]  # 0 s drawn at 1 s on the log axis
    assert fig.layout.xaxis.type == "log"


@pytest.mark.parametrize("seconds, text", [(45, "45 s"), (600, "10 min"), (5400, "1.5 h"), (86400 * 3, "3.0 d"),
                                           (86400 * 30, "4.3 wk"), (None, "–")])
def test_format_duration(seconds, text):
    assert charts.format_duration(seconds) == text
