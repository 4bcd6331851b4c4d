"""The same analysis on PySpark (local mode) and on DuckDB gives the same results.

The raw sample tables are registered on both backends and loaded with
``ingest.load_tables``, so everything from the canonical tables on is built as Ibis
expressions and runs on each backend. Skips when pyspark or Java is missing.
"""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest

pyspark = pytest.importorskip("pyspark")

from journeylib import emotions, flows, insights, persona_sampling, sample  # noqa: E402
from journeylib.ingest import load_tables  # noqa: E402
from journeylib.engine import Engine  # noqa: E402

if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
    pytest.skip("Java is not installed: PySpark cannot start", allow_module_level=True)

RAW = ("touchpoints", "survey", "customers")


@pytest.fixture(scope="module")
def raw():
    return sample.generate_sample(300, seed=3)


@pytest.fixture(scope="module")
def spark_engine():
    import ibis
    from pyspark.sql import SparkSession

    try:
        session = (
            SparkSession.builder.master("local[1]")
            .appName("journeylib-tests")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.default.parallelism", "1")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
    except Exception as exc:  # e.g. a Java that Spark does not support
        pytest.skip(f"Spark could not start: {str(exc).splitlines()[0][:200]}")
    session.sparkContext.setLogLevel("ERROR")
    yield Engine(con=ibis.pyspark.connect(session))
    session.stop()


@pytest.fixture(scope="module")
def both(raw, spark_engine):
    """(duckdb data, spark data) loaded from the same raw tables on each backend."""
    out = []
    for eng in (Engine(), spark_engine):
        for kind in RAW:
            eng.table(raw[kind], name=f"raw_{kind}")
        out.append(load_tables(eng, "raw_touchpoints", "raw_survey", "raw_customers"))
    return tuple(out)


def _same(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> None:
    assert len(a) > 0, "nothing to compare"
    a = a.sort_values(keys).reset_index(drop=True)
    b = b.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-9, atol=1e-9)


def test_loaded_tables_agree(both, raw):
    duck, spark = both
    assert spark.events.count().execute() == len(raw["touchpoints"]) == duck.events.count().execute()
    assert spark.score_scale == duck.score_scale
    assert spark.touchpoint_stage_map == duck.touchpoint_stage_map
    assert [str(w) for w in spark.warnings] == [str(w) for w in duck.warnings]
    # seq (the tie-breaking order) is the same on both backends.
    cols = ["customer_id", "timestamp", "seq", "touchpoint"]
    _same(duck.events.select(*cols).execute(), spark.events.select(*cols).execute(), ["customer_id", "seq"])


def test_step_sankey_touchpoints(both):
    duck, spark = both
    _same(flows.step_sankey(duck.events, max_steps=5, top=6),
          flows.step_sankey(spark.events, max_steps=5, top=6), ["step", "source", "target"])


def test_transitions_touchpoints(both):
    duck, spark = both
    _same(flows.transitions(duck.events), flows.transitions(spark.events), ["source", "target"])


def test_funnel(both):
    duck, spark = both
    _same(flows.funnel(duck), flows.funnel(spark), ["stage"])


def test_stage_level_flows(both):
    duck, spark = both
    _same(flows.step_sankey(duck.events, level="stage", top=3),
          flows.step_sankey(spark.events, level="stage", top=3), ["step", "source", "target"])
    _same(flows.transitions(duck.events, level="stage"),
          flows.transitions(spark.events, level="stage"), ["source", "target"])


def test_top_paths(both):
    duck, spark = both
    _same(flows.top_paths(duck, n=20), flows.top_paths(spark, n=20), ["path"])


def test_pain_points(both):
    """Reach, leavers (furthest stage, last touchpoint by arg-max) and scores agree."""
    duck, spark = both
    a, b = insights.pain_points(duck), insights.pain_points(spark)
    assert (a["left"] > 0).any()
    _same(a, b, ["level", "stage", "touchpoint"])


def test_journey_map(both):
    """DuckDB counts reach in one pass with bit_or, Spark one query per count (Ibis has no
    bit_or for it): the lanes, quotes and pain points agree."""
    from journeylib import reach
    from journeylib.journey_map import build_journey_map

    duck, spark = both
    assert reach._has_bit_or(duck.events) and not reach._has_bit_or(spark.events)
    a, b = build_journey_map(duck), build_journey_map(spark)
    assert (a.customers, a.stage_customers) == (b.customers, b.stage_customers)
    assert any(a.lanes["quotes"].values()) and any(a.lanes["channels"].values())
    assert a.lanes == b.lanes
    _same(a.pains, b.pains, ["level", "stage", "touchpoint"])


def test_emotion_curves(both, raw):
    duck, spark = both
    truth = raw["truth"]
    _same(emotions.emotion_curve(duck.survey, duck.stages, personas=truth),
          emotions.emotion_curve(spark.survey, spark.stages, personas=truth), ["stage", "persona"])
    _same(emotions.emotion_curve(duck.survey, duck.stages, level="touchpoint"),
          emotions.emotion_curve(spark.survey, spark.stages, level="touchpoint"), ["touchpoint", "persona"])
    _same(emotions.nps(duck.survey), emotions.nps(spark.survey), ["persona"])


def test_customer_features(both):
    personas = pytest.importorskip("journeylib.personas")
    duck, spark = both
    a = personas.customer_features(duck).sort_index()
    b = personas.customer_features(spark).sort_index()
    assert len(a) == 300
    assert list(a.columns) == list(b.columns)
    # duration_days comes from epoch seconds: DuckDB's are fractional, Spark's whole
    # (UNIX_TIMESTAMP); both agree to well under a second (1e-6 days is 0.09 s).
    # Features are float32; Spark keeps whole epoch seconds (durations differ by < 1e-7 days).
    pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-6, atol=1e-5)


def test_sample_chunks_and_labels_on_spark(both, raw, spark_engine):
    duck, spark = both
    picked = persona_sampling.sample_customers(spark, 40, seed=5)
    assert (picked.sampled, picked.total) == (40, 300)
    ids = picked.ids.execute()["customer_id"]
    assert ids.nunique() == 40
    assert set(picked.data.events.select("customer_id").distinct().execute()["customer_id"]) == set(ids)
    assert list(persona_sampling.sample_customers(spark, 40, seed=5).ids.execute()["customer_id"]) == list(ids)

    seen: list[str] = []
    for chunk in persona_sampling.customer_chunks(spark, 3):
        seen += list(chunk.events.select("customer_id").distinct().execute()["customer_id"])
    assert sorted(seen) == sorted(raw["customers"]["customer_id"])  # every customer exactly once

    labels = persona_sampling.labels_table(spark_engine, raw["truth"])
    name = raw["truth"]["persona"].iloc[0]
    only = persona_sampling.filter_personas(spark, labels, name)
    expected = set(raw["truth"]["customer_id"][raw["truth"]["persona"] == name])
    assert set(only.events.select("customer_id").distinct().execute()["customer_id"]) == expected


def test_engine_by_url_reuses_the_session(spark_engine, raw):
    # Settings in the URL configure a new session; in this process Spark hands back the
    # running one, and the engine works on it like any other.
    eng = Engine("pyspark://?spark.sql.shuffle.partitions=2")
    assert eng.backend_name == "pyspark"
    assert eng.con._session is spark_engine.con._session
    t = eng.table(raw["customers"][["customer_id", "total_spend"]].head(5))
    got = eng.execute(t.aggregate(n=t.count(), spend=t.total_spend.sum()))
    assert int(got["n"].iloc[0]) == 5
    assert got["spend"].iloc[0] == pytest.approx(raw["customers"]["total_spend"].head(5).sum())
