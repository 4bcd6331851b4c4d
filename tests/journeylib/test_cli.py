"""The command line contract of DESIGN.md: headers, exit codes, one-line errors."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from journeylib.__main__ import main

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *needles):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def tiny(tmp_path):
    """Three customers; flows computed by hand below."""
    path = tmp_path / "events.csv"
    path.write_text(
        "user_id,timestamp,event\n"
        "a,2024-01-01 10:00,Ad\n"
        "a,2024-01-01 11:00,Site\n"
        "a,2024-01-01 12:00,Buy\n"
        "b,2024-01-02 10:00,Ad\n"
        "b,2024-01-02 10:00,Site\n"  # tie: file order keeps Ad before Site
        "c,2024-01-03 09:00,Site\n"
    )
    return path


def test_flows_on_hand_computed_file(tiny, capsys):
    code, out, err = run(["flows", "--touchpoints", tiny, "--max-steps", "3", "--top", "0"], capsys)
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out))
    assert list(frame.columns) == ["step", "source", "target", "customers"]
    got = {(r.step, r.source, r.target): r.customers for r in frame.itertuples()}
    assert got == {
        (1, "Ad", "Site"): 2,
        (1, "Site", "(end)"): 1,
        (2, "Site", "Buy"): 1,
        (2, "Site", "(end)"): 1,
    }


def test_transitions_header_and_counts(tiny, capsys):
    code, out, _ = run(["transitions", "--touchpoints", tiny], capsys)
    assert code == 0
    frame = pd.read_csv(io.StringIO(out))
    assert list(frame.columns) == ["source", "target", "transitions", "customers"]
    got = {(r.source, r.target): (r.transitions, r.customers) for r in frame.itertuples()}
    assert got == {("Ad", "Site"): (2, 2), ("Site", "Buy"): (1, 1)}


def test_out_file_written(tiny, tmp_path, capsys):
    out_file = tmp_path / "flows.csv"
    code, out, _ = run(["flows", "--touchpoints", tiny, "--out", out_file], capsys)
    assert code == 0 and out == ""
    # step 1: all 3 customers; step 2: a and b; step 3: a's Buy -> (end)
    assert pd.read_csv(out_file).groupby("step")["customers"].sum().to_dict() == {1: 3, 2: 2, 3: 1}


def test_map_overrides_detection(tmp_path, capsys):
    path = tmp_path / "odd.csv"
    path.write_text("who,when,what\nx,2024-01-01,A\nx,2024-01-02,B\n")
    code, out, err = run(
        ["transitions", "--touchpoints", path, "--map", "customer_id=who", "--map", "timestamp=when", "--map", "touchpoint=what"],
        capsys,
    )
    assert code == 0, err
    assert pd.read_csv(io.StringIO(out)).iloc[0].tolist() == ["A", "B", 1, 1]


def test_validate_reports_counts(tiny, capsys):
    code, out, _ = run(["validate", "--touchpoints", tiny], capsys)
    assert code == 0
    assert "6 events, 3 customers, 3 touchpoints" in out


@pytest.mark.skipif(not (SAMPLE / "touchpoints.csv").exists(), reason="bundled sample not generated")
def test_emotions_and_personas_headers_on_sample(capsys):
    inputs = ["--touchpoints", SAMPLE / "touchpoints.csv", "--survey", SAMPLE / "survey.csv",
              "--customers", SAMPLE / "customers.csv"]
    code, out, err = run(["emotions", *inputs, "--by", "none"], capsys)
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out))
    assert list(frame.columns) == ["stage", "persona", "mean", "ci_low", "ci_high", "n"]
    assert set(frame["persona"]) == {"all"}
    assert (frame["ci_low"] <= frame["mean"]).all() and (frame["mean"] <= frame["ci_high"]).all()
    code, out, err = run(["personas", *inputs, "--k", "3"], capsys)
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out))
    assert list(frame.columns) == ["customer_id", "persona"]
    assert frame["persona"].nunique() == 3


# ---- every error path: exit 2, one line starting with "error:", no traceback ----

def test_missing_file(tmp_path, capsys):
    missing = tmp_path / "nope.csv"
    assert_one_line_error(*run(["flows", "--touchpoints", missing], capsys)[::2], "nope.csv", "not found")


def test_folder_instead_of_file(tmp_path, capsys):
    assert_one_line_error(*run(["flows", "--touchpoints", tmp_path], capsys)[::2], "folder")


def test_empty_file(tmp_path, capsys):
    path = tmp_path / "empty.csv"
    path.write_text("")
    assert_one_line_error(*run(["flows", "--touchpoints", path], capsys)[::2], "empty.csv")


def test_header_only(tmp_path, capsys):
    path = tmp_path / "header.csv"
    path.write_text("user_id,timestamp,event\n")
    assert_one_line_error(*run(["transitions", "--touchpoints", path], capsys)[::2], "header.csv")


def test_missing_required_column(tmp_path, capsys):
    path = tmp_path / "noid.csv"
    path.write_text("timestamp,event\n2024-01-01,A\n")
    assert_one_line_error(*run(["flows", "--touchpoints", path], capsys)[::2], "noid.csv", "customer_id")


def test_unparseable_timestamps(tmp_path, capsys):
    path = tmp_path / "badtime.csv"
    path.write_text("user_id,timestamp,event\na,yesterday,A\nb,soon,B\n")
    assert_one_line_error(*run(["flows", "--touchpoints", path], capsys)[::2], "badtime.csv", "timestamp")


def test_binary_garbage(tmp_path, capsys):
    path = tmp_path / "garbage.csv"
    path.write_bytes(bytes(range(256)) * 20)
    assert_one_line_error(*run(["flows", "--touchpoints", path], capsys)[::2], "garbage.csv")


def test_map_to_absent_column(tiny, capsys):
    assert_one_line_error(*run(["flows", "--touchpoints", tiny, "--map", "touchpoint=nothing"], capsys)[::2], "nothing")


def test_malformed_map(tiny, capsys):
    assert_one_line_error(*run(["flows", "--touchpoints", tiny, "--map", "touchpoint"], capsys)[::2], "--map")


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--max-steps", "1"], "--max-steps"),
        (["--top", "-1"], "--top"),
        (["--level", "page"], "level"),
        (["--max-steps", "many"], "max-steps"),
    ],
)
def test_bad_flow_options(tiny, capsys, extra, needle):
    assert_one_line_error(*run(["flows", "--touchpoints", tiny, *extra], capsys)[::2], needle)


def test_bad_k(tiny, capsys):
    assert_one_line_error(*run(["personas", "--touchpoints", tiny, "--k", "lots"], capsys)[::2], "--k")


def test_emotions_without_survey(tiny, capsys):
    assert_one_line_error(*run(["emotions", "--touchpoints", tiny, "--by", "none"], capsys)[::2], "survey")


def test_report_needs_known_extension(tiny, tmp_path, capsys):
    assert_one_line_error(*run(["report", "--touchpoints", tiny, "--out", tmp_path / "r.pdf"], capsys)[::2], ".pptx")


def test_unknown_command_and_missing_inputs(capsys):
    assert_one_line_error(*run(["dance"], capsys)[::2], "invalid choice")
    assert_one_line_error(*run(["flows"], capsys)[::2], "--touchpoints")


@pytest.mark.skipif(not (SAMPLE / "touchpoints.csv").exists(), reason="bundled sample not generated")
def test_unknown_persona_lists_the_real_ones(capsys):
    code, _, err = run(["flows", "--touchpoints", SAMPLE / "touchpoints.csv", "--persona", "Martians"], capsys)
    assert_one_line_error(code, err, "Martians", "personas are:")


def test_subprocess_error_has_no_traceback(tmp_path):
    """End to end, as a script would call it."""
    path = tmp_path / "noid.csv"
    path.write_text("timestamp,event\n2024-01-01,A\n")
    proc = subprocess.run(
        [sys.executable, "-m", "journeylib", "flows", "--touchpoints", str(path)],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ")
    assert "Traceback" not in proc.stderr


def test_memory_limit_per_command_and_environment_left_as_it_was(monkeypatch):
    import journeylib.__main__ as cli
    from journeylib.engine import MEMORY_LIMIT_ENV

    seen = []
    monkeypatch.setattr(cli, "_run", lambda args: seen.append(os.environ.get(MEMORY_LIMIT_ENV)))
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    assert cli.main(["flows", "--touchpoints", "x.csv"]) == 0
    assert cli.main(["personas", "--touchpoints", "x.csv"]) == 0
    assert seen == ["1.5GB", "1GB"]
    assert MEMORY_LIMIT_ENV not in os.environ
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "6GB")  # the user's setting wins
    assert cli.main(["flows", "--touchpoints", "x.csv"]) == 0
    assert seen[-1] == "6GB" and os.environ[MEMORY_LIMIT_ENV] == "6GB"


def test_flows_and_transitions_import_only_what_they_need(tiny, tmp_path):
    """A flows or transitions run never loads scikit-learn, Plotly, python-pptx or Streamlit."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from journeylib.__main__ import main\n"
        f"assert main(['flows', '--touchpoints', {str(tiny)!r}, '--out', {str(tmp_path / 'f.csv')!r}]) == 0\n"
        f"assert main(['transitions', '--touchpoints', {str(tiny)!r}, '--out', {str(tmp_path / 't.csv')!r}]) == 0\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'plotly', 'pptx', 'streamlit'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_funnel_of_touchpoints_at_no_stage_says_why_it_is_zero(tmp_path, capsys):
    """No touchpoint name carries a stage word: every stage counts 0, and standard error
    says so and how to place them, instead of a bare column of zeros."""
    path = tmp_path / "log.csv"
    path.write_text("case_id,timestamp,activity\nt1,2024-01-01 10:00,Alpha\nt1,2024-01-01 11:00,Beta\n"
                    "t2,2024-01-02 10:00,Alpha\n")
    code, out, err = run(["funnel", "--touchpoints", path], capsys)
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out))
    assert frame["customers"].tolist() == [0] * len(frame) and len(frame) >= 2
    warning = [line for line in err.splitlines() if line.startswith("warning: funnel: ")]
    assert len(warning) == 1 and "No customer has an event at any of the" in warning[0]
    assert "--stage-map" in warning[0]
