"""The journey map page and present mode, driven through AppTest on the small sample."""

import json

import pytest

from journeylib.ingest import load_journey
from journeylib.journey_map import build_journey_map
from ui import present
from ui.present import md_escape

PAGE = "pages/journey_map.py"


def no_exceptions(at):
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def figure_json(at, i=0) -> dict:
    return json.loads(at.get("plotly_chart")[i].proto.spec)


def open_page(app):
    app.run()
    no_exceptions(app)
    app.switch_page(PAGE).run()
    no_exceptions(app)
    return app


@pytest.fixture
def expected_map(small_sample):
    data = load_journey(**{k: str(small_sample / f"{k}.csv") for k in ("touchpoints", "survey", "customers")})
    return build_journey_map(data)


def test_journey_map_page_renders_map_pains_drivers_and_exports(app, expected_map):
    at = open_page(app)
    assert at.title[0].value == "Journey map"
    assert [s.value for s in at.subheader] == ["Pain points", "Opportunities", "Key drivers", "Share"]
    assert len(at.get("plotly_chart")) == 2  # journey map, pain points; key drivers wait until opened
    spec = figure_json(at, 0)
    texts = " ".join(a.get("text", "") for a in spec["layout"]["annotations"])
    for stage in expected_map.stages:
        assert stage in texts
    assert f"{expected_map.customers:,} customers" in spec["layout"]["title"]["text"]
    # The pain points' legend names the goal, as the caption under it does.
    parts = [t.get("name", "") for t in figure_json(at, 1)["data"]]
    assert "customers who left without Purchase" in parts, parts
    # The opportunities list is the library's sentences, in order.
    listed = next(m.value for m in at.markdown if m.value.startswith("1. "))
    for i, sentence in enumerate(expected_map.opportunities["sentence"], 1):
        assert f"{i}. {md_escape(sentence)}" in listed
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download report" in labels and "Download deck" in labels
    assert labels.count("PNG") == 2 and labels.count("SVG") == 2
    at.session_state["jm_drivers_open"] = True  # the user opens "What drives the outcome?"
    at.run()
    no_exceptions(at)
    assert len(at.get("plotly_chart")) == 3
    assert "Key drivers of Purchase" in figure_json(at, 2)["layout"]["title"]["text"]
    assert [b.proto.label for b in at.get("download_button")].count("PNG") == 3


def test_key_drivers_are_estimated_only_when_shown(app, monkeypatch):
    import journeylib.insights as insights

    calls = []
    real_drivers, real_outcomes = insights.key_drivers, insights.driver_outcomes
    monkeypatch.setattr(insights, "key_drivers", lambda *a, **k: calls.append("drivers") or real_drivers(*a, **k))
    monkeypatch.setattr(insights, "driver_outcomes",
                        lambda *a, **k: calls.append("outcomes") or real_outcomes(*a, **k))
    at = open_page(app)
    channel = at.multiselect(key="flt_channels").options[0] if [m for m in at.multiselect
                                                                if m.key == "flt_channels"] else None
    if channel:
        at.multiselect(key="flt_channels").set_value([channel]).run()
        no_exceptions(at)
    assert calls == []
    at.session_state["jm_drivers_open"] = True
    at.run()
    no_exceptions(at)
    assert "drivers" in calls and "outcomes" in calls


def test_choosing_a_persona_redraws_the_map_for_it(app):
    at = open_page(app)
    options = at.selectbox(key="jm_persona").options
    assert options[0] == "All customers" and len(options) >= 3
    persona = options[1]
    at.selectbox(key="jm_persona").set_value(persona).run()
    no_exceptions(at)
    title = figure_json(at, 0)["layout"]["title"]["text"]
    assert persona in title


def test_present_mode_steps_through_the_key_charts(app):
    at = open_page(app)
    at.button(key="present_on").click().run()
    no_exceptions(at)
    assert at.query_params.get("present") in ("1", ["1"])
    css = " ".join(h.proto.body for h in at.get("html"))
    assert 'section[data-testid="stSidebar"]' in css and "display: none" in css  # sidebar hidden
    seen = []
    for _ in range(5):
        seen.append(at.header[0].value)
        assert len(at.get("plotly_chart")) == 1  # one chart at a time
        # Page controls hidden; the persona picker (in the link) is present mode's own. The
        # comparison control is kept, out of sight, so a comparison set on the page holds.
        assert {s.key for s in at.selectbox} <= {"dataset_id", "jm_persona", "cmp"}
        assert f".st-key-{present.HIDDEN_CONTROLS} {{display: none !important;}}" in css
        assert not [b for b in at.button if b.key == "present_on"]
        if not at.button(key="present_next").disabled:
            at.button(key="present_next").click().run()
            no_exceptions(at)
    assert seen == ["Journey map", "How customers feel", "How customers move", "Pain points", "Key drivers"]
    assert at.button(key="present_next").disabled
    at.button(key="present_prev").click().run()
    assert at.header[0].value == "Pain points"
    # Large fonts: the slide's figure is scaled up from the page's.
    font = figure_json(at, 0)["layout"]["font"]["size"]
    assert font > 14
    at.button(key="present_off").click().run()
    no_exceptions(at)
    assert at.title[0].value == "Journey map"
    assert "present" not in at.query_params


def test_a_link_with_present_opens_in_present_mode(app):
    app.query_params["present"] = "1"
    at = open_page(app)
    assert at.header[0].value == "Journey map"
    assert at.button(key="present_prev").disabled and not at.button(key="present_next").disabled


def test_a_period_comparison_adds_the_what_changed_lane(app, small_sample):
    from journeylib import compare
    from journeylib.journey_map import changed_text

    at = open_page(app)
    at.selectbox(key="cmp").set_value("period").run()  # the user picks "Two periods"
    no_exceptions(at)
    (a0, a1), (b0, b1) = at.date_input(key="cmp_a_dates").value, at.date_input(key="cmp_b_dates").value
    data = load_journey(**{k: str(small_sample / f"{k}.csv") for k in ("touchpoints", "survey", "customers")})
    a = compare.apply_view(data, f"from={a0.isoformat()},to={a1.isoformat()}")
    b = compare.apply_view(data, f"from={b0.isoformat()},to={b1.isoformat()}")
    expected = compare.what_changed(a, b)
    assert len(expected)
    texts = " ".join(x.get("text", "") for x in figure_json(at, 0)["layout"]["annotations"])
    assert "What changed" in texts
    # One ▲/▼ per significant difference (p < 0.05), and every measure of the lane is named.
    marks = sum(changed_text(r)[0][0] in "▲▼" for r in expected.itertuples())
    assert texts.count("▲") + texts.count("▼") == marks == int(expected["significant"].sum())
    flat = texts.replace("<br>", " ")
    assert all(changed_text(r)[0].lstrip("▲▼ ").split()[0] in flat for r in expected.itertuples())
