"""Emotions: score per stage with confidence bands, touchpoint heatmap, NPS, comments."""

import streamlit as st

from journeylib import charts, voice
from journeylib import compare as comparing
from ui import cache, compare, filters, gaps, outcomes, state, widgets
from ui import voice as voice_ui
from ui.present import md_escape

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
start_level = cache.curve_level(view)
level = c1.segmented_control("Along", ["stage", "touchpoint"], default=start_level, **filters.linked("e_level"),
                             format_func=str.capitalize) or start_level
by_persona = c2.toggle("One line per persona", value=bool(personas), **filters.linked("e_by_persona"), disabled=not personas)

with widgets.errors_shown("Cannot compare these views"):
    pair = compare.controls(view)
if pair is not None:
    with widgets.errors_shown("Cannot compare these views"):
        compare.explain(pair, view)
        both = compare.emotion_frame(view, pair, level)
        both_drawn = gaps.with_gaps(both, data.stages) if level == "stage" and not both.empty else both
        side_colors = {pair.label_a: charts.OKABE_ITO[0], pair.label_b: charts.OKABE_ITO[1]}
        fig = cache.figure("emotion_curve", both_drawn, subject=state.subject(view), colors=side_colors,
                           score_label=f"Mean score ({scale_text})",
                           y_range=(scale.low, scale.high) if scale else None,
                           empty_text=f"No survey answer names a {level} in either view.",
                           legend_title="View")
        widgets.chart(fig, key="emotion_compare", frame=both, file_name="emotion_curves_compared")
        result = compare.comparison(view, pair, level)
        widgets.chart(cache.figure("difference_chart", result.table, measure="score", label_a=pair.label_a,
                                   label_b=pair.label_b), key="emotion_diff_score")
        # NPS, CSAT and each outcome column both views have, in the table's order.
        others = [m for m in dict.fromkeys(result.table["measure"])
                  if m in ("nps", comparing.CSAT) or comparing.outcome_column(m) is not None]
        for measure in others:
            widgets.chart(cache.figure("difference_chart", result.table, measure=measure, label_a=pair.label_a,
                                       label_b=pair.label_b), key=f"emotion_diff_{measure}")
        outcome_names = tuple(f"{comparing.outcome_column(m)}:" for m in others if comparing.outcome_column(m))
        for note in result.notes:
            if note.startswith(("score", "nps", "csat") + outcome_names):
                st.caption(note[0].upper() + note[1:] + ".")
        st.caption("One line and band (the 95% interval of the mean) per view. Below, each difference is the second "
                   "view minus the first with its 95% interval; ▲/▼ mark those significant at p < 0.05 "
                   "(means: Welch's t-test; NPS: bootstrap; CSAT and yes/no outcomes: two-proportion z-test).")
    st.divider()
    st.caption("The rest of the page shows everyone in view (the sidebar filters), not one side.")

curve = cache.emotion_frame(view, level, by_persona and bool(personas))
drawn = gaps.with_gaps(curve, data.stages) if level == "stage" else curve
no_answers = widgets.empty_text(view.has_filters, "survey answers", "No survey answer names a stage of the stage order.")
fig = cache.figure("emotion_curve", drawn, subject=state.subject(view), colors=state.persona_colors(),
                   score_label=f"Mean score ({scale_text})",
                   y_range=(scale.low, scale.high) if scale else None,
                   empty_text=no_answers if level == "stage" else
                   widgets.empty_text(view.has_filters, "survey answers", "No survey answer names a touchpoint."))
widgets.chart(fig, key="emotion_curve", frame=curve, file_name="emotion_curve")
if level == "stage":
    missing = gaps.missing_stages(curve, data.stages)
    if missing:
        st.warning(gaps.sentence(missing), icon=":material/block:")
st.caption("The shaded band is the 95% confidence interval of the mean; n is in the hover. "
           "Open markers: fewer than 30 answers, read with care.")
for line in voice_ui.coverage(view)["warnings"]:
    if data.has_events:
        st.warning(line, icon=":material/groups:")
    else:  # a survey alone cannot be checked for who answered: a fact, not a warning
        st.caption(line)

st.subheader("Where it hurts: touchpoint by stage")
grid = cache.heatmap_frame(view)
widgets.chart(cache.figure("heatmap", grid, stages=data.stages, subject=state.subject(view),
                           midpoint=scale.midpoint if scale else None,
                           empty_text=widgets.empty_text(view.has_filters, "survey answers",
                                                         "No survey answer names both a touchpoint and a stage.")),
              key="heatmap", frame=grid, file_name="touchpoint_stage_scores")
st.caption(f"Mean score per touchpoint and stage ({scale_text}); red is below the middle of the scale, blue above.")

nps = cache.nps_frame(view)
if not nps.empty:
    st.subheader("Net Promoter Score")
    widgets.chart(cache.figure("nps_bar", nps, subject=state.subject(view)), key="nps", frame=nps, file_name="nps")

outcomes.section(view)

st.subheader("What customers said")
f1, f2, f3 = st.columns([1, 1, 1.4])
stage = f1.selectbox("Stage", ["(all)"] + list(data.stages), **filters.linked("c_stage"))
persona = f2.selectbox("Persona", ["(all)"] + personas, **filters.linked("c_persona"))
low, high = (float(scale.low), float(scale.high)) if scale else (0.0, 10.0)
lo, hi = f3.slider("Score", low, high, (low, high), step=1.0 if high - low >= 4 else 0.5, **filters.linked("c_score"))
quotes = cache.comments_frame(view, None if stage == "(all)" else stage, None if persona == "(all)" else persona,
                              lo, hi)
disagree = st.toggle("Only comments whose words and score disagree", key="c_disagree",
                     help="A score in the top third of the scale with negative words, or in the bottom third "
                          "with positive words: sarcasm, a mis-click, or a sentiment reading to check.")
quotes = (voice_ui.disagreeing(view, None if stage == "(all)" else stage, None if persona == "(all)" else persona,
                               lo, hi) if disagree else voice_ui.with_sentiment(view, quotes))
if quotes.empty:
    st.info("No comments match these choices.")
else:
    st.dataframe(quotes, hide_index=True, width="stretch", height=360)
    widgets.csv_download(quotes, "Download comments (CSV)", "comments", key="comments_csv")
    if cache.shared_comments(view):
        st.caption("Each respondent left one comment for the whole survey: it is listed once per stage, "
                   "with the mean of their ratings there as its score.")

st.subheader("Themes in the comments")
t1, t2 = st.columns([1.4, 1])
theme_by = t1.segmented_control("Themes per", ["stage", "touchpoint", "persona"], default="stage", key="v_by",
                                format_func=str.capitalize) or "stage"
n_themes = t2.selectbox("Themes per group", voice_ui.THEME_CHOICES, key="v_n",
                        format_func=lambda v: "Chosen from the comments" if v == "auto" else str(v))
found = voice_ui.themes(view, theme_by, n_themes)
if found is None or found.table.empty:
    st.info("No comments to group into themes: this survey has no comment text.")
else:
    st.caption(" ".join(found.notes) + " Tone: the mean score where comments have one, otherwise the sentiment.")
    for high in voice.theme_highlights(found).itertuples(index=False):
        with st.container(border=True):
            st.markdown(f"**{md_escape(high.group)}**")
            if not (high.negative_id or high.positive_id):
                st.caption(md_escape(high.note))
                continue
            neg, pos = st.columns(2)
            with neg:
                voice_ui.theme_card(found, high.group, high.negative_id, "negative", key=f"v_neg_{high.group}")
            with pos:
                voice_ui.theme_card(found, high.group, high.positive_id, "positive", key=f"v_pos_{high.group}")
    with st.expander("Every theme"):
        table = voice.theme_table(found)
        st.dataframe(table, hide_index=True, width="stretch")
        widgets.csv_download(table, "Download themes (CSV)", "themes", key="themes_csv")

st.subheader("Who answered the survey")
reach = voice_ui.coverage(view)
if reach["table"].empty:
    st.info("Answers cannot be placed at stages: the survey has no stage for its answers.")
else:
    voice_ui.show_coverage(reach)
    if data.has_events:
        st.caption("Reached: customers with events at the stage. Answered: customers with a score or a comment "
                   "there. Effect: Cohen's h for shares, Cohen's d for journey length; above 0.2 the people who "
                   "answered differ from those who did not.")
    else:
        st.caption("Answered: customers with a score or a comment at the stage. How many reached each stage, and "
                   "whether those who answered are like those who did not, needs touchpoint events.")
