"""Write the corpus of bad and hostile input files under tests/data/bad/.

    python tests/data/make_bad_inputs.py            # (re)write tests/data/bad/
    python tests/data/make_bad_inputs.py --out DIR  # somewhere else

Everything is seeded, so the files are the same on every run (Excel files carry a fixed
creation date). The corpus stays small on disk: the bombs are highly compressed, and the
file above the upload limit is not part of it (tests make a sparse one in a temporary
folder, see :func:`make_oversize`).

``CASES`` says, for every file, how it is passed to the loader and what must happen: an
``error`` whose one line contains the given words, or ``ok`` with warnings containing the
given words. The tests in tests/journeylib/test_bad_inputs.py and
tests/app/test_bad_uploads.py run every case through the command line and the app.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import io
import random
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
BAD_DIR = HERE / "bad"
GOOD_EVENTS = "good_events.csv"  # the touchpoints file survey/customers cases are paired with
GOOD_SURVEY = "good_survey.csv"
SQL_COLUMN = 'x"; DROP TABLE t; --'
SQL_VALUE = "'); DROP TABLE events; --"
SCRIPT = "<script>alert('xss')</script>"
IMG = '<img src=x onerror="alert(1)">'


@dataclass(frozen=True)
class Case:
    """One corpus file: how it is loaded and what must happen."""

    file: str
    role: str  # touchpoints | survey | customers
    expect: str  # "error" or "ok"
    needles: tuple[str, ...] = ()  # error: words in the error line; ok: words in some warning
    what: str = ""
    extra: dict = field(default_factory=dict)  # other CLI options, e.g. {"map": ["score=..."]}

    @property
    def id(self) -> str:
        return self.file


def _events_rows(n_customers: int = 6, seed: int = 1) -> list[list[str]]:
    """A small valid journey log: customer, timestamp, touchpoint, stage, channel."""
    rnd = random.Random(seed)
    steps = [("Ad", "Awareness"), ("Site", "Consideration"), ("Reviews", "Consideration"),
             ("Cart", "Intent"), ("Checkout", "Purchase"), ("Support", "Retention")]
    rows = []
    start = dt.datetime(2024, 3, 1, 9, 0)
    for c in range(n_customers):
        t = start + dt.timedelta(days=c)
        for tp, stage in steps[: 2 + rnd.randrange(len(steps) - 1)]:
            t += dt.timedelta(minutes=rnd.randrange(5, 300))
            rows.append([f"c{c + 1}", t.strftime("%Y-%m-%d %H:%M:%S"), tp, stage, rnd.choice(["web", "app"])])
    return rows


EVENT_HEADER = ["customer_id", "timestamp", "touchpoint", "stage", "channel"]


def _csv(rows: list[list[str]], header: list[str] | None = EVENT_HEADER, delim: str = ",") -> str:
    buf = io.StringIO()
    import csv

    writer = csv.writer(buf, delimiter=delim, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _xlsx(sheets: dict[str, list[list]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    fixed = dt.datetime(2024, 1, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    buf = io.BytesIO()
    wb.save(buf)
    # Re-pack with fixed member dates so the file is byte-identical on every run.
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                body = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2024-01-01T00:00:00Z", body)
            dst.writestr(_fixed(info.filename), body, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _fixed(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _zip_bomb(expanded_mb: int) -> bytes:
    """A zip laid out like an .xlsx whose sheet inflates to ``expanded_mb`` MB of blanks."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr(_fixed("[Content_Types].xml"), '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"/>')
        z.writestr(_fixed("xl/workbook.xml"), '<?xml version="1.0"?><workbook/>')
        chunk = b" " * (1 << 20)
        with z.open(_fixed("xl/worksheets/sheet1.xml"), "w", force_zip64=True) as member:
            for _ in range(expanded_mb):
                member.write(chunk)
    return buf.getvalue()


def _gzip_bomb(expanded_mb: int) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=0) as gz:
        gz.write(b"customer_id,timestamp,touchpoint\n")
        chunk = b"\n" * (1 << 20)
        for _ in range(expanded_mb):
            gz.write(chunk)
    return buf.getvalue()


def build() -> dict[str, bytes]:
    """Every corpus file name -> its bytes."""
    rnd = random.Random(20240601)
    ev = _events_rows()
    good = _csv(ev)
    files: dict[str, str | bytes] = {}

    files[GOOD_EVENTS] = good
    survey_rows = [[r[0], r[3], r[2], str(1 + i % 5), "fine"] for i, r in enumerate(ev)]
    files[GOOD_SURVEY] = _csv(survey_rows, ["customer_id", "stage", "touchpoint", "score", "comment"])

    # --- shape and encoding
    files["empty.csv"] = b""
    files["whitespace_only.csv"] = "  \n\n \t \n"
    files["header_only.csv"] = ",".join(EVENT_HEADER) + "\n"
    files["header_and_blank_lines.csv"] = ",".join(EVENT_HEADER) + "\n\n\n\n"
    files["binary_garbage.csv"] = bytes(rnd.randrange(256) for _ in range(4096))
    files["binary_garbage.xlsx"] = bytes(rnd.randrange(256) for _ in range(4096))
    files["corrupt.parquet"] = b"PAR1" + bytes(rnd.randrange(256) for _ in range(512)) + b"PAR1"
    files["old_excel.xls"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)
    files["json_not_a_table.csv"] = '{"customer_id": "c1", "events": [1, 2, 3]}\n'
    files["html_page_saved_as.csv"] = ("<!DOCTYPE html>\n<html><head><title>Export</title></head><body>"
                                       "<table><tr><td>customer_id</td></tr></table></body></html>\n")
    files["wrong_delimiter_colon.csv"] = _csv(ev, delim=":").replace('"', "")
    files["commas_named_tsv.tsv"] = good
    files["semicolon_delimited.csv"] = _csv(ev, delim=";")
    files["latin1.csv"] = _csv([[r[0], r[1], r[2].replace("Site", "Café"), r[3], r[4]] for r in ev]).encode("latin-1")
    files["utf16_bom.csv"] = "\ufeff".encode("utf-16-le") + good.encode("utf-16-le")
    files["utf16_no_bom.csv"] = good.encode("utf-16-le")
    files["utf8_bom.csv"] = b"\xef\xbb\xbf" + good.encode("utf-8")
    files["duplicate_headers.csv"] = _csv([r + [r[2] + " (copy)"] for r in ev], EVENT_HEADER + ["touchpoint"])
    files["blank_header_cells.csv"] = _csv([r + ["x", "y"] for r in ev], EVENT_HEADER + ["", ""])
    files["ragged_rows.csv"] = good + "c9,2024-04-01 10:00:00,Ad,Awareness,web,EXTRA,MORE\n"
    files["wide_500_columns.csv"] = _csv([r + [str(i) for i in range(495)] for r in ev],
                                          EVENT_HEADER + [f"attr_{i}" for i in range(495)])

    # --- columns and values
    files["missing_id_column.csv"] = _csv([r[1:] for r in ev], EVENT_HEADER[1:])
    files["missing_timestamp_column.csv"] = _csv([[r[0]] + r[2:] for r in ev], [EVENT_HEADER[0]] + EVENT_HEADER[2:])
    files["all_timestamps_bad.csv"] = _csv([[r[0], "not a date", *r[2:]] for r in ev])
    files["half_timestamps_bad.csv"] = _csv([[r[0], r[1] if i % 2 == 0 else f"garbage-{i}", *r[2:]]
                                             for i, r in enumerate(ev)])
    files["timestamps_blank.csv"] = _csv([[r[0], "", *r[2:]] for r in ev])
    files["dates_far_future.csv"] = _csv([[r[0], r[1].replace("2024", "2999") if i % 3 == 0 else r[1], *r[2:]]
                                          for i, r in enumerate(ev)])
    files["dates_far_past.csv"] = _csv([[r[0], r[1].replace("2024", "1066") if i % 4 == 0 else r[1], *r[2:]]
                                        for i, r in enumerate(ev)])
    files["mixed_timezones.csv"] = _csv([[r[0], r[1].replace(" ", "T") + ("+05:30" if i % 2 else "Z"), *r[2:]]
                                         for i, r in enumerate(ev)])
    files["half_ids_missing.csv"] = _csv([["" if i % 2 else r[0], *r[1:]] for i, r in enumerate(ev)])
    files["exact_duplicate_rows.csv"] = _csv(ev + ev[:5])
    files["one_customer.csv"] = _csv([r for r in ev if r[0] == "c1"])
    files["one_event.csv"] = _csv(ev[:1])
    files["one_stage.csv"] = _csv([[r[0], r[1], r[2], "Awareness", r[4]] for r in ev])
    files["unknown_stages.csv"] = _csv([[r[0], r[1], r[2], "Stage " + str(i), r[4]] for i, r in enumerate(ev)])
    start = dt.datetime(2024, 1, 1)
    files["10000_touchpoints.csv"] = _csv(
        [[f"c{i % 500}", (start + dt.timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M"), f"page-{i:05d}", "", ""]
         for i in range(10_000)])
    long_tp = "L" * 10_240
    files["10kb_strings.csv"] = _csv([[r[0] + "x" * 10_240 if i == 0 else r[0], r[1],
                                       long_tp if i % 2 else r[2], r[3], "c" * 10_240] for i, r in enumerate(ev)])
    files["newlines_in_quoted_fields.csv"] = _csv([[r[0], r[1], f"{r[2]}\nsecond line, with comma", r[3], r[4]]
                                                   for r in ev])
    files["formula_values.csv"] = _csv([[r[0], r[1], ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "=HYPERLINK(\"http://x\")",
                                                      "\tTab"][i % 6], r[3], "=cmd|' /C calc'!A0"]
                                        for i, r in enumerate(ev)])
    files["html_script_names.csv"] = _csv([[r[0], r[1], SCRIPT if i % 2 else IMG, r[3], "<b>web</b>"]
                                           for i, r in enumerate(ev)])
    files["sql_column_names.csv"] = _csv(ev, ["customer_id", "timestamp", "touchpoint", "stage", SQL_COLUMN])
    files["sql_values.csv"] = _csv([[r[0] + SQL_VALUE, r[1], r[2] + '"; DROP TABLE t; --', r[3], SQL_VALUE]
                                    for r in ev])
    files["control_and_bidi_chars.csv"] = _csv([[r[0], r[1], r[2] + "\u202e\u0007\x1b[31m", r[3], r[4]] for r in ev])

    # --- survey files (paired with good_events.csv)
    files["scores_out_of_scale.csv"] = _csv(
        [[r[0], r[1], r[2], "99" if i == 0 else str(1 + i % 5), "ok"] for i, r in enumerate(survey_rows * 20)],
        ["customer_id", "stage", "touchpoint", "score", "comment"])
    files["scores_as_text.csv"] = _csv([[r[0], r[1], r[2], ["good", "bad", "meh"][i % 3], "ok"]
                                        for i, r in enumerate(survey_rows)],
                                       ["customer_id", "stage", "touchpoint", "score", "comment"])
    files["scores_half_text.csv"] = _csv([[r[0], r[1], r[2], "skipped" if i % 2 else str(1 + i % 5), "ok"]
                                          for i, r in enumerate(survey_rows)],
                                         ["customer_id", "stage", "touchpoint", "score", "comment"])
    files["scores_inf_nan.csv"] = _csv([[r[0], r[1], r[2], ["inf", "-inf", "nan", "4", "5", "1e400"][i % 6], "ok"]
                                        for i, r in enumerate(survey_rows)],
                                       ["customer_id", "stage", "touchpoint", "score", "comment"])
    files["survey_html_comments.csv"] = _csv([[r[0], r[1], r[2], r[3], SCRIPT + " & </textarea>"]
                                              for r in survey_rows],
                                             ["customer_id", "stage", "touchpoint", "score", "comment"])
    files["survey_missing_score.csv"] = _csv([[r[0], r[1], r[2], r[4]] for r in survey_rows],
                                             ["customer_id", "stage", "touchpoint", "comment"])

    # --- customers files (paired with good_events.csv)
    files["customers_duplicate_ids.csv"] = _csv([[f"c{1 + i % 3}", str(20 + i), ["north", "south"][i % 2]]
                                                 for i in range(6)], ["customer_id", "age", "region"])
    files["customers_sql_html.csv"] = _csv([[f"c{i + 1}", SQL_VALUE, SCRIPT] for i in range(6)],
                                           ["customer_id", SQL_COLUMN, "<b>segment</b>"])

    # --- containers
    header = EVENT_HEADER
    files["several_sheets.xlsx"] = _xlsx({"Notes": [["read me"], ["this sheet is not the data"]],
                                          "Events": [header, *ev], "Survey": [["customer_id", "score"], ["c1", 5]]})
    files["events_sheet_first.xlsx"] = _xlsx({"Events": [header, *ev], "Notes": [["read me"]]})
    files["truncated.csv.gz"] = gzip.compress(good.encode(), mtime=0)[:60]
    files["good.csv.gz"] = gzip.compress(good.encode(), mtime=0)
    files["gzip_bomb.csv.gz"] = _gzip_bomb(200)
    files["zip_bomb.xlsx"] = _zip_bomb(200)
    files["not_a_zip_but_xlsx_name.xlsx"] = good
    return {name: (data.encode("utf-8") if isinstance(data, str) else data) for name, data in files.items()}


# What must happen to each file. Needles are matched case-sensitively in the error line
# (error) or in the warning lines (ok).
CASES: list[Case] = [
    Case("empty.csv", "touchpoints", "error", ("empty.csv", "empty file")),
    Case("whitespace_only.csv", "touchpoints", "error", ("whitespace_only.csv", "empty file")),
    Case("header_only.csv", "touchpoints", "error", ("header_only.csv", "no data rows")),
    Case("header_and_blank_lines.csv", "touchpoints", "error", ("header_and_blank_lines.csv", "no data rows")),
    Case("binary_garbage.csv", "touchpoints", "error", ("binary_garbage.csv", "binary")),
    Case("binary_garbage.xlsx", "touchpoints", "error", ("binary_garbage.xlsx", "binary")),
    Case("corrupt.parquet", "touchpoints", "error", ("corrupt.parquet", "Parquet")),
    Case("old_excel.xls", "touchpoints", "error", ("old_excel.xls", ".xls")),
    Case("json_not_a_table.csv", "touchpoints", "error", ("json_not_a_table.csv", "looks like JSON")),
    Case("html_page_saved_as.csv", "touchpoints", "error", ("html_page_saved_as.csv", "web page")),
    Case("wrong_delimiter_colon.csv", "touchpoints", "error", ("wrong_delimiter_colon.csv", "required field")),
    Case("commas_named_tsv.tsv", "touchpoints", "error", ("commas_named_tsv.tsv", "required field")),
    Case("semicolon_delimited.csv", "touchpoints", "ok"),
    Case("latin1.csv", "touchpoints", "ok"),
    Case("utf16_bom.csv", "touchpoints", "ok"),
    Case("utf16_no_bom.csv", "touchpoints", "ok"),
    Case("utf8_bom.csv", "touchpoints", "ok"),
    Case("duplicate_headers.csv", "touchpoints", "ok", ("touchpoint.1",)),
    Case("blank_header_cells.csv", "touchpoints", "ok", ("column_6",)),
    Case("ragged_rows.csv", "touchpoints", "ok", ("more fields than the header",)),
    Case("wide_500_columns.csv", "touchpoints", "ok"),
    Case("missing_id_column.csv", "touchpoints", "error", ("missing_id_column.csv", "'customer_id'")),
    Case("missing_timestamp_column.csv", "touchpoints", "error", ("missing_timestamp_column.csv", "'timestamp'")),
    Case("all_timestamps_bad.csv", "touchpoints", "error", ("all_timestamps_bad.csv", "no parseable timestamp",
                                                            "'timestamp'", "not a date")),
    Case("half_timestamps_bad.csv", "touchpoints", "ok", ("unparseable timestamp", "garbage-1")),
    Case("timestamps_blank.csv", "touchpoints", "error", ("timestamps_blank.csv", "'timestamp'", "empty")),
    Case("dates_far_future.csv", "touchpoints", "ok", ("in the future", "2999")),
    Case("dates_far_past.csv", "touchpoints", "ok", ("before 1900", "1066")),
    Case("mixed_timezones.csv", "touchpoints", "ok"),
    Case("half_ids_missing.csv", "touchpoints", "ok", ("no customer id",)),
    Case("exact_duplicate_rows.csv", "touchpoints", "ok", ("5 rows dropped: exact duplicates",)),
    Case("one_customer.csv", "touchpoints", "ok"),
    Case("one_event.csv", "touchpoints", "ok"),
    Case("one_stage.csv", "touchpoints", "ok"),
    Case("unknown_stages.csv", "touchpoints", "ok", ("not in the stage order",)),
    Case("10000_touchpoints.csv", "touchpoints", "ok"),
    Case("10kb_strings.csv", "touchpoints", "ok"),
    Case("newlines_in_quoted_fields.csv", "touchpoints", "ok"),
    Case("formula_values.csv", "touchpoints", "ok"),
    Case("html_script_names.csv", "touchpoints", "ok"),
    Case("sql_column_names.csv", "touchpoints", "ok"),
    Case("sql_values.csv", "touchpoints", "ok"),
    Case("control_and_bidi_chars.csv", "touchpoints", "ok"),
    Case("scores_out_of_scale.csv", "survey", "ok", ("outside the detected scale 1 to 5", "'99.0'")),
    Case("scores_as_text.csv", "survey", "error", ("scores_as_text.csv", "no usable scores", "'score'")),
    Case("scores_half_text.csv", "survey", "ok", ("score is not a number", "'skipped'")),
    Case("scores_inf_nan.csv", "survey", "ok", ("score is not a number", "'inf'")),
    Case("survey_html_comments.csv", "survey", "ok"),
    Case("survey_missing_score.csv", "survey", "error", ("survey_missing_score.csv", "'score'")),
    Case("customers_duplicate_ids.csv", "customers", "ok", ("customer id repeated",)),
    Case("customers_sql_html.csv", "customers", "ok"),
    Case("several_sheets.xlsx", "touchpoints", "ok", ("'Events'", "other sheets ignored")),
    Case("events_sheet_first.xlsx", "touchpoints", "ok", ("other sheets ignored: 'Notes'",)),
    Case("truncated.csv.gz", "touchpoints", "error", ("truncated.csv.gz", "gzip")),
    Case("good.csv.gz", "touchpoints", "ok"),
    Case("gzip_bomb.csv.gz", "touchpoints", "error", ("gzip_bomb.csv.gz", "expands")),
    Case("zip_bomb.xlsx", "touchpoints", "error", ("zip_bomb.xlsx", "expands")),
    Case("not_a_zip_but_xlsx_name.xlsx", "touchpoints", "ok"),
]


def make_oversize(folder: Path, limit_mb: float) -> Path:
    """A sparse CSV one byte larger than ``limit_mb`` MB (takes no disk space)."""
    path = Path(folder) / "oversize.csv"
    with open(path, "wb") as fh:
        fh.write(b"customer_id,timestamp,touchpoint\n")
        fh.truncate(int(limit_mb * 1024 * 1024) + 1)
    return path


def write(out: Path = BAD_DIR) -> list[Path]:
    """Write the corpus; files no longer in it are removed."""
    out.mkdir(parents=True, exist_ok=True)
    files = build()
    for old in out.iterdir():
        if old.is_file() and old.name not in files:
            old.unlink()
    paths = []
    for name, data in sorted(files.items()):
        path = out / name
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BAD_DIR)
    args = parser.parse_args()
    paths = write(args.out)
    total = sum(p.stat().st_size for p in paths)
    print(f"{len(paths)} files, {total / 1e6:.2f} MB in {args.out}")


if __name__ == "__main__":
    main()
