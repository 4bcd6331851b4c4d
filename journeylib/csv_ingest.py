"""Large plain CSV files (touchpoints, long surveys, customers) read and cleaned inside
the engine, as Ibis expressions.

``io.load_journey`` normally reads a file into pandas, cleans it there and copies the
result into the engine; for millions of rows that costs several times the file in memory
and runs on one core. Here the embedded DuckDB reads the file itself (every column as
text, like the pandas path), numbers the rows in file order, and every check and cleaning
step is an Ibis expression over that table: exact duplicates, missing ids, timestamp
parsing, padding, stage normalisation, the fill from the touchpoint map, scores and NPS,
repeated customer ids. The rows never come back to Python, and the warnings carry the
same counts and example rows as the pandas path.

Only what is certain to agree with the pandas path is done here. :func:`prepare` and the
``build_*`` functions raise :class:`Fallback` (and the caller uses the pandas path) for
anything else: small files, non-UTF-8 text, gzip, Excel, odd headers, ragged rows,
combined event + survey files, wide surveys, timestamps that are not ISO 8601, scores
that are not whole numbers, and so on.

No SQL text is written here: the file path and every value go to the backend through
Ibis (quoted identifiers, literals and small in-memory lookup tables).
"""

from __future__ import annotations

import csv
import io as _io
import itertools
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import ibis
import numpy as np
import pandas as pd

__all__ = ["FAST_LOAD_ENV", "DEFAULT_FAST_LOAD_MB", "Fallback", "FastFile", "fast_load_bytes", "prepare",
           "build_events", "build_survey", "build_customers", "release"]

FAST_LOAD_ENV = "JOURNEY_FAST_LOAD_MB"
DEFAULT_FAST_LOAD_MB = 20.0

# pyarrow's default null markers: the pandas path reads these cells as missing.
_ARROW_NULLS = ('', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND',
                '1.#QNAN', 'N/A', 'NA', 'NULL', 'NaN', 'n/a', 'nan', 'null')
# What pyarrow's utf8_trim_whitespace strips (Unicode White_Space), as one regex class.
_WHITESPACE = " \t\n\v\f\r\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008" \
              "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_PADDING_RE = "^[" + _WHITESPACE + "]+|[" + _WHITESPACE + "]+$"
# Columns with more distinct values than this are checked for padding by a coarse test
# in the engine instead of value by value in Python.
_MAX_DISTINCT = 100_000
# Few-valued columns are grouped together when their combinations are at most this many.
_MAX_COMBINED = 100_000
_MAX_LEFTOVER = 200_000
_MAX_COLUMNS = 64
_ROWS_PER_SLICE = 25_000_000  # hashes held in Python at once by the duplicate search
_names = itertools.count()


class Fallback(Exception):
    """This file needs the pandas path; the message says why."""


def fast_load_bytes() -> int:
    """Files at least this large (bytes) take this path ($JOURNEY_FAST_LOAD_MB, default 20; 0 = all)."""
    from journeylib.io import env_megabytes

    return env_megabytes(FAST_LOAD_ENV, DEFAULT_FAST_LOAD_MB, allow_zero=True)


def _name(kind: str) -> str:
    return f"_jl_{kind}_{os.getpid()}_{next(_names)}"


def _is_view(name: str) -> bool:
    """The finished views are named after their data; everything else made here is a table."""
    return name.startswith(("_jl_events_", "_jl_survey_", "_jl_customers_"))


@dataclass
class FastFile:
    """An input file read into one engine table (text columns as in the file, the row
    number ``_jl_seq`` and the engine's timestamp parse ``_jl_ts``); see :func:`prepare`."""

    label: str
    names: list[str]
    cols: dict[str, str]
    engine: Any
    work_name: str  # the engine table the file was read into
    work: Any  # ibis.Table: that table with the file row number ``_jl_seq``
    rows: int = 0
    kind: str = "touchpoints"
    events_tables: list[str] = field(default_factory=list)  # what the result view rests on
    _distinct: dict[str, pd.DataFrame] = field(default_factory=dict)
    _stats: tuple[dict[str, int], bool] | None = None

    @property
    def con(self):
        return self.engine.con

    def _run(self, expr) -> pd.DataFrame:
        # Arrow to pandas directly: Ibis's execute() turns columns with nulls into Python objects.
        with self.engine._lock:
            return expr.to_pyarrow().to_pandas()

    def header_frame(self) -> pd.DataFrame:
        """An empty frame with the file's columns, for mapping and messages."""
        return pd.DataFrame({n: pd.Series([], dtype="str") for n in self.names})

    def listed(self) -> list[str]:
        """Columns whose distinct values may be few (not the id, not the time)."""
        return [n for n in self.names if n not in (self.cols.get("timestamp"), self.cols["customer_id"])]

    def stats(self) -> tuple[dict[str, int], bool]:
        """In one pass: the estimated number of distinct values of each listed column (so
        that a column of ids is never grouped value by value), and whether any customer
        id starts or ends with whitespace (see _padded)."""
        if self._stats is None:
            t, listed = self.work, self.listed()
            aggs = {f"a{i}": t[n].approx_nunique() for i, n in enumerate(listed)}
            aggs["id_padded"] = _padded(t[self.cols["customer_id"]]).any()
            got = self._run(t.aggregate(**aggs)).iloc[0]
            self._stats = ({n: int(got[f"a{i}"]) for i, n in enumerate(listed)}, bool(got["id_padded"]))
        return self._stats

    def distinct(self, column: str) -> pd.DataFrame | None:
        """Distinct values of a column with their first row, in file order; None if too many."""
        if column not in self._distinct:
            t = self.work
            approx, _ = self.stats() if column in self.listed() else ({}, False)
            few = [n for n, a in approx.items() if a <= _MAX_DISTINCT // 2 and n not in self._distinct]
            if column in few and len(few) > 1 and np.prod([max(approx[n], 1) for n in few]) <= _MAX_COMBINED:
                self._distinct.update(self._distinct_together(few))
            else:
                self._distinct[column] = self._run(
                    t.group_by(value=t[column]).aggregate(first=t._jl_seq.min(), n=t.count())
                    .order_by("first").limit(_MAX_DISTINCT + 1))
        got = self._distinct[column]
        return None if len(got) > _MAX_DISTINCT else got

    def _distinct_together(self, columns: Sequence[str]) -> dict[str, pd.DataFrame]:
        """Each column's distinct values from one grouping by all of them (few values each,
        and few combinations: a touchpoint, its stage and its channel)."""
        t = self.work
        combos = self._run(t.group_by(**{f"v{i}": t[n] for i, n in enumerate(columns)})
                           .aggregate(first=t._jl_seq.min(), n=t.count()))
        out = {}
        for i, name in enumerate(columns):
            got = (combos.groupby(f"v{i}", dropna=False, sort=False)
                   .agg(first=("first", "min"), n=("n", "sum")).reset_index()
                   .rename(columns={f"v{i}": "value"}).sort_values("first").reset_index(drop=True))
            out[name] = got[["value", "first", "n"]]
        return out

    def distinct_touchpoints(self) -> list[str]:
        """Touchpoint names in order of first appearance (as pd.unique would give), trimmed."""
        got = self.distinct(self.cols["touchpoint"])
        if got is None:
            raise Fallback("too many distinct touchpoints")
        clean = _trimmed(got["value"])
        return list(dict.fromkeys(v for v in clean if v is not None))

    def drop(self) -> None:
        """Drop the work table unless an events view rests on it."""
        if not self.events_tables:
            with self.engine._lock:
                self.con.drop_table(self.work_name, force=True)

    def drop_events(self) -> None:
        """Free the events view and its table (after validation, or when the load failed)."""
        with self.engine._lock:
            for name in self.events_tables:
                if _is_view(name):
                    self.con.drop_view(name, force=True)
                else:
                    self.con.drop_table(name, force=True)
            self.events_tables = []
            self.con.drop_table(self.work_name, force=True)


def _trimmed(values: pd.Series) -> list[str | None]:
    """Values as the pandas path leaves them: trimmed (Unicode whitespace), blanks missing."""
    out: list[str | None] = []
    for v in values:
        if v is None or (isinstance(v, float) and v != v):
            out.append(None)
            continue
        s = str(v).strip(_WHITESPACE)
        out.append(s if s else None)
    return out


def _check_head(path: Path) -> str:
    """The first 64 KB of a plain UTF-8 delimited text file; Fallback for anything else."""
    with open(path, "rb") as fh:
        head = fh.read(65536)
    if head[:2] == b"\x1f\x8b":
        raise Fallback("gzip")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        raise Fallback("not UTF-8 text")
    if head[:4] in (b"PAR1", b"PK\x03\x04") or head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise Fallback("binary format")
    body = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    if not body.strip():
        raise Fallback("empty")
    try:
        sample = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(body) - 4:  # not just a character cut at the end of the sample
            raise Fallback("not UTF-8") from None
        sample = body[: exc.start].decode("utf-8")
    low = sample[:512].lstrip().lower()
    if low.startswith(("{", "[", "<")):
        raise Fallback("not a delimited table")
    return sample


def _naive_utc(text):
    """The engine's ISO 8601 reading: offsets converted to UTC, naive values taken as UTC."""
    zoned = text.try_cast(ibis.dtype("timestamp('UTC')")).cast("timestamp")
    # "YYYY-MM-DD HH:MM:SS" has no room for an offset, and reading it without the time
    # zone machinery takes less than half the time.
    plain = (text.length() == 19) & (text.like("____-__-__ __:__:__") | text.like("____-__-__T__:__:__"))
    return ibis.cases((plain, text.try_cast("timestamp")), else_=zoned)


# What each kind of file needs mapped for this path; other shapes take the pandas path.
_REQUIRED = {"touchpoints": ("customer_id", "timestamp", "touchpoint"), "survey": ("customer_id", "score"),
             "customers": ("customer_id",)}


def _own_mapping(mapping: Mapping[str, Any] | None, names: Sequence[str], kind: str) -> dict[str, Any]:
    """The overrides that can apply to this file: an override names columns of one file
    (io._resolve_mapping checks them against every file of the load)."""
    from journeylib.schema import INPUT_KINDS

    own = {}
    for key, value in (mapping or {}).items():
        prefix, _, rest = str(key).partition(".")
        if rest and prefix in INPUT_KINDS:
            if prefix == kind:
                own[key] = value
            continue
        columns = value if isinstance(value, (list, tuple)) else [value]
        if value is None or any(c in names for c in columns) or not columns:
            own[key] = value
    return own


def prepare(source: Any, mapping: Mapping[str, Any] | None, engine: Any, force: bool = False,
            kind: str = "touchpoints") -> FastFile:
    """Read a large plain CSV/TSV file of ``kind`` (touchpoints, a long survey or customers)
    into an engine table numbered in file order. Raises :class:`Fallback` when the pandas
    path must be used instead."""
    from journeylib import io as jio

    if not isinstance(source, (str, os.PathLike)):
        raise Fallback("not a path")
    path = Path(source)
    if not path.is_file():
        raise Fallback("not a file")
    size = path.stat().st_size
    if size < fast_load_bytes() and not force:
        raise Fallback("small file")
    if getattr(engine, "backend_name", None) != "duckdb":
        raise Fallback("not DuckDB")
    if any(ch in str(path) for ch in "*?[]{}"):
        raise Fallback("a file name the reader would take as a pattern")
    label = str(source)
    jio._check_size(label, size)
    if label.lower().endswith(".gz"):
        raise Fallback("gzip")
    sample = _check_head(path)
    delim = "\t" if label.lower().endswith((".tsv", ".tab")) else jio._sniff_delimiter(sample)
    header = next(csv.reader(_io.StringIO(sample), delimiter=delim), [])
    names = jio._clean_names(header)
    if not header or names != [str(h).strip() for h in header] or names != header:
        raise Fallback("blank, padded or repeated header cells")

    frames = {kind: (label, pd.DataFrame(columns=names))}
    resolved, errors = jio._resolve_mapping(frames, _own_mapping(mapping, names, kind))
    if errors:
        raise Fallback("mapping error")
    cols = resolved[kind]
    if any(not isinstance(v, str) for v in cols.values()):
        raise Fallback("a wide survey or a list mapping")
    if kind == "touchpoints" and "score" in cols:
        raise Fallback("combined file")
    if any(f not in cols for f in _REQUIRED[kind]):
        raise Fallback("required field missing")
    if jio._key(cols["customer_id"]) == jio._SEGMENT_USER and any(jio._key(n) == jio._SEGMENT_ANON for n in names):
        raise Fallback("Segment ids")
    if any(n.startswith("_jl_") for n in names):
        raise Fallback("reserved column name")
    if len(names) > _MAX_COLUMNS:
        raise Fallback("a wide file: checked column by column, pandas is as quick")

    con = engine.con
    view, work_name = _name("csv"), _name("work")
    try:
        with engine._lock:
            raw = con.read_csv(
                str(path), table_name=view, columns={f"c{i}": "VARCHAR" for i in range(len(names))},
                header=True, delim=delim, quote='"', escape='"', auto_detect=False, strict_mode=True,
                null_padding=False, encoding="utf-8", nullstr=list(_ARROW_NULLS), allow_quoted_nulls=True,
            )
            raw = raw.rename({n: f"c{i}" for i, n in enumerate(names)})
            # One parallel pass parses the file and reads the timestamp as ISO 8601 where the
            # engine can. DuckDB keeps insertion order, so the row id is the row's place in
            # the file (a row_number() window would run on one thread).
            h = None
            for n in names:  # a prefilter for exact duplicates (equal rows are compared exactly)
                h = raw[n].hash() if h is None else h ^ raw[n].hash()
            extra = {"_jl_h": h}
            if "timestamp" in cols:
                extra["_jl_ts"] = _naive_utc(raw[cols["timestamp"]])
            table = con.create_table(work_name, raw.mutate(**extra), temp=True)
            work = table.mutate(_jl_seq=table.rowid())
    except Exception as exc:  # any engine error: ragged rows, bad UTF-8, stray quotes
        with engine._lock:
            con.drop_table(work_name, force=True)
        raise Fallback(f"the engine cannot read it: {exc}") from None
    finally:
        with engine._lock:
            con.drop_view(view, force=True)
    fast = FastFile(label, names, dict(cols), engine, work_name, work, kind=kind)
    try:
        fast.rows = int(fast._run(work.count().name("n").as_table())["n"].iloc[0])
        if fast.rows == 0:
            raise Fallback("no data rows")
    except Exception:
        fast.drop()
        raise
    return fast


def _padded(c):
    """Whether a value starts or ends with whitespace: ASCII whitespace sorts below "!",
    other whitespace is non-ASCII (a coarse test; such columns get the exact trim)."""
    return (c.left(1) < "!") | (c.right(1) < "!") | (c.left(1) >= "\x80") | (c.right(1) >= "\x80")


def _padding_plan(fast: FastFile) -> dict[str, Any]:
    """Per column, how to get the values the pandas path would hold: None (as read), a
    dict of the few padded values to their trimmed text, or "regex" for an engine trim."""
    t = fast.work
    plan: dict[str, Any] = {}
    wide: list[str] = []
    # The time is parsed from text that may be padded (see _timestamp_fixes).
    approx, id_padded = fast.stats()
    many = {n for n, a in approx.items() if a > _MAX_DISTINCT // 2}
    for name in fast.names:
        if name == fast.cols.get("timestamp"):
            continue
        if name == fast.cols["customer_id"]:
            plan[name] = "regex" if id_padded else None
            continue
        got = fast.distinct(name) if name not in many else None
        if got is None:
            wide.append(name)
            continue
        clean = _trimmed(got["value"])
        changed = {v: c for v, c in zip(got["value"], clean) if isinstance(v, str) and v != c}
        plan[name] = changed or None
    if wide:
        flags = fast._run(t.aggregate(**{f"a{i}": _padded(t[name]).any() for i, name in enumerate(wide)})).iloc[0]
        for i, name in enumerate(wide):
            plan[name] = "regex" if bool(flags[f"a{i}"]) else None
    return plan


def _clean_column(t, name: str, how: Any):
    c = t[name]
    if how is None:
        return c
    if how == "regex":
        return c.re_replace(_PADDING_RE, "").nullif("")
    return c.substitute(how)


def _timestamp_fixes(fast: FastFile) -> pd.DataFrame:
    """Text the engine's ISO reading left unparsed, read by io's own parser one distinct
    value at a time (as the pandas path would): columns ``raw`` and ``ts``."""
    from journeylib import io as jio

    t = fast.work
    ts_raw = t[fast.cols["timestamp"]]
    head = fast._run(t.filter(ts_raw.notnull()).order_by("_jl_seq").select(v=ts_raw).limit(1000))["v"]
    head = pd.Series(_trimmed(head), dtype="str").dropna()
    if head.empty:
        raise Fallback("timestamp column empty")
    if head.str.match(jio._NUMERIC_RE).all():
        raise _Epoch()
    if not head.str.match(jio._ISO_RE).mean() > 0.5:
        raise Fallback("timestamps other than ISO 8601 or epoch numbers")
    left = fast._run(t.filter(ts_raw.notnull() & t._jl_ts.isnull()).group_by(v=ts_raw)
                     .aggregate(first=t._jl_seq.min()).order_by("first").limit(_MAX_LEFTOVER + 1))
    if len(left) > _MAX_LEFTOVER:
        raise Fallback("too many distinct non-ISO timestamps")
    empty = pd.DataFrame({"raw": pd.Series([], dtype="str"), "ts": pd.Series([], dtype="datetime64[us]")})
    if left.empty:
        return empty
    text = pd.Series(_trimmed(left["v"]), dtype="str")
    parsed = jio._iso(text.fillna(""))
    failed = parsed.isna() & text.notna() & text.str.contains(r"\d{2}", regex=True) & (text.str.len() >= 6)
    if int(failed.sum()) > jio._MIXED_LIMIT:
        raise Fallback("too many distinct odd timestamps")
    if failed.any():
        parsed = parsed.copy()
        parsed[failed] = jio._mixed(text[failed])
    found = pd.DataFrame({"raw": left["v"].astype("str"), "ts": parsed.astype("datetime64[us]")})
    return found[found["ts"].notna()].reset_index(drop=True)


class _Epoch(Exception):
    """The timestamp column holds epoch numbers."""


def _epoch(fast: FastFile):
    """Epoch seconds, milliseconds or microseconds told apart by magnitude, as io._epoch
    does; anything it reads differently (fractions, YYYYMMDD, nanoseconds) falls back."""
    t = fast.work
    c = t[fast.cols["timestamp"]]
    num = c.try_cast("float64")
    got = fast._run(t.aggregate(
        present=c.count(), numeric=c.re_search(r"^-?\d+(\.\d+)?$").sum(), ints=c.re_search(r"^-?\d{1,17}$").sum(),
        lo=num.min(), hi=num.max(), mid=num.abs().median(),
    )).iloc[0]
    present = int(got["present"])
    if int(got["numeric"] or 0) != present:
        raise Fallback("numbers and text mixed in the timestamp column")
    if int(got["ints"] or 0) != present:
        raise Fallback("fractional or huge epoch numbers")
    lo, hi, mid = float(got["lo"]), float(got["hi"]), float(got["mid"])
    if lo >= 19000101 and hi <= 21001231:
        raise Fallback("YYYYMMDD numbers")
    per_unit = 1_000_000 if mid < 1e11 else 1_000 if mid < 1e14 else 1 if mid < 1e17 else None
    if per_unit is None:
        raise Fallback("epoch nanoseconds")
    if min(lo, hi) * per_unit < -9.2e15 or max(lo, hi) * per_unit > 9.2e15:
        raise Fallback("epoch numbers out of range")  # pandas gives NaT there
    return lambda col: ibis.timestamp("1970-01-01 00:00:00") + (col.cast("int64") * per_unit).as_interval("us")


def _duplicates(fast: FastFile, plan: Mapping[str, Any]) -> np.ndarray:
    """Row numbers of exact duplicates of an earlier row (compared on the cleaned text):
    rows whose hash repeats come back and are compared exactly."""
    t = fast.work
    hashed = t
    if any(plan.get(n) is not None for n in fast.names):
        # Rows equal only after trimming must meet: hash the cleaned values instead.
        h = None
        for n in fast.names:
            part = _clean_column(t, n, plan.get(n)).hash()
            h = part if h is None else h ^ part
        hashed = t.mutate(_jl_h=h)
    # Repeated hashes are found by sorting the hash column in numpy: a group-by over every
    # row holds a hash table of the whole file in the engine and spills under the command
    # line's memory limit (10M rows: 5.3 s against 1.1 s). Very large files are searched in
    # slices of the hash range so that Python holds one slice at a time.
    parts = max(1, -(-fast.rows // _ROWS_PER_SLICE))
    repeated = []
    for i in range(parts):
        part = hashed if parts == 1 else hashed.filter((hashed._jl_h % parts).abs() == i)
        with fast.engine._lock:
            values = np.sort(part.select("_jl_h").to_pyarrow().column(0).to_numpy())
        repeated.append(np.unique(values[1:][values[1:] == values[:-1]]))
        del values
    twins = np.concatenate(repeated)
    if not len(twins):
        return np.array([], dtype=np.int64)
    lookup = fast.engine.table(pd.DataFrame({"_jl_h": twins}), name=_name("twins"))
    try:
        picked = hashed.semi_join(lookup, "_jl_h")
        cand = fast._run(picked.select("_jl_seq", **{f"c{j}": _clean_column(picked, n, plan.get(n))
                                                    for j, n in enumerate(fast.names)}))
    finally:
        with fast.engine._lock:
            fast.con.drop_table(lookup.get_name(), force=True)
    cand = cand.sort_values("_jl_seq")
    is_dup = cand.drop(columns="_jl_seq").duplicated(keep="first").to_numpy()
    return cand["_jl_seq"].to_numpy()[is_dup].astype(np.int64)


def _stage_labels(fast: FastFile, stages: Sequence[str]) -> tuple[dict[str, str | None], list[str]]:
    """Stage column label (as read) -> stage in the order (None if unknown), and the unknown labels."""
    from journeylib.schema import normalize_stage

    got = fast.distinct(fast.cols["stage"])
    if got is None:
        raise Fallback("too many distinct stage labels")
    to_stage: dict[str, str | None] = {}
    unknown: list[str] = []
    for raw_v, clean_v in zip(got["value"], _trimmed(got["value"])):
        if clean_v is None or not isinstance(raw_v, str):
            continue
        s = normalize_stage(clean_v, stages)
        to_stage[raw_v] = s if s in stages else None
        if s is not None and s not in stages:
            unknown.append(raw_v)
    return to_stage, unknown


_MAX_INLINE = 10_000  # a longer touchpoint map is left to the pandas path


def _with_fixes_and_marks(fast: FastFile, fixes: pd.DataFrame, marks: pd.DataFrame | None = None):
    """The work table joined to the timestamp fixes and to ``marks`` (file rows ``_jl_dseq``
    with a reason code ``_jl_mark``: 1 for an exact duplicate); every join first, so that
    all expressions after it are built on one relation. Returns it and the reason code
    expression (0 for unmarked rows)."""
    base = fast.work
    if len(fixes) > 64:
        lookup = fast.engine.table(fixes.rename(columns={"raw": "_jl_raw", "ts": "_jl_fix"}), name=_name("tsmap"))
        fast.events_tables.append(lookup.get_name())
        base = base.left_join(lookup, base[fast.cols["timestamp"]] == lookup._jl_raw).drop("_jl_raw")
    if marks is not None and len(marks):
        mtab = fast.engine.table(marks, name=_name("dups"))
        fast.events_tables.append(mtab.get_name())
        base = base.left_join(mtab, base._jl_seq == mtab._jl_dseq)
        return base, base._jl_mark.fill_null(0)
    return base, ibis.literal(0)


def _no_fixes() -> pd.DataFrame:
    """Timestamp fixes (see _timestamp_fixes) for a file that needs none."""
    return pd.DataFrame({"raw": [], "ts": []})


def _dup_marks(dup_seqs: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"_jl_dseq": dup_seqs.astype(np.int64), "_jl_mark": np.ones(len(dup_seqs), dtype=np.int8)})


def _parsed_time(fast: FastFile, base, clean: Mapping[str, Any], fixes: pd.DataFrame, epoch=None):
    """The timestamp column read as io.parse_timestamps reads it (see _timestamp_fixes)."""
    ts_raw = base[fast.cols["timestamp"]]
    if epoch is not None:
        return epoch(clean[fast.cols["timestamp"]])
    if len(fixes) > 64:
        return base._jl_ts.fill_null(base._jl_fix)
    if len(fixes):
        return base._jl_ts.fill_null(ts_raw.cases(*zip(fixes["raw"], fixes["ts"].dt.to_pydatetime()),
                                                  else_=ibis.null("timestamp")))
    return base._jl_ts


class _Findings:
    """Counts of flagged rows in one engine pass, and their first rows and values on
    demand, worded as the pandas path words them."""

    def __init__(self, fast: FastFile, flagged, conds: Mapping[str, Any], **more):
        self.fast, self.flagged, self.conds = fast, flagged, dict(conds)
        got = fast._run(flagged.aggregate(**more, **{k: c.sum() for k, c in self.conds.items()})).iloc[0]
        self.more = {k: got[k] for k in more}
        self.counts = {k: int(got[k]) if pd.notna(got[k]) else 0 for k in self.conds}

    def first(self, key: str, col: str | None, n_values: int) -> tuple[list[int], list[str]]:
        """1-based rows (up to MAX_EXAMPLES) and the first distinct values of ``col``."""
        from journeylib import io as jio

        t, cond = self.flagged, self.conds[key]
        rows = self.fast._run(t.filter(cond).order_by("_jl_seq").select("_jl_seq").limit(jio.MAX_EXAMPLES))
        values: list[str] = []
        if col is not None:
            vals = self.fast._run(t.filter(cond).group_by(v=t[col]).aggregate(f=t._jl_seq.min())
                                  .order_by("f").limit(n_values))
            values = [v for v in _trimmed(vals["v"]) if v is not None]
        return [int(s) + 1 for s in rows["_jl_seq"]], values

    def drop(self, sink: Any, key: str, column: str | None, what: str, example_col: str | None = None) -> None:
        """The pandas path's "N rows dropped: what (e.g. ...); rows ..." warning."""
        from journeylib import io as jio

        n = self.counts[key]
        if n:
            rows, ex = self.first(key, example_col, 3)
            tail = f" (e.g. {jio._examples(ex)})" if ex else ""
            sink.warn(self.fast.label, column, f"{n} rows dropped: {what}{tail}; {jio._rows_text(rows, n)}", n, rows)

    def unknown_stages(self, sink: Any, key: str, stage_col: str, stages: Sequence[str]) -> None:
        from journeylib import io as jio

        n = self.counts[key]
        if n:
            rows, ex = self.first(key, stage_col, 5)
            sink.warn(self.fast.label, stage_col, f"{n} rows have a stage not in the stage order "
                      f"({', '.join(stages)}): {jio._examples(ex, 5)}; their stage is left empty; "
                      f"{jio._rows_text(rows, n)}", n, rows)


def _stage_of(fast: FastFile, base, stages: Sequence[str], tp, tp_map: Mapping[str, str]):
    """The stage column normalised (unknown labels empty), filled from the touchpoint map;
    and the expression flagging rows whose label is not in the stage order."""
    stage_col = fast.cols.get("stage")
    stage_expr = ibis.null("string")
    unknown = ibis.literal(False)
    if stage_col:
        to_stage, bad = _stage_labels(fast, stages)
        if to_stage:
            stage_expr = base[stage_col].substitute(to_stage, else_=ibis.null("string"))
        if bad:
            unknown = base[stage_col].isin(bad).fill_null(False)
    if tp_map and tp is not None:
        if len(tp_map) > _MAX_INLINE:
            raise Fallback("touchpoint map too large")
        stage_expr = stage_expr.fill_null(tp.substitute(dict(tp_map), else_=ibis.null("string")))
    return stage_expr, unknown


def _register(fast: FastFile, kept) -> Any:
    """A view of the finished rows; the work table is kept behind it until release()."""
    name = _name({"touchpoints": "events"}.get(fast.kind, fast.kind))
    with fast.engine._lock:
        view = fast.con.create_view(name, kept)
    fast.events_tables = [name, *fast.events_tables, fast.work_name]
    fast.drop()
    with _loaded_lock:
        _loaded[name] = (fast.engine, list(fast.events_tables))
    return view


def build_events(fast: FastFile, stages: Sequence[str], tp_map: Mapping[str, str], sink: Any):
    """Finish the events in the engine, recording the same warnings (counts, example rows)
    as io._events_frame; returns the Ibis events table (a view of the kept rows)."""
    from journeylib import io as jio

    cols = fast.cols
    ts_name, stage_col = cols["timestamp"], cols.get("stage")
    plan = _padding_plan(fast)
    epoch = None
    try:
        fixes = _timestamp_fixes(fast)
    except _Epoch:
        epoch = _epoch(fast)
        fixes = _no_fixes()
    base, mark = _with_fixes_and_marks(fast, fixes, _dup_marks(_duplicates(fast, plan)))
    dup = mark == 1
    clean = {n: _clean_column(base, n, plan.get(n)) for n in fast.names}
    parsed = _parsed_time(fast, base, clean, fixes, epoch)
    ts_raw = base[ts_name]
    cid, tp = clean[cols["customer_id"]], clean[cols["touchpoint"]]
    stage_expr, unknown = _stage_of(fast, base, stages, tp, tp_map)

    reason = ibis.cases((dup, 1), (cid.isnull(), 2), (ts_raw.isnull(), 3), (parsed.isnull(), 4),
                        (tp.isnull(), 5), else_=0)
    latest = pd.Timestamp.now(tz="UTC").tz_localize(None).normalize() + pd.Timedelta(days=2)
    flagged = base.mutate(_jl_drop=reason, _jl_unknown=unknown, _jl_parsed=parsed)
    ok = flagged._jl_drop == 0
    found = _Findings(fast, flagged, {
        "dup": flagged._jl_drop == 1, "nocid": flagged._jl_drop == 2, "blank_ts": flagged._jl_drop == 3,
        "bad_ts": flagged._jl_drop == 4, "notp": flagged._jl_drop == 5,
        "future": ok & (flagged._jl_parsed > latest.to_pydatetime()),
        "past": ok & (flagged._jl_parsed < pd.Timestamp("1900-01-01").to_pydatetime()),
        "unknown": ok & flagged._jl_unknown,
    }, _jl_parsed=flagged._jl_parsed.count())
    stats = found.counts
    if not int(found.more["_jl_parsed"]):
        raise Fallback("no parseable timestamp")  # the pandas path words that error

    found.drop(sink, "dup", None, "exact duplicates of an earlier row")
    found.drop(sink, "nocid", cols["customer_id"], "no customer id")
    found.drop(sink, "blank_ts", ts_name, "no timestamp")
    found.drop(sink, "bad_ts", ts_name, "unparseable timestamp", ts_name)
    found.drop(sink, "notp", cols["touchpoint"], "no touchpoint")
    for key, what in (("future", f"in the future (after {latest:%Y-%m-%d})"), ("past", "before 1900")):
        n = stats[key]
        if n:
            rows, ex = found.first(key, ts_name, 3)
            sink.warn(fast.label, ts_name, f"{n} timestamps are {what}; kept, check the dates "
                      f"(e.g. {jio._examples(ex)}); {jio._rows_text(rows, n)}", n, rows)
    found.unknown_stages(sink, "unknown", stage_col, stages)

    canonical = ("customer_id", "timestamp", "seq", "touchpoint", "stage", "channel")
    used = set(cols.values())
    out = {
        "customer_id": cid,
        "timestamp": parsed,
        "seq": base._jl_seq,
        "touchpoint": tp,
        "stage": stage_expr,
        "channel": clean[cols["channel"]] if "channel" in cols else ibis.null("string"),
    }
    out.update(_typed_extras(fast, base, {n: clean[n] for n in fast.names if n not in used and n not in canonical}))
    dropped = any(stats[k] for k in ("dup", "nocid", "blank_ts", "bad_ts", "notp"))
    kept = base.filter(reason == 0) if dropped else base
    return _register(fast, kept.select(**out))


# Whole numbers, also written as "4.0" (a float column saved as text): the value is the
# integer exactly, however it is parsed.
_WHOLE_NUMBER = r"^-?\d{1,15}(\.0+)?$"


def _whole_number(c):
    """Text that passed _WHOLE_NUMBER as float64, as pandas reads it ("-0" is 0, "-0.0" is -0.0)."""
    return ibis.ifelse(c.contains("."), c.cast("float64"), c.cast("int64").cast("float64"))


def _shape_checks(fast: FastFile, table, clean: Mapping[str, Any], numbers: Sequence[str],
                  texts: Sequence[str]) -> None:
    """Fallback unless the pandas reading is certain to be mirrored: every number field
    holds whole numbers only ("4" or "4.0"), and no text field holds
    only "123.0"-like values (which io._as_text would shorten). ``clean`` holds the
    cleaned columns of ``table``."""
    cols = fast.cols
    aggs = {}
    for f in numbers:
        if f in cols:
            c = clean[cols[f]]
            aggs[f"n_{f}"], aggs[f"w_{f}"] = c.count(), c.re_search(_WHOLE_NUMBER).sum()
    for f in texts:
        if f in cols:
            c = clean[cols[f]]
            aggs[f"n_{f}"], aggs[f"z_{f}"] = c.count(), c.endswith(".0").sum()
    if not aggs:
        return
    got = fast._run(table.aggregate(**aggs)).iloc[0]
    for f in numbers:
        if f in cols and int(got[f"w_{f}"] or 0) != int(got[f"n_{f}"]):
            raise Fallback(f"{f} values other than whole numbers")
    for f in texts:
        if f in cols and int(got[f"n_{f}"]) and int(got[f"z_{f}"] or 0) == int(got[f"n_{f}"]):
            raise Fallback(f"{f} values that all end in .0")


def build_survey(fast: FastFile, stages: Sequence[str], tp_map: Mapping[str, str], not_rated: Sequence[float],
                 sink: Any):
    """Finish a long survey file in the engine, with the warnings of io._survey_frame.
    Returns the survey view and an expression of its kept rows' ``customer_id``, ``score``
    and 1-based file row ``_row``, for the checks that need every file of a load."""
    from journeylib import io as jio

    cols = fast.cols
    plan = _padding_plan(fast)
    ts_col = cols.get("timestamp")
    fixes = _no_fixes()
    if ts_col:
        try:
            fixes = _timestamp_fixes(fast)
        except _Epoch:
            raise Fallback("epoch numbers as survey times") from None
    base, mark = _with_fixes_and_marks(fast, fixes, _dup_marks(_duplicates(fast, plan)))
    clean = {n: _clean_column(base, n, plan.get(n)) for n in fast.names}
    _shape_checks(fast, base, clean, ("score", "nps"), ("customer_id", "comment", "stage", "touchpoint"))
    cid = clean[cols["customer_id"]]
    score = _whole_number(clean[cols["score"]])
    tp = clean[cols["touchpoint"]] if "touchpoint" in cols else None
    stage_expr, unknown = _stage_of(fast, base, stages, tp, tp_map)

    dup = mark == 1
    named = ~dup & cid.notnull()  # rows the pandas path still holds after the first two drops
    scored = named & score.notnull()
    conds = {"dup": dup, "nocid": ~dup & cid.isnull(), "noscore": named & score.isnull(), "unknown": unknown}
    parsed = ibis.null("timestamp")
    if ts_col:
        parsed = _parsed_time(fast, base, clean, fixes)
        conds["bad_ts"] = named & base[ts_col].notnull() & parsed.isnull()
    nps = ibis.null("float64")
    if "nps" in cols:
        nps = _whole_number(clean[cols["nps"]])
        outside = nps.notnull() & ~nps.between(0, 10)
        conds["nps_out"] = named & outside
        nps = ibis.cases((outside, ibis.null("float64")), else_=nps)
    codes = [float(v) for v in not_rated]
    kept = scored & ~score.isin(codes) if codes else scored
    if codes:
        conds["not_rated"] = scored & score.isin(codes)
    flagged = base.mutate(**{f"_jl_{k}": c for k, c in conds.items()}, _jl_kept=kept)
    found = _Findings(fast, flagged, {k: flagged[f"_jl_{k}"] for k in conds}, kept=flagged._jl_kept.sum())
    if not int(found.more["kept"] or 0):
        raise Fallback("no usable scores")  # the pandas path words that error

    label = fast.label
    found.drop(sink, "dup", None, "exact duplicates of an earlier row")
    found.drop(sink, "nocid", cols["customer_id"], "no customer id")
    if ts_col and found.counts["bad_ts"]:
        n = found.counts["bad_ts"]
        rows, ex = found.first("bad_ts", ts_col, 3)
        sink.warn(label, ts_col, f"{n} unparseable timestamps left empty (e.g. {jio._examples(ex)}); "
                  f"{jio._rows_text(rows, n)}", n, rows)
    if "nps" in cols and found.counts["nps_out"]:
        n = found.counts["nps_out"]
        rows, _ = found.first("nps_out", None, 0)
        sink.warn(label, cols["nps"], f"{n} NPS values outside 0-10 left empty; {jio._rows_text(rows, n)}", n, rows)
    found.drop(sink, "noscore", cols["score"], "no score")
    if codes and found.counts["not_rated"]:
        n = found.counts["not_rated"]
        rows, _ = found.first("not_rated", None, 0)
        sink.warn(label, cols["score"], f"{n} scores coded as not rated ({', '.join(f'{v:g}' for v in codes)}) "
                  f"treated as missing; {jio._rows_text(rows, n)}", n, rows)
    if "stage" in cols:
        found.unknown_stages(sink, "unknown", cols["stage"], stages)
    if "stage" not in cols and "touchpoint" not in cols:
        sink.warn(label, None, "no stage or touchpoint column: scores cannot be placed on the journey")

    out = {
        "customer_id": cid,
        "stage": stage_expr,
        "touchpoint": tp if tp is not None else ibis.null("string"),
        "score": score,
        "comment": clean[cols["comment"]] if "comment" in cols else ibis.null("string"),
        "timestamp": parsed,
        "nps": nps,
    }
    used = set(cols.values())
    out.update(_typed_extras(fast, base, {n: clean[n] for n in fast.names
                                          if n not in used and n not in jio.SURVEY_FIELDS_ALL}))
    rows = base.filter(kept)
    checks = rows.select(customer_id=cid, score=score, _row=base._jl_seq + 1)
    return _register(fast, rows.select(**out)), checks


def build_customers(fast: FastFile, sink: Any):
    """Finish a customers file in the engine, with the warnings of io._customers_frame:
    exact duplicates, missing ids and repeated ids (the first row kept) are dropped."""
    cols = fast.cols
    plan = _padding_plan(fast)
    cid_col = cols["customer_id"]
    clean0 = {cid_col: _clean_column(fast.work, cid_col, plan.get(cid_col))}
    _shape_checks(fast, fast.work, clean0, (), ("customer_id",))
    dups = _duplicates(fast, plan)
    # Rows whose id an earlier row has (an exact duplicate is always such a row too).
    t = fast.work.select("_jl_seq", _jl_c=clean0[cid_col])
    t = t.filter(t._jl_c.notnull())
    firsts = t.group_by("_jl_c").aggregate(_jl_f=t._jl_seq.min(), _jl_n=t.count())
    firsts = firsts.filter(firsts._jl_n > 1)
    rows = t.inner_join(firsts, "_jl_c")
    later = fast._run(rows.filter(rows._jl_seq != rows._jl_f).select("_jl_seq"))["_jl_seq"].to_numpy()
    later = np.setdiff1d(later.astype(np.int64), dups)
    marks = pd.concat([_dup_marks(dups), pd.DataFrame({"_jl_dseq": later, "_jl_mark": np.full(len(later), 3, np.int8)})],
                      ignore_index=True)
    base, mark = _with_fixes_and_marks(fast, _no_fixes(), marks)
    clean = {n: _clean_column(base, n, plan.get(n)) for n in fast.names}
    cid = clean[cid_col]
    reason = ibis.cases((mark == 1, 1), (cid.isnull(), 2), (mark == 3, 3), else_=0)
    flagged = base.mutate(_jl_drop=reason)
    found = _Findings(fast, flagged, {"dup": flagged._jl_drop == 1, "nocid": flagged._jl_drop == 2,
                                      "repeated": flagged._jl_drop == 3})
    found.drop(sink, "dup", None, "exact duplicates of an earlier row")
    found.drop(sink, "nocid", cid_col, "no customer id")
    found.drop(sink, "repeated", cid_col, "customer id repeated (first row kept)")
    out = {"customer_id": cid}
    out.update(_typed_extras(fast, base, {n: clean[n] for n in fast.names if n not in (cid_col, "customer_id")}))
    return _register(fast, base.filter(reason == 0).select(**out))


# Views made here (events, survey, customers) -> (engine, the view and tables behind it),
# for release().
_loaded: dict[str, tuple[Any, list[str]]] = {}
_loaded_lock = threading.Lock()


def release(view_name: str) -> bool:
    """Drop a view made by a ``build_*`` function and the tables behind it; False if
    the name is not one of them. For data that has been saved elsewhere (the app saves an
    upload as Parquet and reopens that), so the engine does not keep a second copy."""
    with _loaded_lock:
        got = _loaded.pop(view_name, None)
    if got is None:
        return False
    engine, names = got
    with engine._lock:
        for name in names:
            if _is_view(name):
                engine.con.drop_view(name, force=True)
            else:
                engine.con.drop_table(name, force=True)
    return True


def _digit(c):
    return (c >= "0") & (c <= "9")


def _typed_extras(fast: FastFile, t, columns: Mapping[str, Any]) -> dict[str, Any]:
    """Extra columns typed as io._convert_extra would type them (numbers when all are).

    The engine casts "48.04" to the integer 48 where pyarrow refuses it, so whole numbers
    are told by their digits; pyarrow reads "0x1f" as an integer, the engine does not. A
    first pass looks at every column cheaply; only columns that are all numbers get the
    exact (regular expression) tests of a second.
    """
    if not columns:
        return {}
    aggs = {}
    for i, c in enumerate(columns.values()):
        sign = ibis.ifelse(c.startswith("-"), 1, 0)
        aggs.update({
            f"n{i}": c.count(), f"float{i}": c.try_cast("float64").count(),
            # "^-?0\d" and "^-?0[xX]" without a regular expression
            f"lead0{i}": ((c.substr(sign, 1) == "0") & _digit(c.substr(sign + 1, 1))).sum(),
            f"hex{i}": ((c.substr(sign, 1) == "0") & c.substr(sign + 1, 1).isin(["x", "X"])).sum(),
        })
    got = fast._run(t.aggregate(**aggs)).iloc[0]

    def num(key: str, i: int) -> int:
        return int(got[f"{key}{i}"] or 0)

    out, numeric = {}, {}
    for i, (name, c) in enumerate(columns.items()):
        n = num("n", i)
        if n == 0 or num("lead0", i):
            out[name] = c
        elif num("hex", i):
            raise Fallback("hexadecimal numbers in an extra column")
        elif num("float", i) == n:
            numeric[name] = c
        else:  # something is no number (and then, for the engine, no integer either)
            out[name] = c
    if numeric:
        aggs = {}
        for i, c in enumerate(numeric.values()):
            aggs[f"int{i}"] = (c.re_search(r"^-?\d+$") & c.try_cast("int64").notnull()).sum()
            aggs[f"strict{i}"] = c.re_search(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$").sum()
            aggs[f"n{i}"] = c.count()
        got = fast._run(t.aggregate(**aggs)).iloc[0]
        for i, (name, c) in enumerate(numeric.items()):
            n = num("n", i)
            if num("int", i) == n and num("strict", i) == n:
                out[name] = c.cast("int64")
            elif num("strict", i) == n:
                out[name] = c.cast("float64")
            else:  # "inf", "nan", "+1": pyarrow's reading of these is not mirrored here
                raise Fallback("ambiguous numbers in an extra column")
    return {name: out[name] for name in columns}
