"""Every file of the bad-input corpus uploaded on the Data page (AppTest drives st.file_uploader):
an error message on the page and the previous dataset still active, or the data saved and
active with its warnings counted; never an exception.

One app session tries the files one after another, as a user would; failures are collected
so one run reports every file that misbehaves.
"""

from __future__ import annotations

import re

import pytest

from journeylib import ingest as jio
from tests.data.make_bad_inputs import BAD_DIR, CASES, GOOD_EVENTS

from .test_app import active_id

TOUCHPOINT_CASES = [c for c in CASES if c.role == "touchpoints"]
OTHER_CASES = [c for c in CASES if c.role != "touchpoints"]


def texts(at, kind):
    return [e.value for e in getattr(at, kind)]


def visible_text(at) -> str:
    parts = texts(at, "error") + texts(at, "warning") + texts(at, "success")
    for df in at.dataframe:
        frame = df.value
        if "message" in getattr(frame, "columns", []):
            files = frame["file"] if "file" in frame.columns else [""] * len(frame)
            parts += [f"{f}: {m}" for f, m in zip(files, frame["message"])]
    return "\n".join(parts)


def expected_warnings(case) -> int:
    kwargs = {"touchpoints": str(BAD_DIR / GOOD_EVENTS)} if case.role != "touchpoints" else {}
    kwargs[case.role] = str(BAD_DIR / case.file)
    report = jio.validate(**kwargs)
    assert report.ok, report.lines()
    return len(report.warnings)


def try_upload(at, case, uploads: dict[str, str], failures: list[str]) -> None:
    """Upload the files (key -> corpus file), press Check then Use, and check the outcome."""
    before = active_id(at)
    for key, name in uploads.items():
        at.file_uploader(key=key).set_value((name, (BAD_DIR / name).read_bytes(), "application/octet-stream"))
    at.run()
    problems = []
    if at.exception:
        problems.append(f"exception after upload: {[e.message for e in at.exception]}")
    if case.expect == "error":
        use = [b for b in at.button if b.key == "d_use"]
        if use and not use[0].disabled:  # a file that reads but cannot be loaded
            use[0].click().run()
        shown = visible_text(at)
        if not at.error:
            problems.append("no error shown")
        for needle in case.needles:
            if needle not in shown:
                problems.append(f"{needle!r} not in what the page shows: {shown[:400]!r}")
        if active_id(at) != before:
            problems.append("the active dataset changed")
    else:
        at.button(key="d_check").click().run()
        shown = visible_text(at)
        for needle in case.needles:
            if needle not in shown:
                problems.append(f"{needle!r} not in the check report: {shown[:400]!r}")
        at.button(key="d_use").click().run()
        if at.exception:
            problems.append(f"exception after Use: {[e.message for e in at.exception]}")
        notes = [s for s in texts(at, "success") if "is now the active dataset" in s]
        if not notes:
            problems.append(f"not loaded: errors {texts(at, 'error')}")
        else:
            count = int(re.search(r"(\d+) warning\(s\)", notes[0]).group(1))
            want = expected_warnings(case)
            if count != want:
                problems.append(f"{count} warnings counted, the loader has {want}")
            if active_id(at) == before:
                problems.append("the new dataset did not become active")
    if problems:
        failures.append(f"{case.file}: " + "; ".join(problems))
    for key in uploads:  # clear the uploaders for the next file
        if any(u.key == key for u in at.file_uploader):
            at.file_uploader(key=key).set_value(None)
    at.run()


def test_every_touchpoints_file_through_the_data_page(app):
    app.run()
    app.switch_page("pages/data.py").run()
    assert not app.exception
    failures: list[str] = []
    for case in TOUCHPOINT_CASES:
        try_upload(app, case, {"up_touchpoints_One": case.file}, failures)
    assert not failures, "\n".join(failures)
    assert len(TOUCHPOINT_CASES) >= 40


def test_survey_and_customers_files_through_the_data_page(app):
    app.run()
    app.switch_page("pages/data.py").run()
    app.radio(key="d_mode").set_value("Separate files").run()
    failures: list[str] = []
    for case in OTHER_CASES:
        try_upload(app, case, {"up_touchpoints_Sep": GOOD_EVENTS, f"up_{case.role}_Sep": case.file}, failures)
    assert not failures, "\n".join(failures)
    # Whatever was tried, every page still renders on the active dataset.
    for page in ("pages/journeys.py", "pages/emotions.py", "pages/data.py"):
        app.switch_page(page).run()
        assert not app.exception, [e.message for e in app.exception]


def test_file_above_the_size_limit_is_refused_on_the_data_page(app, monkeypatch):
    app.run()
    app.switch_page("pages/data.py").run()
    before = active_id(app)
    payload = (BAD_DIR / GOOD_EVENTS).read_bytes()
    monkeypatch.setenv("JOURNEY_MAX_UPLOAD_MB", "0.0005")  # 524 bytes; the file has 1025
    app.file_uploader(key="up_touchpoints_One").set_value(("big.csv", payload, "text/csv")).run()
    assert not app.exception
    assert any("big.csv: file is 0.0 MB (1,025 bytes), above the size limit of 0.0005 MB" in e
               for e in texts(app, "error")), texts(app, "error")
    assert not any(b.key == "d_use" for b in app.button)  # nothing to use
    assert active_id(app) == before
