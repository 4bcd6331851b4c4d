"""Emotions and Personas pages: outcomes per stage and persona, a survey-only upload, and a
period comparison restored from the link."""

import json

import numpy as np
import pandas as pd

from tests.app.test_app import active_id, no_exceptions, upload_and_use


def values(arr):
    """A Plotly JSON array: a list, or the typed binary form ({"dtype", "bdata"})."""
    if isinstance(arr, dict) and "bdata" in arr:
        import base64

        return np.frombuffer(base64.b64decode(arr["bdata"]), dtype=arr["dtype"]).tolist()
    return list(arr)


def figures(app):
    return [json.loads(c.proto.spec) for c in app.get("plotly_chart")]


def titled(app, words):
    return [f for f in figures(app) if words in json.dumps(f.get("layout", {}).get("title", {}))]


def test_nps_per_stage_on_the_sample(app, small_sample):
    app.run()
    app.switch_page("pages/emotions.py").run()
    no_exceptions(app)
    app.selectbox(key="e_outcome").set_value("nps").run()
    no_exceptions(app)
    fig = titled(app, "NPS by stage")
    assert fig, [f["layout"].get("title") for f in figures(app)]
    trace = fig[0]["data"][0]
    # The sample repeats each customer's NPS on each answer: count them once per stage by hand.
    survey = pd.read_csv(small_sample / "survey.csv").dropna(subset=["nps"])
    first = survey["stage"].dropna().iloc[0]
    here = survey[survey["stage"] == first].sort_values(["timestamp", "nps"], ascending=[True, False])
    at = here.groupby("customer_id")["nps"].last()
    value = 100 * ((at >= 9).mean() - (at <= 6).mean())
    row = next(i for i, y in enumerate(trace["y"]) if y.startswith(f"{first} (n={len(at):,})"))
    assert abs(values(trace["x"])[row] - value) < 1e-6
