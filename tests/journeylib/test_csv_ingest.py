"""The DuckDB-native CSV path must give the same events and warnings as the pandas path."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from journeylib import csv_ingest
from journeylib.io import load_journey, validate
from journeylib.sample import generate_sample

HERE = Path(__file__).resolve().parent
BAD = HERE.parent / "data" / "bad"


def _load(monkeypatch, path, fast: bool, **kw):
    monkeypatch.setenv(csv_ingest.FAST_LOAD_ENV, "0" if fast else "1000000")
    return load_journey(path, **kw)


def _used_fast(data) -> bool:
    return data.events.get_name().startswith("_jl_events_")


def _events(data) -> pd.DataFrame:
    return data.events.execute().sort_values("seq").reset_index(drop=True)


def _issues(items):
    return [(i.severity, i.file, i.column, i.message, i.count, i.rows) for i in items]


def _engine_read(data) -> set[str]:
    """Which inputs the engine path read (its views are named after the kind)."""
    return {kind for kind, table in (("touchpoints", data.events), ("survey", data.survey),
                                     ("customers", data.customers))
            if table is not None and table.get_name().startswith(f"_jl_{'events' if kind == 'touchpoints' else kind}_")}


def both(monkeypatch, path, expect_fast: bool = True, engine_read: set[str] | None = None, **kw):
    """Load with each path; assert the same tables, warnings and stage map; return (slow, fast)."""
    slow = _load(monkeypatch, path, False, **kw)
    fast = _load(monkeypatch, path, True, **kw)
    assert not _used_fast(slow) and not _engine_read(slow)
    assert _used_fast(fast) is expect_fast
    if engine_read is not None:
        assert _engine_read(fast) == engine_read
    pd.testing.assert_frame_equal(_events(fast), _events(slow))
    for part in ("survey", "customers"):
        got, want = getattr(fast, part), getattr(slow, part)
        assert (got is None) == (want is None)
        if got is not None:
            pd.testing.assert_frame_equal(got.execute(), want.execute())
    assert _issues(fast.warnings) == _issues(slow.warnings)
    assert dict(fast.touchpoint_stage_map) == dict(slow.touchpoint_stage_map)
    assert fast.source_names == slow.source_names
    assert fast.score_scale == slow.score_scale
    return slow, fast


@pytest.mark.parametrize("seed,together", [(3, True), (11, True), (11, False)])
def test_generated_sample_matches(tmp_path, monkeypatch, seed, together):
    # The distinct touchpoints, stages and channels come from one grouping by all three,
    # or (when their combinations could be many) from one grouping each.
    if not together:
        monkeypatch.setattr(csv_ingest, "_MAX_COMBINED", 1)
    frames = generate_sample(150, seed=seed)
    path = tmp_path / "touchpoints.csv"
    frames["touchpoints"].to_csv(path, index=False)
    slow, fast = both(monkeypatch, path)
    assert len(_events(fast)) == len(frames["touchpoints"])


def test_generated_sample_with_survey_and_customers(tmp_path, monkeypatch):
    frames = generate_sample(120, seed=5)
    paths = {}
    for kind in ("touchpoints", "survey", "customers"):
        paths[kind] = tmp_path / f"{kind}.csv"
        frames[kind].to_csv(paths[kind], index=False)
    # survey answers from customers with no events: the orphan warning needs the event ids
    extra = frames["survey"].head(3).assign(customer_id=["X1", "X2", "X3"])
    pd.concat([frames["survey"], extra]).to_csv(paths["survey"], index=False)
    slow, fast = both(monkeypatch, str(paths["touchpoints"]), survey=str(paths["survey"]),
                      customers=str(paths["customers"]), engine_read={"touchpoints", "survey", "customers"})
    assert any("3 survey customers have no events" in i.message for i in fast.warnings)


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


def _write(tmp_path, **texts) -> dict[str, str]:
    paths = {}
    for kind, text in texts.items():
        paths[kind] = tmp_path / f"{kind}.csv"
        paths[kind].write_text(text, encoding="utf-8")
    return {k: str(v) for k, v in paths.items()}


def test_messy_survey_and_customers_match_and_count_by_hand(tmp_path, monkeypatch):
    paths = _write(tmp_path, touchpoints=MESSY_EVENTS, survey=MESSY_SURVEY, customers=MESSY_CUSTOMERS)
    slow, fast = both(monkeypatch, paths["touchpoints"], survey=paths["survey"], customers=paths["customers"],
                      not_rated=(0,), engine_read={"touchpoints", "survey", "customers"})
    found = {(i.file.rsplit("/", 1)[-1], i.message.split(";")[0]): i.rows for i in fast.warnings}
    # 1-based data rows of the survey file
    assert found[("survey.csv", "1 rows dropped: exact duplicates of an earlier row")] == [2]
    assert found[("survey.csv", "1 rows dropped: no customer id")] == [3]
    assert found[("survey.csv", "1 unparseable timestamps left empty (e.g. 'not a date')")] == [4]
    assert found[("survey.csv", "1 NPS values outside 0-10 left empty")] == [4]
    assert found[("survey.csv", "1 rows dropped: no score")] == [6]
    assert found[("survey.csv", "1 scores coded as not rated (0) treated as missing")] == [7]
    assert any(i.rows == [5, 10] and "stage not in the stage order" in i.message for i in fast.warnings)
    assert any(i.rows == [8] and "1 survey customers have no events (e.g. 'c9')" in i.message
               for i in fast.warnings)
    assert found[("customers.csv", "1 rows dropped: exact duplicates of an earlier row")] == [2]
    assert found[("customers.csv", "1 rows dropped: no customer id")] == [3]
    assert found[("customers.csv", "1 rows dropped: customer id repeated (first row kept)")] == [5]

    sv = fast.survey.execute()
    assert sv["customer_id"].tolist() == ["c1", "c2", "c2", "c9", "c4", "c4"]
    assert sv["score"].tolist() == [4.0, 5.0, 2.0, 9.0, 3.0, 5.0]
    assert sv["stage"].tolist()[:2] == ["Awareness", "Consideration"] and pd.isna(sv["stage"].iloc[2])
    assert sv["stage"].iloc[4] == "Intent" and pd.isna(sv["stage"].iloc[5])  # nor is Moon
    assert pd.isna(sv["timestamp"].iloc[1]) and pd.isna(sv["nps"].iloc[1])  # bad time, NPS 11 left empty
    assert sv["timestamp"].iloc[4] == pd.Timestamp("2024-03-05 10:00:00")  # padded, trimmed
    assert sv["comment"].iloc[4] == "padded"
    assert sv["wave"].dtype == "int64" and sv["weight"].dtype == "float64"
    cu = fast.customers.execute()
    assert cu["customer_id"].tolist() == ["c1", "c2", "c3", "c4"]
    assert cu["region"].tolist() == ["North", "South", "North", "West"]
    assert cu["code"].tolist() == ["007", "002", "004", "005"]  # a leading zero keeps it text
    assert cu["spend"].iloc[1] == 7.5 and pd.isna(cu["spend"].iloc[2])


@pytest.mark.parametrize("change", ["decimal score", "epoch times", "wide survey", "combined events",
                                    "gzipped events", "scores written 4.0"])
def test_survey_shapes_the_engine_path_leaves_to_pandas(tmp_path, monkeypatch, change):
    survey, mapping, events = MESSY_SURVEY, None, MESSY_EVENTS
    read = {"touchpoints", "customers"}
    if change == "decimal score":
        survey = survey.replace(",Ad,4,good", ",Ad,4.5,good")
    elif change == "epoch times":
        survey = ("customer_id,timestamp,stage,score\nc1,1709287200,Awareness,4\nc2,1709290800,Purchase,2\n"
                  "c2,1709290800,Purchase,2\nc3,,Purchase,5\n")
    elif change == "wide survey":
        survey = "customer_id,Awareness,Purchase,wave\nc1,4,5,1\nc2,,3,2\nc2,,3,2\nc3,2,1,1\n"
        mapping = {"score": ["Awareness", "Purchase"]}
        read = {"touchpoints"}  # the wide survey's other columns join the customers in pandas
    elif change == "combined events":
        events = "customer_id,timestamp,touchpoint,score\nc1,2024-03-01 09:00:00,Ad,4\nc2,2024-03-01 09:30:00,Site,2\n"
        read = {"customers"}
    elif change == "scores written 4.0":  # whole numbers still: the engine reads them
        survey = survey.replace(",Ad,4,good", ",Ad,4.0,good").replace(",Site,2,,7", ",Site,-0.0,,7.00")
        read = {"touchpoints", "survey", "customers"}
    else:  # events in pandas, the survey in the engine: survey customers without events still found
        read = {"survey", "customers"}
    paths = _write(tmp_path, touchpoints=events, survey=survey, customers=MESSY_CUSTOMERS)
    if change == "gzipped events":
        gz = tmp_path / "touchpoints.csv.gz"
        gz.write_bytes(gzip.compress(Path(paths["touchpoints"]).read_bytes()))
        paths["touchpoints"] = str(gz)
    both(monkeypatch, paths["touchpoints"], expect_fast="touchpoints" in read, survey=paths["survey"],
         customers=paths["customers"], mapping=mapping, engine_read=read)


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


def test_messy_file_matches_and_counts_by_hand(tmp_path, monkeypatch):
    path = tmp_path / "messy.csv"
    path.write_text(MESSY)
    slow, fast = both(monkeypatch, path)
    ev = _events(fast)
    # rows 3 (duplicate of 1), 4 (no id), 5 (no timestamp), 6 (unparseable), 8 (no touchpoint) dropped
    assert ev["seq"].tolist() == [0, 1, 6, 8, 9, 10, 11, 12]
    by_seq = ev.set_index("seq")
    assert by_seq.loc[1, "timestamp"] == pd.Timestamp("2024-03-01 10:00:00")  # +02:00 to UTC
    assert by_seq.loc[6, "timestamp"] == pd.Timestamp("2024-03-02")
    assert by_seq.loc[9, "timestamp"] == pd.Timestamp("2024-03-03 09:00:00.250")
    assert by_seq.loc[11, "timestamp"] == pd.Timestamp("2024-03-05 01:02:03")  # read by pandas
    assert by_seq.loc[12, "timestamp"] == pd.Timestamp("2024-03-06")
    assert by_seq.loc[1, "stage"] == "Consideration"
    assert by_seq.loc[9, "stage"] == "Intent"  # synonym
    assert by_seq.loc[6, "stage"] == "Purchase"  # from the touchpoint name
    assert pd.isna(by_seq.loc[8, "stage"])  # unknown stage left empty
    assert pd.isna(by_seq.loc[8, "channel"])  # "NA" is missing, as in the pandas path
    assert by_seq.loc[8, "timestamp"] == pd.Timestamp("2024-03-03 08:00:00")  # trimmed
    assert ev["amount"].dtype == "int64" and ev["amount"].tolist() == [5, 6, 4, 8, 9, 10, 11, 12]
    found = [(i.count, i.rows) for i in fast.warnings if "rows dropped" in i.message]
    assert found == [(1, [3]), (1, [4]), (1, [5]), (1, [6]), (1, [8])]
    assert any("not in the stage order" in i.message and i.rows == [9] for i in fast.warnings)
    assert any("in the future" in i.message and i.rows == [11] for i in fast.warnings)


def test_epoch_seconds_and_milliseconds(tmp_path, monkeypatch):
    for unit, scale in (("s", 1), ("ms", 1000)):
        path = tmp_path / f"epoch_{unit}.csv"
        rows = ["user_id,ts,event"] + [f"u{i % 3},{(1709287200 + 60 * i) * scale},page{i % 4}" for i in range(12)]
        rows.append("u9,,page1")
        path.write_text("\n".join(rows) + "\n")
        slow, fast = both(monkeypatch, path)
        ev = _events(fast)
        assert ev["timestamp"].iloc[0] == pd.Timestamp("2024-03-01 10:00:00")
        assert ev["timestamp"].iloc[11] == pd.Timestamp("2024-03-01 10:11:00")
        assert any("no timestamp" in i.message and i.rows == [13] for i in fast.warnings)


def test_tsv_and_semicolons(tmp_path, monkeypatch):
    body = [["id", "timestamp", "event", "stage"], ["a", "2024-01-01 00:00:01", "Visit", "Awareness"],
            ["a", "2024-01-01 00:00:02", "Buy", "purchase"], ["b", "2024-01-02 00:00:00", "Visit", "Loyalty"]]
    tsv = tmp_path / "events.tsv"
    tsv.write_text("\n".join("\t".join(r) for r in body) + "\n")
    semi = tmp_path / "events.csv"
    semi.write_text("\n".join(";".join(r) for r in body) + "\n")
    for path in (tsv, semi):
        # "id" is no customer id for a touchpoints file: both paths fail the same way, or map it
        slow, fast = both(monkeypatch, path, mapping={"customer_id": "id"})
        assert _events(fast)["stage"].tolist() == ["Awareness", "Purchase", "Retention"]


@pytest.mark.parametrize("name", [
    "good_events.csv", "exact_duplicate_rows.csv", "half_ids_missing.csv", "unknown_stages.csv",
    "mixed_timezones.csv", "dates_far_future.csv", "dates_far_past.csv", "newlines_in_quoted_fields.csv",
    "utf8_bom.csv", "sql_column_names.csv", "semicolon_delimited.csv",
])
def test_bad_corpus_fast_path_agrees(monkeypatch, name):
    path = BAD / name
    if not path.exists():
        pytest.skip(f"{name} not in the corpus")
    both(monkeypatch, str(path))


@pytest.mark.parametrize("name", [
    "latin1.csv", "utf16_bom.csv", "ragged_rows.csv", "duplicate_headers.csv", "blank_header_cells.csv",
    "half_timestamps_bad.csv", "good.csv.gz", "wide_500_columns.csv",
])
def test_files_the_fast_path_leaves_to_pandas(monkeypatch, name):
    path = BAD / name
    if not path.exists():
        pytest.skip(f"{name} not in the corpus")
    both(monkeypatch, str(path), expect_fast=False)


def test_day_month_dates_fall_back(tmp_path, monkeypatch):
    path = tmp_path / "dmy.csv"
    path.write_text("customer_id,date,event\nc1,03/04/2024,a\nc1,05/04/2024,b\nc2,13/04/2024,a\n")
    slow, fast = both(monkeypatch, path, expect_fast=False)
    assert _events(fast)["timestamp"].iloc[0] == pd.Timestamp("2024-04-03")


def test_errors_and_validation_agree(tmp_path, monkeypatch):
    path = tmp_path / "messy.csv"
    path.write_text(MESSY)
    monkeypatch.setenv(csv_ingest.FAST_LOAD_ENV, "1000000")
    slow = validate(str(path))
    monkeypatch.setenv(csv_ingest.FAST_LOAD_ENV, "0")
    fast = validate(str(path))
    assert _issues(fast.warnings) == _issues(slow.warnings) and fast.ok and slow.ok
    # a file with no usable timestamp: the fast path steps aside and the error is the usual one
    bad = tmp_path / "nots.csv"
    bad.write_text("customer_id,timestamp,touchpoint\nc1,never,a\nc2,later,b\n")
    with pytest.raises(Exception) as err:
        load_journey(str(bad))
    assert "no parseable timestamp in column 'timestamp'" in str(err.value)


def test_threshold_from_environment(monkeypatch):
    monkeypatch.setenv(csv_ingest.FAST_LOAD_ENV, "2.5")
    assert csv_ingest.fast_load_bytes() == int(2.5 * 1024 * 1024)
    monkeypatch.setenv(csv_ingest.FAST_LOAD_ENV, "nonsense")
    assert csv_ingest.fast_load_bytes() == int(csv_ingest.DEFAULT_FAST_LOAD_MB * 1024 * 1024)


def test_gzip_is_left_to_pandas(tmp_path, monkeypatch):
    frames = generate_sample(30, seed=2)
    path = tmp_path / "touchpoints.csv.gz"
    with gzip.open(path, "wt") as fh:
        frames["touchpoints"].to_csv(fh, index=False)
    both(monkeypatch, str(path), expect_fast=False)


def test_timestamps_shaped_like_plain_ones_keep_their_offsets(tmp_path, monkeypatch):
    # Plain "YYYY-MM-DD HH:MM:SS" text skips the time zone reading; text of the same
    # length with an offset in it must not.
    path = tmp_path / "zones.csv"
    path.write_text(
        "customer_id,timestamp,touchpoint\n"
        "c1,2024-03-01 10:00:00,Ad\n"
        "c1,2024-03-01T11:00:00,Site\n"
        "c1,2024-03-01 12:00+02,Site\n"  # 19 characters, two hours east of UTC
        "c1,2024-03-01T13:00-0100,Site\n"
        "c1,2024-03-01 14:00:00Z,Site\n"
        "c1,2024-02-30 10:00:00,Site\n",  # no such day: unparseable on both paths
        encoding="utf-8",
    )
    slow, fast = both(monkeypatch, path)
    got = _events(fast).set_index("seq")["timestamp"]
    assert got.to_dict() == {
        0: pd.Timestamp("2024-03-01 10:00:00"), 1: pd.Timestamp("2024-03-01 11:00:00"),
        2: pd.Timestamp("2024-03-01 10:00:00"), 3: pd.Timestamp("2024-03-01 14:00:00"),
        4: pd.Timestamp("2024-03-01 14:00:00"),
    }


def test_null_markers_and_unicode_padding(tmp_path, monkeypatch):
    path = tmp_path / "padded.csv"
    path.write_text(
        'customer_id,timestamp,touchpoint,channel\n'
        'c1,2024-03-01 10:00:00,"Ad",web\n'
        'c1,2024-03-01 11:00:00,Site\u00a0,"NA"\n'
        '"null",2024-03-01 12:00:00,Site,web\n'
        'c2,\u30002024-03-02 08:00:00,\tSite, NA \n',
        encoding="utf-8",
    )
    slow, fast = both(monkeypatch, path)
    ev = _events(fast)
    assert ev["seq"].tolist() == [0, 1, 3]  # the quoted "null" id is missing, as pyarrow reads it
    assert ev["touchpoint"].tolist() == ["Ad", "Site", "Site"]
    assert pd.isna(ev["channel"].iloc[1]) and ev["channel"].iloc[2] == "NA"  # padded " NA " is text
    assert ev["timestamp"].iloc[2] == pd.Timestamp("2024-03-02 08:00:00")


def test_duplicates_found_across_hash_slices(tmp_path, monkeypatch):
    # Slices of the hash range keep the duplicate search small in memory; with a slice
    # of a few rows the file is searched in many slices and the result must not change.
    frames = generate_sample(60, seed=9)
    tp = frames["touchpoints"]
    doubled = pd.concat([tp, tp.iloc[[5, 17, 17, 40]]], ignore_index=True)
    path = tmp_path / "dups.csv"
    doubled.to_csv(path, index=False)
    monkeypatch.setattr(csv_ingest, "_ROWS_PER_SLICE", 7)
    slow, fast = both(monkeypatch, path)
    found = [i for i in fast.warnings if "exact duplicates" in i.message]
    assert len(found) == 1 and found[0].count == 4
    n = len(tp)
    assert found[0].rows == [n + 1, n + 2, n + 3, n + 4]  # 1-based rows of the appended copies


def test_memory_limit_from_environment(monkeypatch):
    from journeylib import engine

    monkeypatch.setenv(engine.MEMORY_LIMIT_ENV, "1.5GB")
    assert engine.memory_limit() == "1.5GB"
    eng = engine.Engine()
    # DuckDB reports the limit in GiB: 1.5 GB = 1.397 GiB
    got = eng.con.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert got.endswith("GiB") and 1.3 <= float(got.split()[0]) <= 1.45
    monkeypatch.setenv(engine.MEMORY_LIMIT_ENV, "lots; DROP TABLE x")
    assert engine.memory_limit() is None


def test_progress_bar_only_in_a_terminal(monkeypatch):
    """DuckDB's progress bar would fill a script's log with control characters."""
    from journeylib import engine

    class Terminal:
        def isatty(self):
            return True

    assert engine.Engine().con.settings["enable_progress_bar"] == "false"  # pytest captures stderr
    monkeypatch.setattr(engine.sys, "stderr", Terminal())
    assert engine.Engine().con.settings["enable_progress_bar"] == "true"


def _exists(engine, name: str) -> bool:
    try:
        engine.con.table(name)
    except Exception:  # noqa: BLE001 - the backend's "not found"
        return False
    return True


@pytest.mark.parametrize("fast", [True, False])
def test_release_drops_what_the_load_made(tmp_path, monkeypatch, fast):
    from journeylib.engine import Engine
    from journeylib.io import release

    frames = generate_sample(40, seed=6)
    paths = {}
    for kind in ("touchpoints", "survey"):
        paths[kind] = tmp_path / f"{kind}.csv"
        frames[kind].to_csv(paths[kind], index=False)
    engine = Engine()
    keep = engine.table(frames["customers"])  # not made by the load: left alone
    data = _load(monkeypatch, str(paths["touchpoints"]), fast, survey=str(paths["survey"]), engine=engine)
    assert _used_fast(data) is fast
    made = [data.events.op().name, data.survey.op().name]
    behind = list(csv_ingest._loaded.get(made[0], (None, []))[1])
    assert all(_exists(engine, n) for n in made + behind)
    release(data, engine=engine)
    assert not any(_exists(engine, n) for n in made + behind)
    assert _exists(engine, keep.op().name)


@pytest.mark.parametrize("values,expected", [
    (["1", "2", "-3"], "int"), (["1.5", "2"], "float"), (["48.04", "0.0"], "float"), (["1", None], "int"),
    (["007", "1"], "text"), (["-01", "1"], "text"), (["a", "1"], "text"), (["0", "-0"], "int"),
    (["0x1f", "2"], "fallback"), (["inf", "1"], "fallback"), (["+1", "2"], "fallback"),
])
def test_extra_columns_typed_as_the_pandas_path_types_them(tmp_path, values, expected):
    from journeylib import io as jio
    from journeylib.engine import Engine

    path = tmp_path / "extra.csv"
    rows = "".join(f"c{i},2024-03-01 10:00:0{i},Ad,{'' if v is None else v}\n" for i, v in enumerate(values))
    path.write_text("customer_id,timestamp,touchpoint,extra\n" + rows, encoding="utf-8")
    fast = csv_ingest.prepare(str(path), None, Engine(), force=True)
    try:
        col = fast.work["extra"]
        if expected == "fallback":
            with pytest.raises(csv_ingest.Fallback):
                csv_ingest._typed_extras(fast, fast.work, {"extra": col})
            return
        got = csv_ingest._typed_extras(fast, fast.work, {"extra": col})["extra"].type()
        want = jio._convert_extra(pd.Series(values, dtype="str"))
        kind = "int" if got.is_integer() else "float" if got.is_floating() else "text"
        assert kind == expected
        assert kind == ("int" if pd.api.types.is_integer_dtype(want) else
                        "float" if pd.api.types.is_float_dtype(want) else "text")
    finally:
        fast.drop()


def test_survey_without_events_file_matches(tmp_path, monkeypatch):
    paths = _write(tmp_path, survey=MESSY_SURVEY, customers=MESSY_CUSTOMERS)
    loaded = {}
    for fast in (False, True):
        monkeypatch.setenv(csv_ingest.FAST_LOAD_ENV, "0" if fast else "1000000")
        loaded[fast] = load_journey(survey=paths["survey"], customers=paths["customers"])
    assert _engine_read(loaded[True]) == {"survey", "customers"} and not _engine_read(loaded[False])
    for part in ("survey", "customers"):
        pd.testing.assert_frame_equal(getattr(loaded[True], part).execute(), getattr(loaded[False], part).execute())
    assert _issues(loaded[True].warnings) == _issues(loaded[False].warnings)
    assert not any("have no events" in i.message for i in loaded[True].warnings)
