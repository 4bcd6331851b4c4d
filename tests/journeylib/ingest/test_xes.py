"""journeylib.ingest.xes: XES event logs read as one row per event, trace attributes as
``case:`` columns (as pm4py flattens a log), then loaded like any other file."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from journeylib.ingest import InputError, load_journey, read_source, read_table
from journeylib.ingest.xes import CASE_PREFIX, read_xes

from .roads import both, customers, events, text_frame

LOG = b"""<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <string key="concept:name" value="a log attribute, no column"/>
  <trace>
    <string key="concept:name" value="case1"/>
    <int key="AMOUNT_REQ" value="5000"/>
    <event>
      <string key="concept:name" value="A_SUBMITTED"/>
      <date key="time:timestamp" value="2011-10-01T00:38:44.546+02:00"/>
      <string key="lifecycle:transition" value="COMPLETE"/>
      <list key="tags"><string key="first" value="x"/></list>
    </event>
    <event>
      <string key="concept:name" value="A_PARTLYSUBMITTED"/>
      <date key="time:timestamp" value="2011-10-01T00:38:44.880+02:00"/>
      <string key="lifecycle:transition" value="COMPLETE"/>
    </event>
  </trace>
  <trace>
    <string key="concept:name" value="case2"/>
    <event>
      <string key="concept:name" value="A_SUBMITTED"/>
      <date key="time:timestamp" value="2011-10-02T10:00:00+02:00"/>
    </event>
  </trace>
</log>
"""


def test_read_xes_one_row_per_event_with_case_columns(engine):
    raw = read_xes("log.xes", LOG, engine)
    try:
        assert raw.kind == "xes" and raw.columns == [
            "case:concept:name", "case:AMOUNT_REQ", "concept:name", "time:timestamp", "lifecycle:transition",
            "tags.first"]
        got = raw.head(10)
        assert got["case:concept:name"].tolist() == ["case1", "case1", "case2"]
        assert got["case:AMOUNT_REQ"].tolist()[:2] == ["5000", "5000"] and pd.isna(got["case:AMOUNT_REQ"].iloc[2])
        assert got["concept:name"].tolist() == ["A_SUBMITTED", "A_PARTLYSUBMITTED", "A_SUBMITTED"]
        assert got["tags.first"].tolist()[0] == "x" and got["tags.first"].isna().tolist()[1:] == [True, True]
        assert "a log attribute, no column" not in got.values.ravel().tolist()
    finally:
        raw.release()
    assert CASE_PREFIX == "case:"


def test_an_xes_file_is_recognised_by_name_by_content_and_gzipped(engine):
    for name, payload in (("log.xes", LOG), ("log.txt", LOG), ("log.xes.gz", gzip.compress(LOG)),
                          ("log.gz", gzip.compress(LOG))):
        df = read_table((name, payload), engine=engine)
        assert df.shape == (3, 6), name


def test_xes_errors_name_the_file(engine):
    with pytest.raises(InputError, match=r"^bad\.xes: cannot read as an XES event log \(XML error: "):
        read_source(("bad.xes", b"<log><trace><event></trace></log>"), engine=engine)
    with pytest.raises(InputError, match=r"^empty\.xes: the XES log has no events$"):
        read_source(("empty.xes", b"<?xml version='1.0'?><log xes.version='1.0'><trace/></log>"), engine=engine)


def test_an_xes_log_loads_with_case_attributes_as_customer_attributes(engine):
    data = load_journey(("log.xes", LOG), engine=engine)
    ev = data.events.execute().sort_values("seq").reset_index(drop=True)
    assert ev["customer_id"].tolist() == ["case1", "case1", "case2"]
    assert ev["touchpoint"].tolist() == ["A_SUBMITTED", "A_PARTLYSUBMITTED", "A_SUBMITTED"]
    assert ev["timestamp"].tolist() == [pd.Timestamp("2011-09-30 22:38:44.546"),
                                        pd.Timestamp("2011-09-30 22:38:44.880"), pd.Timestamp("2011-10-02 08:00")]
    assert ev["lifecycle:transition"].tolist()[:2] == ["COMPLETE", "COMPLETE"]
    assert "case:AMOUNT_REQ" not in ev.columns  # a case attribute describes the customer
    cu = data.customers.execute().sort_values("customer_id").reset_index(drop=True)
    assert cu["customer_id"].tolist() == ["case1", "case2"]
    assert cu["case:AMOUNT_REQ"].iloc[0] == 5000 and pd.isna(cu["case:AMOUNT_REQ"].iloc[1])
    assert data.warnings == []


def test_a_flattened_log_as_a_table_gives_the_same_case_attributes(engine, wh):
    frame = text_frame("case:concept:name,concept:name,time:timestamp,case:AMOUNT_REQ",
                       "c1,A_SUBMITTED,2011-10-01T00:38:44+02:00,5000",
                       "c1,A_DECLINED,2011-10-01T01:00:00+02:00,5000",
                       "c2,A_SUBMITTED,2011-10-02T10:00:00+02:00,700")
    f, t = both(engine, wh, touchpoints=frame)
    assert customers(f).values.tolist() == [["c1", 5000], ["c2", 700]]
    assert events(f)["touchpoint"].tolist() == ["A_SUBMITTED", "A_DECLINED", "A_SUBMITTED"]
