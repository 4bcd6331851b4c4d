"""Personas at speed: the per-customer counts computed from lists of event kinds equal plain
pandas counts, block by block; the fit's shortcuts keep its choices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import journeylib.personas as personas
from journeylib.engine import Engine
from journeylib.personas import CHANNEL, TOUCHPOINT, customer_features
from journeylib.journey import DEFAULT_GOAL_STAGE as GOAL_STAGE
from journeylib.schema import DEFAULT_STAGES, JourneyData


def _random_events(seed: int, customers: int = 240, events: int = 2500) -> pd.DataFrame:
    """Many touchpoints and channels (more than the feature vocabulary keeps), some missing,
    stages outside ``data.stages``, kinds that mix touchpoint, stage and channel freely."""
    rng = np.random.default_rng(seed)
    touchpoints = np.array([f"tp{i:02d}" for i in range(40)], dtype=object)
    channels = np.array([f"ch{i:02d}" for i in range(15)], dtype=object)
    stages = np.array(list(DEFAULT_STAGES) + ["Elsewhere"], dtype=object)
    weights = 1.0 / np.arange(1, 41)
    frame = pd.DataFrame({
        "customer_id": pd.Series([f"c{i:04d}" for i in rng.integers(0, customers, events)], dtype=object),
        "timestamp": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 30 * 24, events), unit="h"),
        "touchpoint": touchpoints[rng.choice(40, events, p=weights / weights.sum())],
        "stage": stages[rng.integers(0, len(stages), events)],
        "channel": channels[rng.integers(0, 15, events)],
    })
    for col, share in (("touchpoint", 0.05), ("stage", 0.05), ("channel", 0.08)):
        frame.loc[rng.random(events) < share, col] = None
    return frame


def _journey(events: pd.DataFrame) -> JourneyData:
    engine = Engine()
    return JourneyData(events=engine.table(events.assign(seq=np.arange(len(events), dtype="int64"))))


def _expected(ev: pd.DataFrame) -> pd.DataFrame:
    """The features by hand: plain pandas group-bys over the events. The goal is the default
    (reaching Purchase): events in that stage count nowhere, the furthest stage runs over
    the stages before it; channels and the entry channel see every event."""
    by = ev.groupby("customer_id")
    kept = ev[ev.stage != GOAL_STAGE]
    kept_by = kept.groupby("customer_id")
    named = kept[kept.touchpoint.notna()]
    reach = named.groupby("touchpoint").customer_id.nunique()
    vocab = sorted(reach.index, key=lambda t: (-reach[t], t))[:personas.TOP_TOUCHPOINTS]
    per_channel = ev[ev.channel.notna()].groupby("channel").size()
    channels = sorted(per_channel.index, key=lambda c: (-per_channel[c], c))[:personas.MAX_CHANNELS]
    before = list(DEFAULT_STAGES[:DEFAULT_STAGES.index(GOAL_STAGE)])
    pos = {s: i for i, s in enumerate(before)}
    out = pd.DataFrame(index=pd.Index(sorted(ev.customer_id.unique()), name="customer_id"))
    out["events"] = kept_by.size().reindex(out.index, fill_value=0)
    out["distinct_touchpoints"] = kept_by.touchpoint.nunique().reindex(out.index, fill_value=0)
    out["furthest_stage"] = ev.assign(p=ev.stage.map(pos)).groupby("customer_id").p.max()
    for c in channels:
        out[CHANNEL + c] = by.channel.apply(lambda s, c=c: (s == c).sum()) / by.size()
    first = ev.assign(seq=np.arange(len(ev))).sort_values(["timestamp", "seq"]).groupby("customer_id").channel
    out["entry_channel"] = first.apply(lambda s: s.dropna().iloc[0] if s.notna().any() else None)
    for t in vocab:
        out[TOUCHPOINT + t] = kept_by.touchpoint.apply(lambda s, t=t: (s == t).sum()).reindex(out.index, fill_value=0)
    return out


@pytest.mark.parametrize("block_cells", [None, 97])  # 97: many small blocks of customers
def test_counts_from_kind_lists_equal_pandas(monkeypatch, block_cells):
    if block_cells:
        monkeypatch.setattr(personas, "_BLOCK_CELLS", block_cells)
    ev = _random_events(seed=7)
    got = customer_features(_journey(ev))
    want = _expected(ev)
    assert list(got.index) == sorted(want.index)
    # The vocabulary: the touchpoints most customers meet, the channels with most events.
    assert [c for c in got.columns if c.startswith((CHANNEL, TOUCHPOINT))] == \
        [c for c in want.columns if c.startswith((CHANNEL, TOUCHPOINT))]
    assert len([c for c in got.columns if c.startswith(TOUCHPOINT)]) == personas.TOP_TOUCHPOINTS
    assert len([c for c in got.columns if c.startswith(CHANNEL)]) == personas.MAX_CHANNELS
    want = want.loc[got.index]
    numbers = [c for c in want.columns if c != "entry_channel"]
    pd.testing.assert_frame_equal(got[numbers], want[numbers].astype(np.float32), check_names=False,
                                  check_index_type=False)
    assert not any(c.startswith("purchase") for c in got.columns)
    assert got["entry_channel"].tolist() == want["entry_channel"].tolist()
    assert got["entry_channel"].dtype == object and all(got[c].dtype == np.float32 for c in numbers)


def test_fixed_vocabulary_in_chunks_matches_the_whole():
    """Chunks see only some kinds of events; with the whole's vocabulary they agree with it."""
    from journeylib.persona_sampling import customer_chunks

    data = _journey(_random_events(seed=3, customers=60, events=500))
    whole = customer_features(data)
    vocab = dict(touchpoints=[c[len(TOUCHPOINT):] for c in whole.columns if c.startswith(TOUCHPOINT)] + ["never"],
                 channels=[c[len(CHANNEL):] for c in whole.columns if c.startswith(CHANNEL)])
    parts = [customer_features(chunk, **vocab) for chunk in customer_chunks(data, 4, seed=2)]
    glued = pd.concat(parts).sort_index()
    assert (glued[TOUCHPOINT + "never"] == 0).all()
    pd.testing.assert_frame_equal(glued.drop(columns=TOUCHPOINT + "never"), whole)


def test_sum_rows_and_kind_blocks_by_hand():
    codes = np.array([2, 0, 2, 1, 1, 1, 0])  # rows of lengths 3, 0, 4
    lengths = np.array([3, 0, 4])
    blocks = list(personas._kind_blocks(codes, lengths, 3))
    counts = np.concatenate([b[2] for b in blocks], axis=1)
    assert counts.tolist() == [[1, 0, 1], [0, 0, 3], [2, 0, 0]]
    out = np.empty((2, 3), dtype=np.int64)
    # Kinds 0 and 2 go to column 1, kind 1 to column 0.
    assert personas._sum_rows(counts, np.array([1, 0, 1]), 2, out).tolist() == [[0, 0, 3], [3, 0, 1]]
    assert personas._sum_rows(counts, np.array([-1, -1, 0]), 2, out).tolist() == [[2, 0, 0], [0, 0, 0]]


def test_profiles_in_blocks_equal_effect_sizes(monkeypatch):
    """Per-persona sums a block of rows at a time give the numbers of effect_size, for numeric
    columns with gaps and for indicators of a categorical one; labels need not be 0..k-1."""
    monkeypatch.setattr(personas, "PROFILE_ROWS", 17)
    rng = np.random.default_rng(5)
    X = pd.DataFrame({"a": rng.normal(100, 3, 150), "b": rng.exponential(2, 150).astype(np.float32)})
    X.loc[rng.random(150) < 0.3, "b"] = np.nan
    X["gone"] = np.nan  # no values at all
    X["kind"] = pd.Series(rng.choice(["x", "y", None], 150), dtype=object)
    labels = rng.choice([0, 2, 5], 150)
    prof = personas.persona_profiles(X, labels).set_index(["label", "feature"])
    assert sorted(set(prof.index.get_level_values("feature"))) == ["a", "b", "gone", "kind=x", "kind=y"]
    for label in (0, 2, 5):
        inside = labels == label
        for feature in ("a", "b", "kind=x", "kind=y"):
            values = (X["kind"] == feature[5:]).astype(float).to_numpy() if feature.startswith("kind=") \
                else X[feature].to_numpy(dtype=float)
            row = prof.loc[(label, feature)]
            assert row["effect_size"] == pytest.approx(personas.effect_size(values[inside], values[~inside]),
                                                       abs=1e-12)
            assert row["mean"] == pytest.approx(np.nanmean(values[inside]), rel=1e-12)
            assert row["rest_mean"] == pytest.approx(np.nanmean(values[~inside]), rel=1e-12)
            assert row["overall_mean"] == pytest.approx(np.nanmean(values), rel=1e-12)
        assert np.isnan(prof.loc[(label, "gone"), "effect_size"])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_median_imputer_matches_sklearn(dtype):
    from sklearn.impute import SimpleImputer

    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(1001, 4)).astype(dtype), columns=list("abcd"))
    X.loc[rng.random(1001) < 0.2, "a"] = np.nan  # an even number of values left, most likely
    X["c"] = np.nan
    X.loc[:500, "d"] = np.nan
    ours = personas._MedianImputer(strategy="median", keep_empty_features=True).fit(X)
    theirs = SimpleImputer(strategy="median", keep_empty_features=True).fit(X)
    assert ours.statistics_.dtype == theirs.statistics_.dtype
    np.testing.assert_array_equal(ours.statistics_, theirs.statistics_)
    np.testing.assert_array_equal(ours.transform(X), theirs.transform(X))
    assert list(ours.get_feature_names_out()) == list("abcd")
