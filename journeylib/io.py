"""Readers, column auto-mapping and validation: user files in, a :class:`JourneyData` out.

Files are read with every column as text (fast, through pyarrow), so a bad value can be
reported with its row instead of silently becoming NaN; each canonical field is then
converted on its own. Every row that is dropped or changed is counted in a warning
(:class:`Issue`) with example row numbers; problems that leave nothing to analyse raise
:class:`InputError`, whose text names the file, the column and the rows.

Row numbers in messages are 1-based data rows (the header is not counted); ``seq`` in the
events table is the 0-based position of the row in its file.
"""

from __future__ import annotations

import csv
import gzip
import io as _io
import os
import re
import warnings
import zipfile
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from journeylib.engine import Engine, default_engine
from journeylib.journey import JourneyModel
from journeylib.schema import (
    DEFAULT_STAGES,
    FIELDS,
    INPUT_KINDS,
    STAGE_SYNONYMS,
    JourneyData,
    ScoreScale,
    normalize_stage,
)

__all__ = [
    "InputError",
    "Issue",
    "ValidationReport",
    "read_table",
    "detect_mapping",
    "load_journey",
    "validate",
    "parse_timestamps",
    "detect_score_scale",
    "max_upload_bytes",
    "MAX_UPLOAD_ENV",
]

MAX_EXAMPLES = 5


# --------------------------------------------------------------------------- errors


class InputError(Exception):
    """A file that cannot be used; ``str(e)`` is ``"<file>: <what is wrong>"``."""

    def __init__(self, file: str, message: str, column: str | None = None, rows: Sequence[int] = ()):
        self.file = str(file)
        self.message = message
        self.column = column
        self.rows = list(rows)
        super().__init__(f"{self.file}: {message}")


@dataclass
class Issue:
    """One finding about an input file: what, where (column, example rows) and how often."""

    file: str
    column: str | None
    message: str
    count: int = 0
    rows: list[int] = field(default_factory=list)
    severity: str = "warning"

    def __str__(self) -> str:
        where = f" (column {self.column!r})" if self.column else ""
        return f"{self.severity}: {self.file}{where}: {self.message}"


@dataclass
class ValidationReport:
    """Errors (the data cannot be loaded) and warnings (loaded, but something was changed)."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_frame(self) -> pd.DataFrame:
        """One row per issue: severity, file, column, message, count, rows."""
        rows = [
            {
                "severity": i.severity,
                "file": i.file,
                "column": i.column,
                "message": i.message,
                "count": i.count,
                "rows": ", ".join(str(r) for r in i.rows),
            }
            for i in [*self.errors, *self.warnings]
        ]
        return pd.DataFrame(rows, columns=["severity", "file", "column", "message", "count", "rows"])

    def lines(self) -> list[str]:
        """Human-readable lines, errors first."""
        return [str(i) for i in [*self.errors, *self.warnings]]


def _rows_text(rows: Sequence[int], count: int) -> str:
    shown = ", ".join(str(r) for r in rows[:MAX_EXAMPLES])
    more = count - min(len(rows), MAX_EXAMPLES)
    return f"rows {shown}" + (f" and {more} more" if more > 0 else "")


def _examples(values: Iterable[Any], n: int = 3) -> str:
    return ", ".join(repr(str(v)) for v in list(values)[:n])


# --------------------------------------------------------------------------- reading

_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
_PARQUET_MAGIC = b"PAR1"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_DELIMITERS = (",", ";", "\t", "|")
_NOTES_ATTR = "journeylib_notes"

# The size limit for one input file, in megabytes; the default matches the app's
# server.maxUploadSize in .streamlit/config.toml. Checked before a file is read, and again
# on what a .gz or .xlsx expands to.
MAX_UPLOAD_ENV = "JOURNEY_MAX_UPLOAD_MB"
DEFAULT_MAX_UPLOAD_MB = 1024
# A compressed file that expands more than this many times (and to more than
# _BOMB_MIN_BYTES) is refused as a likely zip bomb; real CSV and Excel data stay far below.
_BOMB_RATIO = 100
_BOMB_MIN_BYTES = 64 * 1024 * 1024
_CHUNK = 1024 * 1024


def env_megabytes(name: str, default: float, allow_zero: bool = False) -> int:
    """A size in bytes from an environment variable in megabytes; the default when it is
    unset, not a number, negative (or zero unless ``allow_zero``)."""
    raw = os.environ.get(name, "").strip()
    try:
        mb = float(raw) if raw else default
    except ValueError:
        mb = default
    if mb != mb or mb < 0 or (mb == 0 and not allow_zero):
        mb = default
    return int(mb * 1024 * 1024)


def max_upload_bytes() -> int:
    """The size limit for one input file in bytes ($JOURNEY_MAX_UPLOAD_MB, default 1024 MB)."""
    return env_megabytes(MAX_UPLOAD_ENV, DEFAULT_MAX_UPLOAD_MB)


def _mb(size: float) -> str:
    return f"{size / (1024 * 1024):,.1f} MB"


def _limit_text() -> str:
    return f"{round(max_upload_bytes() / (1024 * 1024), 6):g} MB"


def _check_size(label: str, size: int | None) -> None:
    if size is None:
        return
    limit = max_upload_bytes()
    if size > limit:
        raise InputError(label, f"file is {_mb(size)} ({size:,} bytes), above the size limit of "
                         f"{_limit_text()}; split it or raise the limit with {MAX_UPLOAD_ENV}")


def _check_expansion(label: str, what: str, expanded: int, packed: int) -> None:
    """Refuse compressed content that expands past the size limit or suspiciously far."""
    limit = max_upload_bytes()
    if expanded > limit:
        raise InputError(label, f"{what} expands to more than the size limit of {_limit_text()}; "
                         f"split it or raise the limit with {MAX_UPLOAD_ENV}")
    if expanded > _BOMB_MIN_BYTES and expanded > _BOMB_RATIO * max(packed, 1):
        raise InputError(label, f"{what} expands more than {_BOMB_RATIO}-fold ({_mb(packed)} to over "
                         f"{_mb(expanded)}); refused as a possible zip bomb")


def _gunzip(label: str, data: bytes) -> bytes:
    """Decompress gzip in chunks, stopping as soon as the output breaks the limits."""
    out = _io.BytesIO()
    try:
        with gzip.GzipFile(fileobj=_io.BytesIO(data)) as gz:
            while True:
                chunk = gz.read(_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                _check_expansion(label, "the gzip file", out.tell(), len(data))
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(label, f"corrupt gzip file ({exc})") from None
    return out.getvalue()


def _source_bytes(source: Any, name: str | None) -> tuple[str, bytes]:
    """Name and raw bytes of a path, (name, bytes) pair, bytes, or file-like upload."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        label = name or str(source)
        if not path.exists():
            raise InputError(label, "file not found")
        if path.is_dir():
            raise InputError(label, "is a folder, not a file")
        _check_size(label, path.stat().st_size)
        return label, path.read_bytes()
    if isinstance(source, tuple) and len(source) == 2:
        label, payload = source
        return _source_bytes(payload, name or str(label))
    if isinstance(source, (bytes, bytearray, memoryview)):
        label = name or "upload"
        _check_size(label, len(source) if not isinstance(source, memoryview) else source.nbytes)
        return label, bytes(source)
    if hasattr(source, "getvalue") or hasattr(source, "read"):
        label = name or str(getattr(source, "name", None) or "upload")
        size = getattr(source, "size", None)  # Streamlit's UploadedFile knows its size
        _check_size(label, size if isinstance(size, int) else None)
        if hasattr(source, "getvalue"):
            data = source.getvalue()
        else:
            if hasattr(source, "seek"):
                try:
                    source.seek(0)
                except (OSError, ValueError):
                    pass
            data = source.read()
        if isinstance(data, str):
            data = data.encode("utf-8")
        _check_size(label, len(data))
        return label, bytes(data)
    raise TypeError(f"cannot read a table from {type(source).__name__}")


def _sniff_delimiter(sample: str) -> str:
    """The delimiter among , ; tab | that splits the first records most consistently."""
    best, best_score = ",", (False, 0.0, 0)
    for delim in _DELIMITERS:
        try:
            reader = csv.reader(_io.StringIO(sample), delimiter=delim)
            records = []
            for record in reader:
                if record:
                    records.append(len(record))
                if len(records) >= 30:
                    break
        except csv.Error:
            continue
        if len(records) > 2:
            records = records[:-1]  # the last record of a sample may be cut short
        if not records:
            continue
        mode, hits = Counter(records).most_common(1)[0]
        score = (mode > 1, hits / len(records), mode)
        if score > best_score:
            best, best_score = delim, score
    return best


def _clean_names(names: Sequence[Any]) -> list[str]:
    """Blank header cells get a name; repeated names get a .1, .2 suffix (as pandas does)."""
    out: list[str] = []
    taken: set[str] = set()
    next_suffix: dict[str, int] = {}
    for i, raw in enumerate(names):
        text = "" if raw is None or (isinstance(raw, float) and raw != raw) else str(raw).strip()
        if not text or text.startswith("Unnamed: "):
            text = f"column_{i + 1}"
        if text in taken:
            base, k = text, next_suffix.get(text, 1)
            while f"{base}.{k}" in taken:
                k += 1
            next_suffix[base] = k + 1
            text = f"{base}.{k}"
        taken.add(text)
        out.append(text)
    return out


def _name_notes(label: str, raw: Sequence[Any], names: Sequence[str]) -> list[Issue]:
    """Warnings for header cells that were blank or repeated (and so were renamed)."""
    notes = []
    blank = [(i, n) for i, (r, n) in enumerate(zip(raw, names))
             if r is None or (isinstance(r, float) and r != r) or not str(r).strip()]
    if blank:
        notes.append(Issue(label, None, f"{len(blank)} header cells are blank; named "
                           f"{', '.join(repr(n) for _, n in blank[:MAX_EXAMPLES])}", len(blank), []))
    texts = [str(r).strip() for r in raw if r is not None and not (isinstance(r, float) and r != r)]
    repeated = [t for t, c in Counter(texts).items() if t and c > 1]
    if repeated:
        renamed = [n for r, n in zip(raw, names) if str(r).strip() in repeated and n != str(r).strip()]
        notes.append(Issue(label, None, f"repeated column names {', '.join(map(repr, repeated[:MAX_EXAMPLES]))}; "
                           f"the later ones were renamed {', '.join(map(repr, renamed[:MAX_EXAMPLES]))}",
                           len(renamed), []))
    return notes


def _tidy_column(col):
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        col = pc.utf8_trim_whitespace(col)
        col = pc.if_else(pc.equal(col, ""), pa.scalar(None, col.type), col)
    return col


def _tidy_arrow(table: pa.Table) -> pa.Table:
    """Trim whitespace and make empty strings null, in pyarrow (vectorised)."""
    if table.num_rows < 100_000:
        cols = [_tidy_column(c) for c in table.columns]
    else:  # each pyarrow kernel runs on one core; the columns can go side by side
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            cols = list(pool.map(_tidy_column, table.columns))
    return pa.table(cols, names=table.column_names)


def _tidy_pandas(df: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for name in df.columns:
        s = df[name]
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            s = s.astype("str").str.strip()
            s = s.mask(s == "")
        out[name] = s
    return pd.DataFrame(out, index=df.index)


def _decode_text(label: str, data: bytes) -> bytes:
    """UTF-8 bytes of a text file given as UTF-8 (with or without BOM), UTF-16 with BOM, or Latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(label, f"cannot decode as UTF-16: {exc.reason} at byte {exc.start}") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    head = data[:4096]
    if b"\x00" in head and len(head) >= 4:
        # UTF-16 without a byte order mark: mostly-ASCII text has a zero in every other byte.
        even, odd = head[0::2], head[1::2]
        for zeros, encoding in ((odd, "utf-16-le"), (even, "utf-16-be")):
            other = even if zeros is odd else odd
            if zeros.count(0) >= 0.9 * len(zeros) and other.count(0) <= 0.05 * len(other):
                try:
                    return data.decode(encoding).encode("utf-8")
                except UnicodeDecodeError as exc:
                    raise InputError(label, f"cannot decode as {encoding.upper()}: {exc.reason} at byte "
                                     f"{exc.start}") from None
    if b"\x00" in data[:65536]:
        raise InputError(label, "not a text table (binary content); expected CSV, TSV, Excel .xlsx or Parquet")
    try:
        data.decode("utf-8")
        return data
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.encode("utf-8")


def _read_csv_bytes(label: str, data: bytes, delimiter: str | None) -> tuple[pd.DataFrame, list[Issue]]:
    if not data.strip():
        raise InputError(label, "empty file")
    sample = data[:65536].decode("utf-8", errors="ignore")
    delim = delimiter or _sniff_delimiter(sample)
    header = next(csv.reader(_io.StringIO(sample), delimiter=delim), [])
    if not header:
        raise InputError(label, "empty file")
    names = _clean_names(header)
    parse = pacsv.ParseOptions(delimiter=delim, newlines_in_values=b'"' in data)
    convert = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in header},
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    try:
        table = pacsv.read_csv(_io.BytesIO(data), parse_options=parse, convert_options=convert)
        if table.num_columns != len(names):
            raise pa.ArrowInvalid("header mismatch")
        table = table.rename_columns(names)
        table = table.cast(pa.schema([pa.field(n, pa.string()) for n in names]))
        return _tidy_arrow(table).to_pandas(), _name_notes(label, header, names)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        pass
    # Odd files (ragged rows, stray quotes): the python engine skips lines it cannot split.
    bad: list[list[str]] = []

    def on_bad(line: list[str]) -> None:
        bad.append(line)
        return None

    try:
        df = pd.read_csv(
            _io.BytesIO(data),
            sep=delim,
            dtype=str,
            engine="python",
            on_bad_lines=on_bad,
            skip_blank_lines=True,
        )
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        raise InputError(label, f"cannot parse as a delimited table ({exc})") from None
    df.columns = names if len(names) == df.shape[1] else _clean_names(df.columns)
    notes = _name_notes(label, header, names) if len(names) == df.shape[1] else []
    if bad:
        notes.append(
            Issue(label, None, f"{len(bad)} lines with more fields than the header were skipped "
                  f"(e.g. {_examples(delim.join(b) for b in bad[:2])})", len(bad), [])
        )
    return _tidy_pandas(df), notes


def _check_zip(label: str, data: bytes) -> None:
    """Look inside the zip before any sheet is parsed: refuse bombs and non-zips."""
    try:
        with zipfile.ZipFile(_io.BytesIO(data)) as z:
            members = z.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise InputError(label, f"cannot open as an Excel .xlsx workbook (not a valid zip: {exc})") from None
    expanded = sum(m.file_size for m in members)
    _check_expansion(label, "the workbook", expanded, len(data))
    for m in members:  # one huge sheet in an otherwise small workbook
        _check_expansion(label, f"the workbook part {m.filename!r}", m.file_size, max(m.compress_size, 1))


def _read_xlsx(label: str, data: bytes) -> tuple[pd.DataFrame, list[Issue]]:
    _check_zip(label, data)
    try:
        book = pd.ExcelFile(_io.BytesIO(data), engine="openpyxl")
        sheets = book.sheet_names
    except Exception as exc:  # openpyxl raises several unrelated types for bad workbooks
        raise InputError(label, f"cannot open as an Excel .xlsx workbook ({exc})") from None
    if not sheets:
        raise InputError(label, "the workbook has no sheets")

    def header_of(sheet: str) -> list[Any]:
        top = pd.read_excel(book, sheet_name=sheet, header=None, nrows=1, dtype=str)
        return top.iloc[0].tolist() if len(top) else []

    # Workbooks often open with a notes or cover sheet: use the first sheet with a
    # customer id column, or the first sheet when none has one.
    chosen, why = sheets[0], ""
    if len(sheets) > 1:
        try:
            for sheet in sheets:
                cols = _clean_names(header_of(sheet))
                probe = pd.DataFrame(columns=cols)
                if any("customer_id" in detect_mapping(probe, kind) for kind in INPUT_KINDS):
                    chosen = sheet
                    why = " (the first with a customer id column)" if sheet != sheets[0] else ""
                    break
        except Exception as exc:  # noqa: BLE001 - a broken sheet: report it like any bad workbook
            raise InputError(label, f"cannot read the workbook ({exc})") from None
    try:
        raw = pd.read_excel(book, sheet_name=chosen, header=None, dtype=str)
    except Exception as exc:  # noqa: BLE001
        raise InputError(label, f"cannot read sheet {chosen!r} ({exc})") from None
    if raw.empty:
        return pd.DataFrame(), []
    header = raw.iloc[0].tolist()
    names = _clean_names(header)
    df = raw.iloc[1:].reset_index(drop=True)
    df.columns = names
    notes = _name_notes(label, header, names)
    if len(sheets) > 1:
        others = [s for s in sheets if s != chosen]
        notes.append(
            Issue(label, None, f"read sheet {chosen!r}{why}; other sheets ignored: "
                  f"{', '.join(map(repr, others))}", len(others), [])
        )
    return _tidy_pandas(df), notes


def _read(source: Any, name: str | None = None) -> tuple[str, pd.DataFrame, list[Issue]]:
    label, data = _source_bytes(source, name)
    lower = label.lower()
    if data[:2] == _GZIP_MAGIC:
        data = _gunzip(label, data)
        lower = lower[:-3] if lower.endswith(".gz") else lower
    if not data.strip():
        raise InputError(label, "empty file")
    if data[:4] == _PARQUET_MAGIC:
        try:
            df = pd.read_parquet(_io.BytesIO(data))
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError...
            raise InputError(label, f"cannot read Parquet ({exc})") from None
        return label, df.reset_index(drop=True), []
    if data[:4] == _ZIP_MAGIC:
        df, notes = _read_xlsx(label, data)
        return label, df, notes
    if data[:8] == _OLE_MAGIC:
        raise InputError(label, "old Excel .xls format is not supported; save it as .xlsx or CSV")
    text = _decode_text(label, data)
    head = text[:512].lstrip().lower()
    if head.startswith((b"{", b"[{", b'["', b"[]")):
        raise InputError(label, "looks like JSON, not a table; expected CSV, TSV, Excel .xlsx or Parquet")
    if head.startswith((b"<!doctype html", b"<html", b"<?xml")):
        raise InputError(label, "looks like a web page or XML, not a table; expected CSV, TSV, Excel .xlsx or "
                         "Parquet (was the file saved from a browser?)")
    delimiter = "\t" if lower.endswith((".tsv", ".tab")) else None
    df, notes = _read_csv_bytes(label, text, delimiter)
    del data, text
    _release_arrow_memory()
    return label, df, notes


def _release_arrow_memory() -> None:
    """Hand the Arrow buffers a read has finished with back to the system: the allocator
    keeps them otherwise, and a large file's parse would set the peak of everything after."""
    pa.default_memory_pool().release_unused()


def read_table(source: Any, name: str | None = None) -> pd.DataFrame:
    """Read CSV/TSV (any of , ; tab |; UTF-8, UTF-8 BOM, UTF-16 BOM, Latin-1; optionally gzip'd),
    Excel .xlsx (first sheet) or Parquet into a DataFrame.

    ``source`` is a path, a ``(name, bytes)`` pair, bytes (give ``name``) or a file-like
    object with ``.name`` (such as Streamlit's UploadedFile). Text files come back with
    every column as trimmed strings (blank -> missing); Parquet keeps its types. Notes
    about the read (sheet used, skipped lines) are in ``df.attrs["journeylib_notes"]``.
    """
    _, df, notes = _read(source, name)
    df.attrs[_NOTES_ATTR] = notes
    return df


# --------------------------------------------------------------------------- mapping


def _key(name: Any) -> str:
    return re.sub(r"[^a-z0-9]+", "", str(name).lower())


# Spellings per field, best first; compared case-, space- and punctuation-insensitively.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer_id": (
        "customer_id", "cust_id", "user_id", "client_id", "case:concept:name", "case_id",
        "visitor_id", "user_pseudo_id", "distinct_id", "anonymous_id", "person_id",
        "contact_id", "account_id", "respondent_id", "review_id", "customer", "client",
        "user", "visitor", "respondent",
    ),
    "timestamp": (
        "timestamp", "time:timestamp", "event_timestamp", "event_time", "datetime",
        "date_time", "created_at", "occurred_at", "time", "date", "ts", "received_at",
    ),
    "touchpoint": (
        "touchpoint", "touch_point", "event", "event_name", "event_type", "activity",
        "concept:name", "page", "page_name", "action", "interaction",
    ),
    "stage": ("stage", "journey_stage", "phase", "lifecycle_stage", "funnel_stage"),
    "channel": ("channel", "case:channel", "source", "medium", "utm_source", "utm_medium"),
    "score": ("score", "rating", "satisfaction_score", "csat", "feeling", "emotion", "sentiment_score"),
    "comment": (
        "comment", "comments", "text", "feedback", "review", "verbatim", "review_body",
        "review_text", "open_text",
    ),
    "nps": ("nps", "nps_score", "likelihood_to_recommend", "recommend_score", "ltr"),
}
# "id" names a row of the file itself: a customer only in customer and survey files.
_ID_ONLY_KINDS = ("survey", "customers")
_SEGMENT_USER, _SEGMENT_ANON = "userid", "anonymousid"


def _kind_fields(kind: str) -> tuple[str, ...]:
    required, optional = FIELDS[kind]
    fields = required + optional
    if kind == "touchpoints":
        # A combined file may carry survey answers next to the events.
        fields = fields + ("score", "comment", "nps")
    return fields


def detect_mapping(df: pd.DataFrame, kind: str) -> dict[str, str]:
    """Guess which column holds each canonical field of ``kind`` from common spellings.

    Each column is used for at most one field. For a touchpoints file the survey fields
    (score, comment, nps) are detected too, so a combined file also yields the survey.
    """
    if kind not in INPUT_KINDS:
        raise ValueError(f"kind must be one of {INPUT_KINDS}, not {kind!r}")
    by_key: dict[str, str] = {}
    for col in df.columns:
        by_key.setdefault(_key(col), col)
    used: set[str] = set()
    found: dict[str, str] = {}
    for fld in _kind_fields(kind):
        spellings = list(_SYNONYMS.get(fld, (fld,)))
        if fld == "customer_id" and kind in _ID_ONLY_KINDS:
            spellings.append("id")
        for spelling in spellings:
            col = by_key.get(_key(spelling))
            if col is not None and col not in used:
                found[fld] = col
                used.add(col)
                break
    return found


def _relevant_kinds(fld: str) -> tuple[str, ...]:
    return tuple(k for k in INPUT_KINDS if fld in _kind_fields(k))


def _resolve_mapping(
    frames: Mapping[str, tuple[str, pd.DataFrame]], mapping: Mapping[str, Any] | None
) -> tuple[dict[str, dict[str, Any]], list[InputError]]:
    """Per kind: field -> column (or list of columns). Overrides beat detection.

    An override ``field=column`` applies to every file that has that column; one naming a
    column no relevant file has is an error. ``kind.field`` (e.g. ``survey.timestamp``)
    applies to that file only and must exist there.
    """
    resolved = {kind: detect_mapping(df, kind) for kind, (_, df) in frames.items()}
    errors: list[InputError] = []
    for raw_key, value in (mapping or {}).items():
        kind_only, fld = None, str(raw_key)
        prefix, _, rest = fld.partition(".")
        if rest and prefix in INPUT_KINDS:
            kind_only, fld = prefix, rest
        if value is None or (isinstance(value, (str, list, tuple)) and len(value) == 0):
            continue
        if not _relevant_kinds(fld):
            errors.append(InputError("mapping", f"unknown field {fld!r}; fields are "
                                     f"{', '.join(_SYNONYMS)}"))
            continue
        cols = list(value) if isinstance(value, (list, tuple)) else [value]
        targets = [kind_only] if kind_only else [k for k in _relevant_kinds(fld) if k in frames]
        targets = [k for k in targets if k in frames]
        if not targets:
            continue
        applied = False
        for kind in targets:
            df = frames[kind][1]
            if not all(c in df.columns for c in cols):
                continue
            # The column now belongs to this field; detection must not also use it elsewhere.
            for other, col in list(resolved[kind].items()):
                if other != fld and isinstance(col, str) and col in cols:
                    del resolved[kind][other]
            resolved[kind][fld] = list(value) if isinstance(value, (list, tuple)) else value
            applied = True
        if not applied:
            kind = max(targets, key=lambda k: sum(c in frames[k][1].columns for c in cols))
            label, df = frames[kind]
            missing = [c for c in cols if c not in df.columns]
            errors.append(
                InputError(label, f"mapped column {', '.join(map(repr, missing))} for field {fld!r} "
                           f"not found; columns: {', '.join(map(str, df.columns))}", column=str(missing[0]))
            )
    return resolved, errors


# --------------------------------------------------------------------------- timestamps

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


def _naive_utc(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values.astype("datetime64[us]")


def _epoch(numbers: pd.Series) -> pd.Series:
    """Epoch seconds, milliseconds, microseconds or nanoseconds, told apart by magnitude."""
    valid = numbers.dropna()
    if valid.empty:
        return pd.Series(pd.NaT, index=numbers.index, dtype="datetime64[us]")
    ints = valid[(valid % 1) == 0]
    if len(ints) == len(valid) and valid.between(19000101, 21001231).all():
        as_text = valid.astype("int64").astype("str")
        parsed = pd.to_datetime(as_text, format="%Y%m%d", errors="coerce")
        if parsed.notna().all():  # YYYYMMDD written as a number (GA4 event_date)
            return parsed.reindex(numbers.index).astype("datetime64[us]")
    magnitude = float(valid.abs().median())
    unit = "s" if magnitude < 1e11 else "ms" if magnitude < 1e14 else "us" if magnitude < 1e17 else "ns"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(numbers, unit=unit, errors="coerce")
    return parsed.astype("datetime64[us]")


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


def _day_month(values: pd.Series, column: str, file: str, rownums: np.ndarray) -> tuple[pd.Series, list[Issue], bool]:
    """Dates like 03/04/2024: choose DD/MM or MM/DD by which reads every row; warn when both do."""
    parts = values.str.extract(_DMY_RE)
    a, b, y, rest = (parts[i] for i in range(4))
    y = y.where(y.str.len() != 2, ("20" + y).where(y.astype("float") < 70, "19" + y))
    rest = rest.fillna("")
    day_first = _iso(y + "-" + b.str.zfill(2) + "-" + a.str.zfill(2) + rest)
    month_first = _iso(y + "-" + a.str.zfill(2) + "-" + b.str.zfill(2) + rest)
    n_day, n_month = int(day_first.notna().sum()), int(month_first.notna().sum())
    issues: list[Issue] = []
    if n_month > n_day:
        return month_first, issues, False
    differ = (day_first != month_first) & day_first.notna() & month_first.notna()
    n_differ = int(differ.sum())
    if n_day == n_month and n_differ:
        issues.append(
            Issue(file, column, f"ambiguous day/month order in column {column!r}; read as DD/MM "
                  f"({n_differ} rows would differ); set the order in the file as YYYY-MM-DD to be sure",
                  n_differ, rownums[differ.to_numpy()][:MAX_EXAMPLES].tolist())
        )
    return day_first, issues, True


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
    sample = present.iloc[:1000]
    issues: list[Issue] = []
    dayfirst = False
    if sample.str.match(_NUMERIC_RE).all() and present.str.match(_NUMERIC_RE).all():
        parsed = _epoch(pd.to_numeric(text, errors="coerce"))
    elif sample.str.match(_ISO_RE).mean() > 0.5:
        parsed = _iso(text)
    elif sample.str.match(_YMD_SLASH_RE).mean() > 0.5:
        parsed = _iso(text.str.replace(_YMD_SLASH_RE, r"\1-\2-\3", regex=True))
    elif sample.str.match(_DMY_RE).mean() > 0.5:
        parsed, issues, dayfirst = _day_month(text, column, file, rownums)
    else:
        parsed = _text_dates(text)
    # Only text that looks like a date gets the lenient parser: it would read "1" or "May"
    # as a day of the current month.
    failed = parsed.isna() & text.notna() & text.str.contains(r"\d{2}", regex=True) & (text.str.len() >= 6)
    if failed.any():
        retry = _mixed(text[failed], dayfirst=dayfirst)
        parsed = parsed.copy()
        parsed[failed] = retry
    return parsed, issues


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


# --------------------------------------------------------------------------- scores

# Standard scales by family, narrowest first (a scale is never rescaled, only detected).
_SCALES_NONNEG = ((1, 5), (0, 5), (1, 7), (1, 10), (0, 10))
_SCALES_SIGNED = ((-2, 2), (-3, 3))


def detect_score_scale(scores: pd.Series) -> ScoreScale | None:
    """The narrowest standard scale holding at least 99% of the scores (sign decides the
    family: 1-5, 0-5, 1-7, 1-10, 0-10 or -2..2, -3..3); otherwise the observed range."""
    values = pd.to_numeric(scores, errors="coerce").dropna()
    if values.empty:
        return None
    low, high = float(values.min()), float(values.max())
    family = _SCALES_SIGNED if low < 0 else _SCALES_NONNEG
    for lo, hi in family:
        if values.between(lo, hi).mean() >= 0.99:
            return ScoreScale(float(lo), float(hi))
    return ScoreScale(low, high)


# --------------------------------------------------------------------------- conversion helpers


def _as_text(values: pd.Series) -> pd.Series:
    """A column as nullable strings; integral floats lose their '.0' so ids match across files."""
    if pd.api.types.is_float_dtype(values.dtype):
        finite = values.dropna()
        if (finite % 1 == 0).all():
            values = values.astype("Int64")
    out = values.astype("str")
    if pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
        out = out.mask(values.isna())
    present = out.dropna()
    if len(present) and present.str.endswith(".0").all() and present.str.match(r"^-?\d+\.0+$").all():
        out = out.str.replace(r"\.0+$", "", regex=True)
    return out.astype("str")


def _convert_extra(values: pd.Series) -> pd.Series:
    """Extra columns become numbers when every value is one (and none has a leading zero)."""
    if not (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
        return values
    # pyarrow throughout: a wide file has thousands of extra columns.
    arr = pa.array(values.astype("str"), from_pandas=True)
    if arr.null_count == len(arr) or pc.any(pc.match_substring_regex(arr, r"^-?0\d")).as_py():
        return values.astype("str")
    for target in (pa.int64(), pa.float64()):
        try:
            converted = pc.cast(arr, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        out = converted.to_pandas()
        if target == pa.int64() and converted.null_count:
            out = pd.Series(out, dtype="Int64")
        return pd.Series(out, index=values.index)
    return values.astype("str")


def _column(df: pd.DataFrame, spec: Any) -> pd.Series:
    """A mapped column; a list means the first non-missing value left to right, per row."""
    if isinstance(spec, (list, tuple)):
        out = _as_text(df[spec[0]])
        for extra in spec[1:]:
            out = out.fillna(_as_text(df[extra]))
        return out
    return df[spec]


def _rownums(mask: np.ndarray, seq: np.ndarray) -> list[int]:
    return (seq[mask][:MAX_EXAMPLES] + 1).tolist()


def _exact_duplicates(df: pd.DataFrame, first: Sequence[str] = (), prefilter: np.ndarray | None = None) -> np.ndarray:
    """Rows equal in every column to an earlier row.

    Exact (per-column codes, no hashing). Columns in ``first`` (the most distinctive,
    such as the timestamp) go first, and after each column only rows that still have a
    twin are looked at, so a file without duplicates costs about two columns' work.
    ``prefilter`` (e.g. parsed timestamps as int64) is equal for any two equal rows, and
    narrows the candidates cheaply before any text column is compared.
    """
    n = len(df)
    out = np.zeros(n, dtype=bool)
    if n == 0 or df.shape[1] == 0:
        return out
    order = [c for c in first if c in df.columns]
    order += [c for c in df.columns if c not in order]
    rows = np.arange(n)
    key = np.zeros(n, dtype=np.int64)
    if prefilter is not None:
        key, _ = pd.factorize(prefilter, use_na_sentinel=False)
        twins = pd.Series(key).duplicated(keep=False).to_numpy()
        rows, key = rows[twins], np.zeros(int(twins.sum()), dtype=np.int64)
        if len(rows) == 0:
            return out
    for name in order:
        codes, uniques = pd.factorize(df[name].iloc[rows], use_na_sentinel=False)
        key, _ = pd.factorize(key * (len(uniques) + 1) + codes)
        twins = pd.Series(key).duplicated(keep=False).to_numpy()
        rows, key = rows[twins], key[twins].astype(np.int64)
        if len(rows) == 0:
            return out
    out[rows[pd.Series(key).duplicated().to_numpy()]] = True
    return out


def _stage_lookup(stages: Sequence[str]):
    """Label -> stage name in ``stages`` or None, via schema.normalize_stage."""
    valid = set(stages)

    def lookup(label: Any) -> str | None:
        got = normalize_stage(label, stages)
        return got if got in valid else None

    return lookup


def default_touchpoint_stage_map(touchpoints: Iterable[str], stages: Sequence[str] = DEFAULT_STAGES) -> dict[str, str]:
    """Touchpoints whose name (or a word of it) is a stage name or synonym, e.g.
    "Checkout page" -> Purchase. Names with no such word are left out (no stage)."""
    lookup = _stage_lookup(stages)
    words = {k: v for k, v in STAGE_SYNONYMS.items() if v in stages}
    words.update({_key(s): s for s in stages})
    out: dict[str, str] = {}
    for tp in touchpoints:
        if tp is None or (isinstance(tp, float) and np.isnan(tp)):
            continue
        stage = lookup(tp)
        if stage is None:
            for word in re.split(r"[^a-z0-9]+", str(tp).lower()):
                if word in words:
                    stage = words[word]
                    break
        if stage is not None:
            out[str(tp)] = stage
    return out


def _map_values(values: pd.Series, fn) -> pd.Series:
    """Apply ``fn`` to each distinct value only (columns repeat a few labels many times)."""
    codes, uniques = pd.factorize(values)
    mapped = np.array([fn(u) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype="str")


# --------------------------------------------------------------------------- loader


class _Collector:
    def __init__(self) -> None:
        self.warnings: list[Issue] = []

    def warn(self, file: str, column: str | None, message: str, count: int = 0, rows: Sequence[int] = ()) -> None:
        self.warnings.append(Issue(file, column, message, int(count), list(rows)))


def _require(kind: str, label: str, df: pd.DataFrame, cols: Mapping[str, Any], fields: Sequence[str]) -> None:
    for fld in fields:
        if fld not in cols:
            raise InputError(
                label,
                f"no column for required field {fld!r} (tried {', '.join(_SYNONYMS.get(fld, (fld,))[:6])}...); "
                f"columns: {', '.join(map(str, df.columns))}; set it with a mapping such as {fld}=COLUMN",
                column=fld,
            )


def _drop(mask: np.ndarray, keep: np.ndarray, seq: np.ndarray, sink: _Collector, label: str,
          column: str | None, what: str, examples: Iterable[Any] = ()) -> np.ndarray:
    """Drop rows where ``mask`` (among those still kept) and record why."""
    mask = mask & keep
    n = int(mask.sum())
    if n:
        ex = list(examples)
        tail = f" (e.g. {_examples(ex)})" if ex else ""
        sink.warn(label, column, f"{n} rows dropped: {what}{tail}; {_rownums_text(mask, seq, n)}", n,
                  _rownums(mask, seq))
    return keep & ~mask


def _rownums_text(mask: np.ndarray, seq: np.ndarray, n: int) -> str:
    return _rows_text(_rownums(mask, seq), n)


def _parse_ts_column(df: pd.DataFrame, col: str, label: str, seq: np.ndarray, sink: _Collector) -> pd.Series:
    parsed, notes = parse_timestamps(df[col], column=col, file=label, rownums=seq + 1)
    sink.warnings.extend(notes)
    return parsed


def _stage_column(values: pd.Series, stages: Sequence[str], label: str, column: str, seq: np.ndarray,
                  sink: _Collector) -> pd.Series:
    """Normalise stage labels; unknown ones are reported and set to missing."""
    text = _as_text(values)
    normalised = _map_values(text, lambda v: normalize_stage(v, stages))
    unknown = (normalised.notna() & ~normalised.isin(list(stages))).to_numpy()
    if unknown.any():
        labels = pd.unique(text[unknown])
        n = int(unknown.sum())
        sink.warn(label, column, f"{n} rows have a stage not in the stage order ({', '.join(stages)}): "
                  f"{_examples(labels, 5)}; their stage is left empty; {_rownums_text(unknown, seq, n)}",
                  n, _rownums(unknown, seq))
        normalised = normalised.mask(unknown)
    return normalised


def _fill_stage(stage: pd.Series, touchpoint: pd.Series, tp_map: Mapping[str, str]) -> pd.Series:
    if not tp_map or not stage.isna().any():
        return stage
    from_map = _map_values(touchpoint, lambda t: tp_map.get(t))
    return stage.fillna(from_map)


def _whole_numbers(text: pd.Series) -> pd.Series | None:
    """Float values of text that is all plain integers (or missing), or None for anything
    else. Scores and NPS are such columns, and pyarrow reads them several times faster
    than pandas' to_numeric, with the same values."""
    arr = pa.array(text, type=pa.string(), from_pandas=True)
    if pc.all(pc.match_substring_regex(arr, r"^-?\d{1,15}$")).as_py() is not True:  # None: all missing
        return None
    values = pc.cast(pc.cast(arr, pa.int64()), pa.float64()).to_numpy(zero_copy_only=False)
    return pd.Series(values, index=text.index, dtype="float64")


def _numbers(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Float values of a column, and a mask of values present but not numbers."""
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype("float64"), np.zeros(len(raw), dtype=bool)
    text = raw.astype("str")
    numbers = _whole_numbers(text)
    if numbers is None:
        numbers = pd.to_numeric(text, errors="coerce").astype("float64")
    bad = (numbers.isna() & text.notna()).to_numpy()
    if bad.any():  # decimal commas, "4,5"
        numbers[bad] = pd.to_numeric(text[bad].str.replace(",", ".", regex=False), errors="coerce")
        bad = (numbers.isna() & text.notna()).to_numpy()
    infinite = np.isinf(numbers.to_numpy())  # "inf", "1e400": text that is no usable number
    if infinite.any():
        numbers = numbers.mask(infinite)
        bad = bad | infinite
    return numbers, bad


def _scores(raw: pd.Series, not_rated: Sequence[float], label: str, column: str, seq: np.ndarray,
            keep: np.ndarray, sink: _Collector, report_blank: bool = True) -> tuple[pd.Series, np.ndarray]:
    """Numeric scores; blanks, not-rated codes and non-numbers are dropped and counted."""
    numbers, bad = _numbers(raw)
    blank = numbers.isna().to_numpy() & ~bad
    if report_blank:
        keep = _drop(blank, keep, seq, sink, label, column, "no score")
    else:
        keep = keep & ~blank
    if bad.any():
        keep = _drop(bad, keep, seq, sink, label, column, "score is not a number",
                     raw[bad & keep].unique()[:3] if (bad & keep).any() else ())
    if not_rated:
        nr = numbers.isin([float(v) for v in not_rated]).to_numpy()
        nr_kept = nr & keep
        n = int(nr_kept.sum())
        if n:
            sink.warn(label, column, f"{n} scores coded as not rated "
                      f"({', '.join(f'{v:g}' for v in not_rated)}) treated as missing; "
                      f"{_rownums_text(nr_kept, seq, n)}", n, _rownums(nr_kept, seq))
        keep = keep & ~nr
    return numbers, keep


def _extras(df: pd.DataFrame, used: set[str]) -> dict[str, pd.Series]:
    return {c: _convert_extra(df[c]) for c in df.columns if c not in used}


def _used_columns(cols: Mapping[str, Any]) -> set[str]:
    out: set[str] = set()
    for spec in cols.values():
        out.update(spec if isinstance(spec, (list, tuple)) else [spec])
    return out


def _customer_ids(df: pd.DataFrame, spec: Any) -> pd.Series:
    """Customer ids as text; Segment exports fall back from userId to anonymousId per row."""
    if isinstance(spec, str) and _key(spec) == _SEGMENT_USER:
        anon = [c for c in df.columns if _key(c) == _SEGMENT_ANON]
        if anon:
            spec = [spec, anon[0]]
    return _as_text(_column(df, spec))


def _events_frame(label: str, df: pd.DataFrame, cols: dict[str, Any], stages: Sequence[str],
                  tp_map: Mapping[str, str], sink: _Collector) -> pd.DataFrame:
    _require("touchpoints", label, df, cols, FIELDS["touchpoints"][0])
    n = len(df)
    seq = np.arange(n, dtype=np.int64)
    keep = np.ones(n, dtype=bool)
    ts_col = cols["timestamp"]
    if isinstance(ts_col, (list, tuple)):
        raise InputError(label, "timestamp must be mapped to one column", column="timestamp")

    ts = _parse_ts_column(df, ts_col, label, seq, sink)
    dup = _exact_duplicates(df, first=[ts_col] + sorted(_used_columns(cols) - {ts_col}),
                            prefilter=ts.to_numpy().view("int64"))
    keep = _drop(dup, keep, seq, sink, label, None, "exact duplicates of an earlier row")

    cid = _customer_ids(df, cols["customer_id"])
    keep = _drop(cid.isna().to_numpy(), keep, seq, sink, label, str(cols["customer_id"]), "no customer id")

    raw_ts = df[ts_col]
    ts_missing = ts.isna().to_numpy()
    if not (~ts_missing).any():
        examples = raw_ts.dropna().unique()[:3]
        if len(examples) == 0:
            raise InputError(label, f"column {ts_col!r} (timestamp) is empty", column=ts_col)
        raise InputError(label, f"no parseable timestamp in column {ts_col!r} (e.g. {_examples(examples)}); "
                         "expected ISO 8601, DD/MM/YYYY, '19th November 2023' or epoch numbers",
                         column=ts_col, rows=[1])
    blank_ts = raw_ts.isna().to_numpy()
    keep = _drop(blank_ts, keep, seq, sink, label, ts_col, "no timestamp")
    bad_ts = ts_missing & ~blank_ts
    keep = _drop(bad_ts, keep, seq, sink, label, ts_col, "unparseable timestamp",
                 raw_ts[bad_ts & keep].unique()[:3] if (bad_ts & keep).any() else ())

    tp = _as_text(df[cols["touchpoint"]]) if not isinstance(cols["touchpoint"], list) else _column(df, cols["touchpoint"])
    keep = _drop(tp.isna().to_numpy(), keep, seq, sink, label, str(cols["touchpoint"]), "no touchpoint")
    _warn_implausible_dates(ts, raw_ts, keep, seq, sink, label, ts_col)

    if "stage" in cols:
        stage = _stage_column(df[cols["stage"]].where(keep), stages, label, cols["stage"], seq, sink)
    else:
        stage = pd.Series(None, index=df.index, dtype="str")
    stage = _fill_stage(stage, tp, tp_map)
    channel = _as_text(df[cols["channel"]]) if "channel" in cols else pd.Series(None, index=df.index, dtype="str")

    used = _used_columns(cols)
    if isinstance(cols["customer_id"], str) and _key(cols["customer_id"]) == _SEGMENT_USER:
        used.update(c for c in df.columns if _key(c) == _SEGMENT_ANON)
    out = pd.DataFrame(
        {
            "customer_id": cid,
            "timestamp": ts,
            "seq": seq,
            "touchpoint": tp,
            "stage": stage,
            "channel": channel,
            **{k: v for k, v in _extras(df, used).items() if k not in
               ("customer_id", "timestamp", "seq", "touchpoint", "stage", "channel")},
        }
    )
    return out[keep].reset_index(drop=True)


_EARLIEST = pd.Timestamp("1900-01-01")


def _warn_implausible_dates(ts: pd.Series, raw: pd.Series, keep: np.ndarray, seq: np.ndarray,
                            sink: _Collector, label: str, column: str) -> None:
    """Count (and keep) timestamps after tomorrow or before 1900: usually a wrong format or
    a placeholder such as 9999-12-31; they stretch every date range in the app."""
    values = ts.to_numpy()
    latest = np.datetime64(pd.Timestamp.now(tz="UTC").tz_localize(None).normalize() + pd.Timedelta(days=2), "us")
    for mask, what in (
        ((values > latest) & keep, f"in the future (after {pd.Timestamp(latest):%Y-%m-%d})"),
        ((values < np.datetime64(_EARLIEST, "us")) & keep, "before 1900"),
    ):
        n = int(mask.sum())
        if n:
            sink.warn(label, column, f"{n} timestamps are {what}; kept, check the dates "
                      f"(e.g. {_examples(raw[mask].unique())}); {_rownums_text(mask, seq, n)}",
                      n, _rownums(mask, seq))


def _survey_frame(label: str, df: pd.DataFrame, cols: dict[str, Any], stages: Sequence[str],
                  tp_map: Mapping[str, str], not_rated: Sequence[float], sink: _Collector,
                  combined: bool = False) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Survey rows (long, or melted from a wide table) and, for a wide table, the
    respondents' other columns as customer attributes."""
    _require("survey", label, df, cols, FIELDS["survey"][0])
    n = len(df)
    seq = np.arange(n, dtype=np.int64)
    keep = np.ones(n, dtype=bool)
    if not combined:  # a combined file's duplicates were already reported with the events
        # The answer time, when there is one, tells rows apart fastest.
        lead = [cols["timestamp"]] if isinstance(cols.get("timestamp"), str) else []
        first = lead + sorted(_used_columns(cols) - set(lead))
        keep = _drop(_exact_duplicates(df, first=first), keep, seq, sink, label, None,
                     "exact duplicates of an earlier row")
    cid = _customer_ids(df, cols["customer_id"])
    keep = _drop(cid.isna().to_numpy(), keep, seq, sink, label, str(cols["customer_id"]), "no customer id")

    per_row: dict[str, pd.Series] = {}
    if "timestamp" in cols:
        ts_col = cols["timestamp"]
        ts = _parse_ts_column(df, ts_col, label, seq, sink)
        bad = (ts.isna() & df[ts_col].notna()).to_numpy() & keep
        if bad.any():
            nb = int(bad.sum())
            sink.warn(label, ts_col, f"{nb} unparseable timestamps left empty "
                      f"(e.g. {_examples(df[ts_col][bad].unique())}); {_rownums_text(bad, seq, nb)}",
                      nb, _rownums(bad, seq))
        per_row["timestamp"] = ts
    else:
        per_row["timestamp"] = pd.Series(pd.NaT, index=df.index, dtype="datetime64[us]")
    per_row["comment"] = (_as_text(df[cols["comment"]]) if "comment" in cols
                          else pd.Series(None, index=df.index, dtype="str"))
    if "nps" in cols:
        nps, bad = _numbers(df[cols["nps"]])
        bad = bad & keep
        if bad.any():
            nb = int(bad.sum())
            sink.warn(label, cols["nps"], f"{nb} NPS values are not numbers and were left empty "
                      f"(e.g. {_examples(df[cols['nps']][bad].unique())}); {_rownums_text(bad, seq, nb)}",
                      nb, _rownums(bad, seq))
        outside = (nps.notna() & ~nps.between(0, 10)).to_numpy() & keep
        if outside.any():
            no = int(outside.sum())
            sink.warn(label, cols["nps"], f"{no} NPS values outside 0-10 left empty; "
                      f"{_rownums_text(outside, seq, no)}", no, _rownums(outside, seq))
            nps = nps.mask(outside)
        per_row["nps"] = nps
    else:
        per_row["nps"] = pd.Series(np.nan, index=df.index)

    score_spec = cols["score"]
    used = _used_columns(cols)
    lookup = _stage_lookup(stages)
    rownum = pd.Series(seq + 1, index=df.index)
    attributes = None
    if isinstance(score_spec, (list, tuple)):
        parts = []
        for col in score_spec:
            numbers, ok = _scores(df[col], not_rated, label, col, seq, keep.copy(), sink)
            col_stage = lookup(col)
            stage = col_stage if col_stage is not None else tp_map.get(str(col))
            part = pd.DataFrame(
                {
                    "customer_id": cid,
                    "stage": pd.Series(stage, index=df.index, dtype="str"),
                    "touchpoint": pd.Series(str(col), index=df.index, dtype="str"),
                    "score": numbers,
                    "comment": per_row["comment"],
                    "timestamp": per_row["timestamp"],
                    "nps": per_row["nps"],
                    "_row": rownum,
                }
            )
            parts.append(part[ok])
        survey = pd.concat(parts, ignore_index=True)
        extra = {k: v for k, v in _extras(df, used).items() if k != "customer_id"}
        if extra and not combined:
            # A wide table has one row per respondent: its other columns describe the customer.
            attributes = pd.DataFrame({"customer_id": cid, **extra})[keep]
    else:
        numbers, ok = _scores(df[score_spec], not_rated, label, score_spec, seq, keep, sink,
                              report_blank=not combined)
        stage = (_stage_column(df[cols["stage"]], stages, label, cols["stage"], seq, sink)
                 if "stage" in cols else pd.Series(None, index=df.index, dtype="str"))
        tp = (_as_text(df[cols["touchpoint"]]) if "touchpoint" in cols
              else pd.Series(None, index=df.index, dtype="str"))
        stage = _fill_stage(stage, tp, tp_map)
        if "stage" not in cols and "touchpoint" not in cols:
            sink.warn(label, None, "no stage or touchpoint column: scores cannot be placed on the journey")
        extra = {} if combined else {k: v for k, v in _extras(df, used).items() if k not in SURVEY_FIELDS_ALL}
        survey = pd.DataFrame(
            {
                "customer_id": cid,
                "stage": stage,
                "touchpoint": tp,
                "score": numbers,
                "comment": per_row["comment"],
                "timestamp": per_row["timestamp"],
                "nps": per_row["nps"],
                **extra,
                "_row": rownum,
            }
        )[ok].reset_index(drop=True)
    if survey.empty:
        specs = score_spec if isinstance(score_spec, (list, tuple)) else [score_spec]
        raise InputError(label, f"no usable scores in {', '.join(map(repr, specs))}", column=str(specs[0]))
    return survey, attributes


SURVEY_FIELDS_ALL = ("customer_id", "stage", "touchpoint", "score", "comment", "timestamp", "nps", "_row")


def _customers_frame(label: str, df: pd.DataFrame, cols: dict[str, Any], sink: _Collector) -> pd.DataFrame:
    _require("customers", label, df, cols, FIELDS["customers"][0])
    n = len(df)
    seq = np.arange(n, dtype=np.int64)
    keep = np.ones(n, dtype=bool)
    keep = _drop(_exact_duplicates(df), keep, seq, sink, label, None, "exact duplicates of an earlier row")
    cid = _customer_ids(df, cols["customer_id"])
    keep = _drop(cid.isna().to_numpy(), keep, seq, sink, label, str(cols["customer_id"]), "no customer id")
    repeated = cid.duplicated().to_numpy()
    keep = _drop(repeated, keep, seq, sink, label, str(cols["customer_id"]),
                 "customer id repeated (first row kept)")
    extra = {k: v for k, v in _extras(df, _used_columns(cols)).items() if k != "customer_id"}
    return pd.DataFrame({"customer_id": cid, **extra})[keep].reset_index(drop=True)


def _merge_attributes(customers: pd.DataFrame | None, attrs: pd.DataFrame | None) -> pd.DataFrame | None:
    if attrs is None or attrs.shape[1] <= 1:
        return customers
    attrs = attrs.drop_duplicates("customer_id")
    if customers is None:
        return attrs.reset_index(drop=True)
    new = [c for c in attrs.columns if c == "customer_id" or c not in customers.columns]
    return customers.merge(attrs[new], on="customer_id", how="left")


def _empty_events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series([], dtype="str"),
            "timestamp": pd.Series([], dtype="datetime64[us]"),
            "seq": pd.Series([], dtype="int64"),
            "touchpoint": pd.Series([], dtype="str"),
            "stage": pd.Series([], dtype="str"),
            "channel": pd.Series([], dtype="str"),
        }
    )


def _compact(frame: pd.DataFrame) -> pa.Table:
    """The frame as an Arrow table with one contiguous buffer per column: the backend
    ingests that several times faster than the many small chunks a parallel CSV read and
    row filters leave behind (and Arrow types need no inference from pandas)."""
    return pa.Table.from_pandas(frame, preserve_index=False).combine_chunks()


def _open(source: Any, kind: str) -> tuple[str, pd.DataFrame, list[Issue]]:
    if isinstance(source, pd.DataFrame):
        # A frame from read_table carries what the read changed (sheet chosen, lines
        # skipped, headers renamed): report it as if the file had been given here.
        notes = [i for i in source.attrs.get(_NOTES_ATTR, []) if isinstance(i, Issue)]
        return kind, _tidy_pandas(source.reset_index(drop=True)), notes
    label, df, notes = _read(source)
    return label, df, notes


@dataclass
class _Result:
    data: JourneyData | None
    errors: list[Issue]
    warnings: list[Issue]


def _fast_files(sources: Mapping[str, Any], mapping, engine) -> dict[str, Any]:
    """Kind -> the in-engine reader of each large plain CSV among the inputs (see
    csv_ingest); the other files take the pandas path."""
    from journeylib import csv_ingest

    out = {}
    for kind, source in sources.items():
        if source is None or isinstance(source, pd.DataFrame):
            continue
        try:
            out[kind] = csv_ingest.prepare(source, mapping, engine or default_engine(), kind=kind)
        except (csv_ingest.Fallback, InputError):
            continue
        except Exception:  # noqa: BLE001 - any engine trouble: the pandas path still works
            continue
    return out


def _drop_fast(fasts: Mapping[str, Any]) -> None:
    for fast in fasts.values():
        fast.drop_events()


def _load(touchpoints, survey, customers, mapping, stages, touchpoint_stage_map, not_rated, engine,
          register: bool = True) -> _Result:
    sources = {"touchpoints": touchpoints, "survey": survey, "customers": customers}
    fasts = _fast_files(sources, mapping, engine)
    try:
        try:
            return _load_inner(sources, mapping, stages, touchpoint_stage_map, not_rated, engine, register, fasts)
        except Exception:  # noqa: BLE001
            # Found late (an extra column's numbers, an engine error): start over on the pandas path.
            if not fasts:
                raise
            _drop_fast(fasts)
            fasts = {}
            return _load_inner(sources, mapping, stages, touchpoint_stage_map, not_rated, engine, register, {})
    finally:
        for fast in fasts.values():
            fast.drop()


def _load_inner(sources: Mapping[str, Any], mapping, stages, touchpoint_stage_map, not_rated, engine,
                register: bool, fasts: dict[str, Any]) -> _Result:
    from journeylib import csv_ingest

    stages = tuple(stages)
    sink = _Collector()
    errors: list[Issue] = []

    def fail(exc: InputError) -> None:
        errors.append(Issue(exc.file, exc.column, exc.message, len(exc.rows), exc.rows, "error"))

    frames: dict[str, tuple[str, pd.DataFrame]] = {}
    for kind, source in sources.items():
        if source is None:
            continue
        if kind in fasts:
            frames[kind] = (fasts[kind].label, fasts[kind].header_frame())
            continue
        try:
            label, df, notes = _open(source, kind)
        except InputError as exc:
            fail(exc)
            continue
        sink.warnings.extend(notes)
        if df.shape[1] == 0 or len(df) == 0:
            fail(InputError(label, "no data rows (the file has only a header)" if df.shape[1] else "empty file"))
            continue
        frames[kind] = (label, df)
    if not frames and not errors:
        errors.append(Issue("(input)", None, "no input: give a touchpoints or survey file", 0, [], "error"))
    cols, map_errors = _resolve_mapping(frames, mapping)
    for exc in map_errors:
        fail(exc)
    if any(e.file == "mapping" for e in errors):
        _drop_fast(fasts)
        return _Result(None, errors, sink.warnings)
    # Check the files that could be read and mapped too, so a report lists every problem.
    failed = {e.file for e in errors}
    frames = {k: v for k, v in frames.items() if v[0] not in failed}

    def pandas_instead(kind: str) -> None:
        # The engine path cannot give this file's rows as pandas would: read it again there.
        fasts.pop(kind).drop_events()
        label, df, notes = _open(sources[kind], kind)
        sink.warnings.extend(notes)
        frames[kind] = (label, df)

    # The engine path reads a long survey and its own customers only: a combined events
    # file adds survey rows, and a wide survey adds customer attributes, both in pandas.
    combined = "score" in cols.get("touchpoints", {})
    wide = isinstance(cols.get("survey", {}).get("score"), (list, tuple))
    for kind, off in (("survey", combined), ("customers", wide)):
        if off and kind in fasts and kind in frames:
            pandas_instead(kind)
    fast = fasts.get("touchpoints")

    tp_map: dict[str, str] = {}
    if touchpoint_stage_map is not None:
        lookup = _stage_lookup(stages)
        for tp, label_ in touchpoint_stage_map.items():
            got = lookup(label_)
            if got is None and label_ is not None and str(label_).strip():
                sink.warn("touchpoint_stage_map", None, f"stage {label_!r} for touchpoint {tp!r} "
                          f"is not in the stage order; ignored", 1)
            elif got is not None:
                tp_map[str(tp)] = got
    elif "touchpoints" in frames:
        tcols = cols["touchpoints"]
        if "touchpoint" in tcols and isinstance(tcols["touchpoint"], str):
            names = (fast.distinct_touchpoints() if fast is not None else
                     pd.unique(frames["touchpoints"][1][tcols["touchpoint"]].dropna().astype("str")))
            tp_map = default_touchpoint_stage_map(names, stages)

    events = survey_df = customers_df = None
    views: dict[str, Any] = {}  # kind -> the engine view the engine path made
    attributes: list[pd.DataFrame] = []
    surveys: list[tuple[str, Any]] = []  # (file, its kept rows: a frame, or an engine expression)
    if "touchpoints" in frames and fast is not None:
        events = csv_ingest.build_events(fast, stages, tp_map, sink)  # warnings only; no errors past prepare()
    elif "touchpoints" in frames:
        label, df = frames["touchpoints"]
        tcols = cols["touchpoints"]
        event_cols = {k: v for k, v in tcols.items() if k in _kind_fields("touchpoints")[:5]}
        # In a combined file the answer columns belong to the survey; otherwise a
        # comment-like column is just an event attribute.
        answer_cols = _used_columns(tcols) - _used_columns(event_cols) if combined else set()
        try:
            events = _events_frame(label, df.drop(columns=sorted(answer_cols)), event_cols, stages, tp_map, sink)
            if combined:
                scols = {k: v for k, v in tcols.items() if k in _kind_fields("survey")}
                quiet = _Collector()  # event-column findings were already reported above
                part, _ = _survey_frame(label, df, scols, stages, tp_map, not_rated, quiet, combined=True)
                sink.warnings.extend(i for i in quiet.warnings if i.column in answer_cols)
                surveys.append((label, part))
        except InputError as exc:
            fail(exc)
    for kind in ("survey", "customers"):
        if kind not in frames:
            continue
        if kind in fasts:
            quiet = _Collector()
            try:
                if kind == "survey":
                    views[kind], checks = csv_ingest.build_survey(fasts[kind], stages, tp_map, not_rated, quiet)
                    surveys.append((frames[kind][0], checks))
                else:
                    views[kind] = csv_ingest.build_customers(fasts[kind], quiet)
                sink.warnings.extend(quiet.warnings)
                continue
            except csv_ingest.Fallback:
                try:
                    pandas_instead(kind)
                except InputError as exc:
                    fail(exc)
                    continue
        label, df = frames[kind]
        try:
            if kind == "survey":
                part, attrs = _survey_frame(label, df, cols["survey"], stages, tp_map, not_rated, sink)
                surveys.append((label, part))
                if attrs is not None:
                    attributes.append(attrs)
            else:
                customers_df = _customers_frame(label, df, cols["customers"], sink)
        except InputError as exc:
            fail(exc)
    if errors:
        _drop_fast(fasts)
        return _Result(None, errors, sink.warnings)

    for attrs in attributes:
        customers_df = _merge_attributes(customers_df, attrs)

    scale = None
    if surveys:
        eng = engine or default_engine()
        in_engine = isinstance(events, ibis.Table)
        frames_of: list[tuple[str, pd.DataFrame, Any]] = []
        for label, part in surveys:
            if isinstance(part, pd.DataFrame):
                frames_of.append((label, part, None))
            else:  # the engine's kept rows: scores and rows (and ids, to check against pandas events)
                with eng._lock:
                    got = (part.select("score", "_row") if in_engine else part).to_pyarrow().to_pandas()
                frames_of.append((label, got, part))
        scale = detect_score_scale(pd.concat([p["score"] for _, p, _ in frames_of], ignore_index=True))
        event_ids = None
        if events is not None and any(expr is None or not in_engine for _, _, expr in frames_of):
            if in_engine:
                with eng._lock:  # Arrow: a million ids as Python objects is slow
                    event_ids = events.select("customer_id").distinct().to_pyarrow().column(0).combine_chunks()
            elif len(events):
                event_ids = pa.array(pd.unique(events["customer_id"]), type=pa.string(), from_pandas=True)
            if event_ids is not None and len(event_ids) == 0:
                event_ids = None
        for label, part, expr in frames_of:
            outside = (~part["score"].between(scale.low, scale.high)).to_numpy()
            if outside.any():
                no = int(outside.sum())
                rows = part["_row"][outside].tolist()
                sink.warn(label, "score", f"{no} scores outside the detected scale {scale.label} (kept, not "
                          f"rescaled; e.g. {_examples(part['score'][outside].unique())}); "
                          f"{_rows_text(rows, no)}", no, rows[:MAX_EXAMPLES])
            ids = rows = None
            if expr is not None and in_engine:
                # Both in the engine: answers whose customer has no event, by an anti-join there.
                lost = expr.anti_join(events.select("customer_id").distinct(), "customer_id")
                with eng._lock:
                    got = lost.select("customer_id", "_row").order_by("_row").to_pyarrow().to_pandas()
                if len(got):
                    ids, rows = pd.unique(got["customer_id"]), got["_row"].tolist()
            elif event_ids is not None:
                # pyarrow's hash lookup: pandas' isin on a million strings took seconds
                got_ids = pa.array(part["customer_id"], type=pa.string(), from_pandas=True)
                orphan = ~pc.is_in(got_ids, value_set=event_ids.cast(pa.string())).to_numpy(zero_copy_only=False)
                if orphan.any():
                    ids = pd.unique(part["customer_id"][orphan])
                    rows = pd.unique(part["_row"][orphan]).tolist()
            if ids is not None:
                sink.warn(label, "customer_id", f"{len(ids)} survey customers have no events "
                          f"(e.g. {_examples(ids)}); their answers count in scores but not in flows; "
                          f"{_rows_text(rows, len(rows))}", len(ids), rows[:MAX_EXAMPLES])
        if "survey" not in views:
            survey_df = pd.concat([p for _, p, _ in frames_of], ignore_index=True).drop(columns="_row")

    if events is None:
        events = _empty_events()
    data = None
    if register:
        eng = engine or default_engine()
        # One at a time, each copy handed back before the next: together they set the peak.
        tables = {}
        for key in ("events", "survey", "customers"):
            frame = {"events": events, "survey": survey_df, "customers": customers_df}[key]
            view = events if key == "events" and fast is not None else views.get(key)
            if view is not None:
                tables[key] = view
            else:
                tables[key] = eng.table(_compact(frame)) if frame is not None else None
            _release_arrow_memory()
        data = JourneyData(
            events=tables["events"],
            survey=tables["survey"],
            customers=tables["customers"],
            journey=JourneyModel.default(stages),
            touchpoint_stage_map=tp_map,
            score_scale=scale,
            source_names={k: v[0] for k, v in frames.items()},
            warnings=sink.warnings,
        )
    else:
        _drop_fast(fasts)
    return _Result(data, errors, sink.warnings)


def release(data: JourneyData, engine: Engine | None = None) -> None:
    """Drop the engine tables that :func:`load_journey` made for ``data`` (once it is saved
    elsewhere and reopened from there). Tables it did not make are left alone."""
    from journeylib import csv_ingest

    eng = engine or default_engine()
    for table in (data.events, data.survey, data.customers):
        if table is None:
            continue
        name = getattr(table.op(), "name", None)  # the bare name (get_name() adds the catalog)
        if not isinstance(name, str):  # an expression, not a named table: nothing of ours
            continue
        try:
            if not csv_ingest.release(name) and name.startswith("journey_"):  # Engine.table's names
                with eng._lock:
                    eng.con.drop_table(name, force=True)
        except Exception:  # noqa: BLE001 - freeing memory early is a nicety, never an error
            continue


def load_journey(
    touchpoints: Any = None,
    survey: Any = None,
    customers: Any = None,
    mapping: Mapping[str, Any] | None = None,
    stages: Sequence[str] = DEFAULT_STAGES,
    touchpoint_stage_map: Mapping[str, str] | None = None,
    not_rated: Sequence[float] = (),
    engine: Engine | None = None,
) -> JourneyData:
    """Read, map, check and register the inputs; raise :class:`InputError` on the first error.

    Each input is a path, a ``(name, bytes)`` pair, an upload, or a DataFrame. ``mapping``
    sets field -> column (``"survey.timestamp"`` for one file only); a list for ``score``
    melts a wide survey (one column per touchpoint or stage). Values in ``not_rated`` are
    treated as missing scores. Everything dropped or changed is in ``data.warnings``.

    A file given as a path, larger than $JOURNEY_FAST_LOAD_MB (default 20 MB) and plain
    UTF-8 CSV/TSV (touchpoints, a long survey, customers), is read and cleaned inside the
    engine (:mod:`journeylib.csv_ingest`) with the same result and warnings; anything that
    path cannot mirror uses pandas.
    """
    result = _load(touchpoints, survey, customers, mapping, stages, touchpoint_stage_map, not_rated, engine)
    if result.errors:
        first = result.errors[0]
        raise InputError(first.file, first.message, column=first.column, rows=first.rows)
    assert result.data is not None
    return result.data


def validate(
    touchpoints: Any = None,
    survey: Any = None,
    customers: Any = None,
    mapping: Mapping[str, Any] | None = None,
    stages: Sequence[str] = DEFAULT_STAGES,
    touchpoint_stage_map: Mapping[str, str] | None = None,
    not_rated: Sequence[float] = (),
    engine: Engine | None = None,
) -> ValidationReport:
    """Check the inputs as :func:`load_journey` would and report every error and warning."""
    try:
        result = _load(touchpoints, survey, customers, mapping, stages, touchpoint_stage_map, not_rated,
                       engine, register=False)
    except InputError as exc:
        return ValidationReport([Issue(exc.file, exc.column, exc.message, len(exc.rows), exc.rows, "error")], [])
    return ValidationReport(result.errors, result.warnings)
