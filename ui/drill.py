"""Drill-down: pick a flow element (a Sankey node or link, a funnel step, a pain point) and
see who these customers are, with a CSV of their ids.

Funnel bars are picked with Plotly selection events (``st.plotly_chart(on_select=...)``).
Streamlit 1.67 sends no selection for Sankey traces (a click on a node or link only
reports points of sunburst-like charts, and box or lasso selection does not apply), so
Sankey nodes and links are picked from a list beside the chart. The current pick lives in
``st.session_state`` and is mirrored into the URL as plain strings (``drill``,
``drill_side``, ``drill_step``, ``drill_node``, ``drill_to``), so a link reopens it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from journeylib import cohort, flows
from ui import cache, compare, widgets

SPEC_KEY = "_drill_spec"
RESTORED_KEY = "_drill_restored"
PARAMS = ("drill", "drill_side", "drill_step", "drill_node", "drill_to")
KINDS = ("sankey", "back", "funnel", "dropped", "pain_stage", "pain_touchpoint")


@dataclass(frozen=True)
class Spec:
    """What was picked: ``kind`` (one of :data:`KINDS`), the view text of the side it was
    picked on, and the element: Sankey step and node (and link target), a funnel stage,
    or a pain point's name."""

    kind: str
    side: str = compare.EVERYONE
    step: int = 0
    node: str = ""
    target: str = ""


@dataclass(frozen=True)
class SankeySettings:
    """The Sankey a pick was made on: the page's controls (and the anchor of a backward one)."""

    level: str = "touchpoint"
    max_steps: int = 5
    top: int = 6
    collapse: bool = False
    start: str | None = None
    anchor: flows.Anchor | None = None


# ----------------------------------------------------------------------------- state <-> URL


def _restore() -> None:
    qp = st.query_params
    kind = qp.get("drill")
    if kind not in KINDS:
        return
    try:
        step = int(qp.get("drill_step") or 0)
    except ValueError:
        return
    st.session_state[SPEC_KEY] = Spec(kind, qp.get("drill_side") or compare.EVERYONE, step,
                                      qp.get("drill_node") or "", qp.get("drill_to") or "")


def current() -> Spec | None:
    """The current pick (read from the URL on the session's first run)."""
    if not st.session_state.get(RESTORED_KEY):
        st.session_state[RESTORED_KEY] = True
        _restore()
    return st.session_state.get(SPEC_KEY)


def _write(spec: Spec | None) -> None:
    values = {} if spec is None else {
        "drill": spec.kind, "drill_side": spec.side if spec.side != compare.EVERYONE else None,
        "drill_step": str(spec.step) if spec.kind in ("sankey", "back") else None,
        "drill_node": spec.node or None, "drill_to": spec.target or None,
    }
    for key in PARAMS:
        value = values.get(key)
        if value is None:
            if key in st.query_params:
                del st.query_params[key]
        elif st.query_params.get(key) != value:
            st.query_params[key] = value


def choose(spec: Spec | None) -> None:
    """Make ``spec`` the current pick (None clears it) and mirror it into the URL."""
    if spec is None:
        st.session_state.pop(SPEC_KEY, None)
    else:
        st.session_state[SPEC_KEY] = spec
    _write(spec)


def keep_in_url() -> None:
    """Write the current pick into the URL (a rerun started elsewhere may have lost it)."""
    _write(current())


# ----------------------------------------------------------------------------- pickers


@st.cache_data(max_entries=64, show_spinner=False)
def _sankey_options(frame: pd.DataFrame, backward: bool) -> dict[str, str]:
    """Links first (by customers), then nodes; each as tab-separated step, node[, target],
    with the words shown for it."""
    if frame is None or frame.empty:
        return {}

    def column(k: int) -> str:
        if not backward:
            return f"step {k}"
        return "the end" if k == 0 else f"{-k} before"

    links = frame.sort_values(["customers", "step"], ascending=[False, True])
    nodes = flows.step_nodes(frame).sort_values(["customers", "step"], ascending=[False, True])
    out = {}
    for r in links.itertuples(index=False):
        k = int(r.step)
        out[f"{k}\t{r.source}\t{r.target}"] = (f"{r.source} → {r.target} ({column(k)} → {column(k + 1)}): "
                                               f"{int(r.customers):,} customers")
    for r in nodes.itertuples(index=False):
        out[f"{int(r.step)}\t{r.node}"] = f"{r.node} at {column(int(r.step))}: {int(r.customers):,} customers"
    return out


def sankey_picker(frame: pd.DataFrame, *, side: str, key: str, backward: bool = False) -> None:
    """A list of the Sankey's links and nodes; picking one drills into its customers."""
    labels = {"": "Pick a node or a link…", **_sankey_options(frame, backward)}
    options = list(labels)
    if len(options) == 1:
        return
    kind = "back" if backward else "sankey"
    spec = current()
    wanted = ""
    if spec is not None and spec.kind == kind and spec.side == side:
        wanted = "\t".join([str(spec.step), spec.node] + ([spec.target] if spec.target else []))
    # The list shows the current pick (or none when the pick is elsewhere or was closed).
    st.session_state[key] = wanted if wanted in options else ""

    def picked() -> None:
        value = st.session_state.get(key) or ""
        if not value:
            choose(None)
            return
        parts = value.split("\t")
        choose(Spec(kind, side, int(parts[0]), parts[1], parts[2] if len(parts) == 3 else ""))

    st.selectbox("Who are these customers?", options, key=key, on_change=picked,
                 format_func=labels.get,
                 help="Pick a link or a node of the chart above to see who its customers are and download "
                      "their ids (a Sankey chart cannot be clicked to select in this version of Streamlit).")


def funnel_chart(fig, *, key: str, stages_by_curve: list[list[str]], sides: list[str]) -> None:
    """The funnel figure with bar selection: clicking a bar drills into that stage's customers
    (``stages_by_curve[i][j]`` is the stage of bar j of trace i, on side ``sides[i]``)."""

    def picked() -> None:
        selection = (st.session_state.get(key) or {}).get("selection") or {}
        points = selection.get("points") or []
        if not points:
            return
        point = points[0]
        curve = int(point.get("curve_number", 0))
        index = point.get("point_index", point.get("point_number"))
        if curve >= len(stages_by_curve) or index is None or int(index) >= len(stages_by_curve[curve]):
            return
        mode = "dropped" if st.session_state.get("drill_funnel_mode") == "dropped" else "funnel"
        choose(Spec(mode, sides[curve], 0, stages_by_curve[curve][int(index)]))

    st.plotly_chart(fig, theme=None, key=key, width="stretch", on_select=picked, selection_mode="points",
                    config={"displaylogo": False})


def funnel_mode() -> None:
    """Whether a funnel pick means everyone who reached the stage or those who stopped there."""

    def changed() -> None:
        spec = current()
        if spec is not None and spec.kind in ("funnel", "dropped"):
            mode = "dropped" if st.session_state.get("drill_funnel_mode") == "dropped" else "funnel"
            choose(Spec(mode, spec.side, 0, spec.node))

    spec = current()
    if "drill_funnel_mode" not in st.session_state:
        st.session_state["drill_funnel_mode"] = "dropped" if spec is not None and spec.kind == "dropped" else "funnel"
    st.segmented_control("A click on a funnel bar shows", ["funnel", "dropped"], key="drill_funnel_mode",
                         on_change=changed, required=True,
                         format_func=lambda m: "who reached the stage" if m == "funnel" else
                         "who reached it and went no further")


def pain_rows(view: cache.View, side: str) -> pd.DataFrame:
    return compare.side_pains(view, side).head(15)


def pain_picker(view: cache.View, *, side: str, key: str) -> None:
    """The top pain points (journeylib.insights.pain_points), in an expander whose content
    is computed when it is opened (a filter change need not wait for them); picking one
    drills into them."""
    spec = current()
    if spec is not None and spec.kind.startswith("pain_") and spec.side == side:
        st.session_state[f"{key}_open"] = True  # a link to a pain point's customers shows its pick
    with st.expander("Or drill into a pain point", icon=":material/troubleshoot:", key=f"{key}_open",
                     on_change="rerun") as box:
        if box.open:
            pain_select(view, side=side, key=key)


def pain_select(view: cache.View, *, side: str, key: str) -> None:
    """The pain-point pick itself (inside an expander of the caller's, which decides when
    the pain points are worth ranking)."""
    spec = current()
    rows = pain_rows(view, side)
    if rows.empty:
        st.caption("No pain points in this view: no stage or touchpoint loses customers or is rated below "
                   "the average." if compare.side(view, side).has_events else
                   "Pain points to drill into need touchpoint events; this dataset has none.")
        return
    options = [""] + [f"{r.level}\t{r.touchpoint if r.level == 'touchpoint' else r.stage}"
                      for r in rows.itertuples(index=False)]
    labels = {"": "Pick a pain point…"}
    for o, r in zip(options[1:], rows.itertuples(index=False)):
        what = f"'{r.touchpoint}' ({r.stage or 'no stage'})" if r.level == "touchpoint" else f"the {r.stage} stage"
        labels[o] = f"{what}: {int(r.customers):,} customers, {r.drop_off_rate:.0%} leave after it"
    wanted = ""
    if spec is not None and spec.kind.startswith("pain_") and spec.side == side:
        wanted = f"{spec.kind.removeprefix('pain_')}\t{spec.node}"
    st.session_state[key] = wanted if wanted in options else ""

    def picked() -> None:
        value = st.session_state.get(key) or ""
        if value:
            level, name = value.split("\t", 1)
            choose(Spec(f"pain_{level}", side, 0, name))

    st.selectbox("Pain point", options, key=key, on_change=picked, format_func=labels.get,
                 help="Stages and touchpoints ranked by how many customers they touch and how badly "
                      "(drop-off and low scores).")


# ----------------------------------------------------------------------------- the profile


def pick_of(spec: Spec, settings: SankeySettings):
    """The journeylib flow element a pick names."""
    if spec.kind in ("sankey", "back"):
        return flows.SankeyPick(spec.step, spec.node, spec.target or None, level=settings.level,
                                collapse_repeats=settings.collapse,
                                start=settings.start if spec.kind == "sankey" else None,
                                anchor=settings.anchor if spec.kind == "back" else None)
    if spec.kind in ("funnel", "dropped"):
        return flows.FunnelPick(spec.node, dropped=spec.kind == "dropped")
    return flows.PainPick(spec.kind.removeprefix("pain_"), spec.node)


def describe(spec: Spec, settings: SankeySettings) -> str:
    """The pick in words (the panel's heading)."""
    if spec.kind in ("sankey", "back"):
        where = (lambda k: f"step {k}") if spec.kind == "sankey" else (
            lambda k: f"{settings.anchor.label if settings.anchor else 'the end'}" if k == 0 else f"{-k} steps before")
        if spec.target:
            return f"{spec.node} → {spec.target} ({where(spec.step)} → {where(spec.step + 1)})"
        return f"{spec.node} at {where(spec.step)}"
    if spec.kind == "funnel":
        return f"reached {spec.node}"
    if spec.kind == "dropped":
        return f"reached {spec.node} and went no further"
    return f"had '{spec.node}'" if spec.kind == "pain_touchpoint" else f"reached the {spec.node} stage"


def _personas(view: cache.View):
    # The labels already on the engine: a join there, not 100,000 rows uploaded twice per drill-down.
    return cache.persona_labels(view)


@st.cache_data(max_entries=16, show_spinner="Finding these customers…")
def profile(view: cache.View, spec: Spec, settings: SankeySettings, sankey: pd.DataFrame | None) -> cohort.Profile:
    data = compare.side(view, spec.side)
    pick = pick_of(spec, settings)
    elements = None
    if spec.side == compare.EVERYONE and not (isinstance(pick, flows.SankeyPick) and pick.anchor is not None):
        elements = cache.elements(view, pick.level, getattr(pick, "collapse_repeats", False))
    customers = flows.flow_customers(data, pick, sankey=sankey, elements=elements)
    return cohort.profile(data, customers, personas=_personas(view), flow=pick, elements=elements)


def panel(view: cache.View, spec: Spec, settings: SankeySettings, sankey: pd.DataFrame | None,
          side_label: str | None = None) -> None:
    """Who the picked customers are: count, persona mix, attributes against everyone, their
    scores and comments, where they went next and before, and a CSV of their ids."""
    with widgets.errors_shown("Could not find these customers"):
        p = profile(view, spec, settings, sankey)
        with st.container(border=True):
            head, close = st.columns([6, 1], vertical_alignment="center")
            who = describe(spec, settings)
            head.markdown("#### " + (f"Customers who {who}" if spec.kind in ("funnel", "dropped")
                                     or spec.kind.startswith("pain") else f"Customers at {who}"))
            if side_label:
                head.caption(f"In {side_label}")
            close.button("Close", key="drill_close", on_click=choose, args=(None,), icon=":material/close:")
            if p.customers == 0:
                st.info("No customer in view matches this pick (the chart may have been drawn with other settings).")
                return
            score = "–" if p.mean_score is None else f"{p.mean_score:.2f}"
            widgets.metric_cards([
                ("Customers", f"{p.customers:,}", None),
                ("Share of everyone in view", widgets.pct(p.share), f"Of {p.total:,} customers."),
                ("Their mean score", score,
                 f"From {p.score_n:,} survey answers; everyone in view: "
                 + ("–" if p.overall_score is None else f"{p.overall_score:.2f}") + "."),
            ])
            widgets.csv_download(p.ids, f"Download their {p.customers:,} customer ids (CSV)",
                                 f"customers_{who}", key="drill_ids")
            left, right = st.columns(2)
            with left:
                st.markdown("**Personas** (share of them against everyone in view)")
                if p.personas.empty:
                    st.caption("No personas for this dataset.")
                else:
                    st.dataframe(p.personas, hide_index=True, width="stretch", column_config=_share_columns(),
                                 column_order=("persona", "customers", "share", "share_overall"))
                st.markdown("**What sets them apart** (customer attributes)")
                if p.attributes.empty and p.numbers.empty:
                    st.caption("The dataset has no customer attributes to compare; add a customers file.")
                else:
                    if not p.attributes.empty:
                        st.dataframe(p.attributes.head(8), hide_index=True, width="stretch",
                                     column_order=("attribute", "value", "share", "share_overall", "difference"),
                                     column_config={**_share_columns(), "attribute": "Attribute", "value": "Value",
                                                    "difference": st.column_config.NumberColumn(
                                                        "Difference", format="percent",
                                                        help="Share of them minus share of everyone.")})
                    if not p.numbers.empty:
                        st.dataframe(p.numbers, hide_index=True, width="stretch", column_config={
                            "attribute": "Attribute", "mean": "Their mean", "mean_overall": "Everyone's mean",
                            "n": st.column_config.NumberColumn("With a value", help="Of them, with a value.")})
            with right:
                near = p.neighbours
                for direction, title in (("next", "Where they went next"), ("previous", "Where they came from")):
                    part = near[near["direction"] == direction].drop(columns="direction").head(8)
                    st.markdown(f"**{title}**")
                    if part.empty:
                        st.caption("Not known: no event marks this step in their journeys.")
                    else:
                        st.dataframe(part, hide_index=True, width="stretch",
                                     column_config={"node": "Step", "customers": "Customers",
                                                    "share": st.column_config.ProgressColumn(
                                                        "Share", format="percent", min_value=0.0, max_value=1.0)})
            st.markdown("**What they said** (lowest scores first)")
            if p.comments.empty:
                st.caption("None of them left a comment.")
            else:
                shown = [c for c in ("score", "stage", "touchpoint", "persona", "comment") if p.comments[c].notna().any()]
                st.dataframe(p.comments[shown], hide_index=True, width="stretch",
                             column_config={"comment": st.column_config.TextColumn("Comment", width="large")})


def _share_columns() -> dict:
    return {"persona": "Persona", "customers": st.column_config.NumberColumn("Customers", width="small"),
            "share": st.column_config.NumberColumn("Of them", format="percent", width="small"),
            "share_overall": st.column_config.NumberColumn("Of everyone", format="percent", width="small")}
