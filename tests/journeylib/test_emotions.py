"""Emotion statistics on tiny survey frames, checked against scipy.stats and by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from journeylib import emotions
from journeylib.engine import Engine

STAGES = ["Awareness", "Consideration", "Purchase"]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def survey(engine, rows, with_nps=False):
    """rows: (customer, stage, touchpoint, score[, comment, day, nps])."""
    rows = [tuple(r) + (None,) * (7 - len(r)) for r in rows]
    frame = pd.DataFrame(
        {
            "customer_id": pd.Series([r[0] for r in rows], dtype="str"),
            "stage": pd.Series([r[1] for r in rows], dtype="str"),
            "touchpoint": pd.Series([r[2] for r in rows], dtype="str"),
            "score": pd.Series([np.nan if r[3] is None else r[3] for r in rows], dtype="float64"),
            "comment": pd.Series([r[4] for r in rows], dtype="str"),
            "timestamp": pd.Series(
                [pd.NaT if r[5] is None else pd.Timestamp("2024-05-01") + pd.Timedelta(days=r[5]) for r in rows],
                dtype="datetime64[us]",
            ),
        }
    )
    if with_nps:
        frame["nps"] = pd.Series([np.nan if r[6] is None else r[6] for r in rows], dtype="float64")
    return engine.table(frame)


def scipy_stats(scores):
    x = np.asarray(scores, dtype=float)
    if len(x) < 2:
        return x.mean(), math.nan, math.nan, len(x)
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    return x.mean(), lo, hi, len(x)


def check_row(row, scores):
    mean, lo, hi, n = scipy_stats(scores)
    assert row["n"] == n
    assert row["mean"] == pytest.approx(mean)
    if math.isnan(lo):
        assert math.isnan(row["ci_low"]) and math.isnan(row["ci_high"])
    else:
        assert row["ci_low"] == pytest.approx(lo) and row["ci_high"] == pytest.approx(hi)


# Customers c1..c6; scores per stage, with gaps, unknown stages and missing values.
ROWS = [
    ("c1", "Awareness", "ad", 4.0), ("c2", "Awareness", "ad", 2.0), ("c3", "Awareness", "web", 5.0),
    ("c4", "Awareness", "web", 3.5), ("c5", "Awareness", "ad", None),
    ("c1", "Purchase", "shop", 1.0), ("c2", "Purchase", "shop", 2.0), ("c3", "Purchase", "app", 4.0),
    ("c6", "Purchase", "shop", 5.0),
    ("c1", "Onboarding", "app", 3.0),
    ("c2", "Aftercare", "call", 2.0), ("c3", "Aftercare", "call", 4.0),
    ("c6", None, "web", 1.0),
]
BY_STAGE = {
    "Awareness": [4.0, 2.0, 5.0, 3.5],
    "Purchase": [1.0, 2.0, 4.0, 5.0],
    "Onboarding": [3.0],
    "Aftercare": [2.0, 4.0],
}


def test_emotion_curve_overall_matches_scipy(engine):
    out = emotions.emotion_curve(survey(engine, ROWS), STAGES, min_n=3)
    assert list(out.columns) == ["stage", "persona", "mean", "ci_low", "ci_high", "n", "low_n"]
    # Stage order first (Consideration has no answers), then unknown stages by name.
    assert list(out["stage"]) == ["Awareness", "Purchase", "Aftercare", "Onboarding"]
    assert set(out["persona"]) == {"all"}
    for _, row in out.iterrows():
        check_row(row, BY_STAGE[row["stage"]])
    assert dict(zip(out["stage"], out["low_n"])) == {
        "Awareness": False, "Purchase": False, "Aftercare": True, "Onboarding": True,
    }
    assert out["n"].dtype == "int64" and out["low_n"].dtype == bool


def test_stage_order_follows_the_argument(engine):
    out = emotions.emotion_curve(survey(engine, ROWS), ["Purchase", "Onboarding", "Awareness"])
    assert list(out["stage"]) == ["Purchase", "Onboarding", "Awareness", "Aftercare"]
    assert out["low_n"].all()  # default min_n=30: everything marked, nothing hidden


def test_single_answer_has_no_interval_and_equal_scores_a_zero_width_one(engine):
    rows = [("a", "Awareness", "ad", 3.0), ("a", "Purchase", "shop", 4.0), ("b", "Purchase", "shop", 4.0)]
    out = emotions.emotion_curve(survey(engine, rows), STAGES, min_n=1).set_index("stage")
    assert out.loc["Awareness", "n"] == 1 and out.loc["Awareness", "mean"] == 3.0
    assert math.isnan(out.loc["Awareness", "ci_low"]) and math.isnan(out.loc["Awareness", "ci_high"])
    assert out.loc["Purchase", "ci_low"] == pytest.approx(4.0)
    assert out.loc["Purchase", "ci_high"] == pytest.approx(4.0)
    assert not out["low_n"].any()


def test_emotion_curve_per_persona_matches_scipy(engine):
    personas = pd.DataFrame({"customer_id": ["c1", "c2", "c3", "c4", "c9"], "persona": ["B", "A", "A", "B", "A"]})
    out = emotions.emotion_curve(survey(engine, ROWS), STAGES, personas=personas, min_n=2)
    persona_of = {"c1": "B", "c2": "A", "c3": "A", "c4": "B"}
    expected: dict[tuple, list] = {}
    for cid, stage, _, score in ROWS:
        if stage is None or score is None:
            continue
        expected.setdefault((stage, persona_of.get(cid, "(unassigned)")), []).append(score)
    got_keys = list(zip(out["stage"], out["persona"]))
    assert sorted(got_keys) == sorted(expected)
    # Stage order, then persona by name with (unassigned) last.
    assert got_keys == [
        ("Awareness", "A"), ("Awareness", "B"),
        ("Purchase", "A"), ("Purchase", "B"), ("Purchase", "(unassigned)"),
        ("Aftercare", "A"), ("Onboarding", "B"),
    ]
    for _, row in out.iterrows():
        scores = expected[(row["stage"], row["persona"])]
        check_row(row, scores)
        assert row["low_n"] == (len(scores) < 2)


def test_personas_frame_problems_are_clear_errors(engine):
    t = survey(engine, ROWS)
    with pytest.raises(ValueError, match="persona"):
        emotions.emotion_curve(t, STAGES, personas=pd.DataFrame({"customer_id": ["c1"]}))
    clash = pd.DataFrame({"customer_id": ["c1", "c1"], "persona": ["A", "B"]})
    with pytest.raises(ValueError, match="c1"):
        emotions.emotion_curve(t, STAGES, personas=clash)


def test_emotion_curve_by_touchpoint(engine):
    out = emotions.emotion_curve(survey(engine, ROWS), STAGES, level="touchpoint", min_n=3)
    assert list(out.columns)[0] == "touchpoint"
    by_tp: dict[str, list] = {}
    for _, _, tp, score in ROWS:
        if score is not None:
            by_tp.setdefault(tp, []).append(score)
    for _, row in out.iterrows():
        check_row(row, by_tp[row["touchpoint"]])
    # Earliest stage each touchpoint was rated in: ad, web (Awareness); app, shop
    # (Purchase); call (unknown stages only).
    assert list(out["touchpoint"]) == ["ad", "web", "app", "shop", "call"]


def test_bad_level_and_missing_column(engine):
    t = survey(engine, ROWS)
    with pytest.raises(ValueError, match="level"):
        emotions.emotion_curve(t, STAGES, level="channel")
    stage_only = engine.table(pd.DataFrame({"customer_id": ["a"], "stage": ["Awareness"], "score": [3.0]}))
    with pytest.raises(ValueError, match="touchpoint column"):
        emotions.emotion_curve(stage_only, STAGES, level="touchpoint")
    assert emotions.touchpoint_stage_scores(stage_only).empty


def test_empty_curve_keeps_columns(engine):
    t = survey(engine, [("a", None, "ad", 3.0), ("b", "Awareness", "ad", None)])
    out = emotions.emotion_curve(t, STAGES)
    assert out.empty
    assert list(out.columns) == ["stage", "persona", "mean", "ci_low", "ci_high", "n", "low_n"]


# --- NPS ---------------------------------------------------------------------------------


NPS_ROWS = [
    # customer, stage, touchpoint, score, comment, day, nps
    ("p1", "Awareness", "ad", 4.0, None, 1, 10.0),
    ("p2", "Awareness", "ad", 4.0, None, 1, 9.0),
    ("p3", "Awareness", "ad", 4.0, None, 1, 8.0),
    ("p4", "Awareness", "ad", 4.0, None, 1, 7.0),
    ("p5", "Awareness", "ad", 4.0, None, 1, 6.0),
    ("p6", "Awareness", "ad", 4.0, None, 1, 0.0),
    # A wide survey melted: the same NPS on every row counts once.
    ("p7", "Awareness", "ad", 4.0, None, 1, 9.0),
    ("p7", "Purchase", "shop", 4.0, None, 1, 9.0),
    ("p7", "Purchase", "app", 4.0, None, 1, 9.0),
    # Two different answers: the latest (day 5) counts.
    ("p8", "Awareness", "ad", 4.0, None, 5, 3.0),
    ("p8", "Purchase", "shop", 4.0, None, 2, 10.0),
    ("p9", "Awareness", "ad", 4.0, None, 1, None),  # no NPS answer
]


def test_nps_overall(engine):
    out = emotions.nps(survey(engine, NPS_ROWS, with_nps=True))
    assert list(out.columns) == ["persona", "n", "promoters", "passives", "detractors", "nps"]
    # Promoters p1 p2 p7; passives p3 p4; detractors p5 p6 p8.
    assert out.to_dict("records") == [
        {"persona": "all", "n": 8, "promoters": 3, "passives": 2, "detractors": 3, "nps": 0.0}
    ]


def test_nps_per_persona(engine):
    personas = pd.DataFrame({"customer_id": ["p1", "p2", "p5", "p8"], "persona": ["X", "X", "Y", "Y"]})
    out = emotions.nps(survey(engine, NPS_ROWS, with_nps=True), personas=personas)
    rows = {r["persona"]: r for r in out.to_dict("records")}
    assert list(out["persona"]) == ["X", "Y", "(unassigned)"]
    assert (rows["X"]["n"], rows["X"]["promoters"], rows["X"]["nps"]) == (2, 2, 100.0)
    assert (rows["Y"]["n"], rows["Y"]["detractors"], rows["Y"]["nps"]) == (2, 2, -100.0)
    # p3 p4 passive, p6 detractor, p7 promoter: 100 * (1 - 1) / 4.
    assert (rows["(unassigned)"]["n"], rows["(unassigned)"]["passives"], rows["(unassigned)"]["nps"]) == (4, 2, 0.0)


def test_nps_without_column_is_a_clear_error(engine):
    with pytest.raises(ValueError, match="nps column"):
        emotions.nps(survey(engine, ROWS))


# --- heatmap and comments ------------------------------------------------------------------


def test_touchpoint_stage_scores(engine):
    out = emotions.touchpoint_stage_scores(survey(engine, ROWS), stages=STAGES)
    assert list(out.columns) == ["stage", "touchpoint", "mean", "n"]
    got = [(r.stage, r.touchpoint, r.mean, r.n) for r in out.itertuples(index=False)]
    assert got == [
        ("Awareness", "ad", 3.0, 2), ("Awareness", "web", 4.25, 2),
        ("Purchase", "app", 4.0, 1), ("Purchase", "shop", pytest.approx(8 / 3), 3),
        ("(no stage)", "web", 1.0, 1), ("Aftercare", "call", 3.0, 2), ("Onboarding", "app", 3.0, 1),
    ]


COMMENT_ROWS = [
    ("k1", "Awareness", "ad", 2.0, "too many ads", 3),
    ("k2", "Awareness", "ad", 2.0, "confusing", 1),
    ("k3", "Purchase", "shop", 5.0, "smooth", 2),
    ("k4", "Purchase", "shop", 1.0, "payment failed", None),
    ("k5", "Purchase", "shop", 1.0, "   ", 1),
    ("k6", "Purchase", "app", 3.0, None, 1),
    ("k7", "Awareness", "web", 4.0, "fine", 4),
]


def test_comments_order_and_filters(engine):
    t = survey(engine, COMMENT_ROWS)
    out = emotions.comments(t)
    assert list(out.columns) == ["customer_id", "persona", "stage", "touchpoint", "score", "comment", "timestamp"]
    # Blank and missing comments dropped; score ascending, then timestamp.
    assert list(out["customer_id"]) == ["k4", "k2", "k1", "k7", "k3"]
    assert set(out["persona"]) == {"all"}
    assert list(emotions.comments(t, stage="Purchase")["customer_id"]) == ["k4", "k3"]
    assert list(emotions.comments(t, min_score=2, max_score=4)["customer_id"]) == ["k2", "k1", "k7"]
    assert list(emotions.comments(t, limit=2)["customer_id"]) == ["k4", "k2"]


def test_comments_by_persona(engine):
    t = survey(engine, COMMENT_ROWS)
    personas = pd.DataFrame({"customer_id": ["k1", "k3", "k7"], "persona": ["Fan", "Fan", "Critic"]})
    out = emotions.comments(t, personas=personas, persona="Fan")
    assert list(out["customer_id"]) == ["k1", "k3"] and set(out["persona"]) == {"Fan"}
    everyone = emotions.comments(t, personas=personas)
    assert dict(zip(everyone["customer_id"], everyone["persona"]))["k4"] == "(unassigned)"
    with pytest.raises(ValueError, match="limit"):
        emotions.comments(t, limit=0)


def test_comments_without_comment_column(engine):
    t = engine.table(pd.DataFrame({"customer_id": ["a"], "stage": ["Awareness"], "score": [3.0]}))
    out = emotions.comments(t)
    assert out.empty and list(out.columns)[-2:] == ["comment", "timestamp"]


def test_personas_as_an_engine_table_give_the_same_results(engine):
    """The app passes persona labels as a table on the engine (no upload per call): curves,
    NPS and comments equal those from the same labels as a pandas frame."""
    from journeylib.persona_sampling import labels_table

    frame = pd.DataFrame({"customer_id": ["c1", "c2", "c3", "c4", "c9"], "persona": ["B", "A", "A", "B", "A"]})
    table = labels_table(engine, frame)
    t = survey(engine, ROWS)
    pd.testing.assert_frame_equal(emotions.emotion_curve(t, STAGES, personas=table, min_n=2),
                                  emotions.emotion_curve(t, STAGES, personas=frame, min_n=2))
    n = survey(engine, NPS_ROWS, with_nps=True)
    np_frame = pd.DataFrame({"customer_id": ["p1", "p2", "p5", "p8"], "persona": ["X", "X", "Y", "Y"]})
    got = emotions.nps(n, personas=labels_table(engine, np_frame))
    pd.testing.assert_frame_equal(got, emotions.nps(n, personas=np_frame))
    assert list(got["persona"]) == ["X", "Y", "(unassigned)"]
    c = survey(engine, COMMENT_ROWS)
    c_frame = pd.DataFrame({"customer_id": ["k1", "k3", "k7"], "persona": ["Fan", "Fan", "Critic"]})
    fans = emotions.comments(c, personas=labels_table(engine, c_frame), persona="Fan")
    assert list(fans["customer_id"]) == ["k1", "k3"]
    with pytest.raises(ValueError, match="persona"):
        emotions.emotion_curve(t, STAGES, personas=table.select("customer_id"))


def test_curve_level_goes_by_touchpoint_only_when_the_answers_name_one_stage(engine):
    one_stage = survey(engine, [("a", "Flight", "Wifi", 2), ("a", "Flight", "Seat", 4), ("b", "Flight", "Seat", 5)])
    assert emotions.curve_level(one_stage, ["Flight"]) == "touchpoint"
    two = survey(engine, [("a", "Awareness", "Ad", 2), ("b", "Purchase", "Checkout", 4)])
    assert emotions.curve_level(two, STAGES) == "stage"
    # One stage and one touchpoint: by touchpoint would be no better than by stage.
    single = survey(engine, [("a", "Awareness", "Ad", 2), ("b", "Awareness", "Ad", 4)])
    assert emotions.curve_level(single, STAGES) == "stage"
    # Answers at two stages, one of them outside the order: only one stage of the order is named.
    outside = survey(engine, [("a", "Awareness", "Ad", 2), ("b", "Elsewhere", "Blog", 4)])
    assert emotions.curve_level(outside, STAGES) == "touchpoint"
    # A score without a value does not name its stage.
    unscored = survey(engine, [("a", "Awareness", "Ad", 2), ("a", "Purchase", "Checkout", None),
                               ("b", "Awareness", "Search", 3)])
    assert emotions.curve_level(unscored, STAGES) == "touchpoint"
    assert emotions.curve_level(None, STAGES) == "stage"


def test_shared_comments_are_one_comment_per_customer_repeated_on_every_rating(engine):
    from journeylib.ingest import load_journey
    from tests.journeylib.test_survey_stages import wide_survey

    wide = load_journey(survey=("cabin_survey.csv", wide_survey(n=40).to_csv(index=False).encode()))
    assert emotions.shared_comments(wide.survey)
    # A long survey: each comment is about the touchpoint it was left at.
    long = pd.DataFrame({"customer_id": ["a", "a", "b", "b", "c"], "touchpoint": ["Wifi", "Seat", "Wifi", "Seat", "Seat"],
                         "score": [1.0, 4.0, 2.0, 5.0, 3.0],
                         "comment": ["No signal", "Roomy", "Slow", "Comfy", "Fine"]})
    assert not emotions.shared_comments(engine.table(long))
    # Two of three customers' comments on two touchpoints: shared.
    long.loc[1, "comment"] = "No signal"
    long.loc[3, "comment"] = "Slow"
    assert emotions.shared_comments(engine.table(long))


def test_a_shared_comment_is_listed_once_per_stage_with_the_mean_of_its_ratings(engine):
    rows = [("a", "Flight", "Wifi", 1, "Lovely crew"), ("a", "Flight", "Seat", 5, "Lovely crew"),
            ("a", "Flight", "Crew", 5, "Lovely crew"), ("b", "Flight", "Wifi", 2, "Late"),
            ("b", "Flight", "Seat", 4, "Late"), ("c", "Flight", "Seat", 3, None)]
    got = emotions.comments(survey(engine, rows))
    assert list(got["comment"]) == ["Late", "Lovely crew"]
    assert list(got["score"]) == [pytest.approx(3.0), pytest.approx(11 / 3)]
    assert got["touchpoint"].isna().all()
    # The score bounds apply to that mean: 3.0 is in 2.5-3.5, 11/3 is not.
    assert list(emotions.comments(survey(engine, rows), min_score=2.5, max_score=3.5)["comment"]) == ["Late"]
    # Comments left at each touchpoint stay one row per answer.
    own = [("a", "Flight", "Wifi", 1, "No signal"), ("a", "Flight", "Seat", 5, "Roomy"), ("b", "Flight", "Seat", 4, "Fine")]
    assert list(emotions.comments(survey(engine, own))["touchpoint"]) == ["Wifi", "Seat", "Seat"]
