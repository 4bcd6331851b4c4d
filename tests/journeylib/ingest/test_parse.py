"""journeylib.ingest.parse: timestamps and scores. The engine's reading of a column must
equal the Python reading (:func:`parse_timestamps`) of the same values, for every kind."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from journeylib.ingest import InputError, detect_score_scale, load_journey, parse_timestamps
from journeylib.ingest.parse import (
    SCALES,
    choose_scale,
    epoch_unit,
    header_rows,
    not_a_number,
    number,
    read_times,
    scale_counts,
    scale_of_counts,
    timestamp_kind,
)
from journeylib.schema import ScoreScale

from .roads import both, by_file, by_table, events, text_frame, warning_key


def src(text: str, name: str = "events.csv") -> tuple[str, bytes]:
    return name, text.encode("utf-8")


# --------------------------------------------------------------------------- the Python reading


def test_parse_timestamps_mixed_offsets_naive_and_zulu_to_utc():
    values = pd.Series(["2024-01-01T10:00:00+02:00", "2024-01-01T10:00:00Z", "2024-01-01 10:00:00",
                        "2024-01-01T10:00:00-05:30", "2024-01-01"])
    parsed, notes = parse_timestamps(values)
    assert parsed.tolist() == [pd.Timestamp("2024-01-01 08:00"), pd.Timestamp("2024-01-01 10:00"),
                               pd.Timestamp("2024-01-01 10:00"), pd.Timestamp("2024-01-01 15:30"),
                               pd.Timestamp("2024-01-01")]
    assert notes == []


@pytest.mark.parametrize(
    "value, expected",
    [(1700000000, "2023-11-14 22:13:20"), (1700000000123, "2023-11-14 22:13:20.123"),
     (1700000000123456, "2023-11-14 22:13:20.123456"), (20240131, "2024-01-31")],
)
def test_parse_timestamps_epoch_units_by_magnitude(value, expected):
    for series in (pd.Series([value]), pd.Series([str(value)])):
        parsed, _ = parse_timestamps(series)
        assert parsed.iloc[0] == pd.Timestamp(expected)


def test_ordinal_text_dates():
    values = pd.Series(["19th November 2023", "1st March 2022", "2nd June 2021", "23rd August 2020", None])
    parsed, _ = parse_timestamps(values)
    assert parsed.iloc[:4].tolist() == [pd.Timestamp("2023-11-19"), pd.Timestamp("2022-03-01"),
                                        pd.Timestamp("2021-06-02"), pd.Timestamp("2020-08-23")]
    assert pd.isna(parsed.iloc[4])


@pytest.mark.parametrize(
    "values, expected",
    [
        (["13/04/2024", "03/04/2024"], ["2024-04-13", "2024-04-03"]),  # only DD/MM reads row 1
        (["04/13/2024", "03/04/2024"], ["2024-04-13", "2024-03-04"]),  # only MM/DD reads row 1
        (["13.04.24 08:15", "01.02.24 23:59"], ["2024-04-13 08:15", "2024-02-01 23:59"]),
    ],
)
def test_day_month_order_chosen_when_only_one_reads_all(values, expected):
    parsed, notes = parse_timestamps(pd.Series(values))
    assert parsed.tolist() == [pd.Timestamp(v) for v in expected]
    assert notes == []


def test_lenient_fallback_reads_odd_dates_but_not_bare_words_or_numbers():
    parsed, _ = parse_timestamps(pd.Series(["2024-01-01", "1", "May", "Mar 5, 2024 10:00 PM"]))
    assert parsed.iloc[0] == pd.Timestamp("2024-01-01")
    assert pd.isna(parsed.iloc[1]) and pd.isna(parsed.iloc[2])
    assert parsed.iloc[3] == pd.Timestamp("2024-03-05 22:00")


@pytest.mark.parametrize("values, kind", [
    (["1700000000", "17"], "epoch"), (["2024-01-01", "2024-01-02", "x"], "iso"), (["2024/01/31"], "ymd"),
    (["03/04/2024"], "dmy"), (["13.04.24 08:15"], "dmy"), (["19th November 2023"], "text"), ([None], "empty"),
])
def test_timestamp_kind_from_the_first_values(values, kind):
    assert timestamp_kind(pd.Series(values, dtype=object)) == kind


def test_epoch_unit_by_magnitude():
    assert [epoch_unit(x) for x in (1.7e9, 9.99e10, 1e11, 1.7e12, 1.7e15, 1.7e18)] == ["s", "s", "ms", "ms", "us", "ns"]


# --------------------------------------------------------------------------- the engine equals Python


KINDS = {
    "iso with offsets": ["2024-01-01T10:00:00+02:00", "2024-01-01T10:00:00Z", "2024-01-01 10:00:00",
                         "2024-01-01T10:00:00-05:30", "2024-03-01 12:00+02", "2024-03-01T13:00-0100",
                         "2024-01-01T10:00:00.123456+01:00", "2024-01-01 10:00:00 +0200", None],
    "iso the engine leaves to Python": ["2024-03-03 09:00:00", "2024-03-05 1:02:03", "2024-1-5", "20240101T100000",
                                        "2024-02-30 10:00:00", "2024-01-01 10:00:00 UTC"],
    "dates only": ["2024-01-31", "2023-12-01", "1999-02-28", "2024-02-29"],
    "epoch seconds": ["1700000000", "1700003600", "0", "-86400", "1700000000.5"],
    "epoch milliseconds": ["1700000000123", "1709287200000"],
    "epoch microseconds": ["1700000000123456", "1700000060500000"],
    "epoch units mixed": ["1700000000", "1700000000123", "1700000000123456"],
    "YYYYMMDD": ["20240131", "20231114", "19991231"],
    "DD/MM": ["13/04/2024", "03/04/2024"],
    "MM/DD": ["04/13/2024", "03/04/2024"],
    "DD/MM or MM/DD": ["03/04/2024", "05/06/2024", "07/07/2024", "03/04/2024"],
    "DD.MM.YY with times": ["13.04.24 08:15", "01.02.24 23:59"],
    "ordinal words": ["19th November 2023", "1st March 2022", "2nd June 2021", "23rd August 2020", None],
    "YYYY/MM/DD": ["2024/01/31", "2024/02/01 10:00"],
    "words": ["March 6 2024", "Mar 5, 2024"],
    "e-mail dates": ["Tue, 14 Nov 2023 22:13:20 +0000", "Wed, 15 Nov 2023 10:00:00 +0200"],
}
NUMBERS = {
    "epoch integers": pd.Series([1700000000, 1700000000123, 1700000000123456], dtype="int64"),
    "epoch floats": pd.Series([1700000000.5, 1709287200.0], dtype="float64"),
    "epoch with gaps": pd.Series([1700000000, None], dtype="Int64"),
    "YYYYMMDD integers": pd.Series([20240131, 20231114], dtype="int64"),
    "YYYYMMDD floats": pd.Series([20240131.0, 20231114.0, np.nan], dtype="float64"),
    "times with a zone": pd.Series(pd.to_datetime(["2024-01-01 10:00+02:00", "2024-01-02 00:00+00:00"], utc=True)),
}


def _engine_reading(engine, values: pd.Series, database: bool):
    frame = pd.DataFrame({"_jl_row": np.arange(len(values), dtype="int64"), "v": values})
    t = engine.table(frame)
    reading = read_times(t, "v", "f.csv", engine, database=database)
    got = engine.execute(reading.attach(t).order_by("_jl_row"))["_jl_ts"]
    for name in reading.owned:
        engine.con.drop_table(name, force=True)
    engine.con.drop_table(t.get_name(), force=True)
    return pd.Series(got.to_numpy(), dtype="datetime64[us]"), reading.notes


@pytest.mark.parametrize("database", [False, True], ids=["file", "table"])
@pytest.mark.parametrize("kind", [*KINDS, *NUMBERS])
def test_the_engine_reads_times_as_python_does(engine, kind, database):
    values = pd.Series(KINDS[kind], dtype=object) if kind in KINDS else NUMBERS[kind]
    want, want_notes = parse_timestamps(values, column="v", file="f.csv")
    got, notes = _engine_reading(engine, values, database)
    assert got.isna().tolist() == want.isna().tolist()
    assert got[want.notna()].tolist() == want[want.notna()].tolist()
    assert [(n.message, n.count) for n in notes] == [(n.message, n.count) for n in want_notes]
    if not database:
        assert [n.rows for n in notes] == [n.rows for n in want_notes]
    assert want.notna().sum() >= len(values) - 2  # each kind is mostly readable


def test_the_day_month_warning_on_both_roads(engine, wh):
    frame = text_frame("customer_id,date,touchpoint", "a,03/04/2024,x", "b,05/06/2024,x", "c,07/07/2024,x")
    f, t = both(engine, wh, touchpoints=frame)
    assert events(f)["timestamp"].tolist() == [pd.Timestamp("2024-04-03"), pd.Timestamp("2024-06-05"),
                                               pd.Timestamp("2024-07-07")]
    w = f.warnings[0]
    # rows 1 and 2 differ between the two readings; 07/07 reads the same either way
    assert warning_key(w) == ("date", "ambiguous day/month order in column 'date'; read as DD/MM (2 rows would "
                                      "differ); set the order in the file as YYYY-MM-DD to be sure", 2)
    assert w.rows == [1, 2] and t.warnings[0].rows == []


def test_ambiguous_day_month_is_read_dd_mm_with_a_warning():
    text = "customer_id,date,touchpoint\na,03/04/2024,x\nb,05/06/2024,x\nc,07/07/2024,x\n"
    data = load_journey(src(text, "dates.csv"))
    ev = data.events.execute().sort_values("seq").reset_index(drop=True)
    assert ev["timestamp"].tolist() == [pd.Timestamp("2024-04-03"), pd.Timestamp("2024-06-05"),
                                        pd.Timestamp("2024-07-07")]
    w = [w for w in data.warnings if "ambiguous day/month order" in w.message][0]
    assert "in column 'date'; read as DD/MM (2 rows would differ)" in w.message
    assert w.count == 2 and w.rows == [1, 2] and w.column == "date"


def test_day_month_order_chosen_by_a_day_above_12_on_both_roads(engine, wh):
    frame = text_frame("customer_id,date,event", "c1,03/04/2024,a", "c1,05/04/2024,b", "c2,13/04/2024,a")
    f, t = both(engine, wh, touchpoints=frame)
    assert events(f)["timestamp"].tolist() == [pd.Timestamp("2024-04-03"), pd.Timestamp("2024-04-05"),
                                               pd.Timestamp("2024-04-13")]
    assert f.warnings == []  # only DD/MM reads 13/04: nothing was ambiguous


def test_timestamps_shaped_like_plain_ones_keep_their_offsets(engine, wh):
    # Plain "YYYY-MM-DD HH:MM:SS" text skips the time zone reading; text of the same
    # length with an offset in it must not.
    text = ("customer_id,timestamp,touchpoint\n"
            "c1,2024-03-01 10:00:00,Ad\n"
            "c1,2024-03-01T11:00:00,Site\n"
            "c1,2024-03-01 12:00+02,Site\n"  # 19 characters, two hours east of UTC
            "c1,2024-03-01T13:00-0100,Site\n"
            "c1,2024-03-01 14:00:00Z,Site\n"
            "c1,2024-02-30 10:00:00,Site\n")  # no such day: unparseable
    data = load_journey(src(text, "zones.csv"), engine=engine)
    got = data.events.execute().set_index("seq")["timestamp"]
    assert got.to_dict() == {
        0: pd.Timestamp("2024-03-01 10:00:00"), 1: pd.Timestamp("2024-03-01 11:00:00"),
        2: pd.Timestamp("2024-03-01 10:00:00"), 3: pd.Timestamp("2024-03-01 14:00:00"),
        4: pd.Timestamp("2024-03-01 14:00:00"),
    }
    assert [(w.count, w.rows) for w in data.warnings] == [(1, [6])]
    frame = text_frame(*text.strip().split("\n"))
    t = by_table(wh, {"touchpoints": frame})
    assert sorted(t.events.execute()["timestamp"]) == sorted(got)
    assert [warning_key(w) for w in t.warnings] == [warning_key(w) for w in data.warnings]


@pytest.mark.parametrize("unit, scale", [("s", 1), ("ms", 1000)])
def test_epoch_seconds_and_milliseconds(engine, wh, unit, scale):
    rows = [f"u{i % 3},{(1709287200 + 60 * i) * scale},page{i % 4}" for i in range(12)] + ["u9,,page1"]
    frame = text_frame("user_id,ts,event", *rows)
    f, t = both(engine, wh, touchpoints=frame)
    ev = f.events.execute().sort_values("seq").reset_index(drop=True)
    assert ev["timestamp"].iloc[0] == pd.Timestamp("2024-03-01 10:00:00")
    assert ev["timestamp"].iloc[11] == pd.Timestamp("2024-03-01 10:11:00")
    assert [(w.message, w.count, w.rows) for w in f.warnings] == [("1 row dropped: no timestamp; row 13", 1, [13])]


def test_yyyymmdd_in_a_float_column_is_read(engine, wh, tmp_path):
    """A date column with a gap is a float column in pandas, so in its Parquet file and tables."""
    frame = pd.DataFrame({"user_id": ["a", "a", "b"], "event_date": [20240131.0, 20240201.0, np.nan],
                          "event": ["x", "y", "z"]})
    path = tmp_path / "ga.parquet"
    frame.to_parquet(path)
    f = load_journey(str(path), engine=engine, mapping={"timestamp": "event_date"})
    t = by_table(wh, {"touchpoints": frame}, mapping={"timestamp": "event_date"})
    for data in (f, t):
        assert events(data)["timestamp"].tolist() == [pd.Timestamp("2024-01-31"), pd.Timestamp("2024-02-01")]
        assert [warning_key(w) for w in data.warnings] == [("event_date", "1 row dropped: no timestamp", 1)]


def test_no_parseable_timestamp_on_both_roads(engine, wh):
    frame = text_frame("customer_id,when,touchpoint", "a,someday,x", "b,later,x")
    for load in (lambda: by_file(engine, {"touchpoints": frame}, mapping={"timestamp": "when"}),
                 lambda: by_table(wh, {"touchpoints": frame}, mapping={"timestamp": "when"})):
        with pytest.raises(InputError) as err:
            load()
        assert err.value.message.startswith("no parseable timestamp in column 'when' (e.g. ")
        assert "'someday'" in err.value.message and err.value.column == "when"


# --------------------------------------------------------------------------- scores


@pytest.mark.parametrize(
    "scores, expected",
    [
        ([1, 2, 3, 4], (1, 5)), ([0, 3, 5], (0, 5)), ([1, 6], (1, 7)), ([1, 9, 10], (1, 10)),
        ([0, 7, 10], (0, 10)), ([-2, 0, 1], (-2, 2)), ([-3, 3], (-3, 3)), ([-1, 0, 1], (-2, 2)),
        ([0, 55, 100], (0, 100)), ([2.5, 3.5], (1, 5)),
    ],
)
def test_detect_score_scale(scores, expected):
    assert detect_score_scale(pd.Series(scores, dtype="float64")) == ScoreScale(*expected)


def test_the_engine_chooses_the_scale_python_does(engine):
    for scores in ([1, 2, 3, 4], [0, 7, 10], [-1, 0, 1], [0, 55, 100], [1] * 99 + [7]):
        t = engine.table(pd.DataFrame({"score": pd.Series(scores, dtype="float64")}))
        got = engine.execute(t.aggregate(**scale_counts(t.score))).iloc[0]
        assert scale_of_counts(got) == detect_score_scale(pd.Series(scores)), scores
    assert detect_score_scale(pd.Series([], dtype="float64")) is None
    assert choose_scale(0, 0, 0, {}) is None
    assert choose_scale(100, 1, 7, {sc: (99 if sc == (1, 5) else 100) for sc in SCALES}) == ScoreScale(1, 5)


def test_numbers_as_the_engine_reads_them(engine):
    values = ["4", "4.0", "4,5", " 3 ", "-1", "good", "inf", "nan", None, "1e1"]
    t = engine.table(pd.DataFrame({"v": values}))
    got = engine.execute(t.select(x=number(t.v), bad=not_a_number(t.v)))
    assert got["x"].tolist()[:5] == [4.0, 4.0, 4.5, 3.0, -1.0]
    assert got["x"].iloc[9] == 10.0
    assert got["x"].iloc[5:9].isna().all()  # words, infinities and NaN are no scores
    assert got["bad"].tolist() == [False] * 5 + [True, True, True, False, False]
    typed = engine.table(pd.DataFrame({"b": [True, False], "i": [3, 4]}))
    got = engine.execute(typed.select(b=number(typed.b), i=number(typed.i)))
    assert got.values.tolist() == [[1.0, 3.0], [0.0, 4.0]]


# --------------------------------------------------------------------------- export header rows


def test_qualtrics_header_rows():
    columns = ["ResponseId", "RecordedDate", "Q1_1", "Q2"]
    first = pd.DataFrame({
        "ResponseId": ["Response ID", '{"ImportId":"_recordId"}', "R_1"],
        "RecordedDate": ["Recorded Date", '{"ImportId":"recordedDate"}', "2024-01-01"],
        "Q1_1": ["How satisfied were you? - Check-in", '{"ImportId":"QID1_1"}', "4"],
        "Q2": ["Anything else? - Selected Choice", '{"ImportId":"QID2"}', "no"],
        "_jl_row": [0, 1, 2]})
    got = header_rows(columns, None, first)
    assert got.export == "Qualtrics" and got.rows == [0, 1]
    assert got.labels == {"ResponseId": "Response ID", "RecordedDate": "Recorded Date", "Q1_1": "Check-in",
                          "Q2": "Anything else?"}


def test_surveymonkey_answer_option_row():
    columns = ["Respondent ID", "Collector ID", "How was it?", "column_4"]
    header = ["Respondent ID", "Collector ID", "How was it?", None]
    first = pd.DataFrame({"Respondent ID": [None, "1"], "Collector ID": [None, "9"],
                          "How was it?": ["Response", "5"], "column_4": ["Other (please specify)", "x"],
                          "_jl_row": [0, 1]})
    got = header_rows(columns, header, first)
    assert got.export == "SurveyMonkey" and got.rows == [0]
    assert got.labels == {"column_4": "How was it?"}
    plain = pd.DataFrame({"a": ["1"], "b": ["2"], "_jl_row": [0]})
    assert header_rows(["a", "b"], None, plain) is None
