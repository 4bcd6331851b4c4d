"""Upload handling for the Data page: preview an upload, check it once, save what was checked.

An upload is previewed from its first rows (a large text file: only its first 2 MB are
read). "Check data" runs :func:`journeylib.ingest.check` once for the chosen files and
settings and keeps the result in the session; "Use this data" saves that same result, so
a file is read and checked once, however the two buttons are pressed. A new check, or a
save, drops the engine tables of the previous one.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

import pandas as pd
import streamlit as st

from journeylib import ingest, workspace
from journeylib.ingest.read import check_size
from journeylib.journey import JourneyModel, guess_stage_map
from journeylib.schema import FIELDS
from ui import cache, state

ACCEPTED = ["csv", "tsv", "txt", "gz", "xlsx", "xls", "parquet", "xes"]
SURVEY_FIELDS_IN_COMBINED = ("score", "comment", "nps")
NONE = "(none)"
_TEXT_SUFFIXES = (".csv", ".tsv", ".tab", ".txt")
PREVIEW_BYTES = 2 * 1024 * 1024
HEAD_OF = "journey_head_of"  # frame.attrs: the size of the file this frame is the head of
_CHECKED = "_upload_checked"  # session: (settings key, Checked) of the last check


@st.cache_data(max_entries=8, show_spinner=False)
def read_upload(file_id: str, name: str, _upload: Any) -> pd.DataFrame:
    """The first rows of an upload (any supported format), cached per upload. A large text
    file gives the rows of its first 2 MB (``attrs[HEAD_OF]`` holds the file's size)."""
    data = _upload.getvalue()
    check_size(name, len(data))
    if str(name).lower().endswith(_TEXT_SUFFIXES) and len(data) > PREVIEW_BYTES:
        head = data[:PREVIEW_BYTES]
        if b"\n" in head:
            head = head[: head.rindex(b"\n") + 1]  # whole lines only
        frame = ingest.read_table((name, head), name=name, engine=cache.engine())
        frame.attrs[HEAD_OF] = len(data)
        return frame
    return ingest.read_table((name, data), name=name, engine=cache.engine())


def fields_for(kind: str, combined: bool = False) -> tuple[list[str], list[str]]:
    """(required, optional) canonical fields a file of ``kind`` can map."""
    required, optional = FIELDS[kind]
    optional = list(optional)
    if kind == "touchpoints" and combined:
        optional += list(SURVEY_FIELDS_IN_COMBINED)
    return list(required), optional


def detected(frame: pd.DataFrame, kind: str) -> dict[str, str]:
    return ingest.detect_mapping(frame, kind)


def unstaged_touchpoints(frame: pd.DataFrame, mapping: Mapping[str, Any], limit: int = 200) -> list[str]:
    """Touchpoint names that have events without a stage (they need the stage rules)."""
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


@st.cache_data(max_entries=8, show_spinner=False)
def _survey_preview(file_id: str, name: str, fields: str, has_events: bool, _frame: pd.DataFrame):
    return ingest.preview_survey(_frame, json.loads(fields), name=name, has_events=has_events)


def survey_preview(file: Any, frame: pd.DataFrame, fields: Mapping[str, Any],
                   has_events: bool = False) -> ingest.SurveyPreview | None:
    """What a check would make of an uploaded wide survey (its ratings, their stages, the
    codes proposed as not rated), from the rows previewed; cached per upload and mapping.

    The Data page fills the score box with the rating columns found without a mapping; with
    exactly those columns (in that order) mapped, the preview is that same one, so the rows
    are not scanned a second time (0.6 s for 26,000 respondents)."""
    found = _survey_preview(file.file_id, file.name, "{}", has_events, frame)
    score = fields.get("score")
    if not fields or (found is not None and isinstance(score, list) and score == list(found.ratings)):
        return found
    return _survey_preview(file.file_id, file.name, json.dumps(dict(fields), sort_keys=True, default=str),
                           has_events, frame)


def missing_event_columns(frame: pd.DataFrame) -> list[str]:
    """The columns every event needs (a time, a touchpoint) that ``frame`` has none of."""
    found = detected(frame, "touchpoints")
    return [f for f in ("timestamp", "touchpoint") if f not in found]


def kind_of(file: Any, frame: pd.DataFrame, kind: str, combined: bool) -> str:
    """The kind a file is read as: a "combined" file that lacks a time or a touchpoint
    column and holds a wide survey's ratings is a survey alone (one row per respondent),
    not events. Reviews have a date, but no column says what happened."""
    if not combined or kind != "touchpoints" or not missing_event_columns(frame):
        return kind
    return "survey" if survey_preview(file, frame, {}) is not None else kind


def combined_problem(name: str, report: ingest.ValidationReport) -> str | None:
    """In words, why a file cannot be one combined file (it lacks a column every event
    needs), and which mode to choose instead; None when that is not the problem."""
    missing = [f for f in (ingest.missing_field(e) for e in report.errors if e.file == name)
               if f in ("timestamp", "touchpoint", "customer_id")]
    if not missing:
        return None
    words = {"timestamp": "a time column (when each event happened)", "touchpoint": "a touchpoint column "
             "(what happened)", "customer_id": "a customer id column"}
    return (f"“One combined file” means one row per event, and every event needs "
            f"{' and '.join(words[c] for c in missing)}: **{name}** has none, or none was chosen under Columns. "
            "If it is a survey (one row per respondent), choose **Separate files** and drop it under "
            "**Survey answers**; if it is an event log, pick the column under Columns.")


def default_stage_map(touchpoints: list[str], stages: list[str]) -> dict[str, str]:
    return guess_stage_map(touchpoints, stages)


def _settings_key(uploads: Mapping[str, Any], options: Mapping[str, Any]) -> str:
    files = {kind: [f.file_id, f.name] for kind, f in uploads.items()}
    text = json.dumps({"files": files, **options}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def check(uploads: Mapping[str, Any], mapping: Mapping[str, Any], journey: JourneyModel,
          not_rated: tuple[float, ...], keep_duplicates: bool,
          where: Mapping[str, list[str]] | None, labels: Mapping[str, str] | None = None) -> ingest.Checked:
    """The check of these uploads and settings: run once, then kept for this session."""
    options = {"mapping": dict(mapping), "journey": journey.to_dict(), "not_rated": list(not_rated),
               "keep_duplicates": keep_duplicates, "where": dict(where or {}), "labels": dict(labels or {})}
    key = _settings_key(uploads, options)
    held = st.session_state.get(_CHECKED)
    if held is not None and held[0] == key:
        return held[1]
    forget()
    sources = {kind: (f.name, f.getvalue()) for kind, f in uploads.items()}
    checked = ingest.check(**sources, mapping=mapping, journey=journey, not_rated=not_rated,
                           keep_duplicates=keep_duplicates, where=where or None, labels=labels or None,
                           engine=cache.engine())
    st.session_state[_CHECKED] = (key, checked)
    return checked


def forget() -> None:
    """Drop the session's last check and its engine tables."""
    held = st.session_state.pop(_CHECKED, None)
    if held is not None:
        held[1].release()


def show_recognised(checked: ingest.Checked, names: Mapping[str, str]) -> None:
    """What the check recognised: the tool each file came from, and a wide survey's
    questions with the touchpoint label each gets (editable; applied at the next check)."""
    if checked.exports:
        st.info("Recognised: " + "; ".join(f"**{names.get(k, k)}** is {'an' if v[:1] in 'AEIOU' else 'a'} {v} "
                                            "export" if not v.startswith("an ") else f"**{names.get(k, k)}** is {v}"
                                            for k, v in checked.exports.items()), icon=":material/verified:")
    if checked.questions:
        st.markdown("**Questions read as touchpoints** (one rating column each)",
                    help="Change a label, then press Check data again: every chart and the map use the labels.")
        table = pd.DataFrame({"column": list(checked.questions), "touchpoint": list(checked.questions.values())})
        edited = st.data_editor(table, hide_index=True, width="stretch", disabled=["column"], key="d_labels_table")
        st.session_state["d_labels"] = {c: str(t).strip() for c, t in zip(edited["column"], edited["touchpoint"])
                                        if str(t).strip()}


# The message says what happened: it gets the room, a long file name and column do not.
REPORT_COLUMNS = {"severity": st.column_config.TextColumn("severity", width="small"),
                  "file": st.column_config.TextColumn("file", width="small"),
                  "column": st.column_config.TextColumn("column", width="medium"),
                  "message": st.column_config.TextColumn("message", width="large")}


def report_frame(report: ingest.ValidationReport) -> pd.DataFrame:
    return report.to_frame().rename(columns={"rows": "example rows"})


def save(checked: ingest.Checked, name: str, read: Mapping[str, Any] | None = None) -> workspace.DatasetInfo:
    """Save a check's data in the workspace, showing progress; the check is dropped after.
    ``read``: how the files were read (keep duplicates, rows kept...), saved with the data."""
    assert checked.data is not None
    with st.status("Saving your data…", expanded=True) as status:
        try:
            info = workspace.save_dataset(checked.data, name, root=state.root(), engine=cache.engine(),
                                          settings={"read": dict(read or {})})
        finally:
            forget()
        status.update(label=f"Saved “{info.name}”", state="complete", expanded=False)
    return info
