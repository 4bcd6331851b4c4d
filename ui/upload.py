"""Upload handling for the Data page: read files once, detect columns, validate, save.

Uploaded files are parsed once per upload (cached on the upload's id) and the parsed frames
are handed to journeylib.io, so a large file is never parsed twice. Issues that io labels
with the input kind ("touchpoints") are relabelled with the uploaded file's name.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import pandas as pd
import streamlit as st

from journeylib import io as jio
from journeylib import workspace
from journeylib.schema import FIELDS, JourneyData
from ui import cache, state

ACCEPTED = ["csv", "tsv", "txt", "gz", "xlsx", "xls", "parquet"]
SURVEY_FIELDS_IN_COMBINED = ("score", "comment", "nps")
NONE = "(none)"


@st.cache_data(max_entries=8, show_spinner=False)
def read_upload(file_id: str, name: str, _upload: Any) -> pd.DataFrame:
    """Parse an uploaded file (any supported format); cached per upload."""
    return jio.read_table((name, _upload.getvalue()), name=name)


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


def check(frames: Mapping[str, pd.DataFrame], labels: Mapping[str, str], mapping: Mapping[str, Any],
          stages: list[str], stage_map: Mapping[str, str] | None, not_rated: tuple[float, ...]) -> jio.ValidationReport:
    """Validation report for the chosen files and settings (never raises for data problems)."""
    report = jio.validate(**frames, mapping=mapping, stages=stages, touchpoint_stage_map=stage_map,
                          not_rated=not_rated, engine=cache.engine())
    return jio.ValidationReport([_relabel(i, labels) for i in report.errors],
                                [_relabel(i, labels) for i in report.warnings])


def report_frame(report: jio.ValidationReport) -> pd.DataFrame:
    frame = report.to_frame().rename(columns={"rows": "example rows"})
    return frame


def load_and_save(frames: Mapping[str, pd.DataFrame], labels: Mapping[str, str], mapping: Mapping[str, Any],
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
        info = workspace.save_dataset(data, name, root=state.root(), engine=cache.engine())
        bar.progress(1.0, text="Done")
        status.update(label=f"Saved “{info.name}”", state="complete", expanded=False)
    return info
