"""Journeys: step Sankey (whole view or two personas side by side), funnel, top paths."""

import streamlit as st

from journeylib import charts
from ui import cache, present, state, widgets

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
    level = c1.segmented_control("Show", ["touchpoint", "stage"], default="touchpoint", key="j_level",
                                 format_func=lambda v: "Touchpoints" if v == "touchpoint" else "Stages") or "touchpoint"
    max_steps = c2.slider("Steps", 2, 10, 5, key="j_steps", help="How many steps of each journey to draw.")
    top = c3.slider("Nodes per step", 3, 20, 6, key="j_top",
                    help="Less common touchpoints at a step are grouped as (other).")
    collapse = c4.toggle("Merge repeated touchpoints", value=False, key="j_collapse",
                         help="Count 'Email, Email, Email' as one step.", disabled=level == "stage")
    starts = cache.start_nodes(base, level, collapse)
    start = c4.selectbox("Start at", ["(any)"] + starts, key="j_start",
                         help="Only journeys whose first step is this one.")
    start = None if start in (None, "(any)") else start

personas = state.persona_names()
compare = st.toggle("Compare two personas side by side", key="j_compare", disabled=len(personas) < 2)
chosen: list[str | None] = [None]
if compare and len(personas) >= 2:
    pick = st.columns(2)
    chosen = [pick[0].selectbox("Left", personas, index=0, key="j_left"),
              pick[1].selectbox("Right", personas, index=1, key="j_right")]


def side_by_side():
    """One column per persona compared (every number below is theirs), else the page."""
    return st.columns(len(chosen)) if len(chosen) > 1 else [st.container()]


no_events = widgets.empty_text(view.has_filters, "journeys", "This dataset has no touchpoint events to draw.")

for col, persona in zip(side_by_side(), chosen):
    with col:
        n = cache.counts(view, persona)
        funnel, why = cache.funnel_frame(view, persona)
        won = funnel["customers"].iloc[-1] if goal and why is None and len(funnel) else None
        reached = (f"Reached {goal.label}" if goal else "Goal",
                   widgets.pct(won / n["customers"] if won is not None and n["customers"] else None)
                   if goal else "not set",
                   (f"Customers who reached {goal.label}, out of the {n['customers']:,} in view "
                    f"(the funnel's last row)." if goal else
                    "Name a goal on the Data page to see how many customers reach it."))
        if persona:  # half the width: the persona's name over two cards
            st.markdown(f"**{present.md_escape(persona)}**")
            widgets.metric_cards([("Customers", f"{n['customers']:,}", f"{n['events']:,} events"), reached])
        else:
            widgets.metric_cards([("Customers in view", f"{n['customers']:,}", None),
                                  ("Events", f"{n['events']:,}", None), reached])

for col, persona in zip(side_by_side(), chosen):
    with col:
        frame = cache.sankey_frame(view, level, max_steps, top, collapse, start, persona=persona)
        fig = charts.sankey(frame, subject=state.subject(view, persona), level=level, stages=data.stages,
                            node_stage=node_stage, height=520 if persona else 560,
                            fit_width=400 if persona else 820, empty_text=no_events)
        widgets.chart(fig, key=f"sankey_{persona}" if persona else "sankey", frame=frame,
                      file_name=f"flows_{persona}" if persona else "flows")
st.caption("Hover a node for its customers; grey **(end)** nodes count the customers whose journey stopped "
           "after the previous step, and their share of that step.")

st.divider()
for col, persona in zip(side_by_side(), chosen):
    with col:
        funnel, why = cache.funnel_frame(view, persona)
        if why and funnel.empty:
            st.info(f"No funnel: {why}.", icon=":material/info:")
            continue
        if why:
            st.warning(f"The funnel stops at the stages: {why}.", icon=":material/flag:")
        if not funnel["customers"].iloc[0]:
            st.info("No customer has an event at a stage of the stage order, so the funnel has no stages to count: "
                    "set touchpoint -> stage rules on the Data page.", icon=":material/info:")
            continue
        fig = charts.funnel(funnel, subject=state.subject(view, persona), stages=data.stages,
                            goal_label=goal.label if goal and not why else None,
                            fit_width=400 if persona else 820, empty_text=no_events)
        widgets.chart(fig, key=f"funnel_{persona}" if persona else "funnel", frame=funnel, file_name="funnel")
st.caption("A customer counts at a stage once they reach it or any later stage; the percentage is of the first stage. "
           "Hover for the conversion from the previous row and the customers lost.")

st.divider()
path_level = st.segmented_control("Paths of", ["stage", "touchpoint"], default="stage", key="j_path_level",
                                  format_func=lambda v: v.capitalize() + "s") or "stage"
for col, persona in zip(side_by_side(), chosen):
    with col:
        paths, why = cache.top_paths_frame(view, path_level, 10, persona)
        if why:
            st.warning(f"Conversion is not shown: {why}.", icon=":material/flag:")
        fig = charts.top_paths(paths, subject=state.subject(view, persona),
                               customers=cache.counts(view, persona)["customers"],
                               goal_label=goal.label if goal and not why else None, empty_text=no_events,
                               fit_width=400 if persona else 820)
        widgets.chart(fig, key=f"paths_{persona}" if persona else "paths", frame=paths, file_name="top_paths")
