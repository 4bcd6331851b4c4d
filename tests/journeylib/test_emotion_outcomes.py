"""NPS, CSAT and outcome columns per stage, touchpoint and persona, against hand counts,
numpy and scipy."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from journeylib import emotions
from journeylib.engine import Engine
from journeylib.schema import ScoreScale

STAGES = ["Awareness", "Purchase"]
Z = stats.norm.ppf(0.975)

# customer, stage, touchpoint, score, day, nps
ROWS = [
    ("c1", "Awareness", "ad", 5.0, 1, 10.0),
    ("c1", "Purchase", "shop", 4.0, 1, 10.0),
    ("c2", "Awareness", "ad", 2.0, 1, 3.0),
    ("c2", "Purchase", "shop", 1.0, 1, 3.0),
    ("c3", "Awareness", "ad", 4.0, 1, 8.0),
    ("c4", "Purchase", "shop", 5.0, 1, 9.0),
    ("c4", "Purchase", "app", 3.0, 1, 9.0),
    # c5 answered twice at Purchase: the later NPS (day 4, 6) counts there.
    ("c5", "Purchase", "shop", 2.0, 1, 10.0),
    ("c5", "Purchase", "app", 2.0, 4, 6.0),
    ("c6", "Awareness", "ad", None, 1, None),
]


@pytest.fixture(scope="module")
def survey():
    frame = pd.DataFrame(ROWS, columns=["customer_id", "stage", "touchpoint", "score", "day", "nps"])
    frame["timestamp"] = (pd.Timestamp("2024-05-01") + pd.to_timedelta(frame.pop("day"), unit="D")).astype(
        "datetime64[us]")
    frame["score"] = frame["score"].astype("float64")
    frame["nps"] = frame["nps"].astype("float64")
    return Engine().table(frame)


def hand_nps(scores):
    x = np.asarray(scores, dtype=float)
    promoter, detractor = (x >= 9).astype(float), (x <= 6).astype(float)
    d = promoter - detractor  # each answer is +1, 0 or -1; NPS is 100 x its mean
    value = 100 * d.mean()
    half = 100 * Z * d.std(ddof=0) / math.sqrt(len(x))
    return value, value - half, value + half


def test_nps_by_stage_counts_each_customer_once_with_the_normal_interval(survey):
    out = emotions.nps_by(survey, "stage", stages=STAGES).set_index("group")
    assert list(out.index) == STAGES
    # Awareness: c1 10, c2 3, c3 8. Purchase: c1 10, c2 3, c4 9, c5 6 (latest).
    for stage, scores in {"Awareness": [10, 3, 8], "Purchase": [10, 3, 9, 6]}.items():
        row = out.loc[stage]
        value, lo, hi = hand_nps(scores)
        assert row["n"] == len(scores)
        assert row["nps"] == pytest.approx(value)
        assert (row["ci_low"], row["ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    assert (out.loc["Purchase", "promoters"], out.loc["Purchase", "passives"],
            out.loc["Purchase", "detractors"]) == (2, 0, 2)


def test_nps_by_persona_and_touchpoint(survey):
    personas = pd.DataFrame({"customer_id": ["c1", "c2", "c3"], "persona": ["X", "X", "Y"]})
    out = emotions.nps_by(survey, "persona", personas=personas).set_index("group")
    assert list(out.index) == ["X", "Y", "(unassigned)"]
    assert out.loc["X", "nps"] == pytest.approx(0.0)  # one promoter, one detractor
    assert out.loc["Y", "n"] == 1 and out.loc["Y", "nps"] == 0.0
    # (unassigned): c4 9 and c5 6 (its latest answer overall).
    assert out.loc["(unassigned)", "nps"] == pytest.approx(hand_nps([9, 6])[0])
    tp = emotions.nps_by(survey, "touchpoint").set_index("group")
    assert tp.loc["app", "n"] == 2 and tp.loc["app", "nps"] == pytest.approx(hand_nps([9, 6])[0])


def test_nps_interval_is_the_variance_of_the_difference():
    value, lo, hi = emotions.nps_interval([50], [20], [100])
    p, d = 0.5, 0.2
    half = 100 * Z * math.sqrt((p + d - (p - d) ** 2) / 100)
    assert value[0] == pytest.approx(30.0)
    assert (lo[0], hi[0]) == (pytest.approx(30 - half), pytest.approx(30 + half))
    assert np.isnan(emotions.nps_interval([0], [0], [0])[0][0])


def test_wilson_matches_scipy():
    lo, hi = emotions.wilson_interval([0, 3, 17, 20], [20, 20, 20, 20])
    for i, x in enumerate([0, 3, 17, 20]):
        ci = stats.binomtest(x, 20).proportion_ci(confidence_level=0.95, method="wilson")
        assert (lo[i], hi[i]) == (pytest.approx(ci.low), pytest.approx(ci.high))


def test_csat_is_the_top_two_box_share(survey):
    scale = ScoreScale(1.0, 5.0)
    assert emotions.top_box(scale) == 4.0
    out = emotions.csat_by(survey, scale, "stage", stages=STAGES).set_index("group")
    # Awareness scores 5, 2, 4 (c6 has none): 2 of 3. Purchase 4, 1, 5, 3, 2, 2: 2 of 6.
    assert (out.loc["Awareness", "n"], out.loc["Awareness", "satisfied"]) == (3, 2)
    assert (out.loc["Purchase", "n"], out.loc["Purchase", "satisfied"]) == (6, 2)
    ci = stats.binomtest(2, 6).proportion_ci(method="wilson")
    assert out.loc["Purchase", "csat"] == pytest.approx(2 / 6)
    assert out.loc["Purchase", "ci_low"] == pytest.approx(ci.low)
    with pytest.raises(ValueError, match="scale"):
        emotions.csat_by(survey, None, "stage")


def test_outcome_by_group(survey):
    yes = pd.DataFrame({"customer_id": ["c1", "c2", "c3", "c4", "c5"], "y": [1, 0, 1, 1, 0]})
    out = emotions.outcome_by(survey, yes, True, "stage", stages=STAGES).set_index("group")
    # Awareness respondents c1 c2 c3 c6 (c6 has no value): 2 of 3; Purchase c1 c2 c4 c5: 2 of 4.
    assert (out.loc["Awareness", "n"], out.loc["Awareness", "value"]) == (3, pytest.approx(2 / 3))
    ci = stats.binomtest(2, 4).proportion_ci(method="wilson")
    assert (out.loc["Purchase", "ci_low"], out.loc["Purchase", "ci_high"]) == (pytest.approx(ci.low),
                                                                                pytest.approx(ci.high))
    numbers = pd.DataFrame({"customer_id": ["c1", "c2", "c3", "c4"], "y": [7.0, 2.0, 5.0, 9.0]})
    everyone = emotions.outcome_by(survey, numbers, False, "persona").iloc[0]
    lo, hi = stats.t.interval(0.95, 3, loc=5.75, scale=stats.sem([7, 2, 5, 9]))
    assert (everyone["group"], everyone["n"], everyone["value"]) == ("all", 4, pytest.approx(5.75))
    assert (everyone["ci_low"], everyone["ci_high"]) == (pytest.approx(lo), pytest.approx(hi))


def test_unknown_grouping_is_refused(survey):
    with pytest.raises(ValueError, match="by must be"):
        emotions.nps_by(survey, "channel")


def test_measure_by_group_chart_scales_shares_and_opens_small_groups():
    from journeylib import charts

    frame = pd.DataFrame({"group": ["Awareness", "Purchase"], "n": [12, 80], "value": [0.25, 0.6],
                          "ci_low": [0.1, 0.5], "ci_high": [0.5, 0.7]})
    fig = charts.measure_by_group(frame, value="value", what="CSAT by stage", x_label="CSAT", share=True)
    dots = fig.data[0]
    assert list(dots.x) == [25.0, 60.0] and list(dots.text) == ["25%", "60%"]
    assert list(dots.error_x.arrayminus) == pytest.approx([15.0, 10.0])
    assert list(dots.marker.symbol) == ["circle-open", "circle"]
    assert list(dots.y) == ["Awareness (n=12)", "Purchase (n=80)"]


def test_persona_share_chart_marks_only_significant_changes():
    from journeylib import charts

    table = pd.DataFrame({"persona": ["X", "Y"], "a": [0.7, 0.3], "b": [0.4, 0.6], "difference": [-0.3, 0.3],
                          "ci_low": [-0.4, 0.2], "ci_high": [-0.2, 0.4], "p_value": [0.001, 0.2],
                          "significant": [True, False], "n_a": [100, 100], "n_b": [90, 90]})
    fig = charts.persona_share_compare(table, label_a="spring", label_b="summer")
    assert list(fig.data[0].x) == [0.7, 0.3] and list(fig.data[1].x) == [0.4, 0.6]
    assert fig.data[1].text[0].endswith("▼ -30.0 pts") and "▲" not in fig.data[1].text[1]
    assert fig.data[0].name == "spring (n=100)"
