"""Pain points, opportunities and key drivers against values computed here independently:
by hand on small frames, with scipy's t-distribution and relative risk, and with
scikit-learn fits of every sub-model."""

from __future__ import annotations

import dataclasses
import math
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.linear_model import LinearRegression

from journeylib.emotions import emotion_curve
from journeylib.engine import default_engine
from journeylib.insights import (
    QUADRANTS,
    InsightError,
    driver_outcomes,
    format_shares,
    key_drivers,
    opportunities,
    opportunity_sentence,
    pain_point_notes,
    pain_point_summary,
    pain_points,
    shapley_r2,
    survey_scores,
)
from journeylib.journey import Goal, JourneyModel
from journeylib.reach import customer_reach
from journeylib.schema import JourneyData, ScoreScale

STAGES = ("Awareness", "Consideration", "Intent", "Purchase", "Retention", "Advocacy")
REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"
JARGON = ("log-odds", "pseudo", "R2", "R-squared", "coefficient", "furthest stage")


def events_frame(journeys) -> pd.DataFrame:
    """journeys: {customer: [(stage, touchpoint), ...]} in time order."""
    rows = []
    for cid, steps in journeys.items():
        for k, (stage, tp) in enumerate(steps):
            rows.append({"customer_id": cid, "timestamp": pd.Timestamp("2024-01-01") + pd.Timedelta(hours=k),
                         "seq": len(rows), "touchpoint": tp, "stage": stage, "channel": "web"})
    frame = pd.DataFrame(rows, columns=["customer_id", "timestamp", "seq", "touchpoint", "stage", "channel"])
    return frame.astype({"customer_id": "string", "touchpoint": "string", "stage": "string", "channel": "string",
                         "seq": "int64", "timestamp": "datetime64[us]"})


def survey_frame(rows) -> pd.DataFrame:
    sv = pd.DataFrame(rows, columns=["customer_id", "stage", "touchpoint", "score", "nps"])
    sv["comment"] = pd.Series([None] * len(sv), dtype="string")
    sv["timestamp"] = pd.Series([pd.NaT] * len(sv), dtype="datetime64[us]")
    return sv.astype({"customer_id": "string", "stage": "string", "touchpoint": "string", "score": "float64",
                      "nps": "float64"})


def make_data(journeys=None, survey_rows=None, customers=None, goal="default", scale=ScoreScale(1, 5)):
    eng = default_engine()
    model = JourneyModel.default(STAGES) if goal == "default" else JourneyModel(stages=STAGES, goal=goal)
    return JourneyData(
        events=eng.table(events_frame(journeys or {})),
        survey=eng.table(survey_frame(survey_rows)) if survey_rows is not None else None,
        customers=eng.table(customers) if customers is not None else None,
        journey=model, score_scale=scale,
    )


# --------------------------------------------------------------------------------------
# Pain points from ratings alone (a survey-only dataset)

# Overall mean 3.0 exactly: Wifi 2.0 (30 answers), Booking 3.0 (30), Seats 4.1 (30), Lounge 2.0 (3).
RATINGS = {"Wifi": [1, 2, 3] * 10, "Booking": [2, 3, 4] * 10, "Seats": [4] * 27 + [5] * 3, "Lounge": [1, 2, 3]}


def ratings_survey():
    rows, i = [], 0
    for tp, scores in RATINGS.items():
        for s in scores:
            rows.append((f"r{i % 40}", None, tp, s, None))
            i += 1
    return rows


@pytest.fixture(scope="module")
def survey_only():
    return make_data(survey_rows=ratings_survey())


def test_a_touchpoint_rated_significantly_below_the_mean_is_a_pain_point(survey_only):
    assert not survey_only.has_events
    pains = pain_points(survey_only)
    assert list(pains["touchpoint"]) == ["Wifi"]  # Booking sits at the mean; Lounge has 3 answers
    wifi = pains.iloc[0]
    scores = np.array(RATINGS["Wifi"], dtype=float)
    lo, hi = stats.t.interval(0.95, len(scores) - 1, loc=scores.mean(), scale=stats.sem(scores))
    assert wifi["mean_score"] == pytest.approx(2.0)
    assert wifi["score_n"] == 30
    assert (wifi["ci_low"], wifi["ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    assert wifi["overall_mean"] == pytest.approx(3.0)
    assert bool(wifi["below_average"])
    assert wifi["score_gap"] == pytest.approx((3.0 - 2.0) / 4)  # a share of the 1-5 scale
    assert wifi["impact"] == pytest.approx(30 * 0.25)  # answers x how far below
    assert wifi["customers"] == 0 and wifi["left"] == 0 and math.isnan(wifi["drop_off_rate"])


def test_a_touchpoint_at_the_mean_or_with_a_wide_interval_is_not_flagged(survey_only):
    # Lounge is rated 2.0 (below 3.0) but its interval with 3 answers is 2 +/- 4.30/sqrt(3): it holds 3.0.
    pains = pain_points(survey_only, min_answers=2)
    assert list(pains["touchpoint"]) == ["Wifi"]
    scores = survey_scores(survey_only.survey).touchpoints.set_index("touchpoint")
    lounge = np.array(RATINGS["Lounge"], dtype=float)
    lo, hi = stats.t.interval(0.95, 2, loc=lounge.mean(), scale=stats.sem(lounge))
    assert (scores.loc["Lounge", "ci_low"], scores.loc["Lounge", "ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    assert lo < 3.0 < hi
    assert scores.loc["Booking", "mean_score"] == pytest.approx(3.0)


def test_survey_scores_intervals_are_the_emotion_curves(survey_only):
    """One interval for a touchpoint's mean, whichever page shows it."""
    mine = survey_scores(survey_only.survey).touchpoints.set_index("touchpoint")
    curve = emotion_curve(survey_only.survey, STAGES, level="touchpoint").set_index("touchpoint")
    for tp in RATINGS:
        assert mine.loc[tp, "mean_score"] == pytest.approx(curve.loc[tp, "mean"])
        assert mine.loc[tp, "ci_low"] == pytest.approx(curve.loc[tp, "ci_low"])
        assert mine.loc[tp, "ci_high"] == pytest.approx(curve.loc[tp, "ci_high"])
        assert mine.loc[tp, "score_n"] == curve.loc[tp, "n"]


def test_survey_only_sentences_say_what_is_missing(survey_only):
    pains = pain_points(survey_only)
    summary = pain_point_summary(pains, survey_only)
    assert summary.startswith("Biggest pain point: 'Wifi': rated 2.00 (95% CI")
    assert "n=30" in summary and "3.00 overall" in summary and "leave" not in summary
    notes = pain_point_notes(survey_only)
    assert notes == ["Drop-off needs touchpoint events; this dataset has survey answers only."]
    # Without the below-average touchpoint nothing stands out, and the text says what was checked.
    rows = [(f"r{i}", None, tp, s, None) for tp in ("Booking", "Desk") for i, s in enumerate(RATINGS["Booking"])]
    calm = make_data(survey_rows=rows)
    empty = pain_points(calm)
    assert empty.empty
    text = pain_point_summary(empty, calm)
    assert text.startswith("No pain point stands out: no stage or touchpoint is rated significantly below the average.")
    assert "nobody leaves" not in text and "Drop-off needs touchpoint events" in text


def test_survey_scores_by_hand():
    """One query gives the overall mean and the per-stage and per-touchpoint means and counts;
    answers without a score count nowhere, answers without a stage only overall and per
    touchpoint."""
    rows = SURVEY + [("c3", None, "Compare", 5, None), ("c4", "Awareness", "Search", None, None)]
    scores = survey_scores(make_data(JOURNEYS, rows).survey)
    assert scores.overall == pytest.approx(37 / 10) and scores.overall_n == 10
    by_stage = scores.stages.set_index("stage")
    assert by_stage["score_n"].to_dict() == {"Awareness": 4, "Consideration": 3, "Intent": 1, "Purchase": 1}
    assert by_stage["mean_score"].to_dict() == pytest.approx({"Awareness": 17 / 4, "Consideration": 3.0,
                                                              "Intent": 1.0, "Purchase": 5.0})
    assert by_stage.loc["Consideration", "score_sd"] == pytest.approx(np.std([4, 3, 2], ddof=1))
    assert math.isnan(by_stage.loc["Intent", "ci_low"])  # one answer: no interval
    by_tp = scores.touchpoints.set_index("touchpoint")
    assert by_tp["score_n"].to_dict() == {"Ad": 2, "Compare": 4, "Checkout": 1, "Cart error": 1, "Search": 2}
    assert by_tp["mean_score"].to_dict() == pytest.approx({"Ad": 4.0, "Compare": 3.5, "Checkout": 5.0,
                                                           "Cart error": 1.0, "Search": 4.5})
    assert by_tp.loc["Compare", "survey_stage"] == "Consideration"  # 3 of its 4 answers name it


# --------------------------------------------------------------------------------------
# Pain points from drop-off, with the goal

JOURNEYS = {
    "c1": [("Awareness", "Ad"), ("Consideration", "Compare"), ("Purchase", "Checkout"), ("Retention", "Support")],
    "c2": [("Awareness", "Ad"), ("Consideration", "Compare"), ("Intent", "Cart error")],
    "c3": [("Awareness", "Ad"), ("Consideration", "Compare")],
    "c4": [("Awareness", "Search")],
    "c5": [("Awareness", "Search"), ("Consideration", "Compare"), ("Awareness", "Ad")],
}
SURVEY = [
    ("c1", "Awareness", "Ad", 4, None),
    ("c1", "Consideration", "Compare", 4, None),
    ("c1", "Purchase", "Checkout", 5, None),
    ("c2", "Awareness", "Ad", 4, None),
    ("c2", "Consideration", "Compare", 3, None),
    ("c2", "Intent", "Cart error", 1, None),
    ("c3", "Consideration", "Compare", 2, None),
    ("c4", "Awareness", "Search", 5, None),
    ("c5", "Awareness", "Search", 4, None),
]


@pytest.fixture(scope="module")
def small():
    return make_data(JOURNEYS, SURVEY)


def key(pains):
    return [(r.level, r.touchpoint if r.level == "touchpoint" else r.stage) for r in pains.itertuples()]


def test_drop_off_without_a_stage_goal_by_hand(small):
    pains = pain_points(small, min_answers=2)
    # Only c1 reaches Purchase. Stage: c4 stops at Awareness, c3 and c5 at Consideration, c2 at
    # Intent. Touchpoint: c5 ends on Ad, c3 on Compare, c4 on Search, c2 on Cart error. Nothing
    # is rated significantly below the 3.56 mean with so few answers: impact = customers who left.
    assert key(pains) == [
        ("stage", "Consideration"), ("stage", "Awareness"), ("touchpoint", "Ad"), ("touchpoint", "Compare"),
        ("touchpoint", "Search"), ("stage", "Intent"), ("touchpoint", "Cart error"),
    ]
    got = pains.set_index(["level", pains["touchpoint"].fillna(pains["stage"])])
    cons = got.loc[("stage", "Consideration")]
    assert (cons["customers"], cons["left"]) == (4, 2)
    assert cons["drop_off_rate"] == pytest.approx(0.5)
    assert cons["average_drop_off_rate"] == pytest.approx((1 + 2 + 1) / (5 + 4 + 1))  # stages before Purchase
    assert cons["impact"] == pytest.approx(2.0) and cons["share"] == pytest.approx(4 / 5)
    assert not pains["below_average"].any() and (pains["score_gap"] == 0).all()
    search = got.loc[("touchpoint", "Search")]
    assert (search["customers"], search["left"], search["stage"]) == (2, 1, "Awareness")
    assert search["average_drop_off_rate"] == pytest.approx(4 / 11)  # Ad, Compare, Search, Cart error
    assert got.loc[("touchpoint", "Cart error"), "stage"] == "Intent"


def test_events_without_a_survey_give_drop_off_only_and_say_ratings_are_missing():
    data = make_data(JOURNEYS)
    pains = pain_points(data, level="stage")
    assert list(pains["stage"]) == ["Consideration", "Awareness", "Intent"]
    assert list(pains["impact"]) == pytest.approx([2.0, 1.0, 1.0])
    assert pains["mean_score"].isna().all() and (pains["score_n"] == 0).all() and not pains["below_average"].any()
    assert pain_point_notes(data) == ["No survey ratings: add a survey file to see which stages and touchpoints "
                                      "customers rate below average."]


def test_drop_off_with_a_touchpoint_goal(small):
    data = dataclasses.replace(small, journey=JourneyModel(stages=STAGES, goal=Goal("touchpoint", "Compare",
                                                                                     name="Compared")))
    pains = pain_points(data, min_answers=2)
    # Everyone but c4 had Compare: c4 leaves at Awareness, after Search.
    assert key(pains) == [("stage", "Awareness"), ("touchpoint", "Search")]
    assert list(pains["left"]) == [1, 1]
    assert pains.iloc[1]["average_drop_off_rate"] == pytest.approx(1 / (4 + 2 + 1 + 1 + 1))  # all but Compare
    assert pain_point_summary(pains, data).startswith(
        "Biggest pain point: the Awareness stage: 1 customer leaves there without Compared (20% of 5)")


def test_no_goal_or_a_column_goal_gives_no_drop_off_and_says_what_to_set(small):
    none = dataclasses.replace(small, journey=JourneyModel(stages=STAGES, goal=None))
    assert pain_points(none, min_answers=2).empty
    assert pain_point_notes(none) == ["Drop-off needs a goal: set a goal on the Data page or with --goal to see where "
                                      "customers leave without reaching it."]
    text = pain_point_summary(pain_points(none), none)
    assert "nobody leaves" not in text and "set a goal on the Data page or with --goal" in text
    elsewhere = dataclasses.replace(small, journey=JourneyModel(stages=STAGES, goal=Goal("stage", "Approval")))
    assert (pain_points(elsewhere, min_answers=2)["left"] == 0).all()
    assert "the goal stage 'Approval' in the stage order" in pain_point_notes(elsewhere)[0]
    column = dataclasses.replace(small, journey=JourneyModel(stages=STAGES, goal=Goal("column", "nps", "10")))
    assert "an outcome column, so pain points come from ratings" in pain_point_notes(column)[0]


def test_ratings_and_drop_off_combine():
    # 40 customers reach Consideration through 'Compare' and rate it 1-2; 40 reach it through
    # 'Browse' and rate it 4-5; half of each buy. Compare is below the 3.0 mean; both lose 20.
    journeys, rows = {}, []
    for i in range(80):
        tp = "Compare" if i < 40 else "Browse"
        steps = [("Awareness", "Ad"), ("Consideration", tp)] + ([("Purchase", "Order")] if i % 2 else [])
        journeys[f"c{i}"] = steps
        rows.append((f"c{i}", "Consideration", tp, (1 + i % 2) if i < 40 else (4 + i % 2), None))
    data = make_data(journeys, rows)
    pains = pain_points(data, level="touchpoint").set_index("touchpoint")
    compare, browse = pains.loc["Compare"], pains.loc["Browse"]
    assert (compare["left"], browse["left"]) == (20, 20)
    assert bool(compare["below_average"]) and not bool(browse["below_average"])
    assert compare["score_gap"] == pytest.approx((3.0 - 1.5) / 4)
    assert compare["impact"] == pytest.approx(20 + 40 * (1.5 / 4))
    assert browse["impact"] == pytest.approx(20)
    assert list(pains.index[:2]) == ["Compare", "Browse"]


def test_bad_level_is_a_clear_error(small):
    with pytest.raises(InsightError, match="level must be"):
        pain_points(small, level="page")


def test_pain_points_take_the_reach_counted_by_the_caller(small):
    """The journey map passes the reach it already counted: same rows as counting it again,
    and the given counts are the ones used."""
    plain = pain_points(small, min_answers=2)
    reach = customer_reach(small.events, small.stages)
    pd.testing.assert_frame_equal(plain, pain_points(small, min_answers=2, reach=reach))
    doubled = dataclasses.replace(reach, stages=reach.stages.assign(customers=2 * reach.stages["customers"]))
    stage_rows = pain_points(small, min_answers=2, reach=doubled).query("level == 'stage'").set_index("stage")
    full = reach.stages.set_index("stage")["customers"]
    assert stage_rows["customers"].to_dict() == {s: 2 * int(n) for s, n in full.items() if s in stage_rows.index}


# --------------------------------------------------------------------------------------
# Opportunities


def test_opportunity_gives_the_size_of_the_prize():
    row = pd.Series({"level": "touchpoint", "stage": "Intent", "touchpoint": "Cart error", "customers": 412,
                     "left": 128, "drop_off_rate": 128 / 412, "average_drop_off_rate": 0.12, "mean_score": np.nan,
                     "score_n": 0, "below_average": False})
    # At the average rate 412 x 0.12 = 49.4 would leave instead of 128: about 79 more stay.
    assert opportunity_sentence(row, "Bargain hunters", ScoreScale(1, 5), "Loan approved") == (
        "Intent: 31% of Bargain hunters leave after 'Cart error' without Loan approved (128 of 412); at the "
        f"average drop-off (12%), about {412 * (128 / 412 - 0.12):,.0f} more would stay on the way to Loan approved."
    )


def test_a_rating_opportunity_counts_the_low_ratings_at_stake(survey_only):
    pains = pain_points(survey_only)
    wifi = pains.iloc[0]
    # Scores of 2 or lower (the bottom quarter of 1-5): Wifi 20 of 30; every other answer 12 of 63.
    assert wifi["low_share"] == pytest.approx(20 / 30) and wifi["other_low_share"] == pytest.approx(12 / 63)
    text = opportunities(pains, scale=ScoreScale(1, 5))["sentence"].iloc[0]
    assert text == ("Customers rate 'Wifi' 2.0/5 against 3.0 overall (95% CI "
                    f"{wifi['ci_low']:.2f}-{wifi['ci_high']:.2f}, n=30 answers); 67% give it 2 or lower (19% "
                    f"elsewhere): about {30 * (20 / 30 - 12 / 63):,.0f} fewer low ratings if it matched the rest.")


def test_a_rating_opportunity_never_reads_the_same_number_twice():
    row = pd.Series({"level": "touchpoint", "stage": None, "touchpoint": "Product page", "customers": 0, "left": 0,
                     "drop_off_rate": np.nan, "mean_score": 3.667, "score_n": 1051, "ci_low": 3.61, "ci_high": 3.72,
                     "overall_mean": 3.7245, "below_average": True})
    text = opportunity_sentence(row, "customers", ScoreScale(1, 5))
    assert text == ("Customers rate 'Product page' 3.67/5 against 3.72 overall (95% CI 3.61-3.72, "
                    "n=1,051 answers).")


def test_opportunities_with_drivers_say_what_lifting_the_rating_is_worth():
    data, _ = simulated_survey(binary=True)
    pains = pain_points(data)
    drivers = key_drivers(data, bootstrap=30)
    opp = opportunities(pains, scale=ScoreScale(1, 5), drivers=drivers)
    row = pains.iloc[0]
    d = drivers.table.set_index("feature").loc[f"rating: {row['touchpoint']}"]
    lift = (row["overall_mean"] - row["mean_score"]) * d["effect"]
    assert (f"rated at the average, about {100 * lift:.1f} percentage points more customers would have "
            f"satisfaction 'satisfied' (about {lift * drivers.n:,.0f} of {drivers.n:,})") in opp["sentence"].iloc[0]


# --------------------------------------------------------------------------------------
# Key drivers: the Shapley decomposition


def brute_force_shapley(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    p = x.shape[1]

    def r2(cols):
        if not cols:
            return 0.0
        return LinearRegression().fit(x[:, cols], y).score(x[:, cols], y)

    out = np.zeros(p)
    for j in range(p):
        others = [k for k in range(p) if k != j]
        for s in range(p):
            for subset in combinations(others, s):
                w = math.factorial(s) * math.factorial(p - s - 1) / math.factorial(p)
                out[j] += w * (r2(list(subset) + [j]) - r2(list(subset)))
    return out


def test_shapley_parts_match_every_sub_model_fitted_with_scikit_learn():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(400, 5))
    x[:, 1] += 0.8 * x[:, 0]  # correlated inputs share what they explain
    y = x @ np.array([1.0, 0.5, 0.0, 2.0, -0.7]) + rng.normal(size=400)
    parts, r2 = shapley_r2(np.corrcoef(np.column_stack([x, y]), rowvar=False))
    assert parts == pytest.approx(brute_force_shapley(x, y), abs=1e-10)
    assert r2 == pytest.approx(LinearRegression().fit(x, y).score(x, y), abs=1e-12)
    assert parts.sum() == pytest.approx(r2, abs=1e-12)


TRUE_WEIGHTS = {"Boarding": 0.9, "Wifi": 0.55, "Seats": 0.3, "Food": 0.12, "Gate": 0.0}


def simulated_survey(binary: bool, n: int = 1500, seed: int = 0, shuffle: int | None = None):
    """Ratings 1-5 sharing a common factor (so they are correlated) and an outcome made from
    them with TRUE_WEIGHTS: overall (a number) or satisfaction (satisfied or not)."""
    rng = np.random.default_rng(seed)
    common = rng.normal(size=n)
    ratings = {}
    for tp in TRUE_WEIGHTS:
        offset = -0.6 if tp == "Wifi" else 0.0  # Wifi is rated worst
        ratings[tp] = np.clip(np.round(3 + offset + 0.7 * common + rng.normal(size=n)), 1, 5)
    score = sum(w * ratings[tp] for tp, w in TRUE_WEIGHTS.items()) + rng.normal(scale=1.0, size=n)
    ids = [f"p{i}" for i in range(n)]
    rows = [(ids[i], None, tp, ratings[tp][i], None) for tp in TRUE_WEIGHTS for i in range(n)]
    customers = pd.DataFrame({"customer_id": pd.Series(ids, dtype="string")})
    if binary:
        customers["satisfaction"] = np.where(score > np.median(score), "satisfied", "neutral or dissatisfied")
    else:
        customers["overall"] = score
    if shuffle is not None:  # the same answers in another row order
        rows = [rows[i] for i in np.random.default_rng(shuffle).permutation(len(rows))]
        customers = customers.sample(frac=1.0, random_state=shuffle).reset_index(drop=True)
    return make_data(survey_rows=rows, customers=customers), pd.DataFrame(ratings, index=ids)


@pytest.mark.parametrize("binary", [False, True])
def test_importances_recover_the_order_of_the_true_weights(binary):
    data, wide = simulated_survey(binary)
    outcome = "satisfaction" if binary else "overall"
    assert driver_outcomes(data) == [outcome]
    kd = key_drivers(data, bootstrap=60)
    assert kd.outcome == outcome and kd.binary is binary
    assert [f.removeprefix("rating: ") for f in kd.table["feature"]] == list(TRUE_WEIGHTS)
    assert kd.table["importance"].sum() == pytest.approx(1.0)
    assert kd.details["r2_share"].sum() == pytest.approx(kd.fit)
    # The fit and the slopes are scikit-learn's on the same wide table.
    y = (data.customers.execute().set_index("customer_id")[outcome])
    y = (y == "satisfied").astype(float) if binary else y
    x = wide.loc[y.index, list(TRUE_WEIGHTS)]
    model = LinearRegression().fit(x, y)
    assert kd.fit == pytest.approx(model.score(x, y))
    slopes = kd.details.set_index("feature")["coef"]
    assert [slopes[f"rating: {tp}"] for tp in TRUE_WEIGHTS] == pytest.approx(list(model.coef_))
    t = kd.table
    assert ((t["importance_low"] <= t["importance"]) & (t["importance"] <= t["importance_high"])).all()
    assert t.set_index("feature").loc["rating: Wifi", "performance"] == pytest.approx(x["Wifi"].mean())


def test_bootstrap_intervals_are_seeded():
    data, _ = simulated_survey(binary=False, n=400)
    a = key_drivers(data, bootstrap=40)
    # Same seed, same answers in another row order (as another engine may return them): same result.
    b = key_drivers(simulated_survey(binary=False, n=400, shuffle=5)[0], bootstrap=40)
    pd.testing.assert_frame_equal(a.table, b.table)
    c = key_drivers(data, bootstrap=40, random_state=1)
    assert not np.allclose(a.table["importance_low"], c.table["importance_low"])
    assert np.allclose(a.table["importance"], c.table["importance"])  # the estimate itself is not resampled


def test_quadrants_and_plain_words():
    data, _ = simulated_survey(binary=True)
    kd = key_drivers(data, bootstrap=30)
    q = kd.table.set_index("feature")["quadrant"]
    # Wifi: the second most important and rated lowest -> fix first.
    assert q["rating: Wifi"] == QUADRANTS[0]
    assert q["rating: Boarding"] == QUADRANTS[1]
    assert "Fix first: 'Wifi'" in kd.summary
    wifi = kd.table.set_index("feature").loc["rating: Wifi"]
    assert wifi["reading"].startswith(
        f"A one-point better rating of 'Wifi' goes with customers {100 * wifi['effect']:.1f} percentage points more "
        "likely to have satisfaction 'satisfied'")
    texts = [kd.summary, *kd.table["reading"], *kd.notes]
    assert not [t for t in texts for word in JARGON if word in t]
    assert any("R-squared" in t for t in kd.details_text)  # the model details live apart


# --------------------------------------------------------------------------------------
# Key drivers and the goal


def coupon_journeys():
    """100 customers. Coupon x Purchase: 30/10 with a coupon, 20/40 without. Every buyer has
    'Checkout' (labelled Intent in the data, Purchase by the stage rules) and 'Order' (Purchase)."""
    journeys, i = {}, 0
    for coupon, buys, count in [(True, True, 30), (True, False, 10), (False, True, 20), (False, False, 40)]:
        for k in range(count):
            steps = [("Awareness", "Ad")]
            if coupon:
                steps.append(("Consideration", "Coupon"))
            if buys or k < 5:
                steps.append(("Intent", "Checkout"))
            if buys:
                steps += [("Purchase", "Order"), ("Retention", "Delivery")]
            journeys[f"c{i}"] = steps
            i += 1
    return journeys


def test_drivers_of_a_stage_goal_leave_out_the_goal_and_what_comes_after():
    data = make_data(coupon_journeys())
    assert driver_outcomes(data) == ["goal"]
    kd = key_drivers(data, bootstrap=30)
    assert kd.label == "Purchase" and kd.n == 100 and kd.baseline == pytest.approx(0.5)
    # Ad is universal; Checkout (Purchase by the rules), Order and Delivery are the goal or after it.
    assert list(kd.table["feature"]) == ["touchpoint used: Coupon"]
    row = kd.table.iloc[0]
    rr = (30 / 40) / (20 / 60)
    se = math.sqrt(1 / 30 - 1 / 40 + 1 / 20 - 1 / 60)
    z = stats.norm.ppf(0.975)
    assert row["effect"] == pytest.approx(rr)
    assert row["effect_low"] == pytest.approx(math.exp(math.log(rr) - z * se))
    assert row["effect_high"] == pytest.approx(math.exp(math.log(rr) + z * se))
    assert row["reading"].startswith("Customers who used 'Coupon' were 2.25 times as likely to reach Purchase "
                                     "(75% against 33%;")
    assert any("from the Purchase stage on" in n for n in kd.notes)
    assert key_drivers(data, outcome="goal", bootstrap=30).table.equals(kd.table)


def test_drivers_of_a_touchpoint_goal_never_include_the_goal_touchpoint():
    data = make_data(coupon_journeys(), goal=Goal("touchpoint", "Order", name="Ordered"))
    kd = key_drivers(data, bootstrap=30)
    names = [f.split(": ", 1)[1] for f in kd.table["feature"]]
    assert "Order" not in names and "Delivery" not in names  # the goal, and what comes after it
    assert kd.label == "Ordered"
    # Checkout is taken by every buyer: it all but decides the goal and is named as a step of it.
    assert "Checkout" not in names and any("'Checkout' is left out as a step of Ordered" in n for n in kd.notes)
    assert "'Order' is left out: it is the goal itself." in kd.notes


def test_when_nearly_everyone_reaches_the_goal_a_touchpoint_is_a_driver_not_a_step():
    """1,000 tickets, 988 closed. 'Upgrade' on 100: 90 closed (90%); without it 898 of 900 (99.8%).
    Near-pure on one side alone does not make a step: the gap of 10 points is far from deciding."""
    journeys = {}
    for i in range(1000):
        upgrade = i < 100
        closes = i < 90 or i >= 102
        steps = [("Awareness", "Open")] + ([("Consideration", "Upgrade")] if upgrade else [])
        journeys[f"t{i}"] = steps + ([("Purchase", "Closed")] if closes else [])
    kd = key_drivers(make_data(journeys, goal=Goal("touchpoint", "Closed", name="Ticket closed")), bootstrap=20)
    row = kd.table.set_index("feature").loc["touchpoint used: Upgrade"]
    assert (row["used_rate"], row["other_rate"]) == (pytest.approx(0.9), pytest.approx(898 / 900))
    assert row["effect"] == pytest.approx(0.9 / (898 / 900))
    assert not any("step of" in n for n in kd.notes)
    # 99.8% is not rounded up to 100%, which would say every customer without it closed.
    assert "(90.0% against 99.8%;" in row["reading"] and "against 100%" not in row["reading"]
    assert kd.summary.startswith("Among 1,000 customers (99% reach Ticket closed)")


def test_two_touchpoints_always_used_together_keep_one_and_say_why():
    """'Chat' and 'Call' go with exactly the same 60 of 200 customers: no fit can split them."""
    journeys = {}
    for i in range(200):
        both = i < 60
        buys = (i % 3 == 0) if both else (i % 2 == 0)
        steps = [("Awareness", "Ad")] + ([("Consideration", "Chat"), ("Consideration", "Call")] if both else [])
        steps += [("Consideration", "Email")] if i % 4 == 0 else []
        journeys[f"c{i}"] = steps + ([("Purchase", "Order")] if buys else [])
    kd = key_drivers(make_data(journeys), bootstrap=20)
    names = [f.split(": ", 1)[1] for f in kd.table["feature"]]
    assert ("Chat" in names) != ("Call" in names) and "Email" in names
    gone = "Call" if "Chat" in names else "Chat"
    assert any(n.startswith(f"'{gone}' is left out: it moves almost exactly with the other inputs") for n in kd.notes)


def test_shares_keep_the_decimals_that_tell_them_apart():
    assert format_shares(0.75, 1 / 3) == ["75%", "33%"]
    # One share needs a decimal not to read 100%: both get it, so they read alike.
    assert format_shares(0.9975, 0.902) == ["99.8%", "90.2%"]
    assert format_shares(0.25, 0.254) == ["25.0%", "25.4%"]
    assert format_shares(1.0, 0.0) == ["100%", "0%"]
    assert format_shares(0.003, 0.5) == ["0.3%", "50.0%"]
    assert format_shares(0.99954) == ["99.95%"]
    assert format_shares(0.99999, 0.5) == ["over 99.99%", "50.00%"]


def test_only_what_customers_did_before_reaching_the_goal_counts():
    # 50 buyers and 50 not. 'Chat' before ordering: 10 buyers and 10 others; after ordering: 20 more buyers.
    journeys = {}
    for i in range(100):
        buys = i < 50
        steps = [("Awareness", "Ad")]
        if (buys and i < 10) or (not buys and i < 60):
            steps.append(("Consideration", "Chat"))
        if buys:
            steps.append(("Purchase", "Order"))
            if 10 <= i < 30:
                steps.append(("Consideration", "Chat"))
        journeys[f"c{i}"] = steps
    for goal in (Goal("touchpoint", "Order", name="Ordered"), Goal("stage", "Purchase")):
        kd = key_drivers(make_data(journeys, goal=goal), bootstrap=20)
        chat = kd.table.set_index("feature").loc["touchpoint used: Chat"]
        assert (chat["used_rate"], chat["other_rate"]) == (pytest.approx(10 / 20), pytest.approx(40 / 80))
        assert chat["effect"] == pytest.approx(1.0)
        assert "not clearly different from no effect" in chat["reading"]


def test_a_column_goal_is_the_outcome_and_never_an_input():
    data, _ = simulated_survey(binary=True, n=300)
    data = dataclasses.replace(data, journey=JourneyModel(stages=STAGES, goal=Goal("column", "satisfaction",
                                                                                   "satisfied", "Satisfied")))
    assert driver_outcomes(data) == ["goal"]  # satisfaction is the goal, not a second outcome
    kd = key_drivers(data, bootstrap=20)
    assert kd.label == "Satisfied" and kd.phrase == "reach Satisfied"
    assert all(f.startswith("rating: ") and "satisfaction" not in f for f in kd.table["feature"])


def test_survey_only_drivers_fall_back_from_a_goal_that_needs_events():
    data, _ = simulated_survey(binary=True, n=300)
    assert data.goal.kind == "stage"  # the default Purchase goal cannot be judged without events
    kd = key_drivers(data, bootstrap=20)
    assert kd.outcome == "satisfaction"
    assert kd.notes[0].startswith("The goal 'Purchase' is a stage reached, which needs touchpoint events")
    assert kd.notes[0].endswith("these are the key drivers of satisfaction instead.")


def test_key_drivers_say_what_is_missing():
    journeys = {f"c{i}": [("Awareness", "Ad")] + ([("Purchase", "Buy")] if i % 2 else []) for i in range(10)}
    with pytest.raises(InsightError, match="nothing to explain Purchase with"):
        key_drivers(make_data(journeys))
    with pytest.raises(InsightError, match="unknown outcome 'revenue'"):
        key_drivers(make_data(journeys), outcome="revenue")
    nobody = {f"c{i}": [("Awareness", "Ad")] for i in range(10)}
    with pytest.raises(InsightError, match="no customer reached Purchase"):
        key_drivers(make_data(nobody))


# --------------------------------------------------------------------------------------
# The airline passenger survey (skipped without ../shared)

AIRLINE = REALDATA / "airline_passenger_satisfaction_survey.csv.gz"
AIRLINE_RATINGS = [
    "Inflight wifi service", "Departure/Arrival time convenient", "Ease of Online booking", "Gate location",
    "Food and drink", "Online boarding", "Seat comfort", "Inflight entertainment", "On-board service",
    "Leg room service", "Baggage handling", "Checkin service", "Inflight service", "Cleanliness",
]


@pytest.fixture(scope="module")
def airline():
    if not AIRLINE.exists():
        pytest.skip(f"no {AIRLINE}")
    from journeylib.ingest import load_journey

    raw = pd.read_csv(AIRLINE)
    return load_journey(survey=AIRLINE, mapping={"score": AIRLINE_RATINGS}, not_rated=(0,)), raw


def test_airline_pain_points_come_from_ratings(airline):
    data, raw = airline
    pains = pain_points(data)
    assert list(pains["touchpoint"].head(3)) == ["Inflight wifi service", "Ease of Online booking", "Gate location"]
    rated = raw[AIRLINE_RATINGS].where(raw[AIRLINE_RATINGS] != 0)
    overall = np.nanmean(rated.to_numpy())
    assert pains["overall_mean"].iloc[0] == pytest.approx(overall) and round(overall, 2) == 3.28
    for r in pains.head(3).itertuples():
        scores = rated[r.touchpoint].dropna()
        lo, hi = stats.t.interval(0.95, len(scores) - 1, loc=scores.mean(), scale=stats.sem(scores))
        assert (r.mean_score, r.score_n) == (pytest.approx(scores.mean()), len(scores))
        assert (r.ci_low, r.ci_high) == (pytest.approx(lo), pytest.approx(hi)) and r.ci_high < overall
    assert [round(m, 2) for m in pains["mean_score"].head(3)] == [2.81, 2.89, 2.98]
    # Every flagged touchpoint's interval lies below the mean; Cleanliness (3.29) is not flagged.
    assert (pains["ci_high"] < overall).all() and "Cleanliness" not in set(pains["touchpoint"])
    assert pain_point_summary(pains, data).startswith("Biggest pain point: 'Inflight wifi service'")


def test_airline_key_drivers_of_satisfaction(airline):
    data, raw = airline
    assert driver_outcomes(data) == ["satisfaction"]
    kd = key_drivers(data, bootstrap=30)
    assert kd.label == "satisfaction = satisfied" and kd.n == len(raw)
    assert kd.baseline == pytest.approx((raw["satisfaction"] == "satisfied").mean())
    assert sorted(f.removeprefix("rating: ") for f in kd.table["feature"]) == sorted(AIRLINE_RATINGS)
    t = kd.table
    assert t[["importance_low", "importance_high"]].notna().all().all()
    assert ((t["importance_low"] <= t["importance"]) & (t["importance"] <= t["importance_high"])).all()
    assert t["importance"].sum() == pytest.approx(1.0)
    assert t["label"].iloc[0] == "Online boarding"
    assert t.set_index("label").loc["Inflight wifi service", "quadrant"] == "Fix first"


@pytest.mark.parametrize("used_reach,other_reach,step", [
    # (reached, of) for users and for the others
    ((40, 100), (0, 300), True),     # nobody reaches without it: a step (an offer sent before approval)
    ((0, 300), (40, 100), True),     # nobody who used it reaches: a way out (declined)
    ((90, 100), (898, 900), False),  # 99.8% without it, but 98.8% of everyone close anyway
    ((30, 40), (20, 60), False),     # a coupon: 75% against 33%
    ((3, 3), (50, 100), False),      # three of three: too few to call it deciding
    ((0, 950), (50, 50), True),      # a rare goal (5%) nobody reaches after it
])
def test_a_touchpoint_decides_the_goal_when_one_side_almost_never_has_a_common_result(used_reach, other_reach, step):
    from journeylib.insights import decides

    (ru, nu), (ro, no) = used_reach, other_reach
    outcome = pd.Series([1.0] * ru + [0.0] * (nu - ru) + [1.0] * ro + [0.0] * (no - ro))
    used = pd.Series([True] * nu + [False] * no)
    assert decides(outcome, used) is step
