"""The sample generator: deterministic, well-formed, and telling the story it claims."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from journeylib.sample import PERSONAS, TOUCHPOINT_STAGE_MAP, generate_sample, write_sample
from journeylib.schema import DEFAULT_STAGES, PURCHASE_STAGE

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


@pytest.fixture(scope="module")
def sample():
    return generate_sample(1500, seed=3)


def test_same_seed_same_frames_other_seed_differs():
    a, b, c = generate_sample(300, seed=5), generate_sample(300, seed=5), generate_sample(300, seed=6)
    for name in ("touchpoints", "survey", "customers", "truth"):
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["touchpoints"].equals(c["touchpoints"])


def test_same_seed_identical_files(tmp_path):
    first = write_sample(tmp_path / "a", n_customers=200, seed=9)
    second = write_sample(tmp_path / "b", n_customers=200, seed=9)
    assert [p.name for p in first] == ["touchpoints.csv", "survey.csv", "customers.csv", "truth.csv"]
    for p, q in zip(first, second):
        assert p.read_bytes() == q.read_bytes()


def test_shapes_and_columns(sample):
    tp, sv, cu, tr = sample["touchpoints"], sample["survey"], sample["customers"], sample["truth"]
    assert list(tp.columns) == ["customer_id", "timestamp", "touchpoint", "stage", "channel"]
    assert list(sv.columns) == ["customer_id", "timestamp", "stage", "touchpoint", "score", "comment", "nps"]
    assert list(cu.columns) == ["customer_id", "age_band", "region", "device", "total_spend"]
    assert list(tr.columns) == ["customer_id", "persona"]
    assert len(cu) == len(tr) == 1500 and cu.customer_id.is_unique
    # About ten events per customer: a million for 100,000 customers.
    assert 7 * 1500 < len(tp) < 14 * 1500
    assert set(tp.stage) == set(DEFAULT_STAGES)
    assert tp.channel.notna().all() and tp.touchpoint.notna().all()
    # Stage is a property of the touchpoint.
    assert (tp.stage == tp.touchpoint.map(TOUCHPOINT_STAGE_MAP)).all()


def test_every_customer_has_events_and_truth_covers_all(sample):
    ids = set(sample["customers"].customer_id)
    assert set(sample["touchpoints"].customer_id) == ids
    assert set(sample["truth"].customer_id) == ids
    assert set(sample["truth"].persona) == {p.name for p in PERSONAS}
    assert set(sample["survey"].customer_id) <= ids


def test_timestamps_in_window_sorted_with_ties(sample):
    tp = sample["touchpoints"]
    assert tp.timestamp.min() >= pd.Timestamp("2026-03-01")
    assert tp.timestamp.max() <= pd.Timestamp("2026-08-31 23:59:59")
    assert tp.timestamp.is_monotonic_increasing
    assert tp.duplicated(["customer_id", "timestamp"]).sum() > 0  # equal timestamps happen
    assert not tp.duplicated().any()  # but never an exact duplicate row, which loaders drop
    # A tie keeps journey order: a cart error never comes before its checkout.
    first = tp.drop_duplicates("customer_id")
    assert not first.touchpoint.isin(["Cart error", "Order confirmation"]).any()


def test_survey_scores_response_rates_and_nps(sample):
    tp, sv = sample["touchpoints"], sample["survey"]
    assert sv.score.between(1, 5).all() and (sv.score == sv.score.round()).all()
    assert not sv.duplicated(["customer_id", "stage"]).any()
    # Answers only for stages the customer reached.
    reached = set(zip(tp.customer_id, tp.stage))
    assert all(pair in reached for pair in zip(sv.customer_id, sv.stage))
    rate = len(sv) / len(set(reached))
    assert 0.2 <= rate <= 0.6
    nps = sv.dropna(subset=["nps"])
    assert len(nps) > 0 and nps.nps.between(0, 10).all()
    buyers = set(tp.loc[tp.stage == PURCHASE_STAGE, "customer_id"])
    assert set(nps.customer_id) <= buyers
    assert (nps.stage == PURCHASE_STAGE).all()
    # One survey row per customer at most carries an NPS answer.
    assert nps.customer_id.is_unique


def test_comments_varied_and_match_the_problem(sample):
    tp, sv = sample["touchpoints"], sample["survey"]
    with_comment = sv.dropna(subset=["comment"])
    assert 0.2 < len(with_comment) / len(sv) < 0.5
    assert with_comment.comment.nunique() > 60
    assert not with_comment.comment.str.contains("{", regex=False).any()
    errored = set(tp.loc[tp.touchpoint == "Cart error", "customer_id"])
    about_error = with_comment[with_comment.comment.str.contains("cart error|checkout kept failing|something went wrong",
                                                                 case=False)]
    assert len(about_error) > 0 and set(about_error.customer_id) <= errored


def test_personas_behave_differently(sample):
    tp = sample["touchpoints"].merge(sample["truth"], on="customer_id")
    per = tp.groupby("customer_id").agg(
        persona=("persona", "first"),
        events=("touchpoint", "size"),
        bought=("stage", lambda s: (s == PURCHASE_STAGE).any()),
        cart_error=("touchpoint", lambda s: (s == "Cart error").any()),
        social_first=("channel", lambda s: s.iloc[0] == "Social"),
        days=("timestamp", lambda s: (s.max() - s.min()).total_seconds() / 86400),
    ).groupby("persona").mean(numeric_only=True)
    assert per.loc["Checkout strugglers", "cart_error"] > 0.8
    assert 0.3 < per.loc["Checkout strugglers", "bought"] < 0.7
    assert per.loc["Social-first impulse buyers", "social_first"] > 0.9
    assert per.loc["Social-first impulse buyers", "bought"] > 0.85
    assert per.loc["Researchers", "days"] > 3 * per.loc["Social-first impulse buyers", "days"]
    assert per.loc["Window shoppers", "bought"] < 0.05
    assert per["events"].idxmax() in ("Loyal advocates", "Researchers")
    sv = sample["survey"].merge(sample["truth"], on="customer_id")
    mean = sv.groupby("persona").score.mean()
    assert mean.idxmax() in ("Loyal advocates", "Researchers")
    assert mean.idxmin() == "Checkout strugglers"


def test_spend_only_for_buyers(sample):
    tp, cu = sample["touchpoints"], sample["customers"]
    buyers = set(tp.loc[tp.stage == PURCHASE_STAGE, "customer_id"])
    spent = cu.set_index("customer_id").total_spend
    assert (spent[spent.index.isin(buyers)] > 0).all()
    assert (spent[~spent.index.isin(buyers)] == 0).all()


def test_bad_size_is_a_clear_error():
    with pytest.raises(ValueError, match="n_customers"):
        generate_sample(0)


@pytest.mark.skipif(not (SAMPLE / "touchpoints.csv").exists(), reason="bundled sample not generated")
def test_bundled_sample_is_the_default_output(tmp_path):
    written = write_sample(tmp_path, n_customers=5000, seed=7)
    for path in written:
        assert path.read_bytes() == (SAMPLE / path.name).read_bytes(), path.name
    assert (SAMPLE / "README.md").exists()
    assert sum((SAMPLE / p.name).stat().st_size for p in written) < 8_000_000
