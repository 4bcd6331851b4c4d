"""Personas: hand-computed features and effect sizes, names, and recovery of the sample's personas."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score

from journeylib.engine import Engine
from journeylib.personas import (
    PersonaModel,
    PersonaResult,
    customer_features,
    effect_size,
    feature_vocabulary,
    find_personas,
    Words,
    name_personas,
    persona_profiles,
    readable,
)
from journeylib.journey import JourneyModel
from journeylib.sample import generate_sample
from journeylib.schema import DEFAULT_STAGES, JourneyData

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def _journey(events: pd.DataFrame, survey=None, customers=None) -> JourneyData:
    """JourneyData straight from canonical frames (seq = row number), no reader involved."""
    engine = Engine()
    events = events.assign(seq=np.arange(len(events), dtype="int64"))
    return JourneyData(
        events=engine.table(events),
        survey=None if survey is None else engine.table(survey),
        customers=None if customers is None else engine.table(customers),
    )


def _events(rows):
    frame = pd.DataFrame(rows, columns=["customer_id", "timestamp", "touchpoint", "stage", "channel"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    return frame


TINY = _events([
    ("A", "2026-01-01 00:00", "Ad", "Awareness", "Social"),
    ("B", "2026-01-02 00:00", "Page", "Consideration", "Web"),
    ("A", "2026-01-03 00:00", "Page", "Consideration", "Web"),
    ("A", "2026-01-03 00:00", "Buy", "Purchase", "Web"),
    ("B", "2026-01-02 12:00", "Page", "Consideration", "Web"),
    ("C", "2026-01-05 00:00", "Search", "Awareness", "Search"),
    # D's two events share a timestamp: the file order decides the entry channel.
    ("D", "2026-01-06 09:00", "Mail", "Retention", "Email"),
    ("D", "2026-01-06 09:00", "Page", "Consideration", "Web"),
])
TINY_SURVEY = pd.DataFrame({
    "customer_id": ["A", "A", "B"],
    "stage": ["Awareness", "Purchase", "Consideration"],
    "touchpoint": pd.Series([None, None, None], dtype="str"),
    "score": [4.0, 2.0, 3.0],
    "comment": pd.Series([None, "slow", None], dtype="str"),
    "timestamp": pd.to_datetime(["2026-01-01", "2026-01-04", "2026-01-03"]),
    "nps": [None, 9.0, None],
})
TINY_CUSTOMERS = pd.DataFrame({"customer_id": ["A", "B", "D"], "age": [30, 40, 50],
                               "region": ["North", "South", "North"]})


def test_features_by_hand():
    # The goal is the default, reaching Purchase: A's "Buy" (the Purchase stage) is the goal
    # itself and counts nowhere; furthest stage runs over the stages before Purchase.
    f = customer_features(_journey(TINY, TINY_SURVEY, TINY_CUSTOMERS))
    assert list(f.index) == ["A", "B", "C", "D"]
    a, b, c, d = (f.loc[x] for x in "ABCD")
    assert (a["events"], b["events"], c["events"], d["events"]) == (2, 2, 1, 2)
    # Duration spans every event (Buy included): A from Jan 1 to Jan 3.
    assert a["duration_days"] == pytest.approx(2.0) and b["duration_days"] == pytest.approx(0.5)
    assert c["duration_days"] == 0 and d["duration_days"] == 0
    assert (a["distinct_touchpoints"], b["distinct_touchpoints"], d["distinct_touchpoints"]) == (2, 1, 2)
    # Awareness = 0, Consideration = 1; D's Retention event is past the goal: not a depth.
    assert list(f["furthest_stage"]) == [1, 1, 0, 1]
    assert not any(col.startswith("purchase") or col == "touchpoint: Buy" for col in f.columns)
    assert a["channel: Social"] == pytest.approx(1 / 3) and a["channel: Web"] == pytest.approx(2 / 3)
    assert b["channel: Web"] == 1 and c["channel: Search"] == 1 and d["channel: Email"] == 0.5
    assert list(f["entry_channel"]) == ["Social", "Web", "Search", "Email"]
    assert b["touchpoint: Page"] == 2 and a["touchpoint: Page"] == 1 and c["touchpoint: Page"] == 0
    # Survey: means per customer and per stage answered, NaN where not answered (the model
    # imputes); the NPS answer is an outcome, never a feature.
    assert a["score_mean"] == 3 and b["score_mean"] == 3 and math.isnan(c["score_mean"])
    assert a["score: Purchase"] == 2 and math.isnan(b["score: Purchase"])
    assert b["score: Consideration"] == 3
    assert "nps" not in f.columns
    assert [c for c in f.columns if c.startswith("score: ")] == [
        "score: Awareness", "score: Consideration", "score: Purchase"]
    # Attributes: numeric stays numeric, text stays categorical, C has none.
    assert a["attr: age"] == 30 and math.isnan(c["attr: age"])
    assert f.loc["B", "attr: region"] == "South" and pd.isna(f.loc["C", "attr: region"])


def test_features_without_survey_or_customers():
    f = customer_features(_journey(TINY))
    assert len(f) == 4
    assert not any(c.startswith(("score", "attr")) or c == "nps" for c in f.columns)
    model = PersonaModel(n_personas=2).fit(f)
    assert len(model.labels_) == 4 and len(set(model.names_)) == 2


def test_effect_sizes_by_hand():
    X = pd.DataFrame({"x": [1.0, 2.0, 3.0, 7.0, 9.0], "kind": ["a", "a", "b", "b", "b"]})
    labels = np.array([0, 0, 0, 1, 1])
    prof = persona_profiles(X, labels).set_index(["label", "feature"])
    # Group 0: mean 2, var 1 (3 values); group 1: mean 8, var 2 (2 values).
    pooled = math.sqrt((2 * 1 + 1 * 2) / 3)
    assert prof.loc[(0, "x"), "effect_size"] == pytest.approx((2 - 8) / pooled)
    assert prof.loc[(1, "x"), "effect_size"] == pytest.approx((8 - 2) / pooled)
    assert prof.loc[(0, "x"), "mean"] == 2 and prof.loc[(0, "x"), "overall_mean"] == pytest.approx(4.4)
    assert prof.loc[(0, "x"), "rest_mean"] == 8
    # Categorical columns become shares: kind=b is 1/3 in group 0 and 1 in group 1 (no spread there).
    assert prof.loc[(0, "kind=b"), "mean"] == pytest.approx(1 / 3)
    sd = math.sqrt((2 * (1 / 3)) / 3)  # group 0 variance 1/3, group 1 variance 0
    assert prof.loc[(0, "kind=b"), "effect_size"] == pytest.approx((1 / 3 - 1) / sd)
    assert prof.loc[(1, "x"), "rank"] == 1
    assert effect_size([1, 1], [2, 2]) == -10  # capped: no spread, different means
    assert effect_size([1, 1], [1, 1]) == 0
    assert math.isnan(effect_size([np.nan], [1.0, 2.0]))


def _profile(label_traits):
    rows = [(label, f, d, m) for label, traits in label_traits.items() for f, (d, m) in traits.items()]
    return pd.DataFrame(rows, columns=["label", "feature", "effect_size", "mean"])


def test_names_from_traits_and_unique():
    prof = _profile({
        0: {"touchpoint: Cart error": (3.0, 1.2), "score_mean": (-1.0, 2.1), "events": (0.2, 5.0)},
        1: {"entry_channel=Social": (2.0, 0.9), "duration_days": (-1.1, 0.2)},
        2: {"furthest_stage": (-2.0, 1.0), "distinct_touchpoints": (-1.5, 2.0)},
        3: {"rating: Seat comfort": (-2.5, 1.4), "score_mean": (-0.9, 2.5), "attr: Class=Eco": (1.2, 0.8)},
        # Two personas that would both be "Stop at Consideration": a further trait tells them apart.
        4: {"furthest_stage": (-1.5, 1.2), "entry_channel=Search": (0.4, 0.8), "distinct_touchpoints": (-1.0, 5)},
        5: {"x": (0.01, 0.0)},
    })
    names = name_personas(prof, 6, journey=JourneyModel())
    assert names[0] == "Cart error · low ratings"
    assert names[1] == "Social-first · quick journeys"
    # furthest_stage 1.0 is the second stage before the goal (Purchase): Consideration.
    assert names[2] == "Stop at Consideration · short journeys"
    assert names[3] == "Unhappy with Seat comfort · Class Eco"
    assert names[4] == "Stop at Consideration · Search-first"
    assert names[5] == "Typical customers"
    assert len(set(names)) == 6


def test_readable_words():
    assert readable("case:AMOUNT_REQ") == "amount requested"
    assert readable("TypeOfTraveller") == "type of traveller"
    assert readable("Food&Beverages") == "food & beverages"
    assert readable("service_level") == "service level"
    assert readable("Cart error") == "Cart error" and readable("Inflight wifi service") == "Inflight wifi service"
    words = Words(JourneyModel(stages=("Application", "Offer"), stage_prefixes=(("A_", "Application"),
                                                                                 ("O_", "Offer"))))
    assert words.touchpoint("A_DECLINED") == "Application declined"
    assert words.touchpoint("O_SENT_BACK") == "Offer sent back"
    assert words.touchpoint("W_Call after offers") == "W_Call after offers"  # no rule for W_
    assert words.value("Type of Travel", "Business travel") == "Business travel"
    assert words.value("Class", "Eco") == "Class Eco"
    assert words.value("VerifiedReview", "False") == "not verified review"
    assert words.value("product", "Value 3") == "product Value 3"


def test_sklearn_conventions_and_errors():
    model = PersonaModel(n_personas=3, random_state=4, k_range=(2, 5))
    assert model.get_params()["k_range"] == (2, 5) and model.get_params()["n_personas"] == 3
    assert clone(model).get_params() == model.get_params()
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(c, 0.3, size=(40, 3)) for c in (0, 5, 10)])
    fitted = model.fit(X)
    assert fitted is model and model.n_personas_ == 3
    assert np.array_equal(model.predict(X), model.labels_)
    assert np.array_equal(np.bincount(model.labels_), [40, 40, 40])
    assert model.shares_ == pytest.approx([1 / 3] * 3)
    with pytest.raises(ValueError, match="n_personas"):
        PersonaModel(n_personas="lots").fit(X)
    with pytest.raises(ValueError, match="between 2"):
        PersonaModel(n_personas=1).fit(X)
    with pytest.raises(ValueError, match="at least 3 customers"):
        PersonaModel().fit(X[:2])


def test_auto_k_on_blobs_and_minibatch_path():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(np.vstack([rng.normal(c, 0.5, size=(150, 2)) for c in ((0, 0), (6, 0), (0, 6), (6, 6))]),
                     columns=["a", "b"])
    model = PersonaModel(k_range=(2, 6), silhouette_sample=100, minibatch_above=300).fit(X)
    assert model.n_personas_ == 4
    assert set(model.silhouette_curve_) == {2, 3, 4, 5, 6}
    assert model.silhouette_ == max(model.silhouette_curve_.values())
    truth = np.repeat(np.arange(4), 150)
    assert adjusted_rand_score(truth, model.labels_) > 0.95
    assert model.pipeline_.named_steps["cluster"].__class__.__name__ == "MiniBatchKMeans"


def _load_sample():
    from journeylib.ingest import load_journey

    return load_journey(touchpoints=SAMPLE / "touchpoints.csv", survey=SAMPLE / "survey.csv",
                        customers=SAMPLE / "customers.csv")


@pytest.fixture(scope="module")
def sample_result():
    if not (SAMPLE / "touchpoints.csv").exists():
        pytest.skip("bundled sample not generated")
    return find_personas(_load_sample(), n_personas="auto", random_state=0)


def test_recovers_the_sample_personas(sample_result):
    truth = pd.read_csv(SAMPLE / "truth.csv", dtype=str).set_index("customer_id")["persona"]
    got = sample_result.assignments
    assert isinstance(sample_result, PersonaResult)
    assert list(got.columns) == ["customer_id", "persona"] and len(got) == len(truth)
    assert sample_result.model.n_personas_ == truth.nunique() == 5
    assert adjusted_rand_score(truth.loc[got.customer_id].to_numpy(), got.persona.to_numpy()) >= 0.8
    # The names say what the personas are, in the shop's own words: the group named after
    # a trait is mostly the true persona with it.
    majority = pd.crosstab(got.persona.to_numpy(), truth.loc[got.customer_id].to_numpy()).idxmax(axis=1)
    expected = {"Checkout strugglers": "Cart error", "Window shoppers": "Stop at Consideration",
                "Researchers": "Comparison page", "Social-first impulse buyers": "Social-first",
                "Loyal advocates": "App login"}
    for true, words in expected.items():
        named = [n for n in majority.index if words in n]
        assert len(named) == 1 and majority[named[0]] == true, (true, list(majority.index))


def test_result_parts_on_sample(sample_result):
    model, prof = sample_result.model, sample_result.profiles
    names = model.names_
    assert len(set(names)) == len(names) and not any("cluster" in n.lower() for n in names)
    assert set(prof["persona"]) == set(names)
    assert {"feature", "mean", "overall_mean", "rest_mean", "effect_size", "rank", "top", "trait"} <= set(prof.columns)
    assert (prof.groupby("persona")["top"].sum() == 5).all()
    cart = next(n for n in names if "Cart error" in n)
    strugglers = prof[(prof.persona == cart) & (prof.feature == "touchpoint: Cart error")]
    assert strugglers.effect_size.iloc[0] > 1
    assert model.shares_.sum() == pytest.approx(1) and list(model.shares_) == sorted(model.shares_, reverse=True)
    emb = sample_result.embedding
    assert list(emb.columns) == ["customer_id", "x", "y", "persona"]
    assert emb.customer_id.tolist() == sample_result.assignments.customer_id.tolist()
    assert np.isfinite(emb[["x", "y"]].to_numpy()).all() and emb.x.std() > 0
    assert sample_result.features.index.tolist() == emb.customer_id.tolist()


def test_same_seed_same_assignments():
    from journeylib.ingest import load_journey

    frames = generate_sample(600, seed=2)
    data = load_journey(touchpoints=frames["touchpoints"], survey=frames["survey"], customers=frames["customers"])
    first = find_personas(data, n_personas=4, random_state=3)
    second = find_personas(data, n_personas=4, random_state=3)
    pd.testing.assert_frame_equal(first.assignments, second.assignments)
    pd.testing.assert_frame_equal(first.embedding, second.embedding)
    assert first.model.names_ == second.model.names_


def test_fixed_vocabulary_and_float32():
    data = _journey(TINY, TINY_SURVEY, TINY_CUSTOMERS)
    f = customer_features(data, touchpoints=["Page", "Nowhere"], channels=["Web"])
    assert [c for c in f.columns if c.startswith(("touchpoint: ", "channel: "))] == [
        "channel: Web", "touchpoint: Page", "touchpoint: Nowhere"]
    assert list(f["touchpoint: Page"]) == [1, 2, 0, 1] and list(f["touchpoint: Nowhere"]) == [0, 0, 0, 0]
    assert list(f["channel: Web"]) == pytest.approx([2 / 3, 1, 0, 0.5])
    # The vocabulary does not change the other columns.
    assert list(f["entry_channel"]) == ["Social", "Web", "Search", "Email"]
    assert f["events"].dtype == np.float32 and f["score_mean"].dtype == np.float32


def test_chunked_features_equal_unchunked():
    from journeylib.persona_sampling import customer_chunks

    data = _journey(TINY, TINY_SURVEY, TINY_CUSTOMERS)
    whole = customer_features(data)
    vocab = feature_vocabulary(whole)
    assert vocab["touchpoints"] == [c[12:] for c in whole.columns if c.startswith("touchpoint: ")]
    assert vocab["score_stages"] == ["Awareness", "Consideration", "Purchase"]
    parts = [customer_features(chunk, **vocab) for chunk in customer_chunks(data, 3, seed=1)]
    assert sum(len(p) for p in parts) == 4
    assert all(list(p.columns) == list(whole.columns) for p in parts)
    glued = pd.concat(parts).sort_index()
    pd.testing.assert_frame_equal(glued, whole)


@pytest.fixture(scope="module")
def sample_data():
    if not (SAMPLE / "touchpoints.csv").exists():
        pytest.skip("bundled sample not generated")
    return _load_sample()


@pytest.mark.parametrize("chunk", [None, 2000])  # None: one pass; 2000: three chunks of customers
def test_sampled_fit_assigns_everyone(sample_data, sample_result, monkeypatch, chunk):
    import journeylib.personas as personas

    if chunk:
        monkeypatch.setattr(personas, "ASSIGN_CHUNK", chunk)
        monkeypatch.setattr(personas, "PREDICT_ROWS", 700)
    truth = pd.read_csv(SAMPLE / "truth.csv", dtype=str).set_index("customer_id")["persona"]
    result = find_personas(sample_data, n_personas="auto", random_state=0, max_customers=1000)
    got = result.assignments
    assert (result.sampled, result.total) == (1000, len(truth))
    assert result.label == f"fitted on a sample of 1,000 of {len(truth):,} customers"
    assert len(result.features) == 1000 and len(result.model.labels_) == 1000
    # Everyone gets a persona, once, in customer order like the full fit.
    assert sorted(got.customer_id) == sorted(truth.index) and got.customer_id.is_monotonic_increasing
    assert got.persona.notna().all() and set(got.persona) <= set(result.model.names_)
    assert result.model.n_personas_ == 5
    assert adjusted_rand_score(truth.loc[got.customer_id].to_numpy(), got.persona.to_numpy()) >= 0.8
    full = sample_result.assignments
    assert adjusted_rand_score(full.persona.to_numpy(), got.persona.to_numpy()) >= 0.9
    # The sampled customers keep the label the fit gave them.
    fitted = pd.Series(np.asarray(result.model.names_, dtype=object)[result.model.labels_],
                       index=result.features.index)
    assert (got.set_index("customer_id").persona.loc[fitted.index] == fitted).all()
    emb = result.embedding
    assert len(emb) == 1000 and set(emb.customer_id) <= set(result.features.index)
    assert sample_result.sampled == sample_result.total == len(truth) and not sample_result.is_sample


def test_sampled_fit_is_deterministic(sample_data):
    first = find_personas(sample_data, n_personas=3, random_state=5, max_customers=300)
    second = find_personas(sample_data, n_personas=3, random_state=5, max_customers=300)
    pd.testing.assert_frame_equal(first.assignments, second.assignments)
    pd.testing.assert_frame_equal(first.features, second.features)
    other = find_personas(sample_data, n_personas=3, random_state=6, max_customers=300)
    assert set(other.features.index) != set(first.features.index)


def test_max_customers_from_the_environment(monkeypatch, sample_data):
    monkeypatch.setenv("JOURNEY_MAX_CLUSTER_CUSTOMERS", "400")
    result = find_personas(sample_data, n_personas=2)
    assert (result.sampled, len(result.assignments)) == (400, result.total)
    with pytest.raises(ValueError, match="at least 3"):
        find_personas(sample_data, n_personas=2, max_customers=2)


def test_embedding_is_capped(monkeypatch):
    import journeylib.personas as personas

    monkeypatch.setattr(personas, "EMBEDDING_CUSTOMERS", 50)
    frames = generate_sample(200, seed=4)
    from journeylib.ingest import load_journey

    data = load_journey(touchpoints=frames["touchpoints"])
    result = find_personas(data, n_personas=3, random_state=1)
    assert len(result.embedding) == 50 and len(result.assignments) == len(result.features)
    row = result.embedding.iloc[7]
    assert row.persona == result.assignments.set_index("customer_id").persona[row.customer_id]


def test_profiles_match_effect_size_feature_by_feature():
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(120, 3)), columns=["a", "b", "c"])
    X.loc[rng.random(120) < 0.3, "b"] = np.nan
    X["flat"] = 1.0
    labels = rng.integers(0, 3, 120)
    prof = persona_profiles(X, labels).set_index(["label", "feature"])
    for label in range(3):
        inside = labels == label
        for col in X.columns:
            a, b = X[col].to_numpy()[inside], X[col].to_numpy()[~inside]
            assert prof.loc[(label, col), "effect_size"] == pytest.approx(effect_size(a, b), abs=1e-12)
            assert prof.loc[(label, col), "mean"] == pytest.approx(np.nanmean(a))


@pytest.mark.parametrize("seed", [0, 5])
def test_sample_picked_from_ids_in_hand_is_the_sample(sample_data, seed):
    # find_personas picks the fit sample from everyone's ids it already holds; that must be
    # exactly the sample the backend gives (same seeded hash order, same size).
    import pyarrow as pa

    from journeylib.engine import execute
    from journeylib.personas import _sample_ids
    from journeylib.persona_sampling import sample_customers

    sample = sample_customers(sample_data, 300, seed=seed)
    ev = sample_data.events
    everyone = execute(ev.select(customer_id=ev.customer_id.cast("string")).distinct())["customer_id"]
    ids = pa.array(everyone.astype(str).sample(frac=1, random_state=1).tolist(), type=pa.string())
    got = _sample_ids(sample_data, sample, ids, 300, seed).to_pylist()
    want = execute(sample.ids)["customer_id"].astype(str).tolist()
    assert len(got) == 300 and sorted(got) == sorted(want)
    other = _sample_ids(sample_data, sample, ids, 300, seed + 1).to_pylist()
    assert sorted(other) != sorted(want)


def test_check_estimator():
    from sklearn.utils.estimator_checks import check_estimator

    results = check_estimator(PersonaModel(n_personas=2, stability_runs=1), on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert not failed, failed
    model = PersonaModel(n_personas=2).fit(pd.DataFrame({"a": [1.0, 2, 9, 10], "b": [0.0, 1, 0, 1]}))
    assert model.n_features_in_ == 2 and list(model.feature_names_in_) == ["a", "b"]
