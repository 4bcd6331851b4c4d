"""warehouse: tables on a backend as JourneyData, persona labels back there, customer samples.

The "warehouse" here is a DuckDB file database written by one connection with plain SQL
and read through a second one opened by URL, as a team's warehouse would be.
"""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from journeylib import emotions, flows, persona_sampling as warehouse
from journeylib import ingest as io
from journeylib.ingest import load_tables
from journeylib.journey import JourneyModel
from journeylib.schema import ScoreScale
from journeylib.engine import Engine
from journeylib.ingest import InputError

EVENTS_SQL = """
create table web_events as select * from (values
  (1, TIMESTAMP '2024-01-01 10:00:00', 'Home page', 'awareness', 'web', 'GB'),
  (1, TIMESTAMP '2024-01-01 10:00:00', 'Ad', 'Awareness', 'social', 'GB'),
  (1, TIMESTAMP '2024-01-02 09:30:00', 'Checkout', 'buy', 'web', 'GB'),
  (2, TIMESTAMP '2024-01-01 09:00:00', 'Home page', NULL, 'web', 'FR'),
  (2, NULL, 'Home page', NULL, 'web', 'FR'),
  (2, TIMESTAMP '2024-01-03 12:00:00', 'Checkout page', NULL, 'email', 'FR'),
  (3, TIMESTAMP '2024-01-03 09:00:00', 'Blog', 'weird', 'web', NULL),
  (NULL, TIMESTAMP '2024-01-03 09:00:00', 'Blog', NULL, 'web', NULL)
) t(user_id, event_time, event_name, phase, source, country)
"""
SURVEY_SQL = """
create table answers as select * from (values
  ('1', 'Awareness', '4', 9),
  ('2', 'Purchase', '2', 11),
  ('3', 'Decision', '5', 7),
  ('3', 'Purchase', 'n/a', NULL),
  ('3', NULL, NULL, NULL)
) t(user_id, stage, rating, nps)
"""
CUSTOMERS_SQL = """
create table people as select * from (values (1, 'gold', 30), (2, 'basic', 41), (3, 'basic', 25))
  t(customer_id, plan, age)
"""


@pytest.fixture
def warehouse_url(tmp_path):
    path = tmp_path / "x.ddb"
    con = ibis.duckdb.connect(str(path))
    for sql in (EVENTS_SQL, SURVEY_SQL, CUSTOMERS_SQL):
        con.raw_sql(sql)
    con.raw_sql("create schema analytics")
    con.raw_sql("create table analytics.events as select * from web_events where user_id = 1")
    con.disconnect()
    return f"duckdb:///{path}"


@pytest.fixture
def engine(warehouse_url):
    eng = Engine(warehouse_url)
    yield eng
    eng.con.disconnect()


def test_load_tables_builds_canonical_tables(engine):
    data = load_tables(engine, "web_events", "answers", "people")
    ev = data.events.execute().sort_values(["customer_id", "seq"]).reset_index(drop=True)
    assert list(ev.columns) == ["customer_id", "timestamp", "seq", "touchpoint", "stage", "channel", "stage_label",
                                "country"]
    assert str(data.events.schema()["customer_id"]) == "string"
    assert data.events.schema()["timestamp"].is_timestamp()
    # Integer ids became text; rows without id or timestamp are gone.
    assert ev["customer_id"].tolist() == ["1", "1", "1", "2", "2", "3"]
    # Equal timestamps (customer 1 at 10:00) are ordered by touchpoint name: Ad before Home page.
    assert ev["touchpoint"].tolist() == ["Ad", "Home page", "Checkout", "Home page", "Checkout page", "Blog"]
    assert ev["seq"].tolist() == [0, 1, 2, 0, 1, 0]
    # Stages normalised (awareness, buy), unknown 'weird' emptied, and filled from touchpoint
    # names where the table has none ("Checkout page" -> Purchase).
    assert ev["stage"].tolist()[:3] == ["Awareness", "Awareness", "Purchase"]
    assert pd.isna(ev["stage"][3]) and ev["stage"][4] == "Purchase" and pd.isna(ev["stage"][5])
    assert ev["channel"].tolist() == ["social", "web", "web", "web", "email", "web"]
    assert data.touchpoint_stage_map == {"Checkout": "Purchase", "Checkout page": "Purchase"}
    assert data.source_names == {"touchpoints": "web_events", "survey": "answers", "customers": "people"}

    texts = [str(w) for w in data.warnings]
    assert any("web_events" in t and "'user_id'" in t and "1 rows dropped: no customer id" in t for t in texts)
    assert any("'event_time'" in t and "1 rows dropped: no timestamp" in t for t in texts)
    assert any("'phase'" in t and "'weird'" in t for t in texts)
    # The blank rating and the one that is no number, each by its own rule, as for a file.
    assert any("answers" in t and "'rating'" in t and "1 rows dropped: no score" in t for t in texts)
    assert any("answers" in t and "'rating'" in t and "1 rows dropped: score is not a number (e.g. 'n/a')" in t
               for t in texts)


def test_survey_scores_nps_and_scale(engine):
    data = load_tables(engine, "web_events", "answers")
    sv = data.survey.execute().sort_values("customer_id").reset_index(drop=True)
    assert sv["customer_id"].tolist() == ["1", "2", "3"]
    assert sv["score"].tolist() == [4.0, 2.0, 5.0]
    assert sv["stage"].tolist() == ["Awareness", "Purchase", "Intent"]  # Decision -> Intent
    assert sv["nps"].iloc[0] == 9.0 and pd.isna(sv["nps"].iloc[1])  # 11 is outside 0-10
    assert data.score_scale == ScoreScale(1.0, 5.0)
    curve = emotions.emotion_curve(data.survey, data.stages, min_n=1)
    assert dict(zip(curve["stage"], curve["mean"])) == {"Awareness": 4.0, "Intent": 5.0, "Purchase": 2.0}


def test_flows_match_the_file_loader_on_the_same_data(engine):
    frame = engine.execute(engine.con.table("web_events"))
    # Without the timestamp tie (file order and name order would differ) both loaders agree.
    from_file = io.load_journey(frame[frame["event_name"] != "Ad"].reset_index(drop=True))
    from_table = load_tables(engine, "web_events")
    events = from_table.events.filter(from_table.events.touchpoint != "Ad")
    pd.testing.assert_frame_equal(flows.transitions(from_file.events), flows.transitions(events))
    pd.testing.assert_frame_equal(flows.step_sankey(from_file.events, level="stage"),
                                  flows.step_sankey(events, level="stage"))


def test_mapping_overrides_and_schema_qualified_names(tmp_path):
    path = tmp_path / "m.ddb"
    con = ibis.duckdb.connect(str(path))
    con.raw_sql("""create table log as select * from (values
        ('a', '2024-02-01 08:00:00', 'Search', 'Google'),
        ('a', '2024-02-01 09:00:00', 'Buy now', 'Site'),
        ('b', 'not a date', 'Search', 'Google'),
        ('b', '2024-02-02 10:00:00', 'Search', 'Google')
      ) t(who, happened, what, via)""")
    con.raw_sql("create table epoch_log as select * from (values ('a', 1706774400, 'x'), "
                "('a', 1706774400000, 'y')) t(customer_id, ts, touchpoint)")
    con.disconnect()
    eng = Engine(f"duckdb:///{path}")
    data = load_tables(eng, "log", mapping={"customer_id": "who", "timestamp": "happened",
                                                      "touchpoint": "what", "channel": "via"},
                       journey=JourneyModel.default(stage_map={"Buy now": "checkout", "Search": "nonsense"},
                                                    guess_stages=False))
    ev = data.events.execute().sort_values(["customer_id", "seq"]).reset_index(drop=True)
    assert ev["timestamp"].tolist() == [pd.Timestamp("2024-02-01 08:00"), pd.Timestamp("2024-02-01 09:00"),
                                        pd.Timestamp("2024-02-02 10:00")]  # text cast, 'not a date' dropped
    assert ev["stage"].tolist()[1] == "Purchase"  # the given map, normalised
    assert data.touchpoint_stage_map == {"Buy now": "Purchase"}
    texts = [str(w) for w in data.warnings]
    assert any("unparseable timestamp" in t and "'happened'" in t and "1 rows" in t for t in texts)
    assert any("'nonsense'" in t for t in texts)
    # Epoch seconds and milliseconds told apart by magnitude.
    ep = load_tables(eng, "epoch_log").events.execute()
    assert set(ep["timestamp"]) == {pd.Timestamp("2024-02-01 08:00:00")}
    eng.con.disconnect()


def test_schema_qualified_table(engine):
    data = load_tables(engine, "analytics.events")
    assert set(data.events.execute()["customer_id"]) == {"1"}
    assert data.source_names["touchpoints"] == "analytics.events"


def test_wide_survey_and_combined_table(tmp_path):
    path = tmp_path / "w.ddb"
    con = ibis.duckdb.connect(str(path))
    con.raw_sql("create table wide as select * from (values ('a', 4, 2), ('b', NULL, 5)) "
                "t(respondent_id, Awareness, Checkout)")
    con.raw_sql("""create table combined as select * from (values
        ('a', TIMESTAMP '2024-01-01 10:00', 'Home', 3.0, 'ok'),
        ('a', TIMESTAMP '2024-01-01 11:00', 'Cart', NULL, NULL)) t(user_id, timestamp, event, score, comment)""")
    con.disconnect()
    eng = Engine(f"duckdb:///{path}")
    wide = load_tables(eng, None, survey="wide", mapping={"score": ["Awareness", "Checkout"]})
    sv = wide.survey.execute().sort_values(["customer_id", "touchpoint"]).reset_index(drop=True)
    assert sv[["customer_id", "touchpoint", "score"]].values.tolist() == [
        ["a", "Awareness", 4.0], ["a", "Checkout", 2.0], ["b", "Checkout", 5.0]]
    assert sv["stage"].tolist() == ["Awareness", "Purchase", "Purchase"]  # column names as stages
    both = load_tables(eng, "combined")
    assert both.events.count().execute() == 2
    assert "score" not in both.events.columns and "comment" not in both.events.columns
    got = both.survey.execute()
    assert got[["customer_id", "touchpoint", "score", "comment"]].values.tolist() == [["a", "Home", 3.0, "ok"]]
    eng.con.disconnect()


def test_errors_name_the_table_and_column(engine):
    with pytest.raises(InputError, match=r"^no_such_table: table or view 'no_such_table' not found"):
        load_tables(engine, "no_such_table")
    with pytest.raises(InputError, match=r"^nowhere\.web_events: .*not found"):
        load_tables(engine, "nowhere.web_events")
    with pytest.raises(InputError) as err:
        load_tables(engine, "people")  # a customers table is no event table
    assert err.value.file == "people" and err.value.column == "timestamp"
    assert "no column for required field 'timestamp'" in str(err.value)
    with pytest.raises(InputError, match=r"^web_events: mapped column 'missing' for field 'touchpoint'"):
        load_tables(engine, "web_events", mapping={"touchpoint": "missing"})
    with pytest.raises(InputError, match="unknown field 'colour'"):
        load_tables(engine, "web_events", mapping={"colour": "source"})
    with pytest.raises(InputError, match=r"^web_events: order column 'nope' not found"):
        load_tables(engine, "web_events", order_column="nope")
    with pytest.raises(InputError, match=r"no parseable timestamp in column 'event_name'"):
        load_tables(engine, "web_events", mapping={"timestamp": "event_name", "touchpoint": "source"})
    with pytest.raises(InputError, match=r"^answers: no usable scores in 'stage'"):
        load_tables(engine, None, survey="answers", mapping={"survey.score": "stage"})


def test_order_column_breaks_ties(tmp_path):
    path = tmp_path / "o.ddb"
    con = ibis.duckdb.connect(str(path))
    con.raw_sql("create table ev as select * from (values ('a', DATE '2024-01-01', 'Zebra', 1), "
                "('a', DATE '2024-01-01', 'Apple', 2)) t(customer_id, date, event, event_id)")
    con.disconnect()
    eng = Engine(f"duckdb:///{path}")
    by_name = load_tables(eng, "ev")
    by_id = load_tables(eng, "ev", order_column="event_id")
    assert flows.transitions(by_name.events)[["source", "target"]].values.tolist() == [["Apple", "Zebra"]]
    assert flows.transitions(by_id.events)[["source", "target"]].values.tolist() == [["Zebra", "Apple"]]
    eng.con.disconnect()


def test_labels_table_round_trip_and_persona_filter(engine):
    data = load_tables(engine, "web_events", "answers", "people")
    assignments = pd.DataFrame({"customer_id": [1, 2, 3], "persona": ["Buyers", "Browsers", "Buyers"]})
    labels = warehouse.labels_table(engine, assignments)
    back = engine.execute(labels).sort_values("customer_id").reset_index(drop=True)
    assert back.values.tolist() == [["1", "Buyers"], ["2", "Browsers"], ["3", "Buyers"]]
    buyers = warehouse.filter_personas(data, labels, "Buyers")
    assert set(buyers.events.execute()["customer_id"]) == {"1", "3"}
    assert set(buyers.survey.execute()["customer_id"]) == {"1", "3"}
    assert set(buyers.customers.execute()["customer_id"]) == {"1", "3"}
    # The filter is a join on the backend: the id list never appears in the SQL.
    sql = str(ibis.to_sql(buyers.events))
    assert "Buyers" in sql and "'3'" not in sql
    with pytest.raises(ValueError, match="more than one persona"):
        warehouse.labels_table(engine, pd.DataFrame({"customer_id": ["1", "1"], "persona": ["A", "B"]}))
    with pytest.raises(ValueError, match="persona"):
        warehouse.labels_table(engine, pd.DataFrame({"customer_id": ["1"]}))


@pytest.fixture
def many(tmp_path):
    """1,000 customers with two events each, in a DuckDB file."""
    path = tmp_path / "many.ddb"
    con = ibis.duckdb.connect(str(path))
    con.raw_sql("""create table ev as select 'c' || lpad(cast(i % 1000 as varchar), 4, '0') as customer_id,
        TIMESTAMP '2024-01-01' + to_minutes(i) as timestamp,
        case when i < 1000 then 'Home' else 'Cart' end as touchpoint
        from range(2000) r(i)""")
    con.disconnect()
    eng = Engine(f"duckdb:///{path}")
    yield load_tables(eng, "ev")
    eng.con.disconnect()


def test_sample_customers_exact_and_deterministic(many):
    s1 = warehouse.sample_customers(many, 150, seed=1)
    assert (s1.sampled, s1.total, s1.is_sample) == (150, 1000, True)
    assert s1.label == "a sample of 150 of 1,000 customers"
    ids1 = s1.ids.execute()["customer_id"]
    assert ids1.nunique() == 150
    ev = s1.data.events.execute()
    assert set(ev["customer_id"]) == set(ids1) and len(ev) == 300  # both events of each sampled customer
    again = warehouse.sample_customers(many, 150, seed=1).ids.execute()["customer_id"]
    assert list(again) == list(ids1)
    other = set(warehouse.sample_customers(many, 150, seed=2).ids.execute()["customer_id"])
    assert other != set(ids1)
    everyone = warehouse.sample_customers(many, 1000, seed=1)
    assert (everyone.sampled, everyone.total, everyone.is_sample, everyone.ids) == (1000, 1000, False, None)
    assert everyone.data is many and everyone.label == "all 1,000 customers"
    with pytest.raises(ValueError):
        warehouse.sample_customers(many, 0)


def test_max_cluster_customers_from_environment(monkeypatch, many):
    monkeypatch.delenv(warehouse.MAX_CLUSTER_ENV, raising=False)
    assert warehouse.max_cluster_customers() == 200_000
    monkeypatch.setenv(warehouse.MAX_CLUSTER_ENV, "100")
    assert warehouse.max_cluster_customers() == 100
    assert warehouse.sample_customers(many).sampled == 100
    monkeypatch.setenv(warehouse.MAX_CLUSTER_ENV, "lots")
    with pytest.raises(ValueError, match="JOURNEY_MAX_CLUSTER_CUSTOMERS"):
        warehouse.max_cluster_customers()


def test_customer_chunks_partition_everybody(many):
    seen: list[str] = []
    sizes = []
    for chunk in warehouse.customer_chunks(many, 4):
        ids = chunk.events.select("customer_id").distinct().execute()["customer_id"].tolist()
        seen += ids
        sizes.append(len(ids))
    assert sorted(seen) == [f"c{i:04d}" for i in range(1000)]  # each customer exactly once
    assert all(150 < n < 350 for n in sizes)  # hash buckets of roughly equal size
    assert list(warehouse.customer_chunks(many, 1))[0] is many
