"""journeylib.ingest.load: every rule of every input, on small hand-made frames, through a
file and through a DuckDB database table (the warehouse road), and what a load leaves behind.

Expectations are counted by hand. Both roads must keep the same rows and give the same
warnings; where they differ by design it is asserted on its own:

- a table has no file order: its events' ``seq`` numbers each customer's events by
  timestamp, then by the columns as given; an id's "first row" (a customers table's
  repeated id, a wide survey's respondent) is the first by its other columns as given;
- a table's warnings have no row numbers (the text stops before "; rows"), and the values
  they quote come in the order of the values, not of the file;
- a table's exact duplicates are found with a DISTINCT over all its columns.
"""

from __future__ import annotations

import gc
import importlib
import io
import pkgutil

import numpy as np
import pandas as pd
import pytest

import journeylib.ingest as ingest_pkg
from journeylib import emotions, flows
from journeylib.engine import Engine
from journeylib.ingest import (
    Checked,
    InputError,
    Issue,
    ValidationReport,
    check,
    load_journey,
    load_tables,
    read_source,
    read_table,
    release,
    validate,
)
from journeylib.ingest.load import customer_rules, event_rules, score_rules, survey_row_rules
from journeylib.journey import JourneyModel
from journeylib.sample import generate_sample
from journeylib.schema import ScoreScale

from .roads import both, by_file, by_table, csv_bytes, customers, events, found, survey, text_frame, warning_key

EVENTS = "customer_id,timestamp,touchpoint,channel\nc1,2024-01-01 10:00,Home,web\nc1,2024-01-02 11:00,Checkout,web\nc2,2024-01-03 09:30,Home,app\n"
STAGES = "Awareness, Consideration, Intent, Purchase, Retention, Advocacy"


def src(text: str, name: str = "events.csv", encoding: str = "utf-8") -> tuple[str, bytes]:
    return name, text.encode(encoding)


def events_of(data) -> pd.DataFrame:
    return data.events.execute().sort_values("seq").reset_index(drop=True)


def survey_of(data) -> pd.DataFrame:
    return data.survey.execute().sort_values(["customer_id", "touchpoint"]).reset_index(drop=True)


def warning_with(data_or_list, text: str) -> Issue:
    issues = data_or_list if isinstance(data_or_list, list) else data_or_list.warnings
    found_ = [w for w in issues if text in w.message]
    assert found_, f"no warning containing {text!r} in {[w.message for w in issues]}"
    return found_[0]


def latest_day() -> str:
    """The day after tomorrow (UTC): timestamps after it are in the future."""
    return (pd.Timestamp.now(tz="UTC").normalize() + pd.Timedelta(days=2)).strftime("%Y-%m-%d")


def keys(data) -> list[tuple]:
    return [warning_key(w) for w in data.warnings]


def rows_by_text(data) -> dict[str, list[int]]:
    return {text: w.rows for text, w in found(data).items()}


# --------------------------------------------------------------------------- the rules, as written


def test_every_rule_list_is_what_these_tests_cover():
    """The rule keys each input is checked by (a new rule needs a test here)."""
    journey = JourneyModel.default()
    cols = {"customer_id": "id", "timestamp": "ts", "touchpoint": "tp", "stage": "st", "score": "sc", "nps": "n"}
    assert [r.key for r in event_rules(cols, journey)] == [
        "dup", "no_id", "no_ts", "bad_ts", "no_tp", "future", "past", "unknown_stage"]
    assert [(r.key, r.action) for r in survey_row_rules(cols, journey, combined=False)] == [
        ("dup", "drop"), ("no_id", "drop"), ("bad_ts", "blank"), ("nps_text", "blank"), ("nps_out", "blank"),
        ("unknown_stage", "blank")]
    # a combined file's duplicates, missing ids and unknown stages are reported with its events
    assert [r.key for r in survey_row_rules(cols, journey, combined=True)] == ["bad_ts", "nps_text", "nps_out"]
    assert [r.key for r in score_rules(cols, (), combined=False)] == ["no_score", "not_number", "comment_only"]
    assert [r.key for r in score_rules(cols, (0, -99), combined=False)] == ["no_score", "not_number", "not_rated",
                                                                           "comment_only"]
    assert [(r.key, r.action) for r in customer_rules(cols)] == [("dup", "drop"), ("no_id", "drop"),
                                                                 ("repeated", "drop")]


# --------------------------------------------------------------------------- events, both roads


MESSY_FRAME = text_frame(
    "customer_id,timestamp,touchpoint,stage,channel",
    "a,2024-01-01 10:00:00,Home,Awareness,web",      # 1 kept
    "a,2024-01-01 10:00:00,Home,Awareness,web",      # 2 exact duplicate of 1
    ",2024-01-02,Home,Awareness,web",                # 3 no id
    "b,,Home,Awareness,web",                         # 4 no timestamp
    "b,not a date,Home,Awareness,web",               # 5 unparseable
    "b,2024-01-03,,Awareness,web",                   # 6 no touchpoint
    "c,2999-01-01,Cart,Purchase,web",                # 7 future: kept
    "c,1850-05-05,Cart,Purchase,web",                # 8 before 1900: kept
    "c,2024-01-04,Checkout,Wonderland,app",          # 9 unknown stage: emptied, then from the touchpoint
    "c,2024-01-05,Checkout,,app",                    # 10 kept
    ",,Home,Awareness,web",                          # 11 no id and no timestamp: counted once, as no id
)


def test_event_rules_same_rows_and_warnings_on_both_roads(engine, wh):
    f, t = both(engine, wh, touchpoints=MESSY_FRAME)
    ev = events(f, seq=True)
    assert ev["seq"].tolist() == [0, 7, 8, 9, 6]  # file rows 1, 8, 9, 10, 7 (sorted by customer, time)
    assert ev["stage"].tolist() == ["Awareness", "Purchase", "Purchase", "Purchase", "Purchase"]
    assert ev["stage_label"].iloc[2] == "Wonderland"  # the team's own label is kept beside it
    assert keys(f) == [
        (None, "1 row dropped: exact duplicates of an earlier row", 1),
        ("customer_id", "2 rows dropped: no customer id", 2),
        ("timestamp", "1 row dropped: no timestamp", 1),
        ("timestamp", "1 row dropped: unparseable timestamp (e.g. 'not a date')", 1),
        ("touchpoint", "1 row dropped: no touchpoint", 1),
        ("timestamp", f"1 timestamps are in the future (after {latest_day()}); kept, check the dates "
                      "(e.g. '2999-01-01')", 1),
        ("timestamp", "1 timestamps are before 1900; kept, check the dates (e.g. '1850-05-05')", 1),
        ("stage", f"1 row has a stage not in the stage order ({STAGES}): 'Wonderland'; their stage is left "
                  "empty", 1),
    ]
    assert [w.rows for w in f.warnings] == [[2], [3, 11], [4], [5], [6], [7], [8], [9]]
    # A table has no rows a user could look up: its warnings stop before "; rows".
    assert all(w.rows == [] and "; rows" not in w.message for w in t.warnings)
    assert {w.file for w in f.warnings} == {"events.csv"} and len({w.file for w in t.warnings}) == 1


def test_a_table_numbers_seq_by_timestamp_then_the_columns_as_given(engine, wh):
    """Equal timestamps keep file order in a file; a table has none, so its events are
    ordered by timestamp, then by its columns as given (touchpoint first here)."""
    frame = text_frame("customer_id,timestamp,touchpoint,channel",
                       "a,2024-01-01 10:00:00,Zebra,web", "a,2024-01-01 09:00:00,Mid,web",
                       "a,2024-01-01 10:00:00,Apple,web", "b,2024-01-02 10:00:00,Home,web")
    f, t = both(engine, wh, touchpoints=frame)
    by_time = lambda d: d.events.execute().sort_values(["customer_id", "timestamp", "seq"])  # noqa: E731
    assert by_time(f)[["touchpoint", "seq"]].values.tolist() == [["Mid", 1], ["Zebra", 0], ["Apple", 2], ["Home", 3]]
    assert by_time(t)[["touchpoint", "seq"]].values.tolist() == [["Mid", 0], ["Apple", 1], ["Zebra", 2], ["Home", 0]]
    assert flows.transitions(f.events)[["source", "target"]].values.tolist() == [["Mid", "Zebra"], ["Zebra", "Apple"]]
    assert flows.transitions(t.events)[["source", "target"]].values.tolist() == [["Apple", "Zebra"], ["Mid", "Apple"]]


def test_order_column_orders_a_tables_equal_timestamps(engine, wh):
    """A table's order column breaks its timestamp ties; a file keeps its own order."""
    frame = text_frame("customer_id,date,event,event_id", "a,2024-01-01,Zebra,2", "a,2024-01-01,Apple,1")
    f, t = both(engine, wh, touchpoints=frame, order_column="event_id")
    assert flows.transitions(t.events)[["source", "target"]].values.tolist() == [["Apple", "Zebra"]]
    assert flows.transitions(f.events)[["source", "target"]].values.tolist() == [["Zebra", "Apple"]]
    for data in (f, t):
        assert "event_id" not in data.events.columns  # the order column orders, it is no attribute


# --------------------------------------------------------------------------- duplicates, both roads


DUPS = text_frame(
    "customer_id,timestamp,touchpoint",
    "a,2024-01-01 10:00:00,Home", "a,2024-01-01 10:00:00,Home", "a,2024-01-02 10:00:00,Cart",
    "b,2024-01-01 10:00:00,Home", "b,2024-01-02 10:00:00,Cart", "b,2024-01-02 10:00:00,Cart",
    "c,2024-01-01 10:00:00,Home",
)
TRANSITIONS_WITH_DUPS = pd.DataFrame({"source": ["Home", "Cart", "Home"], "target": ["Cart", "Cart", "Home"],
                                      "transitions": [2, 1, 1], "customers": [2, 1, 1]})
TRANSITIONS_WITHOUT = pd.DataFrame({"source": ["Home"], "target": ["Cart"], "transitions": [2], "customers": [2]})
# a: Home Home Cart, b: Home Cart Cart, c: Home (links sorted by step, customers desc, source, target)
SANKEY_WITH_DUPS = pd.DataFrame({
    "step": [1, 1, 1, 2, 2, 3], "source": ["Home", "Home", "Home", "Cart", "Home", "Cart"],
    "target": ["(end)", "Cart", "Home", "Cart", "Cart", "(end)"], "customers": [1, 1, 1, 1, 1, 2]})
SANKEY_WITHOUT = pd.DataFrame({"step": [1, 1, 2], "source": ["Home", "Home", "Cart"],
                               "target": ["Cart", "(end)", "(end)"], "customers": [2, 1, 2]})


def _flows(data) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (flows.transitions(data.events).reset_index(drop=True),
            flows.step_sankey(data.events, max_steps=5, top=0).reset_index(drop=True))


@pytest.mark.parametrize("keep", [True, False])
def test_flows_with_and_without_duplicates_equal_hand_counted_tables(engine, wh, keep):
    f, t = both(engine, wh, touchpoints=DUPS, keep_duplicates=keep)
    want_t, want_s = (TRANSITIONS_WITH_DUPS, SANKEY_WITH_DUPS) if keep else (TRANSITIONS_WITHOUT, SANKEY_WITHOUT)
    for data in (f, t):
        got_t, got_s = _flows(data)
        pd.testing.assert_frame_equal(got_t, want_t, check_dtype=False)
        pd.testing.assert_frame_equal(got_s, want_s, check_dtype=False)
        assert data.events.count().execute() == (7 if keep else 5)
    text = ("2 rows are exact duplicates of an earlier row; kept (keep duplicates is on)" if keep
            else "2 rows dropped: exact duplicates of an earlier row")
    assert keys(f) == keys(t) == [(None, text, 2)]
    assert f.warnings[0].rows == ([] if keep else [2, 6])


def test_keep_duplicates_in_a_survey_and_a_customers_file_on_both_roads(engine, wh):
    sv = text_frame("customer_id,touchpoint,score", "a,Home,4", "a,Home,4", "b,Home,2")
    cu = text_frame("customer_id,plan", "a,gold", "a,gold", "b,basic")
    f, t = both(engine, wh, touchpoints=SURVEY_EVENTS, survey=sv, customers=cu, keep_duplicates=True)
    assert survey(f)[["customer_id", "score"]].values.tolist() == [["a", 4.0], ["a", 4.0], ["b", 2.0]]
    # A customer is one row all the same: the copy is a repeated id.
    assert customers(f).values.tolist() == [["a", "gold"], ["b", "basic"]]
    kept = "1 row is an exact duplicate of an earlier row; kept (keep duplicates is on)"
    assert keys(f) == [(None, kept, 1), (None, kept, 1),
                       ("customer_id", "1 row dropped: customer id repeated (first row kept)", 1)]
    assert [w.file for w in f.warnings] == ["survey.csv", "customers.csv", "customers.csv"]


def test_duplicates_found_across_many_rows(engine, wh):
    """The sample's events with rows 5, 17, 17 and 40 appended again: four duplicates (the
    two copies of row 17 both repeat it), found by file row and by a table's DISTINCT."""
    tp = generate_sample(60, seed=9)["touchpoints"]
    doubled = pd.concat([tp, tp.iloc[[5, 17, 17, 40]]], ignore_index=True)
    f = by_file(engine, {"touchpoints": doubled})
    t = by_table(wh, {"touchpoints": doubled})  # typed columns, as the frame has them
    n = len(tp)
    for data in (f, t):
        dup = [w for w in data.warnings if "exact duplicates" in w.message]
        assert len(dup) == 1 and dup[0].count == 4
        assert data.events.count().execute() == n
    assert [w for w in f.warnings if "exact duplicates" in w.message][0].rows == [n + 1, n + 2, n + 3, n + 4]
    cols = ["customer_id", "timestamp", "touchpoint", "stage", "channel"]
    # (a typed table keeps its own timestamp precision: here pandas' nanoseconds)
    pd.testing.assert_frame_equal(events(f)[cols], events(t)[cols], check_dtype=False)


def test_exact_duplicates_compare_cleaned_cells(engine, wh):
    """Cells are trimmed and blanks are missing before rows are compared."""
    frame = text_frame("customer_id,timestamp,touchpoint,note", "a,2024-01-01,Home,x", " a ,2024-01-01,Home , x",
                       "a,2024-01-01,Home,", "a,2024-01-01,Home, ")
    f, t = both(engine, wh, touchpoints=frame)
    assert keys(f) == [(None, "2 rows dropped: exact duplicates of an earlier row", 2)]
    assert f.warnings[0].rows == [2, 4]


# --------------------------------------------------------------------------- survey, both roads


SURVEY_FRAME = text_frame(
    "customer_id,timestamp,stage,touchpoint,score,comment,nps",
    "a,2024-01-01,Awareness,Home,4,good,9",   # 1 kept
    "a,2024-01-01,Awareness,Home,4,good,9",   # 2 exact duplicate
    ",2024-01-01,Awareness,Home,3,,9",        # 3 no id
    "b,not a date,Purchase,Cart,5,,11",       # 4 time and NPS left empty
    "b,2024-01-02,Moon,Cart,2,,ten",          # 5 NPS not a number; stage not in the order
    "c,2024-01-03,Purchase,Cart,,meh,3",      # 6 no score: kept for its comment
    "c,2024-01-03,Purchase,Cart,good,meh,3",  # 7 score not a number
    "c,2024-01-04,Purchase,Cart,0,,3",        # 8 not rated
    "z,2024-01-04,Purchase,Cart,1,,3",        # 9 a customer with no events
)
SURVEY_EVENTS = text_frame("customer_id,timestamp,touchpoint", "a,2024-01-01,Home", "b,2024-01-02,Cart")


def test_survey_row_and_score_rules_on_both_roads(engine, wh):
    f, t = both(engine, wh, touchpoints=SURVEY_EVENTS, survey=SURVEY_FRAME, not_rated=(0,))
    sv = survey(f)
    assert sv[["customer_id", "touchpoint", "score"]].fillna({"score": -1}).values.tolist() == [
        ["a", "Home", 4.0], ["b", "Cart", 2.0], ["b", "Cart", 5.0], ["c", "Cart", -1], ["z", "Cart", 1.0]]
    assert sv["comment"].iloc[3] == "meh"  # an answer with a comment and no score is kept for its comment
    assert sv["nps"].tolist()[0] == 9.0 and sv["nps"].isna().tolist()[1:3] == [True, True]
    assert pd.isna(sv["timestamp"].iloc[2]) and sv["timestamp"].iloc[1] == pd.Timestamp("2024-01-02")
    assert pd.isna(sv["stage"].iloc[1]) and sv["stage"].iloc[2] == "Purchase"
    assert f.score_scale == ScoreScale(1, 5)
    assert keys(f) == [
        (None, "1 row dropped: exact duplicates of an earlier row", 1),
        ("customer_id", "1 row dropped: no customer id", 1),
        ("timestamp", "1 unparseable timestamps left empty (e.g. 'not a date')", 1),
        ("nps", "1 NPS values are not numbers and were left empty (e.g. 'ten')", 1),
        ("nps", "1 NPS values outside 0-10 left empty", 1),
        ("stage", f"1 row has a stage not in the stage order ({STAGES}): 'Moon'; their stage is left empty", 1),
        ("score", "1 row dropped: score is not a number (e.g. 'good')", 1),
        ("score", "1 score coded as not rated (0) treated as missing", 1),
        ("score", "1 answers have a comment but no score; kept for their comment (they count in comment themes, "
                  "not in scores)", 1),
        ("customer_id", "2 survey customers have no events (e.g. 'c', 'z'); their answers count in scores but not "
                        "in flows", 2),
    ]
    assert [w.rows for w in f.warnings] == [[2], [3], [4], [5], [4], [5], [7], [8], [6], [6, 9]]
    assert {w.file for w in f.warnings} == {"survey.csv"}


def test_scores_outside_the_scale_kept_and_counted_on_both_roads(engine, wh):
    rows = [f"c{i},t,{1 + i % 5}" for i in range(199)] + ["c199,t,9"]
    f, t = both(engine, wh, survey=text_frame("customer_id,touchpoint,score", *rows))
    for data in (f, t):
        assert data.score_scale == ScoreScale(1, 5)  # 199 of 200 fit 1-5
        assert data.survey.count().execute() == 200  # never dropped, never rescaled
    assert keys(f) == [("score", "1 scores outside the detected scale 1 to 5 (kept, not rescaled; e.g. '9.0')", 1)]
    assert f.warnings[0].rows == [200]


def test_survey_customers_without_events_on_both_roads(engine, wh):
    sv = text_frame("customer_id,touchpoint,score", "c1,Home,4", "c9,Home,2", "c9,Checkout,3", "c8,Home,5")
    ev = text_frame("customer_id,timestamp,touchpoint", "c1,2024-01-01,Home", "c2,2024-01-02,Home")
    f = by_file(engine, {"touchpoints": ev, "survey": sv})
    t = by_table(wh, {"touchpoints": ev, "survey": sv})
    pd.testing.assert_frame_equal(survey(f), survey(t))
    # Two customers, three of their rows; the examples in file order, or in the order of the values.
    w = warning_with(f, "survey customers have no events")
    assert (w.count, w.rows, w.file) == (2, [2, 3, 4], "survey.csv")
    assert "(e.g. 'c9', 'c8')" in w.message
    assert "(e.g. 'c8', 'c9')" in warning_with(t, "survey customers have no events").message


def test_wide_survey_on_both_roads(engine, wh):
    frame = text_frame("id,Booking,Seat comfort,Awareness,Gender",
                       "1,5,0,3,F", "2,0,4,,M", "3,2,1,1,F", "3,2,1,1,F", "4,x,,,M")
    f, t = both(engine, wh, survey=frame, mapping={"score": ["Booking", "Seat comfort", "Awareness"]},
                not_rated=(0,))
    assert survey(f)[["customer_id", "touchpoint", "score"]].values.tolist() == [
        ["1", "Awareness", 3.0], ["1", "Booking", 5.0], ["2", "Seat comfort", 4.0],
        ["3", "Awareness", 1.0], ["3", "Booking", 2.0], ["3", "Seat comfort", 1.0]]
    # The respondents' other columns describe them (respondent 4 answered nothing usable).
    for data in (f, t):
        assert customers(data).values.tolist() == [["1", "F"], ["2", "M"], ["3", "F"], ["4", "M"]]
    # The default stages name one rating; the other two are in one stage named for the file.
    assert f.stages == ("Awareness", "Survey")
    assert f.touchpoint_stage_map == {"Awareness": "Awareness", "Booking": "Survey", "Seat comfort": "Survey"}
    assert keys(f)[0][0] is None and "the other 2 ('Booking', 'Seat comfort') are in one stage 'Survey'" in keys(f)[0][1]
    # One warning per score column and rule, the columns in the order they were given.
    assert keys(f)[1:] == [
        (None, "1 row dropped: exact duplicates of an earlier row", 1),
        ("Seat comfort", "1 row dropped: no score", 1),
        ("Awareness", "2 rows dropped: no score", 2),
        ("Booking", "1 row dropped: score is not a number (e.g. 'x')", 1),
        ("Booking", "1 score coded as not rated (0) treated as missing", 1),
        ("Seat comfort", "1 score coded as not rated (0) treated as missing", 1),
    ]
    assert [w.rows for w in f.warnings] == [[], [4], [5], [2, 5], [5], [2], [1]]


def test_combined_file_on_both_roads(engine, wh):
    frame = text_frame("user_id,timestamp,event,rating,feedback",
                       "u1,2024-01-01 10:00,Home,,",               # an event without an answer: no warning
                       "u1,2024-01-01 10:05,Checkout,2,too slow",
                       "u1,2024-01-01 10:05,Checkout,2,too slow",  # exact duplicate: neither event nor answer
                       ",2024-01-01 10:06,Home,4,",                # no id: neither
                       "u2,2024-01-02 09:00,Home,5,",
                       "u2,2024-01-02 09:10,Cart,bad,")             # the event stays, the answer goes
    f, t = both(engine, wh, touchpoints=frame)
    assert events(f)[["customer_id", "touchpoint"]].values.tolist() == [
        ["u1", "Home"], ["u1", "Checkout"], ["u2", "Home"], ["u2", "Cart"]]
    assert survey(f)[["customer_id", "touchpoint", "score"]].values.tolist() == [
        ["u1", "Checkout", 2.0], ["u2", "Home", 5.0]]
    assert survey(f)["comment"].iloc[0] == "too slow" and pd.isna(survey(f)["comment"].iloc[1])
    assert keys(f) == [(None, "1 row dropped: exact duplicates of an earlier row", 1),
                       ("user_id", "1 row dropped: no customer id", 1),
                       ("rating", "1 row dropped: score is not a number (e.g. 'bad')", 1)]
    assert [w.rows for w in f.warnings] == [[3], [4], [6]]


def test_combined_file_rules_reported_once_on_both_roads(engine, wh):
    frame = text_frame("user_id,timestamp,event,stage,rating,nps",
                       "u1,2024-01-01 10:00,Home,Awareness,,",       # 1 an event without an answer
                       "u1,2024-01-01 10:05,Checkout,Moon,2,11",     # 2 stage outside the order; NPS 11
                       "u2,2024-01-02 09:00,Home,Awareness,5,ten",   # 3 NPS not a number
                       "u2,not a date,Cart,Purchase,4,0",            # 4 neither event nor answer
                       "u2,,Cart,Purchase,4,0",                      # 5 neither
                       "u3,2024-01-02 09:20,,Purchase,1,1",          # 6 neither (no touchpoint)
                       "u2,2024-01-02 09:10,Cart,Purchase,4,0")      # 7 an answer with NPS 0
    f, t = both(engine, wh, touchpoints=frame)
    assert survey(f)[["customer_id", "touchpoint", "score", "nps"]].fillna(-1).values.tolist() == [
        ["u1", "Checkout", 2.0, -1], ["u2", "Cart", 4.0, 0.0], ["u2", "Home", 5.0, -1]]
    assert survey(f)["stage"].tolist() == ["Purchase", "Purchase", "Awareness"]  # Moon emptied, then from Checkout
    assert keys(f) == [
        ("timestamp", "1 row dropped: no timestamp", 1),
        ("timestamp", "1 row dropped: unparseable timestamp (e.g. 'not a date')", 1),
        ("event", "1 row dropped: no touchpoint", 1),
        ("stage", f"1 row has a stage not in the stage order ({STAGES}): 'Moon'; their stage is left empty", 1),
        ("nps", "1 NPS values are not numbers and were left empty (e.g. 'ten')", 1),
        ("nps", "1 NPS values outside 0-10 left empty", 1),
    ]
    assert [w.rows for w in f.warnings] == [[5], [4], [6], [2], [3], [2]]


# --------------------------------------------------------------------------- customers, both roads


CUSTOMERS_FRAME = text_frame(
    "customer_id,region,spend,code",
    "a,North,10,007",   # 1 kept
    "a,North,10,007",   # 2 exact duplicate
    ",South,5,001",     # 3 no id
    "b,South,7.5,002",  # 4 first row of b in the file
    "b,East,1,003",     # 5 repeated id
    "b,West,2,005",     # 6 repeated id
    "c,North,,004",     # 7 kept
)


def test_customer_rules_on_both_roads(engine, wh):
    f = by_file(engine, {"touchpoints": SURVEY_EVENTS, "customers": CUSTOMERS_FRAME})
    t = by_table(wh, {"touchpoints": SURVEY_EVENTS, "customers": CUSTOMERS_FRAME})
    assert keys(f) == keys(t) == [
        (None, "1 row dropped: exact duplicates of an earlier row", 1),
        ("customer_id", "1 row dropped: no customer id", 1),
        ("customer_id", "2 rows dropped: customer id repeated (first row kept)", 2),
    ]
    assert [w.rows for w in f.warnings] == [[2], [3], [5, 6]]
    cf, ct = customers(f), customers(t)
    assert cf.values.tolist()[0] == ct.values.tolist()[0] == ["a", "North", 10.0, "007"]
    assert cf["code"].tolist()[2] == ct["code"].tolist()[2] == "004" and pd.isna(cf["spend"].iloc[2])
    assert cf["spend"].dtype == ct["spend"].dtype == "float64"
    # "First row kept": the first in the file; a table's first by its other columns as given.
    assert cf.iloc[1].tolist() == ["b", "South", 7.5, "002"]
    assert ct.iloc[1].tolist() == ["b", "East", 1.0, "003"]


# --------------------------------------------------------------------------- where, both roads


def test_where_keeps_rows_on_both_roads(engine, wh):
    ev = text_frame("customer_id,timestamp,touchpoint,channel", "a,2024-01-01 10:00,Home,web",
                    "a,2024-01-01 11:00,Cart,app", "b,2024-01-02,Cart,app", "c,2024-01-02,Cart,email")
    f, t = both(engine, wh, touchpoints=ev, where={"channel": ["app", "email"]})
    assert events(f)[["customer_id", "channel"]].values.tolist() == [["a", "app"], ["b", "app"], ["c", "email"]]
    assert keys(f) == [("channel", "kept 3 of 4 rows whose 'channel' is 'app' or 'email'", 1)]
    sv = text_frame("customer_id,touchpoint,score,wave", "a,Home,4,1", "b,Home,2,2", "c,Home,3,1")
    f, t = both(engine, wh, survey=sv, where={"wave": ["1"]})
    assert survey(f)["customer_id"].tolist() == ["a", "c"]
    assert keys(f) == [("wave", "kept 2 of 3 rows whose 'wave' is '1'", 1)]


def test_where_errors_on_both_roads(engine, wh):
    ev = text_frame("customer_id,timestamp,touchpoint,channel", "a,2024-01-01,Home,web")
    for load in (lambda **o: by_file(engine, {"touchpoints": ev}, **o), lambda **o: by_table(wh, {"touchpoints": ev}, **o)):
        with pytest.raises(InputError) as err:
            load(where={"channel": ["fax"]})
        assert err.value.message == "no row has 'fax' in column 'channel'" and err.value.column == "channel"
        with pytest.raises(InputError) as err:
            load(where={"colour": ["red"]})
        assert str(err.value) == ("where: no file has a column 'colour' to keep rows by; columns: channel, "
                                  "customer_id, timestamp, touchpoint")


# --------------------------------------------------------------------------- messy files counted by hand


MESSY = """\
customer_id,timestamp,touchpoint,stage,channel,amount,note
c1,2024-03-01 10:00:00,Ad,Awareness,web,5,hello
c1,2024-03-01T12:00:00+02:00,Site,consideration,web,6,
c1,2024-03-01 10:00:00,Ad,Awareness,web,5,hello
,2024-03-01 11:00:00,Ad,Awareness,web,1,x
c2,,Ad,Awareness,web,2,x
c2,not a date,Ad,Awareness,web,3,x
c2,2024-03-02,Checkout page,,app,4,x
c2,2024-03-02 09:30:00Z,,Awareness,app,7,x
c3, 2024-03-03 08:00:00 ,Site,Flying,NA,8,y
c3,2024-03-03 09:00:00.250,Site,decision,app,9,y
c3,2999-01-01 00:00:00,Site,Intent,app,10,y
c4,2024-03-05 1:02:03,Ad,Awareness,web,11,z
c4,March 6 2024,Ad,Awareness,web,12,z
"""


def test_messy_file_counted_by_hand(engine, wh):
    data = load_journey(src(MESSY, "messy.csv"), engine=engine)
    ev = events_of(data)
    # rows 3 (duplicate of 1), 4 (no id), 5 (no timestamp), 6 (unparseable), 8 (no touchpoint) dropped
    assert ev["seq"].tolist() == [0, 1, 6, 8, 9, 10, 11, 12]
    by_seq = ev.set_index("seq")
    assert by_seq.loc[1, "timestamp"] == pd.Timestamp("2024-03-01 10:00:00")  # +02:00 to UTC
    assert by_seq.loc[6, "timestamp"] == pd.Timestamp("2024-03-02")
    assert by_seq.loc[9, "timestamp"] == pd.Timestamp("2024-03-03 09:00:00.250")
    assert by_seq.loc[11, "timestamp"] == pd.Timestamp("2024-03-05 01:02:03")  # read in Python
    assert by_seq.loc[12, "timestamp"] == pd.Timestamp("2024-03-06")
    assert by_seq.loc[1, "stage"] == "Consideration"
    assert by_seq.loc[9, "stage"] == "Intent"  # synonym
    assert by_seq.loc[6, "stage"] == "Purchase"  # from the touchpoint name
    assert pd.isna(by_seq.loc[8, "stage"])  # unknown stage left empty
    assert pd.isna(by_seq.loc[8, "channel"])  # "NA" is missing
    assert by_seq.loc[8, "timestamp"] == pd.Timestamp("2024-03-03 08:00:00")  # trimmed
    assert ev["amount"].dtype == "int64" and ev["amount"].tolist() == [5, 6, 4, 8, 9, 10, 11, 12]
    dropped = [(i.count, i.rows) for i in data.warnings if " dropped: " in i.message]
    assert dropped == [(1, [3]), (1, [4]), (1, [5]), (1, [6]), (1, [8])]
    assert any("not in the stage order" in i.message and i.rows == [9] for i in data.warnings)
    assert any("in the future" in i.message and i.rows == [11] for i in data.warnings)
    # The same cells as a table (as the file reads them: "NA" is a database's NULL).
    t = by_table(wh, {"touchpoints": read_table(src(MESSY, "messy.csv"), engine=engine)})
    pd.testing.assert_frame_equal(events(data), events(t))
    assert keys(t) == keys(data)


MESSY_EVENTS = """\
customer_id,timestamp,touchpoint,stage,channel
c1,2024-03-01 09:00:00,Ad,Awareness,web
c2,2024-03-01 09:30:00,Site,Consideration,web
c3,2024-03-02 09:00:00,Checkout page,Purchase,app
c4,2024-03-03 09:00:00,Site,Intent,app
"""

MESSY_SURVEY = """\
customer_id,timestamp,stage,touchpoint,score,comment,nps,wave,weight,segment
c1,2024-03-01 10:00:00,Awareness,Ad,4,good,9,1,0.5,a
c1,2024-03-01 10:00:00,Awareness,Ad,4,good,9,1,0.5,a
,2024-03-01 11:00:00,Purchase,Checkout page,3,,5,1,1.5,b
c2,not a date,consideration,Site,5,"nice, really",11,2,0.25,a
c2,2024-03-02 09:00:00,Flying,Site,2,,7,2,1.0,b
c3,2024-03-03T08:00:00+02:00,,Checkout page,,meh,3,1,2.0,c
c3,2024-03-03 09:00:00,Retention,Newsletter,0,,8,2,1.0,a
c9,2024-03-04 10:00:00,Advocacy,Review,9,,10,1,1.0,a
c4, 2024-03-05 10:00:00 ,Intent,Site,3, padded ,,2,3.5,b
c4,2024-03-05 11:00:00,Moon,Site,5,,,2,1.0,b
"""

MESSY_CUSTOMERS = """\
customer_id,region,spend,code
c1,North,10,007
c1,North,10,007
,South,5,001
c2,South,7.5,002
c2,East,1,003
c3,North,,004
c4, West ,2,005
"""


def _messy_sources(with_events: bool = True) -> dict[str, tuple[str, bytes]]:
    out = {"survey": src(MESSY_SURVEY, "survey.csv"), "customers": src(MESSY_CUSTOMERS, "customers.csv")}
    if with_events:
        out["touchpoints"] = src(MESSY_EVENTS, "touchpoints.csv")
    return out


def test_messy_survey_and_customers_counted_by_hand(engine, wh):
    data = load_journey(**_messy_sources(), not_rated=(0,), engine=engine)
    got = {(i.file, i.message.split(";")[0]): i.rows for i in data.warnings}
    # 1-based data rows of the survey file
    assert got[("survey.csv", "1 row dropped: exact duplicates of an earlier row")] == [2]
    assert got[("survey.csv", "1 row dropped: no customer id")] == [3]
    assert got[("survey.csv", "1 unparseable timestamps left empty (e.g. 'not a date')")] == [4]
    assert got[("survey.csv", "1 NPS values outside 0-10 left empty")] == [4]
    assert got[("survey.csv", "1 answers have a comment but no score")] == [6]  # kept for its comment
    assert got[("survey.csv", "1 score coded as not rated (0) treated as missing")] == [7]
    assert any(i.rows == [5, 10] and "stage not in the stage order" in i.message for i in data.warnings)
    assert any(i.rows == [8] and "1 survey customers have no events (e.g. 'c9')" in i.message for i in data.warnings)
    assert got[("customers.csv", "1 row dropped: exact duplicates of an earlier row")] == [2]
    assert got[("customers.csv", "1 row dropped: no customer id")] == [3]
    assert got[("customers.csv", "1 row dropped: customer id repeated (first row kept)")] == [5]

    sv = data.survey.execute()
    assert sv["customer_id"].tolist() == ["c1", "c2", "c2", "c3", "c9", "c4", "c4"]
    assert sv["score"].fillna(-1).tolist() == [4.0, 5.0, 2.0, -1, 9.0, 3.0, 5.0]  # c3's comment, no score
    assert sv["stage"].tolist()[:2] == ["Awareness", "Consideration"] and pd.isna(sv["stage"].iloc[2])
    assert sv["stage"].iloc[5] == "Intent" and pd.isna(sv["stage"].iloc[6])  # nor is Moon
    assert pd.isna(sv["timestamp"].iloc[1]) and pd.isna(sv["nps"].iloc[1])  # bad time, NPS 11 left empty
    assert sv["timestamp"].iloc[5] == pd.Timestamp("2024-03-05 10:00:00")  # padded, trimmed
    assert sv["comment"].iloc[5] == "padded"
    assert sv["wave"].dtype == "int64" and sv["weight"].dtype == "float64"
    cu = data.customers.execute()
    assert cu["customer_id"].tolist() == ["c1", "c2", "c3", "c4"]
    assert cu["region"].tolist() == ["North", "South", "North", "West"]
    assert cu["code"].tolist() == ["007", "002", "004", "005"]  # a leading zero keeps it text
    assert cu["spend"].iloc[1] == 7.5 and pd.isna(cu["spend"].iloc[2])

    # The same cells as tables: the same answers and warnings; c2's first row is the
    # first by the other columns as given (East before South).
    frames = {k: read_table(s, engine=engine) for k, s in _messy_sources().items()}
    t = by_table(wh, frames, not_rated=(0,))
    pd.testing.assert_frame_equal(survey(t), survey(data))
    assert sorted(keys(t), key=str) == sorted(keys(data), key=str)
    assert customers(t)["region"].tolist() == ["North", "East", "North", "West"]


def test_survey_without_events_file(engine, wh):
    data = load_journey(**_messy_sources(with_events=False), engine=engine)
    assert not any("have no events" in i.message for i in data.warnings)
    assert data.events.count().execute() == 0 and not data.has_events
    # 0 is a score here; c3's comment without a score is kept too
    assert survey(data)["customer_id"].tolist() == ["c1", "c2", "c2", "c3", "c3", "c4", "c4", "c9"]
    frames = {k: read_table(s, engine=engine) for k, s in _messy_sources(with_events=False).items()}
    t = by_table(wh, frames)
    pd.testing.assert_frame_equal(survey(t), survey(data))
    assert not any("have no events" in i.message for i in t.warnings)
    assert sorted(keys(t), key=str) == sorted(keys(data), key=str)


@pytest.mark.parametrize("seed", [3, 11])
def test_generated_sample_on_both_roads(engine, wh, seed):
    """The sample generator's typed frames as a table and as CSV files: the same journeys,
    answers and customers; three answers from customers without events are counted."""
    frames = generate_sample(120, seed=seed)
    frames["survey"] = pd.concat([frames["survey"], frames["survey"].head(3).assign(customer_id=["X1", "X2", "X3"])],
                                 ignore_index=True)
    parts = {k: frames[k] for k in ("touchpoints", "survey", "customers")}
    f, t = by_file(engine, parts), by_table(wh, parts)
    cols = ["customer_id", "timestamp", "touchpoint", "stage", "channel"]
    pd.testing.assert_frame_equal(events(f)[cols], events(t)[cols], check_dtype=False)
    assert len(events(f)) == len(frames["touchpoints"].drop_duplicates())
    pd.testing.assert_frame_equal(survey(f)[["customer_id", "touchpoint", "score"]],
                                  survey(t)[["customer_id", "touchpoint", "score"]])
    assert customers(f)["customer_id"].tolist() == customers(t)["customer_id"].tolist()
    assert [warning_key(w) for w in f.warnings] == [warning_key(w) for w in t.warnings]
    assert any(w.message.startswith("3 survey customers have no events") for w in t.warnings)
    assert f.touchpoint_stage_map == t.touchpoint_stage_map and f.score_scale == t.score_scale


def test_validate_reports_what_a_load_warns(engine):
    report = validate(src(MESSY, "messy.csv"), engine=engine)
    data = load_journey(src(MESSY, "messy.csv"), engine=engine)
    assert report.ok and [(w.column, w.message, w.count, w.rows) for w in report.warnings] == [
        (w.column, w.message, w.count, w.rows) for w in data.warnings]
    assert len(report.warnings) == 7


# --------------------------------------------------------------------------- rows and types (files)


def test_missing_ids_and_exact_duplicates_dropped_with_rows():
    text = ("customer_id,timestamp,touchpoint\n"
            "a,2024-01-01,x\n"
            "a,2024-01-01,x\n"  # row 2 duplicates row 1
            ",2024-01-02,y\n"   # row 3 has no id
            "a,2024-01-01,y\n"  # differs from row 1 in touchpoint: kept
            "b,2024-01-02,z\n"
            "a,2024-01-01,x\n")  # row 6 duplicates row 1
    data = load_journey(src(text, "d.csv"))
    ev = events_of(data)
    assert ev["seq"].tolist() == [0, 3, 4]
    dup = warning_with(data, "exact duplicates")
    assert dup.count == 2 and dup.rows == [2, 6]
    noid = warning_with(data, "no customer id")
    assert noid.count == 1 and noid.rows == [3] and noid.column == "customer_id"


def test_unparseable_timestamps_dropped_and_counted():
    text = ("customer_id,timestamp,touchpoint\n"
            "a,2024-01-01,x\nb,not a date,x\nc,2024-01-03,x\nd,,x\ne,soon,x\n")
    data = load_journey(src(text, "t.csv"))
    ev = events_of(data)
    assert ev["customer_id"].tolist() == ["a", "c"]
    assert ev["seq"].tolist() == [0, 2]  # positions in the file survive the drops
    bad = warning_with(data, "unparseable timestamp")
    assert bad.count == 2 and bad.rows == [2, 5] and "'not a date'" in bad.message
    blank = warning_with(data, "no timestamp")
    assert blank.count == 1 and blank.rows == [4]


def test_no_parseable_timestamp_is_an_error_naming_file_and_column():
    text = "customer_id,when,touchpoint\na,someday,x\nb,later,x\n"
    with pytest.raises(InputError) as info:
        load_journey(src(text, "t.csv"), mapping={"timestamp": "when"})
    assert str(info.value).startswith("t.csv: no parseable timestamp in column 'when'")
    assert "'someday'" in str(info.value)


def test_output_types_and_extra_columns():
    text = "customer_id,timestamp,touchpoint,amount,plan,zip\n007,2024-01-01,x,12.5,gold,01234\n8,2024-01-02,y,3,,02000\n"
    data = load_journey(src(text))
    ev = events_of(data)
    schema = data.events.schema()
    assert str(schema["customer_id"]) == "string" and str(schema["seq"]) == "int64"
    assert schema["timestamp"].is_timestamp()
    assert ev["customer_id"].tolist() == ["007", "8"]
    assert ev["amount"].tolist() == [12.5, 3.0]
    assert ev["plan"].iloc[0] == "gold" and pd.isna(ev["plan"].iloc[1])
    assert ev["zip"].tolist() == ["01234", "02000"]  # leading zeros: stays text
    assert list(ev.columns[:6]) == ["customer_id", "timestamp", "seq", "touchpoint", "stage", "channel"]


def test_ids_written_as_whole_floats_match_across_files_on_both_roads(engine, wh):
    ev = text_frame("customer_id,timestamp,touchpoint", "12.0,2024-01-01,Home", "13.0,2024-01-02,Home")
    sv = text_frame("customer_id,touchpoint,score", "12,Home,4", "14,Home,2")
    f, t = both(engine, wh, touchpoints=ev, survey=sv)
    assert events(f)["customer_id"].tolist() == ["12", "13"]
    assert keys(f) == [("customer_id", "1 survey customers have no events (e.g. '14'); their answers count in "
                                       "scores but not in flows", 1)]


def test_stages_normalised_unknown_reported_and_filled_from_map():
    text = ("customer_id,timestamp,touchpoint,stage\n"
            "a,2024-01-01,Ad,awareness\n"
            "a,2024-01-02,Compare,Decision\n"     # synonym -> Intent
            "a,2024-01-03,Pay,Purchasing\n"        # unknown label
            "a,2024-01-04,Pay,\n"                  # no stage: from the map
            "b,2024-01-05,Help,Wonderland\n")      # unknown
    data = load_journey(src(text, "s.csv"), journey=JourneyModel.default(stage_map={"Pay": "buy", "Help": "support"},
                                                                     guess_stages=False))
    ev = events_of(data)
    # unknown labels become missing, then the touchpoint map fills them
    assert ev["stage"].tolist() == ["Awareness", "Intent", "Purchase", "Purchase", "Retention"]
    w = warning_with(data, "stage not in the stage order")
    assert w.count == 2 and w.rows == [3, 5] and "'Purchasing'" in w.message and "'Wonderland'" in w.message
    assert data.touchpoint_stage_map == {"Pay": "Purchase", "Help": "Retention"}


def test_default_touchpoint_stage_map_from_names():
    text = ("customer_id,timestamp,touchpoint\n"
            "a,2024-01-01,Checkout page\na,2024-01-02,A_SUBMITTED\na,2024-01-03,Awareness\na,2024-01-04,referral link\n")
    data = load_journey(src(text))
    ev = events_of(data)
    assert ev["stage"].tolist()[0] == "Purchase"
    assert pd.isna(ev["stage"].iloc[1])
    assert ev["stage"].tolist()[2:] == ["Awareness", "Advocacy"]
    assert data.touchpoint_stage_map == {"Checkout page": "Purchase", "Awareness": "Awareness",
                                         "referral link": "Advocacy"}


def test_custom_stage_order():
    text = "customer_id,timestamp,touchpoint,stage\na,2024-01-01,x,Browse\na,2024-01-02,y,awareness\n"
    data = load_journey(src(text), journey=JourneyModel.default(("Browse", "Buy")))
    ev = events_of(data)
    assert ev["stage"].iloc[0] == "Browse" and pd.isna(ev["stage"].iloc[1])
    assert data.stages == ("Browse", "Buy")


def test_stage_rules_naming_stages_outside_the_order_are_reported(engine):
    journey = JourneyModel(stages=("Browse", "Buy"), stage_map={"x": "Nowhere"})
    data = load_journey(src("customer_id,timestamp,touchpoint\na,2024-01-01,x\n"), journey=journey, engine=engine)
    w = warning_with(data, "are named by the stage rules or the goal but are not in the stage order")
    assert (w.file, w.count) == ("journey", 1) and "'Nowhere'" in w.message and "(Browse, Buy)" in w.message


# --------------------------------------------------------------------------- survey (files)


def test_long_survey_scores_text_and_bad_values():
    text = ("customer_id,stage,touchpoint,score,comment,nps\n"
            "c1,Awareness,Ad,4,nice,9\n"
            "c1,Purchase,Pay,4.0,,10\n"
            "c2,Purchase,Pay,good,bad score,7\n"   # not a number: dropped
            "c2,Awareness,Ad,,,\n"                # blank: dropped
            "c2,Retention,Help,2,slow,11\n")      # nps outside 0-10: nps left empty
    data = load_journey(src(EVENTS), survey=src(text, "survey.csv"))
    sv = data.survey.execute().sort_values("score").reset_index(drop=True)
    assert sv["score"].tolist() == [2.0, 4.0, 4.0]
    assert sv["nps"].iloc[0] != sv["nps"].iloc[0]  # NaN
    assert sorted(sv["nps"].dropna().tolist()) == [9.0, 10.0]
    assert str(data.survey.schema()["score"]) == "float64"
    notnum = warning_with(data, "score is not a number")
    assert notnum.count == 1 and notnum.rows == [3] and "'good'" in notnum.message
    blank = warning_with(data, "no score")
    assert blank.count == 1 and blank.rows == [4]
    nps = warning_with(data, "NPS values outside 0-10")
    assert nps.count == 1 and nps.rows == [5]
    assert data.score_scale == ScoreScale(1, 5)


def test_decimal_comma_scores_are_numbers(engine, wh):
    sv = pd.DataFrame({"customer_id": ["a", "b"], "touchpoint": ["Home", "Home"], "score": ["4,5", "3"]})
    f, t = both(engine, wh, survey=sv)
    assert survey(f)["score"].tolist() == [4.5, 3.0] and f.warnings == []


def test_wide_survey_melt_with_not_rated():
    text = ("id,Booking,Seat comfort,Awareness,Gender\n"
            "1,5,0,3,F\n"
            "2,0,4,,M\n"
            "3,2,1,1,F\n")
    cols = ["Booking", "Seat comfort", "Awareness"]
    data = load_journey(survey=src(text, "wide.csv"), mapping={"score": cols}, not_rated=(0,))
    sv = data.survey.execute()
    got = sorted(zip(sv["customer_id"], sv["touchpoint"], sv["score"]))
    assert got == [("1", "Awareness", 3.0), ("1", "Booking", 5.0),
                   ("2", "Seat comfort", 4.0),
                   ("3", "Awareness", 1.0), ("3", "Booking", 2.0), ("3", "Seat comfort", 1.0)]
    stage_of = dict(zip(sv["touchpoint"], sv["stage"]))
    assert stage_of["Awareness"] == "Awareness"  # a column named after a stage gives the stage
    # no stage map: the ratings the default stages do not name are in one stage named for the file
    assert stage_of["Booking"] == stage_of["Seat comfort"] == "Wide" and data.stages == ("Awareness", "Wide")
    nr = [w for w in data.warnings if "not rated" in w.message]
    assert sorted((w.column, w.count, tuple(w.rows)) for w in nr) == [("Booking", 1, (2,)), ("Seat comfort", 1, (1,))]
    # the respondents' other columns become customer attributes
    cust = data.customers.execute().sort_values("customer_id")
    assert cust["customer_id"].tolist() == ["1", "2", "3"] and cust["Gender"].tolist() == ["F", "M", "F"]
    assert data.score_scale == ScoreScale(1, 5)
    # a survey-only dataset has an empty, well-typed events table
    assert data.events.count().execute() == 0
    assert str(data.events.schema()["timestamp"]).startswith("timestamp")


def test_wide_survey_missing_column_is_an_error():
    text = "id,Booking\n1,5\n"
    with pytest.raises(InputError, match=r"wide\.csv: mapped column 'Seat' for field 'score' not found; columns: id, Booking"):
        load_journey(survey=src(text, "wide.csv"), mapping={"score": ["Booking", "Seat"]})


def test_scores_outside_the_scale_are_kept_and_warned():
    rows = ["customer_id,touchpoint,score"] + [f"c{i},t,{1 + i % 5}" for i in range(199)] + ["c199,t,9"]
    data = load_journey(survey=src("\n".join(rows) + "\n", "s.csv"))
    assert data.score_scale == ScoreScale(1, 5)  # 199 of 200 fit 1-5
    w = warning_with(data, "outside the detected scale 1 to 5")
    assert w.count == 1 and w.rows == [200]
    assert data.survey.count().execute() == 200  # never dropped, never rescaled


def test_survey_customers_without_events_are_counted():
    survey_text = "customer_id,touchpoint,score\nc1,Home,4\nc9,Home,2\nc9,Checkout,3\nc8,Home,5\n"
    data = load_journey(src(EVENTS), survey=src(survey_text, "survey.csv"))
    w = warning_with(data, "survey customers have no events")
    assert w.count == 2 and w.rows == [2, 3, 4] and w.file == "survey.csv"


def test_survey_without_a_place_on_the_journey_is_said(engine, wh):
    sv = text_frame("customer_id,score", "a,4", "b,2")
    f, t = both(engine, wh, survey=sv)
    assert keys(f) == [(None, "no stage or touchpoint column: scores cannot be placed on the journey", 0)]


def test_combined_file_yields_events_and_survey():
    text = ("user_id,timestamp,event,rating,feedback\n"
            "u1,2024-01-01 10:00,Home,,\n"
            "u1,2024-01-01 10:05,Checkout,2,too slow\n"
            "u2,2024-01-02 09:00,Home,5,\n")
    data = load_journey(src(text, "combined.csv"))
    ev = events_of(data)
    assert ev["touchpoint"].tolist() == ["Home", "Checkout", "Home"]
    assert "rating" not in ev.columns and "feedback" not in ev.columns
    sv = data.survey.execute().sort_values("score").reset_index(drop=True)
    assert sv["customer_id"].tolist() == ["u1", "u2"]
    assert sv["score"].tolist() == [2.0, 5.0]
    assert sv["touchpoint"].tolist() == ["Checkout", "Home"]
    assert sv["stage"].iloc[0] == "Purchase"  # from the default touchpoint map
    assert sv["comment"].iloc[0] == "too slow"
    assert sv["timestamp"].iloc[0] == pd.Timestamp("2024-01-01 10:05")
    assert not [w for w in data.warnings if "no score" in w.message]  # events without answers are normal


def test_customers_file_duplicates_and_types():
    text = "customer_id,age,plan\nc1,34,gold\nc2,51,\nc1,35,silver\nc1,34,gold\n"
    data = load_journey(src(EVENTS), customers=src(text, "customers.csv"))
    cust = data.customers.execute().sort_values("customer_id").reset_index(drop=True)
    assert cust["customer_id"].tolist() == ["c1", "c2"]
    assert cust["age"].tolist() == [34, 51] and pd.api.types.is_integer_dtype(cust["age"])
    assert warning_with(data, "exact duplicates").rows == [4]
    assert warning_with(data, "customer id repeated").rows == [3]


# --------------------------------------------------------------------------- inputs and report


def test_dataframe_path_and_upload_inputs_agree(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(EVENTS)
    upload = io.BytesIO(EVENTS.encode())
    upload.name = "events.csv"
    frames = [events_of(load_journey(s)) for s in (str(path), upload, pd.read_csv(io.StringIO(EVENTS)))]
    for other in frames[1:]:
        pd.testing.assert_frame_equal(frames[0], other, check_dtype=False)
    assert frames[0]["timestamp"].iloc[2] == pd.Timestamp("2024-01-03 09:30")


def test_xlsx_and_parquet_load(tmp_path):
    frame = pd.read_csv(io.StringIO(EVENTS), dtype=str)
    xlsx, parquet = tmp_path / "e.xlsx", tmp_path / "e.parquet"
    frame.to_excel(xlsx, index=False)
    frame.assign(timestamp=pd.to_datetime(frame["timestamp"])).to_parquet(parquet)
    for path in (xlsx, parquet):
        ev = events_of(load_journey(path))
        assert ev["customer_id"].tolist() == ["c1", "c1", "c2"]
        assert ev["timestamp"].tolist() == [pd.Timestamp("2024-01-01 10:00"), pd.Timestamp("2024-01-02 11:00"),
                                            pd.Timestamp("2024-01-03 09:30")]


def test_header_only_and_empty_inputs_are_errors():
    with pytest.raises(InputError, match=r"^h\.csv: no data rows \(the file has only a header\)"):
        load_journey(src("customer_id,timestamp,touchpoint\n", "h.csv"))
    with pytest.raises(InputError, match=r"^e\.csv: empty file"):
        load_journey(src("\n\n", "e.csv"))
    with pytest.raises(InputError, match="no input"):
        load_journey()


def test_input_error_text_format():
    err = InputError("f.csv", "bad thing")
    assert str(err) == "f.csv: bad thing" and err.file == "f.csv" and err.message == "bad thing"


def test_validate_collects_every_error_without_raising():
    report = validate(src("customer_id,timestamp\nc1,2024-01-01\n", "a.csv"),
                      survey=src("\x00\x01", "b.csv"))
    assert isinstance(report, ValidationReport) and not report.ok
    files = sorted(e.file for e in report.errors)
    assert files == ["a.csv", "b.csv"]
    frame = report.to_frame()
    assert list(frame.columns) == ["severity", "file", "column", "message", "count", "rows"]
    assert (frame["severity"] == "error").all()
    assert any(line.startswith("error: a.csv (column 'touchpoint'): no column for required field") for line in report.lines())


def test_validate_reports_warnings_and_ok():
    text = "customer_id,timestamp,touchpoint\na,2024-01-01,x\na,2024-01-01,x\nb,bad,y\nc,2024-01-02,z\n"
    report = validate(src(text, "w.csv"))
    assert report.ok and report.errors == []
    frame = report.to_frame()
    assert sorted(frame["count"].tolist()) == [1, 1]
    assert set(frame["rows"]) == {"2", "3"}
    assert all(line.startswith("warning: w.csv") for line in report.lines())


def test_equal_timestamps_keep_file_order_through_seq():
    text = "customer_id,timestamp,touchpoint\na,2024-01-01 10:00,second?\na,2024-01-01 09:00,first\na,2024-01-01 10:00,third\n"
    ev = load_journey(src(text)).events.execute().sort_values(["timestamp", "seq"])
    assert ev["touchpoint"].tolist() == ["first", "second?", "third"]
    assert ev["seq"].tolist() == [1, 0, 2]


def test_large_file_is_vectorised():
    # 50,000 rows would take many seconds if anything looped per row in Python.
    n = 50_000
    ids = np.arange(n) % 997
    ts = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n), unit="s")
    frame = pd.DataFrame({"user_id": ids, "event_time": ts.strftime("%Y-%m-%dT%H:%M:%S+01:00"),
                          "event": np.where(ids % 2 == 0, "view", "checkout")})
    data = load_journey(("big.csv", frame.to_csv(index=False).encode()))
    assert data.events.count().execute() == n
    assert data.events.customer_id.nunique().execute() == 997
    first = data.events.order_by("seq").limit(1).execute()
    assert first["timestamp"].iloc[0] == pd.Timestamp("2023-12-31 23:00")


def test_check_returns_the_data_and_the_report_once(engine):
    checked = check(src(EVENTS), engine=engine)
    assert isinstance(checked, Checked) and checked.report.ok and checked.report.warnings == []
    assert events_of(checked.data)["touchpoint"].tolist() == ["Home", "Checkout", "Home"]
    assert checked.owned and all(kind in ("table", "view") for kind, _ in checked.owned)
    checked.release()
    assert checked.owned == []
    checked.release()  # twice is fine
    bad = check(src("customer_id,when\na,1\n", "bad.csv"), engine=engine)
    assert bad.data is None and [e.file for e in bad.report.errors] == ["bad.csv"] and bad.owned == []


# --------------------------------------------------------------------------- database tables (the warehouse road)


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


@pytest.fixture(scope="module")
def typed(tmp_path_factory):
    """Typed tables (integer ids, timestamps, a schema) written with plain SQL, read by URL."""
    import ibis

    path = tmp_path_factory.mktemp("typed") / "x.ddb"
    con = ibis.duckdb.connect(str(path))
    for sql in (EVENTS_SQL, SURVEY_SQL, CUSTOMERS_SQL):
        con.raw_sql(sql)
    con.raw_sql("create schema analytics")
    con.raw_sql("create table analytics.events as select * from web_events where user_id = 1")
    con.raw_sql("""create table combined as select * from (values
        ('a', TIMESTAMP '2024-01-01 10:00', 'Home', 3.0, 'ok'),
        ('a', TIMESTAMP '2024-01-01 11:00', 'Cart', NULL, NULL)) t(user_id, timestamp, event, score, comment)""")
    con.raw_sql("create table wide as select * from (values ('a', 4, 2), ('b', NULL, 5)) "
                "t(respondent_id, Awareness, Checkout)")
    con.disconnect()
    eng = Engine(f"duckdb:///{path}")
    yield eng
    eng.con.disconnect()


def test_load_tables_builds_canonical_tables(typed):
    data = load_tables(typed, "web_events", "answers", "people")
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
    assert any("web_events" in t and "'user_id'" in t and "1 row dropped: no customer id" in t for t in texts)
    assert any("'event_time'" in t and "1 row dropped: no timestamp" in t for t in texts)
    assert any("'phase'" in t and "'weird'" in t for t in texts)
    # The blank rating and the one that is no number, each by its own rule, as for a file.
    assert any("answers" in t and "'rating'" in t and "1 row dropped: no score" in t for t in texts)
    assert any("answers" in t and "'rating'" in t and "1 row dropped: score is not a number (e.g. 'n/a')" in t
               for t in texts)


def test_survey_scores_nps_and_scale(typed):
    data = load_tables(typed, "web_events", "answers")
    sv = data.survey.execute().sort_values("customer_id").reset_index(drop=True)
    assert sv["customer_id"].tolist() == ["1", "2", "3"]
    assert sv["score"].tolist() == [4.0, 2.0, 5.0]
    assert sv["stage"].tolist() == ["Awareness", "Purchase", "Intent"]  # Decision -> Intent
    assert sv["nps"].iloc[0] == 9.0 and pd.isna(sv["nps"].iloc[1])  # 11 is outside 0-10
    assert data.score_scale == ScoreScale(1.0, 5.0)
    curve = emotions.emotion_curve(data.survey, data.stages, min_n=1)
    assert dict(zip(curve["stage"], curve["mean"])) == {"Awareness": 4.0, "Intent": 5.0, "Purchase": 2.0}


def test_flows_match_the_file_loader_on_the_same_data(typed):
    frame = typed.execute(typed.con.table("web_events"))
    # Without the timestamp tie (file order and name order would differ) both loaders agree.
    from_file = load_journey(frame[frame["event_name"] != "Ad"].reset_index(drop=True))
    from_table = load_tables(typed, "web_events")
    ev = from_table.events.filter(from_table.events.touchpoint != "Ad")
    pd.testing.assert_frame_equal(flows.transitions(from_file.events), flows.transitions(ev))
    pd.testing.assert_frame_equal(flows.step_sankey(from_file.events, level="stage"),
                                  flows.step_sankey(ev, level="stage"))


def test_schema_qualified_table(typed):
    data = load_tables(typed, "analytics.events")
    assert set(data.events.execute()["customer_id"]) == {"1"}
    assert data.source_names["touchpoints"] == "analytics.events"


def test_wide_survey_and_combined_table(typed):
    wide = load_tables(typed, None, survey="wide", mapping={"score": ["Awareness", "Checkout"]})
    sv = wide.survey.execute().sort_values(["customer_id", "touchpoint"]).reset_index(drop=True)
    assert sv[["customer_id", "touchpoint", "score"]].values.tolist() == [
        ["a", "Awareness", 4.0], ["a", "Checkout", 2.0], ["b", "Checkout", 5.0]]
    assert sv["stage"].tolist() == ["Awareness", "Purchase", "Purchase"]  # column names as stages
    both_ = load_tables(typed, "combined")
    assert both_.events.count().execute() == 2
    assert "score" not in both_.events.columns and "comment" not in both_.events.columns
    got = both_.survey.execute()
    assert got[["customer_id", "touchpoint", "score", "comment"]].values.tolist() == [["a", "Home", 3.0, "ok"]]


def test_errors_name_the_table_and_column(typed):
    with pytest.raises(InputError, match=r"^no_such_table: table or view 'no_such_table' not found"):
        load_tables(typed, "no_such_table")
    with pytest.raises(InputError, match=r"^nowhere\.web_events: .*not found"):
        load_tables(typed, "nowhere.web_events")
    with pytest.raises(InputError) as err:
        load_tables(typed, "people")  # a customers table is no event table
    assert err.value.file == "people" and err.value.column == "timestamp"
    assert "no column for required field 'timestamp'" in str(err.value)
    with pytest.raises(InputError, match=r"^web_events: mapped column 'missing' for field 'touchpoint'"):
        load_tables(typed, "web_events", mapping={"touchpoint": "missing"})
    with pytest.raises(InputError, match="unknown field 'colour'"):
        load_tables(typed, "web_events", mapping={"colour": "source"})
    with pytest.raises(InputError, match=r"^web_events: order column 'nope' not found"):
        load_tables(typed, "web_events", order_column="nope")
    with pytest.raises(InputError, match=r"no parseable timestamp in column 'event_name'"):
        load_tables(typed, "web_events", mapping={"timestamp": "event_name", "touchpoint": "source"})
    with pytest.raises(InputError, match=r"^answers: no usable scores in 'stage'"):
        load_tables(typed, None, survey="answers", mapping={"survey.score": "stage"})
    with pytest.raises(InputError, match=r"no input: give a touchpoints or survey table"):
        load_tables(typed, None, customers="people")


def test_order_column_breaks_ties(tmp_path):
    import ibis

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


# --------------------------------------------------------------------------- what a long run leaves behind


def _catalog(engine: Engine) -> tuple[list, list]:
    """Every table and view of the engine's DuckDB (its own catalog, temporary ones too)."""
    tables = engine.con.raw_sql("select database_name, schema_name, table_name from duckdb_tables()").fetchall()
    views = engine.con.raw_sql(
        "select database_name, schema_name, view_name from duckdb_views() where not internal").fetchall()
    return sorted(tables), sorted(views)


def _containers() -> dict[tuple[str, str], int]:
    """The size of every container held at module level in journeylib.ingest."""
    sizes = {}
    for info in pkgutil.iter_modules(ingest_pkg.__path__):
        module = importlib.import_module(f"journeylib.ingest.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, (list, dict, set, tuple)) and not name.startswith("__"):
                sizes[(info.name, name)] = len(value)
            elif hasattr(value, "__len__") and type(value).__module__ in ("collections", "weakref"):
                sizes[(info.name, name)] = len(value)
    return sizes


def _small_file(i: int) -> dict:
    """The i-th of a series of small inputs of different shapes (each takes its own road
    through the reader and the rules: lookups, duplicates, filters, surveys...)."""
    day = 1 + i % 27
    shape = i % 10
    base = f"customer_id,timestamp,touchpoint,channel\nc{i},2024-01-{day:02d} 10:00:00,Home,web\n"
    if shape == 0:  # exact duplicates and a row without an id
        return {"touchpoints": src(base + base.split("\n", 1)[1] + f",2024-01-{day:02d},Cart,web\n")}
    if shape == 1:  # DD/MM dates: read in Python, joined back as a lookup table
        return {"touchpoints": src(f"customer_id,date,touchpoint\nc{i},03/04/2024,Home\nc{i},{day:02d}/05/2024,Cart\n")}
    if shape == 2:  # ISO text the engine cannot read: a lookup for those values
        return {"touchpoints": src(base + f"c{i},2024-01-{day:02d} 1:02:03,Cart,app\n")}
    if shape == 3:  # a survey, one customer without events
        return {"touchpoints": src(base), "survey": src(f"customer_id,touchpoint,score\nc{i},Home,4\nz{i},Home,2\n",
                                                         "survey.csv")}
    if shape == 4:  # customers with a repeated id
        return {"touchpoints": src(base), "customers": src(f"customer_id,age\nc{i},3\nc{i},4\n", "customers.csv")}
    if shape == 5:  # a where filter (its own table)
        return {"touchpoints": src(base + f"c{i},2024-01-{day:02d} 11:00:00,Cart,app\n"), "where": {"channel": ["app"]}}
    if shape == 6:  # more staged touchpoints than a CASE holds: the stage rules join a lookup table
        rows = "".join(f"c{i},2024-01-{day:02d} 10:{k % 60:02d}:00,page {k},web\n" for k in range(250))
        journey = JourneyModel.default(stage_map={f"page {k}": "Awareness" for k in range(250)}, guess_stages=False)
        return {"touchpoints": src("customer_id,timestamp,touchpoint,channel\n" + rows), "journey": journey}
    if shape == 7:  # a wide survey alone, handed over as a DataFrame (Arrow into the engine)
        return {"survey": pd.DataFrame({"id": [str(i), str(i + 1)], "Booking": ["5", "2"], "Seat": ["4", None],
                                        "Gender": ["F", "M"]}), "mapping": {"score": ["Booking", "Seat"]}}
    if shape == 8:  # an error: no timestamp column
        return {"touchpoints": src(f"customer_id,touchpoint\nc{i},Home\n")}
    epoch = 1_700_000_000 + 86_400 * i  # epoch seconds, duplicates kept and counted
    return {"touchpoints": src(f"user_id,time,event\nu{i},{epoch},Open\nu{i},{epoch},Open\n"), "keep_duplicates": True}


def test_a_long_series_of_validations_leaves_nothing_behind(tmp_path):
    engine = Engine()
    keep = engine.table(pd.DataFrame({"x": [1]}), name="not_the_loaders")  # not made by a load: left alone
    gc.collect()
    tables_before, views_before = _catalog(engine)
    state_before = _containers()
    reports = []
    for i in range(50):
        kw = _small_file(i)
        sources = {k: kw.pop(k) for k in ("touchpoints", "survey", "customers") if k in kw}
        reports.append(validate(**sources, engine=engine, **kw))
    assert sum(not r.ok for r in reports) == 5 and sum(bool(r.warnings) for r in reports) >= 30
    xlsx = tmp_path / "events.xlsx"
    pd.read_csv(io.StringIO(EVENTS), dtype=str).to_excel(xlsx, index=False)
    checked = check(str(xlsx), survey=src("customer_id,touchpoint,score\nc1,Home,4\n", "s.csv"), engine=engine)
    assert checked.data.survey.count().execute() == 1
    checked.release()
    data = load_journey(src(MESSY, "messy.csv"), customers=src(MESSY_CUSTOMERS, "customers.csv"), engine=engine,
                        where={"channel": ["web", "app"]})
    assert data.events.count().execute() == 7
    release(data, engine)
    # A file read by its owner and given to check is the owner's to release.
    raw = read_source(src(EVENTS), engine=engine)
    check(raw, engine=engine).release()
    assert raw.head(5)["customer_id"].tolist() == ["c1", "c1", "c2"]
    raw.release()
    gc.collect()
    assert _catalog(engine) == (tables_before, views_before)
    assert ("temp", "main", "not_the_loaders") in tables_before
    assert _containers() == state_before
    assert keep.count().execute() == 1
    engine.con.disconnect()


def test_wide_file_extra_columns_keep_their_values_and_types(engine, wh):
    """300 extra columns (as a survey export has) come through with each kept row's own
    values, typed by their values, on both roads, after a duplicate and a row without an
    id are dropped."""
    base = text_frame("customer_id,timestamp,touchpoint",
                      "a,2024-01-01 10:00,Home", "a,2024-01-01 11:00,Cart", "a,2024-01-01 11:00,Cart",
                      ",2024-01-02 09:00,Home", "b,2024-01-03 09:00,Home")
    cells = {}
    for i in range(300):
        kind = i % 5
        cells[f"q{i}"] = [str(i * 10 + r) if kind == 0 else f"{i + r / 4:g}" if kind == 1 else
                          f"{r:03d}" if kind == 2 else f"w{i}-{r}" if kind == 3 else "x" if r == 0 else None
                          for r in range(5)]
    frame = pd.concat([base, pd.DataFrame(cells, dtype=object)], axis=1)
    frame.iloc[2] = frame.iloc[1]  # an exact copy
    f, _ = both(engine, wh, touchpoints=frame)
    ev = f.events.execute().sort_values("seq").reset_index(drop=True)
    kept = [0, 1, 4]  # row 2 repeats row 1, row 3 has no id
    assert ev["customer_id"].tolist() == ["a", "a", "b"] and ev["touchpoint"].tolist() == ["Home", "Cart", "Home"]
    assert list(ev.columns) == ["customer_id", "timestamp", "seq", "touchpoint", "stage", "channel",
                                *[f"q{i}" for i in range(300)]]
    schema = f.events.schema()
    for i in range(300):
        col, kind = f"q{i}", i % 5
        want = [frame[col].iloc[r] for r in kept]
        if kind == 0:
            assert schema[col].is_integer() and ev[col].tolist() == [int(v) for v in want], col
        elif kind == 1:
            assert schema[col].is_floating() and ev[col].tolist() == [float(v) for v in want], col
        elif kind in (2, 3):  # codes with leading zeros stay text, as do words
            assert schema[col].is_string() and ev[col].tolist() == want, col
        else:  # mostly empty
            assert schema[col].is_string() and ev[col].iloc[0] == "x" and ev[col].iloc[1:].isna().all(), col
    assert [w.message.split(";")[0] for w in f.warnings] == ["1 row dropped: exact duplicates of an earlier row",
                                                             "1 row dropped: no customer id"]
