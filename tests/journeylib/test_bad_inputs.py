"""Every file of the bad-input corpus through the command line: one `error:` line and exit 2,
or success with every warning counted; never a traceback.

The corpus is tests/data/bad/, written by tests/data/make_bad_inputs.py, whose CASES list says
what each file must do. Most runs are in-process (journeylib.__main__.main + capsys); a few go
through a real subprocess.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from journeylib.__main__ import main
from journeylib.ingest import InputError, load_journey, max_upload_bytes, read_table
from tests.data.make_bad_inputs import BAD_DIR, CASES, GOOD_EVENTS, GOOD_SURVEY, make_oversize

REPO = Path(__file__).resolve().parents[2]


def argv_for(case, command="validate"):
    path = str(BAD_DIR / case.file)
    if case.role == "touchpoints":
        return [command, "--touchpoints", path]
    return [command, "--touchpoints", str(BAD_DIR / GOOD_EVENTS), f"--{case.role}", path]


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def check_outcome(case, code, out, err):
    assert "Traceback" not in err and "Traceback" not in out
    lines = err.strip().splitlines()
    if case.expect == "error":
        assert code == 2, (code, out, err)
        assert len(lines) == 1, err
        assert lines[0].startswith(f"error: {BAD_DIR / case.file}: "), lines[0]
        for needle in case.needles:
            assert needle in lines[0], (needle, lines[0])
        assert out == ""
        return
    assert code == 0, err
    warnings = [line for line in lines if line.startswith("warning: ")]
    assert warnings == lines, f"stderr has lines that are not warnings: {err}"
    summary = out.strip().splitlines()
    assert summary[-1] == f"{len(warnings)} warning(s)"
    for needle in case.needles:
        assert any(needle in w for w in warnings), (needle, warnings)
    # Each warning names the file it is about.
    assert all(str(BAD_DIR) in w or "touchpoint_stage_map" in w for w in warnings), warnings


# --------------------------------------------------------------------------- the corpus itself


def test_corpus_is_complete_and_small():
    on_disk = {p.name for p in BAD_DIR.iterdir() if p.is_file()}
    named = {c.file for c in CASES}
    assert len(named) == len(CASES) >= 40
    assert named <= on_disk, f"run tests/data/make_bad_inputs.py: missing {sorted(named - on_disk)}"
    assert on_disk - named == {GOOD_EVENTS, GOOD_SURVEY}
    assert sum((BAD_DIR / n).stat().st_size for n in on_disk) < 5_000_000
    kinds = {c.expect for c in CASES}
    assert kinds == {"error", "ok"}


# --------------------------------------------------------------------------- every file, in-process


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_validate(case, capsys):
    code, out, err = run(argv_for(case), capsys)
    check_outcome(case, code, out, err)


@pytest.mark.parametrize("case", [c for c in CASES if c.expect == "ok"], ids=lambda c: c.id)
def test_analysis_runs_on_files_that_load(case, capsys):
    """What loads can be analysed: flows (and emotions when there are scores) give CSV."""
    code, out, err = run(argv_for(case, "flows") + ["--max-steps", "3"], capsys)
    assert code == 0, err
    assert "Traceback" not in err
    frame = pd.read_csv(io.StringIO(out), keep_default_na=False)
    assert list(frame.columns) == ["step", "source", "target", "customers"]
    assert len(frame) > 0
    assert (frame["customers"] > 0).all()
    if case.role == "survey":
        code, out, err = run(argv_for(case, "emotions") + ["--by", "none"], capsys)
        assert code == 0, err
        frame = pd.read_csv(io.StringIO(out))
        assert list(frame.columns) == ["stage", "persona", "mean", "ci_low", "ci_high", "n"]
        assert frame["mean"].dropna().between(-3, 10).all()  # no inf and no 99 dominating


@pytest.mark.parametrize("case", [c for c in CASES if c.expect == "error"], ids=lambda c: c.id)
def test_errors_are_input_errors_from_the_library(case):
    """The library raises InputError naming the file (the app shows its text)."""
    kwargs = {"touchpoints": str(BAD_DIR / GOOD_EVENTS)} if case.role != "touchpoints" else {}
    kwargs[case.role] = str(BAD_DIR / case.file)
    with pytest.raises(InputError) as info:
        load_journey(**kwargs)
    assert info.value.file == str(BAD_DIR / case.file)
    for needle in case.needles[1:]:
        assert needle in str(info.value)


# --------------------------------------------------------------------------- a few by subprocess


@pytest.mark.parametrize("name", ["zip_bomb.xlsx", "binary_garbage.csv", "half_timestamps_bad.csv"])
def test_subprocess(name, tmp_path):
    case = next(c for c in CASES if c.file == name)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("JOURNEY_DEBUG", None)
    proc = subprocess.run([sys.executable, "-m", "journeylib", *argv_for(case)], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=120)
    check_outcome(case, proc.returncode, proc.stdout, proc.stderr)


# --------------------------------------------------------------------------- the size limit


def test_file_above_the_default_limit_is_refused_before_reading(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("JOURNEY_MAX_UPLOAD_MB", raising=False)
    assert max_upload_bytes() == 1024 * 1024 * 1024  # as server.maxUploadSize in .streamlit/config.toml
    big = make_oversize(tmp_path, 1024)  # sparse: 1 GB + 1 byte, no disk used
    assert big.stat().st_size == 1024 ** 3 + 1
    code, out, err = run(["validate", "--touchpoints", big], capsys)
    assert code == 2 and out == ""
    assert err.strip() == (f"error: {big}: file is 1,024.0 MB (1,073,741,825 bytes), above the size limit "
                           "of 1024 MB; split it or raise the limit with JOURNEY_MAX_UPLOAD_MB")


def test_limit_is_configurable_and_applies_to_bytes_and_what_a_gzip_expands_to(tmp_path, capsys, monkeypatch):
    good = (BAD_DIR / GOOD_EVENTS).read_bytes()
    monkeypatch.setenv("JOURNEY_MAX_UPLOAD_MB", str(len(good) / 1024 / 1024 + 1e-9))
    assert read_table(BAD_DIR / GOOD_EVENTS).shape[0] == 22  # exactly at the limit: fine
    monkeypatch.setenv("JOURNEY_MAX_UPLOAD_MB", "0.0005")  # 524 bytes
    with pytest.raises(InputError, match=r"file is 0.0 MB \(1,025 bytes\), above the size limit of 0.0005 MB"):
        read_table(("upload.csv", good))
    # The .gz itself (313 bytes) is under the limit; what it expands to (1025 bytes) is not.
    code, out, err = run(["validate", "--touchpoints", BAD_DIR / "good.csv.gz"], capsys)
    assert code == 2
    assert "the gzip file expands to more than the size limit of 0.0005 MB" in err
    monkeypatch.setenv("JOURNEY_MAX_UPLOAD_MB", "not a number")  # ignored: the default applies
    assert max_upload_bytes() == 1024 ** 3


# --------------------------------------------------------------------------- hand-checked contents


def csv_rows(name):
    with open(BAD_DIR / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def events(name):
    data = load_journey(touchpoints=str(BAD_DIR / name))
    return data, data.events.execute().sort_values("seq").reset_index(drop=True)


def test_half_bad_timestamps_keep_exactly_the_good_rows():
    rows = csv_rows("half_timestamps_bad.csv")
    good_rows = [i for i, r in enumerate(rows) if not r["timestamp"].startswith("garbage")]
    data, ev = events("half_timestamps_bad.csv")
    assert ev["seq"].tolist() == good_rows
    (w,) = [w for w in data.warnings if "unparseable" in w.message]
    assert w.count == len(rows) - len(good_rows) and w.rows == [2, 4, 6, 8, 10]


def test_newlines_inside_quotes_stay_in_the_value():
    rows = csv_rows("newlines_in_quoted_fields.csv")
    _, ev = events("newlines_in_quoted_fields.csv")
    assert len(ev) == len(rows)
    assert ev["touchpoint"].tolist() == [r["touchpoint"] for r in rows]
    assert ev["touchpoint"].str.contains("\nsecond line, with comma").all()


def test_encodings_read_the_same_values():
    _, utf8 = events(GOOD_EVENTS)
    for name in ("utf16_bom.csv", "utf16_no_bom.csv", "utf8_bom.csv", "semicolon_delimited.csv", "good.csv.gz"):
        _, other = events(name)
        pd.testing.assert_frame_equal(other, utf8)
    _, latin = events("latin1.csv")
    assert set(latin["touchpoint"]) - set(utf8["touchpoint"]) == {"Café"}


def test_duplicate_header_keeps_both_columns():
    data, ev = events("duplicate_headers.csv")
    rows = list(csv.reader(open(BAD_DIR / "duplicate_headers.csv", encoding="utf-8")))[1:]
    assert ev["touchpoint"].tolist() == [r[2] for r in rows]  # the first one is the touchpoint
    assert ev["touchpoint.1"].tolist() == [r[5] for r in rows]


def test_ten_thousand_touchpoints_and_ten_kb_strings(capsys):
    code, out, err = run(["flows", "--touchpoints", BAD_DIR / "10000_touchpoints.csv", "--top", "5",
                          "--max-steps", "2"], capsys)
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out))
    # 500 customers, each has 20 events: step 1 links all 500 customers, merged into (other).
    assert frame["customers"].sum() == 500
    assert frame["source"].nunique() <= 6
    _, ev = events("10kb_strings.csv")
    assert ev["touchpoint"].str.len().max() == 10_240
    assert ev["customer_id"].str.len().max() == 2 + 10_240


def test_sheet_with_ids_is_chosen_and_bombs_are_refused_before_parsing():
    df = read_table(BAD_DIR / "several_sheets.xlsx")
    assert list(df.columns) == ["customer_id", "timestamp", "touchpoint", "stage", "channel"]
    assert df.shape == (22, 5)
    for name in ("zip_bomb.xlsx", "gzip_bomb.csv.gz"):
        with pytest.raises(InputError, match="refused as a possible zip bomb"):
            read_table(BAD_DIR / name)
