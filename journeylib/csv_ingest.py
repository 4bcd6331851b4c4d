"""Large plain CSV touchpoint files read and cleaned inside the engine, as Ibis expressions.

``io.load_journey`` normally reads a file into pandas, cleans it there and copies the
result into the engine; for millions of rows that costs several times the file in memory
and runs on one core. Here the embedded DuckDB reads the file itself (every column as
text, like the pandas path), numbers the rows in file order, and every check and cleaning
step is an Ibis expression over that table: exact duplicates, missing ids, timestamp
parsing, padding, stage normalisation and the fill from the touchpoint map. The events
never come back to Python, and the warnings carry the same counts and example rows as the
pandas path.

Only what is certain to agree with the pandas path is done here. :func:`prepare` and
:func:`build_events` raise :class:`Fallback` (and the caller uses the pandas path) for
anything else: small files, non-UTF-8 text, gzip, Excel, odd headers, ragged rows,
combined event + survey files, timestamps that are not ISO 8601, and so on.

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

__all__ = ["FAST_LOAD_ENV", "DEFAULT_FAST_LOAD_MB", "Fallback", "FastEvents", "fast_load_bytes", "prepare",
           "build_events"]

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


@dataclass
class FastEvents:
    """A touchpoints file read into one engine table (text columns as in the file, the row
    number ``_jl_seq`` and the engine's timestamp parse ``_jl_ts``); see :func:`prepare`."""

    label: str
    names: list[str]
    cols: dict[str, str]
    engine: Any
    work_name: str  # the engine table the file was read into
    work: Any  # ibis.Table: that table with the file row number ``_jl_seq``
    rows: int = 0
    events_tables: list[str] = field(default_factory=list)  # what the events view rests on
    _distinct: dict[str, pd.DataFrame] = field(default_factory=dict)

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

    def distinct(self, column: str) -> pd.DataFrame | None:
        """Distinct values of a column with their first row, in file order; None if too many."""
        if column not in self._distinct:
            t = self.work
            got = self._run(t.group_by(value=t[column]).aggregate(first=t._jl_seq.min(), n=t.count())
                            .order_by("first").limit(_MAX_DISTINCT + 1))
            self._distinct[column] = got
        got = self._distinct[column]
        return None if len(got) > _MAX_DISTINCT else got

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
                if name.startswith("_jl_events_"):
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


def prepare(source: Any, mapping: Mapping[str, Any] | None, engine: Any, force: bool = False) -> FastEvents:
    """Read a large plain CSV/TSV touchpoints file into an engine table numbered in file
    order. Raises :class:`Fallback` when the pandas path must be used instead."""
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

    frames = {"touchpoints": (label, pd.DataFrame(columns=names))}
    resolved, errors = jio._resolve_mapping(frames, mapping)
    if errors:
        raise Fallback("mapping error")
    cols = resolved["touchpoints"]
    if "score" in cols or any(not isinstance(v, str) for v in cols.values()):
        raise Fallback("combined file or list mapping")
    if any(f not in cols for f in ("customer_id", "timestamp", "touchpoint")):
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
            ts = raw[cols["timestamp"]]
            # One parallel pass parses the file and reads the timestamp as ISO 8601 where the
            # engine can. DuckDB keeps insertion order, so the row id is the row's place in
            # the file (a row_number() window would run on one thread).
            h = None
            for n in names:  # a prefilter for exact duplicates (equal rows are compared exactly)
                h = raw[n].hash() if h is None else h ^ raw[n].hash()
            table = con.create_table(work_name, raw.mutate(_jl_ts=_naive_utc(ts), _jl_h=h), temp=True)
            work = table.mutate(_jl_seq=table.rowid())
    except Exception as exc:  # any engine error: ragged rows, bad UTF-8, stray quotes
        with engine._lock:
            con.drop_table(work_name, force=True)
        raise Fallback(f"the engine cannot read it: {exc}") from None
    finally:
        with engine._lock:
            con.drop_view(view, force=True)
    fast = FastEvents(label, names, dict(cols), engine, work_name, work)
    try:
        fast.rows = int(fast._run(work.count().name("n").as_table())["n"].iloc[0])
        if fast.rows == 0:
            raise Fallback("no data rows")
    except Exception:
        fast.drop()
        raise
    return fast


def _padding_plan(fast: FastEvents) -> dict[str, Any]:
    """Per column, how to get the values the pandas path would hold: None (as read), a
    dict of the few padded values to their trimmed text, or "regex" for an engine trim."""
    t = fast.work
    plan: dict[str, Any] = {}
    wide: list[str] = []
    # Parsed from text that may be padded (see _timestamp_fixes); ids are many.
    listed = [n for n in fast.names if n not in (fast.cols["timestamp"], fast.cols["customer_id"])]
    if listed:
        # An estimate first, so that a column of ids is never grouped value by value.
        approx = fast._run(t.aggregate(**{f"a{i}": t[n].approx_nunique() for i, n in enumerate(listed)})).iloc[0]
        many = {n for i, n in enumerate(listed) if int(approx[f"a{i}"]) > _MAX_DISTINCT // 2}
    for name in fast.names:
        if name == fast.cols["timestamp"]:
            continue
        got = fast.distinct(name) if name in listed and name not in many else None
        if got is None:
            wide.append(name)
            continue
        clean = _trimmed(got["value"])
        changed = {v: c for v, c in zip(got["value"], clean) if isinstance(v, str) and v != c}
        plan[name] = changed or None
    if wide:
        # A value is padded when its first or last character is whitespace: ASCII ones
        # sort below "!", others are non-ASCII; only such columns get the exact trim.
        aggs = {}
        for i, name in enumerate(wide):
            c = t[name]
            aggs[f"a{i}"] = ((c.left(1) < "!") | (c.right(1) < "!") | (c.left(1) >= "\x80")
                             | (c.right(1) >= "\x80")).any()
        flags = fast._run(t.aggregate(**aggs)).iloc[0]
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


def _timestamp_fixes(fast: FastEvents) -> pd.DataFrame:
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


def _epoch(fast: FastEvents):
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


def _duplicates(fast: FastEvents, plan: Mapping[str, Any]) -> np.ndarray:
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


def _stage_labels(fast: FastEvents, stages: Sequence[str]) -> tuple[dict[str, str | None], list[str]]:
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


def build_events(fast: FastEvents, stages: Sequence[str], tp_map: Mapping[str, str], sink: Any):
    """Finish the events in the engine, recording the same warnings (counts, example rows)
    as io._events_frame; returns the Ibis events table (a view of the kept rows)."""
    from journeylib import io as jio

    con, cols, label = fast.con, fast.cols, fast.label
    ts_name, stage_col = cols["timestamp"], cols.get("stage")
    plan = _padding_plan(fast)
    epoch = None
    try:
        fixes = _timestamp_fixes(fast)
    except _Epoch:
        epoch = _epoch(fast)
        fixes = pd.DataFrame({"raw": [], "ts": []})
    dup_seqs = _duplicates(fast, plan)

    # Every join first, so that all expressions below are built on one relation.
    base = fast.work
    if len(fixes) > 64:
        lookup = fast.engine.table(fixes.rename(columns={"raw": "_jl_raw", "ts": "_jl_fix"}), name=_name("tsmap"))
        fast.events_tables.append(lookup.get_name())
        base = base.left_join(lookup, base[ts_name] == lookup._jl_raw).drop("_jl_raw")
    if len(dup_seqs):
        dtab = fast.engine.table(pd.DataFrame({"_jl_dseq": dup_seqs}), name=_name("dups"))
        fast.events_tables.append(dtab.get_name())
        base = base.left_join(dtab, base._jl_seq == dtab._jl_dseq)

    clean = {n: _clean_column(base, n, plan.get(n)) for n in fast.names}
    ts_raw = base[ts_name]
    if epoch is not None:
        parsed = epoch(clean[ts_name])
    elif len(fixes) > 64:
        parsed = base._jl_ts.fill_null(base._jl_fix)
    elif len(fixes):
        parsed = base._jl_ts.fill_null(ts_raw.cases(*zip(fixes["raw"], fixes["ts"].dt.to_pydatetime()),
                                                    else_=ibis.null("timestamp")))
    else:
        parsed = base._jl_ts
    if len(dup_seqs):
        dup = base._jl_dseq.notnull()
    else:
        dup = ibis.literal(False)
    cid, tp = clean[cols["customer_id"]], clean[cols["touchpoint"]]

    stage_expr = ibis.null("string")
    unknown = ibis.literal(False)
    if stage_col:
        to_stage, bad = _stage_labels(fast, stages)
        if to_stage:
            stage_expr = base[stage_col].substitute(to_stage, else_=ibis.null("string"))
        if bad:
            unknown = base[stage_col].isin(bad).fill_null(False)
    if tp_map:
        if len(tp_map) > _MAX_INLINE:
            raise Fallback("touchpoint map too large")
        stage_expr = stage_expr.fill_null(tp.substitute(dict(tp_map), else_=ibis.null("string")))

    reason = ibis.cases((dup, 1), (cid.isnull(), 2), (ts_raw.isnull(), 3), (parsed.isnull(), 4),
                        (tp.isnull(), 5), else_=0)
    latest = pd.Timestamp.now(tz="UTC").tz_localize(None).normalize() + pd.Timedelta(days=2)
    flagged = base.mutate(_jl_drop=reason, _jl_unknown=unknown, _jl_parsed=parsed)
    ok = flagged._jl_drop == 0
    conds = {
        "dup": flagged._jl_drop == 1, "nocid": flagged._jl_drop == 2, "blank_ts": flagged._jl_drop == 3,
        "bad_ts": flagged._jl_drop == 4, "notp": flagged._jl_drop == 5,
        "future": ok & (flagged._jl_parsed > latest.to_pydatetime()),
        "past": ok & (flagged._jl_parsed < pd.Timestamp("1900-01-01").to_pydatetime()),
        "unknown": ok & flagged._jl_unknown,
    }
    counts = fast._run(flagged.aggregate(_jl_parsed=flagged._jl_parsed.count(),
                                         **{k: c.sum() for k, c in conds.items()})).iloc[0]
    stats = {k: int(counts[k]) if pd.notna(counts[k]) else 0 for k in conds}
    if not int(counts["_jl_parsed"]):
        raise Fallback("no parseable timestamp")  # the pandas path words that error

    def first(key: str, col: str | None, n_values: int) -> tuple[list[int], list[str]]:
        rows = fast._run(flagged.filter(conds[key]).order_by("_jl_seq").select("_jl_seq").limit(jio.MAX_EXAMPLES))
        values: list[str] = []
        if col is not None:
            vals = fast._run(flagged.filter(conds[key]).group_by(v=flagged[col])
                             .aggregate(f=flagged._jl_seq.min()).order_by("f").limit(n_values))
            values = [v for v in _trimmed(vals["v"]) if v is not None]
        return [int(s) + 1 for s in rows["_jl_seq"]], values

    def drop(key: str, column: str | None, what: str, example_col: str | None = None) -> None:
        n = stats[key]
        if n:
            rows, ex = first(key, example_col, 3)
            tail = f" (e.g. {jio._examples(ex)})" if ex else ""
            sink.warn(label, column, f"{n} rows dropped: {what}{tail}; {jio._rows_text(rows, n)}", n, rows)

    drop("dup", None, "exact duplicates of an earlier row")
    drop("nocid", cols["customer_id"], "no customer id")
    drop("blank_ts", ts_name, "no timestamp")
    drop("bad_ts", ts_name, "unparseable timestamp", ts_name)
    drop("notp", cols["touchpoint"], "no touchpoint")
    for key, what in (("future", f"in the future (after {latest:%Y-%m-%d})"), ("past", "before 1900")):
        n = stats[key]
        if n:
            rows, ex = first(key, ts_name, 3)
            sink.warn(label, ts_name, f"{n} timestamps are {what}; kept, check the dates "
                      f"(e.g. {jio._examples(ex)}); {jio._rows_text(rows, n)}", n, rows)
    if stats["unknown"]:
        n = stats["unknown"]
        rows, ex = first("unknown", stage_col, 5)
        sink.warn(label, stage_col, f"{n} rows have a stage not in the stage order ({', '.join(stages)}): "
                  f"{jio._examples(ex, 5)}; their stage is left empty; {jio._rows_text(rows, n)}", n, rows)

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
    for n in fast.names:
        if n not in used and n not in canonical:
            out[n] = _extra(fast, base, clean[n])
    dropped = any(stats[k] for k in ("dup", "nocid", "blank_ts", "bad_ts", "notp"))
    kept = base.filter(reason == 0) if dropped else base
    name = _name("events")
    with fast.engine._lock:
        view = con.create_view(name, kept.select(**out))
    fast.events_tables = [name, *fast.events_tables, fast.work_name]
    fast.drop()
    with _loaded_lock:
        _loaded[name] = (fast.engine, list(fast.events_tables))
    return view


# Events views made here -> (engine, the view and tables behind it), for release().
_loaded: dict[str, tuple[Any, list[str]]] = {}
_loaded_lock = threading.Lock()


def release(view_name: str) -> bool:
    """Drop an events view made by :func:`build_events` and the tables behind it; False if
    the name is not one of them. For data that has been saved elsewhere (the app saves an
    upload as Parquet and reopens that), so the engine does not keep a second copy."""
    with _loaded_lock:
        got = _loaded.pop(view_name, None)
    if got is None:
        return False
    engine, names = got
    with engine._lock:
        for name in names:
            if name.startswith("_jl_events_"):
                engine.con.drop_view(name, force=True)
            else:
                engine.con.drop_table(name, force=True)
    return True


def _extra(fast: FastEvents, t, c):
    """An extra column typed as io._convert_extra would type it (numbers when all are)."""
    got = fast._run(t.aggregate(
        n=c.count(), lead0=c.re_search(r"^-?0\d").sum(), n_int=c.try_cast("int64").count(),
        strict=c.re_search(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$").sum(), n_float=c.try_cast("float64").count(),
    )).iloc[0]
    n = int(got["n"])
    if n == 0 or int(got["lead0"] or 0):
        return c
    if int(got["n_int"]) == n and int(got["strict"] or 0) == n:
        return c.cast("int64")
    if int(got["strict"] or 0) == n and int(got["n_float"]) == n:
        return c.cast("float64")
    if int(got["n_float"]) == n:  # "inf", "nan", "+1": pyarrow's reading of these is not mirrored here
        raise Fallback("ambiguous numbers in an extra column")
    return c
