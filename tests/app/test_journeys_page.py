"""Journeys page through AppTest: a comparison of two periods restored from the URL, and
drill-downs whose customer count and downloaded ids equal what pandas counts on the sample."""

from __future__ import annotations

import base64
import datetime as dt
import io

import numpy as np
import pandas as pd
import pytest
from scipy import stats

STAGES = ["Awareness", "Consideration", "Intent", "Purchase", "Retention", "Advocacy"]


def no_exceptions(at):
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


@pytest.fixture
def downloads(monkeypatch):
    """The files behind download buttons (AppTest keeps them in a media store per run)."""
    import streamlit.testing.v1.app_test as app_test
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    stores = []

    class Recording(MemoryMediaFileStorage):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            stores.append(self)

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", Recording)

    def read(button) -> bytes:
        return stores[-1].get_file(button.proto.url.rsplit("/", 1)[-1]).content

    return read


def ordered(events: pd.DataFrame) -> pd.DataFrame:
    ev = events.assign(timestamp=pd.to_datetime(events["timestamp"]), seq=range(len(events)))
    return ev.sort_values(["customer_id", "timestamp", "seq"])


def test_a_period_comparison_is_restored_from_the_url(app, sample_events):
    app.query_params["cmp"] = "Two periods"
    app.query_params["cmp_a_dates"] = ["2026-03-01", "2026-04-30"]
    app.query_params["cmp_b_dates"] = ["2026-05-01", "2026-06-30"]
    app.run()
    no_exceptions(app)
    assert app.selectbox(key="cmp").value == "period"
    assert app.date_input(key="cmp_b_dates").value == (dt.date(2026, 5, 1), dt.date(2026, 6, 30))
    ev = ordered(sample_events)
    day = ev["timestamp"].dt.date
    expected = {}
    for side, (lo, hi) in {"a": ("2026-03-01", "2026-04-30"), "b": ("2026-05-01", "2026-06-30")}.items():
        part = ev[(day >= dt.date.fromisoformat(lo)) & (day <= dt.date.fromisoformat(hi))]
        furthest = part["stage"].map({s: i for i, s in enumerate(STAGES)}).groupby(part["customer_id"]).max()
        expected[side] = (len(furthest), int((furthest >= STAGES.index("Purchase")).sum()))
        assert metric(app, f"Customers: {lo} to {hi}") == f"{expected[side][0]:,}"
    table = next(d.value for d in app.dataframe if "p_value" in d.value.columns)
    row = table[(table["measure"] == "reached") & (table["stage"] == "Purchase")].iloc[0]
    (na, xa), (nb, xb) = expected["a"], expected["b"]
    assert (row["n_a"], row["n_b"]) == (na, nb)
    assert row["a"] == pytest.approx(xa / na) and row["b"] == pytest.approx(xb / nb)
    pooled = (xa + xb) / (na + nb)
    z = (xb / nb - xa / na) / np.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
    assert row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)))


def test_a_sankey_link_drill_down_from_the_url_counts_and_downloads_its_customers(app, sample_events, downloads):
    ev = ordered(sample_events)
    ev["k"] = ev.groupby("customer_id").cumcount() + 1
    first = ev[ev["k"] == 1].set_index("customer_id")["touchpoint"]
    second = ev[ev["k"] == 2].set_index("customer_id")["touchpoint"]
    pairs = pd.DataFrame({"a": first, "b": second}).dropna()
    (a, b), n = pairs.value_counts().index[0], int(pairs.value_counts().iloc[0])
    expected = sorted(pairs[(pairs["a"] == a) & (pairs["b"] == b)].index)
    assert n == len(expected) > 1
    for key, value in {"drill": "sankey", "drill_step": "1", "drill_node": a, "drill_to": b}.items():
        app.query_params[key] = value
    app.run()
    no_exceptions(app)
    assert metric(app, "Customers") == f"{n:,}"
    assert app.selectbox(key="pick_sankey").value == f"1\t{a}\t{b}"  # the picker shows the pick
    button = next(x for x in app.get("download_button") if "customer ids" in x.proto.label)
    got = pd.read_csv(io.BytesIO(downloads(button)), encoding="utf-8-sig")
    assert sorted(got["customer_id"]) == expected


def test_picking_a_node_and_a_funnel_step(app, sample_events):
    app.run()
    no_exceptions(app)
    assert not [m for m in app.metric if m.label == "Their mean score"]  # no pick yet: no panel
    ev = ordered(sample_events)
    ev["k"] = ev.groupby("customer_id").cumcount() + 1
    name = ev.loc[ev["k"] == 2, "touchpoint"].value_counts().index[0]  # kept, never (other)
    app.selectbox(key="pick_sankey").set_value(f"2\t{name}").run()
    no_exceptions(app)
    assert metric(app, "Customers") == f"{int(((ev['k'] == 2) & (ev['touchpoint'] == name)).sum()):,}"
    assert app.query_params["drill"] == "sankey" and app.query_params["drill_node"] == name
    app.button(key="drill_close").click().run()
    assert "drill" not in app.query_params
    # Customers who reached Intent and went no further, from a link.
    app.query_params["drill"] = "dropped"
    app.query_params["drill_node"] = "Intent"
    app.session_state["_drill_restored"] = False
    app.run()
    no_exceptions(app)
    furthest = ev["stage"].map({s: i for i, s in enumerate(STAGES)}).groupby(ev["customer_id"]).max()
    assert metric(app, "Customers") == f"{int((furthest == STAGES.index('Intent')).sum()):,}"


def test_pain_points_are_listed_once_their_expander_is_opened(app):
    app.run()
    no_exceptions(app)
    assert not [s for s in app.selectbox if s.key == "pick_pain"]  # closed: not computed
    assert any(e.label == "Or drill into a pain point" for e in app.expander)
    app.session_state["pick_pain_open"] = True
    app.run()
    box = app.selectbox(key="pick_pain")
    first = box.options[1]
    assert first != "Pick a pain point…"
    what = first.split(": ", 1)[0]
    raw = f"stage\t{what[4:-6]}" if what.startswith("the ") else f"touchpoint\t{what[1:what.rindex(' (') - 1]}"
    box.set_value(raw).run()
    no_exceptions(app)
    assert app.query_params["drill"].startswith("pain_")
    # The panel counts the customers the picker named.
    named = first.split(": ", 1)[1].split(" customers", 1)[0]
    assert metric(app, "Customers") == named


def test_a_pain_point_of_the_second_period_drills_into_its_customers(app, sample_events):
    periods = {"a": ("2026-03-01", "2026-04-30"), "b": ("2026-05-01", "2026-06-30")}
    app.query_params["cmp"] = "Two periods"
    app.query_params["cmp_a_dates"] = list(periods["a"])
    app.query_params["cmp_b_dates"] = list(periods["b"])
    app.run()
    no_exceptions(app)
    # Each side's pain points are ranked only once the list is opened.
    assert not [s for s in app.selectbox if s.key in ("pick_pain_a", "pick_pain_b")]
    app.session_state["cmp_pains_open"] = True
    app.run()
    no_exceptions(app)
    picker = app.selectbox(key="pick_pain_b")
    option = next(o for o in picker.options if o.startswith("'"))  # a touchpoint pain point
    value = next(v for v in ["", *[f"touchpoint\t{n}" for n in sample_events["touchpoint"].dropna().unique()]]
                 if v and picker.format_func(v) == option)
    name = value.split("\t", 1)[1]
    picker.set_value(value).run()
    no_exceptions(app)
    ev = ordered(sample_events)
    day = ev["timestamp"].dt.date
    lo, hi = (dt.date.fromisoformat(x) for x in periods["b"])
    part = ev[(day >= lo) & (day <= hi)]
    assert metric(app, "Customers") == f"{part.loc[part['touchpoint'] == name, 'customer_id'].nunique():,}"


def plotly_specs(at) -> list[dict]:
    import json

    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_top_paths_have_their_own_tab_computed_when_opened(app, sample_events):
    """The Flows tab draws the Sankey and the funnel only; the Top paths tab (from a link)
    draws the ten most common stage paths with the customers pandas counts on the sample."""
    app.run()
    no_exceptions(app)
    titles = [s["layout"]["title"]["text"] for s in plotly_specs(app)]
    assert len(titles) == 2 and titles[0].startswith("Customer journeys") and titles[1].startswith("Funnel")
    paths_of = lambda: [b for b in app.get("button_group") if b.proto.label == "Paths of"]  # noqa: E731
    assert not paths_of()

    app.query_params["j_tab"] = "Top paths"
    app.session_state["j_tab"] = "Top paths"
    app.run()
    no_exceptions(app)
    specs = plotly_specs(app)
    assert [s["layout"]["title"]["text"].split("<br>")[0] for s in specs] == ["Most common paths"]
    assert len(paths_of()) == 1
    bars = specs[0]["data"][0]
    got = [(p, int(c)) for c, p in bars["customdata"]]

    ev = ordered(sample_events)
    ev["stage"] = ev["stage"].fillna("(no stage)")
    runs = ev[ev["stage"] != ev.groupby("customer_id")["stage"].shift()]
    per = runs.groupby("customer_id", sort=False)["stage"].agg(list)
    paths = per.map(lambda s: " > ".join(s[:6]) + (" > ..." if len(s) > 6 else ""))
    counts = paths.value_counts().rename_axis("path").reset_index(name="n")
    counts = counts.sort_values(["n", "path"], ascending=[False, True]).head(10)
    assert got == list(zip(counts["path"].str.replace(">", "&gt;"), counts["n"]))
    x = bars["x"]  # Plotly ships numeric arrays as base64 typed arrays
    shares = np.frombuffer(base64.b64decode(x["bdata"]), dtype=x["dtype"]) if isinstance(x, dict) else x
    assert list(shares) == pytest.approx((counts["n"] / len(per)).tolist())
