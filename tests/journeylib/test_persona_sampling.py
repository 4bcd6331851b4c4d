"""persona_sampling: persona labels as a table on the backend, persona filters as joins
there, and customer samples and chunks for fitting personas on large data.

The backend is a DuckDB file database written with plain SQL and read through a second
connection opened by URL, as a team's warehouse would be.
"""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from journeylib import persona_sampling
from journeylib.engine import Engine
from journeylib.ingest import load_tables

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
    con.disconnect()
    return f"duckdb:///{path}"


@pytest.fixture
def engine(warehouse_url):
    eng = Engine(warehouse_url)
    yield eng
    eng.con.disconnect()


def test_labels_table_round_trip_and_persona_filter(engine):
    data = load_tables(engine, "web_events", "answers", "people")
    assignments = pd.DataFrame({"customer_id": [1, 2, 3], "persona": ["Buyers", "Browsers", "Buyers"]})
    labels = persona_sampling.labels_table(engine, assignments)
    back = engine.execute(labels).sort_values("customer_id").reset_index(drop=True)
    assert back.values.tolist() == [["1", "Buyers"], ["2", "Browsers"], ["3", "Buyers"]]
    buyers = persona_sampling.filter_personas(data, labels, "Buyers")
    assert set(buyers.events.execute()["customer_id"]) == {"1", "3"}
    assert set(buyers.survey.execute()["customer_id"]) == {"1", "3"}
    assert set(buyers.customers.execute()["customer_id"]) == {"1", "3"}
    # The filter is a join on the backend: the id list never appears in the SQL.
    sql = str(ibis.to_sql(buyers.events))
    assert "Buyers" in sql and "'3'" not in sql
    with pytest.raises(ValueError, match="more than one persona"):
        persona_sampling.labels_table(engine, pd.DataFrame({"customer_id": ["1", "1"], "persona": ["A", "B"]}))
    with pytest.raises(ValueError, match="persona"):
        persona_sampling.labels_table(engine, pd.DataFrame({"customer_id": ["1"]}))


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
    s1 = persona_sampling.sample_customers(many, 150, seed=1)
    assert (s1.sampled, s1.total, s1.is_sample) == (150, 1000, True)
    assert s1.label == "a sample of 150 of 1,000 customers"
    ids1 = s1.ids.execute()["customer_id"]
    assert ids1.nunique() == 150
    ev = s1.data.events.execute()
    assert set(ev["customer_id"]) == set(ids1) and len(ev) == 300  # both events of each sampled customer
    again = persona_sampling.sample_customers(many, 150, seed=1).ids.execute()["customer_id"]
    assert list(again) == list(ids1)
    other = set(persona_sampling.sample_customers(many, 150, seed=2).ids.execute()["customer_id"])
    assert other != set(ids1)
    everyone = persona_sampling.sample_customers(many, 1000, seed=1)
    assert (everyone.sampled, everyone.total, everyone.is_sample, everyone.ids) == (1000, 1000, False, None)
    assert everyone.data is many and everyone.label == "all 1,000 customers"
    with pytest.raises(ValueError):
        persona_sampling.sample_customers(many, 0)


def test_max_cluster_customers_from_environment(monkeypatch, many):
    monkeypatch.delenv(persona_sampling.MAX_CLUSTER_ENV, raising=False)
    assert persona_sampling.max_cluster_customers() == 200_000
    monkeypatch.setenv(persona_sampling.MAX_CLUSTER_ENV, "100")
    assert persona_sampling.max_cluster_customers() == 100
    assert persona_sampling.sample_customers(many).sampled == 100
    monkeypatch.setenv(persona_sampling.MAX_CLUSTER_ENV, "lots")
    with pytest.raises(ValueError, match="JOURNEY_MAX_CLUSTER_CUSTOMERS"):
        persona_sampling.max_cluster_customers()


def test_customer_chunks_partition_everybody(many):
    seen: list[str] = []
    sizes = []
    for chunk in persona_sampling.customer_chunks(many, 4):
        ids = chunk.events.select("customer_id").distinct().execute()["customer_id"].tolist()
        seen += ids
        sizes.append(len(ids))
    assert sorted(seen) == [f"c{i:04d}" for i in range(1000)]  # each customer exactly once
    assert all(150 < n < 350 for n in sizes)  # hash buckets of roughly equal size
    assert list(persona_sampling.customer_chunks(many, 1))[0] is many
