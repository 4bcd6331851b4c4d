"""The Journeys page's sections: flows (one view, or two side by side with their
differences), the most common paths, paths to an end, paths between two touchpoints,
transitions and time along the journey. Each draws its charts from cached library results
and offers the drill-down (ui.drill) where a chart has customers behind it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from journeylib import charts, flows
from journeylib import compare as comparing
from journeylib.journey import GoalError
from ui import cache, compare, drill, state, widgets
from ui.present import md_escape

SINGLE = compare.EVERYONE


def _drill_here(spec: drill.Spec | None, kinds: tuple[str, ...], sides: tuple[str, ...]) -> bool:
    return spec is not None and spec.kind in kinds and spec.side in sides


# ----------------------------------------------------------------------------- flows


def goal_card(view: cache.View, funnel: pd.DataFrame, why: str | None, customers: int) -> tuple[str, str, str]:
    """The metric of the goal reached: its share of the view, or what to set to see it."""
    goal = state.current_data().goal
    if goal is None:
        return ("Goal", "not set", "Name a goal on the Data page to see how many customers reach it.")
    won = funnel["customers"].iloc[-1] if why is None and len(funnel) else None
    return (f"Reached {goal.label}", widgets.pct(won / customers if won is not None and customers else None),
            f"Customers who reached {goal.label}, out of the {customers:,} in view (the funnel's last row)."
            if why is None else f"Cannot be counted: {why}.")


def flows_single(view: cache.View, settings: drill.SankeySettings, node_stage: dict) -> None:
    """One view: the step Sankey and the funnel, each with its drill-down."""
    data = state.current_data()
    goal = data.goal
    n = cache.counts(view)
    funnel_all, why = cache.funnel_frame(view)
    no_events = widgets.empty_text(view.has_filters, "journeys", "This dataset has no touchpoint events to draw.")
    widgets.metric_cards([
        ("Customers in view", f"{n['customers']:,}", None),
        ("Events", f"{n['events']:,}", None),
        goal_card(view, funnel_all, why, n["customers"]),
    ])
    spec = drill.current()
    frame = cache.sankey_frame(view, settings.level, settings.max_steps, settings.top, settings.collapse,
                               settings.start)
    fig = cache.figure("sankey", frame, subject=state.subject(view), level=settings.level, stages=data.stages,
                       node_stage=node_stage, fit_width=820, empty_text=no_events)
    widgets.chart(fig, key="sankey", frame=frame, file_name="flows")
    st.caption("Hover a node for its customers; grey **(end)** nodes count the customers whose journey stopped "
               "after the previous step, and their share of that step.")
    drill.sankey_picker(frame, side=SINGLE, key="pick_sankey")
    if _drill_here(spec, ("sankey",), (SINGLE,)):
        drill.panel(view, spec, settings, frame)

    st.divider()
    if why and funnel_all.empty:
        st.info(f"No funnel: {why}.", icon=":material/info:")
    elif not funnel_all["customers"].iloc[0]:
        st.info("No customer has an event at a stage of the stage order, so the funnel has no stages to count: "
                "set touchpoint -> stage rules on the Data page.", icon=":material/info:")
    else:
        if why:
            st.warning(f"The funnel stops at the stages: {why}.", icon=":material/flag:")
        drill.funnel_mode()
        fig = cache.figure("funnel", funnel_all, subject=state.subject(view), stages=data.stages,
                           goal_label=goal.label if goal and not why else None, fit_width=820, empty_text=no_events)
        drill.funnel_chart(fig, key="funnel_pick", stages_by_curve=[funnel_all["stage"].astype(str).tolist()],
                           sides=[SINGLE])
        widgets.csv_download(funnel_all, "Download data (CSV)", "funnel", key="funnel_csv", on_click=True)
        st.caption("A customer counts at a stage once they reach it or any later stage; the percentage is of the "
                   "first stage. Click a bar to see who these customers are.")
        # Computed only when opened: four queries a filter change need not wait for.
        with st.expander("Why these numbers differ", icon=":material/help:", key="j_why_differ",
                         on_change="rerun") as why_box:
            if why_box.open:
                for line in cache.count_notes(view, state.subject(view), settings.level, settings.max_steps,
                                              settings.start, settings.collapse):
                    st.markdown(f"- {md_escape(line)}")
    drill.pain_picker(view, side=SINGLE, key="pick_pain")
    if _drill_here(spec, ("funnel", "dropped", "pain_stage", "pain_touchpoint"), (SINGLE,)):
        drill.panel(view, spec, settings, None)


# ----------------------------------------------------------------------------- top paths


def top_paths(view: cache.View, compared: bool) -> None:
    """The most common whole journeys, as stages or touchpoints, with their conversion."""
    goal = state.current_data().goal
    n = cache.counts(view)
    if compared:
        st.caption("The paths of every customer in view (the chart's title says who), not of the two sides "
                   "compared on the Flows tab.")
    path_level = st.segmented_control("Paths of", ["stage", "touchpoint"], default="stage", key="j_path_level",
                                      format_func=lambda v: v.capitalize() + "s", bind="query-params") or "stage"
    paths, why_paths = cache.top_paths_frame(view, path_level, 10)
    if why_paths:
        st.warning(f"Conversion is not shown: {why_paths}.", icon=":material/flag:")
    no_events = widgets.empty_text(view.has_filters, "journeys", "This dataset has no touchpoint events to draw.")
    widgets.chart(cache.figure("top_paths", paths, subject=state.subject(view), customers=n["customers"],
                               goal_label=goal.label if goal and not why_paths else None, empty_text=no_events,
                               fit_width=820),
                  key="paths", frame=paths, file_name="top_paths")


def _converted_card(table: pd.DataFrame, pair: compare.Pair) -> tuple[str, str, str | None] | None:
    row = table[table["measure"] == "converted"]
    if row.empty:
        return None
    r = row.iloc[0]
    mark = charts.UP_MARK if r["difference"] > 0 else charts.DOWN_MARK
    verdict = f"{mark} significant (p = {r['p_value']:.2g})" if r["significant"] else "not significant"
    value = f"{widgets.pct(r['a'])} → {widgets.pct(r['b'])}"
    return (f"Reached {r['stage']}", value,
            f"{pair.label_a}: {int(r['n_a']):,} customers; {pair.label_b}: {int(r['n_b']):,}. Difference "
            f"{100 * r['difference']:+.1f} points, {verdict}.")


def flows_compared(view: cache.View, pair: compare.Pair, settings: drill.SankeySettings, node_stage: dict) -> None:
    """Two views: their Sankeys and funnels side by side, differences marked when significant."""
    data = state.current_data()
    compare.explain(pair, view)
    result = compare.comparison(view, pair, "stage")
    table = result.table
    na, nb = compare.counts(view, pair.a), compare.counts(view, pair.b)
    cards = [(f"Customers: {pair.label_a}", f"{na['customers']:,}", f"{na['events']:,} events."),
             (f"Customers: {pair.label_b}", f"{nb['customers']:,}", f"{nb['events']:,} events.")]
    converted = _converted_card(table, pair)
    if converted:
        cards.append(converted)
    widgets.metric_cards(cards)
    spec = drill.current()
    frames = [compare.sankey_frame(view, text, settings.level, settings.max_steps, settings.top, settings.collapse,
                                   settings.start) for text in (pair.a, pair.b)]
    differences = compare.sankey_differences(view, pair, settings.level, settings.max_steps, settings.top,
                                             settings.collapse, settings.start)
    kw = dict(level=settings.level, stages=data.stages, node_stage=node_stage, height=520)
    layout = st.segmented_control("Sankeys", ["stacked", "side by side"], default="stacked", key="cmp_layout",
                                  bind="query-params", format_func=str.capitalize,
                                  help="Side by side suits wide screens; stacked keeps every label readable.")
    places = st.columns(2) if layout == "side by side" else (st.container(), st.container())
    for i, (col, text) in enumerate(zip(places, (pair.a, pair.b))):
        with col:
            subject = compare.with_label(view, pair, text)
            fig = (cache.figure("sankey", frames[0], subject=subject, **kw) if i == 0
                   else cache.figure("sankey_compare", frames[1], differences, subject=subject, **kw))
            widgets.chart(fig, key=f"sankey_{'ab'[i]}", frame=frames[i], file_name=f"flows_{'ab'[i]}")
            drill.sankey_picker(frames[i], side=text, key=f"pick_sankey_{'ab'[i]}")
    st.caption(f"▲/▼ on the second chart: a node holds a significantly larger/smaller share of customers in "
               f"{pair.label_b} than in {pair.label_a} (two-proportion z-test, p < 0.05).")
    for text, frame, label in ((pair.a, frames[0], pair.label_a), (pair.b, frames[1], pair.label_b)):
        if _drill_here(spec, ("sankey",), (text,)):
            drill.panel(view, spec, settings, frame, side_label=label)

    st.divider()
    funnels = [compare.funnel_frame(view, text) for text in (pair.a, pair.b)]
    drill.funnel_mode()
    fig = cache.figure("funnel_compare", funnels[0], funnels[1], table, label_a=pair.label_a, label_b=pair.label_b,
                       subject=state.subject(view) if state.subject(view) != "All customers" else None)
    drill.funnel_chart(fig, key="funnel_pick_ab", stages_by_curve=[f["stage"].astype(str).tolist() for f in funnels],
                       sides=[pair.a, pair.b])
    st.caption("Click a bar to see who these customers are. ▲/▼ on a bar of the second view: its share reaching "
               "the stage differs significantly from the first view's.")
    # Ranking each side's pain points is a pass over its journeys: done while this is open
    # (or a pain point is being drilled into), not on every change of a period.
    pain_spec = spec is not None and spec.kind.startswith("pain_") and spec.side in (pair.a, pair.b)
    box = st.expander("Drill into a pain point of either view", key="cmp_pains_open", on_change="rerun",
                      icon=":material/person_search:")
    if box.open or pain_spec:
        with box:
            c1, c2 = st.columns(2)
            with c1:
                drill.pain_select(view, side=pair.a, key="pick_pain_a")
            with c2:
                drill.pain_select(view, side=pair.b, key="pick_pain_b")
    for text, label in ((pair.a, pair.label_a), (pair.b, pair.label_b)):
        if _drill_here(spec, ("funnel", "dropped", "pain_stage", "pain_touchpoint"), (text,)):
            drill.panel(view, spec, settings, None, side_label=label)

    st.divider()
    st.subheader("What changed")
    measures = [m for m in ("reached", "converted", "score", comparing.CSAT, "nps") if (table["measure"] == m).any()]
    measures += [m for m in dict.fromkeys(table["measure"]) if comparing.outcome_column(m) is not None]
    for measure in measures:
        widgets.chart(cache.figure("difference_chart", table, measure=measure, label_a=pair.label_a,
                                   label_b=pair.label_b), key=f"diff_{measure}")
    for note in result.notes:
        st.caption(note[0].upper() + note[1:] + ".")
    with st.expander("All differences as a table"):
        level = st.segmented_control("Scores by", ["stage", "touchpoint"], default="stage", key="cmp_level",
                                     format_func=str.capitalize, bind="query-params") or "stage"
        full = compare.comparison(view, pair, level).table if level != "stage" else table
        st.dataframe(full, hide_index=True, width="stretch")
        widgets.csv_download(full[list(comparing.COMPARE_COLUMNS)], "Download the comparison (CSV)", "comparison",
                             key="cmp_csv")


# ----------------------------------------------------------------------------- paths to an end


def _anchors(view: cache.View, data) -> dict[str, flows.Anchor]:
    out: dict[str, flows.Anchor] = {}
    try:
        goal = flows.Anchor.goal(data.journey)
        out["goal"] = goal
    except GoalError:
        pass
    for stage in data.stages:
        out[f"stage:{stage}"] = flows.Anchor.stage(stage)
    for tp in cache.touchpoint_names(view.root, view.dataset_id, view.saved)[:200]:
        out[f"touchpoint:{tp}"] = flows.Anchor.touchpoint(tp)
    return out


def _anchor_label(key: str, anchor: flows.Anchor) -> str:
    if key == "goal":
        return f"The goal: {anchor.label}"
    kind, _, name = key.partition(":")
    return f"{name} ({kind})"


@st.cache_data(max_entries=32, show_spinner="Reading journeys backwards…")
def _backward(view: cache.View, anchor: flows.Anchor, level: str, max_steps: int, top: int,
              collapse: bool) -> pd.DataFrame:
    return flows.backward_sankey(cache.filtered(view).events, anchor, level=level, max_steps=max_steps, top=top,
                                 collapse_repeats=collapse)


def paths_to_an_end(view: cache.View, settings: drill.SankeySettings, node_stage: dict) -> None:
    """The Sankey read backwards from the goal, a stage or a touchpoint."""
    data = state.current_data()
    anchors = _anchors(view, data)
    c1, c2 = st.columns([2, 1])
    key = c1.selectbox("Read back from", list(anchors), format_func=lambda k: _anchor_label(k, anchors[k]),
                       key="back_from", bind="query-params",
                       help="Each journey is read from the first time it reaches this end: what came before the "
                            "first visit is what led there.")
    steps = c2.slider("Steps back", 2, 10, 5, key="back_steps", bind="query-params")
    anchor = anchors[key]
    frame = _backward(view, anchor, settings.level, steps, settings.top, settings.collapse)
    fig = charts.backward_sankey(frame, anchor=anchor.label, subject=state.subject(view), level=settings.level,
                                 stages=data.stages, node_stage=node_stage)
    widgets.chart(fig, key="sankey_back", frame=frame, file_name="flows_backward")
    st.caption(f"The right-hand column is {anchor.label}; each column to its left is one step earlier. "
               "**(start)** holds the journeys that began fewer steps before it.")
    back = drill.SankeySettings(settings.level, steps, settings.top, settings.collapse, None, anchor)
    drill.sankey_picker(frame, side=SINGLE, key="pick_back", backward=True)
    spec = drill.current()
    if _drill_here(spec, ("back",), (SINGLE,)):
        drill.panel(view, spec, back, frame)


# ----------------------------------------------------------------------------- between, transitions, time


@st.cache_data(max_entries=32, show_spinner="Following paths…")
def _between(view: cache.View, source: str, target: str, max_len: int) -> pd.DataFrame:
    return flows.paths_between(cache.filtered(view).events, source, target, max_len=max_len)


def between(view: cache.View) -> None:
    """The most common paths from one touchpoint to the next occurrence of another."""
    names = cache.touchpoint_names(view.root, view.dataset_id, view.saved)[:200]
    if len(names) < 2:
        st.info("Paths between two touchpoints need at least two touchpoints in the events.", icon=":material/info:")
        return
    c1, c2, c3 = st.columns([1, 1, 0.8])
    source = c1.selectbox("From", names, index=0, key="between_from", bind="query-params")
    target = c2.selectbox("To", names, index=min(1, len(names) - 1), key="between_to", bind="query-params")
    max_len = c3.slider("Longest path shown", 3, 12, 6, key="between_len", bind="query-params",
                        help="Longer paths keep their first steps, then '...', then the end.")
    frame = _between(view, source, target, max_len)
    widgets.chart(charts.paths_between_chart(frame, source=source, target=target, subject=state.subject(view)),
                  key="between", frame=frame, file_name="paths_between")
    st.caption(f"From each customer's first {source} to the next {target} after it; time is from the first to the "
               "second (median, and in the hover the middle half of customers).")


def transitions(view: cache.View, settings: drill.SankeySettings) -> None:
    """Every consecutive pair of the journeys, loops and repeats included."""
    frame = cache.transitions_frame(view, settings.level, settings.collapse)
    st.caption("Every pair of consecutive steps over whole journeys: **transitions** counts the pairs (a customer "
               "can repeat one), **customers** the distinct customers with it. Uses the level and repeat setting "
               "above.")
    st.dataframe(frame, hide_index=True, width="stretch", height=420)
    widgets.csv_download(frame, "Download the transitions (CSV)", "transitions", key="transitions_csv")


@st.cache_data(max_entries=16, show_spinner="Timing journeys…")
def _time(view: cache.View, by_persona: bool) -> pd.DataFrame:
    personas = None
    if by_persona:
        try:
            personas = cache.personas(view).assignments
        except Exception:  # noqa: BLE001 - everyone's times still show
            personas = None
    return flows.time_to_stage(cache.filtered(view), personas=personas)


def time_along(view: cache.View, pair: compare.Pair | None) -> None:
    """Median and quartiles of the time from the first event to each stage and to the goal."""
    if pair is not None:
        frame = compare.time_frame(view, pair)
        colors = {pair.label_a: charts.ALL_COLOR, pair.label_b: charts.OKABE_ITO[0]}
        subject = f"{pair.label_a} and {pair.label_b}"
    else:
        by_persona = st.toggle("One row per persona", value=bool(state.persona_names()), key="time_personas",
                               disabled=not state.persona_names(), bind="query-params")
        frame = _time(view, by_persona and bool(state.persona_names()))
        colors = state.persona_colors()
        subject = state.subject(view)
    widgets.chart(charts.time_to_stage_chart(frame, subject=subject, colors=colors), key="time_to_stage",
                  frame=frame, file_name="time_to_stage")
    st.caption("Arriving at a stage is the first event at it or a later stage (as the funnel counts it), so a "
               "customer who enters part-way arrives at the earlier stages at once: 0 s, drawn at 1 s on this "
               "scale. The goal row, for a touchpoint goal, is its first event. Dots are medians, bars the middle "
               "half of customers" + (" (side by side only: no test of difference)." if pair is not None else "."))
