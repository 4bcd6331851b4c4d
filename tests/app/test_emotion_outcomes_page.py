"""Emotions and Personas pages: outcomes per stage and persona, a survey-only upload, and a
period comparison restored from the link."""

import json

import numpy as np
import pandas as pd

from tests.app.test_app import active_id, no_exceptions


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
    # Per persona: one dot per persona, their answers adding up to everyone's.
    app.segmented_control(key="e_outcome_by").set_value("persona").run()
    no_exceptions(app)
    dots = titled(app, "NPS by persona")[0]["data"][0]
    personas = app.multiselect(key="flt_personas").options
    named = [y.rsplit(" (n=", 1)[0] for y in dots["y"]]
    assert set(named) <= set(personas) | {"(unassigned)"} and len(named) >= 2
    answered = survey.groupby("customer_id")["nps"].size().size
    assert sum(int(y.rsplit("(n=", 1)[1].rstrip(")").replace(",", "")) for y in dots["y"]) == answered


def survey_only_csv() -> bytes:
    """A wide survey with no events: one 1-5 rating column per service and a yes/no outcome."""
    rng = np.random.default_rng(3)
    n = 60
    frame = pd.DataFrame({"id": range(1000, 1000 + n), "Class": rng.choice(["Eco", "Business"], n),
                          "Age": rng.integers(18, 80, n)})
    for name in ("Online booking", "Checkin service", "Seat comfort", "Baggage handling"):
        frame[name] = rng.integers(1, 6, n)
    frame["satisfaction"] = np.where(frame["Seat comfort"] >= 4, "satisfied", "neutral or dissatisfied")
    return frame.to_csv(index=False).encode()


def test_survey_only_upload_fills_emotions_and_personas(app):
    app.run()
    app.switch_page("pages/data.py").run()
    app.radio(key="d_mode").set_value("Separate files").run()
    app.file_uploader(key="up_survey_Sep").set_value(("passengers.csv", survey_only_csv(), "text/csv")).run()
    no_exceptions(app)
    app.button(key="d_use").click().run()
    no_exceptions(app)
    assert not app.error, [e.value for e in app.error]
    app.switch_page("pages/emotions.py").run()
    no_exceptions(app)
    curve = figures(app)[0]
    ys = [y for t in curve["data"] if t.get("mode") == "lines+markers" for y in values(t["y"])]
    assert ys and all(1 <= y <= 5 for y in ys if y == y)
    options = app.selectbox(key="e_outcome").options
    # No NPS question in this survey: no NPS offered.
    assert options == ["CSAT (share scoring 4 or more of 1 to 5)", "satisfaction"], options
    app.selectbox(key="e_outcome").set_value("col:satisfaction").run()
    no_exceptions(app)
    sat = titled(app, "satisfaction")
    frame = pd.read_csv(__import__("io").BytesIO(survey_only_csv()))
    share = 100 * (frame["satisfaction"] == "satisfied").mean()  # everyone answered at every stage shown
    got = values(sat[0]["data"][0]["x"])
    assert got and all(abs(x - share) < 1e-9 for x in got), (got, share)
    captions = [c.value for c in app.caption]
    assert "In view: **240 survey answers**" in captions and not any("0 customers" in c for c in captions)
    assert any("needs touchpoint events" in c for c in captions)
    app.switch_page("pages/personas.py").run()
    no_exceptions(app)
    text = " ".join(m.value for m in app.markdown)
    assert "of customers" in text and "(0)" not in text


def test_period_comparison_on_emotions_is_restored_from_the_link(app, small_sample):
    survey = pd.read_csv(small_sample / "survey.csv", parse_dates=["timestamp"])
    day = survey["timestamp"].dt.date
    periods = {"a": ("2026-03-01", "2026-04-30"), "b": ("2026-05-01", "2026-06-30")}
    app.query_params["cmp"] = "Two periods"
    app.query_params["cmp_a_dates"] = list(periods["a"])
    app.query_params["cmp_b_dates"] = list(periods["b"])
    app.switch_page("pages/emotions.py").run()
    no_exceptions(app)
    assert app.selectbox(key="cmp").value == "period"
    curves = titled(app, "How customers feel")[0]
    lines = {t["name"]: t for t in curves["data"] if t.get("mode") == "lines+markers"}
    assert set(lines) == {f"{lo} to {hi}" for lo, hi in periods.values()}, set(lines)
    # Each period's mean per stage equals pandas on the answers of those days.
    for lo, hi in periods.values():
        part = survey[(day >= pd.Timestamp(lo).date()) & (day <= pd.Timestamp(hi).date())]
        means = part.dropna(subset=["score"]).groupby("stage")["score"].mean()
        line = lines[f"{lo} to {hi}"]
        got = dict(zip(line["x"], values(line["y"])))
        shown = {k: v for k, v in got.items() if v == v}
        assert shown and all(abs(v - means[k]) < 1e-9 for k, v in shown.items()), (shown, means.to_dict())
    assert titled(app, "Mean score")


def test_csat_of_two_periods_on_emotions_equals_pandas_and_scipy(app, small_sample):
    from scipy import stats

    survey = pd.read_csv(small_sample / "survey.csv", parse_dates=["timestamp"])
    day = survey["timestamp"].dt.date
    periods = [("2026-03-01", "2026-04-30"), ("2026-05-01", "2026-06-30")]
    app.query_params["cmp"] = "Two periods"
    app.query_params["cmp_a_dates"] = list(periods[0])
    app.query_params["cmp_b_dates"] = list(periods[1])
    app.switch_page("pages/emotions.py").run()
    no_exceptions(app)
    chart = titled(app, "CSAT")
    assert len(chart) == 1, "one CSAT difference chart"
    points = chart[0]["data"][0]
    diffs = dict(zip(points["y"], values(points["x"])))  # percentage points, b minus a
    p_values = {}
    counts = []
    for lo, hi in periods:
        part = survey[(day >= pd.Timestamp(lo).date()) & (day <= pd.Timestamp(hi).date())].dropna(subset=["score"])
        counts.append(part.groupby("stage")["score"].agg(n="size", top=lambda s: int((s >= 4).sum())))
    (ca, cb) = counts
    for stage in diffs:
        xa, na = ca.loc[stage, "top"], ca.loc[stage, "n"]
        xb, nb = cb.loc[stage, "top"], cb.loc[stage, "n"]
        assert abs(diffs[stage] - 100 * (xb / nb - xa / na)) < 1e-9
        p_values[stage] = stats.chi2_contingency([[xa, na - xa], [xb, nb - xb]], correction=False).pvalue
    assert set(diffs) == set(ca.index) & set(cb.index)
    # Marked where the test says so, and only there.
    for stage, label in zip(points["y"], points["text"]):
        assert (("▲" in label) or ("▼" in label)) == (p_values[stage] < 0.05), (stage, label, p_values[stage])


def test_persona_shares_of_two_periods(app, small_sample):
    app.query_params["cmp"] = "Two periods"
    app.query_params["cmp_a_dates"] = ["2026-03-01", "2026-04-30"]
    app.query_params["cmp_b_dates"] = ["2026-05-01", "2026-06-30"]
    app.switch_page("pages/personas.py").run()
    no_exceptions(app)
    assert app.selectbox(key="cmp").value == "period"
    fig = titled(app, "Share of each persona")[0]
    a, b = fig["data"][0], fig["data"][1]
    shares_a, shares_b = values(a["x"]), values(b["x"])
    assert abs(sum(shares_a) - 1) < 1e-9 and abs(sum(shares_b) - 1) < 1e-9
    # The first view's customers: those with events in March-April, by hand.
    events = pd.read_csv(small_sample / "touchpoints.csv", parse_dates=["timestamp"])
    day = events["timestamp"].dt.date
    n_a = events.loc[(day >= pd.Timestamp("2026-03-01").date()) & (day <= pd.Timestamp("2026-04-30").date()),
                     "customer_id"].nunique()
    assert a["name"].endswith(f"(n={n_a:,})"), a["name"]
    assert any("differs significantly" in c.value or "Significant" in c.value for c in app.caption)
