"""NPS, CSAT and outcome columns per stage, touchpoint or persona on the Emotions page:
which measures the dataset has, each one's cached frame, and the section that draws them."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from journeylib import emotions, insights
from ui import cache, filters, state, widgets

NPS, CSAT = "nps", "csat"
BY_WORDS = {"stage": "Stage", "touchpoint": "Touchpoint", "persona": "Persona"}


@st.cache_data(max_entries=16, show_spinner=False)
def measures(view: cache.View) -> dict[str, str]:
    """The outcome measures this view's survey has, key -> label: NPS (an nps column), CSAT
    (a score scale) and outcome columns (satisfaction, recommended ...) of the survey or the
    customers."""
    data = cache.filtered(cache.survey_view(view))
    if data.survey is None:
        return {}
    out = {}
    if data.has_nps:
        out[NPS] = "NPS (promoters minus detractors)"
    if data.score_scale is not None:
        out[CSAT] = f"CSAT (share scoring {emotions.top_box(data.score_scale):g} or more of {data.score_scale.label})"
    for name in insights.outcome_columns(data):
        out[f"col:{name}"] = name
    return out


@st.cache_data(max_entries=64, show_spinner="Counting outcomes…")
def frame(view: cache.View, measure: str, by: str) -> tuple[pd.DataFrame, str, bool]:
    """The measure per group (columns group, n, value, ci_low, ci_high), its label and
    whether the value is a share (0-1);
    ``by="all"`` gives one row for everyone in view."""
    view = cache.survey_view(view)
    data = cache.filtered(view)
    personas = cache.persona_labels(view) if by == "persona" else None
    by = "persona" if by == "all" else by
    if personas is not None and view.personas:
        personas = personas.filter(personas.persona.isin(list(view.personas)))
    if measure == NPS:
        got = emotions.nps_by(data.survey, by, personas=personas, stages=data.stages).rename(columns={"nps": "value"})
        label, share = "NPS", False
    elif measure == CSAT:
        got = emotions.csat_by(data.survey, data.score_scale, by, personas=personas, stages=data.stages)
        got = got.rename(columns={"csat": "value"})
        label, share = "CSAT", True
    else:
        values, share, label = insights.outcome_values(data, measure.removeprefix("col:"))
        got = emotions.outcome_by(data.survey, values, share, by, personas=personas, stages=data.stages)
    if by == "persona" and view.personas:
        got = got[got["group"].isin(view.personas)].reset_index(drop=True)
    return got, label, share


def section(view: cache.View) -> None:
    """The Emotions page's outcome section: one measure per stage, touchpoint or persona."""
    found = measures(view)
    if not found:
        return
    st.subheader("Outcomes along the journey")
    c1, c2 = st.columns([1.4, 1])
    keys = list(found)
    measure = c1.selectbox("Outcome", keys, format_func=found.get, **filters.linked("e_outcome"))
    groups = ["stage", "touchpoint"] + (["persona"] if state.persona_names() else [])
    by = c2.segmented_control("Per", groups, default="stage", format_func=BY_WORDS.get,
                              **filters.linked("e_outcome_by")) or "stage"
    with widgets.errors_shown("This outcome cannot be shown"):
        got, label, share = frame(view, measure or keys[0], by)
        overall = frame(view, measure or keys[0], "all")[0]
        reference = float(overall["value"].iloc[0]) if len(overall) == 1 else None
        nps_range = (-100.0, 100.0) if measure == NPS else None
        fig = cache.figure(
            "measure_by_group", got, value="value", what=f"{label} by {by}", subject=state.subject(view),
            x_label=f"{label} with its 95% interval", share=share,
            x_range=(0.0, 1.0) if share else nps_range, reference=reference, reference_label="everyone",
            empty_text=f"No answers name a {by}.", number="{:+.0f}" if measure == NPS else None)
        widgets.chart(fig, key="outcome_by", frame=got, file_name=f"{label}_by_{by}".replace(" ", "_"))
        st.caption(_how(measure, label, by))


def _how(measure: str, label: str, by: str) -> str:
    each = {"stage": "who answered at each stage", "touchpoint": "who rated each touchpoint",
            "persona": "of each persona"}[by]
    answers = {"stage": "at each stage", "touchpoint": "about each touchpoint", "persona": "of each persona"}[by]
    if measure == NPS:
        return (f"NPS of the customers {each}: % promoters (9-10) minus % detractors (0-6), one answer per customer; "
                "the bar is the 95% interval from the variance of that difference. Open markers: fewer than 30.")
    if measure == CSAT:
        return (f"CSAT of the answers {answers}: the share in the top two points of the scale, with a 95% Wilson "
                "interval. Open markers: fewer than 30 answers.")
    return (f"{label} of the customers {each} (each customer once), with a 95% interval (Wilson for a share, "
            "t for a mean). Open markers: fewer than 30.")
