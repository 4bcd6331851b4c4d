"""The journey model's controls, shared by the upload and the saved-dataset editor: stage
order, name prefixes, the touchpoint -> stage table and the goal."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import pandas as pd
import streamlit as st

from journeylib.journey import GOAL_KINDS, Goal, GoalError, JourneyModel, guess_stage_map

GOAL_WORDS = {
    "stage": "A stage reached",
    "touchpoint": "A touchpoint reached",
    "column": "An outcome column equals a value",
    "none": "No goal yet",
}


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


def parse_prefixes(text: str) -> list[tuple[str, str]]:
    """``PREFIX=STAGE`` rules, one per line (ValueError names a bad line)."""
    out = []
    for i, line in enumerate(str(text).splitlines(), start=1):
        if not line.strip():
            continue
        prefix, sep, stage = line.partition("=")
        if not sep or not prefix.strip() or not stage.strip():
            raise ValueError(f"line {i} of the prefixes is not PREFIX=STAGE: {line.strip()!r}")
        out.append((prefix.strip(), stage.strip()))
    return out


def map_table(names: Sequence[str], current: Mapping[str, str], stages: Sequence[str],
              model: JourneyModel | None = None, seen: Mapping[str, str] | None = None) -> pd.DataFrame:
    """touchpoint, stage rows for the editor: the saved table, else the stage the events
    gave it (``seen``), else where the rules place it."""
    guess = model.touchpoint_stages(names) if model is not None else guess_stage_map(names, stages)
    seen = seen or {}
    rows = [(n, (current.get(n) or seen.get(n) or guess.get(n))) for n in names]
    rows = [(n, s if s in stages else None) for n, s in rows]
    return pd.DataFrame(rows, columns=["touchpoint", "stage"]).astype({"touchpoint": "str", "stage": "object"})


def edited_map(frame: pd.DataFrame, stages: Sequence[str], placed: Mapping[str, str]) -> dict[str, str]:
    """The editor's rows the user placed differently from the rules (``placed``): the table."""
    out = {}
    for tp, stage in zip(frame["touchpoint"], frame["stage"]):
        if stage is None or (isinstance(stage, float) and pd.isna(stage)) or str(stage) not in stages:
            continue
        if placed.get(str(tp)) != str(stage):
            out[str(tp)] = str(stage)
    return out


def _px(names: Sequence[str]) -> int:
    """A table column's width in pixels that shows its longest name whole (up to 320)."""
    longest = max((len(str(n)) for n in names), default=10)
    return int(min(max(longest * 6.8 + 28, 100), 320))


def controls(key: str, current: JourneyModel, touchpoints: Sequence[str],
             columns: Mapping[str, Sequence[str]], height: int = 220,
             seen: Mapping[str, str] | None = None) -> JourneyModel | None:
    """Widgets for the journey model; the model they describe, or None (and an error shown)
    when what was typed cannot be used. ``columns``: outcome columns and their values;
    ``seen``: the stage the events gave each touchpoint, where they gave one."""
    c1, c2, c3 = st.columns([1, 1, 3])
    order_text = c1.text_area("Stage order (one per line)", "\n".join(current.stages), height=height,
                              key=f"{key}_order")
    prefix_text = c2.text_area("Name prefixes (PREFIX=STAGE)", "\n".join(f"{p}={s}" for p, s in current.stage_prefixes),
                               height=height, key=f"{key}_prefixes", placeholder="A_=Application\nO_=Offer",
                               help="Touchpoints whose name starts with the prefix sit at that stage, e.g. "
                                    "A_=Application for A_SUBMITTED, A_APPROVED.")
    try:
        stages = parse_stages(order_text)
        prefixes = parse_prefixes(prefix_text)
    except ValueError as exc:
        st.error(str(exc), icon=":material/error:")
        return None
    rules = JourneyModel(stages=tuple(stages), stage_prefixes=tuple(prefixes))
    table = None
    # Long names get the table its own row, so that neither column cuts them.
    wide = _px(touchpoints) + _px(stages) + 24 > 470
    with (st.container() if wide else c3):
        if touchpoints:
            st.markdown("**Touchpoint → stage**", help="Filled in from the stages the file gave, the prefixes "
                        "and stage names in touchpoint names; change a row to place that touchpoint by hand.")
            shown = map_table(touchpoints, current.stage_map, stages, rules, seen)
            table = st.data_editor(
                shown, hide_index=True, width="stretch", height=height, disabled=["touchpoint"],
                key=f"{key}_map_{'|'.join(stages)}_{len(prefixes)}",
                column_config={"touchpoint": st.column_config.TextColumn("touchpoint", width=_px(touchpoints)),
                               "stage": st.column_config.SelectboxColumn("stage", options=stages,
                                                                         width=_px(stages) + 24)})
    stage_map = dict(current.stage_map)
    if table is not None:
        stage_map = {k: v for k, v in stage_map.items() if k not in set(table["touchpoint"])}
        stage_map.update(edited_map(table, stages, rules.touchpoint_stages(touchpoints)))
    goal = goal_controls(key, current.goal, stages, touchpoints, columns)
    try:
        return JourneyModel(stages=tuple(stages), stage_map=stage_map, stage_prefixes=tuple(prefixes),
                            goal=goal, guess_stages=current.guess_stages)
    except GoalError as exc:
        st.error(str(exc), icon=":material/error:")
        return None


def goal_controls(key: str, current: Goal | None, stages: Sequence[str], touchpoints: Sequence[str],
                  columns: Mapping[str, Sequence[str]]) -> Goal | None:
    """The goal picker: what counts as converting, and what to call it."""
    kinds = [k for k in GOAL_KINDS if k != "column" or columns] + ["none"]
    if not touchpoints:
        kinds = [k for k in kinds if k != "touchpoint"]
    now = current.kind if current is not None and current.kind in kinds else "none"
    g1, g2, g3, g4 = st.columns([1.2, 1, 1, 1])
    kind = g1.selectbox("Goal: what counts as converting", kinds, index=kinds.index(now), key=f"{key}_goal_kind",
                        format_func=GOAL_WORDS.get,
                        help="The outcome your team cares about: an approved loan, a closed ticket, a purchase, a "
                             "satisfied customer. Funnels, paths, pain points and the map measure against it.")
    if kind == "none":
        return None
    same = current is not None and current.kind == kind
    if kind == "stage":
        options = list(stages)
    elif kind == "touchpoint":
        options = list(touchpoints)
    else:
        options = list(columns)
    if not options:
        g2.caption("Nothing to choose from yet.")
        return None
    target = g2.selectbox({"stage": "Stage", "touchpoint": "Touchpoint", "column": "Column"}[kind], options,
                          index=options.index(current.target) if same and current.target in options else
                          (len(options) - 1 if kind == "stage" else 0), key=f"{key}_goal_target_{kind}")
    value = None
    if kind == "column":
        values = [str(v) for v in columns.get(target, [])]
        value = g3.selectbox("equals", values, key=f"{key}_goal_value_{target}",
                             index=values.index(current.value) if same and current.value in values else 0)
    name = g4.text_input("Called", value=current.name if same else "", key=f"{key}_goal_name",
                         placeholder="e.g. Loan approved", max_chars=60,
                         help="What every chart and sentence calls the goal; empty: the rule itself.")
    try:
        return Goal(kind, target, value, name)
    except GoalError as exc:
        st.error(str(exc), icon=":material/error:")
        return None


def outcome_columns(sources: Mapping[str, Any], frames: Mapping[str, pd.DataFrame],
                    used: set[str]) -> dict[str, list[str]]:
    """Columns of the uploads' first rows that could hold an outcome, with their values;
    cached per upload and mapped columns (the Data page reruns at every widget change)."""
    files = tuple(sorted((kind, sources[kind].file_id) for kind in frames))
    return _outcome_columns(files, tuple(sorted(used)), frames)


@st.cache_data(max_entries=8, show_spinner=False)
def _outcome_columns(files: tuple, used: tuple, _frames: Mapping[str, pd.DataFrame]) -> dict[str, list[str]]:
    import ibis

    from journeylib.journey import goal_column_values

    return goal_column_values(tables=[ibis.memtable(f) for f in _frames.values()], exclude=list(used))
