"""Timestamps and scores: how text becomes a time or a number, in the engine where it can.

Timestamps: a sample of the column's first values decides what it holds (epoch numbers,
ISO 8601, YYYY/MM/DD, DD/MM or MM/DD dates, or dates in words such as "19th November
2023"). ISO text and epoch numbers are read by the engine over every row; the other kinds,
and ISO text the engine cannot read, are read here in Python one distinct value at a time
(:func:`parse_timestamps`) and joined back as a small lookup table. Offsets are converted
to UTC and every time is stored naive (UTC).

Scores: numbers as text ("4", "4.0", "4,5" with a decimal comma); anything else is not a
number. The score scale is detected, never rescaled.
"""

from __future__ import annotations

import itertools
import os
import re
import warnings
from dataclasses import dataclass, field
from typing import Callable
from typing import Any, Sequence

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from journeylib.ingest.errors import MAX_EXAMPLES, Issue
from journeylib.schema import ScoreScale

__all__ = [
    "parse_timestamps",
    "timestamp_kind",
    "epoch_unit",
    "detect_score_scale",
    "choose_scale",
    "SCALES",
    "number",
    "not_a_number",
    "naive_utc",
    "read_times",
    "TimeReading",
    "HeaderRows",
    "header_rows",
]

_NUMERIC_RE = r"^-?\d+(\.\d+)?$"
_ISO_RE = r"^\d{4}-\d{1,2}-\d{1,2}"
_YMD_SLASH_RE = r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})"
_DMY_RE = r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})(.*)$"
_ORDINAL_RE = r"(?<=\d)(st|nd|rd|th)\b"
_TEXT_FORMATS = (
    "%d %B %Y", "%d %b %Y", "%B %d %Y", "%B %d, %Y", "%b %d, %Y", "%b %d %Y",
    "%d %B %Y %H:%M", "%d %b %Y %H:%M", "%a, %d %b %Y %H:%M:%S %z", "%Y%m%d",
)
_MIXED_LIMIT = 50_000
SAMPLE = 1000  # first values that decide what a timestamp column holds
_lookup_names = itertools.count()


# --------------------------------------------------------------------------- Python side


def _naive_utc(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values.astype("datetime64[us]")


# Epoch numbers below 1e11 are seconds (until the year 5138), below 1e14 milliseconds, below
# 1e17 microseconds, above that nanoseconds: each value is read by its own magnitude.
_EPOCH_LIMITS = (1e11, 1e14, 1e17)


def epoch_unit(magnitude: float) -> str:
    """Epoch seconds, milliseconds, microseconds or nanoseconds, told apart by magnitude."""
    s, ms, us = _EPOCH_LIMITS
    return "s" if magnitude < s else "ms" if magnitude < ms else "us" if magnitude < us else "ns"


def _is_yyyymmdd(valid: pd.Series) -> bool:
    ints = valid[(valid % 1) == 0]
    return len(ints) == len(valid) and bool(valid.between(19000101, 21001231).all())


def _epoch(numbers: pd.Series) -> pd.Series:
    valid = numbers.dropna()
    if valid.empty:
        return pd.Series(pd.NaT, index=numbers.index, dtype="datetime64[us]")
    if _is_yyyymmdd(valid):
        as_text = valid.astype("int64").astype("str")
        parsed = pd.to_datetime(as_text, format="%Y%m%d", errors="coerce")
        if parsed.notna().all():  # YYYYMMDD written as a number (GA4 event_date)
            return parsed.reindex(numbers.index).astype("datetime64[us]")
    size = numbers.abs()
    s, ms, us = _EPOCH_LIMITS
    micros = np.select([size < s, size < ms, size < us], [numbers * 1e6, numbers * 1e3, numbers],
                       default=numbers / 1e3)
    micros = pd.Series(micros, index=numbers.index).round()
    ok = micros.notna() & micros.between(-9.2e18, 9.2e18)
    out = pd.Series(pd.NaT, index=numbers.index, dtype="datetime64[us]")
    out[ok] = pd.to_datetime(micros[ok].astype("int64"), unit="us")
    return out


def _mixed(values: pd.Series, dayfirst: bool = False) -> pd.Series:
    """Slow per-value parse (dateutil) of the distinct values, for what fast paths missed."""
    codes, uniques = pd.factorize(values)
    if len(uniques) == 0 or len(uniques) > _MIXED_LIMIT:
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]")
    cleaned = pd.Series(uniques).str.replace(_ORDINAL_RE, "", regex=True, case=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(cleaned, format="mixed", dayfirst=dayfirst, utc=True, errors="coerce")
    parsed = _naive_utc(parsed).to_numpy()
    out = np.where(codes >= 0, parsed[np.maximum(codes, 0)], np.datetime64("NaT"))
    return pd.Series(out, index=values.index, dtype="datetime64[us]")


def _iso(values: pd.Series) -> pd.Series:
    """ISO 8601 text to naive UTC; pyarrow's cast first (fast, all-or-nothing), then pandas."""
    arr = pa.array(values, type=pa.large_string(), from_pandas=True)
    for target in (pa.timestamp("us", "UTC"), pa.timestamp("us")):
        try:
            parsed = pc.cast(arr, target).to_pandas()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return _naive_utc(pd.Series(parsed, index=values.index))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(values, format="ISO8601", utc=True, errors="coerce")
    return _naive_utc(parsed)


def _day_month(values: pd.Series) -> tuple[pd.Series, pd.Series, bool]:
    """Dates like 03/04/2024 read both ways: (chosen, the mask of values the two orders
    read differently when both read every value, day-first?)."""
    parts = values.str.extract(_DMY_RE)
    a, b, y, rest = (parts[i] for i in range(4))
    y = y.where(y.str.len() != 2, ("20" + y).where(y.astype("float") < 70, "19" + y))
    rest = rest.fillna("")
    day_first = _iso(y + "-" + b.str.zfill(2) + "-" + a.str.zfill(2) + rest)
    month_first = _iso(y + "-" + a.str.zfill(2) + "-" + b.str.zfill(2) + rest)
    n_day, n_month = int(day_first.notna().sum()), int(month_first.notna().sum())
    if n_month > n_day:
        return month_first, pd.Series(False, index=values.index), False
    differ = (day_first != month_first) & day_first.notna() & month_first.notna()
    if n_day != n_month:
        differ[:] = False
    return day_first, differ, True


def timestamp_kind(sample: pd.Series) -> str:
    """What the first values of a text column hold: ``epoch``, ``iso``, ``ymd``, ``dmy``
    (day and month as numbers, order to be chosen) or ``text`` (dates in words)."""
    present = sample.dropna().astype("str")
    if present.empty:
        return "empty"
    if present.str.match(_NUMERIC_RE).all():
        return "epoch"
    if present.str.match(_ISO_RE).mean() > 0.5:
        return "iso"
    if present.str.match(_YMD_SLASH_RE).mean() > 0.5:
        return "ymd"
    if present.str.match(_DMY_RE).mean() > 0.5:
        return "dmy"
    return "text"


def ambiguous_day_month(file: str, column: str, n_differ: int, rows: Sequence[int]) -> Issue:
    """The warning for dates that read both as DD/MM and MM/DD (read as DD/MM)."""
    return Issue(file, column, f"ambiguous day/month order in column {column!r}; read as DD/MM "
                 f"({n_differ} rows would differ); set the order in the file as YYYY-MM-DD to be sure",
                 n_differ, list(rows)[:MAX_EXAMPLES])


def _parse(text: pd.Series, kind: str) -> tuple[pd.Series, pd.Series, bool]:
    """Parsed values, the mask of DD/MM-vs-MM/DD differences, and whether day came first."""
    differ = pd.Series(False, index=text.index)
    dayfirst = False
    if kind == "epoch" and text.str.match(_NUMERIC_RE).all():
        parsed = _epoch(pd.to_numeric(text, errors="coerce"))
    elif kind in ("epoch", "iso"):
        parsed = _iso(text)
    elif kind == "ymd":
        parsed = _iso(text.str.replace(_YMD_SLASH_RE, r"\1-\2-\3", regex=True))
    elif kind == "dmy":
        parsed, differ, dayfirst = _day_month(text)
    else:
        parsed = _text_dates(text)
    # Only text that looks like a date gets the lenient parser: it would read "1" or "May"
    # as a day of the current month.
    failed = parsed.isna() & text.notna() & text.str.contains(r"\d{2}", regex=True) & (text.str.len() >= 6)
    if failed.any():
        retry = _mixed(text[failed], dayfirst=dayfirst)
        parsed = parsed.copy()
        parsed[failed] = retry
    return parsed, differ, dayfirst


def parse_timestamps(
    values: pd.Series, column: str = "timestamp", file: str = "", rownums: np.ndarray | None = None
) -> tuple[pd.Series, list[Issue]]:
    """Parse a column into naive UTC timestamps (NaT where unreadable).

    Understands ISO 8601 (offsets converted to UTC), dates only, DD/MM/YYYY vs MM/DD/YYYY
    (warns when both orders read every row), ordinal text ("19th November 2023") and epoch
    seconds/milliseconds/microseconds (told apart by magnitude). Returns the parsed values
    and any warnings about how they were read.
    """
    if rownums is None:
        rownums = np.arange(1, len(values) + 1)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return _naive_utc(values), []
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return _epoch(values.astype("float64")), []
    text = values.astype("str")
    present = text.dropna()
    if present.empty:
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]"), []
    kind = timestamp_kind(present.iloc[:SAMPLE])
    if kind == "epoch" and not present.str.match(_NUMERIC_RE).all():
        kind = "iso"
    parsed, differ, _ = _parse(text, kind)
    issues = []
    n_differ = int(differ.sum())
    if n_differ:
        issues.append(ambiguous_day_month(file, column, n_differ, rownums[differ.to_numpy()][:MAX_EXAMPLES].tolist()))
    return parsed, issues


def parse_distinct(values: pd.Series, kind: str) -> tuple[pd.Series, pd.Series]:
    """Distinct text values of one column read as ``kind`` says (see :func:`timestamp_kind`):
    their times and the mask of those DD/MM and MM/DD would read differently."""
    parsed, differ, _ = _parse(values.astype("str"), kind)
    return parsed, differ


def _text_dates(text: pd.Series) -> pd.Series:
    codes, uniques = pd.factorize(text)
    cleaned = pd.Series(uniques).str.replace(_ORDINAL_RE, "", regex=True, case=False)
    probe = cleaned.iloc[:200]
    parsed = None
    for fmt in _TEXT_FORMATS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trial = pd.to_datetime(probe, format=fmt, errors="coerce", utc=True)
        if trial.notna().mean() > 0.9:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parsed = _naive_utc(pd.to_datetime(cleaned, format=fmt, errors="coerce", utc=True))
            break
    if parsed is None:
        return pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    values = parsed.to_numpy()
    out = np.where(codes >= 0, values[np.maximum(codes, 0)], np.datetime64("NaT"))
    return pd.Series(out, index=text.index, dtype="datetime64[us]")


# --------------------------------------------------------------------------- engine side


def naive_utc(text: ibis.Value) -> ibis.Value:
    """ISO 8601 text read by the engine: offsets converted to UTC, naive values taken as UTC."""
    zoned = text.try_cast(ibis.dtype("timestamp('UTC')")).cast("timestamp")
    # "YYYY-MM-DD HH:MM:SS" has no room for an offset, and reading it without the time
    # zone machinery takes less than half the time.
    plain = (text.length() == 19) & (text.like("____-__-__ __:__:__") | text.like("____-__-__T__:__:__"))
    return ibis.cases((plain, text.try_cast("timestamp")), else_=zoned)


def epoch_expr(numbers: ibis.Value) -> ibis.Value:
    """Epoch numbers as naive timestamps to the microsecond, each value's unit told by its
    magnitude (see :func:`epoch_unit`)."""
    s, ms, us = _EPOCH_LIMITS
    size = numbers.abs()
    micros = ibis.cases((size < s, numbers * 1_000_000), (size < ms, numbers * 1_000), (size < us, numbers),
                        else_=numbers / 1_000)
    return ibis.timestamp("1970-01-01 00:00:00") + micros.round().cast("int64").as_interval("us")


def typed_time(col: ibis.Value) -> ibis.Value | None:
    """A column that already holds times (a typed table): as naive UTC timestamps; None
    for text or numbers, which need reading."""
    typ = col.type()
    if typ.is_timestamp():
        return col.cast(ibis.dtype("timestamp")) if typ.timezone is not None else col
    if typ.is_date():
        return col.cast("timestamp")
    return None


# --------------------------------------------------------------------------- numbers


def number(text: ibis.Value) -> ibis.Value:
    """A score or NPS value: numbers as the column holds them, text read as a number
    (a decimal comma too); null where it is none (see :func:`not_a_number`)."""
    typ = text.type()
    if typ.is_boolean():
        return text.cast("int64").cast("float64")
    if typ.is_numeric():
        x = text.cast("float64")
    else:
        x = ibis.coalesce(text.try_cast("float64"), text.replace(",", ".").try_cast("float64"))
    return ibis.ifelse(x.isinf() | x.isnan(), ibis.null("float64"), x)


def not_a_number(text: ibis.Value) -> ibis.Value:
    """Present but no usable number ("skipped", "inf", "n/a" written out)."""
    return text.notnull() & number(text).isnull()


# --------------------------------------------------------------------------- scales

# Standard scales by family, narrowest first (a scale is never rescaled, only detected).
SCALES_NONNEG = ((1, 5), (0, 5), (1, 7), (1, 10), (0, 10))
SCALES_SIGNED = ((-2, 2), (-3, 3))
SCALES = SCALES_NONNEG + SCALES_SIGNED


def choose_scale(n: int, low: float, high: float, inside: dict[tuple[int, int], int]) -> ScoreScale | None:
    """The narrowest standard scale holding at least 99% of ``n`` scores (``inside`` counts
    the scores within each of :data:`SCALES`; the sign of ``low`` decides the family),
    otherwise the observed range ``low``..``high``."""
    if n == 0:
        return None
    family = SCALES_SIGNED if low < 0 else SCALES_NONNEG
    for lo, hi in family:
        if inside[(lo, hi)] / n >= 0.99:
            return ScoreScale(float(lo), float(hi))
    return ScoreScale(float(low), float(high))


def scale_counts(score: ibis.Value) -> dict[str, Any]:
    """Aggregates for :func:`choose_scale` over an engine column."""
    out: dict[str, Any] = {"n": score.count(), "low": score.min(), "high": score.max()}
    for i, (lo, hi) in enumerate(SCALES):
        out[f"in_{i}"] = score.between(lo, hi).cast("int64").sum()
    return out


def scale_of_counts(got: Any) -> ScoreScale | None:
    """:func:`choose_scale` of a row of :func:`scale_counts` results."""
    n = int(got["n"] or 0)
    if n == 0:
        return None
    inside = {sc: int(got[f"in_{i}"] or 0) for i, sc in enumerate(SCALES)}
    return choose_scale(n, float(got["low"]), float(got["high"]), inside)


def detect_score_scale(scores: pd.Series) -> ScoreScale | None:
    """The narrowest standard scale holding at least 99% of the scores (sign decides the
    family: 1-5, 0-5, 1-7, 1-10, 0-10 or -2..2, -3..3); otherwise the observed range."""
    values = pd.to_numeric(scores, errors="coerce").dropna()
    if values.empty:
        return None
    inside = {(lo, hi): int(values.between(lo, hi).sum()) for lo, hi in SCALES}
    return choose_scale(len(values), float(values.min()), float(values.max()), inside)


# --------------------------------------------------------------------------- reading a column


def _run(engine: Any, expr) -> pd.DataFrame:
    with engine.lock:
        return expr.to_pyarrow().to_pandas()


@dataclass
class TimeReading:
    """How one column's values become naive UTC timestamps: an engine reading (``read``,
    None when every value is read in Python) and a lookup table of the values read in
    Python (``_jl_traw`` -> ``_jl_tval``)."""

    column: str
    read: Callable[[ibis.Value], ibis.Value] | None
    lookup: ibis.Table | None = None
    owned: list[str] = field(default_factory=list)
    notes: list[Issue] = field(default_factory=list)
    key: Callable[[ibis.Value], ibis.Value] | None = None  # the column as the lookup's text (default: cast)

    def attach(self, t: ibis.Table) -> ibis.Table:
        """``t`` (which has the column) with ``_jl_ts``, the column read as timestamps."""
        raw = t[self.column]
        if self.lookup is None:
            return t.mutate(_jl_ts=self.read(raw) if self.read is not None else ibis.null("timestamp"))
        key = self.key(raw) if self.key is not None else raw.cast("string")
        j = t.left_join(self.lookup, key == self.lookup._jl_traw)
        first = self.read(j[self.column]) if self.read is not None else None
        value = j._jl_tval if first is None else ibis.coalesce(first, j._jl_tval)
        return j.mutate(_jl_ts=value).drop("_jl_traw", "_jl_tval")


def read_times(t: ibis.Table, column: str, label: str, engine: Any, database: bool = False,
               row: str = "_jl_row") -> TimeReading:
    """How to read the column ``column`` of ``t`` (give a narrow table: the row number and
    that column) as timestamps; see the module notes: the first :data:`SAMPLE` values
    decide the kind; ISO text and epoch numbers are read by the engine, everything else one
    distinct value at a time here and joined back as a lookup table.
    """
    raw = t[column]
    if typed_time(raw) is not None:
        return TimeReading(column, typed_time)
    if raw.type().is_numeric() and not raw.type().is_boolean():
        x = raw.cast("float64")
        got = _run(engine, t.aggregate(mid=x.abs().median(), lo=x.min(), hi=x.max(),
                                       whole=(x == x.floor()).all())).iloc[0]
        if got["mid"] is None or pd.isna(got["mid"]):
            return TimeReading(column, None)
        if bool(got["whole"]) and 19000101 <= float(got["lo"]) and float(got["hi"]) <= 21001231:
            # Whole numbers written as floats too ("20240131.0" as text): the lookup is keyed by the integer.
            reading = _lookup_all(t, column, raw.cast("int64").cast("string"), "epoch", label, engine, database, row)
            reading.key = lambda c: c.cast("int64").cast("string")
            return reading
        return TimeReading(column, lambda c: epoch_expr(c.cast("float64")))
    text = raw.cast("string")
    present = t.filter(text.notnull())
    head = present.order_by(row) if not database else present
    sample = _run(engine, head.select(v=text).limit(SAMPLE))["v"]
    kind = timestamp_kind(sample)
    if kind == "empty":
        return TimeReading(column, None)
    if kind == "epoch":
        got = _run(engine, t.aggregate(
            n=text.count(), numeric=text.re_search(_NUMERIC_RE).cast("int64").sum(),
            mid=text.try_cast("float64").abs().median(), lo=text.try_cast("float64").min(),
            hi=text.try_cast("float64").max())).iloc[0]
        if int(got["numeric"] or 0) == int(got["n"]):
            lo, hi = float(got["lo"]), float(got["hi"])
            if 19000101 <= lo and hi <= 21001231:
                return _lookup_all(t, column, text, "epoch", label, engine, database, row)
            return TimeReading(column, lambda c: epoch_expr(c.cast("string").try_cast("float64")))
        kind = "iso"
    if kind == "iso":
        left = _run(engine, t.filter(text.notnull() & naive_utc(text).isnull()).select(v=text).distinct())["v"]
        reading = TimeReading(column, lambda c: naive_utc(c.cast("string")))
        if left.empty:
            return reading
        parsed, _ = parse_distinct(left, "iso")
        found = pd.DataFrame({"_jl_traw": left.astype("str"), "_jl_tval": parsed.astype("datetime64[us]")})
        found = found[found["_jl_tval"].notna()]
        if not found.empty:
            reading.lookup, reading.owned = _lookup_table(found, engine)
        return reading
    return _lookup_all(t, column, text, kind, label, engine, database, row)


def _lookup_table(found: pd.DataFrame, engine: Any) -> tuple[ibis.Table, list[str]]:
    name = f"_jl_times_{os.getpid()}_{next(_lookup_names)}"
    return engine.table(found.reset_index(drop=True), name=name), [name]


def _lookup_all(t: ibis.Table, column: str, text: ibis.Value, kind: str, label: str, engine: Any,
                database: bool, row: str) -> TimeReading:
    """Every distinct value read in Python (dates in words, DD/MM, YYYYMMDD numbers)."""
    keyed = t.mutate(_jl_tkey=text).filter(ibis._._jl_tkey.notnull())
    first = keyed[row].min() if not database else keyed._jl_tkey.min()
    values = _run(engine, keyed.group_by(v=keyed._jl_tkey).aggregate(n=keyed.count(), f=first))
    parsed, differ = parse_distinct(values["v"], kind)
    notes: list[Issue] = []
    if differ.any():
        n_differ = int(values.loc[differ.to_numpy(), "n"].sum())
        rows: list[int] = []
        if not database:
            odd = values.loc[differ.to_numpy(), "v"].tolist()
            got = _run(engine, keyed.filter(keyed._jl_tkey.isin(odd)).order_by(row).select(row)
                       .limit(MAX_EXAMPLES))
            rows = [int(v) + 1 for v in got[row]]
        notes.append(ambiguous_day_month(label, column, n_differ, rows))
    found = pd.DataFrame({"_jl_traw": values["v"].astype("str"), "_jl_tval": parsed.astype("datetime64[us]")})
    found = found[found["_jl_tval"].notna()]
    reading = TimeReading(column, None, notes=notes)
    if not found.empty:
        reading.lookup, reading.owned = _lookup_table(found, engine)
    return reading


# --------------------------------------------------------------------------- export header rows


@dataclass
class HeaderRows:
    """Rows under the header that are more header, not respondents (a survey export's), and
    the labels they give the columns."""

    export: str  # "Qualtrics" or "SurveyMonkey"
    rows: list[int]  # their ROW numbers (0-based file rows)
    labels: dict[str, str]  # column -> the question or statement text it asks
    note: str


# Qualtrics' text for parts of a question that are not the statement rated.
_QUALTRICS_GENERIC = {"selected choice", "text", "click to write the question text"}
_SM_GENERIC = {"response", "open-ended response", "other (please specify)"}


def _statement(question: str) -> str:
    """A Qualtrics column's label: the matrix statement after the last " - ", unless that
    part is generic ("Selected Choice", "Text"), then the question itself."""
    parts = [p.strip() for p in str(question).split(" - ") if p.strip()]
    for part in reversed(parts):
        if part.lower() not in _QUALTRICS_GENERIC and not part.lower().startswith("http"):
            return part
    return str(question).strip()


def header_rows(columns: list[str], header: list[str | None] | None, first: pd.DataFrame) -> HeaderRows | None:
    """Recognise a survey export's extra header rows from its first two data rows
    (``first``: the columns and ROW, in file order): Qualtrics' question-text and ImportId
    rows, or SurveyMonkey's answer-option row. None for any other file."""
    if len(first) == 0:
        return None
    row0 = first.iloc[0]
    if len(first) >= 2:
        row1 = first.iloc[1]
        cells = [str(row1[c]) for c in columns if row1[c] is not None and not pd.isna(row1[c])]
        if cells and sum(c.startswith('{"ImportId"') for c in cells) >= 0.5 * len(cells):
            labels = {}
            for c in columns:
                text = row0[c]
                if text is not None and not pd.isna(text) and str(text).strip() and str(text).strip() != c:
                    labels[c] = _statement(text)
            return HeaderRows("Qualtrics", [int(first.iloc[0]["_jl_row"]), int(first.iloc[1]["_jl_row"])], labels,
                              "a Qualtrics export: its question-text and ImportId rows are header rows, not "
                              "respondents; columns are labelled by their question or statement text")
    cells = {c: str(row0[c]).strip() for c in columns if row0[c] is not None and not pd.isna(row0[c])}
    keys = {re.sub(r"[^a-z]", "", c.lower()) for c in columns}
    if cells and "respondentid" in keys and any(v.lower() in _SM_GENERIC for v in cells.values()):
        labels, question = {}, None
        for i, c in enumerate(columns):
            own = header[i] if header is not None and i < len(header) else c
            if own is not None and str(own).strip():
                question = str(own).strip()
            option = cells.get(c)
            if option and option.lower() not in _SM_GENERIC:
                labels[c] = option
            elif question is not None and question != c:
                labels[c] = question
        return HeaderRows("SurveyMonkey", [int(row0["_jl_row"])], labels,
                          "a SurveyMonkey export: its answer-option row is a header row, not a respondent; columns "
                          "are labelled by their answer option, else their question")
    return None
