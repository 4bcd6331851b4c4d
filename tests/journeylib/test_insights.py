"""Pain points, opportunities and key drivers against hand-computed values on small frames."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from journeylib.engine import default_engine
from journeylib.insights import (
    InsightError,
    key_drivers,
    opportunities,
    opportunity_sentence,
    pain_points,
    survey_scores,
)
from journeylib.reach import customer_reach
from journeylib.journey import JourneyModel
from journeylib.schema import JourneyData, ScoreScale


def make_data(journeys, survey_rows=None, scale=ScoreScale(1, 5)):
    """journeys: {customer: [(stage, touchpoint), ...]} in time order."""
    rows = []
    for cid, steps in journeys.items():
        for k, (stage, tp) in enumerate(steps):
            rows.append(
                {
                    "customer_id": cid,
                    "timestamp": pd.Timestamp("2024-01-01") + pd.Timedelta(hours=k),
                    "seq": len(rows),
                    "touchpoint": tp,
                    "stage": stage,
                    "channel": "web",
                }
            )
    events = pd.DataFrame(rows).astype({"customer_id": "string", "touchpoint": "string", "stage": "string", "channel": "string"})
    eng = default_engine()
    survey = None
    if survey_rows is not None:
        sv = pd.DataFrame(survey_rows, columns=["customer_id", "stage", "touchpoint", "score", "nps"])
        sv["comment"] = pd.Series([None] * len(sv), dtype="string")
        sv["timestamp"] = pd.Series([pd.NaT] * len(sv), dtype="datetime64[us]")
        sv = sv.astype({"customer_id": "string", "stage": "string", "touchpoint": "string", "score": "float64", "nps": "float64"})
        survey = eng.table(sv)
    return JourneyData(events=eng.table(events), survey=survey, journey=JourneyModel.default(("Awareness", "Consideration", "Intent", "Purchase", "Retention", "Advocacy")), score_scale=scale)


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
OVERALL = 32 / 9
GAP3 = (OVERALL - 3) / 4  # a mean of 3 on a 1-5 scale


@pytest.fixture(scope="module")
def small():
    return make_data(JOURNEYS, SURVEY)


def test_pain_points_match_hand_computation(small):
    pains = pain_points(small, min_answers=2)
    got = {(r.level, r.touchpoint if r.level == "touchpoint" else r.stage): r for r in pains.itertuples()}
    # Purchase and Retention: reaching Purchase completes the journey (no leaving) and they
    # are rated above the mean; Checkout and Support likewise.
    assert set(got) == {
        ("stage", "Awareness"),
        ("stage", "Consideration"),
        ("stage", "Intent"),
        ("touchpoint", "Ad"),
        ("touchpoint", "Compare"),
        ("touchpoint", "Search"),
        ("touchpoint", "Cart error"),
    }
    cons = got[("stage", "Consideration")]
    assert (cons.customers, cons.left) == (4, 2)  # c3 and c5 get no further than Consideration
    assert cons.drop_off_rate == pytest.approx(0.5)
    assert cons.mean_score == pytest.approx(3.0) and cons.score_n == 3
    assert cons.overall_mean == pytest.approx(OVERALL)
    assert cons.score_gap == pytest.approx(GAP3)
    assert cons.severity == pytest.approx(0.5 + GAP3)
    assert cons.impact == pytest.approx(4 * (0.5 + GAP3))
    assert cons.share == pytest.approx(4 / 5)
    aw = got[("stage", "Awareness")]
    assert (aw.customers, aw.left, aw.score_gap) == (5, 1, 0)  # rated above the mean: no gap
    intent = got[("stage", "Intent")]
    # One answer (score 1) is below min_answers=2: only the drop-off counts.
    assert (intent.customers, intent.left, intent.score_n, intent.score_gap) == (1, 1, 1, 0)
    cart = got[("touchpoint", "Cart error")]
    assert (cart.customers, cart.left, cart.stage) == (1, 1, "Intent")
    compare = got[("touchpoint", "Compare")]
    assert (compare.customers, compare.left) == (4, 1)  # c3 ends on Compare
    assert compare.impact == pytest.approx(4 * (0.25 + GAP3))
    ad = got[("touchpoint", "Ad")]
    assert (ad.customers, ad.left) == (4, 1)  # c5 ends on Ad; c1 ends on Support after buying
    search = got[("touchpoint", "Search")]
    assert (search.customers, search.left, search.impact) == (2, 1, pytest.approx(1.0))
    # Ranking: by impact, then customers, then stage order, stage rows before touchpoints.
    order = [(r.level, r.touchpoint if r.level == "touchpoint" else r.stage) for r in pains.itertuples()]
    assert order == [
        ("stage", "Consideration"),
        ("touchpoint", "Compare"),
        ("stage", "Awareness"),
        ("touchpoint", "Ad"),
        ("touchpoint", "Search"),
        ("stage", "Intent"),
        ("touchpoint", "Cart error"),
    ]


def test_min_answers_lets_a_single_answer_count(small):
    pains = pain_points(small, level="touchpoint", min_answers=1)
    cart = pains.set_index("touchpoint").loc["Cart error"]
    assert cart["score_gap"] == pytest.approx((OVERALL - 1) / 4)
    assert cart["severity"] == pytest.approx(1 + (OVERALL - 1) / 4)
    assert set(pains["level"]) == {"touchpoint"}


def test_pain_points_without_survey_use_drop_off_only():
    data = make_data(JOURNEYS)
    pains = pain_points(data, level="stage")
    assert list(pains["stage"]) == ["Consideration", "Awareness", "Intent"]
    assert list(pains["impact"]) == pytest.approx([2.0, 1.0, 1.0])
    assert pains["mean_score"].isna().all()


def test_opportunity_sentences_use_only_the_evidence(small):
    pains = pain_points(small, min_answers=2)
    opp = opportunities(pains, group="Testers", scale=ScoreScale(1, 5), top=3)
    assert list(opp["sentence"]) == [
        "Consideration: 50% of Testers reach this stage and go no further (2 of 4); "
        "they rate it 3.0/5 against 3.6 overall (n=3 answers).",
        "Consideration: 25% of Testers leave after 'Compare' (1 of 4); "
        "they rate it 3.0/5 against 3.6 overall (n=3 answers).",
        "Awareness: 20% of Testers reach this stage and go no further (1 of 5).",
    ]


def test_score_only_sentence_and_other_scales():
    row = pd.Series(
        {"level": "touchpoint", "stage": "Intent", "touchpoint": "Chat", "customers": 80, "left": 0,
         "drop_off_rate": 0.0, "mean_score": -1.25, "score_n": 40, "overall_mean": 0.5, "score_gap": 0.4}
    )
    assert opportunity_sentence(row, "customers", ScoreScale(-2, 2)) == (
        "Intent: customers rate 'Chat' -1.2 (-2 to 2) against +0.5 overall (n=40 answers)."
    )


def test_bad_level_is_a_clear_error(small):
    with pytest.raises(InsightError, match="level must be"):
        pain_points(small, level="page")


def test_key_driver_odds_ratio_matches_two_by_two_table():
    # Coupon x purchase: 30/10 with coupon, 20/40 without -> OR = 30*40 / (10*20) = 6.
    journeys = {}
    cells = [(True, True, 30), (True, False, 10), (False, True, 20), (False, False, 40)]
    i = 0
    for coupon, buys, count in cells:
        for _ in range(count):
            steps = [("Awareness", "Ad")]
            if coupon:
                steps.append(("Consideration", "Coupon"))
            if buys:
                steps.append(("Purchase", "Checkout"))
            journeys[f"c{i}"] = steps
            i += 1
    kd = key_drivers(make_data(journeys), outcome="purchase")
    assert kd.method == "logistic" and kd.n == 100
    assert list(kd.table["feature"]) == ["touchpoint: Coupon"]  # Ad is universal, Checkout is the outcome
    row = kd.table.iloc[0]
    se = math.sqrt(1 / 30 + 1 / 10 + 1 / 20 + 1 / 40)
    assert row["effect"] == pytest.approx(6.0, rel=1e-4)
    z = stats.norm.ppf(0.975)
    assert row["effect_ci_low"] == pytest.approx(math.exp(math.log(6) - z * se), rel=1e-3)
    assert row["effect_ci_high"] == pytest.approx(math.exp(math.log(6) + z * se), rel=1e-3)
    assert kd.baseline == pytest.approx(0.5)
    assert "6.00x the odds of purchase" in row["reading"]
    assert kd.summary == "Among 100 customers (50% purchase), having 'Coupon' matters most (goes with more purchase)."


def test_key_driver_slope_matches_ordinary_least_squares():
    rng = np.random.default_rng(3)
    x = rng.integers(1, 6, size=60).astype(float)
    y = np.clip(np.round(2 + 1.3 * x + rng.normal(0, 1.5, size=60)), 0, 10)
    journeys = {f"c{i}": [("Awareness", "Ad")] for i in range(60)}
    survey = [(f"c{i}", "Awareness", "Ad", x[i], y[i]) for i in range(60)]
    kd = key_drivers(make_data(journeys, survey), outcome="nps", min_answers=10)
    assert kd.method == "linear"
    row = kd.table.set_index("feature").loc["score: Awareness"]
    sxx = ((x - x.mean()) ** 2).sum()
    slope = ((x - x.mean()) * (y - y.mean())).sum() / sxx
    resid = y - (y.mean() + slope * (x - x.mean()))
    se = math.sqrt((resid @ resid) / 58 / sxx)
    t = stats.t.ppf(0.975, 58)
    assert row["effect"] == pytest.approx(slope)
    assert row["effect_ci_low"] == pytest.approx(slope - t * se)
    assert row["effect_ci_high"] == pytest.approx(slope + t * se)
    assert row["coef"] == pytest.approx(slope * x.std())
    assert row["n_observed"] == 60
    assert kd.fit == pytest.approx(1 - (resid @ resid) / ((y - y.mean()) ** 2).sum())


def test_key_drivers_without_inputs_says_why():
    journeys = {f"c{i}": [("Awareness", "Ad")] + ([("Purchase", "Buy")] if i % 2 else []) for i in range(10)}
    with pytest.raises(InsightError, match="no inputs"):
        key_drivers(make_data(journeys), outcome="purchase")
    with pytest.raises(InsightError, match="unknown outcome"):
        key_drivers(make_data(journeys), outcome="revenue")


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

def test_survey_scores_by_hand():
    """One query gives the overall mean and the per-stage and per-touchpoint means and counts;
    answers without a score count nowhere, answers without a stage only overall and per
    touchpoint."""
    rows = SURVEY + [("c3", None, "Compare", 5, None), ("c4", "Awareness", "Search", None, None)]
    scores = survey_scores(make_data(JOURNEYS, rows).survey)
    assert scores.overall == pytest.approx(37 / 10)
    by_stage = scores.stages.set_index("stage")
    assert by_stage["score_n"].to_dict() == {"Awareness": 4, "Consideration": 3, "Intent": 1, "Purchase": 1}
    assert by_stage["mean_score"].to_dict() == pytest.approx({"Awareness": 17 / 4, "Consideration": 3.0, "Intent": 1.0, "Purchase": 5.0})
    by_tp = scores.touchpoints.set_index("touchpoint")
    assert by_tp["score_n"].to_dict() == {"Ad": 2, "Compare": 4, "Checkout": 1, "Cart error": 1, "Search": 2}
    assert by_tp["mean_score"].to_dict() == pytest.approx({"Ad": 4.0, "Compare": 3.5, "Checkout": 5.0, "Cart error": 1.0, "Search": 4.5})
