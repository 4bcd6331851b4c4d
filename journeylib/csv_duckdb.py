"""A DuckDB-native loader for large event CSV files.

``io.load_journey`` reads a file into pandas, cleans it there and copies the result into
the engine; for a file of millions of rows that costs several times the file in memory.
Here DuckDB reads the file itself (every column as text, like the pandas path) and every
cleaning step runs as SQL inside DuckDB: row numbers, exact duplicates, missing ids,
timestamp parsing, stage normalisation and fill from the touchpoint map. The events
table never leaves DuckDB, and the warnings carry the same counts and example rows as
the pandas path.

Only what is certain to agree with the pandas path is done here. :func:`prepare` raises
:class:`Fallback` (and the caller uses the pandas path) for anything else: small files,
non-UTF-8 text, Excel, odd headers, ragged rows, combined event+survey files, timestamp
formats other than ISO 8601 or integer epochs, and so on.

SQL text never contains user text: the file path is a bound parameter, column names are
quoted identifiers, and value lookups (stage labels, touchpoint map, timestamps parsed
by pandas) are small registered tables joined in.
"""

from __future__ import annotations

import csv
import io as _io
import itertools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["FAST_LOAD_ENV", "DEFAULT_FAST_LOAD_MB", "Fallback", "FastEvents", "fast_load_bytes", "prepare"]

FAST_LOAD_ENV = "JOURNEY_FAST_LOAD_MB"
DEFAULT_FAST_LOAD_MB = 20.0

# pyarrow's default null markers: the pandas path reads these cells as missing.
_ARROW_NULLS = ('', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND',
                '1.#QNAN', 'N/A', 'NA', 'NULL', 'NaN', 'n/a', 'nan', 'null')
# What pyarrow's utf8_trim_whitespace strips (Unicode White_Space).
_WHITESPACE = " \t\n\v\f\r\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008" \
              "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
# ISO 8601 values that DuckDB's cast reads exactly as pyarrow/pandas do; anything else
# is parsed by the pandas functions, one distinct value at a time.
_ISO_NAIVE = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?$"
_ISO_OFFSET = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)$"
_WS_CLASS = "[" + _WHITESPACE + "]"
_MAX_LEFTOVER = 50_000
_names = itertools.count()


class Fallback(Exception):
    """This file needs the pandas path; the message says why."""


def fast_load_bytes() -> int:
    """Files at least this large (bytes) take the DuckDB path ($JOURNEY_FAST_LOAD_MB, default 20)."""
    raw = os.environ.get(FAST_LOAD_ENV, "").strip()
    try:
        mb = float(raw) if raw else DEFAULT_FAST_LOAD_MB
    except ValueError:
        mb = DEFAULT_FAST_LOAD_MB
    if mb != mb or mb < 0:
        mb = DEFAULT_FAST_LOAD_MB
    return int(mb * 1024 * 1024)


def _q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


@dataclass
class FastEvents:
    """A touchpoints file read into one DuckDB table ``work`` (cleaned text columns, the
    parsed timestamp ``_jl_ts``, a row hash and a duplicate flag); see :func:`prepare`."""

    label: str
    names: list[str]
    cols: dict[str, str]
    engine: Any
    work: str
    _tables: list[str] = field(default_factory=list)  # helpers, dropped after the load
    events_tables: list[str] = field(default_factory=list)  # the result: its view and table

    @property
    def con(self):
        return self.engine.con.con

    def header_frame(self) -> pd.DataFrame:
        """An empty frame with the file's columns, for mapping and messages."""
        return pd.DataFrame({n: pd.Series([], dtype="str") for n in self.names})

    def distinct_touchpoints(self) -> list[str]:
        """Touchpoint names in order of first appearance (as pd.unique would give)."""
        tp = _q(self.cols["touchpoint"])
        rows = self.con.execute(
            f"SELECT {tp} FROM {self.work} WHERE {tp} IS NOT NULL GROUP BY {tp} ORDER BY min(rowid)"
        ).fetchall()
        return [r[0] for r in rows]

    def drop(self) -> None:
        """Drop the helper tables (the events table stays unless :meth:`drop_events`)."""
        for name in reversed(self._tables):
            self.con.execute(f"DROP TABLE IF EXISTS {name}")
        self._tables.clear()
        if not self.events_tables:
            self.con.execute(f"DROP TABLE IF EXISTS {self.work}")

    def drop_events(self) -> None:
        """Free the events view and table (after validation, or when the load failed)."""
        for name in self.events_tables:
            kind = "VIEW" if name.startswith("_jl_events_") else "TABLE"
            self.con.execute(f"DROP {kind} IF EXISTS {name}")
        self.events_tables = []
        self.con.execute(f"DROP TABLE IF EXISTS {self.work}")


def _check_head(label: str, path: Path) -> str:
    """The delimiter of a plain UTF-8 delimited text file; Fallback for anything else."""
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


def prepare(source: Any, mapping: Mapping[str, Any] | None, engine: Any, force: bool = False) -> FastEvents:
    """Read a large plain CSV/TSV touchpoints file into a DuckDB table and plan its timestamp
    parse. Raises :class:`Fallback` when the pandas path must be used instead."""
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
    label = str(source)
    jio._check_size(label, size)
    lower = label.lower()
    if lower.endswith(".gz"):
        raise Fallback("gzip")
    sample = _check_head(label, path)
    delim = "\t" if lower.endswith((".tsv", ".tab")) else jio._sniff_delimiter(sample)
    header = next(csv.reader(_io.StringIO(sample), delimiter=delim), [])
    names = jio._clean_names(header)
    if not header or names != [str(h).strip() for h in header]:
        raise Fallback("blank or repeated header cells")

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
    if any(n.lower() in ("seq", "rowid") or n.startswith("_jl_") for n in names):
        raise Fallback("reserved column name")

    con = engine.con.con
    work = f"_jl_work_{os.getpid()}_{next(_names)}"
    ws = "'" + _WHITESPACE + "'"

    renamed = ", ".join(f"{_q(f'c{i}')} AS {_q(n)}" for i, n in enumerate(names))
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(names))) + "}"
    ts = _q(cols["timestamp"])
    # The plain cast is several times cheaper than the time-zone-aware one: use it where
    # there is no offset to apply. Other text is parsed later by the pandas functions.
    strict = (f"CASE WHEN regexp_full_match({ts}, '{_ISO_NAIVE}') THEN TRY_CAST({ts} AS TIMESTAMP) "
              f"WHEN regexp_full_match({ts}, '{_ISO_OFFSET}') THEN timezone('UTC', TRY_CAST({ts} AS TIMESTAMPTZ)) END")
    all_cols = ", ".join(_q(n) for n in names)
    hashed = f"hash({all_cols})"
    try:
        with engine._lock:
            con.execute("SET preserve_insertion_order = true")  # rowid of the table = file order
            # pyarrow's null markers are missing values in the pandas path, quoted or not.
            con.execute(
                f"CREATE TEMP TABLE {work} AS SELECT *, {strict} AS _jl_ts, {hashed} AS _jl_h, "
                f"false AS _jl_dup FROM (SELECT {renamed} FROM read_csv(?, header = true, delim = ?, "
                f"quote = '\"', escape = '\"', auto_detect = false, strict_mode = true, null_padding = false, "
                f"columns = {columns}, encoding = 'utf-8', nullstr = ?, allow_quoted_nulls = true))",
                [str(path), delim, list(_ARROW_NULLS)],
            )
            # The pandas path trims every cell: only columns with padded values are rewritten,
            # and then the hash and timestamp of the table are recomputed.
            padded = f"'^{_WS_CLASS}|{_WS_CLASS}$'"
            # A coarse test first,
            # then the exact one only for the columns it flags.
            def coarse(c: str) -> str:
                # any non-ASCII text, a value starting with a space or control character, or
                # one ending in ASCII whitespace (all cheap byte tests)
                ends = " OR ".join(f"{c} LIKE '%{ch}'" for ch in " \t\n\v\f\r")
                return f"(bool_or(strlen({c}) <> length({c}) OR {ends}) OR min({c}) < '!')"

            maybe = con.execute(f"SELECT {', '.join(coarse(_q(n)) for n in names)} FROM {work}").fetchone()
            dirty = [False] * len(names)
            flagged = [n for n, m in zip(names, maybe) if m]
            if flagged:
                exact = con.execute(
                    f"SELECT {', '.join(f'bool_or(regexp_matches({_q(n)}, {padded}))' for n in flagged)} FROM {work}"
                ).fetchone()
                found = dict(zip(flagged, exact))
                dirty = [bool(found.get(n)) for n in names]
            for n, bad in zip(names, dirty):
                if bad:
                    con.execute(f"UPDATE {work} SET {_q(n)} = nullif(trim({_q(n)}, {ws}), '') "
                                f"WHERE regexp_matches({_q(n)}, {padded})")
            if any(dirty):
                con.execute(f"UPDATE {work} SET _jl_ts = {strict}, _jl_h = {hashed}")
    except Exception as exc:  # duckdb.Error of any kind: ragged rows, bad UTF-8, stray quotes
        con.execute(f"DROP TABLE IF EXISTS {work}")
        raise Fallback(f"DuckDB cannot read it: {exc}") from None
    fast = FastEvents(label, names, dict(cols), engine, work)
    try:
        if con.execute(f"SELECT count(*) FROM {work}").fetchone()[0] == 0:
            raise Fallback("no data rows")
        _plan_timestamps(fast)
    except Exception:
        fast.drop()
        raise
    return fast


def _plan_timestamps(fast: FastEvents) -> None:
    """Finish the timestamp column exactly as io.parse_timestamps would read it."""
    from journeylib import io as jio

    con, work, ts = fast.con, fast.work, _q(fast.cols["timestamp"])
    sample = pd.Series(
        [r[0] for r in con.execute(f"SELECT {ts} FROM {work} WHERE {ts} IS NOT NULL ORDER BY rowid LIMIT 1000").fetchall()],
        dtype="str",
    )
    if sample.empty:
        raise Fallback("timestamp column empty")
    if sample.str.match(jio._NUMERIC_RE).all():
        _plan_epoch(fast)
    elif sample.str.match(jio._ISO_RE).mean() > 0.5:
        _plan_iso(fast)
    else:
        raise Fallback("timestamp format other than ISO 8601 or epoch")
    if not con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {work} WHERE _jl_ts IS NOT NULL LIMIT 1)").fetchone()[0]:
        raise Fallback("no parseable timestamp")


def _plan_epoch(fast: FastEvents) -> None:
    con, work, ts = fast.con, fast.work, _q(fast.cols["timestamp"])
    n_num, n_int, n_present, lo, hi, med = con.execute(
        f"SELECT count(*) FILTER (regexp_full_match({ts}, '-?\\d+(\\.\\d+)?')), "
        f"count(*) FILTER (regexp_full_match({ts}, '-?\\d{{1,17}}')), count({ts}), "
        f"min(TRY_CAST({ts} AS DOUBLE)), max(TRY_CAST({ts} AS DOUBLE)), "
        f"quantile_cont(abs(TRY_CAST({ts} AS DOUBLE)), 0.5) FROM {work}"
    ).fetchone()
    if n_num != n_present:
        raise Fallback("mixed numeric and text timestamps")
    if n_int != n_present:
        raise Fallback("fractional or huge epoch numbers")
    if lo >= 19000101 and hi <= 21001231:
        raise Fallback("YYYYMMDD numbers")
    unit = 1e6 if med < 1e11 else 1e3 if med < 1e14 else 1.0 if med < 1e17 else None
    if unit is None:
        raise Fallback("epoch nanoseconds")
    # pandas gives NaT outside its nanosecond range; keep to values far inside it.
    if min(lo, hi) * unit < -9.2e15 or max(lo, hi) * unit > 9.2e15:
        raise Fallback("epoch out of range")
    con.execute(f"UPDATE {work} SET _jl_ts = make_timestamp(CAST({ts} AS BIGINT) * {int(unit)})")


def _plan_iso(fast: FastEvents) -> None:
    """Values the strict ISO cast did not read are parsed by io's own functions, once each."""
    from journeylib import io as jio

    con, work, ts = fast.con, fast.work, _q(fast.cols["timestamp"])
    leftover = con.execute(
        f"SELECT {ts} FROM {work} WHERE {ts} IS NOT NULL AND _jl_ts IS NULL "
        f"GROUP BY {ts} ORDER BY min(rowid) LIMIT {_MAX_LEFTOVER * 4 + 1}"
    ).fetchall()
    if len(leftover) > _MAX_LEFTOVER * 4:
        raise Fallback("too many distinct non-ISO timestamps")
    if not leftover:
        return
    text = pd.Series([r[0] for r in leftover], dtype="str")
    parsed = jio._iso(text)
    failed = parsed.isna() & text.str.contains(r"\d{2}", regex=True) & (text.str.len() >= 6)
    if failed.sum() > jio._MIXED_LIMIT:
        raise Fallback("too many distinct odd timestamps")
    if failed.any():
        parsed = parsed.copy()
        parsed[failed] = jio._mixed(text[failed])
    frame = pd.DataFrame({"raw": text, "ts": parsed.astype("datetime64[us]")})
    lookup = _register(con, frame[frame["ts"].notna()])
    fast._tables.append(lookup)
    con.execute(f"UPDATE {work} SET _jl_ts = l.ts FROM {lookup} AS l WHERE l.raw = {work}.{ts} AND {work}._jl_ts IS NULL")


def _register(con, frame: pd.DataFrame) -> str:
    """Copy a small pandas frame into a temporary table; returns its name."""
    name = f"_jl_map_{os.getpid()}_{next(_names)}"
    con.register(f"{name}_v", frame)
    try:
        con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM {name}_v")
    finally:
        con.unregister(f"{name}_v")
    return name


def _extra_type(con, table: str, col: str) -> str:
    """DuckDB type for an extra column, as io._convert_extra would choose it."""
    c = _q(col)
    n, lead0, n_int, n_float_gate, n_float = con.execute(
        f"SELECT count({c}), count(*) FILTER (regexp_matches({c}, '^-?0\\d')), "
        f"count(*) FILTER (regexp_full_match({c}, '-?\\d{{1,18}}')), "
        f"count(*) FILTER (regexp_full_match({c}, '-?(\\d+\\.?\\d*|\\.\\d+)([eE][-+]?\\d+)?')), "
        f"count(TRY_CAST({c} AS DOUBLE)) FROM {table}"
    ).fetchone()
    if n == 0 or lead0:
        return "VARCHAR"
    if n_int == n:
        return "BIGINT"
    if n_float_gate == n:
        return "DOUBLE"
    if n_float == n:  # "inf", "nan", "+1": pyarrow's reading of these is not mirrored here
        raise Fallback(f"ambiguous numbers in column {col!r}")
    return "VARCHAR"


def build_events(fast: FastEvents, stages: Sequence[str], tp_map: Mapping[str, str], sink: Any):
    """Finish the events inside DuckDB, recording the same warnings (counts, example rows)
    as io._events_frame; returns the Ibis table (a view of the kept rows)."""
    from journeylib import io as jio
    from journeylib.schema import normalize_stage

    con, work, cols, label = fast.con, fast.work, fast.cols, fast.label
    cid, ts, tp = (_q(cols[f]) for f in ("customer_id", "timestamp", "touchpoint"))
    stage_col = cols.get("stage")
    names_sql = ", ".join(_q(n) for n in fast.names)
    with fast.engine._lock:
        # Exact duplicates: rows whose hash repeats are compared exactly; each group keeps its first row.
        on = " AND ".join(f"t.{_q(n)} IS NOT DISTINCT FROM g.{_q(n)}" for n in fast.names)
        cand = f"_jl_cand_{os.getpid()}_{next(_names)}"
        con.execute(
            f"CREATE TEMP TABLE {cand} AS SELECT rowid AS _jl_r, {names_sql} FROM {work} WHERE _jl_h IN "
            f"(SELECT _jl_h FROM {work} GROUP BY _jl_h HAVING count(*) > 1)"
        )
        fast._tables.append(cand)
        con.execute(
            f"UPDATE {work} SET _jl_dup = true WHERE rowid IN (SELECT t._jl_r FROM {cand} AS t JOIN "
            f"(SELECT {names_sql}, min(_jl_r) AS first FROM {cand} GROUP BY {names_sql} HAVING count(*) > 1) AS g "
            f"ON {on} WHERE t._jl_r <> g.first)"
        )

        stage_join, unknown_sql = "", "false"
        if stage_col:
            labels = [r[0] for r in con.execute(
                f"SELECT DISTINCT {_q(stage_col)} FROM {work} WHERE {_q(stage_col)} IS NOT NULL LIMIT 100001").fetchall()]
            if len(labels) > 100_000:
                raise Fallback("too many distinct stage labels")
            normal = [normalize_stage(v, stages) for v in labels]
            smap = _register(con, pd.DataFrame({
                "raw": pd.Series(labels, dtype="str"),
                "stage": pd.Series([s if s in stages else None for s in normal], dtype="str"),
                "unknown": pd.Series([s is not None and s not in stages for s in normal], dtype="bool"),
            }))
            fast._tables.append(smap)
            stage_join = f" LEFT JOIN {smap} AS sm ON sm.raw = t.{_q(stage_col)}"
            unknown_sql = "coalesce(sm.unknown, false)"

        reason = (f"CASE WHEN t._jl_dup THEN 1 WHEN t.{cid} IS NULL THEN 2 WHEN t.{ts} IS NULL THEN 3 "
                  f"WHEN t._jl_ts IS NULL THEN 4 WHEN t.{tp} IS NULL THEN 5 ELSE 0 END")
        latest = (pd.Timestamp.now(tz="UTC").tz_localize(None).normalize() + pd.Timedelta(days=2))
        conds = {
            "dup": "_jl_drop = 1", "nocid": "_jl_drop = 2", "blank_ts": "_jl_drop = 3",
            "bad_ts": "_jl_drop = 4", "notp": "_jl_drop = 5",
            "future": f"_jl_drop = 0 AND _jl_ts > TIMESTAMP '{latest:%Y-%m-%d %H:%M:%S}'",
            "past": "_jl_drop = 0 AND _jl_ts < TIMESTAMP '1900-01-01'",
            "unknown": "_jl_drop = 0 AND _jl_unknown",
        }
        flagged = (f"(SELECT t.*, t.rowid AS _jl_seq, {reason} AS _jl_drop, {unknown_sql} AS _jl_unknown "
                   f"FROM {work} AS t{stage_join})")
        aggs = ", ".join(f"count(*) FILTER ({c}), min(_jl_seq, 5) FILTER ({c})" for c in conds.values())
        got = con.execute(f"SELECT {aggs} FROM {flagged}").fetchone()
        stats = {k: (int(got[2 * i]), sorted(got[2 * i + 1] or [])) for i, k in enumerate(conds)}

        def first_values(cond: str, col: str, n: int) -> list[str]:
            return [r[0] for r in con.execute(
                f"SELECT {_q(col)} FROM {flagged} WHERE {cond} GROUP BY {_q(col)} "
                f"ORDER BY min(_jl_seq) LIMIT {n}").fetchall()]

        def drop(key: str, column: str | None, what: str, examples: Sequence[str] = ()) -> None:
            n, seqs = stats[key]
            if n:
                rows = [s + 1 for s in seqs]
                tail = f" (e.g. {jio._examples(examples)})" if examples else ""
                sink.warn(label, column, f"{n} rows dropped: {what}{tail}; {jio._rows_text(rows, n)}", n, rows)

        drop("dup", None, "exact duplicates of an earlier row")
        drop("nocid", cols["customer_id"], "no customer id")
        drop("blank_ts", cols["timestamp"], "no timestamp")
        drop("bad_ts", cols["timestamp"], "unparseable timestamp",
             first_values(conds["bad_ts"], cols["timestamp"], 3) if stats["bad_ts"][0] else ())
        drop("notp", cols["touchpoint"], "no touchpoint")
        for key, what in (("future", f"in the future (after {latest:%Y-%m-%d})"), ("past", "before 1900")):
            n, seqs = stats[key]
            if n:
                rows = [s + 1 for s in seqs]
                ex = first_values(conds[key], cols["timestamp"], 3)
                sink.warn(label, cols["timestamp"], f"{n} timestamps are {what}; kept, check the dates "
                          f"(e.g. {jio._examples(ex)}); {jio._rows_text(rows, n)}", n, rows)
        n, seqs = stats["unknown"]
        if n:
            rows = [s + 1 for s in seqs]
            ex = first_values(conds["unknown"], stage_col, 5)
            sink.warn(label, stage_col, f"{n} rows have a stage not in the stage order ({', '.join(stages)}): "
                      f"{jio._examples(ex, 5)}; their stage is left empty; {jio._rows_text(rows, n)}", n, rows)

        # The stage column, normalised in place: only rows whose label changes are written.
        if stage_col:
            sc = _q(stage_col)
            con.execute(f"UPDATE {work} SET {sc} = sm.stage FROM {smap} AS sm "
                        f"WHERE sm.raw = {work}.{sc} AND sm.stage IS DISTINCT FROM sm.raw")
        else:
            sc = "_jl_stage"
            con.execute(f"ALTER TABLE {work} ADD COLUMN _jl_stage VARCHAR")
        if tp_map:
            tmap = _register(con, pd.DataFrame({"touchpoint": pd.Series(list(tp_map), dtype="str"),
                                                "stage": pd.Series(list(tp_map.values()), dtype="str")}))
            fast._tables.append(tmap)
            con.execute(f"UPDATE {work} SET {sc} = tm.stage FROM {tmap} AS tm "
                        f"WHERE {work}.{sc} IS NULL AND tm.touchpoint = {work}.{tp}")

        canonical = ("customer_id", "timestamp", "seq", "touchpoint", "stage", "channel")
        used = set(cols.values())
        extras = [n for n in fast.names if n not in used and n not in canonical]
        extra_sql = "".join(f", CAST(t.{_q(n)} AS {_extra_type(con, work, n)}) AS {_q(n)}" for n in extras)
        channel = f"t.{_q(cols['channel'])}" if "channel" in cols else "NULL::VARCHAR"
        # A view, not a copy: the kept rows under their canonical names, typed.
        events = f"_jl_events_{os.getpid()}_{next(_names)}"
        kept = "" if not any(stats[k][0] for k in list(conds)[:5]) else (
            f" WHERE NOT t._jl_dup AND t.{cid} IS NOT NULL AND t._jl_ts IS NOT NULL AND t.{tp} IS NOT NULL")
        con.execute(
            f"CREATE TEMP VIEW {events} AS SELECT t.{cid} AS customer_id, t._jl_ts AS \"timestamp\", "
            f"t.rowid AS seq, t.{tp} AS touchpoint, t.{sc} AS stage, {channel} AS channel{extra_sql} "
            f"FROM {work} AS t{kept}"
        )
        fast.events_tables = [events, work]
        fast.drop()
        return fast.engine.con.table(events)
