"""Emotions page: stages without answers are named, and the band breaks there."""

import json
import shutil

import numpy as np
import pandas as pd

from journeylib import charts
from ui import gaps


def curve_with_gap():
    # Persona A answered at Awareness, Consideration, Purchase, Retention but not Intent;
    # B everywhere except Retention.
    stages = ["Awareness", "Consideration", "Intent", "Purchase", "Retention"]
    rows = [("A", s, 3.0, 2.5, 3.5, 50) for s in stages if s != "Intent"]
    rows += [("B", s, 2.0, 1.5, 2.5, 40) for s in stages if s != "Retention"]
    frame = pd.DataFrame(rows, columns=["persona", "stage", "mean", "ci_low", "ci_high", "n"])
    frame["low_n"] = False
    # As emotions.emotion_curve returns it: in stage order.
    frame = frame.sort_values("stage", key=lambda s: s.map(stages.index), kind="stable").reset_index(drop=True)
    return frame, stages


def test_missing_stages_and_sentence():
    frame, stages = curve_with_gap()
    missing = gaps.missing_stages(frame, stages)
    assert missing == {"A": ["Intent"], "B": ["Retention"]}
    text = gaps.sentence(missing)
    assert "at Intent for A" in text and "at Retention for B" in text
    everyone = gaps.missing_stages(frame[frame["stage"] != "Awareness"], stages)
    assert "at Awareness for everyone shown" in gaps.sentence(everyone)
    alone = frame[frame["persona"] == "A"].assign(persona="all")
    assert gaps.sentence(gaps.missing_stages(alone, stages)).startswith("No survey answers at Intent.")


def test_band_breaks_at_the_gap():
    frame, stages = curve_with_gap()
    fig = charts.emotion_curve(frame, colors={"A": "#0072B2", "B": "#E69F00"})
    a_bands = [t for t in fig.data if t.legendgroup == "A" and t.fill == "tonexty"]
    # A: Awareness-Consideration, then Purchase-Retention; no band touches Intent.
    assert [list(t.x) for t in a_bands] == [["Awareness", "Consideration"], ["Purchase", "Retention"]]
    line = next(t for t in fig.data if t.name == "A")
    assert np.isnan(line.y[2])  # the mean line breaks too
    b_bands = [t for t in fig.data if t.legendgroup == "B" and t.fill == "tonexty"]
    assert [list(t.x) for t in b_bands] == [["Awareness", "Consideration", "Intent", "Purchase"]]


def test_page_names_stages_without_answers(app, small_sample, tmp_path, monkeypatch):
    folder = tmp_path / "sample_gap"
    shutil.copytree(small_sample, folder)
    survey = pd.read_csv(folder / "survey.csv")
    survey[survey["stage"] != "Intent"].to_csv(folder / "survey.csv", index=False)
    import ui.cache

    monkeypatch.setattr(ui.cache, "SAMPLE_DIR", folder)
    app.run()
    app.switch_page("pages/emotions.py").run()
    assert not app.exception, [e.message for e in app.exception]
    assert any("No survey answers at Intent" in w.value for w in app.warning), [w.value for w in app.warning]
    fig = json.loads(app.get("plotly_chart")[0].proto.spec)
    bands = [t for t in fig["data"] if t.get("fill") == "tonexty"]
    assert bands and all("Intent" not in t["x"] for t in bands)
    # Intent stays on the axis, as a gap in every line.
    lines = [t for t in fig["data"] if t.get("mode") == "lines+markers"]
    assert lines and all("Intent" in t["x"] for t in lines)


def test_with_gaps_keeps_the_stage_on_the_axis():
    frame, stages = curve_with_gap()
    drawn = gaps.with_gaps(frame[frame["persona"] == "A"], stages + ["Advocacy"])
    # Intent (inside the answered range) is added empty; Advocacy (after the last answer) is not.
    assert drawn["stage"].tolist() == stages
    assert drawn.loc[drawn["stage"] == "Intent", "n"].tolist() == [0]
    fig = charts.emotion_curve(drawn)
    line = next(t for t in fig.data if t.mode == "lines+markers")
    assert list(line.x) == stages and np.isnan(line.y[2])
    assert [list(t.x) for t in fig.data if t.fill == "tonexty"] == [["Awareness", "Consideration"],
                                                                     ["Purchase", "Retention"]]


def test_channel_filter_reuses_the_survey_results(app, monkeypatch):
    """Channels filter events only: changing them must not recompute the answers' curve
    (a million-customer rerun); a persona filter, which does change the answers, must."""
    from journeylib import emotions

    calls = []
    real = emotions.emotion_curve

    def counted(*args, **kwargs):
        calls.append(kwargs.get("personas") is not None)
        return real(*args, **kwargs)

    monkeypatch.setattr(emotions, "emotion_curve", counted)
    app.run()
    app.switch_page("pages/emotions.py").run()
    assert not app.exception, [e.message for e in app.exception]
    before = len(calls)
    events_before = app.sidebar.caption[-1].value
    channels = app.multiselect(key="flt_channels")
    channels.set_value(list(channels.options)[:1]).run()
    assert not app.exception, [e.message for e in app.exception]
    assert app.sidebar.caption[-1].value != events_before  # the view did change
    assert len(calls) == before
    personas = app.multiselect(key="flt_personas")
    personas.set_value(list(personas.options)[:1]).run()
    assert not app.exception, [e.message for e in app.exception]
    assert len(calls) == before + 1
