"""Data that stays in a warehouse: tables on any Ibis backend as a :class:`JourneyData`.

:func:`load_tables` builds the canonical events, survey and customers tables as Ibis
expressions over tables or views that already live on the engine's backend (DuckDB file,
PostgreSQL, Spark, BigQuery, Snowflake, Trino...). No rows are copied into Python: the
loader only runs a few small queries (row counts for the warnings, the distinct stage
labels, the distinct touchpoints, the score range), and every analysis afterwards runs on
the backend.

Differences from :func:`journeylib.io.load_journey`, which reads files:

- A table has no file order, so ``seq`` is a row number per customer ordered by
  ``(timestamp, order_column, touchpoint, stage, channel)``: ties are broken by an order
  column when one is given (an event id, a load sequence) and otherwise by name, so the
  same data gives the same journeys on every backend.
- Text timestamps are cast by the backend (ISO 8601 such as ``2024-03-01 10:15:00``);
  rows it cannot read are left out and counted in a warning. Numbers are epoch seconds,
  milliseconds or microseconds, told apart by magnitude. Time-zone-aware timestamps become
  naive in the session time zone, which Ibis sets to UTC on DuckDB and Spark.
- Warnings count rows but cannot name row numbers.

Persona labels go back to the backend with :func:`labels_table`, so filtering by persona
is a semi join there; :func:`sample_customers` picks a seeded sample of customers before
per-customer features are pulled into Python for clustering, and
:func:`customer_chunks` splits all customers into hash buckets for assigning everybody.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any, Iterator, Mapping, Sequence

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

from journeylib.engine import Engine, default_engine, execute
from journeylib.io import (
    InputError,
    Issue,
    _SCALES_NONNEG,
    _SCALES_SIGNED,
    _require,
    _resolve_mapping,
    _stage_lookup,
    default_touchpoint_stage_map,
)
from journeylib.journey import JourneyModel
from journeylib.schema import DEFAULT_STAGES, FIELDS, JourneyData, ScoreScale, normalize_stage

__all__ = [
    "load_tables",
    "source_table",
    "labels_table",
    "filter_personas",
    "sample_customers",
    "customer_chunks",
    "CustomerSample",
    "sample_label",
    "max_cluster_customers",
    "MAX_CLUSTER_ENV",
    "DEFAULT_MAX_CLUSTER_CUSTOMERS",
]

MAX_CLUSTER_ENV = "JOURNEY_MAX_CLUSTER_CUSTOMERS"
DEFAULT_MAX_CLUSTER_CUSTOMERS = 200_000
# Distinct labels normalised in Python; a stage column with more is not a stage column.
MAX_STAGE_LABELS = 10_000
# Distinct touchpoints looked at for the default touchpoint -> stage map.
MAX_TOUCHPOINTS = 20_000
EVENT_FIELDS = ("customer_id", "timestamp", "seq", "touchpoint", "stage", "channel")
SURVEY_FIELDS = ("customer_id", "stage", "touchpoint", "score", "comment", "timestamp", "nps")


# --------------------------------------------------------------------------- tables


def _split_name(name: Any) -> tuple[str, tuple[str, ...]]:
    if isinstance(name, (tuple, list)):
        parts = [str(p) for p in name]
    else:
        parts = str(name).split(".")
    if not parts or not all(p.strip() for p in parts):
        raise InputError(str(name), "empty table name; give a table or view name such as events "
                         "or analytics.events")
    return parts[-1], tuple(parts[:-1])


def source_table(engine: Engine, name: str | Sequence[str]) -> ibis.Table:
    """A table or view on the engine's backend; ``"schema.table"`` or
    ``"catalog.schema.table"`` name one outside the current database."""
    table, database = _split_name(name)
    label = ".".join([*database, table])
    try:
        with engine._lock:
            if database:
                db = database[0] if len(database) == 1 else database
                return engine.con.table(table, database=db)
            return engine.con.table(table)
    except Exception as exc:  # each backend raises its own "not found" type
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise InputError(label, f"table or view {label!r} not found on the {engine.backend_name} "
                         f"backend ({first})") from None


def _text(col: ibis.Value) -> ibis.Value:
    """A column as text; whole floats lose their '.0' so ids match across tables."""
    typ = col.type()
    if typ.is_string():
        return col
    if typ.is_floating():
        whole = col.notnull() & (col == col.floor())
        return ibis.ifelse(whole, col.cast("int64").cast("string"), col.cast("string"))
    return col.cast("string")


def _spec_text(t: ibis.Table, spec: Any) -> ibis.Value:
    if isinstance(spec, (list, tuple)):
        return ibis.coalesce(*[_text(t[c]) for c in spec])
    return _text(t[spec])


def _number(col: ibis.Value) -> ibis.Value:
    typ = col.type()
    if typ.is_numeric():
        return col.cast("float64")
    if typ.is_boolean():
        return col.cast("int64").cast("float64")
    return col.cast("string").strip().try_cast("float64")


def _timestamp(col: ibis.Value) -> ibis.Value:
    """A naive timestamp; text is cast by the backend, numbers are epoch values."""
    typ = col.type()
    if typ.is_timestamp():
        return col.cast(dt.Timestamp()) if typ.timezone is not None else col
    if typ.is_date():
        return col.cast("timestamp")
    if typ.is_numeric() and not typ.is_boolean():
        x = col.cast("float64")
        size = x.abs()
        seconds = ibis.cases((size < 1e11, x), (size < 1e14, x / 1e3), else_=x / 1e6)
        return seconds.round().cast("int64").as_timestamp("s")
    return col.cast("string").strip().try_cast("timestamp")


def _stage_expr(engine: Engine, label: str, column: str, raw: ibis.Value, stages: Sequence[str],
                warnings: list[Issue]) -> ibis.Value:
    """Stage labels normalised with schema.normalize_stage over the distinct labels (one
    small query), as a CASE on the backend; unknown labels become null and are counted."""
    text = _text(raw).strip()
    t = text.name("label").as_table()
    counts = execute(t.filter(t.label.notnull() & (t.label != "")).group_by("label")
                     .agg(n=ibis._.count()).limit(MAX_STAGE_LABELS + 1))
    if len(counts) > MAX_STAGE_LABELS:
        raise InputError(label, f"column {column!r} has more than {MAX_STAGE_LABELS} distinct values; "
                         "it does not look like a journey stage; map stage to another column or none",
                         column=column)
    valid = set(stages)
    mapping: dict[str, str] = {}
    unknown: list[tuple[str, int]] = []
    for value, n in zip(counts["label"], counts["n"]):
        got = normalize_stage(value, stages)
        if got in valid:
            mapping[str(value)] = got
        else:
            unknown.append((str(value), int(n)))
    if unknown:
        total = sum(n for _, n in unknown)
        examples = ", ".join(repr(v) for v, _ in sorted(unknown, key=lambda x: -x[1])[:5])
        warnings.append(Issue(label, column, f"{total} rows have a stage not in the stage order "
                              f"({', '.join(stages)}): {examples}; their stage is left empty", total))
    if not mapping:
        return ibis.null("string")
    return text.substitute(mapping, else_=ibis.null("string"))


def _touchpoint_map(engine: Engine, label: str, touchpoint: ibis.Value, stages: Sequence[str],
                    given: Mapping[str, str] | None, warnings: list[Issue]) -> dict[str, str]:
    if given is not None:
        lookup = _stage_lookup(stages)
        out: dict[str, str] = {}
        for tp, stage in given.items():
            got = lookup(stage)
            if got is None and stage is not None and str(stage).strip():
                warnings.append(Issue("touchpoint_stage_map", None, f"stage {stage!r} for touchpoint "
                                      f"{tp!r} is not in the stage order; ignored", 1))
            elif got is not None:
                out[str(tp)] = got
        return out
    t = touchpoint.name("tp").as_table()
    names = execute(t.filter(t.tp.notnull()).select("tp").distinct().limit(MAX_TOUCHPOINTS + 1))["tp"]
    if len(names) > MAX_TOUCHPOINTS:
        warnings.append(Issue(label, None, f"more than {MAX_TOUCHPOINTS} distinct touchpoints: no stage "
                              "is guessed from touchpoint names; give a touchpoint -> stage map"))
        return {}
    return default_touchpoint_stage_map(sorted(str(n) for n in names), stages)


def _fill_stage(stage: ibis.Value, touchpoint: ibis.Value, tp_map: Mapping[str, str]) -> ibis.Value:
    if not tp_map:
        return stage
    return stage.fill_null(touchpoint.substitute(dict(tp_map), else_=ibis.null("string")))


def _dropped(label: str, column: str | None, n: int, what: str, warnings: list[Issue]) -> None:
    if n:
        warnings.append(Issue(label, column, f"{n} rows dropped: {what}", n))


def _columns_frame(t: ibis.Table) -> pd.DataFrame:
    return pd.DataFrame(columns=list(t.columns))


def _extras(t: ibis.Table, used: set[str], reserved: Sequence[str]) -> dict[str, ibis.Value]:
    return {c: t[c] for c in t.columns if c not in used and c not in reserved}


def _used(cols: Mapping[str, Any]) -> set[str]:
    out: set[str] = set()
    for spec in cols.values():
        out.update(spec if isinstance(spec, (list, tuple)) else [spec])
    return out


def _events(engine: Engine, label: str, t: ibis.Table, cols: dict[str, Any], stages: Sequence[str],
            tp_map_given: Mapping[str, str] | None, order_column: str | None,
            warnings: list[Issue]) -> tuple[ibis.Table, dict[str, str]]:
    _require("touchpoints", label, _columns_frame(t), cols, FIELDS["touchpoints"][0])
    if isinstance(cols["timestamp"], (list, tuple)):
        raise InputError(label, "timestamp must be mapped to one column", column="timestamp")
    if order_column is not None and order_column not in t.columns:
        raise InputError(label, f"order column {order_column!r} not found; columns: "
                         f"{', '.join(t.columns)}", column=order_column)
    cid = _spec_text(t, cols["customer_id"])
    ts = _timestamp(t[cols["timestamp"]])
    tp = _spec_text(t, cols["touchpoint"])
    used = _used(cols) | ({order_column} if order_column else set())
    base = t.mutate(_cid=cid, _ts=ts, _tp=tp)
    summary = execute(base.aggregate(
        n=base.count(),
        no_id=base._cid.isnull().sum(),
        no_ts=base[cols["timestamp"]].isnull().sum(),
        bad_ts=(base._ts.isnull() & base[cols["timestamp"]].notnull()).sum(),
        no_tp=(base._cid.notnull() & base._ts.notnull() & base._tp.isnull()).sum(),
    )).iloc[0]
    if int(summary["n"]) == 0:
        raise InputError(label, "the table has no rows")
    ts_col = cols["timestamp"]
    if int(summary["no_ts"]) + int(summary["bad_ts"]) >= int(summary["n"]):
        raise InputError(label, f"no readable timestamp in column {ts_col!r}; text must be ISO 8601 "
                         "(2024-03-01 10:15:00) or make a view that parses it", column=ts_col)
    _dropped(label, str(cols["customer_id"]), int(summary["no_id"]), "no customer id", warnings)
    _dropped(label, ts_col, int(summary["no_ts"]), "no timestamp", warnings)
    _dropped(label, ts_col, int(summary["bad_ts"]), "unreadable timestamp (not ISO 8601)", warnings)
    _dropped(label, str(cols["touchpoint"]), int(summary["no_tp"]), "no touchpoint", warnings)
    kept = base.filter(base._cid.notnull() & base._ts.notnull() & base._tp.notnull())

    tp_map = _touchpoint_map(engine, label, kept._tp, stages, tp_map_given, warnings)
    if "stage" in cols:
        stage = _stage_expr(engine, label, cols["stage"], kept[cols["stage"]], stages, warnings)
    else:
        stage = ibis.null("string")
    stage = _fill_stage(stage, kept._tp, tp_map)
    channel = _text(kept[cols["channel"]]) if "channel" in cols else ibis.null("string")
    out = kept.select(
        customer_id=kept._cid,
        timestamp=kept._ts,
        touchpoint=kept._tp,
        stage=stage.cast("string"),
        channel=channel.cast("string"),
        **({"_order": kept[order_column]} if order_column else {}),
        **_extras(kept, used, (*EVENT_FIELDS, "_cid", "_ts", "_tp", "_order")),
    )
    # No file order in a table: a deterministic order per customer stands in for it.
    order = [out.timestamp] + ([out._order] if order_column else []) + [out.touchpoint, out.stage, out.channel]
    w = ibis.window(group_by=out.customer_id, order_by=order)
    out = out.mutate(seq=ibis.row_number().over(w).cast("int64"))
    extras = [c for c in out.columns if c not in EVENT_FIELDS and c != "_order"]
    return out.select(*EVENT_FIELDS, *extras), tp_map


def _survey(engine: Engine, label: str, t: ibis.Table, cols: dict[str, Any], stages: Sequence[str],
            tp_map: Mapping[str, str], warnings: list[Issue], combined: bool) -> ibis.Table:
    _require("survey", label, _columns_frame(t), cols, FIELDS["survey"][0])
    cid = _spec_text(t, cols["customer_id"])
    ts = _timestamp(t[cols["timestamp"]]) if "timestamp" in cols else ibis.null("timestamp")
    comment = _text(t[cols["comment"]]) if "comment" in cols else ibis.null("string")
    nps = _number(t[cols["nps"]]) if "nps" in cols else ibis.null("float64")
    nps = ibis.ifelse(nps.between(0, 10), nps, ibis.null("float64"))
    common = {"customer_id": cid, "comment": comment.cast("string"), "timestamp": ts, "nps": nps}
    spec = cols["score"]
    used = _used(cols)
    lookup = _stage_lookup(stages)
    if isinstance(spec, (list, tuple)):
        # A wide survey: one score column per stage or touchpoint, melted into rows.
        parts = []
        for col in spec:
            stage = lookup(col) or tp_map.get(str(col))
            parts.append(t.select(
                customer_id=common["customer_id"],
                stage=ibis.literal(stage, type="string"),
                touchpoint=ibis.literal(str(col), type="string"),
                score=_number(t[col]),
                comment=common["comment"],
                timestamp=common["timestamp"],
                nps=common["nps"],
            ))
        rows = ibis.union(*parts, distinct=False)
    else:
        if "stage" in cols:
            stage = _stage_expr(engine, label, cols["stage"], t[cols["stage"]], stages, warnings)
        else:
            stage = ibis.null("string")
        tp = _text(t[cols["touchpoint"]]) if "touchpoint" in cols else ibis.null("string")
        stage = _fill_stage(stage, tp, tp_map)
        if "stage" not in cols and "touchpoint" not in cols:
            warnings.append(Issue(label, None, "no stage or touchpoint column: scores cannot be placed on "
                                  "the journey"))
        extra = {} if combined else _extras(t, used, SURVEY_FIELDS)
        rows = t.select(customer_id=common["customer_id"], stage=stage.cast("string"),
                        touchpoint=tp.cast("string"), score=_number(t[spec]), comment=common["comment"],
                        timestamp=common["timestamp"], nps=common["nps"], **extra)
    summary = execute(rows.aggregate(
        n=rows.count(),
        no_id=rows.customer_id.isnull().sum(),
        no_score=(rows.customer_id.notnull() & rows.score.isnull()).sum(),
    )).iloc[0]
    score_label = ", ".join(spec) if isinstance(spec, (list, tuple)) else str(spec)
    if int(summary["n"]) - int(summary["no_id"]) - int(summary["no_score"]) <= 0:
        raise InputError(label, f"no usable scores in {score_label!r}", column=score_label)
    _dropped(label, str(cols["customer_id"]), int(summary["no_id"]), "no customer id", warnings)
    if not combined:
        _dropped(label, score_label, int(summary["no_score"]), "no score (blank or not a number)", warnings)
    return rows.filter(rows.customer_id.notnull() & rows.score.notnull())


def _score_scale(survey: ibis.Table, label: str, warnings: list[Issue]) -> ScoreScale | None:
    """io.detect_score_scale computed on the backend: the narrowest standard scale that
    holds at least 99% of the scores, else the observed range."""
    s = survey.score
    metrics = {"n": s.count(), "low": s.min(), "high": s.max()}
    for i, (lo, hi) in enumerate((*_SCALES_NONNEG, *_SCALES_SIGNED)):
        metrics[f"in_{i}"] = s.between(lo, hi).cast("int64").sum()
    got = execute(survey.aggregate(**metrics)).iloc[0]
    if int(got["n"]) == 0:
        return None
    low, high, n = float(got["low"]), float(got["high"]), int(got["n"])
    family = list(enumerate(_SCALES_NONNEG)) if low >= 0 else [
        (len(_SCALES_NONNEG) + j, sc) for j, sc in enumerate(_SCALES_SIGNED)]
    scale = None
    for i, (lo, hi) in family:
        if int(got[f"in_{i}"]) / n >= 0.99:
            scale = ScoreScale(float(lo), float(hi))
            break
    scale = scale or ScoreScale(low, high)
    out = int(execute(survey.aggregate(o=(~survey.score.between(scale.low, scale.high)).cast("int64").sum()))
              .iloc[0]["o"] or 0)
    if out:
        warnings.append(Issue(label, "score", f"{out} scores outside the detected scale {scale.label} "
                              "(kept, not rescaled)", out))
    return scale


def _customers(label: str, t: ibis.Table, cols: dict[str, Any], warnings: list[Issue]) -> ibis.Table:
    _require("customers", label, _columns_frame(t), cols, FIELDS["customers"][0])
    out = t.select(customer_id=_spec_text(t, cols["customer_id"]),
                   **_extras(t, _used(cols), ("customer_id",)))
    got = execute(out.aggregate(n=out.count(), ids=out.customer_id.nunique(),
                                no_id=out.customer_id.isnull().sum())).iloc[0]
    _dropped(label, str(cols["customer_id"]), int(got["no_id"]), "no customer id", warnings)
    repeated = int(got["n"]) - int(got["no_id"]) - int(got["ids"])
    if repeated:
        warnings.append(Issue(label, str(cols["customer_id"]), f"{repeated} rows repeat a customer id; "
                              "per-customer features use the first row of each", repeated))
    return out.filter(out.customer_id.notnull())


def load_tables(
    engine: Engine | None,
    touchpoints: str | None,
    survey: str | None = None,
    customers: str | None = None,
    mapping: Mapping[str, Any] | None = None,
    stages: Sequence[str] = DEFAULT_STAGES,
    touchpoint_stage_map: Mapping[str, str] | None = None,
    order_column: str | None = None,
) -> JourneyData:
    """Tables or views on the engine's backend as a :class:`JourneyData` of Ibis expressions.

    Columns are detected from common spellings as for files (``mapping`` overrides them,
    ``"survey.timestamp"`` for one table only; a list for ``score`` melts a wide survey).
    ``order_column`` breaks timestamp ties (see the module notes on ``seq``). Raises
    :class:`journeylib.io.InputError` naming the table and column when a table is missing,
    a required column cannot be found or nothing usable is left.
    """
    eng = engine or default_engine()
    stages = tuple(stages)
    warnings: list[Issue] = []
    sources: dict[str, tuple[str, ibis.Table]] = {}
    for kind, name in (("touchpoints", touchpoints), ("survey", survey), ("customers", customers)):
        if name is None or (isinstance(name, str) and not name.strip()):
            continue
        table = source_table(eng, name)
        sources[kind] = (".".join([*_split_name(name)[1], _split_name(name)[0]]), table)
    if "touchpoints" not in sources and "survey" not in sources:
        raise InputError("(input)", "no input: give a touchpoints or survey table")
    frames = {kind: (label, _columns_frame(t)) for kind, (label, t) in sources.items()}
    cols, errors = _resolve_mapping(frames, mapping)
    if errors:
        raise errors[0]

    events = survey_t = customers_t = None
    tp_map: dict[str, str] = {}
    surveys: list[tuple[str, ibis.Table]] = []
    if "touchpoints" in sources:
        label, t = sources["touchpoints"]
        tcols = cols["touchpoints"]
        event_cols = {k: v for k, v in tcols.items() if k in ("customer_id", "timestamp", "touchpoint",
                                                               "stage", "channel")}
        answer_cols = _used(tcols) - _used(event_cols) if "score" in tcols else set()
        events, tp_map = _events(eng, label, t.drop(*sorted(answer_cols)) if answer_cols else t,
                                 event_cols, stages, touchpoint_stage_map, order_column, warnings)
        if "score" in tcols:
            scols = {k: v for k, v in tcols.items() if k in ("customer_id", "score", "stage", "touchpoint",
                                                             "comment", "timestamp", "nps")}
            surveys.append((label, _survey(eng, label, t, scols, stages, tp_map, warnings, combined=True)))
    elif touchpoint_stage_map is not None:
        lookup = _stage_lookup(stages)
        tp_map = {str(k): lookup(v) for k, v in touchpoint_stage_map.items() if lookup(v) is not None}
    if "survey" in sources:
        label, t = sources["survey"]
        surveys.append((label, _survey(eng, label, t, cols["survey"], stages, tp_map, warnings,
                                       combined=False)))
    if "customers" in sources:
        label, t = sources["customers"]
        customers_t = _customers(label, t, cols["customers"], warnings)

    scale = None
    if surveys:
        shared = list(SURVEY_FIELDS)
        if len(surveys) == 1:
            survey_t = surveys[0][1]
        else:
            survey_t = ibis.union(*[s.select(*shared) for _, s in surveys], distinct=False)
        scale = _score_scale(survey_t, surveys[-1][0], warnings)
    if events is None:
        events = eng.table(pd.DataFrame({
            "customer_id": pd.Series([], dtype="str"), "timestamp": pd.Series([], dtype="datetime64[us]"),
            "seq": pd.Series([], dtype="int64"), "touchpoint": pd.Series([], dtype="str"),
            "stage": pd.Series([], dtype="str"), "channel": pd.Series([], dtype="str")}))
    return JourneyData(
        events=events,
        survey=survey_t,
        customers=customers_t,
        journey=JourneyModel.default(stages),
            touchpoint_stage_map=tp_map,
        score_scale=scale,
        source_names={k: v[0] for k, v in sources.items()},
        warnings=warnings,
    )


# --------------------------------------------------------------------------- personas on the backend


def labels_table(engine: Engine | None, assignments: pd.DataFrame, name: str | None = None) -> ibis.Table:
    """Persona assignments (customer_id, persona) as a table on the engine's backend, so
    filtering by persona is a join where the events live."""
    missing = [c for c in ("customer_id", "persona") if c not in assignments.columns]
    if missing:
        raise ValueError(f"assignments lack column(s): {', '.join(missing)}")
    frame = pd.DataFrame({
        "customer_id": assignments["customer_id"].astype("str"),
        "persona": assignments["persona"].astype("str"),
    }).drop_duplicates()
    repeated = frame["customer_id"][frame["customer_id"].duplicated()]
    if not repeated.empty:
        raise ValueError(f"assignments give more than one persona to customer(s): "
                         f"{', '.join(repeated.unique()[:3])}")
    return (engine or default_engine()).table(frame.reset_index(drop=True), name=name)


def _restrict(data: JourneyData, ids: ibis.Table) -> JourneyData:
    """Semi-join every table of ``data`` on a one-column (customer_id) table."""
    keep = ids.select(customer_id=ids.customer_id.cast("string"))
    survey = data.survey.semi_join(keep, "customer_id") if data.survey is not None else None
    customers = data.customers.semi_join(keep, "customer_id") if data.customers is not None else None
    return replace(data, events=data.events.semi_join(keep, "customer_id"), survey=survey,
                   customers=customers)


def filter_personas(data: JourneyData, labels: ibis.Table, personas: str | Sequence[str]) -> JourneyData:
    """Only the customers of the given persona(s), joined on the backend (no id list in Python)."""
    names = [personas] if isinstance(personas, str) else [str(p) for p in personas]
    return _restrict(data, labels.filter(labels.persona.isin(names)).select("customer_id"))


def max_cluster_customers() -> int:
    """Customers whose features are pulled for clustering at most (env JOURNEY_MAX_CLUSTER_CUSTOMERS)."""
    raw = os.environ.get(MAX_CLUSTER_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_CLUSTER_CUSTOMERS
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise ValueError(f"{MAX_CLUSTER_ENV} must be a whole number of customers, not {raw!r}") from None
    if value < 3:
        raise ValueError(f"{MAX_CLUSTER_ENV} must be at least 3, not {value}")
    return value


@dataclass
class CustomerSample:
    """The data restricted to a sample of customers (or all of them) and its sizes."""

    data: JourneyData
    sampled: int  # customers in the sample
    total: int  # customers with events
    ids: ibis.Table | None = None  # the sampled customer_id values (None: everybody)

    @property
    def is_sample(self) -> bool:
        return self.sampled < self.total

    @property
    def label(self) -> str:
        """E.g. "a sample of 200,000 of 1,250,000 customers"."""
        return sample_label(self.sampled, self.total)


def sample_label(sampled: int, total: int) -> str:
    """"all 1,000 customers" or "a sample of 200,000 of 1,250,000 customers"."""
    if sampled >= total:
        return f"all {total:,} customers"
    return f"a sample of {sampled:,} of {total:,} customers"


def _bucket_key(customer_id: ibis.Value, seed: int) -> ibis.Value:
    # Salting with the seed gives a different, still reproducible, order per seed.
    return customer_id.cast("string").concat(ibis.literal(f"|{int(seed)}")).hash()


def sample_customers(data: JourneyData, max_customers: int | None = None, seed: int = 0) -> CustomerSample:
    """At most ``max_customers`` customers (default :func:`max_cluster_customers`), chosen
    on the backend by a seeded hash of their id: the same seed gives the same sample, and
    the sample has exactly ``max_customers`` customers when there are more."""
    limit = max_cluster_customers() if max_customers is None else int(max_customers)
    if limit < 1:
        raise ValueError(f"max_customers must be at least 1, not {max_customers!r}")
    ev = data.events
    ids = ev.select(customer_id=ev.customer_id.cast("string")).distinct()
    total = int(execute(ids.aggregate(n=ids.count())).iloc[0]["n"])
    if total <= limit:
        return CustomerSample(data=data, sampled=total, total=total)
    picked = first_by_key(ids, limit, seed)
    return CustomerSample(data=_restrict(data, picked), sampled=limit, total=total, ids=picked)


def first_by_key(ids: ibis.Table, limit: int, seed: int = 0) -> ibis.Table:
    """The ``limit`` customers of a one-column (string customer_id) table that come first in
    the seeded hash order :func:`sample_customers` picks by."""
    keyed = ids.mutate(_key=_bucket_key(ids.customer_id, seed))
    return keyed.order_by([keyed._key, keyed.customer_id]).limit(limit).select("customer_id")


def customer_chunks(data: JourneyData, n_chunks: int, seed: int = 0) -> Iterator[JourneyData]:
    """``data`` split into ``n_chunks`` disjoint groups of customers (hash buckets on the
    backend) that together hold every customer: for pulling features of all customers a
    chunk at a time."""
    if isinstance(n_chunks, bool) or int(n_chunks) < 1:
        raise ValueError(f"n_chunks must be a positive integer, not {n_chunks!r}")
    n = int(n_chunks)
    if n == 1:
        yield data
        return
    ev = data.events
    ids = ev.select(customer_id=ev.customer_id.cast("string")).distinct()
    # ((h % n) + n) % n: a non-negative bucket whether the backend's hash is signed or not.
    keyed = ids.mutate(_bucket=((_bucket_key(ids.customer_id, seed) % n) + n) % n)
    for i in range(n):
        yield _restrict(data, keyed.filter(keyed._bucket == i).select("customer_id"))
