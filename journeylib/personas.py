"""Personas: per-customer features, a persona model (a scikit-learn estimator), profiles.

``customer_features`` aggregates events, survey and attributes per customer in Ibis (the
work runs where the data lives); only per-customer rows come back (as Arrow: each
customer's kinds of events as a list, counted in numpy).
``PersonaModel`` clusters that table with k-means behind a ColumnTransformer, chooses the
number of personas by silhouette when asked to, and names each persona from the traits
that set it apart most (effect sizes), so people read "Checkout strugglers", not "Cluster 2".
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
from sklearn.impute import SimpleImputer
from sklearn.metrics import pairwise_distances, silhouette_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted
from scipy.stats import skew

from journeylib.engine import execute
from journeylib.schema import PURCHASE_STAGE, JourneyData

TOP_TOUCHPOINTS = 25
MAX_CHANNELS = 12
MAX_CATEGORIES = 30  # attribute columns with more distinct values are identifiers, not traits
EFFECT_CAP = 10.0  # |effect size| cap when a trait has no spread at all (e.g. all 0 vs all 1)
TOP_TRAITS = 5
DUPLICATE_CORRELATION = 0.9  # numeric features this correlated with a kept one are left out

# Feature name prefixes; profiles and names rely on them.
CHANNEL = "channel: "
TOUCHPOINT = "touchpoint: "
SCORE = "score: "
ATTR = "attr: "
ENTRY = "entry_channel="


# ----------------------------------------------------------------------------------------
# Features


def _to_arrow(expr: ibis.Expr) -> pa.Table:
    """Run an expression under its engine's lock (as :func:`journeylib.engine.execute` does)
    and return Arrow: Ibis's pandas conversion turns any column holding a NULL into Python
    objects row by row, which at a million customers costs more than the query."""
    from journeylib import engine as _engine

    try:
        backend = expr._find_backend()
    except Exception:  # only memtables: they run on the default engine
        backend = None
    eng = _engine._engines.get(id(backend)) if backend is not None else _engine.default_engine()
    if eng is None or (backend is not None and eng.con is not backend):
        return expr.to_pyarrow()
    with eng._lock:
        return eng.con.to_pyarrow(expr)


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
# distinct touchpoints, purchases and furthest stage are computed from those lists in
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


def customer_features(data: JourneyData, *, touchpoints: Sequence[str] | None = None,
                      channels: Sequence[str] | None = None,
                      attributes: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per customer (index ``customer_id``) of behaviour, feelings and attributes.

    Columns: ``events``, ``duration_days``, ``distinct_touchpoints``, ``furthest_stage``
    (0-based position in ``data.stages``), ``purchased`` (0/1), ``purchases`` (events in the
    Purchase stage), ``channel: X`` (share of the customer's events), ``entry_channel``
    (channel of the first event: how they came in), ``touchpoint: X`` (event counts, for
    the 25 touchpoints most customers meet), and with a survey
    ``score_mean``, ``score: <stage>`` (mean per stage, NaN when not answered: the model
    imputes), ``nps``; with customers, ``attr: <column>`` for each usable attribute.
    Numbers are float32.

    ``touchpoints`` and ``channels`` fix the vocabulary of the ``touchpoint: X`` and
    ``channel: X`` columns (e.g. to the one a model was fitted with). ``attributes``
    (column names of ``data.customers``) likewise fixes the ``attr: X`` columns, skipping
    the rule that leaves out text attributes with one value or with more than 30 (an
    identifier): a chunk of customers may have one region only. Computing features a chunk
    of customers at a time with the vocabulary of the whole gives the same rows as
    computing them at once.
    """
    ev = data.events
    has_channel = "channel" in ev.columns
    stages = list(data.stages)

    # One grouped pass over the events: each customer's event kinds as a list of codes,
    # first and last time, and the entry channel as an ordered first() where the backend
    # has ordered aggregates.
    kinds = _event_kinds(ev)
    coded = _with_kind_codes(ev, kinds)
    metrics = {
        "_first": coded.timestamp.min(),
        "_last": coded.timestamp.max(),
        "_codes": coded._code.collect(),
    }
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
    per = per.select(**out)

    survey_cols: list[str] = []
    if data.survey is not None:
        sv = data.survey
        sv = sv.filter(sv.customer_id.notnull())
        smetrics = {"score_mean": sv.score.mean()}
        if "stage" in sv.columns:
            for s in stages:
                smetrics[SCORE + s] = sv.score.mean(where=sv.stage == s)
        if "nps" in sv.columns:
            smetrics["nps"] = sv.nps.cast("float64").mean()
        sagg = sv.group_by("customer_id").aggregate(**smetrics).rename(_sid="customer_id")
        per = per.left_join(sagg, per.customer_id == sagg._sid)
        per = per.select(*[c for c in per.columns if c not in smetrics and c != "_sid"],
                         **{c: _real(per[c]) for c in smetrics})
        survey_cols = list(smetrics)

    attr_cols: list[str] = []
    if data.customers is not None:
        cu = data.customers
        keep = [c for c in cu.columns if c != "customer_id"
                and (cu[c].type().is_numeric() or cu[c].type().is_string() or cu[c].type().is_boolean())]
        if attributes is not None:
            wanted = {str(a) for a in attributes}
            keep = [c for c in keep if c in wanted]
        if keep:
            cu = cu.filter(cu.customer_id.notnull()).distinct(on="customer_id", keep="first")
            values = {}
            for c in keep:
                col = cu[c]
                if col.type().is_boolean():
                    col = col.ifelse(1, 0)
                values[ATTR + c] = col
            cu = cu.select(_cid=cu.customer_id, **values)
            per = per.left_join(cu, per.customer_id == cu._cid)
            attr_cols = [ATTR + c for c in keep]
            per = per.select(*[c for c in per.columns if c not in attr_cols and c != "_cid"],
                             **{c: _text_or_missing(per[c]) if per[c].type().is_string() else _real(per[c])
                                for c in attr_cols})

    table = _to_arrow(per.order_by("customer_id"))
    codes, lengths = _segments(table.column("_codes"))
    codes = codes.astype(np.int64, copy=False)
    n, n_kinds = len(lengths), len(kinds)

    # What each kind of event stands for; per customer, its kinds counted a block at a time.
    tp_names = sorted({t for t in kinds["touchpoint"] if t is not None})
    kind_tp = _positions(kinds["touchpoint"], tp_names)
    stage_of_kind = _positions(kinds["stage"], stages)
    bought = np.asarray([s == PURCHASE_STAGE for s in kinds["stage"]])
    if not has_channel:
        channels = []
    elif channels is None:
        per_channel = kinds[kinds["channel"].notna()].groupby("channel", sort=False)["_events"].sum()
        channels = sorted(per_channel.index, key=lambda c: (-per_channel[c], c))[:MAX_CHANNELS]
    channels = [str(c) for c in channels]
    kind_ch = _positions(kinds["channel"], channels) if has_channel else np.full(n_kinds, -1)

    distinct = np.zeros(n, dtype=np.float32)
    furthest = np.zeros(n, dtype=np.float32)
    purchases = np.zeros(n, dtype=np.float32)
    channel_counts = np.zeros((len(channels), n), dtype=np.float32)
    reach = np.zeros(len(tp_names), dtype=np.int64)  # customers per touchpoint
    fixed = touchpoints is not None  # a given vocabulary is counted in the same pass
    if fixed:
        touchpoints = [str(t) for t in touchpoints]
        kind_vocab = _positions(kinds["touchpoint"], touchpoints)
        touchpoint_counts = np.zeros((len(touchpoints), n), dtype=np.float32)
    for r0, r1, counts in _kind_blocks(codes, lengths, n_kinds):
        met = _sum_rows(counts, kind_tp, len(tp_names), np.empty((len(tp_names), r1 - r0), np.int64)) > 0
        distinct[r0:r1] = met.sum(axis=0)
        reach += met.sum(axis=1)
        furthest[r0:r1] = np.where(counts > 0, stage_of_kind[:, None], -1).max(axis=0, initial=-1)
        purchases[r0:r1] = counts[bought].sum(axis=0)
        _sum_rows(counts, kind_ch, len(channels), channel_counts[:, r0:r1])
        if fixed:
            _sum_rows(counts, kind_vocab, len(touchpoints), touchpoint_counts[:, r0:r1])
    furthest[furthest < 0] = np.nan

    if not fixed:  # the touchpoints most customers meet, then a second pass to count them
        ranked = sorted(range(len(tp_names)), key=lambda i: (-reach[i], tp_names[i]))
        touchpoints = [tp_names[i] for i in ranked[:TOP_TOUCHPOINTS]]
        kind_vocab = _positions(kinds["touchpoint"], touchpoints)
        touchpoint_counts = np.zeros((len(touchpoints), n), dtype=np.float32)
        for r0, r1, counts in _kind_blocks(codes, lengths, n_kinds):
            _sum_rows(counts, kind_vocab, len(touchpoints), touchpoint_counts[:, r0:r1])
    del codes

    # The numbers as one float32 block, in the order of the columns; text columns go in after.
    numbers = {
        "events": lengths.astype(np.float32),
        "duration_days": _float32(table.column("duration_days")),
        "distinct_touchpoints": distinct,
        "furthest_stage": furthest,
        "purchased": (purchases > 0).astype(np.float32),
        "purchases": purchases,
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = (channel_counts / lengths.astype(np.float64)).astype(np.float32)  # float64 division, as SQL
    numbers.update({CHANNEL + c: shares[i] for i, c in enumerate(channels)})
    numbers.update({TOUCHPOINT + t: touchpoint_counts[i] for i, t in enumerate(touchpoints)})
    texts: dict[str, tuple[int, pd.Series]] = {}  # column -> (position, values)
    if has_channel:
        texts["entry_channel"] = (6 + len(channels), _text(table.column("entry_channel"))[0])
    for c in survey_cols:
        numbers[c] = _float32(table.column(c))
    for c in attr_cols:
        column = table.column(c)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            values, n_distinct = _text(column)
            if attributes is None and (n_distinct > MAX_CATEGORIES or n_distinct < 2):
                continue
            texts[c] = (len(numbers) + len(texts), values)
        else:
            numbers[c] = _float32(column)
    ids = pd.Index(table.column("customer_id").to_pandas().astype(str), name="customer_id")
    del table
    block = np.empty((len(numbers), n), dtype=np.float32)  # one contiguous row per column
    for i, values in enumerate(numbers.values()):
        block[i] = values
    frame = pd.DataFrame(block.T, index=ids, columns=list(numbers), copy=False)
    for col, (position, values) in texts.items():
        frame.insert(position, col, pd.Series(values, index=ids, dtype=object))
    return frame


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


def _preprocessor(numeric: list[str], categorical: list[str], skewed: list[str] = ()) -> ColumnTransformer:
    parts = []
    skewed = [c for c in numeric if c in set(skewed)]
    numeric = [c for c in numeric if c not in set(skewed)]
    if skewed:
        parts.append(("skewed", Pipeline([
            ("log", FunctionTransformer(np.log1p, feature_names_out="one-to-one")),
            ("impute", _MedianImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
        ]), skewed))
    if numeric:
        parts.append(("numeric", Pipeline([
            ("impute", _MedianImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
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

    ``n_personas="auto"`` tries every k in ``k_range`` (inclusive) and keeps the one with
    the best silhouette (ties go to the smaller k). On large tables the candidates are
    fitted on a random sample of ``2 * silhouette_sample`` customers, the silhouette is
    scored on ``silhouette_sample`` of them, and the chosen k is then fitted on everyone
    (MiniBatchKMeans above ``minibatch_above`` customers). Labels are ordered by persona
    size, largest first.

    Learned: ``labels_``, ``n_personas_``, ``silhouette_``, ``silhouette_curve_`` (k ->
    score), ``names_`` (per label), ``shares_`` (per label), ``profiles_``, ``pipeline_``.
    """

    def __init__(self, n_personas="auto", random_state=0, k_range=(2, 8), silhouette_sample=5000,
                 minibatch_above=50000):
        self.n_personas = n_personas
        self.random_state = random_state
        self.k_range = k_range
        self.silhouette_sample = silhouette_sample
        self.minibatch_above = minibatch_above

    # -- fitting ----------------------------------------------------------------------------

    def _check_X(self, X) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            return X
        arr = np.asarray(X)
        if arr.ndim != 2:
            raise ValueError(f"expected a 2-D table of customer features, got shape {arr.shape}")
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

    def _kmeans(self, k: int, n: int, init="k-means++", n_init: int = 4):
        n_init = 1 if not isinstance(init, str) else n_init
        if n > self.minibatch_above:
            return MiniBatchKMeans(n_clusters=k, init=init, n_init=n_init, batch_size=4096,
                                   random_state=self.random_state)
        return KMeans(n_clusters=k, init=init, n_init=n_init, random_state=self.random_state)

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

    def fit(self, X, y=None):
        """Choose k (if "auto"), cluster, then name and profile the personas."""
        X = self._check_X(X)
        n = len(X)
        if n < 3:
            raise ValueError(f"need at least 3 customers to find personas, got {n}")
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
        models = {}
        distances = self._sample_distances(Xs) if len(ks) > 1 else None
        for k in ks:
            if k >= len(Xs):
                continue
            # On a sample only the choice of k rides on these fits; the final one refines.
            model = self._kmeans(k, len(Xs), n_init=2 if sampled else 4).fit(Xs)
            models[k] = model
            curve[k] = self._silhouette(Xs, model.labels_, distances)
        if not models:  # a fixed k on a tiny table
            k = ks[0]
            final = self._kmeans(k, n).fit(Xt)
        else:
            scored = {k: s for k, s in curve.items() if np.isfinite(s)}
            k = max(scored, key=lambda kk: (scored[kk], -kk)) if scored else min(models)
            if not sampled:
                final = models[k]
            else:
                final = self._kmeans(k, n, init=models[k].cluster_centers_).fit(Xt)
        raw = np.asarray(final.labels_)

        # Order personas by size so label 0 is the largest (ties: by k-means index).
        counts = np.bincount(raw, minlength=k)
        order = np.lexsort((np.arange(k), -counts))
        perm = np.empty(k, dtype=np.int64)
        perm[order] = np.arange(k)
        labels = perm[raw]

        self.pipeline_ = Pipeline([("prep", prep), ("cluster", final)])
        self._perm = perm
        self.labels_ = labels
        self.n_personas_ = k
        self.silhouette_curve_ = {int(kk): float(s) for kk, s in curve.items()}
        self.silhouette_ = curve.get(k, self._silhouette(Xt, labels) if n <= fit_size
                                     else float("nan"))
        self.shares_ = np.bincount(labels, minlength=k) / n
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.dropped_features_ = list(dropped)
        profiles = persona_profiles(X, labels)
        self.names_ = name_personas(profiles, k)
        names = np.asarray(self.names_, dtype=object)
        profiles.insert(0, "persona", names[profiles["label"].to_numpy()])
        self.profiles_ = profiles
        return self

    def predict(self, X):
        """Persona label (index into ``names_``) of each row of a feature table."""
        check_is_fitted(self, "pipeline_")
        return self._perm[self.pipeline_.named_steps["cluster"].predict(self.transform_features(X))]

    def transform_features(self, X) -> np.ndarray:
        """The scaled, encoded matrix the clustering sees."""
        check_is_fitted(self, "pipeline_")
        return np.asarray(self.pipeline_.named_steps["prep"].transform(self._check_X(X)), dtype=np.float32)


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


def persona_profiles(X: pd.DataFrame, labels) -> pd.DataFrame:
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
    frame["trait"] = [_trait_text(f, m, o) for f, m, o in zip(frame.feature, frame["mean"], frame.overall_mean)]
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
    return f"{value:.1f}" if abs(value) < 100 else f"{value:,.0f}"


def _is_share(feature: str) -> bool:
    return feature.startswith(CHANNEL) or feature == "purchased" or "=" in feature


def _trait_text(feature: str, mean: float, overall: float) -> str:
    label = _feature_label(feature)
    share = _is_share(feature)
    return f"{label}: {_fmt(mean, share)} vs {_fmt(overall, share)} overall"


def _feature_label(feature: str) -> str:
    if feature.startswith(CHANNEL):
        return f"{feature[len(CHANNEL):]} share of events"
    if feature.startswith(TOUCHPOINT):
        return f"{feature[len(TOUCHPOINT):]} per customer"
    if feature.startswith(SCORE):
        return f"{feature[len(SCORE):]} score"
    if feature.startswith(ENTRY):
        return f"journeys starting in {feature[len(ENTRY):]}"
    if feature.startswith(ATTR):
        return feature[len(ATTR):].replace("=", ": ")
    return {
        "events": "events per journey", "duration_days": "journey days", "furthest_stage": "furthest stage",
        "distinct_touchpoints": "distinct touchpoints", "purchased": "bought", "purchases": "purchases",
        "score_mean": "mean score", "nps": "NPS answer",
    }.get(feature, feature)


# ----------------------------------------------------------------------------------------
# Names

PAIN = re.compile(r"error|fail|problem|issue|complain|declin|crash|bug|broken|abandon", re.I)
HELP = re.compile(r"support|call|chat|help|contact|ticket", re.I)
ADVOCACY = re.compile(r"refer|review|share|tag|recommend|invite", re.I)
STRONG = 0.8


def _candidates(traits: dict[str, tuple[float, float]]) -> list[tuple[float, str]]:
    """(strength, name) proposals for one persona from its traits {feature: (d, mean)}."""
    d = {f: v[0] for f, v in traits.items() if np.isfinite(v[0])}
    mean = {f: v[1] for f, v in traits.items()}
    bought = mean.get("purchased", np.nan)
    buyers = "buyers" if np.isfinite(bought) and bought >= 0.5 else "browsers"
    out: list[tuple[float, str]] = []

    for f, v in d.items():
        if f.startswith(TOUCHPOINT) and v >= STRONG:
            name = f[len(TOUCHPOINT):]
            if PAIN.search(name):
                where = "Checkout" if re.search(r"cart|checkout|pay|basket|order", name, re.I) else name
                out.append((v + 2.0, f"{where} strugglers"))
            elif HELP.search(name):
                out.append((v + 0.5, "Support seekers"))

    dp = d.get("purchases", 0.0)
    if dp >= STRONG and mean.get("purchases", 0) >= 1.5:
        advocacy = d.get("nps", 0) >= 0.5 or any(
            f.startswith(TOUCHPOINT) and ADVOCACY.search(f[len(TOUCHPOINT):]) and v >= 0.5 for f, v in d.items())
        out.append((dp + 3.0, "Loyal advocates" if advocacy else "Repeat buyers"))

    long_d = max(d.get("duration_days", 0.0), d.get("events", 0.0), d.get("distinct_touchpoints", 0.0))
    if long_d >= STRONG:
        out.append((long_d + 0.5, "Long-haul researchers"))

    df, dbuy = d.get("furthest_stage", 0.0), d.get("purchased", 0.0)
    if df <= -STRONG and dbuy <= -0.5:
        out.append((-df + 0.3, "Window shoppers"))
    elif dbuy <= -STRONG:
        out.append((-dbuy, "Drop-offs before buying"))

    for f, v in d.items():
        if f.startswith(ENTRY) and v >= STRONG and mean.get(f, 0) >= 0.5:
            out.append((v, f"{f[len(ENTRY):]}-first {buyers}"))
        elif f.startswith(CHANNEL) and v >= STRONG * 2 and mean.get(f, 0) >= 0.25:
            out.append((v / 2, f"{f[len(CHANNEL):]}-heavy {buyers}"))

    ds = d.get("score_mean", 0.0)
    if ds <= -STRONG:
        out.append((-ds, "Unhappy customers"))
    elif ds >= STRONG:
        out.append((ds * 0.8, "Delighted customers"))
    return out


def _fallback_name(traits: dict[str, tuple[float, float]]) -> str:
    ranked = sorted(((abs(v[0]), f, v[0]) for f, v in traits.items() if np.isfinite(v[0])), reverse=True)
    if not ranked or ranked[0][0] < 0.2:
        return "Typical customers"
    _, f, v = ranked[0]
    return f"{'High' if v > 0 else 'Low'} {_feature_label(f)}"


def _qualifier(traits: dict[str, tuple[float, float]], reference: dict[str, tuple[float, float]],
               avoid: set[str]) -> str:
    """A short second trait telling this persona apart from a same-named ``reference`` one."""
    def gap(f: str, v: float) -> float:
        ref = reference.get(f, (0.0, np.nan))[0]
        return abs(v - (ref if np.isfinite(ref) else 0.0))

    ranked = sorted(((gap(f, v[0]), f, v[0]) for f, v in traits.items() if np.isfinite(v[0])), reverse=True)
    for _, f, v in ranked:
        if f.startswith(ENTRY) and v > 0:
            text = f"via {f[len(ENTRY):]}"
        elif f.startswith(CHANNEL) and v > 0:
            text = f"via {f[len(CHANNEL):]}"
        elif f.startswith(TOUCHPOINT) and v > 0:
            text = f"{f[len(TOUCHPOINT):]}"
        elif f.startswith(ATTR) and "=" in f and v > 0:
            text = f.split("=", 1)[1]
        elif f == "duration_days":
            text = "slow" if v > 0 else "quick"
        elif f == "purchased":
            text = "buying" if v > 0 else "not buying"
        elif f in ("score_mean", "nps"):
            text = "happy" if v > 0 else "unhappy"
        elif f == "events":
            text = "long journeys" if v > 0 else "short journeys"
        else:
            continue
        if text not in avoid:
            return text
    return ""


def name_personas(profiles: pd.DataFrame, k: int | None = None) -> list[str]:
    """Unique readable names per label from a :func:`persona_profiles` frame."""
    labels = sorted(profiles["label"].unique()) if k is None else list(range(k))
    traits = {
        label: {f: (d, m) for f, d, m in zip(g.feature, g.effect_size, g["mean"])}
        for label, g in profiles.groupby("label")
    }
    names = {}
    for label in labels:
        cands = sorted(_candidates(traits.get(label, {})), key=lambda c: -c[0])
        names[label] = cands[0][1] if cands else _fallback_name(traits.get(label, {}))

    # Collisions get a distinguishing second trait; as a last resort a number.
    for _ in range(3):
        seen: dict[str, list[int]] = {}
        for label in labels:
            seen.setdefault(names[label], []).append(label)
        clashes = [group for group in seen.values() if len(group) > 1]
        if not clashes:
            break
        for group in clashes:
            # The largest persona keeps the plain name; the others get a second trait.
            used: set[str] = set()
            for label in group[1:]:
                q = _qualifier(traits.get(label, {}), traits.get(group[0], {}), used)
                used.add(q)
                if q:
                    names[label] = f"{names[label]} ({q})"
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
    from journeylib.persona_sampling import customer_chunks, max_cluster_customers, sample_customers

    limit = max_cluster_customers() if max_customers is None else int(max_customers)
    if limit < 3:
        raise ValueError(f"max_customers must be at least 3, got {max_customers!r}")
    sample = sample_customers(data, limit, seed=random_state)
    everyone = None
    if sample.is_sample and sample.total <= ASSIGN_CHUNK:
        everyone = customer_features(data)
        ids = pa.array(everyone.index, type=pa.string(), from_pandas=True)
        picked = _sample_ids(data, sample, ids, limit, random_state)
        # pyarrow's hash lookup: pandas' isin over a million string ids took 1.5 s
        features = everyone[pc.is_in(ids, value_set=picked).to_numpy(zero_copy_only=False)]
    else:
        features = customer_features(sample.data)
    if len(features) < 3:
        raise ValueError(f"need at least 3 customers with events to find personas, got {len(features)}")
    model = PersonaModel(n_personas=n_personas, random_state=random_state).fit(features)
    names = np.asarray(model.names_, dtype=object)

    if not sample.is_sample:
        ids = features.index.to_numpy()
        assignments = pd.DataFrame({"customer_id": ids, "persona": names[model.labels_]})
    elif everyone is not None:
        assignments = pd.DataFrame({"customer_id": everyone.index.to_numpy(),
                                    "persona": names[_predict(model, everyone)]})
        del everyone
    else:
        touchpoints = [c[len(TOUCHPOINT):] for c in features.columns if c.startswith(TOUCHPOINT)]
        channels = [c[len(CHANNEL):] for c in features.columns if c.startswith(CHANNEL)]
        attributes = [c[len(ATTR):] for c in features.columns if c.startswith(ATTR)]
        parts = []
        n_chunks = -(-sample.total // ASSIGN_CHUNK)
        for chunk in customer_chunks(data, n_chunks, seed=random_state):
            f = customer_features(chunk, touchpoints=touchpoints, channels=channels, attributes=attributes)
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
    coords = PCA(n_components=n_comp, random_state=random_state).fit_transform(Xt)
    if coords.shape[1] < 2:
        coords = np.column_stack([coords, np.zeros((len(coords), 2 - coords.shape[1]))])
    embedding = pd.DataFrame({"customer_id": features.index.to_numpy()[shown], "x": coords[:, 0],
                              "y": coords[:, 1], "persona": names[model.labels_[shown]]})
    return PersonaResult(assignments=assignments, profiles=model.profiles_, model=model,
                         features=features, embedding=embedding, sampled=sample.sampled, total=sample.total)
