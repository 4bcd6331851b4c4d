"""A file as a pandas frame, for previews and scripts: read as the loader reads it."""

from __future__ import annotations

from typing import Any

import pandas as pd

from journeylib.engine import Engine, default_engine
from journeylib.ingest.read import ROW, read_source

NOTES_ATTR = "journeylib_notes"


def read_table(source: Any, name: str | None = None, engine: Engine | None = None,
               limit: int | None = None) -> pd.DataFrame:
    """Read a file (any supported format) into a DataFrame in file order: text columns
    trimmed, blanks missing (as every input is read); Parquet keeps its types. Notes about the read (sheet used,
    lines skipped, headers renamed) are in ``df.attrs["journeylib_notes"]``."""
    raw = read_source(source, name=name, engine=engine or default_engine())
    try:
        t = raw.table.order_by(ROW)
        t = t.select(*raw.columns)
        if limit is not None:
            t = t.limit(limit)
        with raw.engine.lock:
            df = t.to_pyarrow().to_pandas()
    finally:
        raw.release()
    df.attrs[NOTES_ATTR] = list(raw.notes)
    return df
