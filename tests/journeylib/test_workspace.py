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


def test_a_second_save_under_a_taken_name_gets_a_number_and_the_day(tmp_path, engine, data):
    first = ws.save_dataset(data, "Shop", root=tmp_path, engine=engine)
    second = ws.save_dataset(data, "shop ", root=tmp_path, engine=engine)
    third = ws.save_dataset(data, "Shop", root=tmp_path, engine=engine)
    today = pd.Timestamp.now().date().isoformat()
    assert first.name == "Shop"
    assert second.name == f"shop (2, {today})"
    assert third.name == f"Shop (3, {today})"
    assert len({i.name for i in ws.list_datasets(tmp_path)}) == 3
    # Saving a dataset again under its own name keeps the name.
    again = ws.save_dataset(data, "Shop", root=tmp_path, engine=engine, dataset_id=first.id)
    assert again.name == "Shop"


def test_unique_name_skips_numbers_in_use():
    taken = ["Loans", "Loans (2, 2024-05-01)", "loans (3, 2024-05-01)"]
    assert ws.unique_name("Loans", taken, day="2024-05-01") == "Loans (4, 2024-05-01)"
    assert ws.unique_name("Loans", taken, day="2024-06-02") == "Loans (4, 2024-06-02)"
    assert ws.unique_name("Other", taken) == "Other"
    long = ws.unique_name("x" * ws.MAX_NAME_LENGTH, ["x" * ws.MAX_NAME_LENGTH], day="2024-05-01")
    assert len(long) == ws.MAX_NAME_LENGTH and long.endswith(" (2, 2024-05-01)")


def test_duplicate_names_from_an_older_workspace_are_shown_apart(tmp_path, engine, data):
    ids = [ws.save_dataset(data, name, root=tmp_path, engine=engine).id for name in ("A", "B", "C")]
    # Written before names were kept unique: three datasets called "BPIC".
    for n, dataset_id in enumerate(ids):
        meta_path = tmp_path / dataset_id / "meta.json"
        meta = json.loads(meta_path.read_text())
        meta.update(name="BPIC", created=f"2024-05-0{n + 1}T10:00:00+00:00")
        meta_path.write_text(json.dumps(meta))
    shown = ws.distinct_names(ws.list_datasets(tmp_path))
    assert shown == {ids[0]: "BPIC", ids[1]: "BPIC (2, 2024-05-02)", ids[2]: "BPIC (3, 2024-05-03)"}


def test_rename_to_a_taken_name_is_refused(tmp_path, engine, data):
    first = ws.save_dataset(data, "First", root=tmp_path, engine=engine)
    second = ws.save_dataset(data, "Second", root=tmp_path, engine=engine)
    with pytest.raises(ws.WorkspaceError, match="already called “First”"):
        ws.rename_dataset(second.id, " first", root=tmp_path)
    assert ws.rename_dataset(first.id, "FIRST", root=tmp_path).name == "FIRST"  # its own name, recased


def test_replace_gives_the_new_copy_the_old_name(tmp_path, engine, data):
    old = ws.save_dataset(data, "Shop", root=tmp_path, engine=engine)
    new = ws.save_dataset(data.filter(customer_ids=["a"]), "Shop", root=tmp_path, engine=engine)
    assert new.name != "Shop"
    kept = ws.replace_dataset(old.id, new.id, root=tmp_path)
    assert kept.id == new.id and kept.name == "Shop"
    assert [(i.id, i.name) for i in ws.list_datasets(tmp_path)] == [(new.id, "Shop")]
    with pytest.raises(ws.WorkspaceError):
        ws.replace_dataset(new.id, ws.new_id(), root=tmp_path)  # nothing deleted
    assert ws.find_by_name("shop", root=tmp_path).id == new.id


@pytest.mark.parametrize("file, name", [
    ("BPIC_2012.csv.gz", "BPIC_2012"), ("shop events.CSV", "shop events"), ("survey.xlsx", "survey"),
    ("/srv/uploads/log.tsv", "log"), ("C:\\Users\\ann\\export.parquet", "export"), ("report.2024", "report.2024"),
    (".csv", ".csv"),
])
def test_default_name_has_no_file_ending_or_folder(file, name):
    assert ws.default_name(file) == name


def test_saved_source_names_hold_no_server_path(tmp_path, engine, data):
    import dataclasses

    with_paths = dataclasses.replace(data, source_names={"touchpoints": "/srv/app/data/sample/touchpoints.csv"})
    info = ws.save_dataset(with_paths, "Paths", root=tmp_path, engine=engine)
    assert info.source_names == {"touchpoints": "touchpoints.csv"}
    # A dataset saved before names were stripped shows the file name only.
    legacy = dataclasses.replace(info, source_names={"survey": "C:\\exports\\answers.csv"})
    assert legacy.source_files == {"survey": "answers.csv"}
