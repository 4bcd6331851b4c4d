"""Editing a saved dataset's stage order and touchpoint -> stage map.

The saved tables do not record where an event's stage came from, so an event counts as
"staged by the map" when it has no stage, or when its touchpoint is in the old map and
its stage equals the old map's stage for it. Those events (or all events, when asked)
take their stage from the new map; every other stage label is re-read against the new
stage order (schema.normalize_stage), and labels outside it become empty. The work is
Ibis expressions on the engine; the dataset is then re-saved atomically under its id,
which gives it a new save stamp, so every cache keyed on the view refreshes.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

import ibis
import pandas as pd

from journeylib import workspace
from journeylib.engine import execute
from journeylib.io import default_touchpoint_stage_map
from journeylib.journey import default_goal
from journeylib.schema import JourneyData, normalize_stage


def parse_stages(text: str) -> list[str]:
    """Stage order from text, one per line; blanks and repeats dropped; ValueError if empty."""
    out: list[str] = []
    for line in str(text).splitlines():
        name = line.strip()
        if name and name not in out:
            out.append(name)
    if not out:
        raise ValueError("the stage order needs at least one stage (one per line)")
    return out


def touchpoints(data: JourneyData, engine, limit: int = 500) -> list[str]:
    """Distinct touchpoints of the events, most frequent first (at most ``limit``)."""
    ev = data.events
    frame = execute(ev.group_by("touchpoint").agg(n=ev.count())
                           .order_by([ibis.desc("n"), "touchpoint"]).limit(limit))
    return [str(t) for t in frame["touchpoint"].dropna()]


def map_table(names: Sequence[str], current: Mapping[str, str], stages: Sequence[str],
              observed: Mapping[str, str] | None = None) -> pd.DataFrame:
    """touchpoint, stage rows for the editor: the saved map, else the stage most of the
    touchpoint's events have (``observed``), else a guess from the name."""
    observed = observed or {}
    guess = default_touchpoint_stage_map([n for n in names if n not in current], stages)
    rows = []
    for name in names:
        stage = current.get(name) or observed.get(name) or guess.get(name)
        rows.append((name, stage if stage in stages else None))
    return pd.DataFrame(rows, columns=["touchpoint", "stage"]).astype({"touchpoint": "str", "stage": "object"})


def edited_map(frame: pd.DataFrame, stages: Sequence[str]) -> dict[str, str]:
    """The editor's rows as a map; rows without a stage (or with one not in the order) are left out."""
    out = {}
    for tp, stage in zip(frame["touchpoint"], frame["stage"]):
        if stage is None or (isinstance(stage, float) and pd.isna(stage)):
            continue
        got = normalize_stage(stage, stages)
        if got in stages and tp is not None:
            out[str(tp)] = got
    return out


def _relabel(column: ibis.Value, labels: Sequence[str], stages: Sequence[str]) -> ibis.Value:
    """Old stage labels re-read against the new order; unknown labels become null."""
    lookup = {}
    for label in labels:
        got = normalize_stage(label, stages)
        lookup[label] = got if got in stages else None
    if all(k == v for k, v in lookup.items()):
        return column
    return column.substitute({k: (ibis.literal(v, "string") if v else ibis.null("string"))
                              for k, v in lookup.items()})


def _restage_table(table: ibis.Table, engine, stages: Sequence[str], old_map: Mapping[str, str],
                   new_map: Mapping[str, str], all_rows: bool) -> ibis.Table:
    if "stage" not in table.columns:
        return table
    labels = execute(table.select("stage").distinct())["stage"].dropna().astype(str).tolist()
    relabelled = _relabel(table.stage, labels, stages)
    if "touchpoint" not in table.columns:
        return table.mutate(stage=relabelled)
    tp = table.touchpoint
    from_new = (tp.substitute({k: ibis.literal(v, "string") for k, v in new_map.items()},
                              else_=ibis.null("string")) if new_map else ibis.null("string"))
    if all_rows:
        # Touchpoints outside the map keep the stage they have.
        in_new = tp.isin(list(new_map)) if new_map else ibis.literal(False)
        stage = ibis.ifelse(in_new, from_new, relabelled)
    else:
        old = {k: v for k, v in old_map.items()}
        from_old = (tp.substitute({k: ibis.literal(v, "string") for k, v in old.items()},
                                  else_=ibis.null("string")) if old else ibis.null("string"))
        by_map = table.stage.isnull() | (from_old.notnull() & (table.stage == from_old))
        stage = ibis.ifelse(by_map, from_new, relabelled)
    return table.mutate(stage=stage.cast("string"))


def restage(data: JourneyData, engine, stages: Sequence[str], new_map: Mapping[str, str],
            all_events: bool = False) -> JourneyData:
    """``data`` with the new stage order and map applied to events and survey (lazy Ibis)."""
    stages = tuple(stages)
    old_map = dict(data.touchpoint_stage_map or {})
    new_map = {str(k): str(v) for k, v in new_map.items() if v in stages}
    events = _restage_table(data.events, engine, stages, old_map, new_map, all_events)
    survey = (None if data.survey is None else
              _restage_table(data.survey, engine, stages, old_map, new_map, all_events))
    journey = dataclasses.replace(data.journey, stages=stages, stage_map=new_map)
    if journey.goal is not None and journey.unknown_rule_stages():
        journey = dataclasses.replace(journey, goal=default_goal(stages))
    return dataclasses.replace(data, events=events, survey=survey, journey=journey, touchpoint_stage_map=new_map)


def apply(info: workspace.DatasetInfo, data: JourneyData, engine, root: str, stages: Sequence[str],
          new_map: Mapping[str, str], all_events: bool = False) -> workspace.DatasetInfo:
    """Re-derive the stages and save the dataset in place (atomic; new save stamp)."""
    new = restage(data, engine, stages, new_map, all_events)
    return workspace.save_dataset(new, info.name, root=root,
                                  dataset_id=info.id, engine=engine)
