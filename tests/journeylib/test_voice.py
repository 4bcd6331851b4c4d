"""Voice of the customer: sentiment, comment themes, survey coverage (journeylib.voice)."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from journeylib import voice
from journeylib.__main__ import main
from journeylib.engine import default_engine
from journeylib.journey import Goal, JourneyModel
from journeylib.schema import JourneyData, ScoreScale

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"
STAGES = ("Awareness", "Consideration", "Intent", "Purchase", "Retention")

# Planted topics: each comment uses three words of one topic's vocabulary in sentence
# frames shared by every topic, so only the topic words tell the comments apart.
TOPICS_EN = {
    "delivery": "parcel courier late delivery tracking driver arrived days".split(),
    "staff": "staff friendly helpful assistant store welcoming advice smile".split(),
    "price": "price expensive discount cost money value cheap offer".split(),
}
FRAMES_EN = ("I think the {} and the {} were {}.", "Honestly the {} was {} and {}.", "{} {} {}, that is all I can say.",
             "My experience today: {} with {} and some {}.", "The {}, the {}, and then the {} again.",
             "Well, {} and {}. Also {}.", "{}! {}? {}...", "Mostly {}, partly {}, sometimes {}.",
             "We noticed {} first, {} next, {} last.", "Comment: {} / {} / {}")
# Dutch comments as people write them: two clauses of one topic, and a closing word or two
# shared by every topic.
CLAUSES_NL = {
    "levering": ["het pakket kwam drie dagen te laat", "de bezorger belde niet aan", "mijn pakket lag bij de buren",
                 "de levering duurde een week", "de chauffeur was onvriendelijk", "het pakket is nooit bezorgd",
                 "bezorging was weer laat", "de bezorger gooide het pakket over het hek"],
    # "top" is Dutch for excellent, and a word of scikit-learn's English stop list.
    "personeel": ["het personeel was top", "een vriendelijke medewerker hielp mij", "top advies in de winkel",
                  "de medewerkers waren behulpzaam", "heel vriendelijk personeel", "de verkoper gaf goed advies",
                  "behulpzame medewerker bij de kassa", "personeel in de winkel was top"],
    "prijs": ["veel te duur", "de prijs is omhoog gegaan", "geen korting meer", "de prijzen zijn te hoog",
              "duur in vergelijking met andere winkels", "de verzendkosten zijn te hoog",
              "de aanbieding was geen echte korting", "te veel geld voor deze kwaliteit"],
}
CLOSERS_NL = ("", "Jammer.", "Verder prima.", "Dank je.", "Groetjes.", "Nou ja.")


def dutch(sizes, seed=3, stage="Retention"):
    rng = np.random.default_rng(seed)
    rows = []
    for (name, clauses), n in zip(CLAUSES_NL.items(), sizes):
        for _ in range(n):
            a, b = rng.choice(clauses, 2, replace=False)
            text = f"{a[0].upper()}{a[1:]}, {b}. {CLOSERS_NL[rng.integers(len(CLOSERS_NL))]}".strip()
            rows.append({"stage": stage, "comment": text, "truth": name, "score": 3.0})
    return pd.DataFrame(rows)


def planted(topics, frames, sizes, seed=1, stage="Retention"):
    rng = np.random.default_rng(seed)
    rows = []
    for (name, words), n in zip(topics.items(), sizes):
        for _ in range(n):
            picked = rng.choice(words, 3, replace=False)
            rows.append({"stage": stage, "comment": frames[rng.integers(len(frames))].format(*picked),
                         "truth": name, "score": 3.0})
    return pd.DataFrame(rows)


def majority(themes: voice.Themes) -> dict[str, str]:
    """Planted topic -> the theme most of its comments landed in."""
    c = themes.comments
    return c.groupby("truth")["theme"].agg(lambda s: s.value_counts().index[0]).to_dict()


# ----------------------------------------------------------------------------- themes


def test_planted_topics_come_back_as_separate_themes_with_their_counts_and_terms():
    sizes = {"delivery": 40, "staff": 30, "price": 20}
    comments = planted(TOPICS_EN, FRAMES_EN, list(sizes.values()))
    themes = voice.find_themes(comments, by="stage", n_themes="auto", seed=0)
    assert themes.language == "english"
    table = themes.table[themes.table["theme_id"] > 0]
    assert len(table) == 3  # "auto" found the three planted topics
    found = majority(themes)
    assert len(set(found.values())) == 3  # each topic in a theme of its own
    tolerance = 2  # at most 2 of the 90 comments outside their topic's theme
    for topic, theme in found.items():
        row = table[table["theme"] == theme].iloc[0]
        assert abs(int(row["comments"]) - sizes[topic]) <= tolerance, (topic, row["comments"])
        assert row["share"] == pytest.approx(row["comments"] / 90)
        label_terms = row["theme"].split(" / ")
        assert set(label_terms) <= set(TOPICS_EN[topic]), (topic, label_terms)
        # Its two examples are comments of that topic, most typical first.
        members = themes.comments[themes.comments["theme"] == theme]
        assert row["example"] in set(members["comment"]) and row["example_2"] in set(members["comment"])
        assert row["example"] == members.sort_values("weight", ascending=False)["comment"].iloc[0]
    assert not themes.groups["weak"].any()
    # Every comment is counted once, in one theme.
    assert table["comments"].sum() + themes.table.loc[themes.table["theme_id"] == 0, "comments"].sum() == 90
    # The choice is the best silhouette of the range tried, not its top.
    scores = themes.groups["silhouette"].iloc[0]
    assert set(scores) == set(range(2, 9))
    assert min(k for k, v in scores.items() if v >= max(scores.values()) - 0.02) == 3


def test_a_fixed_number_of_themes_is_kept():
    comments = planted(TOPICS_EN, FRAMES_EN, [40, 30, 20])
    themes = voice.find_themes(comments, n_themes=2, seed=0)
    assert (themes.table["theme_id"] > 0).sum() == 2
    assert themes.groups["k"].tolist() == [2]


def test_the_same_seed_gives_the_same_themes():
    comments = planted(TOPICS_EN, FRAMES_EN, [40, 30, 20], seed=7)
    a = voice.find_themes(comments, seed=4)
    b = voice.find_themes(comments.sample(frac=1.0, random_state=0).sort_index(), seed=4)
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.comments, b.comments)


def test_a_stage_with_five_comments_gets_no_themes_and_says_so():
    comments = pd.concat([planted(TOPICS_EN, FRAMES_EN, [40, 30, 20]),
                          planted(TOPICS_EN, FRAMES_EN, [5, 0, 0], stage="Intent")], ignore_index=True)
    themes = voice.find_themes(comments, order=STAGES)
    intent = themes.table[themes.table["stage"] == "Intent"]
    assert len(intent) == 1
    row = intent.iloc[0]
    assert row["theme"] == voice.TOO_FEW and row["comments"] == 5 and row["theme_id"] == 0
    assert f"at least {voice.MIN_COMMENTS}" in row["example"] and "5 comments at Intent" in row["example"]
    note = themes.groups.set_index("stage").loc["Intent", "note"]
    assert note == row["example"]
    # Stage order: Intent before Retention, as in the journey.
    assert themes.table["stage"].drop_duplicates().tolist() == ["Intent", "Retention"]
    cli = voice.theme_table(themes)
    assert cli.loc[cli["stage"] == "Intent", "theme"].tolist() == [voice.TOO_FEW]


def test_dutch_comments_form_themes_without_the_english_stop_list():
    sizes = {"levering": 30, "personeel": 30, "prijs": 25}
    comments = dutch(list(sizes.values()))
    themes = voice.find_themes(comments, n_themes="auto", seed=0)
    assert themes.language == "dutch"
    assert "no English stop-word list" in themes.notes[0]
    assert (themes.table["theme_id"] > 0).sum() == 3
    found = majority(themes)
    assert len(set(found.values())) == 3
    table = themes.table.set_index("theme")
    for topic, theme in found.items():
        assert abs(int(table.loc[theme, "comments"]) - sizes[topic]) <= 2
    staff_terms = table.loc[found["personeel"], "terms"].split(", ")
    assert "top" in staff_terms  # an English stop word, kept for Dutch comments
    assert "top" in ENGLISH_STOP_WORDS
    # VADER is English: Dutch comments get no sentiment rather than a wrong one.
    assert themes.comments["sentiment"].isna().all()


def test_themes_need_words_in_common():
    comments = pd.DataFrame({"stage": "Intent", "comment": [f"word{i} unique{i}x" for i in range(25)] + ["!!!", "ok"]})
    themes = voice.find_themes(comments)
    assert themes.table["theme"].tolist() == [voice.NO_THEME]
    assert "too few words" in themes.table["example"].iloc[0]


def test_bad_arguments_are_refused():
    comments = planted(TOPICS_EN, FRAMES_EN, [20, 0, 0])
    with pytest.raises(ValueError, match="n_themes"):
        voice.find_themes(comments, n_themes=0)
    with pytest.raises(ValueError, match="by must be"):
        voice.find_themes(comments, by="channel")


def test_survey_comments_count_once_per_customer_and_stage():
    """A wide survey melted into one row per touchpoint repeats the comment: one comment,
    with the mean of its scores."""
    comments = planted(TOPICS_EN, FRAMES_EN, [15, 10, 0])
    rows = []
    for i, r in comments.iterrows():
        for tp, score in (("Seat", 1.0), ("Food", 3.0)):
            rows.append({"customer_id": f"c{i}", "stage": r["stage"], "touchpoint": tp, "score": score,
                         "comment": r["comment"], "timestamp": pd.Timestamp("2024-01-01"), "nps": np.nan})
    survey = default_engine().table(pd.DataFrame(rows))
    themes = voice.comment_themes(survey, by="stage", scale=ScoreScale(1, 5))
    assert themes.table["comments"].sum() == 25
    assert (themes.comments["score"] == 2.0).all()
    by_tp = voice.comment_themes(survey, by="touchpoint")
    assert voice.theme_table(by_tp).columns[0] == "touchpoint"
    assert by_tp.table.groupby("touchpoint")["comments"].sum().to_dict() == {"Food": 25, "Seat": 25}


def test_theme_table_has_the_command_line_header():
    themes = voice.find_themes(planted(TOPICS_EN, FRAMES_EN, [30, 20, 0]))
    assert list(voice.theme_table(themes).columns) == ["stage", "theme", "terms", "comments", "share", "mean_score",
                                                       "sentiment", "example"]


def test_highlights_and_theme_comments():
    comments = planted(TOPICS_EN, FRAMES_EN, [40, 30, 20])
    comments["score"] = comments["truth"].map({"delivery": 1.0, "staff": 5.0, "price": 2.0})
    themes = voice.find_themes(comments, scale=ScoreScale(1, 5))
    found = majority(themes)
    high = voice.theme_highlights(themes).iloc[0]
    # Tone is the score where there is one: delivery (1 of 1-5) is the most negative.
    assert high["negative"] == found["delivery"] and high["positive"] == found["staff"]
    listed = voice.theme_comments(themes, "Retention", high["negative_id"], limit=None)
    members = themes.comments[themes.comments["theme"] == found["delivery"]]
    assert len(listed) == len(members) and listed["weight"].is_monotonic_decreasing


# ----------------------------------------------------------------------------- sentiment


def test_sentiment_sides_and_missing_values():
    texts = ["The staff were wonderful, friendly and helpful. I love this shop!",
             "Terrible service, rude staff and a broken suitcase. Awful.",
             "", "   ", None, float("nan"), 42, "The parcel came on Tuesday."]
    got = voice.sentiment(texts)
    assert got.iloc[0] > 0.5 and got.iloc[1] < -0.5
    assert got.iloc[2:7].isna().all()
    assert abs(got.iloc[7]) < 0.3
    assert len(got) == len(texts)
    # Several sentences: the mean of their scores (VADER reads sentences).
    one, two = voice.sentiment(["I love it.", "It broke."], language="english")
    assert voice.sentiment(["I love it. It broke."]).iloc[0] == pytest.approx((one + two) / 2)


def test_sentiment_of_other_languages_is_missing():
    dutch = ["Het personeel was heel vriendelijk en de levering was op tijd.", "Het pakket kwam niet aan, ik ben boos."]
    assert voice.detect_language(dutch) == "dutch"
    assert voice.sentiment(dutch).isna().all()
    assert voice.sentiment(dutch, language="english").notna().all()  # asked for: VADER's English reading
    assert voice.detect_language(["Das Essen war sehr gut und die Bedienung war freundlich."]) == "german"
    assert voice.detect_language(["", None]) is None


def test_disagreement_between_score_and_sentiment():
    scores = pd.Series([5, 4, 1, 2, 3, 5, np.nan, 5])
    feel = pd.Series([-0.6, -0.06, 0.7, 0.05, -0.9, 0.8, -0.9, np.nan])
    got = voice.disagrees(scores, feel, ScoreScale(1, 5)).tolist()
    # Top third of 1-5 is >= 3.67, bottom third <= 2.33; 3 is neither; missing never disagrees.
    assert got == [True, True, True, True, False, False, False, False]
    frame = voice.with_sentiment(pd.DataFrame({"score": [5.0, 1.0],
                                               "comment": ["Awful, rude and broken.", "Awful, rude and broken."]}),
                                 ScoreScale(1, 5))
    assert frame["disagrees"].tolist() == [True, False] and (frame["sentiment"] < 0).all()


# ----------------------------------------------------------------------------- coverage


def coverage_data(goal=Goal("stage", "Purchase")) -> JourneyData:
    """Six customers: c1-c3 reach Purchase, c4-c6 do not; only c1 and c2 answered."""
    t0 = pd.Timestamp("2024-01-01")
    paths = {"c1": ["Awareness", "Consideration", "Purchase"], "c2": ["Awareness", "Purchase"],
             "c3": ["Awareness", "Intent", "Purchase", "Retention"], "c4": ["Awareness"],
             "c5": ["Awareness", "Consideration"], "c6": ["Awareness", "Consideration", "Intent"]}
    rows = [(c, t0 + pd.Timedelta(hours=i), i, f"tp_{s}", s, "web") for c, p in paths.items() for i, s in enumerate(p)]
    events = pd.DataFrame(rows, columns=["customer_id", "timestamp", "seq", "touchpoint", "stage", "channel"])
    survey = pd.DataFrame({
        "customer_id": ["c1", "c1", "c2"], "stage": ["Purchase", "Awareness", "Purchase"],
        "touchpoint": ["tp_Purchase", "tp_Awareness", "tp_Purchase"], "score": [5.0, 4.0, 5.0],
        "comment": ["Great", None, "Smooth"], "timestamp": [t0] * 3, "nps": [np.nan] * 3})
    engine = default_engine()
    return JourneyData(events=engine.table(events), survey=engine.table(survey),
                       journey=JourneyModel(stages=STAGES, goal=goal), score_scale=ScoreScale(1, 5)), paths


def test_coverage_counts_equal_hand_counts():
    data, paths = coverage_data()
    cov = voice.survey_coverage(data).set_index("stage")
    assert cov["persona"].eq("all").all()
    for stage in STAGES:
        assert cov.loc[stage, "reached"] == sum(stage in p for p in paths.values())
    assert cov.loc["Purchase", "answered"] == 2 and cov.loc["Awareness", "answered"] == 1
    assert cov.loc["Purchase", "response_rate"] == pytest.approx(2 / 3)
    assert cov.loc["Awareness", "response_rate"] == pytest.approx(1 / 6)
    assert cov.loc["Intent", "answered"] == 0 and cov.loc["Intent", "response_rate"] == 0
    assert cov["asked"].isna().all()  # no invitation rows: asked is not known
    assert list(cov.index) == list(STAGES)


def test_coverage_per_persona():
    data, _ = coverage_data()
    personas = pd.DataFrame({"customer_id": ["c1", "c2", "c3", "c4", "c5", "c6"],
                             "persona": ["Buyers", "Buyers", "Buyers", "Browsers", "Browsers", "Browsers"]})
    cov = voice.survey_coverage(data, personas)
    purchase = cov[cov["stage"] == "Purchase"].set_index("persona")
    assert purchase.loc["all", "reached"] == 3 and purchase.loc["Buyers", "reached"] == 3
    assert purchase.loc["Buyers", "answered"] == 2
    assert "Browsers" not in purchase.index  # no browser reached Purchase or answered there
    aware = cov[cov["stage"] == "Awareness"].set_index("persona")
    assert aware.loc["Browsers", "reached"] == 3 and aware.loc["Browsers", "answered"] == 0


def test_only_converted_customers_answered_so_the_curve_is_flagged():
    data, paths = coverage_data()
    diff = voice.answerer_differences(data).set_index("measure")
    goal = diff.loc["reached Purchase"]
    # Answered: c1, c2 (both reached Purchase); not: c3 (reached), c4, c5, c6.
    assert (goal["answered"], goal["not_answered"]) == (1.0, 0.25)
    assert (goal["n_answered"], goal["n_not_answered"]) == (2, 4)
    assert goal["effect"] == pytest.approx(2 * math.asin(1.0) - 2 * math.asin(math.sqrt(0.25)))
    assert goal["effect_kind"] == "Cohen's h" and goal["differs"]
    length = diff.loc["journey length (events)"]
    yes = np.array([len(paths["c1"]), len(paths["c2"])], float)
    no = np.array([len(paths[c]) for c in ("c3", "c4", "c5", "c6")], float)
    pooled = math.sqrt(((len(yes) - 1) * yes.var(ddof=1) + (len(no) - 1) * no.var(ddof=1)) / (len(yes) + len(no) - 2))
    assert length["effect"] == pytest.approx((yes.mean() - no.mean()) / pooled)
    assert length["answered"] == pytest.approx(2.5) and length["not_answered"] == pytest.approx(2.5)
    assert not length["differs"]
    warnings = voice.coverage_warnings(data)
    assert warnings == ["The people who answered reached Purchase more often than those who did not (100% vs 25%): "
                        "the emotion curve may look better than the journey is."]


def test_goal_name_is_used_and_no_goal_is_said():
    data, _ = coverage_data(goal=Goal("stage", "Purchase", name="Bought a bag"))
    assert "reached Bought a bag more often" in voice.coverage_warnings(data)[0]
    data, _ = coverage_data(goal=None)
    diff = voice.answerer_differences(data).set_index("measure")
    assert "no goal is set" in diff.loc["reached the goal", "note"]
    assert not diff.loc["reached the goal", "differs"]


def test_invitation_rows_give_asked_and_answered():
    data, _ = coverage_data()
    extra = pd.DataFrame({"customer_id": ["c3", "c4"], "stage": ["Purchase", "Awareness"],
                          "touchpoint": ["tp_Purchase", "tp_Awareness"], "score": [np.nan, np.nan],
                          "comment": pd.Series([None, None], dtype="string"),
                          "timestamp": [pd.Timestamp("2024-01-02")] * 2, "nps": [np.nan] * 2})
    survey = data.survey.union(default_engine().table(extra))
    data.survey = survey
    cov = voice.survey_coverage(data).set_index("stage")
    assert cov.loc["Purchase", "asked"] == 3 and cov.loc["Purchase", "answered"] == 2
    assert cov.loc["Purchase", "response_rate"] == pytest.approx(2 / 3)
    assert cov.loc["Awareness", "asked"] == 2 and cov.loc["Awareness", "response_rate"] == pytest.approx(1 / 2)


def test_survey_only_coverage_says_it_needs_events():
    data, _ = coverage_data()
    survey_only = JourneyData(events=data.events.limit(0), survey=data.survey, journey=data.journey)
    assert voice.answerer_differences(survey_only).empty
    assert voice.coverage_warnings(survey_only) == [
        "Whether the people who answered are like those who did not needs touchpoint events: this dataset has "
        "survey answers only."]
    cov = voice.survey_coverage(survey_only).set_index("stage")
    assert cov.loc["Purchase", "answered"] == 2 and cov["reached"].isna().all()


# ----------------------------------------------------------------------------- command line


def test_cli_themes_header_and_bad_input(tmp_path, capsys):
    events = tmp_path / "events.csv"
    events.write_text("customer_id,timestamp,touchpoint,stage\nc1,2024-01-01 10:00,Home,Awareness\n")
    comments = planted(TOPICS_EN, FRAMES_EN, [15, 10, 0])
    survey = tmp_path / "survey.csv"
    comments.assign(customer_id=[f"c{i}" for i in range(len(comments))])[
        ["customer_id", "stage", "score", "comment"]].to_csv(survey, index=False)
    code = main(["themes", "--touchpoints", str(events), "--survey", str(survey), "--by", "stage"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "stage,theme,terms,comments,share,mean_score,sentiment,example"
    got = pd.read_csv(io.StringIO(out))
    assert got["comments"].sum() == len(comments)  # every comment counted once

    no_comments = tmp_path / "scores.csv"
    no_comments.write_text("customer_id,stage,score\nc1,Awareness,4\n")
    code = main(["themes", "--touchpoints", str(events), "--survey", str(no_comments)])
    _, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith(f"error: {no_comments}: no comments") and "--map comment=COLUMN" in err

    code = main(["themes", "--touchpoints", str(events), "--survey", str(survey), "--themes", "many"])
    _, err = capsys.readouterr()
    assert code == 2 and err.startswith("error: --themes") and len(err.strip().splitlines()) == 1
    code = main(["themes", "--touchpoints", str(tmp_path / "nope.csv"), "--survey", str(survey)])
    _, err = capsys.readouterr()
    assert code == 2 and "nope.csv: file not found" in err


# ----------------------------------------------------------------------------- real data


@pytest.mark.realdata
@pytest.mark.skipif(not (REALDATA / "british_airways_reviews.csv.gz").exists(), reason="needs ../shared/realdata")
def test_airline_reviews_form_english_themes():
    from journeylib.ingest import load_journey

    data = load_journey(survey=str(REALDATA / "british_airways_reviews.csv.gz"),
                        mapping={"customer_id": "ReviewID", "score": "OverallRating", "comment": "ReviewBody"})
    reviews = pd.read_csv(REALDATA / "british_airways_reviews.csv.gz")
    # A review with a comment and no rating is kept for its comment (themes count it too).
    reviews = reviews[reviews["ReviewBody"].notna()]
    themes = voice.comment_themes(data.survey, by="stage", scale=data.score_scale)
    assert themes.language == "english"
    real = themes.table[themes.table["theme_id"] > 0]
    assert len(real) >= 2 and themes.table["comments"].sum() == len(reviews)
    # Long reviews touch many topics each: no number of themes separates them clearly, and
    # the note says so (and how to get finer themes).
    assert themes.groups["weak"].all()
    assert any("do not fall into clearly separate themes" in n for n in themes.notes)
    # Themes differ in how the flight went: the lowest-scored theme also reads more negative.
    worst, best = real.sort_values("mean_score").iloc[[0, -1]].itertuples()
    assert worst.mean_score < best.mean_score and worst.sentiment < best.sentiment
