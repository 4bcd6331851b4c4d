"""Emotions: score per stage with confidence bands, touchpoint heatmap, NPS, comments."""

import streamlit as st

from journeylib import charts
from ui import cache, filters, gaps, state, widgets

st.title("Emotions")
st.caption("How customers feel along the journey, from their survey answers.")

view = state.current_view()
data = state.current_data()
if data.survey is None:
    st.info("This dataset has no survey answers. Add a survey file (or a file with a score column) on the Data page.",
            icon=":material/info:")
    st.stop()

scale = data.score_scale
scale_text = f"scores {scale.label}" if scale else "scores"
personas = state.persona_names()

c1, c2 = st.columns([1, 1])
level = c1.segmented_control("Along", ["stage", "touchpoint"], default="stage", **filters.linked("e_level"),
                             format_func=str.capitalize) or "stage"
by_persona = c2.toggle("One line per persona", value=bool(personas), **filters.linked("e_by_persona"), disabled=not personas)

curve = cache.emotion_frame(view, level, by_persona and bool(personas))
drawn = gaps.with_gaps(curve, data.stages) if level == "stage" else curve
fig = charts.emotion_curve(drawn, subject=state.subject(view), colors=state.persona_colors(),
                           score_label=f"Mean score ({scale_text})",
                           y_range=(scale.low, scale.high) if scale else None)
widgets.chart(fig, key="emotion_curve", frame=curve, file_name="emotion_curve")
if level == "stage":
    missing = gaps.missing_stages(curve, data.stages)
    if missing:
        st.warning(gaps.sentence(missing), icon=":material/block:")
st.caption("The shaded band is the 95% confidence interval of the mean; n is in the hover. "
           "Open markers: fewer than 30 answers, read with care.")

st.subheader("Where it hurts: touchpoint by stage")
grid = cache.heatmap_frame(view)
widgets.chart(charts.heatmap(grid, stages=data.stages, subject=state.subject(view),
                             midpoint=scale.midpoint if scale else None),
              key="heatmap", frame=grid, file_name="touchpoint_stage_scores")
st.caption(f"Mean score per touchpoint and stage ({scale_text}); red is below the middle of the scale, blue above.")

nps = cache.nps_frame(view)
if not nps.empty:
    st.subheader("Net Promoter Score")
    widgets.chart(charts.nps_bar(nps, subject=state.subject(view)), key="nps", frame=nps, file_name="nps")

st.subheader("What customers said")
f1, f2, f3 = st.columns([1, 1, 1.4])
stage = f1.selectbox("Stage", ["(all)"] + list(data.stages), **filters.linked("c_stage"))
persona = f2.selectbox("Persona", ["(all)"] + personas, **filters.linked("c_persona"))
low, high = (float(scale.low), float(scale.high)) if scale else (0.0, 10.0)
lo, hi = f3.slider("Score", low, high, (low, high), step=1.0 if high - low >= 4 else 0.5, **filters.linked("c_score"))
quotes = cache.comments_frame(view, None if stage == "(all)" else stage, None if persona == "(all)" else persona,
                              lo, hi)
if quotes.empty:
    st.info("No comments match these choices.")
else:
    st.dataframe(quotes, hide_index=True, width="stretch", height=360)
    widgets.csv_download(quotes, "Download comments (CSV)", "comments", key="comments_csv")
