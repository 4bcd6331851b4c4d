"""Comparing two views of the current dataset: the controls, each side's cached data and
results, and the comparison itself (journeylib.compare).

The controls are widgets bound to the URL (``bind="query-params"``: ``cmp`` says what is
compared, ``cmp_a_*`` / ``cmp_b_*`` hold each side's choice as plain strings), so a link
reproduces the comparison. Each side is a view text as the command line writes it
(``from=2024-01-01,to=2024-03-31``, ``persona=NAME``, ``dataset=ID``...), applied on top
of the sidebar's filters; results are cached on the sidebar view and that text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import pandas as pd
import streamlit as st

from journeylib import compare, flows, workspace
from journeylib.schema import JourneyData
from ui import cache, state

KINDS = {
    "none": "Nothing",
    "period": "Two periods",
    "persona": "Two personas",
    "channel": "Two channels",
    "attribute": "Two values of a customer attribute",
    "dataset": "This dataset and another",
    "custom": "Two views, typed",
}
EVERYONE = "all"
MAX_ATTRIBUTE_VALUES = 30


@dataclass(frozen=True)
class Pair:
    """The two sides of a comparison: view texts (journeylib.compare.parse_view) and labels."""

    a: str
    b: str
    label_a: str
    label_b: str


# ----------------------------------------------------------------------------- cached sides


def _opener(view: cache.View):
    from ui import connect

    def load(dataset_id: str) -> JourneyData:
        if view.root == connect.ROOT:
            raise compare.ViewError("a connected database cannot be compared with a saved dataset")
        try:
            info = workspace.get_info(dataset_id, root=view.root)
        except workspace.WorkspaceError:
            raise compare.ViewError(f"no saved dataset {dataset_id!r}") from None
        return cache.dataset(view.root, info.id, info.saved)

    return load


def _personas_for(view: cache.View, text: str):
    if not compare.parse_view(text).personas:
        return None
    try:
        return cache.personas(view).assignments
    except Exception:  # noqa: BLE001 - apply_view says persona views need personas
        return None


@st.cache_resource(max_entries=16, show_spinner=False)
def side(view: cache.View, text: str) -> JourneyData:
    """The sidebar view restricted to one side's view text."""
    if text == EVERYONE:
        return cache.filtered(view)
    return compare.apply_view(cache.filtered(view), text, personas=_personas_for(view, text), load=_opener(view))


@st.cache_data(max_entries=32, show_spinner="Counting journeys…")
def sankey_frame(view: cache.View, text: str, level: str, max_steps: int, top: int, collapse: bool,
                 start: str | None) -> pd.DataFrame:
    if text == EVERYONE:
        return cache.sankey_frame(view, level, max_steps, top, collapse, start)
    return flows.step_sankey(side(view, text).events, level=level, max_steps=max_steps, top=top,
                             collapse_repeats=collapse, start=start or None)


@st.cache_data(max_entries=32, show_spinner=False)
def sankey_differences(view: cache.View, pair: Pair, level: str, max_steps: int, top: int, collapse: bool,
                       start: str | None) -> pd.DataFrame:
    """Which Sankey nodes moved between the two sides (journeylib.compare.sankey_differences)."""
    frames = [sankey_frame(view, text, level, max_steps, top, collapse, start) for text in (pair.a, pair.b)]
    return compare.sankey_differences(*frames)


@st.cache_data(max_entries=32, show_spinner=False)
def funnel_frame(view: cache.View, text: str) -> pd.DataFrame:
    if text == EVERYONE:
        return cache.funnel_frame(view)[0]
    return cache.goal_funnel(side(view, text))[0]


@st.cache_data(max_entries=32, show_spinner=False)
def side_counts(view: cache.View, text: str) -> compare.ViewCounts:
    """One side's counts for the tests (journeylib.compare.view_counts), kept per side: when
    one period changes, the other side is not counted again."""
    return compare.view_counts(side(view, text))


@st.cache_data(max_entries=32, show_spinner="Ranking pain points…")
def side_pains(view: cache.View, text: str) -> pd.DataFrame:
    """One side's pain points (journeylib.insights.pain_points, stages and touchpoints): the
    drill-down's picker and the "what changed" lane read the same frame."""
    from journeylib import insights

    data = side(view, text)
    return insights.pain_points(data) if data.has_events else pd.DataFrame(columns=insights.PAIN_COLUMNS)


def _pair_counts(view: cache.View, pair: Pair) -> tuple[compare.ViewCounts, compare.ViewCounts]:
    return side_counts(view, pair.a), side_counts(view, pair.b)


@st.cache_data(max_entries=32, show_spinner="Testing the differences…")
def comparison(view: cache.View, pair: Pair, level: str) -> compare.Comparison:
    return compare.compare(side(view, pair.a), side(view, pair.b), level=level,
                           label_a=pair.label_a, label_b=pair.label_b, counts=_pair_counts(view, pair))


@st.cache_data(max_entries=16, show_spinner="Testing what changed…")
def what_changed(view: cache.View, pair: Pair) -> pd.DataFrame:
    """The journey map's "what changed" lane of a pair of views (b minus a)."""
    return compare.what_changed(side(view, pair.a), side(view, pair.b), counts=_pair_counts(view, pair),
                                pains=(side_pains(view, pair.a), side_pains(view, pair.b)))


@st.cache_data(max_entries=16, show_spinner=False)
def time_frame(view: cache.View, pair: Pair) -> pd.DataFrame:
    return compare.time_to_stage_pair(side(view, pair.a), side(view, pair.b), pair.label_a, pair.label_b)


@st.cache_data(max_entries=32, show_spinner="Averaging scores…")
def emotion_frame(view: cache.View, pair: Pair, level: str) -> pd.DataFrame:
    """Both sides' emotion curves (journeylib.emotions.emotion_curve) in one frame, ``persona``
    holding each side's label, so the emotion chart draws one line and band per side."""
    from journeylib.emotions import emotion_curve

    parts = []
    for text, label in ((pair.a, pair.label_a), (pair.b, pair.label_b)):
        data = side(view, text)
        if data.survey is not None and level in data.survey.columns:
            parts.append(emotion_curve(data.survey, data.stages, level=level).assign(persona=label))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


@st.cache_data(max_entries=16, show_spinner="Testing the differences…")
def persona_share_frame(view: cache.View, pair: Pair) -> pd.DataFrame:
    """Each persona's share of both sides (journeylib.compare.persona_shares)."""
    return compare.persona_shares(side(view, pair.a), side(view, pair.b), cache.personas(view).assignments)


def counts(view: cache.View, text: str) -> dict:
    """Customers and events of one side."""
    if text == EVERYONE:
        return cache.counts(view)
    return _side_counts(view, text)


@st.cache_data(max_entries=32, show_spinner=False)
def _side_counts(view: cache.View, text: str) -> dict:
    from journeylib.engine import execute

    ev = side(view, text).events
    row = execute(ev.aggregate(events=ev.count(), customers=ev.customer_id.nunique())).iloc[0]
    return {"events": int(row["events"]), "customers": int(row["customers"])}


@st.cache_data(max_entries=16, show_spinner=False)
def attribute_values(view: cache.View) -> dict[str, list[str]]:
    """Customer attributes with a few values each (what an attribute comparison offers);
    give it the unfiltered view, so a filter change finds them cached."""
    from journeylib.engine import execute

    data = cache.filtered(view)
    c = data.customers
    if c is None:
        return {}
    out = {}
    for name in c.columns:
        if name == "customer_id":
            continue
        present = c.filter(c[name].notnull())
        got = execute(present.group_by(v=present[name].cast("string")).agg(n=ibis._.count()).order_by(
            [ibis.desc("n"), "v"]).limit(MAX_ATTRIBUTE_VALUES + 1))
        if 2 <= len(got) <= MAX_ATTRIBUTE_VALUES:
            out[name] = got["v"].astype(str).tolist()
    return out


# ----------------------------------------------------------------------------- controls


def _halves(first: dt.date, last: dt.date) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]:
    middle = first + (last - first) // 2
    return (first, middle), (min(middle + dt.timedelta(days=1), last), last)


def _dates(value) -> tuple[dt.date, dt.date] | None:
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(value):
        return value[0], value[1]
    return None


def _other_datasets(view: cache.View) -> dict[str, str]:
    from ui import connect

    if view.root == connect.ROOT:
        return {}
    return {i.id: i.name for i in state.all_datasets() if i.id != view.dataset_id and not connect.is_connected(i.id)}


def controls(view: cache.View) -> Pair | None:
    """Draw the comparison controls; the pair of views chosen, or None (nothing compared)."""
    facts = cache.facts(view.root, view.dataset_id, view.saved)
    personas = state.persona_names()
    others = _other_datasets(view)
    attributes = attribute_values(view.unfiltered())
    available = {
        "none": True,
        "period": bool(facts["first"] and facts["last"] and facts["first"] != facts["last"]),
        "persona": len(personas) >= 2,
        "channel": len(facts["channels"]) >= 2,
        "attribute": bool(attributes),
        "dataset": bool(others),
        "custom": True,
    }
    kinds = [k for k, ok in available.items() if ok]
    c0, c1, c2 = st.columns([1.1, 1, 1], vertical_alignment="bottom")
    kind = c0.selectbox("Compare", kinds, format_func=KINDS.get, key="cmp", bind="query-params",
                        help="Put two views side by side; differences are the second minus the first, marked "
                             "▲/▼ when significant (p < 0.05).") or "none"
    if kind == "none":
        return None
    if kind == "period":
        first, last = dt.date.fromisoformat(facts["first"]), dt.date.fromisoformat(facts["last"])
        half_a, half_b = _halves(first, last)
        kw = dict(min_value=first, max_value=last, format="YYYY-MM-DD", bind="query-params")
        a = _dates(c1.date_input("First period", value=half_a, key="cmp_a_dates", **kw))
        b = _dates(c2.date_input("Second period", value=half_b, key="cmp_b_dates", **kw))
        if not a or not b:
            st.caption("Pick a first and a last day for both periods.")
            return None
        va, vb = compare.View(start=a[0], end=a[1]), compare.View(start=b[0], end=b[1])
    elif kind == "persona":
        a = c1.selectbox("First persona", personas, index=0, key="cmp_a_persona", bind="query-params")
        b = c2.selectbox("Second persona", personas, index=1, key="cmp_b_persona", bind="query-params")
        va, vb = compare.View(personas=(a,)), compare.View(personas=(b,))
    elif kind == "channel":
        channels = facts["channels"]
        a = c1.selectbox("First channel", channels, index=0, key="cmp_a_channel", bind="query-params")
        b = c2.selectbox("Second channel", channels, index=1, key="cmp_b_channel", bind="query-params")
        va, vb = compare.View(channels=(a,)), compare.View(channels=(b,))
    elif kind == "attribute":
        names = list(attributes)
        column = c0.selectbox("Attribute", names, key="cmp_attr", bind="query-params")
        values = attributes.get(column, [])
        a = c1.selectbox("First value", values, index=0, key="cmp_a_value", bind="query-params")
        b = c2.selectbox("Second value", values, index=min(1, len(values) - 1), key="cmp_b_value",
                         bind="query-params")
        va, vb = compare.View(attributes=((column, (a,)),)), compare.View(attributes=((column, (b,)),))
    elif kind == "dataset":
        c1.markdown(f"**This dataset**  \n{cache.facts(view.root, view.dataset_id, view.saved)['customers']:,} "
                    "customers")
        other = c2.selectbox("Against", list(others), format_func=others.get, key="cmp_b_dataset",
                             bind="query-params")
        current = next((i.name for i in state.all_datasets() if i.id == view.dataset_id), "This dataset")
        return Pair(EVERYONE, compare.View(dataset=other).text, current, others.get(other, other))
    else:
        a = c1.text_input("First view", value="all", key="cmp_a_text", bind="query-params",
                          help=f"A view: {compare.VIEW_FORMS}; 'all' is everyone in view.")
        b = c2.text_input("Second view", value="all", key="cmp_b_text", bind="query-params",
                          help=f"A view: {compare.VIEW_FORMS}; 'all' is everyone in view.")
        va, vb = compare.parse_view(a), compare.parse_view(b)
    if va == vb:
        st.caption("Both sides are the same view: pick two different ones.")
        return None
    return Pair(va.text, vb.text, va.label, vb.label)


def explain(pair: Pair, view: cache.View) -> None:
    """One line saying what is compared and how to read it."""
    within = state.subject(view)
    st.markdown(
        f"Comparing **{pair.label_a}** with **{pair.label_b}**"
        + (f" (both within: {within})" if within != "All customers" else "")
        + ". Differences are the second minus the first, with 95% intervals; ▲/▼ mark those significant at "
        "p < 0.05 (shares: two-proportion z-test; mean scores: Welch's t-test; NPS: bootstrap)."
    )


def with_label(view: cache.View, pair: Pair, text: str) -> str:
    """The chart subject of one side."""
    label = pair.label_a if text == pair.a else pair.label_b
    within = state.subject(view)
    return label if within == "All customers" else f"{label} · {within}"
