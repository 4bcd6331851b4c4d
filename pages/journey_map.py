"""Journey map: stages as columns, lanes of evidence; pain points, opportunities, key
drivers; present mode for meetings; PNG/SVG, HTML report and PPTX deck exports."""

import streamlit as st

from journeylib import charts, export
from journeylib.insights import outcome_label
from ui import cache, compare, filters, present, state, widgets

view = state.current_view()
info = state.active_info()
# Everyone's map with nothing compared needs no personas: then it is drawn before the
# controls that list them (a new dataset's personas take seconds to find).
map_first = not present.is_on() and present.map_needs_no_personas()
names = [] if map_first else state.persona_names()
choices = [present.EVERYONE] + [n for n in names if not view.personas or n in view.personas]
shown_for = present.EVERYONE if map_first else filters.link_value("jm_persona", choices, present.EVERYONE)
persona = None if shown_for == present.EVERYONE else shown_for
subject = state.subject(view, persona)
colors = {} if map_first else state.persona_colors()
pair = None  # a comparison (ui.compare.Pair), set by the controls below in normal mode


def journey_map_figure(font_scale=1.0, fit_width=820, height=None):
    return charts.journey_map_figure(present.journey_map(view, persona, pair), font_scale=font_scale, fit_width=fit_width,
                                     height=height)


def fitted_map(width, height):
    """The map for a slide of this size: lanes that do not fit are left out, and said so."""
    fig, left_out = charts.journey_map_fitting(present.journey_map(view, persona, pair), height,
                                               font_scale=present.fitted_font_scale(height), fit_width=width)
    if left_out:
        fig.add_annotation(text="Not shown to fit the screen: " + ", ".join(left_out) + " (on the Journey map page).",
                           xref="paper", yref="paper", x=0, y=0, yanchor="top", yshift=-4, showarrow=False,
                           font=dict(size=13, color="#5A5A5A"))
        fig.update_layout(margin=dict(b=(fig.layout.margin.b or 0) + 26))
    return fig


def pains_figure():
    goal = cache.filtered(view, persona).goal
    return charts.pain_points_chart(present.journey_map(view, persona, pair).pains, subject=subject, top=10,
                                    goal_label=goal.label if goal is not None else None)


def emotion_figure():
    frame = cache.emotion_frame(view, cache.curve_level(view), bool(names))
    if persona and not frame.empty:
        frame = frame[frame["persona"] == persona]
    return charts.emotion_curve(frame, subject=subject, colors=colors)


def sankey_figure():
    frame = cache.sankey_frame(view, "stage", 5, 8, False, None, persona=persona)
    return charts.sankey(frame, subject=subject, level="stage", stages=state.current_data().stages)


def drivers(outcome):
    return present.key_drivers(view, persona, outcome) if outcome else "no outcome to explain in this dataset"


def chosen_outcome():
    """The outcome key drivers explain (the list costs a query, so only asked for when shown);
    the first the insights offer (the goal, when it can be judged) unless one was picked."""
    outcomes = present.driver_outcomes(view, persona)
    default = outcomes[0] if outcomes else None
    return st.session_state.get("jm_outcome") if st.session_state.get("jm_outcome") in outcomes else default


def drivers_figure():
    kd = drivers(chosen_outcome())
    if isinstance(kd, str):
        return charts.empty_figure(f"Key drivers cannot be estimated: {kd}.", "Key drivers")
    return charts.key_drivers_chart(kd, subject=subject)


# ----------------------------------------------------------------------------- present mode

if present.is_on():
    # The page's comparison controls, drawn out of sight: the comparison set on the page (or in
    # the link) holds in present mode, and their link parameters stay.
    why_not = None
    with st.container(key=present.HIDDEN_CONTROLS):
        try:
            pair = compare.controls(view)
        except ValueError as exc:  # a view that cannot be applied: said on its slide
            why_not = str(exc)
    try:
        jm = present.journey_map(view, persona, pair)
    except ValueError as exc:
        why_not, pair = str(exc), None
        jm = present.journey_map(view, persona)
    top = jm.opportunities["sentence"].iloc[0] if len(jm.opportunities) else jm.pain_summary

    def drivers_takeaway():
        kd = drivers(chosen_outcome())
        return kd if isinstance(kd, str) else kd.summary

    slides = [
        present.Slide("Journey map", f"{jm.group}: {jm.customers:,} customers.",
                      lambda w, h: fitted_map(w, h), fits=True),
    ]
    if pair is not None or why_not:
        changed = present.changed_section(view, pair, why_not)
        slides.append(present.Slide("What changed", changed.takeaway, lambda: changed.figure))
    slides += [
        present.Slide("How customers feel", f"Mean score per {cache.curve_level(view)} with its 95% band; n in the hover.",
                      emotion_figure),
        present.Slide("How customers move", "Each band is customers going from one stage to the next.",
                      sankey_figure),
        present.Slide("Pain points", top, pains_figure),
        # Key drivers are estimated when the deck is built, after the first slide is shown.
        present.Slide("Key drivers", drivers_takeaway, drivers_figure),
    ]
    present.show(slides, key=(view, persona, st.session_state.get("jm_outcome"), pair, why_not), persona_choices=choices,
                 persona=shown_for)
    st.stop()

# ----------------------------------------------------------------------------- normal mode

st.title("Journey map")
st.caption("The journey in one view, filled from your data: what customers do at each stage, through which "
           "channels, how they feel, where it hurts, what to fix, and what they say. Every item shows its evidence.")


def controls():
    """Whose journey, present mode and the comparison; the comparison chosen."""
    if map_first:
        names = state.persona_names()
        options = [present.EVERYONE] + [n for n in names if not view.personas or n in view.personas]
        filters.link_value("jm_persona", options, present.EVERYONE)
    else:
        options = choices
    c1, c3 = st.columns([4, 1], vertical_alignment="bottom")
    c1.selectbox("Whose journey", options, **filters.linked("jm_persona"),
                 help="Everyone in the current filters, or one persona.")
    with c3:
        present.toggle()
    chosen = None
    with widgets.errors_shown("Cannot compare these views"):
        chosen = compare.controls(view)
    if chosen is not None:
        compare.explain(chosen, view)
        st.caption("The map gains a “What changed” lane per stage (the second view minus the first), and the "
                   "report and the deck a “What changed” section.")
    return chosen


controls_box = st.container(border=True)
if map_first:
    with controls_box:
        waiting = st.empty()
        waiting.caption("Finding this dataset's personas for “Whose journey” and comparisons…")
else:
    with controls_box:
        pair = controls()

jm = present.journey_map(view, persona, pair)
if not jm.stages:
    st.info(widgets.empty_text(view.has_filters, "customers at a stage",
                               "No event or answer has a stage of the stage order: set touchpoint -> stage rules "
                               "on the Data page."), icon=":material/info:")
fig = journey_map_figure()
widgets.chart(fig, key="journey_map", frame=jm.to_frame(), file_name="journey_map")
present.image_downloads(fig, "journey_map", "jm_img")
for note in jm.notes:
    st.caption(note)
with st.expander("Every item of the map, with its evidence", icon=":material/table_rows:"):
    st.dataframe(export.display_table(jm.to_frame(), [("lane", "Lane", "text"), ("stage", "Stage", "text"),
                                                      ("rank", "Rank", "int"), ("text", "Item", "text"),
                                                      ("evidence", "Evidence", "text")]),
                 hide_index=True, width="stretch")

st.subheader("Pain points", anchor=False)
pfig = pains_figure()
widgets.chart(pfig, key="pain_points", frame=jm.pains, file_name="pain_points")
present.image_downloads(pfig, "pain_points", "pains_img")
goal = cache.filtered(view, persona).goal
st.caption("Impact = customers who leave after it without "
           + (f"reaching {present.md_escape(goal.label)}" if goal else "reaching the goal (once one is named)")
           + " + its answers × how far its mean score sits below the overall mean, as a share of the scale "
           "(only when its 95% interval lies wholly below, from 10 answers up).")

st.subheader("Opportunities", anchor=False)
if len(jm.opportunities):
    st.markdown("\n".join(f"{i}. {present.md_escape(s)}" for i, s in enumerate(jm.opportunities["sentence"], 1)))
else:
    st.info(jm.pain_summary, icon=":material/info:")

st.subheader("Key drivers", anchor=False)
# A model fit per view: estimated only while this section is open.
box = st.expander("What drives the outcome? (open to estimate)", key="jm_drivers_open", on_change="rerun",
                  icon=":material/insights:")
if box.open:
    with box:
        outcomes = present.driver_outcomes(view, persona)
        if outcomes:
            st.columns([1, 2])[0].selectbox("Key drivers of", outcomes, **filters.linked("jm_outcome"),
                         index=outcomes.index(chosen_outcome()) if chosen_outcome() in outcomes else 0,
                         format_func=lambda o: outcome_label(state.current_data(), o),
                         help="The outcome the key-driver chart explains.")
        kd = drivers(chosen_outcome())
        if isinstance(kd, str):
            st.info(f"Key drivers cannot be estimated: {kd}.", icon=":material/info:")
        else:
            kfig = drivers_figure()
            widgets.chart(kfig, key="key_drivers", frame=kd.table, file_name="key_drivers")
            present.image_downloads(kfig, "key_drivers", "kd_img")
            st.markdown(present.md_escape(kd.summary))
            with st.popover("Reading each input", icon=":material/menu_book:"):
                st.markdown("\n".join(f"- {present.md_escape(r)}" for r in kd.table["reading"]))
                for note in kd.notes:
                    st.caption(note)

st.subheader("Share", anchor=False)
present.report_downloads(view, persona, info.name, pair)

if map_first:
    # Filled in above the map once the page below it is drawn; nothing was chosen
    # (map_needs_no_personas), so they come back as everyone's journey, nothing compared.
    with waiting.container():
        pair = controls()
