"""Journeys: step Sankey and funnel, for one view or two side by side; who is behind any
node, link, funnel step or pain point; the most common paths; paths to an end and between
two touchpoints; transitions; time along the journey."""

import streamlit as st

from ui import cache, compare, drill, filters, journeys, state, widgets

view = state.current_view()
data = state.current_data()
base = state.base_view()
goal = data.goal
node_stage = cache.touchpoint_stages(base.root, base.dataset_id, base.saved)

st.title("Journeys")
st.caption("How customers move from one step to the next, where they drop out, and which paths lead to "
           + (f"the goal, {goal.label}." if goal else "the goal (name one on the Data page)."))

with st.container(border=True):
    c1, c2, c3, c4 = st.columns([1.2, 1, 1, 1.4])
    level = c1.segmented_control("Show", ["touchpoint", "stage"], default="touchpoint", **filters.linked("j_level"),
                                 format_func=lambda v: "Touchpoints" if v == "touchpoint" else "Stages") or "touchpoint"
    max_steps = c2.slider("Steps", 2, 10, 5, **filters.linked("j_steps"), help="How many steps of each journey to draw.")
    top = c3.slider("Nodes per step", 3, 20, 6, **filters.linked("j_top"),
                    help="Less common touchpoints at a step are grouped as (other).")
    collapse = c4.toggle("Merge repeated touchpoints", value=False, **filters.linked("j_collapse"),
                         help="Count 'Email, Email, Email' as one step.", disabled=level == "stage")
    starts = cache.start_nodes(base, level, collapse)
    start = c4.selectbox("Start at", ["(any)"] + starts, **filters.linked("j_start"),
                         help="Only journeys whose first step is this one.")
    start = None if start in (None, "(any)") else start
    with widgets.errors_shown("Cannot compare these views"):
        pair = compare.controls(view)

settings = drill.SankeySettings(level, max_steps, top, collapse and level == "touchpoint", start)
drill.keep_in_url()
# Only the open tab is computed; the most common paths have their own, so a filter change on
# Flows waits for the Sankey and the funnel only (a query and a chart fewer to draw).
tabs = st.tabs(["Flows", "Top paths", "Paths to an end", "Between two touchpoints", "Transitions",
                "Time along the journey"], key="j_tab", bind="query-params")
with tabs[0]:
    if tabs[0].open is not False:
        with widgets.errors_shown("Cannot compare these views"):
            if pair is None:
                journeys.flows_single(view, settings, node_stage)
            else:
                journeys.flows_compared(view, pair, settings, node_stage)
with tabs[1]:
    if tabs[1].open:
        journeys.top_paths(view, compared=pair is not None)
with tabs[2]:
    if tabs[2].open:
        journeys.paths_to_an_end(view, settings, node_stage)
with tabs[3]:
    if tabs[3].open:
        journeys.between(view)
with tabs[4]:
    if tabs[4].open:
        journeys.transitions(view, settings)
with tabs[5]:
    if tabs[5].open:
        with widgets.errors_shown("Cannot compare these views"):
            journeys.time_along(view, pair)
