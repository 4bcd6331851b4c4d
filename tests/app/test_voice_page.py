"""Voice of the customer on the Emotions page (themes, sentiment beside the score, who
answered) and the "why these numbers differ" note on the Journeys page, through AppTest."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from journeylib import voice
from journeylib.flows import count_notes
from journeylib.ingest import load_journey
from ui.present import md_escape

from .test_app import no_exceptions


def sample_data(folder):
    return load_journey(**{k: str(folder / f"{k}.csv") for k in ("touchpoints", "survey", "customers")})


def markdown(at) -> list[str]:
    return [m.value for m in at.markdown]


def test_emotions_page_shows_themes_per_stage_on_the_sample(app, small_sample):
    app.run()
    app.switch_page("pages/emotions.py").run()
    no_exceptions(app)
    assert "Themes in the comments" in [h.value for h in app.subheader]
    # The page highlights what the library finds on the same data.
    data = sample_data(small_sample)
    found = voice.comment_themes(data.survey, by="stage", order=data.stages, scale=data.score_scale)
    highs = voice.theme_highlights(found)
    shown = markdown(app)
    for high in highs.itertuples():
        assert f"**{md_escape(high.group)}**" in shown
        for label in (high.negative, high.positive):
            if pd.notna(label):
                assert any(m.endswith(f"**{md_escape(label)}**") for m in shown), (label, shown[:20])
    assert any(e.label.startswith("Read its ") for e in app.expander)
    # The sentence about who answered is the library's, on the emotion curve.
    expected = voice.coverage_warnings(data)
    assert [w.value for w in app.warning if w.value in expected] == expected
    # Sentiment sits beside the score in the comment table.
    quotes = next(d.value for d in app.dataframe if "comment" in d.value.columns and "sentiment" in d.value.columns)
    assert list(quotes.columns[:7]) == ["customer_id", "persona", "stage", "touchpoint", "score", "sentiment",
                                        "disagrees"]
    assert quotes["sentiment"].between(-1, 1).all()


def test_disagreeing_comments_on_their_own(app):
    app.run()
    app.switch_page("pages/emotions.py").run()
    app.toggle(key="c_disagree").set_value(True).run()
    no_exceptions(app)
    shown = [d.value for d in app.dataframe if "disagrees" in d.value.columns]
    if shown:
        table = shown[0]
        assert table["disagrees"].all()
        top, bottom = table["score"] >= 5 - 4 / 3, table["score"] <= 1 + 4 / 3
        assert ((top & (table["sentiment"] <= -0.05)) | (bottom & (table["sentiment"] >= 0.05))).all()
    else:
        assert any("No comments match" in i.value for i in app.info)


DELIVERY = "parcel courier late delivery tracking driver".split()
STAFF = "staff friendly helpful assistant store smile".split()


def uploaded_files() -> tuple[bytes, bytes]:
    """Events of 60 customers and a survey whose comments at Retention hold two topics."""
    rng = np.random.default_rng(2)
    events, survey = [], []
    for i in range(60):
        cid = f"k{i:03d}"
        events += [(cid, f"2024-03-{1 + i % 20:02d} 10:00", "Homepage", "Awareness"),
                   (cid, f"2024-03-{1 + i % 20:02d} 11:00", "Checkout", "Purchase"),
                   (cid, f"2024-03-{2 + i % 20:02d} 09:00", "Delivery", "Retention")]
        words, score = (DELIVERY, 1) if i % 2 else (STAFF, 5)
        picked = rng.choice(words, 3, replace=False)
        survey.append((cid, "Retention", score, f"The {picked[0]} and the {picked[1]} were {picked[2]}."))
    ev = pd.DataFrame(events, columns=["customer_id", "timestamp", "touchpoint", "stage"])
    sv = pd.DataFrame(survey, columns=["customer_id", "stage", "score", "comment"])
    return ev.to_csv(index=False).encode(), sv.to_csv(index=False).encode()


def test_themes_of_an_uploaded_survey(app):
    app.run()
    app.switch_page("pages/data.py").run()
    app.radio(key="d_mode").set_value("Separate files").run()
    events, survey = uploaded_files()
    app.file_uploader(key="up_touchpoints_Sep").set_value(("events.csv", events, "text/csv"))
    app.file_uploader(key="up_survey_Sep").set_value(("answers.csv", survey, "text/csv")).run()
    no_exceptions(app)
    app.button(key="d_use").click().run()
    no_exceptions(app)
    assert any("is now the active dataset" in s.value for s in app.success), [e.value for e in app.error]
    app.switch_page("pages/emotions.py").run()
    no_exceptions(app)
    shown = markdown(app)
    assert "**Retention**" in shown
    labels = [m.split("**")[1] for m in shown if m.startswith(":material/sentiment_")]
    # The negative theme is the delivery one (scored 1), the positive the staff one (scored 5).
    assert len(labels) == 2
    assert set(labels[0].split(" / ")) <= set(DELIVERY) and set(labels[1].split(" / ")) <= set(STAFF)
    # Only 30 comments per topic: the other stages have none and are not listed.
    assert "**Awareness**" not in shown
    # Every customer answered: there is no one to compare the answerers with.
    assert any("Every customer with events answered" in w.value for w in app.warning)


def test_journeys_page_explains_why_the_numbers_differ(app, small_sample):
    app.run()
    no_exceptions(app)
    assert any(e.label == "Why these numbers differ" for e in app.expander)
    # Its notes are computed once it is opened.
    assert not any("The Sankey counts each customer once" in m.value for m in app.markdown)
    app.session_state["j_why_differ"] = True
    app.run()
    data = sample_data(small_sample)
    # The note speaks of the funnel drawn beside it.
    figures = [json.loads(c.proto.spec) for c in app.get("plotly_chart")]
    funnel = next(t for f in figures for t in f["data"] if t.get("type") == "funnel")
    # The goal's row reads "Purchase (goal)".
    stages = [s.removesuffix(" (goal)") for s in funnel["y"]]
    stages = [s for s in stages if s in data.stages]
    assert len(stages) >= 4
    expected = count_notes(data.events, stages, level="touchpoint", max_steps=5)
    shown = markdown(app)
    for line in expected:
        assert f"- {md_escape(line)}" in shown


def test_themes_of_a_survey_uploaded_alone(app):
    """A survey without events is a journey too: its themes show, and the coverage note says
    that comparing answerers with the rest needs events."""
    app.run()
    app.switch_page("pages/data.py").run()
    app.radio(key="d_mode").set_value("Separate files").run()
    _, survey = uploaded_files()
    app.file_uploader(key="up_survey_Sep").set_value(("answers.csv", survey, "text/csv")).run()
    app.button(key="d_use").click().run()
    no_exceptions(app)
    assert any("is now the active dataset" in s.value for s in app.success), [e.value for e in app.error]
    app.switch_page("pages/emotions.py").run()
    no_exceptions(app)
    # Who answered cannot be checked without events: said as a fact (a caption), not a warning.
    assert any("needs touchpoint events" in c.value for c in app.caption), [c.value for c in app.caption]
    assert not any("needs touchpoint events" in w.value for w in app.warning)
    labels = [m.split("**")[1] for m in markdown(app) if m.startswith(":material/sentiment_")]
    assert len(labels) == 2
    assert set(labels[0].split(" / ")) <= set(DELIVERY) and set(labels[1].split(" / ")) <= set(STAFF)
    table = next(d.value for d in app.dataframe if "answered" in d.value.columns)
    assert "reached" not in table.columns  # no events: reach is not shown as zeros
    assert table.loc[table["persona"] == "all", "answered"].tolist() == [60]
