"""journeylib.ingest.rules: apply_rules and the cleaning expressions, on small hand-made
tables read from a file (with file rows) and from a DuckDB database table (without)."""

from __future__ import annotations

import pandas as pd
import pytest

from journeylib.ingest import read_source, source_table
from journeylib.ingest.errors import Findings, rows_text
from journeylib.ingest.read import ROW
from journeylib.ingest.rules import (
    EARLIEST,
    Rule,
    apply_rules,
    dropped,
    duplicate_rows,
    extra_kinds,
    id_text,
    kept_by,
    latest_plausible,
    row_hash,
    typed_extras,
)

from .roads import before_rows, csv_bytes, text_frame

FRAME = text_frame(
    "id,x,y,note",
    "r1,1,5,ok",    # 1 kept
    "r2,,5,ok",     # 2 dropped: no x
    "r3,,-1,ok",    # 3 no x and negative y: counted once, by the first drop rule
    "r4,2,-2,ok",   # 4 dropped: negative y
    "r5,3,-3,odd",  # 5 dropped: negative y
    "r6,4,7,odd",   # 6 kept, blanked
    "r7,5,9,",      # 7 kept, reported
)


def _rules() -> list[Rule]:
    return [
        Rule("no_x", "drop", lambda t: t.x.isnull(), dropped("no x"), column="x"),
        Rule("neg", "drop", lambda t: t.y.cast("int64") < 0, dropped("y below zero"), column="y", example="y"),
        Rule("odd", "blank", lambda t: t.note == "odd", lambda n, ex: f"{n} odd notes left empty (e.g. {ex})",
             column="note", example="id"),
        Rule("big", "keep", lambda t: t.y.cast("int64") > 8, lambda n, ex: f"{n} big values kept", column="y"),
    ]


@pytest.fixture(scope="module")
def roads(engine, wh):
    """FRAME read as a file (rows numbered) and as a table of the warehouse (no rows)."""
    raw = read_source(("f.csv", csv_bytes(FRAME)), engine=engine)
    table = source_table(wh.engine, wh.put(FRAME))
    yield {"file": (raw.table, engine, False), "table": (table.table, wh.engine, True)}
    raw.release()


@pytest.mark.parametrize("road", ["file", "table"])
def test_apply_rules_counts_each_row_once_in_rule_order(roads, road):
    t, engine, database = roads[road]
    findings = Findings()
    applied = apply_rules(t, _rules(), "f", engine, findings, database=database,
                          extra={"n_all": t.id.count(), "y_max": t.y.cast("int64").max()})
    got = [(w.column, w.message, w.count, w.rows) for w in findings.warnings]
    rows = (lambda r: r) if not database else (lambda r: [])
    where = (lambda s: s) if not database else (lambda s: "")
    assert got == [
        ("x", "2 rows dropped: no x" + where("; rows 2, 3"), 2, rows([2, 3])),
        ("y", "2 rows dropped: y below zero (e.g. '-2', '-3')" + where("; rows 4, 5"), 2, rows([4, 5])),
        ("note", "1 odd notes left empty (e.g. 'r6')" + where("; row 6"), 1, rows([6])),
        ("y", "1 big values kept" + where("; row 7"), 1, rows([7])),
    ]
    assert applied.dropped == 4 and applied.totals == {"n_all": 7, "y_max": 9}
    kept = engine.execute(applied.kept).sort_values("id")
    assert kept["id"].tolist() == ["r1", "r6", "r7"]
    assert kept["_flag_odd"].tolist() == [False, True, False]  # for the caller to empty
    reasons = engine.execute(applied.flagged.select("id", "_reason")).sort_values("id")["_reason"].tolist()
    assert reasons == [0, 1, 1, 2, 2, 0, 0]
    # kept_by filters by the drop rules alone (a table has no rows to anti-join on)
    assert sorted(engine.execute(kept_by(t, _rules()))["id"]) == ["r1", "r6", "r7"]


def test_examples_come_in_file_order_or_in_value_order(roads):
    """A file quotes the values its rules flag in file order; a table, in the order of the values."""
    rule = Rule("all", "keep", lambda t: t.id.notnull(), lambda n, ex: f"{n}: {ex}", example="note", n_examples=2)
    for road, want in (("file", "7: 'ok', 'odd'"), ("table", "7: 'odd', 'ok'")):
        t, engine, database = roads[road]
        findings = Findings()
        apply_rules(t, [rule], "f", engine, findings, database=database)
        assert before_rows(findings.warnings[0].message) == want


def test_rules_by_group_come_in_the_order_of_the_groups(engine):
    t = engine.table(pd.DataFrame({ROW: range(6), "g": ["b", "a", "c", "b", "a", "c"], "v": [1, None, None, 2, None, 3]}))
    findings = Findings()
    applied = apply_rules(t, [Rule("none", "drop", lambda t: t.v.isnull(), dropped("no v"))], "f", engine, findings,
                          by="g")
    assert [(w.column, w.message, w.count) for w in findings.warnings] == [
        ("a", "2 rows dropped: no v; rows 2, 5", 2), ("c", "1 row dropped: no v; row 3", 1)]
    assert applied.dropped == 3


def test_no_rule_fires_no_warning(engine):
    t = engine.table(pd.DataFrame({ROW: [0, 1], "x": [1, 2]}))
    findings = Findings()
    applied = apply_rules(t, [Rule("no_x", "drop", lambda t: t.x.isnull(), dropped("no x"))], "f", engine, findings)
    assert findings.warnings == [] and applied.dropped == 0 and applied.kept.count().execute() == 2
    assert dropped("nothing")(3, "") == "3 rows dropped: nothing"
    assert dropped("nothing")(1, "") == "1 row dropped: nothing"
    assert dropped("nothing")(12345, "") == "12,345 rows dropped: nothing"


# --------------------------------------------------------------------------- cleaning expressions


def test_id_text(engine):
    t = engine.table(pd.DataFrame({"s": ["12.0", "13", None], "f": [12.0, 1.5, None], "i": [1, 2, 3]}))
    got = engine.execute(t.select(s=id_text(t.s, whole_floats=True), s_as_is=id_text(t.s), f=id_text(t.f),
                                  i=id_text(t.i)))
    assert got["s"].tolist()[:2] == ["12", "13"] and got["s_as_is"].tolist()[:2] == ["12.0", "13"]
    assert got["f"].tolist()[:2] == ["12", "1.5"] and pd.isna(got["f"].iloc[2])
    assert got["i"].tolist() == ["1", "2", "3"]


def test_duplicate_rows_are_the_later_copies(engine):
    t = engine.table(pd.DataFrame({ROW: range(6), "a": ["x", "x", "y", "x", None, None], "b": [1, 1, 1, 2, 3, 3]}))
    dups = engine.execute(duplicate_rows(t, ["a", "b"]))["_jl_dup_row"].sort_values().tolist()
    assert dups == [1, 5]  # row 1 repeats row 0; rows with missing cells repeat too (row 5 of row 4)
    hashes = engine.execute(t.select(ROW, h=row_hash(t, ["a", "b"])).order_by(ROW))["h"].tolist()
    assert hashes[0] == hashes[1] and hashes[4] == hashes[5] and len(set(hashes)) == 4


@pytest.mark.parametrize("values, expected", [
    (["1", "2", "-3"], "int"), (["1.5", "2"], "float"), (["48.04", "0.0"], "float"), (["1", None], "int"),
    (["007", "1"], "text"), (["-01", "1"], "text"), (["a", "1"], "text"), (["0", "-0"], "int"),
    (["1e3", "2"], "float"), ([None, None], "text"),
    # Numbers only as digits: hexadecimal, infinities and a plus sign stay text.
    (["0x1f", "2"], "text"), (["inf", "1"], "text"), (["+1", "2"], "text"),
])
def test_extra_columns_typed(engine, values, expected):
    t = engine.table(pd.DataFrame({"extra": pd.Series(values, dtype="string"), "n": [1] * len(values)}))
    kinds = extra_kinds(t, ["extra", "n"], engine.execute)
    assert kinds == {"extra": expected, "n": "as is"}
    typed = typed_extras(t, kinds)["extra"]
    assert typed.type().is_integer() if expected == "int" else typed.type().is_floating() if expected == "float" \
        else typed.type().is_string()
    got = engine.execute(t.select(extra=typed))["extra"].dropna().tolist()
    present = [v for v in values if v is not None]
    assert got == ([float(v) for v in present] if expected != "text" else present)


def test_plausible_dates():
    today = pd.Timestamp.now(tz="UTC").tz_localize(None).normalize()
    assert latest_plausible() == today + pd.Timedelta(days=2)
    assert EARLIEST == pd.Timestamp("1900-01-01")


def test_rows_text_names_examples_and_counts_the_rest_with_thousands():
    assert rows_text([7], 1) == "row 7"
    assert rows_text([2, 4], 2) == "rows 2, 4"
    # 1,150 rows counted, 5 shown: the rest is 1,145 written as the warning's own count is.
    assert rows_text([1, 3, 4, 8, 11, 12], 1150) == "rows 1, 3, 4, 8, 11 and 1,145 more"
