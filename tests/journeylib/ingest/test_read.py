"""journeylib.ingest.read: files and database tables into one engine table, every text
cell cleaned once (trimmed, blanks missing), with the file row in ``_jl_row``."""

from __future__ import annotations

import gzip
import io

import pandas as pd
import pytest

from journeylib.ingest import InputError, load_journey, max_upload_bytes, read_source, read_table, source_table
from journeylib.ingest.read import MAX_UPLOAD_ENV, NULL_MARKERS, ROW, clean_names, name_notes, sniff_delimiter

from .roads import by_table, events

EVENTS = "customer_id,timestamp,touchpoint,channel\nc1,2024-01-01 10:00,Home,web\nc1,2024-01-02 11:00,Checkout,web\nc2,2024-01-03 09:30,Home,app\n"


def src(text: str, name: str = "events.csv", encoding: str = "utf-8") -> tuple[str, bytes]:
    return name, text.encode(encoding)


def events_of(data) -> pd.DataFrame:
    return data.events.execute().sort_values("seq").reset_index(drop=True)


# --------------------------------------------------------------------------- reading files


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


def test_read_table_xlsx_skips_a_cover_sheet_for_the_one_with_ids(tmp_path):
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"About": ["exported 2024"]}).to_excel(writer, sheet_name="Cover", index=False)
        pd.DataFrame({"user_id": ["u1"], "event": ["a"]}).to_excel(writer, sheet_name="Data", index=False)
    df = read_table(path)
    assert df["user_id"].tolist() == ["u1"]
    assert df.attrs["journeylib_notes"][0].message == ("read sheet 'Data' (the first with a customer id column); "
                                                       "other sheets ignored: 'Cover'")


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


def test_short_rows_keep_their_cells():
    df = read_table(src("a,b,c\n1,2\n3,4,5\n", "short.csv"))
    assert df.values.tolist()[0][:2] == ["1", "2"] and pd.isna(df.loc[0, "c"])
    assert df.attrs["journeylib_notes"] == []


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
    with pytest.raises(InputError, match=r"^j\.csv: looks like JSON, not a table"):
        read_table(("j.csv", b'[{"a": 1}]'))
    with pytest.raises(InputError, match=r"is a folder, not a file"):
        read_table(tmp_path)


def test_header_cells_blank_or_repeated_are_renamed_with_a_note():
    df = read_table(src("id,,name,name,\n1,2,a,b,3\n", "h.csv"))
    assert list(df.columns) == ["id", "column_2", "name", "name.1", "column_5"]
    notes = [n.message for n in df.attrs["journeylib_notes"]]
    assert notes == ["2 header cells are blank; named 'column_2', 'column_5'",
                     "repeated column names 'name'; the later ones were renamed 'name.1'"]


def test_clean_names_and_name_notes():
    # A name the file has keeps it (as pandas reads it): the repeat of "a" skips "a.1".
    assert clean_names(["a", "a", "a.1", None, " b ", "Unnamed: 3", "a"]) == [
        "a", "a.2", "a.1", "column_4", "b", "column_6", "a.3"]
    assert clean_names(["x", "", "column_2"]) == ["x", "column_2.1", "column_2"]
    assert name_notes("f", ["a", "b"], ["a", "b"]) == []


@pytest.mark.parametrize("sample, delim", [
    ("a,b,c\n1,2,3\n", ","), ("a;b;c\n1;2,5;3\n", ";"), ("a\tb\n1\t2\n", "\t"), ("a|b|c\n1|2|3\n", "|"),
    ("just one column\nvalue\n", ","),
])
def test_sniff_delimiter(sample, delim):
    assert sniff_delimiter(sample) == delim


def test_the_row_column_is_the_0_based_file_row(engine):
    raw = read_source(src("id,x\na,1\n\nb, 2 \nc,\n", "r.csv"), engine=engine)
    try:
        got = engine.execute(raw.table.order_by(ROW))
        assert raw.columns == ["id", "x"] and raw.kind == "text" and not raw.database
        assert got[ROW].tolist() == [0, 1, 2]  # the blank line is no row
        assert got["x"].tolist()[:2] == ["1", "2"] and pd.isna(got["x"].iloc[2])
        assert raw.rows == 3 and raw.head(2)["id"].tolist() == ["a", "b"]
        name = raw.owned[0]
    finally:
        raw.release()
    assert raw.owned == []
    assert not engine.con.raw_sql(f"select 1 from duckdb_tables() where table_name = '{name}'").fetchall()
    raw.release()  # twice is fine


def test_reserved_row_column_is_refused(engine, wh):
    with pytest.raises(InputError, match=r"^r\.csv: the column name '_jl_row' is reserved; rename that column"):
        read_source(src("_jl_row,b\n1,2\n", "r.csv"), engine=engine)
    name = wh.put(pd.DataFrame({"_jl_row": ["1"], "b": ["2"]}))
    with pytest.raises(InputError, match=r"the column name '_jl_row' is reserved; make a view that renames it"):
        source_table(wh.engine, name)


def test_upload_limit_from_the_environment(monkeypatch):
    monkeypatch.delenv(MAX_UPLOAD_ENV, raising=False)
    assert max_upload_bytes() == 1024 * 1024 * 1024
    monkeypatch.setenv(MAX_UPLOAD_ENV, "0.5")
    assert max_upload_bytes() == 512 * 1024
    with pytest.raises(InputError, match=r"^big\.csv: file is 0\.6 MB \(600,000 bytes\), above the size limit of "
                                         r"0\.5 MB; split it or raise the limit with JOURNEY_MAX_UPLOAD_MB"):
        read_table(("big.csv", b"a\n" * 300_000))
    for bad in ("lots", "-3", "0"):
        monkeypatch.setenv(MAX_UPLOAD_ENV, bad)
        assert max_upload_bytes() == 1024 * 1024 * 1024


# --------------------------------------------------------------------------- cleaning, file and table


PADDED = ('customer_id,timestamp,touchpoint,channel\n'
          'c1,2024-03-01 10:00:00,"Ad",web\n'
          'c1,2024-03-01 11:00:00,Site\u00a0,"NA"\n'
          '"null",2024-03-01 12:00:00,Site,web\n'
          'c2,\u30002024-03-02 08:00:00,\tSite, NA \n')


def test_null_markers_and_unicode_padding(engine):
    data = load_journey(src(PADDED, "padded.csv"), engine=engine)
    ev = events_of(data)
    assert ev["seq"].tolist() == [0, 1, 3]  # the quoted "null" id is missing, as pyarrow reads it
    assert ev["touchpoint"].tolist() == ["Ad", "Site", "Site"]
    assert pd.isna(ev["channel"].iloc[1]) and ev["channel"].iloc[2] == "NA"  # padded " NA " is text
    assert ev["timestamp"].iloc[2] == pd.Timestamp("2024-03-02 08:00:00")
    assert len(NULL_MARKERS) == 17 and {"", "NA", "N/A", "null", "NULL", "#N/A", "nan"} <= set(NULL_MARKERS)


def test_a_table_is_trimmed_like_a_file_but_its_text_nulls_are_text(engine, wh):
    """A database has real NULLs: a cell "NA" there is the text NA. Padding is trimmed as in a file."""
    frame = pd.DataFrame({"customer_id": ["c1", "c1", "null", "c2"],
                          "timestamp": ["2024-03-01 10:00:00", "2024-03-01 11:00:00", "2024-03-01 12:00:00",
                                        "\u30002024-03-02 08:00:00"],
                          "touchpoint": ["Ad", "Site\u00a0", "Site", "\tSite"], "channel": ["web", "NA", "web", "  "]})
    t = by_table(wh, {"touchpoints": frame})
    ev = events(t)
    assert ev["customer_id"].tolist() == ["c1", "c1", "c2", "null"]
    assert ev["touchpoint"].tolist() == ["Ad", "Site", "Site", "Site"]
    assert ev["channel"].tolist()[:2] == ["web", "NA"] and pd.isna(ev["channel"].iloc[2])  # blank: missing
    assert ev["timestamp"].iloc[2] == pd.Timestamp("2024-03-02 08:00:00")
    raw = source_table(wh.engine, wh.put(frame))
    got = wh.engine.execute(raw.table)
    assert raw.database and raw.kind == "database" and raw.owned == [] and got[ROW].isna().all()


def test_tsv_and_semicolons(engine, tmp_path):
    body = [["id", "timestamp", "event", "stage"], ["a", "2024-01-01 00:00:01", "Visit", "Awareness"],
            ["a", "2024-01-01 00:00:02", "Buy", "purchase"], ["b", "2024-01-02 00:00:00", "Visit", "Loyalty"]]
    tsv = tmp_path / "events.tsv"
    tsv.write_text("\n".join("\t".join(r) for r in body) + "\n")
    semi = tmp_path / "events.csv"
    semi.write_text("\n".join(";".join(r) for r in body) + "\n")
    for path in (tsv, semi):
        # "id" is no customer id for a touchpoints file: it has to be mapped
        with pytest.raises(InputError, match="no column for required field 'customer_id'"):
            load_journey(str(path), engine=engine)
        data = load_journey(str(path), mapping={"customer_id": "id"}, engine=engine)
        assert events_of(data)["stage"].tolist() == ["Awareness", "Purchase", "Retention"]


def test_source_table_names(wh):
    with pytest.raises(InputError, match="empty table name"):
        source_table(wh.engine, " . ")
    with pytest.raises(InputError, match=r"^nope: table or view 'nope' not found on the duckdb backend"):
        source_table(wh.engine, "nope")
    name = wh.put(pd.DataFrame({"a": ["x"]}))
    assert source_table(wh.engine, ("main", name)).label == f"main.{name}"


def test_clean_text_trims_unicode_space_at_either_end_only():
    """Cells whose first and last characters are printable ASCII skip the Unicode trim;
    every other cell still gets it (expected values written out by hand)."""
    import ibis

    from journeylib.ingest.read import clean_text

    cells = {"a": "a", " a": "a", "a ": "a", "\u00a0a\u3000": "a", "": None, "   ": None, "x\ty": "x\ty",
             "\ta": "a", "é": "é", " é ": "é", "ab\u2028": "ab", "\u0085": None, "~": "~", "!a!": "!a!",
             "a\x7f": "a\x7f", "\x7fa": "\x7fa", "a b": "a b", "\u2009Site\u202f": "Site", "Z\u00a0": "Z"}
    t = ibis.memtable(pd.DataFrame({"i": range(len(cells)), "c": pd.Series(list(cells), dtype=object)}))
    got = ibis.duckdb.connect().execute(t.select("i", x=clean_text(t.c)).order_by("i"))["x"]
    assert [None if pd.isna(v) else v for v in got] == list(cells.values())
