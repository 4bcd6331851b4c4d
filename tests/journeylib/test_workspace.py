"""Workspace: atomic saves, reopen through Parquet, rename, delete, crash recovery."""

import json
import os

import pandas as pd
import pytest

from journeylib import workspace as ws
from journeylib.engine import Engine
from journeylib.journey import JourneyModel
from journeylib.schema import JourneyData, ScoreScale


@pytest.fixture(scope="module")
def engine():
    return Engine()


@pytest.fixture
def data(engine):
    events = pd.DataFrame({
        "customer_id": ["a", "a", "b"],
        "timestamp": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 00:00", "2024-01-03 00:00"]),
        "seq": [0, 1, 2],
        "touchpoint": ["Ad", "Site", "Ad"],
        "stage": ["Awareness", None, "Awareness"],
        "channel": ["web", "web", None],
    })
    survey = pd.DataFrame({"customer_id": ["a", "b"], "stage": ["Awareness", "Awareness"],
                           "touchpoint": ["Ad", "Ad"], "score": [4.0, 2.0], "comment": ["ok", None],
                           "timestamp": pd.Series([pd.NaT, pd.NaT], dtype="datetime64[us]"), "nps": [9.0, None]})
    return JourneyData(events=engine.table(events), survey=engine.table(survey),
                       journey=JourneyModel.default(("Awareness", "Consideration", "Purchase")),
                       score_scale=ScoreScale(1, 5), touchpoint_stage_map={"Site": "Consideration"},
                       source_names={"touchpoints": "events.csv", "survey": "survey.csv"})


def test_save_and_reopen_round_trip(tmp_path, engine, data):
    info = ws.save_dataset(data, "  Spring campaign ", root=tmp_path, engine=engine)
    assert len(info.id) == 32 and info.name == "Spring campaign"
    folder = tmp_path / info.id
    assert sorted(p.name for p in folder.iterdir()) == ["elements_stage.parquet", "elements_touchpoint.parquet",
                                                        "events.parquet", "meta.json", "survey.parquet"]
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["row_counts"] == {"events": 3, "survey": 2}
    assert meta["journey"]["stages"] == ["Awareness", "Consideration", "Purchase"]
    assert meta["source_names"] == {"touchpoints": "events.csv", "survey": "survey.csv"}

    again = ws.open_dataset(info.id, root=tmp_path, engine=engine)
    assert again.customers is None
    assert again.stages == ("Awareness", "Consideration", "Purchase")
    assert again.score_scale == ScoreScale(1.0, 5.0)
    assert dict(again.touchpoint_stage_map) == {"Site": "Consideration"}
    events = engine.execute(again.events.order_by("seq"))
    assert events["touchpoint"].tolist() == ["Ad", "Site", "Ad"]
    assert events["timestamp"].iloc[0] == pd.Timestamp("2024-01-01 10:00")
    assert events["stage"].isna().tolist() == [False, True, False]
    survey = engine.execute(again.survey.order_by("customer_id"))
    assert survey["score"].tolist() == [4.0, 2.0]


def test_name_is_display_text_only(tmp_path, engine, data):
    info = ws.save_dataset(data, "../../etc/passwd", root=tmp_path, engine=engine)
    assert [p.name for p in tmp_path.iterdir()] == [info.id]
    assert ws.list_datasets(tmp_path)[0].name == "../../etc/passwd"
    with pytest.raises(ws.WorkspaceError):
        ws.open_dataset("../x", root=tmp_path, engine=engine)
    with pytest.raises(ws.WorkspaceError):
        ws.save_dataset(data, "   ", root=tmp_path, engine=engine)


def test_list_rename_delete_and_persona_names(tmp_path, engine, data):
    first = ws.save_dataset(data, "First", root=tmp_path, engine=engine)
    second = ws.save_dataset(data, "Second", root=tmp_path, engine=engine)
    assert {i.id for i in ws.list_datasets(tmp_path)} == {first.id, second.id}
    ws.rename_dataset(first.id, "Renamed", root=tmp_path)
    ws.set_persona_names(first.id, {"Persona 1": "Bargain hunters", "Persona 2": "Persona 2"}, root=tmp_path)
    info = ws.get_info(first.id, root=tmp_path)
    assert info.name == "Renamed" and info.persona_names == {"Persona 1": "Bargain hunters"}
    ws.delete_dataset(second.id, root=tmp_path)
    assert [i.id for i in ws.list_datasets(tmp_path)] == [first.id]
    with pytest.raises(ws.WorkspaceError, match="no saved dataset"):
        ws.get_info(second.id, root=tmp_path)


def test_resave_keeps_created_and_renames_replace(tmp_path, engine, data):
    info = ws.save_dataset(data, "One", root=tmp_path, engine=engine)
    ws.set_persona_names(info.id, {"A": "B"}, root=tmp_path)
    smaller = data.filter(customer_ids=["a"])
    again = ws.save_dataset(smaller, "One", root=tmp_path, engine=engine, dataset_id=info.id)
    assert again.created == info.created and again.row_counts["events"] == 2
    assert again.persona_names == {"A": "B"}
    assert [p.name for p in tmp_path.iterdir()] == [info.id]


def test_interrupted_save_leaves_old_version(tmp_path, engine, data, monkeypatch):
    info = ws.save_dataset(data, "Stable", root=tmp_path, engine=engine)
    real_replace = os.replace

    def crash(src, dst):
        if os.path.basename(src).startswith(".tmp-"):  # the final move of the new version
            raise OSError("disk on fire")
        return real_replace(src, dst)

    monkeypatch.setattr(ws.os, "replace", crash)
    with pytest.raises(OSError):
        ws.save_dataset(data.filter(customer_ids=["b"]), "Broken", root=tmp_path, engine=engine,
                        dataset_id=info.id)
    monkeypatch.setattr(ws.os, "replace", real_replace)
    assert not (tmp_path / info.id).exists()  # crashed between the two renames
    # The old version was moved aside; recovery on list puts it back, complete.
    listed = ws.list_datasets(tmp_path)
    assert [i.name for i in listed] == ["Stable"]
    reopened = ws.open_dataset(info.id, root=tmp_path, engine=engine)
    assert engine.execute(reopened.events.count().as_table()).iloc[0, 0] == 3
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_workspace_env(tmp_path, monkeypatch):
    monkeypatch.setenv(ws.WORKSPACE_ENV, str(tmp_path / "ws"))
    assert ws.workspace_root() == tmp_path / "ws" and (tmp_path / "ws").is_dir()


def test_listing_removes_the_temp_folder_of_a_crashed_save_only(tmp_path):
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    crashed = tmp_path / f".tmp-{dead.pid}-{'a' * 32}"
    in_progress = tmp_path / f".tmp-{os.getpid()}-{'b' * 32}"
    for folder in (crashed, in_progress):
        folder.mkdir()
        (folder / "events.parquet").write_bytes(b"partial")
    ws.list_datasets(tmp_path)
    assert not crashed.exists()
    assert in_progress.exists()


def test_events_are_stored_in_journey_order(tmp_path, engine):
    """Saved events lie grouped by customer in time order (ties by file order), whatever
    order the loaded table had, so later per-customer queries run on clustered data."""
    import pyarrow.parquet as pq

    events = pd.DataFrame({
        "customer_id": ["b", "a", "b", "a", "c", "a"],
        "timestamp": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-01", "2024-01-01",
                                     "2024-01-05", "2024-01-01"]),
        "seq": [0, 1, 2, 3, 4, 5],
        "touchpoint": ["t0", "t1", "t2", "t3", "t4", "t5"],
        "stage": pd.Series([None] * 6, dtype="str"),
        "channel": pd.Series([None] * 6, dtype="str"),
    })
    data = JourneyData(events=engine.table(events), journey=JourneyModel.default(("Awareness",)))
    info = ws.save_dataset(data, "order", root=tmp_path, engine=engine)
    stored = pq.read_table(tmp_path / info.id / "events.parquet").to_pandas()
    # a: 01-01 (seq 3), 01-01 (seq 5), 01-03; b: 01-01, 01-02; c.
    assert stored["touchpoint"].tolist() == ["t3", "t5", "t1", "t2", "t0", "t4"]
    assert stored["seq"].tolist() == [3, 5, 1, 2, 0, 4]


def test_stored_elements_equal_the_events_numbered_again(tmp_path, engine, data):
    """Each level's elements are stored at save and read back by open_elements; a dataset
    saved without them (an older version) gives None, so flows number its events."""
    from journeylib import flows

    info = ws.save_dataset(data, "elements", root=tmp_path, engine=engine)
    again = ws.open_dataset(info.id, root=tmp_path, engine=engine)
    for level in flows.LEVELS:
        got = engine.execute(ws.open_elements(info.id, level, root=tmp_path, engine=engine))
        want = engine.execute(flows.stored_elements(again.events, level))
        key = ["customer_id", "k"]
        pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True),
                                      want.sort_values(key).reset_index(drop=True))
    stage = engine.execute(ws.open_elements(info.id, "stage", root=tmp_path, engine=engine)).sort_values(["customer_id", "k"])
    # a: Awareness then (no stage) - two elements; b: Awareness.
    assert stage["node"].tolist() == ["Awareness", "(no stage)", "Awareness"]
    (tmp_path / info.id / "elements_stage.parquet").unlink()
    assert ws.open_elements(info.id, "stage", root=tmp_path, engine=engine) is None
