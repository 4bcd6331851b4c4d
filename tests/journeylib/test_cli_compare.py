"""`python -m journeylib compare`: the header of DESIGN.md, hand-counted shares, another file
as a view, and one-line errors with exit status 2."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from journeylib.__main__ import main

HEADER = "measure,stage,a,b,difference,ci_low,ci_high,p_value,n_a,n_b"


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def events_file(path, journeys, day="2024-03-01"):
    lines = ["customer_id,timestamp,touchpoint,stage,channel"]
    for cid, (channel, stages) in journeys.items():
        for i, stage in enumerate(stages):
            lines.append(f"{cid},{day} 09:{i:02d}:00,{stage} page,{stage},{channel}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def files(tmp_path):
    march = events_file(tmp_path / "march.csv", {
        "c1": ("Web", ["Awareness", "Consideration", "Intent", "Purchase"]),
        "c2": ("Web", ["Awareness", "Consideration"]),
        "c3": ("App", ["Awareness", "Consideration", "Intent"]),
        "c4": ("App", ["Awareness"]),
    })
    april = events_file(tmp_path / "april.csv", {
        "d1": ("Web", ["Awareness", "Consideration", "Intent", "Purchase"]),
        "d2": ("Web", ["Awareness", "Consideration", "Intent", "Purchase"]),
        "d3": ("App", ["Awareness"]),
    }, day="2024-04-02")
    return march, april


def test_compare_header_and_shares_by_hand(files, capsys):
    march, _ = files
    code, out, err = run(["compare", "--touchpoints", march, "--a", "channel=app", "--b", "channel=Web"], capsys)
    assert code == 0, err
    assert out.splitlines()[0] == HEADER
    table = pd.read_csv(io.StringIO(out)).set_index(["measure", "stage"])
    # App: c3 reaches Intent, c4 only Awareness; Web: c1 buys, c2 stops at Consideration.
    assert table.loc[("reached", "Intent"), ["a", "b", "n_a", "n_b"]].tolist() == [0.5, 0.5, 2, 2]
    assert table.loc[("reached", "Purchase"), ["a", "b"]].tolist() == [0.0, 0.5]
    assert table.loc[("converted", "Purchase"), "difference"] == 0.5
    assert "score" not in table.index.get_level_values(0)
    assert "note: score: no survey answers" in err


def test_compare_with_another_file_of_the_same_shape(files, capsys):
    march, april = files
    code, out, err = run(["compare", "--touchpoints", march, "--a", "all", "--b", f"dataset={april}"], capsys)
    assert code == 0, err
    table = pd.read_csv(io.StringIO(out)).set_index(["measure", "stage"])
    assert table.loc[("reached", "Purchase"), ["a", "b", "n_a", "n_b"]].tolist() == [0.25, 2 / 3, 4, 3]


@pytest.mark.parametrize("a, b, needle", [
    ("frm=2024-03-01", "all", "--a: view 'frm=2024-03-01': unknown condition 'frm'"),
    ("all", "from=2024-03-40", "--b: view 'from=2024-03-40': from: '2024-03-40' is not a calendar date"),
    ("channel=Fax", "all", "--a: view 'channel=Fax': no channel named 'Fax'; channels are: App, Web"),
    ("attribute:plan=pro", "all", "attribute column 'plan' is in none of the files"),
    ("from=2025-01-01", "all", "matches no customer"),
    ("dataset=missing.csv", "all", "missing.csv: file not found"),
])
def test_compare_errors_are_one_line(files, capsys, a, b, needle):
    march, _ = files
    code, out, err = run(["compare", "--touchpoints", march, "--a", a, "--b", b], capsys)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err
    assert needle in lines[0], lines[0]


def test_compare_needs_both_views(files, capsys):
    code, _, err = run(["compare", "--touchpoints", files[0], "--a", "all"], capsys)
    assert code == 2 and "--b" in err and len(err.strip().splitlines()) == 1
