"""The two roads into the ingest, for tests: a frame written as a CSV file, and the same frame
as a table in a DuckDB database file (the warehouse road, :func:`journeylib.ingest.load_tables`).

A table has no file order and no row numbers, so its warnings end before "; rows ..." and
its events' ``seq`` is numbered per customer (by timestamp, then the columns as given); the
helpers compare what both roads must share and leave those to the tests that assert them.
"""

from __future__ import annotations

import re

import itertools
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from journeylib.engine import Engine
from journeylib.ingest import Issue, check, load_journey, load_tables

KINDS = ("touchpoints", "survey", "customers")
FILE_NAMES = {"touchpoints": "events.csv", "survey": "survey.csv", "customers": "customers.csv"}


def text_frame(header: str, *rows: str) -> pd.DataFrame:
    """A frame of text cells from comma-separated lines (an empty cell is missing)."""
    names = header.split(",")
    cells = [[c if c != "" else None for c in r.split(",")] for r in rows]
    assert all(len(c) == len(names) for c in cells), "every row needs a cell per column"
    return pd.DataFrame(cells, columns=names, dtype=object)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


class Warehouse:
    """A DuckDB file database: tables are written by the duckdb package (as a team's
    pipeline would) and read through an Engine opened by URL."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.url = f"duckdb:///{self.path}"
        self.engine = Engine(self.url)
        self._names = itertools.count()

    def put(self, frame: pd.DataFrame, name: str | None = None) -> str:
        """Write ``frame`` as a new table; its name."""
        name = name or f"t{next(self._names)}"
        con = duckdb.connect(str(self.path))
        try:
            con.register("frame_in", frame)
            con.execute(f'create table "{name}" as select * from frame_in')
        finally:
            con.close()
        return name

    def close(self) -> None:
        self.engine.con.disconnect()


def by_file(engine: Engine, frames: dict[str, pd.DataFrame], **options: Any):
    """load_journey of the frames written as CSV files (events.csv, survey.csv, customers.csv)."""
    sources = {k: (FILE_NAMES[k], csv_bytes(f)) for k, f in frames.items() if f is not None}
    return load_journey(**sources, engine=engine, **options)


def by_table(wh: Warehouse, frames: dict[str, pd.DataFrame], **options: Any):
    """load_tables of the frames written as tables of the warehouse."""
    names = {k: wh.put(f) for k, f in frames.items() if f is not None}
    return load_tables(wh.engine, **names, **options)


def warning_key(w: Issue) -> tuple:
    """What a file's warning and a table's warning share: column, text before "; row(s)", count."""
    return (w.column, before_rows(w.message), w.count)


def events(data, seq: bool = False) -> pd.DataFrame:
    """Events by customer, timestamp and ``seq``; or, without ``seq`` (which a file and a
    table number differently), sorted by every other column."""
    ev = data.events.execute()
    if seq:
        return ev.sort_values(["customer_id", "timestamp", "seq"]).reset_index(drop=True)
    ev = ev.drop(columns="seq")
    return ev.sort_values(list(ev.columns), na_position="first").reset_index(drop=True)


def rows_of(table, keys: list[str]) -> pd.DataFrame:
    df = table.execute()
    return df.sort_values(keys, na_position="first").reset_index(drop=True)


def survey(data) -> pd.DataFrame:
    return rows_of(data.survey, ["customer_id", "touchpoint", "score"])


def customers(data) -> pd.DataFrame:
    return rows_of(data.customers, ["customer_id"])


def both(engine: Engine, wh: Warehouse, **frames: pd.DataFrame | Any):
    """Load the same frames by file and by table (options go to both); assert the same
    kept rows (events without ``seq``, survey, customers), the same warnings (text before
    "; rows", counts, columns, in order), stage map and scale. Returns (by file, by table)."""
    options = {k: v for k, v in frames.items() if k not in KINDS}
    frames = {k: v for k, v in frames.items() if k in KINDS}
    f = by_file(engine, frames, **options)
    t = by_table(wh, frames, **options)
    pd.testing.assert_frame_equal(events(f), events(t), check_dtype=True)
    for part in ("survey", "customers"):
        a, b = getattr(f, part), getattr(t, part)
        assert (a is None) == (b is None), part
        if a is not None:
            keys = ["customer_id", "touchpoint", "score"] if part == "survey" else ["customer_id"]
            pd.testing.assert_frame_equal(rows_of(a, keys), rows_of(b, keys))
    assert [warning_key(w) for w in f.warnings] == [warning_key(w) for w in t.warnings]
    assert f.touchpoint_stage_map == t.touchpoint_stage_map
    assert f.score_scale == t.score_scale
    return f, t


def found(data) -> dict[str, Issue]:
    """Warnings by their text before "; rows"."""
    return {before_rows(w.message): w for w in data.warnings}


def before_rows(message: str) -> str:
    """A warning's text before its example rows ("; row 3" or "; rows 2, 5")."""
    return re.split(r"; rows? \d", message)[0]
