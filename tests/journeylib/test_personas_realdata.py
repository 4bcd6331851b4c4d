"""Personas on the public real-world files of ../shared/realdata, read as a marketer would:
no persona under 2%, no goal or outcome among the features, names in each journey's own
words (never the sample shop's story, never a column's code), the automatic count not
simply the top of its range. Skipped when the folder is absent."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pandas as pd
import pytest

from journeylib.ingest import load_journey
from journeylib.journey import Goal, JourneyModel
from journeylib.personas import find_personas, goal_note, persona_cards, readable

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"

pytestmark = pytest.mark.skipif(not REALDATA.is_dir(), reason="no ../shared/realdata folder")

STORY = re.compile(r"struggler|shopper|buyer|browser|researcher|advocate|checkout|window|loyal|long-haul|"
                   r"seeker|delighted|bought|purchase|cart|repeat order", re.I)
AIRLINE_RATINGS = [
    "Inflight wifi service", "Departure/Arrival time convenient", "Ease of Online booking", "Gate location",
    "Food and drink", "Online boarding", "Seat comfort", "Inflight entertainment", "On-board service",
    "Leg room service", "Baggage handling", "Checkin service", "Inflight service", "Cleanliness",
]
BA_RATINGS = ["GroundService", "SeatComfort", "CabinStaffService", "Food&Beverages", "InflightEntertainment",
              "Wifi&Connectivity", "ValueForMoney"]
EVENT_FEATURES = ("events", "duration_days", "distinct_touchpoints", "furthest_stage", "entry_channel")


def path_of(name: str) -> Path:
    path = REALDATA / name
    if not path.exists():
        pytest.skip(f"{name} not in {REALDATA}")
    return path


def _check_common(result, columns: list[str]):
    """Every persona at least 2%; names unique, in words, free of the sample's story and of
    any column name that is a code (TypeOfTraveller, case:AMOUNT_REQ)."""
    model = result.model
    assert model.shares_.min() >= 0.02, dict(zip(model.names_, model.shares_))
    assert len(set(model.names_)) == len(model.names_)
    codes = [c for c in columns if readable(c) != c]
    for name in model.names_:
        assert not STORY.search(name), name
        assert not [c for c in codes if c in name], (name, codes)
        assert "cluster" not in name.lower() and "attr:" not in name and "touchpoint:" not in name
    assert 0 <= model.stability_ <= 1 and len(model.persona_stability_) == model.n_personas_


@pytest.fixture(scope="module")
def airline():
    goal = Goal("column", "satisfaction", "satisfied", name="Satisfied")
    data = load_journey(survey=path_of("airline_passenger_satisfaction_survey.csv.gz"),
                        mapping={"score": AIRLINE_RATINGS}, not_rated=(0,), journey=JourneyModel.default(goal=goal))
    return data, find_personas(data, random_state=0)


def test_airline_survey_personas_from_ratings_and_attributes(airline):
    data, result = airline
    columns = list(result.features.columns)
    # Events-based features are absent (a survey-only dataset), not zeros.
    assert not [c for c in columns if c in EVENT_FEATURES or c.startswith(("touchpoint: ", "channel: "))]
    assert {f"rating: {r}" for r in AIRLINE_RATINGS} <= set(columns)
    assert {"attr: Class", "attr: Type of Travel", "attr: Customer Type", "attr: Age"} <= set(columns)
    assert not [c for c in result.model.feature_names_ if "satisfaction" in c.lower()]
    assert len(result.assignments) == data.customers.count().execute() == 25976
    _check_common(result, list(pd.read_csv(path_of("airline_passenger_satisfaction_survey.csv.gz"), nrows=1)))
    cards = persona_cards(data, result)
    assert (cards["goal"] == "Satisfied").all() and cards["judged"].sum() == 25976
    # The personas differ in the outcome they were not clustered on.
    assert cards["converted"].max() - cards["converted"].min() > 0.3


def test_bpic_loan_log_in_its_own_words():
    src = pd.read_csv(path_of("bpic2012_loan_application_events.csv.gz"), dtype=str)
    complete = src[src["lifecycle:transition"] == "COMPLETE"].reset_index(drop=True)
    journey = JourneyModel(stages=("Application", "Offer", "Work item"),
                           stage_prefixes=(("A_", "Application"), ("O_", "Offer"), ("W_", "Work item")),
                           goal=Goal("touchpoint", "A_APPROVED", name="Loan approved"))
    journey = dataclasses.replace(journey, stage_map=journey.touchpoint_stages(complete["concept:name"].unique()))
    data = load_journey(touchpoints=complete, journey=journey)
    result = find_personas(data, random_state=0)
    model = result.model
    assert "touchpoint: A_APPROVED" not in result.features.columns
    assert "attr: case:AMOUNT_REQ" in result.features.columns  # a case attribute, one value per application
    # The count: not the top of the range just because the silhouette keeps rising.
    assert 2 <= model.n_personas_ < 8 and model.criterion_.startswith(f"{model.n_personas_} personas")
    _check_common(result, list(complete.columns))
    for name in model.names_:
        assert not re.search(r"\b[AOW]_", name), name  # A_DECLINED reads "Application declined"
    cards = persona_cards(data, result)
    assert (cards["goal"] == "Loan approved").all()
    assert cards["converted"].min() < 0.05 and cards["converted"].max() > 0.5


def test_helpdesk_has_no_tiny_personas():
    journey = JourneyModel(stages=("Opened", "In progress", "Closed"),
                           goal=Goal("touchpoint", "Closed", name="Ticket closed"))
    data = load_journey(touchpoints=path_of("helpdesk_ticket_events.csv.gz"), journey=journey)
    result = find_personas(data, random_state=0)
    _check_common(result, list(pd.read_csv(path_of("helpdesk_ticket_events.csv.gz"), nrows=1)))
    assert "touchpoint: Closed" not in result.features.columns
    # Columns that change within a ticket (who handled it) are not customer attributes.
    assert "attr: org:resource" not in result.features.columns


def test_wabo_without_stages_says_what_to_set():
    data = load_journey(touchpoints=path_of("wabo_receipt_events.csv.gz"), mapping={"channel": "case:channel"})
    result = find_personas(data, random_state=0)
    _check_common(result, list(pd.read_csv(path_of("wabo_receipt_events.csv.gz"), nrows=1)))
    # The default goal (a Purchase stage) cannot be judged on a log with no stages: it is left
    # unset with a note, and the cards say a goal is needed instead of showing 0%.
    assert data.goal is None
    assert any(w.message.startswith("no default goal") for w in data.warnings)
    assert goal_note(data).startswith("No goal is set")
    assert persona_cards(data, result)["converted"].isna().all()


def test_british_airways_reviews():
    goal = Goal("column", "Recommended", "yes", name="Would recommend")
    data = load_journey(survey=path_of("british_airways_reviews.csv.gz"),
                        mapping={"customer_id": "ReviewID", "timestamp": "Datetime", "score": BA_RATINGS,
                                 "comment": "ReviewBody"}, journey=JourneyModel.default(goal=goal))
    result = find_personas(data, random_state=0)
    inputs = result.model.feature_names_
    assert not [c for c in inputs if "Recommended" in c or "OverallRating" in c]
    assert any(c.startswith("rating: ") for c in result.features.columns)
    _check_common(result, list(pd.read_csv(path_of("british_airways_reviews.csv.gz"), nrows=1)) + BA_RATINGS)
    cards = persona_cards(data, result)
    assert (cards["goal"] == "Would recommend").all()
    assert any("overall rating (mean)" in o for outcomes in cards["outcomes"] for o in outcomes)
