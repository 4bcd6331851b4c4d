"""Tests of journeylib.io on small hand-made files: every expectation is worked out by hand."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pandas as pd
import pytest

from journeylib.ingest import (
    InputError,
    Issue,
    ValidationReport,
    detect_mapping,
    detect_score_scale,
    load_journey,
    parse_timestamps,
    read_table,
    validate,
)
from journeylib.journey import JourneyModel
from journeylib.schema import ScoreScale

EVENTS = "customer_id,timestamp,touchpoint,channel\nc1,2024-01-01 10:00,Home,web\nc1,2024-01-02 11:00,Checkout,web\nc2,2024-01-03 09:30,Home,app\n"


def src(text: str, name: str = "events.csv", encoding: str = "utf-8") -> tuple[str, bytes]:
    return name, text.encode(encoding)


def events_of(data) -> pd.DataFrame:
    return data.events.execute().sort_values("seq").reset_index(drop=True)


def survey_of(data) -> pd.DataFrame:
    return data.survey.execute().sort_values(["customer_id", "touchpoint"]).reset_index(drop=True)


def warning_with(data_or_list, text: str) -> Issue:
    issues = data_or_list if isinstance(data_or_list, list) else data_or_list.warnings
    found = [w for w in issues if text in w.message]
    assert found, f"no warning containing {text!r} in {[w.message for w in issues]}"
    return found[0]


# --------------------------------------------------------------------------- reading


@pytest.mark.parametrize("delim", [",", ";", "\t", "|"])
def test_read_table_sniffs_each_delimiter(delim):
    text = EVENTS.replace(",", delim)
    df = read_table(src(text, "events.txt"))
    assert list(df.columns) == ["customer_id", "timestamp", "touchpoint", "channel"]
    assert df.shape == (3, 4)
    assert df.loc[2, "timestamp"] == "2024-01-03 09:30"


def test_read_table_tsv_extension_means_tab_even_with_commas_in_values():
    text = "id\tnote\n1\ta, b, c\n2\td, e\n"
    df = read_table(src(text, "x.tsv"))
    assert list(df.columns) == ["id", "note"]
    assert df["note"].tolist() == ["a, b, c", "d, e"]


def test_read_table_keeps_text_and_blanks_become_missing():
    df = read_table(src("id,zip,name\n007,01234,  Ann  \n8,,\n"))
    assert df["id"].tolist() == ["007", "8"]  # read as text: leading zeros kept
    assert df.loc[0, "name"] == "Ann"  # trimmed
    assert pd.isna(df.loc[1, "zip"]) and pd.isna(df.loc[1, "name"])


@pytest.mark.parametrize("encoding", ["utf-8-sig", "latin-1", "utf-16"])
def test_read_table_encodings(encoding):
    text = "customer_id,touchpoint\nzoë,Café visit\n"
    df = read_table(src(text, "e.csv", encoding))
    assert list(df.columns) == ["customer_id", "touchpoint"]  # no BOM left on the first name
    assert df.loc[0, "customer_id"] == "zoë"
    assert df.loc[0, "touchpoint"] == "Café visit"


def test_read_table_gzip_by_extension_and_by_magic_bytes():
    payload = gzip.compress(EVENTS.encode())
    by_name = read_table(("events.csv.gz", payload))
    by_magic = read_table(("events.csv", payload))
    assert by_name.shape == by_magic.shape == (3, 4)
    assert by_magic["customer_id"].tolist() == ["c1", "c1", "c2"]


def test_read_table_quoted_newlines_and_delimiters():
    text = 'id,comment\n1,"line one\nline two"\n2,"a, b"\n'
    df = read_table(src(text))
    assert df["comment"].tolist() == ["line one\nline two", "a, b"]


def test_read_table_xlsx_first_sheet_with_note(tmp_path):
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"user_id": ["u1", "u2"], "event": ["a", "b"]}).to_excel(writer, sheet_name="Events", index=False)
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="Notes", index=False)
    df = read_table(path)
    assert df["user_id"].tolist() == ["u1", "u2"]
    notes = df.attrs["journeylib_notes"]
    assert len(notes) == 1 and "'Events'" in notes[0].message and "'Notes'" in notes[0].message


def test_read_table_parquet_keeps_types(tmp_path):
    frame = pd.DataFrame({"user_id": [1, 2], "ts": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    path = tmp_path / "e.parquet"
    frame.to_parquet(path)
    df = read_table(str(path))
    assert pd.api.types.is_integer_dtype(df["user_id"])
    assert pd.api.types.is_datetime64_any_dtype(df["ts"])


def test_read_table_file_like_with_name():
    upload = io.BytesIO(EVENTS.replace(",", ";").encode())
    upload.name = "upload.csv"
    df = read_table(upload)
    assert df.shape == (3, 4)


def test_read_table_ragged_rows_fall_back_and_report():
    text = "a,b\n1,2\n3,4,5\n6,7\n"
    df = read_table(src(text, "ragged.csv"))
    assert df["a"].tolist() == ["1", "6"]
    notes = df.attrs["journeylib_notes"]
    assert notes[0].count == 1 and "more fields than the header" in notes[0].message


def test_read_table_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match=r"^blob\.csv: not a text table \(binary"):
        read_table(("blob.csv", b"\x00\x01\x02\x03binary\x00junk"))
    with pytest.raises(InputError, match=r"^empty\.csv: empty file"):
        read_table(("empty.csv", b""))
    missing = tmp_path / "nope.csv"
    with pytest.raises(InputError, match="nope.csv: file not found"):
        read_table(missing)
    with pytest.raises(InputError, match=r"old\.xls: old Excel \.xls"):
        read_table(("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100))


def test_input_error_text_format():
    err = InputError("f.csv", "bad thing")
    assert str(err) == "f.csv: bad thing" and err.file == "f.csv" and err.message == "bad thing"


# --------------------------------------------------------------------------- mapping


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


def test_mapping_override_beats_detection():
    text = "customer_id,member,timestamp,event,page\nx,m1,2024-01-01,e1,p1\ny,m2,2024-01-02,e2,p2\n"
    data = load_journey(src(text), mapping={"customer_id": "member", "touchpoint": "page"})
    ev = events_of(data)
    assert ev["customer_id"].tolist() == ["m1", "m2"]
    assert ev["touchpoint"].tolist() == ["p1", "p2"]
    # the detected-but-unused columns stay as attributes
    assert ev["event"].tolist() == ["e1", "e2"]


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


# --------------------------------------------------------------------------- export styles


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


# --------------------------------------------------------------------------- timestamps


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


def test_ambiguous_day_month_is_read_dd_mm_with_a_warning():
    text = "customer_id,date,touchpoint\na,03/04/2024,x\nb,05/06/2024,x\nc,07/07/2024,x\n"
    data = load_journey(src(text, "dates.csv"))
    ev = events_of(data)
    assert ev["timestamp"].tolist() == [pd.Timestamp("2024-04-03"), pd.Timestamp("2024-06-05"),
                                        pd.Timestamp("2024-07-07")]
    w = warning_with(data, "ambiguous day/month order")
    # rows 1 and 2 differ between the two readings; 07/07 reads the same either way
    assert "in column 'date'; read as DD/MM (2 rows would differ)" in w.message
    assert w.count == 2 and w.rows == [1, 2] and w.column == "date"


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


# --------------------------------------------------------------------------- validation of rows


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


# --------------------------------------------------------------------------- survey


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
    assert pd.isna(stage_of["Booking"])
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


def test_scores_outside_the_scale_are_kept_and_warned():
    rows = ["customer_id,touchpoint,score"] + [f"c{i},t,{1 + i % 5}" for i in range(199)] + ["c199,t,9"]
    data = load_journey(survey=src("\n".join(rows) + "\n", "s.csv"))
    assert data.score_scale == ScoreScale(1, 5)  # 199 of 200 fit 1-5
    w = warning_with(data, "outside the detected scale 1 to 5")
    assert w.count == 1 and w.rows == [200]
    assert data.survey.count().execute() == 200  # never dropped, never rescaled


def test_survey_customers_without_events_are_counted():
    survey = "customer_id,touchpoint,score\nc1,Home,4\nc9,Home,2\nc9,Checkout,3\nc8,Home,5\n"
    data = load_journey(src(EVENTS), survey=src(survey, "survey.csv"))
    w = warning_with(data, "survey customers have no events")
    assert w.count == 2 and w.rows == [2, 3, 4] and w.file == "survey.csv"


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


def test_lenient_fallback_reads_odd_dates_but_not_bare_words_or_numbers():
    parsed, _ = parse_timestamps(pd.Series(["2024-01-01", "1", "May", "Mar 5, 2024 10:00 PM"]))
    assert parsed.iloc[0] == pd.Timestamp("2024-01-01")
    assert pd.isna(parsed.iloc[1]) and pd.isna(parsed.iloc[2])
    assert parsed.iloc[3] == pd.Timestamp("2024-03-05 22:00")
