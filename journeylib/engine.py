"""The query engine: one Ibis connection, an embedded DuckDB unless a URL names another.

Analysis code builds Ibis expressions and calls :meth:`Engine.execute`, which returns a
small pandas frame. User column names only ever reach the backend as Ibis identifiers
(quoted by Ibis), never pasted into SQL text.
"""

from __future__ import annotations

import itertools
import os
import re
import sys
import tempfile
import threading
import weakref

import ibis
import pyarrow as pa
import pandas as pd

BACKEND_URL_ENV = "JOURNEY_BACKEND_URL"
MEMORY_LIMIT_ENV = "JOURNEY_MEMORY_LIMIT"
# What the command line gives the embedded DuckDB unless $JOURNEY_MEMORY_LIMIT says
# otherwise: above it, sorts, hash tables and tables spill to a temporary folder, so a
# command stays within about 2 GB in all however large its input. Commands that only
# query get more; personas, emotions and reports hold features, models and the survey
# in Python too (about 1 GB at 10M events), and spilling costs them less than it would
# cost the window queries of flows and transitions.
CLI_MEMORY_LIMITS = {"flows": "1.5GB", "transitions": "1.5GB", "validate": "1.5GB"}
CLI_MEMORY_LIMIT = "1GB"
_SIZE_RE = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


def memory_limit() -> str | None:
    """The embedded engine's memory limit from $JOURNEY_MEMORY_LIMIT (e.g. "1.5GB"), or None."""
    raw = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    return raw.replace(" ", "") if _SIZE_RE.match(raw) else None


def _duckdb_config(threads: int | None) -> dict:
    config: dict = {"threads": threads} if threads else {}
    limit = memory_limit()
    if limit:
        config["memory_limit"] = limit
        config["temp_directory"] = os.path.join(tempfile.gettempdir(), f"journeylib-spill-{os.getpid()}")
    return config


class Engine:
    """Holds one Ibis connection and serialises access to it across threads.

    ``url`` is any Ibis connection URL (``duckdb:///path.ddb``, ``postgres://...``,
    ``pyspark://``, ``trino://...``); ``con`` wraps an Ibis backend that is already
    connected (e.g. ``ibis.pyspark.connect(spark_session)``) and takes precedence.
    """

    def __init__(self, url: str | None = None, threads: int | None = None, con=None):
        if con is not None:
            self.url = url or f"{con.name}://"
            self.con = con
        else:
            self.url = url or os.environ.get(BACKEND_URL_ENV) or "duckdb://"
            if self.url in ("duckdb://", "duckdb://:memory:"):
                self.con = ibis.duckdb.connect(**_duckdb_config(threads))
                # DuckDB draws a progress bar on stderr for queries over two seconds: fine in
                # a terminal, but lines of control characters in a script's log.
                self.con.settings["enable_progress_bar"] = sys.stderr.isatty()
            elif self.url.startswith("pyspark://"):
                self.con = _spark_backend(self.url)
            else:
                self.con = ibis.connect(self.url)
        # Public: ingest runs its own DuckDB calls (reads, Arrow hand-overs) under it too.
        self.lock = threading.RLock()
        self._names = itertools.count()
        _engines[id(self.con)] = self

    @property
    def backend_name(self) -> str:
        return self.con.name

    def table(self, frame: pd.DataFrame, name: str | None = None) -> ibis.Table:
        """Load a pandas (or Arrow) frame into the backend as a temporary table.

        Spark has no temporary tables; there the frame becomes a temporary view, which
        lives as long as the Spark session, like a temporary table does elsewhere.
        """
        name = name or f"journey_{next(self._names)}"
        with self.lock:
            if self.backend_name == "pyspark":
                return self.con.create_view(name, ibis.memtable(frame), overwrite=True)
            return self.con.create_table(name, frame, temp=True, overwrite=True)

    def read_parquet(self, path: str, name: str | None = None) -> ibis.Table:
        """Expose a Parquet file as a table without copying it into Python."""
        with self.lock:
            return self.con.read_parquet(path, table_name=name or f"parquet_{next(self._names)}")

    def execute(self, expr: ibis.Expr) -> pd.DataFrame:
        """Run an expression on this engine and return pandas."""
        with self.lock:
            return self.con.execute(expr)


def _spark_backend(url: str):
    """A PySpark backend from ``pyspark://[warehouse-dir][?spark.setting=value&...]``.

    Ibis would apply the URL's settings to a running session, where static ones such as
    ``spark.master`` or ``spark.ui.enabled`` are refused; here they configure the session
    as it is built (an existing session in this process is reused as Spark does).
    """
    from urllib.parse import parse_qsl, urlparse

    from pyspark.sql import SparkSession

    parsed = urlparse(url)
    builder = SparkSession.builder
    for key, value in parse_qsl(parsed.query):
        builder = builder.config(key, value)
    warehouse_dir = (parsed.netloc + parsed.path).strip("/")
    if warehouse_dir:
        builder = builder.config("spark.sql.warehouse.dir", os.path.abspath(warehouse_dir))
    return ibis.pyspark.connect(builder.getOrCreate())


# Connection id -> its Engine, so an expression can find the lock of the engine it lives on.
_engines: "weakref.WeakValueDictionary[int, Engine]" = weakref.WeakValueDictionary()
_default: Engine | None = None
_default_lock = threading.Lock()


def default_engine() -> Engine:
    """The process-wide embedded engine, created on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Engine()
        return _default


def _engine_of(expr: ibis.Expr) -> "Engine | None":
    """The engine holding ``expr``'s tables (the default one for in-memory tables only), or
    None when they sit on a backend no engine of ours made."""
    try:
        backend = expr._find_backend()
    except Exception:  # only memtables: not bound to a backend yet
        backend = None
    engine = _engines.get(id(backend)) if backend is not None else default_engine()
    if engine is None or (backend is not None and engine.con is not backend):
        return None
    return engine


def execute(expr: ibis.Expr) -> pd.DataFrame:
    """Run an expression under the lock of the engine that holds its tables.

    A DuckDB connection is not safe to use from several threads at once (Streamlit runs
    sessions in threads), so every query goes through its engine's lock. Expressions over
    in-memory tables only run on the default engine.
    """
    engine = _engine_of(expr)
    return expr.execute() if engine is None else engine.execute(expr)


def execute_arrow(expr: ibis.Expr) -> pa.Table:
    """:func:`execute` returning Arrow: Ibis's pandas conversion turns any column holding a
    NULL into Python objects row by row, which at a million rows costs more than the query."""
    engine = _engine_of(expr)
    if engine is None:
        return expr.to_pyarrow()
    with engine.lock:
        return engine.con.to_pyarrow(expr)


# Above this many values a lookup joins a small in-memory table instead of a CASE.
MAX_INLINE_VALUES = 200


def map_values(t: ibis.Table, column: str, mapping: dict, out: str) -> ibis.Table:
    """``t`` with a text column ``out``: ``mapping`` applied to ``t[column]`` (null for
    values it does not name). A long mapping is a join with a small in-memory table, so
    the query does not carry a CASE of thousands of branches."""
    pairs = {str(k): str(v) for k, v in mapping.items() if v is not None}
    if not pairs:
        return t.mutate(**{out: ibis.null("string")})
    if len(pairs) <= MAX_INLINE_VALUES:
        return t.mutate(**{out: t[column].substitute(pairs, else_=ibis.null("string"))})
    key = f"_jl_key_{out}"
    table = ibis.memtable(pd.DataFrame({key: list(pairs), out: list(pairs.values())}, dtype="str"))
    j = t.left_join(table, t[column] == table[key])
    return j.drop(key)
