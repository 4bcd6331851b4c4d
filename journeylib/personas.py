"""Personas: per-customer features, a persona model (a scikit-learn estimator), profiles.

``customer_features`` aggregates events, survey and attributes per customer in Ibis (the
work runs where the data lives); only per-customer rows come back (as Arrow: each
customer's kinds of events as a list, counted in numpy). The goal and outcome columns are
never features: they are what personas are compared by (``persona_cards``).
``PersonaModel`` clusters that table with k-means behind a ColumnTransformer, chooses the
number of personas among reproducible groupings with no persona under 2% (its docstring
states the rule), measures how stable the grouping is, and names each persona from the
traits that set it apart most (effect sizes), in the journey's own words: people read
"Application declined · quick journeys", not "Cluster 2".
``find_personas`` fits on a seeded sample of customers when there are more than
``journeylib.persona_sampling.max_cluster_customers()`` and then assigns everyone.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.metrics import adjusted_rand_score, pairwise_distances, silhouette_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits
from scipy.stats import skew

from journeylib.engine import execute, execute_arrow
from journeylib.journey import goal_columns, is_outcome_column
from journeylib.schema import EVENT_COLUMNS, JourneyData
from journeylib.words import looks_like_code, readable

TOP_TOUCHPOINTS = 25
TOP_RATINGS = 25  # per-touchpoint ratings kept as features, the most answered first
MIN_RATED_SHARE = 0.2  # a touchpoint's rating is a feature when this share of respondents gave one
ATTRIBUTE_CHECK_CUSTOMERS = 2000  # customers whose events show which event columns are attributes
MAX_CHANGING = 0.05  # an event column is a customer attribute when it changes in fewer journeys
MAX_CHANNELS = 12
MAX_CATEGORIES = 30  # attribute columns with more distinct values are identifiers, not traits
EFFECT_CAP = 10.0  # |effect size| cap when a trait has no spread at all (e.g. all 0 vs all 1)
TOP_TRAITS = 5
DUPLICATE_CORRELATION = 0.9  # numeric features this correlated with a kept one are left out
CLIP = 4.0  # scaled numbers beyond this many standard deviations are held there (outliers)
STABLE = 0.8  # a grouping at least this reproducible (adjusted Rand index) is trusted
STABILITY_ROWS = 3000  # customers each bootstrap refit is drawn from and compared on
# Threads for scikit-learn's k-means and BLAS here: the fits are many small ones, where
# OpenMP's threads cost more than they save (seven k-means fits of 10,000 x 30: 6.6 s with
# two threads, 0.8 s with one, on this project's busy 2-core machine).
FIT_THREADS = 1

# Feature name prefixes; profiles and names rely on them.
CHANNEL = "channel: "
TOUCHPOINT = "touchpoint: "
SCORE = "score: "
RATING = "rating: "
ATTR = "attr: "
ENTRY = "entry_channel="


# ----------------------------------------------------------------------------------------
# Features


def _real(value: ibis.Value) -> ibis.Value:
    # NaN instead of NULL, so the columns come back as plain float32 arrays.
    return ibis.coalesce(value.cast("float32"), _NAN)


def _text_or_missing(value: ibis.Value) -> ibis.Value:
    return ibis.coalesce(value.cast("string"), _MISSING)


_NAN = ibis.literal(float("nan"), type="float32")
_MISSING = ibis.literal("\x00", type="string")  # stands for NULL on the way back (see _real)


def _supports_ordered_aggregates(table: ibis.Table) -> bool:
    try:
        return table._find_backend().name == "duckdb"
    except Exception:  # only in-memory tables: they run on the default (DuckDB) engine
        return True


# Event kinds: one code per distinct (touchpoint, stage, channel) of the events. Each
# customer's codes come back as one list, and the counts per touchpoint and channel, the
# distinct touchpoints, goal events and furthest stage are computed from those lists in
# numpy: one grouped pass over the events instead of ~45 conditional sums and a
# count-distinct per customer, plus the two vocabulary queries (3-4x less CPU at 10M events).
_KIND_KEYS = ("touchpoint", "stage", "channel")
_BLOCK_CELLS = 1 << 22  # customers x columns counted at once (bounded scratch memory)


def _event_kinds(ev: ibis.Table) -> pd.DataFrame:
    """Distinct (touchpoint, stage[, channel]) of the events with their event counts and a code."""
    keys = [k for k in _KIND_KEYS if k in ev.columns]
    kinds = execute(ev.group_by(keys).aggregate(_events=ev.count()))
    kinds = kinds.reset_index(drop=True)
    for k in keys:
        kinds[k] = kinds[k].astype(object).where(kinds[k].notna(), None)
    kinds["_code"] = np.arange(len(kinds), dtype=np.int16 if len(kinds) < 2**15 else np.int32)
    return kinds


def _with_kind_codes(ev: ibis.Table, kinds: pd.DataFrame) -> ibis.Table:
    """The events with the ``_code`` of their kind (a join with the small kinds table)."""
    keys = [k for k in _KIND_KEYS if k in ev.columns]
    arrays = {f"_k_{k}": pa.array(kinds[k].tolist(), type=pa.string()) for k in keys}
    arrays["_code"] = pa.array(kinds["_code"].to_numpy())
    table = ibis.memtable(pa.table(arrays))
    return ev.join(table, [ev[k].identical_to(table[f"_k_{k}"]) for k in keys])


def _segments(lists: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Flat values and per-row lengths of an Arrow list column (NULL lists are empty)."""
    lists = lists.combine_chunks() if isinstance(lists, pa.ChunkedArray) else lists
    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy().astype(np.int64)
    values = lists.flatten().to_numpy()
    return values, lengths


def _kind_blocks(codes: np.ndarray, lengths: np.ndarray, k: int):
    """(first row, last row + 1, counts) per block of rows: how many of each kind of event
    (0..k-1) every row's list holds, as a (k x rows) matrix of at most ``_BLOCK_CELLS`` cells."""
    n = len(lengths)
    ends = np.cumsum(lengths)
    block = max(1, _BLOCK_CELLS // max(k, 1))
    for r0 in range(0, n, block):
        r1 = min(n, r0 + block)
        e0, e1 = ends[r0] - lengths[r0], ends[r1 - 1]
        rows = np.repeat(np.arange(r1 - r0, dtype=np.int64), lengths[r0:r1])
        counts = np.bincount(codes[e0:e1] * (r1 - r0) + rows, minlength=k * (r1 - r0))
        yield r0, r1, counts.reshape(k, r1 - r0)


def _sum_rows(counts: np.ndarray, target: np.ndarray, width: int, out: np.ndarray) -> np.ndarray:
    """Rows of ``counts`` added up into ``out`` by ``target`` (0..width-1 per row; -1: left out)."""
    out[:] = 0
    for t in range(width):
        rows = np.flatnonzero(target == t)
        if len(rows) == 1:
            out[t] = counts[rows[0]]
        elif len(rows):
            out[t] = counts[rows].sum(axis=0)
    return out


def _goal_kinds(kinds: pd.DataFrame, goal) -> np.ndarray:
    """Which kinds of event are the goal itself (its stage, or its touchpoint): left out of
    every count, so personas are never told who converted."""
    if goal is None or goal.kind == "column":
        return np.zeros(len(kinds), dtype=bool)
    column = "stage" if goal.kind == "stage" else "touchpoint"
    if column not in kinds.columns:
        return np.zeros(len(kinds), dtype=bool)
    return np.asarray([v == goal.target for v in kinds[column]], dtype=bool)


def _stages_before_goal(stages: Sequence[str], goal) -> list[str]:
    """The stages the furthest-stage feature runs over: all of them, or with a stage goal
    only those before it (reaching the goal stage or a later one is the goal)."""
    if goal is not None and goal.kind == "stage" and goal.target in stages:
        return list(stages[: list(stages).index(goal.target)])
    return list(stages)


def _feature_columns(table: ibis.Table | None, goal, skip: Sequence[str] = ()) -> list[str]:
    """Columns of ``table`` that may describe a customer: numbers, text and yes/no, never the
    goal's column or an outcome (those are what personas are compared by)."""
    if table is None:
        return []
    out = []
    for c in table.columns:
        if c == "customer_id" or c in skip or c in goal_columns(goal) or is_outcome_column(c, goal):
            continue
        t = table[c].type()
        if t.is_numeric() or t.is_string() or t.is_boolean():
            out.append(c)
    return out


def _per_customer_columns(ev: ibis.Table, columns: Sequence[str]) -> list[str]:
    """The event columns that describe the customer rather than one event (case attributes
    such as a requested amount or a product): at most ``MAX_CHANGING`` of a seeded sample of
    ``ATTRIBUTE_CHECK_CUSTOMERS`` customers have more than one value in their events.
    Columns that change along a journey (who handled a step) describe events, not people."""
    from journeylib.persona_sampling import first_by_key

    if not columns:
        return []
    ids = ev.select(customer_id=ev.customer_id.cast("string")).distinct()
    picked = first_by_key(ids, ATTRIBUTE_CHECK_CUSTOMERS, seed=0).rename(_cid="customer_id")
    sub = ev.join(picked, ev.customer_id.cast("string") == picked._cid)
    # More than one value is min != max: a plain aggregate, where hundreds of count-distinct
    # aggregates (a 500-column export) make the engine build a hash table per column.
    per = sub.group_by("customer_id").aggregate(
        **{f"_c{i}": (sub[c].max() != sub[c].min()).fill_null(False) for i, c in enumerate(columns)})
    changing = execute(per.aggregate(**{f"_c{i}": per[f"_c{i}"].cast("float64").mean()
                                        for i in range(len(columns))}))
    return [c for i, c in enumerate(columns)
            if pd.notna(changing.iloc[0, i]) and float(changing.iloc[0, i]) <= MAX_CHANGING]


def _survey_vocabulary(sv: ibis.Table) -> tuple[list[str], list[str]]:
    """(stages, touchpoints) whose ratings become features: stages with any answer, and the
    ``TOP_RATINGS`` touchpoints rated by the most customers, each by at least
    ``MIN_RATED_SHARE`` of those who answered (a sparser rating would be mostly imputed)."""
    stages: list[str] = []
    touchpoints: list[str] = []
    rated = sv.filter(sv.score.notnull())
    population = int(execute(rated.customer_id.nunique()))
    if "stage" in sv.columns:
        got = execute(rated.filter(rated.stage.notnull()).select("stage").distinct())
        stages = [str(s) for s in got["stage"]]
    if "touchpoint" in sv.columns:
        t = rated.filter(rated.touchpoint.notnull())
        got = execute(t.group_by("touchpoint").aggregate(n=t.customer_id.nunique()))
        got = got[got["n"] >= MIN_RATED_SHARE * max(population, 1)]
        ranked = sorted(zip(got["touchpoint"].astype(str), got["n"]), key=lambda r: (-r[1], r[0]))
        touchpoints = [t for t, _ in ranked[:TOP_RATINGS]]
    return stages, touchpoints


def customer_features(data: JourneyData, *, touchpoints: Sequence[str] | None = None,
                      channels: Sequence[str] | None = None,
                      attributes: Sequence[str] | None = None,
                      ratings: Sequence[str] | None = None,
                      score_stages: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per customer (index ``customer_id``) of behaviour, feelings and attributes.

    The customers are those with events; in a survey-only dataset, those who answered.

    Behaviour, when there are events: ``events``, ``duration_days``,
    ``distinct_touchpoints``, ``furthest_stage`` (0-based position in ``data.stages``),
    ``channel: X`` (share of the customer's events), ``entry_channel`` (channel of the
    first event: how they came in), ``touchpoint: X`` (event counts, for the 25 touchpoints
    most customers meet). Without events these columns are absent, not zero.

    Feelings, with a survey: ``score_mean``, ``score: <stage>`` (mean per stage, for the
    stages answered at all) and ``rating: <touchpoint>`` (mean per touchpoint, for the
    touchpoints at least 20% of customers rated), NaN when not answered (the model
    imputes). Attributes: ``attr: <column>`` for usable columns of ``data.customers`` and
    event columns holding one value per customer (case attributes).

    Never features, whatever their kind: the goal (:attr:`JourneyData.goal`) and outcomes.
    Events at a goal touchpoint or in a goal stage are left out of every count, with a stage
    goal ``furthest_stage`` runs over the stages before it (and is absent when the goal is
    the first stage), and the goal's column, the survey's NPS and any outcome column
    (:func:`journeylib.journey.is_outcome_column`) are not attributes. They are what
    personas are compared by (:func:`persona_cards`). Numbers are float32.

    ``touchpoints``, ``channels``, ``ratings`` and ``score_stages`` fix the vocabulary of
    those columns (e.g. to the one a model was fitted with). ``attributes`` likewise fixes
    the ``attr: X`` columns, skipping the rule that leaves out text attributes with one
    value or with more than 30 (an identifier): a chunk of customers may have one region
    only. Computing features a chunk of customers at a time with the vocabulary of the whole
    gives the same rows as computing them at once.
    """
    goal = data.goal
    stages = list(data.stages)
    with_events = data.has_events
    # With a given vocabulary every column is kept, so chunks of customers match the whole.
    fixed = any(v is not None for v in (touchpoints, channels, attributes, ratings, score_stages))
    if not with_events and data.survey is None:
        raise ValueError("personas need touchpoint events or survey answers; this dataset has neither")
    ev = data.events
    has_channel = with_events and "channel" in ev.columns

    # Event columns that are customer attributes come back with the per-customer row.
    customer_attrs = _feature_columns(data.customers, goal)
    event_attrs: list[str] = []
    if with_events:
        extra = _feature_columns(ev, goal, skip=EVENT_COLUMNS)
        extra = [c for c in extra if c not in customer_attrs]
        if attributes is not None:
            event_attrs = [c for c in extra if c in {str(a) for a in attributes}]
        else:
            event_attrs = _per_customer_columns(ev, extra)

    if with_events:
        # One grouped pass over the events: each customer's event kinds as a list of codes,
        # first and last time, and the entry channel as an ordered first() where the
        # backend has ordered aggregates.
        kinds = _event_kinds(ev)
        coded = _with_kind_codes(ev, kinds)
        metrics = {
            "_first": coded.timestamp.min(),
            "_last": coded.timestamp.max(),
            "_codes": coded._code.collect(),
        }
        # A case attribute's value; the lowest, for the few journeys where it changes.
        metrics.update({ATTR + c: coded[c].min() for c in event_attrs})
        # The channel a journey starts in (the acquisition channel), ties broken by file order.
        order = [coded.timestamp] + ([coded.seq] if "seq" in ev.columns else [])
        ordered_first = has_channel and _supports_ordered_aggregates(ev)
        if ordered_first:
            metrics["entry_channel"] = coded.channel.first(order_by=order)
        per = coded.group_by("customer_id").aggregate(**metrics)
        if has_channel and not ordered_first:
            # Backends without ordered aggregates (Spark): the first event by a window instead.
            ev_order = [ev.timestamp] + ([ev.seq] if "seq" in ev.columns else [])
            w = ibis.window(group_by=ev.customer_id, order_by=ev_order)
            first = ev.mutate(_rn=ibis.row_number().over(w))
            first = first.filter(first._rn == 0).select("customer_id", entry_channel=first.channel)
            per = per.join(first, "customer_id")
        out = {
            "customer_id": per.customer_id.cast("string"),
            "duration_days": _real((per._last.epoch_seconds() - per._first.epoch_seconds()) / 86400.0),
            "_codes": per._codes,
        }
        if has_channel:
            out["entry_channel"] = _text_or_missing(per.entry_channel)
        out.update({ATTR + c: per[ATTR + c] for c in event_attrs})
        per = per.select(**out)
    else:
        kinds = None
        sv = data.survey
        per = sv.filter(sv.customer_id.notnull()).select(customer_id=sv.customer_id.cast("string")).distinct()

    survey_cols: list[str] = []
    if data.survey is not None:
        sv = data.survey
        sv = sv.filter(sv.customer_id.notnull())
        if ratings is None or score_stages is None:
            found_stages, found_ratings = _survey_vocabulary(sv)
            score_stages = [s for s in stages if s in found_stages] if score_stages is None else score_stages
            ratings = found_ratings if ratings is None else ratings
        smetrics = {"score_mean": sv.score.mean()}
        if "stage" in sv.columns:
            for s in score_stages:
                smetrics[SCORE + str(s)] = sv.score.mean(where=sv.stage == str(s))
        if "touchpoint" in sv.columns:
            for t in ratings:
                smetrics[RATING + str(t)] = sv.score.mean(where=sv.touchpoint == str(t))
        sagg = sv.group_by(_sid=sv.customer_id.cast("string")).aggregate(**smetrics)
        per = per.left_join(sagg, per.customer_id == sagg._sid)
        per = per.select(*[c for c in per.columns if c not in smetrics and c != "_sid"],
                         **{c: _real(per[c]) for c in smetrics})
        survey_cols = list(smetrics)

    if attributes is not None:
        wanted = {str(a) for a in attributes}
        customer_attrs = [c for c in customer_attrs if c in wanted]
    if customer_attrs:
        cu = data.customers
        cu = cu.filter(cu.customer_id.notnull()).distinct(on="customer_id", keep="first")
        values = {ATTR + c: cu[c] for c in customer_attrs}
        cu = cu.select(_cid=cu.customer_id.cast("string"), **values)
        per = per.left_join(cu, per.customer_id == cu._cid)
        per = per.select(*[c for c in per.columns if c not in values and c != "_cid"], **values)
    attr_cols = [ATTR + c for c in customer_attrs + event_attrs]
    if attr_cols:
        per = per.mutate(**{c: _text_or_missing(per[c]) if per[c].type().is_string()
                            else _real(per[c].ifelse(1, 0) if per[c].type().is_boolean() else per[c])
                            for c in attr_cols})

    table = execute_arrow(per.order_by("customer_id"))
    numbers: dict[str, np.ndarray] = {}
    texts: dict[str, tuple[int, np.ndarray]] = {}  # column -> (position, values)
    if with_events:
        numbers, entry = _event_numbers(table, kinds, stages, goal, has_channel, touchpoints, channels)
        if not fixed and "furthest_stage" in numbers and np.isnan(numbers["furthest_stage"]).all():
            del numbers["furthest_stage"]  # no event sits at a stage: nothing to say
            entry = None if entry is None else entry - 1
        if entry is not None:
            values, n_distinct = _text(table.column("entry_channel"))
            if fixed or n_distinct >= 1:
                texts["entry_channel"] = (entry, values)
    for c in survey_cols:
        numbers[c] = _float32(table.column(c))
    for c in attr_cols:
        column = table.column(c)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            values, n_distinct = _text(column)
            if not fixed and (n_distinct > MAX_CATEGORIES or n_distinct < 2):
                continue
            texts[c] = (len(numbers) + len(texts), values)
        else:
            values = _float32(column)
            if not fixed and not _describes_people(values):
                continue
            numbers[c] = values
    ids = pd.Index(table.column("customer_id").to_pandas().astype(str), name="customer_id")
    del table
    block = np.empty((len(numbers), len(ids)), dtype=np.float32)  # one contiguous row per column
    for i, values in enumerate(numbers.values()):
        block[i] = values
    frame = pd.DataFrame(block.T, index=ids, columns=list(numbers), copy=False)
    for col, (position, values) in texts.items():
        frame.insert(position, col, pd.Series(values, index=ids, dtype=object))
    return frame


def _describes_people(values: np.ndarray) -> bool:
    """Whether a numeric attribute can tell customers apart as people: not one value for
    everyone (or none), and not a whole number of its own for nearly every customer (an
    account or case number, which has no meaning as a quantity)."""
    present = values[~np.isnan(values)]
    distinct = np.unique(present)
    if distinct.size < 2:
        return False
    whole = bool(np.all(distinct == np.round(distinct)))
    return not (whole and len(present) >= 20 and distinct.size >= 0.95 * len(present))


def _event_numbers(table: pa.Table, kinds: pd.DataFrame, stages: list[str], goal, has_channel: bool,
                   touchpoints: Sequence[str] | None, channels: Sequence[str] | None):
    """The behaviour columns from each customer's list of event kinds, counted in numpy;
    and where ``entry_channel`` goes among them (None without channels)."""
    codes, lengths = _segments(table.column("_codes"))
    codes = codes.astype(np.int64, copy=False)
    n, n_kinds = len(lengths), len(kinds)

    # What each kind of event stands for; per customer, its kinds counted a block at a time.
    # Kinds that are the goal count as nothing (-1) in every vocabulary.
    is_goal = _goal_kinds(kinds, goal)
    kept_tp = pd.Series([None if g else t for t, g in zip(kinds["touchpoint"], is_goal)], dtype=object)
    tp_names = sorted({t for t in kept_tp if t is not None})
    kind_tp = _positions(kept_tp, tp_names)
    depth = _stages_before_goal(stages, goal)
    stage_of_kind = np.where(is_goal, -1, _positions(kinds["stage"], depth)) if "stage" in kinds else \
        np.full(n_kinds, -1)
    if not has_channel:
        channels = []
    elif channels is None:
        per_channel = kinds[kinds["channel"].notna()].groupby("channel", sort=False)["_events"].sum()
        channels = sorted(per_channel.index, key=lambda c: (-per_channel[c], c))[:MAX_CHANNELS]
    channels = [str(c) for c in channels]
    kind_ch = _positions(kinds["channel"], channels) if has_channel else np.full(n_kinds, -1)

    distinct = np.zeros(n, dtype=np.float32)
    furthest = np.zeros(n, dtype=np.float32)
    goal_events = np.zeros(n, dtype=np.float32)
    channel_counts = np.zeros((len(channels), n), dtype=np.float32)
    reach = np.zeros(len(tp_names), dtype=np.int64)  # customers per touchpoint
    fixed = touchpoints is not None  # a given vocabulary is counted in the same pass
    if fixed:
        touchpoints = [str(t) for t in touchpoints]
        kind_vocab = _positions(kept_tp, touchpoints)
        touchpoint_counts = np.zeros((len(touchpoints), n), dtype=np.float32)
    for r0, r1, counts in _kind_blocks(codes, lengths, n_kinds):
        met = _sum_rows(counts, kind_tp, len(tp_names), np.empty((len(tp_names), r1 - r0), np.int64)) > 0
        distinct[r0:r1] = met.sum(axis=0)
        reach += met.sum(axis=1)
        furthest[r0:r1] = np.where(counts > 0, stage_of_kind[:, None], -1).max(axis=0, initial=-1)
        goal_events[r0:r1] = counts[is_goal].sum(axis=0)
        _sum_rows(counts, kind_ch, len(channels), channel_counts[:, r0:r1])
        if fixed:
            _sum_rows(counts, kind_vocab, len(touchpoints), touchpoint_counts[:, r0:r1])
    furthest[furthest < 0] = np.nan

    if not fixed:  # the touchpoints most customers meet, then a second pass to count them
        ranked = sorted(range(len(tp_names)), key=lambda i: (-reach[i], tp_names[i]))
        touchpoints = [tp_names[i] for i in ranked[:TOP_TOUCHPOINTS]]
        kind_vocab = _positions(kept_tp, touchpoints)
        touchpoint_counts = np.zeros((len(touchpoints), n), dtype=np.float32)
        for r0, r1, counts in _kind_blocks(codes, lengths, n_kinds):
            _sum_rows(counts, kind_vocab, len(touchpoints), touchpoint_counts[:, r0:r1])
    del codes

    numbers = {
        "events": lengths.astype(np.float32) - goal_events,
        "duration_days": _float32(table.column("duration_days")),
        "distinct_touchpoints": distinct,
    }
    if depth:
        numbers["furthest_stage"] = furthest
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = (channel_counts / lengths.astype(np.float64)).astype(np.float32)  # float64 division, as SQL
    numbers.update({CHANNEL + c: shares[i] for i, c in enumerate(channels)})
    entry = len(numbers) if has_channel else None
    numbers.update({TOUCHPOINT + t: touchpoint_counts[i] for i, t in enumerate(touchpoints)})
    return numbers, entry


def _positions(values: pd.Series, names: Sequence[str]) -> np.ndarray:
    """Index of each value in ``names`` (-1: not there, or missing)."""
    where = {name: i for i, name in enumerate(names)}
    return np.asarray([where.get(v, -1) if v is not None else -1 for v in values], dtype=np.int64)


def _float32(column: pa.ChunkedArray) -> np.ndarray:
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not pa.types.is_float32(column.type):
        column = column.cast(pa.float32())
    return column.to_numpy(zero_copy_only=False)


def _text(column: pa.ChunkedArray) -> tuple[np.ndarray, int]:
    """Text column as Python objects (``None`` for missing), and how many distinct values."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    encoded = pc.dictionary_encode(column)
    words = [None if w is None or w == "\x00" else w for w in encoded.dictionary.to_pylist()]
    lookup = np.asarray(words + [None], dtype=object)
    index = pc.fill_null(encoded.indices, len(words)).to_numpy()
    return lookup[index], sum(w is not None for w in words)


# ----------------------------------------------------------------------------------------
# Model


def _as_object(frame):
    """Categorical columns as plain objects with NaN for missing (what the encoder expects)."""
    frame = pd.DataFrame(frame).astype(object)
    return frame.where(frame.notna(), np.nan)


def _split_columns(X: pd.DataFrame) -> tuple[list[str], list[str]]:
    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])]
    numeric += [c for c in X.columns if pd.api.types.is_bool_dtype(X[c])]
    categorical = [c for c in X.columns if c not in numeric]
    return numeric, categorical


def _skewed(X: pd.DataFrame, numeric: list[str]) -> list[str]:
    """Non-negative, right-skewed columns (counts, days, spend): log1p tames their long tail."""
    out = []
    for c in numeric:
        v = X[c].to_numpy(dtype=float)
        v = v[~np.isnan(v)]
        if len(v) > 2 and v.min() >= 0 and v.std() > 0 and skew(v) > 1.0:
            out.append(c)
    return out


def _near_duplicates(X: pd.DataFrame, numeric: list[str], skewed: list[str], limit: float,
                     rng: np.random.Generator, max_rows: int = 20000) -> list[str]:
    """Numeric columns almost perfectly correlated with an earlier kept one.

    A near-copy (orders vs order confirmations vs deliveries) would otherwise count twice
    in the distance k-means uses and pull personas apart along that one theme.
    """
    if len(numeric) < 2:
        return []
    rows = X if len(X) <= max_rows else X.iloc[np.sort(rng.choice(len(X), max_rows, replace=False))]
    values = rows[numeric].astype("float64")
    for c in skewed:
        values[c] = np.log1p(values[c])
    corr = values.corr().abs().to_numpy()
    kept: list[int] = []
    dropped = []
    for i, c in enumerate(numeric):
        if any(np.isfinite(corr[i, j]) and corr[i, j] > limit for j in kept):
            dropped.append(c)
        else:
            kept.append(i)
    return dropped


class _MedianImputer(SimpleImputer):
    """``SimpleImputer(strategy="median")`` that finds the medians with ``np.nanmedian`` (a
    partition) instead of sorting a masked copy of every column: the same statistics, a
    fraction of the time on a million customers."""

    def fit(self, X, y=None):
        values = np.asarray(X)
        if self.strategy != "median" or values.ndim != 2 or values.dtype.kind != "f" or not len(values):
            return super().fit(X, y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: NaN, as in a full fit
            medians = np.nanmedian(values, axis=0, keepdims=True).astype(values.dtype)
        # Fitted on one row holding the medians: the statistics, names and checks of a full fit.
        row = pd.DataFrame(medians, columns=X.columns) if isinstance(X, pd.DataFrame) else medians
        return super().fit(row, y)


def _clip(values):
    """Scaled numbers held within +/-CLIP: a few extreme customers (one ticket with fifty
    steps) would otherwise pull a k-means centre to themselves, a persona of a handful."""
    return np.clip(values, -CLIP, CLIP)


def _preprocessor(numeric: list[str], categorical: list[str], skewed: list[str] = ()) -> ColumnTransformer:
    parts = []
    skewed = [c for c in numeric if c in set(skewed)]
    numeric = [c for c in numeric if c not in set(skewed)]
    if skewed:
        parts.append(("skewed", Pipeline([
            ("log", FunctionTransformer(np.log1p, feature_names_out="one-to-one")),
            ("impute", _MedianImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("clip", FunctionTransformer(_clip, feature_names_out="one-to-one")),
        ]), skewed))
    if numeric:
        parts.append(("numeric", Pipeline([
            ("impute", _MedianImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("clip", FunctionTransformer(_clip, feature_names_out="one-to-one")),
        ]), numeric))
    if categorical:
        parts.append(("categorical", Pipeline([
            ("as_object", FunctionTransformer(_as_object, feature_names_out="one-to-one")),
            ("impute", SimpleImputer(strategy="constant", fill_value="(missing)", keep_empty_features=True)),
            # float32 like the numeric parts, so the stacked matrix is never float64.
            ("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32)),
        ]), categorical))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)


class PersonaModel(ClusterMixin, BaseEstimator):
    """k-means personas over a per-customer feature table, with readable names.

    How many: ``n_personas="auto"`` tries every k in ``k_range`` (inclusive). A k is
    eligible when every persona holds at least ``min_share`` of the customers and the
    grouping is reproducible: its stability (below) is at least ``STABLE`` (0.8). Among
    the eligible counts the best separated one wins (highest silhouette; ties go to the
    smaller k); when no count is reproducible, the most stable one. A whole number is
    used as given, and then too no persona is left under ``min_share`` of the customers
    unless k personas cannot all be that large (k * min_share > 1).

    Stability: the adjusted Rand index (:func:`sklearn.metrics.adjusted_rand_score`)
    between the grouping and ``stability_runs`` k-means fits on seeded bootstrap samples of
    the customers, compared on the same customers; 1 means the same personas come back every
    time, 0 no more agreement than chance. ``persona_stability_`` is, per persona, the mean
    over those refits of its best Jaccard overlap with a refitted persona (Hennig's
    clusterwise stability): how surely that one persona comes back.

    On large tables the candidates are fitted on a random sample of
    ``2 * silhouette_sample`` customers, the silhouette is scored on ``silhouette_sample``
    of them, and the chosen k is then fitted on everyone (MiniBatchKMeans above
    ``minibatch_above`` customers). Labels are ordered by persona size, largest first.

    Learned: ``labels_``, ``n_personas_``, ``silhouette_``, ``silhouette_curve_`` (k ->
    score), ``stability_``, ``stability_curve_`` (k -> stability), ``persona_stability_``,
    ``min_share_curve_`` (k -> smallest persona's share), ``criterion_`` (how k was
    chosen, in words), ``names_`` (per label), ``shares_`` (per label), ``profiles_``,
    ``pipeline_``, ``feature_names_in_``; ``feature_names_`` are the ColumnTransformer's
    outputs, what k-means sees.

    ``journey`` (a :class:`~journeylib.journey.JourneyModel`, optional) gives the words
    names and traits use: its stage order (the furthest-stage feature runs over the stages
    before a stage goal), its stage prefixes (``A_DECLINED`` -> "Application declined")
    and the goal's name.
    """

    def __init__(self, n_personas="auto", random_state=0, k_range=(2, 8), silhouette_sample=3000,
                 minibatch_above=50000, min_share=0.02, stability_runs=5, journey=None):
        self.n_personas = n_personas
        self.random_state = random_state
        self.k_range = k_range
        self.silhouette_sample = silhouette_sample
        self.minibatch_above = minibatch_above
        self.min_share = min_share
        self.stability_runs = stability_runs
        self.journey = journey

    # -- fitting ----------------------------------------------------------------------------

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing answers are imputed
        return tags

    def _check_X(self, X, reset: bool = True) -> pd.DataFrame:
        """A feature table as a DataFrame; arrays are checked as scikit-learn checks them
        (2-D, dense, finite or NaN), and ``n_features_in_`` is set on fit."""
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            return X
        arr = validate_data(self, X, reset=reset, ensure_all_finite="allow-nan", dtype=None,
                            ensure_min_features=1)
        return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])

    def _candidate_ks(self, n: int) -> list[int]:
        if self.n_personas == "auto":
            lo, hi = self.k_range
            lo, hi = max(2, int(lo)), min(int(hi), n - 1)
            if lo > hi:
                raise ValueError(f"need more customers to choose personas automatically: {n} customers "
                                 f"cannot be split into {self.k_range[0]}-{self.k_range[1]} personas")
            return list(range(lo, hi + 1))
        k = self.n_personas
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise ValueError(f"n_personas must be 'auto' or a whole number, got {k!r}")
        if not 2 <= k <= n:
            raise ValueError(f"n_personas must be between 2 and the number of customers ({n}), got {k}")
        return [int(k)]

    def _floor(self, k: int) -> float:
        """The smallest share a persona may have with k personas (0 when k are too many)."""
        share = float(self.min_share)
        return share if k * share <= 1.0 else 0.0

    def _kmeans(self, k: int, n: int, init="k-means++", n_init: int = 4, seed: int | None = None):
        n_init = 1 if not isinstance(init, str) else n_init
        seed = self.random_state if seed is None else seed
        if n > self.minibatch_above:
            return MiniBatchKMeans(n_clusters=k, init=init, n_init=n_init, batch_size=4096, random_state=seed)
        return KMeans(n_clusters=k, init=init, n_init=n_init, random_state=seed)

    def _silhouette(self, Xt: np.ndarray, labels: np.ndarray, distances=None) -> float:
        """Silhouette of ``labels``; with ``distances`` (rows ``distances[0]``) on that sample."""
        if distances is not None:
            rows, matrix = distances
            labels = labels[rows]
        n_labels = len(np.unique(labels))
        if n_labels < 2 or n_labels >= len(labels):
            return float("nan")
        if distances is not None:
            return float(silhouette_score(matrix, labels, metric="precomputed"))
        sample = self.silhouette_sample if len(Xt) > self.silhouette_sample else None
        return float(silhouette_score(Xt, labels, sample_size=sample, random_state=self.random_state))

    def _sample_distances(self, Xs: np.ndarray):
        """Pairwise distances of one random sample, shared by every candidate k.

        Scoring all k on the same customers is fairer, and the distances are the costly part
        of a silhouette, so they are computed once rather than once per k.
        """
        size = min(int(self.silhouette_sample), len(Xs))
        rng = np.random.default_rng(self.random_state)
        rows = np.sort(rng.choice(len(Xs), size, replace=False)) if size < len(Xs) else np.arange(len(Xs))
        return rows, pairwise_distances(Xs[rows], n_jobs=1)

    def _stability(self, Xs: np.ndarray, labels: np.ndarray, k: int) -> tuple[float, np.ndarray]:
        """(adjusted Rand index, per-label Jaccard) of ``labels`` against k-means refitted on
        seeded bootstrap samples of ``Xs``, on up to ``STABILITY_ROWS`` customers of it."""
        runs = int(self.stability_runs)
        if runs < 1 or len(Xs) < 2 * k:
            return float("nan"), np.full(k, np.nan)
        rng = np.random.default_rng([int(self.random_state), k])
        n = len(Xs)
        rows = np.sort(rng.choice(n, STABILITY_ROWS, replace=False)) if n > STABILITY_ROWS else np.arange(n)
        base = labels[rows]
        size = min(n, STABILITY_ROWS)
        aris, jaccard = [], np.zeros((runs, k))
        for run in range(runs):
            boot = rng.integers(0, n, size)
            refit = KMeans(n_clusters=k, n_init=1, random_state=int(rng.integers(2**31 - 1))).fit(Xs[boot])
            again = refit.predict(Xs[rows])
            aris.append(adjusted_rand_score(base, again))
            table = np.bincount(base * k + again, minlength=k * k).reshape(k, k).astype(float)
            union = table.sum(axis=1, keepdims=True) + table.sum(axis=0, keepdims=True) - table
            with np.errstate(divide="ignore", invalid="ignore"):
                jaccard[run] = np.nan_to_num(table / union).max(axis=1)
        return float(np.mean(aris)), jaccard.mean(axis=0)

    def _keep_floor(self, model, X: np.ndarray, k: int):
        """Refit ``model`` until no persona is under the floor: the centre of the smallest
        persona moves into the largest one (split in two), as often as there are personas."""
        floor = self._floor(k)
        labels = model.predict(X)
        for _ in range(k):
            counts = np.bincount(labels, minlength=k)
            small = int(np.argmin(counts))
            if counts[small] >= floor * len(X):
                break
            big = int(np.argmax(counts))
            halves = KMeans(n_clusters=2, n_init=1, random_state=self.random_state).fit(X[labels == big])
            centres = np.asarray(model.cluster_centers_, dtype=X.dtype).copy()
            centres[big], centres[small] = halves.cluster_centers_
            model = self._kmeans(k, len(X), init=centres).fit(X)
            labels = model.predict(X)
        return model, labels

    def fit(self, X, y=None):
        """Choose k (if "auto"), cluster, then name and profile the personas."""
        with threadpool_limits(limits=FIT_THREADS), warnings.catch_warnings():
            # A candidate k above the number of distinct customers (event logs repeat the same
            # journey) finds fewer groups; it scores poorly and is not chosen, so no warning.
            warnings.simplefilter("ignore", ConvergenceWarning)
            return self._fit(self._check_X(X, reset=True))

    def _fit(self, X: pd.DataFrame):
        n = len(X)
        if n < 3:
            raise ValueError(f"need at least 3 customers to find personas, got n_samples={n}")
        if X.shape[1] == 0:
            raise ValueError("no customer features to cluster on")
        numeric, categorical = _split_columns(X)
        rng = np.random.default_rng(self.random_state)
        skewed = _skewed(X, numeric)
        dropped = _near_duplicates(X, numeric, skewed, DUPLICATE_CORRELATION, rng)
        numeric = [c for c in numeric if c not in dropped]
        prep = _preprocessor(numeric, categorical, skewed)
        # float32 halves the cost of k-means and of the silhouette's pairwise distances.
        Xt = np.asarray(prep.fit_transform(X), dtype=np.float32)

        ks = self._candidate_ks(n)
        fit_size = 2 * int(self.silhouette_sample)
        sampled = n > fit_size
        idx = np.sort(rng.choice(n, fit_size, replace=False)) if sampled else np.arange(n)
        Xs = Xt[idx]
        curve: dict[int, float] = {}
        stable: dict[int, float] = {}
        smallest: dict[int, float] = {}
        models, grouped, overlaps = {}, {}, {}
        distances = self._sample_distances(Xs) if len(ks) > 1 else None
        for k in ks:
            if k >= len(Xs):
                continue
            # On a sample only the choice of k rides on these fits; the final one refines.
            model = self._kmeans(k, len(Xs), n_init=2 if sampled else 4).fit(Xs)
            model, labels = self._keep_floor(model, Xs, k)
            models[k], grouped[k] = model, labels
            smallest[k] = float(np.bincount(labels, minlength=k).min() / len(Xs))
            if len(ks) > 1:
                curve[k] = self._silhouette(Xs, labels, distances)
                stable[k], overlaps[k] = self._stability(Xs, labels, k)
        if not models:  # a fixed k on a tiny table
            k = ks[0]
            criterion = f"{k} personas, as asked"
            final = self._kmeans(k, n).fit(Xt)
        else:
            k, criterion = self._choose(ks, curve, stable, smallest) if len(ks) > 1 else \
                (ks[0], f"{ks[0]} personas, as asked")
            final = models[k] if not sampled else self._kmeans(k, n, init=models[k].cluster_centers_).fit(Xt)
        final, raw = self._keep_floor(final, Xt, k)

        # Order personas by size so label 0 is the largest (ties: by k-means index).
        counts = np.bincount(raw, minlength=k)
        order = np.lexsort((np.arange(k), -counts))
        perm = np.empty(k, dtype=np.int64)
        perm[order] = np.arange(k)
        labels = perm[raw]

        self.pipeline_ = Pipeline([("prep", prep), ("cluster", final)])
        self.label_order_ = perm
        self.labels_ = labels
        self.n_personas_ = k
        self.criterion_ = criterion
        self.silhouette_curve_ = {int(kk): float(s) for kk, s in curve.items()}
        self.stability_curve_ = {int(kk): float(s) for kk, s in stable.items()}
        self.min_share_curve_ = {int(kk): float(s) for kk, s in smallest.items()}
        self.silhouette_ = curve.get(k, self._silhouette(Xt, labels) if n <= fit_size else float("nan"))
        if not sampled and k in overlaps and np.array_equal(raw, grouped[k]):
            # The same customers and grouping as the candidate: the same seeded refits.
            self.stability_, self.persona_stability_ = stable[k], np.empty(k)
            self.persona_stability_[perm] = overlaps[k]
        else:
            self.stability_, self.persona_stability_ = self._stability(Xt, labels, k)
        self.shares_ = np.bincount(labels, minlength=k) / n
        self.dropped_features_ = list(dropped)
        profiles = persona_profiles(X, labels, self.journey)
        self.names_ = name_personas(profiles, k, self.journey)
        names = np.asarray(self.names_, dtype=object)
        profiles.insert(0, "persona", names[profiles["label"].to_numpy()])
        self.profiles_ = profiles
        return self

    def _choose(self, ks, curve, stable, smallest) -> tuple[int, str]:
        """The count of personas by the rule of the class docstring, and that rule in words."""
        tried = [k for k in ks if k in curve]
        big = [k for k in tried if smallest[k] >= self._floor(k) - 1e-12]
        pool = big or tried
        eligible = [k for k in pool if np.isfinite(stable.get(k, np.nan)) and stable[k] >= STABLE]
        floor = f"every persona at least {self.min_share:.0%} of customers"
        if eligible:
            scored = [k for k in eligible if np.isfinite(curve[k])] or eligible
            k = max(scored, key=lambda kk: (np.nan_to_num(curve[kk], nan=-1.0), -kk))
            return k, (f"{k} personas: the best separated grouping (silhouette {curve[k]:.2f}) among those "
                       f"from {tried[0]} to {tried[-1]} that come back on resampled customers (stability at "
                       f"least {STABLE:.1f}) with {floor}")
        finite = [k for k in pool if np.isfinite(stable.get(k, np.nan))]
        if finite:
            k = max(finite, key=lambda kk: (stable[kk], -kk))
            return k, (f"{k} personas: no grouping from {tried[0]} to {tried[-1]} comes back reliably on "
                       f"resampled customers (stability {STABLE:.1f} or more); this is the most stable one "
                       f"({stable[k]:.2f}) with {floor}")
        k = max(pool, key=lambda kk: (np.nan_to_num(curve[kk], nan=-1.0), -kk))
        return k, f"{k} personas: the best separated grouping from {tried[0]} to {tried[-1]}"

    def predict(self, X):
        """Persona label (index into ``names_``) of each row of a feature table."""
        check_is_fitted(self, "pipeline_")
        with threadpool_limits(limits=FIT_THREADS):
            return self.label_order_[self.pipeline_.named_steps["cluster"].predict(self.transform_features(X))]

    def transform_features(self, X) -> np.ndarray:
        """The scaled, encoded matrix the clustering sees."""
        check_is_fitted(self, "pipeline_")
        return np.asarray(self.pipeline_.named_steps["prep"].transform(self._check_X(X, reset=False)),
                          dtype=np.float32)

    @property
    def feature_names_(self) -> list[str]:
        """The inputs the clustering sees (the ColumnTransformer's output names)."""
        check_is_fitted(self, "pipeline_")
        return [str(f) for f in self.pipeline_.named_steps["prep"].get_feature_names_out()]


# ----------------------------------------------------------------------------------------
# Profiles


def _indicator_frame(X: pd.DataFrame) -> pd.DataFrame:
    """Numeric columns as they are, categorical ones as 0/1 indicators ``col=value``."""
    names, rows = _indicators(X)
    return pd.DataFrame(rows(0, len(X)), index=X.index, columns=names)


def _indicators(X: pd.DataFrame):
    """Names of the :func:`_indicator_frame` columns, and a function giving rows [r0, r1) of
    it as float64 (so the whole frame never has to exist at once)."""
    numeric, categorical = _split_columns(X)
    names = list(numeric)
    coded = []
    for col in categorical:
        values = X[col].astype(object)
        levels = sorted(values.dropna().unique(), key=str)
        codes = pd.Categorical(values, categories=levels).codes if levels else np.full(len(X), -1, np.int8)
        coded.append((np.asarray(codes), len(levels)))
        names += [f"{col}={value}" for value in levels]
    numbers = [X[c].to_numpy() for c in numeric]

    def rows(r0: int, r1: int) -> np.ndarray:
        parts = [np.stack([c[r0:r1] for c in numbers], axis=1).astype(np.float64)] if numbers \
            else [np.empty((r1 - r0, 0))]
        for codes, width in coded:
            parts.append((codes[r0:r1, None] == np.arange(width)).astype(np.float64))
        return np.concatenate(parts, axis=1) if parts else np.empty((r1 - r0, 0))

    return names, rows


PROFILE_ROWS = 65_536  # customers whose indicator rows are held at once while profiling


def effect_size(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's d of group ``a`` against group ``b`` (pooled SD, missing values ignored).

    Capped at +/-EFFECT_CAP when neither group varies but their means differ.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    diff = a.mean() - b.mean()
    dof = len(a) + len(b) - 2
    var_a = a.var(ddof=1) if len(a) > 1 else 0.0
    var_b = b.var(ddof=1) if len(b) > 1 else 0.0
    pooled = np.sqrt(((len(a) - 1) * var_a + (len(b) - 1) * var_b) / dof) if dof > 0 else 0.0
    if pooled <= 1e-12:
        return 0.0 if abs(diff) <= 1e-12 else float(np.sign(diff) * EFFECT_CAP)
    return float(np.clip(diff / pooled, -EFFECT_CAP, EFFECT_CAP))


def persona_profiles(X: pd.DataFrame, labels, journey=None) -> pd.DataFrame:
    """Per persona and feature: mean, overall and rest means, effect size, rank, trait text.

    Columns: label, feature, mean, overall_mean, rest_mean, effect_size (Cohen's d of the
    persona against everyone else), rank (1 = most distinguishing by |effect_size|),
    top (rank <= 5), trait (a short readable sentence).
    """
    names, rows = _indicators(X)
    labels = np.asarray(labels)
    present_labels, inverse = np.unique(labels, return_inverse=True)
    n, mean, ss = _label_stats(rows, inverse.reshape(-1), len(present_labels), len(X), len(names))
    # Everyone, and everyone but one persona, from the per-persona numbers (the parallel
    # variance formula: the same numbers as two passes over those rows).
    n_all = n.sum(axis=0)
    total = np.nansum(n * mean, axis=0)
    overall = np.divide(total, n_all, out=np.full(len(names), np.nan), where=n_all > 0)
    parts = []
    for i, label in enumerate(present_labels):
        n_b = n_all - n[i]
        mean_b = np.divide(total - np.nan_to_num(n[i] * mean[i]), n_b, out=np.full(len(names), np.nan),
                           where=n_b > 0)
        others = np.arange(len(present_labels)) != i
        spread = np.where(n[others] > 0, ss[others] + n[others] * (mean[others] - mean_b) ** 2, 0.0)
        ss_b = spread.sum(axis=0)
        parts.append(pd.DataFrame({
            "label": int(label), "feature": names, "mean": mean[i], "overall_mean": overall,
            "rest_mean": mean_b, "effect_size": _effect_sizes(n[i], mean[i], ss[i], n_b, mean_b, ss_b),
        }))
    columns = ["label", "feature", "mean", "overall_mean", "rest_mean", "effect_size"]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    strength = frame["effect_size"].abs().fillna(-1.0)
    frame["rank"] = (strength.groupby(frame["label"]).rank(method="first", ascending=False)).astype(int)
    frame["top"] = frame["rank"] <= TOP_TRAITS
    words = Words(journey)
    frame["trait"] = [words.trait(f, m, o) for f, m, o in zip(frame.feature, frame["mean"], frame.overall_mean)]
    return frame.sort_values(["label", "rank"], kind="stable").reset_index(drop=True)


def _label_stats(rows, labels: np.ndarray, k: int, n_rows: int, width: int):
    """Per label (0..k-1) and column, ignoring NaN: count, mean (NaN when empty) and sum of
    squared deviations from that mean; two passes over the rows, a block at a time."""
    count = np.zeros((k, width))
    total = np.zeros((k, width))
    for r0 in range(0, n_rows, PROFILE_ROWS):
        block = rows(r0, min(n_rows, r0 + PROFILE_ROWS))
        present = ~np.isnan(block)
        one_hot = _one_hot(labels[r0:r0 + len(block)], k)
        count += one_hot.T @ present
        total += one_hot.T @ np.where(present, block, 0.0)
    mean = np.divide(total, count, out=np.full((k, width), np.nan), where=count > 0)
    ss = np.zeros((k, width))
    for r0 in range(0, n_rows, PROFILE_ROWS):
        block = rows(r0, min(n_rows, r0 + PROFILE_ROWS))
        part = labels[r0:r0 + len(block)]
        deviations = np.where(np.isnan(block), 0.0, block - mean[part])
        ss += _one_hot(part, k).T @ deviations ** 2
    return count, mean, ss


def _one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((len(labels), k))
    out[np.arange(len(labels)), labels] = 1.0
    return out


def _effect_sizes(n_a, mean_a, ss_a, n_b, mean_b, ss_b) -> np.ndarray:
    """:func:`effect_size` for many columns from their :func:`_column_stats`."""
    diff = mean_a - mean_b
    dof = n_a + n_b - 2
    pooled = np.sqrt(np.divide(ss_a + ss_b, dof, out=np.zeros(len(dof)), where=dof > 0))
    flat = pooled <= 1e-12
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.clip(diff / np.where(flat, 1.0, pooled), -EFFECT_CAP, EFFECT_CAP)
    d = np.where(flat, np.where(np.abs(diff) <= 1e-12, 0.0, np.sign(diff) * EFFECT_CAP), d)
    return np.where((n_a == 0) | (n_b == 0), np.nan, d)


def _fmt(value: float, share: bool) -> str:
    if not np.isfinite(value):
        return "n/a"
    if share:
        return f"{value:.0%}"
    if abs(value) < 1:
        return f"{value:.2f}"
    return f"{value:.1f}" if abs(value) < 100 else f"{value:,.0f}"


def _is_share(feature: str) -> bool:
    return feature.startswith(CHANNEL) or "=" in feature


# ----------------------------------------------------------------------------------------
# Words: what a person would say for a column or a code

def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


class Words:
    """How the journey's own names read in persona names and traits: stage prefixes become
    the stage (``A_DECLINED`` with ``A_`` -> Application: "Application declined"), codes
    and column names become words (:func:`readable`), everything else stays as written."""

    def __init__(self, journey=None):
        self.journey = journey
        self.stages = list(journey.stages) if journey is not None else []
        goal = journey.goal if journey is not None else None
        self.depth = _stages_before_goal(self.stages, goal) if journey is not None else []
        self.goal = goal

    def touchpoint(self, name: str) -> str:
        name = str(name)
        for prefix, stage in sorted(getattr(self.journey, "stage_prefixes", ()) or (), key=lambda r: -len(r[0])):
            if name.startswith(prefix) and len(name) > len(prefix):
                rest = name[len(prefix):]
                return f"{stage} {readable(rest)}" if looks_like_code(rest) or rest.isupper() else rest
        return readable(name)

    def column(self, name: str) -> str:
        return readable(name)

    def stage_at(self, position: float) -> str | None:
        """The stage at a (mean) position of the furthest-stage feature."""
        if not self.depth or not np.isfinite(position):
            return None
        return self.depth[int(np.clip(np.rint(position), 0, len(self.depth) - 1))]

    def value(self, column: str, value: str) -> str:
        """An attribute value as a trait: the value itself when it says enough ("Business
        travel"), else with its column ("class Eco", "product Value 3"; a yes/no column is
        its own name: "verified review", "not verified review")."""
        label, text = self.column(column), str(value).strip()
        if text.lower() in ("true", "yes", "1", "1.0", "y"):
            return label
        if text.lower() in ("false", "no", "0", "0.0", "n"):
            return f"not {label}"
        if " " in text and not re.search(r"\d", text):
            return text  # says what it is: "Business travel", "Returning customer"
        return f"{label} {readable(text)}"  # one word or a code needs its column: "class Eco"

    def label(self, feature: str) -> str:
        """A feature as words, for trait sentences."""
        if feature.startswith(CHANNEL):
            return f"{feature[len(CHANNEL):]} share of events"
        if feature.startswith(TOUCHPOINT):
            return f"{self.touchpoint(feature[len(TOUCHPOINT):])} per customer"
        if feature.startswith(SCORE):
            return f"{feature[len(SCORE):]} score"
        if feature.startswith(RATING):
            return f"{self.touchpoint(feature[len(RATING):])} rating"
        if feature.startswith(ENTRY):
            return f"journeys starting in {feature[len(ENTRY):]}"
        if feature.startswith(ATTR):
            column, eq, value = feature[len(ATTR):].partition("=")
            return self.value(column, value) if eq else self.column(column)
        if feature == "furthest_stage" and self.goal is not None and self.goal.kind == "stage":
            return f"furthest stage before {self.goal.label}"
        return {
            "events": "events per journey", "duration_days": "journey days", "furthest_stage": "furthest stage",
            "distinct_touchpoints": "distinct touchpoints", "score_mean": "mean score",
        }.get(feature, readable(feature))

    def trait(self, feature: str, mean: float, overall: float) -> str:
        """E.g. "Cart error per customer: 1.2 vs 0.3 overall"."""
        if feature == "furthest_stage":
            here, there = self.stage_at(mean), self.stage_at(overall)
            if here and there:
                return _sentence(f"{self.label(feature)}: {here} ({mean:.1f}) vs {there} ({overall:.1f}) overall")
        share = _is_share(feature)
        return _sentence(f"{self.label(feature)}: {_fmt(mean, share)} vs {_fmt(overall, share)} overall")


# ----------------------------------------------------------------------------------------
# Names

STRONG = 0.8  # |effect size| that makes a trait part of a name (a large effect, Cohen)
WEAK = 0.3  # below this nothing sets a persona apart: "Typical customers"
SECOND = 0.5  # a second trait joins the name from this effect size
TYPICAL = "Typical customers"
# Between the traits of a name: not a comma, which joins conditions in a view
# (persona=NAME,channel=...) and would need quoting in CSV.
JOIN = " · "


def _phrases(traits: dict[str, tuple[float, float]], words: Words, strong: float) -> list[tuple[float, str, str]]:
    """(strength, family, phrase) proposals for one persona from its traits {feature: (d, mean)}.

    Only behaviour, feelings and attributes, in the journey's own words: touchpoints met,
    the stage journeys stop at, length and pace, the channel they come in by, the
    touchpoints they rate low or high, attribute values.
    """
    d = {f: v[0] for f, v in traits.items() if np.isfinite(v[0])}
    mean = {f: v[1] for f, v in traits.items()}
    out: list[tuple[float, str, str]] = []

    for f, v in d.items():
        if f.startswith(TOUCHPOINT):
            name = words.touchpoint(f[len(TOUCHPOINT):])
            if v >= strong and mean.get(f, 0) >= 0.5:
                out.append((v, "touchpoint", name))
            elif v <= -strong and mean.get(f, 1) <= 0.1:
                out.append((-v * 0.6, "touchpoint", f"no {name}"))  # what they do says more

    depth = d.get("furthest_stage", 0.0)
    stage = words.stage_at(mean.get("furthest_stage", np.nan))
    if stage and abs(depth) >= strong:
        out.append((abs(depth), "stage", f"stop at {stage}" if depth < 0 else f"reach {stage}"))

    steps = max(d.get("events", 0.0), d.get("distinct_touchpoints", 0.0), key=abs)
    pace = d.get("duration_days", 0.0)
    if abs(steps) >= strong or abs(pace) >= strong:
        if abs(steps) >= abs(pace):
            out.append((abs(steps), "journey", "long journeys" if steps > 0 else "short journeys"))
        else:
            out.append((abs(pace), "journey", "slow journeys" if pace > 0 else "quick journeys"))

    for f, v in d.items():
        if f.startswith(ENTRY) and v >= strong and mean.get(f, 0) >= 0.5:
            out.append((v, "channel", f"{f[len(ENTRY):]}-first"))
        elif f.startswith(CHANNEL) and v >= strong and mean.get(f, 0) >= 0.5:
            out.append((v * 0.9, "channel", f"mostly {f[len(CHANNEL):]}"))

    ratings = {f: v for f, v in d.items() if f.startswith((RATING, SCORE))}
    overall = d.get("score_mean", 0.0)
    if ratings:
        f, v = max(ratings.items(), key=lambda r: (abs(r[1]), r[0]))
        where = words.touchpoint(f[len(RATING):]) if f.startswith(RATING) else f[len(SCORE):]
        mood = "happy" if v > 0 else "unhappy"
        # One touchpoint stands out when it moves clearly more than the mean score does.
        if abs(v) >= strong and (abs(v) > abs(overall) + 0.3 or np.sign(overall) != np.sign(v)):
            out.append((abs(v), "feeling", f"{mood} with {where}" if f.startswith(RATING) else f"{mood} at {where}"))
        elif abs(overall) >= strong:
            out.append((abs(overall), "feeling", "high ratings" if overall > 0 else "low ratings"))
    elif abs(overall) >= strong:
        out.append((abs(overall), "feeling", "high ratings" if overall > 0 else "low ratings"))

    for f, v in d.items():
        if not f.startswith(ATTR):
            continue
        column, eq, value = f[len(ATTR):].partition("=")
        if eq and v >= strong and mean.get(f, 0) >= 0.5:
            out.append((min(v, EFFECT_CAP) * 0.8, "attribute", words.value(column, value)))
        elif not eq and abs(v) >= strong:
            out.append((abs(v) * 0.8, "attribute", f"{'high' if v > 0 else 'low'} {words.column(column)}"))
    return sorted(out, key=lambda p: (-p[0], p[1], p[2]))


def _options(strong: list[tuple[float, str, str]], weak: list[tuple[float, str, str]]) -> list[str]:
    """Names for one persona, best first: its strongest phrase with the next strong one of
    another kind; then that phrase with each weaker one (to tell two personas apart)."""
    phrases = strong or weak
    if not phrases:
        return [TYPICAL]
    first = phrases[0]
    seconds = [p for p in weak if p[1] != first[1] and p[2] != first[2] and p[0] >= SECOND]
    options = [f"{_sentence(first[2])}{JOIN}{seconds[0][2]}" if seconds else _sentence(first[2])]
    pool = [p for p in weak if p[1] != first[1] and p[2] != first[2]]
    options += [f"{_sentence(first[2])}{JOIN}{p[2]}" for p in pool]
    options += [f"{_sentence(first[2])}{JOIN}{a[2]}{JOIN}{b[2]}" for a, b in zip(pool, pool[1:]) if a[1] != b[1]]
    return list(dict.fromkeys(options))


def name_personas(profiles: pd.DataFrame, k: int | None = None, journey=None) -> list[str]:
    """Unique readable names per label from a :func:`persona_profiles` frame.

    A name is the trait that sets a persona apart most, and a second one of another kind,
    in the journey's own words (``journey``: the :class:`~journeylib.journey.JourneyModel`
    whose stages and prefixes name things): "Cart error · low ratings", "Stop at
    Consideration · short journeys", "Business travel · happy with Online boarding".
    Personas that would share a name are told apart by a further trait, the largest one
    keeping the plain name; as a last resort by a number.
    """
    words = Words(journey)
    labels = sorted(profiles["label"].unique()) if k is None else list(range(k))
    traits = {
        label: {f: (d, m) for f, d, m in zip(g.feature, g.effect_size, g["mean"])}
        for label, g in profiles.groupby("label")
    }
    options = {label: _options(_phrases(traits.get(label, {}), words, STRONG),
                               _phrases(traits.get(label, {}), words, WEAK)) for label in labels}
    names: dict[int, str] = {}
    for label in labels:  # labels run largest persona first
        names[label] = next((o for o in options[label] if o not in names.values()), options[label][0])
    seen_count: dict[str, int] = {}
    final = []
    for label in labels:
        name = names[label]
        seen_count[name] = seen_count.get(name, 0) + 1
        final.append(name if seen_count[name] == 1 else f"{name} {seen_count[name]}")
    return final


# ----------------------------------------------------------------------------------------
# One call


@dataclass
class PersonaResult:
    """Persona assignments, profiles, the fitted model, the features and a 2-D map.

    ``assignments`` holds every customer. On large data the model is fitted on a seeded
    sample of ``sampled`` of the ``total`` customers; then ``features`` (and the profiles)
    are those of the sample. ``embedding`` covers at most ``EMBEDDING_CUSTOMERS`` of them.
    """

    assignments: pd.DataFrame  # customer_id, persona
    profiles: pd.DataFrame
    model: PersonaModel
    features: pd.DataFrame
    embedding: pd.DataFrame  # customer_id, x, y, persona
    sampled: int = 0  # customers the model was fitted on (0: all of them)
    total: int = 0  # customers assigned (0: len(assignments))

    def __post_init__(self):
        if not self.total:
            self.total = len(self.assignments)
        if not self.sampled:
            self.sampled = self.total

    @property
    def is_sample(self) -> bool:
        return self.sampled < self.total

    @property
    def label(self) -> str:
        """E.g. "fitted on a sample of 200,000 of 1,000,000 customers"."""
        from journeylib.persona_sampling import sample_label

        return f"fitted on {sample_label(self.sampled, self.total)}"


EMBEDDING_CUSTOMERS = 20_000  # a scatter of more points says no more and slows the page
# Customers whose features are pulled at once. Up to this many, one pass over the events
# gives everyone's features and the sample is a subset of them; above it every chunk of
# customers is a pass of its own (bounded memory, more passes).
ASSIGN_CHUNK = 1_000_000
PREDICT_ROWS = 100_000  # rows transformed at once when assigning (the float64 intermediates)


def _predict(model: PersonaModel, features: pd.DataFrame) -> np.ndarray:
    return np.concatenate([model.predict(features.iloc[i:i + PREDICT_ROWS])
                           for i in range(0, len(features), PREDICT_ROWS)] or [np.empty(0, dtype=np.int64)])


def _sample_ids(data: JourneyData, sample, ids: pa.Array, limit: int, seed: int) -> pa.Array:
    """The customer ids of ``sample``, given ``ids``: every customer with events. On DuckDB
    they are picked from those ids by the same seeded hash (0.15 s at 1M customers, where
    asking the events again took 0.65 s); other backends hash differently, so they are asked."""
    from journeylib.persona_sampling import first_by_key

    try:
        backend = data.events._find_backend().name
    except Exception:  # noqa: BLE001 - in-memory tables: the embedded engine
        backend = "duckdb"
    if backend == "duckdb":
        got = execute(first_by_key(ibis.memtable(pa.table({"customer_id": ids})), limit, seed))
    else:
        got = execute(sample.ids)
    return pa.array(got["customer_id"].astype(str), type=pa.string(), from_pandas=True)


def feature_vocabulary(features: pd.DataFrame) -> dict[str, list[str]]:
    """The vocabulary of a feature table, to compute the same columns for other customers."""
    def named(prefix: str) -> list[str]:
        return [c[len(prefix):] for c in features.columns if c.startswith(prefix)]

    return {"touchpoints": named(TOUCHPOINT), "channels": named(CHANNEL), "attributes": named(ATTR),
            "ratings": named(RATING), "score_stages": named(SCORE)}


def find_personas(data: JourneyData, n_personas="auto", random_state: int = 0,
                  max_customers: int | None = None) -> PersonaResult:
    """Features -> PersonaModel -> named assignments, profiles and a PCA map of customers.

    Above ``max_customers`` customers (default :func:`journeylib.persona_sampling.max_cluster_customers`,
    env ``JOURNEY_MAX_CLUSTER_CUSTOMERS``) the model is fitted on a sample of that many,
    chosen by a hash of the id seeded with ``random_state``
    (:func:`journeylib.persona_sampling.sample_customers`), and everyone is assigned with
    ``model.predict`` on features with the vocabulary of the fit; above ``ASSIGN_CHUNK``
    customers those are computed a chunk of customers at a time.
    """
    from journeylib.persona_sampling import customer_chunks, first_by_key, max_cluster_customers, sample_customers

    limit = max_cluster_customers() if max_customers is None else int(max_customers)
    if limit < 3:
        raise ValueError(f"max_customers must be at least 3, got {max_customers!r}")
    everyone = None
    chunked = False
    if not data.has_events:
        # A survey-only dataset: the respondents, all of them in hand (one row each).
        everyone = customer_features(data)
        total = len(everyone)
        if total > limit:
            ids = pa.array(everyone.index, type=pa.string(), from_pandas=True)
            got = execute(first_by_key(ibis.memtable(pa.table({"customer_id": ids})), limit, random_state))
            picked = pa.array(got["customer_id"].astype(str), type=pa.string(), from_pandas=True)
            features = everyone[pc.is_in(ids, value_set=picked).to_numpy(zero_copy_only=False)]
        else:
            features, everyone = everyone, None
    else:
        sample = sample_customers(data, limit, seed=random_state)
        total = sample.total
        if sample.is_sample and sample.total <= ASSIGN_CHUNK:
            everyone = customer_features(data)
            ids = pa.array(everyone.index, type=pa.string(), from_pandas=True)
            picked = _sample_ids(data, sample, ids, limit, random_state)
            # pyarrow's hash lookup: pandas' isin over a million string ids took 1.5 s
            features = everyone[pc.is_in(ids, value_set=picked).to_numpy(zero_copy_only=False)]
        else:
            features = customer_features(sample.data)
            chunked = sample.is_sample
    if len(features) < 3:
        raise ValueError(f"need at least 3 customers with events or survey answers to find personas, "
                         f"got {len(features)}")
    sampled = len(features)
    model = PersonaModel(n_personas=n_personas, random_state=random_state, journey=data.journey).fit(features)
    names = np.asarray(model.names_, dtype=object)

    if everyone is not None:
        assignments = pd.DataFrame({"customer_id": everyone.index.to_numpy(),
                                    "persona": names[_predict(model, everyone)]})
        del everyone
    elif not chunked:
        ids = features.index.to_numpy()
        assignments = pd.DataFrame({"customer_id": ids, "persona": names[model.labels_]})
    else:
        vocabulary = feature_vocabulary(features)
        parts = []
        n_chunks = -(-total // ASSIGN_CHUNK)
        for chunk in customer_chunks(data, n_chunks, seed=random_state):
            f = customer_features(chunk, **vocabulary)
            parts.append(pd.DataFrame({"customer_id": f.index.to_numpy(),
                                       "persona": names[_predict(model, f)]}))
            del f
        assignments = (pd.concat(parts, ignore_index=True).sort_values("customer_id", kind="stable")
                       .reset_index(drop=True))

    rng = np.random.default_rng(random_state)
    shown = np.arange(len(features))
    if len(shown) > EMBEDDING_CUSTOMERS:
        shown = np.sort(rng.choice(len(features), EMBEDDING_CUSTOMERS, replace=False))
    Xt = model.transform_features(features.iloc[shown])
    n_comp = min(2, Xt.shape[1], Xt.shape[0])
    with threadpool_limits(limits=FIT_THREADS):
        coords = PCA(n_components=n_comp, random_state=random_state).fit_transform(Xt)
    if coords.shape[1] < 2:
        coords = np.column_stack([coords, np.zeros((len(coords), 2 - coords.shape[1]))])
    embedding = pd.DataFrame({"customer_id": features.index.to_numpy()[shown], "x": coords[:, 0],
                              "y": coords[:, 1], "persona": names[model.labels_[shown]]})
    return PersonaResult(assignments=assignments, profiles=model.profiles_, model=model,
                         features=features, embedding=embedding, sampled=sampled, total=total)


# ----------------------------------------------------------------------------------------
# Cards: what personas are compared by (the goal, outcomes, feelings) and how far to trust them

CARD_COLUMNS = ("label", "persona", "customers", "share", "goal", "converted", "judged", "mean_score",
                "answers", "stability", "top_channels", "traits", "outcomes")
SHAKY = 0.6  # below this stability a grouping or persona is to be read with care


def goal_note(data: JourneyData) -> str | None:
    """Why conversion to the goal cannot be shown for ``data``, and what to set; None when it can."""
    from journeylib.journey import GoalError

    goal = data.goal
    if goal is None:
        return ("No goal is set, so the cards cannot compare conversion: name the outcome that matters "
                "(a stage reached, a touchpoint reached, or an outcome column's value) on the Data page "
                "or with --goal.")
    if goal.kind == "stage" and data.has_events:
        staged = execute(data.events.stage.isin(list(data.stages)).fill_null(False).any())
        if not bool(staged):
            return (f"No event sits at a stage, so reaching {goal.label} cannot be judged: give stage "
                    "rules (a touchpoint -> stage table or name prefixes) or another goal.")
    try:
        from journeylib.journey import goal_outcomes

        goal_outcomes(data)
    except GoalError as exc:
        return f"{goal.label}: {exc}"
    return None


def _labels_table(assignments: pd.DataFrame, names: Sequence[str]) -> ibis.Table:
    index = {name: i for i, name in enumerate(names)}
    return ibis.memtable(pa.table({
        "_pid": pa.array(assignments["customer_id"].astype(str).tolist(), type=pa.string()),
        "_label": pa.array(assignments["persona"].map(index).to_numpy(dtype=np.int64)),
    }))


def _by_label(table: ibis.Table, labels: ibis.Table, **metrics) -> pd.DataFrame:
    j = table.join(labels, table.customer_id.cast("string") == labels._pid)
    return execute(j.group_by("_label").aggregate(**{k: f(j) for k, f in metrics.items()})).set_index("_label")


def _outcome_tables(data: JourneyData) -> list[tuple[str, ibis.Table]]:
    """(column, table) for each outcome column other than the goal's, customers table first."""
    out, seen = [], set(goal_columns(data.goal))
    for table in (data.customers, data.survey):
        if table is None:
            continue
        for c in table.columns:
            if c in seen or c in ("customer_id", "nps") or not is_outcome_column(c, data.goal):
                continue
            seen.add(c)
            out.append((c, table))
    return out


def persona_outcomes(data: JourneyData, result: "PersonaResult") -> pd.DataFrame:
    """Per persona, the measures personas are compared by (never clustered on).

    DataFrame[label, measure, value, n, kind]: ``goal`` rows (the share of the persona's
    customers the goal can be judged for who converted, by
    :func:`journeylib.journey.goal_outcomes`), ``nps`` (Net Promoter Score of the survey's
    0-10 answers, :func:`journeylib.emotions.nps`), and per outcome column (NPS,
    satisfaction, recommended, overall...) a ``mean`` for numbers or a ``share`` holding
    its most common value for text; ``measure`` names it in words.
    """
    from journeylib.emotions import nps
    from journeylib.journey import goal_outcomes

    names = list(result.model.names_)
    labels = _labels_table(result.assignments, names)
    rows: list[dict] = []
    if goal_note(data) is None:
        got = _by_label(goal_outcomes(data), labels, value=lambda t: t.converted.cast("float64").mean(),
                        n=lambda t: t.count())
        rows += [{"label": int(i), "measure": data.goal.label, "value": float(r.value), "n": int(r.n),
                  "kind": "goal"} for i, r in got.iterrows()]
    if data.survey is not None and "nps" in data.survey.columns and data.has_nps:
        frame = nps(data.survey, result.assignments)
        index = {name: i for i, name in enumerate(names)}
        rows += [{"label": index[r.persona], "measure": "NPS", "value": float(r.nps), "n": int(r.n), "kind": "nps"}
                 for r in frame.itertuples() if r.persona in index]
    for column, table in _outcome_tables(data):
        t = table.filter(table[column].notnull())
        label = readable(column)
        if t[column].type().is_numeric():
            got = _by_label(t, labels, value=lambda x, c=column: x[c].cast("float64").mean(), n=lambda x: x.count())
            rows += [{"label": int(i), "measure": f"{label} (mean)", "value": float(r.value), "n": int(r.n),
                      "kind": "mean"} for i, r in got.iterrows()]
        else:
            text = t[column].cast("string").strip()
            top = execute(t.group_by(_v=text).aggregate(n=t.count()).order_by([ibis.desc("n"), "_v"]).limit(1))
            if top.empty:
                continue
            value = str(top["_v"].iloc[0])
            got = _by_label(t.mutate(_hit=(text == value).cast("float64")), labels,
                            value=lambda x: x._hit.mean(), n=lambda x: x.count())
            rows += [{"label": int(i), "measure": f"{label}: {value}", "value": float(r.value), "n": int(r.n),
                      "kind": "share"} for i, r in got.iterrows()]
    frame = pd.DataFrame(rows, columns=["label", "measure", "value", "n", "kind"])
    return frame.sort_values(["label", "kind"], kind="stable").reset_index(drop=True)


def stability_text(model: PersonaModel) -> str:
    """How far to trust the grouping, in one sentence with its number."""
    value = getattr(model, "stability_", float("nan"))
    if not np.isfinite(value):
        return "Stability could not be measured: too few customers to refit the personas on resampled data."
    verdict = ("the same personas come back almost every time" if value >= 0.9 else
               "mostly the same personas come back" if value >= STABLE else
               "the personas shift when the data does: read them with care" if value >= SHAKY else
               "the personas change a lot when the data does: treat them as a rough sketch")
    return (f"Stability {value:.2f} (adjusted Rand index between these personas and {model.stability_runs} "
            f"refits on resampled customers; 1 = identical, 0 = chance): {verdict}.")


def persona_cards(data: JourneyData, result: "PersonaResult") -> pd.DataFrame:
    """One row per persona (model order, largest first), what its card shows.

    Columns: label, persona (the automatic name), customers, share (of everyone
    assigned), goal (the goal's display name, or None), converted (share of the persona
    that reached the goal; NaN when it cannot be judged, :func:`goal_note` says why), judged
    (customers the goal could be judged for), mean_score and answers (survey), stability
    (of this persona, 0-1, see :class:`PersonaModel`), top_channels (list), traits (the
    five most distinguishing, as sentences), outcomes (list of "measure: value" texts).
    """
    model = result.model
    names = list(model.names_)
    k = len(names)
    counts = result.assignments["persona"].value_counts()
    total = max(len(result.assignments), 1)
    outcomes = persona_outcomes(data, result)
    goal_rows = outcomes[outcomes["kind"] == "goal"].set_index("label")
    scores = pd.DataFrame(columns=["value", "n"])
    if data.survey is not None:
        s = data.survey.filter(data.survey.score.notnull())
        scores = _by_label(s, _labels_table(result.assignments, names),
                           value=lambda t: t.score.cast("float64").mean(), n=lambda t: t.count())
    profiles = result.profiles
    stability = list(getattr(model, "persona_stability_", [np.nan] * k))
    rows = []
    for label, name in enumerate(names):
        p = profiles[profiles["label"] == label].set_index("feature")
        channels = p[p.index.str.startswith(CHANNEL)]["mean"].sort_values(ascending=False)
        top = p[p["top"]].sort_values("rank")
        other = outcomes[(outcomes["label"] == label) & (outcomes["kind"] != "goal")]
        rows.append({
            "label": label,
            "persona": name,
            "customers": int(counts.get(name, 0)),
            "share": float(counts.get(name, 0)) / total,
            "goal": data.goal.label if data.goal is not None else None,
            "converted": float(goal_rows.at[label, "value"]) if label in goal_rows.index else float("nan"),
            "judged": int(goal_rows.at[label, "n"]) if label in goal_rows.index else 0,
            "mean_score": float(scores.at[label, "value"]) if label in scores.index else float("nan"),
            "answers": int(scores.at[label, "n"]) if label in scores.index else 0,
            "stability": float(stability[label]) if label < len(stability) else float("nan"),
            "top_channels": [c[len(CHANNEL):] for c in channels.index[:3] if channels[c] > 0],
            "traits": [str(t) for t in top["trait"].tolist()[:TOP_TRAITS]],
            "outcomes": [_outcome_text(r) for r in other.itertuples()],
        })
    return pd.DataFrame(rows, columns=list(CARD_COLUMNS))


def _outcome_text(row) -> str:
    if row.kind == "share":
        return f"{row.measure}: {row.value:.0%} (of {row.n:,})"
    if row.kind == "nps":
        return f"NPS {row.value:+.0f} (of {row.n:,} answers)"
    return f"{row.measure}: {row.value:.2f} (of {row.n:,})"
