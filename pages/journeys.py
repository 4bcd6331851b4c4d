"""Journeys: step Sankey (whole view or two personas side by side), funnel, top paths."""

import streamlit as st

from journeylib import charts
from journeylib.schema import PURCHASE_STAGE
from ui import cache, filters, state, widgets

st.title("Journeys")
st.caption("How customers move from one step to the next, where they drop out, and which paths lead to a purchase.")

view = state.current_view()
data = state.current_data()
base = state.base_view()
node_stage = cache.touchpoint_stages(base.root, base.dataset_id, base.saved)

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

personas = state.persona_names()
compare = st.toggle("Compare two personas side by side", **filters.linked("j_compare"), disabled=len(personas) < 2)

n = cache.counts(view)
funnel_all = cache.funnel_frame(view)
bought = funnel_all.loc[funnel_all["stage"] == PURCHASE_STAGE, "customers"]
widgets.metric_cards([
    ("Customers in view", f"{n['customers']:,}", None),
    ("Events", f"{n['events']:,}", None),
    ("Purchased", widgets.pct(int(bought.iloc[0]) / n["customers"] if len(bought) and n["customers"] else None),
     f"Share of customers who reached the {PURCHASE_STAGE} stage or a later one (as in the funnel below)."),
])

if compare and len(personas) >= 2:
    pick = st.columns(2)
    chosen = [pick[0].selectbox("Left", personas, index=0, **filters.linked("j_left")),
              pick[1].selectbox("Right", personas, index=1, **filters.linked("j_right"))]
    for col, persona in zip(st.columns(2), chosen):
        with col:
            frame = cache.sankey_frame(view, level, max_steps, top, collapse, start, persona=persona)
            fig = charts.sankey(frame, subject=state.subject(view, persona), level=level,
                                stages=data.stages, node_stage=node_stage, height=520)
            widgets.chart(fig, key=f"sankey_{persona}", frame=frame, file_name=f"flows_{persona}")
else:
    frame = cache.sankey_frame(view, level, max_steps, top, collapse, start)
    fig = charts.sankey(frame, subject=state.subject(view), level=level, stages=data.stages, node_stage=node_stage)
    widgets.chart(fig, key="sankey", frame=frame, file_name="flows")
st.caption("Hover a node for its customers; grey **(end)** nodes count the customers whose journey stopped "
           "after the previous step, and their share of that step.")

st.divider()
widgets.chart(charts.funnel(funnel_all, subject=state.subject(view)), key="funnel", frame=funnel_all,
              file_name="funnel")
st.caption("A customer counts at a stage once they reach it or any later stage; the percentage is of the first stage. "
           "Hover for the conversion from the previous stage and the customers lost.")

st.divider()
path_level = st.segmented_control("Paths of", ["stage", "touchpoint"], default="stage", **filters.linked("j_path_level"),
                                  format_func=lambda v: v.capitalize() + "s") or "stage"
paths = cache.top_paths_frame(view, path_level, 10)
widgets.chart(charts.top_paths(paths, subject=state.subject(view), customers=n["customers"]),
              key="paths", frame=paths, file_name="top_paths")
