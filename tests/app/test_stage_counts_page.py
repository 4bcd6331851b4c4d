"""The Journeys and journey-map pages through AppTest: one count per stage on both pages,
the goal's name instead of "purchase", what to set when there is no goal, and empty
states that do not blame filters nobody set."""

import base64
import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from journeylib import workspace
from journeylib.ingest import load_journey
from journeylib.journey import Goal, JourneyModel


def no_exceptions(at):
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def figures(at) -> list[go.Figure]:
    return [pio.from_json(c.proto.spec) for c in at.get("plotly_chart")]


def values(v) -> list:
    """A trace's array as Plotly's JSON gives it (a list, or typed bytes)."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).tolist()
    return list(v)


def figure(at, title: str) -> go.Figure:
    found = [f for f in figures(at) if str(f.layout.title.text or "").startswith(title)]
    assert found, [str(f.layout.title.text)[:40] for f in figures(at)]
    return found[0]


def top_paths(at) -> go.Figure:
    """Open the Journeys page's Top paths tab (drawn only when chosen) and return its chart."""
    at.query_params["j_tab"] = "Top paths"
    at.session_state["j_tab"] = "Top paths"
    at.run()
    no_exceptions(at)
    return figure(at, "Most common paths")


def all_text(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    parts += [w.value for w in at.warning] + [m.label + " " + m.value for m in at.metric]
    for f in figures(at):
        parts.append(f.to_json())
    return "\n".join(parts)


def use(app, small_sample, tmp_path, name, journey, drop_stages=False):
    """Save a dataset in the app's workspace and make it the active one, then rerun."""
    events = pd.read_csv(small_sample / "touchpoints.csv")
    if drop_stages:
        events = events.drop(columns=["stage"])
    data = load_journey(touchpoints=events, journey=journey)
    info = workspace.save_dataset(data, name, root=tmp_path / "workspace")
    app.session_state["_next_dataset_id"] = info.id  # as ui.state.set_active does
    app.run()
    no_exceptions(app)


def map_headers(fig: go.Figure) -> dict[str, int]:
    out = {}
    for a in fig.layout.annotations:
        m = re.search(r"<b>([^<]+)</b>.*?([\d,]+) reached", a.text or "")
        if m:
            out[m.group(1)] = int(m.group(2).replace(",", ""))
    return out


def test_every_page_counts_customers_at_a_stage_the_same_way(app):
    app.run()
    no_exceptions(app)
    funnel = figure(app, "Funnel towards Purchase").data[0]
    counts = {y.removesuffix(" (goal)"): int(x) for y, x in zip(values(funnel.y), values(funnel.x))}
    assert list(counts) == ["Awareness", "Consideration", "Intent", "Purchase"]
    assert list(counts.values()) == sorted(counts.values(), reverse=True)
    reached = next(m.value for m in app.metric if m.label == "Reached Purchase")
    customers = int(next(m.value for m in app.metric if m.label == "Customers in view").replace(",", ""))
    assert reached == f"{counts['Purchase'] / customers:.0%}"
    paths = top_paths(app)
    assert "reached Purchase" in paths.to_json() and "purchase" not in paths.to_json()

    app.switch_page("pages/journey_map.py").run()
    no_exceptions(app)
    headers = map_headers(figure(app, "Journey map"))
    assert {s: n for s, n in headers.items() if s in counts} == counts
    shown = list(headers.values())
    assert shown == sorted(shown, reverse=True)  # never more at a later stage
    # The map's items as a table: blanks, never "None".
    table = app.dataframe[0].value
    assert not table.astype(str).isin(["None", "nan", "<NA>"]).any().any()


def test_without_a_goal_the_pages_say_what_to_set(app, small_sample, tmp_path):
    app.run()  # the first start imports the sample; the dataset below is newer
    use(app, small_sample, tmp_path, "No goal", JourneyModel.default().with_goal(None))
    assert next(m.value for m in app.metric if m.label == "Goal") == "not set"
    text = all_text(app)
    assert "Name a goal on the Data page" in text and "Funnel by stage (no goal set)" in text
    paths = top_paths(app)
    shown = " ".join(values(paths.data[0].text)) + " " + paths.layout.title.text
    # Each bar says its share and customers, nothing about a goal (no "0% reached").
    assert "reached" not in shown and not re.search(r"(?<![\d.])0%", shown)
    assert not re.search(r"purchas", " ".join(m.label + m.value for m in app.metric) + shown, re.I)
    app.switch_page("pages/journey_map.py").run()
    no_exceptions(app)
    assert any("Drop-off needs a goal" in c.value for c in app.caption)
    assert "leave without" not in figure(app, "Journey map").to_json()


def test_a_touchpoint_goal_is_named_everywhere(app, small_sample, tmp_path):
    app.run()
    use(app, small_sample, tmp_path, "Own goal", JourneyModel.default().with_goal(
        Goal("touchpoint", "Checkout", name="Checked out")))
    assert "Reached Checked out" in [m.label for m in app.metric]
    funnel = figure(app, "Funnel towards Checked out").data[0]
    assert funnel.y[-1] == "Checked out (goal)"
    assert "reached Checked out" in top_paths(app).to_json()


def test_empty_states_do_not_blame_filters_nobody_set(app, small_sample, tmp_path):
    app.run()
    use(app, small_sample, tmp_path, "No stages", JourneyModel(stages=("Apply", "Decide")), drop_stages=True)
    text = all_text(app)
    assert "current filters" not in text
    assert any("no stages to count" in i.value and "stage rules" in i.value for i in app.info)
    app.switch_page("pages/journey_map.py").run()
    no_exceptions(app)
    text = all_text(app)
    assert "current filters" not in text
    assert any("touchpoint -> stage rules" in i.value for i in app.info)
