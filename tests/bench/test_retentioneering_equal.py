"""bench/retentioneering_equal.py: our flows and transitions against retentioneering's on its
``ecom`` dataset (when a python with retentioneering is available), and its comparison on
small hand-made files (always)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]


def _module():
    spec = importlib.util.spec_from_file_location("retentioneering_equal", REPO / "bench" / "retentioneering_equal.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


rte = _module()


def _peer() -> Path | None:
    python = rte.rt_python()
    if python is None:
        return None
    env = dict(os.environ, RETENTIONEERING_NO_TRACK="1")
    done = subprocess.run([str(python), "-c", "import retentioneering"], capture_output=True, env=env)
    return python if done.returncode == 0 else None


def _write_sides(out: Path, rt_customers_at_a2: int = 1, rt_ab: int = 2) -> None:
    """Journeys x: a, b, a and y: a, b (max_steps 3), written as each side writes them."""
    pd.DataFrame({"step": [1, 1, 2, 2], "source": ["a", "a", "b", "b"], "target": ["b", "b", "a", "(end)"],
                  "customers": [2, 0, 1, 1]}).iloc[[0, 2, 3]].to_csv(out / "ours_flows.csv", index=False)
    pd.DataFrame({"source": ["a", "b"], "target": ["b", "a"], "transitions": [2, 1],
                  "customers": [2, 1]}).to_csv(out / "ours_transitions.csv", index=False)
    # The step matrix in paths: steps 0..3; path_end counts paths with fewer than k events.
    pd.DataFrame({"node": ["path_start", "a", "b", "path_end"], "0": [2, 0, 0, 0], "1": [0, 2, 0, 0],
                  "2": [0, 0, 2, 0], "3": [0, rt_customers_at_a2, 0, 1]}).to_csv(out / "rt_step_matrix.csv",
                                                                                    index=False)
    pd.DataFrame({"source": ["path_start", "a", "b", "a", "b"], "target": ["a", "b", "a", "path_end", "path_end"],
                  "transitions": [2, rt_ab, 1, 1, 1], "customers": [2, 2, 1, 1, 1]}).to_csv(
        out / "rt_transitions.csv", index=False)


def test_compare_equal_on_hand_made_files(tmp_path):
    _write_sides(tmp_path)
    result = rte.compare(tmp_path, max_steps=3)
    assert result["step_nodes"]["equal"] and result["step_nodes"]["rows_ours"] == 3
    assert result["ended_before_step"]["equal"]
    assert result["transitions"]["equal"]
    assert result["transitions"]["rt_boundary_pairs_left_out"] == 3
    assert result["transitions"]["rt_boundary_transitions_left_out"] == 4


def test_compare_reports_each_difference(tmp_path):
    _write_sides(tmp_path, rt_customers_at_a2=2, rt_ab=3)
    result = rte.compare(tmp_path, max_steps=3)
    assert result["step_nodes"]["differences"] == [
        {"step": 3, "node": "a", "customers_ours": 1, "customers_rt": 2, "where": "values differ"}]
    assert [(d["source"], d["target"], d["transitions_ours"], d["transitions_rt"])
            for d in result["transitions"]["differences"]] == [("a", "b", 2, 3)]
    assert result["ended_before_step"]["equal"]


def test_equal_to_retentioneering_on_ecom(tmp_path):
    python = _peer()
    if python is None:
        pytest.skip("no python with retentioneering (set RETENTIONEERING_PYTHON or make /tmp/rtvenv, bench/README.md)")
    result = rte.check(python, tmp_path, max_steps=8)
    for name in ("step_nodes", "ended_before_step", "transitions"):
        assert result[name]["equal"], (name, result[name]["differences"][:10])
    # The dataset as retentioneering ships it: 31,106 events (30 exact repeats, kept) of 600 users.
    assert result["rt"]["events"] == 31_106 and result["rt"]["paths"] == 600
    ours = pd.read_csv(tmp_path / "ours_transitions.csv")
    assert int(ours["transitions"].sum()) == 31_106 - 600  # every event but a journey's last starts a pair
