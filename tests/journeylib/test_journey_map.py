"""The journey-map model on a small hand-made dataset, checked against hand counts."""

import dataclasses

import pandas as pd
import pytest

from journeylib import charts
from journeylib.engine import default_engine
from journeylib.journey_map import EVERYONE, LANES, build_journey_map, for_persona
from journeylib.journey import JourneyModel
from journeylib.schema import JourneyData, ScoreScale

STAGES = ("Awareness", "Consideration", "Purchase")
# customer -> [(stage, touchpoint, channel)]
JOURNEYS = {
    "a": [("Awareness", "Ad", "Social"), ("Consideration", "Product page", "Web"), ("Purchase", "Checkout", "Web")],
    "b": [("Awareness", "Ad", "Social"), ("Consideration", "Product page", "Web")],
    "c": [("Awareness", "Search", "Web"), ("Consideration", "Reviews", "Web"), ("Consideration", "Product page", "App")],
    "d": [("Awareness", "Search", "Web")],
}
# customer, stage, score, comment
SURVEY = [
    ("a", "Awareness", 4, "Nice ads"),
    ("b", "Awareness", 2, "Too many ads"),
    ("c", "Awareness", 5, None),
    ("a", "Consideration", 3, "Fine"),
    ("b", "Consideration", 1, "  Confusing sizes  "),
    ("c", "Consideration", 5, "Great photos"),
    ("a", "Purchase", 5, "Easy"),
]


def make_data():
    rows = []
    for cid, steps in JOURNEYS.items():
        for k, (stage, tp, channel) in enumerate(steps):
            rows.append({"customer_id": cid, "timestamp": pd.Timestamp("2024-03-01") + pd.Timedelta(hours=k),
                         "seq": len(rows), "touchpoint": tp, "stage": stage, "channel": channel})
    events = pd.DataFrame(rows).astype({c: "string" for c in ("customer_id", "touchpoint", "stage", "channel")})
    sv = pd.DataFrame(SURVEY, columns=["customer_id", "stage", "score", "comment"])
    sv["touchpoint"] = pd.Series([None] * len(sv), dtype="string")
    sv["timestamp"] = pd.Series([pd.NaT] * len(sv), dtype="datetime64[us]")
    sv["nps"] = float("nan")
    sv = sv.astype({"customer_id": "string", "stage": "string", "comment": "string", "score": "float64"})
    eng = default_engine()
    return JourneyData(events=eng.table(events), survey=eng.table(sv), journey=JourneyModel.default(STAGES), score_scale=ScoreScale(1, 5))


@pytest.fixture(scope="module")
def jm():
    return build_journey_map(make_data(), min_answers=2, min_n=3)


def lane(jm, name, stage):
    return [(i.text, i.n, i.share) for i in jm.items(name, stage)]


def test_columns_and_reach(jm):
    assert jm.stages == list(STAGES)
    assert jm.customers == 4
    assert jm.stage_customers == {"Awareness": 4, "Consideration": 3, "Purchase": 1}
    assert list(LANES) == ["doing", "channels", "emotion", "nps", "pains", "themes", "opportunities", "quotes", "changed"]


def test_touchpoints_and_channels_with_share_of_stage(jm):
    assert lane(jm, "doing", "Awareness") == [("Ad", 2, 0.5), ("Search", 2, 0.5)]
    assert lane(jm, "doing", "Consideration") == [("Product page", 3, 1.0), ("Reviews", 1, pytest.approx(1 / 3))]
    # c used both Web and App in Consideration: each counts once per customer.
    assert lane(jm, "channels", "Consideration") == [("Web", 3, 1.0), ("App", 1, pytest.approx(1 / 3))]
    assert jm.items("doing", "Awareness")[0].evidence == "2 customers, 50%"


def test_emotion_lane_has_scores_and_n(jm):
    em = jm.emotion.set_index("stage")
    assert em.loc["Awareness", "mean"] == pytest.approx(11 / 3)
    assert em.loc["Consideration", "n"] == 3
    assert bool(em.loc["Purchase", "low_n"]) is True  # 1 answer < min_n=3
    item = jm.items("emotion", "Consideration")[0]
    assert item.text == "3.0/5" and item.n == 3 and item.value == pytest.approx(3.0)
    assert jm.overall_mean == pytest.approx(25 / 7)


def test_quotes_are_the_most_negative_and_most_positive_verbatim(jm):
    quotes = jm.items("quotes", "Consideration")
    assert [q.text for q in quotes] == ["Confusing sizes", "Great photos"]
    assert [q.value for q in quotes] == [1.0, 5.0]
    assert quotes[0].evidence == "rated 1.0/5 · 1 of 3 comments"
    # Awareness: c's answer has no comment, so 2 comments; Purchase has one comment only.
    assert [q.text for q in jm.items("quotes", "Awareness")] == ["Too many ads", "Nice ads"]
    assert [q.text for q in jm.items("quotes", "Purchase")] == ["Easy"]


def test_quote_ties_go_to_the_shorter_comment_then_the_lower_customer_id():
    data = make_data()
    sv = pd.DataFrame(
        [("d", "Awareness", 1, "Bad one"), ("b", "Awareness", 1, "A long complaint"), ("c", "Awareness", 1, "Bad two"),
         ("a", "Awareness", 5, "Lovely"), ("b", "Awareness", 5, "Great"), ("a", "Awareness", 3, "Ok")],
        columns=["customer_id", "stage", "score", "comment"],
    )
    sv["touchpoint"] = pd.Series([None] * len(sv), dtype="string")
    sv["timestamp"] = pd.Series([pd.NaT] * len(sv), dtype="datetime64[us]")
    sv["nps"] = float("nan")
    sv = sv.astype({"customer_id": "string", "stage": "string", "comment": "string", "score": "float64"})
    jm = build_journey_map(dataclasses.replace(data, survey=default_engine().table(sv)), min_answers=2, min_n=3)
    quotes = jm.items("quotes", "Awareness")
    # Lowest: three 1s; "Bad one" and "Bad two" are shortest (7 characters), c before d.
    assert [(q.text, q.value) for q in quotes] == [("Bad two", 1.0), ("Great", 5.0)]
    assert quotes[0].evidence == "rated 1.0/5 · 1 of 6 comments"


def test_pains_and_opportunities_follow_the_evidence(jm):
    # Consideration: b and c stop there (2 of 3); Awareness: d stops (1 of 4).
    pains = jm.pains.set_index(["level", "stage"]).sort_index()
    cons = pains.loc[("stage", "Consideration")]
    assert (cons["customers"], cons["left"]) == (3, 2)
    first = jm.items("pains", "Consideration")[0]
    assert first.text == "Stage overall"
    # Each number says what it counts: those with events in the stage, leaving without the goal.
    assert first.evidence.startswith("2 of the 3 with events here leave without Purchase (67%)")
    sentences = list(jm.opportunities["sentence"])
    assert sentences[0].startswith("Consideration: 67% of customers reach this stage and leave without Purchase (2 of 3)")
    opp = jm.items("opportunities", "Consideration")[0].text
    assert opp.startswith("67% of customers reach this stage")
    assert jm.pain_summary == "Biggest pain point: the Consideration stage: 2 customers leave there without Purchase (67% of 3)."


def test_without_a_goal_the_map_claims_no_drop_off():
    data = make_data()
    data = dataclasses.replace(data, journey=data.journey.with_goal(None))
    jm = build_journey_map(data, min_answers=2, min_n=3)
    texts = " ".join(i.text + " " + i.evidence for lane in ("pains", "opportunities") for st in jm.stages
                     for i in jm.items(lane, st))
    assert "leave" not in texts and "go no further" not in texts
    assert any("Drop-off needs a goal" in n for n in jm.notes)
    assert "leave" not in jm.pain_summary or "Drop-off needs a goal" in jm.pain_summary


def test_stage_counts_follow_the_funnel_rule():
    """e enters at Consideration and f at Purchase: both count at Awareness too, as in the
    funnel, so no stage shows more customers than the one before it."""
    from journeylib import flows

    data = make_data()
    extra = pd.DataFrame({"customer_id": ["e", "f"], "timestamp": pd.to_datetime(["2024-03-02", "2024-03-02"]),
                          "seq": [100, 101], "touchpoint": ["Product page", "Checkout"],
                          "stage": ["Consideration", "Purchase"], "channel": ["Web", "Web"]})
    ev = data.events.execute()
    both = pd.concat([ev, extra.astype({c: "string" for c in ("customer_id", "touchpoint", "stage", "channel")})],
                     ignore_index=True)
    data = dataclasses.replace(data, events=default_engine().table(both))
    jm = build_journey_map(data, min_answers=2, min_n=3)
    # Awareness: a b c d + e f; Consideration: a b c + e f; Purchase: a + f.
    assert jm.stage_customers == {"Awareness": 6, "Consideration": 5, "Purchase": 2}
    funnel = flows.funnel(data)
    assert dict(zip(funnel["stage"], funnel["customers"])) == jm.stage_customers
    # A touchpoint's share is of that count: Ad (a, b) is 2 of the 6 at Awareness.
    assert lane(jm, "doing", "Awareness")[0] == ("Ad", 2, pytest.approx(2 / 6))


def test_quotes_prefer_a_comment_short_enough_for_the_map():
    from journeylib.journey_map import QUOTE_CHARS

    data = make_data()
    long = "Awful. " + "The sizes were wrong and nobody answered. " * 6
    assert len(long) > QUOTE_CHARS
    sv = pd.DataFrame([("a", "Awareness", 1, long), ("b", "Awareness", 1, "Bad"), ("c", "Awareness", 5, "Good")],
                      columns=["customer_id", "stage", "score", "comment"])
    sv["touchpoint"] = pd.Series([None] * len(sv), dtype="string")
    sv["timestamp"] = pd.Series([pd.NaT] * len(sv), dtype="datetime64[us]")
    sv["nps"] = float("nan")
    sv = sv.astype({"customer_id": "string", "stage": "string", "comment": "string", "score": "float64"})
    jm = build_journey_map(dataclasses.replace(data, survey=default_engine().table(sv)), min_answers=2, min_n=3)
    assert [q.text for q in jm.items("quotes", "Awareness")] == ["Bad", "Good"]


def test_a_wide_surveys_comment_is_one_comment_with_the_mean_of_its_ratings():
    """A wide survey repeats a respondent's one comment on every question's row: a's praise
    came with a 1 for wifi and 5s for seat and crew; b rated everything 2."""
    data = make_data()
    rows = [("a", "Wifi", 1, "Lovely crew, good seat"), ("a", "Seat", 5, "Lovely crew, good seat"),
            ("a", "Crew", 5, "Lovely crew, good seat"), ("b", "Wifi", 2, "Late again"), ("b", "Seat", 2, "Late again"),
            ("c", "Seat", 4, None)]
    sv = pd.DataFrame(rows, columns=["customer_id", "touchpoint", "score", "comment"])
    sv["stage"] = "Awareness"
    sv["timestamp"] = pd.Series([pd.NaT] * len(sv), dtype="datetime64[us]")
    sv["nps"] = float("nan")
    sv = sv.astype({"customer_id": "string", "stage": "string", "touchpoint": "string", "comment": "string",
                    "score": "float64"})
    jm = build_journey_map(dataclasses.replace(data, survey=default_engine().table(sv)), min_answers=2, min_n=3)
    quotes = jm.items("quotes", "Awareness")
    # The praise is not "rated 1.0" (its wifi row): it is the mean of its three ratings, 11/3.
    assert [(q.text, q.value) for q in quotes] == [("Late again", 2.0), ("Lovely crew, good seat", pytest.approx(11 / 3))]
    assert [q.evidence for q in quotes] == ["rated 2.0/5 · 1 of 2 comments", "rated 3.7/5 · 1 of 2 comments"]


def test_to_frame_lists_every_item_with_evidence(jm):
    frame = jm.to_frame()
    assert list(frame.columns) == ["lane", "stage", "rank", "text", "evidence", "n", "share", "value"]
    doing = frame[(frame["lane"] == "What customers do") & (frame["stage"] == "Consideration")]
    assert list(doing["text"]) == ["Product page", "Reviews"] and list(doing["rank"]) == [1, 2]
    assert (frame["evidence"] != "").all()


def test_for_persona_filters_customers_and_rejects_unknown_names():
    data = make_data()
    assignments = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "persona": ["Fans", "Fans", "Browsers", "Browsers"]})
    sub, label = for_persona(data, assignments, "fans")
    assert label == "Fans"
    assert build_journey_map(sub, group=label).customers == 2
    assert for_persona(data, assignments, None)[1] == EVERYONE
    with pytest.raises(ValueError, match="no persona named 'Nobody'; personas are: Fans, Browsers"):
        for_persona(data, assignments, "Nobody")


def test_journey_map_figure_structure(jm):
    fig = charts.journey_map_figure(jm)
    texts = " ".join(a.text for a in fig.layout.annotations)
    for stage in STAGES:
        assert stage in texts
    # Lanes this fixture fills (no NPS column, too few comments for themes, no comparison).
    for lane, title in LANES.items():
        if lane not in ("nps", "themes", "changed"):
            assert title.split()[0] in texts
    # Headers count by the funnel rule, and the title says so.
    assert "4 reached" in texts and "3 reached" in texts and charts.MAP_COUNT_RULE in fig.layout.title.text
    # One continuous emotion line through the three stages; each point labelled with score and n.
    line = [t for t in fig.data if t.mode and "lines" in t.mode]
    assert len(line) == 1 and len(line[0].x) == 3
    labels = [a.text for a in fig.layout.annotations if a.yanchor == "bottom"]
    assert [(lab.split("</b>")[0][3:], lab.split("n=")[1].split("<")[0]) for lab in labels] == [
        ("3.7", "3"), ("3.0", "3"), ("5.0", "1 (few)")]
    assert "“Confusing sizes”" in texts


def _cell_lines(fig):
    """(annotation, its lines as shown, and whether each is bold) for every annotation."""
    import html
    import re

    for a in fig.layout.annotations:
        parts = a.text.split("<br>")
        yield a, [(html.unescape(re.sub(r"<[^>]+>", "", x)), "<b>" in x) for x in parts]


@pytest.mark.parametrize("width,scale", [(820, 1.0), (1460, 1.0), (1500, 1.2)])
def test_map_text_wraps_inside_its_cell_and_is_never_cut(jm, width, scale):
    from journeylib.journey_map import MapItem

    lanes = {k: dict(v) for k, v in jm.lanes.items()}
    lanes["quotes"]["Awareness"] = [MapItem("A very long complaint about everything " * 3, "rated 1.0/5 · 1 of 9", 9)]
    lanes["doing"]["Consideration"] = [MapItem("Supercalifragilisticexpialidocious-page", "1 customers", 1, 0.5)]
    fig = charts.journey_map_figure(dataclasses.replace(jm, lanes=lanes), fit_width=width, font_scale=scale)
    plot_w = width - 20
    cells = [s for s in fig.layout.shapes if s.type == "rect" and s.x0 >= 0]
    for a, lines in _cell_lines(fig):
        assert a.font.size >= 12 * scale - 0.5
        assert not any(x.rstrip().endswith(("…", "...")) for x, _ in lines), lines
        if a.xanchor != "left":
            continue
        # The rectangle the text's anchor sits in holds the text's width and height.
        cell = min((c for c in cells if c.x0 <= a.x <= c.x1 and c.y0 <= a.y <= c.y1),
                   key=lambda c: (c.x1 - c.x0) * (c.y1 - c.y0))
        px_per_x = 1.0  # the x axis is in pixels of the plot
        assert fig.layout.xaxis.range[1] == pytest.approx(plot_w)
        widest = max(charts.text_width(x, a.font.size, bold=b) for x, b in lines)
        assert a.x + widest * px_per_x <= cell.x1 + 1, (lines, cell.x1 - a.x)
        assert a.y - len(lines) * charts.LINE_SPACING * a.font.size >= cell.y0 - 1, lines


def test_map_pages_for_slides_fit_their_height(jm):
    pages = charts.journey_map_pages(jm, width=860, height=380, first_height=330, font_size=14)
    assert pages and pages[0].layout.height <= 330 and all(p.layout.height <= 380 for p in pages[1:])
    shown = " ".join(a.text for p in pages for a in p.layout.annotations)
    # Every lane the deck shows is on some page; opportunities are the pain slide's bullets.
    for lane in charts.DECK_MAP_LANES:
        if lane not in ("nps", "themes", "changed"):  # not filled by this fixture
            assert LANES[lane].split()[0] in shown
    assert LANES["opportunities"] not in shown
    assert all(a.font.size >= 14 for p in pages for a in p.layout.annotations)


def test_user_text_is_shown_literally_not_as_markup(jm):
    from dataclasses import replace

    from journeylib.journey_map import MapItem

    lanes = {k: dict(v) for k, v in jm.lanes.items()}
    lanes["doing"]["Awareness"] = [MapItem("<b>Ad</b>", "2 customers, 50%", 2, 0.5)]
    lanes["quotes"]["Awareness"] = [MapItem("<a href='x'>click</a>", "rated 1.0/5 · 1 of 2 comments", 2)]
    fig = charts.journey_map_figure(replace(jm, lanes=lanes))
    texts = " ".join(a.text for a in fig.layout.annotations)
    assert "&lt;b&gt;Ad&lt;/b&gt;" in texts and "<b>Ad</b>" not in texts
    assert "&lt;a href='x'&gt;click&lt;/a&gt;" in texts


def test_lanes_with_nothing_are_left_out_and_the_notes_say_why():
    data = dataclasses.replace(make_data(), survey=None)
    jm = build_journey_map(data)
    texts = " ".join(a.text for a in charts.journey_map_figure(jm).layout.annotations)
    assert LANES["doing"].split()[0] in texts and LANES["channels"] in texts
    for lane in ("emotion", "quotes"):
        assert LANES[lane] not in texts
    assert any("need a survey file" in n for n in jm.notes)


# --------------------------------------------------------------------------------------
# A survey alone (no touchpoint events), NPS per stage, themes, what changed

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from journeylib.journey_map import NEEDS_EVENTS, stage_nps  # noqa: E402

# customer, stage, touchpoint, score, nps (the same NPS on each of a customer's rows)
SURVEY_ONLY = [
    ("p1", "Awareness", "Ad", 4, 10), ("p1", "Consideration", "Reviews", 2, 10), ("p1", "Purchase", "Checkout", 5, 10),
    ("p2", "Awareness", "Ad", 5, 9), ("p2", "Consideration", "Reviews", 1, 9),
    ("p3", "Awareness", "Ad", 3, 3), ("p3", "Consideration", "Reviews", 2, 3), ("p3", "Purchase", "Checkout", 4, 3),
    ("p4", "Awareness", "Ad", 4, 7), ("p4", "Consideration", "Reviews", 1, 7),
    ("p5", "Awareness", "Ad", 5, 0),
    ("p6", "Awareness", "Ad", 4, 8), ("p6", "Consideration", "Reviews", 2, 8), ("p6", "Purchase", "Checkout", 5, 8),
]


def survey_only_data(rows=SURVEY_ONLY):
    from journeylib.ingest import load_journey

    frame = pd.DataFrame(rows, columns=["customer_id", "stage", "touchpoint", "score", "nps"])
    return load_journey(survey=frame, journey=JourneyModel.default(STAGES)), frame


def nps_expected(values):
    """NPS as the mean of +100/0/-100 per customer, with the normal interval of that mean
    (population sd: the variance of the promoter share minus the detractor share)."""
    x = np.where(values >= 9, 100.0, np.where(values >= 7, 0.0, -100.0))
    half = stats.norm.ppf(0.975) * x.std(ddof=0) / np.sqrt(len(x))
    return x.mean(), x.mean() - half, x.mean() + half


def test_survey_only_map_is_filled_from_ratings():
    data, frame = survey_only_data()
    assert not data.has_events
    jm = build_journey_map(data, min_answers=2, min_n=3)
    assert jm.survey_only and jm.count_word == "answered"
    assert jm.customers == frame["customer_id"].nunique() == 6
    # A stage's customers: those who answered there (hand counts).
    assert jm.stage_customers == {"Awareness": 6, "Consideration": 5, "Purchase": 3}
    assert jm.stages == list(STAGES)
    # No zeros for what needs events: the lanes are empty and one note says why.
    for st in STAGES:
        assert jm.items("doing", st) == [] and jm.items("channels", st) == []
    assert NEEDS_EVENTS in jm.notes and not any("channel column" in n for n in jm.notes)
    # Emotion: mean and t-interval per stage, as scipy computes them.
    for st in STAGES:
        x = frame.loc[frame["stage"] == st, "score"].astype(float)
        row = jm.emotion.set_index("stage").loc[st]
        lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
        assert (row["mean"], row["n"]) == (pytest.approx(x.mean()), len(x))
        assert (row["ci_low"], row["ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    # Consideration (1.6 against 3.4 overall) is the rated pain point, counted in answers.
    pains = jm.items("pains", "Consideration")
    assert pains and pains[0].n == 5 and "rated 1.6 vs 3.4 overall (n=5)" in pains[0].evidence
    assert all(not i.evidence.startswith("0 ") and "leave" not in i.evidence for st in STAGES
               for i in jm.items("pains", st))
    # NPS per stage: of the customers who answered there, one answer each.
    nps = jm.nps.set_index("stage")
    for st in STAGES:
        ids = frame.loc[frame["stage"] == st, "customer_id"].unique()
        values = frame.drop_duplicates("customer_id").set_index("customer_id").loc[ids, "nps"].to_numpy()
        mean, lo, hi = nps_expected(values)
        assert nps.loc[st, "n"] == len(ids)
        assert (nps.loc[st, "nps"], nps.loc[st, "ci_low"], nps.loc[st, "ci_high"]) == \
            (pytest.approx(mean), pytest.approx(lo), pytest.approx(hi))
    item = jm.items("nps", "Awareness")[0]
    assert item.text == "NPS +0" and item.n == 6 and "33% promoters, 33% detractors" in item.evidence
    # The figure's headers count who answered, and the title says so.
    fig = charts.journey_map_figure(jm)
    texts = " ".join(a.text for a in fig.layout.annotations)
    assert "6 answered" in texts and "5 answered" in texts and "reached" not in texts
    assert "answered: customers who rated the stage" in fig.layout.title.text
    assert "NPS +0" in texts and "What customers do" not in texts


def test_stage_nps_with_events_follows_the_funnel_rule():
    data = make_data()
    sv = data.survey.execute()
    values = {"a": 10, "b": 6, "c": 9, "d": 8}
    sv["nps"] = sv["customer_id"].map(values).astype("float64")
    eng = default_engine()
    sv = pd.concat([sv, pd.DataFrame({"customer_id": ["d"], "stage": ["Awareness"], "score": [4.0], "nps": [8.0]})],
                   ignore_index=True).astype({"customer_id": "string", "stage": "string"})
    data = dataclasses.replace(data, survey=eng.table(sv))
    got = stage_nps(data).set_index("stage")
    # Reached (or a later stage): Awareness a, b, c, d; Consideration a, b, c; Purchase a.
    for st, ids in {"Awareness": "abcd", "Consideration": "abc", "Purchase": "a"}.items():
        mean, lo, hi = nps_expected(np.array([values[c] for c in ids], dtype=float))
        assert got.loc[st, "n"] == len(ids) and got.loc[st, "nps"] == pytest.approx(mean)
        if len(ids) > 1:
            assert (got.loc[st, "ci_low"], got.loc[st, "ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    assert stage_nps(make_data()).empty  # an NPS column with no answer


def themed_survey():
    rng = np.random.default_rng(3)
    bad = ["delivery was late again", "late delivery and no update", "courier came late, delivery slow"]
    good = ["friendly staff helped me", "staff were friendly and kind", "very friendly helpful staff"]
    rows = []
    for i in range(60):
        neg = i % 2 == 0
        rows.append({"customer_id": f"c{i}", "stage": "Purchase", "touchpoint": "Delivery",
                     "score": float(rng.choice([1, 2])) if neg else float(rng.choice([4, 5])),
                     "comment": (bad if neg else good)[i % 3]})
    return pd.DataFrame(rows)


def test_themes_lane_has_the_most_negative_and_positive_theme():
    from journeylib.ingest import load_journey

    frame = themed_survey()
    data = load_journey(survey=frame, journey=JourneyModel.default(STAGES))
    jm = build_journey_map(data, min_answers=2)
    items = jm.items("themes", "Purchase")
    assert [i.text.split(":")[0] for i in items] == ["Negative", "Positive"]
    neg, pos = items
    from journeylib.voice import theme_comments

    table = jm.themes.table
    bad, good = set(frame.loc[frame["score"] <= 2, "comment"]), set(frame.loc[frame["score"] >= 4, "comment"])
    for item, planted in ((neg, bad), (pos, good)):
        label = item.text.split(": ", 1)[1]
        tid = int(table.loc[(table["stage"] == "Purchase") & (table["theme"] == label), "theme_id"].iloc[0])
        members = theme_comments(jm.themes, "Purchase", tid, limit=None)
        # A theme of planted complaints holds only complaints (and praise only praise), as many as it says.
        assert set(members["comment"]) <= planted and len(members) == item.n
        assert item.value == pytest.approx(frame.loc[frame["comment"].isin(members["comment"])
                                                     & frame["customer_id"].isin(members["customer_id"]),
                                                     "score"].mean())
    assert neg.value < 2.5 < 4 <= pos.value
    assert f"{neg.n:,} comments ({neg.share:.0%})" in neg.evidence
    assert build_journey_map(data, themes=False).items("themes", "Purchase") == []


def test_what_changed_lane_marks_significant_differences():
    from journeylib.compare import what_changed

    worse = [(c, s, t, max(1, sc - 2) if s == "Consideration" else sc, n) for c, s, t, sc, n in SURVEY_ONLY]
    rows = [(f"{c}{k}", s, t, sc, n) for k in range(8) for c, s, t, sc, n in SURVEY_ONLY]
    rows_b = [(f"{c}{k}", s, t, sc, n) for k in range(8) for c, s, t, sc, n in worse]
    a, _ = survey_only_data(rows)
    b, _ = survey_only_data(rows_b)
    changed = what_changed(a, b)
    jm = build_journey_map(b, changed=changed, changed_labels=("before", "after"))
    cons = changed[(changed["stage"] == "Consideration") & (changed["measure"] == "score")].iloc[0]
    item = jm.items("changed", "Consideration")[0]
    assert bool(cons["significant"]) and item.text.startswith("▼ Mean score")
    assert f"{cons['difference']:+.2f}" in item.text and "(significant)" in item.evidence
    x_a = pd.Series([sc for c, s, t, sc, n in rows if s == "Consideration"], dtype=float)
    x_b = pd.Series([sc for c, s, t, sc, n in rows_b if s == "Consideration"], dtype=float)
    assert cons["difference"] == pytest.approx(x_b.mean() - x_a.mean())
    assert cons["p_value"] == pytest.approx(stats.ttest_ind(x_b, x_a, equal_var=False).pvalue)
    assert f"{x_a.mean():.2f} → {x_b.mean():.2f}" in item.evidence
    same = jm.items("changed", "Awareness")[0]
    assert same.text == "Mean score +0.00" and "(not significant)" in same.evidence
    fig = charts.journey_map_figure(jm)
    assert "What changed" in " ".join(a.text for a in fig.layout.annotations)


def test_with_changes_lays_a_comparison_over_a_map_built_without_one():
    from journeylib.compare import what_changed
    from journeylib.journey_map import with_changes

    rows = [(f"{c}{k}", s, t, sc, n) for k in range(4) for c, s, t, sc, n in SURVEY_ONLY]
    rows_b = [(f"{c}{k}", s, t, max(1, sc - 1), n) for k in range(4) for c, s, t, sc, n in SURVEY_ONLY]
    a, _ = survey_only_data(rows)
    b, _ = survey_only_data(rows_b)
    changed = what_changed(a, b)
    plain = build_journey_map(b)
    laid = with_changes(plain, changed, ("before", "after"))
    built = build_journey_map(b, changed=changed, changed_labels=("before", "after"))
    pd.testing.assert_frame_equal(laid.to_frame(), built.to_frame())
    assert laid.changed_labels == ("before", "after") and len(laid.lanes["changed"]) == len(plain.stages)
    assert not any(plain.lanes["changed"].values())  # the map laid over is left as it was
    assert not any(with_changes(laid, None).lanes["changed"].values())


def test_a_map_that_must_fit_leaves_out_lanes_in_order(jm):
    from journeylib import charts

    full = charts.journey_map_figure(jm, height=200, fit_width=1000)
    roomy, none_left = charts.journey_map_fitting(jm, int(full.layout.height) + 50, fit_width=1000)
    assert none_left == [] and roomy.layout.height == int(full.layout.height) + 50
    # Just under the full height: only the first spare lane that has items goes.
    spare = [l for l in ("quotes", "themes", "channels", "changed", "nps", "opportunities", "doing")
             if any(jm.items(l, s) for s in jm.stages)]
    _, left = charts.journey_map_fitting(jm, int(full.layout.height) - 1, fit_width=1000)
    assert left == [LANES[spare[0]]]
    # A tiny window: every spare lane goes, emotion and pain points stay.
    tiny, left = charts.journey_map_fitting(jm, 100, fit_width=1000)
    assert left == [LANES[l] for l in spare]
    texts = " ".join(str(a.text) for a in tiny.layout.annotations)
    assert LANES["emotion"] in texts and LANES["pains"] in texts


def test_a_log_with_channels_but_no_stages_is_not_told_to_map_a_channel():
    data = make_data()
    ev = data.events.execute().assign(stage=None).astype({"stage": "string"})
    unstaged = dataclasses.replace(data, events=default_engine().table(ev), survey=None)
    jm = build_journey_map(unstaged, min_answers=2, min_n=3)
    assert jm.stages == []
    assert not any("channel" in n for n in jm.notes), jm.notes
    # Without the column, the note says what to map.
    bare = dataclasses.replace(unstaged, events=default_engine().table(ev.drop(columns="channel")))
    assert "No channels: map a channel column on the Data page to see them." in build_journey_map(
        bare, min_answers=2, min_n=3).notes
