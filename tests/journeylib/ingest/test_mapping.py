"""journeylib.ingest.mapping: which column holds which field (common spellings, export
profiles, the user's overrides) and the per-row id fallbacks of analytics exports."""

from __future__ import annotations

import pandas as pd
import pytest

from journeylib.engine import Engine
from journeylib.ingest import InputError, detect_mapping, load_journey, load_tables
from journeylib.ingest.mapping import (
    has_customer_column,
    id_fallback,
    recognise_export,
    rating_columns,
    require,
    resolve_mapping,
    used_columns,
)
from journeylib.journey import JourneyModel

from .roads import both, events, text_frame, warning_key

EVENTS = "customer_id,timestamp,touchpoint,channel\nc1,2024-01-01 10:00,Home,web\nc1,2024-01-02 11:00,Checkout,web\nc2,2024-01-03 09:30,Home,app\n"


def src(text: str, name: str = "events.csv") -> tuple[str, bytes]:
    return name, text.encode("utf-8")


def events_of(data) -> pd.DataFrame:
    return data.events.execute().sort_values("seq").reset_index(drop=True)


def survey_of(data) -> pd.DataFrame:
    return data.survey.execute().sort_values(["customer_id", "touchpoint"]).reset_index(drop=True)


# --------------------------------------------------------------------------- detection


@pytest.mark.parametrize(
    "columns, kind, expected",
    [
        (["Customer ID", "Time Stamp", "Touch-Point"], "touchpoints",
         {"customer_id": "Customer ID", "timestamp": "Time Stamp", "touchpoint": "Touch-Point"}),
        (["case:concept:name", "concept:name", "time:timestamp", "case:channel", "org:resource"], "touchpoints",
         {"customer_id": "case:concept:name", "touchpoint": "concept:name", "timestamp": "time:timestamp",
          "channel": "case:channel"}),
        (["event_date", "event_timestamp", "event_name", "user_pseudo_id"], "touchpoints",
         {"customer_id": "user_pseudo_id", "timestamp": "event_timestamp", "touchpoint": "event_name"}),
        (["anonymousId", "userId", "event", "timestamp"], "touchpoints",
         {"customer_id": "userId", "timestamp": "timestamp", "touchpoint": "event"}),
        (["distinct_id", "time", "event"], "touchpoints",
         {"customer_id": "distinct_id", "timestamp": "time", "touchpoint": "event"}),
        (["user_id", "device_id", "event_type", "event_time"], "touchpoints",
         {"customer_id": "user_id", "timestamp": "event_time", "touchpoint": "event_type"}),
        (["id", "event", "date"], "touchpoints", {"timestamp": "date", "touchpoint": "event"}),
        (["id", "Satisfaction Score", "Journey Stage", "Verbatim", "NPS"], "survey",
         {"customer_id": "id", "score": "Satisfaction Score", "stage": "Journey Stage", "comment": "Verbatim",
          "nps": "NPS"}),
        (["ReviewID", "Datetime", "ReviewBody", "OverallRating"], "survey",
         {"customer_id": "ReviewID", "timestamp": "Datetime", "comment": "ReviewBody"}),
        (["ID", "age", "region"], "customers", {"customer_id": "ID"}),
    ],
)
def test_detect_mapping_common_spellings(columns, kind, expected):
    df = pd.DataFrame(columns=columns)
    assert detect_mapping(df, kind) == expected


def test_detect_mapping_uses_each_column_once_and_rejects_bad_kind():
    df = pd.DataFrame(columns=["user", "action", "ts"])
    got = detect_mapping(df, "touchpoints")
    assert got == {"customer_id": "user", "touchpoint": "action", "timestamp": "ts"}
    with pytest.raises(ValueError):
        detect_mapping(df, "orders")


def test_a_touchpoints_file_can_carry_survey_fields():
    assert detect_mapping(["user_id", "timestamp", "event", "rating", "feedback", "nps"], "touchpoints") == {
        "customer_id": "user_id", "timestamp": "timestamp", "touchpoint": "event", "score": "rating",
        "comment": "feedback", "nps": "nps"}


def test_has_customer_column_and_used_columns():
    assert has_customer_column(["Respondent ID", "Q1"]) and has_customer_column(["id", "x"])
    assert not has_customer_column(["About", "Notes"])
    assert used_columns({"customer_id": ["userId", "anonymousId"], "score": "rating"}) == {
        "userId", "anonymousId", "rating"}


# --------------------------------------------------------------------------- overrides


def test_resolve_mapping_overrides_per_file_and_for_every_file():
    columns = {"touchpoints": ("e.csv", ["member", "when", "page"]), "survey": ("s.csv", ["member", "when", "rating"])}
    got, errors = resolve_mapping(columns, {"customer_id": "member", "touchpoints.timestamp": "when",
                                            "touchpoint": "page"})
    assert errors == []
    assert got["touchpoints"] == {"customer_id": "member", "timestamp": "when", "touchpoint": "page"}
    # "when" was mapped for the touchpoints file only; the survey still finds its own spellings
    assert got["survey"] == {"customer_id": "member", "score": "rating"}
    got, errors = resolve_mapping(columns, {"score": ["rating"], "touchpoint": "nowhere", "comment": None})
    assert got["survey"]["score"] == ["rating"]
    assert [str(e) for e in errors] == ["e.csv: mapped column 'nowhere' for field 'touchpoint' not found; "
                                        "columns: member, when, page"]


def test_an_override_takes_the_column_from_the_field_detection_gave_it():
    got, errors = resolve_mapping({"touchpoints": ("e.csv", ["customer_id", "event", "page", "time"])},
                                  {"channel": "event", "touchpoint": "page"})
    assert errors == [] and got["touchpoints"] == {"customer_id": "customer_id", "timestamp": "time",
                                                   "touchpoint": "page", "channel": "event"}


def test_require_names_the_field_the_spellings_and_the_columns():
    with pytest.raises(InputError) as err:
        require("touchpoints", "web.csv", ["customer_id", "when"], {"customer_id": "customer_id"})
    assert err.value.column == "timestamp"
    assert str(err.value) == ("web.csv: no column for required field 'timestamp' (tried timestamp, time:timestamp, "
                              "event_timestamp, event_time, datetime, date_time...); columns: customer_id, when; "
                              "set it with a mapping such as timestamp=COLUMN")


def test_mapping_override_beats_detection():
    text = "customer_id,member,timestamp,event,page\nx,m1,2024-01-01,e1,p1\ny,m2,2024-01-02,e2,p2\n"
    data = load_journey(src(text), mapping={"customer_id": "member", "touchpoint": "page"})
    ev = events_of(data)
    assert ev["customer_id"].tolist() == ["m1", "m2"]
    assert ev["touchpoint"].tolist() == ["p1", "p2"]
    # the detected-but-unused columns stay as attributes
    assert ev["event"].tolist() == ["e1", "e2"]


def test_mapping_override_on_both_roads(engine, wh):
    frame = text_frame("customer_id,member,timestamp,event,page", "x,m1,2024-01-01,e1,p1", "y,m2,2024-01-02,e2,p2")
    f, t = both(engine, wh, touchpoints=frame, mapping={"customer_id": "member", "touchpoint": "page"})
    assert events(f)[["customer_id", "touchpoint", "event"]].values.tolist() == [["m1", "p1", "e1"], ["m2", "p2", "e2"]]
    assert f.warnings == []


def test_bad_override_names_the_column_and_lists_columns():
    with pytest.raises(InputError) as info:
        load_journey(src(EVENTS), mapping={"touchpoint": "Page Name"})
    text = str(info.value)
    assert text.startswith("events.csv: mapped column 'Page Name' for field 'touchpoint' not found")
    assert "columns: customer_id, timestamp, touchpoint, channel" in text


def test_override_with_file_prefix_applies_to_that_file_only():
    survey = "user,when,score,touchpoint\nc1,2024-01-05,4,Home\n"
    data = load_journey(src(EVENTS), survey=src(survey, "survey.csv"),
                        mapping={"survey.customer_id": "user", "survey.timestamp": "when"})
    sv = survey_of(data)
    assert sv["customer_id"].tolist() == ["c1"]
    assert sv["timestamp"].tolist() == [pd.Timestamp("2024-01-05")]


def test_unknown_field_in_mapping_is_an_error():
    with pytest.raises(InputError, match=r"mapping: unknown field 'colour'"):
        load_journey(src(EVENTS), mapping={"colour": "channel"})


def test_required_field_missing_names_field_file_and_columns():
    text = "customer_id,when,touchpoint\nc1,yesterday,Home\n"
    with pytest.raises(InputError) as info:
        load_journey(src(text, "web.csv"))
    msg = str(info.value)
    assert msg.startswith("web.csv: no column for required field 'timestamp'")
    assert "columns: customer_id, when, touchpoint" in msg


def test_mapping_overrides_and_schema_qualified_names(tmp_path):
    import ibis

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
    assert any("unparseable timestamp" in t and "'happened'" in t and "1 row dropped" in t for t in texts)
    assert any("'nonsense'" in t for t in texts)
    # Epoch seconds and milliseconds told apart by magnitude.
    ep = load_tables(eng, "epoch_log").events.execute()
    assert set(ep["timestamp"]) == {pd.Timestamp("2024-02-01 08:00:00")}
    eng.con.disconnect()


# --------------------------------------------------------------------------- export styles and id fallbacks


def test_ga4_epoch_microseconds():
    text = ("event_date,event_timestamp,event_name,user_pseudo_id\n"
            "20231114,1700000000000000,page_view,u1\n20231114,1700000060500000,purchase,u1\n")
    ev = events_of(load_journey(src(text, "ga4.csv")))
    assert ev["timestamp"].tolist() == [pd.Timestamp("2023-11-14 22:13:20"), pd.Timestamp("2023-11-14 22:14:20.5")]
    assert ev["touchpoint"].tolist() == ["page_view", "purchase"]
    assert ev["event_date"].tolist() == [20231114, 20231114]  # extra column kept, as a number


def test_segment_user_id_falls_back_to_anonymous_id_per_row():
    text = ("anonymousId,userId,event,timestamp\n"
            "anon-1,,Viewed,2024-01-01T10:00:00.000Z\n"
            "anon-1,user-9,Signed Up,2024-01-01T10:05:00.000Z\n"
            "anon-2,,Viewed,2024-01-01T11:00:00.000Z\n")
    ev = events_of(load_journey(src(text, "segment.csv")))
    assert ev["customer_id"].tolist() == ["anon-1", "user-9", "anon-2"]
    assert "anonymousId" not in ev.columns
    assert ev["timestamp"].iloc[1] == pd.Timestamp("2024-01-01 10:05")


def test_mixpanel_epoch_seconds_and_amplitude_text_times():
    mix = "distinct_id,time,event\nd1,1700000000,Open\nd2,1700003600,Open\n"
    ev = events_of(load_journey(src(mix, "mixpanel.csv")))
    assert ev["timestamp"].tolist() == [pd.Timestamp("2023-11-14 22:13:20"), pd.Timestamp("2023-11-14 23:13:20")]
    amp = "user_id,device_id,event_type,event_time\n42,dv,session_start,2023-11-14 22:13:20.123456\n"
    ev = events_of(load_journey(src(amp, "amplitude.csv")))
    assert ev["customer_id"].tolist() == ["42"]
    assert ev["timestamp"].iloc[0] == pd.Timestamp("2023-11-14 22:13:20.123456")
    assert ev["device_id"].tolist() == ["dv"]


def test_xes_names_and_offsets_to_utc():
    text = ("case:concept:name,concept:name,time:timestamp,case:channel\n"
            "173688,A_SUBMITTED,2011-10-01T00:38:44.546+02:00,Internet\n"
            "173688,A_PARTLYSUBMITTED,2011-10-01T00:38:44.880+02:00,Internet\n")
    ev = events_of(load_journey(src(text, "bpic.csv")))
    assert ev["customer_id"].tolist() == ["173688", "173688"]
    assert ev["timestamp"].iloc[0] == pd.Timestamp("2011-09-30 22:38:44.546")
    assert ev["channel"].tolist() == ["Internet", "Internet"]
    assert ev["stage"].isna().all()  # A_SUBMITTED names no stage


@pytest.mark.parametrize("column, columns, fallback", [
    ("userId", ["anonymousId", "userId", "event"], "anonymousId"),
    ("user_id", ["user_id", "anonymous_id"], "anonymous_id"),        # Segment's warehouse spelling
    ("user_id", ["user_id", "user_pseudo_id", "event_name"], "user_pseudo_id"),  # GA4
    ("user_id", ["user_id", "device_id"], "device_id"),              # Amplitude
    ("user_id", ["user_id", "event"], None),
    ("customer_id", ["customer_id", "anonymousId"], None),
])
def test_id_fallback(column, columns, fallback):
    assert id_fallback(column, columns) == fallback


SEGMENT = text_frame("anonymousId,userId,event,timestamp",
                     "anon-1,,Viewed,2024-01-01T10:00:00.000Z", "anon-1,user-9,Signed Up,2024-01-01T10:05:00.000Z",
                     "anon-2,,Viewed,2024-01-01T11:00:00.000Z")
GA4 = text_frame("user_id,user_pseudo_id,event_name,event_timestamp", ",p1,page_view,1700000000000000",
                 "u1,p1,purchase,1700000060500000", ",p2,page_view,1700000120000000")


@pytest.mark.parametrize("frame, spec, fallback, ids", [
    (SEGMENT, "userId", "anonymousId", ["anon-1", "anon-2", "user-9"]),
    (GA4, "user_id", "user_pseudo_id", ["p1", "p2", "u1"]),
], ids=["Segment", "GA4"])
def test_id_fallbacks_per_row_on_both_roads(engine, wh, frame, spec, fallback, ids):
    f, t = both(engine, wh, touchpoints=frame)
    assert events(f)["customer_id"].tolist() == ids
    assert fallback not in events(f).columns  # it is the id now, no attribute
    assert [warning_key(w) for w in f.warnings] == [
        (spec, f"2 of 3 rows have no {spec!r}; their customer id is taken from {fallback!r}", 2)]


def test_no_fallback_when_every_row_has_its_id(engine, wh):
    frame = text_frame("user_id,device_id,event_type,event_time", "42,dv,session_start,2023-11-14 22:13:20",
                       "43,dw,session_start,2023-11-14 22:14:20")
    f, t = both(engine, wh, touchpoints=frame)
    assert events(f)[["customer_id", "device_id"]].values.tolist() == [["42", "dv"], ["43", "dw"]]
    assert f.warnings == []


# --------------------------------------------------------------------------- export profiles and ratings


@pytest.mark.parametrize("columns, kind, export", [
    (["event_date", "event_name", "user_pseudo_id"], "touchpoints", "GA4"),
    (["anonymousId", "userId", "event"], "touchpoints", "Segment"),
    (["distinct_id", "event", "time"], "touchpoints", "Mixpanel"),
    (["event_type", "event_time", "user_id"], "touchpoints", "Amplitude"),
    (["case:concept:name", "concept:name", "time:timestamp"], "touchpoints", "an XES event log"),
    (["Timestamp", "How was it?"], "survey", "Google Forms"),
    (["#", "Rating", "Submit Date (UTC)"], "survey", "Typeform"),
    (["ResponseId", "RecordedDate", "Q1"], "survey", "Qualtrics"),
    (["Respondent ID", "Collector ID", "Q1"], "survey", "SurveyMonkey"),
    (["customer_id", "score"], "survey", None),
])
def test_recognise_export(columns, kind, export):
    assert recognise_export(columns, kind) == export


def test_rating_columns_and_not_answered_codes(engine):
    frame = pd.DataFrame({"Q1": ["1", "2", "3", "-99"], "Q2": ["1", "1", "2", "2"], "Q3": ["1", "2", "30", "4"],
                          "Q4": ["1.5", "2", "3", "4"], "Q5": ["a", "b", "c", "d"],
                          "satisfaction": ["1", "2", "3", "4"], "Q6": [0, 5, 10, 7]})
    t = engine.table(frame)
    got = rating_columns(t, list(frame.columns), engine.execute)
    # Q2 has two values only, Q3 goes past 10, Q4 is no whole number, Q5 no number at all;
    # an outcome column is never a rating.
    assert got.columns == ["Q1", "Q6"] and got.codes == {"Q1": [-99.0]}
