"""A wide survey without a stage map (issue #16): every rating sits at a stage, or the user
is told which do not and how to place them; a rare 0 beside a 1-5 scale is proposed as
"not rated". Expected values are counted with pandas on the frames written here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from journeylib.__main__ import main
from journeylib.ingest import load_journey, preview_survey
from journeylib.journey import JourneyModel, place_ratings, survey_stage_name
from journeylib.journey_map import build_journey_map

AIRLINE = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "airline_passenger_satisfaction_survey.csv.gz"
RATINGS = ["Checkout ease", "Seat comfort", "Wifi", "Support chat", "Gate location"]


def wide_survey(n: int = 60, zero_every: int | None = None, top: int = 5, seed: int = 3) -> pd.DataFrame:
    """n respondents rating five things 1..top; every ``zero_every``-th answer of Wifi is 0."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"respondent": [f"r{i}" for i in range(n)]})
    for col in RATINGS:
        frame[col] = rng.integers(1, top + 1, n)
    if zero_every:
        frame.loc[frame.index % zero_every == 0, "Wifi"] = 0
    frame["satisfaction"] = np.where(frame["Seat comfort"] >= 3, "satisfied", "neutral or dissatisfied")
    frame["comment"] = [f"The flight number {i} was {'fine' if i % 2 else 'slow and late'}" for i in range(n)]
    return frame


def test_default_journey_puts_the_unnamed_ratings_in_one_stage_named_for_the_survey():
    frame = wide_survey().rename(columns={"Seat comfort": "Order tracking"})
    data = load_journey(survey=frame.assign().pipe(lambda f: ("cabin_survey.csv", f.to_csv(index=False).encode())))
    # "Checkout" and "order" are synonyms of Purchase and "support" of Retention: three of
    # the five are named by a stage, the other two by none.
    assert data.stages == ("Purchase", "Retention", "Cabin survey")
    assert data.touchpoint_stage_map == {"Checkout ease": "Purchase", "Order tracking": "Purchase",
                                         "Support chat": "Retention", "Wifi": "Cabin survey",
                                         "Gate location": "Cabin survey"}
    note = [w for w in data.warnings if "no stage map" in w.message]
    assert len(note) == 1 and note[0].severity == "note" and note[0].count == 2
    assert "the other 2 ('Wifi', 'Gate location') are in one stage 'Cabin survey'" in note[0].message
    assert "--stage-map" in note[0].message and "Data page" in note[0].message
    sv = data.survey.execute()
    assert sv["stage"].notna().all()
    # The map's lanes: everyone who answered a rating of that stage (all 60 answered every rating).
    jm = build_journey_map(data)
    assert jm.stages == ["Purchase", "Retention", "Cabin survey"]
    assert jm.stage_customers == {s: 60 for s in jm.stages}


def test_a_survey_whose_ratings_no_default_stage_names_is_one_stage():
    frame = wide_survey().rename(columns={"Checkout ease": "Legroom", "Support chat": "Meal"})
    data = load_journey(survey=frame)
    assert len(data.stages) == 1 and data.goal is None
    assert set(data.touchpoint_stage_map.values()) == {data.stages[0]}
    assert any("the default stages name none of the 5 ratings; all 5" in w.message for w in data.warnings)


def test_a_journey_of_the_teams_own_leaves_unplaced_ratings_at_no_stage_and_says_which():
    journey = JourneyModel(stages=("Booking", "Flight"), stage_map={"Checkout ease": "Booking", "Wifi": "Flight"})
    data = load_journey(survey=wide_survey(), journey=journey)
    assert data.stages == ("Booking", "Flight")
    sv = data.survey.execute()
    unplaced = sorted(sv.loc[sv["stage"].isna(), "touchpoint"].unique())
    assert unplaced == ["Gate location", "Seat comfort", "Support chat"]
    w = [w for w in data.warnings if "sit at no stage" in w.message]
    assert len(w) == 1 and w[0].severity == "warning" and w[0].count == 3
    assert "3 of 5 ratings sit at no stage: 'Seat comfort', 'Support chat', 'Gate location'" in w[0].message
    assert "--stage-map" in w[0].message


def test_place_ratings_is_what_the_loader_does():
    ratings = {c: c for c in RATINGS}
    places = place_ratings(JourneyModel.default(), ratings, "x/cabin_survey.csv.gz")
    data = load_journey(survey=("cabin_survey.csv.gz", wide_survey().to_csv(index=False).encode()))
    assert places.model.stages == data.stages
    assert dict(places.stages) == data.touchpoint_stage_map
    # Two of five named by a stage word are too few to be the journey: all five stay together.
    assert data.stages == ("Cabin survey",) and set(data.touchpoint_stage_map.values()) == {"Cabin survey"}
    # With events, the events' stages are the journey: no stage is made up for the survey.
    with_events = place_ratings(JourneyModel.default(), ratings, "cabin.csv", has_events=True)
    assert with_events.model == JourneyModel.default() and len(with_events.unplaced) == 3
    assert survey_stage_name("2024_export.xlsx") == "2024 export"
    assert survey_stage_name("Q1.csv") == "Survey"


def test_the_command_line_says_where_the_ratings_sit(tmp_path, capsys):
    path = tmp_path / "cabin_survey.csv"
    wide_survey().to_csv(path, index=False)
    code = main(["validate", "--survey", str(path)])
    err = capsys.readouterr().err
    assert code == 0
    assert "no stage map: the default stages name only 2 of the 5 ratings by a stage word" in err
    assert "are in one stage 'Cabin survey'" in err


# --------------------------------------------------------------------------- not rated


def test_a_rare_zero_beside_one_to_five_is_proposed_as_not_rated(tmp_path, capsys):
    frame = wide_survey(zero_every=20)  # 3 of 60 Wifi answers are 0 (5%); every rating is given far more
    zeros = int((frame["Wifi"] == 0).sum())
    rarest = int(frame.loc[frame["Wifi"] > 0, "Wifi"].value_counts().min())
    assert zeros == 3 and zeros < rarest / 2
    preview = preview_survey(frame.head(40))
    assert preview.proposed == (0.0,)
    assert "0 reads as 'not applicable' in 1 of 5 rating columns" in preview.not_rated_why
    assert "1 to 5" in preview.not_rated_why
    # The library counts 0 as a score unless told; None takes the proposal.
    as_score = load_journey(survey=frame)
    assert (as_score.survey.execute()["score"] == 0).sum() == zeros
    assert any("0 counts as a score here" in w.message for w in as_score.warnings)
    proposed = load_journey(survey=frame, not_rated=None)
    sv = proposed.survey.execute()
    assert (sv["score"] == 0).sum() == 0 and len(sv) == 5 * 60 - zeros
    assert any("0 counts as not rated (proposed)" in w.message for w in proposed.warnings)
    # The command line takes the proposal by default; --not-rated none keeps 0 as a score.
    path = tmp_path / "s.csv"
    frame.to_csv(path, index=False)
    assert main(["validate", "--survey", str(path)]) == 0
    err = capsys.readouterr().err
    assert f"{zeros} scores coded as not rated (0) treated as missing" in err
    assert main(["validate", "--survey", str(path), "--not-rated", "none"]) == 0
    err = capsys.readouterr().err
    assert "coded as not rated" not in err and "0 counts as a score here" in err


@pytest.mark.parametrize("frame", [wide_survey(zero_every=20), wide_survey(n=40, top=7), wide_survey(zero_every=3)])
def test_mapping_the_found_ratings_gives_the_same_preview(frame):
    """The Data page maps the rating columns the preview found without a mapping and reuses
    that preview (ui.upload.survey_preview): with exactly those columns mapped, the preview
    (ratings, stages, proposed codes and why) is the same."""
    found = preview_survey(frame, name="cabin_survey.csv")
    mapped = preview_survey(frame, {"customer_id": "respondent", "score": list(found.ratings)},
                            name="cabin_survey.csv")
    assert list(found.ratings) == RATINGS
    assert mapped == found
    # Fewer columns mapped is another preview: the reuse needs the very same columns.
    fewer = preview_survey(frame, {"score": RATINGS[:3]}, name="cabin_survey.csv")
    assert list(fewer.ratings) == RATINGS[:3]


@pytest.mark.parametrize("why,frame", [
    ("0 on a 0-10 scale is a score", wide_survey(zero_every=20, top=10)),
    ("0 given as often as a rating", wide_survey(zero_every=3)),
    ("no 0 at all", wide_survey()),
])
def test_zero_is_not_proposed_when_it_reads_as_a_score(why, frame):
    preview = preview_survey(frame)
    assert preview is not None and preview.proposed == (), why
    data = load_journey(survey=frame, not_rated=None)
    assert (data.survey.execute()["score"] == 0).sum() == int((frame[RATINGS] == 0).sum().sum()), why


@pytest.mark.realdata
@pytest.mark.skipif(not AIRLINE.exists(), reason="no ../shared/realdata")
def test_the_airline_survey_without_a_stage_map_has_every_rating_at_a_stage():
    raw = pd.read_csv(AIRLINE)
    ratings = [c for c in raw.columns[7:21]]
    data = load_journey(survey=AIRLINE, not_rated=None)
    assert sorted(data.touchpoint_stage_map) == sorted(ratings)
    # "service" is a stage word (Retention), but only 5 of the 14 names have it: too few to
    # be the journey, so every rating is in the survey's own stage.
    assert data.stages == ("Airline passenger satisfaction survey",)
    assert set(data.touchpoint_stage_map.values()) == {"Airline passenger satisfaction survey"}
    # The proposed not-rated 0: every 0 is left out, every other answer kept.
    sv = data.survey.execute()
    long = raw[ratings].melt(value_name="score")
    assert len(sv) == int((long["score"] > 0).sum()) and sv["stage"].notna().all()
    jm = build_journey_map(data)
    assert jm.stage_customers == {s: len(raw) for s in data.stages}
