"""Upload handling for the Data page: read files once, detect columns, validate, save.

Uploaded files are parsed once per upload (cached on the upload's id) and the parsed frames
are handed to journeylib.io, so a large file is never parsed twice. Issues that io labels
with the input kind ("touchpoints") are relabelled with the uploaded file's name.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
import streamlit as st

from journeylib import csv_ingest
from journeylib import io as jio
from journeylib import workspace
from journeylib.schema import FIELDS, JourneyData
from ui import cache, state

ACCEPTED = ["csv", "tsv", "txt", "gz", "xlsx", "xls", "parquet"]
SURVEY_FIELDS_IN_COMBINED = ("score", "comment", "nps")
NONE = "(none)"


# A large plain-text upload is not parsed into pandas at all: the page previews its first
# rows, and the checks and the load read a copy on disk, where the engine reads and cleans
# it in place (journeylib.csv_ingest) instead of holding several copies in memory.
_TEXT_SUFFIXES = (".csv", ".tsv", ".tab", ".txt")
PREVIEW_BYTES = 2 * 1024 * 1024
HEAD_OF = "journey_head_of"  # frame.attrs: the size of the file this frame is the head of
_SPOOL_MAX_AGE = 24 * 3600


def is_large(name: str, size: int) -> bool:
    """Whether an upload takes the on-disk path (plain text at least $JOURNEY_FAST_LOAD_MB)."""
    return str(name).lower().endswith(_TEXT_SUFFIXES) and size >= csv_ingest.fast_load_bytes()


@st.cache_data(max_entries=8, show_spinner=False)
def read_upload(file_id: str, name: str, _upload: Any) -> pd.DataFrame:
    """Parse an uploaded file (any supported format); cached per upload. A large text file
    gives only its first rows (``attrs[HEAD_OF]`` holds the file's size)."""
    size = int(getattr(_upload, "size", 0) or 0)
    if is_large(name, size):
        data = _upload.getvalue()
        jio._check_size(name, len(data))
        head = data[:PREVIEW_BYTES]
        if len(data) > PREVIEW_BYTES and b"\n" in head:
            head = head[: head.rindex(b"\n") + 1]  # whole lines only
        frame = jio.read_table((name, head), name=name)
        frame.attrs[HEAD_OF] = len(data)
        return frame
    return jio.read_table((name, _upload.getvalue()), name=name)


def _spool_folder() -> Path:
    return Path(tempfile.gettempdir()) / "journeylib-uploads"


def spooled(file: Any) -> str:
    """A copy of a large upload on disk (one per upload), for the engine to read."""
    folder = _spool_folder()
    folder.mkdir(parents=True, exist_ok=True)
    suffix = Path(str(file.name)).suffix.lower()
    path = folder / (hashlib.sha256(str(file.file_id).encode()).hexdigest()[:32] + suffix)
    if not path.exists():
        now = time.time()
        for old in folder.iterdir():  # copies left by sessions that ended without saving
            try:
                if now - old.stat().st_mtime > _SPOOL_MAX_AGE:
                    old.unlink()
            except OSError:
                pass
        tmp = folder / f".tmp-{uuid.uuid4().hex}{suffix}"
        tmp.write_bytes(file.getvalue())
        os.replace(tmp, path)
    return str(path)


def discard_spooled(paths: Mapping[str, Any]) -> None:
    """Remove on-disk copies once their data is saved in the workspace."""
    folder = _spool_folder()
    for value in paths.values():
        if isinstance(value, str) and Path(value).parent == folder:
            Path(value).unlink(missing_ok=True)


def fields_for(kind: str, combined: bool = False) -> tuple[list[str], list[str]]:
    """(required, optional) canonical fields a file of ``kind`` can map."""
    required, optional = FIELDS[kind]
    optional = list(optional)
    if kind == "touchpoints" and combined:
        optional += list(SURVEY_FIELDS_IN_COMBINED)
    return list(required), optional


def detected(frame: pd.DataFrame, kind: str) -> dict[str, str]:
    return jio.detect_mapping(frame, kind)


def unstaged_touchpoints(frame: pd.DataFrame, mapping: Mapping[str, Any], limit: int = 200) -> list[str]:
    """Touchpoint names that have events without a stage (they need the stage mapping)."""
    tp = mapping.get("touchpoint")
    if not isinstance(tp, str) or tp not in frame.columns:
        return []
    values = frame[tp]
    stage = mapping.get("stage")
    if isinstance(stage, str) and stage in frame.columns:
        empty = frame[stage].isna() | (frame[stage].astype("string").str.strip() == "")
        values = values[empty.fillna(True).astype(bool)]
    names = pd.unique(values.dropna().astype("string"))
    return [str(n) for n in names[:limit]]


def default_stage_map(touchpoints: list[str], stages: list[str]) -> dict[str, str]:
    return jio.default_touchpoint_stage_map(touchpoints, stages)


def _relabel(issue: jio.Issue, labels: Mapping[str, str]) -> jio.Issue:
    return dataclasses.replace(issue, file=labels.get(issue.file, issue.file))


def check(frames: Mapping[str, Any], labels: Mapping[str, str], mapping: Mapping[str, Any],
          stages: list[str], stage_map: Mapping[str, str] | None, not_rated: tuple[float, ...]) -> jio.ValidationReport:
    """Validation report for the chosen files and settings (never raises for data problems)."""
    report = jio.validate(**frames, mapping=mapping, stages=stages, touchpoint_stage_map=stage_map,
                          not_rated=not_rated, engine=cache.engine())
    return jio.ValidationReport([_relabel(i, labels) for i in report.errors],
                                [_relabel(i, labels) for i in report.warnings])


def report_frame(report: jio.ValidationReport) -> pd.DataFrame:
    frame = report.to_frame().rename(columns={"rows": "example rows"})
    return frame


def load_and_save(frames: Mapping[str, Any], labels: Mapping[str, str], mapping: Mapping[str, Any],
                  stages: list[str], stage_map: Mapping[str, str] | None, not_rated: tuple[float, ...],
                  name: str) -> workspace.DatasetInfo:
    """Load the files into the engine and save them in the workspace, showing progress.

    Raises ``jio.InputError`` (with the uploaded file's name) when the data cannot be used;
    nothing is saved and the active dataset stays as it was.
    """
    with st.status("Loading your data…", expanded=True) as status:
        bar = st.progress(0.1, text="Reading and checking the columns")
        try:
            data: JourneyData = jio.load_journey(**frames, mapping=mapping, stages=stages,
                                                 touchpoint_stage_map=stage_map, not_rated=not_rated,
                                                 engine=cache.engine())
        except jio.InputError as exc:
            status.update(label="The data could not be loaded", state="error")
            raise jio.InputError(labels.get(exc.file, exc.file), exc.message, column=exc.column,
                                 rows=exc.rows) from None
        data = dataclasses.replace(data, source_names={k: labels.get(k, v) for k, v in data.source_names.items()})
        bar.progress(0.6, text="Saving in the workspace")
        try:
            info = workspace.save_dataset(data, name, root=state.root(), engine=cache.engine())
        finally:
            jio.release(data, engine=cache.engine())  # the app reopens the saved Parquet files
        bar.progress(1.0, text="Done")
        status.update(label=f"Saved “{info.name}”", state="complete", expanded=False)
    return info
