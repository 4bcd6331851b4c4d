"""Bytes or tables in, one engine table out: the first step of the one ingest path.

A text file (CSV with any of , ; tab |, TSV, optionally gzip'd; UTF-8, UTF-16 or Latin-1)
is read by DuckDB itself, every column as text, with a ``_row`` column holding each row's
0-based place in the file. Parquet is read by DuckDB too and keeps its types. What DuckDB
cannot read (Excel workbooks, XES event logs, Windows-1252 text) is decoded in Python and
handed to the engine as Arrow or as UTF-8 text. A database table or view is used where it
lives; it has no file order, so its ``_row`` is left empty.

Every refusal is an :class:`InputError` naming the file and what is wrong; everything the
read changed (sheet chosen, header cells renamed, lines skipped) is a note on the result.
"""

from __future__ import annotations

import csv
import gzip
import io as _io
import itertools
import mmap
import os
import tempfile
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import ibis
import pandas as pd
import pyarrow as pa

from journeylib.engine import Engine, default_engine
from journeylib.ingest.errors import MAX_EXAMPLES, InputError, Issue, examples

__all__ = [
    "RawTable",
    "read_source",
    "source_table",
    "max_upload_bytes",
    "env_megabytes",
    "MAX_UPLOAD_ENV",
    "ROW",
    "NULL_MARKERS",
    "clean_text",
    "from_arrow",
]

ROW = "_jl_row"  # the file-order column every raw table carries
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
_PARQUET_MAGIC = b"PAR1"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_DELIMITERS = (",", ";", "\t", "|")
_HEAD = 65536
# Cells read as missing, as spreadsheet and pandas users expect ("NA", "N/A", "null"...).
NULL_MARKERS = ('', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND',
                '1.#QNAN', 'N/A', 'NA', 'NULL', 'NaN', 'n/a', 'nan', 'null')

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
_names = itertools.count()
# What Unicode calls white space: trimmed from both ends of every text cell.
WHITESPACE = " \t\n\v\f\r\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008" \
             "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


@ibis.udf.scalar.builtin(name="trim")
def _trim_chars(text: str, chars: str) -> str:
    """DuckDB's trim(text, characters)."""


def clean_text(c: ibis.Value, duckdb: bool = True) -> ibis.Value:
    """Text trimmed of white space (Unicode's on DuckDB, ASCII elsewhere), blanks as
    missing; other types as they are. Every input's text cells go through this once, as
    they are read."""
    if not c.type().is_string():
        return c
    if duckdb:
        # DuckDB's trim with a character list costs about ten times the read of the cell
        # (11 of the 13 CPU seconds of reading the 1M-event file); a cell whose first and
        # last characters are printable ASCII has nothing to trim, so only others pay it.
        plain = c.ascii_str().between(33, 126) & c.right(1).ascii_str().between(33, 126)
        trimmed = ibis.ifelse(plain, c, _trim_chars(c, WHITESPACE))
    else:
        trimmed = c.strip()
    return trimmed.nullif("")


def _cleaned(t: ibis.Table, columns: Sequence[str], duckdb: bool = True) -> dict[str, ibis.Value]:
    return {c: clean_text(t[c], duckdb) for c in columns}


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


def check_size(label: str, size: int | None) -> None:
    """Refuse a file above the size limit before reading it."""
    if size is None:
        return
    if size > max_upload_bytes():
        raise InputError(label, f"file is {_mb(size)} ({size:,} bytes), above the size limit of "
                         f"{_limit_text()}; split it or raise the limit with {MAX_UPLOAD_ENV}")


def _check_expansion(label: str, what: str, expanded: int, packed: int) -> None:
    if expanded > max_upload_bytes():
        raise InputError(label, f"{what} expands to more than the size limit of {_limit_text()}; "
                         f"split it or raise the limit with {MAX_UPLOAD_ENV}")
    if expanded > _BOMB_MIN_BYTES and expanded > _BOMB_RATIO * max(packed, 1):
        raise InputError(label, f"{what} expands more than {_BOMB_RATIO}-fold ({_mb(packed)} to over "
                         f"{_mb(expanded)}); refused as a possible zip bomb")


# --------------------------------------------------------------------------- the result


@dataclass
class RawTable:
    """One input as an engine table: the file's columns (all text for a text file) plus
    :data:`ROW`, the 0-based file row (null for a database table)."""

    label: str
    table: ibis.Table
    columns: list[str]
    engine: Engine
    notes: list[Issue] = field(default_factory=list)
    owned: list[str] = field(default_factory=list)  # engine tables made for it
    database: bool = False  # a table that lives on the backend (no file rows)
    kind: str = "text"  # text | parquet | excel | xes | frame | database
    header: list[str | None] | None = None  # the header cells as the file has them (blank: None)

    @property
    def rows(self) -> int:
        from journeylib.engine import execute

        return int(execute(self.table.count()))

    def head(self, n: int = 10) -> pd.DataFrame:
        """The first ``n`` rows in file order, without :data:`ROW`."""
        t = self.table
        if not self.database:
            t = t.order_by(ROW)
        with self.engine.lock:
            return t.select(*self.columns).limit(n).to_pyarrow().to_pandas()

    def release(self) -> None:
        """Drop the engine tables made for this input (safe to call twice)."""
        with self.engine.lock:
            for name in self.owned:
                self.engine.con.drop_table(name, force=True)
        self.owned = []


def _table_name(kind: str) -> str:
    return f"_jl_{kind}_{os.getpid()}_{next(_names)}"


# --------------------------------------------------------------------------- sources


@dataclass
class _Bytes:
    """An input's name, and its content as a path on disk or as bytes in memory."""

    label: str
    path: Path | None = None
    data: bytes | None = None

    def head(self, n: int = _HEAD) -> bytes:
        if self.data is not None:
            return self.data[:n]
        with open(self.path, "rb") as fh:
            return fh.read(n)

    def size(self) -> int:
        return len(self.data) if self.data is not None else self.path.stat().st_size

    def all(self) -> bytes:
        return self.data if self.data is not None else self.path.read_bytes()


def _open_source(source: Any, name: str | None) -> _Bytes:
    """Name and content of a path, (name, bytes) pair, bytes, or file-like upload."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        label = name or str(source)
        if not path.exists():
            raise InputError(label, "file not found")
        if path.is_dir():
            raise InputError(label, "is a folder, not a file")
        check_size(label, path.stat().st_size)
        return _Bytes(label, path=path)
    if isinstance(source, tuple) and len(source) == 2:
        label, payload = source
        return _open_source(payload, name or str(label))
    if isinstance(source, (bytes, bytearray, memoryview)):
        label = name or "upload"
        data = bytes(source)
        check_size(label, len(data))
        return _Bytes(label, data=data)
    if hasattr(source, "getvalue") or hasattr(source, "read"):
        label = name or str(getattr(source, "name", None) or "upload")
        size = getattr(source, "size", None)  # Streamlit's UploadedFile knows its size
        check_size(label, size if isinstance(size, int) else None)
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
        check_size(label, len(data))
        return _Bytes(label, data=bytes(data))
    raise TypeError(f"cannot read a table from {type(source).__name__}")


def _gunzip(label: str, src: _Bytes) -> _Bytes:
    """Decompress gzip to a temporary file in chunks, stopping as soon as the output
    breaks the size limits (the caller removes the file)."""
    packed = src.size()
    fd, name = tempfile.mkstemp(prefix="journeylib-", suffix=".csv")
    written = 0
    try:
        fileobj = _io.BytesIO(src.data) if src.data is not None else open(src.path, "rb")
        with os.fdopen(fd, "wb") as out, fileobj, gzip.GzipFile(fileobj=fileobj) as gz:
            while True:
                chunk = gz.read(_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                written += len(chunk)
                _check_expansion(label, "the gzip file", written, packed)
    except (OSError, EOFError, zlib.error) as exc:
        Path(name).unlink(missing_ok=True)
        raise InputError(label, f"corrupt gzip file ({exc})") from None
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return _Bytes(label, path=Path(name))


def sniff_delimiter(sample: str) -> str:
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


def clean_names(names: Sequence[Any]) -> list[str]:
    """Blank header cells get a name; repeated names get a .1, .2 suffix (as pandas does)."""
    out: list[str] = []
    taken: set[str] = set()
    next_suffix: dict[str, int] = {}
    texts, made = [], []
    for i, raw in enumerate(names):
        text = "" if raw is None or (isinstance(raw, float) and raw != raw) else str(raw).strip()
        made.append(not text or text.startswith("Unnamed: "))
        texts.append(f"column_{i + 1}" if made[-1] else text)
    given = {t for t, m in zip(texts, made) if not m}  # a name the file has keeps it: no new name takes it
    for text, new in zip(texts, made):
        if text in taken or (new and text in given):
            base, k = text, next_suffix.get(text, 1)
            while f"{base}.{k}" in taken or f"{base}.{k}" in given:
                k += 1
            next_suffix[base] = k + 1
            text = f"{base}.{k}"
        taken.add(text)
        out.append(text)
    return out


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, float) and raw != raw) or not str(raw).strip()


def name_notes(label: str, raw: Sequence[Any], names: Sequence[str]) -> list[Issue]:
    """Notes for header cells that were blank or repeated (and so were renamed)."""
    notes = []
    blank = [n for r, n in zip(raw, names) if _blank(r)]
    if blank:
        notes.append(Issue(label, None, f"{len(blank)} header cells are blank; named "
                           f"{', '.join(repr(n) for n in blank[:MAX_EXAMPLES])}", len(blank), []))
    texts = [str(r).strip() for r in raw if not _blank(r)]
    repeated = [t for t, c in Counter(texts).items() if c > 1]
    if repeated:
        renamed = [n for r, n in zip(raw, names) if not _blank(r) and str(r).strip() in repeated
                   and n != str(r).strip()]
        notes.append(Issue(label, None, f"repeated column names {', '.join(map(repr, repeated[:MAX_EXAMPLES]))}; "
                           f"the later ones were renamed {', '.join(map(repr, renamed[:MAX_EXAMPLES]))}",
                           len(renamed), []))
    return notes


def _text_encoding(label: str, head: bytes, whole: _Bytes | bytes) -> str:
    """``utf-8``, ``utf-16`` (with or without a byte order mark; the BOM-less kinds as
    ``utf-16-le``/``utf-16-be``) or ``cp1252`` for Windows and Latin-1 text."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if b"\x00" in head and len(head) >= 4:
        # UTF-16 without a byte order mark: mostly-ASCII text has a zero in every other byte.
        even, odd = head[0::2], head[1::2]
        for zeros, other, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
            if zeros.count(0) >= 0.9 * len(zeros) and other.count(0) <= 0.05 * len(other):
                return encoding
        raise InputError(label, "not a text table (binary content); expected CSV, TSV, Excel .xlsx or Parquet")
    if not _is_utf8(whole):
        return "cp1252"
    return "utf-8"


def _is_utf8(whole: _Bytes | bytes) -> bool:
    """Whether the whole content decodes as UTF-8 (read in chunks from disk)."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        if isinstance(whole, bytes):
            decoder.decode(whole, final=True)
            return True
        if whole.data is not None:
            decoder.decode(whole.data, final=True)
            return True
        with open(whole.path, "rb") as fh:
            while True:
                chunk = fh.read(16 * _CHUNK)
                if not chunk:
                    break
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        return True
    except UnicodeDecodeError:
        return False


def _has_quote(src: _Bytes | bytes) -> bool:
    if isinstance(src, bytes):
        return b'"' in src
    if src.data is not None:
        return b'"' in src.data
    if src.size() == 0:
        return False
    with open(src.path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        return mm.find(b'"') >= 0


# --------------------------------------------------------------------------- text files


class _Spool:
    """A temporary file for content the engine reads from disk; removed after the read."""

    def __init__(self, data: bytes, suffix: str) -> None:
        fd, name = tempfile.mkstemp(prefix="journeylib-", suffix=suffix)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        self.path = Path(name)

    def close(self) -> None:
        self.path.unlink(missing_ok=True)


def _read_text(label: str, src: _Bytes, gz: bool, engine: Engine) -> RawTable:
    """A delimited text file through DuckDB's CSV reader (every column as text)."""
    spools: list[Path] = []
    try:
        if gz:
            src = _gunzip(label, src)
            spools.append(src.path)
        head = src.head()
        if not head.strip():
            raise InputError(label, "empty file")
        encoding = _text_encoding(label, head, src)
        if encoding != "utf-8" or head.startswith(b"\xef\xbb\xbf"):
            # One CSV reader for every file: text in other encodings is written out as UTF-8.
            raw = src.all()
            try:
                text = raw[3:].decode("utf-8") if encoding == "utf-8" else raw.decode(encoding)
            except UnicodeDecodeError:
                if encoding != "cp1252":
                    raise InputError(label, f"cannot decode as {encoding.upper()}") from None
                text = raw.decode("latin-1")
            src = _Bytes(label, data=text.encode("utf-8"))
        if src.data is not None:
            spool = _Spool(src.data, ".csv")
            spools.append(spool.path)
            src = _Bytes(label, path=spool.path, data=src.data)
        sample = src.head().decode("utf-8", errors="ignore")
        low = sample[:512].lstrip().lower()
        if low.startswith(("{", "[{", '["', "[]")):
            raise InputError(label, "looks like JSON, not a table; expected CSV, TSV, Excel .xlsx or Parquet")
        if low.startswith(("<!doctype html", "<html")):
            raise InputError(label, "looks like a web page, not a table; expected CSV, TSV, Excel .xlsx or "
                             "Parquet (was the file saved from a browser?)")
        if low.startswith("<?xml") or low.startswith("<log"):
            raise InputError(label, "looks like XML, not a table; expected CSV, TSV, Excel .xlsx, Parquet or "
                             "an XES event log (.xes)")
        if not sample.strip():
            raise InputError(label, "empty file")
        lower = label.lower().removesuffix(".gz")
        delim = "\t" if lower.endswith((".tsv", ".tab")) else sniff_delimiter(sample)
        header = next(csv.reader(_io.StringIO(sample), delimiter=delim), [])
        if not header:
            raise InputError(label, "empty file")
        names = clean_names(header)
        if ROW in names:  # as for every other input (it would be overwritten by the file rows)
            raise InputError(label, f"the column name {ROW!r} is reserved; rename that column")
        raw = _duckdb_csv(label, src.path, names, delim, _has_quote(src), engine, name_notes(label, header, names))
        raw.header = [str(h).strip() or None for h in header]
        return raw
    finally:
        for path in spools:
            path.unlink(missing_ok=True)


def _duckdb_csv(label: str, path: Path, names: list[str], delim: str, quoted: bool, engine: Engine,
                notes: list[Issue]) -> RawTable:
    con = engine.con
    n = next(_names)
    view, rejects, scans = (f"_jl_csv_{os.getpid()}_{n}", f"_jl_rejects_{os.getpid()}_{n}",
                            f"_jl_scans_{os.getpid()}_{n}")
    name = _table_name("raw")
    if any(ch in str(path) for ch in "*?[]{}"):
        # DuckDB would read the name as a pattern of files: read a copy under a plain name.
        spool = _Spool(path.read_bytes(), ".csv")
        try:
            return _duckdb_csv(label, spool.path, names, delim, quoted, engine, notes)
        finally:
            spool.close()
    try:
        with engine.lock:
            raw = con.read_csv(
                str(path), table_name=view, columns={f"c{i}": "VARCHAR" for i in range(len(names))},
                header=True, delim=delim, quote='"', escape='"', auto_detect=False, strict_mode=True,
                # Short rows keep their cells (the rest empty); DuckDB reads those only on
                # one thread when a quoted value may hold a line break.
                null_padding=True, parallel=not quoted, encoding="utf-8", nullstr=list(NULL_MARKERS),
                allow_quoted_nulls=True, store_rejects=True, rejects_table=rejects, rejects_scan=scans,
            )
            # Named and cleaned in one select: each layer costs a compile of every column.
            raw = raw.select(**{nm: clean_text(raw[f"c{i}"]) for i, nm in enumerate(names)})
            if len(names) == 1:  # a blank line reads as one empty cell: pandas skips those
                raw = raw.filter(raw[names[0]].notnull())
            table = con.create_table(name, raw, temp=True)
            lost = con.table(rejects).select("line", "error_type", "csv_line").order_by("line").to_pyarrow()
    except Exception as exc:  # noqa: BLE001 - the reader's own words, on one line
        with engine.lock:
            con.drop_table(name, force=True)
        message = " ".join(str(exc).split())
        raise InputError(label, f"cannot parse as a delimited table ({message[:300]})") from None
    finally:
        with engine.lock:
            con.drop_view(view, force=True)
            con.drop_table(rejects, force=True)
            con.drop_table(scans, force=True)
    notes = list(notes) + _reject_notes(label, lost.to_pandas(), delim)
    return RawTable(label, table.mutate(**{ROW: table.rowid()}), names, engine, notes, [name], kind="text")


def _reject_notes(label: str, lost: pd.DataFrame, delim: str) -> list[Issue]:
    """Notes for the lines the reader could not split into the header's columns."""
    if lost.empty:
        return []
    notes = []
    long_lines = lost[lost["error_type"] == "TOO MANY COLUMNS"]
    if len(long_lines):
        notes.append(Issue(label, None, f"{len(long_lines)} lines with more fields than the header were skipped "
                           f"(e.g. {examples(long_lines['csv_line'].head(2))}); lines "
                           f"{', '.join(str(int(v)) for v in long_lines['line'].head(MAX_EXAMPLES))}",
                           len(long_lines), []))
    other = lost[lost["error_type"] != "TOO MANY COLUMNS"]
    if len(other):
        kinds = ", ".join(sorted({str(k).lower() for k in other["error_type"]}))
        notes.append(Issue(label, None, f"{len(other)} lines could not be read ({kinds}) and were skipped "
                           f"(e.g. {examples(other['csv_line'].head(2))}); lines "
                           f"{', '.join(str(int(v)) for v in other['line'].head(MAX_EXAMPLES))}",
                           len(other), []))
    return notes


# --------------------------------------------------------------------------- Excel, Parquet, frames


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


def _read_xlsx(label: str, data: bytes, engine: Engine) -> RawTable:
    from journeylib.ingest.mapping import has_customer_column

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
                if has_customer_column(clean_names(header_of(sheet))):
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
        raise InputError(label, "empty file")
    header = raw.iloc[0].tolist()
    names = clean_names(header)
    df = raw.iloc[1:].reset_index(drop=True)
    df.columns = names
    notes = name_notes(label, header, names)
    if len(sheets) > 1:
        others = [s for s in sheets if s != chosen]
        notes.append(Issue(label, None, f"read sheet {chosen!r}{why}; other sheets ignored: "
                           f"{', '.join(map(repr, others))}", len(others), []))
    text = pa.table({n: pa.array(df[n].where(df[n].notna(), None).tolist(), type=pa.string()) for n in names})
    raw = from_arrow(label, text, engine, notes, kind="excel")
    raw.header = [None if _blank(h) else str(h).strip() for h in header]
    return raw


def from_arrow(label: str, table: pa.Table, engine: Engine, notes: list[Issue], kind: str) -> RawTable:
    """Arrow data handed to the engine, numbered in order."""
    names = [str(c) for c in table.column_names]
    if any(n == ROW for n in names):
        raise InputError(label, f"the column name {ROW!r} is reserved; rename that column")
    table = table.append_column(ROW, pa.array(range(table.num_rows), type=pa.int64()))
    name = _table_name("raw")
    duck = engine.backend_name == "duckdb"
    mem = ibis.memtable(table)
    with engine.lock:
        if engine.backend_name == "pyspark":
            t = engine.con.create_view(name, mem.select(ROW, **_cleaned(mem, names, duck)), overwrite=True)
        else:
            t = engine.con.create_table(name, mem.select(ROW, **_cleaned(mem, names, duck)), temp=True)
            # Ibis keeps a memtable registered (and its data in memory) until the process
            # ends; its rows are in the table now.
            engine.con.drop_view(mem.get_name(), force=True)
    return RawTable(label, t.select(*names, ROW), names, engine, notes, [name], kind=kind)


def _read_parquet(label: str, src: _Bytes, engine: Engine) -> RawTable:
    spool = _Spool(src.data, ".parquet") if src.data is not None else None
    path = spool.path if spool is not None else src.path
    name = _table_name("raw")
    view = _table_name("pq")
    try:
        with engine.lock:
            pq = engine.con.read_parquet(str(path), table_name=view)
            names = [str(c) for c in pq.columns]
            if ROW in names:
                raise InputError(label, f"the column name {ROW!r} is reserved; rename that column")
            t = engine.con.create_table(name, pq.select(**_cleaned(pq, names)), temp=True)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - the reader's own words
        with engine.lock:
            engine.con.drop_table(name, force=True)
        raise InputError(label, f"cannot read Parquet ({' '.join(str(exc).split())[:300]})") from None
    finally:
        with engine.lock:
            engine.con.drop_view(view, force=True)
        if spool is not None:
            spool.close()
    return RawTable(label, t.mutate(**{ROW: t.rowid()}), names, engine, [], [name], kind="parquet")


def _from_frame(label: str, frame: pd.DataFrame, engine: Engine) -> RawTable:
    frame = frame.reset_index(drop=True)
    names = clean_names(list(frame.columns))
    notes = name_notes(label, list(frame.columns), names) if names != [str(c) for c in frame.columns] else []
    frame = frame.set_axis(names, axis=1)
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed-type object columns: read them as text
        table = pa.Table.from_pandas(frame.astype({c: "str" for c in frame.columns
                                                    if frame[c].dtype == object}), preserve_index=False)
    return from_arrow(label, table, engine, notes, kind="frame")


# --------------------------------------------------------------------------- the entry points


def read_source(source: Any, name: str | None = None, engine: Engine | None = None) -> RawTable:
    """Read one input into the engine (see the module notes).

    ``source`` is a path, a ``(name, bytes)`` pair, bytes (give ``name``), a file-like
    upload with ``.name``, a pandas DataFrame or an Arrow table; a :class:`RawTable` is
    returned as it is. Raises :class:`InputError` naming the file.
    """
    engine = engine or default_engine()
    if isinstance(source, RawTable):
        return source
    if isinstance(source, pd.DataFrame):
        return _from_frame(name or "table", source, engine)
    if isinstance(source, pa.Table):
        return from_arrow(name or "table", source, engine, [], kind="frame")
    src = _open_source(source, name)
    label = src.label
    if src.size() == 0:
        raise InputError(label, "empty file")
    head = src.head(_HEAD)
    if head[:2] == _GZIP_MAGIC:
        inner = src.head(_CHUNK)
        try:
            inner_head = gzip.GzipFile(fileobj=_io.BytesIO(inner)).read(_HEAD)
        except (OSError, EOFError, zlib.error):
            inner_head = b""
        if label.lower().endswith(".xes.gz") or _looks_like_xes(inner_head):
            from journeylib.ingest.xes import read_xes

            inner_src = _gunzip(label, src)
            try:
                return read_xes(label, inner_src.all(), engine)
            finally:
                inner_src.path.unlink(missing_ok=True)
        return _read_text(label, src, True, engine)
    if head[:4] == _PARQUET_MAGIC:
        return _read_parquet(label, src, engine)
    if head[:4] == _ZIP_MAGIC:
        return _read_xlsx(label, src.all(), engine)
    if head[:8] == _OLE_MAGIC:
        raise InputError(label, "old Excel .xls format is not supported; save it as .xlsx or CSV")
    if label.lower().endswith(".xes") or _looks_like_xes(head):
        from journeylib.ingest.xes import read_xes

        return read_xes(label, src.all(), engine)
    return _read_text(label, src, False, engine)


def _looks_like_xes(head: bytes) -> bool:
    text = head[:4096].lstrip(b"\xef\xbb\xbf").lstrip().lower()
    return text.startswith((b"<?xml", b"<log")) and b"<log" in text and (b"xes" in text or b"<trace" in text)


def _split_name(name: Any) -> tuple[str, tuple[str, ...]]:
    if isinstance(name, (tuple, list)):
        parts = [str(p) for p in name]
    else:
        parts = str(name).split(".")
    if not parts or not all(p.strip() for p in parts):
        raise InputError(str(name), "empty table name; give a table or view name such as events "
                         "or analytics.events")
    return parts[-1], tuple(parts[:-1])


def source_table(engine: Engine, name: str | Sequence[str]) -> RawTable:
    """A table or view on the engine's backend; ``"schema.table"`` or
    ``"catalog.schema.table"`` name one outside the current database."""
    table, database = _split_name(name)
    label = ".".join([*database, table])
    try:
        with engine.lock:
            if database:
                db = database[0] if len(database) == 1 else database
                t = engine.con.table(table, database=db)
            else:
                t = engine.con.table(table)
    except Exception as exc:  # each backend raises its own "not found" type
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise InputError(label, f"table or view {label!r} not found on the {engine.backend_name} "
                         f"backend ({first})") from None
    names = [str(c) for c in t.columns]
    if ROW in names:
        raise InputError(label, f"the column name {ROW!r} is reserved; make a view that renames it")
    cleaned = t.select(**_cleaned(t, names, engine.backend_name == "duckdb"), **{ROW: ibis.null("int64")})
    return RawTable(label, cleaned, names, engine, [], [], database=True, kind="database")
